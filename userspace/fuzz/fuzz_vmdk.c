// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_vmdk.c - libFuzzer target: vmdk decoding (vd_vmdk.c).
 *
 * Input: file size (8 bytes, little-endian), then a selector byte: even,
 * the rest is a descriptor; odd, the rest is a 512-byte sparse header
 * (padded with zeros if shorter) followed by u32 GD/GT entries and grain
 * markers.  Checked: every buffer is an exact-size heap copy (ASan sees
 * overreads); a refusal always says why and success never does; what is
 * accepted keeps the promises of vd_vmdk.h (extents inside the text and
 * of positive size adding up, strings terminated, tables inside the file,
 * powers of two, grains inside the file); an accepted descriptor given
 * another parent by vd_vmdk_set_parent() is accepted again, with that
 * parent, as the same disk, and needs exactly the room it said.
 */
#include <stdint.h>
#include <stdlib.h>

#include "vd_vmdk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "violated: %s\n", #c); abort(); } } while (0)
#define MAX_EXT	VD_VMDK_MAX_EXTENTS	/* descriptors with thousands of extents */

static char msgbuf[256];
static struct vd_msg msg = { .buf = msgbuf, .len = sizeof(msgbuf) };

static void check_said(int ret)
{
	if (ret)
		CHECK(msgbuf[0] != '\0');
	else
		CHECK(msgbuf[0] == '\0');
	msgbuf[0] = '\0';
}

static bool fits(u64 off, u64 len, u64 limit)
{
	return off <= limit && len <= limit - off;
}

/*
 * vd_vmdk_set_parent() on an accepted descriptor: the result parses, says
 * what was asked, and describes the same disk.
 */
static void check_set_parent(const char *text, size_t n, const struct vd_vmdk_desc *was)
{
	static struct vd_vmdk_extent ext2[MAX_EXT];
	static char longest[VD_VMDK_NAME_MAX + 1];
	struct vd_vmdk_desc d2 = { .ext = ext2 };
	const char *hints[] = { "", "base.vmdk", "../a dir/b=c.vmdk", longest };
	const char *hint = hints[n % 4];
	u32 cid = (u32)(n * 2654435761U);
	size_t room, len, lines = 1, i;
	char *out;
	int ret;

	memset(longest, 'x', VD_VMDK_NAME_MAX);
	/* every parentCID / parentFileNameHint line is replaced: room for all */
	for (i = 0; i < n; i++)
		lines += text[i] == '\n';
	room = n + 64 + lines * (strlen(hint) + 64);
	out = malloc(room);
	ret = vd_vmdk_set_parent(text, n, cid, hint, out, room, &len, &msg);
	check_said(ret);
	CHECK(ret == 0 && len <= room);
	free(out);
	out = malloc(len ? len : 1);
	ret = vd_vmdk_set_parent(text, n, cid, hint, out, len, &len, &msg);
	check_said(ret);
	CHECK(ret == 0);
	ret = vd_vmdk_parse_descriptor(out, len, &d2, MAX_EXT, &msg);
	check_said(ret);
	CHECK(ret == 0);
	CHECK(d2.parent_cid == cid && d2.cid == was->cid);
	CHECK(d2.has_parent == (hint[0] != '\0'));
	CHECK(!strcmp(d2.parent_hint, hint));
	CHECK(d2.nr_extents == was->nr_extents && d2.sectors == was->sectors);
	CHECK(d2.create_type == was->create_type && d2.version == was->version);
	if (len) {
		ret = vd_vmdk_set_parent(text, n, cid, hint, out, len - 1, &len, &msg);
		check_said(ret);
		CHECK(ret == -EFBIG);
	}
	free(out);
}

static void fuzz_desc(const uint8_t *p, size_t n)
{
	static struct vd_vmdk_extent ext[MAX_EXT];
	struct vd_vmdk_desc d = { .ext = ext };
	char *copy = malloc(n ? n : 1);
	u64 sum = 0;
	u32 i, files = 0;
	int ret;

	memcpy(copy, p, n);
	ret = vd_vmdk_parse_descriptor(copy, n, &d, MAX_EXT, &msg);
	check_said(ret);
	if (ret) {
		CHECK(ret == -EINVAL || ret == -EOPNOTSUPP || ret == -EFBIG);
		free(copy);
		return;
	}
	CHECK(d.version >= 1 && d.version <= 3);
	CHECK(d.create_type < VD_VMDK_CREATE_TYPE_COUNT);
	CHECK(d.nr_extents >= 1 && d.nr_extents <= MAX_EXT);
	CHECK(d.cid_len >= 1 && d.cid_len <= 8 && d.cid_off + d.cid_len <= n);
	CHECK(strlen(d.parent_hint) <= VD_VMDK_NAME_MAX);
	CHECK(d.has_parent == (d.parent_hint[0] != '\0'));
	for (i = 0; i < d.nr_extents; i++) {
		const struct vd_vmdk_extent *e = &ext[i];

		CHECK(e->sectors > 0);
		CHECK(e->type <= VD_VMDK_EXT_ZERO);
		if (e->type == VD_VMDK_EXT_ZERO) {
			CHECK(e->name_len == 0);
		} else {
			files++;
			CHECK(e->name_len >= 1 && e->name_len <= VD_VMDK_NAME_MAX);
			CHECK(e->name_off + e->name_len <= n);
			CHECK(!memchr(copy + e->name_off, '"', e->name_len));
		}
		CHECK(sum + e->sectors > sum);
		sum += e->sectors;
	}
	CHECK(files == d.nr_files);
	CHECK(sum == d.sectors && d.sectors <= (~0ULL >> 9));
	check_set_parent(copy, n, &d);
	free(copy);
}

static void fuzz_header(const uint8_t *p, size_t n, u64 file_size)
{
	struct vd_vmdk_header h;
	uint8_t *copy = calloc(1, 512);
	size_t i;
	int ret;

	memcpy(copy, p, n < 512 ? n : 512);
	ret = vd_vmdk_parse_header(copy, file_size, n & 1, &h, &msg);
	free(copy);
	check_said(ret);
	if (ret) {
		CHECK(ret == -EINVAL || ret == -EOPNOTSUPP || ret == -EFBIG);
		return;
	}
	CHECK(h.capacity >= 1 && h.capacity <= VD_VMDK_MAX_SECTOR);
	CHECK(h.grain_sectors && !(h.grain_sectors & (h.grain_sectors - 1)));
	CHECK(h.grain_sectors <= VD_VMDK_MAX_GRAIN_SECTORS);
	CHECK(1ULL << h.grain_bits == h.grain_sectors * 512);
	CHECK(h.num_gtes && 1U << h.gte_bits == h.num_gtes && h.num_gtes <= VD_VMDK_MAX_GTES);
	CHECK((u64)h.gd_entries << (h.gte_bits + h.grain_bits - 9) >= h.capacity);
	CHECK(h.gd_entries <= VD_VMDK_MAX_GD_ENTRIES);
	if (h.gd_offset != VD_VMDK_GD_AT_END) {
		CHECK(h.gd_offset >= 1 && fits(h.gd_offset << 9, (u64)h.gd_entries * 4, file_size));
		CHECK(!h.rgd_offset ||
		      fits(h.rgd_offset << 9, (u64)h.gd_entries * 4, file_size));
	} else {
		CHECK(h.compressed);
	}
	CHECK(!h.desc_offset || fits(h.desc_offset << 9, h.desc_sectors << 9, file_size));
	if (n <= 512)
		return;
	p += 512;
	n -= 512;
	for (i = 0; i + 4 <= n && i < 256 * 4; i += 4) {
		u32 ent = vd_le32(p + i), kind, clen;
		u64 off;

		ret = vd_vmdk_gd_entry(&h, ent, file_size, &msg);
		check_said(ret);
		if (!ret && ent)
			CHECK(fits((u64)ent << 9, (u64)h.num_gtes * 4, file_size));
		ret = vd_vmdk_gt_entry(&h, ent, file_size, &kind, &off, &msg);
		check_said(ret);
		if (!ret && kind == VD_VMDK_GRAIN_DATA)
			CHECK(off >= 512 && fits(off, 1ULL << h.grain_bits, file_size));
		if (!ret && kind == VD_VMDK_GRAIN_COMPRESSED)
			CHECK(h.compressed && fits(off, VD_VMDK_MARKER_LEN, file_size));
		if (i + 12 <= n) {
			ret = vd_vmdk_grain_marker(&h, p + i, ent, 1U << h.grain_bits,
						   &clen, &msg);
			check_said(ret);
			if (!ret)
				CHECK(clen >= 1 && clen <= 1U << h.grain_bits);
		}
	}
	if (n >= VD_VMDK_FOOTER_LEN) {
		ret = vd_vmdk_footer_marker(p, &msg);
		check_said(ret);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	u64 file_size;
	uint8_t sel;

	if (size < 9)
		return 0;
	file_size = vd_le64(data);
	sel = data[8];
	data += 9;
	size -= 9;
	if (size > VD_VMDK_DESC_MAX + 16)
		return 0;
	if (sel & 1)
		fuzz_header(data, size, file_size);
	else
		fuzz_desc(data, size);
	return 0;
}
