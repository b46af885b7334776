// SPDX-License-Identifier: GPL-2.0-only
/*
 * STATE/audit.log: one JSON line per prolog, epilog and recovery.
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
#include "msr_audit.h"

/*
 * audit.log is capped: past AUDIT_MAX bytes it becomes audit.log.1
 * (replacing the previous one), so a node that runs many short jobs
 * never fills its disk; two generations keep recent history for people.
 */
#define AUDIT_MAX (16L * 1024 * 1024)

static void rotate_audit(const char *path)
{
	char old[MSR_CONFIG_PATH_MAX + 32];
	struct stat sb;

	if (lstat(path, &sb) < 0 || sb.st_size < AUDIT_MAX)
		return;
	snprintf(old, sizeof(old), "%s.1", path);
	if (rename(path, old) < 0)
		LOG_ERR("cannot rotate %s: %s", path, strerror(errno));
}

void audit(const struct msr_config *cfg, const struct msr_job_ctx *job,
	   const struct event *ev)
{
	char path[MSR_CONFIG_PATH_MAX + 16];
	struct json_object *o = json_object_new_object();
	const char *text;
	int fd;

	if (!o)
		return;
	json_object_object_add(o, "time", json_object_new_int64(time(NULL)));
	json_object_object_add(o, "event", json_object_new_string(ev->kind));
	json_object_object_add(o, "node", json_object_new_string(job->node));
	json_object_object_add(o, "job", json_object_new_string(job->job_id));
	/* Array and heterogeneous jobs: which one this job id is part of. */
	if (job->array_job_id[0])
		json_object_object_add(
		    o, "array_job", json_object_new_string(job->array_job_id));
	if (job->array_task_id[0])
		json_object_object_add(
		    o, "array_task",
		    json_object_new_string(job->array_task_id));
	if (job->het_job_id[0])
		json_object_object_add(o, "het_job",
				       json_object_new_string(job->het_job_id));
	json_object_object_add(o, "uid", json_object_new_int64(job->uid));
	json_object_object_add(o, "user", json_object_new_string(job->user));
	json_object_object_add(o, "partition",
			       json_object_new_string(job->partition));
	json_object_object_add(
	    o, "requested",
	    job->has_request ? json_object_new_string(job->requested) : NULL);
	json_object_object_add(o, "profile",
			       ev->profile ? json_object_new_string(ev->profile)
					   : NULL);
	json_object_object_add(o, "outcome",
			       json_object_new_string(ev->outcome));
	if (ev->message[0])
		json_object_object_add(o, "message",
				       json_object_new_string(ev->message));
	json_object_object_add(o, "cpus",
			       json_object_new_int64((int64_t)ev->ncpus));
	json_object_object_add(o, "msrs",
			       json_object_new_int64((int64_t)ev->nmsrs));
	json_object_object_add(o, "changed",
			       json_object_new_int64((int64_t)ev->changed));
	json_object_object_add(o, "restored",
			       json_object_new_int64((int64_t)ev->restored));
	json_object_object_add(o, "failures",
			       json_object_new_int64((int64_t)ev->failures));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	path_in(path, sizeof(path), cfg, "audit.log");
	rotate_audit(path);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd >= 0) {
		size_t len = strlen(text);
		char *line = malloc(len + 2);

		if (line) {
			memcpy(line, text, len);
			line[len] = '\n';
			if (write(fd, line, len + 1) != (ssize_t)(len + 1))
				LOG_ERR("cannot append to %s: %s", path,
					strerror(errno));
			free(line);
		}
		close(fd);
	} else {
		LOG_ERR("cannot open %s: %s", path, strerror(errno));
	}
	json_object_put(o);
}
