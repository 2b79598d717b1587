/* SPDX-License-Identifier: MIT */
/*
 * The controller service (see service.h): the daemon that serves one
 * controller, from connect to teardown.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "base/log.h"
#include "cuse/cuse.h"
#include "daemon/registry.h"
#include "daemon/service.h"
#include "daemon/state.h"
#include "host/ana.h"
#include "host/auth.h"
#include "host/identify.h"
#include "host/mpath.h"
#include "host/nvmf.h"
#include "host/worker.h"
#include "ublk/ublk.h"

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
 * A connect in progress on its own thread: the first one (connect_first)
 * or a reconnect attempt, so that the main loop keeps serving signals and
 * control requests meanwhile and can cancel it (cancel_efd) within a poll
 * interval.
 */
struct attempt {
	pthread_t thread;
	bool running;
	int cancel_efd;			/* written to give up */
	int done_efd;			/* the thread finished: result below */
	struct nvmf_ctrl *ctrl;		/* reconnect: read only, options and geometry */
	struct nvmf_ctrl_opts first;	/* first connect: the options (cancel_fd is ours) */
	struct nvmf_ctrl *donor;	/* on success: the new association */
	int rc;
	char err[512];
};

/*
 * A path beyond the first (slot > 0, host/mpath.h): another controller of
 * the subsystem, connected in this process at another address with the
 * daemon's host identity and options (add_path). Its keeper thread owns
 * the controller once it runs (nvmf_ctrl_start): it reconnects it after
 * a loss every reconnect_delay seconds until ctrl_loss_tmo, then marks
 * the path lost (listed until `disconnect -d NAMEpSLOT`). The main
 * thread creates and removes paths; it reads the flags below, atomics.
 */
struct path {
	struct nvmf_mpath_path mp;	/* in the daemon's set; its counters */
	struct daemon *d;
	pthread_t keeper;
	bool keeper_running;
	int stop_efd;			/* readable: the keeper ends, a reconnect gives up */
	bool reconnecting;		/* atomic */
	bool lost;			/* atomic: ctrl-loss-tmo ran out */
	unsigned long reconnects;	/* atomic */
	struct cuse_ctrl *cuse;		/* its controller node, /dev/NAMEpSLOT; NULL with --no-cuse */
	/*
	 * Held while a new association is built and swapped in: by the keeper
	 * for a reconnect, by path_reset() for NVME_IOCTL_RESET on the node.
	 */
	pthread_mutex_t adopt_lock;
};

struct daemon {
	struct reset_call reset;
	struct attempt attempt;
	const struct nvmf_service_opts *args;
	bool reconnecting;
	bool key_refused;		/* a reconnect failed on its key: never again */
	unsigned long reconnects;
	struct nvmf_ctrl *ctrl;		/* path 0: the disks' queues run on its workers */
	/* Multipath: the set (slot 0 is ctrl), the other paths by slot. */
	struct nvmf_mpath mp;
	struct nvmf_mpath_path p0;
	struct path *paths[NVMF_MPATH_MAX];
	bool hold;			/* I/O waits for a path (reconnect on, not failing fast) */
	bool primary_lost;		/* path 0 ran out of ctrl-loss-tmo, others serve */
	int path_efd;			/* a keeper lost its path: the main loop looks */
	struct cuse_ctrl *cuse;		/* char nodes unless --no-cuse */
	struct ublk_dev **ublk;		/* one per namespace when --no-ublk is absent */
	int nr_ublk;
	char name[REG_NAME_MAX];
	char warnings[1024];		/* lines for the command, after its PID line */
	bool keep_disks;		/* leave the disks to the next daemon (handover) */
	int report_fd;			/* the supervisor's, after "OK" (args->report_state), else -1 */
	int listen_fd;
	int claim_fd;			/* the host-wide claim on the instance (registry.h) */
	int sig_fd;			/* SIGTERM, SIGINT: stop (and cancel a connect) */
	int hup_fd;			/* SIGHUP: reopen the log, nothing else */
	bool stop;
	/* creation_guard: reconnects while the main thread creates devices */
	pthread_t guard;
	bool guard_running;
	bool guard_stop;		/* atomic */
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

/* A string member, or null when @s is NULL. */
static void put_str(struct json_object *o, const char *key, const char *s)
{
	json_object_object_add(o, key, s ? json_object_new_string(s) : NULL);
}

/* As put_str(), "" also null: options given or not (the host side, the context). */
static void put_opt(struct json_object *o, const char *key, const char *s)
{
	put_str(o, key, s && s[0] ? s : NULL);
}

/* How the connections leave this host (-w, -f, -T) and the caller's --context. */
static void put_host_side(struct json_object *o, const struct nvmf_ctrl_opts *co,
			  const char *context)
{
	put_opt(o, "host_traddr", co->host_traddr);
	put_opt(o, "host_iface", co->host_iface);
	json_object_object_add(o, "tos", json_object_new_int(co->tos >= 0 ? co->tos : -1));
	put_opt(o, "context", context);
}

static void put_u64(struct json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key, json_object_new_uint64(v));
}

/* "stats": what went wrong and what was done about it, per controller. */
static struct json_object *stats_json(const struct daemon *d)
{
	uint64_t timeouts = 0, ddgst = 0, retries = 0, partial = 0, requeued = 0, ioerr = 0;
	uint64_t aborts = 0, wz_writes = 0, failovers = 0, by_ref = 0, direct = 0;
	struct json_object *o = json_object_new_object();

	for (int i = 0; i < d->ctrl->nr_ioq && d->ctrl->io_workers; i++) {
		struct qp_stats_call sc = { .w = d->ctrl->io_workers[i] };

		nvmf_worker_call(sc.w, copy_qp_stats, &sc);
		timeouts += sc.st.timeouts;
		ddgst += sc.st.ddgst_errors;
		aborts += sc.st.aborts;
		by_ref += sc.st.tx_by_ref;
		direct += sc.st.data_in_place;
	}
	for (int i = 0; i < d->nr_ublk; i++) {
		struct ublk_stats us;

		ublk_dev_stats(d->ublk[i], &us);
		retries += us.retries;
		partial += us.partial_reads;
		requeued += us.requeued;
		ioerr += us.errors;
		wz_writes += us.write_zeroes_by_writes;
		failovers += us.failovers;
	}
	if (d->cuse) {
		struct cuse_stats cs;

		cuse_ctrl_stats(d->cuse, &cs);
		retries += cs.retries;
		partial += cs.partial_reads;
		requeued += cs.requeued;
		ioerr += cs.errors;
	}
	put_u64(o, "reconnects", d->reconnects);
	put_u64(o, "authentications", d->ctrl->auths);
	put_u64(o, "timeouts", timeouts);
	put_u64(o, "digest_errors", ddgst);
	put_u64(o, "retries", retries);
	put_u64(o, "partial_completions", partial);
	put_u64(o, "requeued", requeued);
	put_u64(o, "io_errors", ioerr);
	put_u64(o, "aborts", aborts);
	put_u64(o, "write_zeroes_by_writes", wz_writes);
	put_u64(o, "failovers", failovers);
	put_u64(o, "ana_changes", nvmf_ctrl_ana_changes(d->ctrl));
	put_u64(o, "ana_retries", nvmf_ctrl_ana_retries(d->ctrl));
	put_u64(o, "write_kib_by_reference", by_ref >> 10);
	put_u64(o, "data_kib_in_place", direct >> 10);
	return o;
}

/* Path @slot's state in words: the controller's, or reconnecting, lost. */
static const char *path_state(const struct daemon *d, int slot)
{
	const struct path *p = d->paths[slot];

	if (slot == 0)
		return d->primary_lost ? "lost" :
		       __atomic_load_n(&d->reconnecting, __ATOMIC_ACQUIRE) ? "reconnecting" :
		       nvmf_ctrl_state_str(nvmf_ctrl_get_state(d->ctrl));
	if (__atomic_load_n(&p->lost, __ATOMIC_ACQUIRE))
		return "lost";
	if (__atomic_load_n(&p->reconnecting, __ATOMIC_ACQUIRE))
		return "reconnecting";
	return nvmf_ctrl_state_str(nvmf_ctrl_get_state(p->mp.ctrl));
}

/*
 * "paths": the subsystem's paths (nvme list-subsys), each with its
 * address, state, ANA state of the first namespace (host/mpath.h) and
 * counters (ana_changes: that path's controller's, each path having its
 * own view of the ANA groups). Main thread.
 */
static struct json_object *paths_json(struct daemon *d)
{
	struct json_object *arr = json_object_new_array();
	uint32_t nsid = d->nr_ublk ? ublk_dev_nsid(d->ublk[0]) : 1;

	for (int i = 0; arr && i < NVMF_MPATH_MAX; i++) {
		struct nvmf_mpath_path *mp = i == 0 ? &d->p0 : d->paths[i] ? &d->paths[i]->mp : NULL;
		const struct nvmf_ctrl_opts *o;
		struct json_object *e;
		char name[REG_NAME_MAX + 16];

		if (!mp)
			continue;
		o = &mp->ctrl->opts;
		e = json_object_new_object();
		snprintf(name, sizeof(name), "%sp%d", d->name, i);
		put_str(e, "path", name);
		put_u64(e, "slot", (uint64_t)i);
		put_str(e, "transport", o->transport);
		put_str(e, "traddr", o->traddr);
		put_str(e, "trsvcid", o->trsvcid);
		put_u64(e, "cntlid", mp->ctrl->cntlid);
		put_str(e, "device", i == 0 ? (d->cuse ? cuse_ctrl_path(d->cuse) : NULL) :
			d->paths[i]->cuse ? cuse_ctrl_path(d->paths[i]->cuse) : NULL);
		put_str(e, "state", path_state(d, i));
		put_str(e, "ana_state", nvmf_ana_state_str(nvmf_mpath_ana_state(mp, nsid)));
		put_u64(e, "ios", __atomic_load_n(&mp->ios, __ATOMIC_RELAXED));
		put_u64(e, "failovers", __atomic_load_n(&mp->failovers, __ATOMIC_RELAXED));
		put_u64(e, "ana_changes", nvmf_ctrl_ana_changes(mp->ctrl));
		put_u64(e, "inflight", __atomic_load_n(&mp->inflight, __ATOMIC_RELAXED));
		put_u64(e, "reconnects", i == 0 ? d->reconnects :
			__atomic_load_n(&d->paths[i]->reconnects, __ATOMIC_RELAXED));
		json_object_array_add(arr, e);
	}
	return arr;
}

/*
 * "config": what this controller was asked for, as the port members of
 * libnvme's config.json (daemon/sidecar_config.h), so that `-O` writes a
 * file that connects it again the same way. Never a secret: only whether
 * DH-HMAC-CHAP settled ("dhchap") shows in the info reply.
 */
static struct json_object *config_json(const struct daemon *d)
{
	const struct nvmf_service_opts *a = d->args;
	const struct nvmf_ctrl_opts *co = &a->ctrl;
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	put_u64(o, "nr_io_queues", (uint64_t)co->nr_io_queues);
	if (co->nr_poll_queues)
		put_u64(o, "nr_poll_queues", (uint64_t)co->nr_poll_queues);
	if (co->nr_write_queues)
		put_u64(o, "nr_write_queues", (uint64_t)co->nr_write_queues);
	put_u64(o, "queue_size", (uint64_t)co->queue_size);
	put_u64(o, "keep_alive_tmo", (uint64_t)co->kato_s);
	put_u64(o, "reconnect_delay", (uint64_t)a->reconnect_delay);
	json_object_object_add(o, "ctrl_loss_tmo", json_object_new_int(a->ctrl_loss_tmo));
	json_object_object_add(o, "fast_io_fail_tmo", json_object_new_int(a->fast_io_fail_tmo));
	json_object_object_add(o, "hdr_digest", json_object_new_boolean(co->hdgst));
	json_object_object_add(o, "data_digest", json_object_new_boolean(co->ddgst));
	json_object_object_add(o, "disable_sqflow", json_object_new_boolean(co->disable_sqflow));
	json_object_object_add(o, "tls", json_object_new_boolean(co->tls));
	if (co->host_traddr && co->host_traddr[0])
		put_str(o, "host_traddr", co->host_traddr);
	if (co->host_iface && co->host_iface[0])
		put_str(o, "host_iface", co->host_iface);
	if (co->tos >= 0)
		put_u64(o, "tos", (uint64_t)co->tos);
	if (co->keyring)
		put_str(o, "keyring", co->keyring);
	if (co->tls_key_identity)
		put_str(o, "tls_key_identity", co->tls_key_identity);
	return o;
}

/*
 * A daemon still on its first connect (no controller yet): what it was
 * asked to connect to, with state "connecting" and no namespaces, so that
 * a client listing or looking for a controller gets its answer at once
 * rather than waiting for a target that may never answer.
 */
static struct json_object *connecting_json(const struct daemon *d, struct json_object *o,
					   struct json_object *nss)
{
	const struct nvmf_ctrl_opts *co = &d->args->ctrl;

	put_str(o, "name", d->name);
	put_u64(o, "pid", (uint64_t)getpid());
	put_str(o, "log", nvmf_log_path());
	put_str(o, "subnqn", co->subnqn);
	put_str(o, "transport", co->transport);
	put_str(o, "traddr", co->traddr);
	put_str(o, "trsvcid", co->trsvcid && co->trsvcid[0] ? co->trsvcid : "4420");
	put_str(o, "hostnqn", co->hostnqn);
	put_str(o, "hostid", co->hostid);
	put_host_side(o, co, d->args->context);
	put_str(o, "state", "connecting");
	json_object_object_add(o, "config", config_json(d));
	json_object_object_add(o, "discovery", json_object_new_boolean(false));
	json_object_object_add(o, "namespaces", nss);
	return o;
}

/*
 * The controller as the info reply's "controller" member: one JSON object
 * (json-c, so every string is escaped), the keys documented in nvmfuse(8)
 * under list -o json. NULL when out of memory. Main thread.
 */
static struct json_object *info_json(const struct daemon *d)
{
	const struct nvmf_ctrl *c = d->ctrl;
	struct json_object *o = json_object_new_object(), *nss = json_object_new_array();
	char model[41], serial[21], fw[9], wwid[NVMF_WWID_MAX];
	struct nvmf_ns *ns = NULL;
	enum nvmf_ana_state ana;
	int nr_ns = 0;

	if (!o || !nss) {
		json_object_put(o);
		json_object_put(nss);
		return NULL;
	}
	if (!c)
		return connecting_json(d, o, nss);
	nvmf_id_field(model, sizeof(model), c->id.mn, sizeof(c->id.mn));
	nvmf_id_field(serial, sizeof(serial), c->id.sn, sizeof(c->id.sn));
	nvmf_id_field(fw, sizeof(fw), c->id.fr, sizeof(c->id.fr));
	put_str(o, "name", d->name);
	put_u64(o, "pid", (uint64_t)getpid());	/* for signals: SIGHUP, SIGTERM */
	put_str(o, "log", nvmf_log_path());	/* null: standard error (foreground) */
	put_str(o, "subnqn", c->opts.subnqn);
	put_str(o, "transport", c->opts.transport);
	put_str(o, "traddr", c->opts.traddr);
	put_str(o, "trsvcid", c->opts.trsvcid);
	put_str(o, "hostnqn", c->opts.hostnqn);
	put_str(o, "hostid", c->opts.hostid);
	put_host_side(o, &c->opts, d->args->context);
	put_u64(o, "cntlid", c->cntlid);
	/* I/O queues connected (the controller may grant fewer than asked), poll ones among them. */
	put_u64(o, "io_queues", (uint64_t)c->nr_ioq);
	put_u64(o, "poll_queues", (uint64_t)c->nr_poll_ioq);
	/* Entries per I/O queue as -Q counts them: SQSIZE + 1 (io_depth is SQSIZE). */
	put_u64(o, "queue_size", (uint64_t)c->io_depth + 1);
	/* As asked (-g, -G, --disable-sqflow); the controller may have said no to a digest. */
	json_object_object_add(o, "hdr_digest", json_object_new_boolean(c->opts.hdgst));
	json_object_object_add(o, "data_digest", json_object_new_boolean(c->opts.ddgst));
	json_object_object_add(o, "disable_sqflow", json_object_new_boolean(c->opts.disable_sqflow));
	/* The timers as given (-k, -c, -l, -F), seconds; -1: off. */
	json_object_object_add(o, "keep_alive_tmo", json_object_new_int(c->opts.kato_s));
	json_object_object_add(o, "reconnect_delay", json_object_new_int(d->args->reconnect_delay));
	json_object_object_add(o, "ctrl_loss_tmo", json_object_new_int(d->args->ctrl_loss_tmo));
	json_object_object_add(o, "fast_io_fail_tmo",
			       json_object_new_int(d->args->fast_io_fail_tmo));
	put_str(o, "state", d->reconnecting ? "reconnecting" :
		nvmf_ctrl_state_str(nvmf_ctrl_get_state(c)));
	json_object_object_add(o, "discovery", json_object_new_boolean(false));	/* pdisc.h: true */
	put_str(o, "model", model);
	put_str(o, "serial", serial);
	put_str(o, "firmware", fw);
	put_str(o, "device", d->cuse ? cuse_ctrl_path(d->cuse) : NULL);
	/* What authentication settled on, never the secrets. */
	if (c->auth.done) {
		char a[80];

		snprintf(a, sizeof(a), "hmac(%s) %s %s", nvmf_auth_hash_name(c->auth.hash),
			 nvmf_auth_dhgroup_name(c->auth.dhgroup),
			 c->auth.bidirectional ? "bidirectional" : "unidirectional");
		put_str(o, "dhchap", a);
	} else {
		put_str(o, "dhchap", NULL);
	}
	if (nvmf_ctrl_ns_snapshot(d->ctrl, &ns, &nr_ns) < 0)
		nr_ns = 0;
	for (int i = 0; i < nr_ns; i++) {
		struct json_object *e = json_object_new_object();

		put_u64(e, "nsid", ns[i].nsid);
		put_u64(e, "lba_size", ns[i].lba_size);
		put_u64(e, "size", ns[i].nsze * ns[i].lba_size);
		/* Identify NUSE, as nvme-cli's "Usage" and UsedBytes; NSZE was checked to fit. */
		put_u64(e, "used", (le64toh(ns[i].id.nuse) < ns[i].nsze ? le64toh(ns[i].id.nuse) :
				    ns[i].nsze) * ns[i].lba_size);
		put_u64(e, "metadata_size", ns[i].ms);
		nvmf_ns_wwid(&c->id, &ns[i], wwid);
		put_str(e, "wwid", wwid);	/* as the kernel's /sys/block/nvmeXnY/wwid */
		put_str(e, "device", d->cuse ? cuse_ns_path(d->cuse, ns[i].nsid) : NULL);
		put_str(e, "block_device", ublk_path_of(d, ns[i].nsid));
		/* The kernel's sysfs ana_state words; null without ANA reporting. */
		ana = nvmf_ctrl_ana_state(d->ctrl, ns[i].nsid);
		put_str(e, "ana_state", ana == NVMF_ANA_NONE ? NULL : nvmf_ana_state_str(ana));
		json_object_array_add(nss, e);
	}
	free(ns);
	json_object_object_add(o, "namespaces", nss);
	json_object_object_add(o, "config", config_json(d));
	json_object_object_add(o, "stats", stats_json(d));
	put_str(o, "iopolicy", nvmf_iopolicy_str(__atomic_load_n(&d->mp.policy, __ATOMIC_RELAXED)));
	json_object_object_add(o, "paths", paths_json((struct daemon *)d));
	return o;
}

/* ---------------------------------------------------------------- daemon */

/* A warning for the log and for the command that started us. Main thread. */
static void warn_user(struct daemon *d, const char *msg)
{
	size_t off = strlen(d->warnings);

	nvmf_warn("%s", msg);
	if (off + strlen(msg) + 2 < sizeof(d->warnings))
		snprintf(d->warnings + off, sizeof(d->warnings) - off, "%s\n", msg);
}

/*
 * Tell the supervisor (args->report_state) that the state or the disks
 * changed: one "STATE <state>" line, never blocking. A supervisor that is
 * gone or does not read is dropped (it still learns of our exit). Main
 * thread (device creation, which holds the guard, is over by then).
 */
static void report_state(struct daemon *d)
{
	const char *st = d->reconnecting ? "reconnecting" :
			 nvmf_ctrl_state_str(nvmf_ctrl_get_state(d->ctrl));
	char line[64];
	int n = snprintf(line, sizeof(line), "STATE %s\n", st);

	if (d->report_fd < 0)
		return;
	if (write(d->report_fd, line, (size_t)n) != n) {
		nvmf_warn("cannot report the state to the supervisor (%s): no more reports",
			  strerror(errno));
		close(d->report_fd);
		d->report_fd = -1;
	}
}

/* Record disk @u in the run dir, for a daemon after us (daemon/state.h). */
static void disk_record(struct daemon *d, struct ublk_dev *u)
{
	struct state_disk rec = { .dev_id = ublk_dev_id(u), .ns = *ublk_dev_ns(u) };
	int rc;

	snprintf(rec.owner, sizeof(rec.owner), "%s", d->name);
	snprintf(rec.subnqn, sizeof(rec.subnqn), "%s", d->ctrl->opts.subnqn);
	rc = state_disk_save(&rec);
	if (rc < 0)
		nvmf_warn("%s: cannot record it in %s: %s (it cannot be recovered if this "
			  "daemon dies)", ublk_dev_path(u), reg_rundir(), strerror(-rc));
}

/*
 * Tell udev that disk @u is ready to be named: a "change" uevent, now that
 * the disk is in d->ublk and the info reply (the rule's `nvmfuse udev-id`)
 * finds it. Its "add" event came while the disk was still being created,
 * so the rule may have found nothing then. No udev, no harm: the write
 * only fails where sysfs is read-only (a container), which is logged at
 * debug level. Main thread.
 */
static void disk_announce(const struct ublk_dev *u)
{
	char path[96];
	int fd;

	snprintf(path, sizeof(path), "/sys/block/ublkb%u/uevent", ublk_dev_id(u));
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "change", 6) != 6)
		nvmf_debug("%s: no change uevent for udev: %s", ublk_dev_path(u), strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* Delete disk @u (consumed) and its record. Main thread. */
static void disk_delete(struct ublk_dev *u)
{
	uint32_t id = ublk_dev_id(u);

	ublk_dev_destroy(u);
	state_disk_remove(id);
}

/* Has process @pid ended (gone, or a zombie nobody reaped yet)? */
static bool pid_gone(int pid)
{
	char path[64], buf[256], *p;
	FILE *f;
	bool zombie = false;

	if (kill(pid, 0) < 0 && errno == ESRCH)
		return true;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
		zombie = p[1] == ' ' && p[2] == 'Z';
	fclose(f);
	return zombie;
}

/*
 * Take over disk @r for namespace @ns, the caller holding its lock. 0 and
 * the disk; -ENOENT when there is nothing to take (no such device, or one
 * live or dead rather than waiting); another -errno when the disk waits
 * but is not taken: it is left exactly as it is, and the reason is logged
 * and reported. Main thread.
 */
static int ublk_recover_try(struct daemon *d, const struct state_disk *r,
			    const struct nvmf_ns *ns, struct ublk_dev **out)
{
	struct ublk_dev_state st;
	char why[300], msg[512];
	int rc;

	rc = ublk_dev_probe(r->dev_id, &st);
	if (rc == -ENODEV) {
		nvmf_info("/dev/ublkb%u (namespace %u) no longer exists: record removed",
			  r->dev_id, r->ns.nsid);
		state_disk_remove(r->dev_id);
		return -ENOENT;
	}
	/*
	 * Its server is gone but the kernel has not quiesced it yet (the dead
	 * process's rings are still being torn down): wait for that, a few
	 * seconds at most.
	 */
	for (int t = 0; rc == 0 && !st.quiesced && st.pid > 0 && pid_gone(st.pid) && t < 100;
	     t++) {
		nanosleep(&(struct timespec){ 0, 50 * 1000 * 1000 }, NULL);
		rc = ublk_dev_probe(r->dev_id, &st);
	}
	/* Live: someone else serves it. Dead: no disk left to save. */
	if (rc < 0 || !st.quiesced)
		return -ENOENT;
	if (!state_ns_same(&r->ns, ns, why, sizeof(why))) {
		rc = -ESTALE;
	} else {
		rc = ublk_dev_recover(d->ctrl, ns->nsid, r->dev_id, out, why, sizeof(why));
		if (rc == -ENOENT)
			rc = -ENODEV;	/* -ENOENT means "nothing to take" here */
	}
	if (rc < 0) {
		snprintf(msg, sizeof(msg), "/dev/ublkb%u not recovered: %s; it is left as it is",
			 r->dev_id, why);
		warn_user(d, msg);
		return rc;
	}
	nvmf_warn("%s recovered for namespace %u, left by %s (daemon died)", ublk_dev_path(*out),
		  ns->nsid, r->owner);
	disk_record(d, *out);
	return 0;
}

/*
 * Take over the disk a daemon that died left for namespace @ns, if there
 * is one (a record with this subsystem and NSID, a device the kernel holds
 * QUIESCED). Returns 0 and the disk, -ENOENT when there is none to take,
 * or another -errno when one was there but is not taken: it is then left
 * exactly as it is (never deleted: it may be mounted), and the reason is
 * logged and reported to the command. Main thread.
 */
static int ublk_recover_one(struct daemon *d, const struct nvmf_ns *ns, struct ublk_dev **out)
{
	struct state_disk *recs;
	int n, rc = -ENOENT;

	if (state_disks_load(&recs, &n) < 0)
		return -ENOENT;
	for (int i = 0; i < n && rc != 0; i++) {
		const struct state_disk *r = &recs[i];
		int prc, lock;

		if (strcmp(r->subnqn, d->ctrl->opts.subnqn) || r->ns.nsid != ns->nsid)
			continue;
		lock = state_disk_lock(r->dev_id);
		if (lock < 0) {
			nvmf_info("/dev/ublkb%u: another process is taking it over (%s)", r->dev_id,
				  strerror(-lock));
			continue;
		}
		prc = ublk_recover_try(d, r, ns, out);
		close(lock);
		if (prc != -ENOENT)
			rc = prc;
	}
	free(recs);
	return rc;
}

/*
 * Serve disk @u over every path: its namespace as each other path sees
 * it, then the set. add_path refuses a path that lacks a disk's
 * namespace; one that appears later on path 0 only has no valid
 * reference on the others, and its commands sent there fail (Invalid
 * Namespace): logged. Main thread.
 */
static void disk_join_paths(struct daemon *d, struct ublk_dev *u)
{
	for (int i = 1; i < NVMF_MPATH_MAX; i++) {
		char err[200];

		if (d->paths[i] && ublk_dev_path_ref(u, i, d->paths[i]->mp.ctrl, err,
						     sizeof(err)) < 0)
			nvmf_warn("%s: path %sp%d: %s", ublk_dev_path(u), d->name, i, err);
	}
	ublk_dev_set_mpath(u, &d->mp);
}

/*
 * A disk for namespace @ns: the one a daemon that died left for it if it
 * can be taken over, else a new one. Main thread.
 */
static int ublk_attach(struct daemon *d, const struct nvmf_ns *ns, struct ublk_dev **out,
		       char *err, size_t errlen)
{
	int rc;

	if (ublk_recover_one(d, ns, out) == 0) {
		disk_join_paths(d, *out);
		return 0;
	}
	rc = ublk_dev_create(d->ctrl, ns->nsid, out, err, errlen);
	if (rc == 0) {
		disk_record(d, *out);
		disk_join_paths(d, *out);
	}
	return rc;
}

static void ublk_destroy_all(struct daemon *d)
{
	for (int i = 0; i < d->nr_ublk; i++)
		disk_delete(d->ublk[i]);
	free(d->ublk);
	d->ublk = NULL;
	d->nr_ublk = 0;
}

/*
 * One ublk disk per namespace, taken over from a daemon that died where
 * possible. On failure none is left, unless a disk was taken over: then
 * the daemon must live on to serve it, and the namespace that failed has
 * no disk (logged, reported).
 */
static int ublk_create_all(struct daemon *d, char *err, size_t errlen)
{
	struct nvmf_ns *ns;
	bool recovered = false;
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
		rc = ublk_attach(d, &ns[i], &d->ublk[d->nr_ublk], err, errlen);
		if (rc < 0 && recovered) {
			char msg[600];

			snprintf(msg, sizeof(msg), "namespace %u: no disk: %s", ns[i].nsid, err);
			warn_user(d, msg);
			rc = 0;
			continue;
		}
		if (rc < 0)
			break;
		recovered |= ublk_dev_recovered(d->ublk[d->nr_ublk]);
		disk_announce(d->ublk[d->nr_ublk]);
		d->nr_ublk++;
	}
	free(ns);
	if (rc < 0)
		ublk_destroy_all(d);
	return rc < 0 ? rc : 0;
}

static void hold_io(struct daemon *d, bool hold);
static void path_close(struct daemon *d, struct path *p);
static bool other_paths_alive(const struct daemon *d);
static void guard_start(struct daemon *d);
static void guard_stop(struct daemon *d);

/* Has namespace @nsid a disk? */
static bool ublk_has(const struct daemon *d, uint32_t nsid)
{
	for (int i = 0; i < d->nr_ublk; i++)
		if (ublk_dev_nsid(d->ublk[i]) == nsid)
			return true;
	return false;
}

/* Does a namespace of @ns have no disk yet? */
static bool ublk_missing(const struct daemon *d, const struct nvmf_ns *ns, int n)
{
	for (int j = 0; j < n; j++)
		if (!ublk_has(d, ns[j].nsid))
			return true;
	return false;
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
		disk_delete(d->ublk[i]);
		d->ublk[i--] = d->ublk[--d->nr_ublk];
	}
	/*
	 * A new disk's creation waits for the kernel's partition scan: the
	 * guard thread reconnects meanwhile if the connection is lost (see
	 * guard_main). Only while live: after a reconnect that failed again
	 * at once, the next NS_CHANGED creates it.
	 */
	if (nvmf_ctrl_get_state(d->ctrl) != NVMF_CTRL_LIVE || !ublk_missing(d, ns, n)) {
		free(ns);
		return;
	}
	guard_start(d);
	for (int j = 0; j < n && nvmf_ctrl_get_state(d->ctrl) == NVMF_CTRL_LIVE; j++) {
		struct ublk_dev **bigger;
		char err[256];

		if (ublk_has(d, ns[j].nsid))
			continue;
		bigger = realloc(d->ublk, (size_t)(d->nr_ublk + 1) * sizeof(*d->ublk));
		if (!bigger)
			break;
		d->ublk = bigger;
		if (ublk_attach(d, &ns[j], &d->ublk[d->nr_ublk], err, sizeof(err)) < 0) {
			nvmf_warn("namespace %u: no disk: %s", ns[j].nsid, err);
			continue;
		}
		nvmf_info("namespace %u is %s", ns[j].nsid, ublk_dev_path(d->ublk[d->nr_ublk]));
		disk_announce(d->ublk[d->nr_ublk]);
		d->nr_ublk++;
	}
	guard_stop(d);
	free(ns);
}

/*
 * Whether I/O waits for a path (@hold) or fails while none is usable.
 * With one path, path 0's workers hold their requests as they always
 * did; with several, they never do (a request on a dead path comes back
 * at once and goes to another path), and the disks wait on the set's
 * flag instead (ublk.h). Main thread (or the guard).
 */
static void hold_io(struct daemon *d, bool hold)
{
	bool workers = hold && nvmf_mpath_count(&d->mp) < 2;

	d->hold = hold;
	__atomic_store_n(&d->mp.hold, hold, __ATOMIC_RELEASE);
	for (int i = 0; i < d->ctrl->nr_ioq; i++)
		nvmf_worker_hold(d->ctrl->io_workers[i], workers);
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
 * Before the disks go: write back what is dirty on each, the file system
 * mounted on it included, and flush the target's cache (ublk_dev_flush),
 * so that nothing written before the stop is lost. A disk still mounted
 * (in any mount namespace) or held exclusively is named in the log: it is
 * removed all the same, and its file system gets I/O errors after that,
 * as when the kernel host disconnects a mounted disk. (Not the full
 * ublk_dev_in_use(): its walk over every process's fds, in every daemon
 * of a sidecar stopping at once, made 256 controllers take 76 s to stop.)
 * Main thread.
 */
static void disks_flush(struct daemon *d)
{
	for (int i = 0; i < d->nr_ublk; i++) {
		const char *path = ublk_dev_path(d->ublk[i]);
		const char *why = "mounted or held exclusively";
		bool used = ublk_dev_held(d->ublk[i]);
		int rc = ublk_dev_flush(d->ublk[i]);

		if (used && rc < 0)
			nvmf_warn("%s is %s at the stop: the flush failed: %s; removing it (the file "
				  "system on it gets I/O errors from now on)", path, why, strerror(-rc));
		else if (used)
			nvmf_warn("%s is %s at the stop: flushed; removing it (the file system on it "
				  "gets I/O errors from now on)", path, why);
		else if (rc < 0)
			nvmf_warn("%s: the flush at the stop failed: %s", path, strerror(-rc));
	}
}

/* How many disks are in use (mounted or open); each is named with @report. */
static int disks_in_use(struct daemon *d, bool report)
{
	int n = 0;

	for (int i = 0; i < d->nr_ublk; i++) {
		char why[128];

		if (!ublk_dev_in_use(d->ublk[i], why, sizeof(why)))
			continue;
		n++;
		if (report)
			nvmf_warn("%s is %s at the stop: waiting for it to be let go",
				  ublk_dev_path(d->ublk[i]), why);
	}
	return n;
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
	disks_flush(d);
	if (d->nr_ublk)
		nvmf_info("shutdown: disks flushed in %.0f ms", ms_since(t));
	if (other_paths_alive(d) || nvmf_mpath_count(&d->mp) > 1) {
		t = nvmf_now_ns();
		for (int i = 1; i < NVMF_MPATH_MAX; i++)
			if (d->paths[i])
				path_close(d, d->paths[i]);
		nvmf_info("shutdown: other paths closed in %.0f ms", ms_since(t));
	}
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
	state_daemon_remove(d->name);
	reg_release(d->name);
}

/*
 * The reply to disconnect: refused while a disk is in use, unless forced;
 * with @keep_disks a handover (leave()): the disks stay, mounted or not.
 */
static struct json_object *disconnect_reply(struct daemon *d, bool force, bool keep_disks)
{
	struct json_object *r;
	char why[128], msg[300];

	for (int i = 0; !force && !keep_disks && i < d->nr_ublk; i++) {
		if (ublk_dev_in_use(d->ublk[i], why, sizeof(why))) {
			snprintf(msg, sizeof(msg), "%s is %s: unmount or close it, or use --force",
				 ublk_dev_path(d->ublk[i]), why);
			return nvmf_ctl_reply_error(msg);
		}
	}
	/*
	 * Answer first, then tear down: the caller waits for this process to
	 * exit, with its own bound, and whatever that bound says, the
	 * teardown here runs to its end.
	 */
	nvmf_info("disconnect requested%s", keep_disks ? ", keeping the disks for the next daemon" :
		  force ? " (forced)" : "");
	r = nvmf_ctl_reply_ok();
	if (r)
		json_object_object_add(r, "pid", json_object_new_int((int)getpid()));
	d->keep_disks = keep_disks;
	d->stop = true;
	return r;
}

/*
 * Hand the disks over to the next daemon (an upgrade, a restart): end the
 * process at once, as a crash would, but on purpose. The kernel quiesces
 * the disks and keeps their I/O, also the requests this process had taken
 * (re-issued to the next daemon, see ublk_dev_create()), and removes the
 * CUSE nodes with their /dev/cuse files; the records stay, so the next
 * connect takes the disks and this name over. Nothing is shut down
 * cleanly on purpose: stopping the queues, or failing held I/O so that
 * the CUSE threads can be joined, would complete the disks' requests
 * with errors. Does not return. Main thread.
 */
static void leave(struct daemon *d)
{
	reg_release(d->name);
	nvmf_warn("leaving %d disk(s) to the next daemon: exiting without deleting them",
		  d->nr_ublk);
	_exit(0);
}

/* ------------------------------------------------------------- paths */

/* Sleep up to @ms, or less when @efd becomes readable; true if it did. */
static bool wait_efd(int efd, int ms)
{
	struct pollfd pfd = { .fd = efd, .events = POLLIN };

	return poll(&pfd, 1, ms) > 0 && (pfd.revents & POLLIN);
}

/*
 * A path's keeper: serves its controller's events and reconnects it after
 * a loss, as the main loop does for path 0 (-c, -l), with I/O going to
 * the other paths meanwhile. Its own thread; it owns the controller.
 */
static void *keeper_main(void *arg)
{
	struct path *p = arg;
	struct daemon *d = p->d;
	const struct nvmf_service_opts *a = d->args;
	struct nvmf_ctrl *c = p->mp.ctrl;
	char name[REG_NAME_MAX + 16];
	uint64_t one = 1;

	snprintf(name, sizeof(name), "%sp%d", d->name, p->mp.slot);
	while (!wait_efd(p->stop_efd, 0)) {
		struct pollfd pfd[2] = {
			{ .fd = nvmf_ctrl_event_fd(c), .events = POLLIN },
			{ .fd = p->stop_efd, .events = POLLIN },
		};
		uint64_t start;
		unsigned int attempt = 0;

		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents & POLLIN)
			break;
		if (!(pfd[0].revents & POLLIN))
			continue;
		if (nvmf_ctrl_take_events(c) & NVMF_CTRL_EV_NS_CHANGED)
			nvmf_info("%s: namespace list changed on this path", name);
		if (nvmf_ctrl_get_state(c) != NVMF_CTRL_FAILED ||
		    __atomic_load_n(&p->lost, __ATOMIC_ACQUIRE))
			continue;
		nvmf_warn("%s: path to %s %s:%s lost: %s; I/O goes to the other paths", name,
			  c->opts.transport, c->opts.traddr, c->opts.trsvcid, nvmf_ctrl_error(c));
		__atomic_store_n(&p->reconnecting, true, __ATOMIC_RELEASE);
		start = nvmf_now_ns();
		while (!wait_efd(p->stop_efd, a->ctrl_loss_tmo ? a->reconnect_delay * 1000 : 0)) {
			double elapsed = (double)(nvmf_now_ns() - start) / 1e9;
			struct nvmf_ctrl *donor;
			char err[512];

			if (!a->ctrl_loss_tmo || (a->ctrl_loss_tmo > 0 && elapsed >= a->ctrl_loss_tmo)) {
				nvmf_err("%s: path lost for good (ctrl-loss-tmo %d s): remove it with "
					 "nvmfuse disconnect -d %s", name, a->ctrl_loss_tmo, name);
				__atomic_store_n(&p->lost, true, __ATOMIC_RELEASE);
				if (write(d->path_efd, &one, sizeof(one)) < 0)
					nvmf_warn("%s: cannot tell the main loop: %s", name,
						  strerror(errno));
				break;
			}
			attempt++;
			pthread_mutex_lock(&p->adopt_lock);
			if (nvmf_ctrl_reconnect_prepare(c, p->stop_efd, &donor, err, sizeof(err)) < 0) {
				pthread_mutex_unlock(&p->adopt_lock);
				nvmf_warn("%s: reconnect attempt %u failed: %s", name, attempt, err);
				continue;
			}
			nvmf_ctrl_reconnect_adopt(c, donor);
			pthread_mutex_unlock(&p->adopt_lock);
			__atomic_add_fetch(&p->reconnects, 1, __ATOMIC_RELAXED);
			nvmf_warn("%s: path reconnected after %.1f s (attempt %u, cntlid %u)", name,
				  elapsed, attempt, c->cntlid);
			break;
		}
		__atomic_store_n(&p->reconnecting, false, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void barrier_fn(void *arg)
{
	(void)arg;
}

/* Wait up to @ms for @p to have no command in flight; true when it has none. */
static bool path_drained(struct nvmf_mpath_path *p, int ms)
{
	for (int t = 0; t < ms / 10; t++) {
		if (!__atomic_load_n(&p->inflight, __ATOMIC_ACQUIRE))
			return true;
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	}
	return !__atomic_load_n(&p->inflight, __ATOMIC_ACQUIRE);
}

/*
 * Take path @p out and close it: out of the set, so no command picks it;
 * one turn of every disk queue's thread (path 0's workers), so none is
 * still sending on it; its commands completed (failed over if they fail);
 * then its keeper, workers and association end. A path whose commands
 * never complete is closed after PATH_DRAIN_MS all the same: its queue
 * pairs' teardown completes them, with errors, and they fail over. Main
 * thread.
 */
#define PATH_DRAIN_MS 10000
static void path_close(struct daemon *d, struct path *p)
{
	char name[REG_NAME_MAX + 16];
	struct nvmf_ctrl *c = p->mp.ctrl;
	uint64_t one = 1;
	bool drained;

	snprintf(name, sizeof(name), "%sp%d", d->name, p->mp.slot);
	nvmf_mpath_remove(&d->mp, &p->mp);
	d->paths[p->mp.slot] = NULL;
	/* Stops the keeper's reconnects and cancels a reset on the node... */
	if (write(p->stop_efd, &one, sizeof(one)) < 0)
		nvmf_warn("%s: cannot stop its keeper: %s", name, strerror(errno));
	cuse_ctrl_destroy(p->cuse);	/* ...which ends first, as its callers' commands */
	p->cuse = NULL;
	for (int i = 0; i < d->ctrl->nr_ioq; i++)
		nvmf_worker_call(d->ctrl->io_workers[i], barrier_fn, NULL);
	drained = path_drained(&p->mp, PATH_DRAIN_MS);
	if (!drained)
		nvmf_warn("%s: %llu command(s) still in flight after %d s: closing it anyway",
			  name, (unsigned long long)p->mp.inflight, PATH_DRAIN_MS / 1000);
	if (p->keeper_running)
		pthread_join(p->keeper, NULL);
	nvmf_ctrl_stop(c);
	nvmf_ctrl_disconnect(c);
	hold_io(d, d->hold);	/* one path left: its workers hold again */
	close(p->stop_efd);
	/* Completions the teardown made may still be on their way back. */
	if (!drained && !path_drained(&p->mp, PATH_DRAIN_MS)) {
		nvmf_err("%s: commands never came back; its memory is kept", name);
		return;
	}
	nvmf_info("%s: path removed (%llu commands, %llu failovers)", name,
		  (unsigned long long)p->mp.ios, (unsigned long long)p->mp.failovers);
	pthread_mutex_destroy(&p->adopt_lock);
	free(p);
}

/*
 * Tell the disks and the namespace nodes which of @c's namespaces theirs
 * is, for path @slot (before it is published). -errno with @why.
 */
static int frontends_path_ref(struct daemon *d, int slot, struct nvmf_ctrl *c, char *why,
			      size_t len)
{
	int rc = 0;

	for (int i = 0; i < d->nr_ublk && rc == 0; i++)
		rc = ublk_dev_path_ref(d->ublk[i], slot, c, why, len);
	if (rc == 0 && d->cuse)
		rc = cuse_ctrl_path_ref(d->cuse, slot, c, why, len);
	return rc;
}

/*
 * Do @c's namespaces match the disks' (each disk's namespace present
 * with the same identifiers)? The disks keep the identity they were made
 * for, also while path 0 is down; without disks (--no-ublk), path 0's
 * namespaces as it last saw them. Main thread.
 */
static bool path_same_namespaces(struct daemon *d, struct nvmf_ctrl *c, char *why, size_t len)
{
	struct nvmf_ns *ns, *p0 = NULL;
	int n, n0 = 0, nwant;
	bool ok = true;

	if (!d->nr_ublk && nvmf_ctrl_ns_snapshot(d->ctrl, &p0, &n0) < 0)
		n0 = 0;
	if (nvmf_ctrl_ns_snapshot(c, &ns, &n) < 0) {
		snprintf(why, len, "out of memory");
		free(p0);
		return false;
	}
	nwant = d->nr_ublk ? d->nr_ublk : n0;
	for (int i = 0; ok && i < nwant; i++) {
		const struct nvmf_ns *want = d->nr_ublk ? ublk_dev_ns(d->ublk[i]) : &p0[i];
		int j;

		for (j = 0; j < n && ns[j].nsid != want->nsid; j++)
			;
		if (j == n) {
			snprintf(why, len, "namespace %u is not there", want->nsid);
			ok = false;
		} else {
			ok = nvmf_ns_same_identity(want, &ns[j], why, len);
		}
	}
	free(ns);
	free(p0);
	return ok;
}

/* Option @have (NULL or "": none) is @want ("": none)? */
static bool same_opt(const char *have, const char *want)
{
	return !strcmp(have ? have : "", want);
}

/*
 * add_path: connect another controller of our subsystem at @rq's address
 * with the daemon's host identity and options, check that it leads to
 * the same namespaces, start it and serve the disks over it too. The
 * connect blocks this thread, bounded per step by --timeout (a stop
 * signal cancels it). Nothing changes when it fails. Main thread.
 */
/*
 * NVME_IOCTL_RESET on a path's controller node (cuse_opts.reset), on its
 * CUSE session thread: a new association for that path, built while the
 * old one still serves, then swapped in (its commands fail over to the
 * other paths meanwhile, as at a reconnect). -EBUSY while the path is
 * reconnecting or lost, as the kernel refuses a reset then.
 */
static int path_reset(void *arg)
{
	struct path *p = arg;
	struct nvmf_ctrl *c = p->mp.ctrl, *donor;
	char err[512];
	int rc;

	pthread_mutex_lock(&p->adopt_lock);
	if (__atomic_load_n(&p->reconnecting, __ATOMIC_ACQUIRE) ||
	    __atomic_load_n(&p->lost, __ATOMIC_ACQUIRE) || nvmf_ctrl_get_state(c) != NVMF_CTRL_LIVE) {
		pthread_mutex_unlock(&p->adopt_lock);
		return -EBUSY;
	}
	nvmf_warn("%sp%d: controller reset requested", p->d->name, p->mp.slot);
	rc = nvmf_ctrl_reconnect_prepare(c, p->stop_efd, &donor, err, sizeof(err));
	if (rc < 0) {
		nvmf_err("%sp%d: reset failed: %s", p->d->name, p->mp.slot, err);
	} else {
		nvmf_ctrl_reconnect_adopt(c, donor);
		nvmf_warn("%sp%d: controller reset done (cntlid %u)", p->d->name, p->mp.slot,
			  c->cntlid);
	}
	pthread_mutex_unlock(&p->adopt_lock);
	return rc;
}

static struct json_object *add_path_reply(struct daemon *d, const struct nvmf_ctl_request *rq)
{
	struct nvmf_ctrl_opts o;
	struct json_object *r;
	enum nvmf_iopolicy pol = d->mp.policy;
	struct nvmf_ctrl *c = NULL;
	struct path *p = NULL;
	char err[1024], where[320], why[300], name[REG_NAME_MAX + 16];
	int slot = -1, rc;

	snprintf(where, sizeof(where), "%s %s:%s", rq->transport, rq->traddr, rq->trsvcid);
	if (!d->ctrl)
		return nvmf_ctl_reply_error("still connecting its first path: try again when it is live");
	if (rq->iopolicy[0] && nvmf_iopolicy_parse(rq->iopolicy, &pol) < 0) {
		snprintf(err, sizeof(err), "--iopolicy %s: not numa, round-robin or queue-depth",
			 rq->iopolicy);
		return nvmf_ctl_reply_error(err);
	}
	for (int i = 0; i < NVMF_MPATH_MAX; i++) {
		struct nvmf_mpath_path *mp = nvmf_mpath_get(&d->mp, i);

		if (!mp) {
			if (slot < 0 && i > 0)
				slot = i;
			continue;
		}
		if (!strcmp(mp->ctrl->opts.transport, rq->transport) &&
		    !strcmp(mp->ctrl->opts.traddr, rq->traddr) &&
		    !strcmp(mp->ctrl->opts.trsvcid, rq->trsvcid) &&
		    same_opt(mp->ctrl->opts.host_traddr, rq->host_traddr) &&
		    same_opt(mp->ctrl->opts.host_iface, rq->host_iface)) {
			snprintf(err, sizeof(err), "%s is already path %sp%d of %s", where, d->name,
				 i, d->name);
			return nvmf_ctl_reply_error(err);
		}
	}
	if (slot < 0) {
		snprintf(err, sizeof(err), "%s has %d paths already, the most it takes", d->name,
			 NVMF_MPATH_MAX);
		return nvmf_ctl_reply_error(err);
	}
	snprintf(name, sizeof(name), "%sp%d", d->name, slot);
	o = d->ctrl->opts;
	o.transport = rq->transport;
	o.traddr = rq->traddr;
	o.trsvcid = rq->trsvcid;
	/* The new path's own source (-w, -f, -T), not path 0's. */
	o.host_traddr = rq->host_traddr[0] ? rq->host_traddr : NULL;
	o.host_iface = rq->host_iface[0] ? rq->host_iface : NULL;
	o.tos = rq->tos;
	o.cancel_fd = d->sig_fd;
	nvmf_info("adding path %s: %s", name, where);
	rc = nvmf_ctrl_connect(&o, &c, why, sizeof(why));
	if (rc < 0) {
		snprintf(err, sizeof(err), "path %s not added: %s", where, why);
		goto fail;
	}
	if (!path_same_namespaces(d, c, why, sizeof(why))) {
		snprintf(err, sizeof(err), "path %s refused: %s than through %s (not the same "
			 "namespace); nothing changed", where, why, d->name);
		rc = -ESTALE;
		goto fail;
	}
	rc = nvmf_ctrl_start(c);
	if (rc < 0) {
		snprintf(err, sizeof(err), "path %s not added: cannot start its threads: %s", where,
			 strerror(-rc));
		goto fail;
	}
	p = calloc(1, sizeof(*p));
	if (!p || (p->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		snprintf(err, sizeof(err), "path %s not added: out of memory", where);
		nvmf_ctrl_stop(c);
		free(p);
		p = NULL;
		goto fail;
	}
	p->d = d;
	pthread_mutex_init(&p->adopt_lock, NULL);
	p->mp.ctrl = c;
	p->mp.slot = slot;
	if (frontends_path_ref(d, slot, c, why, sizeof(why)) < 0) {
		snprintf(err, sizeof(err), "path %s not added: %s", where, why);
		nvmf_ctrl_stop(c);
		close(p->stop_efd);
		free(p);
		p = NULL;
		goto fail;
	}
	rc = -pthread_create(&p->keeper, NULL, keeper_main, p);
	if (rc < 0) {
		snprintf(err, sizeof(err), "path %s not added: no thread: %s", where, strerror(-rc));
		nvmf_ctrl_stop(c);
		close(p->stop_efd);
		free(p);
		p = NULL;
		goto fail;
	}
	p->keeper_running = true;
	d->paths[slot] = p;
	rc = nvmf_mpath_add(&d->mp, &p->mp);
	if (rc != slot)
		nvmf_err("%s: the path set put it in slot %d", name, rc);
	__atomic_store_n(&d->mp.policy, pol, __ATOMIC_RELAXED);
	hold_io(d, d->hold);	/* several paths: path 0's workers stop holding */
	if (!d->args->no_cuse) {
		struct cuse_opts co = d->args->cuse;

		co.reset = path_reset;
		co.reset_arg = p;
		if (cuse_path_ctrl_create(c, name, &co, &p->cuse, why, sizeof(why)) < 0)
			nvmf_warn("%s: no controller node: %s", name, why);
	}
	nvmf_warn("path %s added: %s, cntlid %u, I/O policy %s", name, where, c->cntlid,
		  nvmf_iopolicy_str(pol));
	r = nvmf_ctl_reply_ok();
	if (r) {
		json_object_object_add(r, "path", json_object_new_string(name));
		json_object_object_add(r, "cntlid", json_object_new_int(c->cntlid));
		if (p->cuse)
			json_object_object_add(r, "device",
					       json_object_new_string(cuse_ctrl_path(p->cuse)));
	}
	return r;
fail:
	nvmf_warn("%s", err);
	if (c)
		nvmf_ctrl_disconnect(c);	/* CC.SHN: it was live */
	return nvmf_ctl_reply_error(err);
}

/* remove_path: path @rq->path; path 0 only when alone (it is the subsystem then). */
static struct json_object *remove_path_reply(struct daemon *d, const struct nvmf_ctl_request *rq)
{
	char err[300];
	struct json_object *r;

	if (rq->path == 0) {
		if (nvmf_mpath_count(&d->mp) > 1) {
			snprintf(err, sizeof(err), "%sp0 carries the disks' queues: remove the other "
				 "paths first, or the whole subsystem (disconnect -d %s)", d->name,
				 d->name);
			return nvmf_ctl_reply_error(err);
		}
		return disconnect_reply(d, false, false);
	}
	if (rq->path >= NVMF_MPATH_MAX || !d->paths[rq->path]) {
		snprintf(err, sizeof(err), "%s has no path %sp%d", d->name, d->name, rq->path);
		return nvmf_ctl_reply_error(err);
	}
	path_close(d, d->paths[rq->path]);
	r = nvmf_ctl_reply_ok();
	if (r) {
		snprintf(err, sizeof(err), "%sp%d", d->name, rq->path);
		json_object_object_add(r, "path", json_object_new_string(err));
	}
	return r;
}

/* Is a path other than 0 still there and not lost? */
static bool other_paths_alive(const struct daemon *d)
{
	for (int i = 1; i < NVMF_MPATH_MAX; i++)
		if (d->paths[i] && !__atomic_load_n(&d->paths[i]->lost, __ATOMIC_ACQUIRE))
			return true;
	return false;
}

/* Path 0 is gone for good, the others go on serving the disks. Main thread. */
static void primary_lost(struct daemon *d)
{
	nvmf_err("path %sp0 lost: the disks are served by the other paths (its queues' threads "
		 "stay)", d->name);
	d->primary_lost = true;
	hold_io(d, d->args->ctrl_loss_tmo != 0);
	report_state(d);
}

/* One control request (daemon/ctl_proto.h), bounded. Main thread. */
static void serve_client(struct daemon *d)
{
	struct nvmf_ctl_request rq;
	struct json_object *r = NULL, *info;
	int fd;

	fd = reg_accept(d->listen_fd, &rq);
	if (fd < 0)
		return;		/* answered already, or nothing to answer */
	nvmf_debug("control request: %s", nvmf_ctl_op_str(rq.op));
	switch (rq.op) {
	case NVMF_CTL_INFO:
		info = info_json(d);
		r = info ? nvmf_ctl_reply_ok() : NULL;
		if (r)
			json_object_object_add(r, "controller", info);
		else
			json_object_put(info);
		break;
	case NVMF_CTL_DISCONNECT:
		r = disconnect_reply(d, rq.force, rq.keep_disks);
		break;
	case NVMF_CTL_ADD_PATH:
		r = add_path_reply(d, &rq);
		break;
	case NVMF_CTL_REMOVE_PATH:
		r = d->ctrl ? remove_path_reply(d, &rq) :
		    nvmf_ctl_reply_error("still connecting its first path");
		break;
	}
	reg_reply(fd, r);
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
 * SIGHUP: open the log file again by its path (after a rotation moved it
 * away), and nothing else: the association and the devices carry on. Main
 * thread, or the guard while the main thread creates devices.
 */
static void reopen_log(struct daemon *d)
{
	struct signalfd_siginfo si;
	int rc;

	if (read(d->hup_fd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return;
	rc = nvmf_log_reopen();
	if (rc == -ENOENT)
		nvmf_info("SIGHUP: no log file to reopen (logging to standard error)");
	else if (rc < 0)
		nvmf_err("SIGHUP: cannot reopen the log %s: %s (still writing to the old one)",
			 nvmf_log_path(), strerror(-rc));
	else
		nvmf_info("SIGHUP: log %s reopened", nvmf_log_path());
}

static void *first_main(void *arg)
{
	struct attempt *at = arg;
	uint64_t one = 1;

	at->donor = NULL;
	at->rc = nvmf_ctrl_connect(&at->first, &at->donor, at->err, sizeof(at->err));
	if (write(at->done_efd, &one, sizeof(one)) < 0)
		nvmf_warn("connect: cannot report: %s", strerror(errno));
	return NULL;
}

/*
 * The first connect, on a thread of its own (d->attempt), while this
 * thread serves signals and control requests: a target that accepts and
 * never answers keeps this daemon alone waiting. `nvmfuse list`,
 * `disconnect` and `connect`, which ask every daemon of the run dir, get
 * their answer at once (state "connecting"), and a disconnect request or
 * a stop signal gives the connect up within a poll interval. Returns 0
 * with d->ctrl live, or -errno with the cause in @err. Main thread.
 */
static int connect_first(struct daemon *d, const struct nvmf_ctrl_opts *o, char *err,
			 size_t errlen)
{
	struct attempt *at = &d->attempt;
	uint64_t one = 1;
	int rc;

	at->first = *o;
	at->first.cancel_fd = at->cancel_efd;
	at->ctrl = NULL;
	rc = -pthread_create(&at->thread, NULL, first_main, at);
	if (rc < 0) {
		snprintf(err, errlen, "cannot start the connect thread: %s", strerror(-rc));
		return rc;
	}
	at->running = true;
	while (!d->stop) {
		struct pollfd pfd[4] = {
			{ .fd = d->sig_fd, .events = POLLIN },
			{ .fd = d->listen_fd, .events = POLLIN },
			{ .fd = at->done_efd, .events = POLLIN },
			{ .fd = d->hup_fd, .events = POLLIN },
		};

		if (poll(pfd, 4, -1) < 0 && errno != EINTR) {
			rc = -errno;
			snprintf(err, errlen, "poll: %s", strerror(errno));
			break;
		}
		if (pfd[2].revents & POLLIN)
			break;		/* the connect ended, either way */
		if (pfd[3].revents & POLLIN)
			reopen_log(d);
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(d->sig_fd, &si, sizeof(si)) != (ssize_t)sizeof(si))
				continue;
			snprintf(err, errlen, "stopped by signal %u (%s) while connecting",
				 si.ssi_signo, strsignal((int)si.ssi_signo));
			rc = -EINTR;
			break;
		}
		if (pfd[1].revents & POLLIN) {
			serve_client(d);	/* info: "connecting"; disconnect: d->stop */
			if (d->stop) {
				snprintf(err, errlen, "disconnected (nvmfuse disconnect) while "
					 "connecting");
				rc = -EINTR;
			}
		}
	}
	if (rc < 0 && write(at->cancel_efd, &one, sizeof(one)) < 0)
		nvmf_warn("cannot cancel the connect: %s", strerror(errno));
	pthread_join(at->thread, NULL);
	at->running = false;
	if (rc == 0 && at->rc < 0) {
		rc = at->rc;
		snprintf(err, errlen, "%s", at->err);
	}
	if (rc < 0 && at->donor) {
		/* Live after all, just as we gave up: closed cleanly (CC.SHN). */
		nvmf_ctrl_disconnect(at->donor);
	} else if (rc == 0) {
		d->ctrl = at->donor;
	}
	at->donor = NULL;
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
#define KEY_REFUSALS_MAX	3

static int reconnect_until_live(struct daemon *d, bool guard)
{
	const struct nvmf_service_opts *a = d->args;
	struct attempt *at = &d->attempt;
	uint64_t start = nvmf_now_ns(), next = start + (uint64_t)a->reconnect_delay * 1000000000ull;
	bool failing_fast = false;
	unsigned int attempt = 0, refusals = 0;
	int rc;

	__atomic_store_n(&d->reconnecting, true, __ATOMIC_RELEASE);
	if (!guard)
		report_state(d);	/* "reconnecting": not ready */
	while (!d->stop && !(guard && __atomic_load_n(&d->guard_stop, __ATOMIC_ACQUIRE))) {
		uint64_t now = nvmf_now_ns();
		double elapsed = (double)(now - start) / 1e9;
		struct pollfd pfd[4] = {
			/*
			 * The guard (guard_main) leaves control requests to the
			 * main thread, and only looks at signals: see below.
			 */
			{ .fd = d->sig_fd, .events = POLLIN },
			{ .fd = guard ? -1 : d->listen_fd, .events = POLLIN },
			/*
			 * Only while an attempt runs: a failed attempt leaves
			 * done_efd readable until the next one starts (it drains
			 * it), and polling it meanwhile spun this thread for the
			 * whole reconnect delay.
			 */
			{ .fd = at->running ? at->done_efd : -1, .events = POLLIN },
			/* A log rotation does not wait for the target to come back. */
			{ .fd = d->hup_fd, .events = POLLIN },
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
			__atomic_store_n(&d->reconnecting, false, __ATOMIC_RELEASE);
			return -ETIMEDOUT;
		}
		if (at->running)
			ms = 1000;	/* the attempt's end wakes us */
		if (poll(pfd, 4, ms > 1000 ? 1000 : ms) < 0 && errno != EINTR)
			return -errno;
		if (pfd[3].revents & POLLIN)
			reopen_log(d);
		if (pfd[0].revents) {
			/*
			 * A signal: the main loop reads it. The guard fails held
			 * I/O so that device creation, and with it the main
			 * thread, gets to it within a bound, and ends.
			 */
			if (guard) {
				__atomic_store_n(&d->guard_stop, true, __ATOMIC_RELEASE);
				hold_io(d, false);
			}
			break;
		}
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
				__atomic_store_n(&d->reconnecting, false, __ATOMIC_RELEASE);
				if (!guard)
					report_state(d);	/* live again */
				/*
				 * No events are dropped here: if a queue failed right
				 * after the swap, EV_FAILED is pending and the state is
				 * FAILED, and the main loop reconnects again.
				 */
				return 0;
			}
			/*
			 * A refused or missing key does not fix itself: stop, as
			 * the kernel host does on an authentication failure.
			 * DH-HMAC-CHAP says so in words, so once is enough. Over
			 * TLS, a target that drops the handshake looks the same
			 * as one whose tlshd is briefly away, so stop only when
			 * it happens KEY_REFUSALS_MAX times in a row.
			 */
			refusals = at->rc == -EKEYREJECTED || at->rc == -ENOKEY ? refusals + 1 : 0;
			if (refusals && !a->ctrl.tls && !a->ctrl.tls_key && !a->ctrl.tls_key_identity) {
				nvmf_err("controller lost: reconnect attempt %u failed: %s; giving up "
					 "(no retry after an authentication failure)", attempt, at->err);
				nvmf_ctrl_set_error(d->ctrl, at->rc, "%s", at->err);
				hold_io(d, false);
				d->key_refused = true;
				__atomic_store_n(&d->reconnecting, false, __ATOMIC_RELEASE);
				return at->rc;
			}
			if (refusals >= KEY_REFUSALS_MAX) {
				nvmf_err("controller lost: reconnect attempt %u failed: %s; "
					 "not retrying with this key (%u refusals in a row)", attempt,
					 at->err, refusals);
				nvmf_ctrl_set_error(d->ctrl, at->rc, "%s", at->err);
				hold_io(d, false);
				d->key_refused = true;
				__atomic_store_n(&d->reconnecting, false, __ATOMIC_RELEASE);
				return at->rc;
			}
			nvmf_warn("reconnect attempt %u failed: %s", attempt, at->err);
			next = nvmf_now_ns() + (uint64_t)a->reconnect_delay * 1000000000ull;
			continue;
		}
		if (at->running || nvmf_now_ns() < next)
			continue;
		attempt++;
		rc = attempt_start(d);
		if (rc < 0) {
			nvmf_err("cannot start a reconnect attempt: %s", strerror(-rc));
			next = nvmf_now_ns() + (uint64_t)a->reconnect_delay * 1000000000ull;
		}
	}
	attempt_cancel(d);
	if (!guard)
		hold_io(d, false);	/* stopping: held I/O fails */
	/* (the guard, stopped because creation ended, leaves the rest to the loop) */
	__atomic_store_n(&d->reconnecting, false, __ATOMIC_RELEASE);
	return -EINTR;
}

/*
 * Creating a disk waits, on the main thread, for the kernel's partition
 * scan; its reads are held if the connection is lost meanwhile, and only
 * a reconnect releases them. While the main thread creates devices, this
 * guard thread makes that reconnect (the same loop, without the signal
 * and control fds, which stay the main thread's); when creation is done it
 * stops, leaving an unfinished reconnect to the main loop, which sees the
 * controller still failed.
 */
static void *guard_main(void *arg)
{
	struct daemon *d = arg;

	while (!__atomic_load_n(&d->guard_stop, __ATOMIC_ACQUIRE)) {
		if (d->args->ctrl_loss_tmo && !d->key_refused && !d->primary_lost &&
		    nvmf_ctrl_get_state(d->ctrl) == NVMF_CTRL_FAILED) {
			reconnect_until_live(d, true);
			continue;
		}
		poll(NULL, 0, 50);
	}
	return NULL;
}

static void guard_start(struct daemon *d)
{
	__atomic_store_n(&d->guard_stop, false, __ATOMIC_RELEASE);
	d->guard_running = pthread_create(&d->guard, NULL, guard_main, d) == 0;
	if (!d->guard_running)
		nvmf_warn("no guard thread for device creation: %s", strerror(errno));
}

static void guard_stop(struct daemon *d)
{
	if (!d->guard_running)
		return;
	__atomic_store_n(&d->guard_stop, true, __ATOMIC_RELEASE);
	pthread_join(d->guard, NULL);
	d->guard_running = false;
}

/* cuse_opts.reset: runs on a CUSE thread, waits for the main loop to reset. */
static int request_reset(void *arg)
{
	struct daemon *d = arg;
	struct reset_call *r = &d->reset;
	uint64_t one = 1;
	int rc;

	/* Like the kernel: no reset while the controller is reconnecting. */
	if (__atomic_load_n(&d->reconnecting, __ATOMIC_ACQUIRE))
		return -EBUSY;
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

/*
 * The main loop, until a disconnect request, a stop signal or the loss of
 * the controller. A stop signal with mounted_wait_s set and disks in use
 * starts a bounded wait instead, everything served as before: the loop
 * looks at the disks every WAIT_POLL_MS and ends once none is in use, at
 * the bound, at a second stop signal, or when the controller is lost (no
 * reconnect then: it could outlast the bound).
 */
#define WAIT_POLL_MS 200
static int daemon_loop(struct daemon *d)
{
	struct nvmf_ctrl *c = d->ctrl;
	uint64_t wait_until = 0;	/* waiting for the disks to be let go */

	while (!d->stop) {
		struct pollfd pfd[6] = {
			{ .fd = d->sig_fd, .events = POLLIN },
			{ .fd = d->listen_fd, .events = POLLIN },
			{ .fd = nvmf_ctrl_event_fd(c), .events = POLLIN },
			{ .fd = d->reset.efd, .events = POLLIN },
			{ .fd = d->hup_fd, .events = POLLIN },
			{ .fd = d->path_efd, .events = POLLIN },
		};
		int rc;

		rc = poll(pfd, 6, wait_until ? WAIT_POLL_MS : -1);
		if (rc < 0 && errno != EINTR)
			return -errno;
		if (pfd[5].revents & POLLIN) {
			uint64_t v;

			if (read(d->path_efd, &v, sizeof(v)) < 0)
				v = 0;
			if (d->primary_lost && !other_paths_alive(d)) {
				nvmf_err("every path of %s is lost: stopping", c->opts.subnqn);
				return -ENOTCONN;
			}
		}
		if (pfd[4].revents & POLLIN)
			reopen_log(d);
		if (pfd[0].revents) {
			struct signalfd_siginfo si;
			int n;

			if (read(d->sig_fd, &si, sizeof(si)) != (ssize_t)sizeof(si))
				si.ssi_signo = 0;
			if (wait_until) {
				nvmf_warn("signal %u again: not waiting any more", si.ssi_signo);
				return 0;
			}
			nvmf_info("signal %u, disconnecting", si.ssi_signo);
			if (d->args->mounted_wait_s <= 0 || !(n = disks_in_use(d, true)))
				return 0;
			nvmf_warn("waiting up to %d s for %d disk(s) to be unmounted or closed "
				  "before the stop", d->args->mounted_wait_s, n);
			wait_until = nvmf_now_ns() + (uint64_t)d->args->mounted_wait_s * 1000000000ull;
		}
		if (wait_until) {
			int n = disks_in_use(d, false);

			if (!n) {
				nvmf_warn("every disk unmounted and closed: stopping");
				return 0;
			}
			if (nvmf_now_ns() >= wait_until) {
				nvmf_warn("%d disk(s) still in use after %d s: stopping anyway", n,
					  d->args->mounted_wait_s);
				return 0;
			}
		}
		if (pfd[2].revents & POLLIN) {
			unsigned int ev = nvmf_ctrl_take_events(c);

			if (ev & NVMF_CTRL_EV_NS_CHANGED) {
				char err[256];

				nvmf_info("namespace list changed");
				if (d->cuse && cuse_ctrl_sync_ns(d->cuse, err, sizeof(err)) < 0)
					nvmf_warn("namespace nodes: %s", err);
				ublk_sync(d);
				report_state(d);	/* other disks: the supervisor looks */
			}
			/*
			 * The state says whether the association is down, not the
			 * event: a failure of an association already replaced is
			 * stale, and one right after a reconnect is not lost.
			 */
			if ((ev & NVMF_CTRL_EV_FAILED) && !d->primary_lost &&
			    nvmf_ctrl_get_state(c) == NVMF_CTRL_FAILED) {
				if (wait_until) {
					/* Stopping already: a reconnect would outlast the bound. */
					nvmf_warn("controller lost while waiting for the disks: stopping");
					return 0;
				}
				/* With other paths, losing path 0 for good is not the end. */
				if (!d->args->ctrl_loss_tmo || d->key_refused) {
					if (other_paths_alive(d)) {
						primary_lost(d);
						continue;
					}
					if (!d->args->ctrl_loss_tmo)
						return c->err ? c->err : -EIO;
					return -EKEYREJECTED;	/* (by the guard, already said) */
				}
				rc = reconnect_until_live(d, false);
				if (rc == -EINTR)
					continue;	/* a signal or disconnect: see above */
				if (rc < 0 && other_paths_alive(d)) {
					primary_lost(d);
					continue;
				}
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

int nvmf_service_run(const struct nvmf_service_opts *a, int report_fd)
{
	struct daemon d = { .report_fd = -1, .listen_fd = -1, .claim_fd = -1, .sig_fd = -1,
			    .hup_fd = -1, .args = a };
	struct cuse_opts cuse_opts = a->cuse;
	char err[512], msg[700], dead[REG_NAME_MAX] = "";
	sigset_t mask, hup;
	int rc, want;

	/*
	 * Blocked in every thread (the engine's start later, inheriting the
	 * mask) and read from two signalfds: stop signals also cancel a
	 * connect or reset in progress (sig_fd is their cancel fd), SIGHUP
	 * must not.
	 */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigemptyset(&hup);
	sigaddset(&hup, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sigprocmask(SIG_BLOCK, &hup, NULL);
	signal(SIGPIPE, SIG_IGN);
	d.sig_fd = signalfd(-1, &mask, SFD_CLOEXEC);
	d.hup_fd = signalfd(-1, &hup, SFD_CLOEXEC);
	pthread_mutex_init(&d.reset.lock, NULL);
	pthread_cond_init(&d.reset.cond, NULL);
	d.reset.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	d.attempt.cancel_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	d.attempt.done_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	d.path_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (report_fd >= 0) {
		/* First the pid, so that the waiting command can bound its wait. */
		snprintf(msg, sizeof(msg), "PID %d\n", (int)getpid());
		if (write(report_fd, msg, strlen(msg)) < 0)
			nvmf_warn("cannot report to the parent: %s", strerror(errno));
	}

	/*
	 * A daemon for this target that died: take its name, so the CUSE
	 * nodes come back under the same paths (its disks are taken over
	 * below), and with the name its host-wide claim, which the kernel
	 * dropped when that daemon ended. Its nodes and its claim go away with
	 * its last file descriptors, not all at once: a name still held is
	 * tried again for a moment. If someone else took the name meanwhile,
	 * any free one will do.
	 */
	want = a->instance;
	if (want < 0 && state_daemon_find_dead(&a->ctrl, dead) == 0 &&
	    sscanf(dead, "nvme%d", &want) == 1 && want >= 0) {
		for (int t = 0; t < 40; t++) {
			d.listen_fd = reg_reserve(want, d.name, &d.claim_fd, err, sizeof(err));
			if (d.listen_fd != -EEXIST)
				break;
			nanosleep(&(struct timespec){ 0, 50 * 1000 * 1000 }, NULL);
		}
		if (d.listen_fd < 0)
			nvmf_info("cannot take the name of %s, which died: %s", dead, err);
	}
	if (d.listen_fd < 0)
		d.listen_fd = reg_reserve(a->instance, d.name, &d.claim_fd, err, sizeof(err));
	if (d.listen_fd < 0)
		goto fail;
	nvmf_log_set_ctrl(d.name);
	if (a->log_file) {
		char path[256];	/* the socket path (sun_path) is shorter */

		/* Appended to: a daemon that takes over a name goes on with its log. */
		snprintf(path, sizeof(path), "%s/%s.log", reg_rundir(), d.name);
		rc = nvmf_log_open(path);
		if (rc < 0) {
			snprintf(err, sizeof(err), "cannot open the log %s: %s", path,
				 strerror(-rc));
			reg_release(d.name);
			goto fail;
		}
		if (report_fd >= 0) {
			/* The command names it when the daemon fails to report. */
			snprintf(msg, sizeof(msg), "LOG %s\n", path);
			if (write(report_fd, msg, strlen(msg)) < 0)
				nvmf_warn("cannot report to the parent: %s", strerror(errno));
		}
	}
	if (a->instance < 0 && !strcmp(dead, d.name))
		nvmf_warn("taking over from %s, which died", dead);
	rc = connect_first(&d, &a->ctrl, err, sizeof(err));
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
	d.p0.ctrl = d.ctrl;
	nvmf_mpath_init(&d.mp, &d.p0, a->iopolicy);
	rc = state_daemon_save(d.name, &d.ctrl->opts);
	if (rc < 0)
		nvmf_warn("cannot record the daemon in %s: %s", reg_rundir(), strerror(-rc));
	if (*dead && strcmp(dead, d.name))
		state_daemon_remove(dead);	/* superseded */
	/*
	 * With reconnect on, I/O waits across a connection loss instead of
	 * failing, from the start: also the partition scan of a disk being
	 * created, while the guard thread reconnects (see guard_main).
	 */
	if (a->ctrl_loss_tmo)
		hold_io(&d, true);
	guard_start(&d);
	if (!a->no_cuse) {
		cuse_opts.reset = request_reset;
		cuse_opts.reset_arg = &d;
		rc = cuse_ctrl_create(d.ctrl, d.name, &cuse_opts, &d.cuse, err, sizeof(err));
		if (rc < 0) {
			guard_stop(&d);
			shut_down(&d);
			goto fail;
		}
		cuse_ctrl_set_mpath(d.cuse, &d.mp);
	}
	if (!a->no_ublk) {
		if (!d.ctrl->nr_ioq)
			snprintf(err, sizeof(err), "ublk disks need I/O queues (-i)");
		rc = d.ctrl->nr_ioq ? ublk_create_all(&d, err, sizeof(err)) : -EINVAL;
		if (rc < 0) {
			guard_stop(&d);
			shut_down(&d);
			goto fail;
		}
	}
	guard_stop(&d);
	{
		char devs[300] = "";
		size_t off = 0;

		if (d.cuse)
			off += (size_t)snprintf(devs, sizeof(devs), ": %s", cuse_ctrl_path(d.cuse));
		for (int i = 0; i < d.nr_ublk && off < sizeof(devs) - 40; i++)
			off += (size_t)snprintf(devs + off, sizeof(devs) - off, "%s%s%s",
						off ? " " : ": ", ublk_dev_path(d.ublk[i]),
						ublk_dev_recovered(d.ublk[i]) ? " (recovered)" : "");
		snprintf(msg, sizeof(msg), "OK %s: connected to %s at %s %s:%s, cntlid %u, "
			 "%d I/O queue(s), %d namespace(s)%s\n", d.name, d.ctrl->opts.subnqn,
			 d.ctrl->opts.transport, d.ctrl->opts.traddr, d.ctrl->opts.trsvcid,
			 d.ctrl->cntlid, d.ctrl->nr_ioq, d.ctrl->nr_ns, devs);
	}
	if (report_fd >= 0) {
		/* "WARN <line>" for each warning, then the verdict. */
		for (char *line = d.warnings, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
			char w[1100];

			snprintf(w, sizeof(w), "WARN %.*s\n", (int)(nl - line), line);
			if (write(report_fd, w, strlen(w)) < 0)
				break;
		}
		if (write(report_fd, msg, strlen(msg)) < 0)
			nvmf_warn("cannot report to the parent: %s", strerror(errno));
		if (a->report_state && fcntl(report_fd, F_SETFL, O_NONBLOCK) == 0)
			d.report_fd = report_fd;	/* STATE lines from now on */
		else
			close(report_fd);
	} else {
		if (*d.warnings)
			fprintf(stderr, "%s", d.warnings);
		fputs(msg + 3, stdout);
		fflush(stdout);
	}
	{
		/* "OK nvmeN: connected ...\n": every line names it; one line, no newline. */
		const char *summary = msg + 3 + strlen(d.name) + 2;

		nvmf_info("%.*s", (int)strcspn(summary, "\n"), summary);
	}

	rc = daemon_loop(&d);
	if (d.keep_disks)
		leave(&d);
	shut_down(&d);
	if (d.report_fd >= 0)
		close(d.report_fd);
	close(d.listen_fd);
	close(d.claim_fd);	/* the nodes are gone: the instance is free */
	return rc < 0 ? 1 : 0;

fail:
	if (report_fd >= 0) {
		snprintf(msg, sizeof(msg), "ERR %s\n", err);
		if (write(report_fd, msg, strlen(msg)) < 0)
			nvmf_warn("cannot report to the parent: %s", strerror(errno));
		close(report_fd);
	} else {
		fprintf(stderr, "%s: %s\n", a->prog ? a->prog : "nvmfuse", err);
	}
	if (d.listen_fd >= 0)
		close(d.listen_fd);
	if (d.claim_fd >= 0)
		close(d.claim_fd);
	return 1;
}

