// SPDX-License-Identifier: GPL-2.0-only
/* Userspace side of the shared allowlist parser (module/allowlist.c). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "msrsave_int.h"

/* Copy line @line (1-based) of @text into @buf, trimmed, for messages. */
static void line_excerpt(const char *text, size_t len, u32 line, char *buf,
			 size_t cap)
{
	size_t i = 0, start, end, n = 0;
	u32 cur = 1;

	buf[0] = 0;
	if (!line || !cap)
		return;
	while (i < len && cur < line) {
		if (text[i] == '\n')
			cur++;
		i++;
	}
	start = i;
	while (i < len && text[i] != '\n' && text[i] != '\r')
		i++;
	end = i;
	while (start < end && (text[start] == ' ' || text[start] == '\t'))
		start++;
	while (end > start && (text[end - 1] == ' ' || text[end - 1] == '\t'))
		end--;
	for (i = start; i < end && n + 1 < cap; i++)
		buf[n++] = (text[i] >= 0x20 && text[i] < 0x7f) ? text[i] : '?';
	buf[n] = 0;
}

/* Both entry points: @live lifts the one-write limit (see al_parse_text). */
static int parse_allowlist(const char *text, size_t len, const char *name,
			   bool live, struct msr_allowlist *al,
			   struct msr_err *err)
{
	struct al_entry *entries;
	size_t cap, count = 0;
	u32 line = 0;
	int rc;

	al->entries = NULL;
	al->count = 0;
	if (!name)
		name = "<allowlist>";
	if (!live && len > AL_TEXT_MAX)
		return msr_err_set(err, -E2BIG,
				   "%s: %zu bytes, larger than the %d bytes "
				   "an allowlist may have",
				   name, len, AL_TEXT_MAX);
	cap = al_max_entries(text, len);
	entries = calloc(cap ? cap : 1, sizeof(*entries));
	if (!entries)
		return msr_err_set(err, -ENOMEM, "%s: out of memory", name);
	rc = al_parse_text(text, len, entries, cap, &count, &line);
	/* The device prints an empty list as its header alone. */
	if (live && rc == -ENOMSG)
		rc = 0;
	if (rc < 0) {
		char excerpt[80];

		free(entries);
		line_excerpt(text, len, line, excerpt, sizeof(excerpt));
		if (line)
			return msr_err_set(err, rc, "%s:%u: %s: '%s'", name,
					   line, al_strerror(rc), excerpt);
		return msr_err_set(err, rc, "%s: %s", name, al_strerror(rc));
	}
	al->entries = entries;
	al->count = count;
	return 0;
}

int msr_allowlist_parse(const char *text, size_t len, const char *name,
			struct msr_allowlist *al, struct msr_err *err)
{
	return parse_allowlist(text, len, name, false, al, err);
}

int msr_allowlist_load(const char *path, struct msr_allowlist *al,
		       struct msr_err *err)
{
	char *text;
	size_t len;
	int rc;

	al->entries = NULL;
	al->count = 0;
	rc = msr_read_file(path, AL_TEXT_MAX, &text, &len, err);
	if (rc < 0)
		return rc;
	rc = msr_allowlist_parse(text, len, path, al, err);
	free(text);
	return rc;
}

int msr_allowlist_merge(const struct msr_allowlist *a,
			const struct msr_allowlist *b,
			struct msr_allowlist *out, struct msr_err *err)
{
	size_t total = a->count + b->count;
	struct al_entry *m = calloc(total ? total : 1, sizeof(*m));

	out->entries = NULL;
	out->count = 0;
	if (!m)
		return msr_err_set(err, -ENOMEM, "out of memory");
	out->count = al_merge(a->entries, a->count, b->entries, b->count, m);
	out->entries = m;
	return 0;
}

int msr_allowlist_render(const struct msr_allowlist *al, char **text,
			 size_t *len, struct msr_err *err)
{
	size_t need = al_render(al->entries, al->count, NULL, 0);
	char *buf = malloc(need + 1);

	*text = NULL;
	if (!buf)
		return msr_err_set(err, -ENOMEM, "out of memory");
	al_render(al->entries, al->count, buf, need);
	buf[need] = 0;
	*text = buf;
	if (len)
		*len = need;
	return 0;
}

void msr_allowlist_free(struct msr_allowlist *al)
{
	if (!al)
		return;
	free(al->entries);
	al->entries = NULL;
	al->count = 0;
}

int msr_allowlist_parse_live(const char *text, size_t len, const char *name,
			     struct msr_allowlist *al, struct msr_err *err)
{
	return parse_allowlist(text, len, name, true, al, err);
}
