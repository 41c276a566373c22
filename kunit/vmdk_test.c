// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite vdisk_vmdk: vmdk descriptor parsing, sparse header
 * validation and grain table entry decoding (vd_vmdk.c) in the kernel.
 *
 * Header cases are a monolithicSparse header laid out as qemu-img writes
 * it with one field poked; descriptor cases are the descriptor qemu-img
 * writes for twoGbMaxExtentSparse with one line replaced.  Each gives the
 * errno it must get and a word the message must contain.
 */
#include <kunit/test.h>
#include <linux/slab.h>

#include "vd_vmdk.h"

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

static struct kunit_case vdisk_vmdk_cases[] = {
	KUNIT_CASE_PARAM(vdisk_vmdk_header, vd_vm_h_gen_params),
	KUNIT_CASE_PARAM(vdisk_vmdk_descriptor, vd_vm_d_gen_params),
	KUNIT_CASE(vdisk_vmdk_gt_entry),
	{}
};

static struct kunit_suite vdisk_vmdk_suite = {
	.name = "vdisk_vmdk",
	.test_cases = vdisk_vmdk_cases,
};

kunit_test_suite(vdisk_vmdk_suite);
