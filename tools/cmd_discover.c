/* SPDX-License-Identifier: MIT */
/*
 * nvmfuse discover: connect to a discovery controller, fetch the whole
 * discovery log and print it in nvme-cli's format (normal or json).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stddef.h>
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
	/* -n: nvme-cli's discovery controller NQN (a unique one, TP 8013), else the well-known one. */
	o.subnqn = f->subnqn ? f->subnqn : NVME_DISC_SUBSYS_NAME;
	o.discovery = true;
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
		"usage: nvmfuse discover -t tcp|rdma -a TRADDR [-s TRSVCID] [-n DISCOVERY_NQN]\n"
		"                        [-q HOSTNQN] [-I HOSTID]\n"
		"                        [-g] [-G] [-o normal|json|binary] [--timeout SECONDS] [-p]\n"
		"         [-w|--host-traddr ADDR] [-f|--host-iface IFACE] [-T|--tos 0-255] [-v]\n"
		CLI_DISC_USAGE CLI_IDENTITY_USAGE CLI_DHCHAP_USAGE CLI_CONFIG_USAGE
		"         accepted, no effect on a discovery association (no I/O queues, none kept):\n"
		"         [-i N] [-W N] [-P N] [-Q N] [-k S] [-c S] [-l S] [-F S] [-D]\n"
		"         [--disable-sqflow] [--context NAME]\n");
}

/* What discover prints, and where its options go. */
struct discover_args {
	struct cli_fabrics f;
	struct cli_disc disc;
	const char *fmt;		/* normal, json or binary */
	struct cli_config conf;		/* -J, -O (tools/cli_config.h); zeroed by the caller */
	bool persistent;		/* -p: leave a persistent discovery daemon */
	char ignored[128];		/* options that do not apply, for the note */
};

/* Remember option @name as one with no effect on discovery (the note). */
static void ignored(struct discover_args *d, const char *name)
{
	size_t off = strlen(d->ignored);

	if (!strstr(d->ignored, name))
		snprintf(d->ignored + off, sizeof(d->ignored) - off, "%s%s", off ? ", " : "", name);
}

/*
 * Parse discover's arguments into @d (its conf zeroed by the caller): the
 * defaults, then config entry @base when given (its address and host),
 * then the flags, which win. Returns 0, 1 for -h (usage printed), 2 when
 * no -a was given (config.json's and discovery.conf's controllers then),
 * or -1 after printing the error.
 */
static int parse_discover(int argc, char **argv, struct discover_args *d,
			  const struct sc_ctrl_cfg *base)
{
	static const struct option longopts[] = {
		CLI_FABRICS_LONGOPTS,
		CLI_HOST_LONGOPTS,
		CLI_DISC_LONGOPTS,
		{ "hostnqn", required_argument, NULL, 'q' },
		{ "nqn", required_argument, NULL, 'n' },
		{ "queue-size", required_argument, NULL, 'Q' },
		{ "keep-alive-tmo", required_argument, NULL, 'k' },
		{ "reconnect-delay", required_argument, NULL, 'c' },
		{ "ctrl-loss-tmo", required_argument, NULL, 'l' },
		{ "output-format", required_argument, NULL, 'o' },
		CLI_CONFIG_LONGOPTS,
		{ "persistent", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	static const char shortopts[] = "t:a:s:n:q:I:S:C:gGo:J:Ophr:i:P:Q:k:c:l:" CLI_HOST_SHORTOPTS;
	struct cli_fabrics *f = &d->f;
	int opt, rc, timers[3];

	cli_fabrics_defaults(f);
	cli_disc_defaults(&d->disc);
	d->fmt = "normal";
	d->ignored[0] = 0;
	d->persistent = false;
	if (base && cli_config_apply(base, f, &timers[0], &timers[1], &timers[2]) < 0)
		return -1;
	/* The entry's address and host; its subsystem is not the discovery controller's. */
	f->subnqn = NULL;
	opterr = 0;	/* cli_bad_option() says it in one line */
	while ((opt = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		switch (opt) {
		/* Queues, reconnects and duplicates: for I/O controllers, not discovery. */
		case 'i': case 'P': case 'W': case 'Q': case 'k': case 'c': case 'l': case 'F':
		case 'D': case OPT_DISABLE_SQFLOW: case OPT_CONTEXT: {
			static const char *const names[] = {
				['i'] = "-i", ['P'] = "-P", ['W'] = "-W", ['Q'] = "-Q", ['k'] = "-k",
				['c'] = "-c", ['l'] = "-l", ['F'] = "-F", ['D'] = "-D",
			};

			ignored(d, opt == OPT_DISABLE_SQFLOW ? "--disable-sqflow" :
				   opt == OPT_CONTEXT ? "--context" : names[opt]);
			continue;
		}
		}
		rc = cli_fabrics_opt(f, opt, optarg);
		if (rc == 0)
			rc = cli_host_opt(f, opt, optarg);
		if (rc == 0)
			rc = cli_disc_opt(&d->disc, opt, optarg);
		if (rc < 0)
			return -1;
		if (rc || cli_config_opt(&d->conf, opt, optarg))
			continue;
		switch (opt) {
		case 'o':
			d->fmt = optarg;
			break;
		case 'p':
			d->persistent = true;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			cli_bad_option("discover", shortopts, argv);
			return -1;
		}
	}
	if (cli_no_more_args(argc, argv, optind) < 0)
		return -1;
	if (strcmp(d->fmt, "binary") && cli_check_format(d->fmt) < 0)
		return -1;
	if (cli_disc_nbft(&d->disc) < 0)
		return -1;
	if (d->ignored[0] && !d->disc.quiet)
		fprintf(stderr, "%s: note: %s: no effect on a discovery association (no I/O queues, "
			"none kept)\n", cli_prog, d->ignored);
	if (!f->traddr)
		return 2;
	return cli_fabrics_finish(f, false) < 0 ? -1 : 0;
}

/*
 * Read and print the discovery log of @d's controller (its options freed),
 * then with -p leave a persistent discovery daemon on it (as nvme-cli
 * leaves a persistent discovery controller). 0 or -1.
 */
static int discover_print(struct discover_args *d)
{
	struct nvmf_discovery_log *log = NULL;
	uint64_t n = 0;
	/*
	 * With -p this process forks the daemon afterwards: it must not have
	 * touched RDMA itself (a forked verbs context is refused, EACCES).
	 */
	int rc = d->persistent ? cli_fetch_discovery_isolated(&d->f, &log, &n) :
		 cli_fetch_discovery(&d->f, &log, &n);

	if (rc < 0) {
		cli_fabrics_free(&d->f);
		return -1;
	}
	if (d->disc.raw) {
		/* nvme-cli: -r saves the log instead of printing it. */
		rc = cli_save_raw_log(d->disc.raw, log, n);
		if (rc == 0)
			printf("Discovery log is saved to %s\n", d->disc.raw);
	} else if (!strcmp(d->fmt, "binary")) {
		size_t len = offsetof(struct nvmf_discovery_log, entries) +
			     (size_t)n * sizeof(struct nvmf_disc_log_entry);

		if (fwrite(log, 1, len, stdout) != len || fflush(stdout)) {
			cli_error("-o binary: cannot write the log to standard output");
			rc = -1;
		}
	} else if (!strcmp(d->fmt, "json")) {
		print_json(log, n);
	} else {
		print_normal(log, n);
	}
	free(log);
	fflush(stdout);
	if (d->persistent && cli_discover_persistent(&d->f, !strcmp(d->fmt, "json")) != 0)
		rc = -1;
	cli_fabrics_free(&d->f);
	return rc;
}

/* One line of discovery.conf (cli_discovery_conf). */
static int discover_line(int argc, char **argv, const char *where, void *arg)
{
	struct discover_args d = { 0 };
	int rc = parse_discover(argc, argv, &d, NULL);

	(void)arg;
	if (rc == 2)
		cli_error("%s: no -a/--traddr", where);
	return rc ? -1 : discover_print(&d);
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
		struct discover_args again = { 0 };

		if (seen_before(&conf->cfg, i) || !cli_config_host_matches(e, flags))
			continue;
		optind = 0;	/* the command line again, over the entry */
		if (parse_discover(argc, argv, &again, e) != 0 || discover_print(&again) < 0)
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
	struct discover_args d = { 0 };
	int rc = parse_discover(argc, argv, &d, NULL);

	if (rc == 1)
		return 0;
	if (rc < 0)
		return 1;
	if (rc == 2) {	/* no -a: config.json's and discovery.conf's controllers, as nvme-cli */
		rc = discover_files(argc, argv, &d.conf, &d.f);
		cli_config_free(&d.conf);
		cli_fabrics_free(&d.f);
		return rc;
	}
	if (cli_config_named(&d.conf))
		fprintf(stderr, "%s: warning: -J %s: not read, -a %s names the discovery "
			"controller\n", cli_prog, d.conf.path, d.f.traddr);
	rc = discover_print(&d) < 0 ? 1 : 0;
	if (d.conf.dump && cli_config_dump(&d.conf) < 0)
		rc = 1;
	return rc;
}
