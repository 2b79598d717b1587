/* SPDX-License-Identifier: MIT */
/*
 * nvmfuse: a userspace NVMe over Fabrics host. Subcommands mirror nvme-cli's
 * fabrics commands and flag names; each lives in tools/cmd_*.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/cli.h"
#include "tools/cli_config.h"

struct subcmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
};

static const struct subcmd subcmds[] = {
	{ "discover", cmd_discover, "print the discovery log of a discovery controller" },
	{ "connect", cmd_connect, "connect to a subsystem and serve it in the background" },
	{ "connect-all", cmd_connect_all, "connect to every subsystem in the discovery log" },
	{ "disconnect", cmd_disconnect, "disconnect controllers by subsystem NQN or name" },
	{ "disconnect-all", cmd_disconnect_all, "disconnect every nvmfuse controller" },
	{ "list", cmd_list, "list the live nvmfuse controllers and namespaces" },
	{ "config", cmd_config, "write the running configuration as a config.json (-O)" },
	{ "sidecar", cmd_sidecar, "keep the controllers of a config.json served, in the foreground" },
	{ "status", cmd_status, "exit 0 when every controller of the run dir is live (probes)" },
	{ "perf", cmd_perf, "drive I/O through the host engine and report performance" },
	{ "gen-dhchap-key", cmd_gen_dhchap_key, "make a DH-HMAC-CHAP secret (DHHC-1), as nvme-cli does" },
	{ "gen-tls-key", cmd_gen_tls_key, "make a TLS PSK (NVMeTLSkey-1), as nvme-cli does" },
	{ "check-tls-key", cmd_check_tls_key, "check a TLS PSK in the interchange format" },
	{ "udev-id", cmd_udev_id, "print a disk's udev properties (contrib/udev's rule runs it)" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: nvmfuse <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(subcmds) / sizeof(subcmds[0]); i++)
		fprintf(f, "  %-15s %s\n", subcmds[i].name, subcmds[i].help);
	fprintf(f, "\n'nvmfuse <command> --help' shows a command's options; see nvmfuse(8).\n");
}

int main(int argc, char **argv)
{
	static char prog[64];

	if (argc < 2) {
		usage(stderr);
		return 1;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("nvmfuse %s\n", PACKAGE_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(subcmds) / sizeof(subcmds[0]); i++) {
		if (strcmp(argv[1], subcmds[i].name))
			continue;
		snprintf(prog, sizeof(prog), "nvmfuse %s", subcmds[i].name);
		cli_prog = prog;
		return subcmds[i].fn(argc - 1, argv + 1);
	}
	fprintf(stderr, "nvmfuse: unknown command '%s' (try 'nvmfuse --help')\n", argv[1]);
	return 1;
}
