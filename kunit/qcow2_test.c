// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite vdisk_qcow2: qcow2 header validation, L1/L2
 * entry decoding and snapshot records (vd_qcow2.c).
 *
 * Header cases are a valid image laid out as qemu-img does (header,
 * refcount table in cluster 1, L1 table from cluster 3) with single fields
 * poked, one optional header extension and an optional backing file
 * name; each gives the errno it must get and a word the message must
 * contain, so that a refusal names the field.
 */
#include <kunit/test.h>

#include "vd_qcow2.h"

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

static struct kunit_case vdisk_qcow2_cases[] = {
	KUNIT_CASE_PARAM(vdisk_qcow2_header, vd_q2_gen_params),
	KUNIT_CASE(vdisk_qcow2_header_fields),
	KUNIT_CASE_PARAM(vdisk_qcow2_l2_entry, vd_l2_gen_params),
	KUNIT_CASE(vdisk_qcow2_l1_entry),
	KUNIT_CASE(vdisk_qcow2_snapshot),
	{}
};

static struct kunit_suite vdisk_qcow2_suite = {
	.name = "vdisk_qcow2",
	.test_cases = vdisk_qcow2_cases,
};

kunit_test_suite(vdisk_qcow2_suite);
