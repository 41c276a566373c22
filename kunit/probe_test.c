// SPDX-License-Identifier: GPL-2.0
/*
 * probe_test.c - suite vdisk_probe: format names and detection of an
 * image's format from its first bytes (vd_probe.c).
 *
 * Built as a KUnit suite and, through userspace/tests/shim, as a userspace
 * test with ASan and UBSan (see vd_test.h).  Every probe reads an
 * exact-size heap copy, so that KASAN or ASan sees any read past the
 * length given.
 */
#include <kunit/test.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "vd_probe.h"
#include "vd_test.h"

/* vd_probe_format() on an exact-size, test-managed copy of @buf. */
static unsigned int vd_probe_copy(struct kunit *test, const void *buf, size_t len)
{
	void *copy = kunit_kmalloc(test, len ? len : 1, GFP_KERNEL);
	unsigned int f;

	KUNIT_ASSERT_NOT_NULL(test, copy);
	memcpy(copy, buf, len);
	f = vd_probe_format(copy, len);
	kunit_kfree(test, copy);
	return f;
}

static void vdisk_probe_qcow2_magic(struct kunit *test)
{
	static const u8 hdr[] = { 'Q', 'F', 'I', 0xfb, 0, 0, 0, 3 };

	KUNIT_EXPECT_EQ(test, vd_probe_copy(test, hdr, sizeof(hdr)), VDISK_FMT_QCOW2);
	/* the magic alone is enough to say qcow2; the header check refuses later */
	KUNIT_EXPECT_EQ(test, vd_probe_copy(test, hdr, 4), VDISK_FMT_QCOW2);
}

static void vdisk_probe_qcow2_magic_wrong_byte(struct kunit *test)
{
	static const u8 hdr[] = { 'Q', 'F', 'I', 0xfa, 0, 0, 0, 3 };

	KUNIT_EXPECT_EQ(test, vd_probe_copy(test, hdr, sizeof(hdr)), VDISK_FMT_RAW);
	/* case matters */
	KUNIT_EXPECT_EQ(test, vd_probe_copy(test, "qfi\xfb\0\0\0\3", 8), VDISK_FMT_RAW);
}

static void vdisk_probe_vmdk_sparse(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, vd_probe_copy(test, "KDMV\x01\0\0\0", 8), VDISK_FMT_VMDK);
	KUNIT_EXPECT_EQ(test, vd_probe_copy(test, "COWD\x01\0\0\0", 8), VDISK_FMT_VMDK);
	KUNIT_EXPECT_EQ(test, vd_probe_copy(test, "KDMV", 4), VDISK_FMT_VMDK);
	KUNIT_EXPECT_EQ(test, vd_probe_copy(test, "KDM", 3), VDISK_FMT_RAW);
	/* case matters */
	KUNIT_EXPECT_EQ(test, vd_probe_copy(test, "kdmv\x01\0\0\0", 8), VDISK_FMT_RAW);
}

static void vdisk_probe_vmdk_descriptor(struct kunit *test)
{
	static const char * const good[] = {
		"# Disk DescriptorFile\nversion=1\n",
		"# Disk DescriptorFile",
		"\n\n# Disk DescriptorFile\n",
		" \t\r\n  # Disk DescriptorFile\n",
		" \t\r\n\n  # Disk DescriptorFile\nversion=1\n",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good); i++)
		KUNIT_EXPECT_EQ_MSG(test, vd_probe_copy(test, good[i], strlen(good[i])),
				    VDISK_FMT_VMDK, "good[%zu]", i);
}

static void vdisk_probe_descriptor_not_first(struct kunit *test)
{
	static const char * const bad[] = {
		"version=1\n# Disk DescriptorFile\n",
		/* only space, tab, CR and LF count as blank */
		"\v# Disk DescriptorFile\n",
		"#Disk DescriptorFile\n",
		"# disk descriptorfile\n",
		"# Disk DescriptorFil",
		"   ",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++)
		KUNIT_EXPECT_EQ_MSG(test, vd_probe_copy(test, bad[i], strlen(bad[i])),
				    VDISK_FMT_RAW, "bad[%zu]", i);
}

static void vdisk_probe_raw(struct kunit *test)
{
	u8 *buf = kunit_kzalloc(test, VD_PROBE_BYTES, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_EXPECT_EQ(test, vd_probe_copy(test, buf, VD_PROBE_BYTES), VDISK_FMT_RAW);
	memset(buf, 0xff, VD_PROBE_BYTES);
	KUNIT_EXPECT_EQ(test, vd_probe_copy(test, buf, VD_PROBE_BYTES), VDISK_FMT_RAW);
	/* an MBR boot sector is raw */
	memset(buf, 0, VD_PROBE_BYTES);
	buf[510] = 0x55;
	buf[511] = 0xaa;
	KUNIT_EXPECT_EQ(test, vd_probe_copy(test, buf, VD_PROBE_BYTES), VDISK_FMT_RAW);
	/* all blanks: the descriptor scan runs off the end without reading past it */
	memset(buf, ' ', VD_PROBE_BYTES);
	KUNIT_EXPECT_EQ(test, vd_probe_copy(test, buf, VD_PROBE_BYTES), VDISK_FMT_RAW);
}

static void vdisk_probe_short_buffers(struct kunit *test)
{
	static const char * const magics[] = {
		"QFI\xfb", "KDMV", "COWD", "# Disk DescriptorFile",
	};
	size_t i, n;

	KUNIT_EXPECT_EQ(test, vd_probe_format(NULL, 0), VDISK_FMT_RAW);
	/* every proper prefix of a magic is raw */
	for (i = 0; i < ARRAY_SIZE(magics); i++)
		for (n = 0; n < strlen(magics[i]); n++)
			KUNIT_EXPECT_EQ_MSG(test, vd_probe_copy(test, magics[i], n), VDISK_FMT_RAW,
					    "%zu bytes of magic %zu", n, i);
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
	static const char * const names[] = {
		"none", "", "QCOW2", "qcow", "raw ", "unknown", "vmdk\n",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		KUNIT_EXPECT_EQ_MSG(test, vd_format_from_name(names[i]), VDISK_FMT_NONE,
				    "\"%s\"", names[i]);
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
