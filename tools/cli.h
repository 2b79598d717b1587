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
};

void cli_fabrics_defaults(struct cli_fabrics *f);
/*
 * Check -t/-a and resolve the host identity (host/hostid.h: flags, env,
 * files, kept in the run dir, generated), warning on stderr when it was
 * generated, and saving it with --save-identity; prints the error and
 * returns -1 on failure.
 */
int cli_fabrics_finish(struct cli_fabrics *f, bool need_nqn);
/* The identity part of cli_fabrics_finish(), alone. */
int cli_identity(struct cli_fabrics *f);
/* -i 0 is only for -P N: at least one I/O queue. 0, or -1 after printing why. */
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
int cmd_perf(int argc, char **argv);
int cmd_sidecar(int argc, char **argv);	/* tools/cmd_sidecar.c */
int cmd_status(int argc, char **argv);	/* tools/cmd_status.c */
int cmd_gen_dhchap_key(int argc, char **argv);	/* tools/cmd_gen_dhchap_key.c */
int cmd_gen_tls_key(int argc, char **argv);	/* tools/cmd_tls_key.c */
int cmd_check_tls_key(int argc, char **argv);	/* tools/cmd_tls_key.c */
int cmd_udev_id(int argc, char **argv);		/* tools/cmd_udev_id.c */

#endif

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
