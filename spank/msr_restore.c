// SPDX-License-Identifier: GPL-2.0-only
/*
 * Finishing a snapshot: restore what changed, verify, reinstall the
 * baseline, archive; and loading the live snapshot after checking it
 * is this node's.
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
#include "msr_restore.h"
#include "msr_archive.h"
#include "msr_joblist.h"

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

/*
 * The part of @saved to write back: every MSR the job changed on some CPU
 * (@diff, from comparing @saved with @now) or that cannot be read now.
 * The rest was just read back equal, so rewriting and re-verifying it
 * would only cost time.  @part borrows @saved's arrays; free only
 * part->msrs.
 */
/*
 * The last job out (or a recovery): put every saved value back under the
 * snapshot's own list, verify, reinstall the baseline, archive with the
 * outcome.  On failure the snapshot stays in place for a later retry and
 * a failure marker is left.  @jobs are the job ids that used the snapshot.
 */
int finish_snapshot(const struct msr_job_ctx *job, struct msr_state *st,
		    const char *result, struct json_object *jobs,
		    struct event *ev)
{
	const struct msr_config *cfg = job->cfg;
	struct node_setup ns = {0};
	char snap[MSR_CONFIG_PATH_MAX + 16];
	struct msr_allowlist list = {0};
	struct msr_dev *dev = NULL;
	struct msr_changes chg = {0};
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
	/*
	 * libmsrsave's "restore what changed": compares only the bits the
	 * job could write, rewrites and reads back only what differs, and
	 * also fails what nobody can undo (an MSR unreadable at the
	 * snapshot, a CPU that came online since).
	 */
	restore_rc = msr_restore_changed(dev, st, 0, &chg, &err);
	if (restore_rc < 0 && restore_rc != -EIO) {
		rc = restore_rc;
		goto fail;
	}

	outcome =
	    outcome_new(job, restore_rc < 0 ? "restore-failed" : result, jobs);
	if (!outcome) {
		rc = msr_err_set(&err, -ENOMEM, "out of memory");
		goto fail;
	}
	arr = json_object_new_array();
	for (size_t i = 0; i < chg.nchanged; i++) {
		const struct msr_mismatch *m = &chg.changed[i];
		struct json_object *c = json_object_new_object();

		json_object_object_add(c, "cpu", json_object_new_int(m->cpu));
		json_object_object_add(c, "msr", hex32(m->msr));
		json_object_object_add(c, "saved", hex64(m->expected));
		json_object_object_add(c, "found", hex64(m->actual));
		json_object_array_add(arr, c);
	}
	json_object_object_add(outcome, "changed", arr);
	json_object_object_add(outcome, "written",
			       json_object_new_int64((int64_t)chg.written));
	arr = json_object_new_array();
	mf = open_memstream(&marker, &mlen);
	for (size_t i = 0; i < chg.nfailed; i++) {
		const struct msr_unrestored *m = &chg.failed[i];
		const char *why = m->why == MSR_UNRESTORED_MISMATCH ||
					  m->why == MSR_UNRESTORED_OP_FAILED
				      ? ""
				      : msr_unrestored_strwhy(m);
		struct json_object *c = json_object_new_object();

		json_object_object_add(c, "cpu", json_object_new_int(m->cpu));
		json_object_object_add(c, "msr", hex32(m->msr));
		json_object_object_add(c, "expected", hex64(m->expected));
		json_object_object_add(c, "actual", hex64(m->actual));
		json_object_object_add(
		    c, "error",
		    m->err ? json_object_new_string(msr_op_strerror(m->err))
			   : NULL);
		json_object_object_add(
		    c, "why", json_object_new_string(msr_unrestored_strwhy(m)));
		json_object_array_add(arr, c);
		LOG_ERR("restore failed on %s: cpu %d msr 0x%08x expected "
			"0x%016llx actual 0x%016llx%s%s%s%s",
			job->node, m->cpu, m->msr,
			(unsigned long long)m->expected,
			(unsigned long long)m->actual, m->err ? ": " : "",
			m->err ? msr_op_strerror(m->err) : "",
			why[0] ? ": " : "", why);
		if (mf)
			fprintf(mf,
				"cpu %d msr 0x%08x expected 0x%016llx actual "
				"0x%016llx%s%s%s%s\n",
				m->cpu, m->msr, (unsigned long long)m->expected,
				(unsigned long long)m->actual,
				m->err ? " " : "",
				m->err ? msr_op_strerror(m->err) : "",
				why[0] ? " " : "", why);
	}
	if (mf)
		fclose(mf);
	json_object_object_add(outcome, "failures", arr);
	ev->changed = chg.nchanged;
	ev->restored = chg.written;
	ev->failures = chg.nfailed;

	rc = reinstall_baseline(dev, &ns.baseline);
	if (restore_rc < 0) {
		char head[MSR_CONFIG_PATH_MAX + 512];

		snprintf(head, sizeof(head),
			 "msr-safe: restore of %s failed on node %s (job %s): "
			 "%zu value(s) not restored; state kept\n",
			 snap, job->node, job->job_id, chg.nfailed);
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
			 "%zu value(s) not restored", chg.nfailed);
		ev->outcome = "restore-failed";
		LOG_ERR("restore failed on node %s: %zu value(s) not restored; "
			"kept %s",
			job->node, chg.nfailed, snap);
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
	msr_changes_free(&chg);
	msr_allowlist_free(&list);
	msr_dev_close(dev);
	return rc;
}

/*
 * Load STATE/snapshot.json after checking it is ours to trust.  Returns
 * -ENOENT when there is none; any other error means a corrupted or unsafe
 * state file.
 */
int load_snapshot(const struct msr_config *cfg, const char *node,
		  struct msr_state **st, struct msr_err *err)
{
	char path[MSR_CONFIG_PATH_MAX + 16];
	int rc;

	path_in(path, sizeof(path), cfg, SNAPSHOT_NAME);
	rc = msr_state_read(path, MSR_FILE_PRIVATE, st, err);
	if (rc < 0)
		return rc;
	if (!(*st)->has_job || !(*st)->allowlist_text ||
	    !msr_job_id_valid((*st)->job.id)) {
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
