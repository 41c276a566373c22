// SPDX-License-Identifier: GPL-2.0
/*
 * vdattach_ctl.c - the control device, its ioctls, device names, and how
 * vdattach reports failures.
 *
 * The ioctl wrappers fill every struct the same way: zeroed first (the
 * kernel refuses unknown flags and non-zero reserved members), @size set
 * to what this build knows.  They return 0 or -errno and print nothing, so
 * each command decides what a failure means to its user.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "vdattach.h"

const char *vda_prog = "vdattach";

/* "vdattach: <what>: <message>", the losetup and qemu-img style. */
void vda_warn(const char *what, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", vda_prog);
	if (what)
		fprintf(stderr, "%s: ", what);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int vda_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", vda_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return vda_try_help(cmd);
}

/* After getopt_long() has already said what was wrong with an option. */
int vda_try_help(const char *cmd)
{
	fprintf(stderr, "Try '%s%s%s --help' for more information.\n",
		vda_prog, cmd ? " " : "", cmd ? cmd : "");
	return VDA_EXIT_USAGE;
}

int vda_exit_for_errno(int err)
{
	switch (err) {
	case EBUSY:
	case EEXIST:
		return VDA_EXIT_BUSY;
	case ENXIO:
	case ENODEV:
		return VDA_EXIT_NOT_FOUND;
	default:
		return VDA_EXIT_FAILURE;
	}
}

/* Print strerror(@err) for @what; return the matching exit code. */
int vda_fail(const char *what, int err)
{
	vda_warn(what, "%s", strerror(err));
	return vda_exit_for_errno(err);
}

/* Returns the control fd, or -1 after saying why there is none. */
int vda_open_control(void)
{
	int fd = open(VDATTACH_CONTROL_PATH, O_RDWR | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	if (errno == ENOENT)
		vda_warn(VDATTACH_CONTROL_PATH, "%s (is the vdisk module loaded?)",
			 strerror(errno));
	else
		vda_warn(VDATTACH_CONTROL_PATH, "%s", strerror(errno));
	return -1;
}

static int vda_ioctl(int ctl, unsigned long cmd, void *arg)
{
	return ioctl(ctl, cmd, arg) < 0 ? -errno : 0;
}

int vda_ioc_features(int ctl, struct vdisk_features *f)
{
	memset(f, 0, sizeof(*f));
	f->size = sizeof(*f);
	return vda_ioctl(ctl, VDISK_IOC_GET_FEATURES, f);
}

int vda_ioc_detach(int ctl, int index, bool lazy)
{
	struct vdisk_detach d;

	memset(&d, 0, sizeof(d));
	d.size = sizeof(d);
	d.flags = lazy ? VDISK_DETACH_LAZY : 0;
	d.index = index;
	return vda_ioctl(ctl, VDISK_IOC_DETACH, &d);
}

/*
 * Describe /dev/vd@index, or with @next the first device numbered @index
 * or higher; -ENXIO when there is none.
 */
int vda_ioc_status(int ctl, int index, bool next, struct vda_status *s)
{
	memset(s, 0, sizeof(*s));
	s->st.size = sizeof(s->st);
	s->st.flags = next ? VDISK_STATUS_NEXT : 0;
	s->st.index = index;
	s->st.layer_info_size = sizeof(s->layer[0]);
	s->st.max_layers = VDISK_MAX_LAYERS;
	s->st.layers = (uintptr_t)s->layer;
	return vda_ioctl(ctl, VDISK_IOC_STATUS, &s->st);
}

/* The caller fills @a except @size; the struct is sent as it is. */
int vda_ioc_attach(int ctl, struct vdisk_attach *a)
{
	a->size = sizeof(*a);
	return vda_ioctl(ctl, VDISK_IOC_ATTACH, a);
}

/* The caller fills @j except @size, as for attach. */
int vda_ioc_job_start(int ctl, struct vdisk_job_start *j)
{
	j->size = sizeof(*j);
	return vda_ioctl(ctl, VDISK_IOC_JOB_START, j);
}

/* The last job of /dev/vd@index: IDLE if there has been none. */
int vda_ioc_job_status(int ctl, int index, struct vdisk_job_status *s)
{
	memset(s, 0, sizeof(*s));
	s->size = sizeof(*s);
	s->index = index;
	return vda_ioctl(ctl, VDISK_IOC_JOB_STATUS, s);
}

/* Returns once the job has stopped; -ENOENT if none is running. */
int vda_ioc_job_cancel(int ctl, int index)
{
	struct vdisk_job_cancel c;

	memset(&c, 0, sizeof(c));
	c.size = sizeof(c);
	c.index = index;
	return vda_ioctl(ctl, VDISK_IOC_JOB_CANCEL, &c);
}

/* st_dev in the kernel's new_encode_dev() form (vdisk_layer_info.file_dev). */
uint64_t vda_encode_dev(dev_t dev)
{
	uint64_t ma = major(dev), mi = minor(dev);

	return (mi & 0xff) | (ma << 8) | ((mi & ~0xffULL) << 12);
}

static bool vda_parse_decimal(const char *s, int *out)
{
	long long v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (*s - '0');
		if (v > INT32_MAX)
			return false;
	}
	*out = (int)v;
	return true;
}

/* "N", "vdN" or "/dev/vdN"; a partition or a virtio "vda" is not one. */
bool vda_parse_index(const char *arg, int *index)
{
	static const char dev_prefix[] = "/dev/" VDISK_DISK_PREFIX;
	static const char name_prefix[] = VDISK_DISK_PREFIX;

	if (!strncmp(arg, dev_prefix, sizeof(dev_prefix) - 1))
		arg += sizeof(dev_prefix) - 1;
	else if (!strncmp(arg, name_prefix, sizeof(name_prefix) - 1))
		arg += sizeof(name_prefix) - 1;
	return vda_parse_decimal(arg, index);
}

void vda_device_path(int index, char *buf, size_t size)
{
	snprintf(buf, size, "/dev/" VDISK_DISK_PREFIX "%d", index);
}

/*
 * Find the device whose node @rdev is, walking every device: this is how
 * a udev symlink (/dev/disk/by-...) or a node of another name is accepted.
 * The minors of partitions are the driver's business (not in the uapi), so
 * a node of the vdisk major that is no whole device is reported as such.
 */
static int vda_index_of_node(int ctl, const char *arg, dev_t rdev, int *index)
{
	static struct vda_status s;
	bool vdisk_major = false;
	int next = 0, ret;

	while (!(ret = vda_ioc_status(ctl, next, true, &s))) {
		if (major(rdev) == s.st.major && minor(rdev) == s.st.minor) {
			*index = s.st.index;
			return VDA_EXIT_OK;
		}
		vdisk_major |= major(rdev) == s.st.major;
		next = s.st.index + 1;
	}
	if (ret != -ENXIO)
		return vda_fail(VDATTACH_CONTROL_PATH, -ret);
	if (vdisk_major) {
		vda_warn(arg, "not a whole vdisk device (a partition?); name /dev/vdN");
		return VDA_EXIT_USAGE;
	}
	vda_warn(arg, "not a vdisk device");
	return VDA_EXIT_NOT_FOUND;
}

/*
 * Turn a DEV argument into N of /dev/vdN.  Returns an exit code: 0 when
 * @index is set, else the failure was printed.
 */
int vda_resolve_device(int ctl, const char *arg, int *index)
{
	struct stat st;

	if (vda_parse_index(arg, index))
		return VDA_EXIT_OK;
	if (stat(arg, &st) < 0) {
		if (errno == ENOENT)
			vda_warn(arg, "no such device (expected /dev/vdN, vdN or N)");
		else
			vda_warn(arg, "%s", strerror(errno));
		return VDA_EXIT_NOT_FOUND;
	}
	if (!S_ISBLK(st.st_mode)) {
		vda_warn(arg, "not a block device (expected /dev/vdN, vdN or N)");
		return VDA_EXIT_USAGE;
	}
	return vda_index_of_node(ctl, arg, st.st_rdev, index);
}
