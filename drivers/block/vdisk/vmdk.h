/* SPDX-License-Identifier: GPL-2.0 */
/*
 * State of a vmdk layer, shared by the read path (vmdk.c) and
 * the write path (vmdk_write.c).
 */
#ifndef VDISK_VMDK_H
#define VDISK_VMDK_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/seqlock.h>
#include <linux/wait.h>
#include <linux/xarray.h>

#include "vd_vmdk.h"
#include "vdisk.h"

/*
 * Dirty grain table slices of a layer (all its extents) before a write
 * flushes them.
 */
#define VD_VMDK_MAX_DIRTY	1024
/* Discarded grain ranges of an extent waiting for the next flush to punch. */
#define VD_VMDK_MAX_FREES	256

/* Host bytes no grain table entry points at once the tables are synced. */
struct vd_vmdk_free {
	u64 off;
	u64 len;
};

/**
 * struct vd_vmdk_ext - one extent of a layer
 * @start:     first virtual byte it serves
 * @len:       bytes it serves
 * @type:      enum vd_vmdk_extent_type
 * @file:      index in layer->files (ZERO: unused)
 * @flat_off:  FLAT: byte offset of the data in the file
 * @file_size: bytes of the file; grows as grains are allocated (under
 *             @lock, read locklessly to bound table entries)
 * @h:         SPARSE: the validated header
 * @gd:        SPARSE: grain table sectors in host order, 0 = none
 * @rgd:       SPARSE, writable with a redundant GD: its entries
 * @slice_bytes: bytes of one cached grain table slice
 * @slice_entries_bits: log2 of entries per slice
 * @lock:      writable SPARSE: allocation at the end of the file, the GD
 *             entries, and changes to cached grain table slices (so that
 *             vd_mcache_writeback() sees them still)
 * @nr_dirty:  grain table slices set dirty since the last flush (counted
 *             in the layer's @dirty_slices as well)
 * @gd_dirty:  a GD entry changed since the last flush
 * @written:   a grain was written since the last flush (data to sync)
 * @frees:     SPARSE, discarded: grains whose entries were cleared in the
 *             cached tables, punched by the flush that synced those
 *             tables (merged ranges; allocated at the first discard)
 * @nr_frees:  entries in @frees
 * @reserved_end: writable SPARSE: the file was extended (preallocated) up
 *             to here ahead of @file_size, under @lock, so that grain
 *             writes land inside the file: a direct write past the end
 *             of an xfs file drains every write in flight first.  The
 *             rest is cut off at a clean close.
 * @open_end:  writable SPARSE: @file_size at open (vmdk_meta.c)
 * @own_slices: writable SPARSE: sectors of the grain table slices the
 *             driver has changed or created: entries there past
 *             @open_end are grains it appended
 * @gts_seq:   @gts and @nr_gts change under @lock in a write section of
 *             this seqcount; the overlap check reads them without a lock
 * @gts:       writable SPARSE: sorted sectors of every grain table, of
 *             both directories (NULL: no overlap checks, read-only)
 * @nr_gts:    entries in @gts
 * @gts_cap:   room in @gts: one per entry of each directory
 */
struct vd_vmdk_ext {
	u64 start;
	u64 len;
	u32 type;
	u32 file;
	u64 flat_off;
	u64 file_size;
	struct vd_vmdk_header h;
	u32 *gd;
	u32 *rgd;
	unsigned int slice_bytes;
	unsigned int slice_entries_bits;
	struct mutex lock;	/* see @lock above */
	unsigned int nr_dirty;
	bool gd_dirty;
	bool written;
	struct vd_vmdk_free *frees;
	unsigned int nr_frees;
	u64 reserved_end;

	u64 open_end;
	struct xarray own_slices;
	seqcount_t gts_seq;		/* see @gts_seq above */
	u32 *gts;
	u32 nr_gts;
	u32 gts_cap;
};

/**
 * struct vd_vmdk - state of one vmdk layer
 * @desc:       the parsed descriptor (its extent array only while opening)
 * @desc_text:  the descriptor text, kept to rewrite the CID and the parent
 *              (embedded: all desc_len bytes of its room, NUL-padded)
 * @desc_pos:   its offset in files[0]
 * @desc_len:   its length
 * @desc_is_file: files[0] is a descriptor file (not a sparse extent)
 * @nr_ext:     extents
 * @ext:        the extents, by @start
 * @size:       virtual bytes
 * @cache:      the device's metadata cache
 * @mem:        the layer's memory budget, charged for the tables
 * @decomp:     inflate contexts of the compressed extents, one pool for the
 *              layer whatever the number of extents: the contexts of a
 *              pool per extent would add up to gigabytes
 * @dirty_slices: grain table slices dirty in the cache, all extents
 *              together (each counts its own in nr_dirty under its lock);
 *              dirty slices are never evicted, so past
 *              VD_VMDK_MAX_DIRTY a writer flushes the layer
 * @meta_lock:  the first write's header and descriptor updates, the
 *              parent's rewrite (set_backing), and @desc
 * @opened_rw:  the first write marked the extents unclean and changed
 *              the CID; a clean close clears the mark
 * @busy_lock:  protects @busy: the grain ranges an allocating write or a
 *              discard is changing now (struct vd_vmdk_busy, at most one
 *              per request in flight).  A range is taken whole or not at
 *              all, so writers of several grains never deadlock; others
 *              overlapping it sleep on @busy_wq.  Taken outside e->lock.
 * @busy:       see @busy_lock
 * @busy_wq:    woken when a range is released
 */
struct vd_vmdk {
	struct vd_vmdk_desc desc;
	char *desc_text;
	u64 desc_pos;
	u64 desc_len;
	bool desc_is_file;
	u32 nr_ext;
	struct vd_vmdk_ext *ext;
	u64 size;
	struct vd_mcache *cache;
	struct vd_budget *mem;
	struct vd_decomp_pool *decomp;
	atomic_t dirty_slices;
	struct mutex meta_lock;	/* see @meta_lock above */
	bool opened_rw;
	spinlock_t busy_lock;		/* see @busy_lock above */
	struct list_head busy;
	wait_queue_head_t busy_wq;
};

extern const struct vd_format_ops vd_vmdk_ops;

/* vmdk.c */
int vd_vmdk_corrupt(struct vd_layer *layer, const char *what, int err);

/* vmdk_meta.c */
int vd_vmdk_grain_check(struct vd_vmdk_ext *e, u64 slice_off, u64 host,
			struct vd_msg *msg);
int vd_vmdk_own_slice(struct vd_vmdk_ext *e, u64 slice_off, const void *slice);
int vd_vmdk_meta_add_gt(struct vd_vmdk_ext *e, u32 sector);
int vd_vmdk_meta_init(struct vd_layer *layer, struct vd_vmdk_ext *e, u32 nr,
		      const struct vd_open_args *args);
void vd_vmdk_meta_free(struct vd_vmdk_ext *e);
struct vd_vmdk_ext *vd_vmdk_find(struct vd_vmdk *v, u64 pos);
int vd_vmdk_read_desc(struct vd_layer *layer, struct vd_vmdk *v,
		      bool need_extents, const struct vd_open_args *args);

/* vmdk_write.c */
int vd_vmdk_write_init(struct vd_layer *layer, struct vd_vmdk *v,
		       const struct vd_open_args *args);
void vd_vmdk_write_close(struct vd_layer *layer, struct vd_vmdk *v);
int vd_vmdk_first_write(struct vd_layer *layer, struct vd_vmdk *v);
int vd_vmdk_write_run(struct vd_layer *layer, const struct vd_chain *chain,
		      const struct vd_run *run, struct iov_iter *iter);
int vd_vmdk_flush(struct vd_layer *layer);
int vd_vmdk_discard(struct vd_layer *layer, const struct vd_chain *chain,
		    u64 pos, u64 len, enum vd_discard_mode mode);

/* vmdk_backing.c */
int vd_vmdk_set_backing(struct vd_layer *layer, const char *name,
			unsigned int fmt, struct vd_layer *parent,
			struct vd_msg *msg);

/* A grain table entry of a cached slice: writers change it under @lock. */
static inline u32 vd_vmdk_slice_entry(const void *slice, unsigned int i)
{
	return le32_to_cpu(READ_ONCE(((const __le32 *)slice)[i]));
}

#endif /* VDISK_VMDK_H */
