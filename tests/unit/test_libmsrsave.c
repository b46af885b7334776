// SPDX-License-Identifier: GPL-2.0-only
/*
 * libmsrsave on file-backed MSR trees: backends, allowlist rules and
 * masks bit by bit, snapshot/restore/verify on sparse CPUs, unreadable
 * values, atomic writes, CPU lists, numbers and SHA-256 vectors.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "msrsave.h"
#include "msrtree.h"
#include "sha256.h"

static const int sparse[] = {0, 2, 5};
#define NSPARSE 3

/* 0x10 read-only, 0x1a0 a mixed mask, 0x402 fully writable. */
static const char list3[] = "0x10 0x0\n"
			    "0x1a0 0xF0F000000000FF0F # mixed\n"
			    "0x402 0xFFFFFFFFFFFFFFFF\n";
#define MIXED 0xF0F000000000FF0FULL

static struct msr_dev *open_ok(const char *dir)
{
	struct msr_err e = {0};
	struct msr_dev *dev = NULL;
	int rc = msr_dev_open(dir, &dev, &e);

	ck_assert_msg(rc == 0, "msr_dev_open(%s): %d %s", dir, rc, e.msg);
	return dev;
}

static struct msr_state *snap(struct msr_dev *dev, unsigned int flags)
{
	struct msr_allowlist al = {0};
	struct msr_state *st = NULL;
	struct msr_err e = {0};

	ck_assert_int_eq(msr_dev_allowlist_read(dev, &al, &e), 0);
	ck_assert_msg(msr_snapshot(dev, &al, "test", flags, &st, &e) == 0, "%s",
		      e.msg);
	msr_allowlist_free(&al);
	return st;
}

/* ---- SHA-256 ------------------------------------------------------------ */

START_TEST(sha256_vectors)
{
	static const struct {
		const char *in;
		const char *hex;
	} v[] = {
	    {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b"
		 "7852b855"},
	    {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff"
		    "61f20015ad"},
	    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db"
	     "06c1"},
	    {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijk"
	     "lmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
	     "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afe"
	     "e9d1"},
	};
	char hex[65];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		sha256_hex(v[i].in, strlen(v[i].in), hex);
		ck_assert_str_eq(hex, v[i].hex);
	}
}
END_TEST

START_TEST(sha256_million_a_in_pieces)
{
	/* Odd-sized updates cross block boundaries at every offset. */
	static char chunk[997];
	unsigned char d[SHA256_DIGEST_LEN];
	struct sha256_ctx c;
	size_t left = 1000000;
	char hex[65];

	memset(chunk, 'a', sizeof(chunk));
	sha256_init(&c);
	while (left) {
		size_t n = left < sizeof(chunk) ? left : sizeof(chunk);

		sha256_update(&c, chunk, n);
		left -= n;
	}
	sha256_final(&c, d);
	for (int i = 0; i < SHA256_DIGEST_LEN; i++)
		sprintf(hex + 2 * i, "%02x", d[i]);
	ck_assert_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a49720"
			      "0e046d39ccc7112cd0");
}
END_TEST

/* ---- numbers and CPU lists ---------------------------------------------- */

START_TEST(parse_u64_strict)
{
	uint64_t v = 0;

	ck_assert_int_eq(msr_parse_u64("0x10", UINT64_MAX, &v), 0);
	ck_assert_uint_eq(v, 16);
	ck_assert_int_eq(msr_parse_u64("10", UINT64_MAX, &v), 0);
	ck_assert_uint_eq(v, 10);
	ck_assert_int_eq(msr_parse_u64("0XfF", UINT64_MAX, &v), 0);
	ck_assert_uint_eq(v, 255);
	ck_assert_int_eq(msr_parse_u64("0xFFFFFFFFFFFFFFFF", UINT64_MAX, &v),
			 0);
	ck_assert_uint_eq(v, UINT64_MAX);
	ck_assert_int_eq(msr_parse_u64("18446744073709551615", UINT64_MAX, &v),
			 0);
	ck_assert_uint_eq(v, UINT64_MAX);
	ck_assert_int_eq(msr_parse_u64("18446744073709551616", UINT64_MAX, &v),
			 -ERANGE);
	ck_assert_int_eq(msr_parse_u64("0x10000000000000000", UINT64_MAX, &v),
			 -ERANGE);
	ck_assert_int_eq(msr_parse_u64("0x100000000", UINT32_MAX, &v), -ERANGE);
	ck_assert_int_eq(msr_parse_u64("0xFFFFFFFF", UINT32_MAX, &v), 0);
	ck_assert_int_eq(msr_parse_u64("", UINT64_MAX, &v), -EINVAL);
	ck_assert_int_eq(msr_parse_u64("0x", UINT64_MAX, &v), -EINVAL);
	ck_assert_int_eq(msr_parse_u64("-1", UINT64_MAX, &v), -EINVAL);
	ck_assert_int_eq(msr_parse_u64(" 1", UINT64_MAX, &v), -EINVAL);
	ck_assert_int_eq(msr_parse_u64("1 ", UINT64_MAX, &v), -EINVAL);
	ck_assert_int_eq(msr_parse_u64("12a", UINT64_MAX, &v), -EINVAL);
	ck_assert_int_eq(msr_parse_u64("0x1g", UINT64_MAX, &v), -EINVAL);
}
END_TEST

static void expect_cpus(const char *text, const struct msr_dev *dev,
			const int *want, size_t nwant)
{
	struct msr_err e = {0};
	int *cpus = NULL;
	size_t n = 0;
	int rc = msr_parse_cpulist(text, dev, &cpus, &n, &e);

	ck_assert_msg(rc == 0, "'%s': %s", text, e.msg);
	ck_assert_uint_eq(n, nwant);
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(cpus[i], want[i]);
	free(cpus);
}

START_TEST(cpulist_parse)
{
	static const char *const bad[] = {"",	   "1-",  "-1",	   "a",
					  "1,,2",  "3-1", "1-2-3", "0x1",
					  "70000", "1,",  ",1",	   " 1"};
	static const int r1[] = {0, 1, 2, 3, 8}, r2[] = {1, 3};
	static const int r3[] = {7};
	struct msr_err e = {0};
	int *cpus = NULL;
	size_t n = 7;

	expect_cpus("0-3,8", NULL, r1, 5);
	expect_cpus("8,0-3", NULL, r1, 5);
	expect_cpus("3,1,1", NULL, r2, 2);
	expect_cpus("7-7", NULL, r3, 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(msr_parse_cpulist(bad[i], NULL, &cpus, &n, &e) ==
				  -EINVAL,
			      "'%s' accepted", bad[i]);
		ck_assert_ptr_null(cpus);
		ck_assert_uint_eq(n, 0);
		ck_assert_msg(strstr(e.msg, "bad CPU list"), "%s", e.msg);
	}
}
END_TEST

START_TEST(cpulist_against_device)
{
	char *dir = tree_new(sparse, NSPARSE, list3);
	struct msr_dev *dev = open_ok(dir);
	struct msr_err e = {0};
	static const int r05[] = {0, 5};
	int *cpus = NULL;
	size_t n = 0;
	char buf[64];

	expect_cpus("all", dev, sparse, NSPARSE);
	expect_cpus("5,0", dev, r05, 2);
	ck_assert_int_eq(msr_parse_cpulist("0-2", dev, &cpus, &n, &e), -ENXIO);
	ck_assert_msg(strstr(e.msg, "CPU 1"), "%s", e.msg);
	ck_assert_int_eq(msr_parse_cpulist("all", NULL, &cpus, &n, &e),
			 -EINVAL);
	msr_format_cpulist(sparse, NSPARSE, buf, sizeof(buf));
	ck_assert_str_eq(buf, "0,2,5");
	{
		static const int run[] = {0, 1, 2, 3, 8, 10, 11};

		msr_format_cpulist(run, 7, buf, sizeof(buf));
		ck_assert_str_eq(buf, "0-3,8,10-11");
		msr_format_cpulist(run, 0, buf, sizeof(buf));
		ck_assert_str_eq(buf, "");
	}
	msr_dev_close(dev);
	tree_remove(dir);
	free(dir);
}
END_TEST

/* ---- devices --------------------------------------------------------------
 */

START_TEST(device_tree_sparse_cpus)
{
	char *dir = tree_new(sparse, NSPARSE, list3);
	char path[4200];
	struct msr_dev *dev;

	/* Non-CPU and CPU-less entries are not CPUs. */
	snprintf(path, sizeof(path), "%s/7", dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/07", dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/microcode", dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	dev = open_ok(dir);
	ck_assert_int_eq(msr_dev_backend(dev), MSR_BACKEND_PERCPU);
	ck_assert(msr_dev_is_file_backed(dev));
	ck_assert_str_eq(msr_dev_dir(dev), dir);
	ck_assert_uint_eq(msr_dev_ncpus(dev), NSPARSE);
	for (size_t i = 0; i < NSPARSE; i++)
		ck_assert_int_eq(msr_dev_cpus(dev)[i], sparse[i]);
	msr_dev_close(dev);
	tree_remove(dir);
	free(dir);
}
END_TEST

START_TEST(device_dir_from_environment)
{
	char *dir = tree_new(sparse, NSPARSE, list3);
	struct msr_dev *dev;

	ck_assert_int_eq(setenv(MSRSAVE_DEVICE_DIR_ENV, dir, 1), 0);
	dev = open_ok(NULL);
	ck_assert_str_eq(msr_dev_dir(dev), dir);
	msr_dev_close(dev);
	unsetenv(MSRSAVE_DEVICE_DIR_ENV);
	tree_remove(dir);
	free(dir);
}
END_TEST

START_TEST(device_missing_or_empty)
{
	struct msr_err e = {0};
	struct msr_dev *dev = NULL;
	char *dir = tree_new(NULL, 0, "");

	ck_assert_int_eq(msr_dev_open("/nonexistent/msr", &dev, &e), -ENOENT);
	ck_assert_ptr_null(dev);
	ck_assert_msg(strstr(e.msg, "/nonexistent/msr"), "%s", e.msg);
	ck_assert_int_eq(msr_dev_open(dir, &dev, &e), -ENOENT);
	ck_assert_msg(strstr(e.msg, "no MSR devices"), "%s", e.msg);
	tree_remove(dir);
	free(dir);
}
END_TEST

/* Character-device trees: /dev/null stands in for nodes (mknod 1,3). */
static void mknull(const char *dir, const char *rel)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	ck_assert_msg(mknod(path, S_IFCHR | 0600, makedev(1, 3)) == 0,
		      "mknod %s: %s", path, strerror(errno));
}

START_TEST(backend_selection)
{
	char *dir = tree_new(NULL, 0, "");
	char path[4200];
	struct msr_dev *dev;
	struct msr_op op = {.cpu = 2, .msr = 0x10};
	struct msr_err e = {0};

	/* Stock msr driver nodes only. */
	for (size_t i = 0; i < NSPARSE; i++) {
		snprintf(path, sizeof(path), "%s/%d", dir, sparse[i]);
		ck_assert_int_eq(mkdir(path, 0755), 0);
		snprintf(path, sizeof(path), "%d/msr", sparse[i]);
		mknull(dir, path);
	}
	dev = open_ok(dir);
	ck_assert_int_eq(msr_dev_backend(dev), MSR_BACKEND_STOCK);
	ck_assert(!msr_dev_is_file_backed(dev));
	ck_assert_uint_eq(msr_dev_ncpus(dev), NSPARSE);
	/* No allowlist device: installing must not create a file there. */
	{
		struct msr_allowlist none = {0};

		snprintf(path, sizeof(path), "%s/msr_allowlist", dir);
		ck_assert_int_eq(unlink(path), 0);
		ck_assert_int_eq(msr_dev_allowlist_install(dev, &none, &e),
				 -ENOENT);
		ck_assert_msg(strstr(e.msg, "no allowlist device"), "%s",
			      e.msg);
		ck_assert_int_eq(access(path, F_OK), -1);
	}
	msr_dev_close(dev);

	/* msr_safe nodes win over msr; a batch node that is not msr-safe's
	 * (it answers ENOTTY) is passed over for the per-CPU nodes. */
	for (size_t i = 0; i < NSPARSE; i++) {
		snprintf(path, sizeof(path), "%d/msr_safe", sparse[i]);
		mknull(dir, path);
	}
	mknull(dir, "msr_batch");
	dev = open_ok(dir);
	ck_assert_int_eq(msr_dev_backend(dev), MSR_BACKEND_PERCPU);
	ck_assert(!msr_dev_is_file_backed(dev));
	/* A real node: reads go to the device (null gives no 8 bytes). */
	ck_assert_int_eq(msr_dev_exec(dev, &op, 1, &e), -EIO);
	ck_assert_int_eq(op.err, -EIO);
	op.write = true;
	op.value = 1;
	ck_assert_int_eq(msr_dev_exec(dev, &op, 1, &e), 0);
	msr_dev_close(dev);

	/* A batch node without a driver behind it (ENXIO on open). */
	snprintf(path, sizeof(path), "%s/msr_batch", dir);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(mknod(path, S_IFCHR | 0600, makedev(511, 77)), 0);
	dev = open_ok(dir);
	ck_assert_int_eq(msr_dev_backend(dev), MSR_BACKEND_PERCPU);
	msr_dev_close(dev);
	ck_assert_str_eq(msr_backend_name(MSR_BACKEND_BATCH), "batch");
	ck_assert_str_eq(msr_backend_name(MSR_BACKEND_PERCPU), "per-cpu");
	ck_assert_str_eq(msr_backend_name(MSR_BACKEND_STOCK), "stock-msr");
	tree_remove(dir);
	free(dir);
}
END_TEST

/*
 * The stock driver writes all 64 bits, so restore reads first and merges
 * under the mask; where that read fails (here /dev/null gives no 8 bytes)
 * nothing may be written, although the write itself would succeed.
 */
START_TEST(stock_restore_never_writes_blind)
{
	char *files = tree_new(sparse, NSPARSE, list3);
	char *stock = tree_new(NULL, 0, "");
	struct msr_dev *dev = open_ok(files), *sdev;
	struct msr_report rep = {0};
	struct msr_err e = {0};
	struct msr_state *st = snap(dev, 0);
	char path[4200];

	for (size_t i = 0; i < NSPARSE; i++) {
		snprintf(path, sizeof(path), "%s/%d", stock, sparse[i]);
		ck_assert_int_eq(mkdir(path, 0755), 0);
		snprintf(path, sizeof(path), "%d/msr", sparse[i]);
		mknull(stock, path);
	}
	sdev = open_ok(stock);
	ck_assert_int_eq(msr_dev_backend(sdev), MSR_BACKEND_STOCK);
	ck_assert_int_eq(msr_restore(sdev, st, &rep, &e), -EIO);
	ck_assert_uint_eq(rep.written, 0);
	/* 2 writable MSRs x 3 CPUs, each refused with the read's error. */
	ck_assert_uint_eq(rep.count, 6);
	for (size_t i = 0; i < rep.count; i++)
		ck_assert_int_eq(rep.items[i].err, -EIO);
	msr_report_free(&rep);
	msr_state_free(st);
	msr_dev_close(sdev);
	msr_dev_close(dev);
	tree_remove(stock);
	tree_remove(files);
	free(stock);
	free(files);
}
END_TEST

/* A node the caller may not open is a permission error, not EACCES. */
START_TEST(unopenable_node_is_eperm)
{
	char *dir = tree_new(sparse, NSPARSE, list3);
	pid_t pid;
	int status;

	ck_assert_int_eq(chmod(dir, 0755), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct msr_op op = {.cpu = 2, .msr = 0x402};
		struct msr_err e = {0};
		struct msr_dev *dev = NULL;

		/* nobody: the 0600 root-owned msr_safe files are closed. */
		if (setgid(65534) || setuid(65534))
			_exit(10);
		if (msr_dev_open(dir, &dev, &e))
			_exit(11);
		msr_dev_exec(dev, &op, 1, &e);
		_exit(op.err == -EPERM ? 0 : 12);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_ptr_nonnull(strstr(msr_op_strerror(-EPERM), "not permitted"));
	tree_remove(dir);
	free(dir);
}
END_TEST

START_TEST(file_tree_enforces_allowlist)
{
	char *dir = tree_new(sparse, NSPARSE, list3);
	struct msr_dev *dev = open_ok(dir);
	struct msr_err e = {0};
	struct msr_op ops[5] = {
	    {.cpu = 2, .msr = 0x10, .write = true, .value = 1},
	    {.cpu = 2, .msr = 0x610},
	    {.cpu = 2, .msr = 0x610, .write = true, .value = 1},
	    {.cpu = 3, .msr = 0x402},
	    {.cpu = 5, .msr = 0x402, .write = true, .value = 42},
	};

	tree_set(dir, 2, 0x10, 0x77);
	ck_assert_int_eq(msr_dev_exec(dev, ops, 5, &e), -EROFS);
	ck_assert_int_eq(ops[0].err, -EROFS);
	ck_assert_int_eq(ops[1].err, -EACCES);
	ck_assert_int_eq(ops[2].err, -EACCES);
	ck_assert_int_eq(ops[3].err, -ENXIO);
	ck_assert_int_eq(ops[4].err, 0);
	ck_assert_uint_eq(ops[4].wmask, ~0ULL);
	ck_assert_uint_eq(tree_get(dir, 2, 0x10), 0x77);
	ck_assert_uint_eq(tree_get(dir, 5, 0x402), 42);
	ck_assert_uint_eq(tree_get(dir, 0, 0x402), 0);
	ck_assert_str_eq(msr_op_strerror(-EACCES), "not in the allowlist");
	ck_assert_ptr_nonnull(strstr(msr_op_strerror(-EROFS), "read-only"));
	ck_assert_ptr_nonnull(strstr(msr_op_strerror(-ENXIO), "offline"));
	/* Reading past the end of a sparse file reads 0. */
	ops[0] = (struct msr_op){.cpu = 0, .msr = 0x1a0};
	ck_assert_int_eq(msr_dev_exec(dev, ops, 1, &e), 0);
	ck_assert_uint_eq(ops[0].value, 0);
	ck_assert_uint_eq(ops[0].wmask, MIXED);
	msr_dev_close(dev);
	tree_remove(dir);
	free(dir);
}
END_TEST

/* ---- file-backed layout: one 8-byte slot per address ------------------- */

/* Adjacent addresses used to share 7 bytes (offset = address). */
START_TEST(file_tree_adjacent_msrs_do_not_overlap)
{
	const int cpus[] = {0};
	char *dir = tree_new(cpus, 1,
			     "0xC0010200 0xFFFFFFFFFFFFFFFF\n"
			     "0xC0010201 0xFFFFFFFFFFFFFFFF\n");
	struct msr_dev *dev = open_ok(dir);
	struct msr_op ops[2] = {
	    {.msr = 0xC0010200, .write = true, .value = 0x1111111111111111},
	    {.msr = 0xC0010201, .write = true, .value = 0x2222222222222222},
	};
	struct msr_err e = {0};
	char path[4200];
	struct stat st;

	ck_assert_int_eq(tree_offset(0xC0010201) - tree_offset(0xC0010200), 8);
	ck_assert_int_eq(msr_dev_exec(dev, ops, 2, &e), 0);
	ck_assert_uint_eq(tree_get(dir, 0, 0xC0010200), 0x1111111111111111);
	ck_assert_uint_eq(tree_get(dir, 0, 0xC0010201), 0x2222222222222222);
	/* Read back through the library: each its own value. */
	ops[0] = (struct msr_op){.msr = 0xC0010200};
	ops[1] = (struct msr_op){.msr = 0xC0010201};
	ck_assert_int_eq(msr_dev_exec(dev, ops, 2, &e), 0);
	ck_assert_uint_eq(ops[0].value, 0x1111111111111111);
	ck_assert_uint_eq(ops[1].value, 0x2222222222222222);
	/* The file is sparse: 24 GiB apparent size, a few blocks on disk. */
	snprintf(path, sizeof(path), "%s/0/msr_safe", dir);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, tree_offset(0xC0010201) + 8);
	ck_assert_int_lt(st.st_blocks, 1024);
	msr_dev_close(dev);
	tree_remove(dir);
	free(dir);
}
END_TEST

static void load_shipped(const char *rel, struct msr_allowlist *al)
{
	char path[4200];
	struct msr_err e = {0};

	snprintf(path, sizeof(path), "%s/%s", ALLOWLIST_SRCDIR, rel);
	ck_assert_msg(msr_allowlist_load(path, al, &e) == 0, "%s", e.msg);
}

/* A distinct 64-bit value per (cpu, msr). */
static uint64_t pattern(int cpu, uint32_t msr)
{
	return 0x9E3779B97F4A7C15ULL * ((uint64_t)msr << 8 | (unsigned)cpu);
}

/*
 * The shipped AMD Zen 3 baseline with its perf overlay (PERF_CTLn and
 * PERF_CTRn, adjacent and writable): snapshot, one write, diff, restore.
 */
START_TEST(file_tree_shipped_amd_list_round_trip)
{
	const int cpus[] = {0, 3};
	struct msr_allowlist base = {0}, perf = {0}, job = {0};
	struct msr_report rep = {0};
	struct msr_state *st, *now;
	struct msr_err e = {0};
	struct msr_dev *dev;
	struct msr_op op;
	char *dir = tree_new(cpus, 2, "");

	load_shipped("al_19_1", &base);
	load_shipped("profiles/perf/al_19_1", &perf);
	ck_assert_int_eq(msr_allowlist_merge(&base, &perf, &job, &e), 0);
	dev = open_ok(dir);
	ck_assert_msg(msr_dev_allowlist_install(dev, &job, &e) == 0, "%s",
		      e.msg);
	for (size_t c = 0; c < 2; c++)
		for (size_t i = 0; i < job.count; i++)
			tree_set(dir, cpus[c], job.entries[i].msr,
				 pattern(cpus[c], job.entries[i].msr));
	ck_assert_msg(msr_snapshot(dev, &job, "al_19_1+perf", 0, &st, &e) == 0,
		      "%s", e.msg);
	ck_assert_uint_eq(st->nmsrs, job.count);
	for (size_t i = 0; i < st->nmsrs; i++)
		for (size_t c = 0; c < 2; c++)
			ck_assert_msg(st->msrs[i].values[c] ==
					  pattern(cpus[c], st->msrs[i].msr),
				      "msr 0x%x cpu %d", st->msrs[i].msr,
				      cpus[c]);

	/* One write changes one entry, not its neighbours. */
	op = (struct msr_op){
	    .cpu = 3, .msr = 0xC0010201, .write = true, .value = 0};
	ck_assert_int_eq(msr_dev_exec(dev, &op, 1, &e), 0);
	ck_assert_int_eq(msr_snapshot(dev, &job, "now", 0, &now, &e), 0);
	ck_assert_int_eq(msr_state_diff(st, now, &rep, &e), 0);
	ck_assert_uint_eq(rep.count, 1);
	ck_assert_uint_eq(rep.items[0].msr, 0xC0010201);
	ck_assert_int_eq(rep.items[0].cpu, 3);
	msr_report_free(&rep);
	msr_state_free(now);
	ck_assert_uint_eq(tree_get(dir, 3, 0xC0010200), pattern(3, 0xC0010200));
	ck_assert_uint_eq(tree_get(dir, 3, 0xC0010202), pattern(3, 0xC0010202));

	/* Clobber every writable entry; restore puts each masked value back. */
	for (size_t c = 0; c < 2; c++)
		for (size_t i = 0; i < job.count; i++)
			tree_set(dir, cpus[c], job.entries[i].msr, ~0ULL);
	ck_assert_msg(msr_restore(dev, st, &rep, &e) == 0, "%zu", rep.count);
	ck_assert_uint_eq(rep.written, 2 * perf.count);
	for (size_t c = 0; c < 2; c++)
		for (size_t i = 0; i < job.count; i++) {
			const struct al_entry *a = &job.entries[i];
			uint64_t want =
			    (pattern(cpus[c], a->msr) & a->wmask) | ~a->wmask;

			ck_assert_msg(tree_get(dir, cpus[c], a->msr) == want,
				      "msr 0x%x cpu %d", a->msr, cpus[c]);
		}
	msr_report_free(&rep);
	msr_state_free(st);
	msr_allowlist_free(&base);
	msr_allowlist_free(&perf);
	msr_allowlist_free(&job);
	msr_dev_close(dev);
	tree_remove(dir);
	free(dir);
}
END_TEST

START_TEST(masked_write_bit_by_bit)
{
	char *dir = tree_new(sparse, NSPARSE, list3);
	struct msr_dev *dev = open_ok(dir);
	struct msr_err e = {0};

	for (int b = 0; b < 64; b++) {
		const uint64_t bit = 1ULL << b;
		struct msr_op op = {.cpu = 5, .msr = 0x1a0, .write = true};

		/* Set only bit b: it sticks exactly when the mask has it. */
		tree_set(dir, 5, 0x1a0, 0);
		op.value = bit;
		ck_assert_int_eq(msr_dev_exec(dev, &op, 1, &e), 0);
		ck_assert_uint_eq(tree_get(dir, 5, 0x1a0), bit & MIXED);
		/* Clear only bit b from all-ones. */
		tree_set(dir, 5, 0x1a0, ~0ULL);
		op.value = ~bit;
		ck_assert_int_eq(msr_dev_exec(dev, &op, 1, &e), 0);
		ck_assert_uint_eq(tree_get(dir, 5, 0x1a0),
				  (bit & MIXED) ? ~bit : ~0ULL);
	}
	msr_dev_close(dev);
	tree_remove(dir);
	free(dir);
}
END_TEST

START_TEST(allowlist_read_install)
{
	char *dir = tree_new(sparse, NSPARSE, list3);
	struct msr_dev *dev = open_ok(dir);
	struct msr_allowlist al = {0}, two = {0}, merged = {0};
	struct msr_err e = {0};
	char path[4200], *text;
	size_t len;
	DIR *d;
	struct dirent *de;

	ck_assert_int_eq(msr_dev_allowlist_read(dev, &al, &e), 0);
	ck_assert_uint_eq(al.count, 3);
	ck_assert_uint_eq(al.entries[1].msr, 0x1a0);
	ck_assert_uint_eq(al.entries[1].wmask, MIXED);
	ck_assert_int_eq(
	    msr_allowlist_parse("0x1a0 0x1\n0x20 0x0\n", 20, "two", &two, &e),
	    0);
	ck_assert_int_eq(msr_allowlist_merge(&al, &two, &merged, &e), 0);
	ck_assert_uint_eq(merged.count, 4);
	ck_assert_uint_eq(merged.entries[2].wmask, MIXED | 1);
	ck_assert_int_eq(msr_dev_allowlist_install(dev, &merged, &e), 0);
	snprintf(path, sizeof(path), "%s/msr_allowlist", dir);
	{
		char *rendered = NULL;

		ck_assert_int_eq(
		    msr_allowlist_render(&merged, &rendered, &len, &e), 0);
		text = slurp(path);
		ck_assert_uint_eq(len, strlen(text));
		ck_assert_str_eq(text, rendered);
		free(rendered);
		free(text);
	}
	text = slurp(path);
	ck_assert_str_eq(text, AL_HEADER "0x00000010 0x0000000000000000\n"
					 "0x00000020 0x0000000000000000\n"
					 "0x000001A0 0xF0F000000000FF0F\n"
					 "0x00000402 0xFFFFFFFFFFFFFFFF\n");
	free(text);
	/* The rename left no temporary file behind. */
	d = opendir(dir);
	while ((de = readdir(d)))
		ck_assert_msg(strncmp(de->d_name, ".msr_allowlist", 14),
			      "left %s", de->d_name);
	closedir(d);
	/* An empty list clears; reading it back gives no entries. */
	msr_allowlist_free(&two);
	ck_assert_int_eq(msr_dev_allowlist_install(dev, &two, &e), 0);
	msr_allowlist_free(&al);
	ck_assert_int_eq(msr_dev_allowlist_read(dev, &al, &e), 0);
	ck_assert_uint_eq(al.count, 0);
	msr_allowlist_free(&al);
	msr_allowlist_free(&merged);
	msr_dev_close(dev);
	tree_remove(dir);
	free(dir);
}
END_TEST

START_TEST(allowlist_errors_in_words)
{
	struct msr_allowlist al = {0};
	struct msr_err e = {0};
	const char *dup = "0x10 0x0\n# c\n0x10 0x1\n";
	const char *junk = "0x10 0x0\n0x20 zz\n";

	ck_assert_int_eq(
	    msr_allowlist_parse(dup, strlen(dup), "site.list", &al, &e),
	    -ENOTUNIQ);
	ck_assert_msg(strstr(e.msg, "site.list:3:") &&
			  strstr(e.msg, "listed twice") &&
			  strstr(e.msg, "0x10 0x1"),
		      "%s", e.msg);
	ck_assert_int_eq(msr_allowlist_parse(junk, strlen(junk), "j", &al, &e),
			 -EINVAL);
	ck_assert_msg(strstr(e.msg, "j:2:") && strstr(e.msg, "0x20 zz"), "%s",
		      e.msg);
	ck_assert_int_eq(msr_allowlist_load("/nonexistent/al", &al, &e),
			 -ENOENT);
	ck_assert_msg(strstr(e.msg, "/nonexistent/al"), "%s", e.msg);
	ck_assert_ptr_null(al.entries);
}
END_TEST

/* ---- snapshot, restore, verify ------------------------------------------ */

START_TEST(snapshot_reads_every_cpu)
{
	char *dir = tree_new(sparse, NSPARSE, list3);
	struct msr_dev *dev;
	struct msr_state *st;

	for (size_t i = 0; i < NSPARSE; i++) {
		tree_set(dir, sparse[i], 0x10, 0x1000 + i);
		tree_set(dir, sparse[i], 0x1a0, 0xA5A5A5A5A5A5A5A5ULL ^ i);
		tree_set(dir, sparse[i], 0x402, 0x4020 + i);
	}
	dev = open_ok(dir);
	st = snap(dev, 0);
	ck_assert_uint_eq(st->ncpus, NSPARSE);
	ck_assert_uint_eq(st->nmsrs, 3);
	ck_assert_uint_eq(st->msrs[0].msr, 0x10);
	ck_assert_uint_eq(st->msrs[1].wmask, MIXED);
	for (size_t i = 0; i < NSPARSE; i++) {
		ck_assert_int_eq(st->cpus[i], sparse[i]);
		ck_assert_uint_eq(st->msrs[0].values[i], 0x1000 + i);
		ck_assert_uint_eq(st->msrs[1].values[i],
				  0xA5A5A5A5A5A5A5A5ULL ^ i);
		ck_assert_uint_eq(st->msrs[2].values[i], 0x4020 + i);
		ck_assert_int_eq(st->msrs[2].errs[i], 0);
	}
	ck_assert_str_eq(st->allowlist_path, "test");
	ck_assert_ptr_nonnull(strstr(st->allowlist_text, "0x000001A0 "
							 "0xF0F000000000FF0F"));
	{
		char sha[65];

		sha256_hex(st->allowlist_text, strlen(st->allowlist_text), sha);
		ck_assert_str_eq(sha, st->allowlist_sha256);
	}
	ck_assert(st->created > 1600000000);
	msr_state_free(st);
	/* Only writable entries. */
	st = snap(dev, MSR_SNAP_WRITABLE_ONLY);
	ck_assert_uint_eq(st->nmsrs, 2);
	ck_assert_uint_eq(st->msrs[0].msr, 0x1a0);
	ck_assert_uint_eq(st->msrs[1].msr, 0x402);
	msr_state_free(st);
	msr_dev_close(dev);
	tree_remove(dir);
	free(dir);
}
END_TEST

START_TEST(restore_masks_bit_by_bit)
{
	char *dir = tree_new(sparse, NSPARSE, list3);
	struct msr_dev *dev = open_ok(dir);
	struct msr_report rep = {0};
	struct msr_err e = {0};
	struct msr_state *st;
	const uint64_t saved = 0x0123456789ABCDEFULL;
	const uint64_t clobber = 0xFEDCBA9876543210ULL;

	tree_set(dir, 2, 0x1a0, saved);
	tree_set(dir, 2, 0x10, 0x11);
	st = snap(dev, 0);
	tree_set(dir, 2, 0x1a0, clobber);
	tree_set(dir, 2, 0x10, 0x22);
	ck_assert_int_eq(msr_restore(dev, st, &rep, &e), 0);
	ck_assert_uint_eq(rep.count, 0);
	/* 2 writable MSRs on 3 CPUs; the read-only one is not written. */
	ck_assert_uint_eq(rep.written, 6);
	for (int b = 0; b < 64; b++) {
		uint64_t bit = 1ULL << b, got = tree_get(dir, 2, 0x1a0);

		ck_assert_msg((got & bit) ==
				  (((MIXED & bit) ? saved : clobber) & bit),
			      "bit %d", b);
	}
	ck_assert_uint_eq(tree_get(dir, 2, 0x10), 0x22);
	msr_report_free(&rep);

	/* verify: a change is a mismatch exactly when its bit is masked. */
	for (int b = 0; b < 64; b++) {
		uint64_t bit = 1ULL << b, now = tree_get(dir, 2, 0x1a0);
		int rc;

		tree_set(dir, 2, 0x1a0, now ^ bit);
		rc = msr_verify(dev, st, &rep, &e);
		if (MIXED & bit) {
			ck_assert_int_eq(rc, -EIO);
			ck_assert_uint_eq(rep.count, 1);
			ck_assert_int_eq(rep.items[0].cpu, 2);
			ck_assert_uint_eq(rep.items[0].msr, 0x1a0);
			ck_assert_uint_eq(rep.items[0].mask, MIXED);
			ck_assert_uint_eq(rep.items[0].expected, saved & MIXED);
			ck_assert_uint_eq(rep.items[0].actual,
					  (now ^ bit) & MIXED);
			ck_assert_int_eq(rep.items[0].err, 0);
		} else {
			ck_assert_msg(rc == 0, "bit %d: %zu", b, rep.count);
			ck_assert_uint_eq(rep.count, 0);
		}
		msr_report_free(&rep);
		tree_set(dir, 2, 0x1a0, now);
	}
	msr_state_free(st);
	msr_dev_close(dev);
	tree_remove(dir);
	free(dir);
}
END_TEST

START_TEST(restore_reports_refused_writes)
{
	char *dir = tree_new(sparse, NSPARSE, list3);
	struct msr_dev *dev = open_ok(dir);
	struct msr_report rep = {0};
	struct msr_err e = {0};
	struct msr_state *st;

	tree_set(dir, 5, 0x402, 0x1234);
	st = snap(dev, 0);
	tree_set(dir, 5, 0x402, 0x9999);
	/* A later list made 0x402 read-only: the write is refused. */
	tree_set_allowlist(dir, "0x10 0x0\n0x1a0 0xF0F000000000FF0F\n"
				"0x402 0x0\n");
	ck_assert_int_eq(msr_restore(dev, st, &rep, &e), -EIO);
	ck_assert_uint_eq(rep.written, 3);
	ck_assert_uint_eq(rep.count, 3);
	for (size_t i = 0; i < rep.count; i++) {
		ck_assert_uint_eq(rep.items[i].msr, 0x402);
		ck_assert_int_eq(rep.items[i].err, -EROFS);
		ck_assert_int_eq(rep.items[i].cpu, sparse[i]);
	}
	ck_assert_uint_eq(rep.items[2].expected, 0x1234);
	ck_assert_uint_eq(tree_get(dir, 5, 0x402), 0x9999);
	msr_report_free(&rep);
	msr_state_free(st);
	msr_dev_close(dev);
	tree_remove(dir);
	free(dir);
}
END_TEST

START_TEST(restore_reports_missing_cpu)
{
	char *dir = tree_new(sparse, NSPARSE, list3);
	struct msr_dev *dev = open_ok(dir);
	struct msr_report rep = {0};
	struct msr_err e = {0};
	struct msr_state *st;
	static const int two[] = {0, 2};
	char *small = tree_new(two, 2, list3);
	struct msr_dev *dev2 = open_ok(small);

	tree_set(dir, 0, 0x402, 5);
	st = snap(dev, 0);
	tree_set(small, 0, 0x402, 6);
	/* CPU 5 is gone: its values fail, CPUs 0 and 2 are restored. */
	ck_assert_int_eq(msr_restore(dev2, st, &rep, &e), -EIO);
	ck_assert_uint_eq(rep.written, 4);
	ck_assert_uint_eq(rep.count, 2);
	for (size_t i = 0; i < rep.count; i++) {
		ck_assert_int_eq(rep.items[i].cpu, 5);
		ck_assert_int_eq(rep.items[i].err, -ENXIO);
	}
	ck_assert_uint_eq(rep.items[0].msr, 0x1a0);
	ck_assert_uint_eq(rep.items[1].msr, 0x402);
	ck_assert_uint_eq(tree_get(small, 0, 0x402), 5);
	msr_report_free(&rep);
	ck_assert_int_eq(msr_verify(dev2, st, &rep, &e), -EIO);
	ck_assert_uint_eq(rep.count, 2);
	ck_assert_int_eq(rep.items[0].err, -ENXIO);
	msr_report_free(&rep);
	msr_state_free(st);
	msr_dev_close(dev);
	msr_dev_close(dev2);
	tree_remove(dir);
	tree_remove(small);
	free(dir);
	free(small);
}
END_TEST

START_TEST(unreadable_values_recorded_and_skipped)
{
	char *dir = tree_new(sparse, NSPARSE, list3);
	struct msr_dev *dev = open_ok(dir);
	struct msr_report rep = {0};
	struct msr_state *st, *back;
	struct msr_err e = {0};
	char path[4200], state[4200];

	tree_set(dir, 0, 0x402, 0xAB);
	/* CPU 5 goes away after the device was opened. */
	snprintf(path, sizeof(path), "%s/5/msr_safe", dir);
	ck_assert_int_eq(unlink(path), 0);
	st = snap(dev, 0);
	for (size_t i = 0; i < st->nmsrs; i++) {
		ck_assert_int_eq(st->msrs[i].errs[0], 0);
		ck_assert_int_eq(st->msrs[i].errs[2], -ENXIO);
	}
	ck_assert_uint_eq(st->msrs[2].values[0], 0xAB);
	/* The errno survives the file. */
	snprintf(state, sizeof(state), "%s/state.json", dir);
	ck_assert_int_eq(msr_state_write(state, st, &e), 0);
	ck_assert_msg(msr_state_load(state, &back, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(back->msrs[1].errs[2], -ENXIO);
	ck_assert_int_eq(back->msrs[1].errs[1], 0);
	/* Restore skips what was unreadable and restores the rest. */
	tree_set(dir, 0, 0x402, 0xCD);
	ck_assert_int_eq(msr_restore(dev, back, &rep, &e), 0);
	ck_assert_uint_eq(rep.count, 0);
	ck_assert_uint_eq(rep.unreadable, 2);
	ck_assert_uint_eq(rep.written, 4);
	ck_assert_uint_eq(tree_get(dir, 0, 0x402), 0xAB);
	msr_report_free(&rep);
	/* ... and verifying reports nothing for the skipped CPU. */
	ck_assert_int_eq(msr_verify(dev, back, &rep, &e), 0);
	ck_assert_uint_eq(rep.unreadable, 2);
	msr_report_free(&rep);
	msr_state_free(back);
	msr_state_free(st);
	msr_dev_close(dev);
	tree_remove(dir);
	free(dir);
}
END_TEST

START_TEST(state_diff)
{
	char *dir = tree_new(sparse, NSPARSE, list3);
	struct msr_dev *dev = open_ok(dir);
	struct msr_report rep = {0};
	struct msr_err e = {0};
	struct msr_state *a, *b;

	a = snap(dev, 0);
	b = snap(dev, 0);
	ck_assert_int_eq(msr_state_diff(a, b, &rep, &e), 0);
	ck_assert_uint_eq(rep.count, 0);
	msr_state_free(b);
	/* Diff compares all 64 bits, not only the writable ones. */
	tree_set(dir, 5, 0x10, 0x8000000000000000ULL);
	tree_set(dir, 2, 0x402, 3);
	b = snap(dev, 0);
	ck_assert_int_eq(msr_state_diff(a, b, &rep, &e), 0);
	ck_assert_uint_eq(rep.count, 2);
	ck_assert_uint_eq(rep.items[0].msr, 0x10);
	ck_assert_int_eq(rep.items[0].cpu, 5);
	ck_assert_uint_eq(rep.items[0].actual, 0x8000000000000000ULL);
	ck_assert_uint_eq(rep.items[1].msr, 0x402);
	ck_assert_int_eq(rep.items[1].cpu, 2);
	ck_assert_uint_eq(rep.items[1].expected, 0);
	ck_assert_uint_eq(rep.items[1].actual, 3);
	msr_report_free(&rep);
	msr_state_free(a);
	msr_state_free(b);
	msr_dev_close(dev);
	tree_remove(dir);
	free(dir);
}
END_TEST

/* ---- restore what changed ----------------------------------------------- */

/* Only bits under the mask are a change; only changed values are written. */
START_TEST(restore_changed_compares_under_mask)
{
	char *dir = tree_new(sparse, NSPARSE, list3);
	struct msr_dev *dev = open_ok(dir);
	struct msr_changes ch = {0};
	struct msr_err e = {0};
	struct msr_state *st;
	const uint64_t saved = 0x0123456789ABCDEFULL;
	char fp_before[65], fp_after[65];
	const uint32_t msrs[] = {0x10, 0x1a0, 0x402};

	for (size_t i = 0; i < NSPARSE; i++) {
		tree_set(dir, sparse[i], 0x1a0, saved);
		tree_set(dir, sparse[i], 0x402, 0x4020 + i);
	}
	st = snap(dev, 0);
	/* Outside the mask on cpu 2, and a read-only MSR: no change. */
	tree_set(dir, 2, 0x1a0, saved ^ ~MIXED);
	tree_set(dir, 2, 0x10, 0x77);
	tree_fingerprint(dir, sparse, NSPARSE, msrs, 3, fp_before);
	ck_assert_msg(msr_restore_changed(dev, st, 0, &ch, &e) == 0, "%s",
		      e.msg);
	ck_assert_uint_eq(ch.nchanged, 0);
	ck_assert_uint_eq(ch.nfailed, 0);
	ck_assert_uint_eq(ch.written, 0);
	ck_assert_uint_eq(ch.compared, 2 * NSPARSE);
	tree_fingerprint(dir, sparse, NSPARSE, msrs, 3, fp_after);
	ck_assert_str_eq(fp_before, fp_after); /* nothing was written */
	msr_changes_free(&ch);

	/* Inside the mask on cpu 5: one change, restored, other bits kept. */
	tree_set(dir, 5, 0x1a0, saved ^ 0x0F00ULL ^ ~MIXED);
	tree_set(dir, 0, 0x402, 1);
	ck_assert_int_eq(msr_restore_changed(dev, st, 0, &ch, &e), 0);
	ck_assert_uint_eq(ch.nchanged, 2);
	ck_assert_int_eq(ch.changed[0].cpu, 5);
	ck_assert_uint_eq(ch.changed[0].msr, 0x1a0);
	ck_assert_uint_eq(ch.changed[0].mask, MIXED);
	ck_assert_uint_eq(ch.changed[0].expected, saved & MIXED);
	ck_assert_uint_eq(ch.changed[0].actual, (saved ^ 0x0F00ULL) & MIXED);
	ck_assert_int_eq(ch.changed[1].cpu, 0);
	ck_assert_uint_eq(ch.changed[1].msr, 0x402);
	ck_assert_uint_eq(ch.changed[1].actual, 1);
	ck_assert_uint_eq(ch.written, 2);
	ck_assert_uint_eq(tree_get(dir, 5, 0x1a0), saved ^ ~MIXED);
	ck_assert_uint_eq(tree_get(dir, 0, 0x402), 0x4020);
	ck_assert_uint_eq(tree_get(dir, 2, 0x10), 0x77);
	msr_changes_free(&ch);
	msr_state_free(st);
	msr_dev_close(dev);
	tree_remove(dir);
	free(dir);
}
END_TEST

/* What cannot be undone is a failure: unsaved values and new CPUs. */
START_TEST(restore_changed_reports_what_it_cannot_undo)
{
	char *dir = tree_new(sparse, NSPARSE, list3), path[4200];
	struct msr_dev *dev = open_ok(dir);
	struct msr_changes ch = {0};
	struct msr_err e = {0};
	struct msr_state *st = snap(dev, MSR_SNAP_WRITABLE_ONLY);

	/* 0x402 was unreadable on cpu 2 when saved: a job may change it. */
	st->msrs[1].errs[1] = -EIO;
	/* CPU 7 came online, CPU 5 went away, after the snapshot. */
	msr_dev_close(dev);
	snprintf(path, sizeof(path), "%s/7", dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/7/msr_safe", dir);
	spit(path, "");
	snprintf(path, sizeof(path), "%s/5/msr_safe", dir);
	ck_assert_int_eq(unlink(path), 0);
	dev = open_ok(dir);
	tree_set(dir, 0, 0x402, 0x99);

	ck_assert_int_eq(msr_restore_changed(dev, st, 0, &ch, &e), -EIO);
	ck_assert_uint_eq(tree_get(dir, 0, 0x402), 0);
	ck_assert_uint_eq(ch.written, 1);
	/* cpu 0's change, and cpu 5's two values that cannot be read now. */
	ck_assert_uint_eq(ch.nchanged, 3);
	ck_assert_uint_eq(ch.nfailed, 4);
	ck_assert_int_eq(ch.failed[0].why, MSR_UNRESTORED_NOT_SAVED);
	ck_assert_int_eq(ch.failed[0].cpu, 2);
	ck_assert_uint_eq(ch.failed[0].msr, 0x402);
	ck_assert_int_eq(ch.failed[0].err, -EIO);
	ck_assert_int_eq(ch.failed[1].why, MSR_UNRESTORED_NEW_CPU);
	ck_assert_int_eq(ch.failed[1].cpu, 7);
	ck_assert_ptr_nonnull(
	    strstr(msr_unrestored_strwhy(&ch.failed[1]), "came online"));
	for (size_t k = 2; k < 4; k++) {
		ck_assert_int_eq(ch.failed[k].why, MSR_UNRESTORED_OP_FAILED);
		ck_assert_int_eq(ch.failed[k].cpu, 5);
		ck_assert_int_eq(ch.failed[k].err, -ENXIO);
		ck_assert_ptr_nonnull(
		    strstr(msr_unrestored_strwhy(&ch.failed[k]), "offline"));
	}
	msr_changes_free(&ch);

	/* A dry run lists the same changes and writes nothing. */
	tree_set(dir, 0, 0x402, 0x99);
	ck_assert_int_eq(
	    msr_restore_changed(dev, st, MSR_RESTORE_DRY_RUN, &ch, &e), -EIO);
	ck_assert_uint_eq(ch.nchanged, 3);
	ck_assert_uint_eq(ch.written, 0);
	ck_assert_uint_eq(ch.nfailed, 2);
	ck_assert_uint_eq(tree_get(dir, 0, 0x402), 0x99);
	msr_changes_free(&ch);
	msr_state_free(st);
	msr_dev_close(dev);
	tree_remove(dir);
	free(dir);
}
END_TEST

/* A write the live list refuses leaves a failure with its reason. */
START_TEST(restore_changed_reports_refused_write)
{
	char *dir = tree_new(sparse, NSPARSE, list3);
	struct msr_dev *dev = open_ok(dir);
	struct msr_changes ch = {0};
	struct msr_err e = {0};
	struct msr_state *st = snap(dev, MSR_SNAP_WRITABLE_ONLY);

	tree_set(dir, 2, 0x402, 0x5a5a);
	tree_set_allowlist(dir, "0x1a0 0xF0F000000000FF0F\n0x402 0x0\n");
	ck_assert_int_eq(msr_restore_changed(dev, st, 0, &ch, &e), -EIO);
	ck_assert_uint_eq(ch.nchanged, 1);
	ck_assert_uint_eq(ch.written, 0);
	ck_assert_uint_eq(ch.nfailed, 1);
	ck_assert_int_eq(ch.failed[0].why, MSR_UNRESTORED_OP_FAILED);
	ck_assert_int_eq(ch.failed[0].err, -EROFS);
	ck_assert_uint_eq(ch.failed[0].actual, 0x5a5a);
	ck_assert_uint_eq(ch.failed[0].expected, 0);
	msr_changes_free(&ch);
	/* A job that could write nothing cannot leave new CPUs dirty. */
	msr_state_free(st);
	st = snap(dev, MSR_SNAP_WRITABLE_ONLY);
	ck_assert_uint_eq(st->nmsrs, 1);
	st->msrs[0].wmask = 0;
	ck_assert_int_eq(msr_restore_changed(dev, st, 0, &ch, &e), 0);
	ck_assert_uint_eq(ch.compared, 0);
	msr_changes_free(&ch);
	msr_state_free(st);
	msr_dev_close(dev);
	tree_remove(dir);
	free(dir);
}
END_TEST

/* ---- atomic writes --------------------------------------------------------
 */

static size_t count_temps(const char *dir, const char *prefix)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d = opendir(dir);

	while ((de = readdir(d)))
		if (!strncmp(de->d_name, prefix, strlen(prefix)))
			n++;
	closedir(d);
	return n;
}

START_TEST(atomic_write_mode_and_temp)
{
	char *dir = tree_new(NULL, 0, "");
	char path[4200], *text;
	struct msr_err e = {0};
	struct stat st;
	mode_t old = umask(0);

	snprintf(path, sizeof(path), "%s/out.json", dir);
	spit(path, "old");
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(msr_write_file_atomic(path, "new\n", 4, 0600, &e), 0);
	umask(old);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	text = slurp(path);
	ck_assert_str_eq(text, "new\n");
	free(text);
	ck_assert_uint_eq(count_temps(dir, ".out.json"), 0);
	tree_remove(dir);
	free(dir);
}
END_TEST

START_TEST(atomic_write_refuses_symlink)
{
	char *dir = tree_new(NULL, 0, "");
	char path[4200], target[4200], *text;
	struct msr_err e = {0};

	snprintf(target, sizeof(target), "%s/target", dir);
	snprintf(path, sizeof(path), "%s/link.json", dir);
	spit(target, "precious");
	ck_assert_int_eq(symlink(target, path), 0);
	ck_assert_int_eq(msr_write_file_atomic(path, "x", 1, 0600, &e), -ELOOP);
	ck_assert_msg(strstr(e.msg, "symbolic link") && strstr(e.msg, path),
		      "%s", e.msg);
	text = slurp(target);
	ck_assert_str_eq(text, "precious");
	free(text);
	ck_assert_uint_eq(count_temps(dir, ".link.json"), 0);
	/* A missing directory is an error, and creates nothing. */
	snprintf(path, sizeof(path), "%s/no/such/dir/s.json", dir);
	ck_assert_int_eq(msr_write_file_atomic(path, "x", 1, 0600, &e),
			 -ENOENT);
	ck_assert_msg(strstr(e.msg, "no/such/dir"), "%s", e.msg);
	tree_remove(dir);
	free(dir);
}
END_TEST

START_TEST(identity_helpers)
{
	char *dir = tree_new(NULL, 0, "");
	char path[4200], name[32], boot[64];
	struct msr_cpu_id id;
	struct msr_err e = {0};

	snprintf(path, sizeof(path), "%s/cpuinfo", dir);
	spit(path, "processor\t: 0\nvendor_id\t: GenuineIntel\n"
		   "cpu family\t: 6\nmodel\t\t: 143\nmodel name\t: X\n\n"
		   "processor\t: 1\nvendor_id\t: Other\ncpu family\t: 9\n");
	ck_assert_int_eq(msr_cpu_identify(path, &id, &e), 0);
	ck_assert_str_eq(id.vendor, "GenuineIntel");
	ck_assert_uint_eq(id.family, 6);
	ck_assert_uint_eq(id.model, 143);
	msr_allowlist_name(&id, name, sizeof(name));
	ck_assert_str_eq(name, "al_06_8F");
	id.family = 0x19;
	id.model = 1;
	msr_allowlist_name(&id, name, sizeof(name));
	ck_assert_str_eq(name, "al_19_1");
	spit(path, "processor : 0\n");
	ck_assert_int_eq(msr_cpu_identify(path, &id, &e), -ENODATA);
	ck_assert_msg(strstr(e.msg, path), "%s", e.msg);
	ck_assert_int_eq(msr_boot_id(boot, sizeof(boot), &e), 0);
	ck_assert_uint_eq(strlen(boot), 36);
	ck_assert_ptr_null(strchr(boot, '\n'));
	tree_remove(dir);
	free(dir);
}
END_TEST

/* One boot-id reader: the plugin fakes reboots with another file. */
START_TEST(boot_id_reader)
{
	static const char *const bad[] = {
	    "",
	    "\n",
	    "86e5e743-7c0e-4af1-82a9-358881848d2\n",
	    "86e5e743-7c0e-4af1-82a9-358881848d211\n",
	    "86e5e743x7c0e-4af1-82a9-358881848d21\n",
	    "86e5e743-7c0e-4af1-82a9-358881848d2g\n",
	    "../../etc/passwd-xxxxxxxxxxxxxxxxxxx\n",
	    "86e5e743-7c0e-4af1-82a9-358881848d21\n\n",
	    " 86e5e743-7c0e-4af1-82a9-358881848d21",
	};
	char *dir = tree_new(NULL, 0, ""), path[4200], boot[64];
	struct msr_err e = {0};

	snprintf(path, sizeof(path), "%s/boot_id", dir);
	spit(path, "86e5e743-7c0e-4af1-82a9-358881848d21\n");
	ck_assert_int_eq(msr_boot_id_read(path, boot, sizeof(boot), &e), 0);
	ck_assert_str_eq(boot, "86e5e743-7c0e-4af1-82a9-358881848d21");
	spit(path, "86E5E743-7C0E-4AF1-82A9-358881848D21");
	ck_assert_int_eq(msr_boot_id_read(path, boot, sizeof(boot), &e), 0);
	/* Too small a buffer is refused, not truncated. */
	ck_assert_int_eq(msr_boot_id_read(path, boot, 36, &e), -EBADMSG);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		spit(path, bad[i]);
		ck_assert_msg(msr_boot_id_read(path, boot, sizeof(boot), &e) ==
				  -EBADMSG,
			      "accepted '%s'", bad[i]);
		ck_assert_msg(strstr(e.msg, path) && strstr(e.msg, "boot id"),
			      "%s", e.msg);
		ck_assert_str_eq(boot, "");
	}
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(msr_boot_id_read(path, boot, sizeof(boot), &e),
			 -ENOENT);
	/* The live one reads through the same rule. */
	ck_assert_int_eq(msr_boot_id_read(NULL, boot, sizeof(boot), &e), 0);
	ck_assert_uint_eq(strlen(boot), 36);
	tree_remove(dir);
	free(dir);
}
END_TEST

/* One profile-name rule for the plugin, its config and msr-allowlist. */
START_TEST(profile_name_rule)
{
	static const char *const good[] = {
	    "perf",
	    "freq",
	    "a",
	    "9",
	    "A-b_C",
	    "perf-2",
	    "x_",
	    "a12345678901234567890123456789012345678901234567890123456789012",
	};
	static const char *const bad[] = {
	    "",
	    "a.b",
	    "perf.bak",
	    ".perf",
	    "..",
	    "-perf",
	    "_perf",
	    "a/b",
	    "../etc",
	    "a b",
	    "a\nb",
	    "p\xc3\xa9rf",
	    "a:b",
	    "a123456789012345678901234567890123456789012345678901234567890123",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(msr_profile_name_valid(good[i]), "'%s'", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!msr_profile_name_valid(bad[i]), "'%s'", bad[i]);
	ck_assert(!msr_profile_name_valid(NULL));
	ck_assert_uint_eq(strlen(good[7]), MSR_PROFILE_NAME_MAX);
	ck_assert_ptr_nonnull(strstr(msr_profile_name_rule(), "1 to 63"));
}
END_TEST

START_TEST(job_id_rule)
{
	static const char *const good[] = {"1", "42", "4294967295"};
	static const char *const bad[] = {
	    "",	  "0",	"042", "4294967296", "12345678901", "-1",
	    "+1", "1a", "1_2", "../1",	     "1 ",	    "0x10",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(msr_job_id_valid(good[i]), "'%s'", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!msr_job_id_valid(bad[i]), "'%s'", bad[i]);
	ck_assert(!msr_job_id_valid(NULL));
}
END_TEST

/* A live list rendered longer than one device write (128 KiB) still reads. */
START_TEST(live_allowlist_longer_than_one_write)
{
	enum { N = 6000 };
	const int cpus[] = {0};
	struct msr_allowlist al = {0};
	struct msr_err e = {0};
	struct msr_dev *dev;
	char *text = malloc(AL_HEADER_LEN + N * AL_LINE_LEN + 1), *dir;
	size_t len = 0;

	ck_assert_ptr_nonnull(text);
	memcpy(text, AL_HEADER, AL_HEADER_LEN);
	len = AL_HEADER_LEN;
	for (int i = 0; i < N; i++, len += AL_LINE_LEN)
		al_render_line(text + len, (u32)(0x1000 + i), i % 2 ? 0xff : 0);
	text[len] = 0;
	ck_assert_uint_gt(len, AL_TEXT_MAX);
	dir = tree_new(cpus, 1, text);
	dev = open_ok(dir);
	ck_assert_msg(msr_dev_allowlist_read(dev, &al, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(al.count, N);
	ck_assert_uint_eq(al.entries[N - 1].msr, 0x1000 + N - 1);
	ck_assert_uint_eq(al.entries[N - 1].wmask, 0xff);
	ck_assert_uint_eq(al.entries[N - 2].wmask, 0);
	msr_allowlist_free(&al);
	msr_dev_close(dev);
	tree_remove(dir);
	free(dir);
	free(text);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("libmsrsave");
	TCase *t = tcase_create("core");

	tcase_add_test(t, sha256_vectors);
	tcase_add_test(t, live_allowlist_longer_than_one_write);
	tcase_add_test(t, sha256_million_a_in_pieces);
	tcase_add_test(t, parse_u64_strict);
	tcase_add_test(t, cpulist_parse);
	tcase_add_test(t, cpulist_against_device);
	tcase_add_test(t, device_tree_sparse_cpus);
	tcase_add_test(t, device_dir_from_environment);
	tcase_add_test(t, device_missing_or_empty);
	tcase_add_test(t, backend_selection);
	tcase_add_test(t, stock_restore_never_writes_blind);
	tcase_add_test(t, unopenable_node_is_eperm);
	tcase_add_test(t, file_tree_enforces_allowlist);
	tcase_add_test(t, file_tree_adjacent_msrs_do_not_overlap);
	tcase_add_test(t, file_tree_shipped_amd_list_round_trip);
	tcase_add_test(t, masked_write_bit_by_bit);
	tcase_add_test(t, allowlist_read_install);
	tcase_add_test(t, allowlist_errors_in_words);
	tcase_add_test(t, snapshot_reads_every_cpu);
	tcase_add_test(t, restore_masks_bit_by_bit);
	tcase_add_test(t, restore_reports_refused_writes);
	tcase_add_test(t, restore_reports_missing_cpu);
	tcase_add_test(t, unreadable_values_recorded_and_skipped);
	tcase_add_test(t, state_diff);
	tcase_add_test(t, restore_changed_compares_under_mask);
	tcase_add_test(t, restore_changed_reports_what_it_cannot_undo);
	tcase_add_test(t, restore_changed_reports_refused_write);
	tcase_add_test(t, atomic_write_mode_and_temp);
	tcase_add_test(t, atomic_write_refuses_symlink);
	tcase_add_test(t, identity_helpers);
	tcase_add_test(t, boot_id_reader);
	tcase_add_test(t, profile_name_rule);
	tcase_add_test(t, job_id_rule);
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
