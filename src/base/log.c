/* SPDX-License-Identifier: MIT */
/*
 * Log lines (base/log.h): formatted on the stack, written with one
 * write(2) to fd 2. The time is converted to UTC by arithmetic rather than
 * gmtime_r(), which takes glibc's time zone lock: a line must not wait for
 * a lock, nor allocate, whichever thread or context writes it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/log.h"

static enum nvmf_log_level g_level = NVMF_LOG_WARN;
static int g_level_from_env;
static enum nvmf_log_format g_format = NVMF_LOG_TEXT;
static char g_ctrl[64] = "-";
static char g_path[PATH_MAX];

static void level_from_env(void)
{
	const char *s;

	if (g_level_from_env)
		return;
	g_level_from_env = 1;
	s = getenv("NVMFUSE_LOG");
	if (!s)
		return;
	if (!strcasecmp(s, "error"))
		g_level = NVMF_LOG_ERROR;
	else if (!strcasecmp(s, "warn"))
		g_level = NVMF_LOG_WARN;
	else if (!strcasecmp(s, "info"))
		g_level = NVMF_LOG_INFO;
	else if (!strcasecmp(s, "debug"))
		g_level = NVMF_LOG_DEBUG;
}

void nvmf_log_set_level(enum nvmf_log_level level)
{
	g_level_from_env = 1;
	g_level = level;
}

enum nvmf_log_level nvmf_log_get_level(void)
{
	level_from_env();
	return g_level;
}

int nvmf_log_parse_format(const char *s, enum nvmf_log_format *out)
{
	if (s && !strcmp(s, "text"))
		*out = NVMF_LOG_TEXT;
	else if (s && !strcmp(s, "json"))
		*out = NVMF_LOG_JSON;
	else
		return -EINVAL;
	return 0;
}

void nvmf_log_set_format(enum nvmf_log_format format)
{
	g_format = format == NVMF_LOG_JSON ? NVMF_LOG_JSON : NVMF_LOG_TEXT;
}

void nvmf_log_set_ctrl(const char *name)
{
	snprintf(g_ctrl, sizeof(g_ctrl), "%s", name && *name ? name : "-");
}

/* Open @path for appending and put it on fd 2. */
static int log_to(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

	if (fd < 0)
		return -errno;
	if (fd != STDERR_FILENO) {
		/* One atomic switch: a line goes wholly to the old file or the new. */
		if (dup2(fd, STDERR_FILENO) < 0) {
			int err = -errno;

			close(fd);
			return err;
		}
		close(fd);
	}
	return 0;
}

int nvmf_log_open(const char *path)
{
	int rc;

	if (!path || !*path)
		return -EINVAL;
	if (strlen(path) >= sizeof(g_path))
		return -ENAMETOOLONG;
	rc = log_to(path);
	if (rc == 0)
		memcpy(g_path, path, strlen(path) + 1);
	return rc;
}

int nvmf_log_reopen(void)
{
	if (!g_path[0])
		return -ENOENT;
	return log_to(g_path);
}

const char *nvmf_log_path(void)
{
	return g_path[0] ? g_path : NULL;
}

/* Days since 1970-01-01 to a civil date (proleptic Gregorian; H. Hinnant). */
static void civil_from_days(int64_t z, int64_t *y, unsigned int *m, unsigned int *d)
{
	int64_t era, yy;
	unsigned int doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned int)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	yy = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yy + (*m <= 2);
}

/* "YYYY-MM-DDThh:mm:ss.mmmZ" into @buf (at least 32 bytes). */
static void iso8601_utc(const struct timespec *t, char *buf, size_t cap)
{
	int64_t secs = (int64_t)t->tv_sec, days, y;
	int64_t rem;
	unsigned int m, d;
	long ms = t->tv_nsec >= 0 && t->tv_nsec < 1000000000L ? t->tv_nsec / 1000000L : 0;

	days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
	rem = secs - days * 86400;
	civil_from_days(days, &y, &m, &d);
	snprintf(buf, cap, "%04lld-%02u-%02uT%02u:%02u:%02u.%03ldZ", (long long)y, m, d,
		 (unsigned int)(rem / 3600), (unsigned int)(rem / 60 % 60),
		 (unsigned int)(rem % 60), ms);
}

/* Bytes of the well-formed UTF-8 sequence at @s (RFC 3629), or 0. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t n;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;	/* no overlong forms */
	else if (c == 0xed)
		hi = 0x9f;	/* no surrogates */
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;	/* nothing above U+10FFFF */
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

/*
 * Append @s to @out (@room bytes left), escaped for @format, whole units
 * only: a unit that does not fit ends it. Returns the bytes written.
 */
static size_t put_escaped(char *out, size_t room, const char *s, enum nvmf_log_format format)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t w = 0;

	while (*p) {
		char esc[8];
		const char *unit = esc;
		size_t len, adv = 1;

		if (format == NVMF_LOG_JSON) {
			if (*p == '"' || *p == '\\') {
				esc[0] = '\\';
				esc[1] = (char)*p;
				len = 2;
			} else if (*p == '\n' || *p == '\t' || *p == '\r') {
				esc[0] = '\\';
				esc[1] = *p == '\n' ? 'n' : *p == '\t' ? 't' : 'r';
				len = 2;
			} else if (*p < 0x20) {
				len = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", *p);
			} else if (*p < 0x80) {
				unit = (const char *)p;
				len = 1;
			} else if ((adv = utf8_len(p)) != 0) {
				unit = (const char *)p;
				len = adv;
			} else {
				unit = "\\ufffd";
				len = 6;
				adv = 1;
			}
		} else if ((*p < 0x20 && *p != '\t') || *p == 0x7f) {
			len = (size_t)snprintf(esc, sizeof(esc), "\\x%02x", *p);
		} else {
			unit = (const char *)p;
			len = 1;
		}
		if (len > room - w)
			break;
		memcpy(out + w, unit, len);
		w += len;
		p += adv;
	}
	return w;
}

size_t nvmf_log_format_line(char *buf, size_t cap, enum nvmf_log_format format,
			    const struct timespec *now, int pid, const char *ctrl,
			    enum nvmf_log_level level, const char *fmt, va_list ap)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	const char *lvl = (unsigned int)level <= NVMF_LOG_DEBUG ? names[level] : "debug";
	const char *tail = format == NVMF_LOG_JSON ? "\"}\n" : "\n";
	char ts[40], msg[1024];
	size_t n, tail_len = strlen(tail);

	if (!ctrl || !*ctrl)
		ctrl = "-";
	iso8601_utc(now, ts, sizeof(ts));
	vsnprintf(msg, sizeof(msg), fmt, ap);	/* cut at 1023 bytes */

	/* The head: at most ~100 bytes, plus the name escaped in up to half the rest. */
	if (format == NVMF_LOG_JSON)
		n = (size_t)snprintf(buf, cap, "{\"ts\":\"%s\",\"level\":\"%s\",\"ctrl\":\"", ts, lvl);
	else
		n = (size_t)snprintf(buf, cap, "%s ", ts);
	n += put_escaped(buf + n, (cap - n) / 2, ctrl, format);
	if (format == NVMF_LOG_JSON)
		n += (size_t)snprintf(buf + n, cap - n, "\",\"pid\":%d,\"msg\":\"", pid);
	else
		n += (size_t)snprintf(buf + n, cap - n, "[%d] %s: ", pid, lvl);
	n += put_escaped(buf + n, cap - n - tail_len - 1, msg, format);
	memcpy(buf + n, tail, tail_len + 1);
	return n + tail_len;
}

void nvmf_log(enum nvmf_log_level level, const char *fmt, ...)
{
	char line[2048];
	struct timespec now;
	va_list ap;
	size_t n;

	if (level > nvmf_log_get_level())
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	va_start(ap, fmt);
	n = nvmf_log_format_line(line, sizeof(line), g_format, &now, (int)getpid(), g_ctrl,
				 level, fmt, ap);
	va_end(ap);
	if (write(STDERR_FILENO, line, n) < 0) {
		/* nowhere left to report it */
	}
}
