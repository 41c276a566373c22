// SPDX-License-Identifier: GPL-2.0
/*
 * test_vmdk.c - vmdk descriptor, sparse header, table entry and marker
 * decoding (vd_vmdk.c) on inputs crafted in memory.
 *
 * Descriptors are the text qemu-img writes, then edited; headers are laid
 * out as qemu-img lays out a monolithicSparse extent (descriptor at sector
 * 1, redundant GD at 21, GD after it).  Every parse runs on an exact-size
 * heap copy, so ASan catches overreads.
 */
#include <stdlib.h>

#include "vt.h"
#include "vd_vmdk.h"

#define MAX_EXT	16

static char msgbuf[512];
static struct vd_msg msg = { msgbuf, sizeof(msgbuf) };
static struct vd_vmdk_extent ext[MAX_EXT];
static struct vd_vmdk_desc d;

static const char desc_sparse[] =
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
static int parse(const char *text)
{
	size_t n = strlen(text);
	char *copy = malloc(n ? n : 1);
	int ret;

	memcpy(copy, text, n);
	msgbuf[0] = '\0';
	d.ext = ext;
	ret = vd_vmdk_parse_descriptor(copy, n, &d, MAX_EXT, &msg);
	free(copy);
	if (ret)
		VT_EXPECT_MSG(msgbuf[0], "refusal %d without a message", ret);
	else
		VT_EXPECT_MSG(!msgbuf[0], "success with a message: %s", msgbuf);
	return ret;
}

/* @base with the first occurrence of @from replaced by @to; static buffer. */
static const char *edit(const char *base, const char *from, const char *to)
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

VT_TEST(vmdk_desc_twogb_sparse)
{
	VT_ASSERT(parse(desc_sparse) == 0);
	VT_EXPECT_EQ(d.version, 1);
	VT_EXPECT_EQ(d.cid, 0x985d0471);
	VT_EXPECT_EQ(d.parent_cid, VD_VMDK_NO_PARENT_CID);
	VT_EXPECT_EQ(d.create_type, VD_VMDK_TWOGB_SPARSE);
	VT_EXPECT_EQ(d.nr_extents, 2);
	VT_EXPECT_EQ(d.nr_files, 2);
	VT_EXPECT_EQ(d.sectors, 6291456);
	VT_EXPECT_EQ(d.nr_ddb, 3);
	VT_EXPECT(!d.has_parent);
	VT_EXPECT_EQ(ext[1].type, VD_VMDK_EXT_SPARSE);
	VT_EXPECT_EQ(ext[1].sectors, 2097152);
	VT_EXPECT_EQ(ext[1].name_len, strlen("disk-s002.vmdk"));
	VT_EXPECT(!memcmp(desc_sparse + ext[1].name_off, "disk-s002.vmdk", ext[1].name_len));
	VT_EXPECT_EQ(d.cid_len, 8);
	VT_EXPECT(!memcmp(desc_sparse + d.cid_off, "985d0471", 8));
}

VT_TEST(vmdk_desc_flat_zero_offsets_crlf)
{
	const char *t =
		"version=1\r\nCID=1\r\nparentCID=ffffffff\r\n"
		"createType=\"twoGbMaxExtentFlat\"\r\n"
		"RW 100 FLAT \"a b.vmdk\" 0\r\n"
		"RDONLY 50 ZERO\r\n"
		"NOACCESS 10 VMFS \"c.vmdk\" 7\r\n";

	VT_ASSERT(parse(t) == 0);
	VT_EXPECT_EQ(d.nr_extents, 3);
	VT_EXPECT_EQ(d.nr_files, 2);
	VT_EXPECT_EQ(d.sectors, 160);
	VT_EXPECT_EQ(ext[0].name_len, 8);
	VT_EXPECT_EQ(ext[1].type, VD_VMDK_EXT_ZERO);
	VT_EXPECT_EQ(ext[1].access, VD_VMDK_RDONLY);
	VT_EXPECT_EQ(ext[2].type, VD_VMDK_EXT_FLAT);
	VT_EXPECT_EQ(ext[2].offset, 7);
	VT_EXPECT_EQ(ext[2].access, VD_VMDK_NOACCESS);
	VT_EXPECT_EQ(d.cid_len, 1);
}

VT_TEST(vmdk_desc_delta)
{
	const char *t = edit(desc_sparse, "parentCID=ffffffff\n",
			     "parentCID=12ab\nparentFileNameHint=\"../base dir/gold.vmdk\"\n");

	VT_ASSERT(parse(t) == 0);
	VT_EXPECT(d.has_parent);
	VT_EXPECT_EQ(d.parent_cid, 0x12ab);
	VT_EXPECT_STREQ(d.parent_hint, "../base dir/gold.vmdk");
}

VT_TEST(vmdk_desc_refusals)
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
		{ "twoGbMaxExtentSparse\"", "vmfsSparse\"", "createType not supported", -EOPNOTSUPP },
		{ "twoGbMaxExtentSparse\"", "fooBar\"", "unknown createType", -EINVAL },
		{ "createType=\"twoGbMaxExtentSparse\"\n", "", "createType", -EINVAL },
		{ "twoGbMaxExtentSparse\"", "twoGbMaxExtentFlat\"", "SPARSE in a twoGbMaxExtentFlat", -EINVAL },
		{ "twoGbMaxExtentSparse\"", "monolithicSparse\"", "2 extent files", -EINVAL },
		{ "RW 4194304 SPARSE", "RW 0 SPARSE", "extent size", -EINVAL },
		{ "RW 4194304 SPARSE", "RW -5 SPARSE", "extent size", -EINVAL },
		{ "RW 4194304 SPARSE", "RW 99999999999999999999999 SPARSE", "extent size", -EINVAL },
		{ "RW 4194304 SPARSE", "RW 4194304 VMFSSPARSE", "extent type not supported", -EOPNOTSUPP },
		{ "RW 4194304 SPARSE", "RW 4194304 SEPARSE", "unknown extent type", -EINVAL },
		{ "RW 4194304 SPARSE", "RO 4194304 SPARSE", "neither key=value", -EINVAL },
		{ "\"disk-s001.vmdk\"", "disk-s001.vmdk", "quoted file name", -EINVAL },
		{ "\"disk-s001.vmdk\"", "\"disk-s001.vmdk", "not closed", -EINVAL },
		{ "\"disk-s001.vmdk\"", "\"\"", "empty", -EINVAL },
		{ "\"disk-s001.vmdk\"", "\"disk-s001.vmdk\" 5", "extra text", -EINVAL },
		{ "ddb.adapterType = \"ide\"", "ddb.adapterType = \"ide", "quotes", -EINVAL },
		{ "ddb.adapterType = \"ide\"", "just words", "neither key=value", -EINVAL },
		{ "ddb.adapterType = \"ide\"", " = 5", "bad key", -EINVAL },
		{ "parentCID=ffffffff\n", "parentFileNameHint=\"x\"\n", "without a parentCID", -EINVAL },
	};
	unsigned int i;

	for (i = 0; i < VT_ARRAY_SIZE(c); i++) {
		const char *t = edit(desc_sparse, c[i].from, c[i].to);
		int ret;

		VT_EXPECT_MSG(t != desc_sparse, "case %u: '%s' not found", i, c[i].from);
		ret = parse(t);
		VT_EXPECT_MSG(ret == c[i].err, "case %u (%s): %d, want %d (%s)", i, c[i].to,
			      ret, c[i].err, msgbuf);
		VT_EXPECT_MSG(strstr(msgbuf, c[i].says), "case %u: '%s' lacks '%s'", i,
			      msgbuf, c[i].says);
	}
}

VT_TEST(vmdk_desc_no_extents_and_too_many)
{
	char *big;
	size_t n = 0, cap = 64 * (MAX_EXT + 2) + 200;
	unsigned int i;

	VT_EXPECT_EQ(parse("version=1\nCID=1\ncreateType=\"monolithicFlat\"\n"), -EINVAL);
	VT_EXPECT_CONTAINS(msgbuf, "no extent");
	big = malloc(cap);
	n += snprintf(big + n, cap - n, "version=1\nCID=1\ncreateType=\"twoGbMaxExtentFlat\"\n");
	for (i = 0; i < MAX_EXT + 1; i++)
		n += snprintf(big + n, cap - n, "RW 8 FLAT \"f%u\" 0\n", i);
	VT_EXPECT_EQ(parse(big), -EFBIG);
	VT_EXPECT_CONTAINS(msgbuf, "more than");
	free(big);
}

VT_TEST(vmdk_desc_overflowing_sum)
{
	const char *t =
		"version=1\nCID=1\ncreateType=\"twoGbMaxExtentFlat\"\n"
		"RW 1099511627775 FLAT \"a\" 0\n"
		"RW 1099511627775 FLAT \"b\" 0\n"
		"RW 1099511627775 FLAT \"c\" 36028797018963967\n";

	VT_EXPECT(parse(t) != 0);
}

VT_TEST(vmdk_desc_garbage_and_nul)
{
	size_t n = VD_VMDK_DESC_MAX, i;
	char *g = malloc(n + 1);
	int ret;

	/* 1 MiB of pseudo-random bytes after the magic line */
	memcpy(g, "# Disk DescriptorFile\n", 22);
	for (i = 22; i < n; i++)
		g[i] = (char)((i * 2654435761u) >> 13) | 1;
	msgbuf[0] = '\0';
	d.ext = ext;
	ret = vd_vmdk_parse_descriptor(g, n, &d, MAX_EXT, &msg);
	VT_EXPECT(ret == -EINVAL);
	VT_EXPECT(msgbuf[0]);
	msgbuf[0] = '\0';
	ret = vd_vmdk_parse_descriptor(g, n + 1, &d, MAX_EXT, &msg);
	VT_EXPECT_EQ(ret, -EFBIG);
	free(g);
	/* an embedded descriptor ends at its first NUL */
	g = calloc(1, 2048);
	memcpy(g, desc_sparse, sizeof(desc_sparse) - 1);
	memcpy(g + 1500, "garbage", 7);
	d.ext = ext;
	msgbuf[0] = '\0';
	VT_EXPECT_EQ(vd_vmdk_parse_descriptor(g, 2048, &d, MAX_EXT, &msg), 0);
	free(g);
}

/* A monolithicSparse header as qemu-img writes it, for @cap sectors. */
static void hinit(u8 *h, u64 cap, u32 flags)
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

static int hparse(const u8 *h, u64 file_size, bool footer, struct vd_vmdk_header *out)
{
	u8 *copy = malloc(512);
	int ret;

	memcpy(copy, h, 512);
	msgbuf[0] = '\0';
	ret = vd_vmdk_parse_header(copy, file_size, footer, out, &msg);
	free(copy);
	if (ret)
		VT_EXPECT_MSG(msgbuf[0], "refusal %d without a message", ret);
	return ret;
}

#define FLAGS_STD	(VD_VMDK_FLAG_NL_TEST | VD_VMDK_FLAG_RGD)

VT_TEST(vmdk_header_valid)
{
	struct vd_vmdk_header h;
	u8 b[512];

	hinit(b, 6291456, FLAGS_STD);
	VT_ASSERT(hparse(b, 1 << 20, false, &h) == 0);
	VT_EXPECT_EQ(h.capacity, 6291456);
	VT_EXPECT_EQ(h.grain_sectors, 128);
	VT_EXPECT_EQ(h.grain_bits, 16);
	VT_EXPECT_EQ(h.num_gtes, 512);
	VT_EXPECT_EQ(h.gte_bits, 9);
	VT_EXPECT_EQ(h.gd_entries, 96);
	VT_EXPECT_EQ(h.rgd_offset, 21);
	VT_EXPECT(!h.zeroed_grain && !h.compressed && !h.unclean);
	b[72] = 1;
	vd_put_le32(b + 8, FLAGS_STD | VD_VMDK_FLAG_ZERO_GRAIN);
	VT_ASSERT(hparse(b, 1 << 20, false, &h) == 0);
	VT_EXPECT(h.zeroed_grain && h.unclean);
	/* without FLAG_RGD the rGD offset is ignored */
	vd_put_le32(b + 8, VD_VMDK_FLAG_NL_TEST);
	vd_put_le32(b + 48, 0xffffffff);
	VT_ASSERT(hparse(b, 1 << 20, false, &h) == 0);
	VT_EXPECT_EQ(h.rgd_offset, 0);
}

VT_TEST(vmdk_header_stream_optimized)
{
	u32 flags = FLAGS_STD | VD_VMDK_FLAG_COMPRESSED | VD_VMDK_FLAG_MARKERS;
	struct vd_vmdk_header h;
	u8 b[512];

	hinit(b, 131072, flags);
	b[77] = 1;
	VT_ASSERT(hparse(b, 1 << 20, false, &h) == 0);
	VT_EXPECT(h.compressed);
	vd_put_le32(b + 56, 0xffffffff);
	vd_put_le32(b + 60, 0xffffffff);
	VT_ASSERT(hparse(b, 1 << 20, false, &h) == 0);
	VT_EXPECT_EQ(h.gd_offset, VD_VMDK_GD_AT_END);
	VT_EXPECT(hparse(b, 1 << 20, true, &h) == -EINVAL);	/* not in the footer */
	b[77] = 0;
	VT_EXPECT(hparse(b, 1 << 20, false, &h) == -EINVAL);	/* compressed, no algorithm */
	b[77] = 2;
	VT_EXPECT(hparse(b, 1 << 20, false, &h) == -EOPNOTSUPP);
	b[77] = 1;
	vd_put_le32(b + 8, FLAGS_STD | VD_VMDK_FLAG_COMPRESSED);
	VT_EXPECT(hparse(b, 1 << 20, false, &h) == -EOPNOTSUPP);	/* no markers */
}

VT_TEST(vmdk_header_refusals)
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
		{ 8, 4, FLAGS_STD | (1U << 5), -EOPNOTSUPP, "unknown flags" },
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

	for (i = 0; i < VT_ARRAY_SIZE(c); i++) {
		int ret;

		hinit(b, 6291456, FLAGS_STD);
		if (c[i].width == 1) {
			b[c[i].off] = (u8)c[i].val;
		} else {
			vd_put_le32(b + c[i].off, (u32)c[i].val);
			if (c[i].width == 8)
				vd_put_le32(b + c[i].off + 4, (u32)(c[i].val >> 32));
		}
		ret = hparse(b, 1 << 20, false, &h);
		VT_EXPECT_MSG(ret == c[i].err, "case %u: %d, want %d (%s)", i, ret, c[i].err,
			      msgbuf);
		VT_EXPECT_MSG(strstr(msgbuf, c[i].says), "case %u: '%s' lacks '%s'", i,
			      msgbuf, c[i].says);
	}
	/* a GD past the end of a truncated file */
	hinit(b, 6291456, FLAGS_STD);
	VT_EXPECT_EQ(hparse(b, 4096, false, &h), -EINVAL);
	VT_EXPECT_CONTAINS(msgbuf, "outside the file");
}

VT_TEST(vmdk_gd_gt_entries)
{
	struct vd_vmdk_header h;
	u32 kind;
	u64 off;
	u8 b[512];

	hinit(b, 6291456, FLAGS_STD | VD_VMDK_FLAG_ZERO_GRAIN);
	VT_ASSERT(hparse(b, 1 << 20, false, &h) == 0);
	VT_EXPECT_EQ(vd_vmdk_gd_entry(&h, 0, 1 << 20, &msg), 0);
	VT_EXPECT_EQ(vd_vmdk_gd_entry(&h, 100, 1 << 20, &msg), 0);
	msgbuf[0] = '\0';
	VT_EXPECT_EQ(vd_vmdk_gd_entry(&h, 2045, 1 << 20, &msg), -EIO);	/* 2 KiB GT ends past EOF */
	VT_EXPECT_CONTAINS(msgbuf, "grain table outside");
	VT_EXPECT_EQ(vd_vmdk_gt_entry(&h, 0, 1 << 20, &kind, &off, &msg), 0);
	VT_EXPECT_EQ(kind, VD_VMDK_GRAIN_UNALLOCATED);
	VT_EXPECT_EQ(vd_vmdk_gt_entry(&h, 1, 1 << 20, &kind, &off, &msg), 0);
	VT_EXPECT_EQ(kind, VD_VMDK_GRAIN_ZERO);
	VT_EXPECT_EQ(vd_vmdk_gt_entry(&h, 128, 1 << 20, &kind, &off, &msg), 0);
	VT_EXPECT_EQ(kind, VD_VMDK_GRAIN_DATA);
	VT_EXPECT_EQ(off, 65536);
	VT_EXPECT_EQ(vd_vmdk_gt_entry(&h, 1920, 1 << 20, &kind, &off, &msg), 0);	/* ends at EOF */
	msgbuf[0] = '\0';
	VT_EXPECT_EQ(vd_vmdk_gt_entry(&h, 1921, 1 << 20, &kind, &off, &msg), -EIO);
	VT_EXPECT_CONTAINS(msgbuf, "grain outside");
	VT_EXPECT_EQ(vd_vmdk_gt_entry(&h, 0xffffffff, 1 << 20, &kind, &off, &msg), -EIO);
	/* GTE 1 without the zeroed-grain flag is a grain in the header */
	hinit(b, 6291456, FLAGS_STD);
	VT_ASSERT(hparse(b, 1 << 20, false, &h) == 0);
	msgbuf[0] = '\0';
	VT_EXPECT_EQ(vd_vmdk_gt_entry(&h, 1, 1 << 20, &kind, &off, &msg), 0);
	VT_EXPECT_EQ(kind, VD_VMDK_GRAIN_DATA);
}

VT_TEST(vmdk_markers)
{
	u32 flags = FLAGS_STD | VD_VMDK_FLAG_COMPRESSED | VD_VMDK_FLAG_MARKERS;
	struct vd_vmdk_header h;
	u8 b[512], m[12], f[1536];
	u32 len;

	hinit(b, 131072, flags);
	b[77] = 1;
	VT_ASSERT(hparse(b, 1 << 20, false, &h) == 0);
	memset(m, 0, sizeof(m));
	vd_put_le32(m, 256);
	vd_put_le32(m + 8, 1000);
	VT_EXPECT_EQ(vd_vmdk_grain_marker(&h, m, 256, 66560, &len, &msg), 0);
	VT_EXPECT_EQ(len, 1000);
	msgbuf[0] = '\0';
	VT_EXPECT_EQ(vd_vmdk_grain_marker(&h, m, 128, 66560, &len, &msg), -EIO);
	VT_EXPECT_CONTAINS(msgbuf, "lba");
	vd_put_le32(m + 8, 0);
	VT_EXPECT_EQ(vd_vmdk_grain_marker(&h, m, 256, 66560, &len, &msg), -EIO);
	vd_put_le32(m + 8, 66561);
	VT_EXPECT_EQ(vd_vmdk_grain_marker(&h, m, 256, 66560, &len, &msg), -EIO);
	memset(f, 0, sizeof(f));
	vd_put_le32(f + 12, VD_VMDK_MARKER_FOOTER);
	VT_EXPECT_EQ(vd_vmdk_footer_marker(f, &msg), 0);
	vd_put_le32(f + 12, VD_VMDK_MARKER_GD);
	msgbuf[0] = '\0';
	VT_EXPECT_EQ(vd_vmdk_footer_marker(f, &msg), -EINVAL);
	VT_EXPECT_CONTAINS(msgbuf, "footer");
}

/* --- vd_vmdk_set_parent(): the descriptor for another parent ---------- */

static char setp_out[8192];
static size_t setp_len;

/* Rewrite @text (exact-size heap copy) into setp_out as a C string. */
static int setp(const char *text, u32 cid, const char *hint, size_t room)
{
	size_t n = strlen(text);
	char *copy = malloc(n ? n : 1), *out = malloc(room ? room : 1);
	int ret;

	memcpy(copy, text, n);
	msgbuf[0] = '\0';
	setp_len = 12345;
	ret = vd_vmdk_set_parent(copy, n, cid, hint, out, room, &setp_len, &msg);
	free(copy);
	if (ret) {
		VT_EXPECT_MSG(msgbuf[0], "refusal %d without a message", ret);
		VT_EXPECT_EQ(setp_len, 0);
	} else {
		VT_EXPECT_MSG(!msgbuf[0], "success with a message: %s", msgbuf);
		VT_EXPECT(setp_len <= room && setp_len < sizeof(setp_out));
		memcpy(setp_out, out, setp_len);
		setp_out[setp_len] = '\0';
	}
	free(out);
	return ret;
}

static const char desc_mono[] =
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

VT_TEST(vmdk_set_parent_add_replace_remove)
{
	char step[8192];

	/* a parent for a disk without one: the hint goes after createType */
	VT_ASSERT(setp(desc_mono, 0x1234abcd, "../base dir/gold.vmdk", 8192) == 0);
	/* edit() returns a static buffer: one edit at a time */
	strcpy(step, edit(desc_mono, "parentCID=ffffffff", "parentCID=1234abcd"));
	VT_EXPECT_STREQ(setp_out, edit(step, "\"monolithicSparse\"\n",
				      "\"monolithicSparse\"\nparentFileNameHint=\"../base dir/gold.vmdk\"\n"));
	VT_ASSERT(parse(setp_out) == 0);
	VT_EXPECT(d.has_parent);
	VT_EXPECT_EQ(d.parent_cid, 0x1234abcd);
	VT_EXPECT_EQ(d.cid, 0x0badf00d);
	VT_EXPECT_STREQ(d.parent_hint, "../base dir/gold.vmdk");
	VT_EXPECT_EQ(d.nr_extents, 1);

	/* another parent: both lines replaced in place, nothing added */
	strcpy(step, setp_out);
	VT_ASSERT(setp(step, 0x00000007, "raw base.img", 8192) == 0);
	strcpy(step, edit(step, "parentCID=1234abcd", "parentCID=00000007"));
	VT_EXPECT_STREQ(setp_out, edit(step, "../base dir/gold.vmdk", "raw base.img"));
	strcpy(step, setp_out);
	VT_ASSERT(parse(setp_out) == 0);
	VT_EXPECT_EQ(d.parent_cid, 7);
	VT_EXPECT_STREQ(d.parent_hint, "raw base.img");

	/* the same again: the same text */
	VT_ASSERT(setp(step, 7, "raw base.img", 8192) == 0);
	VT_EXPECT_STREQ(setp_out, step);

	/* no parent any more: the hint line goes, parentCID ffffffff */
	VT_ASSERT(setp(step, VD_VMDK_NO_PARENT_CID, "", 8192) == 0);
	VT_EXPECT_STREQ(setp_out, desc_mono);
	VT_ASSERT(parse(setp_out) == 0);
	VT_EXPECT(!d.has_parent);
}

VT_TEST(vmdk_set_parent_missing_lines_crlf_spacing)
{
	/* no parentCID line: inserted after CID; CRLF kept and used */
	const char *t = "version=1\r\nCID=5\r\ncreateType=\"monolithicFlat\"\r\n"
			"RW 100 FLAT \"f.img\" 0\r\n";

	VT_ASSERT(setp(t, 0xabc, "p.qcow2", 8192) == 0);
	VT_EXPECT_STREQ(setp_out, "version=1\r\nCID=5\r\nparentCID=00000abc\r\n"
			"createType=\"monolithicFlat\"\r\nparentFileNameHint=\"p.qcow2\"\r\n"
			"RW 100 FLAT \"f.img\" 0\r\n");
	VT_ASSERT(parse(setp_out) == 0);
	VT_EXPECT_EQ(d.parent_cid, 0xabc);

	/* spaced keys and a quoted value are recognised and replaced */
	t = "version = 1\nCID = \"1\"\n parentCID = \"ffffffff\" \n"
	    "parentFileNameHint = \"old\"\ncreateType = \"monolithicFlat\"\n"
	    "RW 100 FLAT \"a=parentCID.img\" 0\n# parentCID=1\n";
	VT_ASSERT(setp(t, 1, "new", 8192) == 0);
	VT_EXPECT_STREQ(setp_out, "version = 1\nCID = \"1\"\nparentCID=00000001\n"
			"parentFileNameHint=\"new\"\ncreateType = \"monolithicFlat\"\n"
			"RW 100 FLAT \"a=parentCID.img\" 0\n# parentCID=1\n");

	/* the last line without a line break; text after a NUL dropped */
	t = "version=1\nCID=5\nRW 100 FLAT \"f\" 0\ncreateType=\"monolithicFlat\"";
	VT_ASSERT(setp(t, 2, "b", 8192) == 0);
	VT_EXPECT_STREQ(setp_out, "version=1\nCID=5\nparentCID=00000002\nRW 100 FLAT \"f\" 0\n"
			"createType=\"monolithicFlat\"\nparentFileNameHint=\"b\"\n");
	VT_ASSERT(parse(setp_out) == 0);
	{
		static const char emb[] = "version=1\nCID=5\ncreateType=\"monolithicFlat\"\n"
					  "RW 1 FLAT \"f\" 0\n\0\0\0garbage";
		char *out = malloc(8192);
		size_t n;

		msgbuf[0] = '\0';
		VT_ASSERT(vd_vmdk_set_parent(emb, sizeof(emb) - 1, 3, "", out, 8192, &n, &msg) == 0);
		VT_EXPECT_EQ(n, strlen(emb) + strlen("parentCID=00000003\n"));
		VT_EXPECT(!memchr(out, '\0', n));
		free(out);
	}
}

VT_TEST(vmdk_set_parent_refusals)
{
	char big[1100];

	memset(big, 'n', sizeof(big));
	big[1024] = '\0';
	VT_EXPECT_EQ(setp(desc_mono, 1, big, 8192), -EFBIG);
	VT_EXPECT_CONTAINS(msgbuf, "parentFileNameHint");
	big[1023] = '\0';
	VT_ASSERT(setp(desc_mono, 1, big, 8192) == 0);
	VT_ASSERT(parse(setp_out) == 0);
	VT_EXPECT_EQ(strlen(d.parent_hint), 1023);

	VT_EXPECT_EQ(setp(desc_mono, 1, "a\"b", 8192), -EINVAL);
	VT_EXPECT_CONTAINS(msgbuf, "double quote");
	VT_EXPECT_EQ(setp(desc_mono, 1, "a\nparentCID=1", 8192), -EINVAL);
	VT_EXPECT_CONTAINS(msgbuf, "control character");

	/* room: exactly enough, one byte short */
	VT_ASSERT(setp(desc_mono, 1, "b", 8192) == 0);
	{
		size_t need = setp_len;

		VT_EXPECT_EQ(setp(desc_mono, 1, "b", need), 0);
		VT_EXPECT_EQ(setp(desc_mono, 1, "b", need - 1), -EFBIG);
		VT_EXPECT_CONTAINS(msgbuf, "room");
	}
	VT_EXPECT_EQ(setp("version=1\nCID=1\n", 1, "b", 8192), -EINVAL);
	VT_EXPECT_CONTAINS(msgbuf, "createType");
}
