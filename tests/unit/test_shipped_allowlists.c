// SPDX-License-Identifier: GPL-2.0-only
/*
 * Every allowlist shipped under allowlists/ gets its own checks, so a bad
 * file names itself: lint-clean (no errors, no warnings), baselines
 * read-only, no profile mask with a power-limit lock bit, every profile
 * backed by a baseline, and the install list (data.am) equal to the files
 * on disk.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "altool.h"

#ifndef ALLOWLIST_SRCDIR
#error "ALLOWLIST_SRCDIR must name the source allowlists/ directory"
#endif

#define MAX_FILES 1024

/* Paths relative to ALLOWLIST_SRCDIR, filled once in main(). */
static char *files[MAX_FILES];
static size_t nfiles;

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A shipped list: al_* anywhere, or anything under emulator/. */
static bool is_list(const char *rel)
{
	const char *base = strrchr(rel, '/');

	base = base ? base + 1 : rel;
	return !strncmp(base, "al_", 3) || !strncmp(rel, "emulator/", 9);
}

static void scan(const char *rel)
{
	char path[8192];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", ALLOWLIST_SRCDIR, rel);
	d = opendir(path);
	if (!d) {
		perror(path);
		exit(2);
	}
	while ((de = readdir(d))) {
		char sub[4096];
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "",
			 de->d_name);
		snprintf(path, sizeof(path), "%s/%s", ALLOWLIST_SRCDIR, sub);
		if (stat(path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (strcmp(sub, "tools") && strcmp(sub, "systemd"))
				scan(sub);
		} else if (is_list(sub) && nfiles < MAX_FILES) {
			files[nfiles++] = strdup(sub);
		}
	}
	closedir(d);
}

static void full_path(const char *rel, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/%s", ALLOWLIST_SRCDIR, rel);
}

static void load(const char *rel, struct msr_allowlist *al)
{
	char path[4096];
	struct msr_err err;

	full_path(rel, path, sizeof(path));
	ck_assert_msg(msr_allowlist_load(path, al, &err) == 0, "%s", err.msg);
}

/* ---- one check per file ------------------------------------------------ */

START_TEST(lint_clean)
{
	struct altool_lint res = {0};
	char path[4096], *out = NULL;
	size_t outlen = 0;
	FILE *f = open_memstream(&out, &outlen);

	ck_assert_ptr_nonnull(f);
	full_path(files[_i], path, sizeof(path));
	ck_assert_int_eq(altool_lint_file(path, ALTOOL_ROLE_AUTO, f, &res), 0);
	fclose(f);
	ck_assert_msg(res.errors == 0 && res.warnings == 0,
		      "%s: %u error(s), %u warning(s):\n%s", files[_i],
		      res.errors, res.warnings, out);
	free(out);
}
END_TEST

/* Independent of the tool's table: power-limit lock bits by hand. */
static const struct {
	uint32_t msr;
	uint64_t lock;
} power_locks[] = {
    {0x601, 1ull << 31}, /* MSR_PP0_CURRENT_CONFIG */
    {0x610, 1ull << 63}, /* MSR_PKG_POWER_LIMIT */
    {0x618, 1ull << 31}, /* MSR_DRAM_POWER_LIMIT */
    {0x638, 1ull << 31}, /* MSR_PP0_POWER_LIMIT */
    {0x640, 1ull << 31}, /* MSR_PP1_POWER_LIMIT */
    {0x65C, 1ull << 63}, /* MSR_PLATFORM_POWER_LIMIT */
};

/*
 * Never writable anywhere, not even for the emulator.  PEBS and the DS
 * area among them: IA32_PEBS_ENABLE (0x3F1) may be listed read-only (the
 * module lets LIKWID's write of the value it holds through), its load
 * latency and frontend companions (0x3F6, 0x3F7) and DEBUGCTL never.
 */
static const uint32_t never_writable[] = {
    0x10,	0x1B,	    0x174,	0x175,	    0x176,	0x1A0,
    0x1D9,	0x277,	    0x3F1,	0x3F6,	    0x3F7,	0x600,
    0xC0000080, 0xC0000081, 0xC0000082, 0xC0000100, 0xC0000101, 0xC0000102,
};

START_TEST(access_rules)
{
	bool emulator, in_emulator = !strncmp(files[_i], "emulator/", 9);
	enum altool_role role = altool_role_of_path(files[_i], &emulator);
	struct msr_allowlist al;
	size_t i, j, writable = 0;

	load(files[_i], &al);
	ck_assert_msg(al.count > 0, "%s has no entry", files[_i]);
	ck_assert_msg(role == ALTOOL_ROLE_BASELINE ||
			  role == ALTOOL_ROLE_PROFILE,
		      "%s is neither a baseline nor a profile", files[_i]);
	for (i = 0; i < al.count; i++) {
		const struct al_entry *e = &al.entries[i];

		writable += e->wmask != 0;
		if (role == ALTOOL_ROLE_BASELINE)
			ck_assert_msg(e->wmask == 0,
				      "%s: baseline entry 0x%08X is writable "
				      "(0x%016llX)",
				      files[_i], e->msr,
				      (unsigned long long)e->wmask);
		for (j = 0; j < sizeof(power_locks) / sizeof(power_locks[0]);
		     j++)
			ck_assert_msg(e->msr != power_locks[j].msr ||
					  !(e->wmask & power_locks[j].lock),
				      "%s: 0x%08X mask 0x%016llX includes the "
				      "lock bit",
				      files[_i], e->msr,
				      (unsigned long long)e->wmask);
		for (j = 0;
		     j < sizeof(never_writable) / sizeof(never_writable[0]);
		     j++)
			ck_assert_msg(e->msr != never_writable[j] || !e->wmask,
				      "%s: 0x%08X must never be writable",
				      files[_i], e->msr);
		/* IA32_DS_AREA holds a kernel address: not even readable. */
		ck_assert_msg(e->msr != 0x600, "%s lists IA32_DS_AREA",
			      files[_i]);
		/* No lock bit of any register the tool knows. */
		{
			struct altool_msr_info info;

			ck_assert_msg(!altool_msr_lookup(e->msr, &info) ||
					  !(e->wmask & info.lock),
				      "%s: 0x%08X mask 0x%016llX grants a "
				      "lock bit",
				      files[_i], e->msr,
				      (unsigned long long)e->wmask);
		}
		/* TSC_AUX and MC0_* writes belong to the emulator only. */
		if (!in_emulator)
			ck_assert_msg(!e->wmask ||
					  (e->msr != 0xC0000103 &&
					   e->msr != 0x402 && e->msr != 0x403),
				      "%s: 0x%08X writable outside emulator/",
				      files[_i], e->msr);
	}
	if (role == ALTOOL_ROLE_PROFILE)
		ck_assert_msg(writable == al.count,
			      "%s: a profile entry grants nothing", files[_i]);
	msr_allowlist_free(&al);
}
END_TEST

/* A profile overlay needs its model's baseline; merged it must pass the
 * install-time mask checks and fit in one device write. */
START_TEST(profile_has_baseline)
{
	struct msr_allowlist base, over, merged;
	struct altool_lint res = {0};
	const char *base_name;
	char rel[4096], *text;
	struct msr_err err;
	size_t len;
	bool emulator;

	if (strncmp(files[_i], "profiles/", 9) &&
	    strncmp(files[_i], "emulator/profiles/", 18)) {
		/* Baselines: must fit in one write on their own. */
		load(files[_i], &base);
		ck_assert_int_eq(msr_allowlist_render(&base, &text, &len, &err),
				 0);
		ck_assert_uint_le(len, AL_TEXT_MAX);
		free(text);
		msr_allowlist_free(&base);
		return;
	}
	base_name = strrchr(files[_i], '/') + 1;
	if (!strncmp(files[_i], "emulator/", 9))
		snprintf(rel, sizeof(rel), "emulator/baseline");
	else
		snprintf(rel, sizeof(rel), "%s", base_name);
	load(rel, &base);
	load(files[_i], &over);
	ck_assert_int_eq(msr_allowlist_merge(&base, &over, &merged, &err), 0);
	altool_role_of_path(files[_i], &emulator);
	altool_check_masks(&merged, files[_i], emulator, stderr, &res);
	ck_assert_msg(res.errors == 0 && res.warnings == 0,
		      "%s merged over %s: %u errors %u warnings", files[_i],
		      rel, res.errors, res.warnings);
	ck_assert_int_eq(msr_allowlist_render(&merged, &text, &len, &err), 0);
	ck_assert_uint_le(len, AL_TEXT_MAX);
	free(text);
	msr_allowlist_free(&base);
	msr_allowlist_free(&over);
	msr_allowlist_free(&merged);
}
END_TEST

/* ---- the set as a whole ------------------------------------------------ */

/* data.am (what make install and make dist ship) lists exactly the files
 * on disk. */
START_TEST(install_list_matches_disk)
{
	char path[4096], line[4096];
	char *listed[MAX_FILES];
	size_t nlisted = 0, i;
	FILE *f;

	full_path("data.am", path, sizeof(path));
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	while (fgets(line, sizeof(line), f) && nlisted < MAX_FILES) {
		char *s = line, *e;

		if (*s != '\t')
			continue;
		s++;
		e = s + strcspn(s, " \\\n");
		*e = 0;
		if (*s)
			listed[nlisted++] = strdup(s);
	}
	fclose(f);
	qsort(listed, nlisted, sizeof(listed[0]), cmp_str);
	ck_assert_uint_eq(nlisted, nfiles);
	for (i = 0; i < nfiles; i++) {
		ck_assert_str_eq(listed[i], files[i]);
		free(listed[i]);
	}
}
END_TEST

/* The coverage table in README.md is what `msr-allowlist coverage` prints
 * for the lists on disk (tools/coverage rewrites it). */
START_TEST(readme_coverage_current)
{
	struct altool_reqs reqs;
	struct msr_err err;
	char path[4096], *readme, *want = NULL, *begin, *end;
	size_t len, wlen = 0;
	FILE *f;

	ck_assert_msg(altool_reqs_builtin(&reqs, &err) == 0, "%s", err.msg);
	f = open_memstream(&want, &wlen);
	ck_assert_ptr_nonnull(f);
	ck_assert_msg(altool_coverage(ALLOWLIST_SRCDIR, &reqs, f, &err) == 0,
		      "%s", err.msg);
	fclose(f);
	altool_reqs_free(&reqs);
	full_path("README.md", path, sizeof(path));
	ck_assert_msg(msr_read_file(path, 1 << 20, &readme, &len, &err) == 0,
		      "%s", err.msg);
	begin = strstr(readme, "<!-- coverage:begin");
	ck_assert_msg(begin != NULL, "README.md lacks the coverage markers");
	begin = strchr(begin, '\n');
	ck_assert_ptr_nonnull(begin);
	begin++;
	end = strstr(begin, "<!-- coverage:end -->");
	ck_assert_ptr_nonnull(end);
	*end = 0;
	ck_assert_msg(!strcmp(begin, want),
		      "README.md's coverage table is stale: run "
		      "MSR_BUILD_DIR=build allowlists/tools/coverage");
	free(readme);
	free(want);
}
END_TEST

/* What issue #13 asks of the Skylake-SP and EPYC lists the VM test uses. */
START_TEST(coverage_of_tested_models)
{
	static const struct {
		const char *list, *overlay, *tool, *feature;
	} want[] = {
	    {"al_06_55", "perf", "likwid", "CLOCK"},
	    {"al_06_55", "perf", "likwid", "FLOPS_DP"},
	    {"al_06_55", NULL, "likwid", "powermeter"},
	    {"al_06_55", "prefetch", "likwid", "features"},
	    {"al_06_55", "power", "geopm", "power-limit"},
	    {"al_06_55", "power", "variorum", "power-limit"},
	    {"al_06_8F", "freq", "geopm", "uncore-frequency"},
	    {"al_17_1", "perf", "likwid", "CLOCK"},
	    {"al_17_1", NULL, "likwid", "powermeter"},
	    {"al_19_11", "perf", "likwid", "ENERGY"},
	    {"al_1A_2", "perf", "likwid", "FLOPS_SP"},
	};
	struct altool_reqs reqs;
	struct msr_err err;
	size_t i;

	ck_assert_msg(altool_reqs_builtin(&reqs, &err) == 0, "%s", err.msg);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct msr_allowlist base, ov, merged = {0};
		unsigned int fam, mod;
		uint32_t miss = 0;
		char rel[256];

		ck_assert(altool_model_of_path(want[i].list, &fam, &mod));
		load(want[i].list, &base);
		if (want[i].overlay) {
			snprintf(rel, sizeof(rel), "profiles/%s/%s",
				 want[i].overlay, want[i].list);
			load(rel, &ov);
			ck_assert(msr_allowlist_merge(&base, &ov, &merged,
						      &err) == 0);
			msr_allowlist_free(&ov);
		}
		ck_assert_msg(
		    altool_feature_served(
			&reqs, want[i].tool, want[i].feature, fam, mod,
			want[i].overlay ? &merged : &base, &miss) == 1,
		    "%s + %s does not serve %s %s (0x%08X)", want[i].list,
		    want[i].overlay ? want[i].overlay : "nothing", want[i].tool,
		    want[i].feature, miss);
		if (want[i].overlay)
			ck_assert_msg(
			    altool_feature_served(&reqs, want[i].tool,
						  want[i].feature, fam, mod,
						  &base, &miss) == 0,
			    "%s alone serves %s %s: the profile is not "
			    "needed",
			    want[i].list, want[i].tool, want[i].feature);
		msr_allowlist_free(&merged);
		msr_allowlist_free(&base);
	}
	altool_reqs_free(&reqs);
}
END_TEST

static bool shipped(const char *rel)
{
	return bsearch(&rel, files, nfiles, sizeof(files[0]), cmp_str) != NULL;
}

/* The models the project promises a baseline for. */
START_TEST(promised_baselines)
{
	static const char *const promised[] = {
	    "al_06_2A", "al_06_2D",	     "al_06_3A",
	    "al_06_3E", "al_06_3C",	     "al_06_3F",
	    "al_06_45", "al_06_46",	     "al_06_3D",
	    "al_06_47", "al_06_4F",	     "al_06_56",
	    "al_06_4E", "al_06_5E",	     "al_06_55",
	    "al_06_8E", "al_06_9E",	     "al_06_A5",
	    "al_06_A6", "al_06_6A",	     "al_06_6C",
	    "al_06_7D", "al_06_7E",	     "al_06_8C",
	    "al_06_8D", "al_06_8F",	     "al_06_CF",
	    "al_06_AD", "al_06_AE",	     "al_06_AF",
	    "al_06_97", "al_06_9A",	     "al_06_B7",
	    "al_06_BA", "al_06_BF",	     "al_06_AA",
	    "al_06_AC", "al_17_1",	     "al_17_31",
	    "al_17_71", "al_19_1",	     "al_19_11",
	    "al_19_21", "al_19_61",	     "al_1A_2",
	    "al_1A_11", "emulator/baseline", "emulator/profiles/demo",
	};
	size_t i;

	for (i = 0; i < sizeof(promised) / sizeof(promised[0]); i++)
		ck_assert_msg(shipped(promised[i]), "%s is not shipped",
			      promised[i]);
}
END_TEST

/* Exact write access of the emulator demo: what the VM tests rely on. */
START_TEST(emulator_demo_exact)
{
	struct msr_allowlist al;
	const struct al_entry *e;

	load("emulator/profiles/demo", &al);
	ck_assert_uint_eq(al.count, 3);
	e = al_find(al.entries, al.count, 0x402);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->wmask, ~0ull);
	e = al_find(al.entries, al.count, 0x403);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->wmask, ~0ull);
	e = al_find(al.entries, al.count, 0xC0000103);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->wmask, 0xFFFFFFFFull);
	msr_allowlist_free(&al);
}
END_TEST

/* Spot checks of masks against the manuals, one per kind of register. */
static const struct {
	const char *file;
	uint32_t msr;
	uint64_t mask;
} spot[] = {
    {"profiles/power/al_06_55", 0x610, 0x00FFFFFF00FFFFFFull},
    {"profiles/power/al_06_55", 0x618, 0x0000000000FEFFFFull},
    {"profiles/power/al_06_2A", 0x638, 0x0000000000FFFFFFull},
    {"profiles/power/al_06_2A", 0x640, 0x0000000000FFFFFFull},
    {"profiles/freq/al_06_8F", 0x199, 0xFFFFull},
    {"profiles/freq/al_06_8F", 0x1B0, 0xFull},
    {"profiles/freq/al_06_8F", 0x774, 0x000003FFFFFFFFFFull},
    {"profiles/freq/al_06_8F", 0x620, 0x7F7Full},
    {"profiles/perf/al_06_55", 0x186, 0xFFC7FFFFull},
    {"profiles/perf/al_06_55", 0x38D, 0x333ull},
    {"profiles/perf/al_06_55", 0x38F, 0x70000000Full},
    {"profiles/perf/al_06_8F", 0x38F, 0x7000000FFull},
    {"profiles/perf/al_06_8F", 0xC8, 0x0000FFFFFFFFFFFFull},
    {"profiles/prefetch/al_06_4F", 0x1A4, 0xFull},
    {"profiles/perf/al_19_11", 0xC0010200, 0x0000000FFFC7FFFFull},
    {"profiles/perf/al_19_11", 0xC0000301, 0x3Full},
    {"profiles/freq/al_17_31", 0xC0010062, 0x7ull},
    {"al_1A_2", 0xC001029B, 0},
    {"al_06_AF", 0x611, 0},
};

START_TEST(spot_masks)
{
	struct msr_allowlist al;
	const struct al_entry *e;

	load(spot[_i].file, &al);
	e = al_find(al.entries, al.count, spot[_i].msr);
	ck_assert_msg(e != NULL, "%s lacks 0x%X", spot[_i].file, spot[_i].msr);
	ck_assert_msg(e->wmask == spot[_i].mask,
		      "%s 0x%X: mask 0x%016llX, expected 0x%016llX",
		      spot[_i].file, spot[_i].msr, (unsigned long long)e->wmask,
		      (unsigned long long)spot[_i].mask);
	msr_allowlist_free(&al);
}
END_TEST

int main(void)
{
	SRunner *sr;
	Suite *s;
	TCase *tc;
	int failed;

	scan("");
	if (nfiles < 100) {
		fprintf(stderr, "only %zu lists found under %s\n", nfiles,
			ALLOWLIST_SRCDIR);
		return 1;
	}
	qsort(files, nfiles, sizeof(files[0]), cmp_str);

	s = suite_create("shipped allowlists");
	tc = tcase_create("per file");
	tcase_add_loop_test(tc, lint_clean, 0, (int)nfiles);
	tcase_add_loop_test(tc, access_rules, 0, (int)nfiles);
	tcase_add_loop_test(tc, profile_has_baseline, 0, (int)nfiles);
	suite_add_tcase(s, tc);
	tc = tcase_create("set");
	tcase_add_test(tc, install_list_matches_disk);
	tcase_add_test(tc, promised_baselines);
	tcase_add_test(tc, emulator_demo_exact);
	tcase_add_test(tc, readme_coverage_current);
	tcase_add_test(tc, coverage_of_tested_models);
	tcase_add_loop_test(tc, spot_masks, 0,
			    (int)(sizeof(spot) / sizeof(spot[0])));
	suite_add_tcase(s, tc);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
