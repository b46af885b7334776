// SPDX-License-Identifier: GPL-2.0-only
/*
 * The state file: write/load round trip, and every kind of corruption the
 * strict loader must refuse, each with a message naming the file and the
 * field, and with nothing written to the MSR tree (checked through the
 * library and through the real msrsave command).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "msrsave.h"
#include "msrtree.h"
#include "sha256.h"

#ifndef MSR_BUILDDIR
#error "MSR_BUILDDIR must name the build tree"
#endif
#define MSRSAVE_BIN MSR_BUILDDIR "/msrsave/msrsave"

static const int sparse[] = {0, 2, 5};
static const uint32_t msrs[] = {0x10, 0x1a0, 0x402};
static const char list3[] = "0x10 0x0\n"
			    "0x1a0 0xF0F000000000FF0F\n"
			    "0x402 0xFFFFFFFFFFFFFFFF\n";

/* A tree, a good state of it, then the tree changed so a restore writes. */
struct fixture {
	char *dir;
	char good[4200];
	char bad[4200];
	struct json_object *root;
};

static void fixture_new(struct fixture *f)
{
	struct msr_allowlist al = {0};
	struct msr_state *st = NULL;
	struct msr_dev *dev = NULL;
	struct msr_err e = {0};

	f->dir = tree_new(sparse, 3, list3);
	for (int i = 0; i < 3; i++)
		for (int k = 0; k < 3; k++)
			tree_set(f->dir, sparse[i], msrs[k],
				 0x1111111111111111ULL * (uint64_t)(i + k + 1));
	ck_assert_int_eq(msr_dev_open(f->dir, &dev, &e), 0);
	ck_assert_int_eq(msr_dev_allowlist_read(dev, &al, &e), 0);
	ck_assert_int_eq(msr_snapshot(dev, &al, "al", 0, &st, &e), 0);
	snprintf(f->good, sizeof(f->good), "%s/good.json", f->dir);
	snprintf(f->bad, sizeof(f->bad), "%s/bad.json", f->dir);
	ck_assert_int_eq(msr_state_write(f->good, st, &e), 0);
	ck_assert_int_eq(msr_state_to_json(st, &f->root, &e), 0);
	for (int i = 0; i < 3; i++)
		for (int k = 1; k < 3; k++)
			tree_set(f->dir, sparse[i], msrs[k], 0);
	msr_state_free(st);
	msr_allowlist_free(&al);
	msr_dev_close(dev);
}

static void fixture_free(struct fixture *f)
{
	json_object_put(f->root);
	tree_remove(f->dir);
	free(f->dir);
}

static void fingerprint(const struct fixture *f, char out[65])
{
	tree_fingerprint(f->dir, sparse, 3, msrs, 3, out);
}

START_TEST(round_trip)
{
	struct msr_state *st = NULL, *back = NULL;
	struct json_object *a = NULL, *b = NULL, *outcome;
	struct msr_err e = {0};
	struct fixture f;
	struct stat sb;

	fixture_new(&f);
	ck_assert_msg(msr_state_load(f.good, &st, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(stat(f.good, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 07777, 0600);
	ck_assert_uint_eq(st->ncpus, 3);
	ck_assert_int_eq(st->cpus[2], 5);
	ck_assert_uint_eq(st->nmsrs, 3);
	ck_assert_uint_eq(st->msrs[2].msr, 0x402);
	ck_assert_uint_eq(st->msrs[1].wmask, 0xF0F000000000FF0FULL);
	/* cpu index 2 (CPU 5), msr index 2: 0x1111... * 5 */
	ck_assert_uint_eq(st->msrs[2].values[2], 0x5555555555555555ULL);
	ck_assert_uint_eq(st->msrs[0].values[0], 0x1111111111111111ULL);
	ck_assert_str_eq(st->allowlist_path, "al");
	ck_assert(!st->has_job);
	ck_assert_ptr_null(st->outcome);
	/* A job and an outcome survive a round trip, outcome as-is. */
	st->has_job = true;
	snprintf(st->job.id, sizeof(st->job.id), "4242");
	st->job.uid = 4000000000u;
	snprintf(st->job.user, sizeof(st->job.user), "alice");
	snprintf(st->job.partition, sizeof(st->job.partition), "debug");
	snprintf(st->job.profile, sizeof(st->job.profile), "demo");
	outcome = json_tokener_parse("{\"changed\": [{\"msr\": \"0x402\", "
				     "\"cpus\": \"0,2\"}], \"restored\": true, "
				     "\"big\": \"0xFFFFFFFFFFFFFFFF\"}");
	ck_assert_ptr_nonnull(outcome);
	st->outcome = outcome;
	ck_assert_int_eq(msr_state_write(f.good, st, &e), 0);
	ck_assert_msg(msr_state_load(f.good, &back, &e) == 0, "%s", e.msg);
	ck_assert(back->has_job);
	ck_assert_str_eq(back->job.id, "4242");
	ck_assert_uint_eq(back->job.uid, 4000000000u);
	ck_assert_str_eq(back->job.user, "alice");
	ck_assert_str_eq(back->job.partition, "debug");
	ck_assert_str_eq(back->job.profile, "demo");
	ck_assert_int_eq(back->created, st->created);
	ck_assert_str_eq(back->host, st->host);
	ck_assert_str_eq(back->boot_id, st->boot_id);
	ck_assert_str_eq(back->allowlist_text, st->allowlist_text);
	ck_assert_str_eq(back->allowlist_sha256, st->allowlist_sha256);
	ck_assert(json_object_equal(back->outcome, outcome));
	/* Everything else too: the JSON of both is identical. */
	ck_assert_int_eq(msr_state_to_json(st, &a, &e), 0);
	ck_assert_int_eq(msr_state_to_json(back, &b, &e), 0);
	ck_assert_str_eq(json_object_to_json_string(a),
			 json_object_to_json_string(b));
	json_object_put(a);
	json_object_put(b);
	msr_state_free(st);
	msr_state_free(back);
	fixture_free(&f);
}
END_TEST

START_TEST(file_shape)
{
	struct json_object *root, *v, *m;
	struct fixture f;
	char *text;

	fixture_new(&f);
	text = slurp(f.good);
	root = json_tokener_parse(text);
	ck_assert_ptr_nonnull(root);
	ck_assert(json_object_object_get_ex(root, "format", &v));
	ck_assert_str_eq(json_object_get_string(v), "msr-safe-state");
	ck_assert(json_object_object_get_ex(root, "version", &v));
	ck_assert_int_eq(json_object_get_int(v), 1);
	ck_assert(json_object_object_get_ex(root, "created_utc", &v));
	ck_assert_uint_eq(strlen(json_object_get_string(v)), 20);
	ck_assert(json_object_object_get_ex(root, "msrs", &v));
	m = json_object_array_get_idx(v, 2);
	ck_assert(json_object_object_get_ex(m, "values", &v));
	/* 64-bit numbers are hex strings, never JSON numbers. */
	ck_assert_str_eq(
	    json_object_get_string(json_object_array_get_idx(v, 2)),
	    "0x5555555555555555");
	ck_assert(json_object_object_get_ex(m, "msr", &v));
	ck_assert_str_eq(json_object_get_string(v), "0x00000402");
	json_object_put(root);
	free(text);
	fixture_free(&f);
}
END_TEST

/* ---- corruptions ----------------------------------------------------------
 */

#define DEL NULL

struct corruption {
	const char *name;
	const char *path;  /* a.b[1].c, or NULL for a text edit */
	const char *value; /* JSON text; DEL removes the field */
	int fix_sha;	   /* recompute allowlist.sha256 afterwards */
	int text_edit;	   /* index into text edits when path is NULL */
	const char *want;  /* expected after "bad.json: " */
};

enum {
	TRUNCATE = 1,
	TRAILING,
	NOT_JSON,
	TOP_ARRAY,
	EMPTY,
	NUL_BYTE,
	DUP_KEY,
	DUP_NESTED
};

static const struct corruption cases[] = {
    {"format renamed", "format", "\"msr-safe-stat\"", 0, 0,
     "format: 'msr-safe-stat' is not 'msr-safe-state'"},
    {"format missing", "format", DEL, 0, 0, "format: missing field"},
    {"version 2", "version", "2", 0, 0, "version: 2 is not supported"},
    {"version as string", "version", "\"1\"", 0, 0,
     "version: expected an integer, found a string"},
    {"host a number", "host", "5", 0, 0,
     "host: expected a string, found an integer"},
    {"host too long", "host",
     "\"hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh"
     "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh"
     "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh"
     "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh\"",
     0, 0, "host: too long"},
    {"boot_id missing", "boot_id", DEL, 0, 0, "boot_id: missing field"},
    {"created bad hex", "created", "\"0xZZ\"", 0, 0, "created: bad hex '0xZZ'"},
    {"created a number", "created", "1700000000", 0, 0,
     "created: expected a string"},
    {"created_utc missing", "created_utc", DEL, 0, 0,
     "created_utc: missing field"},
    {"tool_version null", "tool_version", "null", 0, 0,
     "tool_version: expected a string, found null"},
    {"cpu not an object", "cpu", "[]", 0, 0,
     "cpu: expected an object, found an array"},
    {"cpu.vendor missing", "cpu.vendor", DEL, 0, 0,
     "cpu.vendor: missing field"},
    {"cpu.family negative", "cpu.family", "-1", 0, 0,
     "cpu.family: -1 out of range"},
    {"cpu.model a string", "cpu.model", "\"143\"", 0, 0,
     "cpu.model: expected an integer"},
    {"cpu unknown field", "cpu.stepping", "1", 0, 0,
     "cpu: unknown field 'stepping'"},
    {"allowlist missing", "allowlist", DEL, 0, 0, "allowlist: missing field"},
    {"allowlist.path missing", "allowlist.path", DEL, 0, 0,
     "allowlist.path: missing field"},
    {"sha256 wrong", "allowlist.sha256",
     "\"0000000000000000000000000000000000000000000000000000000000000000\"", 0,
     0, "allowlist.sha256: '0000"},
    {"text edited, sha stale", "allowlist.text",
     "\"0x10 0x0\\n0x1a0 0xF0F000000000FF0F\\n0x402 0xFF\\n\"", 0, 0,
     "allowlist.sha256:"},
    {"text unparsable", "allowlist.text", "\"0x10 zz\\n\"", 1, 0,
     "allowlist.text: allowlist.text:1:"},
    {"text with a duplicate", "allowlist.text", "\"0x10 0x0\\n0x10 0x0\\n\"", 1,
     0, "allowlist.text:"},
    {"cpus not ascending", "cpus", "[0, 5, 2]", 0, 0, "cpus[2]: 2 after 5"},
    {"cpus duplicate", "cpus", "[0, 2, 2]", 0, 0, "cpus[2]: 2 after 2"},
    {"cpu number a string", "cpus[1]", "\"2\"", 0, 0,
     "cpus[1]: expected an integer"},
    {"cpu number negative", "cpus[0]", "-1", 0, 0,
     "cpus[0]: -1 is not a CPU number"},
    {"fewer cpus than values", "cpus", "[0, 2]", 0, 0,
     "msrs[0].values: 3 values for 2 CPUs"},
    {"msrs an object", "msrs", "{}", 0, 0, "msrs: expected an array"},
    {"msrs missing", "msrs", DEL, 0, 0, "msrs: missing field"},
    {"entry a string", "msrs[1]", "\"x\"", 0, 0,
     "msrs[1]: expected an object, found a string"},
    {"msr bad hex", "msrs[1].msr", "\"0xZZ\"", 0, 0,
     "msrs[1].msr: bad hex '0xZZ'"},
    {"msr above 32 bits", "msrs[1].msr", "\"0x100000000\"", 0, 0,
     "msrs[1].msr: '0x100000000' does not fit in 32 bits"},
    {"msr null", "msrs[1].msr", "null", 0, 0,
     "msrs[1].msr: expected a string, found null"},
    {"created with a control byte", "created", "\"0x1\\n2\"", 0, 0,
     "created: bad hex '0x1?2'"},
    {"msr a number", "msrs[1].msr", "416", 0, 0,
     "msrs[1].msr: expected a string"},
    {"duplicate msr", "msrs[1]",
     "{\"msr\": \"0x10\", \"mask\": \"0x0\", \"values\": [\"0x1\", \"0x2\", "
     "\"0x3\"]}",
     0, 0, "msrs: MSR 0x00000010 listed twice (msrs[0] and msrs[1])"},
    {"msr not in the list", "msrs[1].msr", "\"0x1a1\"", 0, 0,
     "msrs[1]: MSR 0x000001A1 is not in allowlist.text"},
    {"mask differs from list", "msrs[1].mask", "\"0xFF\"", 0, 0,
     "msrs[1].mask: 0x00000000000000FF differs"},
    {"mask missing", "msrs[1].mask", DEL, 0, 0, "msrs[1].mask: missing field"},
    {"value bad hex", "msrs[1].values[1]", "\"0xZZ\"", 0, 0,
     "msrs[1].values[1]: bad hex '0xZZ'"},
    {"value above 64 bits", "msrs[1].values[1]", "\"0x10000000000000000\"", 0,
     0, "msrs[1].values[1]: '0x10000000000000000' does not fit in 64 bits"},
    {"value empty", "msrs[1].values[1]", "\"\"", 0, 0,
     "msrs[1].values[1]: bad hex ''"},
    {"value prefix only", "msrs[1].values[1]", "\"0x\"", 0, 0,
     "msrs[1].values[1]: bad hex '0x'"},
    {"value without prefix", "msrs[1].values[1]", "\"12\"", 0, 0,
     "msrs[1].values[1]: bad hex '12'"},
    {"value with blank", "msrs[1].values[1]", "\"0x12 \"", 0, 0,
     "msrs[1].values[1]: bad hex '0x12 '"},
    {"value a number", "msrs[1].values[1]", "12", 0, 0,
     "msrs[1].values[1]: expected a string, found an integer"},
    {"value null without errno", "msrs[1].values[1]", "null", 0, 0,
     "msrs[1].values[1]: null without an errno"},
    {"too few values", "msrs[1].values", "[\"0x0\", \"0x0\"]", 0, 0,
     "msrs[1].values: 2 values for 3 CPUs"},
    {"values missing", "msrs[2].values", DEL, 0, 0,
     "msrs[2].values: missing field"},
    {"errors too short", "msrs[1].errors", "[0, 5]", 0, 0,
     "msrs[1].errors: 2 entries for 3 CPUs"},
    {"errno with a value", "msrs[1].errors", "[0, 5, 0]", 0, 0,
     "msrs[1].values[1]: must be null"},
    {"errno negative", "msrs[1].errors", "[0, -5, 0]", 0, 0,
     "msrs[1].errors[1]: -5 is not an errno"},
    {"errors a string", "msrs[1].errors", "\"EIO\"", 0, 0,
     "msrs[1].errors: expected an array"},
    {"entry unknown field", "msrs[1].valuez", "[]", 0, 0,
     "msrs[1]: unknown field 'valuez'"},
    {"top-level unknown field", "outcom", "{}", 0, 0,
     "(top level): unknown field 'outcom'"},
    {"job incomplete", "job", "{\"id\": \"1\"}", 0, 0,
     "job.uid: missing field"},
    {"job uid negative", "job",
     "{\"id\": \"1\", \"uid\": -1, \"user\": \"u\", \"partition\": \"p\", "
     "\"profile\": \"\"}",
     0, 0, "job.uid: -1 out of range"},
    {"outcome an array", "outcome", "[1]", 0, 0,
     "outcome: expected an object, found an array"},
    {"truncated", NULL, NULL, 0, TRUNCATE, "truncated"},
    {"trailing data", NULL, NULL, 0, TRAILING, "not valid JSON at byte"},
    {"not JSON", NULL, NULL, 0, NOT_JSON, "not valid JSON"},
    {"top level an array", NULL, NULL, 0, TOP_ARRAY,
     "(top level): expected an object"},
    {"empty file", NULL, NULL, 0, EMPTY, "empty file"},
    {"duplicate top-level key", NULL, NULL, 0, DUP_KEY,
     "duplicate key 'version' at byte "},
    {"duplicate key in an entry", NULL, NULL, 0, DUP_NESTED,
     "duplicate key 'values'"},
    {"NUL byte", NULL, NULL, 0, NUL_BYTE, "NUL byte"},
};

#define NCASES ((int)(sizeof(cases) / sizeof(cases[0])))

/* Replace (or delete) the value at a path such as msrs[1].values[0]. */
static void edit(struct json_object *root, const char *path, const char *value)
{
	char buf[256], *seg, *save = NULL;
	struct json_object *cur = root, *parent = NULL;
	const char *key = NULL;
	long idx = -1;

	snprintf(buf, sizeof(buf), "%s", path);
	for (seg = strtok_r(buf, ".", &save); seg;
	     seg = strtok_r(NULL, ".", &save)) {
		char *br = strchr(seg, '[');

		if (br)
			*br = 0;
		parent = cur;
		key = seg;
		idx = -1;
		if (!json_object_object_get_ex(parent, key, &cur))
			cur = NULL;
		while (br) {
			parent = cur;
			idx = strtol(br + 1, &br, 10);
			br = strchr(br, '[');
			cur = json_object_array_get_idx(parent, (size_t)idx);
		}
	}
	ck_assert_ptr_nonnull(parent);
	if (idx >= 0) {
		ck_assert_ptr_nonnull(value);
		ck_assert_int_eq(
		    json_object_array_put_idx(parent, (size_t)idx,
					      json_tokener_parse(value)),
		    0);
	} else if (!value) {
		json_object_object_del(parent, key);
	} else {
		struct json_object *v = json_tokener_parse(value);

		ck_assert_msg(v || !strcmp(value, "null"), "bad test JSON %s",
			      value);
		json_object_object_add(parent, key, v);
	}
}

static char *corrupt_text(const struct corruption *c, struct json_object *root,
			  size_t *len)
{
	const char *good =
	    json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY);
	char *text = NULL;

	if (c->path) {
		edit(root, c->path, c->value);
		if (c->fix_sha) {
			struct json_object *al, *t;
			char sha[65];

			ck_assert(
			    json_object_object_get_ex(root, "allowlist", &al));
			ck_assert(json_object_object_get_ex(al, "text", &t));
			sha256_hex(json_object_get_string(t),
				   (size_t)json_object_get_string_len(t), sha);
			json_object_object_add(al, "sha256",
					       json_object_new_string(sha));
		}
		text = strdup(json_object_to_json_string_ext(
		    root, JSON_C_TO_STRING_PRETTY));
		*len = strlen(text);
		return text;
	}
	switch (c->text_edit) {
	case TRUNCATE:
		text = strndup(good, strlen(good) / 2);
		break;
	case TRAILING:
		ck_assert_int_ge(asprintf(&text, "%s}x\n", good), 0);
		break;
	case NOT_JSON:
		text = strdup("hello\n");
		break;
	case TOP_ARRAY:
		text = strdup("[]\n");
		break;
	case EMPTY:
		text = strdup("");
		break;
	case DUP_KEY:
		ck_assert_int_ge(
		    asprintf(&text, "{\"version\": 1, %s", good + 1), 0);
		break;
	case DUP_NESTED: {
		const char *at = strstr(good, "\"values\"");

		ck_assert_ptr_nonnull(at);
		ck_assert_int_ge(asprintf(&text, "%.*s\"values\": [], %s",
					  (int)(at - good), good, at),
				 0);
		break;
	}
	case NUL_BYTE:
		text = strdup(good);
		text[strlen(text) / 2] = 0;
		*len = strlen(good);
		return text;
	}
	*len = strlen(text);
	return text;
}

START_TEST(corrupted_state_refused)
{
	const struct corruption *c = &cases[_i];
	char before[65], after[65], want[4800], *text, *out, *err;
	struct msr_state *st = (struct msr_state *)1;
	struct msr_err e = {0};
	struct fixture f;
	size_t len = 0;
	FILE *fp;
	int rc;

	fixture_new(&f);
	text = corrupt_text(c, f.root, &len);
	fp = fopen(f.bad, "w");
	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fwrite(text, 1, len, fp), len);
	fclose(fp);
	free(text);
	snprintf(want, sizeof(want), "%s: %s", f.bad, c->want);
	fingerprint(&f, before);

	rc = msr_state_load(f.bad, &st, &e);
	ck_assert_msg(rc < 0, "%s: accepted", c->name);
	/* Whatever the fault, one code says "present but not a state". */
	ck_assert_msg(rc == -EBADMSG, "%s: %d", c->name, rc);
	ck_assert_ptr_null(st);
	ck_assert_msg(strstr(e.msg, want), "%s:\n got  '%s'\n want '%s'",
		      c->name, e.msg, want);

	/* The command refuses it too, before touching any MSR. */
	{
		const char *argv[] = {MSRSAVE_BIN, "--device-dir", f.dir,
				      "restore",   f.bad,	   NULL};

		rc = run_cmd(argv, NULL, &out, &err);
		ck_assert_msg(rc == 2, "%s: exit %d, stderr %s", c->name, rc,
			      err);
		ck_assert_msg(strstr(err, want), "%s: stderr '%s'", c->name,
			      err);
		free(out);
		free(err);
	}
	{
		const char *argv[] = {MSRSAVE_BIN, "-r", f.bad, NULL};

		rc = run_cmd(argv, f.dir, &out, &err);
		ck_assert_int_eq(rc, 2);
		free(out);
		free(err);
	}
	fingerprint(&f, after);
	ck_assert_msg(!strcmp(before, after), "%s: the MSR tree changed",
		      c->name);
	fixture_free(&f);
}
END_TEST

/* The control: the same flow with the good file does write. */
START_TEST(good_state_restores)
{
	const char *argv[] = {MSRSAVE_BIN, "--device-dir", NULL,
			      "restore",   NULL,	   NULL};
	char before[65], after[65], *out, *err;
	struct fixture f;

	fixture_new(&f);
	argv[2] = f.dir;
	argv[4] = f.good;
	fingerprint(&f, before);
	ck_assert_int_eq(tree_get(f.dir, 5, 0x402), 0);
	ck_assert_msg(run_cmd(argv, NULL, &out, &err) == 0, "%s", err);
	fingerprint(&f, after);
	ck_assert_str_ne(before, after);
	ck_assert_uint_eq(tree_get(f.dir, 5, 0x402), 0x5555555555555555ULL);
	free(out);
	free(err);
	fixture_free(&f);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("state");
	TCase *t = tcase_create("file");

	tcase_set_timeout(t, 60);
	tcase_add_test(t, round_trip);
	tcase_add_test(t, file_shape);
	tcase_add_test(t, good_state_restores);
	tcase_add_loop_test(t, corrupted_state_refused, 0, NCASES);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
