// SPDX-License-Identifier: GPL-2.0-only
/*
 * /dev/cpu/msr_batch: many MSR operations on many CPUs in one ioctl.
 *
 * The ops are checked against the allowlist in one pass, then grouped by
 * CPU (a counting sort into an index array), and every target CPU runs
 * only its own ops, all CPUs in parallel, in cross-CPU calls of at most
 * MSR_SAFE_BATCH_CHUNK ops each (interrupts are off during a call), with
 * a chance to reschedule between calls.  CPU hotplug is held off
 * meanwhile, so an op either runs or reports ENXIO: none is skipped
 * silently.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpu.h>
#include <linux/cpumask.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/uaccess.h>

#include "msr_safe_internal.h"

static unsigned int mdev_msr_batch;
module_param(mdev_msr_batch, uint, 0444);
MODULE_PARM_DESC(mdev_msr_batch,
		 "Major number of /dev/cpu/msr_batch (0 = dynamic)");

/*
 * Ops one CPU runs per cross-CPU call, with interrupts off: about a
 * millisecond at worst for slow MSRs on hardware, and large enough that
 * common batches (up to 1,000 ops per CPU) still take one call.
 */
#define MSR_SAFE_BATCH_CHUNK 1024

/* The most max_batch_ops may be set to: 32 MiB of ops plus their index. */
#define MSR_SAFE_BATCH_OPS_CAP (1U << 20)

static unsigned int max_batch_ops = 131072;

static int max_batch_ops_set(const char *val, const struct kernel_param *kp)
{
	unsigned int n;
	int err;

	err = kstrtouint(val, 0, &n);
	if (err)
		return err;
	if (n < 1 || n > MSR_SAFE_BATCH_OPS_CAP)
		return -EINVAL;
	WRITE_ONCE(max_batch_ops, n);
	return 0;
}

static const struct kernel_param_ops max_batch_ops_ops = {
	.set = max_batch_ops_set,
	.get = param_get_uint,
};

module_param_cb(max_batch_ops, &max_batch_ops_ops, &max_batch_ops, 0644);
MODULE_PARM_DESC(max_batch_ops,
		 "Most ops one batch may hold, 1..1048576; larger batches get E2BIG (default: 131072)");

static struct class *msr_safe_batch_class;
static unsigned int msr_safe_batch_major;

/*
 * The ops grouped by CPU: order[first[cpu] .. first[cpu + 1]).  In call
 * number @round a CPU runs the round'th chunk of its ops.
 */
struct msr_safe_batch {
	struct msr_batch_op *ops;
	u32 *order;
	u32 *first;
	cpumask_var_t cpus;	/* online CPUs that have ops */
	cpumask_var_t round_cpus; /* those with ops left in this round */
	u32 round;
};

static void msr_safe_batch_ipi(void *info)
{
	struct msr_safe_batch *b = info;
	unsigned int cpu = smp_processor_id();
	u32 i = b->first[cpu] + b->round * MSR_SAFE_BATCH_CHUNK;
	u32 end = min(b->first[cpu + 1], i + MSR_SAFE_BATCH_CHUNK);

	for (; i < end; i++)
		msr_safe_exec_local(&b->ops[b->order[i]]);
}

/* True if any op of the batch writes. */
static bool msr_safe_batch_writes(const struct msr_safe_batch *b, u32 numops)
{
	u32 i;

	for (i = 0; i < numops; i++) {
		if (!b->ops[i].isrdmsr)
			return true;
	}
	return false;
}

/*
 * Check every op against one view of the allowlist and count the ops
 * each CPU will run in first[cpu + 1].  Write ops get @write_err (the
 * lockdown verdict) when it is non-zero.  Only called once the caller's
 * permission is established, so denials are counted only for callers that
 * may use the device.
 */
static void msr_safe_batch_check(struct msr_safe_batch *b, u32 numops,
				 int write_err)
{
	const struct msr_safe_allowlist *list;
	u32 i;

	rcu_read_lock();
	list = msr_safe_allowlist_get();
	for (i = 0; i < numops; i++) {
		struct msr_batch_op *op = &b->ops[i];

		op->err = 0;
		op->wmask = 0;
		if (!msr_safe_allowlist_find(list, op->msr, &op->wmask)) {
			op->err = -EACCES;
			msr_safe_count(MSR_SAFE_DENIED_NOT_ALLOWLISTED);
		} else if (op->cpu >= nr_cpu_ids) {
			/* As upstream: no mask is reported for an absent CPU. */
			op->err = -ENXIO;
			op->wmask = 0;
			msr_safe_count(MSR_SAFE_DENIED_OFFLINE_CPU);
		} else if (!op->isrdmsr && write_err) {
			op->err = write_err;
		} else {
			b->first[op->cpu + 1]++;
		}
	}
	rcu_read_unlock();
}

/* Turn the per-CPU counts into start indexes and fill b->order. */
static void msr_safe_batch_group(struct msr_safe_batch *b, u32 numops)
{
	unsigned int cpu;
	u32 i;

	for (cpu = 0; cpu < nr_cpu_ids; cpu++)
		b->first[cpu + 1] += b->first[cpu];
	/* Place each op, using first[cpu] as a cursor, then shift back. */
	for (i = 0; i < numops; i++) {
		if (!b->ops[i].err)
			b->order[b->first[b->ops[i].cpu]++] = i;
	}
	for (cpu = nr_cpu_ids; cpu > 0; cpu--)
		b->first[cpu] = b->first[cpu - 1];
	b->first[0] = 0;
}

static void msr_safe_batch_run(struct msr_safe_batch *b)
{
	unsigned int cpu;
	u32 i;

	cpumask_clear(b->cpus);
	cpus_read_lock();
	for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
		if (b->first[cpu] == b->first[cpu + 1])
			continue;
		if (cpu_online(cpu)) {
			cpumask_set_cpu(cpu, b->cpus);
			continue;
		}
		for (i = b->first[cpu]; i < b->first[cpu + 1]; i++) {
			b->ops[b->order[i]].err = -ENXIO;
			b->ops[b->order[i]].wmask = 0;
			msr_safe_count(MSR_SAFE_DENIED_OFFLINE_CPU);
		}
	}
	/* Bounded time with interrupts off per call; reschedule between. */
	for (b->round = 0;; b->round++) {
		u32 done = b->round * MSR_SAFE_BATCH_CHUNK;

		cpumask_clear(b->round_cpus);
		for_each_cpu(cpu, b->cpus) {
			if (b->first[cpu + 1] - b->first[cpu] > done)
				cpumask_set_cpu(cpu, b->round_cpus);
		}
		if (cpumask_empty(b->round_cpus))
			break;
		on_each_cpu_mask(b->round_cpus, msr_safe_batch_ipi, b, true);
		cond_resched();
	}
	cpus_read_unlock();
}

static long msr_safe_batch_ioctl(struct file *file, unsigned int cmd,
				 unsigned long arg)
{
	struct msr_batch_array __user *uarr = (void __user *)arg;
	struct msr_safe_batch b = { };
	struct msr_batch_op __user *uops;
	struct msr_batch_array arr;
	int write_err = 0;
	size_t size;
	long ret;
	u32 i;

	if (cmd != X86_IOC_MSR_BATCH)
		return -ENOTTY;
	if (!(file->f_mode & FMODE_READ))
		return -EBADF;
	ret = msr_safe_recheck(file, MAY_READ);
	if (ret)
		return ret;
	if (copy_from_user(&arr, uarr, sizeof(arr)))
		return -EFAULT;
	/*
	 * arr.version is ignored: GEOPM, Variorum and upstream's own example
	 * leave it as stack or heap garbage (it was padding before).
	 */
	if (!arr.numops)
		return -EINVAL;
	if (arr.numops > READ_ONCE(max_batch_ops))
		return -E2BIG;
	/* The UAPI struct cannot say it, but ops points to user memory. */
	uops = (struct msr_batch_op __user *)(unsigned long)arr.ops;

	/* Charged to the caller's memory cgroup: the caller picks the size. */
	size = array_size(arr.numops, sizeof(*b.ops));
	b.ops = kvmalloc(size, GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	b.order = kvmalloc_array(arr.numops, sizeof(*b.order),
				 GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	b.first = kcalloc(nr_cpu_ids + 1, sizeof(*b.first), GFP_KERNEL_ACCOUNT);
	if (!b.ops || !b.order || !b.first ||
	    !zalloc_cpumask_var(&b.cpus, GFP_KERNEL) ||
	    !zalloc_cpumask_var(&b.round_cpus, GFP_KERNEL)) {
		ret = -ENOMEM;
		goto out;
	}
	if (copy_from_user(b.ops, uops, size)) {
		ret = -EFAULT;
		goto out;
	}

	/*
	 * Writing needs a descriptor opened for writing (as the stock msr
	 * driver, EBADF: nothing runs) and write permission on the node.
	 */
	if (msr_safe_batch_writes(&b, arr.numops)) {
		if (!(file->f_mode & FMODE_WRITE)) {
			ret = -EBADF;
			goto out;
		}
		ret = msr_safe_recheck(file, MAY_WRITE);
		if (ret)
			goto out;
		write_err = msr_safe_write_lockdown();
	}
	msr_safe_batch_check(&b, arr.numops, write_err);
	msr_safe_batch_group(&b, arr.numops);
	msr_safe_batch_run(&b);

	if (copy_to_user(uops, b.ops, size)) {
		ret = -EFAULT;
		goto out;
	}
	for (i = 0; i < arr.numops; i++) {
		if (b.ops[i].err) {
			ret = b.ops[i].err;
			break;
		}
	}
out:
	free_cpumask_var(b.round_cpus);
	free_cpumask_var(b.cpus);
	kfree(b.first);
	kvfree(b.order);
	kvfree(b.ops);
	return ret;
}

static const struct file_operations msr_safe_batch_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = msr_safe_batch_ioctl,
	.llseek = noop_llseek,
};

int __init msr_safe_batch_init(struct class *class)
{
	struct device *dev;
	int ret;

	ret = __register_chrdev(mdev_msr_batch, 0, 1, MSR_SAFE_BATCH_NAME,
				&msr_safe_batch_fops);
	if (ret < 0) {
		pr_err("cannot register major %u for %s: %d\n", mdev_msr_batch,
		       MSR_SAFE_BATCH_NAME, ret);
		return ret;
	}
	msr_safe_batch_major = mdev_msr_batch ? mdev_msr_batch : ret;
	msr_safe_batch_class = class;

	dev = device_create(class, NULL, MKDEV(msr_safe_batch_major, 0), NULL,
			    MSR_SAFE_BATCH_NAME);
	if (IS_ERR(dev)) {
		__unregister_chrdev(msr_safe_batch_major, 0, 1,
				    MSR_SAFE_BATCH_NAME);
		return PTR_ERR(dev);
	}
	return 0;
}

void msr_safe_batch_exit(void)
{
	device_destroy(msr_safe_batch_class, MKDEV(msr_safe_batch_major, 0));
	__unregister_chrdev(msr_safe_batch_major, 0, 1, MSR_SAFE_BATCH_NAME);
}
