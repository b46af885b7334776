// SPDX-License-Identifier: GPL-2.0-only
/*
 * msrctl: read or write one MSR on a set of CPUs through msr-safe, in one
 * batch call when the batch device exists.
 *
 * Exit status: 0 success, 1 some CPUs failed, 2 usage or I/O errors.
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

#include "msr_safe.h"
#include "msrsave.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION MSR_SAFE_VERSION_STR
#endif

#define EXIT_OPS_FAILED 1
#define EXIT_USAGE	2

static const char usage_text[] =
    "Usage: msrctl [OPTIONS] read ADDR\n"
    "       msrctl [OPTIONS] write ADDR VALUE\n"
    "       msrctl [OPTIONS] info\n"
    "Read or write one allowlisted MSR on a set of CPUs.\n"
    "\n"
    "ADDR and VALUE are hex with 0x, or decimal.\n"
    "\n"
    "Options:\n"
    "  -c, --cpus LIST        CPUs, e.g. 0-3,8 (default: all)\n"
    "  -d, --device-dir DIR   MSR device directory (default: "
    "$" MSRSAVE_DEVICE_DIR_ENV " or " MSRSAVE_DEFAULT_DEVICE_DIR ")\n"
    "  -V, --version          print the version and exit\n"
    "  -h, --help             print this help and exit\n"
    "\n"
    "Exit status: 0 success, 1 some CPUs failed, 2 usage or I/O errors.\n";

static int usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "msrctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'msrctl --help' for more information.\n");
	return EXIT_USAGE;
}

static int cmd_info(struct msr_dev *dev)
{
	char cpus[4096];

	msr_format_cpulist(msr_dev_cpus(dev), msr_dev_ncpus(dev), cpus,
			   sizeof(cpus));
	printf("device dir: %s\n", msr_dev_dir(dev));
	printf("backend:    %s%s\n", msr_backend_name(msr_dev_backend(dev)),
	       msr_dev_is_file_backed(dev) ? " (file-backed tree)" : "");
	printf("cpus:       %s (%zu)\n", cpus, msr_dev_ncpus(dev));
	return 0;
}

static int run_ops(struct msr_dev *dev, const int *cpus, size_t n, uint32_t msr,
		   bool write, uint64_t value)
{
	struct msr_op *ops = calloc(n ? n : 1, sizeof(*ops));
	struct msr_err e = {0};
	size_t failed = 0;
	int rc;

	if (!ops) {
		fprintf(stderr, "msrctl: out of memory\n");
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < n; i++) {
		ops[i].cpu = cpus[i];
		ops[i].msr = msr;
		ops[i].write = write;
		ops[i].value = value;
	}
	rc = msr_dev_exec(dev, ops, n, &e);
	if (rc < 0) {
		bool any_op_err = false;

		for (size_t i = 0; i < n; i++)
			if (ops[i].err)
				any_op_err = true;
		if (!any_op_err) {
			fprintf(stderr, "msrctl: %s\n", e.msg);
			free(ops);
			return EXIT_USAGE;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (ops[i].err) {
			fprintf(stderr, "msrctl: 0x%" PRIX32 " on cpu %d: %s\n",
				msr, ops[i].cpu, msr_op_strerror(ops[i].err));
			failed++;
		} else if (write) {
			printf("cpu %d: wrote 0x%016" PRIX64
			       " (write mask 0x%016" PRIX64 ")\n",
			       ops[i].cpu, value, ops[i].wmask);
		} else {
			printf("cpu %d: 0x%016" PRIX64 "\n", ops[i].cpu,
			       ops[i].value);
		}
	}
	free(ops);
	return failed ? EXIT_OPS_FAILED : 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"cpus", required_argument, NULL, 'c'},
	    {"device-dir", required_argument, NULL, 'd'},
	    {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *cpulist = "all", *dir = NULL, *cmd;
	struct msr_dev *dev = NULL;
	struct msr_err e = {0};
	uint64_t addr = 0, value = 0;
	int *cpus = NULL, c, nargs, rc;
	size_t ncpus = 0;
	bool write = false;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:d:Vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			cpulist = optarg;
			break;
		case 'd':
			dir = optarg;
			break;
		case 'V':
			printf("msrctl %s (msr-safe ABI %s)\n", PACKAGE_VERSION,
			       MSR_SAFE_VERSION_STR);
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
		return usage_error("missing command (read, write or info)");
	cmd = argv[optind];
	if (!strcmp(cmd, "info")) {
		if (nargs != 1)
			return usage_error("'info' takes no arguments");
	} else if (!strcmp(cmd, "read") || !strcmp(cmd, "write")) {
		write = !strcmp(cmd, "write");
		if (nargs != (write ? 3 : 2))
			return usage_error(write ? "'write' takes ADDR VALUE"
						 : "'read' takes ADDR");
		if (msr_parse_u64(argv[optind + 1], UINT32_MAX, &addr))
			return usage_error("bad MSR address '%s' (expected "
					   "e.g. 0x610, at most 32 bits)",
					   argv[optind + 1]);
		if (write &&
		    msr_parse_u64(argv[optind + 2], UINT64_MAX, &value))
			return usage_error("bad value '%s' (expected e.g. "
					   "0x1f or 31, at most 64 bits)",
					   argv[optind + 2]);
	} else {
		return usage_error("unknown command '%s'", cmd);
	}
	if (msr_dev_open(dir, &dev, &e) < 0) {
		fprintf(stderr, "msrctl: %s\n", e.msg);
		return EXIT_USAGE;
	}
	if (!strcmp(cmd, "info")) {
		rc = cmd_info(dev);
		goto fail;
	}
	if (msr_parse_cpulist(cpulist, dev, &cpus, &ncpus, &e) < 0) {
		rc = usage_error("%s", e.msg);
		goto fail;
	}
	rc = run_ops(dev, cpus, ncpus, (uint32_t)addr, write, value);
fail:
	free(cpus);
	msr_dev_close(dev);
	return rc;
}
