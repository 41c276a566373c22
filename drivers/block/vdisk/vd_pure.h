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
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/string.h>
#include <linux/types.h>
#else
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int32_t s32;
typedef int64_t s64;

#define scnprintf vd_scnprintf
static inline int vd_scnprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static inline int vd_scnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!size)
		return 0;
	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0)
		return 0;
	return (size_t)n >= size ? (int)size - 1 : n;
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

#ifdef __KERNEL__
__printf(2, 3)
#else
__attribute__((format(printf, 2, 3)))
#endif
void vd_msg_set(struct vd_msg *msg, const char *fmt, ...);

#endif /* VD_PURE_H */
