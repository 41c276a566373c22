// SPDX-License-Identifier: GPL-2.0
/*
 * raw.c - the raw format: byte N of the disk is byte N of the file.
 *
 * The virtual size is the file size at attach time, rounded down to whole
 * sectors.  A raw layer below a larger layer reads as zeros past its end.
 * Discard punches holes; write-zeroes with REQ_NOUNMAP zeroes in place.
 */
#include <linux/fs.h>
#include <linux/falloc.h>

#include "vdisk.h"

static int vd_raw_open(struct vd_layer *layer, const struct vd_open_args *args)
{
	struct file *file = layer->files[0];
	loff_t size = i_size_read(file->f_mapping->host);

	if (layer->nr_files != 1) {
		vd_msg_set(args->msg, "layer %u (%s): raw takes one file, got %u",
			   args->index, layer->path, layer->nr_files);
		return -EINVAL;
	}
	if (size < 0) {
		vd_msg_set(args->msg, "layer %u (%s): negative file size",
			   args->index, layer->path);
		return -EINVAL;
	}
	layer->virtual_size = round_down((u64)size, SECTOR_SIZE);
	if (!layer->virtual_size && args->index == 0) {
		vd_msg_set(args->msg, "layer 0 (%s): raw image is smaller than one sector",
			   layer->path);
		return -EINVAL;
	}
	return 0;
}

static void vd_raw_close(struct vd_layer *layer)
{
}

static int vd_raw_map(struct vd_layer *layer, u64 pos, u64 len,
		      unsigned int flags, struct vd_ext *ext)
{
	if (pos >= layer->virtual_size) {
		ext->kind = VD_EXT_ZERO;
		ext->len = len;
		return 0;
	}
	ext->kind = VD_EXT_DATA;
	ext->file = 0;
	ext->host_off = pos;
	ext->len = min(len, layer->virtual_size - pos);
	return 0;
}

static int vd_raw_flush(struct vd_layer *layer)
{
	return vd_file_sync(layer->files[0]);
}

static int vd_raw_discard(struct vd_layer *layer, const struct vd_chain *chain,
			  u64 pos, u64 len, enum vd_discard_mode mode)
{
	struct file *file = layer->files[0];
	int fmode = FALLOC_FL_KEEP_SIZE;

	if (pos >= layer->virtual_size)
		return 0;
	len = min(len, layer->virtual_size - pos);
	/* A raw file has nothing below it: a hole reads as zeros. */
	fmode |= mode == VD_DISCARD_ZERO_NOUNMAP ? FALLOC_FL_ZERO_RANGE :
						   FALLOC_FL_PUNCH_HOLE;
	return vfs_fallocate(file, fmode, pos, len);
}

const struct vd_format_ops vd_raw_ops = {
	.format		= VDISK_FMT_RAW,
	.open		= vd_raw_open,
	.close		= vd_raw_close,
	.map		= vd_raw_map,
	.flush		= vd_raw_flush,
	.discard	= vd_raw_discard,
};
