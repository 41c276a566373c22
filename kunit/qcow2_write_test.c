// SPDX-License-Identifier: GPL-2.0
/*
 * qcow2_write_test.c - KUnit suite vdisk_qcow2_write: the real qcow2 write
 * path (qcow2_write.c, qcow2_alloc.c, qcow2_flush.c, qcow2_meta.c) on
 * images built here in a file of the test kernel's tmpfs, under KASAN.
 *
 * vdisk_qcow2_write_fuzz builds small qcow2 images, damages some of their
 * metadata (L1, L2 and refcount-table entries pointing at other metadata,
 * past the end of the file or at the header, compressed and zero flags,
 * refcounts of 0, 2 and 65535), opens each writable and runs random guest
 * writes, write zeroes, discards, reads and flushes through the stack.
 * After every operation it checks the overlap invariant QEMU's
 * overlap-check enforces: no guest data in the header, the L1 table, the
 * refcount table, or any cluster an L1 or refcount-table entry points at.
 * (A table an L1 entry without the COPIED flag pointed at is replaced by a
 * copy on the first write and freed: its cluster may hold data afterwards.)  Undamaged images (the
 * control runs) must also read back every byte written.  A refused open or
 * a failed request is fine; a splat, a hang or guest data on metadata is
 * not.
 *
 * vdisk_qcow2_write_layer_outlives_cache drops the cache's creator
 * reference (what a detach does) before the last reference to a writable
 * layer, as a job's layer can be (issue 16, finding 5).
 */
#include <kunit/test.h>
#include <linux/err.h>
#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "../mcache.h"
#include "../vdisk.h"
#include "../vd_qcow2.h"
#include "vd_test.h"

#define VD_QW_PATH	"/vdisk-kunit-qcow2-write"
#define VD_QW_SIZE	(8ULL << 20)	/* virtual size */
#define VD_QW_SECTORS	(VD_QW_SIZE >> SECTOR_SHIFT)
#define VD_QW_RC_ORDER	4		/* 16-bit refcounts */
#define VD_QW_MAX_IO	(64 * 1024)

/* Every guest sector written starts with this; metadata never may. */
static const char vd_qw_tag[16] = "vdisk-guest-sect";

/* Layout of a built image, in clusters. */
enum { VD_QW_HDR, VD_QW_RT, VD_QW_RB, VD_QW_L1, VD_QW_L2 };

struct vd_qw_image {
	unsigned int cluster_bits;
	bool extl2;
	u32 l1_entries;
	u32 nr_l2;		/* L2 tables, from cluster VD_QW_L2 on */
	u32 nr_clusters;	/* in the file as built */
	u8 *buf;		/* the file, nr_clusters clusters */
};

/* xorshift64*: reproducible from the seed printed on failure. */
static u64 vd_qw_rand(u64 *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

static size_t vd_qw_csize(const struct vd_qw_image *im)
{
	return (size_t)1 << im->cluster_bits;
}

static __be64 *vd_qw_at(const struct vd_qw_image *im, u32 cluster)
{
	return (__be64 *)(im->buf + (size_t)cluster * vd_qw_csize(im));
}

static void vd_qw_put_rc(struct vd_qw_image *im, u32 cluster, u16 rc)
{
	__be16 *rb = (__be16 *)vd_qw_at(im, VD_QW_RB);

	rb[cluster] = cpu_to_be16(rc);
}

/* Guest clusters that get data in a built image. */
static const u32 vd_qw_mapped[] = { 0, 1, 5, 100, 300, 500 };

/*
 * A clean qcow2 v3 image of VD_QW_SIZE: header, refcount table, one
 * refcount block, L1, its L2 tables, and a few data clusters (one of them
 * partly allocated with extended L2), every refcount right.
 */
static void vd_qw_build(struct kunit *test, struct vd_qw_image *im,
			unsigned int cluster_bits, bool extl2)
{
	size_t cs = (size_t)1 << cluster_bits;
	u32 l2_entries = cs / (extl2 ? 16 : 8);
	u64 l2_span = (u64)l2_entries << cluster_bits;
	u32 data0, i;
	u8 *h;

	im->cluster_bits = cluster_bits;
	im->extl2 = extl2;
	im->l1_entries = DIV_ROUND_UP_ULL(VD_QW_SIZE, l2_span);
	im->nr_l2 = im->l1_entries;
	data0 = VD_QW_L2 + im->nr_l2;
	im->nr_clusters = data0 + ARRAY_SIZE(vd_qw_mapped);
	/* one refcount block covers the file with room to grow */
	KUNIT_ASSERT_LE(test, (u64)im->nr_clusters * 4, (u64)cs * 8 >> VD_QW_RC_ORDER);
	/* freed by vd_qw_free(): the fuzz builds thousands of images */
	im->buf = kvzalloc(im->nr_clusters * cs, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, im->buf);

	h = im->buf;
	*(__be32 *)(h + 0) = cpu_to_be32(VD_QCOW2_MAGIC);
	*(__be32 *)(h + 4) = cpu_to_be32(3);
	*(__be32 *)(h + 20) = cpu_to_be32(cluster_bits);
	*(__be64 *)(h + 24) = cpu_to_be64(VD_QW_SIZE);
	*(__be32 *)(h + 36) = cpu_to_be32(im->l1_entries);
	*(__be64 *)(h + 40) = cpu_to_be64((u64)VD_QW_L1 << cluster_bits);
	*(__be64 *)(h + 48) = cpu_to_be64((u64)VD_QW_RT << cluster_bits);
	*(__be32 *)(h + 56) = cpu_to_be32(1);
	if (extl2)
		*(__be64 *)(h + 72) = cpu_to_be64(VD_QCOW2_INCOMPAT_EXTL2);
	*(__be32 *)(h + 96) = cpu_to_be32(VD_QW_RC_ORDER);
	*(__be32 *)(h + 100) = cpu_to_be32(VD_QCOW2_V3_HEADER_LEN);
	/* header extensions end with a zero type at byte 104: already zero */

	vd_qw_at(im, VD_QW_RT)[0] = cpu_to_be64((u64)VD_QW_RB << cluster_bits);
	for (i = 0; i < im->nr_l2; i++)
		vd_qw_at(im, VD_QW_L1)[i] =
			cpu_to_be64(((u64)(VD_QW_L2 + i) << cluster_bits) |
				    VD_QCOW2_OFLAG_COPIED);
	for (i = 0; i < ARRAY_SIZE(vd_qw_mapped); i++) {
		u32 g = vd_qw_mapped[i], host = data0 + i;
		__be64 *l2 = vd_qw_at(im, VD_QW_L2 + g / l2_entries);
		u32 e = (g % l2_entries) * (extl2 ? 2 : 1);

		l2[e] = cpu_to_be64(((u64)host << cluster_bits) | VD_QCOW2_OFLAG_COPIED);
		if (extl2)	/* guest cluster 5: first half allocated only */
			l2[e + 1] = cpu_to_be64(g == 5 ? 0xffffULL : 0xffffffffULL);
		memset(vd_qw_at(im, host), 0x30 + i, cs);
	}
	for (i = 0; i < im->nr_clusters; i++)
		vd_qw_put_rc(im, i, 1);
}

static void vd_qw_free(struct vd_qw_image *im)
{
	kvfree(im->buf);
	im->buf = NULL;
}

/* Damage 1-3 metadata entries of @im; says what into @what. */
static void vd_qw_damage(struct vd_qw_image *im, u64 *seed, char *what,
			 size_t len)
{
	u32 span = im->nr_clusters + 4, n = 1 + vd_qw_rand(seed) % 3;
	size_t cs = vd_qw_csize(im);
	size_t used = 0;

	what[0] = '\0';
	while (n--) {
		u64 r = vd_qw_rand(seed);
		u64 c = (vd_qw_rand(seed) % span) << im->cluster_bits;
		u32 kind = r % 6, i;

		switch (kind) {
		case 0:		/* an L1 entry points elsewhere */
			i = (r >> 8) % im->l1_entries;
			vd_qw_at(im, VD_QW_L1)[i] =
				cpu_to_be64(c | (r & BIT(20) ? VD_QCOW2_OFLAG_COPIED : 0));
			used += scnprintf(what + used, len - used, " L1[%u]=%#llx", i,
					  be64_to_cpu(vd_qw_at(im, VD_QW_L1)[i]));
			break;
		case 1: {	/* an L2 entry points elsewhere, any flags */
			u64 flags = 0;

			if (r & BIT(20))
				flags |= VD_QCOW2_OFLAG_COPIED;
			if ((r & (3ULL << 21)) == 0)
				flags |= VD_QCOW2_OFLAG_ZERO;
			if (r & BIT(23)) {
				/* compressed: offset anywhere, a few sectors */
				flags = VD_QCOW2_OFLAG_COMPRESSED |
					((r >> 32) % (span * cs)) |
					(((r >> 24) & 3) << (62 - (im->cluster_bits - 8)));
				c = 0;
			}
			i = (r >> 8) % (im->nr_l2 * cs / 8);
			if (im->extl2)
				i &= ~1U;
			vd_qw_at(im, VD_QW_L2)[i] = cpu_to_be64(c | flags);
			if (im->extl2)
				vd_qw_at(im, VD_QW_L2)[i + 1] = cpu_to_be64(vd_qw_rand(seed));
			used += scnprintf(what + used, len - used, " L2e[%u]=%#llx", i,
					  c | flags);
			break;
		}
		case 2:		/* a refcount that lies */
		case 3: {
			static const u16 rcs[] = { 0, 0, 2, 0xffff };

			i = (r >> 8) % span;
			vd_qw_put_rc(im, i, rcs[(r >> 40) & 3]);
			used += scnprintf(what + used, len - used, " rc[%u]=%u", i,
					  rcs[(r >> 40) & 3]);
			break;
		}
		case 4:		/* a refcount block elsewhere */
			vd_qw_at(im, VD_QW_RT)[(r >> 8) & 1] = cpu_to_be64(c);
			used += scnprintf(what + used, len - used, " RT[%u]=%#llx",
					  (u32)(r >> 8) & 1, c);
			break;
		default:	/* an L2 table dropped */
			i = (r >> 8) % im->l1_entries;
			vd_qw_at(im, VD_QW_L1)[i] = 0;
			used += scnprintf(what + used, len - used, " L1[%u]=0", i);
			break;
		}
	}
}

static struct file *vd_qw_write_file(struct kunit *test, const struct vd_qw_image *im)
{
	struct file *file;
	loff_t off = 0;
	ssize_t n;

	file = filp_open(VD_QW_PATH, O_CREAT | O_RDWR | O_TRUNC | O_LARGEFILE, 0600);
	if (IS_ERR(file))
		kunit_skip(test, "cannot create %s: %ld", VD_QW_PATH, PTR_ERR(file));
	n = kernel_write(file, im->buf, (size_t)im->nr_clusters * vd_qw_csize(im), &off);
	if (n != (ssize_t)im->nr_clusters * vd_qw_csize(im)) {
		fput(file);
		kunit_skip(test, "cannot write %s: %zd", VD_QW_PATH, n);
	}
	return file;
}

/* Open @file as the writable top of a one-layer stack; NULL if refused. */
static struct vd_chain *vd_qw_open(struct kunit *test, struct file *file,
				   struct vd_mcache *cache, char *msgbuf)
{
	struct vd_msg msg = { .buf = msgbuf, .len = VDISK_MSG_MAX };
	struct vd_open_args args = { .index = 0, .msg = &msg, .cache = cache };
	struct file *files[1] = { get_file(file) };
	struct vd_layer *layer;
	struct vd_chain *chain;

	msgbuf[0] = '\0';
	layer = vd_layer_open(files, 1, VDISK_FMT_QCOW2, true, false, &args);
	if (IS_ERR(layer))
		return NULL;
	chain = vd_chain_alloc(1);
	if (!chain) {
		vd_layer_put(layer);
		KUNIT_FAIL_AND_ABORT(test, "no memory for a chain");
	}
	chain->layer[0] = layer;
	return chain;
}

/*
 * The clusters an image treats as metadata: the header, the L1 table and
 * the refcount table where the header says, and every cluster an L1 or a
 * refcount-table entry points at.  Marked in @meta (one bit per cluster
 * below @limit); entries past @limit are ignored.
 */
static void vd_qw_mark_meta(struct file *file, unsigned int cluster_bits,
			    unsigned long *meta, u32 limit, u8 *scratch)
{
	size_t cs = (size_t)1 << cluster_bits;
	u64 l1_off, rt_off, e;
	u32 l1_size, rt_clusters, i, n;

	__set_bit(0, meta);
	if (vd_file_read(file, scratch, 64, 0))
		return;
	l1_size = be32_to_cpup((__be32 *)(scratch + 36));
	l1_off = be64_to_cpup((__be64 *)(scratch + 40));
	rt_off = be64_to_cpup((__be64 *)(scratch + 48));
	rt_clusters = be32_to_cpup((__be32 *)(scratch + 56));

	n = min_t(u32, l1_size, cs / 8);
	if ((l1_off >> cluster_bits) < limit && !vd_file_read(file, scratch, n * 8, l1_off)) {
		__set_bit(l1_off >> cluster_bits, meta);
		for (i = 0; i < n; i++) {
			e = be64_to_cpu(((__be64 *)scratch)[i]) & VD_QCOW2_L1E_OFFSET_MASK;
			if (e && (e >> cluster_bits) < limit)
				__set_bit(e >> cluster_bits, meta);
		}
	}
	if (rt_clusters == 1 && (rt_off >> cluster_bits) < limit &&
	    !vd_file_read(file, scratch, cs, rt_off)) {
		__set_bit(rt_off >> cluster_bits, meta);
		for (i = 0; i < cs / 8; i++) {
			e = be64_to_cpu(((__be64 *)scratch)[i]) & VD_QCOW2_RTE_OFFSET_MASK;
			if (e && (e >> cluster_bits) < limit)
				__set_bit(e >> cluster_bits, meta);
		}
	}
}

/* First metadata cluster of @meta holding a guest sector, or -1. */
static long vd_qw_find_guest_data(struct file *file, unsigned int cluster_bits,
				  const unsigned long *meta, u32 limit, u8 *scratch)
{
	size_t cs = (size_t)1 << cluster_bits, s;
	u64 size = i_size_read(file_inode(file));
	u32 c;

	for_each_set_bit(c, meta, limit) {
		if (((u64)c << cluster_bits) + cs > size)
			continue;
		if (vd_file_read(file, scratch, cs, (u64)c << cluster_bits))
			continue;
		for (s = 0; s < cs; s += SECTOR_SIZE)
			if (!memcmp(scratch + s, vd_qw_tag, sizeof(vd_qw_tag)))
				return c;
	}
	return -1;
}

struct vd_qw_run {
	struct kunit *test;
	struct file *file;
	struct vd_chain *chain;
	unsigned int cluster_bits;
	unsigned long *meta;	/* metadata now */
	u32 limit;		/* clusters the bitmaps cover */
	u8 *scratch;		/* a cluster */
	u8 *io;			/* VD_QW_MAX_IO */
	bool control;		/* undamaged: the shadow must read back */
	u8 *shadow;		/* what the disk must read */
	unsigned long *known;	/* sectors @shadow is sure of */
	u64 seed;
	unsigned int image;
	bool extl2;
	const char *what;
	unsigned int ops, failed;
};

static void vd_qw_fill(u8 *buf, u64 pos, size_t len, u64 salt)
{
	size_t s, i;

	for (s = 0; s < len; s += SECTOR_SIZE) {
		memcpy(buf + s, vd_qw_tag, sizeof(vd_qw_tag));
		for (i = sizeof(vd_qw_tag); i < SECTOR_SIZE; i++)
			buf[s + i] = (u8)((pos + s + i) * 13 + salt);
	}
}

static void vd_qw_forget(struct vd_qw_run *r, u64 pos, u64 len)
{
	if (r->control)
		bitmap_clear(r->known, pos >> SECTOR_SHIFT, len >> SECTOR_SHIFT);
}

/* One random operation; false once the layer is broken. */
static bool vd_qw_op(struct vd_qw_run *r)
{
	struct vd_layer *top = vd_chain_top(r->chain);
	u64 x = vd_qw_rand(&r->seed);
	u64 pos = (vd_qw_rand(&r->seed) % VD_QW_SECTORS) << SECTOR_SHIFT;
	u64 len = (1 + (x >> 8) % (VD_QW_MAX_IO >> SECTOR_SHIFT)) << SECTOR_SHIFT;
	int ret = 0;

	len = min(len, VD_QW_SIZE - pos);
	switch (x % 8) {
	case 0 ... 3:
		vd_qw_fill(r->io, pos, len, x >> 32);
		ret = vd_chain_write(r->chain, pos, r->io, len);
		if (r->control && !ret) {
			memcpy(r->shadow + pos, r->io, len);
			bitmap_set(r->known, pos >> SECTOR_SHIFT, len >> SECTOR_SHIFT);
		}
		break;
	case 4: {
		static const enum vd_discard_mode modes[] = {
			VD_DISCARD_UNMAP, VD_DISCARD_ZERO,
			VD_DISCARD_ZERO_NOUNMAP, VD_DISCARD_FALLTHROUGH,
		};
		enum vd_discard_mode mode = modes[(x >> 40) & 3];
		bool zeroes = mode == VD_DISCARD_ZERO || mode == VD_DISCARD_ZERO_NOUNMAP;

		ret = top->ops->discard(top, r->chain, pos, len, mode);
		if (r->control && !ret && zeroes) {
			memset(r->shadow + pos, 0, len);
			bitmap_set(r->known, pos >> SECTOR_SHIFT, len >> SECTOR_SHIFT);
		} else {
			/* unmapped or fallen through: may read as anything */
			vd_qw_forget(r, pos, len);
		}
		break;
	}
	case 5:
		ret = vd_chain_write_zeroes(r->chain, pos, len);
		if (r->control && !ret) {
			memset(r->shadow + pos, 0, len);
			bitmap_set(r->known, pos >> SECTOR_SHIFT, len >> SECTOR_SHIFT);
		}
		break;
	case 6:
		ret = vd_chain_read(r->chain, 0, pos, r->io, len);
		break;
	default:
		ret = top->ops->flush(top);
		break;
	}
	if (ret) {
		r->failed++;
		vd_qw_forget(r, pos, len);
	}
	r->ops++;
	/* flushed, the file is what a reader of the image would see */
	if (top->ops->flush(top))
		r->failed++;

	bitmap_zero(r->meta, r->limit);
	vd_qw_mark_meta(r->file, r->cluster_bits, r->meta, r->limit, r->scratch);
	{
		long c = vd_qw_find_guest_data(r->file, r->cluster_bits, r->meta,
					       r->limit, r->scratch);

		KUNIT_EXPECT_EQ_MSG(r->test, c, -1,
				    "image %u (%u-bit clusters%s) damage%s: guest data in metadata cluster %ld after op %u (kind %llu, pos %llu, len %llu, ret %d)",
				    r->image, r->cluster_bits, r->extl2 ? ", extended L2" : "",
				    r->what, c, r->ops, x % 8, pos, len, ret);
	}
	return !READ_ONCE(top->broken);
}

/* The control runs: every byte written reads back. */
static void vd_qw_verify(struct vd_qw_run *r)
{
	u32 s;

	for_each_set_bit(s, r->known, VD_QW_SECTORS) {
		u64 pos = (u64)s << SECTOR_SHIFT;

		if (vd_chain_read(r->chain, 0, pos, r->io, SECTOR_SIZE)) {
			KUNIT_FAIL(r->test, "control: read of sector %u failed", s);
			return;
		}
		if (memcmp(r->io, r->shadow + pos, SECTOR_SIZE)) {
			KUNIT_FAIL(r->test, "control: sector %u reads other bytes than written", s);
			return;
		}
	}
}

static void vdisk_qcow2_write_fuzz(struct kunit *test)
{
	static const struct { unsigned int bits; bool extl2; } shapes[] = {
		{ 12, false }, { 16, false }, { 14, true },
	};
	char *msgbuf = kunit_kzalloc(test, VDISK_MSG_MAX, GFP_KERNEL);
	u32 limit = 4096;	/* clusters: the images stay far smaller */
	unsigned int images = 3000, ops = 32, img, refused = 0, broken = 0;
	unsigned int total_ops = 0, total_failed = 0;
	struct vd_qw_run r = { .test = test, .limit = limit };
	char what[256];

	KUNIT_ASSERT_NOT_NULL(test, msgbuf);
	r.meta = kunit_kcalloc(test, BITS_TO_LONGS(limit), sizeof(long), GFP_KERNEL);
	r.scratch = kunit_kmalloc(test, 64 * 1024, GFP_KERNEL);
	r.io = kunit_kmalloc(test, VD_QW_MAX_IO, GFP_KERNEL);
	r.known = kunit_kcalloc(test, BITS_TO_LONGS(VD_QW_SECTORS), sizeof(long), GFP_KERNEL);
	r.shadow = vzalloc(VD_QW_SIZE);
	KUNIT_ASSERT_TRUE(test, r.meta && r.scratch && r.io && r.known && r.shadow);

	for (img = 0; img < images && vd_test_ok(test); img++) {
		struct vd_qw_image im = { };
		u64 seed = 0x9e3779b97f4a7c15ULL * (img + 1);
		bool control = img < ARRAY_SIZE(shapes);
		struct vd_mcache *cache;
		unsigned int o;

		vd_qw_build(test, &im, shapes[img % ARRAY_SIZE(shapes)].bits,
			    shapes[img % ARRAY_SIZE(shapes)].extl2);
		r.cluster_bits = im.cluster_bits;
		r.extl2 = im.extl2;
		r.image = img;
		strscpy(what, " none", sizeof(what));
		if (!control)
			vd_qw_damage(&im, &seed, what, sizeof(what));
		r.what = what;
		r.seed = seed;
		r.file = vd_qw_write_file(test, &im);
		vd_qw_free(&im);

		cache = vd_mcache_create(256 * 1024);
		if (!cache) {
			fput(r.file);
			KUNIT_FAIL_AND_ABORT(test, "no memory for a cache");
		}
		r.chain = vd_qw_open(test, r.file, cache, msgbuf);
		if (!r.chain) {
			KUNIT_EXPECT_FALSE_MSG(test, control, "control image refused: %s", msgbuf);
			refused++;
		} else {
			r.control = control;
			bitmap_zero(r.known, VD_QW_SECTORS);
			for (o = 0; o < ops && vd_test_ok(test); o++)
				if (!vd_qw_op(&r))
					break;
			if (control) {
				KUNIT_EXPECT_EQ_MSG(test, r.failed, 0,
						    "control image %u: requests failed", img);
				vd_qw_verify(&r);
			}
			if (READ_ONCE(vd_chain_top(r.chain)->broken))
				broken++;
			vd_chain_free(r.chain);
			r.chain = NULL;
		}
		total_ops += r.ops;
		total_failed += r.failed;
		r.ops = 0;
		r.failed = 0;
		vd_mcache_unpin(cache);
		fput(r.file);
		r.file = NULL;
		cond_resched();
	}
	vfree(r.shadow);
	kunit_info(test, "%u images (%u refused at open, %u turned read-only), %u requests (%u failed)",
		   img, refused, broken, total_ops, total_failed);
}

/*
 * The cache's creator (the device) lets go first, then the last holder of
 * a written layer (a job's target, held by a JOB_CANCEL caller across the
 * detach): the layer still writes back and forgets its slices in the
 * cache, which must still be there.
 */
static void vdisk_qcow2_write_layer_outlives_cache(struct kunit *test)
{
	char *msgbuf = kunit_kzalloc(test, VDISK_MSG_MAX, GFP_KERNEL);
	u8 *buf = kunit_kmalloc(test, 8192, GFP_KERNEL);
	u8 *back = kunit_kmalloc(test, 8192, GFP_KERNEL);
	struct vd_qw_image im = { };
	struct vd_mcache *cache;
	struct vd_chain *chain;
	struct file *file;

	KUNIT_ASSERT_TRUE(test, msgbuf && buf && back);
	vd_qw_build(test, &im, 16, false);
	file = vd_qw_write_file(test, &im);
	vd_qw_free(&im);
	cache = vd_mcache_create(256 * 1024);
	KUNIT_ASSERT_NOT_NULL(test, cache);
	chain = vd_qw_open(test, file, cache, msgbuf);
	KUNIT_ASSERT_NOT_NULL_MSG(test, chain, "refused: %s", msgbuf);

	/* an allocating write: new data cluster, L2 slice dirty in the cache */
	vd_qw_fill(buf, 3 << 20, 8192, 7);
	KUNIT_EXPECT_EQ(test, vd_chain_write(chain, 3 << 20, buf, 8192), 0);
	KUNIT_EXPECT_EQ(test, vd_chain_top(chain)->ops->flush(vd_chain_top(chain)), 0);

	vd_mcache_unpin(cache);		/* the device is gone */
	vd_chain_free(chain);		/* the job's holder lets go */

	/* and the image still holds the write */
	cache = vd_mcache_create(256 * 1024);
	KUNIT_ASSERT_NOT_NULL(test, cache);
	chain = vd_qw_open(test, file, cache, msgbuf);
	KUNIT_EXPECT_NOT_NULL_MSG(test, chain, "reopen refused: %s", msgbuf);
	if (chain) {
		KUNIT_EXPECT_EQ(test, vd_chain_read(chain, 0, 3 << 20, back, 8192), 0);
		KUNIT_EXPECT_EQ(test, memcmp(back, buf, 8192), 0);
		vd_chain_free(chain);
	}
	vd_mcache_unpin(cache);
	fput(file);
}

static struct kunit_case vdisk_qcow2_write_cases[] = {
	KUNIT_CASE(vdisk_qcow2_write_layer_outlives_cache),
	KUNIT_CASE_SLOW(vdisk_qcow2_write_fuzz),
	{}
};

static struct kunit_suite vdisk_qcow2_write_suite = {
	.name = "vdisk_qcow2_write",
	.test_cases = vdisk_qcow2_write_cases,
};

kunit_test_suite(vdisk_qcow2_write_suite);
