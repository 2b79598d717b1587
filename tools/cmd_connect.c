/* SPDX-License-Identifier: MIT */
/*
 * nvmfuse connect / connect-all: parse the options and start a controller
 * service (daemon/service.h) in a daemon process of its own, one per
 * controller, so a slow or dead target never blocks another. The command
 * returns only once the controller is live with its devices, and exits
 * non-zero with the cause when it is not; its wait is bounded.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nvme/fabrics.h>

#include <json-c/json.h>

#include "base/log.h"
#include "base/secret.h"
#include "cuse/cuse.h"
#include "daemon/pdisc.h"
#include "daemon/registry.h"
#include "daemon/service.h"
#include "host/mpath.h"
#include "host/nvmf.h"
#include "tools/cli.h"
#include "tools/cli_config.h"
#include "tools/cli_devauth.h"

int cli_fetch_discovery(struct cli_fabrics *f, struct nvmf_discovery_log **log, uint64_t *n);

struct connect_args {
	struct cli_fabrics f;
	bool no_cuse;
	bool no_ublk;
	bool foreground;
	int instance;
	struct cuse_opts cuse;		/* node mode and owner */
	int reconnect_delay;		/* -c, seconds */
	int ctrl_loss_tmo;		/* -l, seconds; -1 forever, 0 no reconnect */
	int fast_io_fail_tmo;		/* -F, seconds; -1 off */
	bool json;			/* -o json: {"device":"nvmeN"} on success */
	struct cli_config conf;		/* -J, -O (tools/cli_config.h) */
	bool quiet;			/* no summary line on success (discover -p -o json) */
	bool persistent;		/* -p (connect-all): a persistent discovery daemon */
	bool keep_removed;		/* --keep-removed: with -p */
	/* With -p: the connect command it runs per new subsystem (daemon/pdisc.h). */
	char **pdisc_argv;
	/* With -p: its secrets as NAME=VALUE (out of core dumps), for the environment. */
	char **pdisc_env;
	struct cli_disc disc;		/* connect-all: -r, --quiet, --nbft... */
	const char *iopolicy;		/* --iopolicy, NULL: numa (or unchanged) */
};

/* Options of this file only, after tools/cli.h's. */
enum {
	OPT_DEV_MODE = 1024,
	OPT_DEV_OWNER,
	OPT_DEV_GROUP,
	OPT_LOG_FORMAT,
	OPT_KEEP_REMOVED,
	OPT_IOPOLICY,
};

/* Run the controller service in this process with @a's options. */
static int run_controller(const struct connect_args *a, int report_fd)
{
	struct nvmf_service_opts o = {
		.no_cuse = a->no_cuse,
		.no_ublk = a->no_ublk,
		.instance = a->instance,
		.cuse = a->cuse,
		.reconnect_delay = a->reconnect_delay,
		.ctrl_loss_tmo = a->ctrl_loss_tmo,
		.fast_io_fail_tmo = a->fast_io_fail_tmo,
		.context = a->f.context,
		.iopolicy = NVMF_IOPOLICY_NUMA,
		.prog = cli_prog,
		.log_file = report_fd >= 0,	/* a daemon: RUNDIR/nvmeN.log */
	};

	cli_fabrics_to_opts(&a->f, &o.ctrl);
	if (a->iopolicy) {
		enum nvmf_iopolicy pol;

		(void)nvmf_iopolicy_parse(a->iopolicy, &pol);	/* checked by the parser */
		o.iopolicy = (int)pol;
	}
	return nvmf_service_run(&o, report_fd);
}

/* Read from @fd into @buf until end of file or @cap bytes. Returns the count. */
static size_t read_full(int fd, void *buf, size_t cap)
{
	size_t got = 0;

	while (got < cap) {
		ssize_t n = read(fd, (uint8_t *)buf + got, cap - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

/*
 * How long `connect` waits for the daemon's verdict. Every step of the
 * association setup is bounded by --timeout; this is the net under them
 * (and under device creation), so the command itself never hangs.
 */
static int report_wait_ms(const struct connect_args *a)
{
	int per = a->f.timeout_ms > 0 ? a->f.timeout_ms : 10000;
	int n = a->f.nr_io_queues + a->f.nr_write_queues + a->f.nr_poll_queues > 0 ?
		a->f.nr_io_queues + a->f.nr_write_queues + a->f.nr_poll_queues : 1;

	return per * (6 + n) + 30000;
}

/*
 * Read the daemon's report ("PID n", "LOG path", "WARN ..." lines, then "OK ..." or
 * "ERR ...") from @fd until end of file or @ms pass. Returns the bytes read into @buf (NUL
 * terminated), and whether it ended by timeout in *@late.
 */
static size_t read_report(int fd, char *buf, size_t cap, int ms, bool *late)
{
	uint64_t deadline = nvmf_now_ns() + (uint64_t)ms * 1000000ull;
	size_t got = 0;

	*late = false;
	while (got < cap - 1) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		uint64_t now = nvmf_now_ns();
		ssize_t n;

		if (now >= deadline) {
			*late = true;
			break;
		}
		if (poll(&pfd, 1, (int)((deadline - now) / 1000000) + 1) <= 0)
			continue;
		n = read(fd, buf + got, cap - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = 0;
	return got;
}

/* The persistent discovery daemon of @a's discovery controller (daemon/pdisc.h). */
static int run_pdisc(const struct connect_args *a, int report_fd)
{
	static char exe[4096];
	struct nvmf_pdisc_opts o = {
		.reconnect_delay = a->reconnect_delay,
		.ctrl_loss_tmo = a->ctrl_loss_tmo,
		.keep_removed = a->keep_removed,
		.connect_argv = a->pdisc_argv,
		.connect_env = a->pdisc_env,
		.log_file = report_fd >= 0,
		.prog = cli_prog,
	};
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	cli_fabrics_to_opts(&a->f, &o.ctrl);
	o.ctrl.subnqn = NVME_DISC_SUBSYS_NAME;
	o.ctrl.nr_io_queues = 0;
	o.ctrl.nr_poll_queues = 0;
	o.ctrl.kato_s = PDISC_KATO_S;
	if (a->pdisc_argv) {
		if (n <= 0)
			return 1;
		exe[n] = 0;
		o.connect_exe = exe;
	}
	return nvmf_pdisc_run(&o, report_fd);
}

/* Fork a daemon for one controller and wait for its verdict, bounded. */
static int spawn_daemon(struct connect_args *a,
			int (*run)(const struct connect_args *a, int report_fd))
{
	char buf[4096], logpath[600] = "";
	const char *verdict = NULL;
	int pfd[2], status, daemon_pid = 0;
	bool late;
	pid_t pid;

	fflush(NULL);
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		cli_error("pipe: %s", strerror(errno));
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		cli_error("fork: %s", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		close(pfd[0]);
		setsid();
		/* Grandchild: the daemon is not our child's child of a shell job. */
		pid = fork();
		if (pid != 0)
			_exit(pid < 0 ? 1 : 0);
		/*
		 * Standard error goes to the daemon's own log once it has a
		 * name (service.h); until then its failures go to the pipe.
		 */
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		_exit(run(a, pfd[1]));
	}
	close(pfd[1]);
	waitpid(pid, &status, 0);
	read_report(pfd[0], buf, sizeof(buf), report_wait_ms(a), &late);
	close(pfd[0]);
	/*
	 * One item a line; the last line that is neither PID, LOG nor WARN is
	 * the verdict. Warnings (a disk not recovered, ...) come before it.
	 */
	for (char *line = buf, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		if (!strncmp(line, "PID ", 4))
			sscanf(line + 4, "%d", &daemon_pid);
		else if (!strncmp(line, "LOG ", 4))
			snprintf(logpath, sizeof(logpath), "%s", line + 4);
		else if (!strncmp(line, "WARN ", 5))
			fprintf(stderr, "%s: warning: %s\n", cli_prog, line + 5);
		else
			verdict = line;
	}
	if (!verdict)
		verdict = "";
	if (!logpath[0])
		snprintf(logpath, sizeof(logpath), "%s/nvmeN.log", reg_rundir());
	if (!strncmp(verdict, "OK ", 3)) {
		if (a->json) {
			/* nvme-cli's connect -o json: the controller's name only. */
			struct json_object *o = json_object_new_object();
			size_t len = strcspn(verdict + 3, ":");

			json_object_object_add(o, "device",
					       json_object_new_string_len(verdict + 3, (int)len));
			printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
			json_object_put(o);
		} else if (!a->quiet) {
			printf("%s\n", verdict + 3);
		}
		return 0;
	}
	if (!strncmp(verdict, "ERR ", 4)) {
		cli_error("%s", verdict + 4);
	} else if (late) {
		cli_error("no report from the controller daemon (pid %d) within %d s: stopped it "
			  "(see %s)", daemon_pid, report_wait_ms(a) / 1000, logpath);
		if (daemon_pid > 0)
			kill(daemon_pid, SIGTERM);	/* it cancels and cleans up */
	} else {
		cli_error("the controller daemon exited before reporting (see %s)", logpath);
	}
	return 1;
}

static int spawn_controller(struct connect_args *a)
{
	return spawn_daemon(a, run_controller);
}

/* Does JSON object @o have string member @key equal to @want? */
static bool json_str_eq(struct json_object *o, const char *key, const char *want)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string) &&
	       want && !strcmp(json_object_get_string(v), want);
}

/* As json_str_eq(), where NULL, "", a null member and no member all mean "none". */
static bool json_opt_eq(struct json_object *o, const char *key, const char *want)
{
	struct json_object *v;
	const char *have = json_object_object_get_ex(o, key, &v) &&
			   json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";

	return !strcmp(have, want ? want : "");
}

/*
 * A daemon serving @f's subsystem: with @anywhere, the one for the same
 * host at any address that is live (a daemon still on its first connect
 * cannot take a path yet), for a new path; else one at @f's very address,
 * live or still connecting (@name then gets " (still connecting)"). Its
 * name in @name; false when there is none.
 * nvme-cli's test for the very address: another -w or -f is another path,
 * not a duplicate.
 */
static bool find_daemon(const struct cli_fabrics *f, bool anywhere, char *name, size_t len)
{
	char **names;
	bool found = false;
	int n;

	if (reg_names(&names, &n) < 0)
		return false;
	for (int i = 0; i < n && !found; i++) {
		struct json_object *reply, *c;
		bool connecting;

		/* A daemon that cannot answer was named on stderr; it is not a match. */
		if (cli_ctrl_info(names[i], 2000, &reply, &c))
			continue;
		connecting = json_str_eq(c, "state", "connecting");
		/* Field by field (json-c): key order and escaping do not matter. */
		if (!json_str_eq(c, "subnqn", f->subnqn))
			found = false;
		else if (anywhere)
			found = json_str_eq(c, "hostnqn", f->hostnqn) && !connecting;
		else
			found = json_str_eq(c, "transport", f->transport) &&
				json_str_eq(c, "traddr", f->traddr) &&
				json_str_eq(c, "trsvcid", f->trsvcid ? f->trsvcid : "4420") &&
				json_opt_eq(c, "host_traddr", f->host_traddr) &&
				json_opt_eq(c, "host_iface", f->host_iface);
		if (found)
			snprintf(name, len, "%s%s", names[i],
				 !anywhere && connecting ? " (still connecting)" : "");
		json_object_put(reply);
	}
	reg_names_free(names, n);
	return found;
}

static bool already_connected(const struct cli_fabrics *f, char *name, size_t len)
{
	return find_daemon(f, false, name, len);
}

/*
 * Multipath (host/mpath.h): ask daemon @name to add @a's address as a
 * path to its subsystem. The daemon connects with its own host identity
 * and options; @a's other options are not used. Returns the exit status.
 */
static int add_path(const struct connect_args *a, const char *name)
{
	struct nvmf_ctl_request rq = { .op = NVMF_CTL_ADD_PATH };
	struct json_object *reply, *v, *node;
	char err[1100];
	int rc;

	snprintf(rq.transport, sizeof(rq.transport), "%s", a->f.transport);
	snprintf(rq.traddr, sizeof(rq.traddr), "%s", a->f.traddr);
	snprintf(rq.trsvcid, sizeof(rq.trsvcid), "%s", a->f.trsvcid ? a->f.trsvcid : "4420");
	snprintf(rq.host_traddr, sizeof(rq.host_traddr), "%s",
		 a->f.host_traddr ? a->f.host_traddr : "");
	snprintf(rq.host_iface, sizeof(rq.host_iface), "%s", a->f.host_iface ? a->f.host_iface : "");
	rq.tos = a->f.tos;
	if (a->iopolicy)
		snprintf(rq.iopolicy, sizeof(rq.iopolicy), "%s", a->iopolicy);
	rc = reg_call(name, &rq, &reply, report_wait_ms(a), err, sizeof(err));
	if (rc < 0) {
		cli_error("%s: %s", name, err);
		return 1;
	}
	v = json_object_object_get(reply, "path");
	node = json_object_object_get(reply, "device");
	if (a->json)
		printf("{\"device\":\"%s\",\"path\":\"%s\"}\n", name,
		       v ? json_object_get_string(v) : "");
	else
		printf("%s: path %s to %s at %s %s:%s added%s%s\n", name,
		       v ? json_object_get_string(v) : "?", a->f.subnqn, a->f.transport,
		       a->f.traddr, rq.trsvcid, node ? ": " : "",
		       node ? json_object_get_string(node) : "");
	json_object_put(reply);
	return 0;
}

/*
 * A controller for @a: a new path of the daemon that serves its
 * subsystem already (unless -D), else a daemon of its own.
 */
static int connect_one(struct connect_args *a)
{
	char name[REG_NAME_MAX + 1];

	if (!a->f.duplicate_connect && !a->foreground && find_daemon(&a->f, true, name, sizeof(name)))
		return add_path(a, name);
	return a->foreground ? run_controller(a, -1) : spawn_controller(a);
}

static void usage(FILE *out, bool all)
{
	fprintf(out,
		"usage: nvmfuse %s -t tcp|rdma -a TRADDR [-s TRSVCID] %s\n"
		"         [-q HOSTNQN] [-I HOSTID] [-i NR_IO_QUEUES] [-P NR_POLL_QUEUES]\n"
		"         [-Q QUEUE_SIZE] [-k KATO_SECONDS] [-c RECONNECT_DELAY] [-l CTRL_LOSS_TMO]\n"
		"         [-F|--fast_io_fail_tmo|--fast-io-fail-tmo SECONDS]\n"
		"         [-g] [-G] [%s--disable-sqflow]\n"
		CLI_HOST_USAGE
		"%s"
		"         [--no-cuse] [--no-ublk] [--foreground] [--instance N] [--timeout SECONDS]\n"
		"         [--run-dir DIR]\n"
		CLI_IDENTITY_USAGE
		CLI_DHCHAP_USAGE
		"         [--dev-mode OCTAL] [--dev-owner USER] [--dev-group GROUP]\n"
		"         [--log-format text|json] [-o normal|json]\n"
		CLI_CONFIG_USAGE
		"         [--iopolicy numa|round-robin|queue-depth]\n"
		CLI_DEVAUTH_USAGE,
		all ? "connect-all" : "connect", all ? "[-n DISCOVERY_NQN]" : "-n SUBNQN",
		all ? "" : "-d|",
		all ? CLI_DISC_USAGE "         [-p|--persistent] [--keep-removed]\n" : "");
}

/*
 * --dev-owner/--dev-group: a user or group name, or a number. Returns 0 or
 * -1 after printing the error.
 */
static int parse_id(const char *arg, const char *opt, bool group, unsigned int *out)
{
	_Static_assert(sizeof(uid_t) == sizeof(unsigned int) &&
		       sizeof(gid_t) == sizeof(unsigned int), "uid_t/gid_t are unsigned int");
	struct passwd *pw = group ? NULL : getpwnam(arg);
	struct group *gr = group ? getgrnam(arg) : NULL;
	long long v;

	if (pw || gr) {
		*out = pw ? pw->pw_uid : gr->gr_gid;
		return 0;
	}
	if (cli_parse_int(arg, opt, 0, 0x7fffffff, &v) < 0)
		return -1;
	*out = (unsigned int)v;
	return 0;
}

/* The options of connect, then connect-all's (nvme-cli's discovery options) too. */
#define CONNECT_LONGOPTS \
		CLI_FABRICS_LONGOPTS, \
		CLI_HOST_LONGOPTS, \
		{ "nqn", required_argument, NULL, 'n' }, \
		{ "hostnqn", required_argument, NULL, 'q' }, \
		{ "queue-size", required_argument, NULL, 'Q' }, \
		{ "keep-alive-tmo", required_argument, NULL, 'k' }, \
		{ "no-cuse", no_argument, NULL, OPT_NO_CUSE }, \
		{ "no-ublk", no_argument, NULL, OPT_NO_UBLK }, \
		{ "foreground", no_argument, NULL, OPT_FOREGROUND }, \
		{ "instance", required_argument, NULL, OPT_INSTANCE }, \
		CLI_RUN_DIR_LONGOPT, \
		{ "dev-mode", required_argument, NULL, OPT_DEV_MODE }, \
		{ "dev-owner", required_argument, NULL, OPT_DEV_OWNER }, \
		{ "dev-group", required_argument, NULL, OPT_DEV_GROUP }, \
		CLI_DEVAUTH_LONGOPTS, \
		{ "reconnect-delay", required_argument, NULL, 'c' }, \
		{ "ctrl-loss-tmo", required_argument, NULL, 'l' }, \
		{ "log-format", required_argument, NULL, OPT_LOG_FORMAT }, \
		{ "output-format", required_argument, NULL, 'o' }, \
		{ "iopolicy", required_argument, NULL, OPT_IOPOLICY }, \
		CLI_CONFIG_LONGOPTS, \
		{ "persistent", no_argument, NULL, 'p' }, \
		{ "keep-removed", no_argument, NULL, OPT_KEEP_REMOVED }, \
		{ "help", no_argument, NULL, 'h' }

static const struct option connect_longopts[] = { CONNECT_LONGOPTS, { 0 } };
static const struct option all_longopts[] = { CONNECT_LONGOPTS, CLI_DISC_LONGOPTS, { 0 } };
#define CONNECT_SHORTOPTS "t:a:s:n:q:I:i:P:Q:k:c:l:S:C:o:J:OpgGhd" CLI_HOST_SHORTOPTS
#define ALL_SHORTOPTS "t:a:s:n:q:I:i:P:Q:k:c:l:S:C:o:J:OpgGhr:" CLI_HOST_SHORTOPTS

/*
 * A copy of connect-all's @argc arguments of @argv without -p/--persistent
 * and --keep-removed, and without the secrets (start_pdisc() hands the
 * parsed ones over in the environment, never on a command line), led by
 * "nvmfuse connect", for the persistent discovery daemon's connect
 * commands; NULL-terminated. NULL when out of memory. Freed with
 * cli_argv_free().
 */
static char **pdisc_argv_dup(int argc, char **argv)
{
	static const char *const drop_long[] = { "persistent", "keep-removed", NULL };
	char **rest = cli_argv_public(argc, argv, ALL_SHORTOPTS, all_longopts, "p", drop_long);
	char **v;
	int n = 0;

	if (!rest)
		return NULL;
	while (rest[n])
		n++;
	v = calloc((size_t)n + 3, sizeof(*v));
	if (v && (v[0] = strdup("nvmfuse")) && (v[1] = strdup("connect"))) {
		memcpy(v + 2, rest, (size_t)n * sizeof(*v));
		free(rest);
		return v;
	}
	cli_argv_free(v);
	cli_argv_free(rest);
	return NULL;
}

/*
 * Parse the command line into @a: connect's defaults, then config entry
 * @base when given (cli_config_apply), then the flags, which win. Returns
 * 0 when @a is complete (cli_fabrics_finish done), 1 when the options are
 * to come from files (connect-all without -a; connect with -J: the file's
 * entries, see connect_from_config), -1 after printing the error.
 */
static int parse_connect(int argc, char **argv, struct connect_args *a, bool all,
			 const struct sc_ctrl_cfg *base)
{
	const struct option *longopts = all ? all_longopts : connect_longopts;
	const char *shortopts = all ? ALL_SHORTOPTS : CONNECT_SHORTOPTS;
	long long v;
	int opt, rc;

	memset(a, 0, sizeof(*a));
	cli_fabrics_defaults(&a->f);
	cli_disc_defaults(&a->disc);
	a->f.nr_io_queues = cli_default_io_queues();	/* the kernel host's default */
	a->instance = -1;
	a->cuse.mode = 0600;
	a->cuse.uid = (uid_t)-1;
	a->cuse.gid = (gid_t)-1;
	a->reconnect_delay = 10;	/* nvme-cli's defaults */
	a->ctrl_loss_tmo = 600;
	a->fast_io_fail_tmo = -1;
	if (base && cli_config_apply(base, &a->f, &a->reconnect_delay, &a->ctrl_loss_tmo,
				     &a->fast_io_fail_tmo) < 0)
		return -1;
	opterr = 0;	/* cli_bad_option() says it in one line */
	while ((opt = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		rc = cli_fabrics_opt(&a->f, opt, optarg);
		if (rc == 0)
			rc = cli_host_opt(&a->f, opt, optarg);
		if (rc == 0 && all)
			rc = cli_disc_opt(&a->disc, opt, optarg);
		if (rc < 0)
			return -1;
		if (rc || cli_config_opt(&a->conf, opt, optarg))
			continue;
		switch (opt) {
		case 'd':	/* connect only: nvme-cli 2.3's -d (later ones dropped it for --device) */
			a->f.disable_sqflow = true;
			break;
		case 'c':
			if (cli_parse_int(optarg, "--reconnect-delay", 1, 3600, &v) < 0)
				return -1;
			a->reconnect_delay = (int)v;
			break;
		case 'l':
			if (cli_parse_int(optarg, "--ctrl-loss-tmo", -1, 86400 * 365, &v) < 0)
				return -1;
			a->ctrl_loss_tmo = (int)v;
			break;
		case 'F':
			if (cli_parse_int(optarg, "--fast_io_fail_tmo", -1, 86400, &v) < 0)
				return -1;
			a->fast_io_fail_tmo = (int)v;
			break;
		case 'o':
			if (cli_check_format(optarg) < 0)
				return -1;
			if (all && !strcmp(optarg, "json")) {
				cli_error("-o json is for connect, not connect-all");
				return -1;
			}
			a->json = !strcmp(optarg, "json");
			break;
		case OPT_LOG_FORMAT:
			if (cli_log_format(optarg) < 0)
				return -1;
			break;
		case 'p':
		case OPT_KEEP_REMOVED:
			if (!all) {
				cli_error("%s is for connect-all and discover, not connect",
					  opt == 'p' ? "-p/--persistent" : "--keep-removed");
				return -1;
			}
			if (opt == 'p')
				a->persistent = true;
			else
				a->keep_removed = true;
			break;
		case OPT_IOPOLICY: {
			enum nvmf_iopolicy pol;

			if (nvmf_iopolicy_parse(optarg, &pol) < 0) {
				cli_error("--iopolicy %s: not numa, round-robin or queue-depth", optarg);
				return -1;
			}
			a->iopolicy = optarg;
			break;
		}
		case OPT_NO_CUSE:
			a->no_cuse = true;
			break;
		case OPT_NO_UBLK:
			a->no_ublk = true;
			break;
		case OPT_FOREGROUND:
			a->foreground = true;
			break;
		case OPT_RUN_DIR:
			if (cli_run_dir(optarg) < 0)
				return -1;
			break;
		case OPT_INSTANCE:
			if (cli_parse_int(optarg, "--instance", 0, 1000000, &v) < 0)
				return -1;
			a->instance = (int)v;
			break;
		case OPT_DEV_MODE: {
			char *end;
			unsigned long m = strtoul(optarg, &end, 8);

			if (!*optarg || *end || m > 07777) {
				cli_error("--dev-mode: '%s' is not an octal mode", optarg);
				return -1;
			}
			a->cuse.mode = (mode_t)m;
			break;
		}
		case OPT_DEV_OWNER:
			if (parse_id(optarg, "--dev-owner", false, &a->cuse.uid) < 0)
				return -1;
			break;
		case OPT_DEV_GROUP:
			if (parse_id(optarg, "--dev-group", true, &a->cuse.gid) < 0)
				return -1;
			break;
		case OPT_DEV_READONLY:
		case OPT_DEV_ALLOW_ADMIN:
		case OPT_DEV_ALLOW_IO:
			if (cli_devauth_opt(&a->cuse.auth, opt, optarg) < 0)
				return -1;
			break;
		case 'h':
			usage(stdout, all);
			exit(0);
		default:
			cli_bad_option(all ? "connect-all" : "connect", shortopts, argv);
			return -1;
		}
	}
	if (cli_no_more_args(argc, argv, optind) < 0)
		return -1;
	if (a->keep_removed && !a->persistent) {
		cli_error("--keep-removed goes with -p/--persistent");
		return -1;
	}
	if (all && a->foreground) {
		cli_error("--foreground serves one controller: use connect, not connect-all");
		return -1;
	}
	if (cli_need_io_queue(&a->f) < 0)
		return -1;
	if (all && cli_disc_nbft(&a->disc) < 0)
		return -1;
	if (a->f.nr_write_queues && !a->disc.quiet)
		/* The one line that says how -W differs from the kernel host. */
		fprintf(stderr, "%s: note: -W %d: %d more I/O queue(s), each carrying reads and "
			"writes (a ublk queue keeps its requests on its own queue's thread, so "
			"writes are not moved to queues of their own)\n", cli_prog,
			a->f.nr_write_queues, a->f.nr_write_queues);
	if (!base && ((all && !a->f.traddr) || (!all && cli_config_named(&a->conf))))
		return 1;	/* config.json's entries, discovery.conf's lines */
	return cli_fabrics_finish(&a->f, !all);
}

/*
 * Connect config entry @e with the command line's flags on top (argv parsed
 * again, as for a discovery.conf line), unless a daemon serves it already.
 * 0 connected or already there, 1 failed (printed).
 */
static int connect_entry(int argc, char **argv, const struct sc_ctrl_cfg *e, bool all)
{
	struct connect_args one;
	char name[REG_NAME_MAX + 24];	/* and " (still connecting)" */
	int rc;

	optind = 0;	/* getopt afresh over the same arguments */
	rc = parse_connect(argc, argv, &one, all, e);
	if (rc != 0) {
		cli_fabrics_free(&one.f);
		return 1;
	}
	if (already_connected(&one.f, name, sizeof(name))) {
		printf("%s: already connected to %s\n", name, one.f.subnqn);
		rc = 0;
	} else {
		rc = one.foreground ? run_controller(&one, -1) : spawn_controller(&one);
	}
	cli_fabrics_free(&one.f);
	return rc;
}

static int connect_all_from(struct connect_args *a, int *done, int *failed);

/*
 * connect-all from discovery controller entry @e of a config file (the
 * discovery subsystem's port), the command line's flags on top. Counts in
 * @done and @failed; -1 when its log cannot be read (printed).
 */
static int connect_all_entry(int argc, char **argv, const struct sc_ctrl_cfg *e, int *done,
			     int *failed)
{
	struct connect_args one;
	int rc;

	optind = 0;
	rc = parse_connect(argc, argv, &one, true, e);
	if (rc == 0)
		rc = connect_all_from(&one, done, failed);
	cli_fabrics_free(&one.f);
	return rc ? -1 : 0;
}

/*
 * The entries of the config file of @a (already parsed: -J and the
 * flags), nvme-cli's way: without -n and -a, every controller of the
 * file; with them, the file's ports of that subsystem (at that address)
 * with their options. -q/-I keep only the host entries with that
 * identity. connect-all passes @all: a port of the discovery subsystem
 * is then a discovery controller, whose log's subsystems it connects
 * (connect skips it, saying so). Counts in @done and @failed; returns the
 * number of entries that matched.
 */
static int connect_config_entries(int argc, char **argv, struct connect_args *a, bool all,
				  int *done, int *failed)
{
	const struct sc_config *cfg = &a->conf.cfg;
	int matched = 0;

	for (int i = 0; i < cfg->nr_ctrls; i++) {
		const struct sc_ctrl_cfg *e = &cfg->ctrls[i];

		if (!cli_config_host_matches(e, &a->f) ||
		    (a->f.subnqn && strcmp(e->subnqn, a->f.subnqn)) ||
		    (a->f.traddr && strcmp(e->traddr, a->f.traddr)) ||
		    (a->f.trsvcid && strcmp(e->trsvcid, a->f.trsvcid)))
			continue;
		if (e->discovery && !all) {
			fprintf(stderr, "%s: note: %s: not connecting the discovery controller at %s "
				"%s:%s (connect-all reads its log)\n", cli_prog, a->conf.path,
				e->transport, e->traddr, e->trsvcid);
			continue;
		}
		matched++;
		if (e->discovery) {
			if (connect_all_entry(argc, argv, e, done, failed) < 0)
				(*failed)++;
		} else if (connect_entry(argc, argv, e, all)) {
			(*failed)++;
		} else {
			(*done)++;
		}
	}
	return matched;
}

/*
 * connect -J FILE (parse_connect returned 1): the exit code, or 2 when the
 * file has no entry for the controller that -n and -a name in full: @a is
 * then finished (cli_fabrics_finish) for a connect from the command line.
 */
static int connect_from_config(int argc, char **argv, struct connect_args *a)
{
	int done = 0, failed = 0;

	if (cli_config_load(&a->conf, false) < 0)
		return 1;
	if (a->foreground && !a->f.subnqn) {
		cli_error("--foreground serves one controller: with -J, name it with -n");
		return 1;
	}
	if (!connect_config_entries(argc, argv, a, false, &done, &failed)) {
		if (a->f.subnqn && a->f.traddr)
			return cli_fabrics_finish(&a->f, true) < 0 ? 1 : 2;
		cli_error("%s has no controller%s%s%s%s", a->conf.path,
			  a->f.subnqn ? " of " : "", a->f.subnqn ? a->f.subnqn : "",
			  a->f.traddr ? " at " : "", a->f.traddr ? a->f.traddr : "");
		return 1;
	}
	if (a->conf.dump && cli_config_dump(&a->conf) < 0)
		failed++;
	return failed ? 1 : 0;
}

int cmd_connect(int argc, char **argv)
{
	struct connect_args a;
	char name[REG_NAME_MAX + 24];	/* and " (still connecting)" */
	int rc;

	rc = parse_connect(argc, argv, &a, false, NULL);
	if (rc < 0)
		return 1;
	cli_config_stdout_aside(&a.conf);
	if (rc > 0) {	/* -J FILE: its entries, or its options for -n */
		rc = connect_from_config(argc, argv, &a);
		if (rc != 2) {
			cli_config_free(&a.conf);
			cli_fabrics_free(&a.f);
			return rc;
		}
	}
	if (!strcmp(a.f.subnqn, NVME_DISC_SUBSYS_NAME)) {
		cli_error("%s is the discovery subsystem: use 'nvmfuse discover'",
			  NVME_DISC_SUBSYS_NAME);
		cli_fabrics_free(&a.f);
		return 1;
	}
	if (!a.f.duplicate_connect && already_connected(&a.f, name, sizeof(name))) {
		cli_error("already connected to %s at %s:%s as %s (-D/--duplicate-connect "
			  "connects again)", a.f.subnqn, a.f.traddr,
			  a.f.trsvcid ? a.f.trsvcid : "4420", name);
		cli_fabrics_free(&a.f);
		cli_config_free(&a.conf);
		return 1;
	}
	rc = connect_one(&a);
	cli_fabrics_free(&a.f);
	if (a.conf.dump && cli_config_dump(&a.conf) < 0)
		rc = 1;
	cli_config_free(&a.conf);
	return rc;
}

/* Write all of @len bytes to @fd. Returns 0 or -errno. */
static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * cli_fetch_discovery() in a child process, the log handed back through a
 * pipe. The process that forks the controller daemons must never have
 * touched RDMA: librdmacm opens each RDMA device once per process and keeps
 * it, and a forked daemon that inherits that verbs context has its first
 * command refused by the kernel (EACCES, seen with connect-all -t rdma).
 * The child prints its own error. Returns 0 or -1.
 */
int cli_fetch_discovery_isolated(struct cli_fabrics *f, struct nvmf_discovery_log **out,
				 uint64_t *numrec);
int cli_fetch_discovery_isolated(struct cli_fabrics *f, struct nvmf_discovery_log **out,
				 uint64_t *numrec)
{
	const size_t hdr = offsetof(struct nvmf_discovery_log, entries);
	const size_t ent = sizeof(struct nvmf_disc_log_entry);
	struct nvmf_discovery_log *log = NULL;
	uint64_t n = 0;
	int pfd[2], status;
	size_t want = 0, got = 0;
	pid_t pid;

	fflush(NULL);
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		cli_error("pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		cli_error("fork: %s", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		close(pfd[0]);
		if (cli_fetch_discovery(f, &log, &n) < 0)
			_exit(1);
		if (write_all(pfd[1], &n, sizeof(n)) < 0 ||
		    write_all(pfd[1], log, hdr + (size_t)n * ent) < 0)
			_exit(1);
		_exit(0);
	}
	close(pfd[1]);
	if (read_full(pfd[0], &n, sizeof(n)) == sizeof(n) && n <= 1024) {
		want = hdr + (size_t)n * ent;
		log = malloc(want);
		if (log)
			got = read_full(pfd[0], log, want);
	}
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !log || got != want) {
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			cli_error("the discovery log could not be handed over (%zu bytes)", got);
		free(log);
		return -1;
	}
	*out = log;
	*numrec = n;
	return 0;
}

/*
 * The discovery controllers connect-all visits: the one it was given, then
 * the referrals the logs name, breadth first, each address once (a loop of
 * referrals ends), at most DISC_DEPTH_MAX referrals deep (nvme-cli's
 * bound) and DISC_CTRLS_MAX in all.
 */
#define DISC_DEPTH_MAX	10
#define DISC_CTRLS_MAX	32

struct disc_ctrl {
	char traddr[NVMF_TRADDR_SIZE + 1];
	char trsvcid[NVMF_TRSVCID_SIZE + 1];
	char subnqn[NVMF_NQN_SIZE + 1];	/* "": the well-known discovery NQN */
	int depth;
};

/* Add referral @e of a log read at @depth to @dc unless known; 1 added, 0 not. */
static int add_referral(struct disc_ctrl *dc, int *ndc, const struct nvmf_disc_log_entry *e,
			int depth, const char *transport)
{
	if (strcmp(nvmf_trtype_str(e->trtype), transport)) {
		cli_error("skipping the referral to %s:%s: transport %s is not %s", e->traddr,
			  e->trsvcid, nvmf_trtype_str(e->trtype), transport);
		return 0;
	}
	for (int i = 0; i < *ndc; i++)
		if (!strcmp(dc[i].traddr, e->traddr) && !strcmp(dc[i].trsvcid, e->trsvcid))
			return 0;	/* visited or queued: a loop, or two paths to it */
	if (depth + 1 > DISC_DEPTH_MAX || *ndc >= DISC_CTRLS_MAX) {
		cli_error("not following the referral to %s:%s: more than %d %s", e->traddr,
			  e->trsvcid, depth + 1 > DISC_DEPTH_MAX ? DISC_DEPTH_MAX : DISC_CTRLS_MAX,
			  depth + 1 > DISC_DEPTH_MAX ? "referrals deep" : "discovery controllers");
		return 0;
	}
	snprintf(dc[*ndc].traddr, sizeof(dc[*ndc].traddr), "%s", e->traddr);
	snprintf(dc[*ndc].trsvcid, sizeof(dc[*ndc].trsvcid), "%s", e->trsvcid);
	snprintf(dc[*ndc].subnqn, sizeof(dc[*ndc].subnqn), "%s", e->subnqn);	/* as nvme-cli */
	dc[*ndc].depth = depth + 1;
	(*ndc)++;
	return 1;
}

/* Connect the NVM subsystems of one discovery log; counts in @done/@failed. */
static void connect_log_entries(const struct connect_args *a, struct nvmf_discovery_log *log,
				uint64_t n, struct disc_ctrl *dc, int *ndc, int depth, int *done,
				int *failed)
{
	for (uint64_t i = 0; i < n; i++) {
		struct nvmf_disc_log_entry *e = &log->entries[i];
		struct connect_args one = *a;
		char name[REG_NAME_MAX + 24];	/* and " (still connecting)" */

		if (e->subtype == NVME_NQN_DISC) {
			add_referral(dc, ndc, e, depth, a->f.transport);
			continue;
		}
		if (e->subtype != NVME_NQN_NVME)
			continue;	/* the discovery subsystem itself */
		if (strcmp(nvmf_trtype_str(e->trtype), a->f.transport)) {
			cli_error("skipping %s: transport %s is not %s", e->subnqn,
				  nvmf_trtype_str(e->trtype), a->f.transport);
			continue;
		}
		one.f.subnqn = e->subnqn;
		one.f.traddr = e->traddr;
		one.f.trsvcid = e->trsvcid;
		/* Like nvme-cli: use what the discovery entry says is supported. */
		if (e->treq & NVMF_TREQ_DISABLE_SQFLOW)
			one.f.disable_sqflow = true;
		/*
		 * A port with TLS 1.3 (SECTYPE): connect with TLS, the PSK from
		 * the keyring unless one was given (an entry that says TLS is
		 * not required still gets it: it is what the port offers).
		 */
		if (e->trtype == NVMF_TRTYPE_TCP && e->tsas.tcp.sectype == NVMF_TCP_SECTYPE_TLS13 &&
		    !one.f.tls && !one.f.tls_key && !one.f.tls_key_identity && !one.f.keyring) {
			one.f.tls = true;
			printf("%s at %s:%s: TLS 1.3 (the discovery log's SECTYPE)\n", e->subnqn,
			       e->traddr, e->trsvcid);
		}
		if (!one.f.duplicate_connect && already_connected(&one.f, name, sizeof(name))) {
			if (!a->disc.quiet)
				printf("%s: already connected to %s\n", name, e->subnqn);
			(*done)++;	/* there is one: not "no NVMe subsystems" */
			continue;
		}
		if (connect_one(&one) != 0)
			(*failed)++;
		else
			(*done)++;
	}
}

/*
 * connect-all from the discovery controller of @a and the referrals it
 * leads to; counts in @done and @failed. Returns -1 when @a's own
 * discovery controller cannot be read (the error printed), else 0.
 */
static int connect_all_from(struct connect_args *a, int *done, int *failed)
{
	struct disc_ctrl dc[DISC_CTRLS_MAX];
	int ndc = 1;

	snprintf(dc[0].traddr, sizeof(dc[0].traddr), "%s", a->f.traddr);
	/* No -s: nvme-cli's default, so that a referral back to it is known. */
	snprintf(dc[0].trsvcid, sizeof(dc[0].trsvcid), "%s", a->f.trsvcid ? a->f.trsvcid :
		 !strcmp(a->f.transport, "rdma") ? "4420" : "8009");
	/* -n: the discovery controller's NQN (nvme-cli's, e.g. a unique one), else the default. */
	snprintf(dc[0].subnqn, sizeof(dc[0].subnqn), "%s", a->f.subnqn ? a->f.subnqn : "");
	dc[0].depth = 0;
	for (int k = 0; k < ndc; k++) {
		struct nvmf_discovery_log *log = NULL;
		struct cli_fabrics f = a->f;
		uint64_t n = 0;

		f.traddr = dc[k].traddr;
		f.trsvcid = dc[k].trsvcid;
		f.subnqn = dc[k].subnqn[0] ? dc[k].subnqn : NULL;
		if (cli_fetch_discovery_isolated(&f, &log, &n) < 0) {
			if (k == 0)
				return -1;
			(*failed)++;	/* a referral that does not answer: the others go on */
			continue;
		}
		/* -r: each log read goes to the file, the last one stays (as nvme-cli). */
		if (a->disc.raw && cli_save_raw_log(a->disc.raw, log, n) < 0)
			(*failed)++;
		else if (a->disc.raw)
			printf("Discovery log is saved to %s\n", a->disc.raw);
		connect_log_entries(a, log, n, dc, &ndc, dc[k].depth, done, failed);
		free(log);
	}
	return 0;
}

/*
 * @a's secrets as environment entries for the connect commands of its
 * persistent discovery daemon (tools/cli.h CLI_ENV_*), into @env (room for
 * 4, NULL-terminated; free with cli_secrets_env_free). 0 or -1.
 */
static int pdisc_env_build(const struct connect_args *a, char **env)
{
	return cli_secrets_env(a->f.dhchap_secret, a->f.dhchap_ctrl_secret, a->f.tls_key, env);
}

/*
 * connect-all -p: after the first pass, the persistent discovery daemon
 * that connects what appears in @a's discovery log later (daemon/pdisc.h),
 * running `nvmfuse connect` with @argv (pdisc_argv_dup) and this identity;
 * @argv NULL (discover -p): one that only watches and logs the changes.
 * Unless one runs for this discovery controller already. 0 or 1.
 */
static int start_pdisc(struct connect_args *a, char **argv)
{
	struct connect_args d = *a;
	char name[REG_NAME_MAX + 24];
	char **v, *env[4] = { NULL };
	int n = 0, rc;

	d.f.subnqn = NVME_DISC_SUBSYS_NAME;
	d.f.trsvcid = a->f.trsvcid ? a->f.trsvcid : !strcmp(a->f.transport, "rdma") ? "4420" :
		      "8009";
	if (already_connected(&d.f, name, sizeof(name))) {
		printf("%s: persistent discovery of %s:%s runs already\n", name, d.f.traddr,
		       d.f.trsvcid);
		return 0;
	}
	if (!argv)	/* discover -p: watch only */
		return spawn_daemon(&d, run_pdisc);
	while (argv[n])
		n++;
	/* The identity connect-all resolved, so that every controller has it. */
	v = calloc((size_t)n + 3, sizeof(*v));
	if (!v) {
		cli_error("out of memory");
		return 1;
	}
	memcpy(v, argv, (size_t)n * sizeof(*v));
	if (asprintf(&v[n], "--hostnqn=%s", a->f.hostnqn) < 0 ||
	    asprintf(&v[n + 1], "--hostid=%s", a->f.hostid) < 0 ||
	    pdisc_env_build(a, env) < 0) {
		v[n] = NULL;
		cli_error("out of memory");
		rc = 1;
	} else {
		d.pdisc_argv = v;
		d.pdisc_env = env;
		rc = spawn_daemon(&d, run_pdisc);
	}
	cli_secrets_env_free(env);
	free(v[n]);
	free(v[n + 1]);
	free(v);
	return rc;
}

/* discover -p (tools/cmd_discover.c): a watch-only persistent discovery daemon. 0 or 1. */
int cli_discover_persistent(const struct cli_fabrics *f, bool quiet);
int cli_discover_persistent(const struct cli_fabrics *f, bool quiet)
{
	struct connect_args a;

	memset(&a, 0, sizeof(a));
	a.f = *f;
	a.reconnect_delay = 10;		/* nvme-cli's defaults, as connect's */
	a.ctrl_loss_tmo = 600;
	a.fast_io_fail_tmo = -1;
	a.quiet = quiet;
	return start_pdisc(&a, NULL);
}

struct conf_tally {
	int done, failed;
};

/* One discovery.conf line's arguments (cli_discovery_conf): connect-all from it. */
static int connect_all_line(int argc, char **argv, const char *where, void *arg)
{
	struct conf_tally *t = arg;
	struct connect_args a;
	char **copy = pdisc_argv_dup(argc, argv);
	int rc = copy ? parse_connect(argc, argv, &a, true, NULL) : -1;

	if (rc > 0)
		cli_error("%s: no -a/--traddr", where);
	if (rc != 0) {
		cli_argv_free(copy);
		return -1;
	}
	rc = connect_all_from(&a, &t->done, &t->failed);
	if (rc == 0 && a.persistent && start_pdisc(&a, copy) != 0)
		t->failed++;
	cli_argv_free(copy);
	cli_fabrics_free(&a.f);
	return rc;
}

/*
 * connect-all without -a: the controllers of config.json (-J FILE, or the
 * default file when it exists), exactly those; then, unless -J named a
 * file, the discovery controllers of discovery.conf, as nvme-cli reads
 * both. Returns the exit code.
 */
static int connect_all_files(int argc, char **argv, struct connect_args *a)
{
	struct conf_tally t = { 0 };
	int loaded = cli_config_load(&a->conf, true), rc = 0;

	if (loaded < 0)
		return 1;
	if (loaded && !connect_config_entries(argc, argv, a, true, &t.done, &t.failed)) {
		cli_error("%s: no controller for host %s", a->conf.path ? a->conf.path :
			  NVMF_CONFIG_JSON, a->f.hostnqn_arg ? a->f.hostnqn_arg : a->f.hostid_arg);
		t.failed++;
	}
	if (!cli_config_named(&a->conf) && (!loaded || !access(NVMF_DISCOVERY_CONF, F_OK))) {
		if (!loaded && access(NVMF_DISCOVERY_CONF, F_OK)) {
			if (a->conf.path)	/* -J none */
				cli_error("missing target address: use -a/--traddr, or list "
					  "discovery controllers in %s (-J none: no config.json)",
					  NVMF_DISCOVERY_CONF);
			else
				cli_error("missing target address: use -a/--traddr, or list "
					  "controllers in %s or discovery controllers in %s (-J FILE: "
					  "another config.json)", NVMF_CONFIG_JSON, NVMF_DISCOVERY_CONF);
			return 1;
		}
		rc = cli_discovery_conf(argc, argv, connect_all_line, &t);
	}
	if (rc == 0 && !t.done && !t.failed)
		printf("no NVMe subsystems in the discovery logs\n");
	if (a->conf.dump && cli_config_dump(&a->conf) < 0)
		t.failed++;
	return rc || t.failed ? 1 : 0;
}

int cmd_connect_all(int argc, char **argv)
{
	struct connect_args a;
	int failed = 0, done = 0, rc;
	char **copy = pdisc_argv_dup(argc, argv);

	if (!copy) {
		cli_error("out of memory");
		return 1;
	}
	rc = parse_connect(argc, argv, &a, true, NULL);
	if (rc < 0) {
		cli_argv_free(copy);
		return 1;
	}
	cli_config_stdout_aside(&a.conf);
	if (rc > 0) {
		cli_argv_free(copy);
		rc = connect_all_files(argc, argv, &a);
		cli_config_free(&a.conf);
		cli_fabrics_free(&a.f);
		return rc;
	}
	if (cli_config_named(&a.conf)) {
		/* The file lists what to connect; a discovery controller finds it. */
		cli_error("-J %s and -a %s: give one (the file lists the controllers to connect)",
			  a.conf.path, a.f.traddr);
		cli_argv_free(copy);
		cli_fabrics_free(&a.f);
		return 1;
	}
	if (connect_all_from(&a, &done, &failed) < 0) {
		cli_argv_free(copy);
		cli_fabrics_free(&a.f);
		return 1;
	}
	if (!done && !failed)
		printf("no NVMe subsystems in the discovery log\n");
	if (a.persistent && start_pdisc(&a, copy) != 0)
		failed++;
	cli_argv_free(copy);
	cli_fabrics_free(&a.f);
	if (a.conf.dump && cli_config_dump(&a.conf) < 0)
		failed++;
	return failed ? 1 : 0;
}
