// SPDX-License-Identifier: GPL-2.0-only
/*
 * msr-safe VM suite (see suite.h): denial counters and the access re-check on
 * open fds.
 */
#include "suite.h"

void t_counters(struct suite *s)
{
	struct msr_batch_op ops[8];
	uint64_t c0[NCOUNTERS], v;
	int rc;

	for (int i = 0; i < NCOUNTERS; i++) {
		char path[128];
		struct stat st;

		snprintf(path, sizeof(path), SYS_COUNTERS "/%s",
			 counter_names[i]);
		rc = stat(path, &st) < 0 ? -errno : 0;
		if (check_rc(s, 0, rc, "counters: %s exists", path))
			check_long(s, 0, st.st_mode & 0222,
				   "counters: %s is read-only",
				   counter_names[i]);
	}
	rc = al_install(test_list);
	check_rc(s, 0, rc, "counters: install the test list");
	if (!counters_read(s, c0, "counters"))
		return;
	/* per-CPU: 3 unlisted reads, 1 unlisted write, 2 read-only writes */
	for (int i = 0; i < 3; i++)
		cpu_rd(s->cpus[0], MSR_UNLISTED + (uint32_t)i, &v);
	cpu_wr(s->cpus[0], MSR_UNLISTED, 0);
	cpu_wr(s->cpus[0], MSR_MCG_CAP, 0);
	cpu_wr(s->cpus[s->ncpus - 1], MSR_APIC_BASE, 0);
	/* allowed ops count nothing */
	cpu_rd(s->cpus[0], MSR_MC0_ADDR, &v);
	counters_expect(s, c0, (uint64_t[]){4, 2, 0, 0}, "counters per-CPU");

	if (!counters_read(s, c0, "counters"))
		return;
	op_set(&ops[0], s->cpus[0], MSR_UNLISTED, true, 0);
	op_set(&ops[1], s->cpus[0], MSR_MC0_ADDR, true, 0);
	op_set(&ops[2], s->cpus[s->ncpus - 1], 0x10, true, 0);
	op_set(&ops[3], s->cpus[0], MSR_MCG_CAP, false, 0);
	op_set(&ops[4], s->cpus[0], 0x12345678, false, 0);
	op_set(&ops[5], s->cpus[s->ncpus - 1], MSR_APIC_BASE, false, 0);
	op_set(&ops[6], s->cpus[0], MSR_MC0_MISC, true, 0);
	rc = batch_run(ops, 7);
	check_rc(s, -EACCES, rc, "counters: mixed batch returns EACCES");
	counters_expect(s, c0, (uint64_t[]){3, 2, 0, 0}, "counters batch");
	/* An op on a CPU that does not exist is an offline-CPU denial. */
	if (!counters_read(s, c0, "counters"))
		return;
	op_set(&ops[0], ABSENT_CPU, MSR_MC0_ADDR, true, 0);
	rc = batch_run(ops, 1);
	check_rc(s, -ENXIO, rc, "counters: absent CPU batch is ENXIO");
	{
		uint64_t c1[NCOUNTERS];

		if (counters_read(s, c1, "counters"))
			check_u64(s, 1, c1[2] - c0[2],
				  "counters: an absent CPU counts as offline");
	}
}

void recheck_child(int cpu, gid_t gid, int to_parent, int from_parent)
{
	struct recheck_result r;
	uint64_t v;
	int pfd, bfd,
	    *slots[3][2] = {{&r.percpu_chmod, &r.batch_chmod},
			    {&r.percpu_chgrp, &r.batch_chgrp},
			    {&r.percpu_after, &r.batch_after}};
	char go;

	memset(&r, 0x7f, sizeof(r));
	if (drop_privileges(gid))
		_exit(2);
	pfd = cpu_open(cpu, O_RDWR);
	bfd = open(BATCH_DEV, O_RDWR | O_CLOEXEC);
	r.percpu_before = pfd < 0 ? pfd : fd_rd(pfd, MSR_MC0_ADDR, &v);
	r.batch_before =
	    bfd < 0 ? -errno : batch_fd_read1(bfd, cpu, MSR_MC0_ADDR);
	for (int step = 0; step < 3; step++) {
		if (write(to_parent, "r", 1) != 1 ||
		    read(from_parent, &go, 1) != 1)
			_exit(3);
		*slots[step][0] = pfd < 0 ? pfd : fd_rd(pfd, MSR_MC0_ADDR, &v);
		*slots[step][1] =
		    bfd < 0 ? bfd : batch_fd_read1(bfd, cpu, MSR_MC0_ADDR);
	}
	if (write(to_parent, &r, sizeof(r)) != (ssize_t)sizeof(r))
		_exit(4);
	_exit(0);
}

int wait_child(int to_child, int from_child)
{
	char c;

	if (read(from_child, &c, 1) != 1)
		return -EPIPE;
	(void)to_child;
	return 0;
}

void t_recheck(struct suite *s, bool recheck)
{
	int cpu = s->cpus[0], up[2], down[2], status = 0, rootfd, rc;
	char path[64], what[64];
	struct recheck_result r;
	uint64_t v;
	pid_t pid;

	snprintf(what, sizeof(what), "recheck_access=%d", recheck);
	rc = set_param("recheck_access", recheck ? "1\n" : "0\n");
	check_rc(s, 0, rc, "%s: set the parameter", what);
	rc = al_install(test_list);
	check_rc(s, 0, rc, "%s: install the test list", what);
	rc = udev_apply(s);
	check_rc(s, 0, rc, "%s: udev modes", what);
	cpu_path(cpu, path, sizeof(path));
	if (pipe(up) || pipe(down)) {
		check(s, false, strerror(errno), "%s: pipes", what);
		return;
	}
	pid = fork();
	if (pid == 0) {
		close(up[0]);
		close(down[1]);
		recheck_child(cpu, s->gid, up[1], down[0]);
	}
	close(up[1]);
	close(down[0]);
	rootfd = cpu_open(cpu, O_RDWR);
	/* step 1: chmod 0600 */
	rc = wait_child(down[1], up[0]);
	chmod(path, 0600);
	chmod(BATCH_DEV, 0600);
	if (write(down[1], "g", 1) != 1)
		rc = -EPIPE;
	/* step 2: back to 0660 but the group taken away */
	rc = rc ? rc : wait_child(down[1], up[0]);
	chmod(path, 0660);
	chmod(BATCH_DEV, 0660);
	chown(path, 0, 0);
	chown(BATCH_DEV, 0, 0);
	rc = rc ? rc : (fd_rd(rootfd, MSR_MC0_ADDR, &v) ? -EIO : 0);
	if (write(down[1], "g", 1) != 1)
		rc = -EPIPE;
	/* step 3: as udev set it */
	rc = rc ? rc : wait_child(down[1], up[0]);
	udev_apply(s);
	if (write(down[1], "g", 1) != 1)
		rc = -EPIPE;
	if (!rc && read(up[0], &r, sizeof(r)) != (ssize_t)sizeof(r))
		rc = -EPIPE;
	waitpid(pid, &status, 0);
	close(up[0]);
	close(down[1]);
	check_rc(s, 0, rc, "%s: child ran all steps (status %d)", what, status);
	if (rc)
		return;
	check_rc(s, 0, r.percpu_before, "%s: group member reads per-CPU", what);
	check_rc(s, 0, r.batch_before, "%s: group member runs a batch", what);
	check_rc(s, recheck ? -EACCES : 0, r.percpu_chmod,
		 "%s: already-open per-CPU fd after chmod 0600", what);
	check_rc(s, recheck ? -EACCES : 0, r.batch_chmod,
		 "%s: already-open batch fd after chmod 0600", what);
	check_rc(s, recheck ? -EACCES : 0, r.percpu_chgrp,
		 "%s: already-open per-CPU fd after chgrp root", what);
	check_rc(s, recheck ? -EACCES : 0, r.batch_chgrp,
		 "%s: already-open batch fd after chgrp root", what);
	check_rc(s, 0, r.percpu_after, "%s: per-CPU fd works again", what);
	check_rc(s, 0, r.batch_after, "%s: batch fd works again", what);
	if (rootfd >= 0) {
		chmod(path, 0600);
		rc = fd_rd(rootfd, MSR_MC0_ADDR, &v);
		check_rc(s, 0, rc,
			 "%s: root's open fd keeps access after chmod 0600",
			 what);
		udev_apply(s);
		close(rootfd);
	}
	rc = set_param("recheck_access", "1\n");
	check_rc(s, 0, rc, "%s: parameter back to 1", what);
}
