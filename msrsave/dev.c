// SPDX-License-Identifier: GPL-2.0-only
/*
 * MSR device access.  Three backends, chosen in this order: the batch
 * ioctl (one system call for any number of ops), the per-CPU msr_safe
 * nodes, the kernel's stock msr driver.  A directory of regular files
 * stands in for the devices in tests and demos; the library then applies
 * the allowlist itself exactly as the module would.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "msr_safe.h"
#include "msrsave_int.h"

struct msr_dev {
	char *dir;
	enum msr_backend backend;
	bool file_backed;
	int batch_fd;
	const char *node; /* per-CPU node name: "msr_safe" or "msr" */
	int *cpus;
	size_t ncpus;
	int *fds; /* per-CPU fds parallel to cpus, opened on first use */
};

const char *msr_backend_name(enum msr_backend b)
{
	switch (b) {
	case MSR_BACKEND_BATCH:
		return "batch";
	case MSR_BACKEND_PERCPU:
		return "per-cpu";
	case MSR_BACKEND_STOCK:
		return "stock-msr";
	}
	return "unknown";
}

const char *msr_dev_dir(const struct msr_dev *dev)
{
	return dev->dir;
}

enum msr_backend msr_dev_backend(const struct msr_dev *dev)
{
	return dev->backend;
}

bool msr_dev_is_file_backed(const struct msr_dev *dev)
{
	return dev->file_backed;
}

size_t msr_dev_ncpus(const struct msr_dev *dev)
{
	return dev->ncpus;
}

const int *msr_dev_cpus(const struct msr_dev *dev)
{
	return dev->cpus;
}

/* "0", "17": decimal without leading zeros, as the kernel names them. */
static bool cpu_dir_name(const char *name, int *cpu)
{
	uint64_t v;

	if (!isdigit((unsigned char)name[0]) ||
	    (name[0] == '0' && name[1] != 0))
		return false;
	for (const char *p = name; *p; p++)
		if (!isdigit((unsigned char)*p))
			return false;
	if (msr_parse_u64(name, 1u << 20, &v))
		return false;
	*cpu = (int)v;
	return true;
}

/* 1 = character device, 2 = regular file, 0 = absent or anything else. */
static int node_kind(const char *dir, int cpu, const char *node)
{
	char path[4200];
	struct stat st;

	if (cpu >= 0)
		snprintf(path, sizeof(path), "%s/%d/%s", dir, cpu, node);
	else
		snprintf(path, sizeof(path), "%s/%s", dir, node);
	if (stat(path, &st) < 0)
		return 0;
	if (S_ISCHR(st.st_mode))
		return 1;
	if (S_ISREG(st.st_mode))
		return 2;
	return 0;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* Numeric subdirectories of @dir holding @node, ascending. */
static int list_cpus(const char *dir, const char *node, int **out, size_t *n,
		     int *kind, struct msr_err *err)
{
	size_t cnt = 0, cap = 0;
	int *cpus = NULL, rc;
	struct dirent *de;
	DIR *d;

	*out = NULL;
	*n = 0;
	*kind = 0;
	d = opendir(dir);
	if (!d)
		return msr_err_set(
		    err, -errno, "%s: cannot open the MSR device directory: %s",
		    dir, strerror(errno));
	while ((de = readdir(d))) {
		int cpu, k;

		if (!cpu_dir_name(de->d_name, &cpu))
			continue;
		k = node_kind(dir, cpu, node);
		if (!k)
			continue;
		if (cnt == cap) {
			size_t ncap = cap ? 2 * cap : 64;
			int *bigger = realloc(cpus, ncap * sizeof(*bigger));

			if (!bigger) {
				rc = msr_err_set(err, -ENOMEM, "out of memory");
				goto fail;
			}
			cpus = bigger;
			cap = ncap;
		}
		cpus[cnt++] = cpu;
		/* Any regular file makes the tree file-backed. */
		if (k > *kind)
			*kind = k;
	}
	closedir(d);
	if (cnt)
		qsort(cpus, cnt, sizeof(*cpus), cmp_int);
	*out = cpus;
	*n = cnt;
	return 0;
fail:
	closedir(d);
	free(cpus);
	return rc;
}

/*
 * A batch node that answers an empty batch with anything but ENOTTY is
 * msr-safe's (it refuses numops == 0 with EINVAL); some other driver
 * behind the name, e.g. a test's /dev/null, says ENOTTY.
 */
static int open_batch(const char *dir)
{
	struct msr_batch_array arr = {.numops = 0,
				      .version = MSR_SAFE_VERSION_u32};
	char path[4200];
	int fd;

	if (node_kind(dir, -1, "msr_batch") != 1)
		return -1;
	snprintf(path, sizeof(path), "%s/msr_batch", dir);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (ioctl(fd, X86_IOC_MSR_BATCH, &arr) < 0 &&
	    (errno == ENOTTY || errno == ENODEV || errno == ENXIO)) {
		close(fd);
		return -1;
	}
	return fd;
}

int msr_dev_open(const char *dir, struct msr_dev **out, struct msr_err *err)
{
	struct msr_dev *dev;
	int kind, rc;

	*out = NULL;
	if (!dir || !*dir)
		dir = secure_getenv(MSRSAVE_DEVICE_DIR_ENV);
	if (!dir || !*dir)
		dir = MSRSAVE_DEFAULT_DEVICE_DIR;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return msr_err_set(err, -ENOMEM, "out of memory");
	dev->batch_fd = -1;
	dev->dir = strdup(dir);
	if (!dev->dir) {
		rc = msr_err_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	rc = list_cpus(dir, "msr_safe", &dev->cpus, &dev->ncpus, &kind, err);
	if (rc < 0)
		goto fail;
	if (dev->ncpus) {
		dev->node = "msr_safe";
		dev->file_backed = kind == 2;
		dev->backend = MSR_BACKEND_PERCPU;
		if (!dev->file_backed) {
			dev->batch_fd = open_batch(dir);
			if (dev->batch_fd >= 0)
				dev->backend = MSR_BACKEND_BATCH;
		}
	} else {
		free(dev->cpus);
		rc = list_cpus(dir, "msr", &dev->cpus, &dev->ncpus, &kind, err);
		if (rc < 0)
			goto fail;
		if (!dev->ncpus || kind != 1) {
			rc = msr_err_set(
			    err, -ENOENT,
			    "%s: no MSR devices (no N/msr_safe: is the "
			    "msr-safe module loaded?)",
			    dir);
			goto fail;
		}
		dev->node = "msr";
		dev->backend = MSR_BACKEND_STOCK;
	}
	dev->fds = malloc(dev->ncpus * sizeof(*dev->fds));
	if (!dev->fds) {
		rc = msr_err_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < dev->ncpus; i++)
		dev->fds[i] = -1;
	*out = dev;
	return 0;
fail:
	msr_dev_close(dev);
	return rc;
}

void msr_dev_close(struct msr_dev *dev)
{
	if (!dev)
		return;
	if (dev->batch_fd >= 0)
		close(dev->batch_fd);
	if (dev->fds)
		for (size_t i = 0; i < dev->ncpus; i++)
			if (dev->fds[i] >= 0)
				close(dev->fds[i]);
	free(dev->fds);
	free(dev->cpus);
	free(dev->dir);
	free(dev);
}

/* fd of @cpu's node, opened on first use; negative errno on failure. */
static int cpu_fd(struct msr_dev *dev, int cpu, bool write)
{
	const int *hit =
	    bsearch(&cpu, dev->cpus, dev->ncpus, sizeof(*dev->cpus), cmp_int);
	char path[4200];
	size_t i;
	int fd;

	if (!hit)
		return -ENXIO;
	i = (size_t)(hit - dev->cpus);
	if (dev->fds[i] >= 0)
		return dev->fds[i];
	snprintf(path, sizeof(path), "%s/%d/%s", dev->dir, cpu, dev->node);
	fd = open(path, O_RDWR | O_CLOEXEC);
	/* A read-only node still serves reads. */
	if (fd < 0 && (errno == EACCES || errno == EROFS || errno == EPERM) &&
	    !write) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			return fd; /* not cached: a later write retries RDWR */
	}
	/*
	 * A node that vanished is an absent CPU; a node we may not open is a
	 * permission problem, not the allowlist's EACCES.
	 */
	if (fd < 0 && errno == ENOENT)
		return -ENXIO;
	if (fd < 0)
		return errno == EACCES ? -EPERM : -errno;
	dev->fds[i] = fd;
	return fd;
}

/*
 * Where an MSR's 8 bytes live: the device nodes take the address as the
 * file offset; a file-backed tree keeps one 8-byte slot per address
 * (sparse file), so adjacent MSRs such as 0xC0010200 and 0xC0010201 never
 * share bytes.
 */
static off_t msr_offset(const struct msr_dev *dev, uint32_t msr)
{
	return dev->file_backed ? (off_t)msr * MSR_FILE_SLOT : (off_t)msr;
}

static int read_u64_at(int fd, off_t off, uint64_t *v, bool zero_past_eof)
{
	unsigned char b[8] = {0};
	ssize_t got = pread(fd, b, sizeof(b), off);

	if (got < 0)
		return -errno;
	if (got != (ssize_t)sizeof(b) && !zero_past_eof)
		return -EIO;
	*v = 0;
	for (int k = 7; k >= 0; k--)
		*v = (*v << 8) | b[k];
	return 0;
}

static int write_u64_at(int fd, off_t off, uint64_t v)
{
	unsigned char b[8];
	ssize_t put;

	for (int k = 0; k < 8; k++)
		b[k] = (unsigned char)(v >> (8 * k));
	put = pwrite(fd, b, sizeof(b), off);
	if (put < 0)
		return -errno;
	return put == (ssize_t)sizeof(b) ? 0 : -EIO;
}

/* Release a read-only fd that cpu_fd() did not cache. */
static void cpu_fd_done(struct msr_dev *dev, int cpu, int fd)
{
	const int *hit =
	    bsearch(&cpu, dev->cpus, dev->ncpus, sizeof(*dev->cpus), cmp_int);

	if (hit && dev->fds[hit - dev->cpus] != fd)
		close(fd);
}

static int exec_one_file(struct msr_dev *dev, const struct msr_allowlist *al,
			 struct msr_op *op)
{
	const struct al_entry *e = al_find(al->entries, al->count, op->msr);
	uint64_t cur;
	int fd, rc;

	if (!e)
		return -EACCES;
	op->wmask = e->wmask;
	if (op->write && !e->wmask)
		return -EROFS;
	fd = cpu_fd(dev, op->cpu, op->write);
	if (fd < 0)
		return fd;
	rc = read_u64_at(fd, msr_offset(dev, op->msr), &cur, true);
	if (rc == 0 && op->write)
		rc = write_u64_at(fd, msr_offset(dev, op->msr),
				  (op->value & e->wmask) | (cur & ~e->wmask));
	else if (rc == 0)
		op->value = cur;
	cpu_fd_done(dev, op->cpu, fd);
	return rc;
}

static int exec_one_node(struct msr_dev *dev, const struct msr_allowlist *al,
			 struct msr_op *op)
{
	const struct al_entry *e =
	    al ? al_find(al->entries, al->count, op->msr) : NULL;
	int fd, rc;

	/* The stock driver masks nothing; msr_safe applies the list's mask. */
	op->wmask = dev->backend == MSR_BACKEND_STOCK ? ~0ULL
		    : e				      ? e->wmask
						      : 0;
	fd = cpu_fd(dev, op->cpu, op->write);
	if (fd < 0)
		return fd;
	if (op->write)
		rc = write_u64_at(fd, msr_offset(dev, op->msr), op->value);
	else
		rc = read_u64_at(fd, msr_offset(dev, op->msr), &op->value,
				 false);
	cpu_fd_done(dev, op->cpu, fd);
	return rc;
}

static int exec_batch(struct msr_dev *dev, struct msr_op *ops, size_t n,
		      struct msr_err *err)
{
	struct msr_batch_op *bops = NULL;
	struct msr_batch_array arr;
	size_t *idx = NULL, nb = 0;
	int rc = 0;

	if (!n)
		return 0;
	bops = calloc(n, sizeof(*bops));
	idx = calloc(n, sizeof(*idx));
	if (!bops || !idx) {
		rc = msr_err_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		/* The ABI carries CPUs in 16 bits. */
		if (ops[i].cpu < 0 || ops[i].cpu > 0xffff) {
			ops[i].err = -ENXIO;
			continue;
		}
		bops[nb].cpu = (__u16)ops[i].cpu;
		bops[nb].isrdmsr = !ops[i].write;
		bops[nb].msr = ops[i].msr;
		bops[nb].msrdata = ops[i].write ? ops[i].value : 0;
		idx[nb++] = i;
	}
	for (size_t done = 0; done < nb;) {
		size_t chunk = nb - done;

		for (;;) {
			bool per_op = false;

			arr.numops = (__u32)chunk;
			arr.version = MSR_SAFE_VERSION_u32;
			arr.ops = bops + done;
			if (ioctl(dev->batch_fd, X86_IOC_MSR_BATCH, &arr) == 0)
				break;
			for (size_t k = 0; k < chunk; k++)
				if (bops[done + k].err)
					per_op = true;
			if (per_op)
				break;
			/* More ops than the module's max_batch_ops. */
			if (errno == E2BIG && chunk > 1) {
				chunk /= 2;
				continue;
			}
			rc = -errno;
			/* Call-level, so EACCES is about the caller, not an op.
			 */
			msr_err_set(err, rc,
				    "%s/msr_batch: batch of %zu ops failed: %s",
				    dev->dir, chunk,
				    rc == -EACCES || rc == -EPERM
					? "permission denied (device access "
					  "or allowlist changed since open)"
				    : rc == -EBADF
					? "device not open for reading"
					: msr_op_strerror(rc));
			goto fail;
		}
		done += chunk;
	}
	for (size_t k = 0; k < nb; k++) {
		struct msr_op *op = &ops[idx[k]];

		op->err = bops[k].err;
		op->wmask = bops[k].wmask;
		if (!op->write && !op->err)
			op->value = bops[k].msrdata;
	}
fail:
	free(bops);
	free(idx);
	return rc;
}

int msr_dev_exec(struct msr_dev *dev, struct msr_op *ops, size_t n,
		 struct msr_err *err)
{
	struct msr_allowlist al = {0};
	bool have_al = false;
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		ops[i].err = 0;
		ops[i].wmask = 0;
	}
	if (dev->backend == MSR_BACKEND_BATCH) {
		rc = exec_batch(dev, ops, n, err);
		if (rc < 0)
			return rc;
	} else {
		if (dev->backend == MSR_BACKEND_PERCPU) {
			struct msr_err aerr;

			rc = msr_dev_allowlist_read(dev, &al, &aerr);
			/* A file tree without a list allows nothing. */
			have_al = rc == 0;
			if (rc < 0 && dev->file_backed && rc != -ENOENT)
				return msr_err_set(err, rc, "%s", aerr.msg);
			rc = 0;
		}
		for (size_t i = 0; i < n; i++) {
			if (dev->file_backed)
				ops[i].err = exec_one_file(dev, &al, &ops[i]);
			else
				ops[i].err = exec_one_node(
				    dev, have_al ? &al : NULL, &ops[i]);
		}
		msr_allowlist_free(&al);
	}
	for (size_t i = 0; i < n; i++)
		if (ops[i].err)
			return ops[i].err;
	return 0;
}

int msr_dev_allowlist_read(struct msr_dev *dev, struct msr_allowlist *al,
			   struct msr_err *err)
{
	char path[4200], *text;
	size_t len;
	int rc;

	al->entries = NULL;
	al->count = 0;
	snprintf(path, sizeof(path), "%s/msr_allowlist", dev->dir);
	rc = msr_read_file(path, MSR_LIVE_TEXT_MAX, &text, &len, err);
	if (rc < 0)
		return rc;
	rc = msr_allowlist_parse_live(text, len, path, al, err);
	free(text);
	return rc;
}

/* Why the allowlist device refused a write, in words. */
static const char *install_strerror(int e)
{
	switch (e) {
	case E2BIG:
		return "the allowlist text is larger than 128 KiB";
	case EACCES:
	case EPERM:
		return "permission denied (installing needs root)";
	case ENOMEM:
		return "the module is out of memory";
	case EFAULT:
		return "bad buffer address";
	case EILSEQ:
	case EINVAL:
	case ERANGE:
	case ENOMSG:
	case ENOTUNIQ:
		return al_strerror(e);
	default:
		return strerror(e);
	}
}

int msr_dev_allowlist_install(struct msr_dev *dev,
			      const struct msr_allowlist *al,
			      struct msr_err *err)
{
	char path[4200], *text = NULL;
	size_t len;
	ssize_t w;
	int fd, kind, rc;

	snprintf(path, sizeof(path), "%s/msr_allowlist", dev->dir);
	rc = msr_allowlist_render(al, &text, &len, err);
	if (rc < 0)
		return rc;
	if (len > AL_TEXT_MAX) {
		rc = msr_err_set(err, -E2BIG, "%s: %zu entries: %s", path,
				 al->count, install_strerror(E2BIG));
		goto fail;
	}
	kind = node_kind(dev->dir, -1, "msr_allowlist");
	if (dev->file_backed || kind == 2) {
		rc = msr_write_file_atomic(path, text, len, 0644, err);
		goto fail;
	}
	/* Never create a regular file where the device should be. */
	if (kind != 1) {
		rc = msr_err_set(err, -ENOENT,
				 "%s: no allowlist device (is the msr-safe "
				 "module loaded?)",
				 path);
		goto fail;
	}
	/* The device clears the list on a write of only whitespace. */
	if (!al->count) {
		text[0] = '\n';
		len = 1;
	}
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = msr_err_set(err, -errno, "%s: cannot open: %s", path,
				 install_strerror(errno));
		goto fail;
	}
	/* One write(2): each write replaces the whole list. */
	w = write(fd, text, len);
	if (w < 0)
		rc = msr_err_set(err, -errno, "%s: allowlist refused: %s", path,
				 install_strerror(errno));
	else if ((size_t)w != len)
		rc =
		    msr_err_set(err, -EIO, "%s: short write (%zd of %zu bytes)",
				path, w, len);
	close(fd);
fail:
	free(text);
	return rc;
}
