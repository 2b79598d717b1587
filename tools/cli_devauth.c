/* SPDX-License-Identifier: MIT */
#include "tools/cli.h"
#include "tools/cli_devauth.h"

int cli_devauth_opt(struct cuse_auth_policy *p, int opt, const char *arg)
{
	char err[160];

	switch (opt) {
	case OPT_DEV_READONLY:
		p->readonly = true;
		return 0;
	case OPT_DEV_ALLOW_ADMIN:
	case OPT_DEV_ALLOW_IO: {
		bool admin = opt == OPT_DEV_ALLOW_ADMIN;

		if (cuse_auth_parse_opcodes(arg, admin ? p->allow_admin : p->allow_io, err,
					    sizeof(err)) < 0) {
			cli_error("%s: %s", admin ? "--dev-allow-admin" : "--dev-allow-io", err);
			return -1;
		}
		if (admin)
			p->allow_admin_set = true;
		else
			p->allow_io_set = true;
		return 0;
	}
	default:
		cli_error("unknown device access option %d", opt);
		return -1;
	}
}
