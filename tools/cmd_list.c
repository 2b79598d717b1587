/* SPDX-License-Identifier: MIT */
/*
 * nvmfuse list: ask every controller daemon for its state, and show the
 * disks that daemons which died left waiting (daemon/leftover.h).
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "tools/cli.h"
#include "daemon/leftover.h"
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

/*
 * Disks left behind by daemons that died, waiting for one (leftover.h):
 * "waiting_disks" in JSON (json-c, so every string is escaped), else a
 * table after the controllers'. Nothing when there are none.
 */
static void list_waiting(bool json)
{
	struct state_disk *w;
	struct json_object *arr;
	int n;

	if (leftover_list(&w, &n) < 0 || !n)
		return;
	if (!json) {
		printf("\n%-14s %-40s %-5s %s\n", "Waiting disk", "SubNQN", "NSID", "Last daemon");
		for (int i = 0; i < n; i++)
			printf("/dev/ublkb%-4u %-40s %-5u %s\n", w[i].dev_id, w[i].subnqn,
			       w[i].ns.nsid, w[i].owner);
		free(w);
		return;
	}
	arr = json_object_new_array();
	for (int i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();
		char path[32];

		snprintf(path, sizeof(path), "/dev/ublkb%u", w[i].dev_id);
		json_object_object_add(o, "block_device", json_object_new_string(path));
		json_object_object_add(o, "subnqn", json_object_new_string(w[i].subnqn));
		json_object_object_add(o, "nsid", json_object_new_uint64(w[i].ns.nsid));
		json_object_object_add(o, "last_daemon", json_object_new_string(w[i].owner));
		json_object_array_add(arr, o);
	}
	printf(",\"waiting_disks\":%s", json_object_to_json_string_ext(arr,
	       JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(arr);
	free(w);
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
		printf("]");
	else if (!shown)
		printf("no nvmfuse controllers\n");
	reg_names_free(names, n);
	list_waiting(!strcmp(fmt, "json"));
	if (!strcmp(fmt, "json"))
		printf("}\n");
	return 0;
}
