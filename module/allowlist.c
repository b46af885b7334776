// SPDX-License-Identifier: GPL-2.0-only
/*
 * The allowlist text parser, shared by msr-safe.ko and libmsrsave.
 *
 * Freestanding on purpose: the module and the userspace tools must accept
 * exactly the same texts, and the fuzzers and unit tests that run in
 * userspace then cover the code the kernel runs.
 */
#include "allowlist.h"

#define AL_ADDR_MAX 0xffffffffULL

struct al_cursor {
	const char *p;
	const char *end;
	u32 line;
};

static int al_is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static int al_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void al_skip_blanks(struct al_cursor *c)
{
	while (c->p < c->end && al_is_blank(*c->p))
		c->p++;
}

/* True at the end of a line's data: newline, comment or end of text. */
static int al_at_line_end(const struct al_cursor *c)
{
	return c->p == c->end || *c->p == '\n' || *c->p == '#';
}

/*
 * One "0x..." number.  Hex only, with the prefix, so that "10" can never
 * be read as decimal by one tool and hex by another.
 */
static int al_parse_number(struct al_cursor *c, u64 *out)
{
	u64 v = 0;
	int digits = 0;
	int d;

	if (c->end - c->p < 2 || c->p[0] != '0' ||
	    (c->p[1] != 'x' && c->p[1] != 'X'))
		return -EINVAL;
	c->p += 2;
	while (c->p < c->end && (d = al_hex_digit(*c->p)) >= 0) {
		if (v >> 60)
			return -ERANGE;
		v = (v << 4) | (u64)d;
		digits++;
		c->p++;
	}
	if (!digits)
		return -EINVAL;
	if (c->p < c->end && !al_is_blank(*c->p) && !al_at_line_end(c))
		return -EINVAL;
	*out = v;
	return 0;
}

static void al_skip_to_next_line(struct al_cursor *c)
{
	while (c->p < c->end && *c->p != '\n')
		c->p++;
	if (c->p < c->end) {
		c->p++;
		c->line++;
	}
}

/* Parse the entry that starts at the cursor; leaves it at the line end. */
static int al_parse_entry(struct al_cursor *c, struct al_entry *e)
{
	u64 addr, mask;
	int err;

	err = al_parse_number(c, &addr);
	if (err)
		return err;
	if (addr > AL_ADDR_MAX)
		return -ERANGE;
	/* An entry that is not two numbers is EILSEQ, as upstream's. */
	al_skip_blanks(c);
	if (al_at_line_end(c))
		return -EILSEQ;
	err = al_parse_number(c, &mask);
	if (err)
		return err;
	al_skip_blanks(c);
	if (!al_at_line_end(c))
		return al_parse_number(c, &mask) ? -EINVAL : -EILSEQ;
	e->msr = (u32)addr;
	e->wmask = mask;
	e->line = c->line;
	return 0;
}

static int al_less(const struct al_entry *a, const struct al_entry *b)
{
	return a->msr < b->msr || (a->msr == b->msr && a->line < b->line);
}

static void al_swap(struct al_entry *a, struct al_entry *b)
{
	struct al_entry t = *a;

	*a = *b;
	*b = t;
}

static void al_sift_down(struct al_entry *e, size_t root, size_t n)
{
	size_t child;

	while ((child = 2 * root + 1) < n) {
		if (child + 1 < n && al_less(&e[child], &e[child + 1]))
			child++;
		if (!al_less(&e[root], &e[child]))
			return;
		al_swap(&e[root], &e[child]);
		root = child;
	}
}

/* Heapsort: O(n log n), no recursion, no allocation. */
static void al_sort(struct al_entry *e, size_t n)
{
	size_t i;

	if (n < 2)
		return;
	for (i = n / 2; i-- > 0;)
		al_sift_down(e, i, n);
	for (i = n - 1; i > 0; i--) {
		al_swap(&e[0], &e[i]);
		al_sift_down(e, 0, i);
	}
}

size_t al_max_entries(const char *text, size_t len)
{
	size_t n = 1;
	size_t i;

	for (i = 0; i < len; i++)
		if (text[i] == '\n')
			n++;
	return n;
}

/* Line of the earliest second listing of an address, or 0 if none. */
static u32 al_first_duplicate(const struct al_entry *e, size_t n)
{
	u32 first = 0;
	size_t i;

	for (i = 1; i < n; i++) {
		if (e[i].msr != e[i - 1].msr)
			continue;
		/* Sorted by (msr, line): e[i] is the later listing. */
		if (!first || e[i].line < first)
			first = e[i].line;
	}
	return first;
}

int al_parse(const char *text, size_t len, struct al_entry *entries,
	     size_t cap, size_t *count, u32 *err_line)
{
	*count = 0;
	*err_line = 0;
	if (len > AL_TEXT_MAX)
		return -E2BIG;
	return al_parse_text(text, len, entries, cap, count, err_line);
}

int al_parse_text(const char *text, size_t len, struct al_entry *entries,
		  size_t cap, size_t *count, u32 *err_line)
{
	struct al_cursor c;
	size_t n = 0;
	int seen_text = 0;
	int err = 0;
	u32 dup_line;

	*count = 0;
	*err_line = 0;
	/* Writers that send a C string include its NUL: ignore trailing ones. */
	while (len && text[len - 1] == '\0')
		len--;

	c.p = text;
	c.end = text + len;
	c.line = 1;
	while (c.p < c.end) {
		al_skip_blanks(&c);
		if (c.p == c.end)
			break;
		if (*c.p == '\n' || *c.p == '#') {
			if (*c.p == '#')
				seen_text = 1;
			al_skip_to_next_line(&c);
			continue;
		}
		seen_text = 1;
		if (n == cap) {
			err = -E2BIG;
			break;
		}
		err = al_parse_entry(&c, &entries[n]);
		if (err)
			break;
		n++;
		al_skip_to_next_line(&c);
	}

	al_sort(entries, n);
	/* Entries before a syntax error come first: report their duplicate. */
	dup_line = al_first_duplicate(entries, n);
	if (dup_line) {
		*err_line = dup_line;
		return -ENOTUNIQ;
	}
	if (err) {
		*err_line = c.line;
		return err;
	}
	if (!n && seen_text)
		return -ENOMSG;
	*count = n;
	return 0;
}

const struct al_entry *al_find(const struct al_entry *entries, size_t count,
			       u32 msr)
{
	size_t lo = 0;
	size_t hi = count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (entries[mid].msr == msr)
			return &entries[mid];
		if (entries[mid].msr < msr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

size_t al_merge(const struct al_entry *a, size_t na, const struct al_entry *b,
		size_t nb, struct al_entry *out)
{
	size_t i = 0, j = 0, n = 0;

	while (i < na || j < nb) {
		if (j == nb || (i < na && a[i].msr < b[j].msr)) {
			out[n] = a[i++];
		} else if (i == na || b[j].msr < a[i].msr) {
			out[n] = b[j++];
		} else {
			out[n] = a[i++];
			out[n].wmask |= b[j++].wmask;
		}
		out[n++].line = 0;
	}
	return n;
}

static void al_put_hex(char *buf, u64 v, int digits)
{
	static const char hex[] = "0123456789ABCDEF";

	while (digits-- > 0) {
		buf[digits] = hex[v & 0xf];
		v >>= 4;
	}
}

void al_render_line(char *buf, u32 msr, u64 wmask)
{
	buf[0] = '0';
	buf[1] = 'x';
	al_put_hex(buf + 2, msr, 8);
	buf[10] = ' ';
	buf[11] = '0';
	buf[12] = 'x';
	al_put_hex(buf + 13, wmask, 16);
	buf[29] = '\n';
}

size_t al_render(const struct al_entry *entries, size_t count, char *buf,
		 size_t cap)
{
	char line[AL_LINE_LEN];
	size_t total = 0;
	size_t i, k;

	for (k = 0; k < AL_HEADER_LEN; k++, total++)
		if (total < cap)
			buf[total] = AL_HEADER[k];
	for (i = 0; i < count; i++) {
		al_render_line(line, entries[i].msr, entries[i].wmask);
		for (k = 0; k < AL_LINE_LEN; k++, total++)
			if (total < cap)
				buf[total] = line[k];
	}
	return total;
}

const char *al_strerror(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case 0:
		return "success";
	case E2BIG:
		return "allowlist too large";
	case EINVAL:
		return "address or mask does not parse (expected 0xADDRESS 0xMASK)";
	case ERANGE:
		return "number too large (address is 32 bits, mask 64 bits)";
	case EILSEQ:
		return "entry is not two numbers (address without mask, or a third number)";
	case ENOMSG:
		return "no entries (only comments)";
	case ENOTUNIQ:
		return "address listed twice";
	case ENOMEM:
		return "out of memory";
	case EFAULT:
		return "bad address";
	default:
		return "unexpected error";
	}
}
