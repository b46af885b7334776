/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A batch client as GEOPM and Variorum are compiled: the array struct has
 * only numops and the ops pointer, so the compiler leaves four bytes of
 * padding where msr_safe.h now has `version`.  Deliberately does not
 * include msr_safe.h: the point is that a separately compiled old layout
 * keeps working.
 */
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <sys/ioctl.h>

#include "old_client.h"

struct old_batch_op {
	uint16_t cpu;
	uint16_t isrdmsr;
	int32_t err;
	uint32_t msr;
	uint64_t msrdata;
	uint64_t wmask;
};

struct old_batch_array {
	uint32_t numops;
	struct old_batch_op *ops;
};

#define OLD_IOC_MSR_BATCH _IOWR('c', 0xA2, struct old_batch_array)

_Static_assert(sizeof(struct old_batch_array) == 16, "old layout is 16 bytes");

int old_client_op(int fd, int cpu, uint32_t msr, int isread, uint64_t *value,
		  uint64_t *wmask, int *op_err)
{
	/* Careful old clients zero the struct, padding included. */
	return old_client_op_pad(fd, cpu, msr, isread, value, wmask, op_err, 0);
}

int old_client_op_pad(int fd, int cpu, uint32_t msr, int isread,
		      uint64_t *value, uint64_t *wmask, int *op_err,
		      uint32_t pad)
{
	struct old_batch_op op;
	struct old_batch_array arr;
	int rc;

	/*
	 * Others (upstream's example at -O2, GEOPM) leave stack or heap
	 * garbage in the padding: @pad stands for it.
	 */
	memset(&arr, 0, sizeof(arr));
	memcpy((char *)&arr + sizeof(arr.numops), &pad, sizeof(pad));
	memset(&op, 0, sizeof(op));
	op.cpu = (uint16_t)cpu;
	op.isrdmsr = isread ? 1 : 0;
	op.msr = msr;
	op.msrdata = isread ? 0 : *value;
	arr.numops = 1;
	arr.ops = &op;
	rc = ioctl(fd, OLD_IOC_MSR_BATCH, &arr);
	*op_err = op.err;
	*value = op.msrdata;
	*wmask = op.wmask;
	return rc < 0 ? -errno : 0;
}

unsigned long old_client_ioctl_number(void)
{
	return OLD_IOC_MSR_BATCH;
}
