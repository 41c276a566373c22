// SPDX-License-Identifier: GPL-2.0
/*
 * mcache.c - bounded cache of metadata slices shared by a device's layers.
 *
 * Keyed by (owner layer, file offset).  The cache is split into shards by
 * key hash, each with its own spinlock, hash buckets and LRU list, so
 * concurrent lookups of different slices rarely meet on a lock and never on
 * a device-wide one.  A miss inserts the entry marked LOADING and reads the
 * file without any lock held; concurrent lookups of the same slice wait on
 * that bit instead of reading it again.  Entries in use (referenced) are
 * never evicted: the cache may exceed its capacity by the number of
 * lookups in flight, which blk-mq's queue depth bounds.
 *
 * Writable layers change slices in place and mark them dirty: a dirty
 * entry is never evicted and sits on the cache's dirty list until its
 * format writes it back (vd_mcache_writeback(), from the format's flush,
 * which decides the order in which tables reach the disk).
 *
 * Locking: vd_mcache_shard.lock protects its buckets, LRU list, counters
 * and each of its entries' @ref and list membership; vd_mcache.dirty_lock
 * (taken inside a shard lock, never around one) the dirty list.  An
 * entry's data is written by the loader before LOADING is cleared, and
 * afterwards only by its format, under the format's own locks.
 *
 * Lifetime: the cache is reference counted (vd_mcache.ref).  Its creator
 * holds one reference, handed to the device at attach, and every layer
 * opened with the cache pins it until the layer is closed: a layer can
 * outlive its device (a job's layers, held by a JOB_STATUS or JOB_CANCEL
 * caller across a detach, or by a JOB_START refused while the device goes)
 * and must still be able to write back and forget its slices.
 */
#include <linux/hash.h>
#include <linux/kref.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/wait_bit.h>

#include "mcache.h"
#include "vdisk.h"

#define VD_MCACHE_SHARD_BITS	4
#define VD_MCACHE_SHARDS	BIT(VD_MCACHE_SHARD_BITS)
#define VD_MCACHE_BUCKET_BITS	8

enum {
	VD_ME_LOADING,		/* being read; wait on this bit */
	VD_ME_ERROR,		/* the read failed; drop and retry */
	VD_ME_DIRTY,		/* changed in memory, not yet written back */
};

struct vd_mentry_priv {
	struct vd_mentry pub;
	struct hlist_node hash;
	struct list_head lru;
	struct list_head dirty;
	const void *owner;
	u64 off;
	unsigned int len;
	unsigned int ref;
	unsigned long flags;
	int error;
};

struct vd_mcache_shard {
	spinlock_t lock;	/* see the file comment */
	struct hlist_head buckets[1U << VD_MCACHE_BUCKET_BITS];
	struct list_head lru;	/* least recently used first */
	unsigned int nr;
	unsigned int max;
	u64 hits;
	u64 misses;
};

struct vd_mcache {
	struct kref ref;	/* see the file comment */
	struct vd_mcache_shard shard[VD_MCACHE_SHARDS];
	spinlock_t dirty_lock;	/* protects @dirty */
	struct list_head dirty;
};

/*
 * Shard in the low VD_MCACHE_SHARD_BITS, bucket in the bits above.
 * hash_64() yields its good bits only for the width asked for.
 */
static u32 vd_mcache_key(const void *owner, u64 off)
{
	return hash_64((u64)(unsigned long)owner ^ (off >> 9),
		       VD_MCACHE_SHARD_BITS + VD_MCACHE_BUCKET_BITS);
}

struct vd_mcache *vd_mcache_create(u64 bytes)
{
	u64 slices = max_t(u64, bytes / VD_MCACHE_SLICE, VD_MCACHE_SHARDS * 4);
	struct vd_mcache *cache;
	unsigned int i;

	cache = kvzalloc(sizeof(*cache), GFP_KERNEL);
	if (!cache)
		return NULL;
	kref_init(&cache->ref);
	spin_lock_init(&cache->dirty_lock);
	INIT_LIST_HEAD(&cache->dirty);
	for (i = 0; i < VD_MCACHE_SHARDS; i++) {
		struct vd_mcache_shard *s = &cache->shard[i];

		spin_lock_init(&s->lock);
		INIT_LIST_HEAD(&s->lru);
		s->max = min_t(u64, slices / VD_MCACHE_SHARDS, UINT_MAX);
	}
	return cache;
}

static void vd_mentry_free(struct vd_mentry_priv *e)
{
	kfree(e->pub.data);
	kfree(e);
}

static void vd_mcache_free(struct kref *ref)
{
	struct vd_mcache *cache = container_of(ref, struct vd_mcache, ref);
	unsigned int i;

	for (i = 0; i < VD_MCACHE_SHARDS; i++) {
		struct vd_mcache_shard *s = &cache->shard[i];
		struct vd_mentry_priv *e, *tmp;

		list_for_each_entry_safe(e, tmp, &s->lru, lru) {
			WARN_ON_ONCE(e->ref);
			vd_mentry_free(e);
		}
	}
	kvfree(cache);
}

/**
 * vd_mcache_pin() - take a reference on @cache (may be NULL)
 * @cache: the cache
 *
 * Return: @cache, for the caller to keep until vd_mcache_unpin().
 */
struct vd_mcache *vd_mcache_pin(struct vd_mcache *cache)
{
	if (cache)
		kref_get(&cache->ref);
	return cache;
}

/**
 * vd_mcache_unpin() - drop a reference on @cache (may be NULL)
 * @cache: the cache; freed with the last reference
 *
 * By then every owner must have forgotten its slices: an entry still in
 * use is a leak, and warned about.
 */
void vd_mcache_unpin(struct vd_mcache *cache)
{
	if (cache)
		kref_put(&cache->ref, vd_mcache_free);
}

static struct vd_mentry_priv *vd_mcache_find(struct vd_mcache_shard *s,
					     struct hlist_head *bucket,
					     const void *owner, u64 off)
{
	struct vd_mentry_priv *e;

	lockdep_assert_held(&s->lock);
	hlist_for_each_entry(e, bucket, hash)
		if (e->owner == owner && e->off == off)
			return e;
	return NULL;
}

/* Unhook the least recently used idle entry, if the shard is full. */
static struct vd_mentry_priv *vd_mcache_evict_one(struct vd_mcache_shard *s)
{
	struct vd_mentry_priv *e;

	lockdep_assert_held(&s->lock);
	if (s->nr < s->max)
		return NULL;
	list_for_each_entry(e, &s->lru, lru) {
		if (e->ref || test_bit(VD_ME_DIRTY, &e->flags))
			continue;
		hlist_del(&e->hash);
		list_del(&e->lru);
		s->nr--;
		return e;
	}
	return NULL;
}

static void vd_mcache_unhook(struct vd_mcache_shard *s, struct vd_mentry_priv *e)
{
	lockdep_assert_held(&s->lock);
	hlist_del_init(&e->hash);
	list_del_init(&e->lru);
	s->nr--;
}

static struct vd_mentry_priv *vd_mentry_alloc(const void *owner, u64 off,
					      unsigned int len)
{
	struct vd_mentry_priv *e = kzalloc(sizeof(*e), GFP_NOIO);

	if (!e)
		return NULL;
	e->pub.data = kmalloc(VD_MCACHE_SLICE, GFP_NOIO);
	if (!e->pub.data) {
		kfree(e);
		return NULL;
	}
	e->owner = owner;
	e->off = off;
	e->len = len;
	e->ref = 1;
	INIT_LIST_HEAD(&e->lru);
	INIT_LIST_HEAD(&e->dirty);
	INIT_HLIST_NODE(&e->hash);
	__set_bit(VD_ME_LOADING, &e->flags);
	return e;
}

/**
 * vd_mcache_get() - the slice of @file at @off, read on a miss
 * @cache: the device's cache
 * @owner: the layer the slice belongs to (part of the key)
 * @file:  where to read it from
 * @off:   file offset of the slice
 * @len:   bytes of the slice, at most VD_MCACHE_SLICE
 *
 * Sleeps.  Return: the entry with a reference (release it with
 * vd_mcache_put()), or an ERR_PTR: -ENOMEM, or the read's error
 * (-ENODATA when the file ends before the slice does).
 */
struct vd_mentry *vd_mcache_get(struct vd_mcache *cache, const void *owner,
				struct file *file, u64 off, unsigned int len)
{
	u32 key = vd_mcache_key(owner, off);
	struct vd_mcache_shard *s = &cache->shard[key & (VD_MCACHE_SHARDS - 1)];
	struct hlist_head *bucket;
	struct vd_mentry_priv *e, *fresh = NULL, *victim;
	int ret;

	if (WARN_ON_ONCE(len > VD_MCACHE_SLICE))
		return ERR_PTR(-EINVAL);
	bucket = &s->buckets[(key >> VD_MCACHE_SHARD_BITS) &
			     ((1U << VD_MCACHE_BUCKET_BITS) - 1)];
again:
	spin_lock(&s->lock);
	e = vd_mcache_find(s, bucket, owner, off);
	if (e) {
		e->ref++;
		list_move_tail(&e->lru, &s->lru);
		s->hits++;
		spin_unlock(&s->lock);
		if (fresh)
			vd_mentry_free(fresh);
		wait_on_bit(&e->flags, VD_ME_LOADING, TASK_UNINTERRUPTIBLE);
		if (test_bit(VD_ME_ERROR, &e->flags)) {
			ret = e->error;
			vd_mcache_put(cache, &e->pub);
			return ERR_PTR(ret);
		}
		return &e->pub;
	}
	if (!fresh) {
		/* Allocate without the lock, then look again. */
		spin_unlock(&s->lock);
		fresh = vd_mentry_alloc(owner, off, len);
		if (!fresh)
			return ERR_PTR(-ENOMEM);
		goto again;
	}
	victim = vd_mcache_evict_one(s);
	hlist_add_head(&fresh->hash, bucket);
	list_add_tail(&fresh->lru, &s->lru);
	s->nr++;
	s->misses++;
	spin_unlock(&s->lock);
	if (victim)
		vd_mentry_free(victim);

	e = fresh;
	ret = vd_file_read(file, e->pub.data, len, off);
	if (ret) {
		e->error = ret;
		set_bit(VD_ME_ERROR, &e->flags);
		/* Unhook so that a later lookup reads again. */
		spin_lock(&s->lock);
		vd_mcache_unhook(s, e);
		spin_unlock(&s->lock);
	}
	clear_and_wake_up_bit(VD_ME_LOADING, &e->flags);
	if (ret) {
		vd_mcache_put(cache, &e->pub);
		return ERR_PTR(ret);
	}
	return &e->pub;
}

/**
 * vd_mcache_peek() - the slice of @owner at @off if it is in memory
 * @cache: the device's cache
 * @owner: the layer the slice belongs to
 * @off:   file offset of the slice
 *
 * Never sleeps: for callers that must not wait for a read (a request
 * tried in its submitter's context).  Return: the entry with a reference,
 * or NULL when the slice is not cached, still being read, or failed to
 * read; vd_mcache_get() then does what is needed.
 */
struct vd_mentry *vd_mcache_peek(struct vd_mcache *cache, const void *owner,
				 u64 off)
{
	u32 key = vd_mcache_key(owner, off);
	struct vd_mcache_shard *s = &cache->shard[key & (VD_MCACHE_SHARDS - 1)];
	struct hlist_head *bucket;
	struct vd_mentry_priv *e;

	bucket = &s->buckets[(key >> VD_MCACHE_SHARD_BITS) &
			     ((1U << VD_MCACHE_BUCKET_BITS) - 1)];
	spin_lock(&s->lock);
	e = vd_mcache_find(s, bucket, owner, off);
	/*
	 * The loader clears LOADING without the lock, after the data (and
	 * ERROR): acquire pairs with clear_and_wake_up_bit()'s release.
	 */
	if (e && !test_bit_acquire(VD_ME_LOADING, &e->flags) &&
	    !test_bit(VD_ME_ERROR, &e->flags)) {
		e->ref++;
		list_move_tail(&e->lru, &s->lru);
		s->hits++;
	} else {
		e = NULL;
	}
	spin_unlock(&s->lock);
	return e ? &e->pub : NULL;
}

static struct vd_mcache_shard *vd_mcache_shard_of(struct vd_mcache *cache,
						  struct vd_mentry_priv *e)
{
	u32 key = vd_mcache_key(e->owner, e->off);

	return &cache->shard[key & (VD_MCACHE_SHARDS - 1)];
}

void vd_mcache_put(struct vd_mcache *cache, struct vd_mentry *entry)
{
	struct vd_mentry_priv *e = container_of(entry, struct vd_mentry_priv, pub);
	struct vd_mcache_shard *s = vd_mcache_shard_of(cache, e);
	bool orphan;

	spin_lock(&s->lock);
	orphan = !--e->ref && hlist_unhashed(&e->hash);
	spin_unlock(&s->lock);
	/* An entry that failed to load is in no list: its last user frees it. */
	if (orphan)
		vd_mentry_free(e);
}

/**
 * vd_mcache_set_dirty() - the caller changed @entry's data
 * @cache: the cache
 * @entry: an entry the caller holds a reference to
 *
 * The entry stays in memory until vd_mcache_writeback() writes it.
 * Return: true if it was clean before (the caller counts dirty slices to
 * bound them).
 */
bool vd_mcache_set_dirty(struct vd_mcache *cache, struct vd_mentry *entry)
{
	struct vd_mentry_priv *e = container_of(entry, struct vd_mentry_priv, pub);

	if (test_and_set_bit(VD_ME_DIRTY, &e->flags))
		return false;
	spin_lock(&cache->dirty_lock);
	list_add_tail(&e->dirty, &cache->dirty);
	spin_unlock(&cache->dirty_lock);
	return true;
}

/* Take @e off the dirty list; true if it was on it. */
static bool vd_mcache_clean(struct vd_mcache *cache, struct vd_mentry_priv *e)
{
	bool was;

	spin_lock(&cache->dirty_lock);
	was = !list_empty(&e->dirty);
	list_del_init(&e->dirty);
	spin_unlock(&cache->dirty_lock);
	clear_bit(VD_ME_DIRTY, &e->flags);
	return was;
}

/**
 * vd_mcache_writeback() - write every dirty slice of @owner to @file
 * @cache: the cache
 * @owner: whose slices
 * @file:  where they live
 *
 * The caller keeps the slices from changing meanwhile (its own lock) and
 * syncs the file afterwards if it needs them durable.  A slice whose write
 * fails stays dirty.  Return: 0 or the first write error.
 */
int vd_mcache_writeback(struct vd_mcache *cache, const void *owner,
			struct file *file)
{
	struct vd_mentry_priv *e, *tmp;
	LIST_HEAD(mine);
	int err = 0;

	spin_lock(&cache->dirty_lock);
	list_for_each_entry_safe(e, tmp, &cache->dirty, dirty)
		if (e->owner == owner)
			list_move_tail(&e->dirty, &mine);
	spin_unlock(&cache->dirty_lock);

	/*
	 * Entries on @mine are dirty, so not evictable, and the caller
	 * excludes vd_mcache_drop()/forget() for @owner: no reference needed.
	 */
	list_for_each_entry_safe(e, tmp, &mine, dirty) {
		int ret = vd_file_write(file, e->pub.data, e->len, e->off);

		if (ret) {
			err = err ?: ret;
			continue;	/* stays on @mine: put back below */
		}
		list_del_init(&e->dirty);
		clear_bit(VD_ME_DIRTY, &e->flags);
	}
	if (!list_empty(&mine)) {
		spin_lock(&cache->dirty_lock);
		list_splice(&mine, &cache->dirty);
		spin_unlock(&cache->dirty_lock);
	}
	return err;
}

/* Unhook @owner's idle entries for which @match says so, and free them. */
static void vd_mcache_drop_if(struct vd_mcache *cache, const void *owner,
			      bool (*match)(const struct vd_mentry_priv *e,
					    u64 off, u64 len),
			      u64 off, u64 len)
{
	unsigned int i;

	for (i = 0; i < VD_MCACHE_SHARDS; i++) {
		struct vd_mcache_shard *s = &cache->shard[i];
		struct vd_mentry_priv *e, *tmp;
		LIST_HEAD(dead);

		spin_lock(&s->lock);
		list_for_each_entry_safe(e, tmp, &s->lru, lru) {
			if (e->owner != owner || !match(e, off, len) ||
			    WARN_ON_ONCE(e->ref))
				continue;
			vd_mcache_unhook(s, e);
			list_add(&e->lru, &dead);
		}
		spin_unlock(&s->lock);
		list_for_each_entry_safe(e, tmp, &dead, lru) {
			vd_mcache_clean(cache, e);
			vd_mentry_free(e);
		}
	}
}

static bool vd_mentry_any(const struct vd_mentry_priv *e, u64 off, u64 len)
{
	return true;
}

static bool vd_mentry_in(const struct vd_mentry_priv *e, u64 off, u64 len)
{
	return e->off < off + len && off < e->off + e->len;
}

/*
 * Drop every slice of @owner; none may be in use (the layer is going, its
 * metadata already written back: dirty slices are discarded).
 */
void vd_mcache_forget(struct vd_mcache *cache, const void *owner)
{
	vd_mcache_drop_if(cache, owner, vd_mentry_any, 0, 0);
}

/**
 * vd_mcache_drop() - forget @owner's slices overlapping [@off, @off + @len)
 * @cache: the cache
 * @owner: whose slices
 * @off:   file offset
 * @len:   bytes
 *
 * For a cluster that stops being metadata (freed, then reused for data
 * or another table): stale copies must not be found by the next lookup.
 * No entry of the range may be in use.
 */
void vd_mcache_drop(struct vd_mcache *cache, const void *owner, u64 off, u64 len)
{
	vd_mcache_drop_if(cache, owner, vd_mentry_in, off, len);
}

void vd_mcache_get_stats(struct vd_mcache *cache, struct vd_mcache_stats *st)
{
	unsigned int i;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < VD_MCACHE_SHARDS; i++) {
		struct vd_mcache_shard *s = &cache->shard[i];

		spin_lock(&s->lock);
		st->capacity += s->max;
		st->entries += s->nr;
		st->hits += s->hits;
		st->misses += s->misses;
		spin_unlock(&s->lock);
	}
	st->bytes = sizeof(*cache) + st->entries *
		    (VD_MCACHE_SLICE + sizeof(struct vd_mentry_priv));
}
