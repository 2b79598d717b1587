/* SPDX-License-Identifier: MIT */
/*
 * Persistent discovery (`nvmfuse connect-all -p`, `discover -p`): a daemon
 * of its own, one per discovery controller, that keeps the discovery
 * association with a keep-alive, arms the Discovery Log Page Change AEN,
 * and on each notice, and after each (re)connect since notices may have
 * been missed, reads the log again: NVM subsystems that appeared are
 * connected (each by running the connect command, so each gets its own
 * controller daemon, as connect-all gives it), and those that went away
 * are disconnected unless @keep_removed. A connect command that fails
 * (its error goes to this daemon's log, its standard error) is run again
 * after @reconnect_delay while its subsystem stays in the log. It
 * registers in the run dir like a controller daemon (daemon/registry.h):
 * `nvmfuse list` shows it
 * ("discovery": true), `disconnect -n nqn.2014-08.org.nvmexpress.discovery`
 * and `disconnect-all` stop it.
 *
 * Lifecycle (main thread), an explicit state machine:
 *
 *   CONNECTING -> LIVE <-> RECONNECTING -> (ctrl-loss-tmo) exit
 *        \           \-------------------> (disconnect, signal) exit
 *
 * Threads: the main thread serves signals, the control socket, the
 * association (keep-alive and AER, polled on the admin queue's socket:
 * no engine workers) and the connect commands it starts (reaped with
 * waitpid). Each connect attempt runs on a thread of its own, cancellable,
 * so that `list` and `disconnect` are answered meanwhile. Reading the log
 * is done on the main thread, each command bounded by --timeout.
 *
 * Which controllers it disconnects: those of its run dir whose subsystem
 * NQN, transport, address and service id match an entry that left the
 * log, whoever connected them (the log is what the fabric says is there).
 * With @stop_disconnects (the sidecar's: no controller outlives it), also
 * at its stop those its own connect commands made, after waiting up to
 * PDISC_STOP_WAIT_S for the commands still running; a controller found
 * connected already is not its own and stays.
 */
#ifndef NVMF_PDISC_H
#define NVMF_PDISC_H

#include <stdbool.h>

#include "host/nvmf.h"

/* The keep-alive of the discovery association: nvme-cli's NVMF_DEF_DISC_TMO for a persistent one. */
#define PDISC_KATO_S		30

/* How long a stop with @stop_disconnects waits for connect commands in flight. */
#define PDISC_STOP_WAIT_S	10

struct nvmf_pdisc_opts {
	/*
	 * The discovery association: subnqn the discovery NQN, kato_s > 0.
	 * Strings must stay valid while the daemon runs.
	 */
	struct nvmf_ctrl_opts ctrl;
	int reconnect_delay;		/* -c, seconds */
	int ctrl_loss_tmo;		/* -l, seconds; -1 forever, 0 exit at the first loss */
	bool keep_removed;		/* do not disconnect what left the log */
	/*
	 * The connect command: @connect_exe run with @connect_argv (NULL
	 * terminated, the options of connect-all less -p) followed by
	 * --nqn=, --traddr=, --trsvcid= of the entry (and --tls,
	 * --disable-sqflow when the entry asks). NULL: watch only (discover
	 * -p), changes are logged and nothing is connected or disconnected.
	 */
	const char *connect_exe;
	char *const *connect_argv;
	/*
	 * NAME=VALUE entries added to the command's environment (the
	 * secrets, tools/cli.h CLI_ENV_*: an environment is readable by its
	 * owner only, a command line by everyone), or NULL.
	 */
	char *const *connect_env;
	bool stop_disconnects;		/* disconnect what it connected when it stops */
	/*
	 * For a supervisor (the sidecar), as service.h's: keep the report
	 * pipe after "OK" and write "STATE <state>" on it at each change
	 * (live, reconnecting), so that readiness follows the association.
	 */
	bool report_state;
	bool log_file;			/* RUNDIR/NAME.log, as service.h */
	const char *prog;		/* for messages in the foreground */
};

/*
 * Run the persistent discovery daemon in this process until it is
 * disconnected, signalled (SIGTERM, SIGINT) or its controller is lost
 * (ctrl-loss-tmo). @report_fd as nvmf_service_run(): "PID", "LOG", then
 * "OK <summary>" once the first association is live and the first log
 * read, or "ERR <cause>". Returns the process exit code (0 or 1).
 * Thread: the process's main thread, once per process.
 */
int nvmf_pdisc_run(const struct nvmf_pdisc_opts *o, int report_fd);

#endif
