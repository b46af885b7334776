// SPDX-License-Identifier: GPL-2.0-only
/*
 * msr-safe: allowlisted, bit-masked access to model-specific registers.
 *
 * This file holds what the devices share: the four device classes, named
 * as upstream names them so that sites' udev rules keep their meaning (all
 * nodes live under /dev/cpu/, owned by root, mode 0600 until udev says
 * otherwise), the version device, the denial counters in
 * /sys/kernel/msr_safe/, the per-operation access re-check and the
 * lockdown test.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/fs.h>
#include <linux/kobject.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/security.h>
#include <linux/slab.h>
#include <linux/sysfs.h>

#include "msr_safe_internal.h"

static bool recheck_access = true;
module_param(recheck_access, bool, 0644);
MODULE_PARM_DESC(recheck_access,
		 "Check the node's current owner, group and mode on every operation, not just at open (default: 1)");

static unsigned int mdev_msr_version;
module_param(mdev_msr_version, uint, 0444);
MODULE_PARM_DESC(mdev_msr_version,
		 "Major number of /dev/cpu/msr_safe_version (0 = dynamic)");

/*
 * Per-CPU, so that denials on many CPUs (batch ops are counted on their
 * target CPU) do not bounce one cache line; summed when read.
 */
struct msr_safe_counters {
	u64 count[MSR_SAFE_NR_COUNTERS];
};

static DEFINE_PER_CPU(struct msr_safe_counters, msr_safe_counters);

void msr_safe_count(enum msr_safe_counter counter)
{
	this_cpu_inc(msr_safe_counters.count[counter]);
}

/*
 * The one place that asks about kernel lockdown.  As the kernel's own msr
 * driver, refuse every MSR write while the kernel is locked down
 * (integrity or confidentiality); reads go on.
 */
int msr_safe_write_lockdown(void)
{
	return msr_safe_msr_writes_locked_down() ? -EPERM : 0;
}

/*
 * Permission is normally checked once, at open.  With recheck_access the
 * node's current owner, group, mode and ACL are checked again for every
 * operation, so an fd kept across a chmod or chown loses what the new
 * mode takes away.  The usual rules apply, so root keeps access through
 * CAP_DAC_OVERRIDE.
 */
int msr_safe_recheck(struct file *file, int may)
{
	if (!READ_ONCE(recheck_access))
		return 0;
	return msr_safe_inode_permission(file, may);
}

static ssize_t msr_safe_version_read(struct file *file, char __user *buf,
				     size_t count, loff_t *ppos)
{
	static const char version[] = MSR_SAFE_VERSION_STR "\n";
	int err;

	err = msr_safe_recheck(file, MAY_READ);
	if (err)
		return err;
	return simple_read_from_buffer(buf, count, ppos, version,
				       sizeof(version) - 1);
}

static const struct file_operations msr_safe_version_fops = {
	.owner = THIS_MODULE,
	.read = msr_safe_version_read,
	.llseek = default_llseek,
};

static ssize_t counter_show(enum msr_safe_counter counter, char *buf)
{
	unsigned long long sum = 0;
	unsigned int cpu;

	for_each_possible_cpu(cpu)
		sum += per_cpu(msr_safe_counters, cpu).count[counter];
	return sysfs_emit(buf, "%llu\n", sum);
}

static ssize_t denied_not_allowlisted_show(struct kobject *kobj,
					   struct kobj_attribute *attr,
					   char *buf)
{
	return counter_show(MSR_SAFE_DENIED_NOT_ALLOWLISTED, buf);
}

static ssize_t denied_read_only_show(struct kobject *kobj,
				     struct kobj_attribute *attr, char *buf)
{
	return counter_show(MSR_SAFE_DENIED_READ_ONLY, buf);
}

static ssize_t denied_offline_cpu_show(struct kobject *kobj,
				       struct kobj_attribute *attr, char *buf)
{
	return counter_show(MSR_SAFE_DENIED_OFFLINE_CPU, buf);
}

static ssize_t faults_show(struct kobject *kobj, struct kobj_attribute *attr,
			   char *buf)
{
	return counter_show(MSR_SAFE_FAULTS, buf);
}

static struct kobj_attribute denied_not_allowlisted_attr =
	__ATTR_RO(denied_not_allowlisted);
static struct kobj_attribute denied_read_only_attr = __ATTR_RO(denied_read_only);
static struct kobj_attribute denied_offline_cpu_attr =
	__ATTR_RO(denied_offline_cpu);
static struct kobj_attribute faults_attr = __ATTR_RO(faults);

static struct attribute *msr_safe_counter_attrs[] = {
	&denied_not_allowlisted_attr.attr,
	&denied_read_only_attr.attr,
	&denied_offline_cpu_attr.attr,
	&faults_attr.attr,
	NULL
};

static const struct attribute_group msr_safe_counter_group = {
	.attrs = msr_safe_counter_attrs,
};

static MSR_SAFE_DEVNODE(msr_safe_devnode)
{
	/* Root only until udev applies 60-msr-safe.rules. */
	if (mode)
		*mode = 0600;
	if (MAJOR(dev->devt) == msr_safe_cpu_major)
		return kasprintf(GFP_KERNEL, "cpu/%u/" MSR_SAFE_CPU_NAME,
				 MINOR(dev->devt));
	return kasprintf(GFP_KERNEL, "cpu/%s", dev_name(dev));
}

static struct kobject *msr_safe_kobj;
static unsigned int msr_safe_version_major;

/* One class per kind of node, named as upstream names them. */
static const char *const msr_safe_class_names[MSR_SAFE_NR_CLASSES] = {
	[MSR_SAFE_CLASS_CPU] = MSR_SAFE_CPU_NAME,
	[MSR_SAFE_CLASS_BATCH] = MSR_SAFE_BATCH_NAME,
	[MSR_SAFE_CLASS_ALLOWLIST] = MSR_SAFE_ALLOWLIST_NAME,
	[MSR_SAFE_CLASS_VERSION] = MSR_SAFE_VERSION_NAME,
};

static struct class *msr_safe_classes[MSR_SAFE_NR_CLASSES];

static void msr_safe_classes_destroy(void)
{
	int i;

	for (i = MSR_SAFE_NR_CLASSES - 1; i >= 0; i--) {
		if (msr_safe_classes[i])
			class_destroy(msr_safe_classes[i]);
		msr_safe_classes[i] = NULL;
	}
}

/* The only place that creates classes; all share one devnode callback. */
static int __init msr_safe_classes_create(void)
{
	struct class *class;
	int i;

	for (i = 0; i < MSR_SAFE_NR_CLASSES; i++) {
		class = msr_safe_class_create(msr_safe_class_names[i]);
		if (IS_ERR(class)) {
			msr_safe_classes_destroy();
			return PTR_ERR(class);
		}
		class->devnode = msr_safe_devnode;
		msr_safe_classes[i] = class;
	}
	return 0;
}

static int __init msr_safe_version_init(void)
{
	struct device *dev;
	int ret;

	ret = __register_chrdev(mdev_msr_version, 0, 1, MSR_SAFE_VERSION_NAME,
				&msr_safe_version_fops);
	if (ret < 0) {
		pr_err("cannot register major %u for %s: %d\n",
		       mdev_msr_version, MSR_SAFE_VERSION_NAME, ret);
		return ret;
	}
	msr_safe_version_major = mdev_msr_version ? mdev_msr_version : ret;

	dev = device_create(msr_safe_classes[MSR_SAFE_CLASS_VERSION], NULL,
			    MKDEV(msr_safe_version_major, 0), NULL,
			    MSR_SAFE_VERSION_NAME);
	if (IS_ERR(dev)) {
		__unregister_chrdev(msr_safe_version_major, 0, 1,
				    MSR_SAFE_VERSION_NAME);
		return PTR_ERR(dev);
	}
	return 0;
}

static void msr_safe_version_exit(void)
{
	device_destroy(msr_safe_classes[MSR_SAFE_CLASS_VERSION],
		       MKDEV(msr_safe_version_major, 0));
	__unregister_chrdev(msr_safe_version_major, 0, 1, MSR_SAFE_VERSION_NAME);
}

static int __init msr_safe_init(void)
{
	int err;

	msr_safe_kobj = kobject_create_and_add("msr_safe", kernel_kobj);
	if (!msr_safe_kobj)
		return -ENOMEM;
	err = sysfs_create_group(msr_safe_kobj, &msr_safe_counter_group);
	if (err)
		goto err_kobj;

	err = msr_safe_classes_create();
	if (err)
		goto err_group;

	err = msr_safe_allowlist_init(msr_safe_classes[MSR_SAFE_CLASS_ALLOWLIST]);
	if (err)
		goto err_classes;
	err = msr_safe_version_init();
	if (err)
		goto err_allowlist;
	err = msr_safe_batch_init(msr_safe_classes[MSR_SAFE_CLASS_BATCH]);
	if (err)
		goto err_version;
	err = msr_safe_cpu_init(msr_safe_classes[MSR_SAFE_CLASS_CPU]);
	if (err)
		goto err_batch;

	pr_info("version %s loaded\n", MSR_SAFE_VERSION_STR);
	return 0;

err_batch:
	msr_safe_batch_exit();
err_version:
	msr_safe_version_exit();
err_allowlist:
	msr_safe_allowlist_exit();
err_classes:
	msr_safe_classes_destroy();
err_group:
	sysfs_remove_group(msr_safe_kobj, &msr_safe_counter_group);
err_kobj:
	kobject_put(msr_safe_kobj);
	pr_err("cannot load: %d\n", err);
	return err;
}
module_init(msr_safe_init);

static void __exit msr_safe_exit(void)
{
	msr_safe_cpu_exit();
	msr_safe_batch_exit();
	msr_safe_version_exit();
	msr_safe_allowlist_exit();
	msr_safe_classes_destroy();
	sysfs_remove_group(msr_safe_kobj, &msr_safe_counter_group);
	kobject_put(msr_safe_kobj);
}
module_exit(msr_safe_exit);

MODULE_DESCRIPTION("Allowlisted, bit-masked access to x86 model-specific registers");
MODULE_LICENSE("GPL v2");
MODULE_VERSION(MSR_SAFE_VERSION_STR);
