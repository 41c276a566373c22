// SPDX-License-Identifier: GPL-2.0
/*
 * vdattach_chain.c - the layer stack of an image: open the image and every
 * backing file below it, settle each one's format, read qcow2 headers and
 * snapshot tables.  Shared by attach (which hands the result to the
 * kernel) and info and snapshot (which only print it).
 *
 * The rules, as in QEMU (and in vdattach(8)):
 *  - The top's format is -f, or probed from its first bytes.  A backing
 *    file's format is never probed: it comes from the header that names it
 *    (the qcow2 backing format extension) or from -F, in that order; a
 *    header and a -F that disagree are an error.
 *  - A relative backing name is relative to the directory of the image
 *    that names it, as that image's path was given (no realpath): the
 *    name with that path's part up to its last '/' in front.  Absolute
 *    names are used as they are.  Names with a protocol prefix ("nbd:",
 *    "json:", ...) are not local files and are refused.
 *  - Backing files are opened read-only; a file met twice (same st_dev
 *    and st_ino) is a loop; at most VDISK_MAX_LAYERS layers.
 *  - A raw layer ends the chain.  A vmdk layer's parent is its
 *    descriptor's parentFileNameHint; its format is -F if given, else
 *    vmdk (VMware's deltas are vmdk; QEMU probes it).  The extent files
 *    a vmdk descriptor names are opened relative to the descriptor, like
 *    backing names, and a delta's parentCID must match its vmdk parent's
 *    CID (else refused, unless forced).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/fs.h>

#include "vdattach.h"

#define VDA_SECTOR_SIZE		512
/* First read of a qcow2 header: enough for the fixed part and cluster_bits. */
#define VDA_QCOW2_PEEK		4096
/* First read of a snapshot table; grown up to the whole table as needed. */
#define VDA_SNAP_TABLE_FIRST	(64 * 1024)

bool vda_parse_format(const char *name, unsigned int *format)
{
	*format = vd_format_from_name(name);
	return *format != VDISK_FMT_NONE;
}

/* -F NAME: appended to @formats; returns an exit code. */
int vda_add_backing_format(const char *cmd, unsigned int *formats,
			   unsigned int *nr, const char *name)
{
	unsigned int fmt;

	if (!vda_parse_format(name, &fmt))
		return vda_usage_error(cmd, "unknown backing format '%s' (raw, qcow2, vmdk)",
				       name);
	if (*nr == VDISK_MAX_LAYERS - 1)
		return vda_usage_error(cmd, "more than %u backing formats",
				       VDISK_MAX_LAYERS - 1);
	formats[(*nr)++] = fmt;
	return VDA_EXIT_OK;
}

void vda_chain_init(struct vda_chain *chain)
{
	unsigned int i;

	memset(chain, 0, sizeof(*chain));
	for (i = 0; i < VDISK_MAX_LAYERS; i++)
		chain->layer[i].fd = -1;
}

/* Closes and frees every layer; the chain can be resolved again after. */
void vda_chain_close(struct vda_chain *chain)
{
	unsigned int i, j;

	for (i = 0; i < VDISK_MAX_LAYERS; i++) {
		struct vda_layer *l = &chain->layer[i];

		if (l->fd >= 0)
			close(l->fd);
		for (j = 0; j < l->nr_extent_fds; j++)
			close(l->extent_fds[j]);
		free(l->extent_fds);
		free(l->path);
		free(l->named);
		free(l->qcow2);
		if (l->vmdk)
			free(l->vmdk->ext);
		free(l->vmdk);
	}
	vda_chain_init(chain);
}

/*
 * A name read from an image, or a path built from one, for a message:
 * control characters shown as \xNN so that an image cannot write escape
 * sequences to the terminal.  Three buffers in turn: up to three names in
 * one message.
 */
const char *vda_show(const char *str)
{
	static char buf[3][4 * 4096 + 1];
	static unsigned int next;
	const unsigned char *s = (const unsigned char *)str;
	char *b = buf[next++ % 3];
	size_t n = 0, size = sizeof(buf[0]);

	for (; *s && n + 5 < size; s++) {
		if (*s < 0x20 || *s == 0x7f)
			n += snprintf(b + n, size - n, "\\x%02x", *s);
		else
			b[n++] = *s;
	}
	b[n] = '\0';
	return b;
}

/* Read up to @len bytes at @off; fewer only at end of file.  -errno. */
ssize_t vda_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, off + done);

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

/* vda_open_layer(): the file is neither a regular file nor a block device. */
#define EFTYPE_VDA	(-1000)

/*
 * open(2) that cannot hang on a FIFO a backing name might point at: opened
 * non-blocking, checked to be a regular file or a block device (the only
 * kinds the kernel accepts), then made blocking again.  Fills @l's fd,
 * dev, ino and file_size.  Returns 0, -errno, or EFTYPE_VDA.
 */
static int vda_open_layer(struct vda_layer *l, const char *path, int flags)
{
	struct stat st;
	uint64_t size;
	int fd, fl, err;

	fd = open(path, flags | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		goto fail_errno;
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		close(fd);
		return EFTYPE_VDA;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
		goto fail_errno;
	size = st.st_size;
	if (S_ISBLK(st.st_mode) && ioctl(fd, BLKGETSIZE64, &size) < 0)
		goto fail_errno;
	l->fd = fd;
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	l->file_size = size;
	return 0;

fail_errno:
	err = errno;
	close(fd);
	return -err;
}

/*
 * Message for an error of vda_open_layer() or of opening an extent file;
 * running out of file descriptors names the limit to raise.
 */
const char *vda_open_error(int err)
{
	static char emfile[96];
	struct rlimit rl;

	if (err == EFTYPE_VDA)
		return "not a regular file or block device";
	if (err != -EMFILE || getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return strerror(-err);
	snprintf(emfile, sizeof(emfile), "%s (open file limit %llu: raise it with ulimit -n)",
		 strerror(EMFILE), (unsigned long long)rl.rlim_cur);
	return emfile;
}

/*
 * Open the top image.  With @o->try_write, for writing unless read-only
 * was asked for; like losetup, an image that cannot be written (read-only
 * file or file system) is then opened read-only with a warning rather
 * than refused.  Returns an exit code, the reason printed.
 */
static int vda_open_top(struct vda_chain_opts *o, struct vda_layer *top)
{
	int ret;

	top->path = strdup(o->image);
	if (!top->path)
		return vda_fail(o->image, ENOMEM);
	if (o->try_write && !o->read_only) {
		ret = vda_open_layer(top, o->image, O_RDWR);
		if (ret != -EACCES && ret != -EROFS && ret != -EPERM)
			goto out;
		ret = vda_open_layer(top, o->image, O_RDONLY);
		if (!ret) {
			vda_warn(o->image, "write-protected, attaching read-only");
			o->read_only = true;
		}
	} else {
		ret = vda_open_layer(top, o->image, O_RDONLY);
	}
out:
	if (ret == EFTYPE_VDA) {
		vda_warn(o->image, "%s", vda_open_error(ret));
		return VDA_EXIT_FAILURE;
	}
	return ret ? vda_fail(o->image, -ret) : VDA_EXIT_OK;
}

/* The format of the top image: -f if given, else its first bytes tell. */
static int vda_top_format(const struct vda_chain_opts *o, struct vda_layer *top)
{
	unsigned char buf[VD_PROBE_BYTES];
	ssize_t n;

	if (o->format != VDISK_FMT_NONE) {
		top->format = o->format;
		top->format_from = "-f";
		return VDA_EXIT_OK;
	}
	n = vda_pread_full(top->fd, buf, sizeof(buf), 0);
	if (n < 0)
		return vda_fail(o->image, -n);
	top->format = vd_probe_format(buf, n);
	top->format_from = "probed";
	return VDA_EXIT_OK;
}

/*
 * Read and validate the header of the qcow2 layer @l into @l->qcow2: the
 * first 4 KiB tell the cluster size, then the whole first cluster (or the
 * file, if shorter) goes to the decoder.  Prints "FILE: <why>" on failure.
 */
static int vda_load_qcow2(struct vda_layer *l)
{
	char msgbuf[VDISK_MSG_MAX] = "";
	struct vd_msg msg = { msgbuf, sizeof(msgbuf) };
	uint64_t want = l->file_size < VDA_QCOW2_PEEK ? l->file_size : VDA_QCOW2_PEEK;
	unsigned char *buf;
	ssize_t n;
	int ret;

	buf = malloc(VD_QCOW2_HEADER_MAX);
	l->qcow2 = calloc(1, sizeof(*l->qcow2));
	if (!buf || !l->qcow2) {
		free(buf);
		return vda_fail(l->path, ENOMEM);
	}
	n = vda_pread_full(l->fd, buf, want, 0);
	if (n >= 24 && vd_be32(buf) == VD_QCOW2_MAGIC) {
		uint32_t bits = vd_be32(buf + 20);

		if (bits >= VD_QCOW2_MIN_CLUSTER_BITS && bits <= VD_QCOW2_MAX_CLUSTER_BITS) {
			want = (uint64_t)1 << bits;
			if (want > l->file_size)
				want = l->file_size;
			if (want > (uint64_t)n)
				n = vda_pread_full(l->fd, buf, want, 0);
		}
	}
	if (n < 0) {
		free(buf);
		return vda_fail(l->path, -n);
	}
	ret = vd_qcow2_parse_header(buf, n, l->file_size, l->qcow2, &msg);
	free(buf);
	if (ret) {
		vda_warn(vda_show(l->path), "%s", msgbuf[0] ? vda_show(msgbuf) : strerror(-ret));
		return VDA_EXIT_FAILURE;
	}
	l->virtual_size = l->qcow2->size;
	return VDA_EXIT_OK;
}

/*
 * QEMU's path_has_protocol(): a ':' before the first '/' makes the name a
 * protocol URL ("nbd:host:port", "json:{...}", "file:x") rather than a
 * file; such a name cannot be opened as a path with the same meaning.
 */
static bool vda_has_protocol(const char *name)
{
	size_t colon = strcspn(name, ":/");

	return name[colon] == ':';
}

/* QEMU's path_combine(): @name relative to the directory of @base. */
char *vda_backing_path(const char *base, const char *name)
{
	const char *slash = strrchr(base, '/');
	size_t dir = slash ? (size_t)(slash - base) + 1 : 0;
	char *p;

	if (name[0] == '/' || !dir)
		return strdup(name);
	p = malloc(dir + strlen(name) + 1);
	if (!p)
		return NULL;
	memcpy(p, base, dir);
	strcpy(p + dir, name);
	return p;
}

/* The name of @l's backing file as its image records it, "" if none. */
static const char *vda_backing_name(const struct vda_layer *l)
{
	if (l->qcow2)
		return l->qcow2->backing_name;
	if (l->vmdk && l->vmdk->has_parent)
		return l->vmdk->parent_hint;
	return "";
}

/* "1st", "2nd", ...: which -F on the command line is meant. */
static const char *vda_ordinal(unsigned int n)
{
	static char buf[16];
	const char *sfx = "th";

	if (n % 100 < 11 || n % 100 > 13)
		sfx = n % 10 == 1 ? "st" : n % 10 == 2 ? "nd" : n % 10 == 3 ? "rd" : "th";
	snprintf(buf, sizeof(buf), "%u%s", n, sfx);
	return buf;
}

/*
 * The format of the backing file of layer @level (@l): from @l's header,
 * or from the (@level + 1)th -F.  Returns an exit code, the reason printed.
 */
static int vda_backing_format(const struct vda_chain_opts *o, unsigned int level,
			      const struct vda_layer *l, struct vda_layer *next)
{
	const char *recorded = l->qcow2 ? l->qcow2->backing_format : "";
	const char *name = vda_backing_name(l);
	unsigned int given = VDISK_FMT_NONE, fmt;

	if (level < o->nr_backing_formats)
		given = o->backing_format[level];
	if (l->format == VDISK_FMT_VMDK) {
		/* The descriptor records no format: a delta's parent is vmdk. */
		next->format = given != VDISK_FMT_NONE ? given : VDISK_FMT_VMDK;
		next->format_from = given != VDISK_FMT_NONE ? "-F" : "vmdk parent";
		return VDA_EXIT_OK;
	}
	if (!recorded[0]) {
		if (given == VDISK_FMT_NONE) {
			if (level == 0)
				vda_warn(vda_show(l->path), "backing file '%s' has no format recorded; "
					 "give it with -F FMT (the format is never guessed)",
					 vda_show(name));
			else
				vda_warn(vda_show(l->path), "backing file '%s' has no format recorded; "
					 "give it with a %s -F FMT (the format is never guessed)",
					 vda_show(name), vda_ordinal(level + 1));
			return VDA_EXIT_FAILURE;
		}
		next->format = given;
		next->format_from = "-F";
		return VDA_EXIT_OK;
	}
	fmt = vd_format_from_name(recorded);
	if (fmt == VDISK_FMT_NONE) {
		vda_warn(vda_show(l->path), "backing file '%s' has format '%s', which vdisk does not "
			 "serve (raw, qcow2, vmdk)", vda_show(name), vda_show(recorded));
		return VDA_EXIT_FAILURE;
	}
	if (given != VDISK_FMT_NONE && given != fmt) {
		vda_warn(vda_show(l->path), "backing file '%s' is recorded as %s, but the %s -F says %s",
			 vda_show(name), recorded, vda_ordinal(level + 1),
			 vd_format_name(given));
		return VDA_EXIT_FAILURE;
	}
	next->format = fmt;
	next->format_from = "header";
	return VDA_EXIT_OK;
}

/* "vdattach: backing chain loop: A -> B -> A": the first @nr layers. */
static int vda_report_loop(const struct vda_chain *chain, unsigned int nr)
{
	unsigned int i;

	fprintf(stderr, "%s: backing chain loop: ", vda_prog);
	for (i = 0; i < nr; i++)
		fprintf(stderr, "%s%s", i ? " -> " : "", vda_show(chain->layer[i].path));
	fputc('\n', stderr);
	return VDA_EXIT_FAILURE;
}

/*
 * Open the backing file of layer @level as layer @level + 1, whose format
 * is already set.  Returns an exit code, the reason printed.
 */
static int vda_open_backing(const struct vda_chain_opts *o, struct vda_chain *chain,
			    unsigned int level)
{
	struct vda_layer *l = &chain->layer[level], *next = &chain->layer[level + 1];
	const char *name = vda_backing_name(l);
	unsigned int i;
	int ret;

	next->named = strdup(name);
	next->path = vda_backing_path(l->path, name);
	if (!next->named || !next->path)
		return vda_fail(o->image, ENOMEM);
	ret = vda_open_layer(next, next->path, O_RDONLY);
	if (ret) {
		vda_warn(o->image, "backing file '%s' (named by '%s'): %s",
			 vda_show(next->path), vda_show(l->path), vda_open_error(ret));
		return VDA_EXIT_FAILURE;
	}
	for (i = 0; i <= level; i++)
		if (chain->layer[i].dev == next->dev && chain->layer[i].ino == next->ino)
			return vda_report_loop(chain, level + 2);
	return VDA_EXIT_OK;
}

/**
 * vda_open_layer_rw() - open one layer for writing, outside a chain
 * @l:      an unused layer (vda_chain_init() state); closed by the caller's
 *          vda_chain_close()
 * @path:   the file
 * @format: its format, already known (from the live stack)
 *
 * What a commit needs for its target: the file read-write, for vmdk its
 * extent files read-write too and its descriptor parsed, for qcow2 its
 * header checked.  Return: an exit code, the reason printed.
 */
int vda_open_layer_rw(struct vda_layer *l, const char *path, unsigned int format)
{
	int ret;

	l->path = strdup(path);
	if (!l->path)
		return vda_fail(path, ENOMEM);
	l->format = format;
	ret = vda_open_layer(l, path, O_RDWR);
	if (ret == EFTYPE_VDA) {
		vda_warn(vda_show(path), "%s", vda_open_error(ret));
		return VDA_EXIT_FAILURE;
	}
	if (ret == -EACCES || ret == -EROFS || ret == -EPERM) {
		vda_warn(vda_show(path), "cannot be opened for writing: %s", strerror(-ret));
		return VDA_EXIT_FAILURE;
	}
	if (ret)
		return vda_fail(vda_show(path), -ret);
	if (format == VDISK_FMT_VMDK)
		return vda_load_vmdk(l, true);
	if (format == VDISK_FMT_QCOW2)
		return vda_load_qcow2(l);
	l->virtual_size = l->file_size;
	return VDA_EXIT_OK;
}

/* The sizes of a raw layer: the file's; the kernel rounds down to sectors. */
static void vda_raw_layer(struct vda_layer *l)
{
	l->virtual_size = l->file_size;
	if (l->file_size % VDA_SECTOR_SIZE)
		vda_warn(vda_show(l->path), "warning: file does not end on a %d-byte sector "
			 "boundary; the remaining end of the file will be ignored",
			 VDA_SECTOR_SIZE);
}

/* More -F than backing files: say which one has none. */
static int vda_unused_backing_formats(const struct vda_chain_opts *o,
				      const struct vda_chain *chain)
{
	const struct vda_layer *last = &chain->layer[chain->nr - 1];

	if (chain->nr == 1 && last->format == VDISK_FMT_RAW)
		return vda_usage_error(o->cmd, "%s: a raw image has no backing file; "
				       "--backing-format does not apply", o->image);
	return vda_usage_error(o->cmd, "%s: %u backing format%s given (-F), but the chain "
			       "has %u backing file%s ('%s' has none)", o->image,
			       o->nr_backing_formats, o->nr_backing_formats == 1 ? "" : "s",
			       chain->nr - 1, chain->nr == 2 ? "" : "s", last->path);
}

/*
 * A chain holds up to VDISK_MAX_LAYERS files, and a vmdk layer one more
 * per extent (up to 4096): far past the usual soft limit of 1024 open
 * files.  Like QEMU at startup, take the hard limit as the soft one; an
 * open that still fails names the limit (vda_open_error()).
 */
static void vda_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/**
 * vda_resolve_chain() - open the layers of an image, top first
 * @o:     the command line; @o->read_only is set if the top image had to be
 *         opened read-only; with @o->top_only only the top is opened (and
 *         its qcow2 header read), the backing chain is not followed
 * @chain: out: the layers; the caller closes them with vda_chain_close()
 *         whatever the outcome (a failure may leave some open)
 *
 * Return: an exit code; on failure the reason was printed.
 */
int vda_resolve_chain(struct vda_chain_opts *o, struct vda_chain *chain)
{
	unsigned int level;
	int ret;

	vda_raise_nofile();
	chain->nr = 1;
	ret = vda_open_top(o, &chain->layer[0]);
	if (!ret)
		ret = vda_top_format(o, &chain->layer[0]);
	if (ret)
		return ret;
	if (o->top_only) {
		if (chain->layer[0].format == VDISK_FMT_QCOW2)
			return vda_load_qcow2(&chain->layer[0]);
		if (chain->layer[0].format == VDISK_FMT_RAW)
			chain->layer[0].virtual_size = chain->layer[0].file_size;
		return VDA_EXIT_OK;
	}
	for (level = 0;; level++) {
		struct vda_layer *l = &chain->layer[level];

		if (l->format == VDISK_FMT_RAW) {
			vda_raw_layer(l);
			break;
		}
		if (l->format == VDISK_FMT_VMDK) {
			ret = vda_load_vmdk(l, level == 0 && o->try_write && !o->read_only);
			if (!ret && level)
				ret = vda_check_parent_cid(&chain->layer[level - 1], l,
							   o->force_parent_cid);
		} else {
			ret = vda_load_qcow2(l);
		}
		if (ret)
			return ret;
		if (!vda_backing_name(l)[0])
			break;
		if (vda_has_protocol(vda_backing_name(l))) {
			vda_warn(vda_show(l->path), "backing file '%s' is not a local file",
				 vda_show(vda_backing_name(l)));
			return VDA_EXIT_FAILURE;
		}
		if (level + 1 == VDISK_MAX_LAYERS) {
			vda_warn(o->image, "backing chain deeper than %u layers",
				 VDISK_MAX_LAYERS);
			return VDA_EXIT_FAILURE;
		}
		ret = vda_backing_format(o, level, l, &chain->layer[level + 1]);
		if (ret)
			return ret;
		chain->nr = level + 2;
		ret = vda_open_backing(o, chain, level);
		if (ret)
			return ret;
	}
	if (o->nr_backing_formats > chain->nr - 1)
		return vda_unused_backing_formats(o, chain);
	return VDA_EXIT_OK;
}

void vda_free_snapshots(struct vda_snapshots *sns)
{
	free(sns->sn);
	sns->sn = NULL;
	sns->nr = 0;
}

/*
 * Decode the @nr records in @buf into @sns.  Returns 0, or the decoder's
 * error with @msg and @bad (the record) set.
 */
static int vda_parse_snapshots(const struct vda_layer *l, const unsigned char *buf,
			       size_t len, struct vda_snapshots *sns,
			       struct vd_msg *msg, unsigned int *bad)
{
	const struct vd_qcow2_header *h = l->qcow2;
	size_t pos = 0, rec_len;
	unsigned int i;
	int ret;

	for (i = 0; i < h->nb_snapshots; i++) {
		msg->buf[0] = '\0';
		rec_len = 0;
		ret = vd_qcow2_parse_snapshot(h, buf + pos, len - pos, l->file_size,
					      &sns->sn[i], &rec_len, msg);
		if (!ret && (rec_len == 0 || rec_len > len - pos)) {
			vd_msg_set(msg, "record length %zu out of bounds", rec_len);
			ret = -EINVAL;
		}
		if (ret) {
			*bad = i;
			return ret;
		}
		pos += rec_len;
	}
	sns->nr = h->nb_snapshots;
	return 0;
}

/**
 * vda_read_snapshots() - read the internal snapshot table of a qcow2 layer
 * @path: for messages
 * @l:    the layer, with its header
 * @sns:  out: the snapshots, freed with vda_free_snapshots()
 *
 * The table's length is not in the header: the first 64 KiB are read, and
 * more (up to the end of the file or VD_QCOW2_MAX_SNAPSHOT_TABLE bytes)
 * only if a record does not fit.
 *
 * Return: an exit code; on failure the reason was printed.
 */
int vda_read_snapshots(const char *path, const struct vda_layer *l,
		       struct vda_snapshots *sns)
{
	const struct vd_qcow2_header *h = l->qcow2;
	char msgbuf[VDISK_MSG_MAX] = "";
	struct vd_msg msg = { msgbuf, sizeof(msgbuf) };
	uint64_t max, len;
	unsigned char *buf = NULL;
	unsigned int bad = 0;
	ssize_t n;
	int ret;

	memset(sns, 0, sizeof(*sns));
	if (!h->nb_snapshots)
		return VDA_EXIT_OK;
	if (h->snapshots_offset >= l->file_size) {
		vda_warn(path, "snapshot table at %llu is past the end of the file",
			 (unsigned long long)h->snapshots_offset);
		return VDA_EXIT_FAILURE;
	}
	max = l->file_size - h->snapshots_offset;
	if (max > VD_QCOW2_MAX_SNAPSHOT_TABLE)
		max = VD_QCOW2_MAX_SNAPSHOT_TABLE;
	sns->sn = calloc(h->nb_snapshots, sizeof(*sns->sn));
	if (!sns->sn)
		return vda_fail(path, ENOMEM);
	for (len = max < VDA_SNAP_TABLE_FIRST ? max : VDA_SNAP_TABLE_FIRST;;
	     len = len * 8 < max ? len * 8 : max) {
		unsigned char *nbuf = realloc(buf, len);

		if (!nbuf) {
			ret = -ENOMEM;
			break;
		}
		buf = nbuf;
		n = vda_pread_full(l->fd, buf, len, h->snapshots_offset);
		if (n < 0) {
			ret = n;
			break;
		}
		ret = vda_parse_snapshots(l, buf, n, sns, &msg, &bad);
		/* A record cut off by the buffer parses with more bytes. */
		if (!ret || len == max || (uint64_t)n < len)
			break;
	}
	free(buf);
	if (!ret)
		return VDA_EXIT_OK;
	vda_free_snapshots(sns);
	if (msgbuf[0] && ret != -ENOMEM)
		vda_warn(path, "snapshot %u of %u: %s", bad + 1, h->nb_snapshots,
			 vda_show(msgbuf));
	else
		vda_warn(path, "snapshot table: %s", strerror(-ret));
	return VDA_EXIT_FAILURE;
}

/* As qemu-img: a snapshot is named by its id first, then by its name. */
const struct vd_qcow2_snapshot *vda_find_snapshot(const struct vda_snapshots *sns,
						  const char *id_or_name)
{
	unsigned int i;

	for (i = 0; i < sns->nr; i++)
		if (!strcmp(sns->sn[i].id, id_or_name))
			return &sns->sn[i];
	for (i = 0; i < sns->nr; i++)
		if (!strcmp(sns->sn[i].name, id_or_name))
			return &sns->sn[i];
	return NULL;
}
