/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Logging for the plugin's parts, behind one small interface: Slurm's log
 * in the plugin (msr_log_slurm.c), stderr in tests and commands
 * (msr_log_stderr.c), so the parts build and run without Slurm.
 */
#ifndef MSR_LOG_H
#define MSR_LOG_H

void msr_log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msr_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define LOG_ERR(fmt, ...)  msr_log_error("msr-safe: " fmt, ##__VA_ARGS__)
#define LOG_INFO(fmt, ...) msr_log_info("msr-safe: " fmt, ##__VA_ARGS__)

#endif /* MSR_LOG_H */
