// SPDX-License-Identifier: GPL-2.0
/*
 * job_pass.c - what a commit or a rebase does to the disk.
 *
 * Every pass walks the virtual disk window by window (VD_JOB_WINDOW, less
 * under a rate limit), with
 * the window fenced off from guest requests (fence.h) while the job reads,
 * compares, writes or drops data in it.  Between windows guest I/O to the
 * whole disk runs as usual, so a guest write lands either before the job
 * looks at its range (and the job sees it) or after (and the job's result
 * is underneath it, in the right layer).
 *
 * Commit of levels 0..k-1 into the base at level k:
 *   COPY    whatever levels 0..k-1 allocate (data, zeros) is read as the
 *           top shows it and written into the base; the base is flushed.
 *   SWITCH  the top's header names the base (vmdk: with the base's CID,
 *           which its first write changed); levels 1..k-1 leave the stack.
 *           Until then the on-disk chain top -> .. -> base still reads
 *           right: the base holds what the layers above it showed anyway.
 *   EMPTY   (EMPTY_TOP) each cluster the top allocates is compared with
 *           the base; what differs (a guest write since the copy) is
 *           written into the base first, the base flushed, then the top's
 *           clusters are dropped so the range reads from the base.  With
 *           k = 1 this pass alone does the commit.
 * Rebase of the top onto a new backing chain:
 *   COPY    for every range the top does not allocate, the old backing's
 *           data is compared with the new backing's, per top cluster; what
 *           differs is written into the top; the top is flushed.
 *   SWITCH  the top's header names the new backing (written and synced
 *           only now: a crash before leaves the old chain, complete), and
 *           the device's stack becomes top + the new backing layers.
 *   DEDUP   (--dedup) each cluster the top allocates that equals what the
 *           new backing shows is dropped from the top.
 * Cancelled or failed, a job stops at a window boundary and flushes what
 * it wrote: every range then reads as before (or, for a commit, as after).
 */
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "job.h"

/* Data a job reads or compares at a time: two of these are allocated. */
#define VD_JOB_BUF	(VD_JOB_WINDOW / 2)

struct vd_job_ctx {
	struct vd_job *job;
	u8 *a;		/* what the top shows / the old backing shows */
	u8 *b;		/* what is below / the new backing shows */
	const struct vd_chain *base;	/* commit: stack from the target down */
	bool write_diff;		/* drop pass: write what differs first */
};

/*
 * Does one of levels [@from, @to) of @chain allocate the start of
 * [@pos, @pos + *@len)?  Narrows *@len to the piece the answer holds for.
 */
static int vd_job_allocated(const struct vd_chain *chain, unsigned int from,
			    unsigned int to, u64 pos, u64 *len, bool *alloc)
{
	unsigned int level;

	*alloc = false;
	for (level = from; level < to; level++) {
		struct vd_layer *layer = chain->layer[level];
		struct vd_ext ext = { 0 };
		int ret;

		ret = layer->ops->map(layer, pos, *len, 0, &ext);
		if (ret)
			return ret;
		if (!ext.len || ext.len > *len || ext.kind >= VD_EXT_COUNT)
			return -EIO;
		*len = ext.len;
		if (ext.kind != VD_EXT_BACKING) {
			*alloc = true;
			return 0;
		}
	}
	return 0;
}

/* Does the top allocate anything in [@pos, @pos + @len)? */
static int vd_job_top_touches(const struct vd_chain *chain, u64 pos, u64 len,
			      bool *touched)
{
	while (len) {
		u64 n = len;
		int ret;

		ret = vd_job_allocated(chain, 0, 1, pos, &n, touched);
		if (ret || *touched)
			return ret;
		pos += n;
		len -= n;
	}
	return 0;
}

/* Layers [@from, nr) of @chain as a stack of their own. */
static struct vd_chain *vd_chain_tail(const struct vd_chain *chain,
				      unsigned int from)
{
	struct vd_chain *tail = vd_chain_alloc(chain->nr - from);
	unsigned int i;

	if (!tail)
		return NULL;
	for (i = 0; i < tail->nr; i++) {
		tail->layer[i] = chain->layer[from + i];
		kref_get(&tail->layer[i]->ref);
	}
	return tail;
}

static int vd_job_io_error(struct vd_job *job, const char *what,
			   const struct vd_layer *layer, u64 pos, u64 len,
			   int err)
{
	vd_job_fail_msg(job, "%s: %s %s at %llu (+%llu): error %d",
			job->type == VDISK_JOB_COMMIT ? "commit" : "rebase",
			what, layer->path, pos, len, err);
	return err;
}

static int vd_job_flush(struct vd_job *job, struct vd_layer *layer)
{
	int ret = layer->ops->flush(layer);

	if (ret)
		vd_job_fail_msg(job, "%s: flushing %s: error %d",
				job->type == VDISK_JOB_COMMIT ? "commit" : "rebase",
				layer->path, ret);
	return ret;
}

typedef int (*vd_job_window_fn)(struct vd_job_ctx *ctx,
				const struct vd_chain *chain, u64 pos, u64 end);

/*
 * The window of a pass: VD_JOB_WINDOW, or under a rate limit a quarter
 * second's worth (a power of two, 64 KiB at least), so that the job cannot
 * run a whole window ahead of its rate.  Never smaller than @unit (a pass
 * that drops clusters needs whole ones of the top).
 */
static u64 vd_job_window(const struct vd_job *job, u64 unit)
{
	u64 w = VD_JOB_WINDOW;

	if (job->rate_limit)
		w = clamp_t(u64, rounddown_pow_of_two(max_t(u64, job->rate_limit / 4, 1)),
			    SZ_64K, VD_JOB_WINDOW);
	return max(w, unit);
}

/*
 * One pass over the disk, a fenced window at a time; @unit: the window
 * must hold whole units of this size (a power of two up to 2 MiB).
 */
static int vd_job_pass(struct vd_job_ctx *ctx, u32 phase, vd_job_window_fn fn,
		       u64 unit)
{
	struct vd_job *job = ctx->job;
	struct vd_device *vd = job->vd;
	u64 size = vd_chain_top(vd->chain)->virtual_size, pos = 0;
	u64 w = vd_job_window(job, unit);
	int ret;

	vd_job_set_phase(job, phase);
	while (pos < size) {
		u64 end = min(size, round_down(pos, w) + w);

		ret = vd_job_throttle(job);
		if (ret)
			return ret;
		vd_fence_lock(&vd->fence, pos, end);
		/* Only this thread replaces the stack: no lock needed to read it. */
		ret = fn(ctx, vd->chain, pos, end);
		vd_fence_unlock(&vd->fence);
		if (ret)
			return ret;
		vd_job_account(job, end - pos, 0, 0, 0);
		pos = end;
		cond_resched();
	}
	return 0;
}

/*
 * Write @buf into the top of @dst.  Zeros become a zeroing discard where
 * the format has one (a zero cluster, a hole) instead of allocated zeros.
 */
static int vd_job_store(const struct vd_chain *dst, u64 pos, const u8 *buf,
			u64 len)
{
	struct vd_layer *layer = vd_chain_top(dst);
	int ret;

	if (layer->ops->discard && !memchr_inv(buf, 0, len)) {
		ret = layer->ops->discard(layer, dst, pos, len, VD_DISCARD_ZERO);
		/* A file that cannot punch holes gets the zeros written. */
		if (ret != -EOPNOTSUPP)
			return ret;
	}
	return vd_chain_write(dst, pos, buf, len);
}

/* COPY of a commit: what levels above the base allocate goes into it. */
static int vd_job_commit_window(struct vd_job_ctx *ctx,
				const struct vd_chain *chain, u64 pos, u64 end)
{
	struct vd_job *job = ctx->job;
	u64 copied = 0;
	int ret = 0;

	while (pos < end) {
		u64 n = min_t(u64, end - pos, VD_JOB_BUF);
		bool alloc;

		ret = vd_job_allocated(chain, 0, job->base_level, pos, &n, &alloc);
		if (ret)
			return vd_job_io_error(job, "mapping", vd_chain_top(chain),
					       pos, n, ret);
		if (alloc) {
			ret = vd_chain_read(chain, 0, pos, ctx->a, n);
			if (ret)
				return vd_job_io_error(job, "reading", vd_chain_top(chain),
						       pos, n, ret);
			ret = vd_job_store(ctx->base, pos, ctx->a, n);
			if (ret)
				return vd_job_io_error(job, "writing",
						       vd_chain_top(ctx->base), pos, n, ret);
			copied += n;
			job->io_bytes += n;
		}
		pos += n;
	}
	vd_job_account(job, 0, copied, 0, 0);
	return 0;
}

/* Write @ctx->a[@off, @off + @len) into the top of @dst at @pos + @off. */
static int vd_job_write_out(struct vd_job_ctx *ctx,
			    const struct vd_chain *dst, u64 pos, u64 off,
			    u64 len)
{
	int ret;

	if (!len)
		return 0;
	ret = vd_job_store(dst, pos + off, ctx->a + off, len);
	if (ret)
		return vd_job_io_error(ctx->job, "writing", vd_chain_top(dst),
				       pos + off, len, ret);
	vd_job_account(ctx->job, 0, len, 0, 0);
	return 0;
}

/*
 * COPY of a rebase: where the top allocates nothing, what the old backing
 * shows (@ctx->a) is compared with what the new one shows (@ctx->b), one
 * top cluster at a time; clusters that differ are written into the top.
 */
static int vd_job_rebase_window(struct vd_job_ctx *ctx,
				const struct vd_chain *chain, u64 pos, u64 end)
{
	struct vd_job *job = ctx->job;
	struct vd_layer *top = vd_chain_top(chain);
	u64 g = top->discard_granularity ?: SZ_64K;
	int ret;

	while (pos < end) {
		u64 n = min_t(u64, end - pos, VD_JOB_BUF), off, dirty, equal = 0;
		bool alloc;

		ret = vd_job_allocated(chain, 0, 1, pos, &n, &alloc);
		if (ret)
			return vd_job_io_error(job, "mapping", top, pos, n, ret);
		if (alloc) {
			pos += n;
			continue;
		}
		/* Nothing below in either chain: zeros on both sides, equal. */
		ret = vd_job_allocated(chain, 1, chain->nr, pos, &n, &alloc);
		if (!ret && !alloc)
			ret = vd_job_allocated(job->new_backing, 0,
					       job->new_backing->nr, pos, &n, &alloc);
		if (ret)
			return vd_job_io_error(job, "mapping the backing of", top,
					       pos, n, ret);
		if (!alloc) {
			vd_job_account(job, 0, 0, n, 0);
			pos += n;
			continue;
		}
		ret = vd_chain_read(chain, 1, pos, ctx->a, n);
		if (ret)
			return vd_job_io_error(job, "reading the old backing of",
					       top, pos, n, ret);
		ret = vd_chain_read(job->new_backing, 0, pos, ctx->b, n);
		if (ret)
			return vd_job_io_error(job, "reading the new backing of",
					       top, pos, n, ret);
		job->io_bytes += n;

		/* Runs of differing clusters are written in one go. */
		dirty = 0;
		for (off = 0; off < n; ) {
			u64 blk = min(n - off, g - ((pos + off) & (g - 1)));

			if (memcmp(ctx->a + off, ctx->b + off, blk)) {
				off += blk;
				continue;
			}
			ret = vd_job_write_out(ctx, chain, pos, dirty, off - dirty);
			if (ret)
				return ret;
			equal += blk;
			off += blk;
			dirty = off;
		}
		ret = vd_job_write_out(ctx, chain, pos, dirty, n - dirty);
		if (ret)
			return ret;
		vd_job_account(job, 0, 0, equal, 0);
		pos += n;
	}
	return 0;
}

/* Drop the top's clusters in [@pos, @pos + @len): they read from below. */
static int vd_job_drop(struct vd_job_ctx *ctx, const struct vd_chain *chain,
		       u64 pos, u64 len)
{
	struct vd_layer *top = vd_chain_top(chain);
	int ret;

	if (!len)
		return 0;
	ret = top->ops->discard(top, chain, pos, len, VD_DISCARD_FALLTHROUGH);
	if (ret)
		return vd_job_io_error(ctx->job, "deallocating clusters of", top,
				       pos, len, ret);
	vd_job_account(ctx->job, 0, 0, 0, len);
	return 0;
}

/*
 * Compare, per cluster, [@pos, @pos + @len) of the top with what is below
 * it.  Equal clusters are dropped.  Differing ones are kept, or, when
 * emptying the top after a commit, written into the base (which is then
 * flushed) and dropped too.
 */
static int vd_job_drop_run(struct vd_job_ctx *ctx, const struct vd_chain *chain,
			   u64 pos, u64 len)
{
	struct vd_job *job = ctx->job;
	struct vd_layer *top = vd_chain_top(chain);
	u64 g = top->discard_granularity, off, drop_from = 0;
	bool wrote = false;
	int ret;

	ret = vd_chain_read(chain, 0, pos, ctx->a, len);
	if (ret)
		return vd_job_io_error(job, "reading", top, pos, len, ret);
	ret = vd_chain_read(chain, 1, pos, ctx->b, len);
	if (ret)
		return vd_job_io_error(job, "reading the backing of", top, pos,
				       len, ret);
	job->io_bytes += len;

	for (off = 0; off < len; off += g) {
		u64 blk = min(len - off, g);

		if (!memcmp(ctx->a + off, ctx->b + off, blk)) {
			if (!ctx->write_diff)
				vd_job_account(job, 0, 0, blk, 0);
			continue;
		}
		if (ctx->write_diff) {
			ret = vd_job_write_out(ctx, ctx->base, pos, off, blk);
			if (ret)
				return ret;
			wrote = true;
			continue;
		}
		/* Kept: drop what came before it. */
		ret = vd_job_drop(ctx, chain, pos + drop_from, off - drop_from);
		if (ret)
			return ret;
		drop_from = off + blk;
	}
	/* The base must hold the data before the top lets go of it. */
	if (wrote) {
		ret = vd_job_flush(job, vd_chain_top(ctx->base));
		if (ret)
			return ret;
	}
	return vd_job_drop(ctx, chain, pos + drop_from, len - drop_from);
}

/* EMPTY of a commit, DEDUP of a rebase: over the clusters the top holds. */
static int vd_job_drop_window(struct vd_job_ctx *ctx,
			      const struct vd_chain *chain, u64 pos, u64 end)
{
	u64 g = vd_chain_top(chain)->discard_granularity;
	u64 run = 0, c;
	int ret;

	/* Windows hold whole clusters of the top (vd_job_pass()'s @unit). */
	for (c = pos; c < end; c += g) {
		u64 n = min(end - c, g), skip = end - c;
		bool touched;

		/* What the top leaves unallocated is skipped whole. */
		ret = vd_job_allocated(chain, 0, 1, c, &skip, &touched);
		if (!ret && !touched && skip >= g) {
			if (run) {
				ret = vd_job_drop_run(ctx, chain, c - run, run);
				if (ret)
					return ret;
			}
			run = 0;
			c += round_down(skip, g) - g;	/* the loop adds g */
			continue;
		}
		if (!ret)
			ret = vd_job_top_touches(chain, c, n, &touched);
		if (ret)
			return vd_job_io_error(ctx->job, "mapping",
					       vd_chain_top(chain), c, n, ret);
		if (touched && run + n <= VD_JOB_BUF) {
			run += n;
			continue;
		}
		if (run) {
			ret = vd_job_drop_run(ctx, chain, c - run, run);
			if (ret)
				return ret;
		}
		run = touched ? n : 0;
	}
	return run ? vd_job_drop_run(ctx, chain, end - run, run) : 0;
}

/* Point the top at @parent (named @job->backing_name in its header). */
static int vd_job_set_backing(struct vd_job *job, struct vd_layer *parent)
{
	struct vd_layer *top = vd_chain_top(job->vd->chain);
	char text[160] = "";
	struct vd_msg msg = { .buf = text, .len = sizeof(text) };
	int ret;

	ret = vd_job_flush(job, top);
	if (ret)
		return ret;
	ret = top->ops->set_backing(top, job->backing_name,
				    parent ? parent->ops->format : VDISK_FMT_NONE,
				    parent, &msg);
	if (ret)
		vd_job_fail_msg(job, "%s: changing the backing file of %s to \"%s\": %s (error %d)",
				job->type == VDISK_JOB_COMMIT ? "commit" : "rebase",
				top->path, job->backing_name,
				text[0] ? text : "write failed", ret);
	return ret;
}

/* The device serves @top over layers [@from, nr) of @below from now on. */
static int vd_job_swap(struct vd_job *job, const struct vd_chain *below,
		       unsigned int from)
{
	struct vd_device *vd = job->vd;
	struct vd_chain *new;
	unsigned int i;

	new = vd_chain_alloc(1 + below->nr - from);
	if (!new)
		return -ENOMEM;
	for (i = 0; i < new->nr; i++) {
		new->layer[i] = i ? below->layer[from + i - 1] :
				vd_chain_top(vd->chain);
		kref_get(&new->layer[i]->ref);
	}
	vd_chain_free(vd_device_swap_chain(vd, new));
	return 0;
}

static int vd_job_commit(struct vd_job_ctx *ctx)
{
	struct vd_job *job = ctx->job;
	struct vd_device *vd = job->vd;
	bool empty = job->flags & VDISK_JOB_EMPTY_TOP;
	/* With nothing in between, emptying the top is the whole commit. */
	bool copy_first = !(empty && job->base_level == 1);
	u64 size = vd_chain_top(vd->chain)->virtual_size;
	struct vd_chain *base;
	int ret;

	base = vd_chain_tail(vd->chain, job->base_level);
	if (!base)
		return -ENOMEM;
	ctx->base = base;
	job->total = size * (copy_first + empty);

	if (copy_first) {
		ret = vd_job_pass(ctx, VDISK_JOB_PHASE_COPY, vd_job_commit_window, 0);
		if (ret)
			goto out;
		ret = vd_job_flush(job, job->target);
		if (ret)
			goto out;
		vd_job_set_phase(job, VDISK_JOB_PHASE_SWITCH);
		if (job->backing_name) {
			ret = vd_job_set_backing(job, job->target);
			if (ret)
				goto out;
		}
		if (job->base_level > 1) {
			ret = vd_job_swap(job, base, 0);
			if (ret)
				goto out;
		}
	}
	if (empty) {
		ctx->write_diff = true;
		ret = vd_job_pass(ctx, VDISK_JOB_PHASE_EMPTY, vd_job_drop_window,
				  vd_chain_top(vd->chain)->discard_granularity);
		if (ret)
			goto out;
		ret = vd_job_flush(job, job->target);
		if (!ret)
			ret = vd_job_flush(job, vd_chain_top(vd->chain));
		/* The base's first write changed a vmdk base's CID only now. */
		if (!ret && !copy_first && job->backing_name)
			ret = vd_job_set_backing(job, job->target);
	}
out:
	if (ret) {
		/* Whatever was written stays valid: make it durable. */
		job->target->ops->flush(job->target);
	}
	vd_chain_free(base);
	return ret;
}

static int vd_job_rebase(struct vd_job_ctx *ctx)
{
	struct vd_job *job = ctx->job;
	struct vd_device *vd = job->vd;
	struct vd_chain *nb = job->new_backing;
	bool copy = !(job->flags & VDISK_JOB_UNSAFE);
	bool dedup = job->flags & VDISK_JOB_DEDUP;
	struct vd_layer *top = vd_chain_top(vd->chain);
	int ret;

	job->total = top->virtual_size * (copy + dedup);
	if (copy) {
		ret = vd_job_pass(ctx, VDISK_JOB_PHASE_COPY, vd_job_rebase_window, 0);
		if (ret)
			goto out;
	}
	vd_job_set_phase(job, VDISK_JOB_PHASE_SWITCH);
	ret = vd_job_set_backing(job, nb->nr ? nb->layer[0] : NULL);
	if (ret)
		goto out;
	ret = vd_job_swap(job, nb, 0);
	if (ret)
		goto out;
	if (dedup && nb->nr) {
		ret = vd_job_pass(ctx, VDISK_JOB_PHASE_DEDUP, vd_job_drop_window,
				  top->discard_granularity);
		if (ret)
			goto out;
	}
out:
	if (ret)
		top->ops->flush(top);
	else
		ret = vd_job_flush(job, top);
	return ret;
}

/**
 * vd_job_run() - do the job (its thread)
 * @job: the job, prepared by VDISK_IOC_JOB_START
 *
 * Return: 0, -ECANCELED, or the error that stopped it (@job->msg says
 * where).
 */
int vd_job_run(struct vd_job *job)
{
	struct vd_job_ctx ctx = { .job = job };
	unsigned int noio;
	int ret = -ENOMEM;

	/*
	 * Reclaim must not write back into this device: a request inside
	 * the job's window would wait for the job, which waits for reclaim.
	 */
	noio = memalloc_noio_save();
	ctx.a = kvmalloc(VD_JOB_BUF, GFP_KERNEL);
	ctx.b = kvmalloc(VD_JOB_BUF, GFP_KERNEL);
	if (ctx.a && ctx.b)
		ret = job->type == VDISK_JOB_COMMIT ? vd_job_commit(&ctx) :
						      vd_job_rebase(&ctx);
	kvfree(ctx.a);
	kvfree(ctx.b);
	memalloc_noio_restore(noio);
	return ret;
}
