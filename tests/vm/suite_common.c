// SPDX-License-Identifier: GPL-2.0-only
/*
 * msr-safe VM suite (see suite.h): reporting, file and sysfs helpers, MSR and
 * batch access, the allowlist device, module loading, the udev stand-in, the
 * reference allowlist rendering, saved MSRs, counters and command running.
 */
#include "suite.h"

/* ---- reporting ------------------------------------------------------- */

void report(struct suite *s, bool pass, const char *detail, const char *fmt,
	    va_list ap)
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

const char *errname(int rc, char *buf, size_t cap)
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

__attribute__((format(printf, 4, 5))) bool
check(struct suite *s, bool cond, const char *detail, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(s, cond, detail, fmt, ap);
	va_end(ap);
	return cond;
}

__attribute__((format(printf, 4, 5))) bool
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

__attribute__((format(printf, 4, 5))) bool
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
__attribute__((format(printf, 4, 5))) bool
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
__attribute__((format(printf, 5, 6))) bool
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

void quote(const char *p, size_t n, char *out, size_t cap)
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
__attribute__((format(printf, 6, 7))) bool
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

void note(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- small file helpers ---------------------------------------------- */

int read_file(const char *path, char **out, size_t *len)
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

int write_file(const char *path, const char *text)
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

int read_u64_file(const char *path, uint64_t *v)
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

bool path_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* "0-3,5" into ascending numbers. */
int parse_cpulist(const char *text, int *cpus, int max)
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

int online_cpus(int *cpus, int max)
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

int set_cpu_online(int cpu, bool on)
{
	char path[96];

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/online",
		 cpu);
	return write_file(path, on ? "1\n" : "0\n");
}

/* ---- device helpers -------------------------------------------------- */

void cpu_path(int cpu, char *buf, size_t cap)
{
	snprintf(buf, cap, DEV_DIR "/%d/msr_safe", cpu);
}

int cpu_open(int cpu, int flags)
{
	char path[64];
	int fd;

	cpu_path(cpu, path, sizeof(path));
	fd = open(path, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int fd_rd(int fd, uint32_t msr, uint64_t *v)
{
	ssize_t r = pread(fd, v, sizeof(*v), msr);

	if (r < 0)
		return -errno;
	return r == 8 ? 0 : -EPROTO;
}

int fd_wr(int fd, uint32_t msr, uint64_t v)
{
	ssize_t r = pwrite(fd, &v, sizeof(v), msr);

	if (r < 0)
		return -errno;
	return r == 8 ? 0 : -EPROTO;
}

int cpu_rd(int cpu, uint32_t msr, uint64_t *v)
{
	int fd = cpu_open(cpu, O_RDONLY), rc;

	if (fd < 0)
		return fd;
	rc = fd_rd(fd, msr, v);
	close(fd);
	return rc;
}

int cpu_wr(int cpu, uint32_t msr, uint64_t v)
{
	int fd = cpu_open(cpu, O_WRONLY), rc;

	if (fd < 0)
		return fd;
	rc = fd_wr(fd, msr, v);
	close(fd);
	return rc;
}

void op_set(struct msr_batch_op *op, int cpu, uint32_t msr, bool read,
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

int batch_fd_run(int fd, struct msr_batch_op *ops, uint32_t n, uint32_t version)
{
	struct msr_batch_array arr;

	memset(&arr, 0, sizeof(arr));
	arr.numops = n;
	arr.version = version;
	arr.ops = ops;
	return ioctl(fd, X86_IOC_MSR_BATCH, &arr) < 0 ? -errno : 0;
}

int batch_run(struct msr_batch_op *ops, uint32_t n)
{
	int fd = open(BATCH_DEV, O_RDWR | O_CLOEXEC), rc;

	if (fd < 0)
		return -errno;
	rc = batch_fd_run(fd, ops, n, MSR_SAFE_VERSION_u32);
	close(fd);
	return rc;
}

/* One write(2) of @len bytes: the whole list, as the contract requires. */
int al_install_len(const char *text, size_t len)
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

int al_install(const char *text)
{
	return al_install_len(text, strlen(text));
}

/* Read the live list @chunk bytes per read(2) until end of file. */
int al_read(size_t chunk, char **out, size_t *len)
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
bool al_is(struct suite *s, const char *canon, const char *what)
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

int counter(const char *name, uint64_t *v)
{
	char path[128];

	snprintf(path, sizeof(path), SYS_COUNTERS "/%s", name);
	return read_u64_file(path, v);
}

int set_param(const char *name, const char *value)
{
	char path[128];

	snprintf(path, sizeof(path), SYS_PARAMS "/%s", name);
	return write_file(path, value);
}

/* ---- module loading -------------------------------------------------- */

int mod_load(const struct suite *s, const char *params)
{
	int fd = open(s->ko, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	if (syscall(SYS_finit_module, fd, params, 0) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

int mod_unload(void)
{
	return syscall(SYS_delete_module, MODULE_NAME, O_NONBLOCK) < 0 ? -errno
								       : 0;
}

int delete_module_unpriv_rc(void)
{
	return mod_unload();
}

bool mod_loaded(void)
{
	return path_exists("/sys/module/" MODULE_NAME);
}

/*
 * udev stand-in: apply module/60-msr-safe.rules itself to every device of
 * the msr_safe class, so the shipped rules are what the tests exercise.
 * Understands the keys those rules use: SUBSYSTEM==, KERNEL== (glob),
 * OWNER=, GROUP=, MODE=.  Group "msr" is the test's group (s->gid).
 */

int udev_parse(const char *text, struct udev_rule *rules, int max)
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

int udev_id(const struct suite *s, const char *name, unsigned int *id)
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
int udev_node(const char *name, unsigned int maj, unsigned int min, char *path,
	      size_t cap)
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

int udev_apply(const struct suite *s)
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
bool reload(struct suite *s, const char *params, const char *why)
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

int parse_hex(const char *tok, size_t len, uint64_t max, uint64_t *out)
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
int ref_parse(const char *text, size_t len, struct ref_list *l, bool merge)
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

int ref_cmp(const void *a, const void *b)
{
	const struct ref_entry *x = a, *y = b;

	return x->msr < y->msr ? -1 : x->msr > y->msr;
}

/* Header plus one "0x%08X 0x%016X" line per entry, sorted by address. */
char *ref_render(struct ref_list *l, size_t *len)
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
void *bad_page(void)
{
	void *p =
	    mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* ---- sections: devices and values ------------------------------------ */

int node_mode(const char *path, unsigned int *mode, unsigned int *uid,
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

void expect_node(struct suite *s, const char *path, unsigned int mode,
		 unsigned int uid, unsigned int gid, const char *what)
{
	unsigned int m = 0, u = 0, g = 0;
	int rc = node_mode(path, &m, &u, &g);

	if (check_rc(s, 0, rc, "%s: %s exists", what, path))
		check(s, m == mode && u == uid && g == gid, "wrong mode/owner",
		      "%s: %s is %04o %u:%u (want %04o %u:%u)", what, path, m,
		      u, g, mode, uid, gid);
}

/* Remember MC0_ADDR, MC0_MISC and TSC_AUX of every CPU (full list live). */
bool save_msrs(struct suite *s, struct saved_msrs *sv)
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

void restore_msrs(struct suite *s, const struct saved_msrs *sv,
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

uint64_t pattern(int cpu, unsigned int round)
{
	return UINT64_C(0x8badf00d00000000) ^ ((uint64_t)round << 40) ^
	       (uint64_t)(cpu + 1) * 0x10001u;
}

int count_bad_ops(const struct msr_batch_op *ops, size_t n, int want)
{
	int bad = 0;

	for (size_t i = 0; i < n; i++)
		if (ops[i].err != want)
			bad++;
	return bad;
}

bool counters_read(struct suite *s, uint64_t *c, const char *what)
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

void counters_expect(struct suite *s, const uint64_t *before,
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

int drop_privileges(gid_t gid)
{
	if (setgroups(1, &gid) ||
	    setresgid(UNPRIV_UID, UNPRIV_UID, UNPRIV_UID) ||
	    setresuid(UNPRIV_UID, UNPRIV_UID, UNPRIV_UID))
		return -errno;
	return 0;
}

int batch_fd_read1(int fd, int cpu, uint32_t msr)
{
	struct msr_batch_op op;

	op_set(&op, cpu, msr, true, 0);
	return batch_fd_run(fd, &op, 1, MSR_SAFE_VERSION_u32);
}

/* The child: open as the trusted user, then try again at each step. */

/* ---- the project's commands against the real module ------------------- */

/* Run argv (NULL-terminated), stdout and stderr captured together. */
void run_cmd(char *const argv[], struct cmd_result *res)
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
__attribute__((format(printf, 4, 5))) bool
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

void tool_path(const struct suite *s, const char *rel, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/%s", s->build, rel);
}

/* Read MC0_ADDR, MC0_MISC and TSC_AUX on every CPU (test list live). */
bool snap3(struct suite *s, struct saved_msrs *sv)
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

int snap3_diff(const struct suite *s, const struct saved_msrs *a,
	       const struct saved_msrs *b)
{
	int diff = 0;

	for (int i = 0; i < s->ncpus; i++)
		diff += (a->addr[i] != b->addr[i]) +
			(a->misc[i] != b->misc[i]) + (a->aux[i] != b->aux[i]);
	return diff;
}

/* Install @path's text (merged with @overlay if not NULL) and compare. */
void expect_live_is(struct suite *s, const char *path, const char *overlay,
		    const char *label)
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
