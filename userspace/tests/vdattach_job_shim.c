// SPDX-License-Identifier: GPL-2.0
/*
 * vdattach_job_shim.c - LD_PRELOAD stand-in for /dev/vdisk-control that
 * plays the kernel side of the layer jobs for vdattach_job.sh: what
 * commit and rebase hand over is recorded, job progress is made up.
 *
 * Environment:
 *   VDA_SHIM_STACK  file with the stack of /dev/vd5, one "FORMAT PATH" line
 *                   per layer, top first (ATTACH writes it too)
 *   VDA_SHIM_OUT    where JOB_START, ATTACH and DETACH are recorded
 *   VDA_SHIM_JOB    ok (default), fail, hang (until cancelled), busy,
 *                   refuse
 *   VDA_SHIM_STATE  what JOB_STATUS says without a job of this process:
 *                   idle (default), running, failed
 *   VDA_SHIM_FEATURES  the features bits (default: commit and rebase)
 *   VDA_SHIM_DEVFLAGS  dev_flags of /dev/vd5 (default 0)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/vdisk.h>

#define SHIM_INDEX	5
#define SHIM_MIB	(1024 * 1024ULL)

static int ctl = -1;
static int job_polls = -1;	/* -1: no job started by this process */
static int job_cancelled;
static unsigned int job_type = VDISK_JOB_COMMIT;

static int shim_open(const char *name, const char *path, int flags, va_list ap)
{
	int (*real)(const char *, int, ...) = dlsym(RTLD_NEXT, name);
	mode_t mode = (flags & O_CREAT) ? va_arg(ap, mode_t) : 0;

	if (!strcmp(path, "/dev/" VDISK_CONTROL_NAME))
		return ctl = real("/dev/null", O_RDWR | O_CLOEXEC);
	return real(path, flags, mode);
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	int r;

	va_start(ap, flags);
	r = shim_open("open", path, flags, ap);
	va_end(ap);
	return r;
}

int open64(const char *path, int flags, ...)
{
	va_list ap;
	int r;

	va_start(ap, flags);
	r = shim_open("open64", path, flags, ap);
	va_end(ap);
	return r;
}

static const char *env(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

static FILE *out_file(void)
{
	return fopen(env("VDA_SHIM_OUT", "/dev/null"), "a");
}

static uint64_t encode_dev(dev_t dev)
{
	uint64_t ma = major(dev), mi = minor(dev);

	return (mi & 0xff) | (ma << 8) | ((mi & ~0xffULL) << 12);
}

static void fd_desc(int fd, char *buf, size_t size)
{
	char link[64], path[4096];
	int fl = fcntl(fd, F_GETFL);
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	path[n < 0 ? 0 : n] = '\0';
	snprintf(buf, size, "%s %s", (fl & O_ACCMODE) == O_RDONLY ? "ro" : "rw", path);
}

static void record_specs(FILE *out, const struct vdisk_layer_spec *l, unsigned int nr)
{
	char desc[4200];
	unsigned int i, j;

	for (i = 0; i < nr; i++) {
		fd_desc(l[i].fd, desc, sizeof(desc));
		fprintf(out, "%u %u %s\n", i, l[i].format, desc);
		for (j = 0; j < l[i].nr_extent_fds; j++) {
			fd_desc(((const int *)(uintptr_t)l[i].extent_fds)[j], desc, sizeof(desc));
			fprintf(out, "  extent %u %s\n", j, desc);
		}
	}
}

static int do_attach(struct vdisk_attach *a)
{
	const struct vdisk_layer_spec *l = (const void *)(uintptr_t)a->layers;
	FILE *out = out_file(), *st = fopen(env("VDA_SHIM_STACK", "/dev/null"), "w");
	char link[64], path[4096];
	unsigned int i;
	ssize_t n;

	fprintf(out, "attach flags %u layers %u\n", a->flags, a->nr_layers);
	record_specs(out, l, a->nr_layers);
	fclose(out);
	for (i = 0; st && i < a->nr_layers; i++) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", l[i].fd);
		n = readlink(link, path, sizeof(path) - 1);
		path[n < 0 ? 0 : n] = '\0';
		fprintf(st, "%u %s\n", l[i].format, path);
	}
	if (st)
		fclose(st);
	a->index = SHIM_INDEX;
	return 0;
}

static int do_status(struct vdisk_status *s)
{
	struct vdisk_layer_info *li = (void *)(uintptr_t)s->layers;
	FILE *st;
	char line[4200], *sp;
	unsigned int n = 0;
	struct stat sb;

	if (s->index > SHIM_INDEX || (s->index != SHIM_INDEX && !(s->flags & VDISK_STATUS_NEXT))) {
		errno = ENXIO;
		return -1;
	}
	st = fopen(env("VDA_SHIM_STACK", "/dev/null"), "r");
	while (st && fgets(line, sizeof(line), st)) {
		line[strcspn(line, "\n")] = '\0';
		sp = strchr(line, ' ');
		if (!sp || n >= s->max_layers)
			continue;
		memset(&li[n], 0, sizeof(li[n]));
		li[n].format = atoi(line);
		li[n].flags = n ? 0 : VDISK_LINFO_WRITABLE;
		if (!stat(sp + 1, &sb)) {
			li[n].file_dev = encode_dev(sb.st_dev);
			li[n].file_ino = sb.st_ino;
			li[n].virtual_size = sb.st_size;
		}
		snprintf(li[n].path, sizeof(li[n].path), "%s", sp + 1);
		n++;
	}
	if (st)
		fclose(st);
	s->index = SHIM_INDEX;
	s->nr_layers = n;
	s->capacity = 64 * SHIM_MIB;
	s->dev_flags = strtoul(env("VDA_SHIM_DEVFLAGS", "0"), NULL, 0);
	s->major = 250;
	s->minor = 0;
	return 0;
}

static int do_job_start(struct vdisk_job_start *j)
{
	const char *mode = env("VDA_SHIM_JOB", "ok");
	FILE *out = out_file();

	fprintf(out, "job type %u flags %u base %u layers %u rate %llu name %s%s%s\n",
		j->type, j->flags, j->base_level, j->nr_layers,
		(unsigned long long)j->rate_limit, j->backing_name ? "'" : "(null)",
		j->backing_name ? (const char *)(uintptr_t)j->backing_name : "",
		j->backing_name ? "'" : "");
	record_specs(out, (const void *)(uintptr_t)j->layers, j->nr_layers);
	fclose(out);
	if (!strcmp(mode, "busy")) {
		setenv("VDA_SHIM_STATE", "running", 1);
		snprintf((char *)(uintptr_t)j->msg, j->msg_size, "job: another job is running");
		errno = EBUSY;
		return -1;
	}
	if (!strcmp(mode, "refuse")) {
		snprintf((char *)(uintptr_t)j->msg, j->msg_size, "commit: shim refuses layer 1");
		errno = EINVAL;
		return -1;
	}
	job_polls = 0;
	job_type = j->type;
	return 0;
}

static void fill_status(struct vdisk_job_status *s)
{
	const char *mode = env("VDA_SHIM_JOB", "ok");
	unsigned int done;

	s->type = job_type;
	s->bytes_total = 4 * SHIM_MIB;
	s->rate_limit = 0;
	if (job_polls < 0) {
		const char *state = env("VDA_SHIM_STATE", "idle");

		if (!strcmp(state, "idle")) {
			s->type = VDISK_JOB_NONE;
			s->bytes_total = 0;
			return;
		}
		s->state = !strcmp(state, "running") ? VDISK_JOB_RUNNING : VDISK_JOB_FAILED;
		s->phase = VDISK_JOB_PHASE_COPY;
		s->bytes_done = 2 * SHIM_MIB;
		s->bytes_copied = SHIM_MIB;
		s->bytes_equal = SHIM_MIB;
		s->elapsed_ns = 1500000000ULL;
		s->rate_limit = 50 * SHIM_MIB;
		if (s->state == VDISK_JOB_FAILED) {
			s->error = -EIO;
			snprintf(s->msg, sizeof(s->msg), "layer 1: \"write\" error\nat 0x1000");
		}
		return;
	}
	done = ++job_polls < 4 ? job_polls : 4;
	s->phase = VDISK_JOB_PHASE_COPY;
	s->bytes_done = done * SHIM_MIB;
	s->bytes_copied = done * SHIM_MIB;
	s->elapsed_ns = job_polls * 250000000ULL;
	s->state = VDISK_JOB_RUNNING;
	if (job_cancelled) {
		s->state = VDISK_JOB_CANCELLED;
		s->phase = VDISK_JOB_PHASE_NONE;
	} else if (!strcmp(mode, "hang")) {
		s->bytes_done = s->bytes_copied = SHIM_MIB;
	} else if (job_polls >= 4) {
		s->phase = VDISK_JOB_PHASE_NONE;
		if (!strcmp(mode, "fail")) {
			s->state = VDISK_JOB_FAILED;
			s->error = -EIO;
			snprintf(s->msg, sizeof(s->msg), "%s: shim: boom",
				 job_type == VDISK_JOB_COMMIT ? "commit" : "rebase");
		} else {
			s->state = VDISK_JOB_DONE;
		}
	}
}

int ioctl(int fd, unsigned long req, ...)
{
	int (*real)(int, unsigned long, ...) = dlsym(RTLD_NEXT, "ioctl");
	FILE *out;
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (fd != ctl || ctl < 0)
		return real(fd, req, arg);
	switch (req) {
	case VDISK_IOC_GET_FEATURES: {
		struct vdisk_features *f = arg;

		f->abi_version = VDISK_ABI_VERSION;
		f->max_layers = VDISK_MAX_LAYERS;
		f->features = strtoull(env("VDA_SHIM_FEATURES", "0x37"), NULL, 0);
		return 0;
	}
	case VDISK_IOC_ATTACH:
		return do_attach(arg);
	case VDISK_IOC_STATUS:
		return do_status(arg);
	case VDISK_IOC_DETACH:
		out = out_file();
		fprintf(out, "detach %d flags %u\n", ((struct vdisk_detach *)arg)->index,
			((struct vdisk_detach *)arg)->flags);
		fclose(out);
		return 0;
	case VDISK_IOC_JOB_START:
		return do_job_start(arg);
	case VDISK_IOC_JOB_STATUS: {
		struct vdisk_job_status *s = arg;

		if (s->index != SHIM_INDEX) {
			errno = ENXIO;
			return -1;
		}
		fill_status(s);
		return 0;
	}
	case VDISK_IOC_JOB_CANCEL:
		if (((struct vdisk_job_cancel *)arg)->index != SHIM_INDEX) {
			errno = ENXIO;
			return -1;
		}
		if (job_polls < 0 && strcmp(env("VDA_SHIM_STATE", "idle"), "running")) {
			errno = ENOENT;
			return -1;
		}
		job_cancelled = 1;
		if (job_polls < 0)
			job_polls = 1;
		return 0;
	default:
		errno = ENOTTY;
		return -1;
	}
}
