// SPDX-License-Identifier: GPL-2.0-only
/* Who this host is: CPU vendor/family/model and the boot id. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msrsave.h"

/* Value of a "key<TAB>: value" line if it names @key, else NULL. */
static const char *cpuinfo_value(const char *line, const char *key)
{
	size_t k = strlen(key);

	if (strncmp(line, key, k))
		return NULL;
	line += k;
	while (*line == ' ' || *line == '\t')
		line++;
	if (*line != ':')
		return NULL;
	line++;
	while (*line == ' ' || *line == '\t')
		line++;
	return line;
}

int msr_cpu_identify(const char *path, struct msr_cpu_id *id,
		     struct msr_err *err)
{
	const char *file = path ? path : "/proc/cpuinfo";
	bool have_vendor = false, have_family = false, have_model = false;
	char *text, *line, *save = NULL;
	int rc;

	memset(id, 0, sizeof(*id));
	rc = msr_read_file(file, 16u << 20, &text, NULL, err);
	if (rc < 0)
		return rc;
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		const char *v;
		uint64_t num;

		/* Only the first processor block: they all agree. */
		if (!*line)
			break;
		if ((v = cpuinfo_value(line, "vendor_id")) && !have_vendor) {
			snprintf(id->vendor, sizeof(id->vendor), "%s", v);
			have_vendor = true;
		} else if ((v = cpuinfo_value(line, "cpu family")) &&
			   !have_family) {
			if (msr_parse_u64(v, 0xffff, &num) == 0) {
				id->family = (unsigned int)num;
				have_family = true;
			}
		} else if ((v = cpuinfo_value(line, "model")) && !have_model) {
			if (msr_parse_u64(v, 0xffff, &num) == 0) {
				id->model = (unsigned int)num;
				have_model = true;
			}
		}
	}
	free(text);
	if (!have_vendor || !have_family || !have_model)
		return msr_err_set(err, -ENODATA,
				   "%s: no x86 vendor_id/cpu family/model "
				   "lines",
				   file);
	return 0;
}

void msr_allowlist_name(const struct msr_cpu_id *id, char *buf, size_t cap)
{
	snprintf(buf, cap, "al_%02X_%X", id->family, id->model);
}

/* 8-4-4-4-12 hex digits, as the kernel and uuidgen print a UUID. */
static bool uuid_shaped(const char *s, size_t len)
{
	if (len != 36)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return false;
		} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
			     (c >= 'A' && c <= 'F'))) {
			return false;
		}
	}
	return true;
}

int msr_boot_id_read(const char *path, char *buf, size_t cap,
		     struct msr_err *err)
{
	const char *file = path ? path : MSRSAVE_BOOT_ID_FILE;
	char *text;
	size_t len;
	int rc;

	if (cap)
		buf[0] = 0;
	rc = msr_read_file(file, 4096, &text, &len, err);
	if (rc < 0)
		return rc;
	if (len && text[len - 1] == '\n')
		text[--len] = 0;
	if (!uuid_shaped(text, len) || len >= cap) {
		free(text);
		return msr_err_set(err, -EBADMSG,
				   "%s: not a boot id (expected a UUID such "
				   "as 86e5e743-7c0e-4af1-82a9-358881848d21)",
				   file);
	}
	memcpy(buf, text, len + 1);
	free(text);
	return 0;
}

int msr_boot_id(char *buf, size_t cap, struct msr_err *err)
{
	return msr_boot_id_read(NULL, buf, cap, err);
}
