// SPDX-License-Identifier: GPL-2.0
/*
 * msg_test.c - suite vdisk_msg: the first-error-wins message buffer
 * (vd_msg.c).
 *
 * Built as a KUnit suite and, through userspace/tests/shim, as a userspace
 * test with ASan and UBSan (see vd_test.h).
 */
#include <kunit/test.h>

#include "vd_pure.h"
#include "vd_test.h"

static void vdisk_msg_first_wins(struct kunit *test)
{
	char buf[32] = "";
	struct vd_msg msg = { .buf = buf, .len = sizeof(buf) };

	vd_msg_set(&msg, "first %d", 1);
	vd_msg_set(&msg, "second %d", 2);
	KUNIT_EXPECT_STREQ(test, buf, "first 1");
}

static void vdisk_msg_truncates(struct kunit *test)
{
	char buf[8];
	struct vd_msg msg = { .buf = buf, .len = 6 };

	memset(buf, 'x', sizeof(buf));
	buf[0] = '\0';
	vd_msg_set(&msg, "%s", "abcdefghij");
	KUNIT_EXPECT_STREQ(test, buf, "abcde");
	KUNIT_EXPECT_EQ(test, buf[6], 'x');
}

static void vdisk_msg_no_buffer(struct kunit *test)
{
	struct vd_msg none = { .buf = NULL, .len = 16 };
	char c = 'q';
	struct vd_msg zero = { .buf = &c, .len = 0 };

	vd_msg_set(NULL, "x");
	vd_msg_set(&none, "x");
	vd_msg_set(&zero, "x");
	KUNIT_EXPECT_EQ(test, c, 'q');
}

static struct kunit_case vdisk_msg_cases[] = {
	KUNIT_CASE(vdisk_msg_first_wins),
	KUNIT_CASE(vdisk_msg_truncates),
	KUNIT_CASE(vdisk_msg_no_buffer),
	{}
};

static struct kunit_suite vdisk_msg_suite = {
	.name = "vdisk_msg",
	.test_cases = vdisk_msg_cases,
};

kunit_test_suite(vdisk_msg_suite);
