// SPDX-License-Identifier: GPL-2.0
/*
 * gcov_dump.c - for "scripts/kunit --coverage": UML built with CONFIG_GCOV
 * links libgcov, whose counters are written when the process exits; UML's
 * halt does not get there, so write them out as the suites' run halts the
 * machine.  Nothing at all in any other build.
 */
#include <linux/init.h>
#include <linux/notifier.h>
#include <linux/reboot.h>

#if IS_ENABLED(CONFIG_UML) && IS_ENABLED(CONFIG_GCOV)

void __gcov_dump(void);		/* libgcov */

static int vd_gcov_dump(struct notifier_block *nb, unsigned long action, void *data)
{
	__gcov_dump();
	return NOTIFY_DONE;
}

static struct notifier_block vd_gcov_nb = {
	.notifier_call = vd_gcov_dump,
};

static int __init vd_gcov_dump_init(void)
{
	return register_reboot_notifier(&vd_gcov_nb);
}
late_initcall(vd_gcov_dump_init);

#endif
