/* SPDX-License-Identifier: GPL-2.0-only */
/* The old-layout batch client (old_client.c), compiled apart from msr_safe.h.
 */
#ifndef MSR_VM_OLD_CLIENT_H
#define MSR_VM_OLD_CLIENT_H

#include <stdint.h>

/* One op through the old {numops, <padding>, ops} layout; 0 or -errno. */
int old_client_op(int fd, int cpu, uint32_t msr, int isread, uint64_t *value,
		  uint64_t *wmask, int *op_err);
/* The same with @pad in the four padding bytes, as garbage would be. */
int old_client_op_pad(int fd, int cpu, uint32_t msr, int isread,
		      uint64_t *value, uint64_t *wmask, int *op_err,
		      uint32_t pad);
/* The ioctl number that layout yields (must equal X86_IOC_MSR_BATCH). */
unsigned long old_client_ioctl_number(void);

#endif
