/* SPDX-License-Identifier: GPL-2.0 */
/*
 * decompress.h - compressed clusters through the kernel's zlib and zstd.
 */
#ifndef VDISK_DECOMPRESS_H
#define VDISK_DECOMPRESS_H

#include <linux/types.h>

enum vd_codec {
	VD_CODEC_DEFLATE,	/* raw deflate, 4 KiB window (qcow2 "zlib") */
	VD_CODEC_ZSTD,		/* one or more zstd frames */
	VD_CODEC_ZLIB,		/* zlib stream, 32 KiB window (vmdk grains) */
};

struct vd_decomp_pool;
struct vd_budget;

/**
 * struct vd_decomp_ctx - buffers and codec state for one decompression
 * @in:  room for one compressed cluster (cluster size + 2 sectors)
 * @out: room for one decompressed cluster
 * @key: what @out holds (the caller's name for it, e.g. the compressed
 *       offset), or VD_DECOMP_NO_KEY; contexts keep their output between
 *       uses so that reading a cluster piece by piece decompresses it once
 */
struct vd_decomp_ctx {
	void *in;
	void *out;
	u64 key;
};

#define VD_DECOMP_NO_KEY	U64_MAX

struct vd_decomp_pool *vd_decomp_pool_create(enum vd_codec codec,
					     size_t cluster_size,
					     struct vd_budget *budget,
					     const char *name);
void vd_decomp_pool_destroy(struct vd_decomp_pool *pool);
struct vd_decomp_ctx *vd_decomp_get(struct vd_decomp_pool *pool, u64 key);
void vd_decomp_put(struct vd_decomp_pool *pool, struct vd_decomp_ctx *ctx);
int vd_decompress(struct vd_decomp_pool *pool, struct vd_decomp_ctx *ctx,
		  size_t in_len, size_t out_len);
size_t vd_decomp_in_size(const struct vd_decomp_pool *pool);

#endif /* VDISK_DECOMPRESS_H */
