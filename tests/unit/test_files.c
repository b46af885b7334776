// SPDX-License-Identifier: GPL-2.0-only
/*
 * libmsrsave's one file writer and reader, and the strict state loader on
 * top of them: atomic replacement, a writer killed mid-write never
 * replacing the target, owner/mode checks on the opened descriptors,
 * symbolic links and FIFOs refused, leftover temp files pruned, and
 * truncated or empty state files refused with the file named.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "msrsave.h"
#include "msrtree.h"

/* Names in @dir that msr_file_write() uses as temp files. */
static size_t count_temps(const char *dir)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d = opendir(dir);

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)))
		if (msr_file_is_temp(de->d_name))
			n++;
	closedir(d);
	return n;
}

static char *new_dir(void)
{
	char *dir = tree_new(NULL, 0, "");

	ck_assert_int_eq(chmod(dir, 0700), 0);
	return dir;
}

static void in_dir(char *buf, size_t cap, const char *dir, const char *name)
{
	snprintf(buf, cap, "%s/%s", dir, name);
}

START_TEST(temp_names)
{
	ck_assert(msr_file_is_temp(".snapshot.json.tmp.a1B2c3"));
	ck_assert(msr_file_is_temp(".x.tmp.zzzzzz"));
	ck_assert(!msr_file_is_temp("snapshot.json"));
	ck_assert(!msr_file_is_temp("snapshot.json.tmp.a1B2c3"));
	ck_assert(!msr_file_is_temp(".snapshot.json.tmp.a1B2c"));
	ck_assert(!msr_file_is_temp(".snapshot.json.tmp.a1B2c-"));
	ck_assert(!msr_file_is_temp(".tmp.a1B2c3"));
	ck_assert(!msr_file_is_temp(".snapshot.json.XXXXXX"));
}
END_TEST

/* Both modes replace the file whole, with the mode asked, no temp left. */
START_TEST(write_replaces_with_mode)
{
	static const unsigned int flags[] = {0, MSR_FILE_SYNC,
					     MSR_FILE_SYNC | MSR_FILE_PRIVATE};
	char *dir = new_dir(), path[4200], *text;
	struct msr_err e = {0};
	struct stat st;

	in_dir(path, sizeof(path), dir, "rec.json");
	for (size_t i = 0; i < 3; i++) {
		char want[32];

		snprintf(want, sizeof(want), "version %zu\n", i);
		ck_assert_msg(msr_file_write(path, want, strlen(want),
					     i ? 0600 : 0640, flags[i],
					     &e) == 0,
			      "%s", e.msg);
		ck_assert_int_eq(stat(path, &st), 0);
		ck_assert_uint_eq(st.st_mode & 07777, i ? 0600 : 0640);
		text = slurp(path);
		ck_assert_str_eq(text, want);
		free(text);
		ck_assert_uint_eq(count_temps(dir), 0);
	}
	tree_remove(dir);
	free(dir);
}
END_TEST

/*
 * A writer killed in the middle (here by SIGXFSZ when its temp file
 * passes RLIMIT_FSIZE) leaves the target as it was plus one temp file;
 * the next writer does not pick the leftover up; pruning removes it.
 */
START_TEST(killed_writer_never_replaces_target)
{
	enum { BIG = 1 << 20 };
	char *dir = new_dir(), path[4200], *text, *big = malloc(BIG);
	struct msr_err e = {0};
	size_t removed = 0;
	int status;
	pid_t pid;

	in_dir(path, sizeof(path), dir, "snapshot.json");
	ck_assert_int_eq(
	    msr_file_write(path, "old\n", 4, 0600, MSR_FILE_SYNC, &e), 0);
	memset(big, 'x', BIG);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct rlimit lim = {.rlim_cur = 4096, .rlim_max = 4096};

		signal(SIGXFSZ, SIG_DFL);
		setrlimit(RLIMIT_FSIZE, &lim);
		msr_file_write(path, big, BIG, 0600, MSR_FILE_SYNC, NULL);
		_exit(0); /* not reached: SIGXFSZ kills the writer */
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGXFSZ,
		      "status %#x", status);
	text = slurp(path);
	ck_assert_str_eq(text, "old\n");
	free(text);
	ck_assert_uint_eq(count_temps(dir), 1);

	ck_assert_int_eq(
	    msr_file_write(path, "new\n", 4, 0600, MSR_FILE_SYNC, &e), 0);
	text = slurp(path);
	ck_assert_str_eq(text, "new\n");
	free(text);
	ck_assert_uint_eq(count_temps(dir), 1);
	/* Fresh leftovers may belong to a writer still running. */
	ck_assert_int_eq(msr_file_prune_temps(dir, 3600, &removed, &e), 0);
	ck_assert_uint_eq(removed, 0);
	ck_assert_int_eq(msr_file_prune_temps(dir, 0, &removed, &e), 0);
	ck_assert_uint_eq(removed, 1);
	ck_assert_uint_eq(count_temps(dir), 0);
	text = slurp(path);
	ck_assert_str_eq(text, "new\n");
	free(text);
	free(big);
	tree_remove(dir);
	free(dir);
}
END_TEST

/* A write that fails (EFBIG) reports the target and removes its temp. */
START_TEST(failed_write_leaves_target)
{
	enum { BIG = 1 << 16 };
	char *dir = new_dir(), path[4200], *text, *big = malloc(BIG);
	struct rlimit lim = {.rlim_cur = 4096, .rlim_max = RLIM_INFINITY};
	struct msr_err e = {0};

	in_dir(path, sizeof(path), dir, "state.json");
	spit(path, "old\n");
	memset(big, 'x', BIG);
	/* Check forks each test: the limit dies with this process. */
	signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	ck_assert_int_eq(msr_file_write(path, big, BIG, 0600, 0, &e), -EFBIG);
	ck_assert_msg(strstr(e.msg, path) && strstr(e.msg, "write failed"),
		      "%s", e.msg);
	text = slurp(path);
	ck_assert_str_eq(text, "old\n");
	free(text);
	ck_assert_uint_eq(count_temps(dir), 0);
	free(big);
	tree_remove(dir);
	free(dir);
}
END_TEST

START_TEST(write_refuses_links_and_non_files)
{
	char *dir = new_dir(), path[4200], target[4200], *text;
	struct msr_err e = {0};

	in_dir(target, sizeof(target), dir, "precious");
	in_dir(path, sizeof(path), dir, "link.json");
	spit(target, "precious");
	ck_assert_int_eq(symlink(target, path), 0);
	ck_assert_int_eq(msr_file_write(path, "x", 1, 0600, MSR_FILE_SYNC, &e),
			 -ELOOP);
	ck_assert_msg(strstr(e.msg, path) && strstr(e.msg, "symbolic link"),
		      "%s", e.msg);
	text = slurp(target);
	ck_assert_str_eq(text, "precious");
	free(text);
	in_dir(path, sizeof(path), dir, "fifo");
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_int_eq(msr_file_write(path, "x", 1, 0600, 0, &e), -EINVAL);
	ck_assert_msg(strstr(e.msg, "not a regular file"), "%s", e.msg);
	in_dir(path, sizeof(path), dir, "sub");
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_int_eq(msr_file_write(path, "x", 1, 0600, 0, &e), -EINVAL);
	ck_assert_int_eq(msr_file_write("", "x", 1, 0600, 0, &e), -EINVAL);
	snprintf(path, sizeof(path), "%s/", dir);
	ck_assert_int_eq(msr_file_write(path, "x", 1, 0600, 0, &e), -EISDIR);
	ck_assert_uint_eq(count_temps(dir), 0);
	tree_remove(dir);
	free(dir);
}
END_TEST

/* MSR_FILE_PRIVATE: the directory written into must be the caller's. */
START_TEST(private_write_checks_directory)
{
	char *dir = new_dir(), path[4200];
	struct msr_err e = {0};

	in_dir(path, sizeof(path), dir, "rec.json");
	ck_assert_int_eq(chmod(dir, 0777), 0);
	ck_assert_int_eq(msr_file_write(path, "x", 1, 0600,
					MSR_FILE_SYNC | MSR_FILE_PRIVATE, &e),
			 -EPERM);
	ck_assert_msg(strstr(e.msg, dir) && strstr(e.msg, "mode 0777"), "%s",
		      e.msg);
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_uint_eq(count_temps(dir), 0);
	/* Without the flag the same directory is fine. */
	ck_assert_int_eq(msr_file_write(path, "x", 1, 0600, 0, &e), 0);
	ck_assert_int_eq(chmod(dir, 0700), 0);
	if (geteuid() == 0) {
		/* Somebody else's directory, however strict its mode. */
		ck_assert_int_eq(chown(dir, 4242, 4242), 0);
		ck_assert_int_eq(
		    msr_file_write(path, "y", 1, 0600, MSR_FILE_PRIVATE, &e),
		    -EPERM);
		ck_assert_msg(strstr(e.msg, "uid 4242"), "%s", e.msg);
		ck_assert_int_eq(chown(dir, 0, 0), 0);
	}
	ck_assert_int_eq(
	    msr_file_write(path, "z", 1, 0600, MSR_FILE_PRIVATE, &e), 0);
	tree_remove(dir);
	free(dir);
}
END_TEST

/* MSR_FILE_PRIVATE reads check the opened file, never follow links. */
START_TEST(private_read_checks_file)
{
	char *dir = new_dir(), path[4200], link[4200], *buf = NULL;
	struct msr_err e = {0};
	size_t len = 0;

	in_dir(path, sizeof(path), dir, "rec.json");
	ck_assert_int_eq(msr_file_write(path, "{}", 2, 0600, 0, &e), 0);
	ck_assert_int_eq(
	    msr_file_read(path, 100, MSR_FILE_PRIVATE, &buf, &len, &e), 0);
	ck_assert_str_eq(buf, "{}");
	ck_assert_uint_eq(len, 2);
	free(buf);
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(
	    msr_file_read(path, 100, MSR_FILE_PRIVATE, &buf, &len, &e), -EPERM);
	ck_assert_msg(strstr(e.msg, path) && strstr(e.msg, "mode 0644"), "%s",
		      e.msg);
	ck_assert_ptr_null(buf);
	/* Without the flag anything readable is read (e.g. /proc files). */
	ck_assert_int_eq(msr_file_read(path, 100, 0, &buf, &len, &e), 0);
	free(buf);
	ck_assert_int_eq(chmod(path, 0600), 0);
	if (geteuid() == 0) {
		ck_assert_int_eq(chown(path, 4242, 4242), 0);
		ck_assert_int_eq(
		    msr_file_read(path, 100, MSR_FILE_PRIVATE, &buf, &len, &e),
		    -EPERM);
		ck_assert_msg(strstr(e.msg, "uid 4242"), "%s", e.msg);
		ck_assert_int_eq(chown(path, 0, 0), 0);
	}
	in_dir(link, sizeof(link), dir, "link.json");
	ck_assert_int_eq(symlink(path, link), 0);
	ck_assert_int_eq(
	    msr_file_read(link, 100, MSR_FILE_PRIVATE, &buf, &len, &e), -ELOOP);
	ck_assert_msg(strstr(e.msg, "symbolic link"), "%s", e.msg);
	/* A FIFO is refused at once rather than blocking the reader. */
	in_dir(path, sizeof(path), dir, "fifo");
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_int_eq(
	    msr_file_read(path, 100, MSR_FILE_PRIVATE, &buf, &len, &e),
	    -EINVAL);
	ck_assert_msg(strstr(e.msg, "not a regular file"), "%s", e.msg);
	in_dir(path, sizeof(path), dir, "absent");
	ck_assert_int_eq(
	    msr_file_read(path, 100, MSR_FILE_PRIVATE, &buf, &len, &e),
	    -ENOENT);
	tree_remove(dir);
	free(dir);
}
END_TEST

/* A state snapshotted from a small tree, written durably to @path. */
static void write_state(const char *path)
{
	const int cpus[] = {0, 1};
	char *tree = tree_new(cpus, 2, "0x10 0x0\n0x402 0xFF\n");
	struct msr_allowlist al = {0};
	struct msr_state *st = NULL;
	struct msr_dev *dev = NULL;
	struct msr_err e = {0};

	tree_set(tree, 1, 0x402, 0x42);
	ck_assert_int_eq(msr_dev_open(tree, &dev, &e), 0);
	ck_assert_int_eq(msr_dev_allowlist_read(dev, &al, &e), 0);
	ck_assert_int_eq(msr_snapshot(dev, &al, "test", 0, &st, &e), 0);
	ck_assert_msg(
	    msr_state_save(path, st, MSR_FILE_SYNC | MSR_FILE_PRIVATE, &e) == 0,
	    "%s", e.msg);
	msr_state_free(st);
	msr_allowlist_free(&al);
	msr_dev_close(dev);
	tree_remove(tree);
	free(tree);
}

/* A power loss used to leave a truncated snapshot.json behind. */
START_TEST(truncated_state_is_refused_by_name)
{
	char *dir = new_dir(), path[4200];
	struct msr_state *st = NULL;
	struct msr_err e = {0};
	struct stat sb;

	in_dir(path, sizeof(path), dir, "snapshot.json");
	write_state(path);
	ck_assert_msg(msr_state_read(path, MSR_FILE_PRIVATE, &st, &e) == 0,
		      "%s", e.msg);
	ck_assert_uint_eq(st->msrs[1].values[1], 0x42);
	msr_state_free(st);
	ck_assert_int_eq(stat(path, &sb), 0);
	/* Every cut short of the end is refused, naming the file. */
	for (off_t cut = sb.st_size - 2; cut >= 0; cut -= 37) {
		ck_assert_int_eq(truncate(path, cut), 0);
		st = (struct msr_state *)1;
		ck_assert_int_eq(msr_state_read(path, 0, &st, &e), -EBADMSG);
		ck_assert_ptr_null(st);
		ck_assert_msg(!strncmp(e.msg, path, strlen(path)), "%s", e.msg);
		write_state(path);
	}
	ck_assert_int_eq(truncate(path, 0), 0);
	ck_assert_int_eq(msr_state_read(path, 0, &st, &e), -EBADMSG);
	ck_assert_msg(strstr(e.msg, "snapshot.json: empty file"), "%s", e.msg);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(msr_state_read(path, 0, &st, &e), -ENOENT);
	/* Unsafe files are told apart from corrupt ones. */
	write_state(path);
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(msr_state_read(path, MSR_FILE_PRIVATE, &st, &e),
			 -EPERM);
	ck_assert_int_eq(msr_state_load(path, &st, &e), 0);
	msr_state_free(st);
	tree_remove(dir);
	free(dir);
}
END_TEST

/* The plugin's job records use the same strict JSON reader and writer. */
START_TEST(json_records_strict)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
	    {"", "empty file"},
	    {"{\"job_id\": \"42\"", "truncated"},
	    {"{\"job_id\": \"42\"}\n{}", "at byte 17"},
	    {"{\"job_id\": \"42\", \"job_id\": \"43\"}",
	     "duplicate key 'job_id'"},
	    {"{\"job_id\": 42,}", "not valid JSON"},
	};
	char *dir = new_dir(), path[4200], *text;
	struct json_object *o, *back = NULL, *v;
	struct msr_err e = {0};

	in_dir(path, sizeof(path), dir, "jobs-42.json");
	o = json_object_new_object();
	json_object_object_add(o, "job_id", json_object_new_string("42"));
	json_object_object_add(o, "path", json_object_new_string("/a/b"));
	ck_assert_int_eq(
	    msr_json_write(path, o, 0600, MSR_FILE_SYNC | MSR_FILE_PRIVATE, &e),
	    0);
	json_object_put(o);
	text = slurp(path);
	ck_assert_msg(strstr(text, "\"/a/b\"") &&
			  text[strlen(text) - 1] == '\n',
		      "%s", text);
	free(text);
	ck_assert_int_eq(msr_json_read(path, 4096, MSR_FILE_PRIVATE, &back, &e),
			 0);
	ck_assert(json_object_object_get_ex(back, "job_id", &v));
	ck_assert_str_eq(json_object_get_string(v), "42");
	json_object_put(back);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		spit(path, bad[i].text);
		back = (struct json_object *)1;
		ck_assert_int_eq(msr_json_read(path, 4096, 0, &back, &e),
				 -EBADMSG);
		ck_assert_ptr_null(back);
		ck_assert_msg(!strncmp(e.msg, path, strlen(path)) &&
				  strstr(e.msg, bad[i].want),
			      "'%s': %s", bad[i].text, e.msg);
	}
	spit(path, "{}");
	ck_assert_int_eq(msr_json_read(path, 1, 0, &back, &e), -EFBIG);
	tree_remove(dir);
	free(dir);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("files");
	TCase *t = tcase_create("core");

	tcase_add_test(t, temp_names);
	tcase_add_test(t, write_replaces_with_mode);
	tcase_add_test(t, killed_writer_never_replaces_target);
	tcase_add_test(t, failed_write_leaves_target);
	tcase_add_test(t, write_refuses_links_and_non_files);
	tcase_add_test(t, private_write_checks_directory);
	tcase_add_test(t, private_read_checks_file);
	tcase_add_test(t, truncated_state_is_refused_by_name);
	tcase_add_test(t, json_records_strict);
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
