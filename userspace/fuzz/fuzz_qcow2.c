// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_qcow2.c - libFuzzer target: qcow2 decoding (vd_qcow2.c).
 *
 * Input: file size (8 bytes, big-endian), header length N (2 bytes), N
 * bytes of header (the image's first bytes), then the rest: 16-byte
 * (entry, bitmap) pairs for the L1/L2 decoders and, after a 1-byte count
 * of pairs, a snapshot table.  When the header is refused, a geometry
 * taken from the input is used instead, so the entry and snapshot
 * decoders are fuzzed either way.  Checked: every buffer given is an
 * exact-size heap copy (ASan sees overreads); a refusal always says why
 * and success never does; what is accepted keeps the promises of
 * vd_qcow2.h (tables inside the file, L1 covering the size, aligned
 * offsets, strings terminated, consistent subcluster bitmaps, record
 * lengths within the buffer); an accepted header rebuilt for another
 * backing file by vd_qcow2_set_backing() is accepted again, same image.
 */
#include <stdint.h>
#include <stdlib.h>

#include "vd_qcow2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "violated: %s\n", #c); abort(); } } while (0)

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

static void check_header(const struct vd_qcow2_header *h, u64 file_size)
{
	u32 shift = h->cluster_bits + h->l2_bits;
	u64 need = (h->size >> shift) + !!(h->size & ((1ULL << shift) - 1));

	CHECK(h->version == 2 || h->version == 3);
	CHECK(h->cluster_bits >= 9 && h->cluster_bits <= 21);
	CHECK(h->cluster_size == 1ULL << h->cluster_bits);
	CHECK(h->l2_entry_size == (h->extended_l2 ? 16U : 8U));
	CHECK(1ULL << h->l2_bits == h->cluster_size / h->l2_entry_size);
	CHECK(!h->extended_l2 || h->cluster_bits >= 14);
	CHECK(h->l1_size >= need && h->l1_size <= VD_QCOW2_MAX_L1_ENTRIES);
	CHECK(!(h->l1_offset & (h->cluster_size - 1)));
	CHECK(!h->l1_size || fits(h->l1_offset, (u64)h->l1_size * 8, file_size));
	CHECK(!(h->refcount_table_offset & (h->cluster_size - 1)));
	CHECK(h->refcount_table_clusters > 0);
	CHECK(fits(h->refcount_table_offset,
		   (u64)h->refcount_table_clusters << h->cluster_bits, file_size));
	CHECK(h->nb_snapshots <= VD_QCOW2_MAX_SNAPSHOTS);
	CHECK(!h->nb_snapshots || fits(h->snapshots_offset, h->nb_snapshots, file_size));
	CHECK(!(h->incompatible_features & ~VD_QCOW2_INCOMPAT_KNOWN));
	CHECK(h->refcount_order <= 6);
	CHECK(h->header_length >= 72 && h->header_length <= h->cluster_size);
	CHECK(h->compression_type <= VD_QCOW2_COMPRESS_ZSTD);
	CHECK(strlen(h->backing_name) == h->backing_len);
	CHECK(h->backing_len <= VD_QCOW2_BACKING_NAME_MAX);
	CHECK(!h->backing_len ||
	      h->backing_offset + h->backing_len <= h->cluster_size);
	CHECK(strlen(h->backing_format) <= VD_QCOW2_FORMAT_NAME_MAX);
	CHECK(strlen(h->data_file_name) <= VD_QCOW2_BACKING_NAME_MAX);
	CHECK(h->has_data_file == !!(h->incompatible_features & VD_QCOW2_INCOMPAT_DATA_FILE));
}

/*
 * vd_qcow2_set_backing() on an accepted header: the result is accepted
 * again with the new name and format and the same geometry, or refused
 * with -EFBIG for want of room.
 */
static void check_set_backing(const struct vd_qcow2_header *h, const uint8_t *p,
			      size_t n, u64 file_size)
{
	static struct vd_qcow2_header h2;
	static char longest[VD_QCOW2_BACKING_NAME_MAX + 1];
	static const char * const names[] = { "", "base.qcow2", "/a dir/b.raw", longest };
	static const char * const formats[] = { "qcow2", "raw", NULL, "vmdk" };
	const char *name = names[n % 4], *format = formats[(n / 4) % 4];
	size_t len = n < h->cluster_size ? n : h->cluster_size, wl;
	uint8_t *old = malloc(len), *out = malloc(len);
	int ret;

	memset(longest, 'n', VD_QCOW2_BACKING_NAME_MAX);
	memcpy(old, p, len);
	ret = vd_qcow2_set_backing(old, len, h, name, format, out, &wl, &msg);
	check_said(ret);
	if (ret) {
		CHECK(ret == -EFBIG && wl == 0);
		goto out;
	}
	CHECK(wl <= len && (wl == len || !(wl & 511)));
	for (size_t i = wl; i < len; i++)
		CHECK(out[i] == 0);
	ret = vd_qcow2_parse_header(out, len, file_size, &h2, &msg);
	check_said(ret);
	CHECK(ret == 0);
	CHECK(!strcmp(h2.backing_name, name));
	CHECK(!strcmp(h2.backing_format, name[0] && format ? format : ""));
	CHECK(h2.size == h->size && h2.l1_offset == h->l1_offset && h2.l1_size == h->l1_size);
	CHECK(h2.refcount_table_offset == h->refcount_table_offset);
	CHECK(h2.incompatible_features == h->incompatible_features);
	CHECK(!strcmp(h2.data_file_name, h->data_file_name));
	CHECK(h2.compression_type == h->compression_type);
out:
	free(old);
	free(out);
}

/* A geometry from input bytes when the header was refused. */
static void fake_header(struct vd_qcow2_header *h, const uint8_t *p, size_t n)
{
	uint8_t b0 = n > 0 ? p[0] : 0, b1 = n > 1 ? p[1] : 0;

	memset(h, 0, sizeof(*h));
	h->version = b0 & 1 ? 3 : 2;
	h->cluster_bits = 9 + b1 % 13;
	h->extended_l2 = h->version == 3 && (b0 & 2) && h->cluster_bits >= 14;
	h->has_data_file = h->version == 3 && (b0 & 4);
	h->cluster_size = 1ULL << h->cluster_bits;
	h->l2_entry_size = h->extended_l2 ? 16 : 8;
	h->l2_bits = h->cluster_bits - (h->extended_l2 ? 4 : 3);
	h->size = (u64)b0 << 30;
}

static void check_entries(const struct vd_qcow2_header *h, const uint8_t *p, size_t n,
			  u64 file_size)
{
	size_t i;

	for (i = 0; i + 16 <= n && i < 64 * 16; i += 16) {
		u64 entry = vd_be64(p + i), bitmap = vd_be64(p + i + 8);
		struct vd_qcow2_cluster c;
		u64 l2_off = 1;
		int ret;

		ret = vd_qcow2_l1_entry(h, entry, &l2_off, file_size, &msg);
		check_said(ret);
		if (ret) {
			CHECK(ret == -EIO && l2_off == 0);
		} else if (l2_off) {
			CHECK(!(l2_off & (h->cluster_size - 1)));
			CHECK(fits(l2_off, h->cluster_size, file_size));
			CHECK(l2_off == (entry & VD_QCOW2_L1E_OFFSET_MASK));
		}

		ret = vd_qcow2_l2_entry(h, entry, h->extended_l2 ? bitmap : 0, &c, &msg);
		check_said(ret);
		if (ret) {
			CHECK(ret == -EIO);
			continue;
		}
		switch (c.kind) {
		case VD_QCOW2_NORMAL:
			CHECK(!(c.host_off & (h->cluster_size - 1)));
			CHECK(c.host_off + h->cluster_size > c.host_off);
			CHECK(c.host_off || h->has_data_file);
			break;
		case VD_QCOW2_COMPRESSED:
			CHECK(c.comp_len >= 1);
			CHECK(c.comp_len <= (1ULL << (h->cluster_bits - 8)) * 512);
			CHECK(c.host_off < 1ULL << 56);
			CHECK(!(entry & VD_QCOW2_OFLAG_COPIED));
			CHECK(!c.sub_alloc && !c.sub_zero);
			break;
		case VD_QCOW2_ZERO:
			CHECK(!h->extended_l2 && h->version == 3);
			break;
		case VD_QCOW2_UNALLOCATED:
			CHECK(!c.sub_alloc);
			break;
		default:
			CHECK(0);
		}
		CHECK(!(c.sub_alloc & c.sub_zero));
		if (!h->extended_l2)
			CHECK(!c.sub_alloc && !c.sub_zero);
	}
}

static void check_snapshots(const struct vd_qcow2_header *h, const uint8_t *p, size_t n,
			    u64 file_size)
{
	unsigned int i;

	for (i = 0; i < 64 && n; i++) {
		struct vd_qcow2_snapshot s;
		size_t rec_len = ~(size_t)0;
		uint8_t *copy = malloc(n);
		int ret;

		memcpy(copy, p, n);
		ret = vd_qcow2_parse_snapshot(h, copy, n, file_size, &s, &rec_len, &msg);
		free(copy);
		check_said(ret);
		if (ret) {
			CHECK(ret == -EINVAL && rec_len == 0);
			return;
		}
		CHECK(rec_len >= 40 && rec_len <= n);
		CHECK(rec_len == n || !(rec_len & 7));
		CHECK(strlen(s.id) < sizeof(s.id) && strlen(s.name) < sizeof(s.name));
		CHECK(s.l1_size <= VD_QCOW2_MAX_L1_ENTRIES);
		CHECK(!(s.l1_offset & (h->cluster_size - 1)));
		CHECK(!s.l1_size || fits(s.l1_offset, (u64)s.l1_size * 8, file_size));
		p += rec_len;
		n -= rec_len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vd_qcow2_header h;
	size_t hlen, npairs;
	u64 file_size;
	uint8_t *copy;
	int ret;

	if (size < 10)
		return 0;
	file_size = vd_be64(data);
	hlen = vd_be16(data + 8);
	data += 10;
	size -= 10;
	if (hlen > size)
		hlen = size;

	copy = malloc(hlen ? hlen : 1);
	memcpy(copy, data, hlen);
	ret = vd_qcow2_parse_header(copy, hlen, file_size, &h, &msg);
	free(copy);
	check_said(ret);
	if (ret) {
		CHECK(ret == -EINVAL || ret == -EOPNOTSUPP || ret == -EFBIG);
		fake_header(&h, data, hlen);
	} else {
		check_header(&h, file_size);
		check_set_backing(&h, data, hlen, file_size);
	}
	data += hlen;
	size -= hlen;

	if (!size)
		return 0;
	npairs = data[0];
	data++;
	size--;
	if (npairs * 16 > size)
		npairs = size / 16;
	check_entries(&h, data, npairs * 16, file_size);
	check_snapshots(&h, data + npairs * 16, size - npairs * 16, file_size);
	return 0;
}
