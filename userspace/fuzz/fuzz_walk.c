// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_walk.c - libFuzzer target: vd_walk() driven by a byte stream.
 *
 * The first bytes choose the number of levels, the range and which
 * callback fails; then every map call reads its answer (kind, file,
 * length mode, length, host offset) from the stream, malicious values
 * included.  Once the stream runs dry the map answers "zeros for all",
 * so every walk ends.  Checked: the walk never asks outside its range or
 * below the last level, emits runs that tile the range in order with valid
 * kinds and no overflow, returns -EIO exactly when an answer was invalid,
 * and passes callback errors through.
 */
#include <stdint.h>
#include <stdlib.h>

#include "vd_walk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "violated: %s\n", #c); abort(); } } while (0)

struct fz {
	const uint8_t *p;
	size_t left;
	unsigned int nr_levels;
	u64 lo, hi, next;		/* range walked; where the next run starts */
	bool bad_answer;		/* an invalid answer was given */
	bool emitted_last;
	int map_err, emit_err;		/* injected, once the countdown hits 0 */
	unsigned int map_countdown, emit_countdown;
	struct vd_run prev;
	bool have_prev;
};

static u64 take(struct fz *f, size_t n)
{
	u64 v = 0;

	while (n-- && f->left) {
		v = v << 8 | *f->p++;
		f->left--;
	}
	return v;
}

static int fz_map(void *ctx, unsigned int level, u64 pos, u64 len, struct vd_ext *ext)
{
	struct fz *f = ctx;
	unsigned int mode;

	CHECK(!f->bad_answer);		/* the walk must stop at a bad answer */
	CHECK(level < f->nr_levels);
	CHECK(len > 0 && pos >= f->next && pos + len <= f->hi && pos + len > pos);
	if (f->map_err && !f->map_countdown--)
		return f->map_err;
	if (!f->left) {
		ext->kind = VD_EXT_ZERO;
		ext->len = len;
		return 0;
	}
	ext->kind = take(f, 1);
	if (ext->kind < 16)
		ext->kind %= VD_EXT_COUNT;	/* mostly valid kinds */
	ext->file = take(f, 1) % 4;
	mode = take(f, 1);
	switch (mode % 8) {
	case 0: ext->len = take(f, 8); break;		/* anything */
	case 1: ext->len = len + (mode >> 3); break;	/* too long, or exact */
	case 2: ext->len = 0; break;
	default: ext->len = 1 + take(f, 2) % len; break;	/* valid */
	}
	ext->host_off = (mode & 0x80) ? UINT64_MAX - take(f, 2) : take(f, 3);
	if (!ext->len || ext->len > len || ext->kind >= VD_EXT_COUNT ||
	    (ext->kind == VD_EXT_DATA && ext->host_off + ext->len < ext->host_off))
		f->bad_answer = true;
	return 0;
}

static int fz_emit(void *ctx, const struct vd_run *run)
{
	struct fz *f = ctx;

	if (f->emit_err && !f->emit_countdown--)
		return f->emit_err;
	CHECK(run->pos == f->next);
	CHECK(run->len > 0 && run->pos + run->len <= f->hi);
	CHECK(run->kind == VD_EXT_DATA || run->kind == VD_EXT_ZERO ||
	      run->kind == VD_EXT_FORMAT);
	if (run->kind == VD_EXT_DATA || run->kind == VD_EXT_FORMAT) {
		CHECK(run->level < f->nr_levels);
		/* FORMAT offsets are the format's own business */
		CHECK(run->kind == VD_EXT_FORMAT ||
		      run->host_off + run->len >= run->host_off);
	} else {
		CHECK(!run->level && !run->file && !run->host_off);
	}
	if (f->have_prev) {
		/* what could have been merged was merged */
		CHECK(!(f->prev.kind == run->kind && run->kind != VD_EXT_FORMAT &&
			(run->kind == VD_EXT_ZERO ||
			 (f->prev.level == run->level && f->prev.file == run->file &&
			  f->prev.host_off + f->prev.len == run->host_off))));
	}
	f->prev = *run;
	f->have_prev = true;
	f->next = run->pos + run->len;
	return 0;
}

static const struct vd_walk_ops fz_ops = { fz_map, fz_emit };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { .p = data, .left = size };
	unsigned int ctl;
	u64 len;
	int ret;

	f.nr_levels = take(&f, 1);
	f.nr_levels = f.nr_levels > 200 ? 64 : f.nr_levels % 8;
	f.lo = take(&f, 8) & ((1ULL << 62) - 1);
	len = take(&f, 3);
	ctl = take(&f, 1);
	if (ctl & 1) {
		f.map_err = -ENOMEM;
		f.map_countdown = ctl >> 1 & 7;
	}
	if (ctl & 16) {
		f.emit_err = -ENOSPC;
		f.emit_countdown = ctl >> 5;
	}
	f.hi = f.lo + len;
	f.next = f.lo;

	ret = vd_walk(&fz_ops, &f, f.nr_levels, f.lo, len);
	if (ret == -EIO && f.bad_answer)
		return 0;
	CHECK(!f.bad_answer);
	if (ret == -ENOMEM)
		CHECK(f.map_err);
	else if (ret == -ENOSPC)
		CHECK(f.emit_err);
	else
		CHECK(ret == 0 && f.next == f.hi);
	return 0;
}
