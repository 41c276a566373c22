// SPDX-License-Identifier: GPL-2.0
/*
 * probe_test.c - KUnit suite vdisk_probe: format names and detection of an
 * image's format from its first bytes (vd_probe.c).
 */
#include <kunit/test.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "../vd_probe.h"

static void vdisk_probe_qcow2_magic(struct kunit *test)
{
	static const u8 hdr[] = { 'Q', 'F', 'I', 0xfb, 0, 0, 0, 3 };

	KUNIT_EXPECT_EQ(test, vd_probe_format(hdr, sizeof(hdr)), VDISK_FMT_QCOW2);
	/* the magic alone is enough to say qcow2; the header check refuses later */
	KUNIT_EXPECT_EQ(test, vd_probe_format(hdr, 4), VDISK_FMT_QCOW2);
}

static void vdisk_probe_qcow2_magic_wrong_byte(struct kunit *test)
{
	static const u8 hdr[] = { 'Q', 'F', 'I', 0xfa, 0, 0, 0, 3 };

	KUNIT_EXPECT_EQ(test, vd_probe_format(hdr, sizeof(hdr)), VDISK_FMT_RAW);
}

static void vdisk_probe_vmdk_sparse(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, vd_probe_format("KDMV\x01\0\0\0", 8), VDISK_FMT_VMDK);
	KUNIT_EXPECT_EQ(test, vd_probe_format("COWD\x01\0\0\0", 8), VDISK_FMT_VMDK);
	/* case matters */
	KUNIT_EXPECT_EQ(test, vd_probe_format("kdmv\x01\0\0\0", 8), VDISK_FMT_RAW);
}

static void vdisk_probe_vmdk_descriptor(struct kunit *test)
{
	static const char plain[] = "# Disk DescriptorFile\nversion=1\n";
	static const char blank[] = " \t\r\n\n  # Disk DescriptorFile\nversion=1\n";

	KUNIT_EXPECT_EQ(test, vd_probe_format(plain, strlen(plain)), VDISK_FMT_VMDK);
	KUNIT_EXPECT_EQ(test, vd_probe_format(blank, strlen(blank)), VDISK_FMT_VMDK);
}

static void vdisk_probe_descriptor_not_first(struct kunit *test)
{
	static const char text[] = "version=1\n# Disk DescriptorFile\n";
	static const char vtab[] = "\v# Disk DescriptorFile\n";

	KUNIT_EXPECT_EQ(test, vd_probe_format(text, strlen(text)), VDISK_FMT_RAW);
	/* only space, tab, CR and LF count as blank */
	KUNIT_EXPECT_EQ(test, vd_probe_format(vtab, strlen(vtab)), VDISK_FMT_RAW);
}

static void vdisk_probe_raw(struct kunit *test)
{
	u8 *buf = kunit_kzalloc(test, VD_PROBE_BYTES, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_EXPECT_EQ(test, vd_probe_format(buf, VD_PROBE_BYTES), VDISK_FMT_RAW);
	memset(buf, 0xff, VD_PROBE_BYTES);
	KUNIT_EXPECT_EQ(test, vd_probe_format(buf, VD_PROBE_BYTES), VDISK_FMT_RAW);
	/* an MBR boot sector is raw */
	memset(buf, 0, VD_PROBE_BYTES);
	buf[510] = 0x55;
	buf[511] = 0xaa;
	KUNIT_EXPECT_EQ(test, vd_probe_format(buf, VD_PROBE_BYTES), VDISK_FMT_RAW);
	/* all blanks: the descriptor scan runs off the end without reading past it */
	memset(buf, ' ', VD_PROBE_BYTES);
	KUNIT_EXPECT_EQ(test, vd_probe_format(buf, VD_PROBE_BYTES), VDISK_FMT_RAW);
}

static void vdisk_probe_short_buffers(struct kunit *test)
{
	static const char desc[] = "# Disk DescriptorFile";
	size_t n;

	KUNIT_EXPECT_EQ(test, vd_probe_format(NULL, 0), VDISK_FMT_RAW);
	/* every proper prefix of a magic is raw, read through an exact-size copy */
	for (n = 0; n < 4; n++) {
		u8 *p = kunit_kmalloc(test, n ? n : 1, GFP_KERNEL);

		KUNIT_ASSERT_NOT_NULL(test, p);
		memcpy(p, "QFI\xfb", n);
		KUNIT_EXPECT_EQ_MSG(test, vd_probe_format(p, n), VDISK_FMT_RAW,
				    "qcow2 prefix %zu", n);
		memcpy(p, "KDMV", n);
		KUNIT_EXPECT_EQ_MSG(test, vd_probe_format(p, n), VDISK_FMT_RAW,
				    "KDMV prefix %zu", n);
	}
	for (n = 0; n < strlen(desc); n++) {
		char *p = kunit_kmalloc(test, n ? n : 1, GFP_KERNEL);

		KUNIT_ASSERT_NOT_NULL(test, p);
		memcpy(p, desc, n);
		KUNIT_EXPECT_EQ_MSG(test, vd_probe_format(p, n), VDISK_FMT_RAW,
				    "descriptor prefix %zu", n);
	}
	/* the length given wins over what the buffer holds */
	KUNIT_EXPECT_EQ(test, vd_probe_format("QFI\xfb", 3), VDISK_FMT_RAW);
}

static void vdisk_probe_name_round_trip(struct kunit *test)
{
	unsigned int f;

	for (f = VDISK_FMT_RAW; f < VDISK_FMT_COUNT; f++)
		KUNIT_EXPECT_EQ(test, vd_format_from_name(vd_format_name(f)), f);
	KUNIT_EXPECT_STREQ(test, vd_format_name(VDISK_FMT_RAW), "raw");
	KUNIT_EXPECT_STREQ(test, vd_format_name(VDISK_FMT_QCOW2), "qcow2");
	KUNIT_EXPECT_STREQ(test, vd_format_name(VDISK_FMT_VMDK), "vmdk");
	KUNIT_EXPECT_STREQ(test, vd_format_name(VDISK_FMT_NONE), "none");
	KUNIT_EXPECT_STREQ(test, vd_format_name(VDISK_FMT_COUNT), "unknown");
	KUNIT_EXPECT_STREQ(test, vd_format_name(~0U), "unknown");
}

static void vdisk_probe_name_unknown(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, vd_format_from_name("none"), VDISK_FMT_NONE);
	KUNIT_EXPECT_EQ(test, vd_format_from_name(""), VDISK_FMT_NONE);
	KUNIT_EXPECT_EQ(test, vd_format_from_name("QCOW2"), VDISK_FMT_NONE);
	KUNIT_EXPECT_EQ(test, vd_format_from_name("qcow"), VDISK_FMT_NONE);
	KUNIT_EXPECT_EQ(test, vd_format_from_name("raw "), VDISK_FMT_NONE);
	KUNIT_EXPECT_EQ(test, vd_format_from_name("unknown"), VDISK_FMT_NONE);
}

static struct kunit_case vdisk_probe_cases[] = {
	KUNIT_CASE(vdisk_probe_qcow2_magic),
	KUNIT_CASE(vdisk_probe_qcow2_magic_wrong_byte),
	KUNIT_CASE(vdisk_probe_vmdk_sparse),
	KUNIT_CASE(vdisk_probe_vmdk_descriptor),
	KUNIT_CASE(vdisk_probe_descriptor_not_first),
	KUNIT_CASE(vdisk_probe_raw),
	KUNIT_CASE(vdisk_probe_short_buffers),
	KUNIT_CASE(vdisk_probe_name_round_trip),
	KUNIT_CASE(vdisk_probe_name_unknown),
	{}
};

static struct kunit_suite vdisk_probe_suite = {
	.name = "vdisk_probe",
	.test_cases = vdisk_probe_cases,
};

kunit_test_suite(vdisk_probe_suite);

/* All suites link into one object, vdisk_kunit.o: it is described here. */
MODULE_DESCRIPTION("KUnit suites of the vdisk driver");
MODULE_LICENSE("GPL");
