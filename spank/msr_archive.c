// SPDX-License-Identifier: GPL-2.0-only
/*
 * STATE/archive/ (finished snapshots, pruned to KeepArchives) and the
 * FAILED-jobID markers.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "msr_log.h"
#include "msr_archive.h"

/*
 * STATE/FAILED-jobID: what failed (@text), then what the operator does
 * next, so a drained node explains itself to whoever reads its state.
 */
void failure_marker(const struct msr_config *cfg, const char *job_id,
		    const char *text)
{
	char path[MSR_CONFIG_PATH_MAX + 64];
	struct msr_err err = {{0}};
	static const char next[] =
	    "Next: read the lines above and the slurmd log (\"msr-safe:\"), "
	    "fix the cause (device, site file, state file), then resume the "
	    "node (scontrol update nodename=NODE state=resume).  The next "
	    "prolog restores a kept snapshot.json first; one that cannot be "
	    "used (corrupt, from another node) must be moved into archive/ "
	    "by hand after a look with 'msrsave show'.  Remove this file "
	    "when done.\n";
	size_t tlen = strlen(text);
	char *full = malloc(tlen + sizeof(next) + 1);

	snprintf(path, sizeof(path), "%s/FAILED-job%s", cfg->state_dir, job_id);
	if (!full) {
		LOG_ERR("cannot leave failure marker %s: out of memory", path);
		return;
	}
	memcpy(full, text, tlen);
	full[tlen] = '\n';
	memcpy(full + tlen + 1, next, sizeof(next));
	if (write_private_file(path, full, MSR_FILE_PRIVATE, &err) < 0)
		LOG_ERR("cannot leave failure marker %s: %s", path, err.msg);
	free(full);
}

/* Finished state files: STAMP-jobID-RESULT.json (".json.failed" are kept). */
static int is_archive_json(const struct dirent *de)
{
	size_t len = strlen(de->d_name);

	return len > 5 && strcmp(de->d_name + len - 5, ".json") == 0;
}

/* Oldest first: by the UTC stamp, then numerically by job id. */
static int archive_order(const struct dirent **a, const struct dirent **b)
{
	const char *ja = strstr((*a)->d_name, "-job");
	const char *jb = strstr((*b)->d_name, "-job");
	int c = strncmp((*a)->d_name, (*b)->d_name, 16);

	if (c || !ja || !jb)
		return c ? c : strcmp((*a)->d_name, (*b)->d_name);
	unsigned long long na = strtoull(ja + 4, NULL, 10);
	unsigned long long nb = strtoull(jb + 4, NULL, 10);

	if (na != nb)
		return na < nb ? -1 : 1;
	return strcmp((*a)->d_name, (*b)->d_name);
}

struct json_object *outcome_new(const struct msr_job_ctx *job,
				const char *result, struct json_object *jobs)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "result", json_object_new_string(result));
	json_object_object_add(o, "time", json_object_new_int64(time(NULL)));
	json_object_object_add(o, "node", json_object_new_string(job->node));
	json_object_object_add(o, "by_job",
			       json_object_new_string(job->job_id));
	json_object_object_add(o, "jobs", json_object_get(jobs));
	return o;
}

/* Keep the newest KeepArchives finished state files. */
static void prune_archive(const struct msr_config *cfg)
{
	struct msr_err err = {{0}};
	char dir[MSR_CONFIG_PATH_MAX + 16];
	struct dirent **names = NULL;
	int n;

	path_in(dir, sizeof(dir), cfg, "archive");
	/* A writer killed mid-write leaves its temp file; an hour is ample. */
	if (msr_file_prune_temps(dir, 3600, NULL, &err) < 0)
		LOG_ERR("%s", err.msg);
	n = scandir(dir, &names, is_archive_json, archive_order);
	if (n < 0)
		return;
	for (int i = 0; i < n; i++) {
		if (i < n - (int)cfg->keep_archives) {
			char path[MSR_CONFIG_PATH_MAX + 300];

			snprintf(path, sizeof(path), "%s/%s", dir,
				 names[i]->d_name);
			if (unlink(path) < 0)
				LOG_ERR("cannot prune %s: %s", path,
					strerror(errno));
		}
		free(names[i]);
	}
	free(names);
}

int archive_state(const struct msr_config *cfg, struct msr_state *st,
		  const char *job_id, const char *result, struct msr_err *err)
{
	char path[MSR_CONFIG_PATH_MAX + 128], stamp[32];
	int rc;

	utc_stamp(stamp, sizeof(stamp), time(NULL));
	snprintf(path, sizeof(path), "%s/archive/%s-job%s-%s.json",
		 cfg->state_dir, stamp, job_id, result);
	rc = msr_state_save(path, st, MSR_FILE_PRIVATE, err);
	if (rc < 0)
		return rc;
	prune_archive(cfg);
	return 0;
}

/*
 * A snapshot that does not parse (the boot id that would retire it is in
 * the unreadable part) but was last written before this boot began: a
 * power loss cut it short.  Its values would mean nothing now anyway, as
 * a stale snapshot's, so it is moved aside (never pruned) rather than
 * draining the node on every prolog.  Returns 0 when it was moved.
 */
int retire_unreadable(const struct msr_config *cfg, char *moved, size_t cap,
		      struct msr_err *err)
{
	char path[MSR_CONFIG_PATH_MAX + 16], stamp[32];
	int64_t booted = boot_time();
	struct stat sb;

	path_in(path, sizeof(path), cfg, SNAPSHOT_NAME);
	if (lstat(path, &sb) < 0 || !S_ISREG(sb.st_mode) || booted == 0 ||
	    (int64_t)sb.st_mtime >= booted)
		return -EAGAIN; /* from this boot: corrupt, not stale */
	utc_stamp(stamp, sizeof(stamp), time(NULL));
	snprintf(moved, cap, "%s/archive/%s-unreadable-stale.json.failed",
		 cfg->state_dir, stamp);
	if (rename(path, moved) < 0)
		return msr_err_set(err, -errno, "cannot move %s to %s: %s",
				   path, moved, strerror(errno));
	return 0;
}
