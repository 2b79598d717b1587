/* SPDX-License-Identifier: MIT */
/*
 * The controller service: what serves one controller for as long as the
 * user wants it, in a process of its own (so a slow or dead target never
 * blocks another controller). It connects the association, creates the
 * frontends (CUSE nodes, ublk disks), answers control requests on its
 * registry socket (daemon/registry.h), and keeps the association alive:
 * reconnecting after a loss, revalidating namespaces, resetting on
 * request, and tearing everything down, bounded, on disconnect or
 * SIGTERM. A daemon that dies leaves its ublk disks waiting in the
 * kernel; the next one for the same subsystem takes them over, and the
 * dead one's name, from what it recorded in the run dir (daemon/state.h).
 *
 * Lifecycle (main thread):
 *
 *   connect -> devices -> LOOP <-> RECONNECTING -> teardown -> exit
 *                            \-> (disconnect, signal, controller lost) -/
 *
 * Threads: the process's main thread runs the loop above, the control
 * socket and device creation and removal; the engine's workers own the
 * queues (host/worker.h); the first connect and each reconnect attempt
 * run on a thread of their own, so that the main thread answers control
 * requests meanwhile (state "connecting" before the first association is
 * live) and can cancel them; each CUSE node has a session thread.
 * Nothing the main thread waits on depends on the network without a
 * bound, and nothing it waits on needs the main thread (I/O is never held
 * while it creates or removes a disk).
 *
 * Multipath (host/mpath.h): the daemon serves a subsystem, not only one
 * controller. Its first controller is path 0, whose workers carry the
 * disks' queues; an add_path request connects another controller of the
 * subsystem at another address (same host identity and options, the
 * namespaces' identifiers checked against the disks'), and a keeper
 * thread per such path reconnects it after a loss, so the main thread's
 * reconnect loop stays path 0's. The main thread creates and removes
 * paths (remove_path drains one before closing it); losing path 0 for
 * good ends the daemon only when no other path is left.
 *
 * Tools (tools/cmd_connect.c) parse options, fork, and call
 * nvmf_service_run() in the child; they talk to running services only
 * through the registry socket.
 */
#ifndef NVMF_SERVICE_H
#define NVMF_SERVICE_H

#include <stdbool.h>

#include "cuse/cuse.h"
#include "host/nvmf.h"

struct nvmf_service_opts {
	/* The association; its strings must stay valid while the service runs. */
	struct nvmf_ctrl_opts ctrl;
	bool no_cuse;			/* no char nodes */
	bool no_ublk;			/* no block disks */
	int instance;			/* nvmeN: N, or -1 for the lowest free */
	struct cuse_opts cuse;		/* node mode, owner, access options */
	int reconnect_delay;		/* -c, seconds */
	int ctrl_loss_tmo;		/* -l, seconds; -1 forever, 0 no reconnect */
	int fast_io_fail_tmo;		/* seconds; -1 off */
	/*
	 * --context (nvme-cli): a label of the caller's choosing, NULL for
	 * none, shown as "context" in the info reply; no other effect.
	 */
	const char *context;
	int iopolicy;			/* enum nvmf_iopolicy (host/mpath.h): --iopolicy */
	const char *prog;		/* for messages in the foreground ("nvmfuse connect") */
	/*
	 * At a stop signal, disks still in use (mounted, open): wait up to this
	 * many seconds for them to be let go, serving them as before; 0 stops at
	 * once. Either way each disk in use is named in the log, every disk is
	 * flushed (its mounted file system synced) and then removed.
	 */
	int mounted_wait_s;
	/*
	 * Log to RUNDIR/NAME.log (one file per daemon, NAME its nvmeN, opened
	 * once the name is reserved; standard error goes there too), else to
	 * standard error as it is. The level and line format are the
	 * process's (base/log.h), set by the caller.
	 */
	bool log_file;
	/*
	 * For a supervisor (the sidecar): keep @report_fd after the "OK"
	 * verdict and write "STATE <state>\n" on it whenever the controller's
	 * state or its set of disks changes (state as in the info reply:
	 * live, reconnecting, ...), so that the supervisor need not ask every
	 * daemon over and over. Without it the pipe is closed after the
	 * verdict (the waiting `nvmfuse connect` reads it to its end).
	 */
	bool report_state;
};

/*
 * Serve one controller in this process until it is disconnected, signalled
 * (SIGTERM, SIGINT: blocked here and read from a signalfd; see
 * mounted_wait_s) or lost (ctrl-loss-tmo). Every disk is flushed before
 * it is removed. SIGHUP reopens the log file (log rotation) and nothing
 * else. @report_fd >= 0: the parent's pipe, which gets "PID <pid>\n" at
 * once, "LOG <path>\n" once the log file is open (with @log_file), and
 * then "OK <summary>\n" once the devices exist, or "ERR <cause>\n", and
 * is closed (with @report_state: "STATE" lines follow "OK", see above); -1 (foreground): the summary goes to stdout, a failure to
 * stderr. Returns the process exit code (0 or 1).
 * Thread: the process's main thread, once per process.
 */
int nvmf_service_run(const struct nvmf_service_opts *o, int report_fd);

#endif
