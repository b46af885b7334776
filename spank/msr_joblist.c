// SPDX-License-Identifier: GPL-2.0-only
/*
 * The allowlists: the node's baseline (and STATE/node.json, where a
 * prolog records it with the device directory), a job's list built
 * from its profile, and putting the baseline back.
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
#include "msr_joblist.h"

#define NODE_RECORD_FMT "msr-safe-node"

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

void node_setup_free(struct node_setup *ns)
{
	msr_allowlist_free(&ns->baseline);
}

/* From the site configuration, as a prolog sees it now. */
int node_setup_from_config(const struct msr_config *cfg, struct node_setup *ns,
			   struct msr_err *err)
{
	memset(ns, 0, sizeof(*ns));
	snprintf(ns->device_dir, sizeof(ns->device_dir), "%s", cfg->device_dir);
	return load_baseline(cfg, &ns->baseline, ns->baseline_path,
			     sizeof(ns->baseline_path), err);
}

int node_setup_write(const struct msr_config *cfg,
		     const struct msr_job_ctx *job, const struct node_setup *ns,
		     struct msr_err *err)
{
	char path[MSR_CONFIG_PATH_MAX + 16];
	struct json_object *o = json_object_new_object();
	char *text = NULL;
	size_t len;
	int rc;
	const char *json;
	char *old = NULL;

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
	json = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
	/* Usually what the last prolog wrote: then there is nothing to do. */
	if (msr_file_read(path, RECORD_MAX * 16, MSR_FILE_PRIVATE, &old, &len,
			  err) == 0 &&
	    strcmp(old, json) == 0)
		rc = 0;
	else
		rc = write_private_file(path, json, RECORD_WRITE, err);
	free(old);
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
	int rc;

	memset(ns, 0, sizeof(*ns));
	path_in(path, sizeof(path), cfg, NODE_RECORD_NAME);
	rc = msr_json_read(path, RECORD_MAX * 16, MSR_FILE_PRIVATE, &o, err);
	if (rc < 0)
		goto out;
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
	return rc;
}

/*
 * The recorded set-up, else (no record, from before records existed) the
 * site configuration's, unless that did not parse.
 */
int node_setup_get(const struct msr_job_ctx *job, struct node_setup *ns,
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
bool profile_available(const struct msr_config *cfg, const char *profile,
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
int build_job_list(const struct msr_config *cfg, const char *profile,
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
bool allowlist_is_live(struct msr_dev *dev, const struct msr_allowlist *want)
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
int reinstall_baseline(struct msr_dev *dev, const struct msr_allowlist *base)
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
int reinstall_node_baseline(const struct msr_job_ctx *job)
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

/*
 * A profile that adds to the node's baseline.  Shared-node policy: such a
 * profile is live only while its job is alone on the node, because MSR
 * access is node-wide (every process there could use it).  A profile no
 * longer in the site file counts as one.
 */
bool profile_elevated(const struct msr_config *cfg, const char *name)
{
	const struct msr_profile *p = msr_config_profile(cfg, name);

	return !p || p->noverlays > 0;
}
