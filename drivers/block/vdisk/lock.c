// SPDX-License-Identifier: GPL-2.0
/*
 * lock.c - QEMU's image locking protocol (lock.h) on the files of a layer.
 *
 * The locks are OFD locks owned by the struct file the kernel holds, taken
 * and tested with vfs_lock_file()/vfs_test_lock() as fcntl(F_OFD_SETLK)
 * and fcntl(F_OFD_GETLK) would, so that QEMU's own test sees them and ours
 * sees QEMU's; a network filesystem forwards them to its server.
 * A layer's locks go when the layer is freed (vd_lock_release()): not
 * later, with the last fput() of a file, as the process that passed it may
 * hold it longer.
 */
#include <linux/fs.h>
#include <linux/sched.h>

#include "compat.h"
#include "lock.h"
#include "vd_pure.h"
#include "vdisk.h"

/* What each permission is called in the messages, by lock byte. */
static const char *const vd_perm_doing[VD_PERM_BITS] = {
	"reading", "writing", "unchanged writing", "resizing",
};

enum vd_lock_mode vd_lock_mode_of(u32 attach_flags)
{
	if (attach_flags & VDISK_ATTACH_NO_LOCK)
		return VD_LOCK_NONE;
	if (attach_flags & VDISK_ATTACH_SHARE_ALL)
		return VD_LOCK_SHARE_ALL;
	return VD_LOCK_QEMU;
}

static void vd_lock_init(struct file_lock *fl, struct file *file, int type,
			 loff_t start, loff_t end)
{
	locks_init_lock(fl);
	vd_flc(fl, flags) = FL_POSIX | FL_OFDLCK;
	vd_flc(fl, owner) = file;
	vd_flc(fl, pid) = current->tgid;
	vd_flc(fl, file) = file;
	vd_flc(fl, type) = type;
	fl->fl_start = start;
	fl->fl_end = end;
}

/* F_OFD_SETLK of F_RDLCK or F_UNLCK on bytes @start..@end of @file. */
static int vd_lock_set(struct file *file, int type, loff_t start, loff_t end)
{
	struct file_lock fl;
	int ret;

	vd_lock_init(&fl, file, type, start, end);
	ret = vfs_lock_file(file, F_SETLK, &fl, NULL);
	locks_release_private(&fl);
	return ret;
}

/* Does another open file description hold a lock on @byte?  1, 0, -errno. */
static int vd_lock_held_elsewhere(struct file *file, loff_t byte)
{
	struct file_lock fl;
	int ret;

	vd_lock_init(&fl, file, F_WRLCK, byte, byte);
	ret = vfs_test_lock(file, &fl);
	if (!ret)
		ret = vd_flc(&fl, type) != F_UNLCK;
	locks_release_private(&fl);
	return ret;
}

/*
 * Is byte @base + n of @file locked by another open file description for
 * some n in @bits?  1 with *@n set, 0, or -errno.
 */
static int vd_lock_find_conflict(struct file *file, u32 bits, unsigned int base,
				 unsigned int *n)
{
	int ret;

	for (*n = 0; *n < VD_PERM_BITS; (*n)++) {
		if (!(bits & (1U << *n)))
			continue;
		ret = vd_lock_held_elsewhere(file, base + *n);
		if (ret)
			return ret;
	}
	return 0;
}

/* F_RDLCK or F_UNLCK on byte @base + n of @file for each n in @bits. */
static int vd_lock_file_bytes(struct file *file, unsigned int base, u32 bits,
			      int type)
{
	unsigned int n;
	int ret;

	for (n = 0; n < VD_PERM_BITS; n++) {
		if (!(bits & (1U << n)))
			continue;
		ret = vd_lock_set(file, type, base + n, base + n);
		if (ret)
			return ret;
	}
	return 0;
}

static void vd_lock_unlock_all(struct file *file)
{
	vd_lock_set(file, F_UNLCK, VD_LOCK_PERM_BASE,
		    VD_LOCK_SHARED_BASE + VD_PERM_BITS - 1);
}

/*
 * Lock @file for holding @perm and not sharing @unshared, then look for
 * another holder that conflicts, as QEMU's raw_handle_perm_lock() does.
 * On any failure the file is left without locks of ours.
 */
static int vd_lock_file(struct file *file, u32 perm, u32 unshared,
			unsigned int level, struct vd_msg *msg)
{
	unsigned int n;
	int ret;

	ret = vd_lock_file_bytes(file, VD_LOCK_PERM_BASE, perm, F_RDLCK);
	if (!ret)
		ret = vd_lock_file_bytes(file, VD_LOCK_SHARED_BASE, unshared, F_RDLCK);
	if (ret == -EAGAIN) {
		vd_msg_set(msg,
			   "layer %u: %pD has a write lock of another process on QEMU's lock bytes",
			   level, file);
		ret = -EBUSY;
		goto fail;
	}
	if (ret)
		goto fail;	/* the filesystem has no OFD locks: caller says so */
	/* Another holder of what we keep from others first: the likelier news. */
	ret = vd_lock_find_conflict(file, unshared, VD_LOCK_PERM_BASE, &n);
	if (ret > 0) {
		vd_msg_set(msg,
			   "layer %u: %pD is locked for %s by another process (QEMU-style lock on byte %u)",
			   level, file, vd_perm_doing[n], VD_LOCK_PERM_BASE + n);
		goto conflict;
	}
	if (!ret)
		ret = vd_lock_find_conflict(file, perm, VD_LOCK_SHARED_BASE, &n);
	if (ret > 0) {
		vd_msg_set(msg,
			   "layer %u: %pD is in use by another process that does not allow %s (QEMU-style lock on byte %u)",
			   level, file, vd_perm_doing[n], VD_LOCK_SHARED_BASE + n);
		goto conflict;
	}
	if (ret < 0)
		goto fail;
	return 0;

conflict:
	ret = -EBUSY;
fail:
	vd_lock_unlock_all(file);
	return ret;
}

/**
 * vd_lock_layer() - take QEMU's locks on every file of a layer
 * @layer:    the layer, just opened; none of its files locked yet
 * @writable: the layer is written (the top of a read-write device, a
 *            commit's base): it holds write and resize, else only read
 * @mode:     the device's enum vd_lock_mode
 * @level:    the layer's position, for messages
 * @msg:      what conflicts, on failure
 *
 * Every layer, written or not, keeps others from writing or resizing its
 * files, as QEMU's images and backing files do; with VD_LOCK_SHARE_ALL it
 * keeps nobody from anything.  A filesystem without OFD locks refuses a
 * written layer and serves a read-only one without locks (with a warning).
 *
 * Return: 0, -EBUSY when another process conflicts, or the filesystem's
 * error; nothing of ours stays locked on failure.
 */
int vd_lock_layer(struct vd_layer *layer, bool writable, enum vd_lock_mode mode,
		  unsigned int level, struct vd_msg *msg)
{
	u32 perm = VD_PERM_CONSISTENT_READ;
	u32 unshared = VD_PERM_WRITE | VD_PERM_RESIZE;
	unsigned int i;
	int ret;

	if (mode == VD_LOCK_NONE)
		return 0;
	if (writable)
		perm |= VD_PERM_WRITE | VD_PERM_RESIZE;
	if (mode == VD_LOCK_SHARE_ALL)
		unshared = 0;
	for (i = 0; i < layer->nr_files; i++) {
		ret = vd_lock_file(layer->files[i], perm, unshared, level, msg);
		if (ret && ret != -EBUSY && !writable) {
			pr_warn_ratelimited("vdisk: %pD: served read-only without QEMU-style locks (error %d)\n",
					    layer->files[i], ret);
			continue;
		}
		if (ret) {
			if (ret != -EBUSY)
				vd_msg_set(msg,
					   "layer %u: %pD: QEMU-style locks cannot be taken (error %d); attaching without them (vdattach --no-lock) is unsafe",
					   level, layer->files[i], ret);
			while (i--)
				vd_lock_unlock_all(layer->files[i]);
			return ret;
		}
	}
	layer->lock_perm = perm;
	layer->lock_unshared = unshared;
	return 0;
}

/* Lock (@lock) or unlock byte @base + n of every file for each n in @bits. */
static void vd_lock_bytes(struct vd_layer *layer, unsigned int base, u32 bits,
			  bool lock)
{
	unsigned int i;

	for (i = 0; i < layer->nr_files; i++)
		vd_lock_file_bytes(layer->files[i], base, bits, lock ? F_RDLCK : F_UNLCK);
}

/**
 * vd_lock_share_writes() - let a commit's writable instance of a layer in
 * @layer:  the layer as the device's stack holds it (read-only, locked)
 * @share:  true: stop keeping others from writing and resizing its files;
 *          false: keep them from it again (a refused commit)
 *
 * The commit's instance is another open file description of the same
 * files and would find the stack's own "not shared" bytes in its test.
 * Taking a read lock never fails, so going back cannot fail either.
 */
void vd_lock_share_writes(struct vd_layer *layer, bool share)
{
	u32 bits = layer->lock_unshared & (VD_PERM_WRITE | VD_PERM_RESIZE);

	vd_lock_bytes(layer, VD_LOCK_SHARED_BASE, bits, !share);
}

/**
 * vd_lock_drop_writes() - a commit has ended: its instance of the base
 * stays in the stack as a read-only layer and gives up write and resize
 * @layer: the commit's target
 */
void vd_lock_drop_writes(struct vd_layer *layer)
{
	u32 bits = layer->lock_perm & (VD_PERM_WRITE | VD_PERM_RESIZE);

	vd_lock_bytes(layer, VD_LOCK_PERM_BASE, bits, false);
	layer->lock_perm &= ~bits;
}

/* Unlock every file of @layer: it is being freed (its files may stay open). */
void vd_lock_release(struct vd_layer *layer)
{
	unsigned int i;

	if (!layer->lock_perm)
		return;
	for (i = 0; i < layer->nr_files; i++)
		vd_lock_unlock_all(layer->files[i]);
	layer->lock_perm = 0;
	layer->lock_unshared = 0;
}
