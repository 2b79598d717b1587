/* SPDX-License-Identifier: MIT */
/*
 * The sidecar supervisor: keeps a fixed set of controllers served, each by
 * a controller service (daemon/service.h) in a child process of its own,
 * for as long as the sidecar runs (in the foreground: PID 1 of a
 * container, or a systemd service).
 *
 * Per controller, an explicit state machine (main thread only):
 *
 *   WAITING --start--> STARTING --"OK" report--> RUNNING
 *      ^                   |                        |
 *      +---- child exits: backoff (1 s doubling up to the controller's
 *            reconnect_delay, at most 30 s; back to 1 s after 30 s
 *            RUNNING), logged with the cause ----+
 *   any --SIGTERM/SIGINT to the sidecar--> STOPPING --child exits--> STOPPED
 *
 * Every controller starts at once (one fork each, nothing waited for in
 * between), so a slow or dead target delays no other. A discovery
 * controller's child runs the persistent discovery daemon instead: it
 * connects the subsystems its log names, each by `nvmfuse connect` (a
 * daemon of the same run dir, not one of the sidecar's children), and
 * disconnects them when they leave the log or when it stops. A child is forked
 * from this process and runs nvmf_service_run() without exec, as `nvmfuse
 * connect` does, with its own log RUNDIR/nvmeN.log; it gets SIGTERM if the
 * sidecar dies (PR_SET_PDEATHSIG), so no controller outlives its
 * supervisor.
 *
 * Readiness: a child keeps its report pipe open and says "STATE ..."
 * whenever its controller's state or disks change (service.h,
 * report_state); the sidecar then asks it for its info (the control
 * protocol, bounded), and asks every RUNNING controller that is not live
 * once a second, and every one every 30 s (a daemon that hangs); the set
 * is ready when every controller not marked optional answers state
 * "live" and its ublk disks exist. Live controllers are not asked every
 * second: with hundreds of them that alone kept the CPUs busy. Then @ready_file is written (temp file
 * + rename, so a reader never sees half of it); when one is lost it is
 * removed. RUNDIR/sidecar.json (written the same way on every change)
 * lists the controllers the sidecar keeps, for `nvmfuse status`: the
 * controllers with no daemon at the moment are known there only.
 *
 * Stop (SIGTERM, SIGINT): nothing is restarted any more; every child gets
 * SIGTERM (a service flushes, shuts the controller down, removes its
 * devices), and is waited for up to @stop_timeout_s; those left get
 * SIGKILL, named in the log. The ready file and sidecar.json are removed.
 *
 * Threads: one, the caller's; signals are read from a signalfd (SIGTERM,
 * SIGINT, SIGCHLD, SIGHUP blocked while it runs). The process must not
 * have touched RDMA before (see cmd_connect.c on forking after librdmacm).
 */
#ifndef NVMF_SIDECAR_H
#define NVMF_SIDECAR_H

#include <stdbool.h>

#include "daemon/pdisc.h"
#include "daemon/service.h"

struct nvmf_sidecar_ctrl {
	/*
	 * Strings must stay valid while the sidecar runs. For a discovery
	 * controller, @svc.ctrl names it (labels, sidecar.json) and @pdisc
	 * is what its child runs.
	 */
	struct nvmf_service_opts svc;
	/*
	 * Non-NULL: a discovery controller, served by a persistent discovery
	 * daemon (daemon/pdisc.h, with stop_disconnects) instead of a
	 * controller service; the sidecar supervises it like the others.
	 */
	const struct nvmf_pdisc_opts *pdisc;
	bool optional;			/* readiness does not wait for it */
};

struct nvmf_sidecar_opts {
	const struct nvmf_sidecar_ctrl *ctrls;
	int nr_ctrls;
	const char *ready_file;		/* NULL: none */
	int stop_timeout_s;		/* the bound on the children's teardown */
};

/* The state file in the run dir, for `nvmfuse status`. */
#define NVMF_SIDECAR_STATE "sidecar.json"

/*
 * Supervise @o's controllers until SIGTERM or SIGINT. Returns the exit
 * code: 0 when every child stopped by itself within the bound, 1 if one
 * had to be killed or the sidecar could not run (cause logged).
 * Thread: the process's main thread, once.
 */
int nvmf_sidecar_run(const struct nvmf_sidecar_opts *o);

#endif
