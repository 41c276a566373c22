/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vd_walk.h - resolving a guest range through a stack of layers.
 */
#ifndef VD_WALK_H
#define VD_WALK_H

#include "vd_pure.h"

/**
 * enum vd_ext_kind - what a layer holds for a range of the virtual disk
 * @VD_EXT_DATA:    bytes at @host_off of the layer's file number @file
 * @VD_EXT_ZERO:    reads as zeros (zero cluster, zeroed grain, past the
 *                  layer's end); the walk stops here
 * @VD_EXT_BACKING: not allocated in this layer: look in the next one; below
 *                  the last layer it reads as zeros
 * @VD_EXT_FORMAT:  the format produces these bytes itself (a compressed
 *                  cluster): @host_off and @aux are the format's to use.
 *                  Never merged with a neighbour.
 * @VD_EXT_COUNT:   number of kinds
 */
enum vd_ext_kind {
	VD_EXT_DATA,
	VD_EXT_ZERO,
	VD_EXT_BACKING,
	VD_EXT_FORMAT,
	VD_EXT_COUNT
};

/**
 * struct vd_ext - one answer of a layer's map function
 * @kind:     enum vd_ext_kind
 * @file:     which file of the layer holds DATA (0: the main file)
 * @len:      bytes the answer covers, 1..the length asked for
 * @host_off: offset of DATA in that file; FORMAT: the format's
 * @aux:      FORMAT: the format's (e.g. compressed length)
 */
struct vd_ext {
	u32 kind;
	u32 file;
	u64 len;
	u64 host_off;
	u64 aux;
};

/**
 * struct vd_run - a resolved piece of a request, emitted by vd_walk()
 * @level:    index of the layer that provides it (meaningless for zeros)
 * @kind:     VD_EXT_DATA, VD_EXT_ZERO or VD_EXT_FORMAT
 * @file:     file of that layer, for DATA
 * @pos:      offset in the virtual disk
 * @len:      bytes
 * @host_off: offset in the file, for DATA; the format's for FORMAT
 * @aux:      the format's, for FORMAT
 */
struct vd_run {
	u32 level;
	u32 kind;
	u32 file;
	u64 pos;
	u64 len;
	u64 host_off;
	u64 aux;
};

/**
 * struct vd_walk_ops - the two callbacks of a walk
 * @map:  ask layer @level what it holds at @pos for up to @len bytes.
 *        Return 0 with @ext filled, or a negative errno that ends the walk.
 * @emit: receive the next run.  Adjacent runs the walk can merge (zeros
 *        after zeros; data contiguous in the same file of the same layer)
 *        arrive as one.  A negative return ends the walk with that error.
 */
struct vd_walk_ops {
	int (*map)(void *ctx, unsigned int level, u64 pos, u64 len,
		   struct vd_ext *ext);
	int (*emit)(void *ctx, const struct vd_run *run);
};

int vd_walk(const struct vd_walk_ops *ops, void *ctx, unsigned int nr_levels,
	    u64 pos, u64 len);

#endif /* VD_WALK_H */
