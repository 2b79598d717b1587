/* SPDX-License-Identifier: MIT */
/*
 * nvmfuse sidecar: read a libnvme config.json (daemon/sidecar_config.h),
 * refuse it whole on the first bad member, resolve each host entry's
 * identity, and hand the controllers to the supervisor (daemon/sidecar.h),
 * which runs in this process, in the foreground, until SIGTERM.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

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
	struct cli_fabrics flags, *ids = NULL;
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
	if (sc_config_load(config, &cfg, err, sizeof(err)) < 0) {
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
	if (!ids || !ctrls) {
		cli_error("out of memory");
		goto out;
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
	free(ctrls);
	sc_config_free(&cfg);
	return rc;
}
