// SPDX-License-Identifier: GPL-2.0
/*
 * qcow2.c - the qcow2 format (read path): QEMU's docs/interop/qcow2.txt.
 *
 *   cluster 0        header + extensions (+ backing file name)
 *   L1 table         in memory for the layer's life: l1[i] = file offset of
 *                    the L2 table mapping virtual bytes
 *                    [i << (cluster_bits + l2_bits), (i + 1) << ...)
 *   L2 tables        read in slices of at most VD_MCACHE_SLICE bytes
 *                    through the device's metadata cache
 *   data clusters    read with direct I/O by the core (VD_EXT_DATA);
 *                    compressed ones decompressed here (VD_EXT_FORMAT)
 *
 * Decoding and validation of every on-disk structure is in vd_qcow2.c
 * (pure, fuzzed); this file does the I/O of reading.  Writing is in
 * qcow2_write.c, qcow2_alloc.c and qcow2_flush.c (see qcow2.h).
 */
#include <linux/fs.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uio.h>

#include "decompress.h"
#include "mcache.h"
#include "qcow2.h"

/* Report corruption found while serving I/O: once in a while, with the file. */
int vd_qcow2_corrupt(struct vd_layer *layer, const char *what, int err)
{
	pr_err_ratelimited("%s: %s\n", layer->path, what);
	return err;
}

static int vd_qcow2_read_header(struct vd_layer *layer, struct vd_qcow2 *q,
				const struct vd_open_args *args)
{
	struct file *file = layer->files[0];
	size_t len;
	u8 *buf;
	int ret;

	/* The header's own cluster_bits says how much to read: peek first. */
	len = min_t(u64, q->file_size, VD_QCOW2_V3_HEADER_LEN);
	buf = kvmalloc(VD_QCOW2_HEADER_MAX, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	ret = vd_file_read(file, buf, len, 0);
	if (!ret && len >= 24) {
		u32 cluster_bits = vd_be32(buf + 20);

		if (cluster_bits >= VD_QCOW2_MIN_CLUSTER_BITS &&
		    cluster_bits <= VD_QCOW2_MAX_CLUSTER_BITS) {
			len = min_t(u64, q->file_size, 1U << cluster_bits);
			ret = vd_file_read(file, buf, len, 0);
		}
	}
	if (ret) {
		vd_msg_set(args->msg, "layer %u (%s): qcow2 header unreadable: error %d",
			   args->index, layer->path, ret);
		goto out;
	}
	ret = vd_qcow2_parse_header(buf, len, q->file_size, &q->h, args->msg);
out:
	kvfree(buf);
	return ret;
}

/* Read and check an L1 table (the active one, or a snapshot's). */
static int vd_qcow2_load_l1(struct vd_layer *layer, struct vd_qcow2 *q,
			    u64 offset, u32 entries,
			    const struct vd_open_args *args)
{
	size_t bytes = (size_t)entries * sizeof(u64);
	u32 i;
	int ret;

	q->l1_entries = entries;
	if (!entries)
		return 0;
	ret = vd_layer_charge(layer, args, bytes, "L1 table of %u entries", entries);
	if (ret)
		return ret;
	q->l1 = kvmalloc(bytes, GFP_KERNEL);
	if (!q->l1) {
		vd_budget_uncharge(q->mem, bytes);
		return -ENOMEM;
	}
	ret = vd_file_read(layer->files[0], q->l1, bytes, offset);
	if (ret) {
		vd_msg_set(args->msg, "layer %u (%s): L1 table (%u entries at %llu): error %d",
			   args->index, layer->path, entries, offset, ret);
		return ret == -ENODATA ? -EINVAL : ret;
	}
	for (i = 0; i < entries; i++) {
		u64 l2_off;

		u64 raw = vd_be64(&q->l1[i]);

		ret = vd_qcow2_l1_entry(&q->h, raw, &l2_off, q->file_size,
					args->msg);
		if (ret)
			return -EINVAL;
		q->l1[i] = l2_off ? l2_off | (raw & VD_QCOW2_L1_COPIED) : 0;
	}
	return 0;
}

/* Longest snapshot record: 40 bytes, 1 KiB of extra data, id and name. */
#define VD_QCOW2_SNAP_REC_MAX	(40 + 1024 + 2 * 65536 + 8)
/* The table is read through a buffer this large, refilled as it is walked. */
#define VD_QCOW2_SNAP_WINDOW	SZ_1M

/**
 * vd_qcow2_for_each_snapshot() - walk the snapshot table
 * @layer: the layer
 * @q:     its state, header read
 * @fn:    called for each record with its offset and length in the file;
 *         a non-zero return ends the walk and is returned (>0: found)
 * @ctx:   for @fn
 * @args:  open arguments (messages)
 *
 * One pass over the table; a record that could run past the buffered part
 * is read again at its own offset, so each byte is read about once.
 *
 * Return: 0 after the last record, @fn's non-zero value, or -errno.
 */
int vd_qcow2_for_each_snapshot(struct vd_layer *layer, struct vd_qcow2 *q,
			       int (*fn)(void *ctx, const struct vd_qcow2_snapshot *s,
					 u64 off, u64 len),
			       void *ctx, const struct vd_open_args *args)
{
	u64 off = q->h.snapshots_offset, buf_off = 0, buf_len = 0;
	struct vd_qcow2_snapshot *s;
	u8 *buf;
	u32 i;
	int ret = 0;

	buf = kvmalloc(VD_QCOW2_SNAP_WINDOW, GFP_KERNEL);
	s = kmalloc(sizeof(*s), GFP_KERNEL);
	if (!buf || !s) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < q->h.nb_snapshots && !ret; i++) {
		size_t rec_len;

		if (off >= q->file_size) {
			ret = -EINVAL;
		} else if (off + VD_QCOW2_SNAP_REC_MAX > buf_off + buf_len &&
			   buf_off + buf_len < q->file_size) {
			buf_off = off;
			buf_len = min_t(u64, VD_QCOW2_SNAP_WINDOW, q->file_size - off);
			ret = vd_file_read(layer->files[0], buf, buf_len, buf_off);
		}
		if (!ret)
			ret = vd_qcow2_parse_snapshot(&q->h, buf + (off - buf_off),
						      buf_off + buf_len - off,
						      q->file_size, s, &rec_len,
						      args->msg);
		if (ret) {
			vd_msg_set(args->msg, "layer %u (%s): snapshot %u unreadable",
				   args->index, layer->path, i);
			ret = -EINVAL;
			goto out;
		}
		ret = fn(ctx, s, off, rec_len);
		off += rec_len;
		cond_resched();
	}
out:
	kfree(s);
	kvfree(buf);
	return ret;
}

struct vd_qcow2_find {
	const char *want;
	struct vd_qcow2_snapshot *found;
	bool by_name;
};

static int vd_qcow2_find_one(void *ctx, const struct vd_qcow2_snapshot *s,
			     u64 off, u64 len)
{
	struct vd_qcow2_find *f = ctx;

	if (!strcmp(s->id, f->want)) {
		*f->found = *s;
		return 1;
	}
	if (!f->by_name && !strcmp(s->name, f->want)) {
		*f->found = *s;
		f->by_name = true;
	}
	return 0;
}

/* The snapshot named @want: by id if one has it, else by name (as qemu-img). */
static int vd_qcow2_find_snapshot(struct vd_layer *layer, struct vd_qcow2 *q,
				  const char *want, struct vd_qcow2_snapshot *found,
				  const struct vd_open_args *args)
{
	struct vd_qcow2_find f = { .want = want, .found = found };
	int ret;

	ret = vd_qcow2_for_each_snapshot(layer, q, vd_qcow2_find_one, &f, args);
	if (ret < 0)
		return ret;
	if (!ret && !f.by_name) {
		vd_msg_set(args->msg, "layer %u (%s): no snapshot with id or name '%s'",
			   args->index, layer->path, want);
		return -ENOENT;
	}
	return 0;
}

static void vd_qcow2_free(struct vd_qcow2 *q)
{
	vd_qcow2_rw_free(q);
	vd_decomp_pool_destroy(q->decomp);
	kvfree(q->l1);
	vd_mcache_unpin(q->cache);
	kfree(q);
}

static int vd_qcow2_open(struct vd_layer *layer, const struct vd_open_args *args)
{
	struct vd_qcow2 *q;
	u64 l1_off;
	u32 l1_entries;
	int ret;

	if (layer->nr_files != 1) {
		vd_msg_set(args->msg, "layer %u (%s): qcow2 takes one file, got %u",
			   args->index, layer->path, layer->nr_files);
		return -EINVAL;
	}
	if (layer->writable && args->snapshot) {
		vd_msg_set(args->msg, "layer %u (%s): a snapshot is served read-only (-r)",
			   args->index, layer->path);
		return -EROFS;
	}
	q = kzalloc(sizeof(*q), GFP_KERNEL);
	if (!q)
		return -ENOMEM;
	q->file_size = i_size_read(layer->files[0]->f_mapping->host);
	q->cache = vd_mcache_pin(args->cache);
	q->mem = &layer->mem;

	ret = vd_qcow2_read_header(layer, q, args);
	if (ret)
		goto err;
	if (q->h.has_data_file) {
		vd_msg_set(args->msg, "layer %u (%s): external data file '%s' is not supported",
			   args->index, layer->path, q->h.data_file_name);
		ret = -EOPNOTSUPP;
		goto err;
	}

	if (layer->writable && (q->h.dirty || q->h.corrupt)) {
		vd_msg_set(args->msg,
			   "layer %u (%s): %s: repair it with 'qemu-img check -r all' or attach read-only (-r)",
			   args->index, layer->path,
			   q->h.corrupt ? "image is marked corrupt" :
			   "refcounts are stale (dirty bit of lazy_refcounts)");
		ret = -EROFS;
		goto err;
	}

	q->size = q->h.size;
	l1_off = q->h.l1_offset;
	l1_entries = q->h.l1_size;
	if (args->snapshot) {
		struct vd_qcow2_snapshot snap;

		ret = vd_qcow2_find_snapshot(layer, q, args->snapshot, &snap, args);
		if (ret)
			goto err;
		/*
		 * The map arithmetic relies on the L1 table covering the size,
		 * as the header check ensures for the active image.
		 */
		if (snap.disk_size > (u64)snap.l1_size <<
				     (q->h.cluster_bits + q->h.l2_bits)) {
			vd_msg_set(args->msg,
				   "layer %u (%s): snapshot %s: size %llu beyond its L1",
				   args->index, layer->path, args->snapshot,
				   snap.disk_size);
			ret = -EINVAL;
			goto err;
		}
		l1_off = snap.l1_offset;
		l1_entries = snap.l1_size;
		q->size = snap.disk_size;
	}
	ret = vd_qcow2_load_l1(layer, q, l1_off, l1_entries, args);
	if (ret)
		goto err;
	q->l1_offset = l1_off;

	q->slice_bytes = min_t(u64, q->h.cluster_size, VD_MCACHE_SLICE);
	q->slice_entries_bits = ilog2(q->slice_bytes / q->h.l2_entry_size);
	q->decomp = vd_decomp_pool_create(q->h.compression_type == VD_QCOW2_COMPRESS_ZSTD ?
					  VD_CODEC_ZSTD : VD_CODEC_DEFLATE,
					  q->h.cluster_size, &layer->mem, layer->path);
	if (!q->decomp) {
		ret = -ENOMEM;
		goto err;
	}
	layer->priv = q;
	if (layer->writable) {
		ret = vd_qcow2_rw_open(layer, args);
		if (ret) {
			layer->priv = NULL;
			goto err;
		}
	}
	layer->virtual_size = round_down(q->size, SECTOR_SIZE);
	return 0;
err:
	vd_qcow2_free(q);
	return ret;
}

static void vd_qcow2_close(struct vd_layer *layer)
{
	struct vd_qcow2 *q = layer->priv;

	if (!q)
		return;
	if (q->rw)
		vd_qcow2_close_rw(layer);
	if (q->cache) {
		vd_mcache_forget(q->cache, layer);
		if (q->rw)
			vd_mcache_forget(q->cache, &q->rw->rb_owner);
	}
	vd_qcow2_free(q);
	layer->priv = NULL;
}

/* Decode entry @i of an L2 slice; -EIO (logged) for a corrupt one. */
/*
 * Decode entry @i of @slice.  A bad one is logged and -EIO, except under
 * VD_MAP_NOWAIT: -EAGAIN, and the blocking retry reports it once.
 */
static int vd_qcow2_entry(struct vd_layer *layer, struct vd_qcow2 *q,
			  const u8 *slice, unsigned int i, unsigned int flags,
			  struct vd_qcow2_cluster *c)
{
	const u8 *p = slice + (size_t)i * q->h.l2_entry_size;
	u64 bitmap = q->h.extended_l2 ? vd_be64(p + 8) : 0;
	char text[160];
	struct vd_msg msg = { .buf = text, .len = sizeof(text) };

	text[0] = '\0';
	if (vd_qcow2_l2_entry(&q->h, vd_be64(p), bitmap, c, &msg))
		return flags & VD_MAP_NOWAIT ? -EAGAIN :
		       vd_qcow2_corrupt(layer, text, -EIO);
	return 0;
}

static u32 vd_qcow2_kind(const struct vd_qcow2_cluster *c)
{
	switch (c->kind) {
	case VD_QCOW2_NORMAL:
		return VD_EXT_DATA;
	case VD_QCOW2_ZERO:
		return VD_EXT_ZERO;
	case VD_QCOW2_COMPRESSED:
		return VD_EXT_FORMAT;
	default:
		return VD_EXT_BACKING;
	}
}

/* Extended L2: what subcluster @sub of cluster @c is. */
static u32 vd_qcow2_sub_kind(const struct vd_qcow2_cluster *c, unsigned int sub)
{
	if (c->kind == VD_QCOW2_COMPRESSED)
		return VD_EXT_FORMAT;
	if (c->sub_alloc & (1U << sub))
		return VD_EXT_DATA;
	if (c->sub_zero & (1U << sub))
		return VD_EXT_ZERO;
	return VD_EXT_BACKING;
}

/*
 * Extended L2: one cluster at most, as a run of subclusters in the same
 * state (the walk merges runs across clusters).
 */
static void vd_qcow2_map_subclusters(struct vd_qcow2 *q,
				     const struct vd_qcow2_cluster *c,
				     u64 in_cluster, u64 len, struct vd_ext *ext)
{
	unsigned int sc_bits = q->h.cluster_bits - 5;
	unsigned int sub = in_cluster >> sc_bits, last;
	u64 run_end;

	ext->kind = vd_qcow2_sub_kind(c, sub);
	if (ext->kind == VD_EXT_FORMAT) {
		ext->host_off = c->host_off;
		ext->aux = c->comp_len;
		ext->len = min(len, q->h.cluster_size - in_cluster);
		return;
	}
	for (last = sub + 1; last < 32; last++)
		if (vd_qcow2_sub_kind(c, last) != ext->kind)
			break;
	run_end = (u64)last << sc_bits;
	ext->len = min(len, run_end - in_cluster);
	if (ext->kind == VD_EXT_DATA)
		ext->host_off = c->host_off + in_cluster;
}

static int vd_qcow2_map_slice(struct vd_layer *layer, struct vd_qcow2 *q,
			      const u8 *slice, unsigned int i, u64 pos, u64 len,
			      unsigned int flags, struct vd_ext *ext)
{
	unsigned int nr = 1U << q->slice_entries_bits;
	u64 cs = q->h.cluster_size, in_cluster = pos & (cs - 1);
	struct vd_qcow2_cluster c;
	u64 next_host;
	int ret;

	ret = vd_qcow2_entry(layer, q, slice, i, flags, &c);
	if (ret)
		return ret;
	if (q->h.extended_l2) {
		vd_qcow2_map_subclusters(q, &c, in_cluster, len, ext);
		return 0;
	}
	ext->kind = vd_qcow2_kind(&c);
	ext->len = min(len, cs - in_cluster);
	if (ext->kind == VD_EXT_FORMAT) {
		ext->host_off = c.host_off;
		ext->aux = c.comp_len;
		return 0;
	}
	if (ext->kind == VD_EXT_DATA)
		ext->host_off = c.host_off + in_cluster;
	next_host = c.host_off + cs;

	/*
	 * Extend over following clusters of the slice in the same state.  An
	 * entry of all zero bits is a cluster this layer does not have and
	 * needs no decoding: in a deep chain most layers answer that for most
	 * of a read.
	 */
	while (ext->len < len && ++i < nr) {
		if (ext->kind == VD_EXT_BACKING &&
		    !vd_be64(slice + (size_t)i * q->h.l2_entry_size)) {
			ext->len += min(cs, len - ext->len);
			continue;
		}
		ret = vd_qcow2_entry(layer, q, slice, i, flags, &c);
		if (ret)
			return ret;
		if (vd_qcow2_kind(&c) != ext->kind ||
		    (ext->kind == VD_EXT_DATA && c.host_off != next_host))
			break;
		ext->len += min(cs, len - ext->len);
		next_host += cs;
	}
	return 0;
}

/* The cached L2 slice at @slice_off; -EIO (logged) if past the file end. */
int vd_qcow2_slice_get(struct vd_layer *layer, u64 slice_off,
		       struct vd_mentry **out)
{
	struct vd_qcow2 *q = layer->priv;
	struct vd_mentry *e;

	e = vd_mcache_get(q->cache, layer, layer->files[0], slice_off,
			  q->slice_bytes);
	if (IS_ERR(e)) {
		if (PTR_ERR(e) == -ENODATA)
			return vd_qcow2_corrupt(layer, "L2 table past the end of the file", -EIO);
		return PTR_ERR(e);
	}
	*out = e;
	return 0;
}

/* As vd_qcow2_slice_get(), or -EAGAIN if VD_MAP_NOWAIT and not in memory. */
int vd_qcow2_slice_lookup(struct vd_layer *layer, u64 slice_off,
			  unsigned int flags, struct vd_mentry **out)
{
	struct vd_qcow2 *q = layer->priv;

	if (!(flags & VD_MAP_NOWAIT))
		return vd_qcow2_slice_get(layer, slice_off, out);
	*out = vd_mcache_peek(q->cache, layer, slice_off);
	return *out ? 0 : -EAGAIN;
}

static int vd_qcow2_map(struct vd_layer *layer, u64 pos, u64 len,
			unsigned int flags, struct vd_ext *ext)
{
	struct vd_qcow2 *q = layer->priv;
	unsigned int cb = q->h.cluster_bits, span_bits = cb + q->h.l2_bits;
	u64 l1_idx, l2_idx, slice_off, span_end, l1e;
	struct vd_mentry *e;
	unsigned int i;
	int ret;

	if (flags & VD_MAP_WRITE)
		return vd_qcow2_map_write(layer, pos, len, flags, ext);
	if (pos >= q->size) {
		ext->kind = VD_EXT_ZERO;
		ext->len = len;
		return 0;
	}
	len = min(len, q->size - pos);
	l1_idx = pos >> span_bits;
	span_end = (l1_idx + 1) << span_bits;
	len = min(len, span_end - pos);
	l1e = l1_idx < q->l1_entries ? READ_ONCE(q->l1[l1_idx]) : 0;
	if (!l1e) {
		ext->kind = VD_EXT_BACKING;
		ext->len = len;
		return 0;
	}
	l2_idx = (pos >> cb) & ((1ULL << q->h.l2_bits) - 1);
	slice_off = VD_QCOW2_L1_OFF(l1e) +
		    ((l2_idx >> q->slice_entries_bits) * q->slice_bytes);
	ret = vd_qcow2_slice_lookup(layer, slice_off, flags, &e);
	if (ret)
		return ret;
	i = l2_idx & ((1U << q->slice_entries_bits) - 1);
	/* A writable layer's slices change under us: see qcow2.h. */
	if (q->rw) {
		spinlock_t *lock = vd_qcow2_slice_lock(q, slice_off);

		spin_lock(lock);
		ret = vd_qcow2_map_slice(layer, q, e->data, i, pos, len, flags, ext);
		spin_unlock(lock);
	} else {
		ret = vd_qcow2_map_slice(layer, q, e->data, i, pos, len, flags, ext);
	}
	vd_mcache_put(q->cache, e);
	return ret;
}

static int vd_qcow2_read_run(struct vd_layer *layer, const struct vd_run *run,
			     struct iov_iter *iter)
{
	struct vd_qcow2 *q = layer->priv;
	u64 in_cluster = run->pos & (q->h.cluster_size - 1);
	u64 comp_off = run->host_off, comp_len = run->aux;
	struct vd_decomp_ctx *ctx;
	int ret;

	/* The stored length is rounded up: it may reach past the file end. */
	if (comp_off >= q->file_size)
		return vd_qcow2_corrupt(layer, "compressed cluster past the end of the file", -EIO);
	comp_len = min(comp_len, q->file_size - comp_off);
	if (comp_len > vd_decomp_in_size(q->decomp) ||
	    in_cluster + run->len > q->h.cluster_size)
		return vd_qcow2_corrupt(layer, "compressed cluster too large", -EIO);

	/*
	 * The driver never writes compressed clusters and never rewrites one
	 * in place (a write moves the cluster elsewhere), so the compressed
	 * offset names the same bytes for as long as an L2 entry points at
	 * it: a context still holding it saves the read and the
	 * decompression (a cluster read 4 KiB at a time).
	 */
	ctx = vd_decomp_get(q->decomp, comp_off);
	if (!ctx)
		return -ENOMEM;
	ret = 0;
	if (ctx->key != comp_off) {
		ret = vd_file_read(layer->files[0], ctx->in, comp_len, comp_off);
		if (ret == -ENODATA)
			ret = -EIO;
		if (!ret) {
			ret = vd_decompress(q->decomp, ctx, comp_len, q->h.cluster_size);
			if (ret)
				vd_qcow2_corrupt(layer, "compressed cluster does not decompress",
						 ret);
			else
				ctx->key = comp_off;
		}
	}
	if (!ret && copy_to_iter(ctx->out + in_cluster, run->len, iter) != run->len)
		ret = -EFAULT;
	vd_decomp_put(q->decomp, ctx);
	return ret;
}

const struct vd_format_ops vd_qcow2_ops = {
	.format		= VDISK_FMT_QCOW2,
	.open		= vd_qcow2_open,
	.close		= vd_qcow2_close,
	.map		= vd_qcow2_map,
	.read_run	= vd_qcow2_read_run,
	.write_run	= vd_qcow2_write_run,
	.flush		= vd_qcow2_flush,
	.discard	= vd_qcow2_discard,
	.set_backing	= vd_qcow2_set_backing_file,
};
