// SPDX-License-Identifier: GPL-2.0
/*
 * vd_walk.c - resolving a guest range through a stack of layers.
 *
 * For each piece of the range the walk asks the top layer first and goes
 * down while the answer is "not here" (VD_EXT_BACKING), narrowing the piece
 * to what every layer above said.  Iterative on purpose: chains are up to
 * VDISK_MAX_LAYERS deep and kernel stacks are small.  Runs that continue
 * each other are merged so that one request spanning many clusters becomes
 * one I/O per contiguous run, not one per cluster.
 *
 * The map callbacks are format code reading untrusted metadata; their
 * answers are checked here so a confused format cannot make the walk loop
 * forever or step outside the range asked for.
 */
#include "vd_walk.h"

static bool vd_run_extends(const struct vd_run *run, const struct vd_run *next)
{
	if (run->kind != next->kind || run->pos + run->len != next->pos ||
	    run->kind == VD_EXT_FORMAT)
		return false;
	if (run->kind == VD_EXT_ZERO)
		return true;
	return run->level == next->level && run->file == next->file &&
	       run->host_off + run->len == next->host_off;
}

/**
 * vd_walk() - resolve [@pos, @pos + @len) through @nr_levels layers
 * @ops:       callbacks
 * @ctx:       passed to the callbacks
 * @nr_levels: layers in the stack, top (level 0) first; 0 reads zeros
 * @pos:       start in the virtual disk
 * @len:       bytes
 *
 * Return: 0 once every byte was emitted, the first error of a callback, or
 * -EIO if a map callback answered with a length of 0, a length beyond what
 * was asked, an unknown kind, or a data offset that overflows.
 */
int vd_walk(const struct vd_walk_ops *ops, void *ctx, unsigned int nr_levels,
	    u64 pos, u64 len)
{
	struct vd_run pending = { 0 };
	bool have_pending = false;
	int ret;

	while (len) {
		struct vd_run run = { .kind = VD_EXT_ZERO, .pos = pos };
		u64 piece = len;
		unsigned int level;

		for (level = 0; level < nr_levels; level++) {
			struct vd_ext ext = { 0 };

			ret = ops->map(ctx, level, pos, piece, &ext);
			if (ret)
				return ret;
			if (!ext.len || ext.len > piece || ext.kind >= VD_EXT_COUNT)
				return -EIO;
			if (ext.kind == VD_EXT_DATA &&
			    ext.host_off + ext.len < ext.host_off)
				return -EIO;
			piece = ext.len;
			if (ext.kind == VD_EXT_BACKING)
				continue;
			run.kind = ext.kind;
			run.level = level;
			run.file = ext.file;
			run.host_off = ext.host_off;
			run.aux = ext.aux;
			break;
		}
		run.len = piece;
		if (run.kind == VD_EXT_ZERO) {
			run.level = 0;
			run.file = 0;
			run.host_off = 0;
			run.aux = 0;
		}

		if (have_pending && vd_run_extends(&pending, &run)) {
			pending.len += run.len;
		} else {
			if (have_pending) {
				ret = ops->emit(ctx, &pending);
				if (ret)
					return ret;
			}
			pending = run;
			have_pending = true;
		}
		pos += piece;
		len -= piece;
	}
	return have_pending ? ops->emit(ctx, &pending) : 0;
}
