// SPDX-License-Identifier: GPL-2.0
/*
 * abi_test.c - suite vdisk_abi: validation of the ioctl structs
 * (vd_abi.c).  Each case is a crafted struct, the errno it must get and a
 * word the message must contain, so that a refusal names the field.
 *
 * Built as a KUnit suite and, through userspace/tests/shim, as a userspace
 * test with ASan and UBSan (see vd_test.h).  The job tables start from a
 * good struct and override one field on purpose: both Makefiles turn off
 * -Woverride-init for this file.
 */
#include <kunit/test.h>

#include "vd_abi.h"
#include "vd_test.h"

#define VD_GOOD_ATTACH {						\
	.size = sizeof(struct vdisk_attach), .index = -1,		\
	.nr_layers = 1, .layers = 0x1000,				\
	.layer_spec_size = sizeof(struct vdisk_layer_spec),		\
}

#define VD_GOOD_SPEC { .fd = 3, .format = VDISK_FMT_RAW }

struct vd_attach_case {
	const char *name;
	struct vdisk_attach a;
	int ret;
	const char *word;	/* the message must contain it; NULL: empty */
};

static const struct vd_attach_case vd_attach_cases[] = {
	{ "valid", VD_GOOD_ATTACH, 0, NULL },
	{ "valid_all_flags", { .size = sizeof(struct vdisk_attach), .index = 7,
	  .flags = VDISK_ATTACH_FLAGS_ALL & ~VDISK_ATTACH_NO_LOCK,
	  .nr_layers = VDISK_MAX_LAYERS, .layers = 1, .layer_spec_size = 4096 }, 0, NULL },
	{ "valid_limits", { .size = sizeof(struct vdisk_attach), .index = S32_MAX,
	  .flags = VDISK_ATTACH_FLAGS_ALL & ~VDISK_ATTACH_SHARE_ALL,
	  .nr_layers = VDISK_MAX_LAYERS, .layers = 0x1000, .layer_spec_size = 4096 }, 0, NULL },
	{ "share_all_needs_read_only", { .size = sizeof(struct vdisk_attach), .index = -1,
	  .flags = VDISK_ATTACH_SHARE_ALL, .nr_layers = 1, .layers = 1,
	  .layer_spec_size = sizeof(struct vdisk_layer_spec) }, -EINVAL, "READ_ONLY" },
	{ "share_all_and_no_lock", { .size = sizeof(struct vdisk_attach), .index = -1,
	  .flags = VDISK_ATTACH_READ_ONLY | VDISK_ATTACH_SHARE_ALL | VDISK_ATTACH_NO_LOCK,
	  .nr_layers = 1, .layers = 1, .layer_spec_size = sizeof(struct vdisk_layer_spec) },
	  -EINVAL, "NO_LOCK" },
	{ "unknown_flag", { .size = sizeof(struct vdisk_attach), .index = -1,
	  .flags = 1U << 6, .nr_layers = 1, .layers = 1,
	  .layer_spec_size = sizeof(struct vdisk_layer_spec) }, -EINVAL, "flags 0x40" },
	{ "unknown_high_flag", { .size = sizeof(struct vdisk_attach), .index = -1,
	  .flags = VDISK_ATTACH_READ_ONLY | (1U << 31), .nr_layers = 1, .layers = 1,
	  .layer_spec_size = sizeof(struct vdisk_layer_spec) }, -EINVAL, "flags 0x80000000" },
	{ "reserved0", { .size = sizeof(struct vdisk_attach), .index = -1,
	  .nr_layers = 1, .layers = 1, .reserved = { 1 },
	  .layer_spec_size = sizeof(struct vdisk_layer_spec) }, -EINVAL, "reserved" },
	{ "reserved2", { .size = sizeof(struct vdisk_attach), .index = -1,
	  .nr_layers = 1, .layers = 1, .reserved = { 0, 0, 1ULL << 63 },
	  .layer_spec_size = sizeof(struct vdisk_layer_spec) }, -EINVAL, "reserved" },
	{ "reserved_u32", { .size = sizeof(struct vdisk_attach), .index = -1,
	  .nr_layers = 1, .layers = 1, .reserved0 = 1,
	  .layer_spec_size = sizeof(struct vdisk_layer_spec) }, -EINVAL, "reserved" },
	{ "cache_kib_max", { .size = sizeof(struct vdisk_attach), .index = -1,
	  .nr_layers = 1, .layers = 1, .cache_kib = VDISK_CACHE_KIB_MAX,
	  .layer_spec_size = sizeof(struct vdisk_layer_spec) }, 0, NULL },
	{ "cache_kib", { .size = sizeof(struct vdisk_attach), .index = -1,
	  .nr_layers = 1, .layers = 1, .cache_kib = VDISK_CACHE_KIB_MAX + 1,
	  .layer_spec_size = sizeof(struct vdisk_layer_spec) }, -EINVAL, "cache_kib" },
	{ "index_minus2", { .size = sizeof(struct vdisk_attach), .index = -2,
	  .nr_layers = 1, .layers = 1,
	  .layer_spec_size = sizeof(struct vdisk_layer_spec) }, -EINVAL, "index -2" },
	{ "index_int_min", { .size = sizeof(struct vdisk_attach), .index = S32_MIN,
	  .nr_layers = 1, .layers = 1,
	  .layer_spec_size = sizeof(struct vdisk_layer_spec) }, -EINVAL, "index -2147483648" },
	{ "nr_layers_0", { .size = sizeof(struct vdisk_attach), .index = -1,
	  .nr_layers = 0, .layers = 1,
	  .layer_spec_size = sizeof(struct vdisk_layer_spec) }, -EINVAL, "nr_layers 0" },
	{ "nr_layers_65", { .size = sizeof(struct vdisk_attach), .index = -1,
	  .nr_layers = VDISK_MAX_LAYERS + 1, .layers = 1,
	  .layer_spec_size = sizeof(struct vdisk_layer_spec) }, -EINVAL, "nr_layers 65" },
	{ "nr_layers_max", { .size = sizeof(struct vdisk_attach), .index = -1,
	  .nr_layers = ~0U, .layers = 1,
	  .layer_spec_size = sizeof(struct vdisk_layer_spec) }, -EINVAL, "nr_layers 4294967295" },
	{ "layers_null", { .size = sizeof(struct vdisk_attach), .index = -1,
	  .nr_layers = 1, .layers = 0,
	  .layer_spec_size = sizeof(struct vdisk_layer_spec) }, -EINVAL, "layers pointer" },
	{ "layer_spec_size_small", { .size = sizeof(struct vdisk_attach), .index = -1,
	  .nr_layers = 1, .layers = 1,
	  .layer_spec_size = sizeof(struct vdisk_layer_spec) - 1 }, -EINVAL, "layer_spec_size" },
	{ "layer_spec_size_0", { .size = sizeof(struct vdisk_attach), .index = -1,
	  .nr_layers = 1, .layers = 1, .layer_spec_size = 0 }, -EINVAL, "layer_spec_size 0" },
	{ "layer_spec_size_4097", { .size = sizeof(struct vdisk_attach), .index = -1,
	  .nr_layers = 1, .layers = 1, .layer_spec_size = 4097 }, -EINVAL, "layer_spec_size 4097" },
};

static void vd_attach_case_desc(const struct vd_attach_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(vd_attach, vd_attach_cases, vd_attach_case_desc);

static void vdisk_abi_attach(struct kunit *test)
{
	const struct vd_attach_case *c = test->param_value;
	char buf[VDISK_MSG_MAX] = "";
	struct vd_msg msg = { .buf = buf, .len = sizeof(buf) };

	KUNIT_EXPECT_EQ(test, vd_check_attach(&c->a, &msg), c->ret);
	if (c->word) {
		KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(buf, c->word),
					  "message \"%s\" lacks \"%s\"", buf, c->word);
		KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(buf, "attach"),
					  "message \"%s\" does not say attach", buf);
	} else {
		KUNIT_EXPECT_STREQ(test, buf, "");
	}
}

struct vd_spec_case {
	const char *name;
	struct vdisk_layer_spec s;
	unsigned int idx;
	int ret;
	const char *word;
};

static const struct vd_spec_case vd_spec_cases[] = {
	{ "valid_raw", VD_GOOD_SPEC, 0, 0, NULL },
	{ "valid_vmdk_extents", { .fd = 0, .format = VDISK_FMT_VMDK,
	  .nr_extent_fds = VDISK_MAX_EXTENT_FDS, .extent_fds = 1 }, 1, 0, NULL },
	{ "fd_minus1", { .fd = -1, .format = VDISK_FMT_RAW }, 2, -EBADF, "fd -1" },
	{ "fd_min", { .fd = S32_MIN, .format = VDISK_FMT_RAW }, 0, -EBADF, "fd -2147483648" },
	{ "format_none", { .fd = 3, .format = VDISK_FMT_NONE }, 0, -EINVAL, "format 0" },
	{ "format_unknown", { .fd = 3, .format = VDISK_FMT_COUNT }, 0, -EINVAL, "format 4" },
	{ "format_huge", { .fd = 3, .format = ~0U }, 0, -EINVAL, "format 4294967295" },
	{ "unknown_flags", { .fd = 3, .format = VDISK_FMT_RAW, .flags = 1 }, 5, -EINVAL,
	  "flags 0x1" },
	{ "unknown_flags_0x80", { .fd = 3, .format = VDISK_FMT_RAW, .flags = 0x80 }, 9,
	  -EINVAL, "flags 0x80" },
	{ "reserved", { .fd = 3, .format = VDISK_FMT_RAW, .reserved = { 0, 2 } }, 0,
	  -EINVAL, "reserved" },
	{ "extents_too_many", { .fd = 3, .format = VDISK_FMT_VMDK,
	  .nr_extent_fds = VDISK_MAX_EXTENT_FDS + 1, .extent_fds = 1 }, 0, -EINVAL,
	  "nr_extent_fds 4097" },
	{ "extents_count_no_pointer", { .fd = 3, .format = VDISK_FMT_VMDK,
	  .nr_extent_fds = 2 }, 0, -EINVAL, "extent_fds" },
	{ "extents_pointer_no_count", { .fd = 3, .format = VDISK_FMT_VMDK,
	  .extent_fds = 0x1000 }, 0, -EINVAL, "extent_fds" },
	{ "layer_index_in_message", { .fd = -5, .format = VDISK_FMT_RAW }, 63, -EBADF,
	  "layer 63" },
};

static void vd_spec_case_desc(const struct vd_spec_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(vd_spec, vd_spec_cases, vd_spec_case_desc);

static void vdisk_abi_layer_spec(struct kunit *test)
{
	const struct vd_spec_case *c = test->param_value;
	char buf[VDISK_MSG_MAX] = "";
	struct vd_msg msg = { .buf = buf, .len = sizeof(buf) };
	char layer[16];

	KUNIT_EXPECT_EQ(test, vd_check_layer_spec(&c->s, c->idx, &msg), c->ret);
	if (c->word) {
		snprintf(layer, sizeof(layer), "layer %u", c->idx);
		KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(buf, c->word),
					  "message \"%s\" lacks \"%s\"", buf, c->word);
		KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(buf, layer),
					  "message \"%s\" lacks \"%s\"", buf, layer);
	} else {
		KUNIT_EXPECT_STREQ(test, buf, "");
	}
}

/* The first message wins: it names the root cause. */
static void vdisk_abi_first_message_wins(struct kunit *test)
{
	struct vdisk_attach a = VD_GOOD_ATTACH;
	struct vdisk_layer_spec s = { .fd = -1 };
	char buf[VDISK_MSG_MAX] = "";
	struct vd_msg msg = { .buf = buf, .len = sizeof(buf) };

	a.nr_layers = 0;
	KUNIT_EXPECT_EQ(test, vd_check_attach(&a, &msg), -EINVAL);
	KUNIT_EXPECT_EQ(test, vd_check_layer_spec(&s, 0, &msg), -EBADF);
	KUNIT_EXPECT_NOT_NULL(test, strstr(buf, "nr_layers"));
	KUNIT_EXPECT_NULL(test, strstr(buf, "fd"));
}

/* No buffer, or a tiny one: the check still answers and never overflows. */
static void vdisk_abi_message_buffers(struct kunit *test)
{
	struct vdisk_layer_spec s = { .fd = -1, .format = VDISK_FMT_RAW };
	struct vd_msg none = { 0 };
	char small[8];
	struct vd_msg tiny = { .buf = small, .len = sizeof(small) };
	char one[1] = "";
	struct vd_msg single = { .buf = one, .len = 1 };
	char canary[4] = "xyz";
	struct vd_msg zero_len = { .buf = canary, .len = 0 };

	memset(small, 0, sizeof(small));
	KUNIT_EXPECT_EQ(test, vd_check_layer_spec(&s, 0, NULL), -EBADF);
	KUNIT_EXPECT_EQ(test, vd_check_layer_spec(&s, 0, &none), -EBADF);
	KUNIT_EXPECT_EQ(test, vd_check_layer_spec(&s, 0, &tiny), -EBADF);
	KUNIT_EXPECT_EQ(test, strnlen(small, sizeof(small)), sizeof(small) - 1);
	KUNIT_EXPECT_EQ(test, vd_check_layer_spec(&s, 0, &single), -EBADF);
	KUNIT_EXPECT_EQ(test, one[0], '\0');
	/* a zero-length buffer is not written at all */
	canary[0] = '\0';
	KUNIT_EXPECT_EQ(test, vd_check_layer_spec(&s, 0, &zero_len), -EBADF);
	KUNIT_EXPECT_EQ(test, canary[1], 'y');
}

static void vdisk_abi_other_structs(struct kunit *test)
{
	struct vdisk_detach d = { .size = sizeof(d), .index = 0 };
	struct vdisk_status st = { .size = sizeof(st), .index = 0 };
	struct vdisk_features f = { .size = sizeof(f) };

	KUNIT_EXPECT_EQ(test, vd_check_detach(&d), 0);
	d.flags = VDISK_DETACH_LAZY;
	KUNIT_EXPECT_EQ(test, vd_check_detach(&d), 0);
	d.flags = 2;
	KUNIT_EXPECT_EQ(test, vd_check_detach(&d), -EINVAL);
	d.flags = 0;
	d.reserved0 = 1;
	KUNIT_EXPECT_EQ(test, vd_check_detach(&d), -EINVAL);
	d.reserved0 = 0;
	d.reserved[1] = 1;
	KUNIT_EXPECT_EQ(test, vd_check_detach(&d), -EINVAL);
	d.reserved[1] = 0;
	d.index = -1;
	KUNIT_EXPECT_EQ(test, vd_check_detach(&d), -EINVAL);

	KUNIT_EXPECT_EQ(test, vd_check_status(&st), 0);
	st.flags = VDISK_STATUS_NEXT;
	KUNIT_EXPECT_EQ(test, vd_check_status(&st), 0);
	st.max_layers = 2;
	KUNIT_EXPECT_EQ(test, vd_check_status(&st), -EINVAL);	/* no pointer */
	st.layers = 1;
	KUNIT_EXPECT_EQ(test, vd_check_status(&st), -EINVAL);	/* no size */
	st.layer_info_size = sizeof(struct vdisk_layer_info);
	KUNIT_EXPECT_EQ(test, vd_check_status(&st), 0);
	st.layer_info_size = 4097;
	KUNIT_EXPECT_EQ(test, vd_check_status(&st), -EINVAL);
	st.layer_info_size = sizeof(struct vdisk_layer_info);
	st.flags = 2;
	KUNIT_EXPECT_EQ(test, vd_check_status(&st), -EINVAL);
	st.flags = 0;
	st.reserved[2] = 1;
	KUNIT_EXPECT_EQ(test, vd_check_status(&st), -EINVAL);
	st.reserved[2] = 0;
	st.index = -1;
	KUNIT_EXPECT_EQ(test, vd_check_status(&st), -EINVAL);

	KUNIT_EXPECT_EQ(test, vd_check_features(&f), 0);
	f.flags = 1;
	KUNIT_EXPECT_EQ(test, vd_check_features(&f), -EINVAL);
	f.flags = 0;
	f.reserved[3] = 1;
	KUNIT_EXPECT_EQ(test, vd_check_features(&f), -EINVAL);
	f.reserved[3] = 0;
	f.reserved[0] = 1;
	KUNIT_EXPECT_EQ(test, vd_check_features(&f), -EINVAL);
}

/* The ABI promises identical layouts for 32- and 64-bit userspace. */
static void vdisk_abi_struct_layout(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, sizeof(struct vdisk_features), 56);
	KUNIT_EXPECT_EQ(test, sizeof(struct vdisk_layer_spec), 48);
	KUNIT_EXPECT_EQ(test, sizeof(struct vdisk_attach), 72);
	KUNIT_EXPECT_EQ(test, sizeof(struct vdisk_detach), 32);
	KUNIT_EXPECT_EQ(test, sizeof(struct vdisk_layer_info), 304);
	KUNIT_EXPECT_EQ(test, sizeof(struct vdisk_status), 88);
	KUNIT_EXPECT_EQ(test, sizeof(struct vdisk_attach) % 8, 0);
	KUNIT_EXPECT_EQ(test, sizeof(struct vdisk_status) % 8, 0);
}

/* ---- layer jobs ---- */

#define VD_SPEC_SZ ((u32)sizeof(struct vdisk_layer_spec))
#define VD_COMMIT .size = sizeof(struct vdisk_job_start), .type = VDISK_JOB_COMMIT, \
	       .base_level = 1, .nr_layers = 1, .layers = 0x1000, .layer_spec_size = VD_SPEC_SZ
#define VD_REBASE .size = sizeof(struct vdisk_job_start), .type = VDISK_JOB_REBASE, \
	       .nr_layers = 2, .layers = 0x1000, .layer_spec_size = VD_SPEC_SZ, \
	       .backing_name = 0x2000

struct vd_job_case {
	const char *name;
	struct vdisk_job_start j;
	int ret;
	const char *word;
};

static const struct vd_job_case vd_job_cases[] = {
	{ "commit", { VD_COMMIT }, 0, NULL },
	{ "commit_empty_top", { VD_COMMIT, .flags = VDISK_JOB_EMPTY_TOP }, 0, NULL },
	{ "commit_deepest", { VD_COMMIT, .base_level = VDISK_MAX_LAYERS - 1 }, 0, NULL },
	{ "commit_backing_name", { VD_COMMIT, .backing_name = 0x2000, .rate_limit = ~0ULL,
	  .msg_size = 512, .msg = 0x3000, .index = 0x7fffffff }, 0, NULL },
	{ "commit_spec_size_4096", { VD_COMMIT, .layer_spec_size = 4096 }, 0, NULL },
	{ "rebase", { VD_REBASE }, 0, NULL },
	{ "rebase_unsafe", { VD_REBASE, .flags = VDISK_JOB_UNSAFE }, 0, NULL },
	{ "rebase_dedup", { VD_REBASE, .flags = VDISK_JOB_DEDUP }, 0, NULL },
	{ "rebase_flatten", { VD_REBASE, .nr_layers = 0, .layers = 0, .layer_spec_size = 0 },
	  0, NULL },
	{ "rebase_max_layers", { VD_REBASE, .nr_layers = VDISK_MAX_LAYERS - 1 }, 0, NULL },

	{ "unknown_flag", { VD_COMMIT, .flags = 1U << 3 }, -EINVAL, "unknown flags 0x8" },
	{ "unknown_high_flag", { VD_REBASE, .flags = VDISK_JOB_UNSAFE | 1U << 31 }, -EINVAL,
	  "unknown flags 0x80000000" },
	{ "reserved_first", { VD_COMMIT, .reserved = { 1 } }, -EINVAL, "reserved" },
	{ "reserved_last", { VD_REBASE, .reserved = { 0, 0, 1ULL << 63 } }, -EINVAL, "reserved" },
	{ "index_minus1", { VD_COMMIT, .index = -1 }, -EINVAL, "index -1" },
	{ "index_min", { VD_REBASE, .index = S32_MIN }, -EINVAL, "index -2147483648" },
	{ "nr_layers_65", { VD_REBASE, .nr_layers = VDISK_MAX_LAYERS + 1 }, -EINVAL,
	  "nr_layers 65" },
	{ "nr_layers_max", { VD_COMMIT, .nr_layers = ~0U }, -EINVAL, "nr_layers 4294967295" },
	{ "layers_null", { VD_COMMIT, .layers = 0 }, -EINVAL, "layers pointer" },
	{ "spec_size_small", { VD_REBASE, .layer_spec_size = VD_SPEC_SZ - 1 }, -EINVAL,
	  "layer_spec_size 47" },
	{ "spec_size_0", { VD_COMMIT, .layer_spec_size = 0 }, -EINVAL, "layer_spec_size 0" },
	{ "spec_size_4097", { VD_COMMIT, .layer_spec_size = 4097 }, -EINVAL,
	  "layer_spec_size 4097" },
	{ "type_none", { VD_COMMIT, .type = VDISK_JOB_NONE }, -EINVAL, "type 0" },
	{ "type_count", { VD_COMMIT, .type = VDISK_JOB_TYPE_COUNT }, -EINVAL, "type 3" },
	{ "type_max", { VD_REBASE, .type = ~0U }, -EINVAL, "type 4294967295" },
	{ "commit_no_layers", { VD_COMMIT, .nr_layers = 0, .layers = 0 }, -EINVAL,
	  "commit: nr_layers 0" },
	{ "commit_two_layers", { VD_COMMIT, .nr_layers = 2 }, -EINVAL, "commit: nr_layers 2" },
	{ "commit_base_level_0", { VD_COMMIT, .base_level = 0 }, -EINVAL,
	  "commit: base_level 0" },
	{ "commit_base_level_64", { VD_COMMIT, .base_level = VDISK_MAX_LAYERS }, -EINVAL,
	  "base_level 64" },
	{ "commit_base_level_max", { VD_COMMIT, .base_level = ~0U }, -EINVAL,
	  "base_level 4294967295" },
	{ "commit_unsafe", { VD_COMMIT, .flags = VDISK_JOB_UNSAFE }, -EINVAL,
	  "flags 0x2 do not apply to a commit" },
	{ "commit_dedup", { VD_COMMIT, .flags = VDISK_JOB_DEDUP | VDISK_JOB_EMPTY_TOP }, -EINVAL,
	  "flags 0x4 do not apply to a commit" },
	{ "rebase_empty_top", { VD_REBASE, .flags = VDISK_JOB_EMPTY_TOP }, -EINVAL,
	  "flags 0x1 do not apply to a rebase" },
	/* with the top, 64 new backing layers would make a stack of 65 */
	{ "rebase_layers_65", { VD_REBASE, .nr_layers = VDISK_MAX_LAYERS }, -EINVAL,
	  "rebase: nr_layers 64 under the top exceeds 63" },
	{ "rebase_base_level", { VD_REBASE, .base_level = 1 }, -EINVAL,
	  "rebase: base_level must be 0" },
	{ "rebase_no_backing_name", { VD_REBASE, .backing_name = 0 }, -EINVAL,
	  "rebase: no backing_name" },
	{ "rebase_unsafe_dedup", { VD_REBASE, .flags = VDISK_JOB_UNSAFE | VDISK_JOB_DEDUP },
	  -EINVAL, "unsafe and dedup exclude each other" },
	{ "id_set_on_the_way_in", { VD_COMMIT, .id = 7 }, -EINVAL, "id must be zero" },
	/* the first problem found is the one named */
	{ "flags_before_reserved", { VD_COMMIT, .flags = 8, .reserved = { 1 } }, -EINVAL,
	  "unknown flags" },
	{ "reserved_before_type", { VD_COMMIT, .type = 9, .reserved = { 1 } }, -EINVAL,
	 "reserved" },
	{ "layers_before_type", { VD_COMMIT, .type = 9, .layers = 0 }, -EINVAL, "layers pointer" },
};

static void vd_job_case_desc(const struct vd_job_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(vd_job, vd_job_cases, vd_job_case_desc);

static void vdisk_abi_job_start(struct kunit *test)
{
	const struct vd_job_case *c = test->param_value;
	char buf[VDISK_MSG_MAX] = "";
	struct vd_msg msg = { .buf = buf, .len = sizeof(buf) };

	KUNIT_EXPECT_EQ_MSG(test, vd_check_job_start(&c->j, &msg), c->ret, "message \"%s\"", buf);
	if (c->word)
		VD_EXPECT_CONTAINS(test, buf, c->word);
	else
		KUNIT_EXPECT_STREQ(test, buf, "");
}

/* Every refusal explains itself, even into a NULL or tiny buffer. */
static void vdisk_abi_job_start_messages(struct kunit *test)
{
	struct vdisk_job_start j = { VD_REBASE, .backing_name = 0 };
	char tiny[6] = "";
	struct vd_msg small = { .buf = tiny, .len = sizeof(tiny) };

	KUNIT_EXPECT_EQ(test, vd_check_job_start(&j, NULL), -EINVAL);
	KUNIT_EXPECT_EQ(test, vd_check_job_start(&j, &small), -EINVAL);
	KUNIT_EXPECT_STREQ(test, tiny, "rebas");
}

static void vdisk_abi_job_status_cancel(struct kunit *test)
{
	struct vdisk_job_status s = { .size = sizeof(s) };
	struct vdisk_job_cancel c = { .size = sizeof(c) };

	KUNIT_EXPECT_EQ(test, vd_check_job_status(&s), 0);
	/* the out members are not looked at */
	s.type = 7;
	s.state = 9;
	s.error = -5;
	s.bytes_total = ~0ULL;
	s.msg[0] = 'x';
	s.index = 0x7fffffff;
	KUNIT_EXPECT_EQ(test, vd_check_job_status(&s), 0);
	s.flags = 1;
	KUNIT_EXPECT_EQ(test, vd_check_job_status(&s), -EINVAL);
	s.flags = 1U << 31;
	KUNIT_EXPECT_EQ(test, vd_check_job_status(&s), -EINVAL);
	s.flags = 0;
	s.reserved0 = 1;
	KUNIT_EXPECT_EQ(test, vd_check_job_status(&s), -EINVAL);
	s.reserved0 = 0;
	s.reserved[0] = 1;
	KUNIT_EXPECT_EQ(test, vd_check_job_status(&s), -EINVAL);
	s.reserved[0] = 0;
	s.index = -1;
	KUNIT_EXPECT_EQ(test, vd_check_job_status(&s), -EINVAL);

	KUNIT_EXPECT_EQ(test, vd_check_job_cancel(&c), 0);
	c.flags = 1;
	KUNIT_EXPECT_EQ(test, vd_check_job_cancel(&c), -EINVAL);
	c.flags = 0;
	c.reserved0 = 1;
	KUNIT_EXPECT_EQ(test, vd_check_job_cancel(&c), -EINVAL);
	c.reserved0 = 0;
	c.reserved[1] = 1;
	KUNIT_EXPECT_EQ(test, vd_check_job_cancel(&c), -EINVAL);
	c.reserved[1] = 0;
	c.index = S32_MIN;
	KUNIT_EXPECT_EQ(test, vd_check_job_cancel(&c), -EINVAL);
}

static void vdisk_abi_job_struct_layout(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, sizeof(struct vdisk_job_start), 96);
	KUNIT_EXPECT_EQ(test, sizeof(struct vdisk_job_status), 368);
	KUNIT_EXPECT_EQ(test, sizeof(struct vdisk_job_cancel), 32);
	KUNIT_EXPECT_EQ(test, offsetof(struct vdisk_job_start, rate_limit), 48);
	KUNIT_EXPECT_EQ(test, offsetof(struct vdisk_job_start, backing_name), 56);
	KUNIT_EXPECT_EQ(test, offsetof(struct vdisk_job_status, bytes_total), 32);
	KUNIT_EXPECT_EQ(test, offsetof(struct vdisk_job_status, msg), 112);
}

static struct kunit_case vdisk_abi_cases[] = {
	KUNIT_CASE_PARAM(vdisk_abi_attach, vd_attach_gen_params),
	KUNIT_CASE_PARAM(vdisk_abi_layer_spec, vd_spec_gen_params),
	KUNIT_CASE(vdisk_abi_first_message_wins),
	KUNIT_CASE(vdisk_abi_message_buffers),
	KUNIT_CASE(vdisk_abi_other_structs),
	KUNIT_CASE(vdisk_abi_struct_layout),
	KUNIT_CASE_PARAM(vdisk_abi_job_start, vd_job_gen_params),
	KUNIT_CASE(vdisk_abi_job_start_messages),
	KUNIT_CASE(vdisk_abi_job_status_cancel),
	KUNIT_CASE(vdisk_abi_job_struct_layout),
	{}
};

static struct kunit_suite vdisk_abi_suite = {
	.name = "vdisk_abi",
	.test_cases = vdisk_abi_cases,
};

kunit_test_suite(vdisk_abi_suite);
