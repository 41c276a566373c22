/* SPDX-License-Identifier: GPL-2.0 */
/*
 * qcow2.h - state shared by the qcow2 files of the driver:
 *   qcow2.c         open, close, map, reading compressed clusters
 *   qcow2_alloc.c   refcounts, the cluster allocator, deferred frees
 *   qcow2_write.c   allocating writes, L2 tables, discard/write zeroes
 *   qcow2_flush.c   writing metadata back in crash-safe order
 *   qcow2_backing.c pointing the layer at another backing file
 */
#ifndef VDISK_QCOW2_H
#define VDISK_QCOW2_H

#include <linux/hash.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/xarray.h>

#include "vd_qcow2.h"
#include "vdisk.h"

/* In-memory L1 entries keep the COPIED bit next to the offset. */
#define VD_QCOW2_L1_COPIED	VD_QCOW2_OFLAG_COPIED
#define VD_QCOW2_L1_OFF(e)	((e) & VD_QCOW2_L1E_OFFSET_MASK)

#define VD_QCOW2_SLICE_LOCKS	64
/* Clusters freed but not yet released, kept as merged extents. */
#define VD_QCOW2_MAX_FREES	512
/*
 * Refcounts one allocation reads before it gives up on reusing a cluster
 * and appends: they come from the image, and one whose refcount blocks
 * claim every cluster would otherwise have a guest write walk billions of
 * them under alloc_lock.
 */
#define VD_QCOW2_ALLOC_SCAN	65536U
/* Cluster buffers kept for copy-on-write, at most 8 or 4 MiB of them. */
#define VD_QCOW2_SPARES		8

/* A byte range of the file. */
struct vd_qcow2_range {
	u64 off;
	u64 len;
};

struct vd_qcow2_free {
	u64 off;	/* first byte (cluster aligned) */
	u64 len;	/* bytes (whole clusters) */
};

/**
 * struct vd_qcow2_rw - what only a writable layer has
 *
 * Locking, outermost first:
 *   @flush_lock   one flush at a time (qcow2_flush.c)
 *   inflight      a guest cluster being (re)allocated or discarded is
 *                 marked in @inflight; others wanting it sleep on
 *                 @inflight_wq.  Taken in ascending cluster order, so two
 *                 requests never wait for each other.  Not a lock to
 *                 lockdep, but held across everything below.
 *   @meta_rwsem   shared: a change to refcounts, L1 or L2 in memory;
 *                 exclusive: a flush writing them back, so that it sees
 *                 every link with the refcounts it depends on
 *   @alloc_lock   the allocator: refcount slices, @reftable, @file_end,
 *                 @hint, @frees, and creating/copying L2 tables (L1)
 *   slice_lock[]  hashed by L2 slice offset: the entries of a cached L2
 *                 slice while they are read or changed (16-byte extended
 *                 entries must not be seen half written)
 *   @meta_seq     @meta and @nr_meta change only under @alloc_lock, in
 *                 a write section of this seqcount; searches take no lock
 *                 and retry (qcow2_meta.c)
 * Data I/O is never done under @meta_rwsem except zero-filling a new
 * table, so a flush waits for memory updates, not for guest data.
 *
 * @reftable:      refcount block offsets (host order), @reftable_entries
 * @reftable_off:  where the table lives now (moves when it grows)
 * @reftable_clusters: its size in clusters
 * @reftable_moved: the header must be pointed at the new table
 * @reftable_dirty: one bit per 512 bytes of @reftable to write back
 * @l1_dirty:      one bit per 512 bytes of the L1 table to write back
 * @rb_owner:      mcache owner of refcount block slices (L2 slices use the
 *                 layer itself)
 * @rb_bits:       log2 of refcount entries per refcount block
 * @file_end:      first byte past every allocated cluster (bump pointer)
 * @hint:          no free cluster below this one (cluster index); an
 *                 allocation scans at most VD_QCOW2_ALLOC_SCAN from it
 * @frees:         clusters whose last reference was dropped in memory:
 *                 released (refcount decremented, hole punched) only
 *                 after the L2/L1 change is on disk
 * @nr_frees:      entries in @frees
 * @dirty_slices:  L2 + refcount slices dirty in the cache
 * @dirty_limit:   beyond this a writer flushes metadata itself
 * @inflight:      guest cluster index -> marker, see above
 * @inflight_wq:   woken when a marker goes
 * @bounce_lock:   protects @bounce
 * @bounce:        one cluster, for copy-on-write when allocation fails
 * @spare_lock:    protects @spare and @nr_spare
 * @spare:         cluster buffers kept for reuse: allocating and freeing
 *                 one per write (vmalloc for big clusters) costs more than
 *                 the copy-on-write itself
 * @zero_busy:     a writer is zeroing [@zero_start, @zero_end) of the file
 *                 ahead of the allocator (qcow2_write.c, "zeroing ahead");
 *                 set under @alloc_lock while clear; while set only that
 *                 writer changes @zero_*, @zeroed_end, @zero_ok and clears
 *                 it with smp_store_release() when done (it takes no lock
 *                 of the layer meanwhile); allocations reaching into the
 *                 range wait on @zero_wq, holding @alloc_lock
 * @zero_start:    see @zero_busy
 * @zero_end:      see @zero_busy
 * @zeroed_end:    the zeroing ahead has covered the file up to here
 * @zero_ok:       zeroing ahead is on (direct I/O files only); cleared for
 *                 good at the first failed zeroing write
 * @zero_wq:       woken when @zero_busy clears
 * @meta:          sorted cluster indexes of the active L2 tables and the
 *                 refcount blocks, for the overlap checks (qcow2_meta.c)
 * @nr_meta:       entries in @meta
 * @meta_cap:      room in @meta
 * @snap:          the snapshot table and the snapshots' L1 tables: sorted,
 *                 merged byte ranges, fixed while the layer is open
 * @nr_snap:       entries in @snap
 */
struct vd_qcow2_rw {
	struct mutex flush_lock;	/* see above */
	struct rw_semaphore meta_rwsem;	/* see above */
	struct mutex alloc_lock;	/* see above */
	spinlock_t slice_lock[VD_QCOW2_SLICE_LOCKS];

	u64 *reftable;
	u32 reftable_entries;
	u64 reftable_off;
	u32 reftable_clusters;
	bool reftable_moved;
	unsigned long *reftable_dirty;
	unsigned long *l1_dirty;
	bool header_dirty;
	char rb_owner;
	unsigned int rb_bits;

	u64 file_end;
	u64 hint;
	struct vd_qcow2_free frees[VD_QCOW2_MAX_FREES];
	unsigned int nr_frees;

	atomic_t dirty_slices;
	unsigned int dirty_limit;

	struct xarray inflight;
	wait_queue_head_t inflight_wq;

	struct mutex bounce_lock;	/* see above */
	void *bounce;
	spinlock_t spare_lock;		/* see above */
	void *spare[VD_QCOW2_SPARES];
	unsigned int nr_spare;

	bool zero_busy;			/* see above */
	u64 zero_start;
	u64 zero_end;
	u64 zeroed_end;
	bool zero_ok;
	wait_queue_head_t zero_wq;

	seqcount_t meta_seq;		/* see above */
	u64 __rcu *meta;
	u32 nr_meta;
	u32 meta_cap;
	struct vd_qcow2_range *snap;
	u32 nr_snap;
};

/**
 * struct vd_qcow2 - state of one qcow2 layer
 * @h:            the validated header
 * @l1:           L2 table offsets in host order with the COPIED bit, 0 =
 *                unallocated; changed only under rw->alloc_lock, read with
 *                READ_ONCE
 * @l1_entries:   entries in @l1
 * @l1_offset:    where the L1 table is in the file
 * @size:         virtual bytes served (the snapshot's size for -l)
 * @file_size:    image file size at open
 * @slice_bytes:  bytes of one cached L2 slice
 * @slice_entries_bits: log2 of L2 entries per slice
 * @cache:        the device's metadata cache
 * @decomp:       decompression contexts
 * @mem:          the layer's memory budget, charged for the tables
 * @rw:           writable layers only, else NULL
 */
struct vd_qcow2 {
	struct vd_qcow2_header h;
	u64 *l1;
	u32 l1_entries;
	u64 l1_offset;
	u64 size;
	u64 file_size;
	unsigned int slice_bytes;
	unsigned int slice_entries_bits;
	struct vd_mcache *cache;
	struct vd_decomp_pool *decomp;
	struct vd_budget *mem;
	struct vd_qcow2_rw *rw;
};

static inline spinlock_t *vd_qcow2_slice_lock(struct vd_qcow2 *q, u64 slice_off)
{
	return &q->rw->slice_lock[hash_64(slice_off, 6)];
}

/* qcow2.c */
int vd_qcow2_corrupt(struct vd_layer *layer, const char *what, int err);
int vd_qcow2_slice_get(struct vd_layer *layer, u64 slice_off,
		       struct vd_mentry **out);
int vd_qcow2_slice_lookup(struct vd_layer *layer, u64 slice_off,
			  unsigned int flags, struct vd_mentry **out);

int vd_qcow2_for_each_snapshot(struct vd_layer *layer, struct vd_qcow2 *q,
			       int (*fn)(void *ctx, const struct vd_qcow2_snapshot *s,
					 u64 off, u64 len),
			       void *ctx, const struct vd_open_args *args);

/* qcow2_alloc.c */
int vd_qcow2_rw_open(struct vd_layer *layer, const struct vd_open_args *args);
void vd_qcow2_rw_free(struct vd_qcow2 *q);
int vd_qcow2_alloc(struct vd_layer *layer, u64 want, u64 *off, u64 *got,
		   bool *fresh);
int vd_qcow2_free_later(struct vd_layer *layer, u64 off, u64 len);
int vd_qcow2_release_frees(struct vd_layer *layer,
			   const struct vd_qcow2_free *frees, unsigned int nr);
/* qcow2_meta.c */
bool vd_qcow2_is_metadata(struct vd_qcow2 *q, u64 off, u64 len);
int vd_qcow2_meta_add(struct vd_qcow2 *q, u64 off);
void vd_qcow2_meta_del(struct vd_qcow2 *q, u64 off);
int vd_qcow2_meta_init(struct vd_layer *layer, const struct vd_open_args *args);
void vd_qcow2_meta_free(struct vd_qcow2_rw *rw);
void vd_qcow2_mark_corrupt(struct vd_layer *layer, const char *why);

/* qcow2_write.c */
int vd_qcow2_map_write(struct vd_layer *layer, u64 pos, u64 len,
		       unsigned int flags, struct vd_ext *ext);
int vd_qcow2_write_run(struct vd_layer *layer, const struct vd_chain *chain,
		       const struct vd_run *run, struct iov_iter *iter);
int vd_qcow2_discard(struct vd_layer *layer, const struct vd_chain *chain,
		     u64 pos, u64 len, enum vd_discard_mode mode);
void vd_qcow2_trim(struct vd_layer *layer);

/* qcow2_flush.c */
int vd_qcow2_flush(struct vd_layer *layer);
int vd_qcow2_flush_if_full(struct vd_layer *layer);
void vd_qcow2_close_rw(struct vd_layer *layer);

/* qcow2_backing.c */
int vd_qcow2_set_backing_file(struct vd_layer *layer, const char *name,
			      unsigned int fmt, struct vd_layer *parent,
			      struct vd_msg *msg);

#endif /* VDISK_QCOW2_H */
