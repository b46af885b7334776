// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzz msr-allowlist's lint (allowlists/altool.c) on arbitrary text: it
 * reads site-edited files, so it must never crash, and its counts must
 * match what it printed.  The first input byte picks the role and whether
 * the list counts as an emulator list; the rest is the text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* tests/fuzz/run links the library and the parser; lint comes in here. */
#include "../../allowlists/altool.c"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static const char *const names[] = {"al_06_55", "profiles/p/al_06_55",
					    "site", "emulator/baseline"};
	struct altool_lint res = {0};
	enum altool_role role;
	char *out = NULL;
	size_t outlen = 0, lines = 0, i;
	FILE *f;

	if (!size)
		return 0;
	role = (enum altool_role)(data[0] % 4);
	f = open_memstream(&out, &outlen);
	if (!f)
		return 0;
	if (altool_lint_text((const char *)data + 1, size - 1,
			     names[(data[0] >> 2) % 4], role,
			     (data[0] >> 4) & 1, f, &res) < 0)
		abort();
	fclose(f);
	for (i = 0; i < outlen; i++)
		lines += out[i] == '\n';
	/* One line per finding, no more, no less. */
	if (lines != res.errors + res.warnings)
		abort();
	free(out);
	return 0;
}
