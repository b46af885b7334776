/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Finishing a snapshot: restore what changed, verify, reinstall the
 * baseline, archive; and loading the live snapshot after checking it
 * is this node's.  Part of the msr-safe SPANK plugin; no Slurm
 * dependency (logging goes through msr_log.h).
 */
#ifndef MSR_RESTORE_H
#define MSR_RESTORE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "msr_job.h"
#include "msr_audit.h"

struct json_object;
struct dirent;

int finish_snapshot(const struct msr_job_ctx *job, struct msr_state *st,
		    const char *result, struct json_object *jobs,
		    struct event *ev);

int load_snapshot(const struct msr_config *cfg, const char *node,
		  struct msr_state **st, struct msr_err *err);

#endif /* MSR_RESTORE_H */
