/* SPDX-License-Identifier: MIT */
/*
 * nvmfuse discover: connect to a discovery controller, fetch the whole
 * discovery log and print it in nvme-cli's format (normal or json).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nvme/fabrics.h>

#include "host/identify.h"
#include "tools/cli.h"
#include "tools/cli_config.h"

static void strip_trailing(char *s, size_t n)
{
	size_t i = strnlen(s, n);

	while (i && s[i - 1] == ' ')
		s[--i] = 0;
}

/* Entries from the wire are fixed-width: make each string field terminated. */
static void entry_fields(struct nvmf_disc_log_entry *e)
{
	e->trsvcid[sizeof(e->trsvcid) - 1] = 0;
	e->subnqn[sizeof(e->subnqn) - 1] = 0;
	e->traddr[sizeof(e->traddr) - 1] = 0;
	strip_trailing(e->trsvcid, sizeof(e->trsvcid));
	strip_trailing(e->traddr, sizeof(e->traddr));
}

static void print_normal(struct nvmf_discovery_log *log, uint64_t n)
{
	printf("\nDiscovery Log Number of Records %" PRIu64 ", Generation counter %" PRIu64 "\n",
	       n, (uint64_t)le64toh(log->genctr));
	for (uint64_t i = 0; i < n; i++) {
		struct nvmf_disc_log_entry *e = &log->entries[i];

		printf("=====Discovery Log Entry %" PRIu64 "======\n", i);
		printf("trtype:  %s\n", nvmf_trtype_str(e->trtype));
		printf("adrfam:  %s\n", e->traddr[0] ? nvmf_adrfam_str(e->adrfam) : "");
		printf("subtype: %s\n", nvmf_subtype_str(e->subtype));
		printf("treq:    %s\n", nvmf_treq_str(e->treq));
		printf("portid:  %d\n", le16toh(e->portid));
		printf("trsvcid: %s\n", e->trsvcid);
		printf("subnqn:  %s\n", e->subnqn);
		printf("traddr:  %s\n", e->traddr);
		printf("eflags:  %s\n", nvmf_eflags_str(le16toh(e->eflags)));
		if (e->trtype == NVMF_TRTYPE_RDMA) {
			printf("rdma_prtype: %s\n", nvmf_prtype_str(e->tsas.rdma.prtype));
			printf("rdma_qptype: %s\n", nvmf_qptype_str(e->tsas.rdma.qptype));
			printf("rdma_cms:    %s\n", nvmf_cms_str(e->tsas.rdma.cms));
			printf("rdma_pkey: 0x%04x\n", le16toh(e->tsas.rdma.pkey));
		} else if (e->trtype == NVMF_TRTYPE_TCP) {
			printf("sectype: %s\n", nvmf_sectype_str(e->tsas.tcp.sectype));
		}
	}
}

static void kv(const char *k, const char *v, bool last)
{
	printf("      ");
	json_str(stdout, k);
	printf(":");
	json_str(stdout, v);
	printf("%s\n", last ? "" : ",");
}

static void print_json(struct nvmf_discovery_log *log, uint64_t n)
{
	printf("{\n  \"genctr\":%" PRIu64 ",\n  \"records\":[\n", (uint64_t)le64toh(log->genctr));
	for (uint64_t i = 0; i < n; i++) {
		struct nvmf_disc_log_entry *e = &log->entries[i];

		printf("    {\n");
		kv("trtype", nvmf_trtype_str(e->trtype), false);
		kv("adrfam", nvmf_adrfam_str(e->adrfam), false);
		kv("subtype", nvmf_subtype_str(e->subtype), false);
		kv("treq", nvmf_treq_str(e->treq), false);
		printf("      \"portid\":%d,\n", le16toh(e->portid));
		kv("trsvcid", e->trsvcid, false);
		kv("subnqn", e->subnqn, false);
		kv("traddr", e->traddr, false);
		kv("eflags", nvmf_eflags_str(le16toh(e->eflags)), e->trtype != NVMF_TRTYPE_TCP);
		if (e->trtype == NVMF_TRTYPE_TCP)
			kv("sectype", nvmf_sectype_str(e->tsas.tcp.sectype), true);
		printf("    }%s\n", i + 1 < n ? "," : "");
	}
	printf("  ]\n}\n");
}

/*
 * Connect to the discovery controller described by @f and return its log
 * (shared with connect-all). Prints the error itself.
 */
int cli_fetch_discovery(struct cli_fabrics *f, struct nvmf_discovery_log **log, uint64_t *n);
/* discover -p (tools/cmd_connect.c): a watch-only persistent discovery daemon. 0 or 1. */
int cli_discover_persistent(const struct cli_fabrics *f, bool quiet);
/* cli_fetch_discovery() in a child process (tools/cmd_connect.c says why). 0 or -1. */
int cli_fetch_discovery_isolated(struct cli_fabrics *f, struct nvmf_discovery_log **out,
				 uint64_t *numrec);
int cli_fetch_discovery(struct cli_fabrics *f, struct nvmf_discovery_log **log, uint64_t *n)
{
	struct nvmf_ctrl_opts o;
	struct nvmf_ctrl *c;
	char err[512];
	int rc;

	cli_fabrics_to_opts(f, &o);
	o.subnqn = NVMF_DISC_NQN;
	o.nr_io_queues = 0;
	o.kato_s = 0;
	/* No -s: the engine picks nvme-cli's default (8009 TCP, 4420 RDMA). */
	rc = nvmf_ctrl_connect(&o, &c, err, sizeof(err));
	if (rc < 0) {
		cli_error("%s", err);
		return rc;
	}
	rc = nvmf_discovery_log(c, log, n);
	if (rc < 0)
		cli_error("cannot read the discovery log: %s", nvmf_ctrl_error(c));
	else
		for (uint64_t i = 0; i < *n; i++)
			entry_fields(&(*log)->entries[i]);
	nvmf_ctrl_disconnect(c);
	return rc;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: nvmfuse discover -t tcp -a TRADDR [-s TRSVCID] [-q HOSTNQN] [-I HOSTID]\n"
		"                        [-g] [-G] [-o normal|json] [--timeout SECONDS] [-p]\n"
		CLI_IDENTITY_USAGE CLI_DHCHAP_USAGE CLI_CONFIG_USAGE);
}

/*
 * Parse discover's arguments into @f, *@fmt, @conf (-J, -O) and
 * *@persistent (-p): the
 * defaults, then config entry @base when given (its address and host),
 * then the flags, which win. Returns 0, 1 for -h (usage printed), 2 when
 * no -a was given (config.json's and discovery.conf's controllers then),
 * or -1 after printing the error.
 */
static int parse_discover(int argc, char **argv, struct cli_fabrics *f, const char **fmt,
			  struct cli_config *conf, const struct sc_ctrl_cfg *base, bool *persistent)
{
	static const struct option longopts[] = {
		CLI_FABRICS_LONGOPTS,
		{ "hostnqn", required_argument, NULL, 'q' },
		{ "output-format", required_argument, NULL, 'o' },
		CLI_CONFIG_LONGOPTS,
		{ "persistent", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int opt, rc, timers[3];

	cli_fabrics_defaults(f);
	*fmt = "normal";
	*persistent = false;
	if (base && cli_config_apply(base, f, &timers[0], &timers[1], &timers[2]) < 0)
		return -1;
	while ((opt = getopt_long(argc, argv, "t:a:s:q:I:S:C:gGo:J:Oph", longopts, NULL)) != -1) {
		rc = cli_fabrics_opt(f, opt, optarg);
		if (rc < 0)
			return -1;
		if (rc || cli_config_opt(conf, opt, optarg))
			continue;
		switch (opt) {
		case 'o':
			*fmt = optarg;
			break;
		case 'p':
			*persistent = true;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (cli_no_more_args(argc, argv, optind) < 0 || cli_check_format(*fmt) < 0)
		return -1;
	if (!f->traddr)
		return 2;
	return cli_fabrics_finish(f, false) < 0 ? -1 : 0;
}

/*
 * Read and print the discovery log of @f's controller (freed), then with
 * @persistent leave a persistent discovery daemon on it (as nvme-cli
 * leaves a persistent discovery controller). 0 or -1.
 */
static int discover_print(struct cli_fabrics *f, const char *fmt, bool persistent)
{
	struct nvmf_discovery_log *log = NULL;
	uint64_t n = 0;
	/*
	 * With -p this process forks the daemon afterwards: it must not have
	 * touched RDMA itself (a forked verbs context is refused, EACCES).
	 */
	int rc = persistent ? cli_fetch_discovery_isolated(f, &log, &n) :
		 cli_fetch_discovery(f, &log, &n);

	if (rc < 0) {
		cli_fabrics_free(f);
		return -1;
	}
	if (!strcmp(fmt, "json"))
		print_json(log, n);
	else
		print_normal(log, n);
	free(log);
	fflush(stdout);
	if (persistent && cli_discover_persistent(f, !strcmp(fmt, "json")) != 0)
		rc = -1;
	cli_fabrics_free(f);
	return rc;
}

/* One line of discovery.conf (cli_discovery_conf). */
static int discover_line(int argc, char **argv, const char *where, void *arg)
{
	struct cli_config conf = { 0 };
	struct cli_fabrics f;
	const char *fmt;
	bool persistent;
	int rc = parse_discover(argc, argv, &f, &fmt, &conf, NULL, &persistent);

	(void)arg;
	if (rc == 2)
		cli_error("%s: no -a/--traddr", where);
	return rc ? -1 : discover_print(&f, fmt, persistent);
}

/* Has an entry before @i the same address and host as entry @i (one discovery each)? */
static bool seen_before(const struct sc_config *cfg, int i)
{
	const struct sc_ctrl_cfg *e = &cfg->ctrls[i];

	for (int j = 0; j < i; j++) {
		const struct sc_ctrl_cfg *o = &cfg->ctrls[j];

		if (o->host == e->host && !strcmp(o->transport, e->transport) &&
		    !strcmp(o->traddr, e->traddr) && !strcmp(o->trsvcid, e->trsvcid))
			return true;
	}
	return false;
}

/*
 * discover without -a: the discovery controller at each address of
 * config.json (-J FILE, or the default file when it exists), as nvme-cli
 * does (the discovery controller answers on an NVM subsystem's port too),
 * then, unless -J named a file, each line of discovery.conf. Returns the
 * exit code.
 */
static int discover_files(int argc, char **argv, struct cli_config *conf,
			  struct cli_fabrics *flags)
{
	int loaded = cli_config_load(conf, true), failed = 0;

	if (loaded < 0)
		return 1;
	for (int i = 0; loaded && i < conf->cfg.nr_ctrls; i++) {
		const struct sc_ctrl_cfg *e = &conf->cfg.ctrls[i];
		struct cli_config again = { 0 };
		struct cli_fabrics f;
		const char *fmt;
		bool persistent;

		if (seen_before(&conf->cfg, i) || !cli_config_host_matches(e, flags))
			continue;
		optind = 0;	/* the command line again, over the entry */
		if (parse_discover(argc, argv, &f, &fmt, &again, e, &persistent) != 0 ||
		    discover_print(&f, fmt, persistent) < 0)
			failed++;
	}
	if (!cli_config_named(conf) && (!loaded || !access(NVMF_DISCOVERY_CONF, F_OK)))
		failed += cli_discovery_conf(argc, argv, discover_line, NULL) ? 1 : 0;
	if (conf->dump && cli_config_dump(conf) < 0)
		failed++;
	return failed ? 1 : 0;
}

int cmd_discover(int argc, char **argv)
{
	struct cli_config conf = { 0 };
	struct cli_fabrics f;
	const char *fmt;
	bool persistent;
	int rc = parse_discover(argc, argv, &f, &fmt, &conf, NULL, &persistent);

	if (rc == 1)
		return 0;
	if (rc < 0)
		return 1;
	if (rc == 2) {	/* no -a: config.json's and discovery.conf's controllers, as nvme-cli */
		rc = discover_files(argc, argv, &conf, &f);
		cli_config_free(&conf);
		cli_fabrics_free(&f);
		return rc;
	}
	if (cli_config_named(&conf))
		fprintf(stderr, "%s: warning: -J %s: not read, -a %s names the discovery "
			"controller\n", cli_prog, conf.path, f.traddr);
	rc = discover_print(&f, fmt, persistent) < 0 ? 1 : 0;
	if (conf.dump && cli_config_dump(&conf) < 0)
		rc = 1;
	return rc;
}
