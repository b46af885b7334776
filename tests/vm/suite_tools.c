// SPDX-License-Identifier: GPL-2.0-only
/*
 * msr-safe VM suite (see suite.h): msrsave, msrctl and msr-allowlist against
 * the real module.
 */
#include "suite.h"

void t_allowlist_tool(struct suite *s, struct cmd_result *r)
{
	char tool[PATH_MAX], emu[PATH_MAX], dir[PATH_MAX], base[PATH_MAX],
	    prof[PATH_MAX];

	tool_path(s, "allowlists/msr-allowlist", tool, sizeof(tool));
	snprintf(dir, sizeof(dir), "%s/allowlists", s->repo);
	snprintf(emu, sizeof(emu), "%s/allowlists/emulator/baseline", s->repo);
	snprintf(base, sizeof(base), "%s/allowlists/al_06_8F", s->repo);
	snprintf(prof, sizeof(prof), "%s/allowlists/profiles/freq/al_06_8F",
		 s->repo);
	/* The shell forms the documentation gives. */
	al_install(test_list);
	run_cmd((char *const[]){"/bin/cat", ALLOWLIST_DEV, NULL}, r);
	check_exit(s, 0, r, "tools: cat " ALLOWLIST_DEV);
	check_text(s, test_list_canon, strlen(test_list_canon), r->out, r->len,
		   "tools: cat shows the canonical list");
	run_cmd((char *const[]){"/bin/sh", "-c", "echo > " ALLOWLIST_DEV, NULL},
		r);
	check_exit(s, 0, r, "tools: echo > " ALLOWLIST_DEV);
	al_is(s, AL_HEADER_TEXT, "tools: echo > msr_allowlist cleared it");
	run_cmd(
	    (char *const[]){
		"/bin/sh", "-c",
		"printf '0x402 0x0\\n0x402 0x1\\n' > " ALLOWLIST_DEV, NULL},
	    r);
	check(s, r->status != 0, "exit 0",
	      "tools: shell write of a duplicate fails");
	al_is(s, AL_HEADER_TEXT,
	      "tools: failed shell write kept the (empty) list");
	run_cmd((char *const[]){tool, "install", emu, NULL}, r);
	if (check_exit(s, 0, r,
		       "tools: msr-allowlist install emulator/baseline"))
		expect_live_is(s, emu, NULL, "tools: msr-allowlist install");
	run_cmd((char *const[]){tool, "install", base, "--dir", dir, "--family",
				"6", "--model", "0x8f", "--profile", "freq",
				NULL},
		r);
	if (check_exit(s, 0, r,
		       "tools: msr-allowlist install al_06_8F --profile freq"))
		expect_live_is(s, base, prof,
			       "tools: msr-allowlist install --profile");
	run_cmd((char *const[]){tool, "show", NULL}, r);
	check_exit(s, 0, r, "tools: msr-allowlist show");
	check(s, strstr(r->out, "0x00000010") != NULL, r->out,
	      "tools: msr-allowlist show lists the live entries");
	run_cmd((char *const[]){tool, "install", "/nonexistent/al", NULL}, r);
	check_exit(s, 1, r, "tools: msr-allowlist install of a missing file");
	expect_live_is(s, base, prof,
		       "tools: failed msr-allowlist install changed nothing");
	al_install(test_list);
}

void t_tools(struct suite *s)
{
	char msrsave[PATH_MAX], msrctl[PATH_MAX], state[PATH_MAX];
	struct saved_msrs sv, before, now;
	struct cmd_result *r = malloc(sizeof(*r));
	int rc;

	if (!check(s, r != NULL, "malloc", "tools: buffers"))
		return;
	tool_path(s, "msrsave/msrsave", msrsave, sizeof(msrsave));
	tool_path(s, "msrsave/msrctl", msrctl, sizeof(msrctl));
	snprintf(state, sizeof(state), "%s/state.json", s->scratch);
	unlink(state);
	if (!check(s, access(msrsave, X_OK) == 0 && access(msrctl, X_OK) == 0,
		   "missing: build msrsave/msrsave and msrsave/msrctl in "
		   "MSR_BUILD_DIR",
		   "tools: %s and msrctl exist", msrsave))
		goto out;
	if (!save_msrs(s, &sv))
		goto out;
	rc = al_install(test_list);
	check_rc(s, 0, rc, "tools: install the test list");
	for (int i = 0; i < s->ncpus; i++)
		cpu_wr(s->cpus[i], MSR_MC0_ADDR, pattern(s->cpus[i], 5));
	if (!snap3(s, &before))
		goto out;

	run_cmd((char *const[]){msrsave, "save", state, NULL}, r);
	check_exit(s, 0, r, "tools: msrsave save");
	check(s, path_exists(state), "no file", "tools: msrsave wrote %s",
	      state);
	run_cmd((char *const[]){msrsave, "verify", state, NULL}, r);
	check_exit(s, 0, r, "tools: msrsave verify right after save");

	run_cmd((char *const[]){msrctl, "write", "0x402", "0x1234", NULL}, r);
	check_exit(s, 0, r, "tools: msrctl write 0x402 0x1234 on all CPUs");
	run_cmd((char *const[]){msrctl, "-c", "0", "write", "0x403",
				"0xffffffffffffffff", NULL},
		r);
	check_exit(s, 0, r, "tools: msrctl -c 0 write 0x403 all ones");
	run_cmd(
	    (char *const[]){msrctl, "write", "0xc0000103", "0xffffffff", NULL},
	    r);
	check_exit(s, 0, r, "tools: msrctl write TSC_AUX");
	if (snap3(s, &now)) {
		int bad = 0;

		for (int i = 0; i < s->ncpus; i++) {
			bad += now.addr[i] != 0x1234;
			bad += now.aux[i] !=
			       ((before.aux[i] & ~MASK_TSC_AUX) | MASK_TSC_AUX);
		}
		bad +=
		    now.misc[0] != ((before.misc[0] & ~MASK_MISC) | MASK_MISC);
		check_long(s, 0, bad,
			   "tools: msrctl changed exactly the masked bits");
	}
	run_cmd((char *const[]){msrctl, "-c", "0", "read", "0x402", NULL}, r);
	check_exit(s, 0, r, "tools: msrctl read 0x402");
	check(s, strcasestr(r->out, "1234") != NULL, r->out,
	      "tools: msrctl read shows 0x1234");
	run_cmd((char *const[]){msrctl, "write", "0x179", "0x0", NULL}, r);
	check_exit(s, 1, r, "tools: msrctl write to read-only MCG_CAP fails");
	run_cmd((char *const[]){msrctl, "read", "0x3a", NULL}, r);
	check_exit(s, 1, r, "tools: msrctl read of unlisted 0x3a fails");

	run_cmd((char *const[]){msrsave, "verify", state, NULL}, r);
	check_exit(s, 1, r, "tools: msrsave verify reports the changes");

	/* A restore whose writes fault must say so and change nothing saved. */
	rc = set_param("inject_eio_writes_only", "1\n");
	rc = rc ? rc : set_param("inject_eio_msr", "1026\n");
	check_rc(s, 0, rc, "tools: inject EIO on writes of 0x402");
	run_cmd((char *const[]){msrsave, "restore", state, NULL}, r);
	check_exit(s, 1, r,
		   "tools: msrsave restore with faulting writes fails");
	set_param("inject_eio_msr", "0\n");
	set_param("inject_eio_writes_only", "0\n");

	run_cmd((char *const[]){msrsave, "restore", state, NULL}, r);
	check_exit(s, 0, r, "tools: msrsave restore");
	if (snap3(s, &now))
		check_long(s, 0, snap3_diff(s, &before, &now),
			   "tools: every value back bit-exactly after restore");
	run_cmd((char *const[]){msrsave, "verify", state, NULL}, r);
	check_exit(s, 0, r, "tools: msrsave verify after restore");
	/* upstream form */
	run_cmd((char *const[]){msrctl, "write", "0x402", "0x77", NULL}, r);
	run_cmd((char *const[]){msrsave, "-r", state, NULL}, r);
	check_exit(s, 0, r, "tools: msrsave -r (upstream form)");
	if (snap3(s, &now))
		check_long(s, 0, snap3_diff(s, &before, &now),
			   "tools: values back after msrsave -r");
	/* A sparse CPU set: one CPU offline while saving. */
	{
		char state2[PATH_MAX + 8];
		int cpu = s->cpus[1 % s->ncpus];

		snprintf(state2, sizeof(state2), "%s.sparse", state);
		unlink(state2);
		rc = set_cpu_online(cpu, false);
		check_rc(s, 0, rc, "tools: cpu%d offline", cpu);
		run_cmd((char *const[]){msrsave, "save", state2, NULL}, r);
		check_exit(s, 0, r, "tools: msrsave save with cpu%d offline",
			   cpu);
		run_cmd((char *const[]){msrsave, "verify", state2, NULL}, r);
		check_exit(s, 0, r, "tools: msrsave verify with cpu%d offline",
			   cpu);
		rc = set_cpu_online(cpu, true);
		check_rc(s, 0, rc, "tools: cpu%d online again", cpu);
		check_rc(s, 0, udev_apply(s), "tools: udev modes");
		unlink(state2);
	}
	restore_msrs(s, &sv, "tools: restore");
	t_allowlist_tool(s, r);
out:
	free(r);
}

/* The commands as a trusted user: the list comes from a file, since only
 * root may read the allowlist device. */
void u_tools(struct suite *s)
{
	char msrsave[PATH_MAX], msrctl[PATH_MAX], state[PATH_MAX],
	    alpath[PATH_MAX];
	struct saved_msrs before, now;
	struct cmd_result *r = malloc(sizeof(*r));
	int rc, fd;

	if (!check(s, r != NULL, "malloc", "unpriv tools: buffers"))
		return;
	tool_path(s, "msrsave/msrsave", msrsave, sizeof(msrsave));
	tool_path(s, "msrsave/msrctl", msrctl, sizeof(msrctl));
	snprintf(state, sizeof(state), "%s/unpriv-state.json", s->scratch);
	snprintf(alpath, sizeof(alpath), "%s/unpriv-allowlist", s->scratch);
	unlink(state);
	unlink(alpath);
	fd = open(alpath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	rc = fd < 0 ? -errno : 0;
	if (!rc && write(fd, test_list, strlen(test_list)) !=
		       (ssize_t)strlen(test_list))
		rc = -EIO;
	if (fd >= 0)
		close(fd);
	if (!check_rc(s, 0, rc, "unpriv tools: write %s", alpath))
		goto out;
	if (!snap3(s, &before))
		goto out;
	run_cmd((char *const[]){msrsave, "-a", alpath, "save", state, NULL}, r);
	check_exit(s, 0, r, "unpriv tools: msrsave -a LIST save");
	run_cmd((char *const[]){msrctl, "-c", "0", "read", "0x402", NULL}, r);
	check_exit(s, 0, r, "unpriv tools: msrctl read");
	run_cmd((char *const[]){msrctl, "write", "0x402", "0x4321", NULL}, r);
	check_exit(s, 0, r, "unpriv tools: msrctl write");
	if (snap3(s, &now)) {
		int bad = 0;

		for (int i = 0; i < s->ncpus; i++)
			bad += now.addr[i] != 0x4321;
		check_long(s, 0, bad, "unpriv tools: msrctl wrote every CPU");
	}
	run_cmd((char *const[]){msrsave, "restore", state, NULL}, r);
	check_exit(s, 0, r, "unpriv tools: msrsave restore");
	if (snap3(s, &now))
		check_long(s, 0, snap3_diff(s, &before, &now),
			   "unpriv tools: values back bit-exactly");
out:
	unlink(state);
	unlink(alpath);
	free(r);
}
