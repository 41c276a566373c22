// SPDX-License-Identifier: GPL-2.0
/*
 * vt.c - runner of the vt.h harness.
 */
#include <stdarg.h>
#include <stdlib.h>

#include "vt.h"

static struct vt_case *vt_head, **vt_tail = &vt_head;
static bool vt_failed;

void vt_register(struct vt_case *c)
{
	/* keep definition order: constructors run in it for one file */
	*vt_tail = c;
	vt_tail = &c->next;
}

void vt_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	vt_failed = true;
	fprintf(stderr, "    %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

bool vt_ok(void)
{
	return !vt_failed;
}

int main(int argc, char **argv)
{
	unsigned int passed = 0, failed = 0;
	struct vt_case *c;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (c = vt_head; c; c = c->next) {
		if (argc > 1 && !strstr(c->name, argv[1]))
			continue;
		vt_failed = false;
		c->fn();
		fflush(stderr);
		if (vt_failed) {
			printf("FAIL %s\n", c->name);
			failed++;
		} else {
			printf("PASS %s\n", c->name);
			passed++;
		}
	}
	/* then the suites shared with KUnit (kunit/), through kunit_shim.c */
	kunit_shim_run(argc > 1 ? argv[1] : NULL, &passed, &failed);
	printf("%u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
