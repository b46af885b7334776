// SPDX-License-Identifier: GPL-2.0-only
/*
 * msr-safe VM suite (see suite.h): the unprivileged run and main().
 */
#include "suite.h"

/* ---- the unprivileged run (uid 65534 in the device group) ------------- */

void u_suite(struct suite *s)
{
	struct msr_batch_op ops[2 * MAX_CPUS];
	uint64_t v, old, c;
	size_t n = 0;
	int rc, fd;

	check_long(s, UNPRIV_UID, (long)geteuid(), "unpriv: running as uid %d",
		   UNPRIV_UID);
	t_version(s);
	for (int i = 0; i < s->ncpus; i++) {
		int cpu = s->cpus[i];
		uint64_t val = UINT64_C(0x0f0f0f0f0f0f0f0f) ^ (uint64_t)cpu;

		fd = cpu_open(cpu, O_RDWR);
		if (!check_rc(s, 0, fd < 0 ? fd : 0,
			      "unpriv cpu%d: open O_RDWR", cpu))
			continue;
		rc = fd_rd(fd, MSR_MC0_ADDR, &old);
		rc = rc ? rc : fd_wr(fd, MSR_MC0_ADDR, val);
		rc = rc ? rc : fd_rd(fd, MSR_MC0_ADDR, &v);
		check_rc(s, 0, rc, "unpriv cpu%d: read and write MC0_ADDR",
			 cpu);
		check_u64(s, val, v, "unpriv cpu%d: MC0_ADDR value", cpu);
		rc = fd_wr(fd, MSR_MC0_ADDR, old);
		check_rc(s, 0, rc, "unpriv cpu%d: restore MC0_ADDR", cpu);
		rc = fd_rd(fd, MSR_MC0_MISC, &old);
		rc = rc ? rc : fd_wr(fd, MSR_MC0_MISC, ~old);
		rc = rc ? rc : fd_rd(fd, MSR_MC0_MISC, &v);
		check_u64(s, (~old & MASK_MISC) | (old & ~MASK_MISC), v,
			  "unpriv cpu%d: masked MC0_MISC write", cpu);
		fd_wr(fd, MSR_MC0_MISC, old);
		rc = fd_rd(fd, MSR_UNLISTED, &v);
		check_rc(s, -EACCES, rc, "unpriv cpu%d: unlisted read", cpu);
		rc = fd_wr(fd, MSR_MCG_CAP, 0);
		check_rc(s, -EACCES, rc, "unpriv cpu%d: read-only write", cpu);
		close(fd);
		op_set(&ops[n++], cpu, MSR_MC0_ADDR, true, 0);
		op_set(&ops[n++], cpu, MSR_MCG_CAP, true, 0);
	}
	rc = batch_run(ops, (uint32_t)n);
	check_rc(s, 0, rc, "unpriv: batch read on all CPUs");
	check_long(s, 0, count_bad_ops(ops, n, 0), "unpriv: every op err 0");
	op_set(&ops[0], s->cpus[0], MSR_MCG_CAP, false, 0);
	rc = batch_run(ops, 1);
	check_rc(s, -EROFS, rc, "unpriv: batch write to read-only is EROFS");

	fd = open(ALLOWLIST_DEV, O_WRONLY | O_CLOEXEC);
	check_rc(s, -EACCES, fd < 0 ? -errno : 0,
		 "unpriv: cannot open the allowlist for writing");
	if (fd >= 0)
		close(fd);
	fd = open(ALLOWLIST_DEV, O_RDONLY | O_CLOEXEC);
	check_rc(s, -EACCES, fd < 0 ? -errno : 0,
		 "unpriv: cannot read the allowlist (root's, 0600)");
	if (fd >= 0)
		close(fd);
	fd = open(SYS_PARAMS "/inject_eio_msr", O_WRONLY | O_CLOEXEC);
	check_rc(s, -EACCES, fd < 0 ? -errno : 0,
		 "unpriv: cannot set inject_eio_msr");
	if (fd >= 0)
		close(fd);
	fd = open(SYS_PARAMS "/recheck_access", O_WRONLY | O_CLOEXEC);
	check_rc(s, -EACCES, fd < 0 ? -errno : 0,
		 "unpriv: cannot turn recheck_access off");
	if (fd >= 0)
		close(fd);
	rc = counter("denied_not_allowlisted", &c);
	check_rc(s, 0, rc, "unpriv: counters are readable");
	rc = delete_module_unpriv_rc();
	check_rc2(s, -EPERM, -EACCES, rc, "unpriv: cannot rmmod");
}

/* ---- main -------------------------------------------------------------- */

/* Run one section and note how long it took (runtime is watched). */
#define TIMED(call)                                           \
	do {                                                  \
		double t0_ = now_s();                         \
		call;                                         \
		note("%s took %.1f s", #call, now_s() - t0_); \
	} while (0)

int usage(void)
{
	fprintf(stderr, "usage: suite --root --ko KO --repo REPO --build BUILD "
			"--scratch DIR"
			" [--gid GID] [--quick]\n"
			"       suite --unpriv --gid GID --repo REPO --build "
			"BUILD --scratch DIR\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct suite s;
	bool quick = false, have_mode = false;
	int possible[MAX_CPUS * 4], np;
	char *text;
	size_t len;

	memset(&s, 0, sizeof(s));
	s.gid = 4242;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--root") || !strcmp(a, "--unpriv")) {
			s.root = !strcmp(a, "--root");
			have_mode = true;
		} else if (!strcmp(a, "--quick")) {
			quick = true;
		} else if (v && !strcmp(a, "--ko")) {
			s.ko = v, i++;
		} else if (v && !strcmp(a, "--repo")) {
			s.repo = v, i++;
		} else if (v && !strcmp(a, "--build")) {
			s.build = v, i++;
		} else if (v && !strcmp(a, "--merged")) {
			s.merged = v, i++;
		} else if (v && !strcmp(a, "--scratch")) {
			s.scratch = v, i++;
		} else if (v && !strcmp(a, "--gid")) {
			s.gid = (gid_t)atoi(v), i++;
		} else {
			return usage();
		}
	}
	if (!have_mode || !s.repo || !s.build || !s.scratch ||
	    (s.root && (!s.ko || !s.build || !s.scratch || !s.merged)))
		return usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	s.bad = bad_page();
	signal(SIGPIPE, SIG_IGN);

	s.ncpus = online_cpus(s.cpus, MAX_CPUS);
	if (!check(&s, s.ncpus > 0, "cannot read", "setup: online CPUs"))
		return 1;
	np = 0;
	if (!read_file("/sys/devices/system/cpu/possible", &text, &len)) {
		np = parse_cpulist(text, possible, MAX_CPUS * 4);
		free(text);
	}
	if (!check(&s, np > 0, "cannot read", "setup: possible CPUs"))
		return 1;
	s.max_possible = possible[np - 1];
	note("%s run: %d online CPUs, highest possible %d",
	     s.root ? "root" : "unprivileged", s.ncpus, s.max_possible);

	if (!s.root) {
		u_suite(&s);
		u_tools(&s);
		goto done;
	}
	if (!reload(&s, "", "setup"))
		goto done;
	TIMED(t_nodes(&s));
	TIMED(t_version(&s));
	TIMED(t_percpu(&s));
	TIMED(t_batch(&s));
	TIMED(t_readonly_noop(&s));
	TIMED(t_allowlist(&s));
	TIMED(t_counters(&s));
	TIMED(t_recheck(&s, true));
	TIMED(t_recheck(&s, false));
	TIMED(t_hotplug(&s));
	TIMED(t_faults(&s));
	TIMED(t_stress(&s, false, 3.0));
	TIMED(t_stress(&s, true, 3.0));
	TIMED(t_tools(&s));
	if (!quick)
		TIMED(t_shipped(&s));
	TIMED(t_max_batch(&s));
	TIMED(t_majors(&s));
	TIMED(t_cycles(&s));
	TIMED(t_leaks(&s));
	/* Leave the module as udev would, with the test list, for --unpriv. */
	if (reload(&s, "", "final")) {
		int rc = al_install(test_list);

		check_rc(&s, 0, rc, "final: install the test list");
	}
done:
	note("%s run: %d passed, %d failed", s.root ? "root" : "unprivileged",
	     s.passed, s.failed);
	return s.failed ? 1 : 0;
}
