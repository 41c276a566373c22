// SPDX-License-Identifier: GPL-2.0
/*
 * lock_test.c - KUnit suite vdisk_lock: QEMU's image locks (lock.c) on
 * real files, and on a file whose filesystem refuses every lock.
 *
 * The VM test qemu-locks runs the protocol against QEMU itself; this suite
 * covers what no filesystem of the test guest does on demand: a lock
 * request that fails (NFS v3 without rpc.statd, a cluster filesystem
 * without its lock manager).  A written layer must then be refused with a
 * message that names --no-lock, a read-only one served without locks.
 */
#include <kunit/test.h>
#include <linux/anon_inodes.h>
#include <linux/err.h>
#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/string.h>

#include "../vdisk.h"
#include "../lock.h"

#define VD_TEST_LOCKED	"/vdisk-kunit-lock"

/* ->lock of a filesystem without working locks: every request fails. */
static int vd_nolock_lock(struct file *file, int cmd, struct file_lock *fl)
{
	return -ENOLCK;
}

static const struct file_operations vd_nolock_fops = {
	.owner	= THIS_MODULE,
	.lock	= vd_nolock_lock,
};

static void vd_fput_action(void *file)
{
	fput(file);
}

/* A layer of one file, only as far as lock.c looks at it. */
static struct vd_layer *vd_lock_test_layer(struct kunit *test, struct file *file)
{
	struct vd_layer *layer = kunit_kzalloc(test, sizeof(*layer), GFP_KERNEL);
	struct file **files = kunit_kcalloc(test, 1, sizeof(*files), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, layer);
	KUNIT_ASSERT_NOT_NULL(test, files);
	files[0] = file;
	layer->files = files;
	layer->nr_files = 1;
	return layer;
}

static void vdisk_lock_unsupported(struct kunit *test)
{
	char buf[256] = "";
	struct vd_msg msg = { .buf = buf, .len = sizeof(buf) };
	struct vd_layer *layer;
	struct file *file;

	file = anon_inode_getfile("[vdisk-nolock]", &vd_nolock_fops, NULL, O_RDWR);
	KUNIT_ASSERT_FALSE(test, IS_ERR(file));
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, vd_fput_action, file), 0);
	layer = vd_lock_test_layer(test, file);

	/* written: refused, the filesystem's error passed on, --no-lock named */
	KUNIT_EXPECT_EQ(test, vd_lock_layer(layer, true, VD_LOCK_QEMU, 0, &msg), -ENOLCK);
	KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(buf, "QEMU-style locks cannot be taken (error -37)"),
				  "%s", buf);
	KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(buf, "--no-lock"), "%s", buf);
	KUNIT_EXPECT_EQ(test, layer->lock_perm, 0);

	/* read-only (a backing layer, -r): served without locks */
	buf[0] = '\0';
	KUNIT_EXPECT_EQ(test, vd_lock_layer(layer, false, VD_LOCK_QEMU, 1, &msg), 0);
	KUNIT_EXPECT_STREQ(test, buf, "");
	vd_lock_release(layer);

	/* --no-lock: nothing asked of the filesystem */
	KUNIT_EXPECT_EQ(test, vd_lock_layer(layer, true, VD_LOCK_NONE, 0, &msg), 0);
	KUNIT_EXPECT_EQ(test, layer->lock_perm, 0);
}

static struct file *vd_lock_test_file(struct kunit *test)
{
	struct file *file;

	file = filp_open(VD_TEST_LOCKED, O_CREAT | O_RDWR | O_LARGEFILE, 0600);
	if (IS_ERR(file))
		kunit_skip(test, "cannot create %s: %ld", VD_TEST_LOCKED, PTR_ERR(file));
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, vd_fput_action, file), 0);
	return file;
}

/* Two open file descriptions of one file: the protocol between them. */
static void vdisk_lock_conflicts(struct kunit *test)
{
	char buf[256] = "";
	struct vd_msg msg = { .buf = buf, .len = sizeof(buf) };
	struct vd_layer *a, *b;

	a = vd_lock_test_layer(test, vd_lock_test_file(test));
	b = vd_lock_test_layer(test, vd_lock_test_file(test));

	KUNIT_ASSERT_EQ(test, vd_lock_layer(a, true, VD_LOCK_QEMU, 0, &msg), 0);
	KUNIT_EXPECT_EQ(test, a->lock_perm,
			VD_PERM_CONSISTENT_READ | VD_PERM_WRITE | VD_PERM_RESIZE);
	KUNIT_EXPECT_EQ(test, a->lock_unshared, VD_PERM_WRITE | VD_PERM_RESIZE);

	/* a second writer and a reader that keeps writers out: refused */
	KUNIT_EXPECT_EQ(test, vd_lock_layer(b, true, VD_LOCK_QEMU, 0, &msg), -EBUSY);
	KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(buf, "QEMU-style lock on byte"), "%s", buf);
	KUNIT_EXPECT_EQ(test, b->lock_perm, 0);
	buf[0] = '\0';
	KUNIT_EXPECT_EQ(test, vd_lock_layer(b, false, VD_LOCK_QEMU, 1, &msg), -EBUSY);
	KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(buf, "layer 1:"), "%s", buf);

	/* sharing everything (-U): allowed beside the writer */
	buf[0] = '\0';
	KUNIT_EXPECT_EQ(test, vd_lock_layer(b, false, VD_LOCK_SHARE_ALL, 0, &msg), 0);
	KUNIT_EXPECT_STREQ(test, buf, "");
	vd_lock_release(b);

	/* the writer gone, a second writer is allowed */
	vd_lock_release(a);
	KUNIT_EXPECT_EQ(test, vd_lock_layer(b, true, VD_LOCK_QEMU, 0, &msg), 0);
	vd_lock_release(b);
}

static struct kunit_case vdisk_lock_cases[] = {
	KUNIT_CASE(vdisk_lock_unsupported),
	KUNIT_CASE(vdisk_lock_conflicts),
	{}
};

static struct kunit_suite vdisk_lock_suite = {
	.name = "vdisk_lock",
	.test_cases = vdisk_lock_cases,
};

kunit_test_suite(vdisk_lock_suite);
