/* SPDX-License-Identifier: GPL-2.0-only */
/* libmsrsave internals shared between its source files (not installed). */
#ifndef MSRSAVE_INT_H
#define MSRSAVE_INT_H

#include "msrsave.h"

/*
 * Parse an allowlist as the device prints it: may be longer than one
 * write's AL_TEXT_MAX (rendering widens short entries), and a header
 * without entries is the empty list rather than -ENOMSG.
 */
int msr_allowlist_parse_live(const char *text, size_t len, const char *name,
			     struct msr_allowlist *al, struct msr_err *err);

/* Up to 40 bytes of @s for a message, non-printables as '?'. */
void msr_excerpt(const char *s, size_t len, char out[41]);

/* Largest allowlist read back from a device or a state file. */
#define MSR_LIVE_TEXT_MAX (64u << 20)

#endif /* MSRSAVE_INT_H */
