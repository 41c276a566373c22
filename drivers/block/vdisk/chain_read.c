// SPDX-License-Identifier: GPL-2.0
/*
 * chain_read.c - synchronous reads through a layer stack into a kernel
 * buffer.
 *
 * Copy-on-write needs what the disk shows around a write before the write
 * lands: the rest of a cluster a format is about to allocate.  That is a
 * plain read of the stack from some level down, done here with the same
 * walk the request path uses, but synchronously and into memory.
 */
#include <linux/uio.h>

#include "vdisk.h"

struct vd_chain_reader {
	const struct vd_chain *chain;
	unsigned int first;	/* level the read starts at */
	u64 pos;		/* virtual offset of @buf[0] */
	u8 *buf;
};

static int vd_chain_read_map(void *ctx, unsigned int level, u64 pos, u64 len,
			     struct vd_ext *ext)
{
	struct vd_chain_reader *r = ctx;
	struct vd_layer *layer = r->chain->layer[r->first + level];

	return layer->ops->map(layer, pos, len, 0, ext);
}

static int vd_chain_read_emit(void *ctx, const struct vd_run *run)
{
	struct vd_chain_reader *r = ctx;
	u8 *dst = r->buf + (run->pos - r->pos);
	struct vd_layer *layer = r->chain->layer[r->first + run->level];
	struct iov_iter iter;
	struct kvec kv;
	int ret;

	switch (run->kind) {
	case VD_EXT_DATA:
		if (run->file >= layer->nr_files)
			return -EIO;
		ret = vd_file_read(layer->files[run->file], dst, run->len,
				   run->host_off);
		if (ret == -ENODATA) {
			/* As for guest reads: a file that ends early reads zeros. */
			u64 size = i_size_read(file_inode(layer->files[run->file]));
			u64 have = size > run->host_off ?
				   min(size - run->host_off, run->len) : 0;

			ret = vd_file_read(layer->files[run->file], dst, have,
					   run->host_off);
			memset(dst + have, 0, run->len - have);
		}
		return ret;
	case VD_EXT_FORMAT:
		if (!layer->ops->read_run)
			return -EIO;
		kv.iov_base = dst;
		kv.iov_len = run->len;
		iov_iter_kvec(&iter, ITER_DEST, &kv, 1, run->len);
		return layer->ops->read_run(layer, run, &iter);
	default:
		memset(dst, 0, run->len);
		return 0;
	}
}

static const struct vd_walk_ops vd_chain_read_ops = {
	.map	= vd_chain_read_map,
	.emit	= vd_chain_read_emit,
};

/**
 * vd_chain_read() - read what @chain shows at [@pos, @pos + @len)
 * @chain: the stack
 * @level: first layer to look in (0: the top, i.e. what the guest sees)
 * @pos:   virtual disk offset
 * @buf:   kernel buffer of @len bytes
 * @len:   bytes
 *
 * Sleeps.  Return: 0 or the first error of a layer.
 */
int vd_chain_read(const struct vd_chain *chain, unsigned int level, u64 pos,
		  void *buf, size_t len)
{
	struct vd_chain_reader r = {
		.chain	= chain,
		.first	= level,
		.pos	= pos,
		.buf	= buf,
	};

	if (!len)
		return 0;
	if (level >= chain->nr) {
		memset(buf, 0, len);
		return 0;
	}
	return vd_walk(&vd_chain_read_ops, &r, chain->nr - level, pos, len);
}
