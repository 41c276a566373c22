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
#include <linux/uio.h>

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
	 * (vd_qcow2_put_buf()); the odd kvec goes through the page cache.
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
