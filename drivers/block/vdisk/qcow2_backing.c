// SPDX-License-Identifier: GPL-2.0
/*
 * qcow2_backing.c - pointing a live qcow2 layer at another backing file
 * (the set_backing op, for commit and rebase).
 *
 * The backing file name and the header extensions live in the first
 * cluster.  It is read back from the file (the truth on disk: a flush may
 * have moved the refcount table pointer, an open cleared autoclear bits),
 * rebuilt by vd_qcow2_set_backing() (pure, unit-tested against qemu-img),
 * checked by parsing it again, written with one write and synced.  Only
 * then does the in-memory header change.
 *
 * Against the layer's other writers of the first cluster:
 *   - the flush writes the refcount table pointer (bytes 48..59) when the
 *     table moved: holding flush_lock keeps it out, and the rebuilt cluster
 *     carries what is on disk, so a later flush still moves the pointer;
 *   - marking the image corrupt writes incompatible_features without a
 *     lock, after setting layer->broken: a layer found broken after our
 *     write gets the bit written again, so ours cannot have undone it.
 * Nothing else writes there: allocations never land in cluster 0.
 */
#include <linux/slab.h>

#include "mcache.h"
#include "qcow2.h"
#include "vd_probe.h"

/* A corrupt bit another writer set may have been overwritten: set it again. */
static void vd_qcow2_keep_corrupt(struct vd_layer *layer,
				  const struct vd_qcow2_header *h)
{
	u8 be[8];

	if (!READ_ONCE(layer->broken) || h->version < 3)
		return;
	vd_put_be64(be, h->incompatible_features | VD_QCOW2_INCOMPAT_CORRUPT);
	if (vd_file_write(layer->files[0], be, sizeof(be), 72) ||
	    vd_file_sync(layer->files[0]))
		pr_err("%s: could not set the corrupt bit in the header again\n",
		       layer->path);
}

/**
 * vd_qcow2_set_backing_file() - the set_backing op of qcow2
 * @layer:  the writable top layer, flushed
 * @name:   the new backing file name, "" for none
 * @fmt:    its VDISK_FMT_*, VDISK_FMT_NONE with ""
 * @parent: its layer (unused: qcow2 records no parent state)
 * @msg:    why it refused
 *
 * Return: 0 once the new header is on disk, -EFBIG if the name does not
 * fit, -EINVAL for a format a qcow2 header cannot name, -EROFS, -EIO or
 * -ENOMEM.  The header on disk is the old one after a refusal, and also
 * after a failed write as far as writing the old bytes back succeeds.
 */
int vd_qcow2_set_backing_file(struct vd_layer *layer, const char *name,
			      unsigned int fmt, struct vd_layer *parent,
			      struct vd_msg *msg)
{
	struct vd_qcow2 *q = layer->priv;
	struct vd_qcow2_rw *rw = q->rw;
	struct vd_qcow2_header *h, *check;
	struct file *file = layer->files[0];
	const char *format = NULL;
	size_t len, write_len;
	u64 file_size;
	u8 *old, *new;
	int ret;

	if (!rw || !layer->writable)
		return -EROFS;
	if (name[0]) {
		if (fmt != VDISK_FMT_RAW && fmt != VDISK_FMT_QCOW2 &&
		    fmt != VDISK_FMT_VMDK) {
			vd_msg_set(msg, "%s: backing format %u cannot be named in a qcow2 header",
				   layer->path, fmt);
			return -EINVAL;
		}
		format = vd_format_name(fmt);
	}
	len = q->h.cluster_size;
	h = kmalloc(sizeof(*h), GFP_KERNEL);
	check = kmalloc(sizeof(*check), GFP_KERNEL);
	old = kvmalloc(len, GFP_KERNEL);
	new = kvmalloc(len, GFP_KERNEL);
	if (!h || !check || !old || !new) {
		ret = -ENOMEM;
		goto out_free;
	}

	mutex_lock(&rw->flush_lock);
	if (READ_ONCE(layer->broken)) {
		vd_msg_set(msg, "%s: the image is marked corrupt", layer->path);
		ret = -EIO;
		goto out;
	}
	file_size = i_size_read(file_inode(file));
	ret = vd_file_read(file, old, len, 0);
	if (ret) {
		vd_msg_set(msg, "%s: reading the header cluster: error %d", layer->path, ret);
		ret = ret == -ENODATA ? -EIO : ret;
		goto out;
	}
	ret = vd_qcow2_parse_header(old, len, file_size, h, msg);
	if (ret) {
		ret = -EIO;	/* it was valid at open: changed under us */
		goto out;
	}
	ret = vd_qcow2_set_backing(old, len, h, name, format, new, &write_len, msg);
	if (ret)
		goto out;
	/* What goes to disk must be what qemu-img and the next open accept. */
	if (vd_qcow2_parse_header(new, len, file_size, check, msg) ||
	    strcmp(check->backing_name, name) ||
	    strcmp(check->backing_format, format ?: "")) {
		vd_msg_set(msg, "%s: rebuilt header does not read back", layer->path);
		ret = -EIO;
		goto out;
	}

	ret = vd_file_write(file, new, write_len, 0);
	if (!ret)
		ret = vd_file_sync(file);
	if (ret) {
		vd_msg_set(msg, "%s: writing the header: error %d", layer->path, ret);
		/* Best effort: the old header back rather than a torn one. */
		if (!vd_file_write(file, old, write_len, 0))
			vd_file_sync(file);
		goto out;
	}
	vd_qcow2_keep_corrupt(layer, h);

	/*
	 * The in-memory copy: discard reads backing_len (zero flags while a
	 * backing file could show through, unmapping without one).
	 */
	down_write(&rw->meta_rwsem);
	q->h.backing_offset = check->backing_offset;
	strscpy(q->h.backing_name, check->backing_name, sizeof(q->h.backing_name));
	strscpy(q->h.backing_format, check->backing_format, sizeof(q->h.backing_format));
	WRITE_ONCE(q->h.backing_len, check->backing_len);
	up_write(&rw->meta_rwsem);
out:
	mutex_unlock(&rw->flush_lock);
out_free:
	kvfree(new);
	kvfree(old);
	kfree(check);
	kfree(h);
	return ret;
}
