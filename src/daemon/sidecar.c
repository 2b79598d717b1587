/* SPDX-License-Identifier: MIT */
/* The sidecar supervisor: see daemon/sidecar.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "base/log.h"
#include "daemon/registry.h"
#include "daemon/sidecar.h"

#define SC_BACKOFF_MIN_S	1
#define SC_BACKOFF_MAX_S	30
#define SC_STABLE_S		30	/* RUNNING this long: the backoff starts over */
#define SC_POLL_MS		1000	/* readiness check period, for controllers not live */
#define SC_SWEEP_MS		30000	/* every controller asked, live ones too */
#define SC_INFO_MS		1000	/* one info request's bound */
#define SC_REPORT_MAX		2048

/* CLOCK_MONOTONIC in ns: deadlines and backoff. */
static uint64_t sc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

enum sc_state {
	SC_WAITING,		/* no child; started at next_start_ns */
	SC_STARTING,		/* child forked, no "OK" report yet */
	SC_RUNNING,		/* the child reported its devices */
	SC_STOPPING,		/* SIGTERM sent, child not reaped yet */
	SC_STOPPED,		/* reaped after the stop (or never started) */
};

static const char *sc_state_str(enum sc_state s)
{
	switch (s) {
	case SC_WAITING: return "waiting";
	case SC_STARTING: return "starting";
	case SC_RUNNING: return "running";
	case SC_STOPPING: return "stopping";
	case SC_STOPPED: return "stopped";
	}
	return "unknown";
}

struct sc_child {
	const struct nvmf_sidecar_ctrl *cfg;
	char label[600];	/* "SUBNQN at TRANSPORT TRADDR:TRSVCID", for messages */
	enum sc_state state;
	pid_t pid;
	int report_fd;		/* STARTING: the read end of the child's report pipe */
	char report[SC_REPORT_MAX];
	size_t report_len;
	size_t report_done;	/* bytes of report[] already taken as lines */
	char name[REG_NAME_MAX];	/* nvmeN once reserved (the LOG line), else "" */
	char last_error[300];	/* the child's ERR report, or how it ended */
	uint64_t next_start_ns;	/* WAITING */
	uint64_t running_since_ns;
	int backoff_s;
	unsigned int starts;
	bool live;		/* last readiness check: live with its devices */
	bool recheck;		/* its report says something changed: ask it */
	bool killed;		/* stopped, but not cleanly (or got SIGKILL after the bound) */
	bool stop_from_running;	/* it was RUNNING when the stop began */
};

struct sidecar {
	const struct nvmf_sidecar_opts *o;
	struct sc_child *c;
	int n;
	int sig_fd;
	bool stopping;
	bool ready;		/* the ready file exists (written by us) */
	bool state_dirty;	/* sidecar.json needs rewriting */
};

static void set_state(struct sidecar *s, struct sc_child *c, enum sc_state st)
{
	if (c->state == st)
		return;
	nvmf_info("%s: %s -> %s", c->label, sc_state_str(c->state), sc_state_str(st));
	c->state = st;
	s->state_dirty = true;
}

/* Write @data to @path atomically: a temp file beside it, fsync, rename. */
static int write_atomic(const char *path, const char *data)
{
	char tmp[4200];
	size_t len = strlen(data), off = 0;
	int fd, rc = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			rc = -errno;
			break;
		}
		off += (size_t)w;
	}
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}

static void state_path(char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", reg_rundir(), NVMF_SIDECAR_STATE);
}

/* RUNDIR/sidecar.json: what `nvmfuse status` reads (see nvmfuse(8)). */
static void write_state(struct sidecar *s)
{
	struct json_object *root = json_object_new_object(), *arr = json_object_new_array();
	char path[4096];
	int rc = -ENOMEM;

	s->state_dirty = false;
	if (!root || !arr)
		goto out;
	json_object_object_add(root, "version", json_object_new_int(1));
	json_object_object_add(root, "pid", json_object_new_int(getpid()));
	json_object_object_add(root, "ready", json_object_new_boolean(s->ready));
	for (int i = 0; i < s->n; i++) {
		const struct sc_child *c = &s->c[i];
		const struct nvmf_ctrl_opts *co = &c->cfg->svc.ctrl;
		struct json_object *e = json_object_new_object();

		if (!e)
			goto out;
		json_object_object_add(e, "subnqn", json_object_new_string(co->subnqn));
		json_object_object_add(e, "transport", json_object_new_string(co->transport));
		json_object_object_add(e, "traddr", json_object_new_string(co->traddr));
		json_object_object_add(e, "trsvcid", json_object_new_string(co->trsvcid));
		json_object_object_add(e, "hostnqn", json_object_new_string(co->hostnqn));
		json_object_object_add(e, "hostid", json_object_new_string(co->hostid));
		json_object_object_add(e, "optional", json_object_new_boolean(c->cfg->optional));
		json_object_object_add(e, "state", json_object_new_string(sc_state_str(c->state)));
		json_object_object_add(e, "name", c->name[0] ? json_object_new_string(c->name) : NULL);
		json_object_object_add(e, "pid", json_object_new_int(c->pid));
		json_object_object_add(e, "starts", json_object_new_int((int)c->starts));
		json_object_object_add(e, "error", c->last_error[0] ?
				       json_object_new_string(c->last_error) : NULL);
		json_object_array_add(arr, e);
	}
	json_object_object_add(root, "controllers", arr);
	arr = NULL;
	state_path(path, sizeof(path));
	{
		const char *text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
		char *line = text ? malloc(strlen(text) + 2) : NULL;

		rc = -ENOMEM;
		if (line) {
			sprintf(line, "%s\n", text);
			rc = write_atomic(path, line);
			free(line);
		}
	}
out:
	json_object_put(arr);
	json_object_put(root);
	if (rc < 0) {
		nvmf_warn("cannot write %s/%s: %s", reg_rundir(), NVMF_SIDECAR_STATE,
			  strerror(-rc));
		s->state_dirty = true;
	}
}

/* In the child, after fork: the service's process. Never returns. */
static void child_main(struct sidecar *s, struct sc_child *c, int report_wr, pid_t parent)
{
	sigset_t none;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	/* Not ours: the sidecar's signalfd and the other children's report pipes. */
	close(s->sig_fd);
	for (int i = 0; i < s->n; i++)
		if (s->c[i].report_fd >= 0)
			close(s->c[i].report_fd);
	/* The sidecar relays stop signals; a terminal's ^C is for it alone. */
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(1);	/* the sidecar died before the line above */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGCHLD, SIG_DFL);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
	}
	/* Standard error goes to RUNDIR/nvmeN.log once the service has its name. */
	if (c->cfg->pdisc)
		_exit(nvmf_pdisc_run(c->cfg->pdisc, report_wr));
	_exit(nvmf_service_run(&c->cfg->svc, report_wr));
}

static void start_child(struct sidecar *s, struct sc_child *c)
{
	pid_t parent = getpid(), pid;
	int pfd[2];

	fflush(NULL);
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		nvmf_err("%s: pipe: %s; retrying in %d s", c->label, strerror(errno), c->backoff_s);
		c->next_start_ns = sc_now_ns() + (uint64_t)c->backoff_s * 1000000000ull;
		return;
	}
	pid = fork();
	if (pid < 0) {
		nvmf_err("%s: fork: %s; retrying in %d s", c->label, strerror(errno), c->backoff_s);
		close(pfd[0]);
		close(pfd[1]);
		c->next_start_ns = sc_now_ns() + (uint64_t)c->backoff_s * 1000000000ull;
		return;
	}
	if (pid == 0) {
		close(pfd[0]);
		child_main(s, c, pfd[1], parent);
	}
	close(pfd[1]);
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	c->pid = pid;
	c->report_fd = pfd[0];
	c->report_len = 0;
	c->report_done = 0;
	c->name[0] = 0;
	c->live = false;
	c->starts++;
	nvmf_info("%s: started controller daemon pid %d (start %u)", c->label, (int)pid,
		  c->starts);
	set_state(s, c, SC_STARTING);
}

static void close_report(struct sc_child *c)
{
	if (c->report_fd >= 0)
		close(c->report_fd);
	c->report_fd = -1;
}

/* Read what the child reported so far; act on its verdict line. */
static void read_report(struct sidecar *s, struct sc_child *c)
{
	for (;;) {
		ssize_t n = read(c->report_fd, c->report + c->report_len,
				 sizeof(c->report) - 1 - c->report_len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;		/* all there is for now */
		if (n <= 0 || c->report_len + (size_t)n >= sizeof(c->report) - 1) {
			close_report(c);	/* end of the report (or too long: the child is odd) */
			break;
		}
		c->report_len += (size_t)n;
	}
	c->report[c->report_len] = 0;
	/*
	 * Lines: "PID n", "LOG path", then "OK nvmeN: ..." or "ERR cause";
	 * each taken once it is whole (its '\n' arrived), or at the end.
	 */
	while (c->report_done < c->report_len) {
		char *line = c->report + c->report_done, *nl = strchr(line, '\n');

		if (!nl && c->report_fd >= 0)
			break;	/* the rest of the line is still to come */
		if (nl)
			*nl = 0;
		c->report_done += strlen(line) + 1;
		if (!strncmp(line, "STATE ", 6)) {
			/* Its state or disks changed (service.h): ask it at the next check. */
			c->recheck = true;
		} else if (!strncmp(line, "OK ", 3)) {
			size_t len = strcspn(line + 3, ":");

			snprintf(c->name, sizeof(c->name), "%.*s", (int)len, line + 3);
			c->last_error[0] = 0;
			c->running_since_ns = sc_now_ns();
			nvmf_info("%s: %s", c->label, line + 3);
			if (c->state == SC_STARTING)
				set_state(s, c, SC_RUNNING);
		} else if (!strncmp(line, "LOG ", 4) && !c->name[0]) {
			/* RUNDIR/nvmeN.log: the name is reserved before the connect. */
			const char *base = strrchr(line + 4, '/');
			size_t len;

			base = base ? base + 1 : line + 4;
			len = strlen(base);
			if (len > 4 && !strcmp(base + len - 4, ".log") && len - 4 < sizeof(c->name))
				snprintf(c->name, sizeof(c->name), "%.*s", (int)(len - 4), base);
		} else if (!strncmp(line, "ERR ", 4)) {
			/* Logged with the child's exit (reap), once. */
			snprintf(c->last_error, sizeof(c->last_error), "%s", line + 4);
		}
	}
	/* A RUNNING child's pipe stays open for STATE lines: keep only the rest. */
	memmove(c->report, c->report + c->report_done, c->report_len - c->report_done + 1);
	c->report_len -= c->report_done;
	c->report_done = 0;
	s->state_dirty = true;
}

static struct sc_child *child_of(struct sidecar *s, pid_t pid)
{
	for (int i = 0; i < s->n; i++)
		if (s->c[i].pid == pid && (s->c[i].state == SC_STARTING ||
					   s->c[i].state == SC_RUNNING ||
					   s->c[i].state == SC_STOPPING))
			return &s->c[i];
	return NULL;
}

static int backoff_max(const struct sc_child *c)
{
	int d = c->cfg->svc.reconnect_delay;

	return d < SC_BACKOFF_MIN_S ? SC_BACKOFF_MIN_S : d > SC_BACKOFF_MAX_S ? SC_BACKOFF_MAX_S : d;
}

/* Reap every child that ended; schedule restarts (not while stopping). */
static void reap(struct sidecar *s)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct sc_child *c = child_of(s, pid);
		char how[80];
		uint64_t now = sc_now_ns();

		if (!c)
			continue;	/* not one of ours (PID 1 reaps orphans too) */
		if (c->report_fd >= 0)
			read_report(s, c);	/* a verdict still in the pipe */
		close_report(c);
		if (WIFEXITED(status))
			snprintf(how, sizeof(how), "exited with status %d", WEXITSTATUS(status));
		else if (WIFSIGNALED(status))
			snprintf(how, sizeof(how), "was killed by signal %d (%s)", WTERMSIG(status),
				 strsignal(WTERMSIG(status)));
		else
			snprintf(how, sizeof(how), "ended (status 0x%x)", (unsigned int)status);
		c->pid = 0;
		c->live = false;
		if (c->state == SC_STOPPING) {
			nvmf_info("%s: daemon %d %s", c->label, (int)pid, how);
			/*
			 * A running daemon stops with 0; one still connecting gives
			 * up with 1, or, just forked, dies of the SIGTERM itself.
			 */
			if (c->stop_from_running ? !WIFEXITED(status) || WEXITSTATUS(status) :
			    !WIFEXITED(status) && !(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM))
				c->killed = true;	/* not a clean stop */
			set_state(s, c, SC_STOPPED);
			continue;
		}
		if (c->state == SC_RUNNING &&
		    now - c->running_since_ns >= (uint64_t)SC_STABLE_S * 1000000000ull)
			c->backoff_s = SC_BACKOFF_MIN_S;
		if (!c->last_error[0] || c->state == SC_RUNNING)
			snprintf(c->last_error, sizeof(c->last_error), "daemon %s", how);
		nvmf_warn("%s: controller daemon %d %s%s%s; restarting in %d s", c->label, (int)pid,
			  how, c->state == SC_RUNNING ? "" : " before it was live: ",
			  c->state == SC_RUNNING ? "" : c->last_error, c->backoff_s);
		c->next_start_ns = now + (uint64_t)c->backoff_s * 1000000000ull;
		/* Doubling, up to the controller's reconnect delay (and SC_BACKOFF_MAX_S). */
		c->backoff_s = c->backoff_s * 2 > backoff_max(c) ? backoff_max(c) : c->backoff_s * 2;
		c->name[0] = 0;
		set_state(s, c, SC_WAITING);
	}
}

/* Ask a RUNNING child whether it is live with its devices. */
static bool check_live(struct sc_child *c)
{
	struct nvmf_ctl_request rq = { .op = NVMF_CTL_INFO };
	struct json_object *reply = NULL, *ctrl, *v, *nss;
	char err[300];
	bool live = false;

	if (c->state != SC_RUNNING || !c->name[0])
		return false;
	if (reg_call(c->name, &rq, &reply, SC_INFO_MS, err, sizeof(err)) < 0) {
		if (c->live)
			nvmf_warn("%s: %s does not answer: %s", c->label, c->name, err);
		return false;
	}
	if (json_object_object_get_ex(reply, "controller", &ctrl) &&
	    json_object_object_get_ex(ctrl, "state", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    !strcmp(json_object_get_string(v), "live"))
		live = true;
	/* Its disks, where it has them, exist (a stale name is not a device). */
	if (live && json_object_object_get_ex(ctrl, "namespaces", &nss) &&
	    json_object_is_type(nss, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(nss); i++) {
			struct json_object *ns = json_object_array_get_idx(nss, i), *bd;
			struct stat st;

			if (json_object_object_get_ex(ns, "block_device", &bd) &&
			    json_object_is_type(bd, json_type_string) &&
			    (stat(json_object_get_string(bd), &st) < 0 || !S_ISBLK(st.st_mode)))
				live = false;
		}
	}
	json_object_put(reply);
	return live;
}

/*
 * Recheck the controllers; write or remove the ready file on a change. A
 * RUNNING controller is asked (an info request) while it is not live,
 * after its report said its state changed, and on a @sweep; a live one is
 * otherwise taken at its word: with hundreds of controllers, asking each
 * one every second kept the guest's CPUs busy (each request wakes the
 * daemon and builds its whole info reply).
 */
static void update_ready(struct sidecar *s, bool sweep)
{
	bool ready = !s->stopping;
	char buf[8192];
	size_t off = 0;

	for (int i = 0; i < s->n; i++) {
		struct sc_child *c = &s->c[i];
		bool ask = sweep || c->recheck || !c->live;
		bool live = c->state == SC_RUNNING && (ask ? check_live(c) : c->live);

		c->recheck = false;

		if (live != c->live) {
			nvmf_info("%s: %s %s", c->label, c->name[0] ? c->name : "-",
				  live ? "is live" : "is not live");
			s->state_dirty = true;
		}
		c->live = live;
		if (!live && !c->cfg->optional)
			ready = false;
		if (live && off < sizeof(buf) - 700)
			off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s %s\n", c->name,
						c->label);
	}
	if (!s->o->ready_file || ready == s->ready)
		return;
	if (ready) {
		int rc = write_atomic(s->o->ready_file, buf);

		if (rc < 0) {
			nvmf_err("cannot write the ready file %s: %s", s->o->ready_file,
				 strerror(-rc));
			return;
		}
		nvmf_warn("ready: every required controller is live; wrote %s", s->o->ready_file);
	} else {
		if (unlink(s->o->ready_file) < 0 && errno != ENOENT)
			nvmf_err("cannot remove the ready file %s: %s", s->o->ready_file,
				 strerror(errno));
		nvmf_warn("not ready: a required controller is not live; removed %s",
			  s->o->ready_file);
	}
	s->ready = ready;
	s->state_dirty = true;
}

/* Handle the signalfd: returns true on a stop signal. */
static bool read_signals(struct sidecar *s)
{
	struct signalfd_siginfo si;
	bool stop = false;

	while (read(s->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			nvmf_warn("%s: stopping every controller", strsignal((int)si.ssi_signo));
			stop = true;
		} else if (si.ssi_signo == SIGHUP) {
			/* The daemons reopen their logs; ours is standard error. */
			for (int i = 0; i < s->n; i++)
				if (s->c[i].pid > 0)
					kill(s->c[i].pid, SIGHUP);
		}
	}
	reap(s);	/* SIGCHLD, or a child that ended meanwhile */
	return stop;
}

static int supervise(struct sidecar *s)
{
	struct pollfd *pfd = calloc((size_t)s->n + 1, sizeof(*pfd));
	uint64_t next_check = 0, next_sweep = 0;

	if (!pfd)
		return -ENOMEM;
	while (!s->stopping) {
		uint64_t now = sc_now_ns(), wake = now + (uint64_t)SC_POLL_MS * 1000000ull;
		struct sc_child *owner[s->n + 1];
		int nfds = 1, timeout;
		bool event = false;

		for (int i = 0; i < s->n; i++) {
			struct sc_child *c = &s->c[i];

			if (c->state == SC_WAITING && c->next_start_ns <= now) {
				start_child(s, c);
				event = true;
			}
			if (c->state == SC_WAITING && c->next_start_ns < wake)
				wake = c->next_start_ns;
		}
		if (s->state_dirty)
			write_state(s);
		if (event || now >= next_check) {
			bool sweep = now >= next_sweep;

			update_ready(s, sweep);
			if (sweep)
				next_sweep = sc_now_ns() + (uint64_t)SC_SWEEP_MS * 1000000ull;
			next_check = sc_now_ns() + (uint64_t)SC_POLL_MS * 1000000ull;
			if (s->state_dirty)
				write_state(s);
		}
		if (next_check < wake)
			wake = next_check;
		pfd[0] = (struct pollfd){ .fd = s->sig_fd, .events = POLLIN };
		for (int i = 0; i < s->n; i++) {
			if (s->c[i].report_fd < 0)
				continue;
			pfd[nfds] = (struct pollfd){ .fd = s->c[i].report_fd, .events = POLLIN };
			owner[nfds++] = &s->c[i];
		}
		now = sc_now_ns();
		timeout = wake > now ? (int)((wake - now) / 1000000) + 1 : 0;
		if (poll(pfd, (nfds_t)nfds, timeout) < 0 && errno != EINTR) {
			nvmf_err("poll: %s", strerror(errno));
			free(pfd);
			return -errno;
		}
		for (int i = 1; i < nfds; i++) {
			if (pfd[i].revents) {
				bool was_running = owner[i]->state == SC_RUNNING;

				read_report(s, owner[i]);
				if ((!was_running && owner[i]->state == SC_RUNNING) ||
				    owner[i]->recheck)
					next_check = 0;	/* check readiness now */
			}
		}
		if (pfd[0].revents & POLLIN) {
			enum sc_state before[s->n];

			for (int i = 0; i < s->n; i++)
				before[i] = s->c[i].state;
			if (read_signals(s))
				s->stopping = true;
			for (int i = 0; i < s->n; i++)
				if (before[i] != s->c[i].state)
					next_check = 0;	/* a child ended: readiness is lost now */
		}
	}
	free(pfd);
	return 0;
}

/* SIGTERM every child, wait up to the bound, then SIGKILL. Returns the exit code. */
static int stop_all(struct sidecar *s)
{
	uint64_t deadline = sc_now_ns() + (uint64_t)s->o->stop_timeout_s * 1000000000ull;
	int left, rc = 0;

	if (s->o->ready_file && unlink(s->o->ready_file) < 0 && errno != ENOENT)
		nvmf_err("cannot remove the ready file %s: %s", s->o->ready_file, strerror(errno));
	s->ready = false;
	for (int i = 0; i < s->n; i++) {
		struct sc_child *c = &s->c[i];

		if (c->state == SC_STARTING || c->state == SC_RUNNING) {
			c->stop_from_running = c->state == SC_RUNNING;
			kill(c->pid, SIGTERM);
			set_state(s, c, SC_STOPPING);
		} else if (c->state == SC_WAITING) {
			set_state(s, c, SC_STOPPED);
		}
	}
	write_state(s);
	for (;;) {
		struct pollfd pfd = { .fd = s->sig_fd, .events = POLLIN };
		uint64_t now = sc_now_ns();

		reap(s);
		left = 0;
		for (int i = 0; i < s->n; i++)
			left += s->c[i].state == SC_STOPPING;
		if (!left || now >= deadline)
			break;
		if (poll(&pfd, 1, (int)((deadline - now) / 1000000) + 1) > 0)
			read_signals(s);	/* SIGCHLD; a second SIGTERM changes nothing */
	}
	for (int i = 0; i < s->n; i++) {
		struct sc_child *c = &s->c[i];

		if (c->state != SC_STOPPING)
			continue;
		nvmf_err("%s: daemon %d did not stop within %d s: killing it (its devices may be "
			 "left; see %s/%s.log)", c->label, (int)c->pid, s->o->stop_timeout_s,
			 reg_rundir(), c->name[0] ? c->name : "nvmeN");
		kill(c->pid, SIGKILL);
		while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
			;
		c->killed = true;
		set_state(s, c, SC_STOPPED);
	}
	for (int i = 0; i < s->n; i++)
		if (s->c[i].killed)
			rc = 1;
	{
		char path[4096];

		state_path(path, sizeof(path));
		unlink(path);
	}
	nvmf_warn("stopped %d controller(s)%s", s->n, rc ? ", not all cleanly" : " cleanly");
	return rc;
}

/*
 * Does another sidecar run in this run dir (its sidecar.json names a live
 * pid other than ours)? Two would fight over the state file and start
 * each controller twice. Logs which one.
 */
static bool other_sidecar(void)
{
	char path[4096];
	struct json_object *root, *v;
	int64_t pid = 0;

	state_path(path, sizeof(path));
	root = json_object_from_file(path);
	if (root && json_object_object_get_ex(root, "pid", &v) &&
	    json_object_is_type(v, json_type_int))
		pid = json_object_get_int64(v);
	json_object_put(root);
	if (pid <= 0 || pid > INT32_MAX || pid == getpid() ||
	    (kill((pid_t)pid, 0) < 0 && errno == ESRCH))
		return false;	/* none, or a stale file: ours to replace */
	nvmf_err("another sidecar (pid %lld) runs in %s (see %s): give each its own --run-dir",
		 (long long)pid, reg_rundir(), path);
	return true;
}

int nvmf_sidecar_run(const struct nvmf_sidecar_opts *o)
{
	struct sidecar s = { .o = o, .n = o->nr_ctrls, .sig_fd = -1 };
	sigset_t mask;
	int rc;

	nvmf_log_set_ctrl("sidecar");
	s.c = calloc((size_t)o->nr_ctrls, sizeof(*s.c));
	if (!s.c) {
		nvmf_err("out of memory");
		return 1;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	s.sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (s.sig_fd < 0) {
		nvmf_err("signalfd: %s", strerror(errno));
		free(s.c);
		return 1;
	}
	if (mkdir(reg_rundir(), 0755) < 0 && errno != EEXIST)
		nvmf_warn("cannot create the run dir %s: %s", reg_rundir(), strerror(errno));
	if (other_sidecar()) {
		close(s.sig_fd);
		free(s.c);
		return 1;
	}
	if (o->ready_file)
		unlink(o->ready_file);	/* a previous run's: not ready yet */
	for (int i = 0; i < s.n; i++) {
		struct sc_child *c = &s.c[i];
		const struct nvmf_ctrl_opts *co = &o->ctrls[i].svc.ctrl;

		c->cfg = &o->ctrls[i];
		c->report_fd = -1;
		c->state = SC_WAITING;
		c->backoff_s = SC_BACKOFF_MIN_S;
		snprintf(c->label, sizeof(c->label), "%s at %s %s:%s%s", co->subnqn, co->transport,
			 co->traddr, co->trsvcid, c->cfg->optional ? " (optional)" : "");
	}
	nvmf_warn("supervising %d controller(s) in %s%s%s", s.n, reg_rundir(),
		  o->ready_file ? "; ready file " : "", o->ready_file ? o->ready_file : "");
	s.state_dirty = true;
	rc = supervise(&s);
	if (rc < 0)
		nvmf_err("supervision failed: %s; stopping", strerror(-rc));
	rc = stop_all(&s) || rc < 0;
	for (int i = 0; i < s.n; i++)
		close_report(&s.c[i]);
	close(s.sig_fd);
	free(s.c);
	return rc;
}
