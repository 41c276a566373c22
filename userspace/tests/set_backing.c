// SPDX-License-Identifier: GPL-2.0
/*
 * set_backing.c - point an image at another backing file with the pure
 * code the kernel uses (vd_qcow2_set_backing(), vd_vmdk_set_parent()), so
 * that set_backing_real_images.sh can ask qemu-img what it makes of the
 * result.  The I/O mirrors the kernel's: qcow2 rewrites the start of the
 * first cluster in one write; vmdk rewrites an embedded descriptor in its
 * room (zero-padded) or a descriptor file (then truncated).
 *
 *   set_backing qcow2 FILE NAME [FORMAT]   NAME "" removes the backing file
 *   set_backing vmdk FILE NAME PARENT_CID  PARENT_CID in hex
 *
 * On a refusal prints "error ERRNO MESSAGE" to stderr, writes nothing and
 * exits 1.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vd_qcow2.h"
#include "vd_vmdk.h"

static char msgbuf[512];
static struct vd_msg msg = { .buf = msgbuf, .len = sizeof(msgbuf) };

static void fail(int err)
{
	fprintf(stderr, "error %d %s\n", err, msgbuf[0] ? msgbuf : strerror(-err));
	exit(1);
}

static void *read_at(int fd, size_t len, u64 off)
{
	char *buf = calloc(1, len + 1);

	if (!buf || pread(fd, buf, len, (off_t)off) != (ssize_t)len) {
		vd_msg_set(&msg, "short read of %zu bytes at %llu", len, (unsigned long long)off);
		fail(-EIO);
	}
	return buf;
}

static void write_at(int fd, const void *buf, size_t len, u64 off)
{
	if (pwrite(fd, buf, len, (off_t)off) != (ssize_t)len || fsync(fd)) {
		vd_msg_set(&msg, "write of %zu bytes at %llu failed", len, (unsigned long long)off);
		fail(-EIO);
	}
}

static void do_qcow2(int fd, u64 size, const char *name, const char *format)
{
	struct vd_qcow2_header h;
	size_t len = size < VD_QCOW2_HEADER_MAX ? size : VD_QCOW2_HEADER_MAX, wl;
	u8 *old = read_at(fd, len, 0), *out;
	int ret;

	ret = vd_qcow2_parse_header(old, len, size, &h, &msg);
	if (ret)
		fail(ret);
	if (len > h.cluster_size)
		len = h.cluster_size;
	out = malloc(len);
	ret = vd_qcow2_set_backing(old, len, &h, name, format, out, &wl, &msg);
	if (ret)
		fail(ret);
	write_at(fd, out, wl, 0);
	free(out);
	free(old);
}

static void do_vmdk(int fd, u64 size, const char *name, u32 cid)
{
	static struct vd_vmdk_extent ext[VD_VMDK_MAX_EXTENTS];
	struct vd_vmdk_desc d = { .ext = ext };
	struct vd_vmdk_header h;
	u8 hdr[VD_VMDK_HEADER_LEN] = { 0 };
	u64 pos = 0, room = size;
	bool embedded = false;
	char *text, *out;
	size_t n;
	int ret;

	if (size >= sizeof(hdr) && pread(fd, hdr, sizeof(hdr), 0) == sizeof(hdr) &&
	    vd_le32(hdr) == VD_VMDK_MAGIC) {
		ret = vd_vmdk_parse_header(hdr, size, false, &h, &msg);
		if (ret)
			fail(ret);
		if (!h.desc_offset) {
			vd_msg_set(&msg, "no embedded descriptor");
			fail(-EOPNOTSUPP);
		}
		pos = h.desc_offset * VD_VMDK_SECTOR;
		room = h.desc_sectors * VD_VMDK_SECTOR;
		embedded = true;
	} else if (size > VD_VMDK_DESC_MAX) {
		fail(-EFBIG);
	}
	text = read_at(fd, room, pos);
	ret = vd_vmdk_parse_descriptor(text, room, &d, VD_VMDK_MAX_EXTENTS, &msg);
	if (ret)
		fail(ret);
	out = calloc(1, embedded ? room : VD_VMDK_DESC_MAX);
	ret = vd_vmdk_set_parent(text, room, cid, name, out,
				 embedded ? room : VD_VMDK_DESC_MAX, &n, &msg);
	if (ret)
		fail(ret);
	ret = vd_vmdk_parse_descriptor(out, n, &d, VD_VMDK_MAX_EXTENTS, &msg);
	if (ret)
		fail(ret);
	write_at(fd, out, embedded ? room : n, pos);
	if (!embedded && ftruncate(fd, n))
		fail(-errno);
	free(out);
	free(text);
}

int main(int argc, char **argv)
{
	struct stat st;
	int fd;

	if (argc < 4 || argc > 5 || (strcmp(argv[1], "qcow2") && strcmp(argv[1], "vmdk")) ||
	    (!strcmp(argv[1], "vmdk") && argc != 5)) {
		fprintf(stderr, "usage: set_backing qcow2 FILE NAME [FORMAT]\n"
				"       set_backing vmdk FILE NAME PARENT_CID\n");
		return 2;
	}
	fd = open(argv[2], O_RDWR);
	if (fd < 0 || fstat(fd, &st))
		fail(-errno);
	if (!strcmp(argv[1], "qcow2"))
		do_qcow2(fd, st.st_size, argv[3], argc == 5 ? argv[4] : NULL);
	else
		do_vmdk(fd, st.st_size, argv[3], (u32)strtoul(argv[4], NULL, 16));
	close(fd);
	return 0;
}
