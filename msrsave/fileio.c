// SPDX-License-Identifier: GPL-2.0-only
/* Whole-file reads and crash-safe atomic replacement of files. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "msrsave.h"

int msr_read_file(const char *path, size_t max, char **buf, size_t *len,
		  struct msr_err *err)
{
	size_t cap = 4096, used = 0;
	char *data = NULL;
	int fd, rc;

	*buf = NULL;
	if (len)
		*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return msr_err_set(err, -errno, "%s: cannot open: %s", path,
				   strerror(errno));
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

int msr_write_file_atomic(const char *path, const void *buf, size_t len,
			  unsigned int mode, struct msr_err *err)
{
	char *dir = NULL, *tmp = NULL;
	const char *base, *slash;
	struct stat st;
	int fd = -1, dfd, rc;

	if (!path || !*path)
		return msr_err_set(err, -EINVAL, "empty file name");
	if (lstat(path, &st) == 0) {
		if (S_ISLNK(st.st_mode))
			return msr_err_set(err, -ELOOP,
					   "%s: is a symbolic link; refusing "
					   "to write through it",
					   path);
		if (!S_ISREG(st.st_mode))
			return msr_err_set(err, -EINVAL,
					   "%s: not a regular file", path);
	} else if (errno != ENOENT) {
		return msr_err_set(err, -errno, "%s: %s", path,
				   strerror(errno));
	}
	slash = strrchr(path, '/');
	base = slash ? slash + 1 : path;
	if (!*base)
		return msr_err_set(err, -EISDIR, "%s: names a directory", path);
	if (slash == path)
		dir = strdup("/");
	else if (slash)
		dir = strndup(path, (size_t)(slash - path));
	else
		dir = strdup(".");
	if (!dir || asprintf(&tmp, "%s/.%s.XXXXXX", dir, base) < 0) {
		tmp = NULL;
		rc = msr_err_set(err, -ENOMEM, "%s: out of memory", path);
		goto fail;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = msr_err_set(err, -errno,
				 "%s: cannot create a file in %s: %s", path,
				 dir, strerror(errno));
		free(tmp);
		tmp = NULL;
		goto fail;
	}
	if (fchmod(fd, mode & 07777) < 0 ||
	    (rc = write_all(fd, buf, len)) < 0 || fsync(fd) < 0) {
		rc = msr_err_set(err, -errno, "%s: write failed: %s", tmp,
				 strerror(errno));
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = msr_err_set(err, -errno, "%s: write failed: %s", tmp,
				 strerror(errno));
		goto fail;
	}
	fd = -1;
	/* Checked again right before the rename to narrow the window. */
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
		rc = msr_err_set(err, -ELOOP,
				 "%s: is a symbolic link; refusing to write "
				 "through it",
				 path);
		goto fail;
	}
	if (rename(tmp, path) < 0) {
		rc = msr_err_set(err, -errno, "%s: cannot replace: %s", path,
				 strerror(errno));
		goto fail;
	}
	free(tmp);
	tmp = NULL;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	free(dir);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	free(dir);
	return rc;
}
