// SPDX-License-Identifier: GPL-2.0-only
/*
 * The one file reader and the one file writer of libmsrsave.  The writer
 * replaces a file atomically (temp file in the same directory, rename):
 * a reader sees the old or the new file, never a mix, and a writer that
 * dies leaves only a temp file that nothing reads.  With MSR_FILE_SYNC it
 * is durable too: the file's data before the rename, the directory entry
 * after it.  Checks of owner and mode are made on the opened descriptors,
 * so a path swapped between check and use cannot fool them.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "msrsave.h"

/* Temp files are ".<name>.tmp.XXXXXX", X from this alphabet. */
#define TEMP_TAG  ".tmp."
#define TEMP_RAND 6
static const char temp_chars[] =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/* The file of @fd (@what names it) must be the caller's and private. */
static int check_private(int fd, const char *what, bool dir,
			 struct msr_err *err)
{
	struct stat sb;

	if (fstat(fd, &sb) < 0)
		return msr_err_set(err, -errno, "%s: %s", what,
				   strerror(errno));
	if (sb.st_uid != geteuid() || (sb.st_mode & (dir ? 0022 : 0077)))
		return msr_err_set(err, -EPERM,
				   "%s: must be owned by uid %u and %s "
				   "(uid %u, mode %04o)",
				   what, (unsigned int)geteuid(),
				   dir ? "writable by nobody else"
				       : "private (mode 0600 or stricter)",
				   (unsigned int)sb.st_uid,
				   (unsigned int)(sb.st_mode & 07777));
	return 0;
}

int msr_file_read(const char *path, size_t max, unsigned int flags, char **buf,
		  size_t *len, struct msr_err *err)
{
	const bool private = flags & MSR_FILE_PRIVATE;
	size_t cap = 4096, used = 0;
	char *data = NULL;
	struct stat sb;
	int fd, rc;

	*buf = NULL;
	if (len)
		*len = 0;
	/* O_NONBLOCK: a FIFO planted in a private directory must not hang. */
	fd = open(path, O_RDONLY | O_CLOEXEC |
			    (private ? O_NOFOLLOW | O_NONBLOCK : 0));
	if (fd < 0 && errno == ELOOP && private)
		return msr_err_set(err, -ELOOP,
				   "%s: is a symbolic link; refusing to read "
				   "through it",
				   path);
	if (fd < 0)
		return msr_err_set(err, -errno, "%s: cannot open: %s", path,
				   strerror(errno));
	if (private) {
		if (fstat(fd, &sb) < 0) {
			rc = msr_err_set(err, -errno, "%s: %s", path,
					 strerror(errno));
			goto fail;
		}
		if (!S_ISREG(sb.st_mode)) {
			rc = msr_err_set(err, -EINVAL, "%s: not a regular file",
					 path);
			goto fail;
		}
		rc = check_private(fd, path, false, err);
		if (rc < 0)
			goto fail;
	}
	data = malloc(cap + 1);
	if (!data) {
		rc = msr_err_set(err, -ENOMEM, "%s: out of memory", path);
		goto fail;
	}
	for (;;) {
		ssize_t got;

		if (used == cap) {
			char *bigger;

			if (cap > max) {
				rc = msr_err_set(err, -EFBIG,
						 "%s: larger than %zu bytes",
						 path, max);
				goto fail;
			}
			cap *= 2;
			bigger = realloc(data, cap + 1);
			if (!bigger) {
				rc = msr_err_set(err, -ENOMEM,
						 "%s: out of memory", path);
				goto fail;
			}
			data = bigger;
		}
		got = read(fd, data + used, cap - used);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = msr_err_set(err, -errno, "%s: read failed: %s",
					 path, strerror(errno));
			goto fail;
		}
		if (got == 0)
			break;
		used += (size_t)got;
	}
	if (used > max) {
		rc = msr_err_set(err, -EFBIG, "%s: larger than %zu bytes", path,
				 max);
		goto fail;
	}
	close(fd);
	data[used] = 0;
	*buf = data;
	if (len)
		*len = used;
	return 0;
fail:
	close(fd);
	free(data);
	return rc;
}

int msr_read_file(const char *path, size_t max, char **buf, size_t *len,
		  struct msr_err *err)
{
	return msr_file_read(path, max, 0, buf, len, err);
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Create a fresh temp file for @base in @dfd: its name goes to @tmp. */
static int create_temp(int dfd, const char *base, char *tmp, size_t cap)
{
	for (int tries = 0; tries < 100; tries++) {
		unsigned char rnd[TEMP_RAND];
		size_t n;
		int fd;

		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			return -EIO;
		n = (size_t)snprintf(tmp, cap, ".%s" TEMP_TAG, base);
		if (n + TEMP_RAND >= cap)
			return -ENAMETOOLONG;
		for (int k = 0; k < TEMP_RAND; k++)
			tmp[n++] =
			    temp_chars[rnd[k] % (sizeof(temp_chars) - 1)];
		tmp[n] = 0;
		fd = openat(
		    dfd, tmp,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd >= 0 ? fd : -errno;
	}
	return -EEXIST;
}

int msr_file_write(const char *path, const void *buf, size_t len,
		   unsigned int mode, unsigned int flags, struct msr_err *err)
{
	const bool sync = flags & MSR_FILE_SYNC;
	char *dir = NULL, tmp[NAME_MAX + 1] = "";
	const char *base, *slash;
	int fd = -1, dfd = -1, rc;
	struct stat sb;

	if (!path || !*path)
		return msr_err_set(err, -EINVAL, "empty file name");
	slash = strrchr(path, '/');
	base = slash ? slash + 1 : path;
	if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
		return msr_err_set(err, -EISDIR, "%s: names a directory", path);
	if (slash == path)
		dir = strdup("/");
	else if (slash)
		dir = strndup(path, (size_t)(slash - path));
	else
		dir = strdup(".");
	if (!dir)
		return msr_err_set(err, -ENOMEM, "%s: out of memory", path);
	/* Everything below is relative to this one directory descriptor. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		rc = msr_err_set(err, -errno,
				 "%s: cannot create a file in %s: %s", path,
				 dir, strerror(errno));
		goto fail;
	}
	if (flags & MSR_FILE_PRIVATE) {
		rc = check_private(dfd, dir, true, err);
		if (rc < 0)
			goto fail;
	}
	if (fstatat(dfd, base, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISLNK(sb.st_mode)) {
			rc = msr_err_set(err, -ELOOP,
					 "%s: is a symbolic link; refusing "
					 "to write through it",
					 path);
			goto fail;
		}
		if (!S_ISREG(sb.st_mode)) {
			rc = msr_err_set(err, -EINVAL, "%s: not a regular file",
					 path);
			goto fail;
		}
	} else if (errno != ENOENT) {
		rc = msr_err_set(err, -errno, "%s: %s", path, strerror(errno));
		goto fail;
	}
	fd = create_temp(dfd, base, tmp, sizeof(tmp));
	if (fd < 0) {
		rc = msr_err_set(err, fd, "%s: cannot create a file in %s: %s",
				 path, dir, strerror(-fd));
		tmp[0] = 0;
		goto fail;
	}
	if (fchmod(fd, mode & 07777) < 0 || fstat(fd, &sb) < 0) {
		rc = msr_err_set(err, -errno, "%s/%s: %s", dir, tmp,
				 strerror(errno));
		goto fail;
	}
	/* The file we fill is the one we created, with the mode asked. */
	if (!S_ISREG(sb.st_mode) || sb.st_uid != geteuid() ||
	    (sb.st_mode & 07777) != (mode & 07777)) {
		rc = msr_err_set(err, -EPERM,
				 "%s/%s: not the private file just created "
				 "(uid %u, mode %04o)",
				 dir, tmp, (unsigned int)sb.st_uid,
				 (unsigned int)(sb.st_mode & 07777));
		goto fail;
	}
	rc = write_all(fd, buf, len);
	if (rc == 0 && sync && fsync(fd) < 0)
		rc = -errno;
	if (rc < 0) {
		rc = msr_err_set(err, rc, "%s: write failed: %s", path,
				 strerror(-rc));
		goto fail;
	}
	rc = close(fd);
	fd = -1;
	if (rc < 0) {
		rc = msr_err_set(err, -errno, "%s: write failed: %s", path,
				 strerror(errno));
		goto fail;
	}
	/* Checked again right before the rename to narrow the window. */
	if (fstatat(dfd, base, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	    !S_ISREG(sb.st_mode)) {
		rc = msr_err_set(err, S_ISLNK(sb.st_mode) ? -ELOOP : -EINVAL,
				 "%s: is no longer a regular file; refusing "
				 "to replace it",
				 path);
		goto fail;
	}
	if (renameat(dfd, tmp, dfd, base) < 0) {
		rc = msr_err_set(err, -errno, "%s: cannot replace: %s", path,
				 strerror(errno));
		goto fail;
	}
	tmp[0] = 0;
	/* The new name is durable only once the directory is. */
	if (sync && fsync(dfd) < 0) {
		rc = msr_err_set(err, -errno,
				 "%s: replaced, but syncing directory %s "
				 "failed: %s",
				 path, dir, strerror(errno));
		goto fail;
	}
	rc = 0;
fail:
	if (fd >= 0)
		close(fd);
	if (tmp[0])
		unlinkat(dfd, tmp, 0);
	if (dfd >= 0)
		close(dfd);
	free(dir);
	return rc;
}

int msr_write_file_atomic(const char *path, const void *buf, size_t len,
			  unsigned int mode, struct msr_err *err)
{
	return msr_file_write(path, buf, len, mode, MSR_FILE_SYNC, err);
}

bool msr_file_is_temp(const char *name)
{
	size_t n = strlen(name), tag = strlen(TEMP_TAG);

	if (n < 1 + 1 + tag + TEMP_RAND || name[0] != '.')
		return false;
	if (strncmp(name + n - TEMP_RAND - tag, TEMP_TAG, tag))
		return false;
	for (size_t k = n - TEMP_RAND; k < n; k++)
		if (!strchr(temp_chars, name[k]))
			return false;
	return true;
}

int msr_file_prune_temps(const char *dir, int64_t min_age, size_t *removed,
			 struct msr_err *err)
{
	const time_t now = time(NULL);
	struct dirent *de;
	int dfd, rc = 0;
	DIR *d;

	if (removed)
		*removed = 0;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return msr_err_set(err, -errno, "%s: cannot open: %s", dir,
				   strerror(errno));
	d = fdopendir(dfd);
	if (!d) {
		rc = msr_err_set(err, -errno, "%s: cannot open: %s", dir,
				 strerror(errno));
		close(dfd);
		return rc;
	}
	while ((de = readdir(d))) {
		struct stat sb;

		if (!msr_file_is_temp(de->d_name) ||
		    fstatat(dfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(sb.st_mode) || now - sb.st_mtime < min_age)
			continue;
		if (unlinkat(dfd, de->d_name, 0) < 0) {
			if (errno != ENOENT && rc == 0)
				rc = msr_err_set(
				    err, -errno, "%s/%s: cannot remove: %s",
				    dir, de->d_name, strerror(errno));
			continue;
		}
		if (removed)
			(*removed)++;
	}
	closedir(d);
	return rc;
}
