/* SPDX-License-Identifier: GPL-2.0 */
/*
 * budget.h - memory taken on behalf of an image, counted per layer and
 * for the whole module, and refused past the module parameters
 * layer_mem_mib and total_mem_mib.
 *
 * An image decides how large its tables are (a grain directory per vmdk
 * extent, up to 4096 extents; a qcow2 L1 and refcount table; the overlap
 * checks' arrays) and, by its compressed clusters, how many decompression
 * contexts are made.  Each such allocation is charged before it is made,
 * so that a hostile image is refused with a message naming the budget
 * instead of running the machine out of memory.  Fixed-size allocations
 * (a layer's state, per-request buffers, transient reads at open) and the
 * metadata cache (sized by cache_kib) are not charged.
 */
#ifndef VDISK_BUDGET_H
#define VDISK_BUDGET_H

#include <linux/atomic.h>
#include <linux/compiler_attributes.h>
#include <linux/types.h>

struct vd_layer;
struct vd_open_args;

/**
 * struct vd_budget - bytes one layer holds for its image
 * @used: charged and not yet uncharged.  An atomic, no lock: charges come
 *        from open() and from the I/O path (decompression contexts, tables
 *        that grow as a layer is written) at once.  Each charge is added
 *        to the module-wide total too; vd_budget_release() gives back
 *        what is left when the layer goes.
 */
struct vd_budget {
	atomic64_t used;
};

/* The module parameters layer_mem_mib and total_mem_mib, read at each charge. */
extern unsigned int vd_layer_mem_mib;
extern unsigned int vd_total_mem_mib;

int vd_budget_init(void);
int vd_budget_charge(struct vd_budget *b, u64 bytes);
void vd_budget_uncharge(struct vd_budget *b, u64 bytes);
void vd_budget_release(struct vd_budget *b);
u64 vd_budget_total(void);

static inline u64 vd_budget_used(const struct vd_budget *b)
{
	return atomic64_read(&b->used);
}

__printf(4, 5)
int vd_layer_charge(struct vd_layer *layer, const struct vd_open_args *args,
		    u64 bytes, const char *fmt, ...);

#endif /* VDISK_BUDGET_H */
