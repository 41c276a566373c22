// SPDX-License-Identifier: GPL-2.0
/*
 * abi_test.c - KUnit suite vdisk_abi: validation of the ioctl structs
 * (vd_abi.c).  Each case is a crafted struct, the errno it must get and a
 * word the message must contain, so that a refusal names the field.
 */
#include <kunit/test.h>

#include "vd_abi.h"

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
	  .flags = VDISK_ATTACH_FLAGS_ALL, .nr_layers = VDISK_MAX_LAYERS,
	  .layers = 1, .layer_spec_size = 4096 }, 0, NULL },
	{ "unknown_flag", { .size = sizeof(struct vdisk_attach), .index = -1,
	  .flags = 1U << 4, .nr_layers = 1, .layers = 1,
	  .layer_spec_size = sizeof(struct vdisk_layer_spec) }, -EINVAL, "flags 0x10" },
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
	{ "cache_kib", { .size = sizeof(struct vdisk_attach), .index = -1,
	  .nr_layers = 1, .layers = 1, .cache_kib = VDISK_CACHE_KIB_MAX + 1,
	  .layer_spec_size = sizeof(struct vdisk_layer_spec) }, -EINVAL, "cache_kib" },
	{ "index_minus2", { .size = sizeof(struct vdisk_attach), .index = -2,
	  .nr_layers = 1, .layers = 1,
	  .layer_spec_size = sizeof(struct vdisk_layer_spec) }, -EINVAL, "index -2" },
	{ "index_int_min", { .size = sizeof(struct vdisk_attach), .index = S32_MIN,
	  .nr_layers = 1, .layers = 1,
	  .layer_spec_size = sizeof(struct vdisk_layer_spec) }, -EINVAL, "index" },
	{ "nr_layers_0", { .size = sizeof(struct vdisk_attach), .index = -1,
	  .nr_layers = 0, .layers = 1,
	  .layer_spec_size = sizeof(struct vdisk_layer_spec) }, -EINVAL, "nr_layers 0" },
	{ "nr_layers_65", { .size = sizeof(struct vdisk_attach), .index = -1,
	  .nr_layers = VDISK_MAX_LAYERS + 1, .layers = 1,
	  .layer_spec_size = sizeof(struct vdisk_layer_spec) }, -EINVAL, "nr_layers 65" },
	{ "layers_null", { .size = sizeof(struct vdisk_attach), .index = -1,
	  .nr_layers = 1, .layers = 0,
	  .layer_spec_size = sizeof(struct vdisk_layer_spec) }, -EINVAL, "layers" },
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
	{ "format_none", { .fd = 3, .format = VDISK_FMT_NONE }, 0, -EINVAL, "format 0" },
	{ "format_unknown", { .fd = 3, .format = VDISK_FMT_COUNT }, 0, -EINVAL, "format 4" },
	{ "format_huge", { .fd = 3, .format = ~0U }, 0, -EINVAL, "format 4294967295" },
	{ "unknown_flags", { .fd = 3, .format = VDISK_FMT_RAW, .flags = 1 }, 5, -EINVAL,
	  "flags 0x1" },
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

	memset(small, 0, sizeof(small));
	KUNIT_EXPECT_EQ(test, vd_check_layer_spec(&s, 0, NULL), -EBADF);
	KUNIT_EXPECT_EQ(test, vd_check_layer_spec(&s, 0, &none), -EBADF);
	KUNIT_EXPECT_EQ(test, vd_check_layer_spec(&s, 0, &tiny), -EBADF);
	KUNIT_EXPECT_EQ(test, strnlen(small, sizeof(small)), sizeof(small) - 1);
	KUNIT_EXPECT_EQ(test, vd_check_layer_spec(&s, 0, &single), -EBADF);
	KUNIT_EXPECT_EQ(test, one[0], '\0');
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
	st.index = -1;
	KUNIT_EXPECT_EQ(test, vd_check_status(&st), -EINVAL);

	KUNIT_EXPECT_EQ(test, vd_check_features(&f), 0);
	f.flags = 1;
	KUNIT_EXPECT_EQ(test, vd_check_features(&f), -EINVAL);
	f.flags = 0;
	f.reserved[3] = 1;
	KUNIT_EXPECT_EQ(test, vd_check_features(&f), -EINVAL);
}

static struct kunit_case vdisk_abi_cases[] = {
	KUNIT_CASE_PARAM(vdisk_abi_attach, vd_attach_gen_params),
	KUNIT_CASE_PARAM(vdisk_abi_layer_spec, vd_spec_gen_params),
	KUNIT_CASE(vdisk_abi_first_message_wins),
	KUNIT_CASE(vdisk_abi_message_buffers),
	KUNIT_CASE(vdisk_abi_other_structs),
	{}
};

static struct kunit_suite vdisk_abi_suite = {
	.name = "vdisk_abi",
	.test_cases = vdisk_abi_cases,
};

kunit_test_suite(vdisk_abi_suite);
