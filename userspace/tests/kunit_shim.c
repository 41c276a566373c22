// SPDX-License-Identifier: GPL-2.0
/*
 * kunit_shim.c - runs the KUnit suites of kunit/ in userspace, with the
 * API of shim/kunit/test.h.  Called from vt.c's main() after the vt.h
 * cases; each case, and each parameter of a parameterized case, counts
 * as one test as it does for kunit.py.
 */
#include <stdarg.h>
#include <stdio.h>

#include <kunit/test.h>

#include "vt.h"

/* One block of test-managed memory, freed when its case ends. */
struct kunit_shim_res {
	struct kunit_shim_res *next;
	max_align_t data[];
};

static struct kunit_suite *suites, **suites_tail = &suites;

void kunit_shim_register(struct kunit_suite *suite)
{
	*suites_tail = suite;
	suites_tail = &suite->shim_next;
}

void *kunit_kmalloc(struct kunit *test, size_t size, gfp_t gfp)
{
	struct kunit_shim_res *r;

	(void)gfp;
	if (size > SIZE_MAX - sizeof(*r))
		return NULL;
	r = malloc(sizeof(*r) + size);
	if (!r)
		return NULL;
	r->next = test->res;
	test->res = r;
	return r->data;
}

void kunit_kfree(struct kunit *test, const void *p)
{
	struct kunit_shim_res **pp, *r;

	for (pp = &test->res; (r = *pp); pp = &r->next) {
		if (r->data == p) {
			*pp = r->next;
			free(r);
			return;
		}
	}
	KUNIT_FAIL(test, "freeing %p, which is not test-managed", p);
}

void kunit_shim_ints(long long left, long long right)
{
	fprintf(stderr, "    values %lld (0x%llx) and %lld (0x%llx)\n", left,
		(unsigned long long)left, right, (unsigned long long)right);
}

void kunit_shim_fail(struct kunit *test, const char *file, int line,
		     const char *what, const char *fmt, ...)
{
	va_list ap;

	test->status = KUNIT_FAILURE;
	if (what)
		fprintf(stderr, "    %s:%d: expected %s\n", file, line, what);
	if (!fmt)
		return;
	fputs("    ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void kunit_shim_abort(struct kunit *test)
{
	longjmp(test->abort, 1);
}

/* Runs @c once, with @param; prints and counts the result as @name. */
static void run_one(struct kunit_suite *s, struct kunit_case *c, const void *param,
		    const char *name, unsigned int *passed, unsigned int *failed)
{
	/* volatile: read after a longjmp out of the case */
	struct kunit * volatile test;
	struct kunit_shim_res *r;

	test = calloc(1, sizeof(*test));
	if (!test) {
		perror("kunit_shim");
		exit(2);
	}
	test->name = c->name;
	test->param_value = param;
	if (s->init && s->init(test)) {
		test->status = KUNIT_FAILURE;
		fprintf(stderr, "    %s: init failed\n", s->name);
	} else {
		if (!setjmp(test->abort))
			c->run_case(test);
		if (s->exit)
			s->exit(test);
	}
	while ((r = test->res)) {
		test->res = r->next;
		free(r);
	}
	fflush(stderr);
	if (test->status == KUNIT_FAILURE) {
		printf("FAIL %s\n", name);
		(*failed)++;
	} else {
		printf("PASS %s\n", name);
		(*passed)++;
	}
	free(test);
}

void kunit_shim_run(const char *filter, unsigned int *passed, unsigned int *failed)
{
	char name[512], desc[KUNIT_PARAM_DESC_SIZE];
	struct kunit_suite *s;
	struct kunit_case *c;

	for (s = suites; s; s = s->shim_next) {
		if (s->suite_init && s->suite_init(s)) {
			printf("FAIL %s (suite_init)\n", s->name);
			(*failed)++;
			continue;
		}
		for (c = s->test_cases; c->run_case; c++) {
			const void *param = NULL;

			snprintf(name, sizeof(name), "%s.%s", s->name, c->name);
			if (!c->generate_params) {
				if (!filter || strstr(name, filter))
					run_one(s, c, NULL, name, passed, failed);
				continue;
			}
			desc[0] = '\0';
			while ((param = c->generate_params(param, desc))) {
				snprintf(name, sizeof(name), "%s.%s.%s", s->name, c->name,
					 desc);
				if (!filter || strstr(name, filter))
					run_one(s, c, param, name, passed, failed);
				desc[0] = '\0';
			}
		}
		if (s->suite_exit)
			s->suite_exit(s);
	}
}
