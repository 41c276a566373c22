// SPDX-License-Identifier: GPL-2.0
/*
 * test_walk.c - the layer walk (vd_walk.c) over mock layers, plus a
 * randomized property test.
 *
 * A mock level is a list of extents; what none covers is VD_EXT_BACKING.
 * The map answers up to the end of the extent under @pos (or less, when
 * told to split), so the walk must merge answers back into runs.
 */
#include <stdlib.h>

#include "vt.h"
#include "vd_walk.h"

#define K(n)	((u64)(n) * 1024)
#define MAX_EXT	64
#define MAX_RUNS 4096

struct mext {
	u64 start, len;
	u32 kind, file;
	u64 host_off;
};

struct mlevel {
	struct mext ext[MAX_EXT];
	unsigned int nr;
};

struct mock {
	const struct mlevel *lv;
	const struct vd_ext *script;	/* if set: answers in order */
	unsigned int nr_script;
	unsigned int split;		/* >0: answer at most this many bytes */
	int map_err, emit_err;
	unsigned int map_err_after, emit_err_after;
	struct vd_run runs[MAX_RUNS];
	unsigned int nr_runs, nr_calls;
	unsigned int call_level[256];
	u64 call_pos[256], call_len[256];
	bool protocol_error;		/* the walk asked outside its range */
	u64 lo, hi;			/* the range walked */
};

static int mock_map(void *ctx, unsigned int level, u64 pos, u64 len, struct vd_ext *ext)
{
	struct mock *m = ctx;
	const struct mlevel *l;
	unsigned int i;

	if (m->nr_calls < 256) {
		m->call_level[m->nr_calls] = level;
		m->call_pos[m->nr_calls] = pos;
		m->call_len[m->nr_calls] = len;
	}
	m->nr_calls++;
	if (!len || pos < m->lo || pos + len > m->hi || pos + len < pos)
		m->protocol_error = true;
	if (m->map_err && m->nr_calls > m->map_err_after)
		return m->map_err;
	if (m->script) {
		if (m->nr_calls > m->nr_script) {
			m->protocol_error = true;
			return -E2BIG;
		}
		*ext = m->script[m->nr_calls - 1];
		return 0;
	}
	l = &m->lv[level];
	ext->kind = VD_EXT_BACKING;
	ext->len = len;
	for (i = 0; i < l->nr; i++) {
		const struct mext *e = &l->ext[i];

		if (pos >= e->start && pos < e->start + e->len) {
			ext->kind = e->kind;
			ext->file = e->file;
			ext->host_off = e->host_off + (pos - e->start);
			ext->len = e->start + e->len - pos < len ? e->start + e->len - pos : len;
			break;
		}
		if (e->start > pos && e->start - pos < ext->len)
			ext->len = e->start - pos;
	}
	if (m->split && ext->len > m->split)
		ext->len = m->split;
	return 0;
}

static int mock_emit(void *ctx, const struct vd_run *run)
{
	struct mock *m = ctx;

	if (m->emit_err && m->nr_runs >= m->emit_err_after)
		return m->emit_err;
	if (m->nr_runs >= MAX_RUNS) {
		m->protocol_error = true;
		return -E2BIG;
	}
	m->runs[m->nr_runs++] = *run;
	return 0;
}

static const struct vd_walk_ops mock_ops = { mock_map, mock_emit };

static struct mock *mock_new(const struct mlevel *lv)
{
	struct mock *m = calloc(1, sizeof(*m));

	m->lv = lv;
	return m;
}

static int walk(struct mock *m, unsigned int nr_levels, u64 pos, u64 len)
{
	m->lo = pos;
	m->hi = pos + len;
	return vd_walk(&mock_ops, m, nr_levels, pos, len);
}

#define EXPECT_RUN(m, i, k, lvl, f, p, l, h) do {				\
	const struct vd_run *r_ = &(m)->runs[i];				\
	if ((i) >= (m)->nr_runs) {						\
		vt_fail(__FILE__, __LINE__, "run %u missing", (unsigned int)(i)); \
		break;								\
	}									\
	VT_EXPECT_MSG(r_->kind == (k) && r_->pos == (p) && r_->len == (l) &&	\
		      ((k) != VD_EXT_DATA || (r_->level == (lvl) &&		\
		       r_->file == (f) && r_->host_off == (h))),		\
		      "run %u: kind %u level %u file %u pos %llu len %llu host %llu", \
		      (unsigned int)(i), r_->kind, r_->level, r_->file,		\
		      (unsigned long long)r_->pos, (unsigned long long)r_->len,	\
		      (unsigned long long)r_->host_off);				\
} while (0)

VT_TEST(walk_single_layer_merges)
{
	static const struct mlevel lv[] = { { {
		{ K(0), K(4), VD_EXT_DATA, 0, K(100) },
		{ K(4), K(4), VD_EXT_DATA, 0, K(104) },
		{ K(8), K(4), VD_EXT_DATA, 0, K(108) },
		{ K(12), K(4), VD_EXT_DATA, 0, K(112) } }, 4 } };
	struct mock *m = mock_new(lv);

	VT_EXPECT_EQ(walk(m, 1, K(2), K(13)), 0);
	VT_EXPECT_EQ(m->nr_runs, 1);
	EXPECT_RUN(m, 0, VD_EXT_DATA, 0, 0, K(2), K(13), K(102));
	VT_EXPECT_EQ(m->nr_calls, 4);
	VT_EXPECT(!m->protocol_error);
	free(m);
}

VT_TEST(walk_split_answers_merge)
{
	static const struct mlevel lv[] = { { { { K(0), K(64), VD_EXT_DATA, 2, K(1) } }, 1 } };
	struct mock *m = mock_new(lv);

	m->split = 512;
	VT_EXPECT_EQ(walk(m, 1, 0, K(64)), 0);
	VT_EXPECT_EQ(m->nr_calls, 128);
	VT_EXPECT_EQ(m->nr_runs, 1);
	EXPECT_RUN(m, 0, VD_EXT_DATA, 0, 2, 0, K(64), K(1));
	free(m);
}

VT_TEST(walk_host_gap_splits)
{
	static const struct mlevel lv[] = { { {
		{ K(0), K(4), VD_EXT_DATA, 0, K(100) },
		{ K(4), K(4), VD_EXT_DATA, 0, K(200) } }, 2 } };
	struct mock *m = mock_new(lv);

	VT_EXPECT_EQ(walk(m, 1, 0, K(8)), 0);
	VT_EXPECT_EQ(m->nr_runs, 2);
	EXPECT_RUN(m, 0, VD_EXT_DATA, 0, 0, 0, K(4), K(100));
	EXPECT_RUN(m, 1, VD_EXT_DATA, 0, 0, K(4), K(4), K(200));
	free(m);
}

VT_TEST(walk_backing_three_levels)
{
	static const struct mlevel lv[] = {
		{ { { K(0), K(4), VD_EXT_DATA, 0, 0 } }, 1 },
		{ { { K(6), K(2), VD_EXT_DATA, 0, K(50) } }, 1 },
		{ { { K(0), K(16), VD_EXT_DATA, 0, K(1000) } }, 1 },
	};
	struct mock *m = mock_new(lv);

	VT_EXPECT_EQ(walk(m, 3, 0, K(10)), 0);
	VT_EXPECT_EQ(m->nr_runs, 4);
	EXPECT_RUN(m, 0, VD_EXT_DATA, 0, 0, 0, K(4), 0);
	EXPECT_RUN(m, 1, VD_EXT_DATA, 2, 0, K(4), K(2), K(1004));
	EXPECT_RUN(m, 2, VD_EXT_DATA, 1, 0, K(6), K(2), K(50));
	EXPECT_RUN(m, 3, VD_EXT_DATA, 2, 0, K(8), K(2), K(1008));
	free(m);
}

VT_TEST(walk_backing_narrows)
{
	static const struct mlevel lv[] = {
		{ { { K(1), K(7), VD_EXT_DATA, 0, K(1) } }, 1 },
		{ { { K(0), K(8), VD_EXT_DATA, 0, K(500) } }, 1 },
	};
	struct mock *m = mock_new(lv);

	VT_EXPECT_EQ(walk(m, 2, 0, K(8)), 0);
	VT_EXPECT(m->nr_calls == 3);
	VT_EXPECT(m->call_level[1] == 1 && m->call_pos[1] == 0 && m->call_len[1] == K(1));
	VT_EXPECT(m->call_level[2] == 0 && m->call_pos[2] == K(1) && m->call_len[2] == K(7));
	EXPECT_RUN(m, 0, VD_EXT_DATA, 1, 0, 0, K(1), K(500));
	EXPECT_RUN(m, 1, VD_EXT_DATA, 0, 0, K(1), K(7), K(1));
	free(m);
}

VT_TEST(walk_zeros_below_last)
{
	static const struct mlevel lv[] = {
		{ { { K(0), K(2), VD_EXT_ZERO, 0, 0 }, { K(6), K(2), VD_EXT_DATA, 0, K(6) } }, 2 },
		{ { { K(2), K(1), VD_EXT_ZERO, 0, 0 } }, 1 },
		{ { { 0 } }, 0 },
	};
	struct mock *m = mock_new(lv);

	VT_EXPECT_EQ(walk(m, 3, 0, K(12)), 0);
	VT_EXPECT_EQ(m->nr_runs, 3);
	EXPECT_RUN(m, 0, VD_EXT_ZERO, 0, 0, 0, K(6), 0);
	EXPECT_RUN(m, 1, VD_EXT_DATA, 0, 0, K(6), K(2), K(6));
	EXPECT_RUN(m, 2, VD_EXT_ZERO, 0, 0, K(8), K(4), 0);
	VT_EXPECT(m->runs[0].level == 0 && m->runs[0].file == 0 && m->runs[0].host_off == 0);
	free(m);
}

VT_TEST(walk_zero_stops_descent)
{
	static const struct mlevel lv[] = {
		{ { { K(0), K(4), VD_EXT_ZERO, 0, 0 } }, 1 },
		{ { { K(0), K(4), VD_EXT_DATA, 0, 0 } }, 1 },
	};
	struct mock *m = mock_new(lv);

	VT_EXPECT_EQ(walk(m, 2, 0, K(4)), 0);
	VT_EXPECT_EQ(m->nr_calls, 1);
	EXPECT_RUN(m, 0, VD_EXT_ZERO, 0, 0, 0, K(4), 0);
	free(m);
}

VT_TEST(walk_no_merge_across_levels)
{
	static const struct mlevel lv[] = {
		{ { { K(0), K(4), VD_EXT_DATA, 0, 0 } }, 1 },
		{ { { K(0), K(8), VD_EXT_DATA, 0, 0 } }, 1 },
	};
	struct mock *m = mock_new(lv);

	VT_EXPECT_EQ(walk(m, 2, 0, K(8)), 0);
	VT_EXPECT_EQ(m->nr_runs, 2);
	EXPECT_RUN(m, 0, VD_EXT_DATA, 0, 0, 0, K(4), 0);
	EXPECT_RUN(m, 1, VD_EXT_DATA, 1, 0, K(4), K(4), K(4));
	free(m);
}

VT_TEST(walk_no_merge_across_files)
{
	static const struct mlevel lv[] = { { {
		{ K(0), K(4), VD_EXT_DATA, 0, 0 },
		{ K(4), K(4), VD_EXT_DATA, 1, K(4) },
		{ K(8), K(4), VD_EXT_DATA, 1, K(8) } }, 3 } };
	struct mock *m = mock_new(lv);

	VT_EXPECT_EQ(walk(m, 1, 0, K(12)), 0);
	VT_EXPECT_EQ(m->nr_runs, 2);
	EXPECT_RUN(m, 0, VD_EXT_DATA, 0, 0, 0, K(4), 0);
	EXPECT_RUN(m, 1, VD_EXT_DATA, 0, 1, K(4), K(8), K(4));
	free(m);
}

VT_TEST(walk_no_levels)
{
	struct mock *m = mock_new(NULL);

	VT_EXPECT_EQ(walk(m, 0, K(3), K(5)), 0);
	VT_EXPECT_EQ(m->nr_calls, 0);
	VT_EXPECT_EQ(m->nr_runs, 1);
	EXPECT_RUN(m, 0, VD_EXT_ZERO, 0, 0, K(3), K(5), 0);
	free(m);
}

VT_TEST(walk_empty_range)
{
	static const struct mlevel lv[1];
	struct mock *m = mock_new(lv);

	VT_EXPECT_EQ(walk(m, 1, K(4), 0), 0);
	VT_EXPECT_EQ(m->nr_calls, 0);
	VT_EXPECT_EQ(m->nr_runs, 0);
	free(m);
}

static const struct {
	const char *name;
	unsigned int nr_levels;
	struct vd_ext script[2];
	unsigned int nr;
} bad_cases[] = {
	{ "len_0", 1, { { .kind = VD_EXT_DATA } }, 1 },
	{ "len_0_backing", 2, { { .kind = VD_EXT_BACKING } }, 1 },
	{ "len_beyond_asked", 1, { { .kind = VD_EXT_DATA, .len = K(8) + 1 } }, 1 },
	{ "len_beyond_narrowed", 2, { { .kind = VD_EXT_BACKING, .len = K(1) },
				      { .kind = VD_EXT_ZERO, .len = K(1) + 1 } }, 2 },
	{ "len_u64_max", 1, { { .kind = VD_EXT_ZERO, .len = UINT64_MAX } }, 1 },
	{ "kind_count", 1, { { .kind = VD_EXT_COUNT, .len = K(1) } }, 1 },
	{ "kind_max", 1, { { .kind = UINT32_MAX, .len = K(1) } }, 1 },
	{ "host_off_overflow", 1, { { .kind = VD_EXT_DATA, .len = K(4),
				      .host_off = UINT64_MAX - K(4) + 2 } }, 1 },
	{ "host_off_wraps_to_0", 1, { { .kind = VD_EXT_DATA, .len = K(4),
					.host_off = UINT64_MAX - K(4) + 1 } }, 1 },
	{ "bad_after_good", 1, { { .kind = VD_EXT_DATA, .len = K(4) },
				 { .kind = VD_EXT_DATA, .len = 0 } }, 2 },
};

VT_TEST(walk_bad_answers_are_eio)
{
	size_t i;

	for (i = 0; i < VT_ARRAY_SIZE(bad_cases); i++) {
		struct mock *m = mock_new(NULL);
		int ret;

		m->script = bad_cases[i].script;
		m->nr_script = bad_cases[i].nr;
		ret = walk(m, bad_cases[i].nr_levels, 0, K(8));
		VT_EXPECT_MSG(ret == -EIO, "%s: %d", bad_cases[i].name, ret);
		VT_EXPECT_MSG(m->nr_calls == bad_cases[i].nr, "%s: %u calls",
			      bad_cases[i].name, m->nr_calls);
		VT_EXPECT_MSG(m->nr_runs == 0, "%s: %u runs", bad_cases[i].name, m->nr_runs);
		free(m);
	}
}

VT_TEST(walk_host_off_at_limit)
{
	static const struct vd_ext script[] = {
		{ .kind = VD_EXT_DATA, .len = K(4), .host_off = UINT64_MAX - K(4) },
	};
	struct mock *m = mock_new(NULL);

	m->script = script;
	m->nr_script = 1;
	VT_EXPECT_EQ(walk(m, 1, 0, K(4)), 0);
	EXPECT_RUN(m, 0, VD_EXT_DATA, 0, 0, 0, K(4), UINT64_MAX - K(4));
	free(m);
}

VT_TEST(walk_map_error_propagates)
{
	static const struct mlevel lv[] = { { { { K(0), K(4), VD_EXT_DATA, 0, 0 },
					      { K(4), K(4), VD_EXT_DATA, 0, K(9) } }, 2 } };
	struct mock *m = mock_new(lv);

	m->map_err = -ENOMEM;
	m->map_err_after = 1;
	VT_EXPECT_EQ(walk(m, 1, 0, K(8)), -ENOMEM);
	VT_EXPECT_EQ(m->nr_calls, 2);
	free(m);
}

VT_TEST(walk_emit_error_propagates)
{
	static const struct mlevel lv[] = { { { { K(0), K(4), VD_EXT_DATA, 0, 0 },
					      { K(4), K(4), VD_EXT_DATA, 1, 0 },
					      { K(8), K(4), VD_EXT_DATA, 2, 0 } }, 3 } };
	struct mock *m = mock_new(lv);

	m->emit_err = -ENOSPC;
	VT_EXPECT_EQ(walk(m, 1, 0, K(12)), -ENOSPC);
	VT_EXPECT_EQ(m->nr_calls, 2);
	free(m);

	m = mock_new(lv);
	m->emit_err = -EREMOTEIO;
	m->emit_err_after = 2;
	VT_EXPECT_EQ(walk(m, 1, 0, K(12)), -EREMOTEIO);
	VT_EXPECT_EQ(m->nr_runs, 2);
	VT_EXPECT_EQ(m->nr_calls, 3);
	free(m);
}

VT_TEST(walk_deepest_chain)
{
	struct mlevel *lv = calloc(64, sizeof(*lv));
	struct mock *m = mock_new(lv);

	lv[64 - 1].ext[0] = (struct mext){ 0, K(64), VD_EXT_DATA, 0, K(64) };
	lv[64 - 1].nr = 1;
	VT_EXPECT_EQ(walk(m, 64, K(1), K(2)), 0);
	VT_EXPECT_EQ(m->nr_calls, 64);
	VT_EXPECT_EQ(m->nr_runs, 1);
	EXPECT_RUN(m, 0, VD_EXT_DATA, 64 - 1, 0, K(1), K(2), K(65));
	free(m);
	free(lv);
}

/* ---- randomized property test --------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static u64 rnd_below(u64 n)
{
	return n ? rnd() % n : 0;
}

#define DISK	2048

/*
 * Fill @l with a random partition of [0, DISK) into extents.  Half the
 * levels map like raw files (host offset = disk offset, file 0), so data
 * of different levels is often contiguous and must still not be merged.
 */
static void random_level(struct mlevel *l)
{
	bool identity = rnd_below(2);
	u64 pos = 0, host = rnd_below(1 << 20);
	u32 file = 0;

	l->nr = 0;
	while (pos < DISK && l->nr < MAX_EXT) {
		struct mext *e = &l->ext[l->nr++];
		u64 left = DISK - pos;

		e->start = pos;
		e->len = l->nr == MAX_EXT ? left : 1 + rnd_below(left < 300 ? left : 300);
		e->kind = rnd_below(3);
		if (identity) {
			e->file = 0;
			e->host_off = pos;
		} else {
			/* often continue the previous data in the same file */
			if (rnd_below(3) == 0) {
				file = rnd_below(3);
				host = rnd_below(1 << 20);
			}
			e->file = file;
			e->host_off = host;
			host += e->len;
		}
		pos += e->len;
	}
}

/* What the stack holds at byte @p: the reference the walk must match. */
static void reference(const struct mlevel *lv, unsigned int nr_levels, u64 p,
		      u32 *kind, u32 *level, u32 *file, u64 *host)
{
	unsigned int l, i;

	for (l = 0; l < nr_levels; l++) {
		for (i = 0; i < lv[l].nr; i++) {
			const struct mext *e = &lv[l].ext[i];

			if (p < e->start || p >= e->start + e->len)
				continue;
			if (e->kind == VD_EXT_BACKING)
				break;
			*kind = e->kind;
			*level = l;
			*file = e->file;
			*host = e->host_off + (p - e->start);
			return;
		}
	}
	*kind = VD_EXT_ZERO;
}

static bool mergeable(const struct vd_run *a, const struct vd_run *b)
{
	if (a->kind != b->kind)
		return false;
	if (a->kind == VD_EXT_ZERO)
		return true;
	return a->level == b->level && a->file == b->file &&
	       a->host_off + a->len == b->host_off;
}

VT_TEST(walk_random_property)
{
	const char *seed_env = getenv("VT_SEED");
	const char *iter_env = getenv("VT_ITERATIONS");
	uint64_t seed = seed_env ? strtoull(seed_env, NULL, 0) : 20261125;
	unsigned int iters = iter_env ? strtoul(iter_env, NULL, 0) : 3000, it;
	struct mlevel *lv = calloc(8, sizeof(*lv));

	for (it = 0; it < iters && vt_ok(); it++) {
		unsigned int nr_levels, l, i;
		struct mock *m;
		u64 pos, len, p, expect;

		rng_state = seed + it;
		nr_levels = rnd_below(8);
		for (l = 0; l < nr_levels; l++)
			random_level(&lv[l]);
		pos = rnd_below(DISK);
		len = rnd_below(DISK - pos + 1);
		m = mock_new(lv);
		m->split = rnd_below(4) == 0 ? 1 + rnd_below(64) : 0;

		VT_EXPECT_MSG(walk(m, nr_levels, pos, len) == 0, "iteration %u (VT_SEED=%llu)",
			      it, (unsigned long long)(seed + it));
		VT_EXPECT_MSG(!m->protocol_error, "iteration %u: map asked outside the range", it);
		/* runs tile [pos, pos + len) in order, none empty, none mergeable */
		expect = pos;
		for (i = 0; i < m->nr_runs && vt_ok(); i++) {
			const struct vd_run *r = &m->runs[i];

			VT_EXPECT_MSG(r->pos == expect && r->len > 0,
				      "iteration %u run %u: pos %llu len %llu, expected pos %llu",
				      it, i, (unsigned long long)r->pos,
				      (unsigned long long)r->len, (unsigned long long)expect);
			VT_EXPECT_MSG(r->kind == VD_EXT_DATA || r->kind == VD_EXT_ZERO,
				      "iteration %u run %u: kind %u", it, i, r->kind);
			VT_EXPECT_MSG(r->kind != VD_EXT_DATA || r->level < nr_levels,
				      "iteration %u run %u: level %u", it, i, r->level);
			if (i)
				VT_EXPECT_MSG(!mergeable(&m->runs[i - 1], r),
					      "iteration %u: runs %u and %u not merged", it, i - 1, i);
			/* every byte from the topmost layer that is not BACKING */
			for (p = r->pos; p < r->pos + r->len && vt_ok(); p++) {
				u32 kind = 0, level = 0, file = 0;
				u64 host = 0;

				reference(lv, nr_levels, p, &kind, &level, &file, &host);
				VT_EXPECT_MSG(kind == r->kind &&
					      (kind == VD_EXT_ZERO ||
					       (level == r->level && file == r->file &&
						host == r->host_off + (p - r->pos))),
					      "iteration %u (VT_SEED=%llu) byte %llu: walk says kind %u level %u file %u host %llu, stack has kind %u level %u file %u host %llu",
					      it, (unsigned long long)(seed + it),
					      (unsigned long long)p, r->kind, r->level, r->file,
					      (unsigned long long)(r->host_off + (p - r->pos)),
					      kind, level, file, (unsigned long long)host);
			}
			expect = r->pos + r->len;
		}
		VT_EXPECT_MSG(expect == pos + len, "iteration %u: runs end at %llu, not %llu",
			      it, (unsigned long long)expect, (unsigned long long)(pos + len));
		free(m);
	}
	free(lv);
}
