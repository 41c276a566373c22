/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vd_qcow2.h - qcow2 on-disk format: decoding and validation (pure code).
 *
 * The format is QEMU's docs/interop/qcow2.txt.  Everything here works on
 * byte buffers read from the image and trusts none of them: each field is
 * checked before use and a refusal names the field.  Used by the kernel's
 * qcow2 layer (qcow2.c), by vdattach (backing chains, snapshot lists), and
 * by the unit tests and fuzzers.
 *
 * Layout (all big-endian):
 *
 *   cluster 0: header (72 bytes in v2, >= 104 in v3), header extensions
 *              up to the end of the cluster, often the backing file name
 *   L1 table:  l1_size 64-bit entries, each -> one L2 table (a cluster)
 *   L2 table:  cluster_size / 8 entries (16-byte entries with extended_l2),
 *              each -> one data cluster, zero, compressed, or unallocated
 *   refcount table -> refcount blocks (not needed to read)
 *   snapshot table: nb_snapshots variable-length records
 */
#ifndef VD_QCOW2_H
#define VD_QCOW2_H

#include "vd_pure.h"

#define VD_QCOW2_MAGIC			0x514649fbU	/* "QFI\xfb" */
#define VD_QCOW2_MIN_CLUSTER_BITS	9
#define VD_QCOW2_MAX_CLUSTER_BITS	21
/* Bytes of the image vd_qcow2_parse_header() wants: the whole first cluster. */
#define VD_QCOW2_HEADER_MAX		BIT(VD_QCOW2_MAX_CLUSTER_BITS)
#define VD_QCOW2_V2_HEADER_LEN		72
#define VD_QCOW2_V3_HEADER_LEN		104
/* Largest L1 table accepted, in entries (QEMU's limit: 32 MiB of table). */
#define VD_QCOW2_MAX_L1_ENTRIES		(32U * 1024 * 1024 / 8)
#define VD_QCOW2_MAX_SNAPSHOTS		65536
#define VD_QCOW2_BACKING_NAME_MAX	1023
#define VD_QCOW2_FORMAT_NAME_MAX	63

/* Incompatible feature bits */
#define VD_QCOW2_INCOMPAT_DIRTY		BIT_ULL(0)
#define VD_QCOW2_INCOMPAT_CORRUPT	BIT_ULL(1)
#define VD_QCOW2_INCOMPAT_DATA_FILE	BIT_ULL(2)
#define VD_QCOW2_INCOMPAT_COMPRESSION	BIT_ULL(3)
#define VD_QCOW2_INCOMPAT_EXTL2		BIT_ULL(4)
#define VD_QCOW2_INCOMPAT_KNOWN		(BIT_ULL(5) - 1)

#define VD_QCOW2_COMPAT_LAZY_REFCOUNTS	BIT_ULL(0)

enum vd_qcow2_compression {
	VD_QCOW2_COMPRESS_ZLIB = 0,	/* raw deflate, window 4 KiB (bits -12) */
	VD_QCOW2_COMPRESS_ZSTD = 1,
};

/**
 * struct vd_qcow2_header - a validated qcow2 header
 * @version:         2 or 3
 * @cluster_bits:    9..21
 * @cluster_size:    1 << @cluster_bits
 * @size:            virtual disk size in bytes (a multiple of 512 is not
 *                   required by the format; the device rounds down)
 * @l1_size:         entries in the active L1 table
 * @l1_offset:       file offset of the active L1 table (cluster aligned)
 * @l2_bits:         log2 of entries per L2 table
 * @l2_entry_size:   8, or 16 with extended L2 entries
 * @refcount_table_offset: cluster aligned
 * @refcount_table_clusters:
 * @refcount_order:  0..6 (refcount bits = 1 << order); 4 in v2
 * @nb_snapshots:    internal snapshots
 * @snapshots_offset: file offset of the snapshot table (cluster aligned)
 * @incompatible_features: as stored (only known bits accepted)
 * @compatible_features:
 * @autoclear_features:
 * @header_length:   bytes of the fixed header (72 for v2)
 * @compression_type: enum vd_qcow2_compression
 * @extended_l2:     subclusters: 32 per cluster, each allocated/zero
 * @dirty:           INCOMPAT_DIRTY: refcounts may be stale
 * @corrupt:         INCOMPAT_CORRUPT: only reading is allowed
 * @has_data_file:   INCOMPAT_DATA_FILE: data lives in an external file
 * @backing_offset:  file offset of the backing file name, 0 if none (also
 *                   when backing_file_size is 0, as QEMU reads it)
 * @backing_len:     its length (1..VD_QCOW2_BACKING_NAME_MAX), 0 if none
 * @backing_name:    the name, NUL-terminated; a name with a NUL byte in it
 *                   is refused
 * @backing_format:  from the backing format extension, "" if absent
 * @data_file_name:  from the external data file extension, "" if absent
 *                   (kept even without INCOMPAT_DATA_FILE; only
 *                   @has_data_file says whether it is used)
 */
struct vd_qcow2_header {
	u32 version;
	u32 cluster_bits;
	u64 cluster_size;
	u64 size;
	u32 l1_size;
	u64 l1_offset;
	u32 l2_bits;
	u32 l2_entry_size;
	u64 refcount_table_offset;
	u32 refcount_table_clusters;
	u32 refcount_order;
	u32 nb_snapshots;
	u64 snapshots_offset;
	u64 incompatible_features;
	u64 compatible_features;
	u64 autoclear_features;
	u32 header_length;
	u32 compression_type;
	bool extended_l2;
	bool dirty;
	bool corrupt;
	bool has_data_file;
	u64 backing_offset;
	u32 backing_len;
	char backing_name[VD_QCOW2_BACKING_NAME_MAX + 1];
	char backing_format[VD_QCOW2_FORMAT_NAME_MAX + 1];
	char data_file_name[VD_QCOW2_BACKING_NAME_MAX + 1];
};

/**
 * vd_qcow2_parse_header() - decode and validate a qcow2 header
 * @buf:       the first bytes of the image: at least min(file size,
 *             cluster size) bytes, up to VD_QCOW2_HEADER_MAX; if the
 *             cluster is larger than @len, extensions past @len are an
 *             error ("header extensions truncated")
 * @len:       bytes at @buf
 * @file_size: size of the image file, to bound every offset
 * @h:         result
 * @msg:       explanation of a refusal, naming the field
 *
 * Checks: magic; version 2 or 3; cluster_bits 9..21; size (no overflow of
 * the L1 coverage); l1_size covers size and is <= VD_QCOW2_MAX_L1_ENTRIES;
 * L1, refcount table and snapshot table offsets cluster aligned, and the
 * tables inside the file; header_length (v3: >= 104, multiple of 8, within
 * the cluster); refcount_order <= 6; crypt_method 0 (encryption refused);
 * unknown incompatible bits (named by bit number; by name when the feature
 * name table has it); extended L2 needs cluster_bits >= 14; header
 * extensions (type, length, 8-byte padding, inside the cluster): backing
 * format (0xe2792aca), feature names (0x6803f857), external data file
 * (0x44415441), bitmaps (0x23852875, ignored), crypto (0x0537be77, refused),
 * end (0); the backing file name (backing_file_offset/size) must lie
 * inside the first cluster, as QEMU requires, and is copied to
 * @h->backing_name.
 *
 * The compression_type byte (offset 104, present if header_length > 104)
 * must be 0 without INCOMPAT_COMPRESSION and non-zero with it, as the
 * format says.  Tables may not start at offset 0 (the header cluster).
 *
 * Return: 0, -EINVAL (malformed), -EOPNOTSUPP (valid but unsupported:
 * version other than 2 and 3, encryption, unknown incompatible feature,
 * unknown compression type), or -EFBIG (a table larger than accepted:
 * l1_size, the L1 table the size needs, refcount_table_clusters beyond
 * QEMU's 8 MiB, nb_snapshots).
 */
int vd_qcow2_parse_header(const void *buf, size_t len, u64 file_size,
			  struct vd_qcow2_header *h, struct vd_msg *msg);

/**
 * vd_qcow2_set_backing() - the header cluster rebuilt for another backing file
 * @old:       the image's first @len bytes, as vd_qcow2_parse_header()
 *             accepted them into @h
 * @len:       bytes at @old and at @out: the first cluster
 * @h:         the header parsed from @old
 * @name:      the new backing file name, NUL-terminated, stored as given;
 *             "" for none
 * @format:    the backing file's format name ("qcow2", "raw", "vmdk") for
 *             the backing format extension; NULL or "" for none; ignored
 *             without a name
 * @out:       the new bytes: @len of them, zeros after the content
 * @write_len: how many bytes of @out, from offset 0, must be written so
 *             that nothing of the old extensions and name is left behind
 *             (rounded up to 512 bytes, at most @len)
 * @msg:       explanation of a refusal, naming the field
 *
 * Keeps the header fields (72 bytes in v2, header_length in v3) except
 * backing_file_offset and backing_file_size, and every header extension
 * in its order except the backing format extension (0xe2792aca).  With a
 * name, a backing format extension comes first (where qemu-img puts it),
 * and the name follows the end-of-extensions marker; without one both
 * header fields are 0.  Nothing is written when it refuses.
 *
 * Return: 0, -EFBIG (a name over VD_QCOW2_BACKING_NAME_MAX bytes, a format
 * name over VD_QCOW2_FORMAT_NAME_MAX, or extensions and name not fitting
 * in the first cluster), -EINVAL (@len not the parsed cluster, or the
 * extensions of @old malformed after all).
 */
int vd_qcow2_set_backing(const void *old, size_t len,
			 const struct vd_qcow2_header *h, const char *name,
			 const char *format, void *out, size_t *write_len,
			 struct vd_msg *msg);

/* L1 and standard L2 entries */
#define VD_QCOW2_OFLAG_COPIED		BIT_ULL(63)
#define VD_QCOW2_OFLAG_COMPRESSED	BIT_ULL(62)
#define VD_QCOW2_OFLAG_ZERO		BIT_ULL(0)
#define VD_QCOW2_L1E_OFFSET_MASK	0x00fffffffffffe00ULL
#define VD_QCOW2_L2E_OFFSET_MASK	0x00fffffffffffe00ULL

/**
 * vd_qcow2_l1_entry() - decode an L1 entry (host byte order)
 * @h:      the header
 * @entry:  the 64-bit entry, already converted from big-endian
 * @l2_off: the L2 table's file offset, 0 if unallocated
 * @file_size: to check the table lies inside the file
 * @msg:    on error
 *
 * Return: 0, or -EIO for reserved bits set, an offset not cluster
 * aligned, or an L2 table past the end of the file.
 */
int vd_qcow2_l1_entry(const struct vd_qcow2_header *h, u64 entry,
		      u64 *l2_off, u64 file_size, struct vd_msg *msg);

enum vd_qcow2_cluster_kind {
	VD_QCOW2_UNALLOCATED,	/* read from the backing file (or zeros) */
	VD_QCOW2_ZERO,		/* reads as zeros; may still own a cluster */
	VD_QCOW2_NORMAL,	/* data at host_off */
	VD_QCOW2_COMPRESSED,	/* compressed bytes at host_off, comp_len long */
};

/**
 * struct vd_qcow2_cluster - one decoded L2 entry
 * @kind:      enum vd_qcow2_cluster_kind of the whole cluster; with
 *             extended L2 the per-subcluster state is in @sub_alloc and
 *             @sub_zero, @kind is never ZERO, and it is NORMAL when the
 *             entry has a host cluster (even if no subcluster is allocated
 *             yet), UNALLOCATED otherwise (@sub_zero may still be set)
 * @host_off:  NORMAL: cluster-aligned offset of the data cluster (0 is
 *             possible with an external data file); ZERO: the preallocated
 *             cluster or 0; COMPRESSED: byte offset of the compressed data
 * @comp_len:  COMPRESSED: bytes to read at @host_off (sector-rounded
 *             upper bound as the format stores it)
 * @sub_alloc: extended L2: bit i set = subcluster i allocated
 * @sub_zero:  extended L2: bit i set = subcluster i reads as zeros
 */
struct vd_qcow2_cluster {
	u32 kind;
	u64 host_off;
	u64 comp_len;
	u32 sub_alloc;
	u32 sub_zero;
};

/**
 * vd_qcow2_l2_entry() - decode an L2 entry
 * @h:       the header
 * @entry:   64-bit entry in host byte order
 * @bitmap:  extended L2 only: the second 64-bit word (host order); 0 else
 * @c:       result
 * @msg:     on error
 *
 * Offset 0 means unallocated, except in an image with an external data
 * file where offset 0 with the COPIED bit is data at offset 0 (as QEMU
 * reads it).  The zero flag (bit 0) is a reserved bit in v2 and with
 * extended L2.
 *
 * Return: 0, or -EIO for: reserved bits set; an offset not cluster
 * aligned; a compressed entry with the COPIED bit, with a non-zero bitmap
 * in extended L2, with an offset of 2^56 or more, or in an image with an
 * external data file; an extended L2 bitmap with a subcluster both
 * allocated and zero, or allocated subclusters on an unallocated cluster.
 */
int vd_qcow2_l2_entry(const struct vd_qcow2_header *h, u64 entry, u64 bitmap,
		      struct vd_qcow2_cluster *c, struct vd_msg *msg);

/**
 * struct vd_qcow2_snapshot - one internal snapshot
 * @l1_offset: its L1 table (cluster aligned, inside the file)
 * @l1_size:   entries
 * @disk_size: virtual size when the snapshot was taken (from the extra
 *             data; the image's size if the record has none)
 * @date_sec:  creation time
 * @vm_state_size: bytes of saved VM state (0 for disk-only snapshots)
 * @id:        the id string, NUL-terminated
 * @name:      the name, NUL-terminated
 */
struct vd_qcow2_snapshot {
	u64 l1_offset;
	u32 l1_size;
	u64 disk_size;
	u32 date_sec;
	u64 vm_state_size;
	char id[128];
	char name[1024];
};

/**
 * vd_qcow2_parse_snapshot() - decode the snapshot record at @buf
 * @h:        the header
 * @buf:      bytes of the snapshot table from this record on
 * @len:      bytes at @buf
 * @file_size: bounds the L1 table
 * @s:        result
 * @rec_len:  bytes the record occupies including padding, to step to the
 *            next one (never more than @len: the last record's padding
 *            may be missing)
 * @msg:      on error
 *
 * Return: 0, or -EINVAL for a record running past @len, an id or name
 * longer than the fields above, extra data over 1024 bytes, an L1 table
 * not aligned / outside the file / larger than VD_QCOW2_MAX_L1_ENTRIES.
 */
int vd_qcow2_parse_snapshot(const struct vd_qcow2_header *h, const void *buf,
			    size_t len, u64 file_size,
			    struct vd_qcow2_snapshot *s, size_t *rec_len,
			    struct vd_msg *msg);

/* Refcount table entries: bits 0-8 are reserved. */
#define VD_QCOW2_RTE_OFFSET_MASK	0xfffffffffffffe00ULL

/**
 * vd_qcow2_reftable_entry() - decode a refcount table entry (host order)
 * @h:      the header
 * @entry:  the entry
 * @rb_off: the refcount block's offset, 0 if there is none
 * @file_size: the block must lie inside the file
 * @msg:    on error
 *
 * Return: 0, or -EIO for reserved bits, an unaligned offset, a block past
 * the end of the file or on the header cluster.
 */
int vd_qcow2_reftable_entry(const struct vd_qcow2_header *h, u64 entry,
			    u64 *rb_off, u64 file_size, struct vd_msg *msg);

/*
 * Refcount block entries are 1 << refcount_order bits wide, big-endian
 * from 8 bits up; narrower ones are packed from the least significant bit
 * of each byte.  @index counts entries from the start of @block.
 */
u64 vd_qcow2_refcount_get(const void *block, u32 order, u64 index);
void vd_qcow2_refcount_set(void *block, u32 order, u64 index, u64 value);

static inline u64 vd_qcow2_refcount_max(u32 order)
{
	return order >= 6 ? ~0ULL : (1ULL << (1U << order)) - 1;
}

/* Largest snapshot table accepted, in bytes. */
#define VD_QCOW2_MAX_SNAPSHOT_TABLE	(64U * 1024 * 1024)

/* Big-endian loads, for the callers that read tables. */
static inline u32 vd_be32(const void *p)
{
	const u8 *b = p;

	return (u32)b[0] << 24 | (u32)b[1] << 16 | (u32)b[2] << 8 | b[3];
}

static inline u64 vd_be64(const void *p)
{
	return (u64)vd_be32(p) << 32 | vd_be32((const u8 *)p + 4);
}

static inline void vd_put_be32(void *p, u32 v)
{
	u8 *b = p;

	b[0] = v >> 24;
	b[1] = v >> 16;
	b[2] = v >> 8;
	b[3] = v;
}

static inline void vd_put_be64(void *p, u64 v)
{
	vd_put_be32(p, v >> 32);
	vd_put_be32((u8 *)p + 4, (u32)v);
}

static inline u16 vd_be16(const void *p)
{
	const u8 *b = p;

	return (u16)(b[0] << 8 | b[1]);
}

#endif /* VD_QCOW2_H */
