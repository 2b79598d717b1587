/* SPDX-License-Identifier: MIT */
/*
 * nvmfuse connect / connect-all: establish an association and serve it
 * from a daemon process (one per controller, so a slow or dead target
 * never blocks another controller). The command returns only once the
 * controller is live, and exits non-zero with the cause when it is not.
 *
 * Daemon thread model (for now): one thread owns the admin queue and the
 * I/O queues, runs keep-alive and AER, and answers control requests on
 * its registry socket (see registry.h). The main thread also creates and
 * removes the CUSE nodes (cuse/cuse.h: one session thread per node) and
 * the ublk disks, and re-syncs the namespace nodes on NS_CHANGED.
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

#include "cuse/cuse.h"
#include "host/log.h"
#include "host/nvmf.h"
#include "host/worker.h"
#include "ublk/ublk.h"
#include "tools/cli.h"
#include "tools/cli_devauth.h"
#include "tools/registry.h"

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
	int fast_io_fail_tmo;		/* seconds; -1 off */
};

/* Options of this file only, after tools/cli.h's. */
enum {
	OPT_DEV_MODE = 1024,
	OPT_DEV_OWNER,
	OPT_DEV_GROUP,
	OPT_FAST_IO_FAIL,
};

/*
 * A reset asked for on a CUSE thread, done by the daemon's main thread.
 * @closed: the daemon is shutting down; requests are refused at once
 * (the CUSE threads are about to be joined by the main thread, which
 * therefore can never serve them).
 */
struct reset_call {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int efd;			/* wakes the main loop */
	bool pending, done, closed;
	int result;
};

/*
 * A reconnect attempt in progress on its own thread, so the main loop
 * keeps serving signals and control requests meanwhile and can cancel it
 * (cancel_efd) within a poll interval.
 */
struct attempt {
	pthread_t thread;
	bool running;
	int cancel_efd;			/* written to give up */
	int done_efd;			/* the thread finished: result below */
	struct nvmf_ctrl *ctrl;		/* read only: options and geometry */
	struct nvmf_ctrl *donor;	/* on success */
	int rc;
	char err[512];
};

struct daemon {
	struct reset_call reset;
	struct attempt attempt;
	const struct connect_args *args;
	bool reconnecting;
	unsigned long reconnects;
	struct nvmf_ctrl *ctrl;
	struct cuse_ctrl *cuse;		/* char nodes unless --no-cuse */
	struct ublk_dev **ublk;		/* one per namespace when --no-ublk is absent */
	int nr_ublk;
	char name[REG_NAME_MAX];
	int listen_fd;
	int sig_fd;
	bool stop;
};

/* ------------------------------------------------------------- info JSON */

static const char *ublk_path_of(const struct daemon *d, uint32_t nsid)
{
	for (int i = 0; i < d->nr_ublk; i++)
		if (d->ublk[i] && ublk_dev_nsid(d->ublk[i]) == nsid)
			return ublk_dev_path(d->ublk[i]);
	return NULL;
}

struct qp_stats_call {
	struct nvmf_worker *w;
	struct nvmf_qpair_stats st;
};

static void copy_qp_stats(void *arg)
{
	struct qp_stats_call *sc = arg;

	sc->st = nvmf_worker_qpair(sc->w)->stats;
}

/* "stats": what went wrong and what was done about it, per controller. */
static void write_stats(FILE *f, const struct daemon *d)
{
	uint64_t timeouts = 0, ddgst = 0, retries = 0, partial = 0, requeued = 0, ioerr = 0;
	uint64_t aborts = 0;

	for (int i = 0; i < d->ctrl->nr_ioq && d->ctrl->io_workers; i++) {
		struct qp_stats_call sc = { .w = d->ctrl->io_workers[i] };

		nvmf_worker_call(sc.w, copy_qp_stats, &sc);
		timeouts += sc.st.timeouts;
		ddgst += sc.st.ddgst_errors;
		aborts += sc.st.aborts;
	}
	for (int i = 0; i < d->nr_ublk; i++) {
		struct ublk_stats us;

		ublk_dev_stats(d->ublk[i], &us);
		retries += us.retries;
		partial += us.partial_reads;
		requeued += us.requeued;
		ioerr += us.errors;
	}
	if (d->cuse) {
		struct cuse_stats cs;

		cuse_ctrl_stats(d->cuse, &cs);
		retries += cs.retries;
		partial += cs.partial_reads;
		requeued += cs.requeued;
		ioerr += cs.errors;
	}
	fprintf(f, ",\"stats\":{\"reconnects\":%lu,\"timeouts\":%" PRIu64
		",\"digest_errors\":%" PRIu64 ",\"retries\":%" PRIu64
		",\"partial_completions\":%" PRIu64 ",\"requeued\":%" PRIu64
		",\"io_errors\":%" PRIu64 ",\"aborts\":%" PRIu64 "}", d->reconnects, timeouts,
		ddgst, retries, partial, requeued, ioerr, aborts);
}

static void write_info(FILE *f, const struct daemon *d)
{
	const struct nvmf_ctrl *c = d->ctrl;
	const char *name = d->name;
	char model[41], serial[21], fw[9];
	struct nvmf_ns *ns = NULL;
	int nr_ns = 0;

	cli_trim_field(model, sizeof(model), c->id.mn, sizeof(c->id.mn));
	cli_trim_field(serial, sizeof(serial), c->id.sn, sizeof(c->id.sn));
	cli_trim_field(fw, sizeof(fw), c->id.fr, sizeof(c->id.fr));
	fprintf(f, "{\"name\":");
	json_str(f, name);
	fprintf(f, ",\"subnqn\":");
	json_str(f, c->opts.subnqn);
	fprintf(f, ",\"transport\":");
	json_str(f, c->opts.transport);
	fprintf(f, ",\"traddr\":");
	json_str(f, c->opts.traddr);
	fprintf(f, ",\"trsvcid\":");
	json_str(f, c->opts.trsvcid);
	fprintf(f, ",\"cntlid\":%u,\"state\":", c->cntlid);
	json_str(f, d->reconnecting ? "reconnecting" : nvmf_ctrl_state_str(nvmf_ctrl_get_state(c)));
	fprintf(f, ",\"model\":");
	json_str(f, model);
	fprintf(f, ",\"serial\":");
	json_str(f, serial);
	fprintf(f, ",\"firmware\":");
	json_str(f, fw);
	fprintf(f, ",\"device\":");
	json_str(f, d->cuse ? cuse_ctrl_path(d->cuse) : NULL);
	fprintf(f, ",\"namespaces\":[");
	if (nvmf_ctrl_ns_snapshot(d->ctrl, &ns, &nr_ns) < 0)
		nr_ns = 0;
	for (int i = 0; i < nr_ns; i++) {
		fprintf(f, "%s{\"nsid\":%u,\"lba_size\":%u,\"size\":%" PRIu64
			",\"device\":", i ? "," : "",
			ns[i].nsid, ns[i].lba_size, ns[i].nsze * ns[i].lba_size);
		json_str(f, d->cuse ? cuse_ns_path(d->cuse, ns[i].nsid) : NULL);
		fprintf(f, ",\"block_device\":");
		json_str(f, ublk_path_of(d, ns[i].nsid));
		fprintf(f, "}");
	}
	free(ns);
	fprintf(f, "]");
	write_stats(f, d);
	fprintf(f, "}\n");
}

/* ---------------------------------------------------------------- daemon */

static void ublk_destroy_all(struct daemon *d)
{
	for (int i = 0; i < d->nr_ublk; i++)
		ublk_dev_destroy(d->ublk[i]);
	free(d->ublk);
	d->ublk = NULL;
	d->nr_ublk = 0;
}

/* One ublk disk per namespace; on failure none is left. */
static int ublk_create_all(struct daemon *d, char *err, size_t errlen)
{
	struct nvmf_ns *ns;
	int n, rc;

	rc = nvmf_ctrl_ns_snapshot(d->ctrl, &ns, &n);
	if (rc < 0)
		return rc;
	d->ublk = calloc((size_t)(n ? n : 1), sizeof(*d->ublk));
	if (!d->ublk) {
		free(ns);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		rc = ublk_dev_create(d->ctrl, ns[i].nsid, &d->ublk[i], err, errlen);
		if (rc < 0)
			break;
		d->nr_ublk = i + 1;
	}
	free(ns);
	if (rc < 0)
		ublk_destroy_all(d);
	return rc < 0 ? rc : 0;
}

/*
 * Bring the disks in line with the namespace list (NS_CHANGED): a disk
 * whose namespace went away or changed (identity, size, format; also while
 * the association was down) is removed, its I/O already failing; a new
 * namespace gets a disk. Main thread.
 */
static void ublk_sync(struct daemon *d)
{
	struct nvmf_ns *ns;
	int n;

	if (d->args->no_ublk || !d->ctrl->nr_ioq || nvmf_ctrl_ns_snapshot(d->ctrl, &ns, &n) < 0)
		return;
	for (int i = 0; i < d->nr_ublk; i++) {
		if (ublk_dev_current(d->ublk[i]))
			continue;
		nvmf_warn("namespace %u is gone or changed: removing %s",
			  ublk_dev_nsid(d->ublk[i]), ublk_dev_path(d->ublk[i]));
		ublk_dev_destroy(d->ublk[i]);
		d->ublk[i--] = d->ublk[--d->nr_ublk];
	}
	for (int j = 0; j < n && nvmf_ctrl_get_state(d->ctrl) == NVMF_CTRL_LIVE; j++) {
		struct ublk_dev **bigger;
		char err[256];
		bool have = false;

		for (int i = 0; i < d->nr_ublk && !have; i++)
			have = ublk_dev_nsid(d->ublk[i]) == ns[j].nsid;
		if (have)
			continue;
		bigger = realloc(d->ublk, (size_t)(d->nr_ublk + 1) * sizeof(*d->ublk));
		if (!bigger)
			break;
		d->ublk = bigger;
		if (ublk_dev_create(d->ctrl, ns[j].nsid, &d->ublk[d->nr_ublk], err,
				    sizeof(err)) < 0) {
			nvmf_warn("namespace %u: no disk: %s", ns[j].nsid, err);
			continue;
		}
		nvmf_info("namespace %u is %s", ns[j].nsid, ublk_dev_path(d->ublk[d->nr_ublk]));
		d->nr_ublk++;
	}
	free(ns);
}

static void hold_io(struct daemon *d, bool hold)
{
	for (int i = 0; i < d->ctrl->nr_ioq; i++)
		nvmf_worker_hold(d->ctrl->io_workers[i], hold);
}

static double ms_since(uint64_t t0)
{
	return (double)(nvmf_now_ns() - t0) / 1e6;
}

/* Give up a reconnect attempt in progress and wait for its thread. */
static void attempt_cancel(struct daemon *d)
{
	struct attempt *at = &d->attempt;
	uint64_t one = 1;

	if (!at->running)
		return;
	if (write(at->cancel_efd, &one, sizeof(one)) < 0)
		nvmf_warn("cannot cancel the reconnect attempt: %s", strerror(errno));
	pthread_join(at->thread, NULL);
	at->running = false;
	if (at->donor) {
		at->donor->state = NVMF_CTRL_DELETING;	/* never live for us: no shutdown */
		nvmf_ctrl_disconnect(at->donor);
		at->donor = NULL;
	}
}

/*
 * Tear everything down, bounded: nothing waits for a connection that is
 * gone. Held I/O is failed first (EIO to the block layer and to CUSE
 * callers), so removing the disks and nodes never waits for a reconnect;
 * a reset or reconnect in progress is refused or cancelled. Each step's
 * time goes to the log. Main thread.
 */
static void shut_down(struct daemon *d)
{
	uint64_t t0 = nvmf_now_ns(), t;

	if (!d->ctrl)
		return;
	/* A reset waiting for the main loop will not happen now, nor a new one. */
	pthread_mutex_lock(&d->reset.lock);
	d->reset.closed = true;
	if (d->reset.pending && !d->reset.done) {
		d->reset.result = -ESHUTDOWN;
		d->reset.done = true;
		pthread_cond_broadcast(&d->reset.cond);
	}
	pthread_mutex_unlock(&d->reset.lock);
	attempt_cancel(d);
	if (d->ctrl->io_workers)
		hold_io(d, false);
	t = nvmf_now_ns();
	cuse_ctrl_destroy(d->cuse);
	d->cuse = NULL;
	nvmf_info("shutdown: CUSE nodes removed in %.0f ms", ms_since(t));
	t = nvmf_now_ns();
	ublk_destroy_all(d);
	nvmf_info("shutdown: disks removed in %.0f ms", ms_since(t));
	t = nvmf_now_ns();
	nvmf_ctrl_stop(d->ctrl);
	nvmf_ctrl_disconnect(d->ctrl);
	nvmf_info("shutdown: association closed in %.0f ms (%.0f ms in all)", ms_since(t),
		  ms_since(t0));
	d->ctrl = NULL;
	reg_release(d->name);
}

static void serve_client(struct daemon *d)
{
	struct timeval tv = { .tv_sec = 1 };
	char line[128];
	ssize_t n;
	FILE *out;
	int fd;

	fd = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	n = read(fd, line, sizeof(line) - 1);
	if (n <= 0) {
		close(fd);
		return;
	}
	line[n] = 0;
	line[strcspn(line, "\r\n")] = 0;
	out = fdopen(fd, "w");
	if (!out) {
		close(fd);
		return;
	}
	if (!strcmp(line, "info")) {
		write_info(out, d);
	} else if (!strcmp(line, "disconnect") || !strcmp(line, "disconnect force")) {
		char why[128];

		for (int i = 0; !strchr(line, ' ') && i < d->nr_ublk; i++) {
			if (ublk_dev_in_use(d->ublk[i], why, sizeof(why))) {
				fprintf(out, "busy %s is %s: unmount or close it, or use --force\n",
					ublk_dev_path(d->ublk[i]), why);
				fclose(out);
				return;
			}
		}
		/*
		 * Answer first, then tear down: the caller waits for this
		 * process to exit, with its own bound, and whatever that bound
		 * says, the teardown here runs to its end.
		 */
		nvmf_info("disconnect requested");
		fprintf(out, "ok %d\n", (int)getpid());
		d->stop = true;
	} else {
		fprintf(out, "error unknown request '%s'\n", line);
	}
	fclose(out);
}

static void *attempt_main(void *arg)
{
	struct attempt *at = arg;
	uint64_t one = 1;

	at->donor = NULL;
	at->rc = nvmf_ctrl_reconnect_prepare(at->ctrl, at->cancel_efd, &at->donor, at->err,
					     sizeof(at->err));
	if (write(at->done_efd, &one, sizeof(one)) < 0)
		nvmf_warn("reconnect attempt: cannot report: %s", strerror(errno));
	return NULL;
}

static int attempt_start(struct daemon *d)
{
	struct attempt *at = &d->attempt;
	uint64_t v;
	int rc;

	/* Drain leftovers of an earlier attempt. */
	if (read(at->cancel_efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return -errno;
	if (read(at->done_efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return -errno;
	at->ctrl = d->ctrl;
	rc = -pthread_create(&at->thread, NULL, attempt_main, at);
	if (rc == 0)
		at->running = true;
	return rc;
}

/*
 * The association failed: reconnect every reconnect_delay seconds until it
 * is live again (0), ctrl_loss_tmo runs out, or a signal or disconnect asks
 * us to stop (<0). Devices stay; the I/O workers hold their requests, and
 * after fast_io_fail_tmo they fail them instead. Each attempt runs on its
 * own thread: signals and control requests are served meanwhile, and a
 * stop cancels the attempt at once. Main thread.
 */
static int reconnect_until_live(struct daemon *d)
{
	const struct connect_args *a = d->args;
	struct attempt *at = &d->attempt;
	uint64_t start = nvmf_now_ns(), next = start + (uint64_t)a->reconnect_delay * 1000000000ull;
	bool failing_fast = false;
	unsigned int attempt = 0;

	d->reconnecting = true;
	while (!d->stop) {
		uint64_t now = nvmf_now_ns();
		double elapsed = (double)(now - start) / 1e9;
		struct pollfd pfd[3] = {
			{ .fd = d->sig_fd, .events = POLLIN },
			{ .fd = d->listen_fd, .events = POLLIN },
			/*
			 * Only while an attempt runs: a failed attempt leaves
			 * done_efd readable until the next one starts (it drains
			 * it), and polling it meanwhile spun this thread for the
			 * whole reconnect delay.
			 */
			{ .fd = at->running ? at->done_efd : -1, .events = POLLIN },
		};
		int ms = next > now ? (int)((next - now) / 1000000) + 1 : 0;

		if (a->fast_io_fail_tmo >= 0 && !failing_fast && elapsed >= a->fast_io_fail_tmo) {
			nvmf_warn("fast-io-fail-tmo (%d s): failing I/O until reconnected",
				  a->fast_io_fail_tmo);
			hold_io(d, false);
			failing_fast = true;
		}
		if (a->ctrl_loss_tmo > 0 && elapsed >= a->ctrl_loss_tmo) {
			nvmf_err("controller lost: no reconnect within ctrl-loss-tmo (%d s)",
				 a->ctrl_loss_tmo);
			attempt_cancel(d);
			hold_io(d, false);
			d->reconnecting = false;
			return -ETIMEDOUT;
		}
		if (at->running)
			ms = 1000;	/* the attempt's end wakes us */
		if (poll(pfd, 3, ms > 1000 ? 1000 : ms) < 0 && errno != EINTR)
			return -errno;
		if (pfd[0].revents)
			break;		/* a signal: the main loop reads it */
		if (pfd[1].revents & POLLIN) {
			serve_client(d);
			continue;
		}
		if (at->running && (pfd[2].revents & POLLIN)) {
			pthread_join(at->thread, NULL);
			at->running = false;
			if (at->rc == 0) {
				nvmf_ctrl_reconnect_adopt(d->ctrl, at->donor);
				at->donor = NULL;
				d->reconnects++;
				nvmf_warn("reconnected after %.1f s (attempt %u, cntlid %u)",
					  (double)(nvmf_now_ns() - start) / 1e9, attempt,
					  d->ctrl->cntlid);
				if (failing_fast)
					hold_io(d, true);
				d->reconnecting = false;
				/*
				 * No events are dropped here: if a queue failed right
				 * after the swap, EV_FAILED is pending and the state is
				 * FAILED, and the main loop reconnects again.
				 */
				return 0;
			}
			nvmf_warn("reconnect attempt %u failed: %s", attempt, at->err);
			next = nvmf_now_ns() + (uint64_t)a->reconnect_delay * 1000000000ull;
			continue;
		}
		if (at->running || nvmf_now_ns() < next)
			continue;
		attempt++;
		if (attempt_start(d) < 0) {
			nvmf_err("cannot start a reconnect attempt: %s", strerror(errno));
			next = nvmf_now_ns() + (uint64_t)a->reconnect_delay * 1000000000ull;
		}
	}
	attempt_cancel(d);
	hold_io(d, false);
	d->reconnecting = false;
	return -EINTR;
}

/* cuse_opts.reset: runs on a CUSE thread, waits for the main loop to reset. */
static int request_reset(void *arg)
{
	struct daemon *d = arg;
	struct reset_call *r = &d->reset;
	uint64_t one = 1;
	int rc;

	pthread_mutex_lock(&r->lock);
	while (r->pending && !r->closed)	/* one reset at a time */
		pthread_cond_wait(&r->cond, &r->lock);
	if (r->closed) {
		pthread_mutex_unlock(&r->lock);
		return -ESHUTDOWN;
	}
	r->pending = true;
	r->done = false;
	pthread_mutex_unlock(&r->lock);
	if (write(r->efd, &one, sizeof(one)) < 0)
		return -errno;
	pthread_mutex_lock(&r->lock);
	while (!r->done)
		pthread_cond_wait(&r->cond, &r->lock);
	rc = r->result;
	r->pending = false;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	return rc;
}

/*
 * Controller reset (NVME_IOCTL_RESET), on the main thread: like a
 * connection loss, but on purpose: hold I/O, build a new association,
 * swap it in, replay. The devices stay. A signal cancels the connect.
 */
static void do_reset(struct daemon *d)
{
	struct reset_call *r = &d->reset;
	struct nvmf_ctrl *donor;
	char err[512];
	uint64_t v;
	int rc;

	if (read(r->efd, &v, sizeof(v)) < 0)
		return;
	nvmf_warn("controller reset requested");
	hold_io(d, true);
	rc = nvmf_ctrl_reconnect_prepare(d->ctrl, d->sig_fd, &donor, err, sizeof(err));
	if (rc < 0) {
		nvmf_err("reset failed: %s", err);
	} else {
		nvmf_ctrl_reconnect_adopt(d->ctrl, donor);
		nvmf_warn("controller reset done (cntlid %u)", d->ctrl->cntlid);
	}
	if (!d->args->ctrl_loss_tmo)
		hold_io(d, false);
	pthread_mutex_lock(&r->lock);
	r->result = rc;
	r->done = true;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

static int daemon_loop(struct daemon *d)
{
	struct nvmf_ctrl *c = d->ctrl;

	while (!d->stop) {
		struct pollfd pfd[4] = {
			{ .fd = d->sig_fd, .events = POLLIN },
			{ .fd = d->listen_fd, .events = POLLIN },
			{ .fd = nvmf_ctrl_event_fd(c), .events = POLLIN },
			{ .fd = d->reset.efd, .events = POLLIN },
		};
		int rc;

		rc = poll(pfd, 4, -1);
		if (rc < 0 && errno != EINTR)
			return -errno;
		if (pfd[0].revents) {
			struct signalfd_siginfo si;

			if (read(d->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				nvmf_info("signal %u, disconnecting", si.ssi_signo);
			return 0;
		}
		if (pfd[2].revents & POLLIN) {
			unsigned int ev = nvmf_ctrl_take_events(c);

			if (ev & NVMF_CTRL_EV_NS_CHANGED) {
				char err[256];

				nvmf_info("namespace list changed");
				if (d->cuse && cuse_ctrl_sync_ns(d->cuse, err, sizeof(err)) < 0)
					nvmf_warn("namespace nodes: %s", err);
				ublk_sync(d);
			}
			/*
			 * The state says whether the association is down, not the
			 * event: a failure of an association already replaced is
			 * stale, and one right after a reconnect is not lost.
			 */
			if ((ev & NVMF_CTRL_EV_FAILED) &&
			    nvmf_ctrl_get_state(c) == NVMF_CTRL_FAILED) {
				if (!d->args->ctrl_loss_tmo)
					return c->err ? c->err : -EIO;
				rc = reconnect_until_live(d);
				if (rc == -EINTR)
					continue;	/* a signal or disconnect: see above */
				if (rc < 0)
					return rc;
				continue;
			}
		}
		if (pfd[3].revents & POLLIN)
			do_reset(d);
		if (pfd[1].revents & POLLIN)
			serve_client(d);
	}
	return 0;
}

/*
 * Connect and, on success, report to @report_fd (the parent's pipe, or -1 in
 * the foreground) and serve until told to stop. Returns the exit code.
 */
static int run_controller(struct connect_args *a, int report_fd)
{
	struct daemon d = { .listen_fd = -1, .sig_fd = -1, .args = a };
	struct cuse_opts cuse_opts = a->cuse;
	struct nvmf_ctrl_opts o;
	char err[512], msg[700];
	sigset_t mask;
	int rc;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	d.sig_fd = signalfd(-1, &mask, SFD_CLOEXEC);
	pthread_mutex_init(&d.reset.lock, NULL);
	pthread_cond_init(&d.reset.cond, NULL);
	d.reset.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	d.attempt.cancel_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	d.attempt.done_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (report_fd >= 0) {
		/* First the pid, so that the waiting command can bound its wait. */
		snprintf(msg, sizeof(msg), "PID %d\n", (int)getpid());
		if (write(report_fd, msg, strlen(msg)) < 0)
			nvmf_warn("cannot report to the parent: %s", strerror(errno));
	}

	d.listen_fd = reg_reserve(a->instance, d.name, err, sizeof(err));
	if (d.listen_fd < 0)
		goto fail;
	nvmf_log_set_prefix(d.name);
	cli_fabrics_to_opts(&a->f, &o);
	o.cancel_fd = d.sig_fd;		/* SIGTERM gives up a connect in progress */
	rc = nvmf_ctrl_connect(&o, &d.ctrl, err, sizeof(err));
	if (rc < 0) {
		reg_release(d.name);
		goto fail;
	}
	rc = nvmf_ctrl_start(d.ctrl);
	if (rc < 0) {
		snprintf(err, sizeof(err), "cannot start the controller's threads: %s",
			 strerror(-rc));
		nvmf_ctrl_disconnect(d.ctrl);
		reg_release(d.name);
		goto fail;
	}
	/* With reconnect on, I/O waits across a connection loss instead of failing. */
	if (a->ctrl_loss_tmo)
		hold_io(&d, true);
	if (!a->no_cuse) {
		cuse_opts.reset = request_reset;
		cuse_opts.reset_arg = &d;
		rc = cuse_ctrl_create(d.ctrl, d.name, &cuse_opts, &d.cuse, err, sizeof(err));
		if (rc < 0) {
			shut_down(&d);
			goto fail;
		}
	}
	if (!a->no_ublk) {
		if (!d.ctrl->nr_ioq)
			snprintf(err, sizeof(err), "ublk disks need I/O queues (-i)");
		rc = d.ctrl->nr_ioq ? ublk_create_all(&d, err, sizeof(err)) : -EINVAL;
		if (rc < 0) {
			shut_down(&d);
			goto fail;
		}
	}
	{
		char devs[300] = "";
		size_t off = 0;

		if (d.cuse)
			off += (size_t)snprintf(devs, sizeof(devs), ": %s", cuse_ctrl_path(d.cuse));
		for (int i = 0; i < d.nr_ublk && off < sizeof(devs) - 40; i++)
			off += (size_t)snprintf(devs + off, sizeof(devs) - off, "%s%s",
						off ? " " : ": ", ublk_dev_path(d.ublk[i]));
		snprintf(msg, sizeof(msg), "OK %s: connected to %s at %s %s:%s, cntlid %u, "
			 "%d I/O queue(s), %d namespace(s)%s\n", d.name, d.ctrl->opts.subnqn,
			 d.ctrl->opts.transport, d.ctrl->opts.traddr, d.ctrl->opts.trsvcid,
			 d.ctrl->cntlid, d.ctrl->nr_ioq, d.ctrl->nr_ns, devs);
	}
	if (report_fd >= 0) {
		if (write(report_fd, msg, strlen(msg)) < 0)
			nvmf_warn("cannot report to the parent: %s", strerror(errno));
		close(report_fd);
	} else {
		fputs(msg + 3, stdout);
		fflush(stdout);
	}
	nvmf_info("%s", msg + 3);

	rc = daemon_loop(&d);
	shut_down(&d);
	close(d.listen_fd);
	return rc < 0 ? 1 : 0;

fail:
	if (report_fd >= 0) {
		snprintf(msg, sizeof(msg), "ERR %s\n", err);
		if (write(report_fd, msg, strlen(msg)) < 0)
			nvmf_warn("cannot report to the parent: %s", strerror(errno));
		close(report_fd);
	} else {
		cli_error("%s", err);
	}
	if (d.listen_fd >= 0)
		close(d.listen_fd);
	return 1;
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
	int n = a->f.nr_io_queues > 0 ? a->f.nr_io_queues : 1;

	return per * (6 + n) + 30000;
}

/*
 * Read the daemon's report ("PID n" then "OK ..." or "ERR ...") from @fd
 * until end of file or @ms pass. Returns the bytes read into @buf (NUL
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

/* Fork a daemon for one controller and wait for its verdict, bounded. */
static int spawn_controller(struct connect_args *a)
{
	char buf[1024], *verdict;
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
		char logpath[512];
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		int logfd;

		close(pfd[0]);
		setsid();
		/* Grandchild: the daemon is not our child's child of a shell job. */
		pid = fork();
		if (pid != 0)
			_exit(pid < 0 ? 1 : 0);
		mkdir(reg_rundir(), 0755);
		snprintf(logpath, sizeof(logpath), "%s/daemon.log", reg_rundir());
		logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		dup2(null, 0);
		dup2(null, 1);
		dup2(logfd >= 0 ? logfd : null, 2);
		_exit(run_controller(a, pfd[1]));
	}
	close(pfd[1]);
	waitpid(pid, &status, 0);
	read_report(pfd[0], buf, sizeof(buf), report_wait_ms(a), &late);
	close(pfd[0]);
	sscanf(buf, "PID %d", &daemon_pid);
	verdict = strchr(buf, '\n');
	verdict = verdict ? verdict + 1 : buf;
	verdict[strcspn(verdict, "\n")] = 0;
	if (!strncmp(verdict, "OK ", 3)) {
		printf("%s\n", verdict + 3);
		return 0;
	}
	if (!strncmp(verdict, "ERR ", 4)) {
		cli_error("%s", verdict + 4);
	} else if (late) {
		cli_error("no report from the controller daemon (pid %d) within %d s: stopped it "
			  "(see %s/daemon.log)", daemon_pid, report_wait_ms(a) / 1000, reg_rundir());
		if (daemon_pid > 0)
			kill(daemon_pid, SIGTERM);	/* it cancels and cleans up */
	} else {
		cli_error("the controller daemon exited before reporting (see %s/daemon.log)",
			  reg_rundir());
	}
	return 1;
}

/* Is there a daemon for this subsystem at this address already? */
static bool already_connected(const struct cli_fabrics *f, char *name, size_t len)
{
	char **names;
	bool found = false;
	int n;

	if (reg_names(&names, &n) < 0)
		return false;
	for (int i = 0; i < n && !found; i++) {
		char *info = NULL, pat[600];

		if (reg_request(names[i], "info\n", &info, 2000) < 0)
			continue;
		snprintf(pat, sizeof(pat), "\"subnqn\":\"%s\",\"transport\":\"%s\",\"traddr\":\"%s\","
			 "\"trsvcid\":\"%s\"", f->subnqn, f->transport, f->traddr,
			 f->trsvcid ? f->trsvcid : "4420");
		if (strstr(info, pat)) {
			snprintf(name, len, "%s", names[i]);
			found = true;
		}
		free(info);
	}
	reg_names_free(names, n);
	return found;
}

static void usage(FILE *out, bool all)
{
	fprintf(out,
		"usage: nvmfuse %s -t tcp -a TRADDR [-s TRSVCID] %s[-q HOSTNQN] [-I HOSTID]\n"
		"         [-i NR_IO_QUEUES] [-Q QUEUE_SIZE] [-k KATO_SECONDS] [-g] [-G]\n"
		"         [--no-cuse] [--no-ublk] [--foreground] [--instance N] [--timeout SECONDS]\n"
		"         [--dev-mode OCTAL] [--dev-owner USER] [--dev-group GROUP]\n"
		CLI_DEVAUTH_USAGE,
		all ? "connect-all" : "connect", all ? "" : "-n SUBNQN ");
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

static int parse_connect(int argc, char **argv, struct connect_args *a, bool all)
{
	static const struct option longopts[] = {
		CLI_FABRICS_LONGOPTS,
		{ "nqn", required_argument, NULL, 'n' },
		{ "hostnqn", required_argument, NULL, 'q' },
		{ "queue-size", required_argument, NULL, 'Q' },
		{ "keep-alive-tmo", required_argument, NULL, 'k' },
		{ "no-cuse", no_argument, NULL, OPT_NO_CUSE },
		{ "no-ublk", no_argument, NULL, OPT_NO_UBLK },
		{ "foreground", no_argument, NULL, OPT_FOREGROUND },
		{ "instance", required_argument, NULL, OPT_INSTANCE },
		{ "dev-mode", required_argument, NULL, OPT_DEV_MODE },
		{ "dev-owner", required_argument, NULL, OPT_DEV_OWNER },
		{ "dev-group", required_argument, NULL, OPT_DEV_GROUP },
		CLI_DEVAUTH_LONGOPTS,
		{ "reconnect-delay", required_argument, NULL, 'c' },
		{ "ctrl-loss-tmo", required_argument, NULL, 'l' },
		{ "fast-io-fail-tmo", required_argument, NULL, OPT_FAST_IO_FAIL },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	long long v;
	int opt, rc;

	memset(a, 0, sizeof(*a));
	cli_fabrics_defaults(&a->f);
	a->instance = -1;
	a->cuse.mode = 0600;
	a->cuse.uid = (uid_t)-1;
	a->cuse.gid = (gid_t)-1;
	a->reconnect_delay = 10;	/* nvme-cli's defaults */
	a->ctrl_loss_tmo = 600;
	a->fast_io_fail_tmo = -1;
	while ((opt = getopt_long(argc, argv, "t:a:s:n:q:I:i:Q:k:c:l:gGh", longopts, NULL)) != -1) {
		rc = cli_fabrics_opt(&a->f, opt, optarg);
		if (rc < 0)
			return -1;
		if (rc)
			continue;
		switch (opt) {
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
		case OPT_FAST_IO_FAIL:
			if (cli_parse_int(optarg, "--fast-io-fail-tmo", -1, 86400, &v) < 0)
				return -1;
			a->fast_io_fail_tmo = (int)v;
			break;
		case OPT_NO_CUSE:
			a->no_cuse = true;
			break;
		case OPT_NO_UBLK:
			a->no_ublk = true;
			break;
		case OPT_FOREGROUND:
			a->foreground = true;
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
			usage(stderr, all);
			return -1;
		}
	}
	if (cli_no_more_args(argc, argv, optind) < 0)
		return -1;
	if (all && a->foreground) {
		cli_error("--foreground serves one controller: use connect, not connect-all");
		return -1;
	}
	return cli_fabrics_finish(&a->f, !all);
}

int cmd_connect(int argc, char **argv)
{
	struct connect_args a;
	char name[REG_NAME_MAX];
	int rc;

	if (parse_connect(argc, argv, &a, false) < 0)
		return 1;
	if (!strcmp(a.f.subnqn, NVMF_DISC_NQN)) {
		cli_error("%s is the discovery subsystem: use 'nvmfuse discover'", NVMF_DISC_NQN);
		cli_fabrics_free(&a.f);
		return 1;
	}
	if (already_connected(&a.f, name, sizeof(name))) {
		cli_error("already connected to %s at %s:%s as %s", a.f.subnqn, a.f.traddr,
			  a.f.trsvcid ? a.f.trsvcid : "4420", name);
		cli_fabrics_free(&a.f);
		return 1;
	}
	rc = a.foreground ? run_controller(&a, -1) : spawn_controller(&a);
	cli_fabrics_free(&a.f);
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
static int fetch_discovery_isolated(struct cli_fabrics *f, struct nvmf_discovery_log **out,
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

int cmd_connect_all(int argc, char **argv)
{
	struct nvmf_discovery_log *log = NULL;
	struct connect_args a;
	uint64_t n = 0;
	int failed = 0, done = 0;

	if (parse_connect(argc, argv, &a, true) < 0)
		return 1;
	if (fetch_discovery_isolated(&a.f, &log, &n) < 0) {
		cli_fabrics_free(&a.f);
		return 1;
	}
	for (uint64_t i = 0; i < n; i++) {
		struct nvmf_disc_log_entry *e = &log->entries[i];
		struct connect_args one = a;
		char name[REG_NAME_MAX];

		if (e->subtype != NVME_NQN_NVME)
			continue;	/* discovery referrals and the discovery subsystem itself */
		if (strcmp(nvmf_trtype_str(e->trtype), a.f.transport)) {
			cli_error("skipping %s: transport %s is not %s", e->subnqn,
				  nvmf_trtype_str(e->trtype), a.f.transport);
			continue;
		}
		one.f.subnqn = e->subnqn;
		one.f.traddr = e->traddr;
		one.f.trsvcid = e->trsvcid;
		/* Like nvme-cli: use what the discovery entry says is supported. */
		if (e->treq & NVMF_TREQ_DISABLE_SQFLOW)
			one.f.disable_sqflow = true;
		if (already_connected(&one.f, name, sizeof(name))) {
			printf("%s: already connected to %s\n", name, e->subnqn);
			continue;
		}
		if (spawn_controller(&one) != 0)
			failed++;
		else
			done++;
	}
	free(log);
	if (!done && !failed)
		printf("no NVMe subsystems in the discovery log\n");
	cli_fabrics_free(&a.f);
	return failed ? 1 : 0;
}
