// SPDX-License-Identifier: GPL-2.0
/*
 * vmdk_meta.c - overlap checks of a writable sparse vmdk extent: grain
 * table entries read from the image must not name metadata, nor grains
 * the driver appends later.
 *
 * Two ways a hostile entry makes guest writes hit what they must not:
 *
 *   - it covers the header, the descriptor (whose parentFileNameHint
 *     vdattach follows next time), a grain directory or a grain table:
 *     a guest write would rewrite it in place, a discard punch it;
 *   - it points past the end of the file: harmless until the driver
 *     appends a grain (or a table) there, after which two guest grains
 *     alias each other.
 *
 * The first is answered from the header's fields and a sorted array of
 * the grain tables' sectors (from both directories; new tables appended
 * by vd_vmdk_ensure_gt()).  For the second, a grain table slice the
 * driver has not changed yet is the image's own: an entry there at or
 * past the extent's size at open is refused.  A slice becomes the
 * driver's (@own_slices) when it first changes one of its entries, after
 * its entries have passed that check; from then on entries past the old
 * end are grains the driver appended itself.
 */
#include <linux/seqlock.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/xarray.h>

#include "vmdk.h"

static u64 vd_vmdk_gt_bytes(const struct vd_vmdk_ext *e)
{
	return round_up((u64)e->h.num_gtes * 4, 512);
}

static bool vd_vmdk_overlap(u64 off, u64 end, u64 start, u64 len)
{
	return len && off < start + len && start < end;
}

/* First GT whose end is past @off; @gts_seq read section. */
static u32 vd_vmdk_gt_find(const u32 *gts, u32 nr, u64 gt_bytes, u64 off)
{
	u32 lo = 0, hi = nr;

	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;

		if (((u64)gts[mid] << 9) + gt_bytes <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Does [@off, @off + @len) of @e's file hold its header, descriptor, a
 * grain directory or a grain table?  Lockless: on every in-place write.
 */
static bool vd_vmdk_is_metadata(struct vd_vmdk_ext *e, u64 off, u64 len)
{
	u64 end = off + len, gt_bytes = vd_vmdk_gt_bytes(e), gd_bytes;
	unsigned int seq;
	bool hit;
	u32 nr, i;

	gd_bytes = (u64)e->h.gd_entries * 4;
	if (off < VD_VMDK_HEADER_LEN ||
	    vd_vmdk_overlap(off, end, e->h.desc_offset << 9, e->h.desc_sectors << 9) ||
	    vd_vmdk_overlap(off, end, e->h.gd_offset << 9, gd_bytes) ||
	    (e->h.rgd_offset && vd_vmdk_overlap(off, end, e->h.rgd_offset << 9, gd_bytes)))
		return true;
	do {
		seq = read_seqcount_begin(&e->gts_seq);
		/* Pairs with the release in vd_vmdk_meta_add_gt(). */
		nr = smp_load_acquire(&e->nr_gts);
		i = vd_vmdk_gt_find(e->gts, nr, gt_bytes, off);
		hit = i < nr && ((u64)e->gts[i] << 9) < end;
	} while (read_seqcount_retry(&e->gts_seq, seq));
	return hit;
}

/**
 * vd_vmdk_grain_check() - may a writable extent use this data grain?
 * @e:         the extent
 * @slice_off: file offset of the grain table slice the entry is in
 * @host:      the grain's file offset (from vd_vmdk_gt_entry())
 * @msg:       why not (may be NULL)
 *
 * Return: 0, or -EIO for a grain on metadata or past the end of the file
 * at open in a slice the driver has not changed.
 */
int vd_vmdk_grain_check(struct vd_vmdk_ext *e, u64 slice_off, u64 host,
			struct vd_msg *msg)
{
	if (!e->gts)
		return 0;	/* read-only: nothing is written in place */
	if (host >= e->open_end && !xa_load(&e->own_slices, slice_off >> 9)) {
		vd_msg_set(msg, "grain at sector %llu: past the end of the file when opened",
			   host >> 9);
		return -EIO;
	}
	if (vd_vmdk_is_metadata(e, host, 1ULL << e->h.grain_bits)) {
		vd_msg_set(msg, "grain at sector %llu: on the extent's metadata", host >> 9);
		return -EIO;
	}
	return 0;
}

/**
 * vd_vmdk_own_slice() - the driver is about to change a grain table slice
 * @e:         the extent (e->lock held)
 * @slice_off: the slice's file offset
 * @slice:     its cached bytes
 *
 * The first time: its entries must not point past the end of the file at
 * open (they would alias the grains appended since).
 * Return: 0, or -EIO (logged against the layer by the caller), -ENOMEM.
 */
int vd_vmdk_own_slice(struct vd_vmdk_ext *e, u64 slice_off, const void *slice)
{
	const __le32 *ent = slice;
	u32 i, n = 1U << e->slice_entries_bits;

	lockdep_assert_held(&e->lock);
	if (!e->gts || xa_load(&e->own_slices, slice_off >> 9))
		return 0;
	for (i = 0; i < n; i++) {
		u32 v = le32_to_cpu(READ_ONCE(ent[i]));

		if (v > VD_VMDK_GTE_ZEROED && ((u64)v << 9) >= e->open_end)
			return -EIO;
	}
	return xa_err(xa_store(&e->own_slices, slice_off >> 9, xa_mk_value(1), GFP_NOIO));
}

/**
 * vd_vmdk_meta_add_gt() - a new (zeroed) grain table at sector @sector
 * @e:      the extent (e->lock held)
 * @sector: where it is
 *
 * Its slices are the driver's from the start.  Return: 0 or -ENOMEM.
 */
int vd_vmdk_meta_add_gt(struct vd_vmdk_ext *e, u32 sector)
{
	u64 gt_bytes = vd_vmdk_gt_bytes(e), s;
	u32 nr = e->nr_gts, i;
	int ret;

	lockdep_assert_held(&e->lock);
	for (s = 0; s < gt_bytes; s += e->slice_bytes) {
		ret = xa_err(xa_store(&e->own_slices, sector + (s >> 9), xa_mk_value(1),
				      GFP_NOIO));
		if (ret)
			return ret;
	}
	if (WARN_ON_ONCE(nr == e->gts_cap))
		return -EIO;
	i = vd_vmdk_gt_find(e->gts, nr, gt_bytes, (u64)sector << 9);
	write_seqcount_begin(&e->gts_seq);
	memmove(&e->gts[i + 1], &e->gts[i], (size_t)(nr - i) * sizeof(u32));
	e->gts[i] = sector;
	/* Pairs with the acquire in vd_vmdk_is_metadata(). */
	smp_store_release(&e->nr_gts, nr + 1);
	write_seqcount_end(&e->gts_seq);
	return 0;
}

static int vd_vmdk_cmp_u32(const void *a, const void *b)
{
	u32 x = *(const u32 *)a, y = *(const u32 *)b;

	return x < y ? -1 : x > y;
}

/**
 * vd_vmdk_meta_init() - set up the checks of a writable sparse extent
 * @layer: the layer
 * @e:     the extent, its directories loaded
 * @nr:    its number, for messages
 * @args:  open arguments (a refusal of the memory budget is explained)
 *
 * Room for a table per entry of each directory: the array never grows.
 * Return: 0, -ENOMEM, or -EFBIG over the layer's memory budget.
 */
int vd_vmdk_meta_init(struct vd_layer *layer, struct vd_vmdk_ext *e, u32 nr,
		      const struct vd_open_args *args)
{
	u32 i, n = 0;
	u64 bytes;
	int ret;

	e->open_end = e->file_size;
	xa_init(&e->own_slices);
	seqcount_init(&e->gts_seq);
	e->gts_cap = e->h.gd_entries * (e->rgd ? 2 : 1);
	bytes = (u64)max(e->gts_cap, 1U) * sizeof(u32);
	ret = vd_layer_charge(layer, args, bytes, "extent %u: overlap checks of %u grain tables",
			      nr, e->gts_cap);
	if (ret)
		return ret;
	e->gts = kvmalloc(bytes, GFP_KERNEL);
	if (!e->gts) {
		vd_budget_uncharge(&layer->mem, bytes);
		return -ENOMEM;
	}
	for (i = 0; i < e->h.gd_entries; i++) {
		if (e->gd[i])
			e->gts[n++] = e->gd[i];
		if (e->rgd && e->rgd[i])
			e->gts[n++] = e->rgd[i];
	}
	sort(e->gts, n, sizeof(u32), vd_vmdk_cmp_u32, NULL);
	e->nr_gts = n;
	return 0;
}

void vd_vmdk_meta_free(struct vd_vmdk_ext *e)
{
	if (!e->gts)
		return;
	xa_destroy(&e->own_slices);
	kvfree(e->gts);
	e->gts = NULL;
}
