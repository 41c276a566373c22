// SPDX-License-Identifier: GPL-2.0
/*
 * queue.c - blk-mq request handling: from a request to backing-file I/O.
 *
 * A work item walks the request through the layer stack (vd_walk()) and
 * submits one kiocb per contiguous run, asynchronous direct I/O where the
 * file and the run's alignment allow it (as loop's lo_rw_aio does),
 * buffered otherwise.  Mapping a range may read metadata and so sleep, and
 * a file may block.  The request completes when the walk and every run it
 * started are done.
 *
 * The common case skips the hand-over to the worker, a wake-up and a
 * context switch per request (most of the latency at queue depth 1):
 * queue_rq() (the queue is BLK_MQ_F_BLOCKING) tries a read or write that
 * the layers map from cached metadata to one run of file data, and submits
 * it as async direct I/O with IOCB_NOWAIT.  Anything else - a metadata
 * miss, an allocation, FUA, a job's fence, a file that would block, any
 * error - goes to the worker, which does the whole request again.  The
 * submitter may be inside submit_bio() holding back bios of its own
 * (current->bio_list): the inline path must never wait, for I/O or locks.
 *
 * Errors travel as -errno inside and become a blk_status_t once, in
 * vd_complete_rq().
 */
#include <linux/iversion.h>
#include <linux/mempool.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uio.h>

#include "compat.h"
#include "vdisk.h"

/**
 * struct vd_aio - one run of a request in flight to a backing file
 * @iocb:    the file I/O
 * @cmd:     request it belongs to
 * @buf_off: where the run starts in the request's buffer
 * @len:     bytes of the run
 * @pooled:  allocated from vd_aio_pool (else the command's inline one)
 */
struct vd_aio {
	struct kiocb iocb;
	struct vd_cmd *cmd;
	size_t buf_off;
	size_t len;
	bool pooled;
};

/**
 * struct vd_cmd - per-request state (the blk-mq pdu)
 * @work:        runs vd_cmd_work() in vd_io_wq
 * @pending:     the walk (1) plus runs in flight; the last put completes
 * @error:       first error seen, 0 if none
 * @write:       the request writes (data flows to the files)
 * @fua:         REQ_FUA: runs are written with O_DSYNC semantics
 * @allocated:   a run went to the format's write_run (metadata changed)
 * @retry:       the attempt in queue_rq() did not finish: the last put
 *               hands the request to the worker instead of completing it
 * @inline_used: @inline_aio is taken (only the work touches this)
 * @chain:       layers the request is served from
 * @fence:       the request's place in the device's job fence
 * @bvec:        bio_vec array built for a multi-bio request, or NULL
 * @iter:        the whole request buffer; runs take copies of it
 * @inline_aio:  the first run needs no allocation
 */
struct vd_cmd {
	struct work_struct work;
	atomic_t pending;
	int error;
	bool write;
	bool fua;
	bool allocated;
	bool retry;
	bool inline_used;
	struct vd_chain *chain;
	struct vd_fence_entry fence;
	struct bio_vec *bvec;
	struct iov_iter iter;
	struct vd_aio inline_aio;
};

/*
 * Runs beyond the first of a request.  A mempool so that writeback under
 * memory pressure still makes progress: every element returns to the pool
 * when its I/O completes, which needs no further allocation.
 */
static struct kmem_cache *vd_aio_cache;
static mempool_t *vd_aio_pool;
#define VD_AIO_POOL_MIN	64

size_t vd_cmd_size(void)
{
	return sizeof(struct vd_cmd);
}

static void vd_cmd_set_error(struct vd_cmd *cmd, int err)
{
	cmpxchg(&cmd->error, 0, err);
}

static void vd_cmd_put(struct vd_cmd *cmd)
{
	struct request *rq = blk_mq_rq_from_pdu(cmd);
	struct vd_device *vd = rq->q->queuedata;

	if (atomic_dec_and_test(&cmd->pending)) {
		if (cmd->retry) {
			this_cpu_inc(vd->io_stats->retried);
			kfree(cmd->bvec);
			cmd->bvec = NULL;
			queue_work(vd_io_wq, &cmd->work);
			return;
		}
		vd_fence_exit(&vd->fence, &cmd->fence);
		blk_mq_complete_request(rq);
	}
}

static void vd_complete_rq(struct request *rq)
{
	struct vd_cmd *cmd = blk_mq_rq_to_pdu(rq);

	kfree(cmd->bvec);
	cmd->bvec = NULL;
	blk_mq_end_request(rq, errno_to_blk_status(cmd->error));
}

/* A view of @len bytes of the request buffer starting @off bytes in. */
static void vd_cmd_iter(struct vd_cmd *cmd, size_t off, size_t len,
			struct iov_iter *iter)
{
	*iter = cmd->iter;
	iov_iter_advance(iter, off);
	iov_iter_truncate(iter, len);
}

static void vd_aio_complete(struct kiocb *iocb, long ret)
{
	struct vd_aio *aio = container_of(iocb, struct vd_aio, iocb);
	struct vd_cmd *cmd = aio->cmd;

	if (cmd->write)
		kiocb_end_write(iocb);
	if (iocb->ki_flags & IOCB_NOWAIT) {
		/*
		 * Submitted from queue_rq(): whatever did not complete in full
		 * (would block, short, failed) the worker does again, blocking
		 * as needed; it also reports real errors and a real file end.
		 */
		if (ret != aio->len)
			cmd->retry = true;
		vd_cmd_put(cmd);
		return;
	}
	if (ret >= 0 && ret < aio->len) {
		if (cmd->write) {
			ret = -EIO;
		} else {
			/* The file ended early: what is not there reads as zeros. */
			struct iov_iter tail;

			vd_cmd_iter(cmd, aio->buf_off + ret, aio->len - ret, &tail);
			iov_iter_zero(aio->len - ret, &tail);
			ret = 0;
		}
	}
	if (ret < 0)
		vd_cmd_set_error(cmd, ret);
	if (aio->pooled)
		mempool_free(aio, vd_aio_pool);
	vd_cmd_put(cmd);
}

static bool vd_run_can_dio(const struct vd_layer *layer, u64 host_off,
			   size_t len, const struct iov_iter *iter)
{
	unsigned int align = layer->dio_align;

	if (!align)
		return false;
	if ((host_off | len) & (align - 1))
		return false;
	return !(iov_iter_alignment(iter) & (layer->dio_mem_align - 1));
}

/*
 * Most requests reach queue_rq() from submit_bio(), where the bios the
 * file's direct I/O submits wait on current->bio_list until we return.
 * IOCB_NOWAIT keeps the file from waiting on locks or I/O meanwhile; what
 * is left is the bio allocation, which under memory pressure may wait for
 * the bio_set's reserve of two bios to be refilled by bios completing.  A
 * run within two blocks of the file meets at most two of its extents, so
 * takes at most two bios: we never wait for a reserve bio we hold back.
 * Longer runs (sequential I/O, where the hand-over costs little) go to
 * the worker.
 */
static bool vd_inline_fits(struct file *file, u64 off, u64 len)
{
	unsigned int bits = file_inode(file)->i_blkbits;

	return ((off + len - 1) >> bits) - (off >> bits) < 2;
}

/*
 * Would a write to @file now update its timestamps (file_update_time())?
 * With IOCB_NOWAIT the filesystem refuses such a write, so trying it here
 * is wasted: the first write of each clock tick goes to the worker, which
 * updates them, and the writes behind it find them current.  A guess
 * either way round, read without the inode's lock (a torn value is just a
 * wrong guess): a miss is an attempt refused and redone by the worker.
 */
static bool vd_file_times_due(struct file *file)
{
	struct inode *inode = file_inode(file);
	struct timespec64 now, t;

	if ((file->f_mode & FMODE_NOCMTIME) || IS_NOCMTIME(inode))
		return false;
	now = current_time(inode);
	t = vd_inode_mtime(inode);
	if (!timespec64_equal(&t, &now))
		return true;
	t = vd_inode_ctime(inode);
	return !timespec64_equal(&t, &now) ||
	       (IS_I_VERSION(inode) && inode_iversion_need_inc(inode));
}

/*
 * Start the file I/O of one data run; its completion puts the command.
 * @nowait (the attempt in queue_rq()): only as direct I/O that the file
 * takes with IOCB_NOWAIT, within vd_inline_fits(); false, and nothing
 * started, for a run that is not such.
 */
static bool vd_submit_run(struct vd_cmd *cmd, struct vd_layer *layer,
			  const struct vd_run *run, size_t buf_off, bool nowait)
{
	struct request *rq = blk_mq_rq_from_pdu(cmd);
	struct file *file = layer->files[run->file];
	struct iov_iter iter;
	struct vd_aio *aio;
	bool dio;
	ssize_t ret;

	vd_cmd_iter(cmd, buf_off, run->len, &iter);
	dio = vd_run_can_dio(layer, run->host_off, run->len, &iter);
	if (nowait) {
		struct super_block *sb = file_inode(file)->i_sb;

		if (!dio || !(file->f_mode & FMODE_NOWAIT) ||
		    !vd_inline_fits(file, run->host_off, run->len))
			return false;
		/* kiocb_start_write(), without waiting for a frozen fs */
		if (cmd->write) {
			if (vd_file_times_due(file) || !sb_start_write_trylock(sb))
				return false;
			__sb_writers_release(sb, SB_FREEZE_WRITE);
		}
	}

	if (!cmd->inline_used) {
		aio = &cmd->inline_aio;
		aio->pooled = false;
		cmd->inline_used = true;
	} else {
		aio = mempool_alloc(vd_aio_pool, GFP_NOIO);
		aio->pooled = true;
	}
	aio->cmd = cmd;
	aio->buf_off = buf_off;
	aio->len = run->len;

	aio->iocb = (struct kiocb) {
		.ki_filp	= file,
		.ki_pos		= run->host_off,
		.ki_ioprio	= req_get_ioprio(rq),
		.ki_flags	= cmd->fua ? IOCB_DSYNC : 0,
	};
	if (dio) {
		aio->iocb.ki_flags |= IOCB_DIRECT | (nowait ? IOCB_NOWAIT : 0);
		aio->iocb.ki_complete = vd_aio_complete;
	} else {
		aio->iocb.ki_complete = NULL;	/* synchronous */
	}

	atomic_inc(&cmd->pending);
	if (cmd->write) {
		if (!nowait)
			kiocb_start_write(&aio->iocb);
		ret = file->f_op->write_iter(&aio->iocb, &iter);
	} else {
		ret = file->f_op->read_iter(&aio->iocb, &iter);
	}
	if (ret != -EIOCBQUEUED)
		vd_aio_complete(&aio->iocb, ret);
	return true;
}

static int vd_rw_map(void *ctx, unsigned int level, u64 pos, u64 len,
		     struct vd_ext *ext)
{
	struct vd_cmd *cmd = ctx;
	struct vd_layer *layer = cmd->chain->layer[level];

	return layer->ops->map(layer, pos, len, cmd->write ? VD_MAP_WRITE : 0, ext);
}

static int vd_rw_emit(void *ctx, const struct vd_run *run)
{
	struct vd_cmd *cmd = ctx;
	struct request *rq = blk_mq_rq_from_pdu(cmd);
	size_t buf_off = run->pos - ((u64)blk_rq_pos(rq) << SECTOR_SHIFT);
	struct iov_iter iter;

	if (run->kind == VD_EXT_DATA) {
		struct vd_layer *layer = cmd->chain->layer[run->level];

		if (run->file >= layer->nr_files)
			return -EIO;
		vd_submit_run(cmd, layer, run, buf_off, false);
		return 0;
	}
	vd_cmd_iter(cmd, buf_off, run->len, &iter);
	if (cmd->write) {
		struct vd_layer *top = vd_chain_top(cmd->chain);

		/* The top layer's map() answers DATA or FORMAT for writes. */
		if (WARN_ON_ONCE(run->kind != VD_EXT_FORMAT) ||
		    !top->ops->write_run)
			return -EIO;
		cmd->allocated = true;
		return top->ops->write_run(top, cmd->chain, run, &iter);
	}
	if (run->kind == VD_EXT_FORMAT) {
		struct vd_layer *layer = cmd->chain->layer[run->level];

		if (!layer->ops->read_run)
			return -EIO;
		return layer->ops->read_run(layer, run, &iter);
	}
	if (iov_iter_zero(run->len, &iter) != run->len)
		return -EIO;
	return 0;
}

static const struct vd_walk_ops vd_rw_walk_ops = {
	.map	= vd_rw_map,
	.emit	= vd_rw_emit,
};

/* Describe the request's pages as one iov_iter (the loop.c way). */
static int vd_cmd_build_iter(struct vd_cmd *cmd, struct request *rq, gfp_t gfp)
{
	struct bio *bio = rq->bio;
	struct req_iterator rq_iter;
	struct bio_vec tmp, *bvec;
	unsigned int nr_bvec = 0;
	size_t offset;

	rq_for_each_bvec(tmp, rq, rq_iter)
		nr_bvec++;

	if (rq->bio != rq->biotail) {
		bvec = kmalloc_array(nr_bvec, sizeof(*bvec), gfp);
		if (!bvec)
			return -ENOMEM;
		cmd->bvec = bvec;
		/* bios may start mid-bvec after splits: rq_for_each_bvec knows */
		rq_for_each_bvec(tmp, rq, rq_iter) {
			*bvec = tmp;
			bvec++;
		}
		bvec = cmd->bvec;
		offset = 0;
	} else {
		offset = bio->bi_iter.bi_bvec_done;
		bvec = __bvec_iter_bvec(bio->bi_io_vec, bio->bi_iter);
	}
	iov_iter_bvec(&cmd->iter, cmd->write ? ITER_SOURCE : ITER_DEST, bvec,
		      nr_bvec, blk_rq_bytes(rq));
	cmd->iter.iov_offset = offset;
	return 0;
}

static int vd_cmd_flush(struct vd_cmd *cmd)
{
	struct vd_layer *top = vd_chain_top(cmd->chain);

	/* Only the top layer is ever written; the others need no flush. */
	return top->ops->flush(top);
}

static int vd_cmd_rw(struct vd_cmd *cmd, struct request *rq)
{
	u64 pos = (u64)blk_rq_pos(rq) << SECTOR_SHIFT;
	unsigned int levels = cmd->write ? 1 : cmd->chain->nr;
	int ret;

	ret = vd_cmd_build_iter(cmd, rq, GFP_NOIO);
	if (ret)
		return ret;
	ret = vd_walk(&vd_rw_walk_ops, cmd, levels, pos, blk_rq_bytes(rq));
	/*
	 * REQ_FUA: runs written in place carry IOCB_DSYNC; an allocation also
	 * changed metadata, which only a flush of the layer makes durable.
	 */
	if (!ret && cmd->fua && cmd->allocated)
		ret = vd_cmd_flush(cmd);
	return ret;
}

static int vd_cmd_discard(struct vd_cmd *cmd, struct request *rq,
			  enum vd_discard_mode mode)
{
	struct vd_layer *top = vd_chain_top(cmd->chain);

	if (!top->ops->discard)
		return -EOPNOTSUPP;
	return top->ops->discard(top, cmd->chain,
				 (u64)blk_rq_pos(rq) << SECTOR_SHIFT,
				 blk_rq_bytes(rq), mode);
}

/*
 * Per-attempt state; the walk (or the inline attempt) holds the first
 * reference.  The request holds the queue's usage counter, and the chain
 * is only replaced with the queue frozen: it cannot change under us.
 */
static void vd_cmd_init(struct vd_cmd *cmd, struct request *rq)
{
	struct vd_device *vd = rq->q->queuedata;

	cmd->chain = READ_ONCE(vd->chain);
	cmd->write = op_is_write(req_op(rq));
	cmd->fua = rq->cmd_flags & REQ_FUA;
	cmd->allocated = false;
	cmd->retry = false;
	cmd->error = 0;
	cmd->bvec = NULL;
	cmd->inline_used = false;
	atomic_set(&cmd->pending, 1);
}

static void vd_cmd_work(struct work_struct *work)
{
	struct vd_cmd *cmd = container_of(work, struct vd_cmd, work);
	struct request *rq = blk_mq_rq_from_pdu(cmd);
	struct vd_device *vd = rq->q->queuedata;
	enum req_op op = req_op(rq);
	unsigned int noio;
	int ret;

	/*
	 * While a commit or rebase runs, stay out of the window it works on;
	 * a flush has no range and never waits.
	 */
	vd_fence_enter(&vd->fence, &cmd->fence,
		       (u64)blk_rq_pos(rq) << SECTOR_SHIFT,
		       op == REQ_OP_FLUSH ? 0 : blk_rq_bytes(rq));
	vd_cmd_init(cmd, rq);

	if (cmd->write && !vd_chain_top(cmd->chain)->writable) {
		ret = -EROFS;
		goto out;
	}
	/* A format that found its metadata corrupt must not be written to. */
	if (cmd->write && READ_ONCE(vd_chain_top(cmd->chain)->broken)) {
		if (!get_disk_ro(vd->disk))
			set_disk_ro(vd->disk, true);
		ret = -EIO;
		goto out;
	}
	/*
	 * Allocations in here (copy-on-write buffers, table reads) must not
	 * recurse into writeback that may be waiting for this very request.
	 */
	noio = memalloc_noio_save();

	switch (op) {
	case REQ_OP_READ:
	case REQ_OP_WRITE:
		ret = vd_cmd_rw(cmd, rq);
		break;
	case REQ_OP_FLUSH:
		ret = vd_cmd_flush(cmd);
		break;
	case REQ_OP_DISCARD:
		ret = vd_cmd_discard(cmd, rq, VD_DISCARD_UNMAP);
		break;
	case REQ_OP_WRITE_ZEROES:
		ret = vd_cmd_discard(cmd, rq, rq->cmd_flags & REQ_NOUNMAP ?
				     VD_DISCARD_ZERO_NOUNMAP : VD_DISCARD_ZERO);
		break;
	default:
		ret = -EOPNOTSUPP;
		break;
	}
	memalloc_noio_restore(noio);
	if (ret && cmd->write && READ_ONCE(vd_chain_top(cmd->chain)->broken))
		set_disk_ro(vd->disk, true);
out:
	if (ret)
		vd_cmd_set_error(cmd, ret);
	vd_cmd_put(cmd);
}

/* --- the attempt in queue_rq() (see the top of the file) ---------------- */

struct vd_inline {
	struct vd_cmd *cmd;
	struct vd_run run;
	bool have_run;
};

static int vd_inline_map(void *ctx, unsigned int level, u64 pos, u64 len,
			 struct vd_ext *ext)
{
	struct vd_inline *in = ctx;
	struct vd_layer *layer = in->cmd->chain->layer[level];

	return layer->ops->map(layer, pos, len, VD_MAP_NOWAIT |
			       (in->cmd->write ? VD_MAP_WRITE : 0), ext);
}

/* One run of file data, or nothing: -EAGAIN sends the request to the worker. */
static int vd_inline_emit(void *ctx, const struct vd_run *run)
{
	struct vd_inline *in = ctx;

	if (in->have_run || run->kind != VD_EXT_DATA)
		return -EAGAIN;
	in->run = *run;
	in->have_run = true;
	return 0;
}

static const struct vd_walk_ops vd_inline_walk_ops = {
	.map	= vd_inline_map,
	.emit	= vd_inline_emit,
};

/*
 * Start @rq as one IOCB_NOWAIT direct I/O if it maps to a single run from
 * cached metadata.  True: submitted, its completion finishes the request
 * (or hands it to the worker).  False: nothing was started.
 */
static bool vd_cmd_try_inline(struct vd_cmd *cmd, struct request *rq)
{
	struct vd_device *vd = rq->q->queuedata;
	struct vd_inline in = { .cmd = cmd };
	enum req_op op = req_op(rq);
	struct vd_layer *layer;
	unsigned int noio;
	bool started = false;

	/*
	 * Outside submit_bio(), a plugged submitter (an aio batch, writeback)
	 * reaches us from the plug's flush, which must not see the file's
	 * requests join that same plug meanwhile: blk-mq's count of the plug
	 * would go stale and crash the next add.  Inside submit_bio() (which
	 * plugs, and flushes before it returns) the file's bios only queue on
	 * current->bio_list.  A job's fence is switched on only with the
	 * queue frozen.
	 */
	if ((current->plug && !current->bio_list) ||
	    (op != REQ_OP_READ && op != REQ_OP_WRITE) ||
	    (rq->cmd_flags & REQ_FUA) || READ_ONCE(vd->fence.active))
		return false;
	vd_cmd_init(cmd, rq);
	cmd->fence.on = false;
	layer = vd_chain_top(cmd->chain);
	if (cmd->write && (!layer->writable || READ_ONCE(layer->broken)))
		return false;

	noio = memalloc_noio_save();
	if (vd_cmd_build_iter(cmd, rq, GFP_NOWAIT) ||
	    vd_walk(&vd_inline_walk_ops, &in, cmd->write ? 1 : cmd->chain->nr,
		    (u64)blk_rq_pos(rq) << SECTOR_SHIFT, blk_rq_bytes(rq)) ||
	    !in.have_run)
		goto out;
	layer = cmd->chain->layer[in.run.level];
	if (in.run.file < layer->nr_files)
		started = vd_submit_run(cmd, layer, &in.run, 0, true);
out:
	memalloc_noio_restore(noio);
	if (!started) {
		kfree(cmd->bvec);
		cmd->bvec = NULL;
		return false;
	}
	vd_cmd_put(cmd);	/* the attempt's own reference */
	return true;
}

static blk_status_t vd_queue_rq(struct blk_mq_hw_ctx *hctx,
				const struct blk_mq_queue_data *bd)
{
	struct vd_cmd *cmd = blk_mq_rq_to_pdu(bd->rq);
	struct vd_device *vd = bd->rq->q->queuedata;

	blk_mq_start_request(bd->rq);
	if (vd_cmd_try_inline(cmd, bd->rq)) {
		this_cpu_inc(vd->io_stats->submitter);
	} else {
		this_cpu_inc(vd->io_stats->worker);
		queue_work(vd_io_wq, &cmd->work);
	}
	return BLK_STS_OK;
}

static int vd_init_request(struct blk_mq_tag_set *set, struct request *rq,
			   unsigned int hctx_idx, unsigned int numa_node)
{
	struct vd_cmd *cmd = blk_mq_rq_to_pdu(rq);

	INIT_WORK(&cmd->work, vd_cmd_work);
	return 0;
}

const struct blk_mq_ops vd_mq_ops = {
	.queue_rq	= vd_queue_rq,
	.complete	= vd_complete_rq,
	.init_request	= vd_init_request,
};

int vd_queue_init(void)
{
	vd_aio_cache = KMEM_CACHE(vd_aio, 0);
	if (!vd_aio_cache)
		return -ENOMEM;
	vd_aio_pool = mempool_create_slab_pool(VD_AIO_POOL_MIN, vd_aio_cache);
	if (!vd_aio_pool) {
		kmem_cache_destroy(vd_aio_cache);
		return -ENOMEM;
	}
	return 0;
}

void vd_queue_exit(void)
{
	mempool_destroy(vd_aio_pool);
	kmem_cache_destroy(vd_aio_cache);
}
