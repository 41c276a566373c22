// SPDX-License-Identifier: GPL-2.0
/*
 * vdattach_vmdk.c - a vmdk layer as vdattach opens it: the descriptor
 * (a file of its own, or embedded in a sparse extent) is parsed with the
 * driver's own decoder (vd_vmdk.c), each extent file it names is opened
 * relative to the descriptor's directory, and the parent named by
 * parentFileNameHint becomes the next layer.
 *
 * The kernel never opens a path: it gets the descriptor's fd and the
 * extent fds in descriptor order, and checks their count and sizes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vdattach.h"

/* An extent file: regular or block device, never blocking on a FIFO. */
static int vda_open_extent(const char *path, int flags)
{
	struct stat st;
	int fd, fl;

	fd = open(path, flags | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) ||
	    (fl = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		int err = errno ? errno : EINVAL;

		close(fd);
		return S_ISREG(st.st_mode) || S_ISBLK(st.st_mode) ? -err : -EINVAL;
	}
	return fd;
}

/* Open every file the descriptor names, in order, into @l->extent_fds. */
static int vda_open_extents(struct vda_layer *l, const char *text,
			    const struct vd_vmdk_desc *d, bool writable)
{
	unsigned int i;

	l->extent_fds = calloc(d->nr_files ? d->nr_files : 1, sizeof(int));
	if (!l->extent_fds)
		return vda_fail(l->path, ENOMEM);
	for (i = 0; i < d->nr_extents; i++) {
		const struct vd_vmdk_extent *x = &d->ext[i];
		char *name, *path;
		int fd;

		if (x->type == VD_VMDK_EXT_ZERO)
			continue;
		name = strndup(text + x->name_off, x->name_len);
		path = name ? vda_backing_path(l->path, name) : NULL;
		if (!path) {
			free(name);
			return vda_fail(l->path, ENOMEM);
		}
		fd = vda_open_extent(path, writable ? O_RDWR : O_RDONLY);
		if (fd < 0)
			vda_warn(vda_show(l->path), "extent %u '%s': %s", i + 1,
				 vda_show(path), vda_open_error(fd));
		free(name);
		free(path);
		if (fd < 0)
			return VDA_EXIT_FAILURE;
		l->extent_fds[l->nr_extent_fds++] = fd;
	}
	return VDA_EXIT_OK;
}

/* Read the descriptor text at @off (@len bytes) of @l's file. */
static char *vda_read_text(struct vda_layer *l, uint64_t off, uint64_t len)
{
	char *text = malloc(len + 1);
	ssize_t n;

	if (!text)
		return NULL;
	n = vda_pread_full(l->fd, text, len, off);
	if (n < 0) {
		free(text);
		return NULL;
	}
	text[n] = '\0';
	return text;
}

/**
 * vda_load_vmdk() - parse a vmdk layer and open its extent files
 * @l:        the layer, its file open
 * @writable: open the extent files for writing (the top of a RW attach)
 *
 * Sets @l->vmdk (the descriptor, with parent hint and CIDs), @l->extent_fds
 * and @l->virtual_size.  Return: an exit code, the reason printed.
 */
int vda_load_vmdk(struct vda_layer *l, bool writable)
{
	char msgbuf[VDISK_MSG_MAX] = "";
	struct vd_msg msg = { msgbuf, sizeof(msgbuf) };
	unsigned char hdr[VD_VMDK_HEADER_LEN];
	struct vd_vmdk_header h;
	struct vd_vmdk_desc *d;
	bool sparse;
	char *text = NULL;
	ssize_t n;
	int ret;

	d = calloc(1, sizeof(*d));
	if (d)
		d->ext = calloc(VD_VMDK_MAX_EXTENTS, sizeof(*d->ext));
	if (!d || !d->ext) {
		if (d)
			free(d->ext);
		free(d);
		return vda_fail(l->path, ENOMEM);
	}
	l->vmdk = d;
	n = vda_pread_full(l->fd, hdr, sizeof(hdr), 0);
	if (n < 0)
		return vda_fail(l->path, -n);
	sparse = n == sizeof(hdr) && vd_le32(hdr) == VD_VMDK_MAGIC;
	if (sparse) {
		/* A monolithic sparse extent: its descriptor is inside. */
		ret = vd_vmdk_parse_header(hdr, l->file_size, false, &h, &msg);
		if (ret)
			goto refused;
		l->virtual_size = h.capacity * VD_VMDK_SECTOR;
		if (!h.desc_offset) {
			d->create_type = VD_VMDK_MONOLITHIC_SPARSE;
			d->parent_cid = VD_VMDK_NO_PARENT_CID;
			goto out;
		}
		text = vda_read_text(l, h.desc_offset * VD_VMDK_SECTOR,
				     h.desc_sectors * VD_VMDK_SECTOR);
		if (!text)
			return vda_fail(l->path, errno ? errno : ENOMEM);
		ret = vd_vmdk_parse_descriptor(text, strlen(text), d, VD_VMDK_MAX_EXTENTS, &msg);
		if (ret)
			goto refused;
		goto out;
	}
	if (l->file_size > VD_VMDK_DESC_MAX) {
		vda_warn(vda_show(l->path), "not a sparse extent, and %llu bytes is too large "
			 "for a descriptor", (unsigned long long)l->file_size);
		return VDA_EXIT_FAILURE;
	}
	text = vda_read_text(l, 0, l->file_size);
	if (!text)
		return vda_fail(l->path, errno ? errno : ENOMEM);
	ret = vd_vmdk_parse_descriptor(text, l->file_size, d, VD_VMDK_MAX_EXTENTS, &msg);
	if (ret)
		goto refused;
	l->virtual_size = d->sectors * VD_VMDK_SECTOR;
	ret = vda_open_extents(l, text, d, writable);
	if (ret) {
		free(text);
		return ret;
	}
out:
	free(text);
	free(d->ext);		/* names are only needed to open the files */
	d->ext = NULL;
	return VDA_EXIT_OK;
refused:
	free(text);
	vda_warn(vda_show(l->path), "%s", msgbuf[0] ? vda_show(msgbuf) : strerror(-ret));
	return VDA_EXIT_FAILURE;
}

/**
 * vda_check_parent_cid() - does a vmdk delta still match its parent?
 * @child:  the delta
 * @parent: its parent, loaded
 * @force:  only warn
 *
 * The parent's CID changes whenever it is written; the child recorded the
 * CID it was made on.  A mismatch means the child's grains sit on top of
 * different contents than they were written against.  Return: an exit code.
 */
int vda_check_parent_cid(const struct vda_layer *child, const struct vda_layer *parent,
			 bool force)
{
	if (!child->vmdk || !parent->vmdk || parent->format != VDISK_FMT_VMDK)
		return VDA_EXIT_OK;
	if (child->vmdk->parent_cid == parent->vmdk->cid)
		return VDA_EXIT_OK;
	vda_warn(vda_show(child->path), "%sparentCID %08x does not match the CID %08x of its "
		 "parent '%s': the parent changed after this delta was made%s",
		 force ? "warning: " : "", child->vmdk->parent_cid, parent->vmdk->cid,
		 vda_show(parent->path),
		 force ? "" : " (--force-parent-cid attaches it anyway)");
	return force ? VDA_EXIT_OK : VDA_EXIT_FAILURE;
}
