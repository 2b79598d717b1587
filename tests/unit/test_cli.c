/* SPDX-License-Identifier: MIT */
/*
 * The nvme-cli fabrics options' parsing in tools/cli.c, table-driven:
 * cli_host_opt() and cli_disc_opt() for -w, -f, -T, -W, -D, --context,
 * --concat, -v, -r, --quiet, --force and the NBFT options; the checks of
 * cli_fabrics_finish() on the host side; the NBFT answer; the one-line
 * error for an unknown option or a missing argument; the raw discovery
 * log file. Messages are read back from standard error (fd 2 is pointed
 * at a file around each call).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "tools/cli.h"

#define HOSTNQN "nqn.2014-08.org.nvmexpress:uuid:0f8c4f2e-3b5a-4d1e-9c7b-2a6d8e4f1b3c"
#define HOSTID "0f8c4f2e-3b5a-4d1e-9c7b-2a6d8e4f1b3c"

/* ------------------------------------------------------------ stderr */

static char g_err_path[64];
static int g_saved_fd2 = -1;

static void err_begin(void)
{
	int fd;

	snprintf(g_err_path, sizeof(g_err_path), "/tmp/test_cli.%d.err", (int)getpid());
	fd = open(g_err_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	fflush(stderr);
	g_saved_fd2 = dup(2);
	dup2(fd, 2);
	close(fd);
}

/* What went to standard error since err_begin(), NUL-terminated, in @buf. */
static const char *err_end(char *buf, size_t cap)
{
	FILE *f;
	size_t n;

	fflush(stderr);
	dup2(g_saved_fd2, 2);
	close(g_saved_fd2);
	f = fopen(g_err_path, "r");
	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, cap - 1, f);
	buf[n] = 0;
	fclose(f);
	unlink(g_err_path);
	return buf;
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* ------------------------------------------------- cli_fabrics_opt */

struct opt_row {
	int opt;
	const char *arg;
	int rc;			/* 1 taken, 0 not ours, -1 refused */
	const char *err;	/* with -1: in the one line printed */
	int tos, nr_write;	/* after it (from -1 / 0) */
	const char *host_traddr, *host_iface, *context;
	bool dup;
};

#define ROWT(o, a, r, e) .opt = (o), .arg = (a), .rc = (r), .err = (e)
#define ROW(o, a, r, e) ROWT(o, a, r, e), .tos = -1	/* -T left alone */
static const struct opt_row opt_rows[] = {
	{ ROWT('T', "40", 1, NULL), .tos = 40 },
	{ ROWT('T', "0", 1, NULL), .tos = 0 },
	{ ROWT('T', "255", 1, NULL), .tos = 255 },
	{ ROW('T', "-1", 1, NULL) },
	{ ROW('T', "256", -1, "-T/--tos '256'") },
	{ ROW('T', "-2", -1, "-T/--tos") },
	{ ROW('T', "x", -1, "-T/--tos 'x'") },
	{ ROW('T', "", -1, "-T/--tos") },
	{ ROW('W', "2", 1, NULL), .nr_write = 2 },
	{ ROW('W', "128", 1, NULL), .nr_write = 128 },
	{ ROW('W', "129", -1, "--nr-write-queues") },
	{ ROW('W', "-1", -1, "--nr-write-queues") },
	{ ROW('w', "127.0.0.2", 1, NULL), .host_traddr = "127.0.0.2" },
	{ ROW('f', "lo", 1, NULL), .host_iface = "lo" },
	{ ROW('D', NULL, 1, NULL), .dup = true },
	{ ROW(OPT_CONTEXT, "pod-a", 1, NULL), .context = "pod-a" },
	{ ROW(OPT_CONCAT, NULL, -1, "--concat") },
	{ ROW('Z', NULL, 0, NULL) },
	{ ROW('r', "x", 0, NULL) },	/* a discovery option, not a host one */
	{ ROW('t', "tcp", 0, NULL) },	/* cli_fabrics_opt's */
};
#undef ROW
#undef ROWT

START_TEST(test_fabrics_opt_table)
{
	const struct opt_row *r = &opt_rows[_i];
	struct cli_fabrics f;
	char err[1024];
	int rc;

	cli_fabrics_defaults(&f);
	ck_assert_int_eq(f.tos, -1);
	err_begin();
	rc = cli_host_opt(&f, r->opt, r->arg);
	err_end(err, sizeof(err));
	ck_assert_msg(rc == r->rc, "row %d (opt %d '%s'): rc %d, want %d", _i, r->opt,
		      r->arg ? r->arg : "", rc, r->rc);
	if (r->rc < 0) {
		ck_assert_msg(count_lines(err) == 1 && strstr(err, r->err),
			      "row %d: message '%s' (want one line with '%s')", _i, err, r->err);
		return;
	}
	ck_assert_msg(!err[0], "row %d printed '%s'", _i, err);
	ck_assert_int_eq(f.tos, r->tos);
	ck_assert_int_eq(f.nr_write_queues, r->nr_write);
	ck_assert_pstr_eq(f.host_traddr, r->host_traddr);
	ck_assert_pstr_eq(f.host_iface, r->host_iface);
	ck_assert_pstr_eq(f.context, r->context);
	ck_assert(f.duplicate_connect == r->dup);
}
END_TEST

/*
 * perf's -w (workload) and -T (seconds) go through cli_fabrics_opt(): it
 * must leave every host option alone (nvmfuse-bad-input caught perf's -w
 * read as --host-traddr).
 */
START_TEST(test_fabrics_opt_not_host)
{
	static const int host[] = { 'w', 'f', 'T', 'W', 'D', 'v', OPT_CONTEXT, OPT_CONCAT };
	struct cli_fabrics f;

	cli_fabrics_defaults(&f);
	for (size_t i = 0; i < sizeof(host) / sizeof(host[0]); i++)
		ck_assert_msg(cli_fabrics_opt(&f, host[i], "randread") == 0,
			      "cli_fabrics_opt took host option %d", host[i]);
	ck_assert_ptr_null(f.host_traddr);
	ck_assert_int_eq(f.tos, -1);
}
END_TEST

START_TEST(test_verbose_levels)
{
	struct cli_fabrics f;

	cli_fabrics_defaults(&f);
	nvmf_log_set_level(NVMF_LOG_WARN);
	ck_assert_int_eq(cli_host_opt(&f, 'v', NULL), 1);
	ck_assert_int_eq(nvmf_log_get_level(), NVMF_LOG_INFO);
	ck_assert_int_eq(cli_host_opt(&f, 'v', NULL), 1);
	ck_assert_int_eq(nvmf_log_get_level(), NVMF_LOG_DEBUG);
	ck_assert_int_eq(cli_host_opt(&f, 'v', NULL), 1);	/* -vvv: still debug */
	ck_assert_int_eq(nvmf_log_get_level(), NVMF_LOG_DEBUG);
	nvmf_log_set_level(NVMF_LOG_WARN);
}
END_TEST

START_TEST(test_default_io_queues)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	struct cli_fabrics f;

	ck_assert_int_eq(cli_default_io_queues(), n < 1 ? 1 : n > 128 ? 128 : n);
	cli_fabrics_defaults(&f);
	ck_assert_int_eq(f.nr_io_queues, 1);	/* perf's; connect sets the CPU count */
}
END_TEST

/* ------------------------------------------------ host side checks */

struct finish_row {
	const char *transport, *host_traddr, *host_iface;
	int rc;
	const char *err;
};

static const struct finish_row finish_rows[] = {
	{ "tcp", "127.0.0.2", "lo", 0, NULL },
	{ "tcp", "::1", NULL, 0, NULL },
	{ "tcp", "host.example", NULL, -1, "-w/--host-traddr 'host.example' is not an IPv4 or IPv6" },
	{ "tcp", "127.0.0.2/8", NULL, -1, "is not an IPv4 or IPv6" },
	{ "tcp", NULL, "nosuch0", -1, "-f/--host-iface 'nosuch0': no such network interface" },
	{ "tcp", NULL, "a-name-longer-than-ifnamsiz", -1, "no such network interface" },
};

START_TEST(test_finish_host_side)
{
	const struct finish_row *r = &finish_rows[_i];
	struct cli_fabrics f;
	char err[1024];
	int rc;

	cli_fabrics_defaults(&f);
	f.transport = r->transport;
	f.traddr = "127.0.0.1";
	f.subnqn = "nqn.2024-01.io.nvmfuse:test";
	f.hostnqn_arg = HOSTNQN;
	f.hostid_arg = HOSTID;
	f.host_traddr = r->host_traddr;
	f.host_iface = r->host_iface;
	err_begin();
	rc = cli_fabrics_finish(&f, true);
	err_end(err, sizeof(err));
	ck_assert_msg(rc == r->rc, "row %d: rc %d, want %d (%s)", _i, rc, r->rc, err);
	if (r->err)
		ck_assert_msg(count_lines(err) == 1 && strstr(err, r->err),
			      "row %d: message '%s' (want one line with '%s')", _i, err, r->err);
	cli_fabrics_free(&f);
}
END_TEST

/*
 * Secrets in the environment (CLI_ENV_*, what the persistent discovery
 * daemon hands its connect commands instead of a command line): used when
 * the option was not given, and gone from the environment either way.
 */
START_TEST(test_secrets_from_env)
{
	struct cli_fabrics f;

	cli_fabrics_defaults(&f);
	f.transport = "tcp";
	f.traddr = "127.0.0.1";
	f.subnqn = "nqn.2024-01.io.nvmfuse:test";
	f.hostnqn_arg = HOSTNQN;
	f.hostid_arg = HOSTID;
	f.dhchap_ctrl_secret = strdup("DHHC-1:00:from-the-command-line:");
	ck_assert_int_eq(setenv(CLI_ENV_DHCHAP_SECRET, "DHHC-1:00:from-env:", 1), 0);
	ck_assert_int_eq(setenv(CLI_ENV_DHCHAP_CTRL_SECRET, "DHHC-1:00:env-loses:", 1), 0);
	ck_assert_int_eq(setenv(CLI_ENV_TLS_KEY, "", 1), 0);
	ck_assert_int_eq(cli_fabrics_finish(&f, true), 0);
	ck_assert_str_eq(f.dhchap_secret, "DHHC-1:00:from-env:");
	ck_assert_str_eq(f.dhchap_ctrl_secret, "DHHC-1:00:from-the-command-line:");
	ck_assert_ptr_null(f.tls_key);		/* empty: none */
	ck_assert_ptr_null(getenv(CLI_ENV_DHCHAP_SECRET));
	ck_assert_ptr_null(getenv(CLI_ENV_DHCHAP_CTRL_SECRET));
	ck_assert_ptr_null(getenv(CLI_ENV_TLS_KEY));
	free(f.dhchap_ctrl_secret);
	f.dhchap_ctrl_secret = NULL;
	cli_fabrics_free(&f);
}
END_TEST

START_TEST(test_finish_iface_rdma)
{
	struct cli_fabrics f;
	char err[1024];
	int rc;

	cli_fabrics_defaults(&f);
	f.transport = "rdma";
	f.traddr = "127.0.0.1";
	f.subnqn = "nqn.2024-01.io.nvmfuse:test";
	f.host_iface = "lo";
	err_begin();
	rc = cli_fabrics_finish(&f, true);
	err_end(err, sizeof(err));
	ck_assert_int_eq(rc, -1);
	/* A build without rdma-core refuses the transport itself first. */
	ck_assert_msg(count_lines(err) == 1 && (strstr(err, "-f/--host-iface is for -t tcp") ||
						strstr(err, "rdma")), "message '%s'", err);
	cli_fabrics_free(&f);
}
END_TEST

/* ---------------------------------------------------- discovery opts */

START_TEST(test_disc_opts)
{
	struct cli_disc d;

	cli_disc_defaults(&d);
	ck_assert_str_eq(d.nbft_path, "/sys/firmware/acpi/tables");
	ck_assert_int_eq(cli_disc_opt(&d, 'r', "/tmp/x"), 1);
	ck_assert_str_eq(d.raw, "/tmp/x");
	ck_assert_int_eq(cli_disc_opt(&d, OPT_QUIET, NULL), 1);
	ck_assert(d.quiet);
	ck_assert_int_eq(cli_disc_opt(&d, OPT_FORCE, NULL), 1);
	ck_assert_int_eq(cli_disc_opt(&d, OPT_NBFT, NULL), 1);
	ck_assert(d.nbft_only);
	ck_assert_int_eq(cli_disc_opt(&d, OPT_NO_NBFT, NULL), 1);
	ck_assert(d.no_nbft);
	ck_assert_int_eq(cli_disc_opt(&d, OPT_NBFT_PATH, "/tmp"), 1);
	ck_assert_str_eq(d.nbft_path, "/tmp");
	ck_assert(d.nbft_path_set);
	ck_assert_int_eq(cli_disc_opt(&d, 'T', "1"), 0);
}
END_TEST

/* A directory with @n NBFT tables (and a file that is not one). */
static void nbft_dir(char *dir, size_t cap, int n)
{
	char p[300];
	int fd;

	snprintf(dir, cap, "/tmp/test_cli_nbft.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	for (int i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "%s/NBFT%d", dir, i ? i : 0);
		fd = open(p, O_WRONLY | O_CREAT, 0600);
		ck_assert_int_ge(fd, 0);
		close(fd);
	}
	snprintf(p, sizeof(p), "%s/DSDT", dir);
	fd = open(p, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
}

static void nbft_dir_rm(const char *dir)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

struct nbft_row {
	int tables;		/* -1: no such directory */
	bool nbft, no_nbft, path;
	int rc;
	const char *err;	/* NULL: nothing printed */
};

static const struct nbft_row nbft_rows[] = {
	{ 0, false, false, false, 0, NULL },
	{ 2, false, false, false, 0, NULL },	/* default path not even looked at */
	{ 0, true, false, true, -1, "--nbft: no NBFT on this system (no NBFT table in " },
	{ -1, true, false, true, -1, "no NBFT on this system" },
	{ 2, true, false, true, -1, "--nbft: 2 NBFT table(s) in " },
	{ 1, true, true, true, -1, "--nbft and --no-nbft contradict" },
	{ 0, false, false, true, 0, "note: --nbft-path: no NBFT on this system" },
	{ 1, false, false, true, 0, "note: --nbft-path: 1 NBFT table(s)" },
	{ 1, false, true, true, 0, NULL },
};

START_TEST(test_nbft_answer)
{
	const struct nbft_row *r = &nbft_rows[_i];
	struct cli_disc d;
	char dir[64], err[1024];
	int rc;

	nbft_dir(dir, sizeof(dir), r->tables < 0 ? 0 : r->tables);
	if (r->tables < 0)
		nbft_dir_rm(dir);
	ck_assert_int_eq(cli_nbft_count(dir), r->tables < 0 ? -ENOENT : r->tables);
	cli_disc_defaults(&d);
	d.nbft_only = r->nbft;
	d.no_nbft = r->no_nbft;
	if (r->path) {
		d.nbft_path = dir;
		d.nbft_path_set = true;
	}
	err_begin();
	rc = cli_disc_nbft(&d);
	err_end(err, sizeof(err));
	ck_assert_msg(rc == r->rc, "row %d: rc %d, want %d (%s)", _i, rc, r->rc, err);
	if (r->err)
		ck_assert_msg(count_lines(err) == 1 && strstr(err, r->err),
			      "row %d: message '%s' (want one line with '%s')", _i, err, r->err);
	else
		ck_assert_msg(!err[0], "row %d printed '%s'", _i, err);
	if (r->tables >= 0)
		nbft_dir_rm(dir);
}
END_TEST

/* ------------------------------------------------- cli_bad_option */

struct bad_row {
	const char *args[3];
	const char *err;
};

static const struct bad_row bad_rows[] = {
	{ { "--bogus" }, "nvmfuse: unrecognized option '--bogus' ('nvmfuse connect --help' lists them)\n" },
	{ { "-Z" }, "nvmfuse: unrecognized option '-Z' ('nvmfuse connect --help' lists them)\n" },
	{ { "-w" }, "nvmfuse: option -w needs an argument\n" },
	{ { "--tos" }, "nvmfuse: option '--tos' needs an argument\n" },
	{ { "-D", "--context" }, "nvmfuse: option '--context' needs an argument\n" },
};

START_TEST(test_bad_option)
{
	static const struct option longopts[] = { CLI_HOST_LONGOPTS, { 0 } };
	const struct bad_row *r = &bad_rows[_i];
	char *argv[5] = { "connect" }, err[512];
	int argc = 1, opt, bad = 0;

	for (int i = 0; i < 3 && r->args[i]; i++)
		argv[argc++] = (char *)r->args[i];
	optind = 0;
	opterr = 0;
	err_begin();
	while ((opt = getopt_long(argc, argv, CLI_HOST_SHORTOPTS, longopts, NULL)) != -1)
		if (opt == '?') {
			cli_bad_option("connect", CLI_HOST_SHORTOPTS, argv);
			bad++;
		}
	err_end(err, sizeof(err));
	ck_assert_int_eq(bad, 1);
	ck_assert_str_eq(err, r->err);
}
END_TEST

/* --------------------------------------------------------- -r FILE */

START_TEST(test_save_raw_log)
{
	const size_t len = offsetof(struct nvmf_discovery_log, entries) +
			   2 * sizeof(struct nvmf_disc_log_entry);
	struct nvmf_discovery_log *log = calloc(1, len);
	char path[64], err[512];
	uint8_t *back = malloc(len);
	struct stat st;
	FILE *f;

	ck_assert_ptr_nonnull(log);
	ck_assert_ptr_nonnull(back);
	ck_assert_int_eq(len, 3072);
	log->numrec = htole64(2);
	snprintf(log->entries[1].subnqn, sizeof(log->entries[1].subnqn), "nqn.x");
	snprintf(path, sizeof(path), "/tmp/test_cli.%d.raw", (int)getpid());
	ck_assert_int_eq(cli_save_raw_log(path, log, 2), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, 3072);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fread(back, 1, len, f), len);
	fclose(f);
	ck_assert(!memcmp(back, log, len));
	unlink(path);
	err_begin();
	ck_assert_int_eq(cli_save_raw_log("/nonexistent-dir/x", log, 2), -1);
	err_end(err, sizeof(err));
	ck_assert_msg(count_lines(err) == 1 && strstr(err, "-r/--raw: cannot open /nonexistent-dir/x"),
		      "message '%s'", err);
	free(back);
	free(log);
}
END_TEST

/*
 * The persistent discovery daemon's connect commands: no secret, however
 * the caller spelled it (bundled -gS KEY, -SKEY, --dhchap-sec=KEY), and
 * every other option kept with its value, also a value that looks like a
 * secret option.
 */
static char *joined(char **v)
{
	static char buf[512];

	buf[0] = 0;
	for (int i = 0; v && v[i]; i++) {
		strcat(buf, i ? " " : "");
		strcat(buf, v[i]);
	}
	return buf;
}

START_TEST(test_argv_public)
{
	static const struct option lo[] = {
		{ "dhchap-secret", required_argument, NULL, 'S' },
		{ "dhchap-ctrl-secret", required_argument, NULL, 'C' },
		{ "tls-key", required_argument, NULL, 1 },
		{ "hostnqn", required_argument, NULL, 'q' },
		{ "persistent", no_argument, NULL, 'p' },
		{ "keep-removed", no_argument, NULL, 2 },
		{ "traddr", required_argument, NULL, 'a' },
		{ 0 }
	};
	static const char *const drop_long[] = { "persistent", "keep-removed", NULL };
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "x -gS DHHC-1:00:KEY -a 1.2.3.4", "-g -a 1.2.3.4" },
		{ "x -gSDHHC-1:00:KEY -G", "-g -G" },
		{ "x -Sk -C kk -pg", "-g" },
		{ "x -ga1.2.3.4 -p", "-ga1.2.3.4" },
		{ "x -a -S", "-a -S" },			/* -S is -a's value */
		{ "x --hostnqn -S --dhchap-sec=KEY --tls-key KEY2", "--hostnqn -S" },
		{ "x --dhchap-ctrl-secret KEY --keep-removed --persist --traddr=h", "--traddr=h" },
		{ "x --unknown KEY", "--unknown KEY" },	/* getopt refuses it anyway */
		{ "x -gS", "-g" },
		{ "x -- -S", "-- -S" },
	};

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		char line[256], *argv[16], **v;
		int argc = 0;

		strcpy(line, cases[c].in);
		for (char *t = strtok(line, " "); t; t = strtok(NULL, " "))
			argv[argc++] = t;
		argv[argc] = NULL;
		v = cli_argv_public(argc, argv, "a:S:C:q:pgG", lo, "p", drop_long);
		ck_assert_ptr_nonnull(v);
		ck_assert_msg(!strcmp(joined(v), cases[c].out), "%s: got '%s', want '%s'",
			      cases[c].in, joined(v), cases[c].out);
		cli_argv_free(v);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("options");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, test_fabrics_opt_table, 0, sizeof(opt_rows) / sizeof(opt_rows[0]));
	tcase_add_test(tc, test_fabrics_opt_not_host);
	tcase_add_test(tc, test_verbose_levels);
	tcase_add_test(tc, test_default_io_queues);
	tcase_add_loop_test(tc, test_finish_host_side, 0,
			    sizeof(finish_rows) / sizeof(finish_rows[0]));
	tcase_add_test(tc, test_finish_iface_rdma);
	tcase_add_test(tc, test_disc_opts);
	tcase_add_loop_test(tc, test_nbft_answer, 0, sizeof(nbft_rows) / sizeof(nbft_rows[0]));
	tcase_add_loop_test(tc, test_bad_option, 0, sizeof(bad_rows) / sizeof(bad_rows[0]));
	tcase_add_test(tc, test_save_raw_log);
	tcase_add_test(tc, test_secrets_from_env);
	tcase_add_test(tc, test_argv_public);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
