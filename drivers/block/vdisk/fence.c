// SPDX-License-Identifier: GPL-2.0
/*
 * fence.c - per-range exclusion between a layer job and guest requests
 * (see fence.h).
 *
 * Guest requests hold no lock while they run: they only sit on a list,
 * which the job scans when it takes a window.  The list holds at most the
 * device's queue depth of entries, and exists only while a job runs.
 */
#include <linux/sched.h>

#include "fence.h"

void vd_fence_init(struct vd_fence *f)
{
	spin_lock_init(&f->lock);
	f->active = false;
	f->start = 0;
	f->end = 0;
	INIT_LIST_HEAD(&f->inflight);
	f->waiting = 0;
	init_waitqueue_head(&f->wq);
}

static bool vd_fence_blocks(const struct vd_fence *f, u64 start, u64 end)
{
	return f->start < f->end && start < f->end && f->start < end;
}

/* Any registered guest request inside the window?  Under @f->lock. */
static bool vd_fence_busy(const struct vd_fence *f)
{
	const struct vd_fence_entry *e;

	list_for_each_entry(e, &f->inflight, node)
		if (vd_fence_blocks(f, e->start, e->end))
			return true;
	return false;
}

/**
 * vd_fence_enter() - a guest request for [@pos, @pos + @len) starts
 * @f:   the device's fence
 * @e:   the request's entry
 * @pos: first byte
 * @len: bytes; 0 (a flush) never waits
 *
 * Sleeps while the job's window overlaps the range.  Free when no job runs.
 */
void vd_fence_enter(struct vd_fence *f, struct vd_fence_entry *e, u64 pos,
		    u64 len)
{
	bool waited = false;

	e->on = false;
	if (!READ_ONCE(f->active) || !len)
		return;
	e->start = pos;
	e->end = pos + len;
	spin_lock_irq(&f->lock);
	if (vd_fence_blocks(f, e->start, e->end)) {
		f->waiting++;
		wait_event_lock_irq(f->wq, !vd_fence_blocks(f, e->start, e->end),
				    f->lock);
		/* The job may be waiting for us to get in first. */
		waited = !--f->waiting;
	}
	list_add_tail(&e->node, &f->inflight);
	e->on = true;
	spin_unlock_irq(&f->lock);
	if (waited)
		wake_up_all(&f->wq);
}

/* The request is done (called from its completion, any context). */
void vd_fence_exit(struct vd_fence *f, struct vd_fence_entry *e)
{
	unsigned long flags;
	bool wake;

	if (!e->on)
		return;
	spin_lock_irqsave(&f->lock, flags);
	list_del(&e->node);
	e->on = false;
	wake = vd_fence_blocks(f, e->start, e->end);
	spin_unlock_irqrestore(&f->lock, flags);
	if (wake)
		wake_up_all(&f->wq);
}

/**
 * vd_fence_lock() - the job takes [@start, @end)
 * @f:     the device's fence
 * @start: first byte
 * @end:   byte past the last
 *
 * Requests that waited for the previous window get in first; then new
 * guest requests overlapping the window wait, and this returns once those
 * already running inside it are done.  The job must not freeze
 * the queue while it holds a window: a waiting request holds the queue's
 * usage counter.
 */
void vd_fence_lock(struct vd_fence *f, u64 start, u64 end)
{
	spin_lock_irq(&f->lock);
	wait_event_lock_irq(f->wq, !f->waiting, f->lock);
	f->start = start;
	f->end = end;
	wait_event_lock_irq(f->wq, !vd_fence_busy(f), f->lock);
	spin_unlock_irq(&f->lock);
}

void vd_fence_unlock(struct vd_fence *f)
{
	spin_lock_irq(&f->lock);
	f->start = 0;
	f->end = 0;
	spin_unlock_irq(&f->lock);
	wake_up_all(&f->wq);
}
