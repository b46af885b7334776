// SPDX-License-Identifier: GPL-2.0-only
/*
 * msr-safe-state: the operator's view of a node's plugin state, and the
 * way out of a drained node, with the plugin's own code (no hand-made
 * mv/restore/install sequence).
 *
 *   msr-safe-state [-n NODE] show    CONFIG [KEY=VALUE...]
 *   msr-safe-state [-n NODE] resolve [-D] CONFIG [KEY=VALUE...]
 *
 * CONFIG and KEY=VALUE are the plugstack.conf arguments; NODE (default:
 * this host's name) expands %n.  show lists the kept snapshot, the job
 * records with their liveness and the FAILED-job markers.  resolve does
 * what the next prolog would (restore a kept snapshot when no job is
 * live), or with -D moves an unusable snapshot aside unrestored; then it
 * removes the markers and writes an audit line.  Resume the node after.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "msr_config.h"
#include "msr_job.h"
#include "msr_live.h"
#include "msr_record.h"
#include "msr_statedir.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: msr-safe-state [-n NODE] show CONFIG [KEY=VALUE...]\n"
		"       msr-safe-state [-n NODE] resolve [-D] CONFIG "
		"[KEY=VALUE...]\n"
		"       msr-safe-state -h|--help\n");
}

static void show_snapshot(const struct msr_config *cfg)
{
	char path[MSR_CONFIG_PATH_MAX + 16];
	struct msr_state *st = NULL;
	struct msr_err err = {{0}};
	int rc;

	path_in(path, sizeof(path), cfg, SNAPSHOT_NAME);
	rc = msr_state_read(path, MSR_FILE_PRIVATE, &st, &err);
	if (rc == -ENOENT)
		printf("snapshot: none\n");
	else if (rc < 0)
		printf("snapshot: UNUSABLE: %s\n", err.msg);
	else
		printf("snapshot: job %s (profile %s, user %s) on %s, boot %s, "
		       "%zu cpus x %zu msrs\n",
		       st->job.id, st->job.profile, st->job.user, st->host,
		       st->boot_id, st->ncpus, st->nmsrs);
	msr_state_free(st);
}

static int show(const struct msr_config *cfg)
{
	char(*ids)[32] = NULL;
	struct msr_err err = {{0}};
	size_t n = 0;
	DIR *d;
	struct dirent *de;

	printf("state directory: %s\n", cfg->state_dir);
	show_snapshot(cfg);
	if (record_list(cfg, NULL, &ids, &n, &err) < 0) {
		fprintf(stderr, "msr-safe-state: %s\n", err.msg);
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		static const char *const seen[] = {
		    [JOB_ENDED] = "its epilog ran",
		    [JOB_UNSEEN] = "no slurmstepd of it on this node",
		    [JOB_SLURMD_ONLY] = "no slurmstepd; its slurmd runs",
		    [JOB_STEPD] = "live: its slurmstepd runs",
		};
		struct job_record r;
		int rc = record_load(cfg, ids[i], &r, &err);

		printf("job %s: %s, %s", ids[i],
		       rc < 0 ? "UNREADABLE record" : r.status,
		       seen[record_liveness(cfg, ids[i])]);
		if (rc == 0)
			printf(" (user %s, partition %s, profile %s", r.user,
			       r.partition, r.profile);
		if (rc == 0 && r.array_job_id[0])
			printf(", array task %s_%s", r.array_job_id,
			       r.array_task_id);
		if (rc == 0 && r.het_job_id[0])
			printf(", het job %s", r.het_job_id);
		printf("%s\n", rc == 0 ? ")" : "");
	}
	free(ids);
	d = opendir(cfg->state_dir);
	while (d && (de = readdir(d))) {
		char path[MSR_CONFIG_PATH_MAX + 300];
		char *text = NULL;
		size_t len;

		if (strncmp(de->d_name, "FAILED-job", 10) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", cfg->state_dir,
			 de->d_name);
		printf("marker %s:\n", de->d_name);
		if (msr_file_read(path, 1 << 20, MSR_FILE_PRIVATE, &text, &len,
				  &err) == 0)
			printf("%s", text);
		free(text);
	}
	if (d)
		closedir(d);
	return 0;
}

int main(int argc, char **argv)
{
	struct msr_config cfg;
	struct msr_job_ctx op;
	struct msr_err err = {{0}};
	const char *node = NULL, *action;
	bool discard = false;
	int opt, rc;

	static const struct option longopts[] = {
	    {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};

	while ((opt = getopt_long(argc, argv, "+hn:", longopts, NULL)) != -1) {
		if (opt == 'n') {
			node = optarg;
		} else if (opt == 'h') {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	action = argv[optind++];
	if (strcmp(action, "resolve") == 0 && optind < argc &&
	    strcmp(argv[optind], "-D") == 0) {
		discard = true;
		optind++;
	}
	if ((strcmp(action, "show") != 0 && strcmp(action, "resolve") != 0) ||
	    optind >= argc) {
		usage(stderr);
		return 2;
	}
	rc = msr_config_load_file(&cfg, argv[optind], argc - optind - 1,
				  argv + optind + 1, &err);
	if (rc < 0) {
		fprintf(stderr, "msr-safe-state: %s\n", err.msg);
		return 1;
	}
	memset(&op, 0, sizeof(op));
	op.cfg = &cfg;
	snprintf(op.job_id, sizeof(op.job_id), "0");
	snprintf(op.user, sizeof(op.user), "operator");
	if (node)
		snprintf(op.node, sizeof(op.node), "%s", node);
	else if (gethostname(op.node, sizeof(op.node)) < 0)
		snprintf(op.node, sizeof(op.node), "unknown");
	if (msr_config_expand_node(&cfg, op.node, &err) < 0) {
		fprintf(stderr, "msr-safe-state: %s\n", err.msg);
		msr_config_free(&cfg);
		return 1;
	}
	if (strcmp(action, "show") == 0)
		rc = show(&cfg);
	else
		rc = msr_job_resolve(&op, discard) < 0 ? 1 : 0;
	msr_config_free(&cfg);
	return rc;
}
