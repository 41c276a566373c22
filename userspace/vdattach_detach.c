// SPDX-License-Identifier: GPL-2.0
/*
 * vdattach_detach.c - vdattach detach: remove /dev/vdN devices.
 *
 * Every device named is tried even after one fails, so that one busy
 * device does not keep the others attached; the exit code is that of the
 * first failure.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vdattach.h"

static const char vda_detach_usage[] =
"Usage: vdattach detach [-l|--lazy] DEV...\n"
"       vdattach detach [-l|--lazy] -a|--all\n"
"\n"
"Detach devices.  DEV is /dev/vdN, vdN or N.\n"
"\n"
"Options:\n"
"  -a, --all     detach every vdisk device\n"
"  -l, --lazy    if a device is open (mounted, in use), detach it on its\n"
"                last close instead of failing\n"
"  -h, --help    show this help\n";

static const struct option vda_detach_options[] = {
	{ "all",	no_argument,	NULL, 'a' },
	{ "lazy",	no_argument,	NULL, 'l' },
	{ "help",	no_argument,	NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

/* Detach /dev/vd@index; @quiet_gone: a vanished device is no failure. */
static int vda_detach_one(int ctl, int index, bool lazy, bool quiet_gone)
{
	char path[32];
	int ret;

	ret = vda_ioc_detach(ctl, index, lazy);
	if (!ret || (ret == -ENXIO && quiet_gone))
		return VDA_EXIT_OK;
	vda_device_path(index, path, sizeof(path));
	if (ret == -EBUSY) {
		static struct vda_status st;

		if (!vda_ioc_status(ctl, index, false, &st) &&
		    (st.st.dev_flags & VDISK_DEV_JOB_RUNNING))
			vda_warn(path, "a commit or rebase is running; "
				 "wait for it or stop it with 'vdattach cancel %s'", path);
		else
			vda_warn(path, "device is busy (mounted or open); "
				 "use --lazy to detach on last close");
		return VDA_EXIT_BUSY;
	}
	if (ret == -ENXIO) {
		vda_warn(path, "no such device");
		return VDA_EXIT_NOT_FOUND;
	}
	return vda_fail(path, -ret);
}

static int vda_first_failure(int so_far, int ret)
{
	return so_far ? so_far : ret;
}

/* Walk the devices with STATUS NEXT; one detached by someone else is fine. */
static int vda_detach_all(int ctl, bool lazy)
{
	static struct vda_status s;
	int next = 0, ret, status = VDA_EXIT_OK;

	while (!(ret = vda_ioc_status(ctl, next, true, &s))) {
		status = vda_first_failure(status,
					   vda_detach_one(ctl, s.st.index, lazy, true));
		next = s.st.index + 1;
	}
	if (ret != -ENXIO)
		status = vda_first_failure(status, vda_fail(VDATTACH_CONTROL_PATH, -ret));
	return status;
}

static int vda_detach_list(int ctl, char **devs, int nr, bool lazy)
{
	int i, index, ret, status = VDA_EXIT_OK;

	for (i = 0; i < nr; i++) {
		ret = vda_resolve_device(ctl, devs[i], &index);
		if (!ret)
			ret = vda_detach_one(ctl, index, lazy, false);
		status = vda_first_failure(status, ret);
	}
	return status;
}

int vda_cmd_detach(int argc, char **argv)
{
	bool all = false, lazy = false;
	int c, ctl, ret;

	while ((c = getopt_long(argc, argv, "alh", vda_detach_options, NULL)) != -1) {
		switch (c) {
		case 'a':
			all = true;
			break;
		case 'l':
			lazy = true;
			break;
		case 'h':
			fputs(vda_detach_usage, stdout);
			return VDA_EXIT_OK;
		default:
			return vda_try_help("detach");
		}
	}
	if (all && optind < argc)
		return vda_usage_error("detach", "--all takes no device");
	if (!all && optind == argc)
		return vda_usage_error("detach", "no device given");
	ctl = vda_open_control();
	if (ctl < 0)
		return VDA_EXIT_FAILURE;
	if (all)
		ret = vda_detach_all(ctl, lazy);
	else
		ret = vda_detach_list(ctl, argv + optind, argc - optind, lazy);
	close(ctl);
	return ret;
}
