/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * STATE/archive/ (finished snapshots, pruned to KeepArchives) and the
 * FAILED-jobID markers.  Part of the msr-safe SPANK plugin; no Slurm
 * dependency (logging goes through msr_log.h).
 */
#ifndef MSR_ARCHIVE_H
#define MSR_ARCHIVE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "msr_job.h"
#include "msr_statedir.h"

struct json_object;
struct dirent;

void failure_marker(const struct msr_config *cfg, const char *job_id,
		    const char *text);

/*
 * A snapshot's "outcome" object, started: result, time, node, by_job (the
 * job whose prolog or epilog finished it) and @jobs (a reference is
 * taken).  NULL when out of memory.
 */
struct json_object *outcome_new(const struct msr_job_ctx *job,
				const char *result, struct json_object *jobs);

int archive_state(const struct msr_config *cfg, struct msr_state *st,
		  const char *job_id, const char *result, struct msr_err *err);

int retire_unreadable(const struct msr_config *cfg, char *moved, size_t cap,
		      struct msr_err *err);

#endif /* MSR_ARCHIVE_H */
