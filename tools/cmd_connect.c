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

/* A reset asked for on a CUSE thread, done by the daemon's main thread. */
struct reset_call {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int efd;			/* wakes the main loop */
	bool pending, done;
	int result;
};

struct daemon {
	struct reset_call reset;
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

	for (int i = 0; i < d->ctrl->nr_ioq && d->ctrl->io_workers; i++) {
		struct qp_stats_call sc = { .w = d->ctrl->io_workers[i] };

		nvmf_worker_call(sc.w, copy_qp_stats, &sc);
		timeouts += sc.st.timeouts;
		ddgst += sc.st.ddgst_errors;
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
		",\"io_errors\":%" PRIu64 "}", d->reconnects, timeouts, ddgst, retries, partial,
		requeued, ioerr);
}

static void write_info(FILE *f, const struct daemon *d)
{
	const struct nvmf_ctrl *c = d->ctrl;
	const char *name = d->name;
	char model[41], serial[21], fw[9];

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
	json_str(f, d->reconnecting ? "reconnecting" : nvmf_ctrl_state_str(c->state));
	fprintf(f, ",\"model\":");
	json_str(f, model);
	fprintf(f, ",\"serial\":");
	json_str(f, serial);
	fprintf(f, ",\"firmware\":");
	json_str(f, fw);
	fprintf(f, ",\"device\":");
	json_str(f, d->cuse ? cuse_ctrl_path(d->cuse) : NULL);
	fprintf(f, ",\"namespaces\":[");
	for (int i = 0; i < c->nr_ns; i++) {
		fprintf(f, "%s{\"nsid\":%u,\"lba_size\":%u,\"size\":%" PRIu64
			",\"device\":", i ? "," : "",
			c->ns[i].nsid, c->ns[i].lba_size, c->ns[i].nsze * c->ns[i].lba_size);
		json_str(f, d->cuse ? cuse_ns_path(d->cuse, c->ns[i].nsid) : NULL);
		fprintf(f, ",\"block_device\":");
		json_str(f, ublk_path_of(d, c->ns[i].nsid));
		fprintf(f, "}");
	}
	fprintf(f, "]");
	write_stats(f, d);
	fprintf(f, "}\n");
}

/* ---------------------------------------------------------------- daemon */

struct info_call {
	struct daemon *d;
	FILE *out;
};

/* Runs on the admin worker, which owns the controller's state. */
static void info_on_admin(void *arg)
{
	struct info_call *ic = arg;

	write_info(ic->out, ic->d);
}

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

static void shut_down(struct daemon *d)
{
	if (!d->ctrl)
		return;
	/* A reset still waiting for the main loop will not happen now. */
	pthread_mutex_lock(&d->reset.lock);
	if (d->reset.pending && !d->reset.done) {
		d->reset.result = -ESHUTDOWN;
		d->reset.done = true;
		pthread_cond_broadcast(&d->reset.cond);
	}
	pthread_mutex_unlock(&d->reset.lock);
	cuse_ctrl_destroy(d->cuse);
	d->cuse = NULL;
	ublk_destroy_all(d);
	nvmf_ctrl_stop(d->ctrl);
	nvmf_ctrl_disconnect(d->ctrl);
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
		struct info_call ic = { .d = d, .out = out };

		nvmf_worker_call(d->ctrl->admin_worker, info_on_admin, &ic);
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
		nvmf_info("%s: disconnect requested", d->name);
		shut_down(d);
		fprintf(out, "ok %d\n", (int)getpid());
		d->stop = true;
	} else {
		fprintf(out, "error unknown request '%s'\n", line);
	}
	fclose(out);
}

static void hold_io(struct daemon *d, bool hold)
{
	for (int i = 0; i < d->ctrl->nr_ioq; i++)
		nvmf_worker_hold(d->ctrl->io_workers[i], hold);
}

/*
 * The association failed: reconnect every reconnect_delay seconds until it
 * is live again (0), ctrl_loss_tmo runs out, or a signal or disconnect asks
 * us to stop (<0). Devices stay; the I/O workers hold their requests, and
 * after fast_io_fail_tmo they fail them instead. Control requests are still
 * served meanwhile.
 */
static int reconnect_until_live(struct daemon *d)
{
	const struct connect_args *a = d->args;
	uint64_t start = nvmf_now_ns(), next = start + (uint64_t)a->reconnect_delay * 1000000000ull;
	bool failing_fast = false;
	unsigned int attempt = 0;

	d->reconnecting = true;
	while (!d->stop) {
		uint64_t now = nvmf_now_ns();
		double elapsed = (double)(now - start) / 1e9;
		struct pollfd pfd[2] = {
			{ .fd = d->sig_fd, .events = POLLIN },
			{ .fd = d->listen_fd, .events = POLLIN },
		};
		int ms = next > now ? (int)((next - now) / 1000000) + 1 : 0;

		if (a->fast_io_fail_tmo >= 0 && !failing_fast && elapsed >= a->fast_io_fail_tmo) {
			nvmf_warn("%s: fast-io-fail-tmo (%d s): failing I/O until reconnected",
				  d->name, a->fast_io_fail_tmo);
			hold_io(d, false);
			failing_fast = true;
		}
		if (a->ctrl_loss_tmo > 0 && elapsed >= a->ctrl_loss_tmo) {
			nvmf_err("%s: controller lost: no reconnect within ctrl-loss-tmo (%d s)",
				 d->name, a->ctrl_loss_tmo);
			hold_io(d, false);
			d->reconnecting = false;
			return -ETIMEDOUT;
		}
		if (poll(pfd, 2, ms > 1000 ? 1000 : ms) < 0 && errno != EINTR)
			return -errno;
		if (pfd[0].revents) {
			hold_io(d, false);
			d->reconnecting = false;
			return -EINTR;
		}
		if (pfd[1].revents & POLLIN) {
			serve_client(d);
			continue;
		}
		if (nvmf_now_ns() < next)
			continue;
		{
			char err[512];

			attempt++;
			if (nvmf_ctrl_reconnect(d->ctrl, err, sizeof(err)) == 0) {
				d->reconnects++;
				nvmf_warn("%s: reconnected after %.1f s (attempt %u, cntlid %u)",
					  d->name, (double)(nvmf_now_ns() - start) / 1e9, attempt,
					  d->ctrl->cntlid);
				nvmf_ctrl_take_events(d->ctrl);
				if (failing_fast)
					hold_io(d, true);
				d->reconnecting = false;
				return 0;
			}
			nvmf_warn("%s: reconnect attempt %u failed: %s", d->name, attempt, err);
		}
		next = nvmf_now_ns() + (uint64_t)a->reconnect_delay * 1000000000ull;
	}
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
	while (r->pending)		/* one reset at a time */
		pthread_cond_wait(&r->cond, &r->lock);
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
 * swap it in, replay. The devices stay.
 */
static void do_reset(struct daemon *d)
{
	struct reset_call *r = &d->reset;
	char err[512];
	uint64_t v;
	int rc;

	if (read(r->efd, &v, sizeof(v)) < 0)
		return;
	nvmf_warn("%s: controller reset requested", d->name);
	hold_io(d, true);
	rc = nvmf_ctrl_reconnect(d->ctrl, err, sizeof(err));
	if (rc < 0)
		nvmf_err("%s: reset failed: %s", d->name, err);
	else
		nvmf_warn("%s: controller reset done (cntlid %u)", d->name, d->ctrl->cntlid);
	nvmf_ctrl_take_events(d->ctrl);
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
				nvmf_info("%s: signal %u, disconnecting", d->name, si.ssi_signo);
			return 0;
		}
		if (pfd[2].revents & POLLIN) {
			unsigned int ev = nvmf_ctrl_take_events(c);

			if (ev & NVMF_CTRL_EV_FAILED) {
				nvmf_err("%s: controller failed: %s", d->name, nvmf_ctrl_error(c));
				if (!d->args->ctrl_loss_tmo)
					return c->err ? c->err : -EIO;
				rc = reconnect_until_live(d);
				if (rc < 0)
					return d->stop ? 0 : rc;
				continue;
			}
			if (ev & NVMF_CTRL_EV_NS_CHANGED) {
				char err[256];

				nvmf_info("%s: namespace list changed", d->name);
				if (d->cuse && cuse_ctrl_sync_ns(d->cuse, err, sizeof(err)) < 0)
					nvmf_warn("%s: namespace nodes: %s", d->name, err);
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

	d.listen_fd = reg_reserve(a->instance, d.name, err, sizeof(err));
	if (d.listen_fd < 0)
		goto fail;
	nvmf_log_set_prefix(d.name);
	cli_fabrics_to_opts(&a->f, &o);
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

/* Fork a daemon for one controller and wait for its verdict. */
static int spawn_controller(struct connect_args *a)
{
	char buf[1024];
	size_t len = 0;
	int pfd[2], status;
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
	len = read_full(pfd[0], buf, sizeof(buf) - 1);
	close(pfd[0]);
	buf[len] = 0;
	buf[strcspn(buf, "\n")] = 0;
	if (!strncmp(buf, "OK ", 3)) {
		printf("%s\n", buf + 3);
		return 0;
	}
	if (!strncmp(buf, "ERR ", 4))
		cli_error("%s", buf + 4);
	else
		cli_error("the controller daemon exited before reporting (see %s/daemon.log)",
			  reg_rundir());
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
