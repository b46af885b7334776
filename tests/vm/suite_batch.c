// SPDX-License-Identifier: GPL-2.0-only
/*
 * msr-safe VM suite (see suite.h): /dev/cpu/msr_batch, and max_batch_ops.
 */
#include "suite.h"

void t_batch(struct suite *s)
{
	struct msr_batch_op ops[4 * MAX_CPUS + 8], op;
	struct saved_msrs sv;
	uint64_t v, misc_old[MAX_CPUS];
	size_t n = 0;
	int rc, fd;

	if (!save_msrs(s, &sv))
		return;
	rc = al_install(test_list);
	check_rc(s, 0, rc, "batch: install the test list");

	/* Write MC0_ADDR everywhere, then read it and the others back. */
	for (int i = 0; i < s->ncpus; i++)
		op_set(&ops[n++], s->cpus[i], MSR_MC0_ADDR, false,
		       pattern(s->cpus[i], 2));
	rc = batch_run(ops, (uint32_t)n);
	check_rc(s, 0, rc, "batch: write MC0_ADDR on all %d CPUs", s->ncpus);
	check_long(s, 0, count_bad_ops(ops, n, 0),
		   "batch: every write op reports err 0");
	n = 0;
	for (int i = 0; i < s->ncpus; i++) {
		op_set(&ops[n++], s->cpus[i], MSR_MC0_ADDR, true, 0);
		op_set(&ops[n++], s->cpus[i], MSR_MC0_MISC, true, 0);
		op_set(&ops[n++], s->cpus[i], MSR_TSC_AUX, true, 0);
		op_set(&ops[n++], s->cpus[i], MSR_MCG_CAP, true, 0);
	}
	rc = batch_run(ops, (uint32_t)n);
	check_rc(s, 0, rc, "batch: %zu reads on all CPUs", n);
	check_long(s, 0, count_bad_ops(ops, n, 0),
		   "batch: every read op reports err 0");
	for (int i = 0; i < s->ncpus; i++) {
		int c = s->cpus[i];
		struct msr_batch_op *o = &ops[4 * i];

		check_u64(s, pattern(c, 2), o[0].msrdata,
			  "batch cpu%d: MC0_ADDR read back", c);
		check_u64(s, MASK_ADDR, o[0].wmask,
			  "batch cpu%d: wmask of MC0_ADDR", c);
		check_u64(s, MASK_MISC, o[1].wmask,
			  "batch cpu%d: wmask of MC0_MISC", c);
		check_u64(s, MASK_TSC_AUX, o[2].wmask,
			  "batch cpu%d: wmask of TSC_AUX", c);
		check_u64(s, 0, o[3].wmask, "batch cpu%d: wmask of MCG_CAP", c);
		misc_old[i] = o[1].msrdata;
		rc = cpu_rd(c, MSR_TSC_AUX, &v);
		check_u64(s, v, o[2].msrdata,
			  "batch cpu%d: TSC_AUX equals the per-CPU read", c);
	}
	/* Masked writes across CPUs. */
	n = 0;
	for (int i = 0; i < s->ncpus; i++)
		op_set(&ops[n++], s->cpus[i], MSR_MC0_MISC, false,
		       ~misc_old[i]);
	rc = batch_run(ops, (uint32_t)n);
	check_rc(s, 0, rc, "batch: masked MC0_MISC writes");
	for (int i = 0; i < s->ncpus; i++) {
		check_u64(s, MASK_MISC, ops[i].wmask,
			  "batch cpu%d: write op reports wmask", s->cpus[i]);
		v = 0;
		rc = cpu_rd(s->cpus[i], MSR_MC0_MISC, &v);
		check_u64(
		    s, (~misc_old[i] & MASK_MISC) | (misc_old[i] & ~MASK_MISC),
		    v, "batch cpu%d: MC0_MISC changed in the mask only",
		    s->cpus[i]);
	}

	/* Per-op refusals; the call returns the first one in array order. */
	n = 0;
	op_set(&ops[n++], s->cpus[0], MSR_MC0_ADDR, true, 0);
	op_set(&ops[n++], s->cpus[0], MSR_MCG_CAP, false, 0);
	op_set(&ops[n++], s->cpus[0], MSR_UNLISTED, true, 0);
	op_set(&ops[n++], s->cpus[0], MSR_UNLISTED, false, 0);
	op_set(&ops[n++], s->cpus[s->ncpus - 1], MSR_MC0_ADDR, false,
	       UINT64_C(0x600df00d));
	rc = batch_run(ops, (uint32_t)n);
	check_rc(s, -EROFS, rc, "batch: call returns the first error (EROFS)");
	check_rc(s, 0, ops[0].err, "batch: good read before refusals runs");
	check_u64(s, pattern(s->cpus[0], 2), ops[0].msrdata,
		  "batch: good read before refusals has the value");
	check_rc(s, -EROFS, ops[1].err, "batch: write to mask-0 MSR is EROFS");
	check_rc(s, -EACCES, ops[2].err,
		 "batch: read of unlisted MSR is EACCES");
	check_rc(s, -EACCES, ops[3].err,
		 "batch: write of unlisted MSR is EACCES");
	check_rc(s, 0, ops[4].err, "batch: good write after refusals runs");
	rc = cpu_rd(s->cpus[s->ncpus - 1], MSR_MC0_ADDR, &v);
	check_u64(s, UINT64_C(0x600df00d), v,
		  "batch: good write after refusals took effect");
	cpu_wr(s->cpus[s->ncpus - 1], MSR_MC0_ADDR,
	       pattern(s->cpus[s->ncpus - 1], 2));
	op_set(&ops[0], s->cpus[0], MSR_UNLISTED, true, 0);
	op_set(&ops[1], s->cpus[0], MSR_MCG_CAP, false, 0);
	rc = batch_run(ops, 2);
	check_rc(s, -EACCES, rc,
		 "batch: call returns the first error (EACCES)");

	/* Ops on one CPU run in array order: each read sees the write
	 * before it, even with another CPU's ops in between. */
	{
		int c0 = s->cpus[0], c1 = s->cpus[s->ncpus - 1];

		op_set(&ops[0], c0, MSR_MC0_ADDR, false, 0xa1);
		op_set(&ops[1], c1, MSR_MC0_ADDR, false, 0xb1);
		op_set(&ops[2], c0, MSR_MC0_ADDR, true, 0);
		op_set(&ops[3], c0, MSR_MC0_ADDR, false, 0xa2);
		op_set(&ops[4], c1, MSR_MC0_ADDR, true, 0);
		op_set(&ops[5], c0, MSR_MC0_ADDR, true, 0);
		rc = batch_run(ops, 6);
		check_rc(s, 0, rc, "batch: interleaved writes and reads");
		check_u64(s, c0 == c1 ? 0xb1 : 0xa1, ops[2].msrdata,
			  "batch: read after the first write sees it");
		check_u64(s, 0xb1, ops[4].msrdata,
			  "batch: the other CPU's read sees its own write");
		check_u64(s, 0xa2, ops[5].msrdata,
			  "batch: read after the second write sees it");
		for (int i = 0; i < s->ncpus; i++)
			cpu_wr(s->cpus[i], MSR_MC0_ADDR,
			       pattern(s->cpus[i], 2));
	}
	/* The batch ioctl belongs to the batch device only. */
	{
		int pfd = cpu_open(s->cpus[0], O_RDWR);
		struct msr_batch_array arr = {1, MSR_SAFE_VERSION_u32, &op};

		op_set(&op, s->cpus[0], MSR_MC0_ADDR, true, 0);
		rc = pfd < 0 ? pfd
			     : (ioctl(pfd, X86_IOC_MSR_BATCH, &arr) < 0 ? -errno
									: 0);
		check_rc(s, -ENOTTY, rc,
			 "batch: the ioctl on a per-CPU node is ENOTTY");
		if (pfd >= 0)
			close(pfd);
	}
	/* Absent CPUs. */
	op_set(&ops[0], s->cpus[0], MSR_MC0_ADDR, true, 0);
	op_set(&ops[1], ABSENT_CPU, MSR_MC0_ADDR, true, 0);
	op_set(&ops[2], s->max_possible + 1, MSR_MC0_ADDR, true, 0);
	op_set(&ops[3], 0xffff, MSR_MC0_ADDR, false, 0);
	rc = batch_run(ops, 4);
	check_rc(s, -ENXIO, rc, "batch: absent CPU gives ENXIO");
	check_rc(s, 0, ops[0].err, "batch: op on a present CPU still runs");
	check_rc(s, -ENXIO, ops[1].err, "batch: op on cpu %d is ENXIO",
		 ABSENT_CPU);
	check_rc(s, -ENXIO, ops[2].err,
		 "batch: op on cpu %d (one past possible) is ENXIO",
		 s->max_possible + 1);
	check_rc(s, -ENXIO, ops[3].err,
		 "batch: write op on cpu 65535 is ENXIO");

	/* Call errors. */
	op_set(&op, s->cpus[0], MSR_MC0_ADDR, true, 0);
	rc = batch_run(&op, 0);
	check_rc(s, -EINVAL, rc, "batch: numops 0 is EINVAL");
	fd = open(BATCH_DEV, O_RDWR | O_CLOEXEC);
	if (check(s, fd >= 0, "open failed", "batch: open " BATCH_DEV)) {
		struct msr_batch_array arr = {1, MSR_SAFE_VERSION_u32,
					      (struct msr_batch_op *)16};

		rc = ioctl(fd, X86_IOC_MSR_BATCH, &arr) < 0 ? -errno : 0;
		check_rc(s, -EFAULT, rc, "batch: ops pointer 0x10 is EFAULT");
		arr.ops =
		    (struct msr_batch_op *)(uintptr_t)0xffff800000000000ull;
		rc = ioctl(fd, X86_IOC_MSR_BATCH, &arr) < 0 ? -errno : 0;
		check_rc(s, -EFAULT, rc,
			 "batch: kernel-space ops pointer is EFAULT");
		rc = ioctl(fd, X86_IOC_MSR_BATCH, (void *)8) < 0 ? -errno : 0;
		check_rc(s, -EFAULT, rc, "batch: array pointer 0x8 is EFAULT");
		rc = ioctl(fd, _IOWR('c', 0xA3, struct msr_batch_array), &arr) <
			     0
			 ? -errno
			 : 0;
		check_rc(s, -ENOTTY, rc, "batch: unknown ioctl 0xA3 is ENOTTY");
		rc = ioctl(fd, _IO('c', 0xA2), 0) < 0 ? -errno : 0;
		check_rc(s, -ENOTTY, rc, "batch: _IO('c',0xA2) is ENOTTY");

		/* Versions. */
		op_set(&op, s->cpus[0], MSR_MC0_ADDR, true, 0);
		rc = batch_fd_run(fd, &op, 1, 0);
		check_rc(s, 0, rc, "batch: version 0 accepted");
		check_u64(s, pattern(s->cpus[0], 2), op.msrdata,
			  "batch: version 0 op read the value");
		op_set(&op, s->cpus[0], MSR_MC0_ADDR, true, 0);
		rc = batch_fd_run(fd, &op, 1, MSR_SAFE_VERSION_u32);
		check_rc(s, 0, rc, "batch: own version 0x%x accepted",
			 MSR_SAFE_VERSION_u32);
		op_set(&op, s->cpus[0], MSR_MC0_ADDR, true, 0);
		rc =
		    batch_fd_run(fd, &op, 1, (1u << 16) | (0xffu << 8) | 0xffu);
		check_rc(s, 0, rc,
			 "batch: version 1.255.255 (same major) accepted");
		op_set(&op, s->cpus[0], MSR_MC0_ADDR, true, 0);
		rc = batch_fd_run(fd, &op, 1, 1u << 16);
		check_rc(s, 0, rc, "batch: version 1.0.0 accepted");
		op_set(&op, s->cpus[0], MSR_MC0_ADDR, false, 0x1111);
		rc = batch_fd_run(fd, &op, 1, 2u << 16);
		check_rc(s, -ENOPROTOOPT, rc,
			 "batch: version 2.0.0 is ENOPROTOOPT");
		op_set(&op, s->cpus[0], MSR_MC0_ADDR, false, 0x2222);
		rc = batch_fd_run(fd, &op, 1, 0xdeadbeefu);
		check_rc(s, -ENOPROTOOPT, rc,
			 "batch: version 0xdeadbeef is ENOPROTOOPT");
		rc = cpu_rd(s->cpus[0], MSR_MC0_ADDR, &v);
		check_u64(s, pattern(s->cpus[0], 2), v,
			  "batch: refused versions wrote nothing");

		/* A client built with the old two-field layout. */
		check_u64(s, X86_IOC_MSR_BATCH, old_client_ioctl_number(),
			  "batch: old layout has the same ioctl number");
		for (int i = 0; i < s->ncpus; i++) {
			uint64_t val = 0, wm = 0;
			int operr = OP_SENTINEL;

			rc = old_client_op(fd, s->cpus[i], MSR_MC0_ADDR, 1,
					   &val, &wm, &operr);
			check_rc(s, 0, rc,
				 "batch: old-layout client read on cpu%d",
				 s->cpus[i]);
			check_u64(s, pattern(s->cpus[i], 2), val,
				  "batch: old-layout client got cpu%d's value",
				  s->cpus[i]);
			check_u64(s, MASK_ADDR, wm,
				  "batch: old-layout client got the wmask");
		}
		{
			uint64_t val = UINT64_C(0x0123), wm = 0;
			int operr = OP_SENTINEL;

			rc = old_client_op(fd, s->cpus[0], MSR_MC0_ADDR, 0,
					   &val, &wm, &operr);
			check_rc(s, 0, rc, "batch: old-layout client write");
			rc = cpu_rd(s->cpus[0], MSR_MC0_ADDR, &v);
			check_u64(s, 0x0123, v,
				  "batch: old-layout client write took effect");
		}
		close(fd);
	}
	fd = open(BATCH_DEV, O_WRONLY | O_CLOEXEC);
	if (check(s, fd >= 0, "open failed", "batch: open write-only")) {
		op_set(&op, s->cpus[0], MSR_MC0_ADDR, true, 0);
		rc = batch_fd_run(fd, &op, 1, MSR_SAFE_VERSION_u32);
		check_rc(s, -EBADF, rc, "batch: write-only fd is EBADF");
		check_long(s, OP_SENTINEL, op.err,
			   "batch: EBADF call ran no op");
		close(fd);
	}
	fd = open(BATCH_DEV, O_RDONLY | O_CLOEXEC);
	if (check(s, fd >= 0, "open failed", "batch: open read-only")) {
		op_set(&op, s->cpus[0], MSR_MC0_ADDR, true, 0);
		rc = batch_fd_run(fd, &op, 1, MSR_SAFE_VERSION_u32);
		check_rc(s, 0, rc, "batch: read-only fd may run a batch");
		close(fd);
	}

	/* Too many ops: max_batch_ops + 1, with memory behind every op. */
	{
		uint64_t max = 0;
		size_t nbig;
		struct msr_batch_op *big;

		rc = read_u64_file(SYS_PARAMS "/max_batch_ops", &max);
		check_rc(s, 0, rc, "batch: read max_batch_ops");
		check_u64(s, 131072, max, "batch: max_batch_ops default");
		if (max == 0 || max > (1u << 24))
			max = 131072;
		nbig = (size_t)max + 1;
		big = calloc(nbig, sizeof(*big));
		if (check(s, big != NULL, "calloc failed",
			  "batch: allocate %zu ops", nbig)) {
			for (size_t i = 0; i < nbig; i++)
				op_set(&big[i], s->cpus[0], MSR_MC0_ADDR, true,
				       0);
			rc = batch_run(big, (uint32_t)nbig);
			check_rc(s, -E2BIG, rc,
				 "batch: max_batch_ops+1 ops is E2BIG");
			check_long(s, OP_SENTINEL, big[0].err,
				   "batch: E2BIG call ran no op");
			rc = batch_run(big, UINT32_MAX);
			check_rc(s, -E2BIG, rc, "batch: 2^32-1 ops is E2BIG");
		}
		free(big);
	}
	restore_msrs(s, &sv, "batch: restore");
}

void t_max_batch(struct suite *s)
{
	struct msr_batch_op ops[9];
	int rc;

	if (!reload(s, "max_batch_ops=8", "max_batch_ops=8"))
		return;
	rc = al_install(test_list);
	check_rc(s, 0, rc, "max_batch_ops=8: install the test list");
	for (int i = 0; i < 9; i++)
		op_set(&ops[i], s->cpus[i % s->ncpus], MSR_MC0_ADDR, true, 0);
	rc = batch_run(ops, 8);
	check_rc(s, 0, rc, "max_batch_ops=8: 8 ops run");
	check_long(s, 0, count_bad_ops(ops, 8, 0), "max_batch_ops=8: 8 ops ok");
	rc = batch_run(ops, 9);
	check_rc(s, -E2BIG, rc, "max_batch_ops=8: 9 ops is E2BIG");
	reload(s, "", "max_batch_ops default");
}

/* Unreclaimable slab plus vmalloc, in KiB. */
