// SPDX-License-Identifier: GPL-2.0
/*
 * qcow2_alloc.c - refcounts and the cluster allocator of a writable qcow2
 * layer.
 *
 * The refcount table lives in memory (like L1); refcount blocks are read
 * and changed in slices through the device's metadata cache, marked dirty
 * and written back by a flush (qcow2_flush.c) before any L2 or L1 change
 * that depends on them.  Allocation is first fit from a hint, as QEMU does,
 * so clusters freed by discard or copy-on-write are reused and a rewritten
 * image does not grow.
 *
 * Nothing is freed at once: a cluster whose last reference goes away in
 * memory is queued in rw->frees and released (refcount decremented, hole
 * punched) only after the flush that wrote the L2/L1 change, so the
 * on-disk tables never point at a cluster that may already hold something
 * else, and a refcount on disk is never lower than the references to it.
 */
#include <linux/fs.h>
#include <linux/falloc.h>
#include <linux/slab.h>

#include "mcache.h"
#include "qcow2.h"

static u64 vd_qcow2_rb_entries(struct vd_qcow2_rw *rw)
{
	return 1ULL << rw->rb_bits;
}

/* Write the corrupt bit into the header (v3) and stop writing; once. */
void vd_qcow2_mark_corrupt(struct vd_layer *layer, const char *why)
{
	struct vd_qcow2 *q = layer->priv;
	u8 be[8];

	if (READ_ONCE(layer->broken))
		return;
	vd_layer_broken(layer, why);
	if (q->h.version < 3)
		return;
	vd_put_be64(be, q->h.incompatible_features | VD_QCOW2_INCOMPAT_CORRUPT);
	if (vd_file_write(layer->files[0], be, sizeof(be), 72) ||
	    vd_file_sync(layer->files[0]))
		pr_err("%s: could not set the corrupt bit in the header\n",
		       layer->path);
}

/*
 * Where the refcount of cluster @c is: the slice of its refcount block
 * and the index in that slice.  *@e is NULL when the cluster has no
 * refcount block (refcount 0).  Called with alloc_lock held.
 */
static int vd_qcow2_rc_slice(struct vd_layer *layer, u64 c,
			     struct vd_mentry **e, u64 *idx)
{
	struct vd_qcow2 *q = layer->priv;
	struct vd_qcow2_rw *rw = q->rw;
	u64 ri = c >> rw->rb_bits, entry, byte, slice_start;
	unsigned int slice_len = q->slice_bytes;
	struct vd_mentry *m;
	u64 rb;

	*e = NULL;
	if (ri >= rw->reftable_entries || !rw->reftable[ri])
		return 0;
	rb = rw->reftable[ri];
	entry = c & (vd_qcow2_rb_entries(rw) - 1);
	byte = (entry << q->h.refcount_order) >> 3;
	slice_start = round_down(byte, slice_len);
	m = vd_mcache_get(q->cache, &rw->rb_owner, layer->files[0],
			  rb + slice_start, slice_len);
	if (IS_ERR(m)) {
		if (PTR_ERR(m) == -ENODATA)
			return vd_qcow2_corrupt(layer, "refcount block past the end of the file",
						-EIO);
		return PTR_ERR(m);
	}
	*e = m;
	*idx = entry - ((slice_start * 8) >> q->h.refcount_order);
	return 0;
}

static int vd_qcow2_get_refcount(struct vd_layer *layer, u64 c, u64 *rc)
{
	struct vd_qcow2 *q = layer->priv;
	struct vd_mentry *e;
	u64 idx;
	int ret;

	ret = vd_qcow2_rc_slice(layer, c, &e, &idx);
	if (ret)
		return ret;
	*rc = e ? vd_qcow2_refcount_get(e->data, q->h.refcount_order, idx) : 0;
	if (e)
		vd_mcache_put(q->cache, e);
	return 0;
}

static int vd_qcow2_set_refcount(struct vd_layer *layer, u64 c, u64 rc);

/*
 * Before the allocator hands out file bytes [@start, @end): wait if a
 * writer is zeroing them ahead (qcow2_write.c), so that its zeros never
 * land on what the new owner writes.  Called with alloc_lock held.
 */
static void vd_qcow2_zero_wait(struct vd_qcow2_rw *rw, u64 start, u64 end)
{
	lockdep_assert_held(&rw->alloc_lock);
	/* Acquire pairs with the release that ends the zeroing. */
	if (!smp_load_acquire(&rw->zero_busy) ||
	    end <= rw->zero_start || start >= rw->zero_end)
		return;
	/* Acquire pairs with the release that ends the zeroing. */
	wait_event(rw->zero_wq, !smp_load_acquire(&rw->zero_busy));
}

/*
 * Give refcount block @ri a cluster, at the end of the file.  Its content
 * (zeros) is on disk before the table points at it; its own refcount is
 * then set like any other, which may create one more block.
 */
static int vd_qcow2_new_refblock(struct vd_layer *layer, u64 ri)
{
	struct vd_qcow2 *q = layer->priv;
	struct vd_qcow2_rw *rw = q->rw;
	u64 b = rw->file_end;
	int ret;

	vd_qcow2_zero_wait(rw, b, b + q->h.cluster_size);
	ret = vd_file_write_zeroes(layer->files[0], b, q->h.cluster_size);
	if (!ret)
		ret = vd_qcow2_meta_add(q, b);
	if (ret)
		return ret;
	WRITE_ONCE(rw->file_end, rw->file_end + q->h.cluster_size);
	vd_mcache_drop(q->cache, &rw->rb_owner, b, q->h.cluster_size);
	rw->reftable[ri] = b;
	__set_bit(ri * 8 / 512, rw->reftable_dirty);
	return vd_qcow2_set_refcount(layer, b >> q->h.cluster_bits, 1);
}

/*
 * Make the refcount table cover refcount block @need: a larger table at
 * the end of the file, counted in the refcounts it describes.  The header
 * moves to it in the next flush, after the table is on disk; the old one
 * is freed after that.
 */
static int vd_qcow2_grow_reftable(struct vd_layer *layer, u64 need)
{
	struct vd_qcow2 *q = layer->priv;
	struct vd_qcow2_rw *rw = q->rw;
	unsigned int cb = q->h.cluster_bits;
	u64 end_ri = ((rw->file_end >> cb) + 1024) >> rw->rb_bits;
	u64 entries = max3((u64)rw->reftable_entries * 2, need + 1, end_ri + 2);
	u64 clusters = DIV_ROUND_UP(entries * 8, q->h.cluster_size);
	u64 old_off = rw->reftable_off, old_len;
	unsigned long *dirty;
	u64 *table, t_off, i;
	int ret;

	if (clusters * q->h.cluster_size > SZ_8M)
		return -ENOSPC;
	entries = clusters * q->h.cluster_size / 8;
	ret = vd_budget_charge(q->mem, entries * 8);
	if (ret) {
		pr_warn_ratelimited("%s: refcount table of %llu KiB over the memory budget (module parameters layer_mem_mib, total_mem_mib)\n",
				    layer->path, entries * 8 >> 10);
		return -ENOMEM;
	}
	table = kvcalloc(entries, sizeof(u64), GFP_KERNEL);
	dirty = bitmap_zalloc(DIV_ROUND_UP(entries * 8, 512), GFP_KERNEL);
	if (!table || !dirty) {
		kvfree(table);
		bitmap_free(dirty);
		vd_budget_uncharge(q->mem, entries * 8);
		return -ENOMEM;
	}
	memcpy(table, rw->reftable, (size_t)rw->reftable_entries * 8);
	old_len = (u64)rw->reftable_clusters << cb;
	t_off = rw->file_end;
	vd_qcow2_zero_wait(rw, t_off, t_off + (clusters << cb));
	WRITE_ONCE(rw->file_end, rw->file_end + (clusters << cb));

	kvfree(rw->reftable);
	vd_budget_uncharge(q->mem, (u64)rw->reftable_entries * 8);
	bitmap_free(rw->reftable_dirty);
	rw->reftable = table;
	rw->reftable_dirty = dirty;
	rw->reftable_entries = entries;
	rw->reftable_off = t_off;
	rw->reftable_clusters = clusters;
	rw->reftable_moved = true;

	for (i = 0; i < clusters; i++) {
		ret = vd_qcow2_set_refcount(layer, (t_off >> cb) + i, 1);
		if (ret)
			return ret;
	}
	return vd_qcow2_free_later(layer, old_off, old_len);
}

static int vd_qcow2_set_refcount(struct vd_layer *layer, u64 c, u64 rc)
{
	struct vd_qcow2 *q = layer->priv;
	struct vd_qcow2_rw *rw = q->rw;
	u64 ri = c >> rw->rb_bits, idx;
	struct vd_mentry *e;
	int ret;

	if (rc > vd_qcow2_refcount_max(q->h.refcount_order))
		return -EOVERFLOW;
	if (ri >= rw->reftable_entries) {
		ret = vd_qcow2_grow_reftable(layer, ri);
		if (ret)
			return ret;
	}
	if (!rw->reftable[ri]) {
		ret = vd_qcow2_new_refblock(layer, ri);
		if (ret)
			return ret;
	}
	ret = vd_qcow2_rc_slice(layer, c, &e, &idx);
	if (ret)
		return ret;
	if (WARN_ON_ONCE(!e))
		return -EIO;
	vd_qcow2_refcount_set(e->data, q->h.refcount_order, idx, rc);
	if (vd_mcache_set_dirty(q->cache, e))
		atomic_inc(&rw->dirty_slices);
	vd_mcache_put(q->cache, e);
	return 0;
}

/**
 * vd_qcow2_alloc() - allocate up to @want contiguous clusters
 * @layer: a writable qcow2 layer
 * @want:  clusters wanted, at least 1
 * @off:   file offset of the first one
 * @got:   clusters allocated, 1..@want
 * @fresh: if not NULL, set when the clusters start at or past @file_end:
 *         past the end of the file when the layer was opened and never
 *         allocated since, so nothing has written them and they read as
 *         zeros (past the end of the file, a hole, or zeroed ahead)
 *
 * Refcounts are set to 1 in memory.  Called with rw->meta_rwsem held
 * shared and rw->alloc_lock held.  Return: 0 or -errno.
 */
int vd_qcow2_alloc(struct vd_layer *layer, u64 want, u64 *off, u64 *got,
		   bool *fresh)
{
	struct vd_qcow2 *q = layer->priv;
	struct vd_qcow2_rw *rw = q->rw;
	unsigned int cb = q->h.cluster_bits;
	u64 end = rw->file_end >> cb, c = rw->hint, stop, n, rc, i;
	u32 scanned = 0;
	bool cut = false;
	int ret;

	lockdep_assert_held(&rw->alloc_lock);
	/*
	 * At or past the end of the file every cluster is free, whatever a
	 * refcount block claims: nothing can be stored there.
	 */
	while (c < end) {
		if (scanned == VD_QCOW2_ALLOC_SCAN) {
			cut = true;
			break;
		}
		ret = vd_qcow2_get_refcount(layer, c, &rc);
		if (ret)
			return ret;
		if (!rc)
			break;
		c++;
		if (!(++scanned % 1024))
			cond_resched();
	}
	/* A scan cut short appends; the next allocation goes on from @stop. */
	stop = c;
	if (cut)
		c = end;
	for (n = 1; n < want && c + n < end; n++) {
		ret = vd_qcow2_get_refcount(layer, c + n, &rc);
		if (ret)
			return ret;
		if (rc)
			break;
	}
	if (c + n >= end)
		n = want;
	if (vd_qcow2_is_metadata(q, c << cb, n << cb)) {
		char why[96];

		snprintf(why, sizeof(why),
			 "cluster at 0x%llx has refcount 0 but is metadata", c << cb);
		vd_qcow2_mark_corrupt(layer, why);
		return -EIO;
	}
	vd_qcow2_zero_wait(rw, c << cb, (c + n) << cb);
	if (fresh)
		*fresh = (c << cb) >= rw->file_end;
	/* New refcount blocks go to the end: past these clusters. */
	WRITE_ONCE(rw->file_end, max(rw->file_end, (c + n) << cb));
	for (i = 0; i < n; i++) {
		ret = vd_qcow2_set_refcount(layer, c + i, 1);
		if (ret)
			return ret;
	}
	rw->hint = cut ? stop : c + n;
	*off = c << cb;
	*got = n;
	return 0;
}

/**
 * vd_qcow2_free_later() - drop a reference to clusters after the next flush
 * @layer: a writable qcow2 layer
 * @off:   first byte of the range (a compressed cluster's byte offset)
 * @len:   bytes; every cluster the range touches loses one reference
 *
 * Called with rw->alloc_lock held.  If the queue is full the clusters leak
 * (qemu-img check -r leaks reclaims them); the writers flush well before.
 */
int vd_qcow2_free_later(struct vd_layer *layer, u64 off, u64 len)
{
	struct vd_qcow2 *q = layer->priv;
	struct vd_qcow2_rw *rw = q->rw;
	u64 cs = q->h.cluster_size;
	u64 start = round_down(off, cs), end = round_up(off + len, cs);
	struct vd_qcow2_free *last;

	lockdep_assert_held(&rw->alloc_lock);
	if (!len)
		return 0;
	/*
	 * An entry read from the image named these clusters: never let it
	 * free (and punch) the header or a table.  Tables vdisk itself moves
	 * (an old refcount table, a copied L2) are no longer metadata here.
	 */
	if (vd_qcow2_is_metadata(q, start, end - start)) {
		char why[96];

		snprintf(why, sizeof(why), "freeing metadata at 0x%llx", start);
		vd_qcow2_mark_corrupt(layer, why);
		return -EIO;
	}
	last = rw->nr_frees ? &rw->frees[rw->nr_frees - 1] : NULL;
	if (last && last->off + last->len == start) {
		last->len += end - start;
		return 0;
	}
	if (rw->nr_frees == VD_QCOW2_MAX_FREES) {
		pr_warn_ratelimited("%s: free queue full, clusters at 0x%llx leak\n",
				    layer->path, start);
		return 0;
	}
	rw->frees[rw->nr_frees++] = (struct vd_qcow2_free){ start, end - start };
	return 0;
}

/*
 * Release freed clusters whose last reference is gone from the disk's
 * tables: decrement, and punch the ones that reach 0 out of the file.
 */
int vd_qcow2_release_frees(struct vd_layer *layer,
			   const struct vd_qcow2_free *frees, unsigned int nr)
{
	struct vd_qcow2 *q = layer->priv;
	struct vd_qcow2_rw *rw = q->rw;
	unsigned int cb = q->h.cluster_bits, i;
	int ret = 0;

	down_read(&rw->meta_rwsem);
	mutex_lock(&rw->alloc_lock);
	for (i = 0; i < nr && !ret; i++) {
		u64 c = frees[i].off >> cb, end = (frees[i].off + frees[i].len) >> cb;
		u64 hole = 0, holes = 0, rc;

		for (; c < end; c++) {
			ret = vd_qcow2_get_refcount(layer, c, &rc);
			if (ret)
				break;
			if (!rc) {
				char why[96];

				snprintf(why, sizeof(why),
					 "cluster at 0x%llx freed with refcount 0", c << cb);
				vd_qcow2_mark_corrupt(layer, why);
				ret = -EIO;
				break;
			}
			ret = vd_qcow2_set_refcount(layer, c, rc - 1);
			if (ret)
				break;
			if (rc > 1)
				continue;
			rw->hint = min(rw->hint, c);
			/* Stale slices of a freed L2 table must not be found. */
			vd_mcache_drop(q->cache, layer, c << cb, 1ULL << cb);
			if (holes && hole + holes == c) {
				holes++;
				continue;
			}
			if (holes)
				vfs_fallocate(layer->files[0],
					      FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					      hole << cb, holes << cb);
			hole = c;
			holes = 1;
		}
		/* Best effort: a hole not punched is space, not correctness. */
		if (holes)
			vfs_fallocate(layer->files[0],
				      FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				      hole << cb, holes << cb);
	}
	mutex_unlock(&rw->alloc_lock);
	up_read(&rw->meta_rwsem);
	return ret;
}

static int vd_qcow2_load_reftable(struct vd_layer *layer, struct vd_qcow2 *q,
				  const struct vd_open_args *args)
{
	struct vd_qcow2_rw *rw = q->rw;
	u64 bytes = (u64)q->h.refcount_table_clusters << q->h.cluster_bits;
	u32 i;
	int ret;

	rw->reftable_off = q->h.refcount_table_offset;
	rw->reftable_clusters = q->h.refcount_table_clusters;
	ret = vd_layer_charge(layer, args, bytes, "refcount table of %u clusters",
			      rw->reftable_clusters);
	if (ret)
		return ret;
	/* Charged for good: the layer goes when this fails (vd_budget_release()). */
	rw->reftable_entries = bytes / 8;
	rw->reftable = kvmalloc(bytes, GFP_KERNEL);
	rw->reftable_dirty = bitmap_zalloc(DIV_ROUND_UP(bytes, 512), GFP_KERNEL);
	if (!rw->reftable || !rw->reftable_dirty)
		return -ENOMEM;
	ret = vd_file_read(layer->files[0], rw->reftable, bytes, rw->reftable_off);
	if (ret) {
		vd_msg_set(args->msg, "layer %u (%s): refcount table unreadable: error %d",
			   args->index, layer->path, ret);
		return ret == -ENODATA ? -EINVAL : ret;
	}
	for (i = 0; i < rw->reftable_entries; i++) {
		u64 rb;

		ret = vd_qcow2_reftable_entry(&q->h, vd_be64(&rw->reftable[i]), &rb,
					      q->file_size, args->msg);
		if (ret)
			return -EINVAL;
		rw->reftable[i] = rb;
	}
	return 0;
}

/**
 * vd_qcow2_rw_open() - set up what writing a qcow2 layer needs
 * @layer: the layer, with layer->priv already set
 * @args:  open arguments (messages)
 *
 * Return: 0 or -errno with a message.
 */
int vd_qcow2_rw_open(struct vd_layer *layer, const struct vd_open_args *args)
{
	struct vd_qcow2 *q = layer->priv;
	struct vd_mcache_stats st;
	struct vd_qcow2_rw *rw;
	unsigned int i;
	int ret;

	rw = kvzalloc(sizeof(*rw), GFP_KERNEL);
	if (!rw)
		return -ENOMEM;
	q->rw = rw;
	mutex_init(&rw->flush_lock);
	init_rwsem(&rw->meta_rwsem);
	mutex_init(&rw->alloc_lock);
	mutex_init(&rw->bounce_lock);
	spin_lock_init(&rw->spare_lock);
	for (i = 0; i < VD_QCOW2_SLICE_LOCKS; i++)
		spin_lock_init(&rw->slice_lock[i]);
	xa_init(&rw->inflight);
	init_waitqueue_head(&rw->inflight_wq);
	rw->rb_bits = q->h.cluster_bits + 3 - q->h.refcount_order;
	rw->file_end = round_up(q->file_size, q->h.cluster_size);
	rw->zeroed_end = rw->file_end;
	rw->zero_ok = layer->dio_align != 0;
	init_waitqueue_head(&rw->zero_wq);
	vd_mcache_get_stats(q->cache, &st);
	rw->dirty_limit = max_t(u64, st.capacity / 4, 16);

	ret = vd_layer_charge(layer, args, q->h.cluster_size, "copy-on-write buffer");
	if (ret)
		return ret;
	rw->l1_dirty = bitmap_zalloc(DIV_ROUND_UP((u64)q->l1_entries * 8, 512) + 1,
				     GFP_KERNEL);
	rw->bounce = kvmalloc(q->h.cluster_size, GFP_KERNEL);
	if (!rw->l1_dirty || !rw->bounce)
		return -ENOMEM;
	ret = vd_qcow2_load_reftable(layer, q, args);
	if (!ret)
		ret = vd_qcow2_meta_init(layer, args);
	if (ret)
		return ret;

	/*
	 * Autoclear bits name extensions (bitmaps) whose data a writer that
	 * does not maintain them must invalidate, by clearing the bits.
	 */
	if (q->h.version >= 3 && q->h.autoclear_features) {
		u8 zero[8] = { 0 };

		ret = vd_file_write(layer->files[0], zero, sizeof(zero), 88);
		if (!ret)
			ret = vd_file_sync(layer->files[0]);
		if (ret) {
			vd_msg_set(args->msg,
				   "layer %u (%s): cannot clear autoclear features: error %d",
				   args->index, layer->path, ret);
			return ret;
		}
		q->h.autoclear_features = 0;
	}
	layer->discard_granularity = q->h.cluster_size;
	return 0;
}

void vd_qcow2_rw_free(struct vd_qcow2 *q)
{
	struct vd_qcow2_rw *rw = q->rw;

	if (!rw)
		return;
	xa_destroy(&rw->inflight);
	vd_qcow2_meta_free(rw);
	while (rw->nr_spare)
		kvfree(rw->spare[--rw->nr_spare]);
	kvfree(rw->bounce);
	bitmap_free(rw->l1_dirty);
	bitmap_free(rw->reftable_dirty);
	kvfree(rw->reftable);
	kvfree(rw);
	q->rw = NULL;
}
