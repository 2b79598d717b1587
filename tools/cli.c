/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <net/if.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "base/log.h"
#include "base/secret.h"
#include "daemon/registry.h"
#include "host/hostid.h"
#include "tools/cli.h"
/* (after tools/cli.h: nvme/types.h must come before base/nvmf_spec.h) */
#include "host/tls_key.h"
#include "transport/transport.h"

const char *cli_prog = "nvmfuse";

void cli_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", cli_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void cli_fabrics_defaults(struct cli_fabrics *f)
{
	memset(f, 0, sizeof(*f));
	f->transport = "tcp";
	f->nr_io_queues = 1;
	f->queue_size = 128;
	f->kato_s = 5;
	f->timeout_ms = 10000;
	f->tos = -1;
}

int cli_default_io_queues(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 128 ? 128 : (int)n;	/* 128: the -i range */
}

static int cli_host_side_check(const struct cli_fabrics *f);

int cli_fabrics_finish(struct cli_fabrics *f, bool need_nqn)
{
	char err[256];

	if (!f->traddr) {
		cli_error("missing target address: use -a/--traddr");
		return -1;
	}
	if (need_nqn && !f->subnqn) {
		cli_error("missing subsystem NQN: use -n/--nqn");
		return -1;
	}

	if (!nvmf_transport_find(f->transport, err, sizeof(err))) {
		cli_error("%s", err);
		return -1;
	}
	if (f->tls_key && f->tls_key_identity) {
		cli_error("--tls-key-identity names a key in the keyring: not with --tls-key");
		return -1;
	}
	if ((f->tls || f->tls_key || f->tls_key_identity || f->keyring) &&
	    strcmp(f->transport, "tcp")) {
		cli_error("TLS (--tls, --tls-key, --keyring) is for -t tcp only");
		return -1;
	}
	if (cli_host_side_check(f) < 0)
		return -1;
	if (cli_secrets_from_env(f) < 0)
		return -1;
	return cli_identity(f);
}

/*
 * One secret from environment variable @name into *@dst when the command
 * line gave none; the variable is wiped and removed either way, so
 * nothing this process starts inherits it. 0, or -1 (out of memory).
 */
static int secret_from_env(const char *name, char **dst, const char *what)
{
	char *v = getenv(name);
	int rc = 0;

	if (!v)
		return 0;
	if (!*dst && *v) {
		*dst = nvmf_secret_strdup(v);
		if (!*dst) {
			cli_error("%s from %s: out of memory", what, name);
			rc = -1;
		}
	}
	explicit_bzero(v, strlen(v));
	unsetenv(name);
	return rc;
}

int cli_secrets_from_env(struct cli_fabrics *f)
{
	if (secret_from_env(CLI_ENV_DHCHAP_SECRET, &f->dhchap_secret, "--dhchap-secret") < 0 ||
	    secret_from_env(CLI_ENV_DHCHAP_CTRL_SECRET, &f->dhchap_ctrl_secret,
			    "--dhchap-ctrl-secret") < 0 ||
	    secret_from_env(CLI_ENV_TLS_KEY, &f->tls_key, "--tls-key") < 0)
		return -1;
	return 0;
}

/*
 * -w and -f, checked before a daemon is forked so that the command says
 * what is wrong: a numeric address, an interface that exists, and no
 * interface with RDMA (the kernel's RDMA host has none either).
 */
static int cli_host_side_check(const struct cli_fabrics *f)
{
	unsigned char buf[sizeof(struct in6_addr)];

	if (f->host_traddr && inet_pton(AF_INET, f->host_traddr, buf) != 1 &&
	    inet_pton(AF_INET6, f->host_traddr, buf) != 1) {
		cli_error("-w/--host-traddr '%s' is not an IPv4 or IPv6 address", f->host_traddr);
		return -1;
	}
	if (f->host_iface && strcmp(f->transport, "tcp")) {
		cli_error("-f/--host-iface is for -t tcp: RDMA picks the device by the source "
			  "address (-w/--host-traddr)");
		return -1;
	}
	if (f->host_iface && (strlen(f->host_iface) >= IF_NAMESIZE ||
			      !if_nametoindex(f->host_iface))) {
		cli_error("-f/--host-iface '%s': no such network interface", f->host_iface);
		return -1;
	}
	return 0;
}

int cli_identity(struct cli_fabrics *f)
{
	const struct nvmf_hostid_paths p = {
		.nqn_file = f->hostnqn_file,
		.id_file = f->hostid_file,
		.keep_dir = reg_rundir(),
	};
	const char *nqn_file = p.nqn_file ? p.nqn_file : NVMF_HOSTNQN_FILE;
	const char *id_file = p.id_file ? p.id_file : NVMF_HOSTID_FILE;
	struct nvmf_hostid h;
	char err[512];

	if (nvmf_hostid_resolve(f->hostnqn_arg, f->hostid_arg, &p, &h, err, sizeof(err)) < 0) {
		cli_error("%s", err);
		return -1;
	}
	if (f->save_identity) {
		if (nvmf_hostid_save(&h, &p, err, sizeof(err)) < 0) {
			cli_error("--save-identity: %s", err);
			nvmf_hostid_free(&h);
			return -1;
		}
		if (h.source != NVMF_HOSTID_FILES)
			fprintf(stderr, "%s: host NQN %s and host ID %s (from %s) saved in %s and %s\n",
				cli_prog, h.nqn, h.id, h.origin, nqn_file, id_file);
	} else if (h.source == NVMF_HOSTID_GENERATED || h.source == NVMF_HOSTID_KEPT) {
		/* Never a silent identity: say what it is, where it lives, how to keep it. */
		char kept[800];

		if (h.source == NVMF_HOSTID_KEPT)
			snprintf(kept, sizeof(kept), "generated earlier, kept in %s", h.origin);
		else if (h.kept)
			snprintf(kept, sizeof(kept), "generated from %s, kept in %s/identity for the "
				 "next commands of this run dir", h.origin, reg_rundir());
		else
			snprintf(kept, sizeof(kept), "generated from %s, not kept: %s", h.origin,
				 h.keep_err);
		fprintf(stderr, "%s: warning: no host identity from --hostnqn/--hostid, "
			"LIBNVME_HOSTNQN/LIBNVME_HOSTID, %s or %s: using host NQN %s, host ID %s (%s); "
			"--save-identity writes it to %s and %s\n", cli_prog, nqn_file, id_file, h.nqn,
			h.id, kept, nqn_file, id_file);
	}
	f->hostnqn = h.nqn;
	f->hostid = h.id;
	return 0;
}

int cli_need_io_queue(const struct cli_fabrics *f)
{
	if (f->nr_io_queues + f->nr_write_queues + f->nr_poll_queues > 0)
		return 0;
	cli_error("no I/O queue: --nr-io-queues 0 needs --nr-write-queues or --nr-poll-queues "
		  "1 or more");
	return -1;
}

void cli_fabrics_to_opts(const struct cli_fabrics *f, struct nvmf_ctrl_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->transport = f->transport;
	o->traddr = f->traddr;
	o->trsvcid = f->trsvcid;
	o->subnqn = f->subnqn;
	o->hostnqn = f->hostnqn;
	o->hostid = f->hostid;
	o->nr_io_queues = f->nr_io_queues;
	o->nr_write_queues = f->nr_write_queues;
	o->nr_poll_queues = f->nr_poll_queues;
	o->host_traddr = f->host_traddr;
	o->host_iface = f->host_iface;
	o->tos = f->tos;
	o->queue_size = f->queue_size;
	o->kato_s = f->kato_s;
	o->hdgst = f->hdgst;
	o->ddgst = f->ddgst;
	o->disable_sqflow = f->disable_sqflow;
	o->dhchap_secret = f->dhchap_secret;
	o->dhchap_ctrl_secret = f->dhchap_ctrl_secret;
	o->timeout_ms = f->timeout_ms;
	o->tls = f->tls || f->tls_key || f->tls_key_identity || f->keyring;
	o->tls_key = f->tls_key;
	o->keyring = f->keyring;
	o->tls_key_identity = f->tls_key_identity;
	o->tls_compat = f->tls_compat;
}

/*
 * A secret given on the command line (-S, -C, --tls-key KEY): a copy, and
 * the argument wiped so that ps and /proc/PID/cmdline do not show it. The
 * same argv may be parsed again (connect-all and discover once per
 * discovery.conf line): an argument wiped before gives the copy kept then.
 * Both copies live in memory kept out of core dumps (base/secret.h); the
 * one returned goes back with cli_secret_free(). NULL when out of memory.
 */
#define CLI_SECRETS_MAX 8

static char *take_secret(const char *arg)
{
	static struct {
		const char *arg;
		char *value;
	} taken[CLI_SECRETS_MAX];
	char *copy;

	for (int i = 0; i < CLI_SECRETS_MAX; i++)
		if (taken[i].arg == arg)
			return nvmf_secret_strdup(taken[i].value);
	copy = nvmf_secret_strdup(arg);
	for (int i = 0; copy && i < CLI_SECRETS_MAX; i++) {
		if (taken[i].arg)
			continue;
		taken[i].value = nvmf_secret_strdup(arg);
		if (!taken[i].value)
			break;
		taken[i].arg = arg;
		explicit_bzero((char *)arg, strlen(arg));
		break;
	}
	return copy;
}

/*
 * --tls-key: an NVMeTLSkey-1 string, or the path of a file holding one
 * (mode 0600 or stricter). The argument is wiped from the command line
 * (ps, /proc/PID/cmdline: the daemons this process forks keep it).
 */
static int cli_tls_key(struct cli_fabrics *f, const char *arg)
{
	char buf[256], err[512];

	cli_secret_free(&f->tls_key);
	/* A wiped argument (a second parse) is all zeroes: take_secret knows it. */
	if (!*arg || !strncmp(arg, NVMF_TLS_KEY_PREFIX, strlen(NVMF_TLS_KEY_PREFIX))) {
		f->tls_key = take_secret(arg);
	} else {
		if (nvmf_tls_key_read_file(arg, buf, sizeof(buf), err, sizeof(err)) < 0) {
			cli_error("--tls-key: %s", err);
			return -1;
		}
		f->tls_key = nvmf_secret_strdup(buf);
		explicit_bzero(buf, sizeof(buf));
	}
	if (!f->tls_key) {
		cli_error("--tls-key: out of memory");
		return -1;
	}
	return 1;
}

void cli_secret_free(char **s)
{
	nvmf_secret_free(*s);	/* wipes it */
	*s = NULL;
}

void cli_fabrics_free(struct cli_fabrics *f)
{
	cli_secret_free(&f->dhchap_secret);
	cli_secret_free(&f->dhchap_ctrl_secret);
	free(f->hostnqn);
	free(f->hostid);
	f->hostnqn = f->hostid = NULL;
	cli_secret_free(&f->tls_key);
}

int cli_no_more_args(int argc, char **argv, int optind_)
{
	if (optind_ < argc) {
		cli_error("unexpected argument '%s'", argv[optind_]);
		return -1;
	}
	return 0;
}

int cli_check_format(const char *fmt)
{
	if (strcmp(fmt, "normal") && strcmp(fmt, "json")) {
		cli_error("invalid output format '%s': use normal or json", fmt);
		return -1;
	}
	return 0;
}

int cli_parse_int(const char *s, const char *what, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		cli_error("invalid %s '%s': expected a whole number from %lld to %lld",
			  what, s, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

int cli_parse_size(const char *s, const char *what, uint64_t *out)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end == 'k' || *end == 'K')
		shift = 10;
	else if (*end == 'm' || *end == 'M')
		shift = 20;
	else if (*end == 'g' || *end == 'G')
		shift = 30;
	if (shift)
		end++;
	if (errno || end == s || *end || s[0] == '-' || v == 0 || (v << shift) >> shift != v) {
		cli_error("invalid %s '%s': expected a positive size like 4096, 4k or 1m", what, s);
		return -1;
	}
	*out = (uint64_t)v << shift;
	return 0;
}

int cli_run_dir(const char *dir)
{
	if (dir[0] != '/') {
		cli_error("--run-dir: '%s' is not an absolute path", dir);
		return -1;
	}
	if (setenv("NVMFUSE_RUNDIR", dir, 1) < 0) {
		cli_error("--run-dir: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int cli_ctrl_info(const char *name, int timeout_ms, struct json_object **reply,
		  struct json_object **ctrl)
{
	struct nvmf_ctl_request rq = { .op = NVMF_CTL_INFO };
	char err[512];
	int rc;

	*reply = *ctrl = NULL;
	rc = reg_call(name, &rq, reply, timeout_ms, err, sizeof(err));
	if (rc == -ENOENT || rc == -ECONNREFUSED)
		return 1;
	if (rc == -EACCES || rc == -EPERM) {
		/* Not "no controllers": there is one, this caller may not ask it. */
		cli_error("%s: no access to its control socket in %s (%s): run as root",
			  name, reg_rundir(), strerror(-rc));
		return -1;
	}
	if (rc < 0) {
		cli_error("%s: %s", name, err);
		return -1;
	}
	if (!json_object_object_get_ex(*reply, "controller", ctrl) ||
	    !json_object_is_type(*ctrl, json_type_object)) {
		cli_error("%s: its info reply has no controller object", name);
		json_object_put(*reply);
		*reply = *ctrl = NULL;
		return -1;
	}
	return 0;
}

const char *cli_json_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string) ?
	       json_object_get_string(v) : "";
}

void json_str(FILE *f, const char *s)
{
	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

int cli_fabrics_opt(struct cli_fabrics *f, int opt, const char *arg)
{
	long long v;

	switch (opt) {
	case 't':
		f->transport = arg;
		return 1;
	case 'a':
		f->traddr = arg;
		return 1;
	case 's':
		f->trsvcid = arg;
		return 1;
	case 'n':
		f->subnqn = arg;
		return 1;
	case 'q':
	case OPT_HOSTNQN:
		f->hostnqn_arg = arg;
		return 1;
	case 'I':
		f->hostid_arg = arg;
		return 1;
	case 'S':
	case 'C': {
		char **dst = opt == 'S' ? &f->dhchap_secret : &f->dhchap_ctrl_secret;

		cli_secret_free(dst);
		*dst = take_secret(arg);
		if (!*dst) {
			cli_error("out of memory");
			return -1;
		}
		return 1;
	}
	case OPT_SAVE_IDENTITY:
		f->save_identity = true;
		return 1;
	case OPT_HOSTNQN_FILE:
		f->hostnqn_file = arg;
		return 1;
	case OPT_HOSTID_FILE:
		f->hostid_file = arg;
		return 1;
	case 'i':
		if (cli_parse_int(arg, "--nr-io-queues", 0, 128, &v) < 0)
			return -1;
		f->nr_io_queues = (int)v;
		return 1;
	case 'P':
		if (cli_parse_int(arg, "--nr-poll-queues", 0, 128, &v) < 0)
			return -1;
		f->nr_poll_queues = (int)v;
		return 1;
	case 'Q':
		if (cli_parse_int(arg, "--queue-size", 2, 1024, &v) < 0)
			return -1;
		f->queue_size = (int)v;
		return 1;
	case 'k':
		if (cli_parse_int(arg, "--keep-alive-tmo", 0, 3600, &v) < 0)
			return -1;
		f->kato_s = (int)v;
		return 1;
	case 'g':
		f->hdgst = true;
		return 1;
	case 'G':
		f->ddgst = true;
		return 1;
	case OPT_DISABLE_SQFLOW:
		f->disable_sqflow = true;
		return 1;
	case OPT_TIMEOUT:
		if (cli_parse_int(arg, "--timeout", 1, 600, &v) < 0)
			return -1;
		f->timeout_ms = (int)v * 1000;
		return 1;
	case OPT_TLS:
		f->tls = true;
		return 1;
	case OPT_TLS_KEY:
		return cli_tls_key(f, arg);
	case OPT_KEYRING:
		f->keyring = arg;
		return 1;
	case OPT_TLS_KEY_IDENTITY:
		if (nvmf_tls_identity_hash(arg) < 0) {
			cli_error("--tls-key-identity '%s' is not an NVMe PSK identity "
				  "(NVMe0R01 HOSTNQN SUBNQN and the like)", arg);
			return -1;
		}
		f->tls_key_identity = arg;
		return 1;
	case OPT_TLS_COMPAT:
		f->tls_compat = true;
		return 1;
	}
	return 0;
}

int cli_host_opt(struct cli_fabrics *f, int opt, const char *arg)
{
	long long v;

	switch (opt) {
	case 'w':
		f->host_traddr = arg;
		return 1;
	case 'f':
		f->host_iface = arg;
		return 1;
	case 'T':
		return cli_parse_tos(arg, &f->tos) < 0 ? -1 : 1;
	case 'W':
		if (cli_parse_int(arg, "--nr-write-queues", 0, 128, &v) < 0)
			return -1;
		f->nr_write_queues = (int)v;
		return 1;
	case 'D':
		f->duplicate_connect = true;
		return 1;
	case OPT_CONTEXT:
		f->context = arg;
		return 1;
	case OPT_CONCAT:
		cli_error("--concat (TLS over a channel DH-HMAC-CHAP set up) is not supported: "
			  "use --tls with a configured PSK");
		return -1;
	case 'v':
		cli_more_verbose();
		return 1;
	}
	return 0;
}

void cli_more_verbose(void)
{
	enum nvmf_log_level l = nvmf_log_get_level();

	if (l < NVMF_LOG_DEBUG)
		nvmf_log_set_level((enum nvmf_log_level)(l + 1));
}

int cli_parse_tos(const char *arg, int *out)
{
	long long v;

	/* The kernel host: -1 leaves it, 0..255 is the byte (IPv4 TOS, IPv6 class). */
	if (cli_parse_int(arg, "-T/--tos", -1, 255, &v) < 0)
		return -1;
	*out = (int)v;
	return 0;
}

void cli_disc_defaults(struct cli_disc *d)
{
	memset(d, 0, sizeof(*d));
	d->nbft_path = NVMF_NBFT_PATH;
}

int cli_disc_opt(struct cli_disc *d, int opt, const char *arg)
{
	switch (opt) {
	case 'r':
		d->raw = arg;
		return 1;
	case OPT_QUIET:
		d->quiet = true;
		return 1;
	case OPT_FORCE:
		/*
		 * nvme-cli: do not reuse an existing persistent discovery
		 * controller. nvmfuse never reuses one: each discover and
		 * connect-all opens its own association, so this is what it does.
		 */
		return 1;
	case OPT_NBFT:
		d->nbft_only = true;
		return 1;
	case OPT_NO_NBFT:
		d->no_nbft = true;
		return 1;
	case OPT_NBFT_PATH:
		d->nbft_path = arg;
		d->nbft_path_set = true;
		return 1;
	}
	return 0;
}

int cli_nbft_count(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "NBFT", 4))
			n++;
	closedir(d);
	return n;
}

int cli_disc_nbft(const struct cli_disc *d)
{
	char what[600];
	int n;

	if (d->nbft_only && d->no_nbft) {
		cli_error("--nbft and --no-nbft contradict each other");
		return -1;
	}
	if (!d->nbft_only && (!d->nbft_path_set || d->no_nbft))
		return 0;	/* nvmfuse reads no NBFT: nothing to say */
	n = cli_nbft_count(d->nbft_path);
	if (n <= 0)
		snprintf(what, sizeof(what), "no NBFT on this system (no NBFT table in %s%s%s)",
			 d->nbft_path, n < 0 ? ": " : "", n < 0 ? strerror(-n) : "");
	else
		snprintf(what, sizeof(what), "%d NBFT table(s) in %s, but nvmfuse does not read "
			 "NBFT: use -a/--traddr or %s", n, d->nbft_path, NVMF_DISCOVERY_CONF);
	if (d->nbft_only) {
		cli_error("--nbft: %s", what);
		return -1;
	}
	fprintf(stderr, "%s: note: --nbft-path: %s\n", cli_prog, what);
	return 0;
}

int cli_save_raw_log(const char *path, const struct nvmf_discovery_log *log, uint64_t n)
{
	size_t len = offsetof(struct nvmf_discovery_log, entries) +
		     (size_t)n * sizeof(struct nvmf_disc_log_entry);
	const uint8_t *p = (const uint8_t *)log;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0) {
		cli_error("-r/--raw: cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			cli_error("-r/--raw: cannot write %s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	if (close(fd) < 0) {
		cli_error("-r/--raw: cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int cli_log_format(const char *arg)
{
	enum nvmf_log_format lf;

	if (nvmf_log_parse_format(arg, &lf) < 0) {
		cli_error("--log-format: '%s' is neither text nor json", arg);
		return -1;
	}
	nvmf_log_set_format(lf);	/* inherited by the daemons this process forks */
	return 0;
}

/*
 * One line of discovery.conf as arguments after the command line's
 * (@argc/@argv, the command name first), so the line's options win.
 * Tokens split on blanks, as nvme-cli does; at most 64 of them. Returns
 * the new argc, with @out (free it, not its strings: they point into
 * @line and @argv), or -1 after printing the error.
 */
#define DISC_CONF_ARGS_MAX 64

static int conf_line_args(int argc, char **argv, char *line, const char *where, char ***out)
{
	char **v = calloc((size_t)argc + DISC_CONF_ARGS_MAX + 1, sizeof(*v));
	int n = 0;

	if (!v) {
		cli_error("out of memory");
		return -1;
	}
	for (int i = 0; i < argc; i++)
		v[n++] = argv[i];
	for (char *save = NULL, *t = strtok_r(line, " \t\r\n", &save); t;
	     t = strtok_r(NULL, " \t\r\n", &save)) {
		if (n - argc >= DISC_CONF_ARGS_MAX) {
			cli_error("%s: more than %d arguments", where, DISC_CONF_ARGS_MAX);
			free(v);
			return -1;
		}
		v[n++] = t;
	}
	*out = v;
	return n;
}

int cli_discovery_conf(int argc, char **argv,
		       int (*fn)(int argc, char **argv, const char *where, void *arg), void *arg)
{
	const char *path = NVMF_DISCOVERY_CONF;
	FILE *f = fopen(path, "re");
	char line[4096], where[sizeof(NVMF_DISCOVERY_CONF) + 16];
	int lineno = 0, lines = 0, failed = 0;

	if (!f) {
		cli_error("missing target address: use -a/--traddr, or list discovery controllers "
			  "in %s (%s)", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char **v, *p = line + strspn(line, " \t");
		int n;

		lineno++;
		snprintf(where, sizeof(where), "%s:%d", path, lineno);
		if (!strchr(line, '\n') && !feof(f)) {
			cli_error("%s: line longer than %zu bytes", where, sizeof(line) - 2);
			failed++;
			break;
		}
		if (*p == '#' || *p == '\n' || !*p)
			continue;
		n = conf_line_args(argc, argv, p, where, &v);
		if (n < 0) {
			failed++;
			continue;
		}
		optind = 0;	/* getopt afresh over this argument list */
		if (fn(n, v, where, arg) < 0)
			failed++;
		else
			lines++;
		free(v);
	}
	fclose(f);
	if (!lines && !failed) {
		cli_error("%s lists no discovery controller", path);
		return -1;
	}
	return failed;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int cli_parse_hex(const char *arg, const char *opt, uint8_t *out, size_t len)
{
	size_t n = strlen(arg);

	if (n != len * 2) {
		cli_error("%s has %zu hex digits; a %zu-byte key needs %zu", opt, n, len, len * 2);
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		int hi = hexval(arg[2 * i]), lo = hexval(arg[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			cli_error("%s: not hexadecimal at digit %zu", opt, 2 * i + (hi < 0 ? 1 : 2));
			return -1;
		}
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	explicit_bzero((char *)arg, n);	/* off the command line */
	return 0;
}

void cli_bad_option(const char *cmd, const char *shortopts, char **argv)
{
	const char *tok = optind > 0 ? argv[optind - 1] : "";

	if (!optopt)	/* a long option getopt does not know (or an ambiguous prefix) */
		cli_error("unrecognized option '%s' ('nvmfuse %s --help' lists them)", tok, cmd);
	else if (!strncmp(tok, "--", 2))
		cli_error("option '%s' needs an argument", tok);
	else if (optopt < 256 && strchr(shortopts, optopt))
		cli_error("option -%c needs an argument", optopt);
	else
		cli_error("unrecognized option '-%c' ('nvmfuse %s --help' lists them)", optopt, cmd);
}

/* The long option @arg ("--name" or "--name=value") names, resolved as getopt does. */
static const struct option *long_of(const char *arg, const struct option *longopts)
{
	size_t n = strcspn(arg + 2, "=");
	const struct option *hit = NULL;

	for (const struct option *o = longopts; o && o->name; o++) {
		if (strncmp(o->name, arg + 2, n))
			continue;
		if (strlen(o->name) == n)
			return o;		/* exact */
		if (hit && (hit->has_arg != o->has_arg || hit->flag != o->flag ||
			    hit->val != o->val))
			return NULL;		/* ambiguous: getopt refuses it */
		hit = hit ? hit : o;
	}
	return hit;
}

static bool name_in(const char *name, const char *const *list)
{
	for (int i = 0; list && list[i]; i++)
		if (!strcmp(name, list[i]))
			return true;
	return false;
}

void cli_argv_free(char **v)
{
	for (int i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

char **cli_argv_public(int argc, char **argv, const char *shortopts,
		       const struct option *longopts, const char *drop_short,
		       const char *const *drop_long)
{
	static const char *const secret_long[] = {
		"dhchap-secret", "dhchap-ctrl-secret", "tls-key", "tls_key", NULL
	};
	static const char secret_short[] = "SC";
	char **v = calloc((size_t)argc + 1, sizeof(*v));
	int n = 0;
	bool oom = !v;

	for (int i = 1; !oom && i < argc; i++) {
		const char *arg = argv[i];

		if (!strcmp(arg, "--")) {	/* the rest is operands */
			for (; !oom && i < argc; i++)
				oom = !(v[n++] = strdup(argv[i]));
			break;
		}
		if (!strncmp(arg, "--", 2)) {
			const struct option *o = long_of(arg, longopts);
			bool drop = o && (name_in(o->name, secret_long) ||
					  name_in(o->name, drop_long));
			bool sep = o && o->has_arg == required_argument && !strchr(arg, '=') &&
				   i + 1 < argc;

			if (!drop)
				oom = !(v[n++] = strdup(arg));
			if (sep) {
				i++;
				if (!drop && !oom)
					oom = !(v[n++] = strdup(argv[i]));
			}
			continue;
		}
		if (arg[0] != '-' || !arg[1]) {		/* an operand, or "-" */
			oom = !(v[n++] = strdup(arg));
			continue;
		}
		/* A bundle of short options: keep the letters not dropped. */
		char *keep = calloc(strlen(arg) + 1, 1);
		size_t k = 0;
		const char *value = NULL;	/* the separate value of the last letter */
		bool value_dropped = false;

		if (!keep) {
			oom = true;
			break;
		}
		keep[k++] = '-';
		for (size_t j = 1; arg[j]; j++) {
			const char *p = arg[j] != ':' ? strchr(shortopts, arg[j]) : NULL;
			bool takes = p && p[1] == ':';
			bool drop = strchr(secret_short, arg[j]) ||
				    (drop_short && strchr(drop_short, arg[j]));

			if (!drop)
				keep[k++] = arg[j];
			if (!takes)
				continue;
			if (arg[j + 1]) {		/* -oVALUE: the rest is the value */
				if (!drop)
					for (j++; arg[j]; j++)
						keep[k++] = arg[j];
			} else if (i + 1 < argc) {	/* -o VALUE */
				value = argv[++i];
				value_dropped = drop;
			}
			break;
		}
		if (k > 1)
			v[n++] = keep;
		else
			free(keep);
		if (value && !value_dropped)
			oom = !(v[n++] = strdup(value));
	}
	if (oom) {
		cli_argv_free(v);
		return NULL;
	}
	return v;
}
