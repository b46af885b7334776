// SPDX-License-Identifier: GPL-2.0-only
/*
 * The msrsave and msrctl commands, run as built in this build tree against
 * file-backed MSR trees: subcommands, the upstream forms, exit codes and
 * the wording of errors.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "msrsave.h"
#include "msrtree.h"

#ifndef MSR_BUILDDIR
#error "MSR_BUILDDIR must name the build tree"
#endif
#define MSRSAVE MSR_BUILDDIR "/msrsave/msrsave"
#define MSRCTL	MSR_BUILDDIR "/msrsave/msrctl"

static const int sparse[] = {0, 2, 5};
static const char list3[] = "0x10 0x0\n"
			    "0x1a0 0xF0F000000000FF0F\n"
			    "0x402 0xFFFFFFFFFFFFFFFF\n";

static char *dir;
static char state[4200];
static char *out, *err;

static void setup(void)
{
	dir = tree_new(sparse, 3, list3);
	snprintf(state, sizeof(state), "%s/s.json", dir);
	for (int i = 0; i < 3; i++) {
		tree_set(dir, sparse[i], 0x10, 0x10 + (uint64_t)i);
		tree_set(dir, sparse[i], 0x1a0, 0x1a0 + (uint64_t)i);
		tree_set(dir, sparse[i], 0x402, 0x402 + (uint64_t)i);
	}
	out = err = NULL;
}

static void teardown(void)
{
	tree_remove(dir);
	free(dir);
	free(out);
	free(err);
}

/* Run with the tree in MSR_SAFE_DEVICE_DIR; previous output is freed. */
static int run(const char *const argv[])
{
	free(out);
	free(err);
	return run_cmd(argv, dir, &out, &err);
}

#define RUN(...)                                                 \
	({                                                       \
		const char *const argv_[] = {__VA_ARGS__, NULL}; \
		run(argv_);                                      \
	})

#define HAS(buf, s) \
	ck_assert_msg(strstr((buf), (s)), "no '%s' in:\n%s", (s), (buf))

START_TEST(version_and_help)
{
	ck_assert_int_eq(RUN(MSRSAVE, "--version"), 0);
	HAS(out, "msrsave " PACKAGE_VERSION " (msr-safe ABI 1.9.0)");
	ck_assert_int_eq(RUN(MSRSAVE, "--help"), 0);
	HAS(out, "Usage: msrsave");
	HAS(out, "restore FILE");
	ck_assert_int_eq(RUN(MSRCTL, "--version"), 0);
	HAS(out, "msrctl ");
	ck_assert_int_eq(RUN(MSRCTL, "-h"), 0);
	HAS(out, "Usage: msrctl");
}
END_TEST

START_TEST(usage_errors)
{
	ck_assert_int_eq(RUN(MSRSAVE), 2);
	HAS(err, "missing COMMAND or FILE");
	ck_assert_int_eq(RUN(MSRSAVE, "--bogus", state), 2);
	HAS(err, "unknown option '--bogus'");
	HAS(err, "Try 'msrsave --help'");
	ck_assert_int_eq(RUN(MSRSAVE, "-x", state), 2);
	HAS(err, "unknown option '-x'");
	ck_assert_int_eq(RUN(MSRSAVE, "--device-dir"), 2);
	HAS(err, "needs an argument");
	ck_assert_int_eq(RUN(MSRSAVE, "show"), 2);
	HAS(err, "'show' takes exactly one FILE");
	ck_assert_int_eq(RUN(MSRSAVE, "diff", state), 2);
	HAS(err, "'diff' takes two FILEs");
	ck_assert_int_eq(RUN(MSRSAVE, "frobnicate", "a", "b"), 2);
	HAS(err, "unknown command 'frobnicate'");
	ck_assert_int_eq(RUN(MSRSAVE, "-r", "a", "b"), 2);
	HAS(err, "-r takes exactly one FILE");
	ck_assert_int_eq(RUN(MSRCTL), 2);
	HAS(err, "missing command");
	ck_assert_int_eq(RUN(MSRCTL, "read"), 2);
	HAS(err, "'read' takes ADDR");
	ck_assert_int_eq(RUN(MSRCTL, "read", "0xZZ"), 2);
	HAS(err, "bad MSR address '0xZZ'");
	ck_assert_int_eq(RUN(MSRCTL, "read", "0x100000000"), 2);
	HAS(err, "at most 32 bits");
	ck_assert_int_eq(RUN(MSRCTL, "write", "0x402", "12q"), 2);
	HAS(err, "bad value '12q'");
	ck_assert_int_eq(RUN(MSRCTL, "read", "0x402", "-c", "3-1"), 2);
	HAS(err, "bad CPU list '3-1'");
	ck_assert_int_eq(RUN(MSRCTL, "read", "0x402", "-c", "1"), 2);
	HAS(err, "CPU 1 in '1' has no MSR device");
	ck_assert_int_eq(RUN(MSRCTL, "poke", "1"), 2);
	HAS(err, "unknown command 'poke'");
	ck_assert_int_eq(RUN(MSRCTL, "--cpus"), 2);
	HAS(err, "needs an argument");
}
END_TEST

START_TEST(upstream_forms)
{
	/* msrsave FILE saves; msrsave -r FILE restores. */
	ck_assert_msg(RUN(MSRSAVE, state) == 0, "%s", err);
	HAS(out, "saved 3 MSRs on 3 CPUs");
	ck_assert_int_eq(access(state, F_OK), 0);
	tree_set(dir, 5, 0x402, 0xdead);
	tree_set(dir, 5, 0x1a0, ~0ULL);
	ck_assert_msg(RUN(MSRSAVE, "-r", state) == 0, "%s", err);
	HAS(out, "restored 6 values");
	ck_assert_uint_eq(tree_get(dir, 5, 0x402), 0x402 + 2);
	ck_assert_uint_eq(tree_get(dir, 5, 0x1a0),
			  ((0x1a0 + 2) & 0xF0F000000000FF0FULL) |
			      (~0ULL & ~0xF0F000000000FF0FULL));
	ck_assert_msg(RUN(MSRSAVE, "--restore", state) == 0, "%s", err);
}
END_TEST

START_TEST(save_restore_verify)
{
	char other[4200];

	ck_assert_msg(RUN(MSRSAVE, "--device-dir", dir, "save", state) == 0,
		      "%s", err);
	ck_assert_int_eq(RUN(MSRSAVE, "verify", state), 0);
	HAS(out, "live values match");
	/* An unmasked bit changing is fine, a masked one is not. */
	tree_set(dir, 2, 0x1a0, (0x1a0 + 1) | 0x10);
	ck_assert_int_eq(RUN(MSRSAVE, "verify", state), 0);
	tree_set(dir, 2, 0x1a0, (0x1a0 + 1) | 0x10 | 0x2);
	ck_assert_int_eq(RUN(MSRSAVE, "verify", state), 1);
	HAS(err, "1 value did not verify");
	HAS(err, "0x000001A0 on cpu 2: expected 0x0000000000000101, found "
		 "0x0000000000000103");
	tree_set(dir, 2, 0x1a0, 0);
	ck_assert_int_eq(RUN(MSRSAVE, "verify", state), 1);
	HAS(err, "0x000001A0 on cpu 2: expected 0x0000000000000101, found "
		 "0x0000000000000000 (mask 0xF0F000000000FF0F)");
	ck_assert_int_eq(RUN(MSRSAVE, "-q", "restore", state), 0);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(RUN(MSRSAVE, "verify", state), 0);
	/* A narrower live allowlist: the write is refused, exit 1. */
	tree_set(dir, 0, 0x402, 7);
	tree_set_allowlist(dir, "0x10 0x0\n0x1a0 0xF0F000000000FF0F\n"
				"0x402 0x0\n");
	ck_assert_int_eq(RUN(MSRSAVE, "restore", state), 1);
	HAS(err, "0x00000402 on cpu 0: write failed: read-only");
	tree_set_allowlist(dir, "0x10 0x0\n0x1a0 0xF0F000000000FF0F\n");
	ck_assert_int_eq(RUN(MSRSAVE, "restore", state), 1);
	HAS(err, "0x00000402 on cpu 5: write failed: not in the allowlist");
	/* --allowlist picks what to save. */
	snprintf(other, sizeof(other), "%s/only402", dir);
	spit(other, "0x402 0xFF\n");
	tree_set_allowlist(dir, list3);
	ck_assert_int_eq(RUN(MSRSAVE, "--allowlist", other, "save", state), 0);
	HAS(out, "saved 1 MSRs");
	ck_assert_int_eq(RUN(MSRSAVE, "-w", "save", state), 0);
	HAS(out, "saved 2 MSRs");
	spit(other, "0x402 0xFF\n0x402 0x1\n");
	ck_assert_int_eq(RUN(MSRSAVE, "-a", other, "save", state), 2);
	HAS(err, "only402:2: address listed twice");
}
END_TEST

START_TEST(io_errors)
{
	char path[4200];

	ck_assert_int_eq(RUN(MSRSAVE, "restore", "/nonexistent/s.json"), 2);
	HAS(err, "/nonexistent/s.json: cannot open: No such file");
	ck_assert_int_eq(
	    RUN(MSRSAVE, "--device-dir", "/nonexistent/dev", "save", state), 2);
	HAS(err, "/nonexistent/dev: cannot open the MSR device directory");
	ck_assert_int_eq(access(state, F_OK), -1);
	ck_assert_int_eq(RUN(MSRSAVE, "save", "/nonexistent/dir/s.json"), 2);
	HAS(err, "/nonexistent/dir/s.json: cannot create a file in "
		 "/nonexistent/dir");
	snprintf(path, sizeof(path), "%s/link.json", dir);
	ck_assert_int_eq(symlink("/etc/passwd", path), 0);
	ck_assert_int_eq(RUN(MSRSAVE, "save", path), 2);
	HAS(err, "is a symbolic link; refusing to write through it");
	ck_assert_int_eq(RUN(MSRCTL, "-d", "/nonexistent/dev", "info"), 2);
	HAS(err, "/nonexistent/dev: cannot open the MSR device directory");
	spit(state, "{\"format\": \"msr-safe-state\", \"version\": 9}");
	ck_assert_int_eq(RUN(MSRSAVE, "show", state), 2);
	HAS(err, "s.json: version: 9 is not supported");
}
END_TEST

START_TEST(show_table_and_json)
{
	struct json_object *root, *v;

	ck_assert_int_eq(RUN(MSRSAVE, "save", state), 0);
	ck_assert_int_eq(RUN(MSRSAVE, "show", state), 0);
	HAS(out, "msr-safe-state version 1");
	HAS(out, "cpus:       0,2,5 (3)");
	HAS(out, "MSR         WRITE MASK          VALUE               CPUS");
	HAS(out, "0x00000402  0xFFFFFFFFFFFFFFFF  0x0000000000000402  0\n");
	HAS(out, "                                0x0000000000000404  5\n");
	tree_set(dir, 2, 0x10, 0x10);
	ck_assert_int_eq(RUN(MSRSAVE, "save", state), 0);
	ck_assert_int_eq(RUN(MSRSAVE, "show", state), 0);
	HAS(out, "0x00000010  0x0000000000000000  0x0000000000000010  0,2\n");
	ck_assert_int_eq(RUN(MSRSAVE, "show", "--json", state), 0);
	root = json_tokener_parse(out);
	ck_assert_ptr_nonnull(root);
	ck_assert(json_object_object_get_ex(root, "format", &v));
	ck_assert_str_eq(json_object_get_string(v), "msr-safe-state");
	json_object_put(root);
}
END_TEST

START_TEST(show_renders_outcome)
{
	struct msr_state *st = NULL;
	struct msr_err e = {0};

	ck_assert_int_eq(RUN(MSRSAVE, "save", state), 0);
	ck_assert_int_eq(msr_state_load(state, &st, &e), 0);
	st->has_job = true;
	snprintf(st->job.id, sizeof(st->job.id), "77");
	st->job.uid = 1000;
	snprintf(st->job.user, sizeof(st->job.user), "bob");
	snprintf(st->job.profile, sizeof(st->job.profile), "demo");
	st->outcome = json_tokener_parse(
	    "{\"changed\": [{\"msr\": \"0x402\", \"cpus\": [0, 2]},"
	    " {\"msr\": \"0x403\", \"cpus\": []}],"
	    " \"restored\": true, \"note\": \"all good\", \"empty\": {},"
	    " \"nested\": [[1]]}");
	ck_assert_ptr_nonnull(st->outcome);
	ck_assert_int_eq(msr_state_write(state, st, &e), 0);
	msr_state_free(st);
	ck_assert_int_eq(RUN(MSRSAVE, "show", state), 0);
	HAS(out, "job:        77, user bob (uid 1000), partition -, profile "
		 "demo");
	HAS(out, "\noutcome:\n"
		 "  changed:\n"
		 "    - msr: 0x402\n"
		 "      cpus:\n"
		 "        - 0\n"
		 "        - 2\n"
		 "    - msr: 0x403\n"
		 "      cpus: []\n"
		 "  restored: true\n"
		 "  note: all good\n"
		 "  empty: {}\n"
		 "  nested:\n"
		 "    -\n"
		 "      - 1\n");
}
END_TEST

START_TEST(diff_states)
{
	char b[4200];

	snprintf(b, sizeof(b), "%s/b.json", dir);
	ck_assert_int_eq(RUN(MSRSAVE, "save", state), 0);
	ck_assert_int_eq(RUN(MSRSAVE, "save", b), 0);
	ck_assert_int_eq(RUN(MSRSAVE, "diff", state, b), 0);
	HAS(out, "hold the same values");
	tree_set(dir, 5, 0x10, 0xabc);
	ck_assert_int_eq(RUN(MSRSAVE, "save", b), 0);
	ck_assert_int_eq(RUN(MSRSAVE, "diff", state, b), 1);
	HAS(out, "1 value differ");
	HAS(out, "0x00000010 on cpu 5: A 0x0000000000000012, B "
		 "0x0000000000000ABC");
	ck_assert_int_eq(RUN(MSRSAVE, "diff", state, "/nonexistent"), 2);
	HAS(err, "/nonexistent: cannot open");
}
END_TEST

/* restore --changed: lists and restores only masked changes. */
START_TEST(restore_changed)
{
	ck_assert_int_eq(RUN(MSRSAVE, "save", state), 0);
	ck_assert_int_eq(RUN(MSRSAVE, "restore", "--changed", state), 0);
	HAS(out, "restored 0 changed values of 6 compared from");
	/* Bits outside 0x1a0's mask are no change; 0x402 on cpu 2 is. */
	tree_set(dir, 0, 0x1a0, 0x1a0 ^ 0x00F0);
	tree_set(dir, 2, 0x402, 0xdead);
	ck_assert_int_eq(
	    RUN(MSRSAVE, "restore", "--changed", "--dry-run", state), 0);
	HAS(out, "0x00000402 on cpu 2: saved 0x0000000000000403, found "
		 "0x000000000000DEAD");
	HAS(out, "would restore 1 changed value of 6");
	ck_assert_uint_eq(tree_get(dir, 2, 0x402), 0xdead);
	ck_assert_int_eq(RUN(MSRSAVE, "-r", "--changed", state), 0);
	HAS(out, "restored 1 changed value of 6");
	ck_assert_uint_eq(tree_get(dir, 2, 0x402), 0x403);
	ck_assert_uint_eq(tree_get(dir, 0, 0x1a0), 0x1a0 ^ 0x00F0);
	/* A CPU that came online since the save is a failure (exit 1). */
	{
		char path[4200];

		snprintf(path, sizeof(path), "%s/7", dir);
		ck_assert_int_eq(mkdir(path, 0755), 0);
		snprintf(path, sizeof(path), "%s/7/msr_safe", dir);
		spit(path, "");
	}
	ck_assert_int_eq(RUN(MSRSAVE, "restore", "--changed", state), 1);
	HAS(err, "1 value cannot be restored");
	HAS(err, "cpu 7: CPU came online after the snapshot");
	ck_assert_int_eq(RUN(MSRSAVE, "verify", "--changed", state), 2);
	HAS(err, "--changed goes with restore");
	ck_assert_int_eq(RUN(MSRSAVE, "restore", "--dry-run", state), 2);
	HAS(err, "--dry-run goes with restore --changed");
}
END_TEST

START_TEST(msrctl_read_write)
{
	ck_assert_int_eq(RUN(MSRCTL, "info"), 0);
	HAS(out, "backend:    per-cpu (file-backed tree)");
	HAS(out, "cpus:       0,2,5 (3)");
	ck_assert_int_eq(RUN(MSRCTL, "read", "0x402"), 0);
	ck_assert_str_eq(out, "cpu 0: 0x0000000000000402\n"
			      "cpu 2: 0x0000000000000403\n"
			      "cpu 5: 0x0000000000000404\n");
	ck_assert_int_eq(RUN(MSRCTL, "read", "1026", "-c", "5"), 0);
	ck_assert_str_eq(out, "cpu 5: 0x0000000000000404\n");
	ck_assert_int_eq(
	    RUN(MSRCTL, "write", "0x1a0", "0xFFFF", "--cpus", "0,5"), 0);
	HAS(out, "cpu 0: wrote 0x000000000000FFFF (write mask "
		 "0xF0F000000000FF0F)");
	ck_assert_uint_eq(tree_get(dir, 0, 0x1a0), 0xFF0F | (0x1a0 & 0xF0));
	ck_assert_uint_eq(tree_get(dir, 2, 0x1a0), 0x1a1);
	ck_assert_int_eq(RUN(MSRCTL, "write", "0x10", "1"), 1);
	HAS(err, "0x10 on cpu 0: read-only (write mask is 0 in the allowlist)");
	HAS(err, "0x10 on cpu 5: read-only");
	ck_assert_int_eq(RUN(MSRCTL, "read", "0x610", "-c", "2-2"), 1);
	HAS(err, "0x610 on cpu 2: not in the allowlist");
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(
	    RUN(MSRCTL, "--device-dir", dir, "read", "0x10", "-c", "all"), 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("cli");
	TCase *t = tcase_create("commands");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_set_timeout(t, 60);
	tcase_add_test(t, version_and_help);
	tcase_add_test(t, usage_errors);
	tcase_add_test(t, upstream_forms);
	tcase_add_test(t, save_restore_verify);
	tcase_add_test(t, io_errors);
	tcase_add_test(t, show_table_and_json);
	tcase_add_test(t, show_renders_outcome);
	tcase_add_test(t, diff_states);
	tcase_add_test(t, msrctl_read_write);
	tcase_add_test(t, restore_changed);
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
