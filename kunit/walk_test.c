// SPDX-License-Identifier: GPL-2.0
/*
 * walk_test.c - suite vdisk_walk: resolving a range through a stack of
 * mock layers (vd_walk.c), plus a randomized property test.
 *
 * A mock layer is an array of extents; what no extent covers is
 * VD_EXT_BACKING.  The map callback answers at most up to the end of the
 * extent under @pos (or less, when told to split), so a range spanning
 * several extents takes several answers and the walk must merge them
 * back.  Scripted maps return arbitrary (malicious) answers to check the
 * walk's validation.
 *
 * Built as a KUnit suite and, through userspace/tests/shim, as a userspace
 * test with ASan and UBSan (see vd_test.h).
 */
#include <kunit/test.h>

#include "vd_walk.h"
#include "vd_test.h"

#define K(n)	((u64)(n) * 1024)
/* the random test's disk is 2048 bytes: at most 2048 runs */
#define VD_MAX_RUNS	4096
/* calls beyond these are counted, not recorded */
#define VD_MAX_CALLS	256

struct vd_mock_ext {
	u64 start, len;
	u32 kind, file;
	u64 host_off;		/* of @start, for DATA */
};

struct vd_mock_level {
	const struct vd_mock_ext *ext;
	unsigned int nr;
};

struct vd_call {
	unsigned int level;
	u64 pos, len;
};

struct vd_mock {
	const struct vd_mock_level *levels;
	/* scripted answers, used instead of @levels when @script is set */
	const struct vd_ext *script;
	unsigned int nr_script;
	int map_err;		/* returned by the map after @map_err_after calls */
	unsigned int map_err_after;
	int emit_err;		/* returned by the emit after @emit_err_after runs */
	unsigned int emit_err_after;
	unsigned int split;	/* >0: answer at most this many bytes */
	u64 lo, hi;		/* the range walked: maps must stay inside */
	struct vd_run runs[VD_MAX_RUNS];
	unsigned int nr_runs;
	struct vd_call calls[VD_MAX_CALLS];
	unsigned int nr_calls;
	struct kunit *test;
};

static int vd_mock_map(void *ctx, unsigned int level, u64 pos, u64 len,
		       struct vd_ext *ext)
{
	struct vd_mock *m = ctx;
	const struct vd_mock_level *l;
	unsigned int i;

	if (m->nr_calls < VD_MAX_CALLS)
		m->calls[m->nr_calls] = (struct vd_call){ level, pos, len };
	m->nr_calls++;
	KUNIT_EXPECT_TRUE_MSG(m->test, len && pos >= m->lo && pos + len <= m->hi &&
			      pos + len > pos,
			      "map of level %u asked for %llu+%llu outside %llu..%llu", level,
			      (unsigned long long)pos, (unsigned long long)len,
			      (unsigned long long)m->lo, (unsigned long long)m->hi);
	if (m->map_err && m->nr_calls > m->map_err_after)
		return m->map_err;
	if (m->script) {
		KUNIT_ASSERT_LE(m->test, m->nr_calls, m->nr_script);
		*ext = m->script[m->nr_calls - 1];
		return 0;
	}
	l = &m->levels[level];
	for (i = 0; i < l->nr; i++) {
		const struct vd_mock_ext *e = &l->ext[i];

		if (pos >= e->start && pos < e->start + e->len) {
			ext->kind = e->kind;
			ext->file = e->file;
			ext->len = min(len, e->start + e->len - pos);
			ext->host_off = e->host_off + (pos - e->start);
			goto split;
		}
	}
	/* not covered: backing, up to the next extent */
	ext->kind = VD_EXT_BACKING;
	ext->len = len;
	for (i = 0; i < l->nr; i++)
		if (l->ext[i].start > pos)
			ext->len = min(ext->len, l->ext[i].start - pos);
split:
	if (m->split && ext->len > m->split)
		ext->len = m->split;
	return 0;
}

static int vd_mock_emit(void *ctx, const struct vd_run *run)
{
	struct vd_mock *m = ctx;

	if (m->emit_err && m->nr_runs >= m->emit_err_after)
		return m->emit_err;
	KUNIT_ASSERT_LT(m->test, m->nr_runs, VD_MAX_RUNS);
	m->runs[m->nr_runs++] = *run;
	return 0;
}

static const struct vd_walk_ops vd_mock_ops = {
	.map	= vd_mock_map,
	.emit	= vd_mock_emit,
};

static void vd_expect_run(struct kunit *test, const struct vd_mock *m,
			  unsigned int i, u32 kind, u32 level, u32 file,
			  u64 pos, u64 len, u64 host_off)
{
	const struct vd_run *r;

	KUNIT_ASSERT_LT_MSG(test, i, m->nr_runs, "run %u missing", i);
	r = &m->runs[i];
	KUNIT_EXPECT_EQ_MSG(test, r->kind, kind, "run %u kind", i);
	KUNIT_EXPECT_EQ_MSG(test, r->pos, pos, "run %u pos", i);
	KUNIT_EXPECT_EQ_MSG(test, r->len, len, "run %u len", i);
	if (kind == VD_EXT_DATA) {
		KUNIT_EXPECT_EQ_MSG(test, r->level, level, "run %u level", i);
		KUNIT_EXPECT_EQ_MSG(test, r->file, file, "run %u file", i);
		KUNIT_EXPECT_EQ_MSG(test, r->host_off, host_off, "run %u host_off", i);
	}
}

/* Mocks live in test-managed memory: they are too big for a kernel stack. */
static struct vd_mock *vd_mock_new(struct kunit *test,
				   const struct vd_mock_level *levels)
{
	struct vd_mock *m = kunit_kzalloc(test, sizeof(*m), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, m);
	m->levels = levels;
	m->test = test;
	return m;
}

/* vd_walk() over @m, which checks that the maps stay inside the range. */
static int vd_mock_walk(struct vd_mock *m, unsigned int nr_levels, u64 pos, u64 len)
{
	m->lo = pos;
	m->hi = pos + len;
	return vd_walk(&vd_mock_ops, m, nr_levels, pos, len);
}

#define VD_LEVEL(arr) { .ext = (arr), .nr = ARRAY_SIZE(arr) }

/* Four extents, contiguous on the disk and in the file: one run. */
static void vdisk_walk_single_layer_merges(struct kunit *test)
{
	static const struct vd_mock_ext l0[] = {
		{ K(0), K(4), VD_EXT_DATA, 0, K(100) },
		{ K(4), K(4), VD_EXT_DATA, 0, K(104) },
		{ K(8), K(4), VD_EXT_DATA, 0, K(108) },
		{ K(12), K(4), VD_EXT_DATA, 0, K(112) },
	};
	static const struct vd_mock_level lv[] = { VD_LEVEL(l0) };
	struct vd_mock *m = vd_mock_new(test, lv);

	KUNIT_ASSERT_EQ(test, vd_mock_walk(m, 1, K(2), K(13)), 0);
	KUNIT_EXPECT_EQ(test, m->nr_runs, 1);
	vd_expect_run(test, m, 0, VD_EXT_DATA, 0, 0, K(2), K(13), K(102));
	KUNIT_EXPECT_EQ(test, m->nr_calls, 4);
}

/* Answers split into 512-byte pieces merge back into one run. */
static void vdisk_walk_split_answers_merge(struct kunit *test)
{
	static const struct vd_mock_ext l0[] = {
		{ K(0), K(64), VD_EXT_DATA, 2, K(1) },
	};
	static const struct vd_mock_level lv[] = { VD_LEVEL(l0) };
	struct vd_mock *m = vd_mock_new(test, lv);

	m->split = 512;
	KUNIT_ASSERT_EQ(test, vd_mock_walk(m, 1, 0, K(64)), 0);
	KUNIT_EXPECT_EQ(test, m->nr_calls, 128);
	KUNIT_EXPECT_EQ(test, m->nr_runs, 1);
	vd_expect_run(test, m, 0, VD_EXT_DATA, 0, 2, 0, K(64), K(1));
}

/* Extents in the same file but not contiguous in it: two runs. */
static void vdisk_walk_host_gap_splits(struct kunit *test)
{
	static const struct vd_mock_ext l0[] = {
		{ K(0), K(4), VD_EXT_DATA, 0, K(100) },
		{ K(4), K(4), VD_EXT_DATA, 0, K(200) },
	};
	static const struct vd_mock_level lv[] = { VD_LEVEL(l0) };
	struct vd_mock *m = vd_mock_new(test, lv);

	KUNIT_ASSERT_EQ(test, vd_mock_walk(m, 1, 0, K(8)), 0);
	KUNIT_EXPECT_EQ(test, m->nr_runs, 2);
	vd_expect_run(test, m, 0, VD_EXT_DATA, 0, 0, 0, K(4), K(100));
	vd_expect_run(test, m, 1, VD_EXT_DATA, 0, 0, K(4), K(4), K(200));
}

/*
 * Three levels: the top holds [0,4k), the middle [6k,8k), the bottom
 * [4k,6k); every byte comes from the topmost layer that has it.
 */
static void vdisk_walk_backing_three_levels(struct kunit *test)
{
	static const struct vd_mock_ext l0[] = {
		{ K(0), K(4), VD_EXT_DATA, 0, K(0) },
	};
	static const struct vd_mock_ext l1[] = {
		{ K(6), K(2), VD_EXT_DATA, 0, K(50) },
	};
	static const struct vd_mock_ext l2[] = {
		{ K(0), K(16), VD_EXT_DATA, 0, K(1000) },
	};
	static const struct vd_mock_level lv[] = { VD_LEVEL(l0), VD_LEVEL(l1), VD_LEVEL(l2) };
	struct vd_mock *m = vd_mock_new(test, lv);

	KUNIT_ASSERT_EQ(test, vd_mock_walk(m, 3, 0, K(10)), 0);
	KUNIT_EXPECT_EQ(test, m->nr_runs, 4);
	vd_expect_run(test, m, 0, VD_EXT_DATA, 0, 0, 0, K(4), 0);
	vd_expect_run(test, m, 1, VD_EXT_DATA, 2, 0, K(4), K(2), K(1004));
	vd_expect_run(test, m, 2, VD_EXT_DATA, 1, 0, K(6), K(2), K(50));
	vd_expect_run(test, m, 3, VD_EXT_DATA, 2, 0, K(8), K(2), K(1008));
}

/* A backing answer narrows the piece: lower levels are asked only for it. */
static void vdisk_walk_backing_narrows(struct kunit *test)
{
	static const struct vd_mock_ext l0[] = {
		{ K(1), K(7), VD_EXT_DATA, 0, K(1) },
	};
	static const struct vd_mock_ext l1[] = {
		{ K(0), K(8), VD_EXT_DATA, 0, K(500) },
	};
	static const struct vd_mock_level lv[] = { VD_LEVEL(l0), VD_LEVEL(l1) };
	struct vd_mock *m = vd_mock_new(test, lv);

	KUNIT_ASSERT_EQ(test, vd_mock_walk(m, 2, 0, K(8)), 0);
	KUNIT_ASSERT_EQ(test, m->nr_calls, 3);
	KUNIT_EXPECT_EQ(test, m->calls[0].level, 0);
	KUNIT_EXPECT_EQ(test, m->calls[0].len, K(8));
	KUNIT_EXPECT_EQ(test, m->calls[1].level, 1);
	KUNIT_EXPECT_EQ(test, m->calls[1].pos, 0);
	KUNIT_EXPECT_EQ(test, m->calls[1].len, K(1));
	KUNIT_EXPECT_EQ(test, m->calls[2].level, 0);
	KUNIT_EXPECT_EQ(test, m->calls[2].pos, K(1));
	KUNIT_EXPECT_EQ(test, m->calls[2].len, K(7));
	KUNIT_EXPECT_EQ(test, m->nr_runs, 2);
	vd_expect_run(test, m, 0, VD_EXT_DATA, 1, 0, 0, K(1), K(500));
	vd_expect_run(test, m, 1, VD_EXT_DATA, 0, 0, K(1), K(7), K(1));
}

/* Below the last level everything reads as zeros, merged with zeros above. */
static void vdisk_walk_zeros_below_last(struct kunit *test)
{
	static const struct vd_mock_ext l0[] = {
		{ K(0), K(2), VD_EXT_ZERO, 0, 0 },
		{ K(6), K(2), VD_EXT_DATA, 0, K(6) },
	};
	static const struct vd_mock_ext l1[] = {
		{ K(2), K(1), VD_EXT_ZERO, 0, 0 },
	};
	static const struct vd_mock_level lv[] = { VD_LEVEL(l0), VD_LEVEL(l1), { NULL, 0 } };
	struct vd_mock *m = vd_mock_new(test, lv);

	KUNIT_ASSERT_EQ(test, vd_mock_walk(m, 3, 0, K(12)), 0);
	KUNIT_EXPECT_EQ(test, m->nr_runs, 3);
	vd_expect_run(test, m, 0, VD_EXT_ZERO, 0, 0, 0, K(6), 0);
	vd_expect_run(test, m, 1, VD_EXT_DATA, 0, 0, K(6), K(2), K(6));
	vd_expect_run(test, m, 2, VD_EXT_ZERO, 0, 0, K(8), K(4), 0);
	/* zero runs carry no stale level, file or offset */
	KUNIT_EXPECT_EQ(test, m->runs[0].level, 0);
	KUNIT_EXPECT_EQ(test, m->runs[0].file, 0);
	KUNIT_EXPECT_EQ(test, m->runs[0].host_off, 0);
}

/* A ZERO answer stops the walk: the layer below is not asked. */
static void vdisk_walk_zero_stops(struct kunit *test)
{
	static const struct vd_mock_ext l0[] = {
		{ K(0), K(4), VD_EXT_ZERO, 0, 0 },
	};
	static const struct vd_mock_ext l1[] = {
		{ K(0), K(4), VD_EXT_DATA, 0, 0 },
	};
	static const struct vd_mock_level lv[] = { VD_LEVEL(l0), VD_LEVEL(l1) };
	struct vd_mock *m = vd_mock_new(test, lv);

	KUNIT_ASSERT_EQ(test, vd_mock_walk(m, 2, 0, K(4)), 0);
	KUNIT_EXPECT_EQ(test, m->nr_calls, 1);
	KUNIT_EXPECT_EQ(test, m->nr_runs, 1);
	vd_expect_run(test, m, 0, VD_EXT_ZERO, 0, 0, 0, K(4), 0);
}

/* Data contiguous on disk and in "the file" but from two levels: two runs. */
static void vdisk_walk_no_merge_across_levels(struct kunit *test)
{
	static const struct vd_mock_ext l0[] = {
		{ K(0), K(4), VD_EXT_DATA, 0, K(0) },
	};
	static const struct vd_mock_ext l1[] = {
		{ K(0), K(8), VD_EXT_DATA, 0, K(0) },
	};
	static const struct vd_mock_level lv[] = { VD_LEVEL(l0), VD_LEVEL(l1) };
	struct vd_mock *m = vd_mock_new(test, lv);

	KUNIT_ASSERT_EQ(test, vd_mock_walk(m, 2, 0, K(8)), 0);
	KUNIT_EXPECT_EQ(test, m->nr_runs, 2);
	vd_expect_run(test, m, 0, VD_EXT_DATA, 0, 0, 0, K(4), 0);
	vd_expect_run(test, m, 1, VD_EXT_DATA, 1, 0, K(4), K(4), K(4));
}

/* Same level, contiguous offsets, different files: two runs. */
static void vdisk_walk_no_merge_across_files(struct kunit *test)
{
	static const struct vd_mock_ext l0[] = {
		{ K(0), K(4), VD_EXT_DATA, 0, K(0) },
		{ K(4), K(4), VD_EXT_DATA, 1, K(4) },
		{ K(8), K(4), VD_EXT_DATA, 1, K(8) },
	};
	static const struct vd_mock_level lv[] = { VD_LEVEL(l0) };
	struct vd_mock *m = vd_mock_new(test, lv);

	KUNIT_ASSERT_EQ(test, vd_mock_walk(m, 1, 0, K(12)), 0);
	KUNIT_EXPECT_EQ(test, m->nr_runs, 2);
	vd_expect_run(test, m, 0, VD_EXT_DATA, 0, 0, 0, K(4), 0);
	vd_expect_run(test, m, 1, VD_EXT_DATA, 0, 1, K(4), K(8), K(4));
}

static void vdisk_walk_no_levels(struct kunit *test)
{
	struct vd_mock *m = vd_mock_new(test, NULL);

	KUNIT_ASSERT_EQ(test, vd_mock_walk(m, 0, K(3), K(5)), 0);
	KUNIT_EXPECT_EQ(test, m->nr_calls, 0);
	KUNIT_EXPECT_EQ(test, m->nr_runs, 1);
	vd_expect_run(test, m, 0, VD_EXT_ZERO, 0, 0, K(3), K(5), 0);
}

static void vdisk_walk_empty_range(struct kunit *test)
{
	static const struct vd_mock_level lv[] = { { NULL, 0 } };
	struct vd_mock *m = vd_mock_new(test, lv);

	KUNIT_EXPECT_EQ(test, vd_mock_walk(m, 1, K(4), 0), 0);
	KUNIT_EXPECT_EQ(test, m->nr_calls, 0);
	KUNIT_EXPECT_EQ(test, m->nr_runs, 0);
}

/* Scripted answers that a confused or malicious format might give. */
struct vd_bad_case {
	const char *name;
	unsigned int nr_levels;
	struct vd_ext script[3];
	unsigned int nr_script;
};

static const struct vd_bad_case vd_bad_cases[] = {
	{ "len_0", 1, { { .kind = VD_EXT_DATA, .len = 0 } }, 1 },
	{ "len_0_backing", 2, { { .kind = VD_EXT_BACKING, .len = 0 } }, 1 },
	{ "len_beyond_asked", 1, { { .kind = VD_EXT_DATA, .len = K(8) + 1 } }, 1 },
	{ "len_beyond_narrowed", 2, {
		{ .kind = VD_EXT_BACKING, .len = K(1) },
		{ .kind = VD_EXT_DATA, .len = K(2) } }, 2 },
	{ "len_beyond_narrowed_by_1", 2, {
		{ .kind = VD_EXT_BACKING, .len = K(1) },
		{ .kind = VD_EXT_ZERO, .len = K(1) + 1 } }, 2 },
	{ "len_u64_max", 1, { { .kind = VD_EXT_ZERO, .len = U64_MAX } }, 1 },
	{ "kind_count", 1, { { .kind = VD_EXT_COUNT, .len = K(1) } }, 1 },
	{ "kind_huge", 1, { { .kind = 0xffffffff, .len = K(1) } }, 1 },
	{ "host_off_overflow", 1, { { .kind = VD_EXT_DATA, .len = K(4),
				      .host_off = U64_MAX - K(4) + 2 } }, 1 },
	{ "host_off_wraps_to_0", 1, { { .kind = VD_EXT_DATA, .len = K(4),
					.host_off = U64_MAX - K(4) + 1 } }, 1 },
	{ "bad_after_good", 1, {
		{ .kind = VD_EXT_DATA, .len = K(4) },
		{ .kind = VD_EXT_DATA, .len = 0 } }, 2 },
};

static void vd_bad_case_desc(const struct vd_bad_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(vd_bad, vd_bad_cases, vd_bad_case_desc);

static void vdisk_walk_bad_answer(struct kunit *test)
{
	const struct vd_bad_case *c = test->param_value;
	struct vd_mock *m = vd_mock_new(test, NULL);

	m->script = c->script;
	m->nr_script = c->nr_script;

	KUNIT_EXPECT_EQ(test, vd_mock_walk(m, c->nr_levels, 0, K(8)), -EIO);
	KUNIT_EXPECT_EQ(test, m->nr_calls, c->nr_script);
	/* nothing is emitted for a walk that fails on its first piece */
	KUNIT_EXPECT_EQ(test, m->nr_runs, 0);
}

/* The largest offset whose data ends exactly at U64_MAX is accepted. */
static void vdisk_walk_host_off_at_limit(struct kunit *test)
{
	static const struct vd_ext script[] = {
		{ .kind = VD_EXT_DATA, .len = K(4), .host_off = U64_MAX - K(4) },
	};
	struct vd_mock *m = vd_mock_new(test, NULL);

	m->script = script;
	m->nr_script = 1;

	KUNIT_ASSERT_EQ(test, vd_mock_walk(m, 1, 0, K(4)), 0);
	vd_expect_run(test, m, 0, VD_EXT_DATA, 0, 0, 0, K(4), U64_MAX - K(4));
}

static void vdisk_walk_map_error(struct kunit *test)
{
	static const struct vd_mock_ext l0[] = {
		{ K(0), K(4), VD_EXT_DATA, 0, K(0) },
		{ K(4), K(4), VD_EXT_DATA, 0, K(100) },
	};
	static const struct vd_mock_level lv[] = { VD_LEVEL(l0) };
	struct vd_mock *m = vd_mock_new(test, lv);

	m->map_err = -ENOMEM;
	m->map_err_after = 1;
	KUNIT_EXPECT_EQ(test, vd_mock_walk(m, 1, 0, K(8)), -ENOMEM);
	KUNIT_EXPECT_EQ(test, m->nr_calls, 2);
}

static void vdisk_walk_emit_error(struct kunit *test)
{
	static const struct vd_mock_ext l0[] = {
		{ K(0), K(4), VD_EXT_DATA, 0, K(0) },
		{ K(4), K(4), VD_EXT_DATA, 1, K(0) },
		{ K(8), K(4), VD_EXT_DATA, 2, K(0) },
	};
	static const struct vd_mock_level lv[] = { VD_LEVEL(l0) };
	struct vd_mock *m = vd_mock_new(test, lv);

	/* fails on the first run, emitted when the second piece is mapped */
	m->emit_err = -ENOSPC;
	KUNIT_EXPECT_EQ(test, vd_mock_walk(m, 1, 0, K(12)), -ENOSPC);
	KUNIT_EXPECT_EQ(test, m->nr_calls, 2);	/* the walk stopped there */

	/* fails on the last run, emitted after the loop */
	m = vd_mock_new(test, lv);
	m->emit_err = -EREMOTEIO;
	m->emit_err_after = 2;
	KUNIT_EXPECT_EQ(test, vd_mock_walk(m, 1, 0, K(12)), -EREMOTEIO);
	KUNIT_EXPECT_EQ(test, m->nr_runs, 2);
	KUNIT_EXPECT_EQ(test, m->nr_calls, 3);
}

/* A chain as deep as the ABI allows, data only at the bottom. */
static void vdisk_walk_deepest_chain(struct kunit *test)
{
	static const struct vd_mock_ext bottom[] = {
		{ K(0), K(64), VD_EXT_DATA, 0, K(64) },
	};
	struct vd_mock_level *lv;
	struct vd_mock *m = vd_mock_new(test, NULL);

	lv = kunit_kcalloc(test, 64, sizeof(*lv), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, lv);
	lv[63] = (struct vd_mock_level){ bottom, 1 };
	m->levels = lv;
	KUNIT_ASSERT_EQ(test, vd_mock_walk(m, 64, K(1), K(2)), 0);
	KUNIT_EXPECT_EQ(test, m->nr_calls, 64);
	KUNIT_EXPECT_EQ(test, m->nr_runs, 1);
	vd_expect_run(test, m, 0, VD_EXT_DATA, 63, 0, K(1), K(2), K(65));
}

/* ---- randomized property test ---------------------------------------- */

#define VD_DISK		2048	/* bytes of the random stacks */
#define VD_RND_LEVELS	8
#define VD_RND_EXT	64

static u64 vd_rng_state;

static u64 vd_rnd(void)
{
	/* splitmix64 */
	u64 z = (vd_rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static u64 vd_rnd_below(u64 n)
{
	return n ? vd_rnd() % n : 0;
}

/*
 * Fill @l with a random partition of [0, VD_DISK) into extents, in @ext.
 * Half the levels map like raw files (host offset = disk offset, file 0),
 * so data of different levels is often contiguous and must still not be
 * merged.
 */
static void vd_random_level(struct vd_mock_level *l, struct vd_mock_ext *ext)
{
	bool identity = vd_rnd_below(2);
	u64 pos = 0, host = vd_rnd_below(1 << 20);
	unsigned int nr = 0;
	u32 file = 0;

	while (pos < VD_DISK && nr < VD_RND_EXT) {
		struct vd_mock_ext *e = &ext[nr++];
		u64 left = VD_DISK - pos;

		e->start = pos;
		e->len = nr == VD_RND_EXT ? left : 1 + vd_rnd_below(min_t(u64, left, 300));
		e->kind = vd_rnd_below(3);
		if (identity) {
			e->file = 0;
			e->host_off = pos;
		} else {
			/* often continue the previous data in the same file */
			if (vd_rnd_below(3) == 0) {
				file = vd_rnd_below(3);
				host = vd_rnd_below(1 << 20);
			}
			e->file = file;
			e->host_off = host;
			host += e->len;
		}
		pos += e->len;
	}
	l->ext = ext;
	l->nr = nr;
}

/* What the stack holds at byte @p: the reference the walk must match. */
static void vd_reference(const struct vd_mock_level *lv, unsigned int nr_levels, u64 p,
			 struct vd_run *ref)
{
	unsigned int l, i;

	for (l = 0; l < nr_levels; l++) {
		for (i = 0; i < lv[l].nr; i++) {
			const struct vd_mock_ext *e = &lv[l].ext[i];

			if (p < e->start || p >= e->start + e->len)
				continue;
			if (e->kind == VD_EXT_BACKING)
				break;
			ref->kind = e->kind;
			ref->level = l;
			ref->file = e->file;
			ref->host_off = e->host_off + (p - e->start);
			return;
		}
	}
	ref->kind = VD_EXT_ZERO;
}

static bool vd_mergeable(const struct vd_run *a, const struct vd_run *b)
{
	if (a->kind != b->kind)
		return false;
	if (a->kind == VD_EXT_ZERO)
		return true;
	return a->level == b->level && a->file == b->file &&
	       a->host_off + a->len == b->host_off;
}

/*
 * Random stacks of up to 7 levels, random ranges, answers split or not:
 * the runs tile the range in order, none empty, none mergeable, and every
 * byte comes from the topmost layer that is not BACKING.  In userspace
 * VT_SEED and VT_ITERATIONS choose the stacks; the kernel runs fewer
 * iterations, each being slow under KASAN on UML.
 */
static void vdisk_walk_random_property(struct kunit *test)
{
	u64 seed = vd_test_knob("VT_SEED", 20261125, 20261125);
	unsigned int iters = vd_test_knob("VT_ITERATIONS", 3000, 300), it;
	struct vd_mock_level *lv;
	struct vd_mock_ext *ext;

	lv = kunit_kcalloc(test, VD_RND_LEVELS, sizeof(*lv), GFP_KERNEL);
	ext = kunit_kcalloc(test, VD_RND_LEVELS * VD_RND_EXT, sizeof(*ext), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, lv);
	KUNIT_ASSERT_NOT_NULL(test, ext);

	for (it = 0; it < iters && vd_test_ok(test); it++) {
		unsigned int nr_levels, l, i;
		struct vd_mock *m;
		u64 pos, len, p, expect;

		vd_rng_state = seed + it;
		nr_levels = vd_rnd_below(VD_RND_LEVELS);
		for (l = 0; l < nr_levels; l++)
			vd_random_level(&lv[l], &ext[l * VD_RND_EXT]);
		pos = vd_rnd_below(VD_DISK);
		len = vd_rnd_below(VD_DISK - pos + 1);
		m = vd_mock_new(test, lv);
		m->split = vd_rnd_below(4) == 0 ? 1 + vd_rnd_below(64) : 0;

		KUNIT_EXPECT_EQ_MSG(test, vd_mock_walk(m, nr_levels, pos, len), 0,
				    "iteration %u (VT_SEED=%llu)", it,
				    (unsigned long long)(seed + it));
		/* runs tile [pos, pos + len) in order, none empty, none mergeable */
		expect = pos;
		for (i = 0; i < m->nr_runs && vd_test_ok(test); i++) {
			const struct vd_run *r = &m->runs[i];

			KUNIT_EXPECT_TRUE_MSG(test, r->pos == expect && r->len > 0,
					      "iteration %u run %u: pos %llu len %llu, expected pos %llu",
					      it, i, (unsigned long long)r->pos,
					      (unsigned long long)r->len,
					      (unsigned long long)expect);
			KUNIT_EXPECT_TRUE_MSG(test,
					      r->kind == VD_EXT_DATA || r->kind == VD_EXT_ZERO,
					      "iteration %u run %u: kind %u", it, i, r->kind);
			KUNIT_EXPECT_TRUE_MSG(test, r->kind != VD_EXT_DATA || r->level < nr_levels,
					      "iteration %u run %u: level %u", it, i, r->level);
			if (i)
				KUNIT_EXPECT_FALSE_MSG(test, vd_mergeable(&m->runs[i - 1], r),
						       "iteration %u: runs %u and %u not merged",
						       it, i - 1, i);
			for (p = r->pos; p < r->pos + r->len && vd_test_ok(test); p++) {
				u64 host = r->host_off + (p - r->pos);
				struct vd_run ref = { 0 };
				bool same;

				vd_reference(lv, nr_levels, p, &ref);
				same = ref.kind == r->kind &&
				       (ref.kind == VD_EXT_ZERO ||
					(ref.level == r->level && ref.file == r->file &&
					 ref.host_off == host));
				KUNIT_EXPECT_TRUE_MSG(test, same,
						      "iteration %u (VT_SEED=%llu) byte %llu: walk says kind %u level %u file %u host %llu, stack has kind %u level %u file %u host %llu",
						      it, (unsigned long long)(seed + it),
						      (unsigned long long)p, r->kind, r->level,
						      r->file, (unsigned long long)host, ref.kind,
						      ref.level, ref.file,
						      (unsigned long long)ref.host_off);
			}
			expect = r->pos + r->len;
		}
		KUNIT_EXPECT_EQ_MSG(test, expect, pos + len, "iteration %u: runs end there", it);
		kunit_kfree(test, m);
	}
}

static struct kunit_case vdisk_walk_cases[] = {
	KUNIT_CASE(vdisk_walk_single_layer_merges),
	KUNIT_CASE(vdisk_walk_split_answers_merge),
	KUNIT_CASE(vdisk_walk_host_gap_splits),
	KUNIT_CASE(vdisk_walk_backing_three_levels),
	KUNIT_CASE(vdisk_walk_backing_narrows),
	KUNIT_CASE(vdisk_walk_zeros_below_last),
	KUNIT_CASE(vdisk_walk_zero_stops),
	KUNIT_CASE(vdisk_walk_no_merge_across_levels),
	KUNIT_CASE(vdisk_walk_no_merge_across_files),
	KUNIT_CASE(vdisk_walk_no_levels),
	KUNIT_CASE(vdisk_walk_empty_range),
	KUNIT_CASE_PARAM(vdisk_walk_bad_answer, vd_bad_gen_params),
	KUNIT_CASE(vdisk_walk_host_off_at_limit),
	KUNIT_CASE(vdisk_walk_map_error),
	KUNIT_CASE(vdisk_walk_emit_error),
	KUNIT_CASE(vdisk_walk_deepest_chain),
	KUNIT_CASE(vdisk_walk_random_property),
	{}
};

static struct kunit_suite vdisk_walk_suite = {
	.name = "vdisk_walk",
	.test_cases = vdisk_walk_cases,
};

kunit_test_suite(vdisk_walk_suite);
