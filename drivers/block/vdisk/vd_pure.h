/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vd_pure.h - the environment of vdisk's pure code.
 *
 * Files named vd_*.c hold logic with no kernel-only calls: header decoding,
 * validation, the layer walk.  They are built into vdisk.ko, into the KUnit
 * suites, and in userspace into vdattach, the unit tests and the fuzzers.
 * This header gives them the same few names in both worlds.
 */
#ifndef VD_PURE_H
#define VD_PURE_H

#ifdef __KERNEL__
#include <linux/bits.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/string.h>
#include <linux/types.h>
#else
#include <errno.h>
#include <linux/types.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s32 s32;
typedef __s64 s64;

#define BIT(n)		(1UL << (n))
#define BIT_ULL(n)	(1ULL << (n))

/* Format strings are checked where it matters: in the kernel build. */
#define __printf(...)

/* The kernel's vscnprintf(): returns what was stored, not what was wanted. */
static inline int vscnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	int n;

	if (!size)
		return 0;
	n = vsnprintf(buf, size, fmt, ap);
	if (n < 0)
		return 0;
	return (size_t)n >= size ? (int)size - 1 : n;
}

static inline __printf(3, 4)
int scnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vscnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
#endif

/**
 * struct vd_msg - where pure code explains a refusal
 * @buf: NUL-terminated text, empty when nothing was said
 * @len: capacity of @buf
 *
 * The kernel copies it to the attach caller (vdisk_attach.msg) and logs
 * it; userspace tools print it.  Only the first message is kept: it names
 * the root cause, later ones are consequences.
 */
struct vd_msg {
	char *buf;
	size_t len;
};

__printf(2, 3)
void vd_msg_set(struct vd_msg *msg, const char *fmt, ...);

#endif /* VD_PURE_H */
