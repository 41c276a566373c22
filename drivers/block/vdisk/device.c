// SPDX-License-Identifier: GPL-2.0
/*
 * device.c - the life of a /dev/vdN: create, open/close, detach.
 *
 * Devices live in an idr keyed by N under vd_ctl_mutex.  A device is
 * removed by an explicit detach (refused while open unless lazy), by its
 * last close when autoclear is set, or at module unload.  The struct is
 * reference counted (vd_device.ref) because an autoclear removal runs from
 * a work item that may race with an explicit detach.
 */
#include <linux/idr.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "compat.h"
#include "mcache.h"
#include "vdisk.h"

static DEFINE_IDR(vd_index_idr);
static int vd_major;

int vd_blkdev_major(void)
{
	return vd_major;
}

static void vd_device_release(struct kref *ref)
{
	struct vd_device *vd = container_of(ref, struct vd_device, ref);

	free_percpu(vd->io_stats);
	kfree(vd);
}

void vd_device_put(struct vd_device *vd)
{
	kref_put(&vd->ref, vd_device_release);
}

static int vd_bdev_open(struct gendisk *disk)
{
	struct vd_device *vd = disk->private_data;
	int ret = 0;

	mutex_lock(&vd->lock);
	if (vd->state != VD_STATE_LIVE)
		ret = -ENXIO;
	else
		vd->open_count++;
	mutex_unlock(&vd->lock);
	return ret;
}

static void vd_bdev_release(struct gendisk *disk)
{
	struct vd_device *vd = disk->private_data;

	mutex_lock(&vd->lock);
	if (!--vd->open_count && vd->state == VD_STATE_LIVE &&
	    (vd->flags & VDISK_ATTACH_AUTOCLEAR)) {
		/*
		 * The block layer holds disk->open_mutex here, and removal
		 * takes it again in del_gendisk(): remove from a work item.
		 */
		kref_get(&vd->ref);
		if (!queue_work(vd_io_wq, &vd->remove_work))
			vd_device_put(vd);
	}
	mutex_unlock(&vd->lock);
}

VD_BDOPS_OPEN_RELEASE(vd_bdev_open, vd_bdev_release)

static const struct block_device_operations vd_bdev_ops = {
	.owner		= THIS_MODULE,
	.open		= vd_bdev_open_compat,
	.release	= vd_bdev_release_compat,
};

/**
 * vd_file_is_vdisk() - is @file one of our own block devices (or a partition)?
 * @file: an open file
 *
 * A vdisk device as a layer could back itself, directly or through another
 * vdisk device: its I/O would wait on its own queue and a job on its own
 * fence, for ever.  loop refuses loops the same way (loop_validate_file()).
 */
bool vd_file_is_vdisk(struct file *file)
{
	struct inode *inode = file->f_mapping->host;

	return S_ISBLK(inode->i_mode) &&
	       I_BDEV(inode)->bd_disk->fops == &vd_bdev_ops;
}

/* Tear down a device taken out of the index; vd_ctl_mutex not needed. */
static void vd_device_destroy(struct vd_device *vd)
{
	vd_job_stop(vd);		/* cancels a running commit/rebase */
	del_gendisk(vd->disk);		/* drains all I/O */
	vd_chain_free(vd->chain);
	vd->chain = NULL;
	vd_mcache_unpin(vd->mcache);	/* a job's layers may still pin it */
	vd->mcache = NULL;
	blk_mq_free_tag_set(&vd->tag_set);
	put_disk(vd->disk);
	vd_device_put(vd);		/* the index's reference */
}

static void vd_device_remove_work(struct work_struct *work)
{
	struct vd_device *vd = container_of(work, struct vd_device, remove_work);
	bool remove = false;

	mutex_lock(&vd_ctl_mutex);
	mutex_lock(&vd->lock);
	if (vd->state == VD_STATE_LIVE && !vd->open_count &&
	    idr_find(&vd_index_idr, vd->index) == vd) {
		vd->state = VD_STATE_REMOVING;
		idr_remove(&vd_index_idr, vd->index);
		remove = true;
	}
	mutex_unlock(&vd->lock);
	mutex_unlock(&vd_ctl_mutex);
	if (remove) {
		pr_info("vd%d: detached on last close\n", vd->index);
		vd_device_destroy(vd);
	}
	vd_device_put(vd);		/* the work's reference */
}

/**
 * vd_device_remove() - detach a device found in the index
 * @vd:   the device; caller holds vd_ctl_mutex
 * @lazy: if the device is open, mark it to go away on last close
 *
 * Return: 0 when removed or marked, -EBUSY if open and not @lazy.
 */
int vd_device_remove(struct vd_device *vd, bool lazy)
{
	lockdep_assert_held(&vd_ctl_mutex);

	mutex_lock(&vd->lock);
	if (vd->open_count) {
		if (lazy)
			vd->flags |= VDISK_ATTACH_AUTOCLEAR;
		mutex_unlock(&vd->lock);
		return lazy ? 0 : -EBUSY;
	}
	/* A job ends by itself or by a cancel, not by a detach. */
	if (vd_job_running(vd)) {
		mutex_unlock(&vd->lock);
		return -EBUSY;
	}
	vd->state = VD_STATE_REMOVING;
	mutex_unlock(&vd->lock);
	idr_remove(&vd_index_idr, vd->index);
	vd_device_destroy(vd);
	return 0;
}

/**
 * vd_device_swap_chain() - serve another stack of layers
 * @vd:    the device
 * @chain: the new stack, same top layer and size; the device owns it now
 *
 * The queue is frozen meanwhile, so no request runs with either stack
 * half seen.  The caller must not hold a fence window (a waiting request
 * holds the queue's usage counter).
 *
 * Return: the old stack, for the caller to free.
 */
struct vd_chain *vd_device_swap_chain(struct vd_device *vd,
				      struct vd_chain *chain)
{
	struct request_queue *q = vd->disk->queue;
	struct vd_chain *old;

	blk_mq_freeze_queue(q);
	mutex_lock(&vd->lock);
	old = vd->chain;
	vd->chain = chain;
	mutex_unlock(&vd->lock);
	blk_mq_unfreeze_queue(q);
	return old;
}

/* Called with vd_ctl_mutex held.  Returns NULL if there is none. */
struct vd_device *vd_device_find(int index, bool next)
{
	lockdep_assert_held(&vd_ctl_mutex);

	if (index < 0)
		return NULL;
	if (next)
		return idr_get_next(&vd_index_idr, &index);
	return idr_find(&vd_index_idr, index);
}

static void vd_limits_for(const struct vd_chain *chain, struct vd_limits *vl)
{
	const struct vd_layer *top = vd_chain_top(chain);
	unsigned int pbs = max_t(unsigned int, top->dio_align, SECTOR_SIZE);

	*vl = (struct vd_limits) {
		.logical_block_size	= SECTOR_SIZE,
		.physical_block_size	= pbs,
		.max_hw_sectors		= SZ_1M >> SECTOR_SHIFT,
		.max_segments		= 256,
		.write_cache		= true,
		.fua			= true,
	};
	if (top->writable && top->ops->discard) {
		vl->discard_granularity = max(pbs, top->discard_granularity);
		vl->max_discard_sectors = UINT_MAX >> SECTOR_SHIFT;
		vl->max_write_zeroes_sectors = UINT_MAX >> SECTOR_SHIFT;
	}
}

/**
 * vd_device_create() - publish a chain as /dev/vdN
 * @chain: the layers; owned by the device on success
 * @mcache: the layers' metadata cache; owned by the device on success
 * @flags: VDISK_ATTACH_*
 * @index: wanted N, or -1 for the lowest free one
 * @msg:   explanation on failure
 * @out:   the new device
 *
 * Called with vd_ctl_mutex held.
 */
int vd_device_create(struct vd_chain *chain, struct vd_mcache *mcache,
		     u32 flags, int index, struct vd_msg *msg,
		     struct vd_device **out)
{
	struct vd_layer *top = vd_chain_top(chain);
	struct vd_limits vl;
	struct vd_device *vd;
	struct gendisk *disk;
	int ret;

	lockdep_assert_held(&vd_ctl_mutex);

	vd = kzalloc(sizeof(*vd), GFP_KERNEL);
	if (!vd)
		return -ENOMEM;
	vd->io_stats = alloc_percpu(struct vd_io_stats);
	if (!vd->io_stats) {
		kfree(vd);
		return -ENOMEM;
	}
	kref_init(&vd->ref);
	mutex_init(&vd->lock);
	INIT_WORK(&vd->remove_work, vd_device_remove_work);
	vd_fence_init(&vd->fence);
	vd->flags = flags;
	vd->state = VD_STATE_LIVE;

	if (index >= 0) {
		if (index >= vd_max_devices) {
			vd_msg_set(msg, "index %d is beyond max_devices (%u)",
				   index, vd_max_devices);
			ret = -EINVAL;
			goto err_free;
		}
		ret = idr_alloc(&vd_index_idr, vd, index, index + 1, GFP_KERNEL);
		if (ret == -ENOSPC) {
			vd_msg_set(msg, "/dev/vd%d is already attached", index);
			ret = -EEXIST;
		}
	} else {
		ret = idr_alloc(&vd_index_idr, vd, 0, vd_max_devices, GFP_KERNEL);
		if (ret == -ENOSPC)
			vd_msg_set(msg, "all %u devices are in use (module parameter max_devices)",
				   vd_max_devices);
	}
	if (ret < 0)
		goto err_free;
	vd->index = ret;

	vd->tag_set.ops = &vd_mq_ops;
	vd->tag_set.nr_hw_queues = 1;
	vd->tag_set.queue_depth = vd_queue_depth;
	vd->tag_set.numa_node = NUMA_NO_NODE;
	vd->tag_set.cmd_size = vd_cmd_size();
	/* BLOCKING: queue_rq() may run a request itself (queue.c) */
	vd->tag_set.flags = BLK_MQ_F_SHOULD_MERGE | BLK_MQ_F_STACKING |
			    BLK_MQ_F_NO_SCHED_BY_DEFAULT | BLK_MQ_F_BLOCKING;
	vd->tag_set.driver_data = vd;
	ret = blk_mq_alloc_tag_set(&vd->tag_set);
	if (ret)
		goto err_idr;

	vd_limits_for(chain, &vl);
	disk = vd_alloc_disk(&vd->tag_set, &vl, vd);
	if (IS_ERR(disk)) {
		ret = PTR_ERR(disk);
		goto err_tags;
	}
	vd->disk = disk;
	vd->chain = chain;
	vd->mcache = mcache;

	disk->major = vd_major;
	disk->first_minor = vd->index << VD_PART_SHIFT;
	disk->minors = 1 << VD_PART_SHIFT;
	disk->fops = &vd_bdev_ops;
	disk->private_data = vd;
	if (!(flags & VDISK_ATTACH_PARTSCAN))
		disk->flags |= GENHD_FL_NO_PART;
	snprintf(disk->disk_name, DISK_NAME_LEN, VDISK_DISK_PREFIX "%d", vd->index);
	set_capacity(disk, top->virtual_size >> SECTOR_SHIFT);
	set_disk_ro(disk, !top->writable);

	ret = device_add_disk(NULL, disk, vd_disk_attr_groups);
	if (ret)
		goto err_disk;
	*out = vd;
	return 0;

err_disk:
	vd->chain = NULL;
	vd->mcache = NULL;
	put_disk(disk);
err_tags:
	blk_mq_free_tag_set(&vd->tag_set);
err_idr:
	idr_remove(&vd_index_idr, vd->index);
err_free:
	free_percpu(vd->io_stats);
	kfree(vd);
	return ret;
}

/* Module unload: nothing can be open (each opener pins the module). */
void vd_device_remove_all(void)
{
	struct vd_device *vd;
	int index;

	mutex_lock(&vd_ctl_mutex);
	idr_for_each_entry(&vd_index_idr, vd, index)
		WARN_ON(vd_device_remove(vd, false));
	mutex_unlock(&vd_ctl_mutex);
	idr_destroy(&vd_index_idr);
}

int vd_blkdev_init(void)
{
	vd_major = register_blkdev(0, "vdisk");
	return vd_major < 0 ? vd_major : 0;
}

void vd_blkdev_exit(void)
{
	unregister_blkdev(vd_major, "vdisk");
}
