// SPDX-License-Identifier: GPL-2.0-only
/* Snapshot, restore, verify and compare MSR states. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "msr_safe.h"
#include "msrsave_int.h"
#include "sha256.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION MSR_SAFE_VERSION_STR
#endif

void msr_report_free(struct msr_report *rep)
{
	if (!rep)
		return;
	free(rep->items);
	memset(rep, 0, sizeof(*rep));
}

static int report_add(struct msr_report *rep, int cpu, uint32_t msr,
		      uint64_t mask, uint64_t expected, uint64_t actual,
		      int operr, size_t *cap)
{
	struct msr_mismatch *m;

	if (rep->count == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct msr_mismatch *bigger =
		    realloc(rep->items, ncap * sizeof(*bigger));

		if (!bigger)
			return -ENOMEM;
		rep->items = bigger;
		*cap = ncap;
	}
	m = &rep->items[rep->count++];
	m->cpu = cpu;
	m->msr = msr;
	m->mask = mask;
	m->expected = expected;
	m->actual = actual;
	m->err = operr;
	return 0;
}

int msr_snapshot(struct msr_dev *dev, const struct msr_allowlist *al,
		 const char *al_path, unsigned int flags,
		 struct msr_state **out, struct msr_err *err)
{
	const size_t ncpus = msr_dev_ncpus(dev);
	struct msr_state *st;
	struct msr_op *ops = NULL;
	struct msr_err ignored;
	size_t nm = 0, k = 0;
	int rc;

	*out = NULL;
	st = calloc(1, sizeof(*st));
	if (!st)
		return msr_err_set(err, -ENOMEM, "out of memory");
	if (gethostname(st->host, sizeof(st->host) - 1) < 0)
		snprintf(st->host, sizeof(st->host), "unknown");
	/* Identity is informative only: a missing value is not fatal. */
	if (msr_boot_id(st->boot_id, sizeof(st->boot_id), &ignored) < 0)
		st->boot_id[0] = 0;
	if (msr_cpu_identify(NULL, &st->cpu, &ignored) < 0)
		memset(&st->cpu, 0, sizeof(st->cpu));
	st->created = (int64_t)time(NULL);
	snprintf(st->tool_version, sizeof(st->tool_version), "%s",
		 PACKAGE_VERSION);
	snprintf(st->allowlist_path, sizeof(st->allowlist_path), "%s",
		 al_path ? al_path : "");
	rc = msr_allowlist_render(al, &st->allowlist_text, NULL, err);
	if (rc < 0)
		goto fail;
	sha256_hex(st->allowlist_text, strlen(st->allowlist_text),
		   st->allowlist_sha256);

	st->ncpus = ncpus;
	st->cpus = malloc((ncpus ? ncpus : 1) * sizeof(*st->cpus));
	if (!st->cpus) {
		rc = -ENOMEM;
		goto fail;
	}
	memcpy(st->cpus, msr_dev_cpus(dev), ncpus * sizeof(*st->cpus));
	st->msrs = calloc(al->count ? al->count : 1, sizeof(*st->msrs));
	if (!st->msrs) {
		rc = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < al->count; i++) {
		struct msr_state_msr *m;

		if ((flags & MSR_SNAP_WRITABLE_ONLY) && !al->entries[i].wmask)
			continue;
		m = &st->msrs[nm++];
		st->nmsrs = nm;
		m->msr = al->entries[i].msr;
		m->wmask = al->entries[i].wmask;
		m->values = calloc(ncpus ? ncpus : 1, sizeof(*m->values));
		m->errs = calloc(ncpus ? ncpus : 1, sizeof(*m->errs));
		if (!m->values || !m->errs) {
			rc = -ENOMEM;
			goto fail;
		}
	}
	if (nm && ncpus) {
		ops = calloc(nm * ncpus, sizeof(*ops));
		if (!ops) {
			rc = -ENOMEM;
			goto fail;
		}
		for (size_t i = 0; i < nm; i++)
			for (size_t c = 0; c < ncpus; c++, k++) {
				ops[k].cpu = st->cpus[c];
				ops[k].msr = st->msrs[i].msr;
			}
		/* Per-op errors are recorded, not fatal. */
		rc = msr_dev_exec(dev, ops, k, err);
		if (rc < 0) {
			bool any_op_err = false;

			for (size_t j = 0; j < k; j++)
				if (ops[j].err)
					any_op_err = true;
			if (!any_op_err)
				goto fail;
		}
		k = 0;
		for (size_t i = 0; i < nm; i++)
			for (size_t c = 0; c < ncpus; c++, k++) {
				st->msrs[i].values[c] =
				    ops[k].err ? 0 : ops[k].value;
				st->msrs[i].errs[c] = ops[k].err;
			}
	}
	free(ops);
	*out = st;
	return 0;
fail:
	if (rc == -ENOMEM)
		msr_err_set(err, rc, "out of memory");
	free(ops);
	msr_state_free(st);
	return rc;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* Ops reading (or writing) every restorable value of @st. */
static int restorable_ops(const struct msr_state *st, bool write,
			  struct msr_op **out, size_t *n, size_t *unreadable)
{
	struct msr_op *ops;
	size_t k = 0, skipped = 0, total = 0;

	for (size_t i = 0; i < st->nmsrs; i++)
		if (st->msrs[i].wmask)
			total += st->ncpus;
	ops = calloc(total ? total : 1, sizeof(*ops));
	if (!ops)
		return -ENOMEM;
	for (size_t i = 0; i < st->nmsrs; i++) {
		const struct msr_state_msr *m = &st->msrs[i];

		if (!m->wmask)
			continue;
		for (size_t c = 0; c < st->ncpus; c++) {
			if (m->errs && m->errs[c]) {
				skipped++;
				continue;
			}
			ops[k].cpu = st->cpus[c];
			ops[k].msr = m->msr;
			ops[k].write = write;
			ops[k].value = m->values[c];
			k++;
		}
	}
	*out = ops;
	*n = k;
	if (unreadable)
		*unreadable = skipped;
	return 0;
}

static const struct msr_state_msr *find_msr(const struct msr_state *st,
					    uint32_t msr)
{
	size_t lo = 0, hi = st->nmsrs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (st->msrs[mid].msr == msr)
			return &st->msrs[mid];
		if (st->msrs[mid].msr < msr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int cpu_index(const struct msr_state *st, int cpu)
{
	const int *hit =
	    bsearch(&cpu, st->cpus, st->ncpus, sizeof(int), cmp_int);

	return hit ? (int)(hit - st->cpus) : -1;
}

/* Read back what @st says and list the differences under each mask. */
static int verify_into(struct msr_dev *dev, const struct msr_state *st,
		       struct msr_report *rep, size_t *cap,
		       const bool *write_failed, struct msr_err *err)
{
	struct msr_op *ops;
	size_t n;
	int rc;

	rc = restorable_ops(st, false, &ops, &n, NULL);
	if (rc < 0)
		return msr_err_set(err, rc, "out of memory");
	rc = msr_dev_exec(dev, ops, n, err);
	if (rc < 0) {
		bool any_op_err = false;

		for (size_t k = 0; k < n; k++)
			if (ops[k].err)
				any_op_err = true;
		if (!any_op_err)
			goto fail;
	}
	rc = 0;
	for (size_t k = 0; k < n && rc == 0; k++) {
		const struct msr_state_msr *m = find_msr(st, ops[k].msr);
		int c = cpu_index(st, ops[k].cpu);
		uint64_t want = m->values[c] & m->wmask;
		uint64_t got = ops[k].value & m->wmask;

		/* A failed write was reported already; don't list it twice. */
		if (write_failed && write_failed[k])
			continue;
		if (ops[k].err)
			rc = report_add(rep, ops[k].cpu, ops[k].msr, m->wmask,
					want, 0, ops[k].err, cap);
		else if (want != got)
			rc = report_add(rep, ops[k].cpu, ops[k].msr, m->wmask,
					want, got, 0, cap);
	}
	if (rc < 0)
		msr_err_set(err, rc, "out of memory");
fail:
	free(ops);
	return rc;
}

int msr_verify(struct msr_dev *dev, const struct msr_state *st,
	       struct msr_report *rep, struct msr_err *err)
{
	size_t cap = 0, n;
	struct msr_op *ops;
	int rc;

	memset(rep, 0, sizeof(*rep));
	rc = restorable_ops(st, false, &ops, &n, &rep->unreadable);
	free(ops);
	if (rc < 0)
		return msr_err_set(err, rc, "out of memory");
	rc = verify_into(dev, st, rep, &cap, NULL, err);
	if (rc < 0)
		return rc;
	return rep->count ? -EIO : 0;
}

/*
 * A CPU of @st that @dev no longer has (taken offline since) fails per
 * value with -ENXIO while the other CPUs are still restored: a job's
 * epilog must put back as much as it can, and the report says what not.
 */
int msr_restore(struct msr_dev *dev, const struct msr_state *st,
		struct msr_report *rep, struct msr_err *err)
{
	struct msr_op *ops = NULL, *wops = NULL;
	bool *failed = NULL;
	int *pre_err = NULL;
	size_t cap = 0, n, nw = 0;
	int rc;

	memset(rep, 0, sizeof(*rep));
	rc = restorable_ops(st, true, &ops, &n, &rep->unreadable);
	if (rc < 0)
		return msr_err_set(err, rc, "out of memory");
	failed = calloc(n ? n : 1, sizeof(*failed));
	pre_err = calloc(n ? n : 1, sizeof(*pre_err));
	wops = calloc(n ? n : 1, sizeof(*wops));
	if (!failed || !pre_err || !wops) {
		rc = msr_err_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	/*
	 * The stock driver writes all 64 bits: merge the saved bits into the
	 * current value ourselves, as msr_safe does in the kernel.  Where the
	 * current value cannot be read, nothing is written.
	 */
	if (msr_dev_backend(dev) == MSR_BACKEND_STOCK) {
		for (size_t k = 0; k < n; k++)
			ops[k].write = false;
		msr_dev_exec(dev, ops, n, NULL);
		for (size_t k = 0; k < n; k++) {
			const struct msr_state_msr *m =
			    find_msr(st, ops[k].msr);
			int c = cpu_index(st, ops[k].cpu);

			pre_err[k] = ops[k].err;
			ops[k].value = (m->values[c] & m->wmask) |
				       (ops[k].value & ~m->wmask);
			ops[k].write = true;
		}
	}
	for (size_t k = 0; k < n; k++)
		if (!pre_err[k])
			wops[nw++] = ops[k];
	rc = msr_dev_exec(dev, wops, nw, err);
	if (rc < 0) {
		bool any_op_err = false;

		for (size_t k = 0; k < nw; k++)
			if (wops[k].err)
				any_op_err = true;
		if (!any_op_err)
			goto fail;
	}
	for (size_t k = 0, j = 0; k < n; k++)
		ops[k].err = pre_err[k] ? pre_err[k] : wops[j++].err;
	rc = 0;
	for (size_t k = 0; k < n && rc == 0; k++) {
		const struct msr_state_msr *m = find_msr(st, ops[k].msr);
		int c = cpu_index(st, ops[k].cpu);

		if (!ops[k].err) {
			rep->written++;
			continue;
		}
		failed[k] = true;
		rc = report_add(rep, ops[k].cpu, ops[k].msr, m->wmask,
				m->values[c] & m->wmask, 0, ops[k].err, &cap);
	}
	if (rc < 0) {
		msr_err_set(err, rc, "out of memory");
		goto fail;
	}
	rc = verify_into(dev, st, rep, &cap, failed, err);
	if (rc < 0)
		goto fail;
	rc = rep->count ? -EIO : 0;
fail:
	free(ops);
	free(wops);
	free(pre_err);
	free(failed);
	return rc;
}

int msr_state_diff(const struct msr_state *a, const struct msr_state *b,
		   struct msr_report *rep, struct msr_err *err)
{
	size_t cap = 0, i = 0, j = 0;
	int rc = 0;

	memset(rep, 0, sizeof(*rep));
	/* Walk both MSR lists (ascending) and the union of their CPUs. */
	while (rc == 0 && (i < a->nmsrs || j < b->nmsrs)) {
		const struct msr_state_msr *ma = NULL, *mb = NULL;

		if (j == b->nmsrs ||
		    (i < a->nmsrs && a->msrs[i].msr < b->msrs[j].msr)) {
			ma = &a->msrs[i++];
		} else if (i == a->nmsrs || b->msrs[j].msr < a->msrs[i].msr) {
			mb = &b->msrs[j++];
		} else {
			ma = &a->msrs[i++];
			mb = &b->msrs[j++];
		}
		for (size_t ca = 0, cb = 0;
		     rc == 0 && (ca < a->ncpus || cb < b->ncpus);) {
			int cpu, ia = -1, ib = -1;
			bool va, vb;
			uint64_t xa = 0, xb = 0;

			if (cb == b->ncpus ||
			    (ca < a->ncpus && a->cpus[ca] < b->cpus[cb])) {
				cpu = a->cpus[ca];
				ia = (int)ca++;
			} else if (ca == a->ncpus ||
				   b->cpus[cb] < a->cpus[ca]) {
				cpu = b->cpus[cb];
				ib = (int)cb++;
			} else {
				cpu = a->cpus[ca];
				ia = (int)ca++;
				ib = (int)cb++;
			}
			va = ma && ia >= 0 && !(ma->errs && ma->errs[ia]);
			vb = mb && ib >= 0 && !(mb->errs && mb->errs[ib]);
			if (va)
				xa = ma->values[ia];
			if (vb)
				xb = mb->values[ib];
			if (va && vb && xa == xb)
				continue;
			if (!va && !vb)
				continue;
			rc = report_add(rep, cpu, ma ? ma->msr : mb->msr,
					ma ? ma->wmask : mb->wmask, xa, xb,
					va && vb ? 0 : -ENODATA, &cap);
		}
	}
	if (rc < 0)
		return msr_err_set(err, rc, "out of memory");
	return 0;
}

/* ---- restore what changed ------------------------------------------------ */

void msr_changes_free(struct msr_changes *c)
{
	if (!c)
		return;
	free(c->changed);
	free(c->failed);
	memset(c, 0, sizeof(*c));
}

const char *msr_unrestored_strwhy(const struct msr_unrestored *u)
{
	switch (u->why) {
	case MSR_UNRESTORED_MISMATCH:
		return "read back differs from the saved value under the mask";
	case MSR_UNRESTORED_OP_FAILED:
		return msr_op_strerror(u->err);
	case MSR_UNRESTORED_NOT_SAVED:
		return "writable, but unreadable when the snapshot was taken: "
		       "a change to it cannot be undone";
	case MSR_UNRESTORED_NEW_CPU:
		return "CPU came online after the snapshot: none of its MSRs "
		       "were saved";
	}
	return "unknown";
}

/* Make room for one more element of @size in *@arr (@count used). */
static int grow(void **arr, size_t *cap, size_t count, size_t size)
{
	void *bigger;
	size_t ncap;

	if (count < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	bigger = realloc(*arr, ncap * size);
	if (!bigger)
		return -ENOMEM;
	*arr = bigger;
	*cap = ncap;
	return 0;
}

static int add_failed(struct msr_changes *c, size_t *cap,
		      struct msr_unrestored u)
{
	void *arr = c->failed;
	int rc = grow(&arr, cap, c->nfailed, sizeof(*c->failed));

	c->failed = arr;
	if (rc < 0)
		return rc;
	c->failed[c->nfailed++] = u;
	return 0;
}

static int add_changed(struct msr_changes *c, size_t *cap,
		       struct msr_mismatch m)
{
	void *arr = c->changed;
	int rc = grow(&arr, cap, c->nchanged, sizeof(*c->changed));

	c->changed = arr;
	if (rc < 0)
		return rc;
	c->changed[c->nchanged++] = m;
	return 0;
}

/* Run @ops; per-op errors stay in the ops, only a call error fails. */
static int exec_each(struct msr_dev *dev, struct msr_op *ops, size_t n,
		     struct msr_err *err)
{
	int rc;

	if (!n)
		return 0;
	rc = msr_dev_exec(dev, ops, n, err);
	if (rc == 0)
		return 0;
	for (size_t k = 0; k < n; k++)
		if (ops[k].err)
			return 0;
	return rc;
}

/* Unsaved writable values, and CPUs online now but not in @st. */
static int list_unsaved(struct msr_dev *dev, const struct msr_state *st,
			struct msr_changes *out, size_t *fcap)
{
	const int *cpus = msr_dev_cpus(dev);
	bool any_writable = false;
	int rc = 0;

	for (size_t i = 0; i < st->nmsrs && rc == 0; i++) {
		const struct msr_state_msr *m = &st->msrs[i];

		if (!m->wmask)
			continue;
		any_writable = true;
		for (size_t c = 0; c < st->ncpus && rc == 0; c++)
			if (m->errs && m->errs[c])
				rc = add_failed(
				    out, fcap,
				    (struct msr_unrestored){
					.cpu = st->cpus[c],
					.msr = m->msr,
					.mask = m->wmask,
					.err = m->errs[c],
					.why = MSR_UNRESTORED_NOT_SAVED});
	}
	/* A job that could write nothing changed nothing on any CPU. */
	for (size_t k = 0; any_writable && k < msr_dev_ncpus(dev) && rc == 0;
	     k++)
		if (cpu_index(st, cpus[k]) < 0)
			rc = add_failed(
			    out, fcap,
			    (struct msr_unrestored){
				.cpu = cpus[k], .why = MSR_UNRESTORED_NEW_CPU});
	return rc;
}

int msr_restore_changed(struct msr_dev *dev, const struct msr_state *st,
			unsigned int flags, struct msr_changes *out,
			struct msr_err *err)
{
	const bool stock = msr_dev_backend(dev) == MSR_BACKEND_STOCK;
	struct msr_op *ops = NULL, *wops = NULL, *rops = NULL;
	size_t nops = 0, nw = 0, total = 0, ccap = 0, fcap = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < st->nmsrs; i++)
		if (st->msrs[i].wmask)
			total += st->ncpus;
	ops = calloc(total ? total : 1, sizeof(*ops));
	wops = calloc(total ? total : 1, sizeof(*wops));
	rops = calloc(total ? total : 1, sizeof(*rops));
	if (!ops || !wops || !rops) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = list_unsaved(dev, st, out, &fcap);
	if (rc < 0)
		goto fail;
	for (size_t i = 0; i < st->nmsrs; i++) {
		const struct msr_state_msr *m = &st->msrs[i];

		for (size_t c = 0; m->wmask && c < st->ncpus; c++)
			if (!(m->errs && m->errs[c]))
				ops[nops++] = (struct msr_op){
				    .cpu = st->cpus[c], .msr = m->msr};
	}
	rc = exec_each(dev, ops, nops, err);
	if (rc < 0)
		goto fail_msg;
	out->compared = nops;

	/* Only the bits the job could write count as a change. */
	for (size_t k = 0; k < nops; k++) {
		const struct msr_state_msr *m = find_msr(st, ops[k].msr);
		const uint64_t saved = m->values[cpu_index(st, ops[k].cpu)];
		const uint64_t mask = m->wmask;

		if (!ops[k].err && !((saved ^ ops[k].value) & mask))
			continue;
		rc = add_changed(
		    out, &ccap,
		    (struct msr_mismatch){
			.cpu = ops[k].cpu,
			.msr = ops[k].msr,
			.mask = mask,
			.expected = saved & mask,
			.actual = ops[k].err ? 0 : ops[k].value & mask,
			.err = ops[k].err});
		if (rc < 0)
			goto fail;
		if (flags & MSR_RESTORE_DRY_RUN)
			continue;
		/* The stock driver masks nothing: never write it blind. */
		if (stock && ops[k].err) {
			rc = add_failed(out, &fcap,
					(struct msr_unrestored){
					    .cpu = ops[k].cpu,
					    .msr = ops[k].msr,
					    .mask = mask,
					    .expected = saved & mask,
					    .err = ops[k].err,
					    .why = MSR_UNRESTORED_OP_FAILED});
			if (rc < 0)
				goto fail;
			continue;
		}
		wops[nw] = (struct msr_op){
		    .cpu = ops[k].cpu,
		    .msr = ops[k].msr,
		    .write = true,
		    .value = stock ? (saved & mask) | (ops[k].value & ~mask)
				   : saved};
		rops[nw++] =
		    (struct msr_op){.cpu = ops[k].cpu, .msr = ops[k].msr};
	}
	rc = exec_each(dev, wops, nw, err);
	if (rc == 0)
		rc = exec_each(dev, rops, nw, err);
	if (rc < 0)
		goto fail_msg;
	/* What counts is the value left behind, read back. */
	for (size_t j = 0; j < nw && rc == 0; j++) {
		const struct msr_state_msr *m = find_msr(st, rops[j].msr);
		const uint64_t saved = m->values[cpu_index(st, rops[j].cpu)];
		struct msr_unrestored u = {.cpu = rops[j].cpu,
					   .msr = rops[j].msr,
					   .mask = m->wmask,
					   .expected = saved & m->wmask};

		if (!wops[j].err)
			out->written++;
		if (rops[j].err) {
			u.err = wops[j].err ? wops[j].err : rops[j].err;
			u.why = MSR_UNRESTORED_OP_FAILED;
		} else if ((rops[j].value ^ saved) & m->wmask) {
			u.actual = rops[j].value & m->wmask;
			u.err = wops[j].err;
			u.why = wops[j].err ? MSR_UNRESTORED_OP_FAILED
					    : MSR_UNRESTORED_MISMATCH;
		} else {
			continue;
		}
		rc = add_failed(out, &fcap, u);
	}
	if (rc < 0)
		goto fail;
	rc = out->nfailed ? -EIO : 0;
	goto out;
fail:
	msr_err_set(err, rc, "out of memory");
fail_msg:
	msr_changes_free(out);
out:
	free(ops);
	free(wops);
	free(rops);
	return rc;
}
