/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The state directory: its paths, trust checks, lock, boot id, and the
 * one way the parts write and parse their files.  Part of the msr-safe SPANK
 * plugin; no Slurm dependency (logging goes through msr_log.h).
 */
#ifndef MSR_STATEDIR_H
#define MSR_STATEDIR_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "msr_job.h"

#define SNAPSHOT_NAME	 "snapshot.json"
#define NODE_RECORD_NAME "node.json"
#define RECORD_MAX	 (64 * 1024)
#define WHY_MAX		 1536

/*
 * How state files are written: always atomically and private (root's 0700
 * directory, mode 0600).  The snapshot is also durable (file and
 * directory synced): a power loss leaves the old or the new one, never an
 * empty one.  Records, node.json, archives and markers skip the sync (a
 * few ms each on a busy disk, every job): after a power loss the boot id
 * retires everything the earlier boot wrote, and a leftover that no
 * longer parses is stale too (retire_unreadable()).
 */
#define STATE_WRITE  (MSR_FILE_SYNC | MSR_FILE_PRIVATE)
#define RECORD_WRITE MSR_FILE_PRIVATE

struct json_object;
struct dirent;

void path_in(char *buf, size_t cap, const struct msr_config *cfg,
	     const char *rel);

int read_boot_id(const struct msr_config *cfg, char *buf, size_t cap,
		 struct msr_err *err);

int lock_state(const struct msr_config *cfg, int *fd_out, struct msr_err *err);

void utc_stamp(char *buf, size_t cap, time_t t);

const char *json_str(struct json_object *o, const char *key);

int write_private_file(const char *path, const char *text, unsigned int flags,
		       struct msr_err *err);

int64_t boot_time(void);

#endif /* MSR_STATEDIR_H */
