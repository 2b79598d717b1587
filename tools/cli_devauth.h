/* SPDX-License-Identifier: MIT */
/*
 * nvmfuse connect's options that tighten access to the CUSE nodes beyond
 * the kernel's rule (src/cuse/cuse_auth.h): --dev-readonly,
 * --dev-allow-admin LIST, --dev-allow-io LIST.
 */
#ifndef NVMF_CLI_DEVAUTH_H
#define NVMF_CLI_DEVAUTH_H

#include "cuse/cuse_auth.h"

/* Long-option values, clear of tools/cli.h's and cmd_connect.c's. */
enum {
	OPT_DEV_READONLY = 1280,
	OPT_DEV_ALLOW_ADMIN,
	OPT_DEV_ALLOW_IO,
};

#define CLI_DEVAUTH_LONGOPTS \
	{ "dev-readonly", no_argument, NULL, OPT_DEV_READONLY }, \
	{ "dev-allow-admin", required_argument, NULL, OPT_DEV_ALLOW_ADMIN }, \
	{ "dev-allow-io", required_argument, NULL, OPT_DEV_ALLOW_IO }

#define CLI_DEVAUTH_USAGE \
	"         [--dev-readonly] [--dev-allow-admin OPCODES] [--dev-allow-io OPCODES]\n"

/*
 * Apply option @opt (one of OPT_DEV_*) with @arg to @p. Returns 0, or -1
 * after printing the error. Thread: the command's.
 */
int cli_devauth_opt(struct cuse_auth_policy *p, int opt, const char *arg);

#endif
