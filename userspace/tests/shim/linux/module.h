/* SPDX-License-Identifier: GPL-2.0 */
/* shim/linux/module.h - module metadata means nothing in userspace. */
#ifndef VD_SHIM_LINUX_MODULE_H
#define VD_SHIM_LINUX_MODULE_H

#define MODULE_DESCRIPTION(s)
#define MODULE_LICENSE(s)

#endif /* VD_SHIM_LINUX_MODULE_H */
