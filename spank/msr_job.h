/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Node-side work of the msr-safe SPANK plugin: the job prolog and epilog
 * (snapshot, restore, crash recovery, audit) and the refusal record read
 * back by a job's steps.  Everything that must survive from prolog to
 * epilog lives in the state directory:
 *
 *   STATE/lock              flock(2) serialising prologs and epilogs
 *   STATE/snapshot.json     the node snapshot (libmsrsave state file)
 *   STATE/node.json         device dir and baseline the prolog used
 *   STATE/jobs/ID.json      one record per job using the snapshot
 *   STATE/archive/NAME.json finished snapshots with their "outcome"
 *   STATE/audit.log         one JSON line per prolog/epilog event
 *   STATE/FAILED-jobID      root-only marker of a failed epilog/prolog
 */
#ifndef MSR_JOB_H
#define MSR_JOB_H

#include <stdbool.h>
#include <stdint.h>

#include "msr_config.h"

struct msr_job_ctx {
	const struct msr_config *cfg;
	char job_id[32];
	/* Set (digits) for array tasks and heterogeneous components. */
	char array_job_id[32];
	char array_task_id[32];
	char het_job_id[32];
	uint32_t uid;
	char user[64];
	char partition[64];
	char node[256];
	char requested[MSR_CONFIG_NAME_MAX + 64]; /* raw --msr-profile value */
	bool has_request;
	/*
	 * Slurm's PrologFlags lack Contain: no extern step runs for the
	 * whole allocation, so between steps the job has no slurmstepd and
	 * liveness rests on slurmd alone.  The prolog says so in its log
	 * and audit line.
	 */
	bool no_extern_step;
	/*
	 * slurmctld's view of another job (NULL without Slurm): 1 when it
	 * still runs there, 0 when it does not, negative when unknown.
	 * Asked only when the local view says a job using the snapshot is
	 * gone: its slurmstepds can be killed and slurmd restarted while
	 * the job's processes (and MSR values) stay.
	 */
	int (*job_running)(const char *job_id);
	/*
	 * Epilog only: the site file did not parse (this message); @cfg holds
	 * what did, and the job's MSRs are put back from what the prolog
	 * recorded (STATE/node.json, the job record, the snapshot).
	 */
	const char *config_error;
};

/* Each returns 0, or a negative errno after logging what failed. */
int msr_job_prolog(const struct msr_job_ctx *job);
int msr_job_epilog(const struct msr_job_ctx *job);

/*
 * The operator's way out of a drained node (msr-safe-state resolve): with
 * no job live on the node, restore a kept snapshot as the next prolog
 * would (or, with @discard, move it aside unrestored), then remove the
 * FAILED-job markers and audit.  @op names the node; its job id is "0".
 */
int msr_job_resolve(const struct msr_job_ctx *op, bool discard);

/*
 * The batch step of an array task: put its array ids (from slurmctld's
 * launch message; no prolog environment has them) into the job's record,
 * so the epilog's audit line names the array.  0 also when the job has
 * no record; a negative errno after logging.
 */
int msr_job_note_array(const struct msr_config *cfg, const char *job_id,
		       const char *array_job, const char *array_task);

/*
 * For a job's steps: 1 and a message in @why when the prolog refused the
 * job's profile (or left no record), 0 when the job may run.
 */
int msr_job_refusal(const struct msr_config *cfg, const char *job_id,
		    const char *node, char *why, size_t cap);

#endif /* MSR_JOB_H */
