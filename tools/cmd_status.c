/* SPDX-License-Identifier: MIT */
/*
 * nvmfuse status: one line per controller of the run dir, and an exit code
 * for liveness/readiness probes: 0 when every controller is live, 1
 * otherwise. The controllers are the daemons registered in the run dir
 * and, when a sidecar runs there, every controller its RUNDIR/sidecar.json
 * lists (daemon/sidecar.h): one it is still connecting or restarting has
 * no daemon to ask, and counts as not live. A controller the sidecar's
 * config marks optional is shown but does not count.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "daemon/registry.h"
#include "daemon/sidecar.h"
#include "tools/cli.h"

/* The string member @key of @o, or NULL when absent or not a string. */
static const char *str_of(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static bool same_str(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

/* Same controller: subsystem, transport, address, service id. */
static bool same_ctrl(struct json_object *a, struct json_object *b)
{
	return same_str(str_of(a, "subnqn"), str_of(b, "subnqn")) &&
	       same_str(str_of(a, "transport"), str_of(b, "transport")) &&
	       same_str(str_of(a, "traddr"), str_of(b, "traddr")) &&
	       same_str(str_of(a, "trsvcid"), str_of(b, "trsvcid"));
}

/*
 * The sidecar's state file, when a sidecar runs in this run dir: its
 * controllers array (owned by *@root; put it), NULL without one. -1 after
 * printing why the file cannot be used (a probe must not pass then).
 */
static int load_sidecar(struct json_object **root, struct json_object **ctrls)
{
	char path[4096];
	struct json_object *v;
	int64_t pid;

	*root = *ctrls = NULL;
	snprintf(path, sizeof(path), "%s/%s", reg_rundir(), NVMF_SIDECAR_STATE);
	*root = json_object_from_file(path);
	if (!*root) {
		if (access(path, F_OK) < 0 && errno == ENOENT)
			return 0;
		cli_error("%s: not readable JSON", path);
		return -1;
	}
	if (!json_object_object_get_ex(*root, "pid", &v) || !json_object_is_type(v, json_type_int) ||
	    !json_object_object_get_ex(*root, "controllers", ctrls) ||
	    !json_object_is_type(*ctrls, json_type_array)) {
		cli_error("%s: no pid or controllers: not a sidecar's state file", path);
		goto bad;
	}
	pid = json_object_get_int64(v);
	if (pid <= 0 || pid > INT32_MAX || (kill((pid_t)pid, 0) < 0 && errno == ESRCH)) {
		cli_error("%s: the sidecar (pid %lld) is not running", path, (long long)pid);
		goto bad;
	}
	return 0;
bad:
	json_object_put(*root);
	*root = *ctrls = NULL;
	return -1;
}

/* Is the sidecar entry matching @c optional? */
static bool optional_in(struct json_object *sc, struct json_object *c)
{
	for (size_t i = 0; sc && i < json_object_array_length(sc); i++) {
		struct json_object *e = json_object_array_get_idx(sc, i), *v;

		if (same_ctrl(e, c))
			return json_object_object_get_ex(e, "optional", &v) &&
			       json_object_get_boolean(v);
	}
	return false;
}

/* Is @name the daemon of a sidecar entry that is not (yet) running? */
static bool sidecar_not_running(struct json_object *sc, const char *name)
{
	for (size_t i = 0; sc && i < json_object_array_length(sc); i++) {
		struct json_object *e = json_object_array_get_idx(sc, i);

		if (same_str(str_of(e, "name"), name))
			return !same_str(str_of(e, "state"), "running");
	}
	return false;
}

int cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_RUN_DIR_LONGOPT,
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct json_object *sc_root = NULL, *sc = NULL, **seen = NULL;
	char **names = NULL;
	int n = 0, nseen = 0, opt, shown = 0;
	bool ok = true;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_RUN_DIR:
			if (cli_run_dir(optarg) < 0)
				return 1;
			break;
		case 'h':
			printf("usage: nvmfuse status [--run-dir DIR]\n");
			return 0;
		default:
			fprintf(stderr, "usage: nvmfuse status [--run-dir DIR]\n");
			return 1;
		}
	}
	if (cli_no_more_args(argc, argv, optind) < 0)
		return 1;
	if (load_sidecar(&sc_root, &sc) < 0)
		ok = false;
	if (reg_names(&names, &n) < 0)
		n = 0;
	seen = calloc((size_t)n + 1, sizeof(*seen));
	if (!seen) {
		cli_error("out of memory");
		return 1;
	}
	for (int i = 0; i < n; i++) {
		struct json_object *reply, *c;
		const char *state;
		bool optional;
		int rc;

		/*
		 * A sidecar's daemon that is still connecting has its name but
		 * cannot answer yet: the sidecar's own line below says where it is.
		 */
		if (sidecar_not_running(sc, names[i]))
			continue;
		rc = cli_ctrl_info(names[i], 2000, &reply, &c);

		if (rc == 1)
			continue;	/* exited meanwhile */
		if (rc < 0) {
			ok = false;	/* named on stderr */
			continue;
		}
		state = str_of(c, "state");
		optional = optional_in(sc, c);
		printf("%s %s %s %s %s:%s%s\n", names[i], state ? state : "?",
		       str_of(c, "subnqn") ? str_of(c, "subnqn") : "?",
		       str_of(c, "transport") ? str_of(c, "transport") : "?",
		       str_of(c, "traddr") ? str_of(c, "traddr") : "?",
		       str_of(c, "trsvcid") ? str_of(c, "trsvcid") : "?",
		       optional ? " (optional)" : "");
		shown++;
		if (!same_str(state, "live") && !optional)
			ok = false;
		seen[nseen++] = reply;	/* kept for matching the sidecar's list */
	}
	/* The sidecar's controllers that no daemon serves right now. */
	for (size_t i = 0; sc && i < json_object_array_length(sc); i++) {
		struct json_object *e = json_object_array_get_idx(sc, i), *v;
		bool found = false, optional;
		const char *err;

		for (int j = 0; j < nseen && !found; j++) {
			struct json_object *c;

			found = json_object_object_get_ex(seen[j], "controller", &c) && same_ctrl(c, e);
		}
		if (found)
			continue;
		optional = json_object_object_get_ex(e, "optional", &v) && json_object_get_boolean(v);
		err = str_of(e, "error");
		printf("%s %s %s %s %s:%s%s%s%s\n", str_of(e, "name") ? str_of(e, "name") : "-",
		       str_of(e, "state") ? str_of(e, "state") : "?",
		       str_of(e, "subnqn") ? str_of(e, "subnqn") : "?",
		       str_of(e, "transport") ? str_of(e, "transport") : "?",
		       str_of(e, "traddr") ? str_of(e, "traddr") : "?",
		       str_of(e, "trsvcid") ? str_of(e, "trsvcid") : "?",
		       optional ? " (optional)" : "", err ? ": " : "", err ? err : "");
		shown++;
		if (!optional)
			ok = false;
	}
	if (!shown) {
		printf("no controllers in %s\n", reg_rundir());
		ok = false;
	}
	for (int j = 0; j < nseen; j++)
		json_object_put(seen[j]);
	free(seen);
	reg_names_free(names, n);
	json_object_put(sc_root);
	return ok ? 0 : 1;
}
