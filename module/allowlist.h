/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The one allowlist parser, shared by the kernel module and userspace.
 *
 * Freestanding C: no libc and no kernel calls, only the types and errno
 * values from al_shim.h, so the same object is fuzzed and unit-tested in
 * userspace and linked into msr-safe.ko.
 *
 * Text format (see shared INTERFACE.md): one "0xADDRESS 0xWRITEMASK" per
 * line, optional "# comment" after it, '#' lines and blank lines ignored,
 * any whitespace, CRLF, and a last line without a newline.
 */
#ifndef MSR_SAFE_ALLOWLIST_H
#define MSR_SAFE_ALLOWLIST_H

#include "al_shim.h"

/* Largest text accepted by one write to the allowlist device. */
#define AL_TEXT_MAX (128 * 1024 + 1)

/* The first line the allowlist device prints when read back. */
#define AL_HEADER "# MSR # Write Mask # Comment\n"
#define AL_HEADER_LEN (sizeof(AL_HEADER) - 1)

/* One rendered entry: "0x%08X 0x%016llX\n". */
#define AL_LINE_LEN 30

struct al_entry {
	u32 msr;
	u32 line; /* 1-based source line; 0 for merged entries */
	u64 wmask;
};

/* An upper bound on the entries in @text, to size al_parse()'s array. */
size_t al_max_entries(const char *text, size_t len);

/*
 * Parse @text into @entries (capacity @cap), sorted by address.
 * Returns 0 and sets *@count, or the first error as a negative errno with
 * its 1-based line in *@err_line (0 when no line applies, e.g. -E2BIG):
 *   -E2BIG    text longer than AL_TEXT_MAX, or more entries than @cap
 *   -EINVAL   an address or mask that does not parse, or a non-number
 *             after the mask
 *   -ERANGE   an address above 32 bits or a mask above 64 bits
 *   -EILSEQ   an entry that is not two numbers: an address alone (at the
 *             end of the text or of its line) or a third number after
 *             the mask (as upstream)
 *   -ENOMSG   text that is not blank but has no entry
 *   -ENOTUNIQ an address listed twice (line of the second listing)
 * Blank text (whitespace only) parses to zero entries: the "clear" case.
 */
int al_parse(const char *text, size_t len, struct al_entry *entries,
	     size_t cap, size_t *count, u32 *err_line);

/*
 * al_parse without the AL_TEXT_MAX limit, which bounds one write to the
 * device, not a list: a list read back from the device is longer than the
 * text that installed it whenever that text was denser than canonical.
 */
int al_parse_text(const char *text, size_t len, struct al_entry *entries,
		  size_t cap, size_t *count, u32 *err_line);

/* Binary search in a sorted list; NULL when @msr is not listed. */
const struct al_entry *al_find(const struct al_entry *entries, size_t count,
			       u32 msr);

/*
 * Union of two sorted lists into @out (room for @na + @nb entries); an
 * address in both gets the OR of the masks.  Returns the merged count.
 */
size_t al_merge(const struct al_entry *a, size_t na, const struct al_entry *b,
		size_t nb, struct al_entry *out);

/* Write one canonical line (AL_LINE_LEN bytes, no NUL) to @buf. */
void al_render_line(char *buf, u32 msr, u64 wmask);

/*
 * Canonical text: AL_HEADER, then one line per entry.  Writes at most
 * @cap bytes (no NUL) and returns the full length needed.
 */
size_t al_render(const struct al_entry *entries, size_t count, char *buf,
		 size_t cap);

/* A short meaning of a parser errno (positive or negative), for messages. */
const char *al_strerror(int err);

#endif /* MSR_SAFE_ALLOWLIST_H */
