// SPDX-License-Identifier: GPL-2.0-only
/*
 * msr-safe SPANK plugin: per-job MSR allowlist profiles with snapshot and
 * restore around every job.
 *
 * plugstack.conf:  required msr_safe.so config=/etc/slurm/msr-safe.conf
 *
 * srun/sbatch/salloc: --msr-profile=NAME is checked as it is parsed, so a
 *   bad name is refused before any job exists; --msr-profile=help lists.
 * job prolog (root): install baseline + profile overlays, snapshot every
 *   writable MSR, write the state file (msr_job.c).
 * step (slurmstepd): a job whose profile the prolog refused fails in
 *   slurm_spank_task_init without draining the node.
 * job epilog (root): restore, verify, reinstall the baseline, archive.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <slurm/slurm.h>
#include <slurm/spank.h>

#include "msr_config.h"
#include "msr_job.h"
#include "msr_log.h"

SPANK_PLUGIN(msr_safe, 1);

/*
 * The parsed configuration, and for a step the prolog's verdict.  Set in
 * slurm_spank_init of the process that uses it; nothing else is global.
 */
static struct {
	bool loaded;
	bool slurm_api_ready; /* slurm_init() done in this process */
	struct msr_config cfg;
	bool refused;
	char why[512];
} plugin;

static int option_cb(int val, const char *optarg, int remote);
static int submit_check(const char *profile);

/*
 * Registered from slurm_spank_init, not exported as a spank_options
 * table: a table entry is cached in every context, and in the job
 * prolog/epilog (where slurm_spank_init never runs) Slurm 22.05 then
 * answers spank_option_getopt from that empty cache instead of reading
 * the job's option environment.
 */
static struct spank_option profile_option = {
    "msr-profile",
    "NAME",
    "msr-safe MSR access profile for this job "
    "(--msr-profile=help lists the profiles)",
    1,
    0,
    option_cb};

/*
 * PrologFlags=RunInJob (Slurm 23.11+) runs the job prolog and epilog in
 * slurmstepd, and Slurm then calls no SPANK job_prolog/job_epilog at all:
 * this plugin can neither set a job up nor restore after it.  spank.h has
 * no item for PrologFlags, so read slurmd's and slurmstepd's own parsed
 * slurm.conf (configless and Include= alike): slurm_conf, exported by the
 * libslurmfull both link, laid out as in the slurm.h this plugin is built
 * against (one build per Slurm release).  Weak, so a process without it
 * loads the plugin and reads "not set".
 */
#define RUN_IN_JOB_WHY                                                        \
	"PrologFlags=RunInJob disables Slurm's SPANK job prolog and epilog, " \
	"so msr-safe cannot set up or restore jobs; remove RunInJob from "    \
	"PrologFlags in slurm.conf"

extern slurm_conf_t slurm_conf __attribute__((weak));

#ifdef PROLOG_FLAG_RUN_IN_JOB
static bool prolog_runs_in_job(void)
{
	return &slurm_conf &&
	       (slurm_conf.prolog_flags & PROLOG_FLAG_RUN_IN_JOB);
}
#else
static bool prolog_runs_in_job(void)
{
	return false; /* Slurm before 23.11 has no RunInJob */
}
#endif

/*
 * PrologFlags=Contain (which implies Alloc) is missing, read from the
 * same slurm_conf.  A process that has not parsed slurm.conf reads 0 for
 * every flag: Alloc unset is "unknown", never a warning.
 */
static bool no_extern_step(void)
{
	return &slurm_conf && (slurm_conf.prolog_flags & PROLOG_FLAG_ALLOC) &&
	       !(slurm_conf.prolog_flags & PROLOG_FLAG_CONTAIN);
}

#define NO_CONTAIN_WHY                                                         \
	"PrologFlags=Contain is not set in slurm.conf: a job has no extern "   \
	"step between its steps, and its liveness rests on slurmd alone; add " \
	"Contain to PrologFlags"

/*
 * libslurm's client API in the job prolog/epilog: 24.11's slurmstepd
 * there has loaded no hash plugin, and an RPC without it is fatal ("Was
 * slurm_init() called"), so initialise once per process first.
 */
static void slurm_api_init(void)
{
	if (plugin.slurm_api_ready)
		return;
	slurm_init(NULL);
	plugin.slurm_api_ready = true;
}

/* slurm_load_job() of one job id, in this Slurm release's signature. */
static int load_job(job_info_msg_t **msg, uint32_t job_id)
{
#ifdef HAVE_SLURM_LOAD_JOB_STEP_ID
	slurm_step_id_t id = SLURM_STEP_ID_INITIALIZER;

	id.job_id = job_id;
	return slurm_load_job(msg, id, SHOW_ALL);
#else
	return slurm_load_job(msg, job_id, SHOW_ALL);
#endif
}

/*
 * slurmctld's view of job @job_id (msr_job_ctx.job_running): 1 running
 * or suspended (or still completing), 0 finished or unknown to it,
 * negative when slurmctld cannot be asked.  libslurm's RPC, resolved in
 * the slurmstepd that runs the job prolog/epilog.
 */
static int ctld_job_running(const char *job_id)
{
	job_info_msg_t *msg = NULL;
	uint64_t id;
	int running = 0;

	if (msr_parse_u64(job_id, UINT32_MAX, &id) < 0)
		return -EINVAL;
	slurm_api_init();
	if (load_job(&msg, (uint32_t)id) != 0) {
		/* libslurm sets errno (24.11 has no slurm_get_errno) */
		int e = errno;

		if (e == ESLURM_INVALID_JOB_ID)
			return 0; /* purged: long gone */
		LOG_ERR("cannot ask slurmctld about job %s: %s", job_id,
			slurm_strerror(e));
		return -EIO;
	}
	for (uint32_t i = 0; i < msg->record_count; i++) {
		uint32_t st = msg->job_array[i].job_state;

		if (msg->job_array[i].job_id != (uint32_t)id)
			continue;
		if ((st & JOB_STATE_BASE) == JOB_RUNNING ||
		    (st & JOB_STATE_BASE) == JOB_SUSPENDED ||
		    (st & JOB_COMPLETING))
			running = 1;
	}
	slurm_free_job_info_msg(msg);
	return running;
}

/* Milliseconds since @t0 (CLOCK_MONOTONIC), for the debug log. */
static double ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 +
	       (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static int load_config(int ac, char **av)
{
	struct msr_err err = {{0}};
	int rc;

	if (plugin.loaded)
		return 0;
	rc = msr_config_load(&plugin.cfg, ac, av, &err);
	if (rc < 0) {
		LOG_ERR("%s", err.msg);
		return rc;
	}
	plugin.loaded = true;
	return 0;
}

static void print_help(const struct msr_config *cfg)
{
	printf("msr-safe profiles (--msr-profile=NAME), from %s:\n", cfg->path);
	for (size_t i = 0; i < cfg->nprofiles; i++) {
		const struct msr_profile *p = &cfg->profiles[i];
		char parts[1024] = "";
		size_t used = 0;

		for (size_t k = 0; k < cfg->npartitions; k++) {
			const struct msr_partition_rule *r =
			    &cfg->partitions[k];

			for (size_t j = 0; j < r->nprofiles; j++) {
				if (strcmp(r->profiles[j], p->name) != 0 ||
				    used >= sizeof(parts))
					continue;
				used += (size_t)snprintf(
				    parts + used, sizeof(parts) - used,
				    "%s%s%s", used ? ", " : "",
				    strcmp(r->name, "DEFAULT") == 0
					? "any other partition"
					: r->name,
				    strcmp(r->default_profile, p->name) == 0
					? " (default)"
					: "");
			}
		}
		if (!cfg->npartitions && i == 0)
			snprintf(parts, sizeof(parts),
				 "every partition (default)");
		printf("  %-16s %s\n  %-16s permitted in: %s\n", p->name,
		       p->description, "", parts[0] ? parts : "no partition");
	}
	printf("A profile with overlays is live only while its job is alone "
	       "on the node:\nsubmit with --exclusive (on a shared node such "
	       "a request is refused).\nThe profile is chosen at "
	       "allocation (sbatch, salloc, srun outside a job);\n"
	       "--msr-profile on an srun inside a job has no effect.\n");
	fflush(stdout);
}

/*
 * An srun inside an allocation starts a step of a job whose prolog has
 * already chosen its profile: say that its own --msr-profile changes
 * nothing (unless it is just the job's option, inherited).
 */
static void step_in_job_notice(const char *optarg)
{
	const char *job = getenv("SLURM_JOB_ID");
	const char *inherited =
	    getenv("SLURM_SPANK__SLURM_SPANK_OPTION_msr_safe_msr_profile");

	if (spank_context() != S_CTX_LOCAL || !job || !*job ||
	    (inherited && strcmp(inherited, optarg) == 0))
		return;
	slurm_info("msr-safe: --msr-profile=%s has no effect on a step of "
		   "job %s: a job's profile is chosen when it is allocated "
		   "(sbatch/salloc --msr-profile)",
		   optarg, job);
}

/* srun/sbatch/salloc: refuse bad names before the job exists. */
static int option_cb(int val, const char *optarg, int remote)
{
	char why[512];
	int rc;

	(void)val;
	if (remote)
		return 0; /* re-validated as root by the prolog */
	if (!plugin.loaded) {
		LOG_ERR("configuration not loaded; cannot check --msr-profile");
		return -1;
	}
	if (!optarg) {
		LOG_ERR("--msr-profile needs a profile name");
		return -1;
	}
	if (strcmp(optarg, "help") == 0) {
		print_help(&plugin.cfg);
		exit(0);
	}
	/*
	 * Only the name here: the partition rules need the partition, which
	 * the prolog knows (and it checks the name again, as root).
	 */
	rc = msr_config_check(&plugin.cfg, NULL, optarg, why, sizeof(why));
	if (rc == -EINVAL || rc == -ENOENT) {
		LOG_ERR("%s", why);
		return -1;
	}
	step_in_job_notice(optarg);
	return submit_check(optarg);
}

/* The user's --msr-profile value, however it was given. */
static int job_profile(spank_t sp, struct msr_job_ctx *job)
{
	char *value = NULL;
	spank_err_t e = spank_option_getopt(sp, &profile_option, &value);

	if (e != ESPANK_SUCCESS || !value)
		return 0;
	if (strlen(value) >= sizeof(job->requested)) {
		/* Kept short for the record; a long name is refused anyway. */
		snprintf(job->requested, sizeof(job->requested), "%.*s...",
			 (int)sizeof(job->requested) - 4, value);
	} else {
		snprintf(job->requested, sizeof(job->requested), "%s", value);
	}
	job->has_request = true;
	return 0;
}

/*
 * This node's name as Slurm knows it, @cfg's %n patterns expanded with
 * it.  0, or a negative errno after the message.
 */
static int node_name(char *buf, size_t cap)
{
	const char *env = getenv("SLURMD_NODENAME");
	struct msr_err err = {{0}};

	if (env && *env)
		snprintf(buf, cap, "%s", env);
	else if (gethostname(buf, cap) < 0)
		snprintf(buf, cap, "unknown");
	if (msr_config_expand_node(&plugin.cfg, buf, &err) < 0) {
		LOG_ERR("%s", err.msg);
		return -EINVAL;
	}
	return 0;
}

/* @value when it is a number that fits, else "" (it is only recorded). */
static void copy_digits(char *dst, size_t cap, const char *value)
{
	dst[0] = '\0';
	if (value && *value && strlen(value) < cap &&
	    strspn(value, "0123456789") == strlen(value))
		snprintf(dst, cap, "%s", value);
}

static int job_context(spank_t sp, struct msr_job_ctx *job)
{
	const char *id = getenv("SLURM_JOB_ID");
	const char *uid = getenv("SLURM_JOB_UID");
	const char *user = getenv("SLURM_JOB_USER");
	const char *part = getenv("SLURM_JOB_PARTITION");
	uint64_t v;

	memset(job, 0, sizeof(*job));
	job->cfg = &plugin.cfg;
	if (!id || strlen(id) >= sizeof(job->job_id) || !msr_job_id_valid(id)) {
		LOG_ERR("SLURM_JOB_ID is missing or malformed");
		return -EINVAL;
	}
	snprintf(job->job_id, sizeof(job->job_id), "%s", id);
	if (!uid || msr_parse_u64(uid, UINT32_MAX, &v) < 0) {
		LOG_ERR("SLURM_JOB_UID is missing or malformed");
		return -EINVAL;
	}
	job->uid = (uint32_t)v;
	copy_digits(job->array_job_id, sizeof(job->array_job_id),
		    getenv("SLURM_ARRAY_JOB_ID"));
	copy_digits(job->array_task_id, sizeof(job->array_task_id),
		    getenv("SLURM_ARRAY_TASK_ID"));
	copy_digits(job->het_job_id, sizeof(job->het_job_id),
		    getenv("SLURM_HET_JOB_ID"));
	snprintf(job->user, sizeof(job->user), "%s", user ? user : "");
	snprintf(job->partition, sizeof(job->partition), "%s",
		 part ? part : "");
	if (node_name(job->node, sizeof(job->node)) < 0)
		return -EINVAL;
	return job_profile(sp, job);
}

/*
 * The partition(s) the client was told on its command line (-p P,
 * --partition=P, -pP; the first one), else from the input
 * variable that sets it, else "".  Script directives (#SBATCH -p) rank
 * below both, so a partition found here is the job's.
 */
static void submit_partition(char *buf, size_t cap)
{
	static const char *const vars[] = {
	    "SLURM_PARTITION", "SBATCH_PARTITION", "SALLOC_PARTITION"};
	char args[16384];
	size_t len = 0;
	ssize_t n;
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);

	buf[0] = '\0';
	if (fd >= 0) {
		while (len < sizeof(args) - 1 &&
		       (n = read(fd, args + len, sizeof(args) - 1 - len)) > 0)
			len += (size_t)n;
		close(fd);
	}
	args[len] = '\0';
	/* The first one: an option after the job's command is the command's. */
	for (size_t i = 0; i < len && !buf[0]; i += strlen(args + i) + 1) {
		const char *a = args + i, *next = a + strlen(a) + 1;

		if ((strcmp(a, "-p") == 0 || strcmp(a, "--partition") == 0) &&
		    next < args + len)
			snprintf(buf, cap, "%s", next);
		else if (strncmp(a, "--partition=", 12) == 0)
			snprintf(buf, cap, "%s", a + 12);
		else if (strncmp(a, "-p", 2) == 0 && a[2] && a[1] != '-')
			snprintf(buf, cap, "%s", a + 2);
	}
	for (size_t k = 0; !buf[0] && k < sizeof(vars) / sizeof(*vars); k++) {
		const char *v = getenv(vars[k]);

		if (v && *v)
			snprintf(buf, cap, "%s", v);
	}
}

/*
 * slurmd start: say in slurmd's log what will make every prolog on this
 * node fail, while the admin is looking.  slurmd itself keeps running: a
 * broken site file must stop jobs (each prolog reports it and drains),
 * not the daemon, whose epilogs still have to put running jobs' MSRs back.
 */
static int init_slurmd(int ac, char **av)
{
	struct msr_err err = {{0}};

	if (load_config(ac, av) < 0) {
		LOG_ERR("slurmd starts anyway; every job prolog on this node "
			"will fail until the file is fixed");
		return 0;
	}
	if (msr_config_state_dir_check(&plugin.cfg, &err) < 0)
		LOG_ERR("%s (every job prolog on this node will fail)",
			err.msg);
	if (no_extern_step() ||
	    (&slurm_conf && !(slurm_conf.prolog_flags & PROLOG_FLAG_ALLOC)))
		LOG_ERR(NO_CONTAIN_WHY);
	if (prolog_runs_in_job())
		LOG_ERR(RUN_IN_JOB_WHY " (every job step on this node will be "
				       "refused)");
	return 0;
}

static int register_option(spank_t sp)
{
	if (spank_option_register(sp, &profile_option) != ESPANK_SUCCESS) {
		LOG_ERR("cannot register --msr-profile");
		return -1;
	}
	return 0;
}

/* srun, sbatch, salloc: the option, checked as it is parsed. */
static int init_client(spank_t sp, int ac, char **av)
{
	int rc = load_config(ac, av);

	return rc < 0 ? rc : register_option(sp);
}

/*
 * The batch step of an array task: its array ids come from slurmctld's
 * launch message (srun steps take them from the caller's environment,
 * which a user sets at will), and no job prolog sees them; the job's
 * record keeps them for the epilog's audit line.
 */
static void note_array_ids(spank_t sp, const char *job_id)
{
	uint32_t step = 0, array_job = 0, array_task = NO_VAL;
	char aj[16], at[16];

	if (spank_get_item(sp, S_JOB_STEPID, &step) != ESPANK_SUCCESS ||
	    step != SLURM_BATCH_SCRIPT ||
	    spank_get_item(sp, S_JOB_ARRAY_ID, &array_job) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_ARRAY_TASK_ID, &array_task) !=
		ESPANK_SUCCESS ||
	    array_job == 0 || array_task == NO_VAL)
		return;
	snprintf(aj, sizeof(aj), "%u", array_job);
	snprintf(at, sizeof(at), "%u", array_task);
	msr_job_note_array(&plugin.cfg, job_id, aj, at);
}

/*
 * slurmstepd, still root: read the prolog's verdict for this job, which
 * slurm_spank_task_init enforces.
 */
static int init_step(spank_t sp, int ac, char **av)
{
	uint32_t job_id = 0;
	char id[32], node[256];
	int rc = load_config(ac, av);

	if (rc < 0 || (rc = register_option(sp)) < 0)
		return rc;
	if (spank_get_item(sp, S_JOB_ID, &job_id) != ESPANK_SUCCESS) {
		LOG_ERR("cannot get the job id");
		return -1;
	}
	snprintf(id, sizeof(id), "%u", job_id);
	if (node_name(node, sizeof(node)) < 0)
		return -1;
	plugin.refused = msr_job_refusal(&plugin.cfg, id, node, plugin.why,
					 sizeof(plugin.why)) != 0;
	if (plugin.refused && prolog_runs_in_job())
		snprintf(plugin.why, sizeof(plugin.why),
			 RUN_IN_JOB_WHY " (job %s, node %s)", id, node);
	note_array_ids(sp, id);
	return 0;
}

int slurm_spank_init(spank_t sp, int ac, char **av)
{
	switch (spank_context()) {
	case S_CTX_SLURMD:
		return init_slurmd(ac, av);
	case S_CTX_LOCAL:
	case S_CTX_ALLOCATOR:
		return init_client(sp, ac, av);
	case S_CTX_REMOTE:
		return init_step(sp, ac, av);
	default:
		return 0; /* the job prolog/epilog load theirs themselves */
	}
}

/*
 * srun/sbatch/salloc: when the partition is on the command line (or in
 * its input variable) and the site file names it, refuse a profile it
 * does not permit now, before a job exists, instead of a job that fails
 * when it runs.  A partition chosen any other way is left to the prolog,
 * which checks every job as root anyway.  0, or -1 after the message.
 */
static int submit_check(const char *profile)
{
	char parts[1024], why[512] = "", *save = NULL;
	int listed = 0, refused = 0;

	submit_partition(parts, sizeof(parts));
	for (char *p = strtok_r(parts, ",", &save); p;
	     p = strtok_r(NULL, ",", &save)) {
		const struct msr_partition_rule *r =
		    msr_config_partition(&plugin.cfg, p);

		if (!r || strcmp(r->name, p) != 0)
			continue; /* not named in the site file: prolog decides
				   */
		listed++;
		if (msr_config_check(&plugin.cfg, p, profile, why,
				     sizeof(why)) == -EPERM)
			refused++;
	}
	if (!listed || refused < listed)
		return 0;
	LOG_ERR("%s", why);
	return -1;
}

/* Fails just this step (the node stays up) when the profile was refused. */
int slurm_spank_task_init(spank_t sp, int ac, char **av)
{
	(void)sp;
	(void)ac;
	(void)av;
	if (spank_context() != S_CTX_REMOTE || !plugin.refused)
		return 0;
	LOG_ERR("%s", plugin.why);
	return -1;
}

/*
 * The epilog's configuration when the site file no longer parses: what
 * did parse (the state directory above all), so the epilog can put the
 * job's MSRs back from what its prolog recorded.  0 and @why set, or the
 * load error when not even that is possible.
 */
static int salvage_config(int ac, char **av, char *why, size_t cap)
{
	struct msr_err err = {{0}};
	int rc = msr_config_salvage(&plugin.cfg, ac, av, &err);

	snprintf(why, cap, "%s", err.msg);
	if (rc == 0) /* fixed in the meantime */
		why[0] = '\0';
	plugin.loaded = true;
	return 0;
}

/* Prolog and epilog alike: config, job context, the hook, its timing. */
static int run_job_hook(spank_t sp, int ac, char **av, const char *phase,
			int (*hook)(const struct msr_job_ctx *))
{
	struct msr_job_ctx job;
	char config_error[sizeof(((struct msr_err *)0)->msg)] = "";
	struct timespec t0;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = load_config(ac, av);
	if (rc < 0 && hook == msr_job_epilog)
		rc = salvage_config(ac, av, config_error, sizeof(config_error));
	if (rc < 0)
		return rc;
	rc = job_context(sp, &job);
	if (rc < 0)
		return rc;
	job.config_error = config_error[0] ? config_error : NULL;
	job.no_extern_step = no_extern_step();
	job.job_running = ctld_job_running;
	rc = hook(&job);
	slurm_debug("msr-safe: job %s %s took %.2f ms", job.job_id, phase,
		    ms_since(&t0));
	return rc;
}

int slurm_spank_job_prolog(spank_t sp, int ac, char **av)
{
	return run_job_hook(sp, ac, av, "prolog", msr_job_prolog);
}

int slurm_spank_job_epilog(spank_t sp, int ac, char **av)
{
	return run_job_hook(sp, ac, av, "epilog", msr_job_epilog);
}

int slurm_spank_exit(spank_t sp, int ac, char **av)
{
	(void)sp;
	(void)ac;
	(void)av;
	if (plugin.loaded)
		msr_config_free(&plugin.cfg);
	plugin.loaded = false;
	return 0;
}
