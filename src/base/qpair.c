/* SPDX-License-Identifier: MIT */
/*
 * Transport-independent queue-pair logic (the ground layer; see
 * base/qpair.h): command ids, flow control (at most @depth commands
 * outstanding, Fabrics 1.1 section 2.4.1), timeouts, completion and
 * failure fan-out.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "base/qpair.h"

#define TIMEOUT_SCAN_NS (100ull * 1000 * 1000)

uint64_t nvmf_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int nvmf_qpair_init(struct nvmf_qpair *qp, const struct nvmf_transport_ops *ops,
		    uint16_t qid, uint16_t depth)
{
	uint8_t bits = 0;

	if (depth == 0 || depth > 4096)
		return -EINVAL;
	while ((1u << bits) < depth)
		bits++;
	qp->ops = ops;
	qp->qid = qid;
	qp->depth = depth;
	qp->slot_bits = bits;
	qp->state = NVMF_QP_CONNECTING;
	qp->cmd_timeout_ms = 10000;
	qp->slots = calloc(depth, sizeof(*qp->slots));
	qp->slot_gen = calloc(depth, sizeof(*qp->slot_gen));
	qp->free_slots = calloc(depth, sizeof(*qp->free_slots));
	if (!qp->slots || !qp->slot_gen || !qp->free_slots) {
		nvmf_qpair_fini(qp);
		return -ENOMEM;
	}
	/* Hand out low slots first: push in reverse order. */
	for (uint16_t i = 0; i < depth; i++)
		qp->free_slots[i] = depth - 1 - i;
	qp->nfree = depth;
	return 0;
}

void nvmf_qpair_fini(struct nvmf_qpair *qp)
{
	free(qp->slots);
	free(qp->slot_gen);
	free(qp->free_slots);
	qp->slots = NULL;
	qp->slot_gen = NULL;
	qp->free_slots = NULL;
}

/*
 * cid = slot | gen << slot_bits. The generation changes every time a slot
 * is reused, so a completion for a command that already timed out cannot
 * be taken for the slot's next command. 0xFFFF is never used (Fabrics 1.1:
 * hosts skip it), and with slot_bits = 16 there is no room for generations.
 */
static uint16_t make_cid(struct nvmf_qpair *qp, uint16_t slot)
{
	uint32_t gen_mask = qp->slot_bits >= 16 ? 0 : (0xffffu >> qp->slot_bits);
	uint16_t cid;

	do {
		qp->slot_gen[slot] = (uint16_t)((qp->slot_gen[slot] + 1) & gen_mask);
		cid = (uint16_t)(slot | ((uint32_t)qp->slot_gen[slot] << qp->slot_bits));
	} while (cid == 0xffff && gen_mask);
	return cid;
}

int nvmf_qpair_submit(struct nvmf_qpair *qp, struct nvmf_request *req)
{
	uint16_t slot;
	int rc;

	if (qp->state == NVMF_QP_FAILED)
		return -ENOTCONN;
	if (!qp->nfree)
		return -EBUSY;
	if (req->dir != NVMF_DIR_NONE && (!req->data || !req->data_len))
		return -EINVAL;

	slot = qp->free_slots[--qp->nfree];
	req->slot = slot;
	req->cid = make_cid(qp, slot);
	req->cmd.cid = htole16(req->cid);
	req->cmd.flags = (req->cmd.flags & ~0xc0) | NVMF_SQE_FLAGS_SGL;
	req->status = 0;
	req->xport_err = 0;
	req->bytes_ok = 0;
	memset(&req->cqe, 0, sizeof(req->cqe));
	req->deadline_ns = req->timeout_ms ?
		nvmf_now_ns() + (uint64_t)req->timeout_ms * 1000000ull : 0;
	req->abort_ns = req->abort_ms && req->abort_ms < req->timeout_ms ?
		nvmf_now_ns() + (uint64_t)req->abort_ms * 1000000ull : 0;
	req->seq = ++qp->submit_seq;
	qp->slots[slot] = req;
	qp->outstanding++;
	if (req->deadline_ns)
		qp->timed++;
	qp->stats.submitted++;

	rc = qp->ops->submit(qp, req);
	if (rc < 0) {
		qp->slots[slot] = NULL;
		qp->free_slots[qp->nfree++] = slot;
		qp->outstanding--;
		if (req->deadline_ns)
			qp->timed--;
		qp->stats.submitted--;
	}
	return rc;
}

struct nvmf_request *nvmf_qpair_lookup(struct nvmf_qpair *qp, uint16_t cid)
{
	uint16_t slot = cid & ((1u << qp->slot_bits) - 1);
	struct nvmf_request *req;

	if (qp->slot_bits >= 16)
		slot = cid;
	if (slot >= qp->depth)
		return NULL;
	req = qp->slots[slot];
	if (!req || req->cid != cid)
		return NULL;
	return req;
}

void nvmf_qpair_complete(struct nvmf_qpair *qp, struct nvmf_request *req)
{
	uint16_t slot = req->slot;

	if (qp->slots[slot] != req)
		return;		/* already completed (e.g. failed, then late reply) */
	qp->slots[slot] = NULL;
	qp->free_slots[qp->nfree++] = slot;
	qp->outstanding--;
	if (req->deadline_ns)
		qp->timed--;
	qp->stats.completed++;
	if (req->xport_err || NVMF_STATUS_CODE(req->status))
		qp->stats.errors++;
	if (req->cb)
		req->cb(req);
}

void nvmf_qpair_fail(struct nvmf_qpair *qp, int err, const char *fmt, ...)
{
	va_list ap;

	if (qp->state != NVMF_QP_FAILED) {
		qp->state = NVMF_QP_FAILED;
		qp->err = err;
		va_start(ap, fmt);
		vsnprintf(qp->errmsg, sizeof(qp->errmsg), fmt, ap);
		va_end(ap);
		if (err != -ECONNABORTED)	/* our own close is not news */
			nvmf_info("queue %u failed: %s", qp->qid, qp->errmsg);
	}
	/* The event loop's send may still read command buffers: end it first. */
	if (qp->tx_quiesce)
		qp->tx_quiesce(qp, qp->tx_quiesce_arg);
	if (qp->ops && qp->ops->detach_buffers)
		qp->ops->detach_buffers(qp);
	/*
	 * Fail every outstanding command, oldest first: owners that hold
	 * them for a reconnect replay them in the order they were first
	 * sent, so two writes to the same blocks keep their order.
	 * Callbacks may not resubmit on this (failed) queue pair.
	 */
	for (;;) {
		struct nvmf_request *oldest = NULL;

		for (uint16_t s = 0; s < qp->depth; s++) {
			struct nvmf_request *req = qp->slots[s];

			if (req && (!oldest || req->seq < oldest->seq))
				oldest = req;
		}
		if (!oldest)
			break;
		oldest->status = NVMF_SC_HOST_PATH_ERROR;
		oldest->xport_err = err;
		nvmf_qpair_complete(qp, oldest);
	}
}

static void expire_overdue(struct nvmf_qpair *qp, uint64_t now)
{
	for (uint16_t s = 0; s < qp->depth; s++) {
		struct nvmf_request *req = qp->slots[s];

		if (!req || !req->deadline_ns)
			continue;
		if (req->abort_ns && req->abort_ns <= now) {
			req->abort_ns = 0;	/* once */
			qp->stats.aborts++;
			nvmf_debug("queue %u: cid %u opcode 0x%02x past its %u ms: abort", qp->qid,
				   req->cid, req->cmd.opc, req->abort_ms);
			if (qp->abort_hook)
				qp->abort_hook(qp, req, qp->abort_arg);
		}
		if (req->deadline_ns > now)
			continue;
		/*
		 * Like the Linux host, a command that outlives its timeout
		 * means the association can no longer be trusted: fail the
		 * whole queue pair so recovery starts from a clean state.
		 */
		qp->stats.timeouts++;
		nvmf_qpair_fail(qp, -ETIMEDOUT,
				"command cid %u opcode 0x%02x timed out after %u ms",
				req->cid, req->cmd.opc, req->timeout_ms);
		return;
	}
}

int nvmf_qpair_poll(struct nvmf_qpair *qp, int timeout_ms)
{
	struct pollfd pfd;
	uint64_t now;
	int rc;

	if (qp->state == NVMF_QP_FAILED)
		return qp->err ? qp->err : -ENOTCONN;
	if (timeout_ms != 0) {
		pfd.fd = qp->ops->pollfd(qp, &pfd.events);
		pfd.revents = 0;
		rc = poll(&pfd, 1, timeout_ms);
		if (rc < 0 && errno != EINTR)
			return -errno;
	}
	rc = qp->ops->process(qp);
	now = nvmf_now_ns();
	if (rc >= 0 && qp->timed && now >= qp->next_timeout_scan_ns) {
		qp->next_timeout_scan_ns = now + TIMEOUT_SCAN_NS;
		expire_overdue(qp, now);
		if (qp->state == NVMF_QP_FAILED)
			return qp->err;
	}
	return rc;
}

int nvmf_qpair_wait(struct nvmf_qpair *qp, int timeout_ms)
{
	struct pollfd pfd[2];
	int rc, n = 1;

	if (qp->state == NVMF_QP_FAILED)
		return qp->err ? qp->err : -ENOTCONN;
	pfd[0].fd = qp->ops->pollfd(qp, &pfd[0].events);
	pfd[0].revents = 0;
	if (qp->cancel_fd > 0) {
		pfd[1].fd = qp->cancel_fd;
		pfd[1].events = POLLIN;
		pfd[1].revents = 0;
		n = 2;
	}
	rc = poll(pfd, (nfds_t)n, timeout_ms);
	if (rc < 0 && errno != EINTR) {
		rc = -errno;
		nvmf_qpair_fail(qp, rc, "poll: %s", strerror(-rc));
		return rc;
	}
	if (n == 2 && pfd[1].revents) {
		/* Given up: what is outstanding completes now, never later. */
		nvmf_qpair_fail(qp, -ECANCELED, "cancelled");
		return -ECANCELED;
	}
	return nvmf_qpair_poll(qp, 0);
}

static void exec_done(struct nvmf_request *req)
{
	*(bool *)req->cb_arg = true;
}

int nvmf_qpair_exec(struct nvmf_qpair *qp, struct nvmf_request *req)
{
	bool done = false;
	int rc;

	req->cb = exec_done;
	req->cb_arg = &done;
	rc = nvmf_qpair_submit(qp, req);
	if (rc < 0)
		return rc;
	/*
	 * Every way out of this loop leaves @req completed: a failed queue
	 * pair (poll error and cancellation included) completes everything
	 * outstanding, so nothing keeps a pointer to this stack frame.
	 */
	while (!done)
		nvmf_qpair_wait(qp, 100);
	return 0;
}

void nvmf_qpair_destroy(struct nvmf_qpair *qp)
{
	if (qp)
		qp->ops->qpair_destroy(qp);
}

void nvmf_qpair_forget_buf(struct nvmf_qpair *qp, const struct nvmf_stable_buf *b)
{
	if (qp && qp->ops && qp->ops->forget_buf)
		qp->ops->forget_buf(qp, b);
}

void nvmf_stable_buf_renew(struct nvmf_stable_buf *b)
{
	static uint64_t last_gen;

	b->gen = __atomic_add_fetch(&last_gen, 1, __ATOMIC_RELAXED);
}
