// SPDX-License-Identifier: GPL-2.0-only
/*
 * Strict parser for the msr-safe SPANK plugin's site configuration.
 *
 * Format, as slurm.conf: "Key=Value" words separated by blanks, values
 * optionally in double quotes, '#' starts a comment, keys are
 * case-insensitive.  A line whose first word is Profile= or Partition= is
 * one record; any other line holds node-wide settings.  Anything unknown
 * or malformed is an error naming the file and line: a typo in a site
 * file must never silently widen MSR access.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>

#include "msr_config.h"

#define CONFIG_FILE_MAX	  (1024 * 1024)
#define KEEP_ARCHIVES_MAX 100000
#define LOCK_TIMEOUT_MAX  3600
#define MAX_WORDS	  64
#define MAX_LIST	  64

struct word {
	char key[64];
	char value[MSR_CONFIG_PATH_MAX];
};

/* Where a setting came from, for messages. */
struct origin {
	const char *name;
	unsigned int line; /* 0: a plugstack argument */
};

static int where_err(struct msr_err *err, int rc, const struct origin *o,
		     const char *what, const char *detail)
{
	if (o->line)
		return msr_err_set(err, rc, "%s:%u: %s%s", o->name, o->line,
				   what, detail);
	return msr_err_set(err, rc, "plugstack argument '%s': %s%s", o->name,
			   what, detail);
}

/* libmsrsave's one profile-name rule (msr-allowlist uses it too). */
int msr_profile_name_check(const char *name)
{
	return msr_profile_name_valid(name) ? 0 : -EINVAL;
}

void msr_config_escape(const char *in, char *out, size_t cap)
{
	size_t used = 0;

	if (cap == 0)
		return;
	for (; *in && used + 5 <= cap; in++) {
		unsigned char c = (unsigned char)*in;

		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[used++] = (char)c;
		else
			used += (size_t)snprintf(out + used, cap - used,
						 "\\x%02x", c);
	}
	out[used < cap ? used : cap - 1] = '\0';
}

static void free_list(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

void msr_config_free(struct msr_config *cfg)
{
	for (size_t i = 0; i < cfg->nprofiles; i++)
		free_list(cfg->profiles[i].overlays,
			  cfg->profiles[i].noverlays);
	free(cfg->profiles);
	for (size_t i = 0; i < cfg->npartitions; i++)
		free_list(cfg->partitions[i].profiles,
			  cfg->partitions[i].nprofiles);
	free(cfg->partitions);
	memset(cfg, 0, sizeof(*cfg));
}

int msr_config_init(struct msr_config *cfg, struct msr_err *err)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->path, sizeof(cfg->path), "%s", MSR_CONFIG_DEFAULT_PATH);
	snprintf(cfg->device_dir, sizeof(cfg->device_dir), "%s",
		 MSRSAVE_DEFAULT_DEVICE_DIR);
	snprintf(cfg->state_dir, sizeof(cfg->state_dir), "%s",
		 "/var/lib/msr-safe");
	snprintf(cfg->boot_id_file, sizeof(cfg->boot_id_file), "%s",
		 "/proc/sys/kernel/random/boot_id");
	snprintf(cfg->cpuinfo_file, sizeof(cfg->cpuinfo_file), "%s",
		 "/proc/cpuinfo");
	cfg->keep_archives = 100;
	cfg->lock_timeout = 60;
	cfg->profiles = calloc(1, sizeof(*cfg->profiles));
	if (!cfg->profiles)
		return msr_err_set(err, -ENOMEM, "out of memory");
	cfg->nprofiles = 1;
	snprintf(cfg->profiles[0].name, sizeof(cfg->profiles[0].name), "%s",
		 MSR_CONFIG_DEFAULT_PROFILE);
	snprintf(cfg->profiles[0].description,
		 sizeof(cfg->profiles[0].description), "%s",
		 "the node's baseline allowlist only");
	return 0;
}

/*
 * Split one line into words.  Returns the word count or a negative errno
 * with *bad describing the problem.
 */
static int split_words(char *line, struct word *words, size_t cap,
		       const char **bad)
{
	size_t n = 0;
	char *p = line;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '#')
			break;
		if (n == cap) {
			*bad = "too many settings on one line";
			return -E2BIG;
		}
		char *eq = p;

		while (*eq && *eq != '=' && *eq != ' ' && *eq != '\t' &&
		       *eq != '#')
			eq++;
		if (*eq != '=') {
			*bad = "expected Key=Value";
			return -EINVAL;
		}
		if (eq == p || (size_t)(eq - p) >= sizeof(words[n].key)) {
			*bad = "missing or overlong key";
			return -EINVAL;
		}
		memcpy(words[n].key, p, (size_t)(eq - p));
		words[n].key[eq - p] = '\0';
		p = eq + 1;
		char *v = p;
		size_t vlen;

		if (*p == '"') {
			v = ++p;
			while (*p && *p != '"')
				p++;
			if (*p != '"') {
				*bad = "unterminated quoted value";
				return -EINVAL;
			}
			vlen = (size_t)(p - v);
			p++;
			if (*p && *p != ' ' && *p != '\t' && *p != '#') {
				*bad = "junk after a quoted value";
				return -EINVAL;
			}
		} else {
			while (*p && *p != ' ' && *p != '\t' && *p != '#')
				p++;
			vlen = (size_t)(p - v);
		}
		if (vlen == 0) {
			*bad = "empty value";
			return -EINVAL;
		}
		if (vlen >= sizeof(words[n].value)) {
			*bad = "value too long";
			return -ENAMETOOLONG;
		}
		memcpy(words[n].value, v, vlen);
		words[n].value[vlen] = '\0';
		n++;
	}
	return (int)n;
}

/* Compare keys ignoring case and underscores (StateDir == state_dir). */
static bool key_is(const char *key, const char *canon)
{
	for (;;) {
		while (*key == '_')
			key++;
		if (tolower((unsigned char)*key) !=
		    tolower((unsigned char)*canon))
			return false;
		if (*key == '\0')
			return true;
		key++;
		canon++;
	}
}

static int set_path(char *dst, const struct word *w, const struct origin *o,
		    struct msr_err *err)
{
	if (w->value[0] != '/')
		return where_err(err, -EINVAL, o, w->key,
				 ": must be an absolute path");
	snprintf(dst, MSR_CONFIG_PATH_MAX, "%s", w->value);
	return 0;
}

static int set_uint(unsigned int *dst, unsigned int max, const struct word *w,
		    const struct origin *o, struct msr_err *err)
{
	uint64_t v;

	if (!isdigit((unsigned char)w->value[0]) ||
	    msr_parse_u64(w->value, max, &v) < 0) {
		char detail[128];

		snprintf(detail, sizeof(detail),
			 ": '%.64s' is not a number from 0 to %u", w->value,
			 max);
		return where_err(err, -EINVAL, o, w->key, detail);
	}
	*dst = (unsigned int)v;
	return 0;
}

/* One node-wide setting.  Returns -ENOENT for an unknown key. */
static int set_scalar(struct msr_config *cfg, const struct word *w,
		      const struct origin *o, struct msr_err *err)
{
	if (key_is(w->key, "DeviceDir"))
		return set_path(cfg->device_dir, w, o, err);
	if (key_is(w->key, "StateDir"))
		return set_path(cfg->state_dir, w, o, err);
	if (key_is(w->key, "AllowlistDir"))
		return set_path(cfg->allowlist_dir, w, o, err);
	if (key_is(w->key, "BootIdFile"))
		return set_path(cfg->boot_id_file, w, o, err);
	if (key_is(w->key, "CpuinfoFile"))
		return set_path(cfg->cpuinfo_file, w, o, err);
	if (key_is(w->key, "Baseline")) {
		if (strcmp(w->value, "auto") == 0) {
			snprintf(cfg->baseline, sizeof(cfg->baseline), "auto");
			return 0;
		}
		return set_path(cfg->baseline, w, o, err);
	}
	if (key_is(w->key, "KeepArchives"))
		return set_uint(&cfg->keep_archives, KEEP_ARCHIVES_MAX, w, o,
				err);
	if (key_is(w->key, "LockTimeout"))
		return set_uint(&cfg->lock_timeout, LOCK_TIMEOUT_MAX, w, o,
				err);
	return where_err(err, -ENOENT, o, "unknown key ", w->key);
}

/* "a,b,c" into a malloc'd list of strings, each checked by @check. */
static int split_list(const char *value, bool paths, char ***out, size_t *n,
		      const struct origin *o, struct msr_err *err)
{
	char **list = NULL;
	size_t count = 0;
	const char *p = value;
	int rc;

	for (;;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char item[MSR_CONFIG_PATH_MAX];

		if (len == 0 || len >= sizeof(item)) {
			rc =
			    where_err(err, -EINVAL, o,
				      "empty or overlong item in list ", value);
			goto fail;
		}
		memcpy(item, p, len);
		item[len] = '\0';
		if (paths && item[0] != '/') {
			rc = where_err(err, -EINVAL, o,
				       "not an absolute path: ", item);
			goto fail;
		}
		if (!paths && msr_profile_name_check(item) < 0) {
			rc = where_err(err, -EINVAL, o,
				       "bad profile name: ", item);
			goto fail;
		}
		for (size_t i = 0; i < count; i++) {
			if (strcmp(list[i], item) == 0) {
				rc = where_err(err, -EINVAL, o,
					       "listed twice: ", item);
				goto fail;
			}
		}
		if (count == MAX_LIST) {
			rc =
			    where_err(err, -E2BIG, o, "list too long: ", value);
			goto fail;
		}
		char **grown = realloc(list, (count + 1) * sizeof(*list));

		if (!grown) {
			rc = msr_err_set(err, -ENOMEM, "out of memory");
			goto fail;
		}
		list = grown;
		list[count] = strdup(item);
		if (!list[count]) {
			rc = msr_err_set(err, -ENOMEM, "out of memory");
			goto fail;
		}
		count++;
		if (!end)
			break;
		p = end + 1;
	}
	*out = list;
	*n = count;
	return 0;
fail:
	free_list(list, count);
	return rc;
}

static int parse_profile(struct msr_config *cfg, const struct word *w, int nw,
			 const struct origin *o, struct msr_err *err)
{
	struct msr_profile p = {.line = o->line};
	bool have_desc = false;
	int rc;

	if (msr_profile_name_check(w[0].value) < 0)
		return where_err(err, -EINVAL, o,
				 "bad profile name: ", w[0].value);
	if (strcmp(w[0].value, "help") == 0)
		return where_err(err, -EINVAL, o,
				 "'help' is reserved (--msr-profile=help lists "
				 "the profiles)",
				 "");
	snprintf(p.name, sizeof(p.name), "%.63s", w[0].value);
	for (size_t i = 1; i < cfg->nprofiles; i++) {
		if (strcmp(cfg->profiles[i].name, p.name) == 0)
			return where_err(err, -EEXIST, o,
					 "profile defined twice: ", p.name);
	}
	for (int i = 1; i < nw; i++) {
		if (key_is(w[i].key, "Overlays") ||
		    key_is(w[i].key, "Overlay")) {
			if (p.overlays) {
				rc = where_err(err, -EINVAL, o,
					       "Overlays given twice", "");
				goto fail;
			}
			rc = split_list(w[i].value, true, &p.overlays,
					&p.noverlays, o, err);
			if (rc < 0)
				goto fail;
		} else if (key_is(w[i].key, "Description")) {
			if (have_desc ||
			    strlen(w[i].value) >= sizeof(p.description)) {
				rc = where_err(
				    err, -EINVAL, o,
				    "Description given twice or too long", "");
				goto fail;
			}
			snprintf(p.description, sizeof(p.description), "%s",
				 w[i].value);
			have_desc = true;
		} else {
			rc = where_err(
			    err, -ENOENT, o,
			    "unknown key in a Profile line: ", w[i].key);
			goto fail;
		}
	}
	if (!have_desc) {
		rc = where_err(err, -EINVAL, o,
			       "profile has no Description: ", p.name);
		goto fail;
	}
	/* "default" may be redefined (e.g. to add overlays), never twice. */
	if (strcmp(p.name, MSR_CONFIG_DEFAULT_PROFILE) == 0) {
		if (cfg->profiles[0].line) {
			rc = where_err(err, -EEXIST, o,
				       "profile defined twice: ", p.name);
			goto fail;
		}
		cfg->profiles[0] = p;
		return 0;
	}
	struct msr_profile *grown =
	    realloc(cfg->profiles, (cfg->nprofiles + 1) * sizeof(*grown));
	if (!grown) {
		rc = msr_err_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	cfg->profiles = grown;
	cfg->profiles[cfg->nprofiles++] = p;
	return 0;
fail:
	free_list(p.overlays, p.noverlays);
	return rc;
}

static int parse_partition(struct msr_config *cfg, const struct word *w, int nw,
			   const struct origin *o, struct msr_err *err)
{
	struct msr_partition_rule r = {.line = o->line};
	int rc;

	if (msr_profile_name_check(w[0].value) < 0)
		return where_err(err, -EINVAL, o,
				 "bad partition name: ", w[0].value);
	snprintf(r.name, sizeof(r.name), "%.63s", w[0].value);
	for (size_t i = 0; i < cfg->npartitions; i++) {
		if (strcmp(cfg->partitions[i].name, r.name) == 0)
			return where_err(err, -EEXIST, o,
					 "partition listed twice: ", r.name);
	}
	for (int i = 1; i < nw; i++) {
		if (key_is(w[i].key, "Profiles")) {
			if (r.profiles) {
				rc = where_err(err, -EINVAL, o,
					       "Profiles given twice", "");
				goto fail;
			}
			rc = split_list(w[i].value, false, &r.profiles,
					&r.nprofiles, o, err);
			if (rc < 0)
				goto fail;
		} else if (key_is(w[i].key, "Default")) {
			if (r.default_profile[0] ||
			    msr_profile_name_check(w[i].value) < 0) {
				rc = where_err(err, -EINVAL, o,
					       "Default given twice or not a "
					       "profile name: ",
					       w[i].value);
				goto fail;
			}
			snprintf(r.default_profile, sizeof(r.default_profile),
				 "%s", w[i].value);
		} else {
			rc = where_err(
			    err, -ENOENT, o,
			    "unknown key in a Partition line: ", w[i].key);
			goto fail;
		}
	}
	if (!r.profiles || !r.default_profile[0]) {
		rc = where_err(
		    err, -EINVAL, o,
		    "a Partition line needs Profiles= and Default=", "");
		goto fail;
	}
	struct msr_partition_rule *grown =
	    realloc(cfg->partitions, (cfg->npartitions + 1) * sizeof(*grown));
	if (!grown) {
		rc = msr_err_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	cfg->partitions = grown;
	cfg->partitions[cfg->npartitions++] = r;
	return 0;
fail:
	free_list(r.profiles, r.nprofiles);
	return rc;
}

static int parse_line(struct msr_config *cfg, char *line, unsigned int *seen,
		      const struct origin *o, struct msr_err *err)
{
	static const char *const scalars[] = {
	    "DeviceDir",  "StateDir",	 "Baseline",	 "AllowlistDir",
	    "BootIdFile", "CpuinfoFile", "KeepArchives", "LockTimeout",
	};
	struct word *w = calloc(MAX_WORDS, sizeof(*w));
	const char *bad = NULL;
	int nw, rc = 0;

	if (!w)
		return msr_err_set(err, -ENOMEM, "out of memory");
	nw = split_words(line, w, MAX_WORDS, &bad);
	if (nw < 0) {
		rc = where_err(err, nw, o, bad, "");
		goto out;
	}
	if (nw == 0)
		goto out;
	if (key_is(w[0].key, "Profile")) {
		rc = parse_profile(cfg, w, nw, o, err);
		goto out;
	}
	if (key_is(w[0].key, "Partition")) {
		rc = parse_partition(cfg, w, nw, o, err);
		goto out;
	}
	for (int i = 0; i < nw; i++) {
		if (key_is(w[i].key, "Profile") ||
		    key_is(w[i].key, "Partition")) {
			rc = where_err(err, -EINVAL, o, w[i].key,
				       "= must start its own line");
			goto out;
		}
		for (size_t k = 0; k < sizeof(scalars) / sizeof(*scalars);
		     k++) {
			if (!key_is(w[i].key, scalars[k]))
				continue;
			if (*seen & (1u << k)) {
				rc = where_err(err, -EEXIST, o,
					       "key given twice: ", w[i].key);
				goto out;
			}
			*seen |= 1u << k;
		}
		rc = set_scalar(cfg, &w[i], o, err);
		if (rc < 0)
			goto out;
	}
out:
	free(w);
	return rc;
}

/*
 * Line by line.  @keep_going (salvage) skips a bad line and goes on, so
 * the good lines' settings stay; the first error is what is returned.
 */
static int parse_text(struct msr_config *cfg, const char *text, size_t len,
		      const char *name, bool keep_going, struct msr_err *err)
{
	struct origin o = {.name = name, .line = 0};
	struct msr_err line_err = {{0}};
	unsigned int seen = 0;
	size_t pos = 0;
	int rc = 0, first = 0;

	if (memchr(text, '\0', len))
		return msr_err_set(err, -EINVAL, "%s: contains a NUL byte",
				   name);
	while (pos < len && (rc == 0 || keep_going)) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t llen = nl ? (size_t)(nl - (text + pos)) : len - pos;
		char *line;

		o.line++;
		line = strndup(text + pos, llen);
		if (!line)
			return msr_err_set(err, -ENOMEM, "out of memory");
		if (llen && line[llen - 1] == '\r')
			line[llen - 1] = '\0';
		rc = parse_line(cfg, line, &seen, &o, &line_err);
		free(line);
		if (rc < 0 && first == 0) {
			first = rc;
			*err = line_err;
		}
		pos += llen + (nl ? 1 : 0);
	}
	return first;
}

int msr_config_parse(struct msr_config *cfg, const char *text, size_t len,
		     const char *name, struct msr_err *err)
{
	return parse_text(cfg, text, len, name, false, err);
}

int msr_config_apply_arg(struct msr_config *cfg, const char *arg,
			 struct msr_err *err)
{
	struct origin o = {.name = arg, .line = 0};
	char *copy = strdup(arg);
	struct word w[2];
	const char *bad = NULL;
	int nw, rc;

	if (!copy)
		return msr_err_set(err, -ENOMEM, "out of memory");
	nw = split_words(copy, w, 2, &bad);
	free(copy);
	if (nw < 0)
		return where_err(err, nw, &o, bad, "");
	if (nw != 1)
		return where_err(err, -EINVAL, &o, "expected one key=value",
				 "");
	if (key_is(w[0].key, "config"))
		return set_path(cfg->path, &w[0], &o, err);
	rc = set_scalar(cfg, &w[0], &o, err);
	return rc;
}

const struct msr_profile *msr_config_profile(const struct msr_config *cfg,
					     const char *name)
{
	for (size_t i = 0; i < cfg->nprofiles; i++) {
		if (strcmp(cfg->profiles[i].name, name) == 0)
			return &cfg->profiles[i];
	}
	return NULL;
}

const struct msr_partition_rule *
msr_config_partition(const struct msr_config *cfg, const char *partition)
{
	const struct msr_partition_rule *fallback = NULL;

	for (size_t i = 0; i < cfg->npartitions; i++) {
		if (partition &&
		    strcmp(cfg->partitions[i].name, partition) == 0)
			return &cfg->partitions[i];
		if (strcmp(cfg->partitions[i].name, "DEFAULT") == 0)
			fallback = &cfg->partitions[i];
	}
	return fallback;
}

const char *msr_config_partition_default(const struct msr_config *cfg,
					 const char *partition)
{
	const struct msr_partition_rule *r =
	    msr_config_partition(cfg, partition);

	return r ? r->default_profile : MSR_CONFIG_DEFAULT_PROFILE;
}

void msr_config_permitted_list(const struct msr_config *cfg,
			       const char *partition, char *buf, size_t cap)
{
	const struct msr_partition_rule *r =
	    msr_config_partition(cfg, partition);
	size_t used = 0;

	if (cap == 0)
		return;
	buf[0] = '\0';
	if (!r) {
		snprintf(buf, cap, "%s", MSR_CONFIG_DEFAULT_PROFILE);
		return;
	}
	for (size_t i = 0; i < r->nprofiles && used < cap; i++) {
		int n = snprintf(buf + used, cap - used, "%s%s", i ? ", " : "",
				 r->profiles[i]);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

int msr_config_check(const struct msr_config *cfg, const char *partition,
		     const char *profile, char *why, size_t cap)
{
	const struct msr_partition_rule *r;
	char permitted[1024];
	char dummy[8];

	if (!why) {
		why = dummy;
		cap = sizeof(dummy);
	}
	if (msr_profile_name_check(profile) < 0) {
		char shown[4 * 64 + 1];

		msr_config_escape(profile, shown, sizeof(shown));
		snprintf(why, cap, "'%.256s' is not a valid profile name (%s)",
			 shown, msr_profile_name_rule());
		return -EINVAL;
	}
	if (!msr_config_profile(cfg, profile)) {
		snprintf(why, cap,
			 "unknown profile '%s' (--msr-profile=help lists them)",
			 profile);
		return -ENOENT;
	}
	r = msr_config_partition(cfg, partition);
	if (r) {
		for (size_t i = 0; i < r->nprofiles; i++) {
			if (strcmp(r->profiles[i], profile) == 0)
				return 0;
		}
	} else if (strcmp(profile, MSR_CONFIG_DEFAULT_PROFILE) == 0) {
		return 0;
	}
	msr_config_permitted_list(cfg, partition, permitted, sizeof(permitted));
	snprintf(
	    why, cap,
	    "profile '%s' is not permitted in partition '%s'; permitted: %s",
	    profile, partition ? partition : "(none)", permitted);
	return -EPERM;
}

int msr_config_validate(const struct msr_config *cfg, struct msr_err *err)
{
	if (!cfg->baseline[0])
		return msr_err_set(
		    err, -EINVAL, "%s: Baseline= is required (a path, or auto)",
		    cfg->path);
	if (strcmp(cfg->baseline, "auto") == 0 && !cfg->allowlist_dir[0])
		return msr_err_set(
		    err, -EINVAL,
		    "%s: Baseline=auto needs AllowlistDir=", cfg->path);
	for (size_t i = 0; i < cfg->npartitions; i++) {
		const struct msr_partition_rule *r = &cfg->partitions[i];
		bool default_listed = false;

		for (size_t k = 0; k < r->nprofiles; k++) {
			if (!msr_config_profile(cfg, r->profiles[k]))
				return msr_err_set(
				    err, -ENOENT,
				    "%s:%u: partition '%s' permits undefined "
				    "profile '%s'",
				    cfg->path, r->line, r->name,
				    r->profiles[k]);
			if (strcmp(r->profiles[k], r->default_profile) == 0)
				default_listed = true;
		}
		if (!default_listed)
			return msr_err_set(err, -EINVAL,
					   "%s:%u: partition '%s': Default=%s "
					   "is not in its Profiles=",
					   cfg->path, r->line, r->name,
					   r->default_profile);
	}
	return 0;
}

int msr_config_load(struct msr_config *cfg, int argc, char **argv,
		    struct msr_err *err)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	rc = msr_config_init(cfg, err);
	if (rc < 0)
		return rc;
	/* config= first, wherever it is, so other arguments override. */
	for (int i = 0; i < argc; i++) {
		if (strncasecmp(argv[i], "config=", 7) == 0) {
			rc = msr_config_apply_arg(cfg, argv[i], err);
			if (rc < 0)
				goto fail;
		}
	}
	rc = msr_read_file(cfg->path, CONFIG_FILE_MAX, &text, &len, err);
	if (rc < 0)
		goto fail;
	rc = msr_config_parse(cfg, text, len, cfg->path, err);
	if (rc < 0)
		goto fail;
	for (int i = 0; i < argc; i++) {
		if (strncasecmp(argv[i], "config=", 7) == 0)
			continue;
		rc = msr_config_apply_arg(cfg, argv[i], err);
		if (rc < 0)
			goto fail;
	}
	rc = msr_config_validate(cfg, err);
	if (rc < 0)
		goto fail;
	free(text);
	return 0;
fail:
	free(text);
	msr_config_free(cfg);
	return rc;
}

int msr_config_load_file(struct msr_config *cfg, const char *file, int nextra,
			 char **extra, struct msr_err *err)
{
	char *abs = NULL, **args = NULL;
	int rc;

	abs = realpath(file, NULL);
	if (!abs)
		return msr_err_set(err, -errno, "%s: %s", file,
				   strerror(errno));
	args = calloc((size_t)nextra + 1, sizeof(*args));
	if (args)
		args[0] = malloc(strlen(abs) + sizeof("config="));
	if (!args || !args[0]) {
		rc = msr_err_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	sprintf(args[0], "config=%s", abs);
	for (int i = 0; i < nextra; i++)
		args[i + 1] = extra[i];
	rc = msr_config_load(cfg, nextra + 1, args, err);
fail:
	if (args)
		free(args[0]);
	free(args);
	free(abs);
	return rc;
}

/* Keep the first problem: the one the admin sees first in the file. */
static int keep_first(int *first, int rc, struct msr_err *err,
		      const struct msr_err *now)
{
	if (rc < 0 && *first == 0) {
		*first = rc;
		*err = *now;
	}
	return rc;
}

int msr_config_salvage(struct msr_config *cfg, int argc, char **argv,
		       struct msr_err *err)
{
	struct msr_err now = {{0}};
	char *text = NULL;
	size_t len = 0;
	int rc, first = 0;

	rc = msr_config_init(cfg, err);
	if (rc < 0)
		return rc;
	for (int i = 0; i < argc; i++) {
		if (strncasecmp(argv[i], "config=", 7) == 0)
			keep_first(&first,
				   msr_config_apply_arg(cfg, argv[i], &now),
				   err, &now);
	}
	rc = msr_read_file(cfg->path, CONFIG_FILE_MAX, &text, &len, &now);
	if (rc == 0)
		rc = parse_text(cfg, text, len, cfg->path, true, &now);
	keep_first(&first, rc, err, &now);
	free(text);
	for (int i = 0; i < argc; i++) {
		if (strncasecmp(argv[i], "config=", 7) != 0)
			keep_first(&first,
				   msr_config_apply_arg(cfg, argv[i], &now),
				   err, &now);
	}
	if (first == 0)
		keep_first(&first, msr_config_validate(cfg, &now), err, &now);
	return first;
}

static int expand_one(char *path, const char *node, struct msr_err *err)
{
	char out[MSR_CONFIG_PATH_MAX];
	size_t used = 0;

	for (const char *p = path; *p; p++) {
		const char *add = NULL;
		char one[2] = {*p, '\0'};

		if (p[0] == '%' && p[1] == 'n') {
			add = node;
			p++;
		} else if (p[0] == '%' && p[1] == '%') {
			add = "%";
			p++;
		} else {
			add = one;
		}
		size_t n = strlen(add);

		if (used + n >= sizeof(out))
			return msr_err_set(
			    err, -ENAMETOOLONG,
			    "path too long after %%n expansion: %s", path);
		memcpy(out + used, add, n);
		used += n;
	}
	out[used] = '\0';
	memcpy(path, out, used + 1);
	return 0;
}

bool msr_config_path_per_node(const char *path)
{
	for (const char *p = path; p[0]; p++) {
		if (p[0] == '%' && p[1] == 'n')
			return true;
		if (p[0] == '%' && p[1] == '%')
			p++;
	}
	return false;
}

int msr_config_expand_node(struct msr_config *cfg, const char *node,
			   struct msr_err *err)
{
	char *paths[] = {cfg->device_dir,   cfg->state_dir,
			 cfg->baseline,	    cfg->allowlist_dir,
			 cfg->boot_id_file, cfg->cpuinfo_file};
	int rc;

	if (strchr(node, '/') || strcmp(node, "..") == 0 || !node[0])
		return msr_err_set(err, -EINVAL, "bad node name '%s'", node);
	if (msr_config_path_per_node(cfg->state_dir))
		cfg->state_dir_per_node = true;
	for (size_t i = 0; i < sizeof(paths) / sizeof(*paths); i++) {
		rc = expand_one(paths[i], node, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* statfs(2) f_type values (linux/magic.h and the filesystems' sources). */
static const struct {
	unsigned long magic;
	const char *name;
} network_fs[] = {
    {0x6969, "nfs"},	    {0xFF534D42, "cifs"},     {0xFE534D42, "smb2"},
    {0x517B, "smb"},	    {0x0BD00BD0, "lustre"},   {0x47504653, "gpfs"},
    {0x19830326, "beegfs"}, {0x01021997, "9p"},	      {0x00C36400, "ceph"},
    {0x5346414F, "afs"},    {0x6B414653, "afs"},      {0x73757245, "coda"},
    {0x564C, "ncp"},	    {0x20030528, "orangefs"}, {0x01161970, "gfs2"},
    {0x7461636F, "ocfs2"},  {0xAAD7AAEA, "panfs"},
};

const char *msr_network_fs_name(unsigned long f_type)
{
	for (size_t i = 0; i < sizeof(network_fs) / sizeof(*network_fs); i++) {
		if (network_fs[i].magic == (f_type & 0xFFFFFFFFUL))
			return network_fs[i].name;
	}
	return NULL;
}

static int refuse_shared_state_dir(const char *path, const char *fs,
				   struct msr_err *err)
{
	return msr_err_set(err, -EREMOTE,
			   "StateDir %s is on a network filesystem (%s) and "
			   "not per node: nodes would use each other's "
			   "snapshots; use a local directory, or put %%n "
			   "(the node name) in StateDir",
			   path, fs);
}

int msr_config_state_dir_fs(const char *path, unsigned long f_type,
			    bool per_node, struct msr_err *err)
{
	const char *fs = msr_network_fs_name(f_type);

	if (!fs || per_node)
		return 0;
	return refuse_shared_state_dir(path, fs, err);
}

/* Mount types (mountinfo's fstype, before any ".subtype") that are shared. */
static const char *const network_fstypes[] = {
    "nfs",    "nfs4",	  "cifs",   "smb3", "smbfs",	 "9p",	  "virtiofs",
    "lustre", "gpfs",	  "beegfs", "ceph", "glusterfs", "afs",	  "coda",
    "ncpfs",  "orangefs", "pvfs2",  "gfs2", "ocfs2",	 "panfs",
};

bool msr_network_fstype(const char *fstype)
{
	size_t n = strcspn(fstype, ".");

	if (strncmp(fstype, "fuse.", 5) == 0) /* fuse.sshfs, fuse.glusterfs */
		return strcmp(fstype + 5, "sshfs") == 0 ||
		       msr_network_fstype(fstype + 5);
	for (size_t i = 0;
	     i < sizeof(network_fstypes) / sizeof(*network_fstypes); i++) {
		if (strlen(network_fstypes[i]) == n &&
		    strncmp(fstype, network_fstypes[i], n) == 0)
			return true;
	}
	return false;
}

/*
 * The type of the mount holding device @dev, from /proc/self/mountinfo
 * ("ID PARENT MAJ:MIN ROOT POINT OPTS [TAGS] - FSTYPE SOURCE ...").
 * Needed besides f_type: a 9p2000.L client reports the server's f_type
 * (ext4 for a host's disk), not its own.
 */
static void mount_type(dev_t dev, char *out, size_t cap)
{
	char line[4096];
	FILE *f = fopen("/proc/self/mountinfo", "re");

	out[0] = '\0';
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned int maj, min;
		char *sep = strstr(line, " - ");

		if (sscanf(line, "%*u %*u %u:%u", &maj, &min) != 2 || !sep ||
		    makedev(maj, min) != dev)
			continue;
		sscanf(sep + 3, "%63s", out);
		if (strlen(out) >= cap)
			out[0] = '\0';
		break;
	}
	fclose(f);
}

int msr_config_state_dir_check(const struct msr_config *cfg,
			       struct msr_err *err)
{
	char dir[MSR_CONFIG_PATH_MAX], type[64];
	struct statfs sfs;
	struct stat sb;
	bool per_node =
	    cfg->state_dir_per_node || msr_config_path_per_node(cfg->state_dir);

	if (per_node)
		return 0;
	snprintf(dir, sizeof(dir), "%s", cfg->state_dir);
	/* Not created yet: the filesystem it will be created on. */
	while (statfs(dir, &sfs) < 0 || stat(dir, &sb) < 0) {
		char *slash = strrchr(dir, '/');

		if (errno != ENOENT || !slash || !dir[1])
			return msr_err_set(err, -errno, "StateDir %s: %s",
					   cfg->state_dir, strerror(errno));
		if (slash == dir)
			slash[1] = '\0';
		else
			slash[0] = '\0';
	}
	mount_type(sb.st_dev, type, sizeof(type));
	if (type[0] && msr_network_fstype(type))
		return refuse_shared_state_dir(cfg->state_dir, type, err);
	return msr_config_state_dir_fs(cfg->state_dir,
				       (unsigned long)sfs.f_type, false, err);
}
