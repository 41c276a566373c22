// SPDX-License-Identifier: GPL-2.0
/*
 * vd_msg.c - first-error-wins message buffer shared by kernel and userspace.
 */
#include "vd_pure.h"

#ifndef __KERNEL__
#include <stdarg.h>
#define vscnprintf(b, s, f, a) ({ int __n = vsnprintf(b, s, f, a); \
	__n < 0 ? 0 : ((size_t)__n >= (s) ? (int)(s) - 1 : __n); })
#endif

void vd_msg_set(struct vd_msg *msg, const char *fmt, ...)
{
	va_list ap;

	if (!msg || !msg->buf || !msg->len || msg->buf[0])
		return;
	va_start(ap, fmt);
	vscnprintf(msg->buf, msg->len, fmt, ap);
	va_end(ap);
}
