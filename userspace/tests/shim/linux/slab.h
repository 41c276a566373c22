/* SPDX-License-Identifier: GPL-2.0 */
/* shim/linux/slab.h - kmalloc() and friends live in shim/kunit/test.h. */
#include <kunit/test.h>
