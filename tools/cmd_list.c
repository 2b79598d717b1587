/* SPDX-License-Identifier: MIT */
/* nvmfuse list: ask every controller daemon for its state. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "tools/cli.h"
#include "daemon/registry.h"

/* String member @key of @o, or "" (also for null and other types). */
static const char *str_of(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string) ?
	       json_object_get_string(v) : "";
}

static int ns_count(struct json_object *o)
{
	struct json_object *v;

	return json_object_object_get_ex(o, "namespaces", &v) &&
	       json_object_is_type(v, json_type_array) ? (int)json_object_array_length(v) : 0;
}

int cmd_list(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output-format", required_argument, NULL, 'o' },
		CLI_RUN_DIR_LONGOPT,
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *fmt = "normal";
	char **names;
	int n, opt, rc, shown = 0, failed = 0;

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
			printf("usage: nvmfuse list [-o normal|json] [--run-dir DIR]\n");
			return 0;
		default:
			fprintf(stderr, "usage: nvmfuse list [-o normal|json] [--run-dir DIR]\n");
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
		} else {
			const char *cntlid = json_object_get_string(json_object_object_get(c,
											 "cntlid"));

			snprintf(where, sizeof(where), "%s:%s", str_of(c, "traddr"),
				 str_of(c, "trsvcid"));
			printf("%-10s %-40s %-9s %-22s %-6s %-10s %d\n", names[i],
			       str_of(c, "subnqn"), str_of(c, "transport"), where,
			       cntlid ? cntlid : "",
			       str_of(c, "state"), ns_count(c));
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
