// SPDX-License-Identifier: GPL-2.0
/*
 * vdattach - attach disk images as /dev/vdN block devices (vdisk driver).
 *
 * The command line is "vdattach [--help|--version] COMMAND [options] ...";
 * each command parses its own options with getopt_long().
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vdattach.h"

struct vda_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *prog;	/* what getopt_long() names in its messages */
};

static const struct vda_command vda_commands[] = {
	{ "attach",	vda_cmd_attach,		"vdattach attach" },
	{ "detach",	vda_cmd_detach,		"vdattach detach" },
	{ "list",	vda_cmd_list,		"vdattach list" },
	{ "status",	vda_cmd_status,		"vdattach status" },
	{ "features",	vda_cmd_features,	"vdattach features" },
	{ "info",	vda_cmd_info,		"vdattach info" },
	{ "snapshot",	vda_cmd_snapshot,	"vdattach snapshot" },
	{ "commit",	vda_cmd_commit,		"vdattach commit" },
	{ "rebase",	vda_cmd_rebase,		"vdattach rebase" },
	{ "job",	vda_cmd_job,		"vdattach job" },
	{ "cancel",	vda_cmd_cancel,		"vdattach cancel" },
};

static const char vda_usage[] =
"Usage: vdattach COMMAND [options] [arguments]\n"
"\n"
"Attach disk images (raw; qcow2 and vmdk where the driver supports them)\n"
"as block devices /dev/vdN through the vdisk driver.\n"
"\n"
"Commands:\n"
"  attach [options] IMAGE    attach IMAGE, print its device (/dev/vdN)\n"
"  detach [-l] DEV...|-a     detach devices\n"
"  list [options] [DEV]      list attached devices\n"
"  status [options] DEV      show one device and all its layers\n"
"  features                  show what the loaded driver supports\n"
"  info [options] IMAGE      show the layers of IMAGE (backing chain)\n"
"  snapshot -l IMAGE         list the internal snapshots of a qcow2 IMAGE\n"
"  commit [options] DEV|IMAGE\n"
"                            copy the top layer into its backing file (or\n"
"                            with -b into a deeper one) while in use\n"
"  rebase -b NEW [options] DEV|IMAGE\n"
"                            put the top layer onto NEW's backing chain\n"
"  job [-J] DEV              show the last commit or rebase of DEV\n"
"  cancel DEV                stop the commit or rebase running on DEV\n"
"\n"
"DEV is /dev/vdN, vdN or N.  'vdattach COMMAND --help' shows the options\n"
"of a command.\n"
"\n"
"Options:\n"
"  -h, --help       show this help\n"
"  -V, --version    show the version\n"
"\n"
"Exit status:\n"
"  0  success\n"
"  1  usage error\n"
"  2  the operation failed (file error, bad image or backing chain,\n"
"     refused by the kernel, no driver)\n"
"  3  device busy: open or mounted on detach, index taken on attach,\n"
"     an image locked by another process (a VM, qemu-nbd, qemu-img),\n"
"     a job already running on commit and rebase\n"
"  4  no such device\n"
"  130  commit or rebase cancelled (SIGINT, SIGTERM, vdattach cancel)\n";

static const struct vda_command *vda_find_command(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(vda_commands) / sizeof(vda_commands[0]); i++)
		if (!strcmp(name, vda_commands[i].name))
			return &vda_commands[i];
	return NULL;
}

/* Like coreutils' close_stdout: a lost device path must not exit 0. */
static int vda_flush_stdout(int ret)
{
	if (fflush(stdout) == 0 && !ferror(stdout))
		return ret;
	vda_warn(NULL, "write error: %s", strerror(errno));
	return ret ? ret : VDA_EXIT_FAILURE;
}

static int vda_main(int argc, char **argv)
{
	const struct vda_command *cmd;
	const char *arg = argv[1];

	if (argc < 2)
		return vda_usage_error(NULL, "no command given");
	if (!strcmp(arg, "-h") || !strcmp(arg, "--help") || !strcmp(arg, "help")) {
		fputs(vda_usage, stdout);
		return VDA_EXIT_OK;
	}
	if (!strcmp(arg, "-V") || !strcmp(arg, "--version")) {
		printf("vdattach %s (vdisk ABI %u)\n", VDATTACH_VERSION, VDISK_ABI_VERSION);
		return VDA_EXIT_OK;
	}
	cmd = vda_find_command(arg);
	if (!cmd) {
		if (arg[0] == '-')
			return vda_usage_error(NULL, "unknown option '%s'", arg);
		return vda_usage_error(NULL, "unknown command '%s'", arg);
	}
	/* The command sees its name as argv[0], getopt_long() included. */
	argv[1] = (char *)cmd->prog;
	return cmd->run(argc - 1, argv + 1);
}

int main(int argc, char **argv)
{
	return vda_flush_stdout(vda_main(argc, argv));
}
