/* SPDX-License-Identifier: MIT */
/*
 * nvmfuse sidecar: read a libnvme config.json (daemon/sidecar_config.h),
 * refuse it whole on the first bad member, resolve each host entry's
 * identity, and hand the controllers to the supervisor (daemon/sidecar.h),
 * which runs in this process, in the foreground, until SIGTERM. A port of
 * the discovery subsystem is a discovery controller: a persistent
 * discovery daemon (daemon/pdisc.h) connects what its log names, with the
 * entry's host identity, options and secrets (the secrets in its connect
 * commands' environment, never on a command line).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "daemon/sidecar.h"
#include "daemon/sidecar_config.h"
#include "tools/cli.h"
#include "tools/cli_config.h"
#include "transport/transport.h"

/* Options of this file only, after tools/cli.h's. */
enum {
	OPT_CONFIG = 1024,
	OPT_READY_FILE,
	OPT_STOP_TIMEOUT,
	OPT_SC_LOG_FORMAT,
	OPT_ON_MOUNTED,
};

/* --on-mounted wait: the daemons wait this much less than --stop-timeout. */
#define SC_WAIT_MARGIN_S 5

static void usage(FILE *out)
{
	fprintf(out,
		"usage: nvmfuse sidecar --config FILE [--ready-file PATH] [--run-dir DIR]\n"
		"         [-q HOSTNQN] [-I HOSTID] [--hostnqn-file PATH] [--hostid-file PATH]\n"
		"         [--no-cuse] [--no-ublk] [--timeout SECONDS] [--stop-timeout SECONDS]\n"
		"         [--on-mounted remove|wait] [--log-format text|json]\n");
}

/* The config's value, or connect's default when the member was absent. */
#define OR(cfg_value, dflt) ((cfg_value) != SC_UNSET ? (cfg_value) : (dflt))

/* What a discovery controller entry needs beyond its nvmf_sidecar_ctrl. */
struct sc_disc {
	struct nvmf_pdisc_opts pd;
	char **argv;			/* the connect command, NULL-terminated */
	char *env[4];			/* its secrets (cli_secrets_env) */
};

/* Append a formatted argument to @v at *@n, unless an earlier one failed (*@bad). */
static void arg_add(char **v, int *n, bool *bad, const char *fmt, ...)
{
	va_list ap;

	if (*bad)
		return;
	va_start(ap, fmt);
	if (vasprintf(&v[*n], fmt, ap) < 0) {
		v[*n] = NULL;
		*bad = true;
	} else {
		(*n)++;
	}
	va_end(ap);
}

static void sc_disc_free(struct sc_disc *d)
{
	for (int i = 0; d->argv && d->argv[i]; i++)
		free(d->argv[i]);
	free(d->argv);
	cli_secrets_env_free(d->env);
}

/*
 * Fill @d for discovery controller @s (its svc filled from its entry):
 * the daemon's association (the discovery NQN, no I/O queue, nvme-cli's
 * keep-alive for a persistent one) and the `nvmfuse connect` it runs for
 * each subsystem of the log, with the entry's identity and port options
 * as flags, its secrets in the environment. The run dir travels in the
 * environment too (NVMFUSE_RUNDIR). 0, or -1 after printing the error.
 */
static int sc_disc_build(const struct nvmf_sidecar_ctrl *s, const char *exe, struct sc_disc *d)
{
	const struct nvmf_ctrl_opts *o = &s->svc.ctrl;
	char **v = calloc(32, sizeof(*v));	/* room for every flag below */
	bool bad = false;
	int n = 0;

#define ARG(...) arg_add(v, &n, &bad, __VA_ARGS__)
	d->argv = v;
	if (!v)
		goto oom;
	ARG("nvmfuse");
	ARG("connect");
	ARG("--transport=%s", o->transport);
	ARG("--hostnqn=%s", o->hostnqn);
	ARG("--hostid=%s", o->hostid);
	ARG("--nr-io-queues=%d", o->nr_io_queues);
	ARG("--nr-poll-queues=%d", o->nr_poll_queues);
	ARG("--nr-write-queues=%d", o->nr_write_queues);
	ARG("--queue-size=%d", o->queue_size);
	ARG("--keep-alive-tmo=%d", o->kato_s);
	ARG("--reconnect-delay=%d", s->svc.reconnect_delay);
	ARG("--ctrl-loss-tmo=%d", s->svc.ctrl_loss_tmo);
	ARG("--fast_io_fail_tmo=%d", s->svc.fast_io_fail_tmo);
	ARG("--timeout=%d", o->timeout_ms / 1000);
	if (o->tos >= 0)
		ARG("--tos=%d", o->tos);
	if (o->hdgst)
		ARG("--hdr-digest");
	if (o->ddgst)
		ARG("--data-digest");
	if (o->host_traddr)
		ARG("--host-traddr=%s", o->host_traddr);
	if (o->host_iface)
		ARG("--host-iface=%s", o->host_iface);
	if (o->tls)
		ARG("--tls");
	if (o->keyring)
		ARG("--keyring=%s", o->keyring);
	if (o->tls_key_identity)
		ARG("--tls-key-identity=%s", o->tls_key_identity);
	if (s->svc.no_cuse)
		ARG("--no-cuse");
	if (s->svc.no_ublk)
		ARG("--no-ublk");
#undef ARG
	v[n] = NULL;
	if (bad || cli_secrets_env(o->dhchap_secret, o->dhchap_ctrl_secret, o->tls_key,
				   d->env) < 0)
		goto oom;
	d->pd.ctrl = *o;
	d->pd.ctrl.nr_io_queues = 0;
	d->pd.ctrl.nr_poll_queues = 0;
	d->pd.ctrl.nr_write_queues = 0;
	d->pd.ctrl.kato_s = PDISC_KATO_S;	/* as connect-all -p */
	d->pd.reconnect_delay = s->svc.reconnect_delay;
	d->pd.ctrl_loss_tmo = s->svc.ctrl_loss_tmo;
	d->pd.connect_exe = exe;
	d->pd.connect_argv = d->argv;
	d->pd.connect_env = d->env;
	d->pd.stop_disconnects = true;	/* no controller outlives the sidecar */
	d->pd.report_state = true;	/* readiness follows the association */
	d->pd.log_file = true;
	d->pd.prog = cli_prog;
	return 0;
oom:
	cli_error("out of memory");
	return -1;
}

int cmd_sidecar(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "ready-file", required_argument, NULL, OPT_READY_FILE },
		CLI_RUN_DIR_LONGOPT,
		{ "hostnqn", required_argument, NULL, 'q' },
		{ "hostid", required_argument, NULL, 'I' },
		{ "hostnqn-file", required_argument, NULL, OPT_HOSTNQN_FILE },
		{ "hostid-file", required_argument, NULL, OPT_HOSTID_FILE },
		{ "no-cuse", no_argument, NULL, OPT_NO_CUSE },
		{ "no-ublk", no_argument, NULL, OPT_NO_UBLK },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "stop-timeout", required_argument, NULL, OPT_STOP_TIMEOUT },
		{ "log-format", required_argument, NULL, OPT_SC_LOG_FORMAT },
		{ "on-mounted", required_argument, NULL, OPT_ON_MOUNTED },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct nvmf_sidecar_opts so = { .stop_timeout_s = 20 };
	struct nvmf_sidecar_ctrl *ctrls = NULL;
	struct sc_disc *discs = NULL;
	struct cli_fabrics flags, *ids = NULL;
	char exe[4096] = "";	/* this program, for discovery controllers' connects */
	const char *config = NULL;
	struct sc_config cfg = { 0 };
	bool no_cuse = false, no_ublk = false, wait_mounted = false;
	int mounted_wait_s = 0;
	char err[600];
	long long v;
	int opt, rc = 1;

	cli_fabrics_defaults(&flags);
	while ((opt = getopt_long(argc, argv, "q:I:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'q':
		case 'I':
		case OPT_HOSTNQN_FILE:
		case OPT_HOSTID_FILE:
		case OPT_TIMEOUT:
			if (cli_fabrics_opt(&flags, opt, optarg) < 0)
				return 1;
			break;
		case OPT_CONFIG:
			config = optarg;
			break;
		case OPT_READY_FILE:
			if (optarg[0] != '/') {
				cli_error("--ready-file: '%s' is not an absolute path", optarg);
				return 1;
			}
			so.ready_file = optarg;
			break;
		case OPT_RUN_DIR:
			if (cli_run_dir(optarg) < 0)
				return 1;
			break;
		case OPT_NO_CUSE:
			no_cuse = true;
			break;
		case OPT_NO_UBLK:
			no_ublk = true;
			break;
		case OPT_STOP_TIMEOUT:
			if (cli_parse_int(optarg, "--stop-timeout", 1, 3600, &v) < 0)
				return 1;
			so.stop_timeout_s = (int)v;
			break;
		case OPT_SC_LOG_FORMAT:
			if (cli_log_format(optarg) < 0)
				return 1;
			break;
		case OPT_ON_MOUNTED:
			if (strcmp(optarg, "remove") && strcmp(optarg, "wait")) {
				cli_error("--on-mounted: '%s' is neither remove nor wait", optarg);
				return 1;
			}
			wait_mounted = !strcmp(optarg, "wait");
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (cli_no_more_args(argc, argv, optind) < 0)
		return 1;
	if (!config) {
		cli_error("missing --config FILE (libnvme's config.json schema)");
		return 1;
	}
	/* The daemons' wait ends early enough to flush and remove within the bound. */
	if (wait_mounted) {
		mounted_wait_s = so.stop_timeout_s - SC_WAIT_MARGIN_S;
		if (mounted_wait_s < 1) {
			cli_error("--on-mounted wait: --stop-timeout %d leaves no time to wait (it "
				  "waits %d s less: give %d or more)", so.stop_timeout_s,
				  SC_WAIT_MARGIN_S, SC_WAIT_MARGIN_S + 1);
			return 1;
		}
	}
	/* Everything is checked before anything is connected. */
	if (sc_config_load_flags(config, SC_CONFIG_DISCOVERY, &cfg, err, sizeof(err)) < 0) {
		cli_error("%s", err);
		return 1;
	}
	for (int i = 0; i < cfg.nr_ctrls; i++) {
		if (!nvmf_transport_find(cfg.ctrls[i].transport, err, sizeof(err))) {
			cli_error("%s: %s (%s)", config, err, cfg.ctrls[i].subnqn);
			goto out;
		}
	}
	ids = calloc((size_t)cfg.nr_hosts, sizeof(*ids));
	ctrls = calloc((size_t)cfg.nr_ctrls, sizeof(*ctrls));
	discs = calloc((size_t)cfg.nr_ctrls, sizeof(*discs));
	if (!ids || !ctrls || !discs) {
		cli_error("out of memory");
		goto out;
	}
	for (int i = 0; i < cfg.nr_ctrls && !exe[0]; i++) {
		/* A discovery controller's connect commands run this very program. */
		ssize_t len = cfg.ctrls[i].discovery ?
			      readlink("/proc/self/exe", exe, sizeof(exe) - 1) : 1;

		if (len <= 0) {
			cli_error("cannot find this program for the discovery controller's connect "
				  "commands: /proc/self/exe: %s", len < 0 ? strerror(errno) : "empty");
			goto out;
		}
		if (cfg.ctrls[i].discovery)
			exe[len] = 0;
	}
	for (int i = 0; i < cfg.nr_ctrls; i++) {
		const struct sc_ctrl_cfg *c = &cfg.ctrls[i];
		struct cli_fabrics *id = &ids[c->host];
		struct nvmf_sidecar_ctrl *s = &ctrls[i];

		if (!id->hostnqn && cli_config_identity(&flags, c, id) < 0)
			goto out;
		s->optional = c->optional;
		s->svc.ctrl.transport = c->transport;
		s->svc.ctrl.traddr = c->traddr;
		s->svc.ctrl.trsvcid = c->trsvcid;
		s->svc.ctrl.subnqn = c->subnqn;
		s->svc.ctrl.hostnqn = id->hostnqn;
		s->svc.ctrl.hostid = id->hostid;
		/* connect's defaults (tools/cli.c, cmd_connect.c) where the file says nothing. */
		s->svc.ctrl.nr_io_queues = OR(c->nr_io_queues, flags.nr_io_queues);
		s->svc.ctrl.nr_poll_queues = OR(c->nr_poll_queues, flags.nr_poll_queues);
		s->svc.ctrl.nr_write_queues = OR(c->nr_write_queues, flags.nr_write_queues);
		s->svc.ctrl.queue_size = OR(c->queue_size, flags.queue_size);
		s->svc.ctrl.kato_s = OR(c->keep_alive_tmo, flags.kato_s);
		s->svc.ctrl.hdgst = c->hdr_digest;
		s->svc.ctrl.ddgst = c->data_digest;
		s->svc.ctrl.disable_sqflow = c->disable_sqflow;
		s->svc.ctrl.tls = c->tls || c->tls_key || c->keyring || c->tls_key_identity;
		s->svc.ctrl.tls_key = c->tls_key;
		s->svc.ctrl.keyring = c->keyring;
		s->svc.ctrl.tls_key_identity = c->tls_key_identity;
		s->svc.ctrl.dhchap_secret = c->dhchap_key;
		s->svc.ctrl.dhchap_ctrl_secret = c->dhchap_ctrl_key;
		s->svc.ctrl.timeout_ms = flags.timeout_ms;
		s->svc.ctrl.tos = OR(c->tos, flags.tos);	/* -1: the system's */
		s->svc.ctrl.host_traddr = c->host_traddr;
		s->svc.ctrl.host_iface = c->host_iface;
		s->svc.no_cuse = no_cuse;
		s->svc.no_ublk = no_ublk;
		s->svc.instance = -1;
		s->svc.cuse.mode = 0600;
		s->svc.cuse.uid = (uid_t)-1;
		s->svc.cuse.gid = (gid_t)-1;
		s->svc.reconnect_delay = OR(c->reconnect_delay, 10);
		s->svc.ctrl_loss_tmo = OR(c->ctrl_loss_tmo, 600);
		s->svc.fast_io_fail_tmo = OR(c->fast_io_fail_tmo, -1);
		s->svc.prog = cli_prog;
		s->svc.log_file = true;		/* RUNDIR/nvmeN.log, one per daemon */
		s->svc.mounted_wait_s = mounted_wait_s;
		s->svc.report_state = true;	/* STATE lines: readiness without polling */
		if (c->discovery) {
			if (sc_disc_build(s, exe, &discs[i]) < 0)
				goto out;
			s->pdisc = &discs[i].pd;
		}
	}
	so.ctrls = ctrls;
	so.nr_ctrls = cfg.nr_ctrls;
	/* The sidecar's own lines (starts, restarts, readiness) are info. */
	if (!getenv("NVMFUSE_LOG"))
		nvmf_log_set_level(NVMF_LOG_INFO);
	rc = nvmf_sidecar_run(&so);
out:
	for (int i = 0; ids && i < cfg.nr_hosts; i++)
		cli_fabrics_free(&ids[i]);
	free(ids);
	for (int i = 0; discs && i < cfg.nr_ctrls; i++)
		sc_disc_free(&discs[i]);
	free(discs);
	free(ctrls);
	sc_config_free(&cfg);
	return rc;
}
