// SPDX-License-Identifier: GPL-2.0
/*
 * qcow2 header, table entry and snapshot record decoding.
 *
 * Written from QEMU's format description (docs/interop/qcow2.txt).  All
 * input is untrusted image content: every length is checked against the
 * buffer before a byte is read, every offset against the file size, and
 * every sum of two 64-bit values for overflow.  A refusal names the field
 * and its value.  No division by 64-bit values: all sizes are powers of
 * two and are handled with shifts and masks.
 */
#include "vd_qcow2.h"

/* Header extension types */
#define VD_QCOW2_EXT_END		0x00000000U
#define VD_QCOW2_EXT_BACKING_FORMAT	0xe2792acaU
#define VD_QCOW2_EXT_FEATURE_NAMES	0x6803f857U
#define VD_QCOW2_EXT_BITMAPS		0x23852875U
#define VD_QCOW2_EXT_CRYPTO		0x0537be77U
#define VD_QCOW2_EXT_DATA_FILE		0x44415441U

/* More extensions than this in one cluster is not an image but an attack. */
#define VD_QCOW2_MAX_EXTENSIONS		1024
#define VD_QCOW2_EXT_HDR_LEN		8

/* Feature name table entry: type u8, bit u8, name[46] */
#define VD_QCOW2_FEATURE_ENTRY_LEN	48
#define VD_QCOW2_FEATURE_NAME_LEN	46
#define VD_QCOW2_FEAT_INCOMPAT		0

/* QEMU's limit on the refcount table: 8 MiB */
#define VD_QCOW2_MAX_REFTABLE_BYTES	(8U << 20)

#define VD_QCOW2_COMPRESSION_OFFSET	104
#define VD_QCOW2_MAX_REFCOUNT_ORDER	6
#define VD_QCOW2_EXTL2_MIN_CLUSTER_BITS	14

/* Snapshot table records */
#define VD_QCOW2_SNAPSHOT_HDR_LEN	40
#define VD_QCOW2_MAX_SNAPSHOT_EXTRA	1024

/* Standard L2 entry: bits 1..8 and 56..61 are reserved */
#define VD_QCOW2_L2E_STD_RESERVED	0x3f000000000001feULL
/* L1 entry: bits 0..8 and 56..62 are reserved */
#define VD_QCOW2_L1E_RESERVED		(~(VD_QCOW2_L1E_OFFSET_MASK | VD_QCOW2_OFLAG_COPIED))

/* Compressed entries keep offsets below 2^56 like every other pointer. */
#define VD_QCOW2_MAX_HOST_BITS		56

/* true if [off, off + len) ends at or before @limit, without overflow */
static bool vd_qcow2_fits(u64 off, u64 len, u64 limit)
{
	return off <= limit && len <= limit - off;
}

/* Copy a not NUL-terminated string of @n bytes; false if it holds a NUL. */
static bool vd_qcow2_copy_str(char *dst, const u8 *src, size_t n)
{
	if (memchr(src, 0, n))
		return false;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return true;
}

/*
 * Walking the header extensions: (type u32, length u32, data, padding to 8)
 * from the end of the fixed header to @end (the backing file name, or the
 * end of the first cluster).
 */
struct vd_qcow2_ext_iter {
	const u8 *buf;
	size_t len;
	u32 off;
	u32 end;
	unsigned int count;
};

/*
 * Return: 1 with *@type, *@data and *@dlen set; 0 at the end (type 0 or the
 * end of the area); -EINVAL (with @msg, which may be NULL) when malformed.
 */
static int vd_qcow2_ext_next(struct vd_qcow2_ext_iter *it, u32 *type,
			     const u8 **data, u32 *dlen, struct vd_msg *msg)
{
	u32 off = it->off, room;
	u64 next;

	if (off >= it->end)
		return 0;
	room = it->end - off;
	if (room < VD_QCOW2_EXT_HDR_LEN) {
		vd_msg_set(msg,
			   "qcow2 header: header extension at offset %u crosses the end of the extension area at %u",
			   off, it->end);
		return -EINVAL;
	}
	if ((size_t)off + VD_QCOW2_EXT_HDR_LEN > it->len) {
		vd_msg_set(msg,
			   "qcow2 header: header extensions truncated at offset %u (%zu bytes read)",
			   off, it->len);
		return -EINVAL;
	}
	*type = vd_be32(it->buf + off);
	*dlen = vd_be32(it->buf + off + 4);
	if (*type == VD_QCOW2_EXT_END)
		return 0;
	if (++it->count > VD_QCOW2_MAX_EXTENSIONS) {
		vd_msg_set(msg, "qcow2 header: more than %u header extensions",
			   VD_QCOW2_MAX_EXTENSIONS);
		return -EINVAL;
	}
	if (*dlen > room - VD_QCOW2_EXT_HDR_LEN) {
		vd_msg_set(msg,
			   "qcow2 header: header extension 0x%08x at offset %u: length %u runs past the extension area end %u",
			   *type, off, *dlen, it->end);
		return -EINVAL;
	}
	if ((size_t)off + VD_QCOW2_EXT_HDR_LEN + *dlen > it->len) {
		vd_msg_set(msg,
			   "qcow2 header: header extensions truncated: extension 0x%08x at offset %u needs %u bytes, %zu read",
			   *type, off, VD_QCOW2_EXT_HDR_LEN + *dlen, it->len);
		return -EINVAL;
	}
	*data = it->buf + off + VD_QCOW2_EXT_HDR_LEN;
	next = (u64)off + VD_QCOW2_EXT_HDR_LEN + (((u64)*dlen + 7) & ~7ULL);
	it->off = next < it->end ? (u32)next : it->end;
	return 1;
}

/*
 * Look @bit of the incompatible features up in the feature name table, if
 * the image has one; best effort (a malformed area yields no name).  The
 * name is made printable: it ends up in the kernel log.
 */
static bool vd_qcow2_feature_name(const struct vd_qcow2_ext_iter *area,
				  unsigned int bit, char *name)
{
	struct vd_qcow2_ext_iter it = *area;
	const u8 *data;
	u32 type, dlen;

	while (vd_qcow2_ext_next(&it, &type, &data, &dlen, NULL) > 0) {
		u32 i, j;

		if (type != VD_QCOW2_EXT_FEATURE_NAMES)
			continue;
		for (i = 0; i + VD_QCOW2_FEATURE_ENTRY_LEN <= dlen;
		     i += VD_QCOW2_FEATURE_ENTRY_LEN) {
			const u8 *e = data + i;

			if (e[0] != VD_QCOW2_FEAT_INCOMPAT || e[1] != bit || !e[2])
				continue;
			for (j = 0; j < VD_QCOW2_FEATURE_NAME_LEN && e[2 + j]; j++)
				name[j] = e[2 + j] >= 0x20 && e[2 + j] < 0x7f ?
					  e[2 + j] : '?';
			name[j] = '\0';
			return true;
		}
	}
	return false;
}

static int vd_qcow2_check_incompat(const struct vd_qcow2_header *h,
				   const struct vd_qcow2_ext_iter *area,
				   struct vd_msg *msg)
{
	u64 unknown = h->incompatible_features & ~VD_QCOW2_INCOMPAT_KNOWN;
	char name[VD_QCOW2_FEATURE_NAME_LEN + 1];
	unsigned int bit;

	if (!unknown)
		return 0;
	for (bit = 0; !(unknown & 1); bit++)
		unknown >>= 1;
	if (vd_qcow2_feature_name(area, bit, name))
		vd_msg_set(msg,
			   "qcow2 header: unknown incompatible feature '%s' (bit %u)",
			   name, bit);
	else
		vd_msg_set(msg,
			   "qcow2 header: incompatible feature bit %u (unknown) not supported",
			   bit);
	return -EOPNOTSUPP;
}

static int vd_qcow2_check_compression(struct vd_qcow2_header *h, const u8 *p,
				      struct vd_msg *msg)
{
	bool bit = h->incompatible_features & VD_QCOW2_INCOMPAT_COMPRESSION;
	u32 type = 0;

	if (h->header_length > VD_QCOW2_COMPRESSION_OFFSET)
		type = p[VD_QCOW2_COMPRESSION_OFFSET];
	if (!bit) {
		if (type) {
			vd_msg_set(msg,
				   "qcow2 header: compression_type %u without incompatible feature bit 3 (compression type)",
				   type);
			return -EINVAL;
		}
		h->compression_type = VD_QCOW2_COMPRESS_ZLIB;
		return 0;
	}
	if (h->header_length <= VD_QCOW2_COMPRESSION_OFFSET) {
		vd_msg_set(msg,
			   "qcow2 header: incompatible feature bit 3 (compression type) set but header_length %u has no compression_type field",
			   h->header_length);
		return -EINVAL;
	}
	if (type == VD_QCOW2_COMPRESS_ZLIB) {
		vd_msg_set(msg,
			   "qcow2 header: compression_type 0 (zlib) with incompatible feature bit 3 (compression type) set");
		return -EINVAL;
	}
	if (type != VD_QCOW2_COMPRESS_ZSTD) {
		vd_msg_set(msg, "qcow2 header: compression_type %u not supported",
			   type);
		return -EOPNOTSUPP;
	}
	h->compression_type = type;
	return 0;
}

/*
 * Geometry: L2 size, the L1 table covering the virtual size, and where the
 * three tables lie.  Tables may not start in the header cluster.
 */
static int vd_qcow2_check_tables(struct vd_qcow2_header *h, u64 file_size,
				 struct vd_msg *msg)
{
	u64 mask = h->cluster_size - 1, needed, end;
	u32 shift;

	if (h->extended_l2 && h->cluster_bits < VD_QCOW2_EXTL2_MIN_CLUSTER_BITS) {
		vd_msg_set(msg,
			   "qcow2 header: cluster_bits %u too small for extended L2 entries (needs >= %u)",
			   h->cluster_bits, VD_QCOW2_EXTL2_MIN_CLUSTER_BITS);
		return -EINVAL;
	}
	h->l2_entry_size = h->extended_l2 ? 16 : 8;
	h->l2_bits = h->cluster_bits - (h->extended_l2 ? 4 : 3);

	/* virtual bytes covered by one L1 entry: 2^shift, shift <= 39 */
	shift = h->cluster_bits + h->l2_bits;
	needed = h->size >> shift;
	if (h->size & ((1ULL << shift) - 1))
		needed++;
	if (h->l1_size > VD_QCOW2_MAX_L1_ENTRIES) {
		vd_msg_set(msg, "qcow2 header: l1_size %u exceeds %u entries",
			   h->l1_size, VD_QCOW2_MAX_L1_ENTRIES);
		return -EFBIG;
	}
	if (needed > VD_QCOW2_MAX_L1_ENTRIES) {
		vd_msg_set(msg,
			   "qcow2 header: size %llu needs %llu L1 entries, more than %u",
			   h->size, needed, VD_QCOW2_MAX_L1_ENTRIES);
		return -EFBIG;
	}
	if (h->l1_size < needed) {
		vd_msg_set(msg,
			   "qcow2 header: l1_size %u too small for size %llu (needs %llu entries)",
			   h->l1_size, h->size, needed);
		return -EINVAL;
	}
	if (h->l1_offset & mask) {
		vd_msg_set(msg,
			   "qcow2 header: l1_table_offset 0x%llx not aligned to the cluster size %llu",
			   h->l1_offset, h->cluster_size);
		return -EINVAL;
	}
	if (h->l1_size) {
		if (!h->l1_offset) {
			vd_msg_set(msg,
				   "qcow2 header: l1_table_offset 0 overlaps the header");
			return -EINVAL;
		}
		if (!vd_qcow2_fits(h->l1_offset, (u64)h->l1_size * 8, file_size)) {
			vd_msg_set(msg,
				   "qcow2 header: L1 table (l1_table_offset 0x%llx, l1_size %u) past the end of the file (%llu bytes)",
				   h->l1_offset, h->l1_size, file_size);
			return -EINVAL;
		}
	}

	if (!h->refcount_table_clusters) {
		vd_msg_set(msg, "qcow2 header: refcount_table_clusters is 0");
		return -EINVAL;
	}
	if (h->refcount_table_clusters >
	    VD_QCOW2_MAX_REFTABLE_BYTES >> h->cluster_bits) {
		vd_msg_set(msg,
			   "qcow2 header: refcount_table_clusters %u exceeds %u (8 MiB)",
			   h->refcount_table_clusters,
			   VD_QCOW2_MAX_REFTABLE_BYTES >> h->cluster_bits);
		return -EFBIG;
	}
	if (h->refcount_table_offset & mask) {
		vd_msg_set(msg,
			   "qcow2 header: refcount_table_offset 0x%llx not aligned to the cluster size %llu",
			   h->refcount_table_offset, h->cluster_size);
		return -EINVAL;
	}
	if (!h->refcount_table_offset) {
		vd_msg_set(msg,
			   "qcow2 header: refcount_table_offset 0 overlaps the header");
		return -EINVAL;
	}
	end = (u64)h->refcount_table_clusters << h->cluster_bits;
	if (!vd_qcow2_fits(h->refcount_table_offset, end, file_size)) {
		vd_msg_set(msg,
			   "qcow2 header: refcount table (refcount_table_offset 0x%llx, %u clusters) past the end of the file (%llu bytes)",
			   h->refcount_table_offset, h->refcount_table_clusters,
			   file_size);
		return -EINVAL;
	}

	if (h->nb_snapshots > VD_QCOW2_MAX_SNAPSHOTS) {
		vd_msg_set(msg, "qcow2 header: nb_snapshots %u exceeds %u",
			   h->nb_snapshots, VD_QCOW2_MAX_SNAPSHOTS);
		return -EFBIG;
	}
	if (h->snapshots_offset & mask) {
		vd_msg_set(msg,
			   "qcow2 header: snapshots_offset 0x%llx not aligned to the cluster size %llu",
			   h->snapshots_offset, h->cluster_size);
		return -EINVAL;
	}
	if (h->nb_snapshots) {
		if (!h->snapshots_offset) {
			vd_msg_set(msg,
				   "qcow2 header: snapshots_offset 0 overlaps the header");
			return -EINVAL;
		}
		/* each record is at least VD_QCOW2_SNAPSHOT_HDR_LEN bytes */
		end = (u64)h->nb_snapshots * VD_QCOW2_SNAPSHOT_HDR_LEN;
		if (!vd_qcow2_fits(h->snapshots_offset, end, file_size)) {
			vd_msg_set(msg,
				   "qcow2 header: snapshot table (snapshots_offset 0x%llx, nb_snapshots %u) past the end of the file (%llu bytes)",
				   h->snapshots_offset, h->nb_snapshots, file_size);
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * The backing file name: inside the first cluster after the fixed header,
 * 1..1023 bytes, no NUL.  A zero backing_file_size means no backing file.
 */
static int vd_qcow2_read_backing(struct vd_qcow2_header *h, const u8 *p,
				 size_t len, u64 off, u32 size,
				 struct vd_msg *msg)
{
	if (!off)
		return 0;
	if (off < h->header_length || off >= h->cluster_size) {
		vd_msg_set(msg,
			   "qcow2 header: backing_file_offset %llu outside %u..%llu (after the header, inside the first cluster)",
			   off, h->header_length, h->cluster_size - 1);
		return -EINVAL;
	}
	if (!size)
		return 0;
	if (size > VD_QCOW2_BACKING_NAME_MAX) {
		vd_msg_set(msg,
			   "qcow2 header: backing_file_size %u exceeds %u bytes",
			   size, VD_QCOW2_BACKING_NAME_MAX);
		return -EINVAL;
	}
	if (size > h->cluster_size - off) {
		vd_msg_set(msg,
			   "qcow2 header: backing file name (backing_file_offset %llu, backing_file_size %u) runs past the first cluster",
			   off, size);
		return -EINVAL;
	}
	if (off + size > len) {
		vd_msg_set(msg,
			   "qcow2 header: backing file name (backing_file_offset %llu, backing_file_size %u) truncated: %zu bytes read",
			   off, size, len);
		return -EINVAL;
	}
	if (!vd_qcow2_copy_str(h->backing_name, p + off, size)) {
		vd_msg_set(msg,
			   "qcow2 header: backing file name (backing_file_offset %llu) contains a NUL byte",
			   off);
		return -EINVAL;
	}
	h->backing_offset = off;
	h->backing_len = size;
	return 0;
}

/* A string extension (backing format, data file name): once, bounded, no NUL. */
static int vd_qcow2_ext_string(const char *what, char *dst, u32 max,
			       const u8 *data, u32 dlen, bool *seen,
			       struct vd_msg *msg)
{
	if (*seen) {
		vd_msg_set(msg, "qcow2 header: %s appears twice", what);
		return -EINVAL;
	}
	*seen = true;
	if (dlen > max) {
		vd_msg_set(msg, "qcow2 header: %s length %u exceeds %u", what, dlen, max);
		return -EINVAL;
	}
	if (!vd_qcow2_copy_str(dst, data, dlen)) {
		vd_msg_set(msg, "qcow2 header: %s contains a NUL byte", what);
		return -EINVAL;
	}
	return 0;
}

static int vd_qcow2_read_extensions(struct vd_qcow2_header *h,
				    struct vd_qcow2_ext_iter *it,
				    struct vd_msg *msg)
{
	bool seen_format = false, seen_data_file = false;
	const u8 *data;
	u32 type, dlen;
	int ret;

	while ((ret = vd_qcow2_ext_next(it, &type, &data, &dlen, msg)) > 0) {
		switch (type) {
		case VD_QCOW2_EXT_BACKING_FORMAT:
			ret = vd_qcow2_ext_string("backing format extension", h->backing_format,
						  VD_QCOW2_FORMAT_NAME_MAX, data, dlen,
						  &seen_format, msg);
			if (ret)
				return ret;
			break;
		case VD_QCOW2_EXT_DATA_FILE:
			ret = vd_qcow2_ext_string("external data file name",
						  h->data_file_name,
						  VD_QCOW2_BACKING_NAME_MAX, data, dlen,
						  &seen_data_file, msg);
			if (ret)
				return ret;
			break;
		case VD_QCOW2_EXT_CRYPTO:
			/* crypt_method 0 here: the extension must be absent */
			vd_msg_set(msg,
				   "qcow2 header: crypto header extension in an unencrypted image");
			return -EINVAL;
		case VD_QCOW2_EXT_FEATURE_NAMES:	/* used for messages only */
		case VD_QCOW2_EXT_BITMAPS:		/* nothing to do when reading */
		default:				/* unknown: ignorable */
			break;
		}
	}
	return ret;
}

static const char *vd_qcow2_crypt_name(u32 method)
{
	return method == 1 ? "AES" : method == 2 ? "LUKS" : "unknown";
}

int vd_qcow2_parse_header(const void *buf, size_t len, u64 file_size,
			  struct vd_qcow2_header *h, struct vd_msg *msg)
{
	const u8 *p = buf;
	struct vd_qcow2_ext_iter area;
	u64 backing_off;
	u32 backing_size, crypt;
	int ret;

	memset(h, 0, sizeof(*h));
	if (len > file_size)
		len = file_size;
	if (len < VD_QCOW2_V2_HEADER_LEN) {
		vd_msg_set(msg, "qcow2 header: truncated: %zu bytes, needs %u",
			   len, VD_QCOW2_V2_HEADER_LEN);
		return -EINVAL;
	}
	if (vd_be32(p) != VD_QCOW2_MAGIC) {
		vd_msg_set(msg, "qcow2 header: bad magic 0x%08x", vd_be32(p));
		return -EINVAL;
	}
	h->version = vd_be32(p + 4);
	if (h->version != 2 && h->version != 3) {
		vd_msg_set(msg, "qcow2 header: version %u not supported (2 or 3)",
			   h->version);
		return -EOPNOTSUPP;
	}
	h->cluster_bits = vd_be32(p + 20);
	if (h->cluster_bits < VD_QCOW2_MIN_CLUSTER_BITS ||
	    h->cluster_bits > VD_QCOW2_MAX_CLUSTER_BITS) {
		vd_msg_set(msg, "qcow2 header: cluster_bits %u outside %u..%u",
			   h->cluster_bits, VD_QCOW2_MIN_CLUSTER_BITS,
			   VD_QCOW2_MAX_CLUSTER_BITS);
		return -EINVAL;
	}
	h->cluster_size = 1ULL << h->cluster_bits;
	backing_off = vd_be64(p + 8);
	backing_size = vd_be32(p + 16);
	h->size = vd_be64(p + 24);
	crypt = vd_be32(p + 32);
	h->l1_size = vd_be32(p + 36);
	h->l1_offset = vd_be64(p + 40);
	h->refcount_table_offset = vd_be64(p + 48);
	h->refcount_table_clusters = vd_be32(p + 56);
	h->nb_snapshots = vd_be32(p + 60);
	h->snapshots_offset = vd_be64(p + 64);

	if (h->version == 2) {
		h->header_length = VD_QCOW2_V2_HEADER_LEN;
		h->refcount_order = 4;
	} else {
		if (len < VD_QCOW2_V3_HEADER_LEN) {
			vd_msg_set(msg,
				   "qcow2 header: truncated: %zu bytes, version 3 needs %u",
				   len, VD_QCOW2_V3_HEADER_LEN);
			return -EINVAL;
		}
		h->incompatible_features = vd_be64(p + 72);
		h->compatible_features = vd_be64(p + 80);
		h->autoclear_features = vd_be64(p + 88);
		h->refcount_order = vd_be32(p + 96);
		h->header_length = vd_be32(p + 100);
		if (h->header_length < VD_QCOW2_V3_HEADER_LEN ||
		    (h->header_length & 7) ||
		    h->header_length > h->cluster_size) {
			vd_msg_set(msg,
				   "qcow2 header: header_length %u not a multiple of 8 in %u..%llu",
				   h->header_length, VD_QCOW2_V3_HEADER_LEN,
				   h->cluster_size);
			return -EINVAL;
		}
		if (h->header_length > len) {
			vd_msg_set(msg,
				   "qcow2 header: truncated: header_length %u, %zu bytes read",
				   h->header_length, len);
			return -EINVAL;
		}
	}
	if (h->refcount_order > VD_QCOW2_MAX_REFCOUNT_ORDER) {
		vd_msg_set(msg, "qcow2 header: refcount_order %u exceeds %u",
			   h->refcount_order, VD_QCOW2_MAX_REFCOUNT_ORDER);
		return -EINVAL;
	}

	/* the extension area ends where the backing file name starts */
	area.buf = p;
	area.len = len;
	area.off = h->header_length;
	area.end = h->cluster_size;
	if (backing_off && backing_off < h->cluster_size)
		area.end = (u32)backing_off;
	area.count = 0;

	ret = vd_qcow2_check_incompat(h, &area, msg);
	if (ret)
		return ret;
	h->dirty = h->incompatible_features & VD_QCOW2_INCOMPAT_DIRTY;
	h->corrupt = h->incompatible_features & VD_QCOW2_INCOMPAT_CORRUPT;
	h->has_data_file = h->incompatible_features & VD_QCOW2_INCOMPAT_DATA_FILE;
	h->extended_l2 = h->incompatible_features & VD_QCOW2_INCOMPAT_EXTL2;

	if (crypt) {
		vd_msg_set(msg,
			   "qcow2 header: crypt_method %u (%s): encrypted images not supported",
			   crypt, vd_qcow2_crypt_name(crypt));
		return crypt <= 2 ? -EOPNOTSUPP : -EINVAL;
	}
	ret = vd_qcow2_check_compression(h, p, msg);
	if (ret)
		return ret;
	ret = vd_qcow2_check_tables(h, file_size, msg);
	if (ret)
		return ret;
	ret = vd_qcow2_read_backing(h, p, len, backing_off, backing_size, msg);
	if (ret)
		return ret;
	return vd_qcow2_read_extensions(h, &area, msg);
}

/* Append extension (@type, @data, @dlen) at *@pos of @out, padded to 8. */
static int vd_qcow2_put_ext(u8 *out, size_t len, u32 *pos, u32 type,
			    const void *data, u32 dlen, struct vd_msg *msg)
{
	u64 need = VD_QCOW2_EXT_HDR_LEN + (((u64)dlen + 7) & ~7ULL);

	if (need > len - *pos) {
		vd_msg_set(msg,
			   "qcow2 header: header extension 0x%08x (%u bytes) does not fit in the first cluster (%zu bytes)",
			   type, dlen, len);
		return -EFBIG;
	}
	vd_put_be32(out + *pos, type);
	vd_put_be32(out + *pos + 4, dlen);
	memcpy(out + *pos + VD_QCOW2_EXT_HDR_LEN, data, dlen);
	*pos += need;
	return 0;
}

int vd_qcow2_set_backing(const void *old, size_t len,
			 const struct vd_qcow2_header *h, const char *name,
			 const char *format, void *out, size_t *write_len,
			 struct vd_msg *msg)
{
	size_t name_len = strlen(name), fmt_len = 0, end;
	const u8 *p = old, *data;
	struct vd_qcow2_ext_iter it;
	u8 *o = out;
	u64 old_off;
	u32 pos, type, dlen, old_end;
	int ret;

	*write_len = 0;
	if (name_len && format)
		fmt_len = strlen(format);
	if (name_len > VD_QCOW2_BACKING_NAME_MAX) {
		vd_msg_set(msg,
			   "qcow2 header: backing file name of %zu bytes exceeds %u (backing_file_size)",
			   name_len, VD_QCOW2_BACKING_NAME_MAX);
		return -EFBIG;
	}
	if (fmt_len > VD_QCOW2_FORMAT_NAME_MAX) {
		vd_msg_set(msg,
			   "qcow2 header: backing format name of %zu bytes exceeds %u",
			   fmt_len, VD_QCOW2_FORMAT_NAME_MAX);
		return -EFBIG;
	}
	/* The parser's own bounds: anything else is not the buffer parsed. */
	if (len < VD_QCOW2_V2_HEADER_LEN || len > h->cluster_size ||
	    h->header_length > len) {
		vd_msg_set(msg,
			   "qcow2 header: %zu bytes given for a %llu-byte first cluster with a %u-byte header",
			   len, h->cluster_size, h->header_length);
		return -EINVAL;
	}

	memset(o, 0, len);
	memcpy(o, p, h->header_length);
	pos = h->header_length;
	if (fmt_len) {
		ret = vd_qcow2_put_ext(o, len, &pos, VD_QCOW2_EXT_BACKING_FORMAT,
				       format, fmt_len, msg);
		if (ret)
			return ret;
	}

	/* The old extension area, bounded as vd_qcow2_parse_header() does. */
	old_off = vd_be64(p + 8);
	it.buf = p;
	it.len = len;
	it.off = h->header_length;
	it.end = h->cluster_size;
	if (old_off && old_off < h->cluster_size)
		it.end = (u32)old_off;
	it.count = 0;
	while ((ret = vd_qcow2_ext_next(&it, &type, &data, &dlen, msg)) > 0) {
		if (type == VD_QCOW2_EXT_BACKING_FORMAT)
			continue;
		ret = vd_qcow2_put_ext(o, len, &pos, type, data, dlen, msg);
		if (ret)
			return ret;
	}
	if (ret)
		return ret;
	/* it.off is the old end-of-extensions marker (or the area's end). */
	old_end = it.off + VD_QCOW2_EXT_HDR_LEN;
	if (h->backing_len && h->backing_offset + h->backing_len > old_end)
		old_end = h->backing_offset + h->backing_len;

	/* The end-of-extensions marker: 8 zero bytes, already there. */
	if (VD_QCOW2_EXT_HDR_LEN + name_len > len - pos) {
		vd_msg_set(msg,
			   "qcow2 header: backing file name of %zu bytes does not fit in the first cluster (%zu bytes, extensions end at %u)",
			   name_len, len, pos);
		return -EFBIG;
	}
	pos += VD_QCOW2_EXT_HDR_LEN;
	memcpy(o + pos, name, name_len);
	vd_put_be64(o + 8, name_len ? pos : 0);
	vd_put_be32(o + 16, name_len);
	pos += name_len;

	end = pos > old_end ? pos : old_end;
	end = (end + 511) & ~(size_t)511;
	*write_len = end < len ? end : len;
	return 0;
}

int vd_qcow2_l1_entry(const struct vd_qcow2_header *h, u64 entry,
		      u64 *l2_off, u64 file_size, struct vd_msg *msg)
{
	u64 off = entry & VD_QCOW2_L1E_OFFSET_MASK;

	*l2_off = 0;
	if (entry & VD_QCOW2_L1E_RESERVED) {
		vd_msg_set(msg, "qcow2 L1 entry 0x%016llx: reserved bits 0x%llx set",
			   entry, entry & VD_QCOW2_L1E_RESERVED);
		return -EIO;
	}
	if (!off)
		return 0;
	if (off & (h->cluster_size - 1)) {
		vd_msg_set(msg,
			   "qcow2 L1 entry 0x%016llx: L2 table offset 0x%llx not cluster aligned",
			   entry, off);
		return -EIO;
	}
	if (!vd_qcow2_fits(off, h->cluster_size, file_size)) {
		vd_msg_set(msg,
			   "qcow2 L1 entry 0x%016llx: L2 table at 0x%llx past the end of the file (%llu bytes)",
			   entry, off, file_size);
		return -EIO;
	}
	*l2_off = off;
	return 0;
}

int vd_qcow2_reftable_entry(const struct vd_qcow2_header *h, u64 entry,
			    u64 *rb_off, u64 file_size, struct vd_msg *msg)
{
	u64 off = entry & VD_QCOW2_RTE_OFFSET_MASK;

	*rb_off = 0;
	if (entry & ~VD_QCOW2_RTE_OFFSET_MASK) {
		vd_msg_set(msg, "qcow2 refcount table entry 0x%016llx: reserved bits set",
			   entry);
		return -EIO;
	}
	if (!off)
		return 0;
	if (off & (h->cluster_size - 1)) {
		vd_msg_set(msg,
			   "qcow2 refcount table entry 0x%016llx: block offset not cluster aligned",
			   entry);
		return -EIO;
	}
	if (off < h->cluster_size || !vd_qcow2_fits(off, h->cluster_size, file_size)) {
		vd_msg_set(msg,
			   "qcow2 refcount table entry 0x%016llx: block outside the file (%llu bytes)",
			   entry, file_size);
		return -EIO;
	}
	*rb_off = off;
	return 0;
}

u64 vd_qcow2_refcount_get(const void *block, u32 order, u64 index)
{
	const u8 *b = block;

	switch (order) {
	case 0:
	case 1:
	case 2: {
		u32 bits = 1U << order, per_byte = 8 >> order;
		u32 shift = (index % per_byte) * bits;

		return (b[index / per_byte] >> shift) & ((1U << bits) - 1);
	}
	case 3:
		return b[index];
	case 4:
		return vd_be16(b + 2 * index);
	case 5:
		return vd_be32(b + 4 * index);
	default:
		return vd_be64(b + 8 * index);
	}
}

void vd_qcow2_refcount_set(void *block, u32 order, u64 index, u64 value)
{
	u8 *b = block;

	switch (order) {
	case 0:
	case 1:
	case 2: {
		u32 bits = 1U << order, per_byte = 8 >> order;
		u32 shift = (index % per_byte) * bits;
		u8 mask = ((1U << bits) - 1) << shift;

		b[index / per_byte] = (b[index / per_byte] & ~mask) |
				      ((value << shift) & mask);
		break;
	}
	case 3:
		b[index] = value;
		break;
	case 4:
		b[2 * index] = value >> 8;
		b[2 * index + 1] = value;
		break;
	case 5:
		vd_put_be32(b + 4 * index, value);
		break;
	default:
		vd_put_be64(b + 8 * index, value);
		break;
	}
}

static int vd_qcow2_compressed(const struct vd_qcow2_header *h, u64 entry,
			       u64 bitmap, struct vd_qcow2_cluster *c,
			       struct vd_msg *msg)
{
	u32 x = 62 - (h->cluster_bits - 8);
	u64 off = entry & ((1ULL << x) - 1);
	u64 sectors = ((entry >> x) & ((1ULL << (h->cluster_bits - 8)) - 1)) + 1;

	if (entry & VD_QCOW2_OFLAG_COPIED) {
		vd_msg_set(msg,
			   "qcow2 L2 entry 0x%016llx: compressed cluster with the COPIED bit",
			   entry);
		return -EIO;
	}
	if (h->extended_l2 && bitmap) {
		vd_msg_set(msg,
			   "qcow2 L2 entry 0x%016llx: compressed cluster with subcluster bitmap 0x%016llx",
			   entry, bitmap);
		return -EIO;
	}
	if (off >> VD_QCOW2_MAX_HOST_BITS) {
		vd_msg_set(msg,
			   "qcow2 L2 entry 0x%016llx: compressed data offset 0x%llx beyond 2^56",
			   entry, off);
		return -EIO;
	}
	if (h->has_data_file) {
		vd_msg_set(msg,
			   "qcow2 L2 entry 0x%016llx: compressed cluster in an image with an external data file",
			   entry);
		return -EIO;
	}
	c->kind = VD_QCOW2_COMPRESSED;
	c->host_off = off;
	c->comp_len = (sectors << 9) - (off & 511);
	return 0;
}

int vd_qcow2_l2_entry(const struct vd_qcow2_header *h, u64 entry, u64 bitmap,
		      struct vd_qcow2_cluster *c, struct vd_msg *msg)
{
	u64 reserved = VD_QCOW2_L2E_STD_RESERVED;
	u64 off = entry & VD_QCOW2_L2E_OFFSET_MASK;
	bool has_host;

	memset(c, 0, sizeof(*c));
	if (entry & VD_QCOW2_OFLAG_COMPRESSED)
		return vd_qcow2_compressed(h, entry, bitmap, c, msg);

	/* the zero flag exists in v3 without extended L2 only */
	if (h->version < 3 || h->extended_l2)
		reserved |= VD_QCOW2_OFLAG_ZERO;
	if (entry & reserved) {
		vd_msg_set(msg, "qcow2 L2 entry 0x%016llx: reserved bits 0x%llx set",
			   entry, entry & reserved);
		return -EIO;
	}
	if (off & (h->cluster_size - 1)) {
		vd_msg_set(msg,
			   "qcow2 L2 entry 0x%016llx: data offset 0x%llx not cluster aligned",
			   entry, off);
		return -EIO;
	}
	if (off + h->cluster_size < off) {
		vd_msg_set(msg,
			   "qcow2 L2 entry 0x%016llx: data cluster at 0x%llx overflows",
			   entry, off);
		return -EIO;
	}
	/*
	 * Offset 0 means unallocated, except with an external data file,
	 * where 0 is a valid offset told apart by the COPIED bit.
	 */
	has_host = off || (h->has_data_file && (entry & VD_QCOW2_OFLAG_COPIED));

	if (!h->extended_l2) {
		if (entry & VD_QCOW2_OFLAG_ZERO)
			c->kind = VD_QCOW2_ZERO;
		else
			c->kind = has_host ? VD_QCOW2_NORMAL : VD_QCOW2_UNALLOCATED;
		c->host_off = off;
		return 0;
	}

	c->sub_alloc = (u32)bitmap;
	c->sub_zero = (u32)(bitmap >> 32);
	if (c->sub_alloc & c->sub_zero) {
		vd_msg_set(msg,
			   "qcow2 L2 entry 0x%016llx: subcluster bitmap 0x%016llx has subclusters both allocated and zero (0x%08x)",
			   entry, bitmap, c->sub_alloc & c->sub_zero);
		return -EIO;
	}
	if (!has_host && c->sub_alloc) {
		vd_msg_set(msg,
			   "qcow2 L2 entry 0x%016llx: subcluster bitmap 0x%016llx allocates subclusters of an unallocated cluster",
			   entry, bitmap);
		return -EIO;
	}
	c->kind = has_host ? VD_QCOW2_NORMAL : VD_QCOW2_UNALLOCATED;
	c->host_off = off;
	return 0;
}

int vd_qcow2_parse_snapshot(const struct vd_qcow2_header *h, const void *buf,
			    size_t len, u64 file_size,
			    struct vd_qcow2_snapshot *s, size_t *rec_len,
			    struct vd_msg *msg)
{
	const u8 *p = buf;
	u32 extra, id_len, name_len;
	size_t need, padded;

	memset(s, 0, sizeof(*s));
	*rec_len = 0;
	if (len < VD_QCOW2_SNAPSHOT_HDR_LEN) {
		vd_msg_set(msg,
			   "qcow2 snapshot: record truncated: %zu bytes, needs %u",
			   len, VD_QCOW2_SNAPSHOT_HDR_LEN);
		return -EINVAL;
	}
	s->l1_offset = vd_be64(p);
	s->l1_size = vd_be32(p + 8);
	id_len = vd_be16(p + 12);
	name_len = vd_be16(p + 14);
	s->date_sec = vd_be32(p + 16);
	s->vm_state_size = vd_be32(p + 32);
	extra = vd_be32(p + 36);

	if (extra > VD_QCOW2_MAX_SNAPSHOT_EXTRA) {
		vd_msg_set(msg,
			   "qcow2 snapshot: extra_data_size %u exceeds %u",
			   extra, VD_QCOW2_MAX_SNAPSHOT_EXTRA);
		return -EINVAL;
	}
	if (id_len >= sizeof(s->id)) {
		vd_msg_set(msg, "qcow2 snapshot: id_str_size %u exceeds %zu",
			   id_len, sizeof(s->id) - 1);
		return -EINVAL;
	}
	if (name_len >= sizeof(s->name)) {
		vd_msg_set(msg, "qcow2 snapshot: name_size %u exceeds %zu",
			   name_len, sizeof(s->name) - 1);
		return -EINVAL;
	}
	/* all four bounded above: no overflow */
	need = VD_QCOW2_SNAPSHOT_HDR_LEN + (size_t)extra + id_len + name_len;
	if (need > len) {
		vd_msg_set(msg,
			   "qcow2 snapshot: record of %zu bytes (extra_data_size %u, id_str_size %u, name_size %u) runs past the table (%zu bytes left)",
			   need, extra, id_len, name_len, len);
		return -EINVAL;
	}
	memcpy(s->id, p + VD_QCOW2_SNAPSHOT_HDR_LEN + extra, id_len);
	s->id[id_len] = '\0';
	memcpy(s->name, p + VD_QCOW2_SNAPSHOT_HDR_LEN + extra + id_len, name_len);
	s->name[name_len] = '\0';

	if (extra >= 8)
		s->vm_state_size = vd_be64(p + VD_QCOW2_SNAPSHOT_HDR_LEN);
	if (extra >= 16)
		s->disk_size = vd_be64(p + VD_QCOW2_SNAPSHOT_HDR_LEN + 8);
	else
		s->disk_size = h->size;

	if (s->l1_size > VD_QCOW2_MAX_L1_ENTRIES) {
		vd_msg_set(msg,
			   "qcow2 snapshot '%s': l1_size %u exceeds %u entries",
			   s->id, s->l1_size, VD_QCOW2_MAX_L1_ENTRIES);
		return -EINVAL;
	}
	if (s->l1_offset & (h->cluster_size - 1)) {
		vd_msg_set(msg,
			   "qcow2 snapshot '%s': l1_table_offset 0x%llx not cluster aligned",
			   s->id, s->l1_offset);
		return -EINVAL;
	}
	if (s->l1_size && (!s->l1_offset ||
			   !vd_qcow2_fits(s->l1_offset, (u64)s->l1_size * 8,
					  file_size))) {
		vd_msg_set(msg,
			   "qcow2 snapshot '%s': L1 table (l1_table_offset 0x%llx, l1_size %u) outside the file (%llu bytes)",
			   s->id, s->l1_offset, s->l1_size, file_size);
		return -EINVAL;
	}

	/* the last record's padding may be missing */
	padded = (need + 7) & ~(size_t)7;
	*rec_len = padded < len ? padded : len;
	return 0;
}
