/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The tiny shim that lets allowlist.c build freestanding: the kernel's
 * types and errno values in the module, their libc twins in userspace.
 */
#ifndef MSR_SAFE_AL_SHIM_H
#define MSR_SAFE_AL_SHIM_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/errno.h>
#else
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
typedef uint32_t u32;
typedef uint64_t u64;
#endif

#endif /* MSR_SAFE_AL_SHIM_H */
