// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for the shared allowlist parser.  Beyond "no crash" it
 * checks the invariants the module relies on: accepted lists are sorted
 * and unique, render -> parse gives the same list back, lookups find every
 * entry, and a list merged with itself is itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "allowlist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	size_t cap = al_max_entries(text, size);
	struct al_entry *e = calloc(cap, sizeof(*e));
	struct al_entry *back = calloc(cap + 1, sizeof(*back));
	struct al_entry *merged = calloc(2 * cap, sizeof(*merged));
	size_t n = 0, n2 = 0, len, i;
	char *out = NULL;
	u32 line;
	int err;

	check(e && back && merged);
	err = al_parse(text, size, e, cap, &n, &line);
	if (err) {
		check(err == -EINVAL || err == -ERANGE || err == -EILSEQ ||
		      err == -ENOMSG || err == -ENOTUNIQ || err == -E2BIG);
		check(n == 0);
		check(err == -ENOMSG || err == -E2BIG || line >= 1);
		goto out;
	}
	check(line == 0);
	for (i = 1; i < n; i++)
		check(e[i - 1].msr < e[i].msr);
	for (i = 0; i < n; i++)
		check(al_find(e, n, e[i].msr) == &e[i]);

	len = al_render(e, n, NULL, 0);
	check(len == AL_HEADER_LEN + n * AL_LINE_LEN);
	out = malloc(len);
	check(out != NULL);
	check(al_render(e, n, out, len) == len);
	if (n) {
		check(al_parse(out, len, back, cap + 1, &n2, &line) == 0);
		check(n2 == n);
		for (i = 0; i < n; i++)
			check(back[i].msr == e[i].msr &&
			      back[i].wmask == e[i].wmask);
	} else {
		/* The header alone is a comment: an empty list is ENOMSG. */
		check(al_parse(out, len, back, cap + 1, &n2, &line) == -ENOMSG);
	}
	check(al_merge(e, n, e, n, merged) == n);
	for (i = 0; i < n; i++)
		check(merged[i].msr == e[i].msr &&
		      merged[i].wmask == e[i].wmask);
out:
	free(out);
	free(merged);
	free(back);
	free(e);
	return 0;
}
