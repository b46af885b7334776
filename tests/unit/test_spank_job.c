// SPDX-License-Identifier: GPL-2.0-only
/*
 * The SPANK plugin's job lifecycle (spank/msr_job.c and its parts) without
 * Slurm: prologs and epilogs called directly, against a file-backed MSR
 * tree, one test per scenario of issue 11 that does not need a running
 * slurmd.  Needs root (the state directory must be root's, as on a node).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "msr_config.h"
#include "msr_job.h"
#include "msrtree.h"

static const int cpus[] = {0, 1};
static const char baseline[] = "0x10 0x0\n0x199 0xFFFF\n";
static const char perf[] = "0x402 0xFFFFFFFFFFFFFFFF\n";

/* A node: device tree, site files, state dir, config, a job context. */
struct node {
	char *dev;
	char *top;
	char state[300];
	struct msr_config cfg;
	struct msr_job_ctx job;
};

static void path(char *buf, size_t cap, const char *dir, const char *name)
{
	snprintf(buf, cap, "%s/%s", dir, name);
}

static void node_new(struct node *n)
{
	char conf[4096], p[400];
	char tmpl[] = "/tmp/test_spank_job.XXXXXX";
	struct msr_err err = {{0}};

	n->dev = tree_new(cpus, 2, baseline);
	n->top = strdup(mkdtemp(tmpl));
	ck_assert_ptr_nonnull(n->top);
	path(p, sizeof(p), n->top, "baseline");
	spit(p, baseline);
	path(p, sizeof(p), n->top, "perf");
	spit(p, perf);
	path(p, sizeof(p), n->top, "boot_id");
	spit(p, "0b0e0b0e-1111-4222-8333-944445555666\n");
	path(n->state, sizeof(n->state), n->top, "state");
	snprintf(conf, sizeof(conf),
		 "DeviceDir=%s StateDir=%s Baseline=%s/baseline "
		 "BootIdFile=%s/boot_id\n"
		 "Profile=perf Overlays=%s/perf Description=\"perf\"\n"
		 "Partition=debug Profiles=default,perf Default=default\n",
		 n->dev, n->state, n->top, n->top, n->top);
	ck_assert_int_eq(msr_config_init(&n->cfg, &err), 0);
	ck_assert_msg(
	    msr_config_parse(&n->cfg, conf, strlen(conf), "t.conf", &err) == 0,
	    "%s", err.msg);
	ck_assert_msg(msr_config_validate(&n->cfg, &err) == 0, "%s", err.msg);
	memset(&n->job, 0, sizeof(n->job));
	n->job.cfg = &n->cfg;
	snprintf(n->job.node, sizeof(n->job.node), "t1");
	snprintf(n->job.partition, sizeof(n->job.partition), "debug");
	snprintf(n->job.user, sizeof(n->job.user), "root");
}

static void node_free(struct node *n)
{
	char cmd[600];

	msr_config_free(&n->cfg);
	tree_remove(n->dev);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", n->top);
	ck_assert_int_eq(system(cmd), 0);
	free(n->top);
}

static void as_job(struct node *n, const char *id, const char *profile)
{
	snprintf(n->job.job_id, sizeof(n->job.job_id), "%s", id);
	n->job.has_request = profile != NULL;
	snprintf(n->job.requested, sizeof(n->job.requested), "%s",
		 profile ? profile : "");
	n->job.config_error = NULL;
}

static char *state_file(struct node *n, const char *name)
{
	char p[600];

	path(p, sizeof(p), n->state, name);
	return slurp(p);
}

static bool state_has(struct node *n, const char *name)
{
	char p[600];

	path(p, sizeof(p), n->state, name);
	return access(p, F_OK) == 0;
}

static bool archive_has(struct node *n, const char *suffix)
{
	char cmd[800];

	snprintf(cmd, sizeof(cmd), "ls '%s'/archive/*%s >/dev/null 2>&1",
		 n->state, suffix);
	return system(cmd) == 0;
}

static char *live_allowlist(struct node *n)
{
	char p[400];

	path(p, sizeof(p), n->dev, "msr_allowlist");
	return slurp(p);
}

/* The job's profile is installed, its change is put back at the end. */
START_TEST(prolog_epilog_restores)
{
	struct node n;
	char *al;

	node_new(&n);
	tree_set(n.dev, 1, 0x402, 0x4021);
	as_job(&n, "11", "perf");
	ck_assert_int_eq(msr_job_prolog(&n.job), 0);
	al = live_allowlist(&n);
	ck_assert_ptr_nonnull(strstr(al, "0x00000402"));
	free(al);
	tree_set(n.dev, 1, 0x402, 0xdead); /* the job's write */
	ck_assert_int_eq(msr_job_epilog(&n.job), 0);
	ck_assert_uint_eq(tree_get(n.dev, 1, 0x402), 0x4021);
	al = live_allowlist(&n);
	ck_assert_ptr_null(strstr(al, "0x00000402"));
	free(al);
	ck_assert(!state_has(&n, "snapshot.json"));
	ck_assert(archive_has(&n, "-job11-restored.json"));
	node_free(&n);
}
END_TEST

/* Item 11: a difference outside the job's write mask is no change. */
START_TEST(changed_counts_writable_bits_only)
{
	struct node n;
	char *log;

	node_new(&n);
	tree_set(n.dev, 0, 0x199, 0x1234);
	as_job(&n, "26", "perf");
	ck_assert_int_eq(msr_job_prolog(&n.job), 0);
	tree_set(n.dev, 0, 0x199, 0x70001234); /* above mask 0xFFFF */
	tree_set(n.dev, 1, 0x402, 0x2626);     /* the job's write */
	ck_assert_int_eq(msr_job_epilog(&n.job), 0);
	log = state_file(&n, "audit.log");
	ck_assert_msg(strstr(log, "\"event\":\"epilog\"") &&
			  strstr(log, "\"changed\":1,"),
		      "%s", log);
	free(log);
	node_free(&n);
}
END_TEST

/* Item 11: a CPU that came online during the job is a failure. */
START_TEST(new_cpu_is_a_failure)
{
	struct node n;
	char p[600], *marker;

	node_new(&n);
	as_job(&n, "27", "perf");
	ck_assert_int_eq(msr_job_prolog(&n.job), 0);
	path(p, sizeof(p), n.dev, "2");
	ck_assert_int_eq(mkdir(p, 0755), 0);
	path(p, sizeof(p), n.dev, "2/msr_safe");
	spit(p, "");
	ck_assert_int_lt(msr_job_epilog(&n.job), 0);
	marker = state_file(&n, "FAILED-job27");
	ck_assert_msg(strstr(marker, "cpu 2 "), "%s", marker);
	free(marker);
	node_free(&n);
}
END_TEST

/* Items 1 and 2: the site file breaks during the job. */
START_TEST(epilog_without_a_parsable_config)
{
	struct node n;

	node_new(&n);
	tree_set(n.dev, 1, 0x402, 0x4021);
	as_job(&n, "12", "perf");
	ck_assert_int_eq(msr_job_prolog(&n.job), 0);
	tree_set(n.dev, 1, 0x402, 0xbad);
	/* What salvage leaves: StateDir and BootIdFile parsed, not the rest. */
	snprintf(n.cfg.device_dir, sizeof(n.cfg.device_dir), "/nonexistent");
	n.cfg.baseline[0] = '\0';
	n.job.config_error = "t.conf:9: unknown key Frobnicate";
	ck_assert_int_eq(msr_job_epilog(&n.job), 0);
	ck_assert_uint_eq(tree_get(n.dev, 1, 0x402), 0x4021);
	ck_assert(!state_has(&n, "jobs/12.json"));
	{
		char *al = live_allowlist(&n);

		ck_assert_ptr_null(strstr(al, "0x00000402"));
		free(al);
	}
	node_free(&n);
}
END_TEST

/* Item 6: a failed epilog (corrupt record) still puts the baseline back. */
START_TEST(failed_epilog_reinstalls_baseline)
{
	struct node n;
	char p[600], *marker, *al;

	node_new(&n);
	as_job(&n, "13", "perf");
	ck_assert_int_eq(msr_job_prolog(&n.job), 0);
	path(p, sizeof(p), n.state, "jobs/13.json");
	spit(p, "{\"format\": \"msr-safe-job\", \"extra\": 1}");
	chmod(p, 0600);
	ck_assert_int_lt(msr_job_epilog(&n.job), 0);
	al = live_allowlist(&n);
	ck_assert_ptr_null(strstr(al, "0x00000402"));
	free(al);
	marker = state_file(&n, "FAILED-job13");
	ck_assert_ptr_nonnull(strstr(marker, "Next: "));
	free(marker);
	ck_assert(!state_has(&n, "jobs/13.json"));
	ck_assert(state_has(&n, "jobs/13.json.failed"));
	ck_assert(state_has(&n, "snapshot.json")); /* kept for the next */
	node_free(&n);
}
END_TEST

/* Crash recovery, archived under the job the snapshot belongs to. */
START_TEST(recovery_names_the_owner)
{
	struct node n;

	node_new(&n);
	tree_set(n.dev, 1, 0x402, 0x4021);
	as_job(&n, "14", "perf");
	ck_assert_int_eq(msr_job_prolog(&n.job), 0);
	tree_set(n.dev, 1, 0x402, 0x1414);
	as_job(&n, "15", NULL); /* 14's epilog never ran */
	ck_assert_int_eq(msr_job_prolog(&n.job), 0);
	ck_assert_uint_eq(tree_get(n.dev, 1, 0x402), 0x4021);
	ck_assert(archive_has(&n, "-job14-recovered.json"));
	ck_assert(!archive_has(&n, "-job15-recovered.json"));
	node_free(&n);
}
END_TEST

/* Item 4: a process titled like the job's slurmstepd is not the job. */
START_TEST(forged_slurmstepd_is_not_live)
{
	struct node n;
	pid_t pid;

	node_new(&n);
	tree_set(n.dev, 1, 0x402, 0x4021);
	as_job(&n, "16", "perf");
	ck_assert_int_eq(msr_job_prolog(&n.job), 0);
	tree_set(n.dev, 1, 0x402, 0x1616);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		execl("/bin/sleep", "slurmstepd: [16.0]", "30", (char *)NULL);
		_exit(127);
	}
	usleep(100000);
	as_job(&n, "17", NULL);
	ck_assert_int_eq(msr_job_prolog(&n.job), 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	ck_assert_uint_eq(tree_get(n.dev, 1, 0x402), 0x4021);
	ck_assert(archive_has(&n, "-job16-recovered.json"));
	node_free(&n);
}
END_TEST

/*
 * ... while root's real slurmstepd (here: a copy of sleep installed under
 * that name) keeps the job live: the next job joins, nothing is restored.
 */
START_TEST(real_slurmstepd_is_live)
{
	struct node n;
	char exe[400], cmd[900];
	pid_t pid;

	node_new(&n);
	tree_set(n.dev, 1, 0x402, 0x4021);
	as_job(&n, "28", "perf");
	ck_assert_int_eq(msr_job_prolog(&n.job), 0);
	tree_set(n.dev, 1, 0x402, 0x2828);
	path(exe, sizeof(exe), n.top, "slurmstepd-wlm");
	snprintf(cmd, sizeof(cmd), "cp /bin/sleep '%s'", exe);
	ck_assert_int_eq(system(cmd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		execl(exe, "slurmstepd: [28.extern]", "30", (char *)NULL);
		_exit(127);
	}
	/* Until the exec is done (a fixed sleep loses on a loaded machine). */
	snprintf(cmd, sizeof(cmd), "grep -q '^slurmstepd: ' /proc/%d/cmdline",
		 (int)pid);
	for (int i = 0; i < 100 && system(cmd) != 0; i++)
		usleep(50000);
	as_job(&n, "29", NULL);
	ck_assert_int_eq(msr_job_prolog(&n.job), 0);
	ck_assert_uint_eq(tree_get(n.dev, 1, 0x402), 0x2828);
	ck_assert(state_has(&n, "snapshot.json"));
	ck_assert_int_eq(msr_job_epilog(&n.job), 0); /* 29 only releases */
	ck_assert_uint_eq(tree_get(n.dev, 1, 0x402), 0x2828);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	as_job(&n, "28", "perf");
	ck_assert_int_eq(msr_job_epilog(&n.job), 0); /* last one out */
	ck_assert_uint_eq(tree_get(n.dev, 1, 0x402), 0x4021);
	node_free(&n);
}
END_TEST

/* Item 5: a truncated snapshot from before this boot is stale. */
START_TEST(truncated_snapshot_from_earlier_boot)
{
	struct node n;
	char p[600];
	struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}};

	node_new(&n);
	as_job(&n, "18", "perf");
	ck_assert_int_eq(msr_job_prolog(&n.job), 0);
	path(p, sizeof(p), n.state, "snapshot.json");
	ck_assert_int_eq(truncate(p, 100), 0);
	ck_assert_int_eq(utimensat(AT_FDCWD, p, old, 0), 0);
	tree_set(n.dev, 1, 0x402, 0x1818);
	as_job(&n, "19", NULL);
	ck_assert_int_eq(msr_job_prolog(&n.job), 0);
	ck_assert_uint_eq(tree_get(n.dev, 1, 0x402), 0x1818);
	ck_assert(archive_has(&n, "-unreadable-stale.json.failed"));
	/* The same truncation from this boot is corruption. */
	ck_assert_int_eq(msr_job_epilog(&n.job), 0);
	as_job(&n, "20", "perf");
	ck_assert_int_eq(msr_job_prolog(&n.job), 0);
	ck_assert_int_eq(truncate(p, 100), 0);
	as_job(&n, "21", NULL);
	ck_assert_int_lt(msr_job_prolog(&n.job), 0);
	node_free(&n);
}
END_TEST

/* Item 7: another node's snapshot in a shared StateDir is never used. */
START_TEST(other_hosts_snapshot_refused)
{
	struct node n;

	node_new(&n);
	as_job(&n, "22", "perf");
	ck_assert_int_eq(msr_job_prolog(&n.job), 0);
	snprintf(n.job.node, sizeof(n.job.node), "t2");
	as_job(&n, "23", NULL);
	ck_assert_int_lt(msr_job_prolog(&n.job), 0);
	ck_assert(state_has(&n, "snapshot.json")); /* t1's, untouched */
	ck_assert(!archive_has(&n, "-job22-"));
	node_free(&n);
}
END_TEST

/* Item 8: the operator resolves a drained node's kept snapshot. */
START_TEST(operator_resolves_kept_snapshot)
{
	struct node n;
	char p[600];

	node_new(&n);
	tree_set(n.dev, 1, 0x402, 0x4021);
	as_job(&n, "24", "perf");
	ck_assert_int_eq(msr_job_prolog(&n.job), 0);
	tree_set(n.dev, 1, 0x402, 0x2424);
	path(p, sizeof(p), n.state, "jobs/24.json");
	spit(p, "garbage");
	chmod(p, 0600);
	ck_assert_int_lt(msr_job_epilog(&n.job), 0);
	ck_assert(state_has(&n, "FAILED-job24"));
	as_job(&n, "0", NULL);
	ck_assert_int_eq(msr_job_resolve(&n.job, false), 0);
	ck_assert_uint_eq(tree_get(n.dev, 1, 0x402), 0x4021);
	ck_assert(!state_has(&n, "FAILED-job24"));
	ck_assert(!state_has(&n, "snapshot.json"));
	ck_assert(archive_has(&n, "-job24-recovered.json"));
	/* A corrupt snapshot: refused, then moved aside with discard. */
	as_job(&n, "25", "perf");
	ck_assert_int_eq(msr_job_prolog(&n.job), 0);
	path(p, sizeof(p), n.state, "snapshot.json");
	ck_assert_int_eq(truncate(p, 10), 0);
	as_job(&n, "0", NULL);
	ck_assert_int_lt(msr_job_resolve(&n.job, false), 0);
	ck_assert_int_eq(msr_job_resolve(&n.job, true), 0);
	ck_assert(!state_has(&n, "snapshot.json"));
	ck_assert(archive_has(&n, "-discarded.json.failed"));
	node_free(&n);
}
END_TEST

/* Item 9: without PrologFlags=Contain the prolog says so in its audit line. */
START_TEST(missing_contain_is_audited)
{
	struct node n;
	char *log;

	node_new(&n);
	as_job(&n, "26", NULL);
	ck_assert_int_eq(msr_job_prolog(&n.job), 0);
	n.job.no_extern_step = true;
	as_job(&n, "27", NULL);
	ck_assert_int_eq(msr_job_prolog(&n.job), 0);
	log = state_file(&n, "audit.log");
	ck_assert_ptr_nonnull(log);
	ck_assert_msg(strstr(log, "\"job\":\"27\"") &&
			  strstr(strstr(log, "\"job\":\"27\""),
				 "PrologFlags=Contain is not set"),
		      "%s", log);
	ck_assert_msg(!strstr(log, "PrologFlags=Contain") ||
			  strstr(log, "PrologFlags=Contain") >
			      strstr(log, "\"job\":\"27\""),
		      "job 26's line has the warning: %s", log);
	free(log);
	node_free(&n);
}
END_TEST

/* slurmctld's answer, as the plugin's hook gives it: job 32 still runs. */
static int ctld_says_32_runs(const char *job_id)
{
	return strcmp(job_id, "32") == 0;
}

static int ctld_unreachable(const char *job_id)
{
	(void)job_id;
	return -EIO;
}

/*
 * Item 4: nothing of job 32 runs here (stepds killed, slurmd restarted),
 * but slurmctld says it runs: the next prolog must not restore under it;
 * its own epilog does, later.  slurmctld unreachable: the local view.
 */
START_TEST(ctld_running_job_is_live)
{
	struct node n;

	node_new(&n);
	tree_set(n.dev, 1, 0x402, 0x4021);
	as_job(&n, "32", "perf");
	ck_assert_int_eq(msr_job_prolog(&n.job), 0);
	tree_set(n.dev, 1, 0x402, 0x3232);
	n.job.job_running = ctld_says_32_runs;
	as_job(&n, "33", NULL);
	ck_assert_int_eq(msr_job_prolog(&n.job), 0);
	ck_assert_uint_eq(tree_get(n.dev, 1, 0x402), 0x3232);
	ck_assert(!archive_has(&n, "-job32-recovered.json"));
	ck_assert_int_eq(msr_job_epilog(&n.job), 0); /* 33 ends first */
	ck_assert_uint_eq(tree_get(n.dev, 1, 0x402), 0x3232);
	n.job.job_running = ctld_unreachable;
	as_job(&n, "34", NULL);
	ck_assert_int_eq(msr_job_prolog(&n.job), 0);
	ck_assert_uint_eq(tree_get(n.dev, 1, 0x402), 0x4021);
	ck_assert(archive_has(&n, "-job32-recovered.json"));
	node_free(&n);
}
END_TEST

static int ctld_says_nothing_runs(const char *job_id)
{
	(void)job_id;
	return 0;
}

/*
 * Job @id's prolog in a child, so that this process (renamed "slurmd")
 * is the slurmd that ran it, as on a node.  The child's exit status.
 */
static int prolog_under_slurmd(struct node *n, const char *id,
			       const char *profile, int (*ctld)(const char *))
{
	int status;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		as_job(n, id, profile);
		n->job.job_running = ctld;
		_exit(msr_job_prolog(&n->job) == 0 ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/*
 * Item 4: a job whose epilog never came (killed by a timeout) while the
 * slurmd that ran its prolog still runs.  Its record alone keeps it live
 * only while slurmctld says it runs (or cannot be asked); once slurmctld
 * says it ended, the next prolog restores its values instead of joining
 * them.
 */
START_TEST(epilog_never_came_slurmctld_decides)
{
	struct node n;

	node_new(&n);
	ck_assert_int_eq(prctl(PR_SET_NAME, "slurmd"), 0);
	tree_set(n.dev, 1, 0x402, 0x4021);
	ck_assert_int_eq(prolog_under_slurmd(&n, "70", "perf", NULL), 0);
	tree_set(n.dev, 1, 0x402, 0x7070);
	ck_assert_int_eq(prolog_under_slurmd(&n, "71", NULL, ctld_unreachable),
			 0);
	ck_assert_uint_eq(tree_get(n.dev, 1, 0x402), 0x7070);
	ck_assert_int_eq(
	    prolog_under_slurmd(&n, "72", NULL, ctld_says_nothing_runs), 0);
	ck_assert_uint_eq(tree_get(n.dev, 1, 0x402), 0x4021);
	ck_assert(archive_has(&n, "-job70-recovered.json"));
	ck_assert(!state_has(&n, "jobs/70.json"));
	node_free(&n);
}
END_TEST

static int ctld_says_all_run(const char *job_id)
{
	(void)job_id;
	return 1;
}

/*
 * Two jobs end together (seen with array tasks): the first epilog marks
 * its record released.  slurmctld still shows that job completing, but
 * its epilog is done: the last epilog must restore, not ask slurmctld
 * about it and leave the values to the next job's recovery.
 */
START_TEST(released_job_is_not_asked_about)
{
	struct node n;

	node_new(&n);
	tree_set(n.dev, 1, 0x402, 0x4021);
	n.job.job_running = ctld_says_all_run;
	as_job(&n, "80", "perf");
	ck_assert_int_eq(msr_job_prolog(&n.job), 0);
	as_job(&n, "81", NULL);
	ck_assert_int_eq(msr_job_prolog(&n.job), 0);
	tree_set(n.dev, 1, 0x402, 0x8080);
	as_job(&n, "80", "perf");
	ck_assert_int_eq(msr_job_epilog(&n.job), 0);
	ck_assert_uint_eq(tree_get(n.dev, 1, 0x402), 0x8080);
	as_job(&n, "81", NULL);
	ck_assert_int_eq(msr_job_epilog(&n.job), 0);
	ck_assert_uint_eq(tree_get(n.dev, 1, 0x402), 0x4021);
	ck_assert(archive_has(&n, "-job80-restored.json"));
	node_free(&n);
}
END_TEST

/* Item 10: array task and heterogeneous job, when known, in every line. */
START_TEST(array_and_het_ids_audited)
{
	struct node n;
	char *log;

	node_new(&n);
	as_job(&n, "41", NULL);
	snprintf(n.job.array_job_id, sizeof(n.job.array_job_id), "40");
	snprintf(n.job.array_task_id, sizeof(n.job.array_task_id), "7");
	snprintf(n.job.het_job_id, sizeof(n.job.het_job_id), "39");
	ck_assert_int_eq(msr_job_prolog(&n.job), 0);
	ck_assert_int_eq(msr_job_epilog(&n.job), 0);
	log = state_file(&n, "audit.log");
	ck_assert_ptr_nonnull(log);
	for (const char *p = log; *p; p = strchr(p, '\n') + 1) {
		ck_assert_msg(strstr(p, "\"array_job\":\"40\"") &&
				  strstr(p, "\"array_task\":\"7\"") &&
				  strstr(p, "\"het_job\":\"39\""),
			      "%s", p);
		if (!strchr(p, '\n'))
			break;
	}
	free(log);
	node_free(&n);
}
END_TEST

/*
 * Item 10, as on a node: the prolog's environment has only the het id;
 * the array task's batch step records its array ids, and the epilog
 * (whose environment has none either) audits them from the record.
 */
START_TEST(array_ids_from_the_batch_step)
{
	struct node n;
	char *rec, *log, *epi;

	node_new(&n);
	as_job(&n, "52", NULL);
	snprintf(n.job.het_job_id, sizeof(n.job.het_job_id), "51");
	ck_assert_int_eq(msr_job_prolog(&n.job), 0);
	ck_assert_int_eq(msr_job_note_array(&n.cfg, "52", "50", "3"), 0);
	rec = state_file(&n, "jobs/52.json");
	ck_assert_ptr_nonnull(rec);
	ck_assert_msg(strstr(rec, "\"array_job\": \"50\"") &&
			  strstr(rec, "\"array_task\": \"3\"") &&
			  strstr(rec, "\"het_job\": \"51\""),
		      "%s", rec);
	free(rec);
	n.job.het_job_id[0] = '\0';
	ck_assert_int_eq(msr_job_epilog(&n.job), 0);
	log = state_file(&n, "audit.log");
	ck_assert_ptr_nonnull(log);
	epi = strstr(log, "\"event\":\"epilog\"");
	ck_assert_ptr_nonnull(epi);
	ck_assert_msg(strstr(epi, "\"array_job\":\"50\"") &&
			  strstr(epi, "\"array_task\":\"3\"") &&
			  strstr(epi, "\"het_job\":\"51\""),
		      "%s", epi);
	/* The prolog ran before the batch step: no array ids there. */
	epi[0] = '\0';
	ck_assert_ptr_null(strstr(log, "array_job"));
	free(log);
	/* A job without a record (prolog refused early): nothing, no error. */
	ck_assert_int_eq(msr_job_note_array(&n.cfg, "99", "98", "1"), 0);
	ck_assert(!state_has(&n, "jobs/99.json"));
	node_free(&n);
}
END_TEST

/* Rewrite jobs/ID.json through sed (a record as another writer left it). */
static void edit_record(struct node *n, const char *id, const char *sed)
{
	char cmd[1200];

	snprintf(cmd, sizeof(cmd), "sed -z -i -e '%s' '%s/jobs/%s.json'", sed,
		 n->state, id);
	ck_assert_int_eq(system(cmd), 0);
}

/*
 * A record from before the ids existed (the plugin upgraded under a
 * running job) still gets its epilog; an id that is not digits makes the
 * record corrupt (it would reach the audit log), so the epilog fails
 * safe: baseline back, marker left.
 */
START_TEST(record_ids_optional_but_strict)
{
	struct node n;

	node_new(&n);
	as_job(&n, "61", "perf");
	ck_assert_int_eq(msr_job_prolog(&n.job), 0);
	edit_record(&n, "61",
		    "s/,[[:space:]]*\"\\(array_job\\|array_task\\|het_job\\)\""
		    ":[[:space:]]*null//g");
	{
		char *rec = state_file(&n, "jobs/61.json");

		ck_assert_ptr_null(strstr(rec, "array_job"));
		free(rec);
	}
	tree_set(n.dev, 1, 0x402, 0x61);
	ck_assert_int_eq(msr_job_epilog(&n.job), 0);
	ck_assert_uint_eq(tree_get(n.dev, 1, 0x402), 0);

	as_job(&n, "62", "perf");
	ck_assert_int_eq(msr_job_prolog(&n.job), 0);
	ck_assert_int_eq(msr_job_note_array(&n.cfg, "62", "60", "2"), 0);
	edit_record(&n, "62",
		    "s/\"array_task\": *\"2\"/\"array_task\": "
		    "\"2\\\\n\"/");
	ck_assert_int_lt(msr_job_epilog(&n.job), 0);
	ck_assert(state_has(&n, "FAILED-job62"));
	node_free(&n);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("spank_job");
	TCase *tc = tcase_create("lifecycle");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, prolog_epilog_restores);
	tcase_add_test(tc, changed_counts_writable_bits_only);
	tcase_add_test(tc, new_cpu_is_a_failure);
	tcase_add_test(tc, epilog_without_a_parsable_config);
	tcase_add_test(tc, failed_epilog_reinstalls_baseline);
	tcase_add_test(tc, recovery_names_the_owner);
	tcase_add_test(tc, forged_slurmstepd_is_not_live);
	tcase_add_test(tc, real_slurmstepd_is_live);
	tcase_add_test(tc, truncated_snapshot_from_earlier_boot);
	tcase_add_test(tc, other_hosts_snapshot_refused);
	tcase_add_test(tc, operator_resolves_kept_snapshot);
	tcase_add_test(tc, missing_contain_is_audited);
	tcase_add_test(tc, ctld_running_job_is_live);
	tcase_add_test(tc, epilog_never_came_slurmctld_decides);
	tcase_add_test(tc, released_job_is_not_asked_about);
	tcase_add_test(tc, array_and_het_ids_audited);
	tcase_add_test(tc, array_ids_from_the_batch_step);
	tcase_add_test(tc, record_ids_optional_but_strict);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
