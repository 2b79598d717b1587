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


static int ns_count(struct json_object *o)
{
	struct json_object *v;

	return json_object_object_get_ex(o, "namespaces", &v) &&
	       json_object_is_type(v, json_type_array) ? (int)json_object_array_length(v) : 0;
}

/* Unsigned member @key of @o, or 0. */
static uint64_t u64_of(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_int) ?
	       json_object_get_uint64(v) : 0;
}

/* @v scaled by @step (1000 or 1024) to below it, with its prefix. */
static const char *scaled(double *v, double step, const char *const prefix[], int n)
{
	int i = 0;

	while (*v >= step && i < n - 1) {
		*v /= step;
		i++;
	}
	return prefix[i];
}

/*
 * list -v: one row per namespace in the columns and formats of nvme-cli's
 * `nvme list` (Node is the ublk disk, Generic the CUSE namespace node; "-"
 * for one that was not created), so scripts that read that table read
 * this one. The header is printed once, before the first row.
 */
static void print_ns_rows(struct json_object *c, bool *header)
{
	static const char *const si[] = { "", "k", "M", "G", "T", "P", "E", "Z", "Y" };
	static const char *const bin[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi" };
	static const char dash[] = "------------------------------------------------------------";
	struct json_object *nss;

	if (!json_object_object_get_ex(c, "namespaces", &nss) ||
	    !json_object_is_type(nss, json_type_array))
		return;
	if (!*header) {
		printf("%-21s %-21s %-20s %-40s %-9s %-26s %-16s %-8s\n", "Node", "Generic", "SN",
		       "Model", "Namespace", "Usage", "Format", "FW Rev");
		printf("%-.21s %-.21s %-.20s %-.40s %-.9s %-.26s %-.16s %-.8s\n", dash, dash, dash,
		       dash, dash, dash, dash, dash);
		*header = true;
	}
	for (size_t i = 0; i < json_object_array_length(nss); i++) {
		struct json_object *ns = json_object_array_get_idx(nss, i);
		double used = (double)u64_of(ns, "used"), size = (double)u64_of(ns, "size");
		double lba = (double)u64_of(ns, "lba_size");
		const char *node = cli_json_str(ns, "block_device"), *gen = cli_json_str(ns, "device");
		const char *us = scaled(&used, 1000, si, 9), *ss = scaled(&size, 1000, si, 9);
		const char *ls = scaled(&lba, 1024, bin, 9);
		char usage[64], format[64];

		snprintf(usage, sizeof(usage), "%6.2f %2sB / %6.2f %2sB", used, us, size, ss);
		snprintf(format, sizeof(format), "%3.0f %2sB + %2u B", lba, ls,
			 (unsigned int)u64_of(ns, "metadata_size"));
		printf("%-21s %-21s %-20s %-40s %-9u %-26s %-16s %-8s\n", *node ? node : "-",
		       *gen ? gen : "-", cli_json_str(c, "serial"), cli_json_str(c, "model"),
		       (unsigned int)u64_of(ns, "nsid"), usage, format, cli_json_str(c, "firmware"));
	}
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
		{ "verbose", no_argument, NULL, 'v' },
		CLI_RUN_DIR_LONGOPT,
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *fmt = "normal";
	char **names;
	int n, opt, rc, shown = 0, failed = 0;
	bool verbose = false, header = false;

	while ((opt = getopt_long(argc, argv, "o:vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			fmt = optarg;
			break;
		case 'v':
			verbose = true;
			break;
		case OPT_RUN_DIR:
			if (cli_run_dir(optarg) < 0)
				return 1;
			break;
		case 'h':
			printf("usage: nvmfuse list [-o normal|json] [-v] [--run-dir DIR]\n");
			return 0;
		default:
			fprintf(stderr, "usage: nvmfuse list [-o normal|json] [-v] [--run-dir DIR]\n");
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
		printf("{\"version\":1,\"controllers\":[");
	else if (n && !verbose)
		printf("%-10s %-40s %-9s %-22s %-6s %-10s %s\n", "Name", "SubNQN", "Transport",
		       "Address", "Cntlid", "State", "Namespaces");
	for (int i = 0; i < n; i++) {
		struct json_object *reply, *c;
		char where[330];

		rc = cli_ctrl_info(names[i], 5000, &reply, &c);
		if (rc < 0)
			failed++;
		if (rc)
			continue;	/* the error is printed; or it went away meanwhile */
		if (!strcmp(fmt, "json")) {
			printf("%s%s", shown ? "," : "", json_object_to_json_string_ext(c,
			       JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		} else if (verbose) {
			print_ns_rows(c, &header);
		} else {
			const char *cntlid = json_object_get_string(json_object_object_get(c,
											 "cntlid"));

			snprintf(where, sizeof(where), "%s:%s", cli_json_str(c, "traddr"),
				 cli_json_str(c, "trsvcid"));
			printf("%-10s %-40s %-9s %-22s %-6s %-10s %d\n", names[i],
			       cli_json_str(c, "subnqn"), cli_json_str(c, "transport"), where,
			       cntlid ? cntlid : "",
			       cli_json_str(c, "state"), ns_count(c));
		}
		shown++;
		json_object_put(reply);
	}
	if (!strcmp(fmt, "json"))
		printf("]");
	else if (!shown && !failed)
		printf("no nvmfuse controllers\n");
	reg_names_free(names, n);
	list_waiting(!strcmp(fmt, "json"));
	if (!strcmp(fmt, "json"))
		printf("}\n");
	return failed ? 1 : 0;
}

/*
 * nvmfuse list-subsys: each daemon's subsystem with its paths, in the
 * shape of nvme-cli's `nvme list-subsys` (address, state, ANA state), plus
 * each path's counters; -o json prints the "paths" of list -o json.
 */
int cmd_list_subsys(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output-format", required_argument, NULL, 'o' },
		CLI_RUN_DIR_LONGOPT,
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	static const char usage[] = "usage: nvmfuse list-subsys [-o normal|json] [--run-dir DIR]\n";
	const char *fmt = "normal";
	char **names;
	int n, opt, rc, failed = 0, shown = 0;

	while ((opt = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			fmt = optarg;
			break;
		case OPT_RUN_DIR:
			if (cli_run_dir(optarg) < 0)
				return 1;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 1;
		}
	}
	if (cli_no_more_args(argc, argv, optind) < 0 || cli_check_format(fmt) < 0)
		return 1;
	if (reg_names(&names, &n) < 0) {
		cli_error("cannot read %s", reg_rundir());
		return 1;
	}
	if (!strcmp(fmt, "json"))
		printf("{\"subsystems\":[");
	for (int i = 0; i < n; i++) {
		struct json_object *reply, *c, *paths;

		rc = cli_ctrl_info(names[i], 5000, &reply, &c);
		if (rc < 0)
			failed++;
		if (rc)
			continue;
		if (!json_object_object_get_ex(c, "paths", &paths) ||
		    !json_object_is_type(paths, json_type_array))
			paths = NULL;
		if (!strcmp(fmt, "json")) {
			struct json_object *o = json_object_new_object();

			json_object_object_add(o, "name", json_object_new_string(names[i]));
			json_object_object_add(o, "subnqn", json_object_new_string(cli_json_str(c, "subnqn")));
			json_object_object_add(o, "hostnqn",
					       json_object_new_string(cli_json_str(c, "hostnqn")));
			json_object_object_add(o, "iopolicy",
					       json_object_new_string(cli_json_str(c, "iopolicy")));
			json_object_object_add(o, "paths", paths ? json_object_get(paths) :
					       json_object_new_array());
			printf("%s%s", shown ? "," : "", json_object_to_json_string_ext(o,
			       JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
			json_object_put(o);
		} else {
			printf("%s%s - NQN=%s\n%*shostnqn=%s\n%*siopolicy=%s\n\\\n", shown ? "\n" : "",
			       names[i], cli_json_str(c, "subnqn"), (int)strlen(names[i]) + 3, "",
			       cli_json_str(c, "hostnqn"), (int)strlen(names[i]) + 3, "",
			       cli_json_str(c, "iopolicy"));
			for (size_t k = 0; paths && k < json_object_array_length(paths); k++) {
				struct json_object *p = json_object_array_get_idx(paths, k);

				printf(" +- %s %s traddr=%s,trsvcid=%s %s %s ios=%llu failovers=%llu\n",
				       cli_json_str(p, "path"), cli_json_str(p, "transport"), cli_json_str(p, "traddr"),
				       cli_json_str(p, "trsvcid"), cli_json_str(p, "state"),
				       cli_json_str(p, "ana_state"), (unsigned long long)u64_of(p, "ios"),
				       (unsigned long long)u64_of(p, "failovers"));
			}
		}
		shown++;
		json_object_put(reply);
	}
	if (!strcmp(fmt, "json"))
		printf("]}\n");
	else if (!shown && !failed)
		printf("no nvmfuse controllers\n");
	reg_names_free(names, n);
	return failed ? 1 : 0;
}
