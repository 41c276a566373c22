/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lock.h - QEMU's image locking protocol on the files vdisk serves, so
 * that vdisk and QEMU (qemu-system, qemu-img, qemu-nbd, qemu-storage-daemon)
 * refuse to write an image another of them uses, and vice versa.
 *
 * QEMU's file-posix driver describes what it does with an image by OFD
 * read locks on single bytes of the file: byte 100 + n while it holds
 * permission n, byte 200 + n while it does not let others take
 * permission n.  Before it uses the file it looks for a lock of another
 * open file description on byte 200 + n for every permission n it takes,
 * and on byte 100 + n for every permission n it does not share.  All the
 * locks are read locks, so taking one never fails: conflicts are found
 * only by that test.  vdisk takes the locks on the files the kernel
 * holds and gives them up when it frees the layer, so they last exactly as
 * long as the attachment (or the job), whatever happens to vdattach.
 */
#ifndef VDISK_LOCK_H
#define VDISK_LOCK_H

#include <linux/bits.h>
#include <linux/types.h>

struct file;
struct vd_layer;
struct vd_msg;

/* QEMU's block permissions, numbered as its lock bytes number them. */
#define VD_PERM_CONSISTENT_READ	BIT(0)
#define VD_PERM_WRITE		BIT(1)
#define VD_PERM_WRITE_UNCHANGED	BIT(2)
#define VD_PERM_RESIZE		BIT(3)
#define VD_PERM_ALL		0xfU
#define VD_PERM_BITS		4

#define VD_LOCK_PERM_BASE	100
#define VD_LOCK_SHARED_BASE	200

/**
 * enum vd_lock_mode - how a device takes part in the protocol
 * @VD_LOCK_QEMU:      as QEMU with the same use: a writable layer holds
 *                     read, write and resize, every layer shares only
 *                     read and unchanged writes
 * @VD_LOCK_SHARE_ALL: read-only and sharing everything (qemu-img -U):
 *                     holds read, stops nobody, is stopped by nobody
 * @VD_LOCK_NONE:      no locks at all (VDISK_ATTACH_NO_LOCK: unsafe)
 */
enum vd_lock_mode {
	VD_LOCK_QEMU,
	VD_LOCK_SHARE_ALL,
	VD_LOCK_NONE,
};

enum vd_lock_mode vd_lock_mode_of(u32 attach_flags);
int vd_lock_layer(struct vd_layer *layer, bool writable, enum vd_lock_mode mode,
		  unsigned int level, struct vd_msg *msg);
void vd_lock_share_writes(struct vd_layer *layer, bool share);
void vd_lock_drop_writes(struct vd_layer *layer);
void vd_lock_release(struct vd_layer *layer);

#endif /* VDISK_LOCK_H */
