/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The in-VM test suite for msr-safe.ko: runs inside the qemu guest that
 * tests/vm/run boots, against the real module in Debian's kernel.
 *
 * Output is one line per check, "ok N name" or "not ok N name: expected X
 * got Y", on stdout (the guest's second serial port).  Every check asserts
 * on a value; nothing is skipped: a check that cannot run fails.
 *
 *   suite --root --ko KO --repo REPO --build BUILD --scratch DIR
 *   suite --unpriv --gid GID --repo REPO
 *
 * The root run loads and reloads the module itself (finit_module and
 * delete_module), and leaves it loaded with the test allowlist and the
 * device nodes set up as udev would, for the unprivileged run.
 *
 * One file per device or theme (suite_percpu.c, suite_batch.c, ...), the
 * shared helpers in suite_common.c; this header declares them all.
 */
#ifndef MSR_SAFE_VM_SUITE_H
#define MSR_SAFE_VM_SUITE_H

#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "msr_safe.h"
#include "old_client.h"

#define DEV_DIR	       "/dev/cpu"
#define BATCH_DEV      DEV_DIR "/msr_batch"
#define ALLOWLIST_DEV  DEV_DIR "/msr_allowlist"
#define VERSION_DEV    DEV_DIR "/msr_safe_version"
#define SYS_COUNTERS   "/sys/kernel/msr_safe"
#define SYS_PARAMS     "/sys/module/msr_safe/parameters"
#define MODULE_NAME    "msr_safe"
#define AL_HEADER_TEXT "# MSR # Write Mask # Comment\n"
#define AL_MAX	       (128 * 1024 + 1)
#define MAX_CPUS       64
#define OP_SENTINEL    0x5a5a /* never a valid op->err: must be overwritten */
/* Input data of read ops under stress: a read that ran replaces it. */
#define READ_SENTINEL UINT64_C(0xdeadbeefcafef00d)
#define ABSENT_CPU    4000
#define UNPRIV_UID    65534

/* MSRs the emulator stores (PLATFORM.md), restored after each test. */
#define MSR_MCG_CAP   0x179u
#define MSR_APIC_BASE 0x1bu
#define MSR_MC0_ADDR  0x402u
#define MSR_MC0_MISC  0x403u
#define MSR_TSC_AUX   0xc0000103u
#define MSR_UNLISTED  0x3au /* FEATURE_CONTROL: never in a test list */

#define MASK_ADDR UINT64_C(0xffffffffffffffff)
#define MASK_MISC UINT64_C(0x00000000ffff0000)
#define MASK_TSC_AUX \
	UINT64_C(0x00000000ff000000) /* Linux keeps cpu/node below */

/* The list every section starts from. */
static const char test_list[] =
    "# msr-safe vm test list\n"
    "0x00000402 0xFFFFFFFFFFFFFFFF # \"MC0_ADDR\"\n"
    "0x403 0x00000000FFFF0000\n"
    "0xC0000103 0x00000000FF000000 # TSC_AUX, upper byte only\n"
    "0x179 0x0 # MCG_CAP read-only\n"
    "0x0000001B 0x0\n";
static const char test_list_canon[] =
    AL_HEADER_TEXT "0x0000001B 0x0000000000000000\n"
		   "0x00000179 0x0000000000000000\n"
		   "0x00000402 0xFFFFFFFFFFFFFFFF\n"
		   "0x00000403 0x00000000FFFF0000\n"
		   "0xC0000103 0x00000000FF000000\n";
/* The same addresses, all fully writable: used to set and restore. */
static const char full_list[] = "0x402 0xffffffffffffffff\n"
				"0x403 0xffffffffffffffff\n"
				"0xc0000103 0xffffffffffffffff\n"
				"0x179 0x0\n"
				"0x1b 0x0\n";

struct suite {
	int n, passed, failed;
	bool root;
	const char *ko, *repo, *build, *scratch, *merged;
	void *bad; /* a PROT_NONE page: a pointer the kernel cannot copy */
	gid_t gid;
	int cpus[MAX_CPUS]; /* online at start, ascending */
	int ncpus;
	int max_possible; /* highest possible CPU number */
};

struct saved_msrs {
	uint64_t addr[MAX_CPUS], misc[MAX_CPUS], aux[MAX_CPUS];
};
struct udev_rule {
	char subsystem[64], kernel[64], owner[64], group[64], mode[64];
};

struct ref_entry {
	uint32_t msr;
	uint64_t mask;
};

struct ref_list {
	struct ref_entry *e;
	size_t n, cap;
};

static const char *const counter_names[] = {"denied_not_allowlisted",
					    "denied_read_only",
					    "denied_offline_cpu", "faults"};
#define NCOUNTERS 4

/* Results the unprivileged child of t_recheck sends its parent. */
struct recheck_result {
	int percpu_before, batch_before;
	int percpu_chmod, batch_chmod;
	int percpu_chgrp, batch_chgrp;
	int percpu_after, batch_after;
};

struct cmd_result {
	int status; /* exit code, or 128 + signal, or -errno if it never ran */
	char out[256 * 1024];
	size_t len;
};

/* ---- helpers (suite_common.c) and sections (suite_*.c) ---- */

void report(struct suite *s, bool pass, const char *detail, const char *fmt,
	    va_list ap);
const char *errname(int rc, char *buf, size_t cap);
__attribute__((format(printf, 4, 5))) bool
check(struct suite *s, bool cond, const char *detail, const char *fmt, ...);
__attribute__((format(printf, 4, 5))) bool
check_u64(struct suite *s, uint64_t exp, uint64_t got, const char *fmt, ...);
__attribute__((format(printf, 4, 5))) bool
check_long(struct suite *s, long exp, long got, const char *fmt, ...);
__attribute__((format(printf, 4, 5))) bool
check_rc(struct suite *s, int exp, int got, const char *fmt, ...);
__attribute__((format(printf, 5, 6))) bool
check_rc2(struct suite *s, int exp1, int exp2, int got, const char *fmt, ...);
void quote(const char *p, size_t n, char *out, size_t cap);
__attribute__((format(printf, 6, 7))) bool
check_text(struct suite *s, const char *exp, size_t elen, const char *got,
	   size_t glen, const char *fmt, ...);
void note(const char *fmt, ...);
double now_s(void);
int read_file(const char *path, char **out, size_t *len);
int write_file(const char *path, const char *text);
int read_u64_file(const char *path, uint64_t *v);
bool path_exists(const char *path);
int parse_cpulist(const char *text, int *cpus, int max);
int online_cpus(int *cpus, int max);
int set_cpu_online(int cpu, bool on);
void cpu_path(int cpu, char *buf, size_t cap);
int cpu_open(int cpu, int flags);
int fd_rd(int fd, uint32_t msr, uint64_t *v);
int fd_wr(int fd, uint32_t msr, uint64_t v);
int cpu_rd(int cpu, uint32_t msr, uint64_t *v);
int cpu_wr(int cpu, uint32_t msr, uint64_t v);
void op_set(struct msr_batch_op *op, int cpu, uint32_t msr, bool read,
	    uint64_t data);
int batch_fd_run(int fd, struct msr_batch_op *ops, uint32_t n,
		 uint32_t version);
int batch_run(struct msr_batch_op *ops, uint32_t n);
int al_install_len(const char *text, size_t len);
int al_install(const char *text);
int al_read(size_t chunk, char **out, size_t *len);
bool al_is(struct suite *s, const char *canon, const char *what);
int counter(const char *name, uint64_t *v);
int set_param(const char *name, const char *value);
int mod_load(const struct suite *s, const char *params);
int mod_unload(void);
int delete_module_unpriv_rc(void);
bool mod_loaded(void);
int udev_parse(const char *text, struct udev_rule *rules, int max);
int udev_id(const struct suite *s, const char *name, unsigned int *id);
int udev_node(const char *name, unsigned int maj, unsigned int min, char *path,
	      size_t cap);
int udev_apply(const struct suite *s);
bool reload(struct suite *s, const char *params, const char *why);
int parse_hex(const char *tok, size_t len, uint64_t max, uint64_t *out);
int ref_parse(const char *text, size_t len, struct ref_list *l, bool merge);
int ref_cmp(const void *a, const void *b);
char *ref_render(struct ref_list *l, size_t *len);
void *bad_page(void);
int node_mode(const char *path, unsigned int *mode, unsigned int *uid,
	      unsigned int *gid);
void expect_node(struct suite *s, const char *path, unsigned int mode,
		 unsigned int uid, unsigned int gid, const char *what);
bool save_msrs(struct suite *s, struct saved_msrs *sv);
void restore_msrs(struct suite *s, const struct saved_msrs *sv,
		  const char *what);
uint64_t pattern(int cpu, unsigned int round);
int count_bad_ops(const struct msr_batch_op *ops, size_t n, int want);
bool counters_read(struct suite *s, uint64_t *c, const char *what);
void counters_expect(struct suite *s, const uint64_t *before,
		     const uint64_t *delta, const char *what);
int drop_privileges(gid_t gid);
int batch_fd_read1(int fd, int cpu, uint32_t msr);
void run_cmd(char *const argv[], struct cmd_result *res);
__attribute__((format(printf, 4, 5))) bool
check_exit(struct suite *s, int exp, const struct cmd_result *r,
	   const char *fmt, ...);
void tool_path(const struct suite *s, const char *rel, char *buf, size_t cap);
bool snap3(struct suite *s, struct saved_msrs *sv);
int snap3_diff(const struct suite *s, const struct saved_msrs *a,
	       const struct saved_msrs *b);
void expect_live_is(struct suite *s, const char *path, const char *overlay,
		    const char *label);
void t_nodes(struct suite *s);
void t_version(struct suite *s);
void t_percpu(struct suite *s);
void t_readonly_noop(struct suite *s);
void t_batch(struct suite *s);
void t_max_batch(struct suite *s);
char *sized_list(size_t len);
void t_allowlist(struct suite *s);
bool install_matches(const char *text, size_t len, const char *reftext,
		     size_t reflen, bool merge_ref, char *why, size_t whycap);
bool join(char *buf, size_t cap, const char *a, const char *b);
int name_cmp(const void *a, const void *b);
int list_dir(const char *dir, const char *prefix, char ***names, size_t *n);
void free_names(char **names, size_t n);
void check_merged(struct suite *s, const char *base, const char *overlay,
		  const char *label);
void t_shipped(struct suite *s);
void t_counters(struct suite *s);
void recheck_child(int cpu, gid_t gid, int to_parent, int from_parent);
int wait_child(int to_child, int from_child);
void t_recheck(struct suite *s, bool recheck);
void t_hotplug(struct suite *s);
void t_faults(struct suite *s);
int proc_devices_msr(char *out, size_t cap, int *count);
bool major_free(int major);
int node_major(const char *path);
void t_majors(struct suite *s);
long kernel_mem_kib(void);
void t_cycles(struct suite *s);
void t_leaks(struct suite *s);
bool err_allowed(int err, bool hotplug);
void t_stress(struct suite *s, bool hotplug, double seconds);
void t_allowlist_tool(struct suite *s, struct cmd_result *r);
void t_tools(struct suite *s);
void u_tools(struct suite *s);
void u_suite(struct suite *s);
int usage(void);

#endif /* MSR_SAFE_VM_SUITE_H */
