// SPDX-License-Identifier: GPL-2.0
/*
 * sysfs.c - /sys/block/vdN/vdisk/: what the device serves, like loop's
 * /sys/block/loopN/loop/.
 *
 *   format        format of the top layer
 *   backing_file  path of the top layer's file
 *   chain         one line per layer, top first: "<level> <format> <path>"
 *   nr_layers     depth of the stack
 *   read_only     1 if attached read-only
 *   autoclear     1 if the device goes away on last close
 *   partscan      1 if partitions are scanned
 *   direct_io     1 if the top layer's file is read and written with DIO
 *   cache         metadata cache: capacity, use, hits and misses
 *   io_path       requests started in the submitter, redone by the worker,
 *                 handed to the worker at once
 *   mem           one line per layer, top first: "<level> <bytes>", the
 *                 memory it holds for its image's tables and decompression
 *                 (budget.h; limited by the module parameter layer_mem_mib);
 *                 then, while a rebase holds new backing layers that are
 *                 not in the stack yet, one "new <level> <bytes>" line each
 *                 (level in the new backing chain, 0 its top)
 */
#include <linux/device.h>
#include <linux/sysfs.h>

#include "job.h"
#include "mcache.h"
#include "vdisk.h"
#include "vd_probe.h"

static struct vd_device *vd_from_dev(struct device *dev)
{
	return dev_to_disk(dev)->private_data;
}

typedef ssize_t (*vd_show_fn)(struct vd_device *vd, char *buf);

/* Run @show with the device's lock held so the chain cannot change. */
static ssize_t vd_show_locked(struct device *dev, char *buf, vd_show_fn show)
{
	struct vd_device *vd = vd_from_dev(dev);
	ssize_t ret;

	mutex_lock(&vd->lock);
	ret = vd->chain ? show(vd, buf) : -ENODEV;
	mutex_unlock(&vd->lock);
	return ret;
}

static ssize_t vd_format_show_locked(struct vd_device *vd, char *buf)
{
	return sysfs_emit(buf, "%s\n", vd_format_name(vd_chain_top(vd->chain)->ops->format));
}

static ssize_t vd_backing_file_show_locked(struct vd_device *vd, char *buf)
{
	return sysfs_emit(buf, "%s\n", vd_chain_top(vd->chain)->path);
}

static ssize_t vd_chain_show_locked(struct vd_device *vd, char *buf)
{
	unsigned int i;
	int len = 0;

	for (i = 0; i < vd->chain->nr; i++) {
		const struct vd_layer *l = vd->chain->layer[i];

		len += sysfs_emit_at(buf, len, "%u %s %s\n", i,
				     vd_format_name(l->ops->format), l->path);
	}
	return len;
}

static ssize_t vd_nr_layers_show_locked(struct vd_device *vd, char *buf)
{
	return sysfs_emit(buf, "%u\n", vd->chain->nr);
}

static ssize_t vd_read_only_show_locked(struct vd_device *vd, char *buf)
{
	return sysfs_emit(buf, "%d\n", !vd_chain_top(vd->chain)->writable);
}

static ssize_t vd_autoclear_show_locked(struct vd_device *vd, char *buf)
{
	return sysfs_emit(buf, "%d\n", !!(vd->flags & VDISK_ATTACH_AUTOCLEAR));
}

static ssize_t vd_partscan_show_locked(struct vd_device *vd, char *buf)
{
	return sysfs_emit(buf, "%d\n", !!(vd->flags & VDISK_ATTACH_PARTSCAN));
}

static ssize_t vd_cache_show_locked(struct vd_device *vd, char *buf)
{
	struct vd_mcache_stats st;

	vd_mcache_get_stats(vd->mcache, &st);
	return sysfs_emit(buf,
			  "capacity_slices %llu\nslices %llu\nbytes %llu\nhits %llu\nmisses %llu\n",
			  st.capacity, st.entries, st.bytes, st.hits, st.misses);
}

static ssize_t vd_direct_io_show_locked(struct vd_device *vd, char *buf)
{
	return sysfs_emit(buf, "%d\n", vd_chain_top(vd->chain)->dio_align != 0);
}

static ssize_t vd_io_path_show_locked(struct vd_device *vd, char *buf)
{
	struct vd_io_stats sum = { 0 };
	int cpu;

	for_each_possible_cpu(cpu) {
		const struct vd_io_stats *st = per_cpu_ptr(vd->io_stats, cpu);

		sum.submitter += READ_ONCE(st->submitter);
		sum.retried += READ_ONCE(st->retried);
		sum.worker += READ_ONCE(st->worker);
	}
	return sysfs_emit(buf, "submitter %llu\nretried %llu\nworker %llu\n",
			  sum.submitter, sum.retried, sum.worker);
}

static bool vd_chain_holds(const struct vd_chain *chain, const struct vd_layer *layer)
{
	unsigned int i;

	for (i = 0; i < chain->nr; i++)
		if (chain->layer[i] == layer)
			return true;
	return false;
}

/*
 * A rebase's new backing layers are charged from JOB_START on (a hostile
 * backing chain is refused there), so they are shown too until the
 * switch puts them into the stack.  vd->job changes under vd->lock, which
 * the caller holds: the job and its layers stay while we read them.
 */
static ssize_t vd_mem_show_locked(struct vd_device *vd, char *buf)
{
	const struct vd_chain *nb = vd->job ? vd->job->new_backing : NULL;
	unsigned int i;
	int len = 0;

	for (i = 0; i < vd->chain->nr; i++)
		len += sysfs_emit_at(buf, len, "%u %llu\n", i,
				     vd_budget_used(&vd->chain->layer[i]->mem));
	for (i = 0; nb && i < nb->nr; i++)
		if (!vd_chain_holds(vd->chain, nb->layer[i]))
			len += sysfs_emit_at(buf, len, "new %u %llu\n", i,
					     vd_budget_used(&nb->layer[i]->mem));
	return len;
}

#define VD_ATTR_RO(name)						\
static ssize_t name##_show(struct device *dev,				\
			   struct device_attribute *attr, char *buf)	\
{									\
	return vd_show_locked(dev, buf, vd_##name##_show_locked);	\
}									\
static DEVICE_ATTR_RO(name)

VD_ATTR_RO(format);
VD_ATTR_RO(backing_file);
VD_ATTR_RO(chain);
VD_ATTR_RO(nr_layers);
VD_ATTR_RO(read_only);
VD_ATTR_RO(autoclear);
VD_ATTR_RO(partscan);
VD_ATTR_RO(direct_io);
VD_ATTR_RO(cache);
VD_ATTR_RO(io_path);
VD_ATTR_RO(mem);

static struct attribute *vd_disk_attrs[] = {
	&dev_attr_format.attr,
	&dev_attr_backing_file.attr,
	&dev_attr_chain.attr,
	&dev_attr_nr_layers.attr,
	&dev_attr_read_only.attr,
	&dev_attr_autoclear.attr,
	&dev_attr_partscan.attr,
	&dev_attr_direct_io.attr,
	&dev_attr_cache.attr,
	&dev_attr_io_path.attr,
	&dev_attr_mem.attr,
	NULL,
};

static const struct attribute_group vd_disk_attr_group = {
	.name	= "vdisk",
	.attrs	= vd_disk_attrs,
};

const struct attribute_group *vd_disk_attr_groups[] = {
	&vd_disk_attr_group,
	NULL,
};
