// SPDX-License-Identifier: GPL-2.0
/*
 * test_qcow2.c - qcow2 header, L1/L2 entry and snapshot record decoding
 * (vd_qcow2.c) on images crafted in memory.
 *
 * qinit() writes a valid header laid out as qemu-img does: header in
 * cluster 0, refcount table in cluster 1, a refcount block in cluster 2,
 * the L1 table from cluster 3.  Cases then poke single fields.  Every
 * parse runs on an exact-size heap copy, so ASan catches overreads.
 */
#include <stdlib.h>

#include "vt.h"
#include "vd_qcow2.h"

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
 * A crafted image: the first cluster in @buf (calloc'ed, cluster bytes),
 * the file size its tables imply.
 */
struct qimg {
	u8 *buf;
	size_t len;
	u64 file_size;
	u32 cb;
	u32 ext_off;	/* where the next qext() goes */
};

static void qinit(struct qimg *q, u32 version, u32 cb, u64 size)
{
	u64 c = 1ULL << cb;
	u32 l1 = l1_needed(cb, size, false);

	q->cb = cb;
	q->len = c;
	q->buf = calloc(1, c);
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
	free(q->buf);
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

/* vd_qcow2_parse_header() on the first @len bytes of @q, copied to the heap */
static int qparse_len(const struct qimg *q, size_t len, struct res *r)
{
	struct vd_msg msg = { .buf = r->msg, .len = sizeof(r->msg) };
	u8 *copy = malloc(len ? len : 1);

	memcpy(copy, q->buf, len);
	r->msg[0] = '\0';
	r->ret = vd_qcow2_parse_header(copy, len, q->file_size, &r->h, &msg);
	free(copy);
	if (r->ret == 0 && r->msg[0])
		vt_fail(__FILE__, __LINE__, "success with a message: %s", r->msg);
	if (r->ret && strncmp(r->msg, "qcow2 header: ", 14))
		vt_fail(__FILE__, __LINE__, "message \"%s\" lacks the prefix", r->msg);
	return r->ret;
}

static int qparse(const struct qimg *q, struct res *r)
{
	return qparse_len(q, q->len, r);
}

/* ------------------------------------------------------------------ */
/* valid headers                                                      */

static void check_valid(u32 version, u32 cb, u64 size)
{
	struct res r;
	struct qimg q;

	qinit(&q, version, cb, size);
	VT_EXPECT_EQ(qparse(&q, &r), 0);
	VT_EXPECT_STREQ(r.msg, "");
	VT_EXPECT_EQ(r.h.version, version);
	VT_EXPECT_EQ(r.h.cluster_bits, cb);
	VT_EXPECT_EQ(r.h.cluster_size, 1ULL << cb);
	VT_EXPECT_EQ(r.h.size, size);
	VT_EXPECT_EQ(r.h.l1_size, l1_needed(cb, size, false));
	VT_EXPECT_EQ(r.h.l1_offset, 3ULL << cb);
	VT_EXPECT_EQ(r.h.l2_bits, cb - 3);
	VT_EXPECT_EQ(r.h.l2_entry_size, 8);
	VT_EXPECT_EQ(r.h.refcount_table_offset, 1ULL << cb);
	VT_EXPECT_EQ(r.h.refcount_table_clusters, 1);
	VT_EXPECT_EQ(r.h.refcount_order, 4);
	VT_EXPECT_EQ(r.h.header_length, version == 2 ? 72 : 104);
	VT_EXPECT_EQ(r.h.compression_type, VD_QCOW2_COMPRESS_ZLIB);
	VT_EXPECT(!r.h.extended_l2 && !r.h.dirty && !r.h.corrupt && !r.h.has_data_file);
	VT_EXPECT_EQ(r.h.backing_offset, 0);
	VT_EXPECT_STREQ(r.h.backing_name, "");
	VT_EXPECT_STREQ(r.h.backing_format, "");
	VT_EXPECT_STREQ(r.h.data_file_name, "");
	qfree(&q);
}

VT_TEST(qcow2_valid_v2)
{
	check_valid(2, 16, 1 * GiB);
	check_valid(2, 12, 10 * GiB + 512);
	check_valid(2, 9, 512);
}

VT_TEST(qcow2_valid_v3)
{
	check_valid(3, 12, 1 * GiB);
	check_valid(3, 16, 100 * GiB);
	check_valid(3, 21, 1 * GiB * 1024 * 64);
	check_valid(3, 9, 128 * GiB);	/* the largest 512-byte clusters reach */
	check_valid(3, 16, 3);		/* not a multiple of 512 */
}

VT_TEST(qcow2_valid_size_0)
{
	struct res r;
	struct qimg q;

	qinit(&q, 3, 16, 0);
	VT_EXPECT_EQ(qparse(&q, &r), 0);
	VT_EXPECT_EQ(r.h.l1_size, 0);
	/* no L1 at all: offset 0 is fine then */
	put64(q.buf + O_L1_OFF, 0);
	VT_EXPECT_EQ(qparse(&q, &r), 0);
	qfree(&q);
}

VT_TEST(qcow2_valid_l1_larger_than_needed)
{
	struct res r;
	struct qimg q;

	qinit(&q, 3, 16, 1 * GiB);	/* needs 2 entries */
	put32(q.buf + O_L1_SIZE, 8192);	/* one cluster of entries */
	VT_EXPECT_EQ(qparse(&q, &r), 0);
	VT_EXPECT_EQ(r.h.l1_size, 8192);
	qfree(&q);
}

VT_TEST(qcow2_valid_l1_exact_boundaries)
{
	struct res r;
	struct qimg q;

	/* 64k clusters: one L1 entry covers 512 MiB */
	qinit(&q, 3, 16, 512 * MiB);
	VT_EXPECT_EQ(qparse(&q, &r), 0);
	VT_EXPECT_EQ(r.h.l1_size, 1);
	put64(q.buf + O_SIZE, 512 * MiB + 1);
	VT_EXPECT_EQ(qparse(&q, &r), -EINVAL);
	VT_EXPECT_CONTAINS(r.msg, "l1_size 1 too small");
	put32(q.buf + O_L1_SIZE, 2);
	VT_EXPECT_EQ(qparse(&q, &r), 0);
	qfree(&q);

	/* the largest size the L1 limit allows with 2 MiB clusters: 2^61 */
	qinit(&q, 3, 21, 0);
	put64(q.buf + O_SIZE, 1ULL << 61);
	put32(q.buf + O_L1_SIZE, VD_QCOW2_MAX_L1_ENTRIES);
	q.file_size = 64 * MiB;
	VT_EXPECT_EQ(qparse(&q, &r), 0);
	put64(q.buf + O_SIZE, (1ULL << 61) + 1);
	VT_EXPECT_EQ(qparse(&q, &r), -EFBIG);
	VT_EXPECT_CONTAINS(r.msg, "size 2305843009213693953 needs 4194305 L1 entries");
	put64(q.buf + O_SIZE, ~0ULL);
	VT_EXPECT_EQ(qparse(&q, &r), -EFBIG);
	VT_EXPECT_CONTAINS(r.msg, "size 18446744073709551615");
	qfree(&q);
}

VT_TEST(qcow2_valid_table_at_file_end)
{
	struct res r;
	struct qimg q;

	qinit(&q, 3, 16, 1 * GiB);
	/* the L1 table (16 bytes) ends exactly at the end of the file */
	q.file_size = 3 * 64 * KiB + 16;
	VT_EXPECT_EQ(qparse(&q, &r), 0);
	q.file_size--;
	VT_EXPECT_EQ(qparse(&q, &r), -EINVAL);
	VT_EXPECT_CONTAINS(r.msg, "L1 table");
	VT_EXPECT_CONTAINS(r.msg, "past the end of the file");
	qfree(&q);
}

VT_TEST(qcow2_valid_refcount_orders)
{
	struct res r;
	struct qimg q;
	u32 o;

	qinit(&q, 3, 16, 1 * GiB);
	for (o = 0; o <= 6; o++) {
		put32(q.buf + O_RC_ORDER, o);
		VT_EXPECT_EQ(qparse(&q, &r), 0);
		VT_EXPECT_EQ(r.h.refcount_order, o);
	}
	qfree(&q);
	/* v2: the v3 fields do not exist; bytes 72.. are extensions */
	qinit(&q, 2, 16, 1 * GiB);
	{
		u8 ff[32];

		memset(ff, 0xff, sizeof(ff));
		qext(&q, 0x11111111, ff, sizeof(ff));
	}
	VT_EXPECT_EQ(qparse(&q, &r), 0);
	VT_EXPECT_EQ(r.h.refcount_order, 4);
	VT_EXPECT_EQ(r.h.incompatible_features, 0);
	qfree(&q);
}

VT_TEST(qcow2_valid_extended_l2)
{
	struct res r;
	struct qimg q;

	qinit(&q, 3, 16, 1 * GiB);
	put64(q.buf + O_INCOMPAT, 1ULL << 4);
	put32(q.buf + O_L1_SIZE, l1_needed(16, 1 * GiB, true));
	VT_EXPECT_EQ(qparse(&q, &r), 0);
	VT_EXPECT(r.h.extended_l2);
	VT_EXPECT_EQ(r.h.l2_entry_size, 16);
	VT_EXPECT_EQ(r.h.l2_bits, 12);
	VT_EXPECT_EQ(r.h.l1_size, 4);
	/* half the entries per L2: 2 entries are not enough any more */
	put32(q.buf + O_L1_SIZE, 3);
	VT_EXPECT_EQ(qparse(&q, &r), -EINVAL);
	VT_EXPECT_CONTAINS(r.msg, "l1_size 3 too small");
	qfree(&q);

	/* 16 KiB: the smallest cluster with 512-byte subclusters */
	qinit(&q, 3, 14, 1 * GiB);
	put64(q.buf + O_INCOMPAT, 1ULL << 4);
	put32(q.buf + O_L1_SIZE, l1_needed(14, 1 * GiB, true));
	VT_EXPECT_EQ(qparse(&q, &r), 0);
	VT_EXPECT_EQ(r.h.l2_bits, 10);
	qfree(&q);
}

VT_TEST(qcow2_refuse_extended_l2_small_clusters)
{
	static const u32 cbs[] = { 9, 12, 13 };
	struct res r;
	struct qimg q;
	size_t i;

	for (i = 0; i < VT_ARRAY_SIZE(cbs); i++) {
		qinit(&q, 3, cbs[i], 1 * GiB);
		put64(q.buf + O_INCOMPAT, 1ULL << 4);
		put32(q.buf + O_L1_SIZE, l1_needed(cbs[i], 1 * GiB, true));
		VT_EXPECT_EQ(qparse(&q, &r), -EINVAL);
		VT_EXPECT_CONTAINS(r.msg, "cluster_bits");
		VT_EXPECT_CONTAINS(r.msg, "extended L2");
		qfree(&q);
	}
}

VT_TEST(qcow2_valid_compression_zstd)
{
	struct res r;
	struct qimg q;

	qinit(&q, 3, 16, 1 * GiB);
	qcomp(&q, 1, true);
	VT_EXPECT_EQ(qparse(&q, &r), 0);
	VT_EXPECT_EQ(r.h.compression_type, VD_QCOW2_COMPRESS_ZSTD);
	VT_EXPECT_EQ(r.h.header_length, 112);
	VT_EXPECT_EQ(r.h.incompatible_features, 1ULL << 3);
	/* an explicit zlib byte without the bit is the default */
	qcomp(&q, 0, false);
	put64(q.buf + O_INCOMPAT, 0);
	VT_EXPECT_EQ(qparse(&q, &r), 0);
	VT_EXPECT_EQ(r.h.compression_type, VD_QCOW2_COMPRESS_ZLIB);
	qfree(&q);
}

VT_TEST(qcow2_refuse_compression)
{
	struct res r;
	struct qimg q;

	qinit(&q, 3, 16, 1 * GiB);
	qcomp(&q, 1, false);
	VT_EXPECT_EQ(qparse(&q, &r), -EINVAL);
	VT_EXPECT_CONTAINS(r.msg, "compression_type 1 without incompatible feature bit 3");
	qcomp(&q, 2, true);
	VT_EXPECT_EQ(qparse(&q, &r), -EOPNOTSUPP);
	VT_EXPECT_CONTAINS(r.msg, "compression_type 2 not supported");
	qcomp(&q, 0xff, true);
	VT_EXPECT_EQ(qparse(&q, &r), -EOPNOTSUPP);
	VT_EXPECT_CONTAINS(r.msg, "compression_type 255");
	qcomp(&q, 0, true);
	VT_EXPECT_EQ(qparse(&q, &r), -EINVAL);
	VT_EXPECT_CONTAINS(r.msg, "compression_type 0 (zlib) with incompatible feature bit 3");
	qfree(&q);
	/* the bit without the field */
	qinit(&q, 3, 16, 1 * GiB);
	put64(q.buf + O_INCOMPAT, 1ULL << 3);
	q.buf[O_COMP_TYPE] = 1;		/* beyond header_length 104: not read */
	VT_EXPECT_EQ(qparse(&q, &r), -EINVAL);
	VT_EXPECT_CONTAINS(r.msg, "header_length 104 has no compression_type");
	qfree(&q);
}

VT_TEST(qcow2_valid_backing_and_format)
{
	static const char name[] = "/var/lib/images/base.raw";
	struct res r;
	struct qimg q;

	qinit(&q, 3, 16, 1 * GiB);
	qext(&q, EXT_BACKING_FMT, "raw", 3);
	qbacking(&q, 512, name, strlen(name));
	VT_EXPECT_EQ(qparse(&q, &r), 0);
	VT_EXPECT_STREQ(r.h.backing_name, name);
	VT_EXPECT_EQ(r.h.backing_offset, 512);
	VT_EXPECT_EQ(r.h.backing_len, strlen(name));
	VT_EXPECT_STREQ(r.h.backing_format, "raw");
	qfree(&q);

	/* v2: extensions right after the 72-byte header; name at the end */
	qinit(&q, 2, 16, 1 * GiB);
	qext(&q, EXT_BACKING_FMT, "qcow2", 5);
	qbacking(&q, 64 * KiB - 4, "b.q2", 4);
	VT_EXPECT_EQ(qparse(&q, &r), 0);
	VT_EXPECT_STREQ(r.h.backing_name, "b.q2");
	VT_EXPECT_STREQ(r.h.backing_format, "qcow2");
	qfree(&q);

	/* the longest names */
	qinit(&q, 3, 16, 1 * GiB);
	{
		char fmt[63], big[1023];

		memset(fmt, 'f', sizeof(fmt));
		memset(big, 'n', sizeof(big));
		qext(&q, EXT_BACKING_FMT, fmt, sizeof(fmt));
		qbacking(&q, 4096, big, sizeof(big));
		VT_EXPECT_EQ(qparse(&q, &r), 0);
		VT_EXPECT_EQ(strlen(r.h.backing_format), 63);
		VT_EXPECT_EQ(strlen(r.h.backing_name), 1023);
		VT_EXPECT_EQ(r.h.backing_len, 1023);
	}
	qfree(&q);

	/* backing_file_size 0: no backing file, as QEMU reads it */
	qinit(&q, 3, 16, 1 * GiB);
	qbacking(&q, 512, "", 0);
	VT_EXPECT_EQ(qparse(&q, &r), 0);
	VT_EXPECT_EQ(r.h.backing_offset, 0);
	VT_EXPECT_STREQ(r.h.backing_name, "");
	qfree(&q);
}

VT_TEST(qcow2_refuse_backing)
{
	char big[1100];
	struct res r;
	struct qimg q;

	memset(big, 'x', sizeof(big));
	qinit(&q, 3, 16, 1 * GiB);
	qbacking(&q, 64 * KiB - 4, "abcdefgh", 8);	/* past the cluster */
	VT_EXPECT_EQ(qparse(&q, &r), -EINVAL);
	VT_EXPECT_CONTAINS(r.msg, "backing_file_offset 65532");
	VT_EXPECT_CONTAINS(r.msg, "past the first cluster");

	qbacking(&q, 64 * KiB, "x", 1);			/* at the cluster end */
	VT_EXPECT_EQ(qparse(&q, &r), -EINVAL);
	VT_EXPECT_CONTAINS(r.msg, "backing_file_offset 65536");

	qbacking(&q, ~0ULL, "x", 1);
	VT_EXPECT_EQ(qparse(&q, &r), -EINVAL);
	VT_EXPECT_CONTAINS(r.msg, "backing_file_offset 18446744073709551615");

	qbacking(&q, 512, "ba\0se", 5);			/* embedded NUL */
	VT_EXPECT_EQ(qparse(&q, &r), -EINVAL);
	VT_EXPECT_CONTAINS(r.msg, "NUL");

	qbacking(&q, 512, big, 1024);
	VT_EXPECT_EQ(qparse(&q, &r), -EINVAL);
	VT_EXPECT_CONTAINS(r.msg, "backing_file_size 1024 exceeds 1023");

	qbacking(&q, 100, "", 0);			/* inside the header */
	VT_EXPECT_EQ(qparse(&q, &r), -EINVAL);
	VT_EXPECT_CONTAINS(r.msg, "backing_file_offset 100 outside 104..65535");

	/* the name lies in the cluster but past the bytes given */
	qbacking(&q, 8192, "base", 4);
	VT_EXPECT_EQ(qparse_len(&q, 8194, &r), -EINVAL);
	VT_EXPECT_CONTAINS(r.msg, "truncated");
	VT_EXPECT_EQ(qparse_len(&q, 8196, &r), 0);
	qfree(&q);
}

VT_TEST(qcow2_refuse_backing_format_ext)
{
	char fmt[64];
	struct res r;
	struct qimg q;

	memset(fmt, 'f', sizeof(fmt));
	qinit(&q, 3, 16, 1 * GiB);
	qext(&q, EXT_BACKING_FMT, fmt, 64);
	VT_EXPECT_EQ(qparse(&q, &r), -EINVAL);
	VT_EXPECT_CONTAINS(r.msg, "backing format extension length 64 exceeds 63");
	qfree(&q);

	qinit(&q, 3, 16, 1 * GiB);
	qext(&q, EXT_BACKING_FMT, "ra\0w", 4);
	VT_EXPECT_EQ(qparse(&q, &r), -EINVAL);
	VT_EXPECT_CONTAINS(r.msg, "backing format extension contains a NUL");
	qfree(&q);

	qinit(&q, 3, 16, 1 * GiB);
	qext(&q, EXT_BACKING_FMT, "raw", 3);
	qext(&q, EXT_BACKING_FMT, "qcow2", 5);
	VT_EXPECT_EQ(qparse(&q, &r), -EINVAL);
	VT_EXPECT_CONTAINS(r.msg, "twice");
	qfree(&q);
}

VT_TEST(qcow2_data_file)
{
	char big[1024];
	struct res r;
	struct qimg q;

	qinit(&q, 3, 16, 1 * GiB);
	qext(&q, EXT_DATA_FILE, "disk.raw", 8);
	VT_EXPECT_EQ(qparse(&q, &r), 0);
	VT_EXPECT(!r.h.has_data_file);	/* the name alone does not count */
	VT_EXPECT_STREQ(r.h.data_file_name, "disk.raw");
	put64(q.buf + O_INCOMPAT, 1ULL << 2);
	VT_EXPECT_EQ(qparse(&q, &r), 0);
	VT_EXPECT(r.h.has_data_file);
	VT_EXPECT_STREQ(r.h.data_file_name, "disk.raw");
	qfree(&q);

	/* the bit without a name: the caller must provide the file */
	qinit(&q, 3, 16, 1 * GiB);
	put64(q.buf + O_INCOMPAT, 1ULL << 2);
	VT_EXPECT_EQ(qparse(&q, &r), 0);
	VT_EXPECT(r.h.has_data_file);
	VT_EXPECT_STREQ(r.h.data_file_name, "");
	qfree(&q);

	memset(big, 'd', sizeof(big));
	qinit(&q, 3, 16, 1 * GiB);
	qext(&q, EXT_DATA_FILE, big, sizeof(big));
	VT_EXPECT_EQ(qparse(&q, &r), -EINVAL);
	VT_EXPECT_CONTAINS(r.msg, "external data file name length 1024");
	qfree(&q);
}

VT_TEST(qcow2_extensions_skipped)
{
	static const u8 bitmaps[24] = { 0, 0, 0, 1 };
	struct res r;
	struct qimg q;

	qinit(&q, 3, 16, 1 * GiB);
	qext(&q, 0x12345678, "whatever", 8);
	qext(&q, EXT_BITMAPS, bitmaps, sizeof(bitmaps));
	qext(&q, 0xdeadbeef, "", 0);
	qext(&q, EXT_BACKING_FMT, "raw", 3);
	VT_EXPECT_EQ(qparse(&q, &r), 0);
	VT_EXPECT_STREQ(r.h.backing_format, "raw");
	qfree(&q);

	/* after the end marker nothing is read */
	qinit(&q, 3, 16, 1 * GiB);
	q.ext_off += 8;
	qext(&q, EXT_CRYPTO, "garbage!", 8);
	VT_EXPECT_EQ(qparse(&q, &r), 0);
	qfree(&q);

	/* an extension filling the area exactly, without an end marker */
	qinit(&q, 3, 12, 1 * GiB);
	{
		u8 fill[4096 - 104 - 8];

		memset(fill, 0xaa, sizeof(fill));
		qext(&q, 0x11111111, fill, sizeof(fill));
		VT_EXPECT_EQ(qparse(&q, &r), 0);
	}
	qfree(&q);
}

VT_TEST(qcow2_refuse_extensions)
{
	struct res r;
	struct qimg q;
	u32 i;

	/* length runs past the cluster */
	qinit(&q, 3, 16, 1 * GiB);
	put32(q.buf + 104, 0x12345678);
	put32(q.buf + 108, 64 * KiB - 112 + 1);
	VT_EXPECT_EQ(qparse(&q, &r), -EINVAL);
	VT_EXPECT_CONTAINS(r.msg, "header extension 0x12345678 at offset 104");
	VT_EXPECT_CONTAINS(r.msg, "length 65425");
	put32(q.buf + 108, 0xffffffff);
	VT_EXPECT_EQ(qparse(&q, &r), -EINVAL);
	VT_EXPECT_CONTAINS(r.msg, "length 4294967295");
	qfree(&q);

	/* length runs into the backing file name */
	qinit(&q, 3, 16, 1 * GiB);
	qbacking(&q, 256, "base", 4);
	put32(q.buf + 104, EXT_BACKING_FMT);
	put32(q.buf + 108, 256 - 112 + 1);
	VT_EXPECT_EQ(qparse(&q, &r), -EINVAL);
	VT_EXPECT_CONTAINS(r.msg, "runs past the extension area end 256");
	qfree(&q);

	/* an extension header crossing the end of the area */
	qinit(&q, 3, 16, 1 * GiB);
	qext(&q, 0x11111111, "12345678", 8);
	qbacking(&q, q.ext_off + 4, "base", 4);
	put32(q.buf + q.ext_off, 0x22222222);
	VT_EXPECT_EQ(qparse(&q, &r), -EINVAL);
	VT_EXPECT_CONTAINS(r.msg, "crosses the end of the extension area");
	qfree(&q);

	/* extensions past the bytes given */
	qinit(&q, 3, 16, 1 * GiB);
	qext(&q, 0x11111111, "12345678", 8);
	VT_EXPECT_EQ(qparse_len(&q, 120, &r), -EINVAL);
	VT_EXPECT_CONTAINS(r.msg, "header extensions truncated");
	VT_EXPECT_EQ(qparse_len(&q, 124, &r), -EINVAL);
	VT_EXPECT_CONTAINS(r.msg, "header extensions truncated");
	VT_EXPECT_EQ(qparse_len(&q, 128, &r), 0);
	qfree(&q);

	/* crypto extension without encryption */
	qinit(&q, 3, 16, 1 * GiB);
	qext(&q, EXT_CRYPTO, "0123456789abcdef", 16);
	VT_EXPECT_EQ(qparse(&q, &r), -EINVAL);
	VT_EXPECT_CONTAINS(r.msg, "crypto");
	qfree(&q);

	/* too many extensions */
	qinit(&q, 3, 16, 1 * GiB);
	for (i = 0; i < 1024; i++)
		qext(&q, 0x11111111, "", 0);
	VT_EXPECT_EQ(qparse(&q, &r), 0);
	qext(&q, 0x11111111, "", 0);
	VT_EXPECT_EQ(qparse(&q, &r), -EINVAL);
	VT_EXPECT_CONTAINS(r.msg, "more than 1024 header extensions");
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

VT_TEST(qcow2_incompat_unknown)
{
	u8 table[5 * 48];
	char long_name[47];
	struct res r;
	struct qimg q;

	qinit(&q, 3, 16, 1 * GiB);
	put64(q.buf + O_INCOMPAT, 1ULL << 7);
	VT_EXPECT_EQ(qparse(&q, &r), -EOPNOTSUPP);
	VT_EXPECT_STREQ(r.msg, "qcow2 header: incompatible feature bit 7 (unknown) not supported");
	put64(q.buf + O_INCOMPAT, 1ULL << 63 | 1);
	VT_EXPECT_EQ(qparse(&q, &r), -EOPNOTSUPP);
	VT_EXPECT_CONTAINS(r.msg, "bit 63");

	/* named by the table: compat/autoclear entries of bit 7 are not it */
	put64(q.buf + O_INCOMPAT, 1ULL << 7 | 1ULL << 9);
	feat(table, 1, 7, "compat seven");
	feat(table + 48, 2, 7, "autoclear seven");
	feat(table + 96, 0, 0, "dirty bit");
	feat(table + 144, 0, 7, "foo");
	feat(table + 192, 0, 9, "bar");
	qext(&q, EXT_FEATURES, table, sizeof(table));
	VT_EXPECT_EQ(qparse(&q, &r), -EOPNOTSUPP);
	VT_EXPECT_STREQ(r.msg, "qcow2 header: unknown incompatible feature 'foo' (bit 7)");
	qfree(&q);

	/* a full-length name (not NUL-terminated) and unprintable bytes */
	qinit(&q, 3, 16, 1 * GiB);
	put64(q.buf + O_INCOMPAT, 1ULL << 40);
	memset(long_name, 'L', 46);
	long_name[46] = '\0';
	long_name[3] = '\n';
	feat(table, 0, 40, long_name);
	qext(&q, EXT_FEATURES, table, 48);
	VT_EXPECT_EQ(qparse(&q, &r), -EOPNOTSUPP);
	long_name[3] = '?';
	VT_EXPECT_EQ(strlen(long_name), 46);
	VT_EXPECT_CONTAINS(r.msg, long_name);
	VT_EXPECT_CONTAINS(r.msg, "' (bit 40)");
	qfree(&q);

	/* the table is best effort: a broken area still gives the bit */
	qinit(&q, 3, 16, 1 * GiB);
	put64(q.buf + O_INCOMPAT, 1ULL << 5);
	put32(q.buf + 104, EXT_FEATURES);
	put32(q.buf + 108, 0xffffff00);
	VT_EXPECT_EQ(qparse(&q, &r), -EOPNOTSUPP);
	VT_EXPECT_CONTAINS(r.msg, "bit 5 (unknown)");
	qfree(&q);
}

VT_TEST(qcow2_flags_decoded)
{
	struct res r;
	struct qimg q;

	qinit(&q, 3, 16, 1 * GiB);
	put64(q.buf + O_INCOMPAT, 3);
	put64(q.buf + O_COMPAT, ~0ULL);		/* unknown compatible bits: fine */
	put64(q.buf + O_AUTOCLEAR, ~0ULL);	/* and autoclear ones */
	VT_EXPECT_EQ(qparse(&q, &r), 0);
	VT_EXPECT(r.h.dirty);
	VT_EXPECT(r.h.corrupt);
	VT_EXPECT_EQ(r.h.compatible_features, ~0ULL);
	VT_EXPECT_EQ(r.h.autoclear_features, ~0ULL);
	put64(q.buf + O_INCOMPAT, 2);
	VT_EXPECT_EQ(qparse(&q, &r), 0);
	VT_EXPECT(!r.h.dirty && r.h.corrupt);
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

VT_TEST(qcow2_header_refusals)
{
	size_t i, j;

	for (i = 0; i < VT_ARRAY_SIZE(hcases); i++) {
		const struct hcase *c = &hcases[i];
		struct res r;
		struct qimg q;

		qinit(&q, c->version, c->cb, c->size);
		for (j = 0; j < VT_ARRAY_SIZE(c->pokes) && c->pokes[j].width; j++) {
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
		qparse_len(&q, c->len ? c->len : q.len, &r);
		VT_EXPECT_MSG(r.ret == c->ret, "%s: ret %d, want %d (%s)", c->name, r.ret,
			      c->ret, r.msg);
		VT_EXPECT_MSG(strstr(r.msg, c->word), "%s: message \"%s\" lacks \"%s\"",
			      c->name, r.msg, c->word);
		qfree(&q);
	}
}

/* ------------------------------------------------------------------ */
/* L1 and L2 entries                                                  */

static struct vd_qcow2_header hdr(u32 version, u32 cb, bool extl2)
{
	struct vd_qcow2_header h;

	memset(&h, 0, sizeof(h));
	h.version = version;
	h.cluster_bits = cb;
	h.cluster_size = 1ULL << cb;
	h.extended_l2 = extl2;
	h.l2_entry_size = extl2 ? 16 : 8;
	h.l2_bits = cb - (extl2 ? 4 : 3);
	h.size = 1 * GiB;
	return h;
}

static int l1(const struct vd_qcow2_header *h, u64 e, u64 fsize, u64 *off, char *m)
{
	struct vd_msg msg = { .buf = m, .len = 256 };

	m[0] = '\0';
	return vd_qcow2_l1_entry(h, e, off, fsize, &msg);
}

VT_TEST(qcow2_l1_entries)
{
	struct vd_qcow2_header h = hdr(3, 16, false);
	char m[256];
	u64 off = 1;

	VT_EXPECT_EQ(l1(&h, 0, GiB, &off, m), 0);
	VT_EXPECT_EQ(off, 0);
	VT_EXPECT_EQ(l1(&h, 0x50000, GiB, &off, m), 0);
	VT_EXPECT_EQ(off, 0x50000);
	VT_EXPECT_EQ(l1(&h, 0x50000 | VD_QCOW2_OFLAG_COPIED, GiB, &off, m), 0);
	VT_EXPECT_EQ(off, 0x50000);
	/* COPIED on an unallocated table is harmless */
	VT_EXPECT_EQ(l1(&h, VD_QCOW2_OFLAG_COPIED, GiB, &off, m), 0);
	VT_EXPECT_EQ(off, 0);
	/* the highest offset bits 9..55 can express */
	VT_EXPECT_EQ(l1(&h, 0x00ffffffffff0000ULL, ~0ULL, &off, m), 0);
	VT_EXPECT_EQ(off, 0x00ffffffffff0000ULL);

	VT_EXPECT_EQ(l1(&h, 0x50001, GiB, &off, m), -EIO);
	VT_EXPECT_CONTAINS(m, "qcow2 L1 entry 0x0000000000050001: reserved bits 0x1 set");
	VT_EXPECT_EQ(off, 0);
	VT_EXPECT_EQ(l1(&h, 0x50000 | 1ULL << 56, GiB, &off, m), -EIO);
	VT_EXPECT_CONTAINS(m, "reserved bits 0x100000000000000");
	VT_EXPECT_EQ(l1(&h, 0x50000 | VD_QCOW2_OFLAG_COMPRESSED, GiB, &off, m), -EIO);
	VT_EXPECT_CONTAINS(m, "reserved bits 0x4000000000000000");
	VT_EXPECT_EQ(l1(&h, 0x50100, GiB, &off, m), -EIO);
	VT_EXPECT_CONTAINS(m, "reserved");
	VT_EXPECT_EQ(l1(&h, 0x50200, GiB, &off, m), -EIO);
	VT_EXPECT_CONTAINS(m, "L2 table offset 0x50200 not cluster aligned");
	/* the L2 table must be inside the file, up to its last byte */
	VT_EXPECT_EQ(l1(&h, 0x50000, 0x60000, &off, m), 0);
	VT_EXPECT_EQ(l1(&h, 0x50000, 0x5ffff, &off, m), -EIO);
	VT_EXPECT_CONTAINS(m, "L2 table at 0x50000 past the end of the file (393215 bytes)");

	h = hdr(2, 9, false);
	VT_EXPECT_EQ(l1(&h, 0x200, 0x400, &off, m), 0);
	VT_EXPECT_EQ(off, 0x200);
}

static int l2(const struct vd_qcow2_header *h, u64 e, u64 bm, struct vd_qcow2_cluster *c,
	      char *m)
{
	struct vd_msg msg = { .buf = m, .len = 256 };

	m[0] = '\0';
	c->kind = 99;
	return vd_qcow2_l2_entry(h, e, bm, c, &msg);
}

VT_TEST(qcow2_l2_standard)
{
	struct vd_qcow2_header h = hdr(3, 16, false);
	struct vd_qcow2_cluster c;
	char m[256];

	VT_EXPECT_EQ(l2(&h, 0, 0, &c, m), 0);
	VT_EXPECT_EQ(c.kind, VD_QCOW2_UNALLOCATED);
	VT_EXPECT_EQ(c.host_off, 0);

	VT_EXPECT_EQ(l2(&h, 0x70000 | VD_QCOW2_OFLAG_COPIED, 0, &c, m), 0);
	VT_EXPECT_EQ(c.kind, VD_QCOW2_NORMAL);
	VT_EXPECT_EQ(c.host_off, 0x70000);
	VT_EXPECT_EQ(l2(&h, 0x70000, 0, &c, m), 0);
	VT_EXPECT_EQ(c.kind, VD_QCOW2_NORMAL);

	/* zero: plain, and preallocated (the offset is kept, not read) */
	VT_EXPECT_EQ(l2(&h, 1, 0, &c, m), 0);
	VT_EXPECT_EQ(c.kind, VD_QCOW2_ZERO);
	VT_EXPECT_EQ(c.host_off, 0);
	VT_EXPECT_EQ(l2(&h, 0x70001 | VD_QCOW2_OFLAG_COPIED, 0, &c, m), 0);
	VT_EXPECT_EQ(c.kind, VD_QCOW2_ZERO);
	VT_EXPECT_EQ(c.host_off, 0x70000);

	/* offset 0 with COPIED: unallocated unless there is a data file */
	VT_EXPECT_EQ(l2(&h, VD_QCOW2_OFLAG_COPIED, 0, &c, m), 0);
	VT_EXPECT_EQ(c.kind, VD_QCOW2_UNALLOCATED);
	h.has_data_file = true;
	VT_EXPECT_EQ(l2(&h, VD_QCOW2_OFLAG_COPIED, 0, &c, m), 0);
	VT_EXPECT_EQ(c.kind, VD_QCOW2_NORMAL);
	VT_EXPECT_EQ(c.host_off, 0);
	VT_EXPECT_EQ(l2(&h, 0, 0, &c, m), 0);
	VT_EXPECT_EQ(c.kind, VD_QCOW2_UNALLOCATED);
	h.has_data_file = false;

	/* reserved bits 1..8 and 56..61 */
	VT_EXPECT_EQ(l2(&h, 0x70002, 0, &c, m), -EIO);
	VT_EXPECT_CONTAINS(m, "qcow2 L2 entry 0x0000000000070002: reserved bits 0x2 set");
	VT_EXPECT_EQ(l2(&h, 0x70100, 0, &c, m), -EIO);
	VT_EXPECT_CONTAINS(m, "reserved bits 0x100 set");
	VT_EXPECT_EQ(l2(&h, 0x70000 | 1ULL << 56, 0, &c, m), -EIO);
	VT_EXPECT_CONTAINS(m, "reserved bits 0x100000000000000");
	VT_EXPECT_EQ(l2(&h, 0x70000 | 1ULL << 61, 0, &c, m), -EIO);
	VT_EXPECT_CONTAINS(m, "reserved bits 0x2000000000000000");
	VT_EXPECT_EQ(l2(&h, 1ULL << 61, 0, &c, m), -EIO);

	/* alignment: bits 9..15 must be 0 with 64 KiB clusters */
	VT_EXPECT_EQ(l2(&h, 0x70200, 0, &c, m), -EIO);
	VT_EXPECT_CONTAINS(m, "data offset 0x70200 not cluster aligned");
	VT_EXPECT_EQ(l2(&h, 0x78001, 0, &c, m), -EIO);
	VT_EXPECT_CONTAINS(m, "not cluster aligned");

	/* the largest offset */
	VT_EXPECT_EQ(l2(&h, 0x00ffffffffff0000ULL, 0, &c, m), 0);
	VT_EXPECT_EQ(c.host_off, 0x00ffffffffff0000ULL);

	/* v2: bit 0 is reserved */
	h = hdr(2, 16, false);
	VT_EXPECT_EQ(l2(&h, 0x70000, 0, &c, m), 0);
	VT_EXPECT_EQ(c.kind, VD_QCOW2_NORMAL);
	VT_EXPECT_EQ(l2(&h, 0x70001, 0, &c, m), -EIO);
	VT_EXPECT_CONTAINS(m, "reserved bits 0x1 set");
	VT_EXPECT_EQ(l2(&h, 1, 0, &c, m), -EIO);

	/* 512-byte clusters: every sector offset is aligned */
	h = hdr(3, 9, false);
	VT_EXPECT_EQ(l2(&h, 0x1200, 0, &c, m), 0);
	VT_EXPECT_EQ(c.host_off, 0x1200);
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

VT_TEST(qcow2_l2_compressed)
{
	struct vd_qcow2_cluster c;
	char m[256];
	size_t i;

	for (i = 0; i < VT_ARRAY_SIZE(ccases); i++) {
		const struct ccase *t = &ccases[i];
		struct vd_qcow2_header h = hdr(i & 1 ? 2 : 3, t->cb, false);
		u32 x = 62 - (t->cb - 8);
		u64 e = VD_QCOW2_OFLAG_COMPRESSED | t->extra << x | t->off;

		VT_EXPECT_MSG(l2(&h, e, 0, &c, m) == 0, "case %zu: %s", i, m);
		VT_EXPECT_MSG(c.kind == VD_QCOW2_COMPRESSED, "case %zu", i);
		VT_EXPECT_MSG(c.host_off == t->off, "case %zu: 0x%llx", i,
			      (unsigned long long)c.host_off);
		VT_EXPECT_MSG(c.comp_len == t->comp_len, "case %zu: comp_len %llu, want %llu", i,
			      (unsigned long long)c.comp_len, (unsigned long long)t->comp_len);
	}
}

VT_TEST(qcow2_l2_compressed_refusals)
{
	struct vd_qcow2_header h = hdr(3, 16, false);
	struct vd_qcow2_cluster c;
	char m[256];

	VT_EXPECT_EQ(l2(&h, VD_QCOW2_OFLAG_COMPRESSED | VD_QCOW2_OFLAG_COPIED | 0x1000, 0, &c,
			m), -EIO);
	VT_EXPECT_CONTAINS(m, "compressed cluster with the COPIED bit");
	/* 512-byte clusters: offset bits 56..60 exist but must be 0 */
	h = hdr(3, 9, false);
	VT_EXPECT_EQ(l2(&h, VD_QCOW2_OFLAG_COMPRESSED | 1ULL << 56, 0, &c, m), -EIO);
	VT_EXPECT_CONTAINS(m, "compressed data offset 0x100000000000000");
	VT_EXPECT_EQ(l2(&h, VD_QCOW2_OFLAG_COMPRESSED | 1ULL << 60, 0, &c, m), -EIO);
	/* external data files have no compressed clusters */
	h = hdr(3, 16, false);
	h.has_data_file = true;
	VT_EXPECT_EQ(l2(&h, VD_QCOW2_OFLAG_COMPRESSED | 0x1000, 0, &c, m), -EIO);
	VT_EXPECT_CONTAINS(m, "external data file");
}

VT_TEST(qcow2_l2_extended)
{
	struct vd_qcow2_header h = hdr(3, 16, true);
	struct vd_qcow2_cluster c;
	char m[256];
	u64 e;

	VT_EXPECT_EQ(l2(&h, 0x70000 | VD_QCOW2_OFLAG_COPIED, 0xffffffffULL, &c, m), 0);
	VT_EXPECT_EQ(c.kind, VD_QCOW2_NORMAL);
	VT_EXPECT_EQ(c.host_off, 0x70000);
	VT_EXPECT_EQ(c.sub_alloc, 0xffffffff);
	VT_EXPECT_EQ(c.sub_zero, 0);

	VT_EXPECT_EQ(l2(&h, 0x70000, 0x0000ff00000000ffULL, &c, m), 0);
	VT_EXPECT_EQ(c.kind, VD_QCOW2_NORMAL);
	VT_EXPECT_EQ(c.sub_alloc, 0xff);
	VT_EXPECT_EQ(c.sub_zero, 0xff00);

	/* a host cluster with nothing allocated yet */
	VT_EXPECT_EQ(l2(&h, 0x70000, 0, &c, m), 0);
	VT_EXPECT_EQ(c.kind, VD_QCOW2_NORMAL);
	VT_EXPECT_EQ(c.sub_alloc, 0);

	/* zero subclusters without a host cluster */
	VT_EXPECT_EQ(l2(&h, 0, 0xffffffff00000000ULL, &c, m), 0);
	VT_EXPECT_EQ(c.kind, VD_QCOW2_UNALLOCATED);
	VT_EXPECT_EQ(c.sub_zero, 0xffffffff);
	VT_EXPECT_EQ(l2(&h, 0, 0, &c, m), 0);
	VT_EXPECT_EQ(c.kind, VD_QCOW2_UNALLOCATED);

	/* refusals */
	VT_EXPECT_EQ(l2(&h, 0x70000, 0x0000000100000001ULL, &c, m), -EIO);
	VT_EXPECT_CONTAINS(m, "both allocated and zero (0x00000001)");
	VT_EXPECT_EQ(l2(&h, 0x70000, 0xffffffffffffffffULL, &c, m), -EIO);
	VT_EXPECT_CONTAINS(m, "both allocated and zero (0xffffffff)");
	VT_EXPECT_EQ(l2(&h, 0, 0x80000000ULL, &c, m), -EIO);
	VT_EXPECT_CONTAINS(m, "allocates subclusters of an unallocated cluster");
	VT_EXPECT_EQ(l2(&h, 0x70001, 0x1, &c, m), -EIO);
	VT_EXPECT_CONTAINS(m, "reserved bits 0x1 set");
	VT_EXPECT_EQ(l2(&h, 1, 0, &c, m), -EIO);
	VT_EXPECT_EQ(l2(&h, 0x70000 | 1ULL << 58, 0, &c, m), -EIO);

	/* compressed: no subclusters, the bitmap must be 0 */
	e = VD_QCOW2_OFLAG_COMPRESSED | 2ULL << 54 | 0x12345;
	VT_EXPECT_EQ(l2(&h, e, 0, &c, m), 0);
	VT_EXPECT_EQ(c.kind, VD_QCOW2_COMPRESSED);
	VT_EXPECT_EQ(c.host_off, 0x12345);
	VT_EXPECT_EQ(c.comp_len, 3 * 512 - 0x145);
	VT_EXPECT_EQ(c.sub_alloc, 0);
	VT_EXPECT_EQ(l2(&h, e, 1ULL << 40, &c, m), -EIO);
	VT_EXPECT_CONTAINS(m, "compressed cluster with subcluster bitmap 0x0000010000000000");

	/* the data file case: offset 0 + COPIED is allocated */
	h.has_data_file = true;
	VT_EXPECT_EQ(l2(&h, VD_QCOW2_OFLAG_COPIED, 0x3, &c, m), 0);
	VT_EXPECT_EQ(c.kind, VD_QCOW2_NORMAL);
	VT_EXPECT_EQ(c.sub_alloc, 3);
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

static int sparse(const struct vd_qcow2_header *h, const u8 *buf, size_t len, u64 fsize,
		  struct sres *r)
{
	struct vd_msg msg = { .buf = r->msg, .len = sizeof(r->msg) };
	u8 *copy = malloc(len ? len : 1);

	memcpy(copy, buf, len);
	r->msg[0] = '\0';
	r->ret = vd_qcow2_parse_snapshot(h, copy, len, fsize, &r->s, &r->rec_len, &msg);
	free(copy);
	if (r->ret && strncmp(r->msg, "qcow2 snapshot", 14))
		vt_fail(__FILE__, __LINE__, "message \"%s\" lacks the prefix", r->msg);
	return r->ret;
}

VT_TEST(qcow2_snapshot_records)
{
	struct vd_qcow2_header h = hdr(3, 16, false);
	static u8 buf[8192];
	struct snap s1 = { 0x50000, 16, "1", "first", 16, 7, 5ULL << 32, 2 * GiB };
	struct snap s2 = { 0x60000, 16, "2", "no-extra", 0, 4096, 0, 0 };
	struct snap s3 = { 0x70000, 16, "33", "vmstate-only", 8, 1, 1ULL << 33, 0 };
	struct snap s4 = { 0x80000, 0, "", "", 24, 0, 0, 4 * GiB };
	size_t n1, n2, n3, n4, off = 0;
	struct sres r;

	n1 = put_snap(buf, &s1);
	VT_EXPECT_EQ(n1, 40 + 16 + 1 + 5);
	off = (n1 + 7) & ~7UL;
	n2 = put_snap(buf + off, &s2);
	off += (n2 + 7) & ~7UL;
	n3 = put_snap(buf + off, &s3);
	off += (n3 + 7) & ~7UL;
	n4 = put_snap(buf + off, &s4);
	off += n4;		/* no padding after the last one */

	VT_ASSERT(sparse(&h, buf, off, GiB, &r) == 0);
	VT_EXPECT_EQ(r.rec_len, 64);
	VT_EXPECT_EQ(r.s.l1_offset, 0x50000);
	VT_EXPECT_EQ(r.s.l1_size, 16);
	VT_EXPECT_EQ(r.s.date_sec, 1700000000);
	VT_EXPECT_EQ(r.s.vm_state_size, 5ULL << 32);	/* the 64-bit field wins */
	VT_EXPECT_EQ(r.s.disk_size, 2 * GiB);
	VT_EXPECT_STREQ(r.s.id, "1");
	VT_EXPECT_STREQ(r.s.name, "first");

	off = r.rec_len;
	VT_ASSERT(sparse(&h, buf + off, sizeof(buf) - off, GiB, &r) == 0);
	VT_EXPECT_EQ(r.rec_len, 56);			/* 40 + 1 + 8 = 49 -> 56 */
	VT_EXPECT_EQ(r.s.vm_state_size, 4096);
	VT_EXPECT_EQ(r.s.disk_size, GiB);		/* the image's size */
	VT_EXPECT_STREQ(r.s.name, "no-extra");

	off += r.rec_len;
	VT_ASSERT(sparse(&h, buf + off, sizeof(buf) - off, GiB, &r) == 0);
	VT_EXPECT_EQ(r.rec_len, 64);			/* 40 + 8 + 2 + 12 = 62 */
	VT_EXPECT_EQ(r.s.vm_state_size, 1ULL << 33);
	VT_EXPECT_EQ(r.s.disk_size, GiB);

	off += r.rec_len;
	VT_ASSERT(sparse(&h, buf + off, n4, GiB, &r) == 0);
	VT_EXPECT_EQ(r.rec_len, 64);			/* exactly 64, unknown extra skipped */
	VT_EXPECT_EQ(r.s.disk_size, 4 * GiB);
	VT_EXPECT_STREQ(r.s.id, "");
	VT_EXPECT_STREQ(r.s.name, "");
}

VT_TEST(qcow2_snapshot_padding_missing_at_end)
{
	struct vd_qcow2_header h = hdr(3, 16, false);
	struct snap s = { 0x50000, 1, "1", "abc", 16, 0, 0, GiB };
	u8 buf[128];
	size_t n = put_snap(buf, &s);
	struct sres r;

	VT_EXPECT_EQ(n, 60);
	VT_EXPECT_EQ(sparse(&h, buf, n, GiB, &r), 0);
	VT_EXPECT_EQ(r.rec_len, 60);
	VT_EXPECT_EQ(sparse(&h, buf, n + 2, GiB, &r), 0);
	VT_EXPECT_EQ(r.rec_len, 62);
	VT_EXPECT_EQ(sparse(&h, buf, n + 4, GiB, &r), 0);
	VT_EXPECT_EQ(r.rec_len, 64);
	VT_EXPECT_EQ(sparse(&h, buf, sizeof(buf), GiB, &r), 0);
	VT_EXPECT_EQ(r.rec_len, 64);
}

VT_TEST(qcow2_snapshot_longest_strings)
{
	struct vd_qcow2_header h = hdr(3, 16, false);
	static char id[128], name[1024];
	static u8 buf[2048];
	struct snap s = { 0x50000, 1, id, name, 0, 0, 0, 0 };
	struct sres r;
	size_t n;

	memset(id, 'i', 127);
	memset(name, 'n', 1023);
	n = put_snap(buf, &s);
	VT_EXPECT_EQ(sparse(&h, buf, n, GiB, &r), 0);
	VT_EXPECT_EQ(strlen(r.s.id), 127);
	VT_EXPECT_EQ(strlen(r.s.name), 1023);

	put16(buf + 12, 128);
	VT_EXPECT_EQ(sparse(&h, buf, sizeof(buf), GiB, &r), -EINVAL);
	VT_EXPECT_CONTAINS(r.msg, "id_str_size 128 exceeds 127");

	/* name_size 1024 in the header */
	put_snap(buf, &s);
	put16(buf + 14, 1024);
	VT_EXPECT_EQ(sparse(&h, buf, sizeof(buf), GiB, &r), -EINVAL);
	VT_EXPECT_CONTAINS(r.msg, "name_size 1024 exceeds 1023");
	put16(buf + 14, 0xffff);
	VT_EXPECT_EQ(sparse(&h, buf, sizeof(buf), GiB, &r), -EINVAL);
	VT_EXPECT_CONTAINS(r.msg, "name_size 65535");
}

VT_TEST(qcow2_snapshot_refusals)
{
	struct vd_qcow2_header h = hdr(3, 16, false);
	struct snap s = { 0x50000, 16, "1", "snap", 16, 0, 0, GiB };
	u8 buf[2048];
	struct sres r;
	size_t n;

	n = put_snap(buf, &s);
	VT_EXPECT_EQ(sparse(&h, buf, n - 1, GiB, &r), -EINVAL);
	VT_EXPECT_CONTAINS(r.msg, "runs past the table (60 bytes left)");
	VT_EXPECT_EQ(sparse(&h, buf, 39, GiB, &r), -EINVAL);
	VT_EXPECT_CONTAINS(r.msg, "truncated: 39 bytes");
	VT_EXPECT_EQ(r.rec_len, 0);
	VT_EXPECT_EQ(sparse(&h, buf, 0, GiB, &r), -EINVAL);

	/* extra_data_size bounded, and counted in the overrun check */
	put32(buf + 36, 1025);
	VT_EXPECT_EQ(sparse(&h, buf, sizeof(buf), GiB, &r), -EINVAL);
	VT_EXPECT_CONTAINS(r.msg, "extra_data_size 1025 exceeds 1024");
	put32(buf + 36, 0xffffffff);
	VT_EXPECT_EQ(sparse(&h, buf, sizeof(buf), GiB, &r), -EINVAL);
	VT_EXPECT_CONTAINS(r.msg, "extra_data_size 4294967295");
	put32(buf + 36, 1024);
	VT_EXPECT_EQ(sparse(&h, buf, 100, GiB, &r), -EINVAL);
	VT_EXPECT_CONTAINS(r.msg, "extra_data_size 1024");

	/* the L1 table */
	s.l1_off = 0x50200;
	n = put_snap(buf, &s);
	VT_EXPECT_EQ(sparse(&h, buf, n, GiB, &r), -EINVAL);
	VT_EXPECT_CONTAINS(r.msg, "snapshot '1': l1_table_offset 0x50200 not cluster aligned");
	s.l1_off = 0x50000;
	n = put_snap(buf, &s);
	VT_EXPECT_EQ(sparse(&h, buf, n, 0x50000 + 16 * 8, &r), 0);
	VT_EXPECT_EQ(sparse(&h, buf, n, 0x50000 + 16 * 8 - 1, &r), -EINVAL);
	VT_EXPECT_CONTAINS(r.msg, "outside the file");
	s.l1_off = 0xffffffffffff0000ULL;
	n = put_snap(buf, &s);
	VT_EXPECT_EQ(sparse(&h, buf, n, ~0ULL, &r), 0);	/* ends at 2^64 - 0x10000 + 128 */
	s.l1_size = 8192;
	n = put_snap(buf, &s);
	VT_EXPECT_EQ(sparse(&h, buf, n, ~0ULL, &r), -EINVAL);
	VT_EXPECT_CONTAINS(r.msg, "outside the file");
	s.l1_size = 16;
	s.l1_off = 0;
	n = put_snap(buf, &s);
	VT_EXPECT_EQ(sparse(&h, buf, n, GiB, &r), -EINVAL);
	s.l1_size = 0;
	n = put_snap(buf, &s);
	VT_EXPECT_EQ(sparse(&h, buf, n, GiB, &r), 0);
	s.l1_off = 0x50000;
	s.l1_size = 4194305;
	n = put_snap(buf, &s);
	VT_EXPECT_EQ(sparse(&h, buf, n, ~0ULL, &r), -EINVAL);
	VT_EXPECT_CONTAINS(r.msg, "l1_size 4194305 exceeds 4194304");
}

/* Refcount entries of every width: packing, byte order, neighbours kept. */
VT_TEST(qcow2_refcount_widths)
{
	u8 block[64];
	u32 order;

	for (order = 0; order <= 6; order++) {
		u64 max = vd_qcow2_refcount_max(order), n = sizeof(block) * 8 >> order, i;

		memset(block, 0, sizeof(block));
		for (i = 0; i < n; i++)
			vd_qcow2_refcount_set(block, order, i, (i * 7 + 1) & max);
		for (i = 0; i < n; i++)
			VT_EXPECT_EQ(vd_qcow2_refcount_get(block, order, i), (i * 7 + 1) & max);
		vd_qcow2_refcount_set(block, order, 1, max);
		VT_EXPECT_EQ(vd_qcow2_refcount_get(block, order, 1), max);
		VT_EXPECT_EQ(vd_qcow2_refcount_get(block, order, 0), 1);
		VT_EXPECT_EQ(vd_qcow2_refcount_get(block, order, 2), 15 & max);
	}
	/* on-disk layout: 16-bit big-endian; 1-bit from the least significant bit */
	memset(block, 0, sizeof(block));
	vd_qcow2_refcount_set(block, 4, 1, 0x1234);
	VT_EXPECT_EQ(block[2], 0x12);
	VT_EXPECT_EQ(block[3], 0x34);
	memset(block, 0, sizeof(block));
	vd_qcow2_refcount_set(block, 0, 9, 1);
	VT_EXPECT_EQ(block[1], 0x02);
	vd_qcow2_refcount_set(block, 1, 2, 3);
	VT_EXPECT_EQ(block[0], 0x30);
	VT_EXPECT_EQ(vd_qcow2_refcount_max(4), 65535);
	VT_EXPECT_EQ(vd_qcow2_refcount_max(6), ~0ULL);
}

VT_TEST(qcow2_reftable_entries)
{
	struct vd_qcow2_header h = { .cluster_size = 65536, .cluster_bits = 16 };
	char m[256];
	struct vd_msg msg = { .buf = m, .len = sizeof(m) };
	u64 off;

	m[0] = '\0';
	VT_EXPECT_EQ(vd_qcow2_reftable_entry(&h, 0, &off, GiB, &msg), 0);
	VT_EXPECT_EQ(off, 0);
	m[0] = '\0';
	VT_EXPECT_EQ(vd_qcow2_reftable_entry(&h, 0x30000, &off, GiB, &msg), 0);
	VT_EXPECT_EQ(off, 0x30000);
	m[0] = '\0';
	VT_EXPECT_EQ(vd_qcow2_reftable_entry(&h, 0x30001, &off, GiB, &msg), -EIO);
	VT_EXPECT_CONTAINS(m, "reserved bits");
	m[0] = '\0';
	VT_EXPECT_EQ(vd_qcow2_reftable_entry(&h, 0x30200, &off, GiB, &msg), -EIO);
	VT_EXPECT_CONTAINS(m, "not cluster aligned");
	m[0] = '\0';
	VT_EXPECT_EQ(vd_qcow2_reftable_entry(&h, 0x30000, &off, 0x30000, &msg), -EIO);
	VT_EXPECT_CONTAINS(m, "outside the file");
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
static int qset(struct qimg *q, const char *name, const char *format,
		size_t *write_len, struct res *r)
{
	struct vd_msg msg = { .buf = r->msg, .len = sizeof(r->msg) };
	struct vd_qcow2_header h;
	u8 *old, *out;
	int ret;

	if (qparse(q, r))
		return -1000;
	h = r->h;
	old = malloc(q->len);
	out = malloc(q->len);
	memcpy(old, q->buf, q->len);
	memset(out, 0x5a, q->len);
	r->msg[0] = '\0';
	ret = vd_qcow2_set_backing(old, q->len, &h, name, format, out, write_len, &msg);
	free(old);
	if (ret) {
		VT_EXPECT_MSG(r->msg[0], "refusal %d without a message", ret);
		VT_EXPECT_EQ(*write_len, 0);
		free(out);
		return ret;
	}
	VT_EXPECT_STREQ(r->msg, "");
	VT_EXPECT(*write_len <= q->len);
	VT_EXPECT(*write_len % 512 == 0 || *write_len == q->len);
	VT_EXPECT(all_zero(out + *write_len, q->len - *write_len));
	memcpy(q->buf, out, q->len);
	free(out);
	VT_EXPECT_EQ(qparse(q, r), 0);
	VT_EXPECT_STREQ(r->h.backing_name, name);
	VT_EXPECT_STREQ(r->h.backing_format, name[0] && format ? format : "");
	VT_EXPECT_EQ(r->h.backing_len, strlen(name));
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

VT_TEST(qcow2_set_backing_add)
{
	static const u8 bitmaps[24] = { 0, 0, 0, 1 };
	u8 before[112];
	u32 types[8];
	size_t wl;
	struct res r;
	struct qimg q;

	qinit(&q, 3, 16, 1 * GiB);
	qcomp(&q, VD_QCOW2_COMPRESS_ZSTD, true);
	qext(&q, EXT_FEATURES, "\0\0dirty bit\0", 12);
	qext(&q, 0x12345678, "unknown!", 8);
	qext(&q, EXT_BITMAPS, bitmaps, sizeof(bitmaps));
	qext(&q, EXT_DATA_FILE, "data.raw", 8);
	memcpy(before, q.buf, sizeof(before));
	VT_ASSERT(qset(&q, "../base images/b.qcow2", "qcow2", &wl, &r) == 0);
	VT_EXPECT_EQ(wl, 512);
	/* header fields other than the backing file's unchanged */
	VT_EXPECT(!memcmp(q.buf, before, 8));
	VT_EXPECT(!memcmp(q.buf + 20, before + 20, sizeof(before) - 20));
	VT_EXPECT_EQ(r.h.compression_type, VD_QCOW2_COMPRESS_ZSTD);
	VT_EXPECT_STREQ(r.h.data_file_name, "data.raw");
	VT_ASSERT(qexts(&q, 112, types, 8) == 5);
	VT_EXPECT_EQ(types[0], EXT_BACKING_FMT);
	VT_EXPECT_EQ(types[1], EXT_FEATURES);
	VT_EXPECT_EQ(types[2], 0x12345678);
	VT_EXPECT_EQ(types[3], EXT_BITMAPS);
	VT_EXPECT_EQ(types[4], EXT_DATA_FILE);
	/* extension data kept: the unknown one at its new place */
	VT_EXPECT(!memcmp(q.buf + 112 + 16 + 8 + 16 + 8, "unknown!", 8));
	/* name right after the end marker */
	VT_EXPECT_EQ(r.h.backing_offset, 112 + 16 + 24 + 16 + 32 + 16 + 8);
	qfree(&q);
}

VT_TEST(qcow2_set_backing_replace_and_remove)
{
	u32 types[8];
	size_t wl;
	struct res r;
	struct qimg q;

	/* as qemu-img lays out an overlay: format first, name after the end */
	qinit(&q, 3, 16, 1 * GiB);
	qext(&q, EXT_BACKING_FMT, "raw", 3);
	qext(&q, EXT_FEATURES, "\0\0dirty bit\0", 12);
	qbacking(&q, q.ext_off + 8, "/old/base.raw", 13);
	VT_ASSERT(qset(&q, "new.vmdk", "vmdk", &wl, &r) == 0);
	VT_ASSERT(qexts(&q, 104, types, 8) == 2);
	VT_EXPECT_EQ(types[0], EXT_BACKING_FMT);
	VT_EXPECT_EQ(types[1], EXT_FEATURES);

	/* the same again: the same bytes */
	{
		u8 *once = malloc(q.len);

		memcpy(once, q.buf, q.len);
		VT_ASSERT(qset(&q, "new.vmdk", "vmdk", &wl, &r) == 0);
		VT_EXPECT(!memcmp(once, q.buf, q.len));
		free(once);
	}

	/* no backing file any more: both fields 0, no format extension */
	VT_ASSERT(qset(&q, "", "qcow2", &wl, &r) == 0);
	VT_EXPECT_EQ(vd_be64(q.buf + O_BACKING_OFF), 0);
	VT_EXPECT_EQ(vd_be32(q.buf + O_BACKING_SIZE), 0);
	VT_EXPECT_EQ(r.h.backing_offset, 0);
	VT_ASSERT(qexts(&q, 104, types, 8) == 1);
	VT_EXPECT_EQ(types[0], EXT_FEATURES);
	qfree(&q);

	/* a name far behind the extensions is overwritten too */
	qinit(&q, 3, 16, 1 * GiB);
	qbacking(&q, 8192, "far.qcow2", 9);
	VT_ASSERT(qset(&q, "near.qcow2", NULL, &wl, &r) == 0);
	VT_EXPECT_EQ(wl, 8704);
	VT_EXPECT_EQ(r.h.backing_offset, 112);
	VT_EXPECT_STREQ(r.h.backing_format, "");
	qfree(&q);
}

VT_TEST(qcow2_set_backing_v2)
{
	u8 before[72];
	u32 types[4];
	size_t wl;
	struct res r;
	struct qimg q;

	qinit(&q, 2, 9, 64 * MiB);
	qext(&q, EXT_BACKING_FMT, "qcow2", 5);
	qbacking(&q, 72 + 16 + 8, "a", 1);
	memcpy(before, q.buf, sizeof(before));
	VT_ASSERT(qset(&q, "bb.raw", "raw", &wl, &r) == 0);
	VT_EXPECT_EQ(wl, 512);
	VT_EXPECT(!memcmp(q.buf + 20, before + 20, 52));
	VT_EXPECT_EQ(r.h.backing_offset, 96);
	VT_ASSERT(qexts(&q, 72, types, 4) == 1);
	VT_ASSERT(qset(&q, "", NULL, &wl, &r) == 0);
	VT_EXPECT_EQ(qexts(&q, 72, types, 4), 0);
	qfree(&q);
}

VT_TEST(qcow2_set_backing_refusals)
{
	char big[1025], fmt[65];
	size_t wl;
	struct res r;
	struct qimg q;

	memset(big, 'n', sizeof(big));
	big[1024] = '\0';
	memset(fmt, 'f', sizeof(fmt));
	fmt[64] = '\0';
	qinit(&q, 3, 16, 1 * GiB);
	VT_EXPECT_EQ(qset(&q, big, "raw", &wl, &r), -EFBIG);
	VT_EXPECT_CONTAINS(r.msg, "backing file name");
	big[1023] = '\0';
	VT_EXPECT_EQ(qset(&q, "x", fmt, &wl, &r), -EFBIG);
	VT_EXPECT_CONTAINS(r.msg, "backing format");
	/* the longest of both fit a 64 KiB cluster */
	fmt[63] = '\0';
	VT_EXPECT_EQ(qset(&q, big, fmt, &wl, &r), 0);
	qfree(&q);

	/* 512-byte clusters: 104 + 16 + 8 + 400 bytes do not fit */
	qinit(&q, 3, 9, 64 * MiB);
	big[400] = '\0';
	VT_EXPECT_EQ(qset(&q, big, "qcow2", &wl, &r), -EFBIG);
	VT_EXPECT_CONTAINS(r.msg, "backing file name");
	VT_EXPECT_CONTAINS(r.msg, "first cluster");
	/* exactly full: 104 + 16 + 8 + 384 */
	big[384] = '\0';
	VT_EXPECT_EQ(qset(&q, big, "qcow2", &wl, &r), 0);
	VT_EXPECT_EQ(wl, 512);
	qfree(&q);

	/* extensions that fill the cluster leave no room for the format */
	qinit(&q, 3, 12, 1 * GiB);
	{
		u8 fill[4096 - 104 - 16];

		memset(fill, 0xaa, sizeof(fill));
		qext(&q, 0x11111111, fill, sizeof(fill));
		VT_EXPECT_EQ(qset(&q, "b", "raw", &wl, &r), -EFBIG);
		VT_EXPECT_CONTAINS(r.msg, "does not fit");
		/* without a format extension the 8-byte end marker fits, the name not */
		VT_EXPECT_EQ(qset(&q, "b", NULL, &wl, &r), -EFBIG);
		VT_EXPECT_CONTAINS(r.msg, "backing file name");
		VT_EXPECT_EQ(qset(&q, "", NULL, &wl, &r), 0);
	}
	qfree(&q);
}
