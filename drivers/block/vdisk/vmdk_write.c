// SPDX-License-Identifier: GPL-2.0
/*
 * Writing vmdk layers: flat extents in place (the core does
 * that: map() answers DATA), sparse extents by allocating grains here.
 *
 * An allocating write (write_run) of a run of grains in one grain table:
 *   1. the run's grains are marked busy (struct vd_vmdk_busy), so two
 *      writers of one grain never allocate it twice; writers of other
 *      grains go on in parallel;
 *   2. a partial grain is built in memory: what the stack shows now
 *      (vd_chain_read(): the parent's data, or zeros) with the new bytes
 *      on top; whole grains are not copied;
 *   3. under the extent's lock, room is taken at the end of the file: a
 *      grain table (and its redundant copy) first if the grain directory
 *      has none for this range, written as zeros at once; then the grains,
 *      as many whole ones together as follow each other unallocated;
 *   4. the grains are written (direct I/O, one write for a stretch of
 *      whole grains), then their entries are set in the cached grain
 *      table slices of both directories, which become dirty.
 *
 * Crash ordering, kept by flush(): the files are synced (grain data and
 * new, zeroed tables are durable), then the dirty grain table slices are
 * written and synced, then changed grain directory entries are written and
 * synced.  So a table entry never points at data that is not on disk, and
 * a directory entry never at a table that is not; a crash between the
 * steps leaks space at the end of the file, nothing more.
 *
 * Discard (UNMAP, and the jobs' show-through mode) clears the entries of
 * whole grains in both grain tables, through the same cached slices and
 * under the same locks as an allocating write, and queues the grains'
 * bytes on the extent; the flush punches them only after the tables no
 * longer pointing at them are synced, so a crash never leaves an entry on
 * a hole.  Space is never reused (allocation is at the end of the file),
 * so a punched grain cannot be in use again.  Write zeroes sets zeroed-grain entries (GTE 1)
 * where the extent has the zeroed-grain flag, else writes zeros.
 *
 * The header's uncleanShutdown byte is set (and synced) before the first
 * write, and cleared at close after the final flush; the descriptor's CID
 * is changed on the first write, as VMware and QEMU do, so that children
 * made on top of the old contents notice (their parentCID no longer
 * matches).
 */
#include <linux/fs.h>
#include <linux/falloc.h>
#include <linux/random.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uio.h>

#include "mcache.h"
#include "vmdk.h"

/* Read and check the redundant grain directory of a writable extent. */
static int vd_vmdk_load_rgd(struct vd_layer *layer, struct vd_vmdk_ext *e,
			    u32 nr, const struct vd_open_args *args)
{
	size_t bytes = (size_t)e->h.gd_entries * 4;
	char text[160] = "";
	struct vd_msg msg = { .buf = text, .len = sizeof(text) };
	u32 i;
	int ret;

	ret = vd_layer_charge(layer, args, bytes,
			      "extent %u: redundant grain directory of %u entries",
			      nr, e->h.gd_entries);
	if (ret)
		return ret;
	e->rgd = kvmalloc(bytes, GFP_KERNEL);
	if (!e->rgd) {
		vd_budget_uncharge(&layer->mem, bytes);
		return -ENOMEM;
	}
	ret = vd_file_read(layer->files[e->file], e->rgd, bytes, e->h.rgd_offset << 9);
	if (ret) {
		vd_msg_set(args->msg,
			   "layer %u (%s): extent %u: redundant grain directory unreadable: error %d",
			   args->index, layer->path, nr, ret);
		return ret == -ENODATA ? -EINVAL : ret;
	}
	for (i = 0; i < e->h.gd_entries; i++) {
		u32 ent = le32_to_cpu((__force __le32)e->rgd[i]);

		if (vd_vmdk_gd_entry(&e->h, ent, e->file_size, &msg) ||
		    !ent != !e->gd[i]) {
			vd_msg_set(args->msg,
				   "layer %u (%s): extent %u: grain directories disagree at entry %u (%s); check the image before writing",
				   args->index, layer->path, nr, i,
				   text[0] ? text : "one is empty");
			return -EINVAL;
		}
		e->rgd[i] = ent;
	}
	return 0;
}

int vd_vmdk_write_init(struct vd_layer *layer, struct vd_vmdk *v,
		       const struct vd_open_args *args)
{
	u32 i;
	int ret;

	for (i = 0; i < v->nr_ext; i++)
		mutex_init(&v->ext[i].lock);
	if (!layer->writable)
		return 0;
	for (i = 0; i < v->nr_ext; i++) {
		struct vd_vmdk_ext *e = &v->ext[i];

		/* A discard frees whole grains: the largest of them. */
		if (e->type == VD_VMDK_EXT_SPARSE)
			layer->discard_granularity = max_t(u64, layer->discard_granularity,
							   1ULL << e->h.grain_bits);
		if (e->type != VD_VMDK_EXT_SPARSE)
			continue;
		ret = e->h.rgd_offset ? vd_vmdk_load_rgd(layer, e, i + 1, args) : 0;
		if (!ret)
			ret = vd_vmdk_meta_init(layer, e, i + 1, args);
		if (ret)
			return ret;
	}
	return 0;
}

/* Set or clear the uncleanShutdown byte of every sparse extent. */
static int vd_vmdk_mark_unclean(struct vd_layer *layer, struct vd_vmdk *v, u8 val)
{
	u32 i;
	int ret;

	for (i = 0; i < v->nr_ext; i++) {
		struct vd_vmdk_ext *e = &v->ext[i];
		struct file *file = layer->files[e->file];

		if (e->type != VD_VMDK_EXT_SPARSE)
			continue;
		ret = vd_file_write(file, &val, 1, VD_VMDK_HDR_UNCLEAN);
		if (!ret)
			ret = vd_file_sync(file);
		if (ret)
			return ret;
	}
	return 0;
}

/* A new CID of the same number of hex digits, written over the old one. */
static int vd_vmdk_new_cid(struct vd_layer *layer, struct vd_vmdk *v)
{
	unsigned int n = v->desc.cid_len;
	char digits[9];
	u32 cid;
	int ret;

	if (!v->desc_text || !n)
		return 0;
	cid = get_random_u32();
	if (n < 8)
		cid &= (1U << (4 * n)) - 1;
	if (cid == v->desc.cid || cid == VD_VMDK_NO_PARENT_CID)
		cid ^= 1;
	snprintf(digits, sizeof(digits), "%0*x", n, cid);
	ret = vd_file_write(layer->files[0], digits, n, v->desc_pos + v->desc.cid_off);
	if (!ret)
		ret = vd_file_sync(layer->files[0]);
	if (ret)
		return ret;
	memcpy(v->desc_text + v->desc.cid_off, digits, n);
	v->desc.cid = cid;
	return 0;
}

/**
 * vd_vmdk_first_write() - before the first write to a layer
 * @layer: the layer
 * @v:     its state
 *
 * Marks the sparse extents unclean and changes the CID, once.
 */
int vd_vmdk_first_write(struct vd_layer *layer, struct vd_vmdk *v)
{
	int ret = 0;

	mutex_lock(&v->meta_lock);
	if (v->opened_rw)
		goto out;
	ret = vd_vmdk_mark_unclean(layer, v, 1);
	if (!ret)
		ret = vd_vmdk_new_cid(layer, v);
	if (ret)
		pr_err_ratelimited("%s: cannot mark the image in use: error %d\n",
				   layer->path, ret);
	else
		WRITE_ONCE(v->opened_rw, true);
out:
	mutex_unlock(&v->meta_lock);
	return ret;
}

static u64 vd_vmdk_slice_off(const struct vd_vmdk_ext *e, u32 gt, u64 gte_idx)
{
	return ((u64)gt << 9) + (gte_idx >> e->slice_entries_bits) * e->slice_bytes;
}

/* The GT entry of grain @gte_idx in table @gt, read through the cache. */
static int vd_vmdk_get_gte(struct vd_layer *layer, struct vd_vmdk *v,
			   struct vd_vmdk_ext *e, u32 gt, u64 gte_idx, u32 *ent)
{
	struct vd_mentry *me;

	me = vd_mcache_get(v->cache, e, layer->files[e->file],
			   vd_vmdk_slice_off(e, gt, gte_idx), e->slice_bytes);
	if (IS_ERR(me))
		return PTR_ERR(me) == -ENODATA ?
		       vd_vmdk_corrupt(layer, "grain table past the end of the file", -EIO) :
		       PTR_ERR(me);
	*ent = vd_vmdk_slice_entry(me->data, gte_idx & ((1U << e->slice_entries_bits) - 1));
	vd_mcache_put(v->cache, me);
	return 0;
}

/* Set a GT entry in the cached slice; caller holds e->lock. */
static int vd_vmdk_set_gte(struct vd_layer *layer, struct vd_vmdk *v,
			   struct vd_vmdk_ext *e, u32 gt, u64 gte_idx, u32 ent)
{
	u64 slice_off = vd_vmdk_slice_off(e, gt, gte_idx);
	struct vd_mentry *me;
	__le32 *slot;
	int ret;

	me = vd_mcache_get(v->cache, e, layer->files[e->file], slice_off, e->slice_bytes);
	if (IS_ERR(me))
		return PTR_ERR(me) == -ENODATA ? -EIO : PTR_ERR(me);
	ret = vd_vmdk_own_slice(e, slice_off, me->data);
	if (ret) {
		if (ret == -EIO)
			vd_layer_broken(layer, "grain table entry past the file's end at open");
		vd_mcache_put(v->cache, me);
		return ret;
	}
	slot = (__le32 *)me->data + (gte_idx & ((1U << e->slice_entries_bits) - 1));
	WRITE_ONCE(*slot, cpu_to_le32(ent));
	if (vd_mcache_set_dirty(v->cache, me)) {
		e->nr_dirty++;
		atomic_inc(&v->dirty_slices);
	}
	vd_mcache_put(v->cache, me);
	return 0;
}

#define VD_VMDK_RESERVE_MIN	SZ_1M
#define VD_VMDK_RESERVE_MAX	SZ_32M

/*
 * Extend the file past @end, where the next allocations go: concurrent
 * direct writes of new grains past the end of the file would each wait
 * for all the others (xfs takes its I/O lock exclusively and drains direct
 * I/O to move the end).  One preallocation per stretch costs that once.
 * Where the filesystem cannot preallocate, the size alone is moved: the
 * stretch is a hole, which reads as zeros just the same.  Under e->lock.
 */
static void vd_vmdk_reserve(struct vd_layer *layer, struct vd_vmdk_ext *e, u64 end)
{
	struct file *file = layer->files[e->file];
	u64 step, from;
	int ret;

	if (!layer->dio_align || end <= e->reserved_end)
		return;
	step = clamp_t(u64, round_up(e->file_size / 8, SZ_1M),
		       VD_VMDK_RESERVE_MIN, VD_VMDK_RESERVE_MAX);
	from = max(e->reserved_end, e->file_size);
	if ((from + step) >> 9 > VD_VMDK_MAX_SECTOR)
		return;
	ret = vfs_fallocate(file, 0, from, step);
	if (ret == -EOPNOTSUPP)
		ret = vfs_truncate(&file->f_path, from + step);
	/* Without the reservation the writes are slower, not wrong. */
	if (!ret)
		e->reserved_end = from + step;
}

/* Room for @bytes at the end of the extent file, aligned; under e->lock. */
static int vd_vmdk_alloc(struct vd_layer *layer, struct vd_vmdk_ext *e,
			 u64 bytes, u64 align, u64 *off)
{
	u64 at = round_up(e->file_size, align);

	if ((at + bytes) >> 9 > VD_VMDK_MAX_SECTOR)
		return -ENOSPC;		/* u32 table entries cannot reach it */
	vd_vmdk_reserve(layer, e, at + bytes);
	*off = at;
	WRITE_ONCE(e->file_size, at + bytes);
	return 0;
}

/* Cut off what vd_vmdk_reserve() left past the last allocation. */
static void vd_vmdk_trim(struct vd_layer *layer, struct vd_vmdk_ext *e)
{
	struct file *file = layer->files[e->file];
	int ret;

	if (e->reserved_end <= e->file_size ||
	    i_size_read(file_inode(file)) <= e->file_size)
		return;
	ret = vfs_truncate(&file->f_path, e->file_size);
	if (ret)
		pr_warn("%s: could not trim the space reserved past the last grain: error %d\n",
			layer->path, ret);
	else
		e->reserved_end = e->file_size;
}

/*
 * The grain table(s) for directory entry @gd_idx: allocated and zeroed on
 * disk if there are none yet.  Caller holds e->lock.
 */
static int vd_vmdk_ensure_gt(struct vd_layer *layer, struct vd_vmdk_ext *e,
			     u64 gd_idx)
{
	size_t gt_bytes = round_up((size_t)e->h.num_gtes * 4, 512);
	struct file *file = layer->files[e->file];
	u64 off, roff = 0;
	void *zero;
	int ret;

	if (e->gd[gd_idx])
		return 0;
	zero = kvzalloc(gt_bytes, GFP_KERNEL);
	if (!zero)
		return -ENOMEM;
	ret = vd_vmdk_alloc(layer, e, gt_bytes, 512, &off);
	if (!ret)
		ret = vd_file_write(file, zero, gt_bytes, off);
	if (!ret && e->rgd) {
		ret = vd_vmdk_alloc(layer, e, gt_bytes, 512, &roff);
		if (!ret)
			ret = vd_file_write(file, zero, gt_bytes, roff);
	}
	kvfree(zero);
	if (!ret)
		ret = vd_vmdk_meta_add_gt(e, off >> 9);
	if (!ret && e->rgd)
		ret = vd_vmdk_meta_add_gt(e, roff >> 9);
	if (ret)
		return ret;
	if (e->rgd)
		e->rgd[gd_idx] = roff >> 9;
	WRITE_ONCE(e->gd[gd_idx], off >> 9);
	e->gd_dirty = true;
	return 0;
}

/* --- busy grain ranges ------------------------------------------------ */

/**
 * struct vd_vmdk_busy - grains [@first, @last] of extent @ext being changed
 * @node:  in vd_vmdk.busy
 * @ext:   extent index
 * @first: first grain
 * @last:  last grain
 */
struct vd_vmdk_busy {
	struct list_head node;
	u32 ext;
	u64 first;
	u64 last;
};

static bool vd_vmdk_busy_overlaps(struct vd_vmdk *v, const struct vd_vmdk_busy *b)
{
	struct vd_vmdk_busy *o;

	lockdep_assert_held(&v->busy_lock);
	list_for_each_entry(o, &v->busy, node)
		if (o->ext == b->ext && o->first <= b->last && b->first <= o->last)
			return true;
	return false;
}

/* Take grains [@first, @last] of @e, sleeping while another writer has any. */
static void vd_vmdk_busy_take(struct vd_vmdk *v, struct vd_vmdk_ext *e,
			      u64 first, u64 last, struct vd_vmdk_busy *b)
{
	b->ext = e - v->ext;
	b->first = first;
	b->last = last;
	spin_lock(&v->busy_lock);
	wait_event_cmd(v->busy_wq, !vd_vmdk_busy_overlaps(v, b),
		       spin_unlock(&v->busy_lock), spin_lock(&v->busy_lock));
	list_add_tail(&b->node, &v->busy);
	spin_unlock(&v->busy_lock);
}

static void vd_vmdk_busy_drop(struct vd_vmdk *v, struct vd_vmdk_busy *b)
{
	spin_lock(&v->busy_lock);
	list_del(&b->node);
	spin_unlock(&v->busy_lock);
	wake_up_all(&v->busy_wq);
}

/* --- allocating writes --------------------------------------------------- */

/*
 * Decode entry @ent of grain @gte_idx of table @gt and check it (a data
 * grain on metadata, or past the end of the file at open): a bad one
 * stops writes to the layer.
 */
static int vd_vmdk_grain_entry(struct vd_layer *layer, struct vd_vmdk_ext *e,
			       u32 gt, u64 gte_idx, u32 ent, u32 *kind, u64 *host)
{
	char text[160] = "grain table entry outside the file";
	struct vd_msg msg = { .buf = text, .len = sizeof(text) };

	if (vd_vmdk_gt_entry(&e->h, ent, READ_ONCE(e->file_size), kind, host, NULL)) {
		vd_layer_broken(layer, text);
		return -EIO;
	}
	text[0] = '\0';
	if (*kind == VD_VMDK_GRAIN_DATA &&
	    vd_vmdk_grain_check(e, vd_vmdk_slice_off(e, gt, gte_idx), *host, &msg)) {
		vd_layer_broken(layer, text);
		return -EIO;
	}
	return 0;
}

/* Grain @grain's entry (kind and host offset), checked against the file. */
static int vd_vmdk_grain_state(struct vd_layer *layer, struct vd_vmdk *v,
			       struct vd_vmdk_ext *e, u64 grain, u32 *kind, u64 *host)
{
	u64 gd_idx = grain >> e->h.gte_bits, gte_idx = grain & (e->h.num_gtes - 1);
	u32 gt = READ_ONCE(e->gd[gd_idx]), ent = VD_VMDK_GTE_UNALLOCATED;
	int ret;

	if (gt) {
		ret = vd_vmdk_get_gte(layer, v, e, gt, gte_idx, &ent);
		if (ret)
			return ret;
	}
	return vd_vmdk_grain_entry(layer, e, gt, gte_idx, ent, kind, host);
}

/* Point grains @grain.. (@n of them, one grain table) at @host..; e->lock. */
static int vd_vmdk_link(struct vd_layer *layer, struct vd_vmdk *v,
			struct vd_vmdk_ext *e, u64 grain, u64 n, u64 host)
{
	u64 gd_idx = grain >> e->h.gte_bits, gs = 1ULL << e->h.grain_bits, k;
	int ret = 0;

	lockdep_assert_held(&e->lock);
	for (k = 0; k < n && !ret; k++) {
		u64 gte_idx = (grain + k) & (e->h.num_gtes - 1);
		u32 sector = (host + k * gs) >> 9;

		ret = vd_vmdk_set_gte(layer, v, e, e->gd[gd_idx], gte_idx, sector);
		if (!ret && e->rgd)
			ret = vd_vmdk_set_gte(layer, v, e, e->rgd[gd_idx], gte_idx, sector);
	}
	return ret;
}

/*
 * Allocate grains @grain.. (@n, all unallocated or zeroed, in one grain
 * table) and write them: whole grains straight from the guest's pages in
 * one write; a single partial grain (@n == 1) built in memory first, with
 * what the stack shows there now around the new bytes.  Called with the
 * grains busy.  Returns bytes of @iter consumed, or -errno.
 */
static s64 vd_vmdk_write_new(struct vd_layer *layer, const struct vd_chain *chain,
			     struct vd_vmdk_ext *e, u64 grain, u64 n, u32 kind,
			     u64 in_grain, u64 len, struct iov_iter *iter)
{
	struct vd_vmdk *v = layer->priv;
	struct file *file = layer->files[e->file];
	u64 gs = 1ULL << e->h.grain_bits, host, vstart;
	bool whole = !in_grain && len == n * gs;
	u8 *buf = NULL;
	int ret;

	if (!whole) {
		buf = kvzalloc(gs, GFP_NOIO);
		if (!buf)
			return -ENOMEM;
		vstart = e->start + (grain << e->h.grain_bits);
		ret = 0;
		if (kind != VD_VMDK_GRAIN_ZERO)
			ret = vd_chain_read(chain, 0, vstart, buf,
					    min(gs, v->size - vstart));
		if (!ret && copy_from_iter(buf + in_grain, len, iter) != len)
			ret = -EFAULT;
		if (ret)
			goto out;
	}

	mutex_lock(&e->lock);
	ret = vd_vmdk_ensure_gt(layer, e, grain >> e->h.gte_bits);
	if (!ret)
		ret = vd_vmdk_alloc(layer, e, n * gs, min_t(u64, gs, PAGE_SIZE), &host);
	mutex_unlock(&e->lock);
	if (ret)
		goto out;

	/* A failed write leaves the room unused: a leak, not a corruption. */
	if (whole)
		ret = vd_layer_write_iter(layer, file, iter, len, host);
	else
		ret = vd_layer_write_buf(layer, file, buf, gs, host);
	if (ret)
		goto out;

	mutex_lock(&e->lock);
	e->written = true;
	ret = vd_vmdk_link(layer, v, e, grain, n, host);
	mutex_unlock(&e->lock);
out:
	kvfree(buf);
	return ret ? ret : len;
}

/*
 * One step of an allocating write at virtual @pos (@len left, within one
 * grain table): an allocated grain in place, a partial grain, or the
 * longest stretch of whole grains that all need allocating.  Returns the
 * bytes written, or -errno.
 */
static s64 vd_vmdk_write_step(struct vd_layer *layer, const struct vd_chain *chain,
			      struct vd_vmdk_ext *e, u64 pos, u64 len,
			      struct iov_iter *iter)
{
	struct vd_vmdk *v = layer->priv;
	unsigned int gb = e->h.grain_bits;
	u64 gs = 1ULL << gb, rel = pos - e->start, in_grain = rel & (gs - 1);
	u64 grain = rel >> gb, piece = min(len, gs - in_grain), host, n, h;
	u32 kind, k2;
	int ret;

	ret = vd_vmdk_grain_state(layer, v, e, grain, &kind, &host);
	if (ret)
		return ret;
	if (kind == VD_VMDK_GRAIN_DATA) {
		/* allocated meanwhile, or a neighbour of the grains to allocate */
		ret = vd_layer_write_iter(layer, layer->files[e->file], iter,
					  piece, host + in_grain);
		if (!ret)
			e->written = true;
		return ret ? ret : piece;
	}
	if (in_grain || piece < gs)
		return vd_vmdk_write_new(layer, chain, e, grain, 1, kind,
					 in_grain, piece, iter);
	/* Whole grains from here on: as many as need allocating. */
	for (n = 1; (n + 1) * gs <= len; n++) {
		ret = vd_vmdk_grain_state(layer, v, e, grain + n, &k2, &h);
		if (ret)
			return ret;
		if (k2 == VD_VMDK_GRAIN_DATA)
			break;
	}
	return vd_vmdk_write_new(layer, chain, e, grain, n, kind, 0, n * gs, iter);
}

/**
 * vd_vmdk_write_run() - write a run map() could not place
 * @layer: the writable top layer
 * @chain: its stack, for copy-on-write
 * @run:   VD_EXT_FORMAT: grains of one sparse extent's grain table, the
 *         first needing allocation
 * @iter:  the guest's bytes
 *
 * Return: 0 or -errno.
 */
int vd_vmdk_write_run(struct vd_layer *layer, const struct vd_chain *chain,
		      const struct vd_run *run, struct iov_iter *iter)
{
	struct vd_vmdk *v = layer->priv;
	struct vd_vmdk_ext *e = vd_vmdk_find(v, run->pos);
	unsigned int gb = e->h.grain_bits;
	u64 rel = run->pos - e->start, pos = run->pos, len = run->len;
	u64 span = 1ULL << (gb + e->h.gte_bits);
	struct vd_vmdk_busy busy;
	bool flush;
	int ret = 0;

	if (e->type != VD_VMDK_EXT_SPARSE || !layer->writable || !len ||
	    rel + len > e->len || round_down(rel, span) != round_down(rel + len - 1, span))
		return -EIO;
	vd_vmdk_busy_take(v, e, rel >> gb, (rel + len - 1) >> gb, &busy);
	while (len) {
		s64 n = vd_vmdk_write_step(layer, chain, e, pos, len, iter);

		if (n < 0) {
			ret = n;
			break;
		}
		if (WARN_ON_ONCE(!n || n > len)) {
			ret = -EIO;
			break;
		}
		pos += n;
		len -= n;
	}
	vd_vmdk_busy_drop(v, &busy);
	/*
	 * Dirty slices are never evicted: bound them, for the whole layer
	 * (4096 extents of 1024 each would be 16 GiB of cache).
	 */
	flush = atomic_read(&v->dirty_slices) >= VD_VMDK_MAX_DIRTY;
	if (!ret && flush)
		ret = vd_vmdk_flush(layer);
	return ret;
}

/* Write a grain directory (host order in memory) at sector @sector. */
static int vd_vmdk_write_gd(struct file *file, const struct vd_vmdk_ext *e,
			    const u32 *gd, u64 sector)
{
	size_t bytes = (size_t)e->h.gd_entries * 4;
	__le32 *buf = kvmalloc(bytes, GFP_KERNEL);
	u32 i;
	int ret;

	if (!buf)
		return -ENOMEM;
	for (i = 0; i < e->h.gd_entries; i++)
		buf[i] = cpu_to_le32(gd[i]);
	ret = vd_file_write(file, buf, bytes, sector << 9);
	kvfree(buf);
	return ret;
}

/*
 * Punch the grains queued by discards; caller holds e->lock, the tables
 * that unlinked them are synced.  Best effort: a hole not punched is
 * space, not correctness (and some filesystems cannot punch).
 */
static void vd_vmdk_punch_frees(struct vd_layer *layer, struct vd_vmdk_ext *e)
{
	unsigned int i;

	for (i = 0; i < e->nr_frees; i++)
		vfs_fallocate(layer->files[e->file],
			      FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      e->frees[i].off, e->frees[i].len);
	e->nr_frees = 0;
}

/* Data, then grain tables, then grain directories: see the file comment. */
static int vd_vmdk_flush_sparse(struct vd_layer *layer, struct vd_vmdk *v,
				struct vd_vmdk_ext *e)
{
	struct file *file = layer->files[e->file];
	int ret;

	mutex_lock(&e->lock);
	ret = vd_file_sync(file);
	if (ret || (!e->nr_dirty && !e->gd_dirty && !e->nr_frees))
		goto out;
	ret = vd_mcache_writeback(v->cache, e, file);
	if (!ret)
		ret = vd_file_sync(file);
	if (ret)
		goto out;
	atomic_sub(e->nr_dirty, &v->dirty_slices);
	e->nr_dirty = 0;
	/* No synced table points at the discarded grains any more. */
	vd_vmdk_punch_frees(layer, e);
	if (e->gd_dirty) {
		ret = vd_vmdk_write_gd(file, e, e->gd, e->h.gd_offset);
		if (!ret && e->rgd)
			ret = vd_vmdk_write_gd(file, e, e->rgd, e->h.rgd_offset);
		if (!ret)
			ret = vd_file_sync(file);
		if (!ret)
			e->gd_dirty = false;
	}
out:
	e->written = false;
	mutex_unlock(&e->lock);
	return ret;
}

int vd_vmdk_flush(struct vd_layer *layer)
{
	struct vd_vmdk *v = layer->priv;
	int ret = 0, err;
	u32 i;

	if (!layer->writable)
		return 0;
	for (i = 0; i < v->nr_ext; i++) {
		struct vd_vmdk_ext *e = &v->ext[i];

		if (e->type == VD_VMDK_EXT_SPARSE)
			err = vd_vmdk_flush_sparse(layer, v, e);
		else if (e->type == VD_VMDK_EXT_FLAT)
			err = vd_file_sync(layer->files[e->file]);
		else
			err = 0;
		ret = ret ?: err;
	}
	return ret;
}

/* A clean close: everything durable, then the in-use mark cleared. */
void vd_vmdk_write_close(struct vd_layer *layer, struct vd_vmdk *v)
{
	int ret;

	if (!layer->writable || !v->opened_rw)
		return;
	layer->priv = v;
	ret = vd_vmdk_flush(layer);
	if (!ret) {
		u32 i;

		for (i = 0; i < v->nr_ext; i++)
			if (v->ext[i].type == VD_VMDK_EXT_SPARSE)
				vd_vmdk_trim(layer, &v->ext[i]);
	}
	if (!ret && !layer->broken)
		ret = vd_vmdk_mark_unclean(layer, v, 0);
	if (ret)
		pr_err("%s: metadata not written back at close: error %d\n",
		       layer->path, ret);
}

/* --- discard and write zeroes ------------------------------------------ */

/*
 * The first discard of an extent: room for the grains it queues, charged
 * to the layer (4 KiB for each of up to 4096 extents).  Caller holds
 * e->lock.
 */
static int vd_vmdk_frees_alloc(struct vd_layer *layer, struct vd_vmdk *v,
			       struct vd_vmdk_ext *e)
{
	size_t bytes = VD_VMDK_MAX_FREES * sizeof(*e->frees);

	if (vd_budget_charge(v->mem, bytes)) {
		pr_warn_ratelimited("%s: discard refused: over the memory budget (module parameters layer_mem_mib, total_mem_mib)\n",
				    layer->path);
		return -ENOMEM;
	}
	/* under locks the I/O path takes: no reclaim through us */
	e->frees = kmalloc(bytes, GFP_NOIO);
	if (!e->frees) {
		vd_budget_uncharge(v->mem, bytes);
		return -ENOMEM;
	}
	return 0;
}

/* Can [@off, @off + @len) join e->frees?  Caller holds e->lock. */
static bool vd_vmdk_free_fits(struct vd_vmdk_ext *e, u64 off, u64 len)
{
	struct vd_vmdk_free *last = e->nr_frees ? &e->frees[e->nr_frees - 1] : NULL;

	if (last && (last->off + last->len == off || off + len == last->off))
		return true;
	return e->nr_frees < VD_VMDK_MAX_FREES;
}

/* Queue [@off, @off + @len) for the next flush to punch; it fits. */
static void vd_vmdk_free_add(struct vd_vmdk_ext *e, u64 off, u64 len)
{
	struct vd_vmdk_free *last = e->nr_frees ? &e->frees[e->nr_frees - 1] : NULL;

	if (last && last->off + last->len == off) {
		last->len += len;
	} else if (last && off + len == last->off) {
		last->off = off;
		last->len += len;
	} else {
		e->frees[e->nr_frees].off = off;
		e->frees[e->nr_frees].len = len;
		e->nr_frees++;
	}
}

/**
 * struct vd_vmdk_dctx - what one grain's discard reports
 * @full:  the extent's list of grains to punch is full: flush, try again
 * @flush: too many dirty table slices: flush before going on
 */
struct vd_vmdk_dctx {
	bool full;
	bool flush;
};

/*
 * Discard whole grain @grain of sparse extent @e: its entry becomes 0
 * (UNMAP, show-through) or 1 (zeroed grain; ZERO_NOUNMAP keeps an
 * allocated grain and writes zeros into it) in both grain tables.
 */
static int vd_vmdk_discard_grain(struct vd_layer *layer, struct vd_vmdk *v,
				 struct vd_vmdk_ext *e, u64 grain,
				 enum vd_discard_mode mode, struct vd_vmdk_dctx *dc)
{
	u64 gs = 1ULL << e->h.grain_bits, gd_idx = grain >> e->h.gte_bits;
	u64 gte_idx = grain & (e->h.num_gtes - 1), host;
	bool zero = mode == VD_DISCARD_ZERO || mode == VD_DISCARD_ZERO_NOUNMAP;
	u32 gt, ent = VD_VMDK_GTE_UNALLOCATED, kind, want;
	struct vd_vmdk_busy busy;
	int ret;

	/* Keeps an allocating write of this grain out, as in write_run. */
	vd_vmdk_busy_take(v, e, grain, grain, &busy);
	gt = READ_ONCE(e->gd[gd_idx]);
	if (gt) {
		ret = vd_vmdk_get_gte(layer, v, e, gt, gte_idx, &ent);
		if (ret)
			goto out;
	}
	ret = vd_vmdk_grain_entry(layer, e, gt, gte_idx, ent, &kind, &host);
	if (ret)
		goto out;
	want = zero ? VD_VMDK_GTE_ZEROED : VD_VMDK_GTE_UNALLOCATED;
	if ((zero && kind == VD_VMDK_GRAIN_ZERO) ||
	    (!zero && kind == VD_VMDK_GRAIN_UNALLOCATED))
		goto out;	/* as wanted already */
	if (mode == VD_DISCARD_ZERO_NOUNMAP && kind == VD_VMDK_GRAIN_DATA) {
		ret = vd_file_write_zeroes(layer->files[e->file], host, gs);
		if (!ret)
			e->written = true;
		goto out;
	}

	mutex_lock(&e->lock);
	if (kind == VD_VMDK_GRAIN_DATA) {
		if (!e->frees) {
			ret = vd_vmdk_frees_alloc(layer, v, e);
			if (ret)
				goto out_unlock;
		}
		/* Check first: an entry changed must get its grain queued. */
		if (!vd_vmdk_free_fits(e, host, gs)) {
			dc->full = true;
			goto out_unlock;
		}
	}
	/* A zeroed grain may need a grain table where none was. */
	ret = vd_vmdk_ensure_gt(layer, e, gd_idx);
	if (!ret)
		ret = vd_vmdk_set_gte(layer, v, e, e->gd[gd_idx], gte_idx, want);
	if (!ret && e->rgd)
		ret = vd_vmdk_set_gte(layer, v, e, e->rgd[gd_idx], gte_idx, want);
	if (!ret && kind == VD_VMDK_GRAIN_DATA)
		vd_vmdk_free_add(e, host, gs);
	dc->flush = atomic_read(&v->dirty_slices) >= VD_VMDK_MAX_DIRTY;
out_unlock:
	mutex_unlock(&e->lock);
out:
	vd_vmdk_busy_drop(v, &busy);
	return ret;
}

/* Virtual [@rel, @rel + @len) of sparse extent @e. */
static int vd_vmdk_discard_sparse(struct vd_layer *layer, const struct vd_chain *chain,
				  struct vd_vmdk *v, struct vd_vmdk_ext *e,
				  u64 rel, u64 len, enum vd_discard_mode mode)
{
	unsigned int gb = e->h.grain_bits;
	u64 gs = 1ULL << gb, start = round_up(rel, gs), stop = round_down(rel + len, gs);
	bool zero = mode == VD_DISCARD_ZERO || mode == VD_DISCARD_ZERO_NOUNMAP;
	u64 grain;
	int ret = 0;

	/* Without the zeroed-grain flag zeros must be written. */
	if (zero && !e->h.zeroed_grain)
		return vd_chain_write_zeroes(chain, e->start + rel, len);
	/* Partial grains: zeros written, or left alone by a discard. */
	if (start >= stop)
		return zero ? vd_chain_write_zeroes(chain, e->start + rel, len) : 0;
	if (zero && rel < start)
		ret = vd_chain_write_zeroes(chain, e->start + rel, start - rel);

	for (grain = start >> gb; !ret && grain < stop >> gb;) {
		struct vd_vmdk_dctx dc = { 0 };
		u64 gd_idx = grain >> e->h.gte_bits;

		/* No grain table: nothing there to drop. */
		if (!zero && !READ_ONCE(e->gd[gd_idx])) {
			grain = (gd_idx + 1) << e->h.gte_bits;
			continue;
		}
		ret = vd_vmdk_discard_grain(layer, v, e, grain, mode, &dc);
		if (!ret && (dc.full || dc.flush))
			ret = vd_vmdk_flush(layer);
		if (!dc.full)
			grain++;	/* else the same grain again, list emptied */
		cond_resched();
	}
	if (!ret && zero && stop < rel + len)
		ret = vd_chain_write_zeroes(chain, e->start + stop, rel + len - stop);
	return ret;
}

/**
 * vd_vmdk_discard() - REQ_OP_DISCARD / REQ_OP_WRITE_ZEROES, and the jobs'
 * show-through discard
 * @layer: the writable top layer
 * @chain: its stack (copy-on-write of partial grains being zeroed)
 * @pos:   virtual offset
 * @len:   bytes
 * @mode:  what the range must read back as
 *
 * Sparse extents: whole grains become unallocated (UNMAP, show-through:
 * the parent shows through, or zeros without one), their space punched
 * after the next flush; zeroed grains for ZERO/ZERO_NOUNMAP where the
 * extent has the flag, zeros written where it has not and at partial
 * grains.  Flat extents: zeros written in place, a discard does nothing.
 * ZERO extents read as zeros already.
 *
 * Return: 0 or -errno.
 */
int vd_vmdk_discard(struct vd_layer *layer, const struct vd_chain *chain,
		    u64 pos, u64 len, enum vd_discard_mode mode)
{
	struct vd_vmdk *v = layer->priv;
	bool zero = mode == VD_DISCARD_ZERO || mode == VD_DISCARD_ZERO_NOUNMAP;
	int ret = 0;

	if (!layer->writable)
		return -EROFS;
	if (pos >= v->size)
		return 0;
	len = min(len, v->size - pos);
	/* Changing tables is writing: mark the extents in use, new CID. */
	if (!READ_ONCE(v->opened_rw)) {
		ret = vd_vmdk_first_write(layer, v);
		if (ret)
			return ret;
	}
	while (len && !ret) {
		struct vd_vmdk_ext *e = vd_vmdk_find(v, pos);
		u64 rel = pos - e->start, n = min(len, e->len - rel);

		if (e->type == VD_VMDK_EXT_SPARSE)
			ret = vd_vmdk_discard_sparse(layer, chain, v, e, rel, n, mode);
		else if (e->type == VD_VMDK_EXT_FLAT && zero)
			ret = vd_file_write_zeroes(layer->files[e->file], e->flat_off + rel, n);
		pos += n;
		len -= n;
	}
	return ret;
}
