// SPDX-License-Identifier: GPL-2.0
/*
 * vd_probe.c - format names and recognition of image files by content.
 *
 * Probing is for the top image the user names without a format; backing
 * files always carry their format explicitly (a raw file whose first bytes
 * look like a qcow2 header must never be reinterpreted).
 */
#include "vd_probe.h"

static const char *const vd_format_names[VDISK_FMT_COUNT] = {
	[VDISK_FMT_NONE]	= "none",
	[VDISK_FMT_RAW]		= "raw",
	[VDISK_FMT_QCOW2]	= "qcow2",
	[VDISK_FMT_VMDK]	= "vmdk",
};

const char *vd_format_name(unsigned int format)
{
	if (format >= VDISK_FMT_COUNT)
		return "unknown";
	return vd_format_names[format];
}

/* Returns VDISK_FMT_NONE for a name that is not a format. */
unsigned int vd_format_from_name(const char *name)
{
	unsigned int i;

	for (i = VDISK_FMT_RAW; i < VDISK_FMT_COUNT; i++)
		if (!strcmp(name, vd_format_names[i]))
			return i;
	return VDISK_FMT_NONE;
}

static bool vd_has_prefix(const u8 *buf, size_t len, const char *magic)
{
	size_t n = strlen(magic);

	return len >= n && !memcmp(buf, magic, n);
}

/*
 * A VMDK descriptor file is text whose first non-blank line is the
 * "# Disk DescriptorFile" comment (VMware's spec, section 4).
 */
static bool vd_is_vmdk_descriptor(const u8 *buf, size_t len)
{
	size_t i = 0;

	while (i < len && (buf[i] == ' ' || buf[i] == '\t' ||
			   buf[i] == '\r' || buf[i] == '\n'))
		i++;
	return vd_has_prefix(buf + i, len - i, "# Disk DescriptorFile");
}

/**
 * vd_probe_format() - guess the format of an image from its first bytes
 * @buf: start of the file
 * @len: bytes at @buf (VD_PROBE_BYTES or the file size if smaller)
 *
 * Return: VDISK_FMT_QCOW2 for the "QFI\xfb" magic (the header check later
 * refuses versions other than 2 and 3), VDISK_FMT_VMDK for a hosted sparse
 * extent ("KDMV"), an ESX sparse extent ("COWD") or a descriptor file, and
 * VDISK_FMT_RAW for anything else.
 */
unsigned int vd_probe_format(const void *buf, size_t len)
{
	const u8 *p = buf;

	if (!len)
		return VDISK_FMT_RAW;
	if (vd_has_prefix(p, len, "QFI\xfb"))
		return VDISK_FMT_QCOW2;
	if (vd_has_prefix(p, len, "KDMV") || vd_has_prefix(p, len, "COWD"))
		return VDISK_FMT_VMDK;
	if (vd_is_vmdk_descriptor(p, len))
		return VDISK_FMT_VMDK;
	return VDISK_FMT_RAW;
}
