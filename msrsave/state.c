// SPDX-License-Identifier: GPL-2.0-only
/*
 * The state file: a self-describing JSON snapshot of MSR values.
 *
 * It carries the allowlist text it was taken under (with its SHA-256) and
 * each MSR's mask, so a restore never depends on whatever allowlist is
 * loaded later.  64-bit numbers are "0x..." strings: JSON parsers commonly
 * hold numbers in doubles, which lose bits above 2^53.  The loader is
 * strict and names the file and field of the first problem it finds.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "msrsave_int.h"
#include "sha256.h"

/* Largest state file read: ample for thousands of MSRs on 1000s of CPUs. */
#define STATE_FILE_MAX (256u << 20)

void msr_state_free(struct msr_state *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->nmsrs; i++) {
		free(st->msrs[i].values);
		free(st->msrs[i].errs);
	}
	free(st->msrs);
	free(st->cpus);
	free(st->allowlist_text);
	if (st->outcome)
		json_object_put(st->outcome);
	free(st);
}

/* ---- writing ------------------------------------------------------------ */

static int add_str(struct json_object *o, const char *key, const char *val)
{
	struct json_object *s = json_object_new_string(val);

	if (!s || json_object_object_add(o, key, s)) {
		json_object_put(s);
		return -ENOMEM;
	}
	return 0;
}

static int add_int(struct json_object *o, const char *key, int64_t val)
{
	struct json_object *n = json_object_new_int64(val);

	if (!n || json_object_object_add(o, key, n)) {
		json_object_put(n);
		return -ENOMEM;
	}
	return 0;
}

static int add_hex(struct json_object *o, const char *key, uint64_t val,
		   int digits)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%0*" PRIX64, digits, val);
	return add_str(o, key, buf);
}

static int add_obj(struct json_object *o, const char *key,
		   struct json_object *child)
{
	if (!child || json_object_object_add(o, key, child)) {
		json_object_put(child);
		return -ENOMEM;
	}
	return 0;
}

static int arr_add(struct json_object *a, struct json_object *v)
{
	if (!v || json_object_array_add(a, v)) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static struct json_object *msr_to_json(const struct msr_state *st,
				       const struct msr_state_msr *m)
{
	struct json_object *o = json_object_new_object();
	struct json_object *vals = json_object_new_array();
	struct json_object *errs = NULL;
	bool any_err = false;
	char buf[24];

	if (!o || !vals)
		goto fail;
	for (size_t c = 0; c < st->ncpus; c++)
		if (m->errs && m->errs[c])
			any_err = true;
	if (add_hex(o, "msr", m->msr, 8) || add_hex(o, "mask", m->wmask, 16))
		goto fail;
	if (any_err && !(errs = json_object_new_array()))
		goto fail;
	for (size_t c = 0; c < st->ncpus; c++) {
		bool bad = m->errs && m->errs[c];

		snprintf(buf, sizeof(buf), "0x%016" PRIX64, m->values[c]);
		/* An unreadable value is null, its errno in errors[]. */
		if (bad ? json_object_array_add(vals, NULL)
			: arr_add(vals, json_object_new_string(buf)))
			goto fail;
		if (errs &&
		    arr_add(errs, json_object_new_int(bad ? -m->errs[c] : 0)))
			goto fail;
	}
	if (add_obj(o, "values", vals)) {
		vals = NULL;
		goto fail;
	}
	vals = NULL;
	if (errs && add_obj(o, "errors", errs)) {
		errs = NULL;
		goto fail;
	}
	return o;
fail:
	json_object_put(vals);
	json_object_put(errs);
	json_object_put(o);
	return NULL;
}

int msr_state_to_json(const struct msr_state *st, struct json_object **out,
		      struct msr_err *err)
{
	struct json_object *root = json_object_new_object(), *o, *a;
	char utc[32] = "";
	struct tm tm;
	time_t t = (time_t)st->created;

	*out = NULL;
	if (!root)
		goto fail;
	if (gmtime_r(&t, &tm))
		strftime(utc, sizeof(utc), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (add_str(root, "format", MSRSAVE_STATE_FORMAT) ||
	    add_int(root, "version", MSRSAVE_STATE_VERSION) ||
	    add_str(root, "host", st->host) ||
	    add_str(root, "boot_id", st->boot_id) ||
	    add_hex(root, "created", (uint64_t)st->created, 1) ||
	    add_str(root, "created_utc", utc) ||
	    add_str(root, "tool_version", st->tool_version))
		goto fail;

	o = json_object_new_object();
	if (add_obj(root, "cpu", o) || add_str(o, "vendor", st->cpu.vendor) ||
	    add_int(o, "family", st->cpu.family) ||
	    add_int(o, "model", st->cpu.model))
		goto fail;

	o = json_object_new_object();
	if (add_obj(root, "allowlist", o) ||
	    add_str(o, "path", st->allowlist_path) ||
	    add_str(o, "sha256", st->allowlist_sha256) ||
	    add_str(o, "text", st->allowlist_text ? st->allowlist_text : ""))
		goto fail;

	a = json_object_new_array();
	if (add_obj(root, "cpus", a))
		goto fail;
	for (size_t c = 0; c < st->ncpus; c++)
		if (arr_add(a, json_object_new_int(st->cpus[c])))
			goto fail;

	a = json_object_new_array();
	if (add_obj(root, "msrs", a))
		goto fail;
	for (size_t i = 0; i < st->nmsrs; i++)
		if (arr_add(a, msr_to_json(st, &st->msrs[i])))
			goto fail;

	if (st->has_job) {
		o = json_object_new_object();
		if (add_obj(root, "job", o) || add_str(o, "id", st->job.id) ||
		    add_int(o, "uid", st->job.uid) ||
		    add_str(o, "user", st->job.user) ||
		    add_str(o, "partition", st->job.partition) ||
		    add_str(o, "profile", st->job.profile))
			goto fail;
	}
	if (st->outcome &&
	    add_obj(root, "outcome", json_object_get(st->outcome)))
		goto fail;
	*out = root;
	return 0;
fail:
	json_object_put(root);
	return msr_err_set(err, -ENOMEM, "out of memory building the state");
}

int msr_state_save(const char *path, const struct msr_state *st,
		   unsigned int flags, struct msr_err *err)
{
	struct json_object *root;
	int rc;

	rc = msr_state_to_json(st, &root, err);
	if (rc < 0)
		return rc;
	rc = msr_json_write(path, root, 0600, flags, err);
	json_object_put(root);
	return rc;
}

int msr_state_write(const char *path, const struct msr_state *st,
		    struct msr_err *err)
{
	return msr_state_save(path, st, MSR_FILE_SYNC, err);
}

/* ---- loading ------------------------------------------------------------ */

/* Where the loader is: file name and a JSON path such as msrs[3].mask. */
struct ctx {
	const char *name;
	struct msr_err *err;
};

static const char *type_name(enum json_type t)
{
	switch (t) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "a boolean";
	case json_type_double:
		return "a fraction";
	case json_type_int:
		return "an integer";
	case json_type_object:
		return "an object";
	case json_type_array:
		return "an array";
	case json_type_string:
		return "a string";
	}
	return "unknown";
}

static int bad(struct ctx *c, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int bad(struct ctx *c, const char *field, const char *fmt, ...)
{
	char what[640];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return msr_err_set(c->err, -EINVAL, "%s: %s: %s", c->name, field, what);
}

static int want_type(struct ctx *c, const char *field, struct json_object *v,
		     enum json_type t)
{
	if (!v)
		return bad(c, field, "missing field");
	if (!json_object_is_type(v, t))
		return bad(c, field, "expected %s, found %s", type_name(t),
			   type_name(json_object_get_type(v)));
	return 0;
}

/* Fetch @key of @obj (at JSON path @at) with the given type. */
static int get(struct ctx *c, struct json_object *obj, const char *at,
	       const char *key, enum json_type t, struct json_object **out)
{
	char field[256];

	snprintf(field, sizeof(field), "%s%s%s", at, *at ? "." : "", key);
	*out = NULL;
	if (!json_object_object_get_ex(obj, key, out))
		return bad(c, field, "missing field");
	if (!*out)
		return bad(c, field, "expected %s, found null", type_name(t));
	return want_type(c, field, *out, t);
}

/* Up to 40 bytes of @s, non-printable ones as '?', for messages. */
/* Refuse keys a reader would otherwise silently drop (e.g. typos). */
static int only_keys(struct ctx *c, struct json_object *obj, const char *at,
		     const char *const *keys)
{
	json_object_object_foreach(obj, key, val)
	{
		bool known = false;

		(void)val;
		for (const char *const *k = keys; *k; k++)
			if (!strcmp(*k, key))
				known = true;
		if (!known) {
			char shown[41];

			msr_excerpt(key, strlen(key), shown);
			return bad(c, *at ? at : "(top level)",
				   "unknown field '%s'", shown);
		}
	}
	return 0;
}

static int get_str(struct ctx *c, struct json_object *obj, const char *at,
		   const char *key, char *buf, size_t cap)
{
	struct json_object *v;
	const char *s;
	size_t len;
	int rc = get(c, obj, at, key, json_type_string, &v);

	if (rc < 0)
		return rc;
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (len >= cap || strlen(s) != len) {
		char field[256];

		snprintf(field, sizeof(field), "%s%s%s", at, *at ? "." : "",
			 key);
		return bad(c, field, "%s",
			   len >= cap ? "too long" : "contains a NUL byte");
	}
	memcpy(buf, s, len + 1);
	return 0;
}

static int get_int(struct ctx *c, struct json_object *obj, const char *at,
		   const char *key, int64_t min, int64_t max, int64_t *out)
{
	struct json_object *v;
	int rc = get(c, obj, at, key, json_type_int, &v);
	int64_t n;

	if (rc < 0)
		return rc;
	n = json_object_get_int64(v);
	if (n < min || n > max || (n == INT64_MAX && max != INT64_MAX)) {
		char field[256];

		snprintf(field, sizeof(field), "%s%s%s", at, *at ? "." : "",
			 key);
		return bad(c, field,
			   "%" PRId64 " out of range %" PRId64 "..%" PRId64, n,
			   min, max);
	}
	*out = n;
	return 0;
}

/* "0x" and 1 to @digits hex digits, nothing else. */
static int parse_hex(struct ctx *c, const char *field, struct json_object *v,
		     int digits, uint64_t *out)
{
	const char *s;
	uint64_t x = 0;
	size_t len, n;
	bool ok, fits = true;
	char shown[41];
	int rc = want_type(c, field, v, json_type_string);

	if (rc < 0)
		return rc;
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	ok = len >= 3 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	for (n = 2; ok && n < len; n++) {
		char ch = s[n];
		unsigned int d = 0;

		if (ch >= '0' && ch <= '9')
			d = (unsigned int)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			d = (unsigned int)(ch - 'a' + 10);
		else if (ch >= 'A' && ch <= 'F')
			d = (unsigned int)(ch - 'A' + 10);
		else
			ok = false;
		if (ok && x >> 60)
			fits = false;
		x = x << 4 | d;
	}
	msr_excerpt(s, len, shown);
	if (!ok)
		return bad(c, field, "bad hex '%s'", shown);
	if (!fits || (digits < 16 && x >> (4 * digits)))
		return bad(c, field, "'%s' does not fit in %d bits", shown,
			   4 * digits);
	*out = x;
	return 0;
}

static int cmp_state_msr(const void *a, const void *b)
{
	const struct msr_state_msr *x = a, *y = b;

	return (x->msr > y->msr) - (x->msr < y->msr);
}

static int load_msr(struct ctx *c, struct msr_state *st, size_t i,
		    struct json_object *o, const struct msr_allowlist *al)
{
	static const char *const keys[] = {"msr", "mask", "values", "errors",
					   NULL};
	struct msr_state_msr *m = &st->msrs[i];
	struct json_object *v, *vals, *errs = NULL;
	const struct al_entry *e;
	char at[64], field[96];
	uint64_t x;
	int rc;

	snprintf(at, sizeof(at), "msrs[%zu]", i);
	if ((rc = want_type(c, at, o, json_type_object)) < 0 ||
	    (rc = only_keys(c, o, at, keys)) < 0)
		return rc;
	snprintf(field, sizeof(field), "%s.msr", at);
	if ((rc = get(c, o, at, "msr", json_type_string, &v)) < 0 ||
	    (rc = parse_hex(c, field, v, 8, &x)) < 0)
		return rc;
	m->msr = (uint32_t)x;
	snprintf(field, sizeof(field), "%s.mask", at);
	if ((rc = get(c, o, at, "mask", json_type_string, &v)) < 0 ||
	    (rc = parse_hex(c, field, v, 16, &m->wmask)) < 0)
		return rc;
	/* The mask must be the one the recorded allowlist gives. */
	e = al_find(al->entries, al->count, m->msr);
	if (!e)
		return bad(c, at, "MSR 0x%08X is not in allowlist.text",
			   m->msr);
	if (e->wmask != m->wmask)
		return bad(c, field,
			   "0x%016" PRIX64 " differs from allowlist.text's "
			   "0x%016" PRIX64,
			   m->wmask, (uint64_t)e->wmask);
	if ((rc = get(c, o, at, "values", json_type_array, &vals)) < 0)
		return rc;
	if (json_object_object_get_ex(o, "errors", &errs)) {
		snprintf(field, sizeof(field), "%s.errors", at);
		if ((rc = want_type(c, field, errs, json_type_array)) < 0)
			return rc;
		if (json_object_array_length(errs) != st->ncpus)
			return bad(c, field,
				   "%zu entries for %zu CPUs in 'cpus'",
				   json_object_array_length(errs), st->ncpus);
	}
	snprintf(field, sizeof(field), "%s.values", at);
	if (json_object_array_length(vals) != st->ncpus)
		return bad(c, field, "%zu values for %zu CPUs in 'cpus'",
			   json_object_array_length(vals), st->ncpus);
	m->values = calloc(st->ncpus ? st->ncpus : 1, sizeof(*m->values));
	m->errs = calloc(st->ncpus ? st->ncpus : 1, sizeof(*m->errs));
	if (!m->values || !m->errs)
		return msr_err_set(c->err, -ENOMEM, "%s: out of memory",
				   c->name);
	for (size_t k = 0; k < st->ncpus; k++) {
		struct json_object *ev =
		    errs ? json_object_array_get_idx(errs, k) : NULL;
		struct json_object *vv = json_object_array_get_idx(vals, k);
		int64_t en = 0;

		if (errs) {
			snprintf(field, sizeof(field), "%s.errors[%zu]", at, k);
			if ((rc = want_type(c, field, ev, json_type_int)) < 0)
				return rc;
			en = json_object_get_int64(ev);
			if (en < 0 || en > 4095)
				return bad(c, field,
					   "%" PRId64 " is not an errno", en);
		}
		snprintf(field, sizeof(field), "%s.values[%zu]", at, k);
		if (en) {
			if (vv)
				return bad(c, field,
					   "must be null: errors[%zu] says "
					   "it was unreadable",
					   k);
			m->errs[k] = -(int)en;
			continue;
		}
		if (!vv)
			return bad(c, field,
				   "null without an errno in errors[%zu]", k);
		if ((rc = parse_hex(c, field, vv, 16, &m->values[k])) < 0)
			return rc;
	}
	return 0;
}

static int load_root(struct ctx *c, struct json_object *root,
		     struct msr_state *st)
{
	static const char *const top_keys[] = {
	    "format",	   "version",	   "host",    "boot_id",   "created",
	    "created_utc", "tool_version", "cpu",     "allowlist", "cpus",
	    "msrs",	   "job",	   "outcome", NULL};
	static const char *const cpu_keys[] = {"vendor", "family", "model",
					       NULL};
	static const char *const al_keys[] = {"path", "sha256", "text", NULL};
	static const char *const job_keys[] = {"id",	    "uid",     "user",
					       "partition", "profile", NULL};
	struct json_object *v, *o, *arr;
	struct msr_allowlist al = {0};
	struct msr_err perr;
	char fmt[64], utc[64], sha[65];
	uint64_t x;
	int64_t n;
	size_t len;
	int rc;

	if ((rc = want_type(c, "(top level)", root, json_type_object)) < 0 ||
	    (rc = get_str(c, root, "", "format", fmt, sizeof(fmt))) < 0)
		return rc;
	if (strcmp(fmt, MSRSAVE_STATE_FORMAT)) {
		char shown[41];

		msr_excerpt(fmt, strlen(fmt), shown);
		return bad(c, "format", "'%s' is not '%s'", shown,
			   MSRSAVE_STATE_FORMAT);
	}
	if ((rc = get_int(c, root, "", "version", INT64_MIN, INT64_MAX, &n)) <
	    0)
		return rc;
	if (n != MSRSAVE_STATE_VERSION)
		return bad(c, "version",
			   "%" PRId64 " is not supported (this tool reads "
			   "version %d)",
			   n, MSRSAVE_STATE_VERSION);
	if ((rc = only_keys(c, root, "", top_keys)) < 0 ||
	    (rc = get_str(c, root, "", "host", st->host, sizeof(st->host))) <
		0 ||
	    (rc = get_str(c, root, "", "boot_id", st->boot_id,
			  sizeof(st->boot_id))) < 0)
		return rc;
	if ((rc = get(c, root, "", "created", json_type_string, &v)) < 0 ||
	    (rc = parse_hex(c, "created", v, 16, &x)) < 0)
		return rc;
	if (x > INT64_MAX)
		return bad(c, "created", "out of range");
	st->created = (int64_t)x;
	if ((rc = get_str(c, root, "", "created_utc", utc, sizeof(utc))) < 0 ||
	    (rc = get_str(c, root, "", "tool_version", st->tool_version,
			  sizeof(st->tool_version))) < 0)
		return rc;

	if ((rc = get(c, root, "", "cpu", json_type_object, &o)) < 0 ||
	    (rc = only_keys(c, o, "cpu", cpu_keys)) < 0 ||
	    (rc = get_str(c, o, "cpu", "vendor", st->cpu.vendor,
			  sizeof(st->cpu.vendor))) < 0 ||
	    (rc = get_int(c, o, "cpu", "family", 0, 0xffff, &n)) < 0)
		return rc;
	st->cpu.family = (unsigned int)n;
	if ((rc = get_int(c, o, "cpu", "model", 0, 0xffff, &n)) < 0)
		return rc;
	st->cpu.model = (unsigned int)n;

	if ((rc = get(c, root, "", "allowlist", json_type_object, &o)) < 0 ||
	    (rc = only_keys(c, o, "allowlist", al_keys)) < 0 ||
	    (rc = get_str(c, o, "allowlist", "path", st->allowlist_path,
			  sizeof(st->allowlist_path))) < 0 ||
	    (rc = get_str(c, o, "allowlist", "sha256", st->allowlist_sha256,
			  sizeof(st->allowlist_sha256))) < 0 ||
	    (rc = get(c, o, "allowlist", "text", json_type_string, &v)) < 0)
		return rc;
	len = (size_t)json_object_get_string_len(v);
	st->allowlist_text = malloc(len + 1);
	if (!st->allowlist_text)
		return msr_err_set(c->err, -ENOMEM, "%s: out of memory",
				   c->name);
	memcpy(st->allowlist_text, json_object_get_string(v), len + 1);
	if (strlen(st->allowlist_text) != len)
		return bad(c, "allowlist.text", "contains a NUL byte");
	sha256_hex(st->allowlist_text, len, sha);
	if (strcmp(sha, st->allowlist_sha256))
		return bad(c, "allowlist.sha256",
			   "'%s' does not match the SHA-256 of "
			   "allowlist.text (%s)",
			   st->allowlist_sha256, sha);
	if (msr_allowlist_parse_live(st->allowlist_text, len, "allowlist.text",
				     &al, &perr) < 0)
		return bad(c, "allowlist.text", "%s", perr.msg);

	if ((rc = get(c, root, "", "cpus", json_type_array, &arr)) < 0)
		goto fail;
	st->ncpus = json_object_array_length(arr);
	st->cpus = calloc(st->ncpus ? st->ncpus : 1, sizeof(*st->cpus));
	if (!st->cpus) {
		rc = msr_err_set(c->err, -ENOMEM, "%s: out of memory", c->name);
		goto fail;
	}
	for (size_t k = 0; k < st->ncpus; k++) {
		char field[32];

		snprintf(field, sizeof(field), "cpus[%zu]", k);
		v = json_object_array_get_idx(arr, k);
		if ((rc = want_type(c, field, v, json_type_int)) < 0)
			goto fail;
		n = json_object_get_int64(v);
		if (n < 0 || n > 0xffff) {
			rc =
			    bad(c, field, "%" PRId64 " is not a CPU number", n);
			goto fail;
		}
		if (k && n <= st->cpus[k - 1]) {
			rc = bad(c, field,
				 "%" PRId64 " after %d: CPUs must be "
				 "ascending and unique",
				 n, st->cpus[k - 1]);
			goto fail;
		}
		st->cpus[k] = (int)n;
	}

	if ((rc = get(c, root, "", "msrs", json_type_array, &arr)) < 0)
		goto fail;
	len = json_object_array_length(arr);
	st->msrs = calloc(len ? len : 1, sizeof(*st->msrs));
	if (!st->msrs) {
		rc = msr_err_set(c->err, -ENOMEM, "%s: out of memory", c->name);
		goto fail;
	}
	for (size_t i = 0; i < len; i++) {
		st->nmsrs = i + 1;
		rc = load_msr(c, st, i, json_object_array_get_idx(arr, i), &al);
		if (rc < 0)
			goto fail;
		for (size_t j = 0; j < i; j++) {
			if (st->msrs[j].msr == st->msrs[i].msr) {
				rc = bad(c, "msrs",
					 "MSR 0x%08X listed twice (msrs[%zu] "
					 "and msrs[%zu])",
					 st->msrs[i].msr, j, i);
				goto fail;
			}
		}
	}
	qsort(st->msrs, st->nmsrs, sizeof(*st->msrs), cmp_state_msr);

	if (json_object_object_get_ex(root, "job", &o)) {
		if ((rc = want_type(c, "job", o, json_type_object)) < 0 ||
		    (rc = only_keys(c, o, "job", job_keys)) < 0 ||
		    (rc = get_str(c, o, "job", "id", st->job.id,
				  sizeof(st->job.id))) < 0 ||
		    (rc = get_int(c, o, "job", "uid", 0, UINT32_MAX, &n)) < 0)
			goto fail;
		st->job.uid = (uint32_t)n;
		if ((rc = get_str(c, o, "job", "user", st->job.user,
				  sizeof(st->job.user))) < 0 ||
		    (rc = get_str(c, o, "job", "partition", st->job.partition,
				  sizeof(st->job.partition))) < 0 ||
		    (rc = get_str(c, o, "job", "profile", st->job.profile,
				  sizeof(st->job.profile))) < 0)
			goto fail;
		st->has_job = true;
	}
	if (json_object_object_get_ex(root, "outcome", &o)) {
		if ((rc = want_type(c, "outcome", o, json_type_object)) < 0)
			goto fail;
		st->outcome = json_object_get(o);
	}
	rc = 0;
fail:
	msr_allowlist_free(&al);
	return rc;
}

static int parse_text(const char *text, size_t len, const char *name,
		      struct msr_state **out, struct msr_err *err)
{
	struct ctx c = {.name = name ? name : "<state>", .err = err};
	struct json_object *root;
	struct msr_state *st;
	int rc;

	*out = NULL;
	rc = msr_json_parse(text, len, c.name, &root, err);
	if (rc < 0)
		return rc;
	st = calloc(1, sizeof(*st));
	if (!st) {
		json_object_put(root);
		return msr_err_set(err, -ENOMEM, "%s: out of memory", c.name);
	}
	rc = load_root(&c, root, st);
	json_object_put(root);
	if (rc < 0) {
		msr_state_free(st);
		return rc;
	}
	*out = st;
	return 0;
}

int msr_state_parse(const char *text, size_t len, const char *name,
		    struct msr_state **out, struct msr_err *err)
{
	int rc = parse_text(text, len, name, out, err);

	/* One code for "there, but not a valid state", whatever the fault. */
	return rc < 0 && rc != -ENOMEM ? -EBADMSG : rc;
}

int msr_state_read(const char *path, unsigned int flags, struct msr_state **out,
		   struct msr_err *err)
{
	char *text;
	size_t len;
	int rc;

	*out = NULL;
	rc = msr_file_read(path, STATE_FILE_MAX, flags, &text, &len, err);
	if (rc < 0)
		return rc;
	if (!len) {
		free(text);
		return msr_err_set(err, -EBADMSG,
				   "%s: empty file (truncated: not a state)",
				   path);
	}
	rc = msr_state_parse(text, len, path, out, err);
	free(text);
	return rc;
}

int msr_state_load(const char *path, struct msr_state **out,
		   struct msr_err *err)
{
	return msr_state_read(path, 0, out, err);
}
