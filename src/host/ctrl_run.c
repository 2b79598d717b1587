/* SPDX-License-Identifier: MIT */
/*
 * Serving a connected controller from worker threads: the admin queue's
 * worker also runs nvmf_ctrl_service() (keep-alive, AER re-arm, namespace
 * rescans) from a periodic timerfd on its own loop.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "host/log.h"
#include "host/nvmf.h"
#include "host/worker.h"

#define SERVICE_PERIOD_MS 100

static void service_tick(struct nvmf_worker *w, int fd, uint32_t events, void *arg)
{
	struct nvmf_ctrl *c = arg;
	uint64_t expirations;

	if (read(fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		nvmf_debug("service timer: %s", strerror(errno));
	if (c->state == NVMF_CTRL_LIVE && nvmf_ctrl_service(c) < 0)
		nvmf_err("controller failed: %s", nvmf_ctrl_error(c));
}

static void arm_timer(void *arg)
{
	struct nvmf_ctrl *c = arg;
	struct itimerspec its = {
		.it_interval = { 0, SERVICE_PERIOD_MS * 1000000L },
		.it_value = { 0, SERVICE_PERIOD_MS * 1000000L },
	};

	if (timerfd_settime(c->timer_fd, 0, &its, NULL) == 0)
		nvmf_worker_add_fd(c->admin_worker, c->timer_fd, EPOLLIN, service_tick, c);
}

/* An I/O queue failed (on its worker thread): the controller has failed. */
static void io_queue_failed(struct nvmf_qpair *qp, void *arg)
{
	struct nvmf_ctrl *c = arg;

	nvmf_ctrl_ioq_failed(c, qp);
	nvmf_err("controller failed: %s", nvmf_ctrl_error(c));
}

int nvmf_ctrl_start(struct nvmf_ctrl *c)
{
	int rc;

	c->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (c->timer_fd < 0)
		return -errno;
	c->io_workers = calloc((size_t)(c->nr_ioq ? c->nr_ioq : 1), sizeof(*c->io_workers));
	if (!c->io_workers)
		return -ENOMEM;
	rc = nvmf_worker_start(c->adminq, &c->admin_worker);
	if (rc < 0)
		goto fail;
	nvmf_worker_call(c->admin_worker, arm_timer, c);
	for (int i = 0; i < c->nr_ioq; i++) {
		rc = nvmf_worker_start(c->ioq[i], &c->io_workers[i]);
		if (rc < 0)
			goto fail;
		nvmf_worker_on_fail(c->io_workers[i], io_queue_failed, c);
	}
	return 0;
fail:
	nvmf_ctrl_stop(c);
	return rc;
}

static void disarm_timer(void *arg)
{
	struct nvmf_ctrl *c = arg;

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
	if (c->timer_fd >= 0) {
		close(c->timer_fd);
		c->timer_fd = -1;
	}
}

struct admin_swap {
	struct nvmf_ctrl *c;
	struct nvmf_ctrl *nc;
};

/*
 * On the admin worker, inside the queue swap: adopt the new association's
 * admin state before the old admin queue is destroyed and before the
 * service timer can run again (it must never poll a freed queue pair; the
 * old queue's failing keep-alive and AER land on the reset flags).
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
	c->ka_inflight = false;
	c->aer_inflight = false;
	c->aer_pending_rearm = true;	/* service() re-arms the AER */
	c->ka_due_ns = nvmf_now_ns();
	pthread_mutex_lock(&c->ns_lock);
	c->errmsg[0] = 0;
	c->err = 0;
	pthread_mutex_unlock(&c->ns_lock);
	c->state = NVMF_CTRL_LIVE;
}

int nvmf_ctrl_reconnect(struct nvmf_ctrl *c, char *err, size_t errlen)
{
	struct admin_swap as = { .c = c };
	struct nvmf_ctrl *nc;
	int rc;

	rc = nvmf_ctrl_connect_unarmed(&c->opts, &nc, err, errlen);
	if (rc < 0)
		return rc;
	if (nc->nr_ioq != c->nr_ioq || nc->io_depth < c->io_depth) {
		snprintf(err, errlen, "the controller now grants %d I/O queue(s) of depth %u "
			 "instead of %d of %u", nc->nr_ioq, nc->io_depth, c->nr_ioq, c->io_depth);
		nvmf_ctrl_disconnect(nc);
		return -EPROTO;
	}
	for (int i = 0; i < c->nr_ioq; i++) {
		nvmf_worker_swap_qpair(c->io_workers[i], nc->ioq[i], NULL, NULL);
		c->ioq[i] = nc->ioq[i];
		nc->ioq[i] = NULL;
	}
	as.nc = nc;
	nvmf_worker_swap_qpair(c->admin_worker, nc->adminq, adopt_admin, &as);
	nc->adminq = NULL;
	nc->nr_ioq = 0;
	nc->state = NVMF_CTRL_DELETING;	/* no shutdown: it has no queue left */
	nvmf_ctrl_disconnect(nc);	/* the shell: its queues now belong to c */
	return 0;
}
