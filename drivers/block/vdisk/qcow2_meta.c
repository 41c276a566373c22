// SPDX-License-Identifier: GPL-2.0
/*
 * qcow2_meta.c - overlap checks: is a range of a writable qcow2 layer's
 * file metadata?
 *
 * Like QEMU ("Preventing invalid write on metadata", overlap-check=cached)
 * the write path checks every range it is about to write in place,
 * allocate, free or punch against the image's metadata, and a hit marks
 * the image corrupt instead.  An L2 entry read from the image may point
 * anywhere: at the header, at an L2 table or a refcount block.
 *
 * The header, L1 and refcount table are found from their fields.  The
 * snapshot table and the snapshots' L1 tables are fixed while the layer is
 * open (vdisk neither takes nor deletes snapshots): a sorted array of
 * merged byte ranges, read at open.  The active L2 tables and the refcount
 * blocks can be anywhere and change as the layer is written: a sorted
 * array of their cluster indexes, at most one per L1 and refcount table
 * entry (both of which are in memory anyway), built at open and kept up to
 * date by the allocator.  New tables go to the end of the file, so an
 * insert is almost always an append.  Writers hold alloc_lock; readers,
 * on every guest write, take no lock (see vd_qcow2_meta_hit()).
 */
#include <linux/rcupdate.h>
#include <linux/seqlock.h>
#include <linux/slab.h>
#include <linux/sort.h>

#include "mcache.h"
#include "qcow2.h"

/* First index of a cluster >= @c in @meta[0, @nr). */
static u32 vd_qcow2_meta_find(const u64 *meta, u32 nr, u64 c)
{
	u32 lo = 0, hi = nr;

	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;

		if (meta[mid] < c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Is a cluster of [@first, @last] an L2 table or a refcount block?  On
 * every write, so it takes no lock: a search that overlapped a change
 * (@meta_seq) is done again, and an array replaced meanwhile stays until
 * an RCU grace period has passed.
 */
static bool vd_qcow2_meta_hit(struct vd_qcow2_rw *rw, u64 first, u64 last)
{
	const u64 *meta;
	unsigned int seq;
	bool hit;
	u32 nr, i;

	rcu_read_lock();
	do {
		seq = read_seqcount_begin(&rw->meta_seq);
		/* Pairs with the release in vd_qcow2_meta_add(): @meta holds @nr. */
		nr = smp_load_acquire(&rw->nr_meta);
		meta = rcu_dereference(rw->meta);
		i = vd_qcow2_meta_find(meta, nr, first);
		hit = i < nr && meta[i] <= last;
	} while (read_seqcount_retry(&rw->meta_seq, seq));
	rcu_read_unlock();
	return hit;
}

/* Does [@off, @end) meet a snapshot table or a snapshot's L1 table? */
static bool vd_qcow2_snap_hit(const struct vd_qcow2_rw *rw, u64 off, u64 end)
{
	u32 lo = 0, hi = rw->nr_snap;

	/* The first range ending after @off is the only one that can meet. */
	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;

		if (rw->snap[mid].off + rw->snap[mid].len <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < rw->nr_snap && rw->snap[lo].off < end;
}

/*
 * What of [@off, @off + @len) is metadata that no table entry points at:
 * the header cluster, the L1 table, the refcount table, the snapshot table
 * and the snapshots' L1 tables.  Return: its name, or NULL.
 */
static const char *vd_qcow2_fixed_what(struct vd_qcow2 *q, u64 off, u64 len)
{
	struct vd_qcow2_rw *rw = q->rw;
	unsigned int cb = q->h.cluster_bits;
	u64 end = off + len;

	if (off < q->h.cluster_size)
		return "the header";
	if (off < q->l1_offset + (u64)q->l1_entries * 8 && q->l1_offset < end)
		return "the L1 table";
	if (!rw)
		return NULL;
	if (off < rw->reftable_off + ((u64)rw->reftable_clusters << cb) &&
	    rw->reftable_off < end)
		return "the refcount table";
	if (vd_qcow2_snap_hit(rw, off, end))
		return "a snapshot table";
	return NULL;
}

static bool vd_qcow2_fixed_metadata(struct vd_qcow2 *q, u64 off, u64 len)
{
	return vd_qcow2_fixed_what(q, off, len);
}

/**
 * vd_qcow2_is_metadata() - does a range of the file hold metadata?
 * @q:   the layer's state
 * @off: first byte
 * @len: bytes, at least 1
 *
 * The header cluster, the L1 table and, for a writable layer, the refcount
 * table and blocks, the active L2 tables, the snapshot table and the
 * snapshots' L1 tables.  Takes no lock: fit for VD_MAP_NOWAIT.
 */
bool vd_qcow2_is_metadata(struct vd_qcow2 *q, u64 off, u64 len)
{
	unsigned int cb = q->h.cluster_bits;

	if (vd_qcow2_fixed_metadata(q, off, len))
		return true;
	return q->rw && vd_qcow2_meta_hit(q->rw, off >> cb, (off + len - 1) >> cb);
}

/**
 * vd_qcow2_meta_add() - an L2 table or refcount block now lives at @off
 * @q:   a writable layer's state
 * @off: its file offset
 *
 * Called with alloc_lock held (the only writer of the array).
 * Return: 0 or -ENOMEM (the caller must not use the new table).
 */
int vd_qcow2_meta_add(struct vd_qcow2 *q, u64 off)
{
	struct vd_qcow2_rw *rw = q->rw;
	u64 c = off >> q->h.cluster_bits, *meta, *grown;
	u32 nr = rw->nr_meta, i, cap;

	lockdep_assert_held(&rw->alloc_lock);
	meta = rcu_dereference_protected(rw->meta, lockdep_is_held(&rw->alloc_lock));
	i = vd_qcow2_meta_find(meta, nr, c);
	if (nr < rw->meta_cap) {
		write_seqcount_begin(&rw->meta_seq);
		memmove(&meta[i + 1], &meta[i], (size_t)(nr - i) * sizeof(u64));
		meta[i] = c;
		/* Pairs with the acquire in vd_qcow2_meta_hit(). */
		smp_store_release(&rw->nr_meta, nr + 1);
		write_seqcount_end(&rw->meta_seq);
		return 0;
	}
	/* Full: a larger copy, published whole; readers may hold the old. */
	cap = rw->meta_cap * 2 + 64;
	if (vd_budget_charge(q->mem, (u64)cap * sizeof(u64))) {
		pr_warn_ratelimited("vdisk: qcow2 overlap checks of %u tables: over the memory budget (module parameters layer_mem_mib, total_mem_mib)\n",
				    nr);
		return -ENOMEM;
	}
	grown = kvmalloc_array(cap, sizeof(u64), GFP_KERNEL);
	if (!grown) {
		vd_budget_uncharge(q->mem, (u64)cap * sizeof(u64));
		return -ENOMEM;
	}
	memcpy(grown, meta, (size_t)i * sizeof(u64));
	grown[i] = c;
	memcpy(&grown[i + 1], &meta[i], (size_t)(nr - i) * sizeof(u64));
	write_seqcount_begin(&rw->meta_seq);
	rcu_assign_pointer(rw->meta, grown);
	/* After the pointer: a reader never sees @nr past its array's end. */
	smp_store_release(&rw->nr_meta, nr + 1);
	write_seqcount_end(&rw->meta_seq);
	swap(rw->meta_cap, cap);
	synchronize_rcu();
	kvfree(meta);
	vd_budget_uncharge(q->mem, (u64)cap * sizeof(u64));
	return 0;
}

/**
 * vd_qcow2_meta_del() - the L2 table at @off is no longer an active one
 * @q:   a writable layer's state
 * @off: its file offset
 *
 * Called with alloc_lock held.
 */
void vd_qcow2_meta_del(struct vd_qcow2 *q, u64 off)
{
	struct vd_qcow2_rw *rw = q->rw;
	u64 c = off >> q->h.cluster_bits, *meta;
	u32 nr = rw->nr_meta, i;

	lockdep_assert_held(&rw->alloc_lock);
	meta = rcu_dereference_protected(rw->meta, lockdep_is_held(&rw->alloc_lock));
	i = vd_qcow2_meta_find(meta, nr, c);
	if (i == nr || meta[i] != c)
		return;
	write_seqcount_begin(&rw->meta_seq);
	memmove(&meta[i], &meta[i + 1], (size_t)(nr - i - 1) * sizeof(u64));
	/* Pairs with the acquire in vd_qcow2_meta_hit(). */
	smp_store_release(&rw->nr_meta, nr - 1);
	write_seqcount_end(&rw->meta_seq);
}

static int vd_qcow2_cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

static int vd_qcow2_cmp_range(const void *a, const void *b)
{
	return vd_qcow2_cmp_u64(&((const struct vd_qcow2_range *)a)->off,
				&((const struct vd_qcow2_range *)b)->off);
}

struct vd_qcow2_snap_ctx {
	struct vd_qcow2_range *r;
	u32 nr;
	u64 table_end;
};

static int vd_qcow2_snap_range(void *ctx, const struct vd_qcow2_snapshot *s,
			       u64 off, u64 len)
{
	struct vd_qcow2_snap_ctx *sc = ctx;

	sc->table_end = off + len;
	if (s->l1_size)
		sc->r[sc->nr++] = (struct vd_qcow2_range){ s->l1_offset, (u64)s->l1_size * 8 };
	return 0;
}

/* The snapshot table and the snapshots' L1 tables, sorted and merged. */
static int vd_qcow2_snap_init(struct vd_layer *layer, struct vd_qcow2 *q,
			      const struct vd_open_args *args)
{
	struct vd_qcow2_rw *rw = q->rw;
	struct vd_qcow2_snap_ctx sc = { .table_end = q->h.snapshots_offset };
	u32 i, n;
	int ret;

	if (!q->h.nb_snapshots)
		return 0;
	ret = vd_layer_charge(layer, args, ((u64)q->h.nb_snapshots + 1) * sizeof(*sc.r),
			      "ranges of %u snapshots", q->h.nb_snapshots);
	if (ret)
		return ret;
	sc.r = kvmalloc_array((size_t)q->h.nb_snapshots + 1, sizeof(*sc.r), GFP_KERNEL);
	if (!sc.r)
		return -ENOMEM;
	ret = vd_qcow2_for_each_snapshot(layer, q, vd_qcow2_snap_range, &sc, args);
	if (ret) {
		kvfree(sc.r);
		return ret;
	}
	sc.r[sc.nr++] = (struct vd_qcow2_range){ q->h.snapshots_offset,
						 sc.table_end - q->h.snapshots_offset };
	sort(sc.r, sc.nr, sizeof(*sc.r), vd_qcow2_cmp_range, NULL);
	for (i = 1, n = 1; i < sc.nr; i++) {
		struct vd_qcow2_range *last = &sc.r[n - 1];

		if (sc.r[i].off <= last->off + last->len)
			last->len = max(last->len, sc.r[i].off + sc.r[i].len - last->off);
		else
			sc.r[n++] = sc.r[i];
	}
	rw->snap = sc.r;
	rw->nr_snap = n;
	return 0;
}

/*
 * Before the layer is written: no L2 table or refcount block may lie on
 * the header, L1, the refcount table or a snapshot table, and no L2 table
 * on another L2 table or on a refcount block.  Writing such an image would
 * write L2 entries into the refcount table or refcounts into an L2 table;
 * QEMU's overlap check refuses those writes too.  (Refcount-table entries
 * sharing a block only miscount: the allocator's checks cope with that.)
 *
 * @tagged holds each table's cluster shifted left by one, the low bit set
 * for a refcount block, sorted: tables sharing a cluster are neighbours.
 */
static int vd_qcow2_meta_check(struct vd_layer *layer, struct vd_qcow2 *q,
			       const u64 *tagged, u32 n,
			       const struct vd_open_args *args)
{
	unsigned int cb = q->h.cluster_bits;
	const char *what;
	u32 i;

	for (i = 0; i < n; i++) {
		u64 off = (tagged[i] >> 1) << cb;
		bool shared = i && tagged[i] >> 1 == tagged[i - 1] >> 1 &&
			      !(tagged[i] & tagged[i - 1] & 1);

		what = vd_qcow2_fixed_what(q, off, q->h.cluster_size);
		if (!what && !shared)
			continue;
		vd_msg_set(args->msg,
			   "layer %u (%s): the %s at %#llx overlaps %s; qemu-img check -r all may repair it",
			   args->index, layer->path,
			   tagged[i] & 1 ? "refcount block" : "L2 table", off,
			   what ?: "another table");
		return -EINVAL;
	}
	return 0;
}

/**
 * vd_qcow2_meta_init() - find the metadata of a layer being opened writable
 * @layer: the layer; its L1 and refcount table loaded
 * @args:  open arguments (messages)
 *
 * Return: 0 or -errno.
 */
int vd_qcow2_meta_init(struct vd_layer *layer, const struct vd_open_args *args)
{
	struct vd_qcow2 *q = layer->priv;
	struct vd_qcow2_rw *rw = q->rw;
	unsigned int cb = q->h.cluster_bits;
	u32 i, n = 0;
	u64 *meta;
	int ret;

	seqcount_init(&rw->meta_seq);
	rw->meta_cap = q->l1_entries + rw->reftable_entries + 64;
	ret = vd_layer_charge(layer, args, (u64)rw->meta_cap * sizeof(u64),
			      "overlap check array of %u tables", rw->meta_cap);
	if (ret)
		return ret;
	meta = kvmalloc_array(rw->meta_cap, sizeof(u64), GFP_KERNEL);
	if (!meta)
		return -ENOMEM;
	for (i = 0; i < q->l1_entries; i++)
		if (VD_QCOW2_L1_OFF(q->l1[i]))
			meta[n++] = (VD_QCOW2_L1_OFF(q->l1[i]) >> cb) << 1;
	for (i = 0; i < rw->reftable_entries; i++)
		if (rw->reftable[i])
			meta[n++] = ((rw->reftable[i] >> cb) << 1) | 1;
	sort(meta, n, sizeof(u64), vd_qcow2_cmp_u64, NULL);
	RCU_INIT_POINTER(rw->meta, meta);
	ret = vd_qcow2_snap_init(layer, q, args);
	if (!ret)
		ret = vd_qcow2_meta_check(layer, q, meta, n, args);
	/* the tags only served the check: the array holds clusters */
	for (i = 0; i < n; i++)
		meta[i] >>= 1;
	rw->nr_meta = n;
	return ret;
}

void vd_qcow2_meta_free(struct vd_qcow2_rw *rw)
{
	/* No reader left: the layer is going away. */
	kvfree(rcu_dereference_protected(rw->meta, true));
	kvfree(rw->snap);
}
