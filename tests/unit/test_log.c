/* SPDX-License-Identifier: MIT */
/*
 * Log lines (base/log.h): the text and json formats with a fixed clock and
 * pid, the UTC conversion against gmtime_r, escaping of hostile messages,
 * cutting of long ones, one write per line from many threads, and the
 * reopen that SIGHUP triggers in a daemon.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "base/log.h"

/* 2026-01-02T03:04:05.678Z */
static const struct timespec T0 = { .tv_sec = 1767323045, .tv_nsec = 678901234 };

static size_t __attribute__((format(printf, 7, 8)))
line(char *buf, size_t cap, enum nvmf_log_format f, const struct timespec *t, const char *ctrl,
     enum nvmf_log_level lvl, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = nvmf_log_format_line(buf, cap, f, t, 4242, ctrl, lvl, fmt, ap);
	va_end(ap);
	return n;
}

/* Parse one json line; fails the test unless it is one object. */
static struct json_object *parse_json_line(const char *s, size_t n)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o;

	ck_assert_msg(n > 0 && s[n - 1] == '\n', "line does not end with a newline: %s", s);
	ck_assert_msg(memchr(s, '\n', n - 1) == NULL, "newline inside the line: %s", s);
	o = json_tokener_parse_ex(tok, s, (int)n - 1);
	ck_assert_msg(o && json_tokener_get_error(tok) == json_tokener_success,
		      "not one json object: %s", s);
	ck_assert_int_eq(json_tokener_get_parse_end(tok), n - 1);
	ck_assert(json_object_is_type(o, json_type_object));
	json_tokener_free(tok);
	return o;
}

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	ck_assert_msg(json_object_object_get_ex(o, key, &v), "no member %s", key);
	ck_assert_msg(json_object_is_type(v, json_type_string), "%s is no string", key);
	return json_object_get_string(v);
}

START_TEST(test_text_line)
{
	char buf[2048];
	size_t n = line(buf, sizeof(buf), NVMF_LOG_TEXT, &T0, "nvme1000", NVMF_LOG_WARN,
			"reconnected after %.1f s (attempt %u)", 2.5, 3u);

	ck_assert_str_eq(buf, "2026-01-02T03:04:05.678Z nvme1000[4242] warning: "
			      "reconnected after 2.5 s (attempt 3)\n");
	ck_assert_uint_eq(n, strlen(buf));
	line(buf, sizeof(buf), NVMF_LOG_TEXT, &T0, NULL, NVMF_LOG_ERROR, "x");
	ck_assert_str_eq(buf, "2026-01-02T03:04:05.678Z -[4242] error: x\n");
	line(buf, sizeof(buf), NVMF_LOG_TEXT, &T0, "", NVMF_LOG_DEBUG, "y");
	ck_assert_str_eq(buf, "2026-01-02T03:04:05.678Z -[4242] debug: y\n");
	line(buf, sizeof(buf), NVMF_LOG_TEXT, &T0, "nvme1", NVMF_LOG_INFO, "z");
	ck_assert_str_eq(buf, "2026-01-02T03:04:05.678Z nvme1[4242] info: z\n");
}
END_TEST

START_TEST(test_json_line)
{
	char buf[2048];
	size_t n = line(buf, sizeof(buf), NVMF_LOG_JSON, &T0, "nvme1000", NVMF_LOG_INFO,
			"connected to %s, cntlid %u", "nqn.x", 42u);
	struct json_object *o, *pid;

	ck_assert_str_eq(buf, "{\"ts\":\"2026-01-02T03:04:05.678Z\",\"level\":\"info\","
			      "\"ctrl\":\"nvme1000\",\"pid\":4242,"
			      "\"msg\":\"connected to nqn.x, cntlid 42\"}\n");
	o = parse_json_line(buf, n);
	ck_assert_str_eq(jstr(o, "ts"), "2026-01-02T03:04:05.678Z");
	ck_assert_str_eq(jstr(o, "level"), "info");
	ck_assert_str_eq(jstr(o, "ctrl"), "nvme1000");
	ck_assert_str_eq(jstr(o, "msg"), "connected to nqn.x, cntlid 42");
	ck_assert(json_object_object_get_ex(o, "pid", &pid));
	ck_assert(json_object_is_type(pid, json_type_int));
	ck_assert_int_eq(json_object_get_int(pid), 4242);
	json_object_put(o);

	n = line(buf, sizeof(buf), NVMF_LOG_JSON, &T0, NULL, NVMF_LOG_ERROR, "x");
	o = parse_json_line(buf, n);
	ck_assert_str_eq(jstr(o, "ctrl"), "-");
	ck_assert_str_eq(jstr(o, "level"), "error");
	json_object_put(o);
}
END_TEST

/* The UTC conversion by arithmetic agrees with gmtime_r, leap days included. */
START_TEST(test_time_matches_gmtime)
{
	static const time_t fixed[] = {
		0, 59, 86399, 86400, 951696000 /* 2000-02-28 */, 951782400 /* 2000-02-29 */,
		951868799, 978220800 /* 2000-12-31 */, 978307200 /* 2001-01-01 */, 951868800 /* 2000-03-01 */,
		1709251199 /* 2024-02-29T23:59:59 */, 4107542400 /* 2100-03-01 */,
		-1, -86401, 253402300799 /* 9999-12-31T23:59:59 */,
	};
	unsigned int seed = 1;

	for (int i = 0; i < 20000; i++) {
		struct timespec t = { .tv_nsec = (long)(i % 1000) * 1000000L + 999999L };
		char buf[512], want[128];
		struct tm tm;

		if (i < (int)(sizeof(fixed) / sizeof(fixed[0])))
			t.tv_sec = fixed[i];
		else
			t.tv_sec = (time_t)(rand_r(&seed) % 8000000) * 1000 + rand_r(&seed) % 1000;
		ck_assert_ptr_nonnull(gmtime_r(&t.tv_sec, &tm));
		snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ -[4242] info: m\n",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, t.tv_nsec / 1000000L);
		line(buf, sizeof(buf), NVMF_LOG_TEXT, &t, NULL, NVMF_LOG_INFO, "m");
		ck_assert_str_eq(buf, want);
	}
}
END_TEST

/*
 * A message from a hostile target (a model name, a discovery entry) must
 * not forge a line nor break the json: newlines, quotes, backslashes,
 * control bytes and bytes that are not UTF-8.
 */
START_TEST(test_hostile_message)
{
	const char *msg = "model \"a\\b\"\nnvme1000[1] error: forged\r\x01\x7f caf\xc3\xa9 "
			  "bad\xff\xc3 over\xc0\xaf sur\xed\xa0\x80 end";
	char buf[2048];
	size_t n;
	struct json_object *o;

	n = line(buf, sizeof(buf), NVMF_LOG_TEXT, &T0, "nvme1000", NVMF_LOG_WARN, "%s", msg);
	ck_assert_uint_eq(n, strlen(buf));
	ck_assert_ptr_eq(strchr(buf, '\n'), buf + n - 1);
	ck_assert_ptr_null(strchr(buf, '\r'));
	ck_assert_ptr_nonnull(strstr(buf, "model \"a\\b\"\\x0anvme1000[1] error: forged\\x0d"
					  "\\x01\\x7f caf\xc3\xa9 "));

	n = line(buf, sizeof(buf), NVMF_LOG_JSON, &T0, "nvme1000", NVMF_LOG_WARN, "%s", msg);
	o = parse_json_line(buf, n);
	ck_assert_str_eq(jstr(o, "msg"), "model \"a\\b\"\nnvme1000[1] error: forged\r\x01\x7f "
					 "caf\xc3\xa9 bad\xef\xbf\xbd\xef\xbf\xbd over\xef\xbf\xbd"
					 "\xef\xbf\xbd sur\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd end");
	json_object_put(o);

	/* The controller name is escaped too. */
	n = line(buf, sizeof(buf), NVMF_LOG_JSON, &T0, "a\"b\n", NVMF_LOG_WARN, "m");
	o = parse_json_line(buf, n);
	ck_assert_str_eq(jstr(o, "ctrl"), "a\"b\n");
	json_object_put(o);
}
END_TEST

/* A message too long for the line is cut, and a json line stays one object. */
START_TEST(test_long_message_cut)
{
	static const char *fill[] = { "a", "\"", "\x01", "\xc3\xa9", "\xff" };
	char big[4000], buf[2048];

	for (size_t f = 0; f < sizeof(fill) / sizeof(fill[0]); f++) {
		for (size_t cap = 256; cap <= sizeof(buf); cap += 179) {
			size_t n, off = 0, len = strlen(fill[f]);
			struct json_object *o;

			while (off + len < sizeof(big)) {
				memcpy(big + off, fill[f], len);
				off += len;
			}
			big[off] = 0;
			n = line(buf, cap, NVMF_LOG_JSON, &T0, "nvme1000", NVMF_LOG_INFO, "%s", big);
			ck_assert_uint_lt(n, cap);
			ck_assert_uint_eq(n, strlen(buf));
			o = parse_json_line(buf, n);
			ck_assert_uint_gt(strlen(jstr(o, "msg")), 0);
			json_object_put(o);

			n = line(buf, cap, NVMF_LOG_TEXT, &T0, "nvme1000", NVMF_LOG_INFO, "%s", big);
			ck_assert_uint_lt(n, cap);
			ck_assert_uint_eq(n, strlen(buf));
			ck_assert_ptr_eq(strchr(buf, '\n'), buf + n - 1);
		}
	}
}
END_TEST

START_TEST(test_parse_format)
{
	enum nvmf_log_format f = NVMF_LOG_TEXT;

	ck_assert_int_eq(nvmf_log_parse_format("json", &f), 0);
	ck_assert_int_eq(f, NVMF_LOG_JSON);
	ck_assert_int_eq(nvmf_log_parse_format("text", &f), 0);
	ck_assert_int_eq(f, NVMF_LOG_TEXT);
	ck_assert_int_eq(nvmf_log_parse_format("JSON", &f), -EINVAL);
	ck_assert_int_eq(nvmf_log_parse_format("", &f), -EINVAL);
	ck_assert_int_eq(nvmf_log_parse_format(NULL, &f), -EINVAL);
}
END_TEST

/* ------------------------------------------------- the file and fd 2 */

static char tmpdir[PATH_MAX];
static int saved_stderr = -1;

static void file_setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/nvmf-log-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	saved_stderr = dup(STDERR_FILENO);
	ck_assert_int_ge(saved_stderr, 0);
}

static void file_teardown(void)
{
	char cmd[PATH_MAX + 16];

	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
}

/* The whole file at @path, NUL-terminated (malloc'd). */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 1 << 22);
	size_t n;

	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(buf);
	n = fread(buf, 1, (1 << 22) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

/* Log rotation: mv the file away, reopen, and later lines go to a new one. */
START_TEST(test_open_and_reopen)
{
	char path[PATH_MAX + 16], moved[PATH_MAX + 16];
	char *a, *b;
	struct stat st;

	snprintf(path, sizeof(path), "%s/nvme1000.log", tmpdir);
	snprintf(moved, sizeof(moved), "%s/nvme1000.log.1", tmpdir);
	ck_assert_int_eq(nvmf_log_reopen(), -ENOENT);	/* no file yet */
	ck_assert_ptr_null(nvmf_log_path());
	nvmf_log_set_level(NVMF_LOG_INFO);
	nvmf_log_set_ctrl("nvme1000");
	ck_assert_int_eq(nvmf_log_open(path), 0);
	ck_assert_str_eq(nvmf_log_path(), path);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	nvmf_info("one");
	ck_assert_int_eq(rename(path, moved), 0);
	nvmf_info("two");		/* still the old file, now moved */
	ck_assert_int_eq(nvmf_log_reopen(), 0);
	nvmf_info("three");
	nvmf_debug("not at info level");
	a = slurp(moved);
	b = slurp(path);
	ck_assert_ptr_nonnull(strstr(a, " nvme1000["));
	ck_assert_ptr_nonnull(strstr(a, "] info: one\n"));
	ck_assert_ptr_nonnull(strstr(a, "] info: two\n"));
	ck_assert_ptr_null(strstr(a, "three"));
	ck_assert_ptr_nonnull(strstr(b, "] info: three\n"));
	ck_assert_ptr_null(strstr(b, "one"));
	ck_assert_ptr_null(strstr(b, "debug"));
	free(a);
	free(b);

	/* A directory that is gone: the old file stays in use. */
	ck_assert_int_eq(nvmf_log_open("/nonexistent-dir/x.log"), -ENOENT);
	ck_assert_str_eq(nvmf_log_path(), path);
	nvmf_info("four");
	b = slurp(path);
	ck_assert_ptr_nonnull(strstr(b, "] info: four\n"));
	free(b);
}
END_TEST

#define THREADS	8
#define LINES	2000

static void *spam(void *arg)
{
	long id = (long)arg;

	for (int i = 0; i < LINES; i++)
		nvmf_warn("thread %ld line %d %s", id, i,
			  "padding padding padding padding padding padding padding padding");
	return NULL;
}

/* Lines from many threads never interleave: each is one write(2). */
START_TEST(test_threads_whole_lines)
{
	char path[PATH_MAX + 16];
	pthread_t t[THREADS];
	int count[THREADS] = { 0 }, total = 0;
	char *all, *save = NULL;

	snprintf(path, sizeof(path), "%s/nvme1000.log", tmpdir);
	nvmf_log_set_format(NVMF_LOG_JSON);
	nvmf_log_set_ctrl("nvme1000");
	ck_assert_int_eq(nvmf_log_open(path), 0);
	for (long i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, spam, (void *)i), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	all = slurp(path);
	for (char *l = strtok_r(all, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		struct json_object *o = json_tokener_parse(l);
		long id;
		int n;

		ck_assert_msg(o != NULL, "not a json line: %s", l);
		ck_assert_str_eq(jstr(o, "ctrl"), "nvme1000");
		ck_assert_str_eq(jstr(o, "level"), "warning");
		ck_assert_int_eq(sscanf(jstr(o, "msg"), "thread %ld line %d", &id, &n), 2);
		ck_assert(id >= 0 && id < THREADS);
		ck_assert_int_eq(n, count[id]);		/* in order per thread */
		count[id]++;
		total++;
		json_object_put(o);
	}
	ck_assert_int_eq(total, THREADS * LINES);
	free(all);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("log");
	TCase *fmt = tcase_create("format");
	TCase *file = tcase_create("file");
	SRunner *sr;
	int failed;

	tcase_add_test(fmt, test_text_line);
	tcase_add_test(fmt, test_json_line);
	tcase_add_test(fmt, test_time_matches_gmtime);
	tcase_add_test(fmt, test_hostile_message);
	tcase_add_test(fmt, test_long_message_cut);
	tcase_add_test(fmt, test_parse_format);
	suite_add_tcase(s, fmt);
	/* These change the process's fd 2 and log settings: restored per test. */
	tcase_add_checked_fixture(file, file_setup, file_teardown);
	tcase_add_test(file, test_open_and_reopen);
	tcase_add_test(file, test_threads_whole_lines);
	tcase_set_timeout(file, 60);
	suite_add_tcase(s, file);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
