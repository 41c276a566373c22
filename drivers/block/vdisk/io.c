// SPDX-License-Identifier: GPL-2.0
/*
 * io.c - synchronous file helpers for metadata: header reads, table
 * writes and syncs.
 *
 * Guest data in place never goes through here (see queue.c); formats use
 * these for headers and tables, and for the copy-on-write pieces of an
 * allocating write.
 */
#include <linux/bvec.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <linux/vmalloc.h>

#include "vdisk.h"

/**
 * vd_file_read() - read exactly @len bytes at @pos
 * @file: the file
 * @buf:  kernel buffer
 * @len:  bytes wanted
 * @pos:  file offset
 *
 * Return: 0, -ENODATA if the file ends first (a truncated image: the
 * caller names the structure it wanted), or the read's error.
 */
int vd_file_read(struct file *file, void *buf, size_t len, u64 pos)
{
	loff_t off = pos;

	while (len) {
		ssize_t n = kernel_read(file, buf, len, &off);

		if (n < 0)
			return n;
		if (n == 0)
			return -ENODATA;
		buf += n;
		len -= n;
	}
	return 0;
}

/**
 * vd_file_write() - write exactly @len bytes at @pos
 * @file: the file
 * @buf:  kernel buffer
 * @len:  bytes
 * @pos:  file offset
 *
 * Return: 0, or the write's error (-EIO for a write that stops short).
 */
int vd_file_write(struct file *file, const void *buf, size_t len, u64 pos)
{
	loff_t off = pos;

	while (len) {
		ssize_t n = kernel_write(file, buf, len, &off);

		if (n < 0)
			return n;
		if (n == 0)
			return -EIO;
		buf += n;
		len -= n;
	}
	return 0;
}

/**
 * vd_file_write_iter() - write all of @iter at @pos, synchronously
 * @file:   the file
 * @iter:   source; advanced past what was written
 * @pos:    file offset
 * @direct: bypass the page cache (the caller checked the alignment)
 *
 * Return: 0, or the write's error (-EIO for a write that stops short).
 */
int vd_file_write_iter(struct file *file, struct iov_iter *iter, u64 pos,
		       bool direct)
{
	/*
	 * 6.1's direct I/O cannot pin the pages of a kvec (-EFAULT).  Kernel
	 * buffers that should bypass the page cache come as a bvec instead
	 * (vd_layer_write_buf()); the odd kvec goes through the page cache.
	 */
	if (iov_iter_is_kvec(iter))
		direct = false;
	while (iov_iter_count(iter)) {
		struct kiocb kiocb;
		ssize_t n;

		init_sync_kiocb(&kiocb, file);
		kiocb.ki_pos = pos;
		if (direct)
			kiocb.ki_flags |= IOCB_DIRECT;
		kiocb_start_write(&kiocb);
		n = file->f_op->write_iter(&kiocb, iter);
		kiocb_end_write(&kiocb);
		if (n < 0)
			return n;
		if (n == 0)
			return -EIO;
		pos += n;
	}
	return 0;
}

/* Can [@pos, @pos + @len) of @iter go to @layer's files with direct I/O? */
static bool vd_layer_can_dio(const struct vd_layer *layer, u64 pos, u64 len,
			     const struct iov_iter *iter)
{
	unsigned int align = layer->dio_align;

	if (!align || ((pos | len) & (align - 1)))
		return false;
	return !(iov_iter_alignment(iter) & (layer->dio_mem_align - 1));
}

/**
 * vd_layer_write_buf() - write a kernel buffer into one of a layer's files
 * @layer: the layer (its direct I/O alignment)
 * @file:  one of its files
 * @buf:   the bytes: kmalloc'ed or vmalloc'ed
 * @len:   bytes
 * @pos:   file offset
 *
 * With direct I/O when the file and the alignment allow: the buffer's
 * pages go as a bvec.  Buffered copy-on-write would leave dirty page cache
 * that every later direct read of the range must first write back, and a
 * flush that writes all of it at once.  Return: 0 or -errno.
 */
int vd_layer_write_buf(const struct vd_layer *layer, struct file *file,
		       void *buf, size_t len, u64 pos)
{
	unsigned int align = layer->dio_align, nr, i;
	struct iov_iter iter;
	struct bio_vec *bv;
	int ret;

	if (!align || ((pos | len) & (align - 1)) ||
	    ((unsigned long)buf & (max(layer->dio_mem_align, 1U) - 1)) ||
	    offset_in_page(buf))
		return vd_file_write(file, buf, len, pos);
	nr = DIV_ROUND_UP(len, PAGE_SIZE);
	bv = kmalloc_array(nr, sizeof(*bv), GFP_KERNEL);
	if (!bv)
		return vd_file_write(file, buf, len, pos);
	for (i = 0; i < nr; i++) {
		void *p = buf + (size_t)i * PAGE_SIZE;
		struct page *page = is_vmalloc_addr(p) ? vmalloc_to_page(p) :
							 virt_to_page(p);

		bvec_set_page(&bv[i], page,
			      min_t(size_t, PAGE_SIZE, len - (size_t)i * PAGE_SIZE), 0);
	}
	iov_iter_bvec(&iter, ITER_SOURCE, bv, nr, len);
	ret = vd_file_write_iter(file, &iter, pos, true);
	kfree(bv);
	return ret;
}

/**
 * vd_layer_write_iter() - write the first @len bytes of @iter into a file
 * @layer: the layer (its direct I/O alignment)
 * @file:  one of its files
 * @iter:  source; advanced by @len on success
 * @len:   bytes, at most what @iter holds
 * @pos:   file offset
 *
 * Direct I/O where the file allows, synchronously.  Return: 0 or -errno.
 */
int vd_layer_write_iter(const struct vd_layer *layer, struct file *file,
			struct iov_iter *iter, u64 len, u64 pos)
{
	struct iov_iter part = *iter;
	bool dio;
	int ret;

	iov_iter_truncate(&part, len);
	dio = vd_layer_can_dio(layer, pos, len, &part);
	/*
	 * A kernel buffer (a job's copy, write zeroes) comes as a kvec,
	 * whose pages direct I/O cannot take before 6.3 (6.1 fails the
	 * write with -EFAULT): one segment goes as pages, more buffered.
	 */
	if (dio && iov_iter_is_kvec(&part) && part.nr_segs == 1 &&
	    part.kvec->iov_len - part.iov_offset >= len)
		ret = vd_layer_write_buf(layer, file,
					 part.kvec->iov_base + part.iov_offset,
					 len, pos);
	else
		ret = vd_file_write_iter(file, &part, pos, dio);
	if (!ret)
		iov_iter_advance(iter, len);
	return ret;
}

#define VD_ZERO_BVECS	16

/**
 * vd_file_write_zeroes() - write @len zero bytes at @pos
 * @file: the file
 * @pos:  file offset
 * @len:  bytes
 *
 * Written from the shared zero page, so no buffer is needed: for tables a
 * format creates (their on-disk content must be valid before anything
 * points at them).  Return: 0 or the write's error.
 */
int vd_file_write_zeroes(struct file *file, u64 pos, u64 len)
{
	struct bio_vec bv[VD_ZERO_BVECS];
	u64 off = pos;
	unsigned int i;

	while (len) {
		size_t chunk = min_t(u64, len, VD_ZERO_BVECS * PAGE_SIZE);
		unsigned int nr = DIV_ROUND_UP(chunk, PAGE_SIZE);
		struct iov_iter iter;
		int n;

		for (i = 0; i < nr; i++)
			bvec_set_page(&bv[i], ZERO_PAGE(0),
				      min_t(size_t, PAGE_SIZE, chunk - i * PAGE_SIZE), 0);
		iov_iter_bvec(&iter, ITER_SOURCE, bv, nr, chunk);
		n = vd_file_write_iter(file, &iter, off, false);
		if (n)
			return n;
		off += chunk;
		len -= chunk;
	}
	return 0;
}

/* Make every completed write to @file durable. */
int vd_file_sync(struct file *file)
{
	return vfs_fsync(file, 0);
}
