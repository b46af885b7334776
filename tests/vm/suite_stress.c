// SPDX-License-Identifier: GPL-2.0-only
/*
 * msr-safe VM suite (see suite.h): loading (majors, cycles, leaks) and stress
 * under list swaps and hotplug.
 */
#include "suite.h"

/* ---- loading: parameters, majors, cycles ------------------------------- */

/* Lines of /proc/devices whose name mentions msr. */
int proc_devices_msr(char *out, size_t cap, int *count)
{
	char *text, *line, *save = NULL;
	size_t len, o = 0;
	int rc = read_file("/proc/devices", &text, &len);

	*count = 0;
	out[0] = '\0';
	if (rc)
		return rc;
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!strstr(line, "msr"))
			continue;
		(*count)++;
		while (*line == ' ')
			line++;
		o += (size_t)snprintf(out + o, cap > o ? cap - o : 0, "%s;",
				      line);
	}
	free(text);
	return 0;
}

bool major_free(int major)
{
	char *text;
	size_t len;
	bool free_major = true;
	char *p;

	if (read_file("/proc/devices", &text, &len))
		return false;
	/* Only the character device section matters. */
	p = strstr(text, "Block devices:");
	if (p)
		*p = '\0';
	for (p = strtok(text, "\n"); p; p = strtok(NULL, "\n"))
		if (atoi(p) == major)
			free_major = false;
	free(text);
	return free_major;
}

int node_major(const char *path)
{
	struct stat st;

	if (stat(path, &st))
		return -errno;
	return (int)major(st.st_rdev);
}

void t_majors(struct suite *s)
{
	static const int candidates[] = {60,  61,  62,	63,  120, 121,
					 122, 123, 124, 125, 126, 127};
	int majors[4], nm = 0, count, rc;
	char params[256], list[512], path[64];

	for (size_t i = 0;
	     i < sizeof(candidates) / sizeof(*candidates) && nm < 4; i++)
		if (major_free(candidates[i]))
			majors[nm++] = candidates[i];
	if (!check_long(s, 4, nm, "majors: four free local majors"))
		return;
	snprintf(params, sizeof(params),
		 "mdev_msr_safe=%d mdev_msr_allowlist=%d mdev_msr_batch=%d "
		 "mdev_msr_version=%d",
		 majors[0], majors[1], majors[2], majors[3]);
	if (!reload(s, params, "majors"))
		return;
	cpu_path(s->cpus[0], path, sizeof(path));
	check_long(s, majors[0], node_major(path), "majors: %s major", path);
	check_long(s, majors[1], node_major(ALLOWLIST_DEV),
		   "majors: " ALLOWLIST_DEV " major");
	check_long(s, majors[2], node_major(BATCH_DEV),
		   "majors: " BATCH_DEV " major");
	check_long(s, majors[3], node_major(VERSION_DEV),
		   "majors: " VERSION_DEV " major");
	rc = proc_devices_msr(list, sizeof(list), &count);
	check_rc(s, 0, rc, "majors: read /proc/devices");
	for (int i = 0; i < 4; i++) {
		char want[16];

		/* list is "N name;N name;..." */
		snprintf(want, sizeof(want), ";%d ", majors[i]);
		check(s,
		      strncmp(list, want + 1, strlen(want + 1)) == 0 ||
			  strstr(list, want) != NULL,
		      list, "majors: /proc/devices lists major %d", majors[i]);
	}
	check_long(s, 4, count, "majors: four msr entries in /proc/devices");
	t_version(s);

	/* A taken major: loading fails and leaves nothing behind. */
	rc = mod_unload();
	check_rc(s, 0, rc, "majors: rmmod");
	rc = mod_load(s, "mdev_msr_batch=4"); /* the tty major */
	check_rc2(s, -EBUSY, -EINVAL, rc,
		  "majors: insmod with a taken major fails");
	check(s, !mod_loaded(), "still loaded",
	      "majors: failed insmod leaves no module");
	rc = proc_devices_msr(list, sizeof(list), &count);
	check_long(s, 0, count, "majors: failed insmod leaves no major (%s)",
		   list);
	check(s,
	      !path_exists(ALLOWLIST_DEV) && !path_exists(BATCH_DEV) &&
		  !path_exists(VERSION_DEV) && !path_exists(path),
	      "nodes left", "majors: failed insmod leaves no device node");
	check(s, !path_exists(SYS_COUNTERS), "dir left",
	      "majors: failed insmod leaves no " SYS_COUNTERS);
	reload(s, "", "majors: dynamic again");
}

long kernel_mem_kib(void)
{
	char *text, *p;
	size_t len;
	long total = 0;

	if (read_file("/proc/meminfo", &text, &len))
		return -1;
	p = strstr(text, "SUnreclaim:");
	if (p)
		total += atol(p + strlen("SUnreclaim:"));
	p = strstr(text, "VmallocUsed:");
	if (p)
		total += atol(p + strlen("VmallocUsed:"));
	free(text);
	return total;
}

void t_cycles(struct suite *s)
{
	int bad_load = 0, bad_unload = 0, bad_use = 0, busy_rc = 0, rc, fd;
	char list[512];
	int count;

	for (int i = 0; i < 12; i++) {
		struct msr_batch_op op;
		char *text = NULL;
		size_t len;

		if (mod_loaded() && mod_unload())
			bad_unload++;
		if (mod_load(s, "")) {
			bad_load++;
			continue;
		}
		if (al_read(4096, &text, &len) || len != strlen(AL_HEADER_TEXT))
			bad_use++;
		free(text);
		if (al_install(test_list))
			bad_use++;
		op_set(&op, s->cpus[i % s->ncpus], MSR_MC0_ADDR, true, 0);
		if (batch_run(&op, 1))
			bad_use++;
		/* With an fd open, the module must refuse to go. */
		if (i == 5) {
			fd = open(BATCH_DEV, O_RDWR | O_CLOEXEC);
			busy_rc = mod_unload();
			if (fd >= 0)
				close(fd);
		}
	}
	check_long(s, 0, bad_load, "cycles: 12 insmods succeed");
	check_long(s, 0, bad_unload, "cycles: 11 rmmods succeed");
	check_long(s, 0, bad_use,
		   "cycles: each load starts empty, installs, runs a batch");
	check_rc2(s, -EAGAIN, -EBUSY, busy_rc,
		  "cycles: rmmod refused while a device is open");
	rc = mod_unload();
	check_rc(s, 0, rc, "cycles: final rmmod");
	check(s, !path_exists(BATCH_DEV) && !path_exists(ALLOWLIST_DEV),
	      "nodes left", "cycles: rmmod removes the nodes");
	check(s, !path_exists(SYS_COUNTERS), "dir left",
	      "cycles: rmmod removes " SYS_COUNTERS);
	check(s, !path_exists("/sys/class/msr_safe"), "class left",
	      "cycles: rmmod removes the class");
	rc = proc_devices_msr(list, sizeof(list), &count);
	check_long(s, 0, count, "cycles: rmmod frees the majors (%s)", list);
	reload(s, "", "cycles: load again");
}

/*
 * Leaks: kmemleak is not in Debian's kernel, so measure instead.  Each
 * round allocates visibly (3000-entry lists, 2000-op batches); a leak of
 * one object per operation grows unreclaimable memory by megabytes.
 */
void t_leaks(struct suite *s)
{
	size_t nent = 3000, cap = nent * 32 + 1, o = 0;
	char *big = malloc(cap);
	struct msr_batch_op *ops = calloc(2000, sizeof(*ops));
	long before, after;
	double t0;
	int bad = 0;

	if (!check(s, big && ops, "malloc", "leaks: buffers")) {
		free(big);
		free(ops);
		return;
	}
	for (size_t i = 0; i < nent; i++)
		o += (size_t)snprintf(big + o, cap - o, "0x%zx 0x%zx\n",
				      0x20000 + i * 3, i);
	/* Warm up caches first so they do not count as growth. */
	for (int r = 0; r < 2; r++) {
		al_install_len(big, o);
		al_install(test_list);
	}
	before = kernel_mem_kib();
	for (int r = 0; r < 150; r++) {
		char *text = NULL;
		size_t len;
		int fd;

		if (al_install_len(big, o))
			bad++;
		if (al_read(4096, &text, &len))
			bad++;
		free(text);
		if (al_install("0x402 0x0\n0x402 0x1\n") != -ENOTUNIQ)
			bad++;
		if (al_install(test_list))
			bad++;
		for (int i = 0; i < 2000; i++)
			op_set(&ops[i], s->cpus[i % s->ncpus],
			       i % 2 ? MSR_MC0_ADDR : MSR_UNLISTED, true, 0);
		if (batch_run(ops, 2000) != -EACCES)
			bad++;
		fd = cpu_open(s->cpus[r % s->ncpus], O_RDONLY);
		if (fd >= 0)
			close(fd);
	}
	/* Old lists are freed after an RCU grace period: give them time. */
	t0 = now_s();
	do {
		struct timespec pause = {0, 250 * 1000 * 1000};

		nanosleep(&pause, NULL);
		after = kernel_mem_kib();
	} while (after - before >= 2048 && now_s() - t0 < 15);
	check_long(s, 0, bad, "leaks: 150 rounds of list swaps and batches");
	check(
	    s, before > 0 && after - before < 2048,
	    "unreclaimable kernel memory grew too much",
	    "leaks: SUnreclaim+VmallocUsed grew %ld KiB (< 2048) after %.1f s",
	    after - before, now_s() - t0);
	free(big);
	free(ops);
}

/* ---- stress: list swaps (and hotplug) under running batches ------------ */

struct worker_report {
	long rounds, ops, bad;
	char first_bad[200];
};

bool err_allowed(int err, bool hotplug)
{
	return err == 0 || err == -EACCES || (hotplug && err == -ENXIO);
}

void worker_bad(struct worker_report *w, const char *fmt, ...)
{
	va_list ap;

	if (w->bad++ == 0) {
		va_start(ap, fmt);
		vsnprintf(w->first_bad, sizeof(w->first_bad), fmt, ap);
		va_end(ap);
	}
}

void batch_worker(const struct suite *s, int id, double until, bool hotplug,
		  struct worker_report *w)
{
	struct msr_batch_op ops[3 * MAX_CPUS];
	int fd = open(BATCH_DEV, O_RDWR | O_CLOEXEC);
	char b[32];

	if (fd < 0) {
		worker_bad(w, "open " BATCH_DEV ": %s", strerror(errno));
		return;
	}
	while (now_s() < until) {
		size_t n = 0;
		int rc;

		for (int i = 0; i < s->ncpus; i++) {
			int c = s->cpus[(i + id) % s->ncpus];

			op_set(&ops[n++], c, MSR_MC0_ADDR, true, READ_SENTINEL);
			op_set(&ops[n++], c, MSR_MC0_MISC, true, READ_SENTINEL);
			op_set(&ops[n++], c, MSR_MC0_MISC, false,
			       (uint64_t)w->rounds << 16);
		}
		rc = batch_fd_run(fd, ops, (uint32_t)n, MSR_SAFE_VERSION_u32);
		if (!err_allowed(rc, hotplug))
			worker_bad(w, "batch returned %s", errname(rc, b, 32));
		for (size_t i = 0; i < n; i++) {
			if (ops[i].err == OP_SENTINEL)
				worker_bad(
				    w,
				    "op %zu (cpu %d msr 0x%x) left untouched",
				    i, ops[i].cpu, ops[i].msr);
			else if (!err_allowed(ops[i].err, hotplug))
				worker_bad(w, "op %zu (cpu %d msr 0x%x) err %s",
					   i, ops[i].cpu, ops[i].msr,
					   errname(ops[i].err, b, 32));
			if (ops[i].err == 0 && ops[i].isrdmsr &&
			    ops[i].msrdata == READ_SENTINEL)
				worker_bad(w,
					   "read op %zu (cpu %d msr 0x%x) "
					   "reported success but read nothing",
					   i, ops[i].cpu, ops[i].msr);
			if (rc == 0 && ops[i].err != 0)
				worker_bad(
				    w, "batch returned 0 with op %zu err %d", i,
				    ops[i].err);
		}
		w->rounds++;
		w->ops += (long)n;
	}
	close(fd);
}

void percpu_worker(const struct suite *s, double until, bool hotplug,
		   struct worker_report *w)
{
	char b[32];

	while (now_s() < until) {
		for (int i = 0; i < s->ncpus; i++) {
			uint64_t v;
			int rc = cpu_rd(s->cpus[i], MSR_MC0_ADDR, &v);

			/* Opening an offline CPU's node finds no node. */
			if (!err_allowed(rc, hotplug) &&
			    !(hotplug && rc == -ENOENT))
				worker_bad(w, "per-CPU read cpu%d: %s",
					   s->cpus[i], errname(rc, b, 32));
			w->ops++;
		}
		w->rounds++;
	}
}

void reader_worker(double until, const char *const *canon, int ncanon,
		   struct worker_report *w)
{
	while (now_s() < until) {
		char *text = NULL;
		size_t len = 0;
		int rc = al_read(29, &text, &len), match = 0;

		if (rc) {
			worker_bad(w, "allowlist read: %d", rc);
		} else {
			for (int i = 0; i < ncanon; i++)
				if (len == strlen(canon[i]) &&
				    memcmp(text, canon[i], len) == 0)
					match = 1;
			if (!match) {
				char q[120];

				quote(text, len < 100 ? len : 100, q,
				      sizeof(q));
				worker_bad(
				    w, "a 29-byte-chunk read mixed lists: %s",
				    q);
			}
		}
		free(text);
		w->rounds++;
	}
}

/* Takes @cpu offline and back every 50 ms; ends with it online. */
void toggle_worker(int cpu, double until, struct worker_report *w)
{
	struct timespec pause = {0, 50 * 1000 * 1000};
	char b[32];

	while (now_s() < until) {
		int rc = set_cpu_online(cpu, w->rounds % 2 == 1);

		if (rc)
			worker_bad(w, "cpu%d %s: %s", cpu,
				   w->rounds % 2 ? "online" : "offline",
				   errname(rc, b, 32));
		w->rounds++;
		nanosleep(&pause, NULL);
	}
	if (w->rounds % 2 == 1 && set_cpu_online(cpu, true))
		worker_bad(w, "cpu%d could not come back online", cpu);
}

void t_stress(struct suite *s, bool hotplug, double seconds)
{
	static const char list_b[] = "0x403 0xffff0000\n0x179 0x0\n";
	static const char canon_b[] =
	    AL_HEADER_TEXT "0x00000179 0x0000000000000000\n"
			   "0x00000403 0x00000000FFFF0000\n";
	const char *const canon[] = {test_list_canon, canon_b, AL_HEADER_TEXT};
	const char *kinds[MAX_CPUS + 3];
	int nworkers = s->ncpus + 2 + hotplug, pipes[MAX_CPUS + 3][2], rc;
	pid_t pids[MAX_CPUS + 3];
	struct saved_msrs sv;
	long swaps = 0, swap_bad = 0;
	double until;
	char what[32];
	int hp_cpu = s->cpus[s->ncpus - 1];

	snprintf(what, sizeof(what), "stress%s", hotplug ? "+hotplug" : "");
	if (hotplug &&
	    !check(s, s->ncpus >= 2, "one CPU", "%s: more than one CPU", what))
		return;
	if (!save_msrs(s, &sv))
		return;
	rc = al_install(test_list);
	check_rc(s, 0, rc, "%s: install the test list", what);
	until = now_s() + seconds;
	for (int k = 0; k < nworkers; k++) {
		kinds[k] = k < s->ncpus	       ? "batch"
			   : k == s->ncpus     ? "per-CPU"
			   : k == s->ncpus + 1 ? "list reader"
					       : "hotplug toggler";
		if (pipe(pipes[k])) {
			check(s, false, strerror(errno), "%s: pipe", what);
			return;
		}
		pids[k] = fork();
		if (pids[k] == 0) {
			struct worker_report w;

			memset(&w, 0, sizeof(w));
			close(pipes[k][0]);
			if (k < s->ncpus)
				batch_worker(s, k, until, hotplug, &w);
			else if (k == s->ncpus)
				percpu_worker(s, until, hotplug, &w);
			else if (k == s->ncpus + 1)
				reader_worker(until, canon, 3, &w);
			else
				toggle_worker(hp_cpu, until, &w);
			if (write(pipes[k][1], &w, sizeof(w)) != sizeof(w))
				_exit(1);
			_exit(0);
		}
		close(pipes[k][1]);
	}
	while (now_s() < until) {
		const char *next = swaps % 3 == 0   ? list_b
				   : swaps % 3 == 1 ? "\n"
						    : test_list;

		if (al_install(next))
			swap_bad++;
		swaps++;
	}
	for (int k = 0; k < nworkers; k++) {
		struct worker_report w;
		int status = 0;
		ssize_t r = read(pipes[k][0], &w, sizeof(w));

		waitpid(pids[k], &status, 0);
		close(pipes[k][0]);
		if (!check(s,
			   r == sizeof(w) && WIFEXITED(status) &&
			       WEXITSTATUS(status) == 0,
			   "worker died", "%s: %s worker %d finished", what,
			   kinds[k], k))
			continue;
		check(s, w.rounds >= 3, "made no progress",
		      "%s: %s worker %d made progress (%ld rounds, %ld ops)",
		      what, kinds[k], k, w.rounds, w.ops);
		check(s, w.bad == 0, w.first_bad,
		      "%s: %s worker %d saw only allowed results (%ld bad)",
		      what, kinds[k], k, w.bad);
	}
	check(s, swaps >= 10, "too few swaps", "%s: %ld list swaps", what,
	      swaps);
	check_long(s, 0, swap_bad, "%s: every list swap accepted", what);
	if (hotplug)
		check_rc(s, 0, udev_apply(s), "%s: udev modes", what);
	restore_msrs(s, &sv, what);
}
