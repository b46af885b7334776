/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libmsrsave: snapshot, restore and verify allowlisted MSRs on every CPU.
 *
 * Linked in-process by the msrsave, msrctl and msr-allowlist commands and
 * by the SPANK plugin.  Every function returns 0 or a negative errno; on
 * failure it fills *err (when not NULL) with one line naming the file,
 * line, field or value at fault.  No global mutable state.
 */
#ifndef MSRSAVE_H
#define MSRSAVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allowlist.h"

struct json_object;

#define MSRSAVE_DEFAULT_DEVICE_DIR "/dev/cpu"
#define MSRSAVE_DEVICE_DIR_ENV	   "MSR_SAFE_DEVICE_DIR"
#define MSRSAVE_STATE_FORMAT	   "msr-safe-state"
#define MSRSAVE_STATE_VERSION	   1

/* ---- errors ------------------------------------------------------------ */

struct msr_err {
	char msg[1024];
};

/* Format a message into @e (may be NULL) and return @rc (negative). */
int msr_err_set(struct msr_err *e, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Meaning of a device errno for an op, e.g. -EACCES: "not in the allowlist". */
const char *msr_op_strerror(int err);

/* ---- allowlists (userspace side of the shared parser) ------------------ */

struct msr_allowlist {
	struct al_entry *entries; /* sorted by address */
	size_t count;
};

/* Parse text; @name (a path or "<stdin>") prefixes "FILE:LINE: ..." */
int msr_allowlist_parse(const char *text, size_t len, const char *name,
			struct msr_allowlist *al, struct msr_err *err);
int msr_allowlist_load(const char *path, struct msr_allowlist *al,
		       struct msr_err *err);
/* Union, masks OR'd. */
int msr_allowlist_merge(const struct msr_allowlist *a,
			const struct msr_allowlist *b,
			struct msr_allowlist *out, struct msr_err *err);
/* Canonical text (header + lines), malloc'd, NUL-terminated. */
int msr_allowlist_render(const struct msr_allowlist *al, char **text,
			 size_t *len, struct msr_err *err);
void msr_allowlist_free(struct msr_allowlist *al);

/* ---- devices ----------------------------------------------------------- */

enum msr_backend {
	MSR_BACKEND_BATCH,  /* DIR/msr_batch ioctl */
	MSR_BACKEND_PERCPU, /* DIR/N/msr_safe pread/pwrite (or regular files) */
	MSR_BACKEND_STOCK,  /* DIR/N/msr, the kernel's own driver */
};

struct msr_dev;

/*
 * File-backed trees give each MSR its own 8-byte slot: the value of MSR A
 * is at byte offset A * MSR_FILE_SLOT of N/msr_safe (a sparse file).  The
 * real device nodes take offset = address instead.
 */
#define MSR_FILE_SLOT 8

/*
 * Open the device directory @dir (NULL: $MSR_SAFE_DEVICE_DIR, else
 * /dev/cpu).  CPUs are the numeric subdirectories holding a device node
 * (sparse sets such as 0,2,5 are fine).  The backend is chosen in the
 * order of enum msr_backend.  A tree of regular files N/msr_safe (value at
 * byte offset = address x MSR_FILE_SLOT, little endian, 0 past EOF) plus
 * a text msr_allowlist is a file-backed tree: the library then enforces
 * the allowlist itself (EACCES, EROFS, masked writes), just as the module
 * does.
 */
int msr_dev_open(const char *dir, struct msr_dev **out, struct msr_err *err);
void msr_dev_close(struct msr_dev *dev);
const char *msr_dev_dir(const struct msr_dev *dev);
enum msr_backend msr_dev_backend(const struct msr_dev *dev);
const char *msr_backend_name(enum msr_backend b);
bool msr_dev_is_file_backed(const struct msr_dev *dev);
size_t msr_dev_ncpus(const struct msr_dev *dev);
const int *msr_dev_cpus(const struct msr_dev *dev); /* ascending */

struct msr_op {
	int cpu;
	uint32_t msr;
	bool write;
	uint64_t value; /* in for writes, out for reads */
	uint64_t wmask; /* out: the write mask the device applied */
	int err;	/* out: 0 or -EACCES, -EROFS, -ENXIO, -EIO */
};

/*
 * Run @n ops (one batch ioctl when the batch device exists).  Each op gets
 * its own err; returns 0 when all succeeded, else the first op's error,
 * or a call error (with *err filled) when nothing could run.
 */
int msr_dev_exec(struct msr_dev *dev, struct msr_op *ops, size_t n,
		 struct msr_err *err);

/* The live allowlist: DIR/msr_allowlist read back and parsed. */
int msr_dev_allowlist_read(struct msr_dev *dev, struct msr_allowlist *al,
			   struct msr_err *err);
/*
 * Install @al as the live allowlist in one write(2) of its canonical text
 * (an empty list clears it).  File-backed trees: atomic rename.  The errno
 * of a refused write is explained in *err.
 */
int msr_dev_allowlist_install(struct msr_dev *dev,
			      const struct msr_allowlist *al,
			      struct msr_err *err);

/* ---- host identity ----------------------------------------------------- */

struct msr_cpu_id {
	char vendor[16]; /* "GenuineIntel", "AuthenticAMD", ... */
	unsigned int family;
	unsigned int model;
};

/* From /proc/cpuinfo (@path NULL) or the given file. */
int msr_cpu_identify(const char *path, struct msr_cpu_id *id,
		     struct msr_err *err);
/* "al_<FF>_<M>", e.g. al_06_8F, al_19_1. */
void msr_allowlist_name(const struct msr_cpu_id *id, char *buf, size_t cap);
#define MSRSAVE_BOOT_ID_FILE "/proc/sys/kernel/random/boot_id"
/*
 * The boot id from @path (NULL: MSRSAVE_BOOT_ID_FILE; tests fake a reboot
 * with another file), without the newline.  It must be UUID-shaped
 * (36 characters: hex digits and dashes), so it is safe in a path, JSON
 * or a log line; anything else is -EBADMSG naming the file.  @cap >= 37.
 */
int msr_boot_id_read(const char *path, char *buf, size_t cap,
		     struct msr_err *err);
/* msr_boot_id_read(NULL, ...). */
int msr_boot_id(char *buf, size_t cap, struct msr_err *err);

/* ---- names that become parts of paths ---------------------------------- */

#define MSR_PROFILE_NAME_MAX 63
/*
 * The one profile-name rule (plugin, site config, msr-allowlist):
 * 1..MSR_PROFILE_NAME_MAX ASCII letters, digits, '_' or '-', the first a
 * letter or digit.  No '.', no '/'.
 */
bool msr_profile_name_valid(const char *name);
/* The rule in words, for error messages. */
const char *msr_profile_name_rule(void);
/*
 * A Slurm job id fit to be part of a path: decimal, 1..4294967295, no
 * leading zero.  Check one read back from a file before using it.
 */
bool msr_job_id_valid(const char *id);

/* ---- files: the one reader and the one writer -------------------------- */

/* Flags of msr_file_write(), msr_file_read(), msr_state_save/_read(). */
/*
 * Durable: fsync the file, rename it into place, fsync the directory.  Without
 * it the replacement is still atomic (old or new file, never a mix) but may
 * be lost, or be an empty file, after a power loss.
 */
#define MSR_FILE_SYNC 0x1u
/*
 * Trusted: checked on the opened descriptors, not the path.  Writing, the
 * directory must belong to the caller's euid and be writable by nobody
 * else; reading, the file must be a regular file (no symlink, no FIFO)
 * of the caller's euid with no group or other permission bits.  -EPERM
 * (or -ELOOP for a symlink) with the uid and mode found in *err.
 */
#define MSR_FILE_PRIVATE 0x2u

/*
 * Replace @path with @len bytes, mode @mode, atomically: a temp file
 * ".NAME.tmp.XXXXXX" in the same directory, renamed over @path.  A
 * symbolic link or non-regular file at @path is refused (-ELOOP, -EINVAL)
 * and left alone.  On failure @path is untouched and the temp file gone;
 * a writer that is killed leaves at most its temp file, which no reader
 * opens (msr_file_prune_temps() removes it).
 */
int msr_file_write(const char *path, const void *buf, size_t len,
		   unsigned int mode, unsigned int flags, struct msr_err *err);
/* msr_file_write() with MSR_FILE_SYNC. */
int msr_write_file_atomic(const char *path, const void *buf, size_t len,
			  unsigned int mode, struct msr_err *err);
/*
 * Read a whole file (NUL-terminated, at most @max bytes, else -EFBIG);
 * -ENOENT when absent.
 */
int msr_file_read(const char *path, size_t max, unsigned int flags, char **buf,
		  size_t *len, struct msr_err *err);
/* msr_file_read() with no flags. */
int msr_read_file(const char *path, size_t max, char **buf, size_t *len,
		  struct msr_err *err);
/* Whether a directory entry's @name is one of msr_file_write()'s temps. */
bool msr_file_is_temp(const char *name);
/*
 * Remove msr_file_write()'s leftover temp files in @dir whose mtime is at
 * least @min_age seconds old (0: all; a writer that is running right now
 * has a fresh one).  Returns the first error; counts removals in @removed.
 */
int msr_file_prune_temps(const char *dir, int64_t min_age, size_t *removed,
			 struct msr_err *err);

/* ---- strict JSON files ------------------------------------------------- */

/*
 * Parse exactly one JSON value from @text: refused with -EBADMSG and a
 * message naming @name (and the byte) when truncated, invalid, followed by
 * anything but whitespace, holding a NUL byte, or repeating a key within
 * one object (json-c would silently keep the last).  -EFBIG past 2 GiB.
 */
int msr_json_parse(const char *text, size_t len, const char *name,
		   struct json_object **out, struct msr_err *err);
/* msr_file_read() (@flags: MSR_FILE_PRIVATE) + msr_json_parse(); an empty
 * file is -EBADMSG, an absent one -ENOENT. */
int msr_json_read(const char *path, size_t max, unsigned int flags,
		  struct json_object **out, struct msr_err *err);
/* @o as pretty JSON plus a newline, through msr_file_write(). */
int msr_json_write(const char *path, struct json_object *o, unsigned int mode,
		   unsigned int flags, struct msr_err *err);

/* ---- state ------------------------------------------------------------- */

struct msr_state_msr {
	uint32_t msr;
	uint64_t wmask;	  /* mask in force when the snapshot was taken */
	uint64_t *values; /* [ncpus], parallel to msr_state.cpus */
	int *errs;	  /* [ncpus]: 0, or an unreadable value's -errno */
};

struct msr_job_info {
	char id[32];
	uint32_t uid;
	char user[64];
	char partition[64];
	char profile[64];
};

struct msr_state {
	char host[256];
	char boot_id[64];
	int64_t created; /* seconds since the epoch */
	char tool_version[32];
	struct msr_cpu_id cpu;
	char allowlist_path[4096];
	char allowlist_sha256[65];
	char *allowlist_text; /* canonical text of the list in force */
	int *cpus;
	size_t ncpus;
	struct msr_state_msr *msrs; /* ascending by address */
	size_t nmsrs;
	bool has_job;
	struct msr_job_info job;
	struct json_object *outcome; /* optional; kept and written as-is */
};

/* Snapshot only entries with a non-zero write mask. */
#define MSR_SNAP_WRITABLE_ONLY 0x1u

/*
 * Read every MSR of @al on every CPU of @dev.  An unreadable value is
 * recorded with its errno in errs[] rather than failing the snapshot (the
 * caller warns; restore skips it).  @al_path is recorded as is.
 */
int msr_snapshot(struct msr_dev *dev, const struct msr_allowlist *al,
		 const char *al_path, unsigned int flags,
		 struct msr_state **out, struct msr_err *err);

struct msr_mismatch {
	int cpu;
	uint32_t msr;
	uint64_t mask;
	uint64_t expected; /* masked */
	uint64_t actual;   /* masked */
	int err;	   /* 0, or the op's negative errno */
};

struct msr_report {
	struct msr_mismatch *items;
	size_t count;	   /* mismatches or failed ops */
	size_t written;	   /* values written back */
	size_t unreadable; /* values the snapshot could not read: skipped */
};

/*
 * Write back every saved value with a non-zero mask, then verify.
 * Returns 0 when everything verified, -EIO with @rep listing each cpu,
 * msr, expected and actual masked value otherwise.
 */
int msr_restore(struct msr_dev *dev, const struct msr_state *st,
		struct msr_report *rep, struct msr_err *err);
/* Compare the live values with @st under each entry's mask; as above. */
int msr_verify(struct msr_dev *dev, const struct msr_state *st,
	       struct msr_report *rep, struct msr_err *err);
/* Why "restore what changed" could not put one value back. */
enum msr_unrestored_why {
	MSR_UNRESTORED_MISMATCH = 1, /* read back differs under the mask */
	MSR_UNRESTORED_OP_FAILED,    /* write or read-back failed: err */
	MSR_UNRESTORED_NOT_SAVED,    /* writable, but unreadable at the
				      * snapshot (err: why then): a change
				      * to it cannot be undone */
	MSR_UNRESTORED_NEW_CPU,	     /* online now, absent from the
				      * snapshot: nothing saved for any MSR
				      * of it (msr, mask are 0) */
};

struct msr_unrestored {
	int cpu;
	uint32_t msr;
	uint64_t mask;
	uint64_t expected; /* saved & mask */
	uint64_t actual;   /* found & mask, when it could be read */
	int err;	   /* 0 or a negative errno */
	enum msr_unrestored_why why;
};

struct msr_changes {
	/* Values the job left changed: expected = saved & mask, actual =
	 * found & mask; err is the read's errno when unreadable now. */
	struct msr_mismatch *changed;
	size_t nchanged;
	struct msr_unrestored *failed; /* not as saved afterwards, and why */
	size_t nfailed;
	size_t compared; /* values read and compared */
	size_t written;	 /* values written back */
};

/* msr_restore_changed(): list what changed and what would fail only. */
#define MSR_RESTORE_DRY_RUN 0x1u

/*
 * Restore what changed: read every value of @st whose mask is non-zero,
 * compare only the bits the job could write ((saved ^ now) & mask),
 * write back just the ones that differ or cannot be read now, and read
 * those back.  Reported as failures besides values that did not go back:
 * MSRs writable but unreadable at the snapshot, and CPUs that came online
 * since (both may hold changes nobody can undo); a CPU gone offline fails
 * value by value (-ENXIO) while the others are restored.  Returns 0 when
 * nothing failed, -EIO with @out listing the failures, another -errno
 * (and *err) when nothing could be done.  msr_changes_free() @out.
 */
int msr_restore_changed(struct msr_dev *dev, const struct msr_state *st,
			unsigned int flags, struct msr_changes *out,
			struct msr_err *err);
void msr_changes_free(struct msr_changes *c);
/* The reason of @u in words, e.g. "CPU came online after the snapshot". */
const char *msr_unrestored_strwhy(const struct msr_unrestored *u);

/* Which (cpu, msr) values differ between two states (full 64 bits). */
int msr_state_diff(const struct msr_state *a, const struct msr_state *b,
		   struct msr_report *rep, struct msr_err *err);
void msr_report_free(struct msr_report *rep);

/*
 * Write @st as JSON (mode 0600) with msr_file_write() and @flags
 * (MSR_FILE_SYNC, MSR_FILE_PRIVATE).
 */
int msr_state_save(const char *path, const struct msr_state *st,
		   unsigned int flags, struct msr_err *err);
/* msr_state_save() with MSR_FILE_SYNC. */
int msr_state_write(const char *path, const struct msr_state *st,
		    struct msr_err *err);
/*
 * Strict: any wrong type, missing field, unknown field, bad hex, duplicate
 * MSR, unknown version, truncation or trailing text fails with a message
 * naming the file and field.  Returns -ENOENT when @path is absent,
 * -EBADMSG when it is there but not a valid state (corrupt, truncated,
 * empty), -ELOOP/-EPERM/-EINVAL for an unsafe file under
 * MSR_FILE_PRIVATE, another -errno for I/O.  Nothing is half-loaded.
 */
int msr_state_read(const char *path, unsigned int flags, struct msr_state **out,
		   struct msr_err *err);
/* msr_state_read() with no flags. */
int msr_state_load(const char *path, struct msr_state **out,
		   struct msr_err *err);
/* The same check on text in memory; @name prefixes messages (fuzzing). */
int msr_state_parse(const char *text, size_t len, const char *name,
		    struct msr_state **out, struct msr_err *err);
/* The state as a JSON object (new reference), as written to disk. */
int msr_state_to_json(const struct msr_state *st, struct json_object **out,
		      struct msr_err *err);
void msr_state_free(struct msr_state *st);

/* ---- numbers and CPU lists -------------------------------------------- */

/* "0-3,8" -> sorted unique CPU numbers; "all" -> every CPU of @dev. */
int msr_parse_cpulist(const char *text, const struct msr_dev *dev, int **cpus,
		      size_t *n, struct msr_err *err);
/* The inverse: "0-3,8" from sorted CPU numbers; "" for none; truncated
 * with "..." if @cap is too small. */
void msr_format_cpulist(const int *cpus, size_t n, char *buf, size_t cap);
/* Strict unsigned parse ("0x" hex or decimal) with a range check. */
int msr_parse_u64(const char *text, uint64_t max, uint64_t *out);

#endif /* MSRSAVE_H */
