// SPDX-License-Identifier: GPL-2.0-only
/*
 * msr-safe VM suite (see suite.h): privilege and robustness rules of
 * issue #10: CAP_SYS_RAWIO for installing a list, FMODE_WRITE for batch
 * writes, copy-before-check on the per-CPU node, the max_batch_ops cap,
 * chunked batches, multi-write (cat) allowlist texts, and kernel lockdown
 * (its own run, at the very end of the boot: lockdown cannot be lowered).
 */
#include "suite.h"

#include <linux/capability.h>
#include <sys/mount.h>

#define LOCKDOWN_FILE "/sys/kernel/security/lockdown"
#define AL_CHUNK      (128 * 1024) /* coreutils cat's write size */
#define AL_LINE	      30	   /* one canonical entry line */

/* Child exit codes beyond errno values. */
#define CHILD_OPEN_FAILED 200
#define CHILD_WROTE	  201
#define CHILD_SETUP	  202

/* Drop CAP_SYS_RAWIO from the effective set, staying root otherwise. */
static int drop_rawio(void)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return -errno;
	d[CAP_SYS_RAWIO / 32].effective &= ~(1u << (CAP_SYS_RAWIO % 32));
	if (syscall(SYS_capset, &h, d))
		return -errno;
	return 0;
}

/*
 * In a child: drop privileges (all, or CAP_SYS_RAWIO only), open the
 * allowlist for writing and write a list granting FEATURE_CONTROL.
 * Returns the child's exit status: the write's errno, or CHILD_*.
 */
static int try_install_as(const struct suite *s, bool root_without_rawio)
{
	static const char grab[] = "0x3a 0xffffffffffffffff\n";
	int status = 0;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int fd;
		ssize_t w;

		if (root_without_rawio ? drop_rawio() : drop_privileges(s->gid))
			_exit(CHILD_SETUP);
		fd = open(ALLOWLIST_DEV, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			_exit(CHILD_OPEN_FAILED);
		w = write(fd, grab, sizeof(grab) - 1);
		_exit(w < 0 ? errno : CHILD_WROTE);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void privilege_allowlist(struct suite *s)
{
	int rc;

	rc = al_install(test_list);
	check_rc(s, 0, rc, "privilege: install the test list as root");
	/* A mode mistake in a site's rules must not hand out the list. */
	rc = chmod(ALLOWLIST_DEV, 0666) ? -errno : 0;
	check_rc(s, 0, rc, "privilege: chmod 0666 " ALLOWLIST_DEV);
	rc = try_install_as(s, false);
	check_long(s, EPERM, rc,
		   "privilege: uid %d without CAP_SYS_RAWIO opens the 0666 "
		   "allowlist but its write is EPERM",
		   UNPRIV_UID);
	al_is(s, test_list_canon, "privilege: after the unprivileged write");
	rc = chmod(ALLOWLIST_DEV, 0600) ? -errno : 0;
	check_rc(s, 0, rc, "privilege: chmod 0600 " ALLOWLIST_DEV);
	rc = try_install_as(s, true);
	check_long(s, EPERM, rc,
		   "privilege: root without CAP_SYS_RAWIO: allowlist write "
		   "is EPERM");
	al_is(s, test_list_canon, "privilege: after root without RAWIO");
}

static void privilege_batch_rdonly(struct suite *s)
{
	struct msr_batch_op ops[2];
	int c = s->cpus[0], fd, rc;
	uint64_t v = 0, na0 = 0, na1 = 0;

	rc = al_install(test_list);
	check_rc(s, 0, rc, "rdonly: install the test list");
	rc = cpu_wr(c, MSR_MC0_ADDR, pattern(c, 3));
	check_rc(s, 0, rc, "rdonly: preset MC0_ADDR");
	fd = open(BATCH_DEV, O_RDONLY | O_CLOEXEC);
	if (!check(s, fd >= 0, strerror(errno), "rdonly: open batch O_RDONLY"))
		return;
	counter("denied_not_allowlisted", &na0);
	op_set(&ops[0], c, MSR_MC0_ADDR, false, 0x5555);
	op_set(&ops[1], c, MSR_UNLISTED, false, 0);
	rc = batch_fd_run(fd, ops, 2, 0);
	check_rc(s, -EBADF, rc, "rdonly: batch write op via O_RDONLY is EBADF");
	rc = cpu_rd(c, MSR_MC0_ADDR, &v);
	check_u64(s, pattern(c, 3), v,
		  "rdonly: the refused batch wrote nothing");
	counter("denied_not_allowlisted", &na1);
	check_u64(s, 0, na1 - na0,
		  "rdonly: a batch refused on permission counts no denial");
	op_set(&ops[0], c, MSR_MC0_ADDR, true, 0);
	rc = batch_fd_run(fd, ops, 1, 0);
	check_rc(s, 0, rc, "rdonly: read op via O_RDONLY still works");
	check_u64(s, pattern(c, 3), ops[0].msrdata,
		  "rdonly: the read op got the value");
	close(fd);
}

static void privilege_copy_first(struct suite *s)
{
	int fd = cpu_open(s->cpus[0], O_RDWR);
	uint64_t na0 = 0, na1 = 0;
	ssize_t r;

	check_rc(s, 0, al_install(test_list),
		 "copy-first: install the test list");
	if (!check(s, fd >= 0, strerror(errno), "copy-first: open cpu%d",
		   s->cpus[0]))
		return;
	counter("denied_not_allowlisted", &na0);
	/* The value is copied before any check: EFAULT, not EACCES. */
	r = pwrite(fd, s->bad, 8, MSR_UNLISTED);
	check_rc(s, -EFAULT, r < 0 ? -errno : (int)r,
		 "copy-first: write from a bad buffer to an unlisted MSR is "
		 "EFAULT");
	counter("denied_not_allowlisted", &na1);
	check_u64(s, 0, na1 - na0, "copy-first: nothing checked, no denial");
	close(fd);
}

static void batch_cap(struct suite *s)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	rc = set_param("max_batch_ops", "1048577\n");
	check_rc(s, -EINVAL, rc, "max_batch_ops: 1048577 refused (cap 2^20)");
	rc = set_param("max_batch_ops", "0\n");
	check_rc(s, -EINVAL, rc, "max_batch_ops: 0 refused");
	rc = set_param("max_batch_ops", "1048576\n");
	check_rc(s, 0, rc, "max_batch_ops: 1048576 accepted");
	rc = read_file(SYS_PARAMS "/max_batch_ops", &text, &len);
	if (check_rc(s, 0, rc, "max_batch_ops: read back"))
		check_text(s, "1048576\n", 8, text, len,
			   "max_batch_ops: reads 1048576");
	free(text);
	rc = set_param("max_batch_ops", "131072\n");
	check_rc(s, 0, rc, "max_batch_ops: back to 131072");
}

/*
 * Ops run in chunks per cross-CPU call: across chunk boundaries every op
 * still runs, in array order per CPU.  Alternate write and read of
 * MC0_ADDR on two CPUs; each read must see the write just before it.
 */
static void batch_chunks(struct suite *s)
{
	const uint32_t per_cpu = 3 * 1024 + 7;
	int ncpu = s->ncpus < 2 ? 1 : 2;
	uint32_t n = per_cpu * (uint32_t)ncpu;
	struct msr_batch_op *ops = calloc(n, sizeof(*ops));
	int bad = 0, rc;

	al_install(test_list);

	if (!check(s, ops != NULL, "calloc", "chunks: allocate"))
		return;
	for (uint32_t i = 0; i < n; i++) {
		int c = s->cpus[(i % (uint32_t)ncpu) ? s->ncpus - 1 : 0];
		uint32_t k = i / (uint32_t)ncpu;

		op_set(&ops[i], c, MSR_MC0_ADDR, k % 2, 0x77000000u + k);
	}
	rc = batch_run(ops, n);
	check_rc(s, 0, rc, "chunks: %u ops over %d CPUs", n, ncpu);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t k = i / (uint32_t)ncpu;

		if (ops[i].err ||
		    (k % 2 && ops[i].msrdata != 0x77000000u + k - 1))
			bad++;
	}
	check_long(s, 0, bad,
		   "chunks: every read saw the write before it (order kept "
		   "across chunks of 1024)");
	free(ops);
}

void t_privilege(struct suite *s)
{
	struct saved_msrs sv;

	if (!save_msrs(s, &sv))
		return;
	al_install(test_list);
	privilege_allowlist(s);
	privilege_batch_rdonly(s);
	privilege_copy_first(s);
	batch_cap(s);
	batch_chunks(s);
	restore_msrs(s, &sv, "privilege: restore");
}

/* ---- multi-write texts (cat of a list over 128 KiB) ------------------- */

/*
 * A list of @n canonical entries (0x10000 + i, mask i << 4), preceded by
 * a comment line sized so that byte AL_CHUNK falls @cut bytes into an
 * entry line (30 bytes each).  *@canon gets the read-back expected.
 */
static char *cut_list(size_t n, size_t cut, size_t *len, char **canon)
{
	size_t h = (AL_CHUNK - cut) % AL_LINE, clen;
	char *text, *p, *c;

	while (h < 2)
		h += AL_LINE;
	*len = h + n * AL_LINE;
	clen = strlen(AL_HEADER_TEXT) + n * AL_LINE;
	text = malloc(*len + 1);
	*canon = malloc(clen + 1);
	if (!text || !*canon) {
		free(text);
		free(*canon);
		return NULL;
	}
	memset(text, '-', h);
	text[0] = '#';
	text[h - 1] = '\n';
	p = text + h;
	c = *canon + sprintf(*canon, "%s", AL_HEADER_TEXT);
	for (size_t i = 0; i < n; i++) {
		sprintf(p, "0x%08X 0x%016" PRIX64 "\n", 0x10000u + (unsigned)i,
			(uint64_t)i << 4);
		memcpy(c, p, AL_LINE);
		p += AL_LINE;
		c += AL_LINE;
	}
	*c = 0;
	return text;
}

/* cat @text (of @len bytes) > the allowlist device; returns cat's status. */
static int cat_install(const struct suite *s, const char *text, size_t len,
		       struct cmd_result *r)
{
	char file[PATH_MAX], cmd[PATH_MAX + 64];
	FILE *f;

	snprintf(file, sizeof(file), "%s/cat-list.txt", s->scratch);
	f = fopen(file, "w");
	if (!f || fwrite(text, 1, len, f) != len) {
		if (f)
			fclose(f);
		return -EIO;
	}
	if (fclose(f))
		return -errno;
	snprintf(cmd, sizeof(cmd), "cat %s > " ALLOWLIST_DEV, file);
	run_cmd((char *const[]){"/bin/sh", "-c", cmd, NULL}, r);
	return r->status;
}

static void multi_case(struct suite *s, struct cmd_result *r, size_t n,
		       size_t cut, const char *what)
{
	char *canon = NULL, *text;
	size_t len;

	text = cut_list(n, cut, &len, &canon);
	if (!check(s, text != NULL, "malloc", "multi: %s: build", what))
		return;
	al_install(test_list);
	cat_install(s, text, len, r);
	check_exit(s, 0, r, "multi: cat of %zu bytes, %s, exits 0", len, what);
	al_is(s, canon, what);
	free(text);
	free(canon);
}

void t_multiwrite(struct suite *s)
{
	struct cmd_result *r = malloc(sizeof(*r));
	char *canon = NULL, *text, *big;
	size_t len;
	int rc;

	if (!check(s, r != NULL, "malloc", "multi: allocate"))
		return;
	/* ~180 KiB; the 128 KiB boundary inside the address, then the mask. */
	multi_case(s, r, 6000, 5, "boundary inside an address");
	multi_case(s, r, 6000, 20, "boundary inside a mask");
	multi_case(s, r, 6000, 0, "boundary at a line end");

	/* The case: exactly 128 KiB of lines, then a lone newline. */
	text = cut_list(4369, 0, &len, &canon);
	if (text) {
		big = realloc(text, AL_CHUNK + 2);
		text = big ? big : text;
		if (big && len <= AL_CHUNK) {
			/* Pad with a comment to exactly AL_CHUNK, then "\n". */
			size_t pad = AL_CHUNK - len;

			if (pad >= 2) {
				memset(text + len, '-', pad);
				text[len] = '#';
				text[AL_CHUNK - 1] = '\n';
			}
			text[AL_CHUNK] = '\n';
			al_install(test_list);
			cat_install(s, text, AL_CHUNK + 1, r);
			check_exit(s, 0, r,
				   "multi: 128 KiB of lines + a lone newline: "
				   "cat exits 0");
			al_is(s, canon, "multi: lone newline does not clear");

			/* One write of exactly 128 KiB acts at that write. */
			al_install(test_list);
			{
				int fd =
				    open(ALLOWLIST_DEV, O_WRONLY | O_CLOEXEC);
				ssize_t w =
				    fd < 0 ? -1 : write(fd, text, AL_CHUNK);

				check_rc(s, AL_CHUNK, w < 0 ? -errno : (int)w,
					 "multi: one 128 KiB write");
				al_is(s, canon,
				      "multi: 128 KiB write installed before "
				      "close");
				rc = fd < 0 || close(fd) ? -errno : 0;
				check_rc(s, 0, rc, "multi: close after it");
				al_is(s, canon, "multi: and after close");
			}
		}
		free(text);
		free(canon);
	}

	/* A bad line in the second chunk: cat fails, the old list stays. */
	text = cut_list(6000, 11, &len, &canon);
	if (text) {
		memcpy(text + len - 100 * AL_LINE, "0x000ZZZZZ", 10);
		al_install(test_list);
		rc = cat_install(s, text, len, r);
		check(s, rc != 0, "cat exited 0",
		      "multi: bad line in the second chunk: cat fails");
		check(s, memmem(r->out, r->len, "Invalid argument", 16) != NULL,
		      "no EINVAL message", "multi: cat reports EINVAL");
		al_is(s, test_list_canon,
		      "multi: bad second chunk: old list back");
		free(text);
		free(canon);
	}

	/*
	 * Exactly two chunks, the last line unterminated: the text is
	 * finished (the last line parsed) at close(2).  A 5-byte comment
	 * line puts the end of the last line's mask at byte 2 * AL_CHUNK.
	 */
	text = cut_list(8738, 27, &len, &canon);
	if (check(s, text && len == 2 * AL_CHUNK + 1, "wrong size",
		  "multi: build a 256 KiB list")) {
		al_install(test_list);
		cat_install(s, text, 2 * AL_CHUNK, r);
		check_exit(s, 0, r,
			   "multi: 256 KiB, last line unterminated: cat exits "
			   "0");
		al_is(s, canon, "multi: last line installed at close");

		/* The same with a bad last line: close(2) reports it. */
		memset(text + 2 * AL_CHUNK - (AL_LINE - 1), ' ', AL_LINE - 1);
		memcpy(text + 2 * AL_CHUNK - (AL_LINE - 1), "0x0001", 6);
		al_install(test_list);
		rc = cat_install(s, text, 2 * AL_CHUNK, r);
		check(s, rc != 0, "cat exited 0",
		      "multi: bad unterminated last line: cat fails (at "
		      "close)");
		al_is(s, test_list_canon,
		      "multi: bad last line: old list back");
	}
	free(text);
	free(canon);
	al_install(test_list);
	free(r);
}

/* ---- lockdown: the last run of a boot ---------------------------------- */

static bool lockdown_is(const char *level)
{
	char *text = NULL, want[32];
	size_t len = 0;
	bool yes;

	if (read_file(LOCKDOWN_FILE, &text, &len))
		return false;
	snprintf(want, sizeof(want), "[%s]", level);
	yes = strstr(text, want) != NULL;
	free(text);
	return yes;
}

void t_lockdown(struct suite *s)
{
	struct msr_batch_op ops[4];
	int c0 = s->cpus[0], rc, bad;
	uint64_t v = 0, cap = 0;

	rc = al_install(test_list);
	check_rc(s, 0, rc, "lockdown: install the test list");
	for (int i = 0; i < s->ncpus; i++) {
		rc = cpu_wr(s->cpus[i], MSR_MC0_ADDR, pattern(s->cpus[i], 9));
		check_rc(s, 0, rc, "lockdown: cpu%d write before lockdown",
			 s->cpus[i]);
	}
	if (!path_exists(LOCKDOWN_FILE) &&
	    mount("securityfs", "/sys/kernel/security", "securityfs", 0, NULL))
		note("mounting securityfs: %s", strerror(errno));
	check(s, lockdown_is("none"), "not none", "lockdown: starts at none");
	rc = write_file(LOCKDOWN_FILE, "integrity\n");
	check_rc(s, 0, rc, "lockdown: raise to integrity");
	if (!check(s, lockdown_is("integrity"), "not raised",
		   "lockdown: now integrity"))
		return;

	bad = 0;
	for (int i = 0; i < s->ncpus; i++) {
		int c = s->cpus[i];

		rc = cpu_wr(c, MSR_MC0_ADDR, 0x1234);
		check_rc(s, -EPERM, rc,
			 "lockdown cpu%d: per-CPU write is EPERM", c);
		rc = cpu_rd(c, MSR_MC0_ADDR, &v);
		check_rc(s, 0, rc, "lockdown cpu%d: per-CPU read works", c);
		if (v != pattern(c, 9))
			bad++;
		rc = cpu_rd(c, MSR_MCG_CAP, &cap);
		rc = rc ? rc : cpu_wr(c, MSR_MCG_CAP, cap);
		check_rc(s, -EPERM, rc,
			 "lockdown cpu%d: no-op write to mask-0 MCG_CAP is "
			 "EPERM too",
			 c);
	}
	check_long(s, 0, bad, "lockdown: per-CPU values unchanged");

	op_set(&ops[0], c0, MSR_MC0_ADDR, true, 0);
	op_set(&ops[1], c0, MSR_MC0_ADDR, false, 0x4321);
	op_set(&ops[2], c0, MSR_MCG_CAP, true, 0);
	op_set(&ops[3], c0, MSR_MCG_CAP, false, cap);
	rc = batch_run(ops, 4);
	check_rc(s, -EPERM, rc, "lockdown: batch with writes returns EPERM");
	check_rc(s, 0, ops[0].err, "lockdown: batch read op runs");
	check_u64(s, pattern(c0, 9), ops[0].msrdata,
		  "lockdown: batch read op has the value");
	check_rc(s, -EPERM, ops[1].err, "lockdown: batch write op is EPERM");
	check_rc(s, 0, ops[2].err, "lockdown: batch read of MCG_CAP runs");
	check_rc(s, -EPERM, ops[3].err,
		 "lockdown: batch no-op write to mask 0 is EPERM");
	rc = cpu_rd(c0, MSR_MC0_ADDR, &v);
	check_u64(s, pattern(c0, 9), v, "lockdown: batch wrote nothing");
	al_is(s, test_list_canon, "lockdown: allowlist still reads");
}
