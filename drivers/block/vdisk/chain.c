// SPDX-License-Identifier: GPL-2.0
/*
 * chain.c - layers (one image each) and the immutable stacks they form.
 *
 * A layer owns its files and its format state and is reference counted, so
 * one layer can belong to the chain a device serves now and to the chain it
 * will serve after a commit or rebase; the device swaps chains with its
 * queue frozen (see vdisk.h).
 */
#include <linux/file.h>
#include <linux/magic.h>
#include <linux/mm.h>
#include <linux/namei.h>
#include <linux/pagemap.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/stat.h>

#include "vdisk.h"
#include "vd_probe.h"

static const struct vd_format_ops *const vd_formats[VDISK_FMT_COUNT] = {
	[VDISK_FMT_RAW]		= &vd_raw_ops,
	[VDISK_FMT_QCOW2]	= &vd_qcow2_ops,
	[VDISK_FMT_VMDK]	= &vd_vmdk_ops,
};

const struct vd_format_ops *vd_format_ops_get(unsigned int format)
{
	if (format >= VDISK_FMT_COUNT)
		return NULL;
	return vd_formats[format];
}

/*
 * Direct I/O constraints of a file: STATX_DIOALIGN where the filesystem
 * reports it, else the logical block size of the device below, as loop
 * does.  NFS has no device and reports nothing, but sends direct I/O as
 * READ/WRITE RPCs of any offset, length and buffer address: sectors are
 * enough there (and an image on NFS wants the server, not this client's
 * page cache, to hold its data, as a VM's cache=none would).  Returns
 * false when the file cannot do direct I/O at all, or sits on another
 * filesystem with neither (9p's direct reads hang): buffered there.
 */
static bool vd_file_dio_align(struct file *file, unsigned int *off_align,
			      unsigned int *mem_align)
{
	struct inode *inode = file_inode(file);
	struct kstat stat;

	if (!(file->f_mode & FMODE_CAN_ODIRECT))
		return false;
	if (!vfs_getattr(&file->f_path, &stat, STATX_DIOALIGN,
			 AT_STATX_SYNC_AS_STAT) &&
	    (stat.result_mask & STATX_DIOALIGN)) {
		if (!stat.dio_offset_align)
			return false;	/* the filesystem says: not for this file */
		*off_align = max_t(u32, stat.dio_offset_align, SECTOR_SIZE);
		*mem_align = max_t(u32, stat.dio_mem_align, 1);
		return true;
	}
	if (S_ISBLK(inode->i_mode))
		*off_align = bdev_logical_block_size(I_BDEV(file->f_mapping->host));
	else if (inode->i_sb->s_bdev)
		*off_align = bdev_logical_block_size(inode->i_sb->s_bdev);
	else if (inode->i_sb->s_magic == NFS_SUPER_MAGIC)
		*off_align = SECTOR_SIZE;
	else
		return false;
	*mem_align = *off_align;
	return true;
}

/* Largest alignment over all files, or 0 if one of them cannot do DIO. */
static void vd_layer_set_dio(struct vd_layer *layer)
{
	unsigned int i, off = 0, mem = 0;

	layer->dio_align = 0;
	layer->dio_mem_align = 0;
	for (i = 0; i < layer->nr_files; i++) {
		unsigned int o, m;

		if (!vd_file_dio_align(layer->files[i], &o, &m))
			return;
		off = max(off, o);
		mem = max(mem, m);
	}
	/* A request's pages are sector aligned at best: stay within that. */
	if (off > PAGE_SIZE || !is_power_of_2(off) || !is_power_of_2(mem) ||
	    mem > SECTOR_SIZE)
		return;
	layer->dio_align = off;
	layer->dio_mem_align = mem;
}

/*
 * A direct write into a range the page cache holds must invalidate those
 * pages first, and one sent with IOCB_NOWAIT (queue.c's attempt) is
 * refused for them and redone by the worker; a direct read must first
 * write back dirty pages.  An image just copied or converted is often
 * cached whole, so that cost would be paid page by page under the guest's
 * I/O for as long as the pages stay: write back what is dirty and, for a
 * layer we write, drop the clean pages now, once.  Best effort: a failed
 * writeback leaves the pages (and its error for the next fsync).
 */
static void vd_layer_drop_cache(struct vd_layer *layer)
{
	unsigned int i;

	for (i = 0; i < layer->nr_files; i++) {
		struct address_space *mapping = layer->files[i]->f_mapping;

		if (!mapping->nrpages || filemap_write_and_wait(mapping))
			continue;
		if (layer->writable)
			invalidate_mapping_pages(mapping, 0, -1);
	}
}

static char *vd_file_path(struct file *file)
{
	char *buf = kmalloc(PATH_MAX, GFP_KERNEL), *p, *path;

	if (!buf)
		return NULL;
	p = file_path(file, buf, PATH_MAX);
	path = kstrdup(IS_ERR(p) ? "(unknown)" : p, GFP_KERNEL);
	kfree(buf);
	return path;
}

static void vd_layer_release(struct kref *ref)
{
	struct vd_layer *layer = container_of(ref, struct vd_layer, ref);
	unsigned int i;

	if (layer->ops)
		layer->ops->close(layer);
	/*
	 * The image locks go with the layer, not with the last reference to
	 * its files: the process that passed them may keep its own.
	 */
	vd_lock_release(layer);
	for (i = 0; i < layer->nr_files; i++)
		if (layer->files[i])
			fput(layer->files[i]);
	kfree(layer->files);
	kfree(layer->path);
	vd_budget_release(&layer->mem);
	kfree(layer);
}

void vd_layer_put(struct vd_layer *layer)
{
	if (layer)
		kref_put(&layer->ref, vd_layer_release);
}

/**
 * vd_layer_open() - make a layer of @files
 * @files:     the image file first, then extent files; the layer takes
 *             over the references, whatever the outcome
 * @nr_files:  entries in @files (the array itself stays the caller's)
 * @format:    VDISK_FMT_*
 * @writable:  the layer will be written (top of a read-write device)
 * @allow_dio: use direct I/O where the files allow it
 * @args:      position in the stack and where to explain a refusal
 *
 * Return: the layer, or an ERR_PTR with @args->msg saying why.
 */
struct vd_layer *vd_layer_open(struct file **files, unsigned int nr_files,
			       unsigned int format, bool writable,
			       bool allow_dio, const struct vd_open_args *args)
{
	const struct vd_format_ops *ops = vd_format_ops_get(format);
	struct vd_layer *layer;
	unsigned int i;
	int ret = -ENOMEM;

	layer = kzalloc(sizeof(*layer), GFP_KERNEL);
	if (!layer)
		goto err_put_files;
	kref_init(&layer->ref);
	layer->files = kcalloc(nr_files, sizeof(*layer->files), GFP_KERNEL);
	if (!layer->files)
		goto err_free_layer;
	memcpy(layer->files, files, nr_files * sizeof(*files));
	layer->nr_files = nr_files;
	layer->writable = writable;
	layer->path = vd_file_path(files[0]);
	if (!layer->path)
		goto err_layer;

	if (!ops) {
		vd_msg_set(args->msg, "layer %u (%s): format %s is not supported by this driver",
			   args->index, layer->path, vd_format_name(format));
		ret = -EPROTONOSUPPORT;
		goto err_layer;
	}
	if (allow_dio)
		vd_layer_set_dio(layer);
	if (layer->dio_align)
		vd_layer_drop_cache(layer);

	ret = ops->open(layer, args);
	if (ret)
		goto err_layer;
	layer->ops = ops;
	return layer;

err_layer:
	vd_layer_put(layer);	/* puts the files too */
	return ERR_PTR(ret);
err_free_layer:
	kfree(layer);
err_put_files:
	for (i = 0; i < nr_files; i++)
		fput(files[i]);
	return ERR_PTR(ret);
}

/**
 * vd_layer_broken() - a format found the layer's metadata corrupt
 * @layer: the layer
 * @why:   what was found, with offsets
 *
 * Logged once per layer; the device stops accepting writes (queue.c) so
 * that nothing more is written on top of metadata known to be wrong.
 */
void vd_layer_broken(struct vd_layer *layer, const char *why)
{
	if (!xchg(&layer->broken, true))
		pr_err("%s: metadata corrupt, device now read-only: %s\n",
		       layer->path, why);
}

struct vd_chain *vd_chain_alloc(unsigned int nr)
{
	struct vd_chain *chain;

	chain = kzalloc(struct_size(chain, layer, nr), GFP_KERNEL);
	if (chain)
		chain->nr = nr;
	return chain;
}

/* Drops the chain's reference on each layer it holds. */
void vd_chain_free(struct vd_chain *chain)
{
	unsigned int i;

	if (!chain)
		return;
	for (i = 0; i < chain->nr; i++)
		vd_layer_put(chain->layer[i]);
	kfree(chain);
}

/* One file of a stack, for vd_chain_check_distinct(). */
struct vd_chain_file {
	const struct inode *inode;
	unsigned int level;
};

static int vd_chain_file_cmp(const void *a, const void *b)
{
	const struct vd_chain_file *fa = a, *fb = b;

	if (fa->inode != fb->inode)
		return fa->inode < fb->inode ? -1 : 1;
	return fa->level < fb->level ? -1 : fa->level > fb->level;
}

/*
 * The same file twice in one stack is a loop in the backing chain (or a
 * layer reading its own writes as its backing): refuse it.  A stack may
 * hold 64 layers of 4097 files each, so sort them rather than compare
 * every pair.
 */
int vd_chain_check_distinct(const struct vd_chain *chain, struct vd_msg *msg)
{
	struct vd_chain_file *f;
	unsigned int l, i, n = 0;
	int ret = 0;

	for (l = 0; l < chain->nr; l++)
		n += chain->layer[l]->nr_files;
	if (n < 2)
		return 0;
	f = kvmalloc_array(n, sizeof(*f), GFP_KERNEL);
	if (!f)
		return -ENOMEM;
	n = 0;
	for (l = 0; l < chain->nr; l++)
		for (i = 0; i < chain->layer[l]->nr_files; i++)
			f[n++] = (struct vd_chain_file) {
				.inode = file_inode(chain->layer[l]->files[i]),
				.level = l,
			};
	sort(f, n, sizeof(*f), vd_chain_file_cmp, NULL);
	for (i = 1; i < n; i++) {
		if (f[i].inode != f[i - 1].inode)
			continue;
		vd_msg_set(msg, "layers %u and %u: same file %s", f[i - 1].level,
			   f[i].level, chain->layer[f[i - 1].level]->path);
		ret = -ELOOP;
		break;
	}
	kvfree(f);
	return ret;
}
