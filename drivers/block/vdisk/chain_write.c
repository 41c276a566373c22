// SPDX-License-Identifier: GPL-2.0
/*
 * chain_write.c - synchronous writes from a kernel buffer into the top
 * layer of a stack.
 *
 * A layer job writes into a layer that is not the device's top: a commit
 * into the base, a rebase into the top before it is pointed elsewhere.
 * The job hands in the stack as seen from that layer down (the layer is
 * its level 0), so copy-on-write of a partial cluster reads what that
 * layer shows, exactly as for a guest write to the top.
 *
 * Formats also write zeros this way where they cannot express them in
 * their tables (vd_chain_write_zeroes()).
 */
#include <linux/bvec.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uio.h>

#include "vdisk.h"

struct vd_chain_writer {
	const struct vd_chain *chain;
	u64 pos;		/* virtual offset of @buf[0] */
	const u8 *buf;
};

static int vd_chain_write_map(void *ctx, unsigned int level, u64 pos, u64 len,
			      struct vd_ext *ext)
{
	struct vd_chain_writer *w = ctx;
	struct vd_layer *top = vd_chain_top(w->chain);

	return top->ops->map(top, pos, len, VD_MAP_WRITE, ext);
}

static int vd_chain_write_emit(void *ctx, const struct vd_run *run)
{
	struct vd_chain_writer *w = ctx;
	const u8 *src = w->buf + (run->pos - w->pos);
	struct vd_layer *top = vd_chain_top(w->chain);
	struct iov_iter iter;
	struct kvec kv;

	switch (run->kind) {
	case VD_EXT_DATA:
		if (run->file >= top->nr_files)
			return -EIO;
		return vd_file_write(top->files[run->file], src, run->len,
				     run->host_off);
	case VD_EXT_FORMAT:
		if (!top->ops->write_run)
			return -EIO;
		kv.iov_base = (void *)src;
		kv.iov_len = run->len;
		iov_iter_kvec(&iter, ITER_SOURCE, &kv, 1, run->len);
		return top->ops->write_run(top, w->chain, run, &iter);
	default:
		/* map() for a write answers DATA or FORMAT only */
		return -EIO;
	}
}

static const struct vd_walk_ops vd_chain_write_ops = {
	.map	= vd_chain_write_map,
	.emit	= vd_chain_write_emit,
};

/**
 * vd_chain_write() - write @buf into the top layer of @chain
 * @chain: the stack from the written layer down; its top must be writable
 * @pos:   virtual disk offset
 * @buf:   kernel buffer of @len bytes
 * @len:   bytes
 *
 * Allocates where needed (copy-on-write from the layers below).  Not
 * durable until the layer is flushed.  Sleeps.
 *
 * Return: 0 or -errno.
 */
int vd_chain_write(const struct vd_chain *chain, u64 pos, const void *buf,
		   size_t len)
{
	struct vd_chain_writer w = {
		.chain	= chain,
		.pos	= pos,
		.buf	= buf,
	};

	if (!len)
		return 0;
	if (!vd_chain_top(chain)->writable)
		return -EROFS;
	return vd_walk(&vd_chain_write_ops, &w, 1, pos, len);
}

#define VD_ZEROES_CHUNK	SZ_1M

/**
 * vd_chain_write_zeroes() - write zeros over [@pos, @pos + @len) of the
 * top layer of @chain
 * @chain: the stack from the written layer down; its top must be writable
 * @pos:   virtual disk offset
 * @len:   bytes
 *
 * For write zeroes and discards a format cannot turn into table entries
 * (no zero clusters, partial clusters): in place where the layer has the
 * data, through its allocating write elsewhere, both with direct I/O from
 * the shared zero page where the file allows.  Not durable until the
 * layer is flushed.  Sleeps.
 *
 * Return: 0 or -errno.
 */
int vd_chain_write_zeroes(const struct vd_chain *chain, u64 pos, u64 len)
{
	struct vd_layer *top = vd_chain_top(chain);
	unsigned int nr = VD_ZEROES_CHUNK / PAGE_SIZE, i;
	struct bio_vec *bv;
	int ret = 0;

	if (!top->writable)
		return -EROFS;
	bv = kmalloc_array(nr, sizeof(*bv), GFP_KERNEL);
	if (!bv)
		return -ENOMEM;
	for (i = 0; i < nr; i++)
		bvec_set_page(&bv[i], ZERO_PAGE(0), PAGE_SIZE, 0);

	while (len && !ret) {
		struct vd_ext ext = { 0 };
		struct iov_iter iter;
		u64 n = min_t(u64, len, VD_ZEROES_CHUNK);

		ret = top->ops->map(top, pos, n, VD_MAP_WRITE, &ext);
		if (ret)
			break;
		/* map() for a write answers DATA or FORMAT only */
		if (WARN_ON_ONCE(!ext.len || ext.len > n) ||
		    (ext.kind != VD_EXT_DATA && ext.kind != VD_EXT_FORMAT)) {
			ret = -EIO;
			break;
		}
		iov_iter_bvec(&iter, ITER_SOURCE, bv, nr, ext.len);
		if (ext.kind == VD_EXT_DATA) {
			ret = ext.file < top->nr_files ?
			      vd_layer_write_iter(top, top->files[ext.file], &iter,
						  ext.len, ext.host_off) : -EIO;
		} else {
			struct vd_run run = {
				.kind	= VD_EXT_FORMAT,
				.pos	= pos,
				.len	= ext.len,
			};

			ret = top->ops->write_run ?
			      top->ops->write_run(top, chain, &run, &iter) : -EIO;
		}
		pos += ext.len;
		len -= ext.len;
		cond_resched();
	}
	kfree(bv);
	return ret;
}
