// SPDX-License-Identifier: GPL-2.0
/*
 * test_msg.c - the first-error-wins message buffer (vd_msg.c).
 */
#include "vt.h"
#include "vd_pure.h"

VT_TEST(msg_first_wins)
{
	char buf[32] = "";
	struct vd_msg msg = { buf, sizeof(buf) };

	vd_msg_set(&msg, "first %d", 1);
	vd_msg_set(&msg, "second %d", 2);
	VT_EXPECT_STREQ(buf, "first 1");
}

VT_TEST(msg_truncates)
{
	char buf[8];
	struct vd_msg msg = { buf, 6 };

	memset(buf, 'x', sizeof(buf));
	buf[0] = '\0';
	vd_msg_set(&msg, "%s", "abcdefghij");
	VT_EXPECT_STREQ(buf, "abcde");
	VT_EXPECT_EQ(buf[6], 'x');
}

VT_TEST(msg_no_buffer)
{
	struct vd_msg none = { NULL, 16 };
	char c = 'q';
	struct vd_msg zero = { &c, 0 };

	vd_msg_set(NULL, "x");
	vd_msg_set(&none, "x");
	vd_msg_set(&zero, "x");
	VT_EXPECT_EQ(c, 'q');
}
