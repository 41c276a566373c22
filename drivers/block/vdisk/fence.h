/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fence.h - keeping guest I/O out of the range a layer job works on.
 *
 * A commit or rebase reads, compares and writes one window of the virtual
 * disk at a time.  A guest request that overlaps the window must not run
 * while the job holds it (a rebase would overwrite the guest's new data
 * with old backing data; emptying the top would drop it), and the job must
 * not take a window while a guest request inside it is still running.
 * Requests elsewhere go on: the serialisation is per range, never
 * device-wide, and costs nothing while no job runs.
 */
#ifndef VDISK_FENCE_H
#define VDISK_FENCE_H

#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>

/**
 * struct vd_fence - one device's fence
 * @lock:     protects @start, @end and @inflight; taken from I/O
 *            completion, so always with interrupts off
 * @active:   guest requests register; changed only with the queue frozen
 *            (on) or when the job ends (off: registered requests still
 *            unregister)
 * @start:    the job's window [@start, @end); empty when equal
 * @end:      see @start
 * @inflight: struct vd_fence_entry of the guest requests that registered
 * @waiting:  guest requests sleeping until the window moves on; the job
 *            lets them in before it takes its next window, so that a
 *            request spanning many windows (a discard of the whole disk)
 *            is not starved for the length of the job
 * @wq:       guest requests wait here for the window to move on, the job
 *            for the requests inside its window to finish and for
 *            @waiting to drain
 */
struct vd_fence {
	spinlock_t lock;		/* see @lock above */
	bool active;
	u64 start;
	u64 end;
	struct list_head inflight;
	unsigned int waiting;
	wait_queue_head_t wq;
};

/**
 * struct vd_fence_entry - a guest request as the fence knows it
 * @node:  in vd_fence.inflight while registered
 * @start: first byte of the request
 * @end:   byte past its last
 * @on:    registered (only the request's own context reads this)
 */
struct vd_fence_entry {
	struct list_head node;
	u64 start;
	u64 end;
	bool on;
};

void vd_fence_init(struct vd_fence *f);
void vd_fence_enter(struct vd_fence *f, struct vd_fence_entry *e, u64 pos,
		    u64 len);
void vd_fence_exit(struct vd_fence *f, struct vd_fence_entry *e);
void vd_fence_lock(struct vd_fence *f, u64 start, u64 end);
void vd_fence_unlock(struct vd_fence *f);

#endif /* VDISK_FENCE_H */
