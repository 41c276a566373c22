/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vdisk - disk images (raw, qcow2, vmdk) served as block devices /dev/vdN.
 *
 * The whole userspace ABI of the driver.  Every command is an ioctl on the
 * misc device /dev/vdisk-control.  Rules that hold for every struct here:
 *
 *  - The first member is @size: userspace sets it to sizeof() of the struct
 *    it was built with.  The kernel accepts shorter structs (missing tail
 *    members read as zero) and longer ones as long as the unknown tail is
 *    zero (else -E2BIG), so the structs can grow without new ioctl numbers.
 *    Arrays of structs (layer specs, layer infos) carry their element size
 *    separately; it may be larger, never smaller, than in ABI version 1.
 *  - Unknown @flags bits and non-zero @reserved members are -EINVAL.
 *  - Pointers travel as __u64; all members are naturally aligned and the
 *    layout is identical for 32- and 64-bit userspace (no compat code).
 *  - Userspace opens every image file itself and passes file descriptors;
 *    the kernel never opens a path, least of all one read from an image.
 *
 * Layers: a device is a stack of layers, layers[0] the top (the one written
 * to), each next one its backing file.  A range the top does not allocate is
 * read from the next layer; below the last layer, and past
 * a layer's own virtual size, the device reads zeros.
 */
#ifndef _UAPI_LINUX_VDISK_H
#define _UAPI_LINUX_VDISK_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define VDISK_CONTROL_NAME	"vdisk-control"
#define VDISK_DISK_PREFIX	"vd"		/* /dev/vd0, /dev/vd0p1, ... */
#define VDISK_ABI_VERSION	1
#define VDISK_MAX_LAYERS	64		/* deepest backing chain */
#define VDISK_MAX_EXTENT_FDS	4096		/* extra files of one layer */
#define VDISK_MSG_MAX		512		/* longest error message */

/* Image formats (struct vdisk_layer_spec.format, vdisk_layer_info.format) */
enum vdisk_format {
	VDISK_FMT_NONE	= 0,
	VDISK_FMT_RAW	= 1,
	VDISK_FMT_QCOW2	= 2,
	VDISK_FMT_VMDK	= 3,
	VDISK_FMT_COUNT
};

/* Bits of vdisk_features.features: what this driver can do. */
#define VDISK_FEAT_RAW		(1ULL << 0)
#define VDISK_FEAT_QCOW2	(1ULL << 1)
#define VDISK_FEAT_VMDK		(1ULL << 2)
#define VDISK_FEAT_DISCARD	(1ULL << 3)
#define VDISK_FEAT_COMMIT	(1ULL << 4)
#define VDISK_FEAT_REBASE	(1ULL << 5)
#define VDISK_FEAT_QCOW2_WRITE	(1ULL << 6)	/* qcow2 layers read-write */
#define VDISK_FEAT_QEMU_LOCKS	(1ULL << 7)	/* QEMU's image locks taken */

/**
 * struct vdisk_features - VDISK_IOC_GET_FEATURES: what the driver supports
 * @size:        sizeof(struct vdisk_features), set by userspace
 * @flags:       must be 0
 * @abi_version: out: VDISK_ABI_VERSION of the running driver
 * @max_layers:  out: deepest chain accepted
 * @features:    out: VDISK_FEAT_* bits
 * @reserved:    must be 0
 */
struct vdisk_features {
	__u32 size;
	__u32 flags;
	__u32 abi_version;
	__u32 max_layers;
	__u64 features;
	__u64 reserved[4];
};

/* vdisk_layer_spec.flags */
#define VDISK_LAYER_FLAGS_ALL	0

/**
 * struct vdisk_layer_spec - one layer of an attach request
 * @fd:         open file of the layer (qcow2 image, vmdk descriptor or
 *              sparse extent, raw file).  The top layer's fd must be open
 *              for writing unless the device is attached read-only; the
 *              others are only read.
 * @format:     enum vdisk_format; the kernel checks it against the header
 * @flags:      VDISK_LAYER_* (none defined yet)
 * @nr_extent_fds: number of entries at @extent_fds (vmdk extent files the
 *              descriptor names, in descriptor order); 0 for raw and qcow2
 * @extent_fds: user pointer to __s32[@nr_extent_fds]
 * @snapshot:   user pointer to a NUL-terminated internal snapshot name or
 *              id to serve read-only instead of the active image, or 0
 * @reserved:   must be 0
 */
struct vdisk_layer_spec {
	__s32 fd;
	__u32 format;
	__u32 flags;
	__u32 nr_extent_fds;
	__u64 extent_fds;
	__u64 snapshot;
	__u64 reserved[2];
};

/* vdisk_attach.flags */
#define VDISK_ATTACH_READ_ONLY	(1U << 0)	/* refuse writes (EROFS) */
#define VDISK_ATTACH_PARTSCAN	(1U << 1)	/* scan the partition table */
#define VDISK_ATTACH_AUTOCLEAR	(1U << 2)	/* detach on last close */
#define VDISK_ATTACH_NO_DIO	(1U << 3)	/* buffered I/O to the files */
/*
 * The driver takes QEMU's image locks (OFD locks on bytes 100-103 and
 * 200-203 of every file, as QEMU's file-posix driver does) and refuses an
 * image another process uses against them (EBUSY).  NO_LOCK takes none
 * (unsafe: nothing stops a second writer); SHARE_ALL, only with READ_ONLY,
 * shares everything like qemu-img -U (stops nobody, is stopped by nobody).
 */
#define VDISK_ATTACH_NO_LOCK	(1U << 4)
#define VDISK_ATTACH_SHARE_ALL	(1U << 5)
#define VDISK_ATTACH_FLAGS_ALL	(VDISK_ATTACH_READ_ONLY | VDISK_ATTACH_PARTSCAN | \
				 VDISK_ATTACH_AUTOCLEAR | VDISK_ATTACH_NO_DIO | \
				 VDISK_ATTACH_NO_LOCK | VDISK_ATTACH_SHARE_ALL)

/**
 * struct vdisk_attach - VDISK_IOC_ATTACH: create /dev/vdN from a layer stack
 * @size:       sizeof(struct vdisk_attach)
 * @flags:      VDISK_ATTACH_*
 * @index:      in: wanted N of /dev/vdN, or -1 for the first free one;
 *              out: the N given
 * @nr_layers:  number of entries at @layers, 1..VDISK_MAX_LAYERS
 * @layers:     user pointer to struct vdisk_layer_spec[@nr_layers], top first
 * @layer_spec_size: sizeof(struct vdisk_layer_spec) as userspace knows it
 * @msg_size:   size of the buffer at @msg, 0 for none
 * @msg:        user pointer to a buffer that receives a NUL-terminated
 *              explanation when the attach fails (which layer, which field)
 * @cache_kib:  metadata cache (qcow2 L2 / vmdk grain tables) of the device
 *              in KiB, up to VDISK_CACHE_KIB_MAX; 0 for the module's default
 *              (parameter cache_kib)
 * @reserved0:  must be 0
 * @reserved:   must be 0
 */
struct vdisk_attach {
	__u32 size;
	__u32 flags;
	__s32 index;
	__u32 nr_layers;
	__u64 layers;
	__u32 layer_spec_size;
	__u32 msg_size;
	__u64 msg;
	__u32 cache_kib;
	__u32 reserved0;
	__u64 reserved[3];
};

#define VDISK_CACHE_KIB_MAX	(1U << 20)	/* 1 GiB */

/* vdisk_detach.flags */
#define VDISK_DETACH_LAZY	(1U << 0)	/* if open: detach on last close */
#define VDISK_DETACH_FLAGS_ALL	VDISK_DETACH_LAZY

/**
 * struct vdisk_detach - VDISK_IOC_DETACH: remove /dev/vdN
 * @size:     sizeof(struct vdisk_detach)
 * @flags:    VDISK_DETACH_*
 * @index:    N of /dev/vdN
 * @reserved0: must be 0
 * @reserved: must be 0
 *
 * Fails with -EBUSY while the device is open (mounted, held by a process)
 * unless VDISK_DETACH_LAZY is given; then the device goes away on its last
 * close, like a loop device with autoclear.
 */
struct vdisk_detach {
	__u32 size;
	__u32 flags;
	__s32 index;
	__u32 reserved0;
	__u64 reserved[2];
};

/* vdisk_layer_info.flags */
#define VDISK_LINFO_WRITABLE	(1U << 0)
#define VDISK_LINFO_DIRECT_IO	(1U << 1)	/* async direct I/O in use */

#define VDISK_PATH_MAX		256

/**
 * struct vdisk_layer_info - one layer as reported by VDISK_IOC_STATUS
 * @format:       enum vdisk_format
 * @flags:        VDISK_LINFO_*
 * @virtual_size: bytes of disk this layer describes
 * @file_dev:     st_dev of the layer's file (new_encode_dev form)
 * @file_ino:     st_ino of the layer's file
 * @path:         the file's path as the kernel sees it, NUL-terminated and
 *                truncated to fit; /sys/block/vdN/vdisk/backing_file has
 *                the top layer's whole
 * @reserved:     0
 */
struct vdisk_layer_info {
	__u32 format;
	__u32 flags;
	__u64 virtual_size;
	__u64 file_dev;
	__u64 file_ino;
	__u64 reserved[2];
	char path[VDISK_PATH_MAX];
};

/* vdisk_status.flags (in) */
#define VDISK_STATUS_NEXT	(1U << 0)	/* first device with N >= @index */
#define VDISK_STATUS_FLAGS_ALL	VDISK_STATUS_NEXT

/* vdisk_status.dev_flags (out) */
#define VDISK_DEV_READ_ONLY	(1U << 0)
#define VDISK_DEV_PARTSCAN	(1U << 1)
#define VDISK_DEV_AUTOCLEAR	(1U << 2)
#define VDISK_DEV_JOB_RUNNING	(1U << 3)

/**
 * struct vdisk_status - VDISK_IOC_STATUS: describe /dev/vdN
 * @size:      sizeof(struct vdisk_status)
 * @flags:     VDISK_STATUS_*; with VDISK_STATUS_NEXT, loop over all devices
 *             by starting at @index 0 and asking again with @index + 1
 *             until -ENXIO
 * @index:     in: N; out: N of the device described
 * @nr_layers: out: number of layers in the device's stack
 * @capacity:  out: size of /dev/vdN in bytes
 * @dev_flags: out: VDISK_DEV_*
 * @open_count: out: current openers of the block device
 * @major:     out: block device number of /dev/vdN
 * @minor:     out
 * @layer_info_size: in: sizeof(struct vdisk_layer_info) as userspace knows it
 * @max_layers: in: number of entries at @layers (may be 0)
 * @layers:    in: user pointer to struct vdisk_layer_info[@max_layers]; out:
 *             the first min(@nr_layers, @max_layers) filled in, top first
 * @diskseq:   out: the block device's sequence number (as in
 *             /sys/block/vdN/diskseq): tells a new device from an older one
 *             that had the same N
 * @reserved:  must be 0
 */
struct vdisk_status {
	__u32 size;
	__u32 flags;
	__s32 index;
	__u32 nr_layers;
	__u64 capacity;
	__u32 dev_flags;
	__u32 open_count;
	__u32 major;
	__u32 minor;
	__u32 layer_info_size;
	__u32 max_layers;
	__u64 layers;
	__u64 diskseq;
	__u64 reserved[3];
};

/*
 * Layer jobs: commit and rebase on an attached device, one job per device
 * at a time, run by the kernel while the device keeps serving I/O.
 */
enum vdisk_job_type {
	VDISK_JOB_NONE		= 0,
	VDISK_JOB_COMMIT	= 1,	/* top (..base_level - 1) into base_level */
	VDISK_JOB_REBASE	= 2,	/* the top onto a new backing chain */
	VDISK_JOB_TYPE_COUNT
};

/* vdisk_job_start.flags */
#define VDISK_JOB_EMPTY_TOP	(1U << 0)	/* commit: leave the top empty */
#define VDISK_JOB_UNSAFE	(1U << 1)	/* rebase: pointer only, no data */
/* rebase: also drop top clusters equal to the new backing's data */
#define VDISK_JOB_DEDUP		(1U << 2)
#define VDISK_JOB_FLAGS_ALL	(VDISK_JOB_EMPTY_TOP | VDISK_JOB_UNSAFE | \
				 VDISK_JOB_DEDUP)

/**
 * struct vdisk_job_start - VDISK_IOC_JOB_START: start a commit or rebase
 * @size:        sizeof(struct vdisk_job_start)
 * @flags:       VDISK_JOB_*; EMPTY_TOP only for a commit, UNSAFE and DEDUP
 *               only for a rebase, not both
 * @index:       N of /dev/vdN; the device must be attached read-write
 * @type:        enum vdisk_job_type
 * @base_level:  commit: level (1..nr_layers - 1) in the live stack of the
 *               layer the data goes into; the layers between it and the
 *               top are dropped from the stack when the job completes.
 *               Rebase: 0.
 * @nr_layers:   entries at @layers.  Commit: 1, the target layer again,
 *               its fd open for writing (its file must be the one the
 *               stack holds at @base_level).  Rebase: the new backing
 *               chain, top first, opened read-only; 0 removes the backing
 *               (flatten: everything the old chain shows is copied up);
 *               at most VDISK_MAX_LAYERS - 1, the top stays above them.
 * @layers:      user pointer to struct vdisk_layer_spec[@nr_layers]
 * @layer_spec_size: sizeof(struct vdisk_layer_spec) as userspace knows it
 * @msg_size:    size of the buffer at @msg, 0 for none
 * @msg:         user pointer to a buffer that receives a NUL-terminated
 *               explanation when the start is refused
 * @rate_limit:  bytes per second the job may read, 0 for no limit
 * @backing_name: user pointer to the NUL-terminated backing file name the
 *               top's header gets (qcow2 backing file name, vmdk
 *               parentFileNameHint), "" for none; 0 leaves the header as
 *               it is (commit into the top's own backing file).  Required
 *               for a rebase.
 * @id:          out: the job's number, unique since the module was
 *               loaded; VDISK_IOC_JOB_STATUS reports it, so a caller can
 *               tell its job from a later one; must be 0 in
 * @reserved:    must be 0
 */
struct vdisk_job_start {
	__u32 size;
	__u32 flags;
	__s32 index;
	__u32 type;
	__u32 base_level;
	__u32 nr_layers;
	__u64 layers;
	__u32 layer_spec_size;
	__u32 msg_size;
	__u64 msg;
	__u64 rate_limit;
	__u64 backing_name;
	__u64 id;
	__u64 reserved[3];
};

/* vdisk_job_status.state */
enum vdisk_job_state {
	VDISK_JOB_IDLE		= 0,	/* no job since the device was attached */
	VDISK_JOB_RUNNING	= 1,
	VDISK_JOB_DONE		= 2,
	VDISK_JOB_FAILED	= 3,	/* @error says why; image consistent */
	VDISK_JOB_CANCELLED	= 4,	/* image consistent, chain unchanged */
};

/* vdisk_job_status.phase */
enum vdisk_job_phase {
	VDISK_JOB_PHASE_NONE	= 0,
	VDISK_JOB_PHASE_COPY	= 1,	/* copying data into the target */
	VDISK_JOB_PHASE_SWITCH	= 2,	/* rewriting headers, swapping layers */
	VDISK_JOB_PHASE_DEDUP	= 3,	/* rebase --dedup: dropping equal data */
	VDISK_JOB_PHASE_EMPTY	= 4,	/* commit: emptying the top */
};

#define VDISK_JOB_MSG_MAX	256

/**
 * struct vdisk_job_status - VDISK_IOC_JOB_STATUS: progress of the last job
 * @size:          sizeof(struct vdisk_job_status)
 * @flags:         must be 0
 * @index:         N of /dev/vdN
 * @type:          out: enum vdisk_job_type of the last job
 * @state:         out: enum vdisk_job_state
 * @error:         out: -errno of a failed job, else 0
 * @phase:         out: enum vdisk_job_phase
 * @reserved0:     0
 * @bytes_total:   out: virtual bytes the job walks, over all its passes
 * @bytes_done:    out: of those, walked so far (progress: done / total)
 * @bytes_copied:  out: bytes written into the target layer
 * @bytes_equal:   out: rebase: bytes compared equal and not copied
 * @bytes_dropped: out: bytes deallocated in the top (dedup, EMPTY_TOP)
 * @elapsed_ns:    out: time the job has run (or ran)
 * @rate_limit:    out: bytes per second it is held to, 0 for none
 * @id:            out: the job's number (vdisk_job_start.id), 0 if none
 * @job_flags:     out: the VDISK_JOB_* flags it was started with
 * @base_level:    out: a commit's base_level, else 0
 * @reserved:      must be 0
 * @msg:           out: what went wrong, NUL-terminated, "" if nothing
 */
struct vdisk_job_status {
	__u32 size;
	__u32 flags;
	__s32 index;
	__u32 type;
	__u32 state;
	__s32 error;
	__u32 phase;
	__u32 reserved0;
	__u64 bytes_total;
	__u64 bytes_done;
	__u64 bytes_copied;
	__u64 bytes_equal;
	__u64 bytes_dropped;
	__u64 elapsed_ns;
	__u64 rate_limit;
	__u64 id;
	__u32 job_flags;
	__u32 base_level;
	__u64 reserved[1];
	char msg[VDISK_JOB_MSG_MAX];
};

/**
 * struct vdisk_job_cancel - VDISK_IOC_JOB_CANCEL: stop the running job
 * @size:      sizeof(struct vdisk_job_cancel)
 * @flags:     must be 0
 * @index:     N of /dev/vdN
 * @reserved0: must be 0
 * @reserved:  must be 0
 *
 * Returns once the job has stopped (state CANCELLED, or DONE/FAILED if it
 * ended first); -ENOENT if no job is running.
 */
struct vdisk_job_cancel {
	__u32 size;
	__u32 flags;
	__s32 index;
	__u32 reserved0;
	__u64 reserved[2];
};

#define VDISK_IOC_MAGIC		0xDF

#define VDISK_IOC_GET_FEATURES	_IOWR(VDISK_IOC_MAGIC, 0x00, struct vdisk_features)
#define VDISK_IOC_ATTACH	_IOWR(VDISK_IOC_MAGIC, 0x01, struct vdisk_attach)
#define VDISK_IOC_DETACH	_IOW(VDISK_IOC_MAGIC, 0x02, struct vdisk_detach)
#define VDISK_IOC_STATUS	_IOWR(VDISK_IOC_MAGIC, 0x03, struct vdisk_status)
#define VDISK_IOC_JOB_START	_IOWR(VDISK_IOC_MAGIC, 0x10, struct vdisk_job_start)
#define VDISK_IOC_JOB_STATUS	_IOWR(VDISK_IOC_MAGIC, 0x11, struct vdisk_job_status)
#define VDISK_IOC_JOB_CANCEL	_IOW(VDISK_IOC_MAGIC, 0x12, struct vdisk_job_cancel)
/* 0x13..0x1f are reserved for more layer jobs. */

#endif /* _UAPI_LINUX_VDISK_H */
