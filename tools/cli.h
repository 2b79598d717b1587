/* SPDX-License-Identifier: MIT */
/* Shared pieces of the nvmfuse command: options, output, errors. */
#ifndef NVMFUSE_CLI_H
#define NVMFUSE_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "host/nvmf.h"

extern const char *cli_prog;	/* "nvmfuse discover" etc., for messages */

/* Print "nvmfuse CMD: message" to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Options shared by discover, connect, connect-all and perf. */
struct cli_fabrics {
	const char *transport;
	const char *traddr;
	const char *trsvcid;
	const char *subnqn;
	const char *hostnqn_arg;
	const char *hostid_arg;
	const char *hostnqn_file;	/* --hostnqn-file: read, and written by --save-identity */
	const char *hostid_file;	/* --hostid-file */
	bool save_identity;		/* --save-identity */
	char *hostnqn;		/* resolved */
	char *hostid;
	int nr_io_queues;
	int nr_write_queues;		/* -W */
	int nr_poll_queues;
	int queue_size;
	int kato_s;
	bool hdgst;
	bool ddgst;
	bool disable_sqflow;
	char *dhchap_secret;		/* -S, a copy wiped by cli_fabrics_free (argv is cleared) */
	char *dhchap_ctrl_secret;	/* -C */
	int timeout_ms;
	/* TLS (struct nvmf_ctrl_opts has the meaning) */
	bool tls;
	char *tls_key;			/* the interchange string, read from a file if need be */
	const char *keyring;
	const char *tls_key_identity;
	bool tls_compat;
	/* The host side of the connections (struct nvmf_ctrl_opts has the meaning). */
	const char *host_traddr;	/* -w */
	const char *host_iface;		/* -f */
	int tos;			/* -T, -1: the system's */
	bool duplicate_connect;		/* -D: connect even when already connected */
	const char *context;		/* --context: a label the daemon shows in list */
};

/*
 * Zero @f and set nvme-cli's defaults; --nr-io-queues stays 1 (perf's
 * default): connect and connect-all call cli_default_io_queues().
 */
void cli_fabrics_defaults(struct cli_fabrics *f);
/* The kernel host's default for --nr-io-queues: the online CPUs, at least 1. */
int cli_default_io_queues(void);
/*
 * Check -t/-a and resolve the host identity (host/hostid.h: flags, env,
 * files, kept in the run dir, generated), warning on stderr when it was
 * generated, and saving it with --save-identity; prints the error and
 * returns -1 on failure.
 */
int cli_fabrics_finish(struct cli_fabrics *f, bool need_nqn);
/* The identity part of cli_fabrics_finish(), alone. */
int cli_identity(struct cli_fabrics *f);
/* -i 0 is only for -W N or -P N: at least one I/O queue. 0, or -1 after printing why. */
int cli_need_io_queue(const struct cli_fabrics *f);
void cli_fabrics_to_opts(const struct cli_fabrics *f, struct nvmf_ctrl_opts *o);
void cli_fabrics_free(struct cli_fabrics *f);
/* Wipe and free a secret string; NULL afterwards. */
void cli_secret_free(char **s);

/* Error for arguments left after the options; returns -1 if there are any. */
int cli_no_more_args(int argc, char **argv, int optind_);

/*
 * --log-format ARG: set this process's log format (text or json), which
 * the daemons it forks inherit. 0, or -1 after printing why.
 */
int cli_log_format(const char *arg);
/* "normal" or "json", else an error; returns -1 on a bad format. */
int cli_check_format(const char *fmt);

/* Parse a whole decimal number in [min, max]; prints an error naming @what. */
int cli_parse_int(const char *s, const char *what, long long min, long long max, long long *out);
/* Parse a size with an optional k/m/g (binary) suffix. */
int cli_parse_size(const char *s, const char *what, uint64_t *out);

struct json_object;
/*
 * Ask daemon @name for its controller (the info request, within
 * @timeout_ms). Returns 0 with the reply in *@reply (put it) and its
 * "controller" object in *@ctrl (owned by *@reply); 1 when the daemon is
 * gone (exited meanwhile); -1 after printing "NAME: cause" (another
 * protocol version, an error, no answer).
 */
int cli_ctrl_info(const char *name, int timeout_ms, struct json_object **reply,
		  struct json_object **ctrl);

/*
 * Secrets given outside the command line, for a program that starts
 * nvmfuse (the persistent discovery daemon's connect commands): the
 * environment of a process is readable by its owner only, its command
 * line by everyone. Used when the option is not given; taken out of the
 * environment on reading.
 */
#define CLI_ENV_DHCHAP_SECRET		"NVMFUSE_DHCHAP_SECRET"
#define CLI_ENV_DHCHAP_CTRL_SECRET	"NVMFUSE_DHCHAP_CTRL_SECRET"
#define CLI_ENV_TLS_KEY			"NVMFUSE_TLS_KEY"
/* Fill @f's secrets from those variables (cli_fabrics_finish does). 0 or -1. */
int cli_secrets_from_env(struct cli_fabrics *f);
/*
 * The other way: the secrets given (NULL: none) as "NAME=VALUE" entries
 * for such a program's environment, into @env (room for 4, NULL-terminated
 * after the last), each in memory left out of core dumps. 0, or -1 when
 * out of memory. Free with cli_secrets_env_free() either way.
 */
int cli_secrets_env(const char *dhchap_secret, const char *dhchap_ctrl_secret,
		    const char *tls_key, char **env);
void cli_secrets_env_free(char **env);

/* JSON output helpers (stdout). */
void json_str(FILE *f, const char *s);
/* String member @key of @o, or "" (also for null and other types). */
const char *cli_json_str(struct json_object *o, const char *key);

/* Subcommands. */
int cmd_discover(int argc, char **argv);
int cmd_connect(int argc, char **argv);
int cmd_connect_all(int argc, char **argv);
int cmd_disconnect(int argc, char **argv);
int cmd_disconnect_all(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_list_subsys(int argc, char **argv);	/* tools/cmd_list.c */
int cmd_perf(int argc, char **argv);
int cmd_sidecar(int argc, char **argv);	/* tools/cmd_sidecar.c */
int cmd_status(int argc, char **argv);	/* tools/cmd_status.c */
int cmd_gen_dhchap_key(int argc, char **argv);	/* tools/cmd_gen_dhchap_key.c */
int cmd_gen_tls_key(int argc, char **argv);	/* tools/cmd_tls_key.c */
int cmd_check_tls_key(int argc, char **argv);	/* tools/cmd_tls_key.c */
int cmd_udev_id(int argc, char **argv);		/* tools/cmd_udev_id.c */

/*
 * Long-option values for options that have no short form, and the handler
 * for the fabrics options every command shares: returns 1 when @opt was
 * one of them, 0 when it was not, -1 on a bad value (error printed).
 */
enum {
	OPT_NO_CUSE = 256,
	OPT_NO_UBLK,
	OPT_FOREGROUND,
	OPT_INSTANCE,
	OPT_NSID,
	OPT_VERIFY,
	OPT_SEED,
	OPT_SIZE,
	OPT_HOSTNQN,
	OPT_TIMEOUT,
	OPT_FORCE,
	OPT_DISABLE_SQFLOW,
	OPT_RUN_DIR,
	OPT_SAVE_IDENTITY,
	OPT_HOSTNQN_FILE,
	OPT_HOSTID_FILE,
	OPT_KEEP_DISKS,
	OPT_TLS,
	OPT_TLS_KEY,
	OPT_KEYRING,
	OPT_TLS_KEY_IDENTITY,
	OPT_TLS_COMPAT,
	OPT_CONTEXT,
	OPT_CONCAT,
	OPT_QUIET,
	OPT_NBFT,
	OPT_NO_NBFT,
	OPT_NBFT_PATH,
};

/*
 * --run-dir DIR: the run dir of the daemons this command starts or talks
 * to (the same as NVMFUSE_RUNDIR, which it sets, so the daemons inherit
 * it). DIR must be absolute. Returns 0, or -1 after printing the error.
 */
int cli_run_dir(const char *dir);
#define CLI_RUN_DIR_LONGOPT { "run-dir", required_argument, NULL, OPT_RUN_DIR }
int cli_fabrics_opt(struct cli_fabrics *f, int opt, const char *arg);

/* nvme-cli's list of discovery controllers, one line of options each. */
#define NVMF_DISCOVERY_CONF NVMF_SYSCONFDIR "/nvme/discovery.conf"

/*
 * For each discovery controller line of NVMF_DISCOVERY_CONF (blank lines
 * and # comments skipped), call @fn with the command line's arguments
 * followed by the line's (getopt reset, so @fn can parse them again; the
 * line's options come last and win) and "FILE:LINE" for its messages;
 * @fn returns < 0 after printing why it failed. Returns the number of
 * lines that failed, or -1 (printed) when the file is missing or lists
 * no controller.
 */
int cli_discovery_conf(int argc, char **argv,
		       int (*fn)(int argc, char **argv, const char *where, void *arg), void *arg);

/*
 * A key given as @len bytes in hexadecimal (gen-dhchap-key and
 * gen-tls-key --secret) into @out; the argument is then wiped from the
 * command line. 0, or -1 after printing the error naming @opt.
 */
int cli_parse_hex(const char *arg, const char *opt, uint8_t *out, size_t len);

/* The usage line of the DH-HMAC-CHAP options in CLI_FABRICS_LONGOPTS. */
#define CLI_DHCHAP_USAGE \
	"         [-S|--dhchap-secret DHHC-1:...] [-C|--dhchap-ctrl-secret DHHC-1:...]\n"

/* The usage lines of the identity and TLS options in CLI_FABRICS_LONGOPTS. */
#define CLI_IDENTITY_USAGE \
	"         [--save-identity] [--hostnqn-file PATH] [--hostid-file PATH]\n" \
	"         [--tls] [--tls-key KEY|FILE] [--keyring NAME] [--tls-key-identity ID]\n" \
	"         [--tls-compat]\n"

#define CLI_FABRICS_LONGOPTS \
	{ "transport", required_argument, NULL, 't' }, \
	{ "traddr", required_argument, NULL, 'a' }, \
	{ "trsvcid", required_argument, NULL, 's' }, \
	{ "hostid", required_argument, NULL, 'I' }, \
	{ "nr-io-queues", required_argument, NULL, 'i' }, \
	{ "nr-poll-queues", required_argument, NULL, 'P' }, \
	{ "hdr-digest", no_argument, NULL, 'g' }, \
	{ "data-digest", no_argument, NULL, 'G' }, \
	{ "timeout", required_argument, NULL, OPT_TIMEOUT }, \
	{ "disable-sqflow", no_argument, NULL, OPT_DISABLE_SQFLOW }, \
	{ "dhchap-secret", required_argument, NULL, 'S' }, \
	{ "dhchap-ctrl-secret", required_argument, NULL, 'C' }, \
	{ "save-identity", no_argument, NULL, OPT_SAVE_IDENTITY }, \
	{ "hostnqn-file", required_argument, NULL, OPT_HOSTNQN_FILE }, \
	{ "hostid-file", required_argument, NULL, OPT_HOSTID_FILE }, \
	{ "tls", no_argument, NULL, OPT_TLS }, \
	{ "tls-key", required_argument, NULL, OPT_TLS_KEY }, \
	{ "tls_key", required_argument, NULL, OPT_TLS_KEY }, \
	{ "keyring", required_argument, NULL, OPT_KEYRING }, \
	{ "tls-key-identity", required_argument, NULL, OPT_TLS_KEY_IDENTITY }, \
	{ "tls_key_identity", required_argument, NULL, OPT_TLS_KEY_IDENTITY }, \
	{ "tls-compat", no_argument, NULL, OPT_TLS_COMPAT }

/*
 * nvme-cli's fabrics options that connect, discover and connect-all share
 * beyond CLI_FABRICS_LONGOPTS (perf has other meanings for -w and -T):
 * the host side of the connection, write queues, duplicates, the context
 * label, verbosity. cli_host_opt() takes them (never cli_fabrics_opt(),
 * which perf calls too); -F (fast_io_fail_tmo, nvme-cli's spelling, and
 * --fast-io-fail-tmo) is the command's own.
 */
#define CLI_HOST_SHORTOPTS "w:f:T:W:DvF:"
#define CLI_HOST_LONGOPTS \
	{ "host-traddr", required_argument, NULL, 'w' }, \
	{ "host-iface", required_argument, NULL, 'f' }, \
	{ "tos", required_argument, NULL, 'T' }, \
	{ "nr-write-queues", required_argument, NULL, 'W' }, \
	{ "duplicate-connect", no_argument, NULL, 'D' }, \
	{ "fast_io_fail_tmo", required_argument, NULL, 'F' }, \
	{ "fast-io-fail-tmo", required_argument, NULL, 'F' }, \
	{ "context", required_argument, NULL, OPT_CONTEXT }, \
	{ "concat", no_argument, NULL, OPT_CONCAT }, \
	{ "verbose", no_argument, NULL, 'v' }
/* CLI_HOST_LONGOPTS: 1 taken, 0 not one of them, -1 bad value (printed). */
int cli_host_opt(struct cli_fabrics *f, int opt, const char *arg);
#define CLI_HOST_USAGE \
	"         [-w|--host-traddr ADDR] [-f|--host-iface IFACE] [-T|--tos 0-255]\n" \
	"         [-W|--nr-write-queues N] [-D|--duplicate-connect] [--context NAME] [-v]\n"

/*
 * The discovery-only options of discover and connect-all: -r/--raw FILE,
 * --quiet, --force, --nbft, --no-nbft, --nbft-path DIR.
 */
#define CLI_DISC_LONGOPTS \
	{ "raw", required_argument, NULL, 'r' }, \
	{ "quiet", no_argument, NULL, OPT_QUIET }, \
	{ "force", no_argument, NULL, OPT_FORCE }, \
	{ "nbft", no_argument, NULL, OPT_NBFT }, \
	{ "no-nbft", no_argument, NULL, OPT_NO_NBFT }, \
	{ "nbft-path", required_argument, NULL, OPT_NBFT_PATH }
#define CLI_DISC_USAGE \
	"         [-r|--raw FILE] [--quiet] [--force] [--nbft|--no-nbft] [--nbft-path DIR]\n"

struct cli_disc {
	const char *raw;		/* -r: the discovery log, as read, to this file */
	bool quiet;			/* --quiet: no "already connected" lines */
	bool nbft_only;			/* --nbft */
	bool no_nbft;			/* --no-nbft */
	const char *nbft_path;		/* --nbft-path, default NVMF_NBFT_PATH */
	bool nbft_path_set;
};
#define NVMF_NBFT_PATH "/sys/firmware/acpi/tables"

/* Defaults of struct cli_disc. */
void cli_disc_defaults(struct cli_disc *d);
/* CLI_DISC_LONGOPTS: 1 taken, 0 not one of them, -1 bad value (printed). */
int cli_disc_opt(struct cli_disc *d, int opt, const char *arg);
/*
 * The NBFT answer. nvmfuse reads no NVMe-oF boot firmware table; asked
 * about them it says so in one line: "no NBFT on this system" when
 * @d->nbft_path has no NBFT* table, else that they are not read. --nbft
 * (only the tables): that line as the error, and -1. --nbft-path alone:
 * the line as a note, and 0. Otherwise silent, 0.
 */
int cli_disc_nbft(const struct cli_disc *d);
/*
 * Count the ACPI NBFT tables (names starting "NBFT") in directory @dir:
 * >= 0, or -errno when it cannot be read (-ENOENT: no such directory).
 */
int cli_nbft_count(const char *dir);
/* Write the discovery log (@n entries) to @path as it came off the wire. 0 or -1 (printed). */
struct nvmf_discovery_log;
int cli_save_raw_log(const char *path, const struct nvmf_discovery_log *log, uint64_t n);
/* -T/--tos: -1 (the system's) or 0..255, else -1 after printing why. */
int cli_parse_tos(const char *arg, int *out);

/*
 * getopt_long() returned '?' (run with opterr = 0): print one line naming
 * the option and why (unknown, or its argument missing), and where the
 * list is (@cmd --help). @shortopts as given to getopt_long.
 */
void cli_bad_option(const char *cmd, const char *shortopts, char **argv);

struct option;
/*
 * A copy of @argv[1..@argc) as getopt_long() would read it with
 * @shortopts and @longopts, without the secrets (-S, -C,
 * --dhchap-secret, --dhchap-ctrl-secret, --tls-key and their values)
 * and without the options named in @drop_short (letters) and @drop_long
 * (NULL-terminated names). A bundle of short options loses only the
 * dropped letters: "-gS KEY" gives "-g". Long names may be abbreviated as
 * getopt allows; an option's separate value is never read as an option.
 * NULL-terminated; NULL when out of memory. Freed with cli_argv_free().
 * Pure: any thread.
 */
char **cli_argv_public(int argc, char **argv, const char *shortopts,
		       const struct option *longopts, const char *drop_short,
		       const char *const *drop_long);
void cli_argv_free(char **v);

/* nvme-cli's -v, -vv: one log level more each (warn, info, debug); daemons forked inherit it. */
void cli_more_verbose(void);

#endif
