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

#include "tools/cli.h"
#include "daemon/leftover.h"
#include "daemon/registry.h"

#define DISCONNECT_TIMEOUT_MS 30000

static bool g_force;
static bool g_keep_disks;	/* a handover: the daemon leaves its disks to the next one */

static bool flags_conflict(void)
{
	if (g_keep_disks && g_force)
		cli_error("--keep-disks leaves the disks as they are: --force has no meaning with it");
	return g_keep_disks && g_force;
}

static int disconnect_one(const char *name)
{
	char *reply = NULL;
	int pid, rc;

	rc = reg_request(name, g_keep_disks ? "disconnect keep-disks\n" :
			 g_force ? "disconnect force\n" : "disconnect\n", &reply,
			 DISCONNECT_TIMEOUT_MS);
	if (rc < 0) {
		cli_error("%s: no answer to disconnect: %s", name, strerror(-rc));
		return -1;
	}
	if (sscanf(reply, "ok %d", &pid) != 1) {
		reply[strcspn(reply, "\n")] = 0;
		if (!strncmp(reply, "busy ", 5))
			cli_error("%s: not disconnected: %s", name, reply + 5);
		else
			cli_error("%s: disconnect failed: %s", name, reply);
		free(reply);
		return -1;
	}
	free(reply);
	/*
	 * The daemon answers, then tears down (held I/O failed first, disks
	 * and nodes removed, CC.SHN) and exits: wait for the process to be
	 * gone. Giving up here does not stop the teardown.
	 */
	for (int i = 0; i < DISCONNECT_TIMEOUT_MS / 10 && kill(pid, 0) == 0; i++)
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	if (kill(pid, 0) == 0) {
		cli_error("%s: daemon %d still shutting down after %d s (it goes on; see the "
			  "daemon log)", name, pid, DISCONNECT_TIMEOUT_MS / 1000);
		return -1;
	}
	return 0;
}

static bool has_subnqn(const char *name, const char *nqn)
{
	char *info = NULL, pat[300];
	bool match;

	if (reg_request(name, "info\n", &info, 5000) < 0)
		return false;
	snprintf(pat, sizeof(pat), "\"subnqn\":\"%s\"", nqn);
	match = strstr(info, pat) != NULL;
	free(info);
	return match;
}

static int disconnect_matching(const char *nqn, const char *dev)
{
	int n, matched = 0, failed = 0;
	char **names;

	if (reg_names(&names, &n) < 0) {
		cli_error("cannot read %s", reg_rundir());
		return 1;
	}
	for (int i = 0; i < n; i++) {
		if (dev && strcmp(names[i], dev))
			continue;
		if (nqn && !has_subnqn(names[i], nqn))
			continue;
		matched++;
		if (disconnect_one(names[i]) < 0)
			failed++;
	}
	reg_names_free(names, n);
	if (nqn && matched > failed)
		printf("NQN:%s disconnected %d controller(s)\n", nqn, matched - failed);
	else if (dev && matched && !failed)
		printf("%s disconnected\n", dev);
	if (!matched && (nqn || dev)) {
		if (nqn)
			cli_error("no nvmfuse controller for subsystem %s", nqn);
		else
			cli_error("no nvmfuse controller named %s", dev);
		return 1;
	}
	return failed ? 1 : 0;
}

int cmd_disconnect(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "nqn", required_argument, NULL, 'n' },
		{ "device", required_argument, NULL, 'd' },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "keep-disks", no_argument, NULL, OPT_KEEP_DISKS },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *nqn = NULL, *dev = NULL;
	uint32_t dev_id;
	int opt;

	while ((opt = getopt_long(argc, argv, "n:d:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			nqn = optarg;
			break;
		case 'd':
			dev = optarg;
			if (!strncmp(dev, "/dev/", 5))
				dev += 5;
			break;
		case OPT_FORCE:
			g_force = true;
			break;
		case OPT_KEEP_DISKS:
			g_keep_disks = true;
			break;
		case 'h':
			printf("usage: nvmfuse disconnect -n SUBNQN | -d NAME|ublkbN [--force | --keep-disks]\n");
			return 0;
		default:
			fprintf(stderr, "usage: nvmfuse disconnect -n SUBNQN | -d NAME|ublkbN [--force | --keep-disks]\n");
			return 1;
		}
	}
	if (cli_no_more_args(argc, argv, optind) < 0)
		return 1;
	if (!nqn == !dev) {
		cli_error("give exactly one of -n SUBNQN or -d NAME");
		return 1;
	}
	if (flags_conflict())
		return 1;
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
	return disconnect_matching(nqn, dev);
}

int cmd_disconnect_all(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: nvmfuse disconnect-all [--force | --keep-disks]\n");
			return 0;
		}
		if (!strcmp(argv[i], "--force")) {
			g_force = true;
			continue;
		}
		if (!strcmp(argv[i], "--keep-disks")) {
			g_keep_disks = true;
			continue;
		}
		cli_error("unexpected argument '%s'", argv[i]);
		return 1;
	}
	if (flags_conflict())
		return 1;
	return disconnect_matching(NULL, NULL);
}
