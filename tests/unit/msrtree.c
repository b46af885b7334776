// SPDX-License-Identifier: GPL-2.0-only
/* File-backed MSR trees for the libmsrsave tests (see msrtree.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "msrtree.h"
#include "sha256.h"

static void die(const char *what, const char *path)
{
	fprintf(stderr, "msrtree: %s %s: %s\n", what, path, strerror(errno));
	abort();
}

void spit(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f))
		die("cannot write", path);
}

char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;

	if (!f)
		die("cannot read", path);
	{
		FILE *m = open_memstream(&buf, &len);
		int c;

		while ((c = fgetc(f)) != EOF)
			fputc(c, m);
		fclose(m);
	}
	fclose(f);
	return buf;
}

void tree_set_allowlist(const char *dir, const char *allowlist)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/msr_allowlist", dir);
	spit(path, allowlist);
}

char *tree_new(const int *cpus, size_t n, const char *allowlist)
{
	char *dir = strdup("/tmp/msrtest.XXXXXX");
	char path[4200];

	if (!dir || !mkdtemp(dir))
		die("mkdtemp", "/tmp");
	for (size_t i = 0; i < n; i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/%d", dir, cpus[i]);
		if (mkdir(path, 0755))
			die("mkdir", path);
		snprintf(path, sizeof(path), "%s/%d/msr_safe", dir, cpus[i]);
		fd = open(path, O_CREAT | O_WRONLY, 0600);
		if (fd < 0)
			die("create", path);
		close(fd);
	}
	tree_set_allowlist(dir, allowlist);
	return dir;
}

/*
 * Spelled out here rather than taken from the library, so the tests check
 * libmsrsave's layout against an independent one: 8 bytes per address.
 */
off_t tree_offset(uint32_t msr)
{
	return (off_t)msr * 8;
}

uint64_t tree_get(const char *dir, int cpu, uint32_t msr)
{
	unsigned char b[8] = {0};
	char path[4200];
	uint64_t v = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/%d/msr_safe", dir, cpu);
	fd = open(path, O_RDONLY);
	if (fd < 0 || pread(fd, b, 8, tree_offset(msr)) < 0)
		die("read", path);
	close(fd);
	for (int k = 7; k >= 0; k--)
		v = v << 8 | b[k];
	return v;
}

void tree_set(const char *dir, int cpu, uint32_t msr, uint64_t value)
{
	unsigned char b[8];
	char path[4200];
	int fd;

	for (int k = 0; k < 8; k++)
		b[k] = (unsigned char)(value >> (8 * k));
	snprintf(path, sizeof(path), "%s/%d/msr_safe", dir, cpu);
	fd = open(path, O_WRONLY);
	if (fd < 0 || pwrite(fd, b, 8, tree_offset(msr)) != 8)
		die("write", path);
	close(fd);
}

void tree_fingerprint(const char *dir, const int *cpus, size_t n,
		      const uint32_t *msrs, size_t nmsrs, char out[65])
{
	struct sha256_ctx c;
	unsigned char d[SHA256_DIGEST_LEN];

	sha256_init(&c);
	for (size_t i = 0; i < n; i++) {
		char path[4200];
		struct stat st;

		snprintf(path, sizeof(path), "%s/%d/msr_safe", dir, cpus[i]);
		if (stat(path, &st))
			die("stat", path);
		sha256_update(&c, &st.st_size, sizeof(st.st_size));
		sha256_update(&c, &st.st_mtim, sizeof(st.st_mtim));
		sha256_update(&c, &st.st_ino, sizeof(st.st_ino));
		for (size_t k = 0; k < nmsrs; k++) {
			uint64_t v = tree_get(dir, cpus[i], msrs[k]);

			sha256_update(&c, &v, sizeof(v));
		}
	}
	sha256_final(&c, d);
	for (int i = 0; i < SHA256_DIGEST_LEN; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void tree_remove(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *read_fd_all(int fd)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	char chunk[4096];
	ssize_t n;

	lseek(fd, 0, SEEK_SET);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		fwrite(chunk, 1, (size_t)n, m);
	fclose(m);
	return buf;
}

int run_cmd(const char *const argv[], const char *env_dir, char **out,
	    char **err)
{
	char out_tmp[] = "/tmp/msrtest-out.XXXXXX";
	char err_tmp[] = "/tmp/msrtest-err.XXXXXX";
	int ofd = mkstemp(out_tmp), efd = mkstemp(err_tmp), status;
	pid_t pid;

	if (ofd < 0 || efd < 0)
		die("mkstemp", "/tmp");
	unlink(out_tmp);
	unlink(err_tmp);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		die("fork", argv[0]);
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		dup2(null, 0);
		dup2(ofd, 1);
		dup2(efd, 2);
		if (env_dir)
			setenv("MSR_SAFE_DEVICE_DIR", env_dir, 1);
		else
			unsetenv("MSR_SAFE_DEVICE_DIR");
		execv(argv[0], (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		die("waitpid", argv[0]);
	*out = read_fd_all(ofd);
	*err = read_fd_all(efd);
	close(ofd);
	close(efd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
