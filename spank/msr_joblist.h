/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The allowlists: the node's baseline (and STATE/node.json, where a
 * prolog records it with the device directory), a job's list built
 * from its profile, and putting the baseline back.  Part of the msr-safe SPANK
 * plugin; no Slurm dependency (logging goes through msr_log.h).
 */
#ifndef MSR_JOBLIST_H
#define MSR_JOBLIST_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "msr_job.h"
#include "msr_statedir.h"

/*
 * Where the devices are and which list is the node's resting state.  The
 * prolog that takes a snapshot records both; epilogs and recoveries put
 * MSRs back with them, so an edit of the site file made during a job (or
 * one that no longer parses) cannot change how that job is undone.
 */
struct node_setup {
	char device_dir[MSR_CONFIG_PATH_MAX];
	char baseline_path[MSR_CONFIG_PATH_MAX + 64];
	struct msr_allowlist baseline;
};

struct json_object;
struct dirent;

void node_setup_free(struct node_setup *ns);

int node_setup_from_config(const struct msr_config *cfg, struct node_setup *ns,
			   struct msr_err *err);

int node_setup_write(const struct msr_config *cfg,
		     const struct msr_job_ctx *job, const struct node_setup *ns,
		     struct msr_err *err);

int node_setup_get(const struct msr_job_ctx *job, struct node_setup *ns,
		   struct msr_err *err);

bool profile_available(const struct msr_config *cfg, const char *profile,
		       char *why, size_t cap);

int build_job_list(const struct msr_config *cfg, const char *profile,
		   const struct msr_allowlist *baseline,
		   struct msr_allowlist *out, char *desc, size_t cap,
		   struct msr_err *err);

bool allowlist_is_live(struct msr_dev *dev, const struct msr_allowlist *want);

int reinstall_baseline(struct msr_dev *dev, const struct msr_allowlist *base);

int reinstall_node_baseline(const struct msr_job_ctx *job);

bool profile_elevated(const struct msr_config *cfg, const char *name);

#endif /* MSR_JOBLIST_H */
