/* SPDX-License-Identifier: MIT */
/*
 * -J/--config and -O/--dump-config of connect, connect-all and discover:
 * libnvme's config.json, read with the sidecar's parser
 * (daemon/sidecar_config.h: one reader of the schema, checked member by
 * member, a bad file refused whole in one line naming the member), its
 * entries turned into the same option structs the command line fills,
 * and the running controllers written back in the same schema.
 *
 * Which file: -J FILE, or -J none for no file; without -J, connect-all and
 * discover read NVMF_CONFIG_JSON when it exists (as nvme-cli does),
 * connect reads none. Lifetime: the strings an entry puts into a struct
 * cli_fabrics point into struct cli_config's parsed file (the secrets are
 * copies the cli_fabrics owns): keep the cli_config until the options
 * are used. Single-threaded, like the rest of tools/.
 */
#ifndef NVMF_CLI_CONFIG_H
#define NVMF_CLI_CONFIG_H

#include <stdbool.h>

#include "daemon/sidecar_config.h"

struct cli_fabrics;	/* tools/cli.h */

/* libnvme's configuration, from --sysconfdir (configure.ac). */
#define NVMF_CONFIG_JSON NVMF_SYSCONFDIR "/nvme/config.json"

struct cli_config {
	const char *path;	/* -J FILE, or "none"; NULL: not given */
	bool dump;		/* -O */
	bool loaded;		/* cfg holds a file */
	struct sc_config cfg;
	bool redirected;	/* cli_config_stdout_aside() */
	int saved_stdout;
};

/* nvme-cli's names; nvme-cli's man pages also say --config-file. */
#define CLI_CONFIG_LONGOPTS \
	{ "config", required_argument, NULL, 'J' }, \
	{ "config-file", required_argument, NULL, 'J' }, \
	{ "dump-config", no_argument, NULL, 'O' }
#define CLI_CONFIG_USAGE "         [-J|--config FILE|none] [-O|--dump-config]\n"

/* -J or -O: 1 when @opt was one of them, else 0. */
int cli_config_opt(struct cli_config *c, int opt, const char *arg);

/* Was a file named with -J (not "none")? */
bool cli_config_named(const struct cli_config *c);

/*
 * Read the file of @c: -J FILE (it must exist), nothing with -J none, or
 * without -J NVMF_CONFIG_JSON when @default_file and it exists. Returns 1
 * (read), 0 (no file), or -1 after printing the parser's one line.
 */
int cli_config_load(struct cli_config *c, bool default_file);

/*
 * Put entry @e into @f as if given on the command line before the real
 * flags (which are parsed afterwards and win): address, subsystem, queue
 * counts, timeouts, digests, TLS, secrets (copies), and the host entry's
 * hostnqn/hostid unless LIBNVME_HOSTNQN or LIBNVME_HOSTID is set (host/
 * hostid.h's order: flags, environment, this file, the files in
 * SYSCONFDIR/nvme). @reconnect_delay, @ctrl_loss_tmo, @fast_io_fail_tmo:
 * the service's timers, set when the entry has them. 0, or -1 (printed)
 * when out of memory.
 */
int cli_config_apply(const struct sc_ctrl_cfg *e, struct cli_fabrics *f, int *reconnect_delay,
		     int *ctrl_loss_tmo, int *fast_io_fail_tmo);

/*
 * nvme-cli's filter: with -q/-I on the command line (@f, before
 * cli_config_apply), only host entries with no hostnqn/hostid or the same
 * ones are used.
 */
bool cli_config_host_matches(const struct sc_ctrl_cfg *e, const struct cli_fabrics *f);

/*
 * The identity of entry @e for the sidecar: as cli_config_apply() (flags
 * in @flags first), resolved into @id (cli_identity). 0 or -1 (printed).
 */
int cli_config_identity(const struct cli_fabrics *flags, const struct sc_ctrl_cfg *e,
			struct cli_fabrics *id);

/*
 * With -O, connect and connect-all keep standard output for the dump
 * alone (so that `... -O >FILE` is a config.json): their own lines go to
 * standard error until cli_config_dump() puts standard output back.
 * Nothing without -O.
 */
void cli_config_stdout_aside(struct cli_config *c);

/*
 * -O: write the running configuration (every controller daemon of the run
 * dir) to standard output in the schema (sc_config_build), with the
 * secrets of the file @c read; warns on stderr when a controller that
 * authenticated has no key to write. 0, or -1 after printing why.
 */
int cli_config_dump(struct cli_config *c);

void cli_config_free(struct cli_config *c);

/*
 * nvmfuse config -O [-J FILE] [--run-dir DIR]: nvme-cli's `nvme config
 * --dump`, the running configuration alone (cli_config_dump), with the
 * secrets of FILE. nvme-cli's other config actions are refused naming why.
 */
int cmd_config(int argc, char **argv);

#endif
