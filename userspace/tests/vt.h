/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vt.h - a tiny unit test harness for userspace-only code (vdattach's
 * parsers).  The pure driver code's tests are KUnit suites in kunit/,
 * built here through shim/kunit/test.h and run by kunit_shim.c.
 *
 * VT_TEST(name) { ... } defines and registers a test case; VT_EXPECT*()
 * record a failure and go on, VT_ASSERT*() record it and leave the case.
 * vt_main() runs every case (or those whose name contains argv[1]),
 * prints "PASS name" / "FAIL name" per case and "N passed, N failed" last.
 */
#ifndef VT_H
#define VT_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct vt_case {
	const char *name;
	void (*fn)(void);
	struct vt_case *next;
};

void vt_register(struct vt_case *c);
void vt_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* true while the current case has not failed */
bool vt_ok(void);
/* Runs the KUnit suites of kunit/ built in (kunit_shim.c), after vt's own. */
void kunit_shim_run(const char *filter, unsigned int *passed, unsigned int *failed);

#define VT_TEST(name)							\
	static void vt_fn_##name(void);					\
	static struct vt_case vt_case_##name = { #name, vt_fn_##name, NULL }; \
	__attribute__((constructor)) static void vt_reg_##name(void)	\
	{ vt_register(&vt_case_##name); }				\
	static void vt_fn_##name(void)

#define VT_EXPECT(cond) do {						\
	if (!(cond))							\
		vt_fail(__FILE__, __LINE__, "expected %s", #cond);	\
} while (0)

#define VT_EXPECT_MSG(cond, fmt, ...) do {				\
	if (!(cond))							\
		vt_fail(__FILE__, __LINE__, "expected %s: " fmt, #cond,	\
			##__VA_ARGS__);					\
} while (0)

/* integers of any width and sign, compared and printed as long long */
#define VT_EXPECT_EQ(a, b) do {						\
	long long vt_a = (long long)(a), vt_b = (long long)(b);		\
	if (vt_a != vt_b)						\
		vt_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld",	\
			#a, #b, vt_a, vt_b);				\
} while (0)

#define VT_EXPECT_STREQ(a, b) do {					\
	const char *vt_a = (a), *vt_b = (b);				\
	if (strcmp(vt_a, vt_b))						\
		vt_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", \
			#a, #b, vt_a, vt_b);				\
} while (0)

#define VT_EXPECT_CONTAINS(hay, needle) do {				\
	const char *vt_h = (hay), *vt_n = (needle);			\
	if (!strstr(vt_h, vt_n))					\
		vt_fail(__FILE__, __LINE__, "\"%s\" lacks \"%s\"", vt_h, vt_n); \
} while (0)

#define VT_ASSERT(cond) do {						\
	if (!(cond)) {							\
		vt_fail(__FILE__, __LINE__, "assertion %s", #cond);	\
		return;							\
	}								\
} while (0)

#define VT_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif /* VT_H */
