// SPDX-License-Identifier: GPL-2.0-only
/*
 * The live allowlist and /dev/cpu/msr_allowlist.
 *
 * The list is a sorted array published with RCU: every MSR access looks
 * its address up with a binary search under rcu_read_lock() and never
 * takes a lock.  A write to the device parses and validates the whole new
 * text first and only then swaps the pointer, so a failed write leaves
 * the previous list live and untouched.  The old list is freed after a
 * grace period without making the writer wait for it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/overflow.h>
#include <linux/rcupdate.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "allowlist.h"
#include "msr_safe_internal.h"

static unsigned int mdev_msr_allowlist;
module_param(mdev_msr_allowlist, uint, 0444);
MODULE_PARM_DESC(mdev_msr_allowlist,
		 "Major number of /dev/cpu/msr_allowlist (0 = dynamic)");

struct msr_safe_allowlist {
	struct rcu_head rcu;
	size_t count;
	struct al_entry entries[];
};

/* NULL while the list is empty: nothing is allowed. */
static struct msr_safe_allowlist __rcu *msr_safe_live_list;
/* Serializes writers of msr_safe_live_list. */
static DEFINE_MUTEX(msr_safe_allowlist_lock);

static struct class *msr_safe_allowlist_class;
static unsigned int msr_safe_allowlist_major;

const struct msr_safe_allowlist *msr_safe_allowlist_get(void)
{
	return rcu_dereference(msr_safe_live_list);
}

bool msr_safe_allowlist_find(const struct msr_safe_allowlist *list, u32 msr,
			     u64 *wmask)
{
	const struct al_entry *entry;

	if (!list)
		return false;
	entry = al_find(list->entries, list->count, msr);
	if (!entry)
		return false;
	*wmask = entry->wmask;
	return true;
}

/* Parse @text completely into a new list; NULL in *@out for "clear". */
static int msr_safe_allowlist_parse(const char *text, size_t len,
				    struct msr_safe_allowlist **out)
{
	struct msr_safe_allowlist *list = NULL;
	struct al_entry *entries;
	size_t cap, count;
	u32 line = 0;
	int err;

	cap = al_max_entries(text, len);
	entries = kvmalloc_array(max_t(size_t, cap, 1), sizeof(*entries),
				 GFP_KERNEL);
	if (!entries)
		return -ENOMEM;

	err = al_parse(text, len, entries, cap, &count, &line);
	if (err) {
		if (line)
			pr_warn_ratelimited("allowlist not installed: line %u: %s\n",
					    line, al_strerror(err));
		else
			pr_warn_ratelimited("allowlist not installed: %s\n",
					    al_strerror(err));
		goto out;
	}
	if (count) {
		list = kvmalloc(struct_size(list, entries, count), GFP_KERNEL);
		if (!list) {
			err = -ENOMEM;
			goto out;
		}
		list->count = count;
		memcpy(list->entries, entries, count * sizeof(*entries));
	}
	*out = list;
out:
	kvfree(entries);
	return err;
}

/*
 * call_rcu() rather than kvfree_rcu(): the latter batches frees for
 * seconds, so frequent installs would pile up freed lists.
 */
static void msr_safe_allowlist_free_rcu(struct rcu_head *head)
{
	kvfree(container_of(head, struct msr_safe_allowlist, rcu));
}

static void msr_safe_allowlist_install(struct msr_safe_allowlist *list)
{
	struct msr_safe_allowlist *old;

	mutex_lock(&msr_safe_allowlist_lock);
	old = rcu_replace_pointer(msr_safe_live_list, list,
				  lockdep_is_held(&msr_safe_allowlist_lock));
	mutex_unlock(&msr_safe_allowlist_lock);

	/* Lookups that still see the old list finish before it goes. */
	if (old)
		call_rcu(&old->rcu, msr_safe_allowlist_free_rcu);
}

static ssize_t msr_safe_allowlist_write(struct file *file,
					const char __user *buf, size_t count,
					loff_t *ppos)
{
	struct msr_safe_allowlist *list;
	char *text;
	int err;

	err = msr_safe_recheck(file, MAY_WRITE);
	if (err)
		return err;
	/* Nothing to parse, nothing to change: not even a "clear". */
	if (!count)
		return 0;
	if (count > AL_TEXT_MAX)
		return -E2BIG;

	text = kvmalloc(count, GFP_KERNEL);
	if (!text)
		return -ENOMEM;
	if (copy_from_user(text, buf, count)) {
		err = -EFAULT;
		goto out;
	}
	err = msr_safe_allowlist_parse(text, count, &list);
	if (err)
		goto out;
	msr_safe_allowlist_install(list);
	pr_debug("allowlist installed: %zu entries\n", list ? list->count : 0);
out:
	kvfree(text);
	return err ? err : count;
}

/*
 * Readers see a private copy taken when they read from offset 0, so a
 * list installed halfway through a read cannot tear its output.
 */
struct msr_safe_allowlist_reader {
	struct al_entry *entries;
	size_t count;
};

static int msr_safe_allowlist_snapshot(struct msr_safe_allowlist_reader *r)
{
	const struct msr_safe_allowlist *list;
	struct al_entry *entries = NULL;
	size_t count;

	mutex_lock(&msr_safe_allowlist_lock);
	list = rcu_dereference_protected(msr_safe_live_list,
					 lockdep_is_held(&msr_safe_allowlist_lock));
	count = list ? list->count : 0;
	if (count) {
		entries = kvmalloc_array(count, sizeof(*entries), GFP_KERNEL);
		if (entries)
			memcpy(entries, list->entries,
			       count * sizeof(*entries));
	}
	mutex_unlock(&msr_safe_allowlist_lock);
	if (count && !entries)
		return -ENOMEM;

	kvfree(r->entries);
	r->entries = entries;
	r->count = count;
	return 0;
}

/* Record 0 is the header, record i > 0 is entry i - 1. */
static void *msr_safe_allowlist_seq_start(struct seq_file *m, loff_t *pos)
{
	struct msr_safe_allowlist_reader *r = m->private;
	int err;

	if (*pos == 0) {
		err = msr_safe_allowlist_snapshot(r);
		if (err)
			return ERR_PTR(err);
		return SEQ_START_TOKEN;
	}
	if (*pos > r->count)
		return NULL;
	return &r->entries[*pos - 1];
}

static void *msr_safe_allowlist_seq_next(struct seq_file *m, void *v,
					 loff_t *pos)
{
	struct msr_safe_allowlist_reader *r = m->private;

	++*pos;
	if (*pos > r->count)
		return NULL;
	return &r->entries[*pos - 1];
}

static void msr_safe_allowlist_seq_stop(struct seq_file *m, void *v)
{
}

static int msr_safe_allowlist_seq_show(struct seq_file *m, void *v)
{
	const struct al_entry *entry = v;
	char line[AL_LINE_LEN];

	if (v == SEQ_START_TOKEN) {
		seq_puts(m, AL_HEADER);
		return 0;
	}
	al_render_line(line, entry->msr, entry->wmask);
	seq_write(m, line, sizeof(line));
	return 0;
}

static const struct seq_operations msr_safe_allowlist_seq_ops = {
	.start = msr_safe_allowlist_seq_start,
	.next = msr_safe_allowlist_seq_next,
	.stop = msr_safe_allowlist_seq_stop,
	.show = msr_safe_allowlist_seq_show,
};

static ssize_t msr_safe_allowlist_read(struct file *file, char __user *buf,
				       size_t count, loff_t *ppos)
{
	int err;

	err = msr_safe_recheck(file, MAY_READ);
	if (err)
		return err;
	return seq_read(file, buf, count, ppos);
}

static int msr_safe_allowlist_open(struct inode *inode, struct file *file)
{
	return seq_open_private(file, &msr_safe_allowlist_seq_ops,
				sizeof(struct msr_safe_allowlist_reader));
}

static int msr_safe_allowlist_release(struct inode *inode, struct file *file)
{
	struct seq_file *m = file->private_data;
	struct msr_safe_allowlist_reader *r = m->private;

	kvfree(r->entries);
	return seq_release_private(inode, file);
}

static const struct file_operations msr_safe_allowlist_fops = {
	.owner = THIS_MODULE,
	.open = msr_safe_allowlist_open,
	.read = msr_safe_allowlist_read,
	.write = msr_safe_allowlist_write,
	.llseek = seq_lseek,
	.release = msr_safe_allowlist_release,
};

int __init msr_safe_allowlist_init(struct class *class)
{
	struct device *dev;
	int ret;

	ret = __register_chrdev(mdev_msr_allowlist, 0, 1,
				MSR_SAFE_ALLOWLIST_NAME,
				&msr_safe_allowlist_fops);
	if (ret < 0) {
		pr_err("cannot register major %u for %s: %d\n",
		       mdev_msr_allowlist, MSR_SAFE_ALLOWLIST_NAME, ret);
		return ret;
	}
	msr_safe_allowlist_major = mdev_msr_allowlist ? mdev_msr_allowlist : ret;
	msr_safe_allowlist_class = class;

	dev = device_create(class, NULL, MKDEV(msr_safe_allowlist_major, 0),
			    NULL, MSR_SAFE_ALLOWLIST_NAME);
	if (IS_ERR(dev)) {
		__unregister_chrdev(msr_safe_allowlist_major, 0, 1,
				    MSR_SAFE_ALLOWLIST_NAME);
		return PTR_ERR(dev);
	}
	return 0;
}

void msr_safe_allowlist_exit(void)
{
	device_destroy(msr_safe_allowlist_class,
		       MKDEV(msr_safe_allowlist_major, 0));
	__unregister_chrdev(msr_safe_allowlist_major, 0, 1,
			    MSR_SAFE_ALLOWLIST_NAME);
	/* No file is open any more, so no lookup can be running. */
	kvfree(rcu_dereference_protected(msr_safe_live_list, 1));
	RCU_INIT_POINTER(msr_safe_live_list, NULL);
	/* Old lists still waiting in call_rcu() need this module's code. */
	rcu_barrier();
}
