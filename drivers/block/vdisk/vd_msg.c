// SPDX-License-Identifier: GPL-2.0
/*
 * vd_msg.c - first-error-wins message buffer shared by kernel and userspace.
 */
#include "vd_pure.h"

void vd_msg_set(struct vd_msg *msg, const char *fmt, ...)
{
	va_list ap;

	if (!msg || !msg->buf || !msg->len || msg->buf[0])
		return;
	va_start(ap, fmt);
	vscnprintf(msg->buf, msg->len, fmt, ap);
	va_end(ap);
}
