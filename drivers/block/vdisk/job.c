// SPDX-License-Identifier: GPL-2.0
/*
 * job.c - starting, watching and stopping layer jobs (commit, rebase).
 *
 * A job runs in a kernel thread of its own while the device keeps serving
 * I/O.  Everything that can be refused is checked, and every file it needs
 * opened, by VDISK_IOC_JOB_START before the thread starts: a job that
 * starts only fails on I/O errors.  One job per device at a time; the last
 * one stays readable through VDISK_IOC_JOB_STATUS until the next starts or
 * the device goes.
 *
 * Lifetime: the device owns its last job (vd_device.job, one reference);
 * cancel takes a reference of its own while it waits for the thread, and
 * status copies the job's state under the device's lock without one.  The
 * thread holds none: the device waits for the thread (vd_job_stop())
 * before it lets go of the job.  The thread holds a reference on the
 * module, so the driver cannot be unloaded under a running job.  A job's
 * layers pin the device's metadata cache, so whoever drops the last
 * reference, before or after a detach, closes them against a live cache.
 *
 * JOB_START opens the job's files and takes QEMU's locks on them without
 * vd_ctl_mutex (an open or a lock may block on a stalled network
 * filesystem), holding a reference on the device and its cache meanwhile
 * and keeping other starts off the device (vd_device.job_starting), and
 * checks the device again under the mutex before the job starts.
 */
#include <linux/file.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "job.h"
#include "mcache.h"
#include "vd_abi.h"
#include "vd_probe.h"

/* Longest backing file name a job accepts (formats have their own limit). */
#define VD_JOB_NAME_MAX	4096

/* Numbers of the jobs started since the module was loaded. */
static atomic64_t vd_job_ids = ATOMIC64_INIT(0);

static void vd_job_release(struct kref *ref)
{
	struct vd_job *job = container_of(ref, struct vd_job, ref);

	if (job->old_base) {
		/* Never launched: the stack's base keeps others from writing again. */
		vd_lock_share_writes(job->old_base, false);
		vd_layer_put(job->old_base);
	}
	vd_layer_put(job->target);
	vd_chain_free(job->new_backing);
	kfree(job->backing_name);
	kfree(job);
}

static void vd_job_put(struct vd_job *job)
{
	if (job)
		kref_put(&job->ref, vd_job_release);
}

void vd_job_set_phase(struct vd_job *job, u32 phase)
{
	spin_lock(&job->lock);
	job->phase = phase;
	spin_unlock(&job->lock);
}

void vd_job_account(struct vd_job *job, u64 walked, u64 copied, u64 equal,
		    u64 dropped)
{
	spin_lock(&job->lock);
	job->done_bytes += walked;
	job->copied += copied;
	job->equal += equal;
	job->dropped += dropped;
	spin_unlock(&job->lock);
}

/* Say what failed; the first explanation wins. */
void vd_job_fail_msg(struct vd_job *job, const char *fmt, ...)
{
	va_list ap;

	spin_lock(&job->lock);
	if (!job->msg[0]) {
		va_start(ap, fmt);
		vsnprintf(job->msg, sizeof(job->msg), fmt, ap);
		va_end(ap);
	}
	spin_unlock(&job->lock);
}

bool vd_job_cancelled(struct vd_job *job)
{
	return READ_ONCE(job->cancel);
}

/**
 * vd_job_throttle() - hold the job to its rate limit
 * @job: the job; @job->io_bytes is what it has read so far
 *
 * Sleeps until reading @job->io_bytes at @job->rate_limit bytes per
 * second would have taken as long as the job has run.
 *
 * Return: 0, or -ECANCELED if the job was cancelled meanwhile.
 */
int vd_job_throttle(struct vd_job *job)
{
	u64 due_ns, ran_ns;

	if (!job->rate_limit)
		return vd_job_cancelled(job) ? -ECANCELED : 0;
	due_ns = mul_u64_u64_div_u64(job->io_bytes, NSEC_PER_SEC,
				     job->rate_limit);
	while (!vd_job_cancelled(job)) {
		unsigned long nap;

		ran_ns = ktime_to_ns(ktime_sub(ktime_get(), job->started));
		if (due_ns <= ran_ns)
			break;
		/* A second per nap at most, so that a cancel is seen soon. */
		nap = nsecs_to_jiffies(min_t(u64, due_ns - ran_ns, NSEC_PER_SEC));
		wait_event_timeout(job->wake, vd_job_cancelled(job), nap ?: 1);
	}
	return vd_job_cancelled(job) ? -ECANCELED : 0;
}

static const char *vd_job_name(u32 type)
{
	return type == VDISK_JOB_COMMIT ? "commit" : "rebase";
}

static int vd_job_thread(void *data)
{
	struct vd_job *job = data;
	struct vd_device *vd = job->vd;
	struct vd_chain *new_backing;
	struct vd_layer *target;
	int ret;

	ret = vd_job_run(job);

	/* From here on guest requests need not register any more. */
	WRITE_ONCE(vd->fence.active, false);

	/*
	 * Drop the job's own references to its layers now: a finished job
	 * stays for JOB_STATUS until the next one or the detach, and the
	 * tables of a cancelled rebase's new chain (and their share of the
	 * memory budget) must not stay that long.  The stack holds what it
	 * serves.  Under @vd->lock: the sysfs "mem" file reads them.
	 */
	mutex_lock(&vd->lock);
	new_backing = job->new_backing;
	job->new_backing = NULL;
	target = job->target;
	job->target = NULL;
	mutex_unlock(&vd->lock);
	vd_chain_free(new_backing);
	if (target) {
		/* Stays in the stack as a base that nobody writes. */
		vd_lock_drop_writes(target);
		vd_layer_put(target);
	}

	spin_lock(&job->lock);
	job->ended = ktime_get();
	job->phase = VDISK_JOB_PHASE_NONE;
	if (ret == -ECANCELED) {
		job->state = VDISK_JOB_CANCELLED;
	} else if (ret) {
		job->state = VDISK_JOB_FAILED;
		job->error = ret;
		if (!job->msg[0])
			snprintf(job->msg, sizeof(job->msg), "%s failed: error %d",
				 vd_job_name(job->type), ret);
	} else {
		job->state = VDISK_JOB_DONE;
	}
	spin_unlock(&job->lock);

	if (ret && ret != -ECANCELED)
		pr_err("vd%d: %s\n", vd->index, job->msg);
	else
		pr_info("vd%d: %s %s: %llu bytes copied, %llu equal, %llu dropped in %lld ms\n",
			vd->index, vd_job_name(job->type),
			ret ? "cancelled" : "done", job->copied, job->equal,
			job->dropped,
			ktime_ms_delta(job->ended, job->started));

	/* Nothing of the job may be touched after this: it may be freed. */
	complete_all(&job->done);
	module_put_and_kthread_exit(0);
}

/**
 * vd_job_running() - does a job run on @vd?
 * @vd: the device; caller holds @vd->lock
 *
 * Return: true from the job's start until its thread has finished.
 */
bool vd_job_running(struct vd_device *vd)
{
	lockdep_assert_held(&vd->lock);
	return vd->job && !completion_done(&vd->job->done);
}

/**
 * vd_job_stop() - cancel the device's job and wait for its thread
 * @vd: a device that is going away; no new job can start on it
 *
 * Frees the last job.  Called before the device's disk and layers go.
 */
void vd_job_stop(struct vd_device *vd)
{
	struct vd_job *job;

	mutex_lock(&vd->lock);
	job = vd->job;
	vd->job = NULL;
	mutex_unlock(&vd->lock);
	if (!job)
		return;
	WRITE_ONCE(job->cancel, true);
	wake_up_all(&job->wake);
	wait_for_completion(&job->done);
	vd_job_put(job);
}

/* The files of @a and @b are the same, in the same order. */
static bool vd_layer_same_files(const struct vd_layer *a,
				const struct vd_layer *b)
{
	unsigned int i;

	if (a->nr_files != b->nr_files)
		return false;
	for (i = 0; i < a->nr_files; i++)
		if (file_inode(a->files[i]) != file_inode(b->files[i]))
			return false;
	return true;
}

/*
 * Open the files a job is given (the base's writable instance for a
 * commit, the new backing layers for a rebase).  Runs without
 * vd_ctl_mutex: opening a file may block (a stalled network filesystem)
 * and must not stall every other device's attach, detach and status.
 * @cache is the device's metadata cache, pinned by the caller.
 */
static int vd_job_open_layers(struct vd_job *job,
			      const struct vdisk_job_start *j, bool dio,
			      struct vd_mcache *cache, struct vd_msg *msg)
{
	const void __user *specs = u64_to_user_ptr(j->layers);
	struct vd_layer *layer;
	struct vd_chain *nb;
	unsigned int i;

	if (j->type == VDISK_JOB_COMMIT) {
		layer = vd_layer_from_user(specs, 0, j->layer_spec_size,
					   j->base_level, true, dio, cache, msg);
		if (IS_ERR(layer))
			return PTR_ERR(layer);
		job->target = layer;
		return 0;
	}
	nb = vd_chain_alloc(j->nr_layers);
	if (!nb)
		return -ENOMEM;
	job->new_backing = nb;
	for (i = 0; i < j->nr_layers; i++) {
		layer = vd_layer_from_user(specs, i, j->layer_spec_size, i + 1,
					   false, dio, cache, msg);
		if (IS_ERR(layer))
			return PTR_ERR(layer);
		nb->layer[i] = layer;
		cond_resched();
	}
	return 0;
}

static int vd_job_prepare_commit(struct vd_device *vd, struct vd_job *job,
				 const struct vdisk_job_start *j,
				 struct vd_msg *msg)
{
	const struct vd_chain *chain = vd->chain;
	struct vd_layer *top = vd_chain_top(chain), *old;
	struct vd_layer *target = job->target;

	if (j->base_level >= chain->nr) {
		vd_msg_set(msg, "commit: base_level %u, but the stack of vd%d has %u layer%s",
			   j->base_level, vd->index, chain->nr,
			   chain->nr == 1 ? "" : "s");
		return -EINVAL;
	}
	old = chain->layer[j->base_level];
	if (target->ops != old->ops || !vd_layer_same_files(target, old)) {
		vd_msg_set(msg, "commit: the file given is not layer %u of vd%d (%s)",
			   j->base_level, vd->index, old->path);
		return -EINVAL;
	}
	if (target->virtual_size < top->virtual_size) {
		vd_msg_set(msg, "commit: %s (%llu bytes) is smaller than the top (%llu bytes)",
			   target->path, target->virtual_size, top->virtual_size);
		return -EINVAL;
	}
	if ((j->flags & VDISK_JOB_EMPTY_TOP) &&
	    (!top->ops->discard || !top->discard_granularity)) {
		vd_msg_set(msg, "commit: %s (%s) cannot deallocate clusters to be emptied",
			   top->path, vd_format_name(top->ops->format));
		return -EOPNOTSUPP;
	}
	/* vd_job_lock_layers() needs it, the launch hands it over */
	job->old_base = old;
	kref_get(&old->ref);
	return 0;
}

static int vd_job_prepare_rebase(struct vd_device *vd, struct vd_job *job,
				 const struct vdisk_job_start *j,
				 struct vd_msg *msg)
{
	struct vd_layer *top = vd_chain_top(vd->chain);
	struct vd_chain *nb = job->new_backing, *check;
	unsigned int i;
	int ret;

	if ((j->flags & VDISK_JOB_DEDUP) &&
	    (!top->ops->discard || !top->discard_granularity)) {
		vd_msg_set(msg, "rebase: %s (%s) cannot deallocate clusters for --dedup",
			   top->path, vd_format_name(top->ops->format));
		return -EOPNOTSUPP;
	}
	if (!j->nr_layers && *job->backing_name) {
		vd_msg_set(msg, "rebase: a backing name but no backing layers");
		return -EINVAL;
	}
	if (j->nr_layers && !*job->backing_name) {
		vd_msg_set(msg, "rebase: backing layers but an empty backing name");
		return -EINVAL;
	}
	/* The new stack must not hold a file twice (the top over itself). */
	check = vd_chain_alloc(1 + nb->nr);
	if (!check)
		return -ENOMEM;
	for (i = 0; i < check->nr; i++) {
		check->layer[i] = i ? nb->layer[i - 1] : top;
		kref_get(&check->layer[i]->ref);
	}
	ret = vd_chain_check_distinct(check, msg);
	vd_chain_free(check);
	return ret;
}

/*
 * What the device's state can refuse, before any file is opened and again
 * before the job starts; @vd_ctl_mutex held.
 */
static int vd_job_check_device(struct vd_device *vd, struct vd_job *job,
			       struct vd_msg *msg)
{
	struct vd_layer *top;
	bool busy, live;

	mutex_lock(&vd->lock);
	busy = vd_job_running(vd);
	live = vd->state == VD_STATE_LIVE;
	mutex_unlock(&vd->lock);
	if (!live)
		return -ENXIO;
	if (busy) {
		vd_msg_set(msg, "a job is already running on vd%d", vd->index);
		return -EBUSY;
	}
	/* Only a job changes the stack, and none runs: it stays as it is. */
	top = vd_chain_top(vd->chain);
	if (!top->writable) {
		vd_msg_set(msg, "vd%d is attached read-only", vd->index);
		return -EROFS;
	}
	if (READ_ONCE(top->broken)) {
		vd_msg_set(msg, "%s: metadata found corrupt, device read-only", top->path);
		return -EIO;
	}
	if (job->backing_name && !top->ops->set_backing) {
		vd_msg_set(msg, "%s: a %s image has no backing file to change",
			   top->path, vd_format_name(top->ops->format));
		return -EOPNOTSUPP;
	}
	return 0;
}

/*
 * Everything that can refuse the job once its files are open, but for
 * their locks; @vd_ctl_mutex held.
 */
static int vd_job_prepare(struct vd_device *vd, struct vd_job *job,
			  const struct vdisk_job_start *j, struct vd_msg *msg)
{
	int ret = vd_job_check_device(vd, job, msg);

	if (ret)
		return ret;
	if (j->type == VDISK_JOB_COMMIT)
		return vd_job_prepare_commit(vd, job, j, msg);
	return vd_job_prepare_rebase(vd, job, j, msg);
}

/* Start the thread; @vd_ctl_mutex held.  Cannot fail once it has begun. */
static int vd_job_launch(struct vd_device *vd, struct vd_job *job)
{
	struct request_queue *q = vd->disk->queue;
	struct vd_chain *new = NULL, *old = NULL;
	struct task_struct *task;
	struct vd_job *prev;
	unsigned int i;

	if (job->type == VDISK_JOB_COMMIT) {
		/* Serve the base through its writable instance from now on. */
		new = vd_chain_alloc(vd->chain->nr);
		if (!new)
			return -ENOMEM;
		for (i = 0; i < new->nr; i++) {
			new->layer[i] = i == job->base_level ? job->target :
					vd->chain->layer[i];
			kref_get(&new->layer[i]->ref);
		}
	}
	task = kthread_create(vd_job_thread, job, "vdisk%d-%s", vd->index,
			      vd_job_name(job->type));
	if (IS_ERR(task)) {
		vd_chain_free(new);
		return PTR_ERR(task);
	}
	__module_get(THIS_MODULE);	/* put by the thread as it exits */
	job->started = ktime_get();

	/*
	 * With the queue frozen no request is in flight: every request from
	 * now on sees the fence active and registers with it.
	 */
	blk_mq_freeze_queue(q);
	WRITE_ONCE(vd->fence.active, true);
	mutex_lock(&vd->lock);
	prev = vd->job;
	vd->job = job;
	if (new) {
		old = vd->chain;
		vd->chain = new;
	}
	mutex_unlock(&vd->lock);
	blk_mq_unfreeze_queue(q);

	vd_chain_free(old);
	/* The stack's old base goes with its locks: @target holds them now. */
	vd_layer_put(job->old_base);
	job->old_base = NULL;
	vd_job_put(prev);	/* finished: vd_job_prepare() checked */
	wake_up_process(task);
	return 0;
}

static struct vd_job *vd_job_alloc(const struct vdisk_job_start *j)
{
	struct vd_job *job = kzalloc(sizeof(*job), GFP_KERNEL);

	if (!job)
		return NULL;
	kref_init(&job->ref);
	spin_lock_init(&job->lock);
	init_waitqueue_head(&job->wake);
	init_completion(&job->done);
	job->type = j->type;
	job->flags = j->flags;
	job->base_level = j->base_level;
	job->rate_limit = j->rate_limit;
	job->state = VDISK_JOB_RUNNING;
	job->id = atomic64_inc_return(&vd_job_ids);
	return job;
}

/* Is @vd still the device the job was asked for?  @vd_ctl_mutex held. */
static int vd_job_still_attached(struct vd_device *vd, const struct vdisk_job_start *j,
				 struct vd_msg *msg)
{
	if (vd_device_find(j->index, false) != vd) {
		vd_msg_set(msg, "vd%d was detached meanwhile", j->index);
		return -ENXIO;
	}
	return 0;
}

/*
 * QEMU's locks on the job's files, without vd_ctl_mutex (each is a round
 * trip to the server on NFS).  vd_job_prepare() passed and pinned the
 * commit's old base; vd_device.job_starting keeps the stack as it is.
 *
 * A commit takes write on the base as QEMU's would.  Its instance must not
 * find the stack's own "write not shared" bytes, only other processes'
 * (a VM using the base): the stack's instance shares writing until the
 * launch drops it, or takes it back if the commit is refused
 * (vd_job_release()).  A rebase's new layers are backing files, locked as
 * such.
 */
static int vd_job_lock_layers(struct vd_job *job, const struct vdisk_job_start *j,
			      enum vd_lock_mode mode, struct vd_msg *msg)
{
	unsigned int i;
	int ret = 0;

	if (j->type == VDISK_JOB_COMMIT) {
		vd_lock_share_writes(job->old_base, true);
		return vd_lock_layer(job->target, true, mode, j->base_level, msg);
	}
	for (i = 0; !ret && i < job->new_backing->nr; i++)
		ret = vd_lock_layer(job->new_backing->layer[i], false, mode, i + 1, msg);
	return ret;
}

/*
 * Start the job whose files are locked; @vd_ctl_mutex held.  The stack is
 * as vd_job_prepare() saw it (vd_device.job_starting); only a detach or a
 * layer found corrupt may have come between.
 */
static int vd_job_start_locked(struct vd_device *vd, struct vd_job *job,
			       const struct vdisk_job_start *j, struct vd_msg *msg)
{
	int ret;

	ret = vd_job_still_attached(vd, j, msg);
	if (!ret)
		ret = vd_job_check_device(vd, job, msg);
	if (!ret)
		ret = vd_job_launch(vd, job);
	if (!ret)
		pr_info("vd%d: %s %llu started%s%s\n", vd->index,
			vd_job_name(j->type), job->id,
			job->backing_name ? ", backing file " : "",
			job->backing_name ?: "");
	return ret;
}

long vd_ioc_job_start(void __user *argp)
{
	struct vd_msg msg = { };
	struct vd_mcache *cache = NULL;
	struct vdisk_job_start j;
	struct vd_device *vd = NULL;
	struct vd_job *job = NULL;
	bool dio = false;
	char *msgbuf;
	int ret;

	ret = vd_copy_in(&j, sizeof(j), argp);
	if (ret)
		return ret;
	msgbuf = kzalloc(VDISK_MSG_MAX, GFP_KERNEL);
	if (!msgbuf)
		return -ENOMEM;
	msg.buf = msgbuf;
	msg.len = VDISK_MSG_MAX;

	ret = vd_check_job_start(&j, &msg);
	if (ret)
		goto out;
	ret = -ENOMEM;
	job = vd_job_alloc(&j);
	if (!job)
		goto out;
	if (j.backing_name) {
		job->backing_name = strndup_user(u64_to_user_ptr(j.backing_name),
						 VD_JOB_NAME_MAX);
		if (IS_ERR(job->backing_name)) {
			ret = PTR_ERR(job->backing_name);
			job->backing_name = NULL;
			vd_msg_set(&msg, "job: backing_name unreadable or over %d bytes",
				   VD_JOB_NAME_MAX);
			goto out;
		}
	}

	/*
	 * Hold the device and its metadata cache while the job's files are
	 * opened without vd_ctl_mutex; everything is checked again after.
	 */
	mutex_lock(&vd_ctl_mutex);
	vd = vd_device_find(j.index, false);
	if (!vd) {
		vd_msg_set(&msg, "no device vd%d", j.index);
		ret = -ENXIO;
	} else {
		ret = vd_job_check_device(vd, job, &msg);
		/*
		 * One start at a time per device: a refused commit closes a
		 * writable instance of the base, which must not happen under
		 * a job that writes it.
		 */
		if (!ret && vd->job_starting) {
			vd_msg_set(&msg, "a job is being started on vd%d", vd->index);
			ret = -EBUSY;
		}
		if (!ret) {
			vd->job_starting = true;
			kref_get(&vd->ref);
			cache = vd_mcache_pin(vd->mcache);
			dio = !(vd->flags & VDISK_ATTACH_NO_DIO);
		}
	}
	mutex_unlock(&vd_ctl_mutex);
	if (ret) {
		vd = NULL;
		goto out;
	}
	ret = vd_job_open_layers(job, &j, dio, cache, &msg);
	if (!ret) {
		mutex_lock(&vd_ctl_mutex);
		ret = vd_job_still_attached(vd, &j, &msg);
		if (!ret) {
			job->vd = vd;
			ret = vd_job_prepare(vd, job, &j, &msg);
		}
		mutex_unlock(&vd_ctl_mutex);
	}
	if (!ret)
		ret = vd_job_lock_layers(job, &j, vd_lock_mode_of(vd->flags), &msg);
	if (!ret) {
		mutex_lock(&vd_ctl_mutex);
		ret = vd_job_start_locked(vd, job, &j, &msg);
		mutex_unlock(&vd_ctl_mutex);
		if (!ret) {
			j.id = job->id;
			job = NULL;	/* the device's now */
		}
	}
	/* a refused job's files are closed before another start may open them */
	vd_job_put(job);
	job = NULL;
	mutex_lock(&vd_ctl_mutex);
	vd->job_starting = false;
	mutex_unlock(&vd_ctl_mutex);
out:
	if (ret && msgbuf[0]) {
		pr_warn_ratelimited("%s refused: %s (%d)\n",
				    vd_job_name(j.type), msgbuf, ret);
		vd_copy_msg_out(j.msg, j.msg_size, msgbuf);
	}
	vd_job_put(job);
	vd_mcache_unpin(cache);
	if (vd)
		vd_device_put(vd);
	kfree(msgbuf);
	/* The job runs: tell the caller its number even if that copy fails. */
	return ret ? ret : vd_copy_out(argp, &j, sizeof(j));
}

/* The device's job with a reference, or NULL; @vd_ctl_mutex held. */
static struct vd_job *vd_job_get(struct vd_device *vd)
{
	struct vd_job *job;

	mutex_lock(&vd->lock);
	job = vd->job;
	if (job)
		kref_get(&job->ref);
	mutex_unlock(&vd->lock);
	return job;
}

static struct vd_job *vd_job_find(int index, int *err)
{
	struct vd_device *vd;
	struct vd_job *job = NULL;

	mutex_lock(&vd_ctl_mutex);
	vd = vd_device_find(index, false);
	if (vd)
		job = vd_job_get(vd);
	mutex_unlock(&vd_ctl_mutex);
	*err = vd ? 0 : -ENXIO;
	return job;
}

/* What VDISK_IOC_JOB_STATUS reports of @job; its lock held. */
static void vd_job_fill_status(struct vd_job *job, struct vdisk_job_status *s)
{
	ktime_t end = job->ended ? job->ended : ktime_get();

	lockdep_assert_held(&job->lock);
	s->type = job->type;
	s->state = job->state;
	s->error = job->error;
	s->phase = job->phase;
	s->bytes_total = job->total;
	s->bytes_done = job->done_bytes;
	s->bytes_copied = job->copied;
	s->bytes_equal = job->equal;
	s->bytes_dropped = job->dropped;
	s->rate_limit = job->rate_limit;
	s->id = job->id;
	s->job_flags = job->flags;
	s->base_level = job->base_level;
	s->elapsed_ns = ktime_to_ns(ktime_sub(end, job->started));
	memcpy(s->msg, job->msg, sizeof(s->msg));
}

/*
 * Status needs no privilege (like VDISK_IOC_STATUS), so it takes no
 * reference on the job: it copies the job's state while the device's lock
 * keeps the job from being replaced or freed, and can delay nothing.
 */
long vd_ioc_job_status(void __user *argp)
{
	struct vdisk_job_status s;
	struct vd_device *vd;
	int ret;

	ret = vd_copy_in(&s, sizeof(s), argp);
	if (ret)
		return ret;
	ret = vd_check_job_status(&s);
	if (ret)
		return ret;
	s.type = VDISK_JOB_NONE;
	s.state = VDISK_JOB_IDLE;
	mutex_lock(&vd_ctl_mutex);
	vd = vd_device_find(s.index, false);
	if (vd) {
		mutex_lock(&vd->lock);
		if (vd->job) {
			spin_lock(&vd->job->lock);
			vd_job_fill_status(vd->job, &s);
			spin_unlock(&vd->job->lock);
		}
		mutex_unlock(&vd->lock);
	}
	mutex_unlock(&vd_ctl_mutex);
	if (!vd)
		return -ENXIO;
	s.msg[sizeof(s.msg) - 1] = '\0';
	return vd_copy_out(argp, &s, sizeof(s));
}

long vd_ioc_job_cancel(void __user *argp)
{
	struct vdisk_job_cancel c;
	struct vd_job *job;
	int ret;

	ret = vd_copy_in(&c, sizeof(c), argp);
	if (ret)
		return ret;
	ret = vd_check_job_cancel(&c);
	if (ret)
		return ret;
	job = vd_job_find(c.index, &ret);
	if (ret)
		return ret;
	if (!job || completion_done(&job->done)) {
		vd_job_put(job);
		return -ENOENT;
	}
	WRITE_ONCE(job->cancel, true);
	wake_up_all(&job->wake);
	ret = wait_for_completion_killable(&job->done);
	vd_job_put(job);
	return ret;
}
