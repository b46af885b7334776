/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The in-VM test suite for msr-safe.ko: runs inside the qemu guest that
 * tests/vm/run boots, against the real module in Debian's kernel.
 *
 * Output is one line per check, "ok N name" or "not ok N name: expected X
 * got Y", on stdout (the guest's second serial port).  Every check asserts
 * on a value; nothing is skipped: a check that cannot run fails.
 *
 *   suite --root --ko KO --repo REPO --build BUILD --scratch DIR
 *   suite --unpriv --gid GID --repo REPO
 *
 * The root run loads and reloads the module itself (finit_module and
 * delete_module), and leaves it loaded with the test allowlist and the
 * device nodes set up as udev would, for the unprivileged run.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "msr_safe.h"
#include "old_client.h"

#define DEV_DIR	       "/dev/cpu"
#define BATCH_DEV      DEV_DIR "/msr_batch"
#define ALLOWLIST_DEV  DEV_DIR "/msr_allowlist"
#define VERSION_DEV    DEV_DIR "/msr_safe_version"
#define SYS_COUNTERS   "/sys/kernel/msr_safe"
#define SYS_PARAMS     "/sys/module/msr_safe/parameters"
#define MODULE_NAME    "msr_safe"
#define AL_HEADER_TEXT "# MSR # Write Mask # Comment\n"
#define AL_MAX	       (128 * 1024 + 1)
#define MAX_CPUS       64
#define OP_SENTINEL    0x5a5a /* never a valid op->err: must be overwritten */
/* Input data of read ops under stress: a read that ran replaces it. */
#define READ_SENTINEL UINT64_C(0xdeadbeefcafef00d)
#define ABSENT_CPU    4000
#define UNPRIV_UID    65534

/* MSRs the emulator stores (PLATFORM.md), restored after each test. */
#define MSR_MCG_CAP   0x179u
#define MSR_APIC_BASE 0x1bu
#define MSR_MC0_ADDR  0x402u
#define MSR_MC0_MISC  0x403u
#define MSR_TSC_AUX   0xc0000103u
#define MSR_UNLISTED  0x3au /* FEATURE_CONTROL: never in a test list */

#define MASK_ADDR UINT64_C(0xffffffffffffffff)
#define MASK_MISC UINT64_C(0x00000000ffff0000)
#define MASK_TSC_AUX \
	UINT64_C(0x00000000ff000000) /* Linux keeps cpu/node below */

/* The list every section starts from. */
static const char test_list[] =
    "# msr-safe vm test list\n"
    "0x00000402 0xFFFFFFFFFFFFFFFF # \"MC0_ADDR\"\n"
    "0x403 0x00000000FFFF0000\n"
    "0xC0000103 0x00000000FF000000 # TSC_AUX, upper byte only\n"
    "0x179 0x0 # MCG_CAP read-only\n"
    "0x0000001B 0x0\n";
static const char test_list_canon[] =
    AL_HEADER_TEXT "0x0000001B 0x0000000000000000\n"
		   "0x00000179 0x0000000000000000\n"
		   "0x00000402 0xFFFFFFFFFFFFFFFF\n"
		   "0x00000403 0x00000000FFFF0000\n"
		   "0xC0000103 0x00000000FF000000\n";
/* The same addresses, all fully writable: used to set and restore. */
static const char full_list[] = "0x402 0xffffffffffffffff\n"
				"0x403 0xffffffffffffffff\n"
				"0xc0000103 0xffffffffffffffff\n"
				"0x179 0x0\n"
				"0x1b 0x0\n";

struct suite {
	int n, passed, failed;
	bool root;
	const char *ko, *repo, *build, *scratch, *merged;
	void *bad; /* a PROT_NONE page: a pointer the kernel cannot copy */
	gid_t gid;
	int cpus[MAX_CPUS]; /* online at start, ascending */
	int ncpus;
	int max_possible; /* highest possible CPU number */
};

struct saved_msrs {
	uint64_t addr[MAX_CPUS], misc[MAX_CPUS], aux[MAX_CPUS];
};

/* ---- reporting ------------------------------------------------------- */

static void report(struct suite *s, bool pass, const char *detail,
		   const char *fmt, va_list ap)
{
	char name[512];

	vsnprintf(name, sizeof(name), fmt, ap);
	s->n++;
	if (pass) {
		s->passed++;
		printf("ok %d %s\n", s->n, name);
	} else {
		s->failed++;
		printf("not ok %d %s: %s\n", s->n, name, detail);
	}
	fflush(stdout);
}

static const char *errname(int rc, char *buf, size_t cap)
{
	const char *n;

	if (rc == 0)
		return "0";
	n = strerrorname_np(rc < 0 ? -rc : rc);
	if (n)
		snprintf(buf, cap, "%s%s", rc > 0 ? "+" : "", n);
	else
		snprintf(buf, cap, "errno %d", rc);
	return buf;
}

__attribute__((format(printf, 4, 5))) static bool
check(struct suite *s, bool cond, const char *detail, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(s, cond, detail, fmt, ap);
	va_end(ap);
	return cond;
}

__attribute__((format(printf, 4, 5))) static bool
check_u64(struct suite *s, uint64_t exp, uint64_t got, const char *fmt, ...)
{
	char d[96];
	va_list ap;

	snprintf(d, sizeof(d), "expected 0x%" PRIx64 " got 0x%" PRIx64, exp,
		 got);
	va_start(ap, fmt);
	report(s, exp == got, d, fmt, ap);
	va_end(ap);
	return exp == got;
}

__attribute__((format(printf, 4, 5))) static bool
check_long(struct suite *s, long exp, long got, const char *fmt, ...)
{
	char d[96];
	va_list ap;

	snprintf(d, sizeof(d), "expected %ld got %ld", exp, got);
	va_start(ap, fmt);
	report(s, exp == got, d, fmt, ap);
	va_end(ap);
	return exp == got;
}

/* @exp and @got are 0 or a negative errno. */
__attribute__((format(printf, 4, 5))) static bool
check_rc(struct suite *s, int exp, int got, const char *fmt, ...)
{
	char d[96], b1[32], b2[32];
	va_list ap;

	snprintf(d, sizeof(d), "expected %s got %s", errname(exp, b1, 32),
		 errname(got, b2, 32));
	va_start(ap, fmt);
	report(s, exp == got, d, fmt, ap);
	va_end(ap);
	return exp == got;
}

/* Either of two results is acceptable (e.g. EBUSY or EAGAIN). */
__attribute__((format(printf, 5, 6))) static bool
check_rc2(struct suite *s, int exp1, int exp2, int got, const char *fmt, ...)
{
	char d[128], b1[32], b2[32], b3[32];
	bool pass = got == exp1 || got == exp2;
	va_list ap;

	snprintf(d, sizeof(d), "expected %s or %s got %s",
		 errname(exp1, b1, 32), errname(exp2, b2, 32),
		 errname(got, b3, 32));
	va_start(ap, fmt);
	report(s, pass, d, fmt, ap);
	va_end(ap);
	return pass;
}

static void quote(const char *p, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 5 < cap; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else if (isprint(c)) {
			out[o++] = (char)c;
		} else {
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
		}
	}
	out[o] = '\0';
}

/* Byte-exact text comparison; the detail shows where they first differ. */
__attribute__((format(printf, 6, 7))) static bool
check_text(struct suite *s, const char *exp, size_t elen, const char *got,
	   size_t glen, const char *fmt, ...)
{
	char d[400], qe[120], qg[120];
	size_t i = 0;
	bool pass;
	va_list ap;

	while (i < elen && i < glen && exp[i] == got[i])
		i++;
	pass = elen == glen && i == elen;
	if (!pass) {
		size_t from = i > 20 ? i - 20 : 0;

		quote(exp + from, elen - from < 40 ? elen - from : 40, qe,
		      sizeof(qe));
		if (got)
			quote(got + from,
			      glen > from
				  ? (glen - from < 40 ? glen - from : 40)
				  : 0,
			      qg, sizeof(qg));
		else
			snprintf(qg, sizeof(qg), "(nothing)");
		snprintf(d, sizeof(d),
			 "expected %zu bytes got %zu, first difference at byte "
			 "%zu: expected \"%s\" got \"%s\"",
			 elen, glen, i, qe, qg);
	}
	va_start(ap, fmt);
	report(s, pass, d, fmt, ap);
	va_end(ap);
	return pass;
}

static void note(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- small file helpers ---------------------------------------------- */

static int read_file(const char *path, char **out, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);
	int fd, rc = 0;

	if (!buf)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		goto fail;
	}
	for (;;) {
		ssize_t r;

		if (n == cap) {
			char *nb = realloc(buf, cap * 2 + 1);

			if (!nb) {
				rc = -ENOMEM;
				goto fail;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0) {
			rc = -errno;
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t w;
	int rc = 0;

	if (fd < 0)
		return -errno;
	w = write(fd, text, strlen(text));
	if (w < 0)
		rc = -errno;
	else if ((size_t)w != strlen(text))
		rc = -EIO;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

static int read_u64_file(const char *path, uint64_t *v)
{
	char *text, *end;
	size_t len;
	int rc = read_file(path, &text, &len);

	if (rc)
		return rc;
	errno = 0;
	*v = strtoull(text, &end, 0);
	if (errno || end == text || (*end != '\n' && *end != '\0'))
		rc = -EINVAL;
	free(text);
	return rc;
}

static bool path_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* "0-3,5" into ascending numbers. */
static int parse_cpulist(const char *text, int *cpus, int max)
{
	const char *p = text;
	int n = 0;

	while (*p && *p != '\n') {
		char *end;
		long a = strtol(p, &end, 10), b;

		if (end == p)
			return -EINVAL;
		b = a;
		p = end;
		if (*p == '-') {
			b = strtol(p + 1, &end, 10);
			p = end;
		}
		for (long c = a; c <= b; c++) {
			if (n == max)
				return -E2BIG;
			cpus[n++] = (int)c;
		}
		if (*p == ',')
			p++;
	}
	return n;
}

static int online_cpus(int *cpus, int max)
{
	char *text;
	size_t len;
	int rc = read_file("/sys/devices/system/cpu/online", &text, &len);

	if (rc)
		return rc;
	rc = parse_cpulist(text, cpus, max);
	free(text);
	return rc;
}

static int set_cpu_online(int cpu, bool on)
{
	char path[96];

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/online",
		 cpu);
	return write_file(path, on ? "1\n" : "0\n");
}

/* ---- device helpers -------------------------------------------------- */

static void cpu_path(int cpu, char *buf, size_t cap)
{
	snprintf(buf, cap, DEV_DIR "/%d/msr_safe", cpu);
}

static int cpu_open(int cpu, int flags)
{
	char path[64];
	int fd;

	cpu_path(cpu, path, sizeof(path));
	fd = open(path, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int fd_rd(int fd, uint32_t msr, uint64_t *v)
{
	ssize_t r = pread(fd, v, sizeof(*v), msr);

	if (r < 0)
		return -errno;
	return r == 8 ? 0 : -EPROTO;
}

static int fd_wr(int fd, uint32_t msr, uint64_t v)
{
	ssize_t r = pwrite(fd, &v, sizeof(v), msr);

	if (r < 0)
		return -errno;
	return r == 8 ? 0 : -EPROTO;
}

static int cpu_rd(int cpu, uint32_t msr, uint64_t *v)
{
	int fd = cpu_open(cpu, O_RDONLY), rc;

	if (fd < 0)
		return fd;
	rc = fd_rd(fd, msr, v);
	close(fd);
	return rc;
}

static int cpu_wr(int cpu, uint32_t msr, uint64_t v)
{
	int fd = cpu_open(cpu, O_WRONLY), rc;

	if (fd < 0)
		return fd;
	rc = fd_wr(fd, msr, v);
	close(fd);
	return rc;
}

static void op_set(struct msr_batch_op *op, int cpu, uint32_t msr, bool read,
		   uint64_t data)
{
	memset(op, 0, sizeof(*op));
	op->cpu = (uint16_t)cpu;
	op->isrdmsr = read ? 1 : 0;
	op->err = OP_SENTINEL;
	op->msr = msr;
	op->msrdata = data;
	op->wmask = UINT64_C(0x5a5a5a5a5a5a5a5a);
}

static int batch_fd_run(int fd, struct msr_batch_op *ops, uint32_t n,
			uint32_t version)
{
	struct msr_batch_array arr;

	memset(&arr, 0, sizeof(arr));
	arr.numops = n;
	arr.version = version;
	arr.ops = ops;
	return ioctl(fd, X86_IOC_MSR_BATCH, &arr) < 0 ? -errno : 0;
}

static int batch_run(struct msr_batch_op *ops, uint32_t n)
{
	int fd = open(BATCH_DEV, O_RDWR | O_CLOEXEC), rc;

	if (fd < 0)
		return -errno;
	rc = batch_fd_run(fd, ops, n, MSR_SAFE_VERSION_u32);
	close(fd);
	return rc;
}

/* One write(2) of @len bytes: the whole list, as the contract requires. */
static int al_install_len(const char *text, size_t len)
{
	int fd = open(ALLOWLIST_DEV, O_WRONLY | O_CLOEXEC);
	ssize_t w;
	int rc = 0;

	if (fd < 0)
		return -errno;
	w = write(fd, text, len);
	if (w < 0)
		rc = -errno;
	else if ((size_t)w != len)
		rc = -EPROTO;
	close(fd);
	return rc;
}

static int al_install(const char *text)
{
	return al_install_len(text, strlen(text));
}

/* Read the live list @chunk bytes per read(2) until end of file. */
static int al_read(size_t chunk, char **out, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	int fd, rc = 0;

	if (!buf)
		return -ENOMEM;
	fd = open(ALLOWLIST_DEV, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		goto fail;
	}
	for (;;) {
		ssize_t r;

		if (cap - n < chunk) {
			char *nb = realloc(buf, cap * 2 + chunk);

			if (!nb) {
				rc = -ENOMEM;
				goto fail;
			}
			buf = nb;
			cap = cap * 2 + chunk;
		}
		r = read(fd, buf + n, chunk);
		if (r < 0) {
			rc = -errno;
			goto fail;
		}
		if (r == 0)
			break;
		if ((size_t)r > chunk) {
			rc = -EOVERFLOW;
			goto fail;
		}
		n += (size_t)r;
	}
	close(fd);
	*out = buf;
	*len = n;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

/* Does the live list read back as @canon? */
static bool al_is(struct suite *s, const char *canon, const char *what)
{
	char *text = NULL;
	size_t len = 0;
	int rc = al_read(4096, &text, &len);
	bool pass;

	if (rc) {
		check_rc(s, 0, rc, "%s: read the allowlist back", what);
		return false;
	}
	pass = check_text(s, canon, strlen(canon), text, len,
			  "%s: allowlist reads back canonically", what);
	free(text);
	return pass;
}

static int counter(const char *name, uint64_t *v)
{
	char path[128];

	snprintf(path, sizeof(path), SYS_COUNTERS "/%s", name);
	return read_u64_file(path, v);
}

static int set_param(const char *name, const char *value)
{
	char path[128];

	snprintf(path, sizeof(path), SYS_PARAMS "/%s", name);
	return write_file(path, value);
}

/* ---- module loading -------------------------------------------------- */

static int mod_load(const struct suite *s, const char *params)
{
	int fd = open(s->ko, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	if (syscall(SYS_finit_module, fd, params, 0) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

static int mod_unload(void)
{
	return syscall(SYS_delete_module, MODULE_NAME, O_NONBLOCK) < 0 ? -errno
								       : 0;
}

static int delete_module_unpriv_rc(void)
{
	return mod_unload();
}

static bool mod_loaded(void)
{
	return path_exists("/sys/module/" MODULE_NAME);
}

/*
 * udev stand-in: apply module/60-msr-safe.rules itself to every device of
 * the msr_safe class, so the shipped rules are what the tests exercise.
 * Understands the keys those rules use: SUBSYSTEM==, KERNEL== (glob),
 * OWNER=, GROUP=, MODE=.  Group "msr" is the test's group (s->gid).
 */
struct udev_rule {
	char subsystem[64], kernel[64], owner[64], group[64], mode[64];
};

static int udev_parse(const char *text, struct udev_rule *rules, int max)
{
	char *copy = strdup(text), *line, *save = NULL;
	int n = 0;

	if (!copy)
		return -ENOMEM;
	for (line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		struct udev_rule *r = &rules[n];
		char *p = line;

		while (isspace((unsigned char)*p))
			p++;
		if (*p == '#' || *p == '\0')
			continue;
		if (n == max) {
			free(copy);
			return -E2BIG;
		}
		memset(r, 0, sizeof(*r));
		while (*p) {
			char key[32], val[64];
			bool match;
			size_t k = 0, v = 0;

			while (*p == ',' || isspace((unsigned char)*p))
				p++;
			if (!*p)
				break;
			while (isupper((unsigned char)*p) &&
			       k < sizeof(key) - 1)
				key[k++] = *p++;
			key[k] = '\0';
			match = p[0] == '=' && p[1] == '=';
			p += match ? 2 : 1;
			if (*p++ != '"') {
				free(copy);
				return -EINVAL;
			}
			while (*p && *p != '"' && v < sizeof(val) - 1)
				val[v++] = *p++;
			val[v] = '\0';
			if (*p++ != '"') {
				free(copy);
				return -EINVAL;
			}
			if (match && !strcmp(key, "SUBSYSTEM"))
				snprintf(r->subsystem, sizeof(r->subsystem),
					 "%s", val);
			else if (match && !strcmp(key, "KERNEL"))
				snprintf(r->kernel, sizeof(r->kernel), "%s",
					 val);
			else if (!match && !strcmp(key, "OWNER"))
				snprintf(r->owner, sizeof(r->owner), "%s", val);
			else if (!match && !strcmp(key, "GROUP"))
				snprintf(r->group, sizeof(r->group), "%s", val);
			else if (!match && !strcmp(key, "MODE"))
				snprintf(r->mode, sizeof(r->mode), "%s", val);
			else {
				free(copy);
				return -EINVAL;
			}
		}
		n++;
	}
	free(copy);
	return n;
}

static int udev_id(const struct suite *s, const char *name, unsigned int *id)
{
	if (!strcmp(name, "root"))
		*id = 0;
	else if (!strcmp(name, "msr"))
		*id = (unsigned int)s->gid;
	else
		return -EINVAL;
	return 0;
}

/* The /dev node of class device @name, checked against its dev_t. */
static int udev_node(const char *name, unsigned int maj, unsigned int min,
		     char *path, size_t cap)
{
	unsigned int cpu;
	struct stat st;
	char tail;

	if (sscanf(name, "msr_safe%u%c", &cpu, &tail) == 1)
		snprintf(path, cap, DEV_DIR "/%u/msr_safe", cpu);
	else
		snprintf(path, cap, DEV_DIR "/%s", name);
	if (stat(path, &st))
		return -errno;
	if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != maj ||
	    minor(st.st_rdev) != min)
		return -ENODEV;
	return 0;
}

static int udev_apply(const struct suite *s)
{
	struct udev_rule rules[16];
	char rpath[PATH_MAX], *text = NULL;
	size_t len;
	int nrules, rc, matched_all = 0;
	DIR *d;
	struct dirent *de;

	snprintf(rpath, sizeof(rpath), "%s/module/60-msr-safe.rules", s->repo);
	rc = read_file(rpath, &text, &len);
	if (rc)
		return rc;
	nrules = udev_parse(text, rules, 16);
	free(text);
	if (nrules <= 0)
		return nrules ? nrules : -ENOMSG;
	d = opendir("/sys/class/msr_safe");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char path[PATH_MAX], node[PATH_MAX], *dev = NULL;
		unsigned int maj, min, uid = 0, gid = 0, mode = 0600;
		bool matched = false;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/class/msr_safe/%s/dev",
			 de->d_name);
		rc = read_file(path, &dev, &len);
		if (!rc && sscanf(dev, "%u:%u", &maj, &min) != 2)
			rc = -EINVAL;
		free(dev);
		rc = rc ? rc
			: udev_node(de->d_name, maj, min, node, sizeof(node));
		for (int i = 0; !rc && i < nrules; i++) {
			const struct udev_rule *r = &rules[i];

			if ((r->subsystem[0] &&
			     strcmp(r->subsystem, "msr_safe")) ||
			    (r->kernel[0] && fnmatch(r->kernel, de->d_name, 0)))
				continue;
			matched = true;
			if (r->owner[0])
				rc = udev_id(s, r->owner, &uid);
			if (!rc && r->group[0])
				rc = udev_id(s, r->group, &gid);
			if (!rc && r->mode[0])
				mode = (unsigned int)strtoul(r->mode, NULL, 8);
		}
		if (!rc && !matched)
			rc = -ENOENT; /* every device needs a rule */
		if (!rc && (chown(node, uid, gid) || chmod(node, mode)))
			rc = -errno;
		if (rc)
			break;
		matched_all++;
	}
	closedir(d);
	if (!rc && matched_all < 4)
		rc = -ENODEV;
	return rc;
}

/* Unload if loaded, load with @params, set the nodes up as udev would. */
static bool reload(struct suite *s, const char *params, const char *why)
{
	int rc;

	if (mod_loaded()) {
		rc = mod_unload();
		if (rc) {
			check_rc(s, 0, rc, "%s: rmmod msr_safe", why);
			return false;
		}
	}
	rc = mod_load(s, params);
	if (!check_rc(s, 0, rc, "%s: insmod msr-safe.ko %s", why, params))
		return false;
	rc = udev_apply(s);
	return check_rc(s, 0, rc,
			"%s: 60-msr-safe.rules applied to every device", why);
}

/* ---- reference rendering of allowlist text ---------------------------- */

struct ref_entry {
	uint32_t msr;
	uint64_t mask;
};

struct ref_list {
	struct ref_entry *e;
	size_t n, cap;
};

static int parse_hex(const char *tok, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	if (len > 2 && tok[0] == '0' && (tok[1] == 'x' || tok[1] == 'X'))
		i = 2;
	if (i == len)
		return -EINVAL;
	for (; i < len; i++) {
		int d;

		if (!isxdigit((unsigned char)tok[i]))
			return -EINVAL;
		d = isdigit((unsigned char)tok[i])
			? tok[i] - '0'
			: tolower((unsigned char)tok[i]) - 'a' + 10;
		if (v > (max - (uint64_t)d) / 16)
			return -ERANGE;
		v = v * 16 + (uint64_t)d;
	}
	*out = v;
	return 0;
}

/*
 * An independent, deliberately simple reading of the allowlist format, to
 * know what the module must print.  @merge: an address seen again ORs its
 * mask in (profile overlays); otherwise a repeat is -ENOTUNIQ.
 */
static int ref_parse(const char *text, size_t len, struct ref_list *l,
		     bool merge)
{
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *stop = eol ? eol : end, *q = p, *tok[3];
		size_t tlen[3], nt = 0;
		uint64_t msr, mask;
		int rc;

		for (;;) {
			while (q < stop && isspace((unsigned char)*q))
				q++;
			if (q == stop || *q == '#')
				break;
			if (nt == 3)
				return -EINVAL;
			tok[nt] = q;
			while (q < stop && !isspace((unsigned char)*q) &&
			       *q != '#')
				q++;
			tlen[nt] = (size_t)(q - tok[nt]);
			nt++;
		}
		p = eol ? eol + 1 : end;
		if (nt == 0)
			continue;
		if (nt != 2)
			return nt == 1 ? -EILSEQ : -EINVAL;
		rc = parse_hex(tok[0], tlen[0], UINT32_MAX, &msr);
		if (!rc)
			rc = parse_hex(tok[1], tlen[1], UINT64_MAX, &mask);
		if (rc)
			return rc;
		for (size_t i = 0; i < l->n; i++) {
			if (l->e[i].msr != msr)
				continue;
			if (!merge)
				return -ENOTUNIQ;
			l->e[i].mask |= mask;
			goto next;
		}
		if (l->n == l->cap) {
			size_t cap = l->cap ? l->cap * 2 : 64;
			struct ref_entry *ne = realloc(l->e, cap * sizeof(*ne));

			if (!ne)
				return -ENOMEM;
			l->e = ne;
			l->cap = cap;
		}
		l->e[l->n].msr = (uint32_t)msr;
		l->e[l->n].mask = mask;
		l->n++;
	next:;
	}
	return 0;
}

static int ref_cmp(const void *a, const void *b)
{
	const struct ref_entry *x = a, *y = b;

	return x->msr < y->msr ? -1 : x->msr > y->msr;
}

/* Header plus one "0x%08X 0x%016X" line per entry, sorted by address. */
static char *ref_render(struct ref_list *l, size_t *len)
{
	size_t cap = sizeof(AL_HEADER_TEXT) + l->n * 30 + 1, o;
	char *buf = malloc(cap);

	if (!buf)
		return NULL;
	qsort(l->e, l->n, sizeof(*l->e), ref_cmp);
	o = (size_t)snprintf(buf, cap, "%s", AL_HEADER_TEXT);
	for (size_t i = 0; i < l->n; i++)
		o += (size_t)snprintf(buf + o, cap - o,
				      "0x%08X 0x%016" PRIX64 "\n", l->e[i].msr,
				      l->e[i].mask);
	*len = o;
	return buf;
}

/* An address userspace may pass but the kernel cannot copy: PROT_NONE. */
static void *bad_page(void)
{
	void *p =
	    mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* ---- sections: devices and values ------------------------------------ */

static int node_mode(const char *path, unsigned int *mode, unsigned int *uid,
		     unsigned int *gid)
{
	struct stat st;

	if (stat(path, &st))
		return -errno;
	*mode = st.st_mode & 07777;
	*uid = st.st_uid;
	*gid = st.st_gid;
	return 0;
}

static void expect_node(struct suite *s, const char *path, unsigned int mode,
			unsigned int uid, unsigned int gid, const char *what)
{
	unsigned int m = 0, u = 0, g = 0;
	int rc = node_mode(path, &m, &u, &g);

	if (check_rc(s, 0, rc, "%s: %s exists", what, path))
		check(s, m == mode && u == uid && g == gid, "wrong mode/owner",
		      "%s: %s is %04o %u:%u (want %04o %u:%u)", what, path, m,
		      u, g, mode, uid, gid);
}

/* Nodes as the module creates them, then as the shipped rules set them. */
static void t_nodes(struct suite *s)
{
	char path[64];
	int rc;

	if (mod_loaded()) {
		rc = mod_unload();
		check_rc(s, 0, rc, "nodes: rmmod");
	}
	rc = mod_load(s, "");
	if (!check_rc(s, 0, rc, "nodes: insmod"))
		return;
	for (int i = 0; i < s->ncpus; i++) {
		cpu_path(s->cpus[i], path, sizeof(path));
		expect_node(s, path, 0600, 0, 0, "nodes before udev");
	}
	expect_node(s, BATCH_DEV, 0600, 0, 0, "nodes before udev");
	expect_node(s, ALLOWLIST_DEV, 0600, 0, 0, "nodes before udev");
	expect_node(s, VERSION_DEV, 0600, 0, 0, "nodes before udev");
	/* Parameter defaults of a plain insmod. */
	{
		static const char *const defaults[][2] = {
		    {"recheck_access", "Y\n"},
		    {"max_batch_ops", "131072\n"},
		    {"mdev_msr_safe", "0\n"},
		    {"mdev_msr_allowlist", "0\n"},
		    {"mdev_msr_batch", "0\n"},
		    {"mdev_msr_version", "0\n"},
		    {"inject_eio_msr", "0\n"},
		    {"inject_eio_writes_only", "N\n"},
		};

		for (size_t i = 0; i < sizeof(defaults) / sizeof(*defaults);
		     i++) {
			char ppath[128], *text = NULL;
			size_t len = 0;

			snprintf(ppath, sizeof(ppath), SYS_PARAMS "/%s",
				 defaults[i][0]);
			rc = read_file(ppath, &text, &len);
			if (check_rc(s, 0, rc, "nodes: read %s", ppath))
				check_text(s, defaults[i][1],
					   strlen(defaults[i][1]), text, len,
					   "nodes: %s defaults to %.*s",
					   defaults[i][0],
					   (int)strlen(defaults[i][1]) - 1,
					   defaults[i][1]);
			free(text);
		}
	}
	rc = udev_apply(s);
	check_rc(s, 0, rc, "nodes: 60-msr-safe.rules applied to every device");
	for (int i = 0; i < s->ncpus; i++) {
		cpu_path(s->cpus[i], path, sizeof(path));
		expect_node(s, path, 0660, 0, s->gid, "nodes after udev");
	}
	expect_node(s, BATCH_DEV, 0660, 0, s->gid, "nodes after udev");
	expect_node(s, ALLOWLIST_DEV, 0600, 0, 0, "nodes after udev");
	expect_node(s, VERSION_DEV, 0444, 0, 0, "nodes after udev");
}

static void t_version(struct suite *s)
{
	char *text = NULL;
	size_t len = 0;
	int rc = read_file(VERSION_DEV, &text, &len);

	if (check_rc(s, 0, rc, "version: read " VERSION_DEV))
		check_text(s, MSR_SAFE_VERSION_STR "\n",
			   strlen(MSR_SAFE_VERSION_STR "\n"), text, len,
			   "version: device says " MSR_SAFE_VERSION_STR);
	free(text);
	text = NULL;
	/* One byte at a time gives the same text. */
	{
		int fd = open(VERSION_DEV, O_RDONLY | O_CLOEXEC);
		char buf[32];
		size_t n = 0;
		ssize_t r = 0;

		while (fd >= 0 && n < sizeof(buf) &&
		       (r = read(fd, buf + n, 1)) == 1)
			n++;
		check_text(s, MSR_SAFE_VERSION_STR "\n",
			   strlen(MSR_SAFE_VERSION_STR "\n"), buf, n,
			   "version: 1-byte reads give the same text");
		if (fd >= 0)
			close(fd);
	}
}

/* Remember MC0_ADDR, MC0_MISC and TSC_AUX of every CPU (full list live). */
static bool save_msrs(struct suite *s, struct saved_msrs *sv)
{
	int rc = al_install(full_list);

	if (!check_rc(s, 0, rc, "save: install the fully writable list"))
		return false;
	for (int i = 0; i < s->ncpus; i++) {
		int c = s->cpus[i];

		rc = cpu_rd(c, MSR_MC0_ADDR, &sv->addr[i]);
		if (!rc)
			rc = cpu_rd(c, MSR_MC0_MISC, &sv->misc[i]);
		if (!rc)
			rc = cpu_rd(c, MSR_TSC_AUX, &sv->aux[i]);
		if (rc) {
			check_rc(s, 0, rc, "save: read cpu%d originals", c);
			return false;
		}
	}
	return true;
}

static void restore_msrs(struct suite *s, const struct saved_msrs *sv,
			 const char *what)
{
	int rc = al_install(full_list), bad = 0;
	uint64_t a = 0, m = 0, x = 0;

	if (!check_rc(s, 0, rc, "%s: install the fully writable list", what))
		return;
	for (int i = 0; i < s->ncpus; i++) {
		int c = s->cpus[i];

		rc = cpu_wr(c, MSR_MC0_ADDR, sv->addr[i]);
		rc = rc ? rc : cpu_wr(c, MSR_MC0_MISC, sv->misc[i]);
		rc = rc ? rc : cpu_wr(c, MSR_TSC_AUX, sv->aux[i]);
		rc = rc ? rc : cpu_rd(c, MSR_MC0_ADDR, &a);
		rc = rc ? rc : cpu_rd(c, MSR_MC0_MISC, &m);
		rc = rc ? rc : cpu_rd(c, MSR_TSC_AUX, &x);
		if (rc || a != sv->addr[i] || m != sv->misc[i] ||
		    x != sv->aux[i])
			bad++;
	}
	check_long(s, 0, bad, "%s: MC0_ADDR/MC0_MISC/TSC_AUX back on every CPU",
		   what);
	rc = al_install(test_list);
	check_rc(s, 0, rc, "%s: reinstall the test list", what);
}

static uint64_t pattern(int cpu, unsigned int round)
{
	return UINT64_C(0x8badf00d00000000) ^ ((uint64_t)round << 40) ^
	       (uint64_t)(cpu + 1) * 0x10001u;
}

static void t_percpu(struct suite *s)
{
	struct saved_msrs sv;
	char b1[96];
	uint64_t v, old;
	int rc;

	if (!save_msrs(s, &sv))
		return;
	/* Bits outside MC0_MISC's test mask must survive masked writes. */
	for (int i = 0; i < s->ncpus; i++) {
		rc = cpu_wr(s->cpus[i], MSR_MC0_MISC,
			    UINT64_C(0xa5a5a5a5a5a5a5a5));
		check_rc(s, 0, rc, "percpu cpu%d: preset MC0_MISC (full mask)",
			 s->cpus[i]);
	}
	rc = al_install(test_list);
	check_rc(s, 0, rc, "percpu: install the test list");
	al_is(s, test_list_canon, "percpu");

	for (int i = 0; i < s->ncpus; i++) {
		int c = s->cpus[i];
		uint64_t want = pattern(c, 1);

		rc = cpu_wr(c, MSR_MC0_ADDR, want);
		check_rc(s, 0, rc, "percpu cpu%d: write MC0_ADDR", c);
	}
	/* Read all after writing all: each CPU keeps its own value. */
	for (int i = 0; i < s->ncpus; i++) {
		int c = s->cpus[i];

		v = 0;
		rc = cpu_rd(c, MSR_MC0_ADDR, &v);
		check_rc(s, 0, rc, "percpu cpu%d: read MC0_ADDR", c);
		check_u64(s, pattern(c, 1), v,
			  "percpu cpu%d: MC0_ADDR holds this CPU's value", c);
	}
	for (int i = 0; i < s->ncpus; i++) {
		int c = s->cpus[i], fd = cpu_open(c, O_RDWR);
		uint64_t val = UINT64_C(0x123456789abcdef0) + (uint64_t)c;

		if (!check(s, fd >= 0, "open failed",
			   "percpu cpu%d: open O_RDWR", c))
			continue;
		old = 0;
		rc = fd_rd(fd, MSR_MC0_MISC, &old);
		rc = rc ? rc : fd_wr(fd, MSR_MC0_MISC, val);
		rc = rc ? rc : fd_rd(fd, MSR_MC0_MISC, &v);
		check_rc(s, 0, rc, "percpu cpu%d: masked MC0_MISC write", c);
		check_u64(
		    s, (val & MASK_MISC) | (old & ~MASK_MISC), v,
		    "percpu cpu%d: MC0_MISC = (value & mask) | (old & ~mask)",
		    c);
		check_u64(s, UINT64_C(0xa5a5a5a5a5a5a5a5) & ~MASK_MISC,
			  v & ~MASK_MISC,
			  "percpu cpu%d: MC0_MISC bits outside the mask kept",
			  c);

		rc = fd_rd(fd, MSR_TSC_AUX, &old);
		rc = rc ? rc
			: fd_wr(fd, MSR_TSC_AUX, UINT64_C(0xffffffffffffffff));
		rc = rc ? rc : fd_rd(fd, MSR_TSC_AUX, &v);
		check_rc(s, 0, rc, "percpu cpu%d: masked TSC_AUX write", c);
		check_u64(s, MASK_TSC_AUX | (old & ~MASK_TSC_AUX), v,
			  "percpu cpu%d: TSC_AUX changed in the mask only", c);

		/* Refusals. */
		rc = fd_rd(fd, MSR_UNLISTED, &v);
		check_rc(s, -EACCES, rc, "percpu cpu%d: read unlisted 0x%x", c,
			 MSR_UNLISTED);
		rc = fd_wr(fd, MSR_UNLISTED, 0);
		check_rc(s, -EACCES, rc, "percpu cpu%d: write unlisted 0x%x", c,
			 MSR_UNLISTED);
		rc = fd_rd(fd, MSR_MCG_CAP, &v);
		check_rc(s, 0, rc, "percpu cpu%d: read read-only MCG_CAP", c);
		rc = fd_wr(fd, MSR_MCG_CAP, v);
		check_rc(s, -EACCES, rc, "percpu cpu%d: write MCG_CAP (mask 0)",
			 c);
		close(fd);
	}

	/* Transfer sizes and seeking, on the first CPU. */
	{
		int fd = cpu_open(s->cpus[0], O_RDWR);
		static const size_t bad_sizes[] = {1, 4, 7, 9, 16};
		char buf[32];
		off_t off;

		if (!check(s, fd >= 0, "open failed", "percpu: open cpu%d",
			   s->cpus[0]))
			return;
		for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(*bad_sizes);
		     i++) {
			ssize_t r = pread(fd, buf, bad_sizes[i], MSR_MC0_ADDR);

			check_rc(s, -EINVAL, r < 0 ? -errno : (int)r,
				 "percpu: %zu-byte read refused", bad_sizes[i]);
			memset(buf, 0, sizeof(buf));
			r = pwrite(fd, buf, bad_sizes[i], MSR_MC0_ADDR);
			check_rc(s, -EINVAL, r < 0 ? -errno : (int)r,
				 "percpu: %zu-byte write refused",
				 bad_sizes[i]);
		}
		off = lseek(fd, 0, SEEK_END);
		check_rc(s, -EINVAL, off < 0 ? -errno : 0,
			 "percpu: SEEK_END refused");
		off = lseek(fd, MSR_MC0_ADDR, SEEK_SET);
		check_long(s, MSR_MC0_ADDR, off,
			   "percpu: SEEK_SET to MC0_ADDR");
		off = lseek(fd, 1, SEEK_CUR);
		check_long(s, MSR_MC0_MISC, off,
			   "percpu: SEEK_CUR +1 to MC0_MISC");
		rc = cpu_rd(s->cpus[0], MSR_MC0_MISC, &old);
		v = 0;
		if (read(fd, &v, 8) != 8)
			rc = -errno;
		check_rc(s, 0, rc, "percpu: read(2) at the file offset");
		check_u64(s, old, v,
			  "percpu: read(2) at offset 0x403 gives MC0_MISC");
		off = lseek(fd, MSR_TSC_AUX, SEEK_SET);
		check_long(s, MSR_TSC_AUX, off,
			   "percpu: SEEK_SET to an address above 2^31");
		off = lseek(fd, -1, SEEK_SET);
		check_rc(s, -EINVAL, off < 0 ? -errno : 0,
			 "percpu: negative SEEK_SET refused");
		off = lseek(fd, MSR_MC0_MISC, SEEK_SET);
		if (read(fd, &v, 8) != 8)
			rc = -errno;
		off = lseek(fd, 0, SEEK_CUR);
		check_long(s, MSR_MC0_MISC, off,
			   "percpu: read(2) leaves the offset at the MSR");
		/* Offsets beyond 32 bits name no MSR (not 0x402 truncated). */
		{
			ssize_t r = pread(fd, &v, 8, (off_t)0x100000402ll);

			check_rc(s, -EACCES, r < 0 ? -errno : (int)r,
				 "percpu: read at offset 0x100000402 refused");
			r = pwrite(fd, &v, 8, (off_t)0x100000402ll);
			check_rc(s, -EACCES, r < 0 ? -errno : (int)r,
				 "percpu: write at offset 0x100000402 refused");
		}
		/* Bad user buffers. */
		{
			ssize_t r;

			rc = cpu_rd(s->cpus[0], MSR_MC0_ADDR, &old);
			r = pread(fd, s->bad, 8, MSR_MC0_ADDR);
			check_rc(s, -EFAULT, r < 0 ? -errno : (int)r,
				 "percpu: read into a bad buffer is EFAULT");
			r = pwrite(fd, s->bad, 8, MSR_MC0_ADDR);
			check_rc(s, -EFAULT, r < 0 ? -errno : (int)r,
				 "percpu: write from a bad buffer is EFAULT");
			rc = cpu_rd(s->cpus[0], MSR_MC0_ADDR, &v);
			check_u64(s, old, v,
				  "percpu: the EFAULT write changed nothing");
		}
		close(fd);
	}
	/* A bad buffer on the allowlist device leaves the list as it was. */
	{
		int afd = open(ALLOWLIST_DEV, O_WRONLY | O_CLOEXEC);
		ssize_t r = afd < 0 ? -1 : write(afd, s->bad, 64);

		check_rc(s, -EFAULT, r < 0 ? -errno : (int)r,
			 "allowlist: write from a bad buffer is EFAULT");
		if (afd >= 0)
			close(afd);
		al_is(s, test_list_canon, "EFAULT write");
	}
	snprintf(b1, sizeof(b1), "percpu: restore");
	restore_msrs(s, &sv, b1);
}

static int count_bad_ops(const struct msr_batch_op *ops, size_t n, int want)
{
	int bad = 0;

	for (size_t i = 0; i < n; i++)
		if (ops[i].err != want)
			bad++;
	return bad;
}

static void t_batch(struct suite *s)
{
	struct msr_batch_op ops[4 * MAX_CPUS + 8], op;
	struct saved_msrs sv;
	uint64_t v, misc_old[MAX_CPUS];
	size_t n = 0;
	int rc, fd;

	if (!save_msrs(s, &sv))
		return;
	rc = al_install(test_list);
	check_rc(s, 0, rc, "batch: install the test list");

	/* Write MC0_ADDR everywhere, then read it and the others back. */
	for (int i = 0; i < s->ncpus; i++)
		op_set(&ops[n++], s->cpus[i], MSR_MC0_ADDR, false,
		       pattern(s->cpus[i], 2));
	rc = batch_run(ops, (uint32_t)n);
	check_rc(s, 0, rc, "batch: write MC0_ADDR on all %d CPUs", s->ncpus);
	check_long(s, 0, count_bad_ops(ops, n, 0),
		   "batch: every write op reports err 0");
	n = 0;
	for (int i = 0; i < s->ncpus; i++) {
		op_set(&ops[n++], s->cpus[i], MSR_MC0_ADDR, true, 0);
		op_set(&ops[n++], s->cpus[i], MSR_MC0_MISC, true, 0);
		op_set(&ops[n++], s->cpus[i], MSR_TSC_AUX, true, 0);
		op_set(&ops[n++], s->cpus[i], MSR_MCG_CAP, true, 0);
	}
	rc = batch_run(ops, (uint32_t)n);
	check_rc(s, 0, rc, "batch: %zu reads on all CPUs", n);
	check_long(s, 0, count_bad_ops(ops, n, 0),
		   "batch: every read op reports err 0");
	for (int i = 0; i < s->ncpus; i++) {
		int c = s->cpus[i];
		struct msr_batch_op *o = &ops[4 * i];

		check_u64(s, pattern(c, 2), o[0].msrdata,
			  "batch cpu%d: MC0_ADDR read back", c);
		check_u64(s, MASK_ADDR, o[0].wmask,
			  "batch cpu%d: wmask of MC0_ADDR", c);
		check_u64(s, MASK_MISC, o[1].wmask,
			  "batch cpu%d: wmask of MC0_MISC", c);
		check_u64(s, MASK_TSC_AUX, o[2].wmask,
			  "batch cpu%d: wmask of TSC_AUX", c);
		check_u64(s, 0, o[3].wmask, "batch cpu%d: wmask of MCG_CAP", c);
		misc_old[i] = o[1].msrdata;
		rc = cpu_rd(c, MSR_TSC_AUX, &v);
		check_u64(s, v, o[2].msrdata,
			  "batch cpu%d: TSC_AUX equals the per-CPU read", c);
	}
	/* Masked writes across CPUs. */
	n = 0;
	for (int i = 0; i < s->ncpus; i++)
		op_set(&ops[n++], s->cpus[i], MSR_MC0_MISC, false,
		       ~misc_old[i]);
	rc = batch_run(ops, (uint32_t)n);
	check_rc(s, 0, rc, "batch: masked MC0_MISC writes");
	for (int i = 0; i < s->ncpus; i++) {
		check_u64(s, MASK_MISC, ops[i].wmask,
			  "batch cpu%d: write op reports wmask", s->cpus[i]);
		v = 0;
		rc = cpu_rd(s->cpus[i], MSR_MC0_MISC, &v);
		check_u64(
		    s, (~misc_old[i] & MASK_MISC) | (misc_old[i] & ~MASK_MISC),
		    v, "batch cpu%d: MC0_MISC changed in the mask only",
		    s->cpus[i]);
	}

	/* Per-op refusals; the call returns the first one in array order. */
	n = 0;
	op_set(&ops[n++], s->cpus[0], MSR_MC0_ADDR, true, 0);
	op_set(&ops[n++], s->cpus[0], MSR_MCG_CAP, false, 0);
	op_set(&ops[n++], s->cpus[0], MSR_UNLISTED, true, 0);
	op_set(&ops[n++], s->cpus[0], MSR_UNLISTED, false, 0);
	op_set(&ops[n++], s->cpus[s->ncpus - 1], MSR_MC0_ADDR, false,
	       UINT64_C(0x600df00d));
	rc = batch_run(ops, (uint32_t)n);
	check_rc(s, -EROFS, rc, "batch: call returns the first error (EROFS)");
	check_rc(s, 0, ops[0].err, "batch: good read before refusals runs");
	check_u64(s, pattern(s->cpus[0], 2), ops[0].msrdata,
		  "batch: good read before refusals has the value");
	check_rc(s, -EROFS, ops[1].err, "batch: write to mask-0 MSR is EROFS");
	check_rc(s, -EACCES, ops[2].err,
		 "batch: read of unlisted MSR is EACCES");
	check_rc(s, -EACCES, ops[3].err,
		 "batch: write of unlisted MSR is EACCES");
	check_rc(s, 0, ops[4].err, "batch: good write after refusals runs");
	rc = cpu_rd(s->cpus[s->ncpus - 1], MSR_MC0_ADDR, &v);
	check_u64(s, UINT64_C(0x600df00d), v,
		  "batch: good write after refusals took effect");
	cpu_wr(s->cpus[s->ncpus - 1], MSR_MC0_ADDR,
	       pattern(s->cpus[s->ncpus - 1], 2));
	op_set(&ops[0], s->cpus[0], MSR_UNLISTED, true, 0);
	op_set(&ops[1], s->cpus[0], MSR_MCG_CAP, false, 0);
	rc = batch_run(ops, 2);
	check_rc(s, -EACCES, rc,
		 "batch: call returns the first error (EACCES)");

	/* Ops on one CPU run in array order: each read sees the write
	 * before it, even with another CPU's ops in between. */
	{
		int c0 = s->cpus[0], c1 = s->cpus[s->ncpus - 1];

		op_set(&ops[0], c0, MSR_MC0_ADDR, false, 0xa1);
		op_set(&ops[1], c1, MSR_MC0_ADDR, false, 0xb1);
		op_set(&ops[2], c0, MSR_MC0_ADDR, true, 0);
		op_set(&ops[3], c0, MSR_MC0_ADDR, false, 0xa2);
		op_set(&ops[4], c1, MSR_MC0_ADDR, true, 0);
		op_set(&ops[5], c0, MSR_MC0_ADDR, true, 0);
		rc = batch_run(ops, 6);
		check_rc(s, 0, rc, "batch: interleaved writes and reads");
		check_u64(s, c0 == c1 ? 0xb1 : 0xa1, ops[2].msrdata,
			  "batch: read after the first write sees it");
		check_u64(s, 0xb1, ops[4].msrdata,
			  "batch: the other CPU's read sees its own write");
		check_u64(s, 0xa2, ops[5].msrdata,
			  "batch: read after the second write sees it");
		for (int i = 0; i < s->ncpus; i++)
			cpu_wr(s->cpus[i], MSR_MC0_ADDR,
			       pattern(s->cpus[i], 2));
	}
	/* The batch ioctl belongs to the batch device only. */
	{
		int pfd = cpu_open(s->cpus[0], O_RDWR);
		struct msr_batch_array arr = {1, MSR_SAFE_VERSION_u32, &op};

		op_set(&op, s->cpus[0], MSR_MC0_ADDR, true, 0);
		rc = pfd < 0 ? pfd
			     : (ioctl(pfd, X86_IOC_MSR_BATCH, &arr) < 0 ? -errno
									: 0);
		check_rc(s, -ENOTTY, rc,
			 "batch: the ioctl on a per-CPU node is ENOTTY");
		if (pfd >= 0)
			close(pfd);
	}
	/* Absent CPUs. */
	op_set(&ops[0], s->cpus[0], MSR_MC0_ADDR, true, 0);
	op_set(&ops[1], ABSENT_CPU, MSR_MC0_ADDR, true, 0);
	op_set(&ops[2], s->max_possible + 1, MSR_MC0_ADDR, true, 0);
	op_set(&ops[3], 0xffff, MSR_MC0_ADDR, false, 0);
	rc = batch_run(ops, 4);
	check_rc(s, -ENXIO, rc, "batch: absent CPU gives ENXIO");
	check_rc(s, 0, ops[0].err, "batch: op on a present CPU still runs");
	check_rc(s, -ENXIO, ops[1].err, "batch: op on cpu %d is ENXIO",
		 ABSENT_CPU);
	check_rc(s, -ENXIO, ops[2].err,
		 "batch: op on cpu %d (one past possible) is ENXIO",
		 s->max_possible + 1);
	check_rc(s, -ENXIO, ops[3].err,
		 "batch: write op on cpu 65535 is ENXIO");

	/* Call errors. */
	op_set(&op, s->cpus[0], MSR_MC0_ADDR, true, 0);
	rc = batch_run(&op, 0);
	check_rc(s, -EINVAL, rc, "batch: numops 0 is EINVAL");
	fd = open(BATCH_DEV, O_RDWR | O_CLOEXEC);
	if (check(s, fd >= 0, "open failed", "batch: open " BATCH_DEV)) {
		struct msr_batch_array arr = {1, MSR_SAFE_VERSION_u32,
					      (struct msr_batch_op *)16};

		rc = ioctl(fd, X86_IOC_MSR_BATCH, &arr) < 0 ? -errno : 0;
		check_rc(s, -EFAULT, rc, "batch: ops pointer 0x10 is EFAULT");
		arr.ops =
		    (struct msr_batch_op *)(uintptr_t)0xffff800000000000ull;
		rc = ioctl(fd, X86_IOC_MSR_BATCH, &arr) < 0 ? -errno : 0;
		check_rc(s, -EFAULT, rc,
			 "batch: kernel-space ops pointer is EFAULT");
		rc = ioctl(fd, X86_IOC_MSR_BATCH, (void *)8) < 0 ? -errno : 0;
		check_rc(s, -EFAULT, rc, "batch: array pointer 0x8 is EFAULT");
		rc = ioctl(fd, _IOWR('c', 0xA3, struct msr_batch_array), &arr) <
			     0
			 ? -errno
			 : 0;
		check_rc(s, -ENOTTY, rc, "batch: unknown ioctl 0xA3 is ENOTTY");
		rc = ioctl(fd, _IO('c', 0xA2), 0) < 0 ? -errno : 0;
		check_rc(s, -ENOTTY, rc, "batch: _IO('c',0xA2) is ENOTTY");

		/* Versions. */
		op_set(&op, s->cpus[0], MSR_MC0_ADDR, true, 0);
		rc = batch_fd_run(fd, &op, 1, 0);
		check_rc(s, 0, rc, "batch: version 0 accepted");
		check_u64(s, pattern(s->cpus[0], 2), op.msrdata,
			  "batch: version 0 op read the value");
		op_set(&op, s->cpus[0], MSR_MC0_ADDR, true, 0);
		rc = batch_fd_run(fd, &op, 1, MSR_SAFE_VERSION_u32);
		check_rc(s, 0, rc, "batch: own version 0x%x accepted",
			 MSR_SAFE_VERSION_u32);
		op_set(&op, s->cpus[0], MSR_MC0_ADDR, true, 0);
		rc =
		    batch_fd_run(fd, &op, 1, (1u << 16) | (0xffu << 8) | 0xffu);
		check_rc(s, 0, rc,
			 "batch: version 1.255.255 (same major) accepted");
		op_set(&op, s->cpus[0], MSR_MC0_ADDR, true, 0);
		rc = batch_fd_run(fd, &op, 1, 1u << 16);
		check_rc(s, 0, rc, "batch: version 1.0.0 accepted");
		op_set(&op, s->cpus[0], MSR_MC0_ADDR, false, 0x1111);
		rc = batch_fd_run(fd, &op, 1, 2u << 16);
		check_rc(s, -ENOPROTOOPT, rc,
			 "batch: version 2.0.0 is ENOPROTOOPT");
		op_set(&op, s->cpus[0], MSR_MC0_ADDR, false, 0x2222);
		rc = batch_fd_run(fd, &op, 1, 0xdeadbeefu);
		check_rc(s, -ENOPROTOOPT, rc,
			 "batch: version 0xdeadbeef is ENOPROTOOPT");
		rc = cpu_rd(s->cpus[0], MSR_MC0_ADDR, &v);
		check_u64(s, pattern(s->cpus[0], 2), v,
			  "batch: refused versions wrote nothing");

		/* A client built with the old two-field layout. */
		check_u64(s, X86_IOC_MSR_BATCH, old_client_ioctl_number(),
			  "batch: old layout has the same ioctl number");
		for (int i = 0; i < s->ncpus; i++) {
			uint64_t val = 0, wm = 0;
			int operr = OP_SENTINEL;

			rc = old_client_op(fd, s->cpus[i], MSR_MC0_ADDR, 1,
					   &val, &wm, &operr);
			check_rc(s, 0, rc,
				 "batch: old-layout client read on cpu%d",
				 s->cpus[i]);
			check_u64(s, pattern(s->cpus[i], 2), val,
				  "batch: old-layout client got cpu%d's value",
				  s->cpus[i]);
			check_u64(s, MASK_ADDR, wm,
				  "batch: old-layout client got the wmask");
		}
		{
			uint64_t val = UINT64_C(0x0123), wm = 0;
			int operr = OP_SENTINEL;

			rc = old_client_op(fd, s->cpus[0], MSR_MC0_ADDR, 0,
					   &val, &wm, &operr);
			check_rc(s, 0, rc, "batch: old-layout client write");
			rc = cpu_rd(s->cpus[0], MSR_MC0_ADDR, &v);
			check_u64(s, 0x0123, v,
				  "batch: old-layout client write took effect");
		}
		close(fd);
	}
	fd = open(BATCH_DEV, O_WRONLY | O_CLOEXEC);
	if (check(s, fd >= 0, "open failed", "batch: open write-only")) {
		op_set(&op, s->cpus[0], MSR_MC0_ADDR, true, 0);
		rc = batch_fd_run(fd, &op, 1, MSR_SAFE_VERSION_u32);
		check_rc(s, -EBADF, rc, "batch: write-only fd is EBADF");
		check_long(s, OP_SENTINEL, op.err,
			   "batch: EBADF call ran no op");
		close(fd);
	}
	fd = open(BATCH_DEV, O_RDONLY | O_CLOEXEC);
	if (check(s, fd >= 0, "open failed", "batch: open read-only")) {
		op_set(&op, s->cpus[0], MSR_MC0_ADDR, true, 0);
		rc = batch_fd_run(fd, &op, 1, MSR_SAFE_VERSION_u32);
		check_rc(s, 0, rc, "batch: read-only fd may run a batch");
		close(fd);
	}

	/* Too many ops: max_batch_ops + 1, with memory behind every op. */
	{
		uint64_t max = 0;
		size_t nbig;
		struct msr_batch_op *big;

		rc = read_u64_file(SYS_PARAMS "/max_batch_ops", &max);
		check_rc(s, 0, rc, "batch: read max_batch_ops");
		check_u64(s, 131072, max, "batch: max_batch_ops default");
		if (max == 0 || max > (1u << 24))
			max = 131072;
		nbig = (size_t)max + 1;
		big = calloc(nbig, sizeof(*big));
		if (check(s, big != NULL, "calloc failed",
			  "batch: allocate %zu ops", nbig)) {
			for (size_t i = 0; i < nbig; i++)
				op_set(&big[i], s->cpus[0], MSR_MC0_ADDR, true,
				       0);
			rc = batch_run(big, (uint32_t)nbig);
			check_rc(s, -E2BIG, rc,
				 "batch: max_batch_ops+1 ops is E2BIG");
			check_long(s, OP_SENTINEL, big[0].err,
				   "batch: E2BIG call ran no op");
			rc = batch_run(big, UINT32_MAX);
			check_rc(s, -E2BIG, rc, "batch: 2^32-1 ops is E2BIG");
		}
		free(big);
	}
	restore_msrs(s, &sv, "batch: restore");
}

/* ---- the allowlist device ---------------------------------------------- */

/* A list text of exactly @len bytes, valid, padded with comment lines. */
static char *sized_list(size_t len)
{
	static const char body[] = "0x402 0xffffffffffffffff\n";
	char *buf = malloc(len + 1);
	size_t o;

	if (!buf)
		return NULL;
	memcpy(buf, body, sizeof(body) - 1);
	o = sizeof(body) - 1;
	while (o < len) {
		size_t line = len - o > 80 ? 80 : len - o;

		memset(buf + o, ' ', line);
		buf[o] = '#';
		buf[o + line - 1] = '\n';
		o += line;
	}
	buf[len] = '\0';
	return buf;
}

struct bad_list {
	const char *name;
	const char *text;
	int err;
};

static void t_allowlist(struct suite *s)
{
	static const size_t chunks[] = {1, 7, 29, 30, 59, 60, 4096};
	static const struct bad_list bad[] = {
	    {"address without mask at the end", "0x402 0x0\n0x403", -EILSEQ},
	    {"address without mask, newline", "0x402 0x0\n0x403\n", -EINVAL},
	    {"address without 0x", "402 0x0\n", -EINVAL},
	    {"non-hex address", "0x40g 0x0\n", -EINVAL},
	    {"word for an address", "hello 0x0\n", -EINVAL},
	    {"non-hex mask", "0x402 0xzz\n", -EINVAL},
	    {"three fields", "0x402 0x0 0x1\n", -EINVAL},
	    {"address above 32 bits", "0x100000000 0x0\n", -ERANGE},
	    {"mask above 64 bits", "0x402 0x10000000000000000\n", -ERANGE},
	    {"comments only", "# nothing here\n\n# still nothing\n", -ENOMSG},
	    {"duplicate address", "0x402 0x0\n0x403 0x0\n0x402 0xff\n",
	     -ENOTUNIQ},
	    {"duplicate after padding", "0x402 0x0\n0x00000402 0x0\n",
	     -ENOTUNIQ},
	};
	char *text = NULL, *big;
	size_t len = 0;
	uint64_t v;
	int rc;

	rc = al_install(test_list);
	check_rc(s, 0, rc, "allowlist: install the test list");
	for (size_t i = 0; i < sizeof(chunks) / sizeof(*chunks); i++) {
		rc = al_read(chunks[i], &text, &len);
		if (check_rc(s, 0, rc, "allowlist: read with %zu-byte reads",
			     chunks[i]))
			check_text(
			    s, test_list_canon, strlen(test_list_canon), text,
			    len,
			    "allowlist: %zu-byte reads give the canonical text",
			    chunks[i]);
		free(text);
		text = NULL;
	}
	/* pread at an offset continues the same text. */
	{
		int fd = open(ALLOWLIST_DEV, O_RDONLY | O_CLOEXEC);
		char buf[64] = {0};
		ssize_t r = fd < 0 ? -1 : pread(fd, buf, 30, 29);

		check_text(s, test_list_canon + 29, 30, buf,
			   r < 0 ? 0 : (size_t)r,
			   "allowlist: pread of 30 bytes at offset 29");
		if (fd >= 0)
			close(fd);
	}

	/* Every refused write leaves the previous list live. */
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		rc = al_install(bad[i].text);
		check_rc(s, bad[i].err, rc, "allowlist: %s refused",
			 bad[i].name);
		al_is(s, test_list_canon, bad[i].name);
		rc = cpu_rd(s->cpus[0], MSR_MC0_ADDR, &v);
		check_rc(s, 0, rc,
			 "allowlist: after %s, MC0_ADDR still readable",
			 bad[i].name);
	}
	big = sized_list(AL_MAX + 1);
	if (check(s, big != NULL, "malloc",
		  "allowlist: build oversized text")) {
		rc = al_install_len(big, AL_MAX + 1);
		check_rc(s, -E2BIG, rc, "allowlist: %d bytes is E2BIG",
			 AL_MAX + 1);
		al_is(s, test_list_canon, "oversized text");
		rc = al_install_len(big, AL_MAX);
		check_rc(s, 0, rc, "allowlist: exactly %d bytes accepted",
			 AL_MAX);
		al_is(s, AL_HEADER_TEXT "0x00000402 0xFFFFFFFFFFFFFFFF\n",
		      "largest text");
	}
	free(big);

	/* Forms of valid text. */
	rc = al_install("0x402 0xff");
	check_rc(s, 0, rc, "allowlist: last line without newline accepted");
	al_is(s, AL_HEADER_TEXT "0x00000402 0x00000000000000FF\n",
	      "no newline");
	rc = al_install(
	    "0x402\t0xff\r\n\r\n  0X403   0XFF00 # \"MC0_MISC\"\r\n");
	check_rc(s, 0, rc, "allowlist: tabs, CRLF, 0X and comments accepted");
	al_is(s,
	      AL_HEADER_TEXT "0x00000402 0x00000000000000FF\n"
			     "0x00000403 0x000000000000FF00\n",
	      "CRLF text");
	rc = al_install("0xC0000103 0x0\n0x10 0x0\n0x1 0x0\n");
	check_rc(s, 0, rc, "allowlist: unsorted list accepted");
	al_is(s,
	      AL_HEADER_TEXT "0x00000001 0x0000000000000000\n"
			     "0x00000010 0x0000000000000000\n"
			     "0xC0000103 0x0000000000000000\n",
	      "unsorted list");

	/* Clearing: a write of only whitespace. */
	rc = al_install(test_list);
	check_rc(s, 0, rc, "allowlist: reinstall before clearing");
	rc = al_install("\n");
	check_rc(s, 0, rc, "allowlist: echo > msr_allowlist accepted");
	al_is(s, AL_HEADER_TEXT, "cleared");
	rc = cpu_rd(s->cpus[0], MSR_MC0_ADDR, &v);
	check_rc(s, -EACCES, rc,
		 "allowlist: cleared list denies per-CPU reads");
	{
		struct msr_batch_op op;

		op_set(&op, s->cpus[0], MSR_MC0_ADDR, true, 0);
		rc = batch_run(&op, 1);
		check_rc(s, -EACCES, rc,
			 "allowlist: cleared list denies batches");
	}
	rc = al_install(test_list);
	check_rc(s, 0, rc, "allowlist: install after clearing");
	rc = al_install(" \t\r\n\n ");
	check_rc(s, 0, rc, "allowlist: whitespace-only write clears");
	al_is(s, AL_HEADER_TEXT, "cleared by whitespace");

	/* A bigger list, so the reader crosses page boundaries. */
	{
		size_t nent = 3000, cap = nent * 32 + 1, o = 0;
		char *t = malloc(cap);
		struct ref_list rl = {0};
		char *canon;
		size_t clen;

		if (!check(s, t != NULL, "malloc",
			   "allowlist: build 3000 entries"))
			return;
		for (size_t i = 0; i < nent; i++)
			o += (size_t)snprintf(t + o, cap - o, "0x%zx 0x%zx\n",
					      (nent - i) * 7 + 0x10000, i);
		rc = ref_parse(t, o, &rl, false);
		canon = ref_render(&rl, &clen);
		rc = al_install_len(t, o);
		check_rc(s, 0, rc, "allowlist: 3000 entries accepted");
		for (size_t i = 0; i < 3; i++) {
			size_t ch = i == 0 ? 29 : i == 1 ? 4096 : 65536;

			rc = al_read(ch, &text, &len);
			if (check_rc(s, 0, rc, "allowlist: read 3000 entries"))
				check_text(
				    s, canon, clen, text, len,
				    "allowlist: 3000 entries in %zu-byte reads",
				    ch);
			free(text);
			text = NULL;
		}
		free(canon);
		free(rl.e);
		free(t);
	}
	rc = al_install(test_list);
	check_rc(s, 0, rc, "allowlist: test list back");
}

/* ---- counters, re-check, hotplug, faults ------------------------------ */

static const char *const counter_names[] = {"denied_not_allowlisted",
					    "denied_read_only",
					    "denied_offline_cpu", "faults"};
#define NCOUNTERS 4

static bool counters_read(struct suite *s, uint64_t *c, const char *what)
{
	for (int i = 0; i < NCOUNTERS; i++) {
		int rc = counter(counter_names[i], &c[i]);

		if (rc) {
			check_rc(s, 0, rc, "%s: read %s/%s", what, SYS_COUNTERS,
				 counter_names[i]);
			return false;
		}
	}
	return true;
}

static void counters_expect(struct suite *s, const uint64_t *before,
			    const uint64_t *delta, const char *what)
{
	uint64_t after[NCOUNTERS];

	if (!counters_read(s, after, what))
		return;
	for (int i = 0; i < NCOUNTERS; i++)
		check_u64(s, delta[i], after[i] - before[i],
			  "%s: %s grew by exactly the denied ops", what,
			  counter_names[i]);
}

static void t_counters(struct suite *s)
{
	struct msr_batch_op ops[8];
	uint64_t c0[NCOUNTERS], v;
	int rc;

	for (int i = 0; i < NCOUNTERS; i++) {
		char path[128];
		struct stat st;

		snprintf(path, sizeof(path), SYS_COUNTERS "/%s",
			 counter_names[i]);
		rc = stat(path, &st) < 0 ? -errno : 0;
		if (check_rc(s, 0, rc, "counters: %s exists", path))
			check_long(s, 0, st.st_mode & 0222,
				   "counters: %s is read-only",
				   counter_names[i]);
	}
	rc = al_install(test_list);
	check_rc(s, 0, rc, "counters: install the test list");
	if (!counters_read(s, c0, "counters"))
		return;
	/* per-CPU: 3 unlisted reads, 1 unlisted write, 2 read-only writes */
	for (int i = 0; i < 3; i++)
		cpu_rd(s->cpus[0], MSR_UNLISTED + (uint32_t)i, &v);
	cpu_wr(s->cpus[0], MSR_UNLISTED, 0);
	cpu_wr(s->cpus[0], MSR_MCG_CAP, 0);
	cpu_wr(s->cpus[s->ncpus - 1], MSR_APIC_BASE, 0);
	/* allowed ops count nothing */
	cpu_rd(s->cpus[0], MSR_MC0_ADDR, &v);
	counters_expect(s, c0, (uint64_t[]){4, 2, 0, 0}, "counters per-CPU");

	if (!counters_read(s, c0, "counters"))
		return;
	op_set(&ops[0], s->cpus[0], MSR_UNLISTED, true, 0);
	op_set(&ops[1], s->cpus[0], MSR_MC0_ADDR, true, 0);
	op_set(&ops[2], s->cpus[s->ncpus - 1], 0x10, true, 0);
	op_set(&ops[3], s->cpus[0], MSR_MCG_CAP, false, 0);
	op_set(&ops[4], s->cpus[0], 0x12345678, false, 0);
	op_set(&ops[5], s->cpus[s->ncpus - 1], MSR_APIC_BASE, false, 0);
	op_set(&ops[6], s->cpus[0], MSR_MC0_MISC, true, 0);
	rc = batch_run(ops, 7);
	check_rc(s, -EACCES, rc, "counters: mixed batch returns EACCES");
	counters_expect(s, c0, (uint64_t[]){3, 2, 0, 0}, "counters batch");
	/* An op on a CPU that does not exist is an offline-CPU denial. */
	if (!counters_read(s, c0, "counters"))
		return;
	op_set(&ops[0], ABSENT_CPU, MSR_MC0_ADDR, true, 0);
	rc = batch_run(ops, 1);
	check_rc(s, -ENXIO, rc, "counters: absent CPU batch is ENXIO");
	{
		uint64_t c1[NCOUNTERS];

		if (counters_read(s, c1, "counters"))
			check_u64(s, 1, c1[2] - c0[2],
				  "counters: an absent CPU counts as offline");
	}
}

/* Results the unprivileged child of t_recheck sends its parent. */
struct recheck_result {
	int percpu_before, batch_before;
	int percpu_chmod, batch_chmod;
	int percpu_chgrp, batch_chgrp;
	int percpu_after, batch_after;
};

static int drop_privileges(gid_t gid)
{
	if (setgroups(1, &gid) ||
	    setresgid(UNPRIV_UID, UNPRIV_UID, UNPRIV_UID) ||
	    setresuid(UNPRIV_UID, UNPRIV_UID, UNPRIV_UID))
		return -errno;
	return 0;
}

static int batch_fd_read1(int fd, int cpu, uint32_t msr)
{
	struct msr_batch_op op;

	op_set(&op, cpu, msr, true, 0);
	return batch_fd_run(fd, &op, 1, MSR_SAFE_VERSION_u32);
}

/* The child: open as the trusted user, then try again at each step. */
static void recheck_child(int cpu, gid_t gid, int to_parent, int from_parent)
{
	struct recheck_result r;
	uint64_t v;
	int pfd, bfd,
	    *slots[3][2] = {{&r.percpu_chmod, &r.batch_chmod},
			    {&r.percpu_chgrp, &r.batch_chgrp},
			    {&r.percpu_after, &r.batch_after}};
	char go;

	memset(&r, 0x7f, sizeof(r));
	if (drop_privileges(gid))
		_exit(2);
	pfd = cpu_open(cpu, O_RDWR);
	bfd = open(BATCH_DEV, O_RDWR | O_CLOEXEC);
	r.percpu_before = pfd < 0 ? pfd : fd_rd(pfd, MSR_MC0_ADDR, &v);
	r.batch_before =
	    bfd < 0 ? -errno : batch_fd_read1(bfd, cpu, MSR_MC0_ADDR);
	for (int step = 0; step < 3; step++) {
		if (write(to_parent, "r", 1) != 1 ||
		    read(from_parent, &go, 1) != 1)
			_exit(3);
		*slots[step][0] = pfd < 0 ? pfd : fd_rd(pfd, MSR_MC0_ADDR, &v);
		*slots[step][1] =
		    bfd < 0 ? bfd : batch_fd_read1(bfd, cpu, MSR_MC0_ADDR);
	}
	if (write(to_parent, &r, sizeof(r)) != (ssize_t)sizeof(r))
		_exit(4);
	_exit(0);
}

static int wait_child(int to_child, int from_child)
{
	char c;

	if (read(from_child, &c, 1) != 1)
		return -EPIPE;
	(void)to_child;
	return 0;
}

static void t_recheck(struct suite *s, bool recheck)
{
	int cpu = s->cpus[0], up[2], down[2], status = 0, rootfd, rc;
	char path[64], what[64];
	struct recheck_result r;
	uint64_t v;
	pid_t pid;

	snprintf(what, sizeof(what), "recheck_access=%d", recheck);
	rc = set_param("recheck_access", recheck ? "1\n" : "0\n");
	check_rc(s, 0, rc, "%s: set the parameter", what);
	rc = al_install(test_list);
	check_rc(s, 0, rc, "%s: install the test list", what);
	rc = udev_apply(s);
	check_rc(s, 0, rc, "%s: udev modes", what);
	cpu_path(cpu, path, sizeof(path));
	if (pipe(up) || pipe(down)) {
		check(s, false, strerror(errno), "%s: pipes", what);
		return;
	}
	pid = fork();
	if (pid == 0) {
		close(up[0]);
		close(down[1]);
		recheck_child(cpu, s->gid, up[1], down[0]);
	}
	close(up[1]);
	close(down[0]);
	rootfd = cpu_open(cpu, O_RDWR);
	/* step 1: chmod 0600 */
	rc = wait_child(down[1], up[0]);
	chmod(path, 0600);
	chmod(BATCH_DEV, 0600);
	if (write(down[1], "g", 1) != 1)
		rc = -EPIPE;
	/* step 2: back to 0660 but the group taken away */
	rc = rc ? rc : wait_child(down[1], up[0]);
	chmod(path, 0660);
	chmod(BATCH_DEV, 0660);
	chown(path, 0, 0);
	chown(BATCH_DEV, 0, 0);
	rc = rc ? rc : (fd_rd(rootfd, MSR_MC0_ADDR, &v) ? -EIO : 0);
	if (write(down[1], "g", 1) != 1)
		rc = -EPIPE;
	/* step 3: as udev set it */
	rc = rc ? rc : wait_child(down[1], up[0]);
	udev_apply(s);
	if (write(down[1], "g", 1) != 1)
		rc = -EPIPE;
	if (!rc && read(up[0], &r, sizeof(r)) != (ssize_t)sizeof(r))
		rc = -EPIPE;
	waitpid(pid, &status, 0);
	close(up[0]);
	close(down[1]);
	check_rc(s, 0, rc, "%s: child ran all steps (status %d)", what, status);
	if (rc)
		return;
	check_rc(s, 0, r.percpu_before, "%s: group member reads per-CPU", what);
	check_rc(s, 0, r.batch_before, "%s: group member runs a batch", what);
	check_rc(s, recheck ? -EACCES : 0, r.percpu_chmod,
		 "%s: already-open per-CPU fd after chmod 0600", what);
	check_rc(s, recheck ? -EACCES : 0, r.batch_chmod,
		 "%s: already-open batch fd after chmod 0600", what);
	check_rc(s, recheck ? -EACCES : 0, r.percpu_chgrp,
		 "%s: already-open per-CPU fd after chgrp root", what);
	check_rc(s, recheck ? -EACCES : 0, r.batch_chgrp,
		 "%s: already-open batch fd after chgrp root", what);
	check_rc(s, 0, r.percpu_after, "%s: per-CPU fd works again", what);
	check_rc(s, 0, r.batch_after, "%s: batch fd works again", what);
	if (rootfd >= 0) {
		chmod(path, 0600);
		rc = fd_rd(rootfd, MSR_MC0_ADDR, &v);
		check_rc(s, 0, rc,
			 "%s: root's open fd keeps access after chmod 0600",
			 what);
		udev_apply(s);
		close(rootfd);
	}
	rc = set_param("recheck_access", "1\n");
	check_rc(s, 0, rc, "%s: parameter back to 1", what);
}

static void t_hotplug(struct suite *s)
{
	struct msr_batch_op ops[2];
	uint64_t c0[NCOUNTERS], v;
	char path[64];
	int rc;

	if (!check(s, s->ncpus >= 2, "only one CPU",
		   "hotplug: more than one CPU"))
		return;
	rc = al_install(test_list);
	check_rc(s, 0, rc, "hotplug: install the test list");
	for (int i = 1; i < s->ncpus; i++) {
		int cpu = s->cpus[i], fd = cpu_open(cpu, O_RDWR);

		cpu_path(cpu, path, sizeof(path));
		check(s, fd >= 0, "open failed", "hotplug cpu%d: open %s", cpu,
		      path);
		counters_read(s, c0, "hotplug");
		rc = set_cpu_online(cpu, false);
		if (!check_rc(s, 0, rc, "hotplug cpu%d: offline", cpu)) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		check_rc(s, -ENOENT, path_exists(path) ? 0 : -ENOENT,
			 "hotplug cpu%d: %s disappears", cpu, path);
		rc = cpu_open(cpu, O_RDONLY);
		check_rc(s, -ENOENT, rc < 0 ? rc : 0,
			 "hotplug cpu%d: open while offline", cpu);
		if (rc >= 0)
			close(rc);
		op_set(&ops[0], cpu, MSR_MC0_ADDR, true, 0);
		op_set(&ops[1], cpu, MSR_MC0_ADDR, false, 1);
		rc = batch_run(ops, 2);
		check_rc(s, -ENXIO, rc, "hotplug cpu%d: batch while offline",
			 cpu);
		check_rc(s, -ENXIO, ops[0].err,
			 "hotplug cpu%d: read op while offline", cpu);
		check_rc(s, -ENXIO, ops[1].err,
			 "hotplug cpu%d: write op while offline", cpu);
		if (fd >= 0) {
			rc = fd_rd(fd, MSR_MC0_ADDR, &v);
			check_rc(s, -ENXIO, rc,
				 "hotplug cpu%d: read on an fd opened before "
				 "offline",
				 cpu);
		}
		counters_expect(s, c0, (uint64_t[]){0, 0, fd >= 0 ? 3 : 2, 0},
				"hotplug offline");
		rc = set_cpu_online(cpu, true);
		check_rc(s, 0, rc, "hotplug cpu%d: online", cpu);
		check(s, path_exists(path), "node missing",
		      "hotplug cpu%d: %s reappears", cpu, path);
		check_rc(s, 0, udev_apply(s), "hotplug cpu%d: udev modes", cpu);
		rc = cpu_rd(cpu, MSR_MC0_ADDR, &v);
		check_rc(s, 0, rc, "hotplug cpu%d: per-CPU read after online",
			 cpu);
		op_set(&ops[0], cpu, MSR_MC0_ADDR, true, 0);
		rc = batch_run(ops, 1);
		check_rc(s, 0, rc, "hotplug cpu%d: batch after online", cpu);
		if (fd >= 0) {
			rc = fd_rd(fd, MSR_MC0_ADDR, &v);
			check_rc(s, 0, rc,
				 "hotplug cpu%d: old fd works after online",
				 cpu);
			close(fd);
		}
	}
	/* Quick cycles: the nodes follow every transition. */
	{
		int cpu = s->cpus[s->ncpus - 1], bad = 0;

		cpu_path(cpu, path, sizeof(path));
		for (int i = 0; i < 10; i++) {
			if (set_cpu_online(cpu, false) || path_exists(path))
				bad++;
			if (set_cpu_online(cpu, true) || !path_exists(path))
				bad++;
		}
		check_long(s, 0, bad, "hotplug cpu%d: 10 quick off/on cycles",
			   cpu);
		udev_apply(s);
	}
	/* A CPU that is offline when the module loads gets its node later. */
	{
		int cpu = s->cpus[s->ncpus - 1];
		struct msr_batch_op op;

		cpu_path(cpu, path, sizeof(path));
		rc = set_cpu_online(cpu, false);
		check_rc(s, 0, rc, "hotplug cpu%d: offline before insmod", cpu);
		if (!reload(s, "", "hotplug: reload with a CPU offline"))
			return;
		check(s, !path_exists(path), "node exists",
		      "hotplug cpu%d: no node when offline at load", cpu);
		rc = al_install(test_list);
		op_set(&op, cpu, MSR_MC0_ADDR, true, 0);
		rc = rc ? rc : batch_run(&op, 1);
		check_rc(s, -ENXIO, rc,
			 "hotplug cpu%d: batch ENXIO when offline at load",
			 cpu);
		rc = set_cpu_online(cpu, true);
		check_rc(s, 0, rc, "hotplug cpu%d: online after insmod", cpu);
		check(s, path_exists(path), "no node",
		      "hotplug cpu%d: node appears when it comes online", cpu);
		check_rc(s, 0, udev_apply(s), "hotplug cpu%d: udev modes", cpu);
		rc = cpu_rd(cpu, MSR_MC0_ADDR, &v);
		check_rc(s, 0, rc,
			 "hotplug cpu%d: per-CPU read after late online", cpu);
	}
}

static void t_faults(struct suite *s)
{
	struct msr_batch_op ops[3];
	uint64_t c0[NCOUNTERS], v;
	int rc, fd;

	rc = al_install(test_list);
	check_rc(s, 0, rc, "faults: install the test list");
	counters_read(s, c0, "faults");
	rc = set_param("inject_eio_msr", "1026\n");
	check_rc(s, 0, rc, "faults: inject_eio_msr=0x402");
	fd = cpu_open(s->cpus[0], O_RDWR);
	rc = fd < 0 ? fd : fd_rd(fd, MSR_MC0_ADDR, &v);
	check_rc(s, -EIO, rc, "faults: per-CPU read of 0x402 is EIO");
	rc = fd < 0 ? fd : fd_wr(fd, MSR_MC0_ADDR, 5);
	check_rc(s, -EIO, rc, "faults: per-CPU write of 0x402 is EIO");
	rc = fd < 0 ? fd : fd_rd(fd, MSR_MC0_MISC, &v);
	check_rc(s, 0, rc, "faults: per-CPU read of 0x403 unaffected");
	op_set(&ops[0], s->cpus[0], MSR_MC0_MISC, true, 0);
	op_set(&ops[1], s->cpus[s->ncpus - 1], MSR_MC0_ADDR, true, 0);
	op_set(&ops[2], s->cpus[0], MSR_MC0_ADDR, false, 7);
	rc = batch_run(ops, 3);
	check_rc(s, -EIO, rc, "faults: batch returns EIO");
	check_rc(s, 0, ops[0].err, "faults: batch op on 0x403 succeeds");
	check_rc(s, -EIO, ops[1].err, "faults: batch read of 0x402 is EIO");
	check_rc(s, -EIO, ops[2].err, "faults: batch write of 0x402 is EIO");
	counters_expect(s, c0, (uint64_t[]){0, 0, 0, 4}, "faults");

	rc = set_param("inject_eio_writes_only", "1\n");
	check_rc(s, 0, rc, "faults: inject_eio_writes_only=1");
	rc = fd < 0 ? fd : fd_rd(fd, MSR_MC0_ADDR, &v);
	check_rc(s, 0, rc, "faults: writes-only: per-CPU read works");
	rc = fd < 0 ? fd : fd_wr(fd, MSR_MC0_ADDR, v);
	check_rc(s, -EIO, rc, "faults: writes-only: per-CPU write is EIO");
	op_set(&ops[0], s->cpus[0], MSR_MC0_ADDR, true, 0);
	op_set(&ops[1], s->cpus[0], MSR_MC0_ADDR, false, 9);
	rc = batch_run(ops, 2);
	check_rc(s, -EIO, rc, "faults: writes-only: batch returns EIO");
	check_rc(s, 0, ops[0].err, "faults: writes-only: batch read works");
	check_rc(s, -EIO, ops[1].err,
		 "faults: writes-only: batch write is EIO");
	rc = set_param("inject_eio_writes_only", "0\n");
	rc = rc ? rc : set_param("inject_eio_msr", "0\n");
	check_rc(s, 0, rc, "faults: injection off");
	rc = fd < 0 ? fd : fd_wr(fd, MSR_MC0_ADDR, 11);
	rc = rc ? rc : fd_rd(fd, MSR_MC0_ADDR, &v);
	check_rc(s, 0, rc, "faults: 0x402 works again");
	check_u64(s, 11, v, "faults: 0x402 written after injection off");
	if (fd >= 0)
		close(fd);
}

/* ---- loading: parameters, majors, cycles ------------------------------- */

/* Lines of /proc/devices whose name mentions msr. */
static int proc_devices_msr(char *out, size_t cap, int *count)
{
	char *text, *line, *save = NULL;
	size_t len, o = 0;
	int rc = read_file("/proc/devices", &text, &len);

	*count = 0;
	out[0] = '\0';
	if (rc)
		return rc;
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!strstr(line, "msr"))
			continue;
		(*count)++;
		while (*line == ' ')
			line++;
		o += (size_t)snprintf(out + o, cap > o ? cap - o : 0, "%s;",
				      line);
	}
	free(text);
	return 0;
}

static bool major_free(int major)
{
	char *text;
	size_t len;
	bool free_major = true;
	char *p;

	if (read_file("/proc/devices", &text, &len))
		return false;
	/* Only the character device section matters. */
	p = strstr(text, "Block devices:");
	if (p)
		*p = '\0';
	for (p = strtok(text, "\n"); p; p = strtok(NULL, "\n"))
		if (atoi(p) == major)
			free_major = false;
	free(text);
	return free_major;
}

static int node_major(const char *path)
{
	struct stat st;

	if (stat(path, &st))
		return -errno;
	return (int)major(st.st_rdev);
}

static void t_majors(struct suite *s)
{
	static const int candidates[] = {60,  61,  62,	63,  120, 121,
					 122, 123, 124, 125, 126, 127};
	int majors[4], nm = 0, count, rc;
	char params[256], list[512], path[64];

	for (size_t i = 0;
	     i < sizeof(candidates) / sizeof(*candidates) && nm < 4; i++)
		if (major_free(candidates[i]))
			majors[nm++] = candidates[i];
	if (!check_long(s, 4, nm, "majors: four free local majors"))
		return;
	snprintf(params, sizeof(params),
		 "mdev_msr_safe=%d mdev_msr_allowlist=%d mdev_msr_batch=%d "
		 "mdev_msr_version=%d",
		 majors[0], majors[1], majors[2], majors[3]);
	if (!reload(s, params, "majors"))
		return;
	cpu_path(s->cpus[0], path, sizeof(path));
	check_long(s, majors[0], node_major(path), "majors: %s major", path);
	check_long(s, majors[1], node_major(ALLOWLIST_DEV),
		   "majors: " ALLOWLIST_DEV " major");
	check_long(s, majors[2], node_major(BATCH_DEV),
		   "majors: " BATCH_DEV " major");
	check_long(s, majors[3], node_major(VERSION_DEV),
		   "majors: " VERSION_DEV " major");
	rc = proc_devices_msr(list, sizeof(list), &count);
	check_rc(s, 0, rc, "majors: read /proc/devices");
	for (int i = 0; i < 4; i++) {
		char want[16];

		/* list is "N name;N name;..." */
		snprintf(want, sizeof(want), ";%d ", majors[i]);
		check(s,
		      strncmp(list, want + 1, strlen(want + 1)) == 0 ||
			  strstr(list, want) != NULL,
		      list, "majors: /proc/devices lists major %d", majors[i]);
	}
	check_long(s, 4, count, "majors: four msr entries in /proc/devices");
	t_version(s);

	/* A taken major: loading fails and leaves nothing behind. */
	rc = mod_unload();
	check_rc(s, 0, rc, "majors: rmmod");
	rc = mod_load(s, "mdev_msr_batch=4"); /* the tty major */
	check_rc2(s, -EBUSY, -EINVAL, rc,
		  "majors: insmod with a taken major fails");
	check(s, !mod_loaded(), "still loaded",
	      "majors: failed insmod leaves no module");
	rc = proc_devices_msr(list, sizeof(list), &count);
	check_long(s, 0, count, "majors: failed insmod leaves no major (%s)",
		   list);
	check(s,
	      !path_exists(ALLOWLIST_DEV) && !path_exists(BATCH_DEV) &&
		  !path_exists(VERSION_DEV) && !path_exists(path),
	      "nodes left", "majors: failed insmod leaves no device node");
	check(s, !path_exists(SYS_COUNTERS), "dir left",
	      "majors: failed insmod leaves no " SYS_COUNTERS);
	reload(s, "", "majors: dynamic again");
}

static void t_max_batch(struct suite *s)
{
	struct msr_batch_op ops[9];
	int rc;

	if (!reload(s, "max_batch_ops=8", "max_batch_ops=8"))
		return;
	rc = al_install(test_list);
	check_rc(s, 0, rc, "max_batch_ops=8: install the test list");
	for (int i = 0; i < 9; i++)
		op_set(&ops[i], s->cpus[i % s->ncpus], MSR_MC0_ADDR, true, 0);
	rc = batch_run(ops, 8);
	check_rc(s, 0, rc, "max_batch_ops=8: 8 ops run");
	check_long(s, 0, count_bad_ops(ops, 8, 0), "max_batch_ops=8: 8 ops ok");
	rc = batch_run(ops, 9);
	check_rc(s, -E2BIG, rc, "max_batch_ops=8: 9 ops is E2BIG");
	reload(s, "", "max_batch_ops default");
}

/* Unreclaimable slab plus vmalloc, in KiB. */
static long kernel_mem_kib(void)
{
	char *text, *p;
	size_t len;
	long total = 0;

	if (read_file("/proc/meminfo", &text, &len))
		return -1;
	p = strstr(text, "SUnreclaim:");
	if (p)
		total += atol(p + strlen("SUnreclaim:"));
	p = strstr(text, "VmallocUsed:");
	if (p)
		total += atol(p + strlen("VmallocUsed:"));
	free(text);
	return total;
}

static void t_cycles(struct suite *s)
{
	int bad_load = 0, bad_unload = 0, bad_use = 0, busy_rc = 0, rc, fd;
	char list[512];
	int count;

	for (int i = 0; i < 12; i++) {
		struct msr_batch_op op;
		char *text = NULL;
		size_t len;

		if (mod_loaded() && mod_unload())
			bad_unload++;
		if (mod_load(s, "")) {
			bad_load++;
			continue;
		}
		if (al_read(4096, &text, &len) || len != strlen(AL_HEADER_TEXT))
			bad_use++;
		free(text);
		if (al_install(test_list))
			bad_use++;
		op_set(&op, s->cpus[i % s->ncpus], MSR_MC0_ADDR, true, 0);
		if (batch_run(&op, 1))
			bad_use++;
		/* With an fd open, the module must refuse to go. */
		if (i == 5) {
			fd = open(BATCH_DEV, O_RDWR | O_CLOEXEC);
			busy_rc = mod_unload();
			if (fd >= 0)
				close(fd);
		}
	}
	check_long(s, 0, bad_load, "cycles: 12 insmods succeed");
	check_long(s, 0, bad_unload, "cycles: 11 rmmods succeed");
	check_long(s, 0, bad_use,
		   "cycles: each load starts empty, installs, runs a batch");
	check_rc2(s, -EAGAIN, -EBUSY, busy_rc,
		  "cycles: rmmod refused while a device is open");
	rc = mod_unload();
	check_rc(s, 0, rc, "cycles: final rmmod");
	check(s, !path_exists(BATCH_DEV) && !path_exists(ALLOWLIST_DEV),
	      "nodes left", "cycles: rmmod removes the nodes");
	check(s, !path_exists(SYS_COUNTERS), "dir left",
	      "cycles: rmmod removes " SYS_COUNTERS);
	check(s, !path_exists("/sys/class/msr_safe"), "class left",
	      "cycles: rmmod removes the class");
	rc = proc_devices_msr(list, sizeof(list), &count);
	check_long(s, 0, count, "cycles: rmmod frees the majors (%s)", list);
	reload(s, "", "cycles: load again");
}

/*
 * Leaks: kmemleak is not in Debian's kernel, so measure instead.  Each
 * round allocates visibly (3000-entry lists, 2000-op batches); a leak of
 * one object per operation grows unreclaimable memory by megabytes.
 */
static void t_leaks(struct suite *s)
{
	size_t nent = 3000, cap = nent * 32 + 1, o = 0;
	char *big = malloc(cap);
	struct msr_batch_op *ops = calloc(2000, sizeof(*ops));
	long before, after;
	double t0;
	int bad = 0;

	if (!check(s, big && ops, "malloc", "leaks: buffers")) {
		free(big);
		free(ops);
		return;
	}
	for (size_t i = 0; i < nent; i++)
		o += (size_t)snprintf(big + o, cap - o, "0x%zx 0x%zx\n",
				      0x20000 + i * 3, i);
	/* Warm up caches first so they do not count as growth. */
	for (int r = 0; r < 2; r++) {
		al_install_len(big, o);
		al_install(test_list);
	}
	before = kernel_mem_kib();
	for (int r = 0; r < 150; r++) {
		char *text = NULL;
		size_t len;
		int fd;

		if (al_install_len(big, o))
			bad++;
		if (al_read(4096, &text, &len))
			bad++;
		free(text);
		if (al_install("0x402 0x0\n0x402 0x1\n") != -ENOTUNIQ)
			bad++;
		if (al_install(test_list))
			bad++;
		for (int i = 0; i < 2000; i++)
			op_set(&ops[i], s->cpus[i % s->ncpus],
			       i % 2 ? MSR_MC0_ADDR : MSR_UNLISTED, true, 0);
		if (batch_run(ops, 2000) != -EACCES)
			bad++;
		fd = cpu_open(s->cpus[r % s->ncpus], O_RDONLY);
		if (fd >= 0)
			close(fd);
	}
	/* Old lists are freed after an RCU grace period: give them time. */
	t0 = now_s();
	do {
		struct timespec pause = {0, 250 * 1000 * 1000};

		nanosleep(&pause, NULL);
		after = kernel_mem_kib();
	} while (after - before >= 2048 && now_s() - t0 < 15);
	check_long(s, 0, bad, "leaks: 150 rounds of list swaps and batches");
	check(
	    s, before > 0 && after - before < 2048,
	    "unreclaimable kernel memory grew too much",
	    "leaks: SUnreclaim+VmallocUsed grew %ld KiB (< 2048) after %.1f s",
	    after - before, now_s() - t0);
	free(big);
	free(ops);
}

/* ---- stress: list swaps (and hotplug) under running batches ------------ */

struct worker_report {
	long rounds, ops, bad;
	char first_bad[200];
};

static bool err_allowed(int err, bool hotplug)
{
	return err == 0 || err == -EACCES || (hotplug && err == -ENXIO);
}

static void worker_bad(struct worker_report *w, const char *fmt, ...)
{
	va_list ap;

	if (w->bad++ == 0) {
		va_start(ap, fmt);
		vsnprintf(w->first_bad, sizeof(w->first_bad), fmt, ap);
		va_end(ap);
	}
}

static void batch_worker(const struct suite *s, int id, double until,
			 bool hotplug, struct worker_report *w)
{
	struct msr_batch_op ops[3 * MAX_CPUS];
	int fd = open(BATCH_DEV, O_RDWR | O_CLOEXEC);
	char b[32];

	if (fd < 0) {
		worker_bad(w, "open " BATCH_DEV ": %s", strerror(errno));
		return;
	}
	while (now_s() < until) {
		size_t n = 0;
		int rc;

		for (int i = 0; i < s->ncpus; i++) {
			int c = s->cpus[(i + id) % s->ncpus];

			op_set(&ops[n++], c, MSR_MC0_ADDR, true, READ_SENTINEL);
			op_set(&ops[n++], c, MSR_MC0_MISC, true, READ_SENTINEL);
			op_set(&ops[n++], c, MSR_MC0_MISC, false,
			       (uint64_t)w->rounds << 16);
		}
		rc = batch_fd_run(fd, ops, (uint32_t)n, MSR_SAFE_VERSION_u32);
		if (!err_allowed(rc, hotplug))
			worker_bad(w, "batch returned %s", errname(rc, b, 32));
		for (size_t i = 0; i < n; i++) {
			if (ops[i].err == OP_SENTINEL)
				worker_bad(
				    w,
				    "op %zu (cpu %d msr 0x%x) left untouched",
				    i, ops[i].cpu, ops[i].msr);
			else if (!err_allowed(ops[i].err, hotplug))
				worker_bad(w, "op %zu (cpu %d msr 0x%x) err %s",
					   i, ops[i].cpu, ops[i].msr,
					   errname(ops[i].err, b, 32));
			if (ops[i].err == 0 && ops[i].isrdmsr &&
			    ops[i].msrdata == READ_SENTINEL)
				worker_bad(w,
					   "read op %zu (cpu %d msr 0x%x) "
					   "reported success but read nothing",
					   i, ops[i].cpu, ops[i].msr);
			if (rc == 0 && ops[i].err != 0)
				worker_bad(
				    w, "batch returned 0 with op %zu err %d", i,
				    ops[i].err);
		}
		w->rounds++;
		w->ops += (long)n;
	}
	close(fd);
}

static void percpu_worker(const struct suite *s, double until, bool hotplug,
			  struct worker_report *w)
{
	char b[32];

	while (now_s() < until) {
		for (int i = 0; i < s->ncpus; i++) {
			uint64_t v;
			int rc = cpu_rd(s->cpus[i], MSR_MC0_ADDR, &v);

			/* Opening an offline CPU's node finds no node. */
			if (!err_allowed(rc, hotplug) &&
			    !(hotplug && rc == -ENOENT))
				worker_bad(w, "per-CPU read cpu%d: %s",
					   s->cpus[i], errname(rc, b, 32));
			w->ops++;
		}
		w->rounds++;
	}
}

static void reader_worker(double until, const char *const *canon, int ncanon,
			  struct worker_report *w)
{
	while (now_s() < until) {
		char *text = NULL;
		size_t len = 0;
		int rc = al_read(29, &text, &len), match = 0;

		if (rc) {
			worker_bad(w, "allowlist read: %d", rc);
		} else {
			for (int i = 0; i < ncanon; i++)
				if (len == strlen(canon[i]) &&
				    memcmp(text, canon[i], len) == 0)
					match = 1;
			if (!match) {
				char q[120];

				quote(text, len < 100 ? len : 100, q,
				      sizeof(q));
				worker_bad(
				    w, "a 29-byte-chunk read mixed lists: %s",
				    q);
			}
		}
		free(text);
		w->rounds++;
	}
}

/* Takes @cpu offline and back every 50 ms; ends with it online. */
static void toggle_worker(int cpu, double until, struct worker_report *w)
{
	struct timespec pause = {0, 50 * 1000 * 1000};
	char b[32];

	while (now_s() < until) {
		int rc = set_cpu_online(cpu, w->rounds % 2 == 1);

		if (rc)
			worker_bad(w, "cpu%d %s: %s", cpu,
				   w->rounds % 2 ? "online" : "offline",
				   errname(rc, b, 32));
		w->rounds++;
		nanosleep(&pause, NULL);
	}
	if (w->rounds % 2 == 1 && set_cpu_online(cpu, true))
		worker_bad(w, "cpu%d could not come back online", cpu);
}

static void t_stress(struct suite *s, bool hotplug, double seconds)
{
	static const char list_b[] = "0x403 0xffff0000\n0x179 0x0\n";
	static const char canon_b[] =
	    AL_HEADER_TEXT "0x00000179 0x0000000000000000\n"
			   "0x00000403 0x00000000FFFF0000\n";
	const char *const canon[] = {test_list_canon, canon_b, AL_HEADER_TEXT};
	const char *kinds[MAX_CPUS + 3];
	int nworkers = s->ncpus + 2 + hotplug, pipes[MAX_CPUS + 3][2], rc;
	pid_t pids[MAX_CPUS + 3];
	struct saved_msrs sv;
	long swaps = 0, swap_bad = 0;
	double until;
	char what[32];
	int hp_cpu = s->cpus[s->ncpus - 1];

	snprintf(what, sizeof(what), "stress%s", hotplug ? "+hotplug" : "");
	if (hotplug &&
	    !check(s, s->ncpus >= 2, "one CPU", "%s: more than one CPU", what))
		return;
	if (!save_msrs(s, &sv))
		return;
	rc = al_install(test_list);
	check_rc(s, 0, rc, "%s: install the test list", what);
	until = now_s() + seconds;
	for (int k = 0; k < nworkers; k++) {
		kinds[k] = k < s->ncpus	       ? "batch"
			   : k == s->ncpus     ? "per-CPU"
			   : k == s->ncpus + 1 ? "list reader"
					       : "hotplug toggler";
		if (pipe(pipes[k])) {
			check(s, false, strerror(errno), "%s: pipe", what);
			return;
		}
		pids[k] = fork();
		if (pids[k] == 0) {
			struct worker_report w;

			memset(&w, 0, sizeof(w));
			close(pipes[k][0]);
			if (k < s->ncpus)
				batch_worker(s, k, until, hotplug, &w);
			else if (k == s->ncpus)
				percpu_worker(s, until, hotplug, &w);
			else if (k == s->ncpus + 1)
				reader_worker(until, canon, 3, &w);
			else
				toggle_worker(hp_cpu, until, &w);
			if (write(pipes[k][1], &w, sizeof(w)) != sizeof(w))
				_exit(1);
			_exit(0);
		}
		close(pipes[k][1]);
	}
	while (now_s() < until) {
		const char *next = swaps % 3 == 0   ? list_b
				   : swaps % 3 == 1 ? "\n"
						    : test_list;

		if (al_install(next))
			swap_bad++;
		swaps++;
	}
	for (int k = 0; k < nworkers; k++) {
		struct worker_report w;
		int status = 0;
		ssize_t r = read(pipes[k][0], &w, sizeof(w));

		waitpid(pids[k], &status, 0);
		close(pipes[k][0]);
		if (!check(s,
			   r == sizeof(w) && WIFEXITED(status) &&
			       WEXITSTATUS(status) == 0,
			   "worker died", "%s: %s worker %d finished", what,
			   kinds[k], k))
			continue;
		check(s, w.rounds >= 3, "made no progress",
		      "%s: %s worker %d made progress (%ld rounds, %ld ops)",
		      what, kinds[k], k, w.rounds, w.ops);
		check(s, w.bad == 0, w.first_bad,
		      "%s: %s worker %d saw only allowed results (%ld bad)",
		      what, kinds[k], k, w.bad);
	}
	check(s, swaps >= 10, "too few swaps", "%s: %ld list swaps", what,
	      swaps);
	check_long(s, 0, swap_bad, "%s: every list swap accepted", what);
	if (hotplug)
		check_rc(s, 0, udev_apply(s), "%s: udev modes", what);
	restore_msrs(s, &sv, what);
}

/* ---- the project's commands against the real module ------------------- */

struct cmd_result {
	int status; /* exit code, or 128 + signal, or -errno if it never ran */
	char out[256 * 1024];
	size_t len;
};

/* Run argv (NULL-terminated), stdout and stderr captured together. */
static void run_cmd(char *const argv[], struct cmd_result *res)
{
	int p[2], status = 0;
	pid_t pid;

	res->len = 0;
	res->out[0] = '\0';
	if (pipe(p)) {
		res->status = -errno;
		return;
	}
	pid = fork();
	if (pid < 0) {
		res->status = -errno;
		close(p[0]);
		close(p[1]);
		return;
	}
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		close(p[1]);
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		ssize_t r = read(p[0], res->out + res->len,
				 sizeof(res->out) - 1 - res->len);

		if (r <= 0)
			break;
		res->len += (size_t)r;
		if (res->len == sizeof(res->out) - 1) {
			char sink[4096];

			while (read(p[0], sink, sizeof(sink)) > 0)
				;
			break;
		}
	}
	res->out[res->len] = '\0';
	close(p[0]);
	waitpid(pid, &status, 0);
	res->status =
	    WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Check an exit code; on failure the detail shows the command's output. */
__attribute__((format(printf, 4, 5))) static bool
check_exit(struct suite *s, int exp, const struct cmd_result *r,
	   const char *fmt, ...)
{
	char d[400], q[300];
	va_list ap;

	quote(r->out, r->len < 280 ? r->len : 280, q, sizeof(q));
	snprintf(d, sizeof(d), "expected exit %d got %d, output \"%s\"", exp,
		 r->status, q);
	va_start(ap, fmt);
	report(s, r->status == exp, d, fmt, ap);
	va_end(ap);
	return r->status == exp;
}

static void tool_path(const struct suite *s, const char *rel, char *buf,
		      size_t cap)
{
	snprintf(buf, cap, "%s/%s", s->build, rel);
}

/* Read MC0_ADDR, MC0_MISC and TSC_AUX on every CPU (test list live). */
static bool snap3(struct suite *s, struct saved_msrs *sv)
{
	for (int i = 0; i < s->ncpus; i++) {
		int c = s->cpus[i], rc;

		rc = cpu_rd(c, MSR_MC0_ADDR, &sv->addr[i]);
		rc = rc ? rc : cpu_rd(c, MSR_MC0_MISC, &sv->misc[i]);
		rc = rc ? rc : cpu_rd(c, MSR_TSC_AUX, &sv->aux[i]);
		if (rc) {
			check_rc(s, 0, rc, "read cpu%d's test MSRs", c);
			return false;
		}
	}
	return true;
}

static int snap3_diff(const struct suite *s, const struct saved_msrs *a,
		      const struct saved_msrs *b)
{
	int diff = 0;

	for (int i = 0; i < s->ncpus; i++)
		diff += (a->addr[i] != b->addr[i]) +
			(a->misc[i] != b->misc[i]) + (a->aux[i] != b->aux[i]);
	return diff;
}

/* Install @path's text (merged with @overlay if not NULL) and compare. */
static void expect_live_is(struct suite *s, const char *path,
			   const char *overlay, const char *label)
{
	char *a = NULL, *b = NULL, *both = NULL, *canon = NULL, *back = NULL;
	size_t al = 0, bl = 0, cl = 0, kl = 0;
	struct ref_list rl = {0};
	int rc;

	rc = read_file(path, &a, &al);
	if (!rc && overlay)
		rc = read_file(overlay, &b, &bl);
	if (!rc && !(both = malloc(al + bl + 2)))
		rc = -ENOMEM;
	if (!check_rc(s, 0, rc, "%s: read the list files", label))
		goto out;
	memcpy(both, a, al);
	both[al] = '\n';
	if (b)
		memcpy(both + al + 1, b, bl);
	rc = ref_parse(both, al + bl + 1, &rl, true);
	canon = ref_render(&rl, &cl);
	rc = rc ? rc : al_read(4096, &back, &kl);
	if (check_rc(s, 0, rc, "%s: read the live list", label))
		check_text(s, canon, cl, back, kl,
			   "%s: live list is the canonical union", label);
out:
	free(a);
	free(b);
	free(both);
	free(canon);
	free(back);
	free(rl.e);
}

/* msr-allowlist install / show against the real device. */
static void t_allowlist_tool(struct suite *s, struct cmd_result *r)
{
	char tool[PATH_MAX], emu[PATH_MAX], dir[PATH_MAX], base[PATH_MAX],
	    prof[PATH_MAX];

	tool_path(s, "allowlists/msr-allowlist", tool, sizeof(tool));
	snprintf(dir, sizeof(dir), "%s/allowlists", s->repo);
	snprintf(emu, sizeof(emu), "%s/allowlists/emulator/baseline", s->repo);
	snprintf(base, sizeof(base), "%s/allowlists/al_06_8F", s->repo);
	snprintf(prof, sizeof(prof), "%s/allowlists/profiles/freq/al_06_8F",
		 s->repo);
	/* The shell forms the documentation gives. */
	al_install(test_list);
	run_cmd((char *const[]){"/bin/cat", ALLOWLIST_DEV, NULL}, r);
	check_exit(s, 0, r, "tools: cat " ALLOWLIST_DEV);
	check_text(s, test_list_canon, strlen(test_list_canon), r->out, r->len,
		   "tools: cat shows the canonical list");
	run_cmd((char *const[]){"/bin/sh", "-c", "echo > " ALLOWLIST_DEV, NULL},
		r);
	check_exit(s, 0, r, "tools: echo > " ALLOWLIST_DEV);
	al_is(s, AL_HEADER_TEXT, "tools: echo > msr_allowlist cleared it");
	run_cmd(
	    (char *const[]){
		"/bin/sh", "-c",
		"printf '0x402 0x0\\n0x402 0x1\\n' > " ALLOWLIST_DEV, NULL},
	    r);
	check(s, r->status != 0, "exit 0",
	      "tools: shell write of a duplicate fails");
	al_is(s, AL_HEADER_TEXT,
	      "tools: failed shell write kept the (empty) list");
	run_cmd((char *const[]){tool, "install", emu, NULL}, r);
	if (check_exit(s, 0, r,
		       "tools: msr-allowlist install emulator/baseline"))
		expect_live_is(s, emu, NULL, "tools: msr-allowlist install");
	run_cmd((char *const[]){tool, "install", base, "--dir", dir, "--family",
				"6", "--model", "0x8f", "--profile", "freq",
				NULL},
		r);
	if (check_exit(s, 0, r,
		       "tools: msr-allowlist install al_06_8F --profile freq"))
		expect_live_is(s, base, prof,
			       "tools: msr-allowlist install --profile");
	run_cmd((char *const[]){tool, "show", NULL}, r);
	check_exit(s, 0, r, "tools: msr-allowlist show");
	check(s, strstr(r->out, "0x00000010") != NULL, r->out,
	      "tools: msr-allowlist show lists the live entries");
	run_cmd((char *const[]){tool, "install", "/nonexistent/al", NULL}, r);
	check_exit(s, 1, r, "tools: msr-allowlist install of a missing file");
	expect_live_is(s, base, prof,
		       "tools: failed msr-allowlist install changed nothing");
	al_install(test_list);
}

static void t_tools(struct suite *s)
{
	char msrsave[PATH_MAX], msrctl[PATH_MAX], state[PATH_MAX];
	struct saved_msrs sv, before, now;
	struct cmd_result *r = malloc(sizeof(*r));
	int rc;

	if (!check(s, r != NULL, "malloc", "tools: buffers"))
		return;
	tool_path(s, "msrsave/msrsave", msrsave, sizeof(msrsave));
	tool_path(s, "msrsave/msrctl", msrctl, sizeof(msrctl));
	snprintf(state, sizeof(state), "%s/state.json", s->scratch);
	unlink(state);
	if (!check(s, access(msrsave, X_OK) == 0 && access(msrctl, X_OK) == 0,
		   "missing: build msrsave/msrsave and msrsave/msrctl in "
		   "MSR_BUILD_DIR",
		   "tools: %s and msrctl exist", msrsave))
		goto out;
	if (!save_msrs(s, &sv))
		goto out;
	rc = al_install(test_list);
	check_rc(s, 0, rc, "tools: install the test list");
	for (int i = 0; i < s->ncpus; i++)
		cpu_wr(s->cpus[i], MSR_MC0_ADDR, pattern(s->cpus[i], 5));
	if (!snap3(s, &before))
		goto out;

	run_cmd((char *const[]){msrsave, "save", state, NULL}, r);
	check_exit(s, 0, r, "tools: msrsave save");
	check(s, path_exists(state), "no file", "tools: msrsave wrote %s",
	      state);
	run_cmd((char *const[]){msrsave, "verify", state, NULL}, r);
	check_exit(s, 0, r, "tools: msrsave verify right after save");

	run_cmd((char *const[]){msrctl, "write", "0x402", "0x1234", NULL}, r);
	check_exit(s, 0, r, "tools: msrctl write 0x402 0x1234 on all CPUs");
	run_cmd((char *const[]){msrctl, "-c", "0", "write", "0x403",
				"0xffffffffffffffff", NULL},
		r);
	check_exit(s, 0, r, "tools: msrctl -c 0 write 0x403 all ones");
	run_cmd(
	    (char *const[]){msrctl, "write", "0xc0000103", "0xffffffff", NULL},
	    r);
	check_exit(s, 0, r, "tools: msrctl write TSC_AUX");
	if (snap3(s, &now)) {
		int bad = 0;

		for (int i = 0; i < s->ncpus; i++) {
			bad += now.addr[i] != 0x1234;
			bad += now.aux[i] !=
			       ((before.aux[i] & ~MASK_TSC_AUX) | MASK_TSC_AUX);
		}
		bad +=
		    now.misc[0] != ((before.misc[0] & ~MASK_MISC) | MASK_MISC);
		check_long(s, 0, bad,
			   "tools: msrctl changed exactly the masked bits");
	}
	run_cmd((char *const[]){msrctl, "-c", "0", "read", "0x402", NULL}, r);
	check_exit(s, 0, r, "tools: msrctl read 0x402");
	check(s, strcasestr(r->out, "1234") != NULL, r->out,
	      "tools: msrctl read shows 0x1234");
	run_cmd((char *const[]){msrctl, "write", "0x179", "0x0", NULL}, r);
	check_exit(s, 1, r, "tools: msrctl write to read-only MCG_CAP fails");
	run_cmd((char *const[]){msrctl, "read", "0x3a", NULL}, r);
	check_exit(s, 1, r, "tools: msrctl read of unlisted 0x3a fails");

	run_cmd((char *const[]){msrsave, "verify", state, NULL}, r);
	check_exit(s, 1, r, "tools: msrsave verify reports the changes");

	/* A restore whose writes fault must say so and change nothing saved. */
	rc = set_param("inject_eio_writes_only", "1\n");
	rc = rc ? rc : set_param("inject_eio_msr", "1026\n");
	check_rc(s, 0, rc, "tools: inject EIO on writes of 0x402");
	run_cmd((char *const[]){msrsave, "restore", state, NULL}, r);
	check_exit(s, 1, r,
		   "tools: msrsave restore with faulting writes fails");
	set_param("inject_eio_msr", "0\n");
	set_param("inject_eio_writes_only", "0\n");

	run_cmd((char *const[]){msrsave, "restore", state, NULL}, r);
	check_exit(s, 0, r, "tools: msrsave restore");
	if (snap3(s, &now))
		check_long(s, 0, snap3_diff(s, &before, &now),
			   "tools: every value back bit-exactly after restore");
	run_cmd((char *const[]){msrsave, "verify", state, NULL}, r);
	check_exit(s, 0, r, "tools: msrsave verify after restore");
	/* upstream form */
	run_cmd((char *const[]){msrctl, "write", "0x402", "0x77", NULL}, r);
	run_cmd((char *const[]){msrsave, "-r", state, NULL}, r);
	check_exit(s, 0, r, "tools: msrsave -r (upstream form)");
	if (snap3(s, &now))
		check_long(s, 0, snap3_diff(s, &before, &now),
			   "tools: values back after msrsave -r");
	/* A sparse CPU set: one CPU offline while saving. */
	{
		char state2[PATH_MAX + 8];
		int cpu = s->cpus[1 % s->ncpus];

		snprintf(state2, sizeof(state2), "%s.sparse", state);
		unlink(state2);
		rc = set_cpu_online(cpu, false);
		check_rc(s, 0, rc, "tools: cpu%d offline", cpu);
		run_cmd((char *const[]){msrsave, "save", state2, NULL}, r);
		check_exit(s, 0, r, "tools: msrsave save with cpu%d offline",
			   cpu);
		run_cmd((char *const[]){msrsave, "verify", state2, NULL}, r);
		check_exit(s, 0, r, "tools: msrsave verify with cpu%d offline",
			   cpu);
		rc = set_cpu_online(cpu, true);
		check_rc(s, 0, rc, "tools: cpu%d online again", cpu);
		check_rc(s, 0, udev_apply(s), "tools: udev modes");
		unlink(state2);
	}
	restore_msrs(s, &sv, "tools: restore");
	t_allowlist_tool(s, r);
out:
	free(r);
}

/* ---- every shipped allowlist loads and reads back canonically ---------- */

/* Install @text, read back, compare with the reference rendering of @ref. */
static bool install_matches(const char *text, size_t len, const char *reftext,
			    size_t reflen, bool merge_ref, char *why,
			    size_t whycap)
{
	struct ref_list rl = {0};
	char *canon = NULL, *back = NULL;
	size_t clen = 0, blen = 0;
	int rc;
	bool ok = false;

	rc = ref_parse(reftext, reflen, &rl, merge_ref);
	if (rc) {
		snprintf(why, whycap, "reference parse failed: %d", rc);
		goto out;
	}
	canon = ref_render(&rl, &clen);
	rc = al_install_len(text, len);
	if (rc) {
		snprintf(why, whycap, "install refused: %s",
			 strerrorname_np(-rc) ? strerrorname_np(-rc) : "?");
		goto out;
	}
	rc = al_read(29, &back, &blen);
	if (rc) {
		snprintf(why, whycap, "read back failed: %d", rc);
		goto out;
	}
	if (blen != clen || memcmp(back, canon, clen)) {
		size_t i = 0;

		while (i < blen && i < clen && back[i] == canon[i])
			i++;
		snprintf(
		    why, whycap,
		    "read back %zu bytes, canonical %zu, differ at byte %zu",
		    blen, clen, i);
		goto out;
	}
	ok = true;
out:
	free(rl.e);
	free(canon);
	free(back);
	return ok;
}

/* "@a/@b" into @buf; false if it did not fit. */
static bool join(char *buf, size_t cap, const char *a, const char *b)
{
	int n = snprintf(buf, cap, "%s/%s", a, b);

	return n > 0 && (size_t)n < cap;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names in @dir starting with @prefix (NULL: all regular files). */
static int list_dir(const char *dir, const char *prefix, char ***names,
		    size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t cap = 0;

	*names = NULL;
	*n = 0;
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' ||
		    (prefix && strncmp(de->d_name, prefix, strlen(prefix))))
			continue;
		if (*n == cap) {
			char **nn = realloc(*names, (cap ? cap * 2 : 64) *
							sizeof(char *));

			if (!nn)
				break;
			*names = nn;
			cap = cap ? cap * 2 : 64;
		}
		(*names)[(*n)++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(*names, *n, sizeof(char *), name_cmp);
	return 0;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/*
 * Baseline @base merged with @overlay.  The merge ran on the host before
 * boot (tests/vm/run: msr-allowlist merge BASE OVERLAY > MERGED/LABEL, its
 * exit code in LABEL.rc): 270 execs over 9p under TCG would take minutes.
 * Here: the merged text must load and read back as the reference union.
 */
static void check_merged(struct suite *s, const char *base, const char *overlay,
			 const char *label)
{
	char *bt = NULL, *ot = NULL, *both = NULL, *mt = NULL, *rct = NULL;
	char why[200], mpath[PATH_MAX], rcpath[PATH_MAX + 8];
	size_t bl = 0, ol = 0, ml = 0, rl = 0;

	if (read_file(base, &bt, &bl) || read_file(overlay, &ot, &ol) ||
	    !(both = malloc(bl + ol + 2))) {
		check(s, false, "cannot read", "shipped %s: read the files",
		      label);
		goto out;
	}
	memcpy(both, bt, bl);
	both[bl] = '\n';
	memcpy(both + bl + 1, ot, ol);
	if (!join(mpath, sizeof(mpath), s->merged, label))
		goto out;
	snprintf(rcpath, sizeof(rcpath), "%s.rc", mpath);
	if (!check(s, read_file(rcpath, &rct, &rl) == 0,
		   "no merge result (msr-allowlist missing?)",
		   "shipped %s: msr-allowlist merge ran", label))
		goto out;
	if (!check(s, strcmp(rct, "0\n") == 0, rct,
		   "shipped %s: msr-allowlist merge exit 0", label))
		goto out;
	if (!check(s, read_file(mpath, &mt, &ml) == 0, "cannot read",
		   "shipped %s: read the merged list", label))
		goto out;
	why[0] = '\0';
	check(
	    s,
	    install_matches(mt, ml, both, bl + ol + 1, true, why, sizeof(why)),
	    why, "shipped %s: merged list loads and reads back canonically",
	    label);
out:
	free(bt);
	free(ot);
	free(both);
	free(mt);
	free(rct);
}

static void t_shipped(struct suite *s)
{
	char dir[PATH_MAX], path[PATH_MAX], tool[PATH_MAX], why[200];
	char **base = NULL, **profs = NULL;
	size_t nbase = 0, nprof = 0;
	int rc;

	tool_path(s, "allowlists/msr-allowlist", tool, sizeof(tool));
	check(s, access(tool, X_OK) == 0,
	      "missing: build allowlists/msr-allowlist in MSR_BUILD_DIR",
	      "shipped: %s exists", tool);
	snprintf(dir, sizeof(dir), "%s/allowlists", s->repo);
	rc = list_dir(dir, "al_", &base, &nbase);
	check_rc(s, 0, rc, "shipped: list %s", dir);
	check(s, nbase > 0, "none found", "shipped: %zu baselines in %s", nbase,
	      dir);
	for (size_t i = 0; i < nbase; i++) {
		char *text = NULL;
		size_t len = 0;

		if (!join(path, sizeof(path), dir, base[i]))
			continue;
		why[0] = '\0';
		rc = read_file(path, &text, &len);
		check(s,
		      rc == 0 && install_matches(text, len, text, len, false,
						 why, sizeof(why)),
		      why, "shipped %s: loads and reads back canonically",
		      base[i]);
		free(text);
	}
	snprintf(dir, sizeof(dir), "%s/allowlists/profiles", s->repo);
	rc = list_dir(dir, NULL, &profs, &nprof);
	check(s, rc == 0 && nprof > 0, "no profiles",
	      "shipped: %zu profiles in %s", nprof, dir);
	for (size_t p = 0; p < nprof; p++) {
		char pdir[PATH_MAX], **ov = NULL, label[128];
		size_t nov = 0;

		if (!join(pdir, sizeof(pdir), dir, profs[p]))
			continue;
		list_dir(pdir, "al_", &ov, &nov);
		check(s, nov > 0, "empty profile",
		      "shipped profile %s: %zu overlays", profs[p], nov);
		for (size_t i = 0; i < nov; i++) {
			char bpath[PATH_MAX];

			if (!join(path, sizeof(path), pdir, ov[i]))
				continue;
			snprintf(bpath, sizeof(bpath), "%s/allowlists/%s",
				 s->repo, ov[i]);
			snprintf(label, sizeof(label), "%s/%s", profs[p],
				 ov[i]);
			if (!check(s, path_exists(bpath), "no such baseline",
				   "shipped %s: baseline %s exists", label,
				   ov[i]))
				continue;
			check_merged(s, bpath, path, label);
		}
		free_names(ov, nov);
	}
	/* The emulator's lists, used by the demo and these tests. */
	{
		char **ov = NULL, bpath[PATH_MAX], label[128], *text = NULL;
		size_t nov = 0, len = 0;

		snprintf(bpath, sizeof(bpath),
			 "%s/allowlists/emulator/baseline", s->repo);
		why[0] = '\0';
		rc = read_file(bpath, &text, &len);
		check(s,
		      rc == 0 && install_matches(text, len, text, len, false,
						 why, sizeof(why)),
		      rc ? "cannot read" : why,
		      "shipped emulator/baseline: loads and reads back "
		      "canonically");
		free(text);
		snprintf(dir, sizeof(dir), "%s/allowlists/emulator/profiles",
			 s->repo);
		list_dir(dir, NULL, &ov, &nov);
		check(s, nov > 0, "none", "shipped: %zu emulator profiles",
		      nov);
		for (size_t i = 0; i < nov; i++) {
			if (!join(path, sizeof(path), dir, ov[i]))
				continue;
			snprintf(label, sizeof(label), "emulator/%s", ov[i]);
			check_merged(s, bpath, path, label);
		}
		free_names(ov, nov);
	}
	free_names(base, nbase);
	free_names(profs, nprof);
	rc = al_install(test_list);
	check_rc(s, 0, rc, "shipped: test list back");
}

/* ---- the unprivileged run (uid 65534 in the device group) ------------- */

static void u_suite(struct suite *s)
{
	struct msr_batch_op ops[2 * MAX_CPUS];
	uint64_t v, old, c;
	size_t n = 0;
	int rc, fd;

	check_long(s, UNPRIV_UID, (long)geteuid(), "unpriv: running as uid %d",
		   UNPRIV_UID);
	t_version(s);
	for (int i = 0; i < s->ncpus; i++) {
		int cpu = s->cpus[i];
		uint64_t val = UINT64_C(0x0f0f0f0f0f0f0f0f) ^ (uint64_t)cpu;

		fd = cpu_open(cpu, O_RDWR);
		if (!check_rc(s, 0, fd < 0 ? fd : 0,
			      "unpriv cpu%d: open O_RDWR", cpu))
			continue;
		rc = fd_rd(fd, MSR_MC0_ADDR, &old);
		rc = rc ? rc : fd_wr(fd, MSR_MC0_ADDR, val);
		rc = rc ? rc : fd_rd(fd, MSR_MC0_ADDR, &v);
		check_rc(s, 0, rc, "unpriv cpu%d: read and write MC0_ADDR",
			 cpu);
		check_u64(s, val, v, "unpriv cpu%d: MC0_ADDR value", cpu);
		rc = fd_wr(fd, MSR_MC0_ADDR, old);
		check_rc(s, 0, rc, "unpriv cpu%d: restore MC0_ADDR", cpu);
		rc = fd_rd(fd, MSR_MC0_MISC, &old);
		rc = rc ? rc : fd_wr(fd, MSR_MC0_MISC, ~old);
		rc = rc ? rc : fd_rd(fd, MSR_MC0_MISC, &v);
		check_u64(s, (~old & MASK_MISC) | (old & ~MASK_MISC), v,
			  "unpriv cpu%d: masked MC0_MISC write", cpu);
		fd_wr(fd, MSR_MC0_MISC, old);
		rc = fd_rd(fd, MSR_UNLISTED, &v);
		check_rc(s, -EACCES, rc, "unpriv cpu%d: unlisted read", cpu);
		rc = fd_wr(fd, MSR_MCG_CAP, 0);
		check_rc(s, -EACCES, rc, "unpriv cpu%d: read-only write", cpu);
		close(fd);
		op_set(&ops[n++], cpu, MSR_MC0_ADDR, true, 0);
		op_set(&ops[n++], cpu, MSR_MCG_CAP, true, 0);
	}
	rc = batch_run(ops, (uint32_t)n);
	check_rc(s, 0, rc, "unpriv: batch read on all CPUs");
	check_long(s, 0, count_bad_ops(ops, n, 0), "unpriv: every op err 0");
	op_set(&ops[0], s->cpus[0], MSR_MCG_CAP, false, 0);
	rc = batch_run(ops, 1);
	check_rc(s, -EROFS, rc, "unpriv: batch write to read-only is EROFS");

	fd = open(ALLOWLIST_DEV, O_WRONLY | O_CLOEXEC);
	check_rc(s, -EACCES, fd < 0 ? -errno : 0,
		 "unpriv: cannot open the allowlist for writing");
	if (fd >= 0)
		close(fd);
	fd = open(ALLOWLIST_DEV, O_RDONLY | O_CLOEXEC);
	check_rc(s, -EACCES, fd < 0 ? -errno : 0,
		 "unpriv: cannot read the allowlist (root's, 0600)");
	if (fd >= 0)
		close(fd);
	fd = open(SYS_PARAMS "/inject_eio_msr", O_WRONLY | O_CLOEXEC);
	check_rc(s, -EACCES, fd < 0 ? -errno : 0,
		 "unpriv: cannot set inject_eio_msr");
	if (fd >= 0)
		close(fd);
	fd = open(SYS_PARAMS "/recheck_access", O_WRONLY | O_CLOEXEC);
	check_rc(s, -EACCES, fd < 0 ? -errno : 0,
		 "unpriv: cannot turn recheck_access off");
	if (fd >= 0)
		close(fd);
	rc = counter("denied_not_allowlisted", &c);
	check_rc(s, 0, rc, "unpriv: counters are readable");
	rc = delete_module_unpriv_rc();
	check_rc2(s, -EPERM, -EACCES, rc, "unpriv: cannot rmmod");
}

/* The commands as a trusted user: the list comes from a file, since only
 * root may read the allowlist device. */
static void u_tools(struct suite *s)
{
	char msrsave[PATH_MAX], msrctl[PATH_MAX], state[PATH_MAX],
	    alpath[PATH_MAX];
	struct saved_msrs before, now;
	struct cmd_result *r = malloc(sizeof(*r));
	int rc, fd;

	if (!check(s, r != NULL, "malloc", "unpriv tools: buffers"))
		return;
	tool_path(s, "msrsave/msrsave", msrsave, sizeof(msrsave));
	tool_path(s, "msrsave/msrctl", msrctl, sizeof(msrctl));
	snprintf(state, sizeof(state), "%s/unpriv-state.json", s->scratch);
	snprintf(alpath, sizeof(alpath), "%s/unpriv-allowlist", s->scratch);
	unlink(state);
	unlink(alpath);
	fd = open(alpath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	rc = fd < 0 ? -errno : 0;
	if (!rc && write(fd, test_list, strlen(test_list)) !=
		       (ssize_t)strlen(test_list))
		rc = -EIO;
	if (fd >= 0)
		close(fd);
	if (!check_rc(s, 0, rc, "unpriv tools: write %s", alpath))
		goto out;
	if (!snap3(s, &before))
		goto out;
	run_cmd((char *const[]){msrsave, "-a", alpath, "save", state, NULL}, r);
	check_exit(s, 0, r, "unpriv tools: msrsave -a LIST save");
	run_cmd((char *const[]){msrctl, "-c", "0", "read", "0x402", NULL}, r);
	check_exit(s, 0, r, "unpriv tools: msrctl read");
	run_cmd((char *const[]){msrctl, "write", "0x402", "0x4321", NULL}, r);
	check_exit(s, 0, r, "unpriv tools: msrctl write");
	if (snap3(s, &now)) {
		int bad = 0;

		for (int i = 0; i < s->ncpus; i++)
			bad += now.addr[i] != 0x4321;
		check_long(s, 0, bad, "unpriv tools: msrctl wrote every CPU");
	}
	run_cmd((char *const[]){msrsave, "restore", state, NULL}, r);
	check_exit(s, 0, r, "unpriv tools: msrsave restore");
	if (snap3(s, &now))
		check_long(s, 0, snap3_diff(s, &before, &now),
			   "unpriv tools: values back bit-exactly");
out:
	unlink(state);
	unlink(alpath);
	free(r);
}

/* ---- main -------------------------------------------------------------- */

/* Run one section and note how long it took (runtime is watched). */
#define TIMED(call)                                           \
	do {                                                  \
		double t0_ = now_s();                         \
		call;                                         \
		note("%s took %.1f s", #call, now_s() - t0_); \
	} while (0)

static int usage(void)
{
	fprintf(stderr, "usage: suite --root --ko KO --repo REPO --build BUILD "
			"--scratch DIR"
			" [--gid GID] [--quick]\n"
			"       suite --unpriv --gid GID --repo REPO --build "
			"BUILD --scratch DIR\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct suite s;
	bool quick = false, have_mode = false;
	int possible[MAX_CPUS * 4], np;
	char *text;
	size_t len;

	memset(&s, 0, sizeof(s));
	s.gid = 4242;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--root") || !strcmp(a, "--unpriv")) {
			s.root = !strcmp(a, "--root");
			have_mode = true;
		} else if (!strcmp(a, "--quick")) {
			quick = true;
		} else if (v && !strcmp(a, "--ko")) {
			s.ko = v, i++;
		} else if (v && !strcmp(a, "--repo")) {
			s.repo = v, i++;
		} else if (v && !strcmp(a, "--build")) {
			s.build = v, i++;
		} else if (v && !strcmp(a, "--merged")) {
			s.merged = v, i++;
		} else if (v && !strcmp(a, "--scratch")) {
			s.scratch = v, i++;
		} else if (v && !strcmp(a, "--gid")) {
			s.gid = (gid_t)atoi(v), i++;
		} else {
			return usage();
		}
	}
	if (!have_mode || !s.repo || !s.build || !s.scratch ||
	    (s.root && (!s.ko || !s.build || !s.scratch || !s.merged)))
		return usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	s.bad = bad_page();
	signal(SIGPIPE, SIG_IGN);

	s.ncpus = online_cpus(s.cpus, MAX_CPUS);
	if (!check(&s, s.ncpus > 0, "cannot read", "setup: online CPUs"))
		return 1;
	np = 0;
	if (!read_file("/sys/devices/system/cpu/possible", &text, &len)) {
		np = parse_cpulist(text, possible, MAX_CPUS * 4);
		free(text);
	}
	if (!check(&s, np > 0, "cannot read", "setup: possible CPUs"))
		return 1;
	s.max_possible = possible[np - 1];
	note("%s run: %d online CPUs, highest possible %d",
	     s.root ? "root" : "unprivileged", s.ncpus, s.max_possible);

	if (!s.root) {
		u_suite(&s);
		u_tools(&s);
		goto done;
	}
	if (!reload(&s, "", "setup"))
		goto done;
	TIMED(t_nodes(&s));
	TIMED(t_version(&s));
	TIMED(t_percpu(&s));
	TIMED(t_batch(&s));
	TIMED(t_allowlist(&s));
	TIMED(t_counters(&s));
	TIMED(t_recheck(&s, true));
	TIMED(t_recheck(&s, false));
	TIMED(t_hotplug(&s));
	TIMED(t_faults(&s));
	TIMED(t_stress(&s, false, 3.0));
	TIMED(t_stress(&s, true, 3.0));
	TIMED(t_tools(&s));
	if (!quick)
		TIMED(t_shipped(&s));
	TIMED(t_max_batch(&s));
	TIMED(t_majors(&s));
	TIMED(t_cycles(&s));
	TIMED(t_leaks(&s));
	/* Leave the module as udev would, with the test list, for --unpriv. */
	if (reload(&s, "", "final")) {
		int rc = al_install(test_list);

		check_rc(&s, 0, rc, "final: install the test list");
	}
done:
	note("%s run: %d passed, %d failed", s.root ? "root" : "unprivileged",
	     s.passed, s.failed);
	return s.failed ? 1 : 0;
}
