/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vdisk.h - internal structures of the vdisk driver.
 *
 * A device (struct vd_device, /dev/vdN) serves a stack of layers (struct
 * vd_chain of struct vd_layer).  Each layer is one image file (plus extent
 * files for vmdk) interpreted by a format (struct vd_format_ops).  The core
 * never looks at on-disk formats: it asks each layer's map() what it holds
 * for a range and moves the bytes.
 *
 * Locking, outermost first:
 *   vd_ctl_mutex (ctl.c)  - the device index (idr), attach/detach/status
 *   vd_device.lock        - open count, state and flags of one device;
 *                           also held to replace the chain
 *   q_usage_counter       - every request holds the queue's usage counter
 *                           while it runs, so the chain it reads cannot be
 *                           freed under it: the chain is only replaced
 *                           with the queue frozen (vd_device_swap_chain())
 * The I/O path takes none of these locks.
 */
#ifndef VDISK_H
#define VDISK_H

#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/workqueue.h>

#include "budget.h"
#include "lock.h"
#include "fence.h"
#include "vd_pure.h"
#include "vd_walk.h"
#include "../../../include/uapi/linux/vdisk.h"

#define VD_PART_SHIFT	4	/* minors per device: 1 disk + 15 partitions */

struct vd_layer;
struct vd_chain;
struct vd_job;

struct vd_mcache;
struct iov_iter;

/**
 * struct vd_open_args - what a format's open() gets besides the layer
 * @index:    position of the layer in the stack (0 = top), for messages
 * @msg:      where to explain a refusal (names the layer's file and field)
 * @cache:    the device's metadata cache, for tables read while serving
 * @snapshot: internal snapshot (id or name) to serve instead, or NULL
 */
struct vd_open_args {
	unsigned int index;
	struct vd_msg *msg;
	struct vd_mcache *cache;
	const char *snapshot;
};

/* Modes of vd_format_ops.discard() */
enum vd_discard_mode {
	VD_DISCARD_UNMAP,	/* contents may read back as anything */
	VD_DISCARD_ZERO,	/* must read back as zeros, may unmap */
	VD_DISCARD_ZERO_NOUNMAP,/* must read back as zeros, keep allocated */
	/*
	 * Whole clusters only: deallocate, so that the range reads from the
	 * backing layer again (commit emptying the top, rebase --dedup);
	 * partial clusters are left as they are.
	 */
	VD_DISCARD_FALLTHROUGH,
};

/* @flags of vd_format_ops.map() */
#define VD_MAP_WRITE	BIT(0)	/* a write: where may it go */
#define VD_MAP_NOWAIT	BIT(1)	/* metadata not cached: -EAGAIN, don't sleep */

/**
 * struct vd_format_ops - what a format implements
 * @format:  VDISK_FMT_* it handles
 * @open:    read and validate the layer's metadata from layer->file, set
 *           layer->virtual_size and layer->priv.  Every on-disk value is
 *           untrusted; refuse with -EINVAL/-EFBIG/-ENOTSUPP and a message.
 * @close:   free what open() set up; metadata must already be flushed
 * @map:     what the layer holds at [@pos, @pos + @len).  For a write
 *           (VD_MAP_WRITE in @flags, top layer only) answer VD_EXT_DATA
 *           where the bytes can be written in place (allocated, not
 *           shared), else VD_EXT_FORMAT: the core then hands that run to
 *           @write_run.  Never allocates.  May sleep, except with
 *           VD_MAP_NOWAIT: then -EAGAIN where it would read metadata or
 *           wait for it.  Called concurrently.
 * @read_run: produce the bytes of a VD_EXT_FORMAT run (a compressed
 *           cluster) into @iter; may sleep
 * @write_run: write a VD_EXT_FORMAT run of a write request from @iter:
 *           allocate, copy-on-write the rest of the cluster (what the
 *           stack shows now, read with vd_chain_read(@chain, 0, ...)),
 *           then link the new data into the metadata.  Synchronous; must
 *           cope with concurrent calls for the same range.
 * @flush:   make every completed write durable: metadata written back,
 *           then the files synced
 * @discard: drop or zero a range of a writable layer (the top of
 *           @chain, which a partial cluster may need for copy-on-write);
 *           NULL if the format cannot: the device then advertises no
 *           discard
 * @set_backing: point a writable layer at another backing file: @name
 *           (NUL-terminated, "" for none) of format @fmt (VDISK_FMT_*,
 *           VDISK_FMT_NONE with ""), whose layer is @parent (NULL with "";
 *           vmdk takes its CID for parentCID).  Written and synced before
 *           it returns; the layer's data and metadata were flushed before.
 *           -EFBIG with @msg set if the name does not fit the header.
 *           NULL if the format has no backing file (raw).
 */
struct vd_format_ops {
	unsigned int format;
	int (*open)(struct vd_layer *layer, const struct vd_open_args *args);
	void (*close)(struct vd_layer *layer);
	int (*map)(struct vd_layer *layer, u64 pos, u64 len, unsigned int flags,
		   struct vd_ext *ext);
	int (*read_run)(struct vd_layer *layer, const struct vd_run *run,
			struct iov_iter *iter);
	int (*write_run)(struct vd_layer *layer, const struct vd_chain *chain,
			 const struct vd_run *run, struct iov_iter *iter);
	int (*flush)(struct vd_layer *layer);
	int (*discard)(struct vd_layer *layer, const struct vd_chain *chain,
		       u64 pos, u64 len, enum vd_discard_mode mode);
	int (*set_backing)(struct vd_layer *layer, const char *name,
			   unsigned int fmt, struct vd_layer *parent,
			   struct vd_msg *msg);
};

/**
 * struct vd_layer - one image file in a stack
 * @ref:          held by each chain that contains the layer, so a layer can
 *                move from an old chain to a new one during commit/rebase
 * @ops:          its format
 * @priv:         the format's state
 * @files:        @files[0] is the image itself, then vmdk extents
 * @nr_files:     entries in @files
 * @virtual_size: bytes of disk the layer describes
 * @dio_align:    offset/length alignment for direct I/O to @files[0], or 0
 *                when only buffered I/O is possible
 * @dio_mem_align: memory alignment direct I/O needs
 * @writable:     the top layer of a read-write device
 * @broken:       the format found its metadata corrupt while serving: the
 *                device stops writing (set once, with vd_layer_broken())
 * @discard_granularity: bytes a discard can free (cluster, grain), set by
 *                open() of a writable layer whose format has @discard
 * @path:         d_path of @files[0] when attached, for sysfs and status
 * @mem:          memory taken for the image's tables and decompression
 *                (budget.h); released when the layer is freed
 * @lock_perm:    QEMU permissions (VD_PERM_*, lock.h) whose lock bytes its
 *                files hold; 0 when not locked
 * @lock_unshared: permissions its files keep others from.  Both are set
 *                when the layer is opened, and changed only by the one job
 *                starting or running on the device (vd_device.job_starting)
 */
struct vd_layer {
	struct kref ref;
	const struct vd_format_ops *ops;
	void *priv;
	struct file **files;
	unsigned int nr_files;
	u64 virtual_size;
	unsigned int dio_align;
	unsigned int dio_mem_align;
	bool writable;
	bool broken;
	unsigned int discard_granularity;
	char *path;
	struct vd_budget mem;
	u8 lock_perm;
	u8 lock_unshared;
};

/**
 * struct vd_chain - an immutable stack of layers
 * @nr:    number of layers
 * @layer: top first; each holds a reference
 *
 * Never changed once published: replacing a layer means building a new
 * chain and swapping the device's pointer with the queue frozen.
 */
struct vd_chain {
	unsigned int nr;
	struct vd_layer *layer[] __counted_by(nr);
};

enum vd_state {
	VD_STATE_LIVE,		/* serving, may be opened */
	VD_STATE_REMOVING,	/* being detached: opens fail */
};

/**
 * struct vd_io_stats - the path requests took (queue.c)
 * @submitter: read or write started from queue_rq(), in the submitter's
 *             context
 * @retried:   of those, done again by the worker (the file would block)
 * @worker:    handed to the worker at once
 */
struct vd_io_stats {
	u64 submitter;
	u64 retried;
	u64 worker;
};

/**
 * struct vd_device - one /dev/vdN
 * @index:      N
 * @disk:       the gendisk
 * @tag_set:    blk-mq tags, one struct vd_cmd per request
 * @chain:      layers served; see the locking rules at the top
 * @lock:       protects @open_count, @state, @flags, and writers of @chain
 * @open_count: openers of the block device (partitions included)
 * @state:      enum vd_state
 * @flags:      VDISK_ATTACH_* given at attach (AUTOCLEAR may be set later)
 * @mcache:     metadata cache shared by the layers (L2 / grain tables);
 *              the device holds one reference, each layer opened with it
 *              another (a job's layers may outlive the device)
 * @remove_work: detaches an autoclear device after its last close
 * @ref:        lifetime of this struct: the index holds one reference, a
 *              queued @remove_work another, a JOB_START opening its files
 *              a third
 * @job:        the running or last layer job (commit, rebase), NULL if
 *              none since attach; set and cleared under @lock, the job
 *              itself freed only once its thread has ended
 * @job_starting: a JOB_START is opening its files (vd_ctl_mutex)
 * @fence:      keeps guest requests out of the job's window (fence.h)
 * @io_stats:   how requests were served (per CPU; sysfs vdisk/io_path)
 */
struct vd_device {
	int index;
	struct gendisk *disk;
	struct blk_mq_tag_set tag_set;
	struct vd_chain *chain;
	struct mutex lock;		/* see @lock above */
	unsigned int open_count;
	enum vd_state state;
	u32 flags;
	struct vd_mcache *mcache;
	struct work_struct remove_work;
	struct kref ref;
	struct vd_job *job;
	bool job_starting;
	struct vd_fence fence;
	struct vd_io_stats __percpu *io_stats;
};

/* main.c */
extern struct workqueue_struct *vd_io_wq;
extern unsigned int vd_queue_depth;
extern unsigned int vd_max_devices;
extern unsigned int vd_cache_kib;

/* ctl.c */
int vd_ctl_init(void);
void vd_ctl_exit(void);
extern struct mutex vd_ctl_mutex;
int vd_copy_in(void *dst, size_t ksize, void __user *src);
int vd_copy_out(void __user *dst, const void *src, size_t ksize);
void vd_copy_msg_out(u64 uptr, u32 size, char *msg);
struct vd_layer *vd_layer_from_user(const void __user *specs, unsigned int i,
				    unsigned int spec_size, unsigned int level,
				    bool writable, bool allow_dio,
				    struct vd_mcache *cache, struct vd_msg *msg);

/* job.c */
long vd_ioc_job_start(void __user *argp);
long vd_ioc_job_status(void __user *argp);
long vd_ioc_job_cancel(void __user *argp);
bool vd_job_running(struct vd_device *vd);
void vd_job_stop(struct vd_device *vd);

/* device.c */
int vd_device_create(struct vd_chain *chain, struct vd_mcache *mcache,
		     u32 flags, int index, struct vd_msg *msg,
		     struct vd_device **out);
int vd_device_remove(struct vd_device *vd, bool lazy);
struct vd_device *vd_device_find(int index, bool next);
void vd_device_put(struct vd_device *vd);
struct vd_chain *vd_device_swap_chain(struct vd_device *vd,
				      struct vd_chain *chain);
void vd_device_remove_all(void);
int vd_blkdev_major(void);
bool vd_file_is_vdisk(struct file *file);
int vd_blkdev_init(void);
void vd_blkdev_exit(void);

/* sysfs.c */
extern const struct attribute_group *vd_disk_attr_groups[];

/* queue.c */
extern const struct blk_mq_ops vd_mq_ops;
size_t vd_cmd_size(void);
int vd_queue_init(void);
void vd_queue_exit(void);

/* chain.c */
struct vd_layer *vd_layer_open(struct file **files, unsigned int nr_files,
			       unsigned int format,
			       bool writable, bool allow_dio,
			       const struct vd_open_args *args);
void vd_layer_put(struct vd_layer *layer);
struct vd_chain *vd_chain_alloc(unsigned int nr);
void vd_chain_free(struct vd_chain *chain);
int vd_chain_check_distinct(const struct vd_chain *chain, struct vd_msg *msg);
static inline struct vd_layer *vd_chain_top(const struct vd_chain *chain)
{
	return chain->layer[0];
}

/* raw.c and the format table */
extern const struct vd_format_ops vd_raw_ops;
extern const struct vd_format_ops vd_qcow2_ops;
extern const struct vd_format_ops vd_vmdk_ops;
const struct vd_format_ops *vd_format_ops_get(unsigned int format);

/* io.c: file helpers used by formats */
int vd_file_read(struct file *file, void *buf, size_t len, u64 pos);
int vd_file_sync(struct file *file);
int vd_file_write(struct file *file, const void *buf, size_t len, u64 pos);
int vd_file_write_zeroes(struct file *file, u64 pos, u64 len);
int vd_file_write_iter(struct file *file, struct iov_iter *iter, u64 pos,
		       bool direct);
int vd_layer_write_buf(const struct vd_layer *layer, struct file *file,
		       void *buf, size_t len, u64 pos);
int vd_layer_write_iter(const struct vd_layer *layer, struct file *file,
			struct iov_iter *iter, u64 len, u64 pos);
int vd_chain_read(const struct vd_chain *chain, unsigned int level, u64 pos,
		  void *buf, size_t len);
int vd_chain_write(const struct vd_chain *chain, u64 pos, const void *buf,
		   size_t len);
int vd_chain_write_zeroes(const struct vd_chain *chain, u64 pos, u64 len);
void vd_layer_broken(struct vd_layer *layer, const char *why);

#endif /* VDISK_H */
