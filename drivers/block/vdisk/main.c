// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - module entry: parameters, the I/O workqueue, registration.
 *
 * vdisk serves disk images (raw, qcow2, vmdk) as block devices /dev/vdN.
 * Userspace (vdattach) opens the image files and attaches them through
 * /dev/vdisk-control; see include/uapi/linux/vdisk.h,
 * Documentation/vdisk.rst and Documentation/abi.rst.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/workqueue.h>

#include "vdisk.h"

unsigned int vd_queue_depth = 128;
module_param_named(queue_depth, vd_queue_depth, uint, 0444);
MODULE_PARM_DESC(queue_depth, "Requests in flight per device (default 128)");

unsigned int vd_cache_kib = 4096;
module_param_named(cache_kib, vd_cache_kib, uint, 0644);
MODULE_PARM_DESC(cache_kib, "Metadata (L2/grain table) cache per device in KiB unless given at attach (default 4096: maps 32 GiB of 64 KiB-cluster qcow2)");

unsigned int vd_max_devices = 1024;
module_param_named(max_devices, vd_max_devices, uint, 0444);
MODULE_PARM_DESC(max_devices, "Highest number of /dev/vdN devices (default 1024)");

/*
 * Request work and autoclear removals.  WQ_MEM_RECLAIM: a device may carry
 * swap or dirty pages being written back, which must progress under memory
 * pressure.  Unbound: the work mostly submits and waits on file I/O.
 */
struct workqueue_struct *vd_io_wq;

static int __init vd_init(void)
{
	int ret;

	if (!vd_queue_depth || vd_queue_depth > BLK_MQ_MAX_DEPTH ||
	    !vd_max_devices || vd_max_devices > (MINORMASK >> VD_PART_SHIFT) + 1) {
		pr_err("queue_depth must be 1..%u and max_devices 1..%u\n",
		       BLK_MQ_MAX_DEPTH, (MINORMASK >> VD_PART_SHIFT) + 1);
		return -EINVAL;
	}
	ret = vd_budget_init();
	if (ret)
		return ret;
	vd_io_wq = alloc_workqueue("vdisk", WQ_UNBOUND | WQ_MEM_RECLAIM, 0);
	if (!vd_io_wq)
		return -ENOMEM;
	ret = vd_queue_init();
	if (ret)
		goto err_wq;
	ret = vd_blkdev_init();
	if (ret)
		goto err_queue;
	ret = vd_ctl_init();
	if (ret)
		goto err_blkdev;
	pr_info("vdisk: ready (ABI %u)\n", VDISK_ABI_VERSION);
	return 0;

err_blkdev:
	vd_blkdev_exit();
err_queue:
	vd_queue_exit();
err_wq:
	destroy_workqueue(vd_io_wq);
	return ret;
}

static void __exit vd_exit(void)
{
	vd_ctl_exit();			/* no new attach or detach */
	vd_device_remove_all();
	destroy_workqueue(vd_io_wq);	/* drains pending autoclear works */
	vd_blkdev_exit();
	vd_queue_exit();
}

module_init(vd_init);
module_exit(vd_exit);

MODULE_DESCRIPTION("Disk images (raw, qcow2, vmdk) as block devices");
MODULE_LICENSE("GPL");
/*
 * No "devname:" alias: the control device has a dynamic misc minor, so
 * depmod cannot describe a node to create before the module loads.
 */
