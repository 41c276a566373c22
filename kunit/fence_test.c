// SPDX-License-Identifier: GPL-2.0
/*
 * fence_test.c - KUnit suite vdisk_fence: the per-range exclusion between
 * a layer job and guest requests.  A guest request inside the job's window
 * must wait for it, the job must wait for requests already inside, and
 * nothing outside the window (or while no job runs) may wait at all.
 */
#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/kthread.h>

#include "../fence.h"

/* Long enough for a thread that is not blocked to have finished. */
#define VD_FT_SETTLE_MS	100

struct vd_ft_thread {
	struct vd_fence *f;
	struct vd_fence_entry e;
	u64 start;
	u64 len;
	struct completion done;
};

static int vd_ft_enter_fn(void *data)
{
	struct vd_ft_thread *t = data;

	vd_fence_enter(t->f, &t->e, t->start, t->len);
	complete(&t->done);
	return 0;
}

static int vd_ft_lock_fn(void *data)
{
	struct vd_ft_thread *t = data;

	vd_fence_lock(t->f, t->start, t->start + t->len);
	complete(&t->done);
	return 0;
}

static void vd_ft_start(struct kunit *test, struct vd_ft_thread *t,
			struct vd_fence *f, int (*fn)(void *), u64 start, u64 len)
{
	struct task_struct *task;

	t->f = f;
	t->start = start;
	t->len = len;
	init_completion(&t->done);
	task = kthread_run(fn, t, "vd-fence-test");
	KUNIT_ASSERT_FALSE(test, IS_ERR(task));
}

static bool vd_ft_finished(struct vd_ft_thread *t, unsigned int ms)
{
	return wait_for_completion_timeout(&t->done, msecs_to_jiffies(ms));
}

static void vd_fence_inactive_is_free(struct kunit *test)
{
	struct vd_fence f;
	struct vd_fence_entry e;

	vd_fence_init(&f);
	vd_fence_enter(&f, &e, 0, 4096);
	KUNIT_EXPECT_FALSE(test, e.on);
	KUNIT_EXPECT_TRUE(test, list_empty(&f.inflight));
	vd_fence_exit(&f, &e);
}

static void vd_fence_guest_waits_for_window(struct kunit *test)
{
	struct vd_ft_thread in, out, flush;
	struct vd_fence f;

	vd_fence_init(&f);
	f.active = true;
	vd_fence_lock(&f, 1 << 20, 2 << 20);

	vd_ft_start(test, &in, &f, vd_ft_enter_fn, (2 << 20) - 512, 4096);
	vd_ft_start(test, &out, &f, vd_ft_enter_fn, 2 << 20, 4096);
	vd_ft_start(test, &flush, &f, vd_ft_enter_fn, 1 << 20, 0);
	KUNIT_EXPECT_TRUE(test, vd_ft_finished(&out, 2000));
	KUNIT_EXPECT_TRUE(test, vd_ft_finished(&flush, 2000));
	KUNIT_EXPECT_FALSE(test, vd_ft_finished(&in, VD_FT_SETTLE_MS));

	vd_fence_unlock(&f);
	KUNIT_ASSERT_TRUE(test, vd_ft_finished(&in, 2000));
	KUNIT_EXPECT_TRUE(test, in.e.on);
	KUNIT_EXPECT_TRUE(test, out.e.on);
	KUNIT_EXPECT_FALSE(test, flush.e.on);
	vd_fence_exit(&f, &in.e);
	vd_fence_exit(&f, &out.e);
	KUNIT_EXPECT_TRUE(test, list_empty(&f.inflight));
}

static void vd_fence_job_waits_for_guest(struct kunit *test)
{
	struct vd_fence_entry inside, beside;
	struct vd_ft_thread job, job2;
	struct vd_fence f;

	vd_fence_init(&f);
	f.active = true;
	vd_fence_enter(&f, &inside, 4096, 8192);
	vd_fence_enter(&f, &beside, 1 << 20, 4096);

	/* Touching the request's last byte is enough to wait. */
	vd_ft_start(test, &job, &f, vd_ft_lock_fn, 12287, 1 << 16);
	KUNIT_EXPECT_FALSE(test, vd_ft_finished(&job, VD_FT_SETTLE_MS));
	vd_fence_exit(&f, &inside);
	KUNIT_ASSERT_TRUE(test, vd_ft_finished(&job, 2000));
	vd_fence_unlock(&f);

	/* A window next to a running request does not wait for it. */
	vd_ft_start(test, &job2, &f, vd_ft_lock_fn, 0, 1 << 20);
	KUNIT_EXPECT_TRUE(test, vd_ft_finished(&job2, 2000));
	vd_fence_unlock(&f);
	vd_fence_exit(&f, &beside);
	KUNIT_EXPECT_TRUE(test, list_empty(&f.inflight));
}

/* A request over many windows gets in at the next window boundary. */
static void vd_fence_big_request_not_starved(struct kunit *test)
{
	struct vd_ft_thread big, job;
	struct vd_fence f;

	vd_fence_init(&f);
	f.active = true;
	vd_fence_lock(&f, 0, 1 << 20);
	vd_ft_start(test, &big, &f, vd_ft_enter_fn, 0, 1ULL << 40);
	KUNIT_EXPECT_FALSE(test, vd_ft_finished(&big, VD_FT_SETTLE_MS));
	vd_fence_unlock(&f);

	/* The next window waits for the request to get in, then for it. */
	vd_ft_start(test, &job, &f, vd_ft_lock_fn, 1 << 20, 1 << 20);
	KUNIT_ASSERT_TRUE(test, vd_ft_finished(&big, 2000));
	KUNIT_EXPECT_TRUE(test, big.e.on);
	KUNIT_EXPECT_FALSE(test, vd_ft_finished(&job, VD_FT_SETTLE_MS));
	vd_fence_exit(&f, &big.e);
	KUNIT_ASSERT_TRUE(test, vd_ft_finished(&job, 2000));
	vd_fence_unlock(&f);
	KUNIT_EXPECT_EQ(test, f.waiting, 0U);
}

static struct kunit_case vd_fence_cases[] = {
	KUNIT_CASE(vd_fence_inactive_is_free),
	KUNIT_CASE(vd_fence_guest_waits_for_window),
	KUNIT_CASE(vd_fence_job_waits_for_guest),
	KUNIT_CASE(vd_fence_big_request_not_starved),
	{}
};

static struct kunit_suite vd_fence_suite = {
	.name = "vdisk_fence",
	.test_cases = vd_fence_cases,
};

kunit_test_suite(vd_fence_suite);
