// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_probe.c - libFuzzer target: vd_probe_format() and the format names
 * on arbitrary bytes.  The input is probed from an exact-size copy so that
 * ASan catches any read past @len.
 */
#include <stdint.h>
#include <stdlib.h>

#include "vd_probe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	unsigned int f, g;
	char *name;

	memcpy(copy, data, size);
	f = vd_probe_format(copy, size);
	if (f != VDISK_FMT_RAW && f != VDISK_FMT_QCOW2 && f != VDISK_FMT_VMDK)
		abort();
	/* probing a longer buffer with the same start never un-finds a magic */
	if (f == VDISK_FMT_QCOW2 && memcmp(copy, "QFI\xfb", 4))
		abort();
	free(copy);

	/* names: any string maps to a format whose name is that string */
	name = malloc(size + 1);
	memcpy(name, data, size);
	name[size] = '\0';
	g = vd_format_from_name(name);
	if (g >= VDISK_FMT_COUNT)
		abort();
	if (g != VDISK_FMT_NONE && strcmp(vd_format_name(g), name))
		abort();
	free(name);
	if (size >= 4) {
		unsigned int n;

		memcpy(&n, data, 4);
		if (!vd_format_name(n))
			abort();
	}
	return 0;
}
