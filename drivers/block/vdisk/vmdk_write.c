// SPDX-License-Identifier: GPL-2.0
/*
 * Writing vmdk layers: flat extents in place (the core does
 * that: map() answers DATA), sparse extents by allocating grains here.
 *
 * An allocating write (write_run) of one grain:
 *   1. the grain's lock (hashed by extent and grain) is taken, so two
 *      writers of one grain never allocate it twice; writers of other
 *      grains go on in parallel;
 *   2. the whole grain is built in memory: what the stack shows now
 *      (vd_chain_read(): the parent's data, or zeros) with the new bytes
 *      on top;
 *   3. under the extent's lock, room is taken at the end of the file: a
 *      grain table (and its redundant copy) first if the grain directory
 *      has none for this range, written as zeros at once; then the grain;
 *   4. the grain is written, then its entry is set in the cached grain
 *      table slices of both directories, which become dirty.
 *
 * Crash ordering, kept by flush(): the files are synced (grain data and
 * new, zeroed tables are durable), then the dirty grain table slices are
 * written and synced, then changed grain directory entries are written and
 * synced.  So a table entry never points at data that is not on disk, and
 * a directory entry never at a table that is not; a crash between the
 * steps leaks space at the end of the file, nothing more.
 *
 * The header's uncleanShutdown byte is set (and synced) before the first
 * write, and cleared at close after the final flush; the descriptor's CID
 * is changed on the first write, as VMware and QEMU do, so that children
 * made on top of the old contents notice (their parentCID no longer
 * matches).
 */
#include <linux/hash.h>
#include <linux/random.h>
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

	e->rgd = kvmalloc(bytes, GFP_KERNEL);
	if (!e->rgd)
		return -ENOMEM;
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

		if (e->type != VD_VMDK_EXT_SPARSE || !e->h.rgd_offset)
			continue;
		ret = vd_vmdk_load_rgd(layer, e, i + 1, args);
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
	__le32 *slot;
	struct vd_mentry *me;

	me = vd_mcache_get(v->cache, e, layer->files[e->file],
			   vd_vmdk_slice_off(e, gt, gte_idx), e->slice_bytes);
	if (IS_ERR(me))
		return PTR_ERR(me) == -ENODATA ? -EIO : PTR_ERR(me);
	slot = (__le32 *)me->data + (gte_idx & ((1U << e->slice_entries_bits) - 1));
	WRITE_ONCE(*slot, cpu_to_le32(ent));
	if (vd_mcache_set_dirty(v->cache, me))
		e->nr_dirty++;
	vd_mcache_put(v->cache, me);
	return 0;
}

/* Room for @bytes at the end of the extent file, aligned; under e->lock. */
static int vd_vmdk_alloc(struct vd_vmdk_ext *e, u64 bytes, u64 align, u64 *off)
{
	u64 at = round_up(e->file_size, align);

	if ((at + bytes) >> 9 > VD_VMDK_MAX_SECTOR)
		return -ENOSPC;		/* u32 table entries cannot reach it */
	*off = at;
	WRITE_ONCE(e->file_size, at + bytes);
	return 0;
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
	ret = vd_vmdk_alloc(e, gt_bytes, 512, &off);
	if (!ret)
		ret = vd_file_write(file, zero, gt_bytes, off);
	if (!ret && e->rgd) {
		ret = vd_vmdk_alloc(e, gt_bytes, 512, &roff);
		if (!ret)
			ret = vd_file_write(file, zero, gt_bytes, roff);
	}
	kvfree(zero);
	if (ret)
		return ret;
	if (e->rgd)
		e->rgd[gd_idx] = roff >> 9;
	WRITE_ONCE(e->gd[gd_idx], off >> 9);
	e->gd_dirty = true;
	return 0;
}

/* Write @len bytes of @iter at @off of @file (an allocated grain). */
static int vd_vmdk_write_iter(struct file *file, struct iov_iter *iter,
			      size_t len, u64 off)
{
	void *buf = kvmalloc(len, GFP_NOIO);
	int ret;

	if (!buf)
		return -ENOMEM;
	ret = copy_from_iter(buf, len, iter) == len ? 0 : -EFAULT;
	if (!ret)
		ret = vd_file_write(file, buf, len, off);
	kvfree(buf);
	return ret;
}

int vd_vmdk_write_run(struct vd_layer *layer, const struct vd_chain *chain,
		      const struct vd_run *run, struct iov_iter *iter)
{
	struct vd_vmdk *v = layer->priv;
	struct vd_vmdk_ext *e = vd_vmdk_find(v, run->pos);
	unsigned int gb = e->h.grain_bits;
	u64 gs = 1ULL << gb, rel = run->pos - e->start, in_grain = rel & (gs - 1);
	u64 grain = rel >> gb, gd_idx = grain >> e->h.gte_bits;
	u64 gte_idx = grain & (e->h.num_gtes - 1), vstart, host;
	struct file *file = layer->files[e->file];
	struct mutex *lock;	/* this grain's writers */
	bool flush = false;
	u32 kind, ent = 0, gt;
	u8 *buf = NULL;
	int ret;

	if (e->type != VD_VMDK_EXT_SPARSE || !layer->writable || in_grain + run->len > gs)
		return -EIO;
	lock = &v->grain_lock[hash_64(((u64)(e - v->ext) << 40) ^ grain,
				      ilog2(VD_VMDK_GRAIN_LOCKS))];
	mutex_lock(lock);

	/* Another writer may have allocated the grain meanwhile. */
	gt = READ_ONCE(e->gd[gd_idx]);
	if (gt) {
		ret = vd_vmdk_get_gte(layer, v, e, gt, gte_idx, &ent);
		if (ret)
			goto out;
	}
	ret = vd_vmdk_gt_entry(&e->h, ent, READ_ONCE(e->file_size), &kind, &host, NULL);
	if (ret) {
		vd_layer_broken(layer, "grain table entry outside the file");
		goto out;
	}
	if (kind == VD_VMDK_GRAIN_DATA) {
		ret = vd_vmdk_write_iter(file, iter, run->len, host + in_grain);
		if (!ret)
			e->written = true;
		goto out;
	}

	buf = kvzalloc(gs, GFP_NOIO);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	vstart = e->start + (grain << gb);
	if (kind != VD_VMDK_GRAIN_ZERO && (in_grain || run->len != gs)) {
		/* copy-on-write: what the stack shows there now */
		ret = vd_chain_read(chain, 0, vstart, buf, min(gs, v->size - vstart));
		if (ret)
			goto out;
	}
	if (copy_from_iter(buf + in_grain, run->len, iter) != run->len) {
		ret = -EFAULT;
		goto out;
	}

	mutex_lock(&e->lock);
	ret = vd_vmdk_ensure_gt(layer, e, gd_idx);
	if (!ret)
		ret = vd_vmdk_alloc(e, gs, min_t(u64, gs, PAGE_SIZE), &host);
	mutex_unlock(&e->lock);
	if (ret)
		goto out;

	ret = vd_file_write(file, buf, gs, host);
	if (ret)
		goto out;	/* the room stays unused: a leak, not a corruption */

	mutex_lock(&e->lock);
	e->written = true;
	ret = vd_vmdk_set_gte(layer, v, e, e->gd[gd_idx], gte_idx, host >> 9);
	if (!ret && e->rgd)
		ret = vd_vmdk_set_gte(layer, v, e, e->rgd[gd_idx], gte_idx, host >> 9);
	flush = e->nr_dirty >= VD_VMDK_MAX_DIRTY;
	mutex_unlock(&e->lock);
out:
	mutex_unlock(lock);
	kvfree(buf);
	/* dirty slices are never evicted: bound them */
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

/* Data, then grain tables, then grain directories: see the file comment. */
static int vd_vmdk_flush_sparse(struct vd_layer *layer, struct vd_vmdk *v,
				struct vd_vmdk_ext *e)
{
	struct file *file = layer->files[e->file];
	int ret;

	mutex_lock(&e->lock);
	ret = vd_file_sync(file);
	if (ret || (!e->nr_dirty && !e->gd_dirty))
		goto out;
	ret = vd_mcache_writeback(v->cache, e, file);
	if (!ret)
		ret = vd_file_sync(file);
	if (ret)
		goto out;
	e->nr_dirty = 0;
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
	if (!ret && !layer->broken)
		ret = vd_vmdk_mark_unclean(layer, v, 0);
	if (ret)
		pr_err("%s: metadata not written back at close: error %d\n",
		       layer->path, ret);
}
