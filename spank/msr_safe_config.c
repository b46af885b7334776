// SPDX-License-Identifier: GPL-2.0-only
/*
 * msr-safe-config: check the SPANK plugin's site file before deploying
 * it, with the plugin's own parser (msr_config.c), so "it checks here"
 * means "the plugin accepts it".
 *
 *   msr-safe-config [-n NODE] FILE [KEY=VALUE...]
 *
 * KEY=VALUE are the plugstack.conf arguments (state_dir=, device_dir=,
 * ...).  -n NODE expands %n as that node would and also checks that the
 * baseline and every overlay exist there.  Exit 0 and a summary when the
 * file is good; 1 and "FILE:LINE: problem" on stderr when it is not.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "msr_config.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: msr-safe-config [-n NODE] FILE [KEY=VALUE...]\n"
		   "Checks an msr-safe SPANK site file (and plugstack "
		   "arguments) as the plugin\nreads it; -n NODE also "
		   "expands %%n and checks that the listed files exist;\n"
		   "-h, --help prints this help.\n");
}

/* With -n: the files a prolog on that node would open. */
static int check_paths(const struct msr_config *cfg)
{
	struct stat sb;
	int bad = 0;

	if (strcmp(cfg->baseline, "auto") != 0 &&
	    stat(cfg->baseline, &sb) < 0) {
		fprintf(stderr, "msr-safe-config: Baseline %s: %s\n",
			cfg->baseline, strerror(errno));
		bad = 1;
	}
	if (cfg->allowlist_dir[0] && stat(cfg->allowlist_dir, &sb) < 0) {
		fprintf(stderr, "msr-safe-config: AllowlistDir %s: %s\n",
			cfg->allowlist_dir, strerror(errno));
		bad = 1;
	}
	for (size_t i = 0; i < cfg->nprofiles; i++) {
		const struct msr_profile *p = &cfg->profiles[i];

		for (size_t k = 0; k < p->noverlays; k++) {
			if (stat(p->overlays[k], &sb) == 0)
				continue;
			fprintf(stderr,
				"msr-safe-config: profile %s: overlay %s: %s\n",
				p->name, p->overlays[k], strerror(errno));
			bad = 1;
		}
	}
	return bad;
}

static void summary(const struct msr_config *cfg)
{
	printf("%s: ok\n", cfg->path);
	printf("  StateDir=%s DeviceDir=%s Baseline=%s\n", cfg->state_dir,
	       cfg->device_dir, cfg->baseline);
	for (size_t i = 0; i < cfg->nprofiles; i++)
		printf("  profile %s: %zu overlay(s)\n", cfg->profiles[i].name,
		       cfg->profiles[i].noverlays);
	for (size_t i = 0; i < cfg->npartitions; i++) {
		char list[1024];

		msr_config_permitted_list(cfg, cfg->partitions[i].name, list,
					  sizeof(list));
		printf("  partition %s: %s (default %s)\n",
		       cfg->partitions[i].name, list,
		       cfg->partitions[i].default_profile);
	}
}

int main(int argc, char **argv)
{
	struct msr_config cfg;
	struct msr_err err = {{0}};
	const char *node = NULL;
	int opt, rc;

	static const struct option longopts[] = {
	    {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};

	while ((opt = getopt_long(argc, argv, "hn:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			node = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	/* FILE becomes config=FILE: exactly what plugstack.conf says. */
	rc = msr_config_load_file(&cfg, argv[optind], argc - optind - 1,
				  argv + optind + 1, &err);
	if (rc < 0) {
		fprintf(stderr, "msr-safe-config: %s\n", err.msg);
		return 1;
	}
	if (node && msr_config_expand_node(&cfg, node, &err) < 0) {
		fprintf(stderr, "msr-safe-config: %s\n", err.msg);
		msr_config_free(&cfg);
		return 1;
	}
	rc = node ? check_paths(&cfg) : 0;
	if (msr_config_state_dir_check(&cfg, &err) < 0) {
		fprintf(stderr, "msr-safe-config: %s\n", err.msg);
		rc = 1;
	}
	if (rc == 0)
		summary(&cfg);
	msr_config_free(&cfg);
	return rc;
}
