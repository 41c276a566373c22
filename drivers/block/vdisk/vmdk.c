// SPDX-License-Identifier: GPL-2.0
/*
 * The VMDK format: VMware's "Virtual Disk Format 1.1".
 *
 *   files[0]        the descriptor file, or a sparse extent with the
 *                   descriptor embedded (monolithicSparse, streamOptimized)
 *   files[1..]      the extent files the descriptor names, in its order
 *                   (vdattach opens them; ZERO extents have none)
 *   sparse extent   grain directory in memory for the layer's life; grain
 *                   tables in slices of at most VD_MCACHE_SLICE bytes
 *                   through the device's metadata cache (owner: the
 *                   extent); data grains read by the core (VD_EXT_DATA),
 *                   compressed ones inflated here (VD_EXT_FORMAT)
 *   flat extent     VD_EXT_DATA at the extent's offset, read and written
 *                   in place
 *
 * Decoding and validation of the descriptor and the headers is in
 * vd_vmdk.c (pure, fuzzed); this file does the I/O.  Sparse writes are in
 * vmdk_write.c.
 */
#include <linux/fs.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uio.h>

#include "decompress.h"
#include "mcache.h"
#include "vmdk.h"

/* Report corruption found while serving I/O: once in a while, with the file. */
int vd_vmdk_corrupt(struct vd_layer *layer, const char *what, int err)
{
	pr_err_ratelimited("%s: %s\n", layer->path, what);
	return err;
}

static u64 vd_vmdk_file_size(struct file *file)
{
	return i_size_read(file->f_mapping->host);
}

static void vd_vmdk_free(struct vd_vmdk *v)
{
	u32 i;

	if (!v)
		return;
	vd_decomp_pool_destroy(v->decomp);
	for (i = 0; i < v->nr_ext; i++) {
		vd_vmdk_meta_free(&v->ext[i]);
		kvfree(v->ext[i].gd);
		kvfree(v->ext[i].rgd);
		kfree(v->ext[i].frees);
	}
	kvfree(v->ext);
	kvfree(v->desc_text);
	vd_mcache_unpin(v->cache);
	kfree(v);
}

/* Read the grain directory of a sparse extent and check every entry. */
static int vd_vmdk_load_gd(struct vd_layer *layer, struct vd_vmdk_ext *e,
			   u32 nr, const struct vd_open_args *args)
{
	struct file *file = layer->files[e->file];
	size_t bytes = (size_t)e->h.gd_entries * 4;
	char text[160] = "";
	struct vd_msg msg = { .buf = text, .len = sizeof(text) };
	u32 i;
	int ret;

	/*
	 * Charged first: 4096 extents of 4 Mi entries each would be 64 GiB,
	 * from a few sparse files.
	 */
	ret = vd_layer_charge(layer, args, bytes, "extent %u: grain directory of %u entries",
			      nr, e->h.gd_entries);
	if (ret)
		return ret;
	e->gd = kvmalloc(bytes, GFP_KERNEL);
	if (!e->gd) {
		vd_budget_uncharge(&layer->mem, bytes);
		return -ENOMEM;
	}
	ret = vd_file_read(file, e->gd, bytes, e->h.gd_offset << 9);
	if (ret) {
		vd_msg_set(args->msg,
			   "layer %u (%s): extent %u: grain directory unreadable: error %d",
			   args->index, layer->path, nr, ret);
		return ret == -ENODATA ? -EINVAL : ret;
	}
	for (i = 0; i < e->h.gd_entries; i++) {
		u32 ent = le32_to_cpu((__force __le32)e->gd[i]);

		if (vd_vmdk_gd_entry(&e->h, ent, e->file_size, &msg)) {
			vd_msg_set(args->msg, "layer %u (%s): extent %u: %s",
				   args->index, layer->path, nr, text);
			return -EINVAL;
		}
		e->gd[i] = ent;
	}
	return 0;
}

/*
 * The header of a sparse extent; for a streamOptimized file whose header
 * says "GD at the end", the copy in the footer.
 */
static int vd_vmdk_read_header(struct vd_layer *layer, struct vd_vmdk_ext *e,
			       u32 nr, const struct vd_open_args *args)
{
	struct file *file = layer->files[e->file];
	char text[200] = "";
	struct vd_msg msg = { .buf = text, .len = sizeof(text) };
	u8 *buf;
	int ret;

	buf = kmalloc(VD_VMDK_FOOTER_LEN, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	ret = -EINVAL;
	if (e->file_size < VD_VMDK_HEADER_LEN) {
		vd_msg_set(&msg, "file of %llu bytes has no sparse header", e->file_size);
		goto out;
	}
	ret = vd_file_read(file, buf, VD_VMDK_HEADER_LEN, 0);
	if (ret)
		goto out_io;
	ret = vd_vmdk_parse_header(buf, e->file_size, false, &e->h, &msg);
	if (ret || e->h.gd_offset != VD_VMDK_GD_AT_END)
		goto out;
	ret = -EINVAL;
	if (e->file_size < VD_VMDK_HEADER_LEN + VD_VMDK_FOOTER_LEN) {
		vd_msg_set(&msg, "streamOptimized file too short for its footer");
		goto out;
	}
	ret = vd_file_read(file, buf, VD_VMDK_FOOTER_LEN,
			   e->file_size - VD_VMDK_FOOTER_LEN);
	if (ret)
		goto out_io;
	ret = vd_vmdk_footer_marker(buf, &msg);
	if (!ret)
		ret = vd_vmdk_parse_header(buf + 512, e->file_size, true, &e->h, &msg);
	goto out;
out_io:
	vd_msg_set(&msg, "sparse header unreadable: error %d", ret);
	if (ret == -ENODATA)
		ret = -EINVAL;
out:
	if (ret)
		vd_msg_set(args->msg, "layer %u (%s): extent %u: %s",
			   args->index, layer->path, nr, text);
	kfree(buf);
	return ret;
}

static int vd_vmdk_open_sparse(struct vd_layer *layer, struct vd_vmdk *v,
			       struct vd_vmdk_ext *e, u32 nr,
			       const struct vd_open_args *args)
{
	u64 gt_bytes;
	int ret;

	ret = vd_vmdk_read_header(layer, e, nr, args);
	if (ret)
		return ret;
	if (e->h.capacity << 9 < e->len) {
		vd_msg_set(args->msg,
			   "layer %u (%s): extent %u: capacity %llu sectors, the descriptor says %llu",
			   args->index, layer->path, nr, e->h.capacity, e->len >> 9);
		return -EINVAL;
	}
	if (e->h.compressed && layer->writable) {
		vd_msg_set(args->msg, "layer %u (%s): streamOptimized images are read-only (-r)",
			   args->index, layer->path);
		return -EROFS;
	}
	ret = vd_vmdk_load_gd(layer, e, nr, args);
	if (ret)
		return ret;
	gt_bytes = (u64)e->h.num_gtes * 4;
	e->slice_bytes = min_t(u64, gt_bytes, VD_MCACHE_SLICE);
	e->slice_entries_bits = ilog2(e->slice_bytes / 4);
	if (e->h.unclean)
		pr_warn("%s: extent %u was not closed cleanly (uncleanShutdown set)\n",
			layer->path, nr);
	return 0;
}

/* files[0] is a sparse extent: it is the one extent, its descriptor inside. */
static int vd_vmdk_open_monolithic(struct vd_layer *layer, struct vd_vmdk *v,
				   const struct vd_open_args *args)
{
	struct vd_vmdk_ext *e;
	int ret;

	if (layer->nr_files != 1) {
		vd_msg_set(args->msg,
			   "layer %u (%s): a sparse extent takes no extent files, got %u",
			   args->index, layer->path, layer->nr_files - 1);
		return -EINVAL;
	}
	/* not charged: fixed size, as the layer's other state */
	v->ext = kvzalloc(sizeof(*v->ext), GFP_KERNEL);
	if (!v->ext)
		return -ENOMEM;
	v->nr_ext = 1;
	e = &v->ext[0];
	e->type = VD_VMDK_EXT_SPARSE;
	e->file = 0;
	e->file_size = vd_vmdk_file_size(layer->files[0]);
	ret = vd_vmdk_open_sparse(layer, v, e, 1, args);
	if (ret)
		return ret;
	e->len = e->h.capacity << 9;
	if (!e->h.desc_offset)
		return 0;	/* no descriptor: no parent, CID unknown */
	v->desc_pos = e->h.desc_offset << 9;
	v->desc_len = e->h.desc_sectors << 9;
	return vd_vmdk_read_desc(layer, v, 0, args);
}

/* files[0] is a descriptor: one extent per line, files[1..] in order. */
static int vd_vmdk_open_extents(struct vd_layer *layer, struct vd_vmdk *v,
				const struct vd_open_args *args)
{
	u64 start = 0;
	u32 i, f = 1;
	int ret;

	for (i = 0; i < v->nr_ext; i++) {
		struct vd_vmdk_ext *e = &v->ext[i];
		const struct vd_vmdk_extent *x = &v->desc.ext[i];

		e->type = x->type;
		e->start = start;
		e->len = x->sectors << 9;
		start += e->len;
		if (x->type == VD_VMDK_EXT_ZERO)
			continue;
		e->file = f++;
		e->file_size = vd_vmdk_file_size(layer->files[e->file]);
		if (x->type == VD_VMDK_EXT_FLAT) {
			e->flat_off = x->offset << 9;
			if (e->file_size < e->flat_off + e->len) {
				vd_msg_set(args->msg,
					   "layer %u (%s): extent %u (%.*s): file of %llu bytes, needs %llu",
					   args->index, layer->path, i + 1, (int)x->name_len,
					   v->desc_text + x->name_off, e->file_size,
					   e->flat_off + e->len);
				return -EINVAL;
			}
			continue;
		}
		ret = vd_vmdk_open_sparse(layer, v, e, i + 1, args);
		if (ret)
			return ret;
	}
	return 0;
}

/**
 * vd_vmdk_read_desc() - read and parse the descriptor of a layer
 * @layer: the layer
 * @v:     its state; @v->desc_pos and @v->desc_len say where the text is
 * @need_extents: the descriptor's extents are the layer's (a descriptor
 *         file), so the extent table is allocated from it
 * @args:  for messages
 */
int vd_vmdk_read_desc(struct vd_layer *layer, struct vd_vmdk *v,
		      bool need_extents, const struct vd_open_args *args)
{
	char text[VDISK_MSG_MAX - 64] = "";
	struct vd_msg msg = { .buf = text, .len = sizeof(text) };
	int ret;

	/* up to 1 MiB, kept for the layer's life */
	ret = vd_layer_charge(layer, args, v->desc_len + 1, "descriptor of %llu bytes",
			      v->desc_len);
	if (ret)
		return ret;
	v->desc_text = kvmalloc(v->desc_len + 1, GFP_KERNEL);
	v->desc.ext = kvcalloc(VD_VMDK_MAX_EXTENTS, sizeof(*v->desc.ext), GFP_KERNEL);
	if (!v->desc_text || !v->desc.ext) {
		ret = -ENOMEM;
		goto out;
	}
	ret = vd_file_read(layer->files[0], v->desc_text, v->desc_len, v->desc_pos);
	if (ret) {
		vd_msg_set(args->msg, "layer %u (%s): descriptor unreadable: error %d",
			   args->index, layer->path, ret);
		ret = ret == -ENODATA ? -EINVAL : ret;
		goto out;
	}
	v->desc_text[v->desc_len] = '\0';
	ret = vd_vmdk_parse_descriptor(v->desc_text, v->desc_len, &v->desc,
				       VD_VMDK_MAX_EXTENTS, &msg);
	if (ret) {
		vd_msg_set(args->msg, "layer %u (%s): %s", args->index, layer->path, text);
		goto out;
	}
	if (need_extents) {
		ret = vd_layer_charge(layer, args, (u64)v->desc.nr_extents * sizeof(*v->ext),
				      "state of %u extents", v->desc.nr_extents);
		if (!ret)
			v->ext = kvcalloc(v->desc.nr_extents, sizeof(*v->ext), GFP_KERNEL);
		if (v->ext)
			v->nr_ext = v->desc.nr_extents;
		else if (!ret)
			ret = -ENOMEM;
	}
out:
	/* extent names are only needed while opening */
	if (!need_extents || ret) {
		kvfree(v->desc.ext);
		v->desc.ext = NULL;
	}
	return ret;
}

/*
 * One pool of inflate contexts for all compressed extents, as large as
 * their largest grain; contexts are made (and charged) on first use.
 */
static int vd_vmdk_decomp_init(struct vd_layer *layer, struct vd_vmdk *v)
{
	unsigned int bits = 0;
	u32 i;

	for (i = 0; i < v->nr_ext; i++)
		if (v->ext[i].type == VD_VMDK_EXT_SPARSE && v->ext[i].h.compressed)
			bits = max(bits, v->ext[i].h.grain_bits);
	if (!bits)
		return 0;
	v->decomp = vd_decomp_pool_create(VD_CODEC_ZLIB, 1U << bits, &layer->mem,
					  layer->path);
	return v->decomp ? 0 : -ENOMEM;
}

static int vd_vmdk_open(struct vd_layer *layer, const struct vd_open_args *args)
{
	struct vd_vmdk *v;
	__le32 magic = 0;
	u64 size0;
	int ret;

	v = kzalloc(sizeof(*v), GFP_KERNEL);
	if (!v)
		return -ENOMEM;
	v->cache = vd_mcache_pin(args->cache);
	v->mem = &layer->mem;
	mutex_init(&v->meta_lock);
	spin_lock_init(&v->busy_lock);
	INIT_LIST_HEAD(&v->busy);
	init_waitqueue_head(&v->busy_wq);
	size0 = vd_vmdk_file_size(layer->files[0]);
	if (size0 >= sizeof(magic)) {
		ret = vd_file_read(layer->files[0], &magic, sizeof(magic), 0);
		if (ret)
			goto err;
	}
	if (le32_to_cpu(magic) == VD_VMDK_MAGIC) {
		ret = vd_vmdk_open_monolithic(layer, v, args);
		if (ret)
			goto err;
	} else {
		if (size0 > VD_VMDK_DESC_MAX) {
			vd_msg_set(args->msg,
				   "layer %u (%s): not a sparse extent, and %llu bytes is too large for a descriptor",
				   args->index, layer->path, size0);
			ret = -EFBIG;
			goto err;
		}
		v->desc_pos = 0;
		v->desc_len = size0;
		v->desc_is_file = true;
		ret = vd_vmdk_read_desc(layer, v, true, args);
		if (ret)
			goto err;
		if (layer->nr_files - 1 != v->desc.nr_files) {
			vd_msg_set(args->msg,
				   "layer %u (%s): descriptor names %u extent files, got %u",
				   args->index, layer->path, v->desc.nr_files,
				   layer->nr_files - 1);
			ret = -EINVAL;
			goto err;
		}
		ret = vd_vmdk_open_extents(layer, v, args);
		kvfree(v->desc.ext);
		v->desc.ext = NULL;
		if (ret)
			goto err;
	}
	if (v->desc.create_type == VD_VMDK_STREAM_OPTIMIZED && layer->writable) {
		vd_msg_set(args->msg, "layer %u (%s): streamOptimized images are read-only (-r)",
			   args->index, layer->path);
		ret = -EROFS;
		goto err;
	}
	v->size = v->ext[v->nr_ext - 1].start + v->ext[v->nr_ext - 1].len;
	ret = vd_vmdk_decomp_init(layer, v);
	if (ret)
		goto err;
	ret = vd_vmdk_write_init(layer, v, args);
	if (ret)
		goto err;
	layer->priv = v;
	layer->virtual_size = v->size;
	return 0;
err:
	vd_vmdk_free(v);
	return ret;
}

static void vd_vmdk_close(struct vd_layer *layer)
{
	struct vd_vmdk *v = layer->priv;
	u32 i;

	if (!v)
		return;
	vd_vmdk_write_close(layer, v);
	for (i = 0; i < v->nr_ext; i++)
		if (v->cache && v->ext[i].type == VD_VMDK_EXT_SPARSE)
			vd_mcache_forget(v->cache, &v->ext[i]);
	vd_vmdk_free(v);
	layer->priv = NULL;
}

/* The extent holding virtual byte @pos (< size). */
struct vd_vmdk_ext *vd_vmdk_find(struct vd_vmdk *v, u64 pos)
{
	u32 lo = 0, hi = v->nr_ext;

	while (hi - lo > 1) {
		u32 mid = lo + (hi - lo) / 2;

		if (v->ext[mid].start <= pos)
			lo = mid;
		else
			hi = mid;
	}
	return &v->ext[lo];
}

/* Decode GT entry @i of a slice; -EIO (logged) for a corrupt one. */
/*
 * Decode grain table entry @i of @slice.  A bad one is logged and -EIO,
 * except under VD_MAP_NOWAIT: -EAGAIN, and the blocking retry reports it.
 */
static int vd_vmdk_entry(struct vd_layer *layer, struct vd_vmdk_ext *e,
			 u64 slice_off, const u8 *slice, unsigned int i,
			 unsigned int flags, u32 *kind, u64 *host)
{
	char text[160];
	struct vd_msg msg = { .buf = text, .len = sizeof(text) };
	u32 ent = vd_vmdk_slice_entry(slice, i);

	text[0] = '\0';
	if (vd_vmdk_gt_entry(&e->h, ent, READ_ONCE(e->file_size), kind, host, &msg))
		return flags & VD_MAP_NOWAIT ? -EAGAIN :
		       vd_vmdk_corrupt(layer, text, -EIO);
	if (*kind == VD_VMDK_GRAIN_DATA &&
	    vd_vmdk_grain_check(e, slice_off, *host, &msg)) {
		if (flags & VD_MAP_NOWAIT)
			return -EAGAIN;
		/* Writable (only those are checked): stop writing it. */
		vd_layer_broken(layer, text);
		return -EIO;
	}
	return 0;
}

static u32 vd_vmdk_ext_kind(u32 grain_kind)
{
	switch (grain_kind) {
	case VD_VMDK_GRAIN_DATA:
		return VD_EXT_DATA;
	case VD_VMDK_GRAIN_ZERO:
		return VD_EXT_ZERO;
	case VD_VMDK_GRAIN_COMPRESSED:
		return VD_EXT_FORMAT;
	default:
		return VD_EXT_BACKING;
	}
}

/* A sparse extent, @rel bytes into it, at most @len (within one GT). */
static int vd_vmdk_map_sparse(struct vd_layer *layer, struct vd_vmdk *v,
			      struct vd_vmdk_ext *e, u64 rel, u64 len,
			      unsigned int flags, struct vd_ext *ext)
{
	bool write = flags & VD_MAP_WRITE;
	unsigned int gb = e->h.grain_bits, nr = 1U << e->slice_entries_bits;
	u64 gs = 1ULL << gb, in_grain = rel & (gs - 1), host, next_host;
	u64 gd_idx = rel >> (gb + e->h.gte_bits), gte_idx, slice_off;
	struct vd_mentry *me;
	unsigned int i;
	u32 kind, gd;
	int ret;

	gd = READ_ONCE(e->gd[gd_idx]);
	if (!gd) {
		/* the caller keeps @len within this grain table's span */
		ext->kind = write ? VD_EXT_FORMAT : VD_EXT_BACKING;
		ext->len = len;
		return 0;
	}
	gte_idx = (rel >> gb) & (e->h.num_gtes - 1);
	slice_off = ((u64)gd << 9) + (gte_idx >> e->slice_entries_bits) * e->slice_bytes;
	if (flags & VD_MAP_NOWAIT) {
		me = vd_mcache_peek(v->cache, e, slice_off);
		if (!me)
			return -EAGAIN;
	} else {
		me = vd_mcache_get(v->cache, e, layer->files[e->file], slice_off,
				   e->slice_bytes);
	}
	if (IS_ERR(me)) {
		ret = PTR_ERR(me);
		if (ret == -ENODATA)
			return vd_vmdk_corrupt(layer, "grain table past the end of the file", -EIO);
		return ret;
	}
	i = gte_idx & (nr - 1);
	ret = vd_vmdk_entry(layer, e, slice_off, me->data, i, flags, &kind, &host);
	if (ret)
		goto out;
	ext->kind = vd_vmdk_ext_kind(kind);
	ext->file = e->file;
	ext->len = min(len, gs - in_grain);
	if (write && ext->kind != VD_EXT_DATA) {
		/*
		 * Allocating: as far as the grains of the slice need it, so
		 * that write_run() takes a stretch of whole grains in one go.
		 */
		ext->kind = VD_EXT_FORMAT;
		while (ext->len < len && ++i < nr) {
			ret = vd_vmdk_entry(layer, e, slice_off, me->data, i, flags, &kind, &host);
			if (ret || vd_vmdk_ext_kind(kind) == VD_EXT_DATA)
				break;
			ext->len += min(gs, len - ext->len);
		}
		goto out;
	}
	if (ext->kind == VD_EXT_FORMAT) {
		ext->host_off = host;
		goto out;
	}
	if (ext->kind == VD_EXT_DATA)
		ext->host_off = host + in_grain;
	next_host = host + gs;
	/* Extend over following grains of the slice in the same state. */
	while (ext->len < len && ++i < nr) {
		ret = vd_vmdk_entry(layer, e, slice_off, me->data, i, flags, &kind, &host);
		if (ret)
			break;
		if (vd_vmdk_ext_kind(kind) != ext->kind ||
		    (ext->kind == VD_EXT_DATA && host != next_host))
			break;
		ext->len += min(gs, len - ext->len);
		next_host += gs;
	}
out:
	vd_mcache_put(v->cache, me);
	return ret;
}

static int vd_vmdk_map(struct vd_layer *layer, u64 pos, u64 len,
		       unsigned int flags, struct vd_ext *ext)
{
	struct vd_vmdk *v = layer->priv;
	bool write = flags & VD_MAP_WRITE;
	struct vd_vmdk_ext *e;
	u64 rel, span;
	int ret;

	if (write && !READ_ONCE(v->opened_rw)) {
		/* the first write marks the extents unclean, changes the CID */
		if (flags & VD_MAP_NOWAIT)
			return -EAGAIN;
		ret = vd_vmdk_first_write(layer, v);
		if (ret)
			return ret;
	}
	if (pos >= v->size) {
		ext->kind = VD_EXT_ZERO;
		ext->len = len;
		return 0;
	}
	e = vd_vmdk_find(v, pos);
	rel = pos - e->start;
	len = min(len, e->len - rel);
	ext->file = e->file;
	switch (e->type) {
	case VD_VMDK_EXT_FLAT:
		ext->kind = VD_EXT_DATA;
		ext->len = len;
		ext->host_off = e->flat_off + rel;
		return 0;
	case VD_VMDK_EXT_ZERO:
		if (write)
			return -EROFS;
		ext->kind = VD_EXT_ZERO;
		ext->len = len;
		return 0;
	default:
		/* one grain table at a time */
		span = 1ULL << (e->h.grain_bits + e->h.gte_bits);
		len = min(len, round_down(rel, span) + span - rel);
		return vd_vmdk_map_sparse(layer, v, e, rel, len, flags, ext);
	}
}

static int vd_vmdk_read_run(struct vd_layer *layer, const struct vd_run *run,
			    struct iov_iter *iter)
{
	struct vd_vmdk *v = layer->priv;
	struct vd_vmdk_ext *e = vd_vmdk_find(v, run->pos);
	struct file *file = layer->files[e->file];
	u64 gs = 1ULL << e->h.grain_bits, rel = run->pos - e->start;
	u64 in_grain = rel & (gs - 1), marker = run->host_off, key;
	char text[160] = "";
	struct vd_msg msg = { .buf = text, .len = sizeof(text) };
	struct vd_decomp_ctx *ctx;
	u8 hdr[VD_VMDK_MARKER_LEN];
	u32 comp_len;
	int ret;

	if (!e->h.compressed || in_grain + run->len > gs)
		return vd_vmdk_corrupt(layer, "compressed grain where none can be", -EIO);
	/*
	 * The layer is read-only, so a marker's offset names the grain for
	 * the layer's life: a context still holding it saves the work.  The
	 * extents share the pool: the key is the extent's number (below
	 * 2^12) over the marker's offset (below 2^41, a 32-bit sector).
	 */
	key = (u64)(e - v->ext) << 48 | marker;
	ctx = vd_decomp_get(v->decomp, key);
	if (!ctx)
		return -ENOMEM;
	ret = 0;
	if (ctx->key != key) {
		ret = vd_file_read(file, hdr, sizeof(hdr), marker);
		if (!ret && vd_vmdk_grain_marker(&e->h, hdr, (rel >> e->h.grain_bits) <<
						 (e->h.grain_bits - 9),
						 vd_decomp_in_size(v->decomp), &comp_len, &msg))
			ret = vd_vmdk_corrupt(layer, text, -EIO);
		if (!ret)
			ret = vd_file_read(file, ctx->in, comp_len, marker + sizeof(hdr));
		if (ret == -ENODATA)
			ret = vd_vmdk_corrupt(layer, "compressed grain past the end of the file",
					      -EIO);
		if (!ret) {
			ret = vd_decompress(v->decomp, ctx, comp_len, gs);
			if (ret)
				vd_vmdk_corrupt(layer, "compressed grain does not inflate", ret);
			else
				ctx->key = key;
		}
	}
	if (!ret && copy_to_iter(ctx->out + in_grain, run->len, iter) != run->len)
		ret = -EFAULT;
	vd_decomp_put(v->decomp, ctx);
	return ret;
}

const struct vd_format_ops vd_vmdk_ops = {
	.format		= VDISK_FMT_VMDK,
	.open		= vd_vmdk_open,
	.close		= vd_vmdk_close,
	.map		= vd_vmdk_map,
	.read_run	= vd_vmdk_read_run,
	.write_run	= vd_vmdk_write_run,
	.flush		= vd_vmdk_flush,
	.discard	= vd_vmdk_discard,
	.set_backing	= vd_vmdk_set_backing,
};
