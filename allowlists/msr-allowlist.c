// SPDX-License-Identifier: GPL-2.0-only
/*
 * msr-allowlist: pick, merge, check, install and show msr-safe allowlists.
 * The logic lives in altool.c; this file parses the command line.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "altool.h"

#ifndef MSR_ALLOWLIST_DIR
#define MSR_ALLOWLIST_DIR "/usr/share/msr-safe/allowlists"
#endif

#define MAX_PROFILES 16
#define LIVE	     "@live"

static const char usage_text[] =
    "usage: msr-allowlist COMMAND [OPTIONS] [ARGS]\n"
    "\n"
    "  select [--profile NAME]...       print the baseline (and profile) "
    "paths\n"
    "                                   for this CPU\n"
    "  merge BASE OVERLAY...            print the union, write masks "
    "OR'd\n"
    "  lint [--strict] [--as ROLE] FILE...\n"
    "                                   check lists (ROLE: baseline, "
    "profile, list)\n"
    "  install FILE|--auto [--profile NAME]... [--dry-run] [--force]\n"
    "                                   install a list (and overlays) into "
    "the\n"
    "                                   allowlist device\n"
    "  show                             print the live allowlist\n"
    "  diff A B                         how B differs from A (" LIVE
    " = the live list)\n"
    "  coverage                         table of the LIKWID, GEOPM and "
    "Variorum\n"
    "                                   features each list in --dir "
    "serves\n"
    "\n"
    "options:\n"
    "  --dir DIR           allowlist directory (default " MSR_ALLOWLIST_DIR
    ")\n"
    "  --device-dir DIR    device directory (default $" MSRSAVE_DEVICE_DIR_ENV
    " or " MSRSAVE_DEFAULT_DEVICE_DIR ")\n"
    "  --family F --model M  CPU to select for, decimal or 0x hex, instead "
    "of\n"
    "                      this machine's\n"
    "  --cpuinfo FILE      read the CPU from FILE instead of /proc/cpuinfo\n"
    "  --names             annotate printed lists with register names\n"
    "\n"
    "exit status: 0 success (diff: no difference), 1 failure or lint "
    "errors\n"
    "(diff: lists differ), 2 usage error.\n";

struct opts {
	const char *dir;
	const char *device_dir;
	const char *cpuinfo;
	const char *family;
	const char *model;
	const char *profiles[MAX_PROFILES];
	size_t nprofiles;
	enum altool_role role;
	bool autosel;
	bool dry_run;
	bool force;
	bool names;
	bool strict;
};

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt,
							     ...)
{
	va_list ap;

	fputs("msr-allowlist: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n(msr-allowlist --help for usage)\n", stderr);
	return 2;
}

static void print_err(const struct msr_err *err)
{
	fprintf(stderr, "msr-allowlist: %s\n", err->msg);
}

/* This machine's CPU, or the one named on the command line. */
static int identify(const struct opts *o, struct msr_cpu_id *id,
		    struct msr_err *err)
{
	uint64_t v;

	if (!o->family && !o->model)
		return msr_cpu_identify(o->cpuinfo, id, err);
	memset(id, 0, sizeof(*id));
	if (!o->family || !o->model)
		return msr_err_set(err, -EINVAL,
				   "--family and --model go together");
	if (msr_parse_u64(o->family, 0xFFFF, &v) < 0)
		return msr_err_set(err, -EINVAL,
				   "--family '%s' is not a number (decimal or "
				   "0x hex, e.g. 25 or 0x19)",
				   o->family);
	id->family = (unsigned int)v;
	if (msr_parse_u64(o->model, 0xFFFF, &v) < 0)
		return msr_err_set(err, -EINVAL,
				   "--model '%s' is not a number (decimal or "
				   "0x hex, e.g. 143 or 0x8F)",
				   o->model);
	id->model = (unsigned int)v;
	return 0;
}

/* Where a profile's overlay is: a path as given, or one from --dir. */
static int profile_path(const struct opts *o, const struct msr_cpu_id *id,
			const char *profile, char *path, size_t cap,
			struct msr_err *err)
{
	if (strchr(profile, '/')) {
		if ((size_t)snprintf(path, cap, "%s", profile) >= cap)
			return msr_err_set(err, -ENAMETOOLONG,
					   "%s: path too long", profile);
		return 0;
	}
	return altool_select(o->dir, id, profile, path, cap, err);
}

static int cmd_select(const struct opts *o, int argc, char **argv)
{
	char path[4096];
	struct msr_cpu_id id;
	struct msr_err err;
	size_t i;

	(void)argv;
	if (argc)
		return usage_error("select takes no arguments (got '%s')",
				   argv[0]);
	if (identify(o, &id, &err) < 0 ||
	    altool_select(o->dir, &id, NULL, path, sizeof(path), &err) < 0) {
		print_err(&err);
		return 1;
	}
	/* Check every profile before printing anything. */
	for (i = 0; i < o->nprofiles; i++) {
		if (altool_select(o->dir, &id, o->profiles[i], path,
				  sizeof(path), &err) < 0) {
			print_err(&err);
			return 1;
		}
	}
	altool_select(o->dir, &id, NULL, path, sizeof(path), &err);
	printf("%s\n", path);
	for (i = 0; i < o->nprofiles; i++) {
		altool_select(o->dir, &id, o->profiles[i], path, sizeof(path),
			      &err);
		printf("%s\n", path);
	}
	return 0;
}

/* Load a file, or the live list for "@live". */
static int load_list(const struct opts *o, const char *path,
		     struct msr_allowlist *al, struct msr_err *err)
{
	struct msr_dev *dev = NULL;
	int rc;

	if (strcmp(path, LIVE))
		return msr_allowlist_load(path, al, err);
	rc = msr_dev_open(o->device_dir, &dev, err);
	if (rc < 0)
		return rc;
	rc = msr_dev_allowlist_read(dev, al, err);
	msr_dev_close(dev);
	return rc;
}

/* Load @paths[0] and merge every other path over it. */
static int load_merged(const struct opts *o, const char *const *paths, size_t n,
		       struct msr_allowlist *out, struct msr_err *err)
{
	struct msr_allowlist acc = {0}, next = {0}, merged = {0};
	size_t i;
	int rc;

	rc = load_list(o, paths[0], &acc, err);
	if (rc < 0)
		goto fail;
	for (i = 1; i < n; i++) {
		rc = load_list(o, paths[i], &next, err);
		if (rc < 0)
			goto fail;
		rc = msr_allowlist_merge(&acc, &next, &merged, err);
		if (rc < 0)
			goto fail;
		msr_allowlist_free(&acc);
		msr_allowlist_free(&next);
		acc = merged;
		merged.entries = NULL;
		merged.count = 0;
	}
	*out = acc;
	return 0;
fail:
	msr_allowlist_free(&acc);
	msr_allowlist_free(&next);
	return rc;
}

static int cmd_merge(const struct opts *o, int argc, char **argv)
{
	struct msr_allowlist al;
	struct msr_err err;
	int rc;

	if (argc < 1)
		return usage_error("%s", "merge needs BASE [OVERLAY...]");
	rc = load_merged(o, (const char *const *)argv, (size_t)argc, &al, &err);
	if (rc < 0) {
		print_err(&err);
		return 1;
	}
	rc = altool_print(&al, o->names, stdout);
	msr_allowlist_free(&al);
	if (rc < 0 || fflush(stdout)) {
		fprintf(stderr, "msr-allowlist: cannot write the output\n");
		return 1;
	}
	return 0;
}

static int cmd_lint(const struct opts *o, int argc, char **argv)
{
	struct altool_lint res = {0};
	int i;

	if (argc < 1)
		return usage_error("%s", "lint needs at least one FILE");
	for (i = 0; i < argc; i++) {
		if (altool_lint_file(argv[i], o->role, stdout, &res) < 0) {
			fprintf(stderr, "msr-allowlist: out of memory\n");
			return 1;
		}
	}
	fflush(stdout);
	fprintf(stderr,
		"msr-allowlist: %d file(s), %u error(s), %u warning(s)\n", argc,
		res.errors, res.warnings);
	if (res.errors || (o->strict && res.warnings))
		return 1;
	return 0;
}

/* Words for what went wrong opening or writing the device. */
static void device_hint(int rc, const char *dir)
{
	const char *d = dir ? dir : "the device directory";

	if (rc == -ENOENT || rc == -ENODEV || rc == -ENXIO)
		fprintf(stderr,
			"msr-allowlist: hint: is msr-safe loaded (modprobe "
			"msr-safe) and did udev create %s/msr_allowlist?\n",
			d);
	else if (rc == -EACCES || rc == -EPERM)
		fprintf(stderr, "msr-allowlist: hint: installing an allowlist "
				"needs root\n");
}

static int cmd_install(const struct opts *o, int argc, char **argv)
{
	const char *paths[MAX_PROFILES + 1];
	char storage[MAX_PROFILES + 1][4096];
	struct altool_lint res = {0};
	struct msr_allowlist al = {0};
	struct msr_dev *dev = NULL;
	struct msr_cpu_id id;
	struct msr_err err;
	bool emulator = false, emu;
	size_t i, n = 0, writable = 0;
	int rc;

	if (o->autosel == (argc == 1) || argc > 1)
		return usage_error("%s", "install needs one FILE or --auto");
	if (o->autosel || o->nprofiles) {
		if (identify(o, &id, &err) < 0) {
			print_err(&err);
			return 1;
		}
	}
	if (o->autosel) {
		if (altool_select(o->dir, &id, NULL, storage[n],
				  sizeof(storage[n]), &err) < 0) {
			print_err(&err);
			return 1;
		}
	} else {
		snprintf(storage[n], sizeof(storage[n]), "%s", argv[0]);
	}
	paths[n] = storage[n];
	n++;
	for (i = 0; i < o->nprofiles; i++, n++) {
		if (profile_path(o, &id, o->profiles[i], storage[n],
				 sizeof(storage[n]), &err) < 0) {
			print_err(&err);
			return 1;
		}
		paths[n] = storage[n];
	}
	for (i = 0; i < n; i++) {
		altool_role_of_path(paths[i], &emu);
		emulator = emulator || emu;
	}
	if (load_merged(o, paths, n, &al, &err) < 0) {
		print_err(&err);
		return 1;
	}
	/* Refuse a list that would hand out lock or reserved bits. */
	altool_check_masks(&al, "merged list", emulator, stderr, &res);
	if (res.errors && !o->force) {
		fprintf(stderr,
			"msr-allowlist: refusing to install: %u error(s) above "
			"(--force installs anyway)\n",
			res.errors);
		rc = 1;
		goto out;
	}
	for (i = 0; i < al.count; i++)
		writable += al.entries[i].wmask != 0;
	if (o->dry_run) {
		rc = altool_print(&al, o->names, stdout) < 0 ? 1 : 0;
		goto out;
	}
	rc = msr_dev_open(o->device_dir, &dev, &err);
	if (rc < 0) {
		print_err(&err);
		device_hint(rc, o->device_dir);
		rc = 1;
		goto out;
	}
	rc = msr_dev_allowlist_install(dev, &al, &err);
	if (rc < 0) {
		print_err(&err);
		device_hint(rc, msr_dev_dir(dev));
		rc = 1;
		goto out;
	}
	fprintf(stderr,
		"msr-allowlist: installed %zu entries (%zu writable) "
		"into %s/msr_allowlist from",
		al.count, writable, msr_dev_dir(dev));
	for (i = 0; i < n; i++)
		fprintf(stderr, "%s %s", i ? " +" : "", paths[i]);
	fputc('\n', stderr);
	rc = 0;
out:
	msr_dev_close(dev);
	msr_allowlist_free(&al);
	return rc;
}

static int cmd_show(const struct opts *o, int argc, char **argv)
{
	struct msr_allowlist al = {0};
	struct msr_err err;
	int rc;

	if (argc)
		return usage_error("show takes no arguments (got '%s')",
				   argv[0]);
	rc = load_list(o, LIVE, &al, &err);
	if (rc < 0) {
		print_err(&err);
		device_hint(rc, o->device_dir);
		return 1;
	}
	rc = altool_print(&al, o->names, stdout);
	msr_allowlist_free(&al);
	return rc < 0 || fflush(stdout) ? 1 : 0;
}

static int cmd_coverage(const struct opts *o, int argc, char **argv)
{
	struct altool_reqs reqs;
	struct msr_err err;
	int rc;

	if (argc)
		return usage_error("coverage takes no arguments (got '%s')",
				   argv[0]);
	rc = altool_reqs_builtin(&reqs, &err);
	if (!rc) {
		rc = altool_coverage(o->dir, &reqs, stdout, &err);
		altool_reqs_free(&reqs);
	}
	if (rc < 0) {
		print_err(&err);
		return 1;
	}
	return fflush(stdout) ? 1 : 0;
}

static int cmd_diff(const struct opts *o, int argc, char **argv)
{
	struct msr_allowlist a = {0}, b = {0};
	struct msr_err err;
	size_t n;
	int rc = 2;

	if (argc != 2)
		return usage_error("%s", "diff needs two lists: A B");
	if (load_list(o, argv[0], &a, &err) < 0 ||
	    load_list(o, argv[1], &b, &err) < 0) {
		print_err(&err);
		goto out;
	}
	n = altool_diff(&a, &b, stdout);
	rc = n ? 1 : 0;
out:
	msr_allowlist_free(&a);
	msr_allowlist_free(&b);
	return rc;
}

enum {
	OPT_DIR = 256,
	OPT_DEVICE_DIR,
	OPT_CPUINFO,
	OPT_FAMILY,
	OPT_MODEL,
	OPT_PROFILE,
	OPT_AUTO,
	OPT_DRY_RUN,
	OPT_FORCE,
	OPT_NAMES,
	OPT_STRICT,
	OPT_AS,
	OPT_HELP,
	OPT_VERSION,
};

static const struct option long_opts[] = {
    {"dir", required_argument, NULL, OPT_DIR},
    {"device-dir", required_argument, NULL, OPT_DEVICE_DIR},
    {"cpuinfo", required_argument, NULL, OPT_CPUINFO},
    {"family", required_argument, NULL, OPT_FAMILY},
    {"model", required_argument, NULL, OPT_MODEL},
    {"profile", required_argument, NULL, OPT_PROFILE},
    {"auto", no_argument, NULL, OPT_AUTO},
    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
    {"force", no_argument, NULL, OPT_FORCE},
    {"names", no_argument, NULL, OPT_NAMES},
    {"strict", no_argument, NULL, OPT_STRICT},
    {"as", required_argument, NULL, OPT_AS},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

static int parse_opts(struct opts *o, int argc, char **argv)
{
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_DIR:
			o->dir = optarg;
			break;
		case OPT_DEVICE_DIR:
			o->device_dir = optarg;
			break;
		case OPT_CPUINFO:
			o->cpuinfo = optarg;
			break;
		case OPT_FAMILY:
			o->family = optarg;
			break;
		case OPT_MODEL:
			o->model = optarg;
			break;
		case OPT_PROFILE:
			if (o->nprofiles == MAX_PROFILES)
				return usage_error("at most 16 profiles (at "
						   "'%s')",
						   optarg);
			o->profiles[o->nprofiles++] = optarg;
			break;
		case OPT_AUTO:
			o->autosel = true;
			break;
		case OPT_DRY_RUN:
			o->dry_run = true;
			break;
		case OPT_FORCE:
			o->force = true;
			break;
		case OPT_NAMES:
			o->names = true;
			break;
		case OPT_STRICT:
			o->strict = true;
			break;
		case OPT_AS:
			if (!strcmp(optarg, "baseline"))
				o->role = ALTOOL_ROLE_BASELINE;
			else if (!strcmp(optarg, "profile"))
				o->role = ALTOOL_ROLE_PROFILE;
			else if (!strcmp(optarg, "list"))
				o->role = ALTOOL_ROLE_LIST;
			else
				return usage_error("--as '%s': use baseline, "
						   "profile or list",
						   optarg);
			break;
		case 'h':
		case OPT_HELP:
			fputs(usage_text, stdout);
			return 1;
		case OPT_VERSION:
			printf("msr-allowlist %s\n", PACKAGE_VERSION);
			return 1;
		default:
			return 2;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = {.dir = MSR_ALLOWLIST_DIR, .role = ALTOOL_ROLE_AUTO};
	const char *cmd;
	int rc;

	if (argc < 2)
		return usage_error("%s", "missing COMMAND");
	cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version")) {
		printf("msr-allowlist %s\n", PACKAGE_VERSION);
		return 0;
	}
	/* Options may come anywhere after the command: permute them. */
	rc = parse_opts(&o, argc - 1, argv + 1);
	if (rc)
		return rc == 1 ? 0 : 2;
	argc -= 1 + optind;
	argv += 1 + optind;
	if (!strcmp(cmd, "select"))
		return cmd_select(&o, argc, argv);
	if (!strcmp(cmd, "merge"))
		return cmd_merge(&o, argc, argv);
	if (!strcmp(cmd, "lint"))
		return cmd_lint(&o, argc, argv);
	if (!strcmp(cmd, "install"))
		return cmd_install(&o, argc, argv);
	if (!strcmp(cmd, "show"))
		return cmd_show(&o, argc, argv);
	if (!strcmp(cmd, "diff"))
		return cmd_diff(&o, argc, argv);
	if (!strcmp(cmd, "coverage"))
		return cmd_coverage(&o, argc, argv);
	return usage_error("unknown command '%s'", cmd);
}
