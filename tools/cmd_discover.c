/* SPDX-License-Identifier: MIT */
/*
 * nvmfuse discover: connect to a discovery controller, fetch the whole
 * discovery log and print it in nvme-cli's format (normal or json).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <nvme/fabrics.h>

#include "host/identify.h"
#include "tools/cli.h"

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
		CLI_IDENTITY_USAGE CLI_DHCHAP_USAGE);
}

/*
 * Parse discover's arguments into @f and *@fmt. Returns 0, 1 for -h (usage
 * printed), 2 when no -a was given (discovery.conf's lines then), or -1
 * after printing the error.
 */
static int parse_discover(int argc, char **argv, struct cli_fabrics *f, const char **fmt,
			  bool *persistent)
{
	static const struct option longopts[] = {
		CLI_FABRICS_LONGOPTS,
		{ "hostnqn", required_argument, NULL, 'q' },
		{ "output-format", required_argument, NULL, 'o' },
		{ "persistent", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int opt, rc;

	cli_fabrics_defaults(f);
	*fmt = "normal";
	*persistent = false;
	while ((opt = getopt_long(argc, argv, "t:a:s:q:I:S:C:gGo:ph", longopts, NULL)) != -1) {
		rc = cli_fabrics_opt(f, opt, optarg);
		if (rc < 0)
			return -1;
		if (rc)
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
	struct cli_fabrics f;
	const char *fmt;
	bool persistent;
	int rc = parse_discover(argc, argv, &f, &fmt, &persistent);

	(void)arg;
	if (rc == 2)
		cli_error("%s: no -a/--traddr", where);
	return rc ? -1 : discover_print(&f, fmt, persistent);
}

int cmd_discover(int argc, char **argv)
{
	struct cli_fabrics f;
	const char *fmt;
	bool persistent;
	int rc = parse_discover(argc, argv, &f, &fmt, &persistent);

	if (rc == 1)
		return 0;
	if (rc < 0)
		return 1;
	if (rc == 2)	/* no -a: every controller of discovery.conf, as nvme-cli */
		return cli_discovery_conf(argc, argv, discover_line, NULL) ? 1 : 0;
	return discover_print(&f, fmt, persistent) < 0 ? 1 : 0;
}
