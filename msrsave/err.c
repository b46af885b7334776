// SPDX-License-Identifier: GPL-2.0-only
/* Error messages and the meaning of device errnos in words. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "msrsave.h"

int msr_err_set(struct msr_err *e, int rc, const char *fmt, ...)
{
	va_list ap;

	if (e) {
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return rc;
}

const char *msr_op_strerror(int err)
{
	switch (err < 0 ? -err : err) {
	case 0:
		return "success";
	case EACCES:
		return "not in the allowlist";
	case EROFS:
		return "read-only (write mask is 0 in the allowlist)";
	case ENXIO:
		return "CPU offline or absent";
	case EIO:
		return "the MSR access faulted (rdmsr/wrmsr failed)";
	case EBUSY:
		return "device busy";
	case EFAULT:
		return "bad address passed to the device";
	case EINVAL:
		return "invalid request";
	case E2BIG:
		return "too many operations in one batch";
	case ENOTTY:
		return "not an msr-safe batch device";
	case ENOPROTOOPT:
		return "the module refuses this client version";
	case EPERM:
		return "operation not permitted (needs root or device access)";
	case ENOENT:
		return "no such device";
	case ENODATA:
		return "no value recorded";
	case ENOMEM:
		return "out of memory";
	default:
		return strerror(err < 0 ? -err : err);
	}
}
