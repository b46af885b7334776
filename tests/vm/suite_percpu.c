// SPDX-License-Identifier: GPL-2.0-only
/*
 * msr-safe VM suite (see suite.h): device nodes, the version device and
 * /dev/cpu/N/msr_safe.
 */
#include "suite.h"

/* Nodes as the module creates them, then as the shipped rules set them. */
void t_nodes(struct suite *s)
{
	char path[64];
	int rc;

	if (mod_loaded()) {
		rc = mod_unload();
		check_rc(s, 0, rc, "nodes: rmmod");
	}
	rc = mod_load(s, "");
	if (!check_rc(s, 0, rc, "nodes: insmod"))
		return;
	for (int i = 0; i < s->ncpus; i++) {
		cpu_path(s->cpus[i], path, sizeof(path));
		expect_node(s, path, 0600, 0, 0, "nodes before udev");
	}
	expect_node(s, BATCH_DEV, 0600, 0, 0, "nodes before udev");
	expect_node(s, ALLOWLIST_DEV, 0600, 0, 0, "nodes before udev");
	expect_node(s, VERSION_DEV, 0600, 0, 0, "nodes before udev");
	/* Parameter defaults of a plain insmod. */
	{
		static const char *const defaults[][2] = {
		    {"recheck_access", "Y\n"},
		    {"max_batch_ops", "131072\n"},
		    {"mdev_msr_safe", "0\n"},
		    {"mdev_msr_allowlist", "0\n"},
		    {"mdev_msr_batch", "0\n"},
		    {"mdev_msr_version", "0\n"},
		    {"inject_eio_msr", "0\n"},
		    {"inject_eio_writes_only", "N\n"},
		};

		for (size_t i = 0; i < sizeof(defaults) / sizeof(*defaults);
		     i++) {
			char ppath[128], *text = NULL;
			size_t len = 0;

			snprintf(ppath, sizeof(ppath), SYS_PARAMS "/%s",
				 defaults[i][0]);
			rc = read_file(ppath, &text, &len);
			if (check_rc(s, 0, rc, "nodes: read %s", ppath))
				check_text(s, defaults[i][1],
					   strlen(defaults[i][1]), text, len,
					   "nodes: %s defaults to %.*s",
					   defaults[i][0],
					   (int)strlen(defaults[i][1]) - 1,
					   defaults[i][1]);
			free(text);
		}
	}
	rc = udev_apply(s);
	check_rc(s, 0, rc, "nodes: 60-msr-safe.rules applied to every device");
	for (int i = 0; i < s->ncpus; i++) {
		cpu_path(s->cpus[i], path, sizeof(path));
		expect_node(s, path, 0660, 0, s->gid, "nodes after udev");
	}
	expect_node(s, BATCH_DEV, 0660, 0, s->gid, "nodes after udev");
	expect_node(s, ALLOWLIST_DEV, 0600, 0, 0, "nodes after udev");
	expect_node(s, VERSION_DEV, 0444, 0, 0, "nodes after udev");
}

void t_version(struct suite *s)
{
	char *text = NULL;
	size_t len = 0;
	int rc = read_file(VERSION_DEV, &text, &len);

	if (check_rc(s, 0, rc, "version: read " VERSION_DEV))
		check_text(s, MSR_SAFE_VERSION_STR "\n",
			   strlen(MSR_SAFE_VERSION_STR "\n"), text, len,
			   "version: device says " MSR_SAFE_VERSION_STR);
	free(text);
	text = NULL;
	/* One byte at a time gives the same text. */
	{
		int fd = open(VERSION_DEV, O_RDONLY | O_CLOEXEC);
		char buf[32];
		size_t n = 0;
		ssize_t r = 0;

		while (fd >= 0 && n < sizeof(buf) &&
		       (r = read(fd, buf + n, 1)) == 1)
			n++;
		check_text(s, MSR_SAFE_VERSION_STR "\n",
			   strlen(MSR_SAFE_VERSION_STR "\n"), buf, n,
			   "version: 1-byte reads give the same text");
		if (fd >= 0)
			close(fd);
	}
}

void t_percpu(struct suite *s)
{
	struct saved_msrs sv;
	char b1[96];
	uint64_t v, old;
	int rc;

	if (!save_msrs(s, &sv))
		return;
	/* Bits outside MC0_MISC's test mask must survive masked writes. */
	for (int i = 0; i < s->ncpus; i++) {
		rc = cpu_wr(s->cpus[i], MSR_MC0_MISC,
			    UINT64_C(0xa5a5a5a5a5a5a5a5));
		check_rc(s, 0, rc, "percpu cpu%d: preset MC0_MISC (full mask)",
			 s->cpus[i]);
	}
	rc = al_install(test_list);
	check_rc(s, 0, rc, "percpu: install the test list");
	al_is(s, test_list_canon, "percpu");

	for (int i = 0; i < s->ncpus; i++) {
		int c = s->cpus[i];
		uint64_t want = pattern(c, 1);

		rc = cpu_wr(c, MSR_MC0_ADDR, want);
		check_rc(s, 0, rc, "percpu cpu%d: write MC0_ADDR", c);
	}
	/* Read all after writing all: each CPU keeps its own value. */
	for (int i = 0; i < s->ncpus; i++) {
		int c = s->cpus[i];

		v = 0;
		rc = cpu_rd(c, MSR_MC0_ADDR, &v);
		check_rc(s, 0, rc, "percpu cpu%d: read MC0_ADDR", c);
		check_u64(s, pattern(c, 1), v,
			  "percpu cpu%d: MC0_ADDR holds this CPU's value", c);
	}
	for (int i = 0; i < s->ncpus; i++) {
		int c = s->cpus[i], fd = cpu_open(c, O_RDWR);
		uint64_t val = UINT64_C(0x123456789abcdef0) + (uint64_t)c;

		if (!check(s, fd >= 0, "open failed",
			   "percpu cpu%d: open O_RDWR", c))
			continue;
		old = 0;
		rc = fd_rd(fd, MSR_MC0_MISC, &old);
		rc = rc ? rc : fd_wr(fd, MSR_MC0_MISC, val);
		rc = rc ? rc : fd_rd(fd, MSR_MC0_MISC, &v);
		check_rc(s, 0, rc, "percpu cpu%d: masked MC0_MISC write", c);
		check_u64(
		    s, (val & MASK_MISC) | (old & ~MASK_MISC), v,
		    "percpu cpu%d: MC0_MISC = (value & mask) | (old & ~mask)",
		    c);
		check_u64(s, UINT64_C(0xa5a5a5a5a5a5a5a5) & ~MASK_MISC,
			  v & ~MASK_MISC,
			  "percpu cpu%d: MC0_MISC bits outside the mask kept",
			  c);

		rc = fd_rd(fd, MSR_TSC_AUX, &old);
		rc = rc ? rc
			: fd_wr(fd, MSR_TSC_AUX, UINT64_C(0xffffffffffffffff));
		rc = rc ? rc : fd_rd(fd, MSR_TSC_AUX, &v);
		check_rc(s, 0, rc, "percpu cpu%d: masked TSC_AUX write", c);
		check_u64(s, MASK_TSC_AUX | (old & ~MASK_TSC_AUX), v,
			  "percpu cpu%d: TSC_AUX changed in the mask only", c);

		/* Refusals. */
		rc = fd_rd(fd, MSR_UNLISTED, &v);
		check_rc(s, -EACCES, rc, "percpu cpu%d: read unlisted 0x%x", c,
			 MSR_UNLISTED);
		rc = fd_wr(fd, MSR_UNLISTED, 0);
		check_rc(s, -EACCES, rc, "percpu cpu%d: write unlisted 0x%x", c,
			 MSR_UNLISTED);
		rc = fd_rd(fd, MSR_MCG_CAP, &v);
		check_rc(s, 0, rc, "percpu cpu%d: read read-only MCG_CAP", c);
		rc = fd_wr(fd, MSR_MCG_CAP, v ^ 1);
		check_rc(
		    s, -EACCES, rc,
		    "percpu cpu%d: write another value to MCG_CAP (mask 0)", c);
		close(fd);
	}

	/* Transfer sizes and seeking, on the first CPU. */
	{
		int fd = cpu_open(s->cpus[0], O_RDWR);
		static const size_t bad_sizes[] = {1, 4, 7, 9, 16};
		char buf[32];
		off_t off;

		if (!check(s, fd >= 0, "open failed", "percpu: open cpu%d",
			   s->cpus[0]))
			return;
		for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(*bad_sizes);
		     i++) {
			ssize_t r = pread(fd, buf, bad_sizes[i], MSR_MC0_ADDR);

			check_rc(s, -EINVAL, r < 0 ? -errno : (int)r,
				 "percpu: %zu-byte read refused", bad_sizes[i]);
			memset(buf, 0, sizeof(buf));
			r = pwrite(fd, buf, bad_sizes[i], MSR_MC0_ADDR);
			check_rc(s, -EINVAL, r < 0 ? -errno : (int)r,
				 "percpu: %zu-byte write refused",
				 bad_sizes[i]);
		}
		off = lseek(fd, 0, SEEK_END);
		check_rc(s, -EINVAL, off < 0 ? -errno : 0,
			 "percpu: SEEK_END refused");
		off = lseek(fd, MSR_MC0_ADDR, SEEK_SET);
		check_long(s, MSR_MC0_ADDR, off,
			   "percpu: SEEK_SET to MC0_ADDR");
		off = lseek(fd, 1, SEEK_CUR);
		check_long(s, MSR_MC0_MISC, off,
			   "percpu: SEEK_CUR +1 to MC0_MISC");
		rc = cpu_rd(s->cpus[0], MSR_MC0_MISC, &old);
		v = 0;
		if (read(fd, &v, 8) != 8)
			rc = -errno;
		check_rc(s, 0, rc, "percpu: read(2) at the file offset");
		check_u64(s, old, v,
			  "percpu: read(2) at offset 0x403 gives MC0_MISC");
		off = lseek(fd, MSR_TSC_AUX, SEEK_SET);
		check_long(s, MSR_TSC_AUX, off,
			   "percpu: SEEK_SET to an address above 2^31");
		off = lseek(fd, -1, SEEK_SET);
		check_rc(s, -EINVAL, off < 0 ? -errno : 0,
			 "percpu: negative SEEK_SET refused");
		off = lseek(fd, MSR_MC0_MISC, SEEK_SET);
		if (read(fd, &v, 8) != 8)
			rc = -errno;
		off = lseek(fd, 0, SEEK_CUR);
		check_long(s, MSR_MC0_MISC, off,
			   "percpu: read(2) leaves the offset at the MSR");
		/* Offsets beyond 32 bits name no MSR (not 0x402 truncated). */
		{
			ssize_t r = pread(fd, &v, 8, (off_t)0x100000402ll);

			check_rc(s, -EACCES, r < 0 ? -errno : (int)r,
				 "percpu: read at offset 0x100000402 refused");
			r = pwrite(fd, &v, 8, (off_t)0x100000402ll);
			check_rc(s, -EACCES, r < 0 ? -errno : (int)r,
				 "percpu: write at offset 0x100000402 refused");
		}
		/* Bad user buffers. */
		{
			ssize_t r;

			rc = cpu_rd(s->cpus[0], MSR_MC0_ADDR, &old);
			r = pread(fd, s->bad, 8, MSR_MC0_ADDR);
			check_rc(s, -EFAULT, r < 0 ? -errno : (int)r,
				 "percpu: read into a bad buffer is EFAULT");
			r = pwrite(fd, s->bad, 8, MSR_MC0_ADDR);
			check_rc(s, -EFAULT, r < 0 ? -errno : (int)r,
				 "percpu: write from a bad buffer is EFAULT");
			rc = cpu_rd(s->cpus[0], MSR_MC0_ADDR, &v);
			check_u64(s, old, v,
				  "percpu: the EFAULT write changed nothing");
		}
		close(fd);
	}
	/* A bad buffer on the allowlist device leaves the list as it was. */
	{
		int afd = open(ALLOWLIST_DEV, O_WRONLY | O_CLOEXEC);
		ssize_t r = afd < 0 ? -1 : write(afd, s->bad, 64);

		check_rc(s, -EFAULT, r < 0 ? -errno : (int)r,
			 "allowlist: write from a bad buffer is EFAULT");
		if (afd >= 0)
			close(afd);
		al_is(s, test_list_canon, "EFAULT write");
	}
	snprintf(b1, sizeof(b1), "percpu: restore");
	restore_msrs(s, &sv, b1);
}

/*
 * The no-op write rule (INTERFACE.md extension): a write to a mask-0 MSR
 * succeeds, without wrmsr, when it writes the value the register holds,
 * and is refused otherwise (per-CPU EACCES, batch EROFS, counted).
 * MC0_ADDR stores what is written, so a write that ran would show; with
 * an injected wrmsr fault on it, a write that ran would also fail.
 */
static const char noop_list[] = "0x402 0x0\n0x179 0x0\n";

static void noop_batch(struct suite *s, const char *what)
{
	struct msr_batch_op ops[2 * MAX_CPUS];
	uint64_t v;
	int rc, n = 0, bad = 0;

	for (int i = 0; i < s->ncpus; i++) {
		op_set(&ops[n++], s->cpus[i], MSR_MC0_ADDR, false,
		       pattern(s->cpus[i], 7));
		op_set(&ops[n++], s->cpus[i], MSR_MC0_ADDR, false,
		       pattern(s->cpus[i], 7) ^ 0x10);
	}
	rc = batch_run(ops, (uint32_t)n);
	check_rc(s, -EROFS, rc, "%s batch: call returns EROFS", what);
	for (int i = 0; i < n; i += 2) {
		if (ops[i].err != 0 || ops[i].wmask != 0 ||
		    ops[i + 1].err != -EROFS)
			bad++;
	}
	check_long(s, 0, bad,
		   "%s batch: same value err 0 (wmask 0), other value EROFS, "
		   "on every CPU",
		   what);
	bad = 0;
	for (int i = 0; i < s->ncpus; i++) {
		if (cpu_rd(s->cpus[i], MSR_MC0_ADDR, &v) ||
		    v != pattern(s->cpus[i], 7))
			bad++;
	}
	check_long(s, 0, bad, "%s batch: MC0_ADDR unchanged on every CPU",
		   what);
}

void t_readonly_noop(struct suite *s)
{
	struct saved_msrs sv;
	uint64_t v, ro0, ro1;
	int rc;

	if (!save_msrs(s, &sv))
		return;
	for (int i = 0; i < s->ncpus; i++)
		cpu_wr(s->cpus[i], MSR_MC0_ADDR, pattern(s->cpus[i], 7));
	rc = al_install(noop_list);
	check_rc(s, 0, rc, "noop: install MC0_ADDR with mask 0");
	counter("denied_read_only", &ro0);
	for (int i = 0; i < s->ncpus; i++) {
		int c = s->cpus[i];

		rc = cpu_wr(c, MSR_MC0_ADDR, pattern(c, 7));
		check_rc(s, 0, rc,
			 "noop cpu%d: mask-0 write of the current value "
			 "succeeds",
			 c);
		rc = cpu_wr(c, MSR_MC0_ADDR, pattern(c, 7) ^ 0x10);
		check_rc(s, -EACCES, rc,
			 "noop cpu%d: mask-0 write of another value is EACCES",
			 c);
		v = 0;
		rc = cpu_rd(c, MSR_MC0_ADDR, &v);
		check_u64(s, pattern(c, 7), v, "noop cpu%d: MC0_ADDR unchanged",
			  c);
	}
	counter("denied_read_only", &ro1);
	check_u64(s, (uint64_t)s->ncpus, ro1 - ro0,
		  "noop: denied_read_only counts each refused write once");
	noop_batch(s, "noop");

	/* With wrmsr of 0x402 failing, a no-op write that ran would fail. */
	rc = set_param("inject_eio_msr", "1026\n");
	rc = rc ? rc : set_param("inject_eio_writes_only", "1\n");
	check_rc(s, 0, rc, "noop: inject wrmsr faults on MC0_ADDR");
	rc = cpu_wr(s->cpus[0], MSR_MC0_ADDR, pattern(s->cpus[0], 7));
	check_rc(s, 0, rc,
		 "noop: per-CPU no-op write runs no wrmsr (injected fault "
		 "not hit)");
	noop_batch(s, "noop+inject");
	set_param("inject_eio_msr", "0\n");
	set_param("inject_eio_writes_only", "0\n");
	restore_msrs(s, &sv, "noop: restore");
}
