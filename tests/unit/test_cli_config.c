/* SPDX-License-Identifier: MIT */
/*
 * -J/--config and -O of the built nvmfuse (tools/cli_config.c) against two
 * fake targets, no CUSE, no ublk (any machine): connect-all -J connects the
 * file's controllers with their ports' options and their host entries'
 * identities (the targets see the digests, the keep-alive timeout and the
 * host ID asked for); `config -O` writes them so that, after
 * disconnect-all, connect-all -J of that file connects the same again and
 * a second dump is the same file. Secrets: never from a daemon, only from
 * the file read; a controller that authenticated without one is warned
 * about. A hostile file is refused in one line, nothing connected.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/sidecar_config.h"
#include "fake_target.h"

#define H1 "nqn.2024-01.io.nvmfuse:cfg-host1"
#define ID1 "2b7f3e9c-1d4a-4c55-8e6f-0a1b2c3d4e5f"
#define H2 "nqn.2014-08.org.nvmexpress:uuid:7d0e5a1b-3c2f-4e8d-9a6b-1f0e2d3c4b5a"
#define KEY_H "DHHC-1:01:pWf2+Dwk8mNFJyGdUfZxxqKO7E/XIf+1Surt0BwBeDuogeMu:"

static char g_dir[40];

static void dir_setup(void)
{
	snprintf(g_dir, sizeof(g_dir), "/tmp/test_cli_config.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(g_dir));
}

static void dir_teardown(void)
{
	char cmd[400];

	/* Any daemon left (a failed test) goes with its run dir. */
	snprintf(cmd, sizeof(cmd), "NVMFUSE_IDS_DIR='%s/ids' '%s/nvmfuse' disconnect-all "
		 "--run-dir '%s/run' >/dev/null 2>&1; rm -rf '%s'",
		 g_dir, getenv("NVMF_BUILDDIR") ? getenv("NVMF_BUILDDIR") : ".", g_dir, g_dir);
	ck_assert_int_ne(system(cmd), -1);
}

/*
 * Run `nvmfuse ARGS --run-dir DIR/run` (ARGS a shell fragment), standard
 * output to DIR/out, standard error to DIR/err. Returns its exit status.
 */
static int run(const char *args)
{
	const char *build = getenv("NVMF_BUILDDIR");
	char cmd[1024];
	int st;

	snprintf(cmd, sizeof(cmd), "cd '%s' && NVMFUSE_IDS_DIR='%s/ids' '%s/nvmfuse' %s "
		 "--run-dir '%s/run' >out 2>err", g_dir, g_dir, build ? build : ".", args, g_dir);
	st = system(cmd);
	ck_assert_int_ne(st, -1);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* The whole of DIR/@name, NUL-terminated (free it). */
static char *slurp(const char *name)
{
	char path[128], *buf;
	long len;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", g_dir, name);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)len + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	return buf;
}

static void write_file(const char *name, mode_t mode, const char *text)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", g_dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static int lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Host ID bytes of a UUID string, as the fake target records them. */
static void uuid_bytes(const char *s, uint8_t out[16])
{
	for (int i = 0, j = 0; i < 16; j++) {
		if (s[j] == '-')
			continue;
		sscanf(s + j, "%2hhx", &out[i++]);
		j++;
	}
}

START_TEST(test_round_trip)
{
	struct ft_config cfg;
	struct ft *ft1, *ft2;
	struct ft_stats s1, s2;
	struct sc_config back;
	char conf[1024], err[600], *dump, *dump2, *text;
	uint8_t id1[16], id2_first[16];

	ft_config_default(&cfg);
	ft1 = ft_start(&cfg);
	ft2 = ft_start(&cfg);
	ck_assert_ptr_nonnull(ft1);
	ck_assert_ptr_nonnull(ft2);
#define CFG(kato2) \
	"{\"hosts\":[{\"hostnqn\":\"" H1 "\",\"hostid\":\"" ID1 "\",\"subsystems\":[" \
	"{\"nqn\":\"%s\",\"ports\":[{\"transport\":\"tcp\",\"traddr\":\"127.0.0.1\"," \
	"\"trsvcid\":\"%s\",\"hdr_digest\":true,\"data_digest\":true," \
	"\"keep_alive_tmo\":7}]}]}," \
	"{\"hostnqn\":\"" H2 "\",\"subsystems\":[{\"nqn\":\"%s\",\"ports\":[" \
	"{\"transport\":\"tcp\",\"traddr\":\"127.0.0.1\",\"trsvcid\":\"%s\"," \
	"\"keep_alive_tmo\":" kato2 ",\"nr_io_queues\":2,\"reconnect_delay\":3}]}]}]}\n"
	/* A hostile file first: one line naming the member, nothing connected. */
	snprintf(conf, sizeof(conf), CFG("\"9\""), FT_SUBNQN, ft_port(ft1), FT_SUBNQN,
		 ft_port(ft2));
	write_file("bad.json", 0644, conf);
	snprintf(conf, sizeof(conf), CFG("9"), FT_SUBNQN, ft_port(ft1), FT_SUBNQN, ft_port(ft2));
	write_file("cfg.json", 0644, conf);
	ck_assert_int_eq(run("connect-all -J bad.json --no-cuse --no-ublk"), 1);
	text = slurp("err");
	ck_assert_msg(lines(text) == 1 && strstr(text, "bad.json: hosts[1].subsystems[0].ports[0]."
						 "keep_alive_tmo: a string, not an integer"),
		      "%s", text);
	free(text);
	ft_get_stats(ft2, &s2);
	ck_assert_int_eq(s2.connections, 0);

	/* connect-all -J: each controller as the file says. */
	ck_assert_msg(run("connect-all -J cfg.json --no-cuse --no-ublk") == 0, "%s",
		      slurp("err"));
	ft_get_stats(ft1, &s1);
	ft_get_stats(ft2, &s2);
	ck_assert(s1.hdgst && s1.ddgst);
	ck_assert(!s2.hdgst && !s2.ddgst);
	ck_assert_uint_eq(s1.admin_kato, 7000);
	ck_assert_uint_eq(s2.admin_kato, 9000);
	ck_assert_uint_eq(s2.io_connects, 2);
	uuid_bytes(ID1, id1);
	ck_assert_mem_eq(s1.hostid, id1, 16);
	memcpy(id2_first, s2.hostid, 16);

	/* config -O: the running configuration, which parses back to the file's. */
	ck_assert_int_eq(run("config -O"), 0);
	dump = slurp("out");
	ck_assert_msg(sc_config_parse(dump, strlen(dump), "dump", &back, err, sizeof(err)) == 0,
		      "%s: %s", err, dump);
	ck_assert_int_eq(back.nr_hosts, 2);
	ck_assert_int_eq(back.nr_ctrls, 2);
	ck_assert_str_eq(back.ctrls[0].hostnqn, H1);
	ck_assert_str_eq(back.ctrls[0].hostid, ID1);
	ck_assert_str_eq(back.ctrls[0].trsvcid, ft_port(ft1));
	ck_assert(back.ctrls[0].hdr_digest && back.ctrls[0].data_digest);
	ck_assert_int_eq(back.ctrls[0].keep_alive_tmo, 7);
	ck_assert_str_eq(back.ctrls[1].hostnqn, H2);
	ck_assert_int_eq(back.ctrls[1].nr_io_queues, 2);
	ck_assert_int_eq(back.ctrls[1].reconnect_delay, 3);
	sc_config_free(&back);
	write_file("dump.json", 0644, dump);

	/* Gone, and back from the dump: the same controllers, the same way. */
	ck_assert_int_eq(run("disconnect-all"), 0);
	ck_assert_int_eq(run("config -O"), 0);
	text = slurp("out");
	ck_assert_str_eq(text, "[\n]\n");	/* nothing runs */
	free(text);
	ck_assert_msg(run("connect-all -J dump.json --no-cuse --no-ublk") == 0, "%s",
		      slurp("err"));
	ft_get_stats(ft1, &s1);
	ft_get_stats(ft2, &s2);
	ck_assert_uint_eq(s1.admin_connects, 2);
	ck_assert_uint_eq(s2.admin_connects, 2);
	ck_assert(s1.hdgst && s1.ddgst && !s2.hdgst);
	ck_assert_uint_eq(s1.admin_kato, 7000);
	ck_assert_uint_eq(s2.admin_kato, 9000);
	ck_assert_mem_eq(s1.hostid, id1, 16);
	ck_assert_mem_eq(s2.hostid, id2_first, 16);
	ck_assert_int_eq(run("config -O"), 0);
	dump2 = slurp("out");
	ck_assert_str_eq(dump2, dump);

	/* connect -O: its own lines on stderr, standard output the dump alone. */
	ck_assert_int_eq(run("connect-all -J cfg.json -O --no-cuse --no-ublk"), 0);
	free(dump2);
	dump2 = slurp("out");
	ck_assert_str_eq(dump2, dump);
	text = slurp("err");
	ck_assert_msg(strstr(text, "already connected"), "%s", text);
	ck_assert_int_eq(run("disconnect-all"), 0);
	free(text);
	free(dump);
	free(dump2);
	ft_stop(ft1);
	ft_stop(ft2);
}
END_TEST

/* DH-HMAC-CHAP keys: in the dump only from the file read, a warning otherwise. */
START_TEST(test_secrets)
{
	struct ft_config cfg;
	struct ft *ft;
	struct ft_stats st;
	char conf[1024], *out, *err;

	ft_config_default(&cfg);
	cfg.auth_secret = KEY_H;
	cfg.auth_hash = 1;	/* hmac(sha256) */
	cfg.auth_dhgroup = 1;	/* ffdhe2048 */
	ft = ft_start(&cfg);
	ck_assert_ptr_nonnull(ft);
	snprintf(conf, sizeof(conf),
		 "{\"hosts\":[{\"hostnqn\":\"" H2 "\",\"dhchap_key\":\"" KEY_H "\",\"subsystems\":["
		 "{\"nqn\":\"%s\",\"ports\":[{\"transport\":\"tcp\",\"traddr\":\"127.0.0.1\","
		 "\"trsvcid\":\"%s\"}]}]}]}\n", FT_SUBNQN, ft_port(ft));
	/* A secret in a file others may read is refused. */
	write_file("cfg.json", 0644, conf);
	ck_assert_int_eq(run("connect-all -J cfg.json --no-cuse --no-ublk"), 1);
	err = slurp("err");
	ck_assert_msg(strstr(err, "chmod 600") && lines(err) == 1, "%s", err);
	free(err);
	write_file("cfg2.json", 0600, conf);
	ck_assert_msg(run("connect-all -J cfg2.json --no-cuse --no-ublk") == 0, "%s",
		      slurp("err"));
	ft_get_stats(ft, &st);
	ck_assert_uint_ge(st.auth_ok, 2);

	ck_assert_int_eq(run("config -O"), 0);
	out = slurp("out");
	err = slurp("err");
	ck_assert_msg(!strstr(out, "DHHC-1"), "a secret from a daemon: %s", out);
	ck_assert_msg(strstr(err, "1 controller(s) authenticated") && lines(err) == 1, "%s", err);
	free(out);
	free(err);
	ck_assert_int_eq(run("config -O -J cfg2.json"), 0);
	out = slurp("out");
	err = slurp("err");
	ck_assert_msg(strstr(out, "\"dhchap_key\": \"" KEY_H "\""), "%s", out);
	ck_assert_str_eq(err, "");
	free(out);
	free(err);
	ck_assert_int_eq(run("disconnect-all"), 0);
	ft_stop(ft);
}
END_TEST

/*
 * A port of the discovery subsystem (what nvme-cli writes for discover -p)
 * is a discovery controller: connect-all reads its log, connect skips it
 * saying so.
 */
START_TEST(test_discovery_entry)
{
	struct ft_config cfg;
	struct ft *ft;
	struct ft_stats st;
	char conf[512], *out, *err;

	ft_config_default(&cfg);
	ft = ft_start(&cfg);
	ck_assert_ptr_nonnull(ft);
	snprintf(conf, sizeof(conf),
		 "{\"hosts\":[{\"hostnqn\":\"" H2 "\",\"subsystems\":[{\"nqn\":"
		 "\"nqn.2014-08.org.nvmexpress.discovery\",\"ports\":[{\"transport\":\"tcp\","
		 "\"traddr\":\"127.0.0.1\",\"trsvcid\":\"%s\",\"persistent\":true}]}]}]}\n",
		 ft_port(ft));
	write_file("disc.json", 0644, conf);
	ck_assert_msg(run("connect-all -J disc.json --no-cuse --no-ublk") == 0, "%s",
		      slurp("err"));
	out = slurp("out");
	ck_assert_msg(strstr(out, "no NVMe subsystems"), "%s", out);	/* its log is empty */
	free(out);
	ft_get_stats(ft, &st);
	ck_assert_uint_ge(st.disc_reads, 1);
	ck_assert_uint_eq(st.io_connects, 0);
	ck_assert_int_eq(run("connect -J disc.json --no-cuse --no-ublk"), 1);
	err = slurp("err");
	ck_assert_msg(strstr(err, "not connecting the discovery controller at tcp 127.0.0.1:") &&
		      strstr(err, "disc.json has no controller"), "%s", err);
	free(err);
	ft_stop(ft);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("cli_config");
	TCase *tc = tcase_create("config");

	tcase_add_checked_fixture(tc, dir_setup, dir_teardown);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_secrets);
	tcase_add_test(tc, test_discovery_entry);
	tcase_set_timeout(tc, 120);
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
