// SPDX-License-Identifier: GPL-2.0-only
/*
 * CPU lists ("0-3,8", "all") on top of the device's CPU set: kept out of
 * err.c so that errors depend on nothing and devices do not depend on
 * CPU lists.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msrsave.h"

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

static int bad_cpulist(struct msr_err *err, const char *text)
{
	return msr_err_set(err, -EINVAL,
			   "bad CPU list '%s' (expected e.g. 0-3,8 or all)",
			   text ? text : "");
}

/* Largest CPU number accepted: the batch ABI carries CPUs in 16 bits. */
#define CPULIST_MAX 65535

int msr_parse_cpulist(const char *text, const struct msr_dev *dev, int **cpus,
		      size_t *n, struct msr_err *err)
{
	int *list = NULL;
	size_t cnt = 0, cap = 0;
	const char *p = text;
	int rc;

	*cpus = NULL;
	*n = 0;
	if (!text || !*text) {
		rc = bad_cpulist(err, text);
		goto fail;
	}
	if (!strcmp(text, "all")) {
		if (!dev) {
			rc = msr_err_set(err, -EINVAL,
					 "CPU list 'all' needs a device");
			goto fail;
		}
		cnt = msr_dev_ncpus(dev);
		list = malloc((cnt ? cnt : 1) * sizeof(*list));
		if (!list) {
			rc = msr_err_set(err, -ENOMEM, "out of memory");
			goto fail;
		}
		memcpy(list, msr_dev_cpus(dev), cnt * sizeof(*list));
		*cpus = list;
		*n = cnt;
		return 0;
	}
	while (*p) {
		char buf[16];
		size_t len = strcspn(p, ",-");
		uint64_t lo, hi;

		if (len == 0 || len >= sizeof(buf)) {
			rc = bad_cpulist(err, text);
			goto fail;
		}
		memcpy(buf, p, len);
		buf[len] = 0;
		if (buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X')) {
			rc = bad_cpulist(err, text);
			goto fail;
		}
		if (msr_parse_u64(buf, CPULIST_MAX, &lo)) {
			rc = bad_cpulist(err, text);
			goto fail;
		}
		p += len;
		hi = lo;
		if (*p == '-') {
			p++;
			len = strcspn(p, ",-");
			if (len == 0 || len >= sizeof(buf) || p[len] == '-') {
				rc = bad_cpulist(err, text);
				goto fail;
			}
			memcpy(buf, p, len);
			buf[len] = 0;
			if (buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X')) {
				rc = bad_cpulist(err, text);
				goto fail;
			}
			if (msr_parse_u64(buf, CPULIST_MAX, &hi) || hi < lo) {
				rc = bad_cpulist(err, text);
				goto fail;
			}
			p += len;
		}
		if (*p == ',') {
			p++;
			if (!*p) {
				rc = bad_cpulist(err, text);
				goto fail;
			}
		}
		for (uint64_t c = lo; c <= hi; c++) {
			if (cnt == cap) {
				size_t ncap = cap ? cap * 2 : 16;
				int *nl = realloc(list, ncap * sizeof(*nl));

				if (!nl) {
					rc = msr_err_set(err, -ENOMEM,
							 "out of memory");
					goto fail;
				}
				list = nl;
				cap = ncap;
			}
			list[cnt++] = (int)c;
		}
	}
	qsort(list, cnt, sizeof(*list), cmp_int);
	{
		size_t w = 0;

		for (size_t i = 0; i < cnt; i++)
			if (w == 0 || list[w - 1] != list[i])
				list[w++] = list[i];
		cnt = w;
	}
	if (dev) {
		const int *have = msr_dev_cpus(dev);
		size_t nhave = msr_dev_ncpus(dev);

		for (size_t i = 0; i < cnt; i++) {
			if (!bsearch(&list[i], have, nhave, sizeof(*have),
				     cmp_int)) {
				rc = msr_err_set(
				    err, -ENXIO,
				    "CPU %d in '%s' has no MSR device in %s",
				    list[i], text, msr_dev_dir(dev));
				goto fail;
			}
		}
	}
	*cpus = list;
	*n = cnt;
	return 0;
fail:
	free(list);
	return rc;
}

void msr_format_cpulist(const int *cpus, size_t n, char *buf, size_t cap)
{
	size_t used = 0;

	if (!cap)
		return;
	buf[0] = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		char part[32];
		int len;

		while (j + 1 < n && cpus[j + 1] == cpus[j] + 1)
			j++;
		if (j == i)
			len = snprintf(part, sizeof(part), "%s%d", i ? "," : "",
				       cpus[i]);
		else
			len = snprintf(part, sizeof(part), "%s%d-%d",
				       i ? "," : "", cpus[i], cpus[j]);
		if (used + (size_t)len + 4 > cap) {
			snprintf(buf + used, cap - used, "...");
			return;
		}
		memcpy(buf + used, part, (size_t)len + 1);
		used += (size_t)len;
		i = j + 1;
	}
}
