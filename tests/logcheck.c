/* SPDX-License-Identifier: MIT */
/*
 * logcheck: check a daemon log written with --log-format json, for the
 * guest tests (the guest has neither jq nor python). Every line must be
 * one JSON object (json-c parses it) with exactly the members
 *   ts     string, ISO 8601 UTC with milliseconds: 2026-01-02T03:04:05.678Z
 *   level  "error", "warning", "info" or "debug"
 *   ctrl   string (--ctrl NAME: equal to NAME)
 *   pid    integer (--pid N: equal to N)
 *   msg    string
 * and there must be at least --min lines (default 1).
 *
 *   logcheck [--ctrl NAME] [--pid N] [--min N] FILE
 *
 * Prints "FILE: N json lines ok", or "FILE:LINE: cause" and exits 1.
 *
 *   logcheck --doc FILE
 *
 * checks instead that FILE is one JSON object (command output such as
 * connect -o json or list -o json), whatever its layout: "FILE: one json
 * object ok", or the parser's cause and exit 1.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <json-c/json_util.h>

/* YYYY-MM-DDThh:mm:ss.mmmZ, digits where digits go. */
static bool iso8601_ms_utc(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";

	if (strlen(s) != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != shape[i])
			return false;
	return true;
}

static const char *member_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* NULL when @line is a good log line, else the cause. */
static const char *check_line(const char *line, const char *want_ctrl, long want_pid)
{
	static char why[256];
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o, *pid;
	const char *ts, *level, *ctrl;
	size_t len = strlen(line);

	o = tok ? json_tokener_parse_ex(tok, line, (int)len) : NULL;
	if (!o || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len || !json_object_is_type(o, json_type_object)) {
		snprintf(why, sizeof(why), "not one json object");
		goto out;
	}
	*why = 0;
	if (json_object_object_length(o) != 5)
		snprintf(why, sizeof(why), "%d members, want ts, level, ctrl, pid, msg",
			 json_object_object_length(o));
	else if (!(ts = member_str(o, "ts")) || !iso8601_ms_utc(ts))
		snprintf(why, sizeof(why), "ts missing or not YYYY-MM-DDThh:mm:ss.mmmZ");
	else if (!(level = member_str(o, "level")) ||
		 (strcmp(level, "error") && strcmp(level, "warning") && strcmp(level, "info") &&
		  strcmp(level, "debug")))
		snprintf(why, sizeof(why), "level missing or unknown");
	else if (!(ctrl = member_str(o, "ctrl")) || (want_ctrl && strcmp(ctrl, want_ctrl)))
		snprintf(why, sizeof(why), "ctrl missing or not '%s'", want_ctrl ? want_ctrl : "");
	else if (!json_object_object_get_ex(o, "pid", &pid) ||
		 !json_object_is_type(pid, json_type_int) ||
		 (want_pid >= 0 && json_object_get_int64(pid) != want_pid))
		snprintf(why, sizeof(why), "pid missing or not %ld", want_pid);
	else if (!member_str(o, "msg"))
		snprintf(why, sizeof(why), "msg missing or not a string");
out:
	json_object_put(o);
	json_tokener_free(tok);
	return *why ? why : NULL;
}

int main(int argc, char **argv)
{
	const char *want_ctrl = NULL, *path = NULL;
	long want_pid = -1, min = 1, n = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *f;

	if (argc == 3 && !strcmp(argv[1], "--doc")) {
		struct json_object *o = json_object_from_file(argv[2]);
		bool ok = o && json_object_is_type(o, json_type_object);

		if (!ok)
			fprintf(stderr, "%s: not one JSON object: %s\n", argv[2],
				o ? "another JSON type" : json_util_get_last_err());
		else
			printf("%s: one json object ok\n", argv[2]);
		json_object_put(o);
		return ok ? 0 : 1;
	}
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--ctrl") && i + 1 < argc)
			want_ctrl = argv[++i];
		else if (!strcmp(argv[i], "--pid") && i + 1 < argc)
			want_pid = strtol(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--min") && i + 1 < argc)
			min = strtol(argv[++i], NULL, 10);
		else if (!path && argv[i][0] != '-')
			path = argv[i];
		else {
			path = NULL;	/* anything else: usage */
			break;
		}
	}
	if (!path) {
		fprintf(stderr, "usage: logcheck [--ctrl NAME] [--pid N] [--min N] FILE\n");
		return 2;
	}
	f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return 1;
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		const char *why;

		n++;
		if (len == 0 || line[len - 1] != '\n') {
			fprintf(stderr, "%s:%ld: no newline at the end of the line\n", path, n);
			return 1;
		}
		line[len - 1] = 0;
		why = check_line(line, want_ctrl, want_pid);
		if (why) {
			fprintf(stderr, "%s:%ld: %s: %s\n", path, n, why, line);
			return 1;
		}
	}
	free(line);
	fclose(f);
	if (n < min) {
		fprintf(stderr, "%s: %ld lines, want at least %ld\n", path, n, min);
		return 1;
	}
	printf("%s: %ld json lines ok\n", path, n);
	return 0;
}
