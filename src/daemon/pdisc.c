/* SPDX-License-Identifier: MIT */
/*
 * The persistent discovery daemon (daemon/pdisc.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "base/log.h"
#include "base/qpair.h"
#include "daemon/ctl_proto.h"
#include "daemon/disc_diff.h"
#include "daemon/pdisc.h"
#include "daemon/registry.h"

extern char **environ;

enum pd_state {
	PD_CONNECTING,		/* the first association, not live yet */
	PD_LIVE,		/* association live, AEN armed */
	PD_RECONNECTING,	/* lost; an attempt every reconnect_delay */
	PD_STOPPING,		/* disconnect request, signal, or ctrl-loss-tmo */
};

static const char *pd_state_str(enum pd_state s)
{
	switch (s) {
	case PD_CONNECTING:	return "connecting";
	case PD_LIVE:		return "live";
	case PD_RECONNECTING:	return "reconnecting";
	case PD_STOPPING:	return "deleting";
	}
	return "unknown";
}

/* "SUBNQN at TRANSPORT TRADDR:TRSVCID" */
#define PD_LABEL_MAX	(NVMF_NQN_SIZE + NVMF_TRADDR_SIZE + NVMF_TRSVCID_SIZE + 32)

/* A connect command started and not reaped yet. */
struct pd_child {
	pid_t pid;
	struct nvmf_disc_key key;	/* what it connects */
	char label[PD_LABEL_MAX];
	/*
	 * The read end of the command's stderr (non-blocking, -1: none): its
	 * lines go to our log under @label (child_output), with a time and
	 * the subsystem they are about.
	 */
	int err_fd;
	char err_buf[512];
	size_t err_len;
};

#define PD_CHILDREN_MAX	64

struct pdisc {
	const struct nvmf_pdisc_opts *o;
	enum pd_state state;
	char name[REG_NAME_MAX];
	int listen_fd, claim_fd, sig_fd;
	struct nvmf_ctrl *ctrl;		/* live association, or NULL */
	/* The connect attempt thread (attempt_main). */
	pthread_t thread;
	bool running;
	int cancel_efd, done_efd;
	struct nvmf_ctrl *donor;	/* what the attempt connected */
	int attempt_rc;
	char attempt_err[512];
	uint64_t lost_ns;		/* when the association was lost */
	uint64_t next_ns;		/* next attempt */
	bool rescan;			/* read the log at the next chance */
	uint64_t retry_ns;		/* a failed read or connect: read again then (0: none) */
	/* The NVM subsystems of the last log read. */
	struct nvmf_disc_key *keys;
	int nkeys;
	uint64_t genctr, changes, reconnects;
	struct pd_child kids[PD_CHILDREN_MAX];
	int nkids;
	/*
	 * With o->stop_disconnects: the subsystem ports its connect commands
	 * were started for and that have not left the log since (disconnected
	 * at the stop).
	 */
	struct nvmf_disc_key *owned;
	int nowned;
	/*
	 * The verdict ("OK" and @ok_msg) waits for the connect commands of
	 * the first log read to end, so that a caller that waits for it (the
	 * sidecar's readiness) finds their controllers there.
	 */
	bool ok_pending;
	int report_fd;			/* the parent's pipe, or -1 (foreground) */
	char ok_msg[700];
};

static void report(int fd, const char *word, const char *text);

/* Say "OK" once the first log's connect commands have ended (ok_pending). */
static void report_ok(struct pdisc *p, bool stopping)
{
	if (!p->ok_pending || (p->nkids && !stopping))
		return;
	p->ok_pending = false;
	if (p->report_fd >= 0) {
		report(p->report_fd, "OK", p->ok_msg);
		/* report_state: the pipe stays, written without blocking. */
		if (stopping || !p->o->report_state ||
		    fcntl(p->report_fd, F_SETFL, O_NONBLOCK) < 0) {
			close(p->report_fd);
			p->report_fd = -1;
		}
	} else {
		printf("%s\n", p->ok_msg);
		fflush(stdout);
	}
}

static void set_state(struct pdisc *p, enum pd_state s)
{
	char line[64];
	int n;

	if (p->state == s)
		return;
	nvmf_info("persistent discovery: %s -> %s", pd_state_str(p->state), pd_state_str(s));
	p->state = s;
	/* After the verdict, a supervisor (report_state) hears of it; a gone one is dropped. */
	if (p->report_fd < 0 || p->ok_pending)
		return;
	n = snprintf(line, sizeof(line), "STATE %s\n", pd_state_str(s));
	if (write(p->report_fd, line, (size_t)n) != n) {
		nvmf_warn("cannot report the state to the supervisor (%s): no more reports",
			  strerror(errno));
		close(p->report_fd);
		p->report_fd = -1;
	}
}

/* ------------------------------------------------------------ connect attempts */

static void *attempt_main(void *arg)
{
	struct pdisc *p = arg;
	struct nvmf_ctrl_opts o = p->o->ctrl;
	uint64_t one = 1;

	o.cancel_fd = p->cancel_efd;
	p->donor = NULL;
	p->attempt_rc = nvmf_ctrl_connect(&o, &p->donor, p->attempt_err, sizeof(p->attempt_err));
	if (write(p->done_efd, &one, sizeof(one)) < 0)
		nvmf_warn("connect attempt: cannot report: %s", strerror(errno));
	return NULL;
}

static int attempt_start(struct pdisc *p)
{
	uint64_t v;
	int rc;

	if (read(p->cancel_efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return -errno;
	if (read(p->done_efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return -errno;
	rc = -pthread_create(&p->thread, NULL, attempt_main, p);
	if (rc == 0)
		p->running = true;
	return rc;
}

/* Join the attempt (cancelled first when @cancel); 0 with p->ctrl live, or -errno. */
static int attempt_join(struct pdisc *p, bool cancel)
{
	uint64_t one = 1;

	if (!p->running)
		return -ECANCELED;
	if (cancel && write(p->cancel_efd, &one, sizeof(one)) < 0)
		nvmf_warn("cannot cancel the connect attempt: %s", strerror(errno));
	pthread_join(p->thread, NULL);
	p->running = false;
	if (p->attempt_rc < 0 || cancel) {
		nvmf_ctrl_disconnect(p->donor);	/* live just as we gave up: closed cleanly */
		p->donor = NULL;
		return p->attempt_rc < 0 ? p->attempt_rc : -ECANCELED;
	}
	p->ctrl = p->donor;
	p->donor = NULL;
	return 0;
}

/* ------------------------------------------------------------ controllers */

/* Does JSON object @o have string member @key equal to @want? */
static bool member_is(struct json_object *o, const char *key, const char *want)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string) &&
	       !strcmp(json_object_get_string(v), want);
}

/*
 * The name of the controller daemon of this run dir serving @k (not a
 * discovery daemon), in @name. 0, or -ENOENT when there is none.
 */
static int find_ctrl(const struct pdisc *p, const struct nvmf_disc_key *k, char *name,
		     size_t len)
{
	const struct nvmf_ctl_request rq = { .op = NVMF_CTL_INFO };
	char **names, err[256];
	int n, rc = -ENOENT;

	if (reg_names(&names, &n) < 0)
		return -ENOENT;
	for (int i = 0; i < n && rc; i++) {
		struct json_object *reply, *c;

		if (!strcmp(names[i], p->name) || reg_call(names[i], &rq, &reply, 2000, err,
							   sizeof(err)) < 0)
			continue;
		if (json_object_object_get_ex(reply, "controller", &c) &&
		    member_is(c, "subnqn", k->subnqn) && member_is(c, "transport", k->transport) &&
		    member_is(c, "traddr", k->traddr) && member_is(c, "trsvcid", k->trsvcid)) {
			snprintf(name, len, "%s", names[i]);
			rc = 0;
		}
		json_object_put(reply);
	}
	reg_names_free(names, n);
	return rc;
}

static void key_label(const struct nvmf_disc_key *k, char *buf, size_t len)
{
	snprintf(buf, len, "%s at %s %s:%s", k->subnqn, k->transport, k->traddr, k->trsvcid);
}

/*
 * This process's environment plus @extra (NULL: none), as a new array of
 * pointers (the strings are not copied; free the array only). NULL when
 * out of memory.
 */
static char **spawn_env(char *const *extra)
{
	size_t n = 0, m = 0;
	char **e;

	while (environ[n])
		n++;
	while (extra && extra[m])
		m++;
	e = calloc(n + m + 1, sizeof(*e));
	if (!e)
		return NULL;
	memcpy(e, environ, n * sizeof(*e));
	if (m)
		memcpy(e + n, extra, m * sizeof(*e));
	return e;
}

/* Remember @k as connected by us (stop_disconnects); out of memory: logged. */
static void owned_add(struct pdisc *p, const struct nvmf_disc_key *k)
{
	struct nvmf_disc_key *n;

	for (int i = 0; i < p->nowned; i++)
		if (nvmf_disc_key_eq(&p->owned[i], k))
			return;
	n = realloc(p->owned, ((size_t)p->nowned + 1) * sizeof(*n));
	if (!n) {
		nvmf_err("%s: out of memory: it will not be disconnected at the stop", k->subnqn);
		return;
	}
	p->owned = n;
	p->owned[p->nowned++] = *k;
}

static void owned_del(struct pdisc *p, const struct nvmf_disc_key *k)
{
	for (int i = 0; i < p->nowned; i++)
		if (nvmf_disc_key_eq(&p->owned[i], k)) {
			p->owned[i] = p->owned[--p->nowned];
			return;
		}
}

/* One line of a connect command's stderr, into our log under its label. */
static void child_line(const struct pd_child *c, const char *line, size_t len)
{
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (len)
		nvmf_warn("%s: %.*s", c->label, (int)len, line);
}

/*
 * Log what @c's command wrote to stderr so far, a line at a time (a line
 * longer than the buffer in pieces); @last: it ended, log the rest too
 * and close the pipe. Never blocks.
 */
static void child_output(struct pd_child *c, bool last)
{
	for (;;) {
		ssize_t n;
		char *nl;

		if (c->err_fd < 0)
			return;
		n = read(c->err_fd, c->err_buf + c->err_len, sizeof(c->err_buf) - c->err_len);
		if (n > 0)
			c->err_len += (size_t)n;
		while ((nl = memchr(c->err_buf, '\n', c->err_len))) {
			size_t k = (size_t)(nl - c->err_buf) + 1;

			child_line(c, c->err_buf, k);
			memmove(c->err_buf, c->err_buf + k, c->err_len - k);
			c->err_len -= k;
		}
		if (c->err_len == sizeof(c->err_buf)) {
			child_line(c, c->err_buf, c->err_len);
			c->err_len = 0;
		}
		if (n > 0)
			continue;
		if (n < 0 && errno == EINTR)
			continue;
		if (last || n == 0) {
			child_line(c, c->err_buf, c->err_len);
			c->err_len = 0;
			if (last) {
				close(c->err_fd);
				c->err_fd = -1;
			}
		}
		return;
	}
}

/* Start the connect command for @k (not waited for: reap_children). */
static void spawn_connect(struct pdisc *p, const struct nvmf_disc_key *k)
{
	const struct nvmf_pdisc_opts *o = p->o;
	char nqn[NVMF_NQN_SIZE + 16], addr[NVMF_TRADDR_SIZE + 16], svc[NVMF_TRSVCID_SIZE + 16];
	char label[PD_LABEL_MAX];
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, dfl;
	char **argv, **envp;
	int n = 0, rc, errp[2];
	pid_t pid;

	key_label(k, label, sizeof(label));
	if (p->nkids >= PD_CHILDREN_MAX) {
		nvmf_warn("%s: %d connect commands still running; next change", label,
			  PD_CHILDREN_MAX);
		p->rescan = true;
		return;
	}
	while (o->connect_argv[n])
		n++;
	argv = calloc((size_t)n + 6, sizeof(*argv));
	if (!argv) {
		nvmf_err("%s: out of memory", label);
		return;
	}
	memcpy(argv, o->connect_argv, (size_t)n * sizeof(*argv));
	/* --opt=VALUE: a value from the target never reads as an option. */
	snprintf(nqn, sizeof(nqn), "--nqn=%s", k->subnqn);
	snprintf(addr, sizeof(addr), "--traddr=%s", k->traddr);
	snprintf(svc, sizeof(svc), "--trsvcid=%s", k->trsvcid);
	argv[n++] = nqn;
	argv[n++] = addr;
	argv[n++] = svc;
	if (k->tls)
		argv[n++] = (char *)"--tls";
	if (k->disable_sqflow)
		argv[n++] = (char *)"--disable-sqflow";
	argv[n] = NULL;
	/* Our stop signals are blocked (signalfd): not the command's. */
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	/* Its stderr comes to us a line at a time (without a pipe: our log as it is). */
	posix_spawn_file_actions_init(&fa);
	if (pipe2(errp, O_CLOEXEC) < 0) {
		errp[0] = errp[1] = -1;
	} else if (posix_spawn_file_actions_adddup2(&fa, errp[1], STDERR_FILENO)) {
		close(errp[0]);
		close(errp[1]);
		errp[0] = errp[1] = -1;
	} else {
		fcntl(errp[0], F_SETFL, O_NONBLOCK);
	}
	envp = spawn_env(o->connect_env);
	rc = envp ? posix_spawn(&pid, o->connect_exe, &fa, &attr, argv, envp) : ENOMEM;
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	free(envp);
	free(argv);
	if (errp[1] >= 0)
		close(errp[1]);
	if (rc) {
		if (errp[0] >= 0)
			close(errp[0]);
		nvmf_err("%s: cannot run %s: %s", label, o->connect_exe, strerror(rc));
		return;
	}
	nvmf_info("%s: connecting (pid %d)", label, (int)pid);
	if (o->stop_disconnects)
		owned_add(p, k);
	p->kids[p->nkids].pid = pid;
	p->kids[p->nkids].key = *k;
	snprintf(p->kids[p->nkids].label, sizeof(p->kids[0].label), "%s", label);
	p->kids[p->nkids].err_fd = errp[0];
	p->kids[p->nkids].err_len = 0;
	p->nkids++;
}

/*
 * A connect command for @k failed: forget @k was in the log, so that the
 * next read (within reconnect_delay) takes it as new and connects it again.
 */
static void connect_failed(struct pdisc *p, const struct nvmf_disc_key *k)
{
	uint64_t at = nvmf_now_ns() + (uint64_t)p->o->reconnect_delay * 1000000000ull;

	for (int i = 0; i < p->nkeys; i++)
		if (nvmf_disc_key_eq(&p->keys[i], k)) {
			p->keys[i] = p->keys[--p->nkeys];
			break;
		}
	if (!p->retry_ns || p->retry_ns > at)
		p->retry_ns = at;
}

/* Reap the connect commands that ended; log what they said, and how they ended. */
static void reap_children(struct pdisc *p)
{
	for (int i = 0; i < p->nkids;) {
		int status;
		pid_t r = waitpid(p->kids[i].pid, &status, WNOHANG);

		child_output(&p->kids[i], r != 0);
		if (r == 0) {
			i++;
			continue;
		}
		if (r < 0)
			nvmf_warn("%s: connect command lost: %s", p->kids[i].label, strerror(errno));
		else if (WIFEXITED(status) && !WEXITSTATUS(status))
			nvmf_info("%s: connected", p->kids[i].label);
		else {
			nvmf_err("%s: connect failed (exit %d; its cause is above); again in %d s",
				 p->kids[i].label,
				 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
				 p->o->reconnect_delay);
			connect_failed(p, &p->kids[i].key);
		}
		p->kids[i] = p->kids[--p->nkids];
	}
}

static void disconnect_key(struct pdisc *p, const struct nvmf_disc_key *k)
{
	const struct nvmf_ctl_request rq = { .op = NVMF_CTL_DISCONNECT };
	struct json_object *reply;
	char name[REG_NAME_MAX], label[PD_LABEL_MAX], err[300];

	key_label(k, label, sizeof(label));
	owned_del(p, k);
	if (!p->o->connect_exe) {
		nvmf_info("%s left the discovery log", label);
		return;
	}
	if (p->o->keep_removed) {
		nvmf_info("%s left the discovery log: kept (--keep-removed)", label);
		return;
	}
	if (find_ctrl(p, k, name, sizeof(name)) < 0) {
		nvmf_info("%s left the discovery log: not connected", label);
		return;
	}
	if (reg_call(name, &rq, &reply, 5000, err, sizeof(err)) < 0) {
		nvmf_err("%s left the discovery log: cannot disconnect %s: %s", label, name, err);
		return;
	}
	json_object_put(reply);
	nvmf_info("%s left the discovery log: %s disconnected", label, name);
}

/* ------------------------------------------------------------ the log */

/*
 * Read the log and act on what changed since the last read: connect what
 * came, disconnect what went. After a (re)connect every entry of the log
 * is looked at (a change may have been missed), and those connected
 * already are left alone. Main thread; 0, or -errno when the association
 * failed meanwhile (the caller reconnects).
 */
static int rescan(struct pdisc *p, bool all)
{
	struct nvmf_discovery_log *log = NULL;
	struct nvmf_disc_key *keys;
	uint64_t n = 0;
	int nk = 0, nadd, ndel, *add, *del, rc;

	p->rescan = false;
	p->retry_ns = 0;
	rc = nvmf_discovery_log(p->ctrl, &log, &n);
	if (rc < 0) {
		/* The change notice stays masked until a read succeeds: try again. */
		nvmf_err("cannot read the discovery log: %s; again in %d s",
			 nvmf_ctrl_error(p->ctrl), p->o->reconnect_delay);
		p->retry_ns = nvmf_now_ns() + (uint64_t)p->o->reconnect_delay * 1000000000ull;
		return nvmf_ctrl_get_state(p->ctrl) == NVMF_CTRL_LIVE ? 0 : rc;
	}
	keys = calloc(n ? n : 1, sizeof(*keys));
	add = calloc(2 * (n ? n : 1), sizeof(*add));	/* the second half: scratch */
	del = calloc(p->nkeys ? (size_t)p->nkeys : 1, sizeof(*del));
	if (!keys || !add || !del) {
		nvmf_err("discovery log: out of memory");
		p->rescan = true;
		goto out;
	}
	for (uint64_t i = 0; i < n; i++) {
		char why[300];

		rc = nvmf_disc_entry_key(&log->entries[i], p->o->ctrl.transport, &keys[nk], why,
					 sizeof(why));
		if (rc > 0)
			nk++;
		else if (rc < 0)
			nvmf_warn("discovery log entry %llu ignored: %s", (unsigned long long)i, why);
	}
	p->genctr = le64toh(log->genctr);
	if (all) {
		int unused;

		/* Every entry; and what left while we were away, old list against new. */
		nvmf_disc_diff(NULL, 0, keys, nk, add, &nadd, del, &unused);
		nvmf_disc_diff(p->keys, p->nkeys, keys, nk, add + n, &unused, del, &ndel);
	} else {
		nvmf_disc_diff(p->keys, p->nkeys, keys, nk, add, &nadd, del, &ndel);
	}
	nvmf_info("discovery log: generation %llu, %d NVM subsystem port(s): %d to look at, "
		  "%d gone", (unsigned long long)p->genctr, nk, nadd, ndel);
	for (int i = 0; i < ndel; i++)
		disconnect_key(p, &p->keys[del[i]]);
	for (int i = 0; i < nadd; i++) {
		char name[REG_NAME_MAX], label[PD_LABEL_MAX];

		key_label(&keys[add[i]], label, sizeof(label));
		if (!p->o->connect_exe)
			nvmf_info("%s is in the discovery log", label);
		else if (find_ctrl(p, &keys[add[i]], name, sizeof(name)) == 0)
			nvmf_info("%s: already connected as %s", label, name);
		else
			spawn_connect(p, &keys[add[i]]);
	}
	free(p->keys);
	p->keys = keys;
	p->nkeys = nk;
	keys = NULL;
out:
	free(keys);
	free(add);
	free(del);
	free(log);
	return 0;
}

/*
 * The stop with stop_disconnects: wait for the connect commands still
 * running (up to PDISC_STOP_WAIT_S), then disconnect the controllers of
 * the subsystem ports they were started for.
 */
static void stop_owned(struct pdisc *p)
{
	const struct nvmf_ctl_request rq = { .op = NVMF_CTL_DISCONNECT };
	uint64_t deadline = nvmf_now_ns() + PDISC_STOP_WAIT_S * 1000000000ull;

	reap_children(p);
	if (p->nkids)
		nvmf_info("stopping: waiting up to %d s for %d connect command(s)",
			  PDISC_STOP_WAIT_S, p->nkids);
	while (p->nkids && nvmf_now_ns() < deadline) {
		poll(NULL, 0, 100);
		reap_children(p);
	}
	for (int i = 0; i < p->nkids; i++)
		nvmf_warn("%s: connect command %d still runs at the stop: its controller may be "
			  "left", p->kids[i].label, (int)p->kids[i].pid);
	for (int i = 0; i < p->nowned; i++) {
		char name[REG_NAME_MAX], label[PD_LABEL_MAX], err[300];
		struct json_object *reply;

		key_label(&p->owned[i], label, sizeof(label));
		if (find_ctrl(p, &p->owned[i], name, sizeof(name)) < 0)
			continue;	/* failed to connect, or gone already */
		if (reg_call(name, &rq, &reply, 5000, err, sizeof(err)) < 0) {
			nvmf_err("stopping: cannot disconnect %s (%s): %s", name, label, err);
			continue;
		}
		json_object_put(reply);
		nvmf_info("stopping: %s (%s) disconnected", name, label);
	}
}

/* ------------------------------------------------------------ control socket */

static struct json_object *info_json(const struct pdisc *p)
{
	const struct nvmf_ctrl_opts *o = p->ctrl ? &p->ctrl->opts : &p->o->ctrl;
	struct json_object *c = json_object_new_object(), *s = json_object_new_object();

#define STR(obj, k, v) json_object_object_add(obj, k, (v) ? json_object_new_string(v) : NULL)
	STR(c, "name", p->name);
	json_object_object_add(c, "pid", json_object_new_int((int)getpid()));
	STR(c, "log", nvmf_log_path());
	STR(c, "subnqn", o->subnqn);
	STR(c, "transport", o->transport);
	STR(c, "traddr", o->traddr);
	STR(c, "trsvcid", o->trsvcid);
	STR(c, "hostnqn", o->hostnqn);
	STR(c, "hostid", o->hostid);
	json_object_object_add(c, "cntlid", p->ctrl ? json_object_new_int(p->ctrl->cntlid) : NULL);
	STR(c, "state", pd_state_str(p->state));
	json_object_object_add(c, "discovery", json_object_new_boolean(true));
	STR(c, "device", NULL);
	json_object_object_add(c, "namespaces", json_object_new_array());
	json_object_object_add(s, "generation", json_object_new_uint64(p->genctr));
	json_object_object_add(s, "subsystems", json_object_new_int(p->nkeys));
	json_object_object_add(s, "log_changes", json_object_new_uint64(p->changes));
	json_object_object_add(s, "reconnects", json_object_new_uint64(p->reconnects));
	json_object_object_add(c, "stats", s);
#undef STR
	return c;
}

static void serve_client(struct pdisc *p)
{
	struct nvmf_ctl_request rq;
	struct json_object *r = NULL;
	int fd = reg_accept(p->listen_fd, &rq);

	if (fd < 0)
		return;
	switch (rq.op) {
	case NVMF_CTL_INFO:
		r = nvmf_ctl_reply_ok();
		if (r)
			json_object_object_add(r, "controller", info_json(p));
		break;
	case NVMF_CTL_DISCONNECT:
		if (rq.keep_disks) {
			r = nvmf_ctl_reply_error("a discovery controller has no disks to keep");
			break;
		}
		nvmf_info("disconnect requested");
		set_state(p, PD_STOPPING);
		r = nvmf_ctl_reply_ok();
		if (r)
			json_object_object_add(r, "pid", json_object_new_int((int)getpid()));
		break;
	case NVMF_CTL_ADD_PATH:
	case NVMF_CTL_REMOVE_PATH:
		r = nvmf_ctl_reply_error("a discovery controller has no paths (multipath is for "
					 "NVM subsystems)");
		break;
	}
	reg_reply(fd, r);
}

/* ------------------------------------------------------------ main loop */

static void lost(struct pdisc *p, const char *why)
{
	nvmf_warn("discovery controller lost: %s; reconnecting every %d s", why,
		  p->o->reconnect_delay);
	nvmf_ctrl_disconnect(p->ctrl);
	p->ctrl = NULL;
	p->lost_ns = nvmf_now_ns();
	p->next_ns = p->lost_ns;	/* the first attempt at once */
	set_state(p, PD_RECONNECTING);
}

/* The main loop until stopped; 0, or -errno (ctrl-loss-tmo). */
static int pd_loop(struct pdisc *p)
{
	while (p->state != PD_STOPPING) {
		struct pollfd pfd[4] = {
			{ .fd = p->sig_fd, .events = POLLIN },
			{ .fd = p->listen_fd, .events = POLLIN },
			{ .fd = -1 },
			{ .fd = -1 },
		};
		uint64_t now = nvmf_now_ns();
		int ms = 1000;	/* also reaps connect commands */

		if (p->state == PD_LIVE) {
			pfd[2].fd = nvmf_ctrl_event_fd(p->ctrl);
			pfd[2].events = POLLIN;
			pfd[3].fd = p->ctrl->adminq->ops->pollfd(p->ctrl->adminq, &pfd[3].events);
			ms = nvmf_ctrl_next_timeout_ms(p->ctrl);
			if (p->retry_ns) {
				int wait = p->retry_ns > now ?
					   (int)((p->retry_ns - now) / 1000000) + 1 : 0;

				if (wait < ms)
					ms = wait;
			}
		} else if (p->running) {
			pfd[2].fd = p->done_efd;
			pfd[2].events = POLLIN;
		} else {
			int wait = p->next_ns > now ? (int)((p->next_ns - now) / 1000000) + 1 : 0;

			if (wait < ms)
				ms = wait;
		}
		if (poll(pfd, 4, ms) < 0 && errno != EINTR)
			return -errno;
		reap_children(p);
		report_ok(p, false);
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(p->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				nvmf_info("signal %u, stopping", si.ssi_signo);
				set_state(p, PD_STOPPING);
			}
		}
		if (pfd[1].revents & POLLIN)
			serve_client(p);
		if (p->state == PD_STOPPING)
			break;
		if (p->state == PD_LIVE) {
			if (nvmf_ctrl_service(p->ctrl) < 0) {
				lost(p, nvmf_ctrl_error(p->ctrl));
				continue;
			}
			if (nvmf_ctrl_take_events(p->ctrl) & NVMF_CTRL_EV_DISC_CHANGED) {
				nvmf_info("discovery log page change notice");
				p->changes++;
				p->rescan = true;
			}
			if (p->retry_ns && nvmf_now_ns() >= p->retry_ns)
				p->rescan = true;
			if (p->rescan && rescan(p, false) < 0)
				lost(p, nvmf_ctrl_error(p->ctrl));
			continue;
		}
		/* RECONNECTING */
		if (p->running && (pfd[2].revents & POLLIN)) {
			if (attempt_join(p, false) == 0) {
				p->reconnects++;
				p->retry_ns = 0;
				nvmf_info("discovery controller reconnected, cntlid %u",
					  p->ctrl->cntlid);
				set_state(p, PD_LIVE);
				if (rescan(p, true) < 0)
					lost(p, nvmf_ctrl_error(p->ctrl));
				continue;
			}
			nvmf_info("reconnect attempt failed: %s", p->attempt_err);
			p->next_ns = nvmf_now_ns() + (uint64_t)p->o->reconnect_delay * 1000000000ull;
		}
		now = nvmf_now_ns();
		if (p->o->ctrl_loss_tmo >= 0 &&
		    now - p->lost_ns >= (uint64_t)p->o->ctrl_loss_tmo * 1000000000ull) {
			nvmf_err("discovery controller lost: no reconnect within ctrl-loss-tmo "
				 "(%d s)", p->o->ctrl_loss_tmo);
			return -ETIMEDOUT;
		}
		if (!p->running && now >= p->next_ns) {
			int rc = attempt_start(p);

			if (rc < 0) {
				nvmf_err("cannot start a reconnect attempt: %s", strerror(-rc));
				p->next_ns = now + (uint64_t)p->o->reconnect_delay * 1000000000ull;
			}
		}
	}
	return 0;
}

/* Wait for the first association, serving signals and requests. 0 or -errno. */
static int connect_first(struct pdisc *p, char *err, size_t errlen)
{
	int rc = attempt_start(p);

	if (rc < 0) {
		snprintf(err, errlen, "cannot start the connect thread: %s", strerror(-rc));
		return rc;
	}
	while (p->state == PD_CONNECTING) {
		struct pollfd pfd[3] = {
			{ .fd = p->sig_fd, .events = POLLIN },
			{ .fd = p->listen_fd, .events = POLLIN },
			{ .fd = p->done_efd, .events = POLLIN },
		};

		if (poll(pfd, 3, -1) < 0 && errno != EINTR)
			break;
		if (pfd[2].revents & POLLIN) {
			rc = attempt_join(p, false);
			if (rc < 0)
				snprintf(err, errlen, "%s", p->attempt_err);
			return rc;
		}
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(p->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				set_state(p, PD_STOPPING);
		}
		if (pfd[1].revents & POLLIN)
			serve_client(p);
	}
	attempt_join(p, true);
	snprintf(err, errlen, "stopped while connecting");
	return -EINTR;
}

/* "@word @text\n" on the parent's pipe @fd (none: -1). */
static void report(int fd, const char *word, const char *text)
{
	char msg[700];

	if (fd < 0)
		return;
	snprintf(msg, sizeof(msg), "%s %s\n", word, text);
	if (write(fd, msg, strlen(msg)) < 0)
		nvmf_warn("cannot report to the parent: %s", strerror(errno));
}

int nvmf_pdisc_run(const struct nvmf_pdisc_opts *o, int report_fd)
{
	struct pdisc p = { .o = o, .state = PD_CONNECTING, .listen_fd = -1, .claim_fd = -1,
			   .sig_fd = -1, .cancel_efd = -1, .done_efd = -1, .report_fd = -1 };
	char err[512] = "", pid[32];
	sigset_t mask;
	int rc = -EINVAL;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	p.sig_fd = signalfd(-1, &mask, SFD_CLOEXEC);
	p.cancel_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	p.done_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	report(report_fd, "PID", pid);
	if (p.sig_fd < 0 || p.cancel_efd < 0 || p.done_efd < 0) {
		snprintf(err, sizeof(err), "cannot create the daemon's fds: %s", strerror(errno));
		goto fail;
	}
	if (o->ctrl.kato_s <= 0 || strcmp(o->ctrl.subnqn, NVME_DISC_SUBSYS_NAME)) {
		snprintf(err, sizeof(err), "persistent discovery needs the discovery NQN and a "
			 "keep-alive");
		goto fail;
	}
	p.listen_fd = reg_reserve(-1, p.name, &p.claim_fd, err, sizeof(err));
	if (p.listen_fd < 0)
		goto fail;
	nvmf_log_set_ctrl(p.name);
	if (o->log_file) {
		char path[256];

		snprintf(path, sizeof(path), "%s/%s.log", reg_rundir(), p.name);
		rc = nvmf_log_open(path);
		if (rc < 0) {
			snprintf(err, sizeof(err), "cannot open the log %s: %s", path,
				 strerror(-rc));
			reg_release(p.name);
			goto fail;
		}
		report(report_fd, "LOG", path);
	}
	rc = connect_first(&p, err, sizeof(err));
	if (rc < 0) {
		reg_release(p.name);
		goto fail;
	}
	set_state(&p, PD_LIVE);
	rc = rescan(&p, true);
	snprintf(p.ok_msg, sizeof(p.ok_msg), "%s: persistent discovery of %s %s:%s, %d NVM "
		 "subsystem port(s) in the log", p.name, o->ctrl.transport, p.ctrl->opts.traddr,
		 p.ctrl->opts.trsvcid, p.nkeys);
	nvmf_info("%s", p.ok_msg + strlen(p.name) + 2);
	p.report_fd = report_fd;
	report_fd = -1;
	p.ok_pending = true;
	if (p.nkids)
		nvmf_info("the verdict waits for %d connect command(s)", p.nkids);
	report_ok(&p, false);
	if (rc < 0)
		lost(&p, nvmf_ctrl_error(p.ctrl));
	rc = pd_loop(&p);
	report_ok(&p, true);	/* stopped before the first connects ended */
	if (p.report_fd >= 0)
		close(p.report_fd);
	if (p.running)
		attempt_join(&p, true);
	nvmf_ctrl_disconnect(p.ctrl);
	if (o->stop_disconnects && o->connect_exe)
		stop_owned(&p);
	/* Otherwise the connect commands already started finish on their own. */
	reap_children(&p);
	free(p.keys);
	free(p.owned);
	reg_release(p.name);
	close(p.listen_fd);
	close(p.claim_fd);
	close(p.sig_fd);
	close(p.cancel_efd);
	close(p.done_efd);
	nvmf_info("persistent discovery stopped");
	return rc < 0 ? 1 : 0;

fail:
	if (report_fd >= 0) {
		report(report_fd, "ERR", err);
		close(report_fd);
	} else {
		fprintf(stderr, "%s: %s\n", o->prog ? o->prog : "nvmfuse", err);
	}
	if (p.listen_fd >= 0)
		close(p.listen_fd);
	if (p.claim_fd >= 0)
		close(p.claim_fd);
	if (p.sig_fd >= 0)
		close(p.sig_fd);
	if (p.cancel_efd >= 0)
		close(p.cancel_efd);
	if (p.done_efd >= 0)
		close(p.done_efd);
	return 1;
}
