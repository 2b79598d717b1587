/* SPDX-License-Identifier: MIT */
/*
 * nvmfuse disconnect / disconnect-all: ask the daemons to shut their
 * controllers down (CC.SHN), close the queues and exit; wait until they
 * are gone. `disconnect -d ublkbN` deletes a disk a daemon that died left
 * behind (daemon/leftover.h).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "tools/cli.h"
#include "daemon/leftover.h"
#include "daemon/registry.h"

#define DISCONNECT_TIMEOUT_MS 30000

static bool g_force;
static const char *g_transport;	/* disconnect-all -r: only this transport's */
static bool g_keep_disks;	/* a handover: the daemon leaves its disks to the next one */

static bool flags_conflict(void)
{
	if (g_keep_disks && g_force)
		cli_error("--keep-disks leaves the disks as they are: --force has no meaning with it");
	return g_keep_disks && g_force;
}

static int disconnect_one(const char *name)
{
	struct nvmf_ctl_request rq = { .op = NVMF_CTL_DISCONNECT, .force = g_force,
				       .keep_disks = g_keep_disks };
	struct json_object *reply, *v;
	char err[512];
	int pid, rc;

	rc = reg_call(name, &rq, &reply, DISCONNECT_TIMEOUT_MS, err, sizeof(err));
	if (rc == -EREMOTEIO) {
		cli_error("%s: not disconnected: %s", name, err);
		return -1;
	}
	if (rc < 0) {
		cli_error("%s: %s", name, err);
		return -1;
	}
	pid = json_object_object_get_ex(reply, "pid", &v) && json_object_is_type(v, json_type_int) ?
	      json_object_get_int(v) : 0;
	json_object_put(reply);
	if (pid <= 0) {
		cli_error("%s: the daemon's disconnect reply has no pid", name);
		return -1;
	}
	/*
	 * The daemon answers, then tears down (held I/O failed first, disks
	 * and nodes removed, CC.SHN) and exits: wait for the process to be
	 * gone. Giving up here does not stop the teardown.
	 */
	for (int i = 0; i < DISCONNECT_TIMEOUT_MS / 10 && kill(pid, 0) == 0; i++)
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	if (kill(pid, 0) == 0) {
		cli_error("%s: daemon %d still shutting down after %d s (it goes on; see "
			  "%s/%s.log)", name, pid, DISCONNECT_TIMEOUT_MS / 1000, reg_rundir(), name);
		return -1;
	}
	return 0;
}

/*
 * Is daemon @name's controller's @key (subnqn, transport) @want? 1 yes, 0
 * no or gone, -1 when it cannot be told (error printed).
 */
static int has_str(const char *name, const char *key, const char *want)
{
	struct json_object *reply, *c, *v;
	int rc;

	rc = cli_ctrl_info(name, 5000, &reply, &c);
	if (rc)
		return rc < 0 ? -1 : 0;
	rc = json_object_object_get_ex(c, key, &v) && json_object_is_type(v, json_type_string) &&
	     !strcmp(json_object_get_string(v), want);
	json_object_put(reply);
	return rc;
}

static int disconnect_path(const char *dev, const char *name, int slot);

/*
 * disconnect-all -r: which of daemon @name's paths use transport
 * g_transport. Fills @slots with theirs (*@n of them) out of *@total
 * paths. A daemon that lists no paths (a discovery controller) is one
 * path, slot 0. Returns 0, 1 when the daemon is gone, -1 when it cannot
 * be told (printed).
 */
static int transport_paths(const char *name, int *slots, int *n, int *total)
{
	struct json_object *reply, *c, *paths, *v;
	int rc;

	*n = *total = 0;
	rc = cli_ctrl_info(name, 5000, &reply, &c);
	if (rc)
		return rc;
	if (!json_object_object_get_ex(c, "paths", &paths) ||
	    !json_object_is_type(paths, json_type_array) || !json_object_array_length(paths)) {
		*total = 1;
		if (json_object_object_get_ex(c, "transport", &v) &&
		    json_object_is_type(v, json_type_string) &&
		    !strcmp(json_object_get_string(v), g_transport))
			slots[(*n)++] = 0;
		json_object_put(reply);
		return 0;
	}
	for (size_t i = 0; i < json_object_array_length(paths) && *total < NVMF_CTL_PATH_MAX; i++) {
		struct json_object *e = json_object_array_get_idx(paths, i), *t, *sl;

		if (!json_object_object_get_ex(e, "transport", &t) ||
		    !json_object_is_type(t, json_type_string) ||
		    !json_object_object_get_ex(e, "slot", &sl) || !json_object_is_type(sl, json_type_int)) {
			cli_error("%s: a path in its info reply has no transport or slot", name);
			json_object_put(reply);
			return -1;
		}
		(*total)++;
		if (!strcmp(json_object_get_string(t), g_transport))
			slots[(*n)++] = json_object_get_int(sl);
	}
	json_object_put(reply);
	return 0;
}

/*
 * disconnect-all -r on a daemon with paths of other transports too: as
 * the kernel host, only the paths of that transport go, the subsystem
 * stays. Path 0 carries the disks' queue threads and the controller
 * nodes (host/mpath.h) and cannot leave while other paths remain: it is
 * refused in one line, never the whole daemon removed instead. Returns 0
 * or -1 (each failure printed).
 */
static int disconnect_some_paths(const char *name, const int *slots, int n)
{
	char dev[REG_NAME_MAX + 16];
	bool p0 = false;
	int rc = 0;

	for (int i = 0; i < n; i++) {
		if (slots[i] == 0) {
			p0 = true;
			continue;
		}
		snprintf(dev, sizeof(dev), "%sp%d", name, slots[i]);
		if (disconnect_path(dev, name, slots[i]))
			rc = -1;
	}
	if (p0) {
		cli_error("%sp0 (%s) not disconnected: path 0 carries %s's disk queues and the "
			  "controller node while paths of another transport remain; to keep "
			  "the disks, hand them to a connect over the other transport "
			  "(disconnect -d %s --keep-disks, then connect), or remove the "
			  "whole subsystem (disconnect -d %s)", name, g_transport, name, name, name);
		rc = -1;
	}
	return rc;
}

/*
 * Disconnect the controllers of subsystem @nqn, or the one named @dev.
 * As nvme-cli: -n prints "NQN:... disconnected N controller(s)" even for
 * 0 and succeeds; -d for a name with no controller fails.
 */
static int disconnect_matching(const char *nqn, const char *dev)
{
	int n, matched = 0, failed = 0, unknown = 0;
	char **names;

	if (!strncmp(dev ? dev : "", "/dev/", 5))
		dev += 5;
	if (reg_names(&names, &n) < 0) {
		cli_error("cannot read %s", reg_rundir());
		return 1;
	}
	for (int i = 0; i < n; i++) {
		if (dev && strcmp(names[i], dev))
			continue;
		if (g_transport && !nqn && !dev) {
			int slots[NVMF_CTL_PATH_MAX], n_match, total, m;

			m = transport_paths(names[i], slots, &n_match, &total);
			if (m < 0)
				unknown++;
			if (m || !n_match)
				continue;
			if (n_match < total) {
				matched++;
				if (disconnect_some_paths(names[i], slots, n_match) < 0)
					failed++;
				continue;
			}
			/* every path of that transport: the daemon goes */
		} else if (nqn || g_transport) {
			int m = nqn ? has_str(names[i], "subnqn", nqn) : 1;

			if (m > 0 && g_transport)
				m = has_str(names[i], "transport", g_transport);
			if (m < 0)
				unknown++;	/* printed; disconnect -d NAME still works */
			if (m <= 0)
				continue;
		}
		matched++;
		if (disconnect_one(names[i]) < 0)
			failed++;
	}
	reg_names_free(names, n);
	/* Not after only failures: those were each named in one line. */
	if (nqn && (!failed || matched > failed))
		printf("NQN:%s disconnected %d controller(s)\n", nqn, matched - failed);
	else if (dev && matched && !failed)
		printf("%s disconnected\n", dev);
	if (dev && !matched && !unknown) {
		cli_error("no nvmfuse controller named %s", dev);
		return 1;
	}
	return failed || unknown ? 1 : 0;
}

/*
 * Is @dev a path name, NAMEpSLOT (host/mpath.h: nvme0p1 is slot 1 of
 * daemon nvme0)? Fills @name and @slot.
 */
static bool path_name(const char *dev, char *name, size_t len, int *slot)
{
	const char *p = strrchr(dev, 'p');
	char *end;
	long v;

	if (!p || p == dev || !p[1] || (size_t)(p - dev) >= len)
		return false;
	v = strtol(p + 1, &end, 10);
	if (*end || v < 0 || v >= NVMF_CTL_PATH_MAX || p[1] == '-' || p[1] == '+')
		return false;
	snprintf(name, len, "%.*s", (int)(p - dev), dev);
	*slot = (int)v;
	return true;
}

/*
 * disconnect -d NAMEpSLOT: remove one path of a subsystem's daemon. Path 0
 * alone is the whole daemon: it then stops, and this waits for it as a
 * disconnect does. Returns the exit status.
 */
static int disconnect_path(const char *dev, const char *name, int slot)
{
	struct nvmf_ctl_request rq = { .op = NVMF_CTL_REMOVE_PATH, .path = slot };
	struct json_object *reply, *v;
	char err[512];
	int pid, rc;

	rc = reg_call(name, &rq, &reply, DISCONNECT_TIMEOUT_MS, err, sizeof(err));
	if (rc < 0) {
		cli_error("%s: not disconnected: %s", dev, err);
		return 1;
	}
	pid = json_object_object_get_ex(reply, "pid", &v) && json_object_is_type(v, json_type_int) ?
	      json_object_get_int(v) : 0;
	json_object_put(reply);
	for (int i = 0; pid > 0 && i < DISCONNECT_TIMEOUT_MS / 10 && kill(pid, 0) == 0; i++)
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	if (pid > 0 && kill(pid, 0) == 0) {
		cli_error("%s: daemon %d still shutting down after %d s", dev, pid,
			  DISCONNECT_TIMEOUT_MS / 1000);
		return 1;
	}
	printf("%s disconnected\n", dev);
	return 0;
}

/* Is @name a daemon of the run dir? */
static bool daemon_exists(const char *name)
{
	char **names;
	bool found = false;
	int n;

	if (reg_names(&names, &n) < 0)
		return false;
	for (int i = 0; i < n && !found; i++)
		found = !strcmp(names[i], name);
	reg_names_free(names, n);
	return found;
}

/*
 * -n and -d take nvme-cli's comma-separated lists: each item in turn, all
 * of them even after a failure. Returns the exit status.
 */
static int disconnect_list(const char *arg, bool by_nqn)
{
	char *copy = strdup(arg), *rest = copy, *item;
	int rc = 0, items = 0;

	if (!copy) {
		cli_error("out of memory");
		return 1;
	}
	while ((item = strsep(&rest, ","))) {
		char name[REG_NAME_MAX];
		int slot;

		if (!*item)
			continue;
		items++;
		if (!by_nqn && !strncmp(item, "/dev/", 5))
			item += 5;
		if (!by_nqn && !daemon_exists(item) && path_name(item, name, sizeof(name), &slot) &&
		    daemon_exists(name)) {
			if (disconnect_path(item, name, slot))
				rc = 1;
			continue;
		}
		if (disconnect_matching(by_nqn ? item : NULL, by_nqn ? NULL : item))
			rc = 1;
	}
	free(copy);
	if (!items) {
		cli_error("%s: no %s in the list", arg, by_nqn ? "NQN" : "device");
		return 1;
	}
	return rc;
}

/* disconnect (@all false: -n or -d) and disconnect-all (@all: neither). */
static int disconnect_cmd(int argc, char **argv, bool all)
{
	static const struct option longopts[] = {
		{ "nqn", required_argument, NULL, 'n' },
		{ "device", required_argument, NULL, 'd' },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "keep-disks", no_argument, NULL, OPT_KEEP_DISKS },
		CLI_RUN_DIR_LONGOPT,
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	static const struct option all_longopts[] = {
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "keep-disks", no_argument, NULL, OPT_KEEP_DISKS },
		CLI_RUN_DIR_LONGOPT,
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "transport", required_argument, NULL, 'r' },
		{ 0 }
	};
	const char *usage = all ?
		"usage: nvmfuse disconnect-all [-r|--transport tcp|rdma] [--force | --keep-disks]\n"
		"         [--run-dir DIR] [-v]\n" :
		"usage: nvmfuse disconnect -n SUBNQN[,SUBNQN...] | -d NAME[,NAME...]|NAMEpSLOT|ublkbN\n"
		"         [--force | --keep-disks] [--run-dir DIR] [-v]\n";
	const char *shortopts = all ? "r:vh" : "n:d:vh";
	const char *nqn = NULL, *dev = NULL;
	uint32_t dev_id;
	int opt;

	/* disconnect-all takes no -n/-d, disconnect no -r: getopt refuses them as unknown. */
	opterr = 0;	/* cli_bad_option() says it in one line */
	while ((opt = getopt_long(argc, argv, shortopts, all ? all_longopts : longopts,
				  NULL)) != -1) {
		switch (opt) {
		case 'n':
			nqn = optarg;
			break;
		case 'd':
			dev = optarg;
			break;
		case 'r':
			if (strcmp(optarg, "tcp") && strcmp(optarg, "rdma")) {
				cli_error("-r/--transport '%s': nvmfuse serves tcp and rdma", optarg);
				return 1;
			}
			g_transport = optarg;
			break;
		case 'v':
			cli_more_verbose();
			break;
		case OPT_FORCE:
			g_force = true;
			break;
		case OPT_KEEP_DISKS:
			g_keep_disks = true;
			break;
		case OPT_RUN_DIR:
			if (cli_run_dir(optarg) < 0)
				return 1;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			cli_bad_option(all ? "disconnect-all" : "disconnect", shortopts, argv);
			return 1;
		}
	}
	if (cli_no_more_args(argc, argv, optind) < 0)
		return 1;
	if (!all && !nqn == !dev) {
		cli_error("give exactly one of -n SUBNQN or -d NAME");
		return 1;
	}
	if (flags_conflict())
		return 1;
	if (dev && !strncmp(dev, "/dev/", 5))
		dev += 5;
	if (leftover_name(dev ? dev : "", &dev_id)) {
		/* A disk left behind by a daemon that died (see nvmfuse list). */
		char err[300];

		if (g_keep_disks) {
			cli_error("--keep-disks is for controllers, not for %s", dev);
			return 1;
		}
		if (leftover_delete(dev_id, g_force, err, sizeof(err)) < 0) {
			cli_error("%s", err);
			return 1;
		}
		printf("/dev/ublkb%u deleted\n", dev_id);
		return 0;
	}
	if (all)
		return disconnect_matching(NULL, NULL);
	return disconnect_list(nqn ? nqn : dev, nqn != NULL);
}

int cmd_disconnect(int argc, char **argv)
{
	return disconnect_cmd(argc, argv, false);
}

int cmd_disconnect_all(int argc, char **argv)
{
	return disconnect_cmd(argc, argv, true);
}
