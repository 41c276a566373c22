// SPDX-License-Identifier: GPL-2.0
/*
 * qcow2_write.c - writes to a qcow2 layer.
 *
 * A write to a cluster the layer owns alone (COPIED) goes straight to its
 * host offset: map() answers VD_EXT_DATA and the core submits async I/O.
 * Everything else comes here as a VD_EXT_FORMAT run:
 *   - unallocated, zero or compressed clusters, and clusters shared with
 *     an internal snapshot (no COPIED bit), get a new cluster; the bytes
 *     of it the write does not cover are copied from what the disk shows
 *     there now (vd_chain_read() from the top: this layer's old cluster,
 *     zeros, or the backing chain);
 *   - with extended L2 entries only the subclusters the write touches are
 *     allocated and filled, the others keep falling through.
 *
 * Ordering (Documentation/vdisk.rst, "qcow2 write ordering"): the data is
 * written first, synchronously; only then is the L2 entry changed, in the
 * cached slice, marked dirty.  The refcount of the new cluster was set
 * (dirty) before that.  A flush writes refcounts, syncs, writes L2, syncs,
 * writes L1, syncs - so no table on disk points at data or at a table that
 * is not there yet, and a refcount on disk never lags a reference.
 *
 * Concurrency: a guest cluster being changed is marked in rw->inflight
 * (qcow2.h) so that two requests never allocate it twice; requests to
 * different clusters share only short in-memory sections.
 */
#include <linux/bvec.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <linux/vmalloc.h>

#include "mcache.h"
#include "qcow2.h"

#define VD_QCOW2_MAX_GROUP	256	/* clusters one allocation covers */

/* --- the in-flight markers ------------------------------------------- */

static void vd_qcow2_unmark(struct vd_qcow2_rw *rw, u64 first, u64 n)
{
	u64 i;

	for (i = 0; i < n; i++)
		xa_erase(&rw->inflight, first + i);
	wake_up_all(&rw->inflight_wq);
}

/* Mark guest clusters [@first, @first + @n), in ascending order. */
static int vd_qcow2_mark(struct vd_qcow2_rw *rw, u64 first, u64 n)
{
	u64 i;

	for (i = 0; i < n; i++) {
		int ret;

		for (;;) {
			ret = xa_insert(&rw->inflight, first + i, xa_mk_value(1),
					GFP_NOIO);
			if (ret != -EBUSY)
				break;
			wait_event(rw->inflight_wq,
				   !xa_load(&rw->inflight, first + i));
		}
		if (ret) {
			vd_qcow2_unmark(rw, first, i);
			return ret;
		}
	}
	return 0;
}

/* --- L2 entries -------------------------------------------------------- */

struct vd_qcow2_l2e {
	u64 raw;	/* the 64-bit entry */
	u64 bitmap;	/* extended L2: allocated (low 32) and zero (high 32) */
};

static void vd_qcow2_l2e_load(struct vd_qcow2 *q, const u8 *slice,
			      unsigned int i, struct vd_qcow2_l2e *l2e)
{
	const u8 *p = slice + (size_t)i * q->h.l2_entry_size;

	l2e->raw = vd_be64(p);
	l2e->bitmap = q->h.extended_l2 ? vd_be64(p + 8) : 0;
}

/*
 * An entry read from disk is decoded (and so checked) before any use.
 * Under VD_MAP_NOWAIT a bad one is -EAGAIN: the blocking retry reports it.
 */
static int vd_qcow2_l2e_check(struct vd_layer *layer, unsigned int flags,
			      const struct vd_qcow2_l2e *l2e)
{
	struct vd_qcow2 *q = layer->priv;
	char text[160];
	struct vd_msg msg = { .buf = text, .len = sizeof(text) };
	struct vd_qcow2_cluster c;

	text[0] = '\0';
	if (vd_qcow2_l2_entry(&q->h, l2e->raw, l2e->bitmap, &c, &msg))
		return flags & VD_MAP_NOWAIT ? -EAGAIN :
		       vd_qcow2_corrupt(layer, text, -EIO);
	return 0;
}

static void vd_qcow2_l2e_store(struct vd_qcow2 *q, u8 *slice, unsigned int i,
			       const struct vd_qcow2_l2e *l2e)
{
	u8 *p = slice + (size_t)i * q->h.l2_entry_size;

	vd_put_be64(p, l2e->raw);
	if (q->h.extended_l2)
		vd_put_be64(p + 8, l2e->bitmap);
}

static u64 vd_qcow2_l2e_host(const struct vd_qcow2_l2e *l2e)
{
	return l2e->raw & VD_QCOW2_L2E_OFFSET_MASK;
}

static bool vd_qcow2_l2e_compressed(const struct vd_qcow2_l2e *l2e)
{
	return l2e->raw & VD_QCOW2_OFLAG_COMPRESSED;
}

/* A normal cluster this layer owns alone: may be written in place. */
static bool vd_qcow2_l2e_owned(struct vd_qcow2 *q, const struct vd_qcow2_l2e *l2e)
{
	if (vd_qcow2_l2e_compressed(l2e) || !(l2e->raw & VD_QCOW2_OFLAG_COPIED) ||
	    !vd_qcow2_l2e_host(l2e))
		return false;
	return q->h.extended_l2 || !(l2e->raw & VD_QCOW2_OFLAG_ZERO);
}

/* Extended L2: subclusters of the cluster that [@pos, @pos + @len) touches. */
static u32 vd_qcow2_sub_mask(struct vd_qcow2 *q, u64 pos, u64 len)
{
	unsigned int sc_bits = q->h.cluster_bits - 5;
	u64 in = pos & (q->h.cluster_size - 1);
	unsigned int first = in >> sc_bits, last = (in + len - 1) >> sc_bits;

	return (u32)(GENMASK_ULL(last, first));
}

/* The host range an old entry owns, to free once it is unlinked. */
static void vd_qcow2_l2e_owned_range(struct vd_qcow2 *q,
				     const struct vd_qcow2_l2e *l2e,
				     u64 *off, u64 *len)
{
	struct vd_qcow2_cluster c;
	struct vd_msg msg = { 0 };

	*off = 0;
	*len = 0;
	if (vd_qcow2_l2_entry(&q->h, l2e->raw, l2e->bitmap, &c, &msg))
		return;
	if (c.kind == VD_QCOW2_COMPRESSED) {
		*off = round_down(c.host_off, SECTOR_SIZE);
		*len = c.host_off + c.comp_len - *off;
	} else if (c.host_off &&
		   (c.kind == VD_QCOW2_NORMAL || c.kind == VD_QCOW2_ZERO)) {
		*off = c.host_off;
		*len = q->h.cluster_size;
	}
}

/*
 * Does the disk show zeros where @l2e maps, known without reading: a zero
 * cluster, or an unallocated one with no layer below.
 */
static bool vd_qcow2_l2e_zero(struct vd_qcow2 *q, const struct vd_chain *chain,
			      const struct vd_qcow2_l2e *l2e)
{
	if (q->h.extended_l2 || vd_qcow2_l2e_compressed(l2e))
		return false;
	if (l2e->raw & VD_QCOW2_OFLAG_ZERO)
		return true;
	return !l2e->raw && chain->nr == 1;
}

/*
 * Check an entry about to be written through: never onto metadata.  A bad
 * one marks the image corrupt (a header write), so under VD_MAP_NOWAIT it
 * is -EAGAIN and the blocking retry does that.
 */
static int vd_qcow2_check_target(struct vd_layer *layer, unsigned int flags,
				 u64 host, u64 len)
{
	struct vd_qcow2 *q = layer->priv;
	char why[96];

	if (vd_qcow2_is_metadata(q, host, len)) {
		snprintf(why, sizeof(why), "L2 entry points at metadata (0x%llx)", host);
	} else if (host + len > READ_ONCE(q->rw->file_end)) {
		/*
		 * Past the end of the file at open and not allocated since: no
		 * refcount covers it, and zeroing ahead and the trim at close
		 * (vd_qcow2_zero_ahead(), vd_qcow2_trim()) own that space.
		 */
		snprintf(why, sizeof(why), "L2 entry points past the end of the file (0x%llx)",
			 host);
	} else {
		return 0;
	}
	if (flags & VD_MAP_NOWAIT)
		return -EAGAIN;
	vd_qcow2_mark_corrupt(layer, why);
	return -EIO;
}

/* --- map for writes ---------------------------------------------------- */

/**
 * vd_qcow2_map_write() - where a write to [@pos, @pos + @len) may go
 * @layer: a writable qcow2 layer
 * @pos:   virtual offset
 * @len:   bytes
 * @flags: VD_MAP_* (VD_MAP_NOWAIT: -EAGAIN if the L2 slice is not cached)
 * @ext:   DATA for bytes writable in place, FORMAT for bytes that need
 *         vd_qcow2_write_run()
 *
 * Return: 0 or -errno.
 */
int vd_qcow2_map_write(struct vd_layer *layer, u64 pos, u64 len,
		       unsigned int flags, struct vd_ext *ext)
{
	struct vd_qcow2 *q = layer->priv;
	unsigned int cb = q->h.cluster_bits, span_bits = cb + q->h.l2_bits;
	unsigned int nr = 1U << q->slice_entries_bits, i;
	u64 cs = q->h.cluster_size, l1_idx, l2_idx, slice_off, l1e, slice_end;
	struct vd_qcow2_l2e l2e;
	struct vd_mentry *e;
	spinlock_t *lock;	/* the slice's, see qcow2.h */
	int ret;

	if (!q->rw || pos >= q->size)
		return -EIO;
	len = min(len, q->size - pos);
	l1_idx = pos >> span_bits;
	l2_idx = (pos >> cb) & ((1ULL << q->h.l2_bits) - 1);
	i = l2_idx & (nr - 1);
	slice_end = ((pos >> cb) - i + nr) << cb;
	len = min(len, slice_end - pos);
	l1e = l1_idx < q->l1_entries ? READ_ONCE(q->l1[l1_idx]) : 0;
	if (!(l1e & VD_QCOW2_L1_COPIED)) {
		ext->kind = VD_EXT_FORMAT;
		ext->len = len;
		return 0;
	}
	slice_off = VD_QCOW2_L1_OFF(l1e) + (l2_idx >> q->slice_entries_bits) *
					   q->slice_bytes;
	ret = vd_qcow2_slice_lookup(layer, slice_off, flags, &e);
	if (ret)
		return ret;
	lock = vd_qcow2_slice_lock(q, slice_off);
	spin_lock(lock);
	vd_qcow2_l2e_load(q, e->data, i, &l2e);
	ext->len = min(len, cs - (pos & (cs - 1)));
	if (vd_qcow2_l2e_owned(q, &l2e) &&
	    (!q->h.extended_l2 ||
	     (~(u32)l2e.bitmap & vd_qcow2_sub_mask(q, pos, ext->len)) == 0)) {
		ext->kind = VD_EXT_DATA;
		ext->host_off = vd_qcow2_l2e_host(&l2e) + (pos & (cs - 1));
	} else {
		ext->kind = VD_EXT_FORMAT;
		/* Group clusters that all need allocation: one write for them. */
		while (!q->h.extended_l2 && ext->len < len && ++i < nr) {
			vd_qcow2_l2e_load(q, e->data, i, &l2e);
			if (vd_qcow2_l2e_owned(q, &l2e))
				break;
			ext->len += min(cs, len - ext->len);
		}
	}
	spin_unlock(lock);
	vd_mcache_put(q->cache, e);
	ret = vd_qcow2_l2e_check(layer, flags, &l2e);
	if (!ret && ext->kind == VD_EXT_DATA)
		ret = vd_qcow2_check_target(layer, flags, ext->host_off, ext->len);
	return ret;
}

/* --- L2 tables ------------------------------------------------------- */

/*
 * Make L1 entry @l1_idx point at a table this layer owns: a new zeroed one,
 * or a copy of one shared with a snapshot.  The table is on disk (not yet
 * synced) before L1 in memory points at it; the flush orders the rest.
 * Called with meta_rwsem shared.
 */
static int vd_qcow2_own_l2(struct vd_layer *layer, u64 l1_idx, u64 *l2_off)
{
	struct vd_qcow2 *q = layer->priv;
	struct vd_qcow2_rw *rw = q->rw;
	u64 cs = q->h.cluster_size, l1e, old, new, got;
	int ret;

	if (l1_idx >= q->l1_entries)
		return -EIO;
	l1e = READ_ONCE(q->l1[l1_idx]);
	if (l1e & VD_QCOW2_L1_COPIED) {
		*l2_off = VD_QCOW2_L1_OFF(l1e);
		return 0;
	}
	mutex_lock(&rw->alloc_lock);
	l1e = q->l1[l1_idx];
	old = VD_QCOW2_L1_OFF(l1e);
	if (l1e & VD_QCOW2_L1_COPIED) {
		new = old;
		goto out;
	}
	ret = vd_qcow2_alloc(layer, 1, &new, &got, NULL);
	if (ret)
		goto err;
	if (old) {
		mutex_lock(&rw->bounce_lock);
		ret = vd_file_read(layer->files[0], rw->bounce, cs, old);
		if (!ret)
			ret = vd_file_write(layer->files[0], rw->bounce, cs, new);
		mutex_unlock(&rw->bounce_lock);
	} else {
		ret = vd_file_write_zeroes(layer->files[0], new, cs);
	}
	if (!ret)
		ret = vd_qcow2_meta_add(q, new);
	if (ret)
		goto err;	/* the new cluster leaks: harmless */
	vd_mcache_drop(q->cache, layer, new, cs);
	WRITE_ONCE(q->l1[l1_idx], new | VD_QCOW2_L1_COPIED);
	__set_bit(l1_idx * 8 / 512, rw->l1_dirty);
	if (old) {
		/* A snapshot's now: not among the active tables. */
		vd_qcow2_meta_del(q, old);
		vd_qcow2_free_later(layer, old, cs);
	}
out:
	mutex_unlock(&rw->alloc_lock);
	*l2_off = new;
	return 0;
err:
	mutex_unlock(&rw->alloc_lock);
	return ret == -ENODATA ? -EIO : ret;
}

/* --- writing the data --------------------------------------------------- */

/* Write @len bytes of @iter at @host of the layer's file. */
static int vd_qcow2_put_iter(struct vd_layer *layer, struct iov_iter *iter,
			     u64 len, u64 host)
{
	return vd_layer_write_iter(layer, layer->files[0], iter, len, host);
}

static unsigned int vd_qcow2_max_spares(struct vd_qcow2 *q)
{
	return clamp_t(u64, SZ_4M >> q->h.cluster_bits, 1, VD_QCOW2_SPARES);
}

/* A cluster-sized buffer: a spare, a new one, or the layer's last resort. */
static void *vd_qcow2_buf_get(struct vd_qcow2 *q)
{
	struct vd_qcow2_rw *rw = q->rw;
	void *buf = NULL;

	spin_lock(&rw->spare_lock);
	if (rw->nr_spare)
		buf = rw->spare[--rw->nr_spare];
	spin_unlock(&rw->spare_lock);
	if (buf)
		return buf;
	buf = kvmalloc(q->h.cluster_size, GFP_KERNEL | __GFP_NOWARN);
	if (buf)
		return buf;
	mutex_lock(&rw->bounce_lock);
	return rw->bounce;
}

static void vd_qcow2_buf_put(struct vd_qcow2 *q, void *buf)
{
	struct vd_qcow2_rw *rw = q->rw;

	if (buf == rw->bounce) {
		mutex_unlock(&rw->bounce_lock);
		return;
	}
	spin_lock(&rw->spare_lock);
	if (rw->nr_spare < vd_qcow2_max_spares(q)) {
		rw->spare[rw->nr_spare++] = buf;
		buf = NULL;
	}
	spin_unlock(&rw->spare_lock);
	kvfree(buf);
}

/* Write @len bytes of a buffer from vd_qcow2_buf_get() at @host. */
static int vd_qcow2_put_buf(struct vd_layer *layer, void *buf, size_t len,
			    u64 host)
{
	return vd_layer_write_buf(layer, layer->files[0], buf, len, host);
}

/*
 * Write virtual [@from, @to) of a cluster to @host + offset: the guest's
 * bytes [@pos, @pos + @len) from @iter, the rest as the disk shows it now.
 * @fresh: the host range was never written and reads as zeros already
 * (vd_qcow2_alloc()): copy-on-write bytes that are zeros need not be
 * written.  @zeros: the disk is known to show zeros in [@from, @to) (see
 * vd_qcow2_l2e_zero()), so there is nothing to read.
 */
static int vd_qcow2_fill(struct vd_layer *layer, const struct vd_chain *chain,
			 u64 from, u64 to, u64 pos, u64 len,
			 struct iov_iter *iter, u64 host, bool fresh, bool zeros)
{
	struct vd_qcow2 *q = layer->priv;
	u8 *buf;
	int ret;

	if (from == pos && to == pos + len)
		return vd_qcow2_put_iter(layer, iter, len, host);
	if (fresh && zeros)
		return vd_qcow2_put_iter(layer, iter, len, host + (pos - from));
	buf = vd_qcow2_buf_get(q);
	if (zeros) {
		memset(buf, 0, to - from);
		ret = 0;
	} else {
		ret = vd_chain_read(chain, 0, from, buf, to - from);
	}
	if (!ret && fresh && !memchr_inv(buf, 0, pos - from) &&
	    !memchr_inv(buf + (pos - from) + len, 0, to - pos - len)) {
		vd_qcow2_buf_put(q, buf);
		return vd_qcow2_put_iter(layer, iter, len, host + (pos - from));
	}
	if (!ret && copy_from_iter(buf + (pos - from), len, iter) != len)
		ret = -EFAULT;
	if (!ret)
		ret = vd_qcow2_put_buf(layer, buf, to - from, host);
	vd_qcow2_buf_put(q, buf);
	return ret;
}

/* --- one group of clusters ------------------------------------------- */

/**
 * struct vd_qcow2_wctx - one step of an allocating write
 * @pos:      virtual start of the bytes written in this step
 * @len:      bytes of it
 * @first:    first guest cluster
 * @n:        guest clusters marked in flight
 * @l1_idx:   L1 entry of their table
 * @slice_off: file offset of their L2 slice
 * @i:        index of @first in the slice
 */
struct vd_qcow2_wctx {
	u64 pos;
	u64 len;
	u64 first;
	u64 n;
	u64 l1_idx;
	u64 slice_off;
	unsigned int i;
};

/* Change entries [w->i, w->i + @n) of the slice; queue what they owned. */
static int vd_qcow2_link(struct vd_layer *layer, struct vd_qcow2_wctx *w,
			 const struct vd_qcow2_l2e *new, unsigned int n)
{
	struct vd_qcow2 *q = layer->priv;
	struct vd_qcow2_rw *rw = q->rw;
	struct vd_qcow2_l2e old[8];
	struct vd_mentry *e;
	spinlock_t *lock = vd_qcow2_slice_lock(q, w->slice_off);
	unsigned int k, done;
	int ret;

	ret = vd_qcow2_slice_get(layer, w->slice_off, &e);
	if (ret)
		return ret;
	down_read(&rw->meta_rwsem);
	for (done = 0; done < n; done += k) {
		unsigned int m = min(n - done, (unsigned int)ARRAY_SIZE(old));

		spin_lock(lock);
		for (k = 0; k < m; k++) {
			vd_qcow2_l2e_load(q, e->data, w->i + done + k, &old[k]);
			vd_qcow2_l2e_store(q, e->data, w->i + done + k, &new[done + k]);
		}
		spin_unlock(lock);
		mutex_lock(&rw->alloc_lock);
		for (k = 0; k < m; k++) {
			u64 off, len;

			u64 noff, nlen;

			vd_qcow2_l2e_owned_range(q, &old[k], &off, &len);
			vd_qcow2_l2e_owned_range(q, &new[done + k], &noff, &nlen);
			/* The same cluster kept (zeroed in place) is not freed. */
			if (len && (off != noff || len != nlen))
				vd_qcow2_free_later(layer, off, len);
		}
		mutex_unlock(&rw->alloc_lock);
	}
	if (vd_mcache_set_dirty(q->cache, e))
		atomic_inc(&rw->dirty_slices);
	up_read(&rw->meta_rwsem);
	vd_mcache_put(q->cache, e);
	return 0;
}

static int vd_qcow2_read_l2e(struct vd_layer *layer, struct vd_qcow2_wctx *w,
			     unsigned int k, struct vd_qcow2_l2e *l2e)
{
	struct vd_qcow2 *q = layer->priv;
	spinlock_t *lock = vd_qcow2_slice_lock(q, w->slice_off);
	struct vd_mentry *e;
	int ret;

	ret = vd_qcow2_slice_get(layer, w->slice_off, &e);
	if (ret)
		return ret;
	spin_lock(lock);
	vd_qcow2_l2e_load(q, e->data, w->i + k, l2e);
	spin_unlock(lock);
	vd_mcache_put(q->cache, e);
	return vd_qcow2_l2e_check(layer, 0, l2e);
}

/* --- zeroing ahead ---------------------------------------------------- */

/*
 * A write into file blocks never written before is costly for the
 * filesystem: past the end of the file it is an extending write, which
 * XFS serialises against all other direct I/O to the file, and into a hole
 * or preallocated (unwritten) space it allocates or converts extents in a
 * transaction under the inode's exclusive lock - for every 4 KiB write into
 * a new cluster, and again for each later write into the rest of it.  So
 * the file is written with zeros ahead of the allocator, 1-16 MiB at a
 * time in 1 MiB direct writes, and guest data then overwrites blocks that
 * exist, as on a preallocated raw file.  The zeros are what a fresh cluster
 * reads as anyway, so nothing else changes; the space past the last
 * cluster is cut off again at close (vd_qcow2_trim()).
 *
 * The writer that finds the zeroed space running low reserves the next
 * stretch, starting at or past the allocator's end (so no cluster in it is
 * allocated), under alloc_lock; writes the zeros with no lock held; and
 * publishes.  Allocations reaching into the stretch meanwhile wait for it
 * (vd_qcow2_zero_wait()).  Only on files with direct I/O: buffered zeros
 * would only move the cost to writeback.
 */
#define VD_QCOW2_ZERO_MIN	SZ_1M
#define VD_QCOW2_ZERO_MAX	SZ_16M
#define VD_QCOW2_ZERO_CHUNK	SZ_1M

/* Reserve the next stretch to zero if needed; called with alloc_lock. */
static bool vd_qcow2_zero_reserve(struct vd_layer *layer)
{
	struct vd_qcow2 *q = layer->priv;
	struct vd_qcow2_rw *rw = q->rw;
	u64 step, start, align;

	lockdep_assert_held(&rw->alloc_lock);
	/* Pairs with the release in vd_qcow2_zero_ahead(): its results. */
	if (smp_load_acquire(&rw->zero_busy) || !rw->zero_ok)
		return false;
	step = clamp_t(u64, round_up(rw->file_end / 16, SZ_1M),
		       VD_QCOW2_ZERO_MIN, VD_QCOW2_ZERO_MAX);
	if (rw->zeroed_end >= rw->file_end + step)
		return false;
	align = max_t(u64, q->h.cluster_size, layer->dio_align);
	start = round_up(max(rw->zeroed_end, rw->file_end), align);
	rw->zero_start = start;
	rw->zero_end = start + step;
	WRITE_ONCE(rw->zero_busy, true);
	return true;
}

/* One direct write of @len (<= VD_QCOW2_ZERO_CHUNK) zeros at @off. */
static int vd_qcow2_zero_chunk(struct vd_layer *layer, struct bio_vec *bv,
			       u64 off, u64 len)
{
	unsigned int nr = DIV_ROUND_UP(len, PAGE_SIZE), i;
	struct iov_iter iter;

	for (i = 0; i < nr; i++)
		bvec_set_page(&bv[i], ZERO_PAGE(0),
			      min_t(u64, PAGE_SIZE, len - (u64)i * PAGE_SIZE), 0);
	iov_iter_bvec(&iter, ITER_SOURCE, bv, nr, len);
	return vd_file_write_iter(layer->files[0], &iter, off, true);
}

/* Zero what vd_qcow2_zero_reserve() reserved; called with no lock held. */
static void vd_qcow2_zero_ahead(struct vd_layer *layer)
{
	struct vd_qcow2_rw *rw = ((struct vd_qcow2 *)layer->priv)->rw;
	u64 off = rw->zero_start, end = rw->zero_end;
	struct bio_vec *bv;
	int ret = -ENOMEM;

	bv = kmalloc_array(VD_QCOW2_ZERO_CHUNK / PAGE_SIZE, sizeof(*bv),
			   GFP_KERNEL);
	if (bv) {
		for (ret = 0; !ret && off < end; off += VD_QCOW2_ZERO_CHUNK)
			ret = vd_qcow2_zero_chunk(layer, bv, off,
						  min_t(u64, end - off,
							VD_QCOW2_ZERO_CHUNK));
		kfree(bv);
	}
	/* A failure leaves holes, which read as zeros too: stop trying. */
	if (ret)
		rw->zero_ok = false;
	else
		rw->zeroed_end = end;
	/* Publishes @zeroed_end and @zero_ok (acquired in the readers). */
	smp_store_release(&rw->zero_busy, false);
	wake_up_all(&rw->zero_wq);
}

/**
 * vd_qcow2_trim() - cut off the zeros written past the last cluster
 * @layer: a writable qcow2 layer, no I/O in flight (close)
 *
 * After open the file grows past the allocator's end only by zeroing
 * ahead, so whatever lies past it now is such zeros.
 */
void vd_qcow2_trim(struct vd_layer *layer)
{
	struct vd_qcow2_rw *rw = ((struct vd_qcow2 *)layer->priv)->rw;
	struct file *file = layer->files[0];
	int ret;

	if (i_size_read(file_inode(file)) <= rw->file_end)
		return;
	ret = vfs_truncate(&file->f_path, rw->file_end);
	if (ret)
		pr_warn("%s: could not trim the zeroed space past the last cluster: error %d\n",
			layer->path, ret);
}

/*
 * Allocate for a write.  *@fresh: the clusters were never written and
 * read as zeros (see vd_qcow2_alloc()).  @partial: the write leaves parts
 * of them unwritten, which later writes would fill block by block: worth
 * zeroing ahead for.  Writers of whole clusters are not, or a sequential
 * writer would write everything twice.
 */
static int vd_qcow2_alloc_run(struct vd_layer *layer, u64 want, u64 *host,
			      u64 *got, bool *fresh, bool partial)
{
	struct vd_qcow2_rw *rw = ((struct vd_qcow2 *)layer->priv)->rw;
	bool zero;
	int ret;

	down_read(&rw->meta_rwsem);
	mutex_lock(&rw->alloc_lock);
	ret = vd_qcow2_alloc(layer, want, host, got, fresh);
	zero = !ret && *fresh && partial && vd_qcow2_zero_reserve(layer);
	mutex_unlock(&rw->alloc_lock);
	up_read(&rw->meta_rwsem);
	if (zero)
		vd_qcow2_zero_ahead(layer);
	return ret;
}

/*
 * Standard L2: clusters w->first .. that all need a new cluster.  One
 * allocation, one write per partial end cluster and one for the middle.
 * Returns bytes written, or -errno.
 */
static s64 vd_qcow2_write_new(struct vd_layer *layer,
			      const struct vd_chain *chain,
			      struct vd_qcow2_wctx *w, struct iov_iter *iter)
{
	struct vd_qcow2 *q = layer->priv;
	unsigned int cb = q->h.cluster_bits;
	u64 cs = q->h.cluster_size, n, host, got, k, end, done = 0;
	bool fresh, zero_first = false, zero_last = false;
	struct vd_qcow2_l2e *new;
	int ret;

	/* Only the leading clusters that still need it (others raced us). */
	for (n = 0; n < w->n; n++) {
		struct vd_qcow2_l2e l2e;

		ret = vd_qcow2_read_l2e(layer, w, n, &l2e);
		if (ret)
			return ret;
		if (vd_qcow2_l2e_owned(q, &l2e))
			break;
		/* Only the end clusters may be partly written. */
		zero_last = vd_qcow2_l2e_zero(q, chain, &l2e);
		if (!n)
			zero_first = zero_last;
	}
	if (!n)
		return 0;	/* the caller writes in place */
	ret = vd_qcow2_alloc_run(layer, n, &host, &got, &fresh,
				 ((w->pos | (w->pos + w->len)) & (cs - 1)) != 0);
	if (ret)
		return ret;
	n = got;
	end = min(w->pos + w->len, (w->first + n) << cb);

	/* First cluster, middle clusters, last cluster. */
	while (w->pos + done < end) {
		u64 p = w->pos + done, c0 = round_down(p, cs);
		u64 h = host + (c0 - (w->first << cb));
		u64 piece;

		if (p != c0 || end - c0 < cs) {
			u64 to = min(end, c0 + cs);

			piece = to - p;
			ret = vd_qcow2_fill(layer, chain, c0, c0 + cs, p, piece,
					    iter, h, fresh,
					    c0 == w->first << cb ? zero_first :
								   zero_last);
		} else {
			piece = round_down(end - p, cs);
			ret = vd_qcow2_put_iter(layer, iter, piece, h);
		}
		if (ret)
			return ret;
		done += piece;
	}

	new = kmalloc_array(n, sizeof(*new), GFP_KERNEL);
	if (!new)
		return -ENOMEM;
	for (k = 0; k < n; k++)
		new[k] = (struct vd_qcow2_l2e){
			(host + (k << cb)) | VD_QCOW2_OFLAG_COPIED, 0 };
	ret = vd_qcow2_link(layer, w, new, n);
	kfree(new);
	return ret ? ret : done;
}

/*
 * Extended L2, one cluster: allocate only the subclusters written (or the
 * whole cluster when its old data is compressed or shared).
 */
static s64 vd_qcow2_write_sub(struct vd_layer *layer,
			      const struct vd_chain *chain,
			      struct vd_qcow2_wctx *w, struct iov_iter *iter)
{
	struct vd_qcow2 *q = layer->priv;
	unsigned int sc_bits = q->h.cluster_bits - 5;
	u64 cs = q->h.cluster_size, c0 = w->first << q->h.cluster_bits;
	u64 len = min(w->len, c0 + cs - w->pos), host, got, from, to;
	struct vd_qcow2_l2e l2e, new;
	u32 mask, alloc, zero;
	bool fresh = false;
	int ret;

	ret = vd_qcow2_read_l2e(layer, w, 0, &l2e);
	if (ret)
		return ret;
	mask = vd_qcow2_sub_mask(q, w->pos, len);
	alloc = (u32)l2e.bitmap;
	zero = (u32)(l2e.bitmap >> 32);
	host = vd_qcow2_l2e_host(&l2e);

	if (vd_qcow2_l2e_owned(q, &l2e)) {
		if ((alloc & mask) == mask)
			return 0;	/* raced: the caller writes in place */
		from = c0 + ((u64)__ffs(mask) << sc_bits);
		to = c0 + ((u64)(__fls(mask) + 1) << sc_bits);
		new.raw = l2e.raw;
		/* An owned entry read from the image may point at metadata. */
		ret = vd_qcow2_check_target(layer, 0, host + (from - c0), to - from);
		if (ret)
			return ret;
	} else if (!host && !vd_qcow2_l2e_compressed(&l2e)) {
		ret = vd_qcow2_alloc_run(layer, 1, &host, &got, &fresh,
					 mask != ~0U);
		if (ret)
			return ret;
		from = c0 + ((u64)__ffs(mask) << sc_bits);
		to = c0 + ((u64)(__fls(mask) + 1) << sc_bits);
		new.raw = host | VD_QCOW2_OFLAG_COPIED;
	} else {
		/* Compressed or shared: the new cluster holds all of it. */
		ret = vd_qcow2_alloc_run(layer, 1, &host, &got, &fresh, false);
		if (ret)
			return ret;
		from = c0;
		to = c0 + cs;
		mask = ~0U;
		new.raw = host | VD_QCOW2_OFLAG_COPIED;
	}
	ret = vd_qcow2_fill(layer, chain, from, to, w->pos, len, iter,
			    host + (from - c0), fresh, false);
	if (ret)
		return ret;
	alloc |= mask;
	zero &= ~mask;
	if (mask == ~0U)
		alloc = ~0U;
	new.bitmap = (u64)zero << 32 | alloc;
	ret = vd_qcow2_link(layer, w, &new, 1);
	return ret ? ret : len;
}

/* Write in place after all (another request allocated meanwhile). */
static s64 vd_qcow2_write_owned(struct vd_layer *layer,
				struct vd_qcow2_wctx *w, struct iov_iter *iter)
{
	struct vd_qcow2 *q = layer->priv;
	u64 cs = q->h.cluster_size;
	u64 len = min(w->len, cs - (w->pos & (cs - 1)));
	struct vd_qcow2_l2e l2e;
	u64 host;
	int ret;

	ret = vd_qcow2_read_l2e(layer, w, 0, &l2e);
	if (ret)
		return ret;
	host = vd_qcow2_l2e_host(&l2e) + (w->pos & (cs - 1));
	ret = vd_qcow2_check_target(layer, 0, host, len);
	if (!ret)
		ret = vd_qcow2_put_iter(layer, iter, len, host);
	return ret ? ret : len;
}

/* Write [@pos, @pos + @len) as far as one L2 slice goes; bytes written. */
static s64 vd_qcow2_write_step(struct vd_layer *layer,
			       const struct vd_chain *chain, u64 pos, u64 len,
			       struct iov_iter *iter)
{
	struct vd_qcow2 *q = layer->priv;
	struct vd_qcow2_rw *rw = q->rw;
	unsigned int cb = q->h.cluster_bits, nr = 1U << q->slice_entries_bits;
	u64 cs = q->h.cluster_size, l2_idx, l2_off;
	struct vd_qcow2_wctx w;
	s64 done;
	int ret;

	w.pos = pos;
	w.first = pos >> cb;
	l2_idx = w.first & ((1ULL << q->h.l2_bits) - 1);
	w.i = l2_idx & (nr - 1);
	w.l1_idx = pos >> (cb + q->h.l2_bits);
	w.len = min(len, ((w.first - w.i + nr) << cb) - pos);
	if (q->h.extended_l2)
		w.len = min(w.len, cs - (pos & (cs - 1)));
	w.n = DIV_ROUND_UP((pos & (cs - 1)) + w.len, cs);
	if (w.n > VD_QCOW2_MAX_GROUP) {
		w.n = VD_QCOW2_MAX_GROUP;
		w.len = (w.n << cb) - (pos & (cs - 1));
	}

	ret = vd_qcow2_mark(rw, w.first, w.n);
	if (ret)
		return ret;
	down_read(&rw->meta_rwsem);
	ret = vd_qcow2_own_l2(layer, w.l1_idx, &l2_off);
	up_read(&rw->meta_rwsem);
	if (ret) {
		done = ret;
		goto out;
	}
	w.slice_off = l2_off + (l2_idx >> q->slice_entries_bits) * q->slice_bytes;
	if (q->h.extended_l2)
		done = vd_qcow2_write_sub(layer, chain, &w, iter);
	else
		done = vd_qcow2_write_new(layer, chain, &w, iter);
	if (done == 0)
		done = vd_qcow2_write_owned(layer, &w, iter);
out:
	vd_qcow2_unmark(rw, w.first, w.n);
	return done;
}

/**
 * vd_qcow2_write_run() - write a run map() could not place
 * @layer: the writable top layer
 * @chain: its stack, for copy-on-write
 * @run:   the run (VD_EXT_FORMAT)
 * @iter:  the guest's bytes
 *
 * Return: 0 or -errno.
 */
int vd_qcow2_write_run(struct vd_layer *layer, const struct vd_chain *chain,
		       const struct vd_run *run, struct iov_iter *iter)
{
	u64 pos = run->pos, len = run->len;

	while (len) {
		s64 n = vd_qcow2_write_step(layer, chain, pos, len, iter);

		if (n < 0)
			return n;
		if (WARN_ON_ONCE(!n || n > len))
			return -EIO;
		pos += n;
		len -= n;
	}
	return vd_qcow2_flush_if_full(layer);
}

/* --- discard and write zeroes ------------------------------------------ */

/* What a discarded whole cluster becomes; false to leave it as it is. */
static bool vd_qcow2_discarded(struct vd_qcow2 *q, enum vd_discard_mode mode,
			       const struct vd_qcow2_l2e *old,
			       struct vd_qcow2_l2e *new)
{
	bool backing = READ_ONCE(q->h.backing_len) > 0;
	bool keep = mode == VD_DISCARD_ZERO_NOUNMAP && vd_qcow2_l2e_owned(q, old);

	/*
	 * Deallocated, whatever is below: the point is that the backing
	 * file shows through again (its data equals ours, or ours was
	 * committed into it).
	 */
	if (mode == VD_DISCARD_FALLTHROUGH) {
		new->raw = 0;
		new->bitmap = 0;
		return true;
	}
	if (q->h.extended_l2) {
		new->raw = keep ? old->raw : 0;
		/* Zero bits where something below could show through. */
		new->bitmap = (mode != VD_DISCARD_UNMAP || backing) ?
			      (u64)U32_MAX << 32 : 0;
		return true;
	}
	if (mode == VD_DISCARD_UNMAP && !backing) {
		new->raw = 0;
		return true;
	}
	if (q->h.version < 3)
		return false;	/* no zero flag: v2 writes zeros instead */
	new->raw = keep ? old->raw | VD_QCOW2_OFLAG_ZERO : VD_QCOW2_OFLAG_ZERO;
	new->bitmap = 0;
	return true;
}

/* Whole clusters [@pos, @pos + @len) within one L2 slice. */
static int vd_qcow2_discard_step(struct vd_layer *layer, u64 pos, u64 len,
				 enum vd_discard_mode mode)
{
	struct vd_qcow2 *q = layer->priv;
	struct vd_qcow2_rw *rw = q->rw;
	unsigned int cb = q->h.cluster_bits;
	struct vd_qcow2_l2e *new;
	struct vd_qcow2_wctx w;
	u64 l2_off, l2_idx, l1e, k;
	bool changed = false;
	int ret;

	w.first = pos >> cb;
	w.n = len >> cb;
	w.pos = pos;
	w.len = len;
	w.l1_idx = pos >> (cb + q->h.l2_bits);
	l2_idx = w.first & ((1ULL << q->h.l2_bits) - 1);
	w.i = l2_idx & ((1U << q->slice_entries_bits) - 1);

	/*
	 * No L2 table: every cluster already reads from below, which is
	 * what show-through wants, and what UNMAP wants when nothing is below
	 * (reads are zeros).  Creating a table to store zeros in it would
	 * only cost a cluster.
	 */
	l1e = w.l1_idx < q->l1_entries ? READ_ONCE(q->l1[w.l1_idx]) : 0;
	if (!l1e && (mode == VD_DISCARD_FALLTHROUGH ||
		     (mode == VD_DISCARD_UNMAP && !READ_ONCE(q->h.backing_len))))
		return 0;

	new = kmalloc_array(w.n, sizeof(*new), GFP_KERNEL);
	if (!new)
		return -ENOMEM;
	ret = vd_qcow2_mark(rw, w.first, w.n);
	if (ret)
		goto out_free;
	down_read(&rw->meta_rwsem);
	ret = vd_qcow2_own_l2(layer, w.l1_idx, &l2_off);
	up_read(&rw->meta_rwsem);
	if (ret)
		goto out;
	w.slice_off = l2_off + (l2_idx >> q->slice_entries_bits) * q->slice_bytes;
	for (k = 0; k < w.n; k++) {
		struct vd_qcow2_l2e old;

		ret = vd_qcow2_read_l2e(layer, &w, k, &old);
		if (ret)
			goto out;
		if (!vd_qcow2_discarded(q, mode, &old, &new[k]))
			new[k] = old;
		if (new[k].raw != old.raw || new[k].bitmap != old.bitmap)
			changed = true;
	}
	/* Entries as wanted already (a second commit pass): no dirty slice. */
	if (changed)
		ret = vd_qcow2_link(layer, &w, new, w.n);
out:
	vd_qcow2_unmark(rw, w.first, w.n);
out_free:
	kfree(new);
	return ret;
}

/**
 * vd_qcow2_discard() - REQ_OP_DISCARD / REQ_OP_WRITE_ZEROES
 * @layer: the writable top layer
 * @chain: its stack
 * @pos:   virtual offset
 * @len:   bytes
 * @mode:  what the range must read back as
 *
 * Whole clusters are unmapped, or zero-flagged where a backing file could
 * show through (v3; v2 has no zero flag and writes zeros); their clusters
 * are freed after the next flush.  Show-through unmaps whole clusters
 * whatever is below, so that the backing file shows through again (v2
 * included: it needs no zero flag).  Partial clusters are left alone by
 * a discard and by show-through, and written with zeros by write zeroes.
 *
 * Return: 0 or -errno.
 */
int vd_qcow2_discard(struct vd_layer *layer, const struct vd_chain *chain,
		     u64 pos, u64 len, enum vd_discard_mode mode)
{
	struct vd_qcow2 *q = layer->priv;
	unsigned int cb = q->h.cluster_bits, nr = 1U << q->slice_entries_bits;
	u64 cs = q->h.cluster_size, end, start, stop;
	bool zero = mode == VD_DISCARD_ZERO || mode == VD_DISCARD_ZERO_NOUNMAP;
	int ret = 0;

	if (!q->rw || pos >= q->size)
		return -EIO;
	len = min(len, q->size - pos);
	end = pos + len;
	start = round_up(pos, cs);
	stop = round_down(end, cs);
	/* v2 cannot mark zeros, and neither can a cluster past the size. */
	if (zero && q->h.version < 3 && !q->h.extended_l2)
		return vd_chain_write_zeroes(chain, pos, len);
	if (start >= stop) {
		if (!zero)
			return 0;
		return vd_chain_write_zeroes(chain, pos, len);
	}
	if (zero && pos < start)
		ret = vd_chain_write_zeroes(chain, pos, start - pos);
	while (!ret && start < stop) {
		u64 slice_end = (((start >> cb) | (nr - 1)) + 1) << cb;
		u64 n = min(stop, slice_end) - start;

		ret = vd_qcow2_discard_step(layer, start, n, mode);
		start += n;
		if (!ret)
			ret = vd_qcow2_flush_if_full(layer);
		cond_resched();
	}
	if (!ret && zero && stop < end)
		ret = vd_chain_write_zeroes(chain, stop, end - stop);
	return ret;
}
