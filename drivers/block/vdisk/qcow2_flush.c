// SPDX-License-Identifier: GPL-2.0
/*
 * qcow2_flush.c - writing a qcow2 layer's metadata back, in an order that
 * leaves a consistent image on disk whenever the power goes.
 *
 * Writers change refcounts, L2 entries and L1 entries in memory only
 * (qcow2_alloc.c, qcow2_write.c), always the refcount of a new cluster
 * before the entry that points at it, and only after the data or the
 * table it points at has been written.  A flush then, holding meta_rwsem
 * exclusively so that it sees each link together with the refcounts it
 * needs:
 *
 *   1. writes dirty refcount blocks
 *   2. if the refcount table changed: syncs (the new refcount blocks it
 *      points at are on disk, and the file reaches them), writes it
 *   3. syncs            - every completed guest write and every refcount
 *                         a table is about to depend on is on disk
 *   4. if the refcount table moved: writes the header's pointer to it,
 *      syncs
 *   5. writes dirty L2 slices
 *   6. if L1 changed: syncs (new L2 tables are on disk), writes L1
 *   7. syncs
 *
 * and after that releases the clusters unlinked by the tables it wrote
 * (their refcounts drop in memory, reach the disk with the next flush; a
 * crash in between leaks them, which qemu-img check -r leaks repairs).
 * A refcount on disk is therefore never lower than the references on disk,
 * and no reference on disk points at unwritten data.
 */
#include <linux/slab.h>

#include "mcache.h"
#include "qcow2.h"

/* Write the 512-byte pieces of a big-endian copy of @table marked in @dirty. */
static int vd_qcow2_write_table(struct file *file, const u64 *table, u32 entries,
				u64 off, unsigned long *dirty, bool all)
{
	unsigned int nr_pieces = DIV_ROUND_UP(entries * 8, 512), p;
	__be64 buf[64];

	for (p = 0; p < nr_pieces; p++) {
		unsigned int first = p * 64, n = min(entries - first, 64U), i;
		int ret;

		if (!all && !test_bit(p, dirty))
			continue;
		for (i = 0; i < n; i++)
			buf[i] = cpu_to_be64(table[first + i]);
		ret = vd_file_write(file, buf, n * 8, off + (u64)first * 8);
		if (ret)
			return ret;
		clear_bit(p, dirty);
	}
	return 0;
}

static bool vd_qcow2_meta_dirty(struct vd_qcow2 *q)
{
	struct vd_qcow2_rw *rw = q->rw;
	unsigned int l1_bits = DIV_ROUND_UP(q->l1_entries * 8, 512);
	unsigned int rt_bits = DIV_ROUND_UP(rw->reftable_entries * 8, 512);

	return atomic_read(&rw->dirty_slices) || rw->reftable_moved ||
	       find_first_bit(rw->l1_dirty, l1_bits) < l1_bits ||
	       find_first_bit(rw->reftable_dirty, rt_bits) < rt_bits;
}

/* Steps 1-7 above; called with meta_rwsem held exclusively. */
static int vd_qcow2_write_meta(struct vd_layer *layer)
{
	struct vd_qcow2 *q = layer->priv;
	struct vd_qcow2_rw *rw = q->rw;
	struct file *file = layer->files[0];
	unsigned int l1_bits = DIV_ROUND_UP(q->l1_entries * 8, 512);
	unsigned int rt_bits = DIV_ROUND_UP(rw->reftable_entries * 8, 512);
	int ret;

	ret = vd_mcache_writeback(q->cache, &rw->rb_owner, file);
	/*
	 * The table is written in place: once a piece of it is on disk, so
	 * must be the block it names, or qemu-img finds it outside the image
	 * or full of zero refcounts (crash-states, 512-byte clusters).
	 */
	if (!ret && (rw->reftable_moved ||
		     find_first_bit(rw->reftable_dirty, rt_bits) < rt_bits)) {
		ret = vd_file_sync(file);
		if (!ret)
			ret = vd_qcow2_write_table(file, rw->reftable,
						   rw->reftable_entries,
						   rw->reftable_off,
						   rw->reftable_dirty,
						   rw->reftable_moved);
	}
	if (!ret)
		ret = vd_file_sync(file);
	if (!ret && rw->reftable_moved) {
		u8 hdr[12];

		vd_put_be64(hdr, rw->reftable_off);
		vd_put_be32(hdr + 8, rw->reftable_clusters);
		ret = vd_file_write(file, hdr, sizeof(hdr), 48);
		if (!ret)
			ret = vd_file_sync(file);
		if (!ret)
			rw->reftable_moved = false;
	}
	if (!ret)
		ret = vd_mcache_writeback(q->cache, layer, file);
	if (!ret && find_first_bit(rw->l1_dirty, l1_bits) < l1_bits) {
		ret = vd_file_sync(file);
		if (!ret)
			ret = vd_qcow2_write_table(file, q->l1, q->l1_entries,
						   q->l1_offset, rw->l1_dirty, false);
	}
	if (!ret)
		ret = vd_file_sync(file);
	if (!ret)
		atomic_set(&rw->dirty_slices, 0);
	return ret;
}

/**
 * vd_qcow2_flush() - make every completed write to the layer durable
 * @layer: the layer
 *
 * Return: 0 or -errno (the metadata stays dirty and the next flush
 * tries again).
 */
int vd_qcow2_flush(struct vd_layer *layer)
{
	struct vd_qcow2 *q = layer->priv;
	struct vd_qcow2_rw *rw = q->rw;
	struct vd_qcow2_free *frees = NULL;
	unsigned int nr = 0;
	int ret;

	if (!rw)
		return 0;
	mutex_lock(&rw->flush_lock);
	down_write(&rw->meta_rwsem);
	if (vd_qcow2_meta_dirty(q))
		ret = vd_qcow2_write_meta(layer);
	else
		ret = vd_file_sync(layer->files[0]);
	/* The tables that unlinked these clusters are on disk now. */
	if (!ret && rw->nr_frees) {
		frees = kmemdup(rw->frees, rw->nr_frees * sizeof(*frees), GFP_KERNEL);
		if (frees) {
			nr = rw->nr_frees;
			rw->nr_frees = 0;
		}
	}
	up_write(&rw->meta_rwsem);
	if (frees) {
		ret = vd_qcow2_release_frees(layer, frees, nr);
		kfree(frees);
	}
	mutex_unlock(&rw->flush_lock);
	return ret;
}

/* Flush metadata when a writer has let too much of it pile up. */
int vd_qcow2_flush_if_full(struct vd_layer *layer)
{
	struct vd_qcow2_rw *rw = ((struct vd_qcow2 *)layer->priv)->rw;

	if (atomic_read(&rw->dirty_slices) <= rw->dirty_limit &&
	    READ_ONCE(rw->nr_frees) < VD_QCOW2_MAX_FREES * 3 / 4)
		return 0;
	return vd_qcow2_flush(layer);
}

/*
 * Detach: write everything back.  Twice: the first flush releases the
 * clusters freed since the last one, and the second writes their
 * refcounts, so that qemu-img check finds no leak after a clean detach.
 * Then the space preallocated past the last cluster goes.
 */
void vd_qcow2_close_rw(struct vd_layer *layer)
{
	int ret;

	if (READ_ONCE(layer->broken))
		return;
	ret = vd_qcow2_flush(layer);
	if (!ret)
		ret = vd_qcow2_flush(layer);
	if (ret) {
		pr_err("%s: writing qcow2 metadata back at detach failed: error %d\n",
		       layer->path, ret);
		return;
	}
	vd_qcow2_trim(layer);
}
