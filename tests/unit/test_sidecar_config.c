/* SPDX-License-Identifier: MIT */
/*
 * The sidecar's config.json (daemon/sidecar_config.h): the libnvme schema
 * read member by member; every hostile file (not JSON, wrong types,
 * missing members, values out of range, unknown or unsupported members,
 * duplicates, arrays and files over the limits) refused with one line
 * naming the file and the member. And the identity order the command
 * applies per host entry: flags, LIBNVME_* env, the entry, the files.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sys/stat.h>

#include <json-c/json.h>

#include "daemon/sidecar_config.h"
#include "dontdump.h"

#define NQN1 "nqn.2024-01.io.nvmfuse:one"
#define NQN2 "nqn.2024-01.io.nvmfuse:two"
#define UUID1 "6f7c2a1e-4a3b-4b8c-9d0e-1f2a3b4c5d6e"

static int parse(const char *text, struct sc_config *cfg, char *err, size_t errlen)
{
	return sc_config_parse(text, strlen(text), "cfg.json", cfg, err, errlen);
}

#define TLSKEY "NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:"

START_TEST(test_good_object_form)
{
	static const char text[] =
		"{\"hosts\":[{\"hostnqn\":\"nqn.2024-01.io.nvmfuse:pod\",\"hostid\":\"" UUID1 "\","
		"\"hostsymname\":\"pod\",\"subsystems\":["
		"{\"nqn\":\"" NQN1 "\",\"ports\":[{\"transport\":\"tcp\",\"traddr\":\"10.0.0.1\","
		"\"trsvcid\":\"4421\",\"nr_io_queues\":4,\"nr_poll_queues\":2,\"queue_size\":64,"
		"\"keep_alive_tmo\":0,"
		"\"reconnect_delay\":2,\"ctrl_loss_tmo\":-1,\"fast_io_fail_tmo\":5,"
		"\"hdr_digest\":true,\"data_digest\":true,\"disable_sqflow\":true,"
		"\"persistent\":true,\"tls\":true,\"tls_key\":\"" TLSKEY "\","
		"\"keyring\":\".nvme\",\"tls_key_identity\":\"NVMe0R01 a b\","
		"\"host_traddr\":\"10.0.0.100\",\"host_iface\":\"eth1\",\"tos\":184,"
		"\"nr_write_queues\":3,\"duplicate_connect\":true},"
		"{\"transport\":\"rdma\",\"traddr\":\"10.0.0.2\",\"optional\":true}]},"
		"{\"nqn\":\"" NQN2 "\",\"optional\":true,\"ports\":[{\"transport\":\"tcp\","
		"\"traddr\":\"10.0.0.1\"}]}]},"
		"{\"subsystems\":[{\"nqn\":\"" NQN2 "\",\"ports\":[{\"transport\":\"tcp\","
		"\"traddr\":\"10.0.0.9\",\"trsvcid\":\"65535\"}]}]}]}\n";
	struct sc_config cfg;
	char err[512] = "";
	const struct sc_ctrl_cfg *c;

	ck_assert_msg(parse(text, &cfg, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(cfg.nr_hosts, 2);
	ck_assert_int_eq(cfg.nr_ctrls, 4);
	c = &cfg.ctrls[0];
	ck_assert_int_eq(c->host, 0);
	ck_assert_str_eq(c->hostnqn, "nqn.2024-01.io.nvmfuse:pod");
	ck_assert_str_eq(c->hostid, UUID1);
	ck_assert_str_eq(c->subnqn, NQN1);
	ck_assert_str_eq(c->transport, "tcp");
	ck_assert_str_eq(c->traddr, "10.0.0.1");
	ck_assert_str_eq(c->trsvcid, "4421");
	ck_assert_int_eq(c->nr_io_queues, 4);
	ck_assert_int_eq(c->nr_poll_queues, 2);
	ck_assert_int_eq(c->queue_size, 64);
	ck_assert_int_eq(c->keep_alive_tmo, 0);
	ck_assert_int_eq(c->reconnect_delay, 2);
	ck_assert_int_eq(c->ctrl_loss_tmo, -1);	/* forever: not the same as absent */
	ck_assert_int_eq(c->fast_io_fail_tmo, 5);
	ck_assert(c->hdr_digest && c->data_digest && c->disable_sqflow && !c->optional);
	ck_assert(c->tls);
	ck_assert_str_eq(c->tls_key, TLSKEY);
	ck_assert_int_eq(dontdump_of(c->tls_key), 1);
	ck_assert_str_eq(c->keyring, ".nvme");
	ck_assert_str_eq(c->tls_key_identity, "NVMe0R01 a b");
	ck_assert_str_eq(c->host_traddr, "10.0.0.100");
	ck_assert_str_eq(c->host_iface, "eth1");
	ck_assert_int_eq(c->tos, 184);
	ck_assert_int_eq(c->nr_write_queues, 3);
	ck_assert(c->duplicate_connect);
	c = &cfg.ctrls[1];
	ck_assert(!c->tls);
	ck_assert_ptr_null(c->tls_key);
	ck_assert_str_eq(c->transport, "rdma");
	ck_assert_str_eq(c->trsvcid, "4420");		/* the default */
	ck_assert_int_eq(c->nr_io_queues, SC_UNSET);
	ck_assert_int_eq(c->nr_poll_queues, SC_UNSET);
	ck_assert_int_eq(c->ctrl_loss_tmo, SC_UNSET);
	ck_assert_int_eq(c->tos, SC_UNSET);
	ck_assert_int_eq(c->nr_write_queues, SC_UNSET);
	ck_assert_ptr_null(c->host_traddr);
	ck_assert(!c->duplicate_connect);
	ck_assert(c->optional && !c->hdr_digest);	/* port-level optional */
	c = &cfg.ctrls[2];
	ck_assert_str_eq(c->subnqn, NQN2);
	ck_assert(c->optional);				/* from its subsystem */
	c = &cfg.ctrls[3];
	ck_assert_int_eq(c->host, 1);
	ck_assert_ptr_null(c->hostnqn);
	ck_assert_ptr_null(c->hostid);
	ck_assert_str_eq(c->trsvcid, "65535");
	ck_assert(!c->optional);
	sc_config_free(&cfg);
	ck_assert_ptr_null(cfg.ctrls);
}
END_TEST

/* libnvme's nvme_dump_config writes the hosts array bare. */
START_TEST(test_good_array_form)
{
	static const char text[] =
		" [ {\"hostnqn\":\"nqn.2024-01.io.nvmfuse:pod\",\"subsystems\":[{\"nqn\":\"" NQN1
		"\",\"ports\":[{\"transport\":\"tcp\",\"traddr\":\"127.0.0.1\"}]}]} ]\n\n";
	struct sc_config cfg;
	char err[512] = "";

	ck_assert_msg(parse(text, &cfg, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(cfg.nr_ctrls, 1);
	ck_assert_ptr_null(cfg.ctrls[0].hostid);
	sc_config_free(&cfg);
}
END_TEST

/* A port entry inside the usual wrapping, for the table below. */
#define PORT(body) "{\"hosts\":[{\"subsystems\":[{\"nqn\":\"" NQN1 "\",\"ports\":[" body "]}]}]}"
#define TCP "\"transport\":\"tcp\",\"traddr\":\"10.0.0.1\""

static const struct bad_case {
	const char *text;
	int rc;
	const char *where;	/* must appear in the message, after "cfg.json: " */
} bad_cases[] = {
	{ "", -EBADMSG, "not JSON" },
	{ "{\"hosts\":[", -EBADMSG, "ends in the middle" },
	{ "{\"hosts\":[]} x", -EBADMSG, "not JSON" },
	{ "{\"hosts\":[]} {}", -EBADMSG, "not JSON" },
	{ "\"hosts\"", -EINVAL, "not an object" },
	{ "42", -EBADMSG, "not JSON" },	/* a bare number never ends */
	{ "[] ", -EINVAL, "no controller" },
	{ "{\"hosts\":null}", -EINVAL, "hosts: a null, not an array" },
	{ "{}", -EINVAL, "hosts: missing" },
	{ "{\"hosts\":{}}", -EINVAL, "hosts: a object, not an array" },
	{ "{\"hosts\":[]}", -EINVAL, "no controller" },
	{ "{\"hosts\":[],\"extra\":1}", -EINVAL, "unknown member 'extra'" },
	{ "{\"hosts\":[7]}", -EINVAL, "hosts[0]: a int, not an object" },
	{ "{\"hosts\":[{}]}", -EINVAL, "hosts[0].subsystems: missing" },
	{ "{\"hosts\":[{\"subsystems\":[]}]}", -EINVAL, "no controller" },
	{ "{\"hosts\":[{\"hostnqn\":5,\"subsystems\":[]}]}", -EINVAL,
	  "hosts[0].hostnqn: a int, not a string" },
	{ "{\"hosts\":[{\"hostnqn\":\"\",\"subsystems\":[]}]}", -EINVAL, "hosts[0].hostnqn: empty" },
	{ "{\"hosts\":[{\"hostid\":\"not-a-uuid\",\"subsystems\":[]}]}", -EINVAL,
	  "hosts[0].hostid: 'not-a-uuid' is not a UUID" },
	{ "{\"hosts\":[{\"hostid\":\"6f7c2a1e-4a3b-4b8c-9d0e-1f2a3b4c5d6g\",\"subsystems\":[]}]}",
	  -EINVAL, "not a UUID" },
	{ "{\"hosts\":[{\"dhchap_key\":\"secret-x\",\"subsystems\":[]}]}", -EINVAL,
	  "hosts[0].dhchap_key: not a DHHC-1 secret" },
	{ "{\"hosts\":[{\"dhchap_key\":7,\"subsystems\":[]}]}", -EINVAL,
	  "hosts[0].dhchap_key: a int, not a string" },
	{ "{\"hosts\":[{\"subsystems\":[{\"ports\":[]}]}]}", -EINVAL,
	  "hosts[0].subsystems[0].nqn: missing" },
	{ "{\"hosts\":[{\"subsystems\":[{\"nqn\":\"" NQN1 "\"}]}]}", -EINVAL,
	  "hosts[0].subsystems[0].ports: missing" },
	{ "{\"hosts\":[{\"subsystems\":[{\"nqn\":\"" NQN1 "\",\"ports\":[]}]}]}", -EINVAL,
	  "hosts[0].subsystems[0].ports: empty" },
	{ "{\"hosts\":[{\"subsystems\":[{\"nqn\":\"nqn.2014-08.org.nvmexpress.discovery\","
	  "\"ports\":[{" TCP "}]}]}]}", -EINVAL, "discovery subsystem" },
	{ "{\"hosts\":[{\"subsystems\":[{\"nqn\":[],\"ports\":[{" TCP "}]}]}]}", -EINVAL,
	  "subsystems[0].nqn: a array, not a string" },
	{ "{\"hosts\":[{\"subsystems\":[{\"nqn\":\"" NQN1 "\",\"optional\":\"yes\",\"ports\":[{" TCP
	  "}]}]}]}", -EINVAL, "subsystems[0].optional: a string, not a boolean" },
	{ PORT("5"), -EINVAL, "ports[0]: a int, not an object" },
	{ PORT("{}"), -EINVAL, "ports[0].transport: missing" },
	{ PORT("{\"transport\":\"fc\",\"traddr\":\"x\"}"), -EINVAL,
	  "ports[0].transport: 'fc' is neither tcp nor rdma" },
	{ PORT("{\"transport\":\"loop\",\"traddr\":\"x\"}"), -EINVAL, "neither tcp nor rdma" },
	{ PORT("{\"transport\":1,\"traddr\":\"x\"}"), -EINVAL, "transport: a int, not a string" },
	{ PORT("{\"transport\":\"tcp\"}"), -EINVAL, "ports[0].traddr: missing" },
	{ PORT("{\"transport\":\"tcp\",\"traddr\":\"10.0.0.1\\n\"}"), -EINVAL, "control character" },
	{ PORT("{" TCP ",\"trsvcid\":4420}"), -EINVAL, "trsvcid: a int, not a string" },
	{ PORT("{" TCP ",\"trsvcid\":\"0\"}"), -EINVAL, "trsvcid: '0' is not a port number" },
	{ PORT("{" TCP ",\"trsvcid\":\"65536\"}"), -EINVAL, "not a port number" },
	{ PORT("{" TCP ",\"trsvcid\":\"44a\"}"), -EINVAL, "not a port number" },
	{ PORT("{" TCP ",\"trsvcid\":\"-1\"}"), -EINVAL, "not a port number" },
	{ PORT("{" TCP ",\"nr_io_queues\":\"4\"}"), -EINVAL, "nr_io_queues: a string, not an integer" },
	{ PORT("{" TCP ",\"nr_io_queues\":0}"), -EINVAL,
	  "nr_io_queues: 0 needs nr_poll_queues 1 or more" },
	{ PORT("{" TCP ",\"nr_io_queues\":0,\"nr_poll_queues\":0}"), -EINVAL,
	  "nr_io_queues: 0 needs nr_poll_queues" },
	{ PORT("{" TCP ",\"nr_io_queues\":129}"), -EINVAL, "outside 0..128" },
	{ PORT("{" TCP ",\"nr_poll_queues\":-1}"), -EINVAL, "nr_poll_queues: -1 is outside 0..128" },
	{ PORT("{" TCP ",\"nr_poll_queues\":\"2\"}"), -EINVAL, "nr_poll_queues: a string" },
	{ PORT("{" TCP ",\"nr_io_queues\":1.5}"), -EINVAL, "a double, not an integer" },
	{ PORT("{" TCP ",\"nr_io_queues\":true}"), -EINVAL, "a boolean, not an integer" },
	{ PORT("{" TCP ",\"queue_size\":99999999999999999999999}"), -EINVAL, "queue_size" },
	{ PORT("{" TCP ",\"queue_size\":-9223372036854775808}"), -EINVAL, "outside 2..1024" },
	{ PORT("{" TCP ",\"keep_alive_tmo\":-1}"), -EINVAL, "keep_alive_tmo: -1 is outside" },
	{ PORT("{" TCP ",\"reconnect_delay\":0}"), -EINVAL, "reconnect_delay: 0 is outside" },
	{ PORT("{" TCP ",\"ctrl_loss_tmo\":-2}"), -EINVAL, "ctrl_loss_tmo: -2 is outside" },
	{ PORT("{" TCP ",\"fast_io_fail_tmo\":null}"), -EINVAL, "a null, not an integer" },
	{ PORT("{" TCP ",\"hdr_digest\":1}"), -EINVAL, "hdr_digest: a int, not a boolean" },
	{ PORT("{" TCP ",\"data_digest\":\"true\"}"), -EINVAL, "data_digest: a string" },
	{ PORT("{" TCP ",\"concat\":true}"), -EOPNOTSUPP, "ports[0]: 'concat' is not supported" },
	{ PORT("{" TCP ",\"tls\":1}"), -EINVAL, "tls: a int, not a boolean" },
	{ PORT("{" TCP ",\"tls_key\":\"DHHC-1:00:abc:\"}"), -EINVAL,
	  "tls_key: not in the PSK interchange format" },
	{ PORT("{\"transport\":\"rdma\",\"traddr\":\"x\",\"tls\":true}"), -EINVAL,
	  "ports[0].tls: TLS is for transport tcp only" },
	{ PORT("{" TCP ",\"keyring\":7}"), -EINVAL, "keyring: a int, not a string" },
	{ PORT("{" TCP ",\"host_traddr\":7}"), -EINVAL, "host_traddr: a int, not a string" },
	{ PORT("{" TCP ",\"host_iface\":\"a-very-long-interface\"}"), -EINVAL, "host_iface" },
	{ PORT("{\"transport\":\"rdma\",\"traddr\":\"x\",\"host_iface\":\"eth0\"}"), -EINVAL,
	  "ports[0].host_iface: binding an interface is for transport tcp only" },
	{ PORT("{" TCP ",\"tos\":256}"), -EINVAL, "tos: 256 is outside -1..255" },
	{ PORT("{" TCP ",\"nr_write_queues\":-1}"), -EINVAL, "nr_write_queues: -1 is outside" },
	{ PORT("{" TCP ",\"duplicate_connect\":1}"), -EINVAL, "duplicate_connect: a int" },
	{ PORT("{" TCP ",\"dhchap_ctrl_key\":\"x\"}"), -EINVAL,
	  "ports[0].dhchap_ctrl_key: not a DHHC-1 secret" },
	{ PORT("{" TCP ",\"dhchap_key\":\"\"}"), -EINVAL, "ports[0].dhchap_key: empty" },
	{ PORT("{" TCP ",\"nr_io_queue\":2}"), -EINVAL, "unknown member 'nr_io_queue'" },
	/* Found by fuzz_sidecar_config: a key's newline made the message two lines. */
	{ PORT("{" TCP ",\"a\\nb\":2}"), -EINVAL, "unknown member 'a?b'" },
	{ PORT("{" TCP "},{" TCP "}"), -EINVAL, "ports[1]: " NQN1 " at tcp 10.0.0.1:4420 is listed twice" },
	{ PORT("{" TCP "},{" TCP ",\"trsvcid\":\"4420\"}"), -EINVAL, "listed twice" },
	{ "{\"hosts\":[[[[[[[[[[1]]]]]]]]]]}", -EBADMSG, "not JSON" },
};

START_TEST(test_bad)
{
	const struct bad_case *b = &bad_cases[_i];
	struct sc_config cfg;
	char err[512] = "";
	int rc = parse(b->text, &cfg, err, sizeof(err));

	ck_assert_msg(rc == b->rc, "case %d (%s): rc %d, want %d: %s", _i, b->text, rc, b->rc, err);
	ck_assert_msg(!strncmp(err, "cfg.json: ", 10), "case %d: no file name: %s", _i, err);
	ck_assert_msg(strstr(err, b->where), "case %d: '%s' lacks '%s'", _i, err, b->where);
	ck_assert_msg(!strchr(err, '\n'), "case %d: more than one line: %s", _i, err);
	ck_assert_ptr_null(cfg.ctrls);
	ck_assert_ptr_null(cfg.root);
}
END_TEST

/* Build "{"hosts":[{"subsystems":[{"nqn":...,"ports":[N ports]}]}]}" with distinct ports. */
static char *many_ports(int n)
{
	size_t cap = 100 + (size_t)n * 80;
	char *s = malloc(cap);
	size_t off;

	ck_assert_ptr_nonnull(s);
	off = (size_t)snprintf(s, cap, "{\"hosts\":[{\"subsystems\":[{\"nqn\":\"" NQN1 "\",\"ports\":[");
	for (int i = 0; i < n; i++)
		off += (size_t)snprintf(s + off, cap - off, "%s{\"transport\":\"tcp\",\"traddr\":"
					"\"10.0.%d.%d\"}", i ? "," : "", i / 250, i % 250);
	snprintf(s + off, cap - off, "]}]}]}");
	return s;
}

START_TEST(test_huge_arrays)
{
	struct sc_config cfg;
	char err[512] = "", *s;

	s = many_ports(SC_CONFIG_CTRLS_MAX);
	ck_assert_msg(parse(s, &cfg, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(cfg.nr_ctrls, SC_CONFIG_CTRLS_MAX);
	sc_config_free(&cfg);
	free(s);

	s = many_ports(SC_CONFIG_CTRLS_MAX + 1);
	ck_assert_int_eq(parse(s, &cfg, err, sizeof(err)), -E2BIG);
	ck_assert_msg(strstr(err, "cfg.json: hosts[0].subsystems[0].ports: 257 entries"), "%s", err);
	free(s);

	/* Many subsystems of one port each add up: the total is bounded too. */
	{
		size_t cap = 200 + 300 * 120;
		size_t off;

		s = malloc(cap);
		off = (size_t)snprintf(s, cap, "{\"hosts\":[{\"subsystems\":[");
		for (int i = 0; i < 300; i++)
			off += (size_t)snprintf(s + off, cap - off, "%s{\"nqn\":\"nqn.x:%d\",\"ports\":"
						"[{\"transport\":\"tcp\",\"traddr\":\"a\"}]}",
						i ? "," : "", i);
		snprintf(s + off, cap - off, "]}]}");
		ck_assert_int_eq(parse(s, &cfg, err, sizeof(err)), -E2BIG);
		ck_assert_msg(strstr(err, "subsystems: 300 entries") ||
			      strstr(err, "more than 256 controllers"), "%s", err);
		free(s);
	}

	/* A file over the size limit is refused before json-c sees it. */
	s = malloc(SC_CONFIG_FILE_MAX + 2);
	memset(s, ' ', SC_CONFIG_FILE_MAX + 1);
	s[SC_CONFIG_FILE_MAX + 1] = 0;
	ck_assert_int_eq(parse(s, &cfg, err, sizeof(err)), -E2BIG);
	ck_assert_ptr_nonnull(strstr(err, "more than"));
	free(s);

	/* An NQN one byte over 223. */
	{
		char nqn[225], text[600];

		memset(nqn, 'a', 224);
		nqn[224] = 0;
		snprintf(text, sizeof(text), "{\"hosts\":[{\"subsystems\":[{\"nqn\":\"%s\",\"ports\":"
			 "[{" TCP "}]}]}]}", nqn);
		ck_assert_int_eq(parse(text, &cfg, err, sizeof(err)), -EINVAL);
		ck_assert_msg(strstr(err, "subsystems[0].nqn: 224 bytes, more than 223"), "%s", err);
	}
}
END_TEST

START_TEST(test_nul_and_load)
{
	static const char nul[] = "{\"hosts\":[]}\0 ";
	char path[] = "/tmp/test_sidecar_config.XXXXXX", err[512] = "";
	struct sc_config cfg;
	FILE *f;
	int fd;

	ck_assert_int_eq(sc_config_parse(nul, sizeof(nul) - 1, "n.json", &cfg, err, sizeof(err)),
			 -EBADMSG);
	ck_assert_ptr_nonnull(strstr(err, "n.json: not JSON: a NUL byte at 12"));

	ck_assert_int_eq(sc_config_load("/nonexistent/config.json", &cfg, err, sizeof(err)),
			 -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/config.json: No such file"));

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	fputs(PORT("{" TCP "}"), f);
	fclose(f);
	ck_assert_msg(sc_config_load(path, &cfg, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(cfg.nr_ctrls, 1);
	sc_config_free(&cfg);
	/* The message names the file read. */
	f = fopen(path, "w");
	fputs(PORT("{\"transport\":\"tcp\"}"), f);
	fclose(f);
	ck_assert_int_eq(sc_config_load(path, &cfg, err, sizeof(err)), -EINVAL);
	ck_assert_msg(!strncmp(err, path, strlen(path)), "%s", err);
	/* A file with a TLS key must be private (mkstemp made it 0600). */
	f = fopen(path, "w");
	fputs(PORT("{" TCP ",\"tls_key\":\"" TLSKEY "\"}"), f);
	fclose(f);
	ck_assert_msg(sc_config_load(path, &cfg, err, sizeof(err)) == 0, "%s", err);
	sc_config_free(&cfg);
	ck_assert_int_eq(chmod(path, 0640), 0);
	ck_assert_int_eq(sc_config_load(path, &cfg, err, sizeof(err)), -EACCES);
	ck_assert_msg(strstr(err, "holds secrets (tls_key)") && strstr(err, "mode 640"), "%s", err);
	ck_assert_ptr_null(cfg.ctrls);
	ck_assert_ptr_null(strstr(err, "VRLb"));
	/* Without a key, the same mode is fine. */
	f = fopen(path, "w");
	fputs(PORT("{" TCP ",\"tls\":true}"), f);
	fclose(f);
	ck_assert_msg(sc_config_load(path, &cfg, err, sizeof(err)) == 0, "%s", err);
	sc_config_free(&cfg);
	unlink(path);
}
END_TEST

/*
 * DH-HMAC-CHAP secrets: the host entry's dhchap_key for its ports unless a
 * port has its own; dhchap_ctrl_key per port. A file holding any is refused
 * when group or others may read it; messages never quote a secret.
 */
#define KEY_H "DHHC-1:00:hostkeyhostkey:"
#define KEY_P "DHHC-1:01:portkeyportkey:"
#define KEY_C "DHHC-1:00:ctrlkeyctrlkey:"
START_TEST(test_dhchap_keys)
{
	static const char text[] =
		"{\"hosts\":[{\"dhchap_key\":\"" KEY_H "\",\"subsystems\":[{\"nqn\":\"" NQN1 "\","
		"\"ports\":[{" TCP "},{\"transport\":\"tcp\",\"traddr\":\"10.0.0.2\",\"dhchap_key\":"
		"\"" KEY_P "\",\"dhchap_ctrl_key\":\"" KEY_C "\"},{\"transport\":\"tcp\","
		"\"traddr\":\"10.0.0.3\"}]}]},{\"subsystems\":[{\"nqn\":\""
		NQN2 "\",\"ports\":[{" TCP "}]}]}]}";
	char path[] = "/tmp/test_sidecar_config.XXXXXX", err[512] = "";
	struct sc_config cfg;
	FILE *f;
	int fd;

	ck_assert_msg(parse(text, &cfg, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(cfg.nr_ctrls, 4);
	ck_assert_str_eq(cfg.ctrls[0].dhchap_key, KEY_H);
	ck_assert_ptr_null(cfg.ctrls[0].dhchap_ctrl_key);
	ck_assert_str_eq(cfg.ctrls[1].dhchap_key, KEY_P);
	ck_assert_str_eq(cfg.ctrls[1].dhchap_ctrl_key, KEY_C);
	ck_assert_str_eq(cfg.ctrls[2].dhchap_key, KEY_H);
	ck_assert_ptr_null(cfg.ctrls[3].dhchap_key);	/* another host entry */
	/*
	 * The secrets are copies in memory left out of core dumps, one per
	 * distinct string (the host's, shared), and the JSON tree, which
	 * lives as long as the sidecar, no longer holds them.
	 */
	ck_assert_int_eq(cfg.nr_secrets, 3);
	ck_assert_ptr_eq(cfg.ctrls[0].dhchap_key, cfg.ctrls[2].dhchap_key);
	ck_assert_int_eq(dontdump_of(cfg.ctrls[0].dhchap_key), 1);
	ck_assert_int_eq(dontdump_of(cfg.ctrls[1].dhchap_key), 1);
	ck_assert_int_eq(dontdump_of(cfg.ctrls[1].dhchap_ctrl_key), 1);
	ck_assert_int_eq(dontdump_of(cfg.ctrls[0].subnqn), 0);	/* the rest stays in the tree */
	{
		const char *js = json_object_to_json_string(cfg.root);

		ck_assert_msg(!strstr(js, "hostkey") && !strstr(js, "portkey") &&
			      !strstr(js, "ctrlkey") && strstr(js, NQN1), "%s", js);
	}
	sc_config_free(&cfg);

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	ck_assert_int_eq(chmod(path, 0640), 0);
	ck_assert_int_eq(sc_config_load(path, &cfg, err, sizeof(err)), -EACCES);
	ck_assert_msg(strstr(err, "chmod 600"), "%s", err);
	ck_assert_msg(!strstr(err, "hostkey") && !strstr(err, "ctrlkey"), "%s", err);
	ck_assert_ptr_null(cfg.ctrls);
	ck_assert_int_eq(chmod(path, 0600), 0);
	ck_assert_msg(sc_config_load(path, &cfg, err, sizeof(err)) == 0, "%s", err);
	sc_config_free(&cfg);
	/* Without secrets the mode does not matter. */
	f = fopen(path, "w");
	fputs(PORT("{" TCP "}"), f);
	fclose(f);
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_msg(sc_config_load(path, &cfg, err, sizeof(err)) == 0, "%s", err);
	sc_config_free(&cfg);
	unlink(path);
}
END_TEST

/* ------------------------------------------------------------ identity */

/*
 * Run the built `nvmfuse sidecar` on a config whose one controller is at a
 * port where nothing listens (its daemon fails and is retried), with
 * @env_nqn as LIBNVME_HOSTNQN (NULL: unset) and @extra flags; wait for
 * its state file, and return the host NQN the state file gives (static),
 * after a SIGTERM that must end the sidecar with 0.
 */
static const char *sidecar_hostnqn(const char *cfg_host, const char *env_nqn,
				   const char *const extra[])
{
	static char out[256];
	char dir[] = "/tmp/test_sidecar_id.XXXXXX", cfg[300], state[300], ids[300], bin[512];
	const char *build = getenv("NVMF_BUILDDIR");
	struct json_object *root = NULL, *arr, *e, *v;
	int st;
	FILE *f;
	pid_t pid;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(cfg, sizeof(cfg), "%s/config.json", dir);
	snprintf(state, sizeof(state), "%s/run/sidecar.json", dir);
	snprintf(ids, sizeof(ids), "%s/ids", dir);
	snprintf(bin, sizeof(bin), "%s/nvmfuse", build ? build : ".");
	f = fopen(cfg, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "{\"hosts\":[{%s%s%s\"subsystems\":[{\"nqn\":\"" NQN1 "\",\"ports\":"
		"[{\"transport\":\"tcp\",\"traddr\":\"127.0.0.1\",\"trsvcid\":\"1\"}]}]}]}\n",
		cfg_host ? "\"hostnqn\":\"" : "", cfg_host ? cfg_host : "", cfg_host ? "\"," : "");
	fclose(f);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char run[320];
		const char *args[16] = { "nvmfuse", "sidecar", "--config", cfg, "--run-dir", run,
					 "--no-cuse", "--no-ublk" };
		int n = 8, null = open("/dev/null", O_WRONLY);

		snprintf(run, sizeof(run), "%s/run", dir);
		for (int i = 0; extra && extra[i] && n < 15; i++)
			args[n++] = extra[i];
		args[n] = NULL;
		unsetenv("LIBNVME_HOSTNQN");
		unsetenv("LIBNVME_HOSTID");
		if (env_nqn)
			setenv("LIBNVME_HOSTNQN", env_nqn, 1);
		setenv("NVMFUSE_IDS_DIR", ids, 1);
		dup2(null, 1);
		dup2(null, 2);
		execv(bin, (char *const *)args);
		_exit(127);
	}
	for (int i = 0; i < 100 && !root; i++) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };

		root = json_object_from_file(state);
		if (!root)
			nanosleep(&ts, NULL);
	}
	ck_assert_msg(root != NULL, "no %s within 5 s", state);
	ck_assert(json_object_object_get_ex(root, "controllers", &arr));
	e = json_object_array_get_idx(arr, 0);
	ck_assert(json_object_object_get_ex(e, "hostnqn", &v));
	snprintf(out, sizeof(out), "%s", json_object_get_string(v));
	json_object_put(root);
	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "sidecar status 0x%x", st);
	ck_assert_msg(access(state, F_OK) < 0, "%s left after SIGTERM", state);
	{
		char cmd[400];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		ck_assert_int_eq(system(cmd), 0);
	}
	return out;
}

START_TEST(test_identity_order)
{
	static const char *const flag[] = { "-q", "nqn.2024-01.io.nvmfuse:flag", NULL };
	char file[] = "/tmp/test_sidecar_nqn.XXXXXX";
	const char *fromfile[] = { "--hostnqn-file", file, "--hostid-file", "/nonexistent", NULL };
	int fd;

	/* The config's host entry, when neither flags nor env say anything. */
	ck_assert_str_eq(sidecar_hostnqn("nqn.2024-01.io.nvmfuse:cfg", NULL, NULL),
			 "nqn.2024-01.io.nvmfuse:cfg");
	/* LIBNVME_HOSTNQN beats the config. */
	ck_assert_str_eq(sidecar_hostnqn("nqn.2024-01.io.nvmfuse:cfg", "nqn.2024-01.io.nvmfuse:env",
					 NULL), "nqn.2024-01.io.nvmfuse:env");
	/* A flag beats both. */
	ck_assert_str_eq(sidecar_hostnqn("nqn.2024-01.io.nvmfuse:cfg", "nqn.2024-01.io.nvmfuse:env",
					 flag), "nqn.2024-01.io.nvmfuse:flag");
	/* The config beats the files; without it the files give it. */
	fd = mkstemp(file);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_gt(write(fd, "nqn.2024-01.io.nvmfuse:file\n", 28), 0);
	close(fd);
	ck_assert_str_eq(sidecar_hostnqn("nqn.2024-01.io.nvmfuse:cfg", NULL, fromfile),
			 "nqn.2024-01.io.nvmfuse:cfg");
	ck_assert_str_eq(sidecar_hostnqn(NULL, NULL, fromfile), "nqn.2024-01.io.nvmfuse:file");
	unlink(file);
}
END_TEST


/* With SC_CONFIG_DISCOVERY, the discovery subsystem's ports are discovery controllers. */
START_TEST(test_discovery_entries)
{
	static const char text[] =
		"{\"hosts\":[{\"subsystems\":[{\"nqn\":\"nqn.2014-08.org.nvmexpress.discovery\","
		"\"ports\":[{\"transport\":\"tcp\",\"traddr\":\"10.0.0.1\",\"persistent\":true},"
		"{\"transport\":\"rdma\",\"traddr\":\"10.0.0.2\"},{\"transport\":\"tcp\","
		"\"traddr\":\"10.0.0.3\",\"trsvcid\":\"4420\"}]},{\"nqn\":\"" NQN1 "\",\"ports\":["
		"{\"transport\":\"tcp\",\"traddr\":\"10.0.0.1\"}]}]}]}";
	struct sc_config cfg;
	char err[512] = "";

	/* The sidecar's reading: refused, naming the member. */
	ck_assert_int_eq(parse(text, &cfg, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "hosts[0].subsystems[0].nqn: nqn.2014-08.org.nvmexpress."
			      "discovery is the discovery subsystem"), "%s", err);
	ck_assert_msg(sc_config_parse_flags(text, strlen(text), "cfg.json", SC_CONFIG_DISCOVERY,
					    &cfg, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(cfg.nr_ctrls, 4);
	ck_assert(cfg.ctrls[0].discovery && cfg.ctrls[1].discovery && cfg.ctrls[2].discovery);
	ck_assert(!cfg.ctrls[3].discovery);
	ck_assert_str_eq(cfg.ctrls[0].trsvcid, "8009");	/* nvme-cli's default over TCP */
	ck_assert_str_eq(cfg.ctrls[1].trsvcid, "4420");	/* and over RDMA */
	ck_assert_str_eq(cfg.ctrls[2].trsvcid, "4420");	/* given */
	ck_assert_str_eq(cfg.ctrls[3].trsvcid, "4420");	/* an NVM subsystem's */
	sc_config_free(&cfg);
}
END_TEST

/* ------------------------------------------------------------ sc_config_build */

/* A controller object as a daemon's info reply has it (daemon/service.c). */
static struct json_object *info(const char *fmt_json)
{
	struct json_object *o = json_tokener_parse(fmt_json);

	ck_assert_msg(o != NULL, "test JSON does not parse: %s", fmt_json);
	return o;
}

/*
 * Running controllers -> the schema -> parsed back: the same controllers,
 * grouped by host and subsystem, with their options; a duplicate connect
 * adds no second port; secrets only from the file read.
 */
START_TEST(test_build_round_trip)
{
	struct json_object *c[5], *hosts = NULL;
	struct sc_config back, secrets;
	char err[512] = "";
	const char *text;
	int no_secret = -1;

	c[0] = info("{\"name\":\"nvme0\",\"subnqn\":\"" NQN1 "\",\"transport\":\"tcp\","
		    "\"traddr\":\"127.0.0.1\",\"trsvcid\":\"4420\",\"hostnqn\":\"nqn.h:a\","
		    "\"hostid\":\"" UUID1 "\",\"dhchap\":null,\"config\":{\"nr_io_queues\":2,"
		    "\"queue_size\":64,\"keep_alive_tmo\":5,\"reconnect_delay\":1,"
		    "\"ctrl_loss_tmo\":-1,\"fast_io_fail_tmo\":-1,\"hdr_digest\":true,"
		    "\"data_digest\":true,\"disable_sqflow\":false,\"tls\":false}}");
	/* Same host, same subsystem, another port: one subsystem, two ports. */
	c[1] = info("{\"name\":\"nvme1\",\"subnqn\":\"" NQN1 "\",\"transport\":\"tcp\","
		    "\"traddr\":\"127.0.0.1\",\"trsvcid\":\"4421\",\"hostnqn\":\"nqn.h:a\","
		    "\"hostid\":\"" UUID1 "\",\"config\":{\"nr_io_queues\":0,\"nr_poll_queues\":1}}");
	/* Another host; hostile extras: a member not in the schema, a mistyped one. */
	c[2] = info("{\"name\":\"nvme2\",\"subnqn\":\"" NQN2 "\",\"transport\":\"tcp\","
		    "\"traddr\":\"10.0.0.2\",\"trsvcid\":\"4420\",\"hostnqn\":\"nqn.h:b\","
		    "\"dhchap\":\"hmac(sha256) ffdhe2048 bidirectional\",\"config\":{"
		    "\"queue_size\":\"128\",\"evil\":1,\"keyring\":\".nvme\"}}");
	/* A duplicate connect (-D) of nvme0: no second port. */
	c[3] = info("{\"name\":\"nvme3\",\"subnqn\":\"" NQN1 "\",\"transport\":\"tcp\","
		    "\"traddr\":\"127.0.0.1\",\"trsvcid\":\"4420\",\"hostnqn\":\"nqn.h:a\","
		    "\"hostid\":\"" UUID1 "\"}");
	/* No host NQN at all (a hand-written "connecting" daemon): a host entry without one. */
	c[4] = info("{\"name\":\"nvme4\",\"subnqn\":\"" NQN2 "\",\"transport\":\"rdma\","
		    "\"traddr\":\"10.0.0.3\",\"trsvcid\":\"4420\",\"config\":[]}");

	ck_assert_msg(sc_config_build(c, 5, NULL, &hosts, &no_secret, err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert_int_eq(no_secret, 1);		/* nvme2 authenticated, no key known */
	text = json_object_to_json_string(hosts);
	ck_assert_msg(!strstr(text, "evil") && !strstr(text, "\"128\""), "%s", text);
	ck_assert_msg(parse(text, &back, err, sizeof(err)) == 0, "%s: %s", err, text);
	ck_assert_int_eq(back.nr_hosts, 3);
	ck_assert_int_eq(back.nr_ctrls, 4);
	ck_assert_str_eq(back.ctrls[0].hostnqn, "nqn.h:a");
	ck_assert_str_eq(back.ctrls[0].hostid, UUID1);
	ck_assert_str_eq(back.ctrls[0].subnqn, NQN1);
	ck_assert_str_eq(back.ctrls[0].trsvcid, "4420");
	ck_assert_int_eq(back.ctrls[0].nr_io_queues, 2);
	ck_assert_int_eq(back.ctrls[0].queue_size, 64);
	ck_assert_int_eq(back.ctrls[0].reconnect_delay, 1);
	ck_assert_int_eq(back.ctrls[0].ctrl_loss_tmo, -1);
	ck_assert(back.ctrls[0].hdr_digest && back.ctrls[0].data_digest);
	ck_assert_int_eq(back.ctrls[1].host, 0);
	ck_assert_str_eq(back.ctrls[1].trsvcid, "4421");
	ck_assert_int_eq(back.ctrls[1].nr_io_queues, 0);
	ck_assert_int_eq(back.ctrls[1].nr_poll_queues, 1);
	ck_assert(!back.ctrls[1].hdr_digest);
	ck_assert_str_eq(back.ctrls[2].hostnqn, "nqn.h:b");
	ck_assert_ptr_null(back.ctrls[2].hostid);
	ck_assert_int_eq(back.ctrls[2].queue_size, SC_UNSET);	/* the mistyped one dropped */
	ck_assert_str_eq(back.ctrls[2].keyring, ".nvme");
	ck_assert_ptr_null(back.ctrls[2].dhchap_key);
	ck_assert_ptr_null(back.ctrls[3].hostnqn);
	ck_assert_str_eq(back.ctrls[3].transport, "rdma");
	sc_config_free(&back);
	json_object_put(hosts);

	/* The file read gives the secrets, for its own controllers only. */
	text = "{\"hosts\":[{\"hostnqn\":\"nqn.h:b\",\"dhchap_key\":\"DHHC-1:00:aaaa:\","
	       "\"subsystems\":[{\"nqn\":\"" NQN2 "\",\"ports\":[{\"transport\":\"tcp\","
	       "\"traddr\":\"10.0.0.2\",\"dhchap_ctrl_key\":\"DHHC-1:00:bbbb:\"}]}]}]}";
	ck_assert_msg(parse(text, &secrets, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(sc_config_build(c, 5, &secrets, &hosts, &no_secret, err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert_int_eq(no_secret, 0);
	text = json_object_to_json_string(hosts);
	ck_assert_msg(parse(text, &back, err, sizeof(err)) == 0, "%s: %s", err, text);
	ck_assert_str_eq(back.ctrls[2].dhchap_key, "DHHC-1:00:aaaa:");
	ck_assert_str_eq(back.ctrls[2].dhchap_ctrl_key, "DHHC-1:00:bbbb:");
	ck_assert_ptr_null(back.ctrls[0].dhchap_key);
	sc_config_free(&back);
	sc_config_free(&secrets);
	json_object_put(hosts);
	for (int i = 0; i < 5; i++)
		json_object_put(c[i]);
}
END_TEST

/* A controller object without its address is refused, naming it and the member. */
START_TEST(test_build_hostile)
{
	static const char *const cases[][2] = {
		{ "{\"name\":\"nvme7\",\"transport\":\"tcp\",\"traddr\":\"a\",\"trsvcid\":\"1\"}",
		  "controller nvme7: its info lacks subnqn" },
		{ "{\"name\":\"nvme7\",\"subnqn\":\"" NQN1 "\",\"transport\":5,\"traddr\":\"a\","
		  "\"trsvcid\":\"1\"}", "controller nvme7: its info lacks transport" },
		{ "{\"subnqn\":\"" NQN1 "\",\"transport\":\"tcp\",\"traddr\":\"a\"}",
		  "controller ?: its info lacks trsvcid" },
	};
	struct json_object *hosts = (struct json_object *)1;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct json_object *c = info(cases[i][0]);
		char err[512] = "";
		int no_secret;

		ck_assert_int_eq(sc_config_build(&c, 1, NULL, &hosts, &no_secret, err, sizeof(err)),
				 -EINVAL);
		ck_assert_ptr_null(hosts);
		ck_assert_str_eq(err, cases[i][1]);
		json_object_put(c);
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("sidecar_config");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_good_object_form);
	tcase_add_test(tc, test_good_array_form);
	tcase_add_loop_test(tc, test_bad, 0, (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	tcase_add_test(tc, test_huge_arrays);
	tcase_add_test(tc, test_nul_and_load);
	tcase_add_test(tc, test_dhchap_keys);
	tcase_add_test(tc, test_discovery_entries);
	tcase_add_test(tc, test_build_round_trip);
	tcase_add_test(tc, test_build_hostile);
	suite_add_tcase(s, tc);
	{
		TCase *ti = tcase_create("identity");

		tcase_set_timeout(ti, 60);
		tcase_add_test(ti, test_identity_order);
		suite_add_tcase(s, ti);
	}
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
