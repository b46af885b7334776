// SPDX-License-Identifier: GPL-2.0-only
/*
 * The job lifecycle of the msr-safe SPANK plugin: the prolog and epilog
 * sequences (crash recovery first, shared nodes, failures), on top of the
 * single-purpose parts (state directory, records, liveness, allowlists,
 * restore, archive, audit).  Runs as root in a fresh slurmstepd per
 * event, so everything shared lives on disk under the state directory,
 * serialised by flock(2).  See msr_job.h for the layout.
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

#include "msr_archive.h"
#include "msr_audit.h"
#include "msr_job.h"
#include "msr_joblist.h"
#include "msr_live.h"
#include "msr_log.h"
#include "msr_record.h"
#include "msr_restore.h"
#include "msr_statedir.h"

/* The profile recorded for jobs on a node whose profile was withdrawn. */
#define SHARED_PROFILE "baseline"

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

/*
 * Is job @id (another job's record) still using the snapshot?  A root
 * slurmstepd of it settles it.  With only its prolog's slurmd left,
 * slurmctld decides: that slurmd runs the job's epilog, unless the epilog
 * was killed (a timeout) or never came, and then the job is over and its
 * values must not live on into the next job.  Unknown stays live.
 */
static bool still_used(const struct msr_job_ctx *job, const char *id,
		       enum job_liveness how)
{
	switch (how) {
	case JOB_STEPD:
		return true;
	case JOB_SLURMD_ONLY:
		if (!job->job_running || job->job_running(id) != 0)
			return true;
		LOG_INFO("job %s: job %s has no slurmstepd here and slurmctld "
			 "says it has ended: its epilog never finished, so it "
			 "no longer counts",
			 job->job_id, id);
		return false;
	default:
		return false;
	}
}

/*
 * How many of @ids (other jobs' records) still use the snapshot: live on
 * this node, or, when nothing here says so, not released and still
 * running according to slurmctld (a job whose slurmstepds were killed and
 * whose slurmd was restarted may still run, and its values must not be
 * restored under it).  That is asked only when every job looks gone here.
 */
static size_t count_live(const struct msr_job_ctx *job, char (*ids)[32],
			 size_t nids)
{
	enum job_liveness *how = calloc(nids ? nids : 1, sizeof(*how));
	size_t live = 0;

	if (!how)
		return nids; /* cannot tell: restore under nobody */
	for (size_t i = 0; i < nids; i++) {
		how[i] = record_liveness(job->cfg, ids[i]);
		if (still_used(job, ids[i], how[i]))
			live++;
	}
	/*
	 * Only jobs whose epilog has not run: a released job's epilog is
	 * done, and slurmctld shows it completing until it hears so.
	 */
	for (size_t i = 0; !live && job->job_running && i < nids; i++) {
		if (how[i] == JOB_UNSEEN && job->job_running(ids[i]) == 1) {
			LOG_INFO("job %s: nothing of job %s runs on this node "
				 "but slurmctld says it is running: it "
				 "counts as live",
				 job->job_id, ids[i]);
			live++;
		}
	}
	free(how);
	return live;
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
		struct json_object *o = outcome_new(job, "stale", jobs);

		if (o) {
			json_object_object_add(o, "boot_id_now",
					       json_object_new_string(boot_id));
			json_object_put(st->outcome);
			st->outcome = o;
			rc = archive_state(cfg, st, st->job.id, "stale", &err);
		} else {
			rc = msr_err_set(&err, -ENOMEM, "out of memory");
		}
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
	live = count_live(job, ids, nids);
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

#define NO_EXTERN_STEP_WHY                                                     \
	"PrologFlags=Contain is not set in slurm.conf: the job has no extern " \
	"step, so between its steps only slurmd vouches that it is live"

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

	/*
	 * Before anything is created there: a StateDir other nodes share is
	 * refused at every prolog.  The epilog does not check, so a job whose
	 * prolog ran before the StateDir moved is still put back.
	 */
	rc = msr_config_state_dir_check(cfg, &err);
	if (rc < 0)
		goto fail;
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
	if (job->no_extern_step) {
		size_t used = strlen(ev.message);

		snprintf(ev.message + used, sizeof(ev.message) - used, "%s%s",
			 used ? "; " : "", NO_EXTERN_STEP_WHY);
		LOG_ERR("job %s: %s", job->job_id, NO_EXTERN_STEP_WHY);
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

/*
 * Every epilog that fails before finish_snapshot() ends here (that one
 * does the same itself): the node's baseline goes back, so no job's
 * writable profile stays live behind a failure; the job's record stops
 * counting as a live user of the snapshot (else every later job would
 * wait behind it); the marker says what to do; the audit log gets its
 * line.  @marker is NULL when corrupt() already left one.
 */
/* The record's array and het ids, where the epilog's environment has none. */
static void adopt_record_ids(struct msr_job_ctx *job,
			     const struct job_record *rec)
{
	if (!job->array_job_id[0]) {
		snprintf(job->array_job_id, sizeof(job->array_job_id), "%s",
			 rec->array_job_id);
		snprintf(job->array_task_id, sizeof(job->array_task_id), "%s",
			 rec->array_task_id);
	}
	if (!job->het_job_id[0])
		snprintf(job->het_job_id, sizeof(job->het_job_id), "%s",
			 rec->het_job_id);
}

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

int msr_job_epilog(const struct msr_job_ctx *caller)
{
	/* Ours, to add the ids only the job's record knows (array task). */
	struct msr_job_ctx self = *caller;
	const struct msr_job_ctx *job = &self;
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
	if (have_rec)
		adopt_record_ids(&self, &rec);
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
	if (!have_rec) {
		/*
		 * The prolog writes the record last (and undoes the snapshot
		 * when it cannot): no record, nothing of this job's to put
		 * back.  A snapshot that is there is another job's, or a
		 * failed prolog's leftover that the next prolog deals with.
		 */
		ev.outcome = "none";
		snprintf(ev.message, sizeof(ev.message),
			 "no record of the job");
		audit(cfg, job, &ev);
		rc = 0;
		goto out;
	}
	rc = load_snapshot(cfg, job->node, &st, &err);
	if (rc == -ENOENT) {
		/* No state: nothing to restore (e.g. already recovered). */
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
	live = count_live(job, ids, nids);
	if (live) {
		/* Kept as "released" so the last job out can list every user.
		 */
		snprintf(rec.status, sizeof(rec.status), "released");
		rc = record_write(cfg, &rec, &err);
		if (rc < 0)
			goto fail;
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
			 "msr-safe: epilog of job %.31s on node %.255s failed: "
			 "%s",
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

int msr_job_note_array(const struct msr_config *cfg, const char *job_id,
		       const char *array_job, const char *array_task)
{
	struct job_record rec;
	struct msr_err err = {{0}};
	int lock = -1, rc;

	rc = lock_state(cfg, &lock, &err);
	if (rc == 0)
		rc = record_load(cfg, job_id, &rec, &err);
	if (rc == 0 && (strcmp(rec.array_job_id, array_job) != 0 ||
			strcmp(rec.array_task_id, array_task) != 0)) {
		snprintf(rec.array_job_id, sizeof(rec.array_job_id), "%s",
			 array_job);
		snprintf(rec.array_task_id, sizeof(rec.array_task_id), "%s",
			 array_task);
		rc = record_write(cfg, &rec, &err);
	}
	if (lock >= 0)
		close(lock);
	if (rc < 0 && rc != -ENOENT)
		LOG_ERR("job %s: cannot record its array ids: %s", job_id,
			err.msg);
	return rc == -ENOENT ? 0 : rc;
}

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

/* ---- operator ---------------------------------------------------------- */

/* Remove every FAILED-job* marker: the state they describe is resolved. */
static void clear_markers(const struct msr_config *cfg)
{
	DIR *d = opendir(cfg->state_dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[MSR_CONFIG_PATH_MAX + 300];

		if (strncmp(de->d_name, "FAILED-job", 10) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", cfg->state_dir,
			 de->d_name);
		if (unlink(path) < 0)
			LOG_ERR("cannot remove %s: %s", path, strerror(errno));
		else
			LOG_INFO("removed %s", path);
	}
	closedir(d);
}

/* A snapshot that cannot be used, moved aside unrestored (never pruned). */
static int discard_snapshot(const struct msr_config *cfg, char *moved,
			    size_t cap, struct msr_err *err)
{
	char path[MSR_CONFIG_PATH_MAX + 16], stamp[32];

	path_in(path, sizeof(path), cfg, SNAPSHOT_NAME);
	utc_stamp(stamp, sizeof(stamp), time(NULL));
	snprintf(moved, cap, "%s/archive/%s-discarded.json.failed",
		 cfg->state_dir, stamp);
	if (rename(path, moved) < 0)
		return msr_err_set(err, -errno, "cannot move %s to %s: %s",
				   path, moved, strerror(errno));
	return 0;
}

int msr_job_resolve(const struct msr_job_ctx *op, bool discard)
{
	const struct msr_config *cfg = op->cfg;
	struct event ev = {.kind = "resolve", .outcome = "failed"};
	struct msr_state *kept = NULL;
	struct msr_err err = {{0}};
	char boot_id[64], moved[MSR_CONFIG_PATH_MAX + 128];
	int lock = -1, rc;

	rc = read_boot_id(cfg, boot_id, sizeof(boot_id), &err);
	if (rc == 0)
		rc = lock_state(cfg, &lock, &err);
	if (rc < 0) {
		LOG_ERR("%s", err.msg);
		return rc;
	}
	if (discard) {
		rc = discard_snapshot(cfg, moved, sizeof(moved), &err);
		if (rc == -ENOENT)
			rc = 0;
		if (rc < 0) {
			LOG_ERR("%s", err.msg);
			goto out;
		}
		ev.outcome = "discarded";
		snprintf(ev.message, sizeof(ev.message),
			 "snapshot moved to %.1000s unrestored by the operator",
			 moved);
		LOG_INFO("%s", ev.message);
	} else {
		/* What the next prolog would do: restore if nobody is live. */
		rc = recover(cfg, op, boot_id, &kept);
		if (rc < 0) {
			LOG_ERR("the kept snapshot could not be restored (see "
				"above); fix the cause, or move it aside "
				"unrestored with msr-safe-state resolve -D");
			goto out;
		}
		if (kept) {
			rc = -EBUSY;
			LOG_ERR("job %s (or another job sharing its snapshot) "
				"is still live on this node: nothing done",
				kept->job.id);
			goto out;
		}
		ev.outcome = "resolved";
	}
	clear_markers(cfg);
	audit(cfg, op, &ev);
	rc = 0;
out:
	msr_state_free(kept);
	close(lock);
	return rc;
}
