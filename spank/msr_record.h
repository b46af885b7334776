/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * STATE/jobs/ID.json: one record per job using the node's snapshot.  Part of
 * the msr-safe SPANK plugin; no Slurm dependency (logging goes through
 * msr_log.h).
 */
#ifndef MSR_RECORD_H
#define MSR_RECORD_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "msr_job.h"
#include "msr_statedir.h"

#define JOB_RECORD_FMT "msr-safe-job"

struct job_record {
	char job_id[32];
	uint32_t uid;
	char user[64];
	char partition[64];
	char node[256];
	char boot_id[64];
	char requested[MSR_CONFIG_NAME_MAX + 64];
	char profile[MSR_CONFIG_NAME_MAX];
	char status[16]; /* "active", "refused" or "released" */
	char reason[WHY_MAX];
	char slurmd[64]; /* "PID:STARTTIME" of the slurmd that ran the prolog */
	int64_t started;
	/*
	 * Array task and heterogeneous component ("" when not one): the
	 * prolog knows only het_job; the batch step adds the array ids.
	 */
	char array_job_id[32];
	char array_task_id[32];
	char het_job_id[32];
};

struct json_object;
struct dirent;

int record_write(const struct msr_config *cfg, const struct job_record *r,
		 struct msr_err *err);

int record_load(const struct msr_config *cfg, const char *job_id,
		struct job_record *r, struct msr_err *err);

void record_remove(const struct msr_config *cfg, const char *job_id);

void retire_record(const struct msr_config *cfg, const char *job_id);

int record_list(const struct msr_config *cfg, const char *skip,
		char (**ids)[32], size_t *n, struct msr_err *err);

void fill_record(struct job_record *r, const struct msr_job_ctx *job,
		 const char *boot_id, const char *profile, const char *why);

#endif /* MSR_RECORD_H */
