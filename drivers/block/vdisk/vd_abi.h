/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vd_abi.h - validation of the ioctl structs, shared with userspace tests.
 */
#ifndef VD_ABI_H
#define VD_ABI_H

#include "vd_pure.h"
#include "../../../include/uapi/linux/vdisk.h"

/* Smallest struct sizes userspace may pass: those of ABI version 1. */
#define VD_ATTACH_SIZE_VER1	sizeof(struct vdisk_attach)
#define VD_LAYER_SPEC_SIZE_VER1	sizeof(struct vdisk_layer_spec)
#define VD_LAYER_INFO_SIZE_VER1	sizeof(struct vdisk_layer_info)
/* Largest struct userspace may claim; the tail beyond ours must be zero. */
#define VD_STRUCT_SIZE_MAX	4096

int vd_check_attach(const struct vdisk_attach *a, struct vd_msg *msg);
int vd_check_layer_spec(const struct vdisk_layer_spec *s, unsigned int idx,
			struct vd_msg *msg);
int vd_check_detach(const struct vdisk_detach *d);
int vd_check_status(const struct vdisk_status *s);
int vd_check_features(const struct vdisk_features *f);
int vd_check_job_start(const struct vdisk_job_start *j, struct vd_msg *msg);
int vd_check_job_status(const struct vdisk_job_status *s);
int vd_check_job_cancel(const struct vdisk_job_cancel *c);

#endif /* VD_ABI_H */
