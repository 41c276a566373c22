/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vdattach.h - what the parts of vdattach share.
 *
 * vdattach.c         command line dispatch, global help and version
 * vdattach_ctl.c     /dev/vdisk-control, ioctl wrappers, device names,
 *                    messages and exit codes
 * vdattach_attach.c  attach: opening the image, its format, the layer stack
 * vdattach_detach.c  detach
 * vdattach_list.c    list, status, features: tables and JSON
 */
#ifndef VDATTACH_H
#define VDATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/vdisk.h>

#include "vd_probe.h"

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
};

/* Returned by argument parsers when the command should go on and run. */
#define VDA_CONTINUE		(-1)

/* A device with its layers, as VDISK_IOC_STATUS describes it. */
struct vda_status {
	struct vdisk_status st;
	struct vdisk_layer_info layer[VDISK_MAX_LAYERS];
};

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

bool vda_parse_index(const char *arg, int *index);
int vda_resolve_device(int ctl, const char *arg, int *index);
void vda_device_path(int index, char *buf, size_t size);

/* Commands: each takes its argv with argv[0] naming the command. */
int vda_cmd_attach(int argc, char **argv);
int vda_cmd_detach(int argc, char **argv);
int vda_cmd_list(int argc, char **argv);
int vda_cmd_status(int argc, char **argv);
int vda_cmd_features(int argc, char **argv);

#endif /* VDATTACH_H */
