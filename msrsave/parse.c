// SPDX-License-Identifier: GPL-2.0-only
/* The strict number parser shared by the commands and the device code. */
#include <errno.h>

#include "msrsave.h"

int msr_parse_u64(const char *text, uint64_t max, uint64_t *out)
{
	const char *p = text;
	uint64_t v = 0;
	unsigned int base = 10;
	int digits = 0;

	if (!text || !*text)
		return -EINVAL;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	for (; *p; p++) {
		unsigned int d;

		if (*p >= '0' && *p <= '9')
			d = (unsigned int)(*p - '0');
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = (unsigned int)(*p - 'a' + 10);
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = (unsigned int)(*p - 'A' + 10);
		else
			return -EINVAL;
		if (v > (UINT64_MAX - d) / base)
			return -ERANGE;
		v = v * base + d;
		digits++;
	}
	if (!digits)
		return -EINVAL;
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}
