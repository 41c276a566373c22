// SPDX-License-Identifier: GPL-2.0
/*
 * vdattach attach: the command line, the layer stack (built by
 * vda_resolve_chain() in vdattach_chain.c), the snapshot to serve, and
 * the ioctl that hands the file descriptors to the kernel.
 *
 * vdattach opens every file itself; the kernel only ever sees descriptors
 * (see the top of include/uapi/linux/vdisk.h).
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

#define VDA_NODE_WAIT_MS	2000	/* devtmpfs creates /dev/vdN async */
#define VDA_NODE_POLL_MS	10

/**
 * struct vda_attach_opts - the attach command line
 * @image:          IMAGE
 * @flags:          VDISK_ATTACH_*
 * @index:          wanted N of /dev/vdN, -1 for any
 * @format:         -f, or VDISK_FMT_NONE to probe the top image
 * @backing_format: -F in order: [0] for the top's backing file, [1] for
 *                  its backing file, ...
 * @nr_backing_formats: entries in @backing_format
 * @snapshot:       -l: the internal snapshot (id or name) to serve, or NULL
 * @cache_kib:      --cache-kib, 0 for the module's default
 * @force_parent_cid: --force-parent-cid: attach a vmdk delta whose parent
 *                  changed since it was made
 */
struct vda_attach_opts {
	const char *image;
	unsigned int flags;
	int index;
	unsigned int format;
	unsigned int backing_format[VDISK_MAX_LAYERS - 1];
	unsigned int nr_backing_formats;
	const char *snapshot;
	unsigned int cache_kib;
	bool force_parent_cid;
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
"                             record it; the first -F is for IMAGE's backing\n"
"                             file, the next for that one's, and so on\n"
"  -l, --snapshot SNAP        serve the internal snapshot SNAP (id or name)\n"
"                             of a qcow2 IMAGE; implies --read-only\n"
"  -U, --force-share          attach read-only sharing everything, as\n"
"                             qemu-img -U: works on an image a VM or qemu-nbd\n"
"                             writes (what it shows may then change or be\n"
"                             inconsistent), and stops no other user\n"
"      --no-lock              take no QEMU-style image locks: UNSAFE, nothing\n"
"                             then stops a second writer from corrupting\n"
"                             the image (for filesystems without OFD locks)\n"
"      --autoclear            detach automatically on last close\n"
"      --no-direct-io         use buffered I/O on the image files\n"
"      --cache-kib KIB        metadata cache (qcow2 L2 tables, vmdk grain\n"
"                             tables) of the device in KiB (default: module\n"
"                             parameter cache_kib)\n"
"      --force-parent-cid     attach a vmdk delta even though its parentCID\n"
"                             does not match its parent's CID\n"
"  -n, --index N              attach as /dev/vdN (default: first free)\n"
"  -h, --help                 show this help\n";

enum {
	VDA_OPT_AUTOCLEAR = 0x100, VDA_OPT_NO_DIO, VDA_OPT_CACHE_KIB, VDA_OPT_FORCE_CID,
	VDA_OPT_NO_LOCK,
};

static const struct option vda_attach_options[] = {
	{ "read-only",		no_argument,		NULL, 'r' },
	{ "partscan",		no_argument,		NULL, 'P' },
	{ "format",		required_argument,	NULL, 'f' },
	{ "backing-format",	required_argument,	NULL, 'F' },
	{ "snapshot",		required_argument,	NULL, 'l' },
	{ "force-share",	no_argument,		NULL, 'U' },
	{ "no-lock",		no_argument,		NULL, VDA_OPT_NO_LOCK },
	{ "autoclear",		no_argument,		NULL, VDA_OPT_AUTOCLEAR },
	{ "no-direct-io",	no_argument,		NULL, VDA_OPT_NO_DIO },
	{ "cache-kib",		required_argument,	NULL, VDA_OPT_CACHE_KIB },
	{ "force-parent-cid",	no_argument,		NULL, VDA_OPT_FORCE_CID },
	{ "index",		required_argument,	NULL, 'n' },
	{ "help",		no_argument,		NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

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
	case 'U':
		o->flags |= VDISK_ATTACH_READ_ONLY | VDISK_ATTACH_SHARE_ALL;
		return VDA_EXIT_OK;
	case VDA_OPT_NO_LOCK:
		o->flags |= VDISK_ATTACH_NO_LOCK;
		return VDA_EXIT_OK;
	case VDA_OPT_AUTOCLEAR:
		o->flags |= VDISK_ATTACH_AUTOCLEAR;
		return VDA_EXIT_OK;
	case VDA_OPT_NO_DIO:
		o->flags |= VDISK_ATTACH_NO_DIO;
		return VDA_EXIT_OK;
	case VDA_OPT_FORCE_CID:
		o->force_parent_cid = true;
		return VDA_EXIT_OK;
	case VDA_OPT_CACHE_KIB: {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(optarg, &end, 10);
		if (errno || end == optarg || *end || !v || v > VDISK_CACHE_KIB_MAX)
			return vda_usage_error("attach", "--cache-kib wants 1..%u, got '%s'",
					       VDISK_CACHE_KIB_MAX, optarg);
		o->cache_kib = v;
		return VDA_EXIT_OK;
	}
	case 'f':
		if (!vda_parse_format(optarg, &o->format))
			return vda_usage_error("attach", "unknown format '%s' (raw, qcow2, vmdk)",
					       optarg);
		return VDA_EXIT_OK;
	case 'F':
		return vda_add_backing_format("attach", o->backing_format,
					      &o->nr_backing_formats, optarg);
	case 'l':
		if (!optarg[0])
			return vda_usage_error("attach", "empty snapshot name");
		o->snapshot = optarg;
		o->flags |= VDISK_ATTACH_READ_ONLY;
		return VDA_EXIT_OK;
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
	while ((c = getopt_long(argc, argv, "rPUf:F:l:n:h", vda_attach_options, NULL)) != -1) {
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
 * The stack of @o->image; @o->flags gains READ_ONLY if the top image cannot
 * be written.  With -l, the snapshot must exist in the top (a qcow2 image).
 * Returns an exit code; on failure the reason was printed.
 */
static int vda_attach_resolve(struct vda_attach_opts *o, struct vda_chain *chain)
{
	struct vda_chain_opts co = {
		.cmd = "attach",
		.image = o->image,
		.format = o->format,
		.backing_format = o->backing_format,
		.nr_backing_formats = o->nr_backing_formats,
		.read_only = o->flags & VDISK_ATTACH_READ_ONLY,
		.try_write = true,
		.force_parent_cid = o->force_parent_cid,
	};
	struct vda_snapshots sns;
	bool found;
	int ret;

	if (o->snapshot && o->format != VDISK_FMT_NONE && o->format != VDISK_FMT_QCOW2)
		return vda_usage_error("attach", "--snapshot needs a qcow2 image, not %s",
				       vd_format_name(o->format));
	ret = vda_resolve_chain(&co, chain);
	if (co.read_only)
		o->flags |= VDISK_ATTACH_READ_ONLY;
	if (ret || !o->snapshot)
		return ret;
	if (chain->layer[0].format != VDISK_FMT_QCOW2) {
		vda_warn(o->image, "internal snapshots need a qcow2 image; this one is %s",
			 vd_format_name(chain->layer[0].format));
		return VDA_EXIT_FAILURE;
	}
	ret = vda_read_snapshots(o->image, &chain->layer[0], &sns);
	if (ret)
		return ret;
	found = vda_find_snapshot(&sns, o->snapshot);
	vda_free_snapshots(&sns);
	if (!found) {
		vda_warn(o->image, "no snapshot '%s'", o->snapshot);
		return VDA_EXIT_FAILURE;
	}
	return VDA_EXIT_OK;
}

static void vda_fill_specs(const struct vda_attach_opts *o,
			   const struct vda_chain *chain,
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
	if (o->snapshot)
		specs[0].snapshot = (uintptr_t)o->snapshot;
}

/* VDISK_IOC_ATTACH; on success @index is N of the new /dev/vdN. */
static int vda_attach_chain(int ctl, const struct vda_attach_opts *o,
			    const struct vda_chain *chain, int *index)
{
	static struct vdisk_layer_spec specs[VDISK_MAX_LAYERS];
	char msg[VDISK_MSG_MAX] = "";
	struct vdisk_attach a;
	int ret;

	vda_fill_specs(o, chain, specs);
	memset(&a, 0, sizeof(a));
	a.flags = o->flags;
	a.index = o->index;
	a.cache_kib = o->cache_kib;
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
		vda_fail(o->image, -ret);
	else
		vda_warn(o->image, "%s", msg);
	/* Not retried read-only behind the user's back: that is theirs to say. */
	if (ret == -EROFS && !(o->flags & VDISK_ATTACH_READ_ONLY) &&
	    chain->layer[0].format != VDISK_FMT_RAW)
		vda_warn(NULL, "hint: this driver may serve %s images read-only only; "
			 "try 'vdattach attach -r'", vd_format_name(chain->layer[0].format));
	return vda_exit_for_errno(-ret);
}

/*
 * Attach @chain (resolved from @image, its top open for writing) as a new
 * read-write device without partition scan: the IMAGE form of commit and
 * rebase.  Returns an exit code, the kernel's reason printed; @index is N.
 */
int vda_attach_image_chain(int ctl, const char *image, const struct vda_chain *chain,
			   int *index)
{
	struct vda_attach_opts o;

	memset(&o, 0, sizeof(o));
	o.image = image;
	o.index = -1;
	return vda_attach_chain(ctl, &o, chain, index);
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

/*
 * Two devices writing one file, or one writing what another reads,
 * corrupt it or serve stale data.  The kernel only refuses the same file
 * twice within one stack, so warn about the other devices here: for the
 * top, any other user if we write it; for every layer, another device
 * that writes it.
 */
static void vda_warn_if_in_use(int ctl, const struct vda_attach_opts *o,
			       const struct vda_chain *chain)
{
	static struct vda_status s;
	bool writing = !(o->flags & VDISK_ATTACH_READ_ONLY);
	unsigned int i, j, n;
	int next = 0;

	while (!vda_ioc_status(ctl, next, true, &s)) {
		n = s.st.nr_layers < VDISK_MAX_LAYERS ? s.st.nr_layers : VDISK_MAX_LAYERS;
		for (j = 0; j < chain->nr; j++) {
			const struct vda_layer *ours = &chain->layer[j];

			for (i = 0; i < n; i++) {
				const struct vdisk_layer_info *l = &s.layer[i];
				bool other_writes = l->flags & VDISK_LINFO_WRITABLE;

				if (l->file_dev != vda_encode_dev(ours->dev) ||
				    l->file_ino != ours->ino ||
				    !(other_writes || (j == 0 && writing)))
					continue;
				vda_warn(j ? ours->path : o->image, "warning: %salready in use by /dev/"
					 VDISK_DISK_PREFIX "%d (layer %u%s)",
					 j ? "backing file " : "", s.st.index, i,
					 other_writes ? ", writable" : "");
			}
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
	ret = vda_attach_resolve(&o, &chain);
	if (!ret) {
		vda_warn_if_in_use(ctl, &o, &chain);
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
