// SPDX-License-Identifier: GPL-2.0
/*
 * vdattach_job.c - commit, rebase, job and cancel: layer jobs the kernel
 * runs on a live device while it goes on serving I/O (issue #7).
 *
 *   commit [-b BASE] [-d] DEV|IMAGE   the top (and the layers down to BASE)
 *                                     into BASE, as qemu-img commit
 *   rebase -b NEW [-F FMT] [-u|--dedup] DEV|IMAGE
 *                                     the top onto NEW's chain, as
 *                                     qemu-img rebase
 *   job [-J] DEV, cancel DEV          the last job's status; stop it
 *
 * vdattach does what the kernel must not: it finds files by their names.
 * A commit's BASE is found in the live stack by st_dev/st_ino, reopened for
 * writing and handed over with the name the top records for its backing
 * file afterwards; a rebase's NEW is opened relative to the top's directory
 * with its whole backing chain, read-only, exactly as attach opens one.
 * The kernel checks that the files are the ones it holds, copies, and
 * switches the stack.
 *
 * The IMAGE form (the argument is a regular file) attaches IMAGE with its
 * chain for the job and detaches it afterwards, for those who think in
 * qemu-img terms.  The job belongs to the device, not to this process:
 * vdattach polls its status, and on SIGINT or SIGTERM cancels it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vdattach.h"

#define VDA_JOB_POLL_MS		200	/* status polls, progress redraws */
#define VDA_DETACH_TRIES	25	/* x VDA_JOB_POLL_MS: udev's probe of
					 * the new device may hold it open */

/* The one piece of global state: which signal asked us to stop. */
static volatile sig_atomic_t vda_job_signal;

static void vda_job_on_signal(int sig)
{
	vda_job_signal = sig;
}

/* SIGINT and SIGTERM only set the flag (no SA_RESTART: sleeps end). */
static void vda_job_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = vda_job_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static void vda_job_sleep(void)
{
	const struct timespec step = { 0, VDA_JOB_POLL_MS * 1000000L };

	nanosleep(&step, NULL);
}

/**
 * struct vda_job_opts - the commit or rebase command line
 * @cmd:            "commit" or "rebase"
 * @type:           VDISK_JOB_COMMIT or VDISK_JOB_REBASE
 * @flags:          VDISK_JOB_*
 * @target:         DEV or IMAGE
 * @base:           commit -b BASE, or NULL for the top's backing file
 * @backing:        rebase -b NEW ("" to flatten)
 * @backing_format: rebase -F, or VDISK_FMT_NONE to probe NEW
 * @progress:       -p
 * @rate:           -r, bytes per second, 0 for no limit
 */
struct vda_job_opts {
	const char *cmd;
	uint32_t type;
	uint32_t flags;
	const char *target;
	const char *base;
	const char *backing;
	unsigned int backing_format;
	bool progress;
	uint64_t rate;
};

/**
 * struct vda_job_dev - the device a job runs on
 * @index:    N of /dev/vdN
 * @name:     "/dev/vdN"
 * @label:    what messages and the last line call it: @name, or IMAGE in
 *            the IMAGE form
 * @image_form: the argument was an image, not a device
 * @attached: the IMAGE form: attached by this command, detached at the end
 * @top_path: the top layer's file: IMAGE as given, else the kernel's path
 * @top_path_alloc: @top_path when it was allocated here
 * @st:       VDISK_IOC_STATUS of the device
 * @chain:    the files of the stack as vdattach reads them (names the
 *            headers record), or of IMAGE in the IMAGE form
 * @new_path: rebase: the path NEW was opened by, allocated
 */
struct vda_job_dev {
	int index;
	char name[32];
	const char *label;
	bool image_form;
	bool attached;
	const char *top_path;
	char *top_path_alloc;
	struct vda_status st;
	struct vda_chain chain;
	char *new_path;
};

static unsigned int vda_live_layers(const struct vda_job_dev *d)
{
	return d->st.st.nr_layers < VDISK_MAX_LAYERS ? d->st.st.nr_layers : VDISK_MAX_LAYERS;
}

static bool vda_same_file(const struct vdisk_layer_info *li, dev_t dev, ino_t ino)
{
	return li->file_dev == vda_encode_dev(dev) && li->file_ino == (uint64_t)ino;
}

/* ---- command lines ---- */

static const char vda_commit_usage[] =
"Usage: vdattach commit [options] DEV|IMAGE\n"
"\n"
"Copy what the top layer of DEV (/dev/vdN, vdN or N) holds into a layer\n"
"below it while the device stays in use: into the top's backing file, or\n"
"with -b into BASE, dropping the layers in between from the stack.  IMAGE\n"
"(a regular file) is attached with its backing chain for the job and\n"
"detached afterwards.\n"
"\n"
"Options:\n"
"  -b, --base BASE          commit into BASE, a backing file of the top\n"
"                           (default: the top's own backing file)\n"
"  -d, --empty-top          empty the top once its data is in BASE (the\n"
"                           opposite of qemu-img commit -d)\n"
"  -p, --progress           draw a progress bar on standard error\n"
"  -r, --rate-limit RATE    read at most RATE bytes per second; K, M, G\n"
"                           and T are 1024-based (50M)\n"
"  -h, --help               show this help\n"
"\n"
"Every other image that has BASE below it shows the committed data too.\n"
"\n"
"Exit status: 0 done, 1 usage error, 2 failed, 3 a job is already\n"
"running, 4 no such device, 130 cancelled (SIGINT, SIGTERM, cancel).\n";

static const char vda_rebase_usage[] =
"Usage: vdattach rebase -b NEW [options] DEV|IMAGE\n"
"\n"
"Put the top layer of DEV (/dev/vdN, vdN or N) onto the backing chain of\n"
"NEW while the device stays in use.  What the old chain shows and NEW's\n"
"does not is copied into the top first, so the device's contents stay\n"
"the same.  NEW is recorded in the top's header as given and opened\n"
"relative to the top's directory unless absolute; -b \"\" removes the\n"
"backing file (everything is copied up).  IMAGE (a regular file) is\n"
"attached with its backing chain for the job and detached afterwards.\n"
"\n"
"Options:\n"
"  -b, --backing NEW          the new backing file, \"\" for none\n"
"  -F, --backing-format FMT   format of NEW: raw, qcow2 or vmdk (default:\n"
"                             recognised from its content)\n"
"  -u, --unsafe               only change the name in the header and the\n"
"                             stack, copy nothing: NEW must show what the\n"
"                             old chain shows\n"
"      --dedup                also drop from the top what NEW's chain holds\n"
"                             equally (make the top a true difference)\n"
"  -p, --progress             draw a progress bar on standard error\n"
"  -r, --rate-limit RATE      read at most RATE bytes per second; K, M, G\n"
"                             and T are 1024-based (50M)\n"
"  -h, --help                 show this help\n"
"\n"
"Exit status: 0 done, 1 usage error, 2 failed, 3 a job is already\n"
"running, 4 no such device, 130 cancelled (SIGINT, SIGTERM, cancel).\n";

enum { VDA_OPT_DEDUP = 0x100 };

static const struct option vda_commit_options[] = {
	{ "base",		required_argument,	NULL, 'b' },
	{ "empty-top",		no_argument,		NULL, 'd' },
	{ "progress",		no_argument,		NULL, 'p' },
	{ "rate-limit",		required_argument,	NULL, 'r' },
	{ "help",		no_argument,		NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static const struct option vda_rebase_options[] = {
	{ "backing",		required_argument,	NULL, 'b' },
	{ "backing-format",	required_argument,	NULL, 'F' },
	{ "unsafe",		no_argument,		NULL, 'u' },
	{ "dedup",		no_argument,		NULL, VDA_OPT_DEDUP },
	{ "progress",		no_argument,		NULL, 'p' },
	{ "rate-limit",		required_argument,	NULL, 'r' },
	{ "help",		no_argument,		NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static int vda_job_rate_option(const char *cmd, const char *arg, uint64_t *rate)
{
	int ret = vda_parse_rate(arg, rate);

	if (ret == -ERANGE)
		return vda_usage_error(cmd, "rate '%s' is too large", arg);
	if (ret)
		return vda_usage_error(cmd, "invalid rate '%s' (bytes per second, "
				       "K/M/G/T suffix, e.g. 50M)", arg);
	return VDA_EXIT_OK;
}

/* One option of commit or rebase; returns an exit code. */
static int vda_job_option(struct vda_job_opts *o, int c)
{
	bool commit = o->type == VDISK_JOB_COMMIT;

	switch (c) {
	case 'b':
		if (commit) {
			if (!optarg[0])
				return vda_usage_error(o->cmd, "empty base name");
			o->base = optarg;
		} else {
			o->backing = optarg;
		}
		return VDA_EXIT_OK;
	case 'd':
		o->flags |= VDISK_JOB_EMPTY_TOP;
		return VDA_EXIT_OK;
	case 'F':
		if (!vda_parse_format(optarg, &o->backing_format))
			return vda_usage_error(o->cmd, "unknown format '%s' (raw, qcow2, vmdk)",
					       optarg);
		return VDA_EXIT_OK;
	case 'u':
		o->flags |= VDISK_JOB_UNSAFE;
		return VDA_EXIT_OK;
	case VDA_OPT_DEDUP:
		o->flags |= VDISK_JOB_DEDUP;
		return VDA_EXIT_OK;
	case 'p':
		o->progress = true;
		return VDA_EXIT_OK;
	case 'r':
		return vda_job_rate_option(o->cmd, optarg, &o->rate);
	default:
		return vda_try_help(o->cmd);
	}
}

/* Returns VDA_CONTINUE when the job should run, else an exit code. */
static int vda_parse_job_args(int argc, char **argv, struct vda_job_opts *o)
{
	bool commit = o->type == VDISK_JOB_COMMIT;
	int c, ret;

	while ((c = getopt_long(argc, argv, commit ? "b:dpr:h" : "b:F:upr:h",
				commit ? vda_commit_options : vda_rebase_options,
				NULL)) != -1) {
		if (c == 'h') {
			fputs(commit ? vda_commit_usage : vda_rebase_usage, stdout);
			return VDA_EXIT_OK;
		}
		ret = vda_job_option(o, c);
		if (ret)
			return ret;
	}
	if (!commit && !o->backing)
		return vda_usage_error(o->cmd, "no new backing file given (-b NEW, "
				       "or -b \"\" for none)");
	if ((o->flags & VDISK_JOB_UNSAFE) && (o->flags & VDISK_JOB_DEDUP))
		return vda_usage_error(o->cmd, "--unsafe and --dedup exclude each other");
	if (!commit && !o->backing[0] && o->backing_format != VDISK_FMT_NONE)
		return vda_usage_error(o->cmd, "--backing-format without a backing file");
	if (optind == argc)
		return vda_usage_error(o->cmd, "no device or image given");
	if (optind + 1 < argc)
		return vda_usage_error(o->cmd, "one device or image only; unexpected '%s'",
				       argv[optind + 1]);
	o->target = argv[optind];
	return VDA_CONTINUE;
}

/* ---- the device ---- */

static int vda_job_check_feature(int ctl, const struct vda_job_opts *o)
{
	uint64_t bit = o->type == VDISK_JOB_COMMIT ? VDISK_FEAT_COMMIT : VDISK_FEAT_REBASE;
	struct vdisk_features f;
	int ret;

	ret = vda_ioc_features(ctl, &f);
	if (ret)
		return vda_fail(VDATTACH_CONTROL_PATH, -ret);
	if (f.features & bit)
		return VDA_EXIT_OK;
	vda_warn(NULL, "the loaded vdisk driver cannot %s (see 'vdattach features')", o->cmd);
	return VDA_EXIT_FAILURE;
}

/* VDISK_IOC_STATUS into @d->st; an exit code, the reason printed. */
static int vda_job_device_status(int ctl, struct vda_job_dev *d)
{
	int ret = vda_ioc_status(ctl, d->index, false, &d->st);

	if (!ret)
		return VDA_EXIT_OK;
	if (ret == -ENXIO) {
		vda_warn(d->name, "no such device");
		return VDA_EXIT_NOT_FOUND;
	}
	return vda_fail(d->name, -ret);
}

/* The device must be writable and free of another job. */
static int vda_job_check_device(const struct vda_job_opts *o, const struct vda_job_dev *d)
{
	if (d->st.st.dev_flags & VDISK_DEV_JOB_RUNNING) {
		vda_warn(NULL, "a job is already running on %s", d->name);
		return VDA_EXIT_BUSY;
	}
	if (d->st.st.dev_flags & VDISK_DEV_READ_ONLY) {
		vda_warn(d->label, "attached read-only; a %s writes to it", o->cmd);
		return VDA_EXIT_FAILURE;
	}
	if (!vda_live_layers(d)) {
		vda_warn(d->label, "the driver reports no layers");
		return VDA_EXIT_FAILURE;
	}
	return VDA_EXIT_OK;
}

/*
 * The IMAGE form, before attaching: IMAGE must be writable (attach would
 * fall back to read-only) and not the top of a device already, whose job
 * it would be.  Another device reading it below its own top is only
 * warned about, as attach does.
 */
static int vda_job_image_usable(int ctl, const struct vda_job_opts *o, const struct stat *img)
{
	static struct vda_status s;
	unsigned int i, n;
	int next = 0, fd;

	fd = open(o->target, O_RDWR | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		vda_warn(o->target, "cannot be opened for writing: %s", strerror(errno));
		return VDA_EXIT_FAILURE;
	}
	close(fd);
	while (!vda_ioc_status(ctl, next, true, &s)) {
		n = s.st.nr_layers < VDISK_MAX_LAYERS ? s.st.nr_layers : VDISK_MAX_LAYERS;
		for (i = 0; i < n; i++) {
			if (!vda_same_file(&s.layer[i], img->st_dev, img->st_ino))
				continue;
			if (i == 0) {
				vda_warn(o->target, "already attached as /dev/" VDISK_DISK_PREFIX
					 "%d; run 'vdattach %s' on that device", s.st.index, o->cmd);
				return VDA_EXIT_BUSY;
			}
			vda_warn(o->target, "warning: also a backing file of /dev/"
				 VDISK_DISK_PREFIX "%d (layer %u)", s.st.index, i);
		}
		next = s.st.index + 1;
	}
	return VDA_EXIT_OK;
}

static int vda_rebase_open_new(const struct vda_job_opts *o, struct vda_job_dev *d,
			       struct vda_chain *nc);

/*
 * The IMAGE form: attach IMAGE read-write with its chain, as attach does.
 * A rebase's NEW is opened first: a NEW that cannot be used is refused
 * before anything is attached.
 */
static int vda_job_attach_image(int ctl, const struct vda_job_opts *o, const struct stat *img,
				struct vda_job_dev *d, struct vda_chain *layers)
{
	struct vda_chain_opts co = {
		.cmd = o->cmd,
		.image = o->target,
		.try_write = true,
	};
	int ret;

	ret = vda_job_image_usable(ctl, o, img);
	if (ret)
		return ret;
	ret = vda_resolve_chain(&co, &d->chain);
	if (ret)
		return ret;
	if (co.read_only) {
		vda_warn(o->target, "cannot be opened for writing; a %s writes to it", o->cmd);
		return VDA_EXIT_FAILURE;
	}
	if (o->type == VDISK_JOB_COMMIT && d->chain.nr < 2) {
		vda_warn(o->target, "has no backing file to commit into");
		return VDA_EXIT_FAILURE;
	}
	if (o->type == VDISK_JOB_REBASE) {
		/* the top as the kernel will describe it, for the loop check */
		d->st.layer[0].file_dev = vda_encode_dev(img->st_dev);
		d->st.layer[0].file_ino = img->st_ino;
		ret = vda_rebase_open_new(o, d, layers);
		if (ret)
			return ret;
	}
	ret = vda_attach_image_chain(ctl, o->target, &d->chain, &d->index);
	if (ret)
		return ret;
	d->attached = true;
	vda_device_path(d->index, d->name, sizeof(d->name));
	return vda_job_device_status(ctl, d);
}

/*
 * DEV or IMAGE: fills @d; in the IMAGE form attaches it.  Returns an exit
 * code, the reason printed.
 */
static int vda_job_open_target(int ctl, const struct vda_job_opts *o, struct vda_job_dev *d,
			       struct vda_chain *layers)
{
	struct stat st;
	int ret;

	d->index = -1;
	d->label = o->target;
	if (stat(o->target, &st) == 0 && S_ISREG(st.st_mode)) {
		d->top_path = o->target;
		d->image_form = true;
		return vda_job_attach_image(ctl, o, &st, d, layers);
	}
	ret = vda_resolve_device(ctl, o->target, &d->index);
	if (ret)
		return ret;
	vda_device_path(d->index, d->name, sizeof(d->name));
	d->label = d->name;
	ret = vda_job_device_status(ctl, d);
	if (ret)
		return ret;
	ret = vda_job_check_device(o, d);
	if (ret)
		return ret;
	d->top_path_alloc = strdup(vda_layer_path(&d->st, 0));
	if (!d->top_path_alloc)
		return vda_fail(d->name, ENOMEM);
	d->top_path = d->top_path_alloc;
	return VDA_EXIT_OK;
}

/*
 * The stack's files as the headers on disk describe them: the chain of the
 * top's path, with the formats the kernel serves (they were checked
 * against the headers at attach), checked layer by layer against the
 * kernel's st_dev/st_ino.  What commit needs to know the recorded names.
 */
static int vda_job_read_chain(const struct vda_job_opts *o, struct vda_job_dev *d)
{
	static unsigned int formats[VDISK_MAX_LAYERS - 1];
	unsigned int i, n = vda_live_layers(d);
	struct vda_chain_opts co = {
		.cmd = o->cmd,
		.image = d->top_path,
		.format = d->st.layer[0].format,
		.backing_format = formats,
		.nr_backing_formats = n - 1,
		.read_only = true,
		.force_parent_cid = true,
	};
	int ret;

	if (!d->attached) {
		for (i = 1; i < n; i++)
			formats[i - 1] = d->st.layer[i].format;
		ret = vda_resolve_chain(&co, &d->chain);
		if (ret)
			return ret;
	}
	for (i = 0; i < n; i++) {
		const struct vda_layer *l = &d->chain.layer[i];

		if (i < d->chain.nr && vda_same_file(&d->st.layer[i], l->dev, l->ino))
			continue;
		vda_warn(d->label, "layer %u in the kernel is '%s', but the chain of '%s' on "
			 "disk has %s%s%s there (a file renamed or replaced since the attach?)",
			 i, vda_printable(vda_layer_path(&d->st, i)), vda_show(d->top_path),
			 i < d->chain.nr ? "'" : "no layer",
			 i < d->chain.nr ? vda_show(l->path) : "", i < d->chain.nr ? "'" : "");
		return VDA_EXIT_FAILURE;
	}
	if (d->chain.nr != n) {
		vda_warn(d->label, "the chain of '%s' on disk has %u layers, the kernel %u",
			 vda_show(d->top_path), d->chain.nr, n);
		return VDA_EXIT_FAILURE;
	}
	return VDA_EXIT_OK;
}

/* Warn that devices other than ours read the file a commit writes. */
static void vda_job_warn_shared(int ctl, const struct vda_job_dev *d, const char *path,
				const struct vda_layer *l)
{
	static struct vda_status s;
	unsigned int i, n;
	int next = 0;

	while (!vda_ioc_status(ctl, next, true, &s)) {
		n = s.st.nr_layers < VDISK_MAX_LAYERS ? s.st.nr_layers : VDISK_MAX_LAYERS;
		for (i = 0; i < n && s.st.index != d->index; i++)
			if (vda_same_file(&s.layer[i], l->dev, l->ino))
				vda_warn(vda_show(path), "warning: also layer %u of /dev/"
					 VDISK_DISK_PREFIX "%d, which shows the committed data "
					 "from now on", i, s.st.index);
		next = s.st.index + 1;
	}
}

/* ---- commit ---- */

/*
 * The level of -b BASE in the live stack, matched by st_dev/st_ino: BASE
 * as a path (relative to the working directory), else, as qemu-img finds
 * it, relative to the top's directory.  @path: the name that matched.
 */
static int vda_commit_find_base(const struct vda_job_opts *o, const struct vda_job_dev *d,
				unsigned int *level, char **path)
{
	unsigned int i, c, n = vda_live_layers(d);
	char *cand[2] = { NULL, NULL };
	bool any_stat = false;
	struct stat st;
	int err = 0;

	if (n < 2) {
		vda_warn(d->label, "has no backing file to commit into");
		return VDA_EXIT_FAILURE;
	}
	if (!o->base) {
		*level = 1;
		*path = strdup(d->chain.layer[1].path);
		return *path ? VDA_EXIT_OK : vda_fail(d->label, ENOMEM);
	}
	cand[0] = strdup(o->base);
	if (o->base[0] != '/' && strchr(d->top_path, '/'))
		cand[1] = vda_backing_path(d->top_path, o->base);
	if (!cand[0] || (o->base[0] != '/' && strchr(d->top_path, '/') && !cand[1])) {
		free(cand[0]);
		free(cand[1]);
		return vda_fail(d->label, ENOMEM);
	}
	for (c = 0; c < 2; c++) {
		if (!cand[c] || stat(cand[c], &st) < 0) {
			err = err ? err : errno;
			continue;
		}
		any_stat = true;
		for (i = 0; i < n; i++) {
			if (!vda_same_file(&d->st.layer[i], st.st_dev, st.st_ino))
				continue;
			if (i == 0) {
				vda_warn(o->base, "is the top layer of %s; commit into one of "
					 "its backing files", d->label);
				free(cand[0]);
				free(cand[1]);
				return VDA_EXIT_FAILURE;
			}
			*level = i;
			*path = cand[c];
			free(cand[!c]);
			return VDA_EXIT_OK;
		}
	}
	free(cand[0]);
	free(cand[1]);
	if (!any_stat)
		vda_warn(o->base, "%s", strerror(err));
	else
		vda_warn(o->base, "not a backing file of %s (see 'vdattach status %s')",
			 d->label, d->name);
	return VDA_EXIT_FAILURE;
}

/* stat() of the directory @path is in. */
static int vda_stat_dir_of(const char *path, struct stat *st)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int ret;

	if (!slash)
		return stat(".", st);
	if (slash == path)
		return stat("/", st);
	dir = strndup(path, slash - path);
	if (!dir)
		return -1;
	ret = stat(dir, st);
	free(dir);
	return ret;
}

/* realpath() of the directory @path is in, allocated. */
static char *vda_real_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir, *real;

	if (!slash)
		return realpath(".", NULL);
	if (slash == path)
		return strdup("/");
	dir = strndup(path, slash - path);
	if (!dir)
		return NULL;
	real = realpath(dir, NULL);
	free(dir);
	return real;
}

/*
 * The backing file name the top records after committing into @level.
 * Into its own backing file: the name it records now (the kernel rewrites
 * it, so that a vmdk's parentCID follows the base's new CID).  Past
 * intermediate layers: the name the layer above BASE records for it, if
 * that is absolute or that layer is in the top's directory (the name means
 * the same file from there), else BASE's path relative to the top's
 * directory, or absolute where there is no such relative path.
 */
static char *vda_commit_backing_name(const struct vda_job_dev *d, unsigned int level)
{
	const struct vda_layer *top = &d->chain.layer[0], *above = &d->chain.layer[level - 1];
	const struct vda_layer *base = &d->chain.layer[level];
	struct stat st_top, st_above;
	char *top_dir, *base_real, *name;

	if (level == 1 || base->named[0] == '/')
		return strdup(base->named);
	if (!vda_stat_dir_of(top->path, &st_top) && !vda_stat_dir_of(above->path, &st_above) &&
	    st_top.st_dev == st_above.st_dev && st_top.st_ino == st_above.st_ino)
		return strdup(base->named);
	base_real = realpath(base->path, NULL);
	if (!base_real)
		return NULL;
	top_dir = vda_real_dir_of(top->path);
	if (!top_dir)
		return base_real;
	name = vda_relative_path(top_dir, base_real);
	free(top_dir);
	if (!name)
		return base_real;
	free(base_real);
	return name;
}

/* ---- starting and waiting ---- */

/*
 * VDISK_IOC_JOB_START with @layers (the commit's target, or the rebase's
 * new chain).  Refusals are printed with the kernel's message, as attach
 * prints them.  Returns an exit code.
 */
static int vda_job_start(int ctl, const struct vda_job_opts *o, const struct vda_job_dev *d,
			 unsigned int base_level, const struct vda_chain *layers,
			 const char *backing_name)
{
	static struct vdisk_layer_spec specs[VDISK_MAX_LAYERS];
	struct vdisk_job_status js;
	char msg[VDISK_MSG_MAX] = "";
	struct vdisk_job_start j;
	unsigned int i;
	int ret;

	memset(specs, 0, sizeof(specs));
	for (i = 0; i < layers->nr; i++) {
		specs[i].fd = layers->layer[i].fd;
		specs[i].format = layers->layer[i].format;
		specs[i].nr_extent_fds = layers->layer[i].nr_extent_fds;
		specs[i].extent_fds = (uintptr_t)layers->layer[i].extent_fds;
	}
	memset(&j, 0, sizeof(j));
	j.flags = o->flags;
	j.index = d->index;
	j.type = o->type;
	j.base_level = base_level;
	j.nr_layers = layers->nr;
	j.layers = layers->nr ? (uintptr_t)specs : 0;
	j.layer_spec_size = sizeof(specs[0]);
	j.msg_size = sizeof(msg);
	j.msg = (uintptr_t)msg;
	j.rate_limit = o->rate;
	j.backing_name = (uintptr_t)backing_name;
	ret = vda_ioc_job_start(ctl, &j);
	if (!ret)
		return VDA_EXIT_OK;
	msg[sizeof(msg) - 1] = '\0';
	if (ret == -EBUSY && !vda_ioc_job_status(ctl, d->index, &js) &&
	    js.state == VDISK_JOB_RUNNING) {
		vda_warn(NULL, "a job is already running on %s", d->name);
		return VDA_EXIT_BUSY;
	}
	if (msg[0])
		vda_warn(d->label, "%s", vda_show(msg));
	else
		vda_fail(d->label, -ret);
	if (ret == -ENOTTY)
		vda_warn(NULL, "hint: the loaded vdisk driver has no layer jobs");
	if (ret == -EBUSY)
		return VDA_EXIT_BUSY;
	return ret == -ENXIO ? VDA_EXIT_NOT_FOUND : VDA_EXIT_FAILURE;
}

/* CANCEL, through any further signal; -ENOENT: it had ended already. */
static int vda_job_cancel_now(int ctl, int index)
{
	int ret;

	while ((ret = vda_ioc_job_cancel(ctl, index)) == -EINTR)
		;
	return ret;
}

/*
 * Poll the job until it is no longer running; with -p redraw the progress
 * line each time.  A signal cancels it (once).  @s: the last status.
 */
static int vda_job_wait(int ctl, const struct vda_job_opts *o, const struct vda_job_dev *d,
			struct vdisk_job_status *s)
{
	bool cancelled = false, drawn = false;
	char line[256];
	int ret;

	for (;;) {
		if (vda_job_signal && !cancelled) {
			cancelled = true;
			ret = vda_job_cancel_now(ctl, d->index);
			if (ret && ret != -ENOENT) {
				if (drawn)
					fputc('\n', stderr);
				drawn = false;
				vda_warn(d->label, "cancel: %s", strerror(-ret));
			}
		}
		ret = vda_ioc_job_status(ctl, d->index, s);
		if (ret) {
			if (drawn)
				fputc('\n', stderr);
			vda_warn(d->label, "job status: %s", strerror(-ret));
			return vda_exit_for_errno(-ret);
		}
		if (o->progress) {
			vda_job_progress_line(s, line, sizeof(line));
			fprintf(stderr, "\r%s", line);
			fflush(stderr);
			drawn = true;
		}
		if (s->state != VDISK_JOB_RUNNING)
			break;
		vda_job_sleep();
	}
	if (drawn)
		fputc('\n', stderr);
	return VDA_EXIT_OK;
}

/*
 * A failed job: "the kernel's message: strerror" (the driver's messages
 * name the job: "commit: reading ... at ...: error -5"), or "commit
 * failed: strerror" without one.
 */
static void vda_job_print_failure(const char *what, const struct vdisk_job_status *s)
{
	int err = s->error < 0 ? -s->error : s->error;
	const char *text = err ? strerror(err) : "no error code";
	char msg[VDISK_JOB_MSG_MAX];

	memcpy(msg, s->msg, sizeof(msg));
	msg[sizeof(msg) - 1] = '\0';
	if (msg[0])
		vda_warn(what, "%s: %s", vda_show(msg), text);
	else
		vda_warn(what, "%s failed: %s", vda_job_type_name(s->type), text);
}

/* The last line, and the exit code of the job's end. */
static int vda_job_report(const char *cmd, const char *label, const struct vdisk_job_status *s)
{
	char line[PATH_MAX + 256];

	switch (s->state) {
	case VDISK_JOB_DONE:
	case VDISK_JOB_CANCELLED:
		vda_job_summary(cmd, vda_show(label), s, line, sizeof(line));
		printf("%s\n", line);
		return s->state == VDISK_JOB_DONE ? VDA_EXIT_OK : VDA_EXIT_CANCELLED;
	case VDISK_JOB_FAILED:
		vda_job_print_failure(label, s);
		return VDA_EXIT_FAILURE;
	default:
		vda_warn(label, "the job ended in state %s", vda_job_state_name(s->state));
		return VDA_EXIT_FAILURE;
	}
}

/* The IMAGE form's end: detach, waiting out udev's probe of the device. */
static int vda_job_detach(int ctl, const struct vda_job_dev *d)
{
	unsigned int i;
	int ret;

	for (i = 0; i < VDA_DETACH_TRIES; i++) {
		ret = vda_ioc_detach(ctl, d->index, false);
		if (ret != -EBUSY)
			break;
		vda_job_sleep();
	}
	if (ret == -EBUSY) {
		ret = vda_ioc_detach(ctl, d->index, true);
		if (!ret)
			vda_warn(d->name, "warning: still open; it detaches on its last close");
	}
	return ret ? vda_fail(d->name, -ret) : VDA_EXIT_OK;
}

/* ---- rebase ---- */

/*
 * In the DEV form, NEW relative to the top's directory needs the top's
 * path to still name the top's file.
 */
static int vda_rebase_check_top_path(const struct vda_job_opts *o, const struct vda_job_dev *d)
{
	struct stat st;

	if (d->image_form || !o->backing[0] || o->backing[0] == '/')
		return VDA_EXIT_OK;
	if (!stat(d->top_path, &st) && vda_same_file(&d->st.layer[0], st.st_dev, st.st_ino))
		return VDA_EXIT_OK;
	vda_warn(d->label, "'%s' is not the top layer's file any more; give NEW as an "
		 "absolute path", vda_printable(d->top_path));
	return VDA_EXIT_FAILURE;
}

/*
 * NEW and its backing chain, opened read-only exactly as attach opens a
 * chain (NEW's format from -F or probed, the rest from the headers), into
 * @nc; the path it was opened by in @d->new_path.
 */
static int vda_rebase_open_new(const struct vda_job_opts *o, struct vda_job_dev *d,
			       struct vda_chain *nc)
{
	char **new_path = &d->new_path;

	struct vda_chain_opts co = {
		.cmd = o->cmd,
		.format = o->backing_format,
		.read_only = true,
	};
	unsigned int i;
	int ret;

	if (!o->backing[0])
		return VDA_EXIT_OK;
	if (vda_name_has_protocol(o->backing)) {
		vda_warn(vda_show(o->backing), "not a local file; name the file with a path");
		return VDA_EXIT_FAILURE;
	}
	ret = vda_rebase_check_top_path(o, d);
	if (ret)
		return ret;
	*new_path = vda_backing_path(d->top_path, o->backing);
	if (!*new_path)
		return vda_fail(d->label, ENOMEM);
	co.image = *new_path;
	ret = vda_resolve_chain(&co, nc);
	if (ret)
		return ret;
	for (i = 0; i < nc->nr; i++) {
		if (!vda_same_file(&d->st.layer[0], nc->layer[i].dev, nc->layer[i].ino))
			continue;
		vda_warn(vda_show(*new_path), "its backing chain contains the image being "
			 "rebased ('%s')", vda_show(nc->layer[i].path));
		return VDA_EXIT_FAILURE;
	}
	return VDA_EXIT_OK;
}

/* ---- commit and rebase ---- */

/* Everything between the opened device and the job's start. */
static int vda_job_prepare_and_start(int ctl, const struct vda_job_opts *o,
				     struct vda_job_dev *d, struct vda_chain *layers)
{
	unsigned int level = 0;
	char *path = NULL, *name = NULL;
	int ret;

	if (o->type == VDISK_JOB_COMMIT) {
		ret = vda_job_read_chain(o, d);
		if (!ret)
			ret = vda_commit_find_base(o, d, &level, &path);
		if (!ret) {
			layers->nr = 1;
			ret = vda_open_layer_rw(&layers->layer[0], path,
						d->st.layer[level].format);
		}
		if (!ret && !vda_same_file(&d->st.layer[level], layers->layer[0].dev,
					   layers->layer[0].ino)) {
			vda_warn(vda_show(path), "changed while it was opened");
			ret = VDA_EXIT_FAILURE;
		}
		if (!ret) {
			name = vda_commit_backing_name(d, level);
			if (!name)
				ret = vda_fail(vda_show(path), errno ? errno : ENOMEM);
		}
		if (!ret)
			vda_job_warn_shared(ctl, d, path, &layers->layer[0]);
	} else {
		/* the IMAGE form opened NEW before attaching */
		ret = d->image_form ? VDA_EXIT_OK : vda_rebase_open_new(o, d, layers);
		if (!ret) {
			name = strdup(o->backing);
			if (!name)
				ret = vda_fail(d->label, ENOMEM);
		}
	}
	if (!ret && vda_job_signal) {
		vda_warn(d->label, "interrupted before the %s started", o->cmd);
		ret = VDA_EXIT_CANCELLED;
	}
	if (!ret)
		ret = vda_job_start(ctl, o, d, level, layers, name);
	free(path);
	free(name);
	return ret;
}

static int vda_run_job(int argc, char **argv, struct vda_job_opts *o)
{
	static struct vda_job_dev d;
	static struct vda_chain layers;
	struct vdisk_job_status s;
	int ctl, ret, detached;

	ret = vda_parse_job_args(argc, argv, o);
	if (ret != VDA_CONTINUE)
		return ret;
	ctl = vda_open_control();
	if (ctl < 0)
		return VDA_EXIT_FAILURE;
	ret = vda_job_check_feature(ctl, o);
	if (ret) {
		close(ctl);
		return ret;
	}
	vda_job_catch_signals();
	memset(&d.st, 0, sizeof(d.st));
	vda_chain_init(&d.chain);
	vda_chain_init(&layers);
	ret = vda_job_open_target(ctl, o, &d, &layers);
	if (!ret)
		ret = vda_job_prepare_and_start(ctl, o, &d, &layers);
	/* The kernel holds its own references to the files now. */
	vda_chain_close(&layers);
	vda_chain_close(&d.chain);
	if (!ret)
		ret = vda_job_wait(ctl, o, &d, &s);
	if (!ret)
		ret = vda_job_report(o->cmd, d.label, &s);
	if (d.attached) {
		detached = vda_job_detach(ctl, &d);
		ret = ret ? ret : detached;
	}
	free(d.top_path_alloc);
	free(d.new_path);
	close(ctl);
	return ret;
}

int vda_cmd_commit(int argc, char **argv)
{
	struct vda_job_opts o = { .cmd = "commit", .type = VDISK_JOB_COMMIT };

	return vda_run_job(argc, argv, &o);
}

int vda_cmd_rebase(int argc, char **argv)
{
	struct vda_job_opts o = { .cmd = "rebase", .type = VDISK_JOB_REBASE };

	return vda_run_job(argc, argv, &o);
}

/* ---- job ---- */

static const char vda_jobst_usage[] =
"Usage: vdattach job [options] DEV\n"
"\n"
"Show the last layer job (commit or rebase) of DEV (/dev/vdN, vdN or N):\n"
"its state, phase and progress, the bytes copied, found equal and\n"
"dropped, and why it failed.\n"
"\n"
"Options:\n"
"  -J, --json         print JSON\n"
"  -h, --help         show this help\n";

static void vda_job_field(const char *label, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void vda_job_field(const char *label, const char *fmt, ...)
{
	va_list ap;

	printf("  %-13s", label);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void vda_job_bytes(const char *label, uint64_t bytes)
{
	char human[16];

	vda_short_size(bytes, human, sizeof(human));
	vda_job_field(label, "%s (%" PRIu64 " bytes)", human, bytes);
}

static void vda_print_job(const char *name, const struct vdisk_job_status *s)
{
	int err = s->error < 0 ? -s->error : s->error;
	char rate[16];

	printf("%s:\n", name);
	vda_job_field("type:", "%s", vda_job_type_name(s->type));
	vda_job_field("state:", "%s", vda_job_state_name(s->state));
	if (s->state == VDISK_JOB_IDLE)
		return;
	vda_job_field("phase:", "%s", vda_job_phase_name(s->phase));
	vda_job_field("progress:", "%.1f%%", vda_job_percent(s));
	vda_job_bytes("total:", s->bytes_total);
	vda_job_bytes("done:", s->bytes_done);
	vda_job_bytes("copied:", s->bytes_copied);
	vda_job_bytes("equal:", s->bytes_equal);
	vda_job_bytes("dropped:", s->bytes_dropped);
	vda_job_field("elapsed:", "%.2f s (%.1f MiB/s)", (double)s->elapsed_ns / 1e9,
		      vda_job_mib_per_s(s));
	if (s->rate_limit) {
		vda_short_size(s->rate_limit, rate, sizeof(rate));
		vda_job_field("rate limit:", "%s/s (%" PRIu64 " bytes/s)", rate,
			      (uint64_t)s->rate_limit);
	} else {
		vda_job_field("rate limit:", "none");
	}
	if (err)
		vda_job_field("error:", "%s (%d)", strerror(err), s->error);
	if (s->msg[0])
		vda_job_field("message:", "%s", vda_printable(s->msg));
}

static void vda_json_job(const char *name, const struct vdisk_job_status *s)
{
	int err = s->error < 0 ? -s->error : s->error;

	printf("{\n  \"name\": ");
	vda_json_string(name);
	printf(",\n  \"type\": ");
	vda_json_string(vda_job_type_name(s->type));
	printf(",\n  \"state\": ");
	vda_json_string(vda_job_state_name(s->state));
	printf(",\n  \"phase\": ");
	vda_json_string(vda_job_phase_name(s->phase));
	printf(",\n  \"percent\": %.1f", vda_job_percent(s));
	printf(",\n  \"bytes_total\": %" PRIu64, (uint64_t)s->bytes_total);
	printf(",\n  \"bytes_done\": %" PRIu64, (uint64_t)s->bytes_done);
	printf(",\n  \"bytes_copied\": %" PRIu64, (uint64_t)s->bytes_copied);
	printf(",\n  \"bytes_equal\": %" PRIu64, (uint64_t)s->bytes_equal);
	printf(",\n  \"bytes_dropped\": %" PRIu64, (uint64_t)s->bytes_dropped);
	printf(",\n  \"elapsed_ns\": %" PRIu64, (uint64_t)s->elapsed_ns);
	printf(",\n  \"rate_limit\": %" PRIu64, (uint64_t)s->rate_limit);
	printf(",\n  \"error\": %d", s->error);
	printf(",\n  \"error_message\": ");
	if (err)
		vda_json_string(strerror(err));
	else
		fputs("null", stdout);
	printf(",\n  \"msg\": ");
	vda_json_string(s->msg);
	printf("\n}\n");
}

/* DEV of job and cancel: resolved to N, "/dev/vdN" in @name. */
static int vda_job_dev_arg(int ctl, const char *arg, int *index, char *name, size_t size)
{
	int ret = vda_resolve_device(ctl, arg, index);

	if (!ret)
		vda_device_path(*index, name, size);
	return ret;
}

int vda_cmd_job(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct vdisk_job_status s;
	bool json = false;
	char name[32];
	int c, ctl, ret, index;

	while ((c = getopt_long(argc, argv, "Jh", opts, NULL)) != -1) {
		switch (c) {
		case 'J':
			json = true;
			break;
		case 'h':
			fputs(vda_jobst_usage, stdout);
			return VDA_EXIT_OK;
		default:
			return vda_try_help("job");
		}
	}
	if (optind == argc)
		return vda_usage_error("job", "no device given");
	if (optind + 1 < argc)
		return vda_usage_error("job", "one device only; unexpected '%s'", argv[optind + 1]);
	ctl = vda_open_control();
	if (ctl < 0)
		return VDA_EXIT_FAILURE;
	ret = vda_job_dev_arg(ctl, argv[optind], &index, name, sizeof(name));
	if (!ret) {
		ret = vda_ioc_job_status(ctl, index, &s);
		if (ret == -ENXIO) {
			vda_warn(name, "no such device");
			ret = VDA_EXIT_NOT_FOUND;
		} else if (ret) {
			ret = vda_fail(name, -ret);
		}
	}
	close(ctl);
	if (ret)
		return ret;
	s.msg[sizeof(s.msg) - 1] = '\0';
	if (json)
		vda_json_job(name, &s);
	else
		vda_print_job(name, &s);
	return VDA_EXIT_OK;
}

/* ---- cancel ---- */

static const char vda_cancel_usage[] =
"Usage: vdattach cancel DEV\n"
"\n"
"Stop the layer job running on DEV (/dev/vdN, vdN or N) and wait until\n"
"it has stopped.  The images stay consistent and the layer stack as it\n"
"was; a job that ended first is reported as it ended.\n"
"\n"
"Options:\n"
"  -h, --help         show this help\n"
"\n"
"Exit status: 0 cancelled (or ended first), 2 no job running or failed,\n"
"4 no such device.\n";

int vda_cmd_cancel(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct vdisk_job_status s;
	char name[32];
	int c, ctl, ret, index;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c != 'h')
			return vda_try_help("cancel");
		fputs(vda_cancel_usage, stdout);
		return VDA_EXIT_OK;
	}
	if (optind == argc)
		return vda_usage_error("cancel", "no device given");
	if (optind + 1 < argc)
		return vda_usage_error("cancel", "one device only; unexpected '%s'",
				       argv[optind + 1]);
	ctl = vda_open_control();
	if (ctl < 0)
		return VDA_EXIT_FAILURE;
	ret = vda_job_dev_arg(ctl, argv[optind], &index, name, sizeof(name));
	if (ret)
		goto out;
	ret = vda_job_cancel_now(ctl, index);
	if (ret == -ENOENT) {
		vda_warn(name, "no job running");
		ret = VDA_EXIT_FAILURE;
		goto out;
	}
	if (ret == -ENXIO) {
		vda_warn(name, "no such device");
		ret = VDA_EXIT_NOT_FOUND;
		goto out;
	}
	if (ret) {
		ret = vda_fail(name, -ret);
		goto out;
	}
	ret = vda_ioc_job_status(ctl, index, &s);
	if (ret) {
		ret = vda_fail(name, -ret);
		goto out;
	}
	s.msg[sizeof(s.msg) - 1] = '\0';
	/* cancelled, or what it ended as before the cancel reached it */
	ret = vda_job_report(vda_job_type_name(s.type), name, &s);
	if (ret == VDA_EXIT_CANCELLED)
		ret = VDA_EXIT_OK;
out:
	close(ctl);
	return ret;
}
