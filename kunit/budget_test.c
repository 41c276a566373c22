// SPDX-License-Identifier: GPL-2.0
/*
 * budget_test.c - KUnit suite vdisk_budget: the memory budgets of
 * budget.c.  A charge past the layer's or the module's limit must be
 * refused and leave both counts as they were; a layer's charges must go
 * back to the module's total when it is freed, whether its open failed or
 * it was closed; a vmdk whose grain directories add up past the layer's
 * limit must be refused naming the extent and the module parameter; and a
 * decompression pool must not make a context the budget has no room for.
 */
#include <kunit/test.h>
#include <linux/err.h>
#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/slab.h>
#include <linux/sizes.h>

#include "../budget.h"
#include "../decompress.h"
#include "../vd_vmdk.h"
#include "../vdisk.h"

#define VD_BT_DESC	"/vdisk-kunit-budget.vmdk"
#define VD_BT_EXT	"/vdisk-kunit-budget-s%u.vmdk"
#define VD_BT_NR_EXT	2
/* grain of 1 sector, 1 entry per grain table: one GD entry per sector */
#define VD_BT_SECTORS	(128 * 1024)	/* so a GD of 512 KiB per extent */

struct vd_bt_limits {
	unsigned int layer_mib;
	unsigned int total_mib;
};

static void vd_bt_restore(void *p)
{
	struct vd_bt_limits *old = p;

	WRITE_ONCE(vd_layer_mem_mib, old->layer_mib);
	WRITE_ONCE(vd_total_mem_mib, old->total_mib);
}

/* Set both limits for this case; the old ones come back when it ends. */
static void vd_bt_limits(struct kunit *test, unsigned int layer_mib,
			 unsigned int total_mib)
{
	struct vd_bt_limits *old = kunit_kzalloc(test, sizeof(*old), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, old);
	old->layer_mib = vd_layer_mem_mib;
	old->total_mib = vd_total_mem_mib;
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, vd_bt_restore, old), 0);
	WRITE_ONCE(vd_layer_mem_mib, layer_mib);
	WRITE_ONCE(vd_total_mem_mib, total_mib);
}

static void vdisk_budget_charge(struct kunit *test)
{
	struct vd_budget b = { };
	u64 base = vd_budget_total();

	vd_bt_limits(test, 1, 1U << 20);
	KUNIT_EXPECT_EQ(test, vd_budget_charge(&b, SZ_512K), 0);
	KUNIT_EXPECT_EQ(test, vd_budget_used(&b), SZ_512K);
	KUNIT_EXPECT_EQ(test, vd_budget_total(), base + SZ_512K);
	/* past the layer's MiB: refused, nothing charged */
	KUNIT_EXPECT_EQ(test, vd_budget_charge(&b, SZ_512K + 1), -EFBIG);
	KUNIT_EXPECT_EQ(test, vd_budget_used(&b), SZ_512K);
	KUNIT_EXPECT_EQ(test, vd_budget_total(), base + SZ_512K);
	/* up to the limit exactly is fine */
	KUNIT_EXPECT_EQ(test, vd_budget_charge(&b, SZ_512K), 0);
	vd_budget_uncharge(&b, SZ_512K);
	KUNIT_EXPECT_EQ(test, vd_budget_used(&b), SZ_512K);

	/* no layer limit, the module's just above what is taken */
	WRITE_ONCE(vd_layer_mem_mib, 0);
	WRITE_ONCE(vd_total_mem_mib, (vd_budget_total() >> 20) + 1);
	KUNIT_EXPECT_EQ(test, vd_budget_charge(&b, SZ_2M), -ENOMEM);
	KUNIT_EXPECT_EQ(test, vd_budget_used(&b), SZ_512K);
	KUNIT_EXPECT_EQ(test, vd_budget_total(), base + SZ_512K);
	/* absurd sizes never wrap the counters */
	KUNIT_EXPECT_EQ(test, vd_budget_charge(&b, U64_MAX), -EFBIG);

	vd_budget_release(&b);
	KUNIT_EXPECT_EQ(test, vd_budget_used(&b), 0);
	KUNIT_EXPECT_EQ(test, vd_budget_total(), base);
}

static void vd_bt_fput(void *file)
{
	fput(file);
}

/* @len bytes of @data, then zeros up to @size, as a new file at @path. */
static struct file *vd_bt_file(struct kunit *test, const char *path,
			       const void *data, size_t len, size_t size)
{
	struct file *file;
	loff_t off = 0;
	ssize_t n;
	u8 *buf;

	file = filp_open(path, O_CREAT | O_RDWR | O_TRUNC | O_LARGEFILE, 0600);
	if (IS_ERR(file)) {
		kunit_skip(test, "cannot create %s: %ld", path, PTR_ERR(file));
		return NULL;
	}
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, vd_bt_fput, file), 0);
	buf = kvzalloc(size, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	memcpy(buf, data, len);
	n = kernel_write(file, buf, size, &off);
	kvfree(buf);
	if (n != size)
		kunit_skip(test, "cannot write %s: %zd", path, n);
	return file;
}

static void vd_bt_put_le(u8 *p, u64 v, unsigned int bytes)
{
	unsigned int i;

	for (i = 0; i < bytes; i++)
		p[i] = v >> (8 * i);
}

/* A sparse extent: header, then an empty grain directory at sector 1. */
static struct file *vd_bt_extent(struct kunit *test, unsigned int nr)
{
	u8 h[VD_VMDK_HEADER_LEN] = { 0 };
	char path[64];

	memcpy(h, "KDMV", 4);
	vd_bt_put_le(h + 4, 1, 4);		/* version */
	vd_bt_put_le(h + 12, VD_BT_SECTORS, 8);	/* capacity */
	vd_bt_put_le(h + 20, 1, 8);		/* grain: one sector */
	vd_bt_put_le(h + 44, 1, 4);		/* one entry per grain table */
	vd_bt_put_le(h + 56, 1, 8);		/* grain directory at sector 1 */
	snprintf(path, sizeof(path), VD_BT_EXT, nr);
	return vd_bt_file(test, path, h, sizeof(h),
			  VD_VMDK_HEADER_LEN + VD_BT_SECTORS * 4);
}

/* The descriptor and its extents opened as a read-only vmdk layer. */
static struct vd_layer *vd_bt_open_vmdk(struct kunit *test, char *msgbuf,
					size_t msglen)
{
	struct vd_msg msg = { .buf = msgbuf, .len = msglen };
	struct vd_open_args args = { .index = 0, .msg = &msg };
	struct file *files[1 + VD_BT_NR_EXT];
	char desc[512];
	unsigned int i;
	int n;

	n = scnprintf(desc, sizeof(desc),
		      "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n"
		      "createType=\"twoGbMaxExtentSparse\"\n\n");
	for (i = 1; i <= VD_BT_NR_EXT; i++)
		n += scnprintf(desc + n, sizeof(desc) - n,
			       "RDONLY %u SPARSE \"vdisk-kunit-budget-s%u.vmdk\"\n",
			       VD_BT_SECTORS, i);
	files[0] = vd_bt_file(test, VD_BT_DESC, desc, n, n);
	for (i = 1; i <= VD_BT_NR_EXT; i++)
		files[i] = vd_bt_extent(test, i);
	/* the layer takes references of its own */
	for (i = 0; i <= VD_BT_NR_EXT; i++)
		get_file(files[i]);
	return vd_layer_open(files, 1 + VD_BT_NR_EXT, VDISK_FMT_VMDK, false, false, &args);
}

static void vdisk_budget_vmdk_gds(struct kunit *test)
{
	char msg[VDISK_MSG_MAX] = "";
	struct vd_layer *layer;
	u64 base = vd_budget_total(), used;

	/* two grain directories of 512 KiB, the layer may have 1 MiB */
	vd_bt_limits(test, 1, 1U << 20);
	layer = vd_bt_open_vmdk(test, msg, sizeof(msg));
	KUNIT_ASSERT_TRUE_MSG(test, IS_ERR(layer), "opened: %s", msg);
	KUNIT_EXPECT_EQ(test, PTR_ERR(layer), -EFBIG);
	KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(msg, "extent 2: grain directory"), "%s", msg);
	KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(msg, "layer_mem_mib"), "%s", msg);
	/* what the first extent took went back with the layer */
	KUNIT_EXPECT_EQ(test, vd_budget_total(), base);

	/* with room the same image opens, and reports what it holds */
	WRITE_ONCE(vd_layer_mem_mib, 2);
	msg[0] = '\0';
	layer = vd_bt_open_vmdk(test, msg, sizeof(msg));
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(layer), "open: %ld (%s)", PTR_ERR(layer), msg);
	used = vd_budget_used(&layer->mem);
	KUNIT_EXPECT_GE(test, used, 2 * VD_BT_SECTORS * 4);
	KUNIT_EXPECT_LE(test, used, 2 * VD_BT_SECTORS * 4 + SZ_64K);
	KUNIT_EXPECT_EQ(test, vd_budget_total(), base + used);
	vd_layer_put(layer);
	KUNIT_EXPECT_EQ(test, vd_budget_total(), base);
}

static void vdisk_budget_decomp(struct kunit *test)
{
	struct vd_decomp_pool *pool;
	struct vd_decomp_ctx *ctx;
	struct vd_budget b = { };
	u64 base = vd_budget_total();

	vd_bt_limits(test, 1, 1U << 20);
	/* a 2 MiB cluster's context (over 4 MiB) does not fit in 1 MiB */
	pool = vd_decomp_pool_create(VD_CODEC_ZLIB, SZ_2M, &b, "kunit");
	KUNIT_ASSERT_NOT_NULL(test, pool);
	KUNIT_EXPECT_NULL(test, vd_decomp_get(pool, 0));
	KUNIT_EXPECT_EQ(test, vd_budget_used(&b), 0);
	vd_decomp_pool_destroy(pool);

	/* a 64 KiB one does, and is charged */
	pool = vd_decomp_pool_create(VD_CODEC_ZLIB, SZ_64K, &b, "kunit");
	KUNIT_ASSERT_NOT_NULL(test, pool);
	ctx = vd_decomp_get(pool, 0);
	KUNIT_ASSERT_NOT_NULL(test, ctx);
	KUNIT_EXPECT_GE(test, vd_budget_used(&b), 2 * SZ_64K);
	KUNIT_EXPECT_LT(test, vd_budget_used(&b), SZ_1M);
	vd_decomp_put(pool, ctx);
	vd_decomp_pool_destroy(pool);
	vd_budget_release(&b);
	KUNIT_EXPECT_EQ(test, vd_budget_total(), base);
}

static struct kunit_case vdisk_budget_cases[] = {
	KUNIT_CASE(vdisk_budget_charge),
	KUNIT_CASE(vdisk_budget_vmdk_gds),
	KUNIT_CASE(vdisk_budget_decomp),
	{}
};

static struct kunit_suite vdisk_budget_suite = {
	.name = "vdisk_budget",
	.test_cases = vdisk_budget_cases,
};

kunit_test_suite(vdisk_budget_suite);
