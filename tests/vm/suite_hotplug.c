// SPDX-License-Identifier: GPL-2.0-only
/*
 * msr-safe VM suite (see suite.h): CPU hotplug and injected faults.
 */
#include "suite.h"

void t_hotplug(struct suite *s)
{
	struct msr_batch_op ops[2];
	uint64_t c0[NCOUNTERS], v;
	char path[64];
	int rc;

	if (!check(s, s->ncpus >= 2, "only one CPU",
		   "hotplug: more than one CPU"))
		return;
	rc = al_install(test_list);
	check_rc(s, 0, rc, "hotplug: install the test list");
	for (int i = 1; i < s->ncpus; i++) {
		int cpu = s->cpus[i], fd = cpu_open(cpu, O_RDWR);

		cpu_path(cpu, path, sizeof(path));
		check(s, fd >= 0, "open failed", "hotplug cpu%d: open %s", cpu,
		      path);
		counters_read(s, c0, "hotplug");
		rc = set_cpu_online(cpu, false);
		if (!check_rc(s, 0, rc, "hotplug cpu%d: offline", cpu)) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		check_rc(s, -ENOENT, path_exists(path) ? 0 : -ENOENT,
			 "hotplug cpu%d: %s disappears", cpu, path);
		rc = cpu_open(cpu, O_RDONLY);
		check_rc(s, -ENOENT, rc < 0 ? rc : 0,
			 "hotplug cpu%d: open while offline", cpu);
		if (rc >= 0)
			close(rc);
		op_set(&ops[0], cpu, MSR_MC0_ADDR, true, 0);
		op_set(&ops[1], cpu, MSR_MC0_ADDR, false, 1);
		rc = batch_run(ops, 2);
		check_rc(s, -ENXIO, rc, "hotplug cpu%d: batch while offline",
			 cpu);
		check_rc(s, -ENXIO, ops[0].err,
			 "hotplug cpu%d: read op while offline", cpu);
		check_rc(s, -ENXIO, ops[1].err,
			 "hotplug cpu%d: write op while offline", cpu);
		if (fd >= 0) {
			rc = fd_rd(fd, MSR_MC0_ADDR, &v);
			check_rc(s, -ENXIO, rc,
				 "hotplug cpu%d: read on an fd opened before "
				 "offline",
				 cpu);
		}
		counters_expect(s, c0, (uint64_t[]){0, 0, fd >= 0 ? 3 : 2, 0},
				"hotplug offline");
		rc = set_cpu_online(cpu, true);
		check_rc(s, 0, rc, "hotplug cpu%d: online", cpu);
		check(s, path_exists(path), "node missing",
		      "hotplug cpu%d: %s reappears", cpu, path);
		check_rc(s, 0, udev_apply(s), "hotplug cpu%d: udev modes", cpu);
		rc = cpu_rd(cpu, MSR_MC0_ADDR, &v);
		check_rc(s, 0, rc, "hotplug cpu%d: per-CPU read after online",
			 cpu);
		op_set(&ops[0], cpu, MSR_MC0_ADDR, true, 0);
		rc = batch_run(ops, 1);
		check_rc(s, 0, rc, "hotplug cpu%d: batch after online", cpu);
		if (fd >= 0) {
			rc = fd_rd(fd, MSR_MC0_ADDR, &v);
			check_rc(s, 0, rc,
				 "hotplug cpu%d: old fd works after online",
				 cpu);
			close(fd);
		}
	}
	/* Quick cycles: the nodes follow every transition. */
	{
		int cpu = s->cpus[s->ncpus - 1], bad = 0;

		cpu_path(cpu, path, sizeof(path));
		for (int i = 0; i < 10; i++) {
			if (set_cpu_online(cpu, false) || path_exists(path))
				bad++;
			if (set_cpu_online(cpu, true) || !path_exists(path))
				bad++;
		}
		check_long(s, 0, bad, "hotplug cpu%d: 10 quick off/on cycles",
			   cpu);
		udev_apply(s);
	}
	/* A CPU that is offline when the module loads gets its node later. */
	{
		int cpu = s->cpus[s->ncpus - 1];
		struct msr_batch_op op;

		cpu_path(cpu, path, sizeof(path));
		rc = set_cpu_online(cpu, false);
		check_rc(s, 0, rc, "hotplug cpu%d: offline before insmod", cpu);
		if (!reload(s, "", "hotplug: reload with a CPU offline"))
			return;
		check(s, !path_exists(path), "node exists",
		      "hotplug cpu%d: no node when offline at load", cpu);
		rc = al_install(test_list);
		op_set(&op, cpu, MSR_MC0_ADDR, true, 0);
		rc = rc ? rc : batch_run(&op, 1);
		check_rc(s, -ENXIO, rc,
			 "hotplug cpu%d: batch ENXIO when offline at load",
			 cpu);
		rc = set_cpu_online(cpu, true);
		check_rc(s, 0, rc, "hotplug cpu%d: online after insmod", cpu);
		check(s, path_exists(path), "no node",
		      "hotplug cpu%d: node appears when it comes online", cpu);
		check_rc(s, 0, udev_apply(s), "hotplug cpu%d: udev modes", cpu);
		rc = cpu_rd(cpu, MSR_MC0_ADDR, &v);
		check_rc(s, 0, rc,
			 "hotplug cpu%d: per-CPU read after late online", cpu);
	}
}

void t_faults(struct suite *s)
{
	struct msr_batch_op ops[3];
	uint64_t c0[NCOUNTERS], v;
	int rc, fd;

	rc = al_install(test_list);
	check_rc(s, 0, rc, "faults: install the test list");
	counters_read(s, c0, "faults");
	rc = set_param("inject_eio_msr", "1026\n");
	check_rc(s, 0, rc, "faults: inject_eio_msr=0x402");
	fd = cpu_open(s->cpus[0], O_RDWR);
	rc = fd < 0 ? fd : fd_rd(fd, MSR_MC0_ADDR, &v);
	check_rc(s, -EIO, rc, "faults: per-CPU read of 0x402 is EIO");
	rc = fd < 0 ? fd : fd_wr(fd, MSR_MC0_ADDR, 5);
	check_rc(s, -EIO, rc, "faults: per-CPU write of 0x402 is EIO");
	rc = fd < 0 ? fd : fd_rd(fd, MSR_MC0_MISC, &v);
	check_rc(s, 0, rc, "faults: per-CPU read of 0x403 unaffected");
	op_set(&ops[0], s->cpus[0], MSR_MC0_MISC, true, 0);
	op_set(&ops[1], s->cpus[s->ncpus - 1], MSR_MC0_ADDR, true, 0);
	op_set(&ops[2], s->cpus[0], MSR_MC0_ADDR, false, 7);
	rc = batch_run(ops, 3);
	check_rc(s, -EIO, rc, "faults: batch returns EIO");
	check_rc(s, 0, ops[0].err, "faults: batch op on 0x403 succeeds");
	check_rc(s, -EIO, ops[1].err, "faults: batch read of 0x402 is EIO");
	check_rc(s, -EIO, ops[2].err, "faults: batch write of 0x402 is EIO");
	counters_expect(s, c0, (uint64_t[]){0, 0, 0, 4}, "faults");

	rc = set_param("inject_eio_writes_only", "1\n");
	check_rc(s, 0, rc, "faults: inject_eio_writes_only=1");
	rc = fd < 0 ? fd : fd_rd(fd, MSR_MC0_ADDR, &v);
	check_rc(s, 0, rc, "faults: writes-only: per-CPU read works");
	rc = fd < 0 ? fd : fd_wr(fd, MSR_MC0_ADDR, v);
	check_rc(s, -EIO, rc, "faults: writes-only: per-CPU write is EIO");
	op_set(&ops[0], s->cpus[0], MSR_MC0_ADDR, true, 0);
	op_set(&ops[1], s->cpus[0], MSR_MC0_ADDR, false, 9);
	rc = batch_run(ops, 2);
	check_rc(s, -EIO, rc, "faults: writes-only: batch returns EIO");
	check_rc(s, 0, ops[0].err, "faults: writes-only: batch read works");
	check_rc(s, -EIO, ops[1].err,
		 "faults: writes-only: batch write is EIO");
	rc = set_param("inject_eio_writes_only", "0\n");
	rc = rc ? rc : set_param("inject_eio_msr", "0\n");
	check_rc(s, 0, rc, "faults: injection off");
	rc = fd < 0 ? fd : fd_wr(fd, MSR_MC0_ADDR, 11);
	rc = rc ? rc : fd_rd(fd, MSR_MC0_ADDR, &v);
	check_rc(s, 0, rc, "faults: 0x402 works again");
	check_u64(s, 11, v, "faults: 0x402 written after injection off");
	if (fd >= 0)
		close(fd);
}
