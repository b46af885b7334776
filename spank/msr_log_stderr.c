// SPDX-License-Identifier: GPL-2.0-only
/* msr_log.h outside Slurm (unit tests, commands): one line on stderr. */
#include <stdarg.h>
#include <stdio.h>

#include "msr_log.h"

static void emit(const char *level, const char *fmt, va_list ap)
{
	char line[2048];

	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "%s: %s\n", level, line);
}

void msr_log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit("error", fmt, ap);
	va_end(ap);
}

void msr_log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit("info", fmt, ap);
	va_end(ap);
}
