// SPDX-License-Identifier: GPL-2.0
/*
 * vdattach_list.c - vdattach list, status and features: what the driver
 * has attached and what it can do, as tables or JSON.
 *
 * Devices are enumerated with VDISK_IOC_STATUS and VDISK_STATUS_NEXT (no
 * /sys/block/vd* glob: virtio-blk disks are named vda, vdb, ...).  The
 * ioctl truncates paths to VDISK_PATH_MAX; sysfs has them whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vdattach.h"

/* Enough for one path of PATH_MAX; sysfs attributes are one page anyway. */
#define VDA_SYSFS_MAX	8192

struct vda_list_opts {
	bool json;
	bool bytes;
	bool noheadings;
	const char *dev;	/* the one device to show, or NULL for all */
};

static unsigned int vda_nr_layer_infos(const struct vda_status *s)
{
	return s->st.nr_layers < VDISK_MAX_LAYERS ? s->st.nr_layers : VDISK_MAX_LAYERS;
}

/* Read a sysfs attribute of /dev/vd@index into @buf; false if unreadable. */
static bool vda_read_sysfs(int index, const char *attr, char *buf, size_t size)
{
	char path[96];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/block/" VDISK_DISK_PREFIX "%d/vdisk/%s",
		 index, attr);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return false;
	buf[n] = '\0';
	return true;
}

/* The path of @level in the text of the chain attribute: "<level> <fmt> <path>". */
static const char *vda_chain_line_path(char *chain, unsigned int level)
{
	char *line, *save = NULL, *end;

	for (line = strtok_r(chain, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strtoul(line, &end, 10) != level || *end != ' ')
			continue;
		end = strchr(end + 1, ' ');
		return end ? end + 1 : NULL;
	}
	return NULL;
}

/*
 * The whole path of layer @level.  The ioctl's copy is whole unless it
 * filled VDISK_PATH_MAX; then sysfs has the rest.  The device may have
 * been detached and another attached under the same N in between, so a
 * sysfs path is only believed if the ioctl's copy is its prefix.
 */
const char *vda_layer_path(const struct vda_status *s, unsigned int level)
{
	static char buf[VDA_SYSFS_MAX];
	const char *known = s->layer[level].path, *full;
	size_t len = strnlen(known, VDISK_PATH_MAX);

	if (len < VDISK_PATH_MAX - 1)
		return known;
	if (level == 0) {
		if (!vda_read_sysfs(s->st.index, "backing_file", buf, sizeof(buf)))
			return known;
		buf[strcspn(buf, "\n")] = '\0';
		full = buf;
	} else {
		if (!vda_read_sysfs(s->st.index, "chain", buf, sizeof(buf)))
			return known;
		full = vda_chain_line_path(buf, level);
	}
	return full && !strncmp(full, known, len) ? full : known;
}

/* lsblk style: 512B, 1K, 1.5G; whole numbers without a fraction. */
static void vda_human_size(uint64_t bytes, char *buf, size_t size)
{
	static const char units[] = "BKMGTPE";
	unsigned int u = 0;
	double v = bytes;

	while (v >= 1024 && u < sizeof(units) - 2) {
		v /= 1024;
		u++;
	}
	if (u == 0 || v >= 10 || (uint64_t)(v * 10 + 0.5) % 10 == 0)
		snprintf(buf, size, "%.0f%c", v, units[u]);
	else
		snprintf(buf, size, "%.1f%c", v, units[u]);
}

static void vda_size_column(const struct vda_list_opts *o, uint64_t bytes,
			    char *buf, size_t size)
{
	if (o->bytes)
		snprintf(buf, size, "%" PRIu64, bytes);
	else
		vda_human_size(bytes, buf, size);
}

/* ---- table ---- */

/*
 * A path for a table line: control characters (a newline in a file name)
 * would break the line, so they are shown as \xNN, as lsblk does.
 */
const char *vda_printable(const char *str)
{
	static char buf[VDA_SYSFS_MAX * 4 + 1];
	const unsigned char *s = (const unsigned char *)str;
	size_t n = 0;

	for (; *s && n + 5 < sizeof(buf); s++) {
		if (*s < 0x20 || *s == 0x7f)
			n += snprintf(buf + n, sizeof(buf) - n, "\\x%02x", *s);
		else
			buf[n++] = *s;
	}
	buf[n] = '\0';
	return buf;
}

#define VDA_ROW_FMT	"%-12s %8s %2s %9s %8s %3s %-6s %6s %s\n"

static void vda_print_header(void)
{
	printf(VDA_ROW_FMT, "NAME", "SIZE", "RO", "AUTOCLEAR", "PARTSCAN", "DIO",
	       "FORMAT", "LAYERS", "BACKING-FILE");
}

static const char *vda_bit(uint32_t flags, uint32_t bit)
{
	return flags & bit ? "1" : "0";
}

static void vda_print_row(const struct vda_list_opts *o, const struct vda_status *s)
{
	const struct vdisk_layer_info *top = &s->layer[0];
	bool have_top = vda_nr_layer_infos(s) > 0;
	char name[32], size[32], layers[16];

	vda_device_path(s->st.index, name, sizeof(name));
	vda_size_column(o, s->st.capacity, size, sizeof(size));
	snprintf(layers, sizeof(layers), "%u", s->st.nr_layers);
	printf(VDA_ROW_FMT, name, size,
	       vda_bit(s->st.dev_flags, VDISK_DEV_READ_ONLY),
	       vda_bit(s->st.dev_flags, VDISK_DEV_AUTOCLEAR),
	       vda_bit(s->st.dev_flags, VDISK_DEV_PARTSCAN),
	       have_top ? vda_bit(top->flags, VDISK_LINFO_DIRECT_IO) : "-",
	       have_top ? vd_format_name(top->format) : "-",
	       layers, have_top ? vda_printable(vda_layer_path(s, 0)) : "-");
}

/* ---- JSON ---- */

/* Length of the valid UTF-8 sequence at @s, 0 if it is not one. */
static unsigned int vda_utf8_seq_len(const unsigned char *s)
{
	unsigned char lo = 0x80, hi = 0xbf;
	unsigned int n, i;

	if (*s < 0x80)
		return 1;
	if (*s >= 0xc2 && *s <= 0xdf) {
		n = 2;
	} else if (*s >= 0xe0 && *s <= 0xef) {
		n = 3;
		lo = *s == 0xe0 ? 0xa0 : lo;	/* no overlong forms */
		hi = *s == 0xed ? 0x9f : hi;	/* no surrogates */
	} else if (*s >= 0xf0 && *s <= 0xf4) {
		n = 4;
		lo = *s == 0xf0 ? 0x90 : lo;
		hi = *s == 0xf4 ? 0x8f : hi;	/* nothing past U+10FFFF */
	} else {
		return 0;
	}
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/*
 * A JSON string.  Paths are bytes, JSON is UTF-8: a byte that is not part
 * of valid UTF-8 becomes U+FFFD rather than making the document invalid.
 */
void vda_json_string(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned int n;

	putchar('"');
	while (*s) {
		n = vda_utf8_seq_len(s);
		if (!n) {
			fputs("\\ufffd", stdout);
			s++;
		} else if (*s == '"' || *s == '\\') {
			printf("\\%c", *s++);
		} else if (*s < 0x20) {
			printf("\\u%04x", *s++);
		} else {
			fwrite(s, 1, n, stdout);
			s += n;
		}
	}
	putchar('"');
}

static const char *vda_json_bool(bool b)
{
	return b ? "true" : "false";
}

static void vda_json_layer(const struct vda_status *s, unsigned int level)
{
	const struct vdisk_layer_info *l = &s->layer[level];

	printf("{\"format\": ");
	vda_json_string(vd_format_name(l->format));
	printf(", \"path\": ");
	vda_json_string(vda_layer_path(s, level));
	printf(", \"virtual_size\": %" PRIu64 ", \"writable\": %s, \"direct_io\": %s}",
	       (uint64_t)l->virtual_size,
	       vda_json_bool(l->flags & VDISK_LINFO_WRITABLE),
	       vda_json_bool(l->flags & VDISK_LINFO_DIRECT_IO));
}

/* One device object; @ind is the indentation of its braces. */
static void vda_json_device(const struct vda_status *s, const char *ind)
{
	unsigned int i, n = vda_nr_layer_infos(s);
	char name[32];

	vda_device_path(s->st.index, name, sizeof(name));
	printf("%s{\n%s  \"name\": ", ind, ind);
	vda_json_string(name);
	printf(",\n%s  \"size\": %" PRIu64 ",\n", ind, (uint64_t)s->st.capacity);
	printf("%s  \"ro\": %s,\n", ind, vda_json_bool(s->st.dev_flags & VDISK_DEV_READ_ONLY));
	printf("%s  \"autoclear\": %s,\n", ind,
	       vda_json_bool(s->st.dev_flags & VDISK_DEV_AUTOCLEAR));
	printf("%s  \"partscan\": %s,\n", ind,
	       vda_json_bool(s->st.dev_flags & VDISK_DEV_PARTSCAN));
	printf("%s  \"open_count\": %u,\n", ind, s->st.open_count);
	printf("%s  \"layers\": [", ind);
	for (i = 0; i < n; i++) {
		printf("%s\n%s    ", i ? "," : "", ind);
		vda_json_layer(s, i);
	}
	if (n)
		printf("\n%s  ", ind);
	printf("]\n%s}", ind);
}

/* ---- list ---- */

static const char vda_list_usage[] =
"Usage: vdattach list [options] [DEV]\n"
"\n"
"List attached devices, or only DEV (/dev/vdN, vdN or N).\n"
"\n"
"Options:\n"
"  -b, --bytes        print SIZE in bytes, not 1K-based units\n"
"  -n, --noheadings   do not print the header line\n"
"  -J, --json         print JSON instead of a table\n"
"  -h, --help         show this help\n";

static const struct option vda_list_options[] = {
	{ "bytes",	no_argument,	NULL, 'b' },
	{ "noheadings",	no_argument,	NULL, 'n' },
	{ "json",	no_argument,	NULL, 'J' },
	{ "help",	no_argument,	NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static void vda_list_begin(const struct vda_list_opts *o)
{
	if (o->json)
		printf("{\n  \"vdisks\": [");
}

/* Like losetup --list: no devices, no output, not even the header. */
static void vda_list_device(const struct vda_list_opts *o,
			    const struct vda_status *s, bool first)
{
	if (!o->json) {
		if (first && !o->noheadings)
			vda_print_header();
		vda_print_row(o, s);
		return;
	}
	printf("%s\n", first ? "" : ",");
	vda_json_device(s, "    ");
}

static void vda_list_end(const struct vda_list_opts *o, bool any)
{
	if (o->json)
		printf("%s]\n}\n", any ? "\n  " : "");
}

static int vda_list_all(int ctl, const struct vda_list_opts *o)
{
	static struct vda_status s;
	int next = 0, ret;
	bool any = false;

	vda_list_begin(o);
	while (!(ret = vda_ioc_status(ctl, next, true, &s))) {
		vda_list_device(o, &s, !any);
		any = true;
		next = s.st.index + 1;
	}
	vda_list_end(o, any);
	if (ret != -ENXIO)
		return vda_fail(VDATTACH_CONTROL_PATH, -ret);
	return VDA_EXIT_OK;
}

/* STATUS of the device named @arg; prints why not and returns an exit code. */
static int vda_status_of(int ctl, const char *arg, struct vda_status *s)
{
	char path[32];
	int index, ret;

	ret = vda_resolve_device(ctl, arg, &index);
	if (ret)
		return ret;
	ret = vda_ioc_status(ctl, index, false, s);
	if (!ret)
		return VDA_EXIT_OK;
	vda_device_path(index, path, sizeof(path));
	if (ret == -ENXIO) {
		vda_warn(path, "no such device");
		return VDA_EXIT_NOT_FOUND;
	}
	return vda_fail(path, -ret);
}

static int vda_list_one(int ctl, const struct vda_list_opts *o)
{
	static struct vda_status s;
	int ret;

	ret = vda_status_of(ctl, o->dev, &s);
	if (ret)
		return ret;
	vda_list_begin(o);
	vda_list_device(o, &s, true);
	vda_list_end(o, true);
	return VDA_EXIT_OK;
}

/* Options of list and status; returns VDA_CONTINUE or an exit code. */
static int vda_parse_list_args(int argc, char **argv, const char *cmd,
			       const char *usage, struct vda_list_opts *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	while ((c = getopt_long(argc, argv, "bnJh", vda_list_options, NULL)) != -1) {
		switch (c) {
		case 'b':
			o->bytes = true;
			break;
		case 'n':
			o->noheadings = true;
			break;
		case 'J':
			o->json = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return VDA_EXIT_OK;
		default:
			return vda_try_help(cmd);
		}
	}
	if (optind + 1 < argc)
		return vda_usage_error(cmd, "one device at most; unexpected '%s'",
				       argv[optind + 1]);
	o->dev = optind < argc ? argv[optind] : NULL;
	return VDA_CONTINUE;
}

int vda_cmd_list(int argc, char **argv)
{
	struct vda_list_opts o;
	int ctl, ret;

	ret = vda_parse_list_args(argc, argv, "list", vda_list_usage, &o);
	if (ret != VDA_CONTINUE)
		return ret;
	ctl = vda_open_control();
	if (ctl < 0)
		return VDA_EXIT_FAILURE;
	ret = o.dev ? vda_list_one(ctl, &o) : vda_list_all(ctl, &o);
	close(ctl);
	return ret;
}

/* ---- status ---- */

static const char vda_status_usage[] =
"Usage: vdattach status [options] DEV\n"
"\n"
"Show one device (/dev/vdN, vdN or N) with every layer, top first.\n"
"\n"
"Options:\n"
"  -b, --bytes        print sizes in bytes only\n"
"  -J, --json         print the device as a JSON object\n"
"  -h, --help         show this help\n";

static const char *vda_yes_no(bool b)
{
	return b ? "yes" : "no";
}

/* "<indent><label>  1M (1048576 bytes)", labels in one column. */
static void vda_print_size_line(const struct vda_list_opts *o, const char *indent,
				const char *label, uint64_t bytes)
{
	char human[32];

	vda_human_size(bytes, human, sizeof(human));
	if (o->bytes)
		printf("%s%-12s%" PRIu64 "\n", indent, label, bytes);
	else
		printf("%s%-12s%s (%" PRIu64 " bytes)\n", indent, label, human, bytes);
}

static void vda_print_field(const char *indent, const char *label, const char *value)
{
	printf("%s%-12s%s\n", indent, label, value);
}

static void vda_print_layer(const struct vda_list_opts *o,
			    const struct vda_status *s, unsigned int level)
{
	const struct vdisk_layer_info *l = &s->layer[level];

	printf("  layer %u:\n", level);
	vda_print_field("    ", "format:", vd_format_name(l->format));
	vda_print_field("    ", "file:", vda_printable(vda_layer_path(s, level)));
	vda_print_size_line(o, "    ", "size:", l->virtual_size);
	vda_print_field("    ", "writable:", vda_yes_no(l->flags & VDISK_LINFO_WRITABLE));
	vda_print_field("    ", "direct I/O:", vda_yes_no(l->flags & VDISK_LINFO_DIRECT_IO));
}

static void vda_print_status(const struct vda_list_opts *o, const struct vda_status *s)
{
	unsigned int i;
	char name[32], num[32];

	vda_device_path(s->st.index, name, sizeof(name));
	printf("%s:\n", name);
	vda_print_size_line(o, "  ", "size:", s->st.capacity);
	snprintf(num, sizeof(num), "%u:%u", s->st.major, s->st.minor);
	vda_print_field("  ", "device:", num);
	vda_print_field("  ", "read-only:", vda_yes_no(s->st.dev_flags & VDISK_DEV_READ_ONLY));
	vda_print_field("  ", "autoclear:", vda_yes_no(s->st.dev_flags & VDISK_DEV_AUTOCLEAR));
	vda_print_field("  ", "partscan:", vda_yes_no(s->st.dev_flags & VDISK_DEV_PARTSCAN));
	snprintf(num, sizeof(num), "%u", s->st.open_count);
	vda_print_field("  ", "open count:", num);
	snprintf(num, sizeof(num), "%u", s->st.nr_layers);
	vda_print_field("  ", "layers:", num);
	for (i = 0; i < vda_nr_layer_infos(s); i++)
		vda_print_layer(o, s, i);
}

int vda_cmd_status(int argc, char **argv)
{
	static struct vda_status s;
	struct vda_list_opts o;
	int ctl, ret;

	ret = vda_parse_list_args(argc, argv, "status", vda_status_usage, &o);
	if (ret != VDA_CONTINUE)
		return ret;
	if (!o.dev)
		return vda_usage_error("status", "no device given");
	ctl = vda_open_control();
	if (ctl < 0)
		return VDA_EXIT_FAILURE;
	ret = vda_status_of(ctl, o.dev, &s);
	close(ctl);
	if (ret)
		return ret;
	if (o.json) {
		vda_json_device(&s, "");
		putchar('\n');
	} else {
		vda_print_status(&o, &s);
	}
	return VDA_EXIT_OK;
}

/* ---- features ---- */

static const char vda_features_usage[] =
"Usage: vdattach features [options]\n"
"\n"
"Show the ABI version, the deepest backing chain and the features of the\n"
"loaded vdisk driver.\n"
"\n"
"Options:\n"
"  -J, --json         print JSON\n"
"  -h, --help         show this help\n";

static const char *const vda_feature_names[] = {
	"raw", "qcow2", "vmdk", "discard", "commit", "rebase", "qcow2-write", "qemu-locks",
};

static void vda_print_features(uint64_t bits, bool json)
{
	const size_t known = sizeof(vda_feature_names) / sizeof(vda_feature_names[0]);
	unsigned int bit;
	const char *sep = "";
	char name[16];

	for (bit = 0; bit < 64; bit++) {
		if (!(bits & (1ULL << bit)))
			continue;
		if (bit < known)
			snprintf(name, sizeof(name), "%s", vda_feature_names[bit]);
		else
			snprintf(name, sizeof(name), "bit%u", bit);
		fputs(sep, stdout);
		if (json)
			vda_json_string(name);
		else
			fputs(name, stdout);
		sep = json ? ", " : " ";
	}
	if (!json)
		putchar('\n');
}

int vda_cmd_features(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct vdisk_features f;
	bool json = false;
	int c, ctl, ret;

	while ((c = getopt_long(argc, argv, "Jh", opts, NULL)) != -1) {
		switch (c) {
		case 'J':
			json = true;
			break;
		case 'h':
			fputs(vda_features_usage, stdout);
			return VDA_EXIT_OK;
		default:
			return vda_try_help("features");
		}
	}
	if (optind < argc)
		return vda_usage_error("features", "unexpected '%s'", argv[optind]);
	ctl = vda_open_control();
	if (ctl < 0)
		return VDA_EXIT_FAILURE;
	ret = vda_ioc_features(ctl, &f);
	close(ctl);
	if (ret)
		return vda_fail(VDATTACH_CONTROL_PATH, -ret);
	if (json) {
		printf("{\"abi_version\": %u, \"vdattach_abi_version\": %u, \"max_layers\": %u, \"features\": [",
		       f.abi_version, VDISK_ABI_VERSION, f.max_layers);
		vda_print_features(f.features, true);
		printf("]}\n");
		return VDA_EXIT_OK;
	}
	printf("ABI version: %u (vdattach knows %u)\n", f.abi_version, VDISK_ABI_VERSION);
	printf("max layers:  %u\n", f.max_layers);
	printf("features:    ");
	vda_print_features(f.features, false);
	return VDA_EXIT_OK;
}
