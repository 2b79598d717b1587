/* SPDX-License-Identifier: MIT */
/* config.json for connect, connect-all and discover: see tools/cli_config.h. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "base/secret.h"
#include "daemon/registry.h"
#include "tools/cli.h"
#include "tools/cli_config.h"

int cli_config_opt(struct cli_config *c, int opt, const char *arg)
{
	switch (opt) {
	case 'J':
		c->path = arg;
		return 1;
	case 'O':
		c->dump = true;
		return 1;
	}
	return 0;
}

bool cli_config_named(const struct cli_config *c)
{
	return c->path && strcmp(c->path, "none");
}

int cli_config_load(struct cli_config *c, bool default_file)
{
	const char *path = c->path ? c->path : NVMF_CONFIG_JSON;
	char err[600];
	int rc;

	if (c->loaded)
		return 1;
	if ((c->path && !strcmp(c->path, "none")) || (!c->path && !default_file))
		return 0;
	/* Discovery controllers too: nvme-cli's files have them (discover -p). */
	rc = sc_config_load_flags(path, SC_CONFIG_DISCOVERY, &c->cfg, err, sizeof(err));
	if (rc == -ENOENT && !c->path)
		return 0;	/* no default file: nothing to read, as nvme-cli */
	if (rc < 0) {
		cli_error("%s", err);
		return -1;
	}
	c->loaded = true;
	return 1;
}

/* Set and not only whitespace: libnvme's (and host/hostid.c's) reading of the env. */
static bool env_given(const char *name)
{
	const char *v = getenv(name);

	for (; v && *v; v++)
		if (!isspace((unsigned char)*v))
			return true;
	return false;
}

/* A copy of secret @s into *@dst (wiping what was there); false when out of memory. */
static bool set_secret(char **dst, const char *s)
{
	if (!s)
		return true;
	cli_secret_free(dst);
	*dst = nvmf_secret_strdup(s);	/* cli_secret_free() unmaps it */
	return *dst;
}

int cli_config_apply(const struct sc_ctrl_cfg *e, struct cli_fabrics *f, int *reconnect_delay,
		     int *ctrl_loss_tmo, int *fast_io_fail_tmo)
{
	f->transport = e->transport;
	f->traddr = e->traddr;
	f->trsvcid = e->trsvcid;
	f->subnqn = e->subnqn;
	if (!env_given("LIBNVME_HOSTNQN") && !env_given("LIBNVME_HOSTID")) {
		/* As if given by flags: host/hostid.h's first source. */
		f->hostnqn_arg = e->hostnqn;
		f->hostid_arg = e->hostid;
	}
	if (e->nr_io_queues != SC_UNSET)
		f->nr_io_queues = e->nr_io_queues;
	if (e->nr_poll_queues != SC_UNSET)
		f->nr_poll_queues = e->nr_poll_queues;
	if (e->nr_write_queues != SC_UNSET)
		f->nr_write_queues = e->nr_write_queues;
	if (e->tos != SC_UNSET)
		f->tos = e->tos;
	if (e->host_traddr)
		f->host_traddr = e->host_traddr;
	if (e->host_iface)
		f->host_iface = e->host_iface;
	f->duplicate_connect = e->duplicate_connect;
	if (e->queue_size != SC_UNSET)
		f->queue_size = e->queue_size;
	if (e->keep_alive_tmo != SC_UNSET)
		f->kato_s = e->keep_alive_tmo;
	if (e->reconnect_delay != SC_UNSET)
		*reconnect_delay = e->reconnect_delay;
	if (e->ctrl_loss_tmo != SC_UNSET)
		*ctrl_loss_tmo = e->ctrl_loss_tmo;
	if (e->fast_io_fail_tmo != SC_UNSET)
		*fast_io_fail_tmo = e->fast_io_fail_tmo;
	f->hdgst = e->hdr_digest;
	f->ddgst = e->data_digest;
	f->disable_sqflow = e->disable_sqflow;
	f->tls = e->tls;
	if (e->keyring)
		f->keyring = e->keyring;
	if (e->tls_key_identity)
		f->tls_key_identity = e->tls_key_identity;
	if (!set_secret(&f->tls_key, e->tls_key) ||
	    !set_secret(&f->dhchap_secret, e->dhchap_key) ||
	    !set_secret(&f->dhchap_ctrl_secret, e->dhchap_ctrl_key)) {
		cli_error("out of memory");
		return -1;
	}
	return 0;
}

bool cli_config_host_matches(const struct sc_ctrl_cfg *e, const struct cli_fabrics *f)
{
	if (f->hostnqn_arg && e->hostnqn && strcmp(f->hostnqn_arg, e->hostnqn))
		return false;
	if (f->hostid_arg && e->hostid && strcasecmp(f->hostid_arg, e->hostid))
		return false;
	return true;
}

int cli_config_identity(const struct cli_fabrics *flags, const struct sc_ctrl_cfg *e,
			struct cli_fabrics *id)
{
	cli_fabrics_defaults(id);
	id->hostnqn_file = flags->hostnqn_file;
	id->hostid_file = flags->hostid_file;
	if (flags->hostnqn_arg || flags->hostid_arg) {
		id->hostnqn_arg = flags->hostnqn_arg;
		id->hostid_arg = flags->hostid_arg;
	} else if (!env_given("LIBNVME_HOSTNQN") && !env_given("LIBNVME_HOSTID")) {
		id->hostnqn_arg = e->hostnqn;
		id->hostid_arg = e->hostid;
	}
	return cli_identity(id);
}

void cli_config_stdout_aside(struct cli_config *c)
{
	if (!c->dump || c->redirected)
		return;
	fflush(stdout);
	c->saved_stdout = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
	if (c->saved_stdout < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
		if (c->saved_stdout >= 0)
			close(c->saved_stdout);
		return;		/* the lines stay on standard output, before the dump */
	}
	c->redirected = true;
}

/* Standard output back where it was (cli_config_stdout_aside). */
static void stdout_back(struct cli_config *c)
{
	if (!c->redirected)
		return;
	fflush(stdout);
	dup2(c->saved_stdout, STDOUT_FILENO);
	close(c->saved_stdout);
	c->redirected = false;
}

/* nvme2 before nvme10: by length, then bytes. */
static int name_cmp(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	size_t lx = strlen(x), ly = strlen(y);

	return lx != ly ? (lx < ly ? -1 : 1) : strcmp(x, y);
}

int cli_config_dump(struct cli_config *c)
{
	struct json_object **replies = NULL, **ctrls = NULL, *hosts = NULL;
	char **names = NULL, err[600];
	int n = 0, nc = 0, no_secret = 0, rc = -1;

	stdout_back(c);
	if (reg_names(&names, &n) < 0)
		n = 0;	/* no run dir: no controller */
	if (n)	/* the order of the daemons' names, not of the run dir */
		qsort(names, (size_t)n, sizeof(*names), name_cmp);
	if (n) {
		replies = calloc((size_t)n, sizeof(*replies));
		ctrls = calloc((size_t)n, sizeof(*ctrls));
		if (!replies || !ctrls) {
			cli_error("--dump-config: out of memory");
			goto out;
		}
	}
	for (int i = 0; i < n; i++) {
		struct json_object *ctrl;
		int r = cli_ctrl_info(names[i], 2000, &replies[nc], &ctrl);

		if (r == 1)
			continue;	/* gone meanwhile: not running */
		if (r < 0) {
			cli_error("--dump-config: %s did not answer: the dump would lack it", names[i]);
			goto out;
		}
		ctrls[nc++] = ctrl;
	}
	if (sc_config_build(ctrls, nc, c->loaded ? &c->cfg : NULL, &hosts, &no_secret, err,
			    sizeof(err)) < 0) {
		cli_error("--dump-config: %s", err);
		goto out;
	}
	if (no_secret)
		fprintf(stderr, "%s: warning: --dump-config: %d controller(s) authenticated with "
			"DH-HMAC-CHAP keys that were not in a config file read: the daemons never "
			"hand out secrets; add dhchap_key to their ports\n", cli_prog, no_secret);
	printf("%s\n", json_object_to_json_string_ext(hosts, JSON_C_TO_STRING_PRETTY |
						      JSON_C_TO_STRING_SPACED |
						      JSON_C_TO_STRING_NOSLASHESCAPE));
	fflush(stdout);
	rc = 0;
out:
	json_object_put(hosts);
	for (int i = 0; replies && i < nc; i++)
		json_object_put(replies[i]);
	free(replies);
	free(ctrls);
	reg_names_free(names, n);
	return rc;
}

void cli_config_free(struct cli_config *c)
{
	if (c->loaded)
		sc_config_free(&c->cfg);
	c->loaded = false;
}

static void config_usage(FILE *out)
{
	fprintf(out, "usage: nvmfuse config -O|--dump [-J|--config FILE] [--run-dir DIR]\n");
}

int cmd_config(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dump", no_argument, NULL, 'O' },
		{ "config", required_argument, NULL, 'J' },
		{ "scan", no_argument, NULL, 'R' },
		{ "modify", no_argument, NULL, 'M' },
		{ "update", no_argument, NULL, 'U' },
		CLI_RUN_DIR_LONGOPT,
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct cli_config c = { 0 };
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "OJ:RMUh", longopts, NULL)) != -1) {
		if (cli_config_opt(&c, opt, optarg))
			continue;
		switch (opt) {
		case 'R':
		case 'M':
		case 'U':
			cli_error("--%s: nvmfuse keeps no configuration of its own to scan, modify "
				  "or update; -O writes the running one", opt == 'R' ? "scan" :
				  opt == 'M' ? "modify" : "update");
			return 1;
		case OPT_RUN_DIR:
			if (cli_run_dir(optarg) < 0)
				return 1;
			break;
		case 'h':
			config_usage(stdout);
			return 0;
		default:
			config_usage(stderr);
			return 1;
		}
	}
	if (cli_no_more_args(argc, argv, optind) < 0)
		return 1;
	if (!c.dump) {
		cli_error("nothing to do: -O/--dump writes the running configuration");
		return 1;
	}
	/* The file only lends its secrets: it must be there when named. */
	if (cli_config_load(&c, false) < 0)
		return 1;
	rc = cli_config_dump(&c) < 0 ? 1 : 0;
	cli_config_free(&c);
	return rc;
}
