// SPDX-License-Identifier: GPL-2.0
/*
 * qcow2_dump.c - print what vd_qcow2.c makes of a qcow2 image file, for
 * qcow2_real_images.sh to compare with "qemu-img info" and "qemu-img map".
 *
 *   qcow2_dump [-m] FILE
 *
 * Prints "key value" lines: the header fields, one "snapshot" line per
 * internal snapshot (id, name, disk size, VM state size, date, tab
 * separated) and with -m one "map START LENGTH KIND HOST_OFFSET" line per
 * run of guest bytes (clusters, or subclusters with extended L2) of the
 * same kind at contiguous host offsets; KIND is data, compressed, zero or
 * unallocated, HOST_OFFSET -1 where there is none.  On a refusal prints
 * "error ERRNO MESSAGE" to stderr and exits 1.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vd_qcow2.h"

enum { K_DATA, K_COMPRESSED, K_ZERO, K_UNALLOC };
static const char *const kind_names[] = { "data", "compressed", "zero", "unallocated" };

static int fd;
static u64 file_size;
static char msgbuf[512];
static struct vd_msg msg = { .buf = msgbuf, .len = sizeof(msgbuf) };

static void fail(int err)
{
	fprintf(stderr, "error %d %s\n", err, msgbuf[0] ? msgbuf : strerror(-err));
	exit(1);
}

static void read_at(void *buf, size_t len, u64 off)
{
	ssize_t n = pread(fd, buf, len, (off_t)off);

	if (n < 0 || (size_t)n != len) {
		vd_msg_set(&msg, "short read of %zu bytes at %llu", len, (unsigned long long)off);
		fail(-EIO);
	}
}

/* runs of guest bytes */
static struct {
	bool have;
	u64 start, len, host;
	int kind;
} run;

static void flush_run(void)
{
	if (run.have)
		printf("map %llu %llu %s %lld\n", (unsigned long long)run.start,
		       (unsigned long long)run.len, kind_names[run.kind],
		       run.kind == K_DATA ? (long long)run.host : -1LL);
	run.have = false;
}

static void emit(u64 start, u64 len, int kind, u64 host)
{
	if (run.have && run.kind == kind && run.start + run.len == start &&
	    (kind != K_DATA || run.host + run.len == host)) {
		run.len += len;
		return;
	}
	flush_run();
	run.have = true;
	run.start = start;
	run.len = len;
	run.kind = kind;
	run.host = host;
}

static void dump_map(const struct vd_qcow2_header *h)
{
	u64 l1_cover = h->cluster_size << h->l2_bits, pos = 0;
	u64 entries = 1ULL << h->l2_bits;
	u64 *l1;
	u8 *l2;
	u32 i;

	l1 = malloc(h->l1_size ? (size_t)h->l1_size * 8 : 1);
	l2 = malloc(h->cluster_size);
	if (!l1 || !l2)
		fail(-ENOMEM);
	if (h->l1_size)
		read_at(l1, (size_t)h->l1_size * 8, h->l1_offset);
	for (i = 0; i < h->l1_size && pos < h->size; i++) {
		u64 l2_off, j;
		int ret;

		ret = vd_qcow2_l1_entry(h, vd_be64(&l1[i]), &l2_off, file_size, &msg);
		if (ret)
			fail(ret);
		if (!l2_off) {
			u64 n = h->size - pos < l1_cover ? h->size - pos : l1_cover;

			emit(pos, n, K_UNALLOC, 0);
			pos += n;
			continue;
		}
		read_at(l2, h->cluster_size, l2_off);
		for (j = 0; j < entries && pos < h->size; j++) {
			const u8 *e = l2 + j * h->l2_entry_size;
			u64 bitmap = h->extended_l2 ? vd_be64(e + 8) : 0;
			u64 n = h->size - pos < h->cluster_size ? h->size - pos : h->cluster_size;
			struct vd_qcow2_cluster c;
			u64 sub = h->cluster_size >> 5, k;

			ret = vd_qcow2_l2_entry(h, vd_be64(e), bitmap, &c, &msg);
			if (ret)
				fail(ret);
			if (c.kind == VD_QCOW2_COMPRESSED) {
				emit(pos, n, K_COMPRESSED, 0);
			} else if (!h->extended_l2) {
				emit(pos, n, c.kind == VD_QCOW2_NORMAL ? K_DATA :
				     c.kind == VD_QCOW2_ZERO ? K_ZERO : K_UNALLOC, c.host_off);
			} else {
				for (k = 0; k < 32 && k * sub < n; k++) {
					u64 m = n - k * sub < sub ? n - k * sub : sub;

					if (c.sub_alloc & (1U << k))
						emit(pos + k * sub, m, K_DATA, c.host_off + k * sub);
					else if (c.sub_zero & (1U << k))
						emit(pos + k * sub, m, K_ZERO, 0);
					else
						emit(pos + k * sub, m, K_UNALLOC, 0);
				}
			}
			pos += n;
		}
	}
	if (pos < h->size)
		emit(pos, h->size - pos, K_UNALLOC, 0);
	flush_run();
	free(l1);
	free(l2);
}

static void dump_snapshots(const struct vd_qcow2_header *h)
{
	size_t len, off = 0;
	u32 i;
	u8 *buf;

	if (!h->nb_snapshots)
		return;
	len = file_size - h->snapshots_offset;
	if (len > VD_QCOW2_MAX_SNAPSHOT_TABLE)
		len = VD_QCOW2_MAX_SNAPSHOT_TABLE;
	buf = malloc(len);
	if (!buf)
		fail(-ENOMEM);
	read_at(buf, len, h->snapshots_offset);
	for (i = 0; i < h->nb_snapshots; i++) {
		struct vd_qcow2_snapshot s;
		size_t rec_len;
		int ret;

		ret = vd_qcow2_parse_snapshot(h, buf + off, len - off, file_size, &s,
					      &rec_len, &msg);
		if (ret)
			fail(ret);
		printf("snapshot %s\t%s\t%llu\t%llu\t%u\n", s.id, s.name,
		       (unsigned long long)s.disk_size, (unsigned long long)s.vm_state_size,
		       s.date_sec);
		off += rec_len;
	}
	free(buf);
}

int main(int argc, char **argv)
{
	static struct vd_qcow2_header h;
	bool map = false;
	struct stat st;
	size_t len;
	u8 *buf;
	int ret;

	if (argc == 3 && !strcmp(argv[1], "-m")) {
		map = true;
		argv++;
		argc--;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: qcow2_dump [-m] FILE\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY);
	if (fd < 0 || fstat(fd, &st)) {
		perror(argv[1]);
		return 1;
	}
	file_size = st.st_size;
	len = file_size < VD_QCOW2_HEADER_MAX ? file_size : VD_QCOW2_HEADER_MAX;
	buf = malloc(len ? len : 1);
	if (!buf)
		fail(-ENOMEM);
	read_at(buf, len, 0);
	ret = vd_qcow2_parse_header(buf, len, file_size, &h, &msg);
	free(buf);
	if (ret)
		fail(ret);

	printf("version %u\n", h.version);
	printf("compat %s\n", h.version == 2 ? "0.10" : "1.1");
	printf("cluster_size %llu\n", (unsigned long long)h.cluster_size);
	printf("size %llu\n", (unsigned long long)h.size);
	printf("l1_size %u\n", h.l1_size);
	printf("l1_offset %llu\n", (unsigned long long)h.l1_offset);
	printf("l2_entry_size %u\n", h.l2_entry_size);
	printf("refcount_bits %u\n", 1U << h.refcount_order);
	printf("refcount_table_offset %llu\n", (unsigned long long)h.refcount_table_offset);
	printf("refcount_table_clusters %u\n", h.refcount_table_clusters);
	printf("nb_snapshots %u\n", h.nb_snapshots);
	printf("header_length %u\n", h.header_length);
	printf("incompatible_features 0x%llx\n", (unsigned long long)h.incompatible_features);
	printf("compatible_features 0x%llx\n", (unsigned long long)h.compatible_features);
	printf("autoclear_features 0x%llx\n", (unsigned long long)h.autoclear_features);
	printf("lazy_refcounts %s\n",
	       h.compatible_features & VD_QCOW2_COMPAT_LAZY_REFCOUNTS ? "true" : "false");
	printf("extended_l2 %s\n", h.extended_l2 ? "true" : "false");
	printf("compression_type %s\n",
	       h.compression_type == VD_QCOW2_COMPRESS_ZSTD ? "zstd" : "zlib");
	printf("dirty %s\n", h.dirty ? "true" : "false");
	printf("corrupt %s\n", h.corrupt ? "true" : "false");
	printf("backing_filename %s\n", h.backing_name);
	printf("backing_format %s\n", h.backing_format);
	printf("data_file %s\n", h.has_data_file ? h.data_file_name : "");
	dump_snapshots(&h);
	if (map)
		dump_map(&h);
	return 0;
}
