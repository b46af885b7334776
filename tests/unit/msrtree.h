/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * File-backed MSR trees for tests: DIR/N/msr_safe sparse regular files
 * (value at byte offset = address x 8, little endian) and a text
 * DIR/msr_allowlist, in a fresh mkdtemp directory.  Values are read and
 * written directly, not through libmsrsave, so tests check the library
 * against the files.
 */
#ifndef MSRTREE_H
#define MSRTREE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* New tree with the given CPUs and allowlist text; aborts on failure. */
char *tree_new(const int *cpus, size_t n, const char *allowlist);
void tree_set_allowlist(const char *dir, const char *allowlist);
/* Byte offset of @msr's value in N/msr_safe. */
off_t tree_offset(uint32_t msr);
uint64_t tree_get(const char *dir, int cpu, uint32_t msr);
void tree_set(const char *dir, int cpu, uint32_t msr, uint64_t value);
/*
 * A digest of everything a write could change: the value at each listed
 * address and each CPU file's size and modification time.
 */
void tree_fingerprint(const char *dir, const int *cpus, size_t n,
		      const uint32_t *msrs, size_t nmsrs, char out[65]);
void tree_remove(const char *dir);
/* Whole file as a NUL-terminated string (aborts on failure). */
char *slurp(const char *path);
void spit(const char *path, const char *text);

/*
 * Run @argv (argv[0] a path) with stdout and stderr captured into
 * malloc'd strings; @env_dir, when not NULL, is put in
 * MSR_SAFE_DEVICE_DIR (else that variable is removed).  Returns the exit
 * status, or -1 if the program did not exit normally.
 */
int run_cmd(const char *const argv[], const char *env_dir, char **out,
	    char **err);
#endif /* MSRTREE_H */
