/* SPDX-License-Identifier: MIT */
/*
 * Serving a connected controller from worker threads. The admin worker
 * owns the controller's state (struct nvmf_ctrl): it runs keep-alive from
 * a timer, AER handling and namespace scans after each loop iteration
 * that made progress, and it alone moves the state. I/O workers report a
 * failed queue pair to it as a task, tagged with the association
 * generation, so a report that arrives after a reconnect adopted a new
 * association is recognized as stale instead of being lost or acted on.
 *
 * Reconnect is split in two: nvmf_ctrl_reconnect_prepare() builds the
 * new association (blocking, cancellable, on any thread but the workers)
 * and nvmf_ctrl_reconnect_adopt() transplants it into the running
 * workers (short, the owner thread).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "base/log.h"
#include "host/ana.h"
#include "host/nvmf.h"
#include "host/worker.h"

/* One per I/O worker: fail its queue pair when the association failed. */
struct nvmf_ioq_fail {
	struct nvmf_worker_task task;
	struct nvmf_ctrl *c;
	struct nvmf_worker *w;
	uint32_t gen;			/* the association that failed */
};

/* Admin worker: keep-alive is due. */
static void service_tick(struct nvmf_worker *w, int fd, uint32_t events, void *arg)
{
	struct nvmf_ctrl *c = arg;
	uint64_t expirations;

	if (read(fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		nvmf_debug("service timer: %s", strerror(errno));
	nvmf_ctrl_service(c);	/* logs a failure itself */
}

/* Admin worker, after every loop iteration: AER, rescans, re-arms. */
static void service_idle(void *arg)
{
	struct nvmf_ctrl *c = arg;

	if (nvmf_ctrl_get_state(c) == NVMF_CTRL_LIVE && nvmf_ctrl_service_due(c))
		nvmf_ctrl_service(c);
}

static void arm_timer(void *arg)
{
	struct nvmf_ctrl *c = arg;
	long ms = c->ka_period_ms;
	struct itimerspec its = {
		.it_interval = { ms / 1000, (ms % 1000) * 1000000L },
		.it_value = { ms / 1000, (ms % 1000) * 1000000L },
	};

	nvmf_worker_add_idle(c->admin_worker, service_idle, c);
	if (!ms)
		return;		/* no keep-alive: nothing is timed */
	if (timerfd_settime(c->timer_fd, 0, &its, NULL) == 0)
		nvmf_worker_add_fd(c->admin_worker, c->timer_fd, EPOLLIN, service_tick, c);
}

/* Admin worker: an I/O worker reported a failed queue pair. */
static void take_failure(void *arg)
{
	struct nvmf_ctrl *c = arg;
	char why[sizeof(c->fail_msg)];
	uint32_t gen;
	bool pending;
	int err;

	pthread_mutex_lock(&c->ns_lock);
	pending = c->fail_pending;
	gen = c->fail_gen;
	err = c->fail_err;
	memcpy(why, c->fail_msg, sizeof(why));
	c->fail_pending = false;
	pthread_mutex_unlock(&c->ns_lock);
	if (pending)
		nvmf_ctrl_fail_gen(c, gen, err, why);
}

/* I/O worker: its queue pair failed. Hand the news to the admin worker. */
static void io_queue_failed(struct nvmf_qpair *qp, void *arg)
{
	struct nvmf_ctrl *c = arg;
	bool report = false;

	pthread_mutex_lock(&c->ns_lock);
	if (!c->fail_pending && qp->gen == c->gen) {
		c->fail_pending = true;
		c->fail_gen = qp->gen;
		c->fail_err = qp->err ? qp->err : -EIO;
		snprintf(c->fail_msg, sizeof(c->fail_msg), "%s",
			 qp->errmsg[0] ? qp->errmsg : "I/O queue failed");
		report = true;
	}
	pthread_mutex_unlock(&c->ns_lock);
	if (report)
		nvmf_worker_run(c->admin_worker, &c->fail_task);
}

/* I/O worker: the association failed; its queue pair must not wait on. */
static void fail_ioq(void *arg)
{
	struct nvmf_ioq_fail *f = arg;
	struct nvmf_qpair *qp = nvmf_worker_qpair(f->w);

	if (qp->gen == f->gen && qp->state != NVMF_QP_FAILED)
		nvmf_qpair_fail(qp, -ECONNABORTED, "association failed");
}

void nvmf_ctrl_fail_ioqs(struct nvmf_ctrl *c)
{
	if (!c->io_workers || !c->ioq_fail)
		return;
	for (int i = 0; i < c->nr_ioq; i++) {
		c->ioq_fail[i].gen = c->gen;
		nvmf_worker_run(c->io_workers[i], &c->ioq_fail[i].task);
	}
}

/* I/O workers: is a request's namespace incarnation still the controller's? */
static bool ns_valid(struct nvmf_request *req, void *arg)
{
	return nvmf_ns_ref_valid(arg, req->ns_ref);
}

int nvmf_ctrl_start(struct nvmf_ctrl *c)
{
	int rc;

	c->fail_task.fn = take_failure;
	c->fail_task.arg = c;
	c->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (c->timer_fd < 0)
		return -errno;
	c->io_workers = calloc((size_t)(c->nr_ioq ? c->nr_ioq : 1), sizeof(*c->io_workers));
	c->ioq_fail = calloc((size_t)(c->nr_ioq ? c->nr_ioq : 1), sizeof(*c->ioq_fail));
	if (!c->io_workers || !c->ioq_fail)
		return -ENOMEM;
	rc = nvmf_worker_start(c->adminq, &c->admin_worker);
	if (rc < 0)
		goto fail;
	nvmf_worker_call(c->admin_worker, arm_timer, c);
	for (int i = 0; i < c->nr_ioq; i++) {
		rc = nvmf_worker_start(c->ioq[i], &c->io_workers[i]);
		if (rc < 0)
			goto fail;
		c->ioq_fail[i] = (struct nvmf_ioq_fail){
			.task = { .fn = fail_ioq, .arg = &c->ioq_fail[i] },
			.c = c,
			.w = c->io_workers[i],
		};
		nvmf_worker_set_valid(c->io_workers[i], ns_valid, c);
		nvmf_worker_on_fail(c->io_workers[i], io_queue_failed, c);
		if (i >= c->nr_ioq - c->nr_poll_ioq)
			nvmf_worker_set_busy_poll(c->io_workers[i], true);
	}
	return 0;
fail:
	nvmf_ctrl_stop(c);
	return rc;
}

static void disarm_timer(void *arg)
{
	struct nvmf_ctrl *c = arg;

	nvmf_worker_del_idle(c->admin_worker, service_idle, c);
	nvmf_worker_del_fd(c->admin_worker, c->timer_fd);
}

void nvmf_ctrl_stop(struct nvmf_ctrl *c)
{
	if (c->io_workers) {
		for (int i = 0; i < c->nr_ioq; i++)
			if (c->io_workers[i])
				nvmf_worker_stop(c->io_workers[i]);
		free(c->io_workers);
		c->io_workers = NULL;
	}
	if (c->admin_worker) {
		nvmf_worker_call(c->admin_worker, disarm_timer, c);
		nvmf_worker_stop(c->admin_worker);
		c->admin_worker = NULL;
	}
	free(c->ioq_fail);
	c->ioq_fail = NULL;
	if (c->timer_fd >= 0) {
		close(c->timer_fd);
		c->timer_fd = -1;
	}
}

struct admin_swap {
	struct nvmf_ctrl *c;
	struct nvmf_ctrl *nc;
	uint32_t gen;
};

/*
 * On the admin worker, inside the queue swap: adopt the new association's
 * admin state before the old admin queue is destroyed and before the
 * service timer can run again (it must never poll a freed queue pair; the
 * old queue's failing keep-alive and AER land on the reset flags). From
 * here, failure reports of the old association are stale.
 */
static void adopt_admin(void *arg)
{
	struct admin_swap *as = arg;
	struct nvmf_ctrl *c = as->c, *nc = as->nc;

	c->adminq = nvmf_worker_qpair(c->admin_worker);
	c->cntlid = nc->cntlid;
	c->cap = nc->cap;
	c->vs = nc->vs;
	c->id = nc->id;
	c->nn = nc->nn;
	c->ka_inflight = false;
	c->aer_inflight = false;
	c->chlog_inflight = false;
	nvmf_ctrl_ana_queue_reset(c);
	c->aer_pending_rearm = true;	/* service() re-arms the AER */
	c->ka_due_ns = nvmf_now_ns();
	pthread_mutex_lock(&c->ns_lock);
	c->gen = as->gen;
	c->fail_pending = false;
	c->errmsg[0] = 0;
	c->err = 0;
	pthread_mutex_unlock(&c->ns_lock);
	nvmf_ctrl_set_live(c);
}

int nvmf_ctrl_reconnect_prepare(struct nvmf_ctrl *c, int cancel_fd, struct nvmf_ctrl **out,
				char *err, size_t errlen)
{
	struct nvmf_ctrl_opts o = c->opts;
	struct nvmf_ctrl *nc;
	int rc;

	o.cancel_fd = cancel_fd;
	rc = nvmf_ctrl_connect_unarmed(&o, &nc, err, errlen);
	if (rc < 0)
		return rc;
	if (nc->nr_ioq != c->nr_ioq || nc->io_depth < c->io_depth) {
		snprintf(err, errlen, "the controller now grants %d I/O queue(s) of depth %u "
			 "instead of %d of %u", nc->nr_ioq, nc->io_depth, c->nr_ioq, c->io_depth);
		nvmf_ctrl_disconnect(nc);
		return -EPROTO;
	}
	*out = nc;
	return 0;
}

void nvmf_ctrl_reconnect_adopt(struct nvmf_ctrl *c, struct nvmf_ctrl *nc)
{
	/* Written only here and in adopt_admin, both on this thread's behalf. */
	struct admin_swap as = { .c = c, .nc = nc, .gen = c->gen + 1 };

	/*
	 * LIVE comes with the admin queue (below), the I/O queues after it:
	 * until the last one is in, a path selection must not pick this
	 * controller, whose workers would fail the command at once on the
	 * old queue pair (host/mpath.h).
	 */
	__atomic_store_n(&c->ioq_adopting, true, __ATOMIC_RELEASE);

	/*
	 * Namespaces first: an incarnation that ended while we were away
	 * (gone, or a different identity, size or format under the same ID)
	 * must be invalid before any held request is replayed.
	 */
	nvmf_ctrl_ns_adopt(c, nc);
	nvmf_ctrl_ana_adopt(c, nc);	/* the states the new association read */
	c->auths += nc->auths;	/* each reconnect authenticates again */
	c->auth = nc->auth;
	nc->adminq->gen = as.gen;
	nc->adminq->abort_arg = c;
	for (int i = 0; i < c->nr_ioq; i++) {
		nc->ioq[i]->gen = as.gen;
		nc->ioq[i]->abort_arg = c;	/* the donor goes away */
	}
	/* The admin queue next: LIVE, new generation. */
	nvmf_worker_swap_qpair(c->admin_worker, nc->adminq, adopt_admin, &as);
	nc->adminq = NULL;
	/*
	 * Then the I/O queues, which replay what they held: a queue that
	 * fails right away now reports against the new generation, and the
	 * controller fails again instead of looking live.
	 */
	for (int i = 0; i < c->nr_ioq; i++) {
		nvmf_worker_swap_qpair(c->io_workers[i], nc->ioq[i], NULL, NULL);
		c->ioq[i] = nc->ioq[i];
		nc->ioq[i] = NULL;
	}
	__atomic_store_n(&c->ioq_adopting, false, __ATOMIC_RELEASE);
	nc->nr_ioq = 0;
	nc->state = NVMF_CTRL_DELETING;	/* no shutdown: it has no queue left */
	nvmf_ctrl_disconnect(nc);	/* the shell: its queues now belong to c */
	nvmf_ctrl_post_event(c, NVMF_CTRL_EV_NS_CHANGED);
}

int nvmf_ctrl_reconnect(struct nvmf_ctrl *c, char *err, size_t errlen)
{
	struct nvmf_ctrl *nc;
	int rc;

	rc = nvmf_ctrl_reconnect_prepare(c, -1, &nc, err, errlen);
	if (rc < 0)
		return rc;
	nvmf_ctrl_reconnect_adopt(c, nc);
	return 0;
}
