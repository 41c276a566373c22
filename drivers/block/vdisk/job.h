/* SPDX-License-Identifier: GPL-2.0 */
/*
 * job.h - layer jobs (commit, rebase) of a live device.
 *
 *   job.c       start, status, cancel (the ioctls), the job's thread and
 *               its life next to the device's
 *   job_pass.c  the passes over the disk: copy, compare, drop
 */
#ifndef VDISK_JOB_H
#define VDISK_JOB_H

#include <linux/completion.h>
#include <linux/kref.h>
#include <linux/ktime.h>
#include <linux/spinlock.h>
#include <linux/wait.h>

#include "vdisk.h"

/* The window a job works on at a time; a multiple of every cluster size. */
#define VD_JOB_WINDOW	SZ_4M

/**
 * struct vd_job - one commit or rebase
 * @ref:         the device holds one, a cancel one while it waits
 * @vd:          the device
 * @id:          the job's number (vdisk_job_start.id)
 * @type:        VDISK_JOB_COMMIT or VDISK_JOB_REBASE
 * @flags:       VDISK_JOB_*
 * @base_level:  commit: level of @target in the stack
 * @target:      commit: the writable instance of the base layer; the
 *               device's stack holds it from the job's start on
 * @old_base:    commit: the stack's layer at @base_level, held from the
 *               start's last checks (vd_ctl_mutex) to the launch: its files
 *               share writing with @target's meanwhile (lock.h), and a
 *               refused commit gives its locks back
 * @new_backing: rebase: the new backing layers, top first (nr may be 0)
 *               (both dropped, under the device's lock, as the thread
 *               ends: a finished job keeps no layer)
 * @backing_name: what the top's header is to name as its backing file, or
 *               NULL to leave the header alone
 * @rate_limit:  bytes per second read, 0 for no limit
 * @io_bytes:    bytes read so far, for the rate limit (the thread only)
 * @cancel:      set to stop the job at the next window
 * @wake:        the throttle sleeps here, so a cancel cuts the sleep short
 * @done:        completed when the thread is about to exit
 * @lock:        protects the progress members below against a reader
 *               taking a snapshot (VDISK_IOC_JOB_STATUS)
 * @state:       enum vdisk_job_state
 * @phase:       enum vdisk_job_phase
 * @error:       -errno of a failed job
 * @total:       bytes the passes walk in all
 * @done_bytes:  bytes walked so far
 * @copied:      bytes written into the target
 * @equal:       bytes compared equal (rebase)
 * @dropped:     bytes deallocated in the top
 * @started:     when the job started
 * @ended:       when it ended, 0 while it runs
 * @msg:         what went wrong, for the status
 */
struct vd_job {
	struct kref ref;
	struct vd_device *vd;
	u64 id;
	u32 type;
	u32 flags;
	unsigned int base_level;
	struct vd_layer *target;
	struct vd_layer *old_base;
	struct vd_chain *new_backing;
	char *backing_name;
	u64 rate_limit;
	u64 io_bytes;
	bool cancel;
	wait_queue_head_t wake;
	struct completion done;

	spinlock_t lock;		/* see @lock above */
	u32 state;
	u32 phase;
	int error;
	u64 total;
	u64 done_bytes;
	u64 copied;
	u64 equal;
	u64 dropped;
	ktime_t started;
	ktime_t ended;
	char msg[VDISK_JOB_MSG_MAX];
};

/* job_pass.c */
int vd_job_run(struct vd_job *job);

/* job.c */
void vd_job_set_phase(struct vd_job *job, u32 phase);
void vd_job_account(struct vd_job *job, u64 walked, u64 copied, u64 equal,
		    u64 dropped);
void vd_job_fail_msg(struct vd_job *job, const char *fmt, ...) __printf(2, 3);
int vd_job_throttle(struct vd_job *job);
bool vd_job_cancelled(struct vd_job *job);

#endif /* VDISK_JOB_H */
