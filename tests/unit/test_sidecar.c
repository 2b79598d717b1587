/* SPDX-License-Identifier: MIT */
/*
 * The sidecar supervisor (daemon/sidecar.h) at work: the built `nvmfuse
 * sidecar` (no CUSE, no ublk: any machine) keeps a controller of the fake
 * target served. Readiness comes from the daemons' STATE reports, not from
 * asking every live daemon every second: a live daemon is left alone, a
 * lost connection removes the ready file and the reconnect writes it again.
 */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fake_target.h"

#define HOSTNQN "nqn.2014-08.org.nvmexpress:uuid:3c1e7a52-9b0d-4e6f-8a21-5d7c9e0f1b23"
#define HOSTID "3c1e7a52-9b0d-4e6f-8a21-5d7c9e0f1b23"

static char g_dir[64];

static void dir_setup(void)
{
	snprintf(g_dir, sizeof(g_dir), "/tmp/test_sidecar.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(g_dir));
}

static void dir_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Wait up to @secs for @path to exist (@want true) or not; true if it did. */
static bool wait_file(const char *path, bool want, int secs)
{
	for (int i = 0; i < secs * 20; i++) {
		if ((access(path, F_OK) == 0) == want)
			return true;
		nanosleep(&(struct timespec){ 0, 50 * 1000 * 1000 }, NULL);
	}
	return false;
}

/* How many lines of the daemon logs in @run contain @what. */
static int log_count(const char *run, const char *what)
{
	DIR *d = opendir(run);
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d))) {
		char path[512], line[1024];
		size_t len = strlen(e->d_name);
		FILE *f;

		if (strncmp(e->d_name, "nvme", 4) || len < 5 || strcmp(e->d_name + len - 4, ".log"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", run, e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			n += strstr(line, what) != NULL;
		fclose(f);
	}
	closedir(d);
	return n;
}

START_TEST(test_ready_from_state_reports)
{
	struct ft_config cfg;
	struct ft *ft;
	char conf[128], run[128], ready[128], ids[128], bin[512];
	const char *build = getenv("NVMF_BUILDDIR");
	int asked, st;
	FILE *f;
	pid_t pid;

	ft_config_default(&cfg);
	ft = ft_start(&cfg);
	ck_assert_ptr_nonnull(ft);
	snprintf(conf, sizeof(conf), "%s/config.json", g_dir);
	snprintf(run, sizeof(run), "%s/run", g_dir);
	snprintf(ready, sizeof(ready), "%s/ready", g_dir);
	snprintf(ids, sizeof(ids), "%s/ids", g_dir);
	snprintf(bin, sizeof(bin), "%s/nvmfuse", build ? build : ".");
	f = fopen(conf, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "{\"hosts\":[{\"subsystems\":[{\"nqn\":\"%s\",\"ports\":[{\"transport\":\"tcp\","
		"\"traddr\":\"127.0.0.1\",\"trsvcid\":\"%s\",\"reconnect_delay\":1}]}]}]}\n",
		FT_SUBNQN, ft_port(ft));
	fclose(f);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		const char *args[] = { "nvmfuse", "sidecar", "--config", conf, "--run-dir", run,
				       "--ready-file", ready, "--no-cuse", "--no-ublk",
				       "-q", HOSTNQN, "-I", HOSTID, NULL };
		int null = open("/dev/null", O_WRONLY);

		setenv("NVMFUSE_IDS_DIR", ids, 1);
		setenv("NVMFUSE_LOG", "debug", 1);	/* the daemon logs each control request */
		dup2(null, 1);
		dup2(null, 2);
		execv(bin, (char *const *)args);
		_exit(127);
	}
	ck_assert_msg(wait_file(ready, true, 20), "no ready file within 20 s");

	/*
	 * Live: nobody asks the daemon anything any more (before, the sidecar
	 * asked every live daemon for its whole info once a second).
	 */
	asked = log_count(run, "control request: info");
	ck_assert_int_ge(asked, 1);	/* the check after its "OK" */
	sleep(3);
	ck_assert_int_eq(log_count(run, "control request: info"), asked);

	/* The connection lost: not ready (STATE reconnecting), then ready again. */
	ft_arm(ft, 0, FT_FAULT_CLOSE, 0);
	ck_assert_msg(wait_file(ready, false, 20), "the ready file stayed after the connection loss");
	ck_assert_msg(wait_file(ready, true, 20), "no ready file again after the reconnect");

	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "sidecar status 0x%x", st);
	ft_stop(ft);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("sidecar");
	TCase *tc = tcase_create("ready");

	tcase_add_checked_fixture(tc, dir_setup, dir_teardown);
	tcase_add_test(tc, test_ready_from_state_reports);
	tcase_set_timeout(tc, 90);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
