/* SPDX-License-Identifier: GPL-2.0 */
/*
 * VMDK on-disk format: decoding and validation (pure code).
 *
 * The format is VMware's "Virtual Disk Format 1.1" for hosted disks.  A
 * disk is a descriptor (text) plus extents:
 *
 *   descriptor   "# Disk DescriptorFile", key=value lines (version, CID,
 *                parentCID, createType, parentFileNameHint), one line per
 *                extent ("RW 4192256 SPARSE \"a-s001.vmdk\""), ddb.* lines.
 *                Either a file of its own or embedded in a sparse extent.
 *   sparse extent (all little-endian)
 *     sector 0   KDMV header: capacity, grain size, descriptor position,
 *                numGTEsPerGT, redundant and primary grain directory
 *     GD         u32 sector offsets of the grain tables, one per
 *                numGTEsPerGT grains; 0 = table not allocated
 *     GT         numGTEsPerGT u32 sector offsets of grains; 0 = not
 *                allocated (read from the parent), 1 = zeroed grain (with
 *                the zeroed-grain flag)
 *     grains     the data; streamOptimized: a grain marker (lba u64,
 *                size u32) then deflate data in zlib format, and the
 *                real header in a footer at the end of the file
 *   flat extent  the bytes themselves, from a sector offset on
 *
 * Everything here works on byte buffers read from the images and trusts
 * none of them: each field is checked before use and a refusal names it.
 */
#ifndef VD_VMDK_H
#define VD_VMDK_H

#include "vd_pure.h"

#define VD_VMDK_MAGIC			0x564d444bU	/* "KDMV" little-endian */
#define VD_VMDK_SECTOR			512ULL
#define VD_VMDK_HEADER_LEN		512
/* Longest descriptor accepted (QEMU reads at most 1 MiB of one too). */
#define VD_VMDK_DESC_MAX		(1024U * 1024)
#define VD_VMDK_MAX_EXTENTS		4096
#define VD_VMDK_NAME_MAX		1023
/* Grains: a power of two from 1 sector to 2 MiB (qemu-img makes 64 KiB). */
#define VD_VMDK_MAX_GRAIN_SECTORS	4096
/* Grain tables: a power of two of entries up to 4096 (VMware uses 512). */
#define VD_VMDK_MAX_GTES		4096
/* Largest grain directory accepted, in entries (16 MiB of directory). */
#define VD_VMDK_MAX_GD_ENTRIES		(4U << 20)
/* Sectors addressable by a u32 grain table entry: the extent's limit. */
#define VD_VMDK_MAX_SECTOR		0xffffffffULL
/* The header's gdOffset for a GD written at the end (streamOptimized). */
#define VD_VMDK_GD_AT_END		0xffffffffffffffffULL

/* Header flags */
#define VD_VMDK_FLAG_NL_TEST		BIT(0)
#define VD_VMDK_FLAG_RGD		BIT(1)
#define VD_VMDK_FLAG_ZERO_GRAIN		BIT(2)
#define VD_VMDK_FLAG_COMPRESSED		BIT(16)
#define VD_VMDK_FLAG_MARKERS		BIT(17)
#define VD_VMDK_FLAGS_KNOWN		(VD_VMDK_FLAG_NL_TEST | VD_VMDK_FLAG_RGD | \
					 VD_VMDK_FLAG_ZERO_GRAIN | \
					 VD_VMDK_FLAG_COMPRESSED | VD_VMDK_FLAG_MARKERS)
#define VD_VMDK_COMPRESS_NONE		0
#define VD_VMDK_COMPRESS_DEFLATE	1

/* Grain table entries */
#define VD_VMDK_GTE_UNALLOCATED		0
#define VD_VMDK_GTE_ZEROED		1

/* streamOptimized markers: lba u64, size u32, type u32 (when size is 0) */
#define VD_VMDK_MARKER_LEN		12
#define VD_VMDK_MARKER_EOS		0
#define VD_VMDK_MARKER_GT		1
#define VD_VMDK_MARKER_GD		2
#define VD_VMDK_MARKER_FOOTER		3
/* The footer: footer marker sector, header copy, end-of-stream sector. */
#define VD_VMDK_FOOTER_LEN		(3 * 512)

enum vd_vmdk_create_type {
	VD_VMDK_MONOLITHIC_SPARSE,
	VD_VMDK_MONOLITHIC_FLAT,
	VD_VMDK_TWOGB_SPARSE,
	VD_VMDK_TWOGB_FLAT,
	VD_VMDK_STREAM_OPTIMIZED,
	VD_VMDK_VMFS,			/* ESX flat disk: extents are FLAT/VMFS */
	VD_VMDK_CREATE_TYPE_COUNT
};

enum vd_vmdk_access {
	VD_VMDK_RW,
	VD_VMDK_RDONLY,
	VD_VMDK_NOACCESS,
};

enum vd_vmdk_extent_type {
	VD_VMDK_EXT_SPARSE,
	VD_VMDK_EXT_FLAT,		/* also VMFS: the same for reading */
	VD_VMDK_EXT_ZERO,
};

/**
 * struct vd_vmdk_extent - one extent line of a descriptor
 * @access:   enum vd_vmdk_access
 * @type:     enum vd_vmdk_extent_type
 * @sectors:  size in 512-byte sectors (> 0)
 * @offset:   FLAT: sector offset of the data in the file
 * @name_off: byte offset of the file name in the descriptor text (not
 *            NUL-terminated there); ZERO extents have none
 * @name_len: its length, 1..VD_VMDK_NAME_MAX; 0 for ZERO
 */
struct vd_vmdk_extent {
	u32 access;
	u32 type;
	u64 sectors;
	u64 offset;
	u32 name_off;
	u32 name_len;
};

/**
 * struct vd_vmdk_desc - a validated descriptor
 * @version:      1, 2 or 3
 * @cid:          content id
 * @parent_cid:   the parent's content id when this disk was made; 0xffffffff
 *                without a parent
 * @cid_off:      byte offset of the CID value's hex digits in the text
 * @cid_len:      number of those digits (1..8)
 * @create_type:  enum vd_vmdk_create_type
 * @nr_extents:   extent lines (1..VD_VMDK_MAX_EXTENTS)
 * @nr_files:     extents with a file (all but ZERO)
 * @sectors:      sum of the extents' sizes
 * @has_parent:   a parentFileNameHint line is present
 * @parent_hint:  its value, NUL-terminated
 * @nr_ddb:       ddb.* entries seen (their values are not interpreted)
 * @ext:          the extents, in order; the caller's array
 */
struct vd_vmdk_desc {
	u32 version;
	u32 cid;
	u32 parent_cid;
	u32 cid_off;
	u32 cid_len;
	u32 create_type;
	u32 nr_extents;
	u32 nr_files;
	u64 sectors;
	bool has_parent;
	char parent_hint[VD_VMDK_NAME_MAX + 1];
	u32 nr_ddb;
	struct vd_vmdk_extent *ext;
};

#define VD_VMDK_NO_PARENT_CID		0xffffffffU

/**
 * vd_vmdk_parse_descriptor() - decode and validate a descriptor
 * @text:    the descriptor: a separate file's contents, or the embedded
 *           descriptor area of a sparse extent (ends at the first NUL)
 * @len:     bytes at @text, at most VD_VMDK_DESC_MAX
 * @d:       result; @d->ext must point to room for @max_ext extents
 * @max_ext: entries at @d->ext
 * @msg:     explanation of a refusal, naming the line and field
 *
 * Checks: the "# Disk DescriptorFile" first line is not required (QEMU
 * does not), but every non-comment line must be "key = value" or an
 * extent line; version 1..3; CID and parentCID are hex numbers of at most
 * 8 digits; createType is one of the supported ones (others are refused by
 * name with -EOPNOTSUPP); extent lines: access RW/RDONLY/NOACCESS, a
 * decimal size > 0, type SPARSE/FLAT/ZERO/VMFS (VMFSSPARSE, VMFSRDM,
 * VMFSRAW, SESPARSE refused by name), a quoted non-empty file name for
 * all but ZERO, a decimal offset only for FLAT/VMFS; the sum of sizes
 * may not overflow; at least one extent; sparse subformats have only
 * SPARSE extents and flat ones FLAT/ZERO; monolithic ones exactly one
 * file; keys and values are bounded in length.
 *
 * Return: 0, -EINVAL (malformed), -EOPNOTSUPP (valid but not served),
 * -EFBIG (more than @max_ext extents or sizes out of range).
 */
int vd_vmdk_parse_descriptor(const char *text, size_t len,
			     struct vd_vmdk_desc *d, u32 max_ext,
			     struct vd_msg *msg);

const char *vd_vmdk_create_type_name(u32 type);

/**
 * vd_vmdk_set_parent() - a descriptor rewritten for another parent
 * @text:       the descriptor, as vd_vmdk_parse_descriptor() accepted it
 *              (it ends at @len or at its first NUL)
 * @len:        bytes at @text
 * @parent_cid: the new parentCID: the parent's CID, VD_VMDK_NO_PARENT_CID
 *              for a parent that is not a vmdk or for none
 * @hint:       the new parentFileNameHint, NUL-terminated, stored as
 *              given; "" removes the line
 * @out:        the new text (no NUL added)
 * @size:       bytes of room at @out
 * @out_len:    bytes of @out used
 * @msg:        explanation of a refusal
 *
 * Every line is kept byte for byte but the parentCID lines (the value
 * becomes 8 hex digits) and the parentFileNameHint lines (replaced, or
 * dropped).  A missing line is inserted where VMware and qemu-img put it:
 * parentCID after the CID line, parentFileNameHint after the createType
 * line, ending as the line before it does ("\n" or "\r\n").
 *
 * Return: 0, -EFBIG (a hint over VD_VMDK_NAME_MAX bytes, or the text
 * longer than @size), -EINVAL (a hint with a double quote or a control
 * character, which the line could not carry; a text without a CID or
 * createType line).
 */
int vd_vmdk_set_parent(const char *text, size_t len, u32 parent_cid,
		       const char *hint, char *out, size_t size,
		       size_t *out_len, struct vd_msg *msg);

/**
 * struct vd_vmdk_header - a validated KDMV sparse extent header
 * @version:       1..3
 * @flags:         VD_VMDK_FLAG_*
 * @capacity:      sectors of the extent (> 0)
 * @grain_sectors: power of two, 1..VD_VMDK_MAX_GRAIN_SECTORS
 * @grain_bits:    log2 of the grain size in bytes
 * @desc_offset:   sector of the embedded descriptor, 0 if none
 * @desc_sectors:  its size in sectors
 * @num_gtes:      entries per grain table (power of two)
 * @gte_bits:      log2 of @num_gtes
 * @rgd_offset:    sector of the redundant GD, 0 without FLAG_RGD
 * @gd_offset:     sector of the GD, or VD_VMDK_GD_AT_END in the header at
 *                 the start of a streamOptimized file (the footer has it)
 * @overhead:      sectors before the first grain
 * @unclean:       uncleanShutdown byte
 * @compress:      VD_VMDK_COMPRESS_*
 * @gd_entries:    entries in a grain directory covering @capacity
 * @zeroed_grain:  GTE 1 means a zeroed grain
 * @compressed:    grains are compressed with markers (streamOptimized)
 */
struct vd_vmdk_header {
	u32 version;
	u32 flags;
	u64 capacity;
	u64 grain_sectors;
	u32 grain_bits;
	u64 desc_offset;
	u64 desc_sectors;
	u32 num_gtes;
	u32 gte_bits;
	u64 rgd_offset;
	u64 gd_offset;
	u64 overhead;
	bool unclean;
	u16 compress;
	u32 gd_entries;
	bool zeroed_grain;
	bool compressed;
};

/* Byte offsets of fields in the KDMV header, for writers */
#define VD_VMDK_HDR_UNCLEAN		72

/**
 * vd_vmdk_parse_header() - decode and validate a KDMV header
 * @buf:       VD_VMDK_HEADER_LEN bytes: the file's first sector, or the
 *             header copy in a streamOptimized footer
 * @file_size: size of the extent file, to bound the tables
 * @footer:    @buf is the footer copy: GD_AT_END is not accepted there
 * @h:         result
 * @msg:       explanation of a refusal, naming the field
 *
 * Checks: magic; version 1..3; unknown flag bits; capacity > 0 and below
 * 2^32 sectors (u32 GT entries address the extent); grain size a power
 * of two within bounds; numGTEsPerGT a power of two within bounds; the
 * GD and (with FLAG_RGD) the redundant GD inside the file and not in the
 * header sector; the descriptor area inside the file; the GD size bounded;
 * compressAlgorithm 0 or 1 and deflate only with FLAG_COMPRESSED; the
 * newline-detection characters when FLAG_NL_TEST is set (a file mangled
 * by a text-mode transfer).
 *
 * Return: 0, -EINVAL (malformed), -EOPNOTSUPP (valid but not served),
 * -EFBIG (sizes beyond the bounds above).
 */
int vd_vmdk_parse_header(const void *buf, u64 file_size, bool footer,
			 struct vd_vmdk_header *h, struct vd_msg *msg);

/**
 * vd_vmdk_gd_entry() - validate a grain directory entry
 * @h:         the header
 * @entry:     sector offset of a grain table (host order), 0 = none
 * @file_size: the extent file's size
 * @msg:       on error
 *
 * Return: 0, or -EIO for a table overlapping the header sector or
 * running past the end of the file.
 */
int vd_vmdk_gd_entry(const struct vd_vmdk_header *h, u32 entry, u64 file_size,
		     struct vd_msg *msg);

enum vd_vmdk_grain_kind {
	VD_VMDK_GRAIN_UNALLOCATED,
	VD_VMDK_GRAIN_ZERO,
	VD_VMDK_GRAIN_DATA,		/* at host_off, grain bytes long */
	VD_VMDK_GRAIN_COMPRESSED,	/* a grain marker at host_off */
};

/**
 * vd_vmdk_gt_entry() - decode a grain table entry
 * @h:         the header
 * @entry:     the u32 entry (host order)
 * @file_size: the extent file's size
 * @kind:      out: enum vd_vmdk_grain_kind
 * @host_off:  out: byte offset of the grain (or its marker)
 * @msg:       on error
 *
 * Return: 0, or -EIO for a grain in the header sector, a data grain
 * running past the end of the file, a marker with no room for its
 * header, or GTE 1 without the zeroed-grain flag.
 */
int vd_vmdk_gt_entry(const struct vd_vmdk_header *h, u32 entry, u64 file_size,
		     u32 *kind, u64 *host_off, struct vd_msg *msg);

/**
 * vd_vmdk_grain_marker() - decode the marker before a compressed grain
 * @h:        the header
 * @buf:      VD_VMDK_MARKER_LEN bytes at the grain's offset
 * @lba:      the sector of the extent the grain should hold, to check
 * @max_len:  compressed bytes the caller can take
 * @comp_len: out: bytes of compressed data after the marker
 * @msg:      on error
 *
 * Return: 0, or -EIO for a wrong lba, a zero size (a metadata marker where
 * a grain should be) or a size above @max_len.
 */
int vd_vmdk_grain_marker(const struct vd_vmdk_header *h, const void *buf,
			 u64 lba, u32 max_len, u32 *comp_len,
			 struct vd_msg *msg);

/**
 * vd_vmdk_footer_marker() - check the footer marker of a streamOptimized file
 * @buf: the VD_VMDK_FOOTER_LEN bytes at the end of the file
 * @msg: on error
 *
 * Return: 0 when the first sector is a footer marker and the last an
 * end-of-stream marker, -EINVAL otherwise.
 */
int vd_vmdk_footer_marker(const void *buf, struct vd_msg *msg);

static inline u16 vd_le16(const void *p)
{
	const u8 *b = p;

	return (u16)(b[0] | b[1] << 8);
}

static inline u32 vd_le32(const void *p)
{
	const u8 *b = p;

	return (u32)b[0] | (u32)b[1] << 8 | (u32)b[2] << 16 | (u32)b[3] << 24;
}

static inline u64 vd_le64(const void *p)
{
	return (u64)vd_le32(p) | (u64)vd_le32((const u8 *)p + 4) << 32;
}

static inline void vd_put_le32(void *p, u32 v)
{
	u8 *b = p;

	b[0] = v;
	b[1] = v >> 8;
	b[2] = v >> 16;
	b[3] = v >> 24;
}

#endif /* VD_VMDK_H */
