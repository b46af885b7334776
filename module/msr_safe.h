/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/*
 * msr-safe userspace ABI: the batch ioctl and the version encoding.
 *
 * This layout is a compatibility contract with existing clients (GEOPM,
 * Variorum, LIKWID, upstream msrsave): keep it bit-for-bit on x86_64.
 * Usable from the kernel and from userspace.
 */
#ifndef _UAPI_MSR_SAFE_H
#define _UAPI_MSR_SAFE_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define MSR_SAFE_VERSION_MAJOR 1
#define MSR_SAFE_VERSION_MINOR 9
#define MSR_SAFE_VERSION_PATCH 0
#define MSR_SAFE_VERSION_STR "1.9.0"

#define MSR_SAFE_VERSION_u32                                       \
	((MSR_SAFE_VERSION_MAJOR << 16) | (MSR_SAFE_VERSION_MINOR << 8) | \
	 MSR_SAFE_VERSION_PATCH)
#define MSR_SAFE_VERSION_MAJOR_OF(v) (((v) >> 16) & 0xffff)

struct msr_batch_op {
	__u16 cpu;     /* in: logical CPU */
	__u16 isrdmsr; /* in: 0 = write, non-zero = read */
	__s32 err;     /* out: 0 or a negative errno for this op */
	__u32 msr;     /* in: MSR address */
	__u64 msrdata; /* in/out: value written / value read */
	__u64 wmask;   /* out: write mask applied */
};

struct msr_batch_array {
	__u32 numops;  /* in: number of ops */
	__u32 version; /* in: client's MSR_SAFE_VERSION_u32, or 0 */
	struct msr_batch_op *ops;
};

#define X86_IOC_MSR_BATCH _IOWR('c', 0xA2, struct msr_batch_array)

#endif /* _UAPI_MSR_SAFE_H */
