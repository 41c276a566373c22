// SPDX-License-Identifier: GPL-2.0
/*
 * mcache_test.c - KUnit suite vdisk_mcache: the metadata cache against a
 * real file.  Slices must come back with the file's bytes, a full cache must
 * evict instead of growing, every shard must take its share (a weak key
 * hash once left most of them empty), and hits must be counted.
 */
#include <kunit/test.h>
#include <linux/err.h>
#include <linux/fcntl.h>
#include <linux/fs.h>
#include <linux/slab.h>

#include "../mcache.h"
#include "../vdisk.h"

#define VD_MC_PATH	"/vdisk-kunit-mcache"
#define VD_MC_SLICES	256			/* file size in slices */
#define VD_MC_CAPACITY	64			/* the smallest cache */

static u8 vd_mc_byte(u64 i)
{
	return (u8)(i ^ (i >> 12) * 7);
}

static struct file *vd_mc_file(struct kunit *test)
{
	size_t size = VD_MC_SLICES * VD_MCACHE_SLICE, i;
	struct file *file;
	loff_t off = 0;
	u8 *buf;

	file = filp_open(VD_MC_PATH, O_CREAT | O_RDWR | O_TRUNC | O_LARGEFILE, 0600);
	if (IS_ERR(file)) {
		kunit_skip(test, "cannot create %s: %ld", VD_MC_PATH, PTR_ERR(file));
		return NULL;
	}
	buf = kunit_kmalloc(test, size, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	for (i = 0; i < size; i++)
		buf[i] = vd_mc_byte(i);
	if (kernel_write(file, buf, size, &off) != size) {
		fput(file);
		kunit_skip(test, "cannot write %s", VD_MC_PATH);
		return NULL;
	}
	return file;
}

static bool vd_mc_slice_ok(const u8 *data, u64 off)
{
	unsigned int i;

	for (i = 0; i < VD_MCACHE_SLICE; i++)
		if (data[i] != vd_mc_byte(off + i))
			return false;
	return true;
}

static void vd_mcache_fills_every_shard(struct kunit *test)
{
	struct vd_mcache *cache = vd_mcache_create(VD_MC_CAPACITY * VD_MCACHE_SLICE);
	struct file *file = vd_mc_file(test);
	struct vd_mcache_stats st;
	struct vd_mentry *e;
	const int owner = 0;
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, cache);
	if (!file) {
		vd_mcache_destroy(cache);
		return;
	}
	for (i = 0; i < VD_MC_SLICES; i++) {
		u64 off = (u64)i * VD_MCACHE_SLICE;

		e = vd_mcache_get(cache, &owner, file, off, VD_MCACHE_SLICE);
		KUNIT_ASSERT_FALSE(test, IS_ERR(e));
		KUNIT_EXPECT_TRUE_MSG(test, vd_mc_slice_ok(e->data, off), "slice %u", i);
		vd_mcache_put(cache, e);
	}
	vd_mcache_get_stats(cache, &st);
	KUNIT_EXPECT_EQ(test, st.capacity, VD_MC_CAPACITY);
	KUNIT_EXPECT_EQ(test, st.misses, VD_MC_SLICES);
	KUNIT_EXPECT_EQ(test, st.hits, 0);
	/* 256 distinct keys over 16 shards of 4: every shard full */
	KUNIT_EXPECT_EQ(test, st.entries, VD_MC_CAPACITY);

	/* the most recent slice is still there; a hit returns the same bytes */
	e = vd_mcache_get(cache, &owner, file,
			  (u64)(VD_MC_SLICES - 1) * VD_MCACHE_SLICE, VD_MCACHE_SLICE);
	KUNIT_ASSERT_FALSE(test, IS_ERR(e));
	KUNIT_EXPECT_TRUE(test, vd_mc_slice_ok(e->data,
					       (u64)(VD_MC_SLICES - 1) * VD_MCACHE_SLICE));
	vd_mcache_put(cache, e);
	vd_mcache_get_stats(cache, &st);
	KUNIT_EXPECT_EQ(test, st.hits, 1);

	/* forgetting the owner empties the cache */
	vd_mcache_forget(cache, &owner);
	vd_mcache_get_stats(cache, &st);
	KUNIT_EXPECT_EQ(test, st.entries, 0);
	vd_mcache_destroy(cache);
	fput(file);
}

static void vd_mcache_read_past_eof(struct kunit *test)
{
	struct vd_mcache *cache = vd_mcache_create(VD_MC_CAPACITY * VD_MCACHE_SLICE);
	struct file *file = vd_mc_file(test);
	struct vd_mcache_stats st;
	struct vd_mentry *e;
	const int owner = 0;

	KUNIT_ASSERT_NOT_NULL(test, cache);
	if (!file) {
		vd_mcache_destroy(cache);
		return;
	}
	e = vd_mcache_get(cache, &owner, file,
			  (u64)VD_MC_SLICES * VD_MCACHE_SLICE, VD_MCACHE_SLICE);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(e), -ENODATA);
	/* a failed load is not cached: the next lookup reads again */
	vd_mcache_get_stats(cache, &st);
	KUNIT_EXPECT_EQ(test, st.entries, 0);
	vd_mcache_destroy(cache);
	fput(file);
}

static struct kunit_case vd_mcache_cases[] = {
	KUNIT_CASE(vd_mcache_fills_every_shard),
	KUNIT_CASE(vd_mcache_read_past_eof),
	{}
};

static struct kunit_suite vd_mcache_suite = {
	.name = "vdisk_mcache",
	.test_cases = vd_mcache_cases,
};

kunit_test_suite(vd_mcache_suite);
