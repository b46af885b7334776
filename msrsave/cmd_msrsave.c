// SPDX-License-Identifier: GPL-2.0-only
/*
 * msrsave: save, restore, verify, show and compare MSR state files.
 *
 * Exit status: 0 success, 1 mismatched or failed entries, 2 usage or I/O
 * errors.  The upstream forms "msrsave FILE" (save) and "msrsave -r FILE"
 * (restore) keep working.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "msr_safe.h"
#include "msrsave.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION MSR_SAFE_VERSION_STR
#endif

#define EXIT_MISMATCH 1
#define EXIT_USAGE    2

/* Most per-value problems listed before summarising the rest. */
#define LIST_MAX 50

struct opts {
	const char *device_dir;
	const char *allowlist;
	bool json;
	bool writable_only;
	bool force;
	bool quiet;
	bool changed;
	bool dry_run;
};

static const char usage_text[] =
    "Usage: msrsave [OPTIONS] COMMAND FILE...\n"
    "Snapshot, restore and verify allowlisted MSRs on every CPU.\n"
    "\n"
    "Commands:\n"
    "  save FILE       read every allowlisted MSR on every CPU into FILE\n"
    "  restore FILE    write FILE's values back (writable bits only), "
    "then verify\n"
    "  verify FILE     compare the live values with FILE under each "
    "write mask\n"
    "  show FILE       print FILE as a table (--json: as JSON)\n"
    "  diff A B        list the MSRs and CPUs whose values differ\n"
    "  FILE            same as 'save FILE' (upstream form)\n"
    "\n"
    "Options:\n"
    "  -r, --restore          same as 'restore FILE' (upstream form)\n"
    "  -d, --device-dir DIR   MSR device directory (default: "
    "$" MSRSAVE_DEVICE_DIR_ENV " or " MSRSAVE_DEFAULT_DEVICE_DIR ")\n"
    "  -a, --allowlist FILE   save the MSRs listed in FILE (default: "
    "DIR/msr_allowlist)\n"
    "  -w, --writable-only    save only MSRs with a non-zero write mask\n"
    "  -j, --json             show: print the state as JSON\n"
    "  -f, --force            restore: even onto a different CPU model\n"
    "      --changed          restore: write back only the values whose "
    "writable\n"
    "                         bits changed; values unreadable when saved "
    "and CPUs\n"
    "                         online since are failures\n"
    "      --dry-run          restore --changed: list, write nothing\n"
    "  -q, --quiet            print only problems\n"
    "  -V, --version          print the version and exit\n"
    "  -h, --help             print this help and exit\n"
    "\n"
    "Exit status: 0 success, 1 mismatched or failed entries, "
    "2 usage or I/O errors.\n";

static int usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "msrsave: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'msrsave --help' for more information.\n");
	return EXIT_USAGE;
}

static int fail(const struct msr_err *e)
{
	fprintf(stderr, "msrsave: %s\n", e->msg);
	return EXIT_USAGE;
}

static void print_problem(FILE *f, const struct msr_mismatch *m,
			  const char *what)
{
	if (m->err)
		fprintf(f, "  0x%08" PRIX32 " on cpu %d: %s failed: %s\n",
			m->msr, m->cpu, what, msr_op_strerror(m->err));
	else
		fprintf(f,
			"  0x%08" PRIX32 " on cpu %d: expected 0x%016" PRIX64
			", found 0x%016" PRIX64 " (mask 0x%016" PRIX64 ")\n",
			m->msr, m->cpu, m->expected, m->actual, m->mask);
}

static void print_report(const struct msr_report *rep, const char *what)
{
	size_t shown = rep->count < LIST_MAX ? rep->count : LIST_MAX;

	for (size_t i = 0; i < shown; i++)
		print_problem(stderr, &rep->items[i], what);
	if (rep->count > shown)
		fprintf(stderr, "  ... and %zu more\n", rep->count - shown);
}

static int open_dev(const struct opts *o, struct msr_dev **dev)
{
	struct msr_err e = {0};

	if (msr_dev_open(o->device_dir, dev, &e) < 0)
		return fail(&e);
	return 0;
}

static int cmd_save(const struct opts *o, const char *path)
{
	struct msr_allowlist al = {0};
	struct msr_state *st = NULL;
	struct msr_dev *dev = NULL;
	struct msr_err e = {0};
	char al_path[4200];
	size_t unreadable = 0;
	int rc = open_dev(o, &dev);

	if (rc)
		return rc;
	if (o->allowlist) {
		snprintf(al_path, sizeof(al_path), "%s", o->allowlist);
		rc = msr_allowlist_load(o->allowlist, &al, &e);
	} else {
		snprintf(al_path, sizeof(al_path), "%s/msr_allowlist",
			 msr_dev_dir(dev));
		rc = msr_dev_allowlist_read(dev, &al, &e);
	}
	if (rc < 0 ||
	    (rc = msr_snapshot(dev, &al, al_path,
			       o->writable_only ? MSR_SNAP_WRITABLE_ONLY : 0,
			       &st, &e)) < 0 ||
	    (rc = msr_state_write(path, st, &e)) < 0) {
		rc = fail(&e);
		goto fail;
	}
	/* Unreadable values are recorded (restore skips them): a warning. */
	for (size_t i = 0; i < st->nmsrs; i++) {
		for (size_t c = 0; c < st->ncpus; c++) {
			if (!st->msrs[i].errs[c])
				continue;
			if (unreadable++ < LIST_MAX)
				fprintf(stderr,
					"msrsave: warning: 0x%08" PRIX32
					" on cpu %d: unreadable: %s\n",
					st->msrs[i].msr, st->cpus[c],
					msr_op_strerror(st->msrs[i].errs[c]));
		}
	}
	if (unreadable > LIST_MAX)
		fprintf(stderr, "msrsave: warning: ... and %zu more\n",
			unreadable - LIST_MAX);
	if (!o->quiet)
		printf("saved %zu MSRs on %zu CPUs to %s (%zu unreadable)\n",
		       st->nmsrs, st->ncpus, path, unreadable);
	rc = 0;
fail:
	msr_state_free(st);
	msr_allowlist_free(&al);
	msr_dev_close(dev);
	return rc;
}

/* Refuse to restore one CPU model's state onto another. */
static int check_identity(const struct opts *o, const struct msr_state *st,
			  const char *path)
{
	struct msr_cpu_id id;
	struct msr_err e = {0};
	char host[256] = "";

	if (gethostname(host, sizeof(host) - 1) == 0 &&
	    strcmp(host, st->host) && !o->quiet)
		fprintf(stderr,
			"msrsave: note: %s was saved on host '%s', this is "
			"'%s'\n",
			path, st->host, host);
	if (msr_cpu_identify(NULL, &id, &e) < 0)
		return 0;
	if (!o->force &&
	    (strcmp(id.vendor, st->cpu.vendor) || id.family != st->cpu.family ||
	     id.model != st->cpu.model)) {
		fprintf(stderr,
			"msrsave: %s: saved on %s family 0x%X model 0x%X, "
			"this CPU is %s family 0x%X model 0x%X; nothing "
			"written (use --force to restore anyway)\n",
			path, st->cpu.vendor, st->cpu.family, st->cpu.model,
			id.vendor, id.family, id.model);
		return EXIT_USAGE;
	}
	return 0;
}

/*
 * What restore and verify start with: the state file at @path, checked
 * against this CPU, and the device.  0, or the exit status to return
 * (the caller frees *st and *dev either way).
 */
static int open_saved(const struct opts *o, const char *path,
		      struct msr_state **st, struct msr_dev **dev)
{
	struct msr_err e = {0};
	int rc;

	if (msr_state_load(path, st, &e) < 0)
		return fail(&e);
	rc = check_identity(o, *st, path);
	if (rc)
		return rc;
	return open_dev(o, dev);
}

static int cmd_restore_verify(const struct opts *o, const char *path,
			      bool restore)
{
	struct msr_report rep = {0};
	struct msr_state *st = NULL;
	struct msr_dev *dev = NULL;
	struct msr_err e = {0};
	int rc;

	rc = open_saved(o, path, &st, &dev);
	if (rc)
		goto fail;
	rc = restore ? msr_restore(dev, st, &rep, &e)
		     : msr_verify(dev, st, &rep, &e);
	if (rc < 0 && rc != -EIO) {
		rc = fail(&e);
		goto fail;
	}
	if (rc == -EIO) {
		fprintf(stderr, "msrsave: %s: %zu value%s did not %s:\n", path,
			rep.count, rep.count == 1 ? "" : "s",
			restore ? "restore" : "verify");
		print_report(&rep, restore ? "write" : "read");
		rc = EXIT_MISMATCH;
		goto fail;
	}
	if (!o->quiet) {
		if (restore)
			printf("restored %zu values from %s; verified",
			       rep.written, path);
		else
			printf("%s: live values match", path);
		if (rep.unreadable)
			printf(" (%zu unreadable when saved, skipped)",
			       rep.unreadable);
		printf("\n");
	}
	rc = 0;
fail:
	msr_report_free(&rep);
	msr_state_free(st);
	msr_dev_close(dev);
	return rc;
}

/* "restore --changed": only what changed, and what cannot be undone. */
static int cmd_restore_changed(const struct opts *o, const char *path)
{
	struct msr_changes ch = {0};
	struct msr_state *st = NULL;
	struct msr_dev *dev = NULL;
	struct msr_err e = {0};
	size_t shown;
	int rc;

	rc = open_saved(o, path, &st, &dev);
	if (rc)
		goto fail;
	rc = msr_restore_changed(dev, st, o->dry_run ? MSR_RESTORE_DRY_RUN : 0,
				 &ch, &e);
	if (rc < 0 && rc != -EIO) {
		rc = fail(&e);
		goto fail;
	}
	shown = ch.nchanged < LIST_MAX ? ch.nchanged : LIST_MAX;
	for (size_t i = 0; i < shown && !o->quiet; i++) {
		const struct msr_mismatch *m = &ch.changed[i];

		if (m->err)
			printf("  0x%08" PRIX32 " on cpu %d: unreadable now: "
			       "%s\n",
			       m->msr, m->cpu, msr_op_strerror(m->err));
		else
			printf("  0x%08" PRIX32
			       " on cpu %d: saved 0x%016" PRIX64
			       ", found 0x%016" PRIX64 " (mask 0x%016" PRIX64
			       ")\n",
			       m->msr, m->cpu, m->expected, m->actual, m->mask);
	}
	if (ch.nchanged > shown && !o->quiet)
		printf("  ... and %zu more\n", ch.nchanged - shown);
	if (rc == -EIO) {
		fprintf(stderr,
			"msrsave: %s: %zu value%s cannot be restored:\n", path,
			ch.nfailed, ch.nfailed == 1 ? "" : "s");
		shown = ch.nfailed < LIST_MAX ? ch.nfailed : LIST_MAX;
		for (size_t i = 0; i < shown; i++) {
			const struct msr_unrestored *u = &ch.failed[i];

			if (u->why == MSR_UNRESTORED_NEW_CPU)
				fprintf(stderr, "  cpu %d: %s\n", u->cpu,
					msr_unrestored_strwhy(u));
			else if (u->why == MSR_UNRESTORED_MISMATCH)
				fprintf(stderr,
					"  0x%08" PRIX32 " on cpu %d: expected "
					"0x%016" PRIX64 ", found 0x%016" PRIX64
					" (mask 0x%016" PRIX64 ")\n",
					u->msr, u->cpu, u->expected, u->actual,
					u->mask);
			else if (u->why == MSR_UNRESTORED_NOT_SAVED)
				fprintf(
				    stderr,
				    "  0x%08" PRIX32 " on cpu %d: %s (%s)\n",
				    u->msr, u->cpu, msr_unrestored_strwhy(u),
				    msr_op_strerror(u->err));
			else
				fprintf(
				    stderr, "  0x%08" PRIX32 " on cpu %d: %s\n",
				    u->msr, u->cpu, msr_unrestored_strwhy(u));
		}
		if (ch.nfailed > shown)
			fprintf(stderr, "  ... and %zu more\n",
				ch.nfailed - shown);
		rc = EXIT_MISMATCH;
		goto fail;
	}
	if (!o->quiet)
		printf("%s %zu changed value%s of %zu compared from %s%s\n",
		       o->dry_run ? "would restore" : "restored", ch.nchanged,
		       ch.nchanged == 1 ? "" : "s", ch.compared, path,
		       o->dry_run ? "" : "; verified");
	rc = 0;
fail:
	msr_changes_free(&ch);
	msr_state_free(st);
	msr_dev_close(dev);
	return rc;
}

/* ---- show ---------------------------------------------------------------- */

static void print_json_value(struct json_object *v, int indent,
			     bool first_inline);

static void print_scalar(struct json_object *v)
{
	if (!v)
		printf("null");
	else if (json_object_is_type(v, json_type_string))
		printf("%s", json_object_get_string(v));
	else
		printf("%s", json_object_to_json_string_ext(
				 v, JSON_C_TO_STRING_PLAIN));
}

/* A non-empty object or array: printed on lines of its own. */
static bool is_nested(struct json_object *v)
{
	if (!v)
		return false;
	if (json_object_is_type(v, json_type_object))
		return json_object_object_length(v) > 0;
	if (json_object_is_type(v, json_type_array))
		return json_object_array_length(v) > 0;
	return false;
}

/*
 * Nested objects and arrays as indented "key: value" lines, list items
 * as "- ".  @first_inline: the caller already printed "- " for this
 * object, so its first key goes on that line.
 */
static void print_json_value(struct json_object *v, int indent,
			     bool first_inline)
{
	if (json_object_is_type(v, json_type_object)) {
		json_object_object_foreach(v, key, child)
		{
			printf("%*s%s:", first_inline ? 0 : indent, "", key);
			first_inline = false;
			if (is_nested(child)) {
				printf("\n");
				print_json_value(child, indent + 2, false);
			} else {
				printf(" ");
				print_scalar(child);
				printf("\n");
			}
		}
		return;
	}
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		struct json_object *child = json_object_array_get_idx(v, i);

		printf("%*s-", indent, "");
		if (is_nested(child) &&
		    json_object_is_type(child, json_type_object)) {
			printf(" ");
			print_json_value(child, indent + 2, true);
		} else if (is_nested(child)) {
			printf("\n");
			print_json_value(child, indent + 2, false);
		} else {
			printf(" ");
			print_scalar(child);
			printf("\n");
		}
	}
}

/* One row per distinct value of an MSR, with the CPUs holding it. */
static int show_msr(const struct msr_state *st, const struct msr_state_msr *m)
{
	bool *done = calloc(st->ncpus ? st->ncpus : 1, sizeof(*done));
	int *group = malloc((st->ncpus ? st->ncpus : 1) * sizeof(*group));
	bool first = true;
	char cpus[256];

	if (!done || !group) {
		free(done);
		free(group);
		return -ENOMEM;
	}
	for (size_t c = 0; c < st->ncpus; c++) {
		size_t n = 0;
		char value[96];

		if (done[c])
			continue;
		for (size_t k = c; k < st->ncpus; k++) {
			if (done[k] || m->errs[k] != m->errs[c] ||
			    (!m->errs[c] && m->values[k] != m->values[c]))
				continue;
			done[k] = true;
			group[n++] = st->cpus[k];
		}
		msr_format_cpulist(group, n, cpus, sizeof(cpus));
		if (m->errs[c])
			snprintf(value, sizeof(value), "unreadable: %s",
				 msr_op_strerror(m->errs[c]));
		else
			snprintf(value, sizeof(value), "0x%016" PRIX64,
				 m->values[c]);
		if (first)
			printf("0x%08" PRIX32 "  0x%016" PRIX64 "  %-18s  %s\n",
			       m->msr, m->wmask, value, cpus);
		else
			printf("%-10s  %-18s  %-18s  %s\n", "", "", value,
			       cpus);
		first = false;
	}
	free(done);
	free(group);
	return 0;
}

static int cmd_show(const struct opts *o, const char *path)
{
	struct msr_state *st = NULL;
	struct json_object *j = NULL;
	struct msr_err e = {0};
	char utc[32] = "?", cpus[512], alname[32];
	time_t t;
	struct tm tm;
	int rc = 0;

	if (msr_state_load(path, &st, &e) < 0)
		return fail(&e);
	if (o->json) {
		if (msr_state_to_json(st, &j, &e) < 0) {
			rc = fail(&e);
			goto fail;
		}
		printf("%s\n", json_object_to_json_string_ext(
				   j, JSON_C_TO_STRING_PRETTY |
					  JSON_C_TO_STRING_SPACED |
					  JSON_C_TO_STRING_NOSLASHESCAPE));
		goto fail;
	}
	t = (time_t)st->created;
	if (gmtime_r(&t, &tm))
		strftime(utc, sizeof(utc), "%Y-%m-%dT%H:%M:%SZ", &tm);
	msr_format_cpulist(st->cpus, st->ncpus, cpus, sizeof(cpus));
	msr_allowlist_name(&st->cpu, alname, sizeof(alname));
	printf("state:      %s (%s version %d)\n", path, MSRSAVE_STATE_FORMAT,
	       MSRSAVE_STATE_VERSION);
	printf("host:       %s (boot %s)\n", st->host,
	       st->boot_id[0] ? st->boot_id : "unknown");
	printf("created:    %s by msrsave %s\n", utc, st->tool_version);
	printf("cpu model:  %s family 0x%X model 0x%X (%s)\n",
	       st->cpu.vendor[0] ? st->cpu.vendor : "unknown", st->cpu.family,
	       st->cpu.model, alname);
	printf("allowlist:  %s (sha256 %.16s...)\n",
	       st->allowlist_path[0] ? st->allowlist_path : "-",
	       st->allowlist_sha256);
	printf("cpus:       %s (%zu)\n", cpus, st->ncpus);
	printf("msrs:       %zu\n", st->nmsrs);
	if (st->has_job)
		printf("job:        %s, user %s (uid %" PRIu32
		       "), partition %s, profile %s\n",
		       st->job.id, st->job.user, st->job.uid,
		       st->job.partition[0] ? st->job.partition : "-",
		       st->job.profile[0] ? st->job.profile : "-");
	printf("\n%-10s  %-18s  %-18s  %s\n", "MSR", "WRITE MASK", "VALUE",
	       "CPUS");
	for (size_t i = 0; i < st->nmsrs; i++) {
		if (show_msr(st, &st->msrs[i]) < 0) {
			fprintf(stderr, "msrsave: out of memory\n");
			rc = EXIT_USAGE;
			goto fail;
		}
	}
	if (st->outcome) {
		printf("\noutcome:\n");
		print_json_value(st->outcome, 2, false);
	}
fail:
	json_object_put(j);
	msr_state_free(st);
	return rc;
}

static int cmd_diff(const struct opts *o, const char *a_path,
		    const char *b_path)
{
	struct msr_state *a = NULL, *b = NULL;
	struct msr_report rep = {0};
	struct msr_err e = {0};
	int rc;

	if (msr_state_load(a_path, &a, &e) < 0 ||
	    msr_state_load(b_path, &b, &e) < 0 ||
	    msr_state_diff(a, b, &rep, &e) < 0) {
		rc = fail(&e);
		goto fail;
	}
	if (!rep.count) {
		if (!o->quiet)
			printf("%s and %s hold the same values\n", a_path,
			       b_path);
		rc = 0;
		goto fail;
	}
	printf("%zu value%s differ between %s (A) and %s (B):\n", rep.count,
	       rep.count == 1 ? "" : "s", a_path, b_path);
	for (size_t i = 0; i < rep.count; i++) {
		const struct msr_mismatch *m = &rep.items[i];

		if (m->err)
			printf("  0x%08" PRIX32 " on cpu %d: only one state "
			       "has a value (A 0x%016" PRIX64
			       ", B 0x%016" PRIX64 ")\n",
			       m->msr, m->cpu, m->expected, m->actual);
		else
			printf("  0x%08" PRIX32 " on cpu %d: A 0x%016" PRIX64
			       ", B 0x%016" PRIX64 "\n",
			       m->msr, m->cpu, m->expected, m->actual);
	}
	rc = EXIT_MISMATCH;
fail:
	msr_report_free(&rep);
	msr_state_free(a);
	msr_state_free(b);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"restore", no_argument, NULL, 'r'},
	    {"device-dir", required_argument, NULL, 'd'},
	    {"allowlist", required_argument, NULL, 'a'},
	    {"writable-only", no_argument, NULL, 'w'},
	    {"json", no_argument, NULL, 'j'},
	    {"force", no_argument, NULL, 'f'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"changed", no_argument, NULL, 'C'},
	    {"dry-run", no_argument, NULL, 'N'},
	    {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct opts o = {0};
	bool upstream_restore = false;
	const char *cmd;
	int c, nargs;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":rd:a:wjfqVh", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'r':
			upstream_restore = true;
			break;
		case 'd':
			o.device_dir = optarg;
			break;
		case 'a':
			o.allowlist = optarg;
			break;
		case 'w':
			o.writable_only = true;
			break;
		case 'j':
			o.json = true;
			break;
		case 'f':
			o.force = true;
			break;
		case 'q':
			o.quiet = true;
			break;
		case 'C':
			o.changed = true;
			break;
		case 'N':
			o.dry_run = true;
			break;
		case 'V':
			printf("msrsave %s (msr-safe ABI %s)\n",
			       PACKAGE_VERSION, MSR_SAFE_VERSION_STR);
			return 0;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case ':':
			return usage_error("option '%s' needs an argument",
					   argv[optind - 1]);
		default:
			if (optopt)
				return usage_error("unknown option '-%c'",
						   optopt);
			return usage_error("unknown option '%s'",
					   argv[optind - 1]);
		}
	}
	nargs = argc - optind;
	if (nargs < 1)
		return usage_error("%s", "missing COMMAND or FILE");
	cmd = argv[optind];
	if (o.dry_run && !o.changed)
		return usage_error("%s",
				   "--dry-run goes with restore --changed");
	if (o.changed && !upstream_restore && strcmp(cmd, "restore"))
		return usage_error("%s", "--changed goes with restore");
	if (upstream_restore) {
		if (nargs != 1)
			return usage_error("%s", "-r takes exactly one FILE");
		if (o.changed)
			return cmd_restore_changed(&o, cmd);
		return cmd_restore_verify(&o, cmd, true);
	}
	if (o.changed) {
		if (nargs != 2)
			return usage_error("'%s' takes exactly one FILE", cmd);
		return cmd_restore_changed(&o, argv[optind + 1]);
	}
	if (!strcmp(cmd, "save") || !strcmp(cmd, "restore") ||
	    !strcmp(cmd, "verify") || !strcmp(cmd, "show")) {
		if (nargs != 2)
			return usage_error("'%s' takes exactly one FILE", cmd);
		if (!strcmp(cmd, "save"))
			return cmd_save(&o, argv[optind + 1]);
		if (!strcmp(cmd, "show"))
			return cmd_show(&o, argv[optind + 1]);
		return cmd_restore_verify(&o, argv[optind + 1],
					  !strcmp(cmd, "restore"));
	}
	if (!strcmp(cmd, "diff")) {
		if (nargs != 3)
			return usage_error("%s", "'diff' takes two FILEs");
		return cmd_diff(&o, argv[optind + 1], argv[optind + 2]);
	}
	if (nargs != 1)
		return usage_error("unknown command '%s'", cmd);
	/* Upstream form: a lone FILE means save. */
	return cmd_save(&o, cmd);
}
