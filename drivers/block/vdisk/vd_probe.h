/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vd_probe.h - format names and recognition of image files by content.
 */
#ifndef VD_PROBE_H
#define VD_PROBE_H

#include "vd_pure.h"
#include "../../../include/uapi/linux/vdisk.h"

/* Bytes vd_probe_format() wants to see: the descriptor check reads most. */
#define VD_PROBE_BYTES	512

const char *vd_format_name(unsigned int format);
unsigned int vd_format_from_name(const char *name);
unsigned int vd_probe_format(const void *buf, size_t len);

#endif /* VD_PROBE_H */
