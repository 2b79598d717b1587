/* SPDX-License-Identifier: MIT */
/* nvmfuse list: ask every controller daemon for its state. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "tools/cli.h"
#include "daemon/registry.h"

/* Pull "key":"value" or "key":number out of a daemon's one-line JSON. */
static void field(const char *json, const char *key, char *out, size_t len)
{
	char pat[64];
	const char *p;
	size_t n = 0;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(json, pat);
	out[0] = 0;
	if (!p)
		return;
	p += strlen(pat);
	if (*p == '"') {
		p++;
		while (p[n] && p[n] != '"' && n + 1 < len) {
			out[n] = p[n];
			n++;
		}
	} else {
		while (p[n] && p[n] != ',' && p[n] != '}' && n + 1 < len) {
			out[n] = p[n];
			n++;
		}
	}
	out[n] = 0;
}

static int count_ns(const char *json)
{
	int n = 0;

	for (const char *p = json; (p = strstr(p, "\"nsid\":")); p++)
		n++;
	return n;
}

int cmd_list(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output-format", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *fmt = "normal";
	char **names;
	int n, opt, shown = 0;

	while ((opt = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			fmt = optarg;
			break;
		case 'h':
			printf("usage: nvmfuse list [-o normal|json]\n");
			return 0;
		default:
			fprintf(stderr, "usage: nvmfuse list [-o normal|json]\n");
			return 1;
		}
	}
	if (cli_no_more_args(argc, argv, optind) < 0)
		return 1;
	if (cli_check_format(fmt) < 0)
		return 1;
	if (reg_names(&names, &n) < 0) {
		cli_error("cannot read %s", reg_rundir());
		return 1;
	}
	if (!strcmp(fmt, "json"))
		printf("{\"controllers\":[");
	else if (n)
		printf("%-10s %-40s %-9s %-22s %-6s %-10s %s\n", "Name", "SubNQN", "Transport",
		       "Address", "Cntlid", "State", "Namespaces");
	for (int i = 0; i < n; i++) {
		char *info = NULL;
		char nqn[256], tr[16], addr[256], svc[64], cntlid[16], state[32];

		if (reg_request(names[i], "info\n", &info, 5000) < 0 || info[0] != '{')
			continue;	/* went away meanwhile */
		info[strcspn(info, "\n")] = 0;
		if (!strcmp(fmt, "json")) {
			printf("%s%s", shown ? "," : "", info);
		} else {
			char where[330];

			field(info, "subnqn", nqn, sizeof(nqn));
			field(info, "transport", tr, sizeof(tr));
			field(info, "traddr", addr, sizeof(addr));
			field(info, "trsvcid", svc, sizeof(svc));
			field(info, "cntlid", cntlid, sizeof(cntlid));
			field(info, "state", state, sizeof(state));
			snprintf(where, sizeof(where), "%s:%s", addr, svc);
			printf("%-10s %-40s %-9s %-22s %-6s %-10s %d\n", names[i], nqn, tr, where,
			       cntlid, state, count_ns(info));
		}
		shown++;
		free(info);
	}
	if (!strcmp(fmt, "json"))
		printf("]}\n");
	else if (!shown)
		printf("no nvmfuse controllers\n");
	reg_names_free(names, n);
	return 0;
}
