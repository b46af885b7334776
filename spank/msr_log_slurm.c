// SPDX-License-Identifier: GPL-2.0-only
/* msr_log.h for the plugin: into slurmd's (or srun's) log. */
#include <stdarg.h>
#include <stdio.h>

#include <slurm/spank.h>

#include "msr_log.h"

void msr_log_error(const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	slurm_error("%s", line);
}

void msr_log_info(const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	slurm_info("%s", line);
}
