// SPDX-License-Identifier: GPL-2.0-only
/*
 * Running MSR operations on the CPU they target.
 *
 * Every operation runs on its target CPU, whether it comes from a per-CPU
 * device or from a batch.  A write needs the register's current value to
 * keep the bits outside the write mask, so the read and the write happen
 * together there, in one cross-CPU call.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/moduleparam.h>
#include <linux/smp.h>
#include <asm/msr.h>

#include "msr_safe_internal.h"

#ifdef MSR_SAFE_FAULT_INJECT
/*
 * Test-only: make rdmsr/wrmsr of one address fail as a #GP would, since
 * an emulator never faults.  Built only with MSR_SAFE_FAULT_INJECT=1.
 */
static unsigned int inject_eio_msr;
module_param(inject_eio_msr, uint, 0644);
MODULE_PARM_DESC(inject_eio_msr,
		 "Test only: rdmsr/wrmsr of this address fail with EIO (0 = off)");

static bool inject_eio_writes_only;
module_param(inject_eio_writes_only, bool, 0644);
MODULE_PARM_DESC(inject_eio_writes_only,
		 "Test only: inject_eio_msr fails writes only, not reads");

static bool msr_safe_inject_eio(u32 msr, bool write)
{
	u32 target = READ_ONCE(inject_eio_msr);

	if (!target || msr != target)
		return false;
	return write || !READ_ONCE(inject_eio_writes_only);
}
#else
static inline bool msr_safe_inject_eio(u32 msr, bool write)
{
	return false;
}
#endif

static int msr_safe_rdmsr(u32 msr, u64 *val)
{
	if (msr_safe_inject_eio(msr, false))
		return -EIO;
	return rdmsrl_safe(msr, val) ? -EIO : 0;
}

static int msr_safe_wrmsr(u32 msr, u64 val)
{
	if (msr_safe_inject_eio(msr, true))
		return -EIO;
	return wrmsrl_safe(msr, val) ? -EIO : 0;
}

void msr_safe_exec_local(struct msr_batch_op *op)
{
	u64 cur = 0;
	u64 val;
	int err;

	if (op->isrdmsr) {
		err = msr_safe_rdmsr(op->msr, &val);
		if (!err)
			op->msrdata = val;
	} else if (!op->wmask) {
		/*
		 * A read-only register takes only the value it holds, and
		 * then wrmsr is skipped: a tool may "clear" a control that
		 * is clear (LIKWID writes 0 to IA32_PEBS_ENABLE) without
		 * being able to set one bit of it.
		 */
		err = msr_safe_rdmsr(op->msr, &cur);
		if (!err && cur != op->msrdata) {
			op->err = -EROFS;
			msr_safe_count(MSR_SAFE_DENIED_READ_ONLY);
			return;
		}
	} else {
		/*
		 * A full mask replaces every bit: skip the read, which also
		 * keeps write-only registers writable.
		 */
		err = 0;
		if (op->wmask != ~0ULL)
			err = msr_safe_rdmsr(op->msr, &cur);
		if (!err) {
			val = (op->msrdata & op->wmask) | (cur & ~op->wmask);
			err = msr_safe_wrmsr(op->msr, val);
		}
	}
	op->err = err;
	if (err)
		msr_safe_count(MSR_SAFE_FAULTS);
}

static void msr_safe_exec_ipi(void *info)
{
	msr_safe_exec_local(info);
}

int msr_safe_exec_on(unsigned int cpu, struct msr_batch_op *op)
{
	int err;

	err = smp_call_function_single(cpu, msr_safe_exec_ipi, op, 1);
	if (err)
		return err;
	return op->err;
}
