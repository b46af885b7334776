// SPDX-License-Identifier: GPL-2.0-only
/*
 * The state directory: its paths, trust checks, lock, boot id, and the
 * one way the parts write and parse their files.
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
#include "msr_statedir.h"

void path_in(char *buf, size_t cap, const struct msr_config *cfg,
	     const char *rel)
{
	snprintf(buf, cap, "%s/%s", cfg->state_dir, rel);
}

/* libmsrsave's one boot-id reader, on the configured file (test knob). */
int read_boot_id(const struct msr_config *cfg, char *buf, size_t cap,
		 struct msr_err *err)
{
	return msr_boot_id_read(cfg->boot_id_file, buf, cap, err);
}

/* A directory we trust: root's, not writable by anybody else. */
static int ensure_dir(const char *path, struct msr_err *err)
{
	struct stat sb;

	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return msr_err_set(err, -errno, "cannot create %s: %s", path,
				   strerror(errno));
	if (lstat(path, &sb) < 0)
		return msr_err_set(err, -errno, "%s: %s", path,
				   strerror(errno));
	if (!S_ISDIR(sb.st_mode) || sb.st_uid != 0 || (sb.st_mode & 0022))
		return msr_err_set(err, -EPERM,
				   "%s: must be a directory owned by root and "
				   "writable only by root",
				   path);
	return 0;
}

/* STATE, STATE/jobs and STATE/archive, each root's and private. */
static int ensure_state_dirs(const struct msr_config *cfg, struct msr_err *err)
{
	static const char *const subdirs[] = {"jobs", "archive"};
	char dir[MSR_CONFIG_PATH_MAX + 16];
	int rc = ensure_dir(cfg->state_dir, err);

	for (size_t i = 0; rc == 0 && i < 2; i++) {
		path_in(dir, sizeof(dir), cfg, subdirs[i]);
		rc = ensure_dir(dir, err);
	}
	return rc;
}

/* The state directory's lock; it lives there, so the directories first. */
int lock_state(const struct msr_config *cfg, int *fd_out, struct msr_err *err)
{
	char path[MSR_CONFIG_PATH_MAX + 16];
	int fd, rc;

	rc = ensure_state_dirs(cfg, err);
	if (rc < 0)
		return rc;
	path_in(path, sizeof(path), cfg, "lock");
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return msr_err_set(err, -errno, "cannot open lock %s: %s", path,
				   strerror(errno));
	for (unsigned int waited = 0;; waited++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			break;
		if (errno != EWOULDBLOCK || waited >= cfg->lock_timeout * 10) {
			rc = msr_err_set(
			    err, errno == EWOULDBLOCK ? -ETIMEDOUT : -errno,
			    "cannot lock %s within %u s", path,
			    cfg->lock_timeout);
			close(fd);
			return rc;
		}
		usleep(100000);
	}
	*fd_out = fd;
	return 0;
}

void utc_stamp(char *buf, size_t cap, time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, cap, "%Y%m%dT%H%M%SZ", &tm);
}

const char *json_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

int write_private_file(const char *path, const char *text, unsigned int flags,
		       struct msr_err *err)
{
	return msr_file_write(path, text, strlen(text), 0600, flags, err);
}

/* When this boot began (/proc/stat "btime"), 0 when unknown. */
int64_t boot_time(void)
{
	char line[256];
	long long t = 0;
	FILE *f = fopen("/proc/stat", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "btime %lld", &t) == 1)
			break;
	}
	fclose(f);
	return t;
}
