/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The msr-safe SPANK plugin's configuration: the site file
 * (/etc/slurm/msr-safe.conf, slurm.conf style) plus plugstack.conf
 * arguments, parsed strictly in one place.  No Slurm dependency, so the
 * parser is unit-tested on its own.
 */
#ifndef MSR_CONFIG_H
#define MSR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "msrsave.h"

#define MSR_CONFIG_DEFAULT_PATH	   "/etc/slurm/msr-safe.conf"
#define MSR_CONFIG_PATH_MAX	   4096
#define MSR_CONFIG_NAME_MAX	   64
#define MSR_CONFIG_DESC_MAX	   256
#define MSR_CONFIG_DEFAULT_PROFILE "default"

struct msr_profile {
	char name[MSR_CONFIG_NAME_MAX];
	char description[MSR_CONFIG_DESC_MAX];
	char **overlays; /* absolute paths: a file, or a directory holding
			    al_<FF>_<M> files for each CPU model */
	size_t noverlays;
	unsigned int line; /* 0 for the built-in default profile */
};

struct msr_partition_rule {
	char
	    name[MSR_CONFIG_NAME_MAX]; /* "DEFAULT": any partition not listed */
	char default_profile[MSR_CONFIG_NAME_MAX];
	char **profiles;
	size_t nprofiles;
	unsigned int line;
};

struct msr_config {
	char path[MSR_CONFIG_PATH_MAX];
	char device_dir[MSR_CONFIG_PATH_MAX];
	char state_dir[MSR_CONFIG_PATH_MAX];
	char baseline[MSR_CONFIG_PATH_MAX]; /* a path, or "auto" */
	char allowlist_dir[MSR_CONFIG_PATH_MAX];
	/* Test knobs: where the boot id and the CPU identity come from. */
	char boot_id_file[MSR_CONFIG_PATH_MAX];
	char cpuinfo_file[MSR_CONFIG_PATH_MAX];
	/* StateDir named %n before msr_config_expand_node(): one per node. */
	bool state_dir_per_node;
	unsigned int keep_archives;
	unsigned int lock_timeout;    /* seconds */
	struct msr_profile *profiles; /* [0] is the built-in "default" */
	size_t nprofiles;
	struct msr_partition_rule *partitions;
	size_t npartitions;
};

/* Defaults, no profiles beyond "default"; free with msr_config_free(). */
int msr_config_init(struct msr_config *cfg, struct msr_err *err);

/* Parse the site file's text; @name prefixes messages ("FILE:LINE: ..."). */
int msr_config_parse(struct msr_config *cfg, const char *text, size_t len,
		     const char *name, struct msr_err *err);

/* Apply one plugstack.conf argument KEY=VALUE over the file's settings. */
int msr_config_apply_arg(struct msr_config *cfg, const char *arg,
			 struct msr_err *err);

/* Cross-checks after everything is parsed (profiles named by partitions
 * exist, a default is permitted, Baseline=auto has AllowlistDir ...). */
int msr_config_validate(const struct msr_config *cfg, struct msr_err *err);

/*
 * The one entry point: config=PATH from @argv (default
 * MSR_CONFIG_DEFAULT_PATH), the file parsed, every other argument applied
 * as an override, then validated.
 */
int msr_config_load(struct msr_config *cfg, int argc, char **argv,
		    struct msr_err *err);

/*
 * For commands: the site file at @file (made absolute, as the plugin
 * wants it) loaded as plugstack.conf's config=FILE would be, with the
 * KEY=VALUE overrides in @extra.
 */
int msr_config_load_file(struct msr_config *cfg, const char *file, int nextra,
			 char **extra, struct msr_err *err);

/*
 * For a job epilog that must put a job's MSRs back although the site file
 * no longer parses: as msr_config_load(), but a bad line or argument is
 * skipped instead of ending the load.  Returns 0 when everything was fine,
 * else the first error (in @err); either way @cfg holds the defaults plus
 * every setting that did parse, and must be freed.  Only node-wide
 * settings (StateDir, BootIdFile, LockTimeout, KeepArchives) are used
 * from it: the rest comes from what the prolog recorded.
 */
int msr_config_salvage(struct msr_config *cfg, int argc, char **argv,
		       struct msr_err *err);

void msr_config_free(struct msr_config *cfg);

/*
 * Replace "%n" with @node (and "%%" with "%") in every path setting, as
 * slurm.conf does, so one plugstack line can give each node of a test
 * cluster its own device and state directories.
 */
int msr_config_expand_node(struct msr_config *cfg, const char *node,
			   struct msr_err *err);

/* Does @path hold a %n (not a literal "%%n"), i.e. differ per node? */
bool msr_config_path_per_node(const char *path);

/*
 * The network (or cluster) filesystem a statfs(2) f_type names ("nfs",
 * "cifs", "lustre", "gpfs", "beegfs", "9p", ...), NULL for a local one.
 */
const char *msr_network_fs_name(unsigned long f_type);
/* The same for a mount's type name ("nfs4", "9p", "fuse.sshfs", ...). */
bool msr_network_fstype(const char *fstype);

/*
 * Item 7 of issue 11: a StateDir shared by nodes lets one node's prolog
 * or epilog act on another's snapshot.  A StateDir on a network
 * filesystem is refused (-EREMOTE, with the path and the filesystem in
 * @err) unless its configured path is per node (%n).  The decision for
 * a known @f_type; msr_config_state_dir_check() asks statfs(2) and the
 * mount table about the StateDir, or its nearest existing parent before
 * the prolog creates it.
 */
int msr_config_state_dir_fs(const char *path, unsigned long f_type,
			    bool per_node, struct msr_err *err);
int msr_config_state_dir_check(const struct msr_config *cfg,
			       struct msr_err *err);

/*
 * A user-supplied value made safe for a log line or message: bytes
 * outside printable ASCII, and '\\', become "\\xHH" (a newline in
 * --msr-profile must not forge a second slurmd log line).  Cut short
 * rather than overflow @out.
 */
void msr_config_escape(const char *in, char *out, size_t cap);

/* 0 when @name is a well-formed profile name, else -EINVAL. */
int msr_profile_name_check(const char *name);

const struct msr_profile *msr_config_profile(const struct msr_config *cfg,
					     const char *name);
/* The rule for @partition, else the DEFAULT rule, else NULL. */
const struct msr_partition_rule *
msr_config_partition(const struct msr_config *cfg, const char *partition);
/* The profile a job gets in @partition without --msr-profile. */
const char *msr_config_partition_default(const struct msr_config *cfg,
					 const char *partition);

/*
 * May @profile be used in @partition?  0 yes; -EINVAL bad name; -ENOENT
 * unknown; -EPERM not permitted there.  @why (may be NULL) gets a message
 * without the "msr-safe: " prefix.
 */
int msr_config_check(const struct msr_config *cfg, const char *partition,
		     const char *profile, char *why, size_t cap);

/* Permitted profiles of @partition as "a, b, c". */
void msr_config_permitted_list(const struct msr_config *cfg,
			       const char *partition, char *buf, size_t cap);

#endif /* MSR_CONFIG_H */
