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
	} u;
	unsigned int which, msglen;
	struct vd_msg msg;
	char *buf;
	int ret;

	if (size < 2)
		return 0;
	which = data[0] % 5;
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
			CHECK(u.d.index >= 0 && !u.d.reserved0 && !(u.d.flags & ~VDISK_DETACH_FLAGS_ALL));
		break;
	case 3:
		ret = vd_check_status(&u.st);
		CHECK(ret == 0 || ret == -EINVAL);
		if (!ret && u.st.max_layers)
			CHECK(u.st.layers && u.st.layer_info_size >= sizeof(struct vdisk_layer_info));
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
		/* the attach and layer checks explain every refusal */
		if (which <= 1 && msglen > 1)
			CHECK(!ret == !buf[0]);
		if (!ret)
			CHECK(!buf[0]);
	}
	free(buf);
	return 0;
}
