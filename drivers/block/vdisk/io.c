// SPDX-License-Identifier: GPL-2.0
/*
 * io.c - synchronous file helpers for metadata: header reads, table
 * writes and syncs.
 *
 * Guest data in place never goes through here (see queue.c); formats use
 * these for headers and tables, and for the copy-on-write pieces of an
 * allocating write.
 */
#include <linux/fs.h>

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

/* Make every completed write to @file durable. */
int vd_file_sync(struct file *file)
{
	return vfs_fsync(file, 0);
}
