/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mcache.h - bounded cache of metadata slices (qcow2 L2 tables, vmdk grain
 * tables), shared by the layers of one device.
 */
#ifndef VDISK_MCACHE_H
#define VDISK_MCACHE_H

#include <linux/fs.h>
#include <linux/types.h>

/* Tables are cached in slices of at most this many bytes (QEMU does too). */
#define VD_MCACHE_SLICE		4096

struct vd_mcache;

/**
 * struct vd_mentry - one cached slice; valid while a reference is held
 * @data: the slice's bytes as they are in the file (on-disk byte order)
 */
struct vd_mentry {
	void *data;
};

/**
 * struct vd_mcache_stats - counters for sysfs and the benchmark
 * @capacity: slices the cache holds at most (more only while all in use)
 * @entries:  slices held now
 * @bytes:    memory used by the slices and their descriptors
 * @hits:     lookups served from memory
 * @misses:   lookups that read the file
 */
struct vd_mcache_stats {
	u64 capacity;
	u64 entries;
	u64 bytes;
	u64 hits;
	u64 misses;
};

/* One reference, the creator's; each layer using the cache pins it too. */
struct vd_mcache *vd_mcache_create(u64 bytes);
struct vd_mcache *vd_mcache_pin(struct vd_mcache *cache);
void vd_mcache_unpin(struct vd_mcache *cache);
struct vd_mentry *vd_mcache_get(struct vd_mcache *cache, const void *owner,
				struct file *file, u64 off, unsigned int len);
struct vd_mentry *vd_mcache_peek(struct vd_mcache *cache, const void *owner,
				 u64 off);
void vd_mcache_put(struct vd_mcache *cache, struct vd_mentry *entry);
void vd_mcache_forget(struct vd_mcache *cache, const void *owner);
bool vd_mcache_set_dirty(struct vd_mcache *cache, struct vd_mentry *entry);
int vd_mcache_writeback(struct vd_mcache *cache, const void *owner,
			struct file *file);
void vd_mcache_drop(struct vd_mcache *cache, const void *owner, u64 off, u64 len);
void vd_mcache_get_stats(struct vd_mcache *cache, struct vd_mcache_stats *st);

#endif /* VDISK_MCACHE_H */
