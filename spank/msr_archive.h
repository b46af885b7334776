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

int archive_state(const struct msr_config *cfg, struct msr_state *st,
		  const char *job_id, const char *result, struct msr_err *err);

int retire_unreadable(const struct msr_config *cfg, char *moved, size_t cap,
		      struct msr_err *err);

#endif /* MSR_ARCHIVE_H */
