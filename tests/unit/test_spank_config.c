// SPDX-License-Identifier: GPL-2.0-only
/*
 * The SPANK plugin's site-configuration parser (spank/msr_config.c),
 * compiled into this program: good files give the expected values, every
 * kind of bad file fails with a message naming the file and line.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msr_config.h"

static const char good_text[] =
    "# site config\n"
    "DeviceDir=/dev/cpu\n"
    "StateDir=/var/lib/msr-safe   # trailing comment\n"
    "Baseline=auto AllowlistDir=/usr/share/msr-safe/allowlists\n"
    "keep_archives=7\n"
    "\n"
    "Profile=perf Overlays=/etc/msr-safe/perf,/etc/msr-safe/perf2 "
    "Description=\"performance # not a comment\"\n"
    "Profile=power Overlay=/etc/msr-safe/power Description=capping\r\n"
    "Partition=debug Profiles=default,perf Default=default\n"
    "Partition=DEFAULT Profiles=default,perf,power Default=perf\n";

static int parse(const char *text, struct msr_config *cfg, struct msr_err *err)
{
	int rc = msr_config_init(cfg, err);

	if (rc < 0)
		return rc;
	rc = msr_config_parse(cfg, text, strlen(text), "site.conf", err);
	if (rc == 0)
		rc = msr_config_validate(cfg, err);
	return rc;
}

START_TEST(good_file_values)
{
	struct msr_config cfg;
	struct msr_err err = {{0}};
	const struct msr_profile *p;

	ck_assert_int_eq(parse(good_text, &cfg, &err), 0);
	ck_assert_str_eq(cfg.device_dir, "/dev/cpu");
	ck_assert_str_eq(cfg.state_dir, "/var/lib/msr-safe");
	ck_assert_str_eq(cfg.baseline, "auto");
	ck_assert_str_eq(cfg.allowlist_dir, "/usr/share/msr-safe/allowlists");
	ck_assert_uint_eq(cfg.keep_archives, 7);
	ck_assert_uint_eq(cfg.nprofiles, 3);
	p = msr_config_profile(&cfg, "perf");
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->noverlays, 2);
	ck_assert_str_eq(p->overlays[1], "/etc/msr-safe/perf2");
	ck_assert_str_eq(p->description, "performance # not a comment");
	ck_assert_uint_eq(p->line, 7);
	p = msr_config_profile(&cfg, "power");
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p->description, "capping");
	ck_assert_ptr_nonnull(msr_config_profile(&cfg, "default"));
	ck_assert_ptr_null(msr_config_profile(&cfg, "nosuch"));
	msr_config_free(&cfg);
}
END_TEST

START_TEST(partition_rules)
{
	struct msr_config cfg;
	struct msr_err err = {{0}};
	char why[512], list[256];

	ck_assert_int_eq(parse(good_text, &cfg, &err), 0);
	ck_assert_int_eq(
	    msr_config_check(&cfg, "debug", "perf", why, sizeof(why)), 0);
	ck_assert_int_eq(
	    msr_config_check(&cfg, "debug", "power", why, sizeof(why)), -EPERM);
	ck_assert_str_eq(why, "profile 'power' is not permitted in partition "
			      "'debug'; permitted: default, perf");
	ck_assert_int_eq(
	    msr_config_check(&cfg, "debug", "nosuch", why, sizeof(why)),
	    -ENOENT);
	ck_assert_int_eq(
	    msr_config_check(&cfg, "debug", "../x", why, sizeof(why)), -EINVAL);
	/* Unlisted partitions get the DEFAULT rule. */
	ck_assert_int_eq(msr_config_check(&cfg, "gpu", "power", NULL, 0), 0);
	ck_assert_str_eq(msr_config_partition_default(&cfg, "gpu"), "perf");
	ck_assert_str_eq(msr_config_partition_default(&cfg, "debug"),
			 "default");
	msr_config_permitted_list(&cfg, "gpu", list, sizeof(list));
	ck_assert_str_eq(list, "default, perf, power");
	msr_config_free(&cfg);
}
END_TEST

START_TEST(no_rules_means_default_only)
{
	struct msr_config cfg;
	struct msr_err err = {{0}};

	ck_assert_int_eq(parse("Baseline=/b\nProfile=perf Overlays=/p "
			       "Description=x\n",
			       &cfg, &err),
			 0);
	ck_assert_str_eq(msr_config_partition_default(&cfg, "any"), "default");
	ck_assert_int_eq(msr_config_check(&cfg, "any", "default", NULL, 0), 0);
	ck_assert_int_eq(msr_config_check(&cfg, "any", "perf", NULL, 0),
			 -EPERM);
	msr_config_free(&cfg);
}
END_TEST

/* Each bad file: the errno and the exact start of the message. */
static const struct bad_case {
	const char *text;
	int rc;
	const char *msg;
} bad_cases[] = {
    {"Baseline=/b\nFrobnicate=1\n", -ENOENT,
     "site.conf:2: unknown key Frobnicate"},
    {"Baseline=/b\nKeepArchives=lots\n", -EINVAL,
     "site.conf:2: KeepArchives: 'lots' is not a number"},
    {"Baseline=/b\nKeepArchives=-1\n", -EINVAL, "site.conf:2: KeepArchives"},
    {"Baseline=/b\nKeepArchives=1000001\n", -EINVAL,
     "site.conf:2: KeepArchives"},
    {"Baseline=relative/path\n", -EINVAL,
     "site.conf:1: Baseline: must be an absolute path"},
    {"Baseline=/b\nStateDir=/x\nStateDir=/y\n", -EEXIST,
     "site.conf:3: key given twice: StateDir"},
    {"Baseline=/b\nStateDir\n", -EINVAL, "site.conf:2: expected Key=Value"},
    {"Baseline=/b\nStateDir=\n", -EINVAL, "site.conf:2: empty value"},
    {"Baseline=/b\nProfile=p Description=\"open\n", -EINVAL,
     "site.conf:2: unterminated quoted value"},
    {"Baseline=/b\nProfile=p Overlays=/a\n", -EINVAL,
     "site.conf:2: profile has no Description: p"},
    {"Baseline=/b\nProfile=p Overlays=rel Description=x\n", -EINVAL,
     "site.conf:2: not an absolute path: rel"},
    {"Baseline=/b\nProfile=p Description=x Color=red\n", -ENOENT,
     "site.conf:2: unknown key in a Profile line: Color"},
    {"Baseline=/b\nProfile=p Description=x\nProfile=p Description=y\n", -EEXIST,
     "site.conf:3: profile defined twice: p"},
    {"Baseline=/b\nProfile=help Description=x\n", -EINVAL,
     "site.conf:2: 'help' is reserved"},
    {"Baseline=/b\nProfile=../p Description=x\n", -EINVAL,
     "site.conf:2: bad profile name: ../p"},
    {"Baseline=/b\nProfile=p Overlays=/a,/a Description=x\n", -EINVAL,
     "site.conf:2: listed twice: /a"},
    {"Baseline=/b\nPartition=q Profiles=default\n", -EINVAL,
     "site.conf:2: a Partition line needs Profiles= and Default="},
    {"Baseline=/b\nPartition=q Profiles=default,nosuch Default=default\n",
     -ENOENT, "site.conf:2: partition 'q' permits undefined profile 'nosuch'"},
    {"Baseline=/b\nPartition=q Profiles=default Default=perf\n"
     "Profile=perf Description=x\n",
     -EINVAL,
     "site.conf:2: partition 'q': Default=perf is not in its Profiles="},
    {"Baseline=/b\nPartition=q Profiles=default Default=default\n"
     "Partition=q Profiles=default Default=default\n",
     -EEXIST, "site.conf:3: partition listed twice: q"},
    {"Baseline=/b StateDir=/s Profile=p\n", -EINVAL,
     "site.conf:1: Profile= must start its own line"},
    {"StateDir=/s\n", -EINVAL, "site.conf: Baseline= is required"},
    {"Baseline=auto\n", -EINVAL,
     "site.conf: Baseline=auto needs AllowlistDir="},
};

START_TEST(bad_file)
{
	const struct bad_case *c = &bad_cases[_i];
	struct msr_config cfg;
	struct msr_err err = {{0}};
	int rc;

	rc = msr_config_init(&cfg, &err);
	ck_assert_int_eq(rc, 0);
	snprintf(cfg.path, sizeof(cfg.path), "site.conf");
	rc =
	    msr_config_parse(&cfg, c->text, strlen(c->text), "site.conf", &err);
	if (rc == 0)
		rc = msr_config_validate(&cfg, &err);
	ck_assert_msg(rc == c->rc, "case %d: rc %d, want %d (%s)", _i, rc,
		      c->rc, err.msg);
	ck_assert_msg(strncmp(err.msg, c->msg, strlen(c->msg)) == 0,
		      "case %d: message '%s', want '%s'", _i, err.msg, c->msg);
	msr_config_free(&cfg);
}
END_TEST

static char *write_temp(const char *text)
{
	char *path = strdup("/tmp/test_spank_config.XXXXXX");
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

START_TEST(load_with_plugstack_overrides)
{
	char *path = write_temp(good_text);
	char cfgarg[128];
	char *argv[] = {"state_dir=/tmp/state-%n", cfgarg, "KEEPARCHIVES=3",
			"device-dir=/x"};
	struct msr_config cfg;
	struct msr_err err = {{0}};

	snprintf(cfgarg, sizeof(cfgarg), "config=%s", path);
	/* device-dir is not a key (underscores, not dashes). */
	ck_assert_int_eq(msr_config_load(&cfg, 4, argv, &err), -ENOENT);
	ck_assert_msg(strstr(err.msg, "plugstack argument 'device-dir=/x'"),
		      "%s", err.msg);
	ck_assert_int_eq(msr_config_load(&cfg, 3, argv, &err), 0);
	ck_assert_str_eq(cfg.path, path);
	ck_assert_str_eq(cfg.state_dir, "/tmp/state-%n");
	ck_assert_uint_eq(cfg.keep_archives, 3);
	ck_assert_str_eq(cfg.device_dir, "/dev/cpu");
	ck_assert_int_eq(msr_config_expand_node(&cfg, "n7", &err), 0);
	ck_assert_str_eq(cfg.state_dir, "/tmp/state-n7");
	ck_assert_int_eq(msr_config_expand_node(&cfg, "../x", &err), -EINVAL);
	msr_config_free(&cfg);
	unlink(path);
	free(path);
}
END_TEST

START_TEST(load_missing_file)
{
	char *argv[] = {"config=/nonexistent/msr-safe.conf"};
	struct msr_config cfg;
	struct msr_err err = {{0}};

	ck_assert_int_lt(msr_config_load(&cfg, 1, argv, &err), 0);
	ck_assert_msg(strstr(err.msg, "/nonexistent/msr-safe.conf"), "%s",
		      err.msg);
}
END_TEST

/*
 * A typo must not hide where the state is: the epilog salvages every good
 * line (and the plugstack overrides) and reports the first bad one.
 */
START_TEST(salvage_keeps_good_lines)
{
	char *path = write_temp("Baseline=/b\n"
				"Frobnicate=yes\n"
				"StateDir=/var/lib/site-state LockTimeout=7\n"
				"KeepArchives=lots\n");
	char cfgarg[128];
	char *argv[] = {cfgarg, "device_dir=/dev/x"};
	struct msr_config cfg;
	struct msr_err err = {{0}};

	snprintf(cfgarg, sizeof(cfgarg), "config=%s", path);
	ck_assert_int_eq(msr_config_salvage(&cfg, 2, argv, &err), -ENOENT);
	ck_assert_msg(strstr(err.msg, ":2: unknown key Frobnicate"), "%s",
		      err.msg);
	ck_assert_str_eq(cfg.state_dir, "/var/lib/site-state");
	ck_assert_uint_eq(cfg.lock_timeout, 7);
	ck_assert_uint_eq(cfg.keep_archives, 100); /* the default */
	ck_assert_str_eq(cfg.device_dir, "/dev/x");
	msr_config_free(&cfg);
	/* Fixed file: salvage is a plain load. */
	{
		FILE *f = fopen(path, "w");

		ck_assert_ptr_nonnull(f);
		fputs("Baseline=/b\n", f);
		fclose(f);
	}
	ck_assert_int_eq(msr_config_salvage(&cfg, 2, argv, &err), 0);
	msr_config_free(&cfg);
	unlink(path);
	free(path);
}
END_TEST

/* A newline in --msr-profile must not forge a second log line. */
START_TEST(bad_name_escaped_in_message)
{
	struct msr_config cfg;
	struct msr_err err = {{0}};
	char why[512];

	ck_assert_int_eq(msr_config_init(&cfg, &err), 0);
	ck_assert_int_eq(msr_config_check(&cfg, "debug", "x\nslurmd: forged\\",
					  why, sizeof(why)),
			 -EINVAL);
	ck_assert_ptr_null(strchr(why, '\n'));
	ck_assert_msg(strstr(why, "'x\\x0aslurmd: forged\\x5c'"), "%s", why);
	msr_config_free(&cfg);
}
END_TEST

/* The shipped example must stay valid. */
START_TEST(shipped_example)
{
	char cfgarg[4200];
	char *argv[] = {cfgarg};
	struct msr_config cfg;
	struct msr_err err = {{0}};

	snprintf(cfgarg, sizeof(cfgarg), "config=%s", SLURM_CONF_EXAMPLE);
	ck_assert_msg(msr_config_load(&cfg, 1, argv, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(cfg.baseline, "auto");
	ck_assert_ptr_nonnull(msr_config_profile(&cfg, "tuning"));
	ck_assert_uint_eq(msr_config_profile(&cfg, "tuning")->noverlays, 2);
	ck_assert_str_eq(msr_config_partition_default(&cfg, "tune"), "perf");
	msr_config_free(&cfg);
}
END_TEST

START_TEST(profile_names)
{
	ck_assert_int_eq(msr_profile_name_check("perf"), 0);
	ck_assert_int_eq(msr_profile_name_check("a-b_c9"), 0);
	/* One rule with msr-allowlist: no '.' (issue 11). */
	ck_assert_int_eq(msr_profile_name_check("a.b-c_d9"), -EINVAL);
	ck_assert_int_eq(msr_profile_name_check(""), -EINVAL);
	ck_assert_int_eq(msr_profile_name_check("-x"), -EINVAL);
	ck_assert_int_eq(msr_profile_name_check("a/b"), -EINVAL);
	ck_assert_int_eq(msr_profile_name_check("a b"), -EINVAL);
	ck_assert_int_eq(
	    msr_profile_name_check("a123456789012345678901234567890123456789"
				   "0123456789012345678901234"),
	    -EINVAL);
}
END_TEST

/*
 * Issue 11 item 7: a StateDir that nodes share (NFS on diskless nodes) is
 * refused unless its path names the node; a local one is fine.
 */
START_TEST(network_state_dir_refused)
{
	struct msr_config cfg;
	struct msr_err err = {{0}};

	ck_assert_str_eq(msr_network_fs_name(0x6969), "nfs");
	ck_assert_str_eq(msr_network_fs_name(0xFF534D42), "cifs");
	ck_assert_str_eq(msr_network_fs_name(0x0BD00BD0), "lustre");
	ck_assert_str_eq(msr_network_fs_name(0x47504653), "gpfs");
	ck_assert_str_eq(msr_network_fs_name(0x19830326), "beegfs");
	ck_assert_str_eq(msr_network_fs_name(0x01021997), "9p");
	ck_assert_ptr_null(msr_network_fs_name(0x01021994)); /* tmpfs */
	ck_assert_ptr_null(msr_network_fs_name(0xEF53));     /* ext4 */
	ck_assert_ptr_null(msr_network_fs_name(0x58465342)); /* xfs */

	ck_assert_int_eq(
	    msr_config_state_dir_fs("/nfs/msr", 0x6969, false, &err), -EREMOTE);
	ck_assert_msg(strstr(err.msg, "/nfs/msr") && strstr(err.msg, "(nfs)") &&
			  strstr(err.msg, "%n"),
		      "%s", err.msg);
	ck_assert_int_eq(msr_config_state_dir_fs("/nfs/n1", 0x6969, true, &err),
			 0);
	ck_assert_int_eq(msr_config_state_dir_fs("/var/x", 0xEF53, false, &err),
			 0);

	ck_assert(msr_network_fstype("nfs4"));
	ck_assert(msr_network_fstype("9p"));
	ck_assert(msr_network_fstype("fuse.sshfs"));
	ck_assert(msr_network_fstype("fuse.glusterfs"));
	ck_assert(msr_network_fstype("lustre"));
	ck_assert(!msr_network_fstype("ext4"));
	ck_assert(!msr_network_fstype("tmpfs"));
	ck_assert(!msr_network_fstype("fuse.bindfs"));
	ck_assert(!msr_network_fstype("nfsd"));

	ck_assert(msr_config_path_per_node("/nfs/%n/msr"));
	ck_assert(!msr_config_path_per_node("/nfs/%%n/msr"));
	ck_assert(msr_config_path_per_node("/nfs/%%%n"));
	ck_assert(!msr_config_path_per_node("/var/lib/msr-safe"));

	/* Per node survives expansion; a test's /tmp is local. */
	ck_assert_int_eq(msr_config_init(&cfg, &err), 0);
	snprintf(cfg.state_dir, sizeof(cfg.state_dir), "/tmp/none/%%n/x");
	ck_assert_int_eq(msr_config_expand_node(&cfg, "n3", &err), 0);
	ck_assert_str_eq(cfg.state_dir, "/tmp/none/n3/x");
	ck_assert(cfg.state_dir_per_node);
	cfg.state_dir_per_node = false;
	ck_assert_msg(msr_config_state_dir_check(&cfg, &err) == 0, "%s",
		      err.msg);
	msr_config_free(&cfg);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("spank_config");
	TCase *tc = tcase_create("parser");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, good_file_values);
	tcase_add_test(tc, partition_rules);
	tcase_add_test(tc, no_rules_means_default_only);
	tcase_add_loop_test(tc, bad_file, 0,
			    (int)(sizeof(bad_cases) / sizeof(*bad_cases)));
	tcase_add_test(tc, load_with_plugstack_overrides);
	tcase_add_test(tc, load_missing_file);
	tcase_add_test(tc, salvage_keeps_good_lines);
	tcase_add_test(tc, bad_name_escaped_in_message);
	tcase_add_test(tc, shipped_example);
	tcase_add_test(tc, profile_names);
	tcase_add_test(tc, network_state_dir_refused);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
