/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * STATE/audit.log: one JSON line per prolog, epilog and recovery.  Part of the
 * msr-safe SPANK plugin; no Slurm dependency (logging goes through msr_log.h).
 */
#ifndef MSR_AUDIT_H
#define MSR_AUDIT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "msr_job.h"
#include "msr_statedir.h"

/* What one event did, for the audit line. */
struct event {
	const char *kind; /* prolog, epilog, recovery */
	const char *outcome;
	const char *profile;
	char message[WHY_MAX];
	size_t ncpus, nmsrs, changed, restored, failures;
};

struct json_object;
struct dirent;

void audit(const struct msr_config *cfg, const struct msr_job_ctx *job,
	   const struct event *ev);

#endif /* MSR_AUDIT_H */
