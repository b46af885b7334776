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
 *
 * Installing a list is root-equivalent (a writable LSTAR is kernel code
 * execution), so it needs CAP_SYS_RAWIO besides the file permission.
 *
 * A text longer than one write (cat splits files in 128 KiB writes) is
 * collected per open file; see msr_safe_allowlist_write().
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/overflow.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
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

/*
 * The write size in which cat (coreutils) and similar tools split a file:
 * after a write of exactly this size the descriptor's next write
 * continues the same text.
 */
#define MSR_SAFE_AL_CHUNK (128 * 1024)
/* Most text one descriptor may collect over continued writes. */
#define MSR_SAFE_AL_TEXT_TOTAL (32 * MSR_SAFE_AL_CHUNK)

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
				 GFP_KERNEL_ACCOUNT);
	if (!entries)
		return -ENOMEM;

	/* One write is bounded by AL_TEXT_MAX, a collected text by its total. */
	err = al_parse_text(text, len, entries, cap, &count, &line);
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

/* Make @list live; returns the list it replaced, still to be freed. */
static struct msr_safe_allowlist *
msr_safe_allowlist_swap(struct msr_safe_allowlist *list)
{
	struct msr_safe_allowlist *old;

	mutex_lock(&msr_safe_allowlist_lock);
	old = rcu_replace_pointer(msr_safe_live_list, list,
				  lockdep_is_held(&msr_safe_allowlist_lock));
	mutex_unlock(&msr_safe_allowlist_lock);
	return old;
}

/* Free a list that is not live, once lookups that saw it are done. */
static void msr_safe_allowlist_retire(struct msr_safe_allowlist *list)
{
	if (list)
		call_rcu(&list->rcu, msr_safe_allowlist_free_rcu);
}

/*
 * Per open file: the reader's private copy of the list, and the writer's
 * collected text.  @text holds what was written since the descriptor's
 * text began; @chunk_pending says the last write was a full chunk, so
 * the next write continues the text.  @saved is the list that was live
 * before this text installed anything (@have_saved), put back if the
 * text turns out bad.
 */
struct msr_safe_allowlist_file {
	struct al_entry *entries;	/* reader: private copy */
	size_t count;
	struct mutex lock;		/* writer state below */
	char *text;
	size_t len;
	bool chunk_pending;
	bool have_saved;
	struct msr_safe_allowlist *saved;
};

static void msr_safe_allowlist_log(const struct msr_safe_allowlist *list)
{
	pr_info_ratelimited("allowlist installed by uid %u pid %d: %zu entries\n",
			    from_kuid(&init_user_ns, current_uid()),
			    task_pid_nr(current), list ? list->count : 0);
}

/* Install @list as this descriptor's text; keep the first list replaced. */
static void msr_safe_allowlist_install(struct msr_safe_allowlist_file *f,
				       struct msr_safe_allowlist *list)
{
	struct msr_safe_allowlist *old = msr_safe_allowlist_swap(list);

	msr_safe_allowlist_log(list);
	if (f->chunk_pending && !f->have_saved) {
		f->saved = old;
		f->have_saved = true;
	} else {
		msr_safe_allowlist_retire(old);
	}
}

/* The descriptor's text is complete (or abandoned): forget it. */
static void msr_safe_allowlist_text_end(struct msr_safe_allowlist_file *f,
					bool put_back)
{
	if (f->have_saved) {
		if (put_back) {
			size_t count = f->saved ? f->saved->count : 0;

			msr_safe_allowlist_retire(msr_safe_allowlist_swap(f->saved));
			pr_info_ratelimited("allowlist text refused: previous list (%zu entries) back in place\n",
					    count);
		} else {
			msr_safe_allowlist_retire(f->saved);
		}
	}
	kvfree(f->text);
	f->text = NULL;
	f->len = 0;
	f->chunk_pending = false;
	f->have_saved = false;
	f->saved = NULL;
}

/* Parse all of the descriptor's text; install it, or put back the old. */
static int msr_safe_allowlist_finish(struct msr_safe_allowlist_file *f)
{
	struct msr_safe_allowlist *list;
	int err;

	err = msr_safe_allowlist_parse(f->text, f->len, &list);
	if (!err) {
		f->chunk_pending = false;
		msr_safe_allowlist_install(f, list);
	}
	msr_safe_allowlist_text_end(f, err != 0);
	return err;
}

/*
 * After a full chunk more text may follow, and the chunk may end inside a
 * number ("0x10" cut to "0x1" is a valid, different number): install only
 * its complete lines, and only if they hold entries (a blank or comment
 * prefix neither clears the list nor is an error yet).
 */
static int msr_safe_allowlist_partial(struct msr_safe_allowlist_file *f)
{
	struct msr_safe_allowlist *list;
	size_t len = f->len;
	int err;

	while (len && f->text[len - 1] != '\n')
		len--;
	if (!len)
		return 0;
	err = msr_safe_allowlist_parse(f->text, len, &list);
	if (err == -ENOMSG)
		return 0;
	if (err)
		return err;
	if (!list)
		return 0;
	msr_safe_allowlist_install(f, list);
	return 0;
}

/* Append @count bytes from @buf to the descriptor's text. */
static int msr_safe_allowlist_append(struct msr_safe_allowlist_file *f,
				     const char __user *buf, size_t count)
{
	char *text;

	if (f->len + count > MSR_SAFE_AL_TEXT_TOTAL)
		return -E2BIG;
	text = kvmalloc(f->len + count, GFP_KERNEL_ACCOUNT);
	if (!text)
		return -ENOMEM;
	if (copy_from_user(text + f->len, buf, count)) {
		kvfree(text);
		return -EFAULT;
	}
	if (f->len)
		memcpy(text, f->text, f->len);
	kvfree(f->text);
	f->text = text;
	f->len += count;
	return 0;
}

/*
 * A write is a whole list, installed (or refused) by that write, unless
 * the descriptor's previous write was a full MSR_SAFE_AL_CHUNK: then it
 * continues that text.  A full chunk installs its complete lines at once
 * (so a single write of a 128 KiB list acts at that write) and keeps the
 * rest pending; the first shorter write, or close(2), ends the text: all
 * of it is parsed and installed, or refused with the list that was live
 * before the text began put back, the error going to that write or close.
 */
static ssize_t msr_safe_allowlist_write(struct file *file,
					const char __user *buf, size_t count,
					loff_t *ppos)
{
	struct seq_file *m = file->private_data;
	struct msr_safe_allowlist_file *f = m->private;
	int err;

	err = msr_safe_recheck(file, MAY_WRITE);
	if (err)
		return err;
	if (!capable(CAP_SYS_RAWIO))
		return -EPERM;
	/* Nothing to parse, nothing to change: not even a "clear". */
	if (!count)
		return 0;

	mutex_lock(&f->lock);
	if (!f->chunk_pending)
		msr_safe_allowlist_text_end(f, false);
	if (count > AL_TEXT_MAX) {
		err = -E2BIG;
		goto fail;
	}
	err = msr_safe_allowlist_append(f, buf, count);
	if (err)
		goto fail;
	if (count == MSR_SAFE_AL_CHUNK) {
		f->chunk_pending = true;
		err = msr_safe_allowlist_partial(f);
		if (err)
			goto fail;
	} else {
		err = msr_safe_allowlist_finish(f);
	}
	mutex_unlock(&f->lock);
	return err ? err : count;

fail:
	msr_safe_allowlist_text_end(f, true);
	mutex_unlock(&f->lock);
	return err;
}

/* close(2) of a text that ended with a full chunk: finish it here. */
static int msr_safe_allowlist_flush(struct file *file, fl_owner_t id)
{
	struct seq_file *m = file->private_data;
	struct msr_safe_allowlist_file *f = m->private;
	int err = 0;

	mutex_lock(&f->lock);
	if (f->chunk_pending)
		err = msr_safe_allowlist_finish(f);
	mutex_unlock(&f->lock);
	return err;
}

/*
 * Readers see a private copy taken when they read from offset 0, so a
 * list installed halfway through a read cannot tear its output.
 */
static int msr_safe_allowlist_snapshot(struct msr_safe_allowlist_file *r)
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
	struct msr_safe_allowlist_file *r = m->private;
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
	struct msr_safe_allowlist_file *r = m->private;

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
	struct msr_safe_allowlist_file *f;
	int err;

	err = seq_open_private(file, &msr_safe_allowlist_seq_ops, sizeof(*f));
	if (err)
		return err;
	f = ((struct seq_file *)file->private_data)->private;
	mutex_init(&f->lock);
	return 0;
}

static int msr_safe_allowlist_release(struct inode *inode, struct file *file)
{
	struct seq_file *m = file->private_data;
	struct msr_safe_allowlist_file *r = m->private;

	/* flush() finished any text; drop what a failed flush left. */
	msr_safe_allowlist_text_end(r, true);
	mutex_destroy(&r->lock);
	kvfree(r->entries);
	return seq_release_private(inode, file);
}

static const struct file_operations msr_safe_allowlist_fops = {
	.owner = THIS_MODULE,
	.open = msr_safe_allowlist_open,
	.read = msr_safe_allowlist_read,
	.write = msr_safe_allowlist_write,
	.flush = msr_safe_allowlist_flush,
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
