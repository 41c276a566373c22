// SPDX-License-Identifier: GPL-2.0
/*
 * budget.c - memory budgets: what each layer, and the module as a whole,
 * may hold on behalf of images (see budget.h for what is charged).
 *
 *   layer_mem_mib  per layer (default 256 MiB; 0: no per-layer limit).
 *                  The largest tables a legitimate image has stay far
 *                  below it: a 64 TiB qcow2 with 64 KiB clusters has a
 *                  1 MiB L1, QEMU itself refuses an L1 over 32 MiB and a
 *                  refcount table over 8 MiB; a 2 TiB monolithicSparse
 *                  vmdk with 64 KiB grains has a 256 KiB grain directory,
 *                  a 2 TB twoGbMaxExtentSparse one about 1000 of 256 bytes.
 *  total_mem_mib   all layers of all devices and jobs together (default:
 *                  a quarter of RAM when the module loads; 0 written later
 *                  means the same).
 *  mem_bytes       read-only: what all layers hold now.
 *
 * Both limits are read at every charge, so a value written to
 * /sys/module/vdisk/parameters/ applies from the next allocation on; what
 * is held already stays.
 */
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/sysfs.h>

#include "budget.h"
#include "vdisk.h"

unsigned int vd_layer_mem_mib = 256;
module_param_named(layer_mem_mib, vd_layer_mem_mib, uint, 0644);
MODULE_PARM_DESC(layer_mem_mib,
		 "Memory one layer may take for its image's tables and decompression, in MiB; 0: no limit (default 256)");

unsigned int vd_total_mem_mib;
module_param_named(total_mem_mib, vd_total_mem_mib, uint, 0644);
MODULE_PARM_DESC(total_mem_mib,
		 "Memory all layers together may take for their images' tables and decompression, in MiB (default: a quarter of RAM)");

/* Sum of every layer's vd_budget.used. */
static atomic64_t vd_mem_total = ATOMIC64_INIT(0);

static int vd_mem_bytes_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%lld\n", (long long)atomic64_read(&vd_mem_total));
}

static int vd_mem_bytes_set(const char *val, const struct kernel_param *kp)
{
	return -EPERM;
}

static const struct kernel_param_ops vd_mem_bytes_ops = {
	.set = vd_mem_bytes_set,
	.get = vd_mem_bytes_get,
};
module_param_cb(mem_bytes, &vd_mem_bytes_ops, NULL, 0444);
MODULE_PARM_DESC(mem_bytes, "Memory all layers take for their images now, in bytes (read-only)");

static unsigned int vd_quarter_of_ram_mib(void)
{
	return max_t(u64, ((u64)totalram_pages() << PAGE_SHIFT) >> 22, 1);
}

/* Called once at module load: fills in the default of total_mem_mib. */
int vd_budget_init(void)
{
	if (!vd_total_mem_mib)
		vd_total_mem_mib = vd_quarter_of_ram_mib();
	return 0;
}

static u64 vd_layer_limit(void)
{
	unsigned int mib = READ_ONCE(vd_layer_mem_mib);

	return mib ? (u64)mib << 20 : U64_MAX;
}

static u64 vd_total_limit(void)
{
	unsigned int mib = READ_ONCE(vd_total_mem_mib);

	return (u64)(mib ?: vd_quarter_of_ram_mib()) << 20;
}

/**
 * vd_budget_charge() - account @bytes a layer is about to allocate
 * @b:     the layer's budget
 * @bytes: what the allocation asks for
 *
 * Checked against the layer's limit, then the module's.  Lockless: two
 * charges racing near a limit may both be refused where one alone would
 * have fitted, never both admitted past it.
 *
 * Return: 0 (charged: uncharge it if the allocation then fails), -EFBIG
 * over layer_mem_mib, -ENOMEM over total_mem_mib.
 */
int vd_budget_charge(struct vd_budget *b, u64 bytes)
{
	if (bytes > S64_MAX / 4)
		return -EFBIG;
	if ((u64)atomic64_add_return(bytes, &b->used) > vd_layer_limit()) {
		atomic64_sub(bytes, &b->used);
		return -EFBIG;
	}
	if ((u64)atomic64_add_return(bytes, &vd_mem_total) > vd_total_limit()) {
		atomic64_sub(bytes, &vd_mem_total);
		atomic64_sub(bytes, &b->used);
		return -ENOMEM;
	}
	return 0;
}

/* @bytes charged to @b were freed while the layer lives on. */
void vd_budget_uncharge(struct vd_budget *b, u64 bytes)
{
	WARN_ON_ONCE((u64)atomic64_read(&b->used) < bytes);
	atomic64_sub(bytes, &b->used);
	atomic64_sub(bytes, &vd_mem_total);
}

/*
 * The layer is gone, and everything it charged freed with it: give the
 * rest back to the module's total at once, so that a format's close needs
 * no bookkeeping of what each table cost.
 */
void vd_budget_release(struct vd_budget *b)
{
	atomic64_sub(atomic64_xchg(&b->used, 0), &vd_mem_total);
}

u64 vd_budget_total(void)
{
	return atomic64_read(&vd_mem_total);
}

/**
 * vd_layer_charge() - charge an allocation of a layer being opened
 * @layer: the layer
 * @args:  its open arguments: a refusal is explained in @args->msg
 * @bytes: the allocation's size
 * @fmt:   what is allocated ("extent 3: grain directory"), for the message
 *
 * Return: 0, or -EFBIG / -ENOMEM with a message naming the budget and the
 * module parameter that sets it.
 */
int vd_layer_charge(struct vd_layer *layer, const struct vd_open_args *args,
		    u64 bytes, const char *fmt, ...)
{
	struct va_format vaf;
	va_list ap;
	int ret;

	ret = vd_budget_charge(&layer->mem, bytes);
	if (!ret)
		return 0;
	va_start(ap, fmt);
	vaf.fmt = fmt;
	vaf.va = &ap;
	if (ret == -EFBIG)
		vd_msg_set(args->msg,
			   "layer %u (%s): %pV: %llu KiB more would exceed the layer's memory budget of %u MiB (%llu KiB taken; module parameter layer_mem_mib)",
			   args->index, layer->path, &vaf, DIV_ROUND_UP_ULL(bytes, 1024),
			   READ_ONCE(vd_layer_mem_mib), vd_budget_used(&layer->mem) >> 10);
	else
		vd_msg_set(args->msg,
			   "layer %u (%s): %pV: %llu KiB more would exceed the memory budget of all images, %llu MiB (%llu KiB taken; module parameter total_mem_mib)",
			   args->index, layer->path, &vaf, DIV_ROUND_UP_ULL(bytes, 1024),
			   vd_total_limit() >> 20, vd_budget_total() >> 10);
	va_end(ap);
	return ret;
}
