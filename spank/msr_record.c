// SPDX-License-Identifier: GPL-2.0-only
/*
 * STATE/jobs/ID.json: one record per job using the node's snapshot.
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
#include "msr_record.h"
#include "msr_live.h"

static void record_path(char *buf, size_t cap, const struct msr_config *cfg,
			const char *job_id)
{
	snprintf(buf, cap, "%s/jobs/%s.json", cfg->state_dir, job_id);
}

/* A JSON string, or null for "" (an id the job does not have). */
static struct json_object *json_or_null(const char *s)
{
	return s[0] ? json_object_new_string(s) : NULL;
}

int record_write(const struct msr_config *cfg, const struct job_record *r,
		 struct msr_err *err)
{
	char path[MSR_CONFIG_PATH_MAX + 64];
	struct json_object *o = json_object_new_object();
	int rc;

	if (!o)
		return msr_err_set(err, -ENOMEM, "out of memory");
	json_object_object_add(o, "format",
			       json_object_new_string(JOB_RECORD_FMT));
	json_object_object_add(o, "version", json_object_new_int(1));
	json_object_object_add(o, "job_id", json_object_new_string(r->job_id));
	json_object_object_add(o, "uid", json_object_new_int64(r->uid));
	json_object_object_add(o, "user", json_object_new_string(r->user));
	json_object_object_add(o, "partition",
			       json_object_new_string(r->partition));
	json_object_object_add(o, "node", json_object_new_string(r->node));
	json_object_object_add(o, "boot_id",
			       json_object_new_string(r->boot_id));
	json_object_object_add(
	    o, "requested",
	    r->requested[0] ? json_object_new_string(r->requested) : NULL);
	json_object_object_add(o, "profile",
			       json_object_new_string(r->profile));
	json_object_object_add(o, "status", json_object_new_string(r->status));
	json_object_object_add(o, "reason", json_object_new_string(r->reason));
	json_object_object_add(o, "slurmd", json_object_new_string(r->slurmd));
	json_object_object_add(o, "started", json_object_new_int64(r->started));
	json_object_object_add(o, "array_job", json_or_null(r->array_job_id));
	json_object_object_add(o, "array_task", json_or_null(r->array_task_id));
	json_object_object_add(o, "het_job", json_or_null(r->het_job_id));
	record_path(path, sizeof(path), cfg, r->job_id);
	rc = msr_json_write(path, o, 0600, RECORD_WRITE, err);
	json_object_put(o);
	return rc;
}

/* Ids reach the audit log: digits only, or none. */
static bool digits_or_empty(const char *s)
{
	return strspn(s, "0123456789") == strlen(s);
}

/*
 * -ENOENT when there is no record for @job_id; -EBADMSG naming the field
 * for anything else than exactly the fields record_write() writes, with
 * their types (as strict as libmsrsave's state loader).  The array and
 * het ids may be absent: a job whose prolog ran before an upgrade of the
 * plugin still gets its epilog.
 */
int record_load(const struct msr_config *cfg, const char *job_id,
		struct job_record *r, struct msr_err *err)
{
	static const struct {
		const char *key;
		size_t off, cap; /* cap 0: not a string field */
		bool nullable, optional;
	} fields[] = {
#define STR_FIELD(f, n)                      \
	{#f, offsetof(struct job_record, f), \
	 sizeof(((struct job_record *)0)->f), n, false}
#define ID_FIELD(key, f)                                            \
	{                                                           \
		key, offsetof(struct job_record, f),                \
		    sizeof(((struct job_record *)0)->f), true, true \
	}
	    STR_FIELD(job_id, false),
	    STR_FIELD(user, false),
	    STR_FIELD(partition, false),
	    STR_FIELD(node, false),
	    STR_FIELD(boot_id, false),
	    STR_FIELD(requested, true),
	    STR_FIELD(profile, false),
	    STR_FIELD(status, false),
	    STR_FIELD(reason, false),
	    STR_FIELD(slurmd, false),
	    ID_FIELD("array_job", array_job_id),
	    ID_FIELD("array_task", array_task_id),
	    ID_FIELD("het_job", het_job_id),
#undef ID_FIELD
#undef STR_FIELD
	    {"format", 0, 0, false, false},
	    {"version", 0, 0, false, false},
	    {"uid", 0, 0, false, false},
	    {"started", 0, 0, false, false},
	};
	const size_t nfields = sizeof(fields) / sizeof(*fields);
	size_t required = 0;
	char path[MSR_CONFIG_PATH_MAX + 64];
	struct json_object *o = NULL, *v;
	const char *bad = "not a JSON object";
	size_t seen = 0;
	int64_t n;
	int rc;

	memset(r, 0, sizeof(*r));
	record_path(path, sizeof(path), cfg, job_id);
	/* libmsrsave's strict JSON: no trailing text, no duplicate keys. */
	rc = msr_json_read(path, RECORD_MAX, MSR_FILE_PRIVATE, &o, err);
	if (rc < 0)
		goto out;
	if (!json_object_is_type(o, json_type_object))
		goto bad;
	json_object_object_foreach(o, key, val)
	{
		size_t i = 0;

		while (i < nfields && strcmp(fields[i].key, key) != 0)
			i++;
		bad = key;
		if (i == nfields)
			goto bad; /* unknown field */
		seen += !fields[i].optional;
		if (!fields[i].cap)
			continue;
		if (!val && fields[i].nullable)
			continue;
		if (!json_object_is_type(val, json_type_string) ||
		    (size_t)json_object_get_string_len(val) >= fields[i].cap)
			goto bad;
		memcpy((char *)r + fields[i].off, json_object_get_string(val),
		       (size_t)json_object_get_string_len(val) + 1);
	}
	for (size_t i = 0; i < nfields; i++)
		required += !fields[i].optional;
	bad = "missing field";
	if (seen != required)
		goto bad;
	bad = "format";
	if (strcmp(json_str(o, "format"), JOB_RECORD_FMT) != 0)
		goto bad;
	bad = "version";
	json_object_object_get_ex(o, "version", &v);
	if (!json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) != 1)
		goto bad;
	bad = "uid";
	json_object_object_get_ex(o, "uid", &v);
	n = json_object_get_int64(v);
	if (!json_object_is_type(v, json_type_int) || n < 0 || n > UINT32_MAX)
		goto bad;
	r->uid = (uint32_t)n;
	bad = "started";
	json_object_object_get_ex(o, "started", &v);
	if (!json_object_is_type(v, json_type_int))
		goto bad;
	r->started = json_object_get_int64(v);
	bad = "job_id";
	if (strcmp(r->job_id, job_id) != 0)
		goto bad;
	bad = "array_job";
	if (!digits_or_empty(r->array_job_id))
		goto bad;
	bad = "array_task";
	if (!digits_or_empty(r->array_task_id))
		goto bad;
	bad = "het_job";
	if (!digits_or_empty(r->het_job_id))
		goto bad;
	bad = "status";
	if (strcmp(r->status, "active") != 0 &&
	    strcmp(r->status, "refused") != 0 &&
	    strcmp(r->status, "released") != 0)
		goto bad;
	rc = 0;
	goto out;
bad:
	rc = msr_err_set(err, -EBADMSG, "%s: not a valid job record (%s)", path,
			 bad);
out:
	json_object_put(o);
	return rc;
}

void record_remove(const struct msr_config *cfg, const char *job_id)
{
	char path[MSR_CONFIG_PATH_MAX + 64];

	record_path(path, sizeof(path), cfg, job_id);
	if (unlink(path) < 0 && errno != ENOENT)
		LOG_ERR("cannot remove %s: %s", path, strerror(errno));
}

/*
 * The job's epilog ran but failed: its record no longer counts as a live
 * user of the snapshot (else the kept snapshot would wait for this slurmd
 * to restart), but stays beside it as ID.json.failed for inspection.
 */
void retire_record(const struct msr_config *cfg, const char *job_id)
{
	char path[MSR_CONFIG_PATH_MAX + 64], kept[MSR_CONFIG_PATH_MAX + 80];

	record_path(path, sizeof(path), cfg, job_id);
	snprintf(kept, sizeof(kept), "%s.failed", path);
	if (rename(path, kept) < 0 && errno != ENOENT)
		LOG_ERR("cannot rename %s: %s", path, strerror(errno));
}

/* The first @n characters of @name are a valid job id. */
static bool job_id_part(const char *name, size_t n)
{
	char id[32];

	if (n >= sizeof(id))
		return false;
	memcpy(id, name, n);
	id[n] = '\0';
	return msr_job_id_valid(id);
}

/* Job ids with a record, except @skip (may be NULL). */
int record_list(const struct msr_config *cfg, const char *skip,
		char (**ids)[32], size_t *n, struct msr_err *err)
{
	char path[MSR_CONFIG_PATH_MAX + 16];
	char(*list)[32] = NULL;
	size_t count = 0;
	struct dirent *de;
	DIR *d;

	path_in(path, sizeof(path), cfg, "jobs");
	d = opendir(path);
	if (!d && errno == ENOENT) {
		/* No prolog has run here yet: no records. */
		*ids = NULL;
		*n = 0;
		return 0;
	}
	if (!d)
		return msr_err_set(err, -errno, "%s: %s", path,
				   strerror(errno));
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);

		if (len <= 5 || len - 5 >= 32 ||
		    strcmp(de->d_name + len - 5, ".json") != 0 ||
		    !job_id_part(de->d_name, len - 5))
			continue; /* not ID.json: never becomes a path */
		char(*grown)[32] = realloc(list, (count + 1) * sizeof(*list));

		if (!grown) {
			closedir(d);
			free(list);
			return msr_err_set(err, -ENOMEM, "out of memory");
		}
		list = grown;
		memcpy(list[count], de->d_name, len - 5);
		list[count][len - 5] = '\0';
		if (skip && strcmp(list[count], skip) == 0)
			continue;
		count++;
	}
	closedir(d);
	*ids = list;
	*n = count;
	return 0;
}

void fill_record(struct job_record *r, const struct msr_job_ctx *job,
		 const char *boot_id, const char *profile, const char *why)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->job_id, sizeof(r->job_id), "%s", job->job_id);
	r->uid = job->uid;
	snprintf(r->user, sizeof(r->user), "%s", job->user);
	snprintf(r->partition, sizeof(r->partition), "%s", job->partition);
	snprintf(r->node, sizeof(r->node), "%s", job->node);
	snprintf(r->boot_id, sizeof(r->boot_id), "%s", boot_id);
	if (job->has_request)
		snprintf(r->requested, sizeof(r->requested), "%s",
			 job->requested);
	snprintf(r->profile, sizeof(r->profile), "%.63s", profile);
	snprintf(r->status, sizeof(r->status), "%s",
		 why[0] ? "refused" : "active");
	snprintf(r->reason, sizeof(r->reason), "%s", why);
	slurmd_instance(r->slurmd, sizeof(r->slurmd));
	r->started = time(NULL);
	snprintf(r->array_job_id, sizeof(r->array_job_id), "%s",
		 job->array_job_id);
	snprintf(r->array_task_id, sizeof(r->array_task_id), "%s",
		 job->array_task_id);
	snprintf(r->het_job_id, sizeof(r->het_job_id), "%s", job->het_job_id);
}
