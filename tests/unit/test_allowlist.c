// SPDX-License-Identifier: GPL-2.0-only
/* Tables of good and bad allowlist texts for the shared parser. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "allowlist.h"

#define MAX_ENTRIES 64

struct good_case {
	const char *name;
	const char *text;
	size_t len; /* 0: strlen(text) */
	size_t count;
	u32 first_msr;
	u64 first_mask;
};

static const struct good_case good[] = {
    {"one entry", "0x10 0x0\n", 0, 1, 0x10, 0},
    {"named", "0x00000199 0x000000000000ffff # \"MSR_PERF_CTL\"\n", 0, 1, 0x199,
     0xffff},
    {"crlf", "0x20 0xff\r\n0x10 0x1\r\n", 0, 2, 0x10, 0x1},
    {"no final newline", "0x10 0x3", 0, 1, 0x10, 0x3},
    {"tabs and spaces", "\t 0x10\t\t0x1 \t\n", 0, 1, 0x10, 0x1},
    {"device header", AL_HEADER "0x00000010 0x0000000000000000\n", 0, 1, 0x10,
     0},
    {"comments between", "# a\n\n0x20 0x1\n  # b\n0x10 0x0\n", 0, 2, 0x10, 0},
    {"upper-case prefix", "0X1A 0XFF\n", 0, 1, 0x1a, 0xff},
    {"lower-case digits", "0xc0000103 0xffffffff\n", 0, 1, 0xc0000103,
     0xffffffff},
    {"largest values", "0xFFFFFFFF 0xFFFFFFFFFFFFFFFF\n", 0, 1, 0xffffffff,
     ~0ULL},
    {"leading zeros", "0x000000000000000010 0x00000000000000000000ff\n", 0, 1,
     0x10, 0xff},
    {"comment glued to mask", "0x10 0x0# c\n", 0, 1, 0x10, 0},
    {"trailing NUL", "0x10 0x0\n", 10, 1, 0x10, 0},
    {"blank clears", " \n\t\r\n", 0, 0, 0, 0},
    {"empty clears", "", 0, 0, 0, 0},
    {"sorted output", "0x3 0x0\n0x1 0x0\n0x2 0x0\n", 0, 3, 0x1, 0},
};

struct bad_case {
	const char *name;
	const char *text;
	size_t len;
	int err;
	u32 line;
};

static const struct bad_case bad[] = {
    {"mask missing", "0x10\n", 0, -EILSEQ, 1},
    {"mask missing before comment", "0x10 # c\n", 0, -EILSEQ, 1},
    {"ends after address", "0x10", 0, -EILSEQ, 1},
    {"ends after blank", "0x10 ", 0, -EILSEQ, 1},
    {"ends on line 2", "0x10 0x0\n0x20", 0, -EILSEQ, 2},
    {"decimal address", "10 0x0\n", 0, -EINVAL, 1},
    {"prefix without digits", "0x 0x0\n", 0, -EINVAL, 1},
    {"bad mask digit", "0x10 0xg\n", 0, -EINVAL, 1},
    {"junk after mask", "0x10 0x0 junk\n", 0, -EINVAL, 1},
    {"junk in address", "0x10z 0x0\n", 0, -EINVAL, 1},
    {"negative", "-0x10 0x0\n", 0, -EINVAL, 1},
    {"three numbers", "0x10 0x0 0x1\n", 0, -EILSEQ, 1},
    {"three numbers, then junk", "0x10 0x0 0x1 x\n", 0, -EILSEQ, 1},
    {"address over 32 bits", "0x100000000 0x0\n", 0, -ERANGE, 1},
    {"mask over 64 bits", "0x10 0x10000000000000000\n", 0, -ERANGE, 1},
    {"only a comment", "# nothing\n", 0, -ENOMSG, 0},
    {"only the header", AL_HEADER, 0, -ENOMSG, 0},
    {"duplicate", "0x10 0x0\n0x20 0x0\n0x10 0x1\n", 0, -ENOTUNIQ, 3},
    {"duplicate before junk", "0x10 0x0\n0x10 0x0\nbad\n", 0, -ENOTUNIQ, 2},
    {"junk before duplicate", "0x10 0x0\nbad\n0x10 0x0\n", 0, -EINVAL, 2},
    {"earliest duplicate wins", "0x2 0x0\n0x1 0x0\n0x1 0x0\n0x2 0x0\n", 0,
     -ENOTUNIQ, 3},
    {"crlf line numbers", "# c\r\n\r\n0x1 zz\r\n", 0, -EINVAL, 3},
    {"NUL inside", "0x10\0 0x0\n", 10, -EINVAL, 1},
};

START_TEST(parse_good)
{
	const struct good_case *t = &good[_i];
	struct al_entry e[MAX_ENTRIES];
	size_t len = t->len ? t->len : strlen(t->text);
	size_t n = 99;
	u32 line = 99;
	int err;

	err = al_parse(t->text, len, e, MAX_ENTRIES, &n, &line);
	ck_assert_msg(err == 0, "%s: err %d line %u", t->name, err, line);
	ck_assert_uint_eq(n, t->count);
	ck_assert_uint_eq(line, 0);
	if (n) {
		ck_assert_uint_eq(e[0].msr, t->first_msr);
		ck_assert_uint_eq(e[0].wmask, t->first_mask);
	}
}
END_TEST

START_TEST(parse_bad)
{
	const struct bad_case *t = &bad[_i];
	struct al_entry e[MAX_ENTRIES];
	size_t len = t->len ? t->len : strlen(t->text);
	size_t n = 99;
	u32 line = 99;
	int err;

	err = al_parse(t->text, len, e, MAX_ENTRIES, &n, &line);
	ck_assert_msg(err == t->err, "%s: expected %d got %d", t->name, t->err,
		      err);
	ck_assert_msg(line == t->line, "%s: expected line %u got %u", t->name,
		      t->line, line);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(too_large_text)
{
	size_t len = AL_TEXT_MAX + 1;
	char *text = malloc(len);
	struct al_entry e[1];
	size_t n;
	u32 line;

	ck_assert_ptr_nonnull(text);
	memset(text, ' ', len);
	ck_assert_int_eq(al_parse(text, len, e, 1, &n, &line), -E2BIG);
	ck_assert_uint_eq(line, 0);
	/* Exactly the limit is still accepted (and blank: zero entries). */
	ck_assert_int_eq(al_parse(text, AL_TEXT_MAX, e, 1, &n, &line), 0);
	ck_assert_uint_eq(n, 0);
	free(text);
}
END_TEST

START_TEST(read_back_longer_than_one_write)
{
	/* 8,000 entries render to 240 KiB: more than one write may carry. */
	enum { N = 8000 };
	static struct al_entry in[N], out[N + 1];
	static char text[AL_HEADER_LEN + N * AL_LINE_LEN];
	size_t len, n, i;
	u32 line;

	for (i = 0; i < N; i++) {
		in[i].msr = (u32)i;
		in[i].wmask = i & 3;
	}
	len = al_render(in, N, text, sizeof(text));
	ck_assert_uint_gt(len, AL_TEXT_MAX);
	ck_assert_int_eq(al_parse(text, len, out, N + 1, &n, &line), -E2BIG);
	ck_assert_int_eq(al_parse_text(text, len, out, N + 1, &n, &line), 0);
	ck_assert_uint_eq(n, N);
	ck_assert_uint_eq(out[N - 1].msr, N - 1);
	ck_assert_uint_eq(out[N - 1].wmask, (N - 1) & 3);
}
END_TEST

START_TEST(too_many_entries)
{
	const char *text = "0x1 0x0\n0x2 0x0\n0x3 0x0\n";
	struct al_entry e[2];
	size_t n;
	u32 line;

	ck_assert_int_eq(al_parse(text, strlen(text), e, 2, &n, &line), -E2BIG);
	ck_assert_uint_eq(line, 3);
}
END_TEST

START_TEST(max_entries_bounds_parse)
{
	const char *text = "0x1 0x0\n\n0x2 0x0\n0x3 0x0";
	size_t bound = al_max_entries(text, strlen(text));
	struct al_entry e[8];
	size_t n;
	u32 line;

	ck_assert_uint_eq(bound, 4);
	ck_assert_int_eq(al_parse(text, strlen(text), e, bound, &n, &line), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(e[1].line, 3);
	ck_assert_uint_eq(e[2].line, 4);
}
END_TEST

START_TEST(find_entries)
{
	const char *text = "0x30 0x3\n0x10 0x1\n0x20 0x2\n";
	struct al_entry e[4];
	const struct al_entry *f;
	size_t n;
	u32 line;

	ck_assert_int_eq(al_parse(text, strlen(text), e, 4, &n, &line), 0);
	f = al_find(e, n, 0x20);
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(f->wmask, 2);
	ck_assert_ptr_null(al_find(e, n, 0x25));
	ck_assert_ptr_null(al_find(e, n, 0x0));
	ck_assert_ptr_null(al_find(e, n, 0xffffffff));
	ck_assert_ptr_null(al_find(e, 0, 0x10));
}
END_TEST

START_TEST(merge_ors_masks)
{
	struct al_entry a[] = {{0x10, 1, 0x0}, {0x20, 2, 0xf0}};
	struct al_entry b[] = {{0x08, 1, 0x1}, {0x20, 2, 0x0f}, {0x30, 3, 0x0}};
	struct al_entry out[5];
	size_t n = al_merge(a, 2, b, 3, out);

	ck_assert_uint_eq(n, 4);
	ck_assert_uint_eq(out[0].msr, 0x08);
	ck_assert_uint_eq(out[1].msr, 0x10);
	ck_assert_uint_eq(out[2].msr, 0x20);
	ck_assert_uint_eq(out[2].wmask, 0xff);
	ck_assert_uint_eq(out[3].msr, 0x30);
	ck_assert_uint_eq(out[2].line, 0);
	ck_assert_uint_eq(al_merge(a, 2, NULL, 0, out), 2);
	ck_assert_uint_eq(al_merge(NULL, 0, NULL, 0, out), 0);
}
END_TEST

START_TEST(render_exact)
{
	struct al_entry e[] = {{0x199, 0, 0xffff}, {0xc0000103, 0, ~0ULL}};
	char buf[256];
	const char *want = "# MSR # Write Mask # Comment\n"
			   "0x00000199 0x000000000000FFFF\n"
			   "0xC0000103 0xFFFFFFFFFFFFFFFF\n";
	size_t len = al_render(e, 2, buf, sizeof(buf));

	ck_assert_uint_eq(len, strlen(want));
	ck_assert_uint_eq(len, AL_HEADER_LEN + 2 * AL_LINE_LEN);
	ck_assert(memcmp(buf, want, len) == 0);
	/* A short buffer gets a prefix and the full length needed. */
	memset(buf, 'Z', sizeof(buf));
	ck_assert_uint_eq(al_render(e, 2, buf, 5), len);
	ck_assert(memcmp(buf, "# MSRZ", 6) == 0);
}
END_TEST

START_TEST(render_parse_round_trip)
{
	enum { N = 500 };
	static struct al_entry in[N], out[N + 1];
	static char text[AL_HEADER_LEN + N * AL_LINE_LEN];
	static char again[sizeof(text)];
	unsigned long long x = 0x9E3779B97F4A7C15ULL;
	size_t len, n, i;
	u32 line;

	for (i = 0; i < N; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		in[i].msr = (u32)(i * 7919u + (x & 7)); /* increasing, unique */
		in[i].wmask = x;
		in[i].line = 0;
	}
	len = al_render(in, N, text, sizeof(text));
	ck_assert_uint_eq(len, sizeof(text));
	ck_assert_int_eq(al_parse(text, len, out, N + 1, &n, &line), 0);
	ck_assert_uint_eq(n, N);
	for (i = 0; i < N; i++) {
		ck_assert_uint_eq(out[i].msr, in[i].msr);
		ck_assert_uint_eq(out[i].wmask, in[i].wmask);
	}
	/* Rendering what was parsed gives the same bytes. */
	ck_assert_uint_eq(al_render(out, n, again, sizeof(again)), len);
	ck_assert(memcmp(again, text, len) == 0);
}
END_TEST

START_TEST(strerror_names_each_errno)
{
	ck_assert_str_eq(al_strerror(-ENOTUNIQ), "address listed twice");
	ck_assert_str_eq(al_strerror(ENOMSG), "no entries (only comments)");
	ck_assert_str_ne(al_strerror(-EILSEQ), al_strerror(-EINVAL));
	ck_assert_str_eq(al_strerror(-12345), "unexpected error");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("allowlist");
	TCase *tc = tcase_create("parser");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, parse_good, 0, sizeof(good) / sizeof(good[0]));
	tcase_add_loop_test(tc, parse_bad, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, too_large_text);
	tcase_add_test(tc, read_back_longer_than_one_write);
	tcase_add_test(tc, too_many_entries);
	tcase_add_test(tc, max_entries_bounds_parse);
	tcase_add_test(tc, find_entries);
	tcase_add_test(tc, merge_ors_masks);
	tcase_add_test(tc, render_exact);
	tcase_add_test(tc, render_parse_round_trip);
	tcase_add_test(tc, strerror_names_each_errno);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
