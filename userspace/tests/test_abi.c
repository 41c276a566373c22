// SPDX-License-Identifier: GPL-2.0
/*
 * test_abi.c - validation of the ioctl structs (vd_abi.c).  Table driven:
 * each case is a crafted struct, the errno it must get and a word the
 * message must contain so that a refusal names the field.
 */
#include "vt.h"
#include "vd_abi.h"

/* Cases start from a good struct and override one field on purpose. */
#ifdef __clang__
#pragma clang diagnostic ignored "-Winitializer-overrides"
#else
#pragma GCC diagnostic ignored "-Woverride-init"
#endif

#define SPEC_SZ (uint32_t)sizeof(struct vdisk_layer_spec)
#define GOOD .size = sizeof(struct vdisk_attach), .index = -1, .nr_layers = 1, \
	     .layers = 0x1000, .layer_spec_size = SPEC_SZ

static const struct {
	const char *name;
	struct vdisk_attach a;
	int ret;
	const char *word;
} attach_cases[] = {
	{ "valid", { GOOD }, 0, NULL },
	{ "valid_limits", { GOOD, .flags = VDISK_ATTACH_FLAGS_ALL, .index = 0x7fffffff,
	  .nr_layers = VDISK_MAX_LAYERS, .layer_spec_size = 4096 }, 0, NULL },
	{ "unknown_flag", { GOOD, .flags = 1U << 4 }, -EINVAL, "flags 0x10" },
	{ "unknown_high_flag", { GOOD, .flags = 1U | 1U << 31 }, -EINVAL, "flags 0x80000000" },
	{ "reserved0", { GOOD, .reserved = { 1 } }, -EINVAL, "reserved" },
	{ "reserved2", { GOOD, .reserved = { 0, 0, 1ULL << 63 } }, -EINVAL, "reserved" },
	{ "reserved_u32", { GOOD, .reserved0 = 1 }, -EINVAL, "reserved" },
	{ "cache_kib_max", { GOOD, .cache_kib = VDISK_CACHE_KIB_MAX }, 0, NULL },
	{ "cache_kib_too_big", { GOOD, .cache_kib = VDISK_CACHE_KIB_MAX + 1 }, -EINVAL, "cache_kib" },
	{ "index_minus2", { GOOD, .index = -2 }, -EINVAL, "index -2" },
	{ "index_min", { GOOD, .index = INT32_MIN }, -EINVAL, "index -2147483648" },
	{ "nr_layers_0", { GOOD, .nr_layers = 0 }, -EINVAL, "nr_layers 0" },
	{ "nr_layers_65", { GOOD, .nr_layers = 65 }, -EINVAL, "nr_layers 65" },
	{ "nr_layers_max", { GOOD, .nr_layers = ~0U }, -EINVAL, "nr_layers 4294967295" },
	{ "layers_null", { GOOD, .layers = 0 }, -EINVAL, "layers pointer" },
	{ "spec_size_small", { GOOD, .layer_spec_size = SPEC_SZ - 1 }, -EINVAL, "layer_spec_size" },
	{ "spec_size_0", { GOOD, .layer_spec_size = 0 }, -EINVAL, "layer_spec_size 0" },
	{ "spec_size_4097", { GOOD, .layer_spec_size = 4097 }, -EINVAL, "layer_spec_size 4097" },
};

VT_TEST(abi_attach_table)
{
	size_t i;

	for (i = 0; i < VT_ARRAY_SIZE(attach_cases); i++) {
		char buf[VDISK_MSG_MAX] = "";
		struct vd_msg msg = { buf, sizeof(buf) };
		int ret = vd_check_attach(&attach_cases[i].a, &msg);

		VT_EXPECT_MSG(ret == attach_cases[i].ret, "%s: ret %d", attach_cases[i].name, ret);
		if (attach_cases[i].word) {
			VT_EXPECT_MSG(strstr(buf, attach_cases[i].word) && strstr(buf, "attach"),
				      "%s: message \"%s\" lacks \"%s\"", attach_cases[i].name,
				      buf, attach_cases[i].word);
		} else {
			VT_EXPECT_MSG(!buf[0], "%s: message \"%s\"", attach_cases[i].name, buf);
		}
	}
}

static const struct {
	const char *name;
	struct vdisk_layer_spec s;
	unsigned int idx;
	int ret;
	const char *word;
} spec_cases[] = {
	{ "valid_raw", { .fd = 3, .format = VDISK_FMT_RAW }, 0, 0, NULL },
	{ "valid_fd0_vmdk", { .fd = 0, .format = VDISK_FMT_VMDK, .nr_extent_fds = 4096,
	  .extent_fds = 8 }, 1, 0, NULL },
	{ "fd_minus1", { .fd = -1, .format = VDISK_FMT_RAW }, 2, -EBADF, "fd -1" },
	{ "fd_min", { .fd = INT32_MIN, .format = VDISK_FMT_RAW }, 0, -EBADF, "fd -2147483648" },
	{ "format_none", { .fd = 3 }, 0, -EINVAL, "format 0" },
	{ "format_count", { .fd = 3, .format = VDISK_FMT_COUNT }, 0, -EINVAL, "format 4" },
	{ "format_max", { .fd = 3, .format = ~0U }, 0, -EINVAL, "format 4294967295" },
	{ "unknown_flags", { .fd = 3, .format = 1, .flags = 0x80 }, 9, -EINVAL, "flags 0x80" },
	{ "reserved", { .fd = 3, .format = 1, .reserved = { 0, 1 } }, 0, -EINVAL, "reserved" },
	{ "extents_4097", { .fd = 3, .format = 3, .nr_extent_fds = 4097, .extent_fds = 8 },
	  0, -EINVAL, "nr_extent_fds 4097" },
	{ "extents_no_pointer", { .fd = 3, .format = 3, .nr_extent_fds = 1 }, 0, -EINVAL,
	  "extent_fds" },
	{ "extents_no_count", { .fd = 3, .format = 3, .extent_fds = 8 }, 0, -EINVAL,
	  "extent_fds" },
	{ "index_in_message", { .fd = -7, .format = 1 }, 63, -EBADF, "layer 63" },
};

VT_TEST(abi_layer_spec_table)
{
	size_t i;

	for (i = 0; i < VT_ARRAY_SIZE(spec_cases); i++) {
		char buf[VDISK_MSG_MAX] = "", layer[16];
		struct vd_msg msg = { buf, sizeof(buf) };
		int ret = vd_check_layer_spec(&spec_cases[i].s, spec_cases[i].idx, &msg);

		snprintf(layer, sizeof(layer), "layer %u", spec_cases[i].idx);
		VT_EXPECT_MSG(ret == spec_cases[i].ret, "%s: ret %d", spec_cases[i].name, ret);
		if (spec_cases[i].word) {
			VT_EXPECT_MSG(strstr(buf, spec_cases[i].word) && strstr(buf, layer),
				      "%s: message \"%s\" lacks \"%s\"", spec_cases[i].name,
				      buf, spec_cases[i].word);
		} else {
			VT_EXPECT_MSG(!buf[0], "%s: message \"%s\"", spec_cases[i].name, buf);
		}
	}
}

VT_TEST(abi_first_message_wins)
{
	struct vdisk_attach a = { GOOD, .nr_layers = 0 };
	struct vdisk_layer_spec s = { .fd = -1 };
	char buf[VDISK_MSG_MAX] = "";
	struct vd_msg msg = { buf, sizeof(buf) };

	VT_EXPECT_EQ(vd_check_attach(&a, &msg), -EINVAL);
	VT_EXPECT_EQ(vd_check_layer_spec(&s, 0, &msg), -EBADF);
	VT_EXPECT_CONTAINS(buf, "nr_layers");
	VT_EXPECT(!strstr(buf, "fd"));
}

VT_TEST(abi_message_buffers)
{
	struct vdisk_layer_spec s = { .fd = -1, .format = 1 };
	struct vd_msg none = { NULL, 0 }, zero_len;
	char small[8] = "", one[1] = "", canary[4] = "xyz";
	struct vd_msg tiny = { small, sizeof(small) }, single = { one, 1 };

	zero_len.buf = canary;
	zero_len.len = 0;
	VT_EXPECT_EQ(vd_check_layer_spec(&s, 0, NULL), -EBADF);
	VT_EXPECT_EQ(vd_check_layer_spec(&s, 0, &none), -EBADF);
	VT_EXPECT_EQ(vd_check_layer_spec(&s, 0, &tiny), -EBADF);
	VT_EXPECT_EQ(strnlen(small, sizeof(small)), sizeof(small) - 1);
	VT_EXPECT_EQ(vd_check_layer_spec(&s, 0, &single), -EBADF);
	VT_EXPECT_EQ(one[0], 0);
	canary[0] = '\0';
	VT_EXPECT_EQ(vd_check_layer_spec(&s, 0, &zero_len), -EBADF);
	VT_EXPECT_EQ(canary[1], 'y');
}

VT_TEST(abi_detach_status_features)
{
	struct vdisk_detach d = { .size = sizeof(d) };
	struct vdisk_status st = { .size = sizeof(st) };
	struct vdisk_features f = { .size = sizeof(f) };

	VT_EXPECT_EQ(vd_check_detach(&d), 0);
	d.flags = VDISK_DETACH_LAZY;
	VT_EXPECT_EQ(vd_check_detach(&d), 0);
	d.flags = 2;
	VT_EXPECT_EQ(vd_check_detach(&d), -EINVAL);
	d.flags = 0;
	d.reserved0 = 1;
	VT_EXPECT_EQ(vd_check_detach(&d), -EINVAL);
	d.reserved0 = 0;
	d.reserved[1] = 1;
	VT_EXPECT_EQ(vd_check_detach(&d), -EINVAL);
	d.reserved[1] = 0;
	d.index = -1;
	VT_EXPECT_EQ(vd_check_detach(&d), -EINVAL);

	VT_EXPECT_EQ(vd_check_status(&st), 0);
	st.flags = VDISK_STATUS_NEXT;
	VT_EXPECT_EQ(vd_check_status(&st), 0);
	st.max_layers = 1;
	VT_EXPECT_EQ(vd_check_status(&st), -EINVAL);
	st.layers = 8;
	VT_EXPECT_EQ(vd_check_status(&st), -EINVAL);
	st.layer_info_size = sizeof(struct vdisk_layer_info);
	VT_EXPECT_EQ(vd_check_status(&st), 0);
	st.layer_info_size = 4097;
	VT_EXPECT_EQ(vd_check_status(&st), -EINVAL);
	st.layer_info_size = sizeof(struct vdisk_layer_info);
	st.reserved[2] = 1;
	VT_EXPECT_EQ(vd_check_status(&st), -EINVAL);
	st.reserved[2] = 0;
	st.index = -1;
	VT_EXPECT_EQ(vd_check_status(&st), -EINVAL);

	VT_EXPECT_EQ(vd_check_features(&f), 0);
	f.flags = 1;
	VT_EXPECT_EQ(vd_check_features(&f), -EINVAL);
	f.flags = 0;
	f.reserved[0] = 1;
	VT_EXPECT_EQ(vd_check_features(&f), -EINVAL);
}

/* The ABI promises identical layouts for 32- and 64-bit userspace. */
VT_TEST(abi_struct_layout)
{
	VT_EXPECT_EQ(sizeof(struct vdisk_features), 56);
	VT_EXPECT_EQ(sizeof(struct vdisk_layer_spec), 48);
	VT_EXPECT_EQ(sizeof(struct vdisk_attach), 72);
	VT_EXPECT_EQ(sizeof(struct vdisk_detach), 32);
	VT_EXPECT_EQ(sizeof(struct vdisk_layer_info), 304);
	VT_EXPECT_EQ(sizeof(struct vdisk_status), 88);
	VT_EXPECT_EQ(sizeof(struct vdisk_attach) % 8, 0);
	VT_EXPECT_EQ(sizeof(struct vdisk_status) % 8, 0);
}

/* ---- layer jobs ---- */

#define COMMIT .size = sizeof(struct vdisk_job_start), .type = VDISK_JOB_COMMIT, \
	       .base_level = 1, .nr_layers = 1, .layers = 0x1000, .layer_spec_size = SPEC_SZ
#define REBASE .size = sizeof(struct vdisk_job_start), .type = VDISK_JOB_REBASE, \
	       .nr_layers = 2, .layers = 0x1000, .layer_spec_size = SPEC_SZ, \
	       .backing_name = 0x2000

static const struct {
	const char *name;
	struct vdisk_job_start j;
	int ret;
	const char *word;
} job_cases[] = {
	{ "commit", { COMMIT }, 0, NULL },
	{ "commit_empty_top", { COMMIT, .flags = VDISK_JOB_EMPTY_TOP }, 0, NULL },
	{ "commit_deepest", { COMMIT, .base_level = VDISK_MAX_LAYERS - 1 }, 0, NULL },
	{ "commit_backing_name", { COMMIT, .backing_name = 0x2000, .rate_limit = ~0ULL,
	  .msg_size = 512, .msg = 0x3000, .index = 0x7fffffff }, 0, NULL },
	{ "commit_spec_size_4096", { COMMIT, .layer_spec_size = 4096 }, 0, NULL },
	{ "rebase", { REBASE }, 0, NULL },
	{ "rebase_unsafe", { REBASE, .flags = VDISK_JOB_UNSAFE }, 0, NULL },
	{ "rebase_dedup", { REBASE, .flags = VDISK_JOB_DEDUP }, 0, NULL },
	{ "rebase_flatten", { REBASE, .nr_layers = 0, .layers = 0, .layer_spec_size = 0 },
	  0, NULL },
	{ "rebase_max_layers", { REBASE, .nr_layers = VDISK_MAX_LAYERS }, 0, NULL },

	{ "unknown_flag", { COMMIT, .flags = 1U << 3 }, -EINVAL, "unknown flags 0x8" },
	{ "unknown_high_flag", { REBASE, .flags = VDISK_JOB_UNSAFE | 1U << 31 }, -EINVAL,
	  "unknown flags 0x80000000" },
	{ "reserved_first", { COMMIT, .reserved = { 1 } }, -EINVAL, "reserved" },
	{ "reserved_last", { REBASE, .reserved = { 0, 0, 0, 1ULL << 63 } }, -EINVAL, "reserved" },
	{ "index_minus1", { COMMIT, .index = -1 }, -EINVAL, "index -1" },
	{ "index_min", { REBASE, .index = INT32_MIN }, -EINVAL, "index -2147483648" },
	{ "nr_layers_65", { REBASE, .nr_layers = VDISK_MAX_LAYERS + 1 }, -EINVAL,
	  "nr_layers 65" },
	{ "nr_layers_max", { COMMIT, .nr_layers = ~0U }, -EINVAL, "nr_layers 4294967295" },
	{ "layers_null", { COMMIT, .layers = 0 }, -EINVAL, "layers pointer" },
	{ "spec_size_small", { REBASE, .layer_spec_size = SPEC_SZ - 1 }, -EINVAL,
	  "layer_spec_size 47" },
	{ "spec_size_0", { COMMIT, .layer_spec_size = 0 }, -EINVAL, "layer_spec_size 0" },
	{ "spec_size_4097", { COMMIT, .layer_spec_size = 4097 }, -EINVAL,
	  "layer_spec_size 4097" },
	{ "type_none", { COMMIT, .type = VDISK_JOB_NONE }, -EINVAL, "type 0" },
	{ "type_count", { COMMIT, .type = VDISK_JOB_TYPE_COUNT }, -EINVAL, "type 3" },
	{ "type_max", { REBASE, .type = ~0U }, -EINVAL, "type 4294967295" },
	{ "commit_no_layers", { COMMIT, .nr_layers = 0, .layers = 0 }, -EINVAL,
	  "commit: nr_layers 0" },
	{ "commit_two_layers", { COMMIT, .nr_layers = 2 }, -EINVAL, "commit: nr_layers 2" },
	{ "commit_base_level_0", { COMMIT, .base_level = 0 }, -EINVAL,
	  "commit: base_level 0" },
	{ "commit_base_level_64", { COMMIT, .base_level = VDISK_MAX_LAYERS }, -EINVAL,
	  "base_level 64" },
	{ "commit_base_level_max", { COMMIT, .base_level = ~0U }, -EINVAL,
	  "base_level 4294967295" },
	{ "commit_unsafe", { COMMIT, .flags = VDISK_JOB_UNSAFE }, -EINVAL,
	  "flags 0x2 do not apply to a commit" },
	{ "commit_dedup", { COMMIT, .flags = VDISK_JOB_DEDUP | VDISK_JOB_EMPTY_TOP }, -EINVAL,
	  "flags 0x4 do not apply to a commit" },
	{ "rebase_empty_top", { REBASE, .flags = VDISK_JOB_EMPTY_TOP }, -EINVAL,
	  "flags 0x1 do not apply to a rebase" },
	{ "rebase_base_level", { REBASE, .base_level = 1 }, -EINVAL,
	  "rebase: base_level must be 0" },
	{ "rebase_no_backing_name", { REBASE, .backing_name = 0 }, -EINVAL,
	  "rebase: no backing_name" },
	{ "rebase_unsafe_dedup", { REBASE, .flags = VDISK_JOB_UNSAFE | VDISK_JOB_DEDUP },
	  -EINVAL, "unsafe and dedup exclude each other" },
	/* the first problem found is the one named */
	{ "flags_before_reserved", { COMMIT, .flags = 8, .reserved = { 1 } }, -EINVAL,
	  "unknown flags" },
	{ "reserved_before_type", { COMMIT, .type = 9, .reserved = { 1 } }, -EINVAL, "reserved" },
	{ "layers_before_type", { COMMIT, .type = 9, .layers = 0 }, -EINVAL, "layers pointer" },
};

VT_TEST(abi_job_start_table)
{
	size_t i;

	for (i = 0; i < VT_ARRAY_SIZE(job_cases); i++) {
		char buf[VDISK_MSG_MAX] = "";
		struct vd_msg msg = { buf, sizeof(buf) };
		int ret = vd_check_job_start(&job_cases[i].j, &msg);

		VT_EXPECT_MSG(ret == job_cases[i].ret, "%s: ret %d", job_cases[i].name, ret);
		if (job_cases[i].word)
			VT_EXPECT_MSG(strstr(buf, job_cases[i].word), "%s: message \"%s\" lacks \"%s\"",
				      job_cases[i].name, buf, job_cases[i].word);
		else
			VT_EXPECT_MSG(!buf[0], "%s: message \"%s\"", job_cases[i].name, buf);
	}
}

/* Every refusal explains itself, even into a NULL or tiny buffer. */
VT_TEST(abi_job_start_messages)
{
	struct vdisk_job_start j = { REBASE, .backing_name = 0 };
	char tiny[6] = "";
	struct vd_msg small = { tiny, sizeof(tiny) };

	VT_EXPECT_EQ(vd_check_job_start(&j, NULL), -EINVAL);
	VT_EXPECT_EQ(vd_check_job_start(&j, &small), -EINVAL);
	VT_EXPECT_STREQ(tiny, "rebas");
}

VT_TEST(abi_job_status_cancel)
{
	struct vdisk_job_status s = { .size = sizeof(s) };
	struct vdisk_job_cancel c = { .size = sizeof(c) };

	VT_EXPECT_EQ(vd_check_job_status(&s), 0);
	/* the out members are not looked at */
	s.type = 7;
	s.state = 9;
	s.error = -5;
	s.bytes_total = ~0ULL;
	s.msg[0] = 'x';
	s.index = 0x7fffffff;
	VT_EXPECT_EQ(vd_check_job_status(&s), 0);
	s.flags = 1;
	VT_EXPECT_EQ(vd_check_job_status(&s), -EINVAL);
	s.flags = 1U << 31;
	VT_EXPECT_EQ(vd_check_job_status(&s), -EINVAL);
	s.flags = 0;
	s.reserved0 = 1;
	VT_EXPECT_EQ(vd_check_job_status(&s), -EINVAL);
	s.reserved0 = 0;
	s.reserved[2] = 1;
	VT_EXPECT_EQ(vd_check_job_status(&s), -EINVAL);
	s.reserved[2] = 0;
	s.index = -1;
	VT_EXPECT_EQ(vd_check_job_status(&s), -EINVAL);

	VT_EXPECT_EQ(vd_check_job_cancel(&c), 0);
	c.flags = 1;
	VT_EXPECT_EQ(vd_check_job_cancel(&c), -EINVAL);
	c.flags = 0;
	c.reserved0 = 1;
	VT_EXPECT_EQ(vd_check_job_cancel(&c), -EINVAL);
	c.reserved0 = 0;
	c.reserved[1] = 1;
	VT_EXPECT_EQ(vd_check_job_cancel(&c), -EINVAL);
	c.reserved[1] = 0;
	c.index = INT32_MIN;
	VT_EXPECT_EQ(vd_check_job_cancel(&c), -EINVAL);
}

VT_TEST(abi_job_struct_layout)
{
	VT_EXPECT_EQ(sizeof(struct vdisk_job_start), 96);
	VT_EXPECT_EQ(sizeof(struct vdisk_job_status), 368);
	VT_EXPECT_EQ(sizeof(struct vdisk_job_cancel), 32);
	VT_EXPECT_EQ(offsetof(struct vdisk_job_start, rate_limit), 48);
	VT_EXPECT_EQ(offsetof(struct vdisk_job_start, backing_name), 56);
	VT_EXPECT_EQ(offsetof(struct vdisk_job_status, bytes_total), 32);
	VT_EXPECT_EQ(offsetof(struct vdisk_job_status, msg), 112);
}
