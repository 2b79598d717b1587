/* SPDX-License-Identifier: MIT */
/*
 * Logging, in the ground layer (src/base/) so that every layer above may
 * log. Library code never prints to stdout; messages go to stderr (or a
 * sink the tool installs) with a level filter. The level comes from
 * nvmf_log_set_level() or the NVMFUSE_LOG environment variable (error,
 * warn, info, debug).
 *
 * Thread context: any thread. Each message is written with one write(2).
 */
#ifndef NVMF_LOG_H
#define NVMF_LOG_H

enum nvmf_log_level {
	NVMF_LOG_ERROR = 0,
	NVMF_LOG_WARN,
	NVMF_LOG_INFO,
	NVMF_LOG_DEBUG,
};

void nvmf_log_set_level(enum nvmf_log_level level);
enum nvmf_log_level nvmf_log_get_level(void);
/* Prefix for every line (e.g. the program and controller name); copied. */
void nvmf_log_set_prefix(const char *prefix);

void nvmf_log(enum nvmf_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define nvmf_err(...)   nvmf_log(NVMF_LOG_ERROR, __VA_ARGS__)
#define nvmf_warn(...)  nvmf_log(NVMF_LOG_WARN, __VA_ARGS__)
#define nvmf_info(...)  nvmf_log(NVMF_LOG_INFO, __VA_ARGS__)
#define nvmf_debug(...) do { \
	if (nvmf_log_get_level() >= NVMF_LOG_DEBUG) \
		nvmf_log(NVMF_LOG_DEBUG, __VA_ARGS__); \
} while (0)

#endif
