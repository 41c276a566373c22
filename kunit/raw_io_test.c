// SPDX-License-Identifier: GPL-2.0
/*
 * raw_io_test.c - KUnit suite vdisk_raw_io: the real raw layer on a real
 * file.  The file is created on the root filesystem of the test kernel
 * (ramfs or tmpfs under UML); where that is impossible the suite skips.
 *
 * Covers vd_layer_open() (chain.c) with the raw format (raw.c), its map
 * answers, vd_file_read() (io.c), the walk over a raw layer stacked on
 * another, and vd_chain_check_distinct().
 */
#include <kunit/test.h>
#include <linux/err.h>
#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/slab.h>

#include "../vdisk.h"

#define VD_TEST_TOP	"/vdisk-kunit-raw"
#define VD_TEST_BASE	"/vdisk-kunit-raw-base"
#define VD_TEST_TINY	"/vdisk-kunit-raw-tiny"

/* Byte @i of the file made by vd_make_file() with @seed. */
static u8 vd_pattern(u64 i, u8 seed)
{
	return (u8)(i * 31 + (i >> 9) + seed);
}

/* A file of @size pattern bytes, or NULL (and the test is skipped). */
static struct file *vd_make_file(struct kunit *test, const char *path,
				 size_t size, u8 seed)
{
	struct file *file;
	loff_t off = 0;
	ssize_t n;
	u8 *buf;
	size_t i;

	file = filp_open(path, O_CREAT | O_RDWR | O_TRUNC | O_LARGEFILE, 0600);
	if (IS_ERR(file)) {
		kunit_skip(test, "cannot create %s: %ld", path, PTR_ERR(file));
		return NULL;
	}
	buf = kunit_kmalloc(test, size ? size : 1, GFP_KERNEL);
	if (!buf) {
		fput(file);
		KUNIT_FAIL_AND_ABORT(test, "no memory");
	}
	for (i = 0; i < size; i++)
		buf[i] = vd_pattern(i, seed);
	n = size ? kernel_write(file, buf, size, &off) : 0;
	if (n != size) {
		fput(file);
		kunit_skip(test, "cannot write %s: %zd", path, n);
		return NULL;
	}
	return file;
}

static void vd_fput_action(void *file)
{
	fput(file);
}

static void vd_layer_put_action(void *layer)
{
	vd_layer_put(layer);
}

/*
 * Open @file as a raw layer at @index of a stack.  The layer gets its own
 * reference to @file; the test keeps (and later drops) the caller's.
 */
static struct vd_layer *vd_open_raw(struct kunit *test, struct file *file,
				    unsigned int format, unsigned int index,
				    bool dio, char *msgbuf, size_t msglen)
{
	struct vd_msg msg = { .buf = msgbuf, .len = msglen };
	struct vd_open_args args = { .index = index, .msg = &msg };
	struct file *files[1] = { get_file(file) };
	struct vd_layer *layer;

	layer = vd_layer_open(files, 1, format, false, dio, &args);
	if (!IS_ERR(layer))
		KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, vd_layer_put_action,
								layer), 0);
	return layer;
}

static struct file *vd_test_file(struct kunit *test, const char *path,
				 size_t size, u8 seed)
{
	struct file *file = vd_make_file(test, path, size, seed);

	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, vd_fput_action, file), 0);
	return file;
}

static void vdisk_raw_io_open(struct kunit *test)
{
	struct file *file = vd_test_file(test, VD_TEST_TOP, 3 * 512 + 100, 1);
	char msg[VDISK_MSG_MAX] = "";
	struct vd_layer *layer;

	layer = vd_open_raw(test, file, VDISK_FMT_RAW, 0, false, msg, sizeof(msg));
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(layer), "open: %ld (%s)", PTR_ERR(layer), msg);
	KUNIT_EXPECT_STREQ(test, msg, "");
	/* rounded down to whole sectors */
	KUNIT_EXPECT_EQ(test, layer->virtual_size, 3 * 512);
	KUNIT_EXPECT_EQ(test, layer->nr_files, 1);
	KUNIT_EXPECT_PTR_EQ(test, layer->files[0], file);
	KUNIT_EXPECT_PTR_EQ(test, layer->ops, &vd_raw_ops);
	KUNIT_EXPECT_FALSE(test, layer->writable);
	KUNIT_ASSERT_NOT_NULL(test, layer->path);
	KUNIT_EXPECT_STREQ(test, layer->path, VD_TEST_TOP);
	KUNIT_EXPECT_EQ(test, layer->dio_align, 0);	/* not asked for */
}

static void vdisk_raw_io_dio_alignment(struct kunit *test)
{
	struct file *file = vd_test_file(test, VD_TEST_TOP, 8192, 2);
	char msg[VDISK_MSG_MAX] = "";
	struct vd_layer *layer;

	layer = vd_open_raw(test, file, VDISK_FMT_RAW, 0, true, msg, sizeof(msg));
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(layer), "open: %ld (%s)", PTR_ERR(layer), msg);
	/* 0 (no direct I/O) or a power of two from a sector to a page */
	if (layer->dio_align) {
		KUNIT_EXPECT_TRUE(test, is_power_of_2(layer->dio_align));
		KUNIT_EXPECT_GE(test, layer->dio_align, SECTOR_SIZE);
		KUNIT_EXPECT_LE(test, layer->dio_align, PAGE_SIZE);
		KUNIT_EXPECT_TRUE(test, is_power_of_2(layer->dio_mem_align));
		KUNIT_EXPECT_LE(test, layer->dio_mem_align, SECTOR_SIZE);
	} else {
		KUNIT_EXPECT_EQ(test, layer->dio_mem_align, 0);
	}
	kunit_info(test, "dio_align %u mem %u", layer->dio_align, layer->dio_mem_align);
}

static void vdisk_raw_io_too_small(struct kunit *test)
{
	struct file *file = vd_test_file(test, VD_TEST_TINY, 511, 3);
	char msg[VDISK_MSG_MAX] = "";
	struct vd_layer *layer;

	/* as the top layer: refused, and the message says why */
	layer = vd_open_raw(test, file, VDISK_FMT_RAW, 0, false, msg, sizeof(msg));
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(layer), -EINVAL);
	KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(msg, "smaller than one sector"), "%s", msg);
	KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(msg, VD_TEST_TINY), "%s", msg);

	/* as a backing layer: an empty layer, reading as zeros */
	msg[0] = '\0';
	layer = vd_open_raw(test, file, VDISK_FMT_RAW, 1, false, msg, sizeof(msg));
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(layer), "open: %ld (%s)", PTR_ERR(layer), msg);
	KUNIT_EXPECT_EQ(test, layer->virtual_size, 0);
}

static void vdisk_raw_io_unsupported_format(struct kunit *test)
{
	struct file *file = vd_test_file(test, VD_TEST_TOP, 4096, 4);
	char msg[VDISK_MSG_MAX] = "";
	struct vd_layer *layer;
	unsigned int fmt;

	for (fmt = VDISK_FMT_QCOW2; fmt < VDISK_FMT_COUNT + 1; fmt++) {
		if (vd_format_ops_get(fmt))
			continue;	/* implemented by now */
		msg[0] = '\0';
		layer = vd_open_raw(test, file, fmt, 2, false, msg, sizeof(msg));
		KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(layer), -EPROTONOSUPPORT);
		KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(msg, "layer 2"), "%s", msg);
		KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(msg, "not supported"), "%s", msg);
	}
	KUNIT_EXPECT_NULL(test, vd_format_ops_get(VDISK_FMT_NONE));
	KUNIT_EXPECT_NULL(test, vd_format_ops_get(~0U));
	KUNIT_EXPECT_PTR_EQ(test, vd_format_ops_get(VDISK_FMT_RAW), &vd_raw_ops);
}

static void vdisk_raw_io_map(struct kunit *test)
{
	struct file *file = vd_test_file(test, VD_TEST_TOP, 4 * 512, 5);
	char msg[VDISK_MSG_MAX] = "";
	struct vd_layer *layer;
	struct vd_ext ext;

	layer = vd_open_raw(test, file, VDISK_FMT_RAW, 0, false, msg, sizeof(msg));
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(layer), "open: %ld (%s)", PTR_ERR(layer), msg);

	memset(&ext, 0xa5, sizeof(ext));
	KUNIT_ASSERT_EQ(test, vd_raw_ops.map(layer, 512, 1024, false, &ext), 0);
	KUNIT_EXPECT_EQ(test, ext.kind, VD_EXT_DATA);
	KUNIT_EXPECT_EQ(test, ext.file, 0);
	KUNIT_EXPECT_EQ(test, ext.host_off, 512);
	KUNIT_EXPECT_EQ(test, ext.len, 1024);

	/* clipped at the end of the file */
	KUNIT_ASSERT_EQ(test, vd_raw_ops.map(layer, 1024, 1 << 20, false, &ext), 0);
	KUNIT_EXPECT_EQ(test, ext.kind, VD_EXT_DATA);
	KUNIT_EXPECT_EQ(test, ext.host_off, 1024);
	KUNIT_EXPECT_EQ(test, ext.len, 1024);

	/* zeros past it, for the whole length asked */
	KUNIT_ASSERT_EQ(test, vd_raw_ops.map(layer, 2048, 4096, false, &ext), 0);
	KUNIT_EXPECT_EQ(test, ext.kind, VD_EXT_ZERO);
	KUNIT_EXPECT_EQ(test, ext.len, 4096);
	KUNIT_ASSERT_EQ(test, vd_raw_ops.map(layer, U64_MAX - 511, 512, false, &ext), 0);
	KUNIT_EXPECT_EQ(test, ext.kind, VD_EXT_ZERO);
	KUNIT_EXPECT_EQ(test, ext.len, 512);
}

static void vdisk_raw_io_file_read(struct kunit *test)
{
	struct file *file = vd_test_file(test, VD_TEST_TOP, 8192 + 7, 6);
	u8 *buf = kunit_kmalloc(test, 8192, GFP_KERNEL);
	size_t i;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_ASSERT_EQ(test, vd_file_read(file, buf, 4096, 1000), 0);
	for (i = 0; i < 4096; i++)
		if (buf[i] != vd_pattern(1000 + i, 6))
			KUNIT_FAIL_AND_ABORT(test, "byte %zu differs", 1000 + i);
	/* up to the very last byte */
	KUNIT_ASSERT_EQ(test, vd_file_read(file, buf, 7, 8192), 0);
	KUNIT_EXPECT_EQ(test, buf[6], vd_pattern(8198, 6));
	/* a read that runs past the end is -ENODATA, at the end too */
	KUNIT_EXPECT_EQ(test, vd_file_read(file, buf, 8, 8192), -ENODATA);
	KUNIT_EXPECT_EQ(test, vd_file_read(file, buf, 1, 8199), -ENODATA);
	KUNIT_EXPECT_EQ(test, vd_file_read(file, buf, 1, 1ULL << 40), -ENODATA);
	/* nothing wanted, nothing read */
	KUNIT_EXPECT_EQ(test, vd_file_read(file, buf, 0, 1ULL << 40), 0);
}

/* A walk over a real stack: a 4 KiB raw top over a 12 KiB raw base. */
struct vd_stack_ctx {
	struct vd_layer *layer[2];
	u8 *out;
	u64 pos;
	int nr_runs;
};

static int vd_stack_map(void *ctx, unsigned int level, u64 pos, u64 len,
			struct vd_ext *ext)
{
	struct vd_stack_ctx *c = ctx;
	struct vd_layer *layer = c->layer[level];

	return layer->ops->map(layer, pos, len, 0, ext);
}

static int vd_stack_emit(void *ctx, const struct vd_run *run)
{
	struct vd_stack_ctx *c = ctx;
	u8 *dst = c->out + (run->pos - c->pos);

	c->nr_runs++;
	if (run->kind == VD_EXT_ZERO) {
		memset(dst, 0, run->len);
		return 0;
	}
	return vd_file_read(c->layer[run->level]->files[run->file], dst,
			    run->len, run->host_off);
}

static const struct vd_walk_ops vd_stack_ops = {
	.map	= vd_stack_map,
	.emit	= vd_stack_emit,
};

static void vdisk_raw_io_stack_walk(struct kunit *test)
{
	struct file *top = vd_test_file(test, VD_TEST_TOP, 4096, 7);
	struct file *base = vd_test_file(test, VD_TEST_BASE, 12288, 8);
	struct vd_stack_ctx c = { .pos = 1024 };
	char msg[VDISK_MSG_MAX] = "";
	size_t len = 16384 - 1024, i;

	c.layer[0] = vd_open_raw(test, top, VDISK_FMT_RAW, 0, false, msg, sizeof(msg));
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(c.layer[0]), "top: %s", msg);
	/*
	 * A raw top covers its whole size, and past it reads zeros: the
	 * base shows through nowhere.  That is the raw format's contract.
	 */
	c.layer[1] = vd_open_raw(test, base, VDISK_FMT_RAW, 1, false, msg, sizeof(msg));
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(c.layer[1]), "base: %s", msg);
	c.out = kunit_kmalloc(test, len, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, c.out);
	memset(c.out, 0xcc, len);

	KUNIT_ASSERT_EQ(test, vd_walk(&vd_stack_ops, &c, 2, c.pos, len), 0);
	KUNIT_EXPECT_EQ(test, c.nr_runs, 2);
	for (i = 0; i < len; i++) {
		u64 p = c.pos + i;
		u8 want = p < 4096 ? vd_pattern(p, 7) : 0;

		if (c.out[i] != want)
			KUNIT_FAIL_AND_ABORT(test, "disk byte %llu is %u, want %u",
					     p, c.out[i], want);
	}

	/* with the base alone: its data, then zeros past its end */
	memset(c.out, 0xcc, len);
	c.nr_runs = 0;
	c.layer[0] = c.layer[1];
	KUNIT_ASSERT_EQ(test, vd_walk(&vd_stack_ops, &c, 1, c.pos, len), 0);
	KUNIT_EXPECT_EQ(test, c.nr_runs, 2);
	for (i = 0; i < len; i++) {
		u64 p = c.pos + i;
		u8 want = p < 12288 ? vd_pattern(p, 8) : 0;

		if (c.out[i] != want)
			KUNIT_FAIL_AND_ABORT(test, "base byte %llu is %u, want %u",
					     p, c.out[i], want);
	}
}

static void vdisk_raw_io_chain_distinct(struct kunit *test)
{
	struct file *top = vd_test_file(test, VD_TEST_TOP, 4096, 9);
	struct file *base = vd_test_file(test, VD_TEST_BASE, 4096, 10);
	char msg[VDISK_MSG_MAX] = "";
	struct vd_msg m = { .buf = msg, .len = sizeof(msg) };
	struct vd_layer *a, *b, *a2;
	struct vd_chain *chain;

	a = vd_open_raw(test, top, VDISK_FMT_RAW, 0, false, msg, sizeof(msg));
	KUNIT_ASSERT_FALSE(test, IS_ERR(a));
	b = vd_open_raw(test, base, VDISK_FMT_RAW, 1, false, msg, sizeof(msg));
	KUNIT_ASSERT_FALSE(test, IS_ERR(b));
	a2 = vd_open_raw(test, top, VDISK_FMT_RAW, 2, false, msg, sizeof(msg));
	KUNIT_ASSERT_FALSE(test, IS_ERR(a2));

	chain = vd_chain_alloc(3);
	KUNIT_ASSERT_NOT_NULL(test, chain);
	chain->nr = 2;
	chain->layer[0] = a;
	chain->layer[1] = b;
	KUNIT_EXPECT_EQ(test, vd_chain_check_distinct(chain, &m), 0);
	KUNIT_EXPECT_STREQ(test, msg, "");

	chain->nr = 3;
	chain->layer[2] = a2;
	KUNIT_EXPECT_EQ(test, vd_chain_check_distinct(chain, &m), -ELOOP);
	/* names both positions and the file, whatever the exact wording */
	KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(msg, "0"), "%s", msg);
	KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(msg, "2"), "%s", msg);
	KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(msg, VD_TEST_TOP), "%s", msg);

	/* the layers stay the test's: free the chain without putting them */
	kfree(chain);
}

static struct kunit_case vdisk_raw_io_cases[] = {
	KUNIT_CASE(vdisk_raw_io_open),
	KUNIT_CASE(vdisk_raw_io_dio_alignment),
	KUNIT_CASE(vdisk_raw_io_too_small),
	KUNIT_CASE(vdisk_raw_io_unsupported_format),
	KUNIT_CASE(vdisk_raw_io_map),
	KUNIT_CASE(vdisk_raw_io_file_read),
	KUNIT_CASE(vdisk_raw_io_stack_walk),
	KUNIT_CASE(vdisk_raw_io_chain_distinct),
	{}
};

static struct kunit_suite vdisk_raw_io_suite = {
	.name = "vdisk_raw_io",
	.test_cases = vdisk_raw_io_cases,
};

kunit_test_suite(vdisk_raw_io_suite);
