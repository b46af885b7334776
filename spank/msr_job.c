// SPDX-License-Identifier: GPL-2.0-only
/*
 * Prolog/epilog logic of the msr-safe SPANK plugin.  Runs as root in a
 * fresh slurmstepd per event, so everything shared lives on disk under
 * the state directory, serialised by flock(2).  See msr_job.h for the
 * layout.
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
#include <slurm/spank.h>

#include "msr_job.h"

#define LOG_ERR(fmt, ...)  slurm_error("msr-safe: " fmt, ##__VA_ARGS__)
#define LOG_INFO(fmt, ...) slurm_info("msr-safe: " fmt, ##__VA_ARGS__)

#define SNAPSHOT_NAME	 "snapshot.json"
#define NODE_RECORD_NAME "node.json"
/* The profile recorded for jobs on a node whose profile was withdrawn. */
#define SHARED_PROFILE	"baseline"
#define NODE_RECORD_FMT "msr-safe-node"
#define JOB_RECORD_FMT	"msr-safe-job"
#define RECORD_MAX	(64 * 1024)
#define WHY_MAX		1536

struct job_record {
	char job_id[32];
	uint32_t uid;
	char user[64];
	char partition[64];
	char node[256];
	char boot_id[64];
	char requested[MSR_CONFIG_NAME_MAX + 64];
	char profile[MSR_CONFIG_NAME_MAX];
	char status[16]; /* "active" or "refused" */
	char reason[WHY_MAX];
	char slurmd[64]; /* "PID:STARTTIME" of the slurmd that ran the prolog */
	int64_t started;
};

/* What one event did, for the audit line. */
struct event {
	const char *kind; /* prolog, epilog, recovery */
	const char *outcome;
	const char *profile;
	char message[WHY_MAX];
	size_t ncpus, nmsrs, changed, restored, failures;
};

/* ---- small helpers ------------------------------------------------------ */

static void path_in(char *buf, size_t cap, const struct msr_config *cfg,
		    const char *rel)
{
	snprintf(buf, cap, "%s/%s", cfg->state_dir, rel);
}

static int read_boot_id(const struct msr_config *cfg, char *buf, size_t cap,
			struct msr_err *err)
{
	char *text = NULL;
	size_t len = 0;
	int rc = msr_read_file(cfg->boot_id_file, 256, &text, &len, err);

	if (rc < 0)
		return rc;
	while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
		text[--len] = '\0';
	if (len == 0 || len >= cap) {
		free(text);
		return msr_err_set(err, -EINVAL, "%s: not a boot id",
				   cfg->boot_id_file);
	}
	snprintf(buf, cap, "%s", text);
	free(text);
	return 0;
}

/* A directory we trust: root's, not writable by anybody else. */
static int ensure_dir(const char *path, struct msr_err *err)
{
	struct stat sb;

	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return msr_err_set(err, -errno, "cannot create %s: %s", path,
				   strerror(errno));
	if (lstat(path, &sb) < 0)
		return msr_err_set(err, -errno, "%s: %s", path,
				   strerror(errno));
	if (!S_ISDIR(sb.st_mode) || sb.st_uid != 0 || (sb.st_mode & 0022))
		return msr_err_set(err, -EPERM,
				   "%s: must be a directory owned by root and "
				   "writable only by root",
				   path);
	return 0;
}

/* STATE, STATE/jobs and STATE/archive, each root's and private. */
static int ensure_state_dirs(const struct msr_config *cfg, struct msr_err *err)
{
	static const char *const subdirs[] = {"jobs", "archive"};
	char dir[MSR_CONFIG_PATH_MAX + 16];
	int rc = ensure_dir(cfg->state_dir, err);

	for (size_t i = 0; rc == 0 && i < 2; i++) {
		path_in(dir, sizeof(dir), cfg, subdirs[i]);
		rc = ensure_dir(dir, err);
	}
	return rc;
}

/* The state directory's lock; it lives there, so the directories first. */
static int lock_state(const struct msr_config *cfg, int *fd_out,
		      struct msr_err *err)
{
	char path[MSR_CONFIG_PATH_MAX + 16];
	int fd, rc;

	rc = ensure_state_dirs(cfg, err);
	if (rc < 0)
		return rc;
	path_in(path, sizeof(path), cfg, "lock");
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return msr_err_set(err, -errno, "cannot open lock %s: %s", path,
				   strerror(errno));
	for (unsigned int waited = 0;; waited++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			break;
		if (errno != EWOULDBLOCK || waited >= cfg->lock_timeout * 10) {
			rc = msr_err_set(
			    err, errno == EWOULDBLOCK ? -ETIMEDOUT : -errno,
			    "cannot lock %s within %u s", path,
			    cfg->lock_timeout);
			close(fd);
			return rc;
		}
		usleep(100000);
	}
	*fd_out = fd;
	return 0;
}

static void utc_stamp(char *buf, size_t cap, time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, cap, "%Y%m%dT%H%M%SZ", &tm);
}

static const char *json_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/*
 * Is @pid a real slurmstepd: owned by root and running an executable
 * named slurmstepd?  A process title is free for any user to choose
 * (exec -a), so the title alone would let anybody keep a finished job's
 * profile and snapshot alive.
 */
static bool is_slurmstepd(const char *pid)
{
	char path[300], exe[MSR_CONFIG_PATH_MAX];
	const char *base;
	struct stat sb;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%s", pid);
	if (stat(path, &sb) < 0 || sb.st_uid != 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%s/exe", pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = '\0';
	base = strrchr(exe, '/');
	base = base ? base + 1 : exe;
	/* " (deleted)": slurmstepd replaced by a package upgrade. */
	return strcmp(base, "slurmstepd") == 0 ||
	       strcmp(base, "slurmstepd (deleted)") == 0;
}

/*
 * Is a job still present on this node?  Every job step, and with
 * PrologFlags=Contain the job's whole allocation, has a slurmstepd whose
 * process title is "slurmstepd: [JOBID.STEP]"; only root's slurmstepd
 * processes count (is_slurmstepd).
 */
static bool job_is_live(const char *job_id)
{
	char want[64];
	size_t wlen;
	DIR *d = opendir("/proc");
	struct dirent *de;
	bool live = false;

	if (!d)
		return true; /* cannot tell: do not restore under a job */
	wlen = (size_t)snprintf(want, sizeof(want), "slurmstepd: [%s.", job_id);
	while (!live && (de = readdir(d))) {
		char path[300], buf[128];
		ssize_t n;
		int fd;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		if ((size_t)n >= wlen && strncmp(buf, want, wlen) == 0 &&
		    is_slurmstepd(de->d_name))
			live = true;
	}
	closedir(d);
	return live;
}

/*
 * "PID:STARTTIME" of the slurmd running this prolog/epilog (the nearest
 * ancestor named slurmd), or "" when there is none.  While that same
 * slurmd runs, it will run the epilog of every job it started, so such a
 * job counts as live even in the moment between its prolog and the start
 * of its first slurmstepd.
 */
static void slurmd_instance(char *buf, size_t cap)
{
	pid_t pid = getppid();

	buf[0] = '\0';
	for (int depth = 0; depth < 8 && pid > 1; depth++) {
		char path[64], stat[1024], *comm_end;
		unsigned long long start = 0;
		int ppid = 0, fd;
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return;
		n = read(fd, stat, sizeof(stat) - 1);
		close(fd);
		if (n <= 0)
			return;
		stat[n] = '\0';
		comm_end = strrchr(stat, ')');
		if (!comm_end ||
		    sscanf(comm_end + 2,
			   "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u "
			   "%*d %*d %*d %*d %*d %*d %llu",
			   &ppid, &start) != 2)
			return;
		if (strstr(stat, " (slurmd)") == strchr(stat, ' ')) {
			snprintf(buf, cap, "%d:%llu", (int)pid, start);
			return;
		}
		pid = ppid;
	}
}

/* ---- audit log ---------------------------------------------------------- */

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

static void audit(const struct msr_config *cfg, const struct msr_job_ctx *job,
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

/* ---- job records -------------------------------------------------------- */

static void record_path(char *buf, size_t cap, const struct msr_config *cfg,
			const char *job_id)
{
	snprintf(buf, cap, "%s/jobs/%s.json", cfg->state_dir, job_id);
}

/*
 * How state files are written: atomically, private (root's 0700 directory,
 * mode 0600) and durably (file and directory synced) for what a later
 * prolog or epilog must read back after a crash or power loss: snapshot,
 * node record, job records.  Archives and markers are for people and skip
 * the sync.
 */
#define STATE_WRITE (MSR_FILE_SYNC | MSR_FILE_PRIVATE)

static int write_private_file(const char *path, const char *text,
			      unsigned int flags, struct msr_err *err)
{
	return msr_file_write(path, text, strlen(text), 0600, flags, err);
}

static int record_write(const struct msr_config *cfg,
			const struct job_record *r, struct msr_err *err)
{
	char path[MSR_CONFIG_PATH_MAX + 64];
	struct json_object *o = json_object_new_object();
	const char *text;
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
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
	record_path(path, sizeof(path), cfg, r->job_id);
	rc = write_private_file(path, text, STATE_WRITE, err);
	json_object_put(o);
	return rc;
}

/* The whole text is one JSON object and nothing else (but blanks). */
static struct json_object *parse_object(const char *text, size_t len)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o;
	size_t end;

	if (!tok)
		return NULL;
	o = json_tokener_parse_ex(tok, text, (int)len);
	end = (size_t)json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (o && (!json_object_is_type(o, json_type_object) ||
		  strspn(text + end, " \t\r\n") != len - end)) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

/*
 * -ENOENT when there is no record for @job_id; -EBADMSG naming the field
 * for anything else than exactly the fields record_write() writes, with
 * their types (as strict as libmsrsave's state loader).
 */
static int record_load(const struct msr_config *cfg, const char *job_id,
		       struct job_record *r, struct msr_err *err)
{
	static const struct {
		const char *key;
		size_t off, cap; /* cap 0: not a string field */
		bool nullable;
	} fields[] = {
#define STR_FIELD(f, n)                      \
	{#f, offsetof(struct job_record, f), \
	 sizeof(((struct job_record *)0)->f), n}
	    STR_FIELD(job_id, false),	 STR_FIELD(user, false),
	    STR_FIELD(partition, false), STR_FIELD(node, false),
	    STR_FIELD(boot_id, false),	 STR_FIELD(requested, true),
	    STR_FIELD(profile, false),	 STR_FIELD(status, false),
	    STR_FIELD(reason, false),	 STR_FIELD(slurmd, false),
#undef STR_FIELD
	    {"format", 0, 0, false},	 {"version", 0, 0, false},
	    {"uid", 0, 0, false},	 {"started", 0, 0, false},
	};
	char path[MSR_CONFIG_PATH_MAX + 64];
	struct json_object *o = NULL, *v;
	const char *bad = "not a JSON object";
	char *text = NULL;
	size_t len, seen = 0;
	int64_t n;
	int rc;

	memset(r, 0, sizeof(*r));
	record_path(path, sizeof(path), cfg, job_id);
	rc =
	    msr_file_read(path, RECORD_MAX, MSR_FILE_PRIVATE, &text, &len, err);
	if (rc < 0)
		goto out;
	o = parse_object(text, len);
	if (!o)
		goto bad;
	json_object_object_foreach(o, key, val)
	{
		size_t i = 0;

		while (i < sizeof(fields) / sizeof(*fields) &&
		       strcmp(fields[i].key, key) != 0)
			i++;
		bad = key;
		if (i == sizeof(fields) / sizeof(*fields))
			goto bad; /* unknown field */
		seen++;
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
	bad = "missing field";
	if (seen != sizeof(fields) / sizeof(*fields))
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
	free(text);
	return rc;
}

/*
 * A job still using the snapshot: recorded, not released, and alive (a
 * slurmstepd of it runs, or the slurmd that ran its prolog still runs).
 * A record that cannot be read is judged by the job's processes alone:
 * a corrupt record must neither let another epilog restore underneath a
 * running job nor keep a finished one alive for ever.
 */
static bool record_is_live(const struct msr_config *cfg, const char *job_id)
{
	char self[64];
	struct job_record rec;
	struct msr_err err = {{0}};
	int rc = record_load(cfg, job_id, &rec, &err);

	if (rc == -ENOENT)
		return false;
	if (rc < 0) {
		LOG_ERR("%s", err.msg);
		return job_is_live(job_id);
	}
	if (strcmp(rec.status, "released") == 0)
		return false;
	if (job_is_live(job_id))
		return true;
	slurmd_instance(self, sizeof(self));
	return self[0] && strcmp(self, rec.slurmd) == 0;
}

static void record_remove(const struct msr_config *cfg, const char *job_id)
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
static void retire_record(const struct msr_config *cfg, const char *job_id)
{
	char path[MSR_CONFIG_PATH_MAX + 64], kept[MSR_CONFIG_PATH_MAX + 80];

	record_path(path, sizeof(path), cfg, job_id);
	snprintf(kept, sizeof(kept), "%s.failed", path);
	if (rename(path, kept) < 0 && errno != ENOENT)
		LOG_ERR("cannot rename %s: %s", path, strerror(errno));
}

/* Job ids with a record, except @skip (may be NULL). */
static int record_list(const struct msr_config *cfg, const char *skip,
		       char (**ids)[32], size_t *n, struct msr_err *err)
{
	char path[MSR_CONFIG_PATH_MAX + 16];
	char(*list)[32] = NULL;
	size_t count = 0;
	struct dirent *de;
	DIR *d;

	path_in(path, sizeof(path), cfg, "jobs");
	d = opendir(path);
	if (!d)
		return msr_err_set(err, -errno, "%s: %s", path,
				   strerror(errno));
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);

		if (len <= 5 || len - 5 >= 32 ||
		    strcmp(de->d_name + len - 5, ".json") != 0 ||
		    strspn(de->d_name, "0123456789") != len - 5)
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

/* ---- allowlists --------------------------------------------------------- */

/* A path, or a directory holding al_<FF>_<M> for this CPU. */
static int resolve_list_path(const struct msr_config *cfg, const char *path,
			     char *out, size_t cap, struct msr_err *err)
{
	struct msr_cpu_id id;
	struct stat sb;
	char name[64];
	int rc;

	if (stat(path, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
		snprintf(out, cap, "%s", path);
		return 0;
	}
	rc = msr_cpu_identify(cfg->cpuinfo_file, &id, err);
	if (rc < 0)
		return rc;
	msr_allowlist_name(&id, name, sizeof(name));
	snprintf(out, cap, "%s/%s", path, name);
	return 0;
}

static int load_baseline(const struct msr_config *cfg, struct msr_allowlist *al,
			 char *used, size_t cap, struct msr_err *err)
{
	int rc;

	if (strcmp(cfg->baseline, "auto") == 0)
		rc = resolve_list_path(cfg, cfg->allowlist_dir, used, cap, err);
	else
		rc = resolve_list_path(cfg, cfg->baseline, used, cap, err);
	if (rc < 0)
		return rc;
	return msr_allowlist_load(used, al, err);
}

/* ---- the node's set-up as the prolog used it (STATE/node.json) ----------- */

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

static void node_setup_free(struct node_setup *ns)
{
	msr_allowlist_free(&ns->baseline);
}

/* From the site configuration, as a prolog sees it now. */
static int node_setup_from_config(const struct msr_config *cfg,
				  struct node_setup *ns, struct msr_err *err)
{
	memset(ns, 0, sizeof(*ns));
	snprintf(ns->device_dir, sizeof(ns->device_dir), "%s", cfg->device_dir);
	return load_baseline(cfg, &ns->baseline, ns->baseline_path,
			     sizeof(ns->baseline_path), err);
}

static int node_setup_write(const struct msr_config *cfg,
			    const struct msr_job_ctx *job,
			    const struct node_setup *ns, struct msr_err *err)
{
	char path[MSR_CONFIG_PATH_MAX + 16];
	struct json_object *o = json_object_new_object();
	char *text = NULL;
	size_t len;
	int rc;

	if (!o)
		return msr_err_set(err, -ENOMEM, "out of memory");
	rc = msr_allowlist_render(&ns->baseline, &text, &len, err);
	if (rc < 0)
		goto out;
	json_object_object_add(o, "format",
			       json_object_new_string(NODE_RECORD_FMT));
	json_object_object_add(o, "version", json_object_new_int(1));
	json_object_object_add(o, "host", json_object_new_string(job->node));
	json_object_object_add(o, "device_dir",
			       json_object_new_string(ns->device_dir));
	json_object_object_add(o, "baseline_path",
			       json_object_new_string(ns->baseline_path));
	json_object_object_add(o, "baseline", json_object_new_string(text));
	path_in(path, sizeof(path), cfg, NODE_RECORD_NAME);
	rc = write_private_file(
	    path, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY),
	    STATE_WRITE, err);
out:
	free(text);
	json_object_put(o);
	return rc;
}

/* What the prolog recorded; -ENOENT when nothing was. */
static int node_setup_load(const struct msr_config *cfg, const char *node,
			   struct node_setup *ns, struct msr_err *err)
{
	char path[MSR_CONFIG_PATH_MAX + 16];
	struct json_object *o = NULL;
	const char *dev, *bpath, *base, *host;
	char *text = NULL;
	size_t len;
	int rc;

	memset(ns, 0, sizeof(*ns));
	path_in(path, sizeof(path), cfg, NODE_RECORD_NAME);
	rc = msr_file_read(path, RECORD_MAX * 16, MSR_FILE_PRIVATE, &text, &len,
			   err);
	if (rc < 0)
		goto out;
	o = json_tokener_parse(text);
	rc = msr_err_set(err, -EBADMSG, "%s: not a valid node record", path);
	if (!o || !json_object_is_type(o, json_type_object))
		goto out;
	host = json_str(o, "host");
	dev = json_str(o, "device_dir");
	bpath = json_str(o, "baseline_path");
	base = json_str(o, "baseline");
	if (!json_str(o, "format") ||
	    strcmp(json_str(o, "format"), NODE_RECORD_FMT) != 0 || !host ||
	    !dev || dev[0] != '/' || strlen(dev) >= sizeof(ns->device_dir) ||
	    !bpath || strlen(bpath) >= sizeof(ns->baseline_path) || !base)
		goto out;
	if (strcmp(host, node) != 0) {
		rc = msr_err_set(
		    err, -EXDEV,
		    "%s belongs to node %s, not %s: the state "
		    "directory must be per node (StateDir with %%n)",
		    path, host, node);
		goto out;
	}
	snprintf(ns->device_dir, sizeof(ns->device_dir), "%s", dev);
	snprintf(ns->baseline_path, sizeof(ns->baseline_path), "%s", bpath);
	rc = msr_allowlist_parse(base, strlen(base), path, &ns->baseline, err);
out:
	json_object_put(o);
	free(text);
	return rc;
}

/*
 * The recorded set-up, else (no record, from before records existed) the
 * site configuration's, unless that did not parse.
 */
static int node_setup_get(const struct msr_job_ctx *job, struct node_setup *ns,
			  struct msr_err *err)
{
	int rc = node_setup_load(job->cfg, job->node, ns, err);

	if (rc != -ENOENT)
		return rc;
	if (job->config_error)
		return msr_err_set(err, -ENOENT,
				   "no %s/%s and the site configuration does "
				   "not parse: %s",
				   job->cfg->state_dir, NODE_RECORD_NAME,
				   job->config_error);
	return node_setup_from_config(job->cfg, ns, err);
}

/*
 * A profile whose overlay directory has no file for this CPU model is not
 * available on this node: refused like a profile the partition does not
 * permit, rather than failing the prolog.
 */
static bool profile_available(const struct msr_config *cfg, const char *profile,
			      char *why, size_t cap)
{
	const struct msr_profile *p = msr_config_profile(cfg, profile);
	char path[MSR_CONFIG_PATH_MAX + 64];
	struct msr_err err = {{0}};
	struct stat sb;

	for (size_t i = 0; p && i < p->noverlays; i++) {
		if (stat(p->overlays[i], &sb) < 0 || !S_ISDIR(sb.st_mode))
			continue;
		if (resolve_list_path(cfg, p->overlays[i], path, sizeof(path),
				      &err) < 0 ||
		    access(path, F_OK) < 0) {
			snprintf(why, cap,
				 "profile '%s' is not available on this node's "
				 "CPU model (no %.1000s)",
				 profile, path);
			return false;
		}
	}
	return true;
}

/* Baseline merged with every overlay of @profile. */
static int build_job_list(const struct msr_config *cfg, const char *profile,
			  const struct msr_allowlist *baseline,
			  struct msr_allowlist *out, char *desc, size_t cap,
			  struct msr_err *err)
{
	const struct msr_profile *p = msr_config_profile(cfg, profile);
	struct msr_allowlist acc = {0};
	size_t used = strlen(desc);
	int rc;

	if (!p)
		return msr_err_set(err, -ENOENT, "unknown profile '%s'",
				   profile);
	rc = msr_allowlist_merge(baseline, &acc, out, err);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < p->noverlays; i++) {
		char path[MSR_CONFIG_PATH_MAX + 64];
		struct msr_allowlist overlay = {0}, merged = {0};

		rc = resolve_list_path(cfg, p->overlays[i], path, sizeof(path),
				       err);
		if (rc < 0)
			goto fail;
		rc = msr_allowlist_load(path, &overlay, err);
		if (rc < 0)
			goto fail;
		rc = msr_allowlist_merge(out, &overlay, &merged, err);
		msr_allowlist_free(&overlay);
		if (rc < 0)
			goto fail;
		msr_allowlist_free(out);
		*out = merged;
		if (used < cap)
			used += (size_t)snprintf(desc + used, cap - used,
						 " + %s", path);
	}
	return 0;
fail:
	msr_allowlist_free(out);
	return rc;
}

/*
 * Is @want already the live list?  Then installing it again would change
 * nothing (on a file-backed tree it would cost two fsyncs).
 */
static bool allowlist_is_live(struct msr_dev *dev,
			      const struct msr_allowlist *want)
{
	struct msr_allowlist live = {0};
	struct msr_err err = {{0}};
	bool same;

	if (msr_dev_allowlist_read(dev, &live, &err) < 0)
		return false;
	same = live.count == want->count;
	for (size_t i = 0; same && i < live.count; i++)
		same = live.entries[i].msr == want->entries[i].msr &&
		       live.entries[i].wmask == want->entries[i].wmask;
	msr_allowlist_free(&live);
	return same;
}

/* Put the baseline back; logs and returns an error when that fails. */
static int reinstall_baseline(struct msr_dev *dev,
			      const struct msr_allowlist *base)
{
	struct msr_err err = {{0}};
	int rc = 0;

	if (!allowlist_is_live(dev, base))
		rc = msr_dev_allowlist_install(dev, base, &err);
	if (rc < 0)
		LOG_ERR("cannot reinstall the baseline allowlist: %s", err.msg);
	return rc;
}

/* The same from scratch, for failure paths: 0 when the baseline is back. */
static int reinstall_node_baseline(const struct msr_job_ctx *job)
{
	struct node_setup ns;
	struct msr_dev *dev = NULL;
	struct msr_err err = {{0}};
	int rc = node_setup_get(job, &ns, &err);

	if (rc == 0)
		rc = msr_dev_open(ns.device_dir, &dev, &err);
	if (rc == 0)
		rc = reinstall_baseline(dev, &ns.baseline);
	else
		LOG_ERR("cannot reinstall the baseline allowlist: %s", err.msg);
	msr_dev_close(dev);
	node_setup_free(&ns);
	return rc;
}

/* ---- finishing a snapshot: restore, verify, archive --------------------- */

/*
 * STATE/FAILED-jobID: what failed (@text), then what the operator does
 * next, so a drained node explains itself to whoever reads its state.
 */
static void failure_marker(const struct msr_config *cfg, const char *job_id,
			   const char *text)
{
	char path[MSR_CONFIG_PATH_MAX + 64];
	struct msr_err err = {{0}};
	static const char next[] =
	    "Next: read the lines above and the slurmd log (\"msr-safe:\"), "
	    "fix the cause (device, site file, state file), then resume the "
	    "node (scontrol update nodename=NODE state=resume).  The next "
	    "prolog restores a kept snapshot.json first; one that cannot be "
	    "used (corrupt, from another node) must be moved into archive/ "
	    "by hand after a look with 'msrsave show'.  Remove this file "
	    "when done.\n";
	size_t tlen = strlen(text);
	char *full = malloc(tlen + sizeof(next) + 1);

	snprintf(path, sizeof(path), "%s/FAILED-job%s", cfg->state_dir, job_id);
	if (!full) {
		LOG_ERR("cannot leave failure marker %s: out of memory", path);
		return;
	}
	memcpy(full, text, tlen);
	full[tlen] = '\n';
	memcpy(full + tlen + 1, next, sizeof(next));
	if (write_private_file(path, full, MSR_FILE_PRIVATE, &err) < 0)
		LOG_ERR("cannot leave failure marker %s: %s", path, err.msg);
	free(full);
}

static struct json_object *hex64(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%016llx", (unsigned long long)v);
	return json_object_new_string(buf);
}

static struct json_object *hex32(uint32_t v)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "0x%08x", v);
	return json_object_new_string(buf);
}

/* Finished state files: STAMP-jobID-RESULT.json (".json.failed" are kept). */
static int is_archive_json(const struct dirent *de)
{
	size_t len = strlen(de->d_name);

	return len > 5 && strcmp(de->d_name + len - 5, ".json") == 0;
}

/* Oldest first: by the UTC stamp, then numerically by job id. */
static int archive_order(const struct dirent **a, const struct dirent **b)
{
	const char *ja = strstr((*a)->d_name, "-job");
	const char *jb = strstr((*b)->d_name, "-job");
	int c = strncmp((*a)->d_name, (*b)->d_name, 16);

	if (c || !ja || !jb)
		return c ? c : strcmp((*a)->d_name, (*b)->d_name);
	unsigned long long na = strtoull(ja + 4, NULL, 10);
	unsigned long long nb = strtoull(jb + 4, NULL, 10);

	if (na != nb)
		return na < nb ? -1 : 1;
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Keep the newest KeepArchives finished state files. */
static void prune_archive(const struct msr_config *cfg)
{
	struct msr_err err = {{0}};
	char dir[MSR_CONFIG_PATH_MAX + 16];
	struct dirent **names = NULL;
	int n;

	path_in(dir, sizeof(dir), cfg, "archive");
	/* A writer killed mid-write leaves its temp file; an hour is ample. */
	if (msr_file_prune_temps(dir, 3600, NULL, &err) < 0)
		LOG_ERR("%s", err.msg);
	n = scandir(dir, &names, is_archive_json, archive_order);
	if (n < 0)
		return;
	for (int i = 0; i < n; i++) {
		if (i < n - (int)cfg->keep_archives) {
			char path[MSR_CONFIG_PATH_MAX + 300];

			snprintf(path, sizeof(path), "%s/%s", dir,
				 names[i]->d_name);
			if (unlink(path) < 0)
				LOG_ERR("cannot prune %s: %s", path,
					strerror(errno));
		}
		free(names[i]);
	}
	free(names);
}

static int archive_state(const struct msr_config *cfg, struct msr_state *st,
			 const char *job_id, const char *result,
			 struct msr_err *err)
{
	char path[MSR_CONFIG_PATH_MAX + 128], stamp[32];
	int rc;

	utc_stamp(stamp, sizeof(stamp), time(NULL));
	snprintf(path, sizeof(path), "%s/archive/%s-job%s-%s.json",
		 cfg->state_dir, stamp, job_id, result);
	rc = msr_state_save(path, st, MSR_FILE_PRIVATE, err);
	if (rc < 0)
		return rc;
	prune_archive(cfg);
	return 0;
}

/*
 * The part of @saved to write back: every MSR the job changed on some CPU
 * (@diff, from comparing @saved with @now) or that cannot be read now.
 * The rest was just read back equal, so rewriting and re-verifying it
 * would only cost time.  @part borrows @saved's arrays; free only
 * part->msrs.
 */
static int changed_subset(const struct msr_state *saved,
			  const struct msr_state *now,
			  const struct msr_report *diff, struct msr_state *part,
			  struct msr_err *err)
{
	bool comparable =
	    now->nmsrs == saved->nmsrs && now->ncpus == saved->ncpus;

	*part = *saved;
	part->outcome = NULL;
	part->msrs =
	    calloc(saved->nmsrs ? saved->nmsrs : 1, sizeof(*part->msrs));
	if (!part->msrs)
		return msr_err_set(err, -ENOMEM, "out of memory");
	part->nmsrs = 0;
	for (size_t i = 0; i < saved->nmsrs; i++) {
		bool take =
		    !comparable || now->msrs[i].msr != saved->msrs[i].msr;

		for (size_t k = 0; !take && k < diff->count; k++)
			take = diff->items[k].msr == saved->msrs[i].msr;
		for (size_t c = 0; !take && c < now->ncpus; c++)
			take = now->msrs[i].errs[c] != 0;
		if (take)
			part->msrs[part->nmsrs++] = saved->msrs[i];
	}
	return 0;
}

/*
 * The last job out (or a recovery): put every saved value back under the
 * snapshot's own list, verify, reinstall the baseline, archive with the
 * outcome.  On failure the snapshot stays in place for a later retry and
 * a failure marker is left.  @jobs are the job ids that used the snapshot.
 */
static int finish_snapshot(const struct msr_job_ctx *job, struct msr_state *st,
			   const char *result, struct json_object *jobs,
			   struct event *ev)
{
	const struct msr_config *cfg = job->cfg;
	struct node_setup ns = {0};
	char snap[MSR_CONFIG_PATH_MAX + 16];
	struct msr_allowlist list = {0};
	struct msr_dev *dev = NULL;
	struct msr_state *now = NULL;
	struct msr_report changed = {0}, rep = {0}, vrep = {0};
	struct msr_state partial = {0};
	struct msr_err err = {{0}};
	struct json_object *outcome = NULL, *arr;
	char *marker = NULL;
	size_t mlen = 0;
	FILE *mf = NULL;
	int rc, restore_rc = 0;

	ev->ncpus = st->ncpus;
	ev->nmsrs = st->nmsrs;
	path_in(snap, sizeof(snap), cfg, SNAPSHOT_NAME);
	rc = node_setup_get(job, &ns, &err);
	if (rc < 0)
		goto fail;
	rc = msr_dev_open(ns.device_dir, &dev, &err);
	if (rc < 0)
		goto fail;
	/* The job's list makes every saved MSR writable again. */
	rc = msr_allowlist_parse(st->allowlist_text, strlen(st->allowlist_text),
				 snap, &list, &err);
	if (rc < 0)
		goto fail;
	if (!allowlist_is_live(dev, &list)) {
		rc = msr_dev_allowlist_install(dev, &list, &err);
		if (rc < 0)
			goto fail;
	}
	rc = msr_snapshot(dev, &list, st->allowlist_path,
			  MSR_SNAP_WRITABLE_ONLY, &now, &err);
	if (rc < 0)
		goto fail;
	rc = msr_state_diff(st, now, &changed, &err);
	if (rc < 0)
		goto fail;
	rc = changed_subset(st, now, &changed, &partial, &err);
	if (rc < 0)
		goto fail;
	restore_rc = msr_restore(dev, &partial, &rep, &err);
	if (restore_rc < 0 && rep.count == 0) {
		rc = restore_rc;
		goto fail;
	}
	if (restore_rc < 0) {
		/*
		 * What counts is the value left behind: verify reads each one
		 * back, so a failed write shows the value actually in place
		 * (and a failed write of a value already right is no failure).
		 */
		restore_rc = msr_verify(dev, &partial, &vrep, &err);
		if (restore_rc < 0 && vrep.count == 0) {
			rc = restore_rc;
			goto fail;
		}
		for (size_t i = 0; i < vrep.count; i++) {
			for (size_t k = 0; k < rep.count && !vrep.items[i].err;
			     k++) {
				if (rep.items[k].cpu == vrep.items[i].cpu &&
				    rep.items[k].msr == vrep.items[i].msr)
					vrep.items[i].err = rep.items[k].err;
			}
		}
	}

	outcome = json_object_new_object();
	if (!outcome) {
		rc = msr_err_set(&err, -ENOMEM, "out of memory");
		goto fail;
	}
	json_object_object_add(
	    outcome, "result",
	    json_object_new_string(restore_rc < 0 ? "restore-failed" : result));
	json_object_object_add(outcome, "time",
			       json_object_new_int64(time(NULL)));
	json_object_object_add(outcome, "node",
			       json_object_new_string(job->node));
	json_object_object_add(outcome, "by_job",
			       json_object_new_string(job->job_id));
	json_object_object_add(outcome, "jobs", json_object_get(jobs));
	arr = json_object_new_array();
	for (size_t i = 0; i < changed.count; i++) {
		const struct msr_mismatch *m = &changed.items[i];
		struct json_object *c = json_object_new_object();

		json_object_object_add(c, "cpu", json_object_new_int(m->cpu));
		json_object_object_add(c, "msr", hex32(m->msr));
		json_object_object_add(c, "saved", hex64(m->expected));
		json_object_object_add(c, "found", hex64(m->actual));
		json_object_array_add(arr, c);
	}
	json_object_object_add(outcome, "changed", arr);
	json_object_object_add(outcome, "written",
			       json_object_new_int64((int64_t)rep.written));
	json_object_object_add(outcome, "unreadable",
			       json_object_new_int64((int64_t)rep.unreadable));
	arr = json_object_new_array();
	mf = open_memstream(&marker, &mlen);
	for (size_t i = 0; i < vrep.count; i++) {
		const struct msr_mismatch *m = &vrep.items[i];
		struct json_object *c = json_object_new_object();

		json_object_object_add(c, "cpu", json_object_new_int(m->cpu));
		json_object_object_add(c, "msr", hex32(m->msr));
		json_object_object_add(c, "expected", hex64(m->expected));
		json_object_object_add(c, "actual", hex64(m->actual));
		json_object_object_add(
		    c, "error",
		    m->err ? json_object_new_string(msr_op_strerror(m->err))
			   : NULL);
		json_object_array_add(arr, c);
		LOG_ERR("restore failed on %s: cpu %d msr 0x%08x expected "
			"0x%016llx actual 0x%016llx%s%s",
			job->node, m->cpu, m->msr,
			(unsigned long long)m->expected,
			(unsigned long long)m->actual, m->err ? ": " : "",
			m->err ? msr_op_strerror(m->err) : "");
		if (mf)
			fprintf(mf,
				"cpu %d msr 0x%08x expected 0x%016llx actual "
				"0x%016llx%s%s\n",
				m->cpu, m->msr, (unsigned long long)m->expected,
				(unsigned long long)m->actual,
				m->err ? " " : "",
				m->err ? msr_op_strerror(m->err) : "");
	}
	if (mf)
		fclose(mf);
	json_object_object_add(outcome, "failures", arr);
	ev->changed = changed.count;
	ev->restored = rep.written;
	ev->failures = vrep.count;

	rc = reinstall_baseline(dev, &ns.baseline);
	if (restore_rc < 0) {
		char head[MSR_CONFIG_PATH_MAX + 512];

		snprintf(head, sizeof(head),
			 "msr-safe: restore of %s failed on node %s (job %s): "
			 "%zu value(s) not restored; state kept\n",
			 snap, job->node, job->job_id, vrep.count);
		size_t hl = strlen(head), bl = marker ? mlen : 0;
		char *full = malloc(hl + bl + 1);

		if (full) {
			memcpy(full, head, hl);
			if (bl)
				memcpy(full + hl, marker, bl);
			full[hl + bl] = '\0';
			failure_marker(cfg, job->job_id, full);
			free(full);
		}
		/* Keep the snapshot as it was; the outcome goes in a copy. */
		json_object_put(st->outcome);
		st->outcome = json_object_get(outcome);
		{
			char path[MSR_CONFIG_PATH_MAX + 128], stamp[32];
			struct msr_err e2 = {{0}};

			utc_stamp(stamp, sizeof(stamp), time(NULL));
			snprintf(
			    path, sizeof(path),
			    "%s/archive/%s-job%s-restore-failed.json.failed",
			    cfg->state_dir, stamp, st->job.id);
			msr_state_save(path, st, MSR_FILE_PRIVATE, &e2);
		}
		snprintf(ev->message, sizeof(ev->message),
			 "%zu value(s) not restored", vrep.count);
		ev->outcome = "restore-failed";
		LOG_ERR("restore failed on node %s: %zu value(s) not restored; "
			"kept %s",
			job->node, vrep.count, snap);
		rc = -EIO;
		goto out;
	}
	if (rc < 0) {
		failure_marker(cfg, job->job_id,
			       "msr-safe: values restored but the baseline "
			       "allowlist could not be reinstalled\n");
		snprintf(ev->message, sizeof(ev->message),
			 "baseline reinstall failed");
		ev->outcome = "failed";
		goto out;
	}
	json_object_put(st->outcome);
	st->outcome = json_object_get(outcome);
	/* Named by the job the snapshot belongs to, not by who finished it. */
	rc = archive_state(cfg, st, st->job.id, result, &err);
	if (rc < 0)
		goto fail;
	if (unlink(snap) < 0) {
		rc = msr_err_set(&err, -errno, "cannot remove %s: %s", snap,
				 strerror(errno));
		goto fail;
	}
	ev->outcome = result;
	rc = 0;
	goto out;
fail:
	LOG_ERR("restore on node %s (job %s) failed: %s", job->node,
		job->job_id, err.msg);
	snprintf(ev->message, sizeof(ev->message), "%s", err.msg);
	ev->outcome = "failed";
	{
		char text[WHY_MAX + 64];

		snprintf(text, sizeof(text), "msr-safe: %s\n", err.msg);
		failure_marker(cfg, job->job_id, text);
	}
	if (dev)
		reinstall_baseline(dev, &ns.baseline);
	else
		reinstall_node_baseline(job);
out:
	node_setup_free(&ns);
	free(marker);
	json_object_put(outcome);
	msr_report_free(&changed);
	msr_report_free(&rep);
	msr_report_free(&vrep);
	free(partial.msrs);
	msr_state_free(now);
	msr_allowlist_free(&list);
	msr_dev_close(dev);
	return rc;
}

/*
 * Load STATE/snapshot.json after checking it is ours to trust.  Returns
 * -ENOENT when there is none; any other error means a corrupted or unsafe
 * state file.
 */
static int load_snapshot(const struct msr_config *cfg, const char *node,
			 struct msr_state **st, struct msr_err *err)
{
	char path[MSR_CONFIG_PATH_MAX + 16];
	int rc;

	path_in(path, sizeof(path), cfg, SNAPSHOT_NAME);
	rc = msr_state_read(path, MSR_FILE_PRIVATE, st, err);
	if (rc < 0)
		return rc;
	if (!(*st)->has_job || !(*st)->allowlist_text || !(*st)->job.id[0] ||
	    strspn((*st)->job.id, "0123456789") != strlen((*st)->job.id)) {
		msr_state_free(*st);
		*st = NULL;
		return msr_err_set(err, -EBADMSG,
				   "%s: has no job (numeric id) or allowlist",
				   path);
	}
	if (strcmp((*st)->host, node) != 0) {
		/* A shared StateDir: another node's values, never ours. */
		rc = msr_err_set(
		    err, -EXDEV,
		    "%s: belongs to node %s, not %s: the state "
		    "directory must be per node (StateDir with %%n)",
		    path, (*st)->host, node);
		msr_state_free(*st);
		*st = NULL;
		return rc;
	}
	return 0;
}

static void corrupt(const struct msr_config *cfg, const struct msr_job_ctx *job,
		    const char *what, const struct msr_err *err,
		    struct event *ev)
{
	char text[sizeof(err->msg) + 128];

	snprintf(text, sizeof(text),
		 "msr-safe: %s: corrupted or unsafe state file, kept for "
		 "inspection: %s\n",
		 what, err->msg);
	LOG_ERR("%s: corrupted or unsafe state file on node %s, kept: %s", what,
		job->node, err->msg);
	failure_marker(cfg, job->job_id, text);
	ev->outcome = "corrupt-state";
	snprintf(ev->message, sizeof(ev->message), "%s", err->msg);
}

/* When this boot began (/proc/stat "btime"), 0 when unknown. */
static int64_t boot_time(void)
{
	char line[256];
	long long t = 0;
	FILE *f = fopen("/proc/stat", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "btime %lld", &t) == 1)
			break;
	}
	fclose(f);
	return t;
}

/*
 * A snapshot that does not parse (the boot id that would retire it is in
 * the unreadable part) but was last written before this boot began: a
 * power loss cut it short.  Its values would mean nothing now anyway, as
 * a stale snapshot's, so it is moved aside (never pruned) rather than
 * draining the node on every prolog.  Returns 0 when it was moved.
 */
static int retire_unreadable(const struct msr_config *cfg, char *moved,
			     size_t cap, struct msr_err *err)
{
	char path[MSR_CONFIG_PATH_MAX + 16], stamp[32];
	int64_t booted = boot_time();
	struct stat sb;

	path_in(path, sizeof(path), cfg, SNAPSHOT_NAME);
	if (lstat(path, &sb) < 0 || !S_ISREG(sb.st_mode) || booted == 0 ||
	    (int64_t)sb.st_mtime >= booted)
		return -EAGAIN; /* from this boot: corrupt, not stale */
	utc_stamp(stamp, sizeof(stamp), time(NULL));
	snprintf(moved, cap, "%s/archive/%s-unreadable-stale.json.failed",
		 cfg->state_dir, stamp);
	if (rename(path, moved) < 0)
		return msr_err_set(err, -errno, "cannot move %s to %s: %s",
				   path, moved, strerror(errno));
	return 0;
}

/*
 * Before a prolog does anything: deal with a snapshot nobody alive owns.
 * From another boot it is archived unrestored (those values mean nothing
 * now); from this boot it is restored.  A snapshot with a live job stays.
 * *shared is set when it stays.
 */
static int recover(const struct msr_config *cfg, const struct msr_job_ctx *job,
		   const char *boot_id, struct msr_state **kept)
{
	struct event ev = {.kind = "recovery", .outcome = "none"};
	struct msr_state *st = NULL;
	struct msr_err err = {{0}};
	struct json_object *jobs = NULL;
	char(*ids)[32] = NULL;
	size_t nids = 0, live = 0;
	int rc;

	*kept = NULL;
	rc = record_list(cfg, job->job_id, &ids, &nids, &err);
	if (rc < 0) {
		LOG_ERR("%s", err.msg);
		return rc;
	}
	rc = load_snapshot(cfg, job->node, &st, &err);
	if (rc == -EBADMSG) {
		char moved[MSR_CONFIG_PATH_MAX + 128];
		struct msr_err why = err;

		if (retire_unreadable(cfg, moved, sizeof(moved), &err) == 0) {
			LOG_INFO("moved an unreadable snapshot from an earlier "
				 "boot to %s unrestored (%s)",
				 moved, why.msg);
			ev.outcome = "stale";
			snprintf(ev.message, sizeof(ev.message),
				 "unreadable snapshot from an earlier boot "
				 "moved to %.1000s unrestored: %.400s",
				 moved, why.msg);
			audit(cfg, job, &ev);
			rc = -ENOENT;
		} else {
			err = why;
		}
	}
	if (rc == -ENOENT) {
		/* Records without a snapshot are left-overs of a crash. */
		for (size_t i = 0; i < nids; i++) {
			if (!record_is_live(cfg, ids[i]))
				record_remove(cfg, ids[i]);
		}
		rc = 0;
		goto out;
	}
	if (rc < 0) {
		corrupt(cfg, job, "prolog", &err, &ev);
		audit(cfg, job, &ev);
		rc = -EBADMSG;
		goto out;
	}
	ev.profile = st->job.profile;
	jobs = json_object_new_array();
	for (size_t i = 0; i < nids; i++)
		json_object_array_add(jobs, json_object_new_string(ids[i]));
	if (strcmp(st->boot_id, boot_id) != 0) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "result",
				       json_object_new_string("stale"));
		json_object_object_add(o, "time",
				       json_object_new_int64(time(NULL)));
		json_object_object_add(o, "node",
				       json_object_new_string(job->node));
		json_object_object_add(o, "by_job",
				       json_object_new_string(job->job_id));
		json_object_object_add(o, "jobs", json_object_get(jobs));
		json_object_object_add(o, "boot_id_now",
				       json_object_new_string(boot_id));
		json_object_put(st->outcome);
		st->outcome = o;
		rc = archive_state(cfg, st, st->job.id, "stale", &err);
		if (rc == 0) {
			char path[MSR_CONFIG_PATH_MAX + 16];

			path_in(path, sizeof(path), cfg, SNAPSHOT_NAME);
			if (unlink(path) < 0)
				rc = msr_err_set(&err, -errno,
						 "cannot remove %s: %s", path,
						 strerror(errno));
		}
		if (rc < 0) {
			LOG_ERR("cannot archive a stale snapshot: %s", err.msg);
			ev.outcome = "failed";
			snprintf(ev.message, sizeof(ev.message), "%s", err.msg);
		} else {
			LOG_INFO("archived a snapshot of job %s from boot %s "
				 "unrestored (this boot is %s)",
				 st->job.id, st->boot_id, boot_id);
			ev.outcome = "stale";
			snprintf(ev.message, sizeof(ev.message),
				 "snapshot of job %s from boot %s archived "
				 "unrestored",
				 st->job.id, st->boot_id);
			for (size_t i = 0; i < nids; i++)
				record_remove(cfg, ids[i]);
		}
		audit(cfg, job, &ev);
		goto out;
	}
	for (size_t i = 0; i < nids; i++) {
		if (record_is_live(cfg, ids[i]))
			live++;
	}
	if (live) {
		*kept = st;
		st = NULL;
		rc = 0;
		goto out;
	}
	LOG_INFO("restoring a snapshot left by job %s (its epilog never ran)",
		 st->job.id);
	rc = finish_snapshot(job, st, "recovered", jobs, &ev);
	if (rc == 0) {
		for (size_t i = 0; i < nids; i++)
			record_remove(cfg, ids[i]);
		snprintf(
		    ev.message, sizeof(ev.message),
		    "restored the snapshot of job %s left without an epilog",
		    st->job.id);
	}
	audit(cfg, job, &ev);
out:
	json_object_put(jobs);
	msr_state_free(st);
	free(ids);
	return rc;
}

/* ---- prolog ------------------------------------------------------------- */

static void fill_record(struct job_record *r, const struct msr_job_ctx *job,
			const char *boot_id, const char *profile,
			const char *why)
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
}

/* A fresh snapshot under this job's list; on failure the baseline is back. */
static int take_snapshot(const struct msr_config *cfg,
			 const struct msr_job_ctx *job, const char *boot_id,
			 const char *profile, struct event *ev,
			 struct msr_err *err)
{
	char snap[MSR_CONFIG_PATH_MAX + 16];
	char desc[MSR_CONFIG_PATH_MAX];
	struct node_setup ns = {0};
	struct msr_allowlist list = {0};
	struct msr_dev *dev = NULL;
	struct msr_state *st = NULL;
	bool installed = false;
	size_t unreadable = 0;
	int rc;

	path_in(snap, sizeof(snap), cfg, SNAPSHOT_NAME);
	rc = node_setup_from_config(cfg, &ns, err);
	if (rc < 0)
		goto fail;
	snprintf(desc, sizeof(desc), "%.4000s", ns.baseline_path);
	rc = build_job_list(cfg, profile, &ns.baseline, &list, desc,
			    sizeof(desc), err);
	if (rc < 0)
		goto fail;
	/* Before the snapshot: whoever restores it needs this. */
	rc = node_setup_write(cfg, job, &ns, err);
	if (rc < 0)
		goto fail;
	rc = msr_dev_open(ns.device_dir, &dev, err);
	if (rc < 0)
		goto fail;
	installed = true;
	if (!allowlist_is_live(dev, &list)) {
		rc = msr_dev_allowlist_install(dev, &list, err);
		if (rc < 0)
			goto fail;
	}
	rc = msr_snapshot(dev, &list, desc, MSR_SNAP_WRITABLE_ONLY, &st, err);
	if (rc < 0)
		goto fail;
	for (size_t i = 0; i < st->nmsrs; i++) {
		for (size_t c = 0; c < st->ncpus; c++) {
			if (st->msrs[i].errs[c] == 0)
				continue;
			unreadable++;
			LOG_INFO("warning: cpu %d msr 0x%08x unreadable (%s): "
				 "it will not be restored",
				 st->cpus[c], st->msrs[i].msr,
				 msr_op_strerror(st->msrs[i].errs[c]));
		}
	}
	snprintf(st->boot_id, sizeof(st->boot_id), "%s", boot_id);
	snprintf(st->host, sizeof(st->host), "%s", job->node);
	st->has_job = true;
	memset(&st->job, 0, sizeof(st->job));
	snprintf(st->job.id, sizeof(st->job.id), "%s", job->job_id);
	st->job.uid = job->uid;
	snprintf(st->job.user, sizeof(st->job.user), "%s", job->user);
	snprintf(st->job.partition, sizeof(st->job.partition), "%s",
		 job->partition);
	snprintf(st->job.profile, sizeof(st->job.profile), "%.63s", profile);
	rc = msr_state_save(snap, st, STATE_WRITE, err);
	if (rc < 0)
		goto fail;
	ev->ncpus = st->ncpus;
	ev->nmsrs = st->nmsrs;
	ev->failures = unreadable;
	rc = 0;
	goto out;
fail:
	if (installed)
		reinstall_baseline(dev, &ns.baseline);
out:
	msr_state_free(st);
	msr_dev_close(dev);
	msr_allowlist_free(&list);
	node_setup_free(&ns);
	return rc;
}

/*
 * A profile that adds to the node's baseline.  Shared-node policy: such a
 * profile is live only while its job is alone on the node, because MSR
 * access is node-wide (every process there could use it).  A profile no
 * longer in the site file counts as one.
 */
static bool profile_elevated(const struct msr_config *cfg, const char *name)
{
	const struct msr_profile *p = msr_config_profile(cfg, name);

	return !p || p->noverlays > 0;
}

/*
 * A job arriving on a node where @shared's jobs are live.  Nobody who did
 * not ask for a profile is refused; a job that asked for one beyond the
 * baseline is (it needs the node to itself); and a profile beyond the
 * baseline that the running job holds is withdrawn (the baseline goes
 * back): from now on every job here has the baseline, so no co-located
 * process can use another job's profile.  Sets @why for a refusal and
 * @note for the audit line; the profile recorded for the job is returned.
 */
static const char *join_shared(const struct msr_job_ctx *job,
			       const struct msr_state *shared, const char *want,
			       char *why, size_t cap, char *note,
			       size_t note_cap, struct msr_err *err)
{
	const struct msr_config *cfg = job->cfg;

	if (!why[0] && job->has_request && profile_elevated(cfg, want))
		snprintf(why, cap,
			 "profile '%s' needs node %s to itself, but job %s "
			 "is running there; submit with --exclusive",
			 want, job->node, shared->job.id);
	if (!profile_elevated(cfg, shared->job.profile))
		return shared->job.profile;
	if (reinstall_node_baseline(job) < 0) {
		msr_err_set(err, -EIO,
			    "cannot withdraw profile '%s' of job %s for job %s",
			    shared->job.profile, shared->job.id, job->job_id);
		return NULL;
	}
	snprintf(note, note_cap,
		 "node shared with job %s: its profile '%s' is withdrawn "
		 "(baseline only from now on)",
		 shared->job.id, shared->job.profile);
	LOG_INFO("job %s: %s", job->job_id, note);
	return SHARED_PROFILE;
}

int msr_job_prolog(const struct msr_job_ctx *job)
{
	const struct msr_config *cfg = job->cfg;
	struct event ev = {.kind = "prolog", .outcome = "failed"};
	char boot_id[64], why[WHY_MAX] = "", note[512] = "";
	const char *want, *profile;
	struct msr_state *shared = NULL;
	struct job_record rec;
	struct msr_err err = {{0}};
	int lock = -1, rc;

	rc = read_boot_id(cfg, boot_id, sizeof(boot_id), &err);
	if (rc < 0)
		goto fail;
	rc = lock_state(cfg, &lock, &err);
	if (rc < 0)
		goto fail;

	rc = recover(cfg, job, boot_id, &shared);
	if (rc < 0) {
		close(lock);
		return rc; /* logged and audited by recover() */
	}

	/* Which profile: the request if permitted, else the default. */
	want = job->has_request
		   ? job->requested
		   : msr_config_partition_default(cfg, job->partition);
	profile = want;
	if (msr_config_check(cfg, job->partition, want, why, sizeof(why)) < 0 ||
	    !profile_available(cfg, want, why, sizeof(why)))
		profile = msr_config_partition_default(cfg, job->partition);

	if (shared) {
		profile = join_shared(job, shared, want, why, sizeof(why), note,
				      sizeof(note), &err);
		if (!profile) {
			rc = -EIO;
			goto fail;
		}
		ev.ncpus = shared->ncpus;
		ev.nmsrs = shared->nmsrs;
	} else {
		rc = take_snapshot(cfg, job, boot_id, profile, &ev, &err);
		if (rc < 0)
			goto fail;
	}
	fill_record(&rec, job, boot_id, profile, why);
	rc = record_write(cfg, &rec, &err);
	if (rc < 0) {
		if (!shared) {
			char snap[MSR_CONFIG_PATH_MAX + 16];

			/* Nothing ran yet: undo the snapshot and list. */
			path_in(snap, sizeof(snap), cfg, SNAPSHOT_NAME);
			unlink(snap);
			reinstall_node_baseline(job);
		}
		goto fail;
	}
	ev.profile = profile;
	if (why[0]) {
		ev.outcome = "refused";
		snprintf(ev.message, sizeof(ev.message), "%s%s%.512s", why,
			 note[0] ? "; " : "", note);
		LOG_INFO("job %s refused: %s (its steps will fail)",
			 job->job_id, why);
	} else {
		ev.outcome = shared ? "joined" : "ok";
		snprintf(ev.message, sizeof(ev.message), "%s", note);
	}
	audit(cfg, job, &ev);
	msr_state_free(shared);
	close(lock);
	return 0;
fail:
	LOG_ERR("prolog for job %s on node %s failed: %s", job->job_id,
		job->node, err.msg);
	snprintf(ev.message, sizeof(ev.message), "%s", err.msg);
	if (lock >= 0)
		audit(cfg, job, &ev);
	msr_state_free(shared);
	if (lock >= 0)
		close(lock);
	return rc < 0 ? rc : -EIO;
}

/* ---- epilog ------------------------------------------------------------- */

/*
 * Every epilog that fails before finish_snapshot() ends here (that one
 * does the same itself): the node's baseline goes back, so no job's
 * writable profile stays live behind a failure; the job's record stops
 * counting as a live user of the snapshot (else every later job would
 * wait behind it); the marker says what to do; the audit log gets its
 * line.  @marker is NULL when corrupt() already left one.
 */
static void epilog_failed(const struct msr_job_ctx *job, const char *marker,
			  struct event *ev)
{
	const struct msr_config *cfg = job->cfg;

	if (reinstall_node_baseline(job) < 0)
		snprintf(ev->message + strlen(ev->message),
			 sizeof(ev->message) - strlen(ev->message),
			 "; the baseline allowlist could not be reinstalled");
	if (marker)
		failure_marker(cfg, job->job_id, marker);
	retire_record(cfg, job->job_id);
	audit(cfg, job, ev);
}

int msr_job_epilog(const struct msr_job_ctx *job)
{
	const struct msr_config *cfg = job->cfg;
	struct event ev = {.kind = "epilog", .outcome = "failed"};
	char boot_id[64];
	struct msr_state *st = NULL;
	struct job_record rec;
	struct msr_err err = {{0}};
	struct json_object *jobs = NULL;
	char(*ids)[32] = NULL;
	size_t nids = 0, live = 0;
	bool have_rec;
	struct stat sb;
	int lock = -1, rc;

	if (job->config_error)
		LOG_ERR("the site configuration does not parse (%s): putting "
			"job %s's MSRs back from what its prolog recorded",
			job->config_error, job->job_id);
	if (lstat(cfg->state_dir, &sb) < 0 && errno == ENOENT) {
		if (!job->config_error)
			return 0; /* never ran a prolog here */
		LOG_ERR("epilog for job %s on node %s failed: %s does not "
			"exist, so whether the job left MSRs changed is "
			"unknown",
			job->job_id, job->node, cfg->state_dir);
		return -ENOENT;
	}
	rc = read_boot_id(cfg, boot_id, sizeof(boot_id), &err);
	if (rc < 0)
		goto fail;
	rc = lock_state(cfg, &lock, &err);
	if (rc < 0)
		goto fail;
	rc = record_load(cfg, job->job_id, &rec, &err);
	if (rc < 0 && rc != -ENOENT) {
		corrupt(cfg, job, "epilog", &err, &ev);
		epilog_failed(job, NULL, &ev);
		goto out;
	}
	have_rec = rc == 0;
	if (!have_rec && job->config_error) {
		/* Not knowing the state dir for sure, "nothing" is no answer.
		 */
		rc =
		    msr_err_set(&err, -ENOENT,
				"no record of job %s in %s and the site "
				"configuration does not parse: %s",
				job->job_id, cfg->state_dir, job->config_error);
		goto fail;
	}
	rc = load_snapshot(cfg, job->node, &st, &err);
	if (rc == -ENOENT) {
		/* No state: nothing to restore (e.g. already recovered). */
		if (have_rec)
			record_remove(cfg, job->job_id);
		ev.outcome = "none";
		snprintf(ev.message, sizeof(ev.message), "no snapshot");
		audit(cfg, job, &ev);
		rc = 0;
		goto out;
	}
	if (rc < 0) {
		corrupt(cfg, job, "epilog", &err, &ev);
		epilog_failed(job, NULL, &ev);
		goto out;
	}
	if (!have_rec && strcmp(st->job.id, job->job_id) != 0) {
		/* Another job's snapshot and no record of ours. */
		ev.outcome = "none";
		snprintf(ev.message, sizeof(ev.message),
			 "no record; the snapshot is job %s's", st->job.id);
		audit(cfg, job, &ev);
		rc = 0;
		goto out;
	}
	ev.profile = st->job.profile;
	if (strcmp(st->boot_id, boot_id) != 0) {
		LOG_ERR("snapshot of job %s is from boot %s, this is boot %s: "
			"leaving it to the next prolog",
			st->job.id, st->boot_id, boot_id);
		record_remove(cfg, job->job_id);
		ev.outcome = "stale";
		audit(cfg, job, &ev);
		rc = 0;
		goto out;
	}
	rc = record_list(cfg, job->job_id, &ids, &nids, &err);
	if (rc < 0)
		goto fail;
	for (size_t i = 0; i < nids; i++) {
		if (record_is_live(cfg, ids[i]))
			live++;
	}
	if (live) {
		/* Kept as "released" so the last job out can list every user.
		 */
		if (have_rec) {
			snprintf(rec.status, sizeof(rec.status), "released");
			rc = record_write(cfg, &rec, &err);
			if (rc < 0)
				goto fail;
		}
		ev.outcome = "released";
		ev.ncpus = st->ncpus;
		ev.nmsrs = st->nmsrs;
		snprintf(ev.message, sizeof(ev.message),
			 "%zu other job(s) still use the snapshot", live);
		audit(cfg, job, &ev);
		rc = 0;
		goto out;
	}
	record_remove(cfg, job->job_id);
	jobs = json_object_new_array();
	json_object_array_add(jobs, json_object_new_string(job->job_id));
	for (size_t i = 0; i < nids; i++) {
		json_object_array_add(jobs, json_object_new_string(ids[i]));
		record_remove(cfg, ids[i]);
	}
	rc = finish_snapshot(job, st, "restored", jobs, &ev);
	if (rc == 0 && job->config_error)
		snprintf(ev.message, sizeof(ev.message),
			 "restored from the prolog's records; the site "
			 "configuration does not parse: %s",
			 job->config_error);
	audit(cfg, job, &ev);
	goto out;
fail:
	LOG_ERR("epilog for job %s on node %s failed: %s", job->job_id,
		job->node, err.msg);
	snprintf(ev.message, sizeof(ev.message), "%s", err.msg);
	{
		char text[sizeof(err.msg) + 400];

		snprintf(text, sizeof(text),
			 "msr-safe: epilog of job %s on node %s failed: %s",
			 job->job_id, job->node, err.msg);
		epilog_failed(job, text, &ev);
	}
out:
	json_object_put(jobs);
	free(ids);
	msr_state_free(st);
	if (lock >= 0)
		close(lock);
	return rc;
}

/* ---- steps ------------------------------------------------------------- */

int msr_job_refusal(const struct msr_config *cfg, const char *job_id,
		    const char *node, char *why, size_t cap)
{
	struct job_record rec;
	struct msr_err err = {{0}};
	int rc = record_load(cfg, job_id, &rec, &err);

	if (rc == -ENOENT) {
		snprintf(why, cap,
			 "no msr-safe prolog record for job %s on node %s (did "
			 "the prolog run? is PrologFlags=Alloc set?)",
			 job_id, node);
		return 1;
	}
	if (rc < 0) {
		snprintf(why, cap, "%s", err.msg);
		return 1;
	}
	if (strcmp(rec.status, "active") != 0) {
		snprintf(why, cap, "%s", rec.reason);
		return 1;
	}
	return 0;
}
