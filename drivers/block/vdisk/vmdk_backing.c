// SPDX-License-Identifier: GPL-2.0
/*
 * vmdk_backing.c - pointing a live vmdk layer at another parent (the
 * set_backing op, for commit and rebase).
 *
 * A delta names its parent in its descriptor: parentFileNameHint, and
 * parentCID, the parent's CID that vdattach compares before it stacks the
 * two (a parent written since has another CID).  The kept descriptor text
 * is rewritten by vd_vmdk_set_parent() (pure, unit-tested against
 * qemu-img), parsed again, and written back:
 *   - embedded in a sparse extent: over its descriptorSize sectors of room,
 *     zero-padded, in one write;
 *   - a descriptor file: from offset 0, a shorter text padded with line
 *     breaks to the old length (a crash before the truncate leaves blank
 *     lines, which every reader skips), then truncated to its length;
 * then synced.  Only after that do the kept text and the parsed fields
 * change.  meta_lock serialises this with the first write's new CID
 * (vd_vmdk_new_cid() writes into the same text at the CID's offset, which
 * the rewrite may move), so neither undoes the other.
 */
#include <linux/fs.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "vmdk.h"

/* Write @len bytes of descriptor text at the descriptor's place; synced. */
static int vd_vmdk_put_desc(struct vd_layer *layer, struct vd_vmdk *v,
			    char *text, size_t len, size_t room)
{
	struct file *file = layer->files[0];
	size_t old = v->desc_len;
	int ret;

	if (!v->desc_is_file) {
		memset(text + len, 0, room - len);
		ret = vd_file_write(file, text, room, v->desc_pos);
		return ret ?: vd_file_sync(file);
	}
	if (len < old)
		memset(text + len, '\n', old - len);
	ret = vd_file_write(file, text, max(len, old), 0);
	if (!ret)
		ret = vd_file_sync(file);
	/* Also after a longer text failed half-way: the file ends at @len. */
	if (!ret && i_size_read(file_inode(file)) > len) {
		long err = vfs_truncate(&file->f_path, len);

		/* The blank lines left are harmless: the text is valid. */
		if (err)
			pr_warn("%s: descriptor not truncated to %zu bytes: error %ld\n",
				layer->path, len, err);
		ret = vd_file_sync(file);
	}
	return ret;
}

/**
 * vd_vmdk_set_backing() - the set_backing op of vmdk
 * @layer:  the writable top layer, flushed
 * @name:   the new parentFileNameHint, "" for no parent
 * @fmt:    the parent's VDISK_FMT_* (a vdisk chain may stack any format)
 * @parent: its layer: a vmdk parent's current CID becomes parentCID; any
 *          other (or none) gives ffffffff
 * @msg:    why it refused
 *
 * Return: 0 once the descriptor is on disk; -EFBIG if the text does not
 * fit the embedded descriptor's room (or there is none), -EINVAL for a
 * name the descriptor cannot carry, -EROFS, -EIO, -ENOMEM.
 */
int vd_vmdk_set_backing(struct vd_layer *layer, const char *name,
			unsigned int fmt, struct vd_layer *parent,
			struct vd_msg *msg)
{
	struct vd_vmdk *v = layer->priv;
	u32 parent_cid = VD_VMDK_NO_PARENT_CID;
	struct vd_vmdk_desc *nd = NULL;
	char *out = NULL, *kept;
	size_t room, len, kept_len;
	unsigned int noio;
	int ret;

	if (!layer->writable)
		return -EROFS;
	if (name[0] && parent && parent->ops->format == VDISK_FMT_VMDK) {
		struct vd_vmdk *pv = parent->priv;

		/* Its first write changes it: read it as it is now. */
		mutex_lock(&pv->meta_lock);
		parent_cid = pv->desc.cid;
		mutex_unlock(&pv->meta_lock);
	}

	/*
	 * meta_lock is also taken by the first write of a request: memory
	 * reclaim below must not write back through this device.
	 */
	mutex_lock(&v->meta_lock);
	noio = memalloc_noio_save();
	if (!v->desc_text) {
		vd_msg_set(msg,
			   "%s: no embedded descriptor (descriptorSize 0): no room for parentFileNameHint",
			   layer->path);
		ret = -EFBIG;
		goto out;
	}
	room = v->desc_is_file ? VD_VMDK_DESC_MAX : v->desc_len;
	out = kvmalloc(max_t(size_t, room, v->desc_len) + 1, GFP_KERNEL);
	nd = kzalloc(sizeof(*nd), GFP_KERNEL);
	if (nd)
		nd->ext = kvcalloc(v->desc.nr_extents, sizeof(*nd->ext), GFP_KERNEL);
	if (!out || !nd || !nd->ext) {
		ret = -ENOMEM;
		goto out;
	}
	ret = vd_vmdk_set_parent(v->desc_text, v->desc_len, parent_cid, name,
				 out, room, &len, msg);
	if (ret)
		goto out;
	/* What goes to disk must be what the next open accepts, same disk. */
	ret = vd_vmdk_parse_descriptor(out, len, nd, v->desc.nr_extents, msg);
	if (!ret && (nd->nr_extents != v->desc.nr_extents || nd->sectors != v->desc.sectors ||
		     nd->create_type != v->desc.create_type || nd->cid != v->desc.cid ||
		     nd->parent_cid != parent_cid || strcmp(nd->parent_hint, name)))
		ret = -EIO;
	if (ret) {
		vd_msg_set(msg, "%s: rewritten descriptor does not read back", layer->path);
		ret = -EIO;
		goto out;
	}

	/* The kept text is charged as the one read at open was. */
	kept_len = (v->desc_is_file ? len : room) + 1;
	if (vd_budget_charge(v->mem, kept_len)) {
		vd_msg_set(msg,
			   "%s: rewritten descriptor over the memory budget (module parameters layer_mem_mib, total_mem_mib)",
			   layer->path);
		ret = -ENOMEM;
		goto out;
	}
	kept = kvmalloc(kept_len, GFP_KERNEL);
	if (!kept) {
		vd_budget_uncharge(v->mem, kept_len);
		ret = -ENOMEM;
		goto out;
	}
	ret = vd_vmdk_put_desc(layer, v, out, len, room);
	if (ret) {
		vd_msg_set(msg, "%s: writing the descriptor: error %d", layer->path, ret);
		/* Best effort: the old text back rather than a torn one. */
		memcpy(out, v->desc_text, v->desc_len);
		vd_vmdk_put_desc(layer, v, out, v->desc_len, room);
		kvfree(kept);
		vd_budget_uncharge(v->mem, kept_len);
		goto out;
	}
	kvfree(v->desc_text);
	vd_budget_uncharge(v->mem, v->desc_len + 1);
	if (v->desc_is_file)
		v->desc_len = len;
	memcpy(kept, out, v->desc_len);
	kept[v->desc_len] = '\0';
	v->desc_text = kept;
	kvfree(nd->ext);
	nd->ext = NULL;
	v->desc = *nd;
out:
	memalloc_noio_restore(noio);
	mutex_unlock(&v->meta_lock);
	if (nd)
		kvfree(nd->ext);
	kfree(nd);
	kvfree(out);
	return ret;
}
