/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vd_test.h - what vdisk's pure-code suites share beyond <kunit/test.h>.
 *
 * The suites of vd_*.c (probe, abi, walk, qcow2, vmdk) are written once,
 * against the KUnit API: the kernel builds them as KUnit suites, and
 * userspace/tests builds the same files against a userspace stand-in of
 * <kunit/test.h> (userspace/tests/shim/) with ASan and UBSan.  So they
 * use only KUnit calls the stand-in provides, and the few helpers below.
 */
#ifndef VD_TEST_H
#define VD_TEST_H

#include <kunit/test.h>

/* @hay contains @needle; both printed when not. */
#define VD_EXPECT_CONTAINS(test, hay, needle) do {			\
	const char *__hay = (hay), *__needle = (needle);		\
									\
	KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(__hay, __needle),	\
				  "\"%s\" lacks \"%s\"", __hay, __needle);	\
} while (0)

/* Nothing has failed yet: long loops stop at the first failure. */
static inline bool vd_test_ok(struct kunit *test)
{
	return READ_ONCE(test->status) != KUNIT_FAILURE;
}

#ifdef __KERNEL__
/* A tuning knob of a randomized case: its default in the kernel... */
static inline u64 vd_test_knob(const char *name, u64 def, u64 def_kernel)
{
	return def_kernel;
}
#else
#include <stdlib.h>

/* ...and in userspace the environment variable @name, or @def. */
static inline u64 vd_test_knob(const char *name, u64 def, u64 def_kernel)
{
	const char *s = getenv(name);

	(void)def_kernel;
	return s ? strtoull(s, NULL, 0) : def;
}
#endif

#endif /* VD_TEST_H */
