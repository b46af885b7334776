// SPDX-License-Identifier: GPL-2.0-only
/*
 * Is a job still on this node?  Judged from processes a user cannot
 * fake: root's slurmstepd, and the slurmd that ran the job's prolog
 * (which slurmctld then confirms: msr_job.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "msr_log.h"
#include "msr_live.h"
#include "msr_record.h"

/*
 * Is @pid a real slurmstepd: owned by root and running an executable
 * named slurmstepd?  A process title is free for any user to choose
 * (exec -a), so the title alone would let anybody keep a finished job's
 * profile and snapshot alive.
 */
static bool is_slurmstepd(const char *pid)
{
	char path[300], exe[MSR_CONFIG_PATH_MAX];
	const char *base;
	struct stat sb;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%s", pid);
	if (stat(path, &sb) < 0 || sb.st_uid != 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%s/exe", pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = '\0';
	base = strrchr(exe, '/');
	base = base ? base + 1 : exe;
	/*
	 * Debian installs it as slurmstepd-wlm (slurmstepd is a link to it);
	 * " (deleted)" follows when a package upgrade replaced the file.
	 */
	if (n > 10 && strcmp(exe + n - 10, " (deleted)") == 0)
		exe[n - 10] = '\0';
	return strcmp(base, "slurmstepd") == 0 ||
	       strcmp(base, "slurmstepd-wlm") == 0;
}

/* Up to @cap - 1 bytes of /proc/@pid/@name, terminated; its length or -1. */
static ssize_t read_proc(const char *pid, const char *name, char *buf,
			 size_t cap)
{
	char path[300];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%s/%s", pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, cap - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return n;
}

/*
 * Is a job still present on this node?  Every job step, and with
 * PrologFlags=Contain the job's whole allocation, has a slurmstepd whose
 * process title is "slurmstepd: [JOBID.STEP]"; only root's slurmstepd
 * processes count (is_slurmstepd).
 */
static bool job_is_live(const char *job_id)
{
	char want[64];
	size_t wlen;
	DIR *d = opendir("/proc");
	struct dirent *de;
	bool live = false;

	if (!d)
		return true; /* cannot tell: do not restore under a job */
	wlen = (size_t)snprintf(want, sizeof(want), "slurmstepd: [%s.", job_id);
	while (!live && (de = readdir(d))) {
		char buf[128];
		ssize_t n;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		n = read_proc(de->d_name, "cmdline", buf, sizeof(buf));
		if (n >= (ssize_t)wlen && strncmp(buf, want, wlen) == 0 &&
		    is_slurmstepd(de->d_name))
			live = true;
	}
	closedir(d);
	return live;
}

/*
 * "PID:STARTTIME" of the slurmd running this prolog/epilog (the nearest
 * ancestor named slurmd), or "" when there is none.  While that same
 * slurmd runs, it will run the epilog of every job it started, so such a
 * job counts as live even in the moment between its prolog and the start
 * of its first slurmstepd.
 */
void slurmd_instance(char *buf, size_t cap)
{
	pid_t pid = getppid();

	buf[0] = '\0';
	for (int depth = 0; depth < 8 && pid > 1; depth++) {
		char id[16], stat[1024], *comm_end;
		unsigned long long start = 0;
		int ppid = 0;

		snprintf(id, sizeof(id), "%d", (int)pid);
		if (read_proc(id, "stat", stat, sizeof(stat)) < 0)
			return;
		comm_end = strrchr(stat, ')');
		if (!comm_end ||
		    sscanf(comm_end + 2,
			   "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u "
			   "%*d %*d %*d %*d %*d %*d %llu",
			   &ppid, &start) != 2)
			return;
		if (strstr(stat, " (slurmd)") == strchr(stat, ' ')) {
			snprintf(buf, cap, "%d:%llu", (int)pid, start);
			return;
		}
		pid = ppid;
	}
}

/*
 * How sure this node is that a job still uses the snapshot: recorded, not
 * released, and a slurmstepd of it runs (JOB_STEPD), or only the slurmd
 * that ran its prolog still runs (JOB_SLURMD_ONLY: that slurmd runs every
 * epilog of its jobs, but if one was killed or never came, only slurmctld
 * can tell), or nothing of it is left here (JOB_UNSEEN).  A released
 * record is JOB_ENDED: its epilog ran, whatever slurmctld still shows.
 * A record that cannot be read is judged by the job's processes alone: a
 * corrupt record must neither let another epilog restore underneath a
 * running job nor keep a finished one alive for ever.
 */
enum job_liveness record_liveness(const struct msr_config *cfg,
				  const char *job_id)
{
	char self[64];
	struct job_record rec;
	struct msr_err err = {{0}};
	int rc = record_load(cfg, job_id, &rec, &err);

	if (rc == -ENOENT)
		return JOB_ENDED;
	if (rc < 0) {
		LOG_ERR("%s", err.msg);
		return job_is_live(job_id) ? JOB_STEPD : JOB_UNSEEN;
	}
	if (strcmp(rec.status, "released") == 0)
		return JOB_ENDED;
	if (job_is_live(job_id))
		return JOB_STEPD;
	slurmd_instance(self, sizeof(self));
	return self[0] && strcmp(self, rec.slurmd) == 0 ? JOB_SLURMD_ONLY
							: JOB_UNSEEN;
}

bool record_is_live(const struct msr_config *cfg, const char *job_id)
{
	return record_liveness(cfg, job_id) >= JOB_SLURMD_ONLY;
}
