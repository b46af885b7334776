// SPDX-License-Identifier: GPL-2.0-only
/*
 * Names that become parts of paths, JSON and log lines: profile names and
 * job ids.  One rule each, shared by the plugin and the commands, so a
 * name one accepts the other never refuses.
 */
#include <string.h>

#include "msrsave.h"

static bool ascii_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/*
 * No '.': a profile is a directory under profiles/, and "perf.bak" or
 * "perf.orig" left by an editor must not become a profile; a leading '-'
 * reads as an option.  ASCII only: isalnum() depends on the locale.
 */
bool msr_profile_name_valid(const char *name)
{
	size_t n;

	if (!name || !ascii_alnum(name[0]))
		return false;
	for (n = 1; name[n]; n++)
		if (!ascii_alnum(name[n]) && name[n] != '_' && name[n] != '-')
			return false;
	return n <= MSR_PROFILE_NAME_MAX;
}

const char *msr_profile_name_rule(void)
{
	return "1 to 63 ASCII letters, digits, '_' or '-', starting with a "
	       "letter or digit";
}

/* Slurm job ids are 32-bit numbers: "4242", never "04242" or "../x". */
bool msr_job_id_valid(const char *id)
{
	uint64_t v;

	if (!id || !id[0] || (id[0] == '0' && id[1]) || strlen(id) > 10)
		return false;
	for (const char *p = id; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return msr_parse_u64(id, UINT32_MAX, &v) == 0 && v != 0;
}
