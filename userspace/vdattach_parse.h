/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vdattach_parse.h - pure helpers of the layer job commands: argument
 * parsing, relative paths, the wording of job states and progress.  They
 * touch no file and no global, so userspace/tests builds them as they are.
 */
#ifndef VDATTACH_PARSE_H
#define VDATTACH_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/vdisk.h>

int vda_parse_rate(const char *arg, uint64_t *rate);
char *vda_relative_path(const char *from_dir, const char *to);
bool vda_name_has_protocol(const char *name);

const char *vda_job_type_name(uint32_t type);
const char *vda_job_state_name(uint32_t state);
const char *vda_job_phase_name(uint32_t phase);
double vda_job_percent(const struct vdisk_job_status *s);
double vda_job_mib_per_s(const struct vdisk_job_status *s);
void vda_short_size(uint64_t bytes, char *buf, size_t size);
void vda_job_progress_line(const struct vdisk_job_status *s, char *buf, size_t size);
void vda_job_summary(const char *cmd, const char *dev, const struct vdisk_job_status *s,
		     char *buf, size_t size);

#endif /* VDATTACH_PARSE_H */
