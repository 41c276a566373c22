// SPDX-License-Identifier: GPL-2.0
/*
 * vd_abi.c - validation of ioctl arguments after they were copied in.
 *
 * Everything the control device accepts passes through here before any
 * resource is taken, so the checks are pure and unit-tested in userspace:
 * unknown flags and non-zero reserved members are -EINVAL (the ABI can then
 * give them meaning later), counts are bounded.
 */
#include "vd_abi.h"

static bool vd_all_zero(const u64 *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i])
			return false;
	return true;
}

#define VD_RESERVED_ZERO(s) vd_all_zero((s)->reserved, sizeof((s)->reserved) / sizeof(u64))

int vd_check_attach(const struct vdisk_attach *a, struct vd_msg *msg)
{
	if (a->flags & ~VDISK_ATTACH_FLAGS_ALL) {
		vd_msg_set(msg, "attach: unknown flags 0x%x",
			   a->flags & ~VDISK_ATTACH_FLAGS_ALL);
		return -EINVAL;
	}
	if ((a->flags & VDISK_ATTACH_SHARE_ALL) && !(a->flags & VDISK_ATTACH_READ_ONLY)) {
		vd_msg_set(msg, "attach: SHARE_ALL needs READ_ONLY (a writer shares no writes)");
		return -EINVAL;
	}
	if ((a->flags & VDISK_ATTACH_SHARE_ALL) && (a->flags & VDISK_ATTACH_NO_LOCK)) {
		vd_msg_set(msg, "attach: SHARE_ALL and NO_LOCK exclude each other");
		return -EINVAL;
	}
	if (!VD_RESERVED_ZERO(a) || a->reserved0) {
		vd_msg_set(msg, "attach: reserved fields must be zero");
		return -EINVAL;
	}
	if (a->cache_kib > VDISK_CACHE_KIB_MAX) {
		vd_msg_set(msg, "attach: cache_kib %u exceeds %u", a->cache_kib,
			   VDISK_CACHE_KIB_MAX);
		return -EINVAL;
	}
	if (a->index < -1) {
		vd_msg_set(msg, "attach: index %d is neither -1 nor a device number",
			   a->index);
		return -EINVAL;
	}
	if (a->nr_layers == 0 || a->nr_layers > VDISK_MAX_LAYERS) {
		vd_msg_set(msg, "attach: nr_layers %u is outside 1..%u",
			   a->nr_layers, VDISK_MAX_LAYERS);
		return -EINVAL;
	}
	if (!a->layers) {
		vd_msg_set(msg, "attach: layers pointer is NULL");
		return -EINVAL;
	}
	if (a->layer_spec_size < VD_LAYER_SPEC_SIZE_VER1 ||
	    a->layer_spec_size > VD_STRUCT_SIZE_MAX) {
		vd_msg_set(msg, "attach: layer_spec_size %u is outside %zu..%u",
			   a->layer_spec_size, VD_LAYER_SPEC_SIZE_VER1,
			   (unsigned int)VD_STRUCT_SIZE_MAX);
		return -EINVAL;
	}
	return 0;
}

int vd_check_layer_spec(const struct vdisk_layer_spec *s, unsigned int idx,
			struct vd_msg *msg)
{
	if (s->fd < 0) {
		vd_msg_set(msg, "layer %u: fd %d is not a file descriptor", idx, s->fd);
		return -EBADF;
	}
	if (s->format == VDISK_FMT_NONE || s->format >= VDISK_FMT_COUNT) {
		vd_msg_set(msg, "layer %u: format %u is not a known format", idx,
			   s->format);
		return -EINVAL;
	}
	if (s->flags & ~VDISK_LAYER_FLAGS_ALL) {
		vd_msg_set(msg, "layer %u: unknown flags 0x%x", idx, s->flags);
		return -EINVAL;
	}
	if (!VD_RESERVED_ZERO(s)) {
		vd_msg_set(msg, "layer %u: reserved fields must be zero", idx);
		return -EINVAL;
	}
	if (s->nr_extent_fds > VDISK_MAX_EXTENT_FDS) {
		vd_msg_set(msg, "layer %u: nr_extent_fds %u exceeds %u", idx,
			   s->nr_extent_fds, VDISK_MAX_EXTENT_FDS);
		return -EINVAL;
	}
	if (!s->nr_extent_fds != !s->extent_fds) {
		vd_msg_set(msg, "layer %u: nr_extent_fds and extent_fds disagree", idx);
		return -EINVAL;
	}
	return 0;
}

int vd_check_detach(const struct vdisk_detach *d)
{
	if (d->flags & ~VDISK_DETACH_FLAGS_ALL || d->reserved0 ||
	    !VD_RESERVED_ZERO(d) || d->index < 0)
		return -EINVAL;
	return 0;
}

int vd_check_status(const struct vdisk_status *s)
{
	if (s->flags & ~VDISK_STATUS_FLAGS_ALL || !VD_RESERVED_ZERO(s) ||
	    s->index < 0)
		return -EINVAL;
	if (s->max_layers && (!s->layers ||
			      s->layer_info_size < VD_LAYER_INFO_SIZE_VER1 ||
			      s->layer_info_size > VD_STRUCT_SIZE_MAX))
		return -EINVAL;
	return 0;
}

int vd_check_features(const struct vdisk_features *f)
{
	if (f->flags || !VD_RESERVED_ZERO(f))
		return -EINVAL;
	return 0;
}

int vd_check_job_start(const struct vdisk_job_start *j, struct vd_msg *msg)
{
	u32 type_flags;

	if (j->flags & ~VDISK_JOB_FLAGS_ALL) {
		vd_msg_set(msg, "job: unknown flags 0x%x",
			   j->flags & ~VDISK_JOB_FLAGS_ALL);
		return -EINVAL;
	}
	if (!VD_RESERVED_ZERO(j) || j->id) {
		vd_msg_set(msg, "job: reserved fields and id must be zero");
		return -EINVAL;
	}
	if (j->index < 0) {
		vd_msg_set(msg, "job: index %d is not a device number", j->index);
		return -EINVAL;
	}
	if (j->nr_layers > VDISK_MAX_LAYERS) {
		vd_msg_set(msg, "job: nr_layers %u exceeds %u", j->nr_layers,
			   VDISK_MAX_LAYERS);
		return -EINVAL;
	}
	if (j->nr_layers && (!j->layers ||
			     j->layer_spec_size < VD_LAYER_SPEC_SIZE_VER1 ||
			     j->layer_spec_size > VD_STRUCT_SIZE_MAX)) {
		vd_msg_set(msg, "job: layers pointer or layer_spec_size %u invalid",
			   j->layer_spec_size);
		return -EINVAL;
	}
	switch (j->type) {
	case VDISK_JOB_COMMIT:
		type_flags = VDISK_JOB_EMPTY_TOP;
		if (j->nr_layers != 1) {
			vd_msg_set(msg, "commit: nr_layers %u, want 1 (the target)",
				   j->nr_layers);
			return -EINVAL;
		}
		if (!j->base_level || j->base_level >= VDISK_MAX_LAYERS) {
			vd_msg_set(msg, "commit: base_level %u is not a backing layer",
				   j->base_level);
			return -EINVAL;
		}
		break;
	case VDISK_JOB_REBASE:
		type_flags = VDISK_JOB_UNSAFE | VDISK_JOB_DEDUP;
		if (j->base_level) {
			vd_msg_set(msg, "rebase: base_level must be 0");
			return -EINVAL;
		}
		if (!j->backing_name) {
			vd_msg_set(msg, "rebase: no backing_name");
			return -EINVAL;
		}
		if ((j->flags & VDISK_JOB_UNSAFE) && (j->flags & VDISK_JOB_DEDUP)) {
			vd_msg_set(msg, "rebase: unsafe and dedup exclude each other");
			return -EINVAL;
		}
		/* The top stays: the new stack is the top and these. */
		if (j->nr_layers > VDISK_MAX_LAYERS - 1) {
			vd_msg_set(msg, "rebase: nr_layers %u under the top exceeds %u",
				   j->nr_layers, VDISK_MAX_LAYERS - 1);
			return -EINVAL;
		}
		break;
	default:
		vd_msg_set(msg, "job: type %u is not a known job", j->type);
		return -EINVAL;
	}
	if (j->flags & ~type_flags) {
		vd_msg_set(msg, "job: flags 0x%x do not apply to a %s",
			   j->flags & ~type_flags,
			   j->type == VDISK_JOB_COMMIT ? "commit" : "rebase");
		return -EINVAL;
	}
	return 0;
}

int vd_check_job_status(const struct vdisk_job_status *s)
{
	/* The out members (id, job_flags, ...) may hold anything on the way in. */
	if (s->flags || s->reserved0 || !VD_RESERVED_ZERO(s) || s->index < 0)
		return -EINVAL;
	return 0;
}

int vd_check_job_cancel(const struct vdisk_job_cancel *c)
{
	if (c->flags || c->reserved0 || !VD_RESERVED_ZERO(c) || c->index < 0)
		return -EINVAL;
	return 0;
}
