/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The logic behind the msr-allowlist command, kept apart from its main()
 * so the unit tests call it directly: the table of registers the tool
 * knows, lint, select, diff and naming.
 */
#ifndef MSR_ALTOOL_H
#define MSR_ALTOOL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "msrsave.h"

/* ---- registers the tool knows ------------------------------------------ */

/* Writable only in lists for the qemu emulator (emulator/ directory). */
#define ALTOOL_EMULATOR_ONLY 0x1u

struct altool_msr_info {
	uint32_t msr;
	char name[48];
	uint64_t allowed; /* bits the project hands out for writing (0: none) */
	uint64_t lock;	  /* lock bits: never writable */
	unsigned int flags;
	const char *note; /* why bits outside @allowed are refused */
};

/* Fill @info for a known address; false when the tool does not know it. */
bool altool_msr_lookup(uint32_t msr, struct altool_msr_info *info);

/* ---- lint -------------------------------------------------------------- */

enum altool_role {
	ALTOOL_ROLE_AUTO,     /* decide from the path */
	ALTOOL_ROLE_BASELINE, /* must be read-only */
	ALTOOL_ROLE_PROFILE,  /* an overlay granting writes */
	ALTOOL_ROLE_LIST,     /* any list (e.g. a merged one being installed) */
};

/*
 * Role of a file by its path: a file in profiles/<name>/ or directly in a
 * "profiles" directory is a profile (but not in profiles/allowlists/: the
 * lists' own directory under an unrelated one named "profiles");
 * otherwise a file named al_* or "baseline" is a baseline; anything else
 * is a plain list.  *@emulator is set when a path component is
 * "emulator".
 */
enum altool_role altool_role_of_path(const char *path, bool *emulator);
const char *altool_role_name(enum altool_role role);

struct altool_lint {
	unsigned int errors;
	unsigned int warnings;
};

/*
 * Lint @text (named @name in messages, "NAME:LINE: error: ..." on @out).
 * Counts add up in @res.  Returns 0, or -ENOMEM.
 */
int altool_lint_text(const char *text, size_t len, const char *name,
		     enum altool_role role, bool emulator, FILE *out,
		     struct altool_lint *res);
/* Lint a file; an unreadable file counts as one error. */
int altool_lint_file(const char *path, enum altool_role role, FILE *out,
		     struct altool_lint *res);
/*
 * The mask checks alone on a parsed list (lock, reserved and unsafe bits,
 * emulator-only registers, unknown writable registers).
 */
void altool_check_masks(const struct msr_allowlist *al, const char *name,
			bool emulator, FILE *out, struct altool_lint *res);

/* ---- what tools need (allowlists/tool-requirements) -------------------- */

#define ALTOOL_REQ_MAX_CPUS 64

/* One CPU token of a requirement line: family, model (-1: any), in/out. */
struct altool_cpu_match {
	uint16_t family;
	int16_t model;
	bool remove;
};

/* One register range one feature of one tool needs, on some CPUs. */
struct altool_req {
	char tool[16];
	char feature[24];
	char access; /* 'r' read, 'z' unchanged write, 'w' write */
	uint32_t first, last;
	unsigned int line;
	size_t ncpus;
	struct altool_cpu_match cpus[ALTOOL_REQ_MAX_CPUS];
};

struct altool_reqs {
	struct altool_req *req;
	size_t count;
};

/*
 * Parse requirement text (the format is described at the top of
 * allowlists/tool-requirements); errors name @name and the line.
 * Returns 0, -EINVAL or -ENOMEM.
 */
int altool_reqs_parse(const char *text, size_t len, const char *name,
		      struct altool_reqs *out, struct msr_err *err);
/* The copy of allowlists/tool-requirements built into the program. */
int altool_reqs_builtin(struct altool_reqs *out, struct msr_err *err);
void altool_reqs_free(struct altool_reqs *reqs);
bool altool_req_applies(const struct altool_req *req, unsigned int family,
			unsigned int model);

/*
 * Whether @al serves @tool's @feature on a CPU: 1 served, 0 not (the
 * first unmet address in *@missing), -1 the feature does not apply there.
 */
int altool_feature_served(const struct altool_reqs *reqs, const char *tool,
			  const char *feature, unsigned int family,
			  unsigned int model, const struct msr_allowlist *al,
			  uint32_t *missing);

/*
 * Warn, for the CPU @family/@model, about every feature @al grants some
 * but not all of the writes of: the tool would half work.
 */
void altool_check_tools(const struct altool_reqs *reqs,
			const struct msr_allowlist *al, unsigned int family,
			unsigned int model, const char *name, FILE *out,
			struct altool_lint *res);

/* Family and model of a list named al_FF_M (any directory); false if not. */
bool altool_model_of_path(const char *path, unsigned int *family,
			  unsigned int *model);

/*
 * The coverage table (Markdown) of the lists under @dir: per model, what
 * the baseline serves and what each profile adds.
 */
int altool_coverage(const char *dir, const struct altool_reqs *reqs, FILE *out,
		    struct msr_err *err);

/* ---- select ------------------------------------------------------------ */

/*
 * Path of the baseline (@profile NULL) or of a profile overlay for @id
 * under @dir, written to @path.  -ENOENT (with a message naming the
 * family, model and the file looked for) when there is none; -EINVAL for
 * a profile name that breaks msr_profile_name_valid(); -ENAMETOOLONG.
 */
int altool_select(const char *dir, const struct msr_cpu_id *id,
		  const char *profile, char *path, size_t cap,
		  struct msr_err *err);

/* ---- diff and rendering ------------------------------------------------ */

/*
 * Print how @b differs from @a: "- ADDR MASK" only in @a, "+ ADDR MASK"
 * only in @b, "~ ADDR OLD -> NEW" mask changed.  Returns the number of
 * differences.
 */
size_t altool_diff(const struct msr_allowlist *a, const struct msr_allowlist *b,
		   FILE *out);

/* Canonical text of @al, with # "NAME" comments for known registers when
 * @names is true. */
int altool_print(const struct msr_allowlist *al, bool names, FILE *out);

#endif /* MSR_ALTOOL_H */
