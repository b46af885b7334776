// SPDX-License-Identifier: GPL-2.0-only
/*
 * /dev/cpu/N/msr_safe: one MSR at a time on logical CPU N.
 *
 * The file offset is the MSR address; every read and write moves exactly
 * 8 bytes and leaves the offset where it is, so pread/pwrite or an lseek
 * per access both work.  Nodes come and go with their CPUs.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/rcupdate.h>
#include <linux/uaccess.h>

#include "msr_safe_internal.h"

static unsigned int mdev_msr_safe;
module_param(mdev_msr_safe, uint, 0444);
MODULE_PARM_DESC(mdev_msr_safe,
		 "Major number of /dev/cpu/N/msr_safe (0 = dynamic)");

unsigned int msr_safe_cpu_major;
static struct class *msr_safe_cpu_class;
static enum cpuhp_state msr_safe_cpuhp_state;

static loff_t msr_safe_cpu_llseek(struct file *file, loff_t offset, int whence)
{
	struct inode *inode = file_inode(file);
	loff_t ret;

	inode_lock(inode);
	switch (whence) {
	case SEEK_SET:
		break;
	case SEEK_CUR:
		if (check_add_overflow(offset, file->f_pos, &offset))
			offset = -1;
		break;
	default:
		offset = -1;
		break;
	}
	if (offset < 0) {
		ret = -EINVAL;
	} else {
		file->f_pos = offset;
		ret = offset;
	}
	inode_unlock(inode);
	return ret;
}

/*
 * Look up the MSR at *ppos and the CPU behind @file for one 8-byte
 * access; on success @op is ready to run.
 */
static int msr_safe_cpu_prepare(struct file *file, size_t count, loff_t pos,
				bool write, struct msr_batch_op *op)
{
	const struct msr_safe_allowlist *list;
	bool listed;
	u64 wmask;
	int err;

	err = msr_safe_recheck(file, write ? MAY_WRITE : MAY_READ);
	if (err)
		return err;
	if (count != sizeof(op->msrdata))
		return -EINVAL;

	rcu_read_lock();
	list = msr_safe_allowlist_get();
	listed = pos >= 0 && pos <= U32_MAX &&
		 msr_safe_allowlist_find(list, (u32)pos, &wmask);
	rcu_read_unlock();
	if (!listed) {
		msr_safe_count(MSR_SAFE_DENIED_NOT_ALLOWLISTED);
		return -EACCES;
	}

	op->cpu = iminor(file_inode(file));
	op->isrdmsr = !write;
	op->err = 0;
	op->msr = (u32)pos;
	op->wmask = wmask;
	return 0;
}

static int msr_safe_cpu_exec(struct msr_batch_op *op)
{
	int err = msr_safe_exec_on(op->cpu, op);

	/* Faults and read-only denials were counted on the target CPU. */
	if (err == -ENXIO)
		msr_safe_count(MSR_SAFE_DENIED_OFFLINE_CPU);
	/* The per-CPU node has always said EACCES for a mask-0 write. */
	if (err == -EROFS)
		return -EACCES;
	return err;
}

static ssize_t msr_safe_cpu_read(struct file *file, char __user *buf,
				 size_t count, loff_t *ppos)
{
	struct msr_batch_op op;
	int err;

	err = msr_safe_cpu_prepare(file, count, *ppos, false, &op);
	if (err)
		return err;
	err = msr_safe_cpu_exec(&op);
	if (err)
		return err;
	if (copy_to_user(buf, &op.msrdata, sizeof(op.msrdata)))
		return -EFAULT;
	return sizeof(op.msrdata);
}

static ssize_t msr_safe_cpu_write(struct file *file, const char __user *buf,
				  size_t count, loff_t *ppos)
{
	struct msr_batch_op op;
	int err;

	err = msr_safe_cpu_prepare(file, count, *ppos, true, &op);
	if (err)
		return err;
	if (copy_from_user(&op.msrdata, buf, sizeof(op.msrdata)))
		return -EFAULT;
	err = msr_safe_cpu_exec(&op);
	if (err)
		return err;
	return sizeof(op.msrdata);
}

static int msr_safe_cpu_open(struct inode *inode, struct file *file)
{
	unsigned int cpu = iminor(inode);

	if (cpu >= nr_cpu_ids || !cpu_online(cpu)) {
		msr_safe_count(MSR_SAFE_DENIED_OFFLINE_CPU);
		return -ENXIO;
	}
	return 0;
}

static const struct file_operations msr_safe_cpu_fops = {
	.owner = THIS_MODULE,
	.llseek = msr_safe_cpu_llseek,
	.read = msr_safe_cpu_read,
	.write = msr_safe_cpu_write,
	.open = msr_safe_cpu_open,
};

static int msr_safe_cpu_online(unsigned int cpu)
{
	struct device *dev;

	dev = device_create(msr_safe_cpu_class, NULL,
			    MKDEV(msr_safe_cpu_major, cpu), NULL,
			    MSR_SAFE_CPU_NAME "%u", cpu);
	return PTR_ERR_OR_ZERO(dev);
}

static int msr_safe_cpu_offline(unsigned int cpu)
{
	device_destroy(msr_safe_cpu_class, MKDEV(msr_safe_cpu_major, cpu));
	return 0;
}

int __init msr_safe_cpu_init(struct class *class)
{
	int ret;

	ret = __register_chrdev(mdev_msr_safe, 0, nr_cpu_ids, MSR_SAFE_CPU_NAME,
				&msr_safe_cpu_fops);
	if (ret < 0) {
		pr_err("cannot register major %u for %s: %d\n", mdev_msr_safe,
		       MSR_SAFE_CPU_NAME, ret);
		return ret;
	}
	msr_safe_cpu_major = mdev_msr_safe ? mdev_msr_safe : ret;
	msr_safe_cpu_class = class;

	/* Creates the nodes of the CPUs online now, removes them on failure. */
	ret = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "x86/msr_safe:online",
				msr_safe_cpu_online, msr_safe_cpu_offline);
	if (ret < 0) {
		__unregister_chrdev(msr_safe_cpu_major, 0, nr_cpu_ids,
				    MSR_SAFE_CPU_NAME);
		return ret;
	}
	msr_safe_cpuhp_state = ret;
	return 0;
}

void msr_safe_cpu_exit(void)
{
	cpuhp_remove_state(msr_safe_cpuhp_state);
	__unregister_chrdev(msr_safe_cpu_major, 0, nr_cpu_ids, MSR_SAFE_CPU_NAME);
}
