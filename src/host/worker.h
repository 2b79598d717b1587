/* SPDX-License-Identifier: MIT */
/*
 * A worker: one thread, one event loop (io_uring, or epoll), owning one
 * queue pair.
 * This is the engine's threading model made concrete:
 *
 *   - the worker thread is the only thread that touches its queue pair, so
 *     the data path has no locks;
 *   - other threads hand it requests through a mailbox (a short-locked list
 *     plus an eventfd) with nvmf_worker_post(); the request's callback then
 *     runs on the worker thread;
 *   - frontends that live on the same thread (a ublk queue's io_uring, say)
 *     register their fds with nvmf_worker_add_fd() and are called back from
 *     the same loop: no thread hop between the block request and the wire.
 *
 * Lifetime: nvmf_worker_start() takes over the queue pair (the caller must
 * not touch it afterwards); nvmf_worker_stop() joins the thread and hands
 * the queue pair back, still open.
 */
#ifndef NVMF_WORKER_H
#define NVMF_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "host/nvmf.h"

struct nvmf_worker;

/* Called on the worker thread when @fd has @events (EPOLLIN etc.). */
typedef void (*nvmf_fd_cb)(struct nvmf_worker *w, int fd, uint32_t events, void *arg);

/* Start a worker thread for @qp. Thread: any. */
int nvmf_worker_start(struct nvmf_qpair *qp, struct nvmf_worker **out);

/*
 * Stop the loop and join the thread; requests still in the mailbox complete
 * with NVMF_SC_HOST_ABORTED_CMD. Returns the queue pair, which the caller
 * owns again. Thread: any but the worker's own.
 */
struct nvmf_qpair *nvmf_worker_stop(struct nvmf_worker *w);

/*
 * Submit @req on the worker's queue pair from any thread. The request is
 * queued if the queue pair is full and sent as slots free up; req->cb runs
 * on the worker thread. If the queue pair has failed, the request
 * completes with NVMF_SC_HOST_PATH_ERROR and xport_err -ENOTCONN.
 */
void nvmf_worker_post(struct nvmf_worker *w, struct nvmf_request *req);

/*
 * Worker thread only: submit @req on the worker's queue pair now, or, when
 * the queue pair is full (several frontends may share it), as soon as a slot
 * frees up, in order. Failures complete the request through its callback,
 * possibly before this returns.
 */
void nvmf_worker_submit(struct nvmf_worker *w, struct nvmf_request *req);

/*
 * Worker thread only: run @fn(@arg) on the worker thread after @delay_ms
 * (e.g. a retry after the controller's Command Retry Delay). Returns 0 or
 * -ENOMEM. Deferred calls still pending at nvmf_worker_stop() are run then,
 * with the loop stopped, so their owners can fail what they carry; from
 * then on (a deferred call deferring again) it returns -ESHUTDOWN, so that
 * stopping always ends.
 */
int nvmf_worker_defer(struct nvmf_worker *w, uint32_t delay_ms, void (*fn)(void *arg), void *arg);

/*
 * Hold mode (controller reconnecting): while the queue pair is failed,
 * requests given to nvmf_worker_submit()/post() wait in the backlog instead
 * of failing; nvmf_worker_swap_qpair() then replays them on the new queue
 * pair. Turning hold off fails whatever waits (HOST_PATH_ERROR, -ENOTCONN).
 * Thread: any.
 */
void nvmf_worker_hold(struct nvmf_worker *w, bool hold);
bool nvmf_worker_holding(struct nvmf_worker *w);
/*
 * May requests on @w wait for something other than a reconnect (their ANA
 * group, say)? Yes while holding, or when hold was never turned off; no
 * once it was turned off and not on again (stopping, fast-io-fail,
 * controller lost): the owner wants I/O failed, not held. Thread: any.
 */
bool nvmf_worker_may_wait(struct nvmf_worker *w);

/*
 * Replace the worker's queue pair with @qp (a new, LIVE connection to the
 * same controller): @adopt(@arg), when given, runs on the worker right
 * after @qp is installed, so whatever else runs on the worker (timers, fd
 * callbacks) never sees a destroyed queue pair; then the old one is
 * destroyed on the worker thread (its remaining commands complete with an
 * error, and their owners may submit them again, onto @qp), and held
 * requests are replayed in order. Thread: not the worker.
 */
void nvmf_worker_swap_qpair(struct nvmf_worker *w, struct nvmf_qpair *qp,
			    void (*adopt)(void *arg), void *arg);

/*
 * A function to run on a worker without waiting for it (a failure report,
 * say). The caller owns the task, usually embedded in a longer-lived
 * object, and must keep it alive until it ran or the worker stopped; it
 * never allocates, so it cannot fail. Queuing a task that is already
 * queued does nothing: several wake-ups before it runs make one call.
 * Tasks still queued when the worker stops are dropped, not run.
 */
/* struct nvmf_worker_task is in host/nvmf.h (controllers embed it). */

/* Queue @t to run on @w's thread soon. Thread: any, also the worker's own. */
void nvmf_worker_run(struct nvmf_worker *w, struct nvmf_worker_task *t);

/* Run @fn(@arg) on the worker thread and wait for it. Thread: not the worker. */
void nvmf_worker_call(struct nvmf_worker *w, void (*fn)(void *arg), void *arg);

/* Worker thread only: watch @fd for @events, or stop watching it. */
int nvmf_worker_add_fd(struct nvmf_worker *w, int fd, uint32_t events, nvmf_fd_cb cb,
		       void *arg);
int nvmf_worker_del_fd(struct nvmf_worker *w, int fd);

/*
 * Call @cb(@qp, @arg) once, on the worker thread, when the queue pair
 * fails. Set it right after start; thread: any (taken under the lock).
 */
void nvmf_worker_on_fail(struct nvmf_worker *w, void (*cb)(struct nvmf_qpair *qp, void *arg),
			 void *arg);

/*
 * Worker thread only: call @fn(@arg) at the end of every loop iteration,
 * after the queue pair made progress (e.g. to submit a batch of io_uring
 * SQEs prepared by completion callbacks with one syscall). Several users
 * (one per ublk disk, say) each add their own; remove with the same pair.
 */
int nvmf_worker_add_idle(struct nvmf_worker *w, void (*fn)(void *arg), void *arg);
void nvmf_worker_del_idle(struct nvmf_worker *w, void (*fn)(void *arg), void *arg);

/*
 * Make @w a poll queue's thread (nvme-cli's -P/--nr-poll-queues): while
 * its queue pair has commands outstanding it does not sleep, and looks
 * for completions on every turn (one CPU busy, no wake-up per completion);
 * with nothing outstanding it sleeps as before, so an idle poll queue
 * costs no CPU. Thread: any.
 */
void nvmf_worker_set_busy_poll(struct nvmf_worker *w, bool on);

/*
 * Check every request that carries an ns_ref with @valid before it is
 * sent (submitted, posted, or replayed after a reconnect); one that fails
 * completes with Invalid Namespace + DNR. Set before the worker sees
 * requests (right after start). Thread: the starter.
 */
void nvmf_worker_set_valid(struct nvmf_worker *w,
			   bool (*valid)(struct nvmf_request *req, void *arg), void *arg);

/*
 * The worker's io_uring (the ring loop, the default; see worker.c), for
 * frontends that live on the worker thread (a ublk queue's commands), so
 * their SQEs go in, and their completions come back, with the one
 * io_uring_enter() the worker sleeps in. NULL when the worker runs the
 * epoll loop (NVMFUSE_WORKER_LOOP=epoll, no io_uring): then keep an
 * io_uring of your own and nvmf_worker_add_fd() it.
 *
 * A ring user sets every SQE's user_data to the address of a struct
 * nvmf_ring_handler it owns (io_uring_sqe_set_data()); the worker calls
 * its fn with the CQE's res and flags, on the worker thread. The handler
 * must stay valid until its last CQE has come back, also after its user
 * is done (commands that only the kernel can end): let such handlers
 * free themselves. SQEs from nvmf_worker_sqe() (NULL only if the ring
 * cannot take one even after a submit); they are submitted by the
 * worker's next wait, or at once with io_uring_submit(). The ring is
 * created by the worker thread and belongs to it (SINGLE_ISSUER): every
 * call here, and every submit, is worker thread only.
 */
struct io_uring;
struct io_uring_sqe;
struct nvmf_ring_handler {
	void (*fn)(struct nvmf_ring_handler *h, int res, uint32_t flags);
};
struct io_uring *nvmf_worker_ring(struct nvmf_worker *w);
struct io_uring_sqe *nvmf_worker_sqe(struct nvmf_worker *w);
/* The worker whose thread calls this, or NULL on any other thread. */
struct nvmf_worker *nvmf_worker_self(void);

/* The worker's queue pair; for use on the worker thread (callbacks). */
struct nvmf_qpair *nvmf_worker_qpair(struct nvmf_worker *w);

#endif
