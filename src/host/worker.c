/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sched.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "base/log.h"
#include "host/spin.h"
#include "host/worker.h"

#define MAX_EVENTS 32

struct fd_watch {
	struct nvmf_ring_handler rh;	/* first: the ring loop's poll of fd */
	struct fd_watch *next;
	struct nvmf_worker *w;
	int fd;
	uint32_t events;
	nvmf_fd_cb cb;		/* NULL once removed: see nvmf_worker_del_fd() */
	void *arg;
	/* The ring loop (worker thread only): */
	bool armed;		/* its POLL_ADD is on the ring: not freed until it is back */
	bool ready;		/* it fired: queued for the loop to call cb */
	struct fd_watch *ready_next;
	uint32_t revents;
};

struct idle_hook {
	struct idle_hook *next;
	void (*fn)(void *arg);
	void *arg;
};

struct deferred {
	struct deferred *next;
	uint64_t due_ns;
	void (*fn)(void *arg);
	void *arg;
};

/* Mailbox item: a request to submit, or a function to run. */
struct call {
	void (*fn)(void *arg);
	void *arg;
	bool done;
};

struct nvmf_worker {
	pthread_t thread;
	struct nvmf_qpair *qp;
	int epfd;
	int evfd;
	short qp_events;		/* what the qpair fd is registered for */
	bool qp_watched;		/* the qpair fd is in the epoll set */
	struct fd_watch *watches;
	/*
	 * Watches removed during a loop iteration: epoll_wait may already have
	 * returned an event pointing at them (a callback, or a call in the
	 * mailbox, removed a later fd of the same batch), so they are freed
	 * only at the end of the iteration. Worker thread only.
	 */
	struct fd_watch *removed;
	/* mailbox, shared: guarded by lock */
	pthread_mutex_t lock;
	pthread_cond_t call_done;
	struct nvmf_request **box;
	size_t box_len, box_cap;
	struct call *call;
	struct nvmf_worker_task *tasks, **tasks_tail;
	bool stop;
	void (*on_fail)(struct nvmf_qpair *qp, void *arg);
	void *on_fail_arg;
	bool fail_reported;		/* worker thread only */
	bool hold;			/* atomic: reconnecting, keep failed-queue work */
	bool released;			/* atomic: hold was turned off at least once */
	struct idle_hook *idle;		/* worker thread only */
	struct deferred *deferred;	/* worker thread only, sorted by due time */
	int timer_fd;
	/* optional: is a request's namespace still the one it was meant for */
	bool (*valid)(struct nvmf_request *req, void *arg);
	void *valid_arg;
	/*
	 * A poll queue (-P): while commands are outstanding the loop never
	 * sleeps, and reads the queue pair on every turn; idle, it sleeps as
	 * any worker does. Atomic (relaxed): set by the starter.
	 */
	bool busy_poll;
	/* worker thread only: requests that did not fit the queue pair yet */
	struct nvmf_request **backlog;
	size_t backlog_len, backlog_cap;
	/*
	 * The ring loop (see ring_wait()): worker thread only, created by
	 * the thread itself (DEFER_TASKRUN rings belong to one task).
	 * ring_on is set once, before the first nvmf_worker_call() returns.
	 */
	struct io_uring ring;
	bool ring_on;
	bool mb_armed, mb_ready;	/* POLL_ADD on the mailbox eventfd */
	bool in_armed, out_armed;	/* POLL_ADD on the queue pair's fd */
	bool recv_armed;		/* IORING_OP_RECV on the queue pair's fd */
	bool qp_recv;			/* this queue pair receives by completion */
	bool qp_readable;		/* noted by ring_reap(), handled by the loop */
	struct fd_watch *ready, **ready_tail;	/* watches that fired, in order */
	bool recv_ready;
	int recv_res;
	/*
	 * The queue pair's send by completion (ops->tx_prep/tx_done): one
	 * IORING_OP_SENDMSG at a time, @send_msg pointing at the transport's
	 * iovecs, submitted by the enter that waits.
	 */
	bool qp_send;			/* this queue pair sends by completion */
	bool send_armed;		/* its SENDMSG is on the ring */
	bool send_ready;		/* ... and came back with send_res */
	int send_res;
	struct msghdr send_msg;
	/* The spin window (host/spin.h, NVMFUSE_SPIN_US): worker thread only. */
	struct nvmf_spin spin;
};

/* The worker whose thread this is (NULL on other threads). */
static __thread struct nvmf_worker *self_worker;

/*
 * user_data of the worker's own SQEs. Everything else on the ring is a
 * struct nvmf_ring_handler's address, never this small.
 */
enum ring_token {
	RING_MAILBOX = 1,	/* the mailbox eventfd is readable */
	RING_QP_IN,		/* the queue pair's fd is readable */
	RING_QP_OUT,		/* ... writable */
	RING_QP_RECV,		/* bytes received into the transport's buffer */
	RING_CANCEL,		/* an ASYNC_CANCEL of one of the above */
	RING_QP_SEND,		/* the queue pair's SENDMSG came back */
	RING_TOKEN_MAX = 4096,
};

bool nvmf_worker_holding(struct nvmf_worker *w);

static uint32_t to_epoll(short ev)
{
	return (ev & POLLIN ? EPOLLIN : 0) | (ev & POLLOUT ? EPOLLOUT : 0);
}

static void fail_request(struct nvmf_request *req, uint16_t status, int err)
{
	req->status = status;
	req->xport_err = err;
	if (req->cb)
		req->cb(req);
}

static int push(struct nvmf_request ***v, size_t *len, size_t *cap, struct nvmf_request *req)
{
	if (*len == *cap) {
		size_t n = *cap ? *cap * 2 : 64;
		struct nvmf_request **bigger = realloc(*v, n * sizeof(**v));

		if (!bigger)
			return -ENOMEM;
		*v = bigger;
		*cap = n;
	}
	(*v)[(*len)++] = req;
	return 0;
}

/*
 * A request for a namespace incarnation that has ended (gone, or changed
 * while the association was down) must not reach the new namespace:
 * complete it as the controller would, Invalid Namespace, do not retry.
 */
static bool stale(struct nvmf_worker *w, struct nvmf_request *req)
{
	if (!req->ns_ref || !w->valid || w->valid(req, w->valid_arg))
		return false;
	fail_request(req, NVMF_SC_INVALID_NS | NVME_SC_DNR, 0);
	return true;
}

/* Submit backlog in order while the queue pair has room. */
static void drain_backlog(struct nvmf_worker *w)
{
	size_t i = 0;

	if (!w->backlog_len)
		return;
	if (w->qp->state == NVMF_QP_FAILED && nvmf_worker_holding(w))
		return;		/* reconnecting: wait for the next queue pair */

	while (i < w->backlog_len) {
		struct nvmf_request *req = w->backlog[i];
		int rc;

		if (stale(w, req)) {
			i++;
			continue;
		}
		rc = nvmf_qpair_submit(w->qp, req);

		if (rc == -EBUSY)
			break;
		i++;
		if (rc < 0)
			fail_request(req, NVMF_SC_HOST_PATH_ERROR, rc);
	}
	memmove(w->backlog, w->backlog + i, (w->backlog_len - i) * sizeof(*w->backlog));
	w->backlog_len -= i;
}

static void drain_mailbox(struct nvmf_worker *w)
{
	struct nvmf_request **box;
	struct nvmf_worker_task *tasks, *next;
	struct call *call;
	size_t n;
	uint64_t v;

	if (read(w->evfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		nvmf_debug("worker eventfd: %s", strerror(errno));
	pthread_mutex_lock(&w->lock);
	box = w->box;
	n = w->box_len;
	w->box = NULL;
	w->box_len = w->box_cap = 0;
	call = w->call;
	w->call = NULL;
	tasks = w->tasks;
	w->tasks = NULL;
	w->tasks_tail = &w->tasks;
	for (struct nvmf_worker_task *t = tasks; t; t = t->next)
		t->queued = false;	/* may be queued again while it runs */
	pthread_mutex_unlock(&w->lock);

	for (; tasks; tasks = next) {
		next = tasks->next;
		tasks->fn(tasks->arg);
	}
	if (call) {
		call->fn(call->arg);
		pthread_mutex_lock(&w->lock);
		call->done = true;
		pthread_cond_broadcast(&w->call_done);
		pthread_mutex_unlock(&w->lock);
	}
	for (size_t i = 0; i < n; i++) {
		if (push(&w->backlog, &w->backlog_len, &w->backlog_cap, box[i]) < 0)
			fail_request(box[i], NVMF_SC_HOST_ABORTED_CMD, -ENOMEM);
	}
	free(box);
	drain_backlog(w);
}

/*
 * Keep the queue pair's fd in the epoll set with the events the transport
 * wants now. A failed queue pair's fd leaves the set: its socket stays
 * readable or hung up (EOF, EPOLLHUP/EPOLLERR are reported whatever the
 * mask), and a worker waiting for the reconnect must cost no CPU.
 */
static void update_qp_events(struct nvmf_worker *w)
{
	struct epoll_event ev = { 0 };
	short want;
	int fd = w->qp->ops->pollfd(w->qp, &want);

	if (w->qp->state == NVMF_QP_FAILED) {
		if (w->qp_watched && epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL) < 0)
			nvmf_debug("worker: cannot unwatch queue %u: %s", w->qp->qid,
				   strerror(errno));
		w->qp_watched = false;
		return;
	}
	if (w->qp_watched && want == w->qp_events)
		return;
	ev.events = to_epoll(want);
	ev.data.ptr = NULL;	/* NULL marks the queue pair */
	if (epoll_ctl(w->epfd, w->qp_watched ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) == 0) {
		w->qp_events = want;
		w->qp_watched = true;
	}
}

static void arm_deferred(struct nvmf_worker *w)
{
	struct itimerspec its = { 0 };

	if (w->deferred) {
		uint64_t now = nvmf_now_ns(), due = w->deferred->due_ns;
		uint64_t left = due > now ? due - now : 1;

		its.it_value.tv_sec = (time_t)(left / 1000000000ull);
		its.it_value.tv_nsec = (long)(left % 1000000000ull);
	}
	timerfd_settime(w->timer_fd, 0, &its, NULL);
}

static void run_deferred(struct nvmf_worker *w, int fd, uint32_t events, void *arg)
{
	uint64_t now = nvmf_now_ns(), n;

	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		nvmf_debug("worker timer: %s", strerror(errno));
	while (w->deferred && w->deferred->due_ns <= now) {
		struct deferred *d = w->deferred;

		w->deferred = d->next;
		d->fn(d->arg);
		free(d);
	}
	arm_deferred(w);
}

int nvmf_worker_defer(struct nvmf_worker *w, uint32_t delay_ms, void (*fn)(void *arg), void *arg)
{
	struct deferred *d, **p;
	bool stopping;

	pthread_mutex_lock(&w->lock);
	stopping = w->stop;
	pthread_mutex_unlock(&w->lock);
	if (stopping)
		return -ESHUTDOWN;	/* nvmf_worker_stop() is running what is left */
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->due_ns = nvmf_now_ns() + (uint64_t)delay_ms * 1000000ull;
	d->fn = fn;
	d->arg = arg;
	for (p = &w->deferred; *p && (*p)->due_ns <= d->due_ns; p = &(*p)->next)
		;
	d->next = *p;
	*p = d;
	arm_deferred(w);
	return 0;
}

/* Free removed watches, except those whose poll is still on the ring. */
static void free_removed(struct nvmf_worker *w)
{
	struct fd_watch **p = &w->removed;

	while (*p) {
		struct fd_watch *fw = *p;

		if (fw->armed || fw->ready) {
			p = &fw->next;
			continue;
		}
		*p = fw->next;
		free(fw);
	}
}

/*
 * Run the callbacks of @n epoll events. Returns true when one of them is
 * the queue pair's fd (the epoll loop only; the ring loop watches it on
 * the ring).
 */
static bool dispatch_epoll(struct nvmf_worker *w, struct epoll_event *evs, int n)
{
	bool qp_ready = false;

	for (int i = 0; i < n; i++) {
		struct fd_watch *fw = evs[i].data.ptr;

		if (fw == (void *)w)
			drain_mailbox(w);
		else if (fw && fw->cb)
			fw->cb(w, fw->fd, evs[i].events, fw->arg);
		else if (!fw)
			qp_ready = true;
	}
	return qp_ready;
}

/* ------------------------------------------------------------ ring loop */

/*
 * The ring loop, the default: the worker sleeps in io_uring_enter() and
 * nowhere else. What it waits for is on its own io_uring:
 *   - a POLL_ADD on the mailbox eventfd and on each fd that
 *     nvmf_worker_add_fd() watches (timer, CUSE), whose callback then
 *     runs as the epoll loop would run it (the fds stay in the epoll set,
 *     which the ring loop never waits on);
 *   - the queue pair's fd: an IORING_OP_RECV into the transport's own
 *     buffer where the transport can (ops->rx_buf: TCP without TLS, on
 *     I/O queues), else a POLL_ADD for what pollfd asks; a POLLOUT poll
 *     while the transport has bytes the socket did not take;
 *   - what ring users put there (ublk's FETCH and COMMIT_AND_FETCH,
 *     nvmf_worker_sqe()), each completion routed by the struct
 *     nvmf_ring_handler its user_data points at.
 * The SQEs prepared in an iteration (ublk commits, re-armed polls and
 * receives) go in with the one enter that waits for the next event, and
 * the ring's task work (DEFER_TASKRUN) runs in that enter too, so ublk's
 * task work no longer interrupts a wait. Polls are one-shot and re-armed
 * when they fired: arming looks at readiness at once, so a level-triggered
 * fd behind the epoll set is never missed. A failed queue pair's fd is
 * not watched (it stays hung up: a worker waiting for a reconnect costs
 * no CPU). NVMFUSE_WORKER_LOOP=epoll, or a kernel without io_uring,
 * keeps the epoll loop.
 */
#define WORKER_RING_SQ	256
#define WORKER_RING_CQ	4096

static struct io_uring_sqe *ring_sqe(struct nvmf_worker *w)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);

	if (!sqe) {
		io_uring_submit(&w->ring);
		sqe = io_uring_get_sqe(&w->ring);
	}
	return sqe;
}

/* May the queue pair receive by completion? TLS is found out at the first rx_buf. */
static bool qp_can_recv(const struct nvmf_qpair *qp)
{
	/*
	 * Not the admin queue: the controller code polls it with its own
	 * receive calls (nvmf_ctrl_service, scans) from fd callbacks.
	 */
	return qp->qid && qp->ops->rx_buf && qp->ops->rx_done;
}

/*
 * May the queue pair send by completion? TLS (and NVMFUSE_TCP_SEND=sendmsg)
 * is found out at the first tx_prep. I/O queues only, as receiving.
 */
static bool qp_can_send(const struct nvmf_qpair *qp)
{
	return qp->qid && qp->ops->tx_prep && qp->ops->tx_done;
}

/* Note what completed; run the ring users' handlers. Never waits. */
static void ring_reap(struct nvmf_worker *w)
{
	struct io_uring_cqe *cqe;

	while (io_uring_peek_cqe(&w->ring, &cqe) == 0) {
		uint64_t ud = cqe->user_data;
		int res = cqe->res;
		uint32_t flags = cqe->flags;

		io_uring_cqe_seen(&w->ring, cqe);
		switch (ud) {
		case RING_MAILBOX:
			w->mb_armed = false;
			w->mb_ready = true;
			break;
		case RING_QP_IN:
		case RING_QP_OUT:
			if (ud == RING_QP_IN)
				w->in_armed = false;
			else
				w->out_armed = false;
			if (res != -ECANCELED)
				w->qp_readable = true;	/* as epoll: any event, look */
			break;
		case RING_QP_RECV:
			w->recv_armed = false;
			if (res != -ECANCELED) {
				w->recv_ready = true;
				w->recv_res = res;
			}
			break;
		case RING_QP_SEND:
			w->send_armed = false;
			w->send_ready = true;
			w->send_res = res;
			break;
		case RING_CANCEL:
			break;
		default:
			if (ud >= RING_TOKEN_MAX) {
				struct nvmf_ring_handler *h = (void *)(uintptr_t)ud;

				h->fn(h, res, flags);
			}
			break;
		}
	}
}

static void ring_poll_qp(struct nvmf_worker *w, int fd, short mask, uint64_t token)
{
	struct io_uring_sqe *sqe = ring_sqe(w);

	if (!sqe)
		return;
	io_uring_prep_poll_add(sqe, fd, (unsigned int)mask);
	io_uring_sqe_set_data64(sqe, token);
	if (token == RING_QP_IN)
		w->in_armed = true;
	else
		w->out_armed = true;
}

/*
 * Put what the queue pair has queued on the ring as one SENDMSG. It goes
 * in with the enter that waits; MSG_WAITALL: the ring itself continues a
 * short send on the stream, so its completion comes once. Its completion
 * ends that wait like any other: waiting for one more (the reply the
 * send asks for) measured slower under DEFER_TASKRUN than the extra
 * enter (RESULTS.md, session 7).
 */
static void ring_send_qp(struct nvmf_worker *w, int fd)
{
	struct nvmf_qpair *qp = w->qp;
	struct io_uring_sqe *sqe;
	struct iovec *iov = NULL;
	bool more;
	int cnt, rc;

	rc = qp->ops->tx_prep(qp, &iov, &cnt, &more);
	if (rc < 0) {		/* TLS: the transport sends itself, as before */
		w->qp_send = false;
		qp->tx_by_loop = false;
		qp->tx_quiesce = NULL;
		return;
	}
	if (!cnt)
		return;
	sqe = ring_sqe(w);
	if (!sqe) {		/* nothing went out; the next turn tries again */
		qp->ops->tx_done(qp, 0);
		return;
	}
	w->send_msg = (struct msghdr){ .msg_iov = iov, .msg_iovlen = (size_t)cnt };
	io_uring_prep_sendmsg(sqe, fd, &w->send_msg, MSG_NOSIGNAL | MSG_WAITALL);
	io_uring_sqe_set_data64(sqe, RING_QP_SEND);
	w->send_armed = true;
}

/*
 * The queue pair failed (nvmf_qpair_fail(), before it fails the commands):
 * take its send off the ring and wait until it is back, so that no
 * command's buffer is handed back while the kernel may still read it.
 */
static void ring_quiesce_send(struct nvmf_qpair *qp, void *arg)
{
	struct nvmf_worker *w = arg;
	struct io_uring_sqe *sqe;

	if (qp != w->qp || self_worker != w)
		return;
	if (w->send_armed && (sqe = ring_sqe(w))) {
		nvmf_debug("worker: queue %u failed with a send out: taking it back", qp->qid);
		io_uring_prep_cancel64(sqe, RING_QP_SEND, 0);
		io_uring_sqe_set_data64(sqe, RING_CANCEL);
	}
	while (w->send_armed) {
		int rc = io_uring_submit_and_wait(&w->ring, 1);

		if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
			nvmf_err("worker: cannot take queue %u's send off the ring: %s", qp->qid,
				 strerror(-rc));
			break;
		}
		ring_reap(w);
	}
	if (w->send_ready) {
		w->send_ready = false;
		qp->ops->tx_done(qp, w->send_res);
	}
}

/* Send by completion on @qp, or not (before it is handed back). */
static void ring_send_mode(struct nvmf_worker *w, struct nvmf_qpair *qp, bool on)
{
	w->qp_send = on && qp_can_send(qp);
	qp->tx_by_loop = w->qp_send;
	qp->tx_quiesce = w->qp_send ? ring_quiesce_send : NULL;
	qp->tx_quiesce_arg = w;
}

/* Arm what is not armed: the epoll set, the queue pair's receive or polls. */
static void ring_arm(struct nvmf_worker *w)
{
	struct nvmf_qpair *qp = w->qp;
	struct io_uring_sqe *sqe;
	short want;
	int fd;

	if (!w->mb_armed && (sqe = ring_sqe(w))) {
		io_uring_prep_poll_add(sqe, w->evfd, POLLIN);
		io_uring_sqe_set_data64(sqe, RING_MAILBOX);
		w->mb_armed = true;
	}
	for (struct fd_watch *fw = w->watches; fw; fw = fw->next) {
		if (fw->armed || !(sqe = ring_sqe(w)))
			continue;
		io_uring_prep_poll_add(sqe, fw->fd, fw->events);
		io_uring_sqe_set_data(sqe, &fw->rh);
		fw->armed = true;
	}
	if (qp->state == NVMF_QP_FAILED)
		return;
	fd = qp->ops->pollfd(qp, &want);
	if (w->qp_recv && !w->recv_armed) {
		void *buf;
		size_t len;

		if (qp->ops->rx_buf(qp, &buf, &len) < 0) {
			w->qp_recv = false;	/* TLS: by readiness, as before */
		} else if (qp->state != NVMF_QP_FAILED && (sqe = ring_sqe(w))) {
			io_uring_prep_recv(sqe, fd, buf, len, 0);
			io_uring_sqe_set_data64(sqe, RING_QP_RECV);
			w->recv_armed = true;
		}
		if (qp->state == NVMF_QP_FAILED)	/* rx_buf consumed a bad PDU */
			return;
	}
	if (w->qp_send && !w->send_armed) {
		ring_send_qp(w, fd);
		if (!w->qp_send)	/* refused (TLS): it may want POLLOUT now */
			fd = qp->ops->pollfd(qp, &want);
	}
	if (!w->qp_recv && (want & POLLIN) && !w->in_armed)
		ring_poll_qp(w, fd, POLLIN, RING_QP_IN);
	if ((want & POLLOUT) && !w->out_armed)
		ring_poll_qp(w, fd, POLLOUT, RING_QP_OUT);
}

/*
 * Take the queue pair's receive and polls off the ring, and wait until
 * they are gone (before the queue pair is swapped out or handed back:
 * the receive writes into its buffer). What they brought is dropped.
 */
static void ring_quiesce_qp(struct nvmf_worker *w)
{
	static const uint64_t tokens[] = { RING_QP_IN, RING_QP_OUT, RING_QP_RECV, RING_QP_SEND };
	const bool armed[] = { w->in_armed, w->out_armed, w->recv_armed, w->send_armed };

	for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
		struct io_uring_sqe *sqe;

		if (!armed[i] || !(sqe = ring_sqe(w)))
			continue;
		io_uring_prep_cancel64(sqe, tokens[i], 0);
		io_uring_sqe_set_data64(sqe, RING_CANCEL);
	}
	while (w->in_armed || w->out_armed || w->recv_armed || w->send_armed) {
		int rc = io_uring_submit_and_wait(&w->ring, 1);

		if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
			nvmf_err("worker: cannot take queue %u off the ring: %s", w->qp->qid,
				 strerror(-rc));
			break;
		}
		ring_reap(w);
	}
	w->recv_ready = false;
	w->qp_readable = false;
	if (w->send_ready) {	/* what went out is retired; the rest never will */
		w->send_ready = false;
		w->qp->ops->tx_done(w->qp, w->send_res);
	}
	ring_send_mode(w, w->qp, false);
}

/*
 * The spin window from NVMFUSE_SPIN_US (host/spin.h); off when it is not
 * set. A bad value is said once per process and leaves it off.
 */
static void spin_setup(struct nvmf_worker *w)
{
	static bool warned;
	const char *v = getenv("NVMFUSE_SPIN_US");

	if (nvmf_spin_parse(v, &w->spin.window_us) < 0 &&
	    !__atomic_exchange_n(&warned, true, __ATOMIC_RELAXED))
		nvmf_warn("NVMFUSE_SPIN_US=%s: expected microseconds 0-%u; not spinning", v,
			  NVMF_SPIN_MAX_US);
}

/*
 * Look for what the queue is waiting for (the reply to its one command, or
 * the next request), without sleeping, for up to the spin window: a
 * completion on the ring, task work that will make one (a received PDU, a
 * ublk request, a CUSE request, the mailbox, the queue pair's fd polled
 * readable: IORING_SQ_TASKRUN), or, for a queue pair the ring does not
 * receive for, what its poll finds without a read (RDMA's CQ in user
 * space; rx_idle). Every turn yields the CPU, so a target or caller
 * runnable on this CPU goes first. What the iteration prepared (the
 * command's send) is submitted first. Returns true when something came:
 * the caller then handles it without sleeping.
 */
static bool ring_spin(struct nvmf_worker *w)
{
	struct nvmf_qpair *qp = w->qp;
	uint64_t end = nvmf_now_ns() + (uint64_t)w->spin.window_us * 1000u;
	uint32_t outstanding = qp->outstanding;
	uint64_t turns = 0;
	bool hit = false;

	io_uring_submit(&w->ring);
	do {
		if (io_uring_cq_ready(&w->ring) ||
		    (IO_URING_READ_ONCE(*w->ring.sq.kflags) & IORING_SQ_TASKRUN)) {
			hit = true;
			break;
		}
		if (!w->qp_recv) {
			qp->rx_idle = true;
			nvmf_qpair_poll(qp, 0);
			if (qp->outstanding != outstanding || qp->state == NVMF_QP_FAILED) {
				hit = true;
				break;
			}
		}
		sched_yield();
		turns++;
	} while (nvmf_now_ns() < end);
	w->spin.yields += turns;
	if (hit && !turns)
		w->spin.at_once++;
	return hit;
}

/* Runs first on the worker thread: the ring loop, or the epoll loop without io_uring. */
static void ring_setup(struct nvmf_worker *w)
{
	struct io_uring_params p = { 0 };
	const char *loop = getenv("NVMFUSE_WORKER_LOOP");
	int rc;

	if (loop && !strcmp(loop, "epoll"))
		return;
	if (loop && strcmp(loop, "uring"))
		nvmf_warn("NVMFUSE_WORKER_LOOP=%s: expected uring or epoll; using uring", loop);
	spin_setup(w);
	p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
	/* Spinning looks for pending task work in the SQ ring's flags. */
	if (w->spin.window_us)
		p.flags |= IORING_SETUP_TASKRUN_FLAG;
	p.cq_entries = WORKER_RING_CQ;
	rc = io_uring_queue_init_params(WORKER_RING_SQ, &w->ring, &p);
	if (rc == -EINVAL) {	/* before Linux 6.1: task work by signal, still one wait */
		if (w->spin.window_us)
			nvmf_warn("NVMFUSE_SPIN_US: this kernel's io_uring has no deferred task work; not spinning");
		w->spin.window_us = 0;
		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_CQSIZE;
		p.cq_entries = WORKER_RING_CQ;
		rc = io_uring_queue_init_params(WORKER_RING_SQ, &w->ring, &p);
	}
	if (rc < 0) {
		nvmf_debug("worker: no io_uring (%s): epoll loop", strerror(-rc));
		return;
	}
	if (!(p.features & IORING_FEAT_NODROP) || !(p.features & IORING_FEAT_EXT_ARG)) {
		nvmf_debug("worker: io_uring too old (features 0x%x): epoll loop", p.features);
		io_uring_queue_exit(&w->ring);
		return;
	}
	w->ring_on = true;
	ring_send_mode(w, w->qp, true);
	if (w->qp_watched) {
		short want;

		epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->qp->ops->pollfd(w->qp, &want), NULL);
		w->qp_watched = false;
	}
	w->qp_recv = qp_can_recv(w->qp);
}

/*
 * One wait of the ring loop: submit what the iteration prepared, sleep
 * until something completes or @timeout_ms (-1: no limit, 0: do not
 * sleep), then handle it. *readable: look at the queue pair (it polled
 * readable, or the wait timed out). Returns 0 or -errno (the loop ends).
 */
static int ring_wait(struct nvmf_worker *w, int timeout_ms, bool *readable)
{
	struct io_uring_cqe *cqe;
	int rc;

	ring_arm(w);
	/* I/O queues only: the admin queue's commands are not the hot path. */
	if (timeout_ms != 0 && w->qp->qid && w->qp->state != NVMF_QP_FAILED &&
	    nvmf_spin_begin(&w->spin, w->qp->outstanding)) {
		bool hit = ring_spin(w);

		nvmf_spin_end(&w->spin, hit);
		if (hit)
			timeout_ms = 0;
	}
	if (timeout_ms == 0) {
		rc = io_uring_submit_and_get_events(&w->ring);
	} else if (timeout_ms < 0) {
		rc = io_uring_submit_and_wait(&w->ring, 1);
	} else {
		struct __kernel_timespec ts = {
			.tv_sec = timeout_ms / 1000,
			.tv_nsec = (long long)(timeout_ms % 1000) * 1000000,
		};

		rc = io_uring_submit_and_wait_timeout(&w->ring, &cqe, 1, &ts, NULL);
	}
	if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
		nvmf_err("worker: io_uring_enter: %s", strerror(-rc));
		return rc;
	}
	ring_reap(w);
	*readable = w->qp_readable || rc == -ETIME || timeout_ms == 0;
	w->qp_readable = false;
	/* In the order they fired; a callback may remove a later one. */
	while (w->ready) {
		struct fd_watch *fw = w->ready;

		w->ready = fw->ready_next;
		if (!w->ready)
			w->ready_tail = &w->ready;
		fw->ready = false;
		if (fw->cb)
			fw->cb(w, fw->fd, fw->revents, fw->arg);
	}
	if (w->mb_ready) {
		w->mb_ready = false;
		drain_mailbox(w);
	}
	/* What went out first: it may queue more (the next H2CData), or end commands. */
	if (w->send_ready) {
		w->send_ready = false;
		w->qp->ops->tx_done(w->qp, w->send_res);
	}
	/* After the callbacks: a swap in the mailbox drops the old queue's bytes. */
	if (w->recv_ready) {
		w->recv_ready = false;
		if (w->qp->state != NVMF_QP_FAILED)
			w->qp->ops->rx_done(w->qp, w->recv_res);
	}
	return 0;
}

static void ring_teardown(struct nvmf_worker *w)
{
	if (!w->ring_on)
		return;
	if (w->spin.spins)
		nvmf_info("queue %u: spin window %u us: %llu spun, %llu found work (%llu at once), "
			  "%llu yields", w->qp->qid, w->spin.window_us,
			  (unsigned long long)w->spin.spins, (unsigned long long)w->spin.hits,
			  (unsigned long long)w->spin.at_once, (unsigned long long)w->spin.yields);
	ring_quiesce_qp(w);
	/* Last completions: ring users' orphaned commands free themselves. */
	io_uring_get_events(&w->ring);
	ring_reap(w);
	io_uring_queue_exit(&w->ring);
	w->ring_on = false;
	/* The polls went with the ring. */
	for (struct fd_watch *fw = w->watches; fw; fw = fw->next)
		fw->armed = fw->ready = false;
	for (struct fd_watch *fw = w->removed; fw; fw = fw->next)
		fw->armed = fw->ready = false;
	w->ready = NULL;
	w->ready_tail = &w->ready;
}

/* The ring loop: @fw's poll came back. */
static void watch_cqe(struct nvmf_ring_handler *h, int res, uint32_t flags)
{
	struct fd_watch *fw = (struct fd_watch *)h;	/* rh is first */

	(void)flags;
	fw->armed = false;
	if (!fw->cb || res == -ECANCELED || fw->ready)
		return;			/* removed meanwhile: freed at the iteration's end */
	fw->ready = true;
	fw->ready_next = NULL;
	*fw->w->ready_tail = fw;
	fw->w->ready_tail = &fw->ready_next;
	fw->revents = res < 0 ? EPOLLERR : (uint32_t)res;	/* POLL* and EPOLL* bits agree */
}

struct io_uring *nvmf_worker_ring(struct nvmf_worker *w)
{
	return w->ring_on ? &w->ring : NULL;
}

struct io_uring_sqe *nvmf_worker_sqe(struct nvmf_worker *w)
{
	return w->ring_on ? ring_sqe(w) : NULL;
}

struct nvmf_worker *nvmf_worker_self(void)
{
	return self_worker;
}

/* ------------------------------------------------------------ main loop */

static void *worker_main(void *arg)
{
	struct nvmf_worker *w = arg;
	struct epoll_event evs[MAX_EVENTS];
	char name[16];

	/* Named for ps -L, top -H and /proc/PID/task/TID/comm: admin or I/O queue N. */
	if (w->qp->qid)
		snprintf(name, sizeof(name), "nvmf-io%u", w->qp->qid);
	else
		snprintf(name, sizeof(name), "nvmf-admin");
	pthread_setname_np(pthread_self(), name);
	self_worker = w;
	ring_setup(w);

	for (;;) {
		bool live = w->qp->state != NVMF_QP_FAILED, readable;
		/*
		 * Backlog that fits now goes out at once; outstanding commands
		 * need their timeouts checked; idle needs nothing at all.
		 */
		bool spin = live && w->qp->outstanding &&
			    __atomic_load_n(&w->busy_poll, __ATOMIC_RELAXED);
		int n, timeout = spin || (live && w->backlog_len && w->qp->nfree) ? 0 :
				 live && w->qp->timed ? 100 : -1;

		if (w->ring_on) {
			if (ring_wait(w, timeout, &readable) < 0)
				break;
			readable = readable || spin;
		} else {
			update_qp_events(w);
			n = epoll_wait(w->epfd, evs, MAX_EVENTS, timeout);
			if (n < 0 && errno != EINTR)
				break;
			readable = n <= 0 || spin;	/* a timeout or error: look anyway */
			if (n > 0 && dispatch_epoll(w, evs, n))
				readable = true;	/* the queue pair's fd */
		}
		/* Queue pair progress, also expiring timed-out commands. */
		w->qp->rx_idle = !readable;
		nvmf_qpair_poll(w->qp, 0);
		w->qp->rx_idle = true;	/* the rest of this iteration only sends */
		if (w->backlog_len) {
			if (w->qp->state == NVMF_QP_FAILED && nvmf_worker_holding(w)) {
				/* reconnecting: keep it for the next queue pair */
			} else if (w->qp->state == NVMF_QP_FAILED) {
				for (size_t i = 0; i < w->backlog_len; i++)
					fail_request(w->backlog[i], NVMF_SC_HOST_PATH_ERROR,
						     -ENOTCONN);
				w->backlog_len = 0;
			} else {
				drain_backlog(w);
				nvmf_qpair_poll(w->qp, 0);
			}
		}
		for (struct idle_hook *h = w->idle; h; h = h->next)
			h->fn(h->arg);
		w->qp->rx_idle = false;
		free_removed(w);
		pthread_mutex_lock(&w->lock);
		if (w->stop) {
			pthread_mutex_unlock(&w->lock);
			break;
		}
		if (w->qp->state == NVMF_QP_FAILED && !w->fail_reported && w->on_fail) {
			void (*cb)(struct nvmf_qpair *, void *) = w->on_fail;
			void *cb_arg = w->on_fail_arg;

			w->fail_reported = true;
			pthread_mutex_unlock(&w->lock);
			cb(w->qp, cb_arg);
			continue;
		}
		pthread_mutex_unlock(&w->lock);
	}
	ring_teardown(w);
	return NULL;
}

int nvmf_worker_start(struct nvmf_qpair *qp, struct nvmf_worker **out)
{
	struct epoll_event ev = { 0 };
	struct nvmf_worker *w;
	short want;
	int fd, rc;

	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->qp = qp;
	w->timer_fd = -1;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->call_done, NULL);
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->epfd < 0 || w->evfd < 0) {
		rc = -errno;
		goto fail;
	}
	ev.events = EPOLLIN;
	ev.data.ptr = w;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->evfd, &ev) < 0) {
		rc = -errno;
		goto fail;
	}
	fd = qp->ops->pollfd(qp, &want);
	ev.events = to_epoll(want);
	ev.data.ptr = NULL;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		rc = -errno;
		goto fail;
	}
	w->qp_events = want;
	w->qp_watched = true;
	w->tasks_tail = &w->tasks;
	w->ready_tail = &w->ready;
	w->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (w->timer_fd < 0) {
		rc = -errno;
		goto fail;
	}
	rc = nvmf_worker_add_fd(w, w->timer_fd, EPOLLIN, run_deferred, NULL);
	if (rc < 0)
		goto fail;
	rc = -pthread_create(&w->thread, NULL, worker_main, w);
	if (rc < 0)
		goto fail;
	*out = w;
	return 0;
fail:
	while (w->watches)
		nvmf_worker_del_fd(w, w->watches->fd);
	free_removed(w);
	if (w->timer_fd >= 0)
		close(w->timer_fd);
	if (w->epfd >= 0)
		close(w->epfd);
	if (w->evfd >= 0)
		close(w->evfd);
	free(w);
	return rc;
}

bool nvmf_worker_holding(struct nvmf_worker *w)
{
	return __atomic_load_n(&w->hold, __ATOMIC_ACQUIRE);
}

void nvmf_worker_submit(struct nvmf_worker *w, struct nvmf_request *req)
{
	if (stale(w, req))
		return;
	if (w->qp->state == NVMF_QP_FAILED && nvmf_worker_holding(w)) {
		if (push(&w->backlog, &w->backlog_len, &w->backlog_cap, req) < 0)
			fail_request(req, NVMF_SC_HOST_ABORTED_CMD, -ENOMEM);
		return;
	}
	if (!w->backlog_len) {
		int rc = nvmf_qpair_submit(w->qp, req);

		if (rc == 0)
			return;
		if (rc != -EBUSY) {
			fail_request(req, NVMF_SC_HOST_PATH_ERROR, rc);
			return;
		}
	}
	if (push(&w->backlog, &w->backlog_len, &w->backlog_cap, req) < 0)
		fail_request(req, NVMF_SC_HOST_ABORTED_CMD, -ENOMEM);
}

static void wake(struct nvmf_worker *w)
{
	uint64_t one = 1;

	if (write(w->evfd, &one, sizeof(one)) < 0)
		nvmf_debug("worker wake: %s", strerror(errno));
}

void nvmf_worker_post(struct nvmf_worker *w, struct nvmf_request *req)
{
	int rc;

	pthread_mutex_lock(&w->lock);
	rc = w->stop ? -ESHUTDOWN : push(&w->box, &w->box_len, &w->box_cap, req);
	pthread_mutex_unlock(&w->lock);
	if (rc < 0) {
		fail_request(req, NVMF_SC_HOST_ABORTED_CMD, rc);
		return;
	}
	wake(w);
}

void nvmf_worker_run(struct nvmf_worker *w, struct nvmf_worker_task *t)
{
	bool queued = false;

	pthread_mutex_lock(&w->lock);
	if (!t->queued && !w->stop) {
		t->queued = true;
		t->next = NULL;
		*w->tasks_tail = t;
		w->tasks_tail = &t->next;
		queued = true;
	}
	pthread_mutex_unlock(&w->lock);
	if (queued)
		wake(w);
}

void nvmf_worker_call(struct nvmf_worker *w, void (*fn)(void *arg), void *arg)
{
	struct call c = { .fn = fn, .arg = arg };

	pthread_mutex_lock(&w->lock);
	while (w->call)		/* one call at a time */
		pthread_cond_wait(&w->call_done, &w->lock);
	w->call = &c;
	pthread_mutex_unlock(&w->lock);
	wake(w);
	pthread_mutex_lock(&w->lock);
	while (!c.done)
		pthread_cond_wait(&w->call_done, &w->lock);
	pthread_mutex_unlock(&w->lock);
}

int nvmf_worker_add_fd(struct nvmf_worker *w, int fd, uint32_t events, nvmf_fd_cb cb, void *arg)
{
	struct epoll_event ev = { .events = events };
	struct fd_watch *fw = calloc(1, sizeof(*fw));

	if (!fw)
		return -ENOMEM;
	fw->rh.fn = watch_cqe;
	fw->w = w;
	fw->fd = fd;
	fw->events = events;
	fw->cb = cb;
	fw->arg = arg;
	/* Also in the ring loop: epoll_ctl checks that the fd can be watched. */
	ev.data.ptr = fw;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int rc = -errno;

		free(fw);
		return rc;
	}
	fw->next = w->watches;
	w->watches = fw;
	return 0;
}

int nvmf_worker_del_fd(struct nvmf_worker *w, int fd)
{
	for (struct fd_watch **p = &w->watches; *p; p = &(*p)->next) {
		if ((*p)->fd == fd) {
			struct fd_watch *fw = *p;

			epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL);
			if (fw->armed && w->ring_on) {
				struct io_uring_sqe *sqe = ring_sqe(w);

				if (sqe) {	/* its CQE then lets free_removed() free it */
					io_uring_prep_cancel(sqe, &fw->rh, 0);
					io_uring_sqe_set_data64(sqe, RING_CANCEL);
				}
			}
			*p = fw->next;
			fw->cb = NULL;		/* an event already fetched skips it */
			fw->next = w->removed;
			w->removed = fw;
			return 0;
		}
	}
	return -ENOENT;
}

void nvmf_worker_on_fail(struct nvmf_worker *w, void (*cb)(struct nvmf_qpair *qp, void *arg),
			 void *arg)
{
	pthread_mutex_lock(&w->lock);
	w->on_fail = cb;
	w->on_fail_arg = arg;
	pthread_mutex_unlock(&w->lock);
	wake(w);
}

void nvmf_worker_set_valid(struct nvmf_worker *w,
			   bool (*valid)(struct nvmf_request *req, void *arg), void *arg)
{
	w->valid = valid;
	w->valid_arg = arg;
}

void nvmf_worker_set_busy_poll(struct nvmf_worker *w, bool on)
{
	__atomic_store_n(&w->busy_poll, on, __ATOMIC_RELAXED);
}

int nvmf_worker_add_idle(struct nvmf_worker *w, void (*fn)(void *arg), void *arg)
{
	struct idle_hook *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	h->fn = fn;
	h->arg = arg;
	h->next = w->idle;
	w->idle = h;
	return 0;
}

void nvmf_worker_del_idle(struct nvmf_worker *w, void (*fn)(void *arg), void *arg)
{
	for (struct idle_hook **p = &w->idle; *p; p = &(*p)->next) {
		if ((*p)->fn == fn && (*p)->arg == arg) {
			struct idle_hook *h = *p;

			*p = h->next;
			free(h);
			return;
		}
	}
}

static void release_held(void *arg)
{
	struct nvmf_worker *w = arg;
	size_t n = w->backlog_len;

	if (w->qp->state != NVMF_QP_FAILED || nvmf_worker_holding(w))
		return;
	w->backlog_len = 0;
	for (size_t i = 0; i < n; i++)
		fail_request(w->backlog[i], NVMF_SC_HOST_PATH_ERROR, -ENOTCONN);
}

void nvmf_worker_hold(struct nvmf_worker *w, bool hold)
{
	__atomic_store_n(&w->hold, hold, __ATOMIC_RELEASE);
	if (!hold) {
		__atomic_store_n(&w->released, true, __ATOMIC_RELEASE);
		nvmf_worker_call(w, release_held, w);
	}
}

bool nvmf_worker_may_wait(struct nvmf_worker *w)
{
	return nvmf_worker_holding(w) || !__atomic_load_n(&w->released, __ATOMIC_ACQUIRE);
}

struct swap_call {
	struct nvmf_worker *w;
	struct nvmf_qpair *qp;
	void (*adopt)(void *arg);
	void *arg;
};

/* The counters describe the queue, not one connection: they survive reconnects. */
static void stats_carry(struct nvmf_qpair_stats *to, const struct nvmf_qpair_stats *from)
{
	to->submitted += from->submitted;
	to->completed += from->completed;
	to->errors += from->errors;
	to->timeouts += from->timeouts;
	to->ddgst_errors += from->ddgst_errors;
	to->c2h_success += from->c2h_success;
	to->inv_remote += from->inv_remote;
	to->tx_by_ref += from->tx_by_ref;
	to->data_in_place += from->data_in_place;
	to->inv_local += from->inv_local;
	to->aborts += from->aborts;
}

static void swap_on_worker(void *arg)
{
	struct swap_call *sc = arg;
	struct nvmf_worker *w = sc->w;
	struct nvmf_qpair *old = w->qp;
	struct epoll_event ev = { 0 };
	short want;
	int fd = old->ops->pollfd(old, &want);

	if (w->ring_on) {
		ring_quiesce_qp(w);	/* nothing of the ring uses @old any more */
		w->qp_recv = qp_can_recv(sc->qp);
	} else {
		if (w->qp_watched)
			epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL);
		fd = sc->qp->ops->pollfd(sc->qp, &want);
		ev.events = to_epoll(want);
		ev.data.ptr = NULL;
		w->qp_watched = epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) == 0;
		w->qp_events = want;
	}
	/* New queue first: what the old one fails may be resubmitted at once. */
	w->qp = sc->qp;
	if (w->ring_on)
		ring_send_mode(w, w->qp, true);
	stats_carry(&w->qp->stats, &old->stats);
	if (sc->adopt)
		sc->adopt(sc->arg);
	nvmf_qpair_destroy(old);
	pthread_mutex_lock(&w->lock);
	w->fail_reported = false;
	pthread_mutex_unlock(&w->lock);
	drain_backlog(w);
}

void nvmf_worker_swap_qpair(struct nvmf_worker *w, struct nvmf_qpair *qp,
			    void (*adopt)(void *arg), void *arg)
{
	struct swap_call sc = { .w = w, .qp = qp, .adopt = adopt, .arg = arg };

	nvmf_worker_call(w, swap_on_worker, &sc);
}

struct nvmf_qpair *nvmf_worker_qpair(struct nvmf_worker *w)
{
	return w->qp;
}

struct nvmf_qpair *nvmf_worker_stop(struct nvmf_worker *w)
{
	struct nvmf_qpair *qp = w->qp;

	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_mutex_unlock(&w->lock);
	wake(w);
	pthread_join(w->thread, NULL);
	for (struct nvmf_worker_task *t = w->tasks; t; t = t->next)
		t->queued = false;	/* dropped: their owners may free them */
	w->tasks = NULL;
	/* Anything still waiting never reached the wire. */
	for (size_t i = 0; i < w->box_len; i++)
		fail_request(w->box[i], NVMF_SC_HOST_ABORTED_CMD, -ESHUTDOWN);
	for (size_t i = 0; i < w->backlog_len; i++)
		fail_request(w->backlog[i], NVMF_SC_HOST_ABORTED_CMD, -ESHUTDOWN);
	while (w->deferred) {		/* owners fail what they carry */
		struct deferred *d = w->deferred;

		w->deferred = d->next;
		d->fn(d->arg);
		free(d);
	}
	while (w->watches)
		nvmf_worker_del_fd(w, w->watches->fd);
	free_removed(w);
	while (w->idle)
		nvmf_worker_del_idle(w, w->idle->fn, w->idle->arg);
	close(w->timer_fd);
	free(w->box);
	free(w->backlog);
	close(w->epfd);
	close(w->evfd);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->call_done);
	free(w);
	return qp;
}
