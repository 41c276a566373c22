// SPDX-License-Identifier: GPL-2.0
/*
 * test_probe.c - format names and probing by magic (vd_probe.c).
 */
#include <stdlib.h>

#include "vt.h"
#include "vd_probe.h"

/* vd_probe_format() on an exact-size heap copy, so ASan sees overreads. */
static unsigned int probe(const void *buf, size_t len)
{
	unsigned char *copy = malloc(len ? len : 1);
	unsigned int f;

	memcpy(copy, buf, len);
	f = vd_probe_format(copy, len);
	free(copy);
	return f;
}

VT_TEST(probe_qcow2_magic)
{
	VT_EXPECT_EQ(probe("QFI\xfb\0\0\0\3", 8), VDISK_FMT_QCOW2);
	VT_EXPECT_EQ(probe("QFI\xfb", 4), VDISK_FMT_QCOW2);
	VT_EXPECT_EQ(probe("QFI\xfa\0\0\0\3", 8), VDISK_FMT_RAW);
	VT_EXPECT_EQ(probe("qfi\xfb\0\0\0\3", 8), VDISK_FMT_RAW);
}

VT_TEST(probe_vmdk_sparse)
{
	VT_EXPECT_EQ(probe("KDMV\1\0\0\0", 8), VDISK_FMT_VMDK);
	VT_EXPECT_EQ(probe("COWD\1\0\0\0", 8), VDISK_FMT_VMDK);
	VT_EXPECT_EQ(probe("KDMV", 4), VDISK_FMT_VMDK);
	VT_EXPECT_EQ(probe("KDM", 3), VDISK_FMT_RAW);
	VT_EXPECT_EQ(probe("kdmv\1\0\0\0", 8), VDISK_FMT_RAW);
}

VT_TEST(probe_vmdk_descriptor)
{
	static const char *good[] = {
		"# Disk DescriptorFile\nversion=1\n",
		"# Disk DescriptorFile",
		"\n\n# Disk DescriptorFile\n",
		" \t\r\n  # Disk DescriptorFile\n",
	};
	static const char *bad[] = {
		"version=1\n# Disk DescriptorFile\n",
		"\v# Disk DescriptorFile\n",
		"#Disk DescriptorFile\n",
		"# disk descriptorfile\n",
		"# Disk DescriptorFil",
		"   ",
	};
	size_t i;

	for (i = 0; i < VT_ARRAY_SIZE(good); i++)
		VT_EXPECT_MSG(probe(good[i], strlen(good[i])) == VDISK_FMT_VMDK, "good[%zu]", i);
	for (i = 0; i < VT_ARRAY_SIZE(bad); i++)
		VT_EXPECT_MSG(probe(bad[i], strlen(bad[i])) == VDISK_FMT_RAW, "bad[%zu]", i);
}

VT_TEST(probe_raw)
{
	unsigned char buf[VD_PROBE_BYTES];

	memset(buf, 0, sizeof(buf));
	VT_EXPECT_EQ(probe(buf, sizeof(buf)), VDISK_FMT_RAW);
	buf[510] = 0x55;
	buf[511] = 0xaa;
	VT_EXPECT_EQ(probe(buf, sizeof(buf)), VDISK_FMT_RAW);
	memset(buf, ' ', sizeof(buf));
	VT_EXPECT_EQ(probe(buf, sizeof(buf)), VDISK_FMT_RAW);
	memset(buf, 0xff, sizeof(buf));
	VT_EXPECT_EQ(probe(buf, sizeof(buf)), VDISK_FMT_RAW);
}

VT_TEST(probe_short_buffers)
{
	static const char *magics[] = { "QFI\xfb", "KDMV", "COWD", "# Disk DescriptorFile" };
	size_t i, n;

	VT_EXPECT_EQ(probe("", 0), VDISK_FMT_RAW);
	for (i = 0; i < VT_ARRAY_SIZE(magics); i++)
		for (n = 0; n < strlen(magics[i]); n++)
			VT_EXPECT_MSG(probe(magics[i], n) == VDISK_FMT_RAW, "%zu bytes of magic %zu", n, i);
}

VT_TEST(probe_name_round_trip)
{
	unsigned int f;

	for (f = VDISK_FMT_RAW; f < VDISK_FMT_COUNT; f++)
		VT_EXPECT_EQ(vd_format_from_name(vd_format_name(f)), f);
	VT_EXPECT_STREQ(vd_format_name(VDISK_FMT_RAW), "raw");
	VT_EXPECT_STREQ(vd_format_name(VDISK_FMT_QCOW2), "qcow2");
	VT_EXPECT_STREQ(vd_format_name(VDISK_FMT_VMDK), "vmdk");
	VT_EXPECT_STREQ(vd_format_name(VDISK_FMT_NONE), "none");
	VT_EXPECT_STREQ(vd_format_name(VDISK_FMT_COUNT), "unknown");
	VT_EXPECT_STREQ(vd_format_name(~0U), "unknown");
}

VT_TEST(probe_name_unknown)
{
	static const char *names[] = { "none", "", "QCOW2", "qcow", "raw ", "unknown", "vmdk\n" };
	size_t i;

	for (i = 0; i < VT_ARRAY_SIZE(names); i++)
		VT_EXPECT_MSG(vd_format_from_name(names[i]) == VDISK_FMT_NONE, "\"%s\"", names[i]);
}
