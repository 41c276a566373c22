// SPDX-License-Identifier: GPL-2.0
/*
 * qcow2_test.c - suite vdisk_qcow2: qcow2 header validation, L1/L2 entry
 * decoding, snapshot records, refcounts and backing file rewriting
 * (vd_qcow2.c), on images crafted in memory.
 *
 * Built as a KUnit suite and, through userspace/tests/shim, as a userspace
 * test with ASan and UBSan (see vd_test.h).
 *
 * Header cases are a valid image laid out as qemu-img does (header,
 * refcount table in cluster 1, L1 table from cluster 3) with single fields
 * poked, one optional header extension and an optional backing file
 * name; each gives the errno it must get and a word the message must
 * contain, so that a refusal names the field.
 */
#include <kunit/test.h>
#include <linux/slab.h>

#include "vd_qcow2.h"
#include "vd_test.h"

#define VD_Q2_GIB	BIT_ULL(30)
#define VD_Q2_BUF_MAX	8192	/* bytes of the first cluster handed over */
#define VD_Q2_MSG_MAX	256

/* header field offsets */
#define VD_Q2_VERSION		4
#define VD_Q2_BACKING_OFF	8
#define VD_Q2_BACKING_SIZE	16
#define VD_Q2_CLUSTER_BITS	20
#define VD_Q2_SIZE		24
#define VD_Q2_CRYPT		32
#define VD_Q2_L1_SIZE		36
#define VD_Q2_L1_OFF		40
#define VD_Q2_RT_OFF		48
#define VD_Q2_RT_CLUSTERS	56
#define VD_Q2_NB_SNAP		60
#define VD_Q2_SNAP_OFF		64
#define VD_Q2_INCOMPAT		72
#define VD_Q2_RC_ORDER		96
#define VD_Q2_HDR_LEN		100
#define VD_Q2_COMP_TYPE		104

#define VD_Q2_EXT_BACKING_FMT	0xe2792acaU
#define VD_Q2_EXT_FEATURES	0x6803f857U
#define VD_Q2_EXT_CRYPTO	0x0537be77U
#define VD_Q2_EXT_DATA_FILE	0x44415441U

static void vd_put32(u8 *p, u32 v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static void vd_put64(u8 *p, u64 v)
{
	vd_put32(p, v >> 32);
	vd_put32(p + 4, v);
}

struct vd_q2_poke {
	u16 off;
	u8 width;	/* 1, 4 or 8; 0 ends the list */
	u64 val;
};

struct vd_q2_case {
	const char *name;
	u32 version, cb;
	u64 size;
	struct vd_q2_poke pokes[4];
	u32 ext_type;		/* one extension after the header, 0: none */
	const void *ext_data;
	u32 ext_len;
	u64 backing_off;	/* backing file name, 0: none */
	const char *backing;
	u32 backing_len;
	u64 file_size;		/* 0: what the layout needs */
	int ret;
	const char *word;	/* the message must contain it; NULL: success */
};

/* one entry of a feature name table: incompatible bit 7 is "foo" */
static const u8 vd_q2_foo_feature[48] = { 0, 7, 'f', 'o', 'o' };

#define P4(o, v) { .off = (o), .width = 4, .val = (v) }
#define P8(o, v) { .off = (o), .width = 8, .val = (v) }

static const struct vd_q2_case vd_q2_cases[] = {
	/* valid */
	{ "v2_64k", 2, 16, VD_Q2_GIB },
	{ "v3_4k", 3, 12, VD_Q2_GIB },
	{ "v3_64k", 3, 16, 100 * VD_Q2_GIB },
	{ "v3_2m", 3, 21, BIT_ULL(46) },
	{ "v3_512", 3, 9, 128 * VD_Q2_GIB },
	{ "size_0", 3, 16, 0 },
	{ "l1_larger_than_needed", 3, 16, VD_Q2_GIB, { P4(VD_Q2_L1_SIZE, 8192) } },
	{ "extended_l2_16k", 3, 14, VD_Q2_GIB, { P8(VD_Q2_INCOMPAT, BIT_ULL(4)),
	  P4(VD_Q2_L1_SIZE, 64) } },
	{ "zstd", 3, 16, VD_Q2_GIB, { P8(VD_Q2_INCOMPAT, BIT_ULL(3)),
	  P4(VD_Q2_HDR_LEN, 112), { VD_Q2_COMP_TYPE, 1, 1 } } },
	{ "backing_and_format", 3, 16, VD_Q2_GIB, { { 0 } }, VD_Q2_EXT_BACKING_FMT, "raw", 3,
	  512, "base.raw", 8 },
	{ "v2_backing", 2, 12, VD_Q2_GIB, { { 0 } }, VD_Q2_EXT_BACKING_FMT, "qcow2", 5,
	  4092, "b.q2", 4 },
	{ "dirty_corrupt", 3, 16, VD_Q2_GIB, { P8(VD_Q2_INCOMPAT, 3) } },
	{ "unknown_extension", 3, 16, VD_Q2_GIB, { { 0 } }, 0x12345678, "anything", 8 },
	{ "data_file", 3, 16, VD_Q2_GIB, { P8(VD_Q2_INCOMPAT, BIT_ULL(2)) },
	  VD_Q2_EXT_DATA_FILE, "d.raw", 5 },

	/* refused */
	{ "bad_magic", 3, 16, VD_Q2_GIB, { P4(0, 0x514649fa) }, .ret = -EINVAL,
	  .word = "magic" },
	{ "version_1", 3, 16, VD_Q2_GIB, { P4(VD_Q2_VERSION, 1) }, .ret = -EOPNOTSUPP,
	  .word = "version 1" },
	{ "version_4", 3, 16, VD_Q2_GIB, { P4(VD_Q2_VERSION, 4) }, .ret = -EOPNOTSUPP,
	  .word = "version 4" },
	{ "cluster_bits_8", 3, 16, VD_Q2_GIB, { P4(VD_Q2_CLUSTER_BITS, 8) }, .ret = -EINVAL,
	  .word = "cluster_bits 8" },
	{ "cluster_bits_22", 3, 16, VD_Q2_GIB, { P4(VD_Q2_CLUSTER_BITS, 22) }, .ret = -EINVAL,
	  .word = "cluster_bits 22" },
	{ "crypt_aes", 3, 16, VD_Q2_GIB, { P4(VD_Q2_CRYPT, 1) }, .ret = -EOPNOTSUPP,
	  .word = "crypt_method 1" },
	{ "l1_too_small", 3, 16, 10 * VD_Q2_GIB, { P4(VD_Q2_L1_SIZE, 19) }, .ret = -EINVAL,
	  .word = "l1_size 19 too small" },
	{ "l1_too_large", 3, 16, VD_Q2_GIB, { P4(VD_Q2_L1_SIZE, 0xffffffff) }, .ret = -EFBIG,
	  .word = "l1_size 4294967295 exceeds 4194304 entries" },
	{ "size_needs_too_much_l1", 3, 9, BIT_ULL(40), { P4(VD_Q2_L1_SIZE, 4194304) },
	  .file_size = BIT_ULL(30), .ret = -EFBIG, .word = "size 1099511627776" },
	{ "l1_unaligned", 3, 16, VD_Q2_GIB, { P8(VD_Q2_L1_OFF, 0x30200) }, .ret = -EINVAL,
	  .word = "l1_table_offset 0x30200" },
	{ "l1_past_eof", 3, 16, VD_Q2_GIB, { P8(VD_Q2_L1_OFF, 0x50000) }, .ret = -EINVAL,
	  .word = "L1 table" },
	{ "refcount_unaligned", 3, 16, VD_Q2_GIB, { P8(VD_Q2_RT_OFF, 0x10008) }, .ret = -EINVAL,
	  .word = "refcount_table_offset 0x10008" },
	{ "refcount_clusters_0", 3, 16, VD_Q2_GIB, { P4(VD_Q2_RT_CLUSTERS, 0) }, .ret = -EINVAL,
	  .word = "refcount_table_clusters" },
	{ "refcount_past_eof", 3, 16, VD_Q2_GIB, { P4(VD_Q2_RT_CLUSTERS, 100) }, .ret = -EINVAL,
	  .word = "refcount table" },
	{ "snapshots_unaligned", 3, 16, VD_Q2_GIB, { P4(VD_Q2_NB_SNAP, 1),
	  P8(VD_Q2_SNAP_OFF, 0x20100) }, .ret = -EINVAL, .word = "snapshots_offset 0x20100" },
	{ "snapshots_past_eof", 3, 16, VD_Q2_GIB, { P4(VD_Q2_NB_SNAP, 1),
	  P8(VD_Q2_SNAP_OFF, 0x100000) }, .ret = -EINVAL, .word = "snapshot table" },
	{ "snapshots_too_many", 3, 16, VD_Q2_GIB, { P4(VD_Q2_NB_SNAP, 65537),
	  P8(VD_Q2_SNAP_OFF, 0x20000) }, .ret = -EFBIG, .word = "nb_snapshots 65537" },
	{ "header_length_100", 3, 16, VD_Q2_GIB, { P4(VD_Q2_HDR_LEN, 100) }, .ret = -EINVAL,
	  .word = "header_length 100" },
	{ "header_length_108", 3, 16, VD_Q2_GIB, { P4(VD_Q2_HDR_LEN, 108) }, .ret = -EINVAL,
	  .word = "header_length 108" },
	{ "refcount_order_7", 3, 16, VD_Q2_GIB, { P4(VD_Q2_RC_ORDER, 7) }, .ret = -EINVAL,
	  .word = "refcount_order 7" },
	{ "incompat_bit_7", 3, 16, VD_Q2_GIB, { P8(VD_Q2_INCOMPAT, BIT_ULL(7)) },
	  .ret = -EOPNOTSUPP, .word = "incompatible feature bit 7 (unknown)" },
	{ "incompat_bit_7_named", 3, 16, VD_Q2_GIB, { P8(VD_Q2_INCOMPAT, BIT_ULL(7)) },
	  VD_Q2_EXT_FEATURES, vd_q2_foo_feature, 48, .ret = -EOPNOTSUPP,
	  .word = "unknown incompatible feature 'foo' (bit 7)" },
	{ "compression_byte_without_bit", 3, 16, VD_Q2_GIB, { P4(VD_Q2_HDR_LEN, 112),
	  { VD_Q2_COMP_TYPE, 1, 1 } }, .ret = -EINVAL, .word = "compression_type 1 without" },
	{ "compression_type_2", 3, 16, VD_Q2_GIB, { P8(VD_Q2_INCOMPAT, BIT_ULL(3)),
	  P4(VD_Q2_HDR_LEN, 112), { VD_Q2_COMP_TYPE, 1, 2 } }, .ret = -EOPNOTSUPP,
	  .word = "compression_type 2" },
	{ "extended_l2_4k", 3, 12, VD_Q2_GIB, { P8(VD_Q2_INCOMPAT, BIT_ULL(4)),
	  P4(VD_Q2_L1_SIZE, 1024) }, .ret = -EINVAL, .word = "cluster_bits 12" },
	{ "extension_overruns", 3, 12, VD_Q2_GIB, { P4(104, 0x12345678), P4(108, 4000) },
	  .ret = -EINVAL, .word = "length 4000" },
	{ "backing_past_cluster", 3, 12, VD_Q2_GIB, { { 0 } }, 0, NULL, 0, 4090, "abcdefgh", 8,
	  .ret = -EINVAL, .word = "backing_file_offset 4090" },
	{ "backing_with_nul", 3, 16, VD_Q2_GIB, { { 0 } }, 0, NULL, 0, 512, "ba\0se", 5,
	  .ret = -EINVAL, .word = "NUL" },
	{ "backing_format_nul", 3, 16, VD_Q2_GIB, { { 0 } }, VD_Q2_EXT_BACKING_FMT, "r\0w", 3,
	  .ret = -EINVAL, .word = "backing format" },
	{ "crypto_extension", 3, 16, VD_Q2_GIB, { { 0 } }, VD_Q2_EXT_CRYPTO, "0123456789abcdef",
	  16, .ret = -EINVAL, .word = "crypto" },
	{ "truncated_file", 3, 16, VD_Q2_GIB, { { 0 } }, .file_size = 64, .ret = -EINVAL,
	  .word = "truncated" },
};

static void vd_q2_case_desc(const struct vd_q2_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(vd_q2, vd_q2_cases, vd_q2_case_desc);

/* Build @c's first cluster (up to VD_Q2_BUF_MAX bytes); returns its length. */
static size_t vd_q2_build(struct kunit *test, const struct vd_q2_case *c, u8 **bufp,
			  u64 *file_size)
{
	u64 cs = 1ULL << c->cb, shift = 2 * c->cb - 3;
	u32 l1 = (c->size >> shift) + !!(c->size & ((1ULL << shift) - 1));
	size_t len = cs < VD_Q2_BUF_MAX ? cs : VD_Q2_BUF_MAX;
	u32 ext_off = c->version == 2 ? 72 : 104;
	unsigned int i;
	u8 *b;

	b = kunit_kzalloc(test, len, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, b);
	memcpy(b, "QFI\xfb", 4);
	vd_put32(b + VD_Q2_VERSION, c->version);
	vd_put32(b + VD_Q2_CLUSTER_BITS, c->cb);
	vd_put64(b + VD_Q2_SIZE, c->size);
	vd_put32(b + VD_Q2_L1_SIZE, l1);
	vd_put64(b + VD_Q2_L1_OFF, 3 * cs);
	vd_put64(b + VD_Q2_RT_OFF, cs);
	vd_put32(b + VD_Q2_RT_CLUSTERS, 1);
	if (c->version == 3) {
		vd_put32(b + VD_Q2_RC_ORDER, 4);
		vd_put32(b + VD_Q2_HDR_LEN, 104);
	}
	*file_size = 4 * cs + (((u64)l1 * 8 + cs - 1) & ~(cs - 1));
	for (i = 0; i < ARRAY_SIZE(c->pokes) && c->pokes[i].width; i++) {
		const struct vd_q2_poke *p = &c->pokes[i];

		if (p->off == VD_Q2_HDR_LEN && p->val == 112)
			ext_off = 112;
		if (p->width == 1)
			b[p->off] = p->val;
		else if (p->width == 4)
			vd_put32(b + p->off, p->val);
		else
			vd_put64(b + p->off, p->val);
	}
	if (c->ext_type) {
		vd_put32(b + ext_off, c->ext_type);
		vd_put32(b + ext_off + 4, c->ext_len);
		memcpy(b + ext_off + 8, c->ext_data, c->ext_len);
	}
	if (c->backing_off) {
		vd_put64(b + VD_Q2_BACKING_OFF, c->backing_off);
		vd_put32(b + VD_Q2_BACKING_SIZE, c->backing_len);
		if (c->backing_off + c->backing_len <= len)
			memcpy(b + c->backing_off, c->backing, c->backing_len);
	}
	if (c->file_size)
		*file_size = c->file_size;
	*bufp = b;
	return len;
}

static void vdisk_qcow2_header(struct kunit *test)
{
	const struct vd_q2_case *c = test->param_value;
	char buf[VD_Q2_MSG_MAX] = "";
	struct vd_msg msg = { .buf = buf, .len = sizeof(buf) };
	struct vd_qcow2_header *h;
	u64 file_size;
	size_t len;
	u8 *b;

	h = kunit_kzalloc(test, sizeof(*h), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, h);
	len = vd_q2_build(test, c, &b, &file_size);

	KUNIT_EXPECT_EQ_MSG(test, vd_qcow2_parse_header(b, len, file_size, h, &msg), c->ret,
			    "message \"%s\"", buf);
	if (!c->word) {
		KUNIT_EXPECT_STREQ(test, buf, "");
		KUNIT_EXPECT_EQ(test, h->version, c->version);
		KUNIT_EXPECT_EQ(test, h->cluster_bits, c->cb);
		KUNIT_EXPECT_EQ(test, h->size, c->size);
		if (c->backing_off) {
			KUNIT_EXPECT_EQ(test, h->backing_len, c->backing_len);
			KUNIT_EXPECT_EQ(test, strlen(h->backing_name), c->backing_len);
		}
		return;
	}
	KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(buf, c->word),
				  "message \"%s\" lacks \"%s\"", buf, c->word);
	KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(buf, "qcow2 header: "),
				  "message \"%s\" does not say qcow2 header", buf);
}

/* Fields decoded from the valid images above. */
static void vdisk_qcow2_header_fields(struct kunit *test)
{
	char buf[VD_Q2_MSG_MAX] = "";
	struct vd_msg msg = { .buf = buf, .len = sizeof(buf) };
	const struct vd_q2_case *c;
	struct vd_qcow2_header *h;
	u64 file_size;
	size_t len;
	u8 *b;

	h = kunit_kzalloc(test, sizeof(*h), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, h);

	c = &vd_q2_cases[0];	/* v2_64k */
	len = vd_q2_build(test, c, &b, &file_size);
	KUNIT_ASSERT_EQ(test, vd_qcow2_parse_header(b, len, file_size, h, &msg), 0);
	KUNIT_EXPECT_EQ(test, h->header_length, 72);
	KUNIT_EXPECT_EQ(test, h->refcount_order, 4);
	KUNIT_EXPECT_EQ(test, h->l2_bits, 13);
	KUNIT_EXPECT_EQ(test, h->l2_entry_size, 8);
	KUNIT_EXPECT_EQ(test, h->l1_size, 2);
	KUNIT_EXPECT_EQ(test, h->l1_offset, 3 * 65536);
	KUNIT_EXPECT_EQ(test, h->refcount_table_offset, 65536);

	c = &vd_q2_cases[7];	/* extended_l2_16k */
	len = vd_q2_build(test, c, &b, &file_size);
	KUNIT_ASSERT_EQ(test, vd_qcow2_parse_header(b, len, file_size, h, &msg), 0);
	KUNIT_EXPECT_TRUE(test, h->extended_l2);
	KUNIT_EXPECT_EQ(test, h->l2_entry_size, 16);
	KUNIT_EXPECT_EQ(test, h->l2_bits, 10);

	c = &vd_q2_cases[8];	/* zstd */
	len = vd_q2_build(test, c, &b, &file_size);
	KUNIT_ASSERT_EQ(test, vd_qcow2_parse_header(b, len, file_size, h, &msg), 0);
	KUNIT_EXPECT_EQ(test, h->compression_type, VD_QCOW2_COMPRESS_ZSTD);
	KUNIT_EXPECT_EQ(test, h->header_length, 112);

	c = &vd_q2_cases[9];	/* backing_and_format */
	len = vd_q2_build(test, c, &b, &file_size);
	KUNIT_ASSERT_EQ(test, vd_qcow2_parse_header(b, len, file_size, h, &msg), 0);
	KUNIT_EXPECT_STREQ(test, h->backing_name, "base.raw");
	KUNIT_EXPECT_STREQ(test, h->backing_format, "raw");
	KUNIT_EXPECT_EQ(test, h->backing_offset, 512);

	c = &vd_q2_cases[11];	/* dirty_corrupt */
	len = vd_q2_build(test, c, &b, &file_size);
	KUNIT_ASSERT_EQ(test, vd_qcow2_parse_header(b, len, file_size, h, &msg), 0);
	KUNIT_EXPECT_TRUE(test, h->dirty);
	KUNIT_EXPECT_TRUE(test, h->corrupt);

	c = &vd_q2_cases[13];	/* data_file */
	len = vd_q2_build(test, c, &b, &file_size);
	KUNIT_ASSERT_EQ(test, vd_qcow2_parse_header(b, len, file_size, h, &msg), 0);
	KUNIT_EXPECT_TRUE(test, h->has_data_file);
	KUNIT_EXPECT_STREQ(test, h->data_file_name, "d.raw");
	KUNIT_EXPECT_STREQ(test, buf, "");
}

/* L2 entries */

struct vd_l2_case {
	const char *name;
	u32 version, cb;
	bool extl2, data_file;
	u64 entry, bitmap;
	int ret;
	u32 kind;
	u64 host_off, comp_len;
	const char *word;	/* on error */
};

#define VD_CMP	VD_QCOW2_OFLAG_COMPRESSED
#define VD_CPD	VD_QCOW2_OFLAG_COPIED

static const struct vd_l2_case vd_l2_cases[] = {
	{ "unallocated", 3, 16, false, false, 0, 0, 0, VD_QCOW2_UNALLOCATED },
	{ "normal", 3, 16, false, false, VD_CPD | 0x70000, 0, 0, VD_QCOW2_NORMAL, 0x70000 },
	{ "normal_v2", 2, 16, false, false, 0x70000, 0, 0, VD_QCOW2_NORMAL, 0x70000 },
	{ "zero_plain", 3, 16, false, false, 1, 0, 0, VD_QCOW2_ZERO, 0 },
	{ "zero_prealloc", 3, 16, false, false, VD_CPD | 0x70001, 0, 0, VD_QCOW2_ZERO, 0x70000 },
	{ "copied_offset_0", 3, 16, false, false, VD_CPD, 0, 0, VD_QCOW2_UNALLOCATED },
	{ "data_file_offset_0", 3, 16, false, true, VD_CPD, 0, 0, VD_QCOW2_NORMAL, 0 },
	/* compressed: x = 62 - (cb - 8); comp_len = sectors * 512 - (off & 511) */
	{ "compressed_64k", 3, 16, false, false, VD_CMP | 3ULL << 54 | 0x123456, 0, 0,
	  VD_QCOW2_COMPRESSED, 0x123456, 4 * 512 - 0x56 },
	{ "compressed_64k_max", 2, 16, false, false, VD_CMP | 255ULL << 54 | 0x2001ff, 0, 0,
	  VD_QCOW2_COMPRESSED, 0x2001ff, 256 * 512 - 511 },
	{ "compressed_512", 3, 9, false, false, VD_CMP | BIT_ULL(61) | 0x1234, 0, 0,
	  VD_QCOW2_COMPRESSED, 0x1234, 1024 - 0x34 },
	{ "compressed_4k", 3, 12, false, false, VD_CMP | 2ULL << 58 | 0xabcde, 0, 0,
	  VD_QCOW2_COMPRESSED, 0xabcde, 3 * 512 - 0xde },
	{ "compressed_2m", 3, 21, false, false, VD_CMP | 8191ULL << 49 | (BIT_ULL(49) - 1), 0, 0,
	  VD_QCOW2_COMPRESSED, BIT_ULL(49) - 1, 8192 * 512 - 511 },
	{ "compressed_extl2", 3, 16, true, false, VD_CMP | 2ULL << 54 | 0x12345, 0, 0,
	  VD_QCOW2_COMPRESSED, 0x12345, 3 * 512 - 0x145 },
	{ "extl2_normal", 3, 16, true, false, 0x70000, 0x0000ff00000000ffULL, 0,
	  VD_QCOW2_NORMAL, 0x70000 },
	{ "extl2_zero_unallocated", 3, 16, true, false, 0, 0xffffffff00000000ULL, 0,
	  VD_QCOW2_UNALLOCATED },

	{ "reserved_low", 3, 16, false, false, 0x70002, 0, -EIO, .word = "reserved bits 0x2" },
	{ "reserved_high", 3, 16, false, false, 0x70000 | BIT_ULL(56), 0, -EIO,
	  .word = "reserved bits 0x100000000000000" },
	{ "zero_flag_v2", 2, 16, false, false, 0x70001, 0, -EIO, .word = "reserved bits 0x1" },
	{ "zero_flag_extl2", 3, 16, true, false, 0x70001, 1, -EIO, .word = "reserved bits 0x1" },
	{ "unaligned", 3, 16, false, false, 0x70200, 0, -EIO, .word = "not cluster aligned" },
	{ "compressed_copied", 3, 16, false, false, VD_CMP | VD_CPD | 0x1000, 0, -EIO,
	  .word = "COPIED" },
	{ "compressed_offset_high", 3, 9, false, false, VD_CMP | BIT_ULL(56), 0, -EIO,
	  .word = "compressed data offset" },
	{ "compressed_data_file", 3, 16, false, true, VD_CMP | 0x1000, 0, -EIO,
	  .word = "external data file" },
	{ "compressed_bitmap", 3, 16, true, false, VD_CMP | 0x1000, BIT_ULL(40), -EIO,
	  .word = "subcluster bitmap 0x0000010000000000" },
	{ "extl2_alloc_and_zero", 3, 16, true, false, 0x70000, 0x0000000100000001ULL, -EIO,
	  .word = "both allocated and zero" },
	{ "extl2_alloc_unallocated", 3, 16, true, false, 0, 0x80000000ULL, -EIO,
	  .word = "unallocated cluster" },
};

static void vd_l2_case_desc(const struct vd_l2_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(vd_l2, vd_l2_cases, vd_l2_case_desc);

static void vd_q2_fake_header(struct vd_qcow2_header *h, u32 version, u32 cb, bool extl2,
			      bool data_file)
{
	memset(h, 0, sizeof(*h));
	h->version = version;
	h->cluster_bits = cb;
	h->cluster_size = 1ULL << cb;
	h->extended_l2 = extl2;
	h->has_data_file = data_file;
	h->l2_entry_size = extl2 ? 16 : 8;
	h->l2_bits = cb - (extl2 ? 4 : 3);
	h->size = VD_Q2_GIB;
}

static void vdisk_qcow2_l2_entry(struct kunit *test)
{
	const struct vd_l2_case *c = test->param_value;
	char buf[VD_Q2_MSG_MAX] = "";
	struct vd_msg msg = { .buf = buf, .len = sizeof(buf) };
	struct vd_qcow2_cluster cl;
	struct vd_qcow2_header *h;

	h = kunit_kzalloc(test, sizeof(*h), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, h);
	vd_q2_fake_header(h, c->version, c->cb, c->extl2, c->data_file);

	KUNIT_ASSERT_EQ_MSG(test, vd_qcow2_l2_entry(h, c->entry, c->bitmap, &cl, &msg), c->ret,
			    "message \"%s\"", buf);
	if (c->ret) {
		KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(buf, c->word),
					  "message \"%s\" lacks \"%s\"", buf, c->word);
		KUNIT_EXPECT_NOT_NULL(test, strstr(buf, "qcow2 L2 entry"));
		return;
	}
	KUNIT_EXPECT_STREQ(test, buf, "");
	KUNIT_EXPECT_EQ(test, cl.kind, c->kind);
	KUNIT_EXPECT_EQ(test, cl.host_off, c->host_off);
	if (c->kind == VD_QCOW2_COMPRESSED)
		KUNIT_EXPECT_EQ(test, cl.comp_len, c->comp_len);
	if (c->extl2 && c->kind != VD_QCOW2_COMPRESSED) {
		KUNIT_EXPECT_EQ(test, cl.sub_alloc, (u32)c->bitmap);
		KUNIT_EXPECT_EQ(test, cl.sub_zero, (u32)(c->bitmap >> 32));
	} else {
		KUNIT_EXPECT_EQ(test, cl.sub_alloc, 0);
		KUNIT_EXPECT_EQ(test, cl.sub_zero, 0);
	}
}

static void vdisk_qcow2_l1_entry(struct kunit *test)
{
	char buf[VD_Q2_MSG_MAX] = "";
	struct vd_msg msg = { .buf = buf, .len = sizeof(buf) };
	struct vd_qcow2_header *h;
	u64 off;

	h = kunit_kzalloc(test, sizeof(*h), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, h);
	vd_q2_fake_header(h, 3, 16, false, false);

	KUNIT_EXPECT_EQ(test, vd_qcow2_l1_entry(h, 0, &off, VD_Q2_GIB, &msg), 0);
	KUNIT_EXPECT_EQ(test, off, 0);
	KUNIT_EXPECT_EQ(test, vd_qcow2_l1_entry(h, VD_CPD | 0x50000, &off, VD_Q2_GIB, &msg), 0);
	KUNIT_EXPECT_EQ(test, off, 0x50000);
	/* the table's last byte is the file's last byte */
	KUNIT_EXPECT_EQ(test, vd_qcow2_l1_entry(h, 0x50000, &off, 0x60000, &msg), 0);
	KUNIT_EXPECT_STREQ(test, buf, "");

	KUNIT_EXPECT_EQ(test, vd_qcow2_l1_entry(h, 0x50000, &off, 0x5ffff, &msg), -EIO);
	KUNIT_EXPECT_NOT_NULL(test, strstr(buf, "past the end of the file"));
	buf[0] = '\0';
	KUNIT_EXPECT_EQ(test, vd_qcow2_l1_entry(h, 0x50001, &off, VD_Q2_GIB, &msg), -EIO);
	KUNIT_EXPECT_NOT_NULL(test, strstr(buf, "reserved bits 0x1"));
	buf[0] = '\0';
	KUNIT_EXPECT_EQ(test, vd_qcow2_l1_entry(h, VD_CMP | 0x50000, &off, VD_Q2_GIB, &msg),
			-EIO);
	KUNIT_EXPECT_NOT_NULL(test, strstr(buf, "reserved bits 0x4000000000000000"));
	buf[0] = '\0';
	KUNIT_EXPECT_EQ(test, vd_qcow2_l1_entry(h, 0x50200, &off, VD_Q2_GIB, &msg), -EIO);
	KUNIT_EXPECT_NOT_NULL(test, strstr(buf, "not cluster aligned"));
	KUNIT_EXPECT_EQ(test, off, 0);
}

/* Snapshot records: with and without extra data, padding, overruns. */
static void vdisk_qcow2_snapshot(struct kunit *test)
{
	char buf[VD_Q2_MSG_MAX] = "";
	struct vd_msg msg = { .buf = buf, .len = sizeof(buf) };
	struct vd_qcow2_snapshot *s;
	struct vd_qcow2_header *h;
	size_t rec_len;
	u8 *t;

	h = kunit_kzalloc(test, sizeof(*h), GFP_KERNEL);
	s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);
	t = kunit_kzalloc(test, 256, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, h);
	KUNIT_ASSERT_NOT_NULL(test, s);
	KUNIT_ASSERT_NOT_NULL(test, t);
	vd_q2_fake_header(h, 3, 16, false, false);

	/* record 1: 16 bytes of extra data, id "1", name "first": 62 -> 64 */
	vd_put64(t, 0x50000);
	vd_put32(t + 8, 16);
	t[13] = 1;
	t[15] = 5;
	vd_put32(t + 16, 1700000000);
	vd_put32(t + 32, 7);
	vd_put32(t + 36, 16);
	vd_put64(t + 40, 5ULL << 32);
	vd_put64(t + 48, 2 * VD_Q2_GIB);
	memcpy(t + 56, "1first", 6);
	/* record 2 at 64: no extra data, id "2", name "x": 42, unpadded */
	vd_put64(t + 64, 0x60000);
	vd_put32(t + 72, 16);
	t[64 + 13] = 1;
	t[64 + 15] = 1;
	vd_put32(t + 64 + 32, 4096);
	memcpy(t + 64 + 40, "2x", 2);

	KUNIT_ASSERT_EQ(test, vd_qcow2_parse_snapshot(h, t, 106, VD_Q2_GIB, s, &rec_len, &msg),
			0);
	KUNIT_EXPECT_EQ(test, rec_len, 64);
	KUNIT_EXPECT_EQ(test, s->l1_offset, 0x50000);
	KUNIT_EXPECT_EQ(test, s->l1_size, 16);
	KUNIT_EXPECT_EQ(test, s->date_sec, 1700000000);
	KUNIT_EXPECT_EQ(test, s->vm_state_size, 5ULL << 32);
	KUNIT_EXPECT_EQ(test, s->disk_size, 2 * VD_Q2_GIB);
	KUNIT_EXPECT_STREQ(test, s->id, "1");
	KUNIT_EXPECT_STREQ(test, s->name, "first");

	KUNIT_ASSERT_EQ(test, vd_qcow2_parse_snapshot(h, t + 64, 42, VD_Q2_GIB, s, &rec_len,
						      &msg), 0);
	KUNIT_EXPECT_EQ(test, rec_len, 42);	/* the last padding may be missing */
	KUNIT_EXPECT_EQ(test, s->vm_state_size, 4096);
	KUNIT_EXPECT_EQ(test, s->disk_size, VD_Q2_GIB);
	KUNIT_EXPECT_STREQ(test, s->name, "x");
	KUNIT_EXPECT_STREQ(test, buf, "");

	/* one byte short */
	KUNIT_EXPECT_EQ(test, vd_qcow2_parse_snapshot(h, t + 64, 41, VD_Q2_GIB, s, &rec_len,
						      &msg), -EINVAL);
	KUNIT_EXPECT_NOT_NULL(test, strstr(buf, "runs past the table"));
	buf[0] = '\0';
	/* the L1 table outside the file */
	KUNIT_EXPECT_EQ(test, vd_qcow2_parse_snapshot(h, t, 106, 0x50000 + 127, s, &rec_len,
						      &msg), -EINVAL);
	KUNIT_EXPECT_NOT_NULL(test, strstr(buf, "outside the file"));
	buf[0] = '\0';
	/* id_str_size 128 */
	t[12] = 0;
	t[13] = 128;
	KUNIT_EXPECT_EQ(test, vd_qcow2_parse_snapshot(h, t, 256, VD_Q2_GIB, s, &rec_len, &msg),
			-EINVAL);
	KUNIT_EXPECT_NOT_NULL(test, strstr(buf, "id_str_size 128"));
	buf[0] = '\0';
	t[13] = 1;
	/* extra_data_size bounded */
	vd_put32(t + 36, 1025);
	KUNIT_EXPECT_EQ(test, vd_qcow2_parse_snapshot(h, t, 256, VD_Q2_GIB, s, &rec_len, &msg),
			-EINVAL);
	KUNIT_EXPECT_NOT_NULL(test, strstr(buf, "extra_data_size 1025"));
}

/*
 * qinit() writes a valid header laid out as qemu-img does: header in
 * cluster 0, refcount table in cluster 1, a refcount block in cluster 2,
 * the L1 table from cluster 3.  Cases then poke single fields.  Every
 * parse runs on an exact-size heap copy, so that KASAN or ASan catches
 * overreads.
 */
#define KiB	1024ULL
#define MiB	(1024 * KiB)
#define GiB	(1024 * MiB)

/* header field offsets */
#define O_VERSION	4
#define O_BACKING_OFF	8
#define O_BACKING_SIZE	16
#define O_CLUSTER_BITS	20
#define O_SIZE		24
#define O_CRYPT		32
#define O_L1_SIZE	36
#define O_L1_OFF	40
#define O_RT_OFF	48
#define O_RT_CLUSTERS	56
#define O_NB_SNAP	60
#define O_SNAP_OFF	64
#define O_INCOMPAT	72
#define O_COMPAT	80
#define O_AUTOCLEAR	88
#define O_RC_ORDER	96
#define O_HDR_LEN	100
#define O_COMP_TYPE	104

#define EXT_BACKING_FMT	0xe2792acaU
#define EXT_FEATURES	0x6803f857U
#define EXT_BITMAPS	0x23852875U
#define EXT_CRYPTO	0x0537be77U
#define EXT_DATA_FILE	0x44415441U

static void put16(u8 *p, u16 v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void put32(u8 *p, u32 v)
{
	put16(p, v >> 16);
	put16(p + 2, v);
}

static void put64(u8 *p, u64 v)
{
	put32(p, v >> 32);
	put32(p + 4, v);
}

static u32 l1_needed(u32 cb, u64 size, bool extl2)
{
	u32 shift = cb + cb - (extl2 ? 4 : 3);

	return (u32)((size >> shift) + !!(size & ((1ULL << shift) - 1)));
}

/*
 * A crafted image: the first cluster in @buf (zeroed, cluster bytes),
 * the file size its tables imply.
 */
struct qimg {
	u8 *buf;
	size_t len;
	u64 file_size;
	u32 cb;
	u32 ext_off;	/* where the next qext() goes */
};

static void qinit(struct kunit *test, struct qimg *q, u32 version, u32 cb, u64 size)
{
	u64 c = 1ULL << cb;
	u32 l1 = l1_needed(cb, size, false);

	q->cb = cb;
	q->len = c;
	/* up to 2 MiB: kvzalloc() */
	q->buf = kvzalloc(c, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, q->buf);
	memcpy(q->buf, "QFI\xfb", 4);
	put32(q->buf + O_VERSION, version);
	put32(q->buf + O_CLUSTER_BITS, cb);
	put64(q->buf + O_SIZE, size);
	put32(q->buf + O_L1_SIZE, l1);
	put64(q->buf + O_L1_OFF, 3 * c);
	put64(q->buf + O_RT_OFF, c);
	put32(q->buf + O_RT_CLUSTERS, 1);
	q->file_size = 3 * c + (((u64)l1 * 8 + c - 1) & ~(c - 1));
	if (q->file_size == 3 * c)
		q->file_size += c;
	if (version >= 3) {
		put32(q->buf + O_RC_ORDER, 4);
		put32(q->buf + O_HDR_LEN, 104);
		q->ext_off = 104;
	} else {
		q->ext_off = 72;
	}
}

static void qfree(struct qimg *q)
{
	kvfree(q->buf);
	q->buf = NULL;
}

/* Append a header extension (and its padding) at q->ext_off. */
static void qext(struct qimg *q, u32 type, const void *data, u32 len)
{
	put32(q->buf + q->ext_off, type);
	put32(q->buf + q->ext_off + 4, len);
	memcpy(q->buf + q->ext_off + 8, data, len);
	q->ext_off += 8 + ((len + 7) & ~7U);
}

/* Set the v3 header_length to 112 with a compression type byte. */
static void qcomp(struct qimg *q, u8 type, bool bit)
{
	put32(q->buf + O_HDR_LEN, 112);
	q->buf[O_COMP_TYPE] = type;
	if (bit)
		put64(q->buf + O_INCOMPAT, 1ULL << 3);
	q->ext_off = 112;
}

/* Backing file name at @off, @name of @n bytes. */
static void qbacking(struct qimg *q, u64 off, const char *name, u32 n)
{
	put64(q->buf + O_BACKING_OFF, off);
	put32(q->buf + O_BACKING_SIZE, n);
	if (off < q->len && n <= q->len - off)
		memcpy(q->buf + off, name, n);
}

struct res {
	int ret;
	char msg[256];
	struct vd_qcow2_header h;
};

/*
 * Test-managed, zeroed memory for what is too big for a kernel stack:
 * results holding a header, buffers of a kilobyte or more.
 */
static void *vd_q2_buf(struct kunit *test, size_t size)
{
	void *p = kunit_kzalloc(test, size, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, p);
	return p;
}

static struct res *vd_q2_res_new(struct kunit *test)
{
	return vd_q2_buf(test, sizeof(struct res));
}

/* vd_qcow2_parse_header() on the first @len bytes of @q, copied to the heap */
static int qparse_len(struct kunit *test, const struct qimg *q, size_t len, struct res *r)
{
	struct vd_msg msg = { .buf = r->msg, .len = sizeof(r->msg) };
	u8 *copy = kmalloc(len ? len : 1, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, copy);
	memcpy(copy, q->buf, len);
	r->msg[0] = '\0';
	r->ret = vd_qcow2_parse_header(copy, len, q->file_size, &r->h, &msg);
	kfree(copy);
	if (r->ret == 0 && r->msg[0])
		KUNIT_FAIL(test, "success with a message: %s", r->msg);
	if (r->ret && strncmp(r->msg, "qcow2 header: ", 14))
		KUNIT_FAIL(test, "message \"%s\" lacks the prefix", r->msg);
	return r->ret;
}

static int qparse(struct kunit *test, const struct qimg *q, struct res *r)
{
	return qparse_len(test, q, q->len, r);
}

/* ------------------------------------------------------------------ */
/* valid headers                                                      */

static void check_valid(struct kunit *test, u32 version, u32 cb, u64 size)
{
	struct res *r = vd_q2_res_new(test);
	struct qimg q;

	qinit(test, &q, version, cb, size);
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), 0);
	KUNIT_EXPECT_STREQ(test, r->msg, "");
	KUNIT_EXPECT_EQ(test, r->h.version, version);
	KUNIT_EXPECT_EQ(test, r->h.cluster_bits, cb);
	KUNIT_EXPECT_EQ(test, r->h.cluster_size, 1ULL << cb);
	KUNIT_EXPECT_EQ(test, r->h.size, size);
	KUNIT_EXPECT_EQ(test, r->h.l1_size, l1_needed(cb, size, false));
	KUNIT_EXPECT_EQ(test, r->h.l1_offset, 3ULL << cb);
	KUNIT_EXPECT_EQ(test, r->h.l2_bits, cb - 3);
	KUNIT_EXPECT_EQ(test, r->h.l2_entry_size, 8);
	KUNIT_EXPECT_EQ(test, r->h.refcount_table_offset, 1ULL << cb);
	KUNIT_EXPECT_EQ(test, r->h.refcount_table_clusters, 1);
	KUNIT_EXPECT_EQ(test, r->h.refcount_order, 4);
	KUNIT_EXPECT_EQ(test, r->h.header_length, version == 2 ? 72 : 104);
	KUNIT_EXPECT_EQ(test, r->h.compression_type, VD_QCOW2_COMPRESS_ZLIB);
	KUNIT_EXPECT_TRUE(test,
			  !r->h.extended_l2 && !r->h.dirty && !r->h.corrupt && !r->h.has_data_file);
	KUNIT_EXPECT_EQ(test, r->h.backing_offset, 0);
	KUNIT_EXPECT_STREQ(test, r->h.backing_name, "");
	KUNIT_EXPECT_STREQ(test, r->h.backing_format, "");
	KUNIT_EXPECT_STREQ(test, r->h.data_file_name, "");
	qfree(&q);
}

static void vdisk_qcow2_valid_v2(struct kunit *test)
{
	check_valid(test, 2, 16, 1 * GiB);
	check_valid(test, 2, 12, 10 * GiB + 512);
	check_valid(test, 2, 9, 512);
}

static void vdisk_qcow2_valid_v3(struct kunit *test)
{
	check_valid(test, 3, 12, 1 * GiB);
	check_valid(test, 3, 16, 100 * GiB);
	check_valid(test, 3, 21, 1 * GiB * 1024 * 64);
	check_valid(test, 3, 9, 128 * GiB);	/* the largest 512-byte clusters reach */
	check_valid(test, 3, 16, 3);		/* not a multiple of 512 */
}

static void vdisk_qcow2_valid_size_0(struct kunit *test)
{
	struct res *r = vd_q2_res_new(test);
	struct qimg q;

	qinit(test, &q, 3, 16, 0);
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), 0);
	KUNIT_EXPECT_EQ(test, r->h.l1_size, 0);
	/* no L1 at all: offset 0 is fine then */
	put64(q.buf + O_L1_OFF, 0);
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), 0);
	qfree(&q);
}

static void vdisk_qcow2_valid_l1_larger_than_needed(struct kunit *test)
{
	struct res *r = vd_q2_res_new(test);
	struct qimg q;

	qinit(test, &q, 3, 16, 1 * GiB);	/* needs 2 entries */
	put32(q.buf + O_L1_SIZE, 8192);	/* one cluster of entries */
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), 0);
	KUNIT_EXPECT_EQ(test, r->h.l1_size, 8192);
	qfree(&q);
}

static void vdisk_qcow2_valid_l1_exact_boundaries(struct kunit *test)
{
	struct res *r = vd_q2_res_new(test);
	struct qimg q;

	/* 64k clusters: one L1 entry covers 512 MiB */
	qinit(test, &q, 3, 16, 512 * MiB);
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), 0);
	KUNIT_EXPECT_EQ(test, r->h.l1_size, 1);
	put64(q.buf + O_SIZE, 512 * MiB + 1);
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), -EINVAL);
	VD_EXPECT_CONTAINS(test, r->msg, "l1_size 1 too small");
	put32(q.buf + O_L1_SIZE, 2);
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), 0);
	qfree(&q);

	/* the largest size the L1 limit allows with 2 MiB clusters: 2^61 */
	qinit(test, &q, 3, 21, 0);
	put64(q.buf + O_SIZE, 1ULL << 61);
	put32(q.buf + O_L1_SIZE, VD_QCOW2_MAX_L1_ENTRIES);
	q.file_size = 64 * MiB;
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), 0);
	put64(q.buf + O_SIZE, (1ULL << 61) + 1);
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), -EFBIG);
	VD_EXPECT_CONTAINS(test, r->msg, "size 2305843009213693953 needs 4194305 L1 entries");
	put64(q.buf + O_SIZE, ~0ULL);
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), -EFBIG);
	VD_EXPECT_CONTAINS(test, r->msg, "size 18446744073709551615");
	qfree(&q);
}

static void vdisk_qcow2_valid_table_at_file_end(struct kunit *test)
{
	struct res *r = vd_q2_res_new(test);
	struct qimg q;

	qinit(test, &q, 3, 16, 1 * GiB);
	/* the L1 table (16 bytes) ends exactly at the end of the file */
	q.file_size = 3 * 64 * KiB + 16;
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), 0);
	q.file_size--;
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), -EINVAL);
	VD_EXPECT_CONTAINS(test, r->msg, "L1 table");
	VD_EXPECT_CONTAINS(test, r->msg, "past the end of the file");
	qfree(&q);
}

static void vdisk_qcow2_valid_refcount_orders(struct kunit *test)
{
	struct res *r = vd_q2_res_new(test);
	struct qimg q;
	u32 o;

	qinit(test, &q, 3, 16, 1 * GiB);
	for (o = 0; o <= 6; o++) {
		put32(q.buf + O_RC_ORDER, o);
		KUNIT_EXPECT_EQ(test, qparse(test, &q, r), 0);
		KUNIT_EXPECT_EQ(test, r->h.refcount_order, o);
	}
	qfree(&q);
	/* v2: the v3 fields do not exist; bytes 72.. are extensions */
	qinit(test, &q, 2, 16, 1 * GiB);
	{
		u8 ff[32];

		memset(ff, 0xff, sizeof(ff));
		qext(&q, 0x11111111, ff, sizeof(ff));
	}
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), 0);
	KUNIT_EXPECT_EQ(test, r->h.refcount_order, 4);
	KUNIT_EXPECT_EQ(test, r->h.incompatible_features, 0);
	qfree(&q);
}

static void vdisk_qcow2_valid_extended_l2(struct kunit *test)
{
	struct res *r = vd_q2_res_new(test);
	struct qimg q;

	qinit(test, &q, 3, 16, 1 * GiB);
	put64(q.buf + O_INCOMPAT, 1ULL << 4);
	put32(q.buf + O_L1_SIZE, l1_needed(16, 1 * GiB, true));
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), 0);
	KUNIT_EXPECT_TRUE(test, r->h.extended_l2);
	KUNIT_EXPECT_EQ(test, r->h.l2_entry_size, 16);
	KUNIT_EXPECT_EQ(test, r->h.l2_bits, 12);
	KUNIT_EXPECT_EQ(test, r->h.l1_size, 4);
	/* half the entries per L2: 2 entries are not enough any more */
	put32(q.buf + O_L1_SIZE, 3);
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), -EINVAL);
	VD_EXPECT_CONTAINS(test, r->msg, "l1_size 3 too small");
	qfree(&q);

	/* 16 KiB: the smallest cluster with 512-byte subclusters */
	qinit(test, &q, 3, 14, 1 * GiB);
	put64(q.buf + O_INCOMPAT, 1ULL << 4);
	put32(q.buf + O_L1_SIZE, l1_needed(14, 1 * GiB, true));
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), 0);
	KUNIT_EXPECT_EQ(test, r->h.l2_bits, 10);
	qfree(&q);
}

static void vdisk_qcow2_refuse_extended_l2_small_clusters(struct kunit *test)
{
	static const u32 cbs[] = { 9, 12, 13 };
	struct res *r = vd_q2_res_new(test);
	struct qimg q;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cbs); i++) {
		qinit(test, &q, 3, cbs[i], 1 * GiB);
		put64(q.buf + O_INCOMPAT, 1ULL << 4);
		put32(q.buf + O_L1_SIZE, l1_needed(cbs[i], 1 * GiB, true));
		KUNIT_EXPECT_EQ(test, qparse(test, &q, r), -EINVAL);
		VD_EXPECT_CONTAINS(test, r->msg, "cluster_bits");
		VD_EXPECT_CONTAINS(test, r->msg, "extended L2");
		qfree(&q);
	}
}

static void vdisk_qcow2_valid_compression_zstd(struct kunit *test)
{
	struct res *r = vd_q2_res_new(test);
	struct qimg q;

	qinit(test, &q, 3, 16, 1 * GiB);
	qcomp(&q, 1, true);
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), 0);
	KUNIT_EXPECT_EQ(test, r->h.compression_type, VD_QCOW2_COMPRESS_ZSTD);
	KUNIT_EXPECT_EQ(test, r->h.header_length, 112);
	KUNIT_EXPECT_EQ(test, r->h.incompatible_features, 1ULL << 3);
	/* an explicit zlib byte without the bit is the default */
	qcomp(&q, 0, false);
	put64(q.buf + O_INCOMPAT, 0);
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), 0);
	KUNIT_EXPECT_EQ(test, r->h.compression_type, VD_QCOW2_COMPRESS_ZLIB);
	qfree(&q);
}

static void vdisk_qcow2_refuse_compression(struct kunit *test)
{
	struct res *r = vd_q2_res_new(test);
	struct qimg q;

	qinit(test, &q, 3, 16, 1 * GiB);
	qcomp(&q, 1, false);
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), -EINVAL);
	VD_EXPECT_CONTAINS(test, r->msg, "compression_type 1 without incompatible feature bit 3");
	qcomp(&q, 2, true);
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), -EOPNOTSUPP);
	VD_EXPECT_CONTAINS(test, r->msg, "compression_type 2 not supported");
	qcomp(&q, 0xff, true);
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), -EOPNOTSUPP);
	VD_EXPECT_CONTAINS(test, r->msg, "compression_type 255");
	qcomp(&q, 0, true);
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), -EINVAL);
	VD_EXPECT_CONTAINS(test, r->msg,
			   "compression_type 0 (zlib) with incompatible feature bit 3");
	qfree(&q);
	/* the bit without the field */
	qinit(test, &q, 3, 16, 1 * GiB);
	put64(q.buf + O_INCOMPAT, 1ULL << 3);
	q.buf[O_COMP_TYPE] = 1;		/* beyond header_length 104: not read */
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), -EINVAL);
	VD_EXPECT_CONTAINS(test, r->msg, "header_length 104 has no compression_type");
	qfree(&q);
}

static void vdisk_qcow2_valid_backing_and_format(struct kunit *test)
{
	static const char name[] = "/var/lib/images/base.raw";
	struct res *r = vd_q2_res_new(test);
	struct qimg q;

	qinit(test, &q, 3, 16, 1 * GiB);
	qext(&q, EXT_BACKING_FMT, "raw", 3);
	qbacking(&q, 512, name, strlen(name));
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), 0);
	KUNIT_EXPECT_STREQ(test, r->h.backing_name, name);
	KUNIT_EXPECT_EQ(test, r->h.backing_offset, 512);
	KUNIT_EXPECT_EQ(test, r->h.backing_len, strlen(name));
	KUNIT_EXPECT_STREQ(test, r->h.backing_format, "raw");
	qfree(&q);

	/* v2: extensions right after the 72-byte header; name at the end */
	qinit(test, &q, 2, 16, 1 * GiB);
	qext(&q, EXT_BACKING_FMT, "qcow2", 5);
	qbacking(&q, 64 * KiB - 4, "b.q2", 4);
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), 0);
	KUNIT_EXPECT_STREQ(test, r->h.backing_name, "b.q2");
	KUNIT_EXPECT_STREQ(test, r->h.backing_format, "qcow2");
	qfree(&q);

	/* the longest names */
	qinit(test, &q, 3, 16, 1 * GiB);
	{
		char fmt[63], *big = vd_q2_buf(test, 1023);

		memset(fmt, 'f', sizeof(fmt));
		memset(big, 'n', 1023);
		qext(&q, EXT_BACKING_FMT, fmt, sizeof(fmt));
		qbacking(&q, 4096, big, 1023);
		KUNIT_EXPECT_EQ(test, qparse(test, &q, r), 0);
		KUNIT_EXPECT_EQ(test, strlen(r->h.backing_format), 63);
		KUNIT_EXPECT_EQ(test, strlen(r->h.backing_name), 1023);
		KUNIT_EXPECT_EQ(test, r->h.backing_len, 1023);
	}
	qfree(&q);

	/* backing_file_size 0: no backing file, as QEMU reads it */
	qinit(test, &q, 3, 16, 1 * GiB);
	qbacking(&q, 512, "", 0);
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), 0);
	KUNIT_EXPECT_EQ(test, r->h.backing_offset, 0);
	KUNIT_EXPECT_STREQ(test, r->h.backing_name, "");
	qfree(&q);
}

static void vdisk_qcow2_refuse_backing(struct kunit *test)
{
	char *big = vd_q2_buf(test, 1100);
	struct res *r = vd_q2_res_new(test);
	struct qimg q;

	memset(big, 'x', 1100);
	qinit(test, &q, 3, 16, 1 * GiB);
	qbacking(&q, 64 * KiB - 4, "abcdefgh", 8);	/* past the cluster */
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), -EINVAL);
	VD_EXPECT_CONTAINS(test, r->msg, "backing_file_offset 65532");
	VD_EXPECT_CONTAINS(test, r->msg, "past the first cluster");

	qbacking(&q, 64 * KiB, "x", 1);			/* at the cluster end */
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), -EINVAL);
	VD_EXPECT_CONTAINS(test, r->msg, "backing_file_offset 65536");

	qbacking(&q, ~0ULL, "x", 1);
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), -EINVAL);
	VD_EXPECT_CONTAINS(test, r->msg, "backing_file_offset 18446744073709551615");

	qbacking(&q, 512, "ba\0se", 5);			/* embedded NUL */
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), -EINVAL);
	VD_EXPECT_CONTAINS(test, r->msg, "NUL");

	qbacking(&q, 512, big, 1024);
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), -EINVAL);
	VD_EXPECT_CONTAINS(test, r->msg, "backing_file_size 1024 exceeds 1023");

	qbacking(&q, 100, "", 0);			/* inside the header */
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), -EINVAL);
	VD_EXPECT_CONTAINS(test, r->msg, "backing_file_offset 100 outside 104..65535");

	/* the name lies in the cluster but past the bytes given */
	qbacking(&q, 8192, "base", 4);
	KUNIT_EXPECT_EQ(test, qparse_len(test, &q, 8194, r), -EINVAL);
	VD_EXPECT_CONTAINS(test, r->msg, "truncated");
	KUNIT_EXPECT_EQ(test, qparse_len(test, &q, 8196, r), 0);
	qfree(&q);
}

static void vdisk_qcow2_refuse_backing_format_ext(struct kunit *test)
{
	char fmt[64];
	struct res *r = vd_q2_res_new(test);
	struct qimg q;

	memset(fmt, 'f', sizeof(fmt));
	qinit(test, &q, 3, 16, 1 * GiB);
	qext(&q, EXT_BACKING_FMT, fmt, 64);
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), -EINVAL);
	VD_EXPECT_CONTAINS(test, r->msg, "backing format extension length 64 exceeds 63");
	qfree(&q);

	qinit(test, &q, 3, 16, 1 * GiB);
	qext(&q, EXT_BACKING_FMT, "ra\0w", 4);
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), -EINVAL);
	VD_EXPECT_CONTAINS(test, r->msg, "backing format extension contains a NUL");
	qfree(&q);

	qinit(test, &q, 3, 16, 1 * GiB);
	qext(&q, EXT_BACKING_FMT, "raw", 3);
	qext(&q, EXT_BACKING_FMT, "qcow2", 5);
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), -EINVAL);
	VD_EXPECT_CONTAINS(test, r->msg, "twice");
	qfree(&q);
}

static void vdisk_qcow2_data_file(struct kunit *test)
{
	char *big = vd_q2_buf(test, 1024);
	struct res *r = vd_q2_res_new(test);
	struct qimg q;

	qinit(test, &q, 3, 16, 1 * GiB);
	qext(&q, EXT_DATA_FILE, "disk.raw", 8);
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), 0);
	KUNIT_EXPECT_TRUE(test, !r->h.has_data_file);	/* the name alone does not count */
	KUNIT_EXPECT_STREQ(test, r->h.data_file_name, "disk.raw");
	put64(q.buf + O_INCOMPAT, 1ULL << 2);
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), 0);
	KUNIT_EXPECT_TRUE(test, r->h.has_data_file);
	KUNIT_EXPECT_STREQ(test, r->h.data_file_name, "disk.raw");
	qfree(&q);

	/* the bit without a name: the caller must provide the file */
	qinit(test, &q, 3, 16, 1 * GiB);
	put64(q.buf + O_INCOMPAT, 1ULL << 2);
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), 0);
	KUNIT_EXPECT_TRUE(test, r->h.has_data_file);
	KUNIT_EXPECT_STREQ(test, r->h.data_file_name, "");
	qfree(&q);

	memset(big, 'd', 1024);
	qinit(test, &q, 3, 16, 1 * GiB);
	qext(&q, EXT_DATA_FILE, big, 1024);
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), -EINVAL);
	VD_EXPECT_CONTAINS(test, r->msg, "external data file name length 1024");
	qfree(&q);
}

static void vdisk_qcow2_extensions_skipped(struct kunit *test)
{
	static const u8 bitmaps[24] = { 0, 0, 0, 1 };
	struct res *r = vd_q2_res_new(test);
	struct qimg q;

	qinit(test, &q, 3, 16, 1 * GiB);
	qext(&q, 0x12345678, "whatever", 8);
	qext(&q, EXT_BITMAPS, bitmaps, sizeof(bitmaps));
	qext(&q, 0xdeadbeef, "", 0);
	qext(&q, EXT_BACKING_FMT, "raw", 3);
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), 0);
	KUNIT_EXPECT_STREQ(test, r->h.backing_format, "raw");
	qfree(&q);

	/* after the end marker nothing is read */
	qinit(test, &q, 3, 16, 1 * GiB);
	q.ext_off += 8;
	qext(&q, EXT_CRYPTO, "garbage!", 8);
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), 0);
	qfree(&q);

	/* an extension filling the area exactly, without an end marker */
	qinit(test, &q, 3, 12, 1 * GiB);
	{
		u8 *fill = vd_q2_buf(test, 4096 - 104 - 8);

		memset(fill, 0xaa, (4096 - 104 - 8));
		qext(&q, 0x11111111, fill, (4096 - 104 - 8));
		KUNIT_EXPECT_EQ(test, qparse(test, &q, r), 0);
	}
	qfree(&q);
}

static void vdisk_qcow2_refuse_extensions(struct kunit *test)
{
	struct res *r = vd_q2_res_new(test);
	struct qimg q;
	u32 i;

	/* length runs past the cluster */
	qinit(test, &q, 3, 16, 1 * GiB);
	put32(q.buf + 104, 0x12345678);
	put32(q.buf + 108, 64 * KiB - 112 + 1);
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), -EINVAL);
	VD_EXPECT_CONTAINS(test, r->msg, "header extension 0x12345678 at offset 104");
	VD_EXPECT_CONTAINS(test, r->msg, "length 65425");
	put32(q.buf + 108, 0xffffffff);
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), -EINVAL);
	VD_EXPECT_CONTAINS(test, r->msg, "length 4294967295");
	qfree(&q);

	/* length runs into the backing file name */
	qinit(test, &q, 3, 16, 1 * GiB);
	qbacking(&q, 256, "base", 4);
	put32(q.buf + 104, EXT_BACKING_FMT);
	put32(q.buf + 108, 256 - 112 + 1);
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), -EINVAL);
	VD_EXPECT_CONTAINS(test, r->msg, "runs past the extension area end 256");
	qfree(&q);

	/* an extension header crossing the end of the area */
	qinit(test, &q, 3, 16, 1 * GiB);
	qext(&q, 0x11111111, "12345678", 8);
	qbacking(&q, q.ext_off + 4, "base", 4);
	put32(q.buf + q.ext_off, 0x22222222);
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), -EINVAL);
	VD_EXPECT_CONTAINS(test, r->msg, "crosses the end of the extension area");
	qfree(&q);

	/* extensions past the bytes given */
	qinit(test, &q, 3, 16, 1 * GiB);
	qext(&q, 0x11111111, "12345678", 8);
	KUNIT_EXPECT_EQ(test, qparse_len(test, &q, 120, r), -EINVAL);
	VD_EXPECT_CONTAINS(test, r->msg, "header extensions truncated");
	KUNIT_EXPECT_EQ(test, qparse_len(test, &q, 124, r), -EINVAL);
	VD_EXPECT_CONTAINS(test, r->msg, "header extensions truncated");
	KUNIT_EXPECT_EQ(test, qparse_len(test, &q, 128, r), 0);
	qfree(&q);

	/* crypto extension without encryption */
	qinit(test, &q, 3, 16, 1 * GiB);
	qext(&q, EXT_CRYPTO, "0123456789abcdef", 16);
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), -EINVAL);
	VD_EXPECT_CONTAINS(test, r->msg, "crypto");
	qfree(&q);

	/* too many extensions */
	qinit(test, &q, 3, 16, 1 * GiB);
	for (i = 0; i < 1024; i++)
		qext(&q, 0x11111111, "", 0);
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), 0);
	qext(&q, 0x11111111, "", 0);
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), -EINVAL);
	VD_EXPECT_CONTAINS(test, r->msg, "more than 1024 header extensions");
	qfree(&q);
}

/* a feature name table entry */
static void feat(u8 *e, u8 type, u8 bit, const char *name)
{
	memset(e, 0, 48);
	e[0] = type;
	e[1] = bit;
	memcpy(e + 2, name, strlen(name) < 46 ? strlen(name) : 46);
}

static void vdisk_qcow2_incompat_unknown(struct kunit *test)
{
	u8 table[5 * 48];
	char long_name[47];
	struct res *r = vd_q2_res_new(test);
	struct qimg q;

	qinit(test, &q, 3, 16, 1 * GiB);
	put64(q.buf + O_INCOMPAT, 1ULL << 7);
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), -EOPNOTSUPP);
	KUNIT_EXPECT_STREQ(test, r->msg,
			   "qcow2 header: incompatible feature bit 7 (unknown) not supported");
	put64(q.buf + O_INCOMPAT, 1ULL << 63 | 1);
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), -EOPNOTSUPP);
	VD_EXPECT_CONTAINS(test, r->msg, "bit 63");

	/* named by the table: compat/autoclear entries of bit 7 are not it */
	put64(q.buf + O_INCOMPAT, 1ULL << 7 | 1ULL << 9);
	feat(table, 1, 7, "compat seven");
	feat(table + 48, 2, 7, "autoclear seven");
	feat(table + 96, 0, 0, "dirty bit");
	feat(table + 144, 0, 7, "foo");
	feat(table + 192, 0, 9, "bar");
	qext(&q, EXT_FEATURES, table, sizeof(table));
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), -EOPNOTSUPP);
	KUNIT_EXPECT_STREQ(test, r->msg,
			   "qcow2 header: unknown incompatible feature 'foo' (bit 7)");
	qfree(&q);

	/* a full-length name (not NUL-terminated) and unprintable bytes */
	qinit(test, &q, 3, 16, 1 * GiB);
	put64(q.buf + O_INCOMPAT, 1ULL << 40);
	memset(long_name, 'L', 46);
	long_name[46] = '\0';
	long_name[3] = '\n';
	feat(table, 0, 40, long_name);
	qext(&q, EXT_FEATURES, table, 48);
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), -EOPNOTSUPP);
	long_name[3] = '?';
	KUNIT_EXPECT_EQ(test, strlen(long_name), 46);
	VD_EXPECT_CONTAINS(test, r->msg, long_name);
	VD_EXPECT_CONTAINS(test, r->msg, "' (bit 40)");
	qfree(&q);

	/* the table is best effort: a broken area still gives the bit */
	qinit(test, &q, 3, 16, 1 * GiB);
	put64(q.buf + O_INCOMPAT, 1ULL << 5);
	put32(q.buf + 104, EXT_FEATURES);
	put32(q.buf + 108, 0xffffff00);
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), -EOPNOTSUPP);
	VD_EXPECT_CONTAINS(test, r->msg, "bit 5 (unknown)");
	qfree(&q);
}

static void vdisk_qcow2_flags_decoded(struct kunit *test)
{
	struct res *r = vd_q2_res_new(test);
	struct qimg q;

	qinit(test, &q, 3, 16, 1 * GiB);
	put64(q.buf + O_INCOMPAT, 3);
	put64(q.buf + O_COMPAT, ~0ULL);		/* unknown compatible bits: fine */
	put64(q.buf + O_AUTOCLEAR, ~0ULL);	/* and autoclear ones */
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), 0);
	KUNIT_EXPECT_TRUE(test, r->h.dirty);
	KUNIT_EXPECT_TRUE(test, r->h.corrupt);
	KUNIT_EXPECT_EQ(test, r->h.compatible_features, ~0ULL);
	KUNIT_EXPECT_EQ(test, r->h.autoclear_features, ~0ULL);
	put64(q.buf + O_INCOMPAT, 2);
	KUNIT_EXPECT_EQ(test, qparse(test, &q, r), 0);
	KUNIT_EXPECT_TRUE(test, !r->h.dirty && r->h.corrupt);
	qfree(&q);
}

/* ------------------------------------------------------------------ */
/* refusals of single fields, table driven                            */

struct poke {
	u16 off;
	u8 width;	/* 1, 4, 8; 0 ends the list */
	u64 val;
};

struct hcase {
	const char *name;
	u32 version, cb;
	u64 size;
	struct poke pokes[3];
	s64 file_size;	/* 0: qinit's; > 0: that; < 0: qinit's minus that */
	size_t len;	/* 0: the whole cluster */
	int ret;
	const char *word;
};

static const struct hcase hcases[] = {
	{ "bad_magic", 3, 16, GiB, { { 0, 4, 0x514649fa } }, 0, 0, -EINVAL,
	  "bad magic 0x514649fa" },
	{ "version_1", 3, 16, GiB, { { O_VERSION, 4, 1 } }, 0, 0, -EOPNOTSUPP, "version 1" },
	{ "version_4", 3, 16, GiB, { { O_VERSION, 4, 4 } }, 0, 0, -EOPNOTSUPP, "version 4" },
	{ "version_0", 3, 16, GiB, { { O_VERSION, 4, 0 } }, 0, 0, -EOPNOTSUPP, "version 0" },
	{ "cluster_bits_8", 3, 16, GiB, { { O_CLUSTER_BITS, 4, 8 } }, 0, 0, -EINVAL,
	  "cluster_bits 8" },
	{ "cluster_bits_22", 3, 16, GiB, { { O_CLUSTER_BITS, 4, 22 } }, 0, 0, -EINVAL,
	  "cluster_bits 22" },
	{ "cluster_bits_huge", 3, 16, GiB, { { O_CLUSTER_BITS, 4, 0xffffffff } }, 0, 0,
	  -EINVAL, "cluster_bits 4294967295" },
	{ "crypt_aes", 3, 16, GiB, { { O_CRYPT, 4, 1 } }, 0, 0, -EOPNOTSUPP,
	  "crypt_method 1 (AES)" },
	{ "crypt_luks", 3, 16, GiB, { { O_CRYPT, 4, 2 } }, 0, 0, -EOPNOTSUPP,
	  "crypt_method 2 (LUKS)" },
	{ "crypt_unknown", 2, 16, GiB, { { O_CRYPT, 4, 3 } }, 0, 0, -EINVAL,
	  "crypt_method 3" },
	{ "l1_too_small", 3, 16, 10 * GiB, { { O_L1_SIZE, 4, 19 } }, 0, 0, -EINVAL,
	  "l1_size 19 too small for size 10737418240 (needs 20 entries)" },
	{ "l1_zero", 2, 9, 512, { { O_L1_SIZE, 4, 0 } }, 0, 0, -EINVAL, "l1_size 0" },
	{ "l1_too_large", 3, 16, GiB, { { O_L1_SIZE, 4, 0xffffffff } }, 0, 0, -EFBIG,
	  "l1_size 4294967295 exceeds 4194304 entries" },
	{ "l1_max_plus_1", 3, 16, GiB, { { O_L1_SIZE, 4, 4194305 } }, 1ULL << 40, 0, -EFBIG,
	  "l1_size 4194305" },
	{ "size_needs_too_much_l1", 3, 9, 0, { { O_SIZE, 8, 1ULL << 40 },
	  { O_L1_SIZE, 4, 4194304 } }, 1ULL << 30, 0, -EFBIG, "size 1099511627776 needs" },
	{ "l1_unaligned", 3, 16, GiB, { { O_L1_OFF, 8, 3 * 65536 + 512 } }, 0, 0, -EINVAL,
	  "l1_table_offset 0x30200 not aligned" },
	{ "l1_offset_0", 3, 16, GiB, { { O_L1_OFF, 8, 0 } }, 0, 0, -EINVAL,
	  "l1_table_offset 0" },
	{ "l1_past_eof", 3, 16, GiB, { { O_L1_OFF, 8, 4 * 65536 } }, 0, 0, -EINVAL,
	  "l1_table_offset 0x40000" },
	{ "l1_offset_wraps", 3, 16, GiB, { { O_L1_OFF, 8, 0xffffffffffff0000ULL } },
	  0, 0, -EINVAL, "L1 table" },
	{ "l1_in_short_file", 3, 16, GiB, { { 0 } }, 3 * 65536 + 15, 0, -EINVAL,
	  "l1_size 2) past the end of the file (196623 bytes)" },
	{ "refcount_clusters_0", 3, 16, GiB, { { O_RT_CLUSTERS, 4, 0 } }, 0, 0, -EINVAL,
	  "refcount_table_clusters is 0" },
	{ "refcount_too_big", 3, 16, GiB, { { O_RT_CLUSTERS, 4, 129 } }, 1ULL << 40, 0, -EFBIG,
	  "refcount_table_clusters 129 exceeds 128" },
	{ "refcount_unaligned", 3, 16, GiB, { { O_RT_OFF, 8, 65536 + 8 } }, 0, 0, -EINVAL,
	  "refcount_table_offset 0x10008 not aligned" },
	{ "refcount_offset_0", 3, 16, GiB, { { O_RT_OFF, 8, 0 } }, 0, 0, -EINVAL,
	  "refcount_table_offset 0" },
	{ "refcount_past_eof", 3, 16, GiB, { { O_RT_OFF, 8, 1ULL << 40 } }, 0, 0, -EINVAL,
	  "refcount_table_offset 0x10000000000" },
	{ "refcount_wraps", 3, 16, GiB, { { O_RT_OFF, 8, 0xffffffffffff0000ULL },
	  { O_RT_CLUSTERS, 4, 2 } }, 0, 0, -EINVAL, "refcount table" },
	{ "snapshots_too_many", 3, 16, GiB, { { O_NB_SNAP, 4, 65537 },
	  { O_SNAP_OFF, 8, 65536 * 4 } }, 1ULL << 40, 0, -EFBIG, "nb_snapshots 65537" },
	{ "snapshots_unaligned", 3, 16, GiB, { { O_NB_SNAP, 4, 1 },
	  { O_SNAP_OFF, 8, 65536 * 4 + 8 } }, 1ULL << 30, 0, -EINVAL,
	  "snapshots_offset 0x40008 not aligned" },
	{ "snapshots_unaligned_none", 3, 16, GiB, { { O_SNAP_OFF, 8, 4096 } }, 0, 0, -EINVAL,
	  "snapshots_offset 0x1000" },
	{ "snapshots_offset_0", 3, 16, GiB, { { O_NB_SNAP, 4, 1 } }, 0, 0, -EINVAL,
	  "snapshots_offset 0" },
	{ "snapshots_past_eof", 3, 16, GiB, { { O_NB_SNAP, 4, 2 },
	  { O_SNAP_OFF, 8, 65536 * 4 } }, 65536 * 4 + 79, 0, -EINVAL,
	  "nb_snapshots 2) past the end of the file" },
	{ "header_length_100", 3, 16, GiB, { { O_HDR_LEN, 4, 100 } }, 0, 0, -EINVAL,
	  "header_length 100" },
	{ "header_length_108", 3, 16, GiB, { { O_HDR_LEN, 4, 108 } }, 0, 0, -EINVAL,
	  "header_length 108" },
	{ "header_length_past_cluster", 3, 12, GiB, { { O_HDR_LEN, 4, 4104 } }, 0, 0, -EINVAL,
	  "header_length 4104" },
	{ "header_length_past_buffer", 3, 16, GiB, { { O_HDR_LEN, 4, 1024 } }, 0, 512, -EINVAL,
	  "header_length 1024, 512 bytes read" },
	{ "refcount_order_7", 3, 16, GiB, { { O_RC_ORDER, 4, 7 } }, 0, 0, -EINVAL,
	  "refcount_order 7" },
	{ "incompat_bit_7", 3, 16, GiB, { { O_INCOMPAT, 8, 1ULL << 7 } }, 0, 0, -EOPNOTSUPP,
	  "incompatible feature bit 7 (unknown) not supported" },
	{ "incompat_bit_5_with_known", 3, 16, GiB, { { O_INCOMPAT, 8, 0x3f } }, 0, 0,
	  -EOPNOTSUPP, "bit 5" },
	{ "truncated_71", 2, 16, GiB, { { 0 } }, 0, 71, -EINVAL, "truncated: 71 bytes" },
	{ "truncated_v3_103", 3, 16, GiB, { { 0 } }, 0, 103, -EINVAL,
	  "version 3 needs 104" },
	{ "truncated_by_file_size", 3, 16, GiB, { { 0 } }, 50, 0, -EINVAL,
	  "truncated: 50 bytes" },
	{ "empty", 3, 16, GiB, { { 0 } }, 0, 0 + 1, -EINVAL, "truncated: 1 bytes" },
};

static void vdisk_qcow2_header_refusals(struct kunit *test)
{
	size_t i, j;

	for (i = 0; i < ARRAY_SIZE(hcases); i++) {
		const struct hcase *c = &hcases[i];
		struct res *r = vd_q2_res_new(test);
		struct qimg q;

		qinit(test, &q, c->version, c->cb, c->size);
		for (j = 0; j < ARRAY_SIZE(c->pokes) && c->pokes[j].width; j++) {
			u8 *p = q.buf + c->pokes[j].off;

			if (c->pokes[j].width == 1)
				*p = (u8)c->pokes[j].val;
			else if (c->pokes[j].width == 4)
				put32(p, (u32)c->pokes[j].val);
			else
				put64(p, c->pokes[j].val);
		}
		if (c->file_size > 0)
			q.file_size = c->file_size;
		else if (c->file_size < 0)
			q.file_size -= -c->file_size;
		qparse_len(test, &q, c->len ? c->len : q.len, r);
		KUNIT_EXPECT_TRUE_MSG(test, r->ret == c->ret, "%s: ret %d, want %d (%s)", c->name,
				      r->ret,
				      c->ret, r->msg);
		KUNIT_EXPECT_TRUE_MSG(test, strstr(r->msg, c->word),
				      "%s: message \"%s\" lacks \"%s\"",
				      c->name, r->msg, c->word);
		qfree(&q);
	}
}

/* ------------------------------------------------------------------ */
/* L1 and L2 entries                                                  */

/* A test-managed header with the fields the entry decoders look at. */
static struct vd_qcow2_header *hdr(struct kunit *test, u32 version, u32 cb, bool extl2)
{
	struct vd_qcow2_header *h = kunit_kmalloc(test, sizeof(*h), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, h);
	vd_q2_fake_header(h, version, cb, extl2, false);
	return h;
}

static int l1(const struct vd_qcow2_header *h, u64 e, u64 fsize, u64 *off, char *m)
{
	struct vd_msg msg = { .buf = m, .len = 256 };

	m[0] = '\0';
	return vd_qcow2_l1_entry(h, e, off, fsize, &msg);
}

static void vdisk_qcow2_l1_entries(struct kunit *test)
{
	struct vd_qcow2_header *h = hdr(test, 3, 16, false);
	char m[256];
	u64 off = 1;

	KUNIT_EXPECT_EQ(test, l1(h, 0, GiB, &off, m), 0);
	KUNIT_EXPECT_EQ(test, off, 0);
	KUNIT_EXPECT_EQ(test, l1(h, 0x50000, GiB, &off, m), 0);
	KUNIT_EXPECT_EQ(test, off, 0x50000);
	KUNIT_EXPECT_EQ(test, l1(h, 0x50000 | VD_QCOW2_OFLAG_COPIED, GiB, &off, m), 0);
	KUNIT_EXPECT_EQ(test, off, 0x50000);
	/* COPIED on an unallocated table is harmless */
	KUNIT_EXPECT_EQ(test, l1(h, VD_QCOW2_OFLAG_COPIED, GiB, &off, m), 0);
	KUNIT_EXPECT_EQ(test, off, 0);
	/* the highest offset bits 9..55 can express */
	KUNIT_EXPECT_EQ(test, l1(h, 0x00ffffffffff0000ULL, ~0ULL, &off, m), 0);
	KUNIT_EXPECT_EQ(test, off, 0x00ffffffffff0000ULL);

	KUNIT_EXPECT_EQ(test, l1(h, 0x50001, GiB, &off, m), -EIO);
	VD_EXPECT_CONTAINS(test, m, "qcow2 L1 entry 0x0000000000050001: reserved bits 0x1 set");
	KUNIT_EXPECT_EQ(test, off, 0);
	KUNIT_EXPECT_EQ(test, l1(h, 0x50000 | 1ULL << 56, GiB, &off, m), -EIO);
	VD_EXPECT_CONTAINS(test, m, "reserved bits 0x100000000000000");
	KUNIT_EXPECT_EQ(test, l1(h, 0x50000 | VD_QCOW2_OFLAG_COMPRESSED, GiB, &off, m), -EIO);
	VD_EXPECT_CONTAINS(test, m, "reserved bits 0x4000000000000000");
	KUNIT_EXPECT_EQ(test, l1(h, 0x50100, GiB, &off, m), -EIO);
	VD_EXPECT_CONTAINS(test, m, "reserved");
	KUNIT_EXPECT_EQ(test, l1(h, 0x50200, GiB, &off, m), -EIO);
	VD_EXPECT_CONTAINS(test, m, "L2 table offset 0x50200 not cluster aligned");
	/* the L2 table must be inside the file, up to its last byte */
	KUNIT_EXPECT_EQ(test, l1(h, 0x50000, 0x60000, &off, m), 0);
	KUNIT_EXPECT_EQ(test, l1(h, 0x50000, 0x5ffff, &off, m), -EIO);
	VD_EXPECT_CONTAINS(test, m, "L2 table at 0x50000 past the end of the file (393215 bytes)");

	h = hdr(test, 2, 9, false);
	KUNIT_EXPECT_EQ(test, l1(h, 0x200, 0x400, &off, m), 0);
	KUNIT_EXPECT_EQ(test, off, 0x200);
}

static int l2(const struct vd_qcow2_header *h, u64 e, u64 bm, struct vd_qcow2_cluster *c,
	      char *m)
{
	struct vd_msg msg = { .buf = m, .len = 256 };

	m[0] = '\0';
	c->kind = 99;
	return vd_qcow2_l2_entry(h, e, bm, c, &msg);
}

static void vdisk_qcow2_l2_standard(struct kunit *test)
{
	struct vd_qcow2_header *h = hdr(test, 3, 16, false);
	struct vd_qcow2_cluster c;
	char m[256];

	KUNIT_EXPECT_EQ(test, l2(h, 0, 0, &c, m), 0);
	KUNIT_EXPECT_EQ(test, c.kind, VD_QCOW2_UNALLOCATED);
	KUNIT_EXPECT_EQ(test, c.host_off, 0);

	KUNIT_EXPECT_EQ(test, l2(h, 0x70000 | VD_QCOW2_OFLAG_COPIED, 0, &c, m), 0);
	KUNIT_EXPECT_EQ(test, c.kind, VD_QCOW2_NORMAL);
	KUNIT_EXPECT_EQ(test, c.host_off, 0x70000);
	KUNIT_EXPECT_EQ(test, l2(h, 0x70000, 0, &c, m), 0);
	KUNIT_EXPECT_EQ(test, c.kind, VD_QCOW2_NORMAL);

	/* zero: plain, and preallocated (the offset is kept, not read) */
	KUNIT_EXPECT_EQ(test, l2(h, 1, 0, &c, m), 0);
	KUNIT_EXPECT_EQ(test, c.kind, VD_QCOW2_ZERO);
	KUNIT_EXPECT_EQ(test, c.host_off, 0);
	KUNIT_EXPECT_EQ(test, l2(h, 0x70001 | VD_QCOW2_OFLAG_COPIED, 0, &c, m), 0);
	KUNIT_EXPECT_EQ(test, c.kind, VD_QCOW2_ZERO);
	KUNIT_EXPECT_EQ(test, c.host_off, 0x70000);

	/* offset 0 with COPIED: unallocated unless there is a data file */
	KUNIT_EXPECT_EQ(test, l2(h, VD_QCOW2_OFLAG_COPIED, 0, &c, m), 0);
	KUNIT_EXPECT_EQ(test, c.kind, VD_QCOW2_UNALLOCATED);
	h->has_data_file = true;
	KUNIT_EXPECT_EQ(test, l2(h, VD_QCOW2_OFLAG_COPIED, 0, &c, m), 0);
	KUNIT_EXPECT_EQ(test, c.kind, VD_QCOW2_NORMAL);
	KUNIT_EXPECT_EQ(test, c.host_off, 0);
	KUNIT_EXPECT_EQ(test, l2(h, 0, 0, &c, m), 0);
	KUNIT_EXPECT_EQ(test, c.kind, VD_QCOW2_UNALLOCATED);
	h->has_data_file = false;

	/* reserved bits 1..8 and 56..61 */
	KUNIT_EXPECT_EQ(test, l2(h, 0x70002, 0, &c, m), -EIO);
	VD_EXPECT_CONTAINS(test, m, "qcow2 L2 entry 0x0000000000070002: reserved bits 0x2 set");
	KUNIT_EXPECT_EQ(test, l2(h, 0x70100, 0, &c, m), -EIO);
	VD_EXPECT_CONTAINS(test, m, "reserved bits 0x100 set");
	KUNIT_EXPECT_EQ(test, l2(h, 0x70000 | 1ULL << 56, 0, &c, m), -EIO);
	VD_EXPECT_CONTAINS(test, m, "reserved bits 0x100000000000000");
	KUNIT_EXPECT_EQ(test, l2(h, 0x70000 | 1ULL << 61, 0, &c, m), -EIO);
	VD_EXPECT_CONTAINS(test, m, "reserved bits 0x2000000000000000");
	KUNIT_EXPECT_EQ(test, l2(h, 1ULL << 61, 0, &c, m), -EIO);

	/* alignment: bits 9..15 must be 0 with 64 KiB clusters */
	KUNIT_EXPECT_EQ(test, l2(h, 0x70200, 0, &c, m), -EIO);
	VD_EXPECT_CONTAINS(test, m, "data offset 0x70200 not cluster aligned");
	KUNIT_EXPECT_EQ(test, l2(h, 0x78001, 0, &c, m), -EIO);
	VD_EXPECT_CONTAINS(test, m, "not cluster aligned");

	/* the largest offset */
	KUNIT_EXPECT_EQ(test, l2(h, 0x00ffffffffff0000ULL, 0, &c, m), 0);
	KUNIT_EXPECT_EQ(test, c.host_off, 0x00ffffffffff0000ULL);

	/* v2: bit 0 is reserved */
	h = hdr(test, 2, 16, false);
	KUNIT_EXPECT_EQ(test, l2(h, 0x70000, 0, &c, m), 0);
	KUNIT_EXPECT_EQ(test, c.kind, VD_QCOW2_NORMAL);
	KUNIT_EXPECT_EQ(test, l2(h, 0x70001, 0, &c, m), -EIO);
	VD_EXPECT_CONTAINS(test, m, "reserved bits 0x1 set");
	KUNIT_EXPECT_EQ(test, l2(h, 1, 0, &c, m), -EIO);

	/* 512-byte clusters: every sector offset is aligned */
	h = hdr(test, 3, 9, false);
	KUNIT_EXPECT_EQ(test, l2(h, 0x1200, 0, &c, m), 0);
	KUNIT_EXPECT_EQ(test, c.host_off, 0x1200);
}

struct ccase {
	u32 cb;
	u64 off;	/* host offset */
	u64 extra;	/* additional sectors field */
	u64 comp_len;
};

static const struct ccase ccases[] = {
	/* 64 KiB: x = 54, 8 bits of sectors */
	{ 16, 0x123456, 3, 4 * 512 - 0x56 },
	{ 16, 0x200000, 0, 512 },
	{ 16, 0x2001ff, 0, 1 },
	{ 16, 0x2001ff, 255, 256 * 512 - 511 },
	{ 16, 0x00ffffffffffffffULL & ((1ULL << 54) - 1), 7, 8 * 512 - 511 },
	/* 512 B: x = 61, 1 bit */
	{ 9, 0x1234, 0, 512 - 0x34 },
	{ 9, 0x1234, 1, 1024 - 0x34 },
	{ 9, 0x00ffffffffffffffULL, 1, 1024 - 511 },
	/* 4 KiB: x = 58, 4 bits */
	{ 12, 0xabc00, 15, 16 * 512 },
	{ 12, 0xabcde, 2, 3 * 512 - 0xde },
	/* 2 MiB: x = 49, 13 bits */
	{ 21, (1ULL << 49) - 1, 8191, 8192 * 512 - 511 },
	{ 21, 0x40000010, 4095, 4096 * 512 - 16 },
	/* 16 KiB with extended L2 handled below */
};

static void vdisk_qcow2_l2_compressed(struct kunit *test)
{
	struct vd_qcow2_cluster c;
	char m[256];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ccases); i++) {
		const struct ccase *t = &ccases[i];
		struct vd_qcow2_header *h = hdr(test, i & 1 ? 2 : 3, t->cb, false);
		u32 x = 62 - (t->cb - 8);
		u64 e = VD_QCOW2_OFLAG_COMPRESSED | t->extra << x | t->off;

		KUNIT_EXPECT_TRUE_MSG(test, l2(h, e, 0, &c, m) == 0, "case %zu: %s", i, m);
		KUNIT_EXPECT_TRUE_MSG(test, c.kind == VD_QCOW2_COMPRESSED, "case %zu", i);
		KUNIT_EXPECT_TRUE_MSG(test, c.host_off == t->off, "case %zu: 0x%llx", i,
				      (unsigned long long)c.host_off);
		KUNIT_EXPECT_TRUE_MSG(test, c.comp_len == t->comp_len,
				      "case %zu: comp_len %llu, want %llu", i,
				      (unsigned long long)c.comp_len,
				      (unsigned long long)t->comp_len);
	}
}

static void vdisk_qcow2_l2_compressed_refusals(struct kunit *test)
{
	struct vd_qcow2_header *h = hdr(test, 3, 16, false);
	struct vd_qcow2_cluster c;
	char m[256];

	KUNIT_EXPECT_EQ(test, l2(h, VD_QCOW2_OFLAG_COMPRESSED | VD_QCOW2_OFLAG_COPIED | 0x1000, 0,
				 &c,
				 m), -EIO);
	VD_EXPECT_CONTAINS(test, m, "compressed cluster with the COPIED bit");
	/* 512-byte clusters: offset bits 56..60 exist but must be 0 */
	h = hdr(test, 3, 9, false);
	KUNIT_EXPECT_EQ(test, l2(h, VD_QCOW2_OFLAG_COMPRESSED | 1ULL << 56, 0, &c, m), -EIO);
	VD_EXPECT_CONTAINS(test, m, "compressed data offset 0x100000000000000");
	KUNIT_EXPECT_EQ(test, l2(h, VD_QCOW2_OFLAG_COMPRESSED | 1ULL << 60, 0, &c, m), -EIO);
	/* external data files have no compressed clusters */
	h = hdr(test, 3, 16, false);
	h->has_data_file = true;
	KUNIT_EXPECT_EQ(test, l2(h, VD_QCOW2_OFLAG_COMPRESSED | 0x1000, 0, &c, m), -EIO);
	VD_EXPECT_CONTAINS(test, m, "external data file");
}

static void vdisk_qcow2_l2_extended(struct kunit *test)
{
	struct vd_qcow2_header *h = hdr(test, 3, 16, true);
	struct vd_qcow2_cluster c;
	char m[256];
	u64 e;

	KUNIT_EXPECT_EQ(test, l2(h, 0x70000 | VD_QCOW2_OFLAG_COPIED, 0xffffffffULL, &c, m), 0);
	KUNIT_EXPECT_EQ(test, c.kind, VD_QCOW2_NORMAL);
	KUNIT_EXPECT_EQ(test, c.host_off, 0x70000);
	KUNIT_EXPECT_EQ(test, c.sub_alloc, 0xffffffff);
	KUNIT_EXPECT_EQ(test, c.sub_zero, 0);

	KUNIT_EXPECT_EQ(test, l2(h, 0x70000, 0x0000ff00000000ffULL, &c, m), 0);
	KUNIT_EXPECT_EQ(test, c.kind, VD_QCOW2_NORMAL);
	KUNIT_EXPECT_EQ(test, c.sub_alloc, 0xff);
	KUNIT_EXPECT_EQ(test, c.sub_zero, 0xff00);

	/* a host cluster with nothing allocated yet */
	KUNIT_EXPECT_EQ(test, l2(h, 0x70000, 0, &c, m), 0);
	KUNIT_EXPECT_EQ(test, c.kind, VD_QCOW2_NORMAL);
	KUNIT_EXPECT_EQ(test, c.sub_alloc, 0);

	/* zero subclusters without a host cluster */
	KUNIT_EXPECT_EQ(test, l2(h, 0, 0xffffffff00000000ULL, &c, m), 0);
	KUNIT_EXPECT_EQ(test, c.kind, VD_QCOW2_UNALLOCATED);
	KUNIT_EXPECT_EQ(test, c.sub_zero, 0xffffffff);
	KUNIT_EXPECT_EQ(test, l2(h, 0, 0, &c, m), 0);
	KUNIT_EXPECT_EQ(test, c.kind, VD_QCOW2_UNALLOCATED);

	/* refusals */
	KUNIT_EXPECT_EQ(test, l2(h, 0x70000, 0x0000000100000001ULL, &c, m), -EIO);
	VD_EXPECT_CONTAINS(test, m, "both allocated and zero (0x00000001)");
	KUNIT_EXPECT_EQ(test, l2(h, 0x70000, 0xffffffffffffffffULL, &c, m), -EIO);
	VD_EXPECT_CONTAINS(test, m, "both allocated and zero (0xffffffff)");
	KUNIT_EXPECT_EQ(test, l2(h, 0, 0x80000000ULL, &c, m), -EIO);
	VD_EXPECT_CONTAINS(test, m, "allocates subclusters of an unallocated cluster");
	KUNIT_EXPECT_EQ(test, l2(h, 0x70001, 0x1, &c, m), -EIO);
	VD_EXPECT_CONTAINS(test, m, "reserved bits 0x1 set");
	KUNIT_EXPECT_EQ(test, l2(h, 1, 0, &c, m), -EIO);
	KUNIT_EXPECT_EQ(test, l2(h, 0x70000 | 1ULL << 58, 0, &c, m), -EIO);

	/* compressed: no subclusters, the bitmap must be 0 */
	e = VD_QCOW2_OFLAG_COMPRESSED | 2ULL << 54 | 0x12345;
	KUNIT_EXPECT_EQ(test, l2(h, e, 0, &c, m), 0);
	KUNIT_EXPECT_EQ(test, c.kind, VD_QCOW2_COMPRESSED);
	KUNIT_EXPECT_EQ(test, c.host_off, 0x12345);
	KUNIT_EXPECT_EQ(test, c.comp_len, 3 * 512 - 0x145);
	KUNIT_EXPECT_EQ(test, c.sub_alloc, 0);
	KUNIT_EXPECT_EQ(test, l2(h, e, 1ULL << 40, &c, m), -EIO);
	VD_EXPECT_CONTAINS(test, m, "compressed cluster with subcluster bitmap 0x0000010000000000");

	/* the data file case: offset 0 + COPIED is allocated */
	h->has_data_file = true;
	KUNIT_EXPECT_EQ(test, l2(h, VD_QCOW2_OFLAG_COPIED, 0x3, &c, m), 0);
	KUNIT_EXPECT_EQ(test, c.kind, VD_QCOW2_NORMAL);
	KUNIT_EXPECT_EQ(test, c.sub_alloc, 3);
}

/* ------------------------------------------------------------------ */
/* snapshot records                                                   */

struct snap {
	u64 l1_off;
	u32 l1_size;
	const char *id, *name;
	u32 extra;		/* extra_data_size */
	u32 vm_state32;
	u64 vm_state64, disk_size;
};

/* Write a record at @p; returns its unpadded length. */
static size_t put_snap(u8 *p, const struct snap *s)
{
	size_t id = strlen(s->id), name = strlen(s->name);

	memset(p, 0, 40 + s->extra);
	put64(p, s->l1_off);
	put32(p + 8, s->l1_size);
	put16(p + 12, id);
	put16(p + 14, name);
	put32(p + 16, 1700000000);
	put32(p + 20, 123);
	put64(p + 24, 999);
	put32(p + 32, s->vm_state32);
	put32(p + 36, s->extra);
	if (s->extra >= 8)
		put64(p + 40, s->vm_state64);
	if (s->extra >= 16)
		put64(p + 48, s->disk_size);
	memcpy(p + 40 + s->extra, s->id, id);
	memcpy(p + 40 + s->extra + id, s->name, name);
	return 40 + s->extra + id + name;
}

struct sres {
	int ret;
	size_t rec_len;
	char msg[256];
	struct vd_qcow2_snapshot s;
};

static int sparse(struct kunit *test, const struct vd_qcow2_header *h, const u8 *buf, size_t len,
		  u64 fsize,
		  struct sres *r)
{
	struct vd_msg msg = { .buf = r->msg, .len = sizeof(r->msg) };
	u8 *copy = kmalloc(len ? len : 1, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, copy);
	memcpy(copy, buf, len);
	r->msg[0] = '\0';
	r->ret = vd_qcow2_parse_snapshot(h, copy, len, fsize, &r->s, &r->rec_len, &msg);
	kfree(copy);
	if (r->ret && strncmp(r->msg, "qcow2 snapshot", 14))
		KUNIT_FAIL(test, "message \"%s\" lacks the prefix", r->msg);
	return r->ret;
}

static void vdisk_qcow2_snapshot_records(struct kunit *test)
{
	struct vd_qcow2_header *h = hdr(test, 3, 16, false);
	static u8 buf[8192];
	struct snap s1 = { 0x50000, 16, "1", "first", 16, 7, 5ULL << 32, 2 * GiB };
	struct snap s2 = { 0x60000, 16, "2", "no-extra", 0, 4096, 0, 0 };
	struct snap s3 = { 0x70000, 16, "33", "vmstate-only", 8, 1, 1ULL << 33, 0 };
	struct snap s4 = { 0x80000, 0, "", "", 24, 0, 0, 4 * GiB };
	size_t n1, n2, n3, n4, off = 0;
	struct sres *r = vd_q2_buf(test, sizeof(*r));

	n1 = put_snap(buf, &s1);
	KUNIT_EXPECT_EQ(test, n1, 40 + 16 + 1 + 5);
	off = (n1 + 7) & ~7UL;
	n2 = put_snap(buf + off, &s2);
	off += (n2 + 7) & ~7UL;
	n3 = put_snap(buf + off, &s3);
	off += (n3 + 7) & ~7UL;
	n4 = put_snap(buf + off, &s4);
	off += n4;		/* no padding after the last one */

	KUNIT_ASSERT_TRUE(test, sparse(test, h, buf, off, GiB, r) == 0);
	KUNIT_EXPECT_EQ(test, r->rec_len, 64);
	KUNIT_EXPECT_EQ(test, r->s.l1_offset, 0x50000);
	KUNIT_EXPECT_EQ(test, r->s.l1_size, 16);
	KUNIT_EXPECT_EQ(test, r->s.date_sec, 1700000000);
	KUNIT_EXPECT_EQ(test, r->s.vm_state_size, 5ULL << 32);	/* the 64-bit field wins */
	KUNIT_EXPECT_EQ(test, r->s.disk_size, 2 * GiB);
	KUNIT_EXPECT_STREQ(test, r->s.id, "1");
	KUNIT_EXPECT_STREQ(test, r->s.name, "first");

	off = r->rec_len;
	KUNIT_ASSERT_TRUE(test, sparse(test, h, buf + off, sizeof(buf) - off, GiB, r) == 0);
	KUNIT_EXPECT_EQ(test, r->rec_len, 56);			/* 40 + 1 + 8 = 49 -> 56 */
	KUNIT_EXPECT_EQ(test, r->s.vm_state_size, 4096);
	KUNIT_EXPECT_EQ(test, r->s.disk_size, GiB);		/* the image's size */
	KUNIT_EXPECT_STREQ(test, r->s.name, "no-extra");

	off += r->rec_len;
	KUNIT_ASSERT_TRUE(test, sparse(test, h, buf + off, sizeof(buf) - off, GiB, r) == 0);
	KUNIT_EXPECT_EQ(test, r->rec_len, 64);			/* 40 + 8 + 2 + 12 = 62 */
	KUNIT_EXPECT_EQ(test, r->s.vm_state_size, 1ULL << 33);
	KUNIT_EXPECT_EQ(test, r->s.disk_size, GiB);

	off += r->rec_len;
	KUNIT_ASSERT_TRUE(test, sparse(test, h, buf + off, n4, GiB, r) == 0);
	KUNIT_EXPECT_EQ(test, r->rec_len,
			64);			/* exactly 64, unknown extra skipped */
	KUNIT_EXPECT_EQ(test, r->s.disk_size, 4 * GiB);
	KUNIT_EXPECT_STREQ(test, r->s.id, "");
	KUNIT_EXPECT_STREQ(test, r->s.name, "");
}

static void vdisk_qcow2_snapshot_padding_missing_at_end(struct kunit *test)
{
	struct vd_qcow2_header *h = hdr(test, 3, 16, false);
	struct snap s = { 0x50000, 1, "1", "abc", 16, 0, 0, GiB };
	u8 buf[128];
	size_t n = put_snap(buf, &s);
	struct sres *r = vd_q2_buf(test, sizeof(*r));

	KUNIT_EXPECT_EQ(test, n, 60);
	KUNIT_EXPECT_EQ(test, sparse(test, h, buf, n, GiB, r), 0);
	KUNIT_EXPECT_EQ(test, r->rec_len, 60);
	KUNIT_EXPECT_EQ(test, sparse(test, h, buf, n + 2, GiB, r), 0);
	KUNIT_EXPECT_EQ(test, r->rec_len, 62);
	KUNIT_EXPECT_EQ(test, sparse(test, h, buf, n + 4, GiB, r), 0);
	KUNIT_EXPECT_EQ(test, r->rec_len, 64);
	KUNIT_EXPECT_EQ(test, sparse(test, h, buf, sizeof(buf), GiB, r), 0);
	KUNIT_EXPECT_EQ(test, r->rec_len, 64);
}

static void vdisk_qcow2_snapshot_longest_strings(struct kunit *test)
{
	struct vd_qcow2_header *h = hdr(test, 3, 16, false);
	static char id[128], name[1024];
	static u8 buf[2048];
	struct snap s = { 0x50000, 1, id, name, 0, 0, 0, 0 };
	struct sres *r = vd_q2_buf(test, sizeof(*r));
	size_t n;

	memset(id, 'i', 127);
	memset(name, 'n', 1023);
	n = put_snap(buf, &s);
	KUNIT_EXPECT_EQ(test, sparse(test, h, buf, n, GiB, r), 0);
	KUNIT_EXPECT_EQ(test, strlen(r->s.id), 127);
	KUNIT_EXPECT_EQ(test, strlen(r->s.name), 1023);

	put16(buf + 12, 128);
	KUNIT_EXPECT_EQ(test, sparse(test, h, buf, sizeof(buf), GiB, r), -EINVAL);
	VD_EXPECT_CONTAINS(test, r->msg, "id_str_size 128 exceeds 127");

	/* name_size 1024 in the header */
	put_snap(buf, &s);
	put16(buf + 14, 1024);
	KUNIT_EXPECT_EQ(test, sparse(test, h, buf, sizeof(buf), GiB, r), -EINVAL);
	VD_EXPECT_CONTAINS(test, r->msg, "name_size 1024 exceeds 1023");
	put16(buf + 14, 0xffff);
	KUNIT_EXPECT_EQ(test, sparse(test, h, buf, sizeof(buf), GiB, r), -EINVAL);
	VD_EXPECT_CONTAINS(test, r->msg, "name_size 65535");
}

static void vdisk_qcow2_snapshot_refusals(struct kunit *test)
{
	struct vd_qcow2_header *h = hdr(test, 3, 16, false);
	struct snap s = { 0x50000, 16, "1", "snap", 16, 0, 0, GiB };
	u8 *buf = vd_q2_buf(test, 2048);
	struct sres *r = vd_q2_buf(test, sizeof(*r));
	size_t n;

	n = put_snap(buf, &s);
	KUNIT_EXPECT_EQ(test, sparse(test, h, buf, n - 1, GiB, r), -EINVAL);
	VD_EXPECT_CONTAINS(test, r->msg, "runs past the table (60 bytes left)");
	KUNIT_EXPECT_EQ(test, sparse(test, h, buf, 39, GiB, r), -EINVAL);
	VD_EXPECT_CONTAINS(test, r->msg, "truncated: 39 bytes");
	KUNIT_EXPECT_EQ(test, r->rec_len, 0);
	KUNIT_EXPECT_EQ(test, sparse(test, h, buf, 0, GiB, r), -EINVAL);

	/* extra_data_size bounded, and counted in the overrun check */
	put32(buf + 36, 1025);
	KUNIT_EXPECT_EQ(test, sparse(test, h, buf, 2048, GiB, r), -EINVAL);
	VD_EXPECT_CONTAINS(test, r->msg, "extra_data_size 1025 exceeds 1024");
	put32(buf + 36, 0xffffffff);
	KUNIT_EXPECT_EQ(test, sparse(test, h, buf, 2048, GiB, r), -EINVAL);
	VD_EXPECT_CONTAINS(test, r->msg, "extra_data_size 4294967295");
	put32(buf + 36, 1024);
	KUNIT_EXPECT_EQ(test, sparse(test, h, buf, 100, GiB, r), -EINVAL);
	VD_EXPECT_CONTAINS(test, r->msg, "extra_data_size 1024");

	/* the L1 table */
	s.l1_off = 0x50200;
	n = put_snap(buf, &s);
	KUNIT_EXPECT_EQ(test, sparse(test, h, buf, n, GiB, r), -EINVAL);
	VD_EXPECT_CONTAINS(test, r->msg,
			   "snapshot '1': l1_table_offset 0x50200 not cluster aligned");
	s.l1_off = 0x50000;
	n = put_snap(buf, &s);
	KUNIT_EXPECT_EQ(test, sparse(test, h, buf, n, 0x50000 + 16 * 8, r), 0);
	KUNIT_EXPECT_EQ(test, sparse(test, h, buf, n, 0x50000 + 16 * 8 - 1, r), -EINVAL);
	VD_EXPECT_CONTAINS(test, r->msg, "outside the file");
	s.l1_off = 0xffffffffffff0000ULL;
	n = put_snap(buf, &s);
	KUNIT_EXPECT_EQ(test, sparse(test, h, buf, n, ~0ULL, r),
			0);	/* ends at 2^64 - 0x10000 + 128 */
	s.l1_size = 8192;
	n = put_snap(buf, &s);
	KUNIT_EXPECT_EQ(test, sparse(test, h, buf, n, ~0ULL, r), -EINVAL);
	VD_EXPECT_CONTAINS(test, r->msg, "outside the file");
	s.l1_size = 16;
	s.l1_off = 0;
	n = put_snap(buf, &s);
	KUNIT_EXPECT_EQ(test, sparse(test, h, buf, n, GiB, r), -EINVAL);
	s.l1_size = 0;
	n = put_snap(buf, &s);
	KUNIT_EXPECT_EQ(test, sparse(test, h, buf, n, GiB, r), 0);
	s.l1_off = 0x50000;
	s.l1_size = 4194305;
	n = put_snap(buf, &s);
	KUNIT_EXPECT_EQ(test, sparse(test, h, buf, n, ~0ULL, r), -EINVAL);
	VD_EXPECT_CONTAINS(test, r->msg, "l1_size 4194305 exceeds 4194304");
}

/* Refcount entries of every width: packing, byte order, neighbours kept. */
static void vdisk_qcow2_refcount_widths(struct kunit *test)
{
	u8 block[64];
	u32 order;

	for (order = 0; order <= 6; order++) {
		u64 max = vd_qcow2_refcount_max(order), n = sizeof(block) * 8 >> order, i;

		memset(block, 0, sizeof(block));
		for (i = 0; i < n; i++)
			vd_qcow2_refcount_set(block, order, i, (i * 7 + 1) & max);
		for (i = 0; i < n; i++)
			KUNIT_EXPECT_EQ(test, vd_qcow2_refcount_get(block, order, i),
					(i * 7 + 1) & max);
		vd_qcow2_refcount_set(block, order, 1, max);
		KUNIT_EXPECT_EQ(test, vd_qcow2_refcount_get(block, order, 1), max);
		KUNIT_EXPECT_EQ(test, vd_qcow2_refcount_get(block, order, 0), 1);
		KUNIT_EXPECT_EQ(test, vd_qcow2_refcount_get(block, order, 2), 15 & max);
	}
	/* on-disk layout: 16-bit big-endian; 1-bit from the least significant bit */
	memset(block, 0, sizeof(block));
	vd_qcow2_refcount_set(block, 4, 1, 0x1234);
	KUNIT_EXPECT_EQ(test, block[2], 0x12);
	KUNIT_EXPECT_EQ(test, block[3], 0x34);
	memset(block, 0, sizeof(block));
	vd_qcow2_refcount_set(block, 0, 9, 1);
	KUNIT_EXPECT_EQ(test, block[1], 0x02);
	vd_qcow2_refcount_set(block, 1, 2, 3);
	KUNIT_EXPECT_EQ(test, block[0], 0x30);
	KUNIT_EXPECT_EQ(test, vd_qcow2_refcount_max(4), 65535);
	KUNIT_EXPECT_EQ(test, vd_qcow2_refcount_max(6), ~0ULL);
}

static void vdisk_qcow2_reftable_entries(struct kunit *test)
{
	struct vd_qcow2_header *h = kunit_kzalloc(test, sizeof(*h), GFP_KERNEL);
	char m[256];
	struct vd_msg msg = { .buf = m, .len = sizeof(m) };
	u64 off;

	KUNIT_ASSERT_NOT_NULL(test, h);
	h->cluster_size = 65536;
	h->cluster_bits = 16;
	m[0] = '\0';
	KUNIT_EXPECT_EQ(test, vd_qcow2_reftable_entry(h, 0, &off, GiB, &msg), 0);
	KUNIT_EXPECT_EQ(test, off, 0);
	m[0] = '\0';
	KUNIT_EXPECT_EQ(test, vd_qcow2_reftable_entry(h, 0x30000, &off, GiB, &msg), 0);
	KUNIT_EXPECT_EQ(test, off, 0x30000);
	m[0] = '\0';
	KUNIT_EXPECT_EQ(test, vd_qcow2_reftable_entry(h, 0x30001, &off, GiB, &msg), -EIO);
	VD_EXPECT_CONTAINS(test, m, "reserved bits");
	m[0] = '\0';
	KUNIT_EXPECT_EQ(test, vd_qcow2_reftable_entry(h, 0x30200, &off, GiB, &msg), -EIO);
	VD_EXPECT_CONTAINS(test, m, "not cluster aligned");
	m[0] = '\0';
	KUNIT_EXPECT_EQ(test, vd_qcow2_reftable_entry(h, 0x30000, &off, 0x30000, &msg), -EIO);
	VD_EXPECT_CONTAINS(test, m, "outside the file");
}

/* ------------------------------------------------------------------ */
/* vd_qcow2_set_backing(): the first cluster rebuilt for a new backing  */

static bool all_zero(const u8 *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

/*
 * Rebuild @q's first cluster for @name/@format into @q itself; on
 * success the result is parsed again into @r and must carry them, and
 * everything from *@write_len on must be zero.  Returns the errno.
 */
static int qset(struct kunit *test, struct qimg *q, const char *name, const char *format,
		size_t *write_len, struct res *r)
{
	struct vd_msg msg = { .buf = r->msg, .len = sizeof(r->msg) };
	struct vd_qcow2_header *h;
	u8 *old, *out;
	int ret;

	if (qparse(test, q, r))
		return -1000;
	h = kunit_kmalloc(test, sizeof(*h), GFP_KERNEL);
	old = kunit_kmalloc(test, q->len, GFP_KERNEL);
	out = kunit_kmalloc(test, q->len, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, h);
	KUNIT_ASSERT_NOT_NULL(test, old);
	KUNIT_ASSERT_NOT_NULL(test, out);
	*h = r->h;
	memcpy(old, q->buf, q->len);
	memset(out, 0x5a, q->len);
	r->msg[0] = '\0';
	ret = vd_qcow2_set_backing(old, q->len, h, name, format, out, write_len, &msg);
	kunit_kfree(test, old);
	kunit_kfree(test, h);
	if (ret) {
		KUNIT_EXPECT_TRUE_MSG(test, r->msg[0], "refusal %d without a message", ret);
		KUNIT_EXPECT_EQ(test, *write_len, 0);
		kunit_kfree(test, out);
		return ret;
	}
	KUNIT_EXPECT_STREQ(test, r->msg, "");
	KUNIT_EXPECT_TRUE(test, *write_len <= q->len);
	KUNIT_EXPECT_TRUE(test, *write_len % 512 == 0 || *write_len == q->len);
	KUNIT_EXPECT_TRUE(test, all_zero(out + *write_len, q->len - *write_len));
	memcpy(q->buf, out, q->len);
	kunit_kfree(test, out);
	KUNIT_EXPECT_EQ(test, qparse(test, q, r), 0);
	KUNIT_EXPECT_STREQ(test, r->h.backing_name, name);
	KUNIT_EXPECT_STREQ(test, r->h.backing_format, name[0] && format ? format : "");
	KUNIT_EXPECT_EQ(test, r->h.backing_len, strlen(name));
	return 0;
}

/* The extension types of @q in order, up to the end marker; count returned. */
static unsigned int qexts(const struct qimg *q, u32 hdr_len, u32 *types, unsigned int max)
{
	u32 off = hdr_len;
	unsigned int n = 0;

	while (off + 8 <= q->len && n < max) {
		u32 type = vd_be32(q->buf + off), len = vd_be32(q->buf + off + 4);

		if (!type)
			break;
		types[n++] = type;
		off += 8 + ((len + 7) & ~7U);
	}
	return n;
}

static void vdisk_qcow2_set_backing_add(struct kunit *test)
{
	static const u8 bitmaps[24] = { 0, 0, 0, 1 };
	u8 before[112];
	u32 types[8];
	size_t wl;
	struct res *r = vd_q2_res_new(test);
	struct qimg q;

	qinit(test, &q, 3, 16, 1 * GiB);
	qcomp(&q, VD_QCOW2_COMPRESS_ZSTD, true);
	qext(&q, EXT_FEATURES, "\0\0dirty bit\0", 12);
	qext(&q, 0x12345678, "unknown!", 8);
	qext(&q, EXT_BITMAPS, bitmaps, sizeof(bitmaps));
	qext(&q, EXT_DATA_FILE, "data.raw", 8);
	memcpy(before, q.buf, sizeof(before));
	KUNIT_ASSERT_TRUE(test, qset(test, &q, "../base images/b.qcow2", "qcow2", &wl, r) == 0);
	KUNIT_EXPECT_EQ(test, wl, 512);
	/* header fields other than the backing file's unchanged */
	KUNIT_EXPECT_TRUE(test, !memcmp(q.buf, before, 8));
	KUNIT_EXPECT_TRUE(test, !memcmp(q.buf + 20, before + 20, sizeof(before) - 20));
	KUNIT_EXPECT_EQ(test, r->h.compression_type, VD_QCOW2_COMPRESS_ZSTD);
	KUNIT_EXPECT_STREQ(test, r->h.data_file_name, "data.raw");
	KUNIT_ASSERT_TRUE(test, qexts(&q, 112, types, 8) == 5);
	KUNIT_EXPECT_EQ(test, types[0], EXT_BACKING_FMT);
	KUNIT_EXPECT_EQ(test, types[1], EXT_FEATURES);
	KUNIT_EXPECT_EQ(test, types[2], 0x12345678);
	KUNIT_EXPECT_EQ(test, types[3], EXT_BITMAPS);
	KUNIT_EXPECT_EQ(test, types[4], EXT_DATA_FILE);
	/* extension data kept: the unknown one at its new place */
	KUNIT_EXPECT_TRUE(test, !memcmp(q.buf + 112 + 16 + 8 + 16 + 8, "unknown!", 8));
	/* name right after the end marker */
	KUNIT_EXPECT_EQ(test, r->h.backing_offset, 112 + 16 + 24 + 16 + 32 + 16 + 8);
	qfree(&q);
}

static void vdisk_qcow2_set_backing_replace_and_remove(struct kunit *test)
{
	u32 types[8];
	size_t wl;
	struct res *r = vd_q2_res_new(test);
	struct qimg q;

	/* as qemu-img lays out an overlay: format first, name after the end */
	qinit(test, &q, 3, 16, 1 * GiB);
	qext(&q, EXT_BACKING_FMT, "raw", 3);
	qext(&q, EXT_FEATURES, "\0\0dirty bit\0", 12);
	qbacking(&q, q.ext_off + 8, "/old/base.raw", 13);
	KUNIT_ASSERT_TRUE(test, qset(test, &q, "new.vmdk", "vmdk", &wl, r) == 0);
	KUNIT_ASSERT_TRUE(test, qexts(&q, 104, types, 8) == 2);
	KUNIT_EXPECT_EQ(test, types[0], EXT_BACKING_FMT);
	KUNIT_EXPECT_EQ(test, types[1], EXT_FEATURES);

	/* the same again: the same bytes */
	{
		u8 *once = kunit_kmalloc(test, q.len, GFP_KERNEL);

		KUNIT_ASSERT_NOT_NULL(test, once);
		memcpy(once, q.buf, q.len);
		KUNIT_ASSERT_TRUE(test, qset(test, &q, "new.vmdk", "vmdk", &wl, r) == 0);
		KUNIT_EXPECT_TRUE(test, !memcmp(once, q.buf, q.len));
		kunit_kfree(test, once);
	}

	/* no backing file any more: both fields 0, no format extension */
	KUNIT_ASSERT_TRUE(test, qset(test, &q, "", "qcow2", &wl, r) == 0);
	KUNIT_EXPECT_EQ(test, vd_be64(q.buf + O_BACKING_OFF), 0);
	KUNIT_EXPECT_EQ(test, vd_be32(q.buf + O_BACKING_SIZE), 0);
	KUNIT_EXPECT_EQ(test, r->h.backing_offset, 0);
	KUNIT_ASSERT_TRUE(test, qexts(&q, 104, types, 8) == 1);
	KUNIT_EXPECT_EQ(test, types[0], EXT_FEATURES);
	qfree(&q);

	/* a name far behind the extensions is overwritten too */
	qinit(test, &q, 3, 16, 1 * GiB);
	qbacking(&q, 8192, "far.qcow2", 9);
	KUNIT_ASSERT_TRUE(test, qset(test, &q, "near.qcow2", NULL, &wl, r) == 0);
	KUNIT_EXPECT_EQ(test, wl, 8704);
	KUNIT_EXPECT_EQ(test, r->h.backing_offset, 112);
	KUNIT_EXPECT_STREQ(test, r->h.backing_format, "");
	qfree(&q);
}

static void vdisk_qcow2_set_backing_v2(struct kunit *test)
{
	u8 before[72];
	u32 types[4];
	size_t wl;
	struct res *r = vd_q2_res_new(test);
	struct qimg q;

	qinit(test, &q, 2, 9, 64 * MiB);
	qext(&q, EXT_BACKING_FMT, "qcow2", 5);
	qbacking(&q, 72 + 16 + 8, "a", 1);
	memcpy(before, q.buf, sizeof(before));
	KUNIT_ASSERT_TRUE(test, qset(test, &q, "bb.raw", "raw", &wl, r) == 0);
	KUNIT_EXPECT_EQ(test, wl, 512);
	KUNIT_EXPECT_TRUE(test, !memcmp(q.buf + 20, before + 20, 52));
	KUNIT_EXPECT_EQ(test, r->h.backing_offset, 96);
	KUNIT_ASSERT_TRUE(test, qexts(&q, 72, types, 4) == 1);
	KUNIT_ASSERT_TRUE(test, qset(test, &q, "", NULL, &wl, r) == 0);
	KUNIT_EXPECT_EQ(test, qexts(&q, 72, types, 4), 0);
	qfree(&q);
}

static void vdisk_qcow2_set_backing_refusals(struct kunit *test)
{
	char *big = vd_q2_buf(test, 1025), fmt[65];
	size_t wl;
	struct res *r = vd_q2_res_new(test);
	struct qimg q;

	memset(big, 'n', 1025);
	big[1024] = '\0';
	memset(fmt, 'f', sizeof(fmt));
	fmt[64] = '\0';
	qinit(test, &q, 3, 16, 1 * GiB);
	KUNIT_EXPECT_EQ(test, qset(test, &q, big, "raw", &wl, r), -EFBIG);
	VD_EXPECT_CONTAINS(test, r->msg, "backing file name");
	big[1023] = '\0';
	KUNIT_EXPECT_EQ(test, qset(test, &q, "x", fmt, &wl, r), -EFBIG);
	VD_EXPECT_CONTAINS(test, r->msg, "backing format");
	/* the longest of both fit a 64 KiB cluster */
	fmt[63] = '\0';
	KUNIT_EXPECT_EQ(test, qset(test, &q, big, fmt, &wl, r), 0);
	qfree(&q);

	/* 512-byte clusters: 104 + 16 + 8 + 400 bytes do not fit */
	qinit(test, &q, 3, 9, 64 * MiB);
	big[400] = '\0';
	KUNIT_EXPECT_EQ(test, qset(test, &q, big, "qcow2", &wl, r), -EFBIG);
	VD_EXPECT_CONTAINS(test, r->msg, "backing file name");
	VD_EXPECT_CONTAINS(test, r->msg, "first cluster");
	/* exactly full: 104 + 16 + 8 + 384 */
	big[384] = '\0';
	KUNIT_EXPECT_EQ(test, qset(test, &q, big, "qcow2", &wl, r), 0);
	KUNIT_EXPECT_EQ(test, wl, 512);
	qfree(&q);

	/* extensions that fill the cluster leave no room for the format */
	qinit(test, &q, 3, 12, 1 * GiB);
	{
		u8 *fill = vd_q2_buf(test, 4096 - 104 - 16);

		memset(fill, 0xaa, (4096 - 104 - 16));
		qext(&q, 0x11111111, fill, (4096 - 104 - 16));
		KUNIT_EXPECT_EQ(test, qset(test, &q, "b", "raw", &wl, r), -EFBIG);
		VD_EXPECT_CONTAINS(test, r->msg, "does not fit");
		/* without a format extension the 8-byte end marker fits, the name not */
		KUNIT_EXPECT_EQ(test, qset(test, &q, "b", NULL, &wl, r), -EFBIG);
		VD_EXPECT_CONTAINS(test, r->msg, "backing file name");
		KUNIT_EXPECT_EQ(test, qset(test, &q, "", NULL, &wl, r), 0);
	}
	qfree(&q);
}

static struct kunit_case vdisk_qcow2_cases[] = {
	KUNIT_CASE_PARAM(vdisk_qcow2_header, vd_q2_gen_params),
	KUNIT_CASE(vdisk_qcow2_header_fields),
	KUNIT_CASE_PARAM(vdisk_qcow2_l2_entry, vd_l2_gen_params),
	KUNIT_CASE(vdisk_qcow2_l1_entry),
	KUNIT_CASE(vdisk_qcow2_snapshot),
	KUNIT_CASE(vdisk_qcow2_valid_v2),
	KUNIT_CASE(vdisk_qcow2_valid_v3),
	KUNIT_CASE(vdisk_qcow2_valid_size_0),
	KUNIT_CASE(vdisk_qcow2_valid_l1_larger_than_needed),
	KUNIT_CASE(vdisk_qcow2_valid_l1_exact_boundaries),
	KUNIT_CASE(vdisk_qcow2_valid_table_at_file_end),
	KUNIT_CASE(vdisk_qcow2_valid_refcount_orders),
	KUNIT_CASE(vdisk_qcow2_valid_extended_l2),
	KUNIT_CASE(vdisk_qcow2_refuse_extended_l2_small_clusters),
	KUNIT_CASE(vdisk_qcow2_valid_compression_zstd),
	KUNIT_CASE(vdisk_qcow2_refuse_compression),
	KUNIT_CASE(vdisk_qcow2_valid_backing_and_format),
	KUNIT_CASE(vdisk_qcow2_refuse_backing),
	KUNIT_CASE(vdisk_qcow2_refuse_backing_format_ext),
	KUNIT_CASE(vdisk_qcow2_data_file),
	KUNIT_CASE(vdisk_qcow2_extensions_skipped),
	KUNIT_CASE(vdisk_qcow2_refuse_extensions),
	KUNIT_CASE(vdisk_qcow2_incompat_unknown),
	KUNIT_CASE(vdisk_qcow2_flags_decoded),
	KUNIT_CASE(vdisk_qcow2_header_refusals),
	KUNIT_CASE(vdisk_qcow2_l1_entries),
	KUNIT_CASE(vdisk_qcow2_l2_standard),
	KUNIT_CASE(vdisk_qcow2_l2_compressed),
	KUNIT_CASE(vdisk_qcow2_l2_compressed_refusals),
	KUNIT_CASE(vdisk_qcow2_l2_extended),
	KUNIT_CASE(vdisk_qcow2_snapshot_records),
	KUNIT_CASE(vdisk_qcow2_snapshot_padding_missing_at_end),
	KUNIT_CASE(vdisk_qcow2_snapshot_longest_strings),
	KUNIT_CASE(vdisk_qcow2_snapshot_refusals),
	KUNIT_CASE(vdisk_qcow2_refcount_widths),
	KUNIT_CASE(vdisk_qcow2_reftable_entries),
	KUNIT_CASE(vdisk_qcow2_set_backing_add),
	KUNIT_CASE(vdisk_qcow2_set_backing_replace_and_remove),
	KUNIT_CASE(vdisk_qcow2_set_backing_v2),
	KUNIT_CASE(vdisk_qcow2_set_backing_refusals),
	{}
};

static struct kunit_suite vdisk_qcow2_suite = {
	.name = "vdisk_qcow2",
	.test_cases = vdisk_qcow2_cases,
};

kunit_test_suite(vdisk_qcow2_suite);
