// SPDX-License-Identifier: GPL-2.0
/*
 * ctl.c - /dev/vdisk-control: the ioctl ABI of include/uapi/linux/vdisk.h.
 *
 * Each command copies its struct in with copy_struct_from_user() (so the
 * structs can grow), validates it with the pure checks of vd_abi.c, and
 * runs under vd_ctl_mutex.  Attach does everything that can fail (taking
 * the files, reading and validating every header) before the device is
 * created, so a refused attach leaves nothing behind.
 */
#include <linux/capability.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "mcache.h"
#include "vdisk.h"
#include "vd_abi.h"
#include "vd_probe.h"

/*
 * Serialises attach, detach, status and job starts, and the device lookups
 * of job status and cancel; protects the device index.
 */
DEFINE_MUTEX(vd_ctl_mutex);

/* Copy a size-headed struct: its first u32 says how large userspace's is. */
int vd_copy_in(void *dst, size_t ksize, void __user *src)
{
	u32 usize;

	if (get_user(usize, (u32 __user *)src))
		return -EFAULT;
	if (usize < sizeof(u32) * 2 || usize > VD_STRUCT_SIZE_MAX)
		return -EINVAL;
	return copy_struct_from_user(dst, ksize, src, usize);
}

/* Copy out at most what userspace's struct can hold. */
int vd_copy_out(void __user *dst, const void *src, size_t ksize)
{
	u32 usize = *(const u32 *)src;

	return copy_to_user(dst, src, min_t(size_t, usize, ksize)) ? -EFAULT : 0;
}

static long vd_ioc_get_features(void __user *argp)
{
	struct vdisk_features f;
	int ret;

	ret = vd_copy_in(&f, sizeof(f), argp);
	if (ret)
		return ret;
	ret = vd_check_features(&f);
	if (ret)
		return ret;
	f.abi_version = VDISK_ABI_VERSION;
	f.max_layers = VDISK_MAX_LAYERS;
	f.features = VDISK_FEAT_RAW | VDISK_FEAT_QCOW2 | VDISK_FEAT_VMDK |
		     VDISK_FEAT_DISCARD | VDISK_FEAT_QCOW2_WRITE |
		     VDISK_FEAT_COMMIT | VDISK_FEAT_REBASE | VDISK_FEAT_QEMU_LOCKS;
	return vd_copy_out(argp, &f, sizeof(f));
}

/* Take the files of one layer spec: the image, then vmdk extents. */
static int vd_get_layer_files(const struct vdisk_layer_spec *spec,
			      unsigned int idx, bool writable,
			      struct file ***filesp, unsigned int *nr,
			      struct vd_msg *msg)
{
	unsigned int n = 1 + spec->nr_extent_fds, i;
	struct file **files;
	s32 *fds = NULL;
	int ret;

	files = kcalloc(n, sizeof(*files), GFP_KERNEL);
	if (!files)
		return -ENOMEM;
	if (spec->nr_extent_fds) {
		fds = memdup_array_user(u64_to_user_ptr(spec->extent_fds),
					spec->nr_extent_fds, sizeof(*fds));
		if (IS_ERR(fds)) {
			ret = PTR_ERR(fds);
			fds = NULL;
			goto err;
		}
	}
	for (i = 0; i < n; i++) {
		int fd = i ? fds[i - 1] : spec->fd;
		struct file *file = fget(fd);
		umode_t mode;

		if (!file) {
			vd_msg_set(msg, "layer %u: fd %d is not open", idx, fd);
			ret = -EBADF;
			goto err;
		}
		files[i] = file;
		mode = file_inode(file)->i_mode;
		if (!S_ISREG(mode) && !S_ISBLK(mode)) {
			vd_msg_set(msg, "layer %u: fd %d is not a regular file or block device",
				   idx, fd);
			ret = -EINVAL;
			goto err;
		}
		if (!(file->f_mode & FMODE_READ) ||
		    (writable && !(file->f_mode & FMODE_WRITE))) {
			vd_msg_set(msg, "layer %u: fd %d is not open for %s", idx, fd,
				   writable ? "reading and writing" : "reading");
			ret = -EBADF;
			goto err;
		}
		/* Every write of ours, metadata included, would go to EOF. */
		if (writable && (file->f_flags & O_APPEND)) {
			vd_msg_set(msg, "layer %u: fd %d is open with O_APPEND", idx, fd);
			ret = -EINVAL;
			goto err;
		}
		if (vd_file_is_vdisk(file)) {
			vd_msg_set(msg, "layer %u: fd %d is a vdisk device (it could back itself)",
				   idx, fd);
			ret = -ELOOP;
			goto err;
		}
	}
	kfree(fds);
	*filesp = files;
	*nr = n;
	return 0;
err:
	for (i = 0; i < n; i++)
		if (files[i])
			fput(files[i]);
	kfree(files);
	kfree(fds);
	return ret;
}

/**
 * vd_layer_from_user() - open one layer of a user layer spec array
 * @specs:     user pointer to the array
 * @i:         which entry
 * @spec_size: size of one entry as userspace knows it
 * @level:     the layer's position in the stack, for messages
 * @writable:  the layer will be written
 * @allow_dio: direct I/O where the files allow it
 * @cache:     the device's metadata cache
 * @msg:       explanation on failure
 *
 * Return: the layer, or an ERR_PTR with @msg saying why.
 */
struct vd_layer *vd_layer_from_user(const void __user *specs, unsigned int i,
				    unsigned int spec_size, unsigned int level,
				    bool writable, bool allow_dio,
				    struct vd_mcache *cache, struct vd_msg *msg)
{
	struct vd_open_args args = { .index = level, .msg = msg, .cache = cache };
	struct vdisk_layer_spec spec;
	char *snapshot = NULL;
	struct vd_layer *layer;
	struct file **files;
	unsigned int nr;
	int ret;

	ret = copy_struct_from_user(&spec, sizeof(spec),
				    specs + (size_t)i * spec_size, spec_size);
	if (ret) {
		if (ret == -E2BIG)
			vd_msg_set(msg, "layer %u: unknown fields set", level);
		return ERR_PTR(ret);
	}
	ret = vd_check_layer_spec(&spec, level, msg);
	if (ret)
		return ERR_PTR(ret);
	if (spec.snapshot) {
		if (writable) {
			vd_msg_set(msg, "layer %u: snapshots attach read-only", level);
			return ERR_PTR(-EINVAL);
		}
		snapshot = strndup_user(u64_to_user_ptr(spec.snapshot), 1024);
		if (IS_ERR(snapshot)) {
			vd_msg_set(msg, "layer %u: bad snapshot name", level);
			return ERR_CAST(snapshot);
		}
		args.snapshot = snapshot;
	}
	ret = vd_get_layer_files(&spec, level, writable, &files, &nr, msg);
	if (ret) {
		kfree(snapshot);
		return ERR_PTR(ret);
	}
	layer = vd_layer_open(files, nr, spec.format, writable, allow_dio, &args);
	kfree(snapshot);
	kfree(files);
	return layer;
}

static int vd_build_chain(const struct vdisk_attach *a, struct vd_mcache *cache,
			  struct vd_chain **out, struct vd_msg *msg)
{
	void __user *specs = u64_to_user_ptr(a->layers);
	bool read_only = a->flags & VDISK_ATTACH_READ_ONLY;
	struct vd_chain *chain;
	unsigned int i;
	int ret;

	chain = vd_chain_alloc(a->nr_layers);
	if (!chain)
		return -ENOMEM;
	for (i = 0; i < a->nr_layers; i++) {
		struct vd_layer *layer;

		layer = vd_layer_from_user(specs, i, a->layer_spec_size, i,
					   i == 0 && !read_only,
					   !(a->flags & VDISK_ATTACH_NO_DIO),
					   cache, msg);
		if (IS_ERR(layer)) {
			ret = PTR_ERR(layer);
			goto err;
		}
		chain->layer[i] = layer;
	}
	ret = vd_chain_check_distinct(chain, msg);
	if (ret)
		goto err;
	/*
	 * QEMU's locks once the headers have been read (as QEMU sets its
	 * permissions once an image is open) and the stack is known to be
	 * sane, so that a loop is named as one and not as a lock conflict.
	 */
	for (i = 0; i < a->nr_layers; i++) {
		ret = vd_lock_layer(chain->layer[i], i == 0 && !read_only,
				    vd_lock_mode_of(a->flags), i, msg);
		if (ret)
			goto err;	/* freeing a layer unlocks it */
	}
	*out = chain;
	return 0;
err:
	vd_chain_free(chain);	/* skips the NULL slots */
	return ret;
}

/*
 * Give the caller the explanation of a failed attach, truncated to its
 * buffer and always NUL-terminated.  Best effort: the attach's own error is
 * what the caller gets back either way.
 */
void vd_copy_msg_out(u64 uptr, u32 size, char *msg)
{
	size_t len;

	if (!uptr || !size)
		return;
	len = min_t(size_t, size - 1, strlen(msg));
	msg[len] = '\0';
	if (copy_to_user(u64_to_user_ptr(uptr), msg, len + 1))
		pr_debug("message not delivered: bad msg pointer\n");
}

static long vd_ioc_attach(void __user *argp)
{
	struct vd_msg msg = { };
	struct vd_mcache *cache = NULL;
	struct vdisk_attach a;
	struct vd_chain *chain;
	struct vd_device *vd;
	char *msgbuf;
	int ret;

	ret = vd_copy_in(&a, sizeof(a), argp);
	if (ret)
		return ret;
	msgbuf = kzalloc(VDISK_MSG_MAX, GFP_KERNEL);
	if (!msgbuf)
		return -ENOMEM;
	msg.buf = msgbuf;
	msg.len = VDISK_MSG_MAX;

	ret = vd_check_attach(&a, &msg);
	if (ret)
		goto out;
	cache = vd_mcache_create((u64)(a.cache_kib ?: READ_ONCE(vd_cache_kib)) << 10);
	if (!cache) {
		ret = -ENOMEM;
		goto out;
	}
	ret = vd_build_chain(&a, cache, &chain, &msg);
	if (ret)
		goto out;

	mutex_lock(&vd_ctl_mutex);
	ret = vd_device_create(chain, cache, a.flags, a.index, &msg, &vd);
	if (!ret) {
		/* Still under the lock: a detach could free the chain after. */
		a.index = vd->index;
		pr_info("vd%d: attached %s (%s, %u layer%s)%s\n", a.index,
			vd_chain_top(chain)->path,
			vd_format_name(vd_chain_top(chain)->ops->format),
			chain->nr, chain->nr > 1 ? "s" : "",
			a.flags & VDISK_ATTACH_READ_ONLY ? " read-only" : "");
	}
	mutex_unlock(&vd_ctl_mutex);
	if (ret) {
		vd_chain_free(chain);
		goto out;
	}
	cache = NULL;		/* the device's now */
	/* The device exists now: report its number even if that copy fails. */
	ret = vd_copy_out(argp, &a, sizeof(a));
out:
	if (ret && msgbuf[0]) {
		pr_warn_ratelimited("attach failed: %s (%d)\n", msgbuf, ret);
		vd_copy_msg_out(a.msg, a.msg_size, msgbuf);
	}
	vd_mcache_unpin(cache);
	kfree(msgbuf);
	return ret;
}

static long vd_ioc_detach(void __user *argp)
{
	struct vdisk_detach d;
	struct vd_device *vd;
	int ret;

	ret = vd_copy_in(&d, sizeof(d), argp);
	if (ret)
		return ret;
	ret = vd_check_detach(&d);
	if (ret)
		return ret;
	mutex_lock(&vd_ctl_mutex);
	vd = vd_device_find(d.index, false);
	ret = vd ? vd_device_remove(vd, d.flags & VDISK_DETACH_LAZY) : -ENXIO;
	mutex_unlock(&vd_ctl_mutex);
	if (!ret)
		pr_info("vd%d: detach%s\n", d.index,
			d.flags & VDISK_DETACH_LAZY ? " (lazy)" : "ed");
	return ret;
}

static void vd_fill_layer_info(const struct vd_layer *l,
			       struct vdisk_layer_info *info)
{
	struct inode *inode = file_inode(l->files[0]);
	struct kstat stat;

	memset(info, 0, sizeof(*info));
	info->format = l->ops->format;
	info->flags = (l->writable ? VDISK_LINFO_WRITABLE : 0) |
		      (l->dio_align ? VDISK_LINFO_DIRECT_IO : 0);
	info->virtual_size = l->virtual_size;
	/* What stat() says, so userspace can match layers to its files. */
	if (!vfs_getattr(&l->files[0]->f_path, &stat, STATX_INO,
			 AT_STATX_DONT_SYNC)) {
		info->file_dev = new_encode_dev(stat.dev);
		info->file_ino = stat.ino;
	} else {
		info->file_dev = new_encode_dev(inode->i_sb->s_dev);
		info->file_ino = inode->i_ino;
	}
	strscpy(info->path, l->path, sizeof(info->path));
}

static long vd_ioc_status(void __user *argp)
{
	struct vdisk_layer_info *infos = NULL;
	struct vdisk_status s;
	struct vd_device *vd;
	unsigned int i, n = 0;
	int ret;

	ret = vd_copy_in(&s, sizeof(s), argp);
	if (ret)
		return ret;
	ret = vd_check_status(&s);
	if (ret)
		return ret;
	if (s.max_layers) {
		infos = kcalloc(min_t(u32, s.max_layers, VDISK_MAX_LAYERS),
				sizeof(*infos), GFP_KERNEL);
		if (!infos)
			return -ENOMEM;
	}

	mutex_lock(&vd_ctl_mutex);
	vd = vd_device_find(s.index, s.flags & VDISK_STATUS_NEXT);
	if (!vd) {
		ret = -ENXIO;
		goto unlock;
	}
	mutex_lock(&vd->lock);
	s.index = vd->index;
	s.nr_layers = vd->chain->nr;
	s.capacity = get_capacity(vd->disk) << SECTOR_SHIFT;
	s.dev_flags = (vd_chain_top(vd->chain)->writable ? 0 : VDISK_DEV_READ_ONLY) |
		      (vd_job_running(vd) ? VDISK_DEV_JOB_RUNNING : 0) |
		      (vd->flags & VDISK_ATTACH_PARTSCAN ? VDISK_DEV_PARTSCAN : 0) |
		      (vd->flags & VDISK_ATTACH_AUTOCLEAR ? VDISK_DEV_AUTOCLEAR : 0);
	s.open_count = vd->open_count;
	s.major = vd->disk->major;
	s.minor = vd->disk->first_minor;
	s.diskseq = vd->disk->diskseq;
	n = min_t(u32, s.max_layers, vd->chain->nr);
	for (i = 0; i < n; i++)
		vd_fill_layer_info(vd->chain->layer[i], &infos[i]);
	mutex_unlock(&vd->lock);
unlock:
	mutex_unlock(&vd_ctl_mutex);

	for (i = 0; !ret && i < n; i++) {
		void __user *dst = u64_to_user_ptr(s.layers) +
				   (size_t)i * s.layer_info_size;

		if (copy_to_user(dst, &infos[i], sizeof(infos[i])) ||
		    clear_user(dst + sizeof(infos[i]),
			       s.layer_info_size - sizeof(infos[i])))
			ret = -EFAULT;
	}
	kfree(infos);
	return ret ? ret : vd_copy_out(argp, &s, sizeof(s));
}

static long vd_ctl_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *argp = (void __user *)arg;

	/*
	 * Dispatch on the command number alone: the size bits of the ioctl
	 * encode the struct as first published, while the struct's own @size
	 * member says how large the caller's really is.
	 */
	if (_IOC_TYPE(cmd) != VDISK_IOC_MAGIC)
		return -ENOTTY;
	switch (_IOC_NR(cmd)) {
	case _IOC_NR(VDISK_IOC_GET_FEATURES):
		return vd_ioc_get_features(argp);
	case _IOC_NR(VDISK_IOC_STATUS):
		return vd_ioc_status(argp);
	case _IOC_NR(VDISK_IOC_ATTACH):
		if (!capable(CAP_SYS_ADMIN))
			return -EPERM;
		return vd_ioc_attach(argp);
	case _IOC_NR(VDISK_IOC_DETACH):
		if (!capable(CAP_SYS_ADMIN))
			return -EPERM;
		return vd_ioc_detach(argp);
	case _IOC_NR(VDISK_IOC_JOB_STATUS):
		return vd_ioc_job_status(argp);
	case _IOC_NR(VDISK_IOC_JOB_START):
		if (!capable(CAP_SYS_ADMIN))
			return -EPERM;
		return vd_ioc_job_start(argp);
	case _IOC_NR(VDISK_IOC_JOB_CANCEL):
		if (!capable(CAP_SYS_ADMIN))
			return -EPERM;
		return vd_ioc_job_cancel(argp);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations vd_ctl_fops = {
	.owner		= THIS_MODULE,
	.open		= nonseekable_open,
	.unlocked_ioctl	= vd_ctl_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice vd_ctl_misc = {
	.minor		= MISC_DYNAMIC_MINOR,
	.name		= VDISK_CONTROL_NAME,
	.fops		= &vd_ctl_fops,
	.mode		= 0600,
};

int vd_ctl_init(void)
{
	/* The ABI's layout is fixed: catch any drift at build time. */
	BUILD_BUG_ON(sizeof(struct vdisk_features) != 56);
	BUILD_BUG_ON(sizeof(struct vdisk_layer_spec) != 48);
	BUILD_BUG_ON(sizeof(struct vdisk_attach) != 72);
	BUILD_BUG_ON(sizeof(struct vdisk_detach) != 32);
	BUILD_BUG_ON(sizeof(struct vdisk_layer_info) != 304);
	BUILD_BUG_ON(sizeof(struct vdisk_status) != 88);
	BUILD_BUG_ON(sizeof(struct vdisk_job_start) != 96);
	BUILD_BUG_ON(sizeof(struct vdisk_job_status) != 368);
	BUILD_BUG_ON(sizeof(struct vdisk_job_cancel) != 32);
	return misc_register(&vd_ctl_misc);
}

void vd_ctl_exit(void)
{
	misc_deregister(&vd_ctl_misc);
}
