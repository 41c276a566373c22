// SPDX-License-Identifier: GPL-2.0
/*
 * device_test.c - KUnit suite vdisk_device: a real /dev/vdN over a raw
 * file, driven through the block layer.
 *
 * Builds a one-layer chain (chain.c, raw.c), publishes it with
 * vd_device_create() (device.c), opens the block device and reads and
 * writes it with kernel_read()/kernel_write(): the page cache turns them
 * into requests that go through vd_queue_rq(), the work item, the walk and
 * the file I/O of queue.c.  Results are checked against the backing file.
 * Skips where the test kernel cannot create the file or open the device.
 */
#include <kunit/test.h>
#include <linux/blkdev.h>
#include <linux/err.h>
#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/slab.h>

#include "../mcache.h"
#include "../vdisk.h"

#define VD_DEV_FILE	"/vdisk-kunit-dev"
#define VD_DEV_SIZE	(64 * 1024)

struct vd_dev_fixture {
	struct file *file;	/* the backing file */
	struct vd_device *vd;
	struct file *bdev;	/* /dev/vdN, opened */
};

static u8 vd_dev_pattern(u64 i)
{
	return (u8)(i * 7 + (i >> 12) + 1);
}

static void vd_dev_teardown(struct vd_dev_fixture *fx, struct kunit *test)
{
	int ret;

	if (fx->bdev)
		__fput_sync(fx->bdev);	/* closes it now: detach needs it closed */
	fx->bdev = NULL;
	if (fx->vd) {
		mutex_lock(&vd_ctl_mutex);
		ret = vd_device_remove(fx->vd, false);
		mutex_unlock(&vd_ctl_mutex);
		KUNIT_EXPECT_EQ(test, ret, 0);
		fx->vd = NULL;
	}
	if (fx->file)
		fput(fx->file);
	fx->file = NULL;
}

static int vd_dev_init(struct kunit *test)
{
	struct vd_dev_fixture *fx;

	fx = kunit_kzalloc(test, sizeof(*fx), GFP_KERNEL);
	if (!fx)
		return -ENOMEM;
	test->priv = fx;
	return 0;
}

static void vd_dev_exit(struct kunit *test)
{
	vd_dev_teardown(test->priv, test);
}

/* Attach the pattern file as /dev/vdN and open it; skip if impossible. */
static void vd_dev_setup(struct kunit *test, bool writable)
{
	struct vd_dev_fixture *fx = test->priv;
	char *msgbuf = kunit_kzalloc(test, VDISK_MSG_MAX, GFP_KERNEL);
	struct vd_msg msg = { .buf = msgbuf, .len = VDISK_MSG_MAX };
	struct vd_open_args args = { .index = 0, .msg = &msg };
	struct file *files[1];
	struct vd_layer *layer;
	struct vd_chain *chain;
	struct vd_mcache *cache;
	loff_t off = 0;
	u8 *buf;
	size_t i;
	int ret;

	KUNIT_ASSERT_NOT_NULL(test, msgbuf);
	fx->file = filp_open(VD_DEV_FILE, O_CREAT | O_RDWR | O_TRUNC | O_LARGEFILE, 0600);
	if (IS_ERR(fx->file)) {
		ret = PTR_ERR(fx->file);
		fx->file = NULL;
		kunit_skip(test, "cannot create %s: %d", VD_DEV_FILE, ret);
	}
	buf = kunit_kmalloc(test, VD_DEV_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	for (i = 0; i < VD_DEV_SIZE; i++)
		buf[i] = vd_dev_pattern(i);
	KUNIT_ASSERT_EQ(test, kernel_write(fx->file, buf, VD_DEV_SIZE, &off),
			(ssize_t)VD_DEV_SIZE);

	files[0] = get_file(fx->file);
	layer = vd_layer_open(files, 1, VDISK_FMT_RAW, writable, true, &args);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(layer), "layer: %ld %s", PTR_ERR(layer), msgbuf);
	chain = vd_chain_alloc(1);
	if (!chain) {
		vd_layer_put(layer);
		KUNIT_FAIL_AND_ABORT(test, "no memory for the chain");
	}
	chain->layer[0] = layer;

	cache = vd_mcache_create(64 * 1024);
	if (!cache) {
		vd_chain_free(chain);
		KUNIT_FAIL_AND_ABORT(test, "no memory for the metadata cache");
	}
	mutex_lock(&vd_ctl_mutex);
	ret = vd_device_create(chain, cache, writable ? 0 : VDISK_ATTACH_READ_ONLY,
			       -1, &msg, &fx->vd);
	mutex_unlock(&vd_ctl_mutex);
	if (ret) {
		fx->vd = NULL;
		vd_chain_free(chain);
		vd_mcache_unpin(cache);
		KUNIT_FAIL_AND_ABORT(test, "vd_device_create: %d %s", ret, msgbuf);
	}
	KUNIT_EXPECT_EQ(test, get_capacity(fx->vd->disk), VD_DEV_SIZE >> SECTOR_SHIFT);

	fx->bdev = bdev_file_open_by_dev(disk_devt(fx->vd->disk),
					 BLK_OPEN_READ | (writable ? BLK_OPEN_WRITE : 0),
					 NULL, NULL);
	if (IS_ERR(fx->bdev)) {
		ret = PTR_ERR(fx->bdev);
		fx->bdev = NULL;
		kunit_skip(test, "cannot open vd%d: %d", fx->vd->index, ret);
	}
	KUNIT_EXPECT_EQ(test, fx->vd->open_count, 1);
}

/* Reads of the device return the file's bytes, at odd offsets too. */
static void vdisk_device_read(struct kunit *test)
{
	struct vd_dev_fixture *fx = test->priv;
	static const struct { loff_t pos; size_t len; } reads[] = {
		{ 0, 4096 }, { 4096, 8192 }, { 512, 1000 }, { 65536 - 3, 3 },
		{ 0, VD_DEV_SIZE },
	};
	u8 *buf = kunit_kmalloc(test, VD_DEV_SIZE, GFP_KERNEL);
	size_t r, i;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	vd_dev_setup(test, false);
	for (r = 0; r < ARRAY_SIZE(reads); r++) {
		loff_t pos = reads[r].pos;

		memset(buf, 0xee, reads[r].len);
		KUNIT_ASSERT_EQ_MSG(test, kernel_read(fx->bdev, buf, reads[r].len, &pos),
				    (ssize_t)reads[r].len, "read %zu", r);
		for (i = 0; i < reads[r].len; i++)
			if (buf[i] != vd_dev_pattern(reads[r].pos + i))
				KUNIT_FAIL_AND_ABORT(test, "read %zu: byte %llu is %u, want %u",
						     r, reads[r].pos + i, buf[i],
						     vd_dev_pattern(reads[r].pos + i));
	}
	/* the end of the device */
	{
		loff_t pos = VD_DEV_SIZE;

		KUNIT_EXPECT_EQ(test, kernel_read(fx->bdev, buf, 512, &pos), 0);
	}
}

/* Writes reach the file once flushed; a read-back sees them. */
static void vdisk_device_write_flush(struct kunit *test)
{
	struct vd_dev_fixture *fx = test->priv;
	u8 *w = kunit_kmalloc(test, 12288, GFP_KERNEL);
	u8 *r = kunit_kmalloc(test, 12288, GFP_KERNEL);
	loff_t pos = 8192;
	size_t i;

	KUNIT_ASSERT_NOT_NULL(test, w);
	KUNIT_ASSERT_NOT_NULL(test, r);
	vd_dev_setup(test, true);
	for (i = 0; i < 12288; i++)
		w[i] = (u8)(0xa5 ^ i ^ (i >> 8));
	KUNIT_ASSERT_EQ(test, kernel_write(fx->bdev, w, 12288, &pos), (ssize_t)12288);
	KUNIT_ASSERT_EQ(test, vfs_fsync(fx->bdev, 0), 0);

	/* in the backing file, at the same offset; the bytes around intact */
	KUNIT_ASSERT_EQ(test, vd_file_read(fx->file, r, 12288, 8192), 0);
	KUNIT_EXPECT_EQ(test, memcmp(r, w, 12288), 0);
	KUNIT_ASSERT_EQ(test, vd_file_read(fx->file, r, 4096, 4096), 0);
	for (i = 0; i < 4096; i++)
		if (r[i] != vd_dev_pattern(4096 + i))
			KUNIT_FAIL_AND_ABORT(test, "byte %zu before the write changed", 4096 + i);
	KUNIT_ASSERT_EQ(test, vd_file_read(fx->file, r, 4096, 20480), 0);
	for (i = 0; i < 4096; i++)
		if (r[i] != vd_dev_pattern(20480 + i))
			KUNIT_FAIL_AND_ABORT(test, "byte %zu after the write changed", 20480 + i);
}

/* A read-only device refuses writes. */
static void vdisk_device_read_only(struct kunit *test)
{
	struct vd_dev_fixture *fx = test->priv;
	u8 *buf = kunit_kzalloc(test, 4096, GFP_KERNEL);
	loff_t pos = 0;
	struct file *f;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	vd_dev_setup(test, false);
	KUNIT_EXPECT_TRUE(test, get_disk_ro(fx->vd->disk));
	KUNIT_EXPECT_FALSE(test, vd_chain_top(fx->vd->chain)->writable);
	f = bdev_file_open_by_dev(disk_devt(fx->vd->disk), BLK_OPEN_READ | BLK_OPEN_WRITE,
				  NULL, NULL);
	if (IS_ERR(f))
		return;		/* refused at open: fine too */
	KUNIT_EXPECT_LT(test, kernel_write(f, buf, 4096, &pos), 0);
	__fput_sync(f);
}

/* An open device is not detached, except lazily. */
static void vdisk_device_busy(struct kunit *test)
{
	struct vd_dev_fixture *fx = test->priv;
	int ret;

	vd_dev_setup(test, false);
	mutex_lock(&vd_ctl_mutex);
	ret = vd_device_remove(fx->vd, false);
	mutex_unlock(&vd_ctl_mutex);
	KUNIT_EXPECT_EQ(test, ret, -EBUSY);
	mutex_lock(&vd_ctl_mutex);
	KUNIT_EXPECT_PTR_EQ(test, vd_device_find(fx->vd->index, false), fx->vd);
	mutex_unlock(&vd_ctl_mutex);
}

static struct kunit_case vdisk_device_cases[] = {
	KUNIT_CASE(vdisk_device_read),
	KUNIT_CASE(vdisk_device_write_flush),
	KUNIT_CASE(vdisk_device_read_only),
	KUNIT_CASE(vdisk_device_busy),
	{}
};

static struct kunit_suite vdisk_device_suite = {
	.name = "vdisk_device",
	.init = vd_dev_init,
	.exit = vd_dev_exit,
	.test_cases = vdisk_device_cases,
};

kunit_test_suite(vdisk_device_suite);
