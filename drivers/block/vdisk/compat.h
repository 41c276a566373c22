/* SPDX-License-Identifier: GPL-2.0 */
/*
 * compat.h - the block-layer API differences between the kernels vdisk
 * supports (6.1 and 6.12 LTS).  Everything version-dependent lives here so
 * the rest of the driver reads as plain 6.12 code.
 *
 *  - 6.9 passes queue limits to blk_mq_alloc_disk(); 6.11 moved the queue
 *    features (write cache, FUA, rotational) into the limits, with the
 *    BLK_FEAT_* flags.  Before, both were set on the queue after
 *    allocation.
 *  - 6.5 changed block_device_operations ->open() to take the gendisk and
 *    ->release() to drop the mode argument; BLK_OPEN_* came with it.
 *  - 6.6 and 6.7 moved an inode's ctime and mtime behind accessors.
 *  - 6.3 moved file locks to <linux/filelock.h>; 6.9 moved their common
 *    fields into struct file_lock_core (fl->c.flc_owner for fl->fl_owner).
 *
 * Each is detected by what the change introduced (a macro, or for the last
 * a function the Makefile finds in the headers) rather than by version
 * numbers, so distribution backports are handled too.
 */
#ifndef VDISK_COMPAT_H
#define VDISK_COMPAT_H

#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/fs.h>
#ifdef VD_HAVE_FILELOCK_H	/* 6.3+; the Makefile looks for it */
#include <linux/filelock.h>
#endif

/* A field common to all file locks: vd_flc(fl, owner). */
#ifdef for_each_file_lock	/* 6.9+: struct file_lock_core */
#define vd_flc(fl, field)	((fl)->c.flc_##field)
#else
#define vd_flc(fl, field)	((fl)->fl_##field)
#endif

/**
 * struct vd_limits - the queue properties vdisk sets, version-neutral
 * @logical_block_size:  bytes
 * @physical_block_size: bytes
 * @max_hw_sectors:      largest request, in 512-byte sectors
 * @max_segments:        bio_vecs per request
 * @discard_granularity: bytes, 0 with no discard
 * @max_discard_sectors: 0 disables discard
 * @max_write_zeroes_sectors: 0 disables write-zeroes
 * @write_cache:         volatile write cache: the driver gets flushes
 * @fua:                 REQ_FUA is passed to the driver
 */
struct vd_limits {
	unsigned int logical_block_size;
	unsigned int physical_block_size;
	unsigned int max_hw_sectors;
	unsigned short max_segments;
	unsigned int discard_granularity;
	unsigned int max_discard_sectors;
	unsigned int max_write_zeroes_sectors;
	bool write_cache;
	bool fua;
};

#ifdef BLK_FEAT_WRITE_CACHE	/* 6.11+ */

static inline struct gendisk *vd_alloc_disk(struct blk_mq_tag_set *set,
					    const struct vd_limits *vl,
					    void *queuedata)
{
	struct queue_limits lim = {
		.logical_block_size	= vl->logical_block_size,
		.physical_block_size	= vl->physical_block_size,
		.max_hw_sectors		= vl->max_hw_sectors,
		.max_segments		= vl->max_segments,
		.discard_granularity	= vl->discard_granularity,
		.max_hw_discard_sectors	= vl->max_discard_sectors,
		.max_write_zeroes_sectors = vl->max_write_zeroes_sectors,
	};

	if (vl->write_cache)
		lim.features |= BLK_FEAT_WRITE_CACHE;
	if (vl->fua)
		lim.features |= BLK_FEAT_FUA;
	return blk_mq_alloc_disk(set, &lim, queuedata);
}

#else /* 6.1 */

static inline struct gendisk *vd_alloc_disk(struct blk_mq_tag_set *set,
					    const struct vd_limits *vl,
					    void *queuedata)
{
	struct gendisk *disk = blk_mq_alloc_disk(set, queuedata);
	struct request_queue *q;

	if (IS_ERR(disk))
		return disk;
	q = disk->queue;
	blk_queue_logical_block_size(q, vl->logical_block_size);
	blk_queue_physical_block_size(q, vl->physical_block_size);
	blk_queue_max_hw_sectors(q, vl->max_hw_sectors);
	blk_queue_max_segments(q, vl->max_segments);
	q->limits.discard_granularity = vl->discard_granularity;
	blk_queue_max_discard_sectors(q, vl->max_discard_sectors);
	blk_queue_max_write_zeroes_sectors(q, vl->max_write_zeroes_sectors);
	blk_queue_write_cache(q, vl->write_cache, vl->fua);
	blk_queue_flag_set(QUEUE_FLAG_NONROT, q);
	blk_queue_flag_clear(QUEUE_FLAG_ADD_RANDOM, q);
	return disk;
}

#endif /* BLK_FEAT_WRITE_CACHE */

/*
 * VD_BDOPS_OPEN_RELEASE(open, release) defines open_compat() and
 * release_compat() with the signatures this kernel's
 * block_device_operations want, calling open(disk) and release(disk).
 */
#ifdef BLK_OPEN_READ	/* 6.5+ */
#define VD_BDOPS_OPEN_RELEASE(open_fn, release_fn)			\
static int open_fn##_compat(struct gendisk *disk, blk_mode_t mode)	\
{									\
	return open_fn(disk);						\
}									\
static void release_fn##_compat(struct gendisk *disk)			\
{									\
	release_fn(disk);						\
}
#else
#define VD_BDOPS_OPEN_RELEASE(open_fn, release_fn)			\
static int open_fn##_compat(struct block_device *bdev, fmode_t mode)	\
{									\
	return open_fn(bdev->bd_disk);					\
}									\
static void release_fn##_compat(struct gendisk *disk, fmode_t mode)	\
{									\
	release_fn(disk);						\
}
#endif /* BLK_OPEN_READ */

/*
 * 6.6 and 6.7 put an inode's ctime and mtime behind accessors.  No macro
 * tells, so the Makefile looks for inode_get_mtime() in the kernel's fs.h.
 */
#ifdef VD_HAVE_INODE_GET_MTIME
static inline struct timespec64 vd_inode_mtime(struct inode *inode)
{
	return inode_get_mtime(inode);
}

static inline struct timespec64 vd_inode_ctime(struct inode *inode)
{
	return inode_get_ctime(inode);
}
#else
static inline struct timespec64 vd_inode_mtime(struct inode *inode)
{
	return inode->i_mtime;
}

static inline struct timespec64 vd_inode_ctime(struct inode *inode)
{
	return inode->i_ctime;
}
#endif

#endif /* VDISK_COMPAT_H */
