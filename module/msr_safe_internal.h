/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Internal interfaces between the files of msr-safe.ko.
 *
 * msr_safe_main.c      module init/exit, device class, version device,
 *                      denial counters, the access re-check
 * msr_safe_access.c    running MSR operations on the CPU they target
 * msr_safe_allowlist.c the live allowlist and /dev/cpu/msr_allowlist
 * msr_safe_cpu.c       /dev/cpu/N/msr_safe and CPU hotplug
 * msr_safe_batch.c     /dev/cpu/msr_batch
 */
#ifndef MSR_SAFE_INTERNAL_H
#define MSR_SAFE_INTERNAL_H

#include <linux/types.h>
#include "msr_safe.h"

struct class;
struct file;

/* Device names under /sys/class/msr_safe; nodes go to /dev/cpu/. */
#define MSR_SAFE_BATCH_NAME	"msr_batch"
#define MSR_SAFE_ALLOWLIST_NAME	"msr_allowlist"
#define MSR_SAFE_VERSION_NAME	"msr_safe_version"
#define MSR_SAFE_CPU_NAME	"msr_safe"

enum msr_safe_counter {
	MSR_SAFE_DENIED_NOT_ALLOWLISTED,
	MSR_SAFE_DENIED_READ_ONLY,
	MSR_SAFE_DENIED_OFFLINE_CPU,
	MSR_SAFE_FAULTS,
	MSR_SAFE_NR_COUNTERS
};

void msr_safe_count(enum msr_safe_counter counter);
int msr_safe_recheck(struct file *file, int may);

/* Major of the per-CPU devices, for the class's devnode callback. */
extern unsigned int msr_safe_cpu_major;

/*
 * Allowlist lookups.  Callers hold rcu_read_lock() from
 * msr_safe_allowlist_get() until their last msr_safe_allowlist_find().
 */
struct msr_safe_allowlist;
const struct msr_safe_allowlist *msr_safe_allowlist_get(void);
bool msr_safe_allowlist_find(const struct msr_safe_allowlist *list, u32 msr,
			     u64 *wmask);

/*
 * Run one operation on the calling CPU: op->err, op->msrdata filled in.
 * A write merges op->msrdata under op->wmask with the current value; with
 * mask 0 it succeeds, writing nothing, only if op->msrdata equals the
 * current value, and is -EROFS otherwise.
 */
void msr_safe_exec_local(struct msr_batch_op *op);
/* Run one operation on @cpu; -ENXIO when that CPU is offline. */
int msr_safe_exec_on(unsigned int cpu, struct msr_batch_op *op);

int msr_safe_allowlist_init(struct class *class);
void msr_safe_allowlist_exit(void);
int msr_safe_batch_init(struct class *class);
void msr_safe_batch_exit(void);
int msr_safe_cpu_init(struct class *class);
void msr_safe_cpu_exit(void);

#endif /* MSR_SAFE_INTERNAL_H */
