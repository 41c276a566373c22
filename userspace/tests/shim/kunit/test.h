/* SPDX-License-Identifier: GPL-2.0 */
/*
 * shim/kunit/test.h - the part of the kernel's <kunit/test.h> that vdisk's
 * pure-code suites use, for userspace (tools/testing style).
 *
 * The suites in kunit/ are written once against the KUnit API; the kernel
 * builds them against the real header, userspace/tests against this one
 * and runs them with ASan and UBSan.  Semantics follow KUnit: EXPECT
 * records a failure and goes on, ASSERT records it and leaves the case
 * (here with longjmp, the kernel ends the case's kthread), and memory
 * from kunit_kmalloc() and friends is freed when the case ends.
 * Comparisons are plain C comparisons of the operands, as in KUnit.
 * kunit_shim.c is the runner: it prints "PASS name" / "FAIL name" per
 * case and per parameter, names being suite.case[.param].
 */
#ifndef VD_SHIM_KUNIT_TEST_H
#define VD_SHIM_KUNIT_TEST_H

#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vd_pure.h"

/* ---- the kernel environment the suites assume ---- */

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define U8_MAX		((u8)~0U)
#define U16_MAX		((u16)~0U)
#define U32_MAX		((u32)~0U)
#define U64_MAX		((u64)~0ULL)
#define S32_MAX		((s32)(U32_MAX >> 1))
#define S32_MIN		((s32)(-S32_MAX - 1))
#define S64_MAX		((s64)(U64_MAX >> 1))
#define S64_MIN		((s64)(-S64_MAX - 1))

/* no double evaluation, like the kernel's; no type check, unlike it */
#define min(a, b) ({ __typeof__(a) __a = (a); __typeof__(b) __b = (b); \
		     __a < __b ? __a : __b; })
#define max(a, b) ({ __typeof__(a) __a = (a); __typeof__(b) __b = (b); \
		     __a > __b ? __a : __b; })
#define min_t(t, a, b)	min((t)(a), (t)(b))
#define max_t(t, a, b)	max((t)(a), (t)(b))
#define READ_ONCE(x)	(*(const volatile __typeof__(x) *)&(x))

typedef unsigned int gfp_t;
#define GFP_KERNEL	0U

static inline void *kmalloc(size_t size, gfp_t gfp)
{
	(void)gfp;
	return malloc(size ? size : 1);
}

static inline void *kzalloc(size_t size, gfp_t gfp)
{
	(void)gfp;
	return calloc(1, size ? size : 1);
}

static inline void *kmalloc_array(size_t n, size_t size, gfp_t gfp)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	return kmalloc(n * size, gfp);
}

static inline void *kcalloc(size_t n, size_t size, gfp_t gfp)
{
	(void)gfp;
	return calloc(n ? n : 1, size ? size : 1);
}

static inline void kfree(const void *p)
{
	free((void *)p);
}

#define kvmalloc	kmalloc
#define kvzalloc	kzalloc
#define kvfree		kfree

/* The kernel's strscpy(): always terminated, -E2BIG when truncated. */
static inline ssize_t strscpy(char *dst, const char *src, size_t size)
{
	size_t len = strnlen(src, size);

	if (!size)
		return -E2BIG;
	if (len == size) {
		memcpy(dst, src, size - 1);
		dst[size - 1] = '\0';
		return -E2BIG;
	}
	memcpy(dst, src, len + 1);
	return len;
}

/* ---- KUnit ---- */

#define KUNIT_PARAM_DESC_SIZE	128

enum kunit_status {
	KUNIT_SUCCESS,
	KUNIT_FAILURE,
	KUNIT_SKIPPED,
};

struct kunit_shim_res;

struct kunit {
	const char *name;
	const void *param_value;
	int param_index;
	enum kunit_status status;
	/* userspace only: test-managed memory and the way out of an ASSERT */
	struct kunit_shim_res *res;
	jmp_buf abort;
};

struct kunit_case {
	void (*run_case)(struct kunit *test);
	const char *name;
	const void *(*generate_params)(const void *prev, char *desc);
};

struct kunit_suite {
	const char *name;
	int (*suite_init)(struct kunit_suite *suite);
	void (*suite_exit)(struct kunit_suite *suite);
	int (*init)(struct kunit *test);
	void (*exit)(struct kunit *test);
	struct kunit_case *test_cases;
	struct kunit_suite *shim_next;	/* userspace only: the runner's list */
};

#define KUNIT_CASE(fn)	{ .run_case = fn, .name = #fn }
#define KUNIT_CASE_PARAM(fn, gen)					\
	{ .run_case = fn, .name = #fn, .generate_params = gen }

#define KUNIT_ARRAY_PARAM(name, array, get_desc)			\
	static const void *name##_gen_params(const void *prev, char *desc) \
	{								\
		__typeof__((array)[0]) *__next = prev ?			\
			((__typeof__(__next))prev) + 1 : (array);	\
		void (*__get_desc)(__typeof__(__next), char *) = get_desc; \
									\
		if ((size_t)(__next - (array)) < ARRAY_SIZE(array)) {	\
			if (__get_desc)					\
				__get_desc(__next, desc);		\
			return __next;					\
		}							\
		return NULL;						\
	}

void kunit_shim_register(struct kunit_suite *suite);

/* Registered before main(), in definition order within a file. */
#define kunit_test_suite(suite)						\
	__attribute__((constructor)) static void kunit_shim_reg_##suite(void) \
	{ kunit_shim_register(&(suite)); }

void *kunit_kmalloc(struct kunit *test, size_t size, gfp_t gfp);
void kunit_kfree(struct kunit *test, const void *p);

static inline void *kunit_kzalloc(struct kunit *test, size_t size, gfp_t gfp)
{
	void *p = kunit_kmalloc(test, size, gfp);

	if (p)
		memset(p, 0, size);
	return p;
}

static inline void *kunit_kmalloc_array(struct kunit *test, size_t n, size_t size,
					gfp_t gfp)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	return kunit_kmalloc(test, n * size, gfp);
}

static inline void *kunit_kcalloc(struct kunit *test, size_t n, size_t size, gfp_t gfp)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	return kunit_kzalloc(test, n * size, gfp);
}

/*
 * Records a failure of @test at @file:@line: @what did not hold; then
 * @fmt, the case's own message, when not NULL (KUnit's _MSG variants).
 */
void kunit_shim_fail(struct kunit *test, const char *file, int line,
		     const char *what, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* The values of a failed integer comparison. */
void kunit_shim_ints(long long left, long long right);
/* Leaves the running case: an ASSERT failed. */
void kunit_shim_abort(struct kunit *test) __attribute__((noreturn));

#define KUNIT_SHIM_END(test, abort) do {				\
	if (abort)							\
		kunit_shim_abort(test);					\
} while (0)

#define KUNIT_FAIL(test, fmt, ...)					\
	kunit_shim_fail(test, __FILE__, __LINE__, "not reached", fmt,	\
			##__VA_ARGS__)

#define KUNIT_SHIM_BOOL(test, abort, cond, want, fmt, ...) do {		\
	if ((bool)(cond) != (bool)(want)) {					\
		kunit_shim_fail(test, __FILE__, __LINE__,		\
				(want) ? #cond " is true" : #cond " is false", \
				fmt, ##__VA_ARGS__);			\
		KUNIT_SHIM_END(test, abort);				\
	}								\
} while (0)

/* Integers of any width and sign, compared as C compares them (as KUnit). */
#define KUNIT_SHIM_INT(test, abort, left, op, right, fmt, ...) do {	\
	const __typeof__(left) __left = (left);				\
	const __typeof__(right) __right = (right);			\
									\
	if (!(__left op __right)) {					\
		kunit_shim_ints((long long)__left, (long long)__right);	\
		kunit_shim_fail(test, __FILE__, __LINE__,		\
				#left " " #op " " #right, fmt,		\
				##__VA_ARGS__);				\
		KUNIT_SHIM_END(test, abort);				\
	}								\
} while (0)

#define KUNIT_SHIM_PTR(test, abort, left, op, right, fmt, ...) do {	\
	const void *__left = (left), *__right = (right);		\
									\
	if (!(__left op __right)) {					\
		kunit_shim_fail(test, __FILE__, __LINE__,		\
				#left " " #op " " #right, fmt,		\
				##__VA_ARGS__);				\
		KUNIT_SHIM_END(test, abort);				\
	}								\
} while (0)

#define KUNIT_SHIM_STR(test, abort, left, op, right, fmt, ...) do {	\
	const char *__left = (left), *__right = (right);		\
									\
	if (!(strcmp(__left, __right) op 0)) {				\
		kunit_shim_fail(test, __FILE__, __LINE__,		\
				#left " " #op " " #right, "\"%s\" vs \"%s\"", \
				__left, __right);			\
		kunit_shim_fail(test, __FILE__, __LINE__, NULL, fmt,	\
				##__VA_ARGS__);				\
		KUNIT_SHIM_END(test, abort);				\
	}								\
} while (0)

#define KUNIT_SHIM_MEM(test, abort, left, op, right, size, fmt, ...) do { \
	const void *__left = (left), *__right = (right);		\
									\
	if (!(memcmp(__left, __right, (size)) op 0)) {			\
		kunit_shim_fail(test, __FILE__, __LINE__,		\
				#left " " #op " " #right, fmt,		\
				##__VA_ARGS__);				\
		KUNIT_SHIM_END(test, abort);				\
	}								\
} while (0)

/* The KUnit names: EXPECT goes on after a failure, ASSERT leaves the case. */
#define KUNIT_EXPECT_TRUE_MSG(test, c, fmt, ...) \
	KUNIT_SHIM_BOOL(test, 0, c, 1, fmt, ##__VA_ARGS__)
#define KUNIT_EXPECT_TRUE(test, c) \
	KUNIT_EXPECT_TRUE_MSG(test, c, NULL)
#define KUNIT_ASSERT_TRUE_MSG(test, c, fmt, ...) \
	KUNIT_SHIM_BOOL(test, 1, c, 1, fmt, ##__VA_ARGS__)
#define KUNIT_ASSERT_TRUE(test, c) \
	KUNIT_ASSERT_TRUE_MSG(test, c, NULL)
#define KUNIT_EXPECT_FALSE_MSG(test, c, fmt, ...) \
	KUNIT_SHIM_BOOL(test, 0, c, 0, fmt, ##__VA_ARGS__)
#define KUNIT_EXPECT_FALSE(test, c) \
	KUNIT_EXPECT_FALSE_MSG(test, c, NULL)
#define KUNIT_ASSERT_FALSE_MSG(test, c, fmt, ...) \
	KUNIT_SHIM_BOOL(test, 1, c, 0, fmt, ##__VA_ARGS__)
#define KUNIT_ASSERT_FALSE(test, c) \
	KUNIT_ASSERT_FALSE_MSG(test, c, NULL)
#define KUNIT_EXPECT_EQ_MSG(test, l, r, fmt, ...) \
	KUNIT_SHIM_INT(test, 0, l, ==, r, fmt, ##__VA_ARGS__)
#define KUNIT_EXPECT_EQ(test, l, r) \
	KUNIT_EXPECT_EQ_MSG(test, l, r, NULL)
#define KUNIT_ASSERT_EQ_MSG(test, l, r, fmt, ...) \
	KUNIT_SHIM_INT(test, 1, l, ==, r, fmt, ##__VA_ARGS__)
#define KUNIT_ASSERT_EQ(test, l, r) \
	KUNIT_ASSERT_EQ_MSG(test, l, r, NULL)
#define KUNIT_EXPECT_NE_MSG(test, l, r, fmt, ...) \
	KUNIT_SHIM_INT(test, 0, l, !=, r, fmt, ##__VA_ARGS__)
#define KUNIT_EXPECT_NE(test, l, r) \
	KUNIT_EXPECT_NE_MSG(test, l, r, NULL)
#define KUNIT_ASSERT_NE_MSG(test, l, r, fmt, ...) \
	KUNIT_SHIM_INT(test, 1, l, !=, r, fmt, ##__VA_ARGS__)
#define KUNIT_ASSERT_NE(test, l, r) \
	KUNIT_ASSERT_NE_MSG(test, l, r, NULL)
#define KUNIT_EXPECT_LT_MSG(test, l, r, fmt, ...) \
	KUNIT_SHIM_INT(test, 0, l, <, r, fmt, ##__VA_ARGS__)
#define KUNIT_EXPECT_LT(test, l, r) \
	KUNIT_EXPECT_LT_MSG(test, l, r, NULL)
#define KUNIT_ASSERT_LT_MSG(test, l, r, fmt, ...) \
	KUNIT_SHIM_INT(test, 1, l, <, r, fmt, ##__VA_ARGS__)
#define KUNIT_ASSERT_LT(test, l, r) \
	KUNIT_ASSERT_LT_MSG(test, l, r, NULL)
#define KUNIT_EXPECT_LE_MSG(test, l, r, fmt, ...) \
	KUNIT_SHIM_INT(test, 0, l, <=, r, fmt, ##__VA_ARGS__)
#define KUNIT_EXPECT_LE(test, l, r) \
	KUNIT_EXPECT_LE_MSG(test, l, r, NULL)
#define KUNIT_ASSERT_LE_MSG(test, l, r, fmt, ...) \
	KUNIT_SHIM_INT(test, 1, l, <=, r, fmt, ##__VA_ARGS__)
#define KUNIT_ASSERT_LE(test, l, r) \
	KUNIT_ASSERT_LE_MSG(test, l, r, NULL)
#define KUNIT_EXPECT_GT_MSG(test, l, r, fmt, ...) \
	KUNIT_SHIM_INT(test, 0, l, >, r, fmt, ##__VA_ARGS__)
#define KUNIT_EXPECT_GT(test, l, r) \
	KUNIT_EXPECT_GT_MSG(test, l, r, NULL)
#define KUNIT_ASSERT_GT_MSG(test, l, r, fmt, ...) \
	KUNIT_SHIM_INT(test, 1, l, >, r, fmt, ##__VA_ARGS__)
#define KUNIT_ASSERT_GT(test, l, r) \
	KUNIT_ASSERT_GT_MSG(test, l, r, NULL)
#define KUNIT_EXPECT_GE_MSG(test, l, r, fmt, ...) \
	KUNIT_SHIM_INT(test, 0, l, >=, r, fmt, ##__VA_ARGS__)
#define KUNIT_EXPECT_GE(test, l, r) \
	KUNIT_EXPECT_GE_MSG(test, l, r, NULL)
#define KUNIT_ASSERT_GE_MSG(test, l, r, fmt, ...) \
	KUNIT_SHIM_INT(test, 1, l, >=, r, fmt, ##__VA_ARGS__)
#define KUNIT_ASSERT_GE(test, l, r) \
	KUNIT_ASSERT_GE_MSG(test, l, r, NULL)
#define KUNIT_EXPECT_PTR_EQ_MSG(test, l, r, fmt, ...) \
	KUNIT_SHIM_PTR(test, 0, l, ==, r, fmt, ##__VA_ARGS__)
#define KUNIT_EXPECT_PTR_EQ(test, l, r) \
	KUNIT_EXPECT_PTR_EQ_MSG(test, l, r, NULL)
#define KUNIT_ASSERT_PTR_EQ_MSG(test, l, r, fmt, ...) \
	KUNIT_SHIM_PTR(test, 1, l, ==, r, fmt, ##__VA_ARGS__)
#define KUNIT_ASSERT_PTR_EQ(test, l, r) \
	KUNIT_ASSERT_PTR_EQ_MSG(test, l, r, NULL)
#define KUNIT_EXPECT_PTR_NE_MSG(test, l, r, fmt, ...) \
	KUNIT_SHIM_PTR(test, 0, l, !=, r, fmt, ##__VA_ARGS__)
#define KUNIT_EXPECT_PTR_NE(test, l, r) \
	KUNIT_EXPECT_PTR_NE_MSG(test, l, r, NULL)
#define KUNIT_ASSERT_PTR_NE_MSG(test, l, r, fmt, ...) \
	KUNIT_SHIM_PTR(test, 1, l, !=, r, fmt, ##__VA_ARGS__)
#define KUNIT_ASSERT_PTR_NE(test, l, r) \
	KUNIT_ASSERT_PTR_NE_MSG(test, l, r, NULL)
#define KUNIT_EXPECT_NULL_MSG(test, p, fmt, ...) \
	KUNIT_SHIM_PTR(test, 0, p, ==, NULL, fmt, ##__VA_ARGS__)
#define KUNIT_EXPECT_NULL(test, p) \
	KUNIT_EXPECT_NULL_MSG(test, p, NULL)
#define KUNIT_ASSERT_NULL_MSG(test, p, fmt, ...) \
	KUNIT_SHIM_PTR(test, 1, p, ==, NULL, fmt, ##__VA_ARGS__)
#define KUNIT_ASSERT_NULL(test, p) \
	KUNIT_ASSERT_NULL_MSG(test, p, NULL)
#define KUNIT_EXPECT_NOT_NULL_MSG(test, p, fmt, ...) \
	KUNIT_SHIM_PTR(test, 0, p, !=, NULL, fmt, ##__VA_ARGS__)
#define KUNIT_EXPECT_NOT_NULL(test, p) \
	KUNIT_EXPECT_NOT_NULL_MSG(test, p, NULL)
#define KUNIT_ASSERT_NOT_NULL_MSG(test, p, fmt, ...) \
	KUNIT_SHIM_PTR(test, 1, p, !=, NULL, fmt, ##__VA_ARGS__)
#define KUNIT_ASSERT_NOT_NULL(test, p) \
	KUNIT_ASSERT_NOT_NULL_MSG(test, p, NULL)
#define KUNIT_EXPECT_STREQ_MSG(test, l, r, fmt, ...) \
	KUNIT_SHIM_STR(test, 0, l, ==, r, fmt, ##__VA_ARGS__)
#define KUNIT_EXPECT_STREQ(test, l, r) \
	KUNIT_EXPECT_STREQ_MSG(test, l, r, NULL)
#define KUNIT_ASSERT_STREQ_MSG(test, l, r, fmt, ...) \
	KUNIT_SHIM_STR(test, 1, l, ==, r, fmt, ##__VA_ARGS__)
#define KUNIT_ASSERT_STREQ(test, l, r) \
	KUNIT_ASSERT_STREQ_MSG(test, l, r, NULL)
#define KUNIT_EXPECT_STRNEQ_MSG(test, l, r, fmt, ...) \
	KUNIT_SHIM_STR(test, 0, l, !=, r, fmt, ##__VA_ARGS__)
#define KUNIT_EXPECT_STRNEQ(test, l, r) \
	KUNIT_EXPECT_STRNEQ_MSG(test, l, r, NULL)
#define KUNIT_ASSERT_STRNEQ_MSG(test, l, r, fmt, ...) \
	KUNIT_SHIM_STR(test, 1, l, !=, r, fmt, ##__VA_ARGS__)
#define KUNIT_ASSERT_STRNEQ(test, l, r) \
	KUNIT_ASSERT_STRNEQ_MSG(test, l, r, NULL)
#define KUNIT_EXPECT_MEMEQ_MSG(test, l, r, n, fmt, ...) \
	KUNIT_SHIM_MEM(test, 0, l, ==, r, n, fmt, ##__VA_ARGS__)
#define KUNIT_EXPECT_MEMEQ(test, l, r, n) \
	KUNIT_EXPECT_MEMEQ_MSG(test, l, r, n, NULL)
#define KUNIT_ASSERT_MEMEQ_MSG(test, l, r, n, fmt, ...) \
	KUNIT_SHIM_MEM(test, 1, l, ==, r, n, fmt, ##__VA_ARGS__)
#define KUNIT_ASSERT_MEMEQ(test, l, r, n) \
	KUNIT_ASSERT_MEMEQ_MSG(test, l, r, n, NULL)
#define KUNIT_EXPECT_MEMNEQ_MSG(test, l, r, n, fmt, ...) \
	KUNIT_SHIM_MEM(test, 0, l, !=, r, n, fmt, ##__VA_ARGS__)
#define KUNIT_EXPECT_MEMNEQ(test, l, r, n) \
	KUNIT_EXPECT_MEMNEQ_MSG(test, l, r, n, NULL)
#define KUNIT_ASSERT_MEMNEQ_MSG(test, l, r, n, fmt, ...) \
	KUNIT_SHIM_MEM(test, 1, l, !=, r, n, fmt, ##__VA_ARGS__)
#define KUNIT_ASSERT_MEMNEQ(test, l, r, n) \
	KUNIT_ASSERT_MEMNEQ_MSG(test, l, r, n, NULL)

#endif /* VD_SHIM_KUNIT_TEST_H */
