/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * msrbench: what MSR access costs through msr-safe's batch ioctl, its
 * per-CPU nodes and the kernel's stock msr driver, inside the guest that
 * bench/run boots.  Not a test: it prints figures, one per line,
 *
 *   R <section> <path> <param> <ns-per-op> <ns-per-call> <ops-per-call>
 *     <fastest-sample-ns-per-call> <slowest-sample-ns-per-call>
 *
 * on stdout; bench/report turns the lines of several boots into tables.
 * Every figure is the median of several samples, each sample timing
 * enough calls to last SAMPLE_NS.  The process is pinned to CPU 0 so
 * runs compare; reads of other CPUs' MSRs cross CPUs as in real use.
 *
 *   msrbench --scratch DIR [--stock] [--quick]
 *
 * Must run as root with msr-safe.ko loaded (and msr.ko for --stock).  It
 * installs its own allowlists and leaves the 500-entry list behind.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "msr_safe.h"
#include "msrsave.h"

#define DEV_DIR	      "/dev/cpu"
#define BATCH_DEV     DEV_DIR "/msr_batch"
#define ALLOWLIST_DEV DEV_DIR "/msr_allowlist"
/*
 * Addresses no CPU model or the emulator defines: under TCG they read 0,
 * ignore writes and never fault, so any number of them can be listed.
 */
#define SYNTH_BASE   UINT32_C(0x00010000)
#define MAX_K	     1000
#define SAVE_ENTRIES 500
#define MAX_CPUS     256

struct bench {
	int ncpus;
	int batch_fd;
	int safe_fd[MAX_CPUS];
	int stock_fd[MAX_CPUS];
	bool stock;
	int samples;
	long long sample_ns;
	const char *scratch;
};

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

/* One timed call of a path; returns 0 or a negative errno. */
typedef int (*bench_fn)(struct bench *b, void *ctx);

/* A path under measurement: what to call and its median time per call. */
struct timed {
	bench_fn fn;
	void *ctx;
	long iters;
	long long ns;	  /* median */
	long long lo, hi; /* fastest and slowest sample */
};

/*
 * Median time of one call of each of @n paths.  Each path is first
 * calibrated to how many calls fill a sample; then the samples of all
 * paths alternate, so a change in the host's load (other guests on a
 * shared machine) hits every path alike and their ratios stay fair.
 */
static int measure_many(struct bench *b, struct timed *t, size_t n)
{
	long long start, per_sample[8][32];
	int rc;

	if (n > 8 || b->samples > 32)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		/* Warm up caches and lazily opened state, then calibrate. */
		rc = t[i].fn(b, t[i].ctx);
		if (rc < 0)
			return rc;
		start = now_ns();
		rc = t[i].fn(b, t[i].ctx);
		if (rc < 0)
			return rc;
		start = now_ns() - start;
		t[i].iters = start > 0 ? (long)(b->sample_ns / start) : 1000;
		if (t[i].iters < 1)
			t[i].iters = 1;
	}
	for (int s = 0; s < b->samples; s++)
		for (size_t i = 0; i < n; i++) {
			start = now_ns();
			for (long k = 0; k < t[i].iters; k++) {
				rc = t[i].fn(b, t[i].ctx);
				if (rc < 0)
					return rc;
			}
			per_sample[i][s] = (now_ns() - start) / t[i].iters;
		}
	for (size_t i = 0; i < n; i++) {
		qsort(per_sample[i], (size_t)b->samples, sizeof(long long),
		      cmp_ll);
		t[i].ns = per_sample[i][b->samples / 2];
		t[i].lo = per_sample[i][0];
		t[i].hi = per_sample[i][b->samples - 1];
	}
	return 0;
}

static int measure(struct bench *b, bench_fn fn, void *ctx, struct timed *t)
{
	*t = (struct timed){.fn = fn, .ctx = ctx};
	return measure_many(b, t, 1);
}

/* One figure: per op and per call (median), then the samples' range. */
static void report(const char *section, const char *path, long param,
		   const struct timed *t, long ops)
{
	printf("R %s %s %ld %.1f %lld %ld %lld %lld\n", section, path, param,
	       (double)t->ns / (double)ops, t->ns, ops, t->lo, t->hi);
	fflush(stdout);
}

/* ---- allowlists --------------------------------------------------------- */

/*
 * Canonical text of @n entries: the synthetic addresses from @first (the
 * entries @extra lists first), masks @mask.
 */
static int list_text(const uint32_t *extra, const uint64_t *extra_mask,
		     size_t nextra, size_t first, size_t n, uint64_t mask,
		     char **out, size_t *len)
{
	size_t cap = (n + nextra) * 32 + 64, used = 0;
	char *text = malloc(cap);

	if (!text)
		return -ENOMEM;
	for (size_t i = 0; i < nextra; i++)
		used += (size_t)snprintf(text + used, cap - used,
					 "0x%08" PRIX32 " 0x%016" PRIX64 "\n",
					 extra[i], extra_mask[i]);
	for (size_t i = 0; i < n; i++)
		used +=
		    (size_t)snprintf(text + used, cap - used,
				     "0x%08" PRIX32 " 0x%016" PRIX64 "\n",
				     (uint32_t)(SYNTH_BASE + first + i), mask);
	*out = text;
	*len = used;
	return 0;
}

static int install_text(const char *text, size_t len)
{
	ssize_t w;
	int fd, rc = 0;

	fd = open(ALLOWLIST_DEV, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	w = write(fd, text, len);
	if (w < 0)
		rc = -errno;
	else if ((size_t)w != len)
		rc = -EIO;
	close(fd);
	return rc;
}

static int install_synth(size_t n, uint64_t mask)
{
	size_t len;
	char *text;
	int rc;

	rc = list_text(NULL, NULL, 0, 0, n, mask, &text, &len);
	if (rc < 0)
		return rc;
	rc = install_text(text, len);
	free(text);
	return rc;
}

/* ---- the three read paths ---------------------------------------------- */

struct reads {
	int k;			  /* MSRs per CPU */
	struct msr_batch_op *ops; /* k * ncpus */
};

static int batch_call(int fd, struct msr_batch_op *ops, size_t n)
{
	struct msr_batch_array arr = {
	    .numops = (__u32)n, .version = MSR_SAFE_VERSION_u32, .ops = ops};

	if (ioctl(fd, X86_IOC_MSR_BATCH, &arr) < 0)
		return -errno;
	return 0;
}

static int reads_batch(struct bench *b, void *ctx)
{
	struct reads *r = ctx;

	return batch_call(b->batch_fd, r->ops, (size_t)r->k * b->ncpus);
}

static int pread_loop(const int *fds, int ncpus, int k)
{
	uint64_t v;

	for (int c = 0; c < ncpus; c++)
		for (int i = 0; i < k; i++)
			if (pread(fds[c], &v, sizeof(v),
				  (off_t)(SYNTH_BASE + i)) != sizeof(v))
				return errno ? -errno : -EIO;
	return 0;
}

static int reads_percpu(struct bench *b, void *ctx)
{
	struct reads *r = ctx;

	return pread_loop(b->safe_fd, b->ncpus, r->k);
}

static int reads_stock(struct bench *b, void *ctx)
{
	struct reads *r = ctx;

	return pread_loop(b->stock_fd, b->ncpus, r->k);
}

static int bench_reads(struct bench *b)
{
	static const int ks[] = {1, 10, 100, 1000};
	struct reads r = {0};
	struct timed t[3];
	int rc;

	rc = install_synth(MAX_K, 0);
	if (rc < 0) {
		fprintf(stderr, "msrbench: installing %d entries: %s\n", MAX_K,
			strerror(-rc));
		return rc;
	}
	r.ops = calloc((size_t)MAX_K * b->ncpus, sizeof(*r.ops));
	if (!r.ops)
		return -ENOMEM;
	for (size_t j = 0; j < sizeof(ks) / sizeof(ks[0]); j++) {
		long ops = (long)ks[j] * b->ncpus;
		size_t n = 0;

		r.k = ks[j];
		for (int c = 0; c < b->ncpus; c++)
			for (int i = 0; i < r.k; i++, n++) {
				r.ops[n] = (struct msr_batch_op){
				    .cpu = (__u16)c,
				    .isrdmsr = 1,
				    .msr = SYNTH_BASE + (uint32_t)i};
			}
		t[0] = (struct timed){.fn = reads_batch, .ctx = &r};
		t[1] = (struct timed){.fn = reads_percpu, .ctx = &r};
		t[2] = (struct timed){.fn = reads_stock, .ctx = &r};
		rc = measure_many(b, t, b->stock ? 3 : 2);
		if (rc < 0)
			goto fail;
		report("reads", "batch", r.k, &t[0], ops);
		report("reads", "percpu", r.k, &t[1], ops);
		if (b->stock)
			report("reads", "stock", r.k, &t[2], ops);
	}
fail:
	if (rc < 0)
		fprintf(stderr, "msrbench: reads: %s\n", strerror(-rc));
	free(r.ops);
	return rc;
}

/* ---- allowlist size: lookup and install -------------------------------- */

#define LOOKUP_OPS 1000

static int lookup_batch(struct bench *b, void *ctx)
{
	return batch_call(b->batch_fd, ctx, LOOKUP_OPS);
}

/*
 * Batch reads of one listed MSR on CPU 0 (this CPU: no cross-CPU call)
 * under lists of growing size, so the per-op time shows the lookup.
 */
static int bench_lookup(struct bench *b)
{
	static const size_t sizes[] = {1, 100, 2000};
	struct msr_batch_op *ops;
	struct timed tm;
	int rc = 0;

	ops = calloc(LOOKUP_OPS, sizeof(*ops));
	if (!ops)
		return -ENOMEM;
	for (size_t j = 0; j < sizeof(sizes) / sizeof(sizes[0]); j++) {
		/*
		 * The list's first address: the binary search takes its
		 * deepest path there (about log2(size) probes).
		 */
		uint32_t target = SYNTH_BASE;

		for (int i = 0; i < LOOKUP_OPS; i++)
			ops[i] = (struct msr_batch_op){
			    .cpu = 0, .isrdmsr = 1, .msr = target};
		rc = install_synth(sizes[j], 0);
		if (rc < 0)
			goto fail;
		rc = measure(b, lookup_batch, ops, &tm);
		if (rc < 0)
			goto fail;
		report("lookup", "batch", (long)sizes[j], &tm, LOOKUP_OPS);
	}
fail:
	if (rc < 0)
		fprintf(stderr, "msrbench: lookup: %s\n", strerror(-rc));
	free(ops);
	return rc;
}

struct install {
	const char *text;
	size_t len;
};

static int install_once(struct bench *b, void *ctx)
{
	const struct install *in = ctx;

	(void)b;
	return install_text(in->text, in->len);
}

/* One write(2) of a 128 KiB list (the most one write may hold). */
static int bench_install(struct bench *b)
{
	const size_t line = 30, target = 128 * 1024;
	struct install in;
	size_t entries = target / line, len;
	struct timed tm;
	char *text;
	int rc;

	rc = list_text(NULL, NULL, 0, 0, entries, 0, &text, &len);
	if (rc < 0)
		return rc;
	/* Pad with a comment to exactly 128 KiB. */
	text = realloc(text, target + 1);
	if (!text)
		return -ENOMEM;
	while (len < target - 1)
		text[len++] = '#';
	text[len++] = '\n';
	in.text = text;
	in.len = len;
	rc = measure(b, install_once, &in, &tm);
	if (rc < 0)
		fprintf(stderr, "msrbench: install: %s\n", strerror(-rc));
	else
		report("install", "write", (long)len, &tm, (long)entries);
	free(text);
	return rc;
}

/* ---- msrsave: save + restore + verify through libmsrsave --------------- */

struct save {
	const char *dir;
	enum msr_backend want;
	size_t values;
};

static int save_restore_verify(struct bench *b, void *ctx)
{
	struct save *s = ctx;
	struct msr_allowlist al = {0};
	struct msr_state *st = NULL;
	struct msr_report rep = {0};
	struct msr_dev *dev = NULL;
	struct msr_err e;
	int rc;

	(void)b;
	rc = msr_dev_open(s->dir, &dev, &e);
	if (rc < 0)
		goto fail;
	if (msr_dev_backend(dev) != s->want) {
		snprintf(e.msg, sizeof(e.msg), "%s: backend %s, expected %s",
			 s->dir, msr_backend_name(msr_dev_backend(dev)),
			 msr_backend_name(s->want));
		rc = -EINVAL;
		goto fail;
	}
	rc = msr_dev_allowlist_read(dev, &al, &e);
	if (rc < 0)
		goto fail;
	rc = msr_snapshot(dev, &al, ALLOWLIST_DEV, 0, &st, &e);
	if (rc < 0)
		goto fail;
	rc = msr_restore(dev, st, &rep, &e);
	if (rc < 0)
		goto fail;
	msr_report_free(&rep);
	rc = msr_verify(dev, st, &rep, &e);
	if (rc < 0)
		goto fail;
	s->values = st->nmsrs * st->ncpus;
fail:
	if (rc < 0)
		fprintf(stderr, "msrbench: msrsave via %s: %s (%d)\n", s->dir,
			rc == -EIO && rep.count ? "mismatches" : e.msg, rc);
	msr_report_free(&rep);
	msr_state_free(st);
	msr_allowlist_free(&al);
	msr_dev_close(dev);
	return rc;
}

/* The phases of the above, timed one by one on an open device. */
struct phase {
	struct msr_dev *dev;
	struct msr_allowlist al;
	struct msr_state *st;
	const char *dir;
};

static int phase_open(struct bench *b, void *ctx)
{
	struct phase *p = ctx;
	struct msr_allowlist al = {0};
	struct msr_dev *dev = NULL;
	int rc;

	(void)b;
	rc = msr_dev_open(p->dir, &dev, NULL);
	if (rc == 0)
		rc = msr_dev_allowlist_read(dev, &al, NULL);
	msr_allowlist_free(&al);
	msr_dev_close(dev);
	return rc;
}

static int phase_snapshot(struct bench *b, void *ctx)
{
	struct phase *p = ctx;
	struct msr_state *st = NULL;
	int rc;

	(void)b;
	rc = msr_snapshot(p->dev, &p->al, ALLOWLIST_DEV, 0, &st, NULL);
	msr_state_free(st);
	return rc;
}

static int phase_restore(struct bench *b, void *ctx)
{
	struct phase *p = ctx;
	struct msr_report rep;
	int rc;

	(void)b;
	rc = msr_restore(p->dev, p->st, &rep, NULL);
	msr_report_free(&rep);
	return rc;
}

static int phase_verify(struct bench *b, void *ctx)
{
	struct phase *p = ctx;
	struct msr_report rep;
	int rc;

	(void)b;
	rc = msr_verify(p->dev, p->st, &rep, NULL);
	msr_report_free(&rep);
	return rc;
}

static int bench_phases(struct bench *b, const char *dir, const char *path)
{
	static const struct {
		const char *name;
		bench_fn fn;
	} phases[] = {{"open", phase_open},
		      {"snapshot", phase_snapshot},
		      {"restore", phase_restore},
		      {"verify", phase_verify}};
	struct phase p = {.dir = dir};
	char label[64];
	struct timed tm;
	int rc;

	rc = msr_dev_open(dir, &p.dev, NULL);
	if (rc < 0)
		goto fail;
	rc = msr_dev_allowlist_read(p.dev, &p.al, NULL);
	if (rc < 0)
		goto fail;
	rc = msr_snapshot(p.dev, &p.al, ALLOWLIST_DEV, 0, &p.st, NULL);
	if (rc < 0)
		goto fail;
	for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]); i++) {
		rc = measure(b, phases[i].fn, &p, &tm);
		if (rc < 0)
			goto fail;
		snprintf(label, sizeof(label), "%s-%s", path, phases[i].name);
		report("phase", label, SAVE_ENTRIES, &tm,
		       (long)(p.st->nmsrs * p.st->ncpus));
	}
fail:
	if (rc < 0)
		fprintf(stderr, "msrbench: phases via %s: %s\n", dir,
			strerror(-rc));
	msr_state_free(p.st);
	msr_allowlist_free(&p.al);
	msr_dev_close(p.dev);
	return rc;
}

/*
 * A device directory without msr_batch: symlinks to the real per-CPU
 * nodes and the allowlist, so libmsrsave picks its per-CPU backend.
 */
static int percpu_dir(struct bench *b, char *dir, size_t cap)
{
	char path[512], target[128];

	snprintf(dir, cap, "%s/percpu-dev", b->scratch);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	snprintf(path, sizeof(path), "%s/msr_allowlist", dir);
	if (symlink(ALLOWLIST_DEV, path) < 0 && errno != EEXIST)
		return -errno;
	for (int c = 0; c < b->ncpus; c++) {
		snprintf(path, sizeof(path), "%s/%d", dir, c);
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -errno;
		snprintf(path, sizeof(path), "%s/%d/msr_safe", dir, c);
		snprintf(target, sizeof(target), DEV_DIR "/%d/msr_safe", c);
		if (symlink(target, path) < 0 && errno != EEXIST)
			return -errno;
	}
	return 0;
}

static int bench_msrsave(struct bench *b)
{
	/* A few real registers the emulator keeps, the rest synthetic. */
	static const uint32_t real[] = {0x179, 0x198, 0x402, 0x403, 0xc0000103};
	static const uint64_t real_mask[] = {0, 0, ~0ULL, ~0ULL, 0};
	const size_t nreal = sizeof(real) / sizeof(real[0]);
	struct save sb, sp;
	struct timed t[2];
	char dir[400], *text;
	int rc, samples = b->samples;
	size_t len;

	/* Writable entries with a partial mask: restore reads and merges. */
	rc = list_text(real, real_mask, nreal, 0, SAVE_ENTRIES - nreal, 0xffff,
		       &text, &len);
	if (rc < 0)
		return rc;
	rc = install_text(text, len);
	free(text);
	if (rc < 0)
		goto fail;
	rc = percpu_dir(b, dir, sizeof(dir));
	if (rc < 0)
		goto fail;
	sb = (struct save){.dir = DEV_DIR, .want = MSR_BACKEND_BATCH};
	sp = (struct save){.dir = dir, .want = MSR_BACKEND_PERCPU};
	t[0] = (struct timed){.fn = save_restore_verify, .ctx = &sb};
	t[1] = (struct timed){.fn = save_restore_verify, .ctx = &sp};
	rc = measure_many(b, t, 2);
	if (rc < 0)
		goto fail;
	report("msrsave", "batch", SAVE_ENTRIES, &t[0], (long)sb.values);
	report("msrsave", "percpu", SAVE_ENTRIES, &t[1], (long)sp.values);
	/* The breakdown needs less precision: fewer samples. */
	samples = b->samples;
	b->samples = 3;
	rc = bench_phases(b, DEV_DIR, "batch");
	if (rc < 0)
		goto fail;
	rc = bench_phases(b, dir, "percpu");
	b->samples = samples;
fail:
	if (rc < 0)
		fprintf(stderr, "msrsave section: %s\n", strerror(-rc));
	return rc;
}

/* ---- where the time goes: syscall and cross-CPU call costs ------------- */

struct one {
	struct msr_batch_op op;
	int cpu;
};

static int null_syscall(struct bench *b, void *ctx)
{
	(void)b;
	(void)ctx;
	return syscall(SYS_getppid) > 0 ? 0 : -EIO;
}

/* What a snapshot does besides reading MSRs: identify the host. */
static int identify(struct bench *b, void *ctx)
{
	struct msr_cpu_id id;
	char boot_id[64];
	int rc;

	(void)b;
	(void)ctx;
	rc = msr_cpu_identify(NULL, &id, NULL);
	if (rc == 0)
		rc = msr_boot_id(boot_id, sizeof(boot_id), NULL);
	return rc;
}

static int one_batch(struct bench *b, void *ctx)
{
	struct one *o = ctx;

	return batch_call(b->batch_fd, &o->op, 1);
}

static int one_pread(struct bench *b, void *ctx)
{
	struct one *o = ctx;
	uint64_t v;

	if (pread(b->safe_fd[o->cpu], &v, sizeof(v), (off_t)SYNTH_BASE) !=
	    sizeof(v))
		return errno ? -errno : -EIO;
	return 0;
}

#define SPREAD_K 100

struct one_cpu {
	struct msr_batch_op *ops;
	size_t n;
};

static int batch_one_cpu(struct bench *b, void *ctx)
{
	struct one_cpu *oc = ctx;

	return batch_call(b->batch_fd, oc->ops, oc->n);
}

static int bench_costs(struct bench *b)
{
	struct one local = {.op = {.isrdmsr = 1, .msr = SYNTH_BASE}};
	struct one remote = local;
	struct timed t[4];
	struct timed tm;
	int rc;

	rc = install_synth(1, 0);
	if (rc < 0)
		return rc;
	rc = measure(b, null_syscall, NULL, &tm);
	if (rc < 0)
		return rc;
	report("cost", "syscall", 0, &tm, 1);
	rc = measure(b, identify, NULL, &tm);
	if (rc < 0)
		return rc;
	report("cost", "identify", 0, &tm, 1);
	/* CPU 0 is this CPU; the last CPU needs a cross-CPU call. */
	local.cpu = 0;
	remote.cpu = b->ncpus - 1;
	local.op.cpu = (__u16)local.cpu;
	remote.op.cpu = (__u16)remote.cpu;
	t[0] = (struct timed){.fn = one_batch, .ctx = &local};
	t[1] = (struct timed){.fn = one_pread, .ctx = &local};
	t[2] = (struct timed){.fn = one_batch, .ctx = &remote};
	t[3] = (struct timed){.fn = one_pread, .ctx = &remote};
	rc = measure_many(b, t, b->ncpus > 1 ? 4 : 2);
	if (rc < 0)
		return rc;
	report("cost", "batch1-local", 0, &t[0], 1);
	report("cost", "pread-local", 0, &t[1], 1);
	if (b->ncpus > 1) {
		report("cost", "batch1-remote", remote.cpu, &t[2], 1);
		report("cost", "pread-remote", remote.cpu, &t[3], 1);
	}
	/*
	 * The reads of K = 100 on every CPU, all sent to one other CPU
	 * instead: the same ops and work, one cross-CPU call.
	 */
	if (b->ncpus > 1) {
		size_t n = (size_t)SPREAD_K * b->ncpus;
		struct one_cpu oc = {.n = n};

		oc.ops = calloc(n, sizeof(*oc.ops));
		if (!oc.ops)
			return -ENOMEM;
		for (size_t i = 0; i < n; i++)
			oc.ops[i] = (struct msr_batch_op){
			    .cpu = (__u16)(b->ncpus - 1),
			    .isrdmsr = 1,
			    .msr = SYNTH_BASE + (uint32_t)(i % SPREAD_K)};
		rc = install_synth(SPREAD_K, 0);
		if (rc == 0)
			rc = measure(b, batch_one_cpu, &oc, &tm);
		free(oc.ops);
		if (rc < 0)
			return rc;
		report("cost", "batch-onecpu", SPREAD_K, &tm, (long)n);
	}
	return 0;
}

/* ---- setup -------------------------------------------------------------- */

static int open_devices(struct bench *b)
{
	char path[128];

	b->batch_fd = open(BATCH_DEV, O_RDWR | O_CLOEXEC);
	if (b->batch_fd < 0) {
		fprintf(stderr, "msrbench: %s: %s\n", BATCH_DEV,
			strerror(errno));
		return -errno;
	}
	for (int c = 0; c < b->ncpus; c++) {
		snprintf(path, sizeof(path), DEV_DIR "/%d/msr_safe", c);
		b->safe_fd[c] = open(path, O_RDONLY | O_CLOEXEC);
		if (b->safe_fd[c] < 0) {
			fprintf(stderr, "msrbench: %s: %s\n", path,
				strerror(errno));
			return -errno;
		}
		if (!b->stock)
			continue;
		snprintf(path, sizeof(path), DEV_DIR "/%d/msr", c);
		b->stock_fd[c] = open(path, O_RDONLY | O_CLOEXEC);
		if (b->stock_fd[c] < 0) {
			fprintf(stderr, "msrbench: %s: %s\n", path,
				strerror(errno));
			return -errno;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct bench b = {.samples = 7, .sample_ns = 40000000LL};
	cpu_set_t set;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--scratch") && i + 1 < argc)
			b.scratch = argv[++i];
		else if (!strcmp(argv[i], "--stock"))
			b.stock = true;
		else if (!strcmp(argv[i], "--quick")) {
			b.samples = 3;
			b.sample_ns = 5000000LL;
		} else {
			fprintf(stderr,
				"usage: msrbench --scratch DIR [--stock] "
				"[--quick]\n");
			return 2;
		}
	}
	if (!b.scratch) {
		fprintf(stderr, "msrbench: --scratch DIR is required\n");
		return 2;
	}
	b.ncpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (b.ncpus < 1 || b.ncpus > MAX_CPUS) {
		fprintf(stderr, "msrbench: %d CPUs online\n", b.ncpus);
		return 1;
	}
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0) {
		perror("msrbench: sched_setaffinity");
		return 1;
	}
	if (open_devices(&b) < 0)
		return 1;
	printf("# msrbench: %d CPUs, %d samples of >= %lld ms each\n", b.ncpus,
	       b.samples, b.sample_ns / 1000000);
	fflush(stdout);
	if (bench_costs(&b) < 0 || bench_reads(&b) < 0 ||
	    bench_lookup(&b) < 0 || bench_install(&b) < 0 ||
	    bench_msrsave(&b) < 0)
		return 1;
	printf("# msrbench: done\n");
	return 0;
}
