/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Is a job still on this node?  Judged from processes a user cannot
 * fake: root's slurmstepd, and the slurmd that ran the job's prolog.  Part of
 * the msr-safe SPANK plugin; no Slurm dependency (logging goes through
 * msr_log.h).
 */
#ifndef MSR_LIVE_H
#define MSR_LIVE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "msr_job.h"
#include "msr_statedir.h"

struct json_object;
struct dirent;

void slurmd_instance(char *buf, size_t cap);

enum job_liveness {
	JOB_ENDED,	 /* no record, or released: its epilog ran */
	JOB_UNSEEN,	 /* not released, but nothing of it is left here */
	JOB_SLURMD_ONLY, /* no slurmstepd; the prolog's slurmd still runs */
	JOB_STEPD,	 /* a root slurmstepd of the job runs */
};

enum job_liveness record_liveness(const struct msr_config *cfg,
				  const char *job_id);

/* record_liveness() is SLURMD_ONLY or STEPD (the operator's view, cleanup). */
bool record_is_live(const struct msr_config *cfg, const char *job_id);

#endif /* MSR_LIVE_H */
