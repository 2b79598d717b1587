/* SPDX-License-Identifier: MIT */
/*
 * Logging, in the ground layer (src/base/) so that every layer above may
 * log. Library code never prints to stdout; messages go to standard error
 * (fd 2), which a daemon points at its own log file (nvmf_log_open), with a
 * level filter. The level comes from nvmf_log_set_level() or the
 * NVMFUSE_LOG environment variable (error, warn, info, debug).
 *
 * Every line carries the wall-clock time (ISO 8601 UTC, milliseconds), the
 * level, the controller name ("-" when the process serves none) and the
 * pid, in one of two formats:
 *
 *   text  2026-01-02T03:04:05.678Z nvme1000[4242] warning: reconnected ...
 *   json  {"ts":"2026-01-02T03:04:05.678Z","level":"warning",
 *          "ctrl":"nvme1000","pid":4242,"msg":"reconnected ..."}
 *
 * one line each, for people and for log collectors. A message cannot
 * forge a line: control characters are escaped in both formats, and bytes
 * that are not UTF-8 become U+FFFD in json.
 *
 * Thread context: nvmf_log() from any thread. Each line is formatted on the
 * stack (no allocation, no lock, no gmtime) and written with one write(2),
 * so lines from threads never interleave and a reopen (dup2 over fd 2)
 * never tears one. The setters (level, format, controller name, file) are
 * for the process's start-up, before other threads log; nvmf_log_reopen()
 * is for any one thread at a time.
 */
#ifndef NVMF_LOG_H
#define NVMF_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <time.h>

enum nvmf_log_level {
	NVMF_LOG_ERROR = 0,
	NVMF_LOG_WARN,
	NVMF_LOG_INFO,
	NVMF_LOG_DEBUG,
};

enum nvmf_log_format {
	NVMF_LOG_TEXT = 0,
	NVMF_LOG_JSON,
};

void nvmf_log_set_level(enum nvmf_log_level level);
enum nvmf_log_level nvmf_log_get_level(void);
/* "text" or "json" into *@out. Returns 0, or -EINVAL for anything else. */
int nvmf_log_parse_format(const char *s, enum nvmf_log_format *out);
void nvmf_log_set_format(enum nvmf_log_format format);
/* The controller name on every line (NULL or "": "-"); copied. */
void nvmf_log_set_ctrl(const char *name);

/*
 * Log to @path from now on: open it for appending (created 0600) and put
 * it on fd 2, so that whatever else writes to standard error (a sanitizer
 * report, say) lands there too. The path is kept for nvmf_log_reopen().
 * Returns 0 or -errno (then standard error is unchanged).
 */
int nvmf_log_open(const char *path);
/*
 * Open the log file again by its path, after it was moved away (log
 * rotation, SIGHUP): later lines go to the new file. Without a file
 * (nvmf_log_open never called) nothing changes and it returns -ENOENT.
 * Returns 0 or -errno (then the old file stays in use).
 */
int nvmf_log_reopen(void);
/* The path given to nvmf_log_open(), or NULL. */
const char *nvmf_log_path(void);

void nvmf_log(enum nvmf_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Format one log line, newline included, into @buf (NUL terminated) and
 * return its length without the NUL: what nvmf_log() writes, with the clock
 * (@now, CLOCK_REALTIME), @pid and controller name @ctrl (NULL: "-") passed
 * in, so that tests fix them. A message too long for @cap is cut, and a
 * json line stays one valid object. @cap must be at least 256. Thread: any.
 */
size_t nvmf_log_format_line(char *buf, size_t cap, enum nvmf_log_format format,
			    const struct timespec *now, int pid, const char *ctrl,
			    enum nvmf_log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 8, 0)));

#define nvmf_err(...)   nvmf_log(NVMF_LOG_ERROR, __VA_ARGS__)
#define nvmf_warn(...)  nvmf_log(NVMF_LOG_WARN, __VA_ARGS__)
#define nvmf_info(...)  nvmf_log(NVMF_LOG_INFO, __VA_ARGS__)
#define nvmf_debug(...) do { \
	if (nvmf_log_get_level() >= NVMF_LOG_DEBUG) \
		nvmf_log(NVMF_LOG_DEBUG, __VA_ARGS__); \
} while (0)

#endif
