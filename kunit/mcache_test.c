// SPDX-License-Identifier: GPL-2.0
/*
 * mcache_test.c - KUnit suite vdisk_mcache: the metadata cache against a
 * real file.  Slices must come back with the file's bytes, a full cache must
 * evict instead of growing, every shard must take its share (a weak key
 * hash once left most of them empty), hits must be counted, and a peek
 * must never read.
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
		vd_mcache_unpin(cache);
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
	vd_mcache_unpin(cache);
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
		vd_mcache_unpin(cache);
		return;
	}
	e = vd_mcache_get(cache, &owner, file,
			  (u64)VD_MC_SLICES * VD_MCACHE_SLICE, VD_MCACHE_SLICE);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(e), -ENODATA);
	/* a failed load is not cached: the next lookup reads again */
	vd_mcache_get_stats(cache, &st);
	KUNIT_EXPECT_EQ(test, st.entries, 0);
	vd_mcache_unpin(cache);
	fput(file);
}

/*
 * vd_mcache_peek() (the request attempt in queue_rq()) never reads: a
 * slice that is not in memory, or failed to load, is NULL; a cached one
 * comes back with its bytes, counted as a hit, and a reference that keeps
 * it from being evicted.
 */
static void vd_mcache_peek_cached_only(struct kunit *test)
{
	struct vd_mcache *cache = vd_mcache_create(VD_MC_CAPACITY * VD_MCACHE_SLICE);
	struct file *file = vd_mc_file(test);
	u64 eof = (u64)VD_MC_SLICES * VD_MCACHE_SLICE;
	struct vd_mentry *e, *held;
	struct vd_mcache_stats st;
	const int owner = 0, other = 0;
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, cache);
	if (!file) {
		vd_mcache_unpin(cache);
		return;
	}
	KUNIT_EXPECT_NULL(test, vd_mcache_peek(cache, &owner, 0));
	vd_mcache_get_stats(cache, &st);
	KUNIT_EXPECT_EQ(test, st.misses, 0);
	KUNIT_EXPECT_EQ(test, st.entries, 0);

	e = vd_mcache_get(cache, &owner, file, 0, VD_MCACHE_SLICE);
	KUNIT_ASSERT_FALSE(test, IS_ERR(e));
	vd_mcache_put(cache, e);
	held = vd_mcache_peek(cache, &owner, 0);
	KUNIT_ASSERT_NOT_NULL(test, held);
	KUNIT_EXPECT_PTR_EQ(test, held, e);
	KUNIT_EXPECT_TRUE(test, vd_mc_slice_ok(held->data, 0));
	/* the key is (owner, offset) */
	KUNIT_EXPECT_NULL(test, vd_mcache_peek(cache, &other, 0));
	vd_mcache_get_stats(cache, &st);
	KUNIT_EXPECT_EQ(test, st.hits, 1);
	KUNIT_EXPECT_EQ(test, st.misses, 1);

	/* filling the cache many times over does not evict what peek holds */
	for (i = 1; i < VD_MC_SLICES; i++) {
		e = vd_mcache_get(cache, &owner, file, (u64)i * VD_MCACHE_SLICE,
				  VD_MCACHE_SLICE);
		KUNIT_ASSERT_FALSE(test, IS_ERR(e));
		vd_mcache_put(cache, e);
	}
	KUNIT_EXPECT_TRUE(test, vd_mc_slice_ok(held->data, 0));
	e = vd_mcache_peek(cache, &owner, 0);
	KUNIT_EXPECT_PTR_EQ(test, e, held);
	if (e)
		vd_mcache_put(cache, e);
	vd_mcache_put(cache, held);

	/* a failed load leaves nothing to peek at */
	e = vd_mcache_get(cache, &owner, file, eof, VD_MCACHE_SLICE);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(e), -ENODATA);
	KUNIT_EXPECT_NULL(test, vd_mcache_peek(cache, &owner, eof));
	vd_mcache_unpin(cache);
	fput(file);
}

static struct kunit_case vd_mcache_cases[] = {
	KUNIT_CASE(vd_mcache_fills_every_shard),
	KUNIT_CASE(vd_mcache_read_past_eof),
	KUNIT_CASE(vd_mcache_peek_cached_only),
	{}
};

static struct kunit_suite vd_mcache_suite = {
	.name = "vdisk_mcache",
	.test_cases = vd_mcache_cases,
};

kunit_test_suite(vd_mcache_suite);
