// SPDX-License-Identifier: GPL-2.0-only
/* Lint, select and diff for msr-allowlist (see altool.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "altool.h"

#define CTR48 0x0000FFFFFFFFFFFFull
#define ALL64 0xFFFFFFFFFFFFFFFFull

/*
 * What the project is willing to hand out for writing, per register.
 * Read-only telemetry and registers that must never be writable are
 * listed with allowed = 0 so lint can say why.  A run of @count registers
 * @stride apart shares one row; its name holds one %u for the index.
 */
struct known_run {
	uint32_t first;
	uint8_t count;
	uint8_t stride;
	const char *name;
	uint64_t allowed;
	uint64_t lock;
	unsigned int flags;
	const char *note;
};

static const struct known_run known[] = {
    /* Intel and shared architectural registers */
    {0x10, 1, 1, "IA32_TIME_STAMP_COUNTER", 0, 0, 0,
     "the kernel's clock source"},
    {0x1B, 1, 1, "IA32_APIC_BASE", 0, 0, 0, "moves or disables the local APIC"},
    {0x34, 1, 1, "MSR_SMI_COUNT", 0, 0, 0, "a read-only counter"},
    {0x3A, 1, 1, "IA32_FEATURE_CONTROL", 0, 0x1, 0,
     "firmware's VMX/SGX configuration, locked at boot"},
    {0x48, 1, 1, "IA32_SPEC_CTRL", 0, 0, 0,
     "speculation mitigations protecting other processes"},
    {0x49, 1, 1, "IA32_PRED_CMD", 0, 0, 0,
     "a command register for speculation barriers"},
    {0xC1, 8, 1, "IA32_PMC%u", CTR48, 0, 0, "the counter is 48 bits wide"},
    {0xCE, 1, 1, "MSR_PLATFORM_INFO", 0, 0, 0, "firmware configuration"},
    {0xE7, 1, 1, "IA32_MPERF", 0, 0, 0,
     "the kernel's frequency accounting relies on it"},
    {0xE8, 1, 1, "IA32_APERF", 0, 0, 0,
     "the kernel's frequency accounting relies on it"},
    {0x10B, 1, 1, "IA32_FLUSH_CMD", 0, 0, 0, "a cache flush command"},
    {0x174, 1, 1, "IA32_SYSENTER_CS", 0, 0, 0, "the kernel's entry point"},
    {0x175, 1, 1, "IA32_SYSENTER_ESP", 0, 0, 0, "the kernel's entry stack"},
    {0x176, 1, 1, "IA32_SYSENTER_EIP", 0, 0, 0, "the kernel's entry point"},
    {0x179, 1, 1, "IA32_MCG_CAP", 0, 0, 0, "read-only capabilities"},
    {0x17A, 1, 1, "IA32_MCG_STATUS", 0, 0, 0, "machine-check state"},
    {0x186, 8, 1, "IA32_PERFEVTSEL%u", 0xFFC7FFFFull, 0, 0,
     "PC (bit 19) drives a pin, INT (bit 20) raises interrupts the kernel "
     "does not expect, AnyThread (bit 21) counts the sibling thread's "
     "events, bits 63:32 are model-specific"},
    {0x198, 1, 1, "IA32_PERF_STATUS", 0, 0, 0, "read-only status"},
    {0x199, 1, 1, "IA32_PERF_CTL", 0xFFFFull, 0, 0,
     "only the requested ratio (bits 15:0) is handed out"},
    {0x19C, 1, 1, "IA32_THERM_STATUS", 0, 0, 0, "thermal status and logs"},
    {0x1A0, 1, 1, "IA32_MISC_ENABLE", 0, 0, 0,
     "switches processor features (turbo, fast strings, MONITOR) for "
     "everyone"},
    {0x1A2, 1, 1, "MSR_TEMPERATURE_TARGET", 0, 0, 0,
     "thermal protection offset"},
    {0x1A4, 1, 1, "MSR_MISC_FEATURE_CONTROL", 0xFull, 0, 0,
     "only the four prefetcher disable bits are documented"},
    {0x1AD, 1, 1, "MSR_TURBO_RATIO_LIMIT", 0, 0, 0,
     "firmware turbo configuration"},
    {0x1AE, 1, 1, "MSR_TURBO_RATIO_LIMIT1", 0, 0, 0,
     "firmware turbo configuration (core counts on Xeon Scalable)"},
    {0x1AF, 1, 1, "MSR_TURBO_RATIO_LIMIT2", 0, 0, 0,
     "firmware turbo configuration"},
    {0x1B0, 1, 1, "IA32_ENERGY_PERF_BIAS", 0xFull, 0, 0,
     "bits 63:4 are reserved"},
    {0x1B1, 1, 1, "IA32_PACKAGE_THERM_STATUS", 0, 0, 0,
     "thermal status and logs"},
    {0x1D9, 1, 1, "IA32_DEBUGCTL", 0, 0, 0,
     "branch tracing writes to memory and changes debug behaviour"},
    {0x277, 1, 1, "IA32_PAT", 0, 0, 0,
     "memory types of every mapping in the system"},
    {0x309, 3, 1, "IA32_FIXED_CTR%u", CTR48, 0, 0,
     "the counter is 48 bits wide"},
    {0x38D, 1, 1, "IA32_FIXED_CTR_CTRL", 0x333ull, 0, 0,
     "AnyThread (bits 2, 6, 10) counts the sibling thread, PMI (bits 3, "
     "7, 11) raises interrupts the kernel does not expect"},
    {0x38E, 1, 1, "IA32_PERF_GLOBAL_STATUS", 0, 0, 0, "read-only status"},
    {0x38F, 1, 1, "IA32_PERF_GLOBAL_CTRL", 0x7000000FFull, 0, 0,
     "only the enables of general counters 0-7 and fixed counters 0-2"},
    {0x390, 1, 1, "IA32_PERF_GLOBAL_OVF_CTRL", 0x7000000FFull, 0, 0,
     "only the overflow bits of general counters 0-7 and fixed counters "
     "0-2"},
    {0x3F1, 1, 1, "IA32_PEBS_ENABLE", 0, 0, 0, "PEBS writes records to memory"},
    {0x3F9, 1, 1, "MSR_PKG_C6_RESIDENCY", 0, 0, 0, "a residency counter"},
    {0x3FD, 1, 1, "MSR_CORE_C6_RESIDENCY", 0, 0, 0, "a residency counter"},
    {0x400, 1, 1, "IA32_MC0_CTL", 0, 0, 0, "machine-check reporting"},
    {0x401, 1, 1, "IA32_MC0_STATUS", 0, 0, 0, "machine-check state"},
    {0x402, 1, 1, "IA32_MC0_ADDR", ALL64, 0, ALTOOL_EMULATOR_ONLY,
     "machine-check state on real hardware"},
    {0x403, 1, 1, "IA32_MC0_MISC", ALL64, 0, ALTOOL_EMULATOR_ONLY,
     "machine-check state on real hardware"},
    {0x600, 1, 1, "IA32_DS_AREA", 0, 0, 0,
     "points the processor at memory it writes"},
    {0x601, 1, 1, "MSR_PP0_CURRENT_CONFIG", 0, 1ull << 31, 0,
     "the voltage regulator's current limit protects the hardware"},
    {0x606, 1, 1, "MSR_RAPL_POWER_UNIT", 0, 0, 0, "read-only units"},
    {0x610, 1, 1, "MSR_PKG_POWER_LIMIT", 0x00FFFFFF00FFFFFFull, 1ull << 63, 0,
     "bits 31:24 and 62:56 are reserved"},
    {0x611, 1, 1, "MSR_PKG_ENERGY_STATUS", 0, 0, 0, "a read-only counter"},
    {0x613, 1, 1, "MSR_PKG_PERF_STATUS", 0, 0, 0, "a read-only counter"},
    {0x614, 1, 1, "MSR_PKG_POWER_INFO", 0, 0, 0, "read-only limits"},
    {0x618, 1, 1, "MSR_DRAM_POWER_LIMIT", 0x0000000000FEFFFFull, 1ull << 31, 0,
     "bit 16 and bits 30:24 and 63:32 are reserved"},
    {0x619, 1, 1, "MSR_DRAM_ENERGY_STATUS", 0, 0, 0, "a read-only counter"},
    {0x61B, 1, 1, "MSR_DRAM_PERF_STATUS", 0, 0, 0, "a read-only counter"},
    {0x61C, 1, 1, "MSR_DRAM_POWER_INFO", 0, 0, 0, "read-only limits"},
    {0x620, 1, 1, "MSR_UNCORE_RATIO_LIMIT", 0x7F7Full, 0, 0,
     "only the max (6:0) and min (14:8) ratios"},
    {0x638, 1, 1, "MSR_PP0_POWER_LIMIT", 0x0000000000FFFFFFull, 1ull << 31, 0,
     "bits 30:24 and 63:32 are reserved"},
    {0x639, 1, 1, "MSR_PP0_ENERGY_STATUS", 0, 0, 0, "a read-only counter"},
    {0x63A, 1, 1, "MSR_PP0_POLICY", 0x1Full, 0, 0, "bits 63:5 are reserved"},
    {0x640, 1, 1, "MSR_PP1_POWER_LIMIT", 0x0000000000FFFFFFull, 1ull << 31, 0,
     "bits 30:24 and 63:32 are reserved"},
    {0x641, 1, 1, "MSR_PP1_ENERGY_STATUS", 0, 0, 0, "a read-only counter"},
    {0x642, 1, 1, "MSR_PP1_POLICY", 0x1Full, 0, 0, "bits 63:5 are reserved"},
    {0x64D, 1, 1, "MSR_PLATFORM_ENERGY_COUNTER", 0, 0, 0,
     "a read-only counter"},
    {0x65C, 1, 1, "MSR_PLATFORM_POWER_LIMIT", 0, 1ull << 63, 0,
     "the platform (PSys) limit protects the board's power supply"},
    {0x770, 1, 1, "IA32_PM_ENABLE", 0, 0, 0,
     "enabling HWP cannot be undone until reset"},
    {0x771, 1, 1, "IA32_HWP_CAPABILITIES", 0, 0, 0, "read-only capabilities"},
    {0x774, 1, 1, "IA32_HWP_REQUEST", 0x000003FFFFFFFFFFull, 0, 0,
     "package control (bit 42) defers to HWP_REQUEST_PKG, bits 63:43 are "
     "reserved"},
    {0xC0000080, 1, 1, "IA32_EFER", 0, 0, 0, "long mode and NX for everyone"},
    {0xC0000081, 1, 1, "IA32_STAR", 0, 0, 0, "the kernel's entry point"},
    {0xC0000082, 1, 1, "IA32_LSTAR", 0, 0, 0, "the kernel's entry point"},
    {0xC0000083, 1, 1, "IA32_CSTAR", 0, 0, 0, "the kernel's entry point"},
    {0xC0000084, 1, 1, "IA32_FMASK", 0, 0, 0, "the kernel's entry flags"},
    {0xC0000100, 1, 1, "IA32_FS_BASE", 0, 0, 0, "thread state"},
    {0xC0000101, 1, 1, "IA32_GS_BASE", 0, 0, 0, "thread state"},
    {0xC0000102, 1, 1, "IA32_KERNEL_GS_BASE", 0, 0, 0,
     "the kernel's per-CPU base"},
    {0xC0000103, 1, 1, "IA32_TSC_AUX", 0xFFFFFFFFull, 0, ALTOOL_EMULATOR_ONLY,
     "the CPU number RDTSCP and getcpu() report to every process"},
    /* AMD family 17h and later */
    {0xC0000108, 1, 1, "PrefetchControl", 0x2Full, 0, 0,
     "only the disable bits of the L1 stream, L1 stride, L1 region, L2 "
     "stream and L2 up/down prefetchers (3:0, 5)"},
    {0xC00000E7, 1, 1, "MPerfReadOnly", 0, 0, 0, "a read-only counter"},
    {0xC00000E8, 1, 1, "APerfReadOnly", 0, 0, 0, "a read-only counter"},
    {0xC00000E9, 1, 1, "IRPerfCount", 0, 0, 0, "a read-only counter"},
    {0xC0000300, 1, 1, "PerfCntrGlobalStatus", 0, 0, 0, "read-only status"},
    {0xC0000301, 1, 1, "PerfCntrGlobalCtl", 0x3Full, 0, 0,
     "only the enables of core counters 0-5"},
    {0xC0010015, 1, 1, "HWCR", 1ull << 30, 0, 0,
     "only IRPerfEn (bit 30): the rest is core configuration (SMM lock, "
     "TSC and boost behaviour)"},
    {0xC0010061, 1, 1, "PStateCurLim", 0, 0, 0, "read-only limits"},
    {0xC0010062, 1, 1, "PStateCtl", 0x7ull, 0, 0, "only PstateCmd (bits 2:0)"},
    {0xC0010063, 1, 1, "PStateStat", 0, 0, 0, "read-only status"},
    {0xC0010064, 8, 1, "PStateDef%u", 0, 0, 0,
     "defines the voltage and frequency of a P-state"},
    {0xC0010200, 6, 2, "PERF_CTL%u", 0x0000000FFFC7FFFFull, 0, 0,
     "INT (bit 20) raises interrupts the kernel does not expect, "
     "host/guest-only bits and reserved bits are not handed out"},
    {0xC0010201, 6, 2, "PERF_CTR%u", CTR48, 0, 0,
     "the counter is 48 bits wide"},
    {0xC0010299, 1, 1, "RAPL_PWR_UNIT", 0, 0, 0, "read-only units"},
    {0xC001029A, 1, 1, "CORE_ENERGY_STAT", 0, 0, 0, "a read-only counter"},
    {0xC001029B, 1, 1, "PKG_ENERGY_STAT", 0, 0, 0, "a read-only counter"},
};

bool altool_msr_lookup(uint32_t msr, struct altool_msr_info *info)
{
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		const struct known_run *k = &known[i];
		uint32_t off;

		if (msr < k->first)
			continue;
		off = msr - k->first;
		if (off % k->stride || off / k->stride >= k->count)
			continue;
		info->msr = msr;
		if (k->count > 1) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
			snprintf(info->name, sizeof(info->name), k->name,
				 off / k->stride);
#pragma GCC diagnostic pop
		} else {
			snprintf(info->name, sizeof(info->name), "%s", k->name);
		}
		info->allowed = k->allowed;
		info->lock = k->lock;
		info->flags = k->flags;
		info->note = k->note;
		return true;
	}
	return false;
}

/* ---- lint -------------------------------------------------------------- */

enum altool_role altool_role_of_path(const char *path, bool *emulator)
{
	const char *p = path, *slash;
	const char *base = path;
	/* The last two directory components: parent and grandparent. */
	const char *dir1 = NULL, *dir2 = NULL;
	size_t len1 = 0, len2 = 0;
	bool profile;

	*emulator = false;
	while ((slash = strchr(p, '/'))) {
		size_t n = (size_t)(slash - p);

		if (n == 8 && !strncmp(p, "emulator", n))
			*emulator = true;
		dir2 = dir1;
		len2 = len1;
		dir1 = p;
		len1 = n;
		p = slash + 1;
		base = p;
	}
	/*
	 * An overlay is profiles/<name>/FILE (or emulator/profiles/FILE).
	 * Only those two places count, so a tree that merely lives under a
	 * directory named "profiles" (/srv/profiles/allowlists/al_06_55) is
	 * not mistaken for one: "allowlists" is the lists' own directory.
	 */
	profile = (dir1 && len1 == 8 && !strncmp(dir1, "profiles", 8)) ||
		  (dir2 && len2 == 8 && !strncmp(dir2, "profiles", 8) &&
		   !(len1 == 10 && !strncmp(dir1, "allowlists", 10)));
	if (profile)
		return ALTOOL_ROLE_PROFILE;
	if (!strncmp(base, "al_", 3) || !strcmp(base, "baseline"))
		return ALTOOL_ROLE_BASELINE;
	return ALTOOL_ROLE_LIST;
}

const char *altool_role_name(enum altool_role role)
{
	switch (role) {
	case ALTOOL_ROLE_BASELINE:
		return "baseline";
	case ALTOOL_ROLE_PROFILE:
		return "profile";
	case ALTOOL_ROLE_LIST:
		return "list";
	default:
		return "auto";
	}
}

__attribute__((format(printf, 6, 7))) static void
report(FILE *out, struct altool_lint *res, bool error, const char *name,
       unsigned int line, const char *fmt, ...)
{
	va_list ap;

	if (error)
		res->errors++;
	else
		res->warnings++;
	if (line)
		fprintf(out, "%s:%u: %s: ", name, line,
			error ? "error" : "warning");
	else
		fprintf(out, "%s: %s: ", name, error ? "error" : "warning");
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
}

/* Bounds of line @line (1-based) in @text; false past the end. */
static bool line_span(const char *text, size_t len, unsigned int line,
		      size_t *start, size_t *end)
{
	size_t i = 0;
	unsigned int cur = 1;

	while (i < len && cur < line) {
		if (text[i] == '\n')
			cur++;
		i++;
	}
	if (cur != line)
		return false;
	*start = i;
	while (i < len && text[i] != '\n')
		i++;
	if (i > *start && text[i - 1] == '\r')
		i--;
	*end = i;
	return true;
}

/* The address an entry line starts with; false for comments/blank lines. */
static bool line_address(const char *text, size_t len, unsigned int line,
			 uint32_t *msr)
{
	size_t s, e;
	char tok[32];
	size_t n = 0;
	char *endp;
	unsigned long long v;

	if (!line_span(text, len, line, &s, &e))
		return false;
	while (s < e && (text[s] == ' ' || text[s] == '\t'))
		s++;
	while (s < e && n + 1 < sizeof(tok) && text[s] != ' ' &&
	       text[s] != '\t' && text[s] != '#')
		tok[n++] = text[s++];
	tok[n] = 0;
	if (!n)
		return false;
	errno = 0;
	v = strtoull(tok, &endp, 0);
	if (errno || *endp || v > UINT32_MAX)
		return false;
	*msr = (uint32_t)v;
	return true;
}

/* A line's text for messages, trimmed and made printable. */
static void line_excerpt(const char *text, size_t len, unsigned int line,
			 char *buf, size_t cap)
{
	size_t s, e, n = 0;

	buf[0] = 0;
	if (!line_span(text, len, line, &s, &e))
		return;
	while (s < e && (text[s] == ' ' || text[s] == '\t'))
		s++;
	for (; s < e && n + 1 < cap; s++)
		buf[n++] = (text[s] >= 0x20 && text[s] < 0x7f) ? text[s] : '?';
	buf[n] = 0;
}

/* True when the line carries a non-empty # "NAME" comment. */
static bool line_has_name(const char *text, size_t len, unsigned int line)
{
	size_t s, e;
	const char *hash, *q1, *q2;

	if (!line_span(text, len, line, &s, &e))
		return false;
	hash = memchr(text + s, '#', e - s);
	if (!hash)
		return false;
	q1 = hash + 1;
	while (q1 < text + e && (*q1 == ' ' || *q1 == '\t'))
		q1++;
	if (q1 >= text + e || *q1 != '"')
		return false;
	q2 = memchr(q1 + 1, '"', (size_t)(text + e - (q1 + 1)));
	return q2 && q2 > q1 + 1;
}

/* "0x<hex>" at @p (before @end); returns the position after it or NULL. */
static const char *skip_hex(const char *p, const char *end)
{
	const char *start;

	if (end - p < 3 || p[0] != '0' || (p[1] != 'x' && p[1] != 'X'))
		return NULL;
	p += 2;
	start = p;
	while (p < end &&
	       ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
		(*p >= 'A' && *p <= 'F')))
		p++;
	return p > start ? p : NULL;
}

/*
 * True for a comment line holding an entry ("# 0x10 0x0"): the way the
 * reference lists ship everything disabled.  Active lists should not
 * carry them: they read as access that is not there.
 */
static bool line_is_commented_entry(const char *text, size_t s, size_t e)
{
	const char *p = text + s, *end = text + e;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p >= end || *p != '#')
		return false;
	p++;
	while (p < end && (*p == ' ' || *p == '\t' || *p == '#'))
		p++;
	p = skip_hex(p, end);
	if (!p || p >= end || (*p != ' ' && *p != '\t'))
		return false;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	p = skip_hex(p, end);
	return p &&
	       (p == end || *p == ' ' || *p == '\t' || *p == '#' || *p == '\r');
}

static void check_entry_mask(const struct al_entry *ent, const char *name,
			     bool emulator, FILE *out, struct altool_lint *res)
{
	struct altool_msr_info info;
	uint64_t bad;

	if (!ent->wmask)
		return;
	if (!altool_msr_lookup(ent->msr, &info)) {
		report(out, res, false, name, ent->line,
		       "0x%08X is writable (mask 0x%016llX) but unknown to "
		       "msr-allowlist: review it against the vendor's manual",
		       ent->msr, (unsigned long long)ent->wmask);
		return;
	}
	if ((info.flags & ALTOOL_EMULATOR_ONLY) && !emulator) {
		report(out, res, true, name, ent->line,
		       "0x%08X \"%s\" may be writable only in emulator lists "
		       "(on real hardware: %s)",
		       ent->msr, info.name, info.note);
		return;
	}
	if (ent->wmask & info.lock)
		report(out, res, true, name, ent->line,
		       "0x%08X \"%s\": mask 0x%016llX sets the lock bit(s) "
		       "0x%016llX: once locked the register cannot be changed "
		       "or restored until reset",
		       ent->msr, info.name, (unsigned long long)ent->wmask,
		       (unsigned long long)(ent->wmask & info.lock));
	bad = ent->wmask & ~info.allowed & ~info.lock;
	if (!bad)
		return;
	if (!info.allowed)
		report(out, res, true, name, ent->line,
		       "0x%08X \"%s\" must not be writable (mask 0x%016llX): "
		       "%s",
		       ent->msr, info.name, (unsigned long long)ent->wmask,
		       info.note);
	else
		report(out, res, true, name, ent->line,
		       "0x%08X \"%s\": mask 0x%016llX sets bits 0x%016llX "
		       "outside the writable set 0x%016llX (%s)",
		       ent->msr, info.name, (unsigned long long)ent->wmask,
		       (unsigned long long)bad,
		       (unsigned long long)info.allowed, info.note);
}

void altool_check_masks(const struct msr_allowlist *al, const char *name,
			bool emulator, FILE *out, struct altool_lint *res)
{
	size_t i;

	for (i = 0; i < al->count; i++)
		check_entry_mask(&al->entries[i], name, emulator, out, res);
}

static int cmp_line(const void *a, const void *b)
{
	const struct al_entry *x = *(const struct al_entry *const *)a;
	const struct al_entry *y = *(const struct al_entry *const *)b;

	return (x->line > y->line) - (x->line < y->line);
}

/* Report a parse failure with its line, text and, for a duplicate, the
 * line of the first listing. */
static void report_parse_error(const char *text, size_t len, const char *name,
			       int rc, u32 line, FILE *out,
			       struct altool_lint *res)
{
	char excerpt[80];
	uint32_t msr, other;
	unsigned int l;

	line_excerpt(text, len, line, excerpt, sizeof(excerpt));
	if (rc == -ENOTUNIQ && line_address(text, len, line, &msr)) {
		for (l = 1; l < line; l++)
			if (line_address(text, len, l, &other) && other == msr)
				break;
		report(out, res, true, name, line,
		       "0x%08X is listed twice (first on line %u): '%s'", msr,
		       l, excerpt);
	} else if (rc == -ENOMSG) {
		report(out, res, true, name, 0,
		       "no active entry: every line is blank or a comment, so "
		       "installing it fails with ENOMSG");
	} else if (line) {
		report(out, res, true, name, line, "%s: '%s'", al_strerror(rc),
		       excerpt);
	} else {
		report(out, res, true, name, 0, "%s", al_strerror(rc));
	}
}

static int lint_tools(const struct msr_allowlist *al, const char *name,
		      FILE *out, struct altool_lint *res);

int altool_lint_text(const char *text, size_t len, const char *name,
		     enum altool_role role, bool emulator, FILE *out,
		     struct altool_lint *res)
{
	struct msr_allowlist al = {0};
	const struct al_entry **order;
	size_t cap, i, ls, le;
	u32 line = 0;
	int rc;

	if (role == ALTOOL_ROLE_AUTO)
		role = altool_role_of_path(name, &emulator);
	if (len > AL_TEXT_MAX) {
		report(out, res, true, name, 0,
		       "%zu bytes: larger than one allowlist write (%d bytes)",
		       len, AL_TEXT_MAX);
		return 0;
	}
	cap = al_max_entries(text, len);
	al.entries = calloc(cap ? cap : 1, sizeof(*al.entries));
	if (!al.entries)
		return -ENOMEM;
	rc = al_parse(text, len, al.entries, cap, &al.count, &line);
	if (rc < 0) {
		report_parse_error(text, len, name, rc, line, out, res);
		goto done;
	}
	if (!al.count) {
		report(out, res, true, name, 0,
		       "no entries: installing it would clear the allowlist");
		goto done;
	}
	for (line = 1; line_span(text, len, line, &ls, &le) && ls < len; line++)
		if (line_is_commented_entry(text, ls, le))
			report(out, res, false, name, line,
			       "commented-out entry: make it active or delete "
			       "it (it reads as access the list does not "
			       "grant)");
	/* Report in file order: entries come back sorted by address. */
	order = calloc(al.count, sizeof(*order));
	if (!order) {
		msr_allowlist_free(&al);
		return -ENOMEM;
	}
	for (i = 0; i < al.count; i++)
		order[i] = &al.entries[i];
	qsort(order, al.count, sizeof(*order), cmp_line);
	for (i = 0; i < al.count; i++) {
		const struct al_entry *e = order[i];

		if (!line_has_name(text, len, e->line))
			report(out, res, false, name, e->line,
			       "0x%08X has no # \"NAME\" comment", e->msr);
		if (role == ALTOOL_ROLE_BASELINE && e->wmask)
			report(out, res, true, name, e->line,
			       "0x%08X is writable (mask 0x%016llX) in a "
			       "baseline: baselines are read-only, grant "
			       "writes in a profile overlay",
			       e->msr, (unsigned long long)e->wmask);
		if (role == ALTOOL_ROLE_PROFILE && !e->wmask)
			report(out, res, false, name, e->line,
			       "0x%08X is read-only in a profile: it grants "
			       "nothing (list it in the baseline)",
			       e->msr);
		check_entry_mask(e, name, emulator, out, res);
	}
	free(order);
	rc = lint_tools(&al, name, out, res);
done:
	msr_allowlist_free(&al);
	return rc == -ENOMEM ? rc : 0;
}

int altool_lint_file(const char *path, enum altool_role role, FILE *out,
		     struct altool_lint *res)
{
	struct msr_err err;
	bool emulator = false;
	char *text;
	size_t len;
	int rc;

	rc = msr_read_file(path, AL_TEXT_MAX + 1, &text, &len, &err);
	if (rc < 0) {
		if (rc == -ENOMEM)
			return rc;
		report(out, res, true, path, 0, "%s", err.msg);
		return 0;
	}
	if (role == ALTOOL_ROLE_AUTO)
		role = altool_role_of_path(path, &emulator);
	else
		altool_role_of_path(path, &emulator);
	rc = altool_lint_text(text, len, path, role, emulator, out, res);
	free(text);
	return rc;
}

/* ---- select ------------------------------------------------------------ */

static bool is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* "perf power" : the profile directories under DIR/profiles, for hints. */
static void list_profiles(const char *dir, char *buf, size_t cap)
{
	char path[4096];
	struct dirent *de;
	size_t used = 0;
	DIR *d;

	buf[0] = 0;
	snprintf(path, sizeof(path), "%s/profiles", dir);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d))) {
		int n;

		if (!msr_profile_name_valid(de->d_name))
			continue;
		n = snprintf(buf + used, cap - used, "%s%s", used ? " " : "",
			     de->d_name);
		if (n < 0 || (size_t)n >= cap - used)
			break;
		used += (size_t)n;
	}
	closedir(d);
}

int altool_select(const char *dir, const struct msr_cpu_id *id,
		  const char *profile, char *path, size_t cap,
		  struct msr_err *err)
{
	char name[32], avail[512], pdir[4096];
	struct stat st;
	int n;

	msr_allowlist_name(id, name, sizeof(name));
	if (profile && !msr_profile_name_valid(profile))
		return msr_err_set(err, -EINVAL, "bad profile name '%s': %s",
				   profile, msr_profile_name_rule());
	if (profile)
		n = snprintf(path, cap, "%s/profiles/%s/%s", dir, profile,
			     name);
	else
		n = snprintf(path, cap, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= cap)
		return msr_err_set(err, -ENAMETOOLONG, "%s: path too long",
				   dir);
	if (is_file(path))
		return 0;
	if (!profile)
		return msr_err_set(
		    err, -ENOENT,
		    "no baseline allowlist for %s%sfamily %u "
		    "(0x%02X) model %u (0x%X): %s does not exist "
		    "(copy the closest model's file, check it "
		    "against the vendor's manual, then run "
		    "msr-allowlist lint)",
		    id->vendor, id->vendor[0] ? " " : "", id->family,
		    id->family, id->model, id->model, path);
	/* A profile directory missing altogether is a typo, not a gap. */
	snprintf(pdir, sizeof(pdir), "%s/profiles/%s", dir, profile);
	if (stat(pdir, &st) != 0) {
		list_profiles(dir, avail, sizeof(avail));
		return msr_err_set(err, -ENOENT,
				   "unknown profile '%s': no %s (profiles in "
				   "%s/profiles: %s)",
				   profile, pdir, dir,
				   avail[0] ? avail : "none");
	}
	return msr_err_set(err, -ENOENT,
			   "profile '%s' is not available for this CPU: it has "
			   "no file for %s%sfamily %u (0x%02X) model %u (0x%X) "
			   "(%s does not exist)",
			   profile, id->vendor, id->vendor[0] ? " " : "",
			   id->family, id->family, id->model, id->model, path);
}

/* ---- diff and rendering ------------------------------------------------ */

static void diff_line(FILE *out, char sign, const struct al_entry *e)
{
	fprintf(out, "%c 0x%08X 0x%016llX\n", sign, e->msr,
		(unsigned long long)e->wmask);
}

size_t altool_diff(const struct msr_allowlist *a, const struct msr_allowlist *b,
		   FILE *out)
{
	size_t i = 0, j = 0, n = 0;

	while (i < a->count || j < b->count) {
		const struct al_entry *x = i < a->count ? &a->entries[i] : NULL;
		const struct al_entry *y = j < b->count ? &b->entries[j] : NULL;

		if (x && (!y || x->msr < y->msr)) {
			diff_line(out, '-', x);
			i++;
			n++;
		} else if (y && (!x || y->msr < x->msr)) {
			diff_line(out, '+', y);
			j++;
			n++;
		} else {
			if (x->wmask != y->wmask) {
				fprintf(out,
					"~ 0x%08X 0x%016llX -> 0x%016llX\n",
					x->msr, (unsigned long long)x->wmask,
					(unsigned long long)y->wmask);
				n++;
			}
			i++;
			j++;
		}
	}
	return n;
}

int altool_print(const struct msr_allowlist *al, bool names, FILE *out)
{
	char line[AL_LINE_LEN];
	size_t i;

	fputs(AL_HEADER, out);
	for (i = 0; i < al->count; i++) {
		struct altool_msr_info info;

		al_render_line(line, al->entries[i].msr, al->entries[i].wmask);
		if (names && altool_msr_lookup(al->entries[i].msr, &info))
			fprintf(out, "%.*s # \"%s\"\n", AL_LINE_LEN - 1, line,
				info.name);
		else
			fwrite(line, 1, AL_LINE_LEN, out);
	}
	return ferror(out) ? -EIO : 0;
}

/* ---- what tools need ---------------------------------------------------- */

/* allowlists/tool-requirements as a string, made by allowlists/Makefile in
 * the build tree (found through -I$(top_builddir), also by tests/fuzz). */
static const char builtin_reqs[] =
#include "allowlists/tool-requirements.inc"
    ;

#define MAX_CPU_SETS 32

struct cpu_set {
	char name[32];
	size_t n;
	struct altool_cpu_match m[ALTOOL_REQ_MAX_CPUS];
};

/* The next blank-separated field of [*@p, @end) into @buf; false at the
 * end of the line or at a comment. */
static bool next_field(const char **p, const char *end, char *buf, size_t cap,
		       bool *too_long)
{
	const char *s = *p, *e;
	size_t n;

	while (s < end && (*s == ' ' || *s == '\t' || *s == '\r'))
		s++;
	*p = s;
	if (s >= end || *s == '#')
		return false;
	e = s;
	while (e < end && *e != ' ' && *e != '\t' && *e != '\r')
		e++;
	n = (size_t)(e - s);
	if (n >= cap) {
		*too_long = true;
		n = cap - 1;
	}
	memcpy(buf, s, n);
	buf[n] = 0;
	*p = e;
	return true;
}

/* @n hex digits only (n > 0) at @s: value in *@v. */
static bool parse_hex(const char *s, size_t n, unsigned long long max,
		      unsigned long long *v)
{
	size_t i;

	if (!n || n > 16)
		return false;
	*v = 0;
	for (i = 0; i < n; i++) {
		char c = s[i];
		unsigned int d;

		if (c >= '0' && c <= '9')
			d = (unsigned int)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned int)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned int)(c - 'A' + 10);
		else
			return false;
		*v = *v * 16 + d;
	}
	return *v <= max;
}

static int add_match(struct altool_cpu_match *m, size_t *n, unsigned int family,
		     int model, bool remove)
{
	if (*n >= ALTOOL_REQ_MAX_CPUS)
		return -E2BIG;
	m[*n].family = (uint16_t)family;
	m[*n].model = (int16_t)model;
	m[*n].remove = remove;
	(*n)++;
	return 0;
}

/* One CPUS token: intel, amd, FF, FF_M, a set name; "-" removes. */
static int add_cpu_token(const char *tok, const struct cpu_set *sets,
			 size_t nsets, struct altool_cpu_match *m, size_t *n)
{
	static const unsigned int amd_families[] = {0x17, 0x19, 0x1A};
	bool remove = tok[0] == '-';
	const char *under;
	unsigned long long fam, mod;
	size_t i, j;
	int rc = 0;

	if (remove)
		tok++;
	if (!strcmp(tok, "intel"))
		return add_match(m, n, 6, -1, remove);
	if (!strcmp(tok, "amd")) {
		for (i = 0; i < 3 && !rc; i++)
			rc = add_match(m, n, amd_families[i], -1, remove);
		return rc;
	}
	under = strchr(tok, '_');
	if (parse_hex(tok, under ? (size_t)(under - tok) : strlen(tok), 0xFF,
		      &fam)) {
		if (!under)
			return add_match(m, n, (unsigned int)fam, -1, remove);
		if (parse_hex(under + 1, strlen(under + 1), 0x7FFF, &mod))
			return add_match(m, n, (unsigned int)fam, (int)mod,
					 remove);
		return -EINVAL;
	}
	for (i = 0; i < nsets; i++) {
		if (strcmp(sets[i].name, tok))
			continue;
		for (j = 0; j < sets[i].n && !rc; j++)
			rc = add_match(m, n, sets[i].m[j].family,
				       sets[i].m[j].model,
				       remove != sets[i].m[j].remove);
		return rc;
	}
	return -ENOENT;
}

static int parse_cpus(char *list, const struct cpu_set *sets, size_t nsets,
		      struct altool_cpu_match *m, size_t *n, const char **bad)
{
	char *tok, *save = NULL;
	int rc;

	for (tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		rc = add_cpu_token(tok, sets, nsets, m, n);
		if (rc) {
			*bad = tok;
			return rc;
		}
	}
	return *n ? 0 : -EINVAL;
}

/* "0xA" or "0xA-0xB". */
static bool parse_range(const char *tok, uint32_t *first, uint32_t *last)
{
	const char *dash = strchr(tok, '-');
	unsigned long long a, b;
	size_t n1 = dash ? (size_t)(dash - tok) : strlen(tok);

	if (n1 < 3 || tok[0] != '0' || (tok[1] != 'x' && tok[1] != 'X') ||
	    !parse_hex(tok + 2, n1 - 2, UINT32_MAX, &a))
		return false;
	b = a;
	if (dash) {
		const char *t = dash + 1;

		if (strlen(t) < 3 || t[0] != '0' ||
		    (t[1] != 'x' && t[1] != 'X') ||
		    !parse_hex(t + 2, strlen(t) - 2, UINT32_MAX, &b) || b < a)
			return false;
	}
	*first = (uint32_t)a;
	*last = (uint32_t)b;
	return true;
}

static int push_req(struct altool_reqs *out, size_t *cap,
		    const struct altool_req *req)
{
	if (out->count == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct altool_req *n = realloc(out->req, ncap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		out->req = n;
		*cap = ncap;
	}
	out->req[out->count++] = *req;
	return 0;
}

/* Add one requirement line: every feature times every register range. */
static int add_req_line(struct altool_reqs *out, size_t *cap,
			struct altool_req *tmpl, char *features, char *msrs,
			const char *name, struct msr_err *err)
{
	char *feat, *fsave = NULL;
	int rc;

	for (feat = strtok_r(features, ",", &fsave); feat;
	     feat = strtok_r(NULL, ",", &fsave)) {
		char ranges[512], *tok, *rsave = NULL;

		if (strlen(feat) >= sizeof(tmpl->feature))
			return msr_err_set(err, -EINVAL,
					   "%s:%u: feature name '%s' too long",
					   name, tmpl->line, feat);
		snprintf(tmpl->feature, sizeof(tmpl->feature), "%s", feat);
		snprintf(ranges, sizeof(ranges), "%s", msrs);
		for (tok = strtok_r(ranges, ",", &rsave); tok;
		     tok = strtok_r(NULL, ",", &rsave)) {
			if (!parse_range(tok, &tmpl->first, &tmpl->last))
				return msr_err_set(
				    err, -EINVAL,
				    "%s:%u: '%s' is not an MSR address or "
				    "range (0xA or 0xA-0xB)",
				    name, tmpl->line, tok);
			rc = push_req(out, cap, tmpl);
			if (rc)
				return msr_err_set(err, rc, "%s: out of memory",
						   name);
		}
	}
	return 0;
}

int altool_reqs_parse(const char *text, size_t len, const char *name,
		      struct altool_reqs *out, struct msr_err *err)
{
	struct cpu_set *sets;
	struct altool_req *req;
	size_t nsets = 0, cap = 0, pos = 0;
	unsigned int line = 0;
	int rc = 0;

	out->req = NULL;
	out->count = 0;
	sets = calloc(MAX_CPU_SETS, sizeof(*sets));
	req = calloc(1, sizeof(*req));
	if (!sets || !req) {
		rc = msr_err_set(err, -ENOMEM, "%s: out of memory", name);
		goto fail;
	}
	while (pos < len) {
		const char *p = text + pos, *end = memchr(p, '\n', len - pos);
		char f[6][512], extra[8];
		const char *bad = NULL;
		bool too_long = false;
		int nf = 0;

		if (!end)
			end = text + len;
		pos = (size_t)(end - text) + 1;
		line++;
		while (nf < 6 &&
		       next_field(&p, end, f[nf], sizeof(f[nf]), &too_long))
			nf++;
		if (too_long ||
		    next_field(&p, end, extra, sizeof(extra), &too_long)) {
			rc = msr_err_set(err, -EINVAL,
					 "%s:%u: too many or too long fields",
					 name, line);
			goto fail;
		}
		if (!nf)
			continue;
		if (!strcmp(f[0], "cpus")) {
			struct cpu_set *set = &sets[nsets];

			if (nf != 3 || nsets >= MAX_CPU_SETS ||
			    strlen(f[1]) >= sizeof(set->name)) {
				rc = msr_err_set(err, -EINVAL,
						 "%s:%u: expected 'cpus NAME "
						 "TOKEN,...' (at most %d sets)",
						 name, line, MAX_CPU_SETS);
				goto fail;
			}
			memset(set, 0, sizeof(*set));
			snprintf(set->name, sizeof(set->name), "%s", f[1]);
			rc = parse_cpus(f[2], sets, nsets, set->m, &set->n,
					&bad);
			if (rc) {
				rc = msr_err_set(err, -EINVAL,
						 "%s:%u: bad CPU token '%s'",
						 name, line, bad ? bad : f[2]);
				goto fail;
			}
			nsets++;
			continue;
		}
		if (nf != 5) {
			rc = msr_err_set(err, -EINVAL,
					 "%s:%u: expected 'TOOL FEATURE[,...] "
					 "CPUS ACCESS MSR[,...]'",
					 name, line);
			goto fail;
		}
		memset(req, 0, sizeof(*req));
		req->line = line;
		if (strlen(f[0]) >= sizeof(req->tool)) {
			rc = msr_err_set(err, -EINVAL,
					 "%s:%u: tool name '%s' too long", name,
					 line, f[0]);
			goto fail;
		}
		snprintf(req->tool, sizeof(req->tool), "%s", f[0]);
		rc =
		    parse_cpus(f[2], sets, nsets, req->cpus, &req->ncpus, &bad);
		if (rc) {
			rc = msr_err_set(
			    err, -EINVAL,
			    "%s:%u: bad CPU token '%s' (intel, amd, "
			    "FF, FF_M or a cpus set defined above)",
			    name, line, bad ? bad : f[2]);
			goto fail;
		}
		if (strlen(f[3]) != 1 || !strchr("rzw", f[3][0])) {
			rc = msr_err_set(err, -EINVAL,
					 "%s:%u: access '%s' is not r, z or w",
					 name, line, f[3]);
			goto fail;
		}
		req->access = f[3][0];
		rc = add_req_line(out, &cap, req, f[1], f[4], name, err);
		if (rc)
			goto fail;
	}
	if (!out->count) {
		rc = msr_err_set(err, -EINVAL, "%s: no requirements", name);
		goto fail;
	}
	free(sets);
	free(req);
	return 0;
fail:
	free(sets);
	free(req);
	altool_reqs_free(out);
	return rc;
}

int altool_reqs_builtin(struct altool_reqs *out, struct msr_err *err)
{
	return altool_reqs_parse(builtin_reqs, sizeof(builtin_reqs) - 1,
				 "tool-requirements", out, err);
}

void altool_reqs_free(struct altool_reqs *reqs)
{
	free(reqs->req);
	reqs->req = NULL;
	reqs->count = 0;
}

bool altool_req_applies(const struct altool_req *req, unsigned int family,
			unsigned int model)
{
	bool in = false;
	size_t i;

	for (i = 0; i < req->ncpus; i++) {
		const struct altool_cpu_match *m = &req->cpus[i];

		if (m->family == family &&
		    (m->model < 0 || (unsigned int)m->model == model))
			in = !m->remove;
	}
	return in;
}

static bool same_feature(const struct altool_req *a, const struct altool_req *b)
{
	return !strcmp(a->tool, b->tool) && !strcmp(a->feature, b->feature);
}

/* True when @al meets one register of @req. */
static bool req_met(const struct altool_req *req,
		    const struct msr_allowlist *al, uint32_t msr)
{
	const struct al_entry *e = al_find(al->entries, al->count, msr);

	return e && (req->access != 'w' || e->wmask);
}

int altool_feature_served(const struct altool_reqs *reqs, const char *tool,
			  const char *feature, unsigned int family,
			  unsigned int model, const struct msr_allowlist *al,
			  uint32_t *missing)
{
	bool applies = false;
	size_t i;

	for (i = 0; i < reqs->count; i++) {
		const struct altool_req *r = &reqs->req[i];
		uint64_t msr;

		if (strcmp(r->tool, tool) || strcmp(r->feature, feature) ||
		    !altool_req_applies(r, family, model))
			continue;
		applies = true;
		for (msr = r->first; msr <= r->last; msr++) {
			if (!req_met(r, al, (uint32_t)msr)) {
				*missing = (uint32_t)msr;
				return 0;
			}
		}
	}
	return applies ? 1 : -1;
}

/* True when reqs->req[@i] is the first line of its feature. */
static bool first_of_feature(const struct altool_reqs *reqs, size_t i)
{
	size_t j;

	for (j = 0; j < i; j++)
		if (same_feature(&reqs->req[j], &reqs->req[i]))
			return false;
	return true;
}

void altool_check_tools(const struct altool_reqs *reqs,
			const struct msr_allowlist *al, unsigned int family,
			unsigned int model, const char *name, FILE *out,
			struct altool_lint *res)
{
	size_t i, j;

	for (i = 0; i < reqs->count; i++) {
		bool granted = false, short_of = false;
		uint32_t have = 0, lack = 0;

		if (!first_of_feature(reqs, i))
			continue;
		for (j = i; j < reqs->count; j++) {
			const struct altool_req *r = &reqs->req[j];
			uint64_t msr;

			if (!same_feature(r, &reqs->req[i]) ||
			    r->access != 'w' ||
			    !altool_req_applies(r, family, model))
				continue;
			for (msr = r->first; msr <= r->last; msr++) {
				if (req_met(r, al, (uint32_t)msr)) {
					if (!granted)
						have = (uint32_t)msr;
					granted = true;
				} else if (!short_of) {
					lack = (uint32_t)msr;
					short_of = true;
				}
			}
		}
		if (granted && short_of) {
			struct altool_msr_info info;
			bool named = altool_msr_lookup(lack, &info);

			report(out, res, false, name, 0,
			       "%s %s would half work: 0x%08X is writable but "
			       "0x%08X%s%s%s, which it also writes, is not "
			       "(allowlists/tool-requirements)",
			       reqs->req[i].tool, reqs->req[i].feature, have,
			       lack, named ? " \"" : "", named ? info.name : "",
			       named ? "\"" : "");
		}
	}
}

bool altool_model_of_path(const char *path, unsigned int *family,
			  unsigned int *model)
{
	const char *base = strrchr(path, '/');
	unsigned long long f, m;
	size_t n;

	base = base ? base + 1 : path;
	n = strlen(base);
	if (n < 6 || strncmp(base, "al_", 3) || base[5] != '_' ||
	    !parse_hex(base + 3, 2, 0xFF, &f) ||
	    !parse_hex(base + 6, n - 6, 0xFFFF, &m))
		return false;
	*family = (unsigned int)f;
	*model = (unsigned int)m;
	return true;
}

/* Lint's tool check: only for a list named for a model (al_FF_M). */
static int lint_tools(const struct msr_allowlist *al, const char *name,
		      FILE *out, struct altool_lint *res)
{
	struct altool_reqs reqs;
	struct msr_err err;
	unsigned int family, model;
	int rc;

	if (!altool_model_of_path(name, &family, &model))
		return 0;
	rc = altool_reqs_builtin(&reqs, &err);
	if (rc) {
		if (rc == -ENOMEM)
			return rc;
		report(out, res, true, name, 0, "built-in %s", err.msg);
		return 0;
	}
	altool_check_tools(&reqs, al, family, model, name, out, res);
	altool_reqs_free(&reqs);
	return 0;
}

/* ---- coverage ------------------------------------------------------------ */

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Sorted entries of @dir: baselines (al_FF_M files) or profile dirs. */
static int scan_names(const char *dir, bool profiles, char ***out, size_t *n)
{
	char path[4096];
	char **names = NULL;
	size_t cap = 0;
	struct dirent *de;
	DIR *d;

	*n = 0;
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		unsigned int f, m;
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st))
			continue;
		if (profiles ? !S_ISDIR(st.st_mode) ||
				   !msr_profile_name_valid(de->d_name)
			     : !S_ISREG(st.st_mode) ||
				   !altool_model_of_path(de->d_name, &f, &m))
			continue;
		if (*n == cap) {
			char **nn;

			cap = cap ? cap * 2 : 64;
			nn = realloc(names, cap * sizeof(*nn));
			if (!nn)
				goto nomem;
			names = nn;
		}
		names[*n] = strdup(de->d_name);
		if (!names[*n])
			goto nomem;
		(*n)++;
	}
	closedir(d);
	if (*n)
		qsort(names, *n, sizeof(*names), cmp_cstr);
	*out = names;
	return 0;
nomem:
	closedir(d);
	free_names(names, *n);
	return -ENOMEM;
}

/* Print "tool A B; tool2 C" for the features with @want set. */
static void print_cell(FILE *out, const struct altool_reqs *reqs,
		       const bool *want, const char *none)
{
	const char *tool = NULL;
	bool any = false;
	size_t i;

	for (i = 0; i < reqs->count; i++) {
		const struct altool_req *r = &reqs->req[i];

		if (!want[i])
			continue;
		if (!tool || strcmp(tool, r->tool))
			fprintf(out, "%s%s", tool ? "; " : "", r->tool);
		tool = r->tool;
		fprintf(out, " %s", r->feature);
		any = true;
	}
	if (!any)
		fputs(none, out);
}

static int coverage_row(const char *dir, const char *model_name, char **profs,
			size_t nprofs, const struct altool_reqs *reqs,
			bool *base_ok, bool *any_ok, bool *cell, FILE *out,
			struct msr_err *err)
{
	struct msr_allowlist base = {0}, ov = {0}, merged = {0};
	unsigned int fam = 0, mod = 0;
	char path[4096];
	uint32_t miss;
	size_t i, p;
	int rc;

	altool_model_of_path(model_name, &fam, &mod);
	snprintf(path, sizeof(path), "%s/%s", dir, model_name);
	rc = msr_allowlist_load(path, &base, err);
	if (rc)
		return rc;
	for (i = 0; i < reqs->count; i++) {
		int s = first_of_feature(reqs, i)
			    ? altool_feature_served(reqs, reqs->req[i].tool,
						    reqs->req[i].feature, fam,
						    mod, &base, &miss)
			    : -1;

		base_ok[i] = s == 1;
		any_ok[i] = s == 1;
	}
	fprintf(out, "| %s | ", model_name);
	print_cell(out, reqs, base_ok, "nothing");
	for (p = 0; p < nprofs; p++) {
		struct stat st;

		snprintf(path, sizeof(path), "%s/profiles/%s/%s", dir, profs[p],
			 model_name);
		if (stat(path, &st)) {
			fputs(" | -", out);
			continue;
		}
		rc = msr_allowlist_load(path, &ov, err);
		if (!rc)
			rc = msr_allowlist_merge(&base, &ov, &merged, err);
		msr_allowlist_free(&ov);
		if (rc)
			goto done;
		for (i = 0; i < reqs->count; i++) {
			cell[i] =
			    !base_ok[i] && first_of_feature(reqs, i) &&
			    altool_feature_served(reqs, reqs->req[i].tool,
						  reqs->req[i].feature, fam,
						  mod, &merged, &miss) == 1;
			any_ok[i] = any_ok[i] || cell[i];
		}
		msr_allowlist_free(&merged);
		fputs(" | ", out);
		print_cell(out, reqs, cell, "nothing more");
	}
	/* What applies to the model but no list serves. */
	for (i = 0; i < reqs->count; i++)
		cell[i] = !any_ok[i] && first_of_feature(reqs, i) &&
			  altool_feature_served(reqs, reqs->req[i].tool,
						reqs->req[i].feature, fam, mod,
						&base, &miss) == 0;
	fputs(" | ", out);
	print_cell(out, reqs, cell, "-");
	fputs(" |\n", out);
done:
	msr_allowlist_free(&base);
	return rc;
}

int altool_coverage(const char *dir, const struct altool_reqs *reqs, FILE *out,
		    struct msr_err *err)
{
	char **models = NULL, **profs = NULL, pdir[4096];
	size_t nmodels = 0, nprofs = 0, i;
	bool *flags = NULL;
	int rc;

	rc = scan_names(dir, false, &models, &nmodels);
	if (rc) {
		rc = msr_err_set(err, rc, "%s: %s", dir, strerror(-rc));
		goto fail;
	}
	snprintf(pdir, sizeof(pdir), "%s/profiles", dir);
	rc = scan_names(pdir, true, &profs, &nprofs);
	if (rc == -ENOENT)
		rc = 0;
	if (rc) {
		rc = msr_err_set(err, rc, "%s: %s", pdir, strerror(-rc));
		goto fail;
	}
	if (!nmodels) {
		rc = msr_err_set(err, -ENOENT, "%s: no al_FF_M lists", dir);
		goto fail;
	}
	flags = calloc(3 * reqs->count + 1, sizeof(*flags));
	if (!flags) {
		rc = msr_err_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	fputs("| list | baseline (read-only)", out);
	for (i = 0; i < nprofs; i++)
		fprintf(out, " | + %s", profs[i]);
	fputs(" | not served |\n|---|---", out);
	for (i = 0; i < nprofs; i++)
		fputs("|---", out);
	fputs("|---|\n", out);
	for (i = 0; i < nmodels && !rc; i++)
		rc = coverage_row(dir, models[i], profs, nprofs, reqs, flags,
				  flags + reqs->count, flags + 2 * reqs->count,
				  out, err);
fail:
	free(flags);
	free_names(models, nmodels);
	free_names(profs, nprofs);
	return rc;
}
