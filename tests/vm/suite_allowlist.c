// SPDX-License-Identifier: GPL-2.0-only
/*
 * msr-safe VM suite (see suite.h): /dev/cpu/msr_allowlist, and every shipped
 * list.
 */
#include "suite.h"

/* ---- the allowlist device ---------------------------------------------- */

/* A list text of exactly @len bytes, valid, padded with comment lines. */
char *sized_list(size_t len)
{
	static const char body[] = "0x402 0xffffffffffffffff\n";
	char *buf = malloc(len + 1);
	size_t o;

	if (!buf)
		return NULL;
	memcpy(buf, body, sizeof(body) - 1);
	o = sizeof(body) - 1;
	while (o < len) {
		size_t line = len - o > 80 ? 80 : len - o;

		memset(buf + o, ' ', line);
		buf[o] = '#';
		buf[o + line - 1] = '\n';
		o += line;
	}
	buf[len] = '\0';
	return buf;
}

struct bad_list {
	const char *name;
	const char *text;
	int err;
};

void t_allowlist(struct suite *s)
{
	static const size_t chunks[] = {1, 7, 29, 30, 59, 60, 4096};
	static const struct bad_list bad[] = {
	    {"address without mask at the end", "0x402 0x0\n0x403", -EILSEQ},
	    {"address without mask, newline", "0x402 0x0\n0x403\n", -EINVAL},
	    {"address without 0x", "402 0x0\n", -EINVAL},
	    {"non-hex address", "0x40g 0x0\n", -EINVAL},
	    {"word for an address", "hello 0x0\n", -EINVAL},
	    {"non-hex mask", "0x402 0xzz\n", -EINVAL},
	    {"three fields", "0x402 0x0 0x1\n", -EINVAL},
	    {"address above 32 bits", "0x100000000 0x0\n", -ERANGE},
	    {"mask above 64 bits", "0x402 0x10000000000000000\n", -ERANGE},
	    {"comments only", "# nothing here\n\n# still nothing\n", -ENOMSG},
	    {"duplicate address", "0x402 0x0\n0x403 0x0\n0x402 0xff\n",
	     -ENOTUNIQ},
	    {"duplicate after padding", "0x402 0x0\n0x00000402 0x0\n",
	     -ENOTUNIQ},
	};
	char *text = NULL, *big;
	size_t len = 0;
	uint64_t v;
	int rc;

	rc = al_install(test_list);
	check_rc(s, 0, rc, "allowlist: install the test list");
	for (size_t i = 0; i < sizeof(chunks) / sizeof(*chunks); i++) {
		rc = al_read(chunks[i], &text, &len);
		if (check_rc(s, 0, rc, "allowlist: read with %zu-byte reads",
			     chunks[i]))
			check_text(
			    s, test_list_canon, strlen(test_list_canon), text,
			    len,
			    "allowlist: %zu-byte reads give the canonical text",
			    chunks[i]);
		free(text);
		text = NULL;
	}
	/* pread at an offset continues the same text. */
	{
		int fd = open(ALLOWLIST_DEV, O_RDONLY | O_CLOEXEC);
		char buf[64] = {0};
		ssize_t r = fd < 0 ? -1 : pread(fd, buf, 30, 29);

		check_text(s, test_list_canon + 29, 30, buf,
			   r < 0 ? 0 : (size_t)r,
			   "allowlist: pread of 30 bytes at offset 29");
		if (fd >= 0)
			close(fd);
	}

	/* Every refused write leaves the previous list live. */
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		rc = al_install(bad[i].text);
		check_rc(s, bad[i].err, rc, "allowlist: %s refused",
			 bad[i].name);
		al_is(s, test_list_canon, bad[i].name);
		rc = cpu_rd(s->cpus[0], MSR_MC0_ADDR, &v);
		check_rc(s, 0, rc,
			 "allowlist: after %s, MC0_ADDR still readable",
			 bad[i].name);
	}
	big = sized_list(AL_MAX + 1);
	if (check(s, big != NULL, "malloc",
		  "allowlist: build oversized text")) {
		rc = al_install_len(big, AL_MAX + 1);
		check_rc(s, -E2BIG, rc, "allowlist: %d bytes is E2BIG",
			 AL_MAX + 1);
		al_is(s, test_list_canon, "oversized text");
		rc = al_install_len(big, AL_MAX);
		check_rc(s, 0, rc, "allowlist: exactly %d bytes accepted",
			 AL_MAX);
		al_is(s, AL_HEADER_TEXT "0x00000402 0xFFFFFFFFFFFFFFFF\n",
		      "largest text");
	}
	free(big);

	/* Forms of valid text. */
	rc = al_install("0x402 0xff");
	check_rc(s, 0, rc, "allowlist: last line without newline accepted");
	al_is(s, AL_HEADER_TEXT "0x00000402 0x00000000000000FF\n",
	      "no newline");
	rc = al_install(
	    "0x402\t0xff\r\n\r\n  0X403   0XFF00 # \"MC0_MISC\"\r\n");
	check_rc(s, 0, rc, "allowlist: tabs, CRLF, 0X and comments accepted");
	al_is(s,
	      AL_HEADER_TEXT "0x00000402 0x00000000000000FF\n"
			     "0x00000403 0x000000000000FF00\n",
	      "CRLF text");
	rc = al_install("0xC0000103 0x0\n0x10 0x0\n0x1 0x0\n");
	check_rc(s, 0, rc, "allowlist: unsorted list accepted");
	al_is(s,
	      AL_HEADER_TEXT "0x00000001 0x0000000000000000\n"
			     "0x00000010 0x0000000000000000\n"
			     "0xC0000103 0x0000000000000000\n",
	      "unsorted list");

	/* Clearing: a write of only whitespace. */
	rc = al_install(test_list);
	check_rc(s, 0, rc, "allowlist: reinstall before clearing");
	rc = al_install("\n");
	check_rc(s, 0, rc, "allowlist: echo > msr_allowlist accepted");
	al_is(s, AL_HEADER_TEXT, "cleared");
	rc = cpu_rd(s->cpus[0], MSR_MC0_ADDR, &v);
	check_rc(s, -EACCES, rc,
		 "allowlist: cleared list denies per-CPU reads");
	{
		struct msr_batch_op op;

		op_set(&op, s->cpus[0], MSR_MC0_ADDR, true, 0);
		rc = batch_run(&op, 1);
		check_rc(s, -EACCES, rc,
			 "allowlist: cleared list denies batches");
	}
	rc = al_install(test_list);
	check_rc(s, 0, rc, "allowlist: install after clearing");
	rc = al_install(" \t\r\n\n ");
	check_rc(s, 0, rc, "allowlist: whitespace-only write clears");
	al_is(s, AL_HEADER_TEXT, "cleared by whitespace");

	/* A bigger list, so the reader crosses page boundaries. */
	{
		size_t nent = 3000, cap = nent * 32 + 1, o = 0;
		char *t = malloc(cap);
		struct ref_list rl = {0};
		char *canon;
		size_t clen;

		if (!check(s, t != NULL, "malloc",
			   "allowlist: build 3000 entries"))
			return;
		for (size_t i = 0; i < nent; i++)
			o += (size_t)snprintf(t + o, cap - o, "0x%zx 0x%zx\n",
					      (nent - i) * 7 + 0x10000, i);
		rc = ref_parse(t, o, &rl, false);
		canon = ref_render(&rl, &clen);
		rc = al_install_len(t, o);
		check_rc(s, 0, rc, "allowlist: 3000 entries accepted");
		for (size_t i = 0; i < 3; i++) {
			size_t ch = i == 0 ? 29 : i == 1 ? 4096 : 65536;

			rc = al_read(ch, &text, &len);
			if (check_rc(s, 0, rc, "allowlist: read 3000 entries"))
				check_text(
				    s, canon, clen, text, len,
				    "allowlist: 3000 entries in %zu-byte reads",
				    ch);
			free(text);
			text = NULL;
		}
		free(canon);
		free(rl.e);
		free(t);
	}
	rc = al_install(test_list);
	check_rc(s, 0, rc, "allowlist: test list back");
}

/* ---- counters, re-check, hotplug, faults ------------------------------ */

/* ---- every shipped allowlist loads and reads back canonically ---------- */

/* Install @text, read back, compare with the reference rendering of @ref. */
bool install_matches(const char *text, size_t len, const char *reftext,
		     size_t reflen, bool merge_ref, char *why, size_t whycap)
{
	struct ref_list rl = {0};
	char *canon = NULL, *back = NULL;
	size_t clen = 0, blen = 0;
	int rc;
	bool ok = false;

	rc = ref_parse(reftext, reflen, &rl, merge_ref);
	if (rc) {
		snprintf(why, whycap, "reference parse failed: %d", rc);
		goto out;
	}
	canon = ref_render(&rl, &clen);
	rc = al_install_len(text, len);
	if (rc) {
		snprintf(why, whycap, "install refused: %s",
			 strerrorname_np(-rc) ? strerrorname_np(-rc) : "?");
		goto out;
	}
	rc = al_read(29, &back, &blen);
	if (rc) {
		snprintf(why, whycap, "read back failed: %d", rc);
		goto out;
	}
	if (blen != clen || memcmp(back, canon, clen)) {
		size_t i = 0;

		while (i < blen && i < clen && back[i] == canon[i])
			i++;
		snprintf(
		    why, whycap,
		    "read back %zu bytes, canonical %zu, differ at byte %zu",
		    blen, clen, i);
		goto out;
	}
	ok = true;
out:
	free(rl.e);
	free(canon);
	free(back);
	return ok;
}

/* "@a/@b" into @buf; false if it did not fit. */
bool join(char *buf, size_t cap, const char *a, const char *b)
{
	int n = snprintf(buf, cap, "%s/%s", a, b);

	return n > 0 && (size_t)n < cap;
}

int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names in @dir starting with @prefix (NULL: all regular files). */
int list_dir(const char *dir, const char *prefix, char ***names, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t cap = 0;

	*names = NULL;
	*n = 0;
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' ||
		    (prefix && strncmp(de->d_name, prefix, strlen(prefix))))
			continue;
		if (*n == cap) {
			char **nn = realloc(*names, (cap ? cap * 2 : 64) *
							sizeof(char *));

			if (!nn)
				break;
			*names = nn;
			cap = cap ? cap * 2 : 64;
		}
		(*names)[(*n)++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(*names, *n, sizeof(char *), name_cmp);
	return 0;
}

void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/*
 * Baseline @base merged with @overlay.  The merge ran on the host before
 * boot (tests/vm/run: msr-allowlist merge BASE OVERLAY > MERGED/LABEL, its
 * exit code in LABEL.rc): 270 execs over 9p under TCG would take minutes.
 * Here: the merged text must load and read back as the reference union.
 */
void check_merged(struct suite *s, const char *base, const char *overlay,
		  const char *label)
{
	char *bt = NULL, *ot = NULL, *both = NULL, *mt = NULL, *rct = NULL;
	char why[200], mpath[PATH_MAX], rcpath[PATH_MAX + 8];
	size_t bl = 0, ol = 0, ml = 0, rl = 0;

	if (read_file(base, &bt, &bl) || read_file(overlay, &ot, &ol) ||
	    !(both = malloc(bl + ol + 2))) {
		check(s, false, "cannot read", "shipped %s: read the files",
		      label);
		goto out;
	}
	memcpy(both, bt, bl);
	both[bl] = '\n';
	memcpy(both + bl + 1, ot, ol);
	if (!join(mpath, sizeof(mpath), s->merged, label))
		goto out;
	snprintf(rcpath, sizeof(rcpath), "%s.rc", mpath);
	if (!check(s, read_file(rcpath, &rct, &rl) == 0,
		   "no merge result (msr-allowlist missing?)",
		   "shipped %s: msr-allowlist merge ran", label))
		goto out;
	if (!check(s, strcmp(rct, "0\n") == 0, rct,
		   "shipped %s: msr-allowlist merge exit 0", label))
		goto out;
	if (!check(s, read_file(mpath, &mt, &ml) == 0, "cannot read",
		   "shipped %s: read the merged list", label))
		goto out;
	why[0] = '\0';
	check(
	    s,
	    install_matches(mt, ml, both, bl + ol + 1, true, why, sizeof(why)),
	    why, "shipped %s: merged list loads and reads back canonically",
	    label);
out:
	free(bt);
	free(ot);
	free(both);
	free(mt);
	free(rct);
}

void t_shipped(struct suite *s)
{
	char dir[PATH_MAX], path[PATH_MAX], tool[PATH_MAX], why[200];
	char **base = NULL, **profs = NULL;
	size_t nbase = 0, nprof = 0;
	int rc;

	tool_path(s, "allowlists/msr-allowlist", tool, sizeof(tool));
	check(s, access(tool, X_OK) == 0,
	      "missing: build allowlists/msr-allowlist in MSR_BUILD_DIR",
	      "shipped: %s exists", tool);
	snprintf(dir, sizeof(dir), "%s/allowlists", s->repo);
	rc = list_dir(dir, "al_", &base, &nbase);
	check_rc(s, 0, rc, "shipped: list %s", dir);
	check(s, nbase > 0, "none found", "shipped: %zu baselines in %s", nbase,
	      dir);
	for (size_t i = 0; i < nbase; i++) {
		char *text = NULL;
		size_t len = 0;

		if (!join(path, sizeof(path), dir, base[i]))
			continue;
		why[0] = '\0';
		rc = read_file(path, &text, &len);
		check(s,
		      rc == 0 && install_matches(text, len, text, len, false,
						 why, sizeof(why)),
		      why, "shipped %s: loads and reads back canonically",
		      base[i]);
		free(text);
	}
	snprintf(dir, sizeof(dir), "%s/allowlists/profiles", s->repo);
	rc = list_dir(dir, NULL, &profs, &nprof);
	check(s, rc == 0 && nprof > 0, "no profiles",
	      "shipped: %zu profiles in %s", nprof, dir);
	for (size_t p = 0; p < nprof; p++) {
		char pdir[PATH_MAX], **ov = NULL, label[128];
		size_t nov = 0;

		if (!join(pdir, sizeof(pdir), dir, profs[p]))
			continue;
		list_dir(pdir, "al_", &ov, &nov);
		check(s, nov > 0, "empty profile",
		      "shipped profile %s: %zu overlays", profs[p], nov);
		for (size_t i = 0; i < nov; i++) {
			char bpath[PATH_MAX];

			if (!join(path, sizeof(path), pdir, ov[i]))
				continue;
			snprintf(bpath, sizeof(bpath), "%s/allowlists/%s",
				 s->repo, ov[i]);
			snprintf(label, sizeof(label), "%s/%s", profs[p],
				 ov[i]);
			if (!check(s, path_exists(bpath), "no such baseline",
				   "shipped %s: baseline %s exists", label,
				   ov[i]))
				continue;
			check_merged(s, bpath, path, label);
		}
		free_names(ov, nov);
	}
	/* The emulator's lists, used by the demo and these tests. */
	{
		char **ov = NULL, bpath[PATH_MAX], label[128], *text = NULL;
		size_t nov = 0, len = 0;

		snprintf(bpath, sizeof(bpath),
			 "%s/allowlists/emulator/baseline", s->repo);
		why[0] = '\0';
		rc = read_file(bpath, &text, &len);
		check(s,
		      rc == 0 && install_matches(text, len, text, len, false,
						 why, sizeof(why)),
		      rc ? "cannot read" : why,
		      "shipped emulator/baseline: loads and reads back "
		      "canonically");
		free(text);
		snprintf(dir, sizeof(dir), "%s/allowlists/emulator/profiles",
			 s->repo);
		list_dir(dir, NULL, &ov, &nov);
		check(s, nov > 0, "none", "shipped: %zu emulator profiles",
		      nov);
		for (size_t i = 0; i < nov; i++) {
			if (!join(path, sizeof(path), dir, ov[i]))
				continue;
			snprintf(label, sizeof(label), "emulator/%s", ov[i]);
			check_merged(s, bpath, path, label);
		}
		free_names(ov, nov);
	}
	free_names(base, nbase);
	free_names(profs, nprof);
	rc = al_install(test_list);
	check_rc(s, 0, rc, "shipped: test list back");
}
