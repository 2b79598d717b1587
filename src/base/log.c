/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/log.h"

static enum nvmf_log_level g_level = NVMF_LOG_WARN;
static int g_level_from_env;
static char g_prefix[64] = "nvmfuse";

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

void nvmf_log_set_prefix(const char *prefix)
{
	snprintf(g_prefix, sizeof(g_prefix), "%s", prefix);
}

void nvmf_log(enum nvmf_log_level level, const char *fmt, ...)
{
	static const char *names[] = { "error", "warning", "info", "debug" };
	char line[1024];
	va_list ap;
	int n;

	if (level > nvmf_log_get_level())
		return;
	n = snprintf(line, sizeof(line), "%s: %s: ", g_prefix, names[level]);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0) {
		/* nowhere left to report it */
	}
}
