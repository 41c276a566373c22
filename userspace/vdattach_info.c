// SPDX-License-Identifier: GPL-2.0
/*
 * vdattach_info.c - vdattach info and snapshot: what an image is made of,
 * read from its files alone (no driver, no /dev/vdisk-control).
 *
 *   info IMAGE         the layer stack attach would build, top first
 *   snapshot -l IMAGE  the internal snapshots of a qcow2 image, as
 *                      qemu-img snapshot -l lists them
 *
 * Sizes are printed as qemu-img prints them ("64 MiB (67108864 bytes)")
 * so that the two can be read side by side.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "vdattach.h"

/* qemu's size_to_str(): three significant digits, 1024-based units. */
static void vda_qemu_size(uint64_t val, char *buf, size_t size)
{
	static const char *const suffixes[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };
	double x = val * 1.024;		/* switch to the next unit at 1000 */
	unsigned int i = 0;

	while (i < 6 && x >= (double)(1ULL << ((i + 1) * 10)))
		i++;
	snprintf(buf, size, "%0.3g %sB", (double)val / (double)(1ULL << (i * 10)),
		 suffixes[i]);
}

static const char *vda_qcow2_compat(const struct vd_qcow2_header *h)
{
	return h->version == 2 ? "0.10" : "1.1";
}

static const char *vda_compression_name(uint32_t type)
{
	return type == VD_QCOW2_COMPRESS_ZLIB ? "zlib" :
	       type == VD_QCOW2_COMPRESS_ZSTD ? "zstd" : "unknown";
}

static const char *vda_bool(bool b)
{
	return b ? "true" : "false";
}

/* ---- info ---- */

static const char vda_info_usage[] =
"Usage: vdattach info [options] IMAGE\n"
"\n"
"Show the layers attach would stack for IMAGE, top first: each file's\n"
"format, path and virtual size, and for qcow2 its version, cluster size and\n"
"backing file.  Nothing is attached; the vdisk driver is not needed.\n"
"\n"
"Options:\n"
"  -f, --format FMT           format of IMAGE (default: from its content)\n"
"  -F, --backing-format FMT   format of a backing file whose image does not\n"
"                             record it; as for attach\n"
"  -J, --json                 print JSON\n"
"  -h, --help                 show this help\n";

struct vda_info_opts {
	bool json;
	const char *image;
	unsigned int format;
	unsigned int backing_format[VDISK_MAX_LAYERS - 1];
	unsigned int nr_backing_formats;
};

static const struct option vda_info_options[] = {
	{ "format",		required_argument,	NULL, 'f' },
	{ "backing-format",	required_argument,	NULL, 'F' },
	{ "json",		no_argument,		NULL, 'J' },
	{ "help",		no_argument,		NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static int vda_parse_info_args(int argc, char **argv, struct vda_info_opts *o)
{
	int c, ret;

	memset(o, 0, sizeof(*o));
	while ((c = getopt_long(argc, argv, "f:F:Jh", vda_info_options, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (!vda_parse_format(optarg, &o->format))
				return vda_usage_error("info", "unknown format '%s' "
						       "(raw, qcow2, vmdk)", optarg);
			break;
		case 'F':
			ret = vda_add_backing_format("info", o->backing_format,
						     &o->nr_backing_formats, optarg);
			if (ret)
				return ret;
			break;
		case 'J':
			o->json = true;
			break;
		case 'h':
			fputs(vda_info_usage, stdout);
			return VDA_EXIT_OK;
		default:
			return vda_try_help("info");
		}
	}
	if (optind == argc)
		return vda_usage_error("info", "no image given");
	if (optind + 1 < argc)
		return vda_usage_error("info", "one image only; unexpected '%s'",
				       argv[optind + 1]);
	o->image = argv[optind];
	return VDA_CONTINUE;
}

static void vda_info_field(const char *label, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void vda_info_field(const char *label, const char *fmt, ...)
{
	va_list ap;

	printf("  %-16s", label);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void vda_info_size(const char *label, uint64_t bytes)
{
	char human[32];

	vda_qemu_size(bytes, human, sizeof(human));
	vda_info_field(label, "%s (%" PRIu64 " bytes)", human, bytes);
}

static void vda_print_qcow2(const struct vd_qcow2_header *h)
{
	vda_info_field("qcow2 version:", "%u (compat %s)", h->version, vda_qcow2_compat(h));
	vda_info_field("cluster size:", "%" PRIu64, (uint64_t)h->cluster_size);
	vda_info_field("refcount bits:", "%u", 1U << h->refcount_order);
	if (h->version >= 3)
		vda_info_field("compression:", "%s", vda_compression_name(h->compression_type));
	if (h->extended_l2)
		vda_info_field("extended L2:", "yes");
	if (h->compatible_features & VD_QCOW2_COMPAT_LAZY_REFCOUNTS)
		vda_info_field("lazy refcounts:", "yes");
	if (h->dirty)
		vda_info_field("dirty:", "yes (refcounts may be stale)");
	if (h->corrupt)
		vda_info_field("corrupt:", "yes (marked corrupt: read-only use only)");
	if (h->has_data_file)
		vda_info_field("data file:", "%s", vda_printable(h->data_file_name));
	vda_info_field("snapshots:", "%u", h->nb_snapshots);
	if (h->backing_name[0]) {
		vda_info_field("backing file:", "%s", vda_printable(h->backing_name));
		vda_info_field("backing format:", "%s",
			       h->backing_format[0] ? vda_printable(h->backing_format) :
			       "(not recorded)");
	}
}

/* How the format of layer @i was settled, for people. */
static const char *vda_format_origin(const struct vda_layer *l)
{
	if (!strcmp(l->format_from, "header"))
		return "recorded in the image above";
	if (!strcmp(l->format_from, "-F"))
		return "given with -F";
	if (!strcmp(l->format_from, "-f"))
		return "given with -f";
	if (!strcmp(l->format_from, "vmdk parent"))
		return "parent of a vmdk delta";
	return "probed";
}

static void vda_print_vmdk(const struct vda_layer *l)
{
	const struct vd_vmdk_desc *d = l->vmdk;

	vda_info_field("create type:", "%s", vd_vmdk_create_type_name(d->create_type));
	vda_info_field("CID:", "%08x", d->cid);
	if (d->has_parent) {
		vda_info_field("parent CID:", "%08x", d->parent_cid);
		vda_info_field("backing file:", "%s", vda_printable(d->parent_hint));
	}
	vda_info_field("extent files:", "%u", l->nr_extent_fds);
}

static void vda_print_info(const struct vda_chain *chain)
{
	unsigned int i;

	for (i = 0; i < chain->nr; i++) {
		const struct vda_layer *l = &chain->layer[i];

		printf("%slayer %u: %s\n", i ? "\n" : "", i, vda_printable(l->path));
		vda_info_field("format:", "%s (%s)", vd_format_name(l->format),
			       vda_format_origin(l));
		vda_info_size("virtual size:", l->virtual_size);
		vda_info_field("file size:", "%" PRIu64 " bytes", l->file_size);
		if (l->qcow2)
			vda_print_qcow2(l->qcow2);
		if (l->vmdk)
			vda_print_vmdk(l);
	}
}

/* "key": "string" or null. */
static void vda_json_opt_string(const char *key, const char *value)
{
	printf(", \"%s\": ", key);
	if (value && value[0])
		vda_json_string(value);
	else
		fputs("null", stdout);
}

static void vda_json_qcow2(const struct vd_qcow2_header *h)
{
	printf(",\n      \"qcow2\": {\"version\": %u, \"compat\": \"%s\", "
	       "\"cluster_size\": %" PRIu64 ", \"refcount_bits\": %u, "
	       "\"compression_type\": \"%s\",\n        \"extended_l2\": %s, "
	       "\"lazy_refcounts\": %s, \"dirty\": %s, \"corrupt\": %s, "
	       "\"snapshots\": %u",
	       h->version, vda_qcow2_compat(h), (uint64_t)h->cluster_size,
	       1U << h->refcount_order, vda_compression_name(h->compression_type),
	       vda_bool(h->extended_l2),
	       vda_bool(h->compatible_features & VD_QCOW2_COMPAT_LAZY_REFCOUNTS),
	       vda_bool(h->dirty), vda_bool(h->corrupt), h->nb_snapshots);
	vda_json_opt_string("data_file", h->has_data_file ? h->data_file_name : NULL);
	putchar('}');
}

static void vda_json_info(const char *image, const struct vda_chain *chain)
{
	unsigned int i;

	printf("{\n  \"image\": ");
	vda_json_string(image);
	printf(",\n  \"layers\": [");
	for (i = 0; i < chain->nr; i++) {
		const struct vda_layer *l = &chain->layer[i];
		const struct vd_qcow2_header *h = l->qcow2;

		printf("%s\n    {\"path\": ", i ? "," : "");
		vda_json_string(l->path);
		printf(", \"format\": \"%s\", \"format_from\": \"%s\",\n      ",
		       vd_format_name(l->format), l->format_from);
		printf("\"virtual_size\": %" PRIu64, l->virtual_size);
		printf(", \"file_size\": %" PRIu64, l->file_size);
		vda_json_opt_string("backing_file", h ? h->backing_name :
				    l->vmdk && l->vmdk->has_parent ? l->vmdk->parent_hint : NULL);
		/* a vmdk delta's parent is vmdk, as qemu-img reports it too */
		vda_json_opt_string("backing_format", h ? h->backing_format :
				    l->vmdk && l->vmdk->has_parent ? "vmdk" : NULL);
		if (l->vmdk)
			printf(", \"vmdk\": {\"create_type\": \"%s\", \"cid\": %u, "
			       "\"parent_cid\": %u, \"extent_files\": %u}",
			       vd_vmdk_create_type_name(l->vmdk->create_type), l->vmdk->cid,
			       l->vmdk->parent_cid, l->nr_extent_fds);
		if (h)
			vda_json_qcow2(h);
		putchar('}');
	}
	printf("%s]\n}\n", chain->nr ? "\n  " : "");
}

int vda_cmd_info(int argc, char **argv)
{
	static struct vda_chain chain;
	struct vda_info_opts o;
	struct vda_chain_opts co;
	int ret;

	ret = vda_parse_info_args(argc, argv, &o);
	if (ret != VDA_CONTINUE)
		return ret;
	memset(&co, 0, sizeof(co));
	co.cmd = "info";
	co.image = o.image;
	co.format = o.format;
	co.backing_format = o.backing_format;
	co.nr_backing_formats = o.nr_backing_formats;
	co.force_parent_cid = true;	/* info shows a mismatch, it does not refuse */
	vda_chain_init(&chain);
	ret = vda_resolve_chain(&co, &chain);
	if (!ret) {
		if (o.json)
			vda_json_info(o.image, &chain);
		else
			vda_print_info(&chain);
	}
	vda_chain_close(&chain);
	return ret;
}

/* ---- snapshot ---- */

static const char vda_snapshot_usage[] =
"Usage: vdattach snapshot -l|--list [options] IMAGE\n"
"\n"
"List the internal snapshots of a qcow2 IMAGE, like 'qemu-img snapshot -l':\n"
"ID, TAG (name), VM SIZE (saved VM state), DATE (local time) and DISK SIZE\n"
"(virtual size of the disk when the snapshot was taken).  An image without\n"
"snapshots prints nothing.  'vdattach attach -l ID|TAG' attaches one.\n"
"\n"
"Options:\n"
"  -l, --list         list the snapshots (the only action so far)\n"
"  -f, --format FMT   format of IMAGE (only qcow2 has snapshots)\n"
"  -J, --json         print JSON\n"
"  -h, --help         show this help\n";

static const struct option vda_snapshot_options[] = {
	{ "list",	no_argument,		NULL, 'l' },
	{ "format",	required_argument,	NULL, 'f' },
	{ "json",	no_argument,		NULL, 'J' },
	{ "help",	no_argument,		NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static void vda_snapshot_date(uint32_t sec, char *buf, size_t size)
{
	time_t t = sec;
	struct tm tm;

	if (!localtime_r(&t, &tm) || !strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, size, "@%" PRIu32, sec);
}

/* qemu-img's columns, VM CLOCK and ICOUNT replaced by DISK SIZE. */
static void vda_print_snapshots(const struct vda_snapshots *sns)
{
	char vm[32], disk[32], date[64];
	unsigned int i;

	if (!sns->nr)
		return;
	printf("Snapshot list:\n");
	printf("%-10s%-17s%8s%20s%12s\n", "ID", "TAG", "VM SIZE", "DATE", "DISK SIZE");
	for (i = 0; i < sns->nr; i++) {
		const struct vd_qcow2_snapshot *s = &sns->sn[i];

		vda_qemu_size(s->vm_state_size, vm, sizeof(vm));
		vda_qemu_size(s->disk_size, disk, sizeof(disk));
		vda_snapshot_date(s->date_sec, date, sizeof(date));
		/* vda_printable() has one buffer: one call per printf(). */
		printf("%-9s ", vda_printable(s->id));
		printf("%-16s %8s%20s%12s\n", vda_printable(s->name), vm, date, disk);
	}
}

static void vda_json_snapshots(const struct vda_snapshots *sns)
{
	char date[64];
	unsigned int i;

	printf("{\n  \"snapshots\": [");
	for (i = 0; i < sns->nr; i++) {
		const struct vd_qcow2_snapshot *s = &sns->sn[i];

		vda_snapshot_date(s->date_sec, date, sizeof(date));
		printf("%s\n    {\"id\": ", i ? "," : "");
		vda_json_string(s->id);
		printf(", \"name\": ");
		vda_json_string(s->name);
		printf(", \"vm_state_size\": %" PRIu64 ", \"date_sec\": %" PRIu32
		       ", \"date\": \"%s\", \"disk_size\": %" PRIu64 "}",
		       (uint64_t)s->vm_state_size, s->date_sec, date, (uint64_t)s->disk_size);
	}
	printf("%s]\n}\n", sns->nr ? "\n  " : "");
}

int vda_cmd_snapshot(int argc, char **argv)
{
	static struct vda_chain chain;
	struct vda_chain_opts co;
	struct vda_snapshots sns;
	bool list = false, json = false;
	unsigned int format = VDISK_FMT_NONE;
	int c, ret;

	while ((c = getopt_long(argc, argv, "lf:Jh", vda_snapshot_options, NULL)) != -1) {
		switch (c) {
		case 'l':
			list = true;
			break;
		case 'f':
			if (!vda_parse_format(optarg, &format))
				return vda_usage_error("snapshot", "unknown format '%s' "
						       "(raw, qcow2, vmdk)", optarg);
			break;
		case 'J':
			json = true;
			break;
		case 'h':
			fputs(vda_snapshot_usage, stdout);
			return VDA_EXIT_OK;
		default:
			return vda_try_help("snapshot");
		}
	}
	if (!list)
		return vda_usage_error("snapshot", "no action given (-l)");
	if (optind == argc)
		return vda_usage_error("snapshot", "no image given");
	if (optind + 1 < argc)
		return vda_usage_error("snapshot", "one image only; unexpected '%s'",
				       argv[optind + 1]);
	memset(&co, 0, sizeof(co));
	co.cmd = "snapshot";
	co.image = argv[optind];
	co.format = format;
	co.top_only = true;	/* as qemu-img snapshot: backing files do not matter */
	vda_chain_init(&chain);
	ret = vda_resolve_chain(&co, &chain);
	if (!ret && chain.layer[0].format != VDISK_FMT_QCOW2) {
		vda_warn(co.image, "not a qcow2 image (%s); only qcow2 has internal snapshots",
			 vd_format_name(chain.layer[0].format));
		ret = VDA_EXIT_FAILURE;
	}
	if (!ret)
		ret = vda_read_snapshots(co.image, &chain.layer[0], &sns);
	if (!ret) {
		if (json)
			vda_json_snapshots(&sns);
		else
			vda_print_snapshots(&sns);
		vda_free_snapshots(&sns);
	}
	vda_chain_close(&chain);
	return ret;
}
