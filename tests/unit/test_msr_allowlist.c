// SPDX-License-Identifier: GPL-2.0-only
/*
 * msr-allowlist: select, merge, diff and lint by tables of cases against
 * the logic (altool.c), then the built command end to end on a
 * file-backed device tree.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "altool.h"

#ifndef ALLOWLIST_SRCDIR
#error "ALLOWLIST_SRCDIR must name the source allowlists/ directory"
#endif
#ifndef MSR_ALLOWLIST_BIN
#error "MSR_ALLOWLIST_BIN must name the built msr-allowlist"
#endif

/* ---- select: real family/model pairs as /proc/cpuinfo prints them ------ */

static const struct {
	const char *vendor;
	unsigned int family, model; /* decimal, as in /proc/cpuinfo */
	const char *file;
} select_cases[] = {
    {"GenuineIntel", 6, 42, "al_06_2A"},   /* Sandy Bridge */
    {"GenuineIntel", 6, 45, "al_06_2D"},   /* Sandy Bridge-EP */
    {"GenuineIntel", 6, 58, "al_06_3A"},   /* Ivy Bridge */
    {"GenuineIntel", 6, 62, "al_06_3E"},   /* Ivy Bridge-EP */
    {"GenuineIntel", 6, 60, "al_06_3C"},   /* Haswell */
    {"GenuineIntel", 6, 63, "al_06_3F"},   /* Haswell-EP */
    {"GenuineIntel", 6, 69, "al_06_45"},   /* Haswell-ULT */
    {"GenuineIntel", 6, 70, "al_06_46"},   /* Haswell GT3e */
    {"GenuineIntel", 6, 61, "al_06_3D"},   /* Broadwell */
    {"GenuineIntel", 6, 71, "al_06_47"},   /* Broadwell GT3e */
    {"GenuineIntel", 6, 79, "al_06_4F"},   /* Broadwell-EP */
    {"GenuineIntel", 6, 86, "al_06_56"},   /* Broadwell-DE */
    {"GenuineIntel", 6, 78, "al_06_4E"},   /* Skylake mobile */
    {"GenuineIntel", 6, 94, "al_06_5E"},   /* Skylake desktop */
    {"GenuineIntel", 6, 85, "al_06_55"},   /* Skylake-SP, Cascade Lake */
    {"GenuineIntel", 6, 142, "al_06_8E"},  /* Kaby Lake mobile */
    {"GenuineIntel", 6, 158, "al_06_9E"},  /* Coffee Lake desktop */
    {"GenuineIntel", 6, 165, "al_06_A5"},  /* Comet Lake */
    {"GenuineIntel", 6, 166, "al_06_A6"},  /* Comet Lake-U */
    {"GenuineIntel", 6, 106, "al_06_6A"},  /* Ice Lake-SP */
    {"GenuineIntel", 6, 108, "al_06_6C"},  /* Ice Lake-D */
    {"GenuineIntel", 6, 125, "al_06_7D"},  /* Ice Lake */
    {"GenuineIntel", 6, 126, "al_06_7E"},  /* Ice Lake mobile */
    {"GenuineIntel", 6, 140, "al_06_8C"},  /* Tiger Lake */
    {"GenuineIntel", 6, 141, "al_06_8D"},  /* Tiger Lake-H */
    {"GenuineIntel", 6, 143, "al_06_8F"},  /* Sapphire Rapids */
    {"GenuineIntel", 6, 207, "al_06_CF"},  /* Emerald Rapids */
    {"GenuineIntel", 6, 173, "al_06_AD"},  /* Granite Rapids */
    {"GenuineIntel", 6, 174, "al_06_AE"},  /* Granite Rapids-D */
    {"GenuineIntel", 6, 175, "al_06_AF"},  /* Sierra Forest */
    {"GenuineIntel", 6, 151, "al_06_97"},  /* Alder Lake-S */
    {"GenuineIntel", 6, 154, "al_06_9A"},  /* Alder Lake-P */
    {"GenuineIntel", 6, 183, "al_06_B7"},  /* Raptor Lake-S */
    {"GenuineIntel", 6, 186, "al_06_BA"},  /* Raptor Lake-P */
    {"GenuineIntel", 6, 191, "al_06_BF"},  /* Raptor Lake-S */
    {"GenuineIntel", 6, 170, "al_06_AA"},  /* Meteor Lake */
    {"GenuineIntel", 6, 172, "al_06_AC"},  /* Meteor Lake-S */
    {"AuthenticAMD", 23, 1, "al_17_1"},	   /* Naples */
    {"AuthenticAMD", 23, 8, "al_17_8"},	   /* Pinnacle Ridge */
    {"AuthenticAMD", 23, 49, "al_17_31"},  /* Rome */
    {"AuthenticAMD", 23, 113, "al_17_71"}, /* Matisse */
    {"AuthenticAMD", 25, 1, "al_19_1"},	   /* Milan */
    {"AuthenticAMD", 25, 17, "al_19_11"},  /* Genoa */
    {"AuthenticAMD", 25, 33, "al_19_21"},  /* Vermeer */
    {"AuthenticAMD", 25, 97, "al_19_61"},  /* Raphael */
    {"AuthenticAMD", 25, 160, "al_19_A0"}, /* Bergamo */
    {"AuthenticAMD", 26, 2, "al_1A_2"},	   /* Turin */
    {"AuthenticAMD", 26, 17, "al_1A_11"},  /* Turin dense */
};

static struct msr_cpu_id cpu(const char *vendor, unsigned int family,
			     unsigned int model)
{
	struct msr_cpu_id id;

	memset(&id, 0, sizeof(id));
	snprintf(id.vendor, sizeof(id.vendor), "%s", vendor);
	id.family = family;
	id.model = model;
	return id;
}

START_TEST(select_maps_model)
{
	struct msr_cpu_id id =
	    cpu(select_cases[_i].vendor, select_cases[_i].family,
		select_cases[_i].model);
	char path[4096], want[4096];
	struct msr_err err;

	snprintf(want, sizeof(want), "%s/%s", ALLOWLIST_SRCDIR,
		 select_cases[_i].file);
	ck_assert_msg(altool_select(ALLOWLIST_SRCDIR, &id, NULL, path,
				    sizeof(path), &err) == 0,
		      "%s", err.msg);
	ck_assert_str_eq(path, want);
}
END_TEST

/* The same through /proc/cpuinfo text, as select reads it on a node. */
START_TEST(select_from_cpuinfo)
{
	char tmpl[] = "/tmp/test-cpuinfo-XXXXXX", path[4096], want[4096];
	struct msr_cpu_id id;
	struct msr_err err;
	FILE *f;
	int fd = mkstemp(tmpl);

	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	fprintf(f,
		"processor\t: 0\nvendor_id\t: %s\ncpu family\t: %u\n"
		"model\t\t: %u\nmodel name\t: test\nstepping\t: 4\n\n"
		"processor\t: 1\nvendor_id\t: %s\ncpu family\t: %u\n"
		"model\t\t: %u\n\n",
		select_cases[_i].vendor, select_cases[_i].family,
		select_cases[_i].model, select_cases[_i].vendor,
		select_cases[_i].family, select_cases[_i].model);
	fclose(f);
	ck_assert_msg(msr_cpu_identify(tmpl, &id, &err) == 0, "%s", err.msg);
	unlink(tmpl);
	ck_assert_uint_eq(id.family, select_cases[_i].family);
	ck_assert_uint_eq(id.model, select_cases[_i].model);
	snprintf(want, sizeof(want), "%s/%s", ALLOWLIST_SRCDIR,
		 select_cases[_i].file);
	ck_assert_int_eq(altool_select(ALLOWLIST_SRCDIR, &id, NULL, path,
				       sizeof(path), &err),
			 0);
	ck_assert_str_eq(path, want);
}
END_TEST

static const struct {
	unsigned int family, model;
	const char *profile;
	int rc;
	const char *want; /* file for rc 0, a message fragment otherwise */
} profile_cases[] = {
    {6, 85, "power", 0, "profiles/power/al_06_55"},
    {6, 85, "perf", 0, "profiles/perf/al_06_55"},
    {6, 85, "freq", 0, "profiles/freq/al_06_55"},
    {6, 79, "prefetch", 0, "profiles/prefetch/al_06_4F"},
    {6, 85, "prefetch", 0, "profiles/prefetch/al_06_55"},
    {6, 207, "prefetch", -ENOENT, "profile 'prefetch' is not available"},
    {25, 1, "power", -ENOENT, "family 25 (0x19) model 1 (0x1)"},
    {25, 17, "perf", 0, "profiles/perf/al_19_11"},
    {26, 17, "freq", 0, "profiles/freq/al_1A_11"},
    {6, 85, "bogus", -ENOENT, "unknown profile 'bogus'"},
    {6, 85, "../perf", -EINVAL, "bad profile name"},
    {6, 85, "", -EINVAL, "bad profile name"},
    /* The rule shared with the plugin: no '.', no leading '-'. */
    {6, 85, "perf.bak", -EINVAL, "bad profile name 'perf.bak': 1 to 63"},
    {6, 85, "-perf", -EINVAL, "bad profile name"},
    {6, 102, NULL, -ENOENT, "family 6 (0x06) model 102 (0x66)"},
    {0x1F, 0, NULL, -ENOENT, "al_1F_0 does not exist"},
};

START_TEST(select_profiles)
{
	struct msr_cpu_id id =
	    cpu("", profile_cases[_i].family, profile_cases[_i].model);
	char path[4096], want[4096];
	struct msr_err err;
	int rc;

	rc = altool_select(ALLOWLIST_SRCDIR, &id, profile_cases[_i].profile,
			   path, sizeof(path), &err);
	ck_assert_int_eq(rc, profile_cases[_i].rc);
	if (!rc) {
		snprintf(want, sizeof(want), "%s/%s", ALLOWLIST_SRCDIR,
			 profile_cases[_i].want);
		ck_assert_str_eq(path, want);
	} else {
		ck_assert_msg(strstr(err.msg, profile_cases[_i].want),
			      "'%s' lacks '%s'", err.msg,
			      profile_cases[_i].want);
	}
}
END_TEST

/* ---- merge and diff ---------------------------------------------------- */

static void parse(const char *text, struct msr_allowlist *al)
{
	struct msr_err err;

	ck_assert_msg(
	    msr_allowlist_parse(text, strlen(text), "case", al, &err) == 0,
	    "%s", err.msg);
}

#define H AL_HEADER

static const struct {
	const char *name, *a, *b, *want;
} merge_cases[] = {
    {"disjoint", "0x10 0x0\n", "0x610 0xFF\n",
     H "0x00000010 0x0000000000000000\n0x00000610 0x00000000000000FF\n"},
    {"overlap ORs masks", "0x610 0x0F\n0x611 0x0\n", "0x610 0xF0\n",
     H "0x00000610 0x00000000000000FF\n0x00000611 0x0000000000000000\n"},
    {"read-only stays read-only", "0x10 0x0\n", "0x10 0x0\n",
     H "0x00000010 0x0000000000000000\n"},
    {"profile adds write to baseline entry", "0x199 0x0 # \"IA32_PERF_CTL\"\n",
     "0x199 0xFFFF\n", H "0x00000199 0x000000000000FFFF\n"},
    {"empty overlay", "0x10 0x0\n", "\n", H "0x00000010 0x0000000000000000\n"},
    {"sorted union", "0xC0010299 0x0\n0x10 0x0\n", "0x1B0 0xF\n0xE8 0x0\n",
     H "0x00000010 0x0000000000000000\n0x000000E8 0x0000000000000000\n"
       "0x000001B0 0x000000000000000F\n0xC0010299 0x0000000000000000\n"},
    {"full masks", "0x402 0xFFFFFFFF00000000\n", "0x402 0xFFFFFFFF\n",
     H "0x00000402 0xFFFFFFFFFFFFFFFF\n"},
};

START_TEST(merge_table)
{
	struct msr_allowlist a, b, m;
	struct msr_err err;
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	parse(merge_cases[_i].a, &a);
	parse(merge_cases[_i].b, &b);
	ck_assert_int_eq(msr_allowlist_merge(&a, &b, &m, &err), 0);
	f = open_memstream(&out, &len);
	ck_assert_int_eq(altool_print(&m, false, f), 0);
	fclose(f);
	ck_assert_msg(!strcmp(out, merge_cases[_i].want), "%s: got\n%s",
		      merge_cases[_i].name, out);
	free(out);
	msr_allowlist_free(&a);
	msr_allowlist_free(&b);
	msr_allowlist_free(&m);
}
END_TEST

static const struct {
	const char *name, *a, *b, *want;
	size_t n;
} diff_cases[] = {
    {"same", "0x10 0x0\n0x610 0xFF\n", "0x610 0xFF\n0x10 0x0\n", "", 0},
    {"added", "0x10 0x0\n", "0x10 0x0\n0x611 0x0\n",
     "+ 0x00000611 0x0000000000000000\n", 1},
    {"removed", "0x10 0x0\n0x611 0x0\n", "0x611 0x0\n",
     "- 0x00000010 0x0000000000000000\n", 1},
    {"mask changed", "0x610 0x0\n", "0x610 0x00FFFFFF00FFFFFF\n",
     "~ 0x00000610 0x0000000000000000 -> 0x00FFFFFF00FFFFFF\n", 1},
    {"all three in address order", "0x10 0x0\n0x199 0x0\n0x1B0 0x0\n",
     "0x199 0xFFFF\n0x1B0 0x0\n0x774 0x0\n",
     "- 0x00000010 0x0000000000000000\n"
     "~ 0x00000199 0x0000000000000000 -> 0x000000000000FFFF\n"
     "+ 0x00000774 0x0000000000000000\n",
     3},
    {"from empty", "\n", "0x10 0x0\n", "+ 0x00000010 0x0000000000000000\n", 1},
};

START_TEST(diff_table)
{
	struct msr_allowlist a, b;
	char *out = NULL;
	size_t len = 0, n;
	FILE *f;

	parse(diff_cases[_i].a, &a);
	parse(diff_cases[_i].b, &b);
	f = open_memstream(&out, &len);
	n = altool_diff(&a, &b, f);
	fclose(f);
	ck_assert_msg(n == diff_cases[_i].n, "%s: %zu differences",
		      diff_cases[_i].name, n);
	ck_assert_msg(!strcmp(out, diff_cases[_i].want), "%s: got\n%s",
		      diff_cases[_i].name, out);
	free(out);
	msr_allowlist_free(&a);
	msr_allowlist_free(&b);
}
END_TEST

/* ---- lint -------------------------------------------------------------- */

#define N(x) " # \"" x "\"\n"

static const struct {
	const char *name;
	const char *path; /* decides the role */
	const char *text;
	unsigned int errors, warnings;
	const char *fragment; /* in the output, or NULL */
} lint_cases[] = {
    {"good baseline", "al_06_55",
     "# header\n0x10 0x0" N("TSC") "0x610 0x0" N("MSR_PKG_POWER_LIMIT"), 0, 0,
     NULL},
    {"good profile", "profiles/power/al_06_55",
     "0x610 0x00FFFFFF00FFFFFF" N("MSR_PKG_POWER_LIMIT") "0x618 0xFEFFFF" N(
	 "MSR_DRAM_POWER_LIMIT"),
     0, 0, NULL},
    {"CRLF and no final newline", "al_06_55",
     "0x10 0x0"
     " # \"TSC\"\r\n0x611 0x0 # \"E\"",
     0, 0, NULL},
    {"everything commented out", "al_06_55",
     "# 0x10 0x0 # \"TSC\"\n#0x610 0x0\n", 1, 0, "ENOMSG"},
    {"blank file", "al_06_55", "\n\n", 1, 0, "no entries"},
    {"parse error names its line", "al_06_55",
     "0x10 0x0" N("A") "\n0x11 0xZZ" N("B"), 1, 0, "al_06_55:3: error"},
    {"missing mask", "al_06_55", "0x10 0x0" N("A") "0x11\n", 1, 0,
     "al_06_55:2: error"},
    {"duplicate names both lines", "al_06_55",
     "# c\n0x10 0x0" N("A") "0x11 0x0" N("B") "0x10 0x0" N("A"), 1, 0,
     "al_06_55:4: error: 0x00000010 is listed twice (first on line 2)"},
    {"writable in baseline", "al_06_55", "0x199 0xFFFF" N("IA32_PERF_CTL"), 1,
     0, "in a baseline"},
    {"writable in emulator baseline", "emulator/baseline",
     "0x402 0xFF" N("IA32_MC0_ADDR"), 1, 0, "in a baseline"},
    {"PKG lock bit 63", "profiles/power/al_06_55",
     "0x610 0x80FFFFFF00FFFFFF" N("MSR_PKG_POWER_LIMIT"), 1, 0,
     "lock bit(s) 0x8000000000000000"},
    {"PKG reserved bit 31", "profiles/power/al_06_55",
     "0x610 0x00FFFFFF80FFFFFF" N("MSR_PKG_POWER_LIMIT"), 1, 0,
     "sets bits 0x0000000080000000 outside"},
    {"DRAM lock bit 31", "profiles/power/al_06_55",
     "0x618 0x80FEFFFF" N("MSR_DRAM_POWER_LIMIT"), 1, 0,
     "lock bit(s) 0x0000000080000000"},
    {"PP0 lock bit 31", "profiles/power/al_06_2A",
     "0x638 0x80FFFFFF" N("MSR_PP0_POWER_LIMIT"), 1, 0, "lock bit"},
    {"PP1 lock bit 31", "profiles/power/al_06_2A",
     "0x640 0x80FFFFFF" N("MSR_PP1_POWER_LIMIT"), 1, 0, "lock bit"},
    {"lock and reserved together", "profiles/power/al_06_55",
     "0x610 0xFFFFFFFFFFFFFFFF" N("MSR_PKG_POWER_LIMIT"), 2, 0, "lock bit"},
    {"HWP package control", "profiles/freq/al_06_55",
     "0x774 0x000007FFFFFFFFFF" N("IA32_HWP_REQUEST"), 1, 0,
     "bits 0x0000040000000000"},
    {"PERF_CTL turbo disengage", "profiles/freq/al_06_55",
     "0x199 0x10000FFFF" N("IA32_PERF_CTL"), 1, 0, "outside the writable"},
    {"EPB reserved", "profiles/freq/al_06_55",
     "0x1B0 0x1F" N("IA32_ENERGY_PERF_BIAS"), 1, 0, "0x0000000000000010"},
    /* (Named partial/: a lone register would also half-serve LIKWID.) */
    {"event select INT bit", "profiles/perf/partial",
     "0x186 0xFFD7FFFF" N("IA32_PERFEVTSEL0"), 1, 0, "0x0000000000100000"},
    {"fixed counter PMI bit", "profiles/perf/partial",
     "0x38D 0x3B3" N("IA32_FIXED_CTR_CTRL"), 1, 0, "0x0000000000000080"},
    {"AMD PERF_CTL INT bit", "profiles/perf/partial",
     "0xC0010200 0x100000" N("PERF_CTL0"), 1, 0, "PERF_CTL0"},
    {"AMD PERF_CTR5 exact", "profiles/perf/al_19_11",
     "0xC001020B 0xFFFFFFFFFFFF" N("PERF_CTR5"), 0, 0, NULL},
    {"PAT never", "profiles/x/al_06_55", "0x277 0x1" N("IA32_PAT"), 1, 0,
     "must not be writable"},
    {"SYSENTER never", "profiles/x/al_06_55", "0x176 0x1" N("SYSENTER_EIP"), 1,
     0, "IA32_SYSENTER_EIP"},
    {"TSC_AUX outside emulator", "profiles/x/al_06_55",
     "0xC0000103 0xFFFFFFFF" N("IA32_TSC_AUX"), 1, 0, "only in emulator lists"},
    {"TSC_AUX in emulator", "emulator/profiles/demo",
     "0xC0000103 0xFFFFFFFF" N("IA32_TSC_AUX"), 0, 0, NULL},
    {"TSC_AUX high half in emulator", "emulator/profiles/demo",
     "0xC0000103 0x1FFFFFFFF" N("IA32_TSC_AUX"), 1, 0, "outside"},
    {"unknown writable warns", "profiles/x/al_06_55",
     "0x1234 0x1" N("SOMETHING"), 0, 1, "unknown to msr-allowlist"},
    {"missing name warns", "al_06_55", "0x10 0x0\n", 0, 1,
     "has no # \"NAME\" comment"},
    {"empty name warns", "al_06_55", "0x10 0x0 # \"\"\n", 0, 1, "NAME"},
    {"read-only entry in a profile warns", "profiles/perf/al_06_55",
     "0x10 0x0" N("TSC"), 0, 1, "grants nothing"},
    {"commented-out entry warns", "al_06_55",
     "0x10 0x0" N("TSC") "# 0x610 0x0 # \"MSR_PKG_POWER_LIMIT\"\n", 0, 1,
     "al_06_55:2: warning: commented-out entry"},
    {"prose mentioning an address is fine", "al_06_55",
     "# 0x10 is the TSC\n#\n# 0x610\n0x10 0x0" N("TSC"), 0, 0, NULL},
    {"plain list may be writable", "site-list",
     "0x199 0xFFFF" N("IA32_PERF_CTL"), 0, 0, NULL},
    /* A tool left half-working (allowlists/tool-requirements). */
    {"PMC0 alone half-serves five LIKWID groups", "profiles/perf/al_06_55",
     "0xC1 0xFFFFFFFFFFFF" N("IA32_PMC0"), 0, 5,
     "likwid FLOPS_DP would half work: 0x000000C1 is writable but "
     "0x00000309 \"IA32_FIXED_CTR0\""},
    {"AMD counters without HWCR half-serve LIKWID", "profiles/perf/al_17_1",
     "0xC0010200 0xFFFC7FFFF" N("PERF_CTL0") "0xC0010201 0xFFFFFFFFFFFF" N(
	 "PERF_CTR0") "0xC0010202 0xFFFC7FFFF" N("PERF_CTL1") "0xC0010203 "
							      "0xFFFFFFFFFFF"
							      "F" N("PERF_"
								    "CTR1"),
     0, 7, "0xC0010015 \"HWCR\", which it also writes, is not"},
    /* Seven LIKWID groups, GEOPM's and Variorum's counters; and the
     * baseline error for the writable entry. */
    {"read-only where the tool writes", "al_06_55",
     "0x38D 0x0" N("IA32_FIXED_CTR_CTRL") "0x38F 0x70000000F" N(
	 "IA32_PERF_GLOBAL_CTRL") "0x390 0x0" N("IA32_PERF_GLOBAL_OVF_CTRL"),
     1, 9, "geopm counters would half work"},
    {"power limit alone serves GEOPM and Variorum", "profiles/power/al_06_8F",
     "0x610 0x00FFFFFF00FFFFFF" N("MSR_PKG_POWER_LIMIT"), 0, 0, NULL},
    {"prefetch where LIKWID does not switch it", "profiles/prefetch/al_06_CF",
     "0x1A4 0xF" N("MSR_MISC_FEATURE_CONTROL"), 0, 0, NULL},
    {"no model in the name: no tool check", "site-list",
     "0xC1 0xFFFFFFFFFFFF" N("IA32_PMC0"), 0, 0, NULL},
};

START_TEST(lint_table)
{
	struct altool_lint res = {0};
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	ck_assert_int_eq(altool_lint_text(lint_cases[_i].text,
					  strlen(lint_cases[_i].text),
					  lint_cases[_i].path, ALTOOL_ROLE_AUTO,
					  false, f, &res),
			 0);
	fclose(f);
	ck_assert_msg(res.errors == lint_cases[_i].errors &&
			  res.warnings == lint_cases[_i].warnings,
		      "%s: %u errors %u warnings (want %u, %u):\n%s",
		      lint_cases[_i].name, res.errors, res.warnings,
		      lint_cases[_i].errors, lint_cases[_i].warnings, out);
	if (lint_cases[_i].fragment)
		ck_assert_msg(strstr(out, lint_cases[_i].fragment),
			      "%s: output lacks '%s':\n%s", lint_cases[_i].name,
			      lint_cases[_i].fragment, out);
	else
		ck_assert_msg(!*out, "%s: unexpected output:\n%s",
			      lint_cases[_i].name, out);
	free(out);
}
END_TEST

START_TEST(lint_too_big)
{
	struct altool_lint res = {0};
	size_t n = AL_TEXT_MAX + 1;
	char *text = malloc(n);
	FILE *f = fopen("/dev/null", "w");

	memset(text, '#', n);
	text[n - 1] = '\n';
	ck_assert_int_eq(
	    altool_lint_text(text, n, "big", ALTOOL_ROLE_LIST, false, f, &res),
	    0);
	ck_assert_uint_eq(res.errors, 1);
	fclose(f);
	free(text);
}
END_TEST

static const struct {
	const char *path;
	enum altool_role role;
	bool emulator;
} role_cases[] = {
    {"al_06_55", ALTOOL_ROLE_BASELINE, false},
    {"/usr/share/msr-safe/allowlists/al_19_1", ALTOOL_ROLE_BASELINE, false},
    {"profiles/perf/al_06_55", ALTOOL_ROLE_PROFILE, false},
    {"/x/profiles/power/al_06_55", ALTOOL_ROLE_PROFILE, false},
    {"emulator/baseline", ALTOOL_ROLE_BASELINE, true},
    {"a/emulator/profiles/demo", ALTOOL_ROLE_PROFILE, true},
    {"/etc/msr-safe/site", ALTOOL_ROLE_LIST, false},
    {"profiles", ALTOOL_ROLE_LIST, false},
    {"my_al_06_55", ALTOOL_ROLE_LIST, false},
    /* A tree that lives under a directory named "profiles". */
    {"/work/profiles/allowlists/al_06_55", ALTOOL_ROLE_BASELINE, false},
    {"/work/profiles/allowlists/profiles/perf/al_06_55", ALTOOL_ROLE_PROFILE,
     false},
    {"/profiles/a/b/al_06_55", ALTOOL_ROLE_BASELINE, false},
};

START_TEST(role_table)
{
	bool emulator = !role_cases[_i].emulator;

	ck_assert_int_eq(altool_role_of_path(role_cases[_i].path, &emulator),
			 role_cases[_i].role);
	ck_assert_int_eq(emulator, role_cases[_i].emulator);
}
END_TEST

/* ---- tool requirements ------------------------------------------------- */

/* The built-in copy of allowlists/tool-requirements parses and says what
 * issue #13 found LIKWID doing on Skylake-SP. */
START_TEST(reqs_builtin)
{
	struct altool_reqs reqs;
	struct msr_err err;
	bool pebs = false, trl_cores = false, trl_client = false;
	size_t i;

	ck_assert_msg(altool_reqs_builtin(&reqs, &err) == 0, "%s", err.msg);
	ck_assert_uint_gt(reqs.count, 50);
	for (i = 0; i < reqs.count; i++) {
		const struct altool_req *r = &reqs.req[i];

		if (strcmp(r->tool, "likwid") || strcmp(r->feature, "CLOCK"))
			continue;
		if (r->first == 0x3F1 && r->access == 'z' &&
		    altool_req_applies(r, 6, 0x55))
			pebs = true;
		if (r->first == 0x1AE && altool_req_applies(r, 6, 0x55))
			trl_cores = true;
		if (r->first == 0x1AE && altool_req_applies(r, 6, 0x9E))
			trl_client = true;
	}
	ck_assert(pebs);
	ck_assert(trl_cores);
	ck_assert(!trl_client);
	altool_reqs_free(&reqs);
}
END_TEST

START_TEST(reqs_cpu_sets)
{
	static const char text[] = "# comment\n"
				   "cpus big 06_55,06_8F\n"
				   "cpus most intel,-big\n"
				   "t f most r 0x10 # trailing comment\n"
				   "t g amd,-19_11 w 0x20\n"
				   "t h 1A r 0x30\n"
				   "t a,b 06_55 w 0x1-0x3,0x5\n";
	struct altool_reqs reqs;
	struct msr_err err;

	ck_assert_msg(altool_reqs_parse(text, strlen(text), "T", &reqs, &err) ==
			  0,
		      "%s", err.msg);
	/* f, g, h and two features times two ranges. */
	ck_assert_uint_eq(reqs.count, 7);
	ck_assert(altool_req_applies(&reqs.req[0], 6, 0x4F));
	ck_assert(!altool_req_applies(&reqs.req[0], 6, 0x55));
	ck_assert(!altool_req_applies(&reqs.req[0], 6, 0x8F));
	ck_assert(!altool_req_applies(&reqs.req[0], 0x19, 0x1));
	ck_assert(altool_req_applies(&reqs.req[1], 0x17, 0x31));
	ck_assert(altool_req_applies(&reqs.req[1], 0x19, 0x1));
	ck_assert(!altool_req_applies(&reqs.req[1], 0x19, 0x11));
	ck_assert(!altool_req_applies(&reqs.req[1], 6, 0x55));
	ck_assert(altool_req_applies(&reqs.req[2], 0x1A, 0x44));
	ck_assert(!altool_req_applies(&reqs.req[2], 0x19, 0x44));
	ck_assert_str_eq(reqs.req[3].feature, "a");
	ck_assert_uint_eq(reqs.req[3].first, 1);
	ck_assert_uint_eq(reqs.req[3].last, 3);
	ck_assert_str_eq(reqs.req[6].feature, "b");
	ck_assert_uint_eq(reqs.req[6].first, 5);
	ck_assert_int_eq(reqs.req[6].access, 'w');
	ck_assert_uint_eq(reqs.req[6].line, 7);
	altool_reqs_free(&reqs);
}
END_TEST

static const struct {
	const char *text, *fragment;
} bad_reqs[] = {
    {"t f nosuch r 0x1\n", "T:1: bad CPU token 'nosuch'"},
    {"\nt f 06_ZZ r 0x1\n", "T:2: bad CPU token '06_ZZ'"},
    {"t f intel x 0x1\n", "T:1: access 'x' is not r, z or w"},
    {"t f intel r 0x\n", "T:1: '0x' is not an MSR address"},
    {"t f intel r 0x5-0x1\n", "'0x5-0x1' is not an MSR address"},
    {"t f intel r 0x100000000\n", "is not an MSR address"},
    {"t f intel r 16\n", "'16' is not an MSR address"},
    {"t f intel r\n", "T:1: expected 'TOOL FEATURE"},
    {"t f intel r 0x1 extra\n", "T:1: expected 'TOOL FEATURE"},
    {"cpus a\n", "T:1: expected 'cpus NAME"},
    {"averyveryverylongtoolname f intel r 0x1\n", "tool name"},
    {"t averyveryverylongfeaturename intel r 0x1\n", "feature name"},
    {"# only comments\n\n", "T: no requirements"},
};

START_TEST(reqs_refused)
{
	struct altool_reqs reqs;
	struct msr_err err;

	ck_assert_int_eq(altool_reqs_parse(bad_reqs[_i].text,
					   strlen(bad_reqs[_i].text), "T",
					   &reqs, &err),
			 -EINVAL);
	ck_assert_msg(strstr(err.msg, bad_reqs[_i].fragment), "'%s' lacks '%s'",
		      err.msg, bad_reqs[_i].fragment);
	ck_assert_ptr_null(reqs.req);
}
END_TEST

/* Served, not served (first unmet register) and not applicable. */
START_TEST(reqs_served)
{
	static const char text[] = "x f intel r 0x10\n"
				   "x f intel z 0x3F1\n"
				   "x f intel w 0x38F\n"
				   "x f 06_55 w 0x1A4\n";
	static const char list[] = "0x10 0x0\n0x38F 0x1\n0x3F1 0x0\n";
	static const char ro[] = "0x10 0x0\n0x38F 0x0\n0x3F1 0x0\n";
	struct msr_allowlist al, al_ro;
	struct altool_reqs reqs;
	struct msr_err err;
	uint32_t miss = 0;

	ck_assert(altool_reqs_parse(text, strlen(text), "T", &reqs, &err) == 0);
	ck_assert(msr_allowlist_parse(list, strlen(list), "L", &al, &err) == 0);
	ck_assert(msr_allowlist_parse(ro, strlen(ro), "R", &al_ro, &err) == 0);
	ck_assert_int_eq(
	    altool_feature_served(&reqs, "x", "f", 6, 0x4F, &al, &miss), 1);
	ck_assert_int_eq(
	    altool_feature_served(&reqs, "x", "f", 6, 0x55, &al, &miss), 0);
	ck_assert_uint_eq(miss, 0x1A4);
	ck_assert_int_eq(
	    altool_feature_served(&reqs, "x", "f", 6, 0x4F, &al_ro, &miss), 0);
	ck_assert_uint_eq(miss, 0x38F);
	ck_assert_int_eq(
	    altool_feature_served(&reqs, "x", "f", 0x19, 1, &al, &miss), -1);
	ck_assert_int_eq(
	    altool_feature_served(&reqs, "x", "g", 6, 0x4F, &al, &miss), -1);
	msr_allowlist_free(&al);
	msr_allowlist_free(&al_ro);
	altool_reqs_free(&reqs);
}
END_TEST

static const struct {
	const char *path;
	bool ok;
	unsigned int family, model;
} model_paths[] = {
    {"al_06_55", true, 6, 0x55},
    {"/x/profiles/perf/al_19_11", true, 0x19, 0x11},
    {"al_1A_2", true, 0x1A, 2},
    {"al_6_55", false, 0, 0},
    {"al_06_", false, 0, 0},
    {"al_06_5G", false, 0, 0},
    {"baseline", false, 0, 0},
    {"x/al_06_55/site", false, 0, 0},
};

START_TEST(model_of_path)
{
	unsigned int f = 0, m = 0;

	ck_assert_int_eq(altool_model_of_path(model_paths[_i].path, &f, &m),
			 model_paths[_i].ok);
	if (model_paths[_i].ok) {
		ck_assert_uint_eq(f, model_paths[_i].family);
		ck_assert_uint_eq(m, model_paths[_i].model);
	}
}
END_TEST

/* ---- the command, end to end ------------------------------------------- */

struct run {
	int status;
	char out[65536];
	char err[8192];
};

static void slurp(int fd, char *buf, size_t cap)
{
	ssize_t n;
	size_t used = 0;

	lseek(fd, 0, SEEK_SET);
	while (used + 1 < cap && (n = read(fd, buf + used, cap - used - 1)) > 0)
		used += (size_t)n;
	buf[used] = 0;
}

/* Run msr-allowlist with @argv (NULL-terminated, without argv[0]). */
static void run(struct run *r, const char *const *argv)
{
	char out_t[] = "/tmp/test-mal-out-XXXXXX";
	char err_t[] = "/tmp/test-mal-err-XXXXXX";
	const char *args[32];
	int fo = mkstemp(out_t), fe = mkstemp(err_t), st, i;
	pid_t pid;

	ck_assert(fo >= 0 && fe >= 0);
	unlink(out_t);
	unlink(err_t);
	args[0] = MSR_ALLOWLIST_BIN;
	for (i = 0; argv[i] && i < 30; i++)
		args[i + 1] = argv[i];
	args[i + 1] = NULL;
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (!pid) {
		dup2(fo, 1);
		dup2(fe, 2);
		unsetenv(MSRSAVE_DEVICE_DIR_ENV);
		execv(MSR_ALLOWLIST_BIN, (char *const *)args);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	r->status = WEXITSTATUS(st);
	slurp(fo, r->out, sizeof(r->out));
	slurp(fe, r->err, sizeof(r->err));
	close(fo);
	close(fe);
}

/* A file-backed device tree: DIR/0/msr_safe, DIR/1/msr_safe. */
static void make_tree(char *dir)
{
	char path[4200];
	int cpu, fd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	for (cpu = 0; cpu < 2; cpu++) {
		snprintf(path, sizeof(path), "%s/%d", dir, cpu);
		ck_assert_int_eq(mkdir(path, 0755), 0);
		snprintf(path, sizeof(path), "%s/%d/msr_safe", dir, cpu);
		fd = open(path, O_CREAT | O_WRONLY, 0644);
		ck_assert_int_ge(fd, 0);
		close(fd);
	}
}

static void remove_tree(const char *dir)
{
	char cmd[4200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void read_text(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);

	ck_assert_msg(fd >= 0, "cannot open %s", path);
	slurp(fd, buf, cap);
	close(fd);
}

START_TEST(cmd_select)
{
	struct run r;
	const char *ok[] = {
	    "select",  "--dir", ALLOWLIST_SRCDIR, "--family", "0x6",
	    "--model", "85",	"--profile",	  "power",    NULL};
	const char *missing[] = {"select",   "--dir", ALLOWLIST_SRCDIR,
				 "--family", "6",     "--model",
				 "0x66",     NULL};
	const char *half[] = {"select",	  "--dir", ALLOWLIST_SRCDIR,
			      "--family", "6",	   NULL};

	run(&r, ok);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, ALLOWLIST_SRCDIR "/al_06_55\n" ALLOWLIST_SRCDIR
						 "/profiles/power/al_06_55\n");
	run(&r, missing);
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.out, "");
	ck_assert_msg(strstr(r.err, "family 6 (0x06) model 102 (0x66)"), "%s",
		      r.err);
	run(&r, half);
	ck_assert_int_eq(r.status, 1);
	ck_assert_msg(strstr(r.err, "--family and --model go together"), "%s",
		      r.err);
}
END_TEST

START_TEST(cmd_lint_merge_diff)
{
	struct run r;
	const char *lint_ok[] = {
	    "lint", "--strict", ALLOWLIST_SRCDIR "/al_06_8F",
	    ALLOWLIST_SRCDIR "/profiles/perf/al_06_8F", NULL};
	char bad[] = "/tmp/test-mal-XXXXXX", badfile[4200];
	const char *lint_bad[] = {"lint", badfile, NULL};
	const char *merge[] = {"merge", ALLOWLIST_SRCDIR "/al_06_55",
			       ALLOWLIST_SRCDIR "/profiles/power/al_06_55",
			       NULL};
	const char *same[] = {"diff", ALLOWLIST_SRCDIR "/al_06_55",
			      ALLOWLIST_SRCDIR "/al_06_55", NULL};
	const char *differ[] = {"diff", ALLOWLIST_SRCDIR "/al_06_55",
				ALLOWLIST_SRCDIR "/profiles/power/al_06_55",
				NULL};
	const char *usage[] = {"frobnicate", NULL};
	FILE *f;

	run(&r, lint_ok);
	ck_assert_msg(r.status == 0, "%s%s", r.out, r.err);
	ck_assert_ptr_nonnull(mkdtemp(bad));
	snprintf(badfile, sizeof(badfile), "%s/al_06_55", bad);
	f = fopen(badfile, "w");
	fputs("0x10 0x0 # \"TSC\"\n0x610 0x8000000000000000 # \"PKG\"\n", f);
	fclose(f);
	run(&r, lint_bad);
	ck_assert_int_eq(r.status, 1);
	ck_assert_msg(strstr(r.out, "al_06_55:2: error"), "%s", r.out);
	remove_tree(bad);

	run(&r, merge);
	ck_assert_int_eq(r.status, 0);
	ck_assert_msg(!strncmp(r.out, AL_HEADER, AL_HEADER_LEN), "%s", r.out);
	ck_assert_msg(strstr(r.out, "0x00000610 0x00FFFFFF00FFFFFF\n"), "%s",
		      r.out);
	ck_assert_msg(strstr(r.out, "0x00000618 0x0000000000FEFFFF\n"), "%s",
		      r.out);
	ck_assert_msg(strstr(r.out, "0x00000010 0x0000000000000000\n"), "%s",
		      r.out);

	run(&r, same);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, "");
	run(&r, differ);
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(
	    r.out, "- 0x00000010 0x0000000000000000\n"
		   "- 0x00000034 0x0000000000000000\n"
		   "- 0x000000C1 0x0000000000000000\n"
		   "- 0x000000C2 0x0000000000000000\n"
		   "- 0x000000C3 0x0000000000000000\n"
		   "- 0x000000C4 0x0000000000000000\n"
		   "- 0x000000CE 0x0000000000000000\n"
		   "- 0x000000E7 0x0000000000000000\n"
		   "- 0x000000E8 0x0000000000000000\n"
		   "- 0x00000186 0x0000000000000000\n"
		   "- 0x00000187 0x0000000000000000\n"
		   "- 0x00000188 0x0000000000000000\n"
		   "- 0x00000189 0x0000000000000000\n"
		   "- 0x00000198 0x0000000000000000\n"
		   "- 0x00000199 0x0000000000000000\n"
		   "- 0x0000019C 0x0000000000000000\n"
		   "- 0x000001A0 0x0000000000000000\n"
		   "- 0x000001A2 0x0000000000000000\n"
		   "- 0x000001A4 0x0000000000000000\n"
		   "- 0x000001AD 0x0000000000000000\n"
		   "- 0x000001AE 0x0000000000000000\n"
		   "- 0x000001B0 0x0000000000000000\n"
		   "- 0x000001B1 0x0000000000000000\n"
		   "- 0x00000309 0x0000000000000000\n"
		   "- 0x0000030A 0x0000000000000000\n"
		   "- 0x0000030B 0x0000000000000000\n"
		   "- 0x0000038D 0x0000000000000000\n"
		   "- 0x0000038E 0x0000000000000000\n"
		   "- 0x0000038F 0x0000000000000000\n"
		   "- 0x00000390 0x0000000000000000\n"
		   "- 0x000003F1 0x0000000000000000\n"
		   "- 0x000003F9 0x0000000000000000\n"
		   "- 0x000003FD 0x0000000000000000\n"
		   "- 0x00000606 0x0000000000000000\n"
		   "~ 0x00000610 0x0000000000000000 -> 0x00FFFFFF00FFFFFF\n"
		   "- 0x00000611 0x0000000000000000\n"
		   "- 0x00000613 0x0000000000000000\n"
		   "- 0x00000614 0x0000000000000000\n"
		   "~ 0x00000618 0x0000000000000000 -> 0x0000000000FEFFFF\n"
		   "- 0x00000619 0x0000000000000000\n"
		   "- 0x0000061B 0x0000000000000000\n"
		   "- 0x0000061C 0x0000000000000000\n"
		   "- 0x00000620 0x0000000000000000\n"
		   "- 0x00000770 0x0000000000000000\n"
		   "- 0x00000771 0x0000000000000000\n"
		   "- 0x00000774 0x0000000000000000\n");
	run(&r, usage);
	ck_assert_int_eq(r.status, 2);
	ck_assert_msg(strstr(r.err, "unknown command 'frobnicate'"), "%s",
		      r.err);
}
END_TEST

/* The command prints the table tools/coverage puts in README.md. */
START_TEST(cmd_coverage)
{
	struct run r;
	const char *coverage[] = {"coverage", "--dir", ALLOWLIST_SRCDIR, NULL};
	const char *nodir[] = {"coverage", "--dir", "/nonexistent", NULL};
	const char *args[] = {"coverage", "extra", NULL};
	const char *row;

	run(&r, coverage);
	ck_assert_msg(r.status == 0, "%s", r.err);
	ck_assert_msg(!strncmp(r.out,
			       "| list | baseline (read-only) | + freq "
			       "| + perf | + power | + prefetch | not "
			       "served |\n",
			       70),
		      "%s", r.out);
	row = strstr(r.out, "| al_06_55 |");
	ck_assert_ptr_nonnull(row);
	ck_assert_msg(
	    !strncmp(row,
		     "| al_06_55 | likwid powermeter; geopm energy; variorum "
		     "energy clocks thermals | geopm frequency frequency-hwp "
		     "uncore-frequency | likwid CLOCK FLOPS_DP",
		     150),
	    "%.300s", row);
	run(&r, nodir);
	ck_assert_int_eq(r.status, 1);
	ck_assert_msg(strstr(r.err, "/nonexistent"), "%s", r.err);
	run(&r, args);
	ck_assert_int_eq(r.status, 2);
}
END_TEST

START_TEST(cmd_install_show)
{
	char dir[] = "/tmp/test-mal-dev-XXXXXX", live[4200], text[65536];
	char cpuinfo[4200], bad[4200], before[65536];
	struct run r, m;
	FILE *f;

	make_tree(dir);
	snprintf(live, sizeof(live), "%s/msr_allowlist", dir);
	snprintf(cpuinfo, sizeof(cpuinfo), "%s/cpuinfo", dir);
	f = fopen(cpuinfo, "w");
	fputs("vendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 143\n\n",
	      f);
	fclose(f);

	{
		const char *install[] = {
		    "install",	 "--auto", "--profile",	   "perf",
		    "--profile", "freq",   "--dir",	   ALLOWLIST_SRCDIR,
		    "--cpuinfo", cpuinfo,  "--device-dir", dir,
		    NULL};
		const char *merge[] = {
		    "merge", ALLOWLIST_SRCDIR "/al_06_8F",
		    ALLOWLIST_SRCDIR "/profiles/perf/al_06_8F",
		    ALLOWLIST_SRCDIR "/profiles/freq/al_06_8F", NULL};
		const char *show[] = {"show", "--device-dir", dir, NULL};

		run(&r, install);
		ck_assert_msg(r.status == 0, "%s", r.err);
		ck_assert_msg(strstr(r.err, "installed"), "%s", r.err);
		run(&m, merge);
		ck_assert_int_eq(m.status, 0);
		read_text(live, text, sizeof(text));
		ck_assert_str_eq(text, m.out);
		run(&r, show);
		ck_assert_int_eq(r.status, 0);
		ck_assert_str_eq(r.out, m.out);
	}
	/* A list with a lock bit is refused and the live list is kept. */
	read_text(live, before, sizeof(before));
	snprintf(bad, sizeof(bad), "%s/site", dir);
	f = fopen(bad, "w");
	fputs("0x610 0x80FFFFFF00FFFFFF # \"MSR_PKG_POWER_LIMIT\"\n", f);
	fclose(f);
	{
		const char *install[] = {"install", bad, "--device-dir", dir,
					 NULL};
		const char *unavailable[] = {
		    "install",	 "--auto", "--profile",
		    "prefetch",	 "--dir",  ALLOWLIST_SRCDIR,
		    "--cpuinfo", cpuinfo,  "--device-dir",
		    dir,	 NULL};
		const char *nodev[] = {"install", ALLOWLIST_SRCDIR "/al_06_8F",
				       "--device-dir", "/nonexistent/cpu",
				       NULL};
		const char *both[] = {"install", bad, "--auto", NULL};

		run(&r, install);
		ck_assert_int_eq(r.status, 1);
		ck_assert_msg(strstr(r.err, "lock bit") &&
				  strstr(r.err, "refusing to install"),
			      "%s", r.err);
		read_text(live, text, sizeof(text));
		ck_assert_str_eq(text, before);

		/* Emerald Rapids has no prefetch profile. */
		f = fopen(cpuinfo, "w");
		fputs("vendor_id\t: GenuineIntel\ncpu family\t: 6\n"
		      "model\t\t: 207\n\n",
		      f);
		fclose(f);
		run(&r, unavailable);
		ck_assert_int_eq(r.status, 1);
		ck_assert_msg(strstr(r.err, "'prefetch' is not available"),
			      "%s", r.err);
		read_text(live, text, sizeof(text));
		ck_assert_str_eq(text, before);

		run(&r, nodev);
		ck_assert_int_eq(r.status, 1);
		ck_assert_msg(strstr(r.err, "hint: is msr-safe loaded"), "%s",
			      r.err);

		run(&r, both);
		ck_assert_int_eq(r.status, 2);
	}
	{
		/* --dry-run prints the merged list and installs nothing. */
		const char *dry[] = {"install",
				     "--dry-run",
				     ALLOWLIST_SRCDIR "/emulator/baseline",
				     "--profile",
				     ALLOWLIST_SRCDIR "/emulator/profiles/demo",
				     "--device-dir",
				     dir,
				     NULL};

		run(&r, dry);
		ck_assert_msg(r.status == 0, "%s", r.err);
		ck_assert_msg(strstr(r.out, "0xC0000103 0x00000000FFFFFFFF\n"),
			      "%s", r.out);
		read_text(live, text, sizeof(text));
		ck_assert_str_eq(text, before);
	}
	remove_tree(dir);
}
END_TEST

/* The boot-time set-up as shipped: the unit runs msr-allowlist install
 * with the env file's words, which must install this model's baseline. */
START_TEST(boot_config)
{
	char unit[4200], text[65536], env[65536], words[1024];
	char dir[] = "/tmp/test-mal-boot-XXXXXX", cpuinfo[4200], live[4200];
	const char *argv[24], *p;
	struct run r, m;
	size_t n = 0;
	char *save = NULL, *w;
	FILE *f;

	snprintf(unit, sizeof(unit), "%s", MSR_ALLOWLIST_BIN);
	snprintf(strrchr(unit, '/'),
		 sizeof(unit) - (size_t)(strrchr(unit, '/') - unit),
		 "/systemd/msr-safe.service");
	read_text(unit, text, sizeof(text));
	ck_assert_msg(strstr(text, "ExecStart=/sbin/modprobe msr-safe "
				   "$MSR_SAFE_MODULE_OPTIONS\n"),
		      "%s", text);
	ck_assert_msg(strstr(text, "/msr-allowlist install "
				   "$MSR_ALLOWLIST_INSTALL\n"),
		      "%s", text);
	ck_assert_msg(strstr(text, "/msr-safe/msr-safe.env\n"), "%s", text);
	ck_assert_msg(!strstr(text, "@bindir@") &&
			  !strstr(text, "@sysconfdir@"),
		      "unsubstituted: %s", text);

	read_text(ALLOWLIST_SRCDIR "/systemd/msr-safe.env", env, sizeof(env));
	p = strstr(env, "\nMSR_ALLOWLIST_INSTALL=");
	ck_assert_ptr_nonnull(p);
	p += strlen("\nMSR_ALLOWLIST_INSTALL=");
	snprintf(words, sizeof(words), "%.*s", (int)strcspn(p, "\n"), p);
	ck_assert_str_eq(words, "--auto");

	make_tree(dir);
	snprintf(cpuinfo, sizeof(cpuinfo), "%s/cpuinfo", dir);
	snprintf(live, sizeof(live), "%s/msr_allowlist", dir);
	f = fopen(cpuinfo, "w");
	fputs("vendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 17\n\n",
	      f);
	fclose(f);
	argv[n++] = "install";
	for (w = strtok_r(words, " \t", &save); w && n < 16;
	     w = strtok_r(NULL, " \t", &save))
		argv[n++] = w;
	argv[n++] = "--dir";
	argv[n++] = ALLOWLIST_SRCDIR;
	argv[n++] = "--cpuinfo";
	argv[n++] = cpuinfo;
	argv[n++] = "--device-dir";
	argv[n++] = dir;
	argv[n] = NULL;
	run(&r, argv);
	ck_assert_msg(r.status == 0, "%s", r.err);
	{
		const char *merge[] = {"merge", ALLOWLIST_SRCDIR "/al_19_11",
				       NULL};

		run(&m, merge);
		ck_assert_int_eq(m.status, 0);
	}
	read_text(live, text, sizeof(text));
	ck_assert_str_eq(text, m.out);
	remove_tree(dir);
}
END_TEST

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

int main(void)
{
	SRunner *sr;
	Suite *s = suite_create("msr-allowlist");
	TCase *tc;
	int failed;

	tc = tcase_create("select");
	tcase_add_loop_test(tc, select_maps_model, 0, COUNT(select_cases));
	tcase_add_loop_test(tc, select_from_cpuinfo, 0, COUNT(select_cases));
	tcase_add_loop_test(tc, select_profiles, 0, COUNT(profile_cases));
	suite_add_tcase(s, tc);
	tc = tcase_create("merge and diff");
	tcase_add_loop_test(tc, merge_table, 0, COUNT(merge_cases));
	tcase_add_loop_test(tc, diff_table, 0, COUNT(diff_cases));
	suite_add_tcase(s, tc);
	tc = tcase_create("lint");
	tcase_add_loop_test(tc, lint_table, 0, COUNT(lint_cases));
	tcase_add_test(tc, lint_too_big);
	tcase_add_loop_test(tc, role_table, 0, COUNT(role_cases));
	suite_add_tcase(s, tc);
	tc = tcase_create("tool requirements");
	tcase_add_test(tc, reqs_builtin);
	tcase_add_test(tc, reqs_cpu_sets);
	tcase_add_loop_test(tc, reqs_refused, 0, COUNT(bad_reqs));
	tcase_add_test(tc, reqs_served);
	tcase_add_loop_test(tc, model_of_path, 0, COUNT(model_paths));
	suite_add_tcase(s, tc);
	tc = tcase_create("command");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, cmd_select);
	tcase_add_test(tc, cmd_lint_merge_diff);
	tcase_add_test(tc, cmd_install_show);
	tcase_add_test(tc, cmd_coverage);
	tcase_add_test(tc, boot_config);
	suite_add_tcase(s, tc);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
