/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vdattach.h - what the parts of vdattach share.
 *
 * vdattach.c         command line dispatch, global help and version
 * vdattach_ctl.c     /dev/vdisk-control, ioctl wrappers, device names,
 *                    messages and exit codes
 * vdattach_attach.c  attach: the command line, the ioctl, the device node
 * vdattach_chain.c   the layer stack: opening the image and its backing
 *                    chain, formats, qcow2 headers and snapshot tables
 * vdattach_info.c    info and snapshot: the chain and the snapshots of an
 *                    image, without the driver
 * vdattach_detach.c  detach
 * vdattach_list.c    list, status, features: tables and JSON
 * vdattach_job.c     commit, rebase, job, cancel: layer jobs of a live
 *                    device (or of an image attached for the job)
 * vdattach_parse.c   their pure helpers (rates, relative names, wording),
 *                    unit-tested in userspace/tests
 */
#ifndef VDATTACH_H
#define VDATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/types.h>

#include <linux/vdisk.h>

#include "vd_probe.h"
#include "vd_qcow2.h"
#include "vd_vmdk.h"
#include "vdattach_parse.h"

#ifndef VDATTACH_VERSION
#define VDATTACH_VERSION	"0.1"
#endif

#define VDATTACH_CONTROL_PATH	"/dev/" VDISK_CONTROL_NAME

/* Exit codes: documented in --help and in vdattach(8), keep them in sync. */
enum vda_exit {
	VDA_EXIT_OK		= 0,
	VDA_EXIT_USAGE		= 1,	/* bad command line */
	VDA_EXIT_FAILURE	= 2,	/* the kernel or a file said no */
	VDA_EXIT_BUSY		= 3,	/* EBUSY, EEXIST: device in use */
	VDA_EXIT_NOT_FOUND	= 4,	/* ENXIO: no such /dev/vdN */
	VDA_EXIT_CANCELLED	= 130,	/* a layer job was cancelled (as SIGINT) */
};

/* Returned by argument parsers when the command should go on and run. */
#define VDA_CONTINUE		(-1)

/* A device with its layers, as VDISK_IOC_STATUS describes it. */
struct vda_status {
	struct vdisk_status st;
	struct vdisk_layer_info layer[VDISK_MAX_LAYERS];
};

/**
 * struct vda_layer - one layer of the stack, as vdattach opened it
 * @fd:            the image file (qcow2 image, vmdk descriptor or extent,
 *                 raw file), -1 if not open
 * @format:        enum vdisk_format, never VDISK_FMT_NONE once resolved
 * @extent_fds:    vmdk extent files in descriptor order, or NULL
 * @nr_extent_fds: entries at @extent_fds
 * @path:          the path it was opened by (the top: as given; a backing
 *                 file: its name combined with the directory of the image
 *                 naming it), allocated
 * @named:         a backing file: its name as the layer above records it,
 *                 allocated; NULL for the top
 * @format_from:   where @format came from: "-f", "probed", "header", "-F"
 * @dev:           st_dev of the file
 * @ino:           st_ino of the file
 * @file_size:     bytes of the file (of the device for a block device)
 * @virtual_size:  bytes of disk the layer describes
 * @qcow2:         the validated header of a qcow2 layer, allocated; NULL
 *                 for other formats
 * @vmdk:          the validated descriptor of a vmdk layer (CIDs, parent
 *                 hint; its extent array freed once the files are open),
 *                 allocated; NULL for other formats
 */
struct vda_layer {
	int fd;
	unsigned int format;
	int *extent_fds;
	unsigned int nr_extent_fds;
	char *path;
	char *named;
	const char *format_from;
	dev_t dev;
	ino_t ino;
	uint64_t file_size;
	uint64_t virtual_size;
	struct vd_qcow2_header *qcow2;
	struct vd_vmdk_desc *vmdk;
};

struct vda_chain {
	unsigned int nr;
	struct vda_layer layer[VDISK_MAX_LAYERS];
};

/**
 * struct vda_chain_opts - what the command line says about the chain
 * @cmd:            the command, for usage errors
 * @image:          IMAGE, the top layer
 * @format:         -f, or VDISK_FMT_NONE to probe the top image
 * @backing_format: -F in order: [0] for the top's backing file, [1] for
 *                  its backing file, ...
 * @nr_backing_formats: entries in @backing_format
 * @read_only:      in: open the top read-only; out: set when the top could
 *                  not be opened for writing and was opened read-only
 * @try_write:      open the top for writing unless @read_only (attach);
 *                  false: read-only, no warning (info, snapshot)
 * @top_only:       only open the top image (snapshot): no backing files
 * @force_parent_cid: a vmdk delta whose parentCID does not match its
 *                  parent's CID is only warned about, not refused
 */
struct vda_chain_opts {
	const char *cmd;
	const char *image;
	unsigned int format;
	const unsigned int *backing_format;
	unsigned int nr_backing_formats;
	bool read_only;
	bool try_write;
	bool top_only;
	bool force_parent_cid;
};

/* One internal snapshot table, as read from a qcow2 image. */
struct vda_snapshots {
	unsigned int nr;
	struct vd_qcow2_snapshot *sn;
};

/* vdattach_chain.c */
void vda_chain_init(struct vda_chain *chain);
void vda_chain_close(struct vda_chain *chain);
int vda_resolve_chain(struct vda_chain_opts *o, struct vda_chain *chain);
bool vda_parse_format(const char *name, unsigned int *format);
int vda_add_backing_format(const char *cmd, unsigned int *formats,
			   unsigned int *nr, const char *name);
int vda_read_snapshots(const char *path, const struct vda_layer *l,
		       struct vda_snapshots *sns);
void vda_free_snapshots(struct vda_snapshots *sns);
const struct vd_qcow2_snapshot *vda_find_snapshot(const struct vda_snapshots *sns,
						  const char *id_or_name);

const char *vda_show(const char *str);
ssize_t vda_pread_full(int fd, void *buf, size_t len, uint64_t off);
char *vda_backing_path(const char *base, const char *name);
const char *vda_open_error(int err);
int vda_open_layer_rw(struct vda_layer *l, const char *path, unsigned int format);

/* vdattach_vmdk.c */
int vda_load_vmdk(struct vda_layer *l, bool writable);
int vda_check_parent_cid(const struct vda_layer *child, const struct vda_layer *parent,
			 bool force);

/* vdattach_attach.c */
int vda_attach_image_chain(int ctl, const char *image, const struct vda_chain *chain,
			   int *index);

/* vdattach_list.c */
const char *vda_layer_path(const struct vda_status *s, unsigned int level);
void vda_json_string(const char *str);
const char *vda_printable(const char *str);

/* vdattach_ctl.c */
extern const char *vda_prog;

void vda_warn(const char *what, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int vda_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int vda_try_help(const char *cmd);
int vda_exit_for_errno(int err);
int vda_fail(const char *what, int err);

int vda_open_control(void);
int vda_ioc_features(int ctl, struct vdisk_features *f);
int vda_ioc_detach(int ctl, int index, bool lazy);
int vda_ioc_status(int ctl, int index, bool next, struct vda_status *s);
int vda_ioc_attach(int ctl, struct vdisk_attach *a);
int vda_ioc_job_start(int ctl, struct vdisk_job_start *j);
int vda_ioc_job_status(int ctl, int index, struct vdisk_job_status *s);
int vda_ioc_job_cancel(int ctl, int index);
uint64_t vda_encode_dev(dev_t dev);

bool vda_parse_index(const char *arg, int *index);
int vda_resolve_device(int ctl, const char *arg, int *index);
void vda_device_path(int index, char *buf, size_t size);

/* Commands: each takes its argv with argv[0] naming the command. */
int vda_cmd_attach(int argc, char **argv);
int vda_cmd_detach(int argc, char **argv);
int vda_cmd_list(int argc, char **argv);
int vda_cmd_status(int argc, char **argv);
int vda_cmd_features(int argc, char **argv);
int vda_cmd_info(int argc, char **argv);
int vda_cmd_snapshot(int argc, char **argv);
int vda_cmd_commit(int argc, char **argv);
int vda_cmd_rebase(int argc, char **argv);
int vda_cmd_job(int argc, char **argv);
int vda_cmd_cancel(int argc, char **argv);

#endif /* VDATTACH_H */
