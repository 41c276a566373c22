// SPDX-License-Identifier: GPL-2.0
/*
 * vmdk_test.c - suite vdisk_vmdk: vmdk descriptor parsing, sparse header
 * validation, grain table entry and marker decoding, and descriptor
 * rewriting (vd_vmdk.c), on inputs crafted in memory.
 *
 * Built as a KUnit suite and, through userspace/tests/shim, as a userspace
 * test with ASan and UBSan (see vd_test.h).  Parses run on exact-size
 * heap copies, so that KASAN or ASan catches overreads.
 *
 * Header cases are a monolithicSparse header laid out as qemu-img writes
 * it with one field poked; descriptor cases are the descriptor qemu-img
 * writes for twoGbMaxExtentSparse with one line replaced.  Each gives the
 * errno it must get and a word the message must contain.
 */
#include <kunit/test.h>
#include <linux/slab.h>

#include "vd_vmdk.h"
#include "vd_test.h"

#define VD_VM_MSG_MAX	256
#define VD_VM_FILE	BIT_ULL(20)
#define VD_VM_FLAGS	(VD_VMDK_FLAG_NL_TEST | VD_VMDK_FLAG_RGD)

struct vd_vm_hcase {
	const char *name;
	u16 off;
	u8 width;	/* 0: no poke */
	u64 val;
	int err;
	const char *says;
};

static const struct vd_vm_hcase vd_vm_hcases[] = {
	{ "valid", 0, 0, 0, 0, "" },
	{ "magic", 0, 4, 0x44574f43, -EINVAL, "magic" },
	{ "version 0", 4, 4, 0, -EOPNOTSUPP, "version" },
	{ "version 4", 4, 4, 4, -EOPNOTSUPP, "version" },
	{ "unknown flag", 8, 4, VD_VM_FLAGS | BIT(9), -EOPNOTSUPP, "flags" },
	{ "capacity 0", 12, 8, 0, -EINVAL, "capacity" },
	{ "capacity 2^32", 12, 8, 1ULL << 32, -EFBIG, "capacity" },
	{ "grain 0", 20, 8, 0, -EINVAL, "grain size" },
	{ "grain 3 sectors", 20, 8, 3, -EINVAL, "grain size" },
	{ "grain 4 MiB", 20, 8, 8192, -EFBIG, "grain size" },
	{ "grain 2^64-1", 20, 8, ~0ULL, -EFBIG, "grain size" },
	{ "gtes 0", 44, 4, 0, -EINVAL, "numGTEsPerGT" },
	{ "gtes 513", 44, 4, 513, -EINVAL, "numGTEsPerGT" },
	{ "GD at 0", 56, 8, 0, -EINVAL, "grain directory" },
	{ "GD past EOF", 56, 8, 2048, -EINVAL, "grain directory" },
	{ "GD overflow", 56, 8, ~0ULL - 1, -EINVAL, "grain directory" },
	{ "GD at end, plain", 56, 8, ~0ULL, -EINVAL, "at end" },
	{ "rGD past EOF", 48, 8, 1ULL << 40, -EINVAL, "redundant" },
	{ "descriptor past EOF", 28, 8, 2040, -EINVAL, "descriptor" },
	{ "newline test", 74, 1, 'x', -EINVAL, "newline" },
	{ "compress, no flag", 77, 1, 1, -EINVAL, "compressAlgorithm" },
};

static void vd_vm_hcase_desc(const struct vd_vm_hcase *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(vd_vm_h, vd_vm_hcases, vd_vm_hcase_desc);

static void vd_vm_put64(u8 *p, u64 v)
{
	vd_put_le32(p, (u32)v);
	vd_put_le32(p + 4, v >> 32);
}

/* monolithicSparse, 3 GiB, as qemu-img lays it out */
static void vd_vm_header(u8 *h)
{
	memset(h, 0, VD_VMDK_HEADER_LEN);
	memcpy(h, "KDMV", 4);
	vd_put_le32(h + 4, 1);
	vd_put_le32(h + 8, VD_VM_FLAGS);
	vd_vm_put64(h + 12, 6291456);
	vd_vm_put64(h + 20, 128);
	vd_vm_put64(h + 28, 1);
	vd_vm_put64(h + 36, 20);
	vd_put_le32(h + 44, 512);
	vd_vm_put64(h + 48, 21);
	vd_vm_put64(h + 56, 405);
	vd_vm_put64(h + 64, 896);
	h[73] = '\n';
	h[74] = ' ';
	h[75] = '\r';
	h[76] = '\n';
}

static void vdisk_vmdk_header(struct kunit *test)
{
	const struct vd_vm_hcase *c = test->param_value;
	char *text = kunit_kzalloc(test, VD_VM_MSG_MAX, GFP_KERNEL);
	u8 *h = kunit_kzalloc(test, VD_VMDK_HEADER_LEN, GFP_KERNEL);
	struct vd_msg msg = { text, VD_VM_MSG_MAX };
	struct vd_vmdk_header hdr;
	int ret;

	KUNIT_ASSERT_NOT_NULL(test, text);
	KUNIT_ASSERT_NOT_NULL(test, h);
	vd_vm_header(h);
	if (c->width == 1)
		h[c->off] = c->val;
	else if (c->width == 4)
		vd_put_le32(h + c->off, c->val);
	else if (c->width == 8)
		vd_vm_put64(h + c->off, c->val);
	ret = vd_vmdk_parse_header(h, VD_VM_FILE, false, &hdr, &msg);
	KUNIT_EXPECT_EQ_MSG(test, ret, c->err, "%s", text);
	KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(text, c->says), "'%s' lacks '%s'",
				  text, c->says);
	if (!ret) {
		KUNIT_EXPECT_EQ(test, hdr.gd_entries, 96);
		KUNIT_EXPECT_EQ(test, hdr.grain_bits, 16);
	}
}

static const char vd_vm_desc[] =
	"# Disk DescriptorFile\nversion=1\nCID=985d0471\nparentCID=ffffffff\n"
	"createType=\"twoGbMaxExtentSparse\"\n\n# Extent description\n"
	"RW 4194304 SPARSE \"d-s001.vmdk\"\nRW 2097152 SPARSE \"d-s002.vmdk\"\n\n"
	"#DDB\nddb.virtualHWVersion = \"4\"\nddb.adapterType = \"ide\"\n";

struct vd_vm_dcase {
	const char *name;
	const char *from, *to;
	int err;
	const char *says;
};

static const struct vd_vm_dcase vd_vm_dcases[] = {
	{ "valid", "", "", 0, "" },
	{ "version 9", "version=1", "version=9", -EOPNOTSUPP, "version" },
	{ "CID 9 digits", "CID=985d0471", "CID=985d04710", -EINVAL, "CID" },
	{ "vmfsSparse", "twoGbMaxExtentSparse\"", "vmfsSparse\"", -EOPNOTSUPP,
	  "createType" },
	{ "size 0", "RW 4194304", "RW 0", -EINVAL, "extent size" },
	{ "size overflow", "RW 4194304", "RW 184467440737095516160", -EINVAL,
	  "extent size" },
	{ "SESPARSE", "SPARSE \"d-s001", "SESPARSE \"d-s001", -EOPNOTSUPP,
	  "extent type" },
	{ "unclosed name", "\"d-s002.vmdk\"", "\"d-s002.vmdk", -EINVAL, "not closed" },
	{ "flat in sparse", "SPARSE \"d-s001", "FLAT \"d-s001", -EINVAL, "FLAT" },
	{ "garbage line", "#DDB", "\x01\x02 garbage", -EINVAL, "neither" },
};

static void vd_vm_dcase_desc(const struct vd_vm_dcase *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(vd_vm_d, vd_vm_dcases, vd_vm_dcase_desc);

static void vdisk_vmdk_descriptor(struct kunit *test)
{
	const struct vd_vm_dcase *c = test->param_value;
	char *text = kunit_kzalloc(test, VD_VM_MSG_MAX, GFP_KERNEL);
	char *buf = kunit_kzalloc(test, 1024, GFP_KERNEL);
	struct vd_vmdk_extent *ext = kunit_kcalloc(test, 4, sizeof(*ext), GFP_KERNEL);
	struct vd_msg msg = { text, VD_VM_MSG_MAX };
	struct vd_vmdk_desc *d = kunit_kzalloc(test, sizeof(*d), GFP_KERNEL);
	const char *at;
	size_t pre;
	int ret;

	KUNIT_ASSERT_NOT_NULL(test, text);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_ASSERT_NOT_NULL(test, ext);
	KUNIT_ASSERT_NOT_NULL(test, d);
	at = c->from[0] ? strstr(vd_vm_desc, c->from) : NULL;
	KUNIT_ASSERT_TRUE(test, !c->from[0] || at);
	pre = at ? at - vd_vm_desc : strlen(vd_vm_desc);
	snprintf(buf, 1024, "%.*s%s%s", (int)pre, vd_vm_desc, c->to,
		 at ? at + strlen(c->from) : "");
	d->ext = ext;
	ret = vd_vmdk_parse_descriptor(buf, strlen(buf), d, 4, &msg);
	KUNIT_EXPECT_EQ_MSG(test, ret, c->err, "%s", text);
	KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(text, c->says), "'%s' lacks '%s'",
				  text, c->says);
	if (!ret) {
		KUNIT_EXPECT_EQ(test, d->nr_extents, 2);
		KUNIT_EXPECT_EQ(test, d->sectors, 6291456);
		KUNIT_EXPECT_EQ(test, d->cid, 0x985d0471);
		KUNIT_EXPECT_EQ(test, d->create_type, VD_VMDK_TWOGB_SPARSE);
	}
}

static void vdisk_vmdk_gt_entry(struct kunit *test)
{
	struct vd_vmdk_header h;
	u8 *b = kunit_kzalloc(test, VD_VMDK_HEADER_LEN, GFP_KERNEL);
	u32 kind;
	u64 off;

	KUNIT_ASSERT_NOT_NULL(test, b);
	vd_vm_header(b);
	vd_put_le32(b + 8, VD_VM_FLAGS | VD_VMDK_FLAG_ZERO_GRAIN);
	KUNIT_ASSERT_EQ(test, vd_vmdk_parse_header(b, VD_VM_FILE, false, &h, NULL), 0);
	KUNIT_EXPECT_EQ(test, vd_vmdk_gt_entry(&h, 0, VD_VM_FILE, &kind, &off, NULL), 0);
	KUNIT_EXPECT_EQ(test, kind, VD_VMDK_GRAIN_UNALLOCATED);
	KUNIT_EXPECT_EQ(test, vd_vmdk_gt_entry(&h, 1, VD_VM_FILE, &kind, &off, NULL), 0);
	KUNIT_EXPECT_EQ(test, kind, VD_VMDK_GRAIN_ZERO);
	KUNIT_EXPECT_EQ(test, vd_vmdk_gt_entry(&h, 896, VD_VM_FILE, &kind, &off, NULL), 0);
	KUNIT_EXPECT_EQ(test, kind, VD_VMDK_GRAIN_DATA);
	KUNIT_EXPECT_EQ(test, off, 896 * 512);
	KUNIT_EXPECT_EQ(test, vd_vmdk_gt_entry(&h, 1921, VD_VM_FILE, &kind, &off, NULL), -EIO);
	KUNIT_EXPECT_EQ(test, vd_vmdk_gd_entry(&h, 2045, VD_VM_FILE, NULL), -EIO);
	KUNIT_EXPECT_EQ(test, vd_vmdk_gd_entry(&h, 2044, VD_VM_FILE, NULL), 0);
}

/*
 * Descriptors as qemu-img writes them, then edited; headers laid out as
 * qemu-img lays out a monolithicSparse extent (descriptor at sector 1,
 * redundant GD at 21, GD after it).  Results land in the statics below.
 */
#define VD_VM_MAX_EXT	16

static char vd_vm_msgbuf[512];
static struct vd_msg vd_vm_msg = { vd_vm_msgbuf, sizeof(vd_vm_msgbuf) };
static struct vd_vmdk_extent vd_vm_ext[VD_VM_MAX_EXT];
static struct vd_vmdk_desc vd_vm_d;

static const char vd_vm_desc_sparse[] =
	"# Disk DescriptorFile\n"
	"version=1\n"
	"CID=985d0471\n"
	"parentCID=ffffffff\n"
	"createType=\"twoGbMaxExtentSparse\"\n"
	"\n"
	"# Extent description\n"
	"RW 4194304 SPARSE \"disk-s001.vmdk\"\n"
	"RW 2097152 SPARSE \"disk-s002.vmdk\"\n"
	"\n"
	"# The Disk Data Base\n"
	"#DDB\n"
	"\n"
	"ddb.virtualHWVersion = \"4\"\n"
	"ddb.geometry.cylinders = \"6241\"\n"
	"ddb.adapterType = \"ide\"\n";

/* Parse @text (an exact-size heap copy); messages reset first. */
static int vd_vm_parse(struct kunit *test, const char *text)
{
	size_t n = strlen(text);
	char *copy = kmalloc(n ? n : 1, GFP_KERNEL);
	int ret;

	KUNIT_ASSERT_NOT_NULL(test, copy);
	memcpy(copy, text, n);
	vd_vm_msgbuf[0] = '\0';
	vd_vm_d.ext = vd_vm_ext;
	ret = vd_vmdk_parse_descriptor(copy, n, &vd_vm_d, VD_VM_MAX_EXT, &vd_vm_msg);
	kfree(copy);
	if (ret)
		KUNIT_EXPECT_TRUE_MSG(test, vd_vm_msgbuf[0], "refusal %d without a message", ret);
	else
		KUNIT_EXPECT_TRUE_MSG(test, !vd_vm_msgbuf[0], "success with a message: %s",
				      vd_vm_msgbuf);
	return ret;
}

/* @base with the first occurrence of @from replaced by @to; static buffer. */
static const char *vd_vm_edit(const char *base, const char *from, const char *to)
{
	static char buf[8192];
	const char *at = strstr(base, from);
	size_t pre;

	if (!at)
		return base;
	pre = at - base;
	snprintf(buf, sizeof(buf), "%.*s%s%s", (int)pre, base, to, at + strlen(from));
	return buf;
}

static void vdisk_vmdk_desc_twogb_sparse(struct kunit *test)
{
	KUNIT_ASSERT_TRUE(test, vd_vm_parse(test, vd_vm_desc_sparse) == 0);
	KUNIT_EXPECT_EQ(test, vd_vm_d.version, 1);
	KUNIT_EXPECT_EQ(test, vd_vm_d.cid, 0x985d0471);
	KUNIT_EXPECT_EQ(test, vd_vm_d.parent_cid, VD_VMDK_NO_PARENT_CID);
	KUNIT_EXPECT_EQ(test, vd_vm_d.create_type, VD_VMDK_TWOGB_SPARSE);
	KUNIT_EXPECT_EQ(test, vd_vm_d.nr_extents, 2);
	KUNIT_EXPECT_EQ(test, vd_vm_d.nr_files, 2);
	KUNIT_EXPECT_EQ(test, vd_vm_d.sectors, 6291456);
	KUNIT_EXPECT_EQ(test, vd_vm_d.nr_ddb, 3);
	KUNIT_EXPECT_TRUE(test, !vd_vm_d.has_parent);
	KUNIT_EXPECT_EQ(test, vd_vm_ext[1].type, VD_VMDK_EXT_SPARSE);
	KUNIT_EXPECT_EQ(test, vd_vm_ext[1].sectors, 2097152);
	KUNIT_EXPECT_EQ(test, vd_vm_ext[1].name_len, strlen("disk-s002.vmdk"));
	KUNIT_EXPECT_TRUE(test, !memcmp(vd_vm_desc_sparse + vd_vm_ext[1].name_off, "disk-s002.vmdk",
					vd_vm_ext[1].name_len));
	KUNIT_EXPECT_EQ(test, vd_vm_d.cid_len, 8);
	KUNIT_EXPECT_TRUE(test, !memcmp(vd_vm_desc_sparse + vd_vm_d.cid_off, "985d0471", 8));
}

static void vdisk_vmdk_desc_flat_zero_offsets_crlf(struct kunit *test)
{
	const char *t =
		"version=1\r\nCID=1\r\nparentCID=ffffffff\r\n"
		"createType=\"twoGbMaxExtentFlat\"\r\n"
		"RW 100 FLAT \"a b.vmdk\" 0\r\n"
		"RDONLY 50 ZERO\r\n"
		"NOACCESS 10 VMFS \"c.vmdk\" 7\r\n";

	KUNIT_ASSERT_TRUE(test, vd_vm_parse(test, t) == 0);
	KUNIT_EXPECT_EQ(test, vd_vm_d.nr_extents, 3);
	KUNIT_EXPECT_EQ(test, vd_vm_d.nr_files, 2);
	KUNIT_EXPECT_EQ(test, vd_vm_d.sectors, 160);
	KUNIT_EXPECT_EQ(test, vd_vm_ext[0].name_len, 8);
	KUNIT_EXPECT_EQ(test, vd_vm_ext[1].type, VD_VMDK_EXT_ZERO);
	KUNIT_EXPECT_EQ(test, vd_vm_ext[1].access, VD_VMDK_RDONLY);
	KUNIT_EXPECT_EQ(test, vd_vm_ext[2].type, VD_VMDK_EXT_FLAT);
	KUNIT_EXPECT_EQ(test, vd_vm_ext[2].offset, 7);
	KUNIT_EXPECT_EQ(test, vd_vm_ext[2].access, VD_VMDK_NOACCESS);
	KUNIT_EXPECT_EQ(test, vd_vm_d.cid_len, 1);
}

static void vdisk_vmdk_desc_delta(struct kunit *test)
{
	const char *t = vd_vm_edit(vd_vm_desc_sparse, "parentCID=ffffffff\n",
			     "parentCID=12ab\nparentFileNameHint=\"../base dir/gold.vmdk\"\n");

	KUNIT_ASSERT_TRUE(test, vd_vm_parse(test, t) == 0);
	KUNIT_EXPECT_TRUE(test, vd_vm_d.has_parent);
	KUNIT_EXPECT_EQ(test, vd_vm_d.parent_cid, 0x12ab);
	KUNIT_EXPECT_STREQ(test, vd_vm_d.parent_hint, "../base dir/gold.vmdk");
}

static void vdisk_vmdk_desc_refusals(struct kunit *test)
{
	static const struct {
		const char *from, *to, *says;
		int err;
	} c[] = {
		{ "version=1", "version=4", "version", -EOPNOTSUPP },
		{ "version=1", "version=x", "version", -EINVAL },
		{ "version=1\n", "", "no version", -EINVAL },
		{ "CID=985d0471", "CID=985d04711", "CID", -EINVAL },
		{ "CID=985d0471", "CID=xyz", "CID", -EINVAL },
		{ "CID=985d0471\n", "", "no CID", -EINVAL },
		{ "parentCID=ffffffff", "parentCID=-1", "parentCID", -EINVAL },
		{ "twoGbMaxExtentSparse\"", "vmfsSparse\"", "createType not supported",
		 -EOPNOTSUPP },
		{ "twoGbMaxExtentSparse\"", "fooBar\"", "unknown createType", -EINVAL },
		{ "createType=\"twoGbMaxExtentSparse\"\n", "", "createType", -EINVAL },
		{ "twoGbMaxExtentSparse\"", "twoGbMaxExtentFlat\"",
		 "SPARSE in a twoGbMaxExtentFlat", -EINVAL },
		{ "twoGbMaxExtentSparse\"", "monolithicSparse\"", "2 extent files", -EINVAL },
		{ "RW 4194304 SPARSE", "RW 0 SPARSE", "extent size", -EINVAL },
		{ "RW 4194304 SPARSE", "RW -5 SPARSE", "extent size", -EINVAL },
		{ "RW 4194304 SPARSE", "RW 99999999999999999999999 SPARSE", "extent size",
		 -EINVAL },
		{ "RW 4194304 SPARSE", "RW 4194304 VMFSSPARSE", "extent type not supported",
		 -EOPNOTSUPP },
		{ "RW 4194304 SPARSE", "RW 4194304 SEPARSE", "unknown extent type", -EINVAL },
		{ "RW 4194304 SPARSE", "RO 4194304 SPARSE", "neither key=value", -EINVAL },
		{ "\"disk-s001.vmdk\"", "disk-s001.vmdk", "quoted file name", -EINVAL },
		{ "\"disk-s001.vmdk\"", "\"disk-s001.vmdk", "not closed", -EINVAL },
		{ "\"disk-s001.vmdk\"", "\"\"", "empty", -EINVAL },
		{ "\"disk-s001.vmdk\"", "\"disk-s001.vmdk\" 5", "extra text", -EINVAL },
		{ "ddb.adapterType = \"ide\"", "ddb.adapterType = \"ide", "quotes", -EINVAL },
		{ "ddb.adapterType = \"ide\"", "just words", "neither key=value", -EINVAL },
		{ "ddb.adapterType = \"ide\"", " = 5", "bad key", -EINVAL },
		{ "parentCID=ffffffff\n", "parentFileNameHint=\"x\"\n", "without a parentCID",
		 -EINVAL },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		const char *t = vd_vm_edit(vd_vm_desc_sparse, c[i].from, c[i].to);
		int ret;

		KUNIT_EXPECT_TRUE_MSG(test, t != vd_vm_desc_sparse, "case %u: '%s' not found", i,
				      c[i].from);
		ret = vd_vm_parse(test, t);
		KUNIT_EXPECT_TRUE_MSG(test, ret == c[i].err, "case %u (%s): %d, want %d (%s)", i,
				      c[i].to,
				      ret, c[i].err, vd_vm_msgbuf);
		KUNIT_EXPECT_TRUE_MSG(test, strstr(vd_vm_msgbuf, c[i].says),
				      "case %u: '%s' lacks '%s'", i,
				      vd_vm_msgbuf, c[i].says);
	}
}

static void vdisk_vmdk_desc_no_extents_and_too_many(struct kunit *test)
{
	char *big;
	size_t n = 0, cap = 64 * (VD_VM_MAX_EXT + 2) + 200;
	unsigned int i;

	KUNIT_EXPECT_EQ(test,
			vd_vm_parse(test, "version=1\nCID=1\ncreateType=\"monolithicFlat\"\n"),
			-EINVAL);
	VD_EXPECT_CONTAINS(test, vd_vm_msgbuf, "no extent");
	big = kunit_kmalloc(test, cap, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, big);
	n += snprintf(big + n, cap - n, "version=1\nCID=1\ncreateType=\"twoGbMaxExtentFlat\"\n");
	for (i = 0; i < VD_VM_MAX_EXT + 1; i++)
		n += snprintf(big + n, cap - n, "RW 8 FLAT \"f%u\" 0\n", i);
	KUNIT_EXPECT_EQ(test, vd_vm_parse(test, big), -EFBIG);
	VD_EXPECT_CONTAINS(test, vd_vm_msgbuf, "more than");
}

static void vdisk_vmdk_desc_overflowing_sum(struct kunit *test)
{
	const char *t =
		"version=1\nCID=1\ncreateType=\"twoGbMaxExtentFlat\"\n"
		"RW 1099511627775 FLAT \"a\" 0\n"
		"RW 1099511627775 FLAT \"b\" 0\n"
		"RW 1099511627775 FLAT \"c\" 36028797018963967\n";

	KUNIT_EXPECT_TRUE(test, vd_vm_parse(test, t) != 0);
}

static void vdisk_vmdk_desc_garbage_and_nul(struct kunit *test)
{
	size_t n = VD_VMDK_DESC_MAX, i;
	char *g = kvmalloc(n + 1, GFP_KERNEL);
	int ret;

	KUNIT_ASSERT_NOT_NULL(test, g);
	/* 1 MiB of pseudo-random bytes after the magic line */
	memcpy(g, "# Disk DescriptorFile\n", 22);
	for (i = 22; i < n; i++)
		g[i] = (char)((i * 2654435761u) >> 13) | 1;
	vd_vm_msgbuf[0] = '\0';
	vd_vm_d.ext = vd_vm_ext;
	ret = vd_vmdk_parse_descriptor(g, n, &vd_vm_d, VD_VM_MAX_EXT, &vd_vm_msg);
	KUNIT_EXPECT_TRUE(test, ret == -EINVAL);
	KUNIT_EXPECT_TRUE(test, vd_vm_msgbuf[0]);
	vd_vm_msgbuf[0] = '\0';
	ret = vd_vmdk_parse_descriptor(g, n + 1, &vd_vm_d, VD_VM_MAX_EXT, &vd_vm_msg);
	KUNIT_EXPECT_EQ(test, ret, -EFBIG);
	kvfree(g);
	/* an embedded descriptor ends at its first NUL */
	g = kunit_kzalloc(test, 2048, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, g);
	memcpy(g, vd_vm_desc_sparse, sizeof(vd_vm_desc_sparse) - 1);
	memcpy(g + 1500, "garbage", 7);
	vd_vm_d.ext = vd_vm_ext;
	vd_vm_msgbuf[0] = '\0';
	KUNIT_EXPECT_EQ(test, vd_vmdk_parse_descriptor(g, 2048, &vd_vm_d, VD_VM_MAX_EXT,
						       &vd_vm_msg), 0);
}

/* A monolithicSparse header as qemu-img writes it, for @cap sectors. */
static void vd_vm_hinit(u8 *h, u64 cap, u32 flags)
{
	u64 gd_entries = (cap + 65535) / 65536;
	u64 gd_sectors = (gd_entries * 4 + 511) / 512;

	memset(h, 0, 512);
	memcpy(h, "KDMV", 4);
	vd_put_le32(h + 4, 1);
	vd_put_le32(h + 8, flags);
	vd_put_le32(h + 12, (u32)cap);
	vd_put_le32(h + 16, (u32)(cap >> 32));
	vd_put_le32(h + 20, 128);		/* grain: 64 KiB */
	vd_put_le32(h + 28, 1);			/* descriptor at sector 1 */
	vd_put_le32(h + 36, 20);
	vd_put_le32(h + 44, 512);
	vd_put_le32(h + 48, 21);		/* rGD */
	vd_put_le32(h + 56, (u32)(21 + gd_sectors + gd_entries * 4));	/* GD */
	vd_put_le32(h + 64, 128);
	h[73] = '\n';
	h[74] = ' ';
	h[75] = '\r';
	h[76] = '\n';
}

static int vd_vm_hparse(struct kunit *test, const u8 *h, u64 file_size, bool footer,
			struct vd_vmdk_header *out)
{
	u8 *copy = kmalloc(512, GFP_KERNEL);
	int ret;

	KUNIT_ASSERT_NOT_NULL(test, copy);
	memcpy(copy, h, 512);
	vd_vm_msgbuf[0] = '\0';
	ret = vd_vmdk_parse_header(copy, file_size, footer, out, &vd_vm_msg);
	kfree(copy);
	if (ret)
		KUNIT_EXPECT_TRUE_MSG(test, vd_vm_msgbuf[0], "refusal %d without a message", ret);
	return ret;
}

static void vdisk_vmdk_header_valid(struct kunit *test)
{
	struct vd_vmdk_header h;
	u8 b[512];

	vd_vm_hinit(b, 6291456, VD_VM_FLAGS);
	KUNIT_ASSERT_TRUE(test, vd_vm_hparse(test, b, 1 << 20, false, &h) == 0);
	KUNIT_EXPECT_EQ(test, h.capacity, 6291456);
	KUNIT_EXPECT_EQ(test, h.grain_sectors, 128);
	KUNIT_EXPECT_EQ(test, h.grain_bits, 16);
	KUNIT_EXPECT_EQ(test, h.num_gtes, 512);
	KUNIT_EXPECT_EQ(test, h.gte_bits, 9);
	KUNIT_EXPECT_EQ(test, h.gd_entries, 96);
	KUNIT_EXPECT_EQ(test, h.rgd_offset, 21);
	KUNIT_EXPECT_TRUE(test, !h.zeroed_grain && !h.compressed && !h.unclean);
	b[72] = 1;
	vd_put_le32(b + 8, VD_VM_FLAGS | VD_VMDK_FLAG_ZERO_GRAIN);
	KUNIT_ASSERT_TRUE(test, vd_vm_hparse(test, b, 1 << 20, false, &h) == 0);
	KUNIT_EXPECT_TRUE(test, h.zeroed_grain && h.unclean);
	/* without FLAG_RGD the rGD offset is ignored */
	vd_put_le32(b + 8, VD_VMDK_FLAG_NL_TEST);
	vd_put_le32(b + 48, 0xffffffff);
	KUNIT_ASSERT_TRUE(test, vd_vm_hparse(test, b, 1 << 20, false, &h) == 0);
	KUNIT_EXPECT_EQ(test, h.rgd_offset, 0);
}

static void vdisk_vmdk_header_stream_optimized(struct kunit *test)
{
	u32 flags = VD_VM_FLAGS | VD_VMDK_FLAG_COMPRESSED | VD_VMDK_FLAG_MARKERS;
	struct vd_vmdk_header h;
	u8 b[512];

	vd_vm_hinit(b, 131072, flags);
	b[77] = 1;
	KUNIT_ASSERT_TRUE(test, vd_vm_hparse(test, b, 1 << 20, false, &h) == 0);
	KUNIT_EXPECT_TRUE(test, h.compressed);
	vd_put_le32(b + 56, 0xffffffff);
	vd_put_le32(b + 60, 0xffffffff);
	KUNIT_ASSERT_TRUE(test, vd_vm_hparse(test, b, 1 << 20, false, &h) == 0);
	KUNIT_EXPECT_EQ(test, h.gd_offset, VD_VMDK_GD_AT_END);
	KUNIT_EXPECT_TRUE(test, vd_vm_hparse(test, b, 1 << 20, true,
					     &h) == -EINVAL);	/* not in the footer */
	b[77] = 0;
	KUNIT_EXPECT_TRUE(test, vd_vm_hparse(test, b, 1 << 20, false,
					     &h) == -EINVAL);	/* compressed, no algorithm */
	b[77] = 2;
	KUNIT_EXPECT_TRUE(test, vd_vm_hparse(test, b, 1 << 20, false, &h) == -EOPNOTSUPP);
	b[77] = 1;
	vd_put_le32(b + 8, VD_VM_FLAGS | VD_VMDK_FLAG_COMPRESSED);
	KUNIT_EXPECT_TRUE(test, vd_vm_hparse(test, b, 1 << 20, false,
					     &h) == -EOPNOTSUPP);	/* no markers */
}

static void vdisk_vmdk_header_refusals(struct kunit *test)
{
	static const struct {
		unsigned int off, width;
		u64 val;
		int err;
		const char *says;
	} c[] = {
		{ 0, 4, 0x12345678, -EINVAL, "magic" },
		{ 4, 4, 0, -EOPNOTSUPP, "version" },
		{ 4, 4, 4, -EOPNOTSUPP, "version" },
		{ 8, 4, VD_VM_FLAGS | (1U << 5), -EOPNOTSUPP, "unknown flags" },
		{ 12, 8, 0, -EINVAL, "capacity" },
		{ 12, 8, 1ULL << 32, -EFBIG, "capacity" },
		{ 12, 8, ~0ULL, -EFBIG, "capacity" },
		{ 20, 8, 0, -EINVAL, "grain size" },
		{ 20, 8, 96, -EINVAL, "grain size" },
		{ 20, 8, 8192, -EFBIG, "grain size" },
		{ 20, 8, ~0ULL, -EFBIG, "grain size" },
		{ 44, 4, 0, -EINVAL, "numGTEsPerGT" },
		{ 44, 4, 500, -EINVAL, "numGTEsPerGT" },
		{ 44, 4, 8192, -EINVAL, "numGTEsPerGT" },
		{ 56, 8, 0, -EINVAL, "grain directory" },
		{ 56, 8, 4096, -EINVAL, "grain directory" },
		{ 56, 8, ~0ULL - 1, -EINVAL, "grain directory" },
		{ 48, 8, 0, -EINVAL, "redundant" },
		{ 48, 8, 1ULL << 60, -EINVAL, "redundant" },
		{ 28, 8, 2047, -EINVAL, "descriptor" },
		{ 36, 8, 0, -EINVAL, "descriptor" },
		{ 36, 8, 1ULL << 40, -EINVAL, "descriptor" },
		{ 73, 1, '\r', -EINVAL, "newline" },
		{ 56, 8, ~0ULL, -EINVAL, "without compressed" },
	};
	struct vd_vmdk_header h;
	unsigned int i;
	u8 b[512];

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		int ret;

		vd_vm_hinit(b, 6291456, VD_VM_FLAGS);
		if (c[i].width == 1) {
			b[c[i].off] = (u8)c[i].val;
		} else {
			vd_put_le32(b + c[i].off, (u32)c[i].val);
			if (c[i].width == 8)
				vd_put_le32(b + c[i].off + 4, (u32)(c[i].val >> 32));
		}
		ret = vd_vm_hparse(test, b, 1 << 20, false, &h);
		KUNIT_EXPECT_TRUE_MSG(test, ret == c[i].err, "case %u: %d, want %d (%s)", i, ret,
				      c[i].err,
				      vd_vm_msgbuf);
		KUNIT_EXPECT_TRUE_MSG(test, strstr(vd_vm_msgbuf, c[i].says),
				      "case %u: '%s' lacks '%s'", i,
				      vd_vm_msgbuf, c[i].says);
	}
	/* a GD past the end of a truncated file */
	vd_vm_hinit(b, 6291456, VD_VM_FLAGS);
	KUNIT_EXPECT_EQ(test, vd_vm_hparse(test, b, 4096, false, &h), -EINVAL);
	VD_EXPECT_CONTAINS(test, vd_vm_msgbuf, "outside the file");
}

static void vdisk_vmdk_gd_gt_entries(struct kunit *test)
{
	struct vd_vmdk_header h;
	u32 kind;
	u64 off;
	u8 b[512];

	vd_vm_hinit(b, 6291456, VD_VM_FLAGS | VD_VMDK_FLAG_ZERO_GRAIN);
	KUNIT_ASSERT_TRUE(test, vd_vm_hparse(test, b, 1 << 20, false, &h) == 0);
	KUNIT_EXPECT_EQ(test, vd_vmdk_gd_entry(&h, 0, 1 << 20, &vd_vm_msg), 0);
	KUNIT_EXPECT_EQ(test, vd_vmdk_gd_entry(&h, 100, 1 << 20, &vd_vm_msg), 0);
	vd_vm_msgbuf[0] = '\0';
	KUNIT_EXPECT_EQ(test, vd_vmdk_gd_entry(&h, 2045, 1 << 20, &vd_vm_msg),
			-EIO);	/* 2 KiB GT ends past EOF */
	VD_EXPECT_CONTAINS(test, vd_vm_msgbuf, "grain table outside");
	KUNIT_EXPECT_EQ(test, vd_vmdk_gt_entry(&h, 0, 1 << 20, &kind, &off, &vd_vm_msg), 0);
	KUNIT_EXPECT_EQ(test, kind, VD_VMDK_GRAIN_UNALLOCATED);
	KUNIT_EXPECT_EQ(test, vd_vmdk_gt_entry(&h, 1, 1 << 20, &kind, &off, &vd_vm_msg), 0);
	KUNIT_EXPECT_EQ(test, kind, VD_VMDK_GRAIN_ZERO);
	KUNIT_EXPECT_EQ(test, vd_vmdk_gt_entry(&h, 128, 1 << 20, &kind, &off, &vd_vm_msg), 0);
	KUNIT_EXPECT_EQ(test, kind, VD_VMDK_GRAIN_DATA);
	KUNIT_EXPECT_EQ(test, off, 65536);
	KUNIT_EXPECT_EQ(test, vd_vmdk_gt_entry(&h, 1920, 1 << 20, &kind, &off, &vd_vm_msg),
			0);	/* ends at EOF */
	vd_vm_msgbuf[0] = '\0';
	KUNIT_EXPECT_EQ(test, vd_vmdk_gt_entry(&h, 1921, 1 << 20, &kind, &off, &vd_vm_msg), -EIO);
	VD_EXPECT_CONTAINS(test, vd_vm_msgbuf, "grain outside");
	KUNIT_EXPECT_EQ(test, vd_vmdk_gt_entry(&h, 0xffffffff, 1 << 20, &kind, &off, &vd_vm_msg),
			-EIO);
	/* GTE 1 without the zeroed-grain flag is a grain in the header */
	vd_vm_hinit(b, 6291456, VD_VM_FLAGS);
	KUNIT_ASSERT_TRUE(test, vd_vm_hparse(test, b, 1 << 20, false, &h) == 0);
	vd_vm_msgbuf[0] = '\0';
	KUNIT_EXPECT_EQ(test, vd_vmdk_gt_entry(&h, 1, 1 << 20, &kind, &off, &vd_vm_msg), 0);
	KUNIT_EXPECT_EQ(test, kind, VD_VMDK_GRAIN_DATA);
}

static void vdisk_vmdk_markers(struct kunit *test)
{
	u32 flags = VD_VM_FLAGS | VD_VMDK_FLAG_COMPRESSED | VD_VMDK_FLAG_MARKERS;
	struct vd_vmdk_header h;
	u8 b[512], m[12], *f = kunit_kzalloc(test, 1536, GFP_KERNEL);
	u32 len;

	KUNIT_ASSERT_NOT_NULL(test, f);
	vd_vm_hinit(b, 131072, flags);
	b[77] = 1;
	KUNIT_ASSERT_TRUE(test, vd_vm_hparse(test, b, 1 << 20, false, &h) == 0);
	memset(m, 0, sizeof(m));
	vd_put_le32(m, 256);
	vd_put_le32(m + 8, 1000);
	KUNIT_EXPECT_EQ(test, vd_vmdk_grain_marker(&h, m, 256, 66560, &len, &vd_vm_msg), 0);
	KUNIT_EXPECT_EQ(test, len, 1000);
	vd_vm_msgbuf[0] = '\0';
	KUNIT_EXPECT_EQ(test, vd_vmdk_grain_marker(&h, m, 128, 66560, &len, &vd_vm_msg), -EIO);
	VD_EXPECT_CONTAINS(test, vd_vm_msgbuf, "lba");
	vd_put_le32(m + 8, 0);
	KUNIT_EXPECT_EQ(test, vd_vmdk_grain_marker(&h, m, 256, 66560, &len, &vd_vm_msg), -EIO);
	vd_put_le32(m + 8, 66561);
	KUNIT_EXPECT_EQ(test, vd_vmdk_grain_marker(&h, m, 256, 66560, &len, &vd_vm_msg), -EIO);
	memset(f, 0, 1536);
	vd_put_le32(f + 12, VD_VMDK_MARKER_FOOTER);
	KUNIT_EXPECT_EQ(test, vd_vmdk_footer_marker(f, &vd_vm_msg), 0);
	vd_put_le32(f + 12, VD_VMDK_MARKER_GD);
	vd_vm_msgbuf[0] = '\0';
	KUNIT_EXPECT_EQ(test, vd_vmdk_footer_marker(f, &vd_vm_msg), -EINVAL);
	VD_EXPECT_CONTAINS(test, vd_vm_msgbuf, "footer");
}

/* --- vd_vmdk_set_parent(): the descriptor for another parent ---------- */

static char vd_vm_setp_out[8192];
static size_t vd_vm_setp_len;

/* Rewrite @text (exact-size heap copy) into vd_vm_setp_out as a C string. */
static int vd_vm_setp(struct kunit *test, const char *text, u32 cid, const char *hint, size_t room)
{
	size_t n = strlen(text);
	char *copy = kunit_kmalloc(test, n ? n : 1, GFP_KERNEL);
	char *out = kunit_kmalloc(test, room ? room : 1, GFP_KERNEL);
	int ret;

	KUNIT_ASSERT_NOT_NULL(test, copy);
	KUNIT_ASSERT_NOT_NULL(test, out);
	memcpy(copy, text, n);
	vd_vm_msgbuf[0] = '\0';
	vd_vm_setp_len = 12345;
	ret = vd_vmdk_set_parent(copy, n, cid, hint, out, room, &vd_vm_setp_len, &vd_vm_msg);
	kunit_kfree(test, copy);
	if (ret) {
		KUNIT_EXPECT_TRUE_MSG(test, vd_vm_msgbuf[0], "refusal %d without a message", ret);
		KUNIT_EXPECT_EQ(test, vd_vm_setp_len, 0);
	} else {
		KUNIT_EXPECT_TRUE_MSG(test, !vd_vm_msgbuf[0], "success with a message: %s",
				      vd_vm_msgbuf);
		KUNIT_EXPECT_LE(test, vd_vm_setp_len, room);
		KUNIT_EXPECT_LT(test, vd_vm_setp_len, sizeof(vd_vm_setp_out));
		memcpy(vd_vm_setp_out, out, vd_vm_setp_len);
		vd_vm_setp_out[vd_vm_setp_len] = '\0';
	}
	kunit_kfree(test, out);
	return ret;
}

static const char vd_vm_desc_mono[] =
	"# Disk DescriptorFile\n"
	"version=1\n"
	"CID=0badf00d\n"
	"parentCID=ffffffff\n"
	"createType=\"monolithicSparse\"\n"
	"\n"
	"# Extent description\n"
	"RW 204800 SPARSE \"top.vmdk\"\n"
	"\n"
	"# The Disk Data Base\n"
	"#DDB\n"
	"\n"
	"ddb.virtualHWVersion = \"4\"\n";

static void vdisk_vmdk_set_parent_add_replace_remove(struct kunit *test)
{
	char *step = kunit_kmalloc(test, 8192, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, step);

	/* a parent for a disk without one: the hint goes after createType */
	KUNIT_ASSERT_TRUE(test, vd_vm_setp(test, vd_vm_desc_mono, 0x1234abcd,
					   "../base dir/gold.vmdk", 8192) == 0);
	/* vd_vm_edit() returns a static buffer: one edit at a time */
	strscpy(step, vd_vm_edit(vd_vm_desc_mono, "parentCID=ffffffff", "parentCID=1234abcd"),
		8192);
	KUNIT_EXPECT_STREQ(test, vd_vm_setp_out,
			   vd_vm_edit(step, "\"monolithicSparse\"\n",
				      "\"monolithicSparse\"\n"
				      "parentFileNameHint=\"../base dir/gold.vmdk\"\n"));
	KUNIT_ASSERT_TRUE(test, vd_vm_parse(test, vd_vm_setp_out) == 0);
	KUNIT_EXPECT_TRUE(test, vd_vm_d.has_parent);
	KUNIT_EXPECT_EQ(test, vd_vm_d.parent_cid, 0x1234abcd);
	KUNIT_EXPECT_EQ(test, vd_vm_d.cid, 0x0badf00d);
	KUNIT_EXPECT_STREQ(test, vd_vm_d.parent_hint, "../base dir/gold.vmdk");
	KUNIT_EXPECT_EQ(test, vd_vm_d.nr_extents, 1);

	/* another parent: both lines replaced in place, nothing added */
	strscpy(step, vd_vm_setp_out, 8192);
	KUNIT_ASSERT_TRUE(test, vd_vm_setp(test, step, 0x00000007, "raw base.img", 8192) == 0);
	strscpy(step, vd_vm_edit(step, "parentCID=1234abcd", "parentCID=00000007"), 8192);
	KUNIT_EXPECT_STREQ(test, vd_vm_setp_out, vd_vm_edit(step, "../base dir/gold.vmdk",
							    "raw base.img"));
	strscpy(step, vd_vm_setp_out, 8192);
	KUNIT_ASSERT_TRUE(test, vd_vm_parse(test, vd_vm_setp_out) == 0);
	KUNIT_EXPECT_EQ(test, vd_vm_d.parent_cid, 7);
	KUNIT_EXPECT_STREQ(test, vd_vm_d.parent_hint, "raw base.img");

	/* the same again: the same text */
	KUNIT_ASSERT_TRUE(test, vd_vm_setp(test, step, 7, "raw base.img", 8192) == 0);
	KUNIT_EXPECT_STREQ(test, vd_vm_setp_out, step);

	/* no parent any more: the hint line goes, parentCID ffffffff */
	KUNIT_ASSERT_TRUE(test, vd_vm_setp(test, step, VD_VMDK_NO_PARENT_CID, "", 8192) == 0);
	KUNIT_EXPECT_STREQ(test, vd_vm_setp_out, vd_vm_desc_mono);
	KUNIT_ASSERT_TRUE(test, vd_vm_parse(test, vd_vm_setp_out) == 0);
	KUNIT_EXPECT_TRUE(test, !vd_vm_d.has_parent);
}

static void vdisk_vmdk_set_parent_missing_lines_crlf_spacing(struct kunit *test)
{
	/* no parentCID line: inserted after CID; CRLF kept and used */
	const char *t = "version=1\r\nCID=5\r\ncreateType=\"monolithicFlat\"\r\n"
			"RW 100 FLAT \"f.img\" 0\r\n";

	KUNIT_ASSERT_TRUE(test, vd_vm_setp(test, t, 0xabc, "p.qcow2", 8192) == 0);
	KUNIT_EXPECT_STREQ(test, vd_vm_setp_out, "version=1\r\nCID=5\r\nparentCID=00000abc\r\n"
			"createType=\"monolithicFlat\"\r\nparentFileNameHint=\"p.qcow2\"\r\n"
			"RW 100 FLAT \"f.img\" 0\r\n");
	KUNIT_ASSERT_TRUE(test, vd_vm_parse(test, vd_vm_setp_out) == 0);
	KUNIT_EXPECT_EQ(test, vd_vm_d.parent_cid, 0xabc);

	/* spaced keys and a quoted value are recognised and replaced */
	t = "version = 1\nCID = \"1\"\n parentCID = \"ffffffff\" \n"
	    "parentFileNameHint = \"old\"\ncreateType = \"monolithicFlat\"\n"
	    "RW 100 FLAT \"a=parentCID.img\" 0\n# parentCID=1\n";
	KUNIT_ASSERT_TRUE(test, vd_vm_setp(test, t, 1, "new", 8192) == 0);
	KUNIT_EXPECT_STREQ(test, vd_vm_setp_out, "version = 1\nCID = \"1\"\nparentCID=00000001\n"
			"parentFileNameHint=\"new\"\ncreateType = \"monolithicFlat\"\n"
			"RW 100 FLAT \"a=parentCID.img\" 0\n# parentCID=1\n");

	/* the last line without a line break; text after a NUL dropped */
	t = "version=1\nCID=5\nRW 100 FLAT \"f\" 0\ncreateType=\"monolithicFlat\"";
	KUNIT_ASSERT_TRUE(test, vd_vm_setp(test, t, 2, "b", 8192) == 0);
	KUNIT_EXPECT_STREQ(test, vd_vm_setp_out,
			   "version=1\nCID=5\nparentCID=00000002\nRW 100 FLAT \"f\" 0\n"
			"createType=\"monolithicFlat\"\nparentFileNameHint=\"b\"\n");
	KUNIT_ASSERT_TRUE(test, vd_vm_parse(test, vd_vm_setp_out) == 0);
	{
		static const char emb[] = "version=1\nCID=5\ncreateType=\"monolithicFlat\"\n"
					  "RW 1 FLAT \"f\" 0\n\0\0\0garbage";
		char *out = kunit_kmalloc(test, 8192, GFP_KERNEL);
		size_t n;

		KUNIT_ASSERT_NOT_NULL(test, out);
		vd_vm_msgbuf[0] = '\0';
		KUNIT_ASSERT_TRUE(test, vd_vmdk_set_parent(emb, sizeof(emb) - 1, 3, "", out, 8192,
							   &n, &vd_vm_msg) == 0);
		KUNIT_EXPECT_EQ(test, n, strlen(emb) + strlen("parentCID=00000003\n"));
		KUNIT_EXPECT_TRUE(test, !memchr(out, '\0', n));
	}
}

static void vdisk_vmdk_set_parent_refusals(struct kunit *test)
{
	char *big = kunit_kmalloc(test, 1100, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, big);
	memset(big, 'n', 1100);
	big[1024] = '\0';
	KUNIT_EXPECT_EQ(test, vd_vm_setp(test, vd_vm_desc_mono, 1, big, 8192), -EFBIG);
	VD_EXPECT_CONTAINS(test, vd_vm_msgbuf, "parentFileNameHint");
	big[1023] = '\0';
	KUNIT_ASSERT_TRUE(test, vd_vm_setp(test, vd_vm_desc_mono, 1, big, 8192) == 0);
	KUNIT_ASSERT_TRUE(test, vd_vm_parse(test, vd_vm_setp_out) == 0);
	KUNIT_EXPECT_EQ(test, strlen(vd_vm_d.parent_hint), 1023);

	KUNIT_EXPECT_EQ(test, vd_vm_setp(test, vd_vm_desc_mono, 1, "a\"b", 8192), -EINVAL);
	VD_EXPECT_CONTAINS(test, vd_vm_msgbuf, "double quote");
	KUNIT_EXPECT_EQ(test, vd_vm_setp(test, vd_vm_desc_mono, 1, "a\nparentCID=1", 8192),
			-EINVAL);
	VD_EXPECT_CONTAINS(test, vd_vm_msgbuf, "control character");

	/* room: exactly enough, one byte short */
	KUNIT_ASSERT_TRUE(test, vd_vm_setp(test, vd_vm_desc_mono, 1, "b", 8192) == 0);
	{
		size_t need = vd_vm_setp_len;

		KUNIT_EXPECT_EQ(test, vd_vm_setp(test, vd_vm_desc_mono, 1, "b", need), 0);
		KUNIT_EXPECT_EQ(test, vd_vm_setp(test, vd_vm_desc_mono, 1, "b", need - 1), -EFBIG);
		VD_EXPECT_CONTAINS(test, vd_vm_msgbuf, "room");
	}
	KUNIT_EXPECT_EQ(test, vd_vm_setp(test, "version=1\nCID=1\n", 1, "b", 8192), -EINVAL);
	VD_EXPECT_CONTAINS(test, vd_vm_msgbuf, "createType");
}

static struct kunit_case vdisk_vmdk_cases[] = {
	KUNIT_CASE_PARAM(vdisk_vmdk_header, vd_vm_h_gen_params),
	KUNIT_CASE_PARAM(vdisk_vmdk_descriptor, vd_vm_d_gen_params),
	KUNIT_CASE(vdisk_vmdk_gt_entry),
	KUNIT_CASE(vdisk_vmdk_desc_twogb_sparse),
	KUNIT_CASE(vdisk_vmdk_desc_flat_zero_offsets_crlf),
	KUNIT_CASE(vdisk_vmdk_desc_delta),
	KUNIT_CASE(vdisk_vmdk_desc_refusals),
	KUNIT_CASE(vdisk_vmdk_desc_no_extents_and_too_many),
	KUNIT_CASE(vdisk_vmdk_desc_overflowing_sum),
	KUNIT_CASE(vdisk_vmdk_desc_garbage_and_nul),
	KUNIT_CASE(vdisk_vmdk_header_valid),
	KUNIT_CASE(vdisk_vmdk_header_stream_optimized),
	KUNIT_CASE(vdisk_vmdk_header_refusals),
	KUNIT_CASE(vdisk_vmdk_gd_gt_entries),
	KUNIT_CASE(vdisk_vmdk_markers),
	KUNIT_CASE(vdisk_vmdk_set_parent_add_replace_remove),
	KUNIT_CASE(vdisk_vmdk_set_parent_missing_lines_crlf_spacing),
	KUNIT_CASE(vdisk_vmdk_set_parent_refusals),
	{}
};

static struct kunit_suite vdisk_vmdk_suite = {
	.name = "vdisk_vmdk",
	.test_cases = vdisk_vmdk_cases,
};

kunit_test_suite(vdisk_vmdk_suite);
