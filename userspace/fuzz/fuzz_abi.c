// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_abi.c - libFuzzer target: the ioctl struct checks (vd_abi.c) on raw
 * bytes.  Byte 0 picks the struct and byte 1 the message buffer size; the
 * rest is the struct (zero padded).  Checked: no memory error, the message
 * always NUL-terminated inside its buffer, a message exactly when refused,
 * and acceptance only of structs that satisfy the documented rules.
 */
#include <stdint.h>
#include <stdlib.h>

#include "vd_abi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool all_zero(const u64 *v, size_t n)
{
	while (n--)
		if (v[n])
			return false;
	return true;
}

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "violated: %s\n", #c); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	union {
		struct vdisk_attach a;
		struct vdisk_layer_spec s;
		struct vdisk_detach d;
		struct vdisk_status st;
		struct vdisk_features f;
		struct vdisk_job_start j;
		struct vdisk_job_status js;
		struct vdisk_job_cancel jc;
	} u;
	unsigned int which, msglen;
	struct vd_msg msg;
	char *buf;
	int ret;

	if (size < 2)
		return 0;
	which = data[0] % 8;
	msglen = data[1] % 80;	/* 0: no buffer */
	memset(&u, 0, sizeof(u));
	memcpy(&u, data + 2, size - 2 < sizeof(u) ? size - 2 : sizeof(u));
	buf = malloc(msglen ? msglen : 1);
	memset(buf, 0, msglen ? msglen : 1);
	msg.buf = msglen ? buf : NULL;
	msg.len = msglen;

	switch (which) {
	case 0:
		ret = vd_check_attach(&u.a, &msg);
		CHECK(ret == 0 || ret == -EINVAL);
		if (!ret) {
			CHECK(!(u.a.flags & ~VDISK_ATTACH_FLAGS_ALL));
			CHECK(all_zero(u.a.reserved, 3) && !u.a.reserved0);
			CHECK(u.a.cache_kib <= VDISK_CACHE_KIB_MAX);
			CHECK(u.a.index >= -1);
			CHECK(u.a.nr_layers >= 1 && u.a.nr_layers <= VDISK_MAX_LAYERS);
			CHECK(u.a.layers);
			CHECK(u.a.layer_spec_size >= sizeof(struct vdisk_layer_spec) &&
			      u.a.layer_spec_size <= VD_STRUCT_SIZE_MAX);
		}
		break;
	case 1:
		ret = vd_check_layer_spec(&u.s, data[1], &msg);
		CHECK(ret == 0 || ret == -EINVAL || ret == -EBADF);
		if (!ret) {
			CHECK(u.s.fd >= 0);
			CHECK(u.s.format > VDISK_FMT_NONE && u.s.format < VDISK_FMT_COUNT);
			CHECK(!u.s.flags);
			CHECK(all_zero(u.s.reserved, 2));
			CHECK(u.s.nr_extent_fds <= VDISK_MAX_EXTENT_FDS);
			CHECK(!u.s.nr_extent_fds == !u.s.extent_fds);
		}
		break;
	case 2:
		ret = vd_check_detach(&u.d);
		CHECK(ret == 0 || ret == -EINVAL);
		if (!ret)
			CHECK(u.d.index >= 0 && !u.d.reserved0 &&
			      !(u.d.flags & ~VDISK_DETACH_FLAGS_ALL));
		break;
	case 3:
		ret = vd_check_status(&u.st);
		CHECK(ret == 0 || ret == -EINVAL);
		if (!ret && u.st.max_layers)
			CHECK(u.st.layers &&
			      u.st.layer_info_size >= sizeof(struct vdisk_layer_info));
		break;
	case 5:
		ret = vd_check_job_start(&u.j, &msg);
		CHECK(ret == 0 || ret == -EINVAL);
		if (ret)
			break;
		CHECK(!(u.j.flags & ~VDISK_JOB_FLAGS_ALL));
		CHECK(all_zero(u.j.reserved, 3) && !u.j.id);
		CHECK(u.j.index >= 0);
		CHECK(u.j.nr_layers <= VDISK_MAX_LAYERS);
		if (u.j.nr_layers)
			CHECK(u.j.layers &&
			      u.j.layer_spec_size >= sizeof(struct vdisk_layer_spec) &&
			      u.j.layer_spec_size <= VD_STRUCT_SIZE_MAX);
		if (u.j.type == VDISK_JOB_COMMIT) {
			CHECK(u.j.nr_layers == 1);
			CHECK(u.j.base_level >= 1 && u.j.base_level < VDISK_MAX_LAYERS);
			CHECK(!(u.j.flags & ~VDISK_JOB_EMPTY_TOP));
		} else {
			CHECK(u.j.type == VDISK_JOB_REBASE);
			CHECK(!u.j.base_level && u.j.backing_name);
			CHECK(!(u.j.flags & VDISK_JOB_EMPTY_TOP));
			CHECK(!((u.j.flags & VDISK_JOB_UNSAFE) && (u.j.flags & VDISK_JOB_DEDUP)));
		}
		break;
	case 6:
		ret = vd_check_job_status(&u.js);
		CHECK(ret == 0 || ret == -EINVAL);
		if (!ret)
			CHECK(!u.js.flags && !u.js.reserved0 && all_zero(u.js.reserved, 1) &&
			      u.js.index >= 0);
		break;
	case 7:
		ret = vd_check_job_cancel(&u.jc);
		CHECK(ret == 0 || ret == -EINVAL);
		if (!ret)
			CHECK(!u.jc.flags && !u.jc.reserved0 && all_zero(u.jc.reserved, 2) &&
			      u.jc.index >= 0);
		break;
	default:
		ret = vd_check_features(&u.f);
		CHECK(ret == 0 || ret == -EINVAL);
		if (!ret)
			CHECK(!u.f.flags && all_zero(u.f.reserved, 4));
		break;
	}
	if (msglen) {
		CHECK(memchr(buf, '\0', msglen));
		/* the attach, layer and job start checks explain every refusal */
		if ((which <= 1 || which == 5) && msglen > 1)
			CHECK(!ret == !buf[0]);
		if (!ret)
			CHECK(!buf[0]);
	}
	free(buf);
	return 0;
}
