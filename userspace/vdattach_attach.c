// SPDX-License-Identifier: GPL-2.0
/*
 * vdattach_attach.c - vdattach attach: open the image, settle its format,
 * build the layer stack, hand the file descriptors to the kernel.
 *
 * vdattach opens every file itself; the kernel only ever sees descriptors
 * (see the top of include/uapi/linux/vdisk.h).  The stack is built by
 * vda_resolve_chain(): today the top layer only; walking the backing chain
 * of qcow2 and vmdk images belongs there too.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "vdattach.h"

#define VDA_SECTOR_SIZE		512
#define VDA_NODE_WAIT_MS	2000	/* devtmpfs creates /dev/vdN async */
#define VDA_NODE_POLL_MS	10

/**
 * struct vda_layer - one layer of the stack, as vdattach opened it
 * @fd:            the image file (qcow2 image, vmdk descriptor or extent,
 *                 raw file)
 * @format:        enum vdisk_format, never VDISK_FMT_NONE once resolved
 * @extent_fds:    vmdk extent files in descriptor order, or NULL
 * @nr_extent_fds: entries at @extent_fds
 * @path:          the path it was opened by, for messages
 */
struct vda_layer {
	int fd;
	unsigned int format;
	int *extent_fds;
	unsigned int nr_extent_fds;
	const char *path;
};

struct vda_chain {
	unsigned int nr;
	struct vda_layer layer[VDISK_MAX_LAYERS];
};

/**
 * struct vda_attach_opts - the attach command line
 * @image:          IMAGE
 * @flags:          VDISK_ATTACH_*
 * @index:          wanted N of /dev/vdN, -1 for any
 * @format:         -f, or VDISK_FMT_NONE to probe the top image
 * @backing_format: -F in order: [0] for the top's backing file, [1] for
 *                  its backing file, ...
 * @nr_backing_formats: entries in @backing_format
 */
struct vda_attach_opts {
	const char *image;
	unsigned int flags;
	int index;
	unsigned int format;
	unsigned int backing_format[VDISK_MAX_LAYERS - 1];
	unsigned int nr_backing_formats;
};

static const char vda_attach_usage[] =
"Usage: vdattach attach [options] IMAGE\n"
"\n"
"Attach a disk image as /dev/vdN and print the device's path.\n"
"\n"
"Options:\n"
"  -r, --read-only            attach read-only (also chosen, with a warning,\n"
"                             when IMAGE cannot be opened for writing)\n"
"  -P, --partscan             scan the partition table (/dev/vdNpM)\n"
"  -f, --format FMT           format of IMAGE: raw, qcow2 or vmdk\n"
"                             (default: recognised from its content)\n"
"  -F, --backing-format FMT   format of a backing file whose image does not\n"
"                             record it; repeat for each deeper level\n"
"      --autoclear            detach automatically on last close\n"
"      --no-direct-io         use buffered I/O on the image files\n"
"  -n, --index N              attach as /dev/vdN (default: first free)\n"
"  -h, --help                 show this help\n";

enum { VDA_OPT_AUTOCLEAR = 0x100, VDA_OPT_NO_DIO };

static const struct option vda_attach_options[] = {
	{ "read-only",		no_argument,		NULL, 'r' },
	{ "partscan",		no_argument,		NULL, 'P' },
	{ "format",		required_argument,	NULL, 'f' },
	{ "backing-format",	required_argument,	NULL, 'F' },
	{ "autoclear",		no_argument,		NULL, VDA_OPT_AUTOCLEAR },
	{ "no-direct-io",	no_argument,		NULL, VDA_OPT_NO_DIO },
	{ "index",		required_argument,	NULL, 'n' },
	{ "help",		no_argument,		NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static bool vda_parse_format(const char *name, unsigned int *format)
{
	*format = vd_format_from_name(name);
	return *format != VDISK_FMT_NONE;
}

static int vda_add_backing_format(struct vda_attach_opts *o, const char *name)
{
	unsigned int fmt;

	if (!vda_parse_format(name, &fmt))
		return vda_usage_error("attach", "unknown backing format '%s' (raw, qcow2, vmdk)",
				       name);
	if (o->nr_backing_formats == VDISK_MAX_LAYERS - 1)
		return vda_usage_error("attach", "more than %u backing formats",
				       VDISK_MAX_LAYERS - 1);
	o->backing_format[o->nr_backing_formats++] = fmt;
	return VDA_EXIT_OK;
}

/* One option of the attach command line; returns an exit code. */
static int vda_attach_option(struct vda_attach_opts *o, int c)
{
	switch (c) {
	case 'r':
		o->flags |= VDISK_ATTACH_READ_ONLY;
		return VDA_EXIT_OK;
	case 'P':
		o->flags |= VDISK_ATTACH_PARTSCAN;
		return VDA_EXIT_OK;
	case VDA_OPT_AUTOCLEAR:
		o->flags |= VDISK_ATTACH_AUTOCLEAR;
		return VDA_EXIT_OK;
	case VDA_OPT_NO_DIO:
		o->flags |= VDISK_ATTACH_NO_DIO;
		return VDA_EXIT_OK;
	case 'f':
		if (!vda_parse_format(optarg, &o->format))
			return vda_usage_error("attach", "unknown format '%s' (raw, qcow2, vmdk)",
					       optarg);
		return VDA_EXIT_OK;
	case 'F':
		return vda_add_backing_format(o, optarg);
	case 'n':
		if (!vda_parse_index(optarg, &o->index))
			return vda_usage_error("attach", "invalid index '%s'", optarg);
		return VDA_EXIT_OK;
	default:
		return vda_usage_error("attach", "invalid usage");
	}
}

/* Returns VDA_CONTINUE when the command should run, else an exit code. */
static int vda_parse_attach_args(int argc, char **argv, struct vda_attach_opts *o)
{
	int c, ret;

	memset(o, 0, sizeof(*o));
	o->index = -1;
	while ((c = getopt_long(argc, argv, "rPf:F:n:h", vda_attach_options, NULL)) != -1) {
		if (c == 'h') {
			fputs(vda_attach_usage, stdout);
			return VDA_EXIT_OK;
		}
		if (c == '?')
			return vda_try_help("attach");
		ret = vda_attach_option(o, c);
		if (ret)
			return ret;
	}
	if (optind == argc)
		return vda_usage_error("attach", "no image given");
	if (optind + 1 < argc)
		return vda_usage_error("attach", "one image only; unexpected '%s'",
				       argv[optind + 1]);
	o->image = argv[optind];
	return VDA_CONTINUE;
}

/*
 * Open the top image for writing unless -r; like losetup, an image that
 * cannot be written (read-only file or filesystem) is attached read-only
 * with a warning rather than refused.  Returns the fd or -errno.
 */
static int vda_open_top(struct vda_attach_opts *o)
{
	int fd;

	if (o->flags & VDISK_ATTACH_READ_ONLY)
		fd = open(o->image, O_RDONLY | O_CLOEXEC);
	else
		fd = open(o->image, O_RDWR | O_CLOEXEC);
	if (fd >= 0 || (o->flags & VDISK_ATTACH_READ_ONLY) ||
	    (errno != EACCES && errno != EROFS))
		return fd >= 0 ? fd : -errno;
	fd = open(o->image, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	vda_warn(o->image, "write-protected, attaching read-only");
	o->flags |= VDISK_ATTACH_READ_ONLY;
	return fd;
}

/* Read up to @len bytes from offset 0; fewer only at end of file. */
static ssize_t vda_read_head(int fd, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		done += n;
	}
	return done;
}

/* The format of the top image: -f if given, else its first bytes tell. */
static int vda_top_format(const struct vda_attach_opts *o, int fd,
			  unsigned int *format)
{
	unsigned char buf[VD_PROBE_BYTES];
	ssize_t n;

	if (o->format != VDISK_FMT_NONE) {
		*format = o->format;
		return 0;
	}
	n = vda_read_head(fd, buf, sizeof(buf));
	if (n < 0)
		return n;
	*format = vd_probe_format(buf, n);
	return 0;
}

/* The kernel only accepts these; refuse the rest with a clear message. */
static int vda_check_file_type(const char *path, int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return vda_fail(path, errno);
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		vda_warn(path, "not a regular file or block device");
		return VDA_EXIT_FAILURE;
	}
	/* The kernel rounds down silently; say so, as losetup does. */
	if (S_ISREG(st.st_mode) && st.st_size % VDA_SECTOR_SIZE)
		vda_warn(path, "warning: file does not end on a %d-byte sector boundary; "
			 "the remaining end of the file will be ignored", VDA_SECTOR_SIZE);
	return VDA_EXIT_OK;
}

static int vda_resolve_top(struct vda_attach_opts *o, struct vda_layer *top)
{
	int fd, ret;

	fd = vda_open_top(o);
	if (fd < 0)
		return vda_fail(o->image, -fd);
	top->fd = fd;
	top->path = o->image;
	ret = vda_check_file_type(o->image, fd);
	if (ret)
		return ret;
	ret = vda_top_format(o, fd, &top->format);
	if (ret)
		return vda_fail(o->image, -ret);
	return VDA_EXIT_OK;
}

/**
 * vda_resolve_chain() - open the layers of the device to attach, top first
 * @o:     the command line; @o->flags gains READ_ONLY if the top image
 *         cannot be written
 * @chain: out: the layers; the caller closes them with vda_chain_close()
 *         whatever the outcome
 *
 * Backing files (qcow2 backing_file, vmdk parentFileNameHint) are not
 * followed yet: a qcow2 or vmdk top goes alone, and the kernel says what
 * it thinks of that.  When they are, their formats come from the image
 * header or from -F, never from probing.
 *
 * Return: an exit code; on failure the reason was printed.
 */
static int vda_resolve_chain(struct vda_attach_opts *o, struct vda_chain *chain)
{
	int ret;

	chain->nr = 1;
	ret = vda_resolve_top(o, &chain->layer[0]);
	if (ret)
		return ret;
	if (chain->layer[0].format == VDISK_FMT_RAW && o->nr_backing_formats)
		return vda_usage_error("attach", "%s: a raw image has no backing file; "
				       "--backing-format does not apply", o->image);
	return VDA_EXIT_OK;
}

static void vda_chain_init(struct vda_chain *chain)
{
	unsigned int i;

	memset(chain, 0, sizeof(*chain));
	for (i = 0; i < VDISK_MAX_LAYERS; i++)
		chain->layer[i].fd = -1;
}

static void vda_chain_close(struct vda_chain *chain)
{
	unsigned int i, j;

	for (i = 0; i < chain->nr; i++) {
		struct vda_layer *l = &chain->layer[i];

		if (l->fd >= 0)
			close(l->fd);
		for (j = 0; j < l->nr_extent_fds; j++)
			close(l->extent_fds[j]);
		free(l->extent_fds);
	}
	chain->nr = 0;
}

static void vda_fill_specs(const struct vda_chain *chain,
			   struct vdisk_layer_spec *specs)
{
	unsigned int i;

	memset(specs, 0, chain->nr * sizeof(*specs));
	for (i = 0; i < chain->nr; i++) {
		const struct vda_layer *l = &chain->layer[i];

		specs[i].fd = l->fd;
		specs[i].format = l->format;
		specs[i].nr_extent_fds = l->nr_extent_fds;
		specs[i].extent_fds = (uintptr_t)l->extent_fds;
	}
}

/* VDISK_IOC_ATTACH; on success @index is N of the new /dev/vdN. */
static int vda_attach_chain(int ctl, const struct vda_attach_opts *o,
			    const struct vda_chain *chain, int *index)
{
	static struct vdisk_layer_spec specs[VDISK_MAX_LAYERS];
	char msg[VDISK_MSG_MAX] = "";
	struct vdisk_attach a;
	int ret;

	vda_fill_specs(chain, specs);
	memset(&a, 0, sizeof(a));
	a.flags = o->flags;
	a.index = o->index;
	a.nr_layers = chain->nr;
	a.layers = (uintptr_t)specs;
	a.layer_spec_size = sizeof(specs[0]);
	a.msg_size = sizeof(msg);
	a.msg = (uintptr_t)msg;
	ret = vda_ioc_attach(ctl, &a);
	if (!ret) {
		*index = a.index;
		return VDA_EXIT_OK;
	}
	msg[sizeof(msg) - 1] = '\0';	/* the kernel does not terminate a cut message */
	if (!msg[0])
		return vda_fail(o->image, -ret);
	vda_warn(o->image, "%s", msg);
	return vda_exit_for_errno(-ret);
}

static bool vda_is_node_of(const char *path, bool check_rdev, dev_t rdev)
{
	struct stat st;

	if (stat(path, &st) < 0 || !S_ISBLK(st.st_mode))
		return false;
	return !check_rdev || st.st_rdev == rdev;
}

/*
 * devtmpfs adds /dev/vdN after the ioctl returned; wait for it (and for
 * the right one: a stale node of another device does not count) so that
 * a script can use the path the moment it is printed.
 */
static void vda_wait_for_node(int ctl, int index, const char *path)
{
	static struct vda_status s;
	const struct timespec step = { 0, VDA_NODE_POLL_MS * 1000000L };
	bool check_rdev = !vda_ioc_status(ctl, index, false, &s);
	dev_t rdev = check_rdev ? makedev(s.st.major, s.st.minor) : 0;
	int waited;

	for (waited = 0; waited < VDA_NODE_WAIT_MS; waited += VDA_NODE_POLL_MS) {
		if (vda_is_node_of(path, check_rdev, rdev))
			return;
		nanosleep(&step, NULL);
	}
	if (!vda_is_node_of(path, check_rdev, rdev))
		vda_warn(path, "warning: device node did not appear within %d ms",
			 VDA_NODE_WAIT_MS);
}

/* st_dev in the kernel's new_encode_dev() form (vdisk_layer_info.file_dev). */
static uint64_t vda_encode_dev(dev_t dev)
{
	uint64_t ma = major(dev), mi = minor(dev);

	return (mi & 0xff) | (ma << 8) | ((mi & ~0xffULL) << 12);
}

/*
 * Two devices writing one file, or one writing what another reads,
 * corrupt it or serve stale data.  The kernel only refuses the same file
 * twice within one stack, so warn about the other devices here.
 */
static void vda_warn_if_in_use(int ctl, const struct vda_attach_opts *o,
			       const struct vda_layer *top)
{
	static struct vda_status s;
	bool writing = !(o->flags & VDISK_ATTACH_READ_ONLY);
	unsigned int i, n;
	struct stat st;
	int next = 0;

	if (fstat(top->fd, &st) < 0)
		return;
	while (!vda_ioc_status(ctl, next, true, &s)) {
		n = s.st.nr_layers < VDISK_MAX_LAYERS ? s.st.nr_layers : VDISK_MAX_LAYERS;
		for (i = 0; i < n; i++) {
			const struct vdisk_layer_info *l = &s.layer[i];

			if (l->file_dev != vda_encode_dev(st.st_dev) ||
			    l->file_ino != st.st_ino ||
			    (!writing && !(l->flags & VDISK_LINFO_WRITABLE)))
				continue;
			vda_warn(o->image, "warning: already in use by /dev/" VDISK_DISK_PREFIX
				 "%d (layer %u%s)", s.st.index, i,
				 l->flags & VDISK_LINFO_WRITABLE ? ", writable" : "");
		}
		next = s.st.index + 1;
	}
}

int vda_cmd_attach(int argc, char **argv)
{
	static struct vda_chain chain;
	struct vda_attach_opts o;
	char path[32];
	int ctl, ret, index = -1;

	ret = vda_parse_attach_args(argc, argv, &o);
	if (ret != VDA_CONTINUE)
		return ret;
	ctl = vda_open_control();
	if (ctl < 0)
		return VDA_EXIT_FAILURE;
	vda_chain_init(&chain);
	ret = vda_resolve_chain(&o, &chain);
	if (!ret) {
		vda_warn_if_in_use(ctl, &o, &chain.layer[0]);
		ret = vda_attach_chain(ctl, &o, &chain, &index);
	}
	/* The kernel holds its own references to the files now. */
	vda_chain_close(&chain);
	if (!ret) {
		vda_device_path(index, path, sizeof(path));
		vda_wait_for_node(ctl, index, path);
		printf("%s\n", path);
	}
	close(ctl);
	return ret;
}
