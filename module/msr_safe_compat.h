/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One source for Linux 4.18 to today's newest kernel: every kernel API
 * that changed in that range is used through this header.  Which variant
 * a kernel has is decided at build time by compiling a snippet against
 * its headers (probe_kernel_api.sh writes msr_safe_probes.h), not by
 * LINUX_VERSION_CODE, which distribution backports make meaningless.
 */
#ifndef MSR_SAFE_COMPAT_H
#define MSR_SAFE_COMPAT_H

#include <linux/device.h>
#include <linux/fs.h>
#include <linux/mm.h>		/* kvmalloc()/kvfree() before 5.16 */
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/rcupdate.h>
#include <linux/security.h>
#include <linux/sysfs.h>
#include <asm/msr.h>

#include "msr_safe_probes.h"

/* inode_permission() as seen through the file's mount. */
static inline int msr_safe_inode_permission(struct file *file, int may)
{
#if defined(HAVE_FILE_MNT_IDMAP)
	return inode_permission(file_mnt_idmap(file), file_inode(file), may);
#elif defined(HAVE_FILE_MNT_USER_NS)
	return inode_permission(file_mnt_user_ns(file), file_inode(file), may);
#else
	return inode_permission(file_inode(file), may);
#endif
}

/* A macro, not a function: class_create() keeps a lockdep key per caller. */
#ifdef HAVE_CLASS_CREATE_NAME_ONLY
#define msr_safe_class_create(name) class_create(name)
#else
#define msr_safe_class_create(name) class_create(THIS_MODULE, name)
#endif

/* Declares a class devnode callback NAME of the kernel's signature. */
#ifdef HAVE_DEVNODE_CONST_DEVICE
#define MSR_SAFE_DEVNODE(name) char *name(const struct device *dev, umode_t *mode)
#else
#define MSR_SAFE_DEVNODE(name) char *name(struct device *dev, umode_t *mode)
#endif

/* The 6.16 names, on kernels that have only the old ones. */
#ifndef HAVE_RDMSRQ_SAFE
#define rdmsrq_safe(msr, p) rdmsrl_safe(msr, p)
#define wrmsrq_safe(msr, val) wrmsrl_safe(msr, val)
#endif

/* sysfs show callbacks get a PAGE_SIZE buffer. */
#ifndef HAVE_SYSFS_EMIT
#define sysfs_emit(buf, fmt, ...) scnprintf(buf, PAGE_SIZE, fmt, ##__VA_ARGS__)
#endif

#ifndef HAVE_RCU_REPLACE_POINTER
#define rcu_replace_pointer(rcu_ptr, ptr, c)				\
({									\
	typeof(ptr) __msr_safe_old = rcu_dereference_protected(rcu_ptr, c); \
	rcu_assign_pointer(rcu_ptr, ptr);				\
	__msr_safe_old;							\
})
#endif

/*
 * Whether kernel lockdown forbids MSR writes, asked the way the kernel's
 * own msr driver asks.  Kernels with neither interface (mainline before
 * 5.4) have no lockdown to obey.
 */
static inline bool msr_safe_msr_writes_locked_down(void)
{
#if defined(HAVE_LOCKDOWN_MSR)
	return security_locked_down(LOCKDOWN_MSR) != 0;
#elif defined(HAVE_KERNEL_IS_LOCKED_DOWN)
	return kernel_is_locked_down("Direct MSR access");
#else
	return false;
#endif
}

#endif /* MSR_SAFE_COMPAT_H */
