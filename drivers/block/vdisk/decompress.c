// SPDX-License-Identifier: GPL-2.0
/*
 * decompress.c - pools of decompression contexts for compressed clusters.
 *
 * A context holds an input and an output buffer of one cluster plus the
 * codec's workspace; at 2 MiB clusters that is over 4 MiB, so contexts are
 * pooled per layer rather than allocated per request (erofs does the same).
 * The pool grows on demand up to one context per online CPU; beyond that,
 * callers wait for one to be returned.  Each context is charged to the
 * layer's memory budget (budget.h) before it is made: past the budget the
 * pool stops growing and callers wait for a context in use, so a budget
 * only fails a read when the pool has no context at all.
 *
 * Locking: vd_decomp_pool.lock protects @idle and @nr.
 */
#include <linux/cpumask.h>
#include <linux/list.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/vmalloc.h>
#include <linux/wait.h>
#include <linux/zlib.h>
#include <linux/zstd.h>

#include "budget.h"
#include "decompress.h"

struct vd_decomp_ctx_priv {
	struct vd_decomp_ctx pub;
	struct list_head node;
	void *workspace;
	union {
		struct z_stream_s zs;
		zstd_dctx *dctx;
	};
};

struct vd_decomp_pool {
	enum vd_codec codec;
	size_t cluster_size;
	size_t in_size;
	size_t ctx_bytes;	/* what one context charges to @budget */
	struct vd_budget *budget;
	const char *name;	/* the layer's path, for messages */
	spinlock_t lock;	/* see the file comment */
	struct list_head idle;
	unsigned int nr;
	unsigned int max;
	wait_queue_head_t wait;
};

size_t vd_decomp_in_size(const struct vd_decomp_pool *pool)
{
	return pool->in_size;
}

static size_t vd_decomp_workspace_size(enum vd_codec codec)
{
	return codec == VD_CODEC_ZSTD ? zstd_dctx_workspace_bound() :
	       zlib_inflate_workspacesize();
}

/**
 * vd_decomp_pool_create() - a pool of contexts for one layer
 * @codec:        how the clusters are compressed
 * @cluster_size: the largest cluster (or grain) decompressed through it
 * @budget:       the layer's memory budget, charged for each context
 * @name:         the layer's path, for messages; must outlive the pool
 *
 * Return: the pool (no context made yet), or NULL.
 */
struct vd_decomp_pool *vd_decomp_pool_create(enum vd_codec codec,
					     size_t cluster_size,
					     struct vd_budget *budget,
					     const char *name)
{
	struct vd_decomp_pool *pool = kzalloc(sizeof(*pool), GFP_KERNEL);

	if (!pool)
		return NULL;
	pool->codec = codec;
	pool->cluster_size = cluster_size;
	/* a compressed cluster may span one sector more on each side */
	pool->in_size = cluster_size + 1024;
	pool->ctx_bytes = sizeof(struct vd_decomp_ctx_priv) + pool->in_size +
			  cluster_size + vd_decomp_workspace_size(codec);
	pool->budget = budget;
	pool->name = name;
	spin_lock_init(&pool->lock);
	INIT_LIST_HEAD(&pool->idle);
	init_waitqueue_head(&pool->wait);
	pool->max = max(num_online_cpus(), 1U);
	return pool;
}

static void vd_decomp_ctx_free(struct vd_decomp_ctx_priv *c)
{
	kvfree(c->pub.in);
	kvfree(c->pub.out);
	kvfree(c->workspace);
	kfree(c);
}

void vd_decomp_pool_destroy(struct vd_decomp_pool *pool)
{
	struct vd_decomp_ctx_priv *c, *tmp;

	if (!pool)
		return;
	WARN_ON_ONCE(pool->nr != list_count_nodes(&pool->idle));
	list_for_each_entry_safe(c, tmp, &pool->idle, node)
		vd_decomp_ctx_free(c);
	kfree(pool);
}

static struct vd_decomp_ctx_priv *vd_decomp_ctx_alloc(struct vd_decomp_pool *pool)
{
	struct vd_decomp_ctx_priv *c = kzalloc(sizeof(*c), GFP_NOIO);
	size_t ws;

	if (!c)
		return NULL;
	c->pub.key = VD_DECOMP_NO_KEY;
	c->pub.in = kvmalloc(pool->in_size, GFP_NOIO);
	c->pub.out = kvmalloc(pool->cluster_size, GFP_NOIO);
	ws = vd_decomp_workspace_size(pool->codec);
	c->workspace = kvmalloc(ws, GFP_NOIO);
	if (!c->pub.in || !c->pub.out || !c->workspace)
		goto err;
	if (pool->codec != VD_CODEC_ZSTD) {
		c->zs.workspace = c->workspace;
	} else {
		c->dctx = zstd_init_dctx(c->workspace, ws);
		if (!c->dctx)
			goto err;
	}
	return c;
err:
	vd_decomp_ctx_free(c);
	return NULL;
}

/* A new context, charged to the layer's budget; NULL if refused. */
static struct vd_decomp_ctx_priv *vd_decomp_ctx_new(struct vd_decomp_pool *pool)
{
	struct vd_decomp_ctx_priv *c;
	int ret;

	ret = vd_budget_charge(pool->budget, pool->ctx_bytes);
	if (ret) {
		pr_warn_ratelimited("%s: no decompression context of %zu KiB: over the %s memory budget (module parameter %s)\n",
				    pool->name, pool->ctx_bytes >> 10,
				    ret == -EFBIG ? "layer's" : "module's",
				    ret == -EFBIG ? "layer_mem_mib" : "total_mem_mib");
		return NULL;
	}
	c = vd_decomp_ctx_alloc(pool);
	if (!c)
		vd_budget_uncharge(pool->budget, pool->ctx_bytes);
	return c;
}

/*
 * An idle context, preferably one whose output already holds @key; its
 * @key is left as it was, so the caller can tell.  Sleeps until a context
 * is free.  Returns NULL only on -ENOMEM.
 */
struct vd_decomp_ctx *vd_decomp_get(struct vd_decomp_pool *pool, u64 key)
{
	struct vd_decomp_ctx_priv *c, *it;

	for (;;) {
		spin_lock(&pool->lock);
		c = list_first_entry_or_null(&pool->idle,
					     struct vd_decomp_ctx_priv, node);
		list_for_each_entry(it, &pool->idle, node) {
			if (it->pub.key == key) {
				c = it;
				break;
			}
		}
		if (c) {
			list_del(&c->node);
			spin_unlock(&pool->lock);
			return &c->pub;
		}
		if (pool->nr < pool->max) {
			pool->nr++;
			spin_unlock(&pool->lock);
			c = vd_decomp_ctx_new(pool);
			if (c)
				return &c->pub;
			spin_lock(&pool->lock);
			pool->nr--;
			spin_unlock(&pool->lock);
			/*
			 * Out of memory or of budget: wait for a context
			 * someone else holds, not for room to allocate again
			 * (that would spin); with none in use, give up.
			 */
			if (!READ_ONCE(pool->nr))
				return NULL;
			wait_event(pool->wait, !list_empty_careful(&pool->idle));
			continue;
		}
		spin_unlock(&pool->lock);
		wait_event(pool->wait, !list_empty_careful(&pool->idle) ||
			   READ_ONCE(pool->nr) < pool->max);
	}
}

void vd_decomp_put(struct vd_decomp_pool *pool, struct vd_decomp_ctx *ctx)
{
	struct vd_decomp_ctx_priv *c =
		container_of(ctx, struct vd_decomp_ctx_priv, pub);

	spin_lock(&pool->lock);
	list_add(&c->node, &pool->idle);
	spin_unlock(&pool->lock);
	wake_up(&pool->wait);
}

static int vd_inflate(struct vd_decomp_ctx_priv *c, int window_bits,
		      size_t in_len, size_t out_len)
{
	struct z_stream_s *zs = &c->zs;
	int ret;

	if (zlib_inflateInit2(zs, window_bits) != Z_OK)
		return -EIO;
	zs->next_in = c->pub.in;
	zs->avail_in = in_len;
	zs->next_out = c->pub.out;
	zs->avail_out = out_len;
	ret = zlib_inflate(zs, Z_FINISH);
	zlib_inflateEnd(zs);
	/*
	 * The stored length is rounded up to sectors, so input may remain;
	 * what matters is a full cluster of output.
	 */
	if ((ret == Z_STREAM_END || ret == Z_BUF_ERROR) && !zs->avail_out)
		return 0;
	return -EIO;
}

static int vd_unzstd(struct vd_decomp_ctx_priv *c, size_t in_len,
		     size_t out_len)
{
	size_t in_pos = 0, out_pos = 0;

	/* Frame by frame: the sector padding after the last one is garbage. */
	while (out_pos < out_len && in_pos < in_len) {
		size_t frame, n;

		frame = zstd_find_frame_compressed_size(c->pub.in + in_pos,
							in_len - in_pos);
		if (zstd_is_error(frame))
			return -EIO;
		n = zstd_decompress_dctx(c->dctx, c->pub.out + out_pos,
					 out_len - out_pos, c->pub.in + in_pos,
					 frame);
		if (zstd_is_error(n))
			return -EIO;
		in_pos += frame;
		out_pos += n;
	}
	return out_pos == out_len ? 0 : -EIO;
}

/**
 * vd_decompress() - decompress @in_len bytes of @ctx->in into @ctx->out
 * @pool:    the pool @ctx came from (gives the codec)
 * @ctx:     buffers
 * @in_len:  compressed bytes, at most vd_decomp_in_size()
 * @out_len: the cluster's size, at most the pool's (the extents of one
 *           vmdk layer share a pool and may have different grain sizes)
 *
 * Return: 0 with a whole cluster in @ctx->out, -EIO for data that does
 * not decompress to exactly one cluster.
 */
int vd_decompress(struct vd_decomp_pool *pool, struct vd_decomp_ctx *ctx,
		  size_t in_len, size_t out_len)
{
	struct vd_decomp_ctx_priv *c =
		container_of(ctx, struct vd_decomp_ctx_priv, pub);

	ctx->key = VD_DECOMP_NO_KEY;	/* @out is about to change */
	if (in_len > pool->in_size || WARN_ON_ONCE(out_len > pool->cluster_size))
		return -EIO;
	/* QEMU writes qcow2 clusters as raw deflate with a 4 KiB window */
	if (pool->codec == VD_CODEC_DEFLATE)
		return vd_inflate(c, -12, in_len, out_len);
	/* and vmdk grains with compress(): zlib header, 32 KiB window */
	if (pool->codec == VD_CODEC_ZLIB)
		return vd_inflate(c, MAX_WBITS, in_len, out_len);
	return vd_unzstd(c, in_len, out_len);
}
