/* SPDX-License-Identifier: MIT */
/*
 * NVMe/RDMA transport (NVMe over Fabrics 1.1 section 7.3, the RDMA binding)
 * over rdma-core: one RDMA CM connection (RC queue pair) per NVMe queue
 * pair, driven without blocking by the queue pair's owner thread.
 *
 *   capsule:  one SEND per command from a registered 64-byte slot per
 *             command id; write data up to the controller's IOCCSZ rides
 *             in the same SEND as in-capsule data (I/O queues only, like
 *             the Linux host: nvmet posts no in-capsule buffers on admin).
 *   data:     everything else is moved by the controller with RDMA READ
 *             (writes) or RDMA WRITE (reads) against one keyed SGL that
 *             points into the queue's buffer pool.
 *   response: one RECV of a 16-byte CQE; depth + 1 receive slots, each
 *             re-posted as soon as its CQE is copied out.
 *
 * Memory is registered once per queue, at connect: the capsule slots, the
 * response slots and a buffer pool (ibv_reg_mr on page-aligned memory).
 * Request data is copied into the pool before a write and out of it after
 * a read completes, so callers keep using plain malloc'd buffers and
 * nothing is registered or pinned per I/O. A request waits inside the
 * transport (in submission order) when the pool is momentarily full.
 *
 * A request in a stable buffer (req->sbuf: a ublk tag's buffer) skips the
 * pool: the buffer is registered at its first use on this queue pair for
 * RDMA_REG_MIN or more (one MR per buffer, kept in a hash by base address
 * with the buffer's generation; it covers the prefix the requests reach,
 * rounded up to a power of two, and is registered again, larger, when a
 * request reaches further: registering pins what it covers, which small
 * requests alone would never touch) and the controller reads or writes it
 * in place, in-capsule data goes out from it too. A registration for an
 * older generation is dropped at the next use (the owner renewed the
 * buffer: its pages went back) or by forget_buf; at most RDMA_REG_MAX per
 * queue pair (admin queues none), and a registration the device refuses
 * (locked memory limit) turns the queue pair back to the pool for good.
 * NVMFUSE_RDMA_REG=0 always copies.
 * Because the controller then reaches the owner's memory, a queue pair
 * that fails moves its QP to the error state (detach_buffers) before the
 * commands go back: no late RDMA access lands in a buffer being reused.
 *
 * A request completes when both its SEND has completed (the capsule slot
 * is free again) and its response has arrived. Any work completion error,
 * an RDMA CM disconnect, or a response for an unknown command id fails the
 * queue pair; recovery (a new association) happens above, in the engine.
 *
 * Remote access is per command: each command with a keyed SGL binds its
 * own type 2 memory window to exactly its part of the pool, readable for
 * a write or writable for a read, never both, and offers that rkey for
 * invalidation (SGL subtype 0xF). The controller ends it with Send with
 * Invalidate (the response's invalidated rkey must be ours), or, if it
 * does not, the host posts a Local Invalidate before completing the
 * command. So the controller can reach a command's buffer only while the
 * command runs, as with the Linux host's per-I/O FRWR keys. A device
 * without memory windows falls back to the pool MR's rkey (subtype 0,
 * like SPDK); an invalidation of that key is then a protocol error.
 *
 * pollfd() is an epoll fd holding the completion channel and the CM event
 * channel, so one poll() watches both.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#include "base/log.h"
#include "base/qpair.h"
#include "transport/rdma_proto.h"
#include "transport/transport.h"

#define RDMA_PAGE		4096u
#define RDMA_ADMIN_POOL		(2u << 20)	/* admin and discovery queues */
#define RDMA_IO_POOL_PER_CMD	(64u << 10)
#define RDMA_IO_POOL_MIN	(4u << 20)
#define RDMA_IO_POOL_MAX	(16u << 20)
#define RDMA_MAX_SGL_LEN	((1u << 24) - 1)	/* 24-bit keyed SGL length */
#define RDMA_POLL_BATCH		32
#define RDMA_CQ_ACK_BATCH	64
#define RDMA_REG_BUCKETS	256	/* hash of stable-buffer registrations */
#define RDMA_REG_MAX		1024	/* registrations per queue pair */
#define RDMA_REG_MIN		(16u << 10)	/* smaller requests register nothing new */

#define WRID_SEND	(1ull << 32)
#define WRID_RECV	(2ull << 32)
#define WRID_BIND	(3ull << 32)
#define WRID_LINV	(4ull << 32)
#define WRID_KIND(id)	((id) & ~0xffffffffull)

struct rdma_req {
	struct nvmf_request *req;
	uint32_t first_page;		/* in the pool; valid when npages */
	uint32_t npages;
	bool send_posted;
	bool send_done;
	bool resp_done;
	bool inv_pending;		/* its memory window is still open */
	bool bound;			/* its work requests start with a window bind */
	uint32_t rkey;			/* of that window */
	bool direct;			/* data in the caller's registered stable buffer */
	struct rdma_req *next;		/* waiting for pool space */
	/* Its work requests, kept until posted (see post_pending). */
	struct ibv_send_wr bind, wr;
	struct ibv_sge sge[2];
	struct rdma_req *pnext;		/* next in the pending chain */
};

/* A stable buffer registered on this queue pair (see the header). */
struct rdma_reg {
	uintptr_t base;
	size_t len;
	uint64_t gen;
	struct ibv_mr *mr;
	struct rdma_reg *next;		/* in its hash bucket */
};

struct rdma_qpair {
	struct nvmf_qpair qp;		/* must be first */
	struct rdma_event_channel *cm_ch;
	struct rdma_cm_id *id;
	struct ibv_pd *pd;
	struct ibv_comp_channel *comp_ch;
	struct ibv_cq *cq;
	bool qp_created;
	bool established;
	unsigned int cq_unacked;
	int epfd;
	/* Registered memory. */
	struct nvmf_sqe *cmds;		/* depth capsule slots */
	struct ibv_mr *cmds_mr;
	struct nvmf_cqe *rsps;		/* nrecv response slots */
	struct ibv_mr *rsps_mr;
	uint16_t nrecv;
	uint8_t *pool;
	size_t pool_size;
	struct ibv_mr *pool_mr;
	struct ibv_mw **mws;		/* one window per command slot, or NULL */
	struct rdma_reg *regs[RDMA_REG_BUCKETS];
	unsigned int nregs;
	bool reg_off;			/* copy through the pool only */
	struct rdma_pool_map map;
	/* Per command id slot. */
	struct rdma_req *rreqs;
	struct rdma_req *wait_head;
	struct rdma_req **wait_tail;
	/* Capsules built but not posted yet (I/O queues unless post_each). */
	struct rdma_req *pend_head;
	struct rdma_req **pend_tail;
	bool post_each;
	int completed;			/* completions in the current process() call */
	char peer[128];
};

static inline struct rdma_qpair *to_rdma(struct nvmf_qpair *qp)
{
	return (struct rdma_qpair *)qp;
}

static uint8_t *req_buf(struct rdma_qpair *rq, const struct rdma_req *rr)
{
	return rq->pool + (size_t)rr->first_page * RDMA_PAGE;
}

static void release_buf(struct rdma_qpair *rq, struct rdma_req *rr)
{
	if (rr->npages) {
		rdma_pool_free(&rq->map, rr->first_page, rr->npages);
		rr->npages = 0;
	}
}

/* --------------------------------------------- stable-buffer registrations */

static struct rdma_reg **reg_bucket(struct rdma_qpair *rq, uintptr_t base)
{
	return &rq->regs[((base >> 12) * 0x9e3779b97f4a7c15ull) >> 56];
}

static void reg_drop(struct rdma_qpair *rq, struct rdma_reg **link)
{
	struct rdma_reg *e = *link;
	int rc = ibv_dereg_mr(e->mr);

	if (rc) {	/* a window still bound (a failed queue pair): keep it till destroy */
		nvmf_debug("%s: cannot drop the registration of a buffer: %s", rq->peer,
			   strerror(rc));
		return;
	}
	*link = e->next;
	free(e);
	rq->nregs--;
}

static struct rdma_reg **reg_find(struct rdma_qpair *rq, uintptr_t base)
{
	struct rdma_reg **link = reg_bucket(rq, base);

	while (*link && (*link)->base != base)
		link = &(*link)->next;
	return link;
}

/*
 * The MR of @req's stable buffer on this queue pair, registered now if
 * need be; NULL: use the pool (no stable buffer, data outside it, too small
 * to register, registration off (admin queue, NVMFUSE_RDMA_REG=0, refused
 * once), or RDMA_REG_MAX reached).
 */
static struct ibv_mr *reg_lookup(struct rdma_qpair *rq, const struct nvmf_request *req)
{
	const struct nvmf_stable_buf *b = req->sbuf;
	uintptr_t base, data = (uintptr_t)req->data;
	struct rdma_reg **link, *e;
	size_t need, len;
	bool grow = false;
	struct ibv_mr *mr;

	if (!b || rq->reg_off || !req->data_len)
		return NULL;
	base = (uintptr_t)b->base;
	if (!base || (base & (RDMA_PAGE - 1)) || data < base || req->data_len > b->len ||
	    data - base > b->len - req->data_len)
		return NULL;
	need = data - base + req->data_len;
	link = reg_find(rq, base);
	e = *link;
	if (e && e->gen == b->gen && need <= e->len)
		return e->mr;
	if (e) {
		/* An older incarnation of these addresses, or too short a prefix. */
		grow = e->gen == b->gen;
		reg_drop(rq, link);
		if (*link == e)
			return NULL;
	}
	if (rq->nregs >= RDMA_REG_MAX || (req->data_len < RDMA_REG_MIN && !grow))
		return NULL;
	/*
	 * The prefix the requests so far reach, in powers of two: pins about
	 * what the copy would have touched (a disk of 64 KiB requests does
	 * not pin 512 KiB per buffer), and a buffer grows a few times at most.
	 */
	for (len = RDMA_REG_MIN; len < need; len <<= 1)
		;
	if (len > b->len)
		len = b->len;
	e = malloc(sizeof(*e));
	if (!e)
		return NULL;
	mr = ibv_reg_mr(rq->pd, b->base, len, IBV_ACCESS_LOCAL_WRITE |
			IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_WRITE |
			(rq->mws ? IBV_ACCESS_MW_BIND : 0));
	if (!mr) {
		nvmf_info("%s: queue %u copies through its pool from now on: registering a "
			  "%zu KiB buffer failed: %s (locked memory limit? see ulimit -l)",
			  rq->peer, rq->qp.qid, len >> 10, strerror(errno));
		free(e);
		rq->reg_off = true;
		return NULL;
	}
	*e = (struct rdma_reg){ .base = base, .len = len, .gen = b->gen, .mr = mr };
	link = reg_bucket(rq, base);
	e->next = *link;
	*link = e;
	rq->nregs++;
	return mr;
}

static void rdma_forget_buf(struct nvmf_qpair *qp, const struct nvmf_stable_buf *b)
{
	struct rdma_qpair *rq = to_rdma(qp);
	struct rdma_reg **link = reg_find(rq, (uintptr_t)b->base);

	if (*link)
		reg_drop(rq, link);
}

/* Every registration, at destroy (after the windows and the QP are gone). */
static void reg_drop_all(struct rdma_qpair *rq)
{
	for (unsigned int i = 0; i < RDMA_REG_BUCKETS; i++)
		while (rq->regs[i]) {
			struct rdma_reg *e = rq->regs[i];

			if (ibv_dereg_mr(e->mr))
				nvmf_warn("%s: cannot deregister a buffer at close", rq->peer);
			rq->regs[i] = e->next;
			free(e);
		}
	rq->nregs = 0;
}

/*
 * The queue pair failed (nvmf_qpair_fail, before the commands go back):
 * with registered stable buffers the controller could still write a read's
 * data into, or read a write's from, memory its owner reuses next. A QP in
 * the error state takes no more remote access (and flushes what is posted).
 */
static void rdma_detach_buffers(struct nvmf_qpair *qp)
{
	struct rdma_qpair *rq = to_rdma(qp);
	struct ibv_qp_attr attr = { .qp_state = IBV_QPS_ERR };

	if (rq->qp_created && rq->nregs)
		ibv_modify_qp(rq->id->qp, &attr, IBV_QP_STATE);
}

/* ------------------------------------------------------------------ finish */

/* Both halves are in: hand the result up. */
static void finish_request(struct rdma_qpair *rq, struct rdma_req *rr)
{
	struct nvmf_request *req = rr->req;
	bool ok = NVMF_STATUS_CODE(req->status) == 0;

	if (req->dir == NVMF_DIR_C2H && ok && !rr->direct)
		memcpy(req->data, req_buf(rq, rr), req->data_len);
	if (rr->direct && ok)
		rq->qp.stats.data_in_place += req->data_len;
	/* RDMA moves data in one piece: all of it, or nothing we can vouch for. */
	if (req->dir != NVMF_DIR_NONE)
		req->bytes_ok = ok ? req->data_len : 0;
	release_buf(rq, rr);
	rr->req = NULL;
	rq->completed++;
	nvmf_qpair_complete(&rq->qp, req);
}

/* ---------------------------------------------------------------- transmit */

static int post_recv(struct rdma_qpair *rq, uint16_t i)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)&rq->rsps[i],
		.length = sizeof(struct nvmf_cqe),
		.lkey = rq->rsps_mr->lkey,
	};
	struct ibv_recv_wr wr = { .wr_id = WRID_RECV | i, .sg_list = &sge, .num_sge = 1 };
	struct ibv_recv_wr *bad;

	return -ibv_post_recv(rq->id->qp, &wr, &bad);
}

/* @rr's work requests are on the send queue. */
static void mark_posted(struct rdma_qpair *rq, struct rdma_req *rr)
{
	if (rr->bound) {
		rq->mws[rr->req->slot]->rkey = rr->rkey;
		rr->inv_pending = true;
	}
	rr->send_posted = true;
}

/*
 * Post the pending chain in one ibv_post_send (see the header). A failure
 * fails the queue pair: the device refuses work requests only when the
 * queue pair is in error, and what came before the refused one is posted.
 */
static void post_pending(struct rdma_qpair *rq)
{
	struct ibv_send_wr *bad = NULL;
	struct rdma_req *rr;
	int rc;

	if (!rq->pend_head)
		return;
	for (rr = rq->pend_head; rr->pnext; rr = rr->pnext)
		rr->wr.next = rr->pnext->bound ? &rr->pnext->bind : &rr->pnext->wr;
	rr = rq->pend_head;
	rq->pend_head = NULL;
	rq->pend_tail = &rq->pend_head;
	rc = ibv_post_send(rq->id->qp, rr->bound ? &rr->bind : &rr->wr, &bad);
	for (; rr; rr = rr->pnext) {
		if (rc && (bad == &rr->bind || bad == &rr->wr))
			break;
		if (rr->req)
			mark_posted(rq, rr);
	}
	if (rc)
		nvmf_qpair_fail(&rq->qp, -rc, "RDMA send to %s failed: %s", rq->peer,
				strerror(rc));
}

/*
 * Reserve pool space, stage the data and post the capsule. Returns 0,
 * -ENOSPC when the pool is full right now (the caller queues the request),
 * or another -errno when the SEND could not be posted.
 */
static int start_request(struct rdma_qpair *rq, struct rdma_req *rr)
{
	struct nvmf_request *req = rr->req;
	struct nvmf_sqe *cmd = &rq->cmds[req->slot];
	struct ibv_sge *sge = rr->sge;
	struct ibv_send_wr *bad;
	struct ibv_mr *mr = NULL;
	int nsge = 1, rc;

	if (req->dir != NVMF_DIR_NONE)
		mr = reg_lookup(rq, req);
	rr->direct = mr != NULL;
	if (req->dir != NVMF_DIR_NONE && !mr) {
		int64_t first = rdma_pool_alloc(&rq->map,
						(req->data_len + RDMA_PAGE - 1) / RDMA_PAGE);

		if (first < 0)
			return (int)first;
		rr->first_page = (uint32_t)first;
		rr->npages = (req->data_len + RDMA_PAGE - 1) / RDMA_PAGE;
		mr = rq->pool_mr;
	}
	*cmd = req->cmd;
	sge[0] = (struct ibv_sge){ (uintptr_t)cmd, sizeof(*cmd), rq->cmds_mr->lkey };
	if (req->dir == NVMF_DIR_NONE) {
		rdma_sgl_keyed(&cmd->sgl1, 0, 0, 0, false);	/* null descriptor */
	} else {
		uint8_t *buf = rr->direct ? req->data : req_buf(rq, rr);

		if (req->dir == NVMF_DIR_H2C && !rr->direct)
			memcpy(buf, req->data, req->data_len);
		if (req->dir == NVMF_DIR_H2C && req->data_len <= rq->qp.icd_max) {
			rdma_sgl_icd(&cmd->sgl1, req->data_len);
			sge[1] = (struct ibv_sge){ (uintptr_t)buf, req->data_len, mr->lkey };
			nsge = 2;
		} else if (rq->mws) {
			struct ibv_mw *mw = rq->mws[req->slot];

			/* A window over this buffer only, for this direction only. */
			rr->rkey = ibv_inc_rkey(mw->rkey);
			rr->bind.wr_id = WRID_BIND | req->slot;
			rr->bind.opcode = IBV_WR_BIND_MW;
			rr->bind.next = &rr->wr;
			rr->bind.bind_mw.mw = mw;
			rr->bind.bind_mw.rkey = rr->rkey;
			rr->bind.bind_mw.bind_info = (struct ibv_mw_bind_info){
				.mr = mr,
				.addr = (uintptr_t)buf,
				.length = req->data_len,
				.mw_access_flags = req->dir == NVMF_DIR_H2C ?
					IBV_ACCESS_REMOTE_READ : IBV_ACCESS_REMOTE_WRITE,
			};
			rr->bound = true;
			rdma_sgl_keyed(&cmd->sgl1, (uintptr_t)buf, req->data_len, rr->rkey, true);
		} else {
			rdma_sgl_keyed(&cmd->sgl1, (uintptr_t)buf, req->data_len, mr->rkey, false);
		}
	}
	req->cmd.sgl1 = cmd->sgl1;	/* what went on the wire, for tracing */
	rr->wr.wr_id = WRID_SEND | req->slot;
	rr->wr.sg_list = sge;
	rr->wr.num_sge = nsge;
	rr->wr.opcode = IBV_WR_SEND;
	rr->wr.send_flags = IBV_SEND_SIGNALED;
	rr->wr.next = NULL;
	if (!rq->post_each) {		/* post_pending posts it with the turn's others */
		rr->pnext = NULL;
		*rq->pend_tail = rr;
		rq->pend_tail = &rr->pnext;
		return 0;
	}
	rc = ibv_post_send(rq->id->qp, rr->bound ? &rr->bind : &rr->wr, &bad);
	if (rc) {
		release_buf(rq, rr);
		return -rc;
	}
	mark_posted(rq, rr);
	return 0;
}

static void wait_push(struct rdma_qpair *rq, struct rdma_req *rr)
{
	rr->next = NULL;
	*rq->wait_tail = rr;
	rq->wait_tail = &rr->next;
}

/* Start requests that waited for pool space, oldest first. */
static void start_waiting(struct rdma_qpair *rq)
{
	while (rq->wait_head && rq->qp.state != NVMF_QP_FAILED) {
		struct rdma_req *rr = rq->wait_head;
		int rc;

		if (!rr->req) {		/* failed meanwhile */
			rq->wait_head = rr->next;
			continue;
		}
		rc = start_request(rq, rr);
		if (rc == -ENOSPC)
			break;
		rq->wait_head = rr->next;
		if (rc < 0)
			nvmf_qpair_fail(&rq->qp, rc, "RDMA send to %s failed: %s", rq->peer,
					strerror(-rc));
	}
	if (!rq->wait_head)
		rq->wait_tail = &rq->wait_head;
}

static int rdma_submit(struct nvmf_qpair *qp, struct nvmf_request *req)
{
	struct rdma_qpair *rq = to_rdma(qp);
	struct rdma_req *rr = &rq->rreqs[req->slot];
	int rc;

	if (req->dir != NVMF_DIR_NONE &&
	    (req->data_len > rq->pool_size || req->data_len > RDMA_MAX_SGL_LEN))
		return -E2BIG;
	memset(rr, 0, sizeof(*rr));
	rr->req = req;
	if (rq->wait_head) {		/* keep submission order */
		wait_push(rq, rr);
		return 0;
	}
	rc = start_request(rq, rr);
	if (rc == -ENOSPC) {
		wait_push(rq, rr);
		return 0;
	}
	if (rc < 0)
		rr->req = NULL;
	return rc;
}

/* ----------------------------------------------------------------- receive */

__attribute__((format(printf, 3, 4)))
static void rdma_fatal(struct rdma_qpair *rq, int err, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	nvmf_qpair_fail(&rq->qp, err, "%s: %s", rq->peer, msg);
}

/*
 * Did this receive invalidate an rkey? Hardware providers report it as
 * IBV_WC_WITH_INV. Kernel-polled CQs (rdma_rxe) pass the kernel's own
 * IB_WC_WITH_INVALIDATE, bit 2, through unchanged: measured over soft-RoCE
 * as flags 0x5 with the window's rkey. libibverbs calls that bit
 * IBV_WC_IP_CSUM_OK, which means nothing on an RC receive.
 */
#define KERNEL_WC_WITH_INVALIDATE	(1u << 2)
static bool wc_invalidated(const struct ibv_wc *wc)
{
	return (wc->wc_flags & IBV_WC_WITH_INV) ||
	       ((wc->wc_flags & KERNEL_WC_WITH_INVALIDATE) && wc->invalidated_rkey);
}

/* Done once its capsule is sent, its response is in, and its window is shut. */
static void maybe_finish(struct rdma_qpair *rq, struct rdma_req *rr)
{
	if (rr->send_done && rr->resp_done && !rr->inv_pending)
		finish_request(rq, rr);
}

/* The controller did not invalidate the window: shut it ourselves. */
static void post_local_inv(struct rdma_qpair *rq, struct rdma_req *rr, uint16_t slot)
{
	struct ibv_send_wr wr = {
		.wr_id = WRID_LINV | slot,
		.opcode = IBV_WR_LOCAL_INV,
		.invalidate_rkey = rr->rkey,
	};
	struct ibv_send_wr *bad;
	int rc = ibv_post_send(rq->id->qp, &wr, &bad);

	if (rc)
		rdma_fatal(rq, -rc, "cannot post a local invalidate: %s", strerror(rc));
}

static void handle_recv(struct rdma_qpair *rq, const struct ibv_wc *wc, uint16_t i)
{
	struct nvmf_cqe cqe;
	struct nvmf_request *req;
	struct rdma_req *rr;
	int rc;

	if (wc->byte_len < sizeof(cqe)) {
		rdma_fatal(rq, -EPROTO, "response of %u bytes, a CQE has 16", wc->byte_len);
		return;
	}
	cqe = rq->rsps[i];
	rc = post_recv(rq, i);
	if (rc < 0) {
		rdma_fatal(rq, rc, "cannot re-post a receive: %s", strerror(-rc));
		return;
	}
	req = nvmf_qpair_lookup(&rq->qp, le16toh(cqe.cid));
	if (!req) {
		rdma_fatal(rq, -EPROTO, "response for unknown command id %u", le16toh(cqe.cid));
		return;
	}
	rr = &rq->rreqs[req->slot];
	if (wc_invalidated(wc) &&
	    (!rr->inv_pending || wc->invalidated_rkey != rr->rkey)) {
		rdma_fatal(rq, -EPROTO, "response for command id %u invalidated rkey 0x%x, which "
			   "was not offered for invalidation", req->cid, wc->invalidated_rkey);
		return;
	}
	if (rr->resp_done) {
		rdma_fatal(rq, -EPROTO, "second response for command id %u", req->cid);
		return;
	}
	req->cqe = cqe;
	req->status = nvmf_cqe_status(&cqe);
	rr->resp_done = true;
	if (!rr->send_posted) {
		rdma_fatal(rq, -EPROTO, "response for command id %u before it was sent", req->cid);
		return;
	}
	if (rr->inv_pending) {
		if (wc_invalidated(wc)) {
			rr->inv_pending = false;	/* Send with Invalidate shut it */
			rq->qp.stats.inv_remote++;
		} else {
			post_local_inv(rq, rr, req->slot);
			rq->qp.stats.inv_local++;
		}
	}
	maybe_finish(rq, rr);
}

static void handle_wc(struct rdma_qpair *rq, const struct ibv_wc *wc)
{
	static const char *const what[] = { "?", "send", "receive", "memory window bind",
					    "local invalidate" };
	uint16_t idx = (uint16_t)(wc->wr_id & 0xffff);
	uint64_t kind = WRID_KIND(wc->wr_id);
	struct rdma_req *rr;

	if (rq->qp.state == NVMF_QP_FAILED)
		return;		/* flushed work of a dead queue */
	if (wc->status != IBV_WC_SUCCESS) {
		rdma_fatal(rq, -EIO, "RDMA %s failed: %s", what[(kind >> 32) < 5 ? kind >> 32 : 0],
			   ibv_wc_status_str(wc->status));
		return;
	}
	if (kind == WRID_RECV) {
		handle_recv(rq, wc, idx);
		return;
	}
	if (idx >= rq->qp.depth || !rq->rreqs[idx].req)
		return;
	rr = &rq->rreqs[idx];
	if (kind == WRID_SEND)
		rr->send_done = true;
	else if (kind == WRID_LINV)
		rr->inv_pending = false;
	else
		return;		/* a bind: its SEND follows in order */
	maybe_finish(rq, rr);
}

/* Drain the CM event channel: anything after ESTABLISHED ends the queue. */
static void check_cm_events(struct rdma_qpair *rq)
{
	struct rdma_cm_event *ev;

	while (rdma_get_cm_event(rq->cm_ch, &ev) == 0) {
		enum rdma_cm_event_type type = ev->event;

		rdma_ack_cm_event(ev);
		if (rq->qp.state == NVMF_QP_FAILED)
			continue;
		switch (type) {
		case RDMA_CM_EVENT_DISCONNECTED:
		case RDMA_CM_EVENT_TIMEWAIT_EXIT:
			rq->established = false;
			rdma_fatal(rq, -ECONNRESET, "controller disconnected");
			break;
		case RDMA_CM_EVENT_DEVICE_REMOVAL:
			rdma_fatal(rq, -ENODEV, "RDMA device removed");
			break;
		case RDMA_CM_EVENT_ADDR_CHANGE:
			rdma_fatal(rq, -ENETRESET, "local address changed");
			break;
		default:
			nvmf_debug("%s: ignoring RDMA CM event %s", rq->peer, rdma_event_str(type));
			break;
		}
	}
}

/*
 * Consume the completion-channel event, if any (each one disarms the CQ,
 * so at most one is pending), poll the CQ empty, and re-arm it when an
 * event was consumed, then poll once more for completions that raced the
 * arming. When the event loop knows the channel fd is not readable
 * (qp.rx_idle), no read just to hear EAGAIN: the CQ itself is polled in
 * user space. *@event tells whether an event was consumed.
 */
static int poll_cq(struct rdma_qpair *rq, bool *event)
{
	struct ibv_wc wc[RDMA_POLL_BATCH];
	struct ibv_cq *cq;
	void *ctx;
	bool rearm = false;

	if (!rq->qp.rx_idle && ibv_get_cq_event(rq->comp_ch, &cq, &ctx) == 0) {
		if (++rq->cq_unacked >= RDMA_CQ_ACK_BATCH) {
			ibv_ack_cq_events(rq->cq, rq->cq_unacked);
			rq->cq_unacked = 0;
		}
		rearm = true;
	}
	*event = rearm;
	for (;;) {
		int n = ibv_poll_cq(rq->cq, RDMA_POLL_BATCH, wc);

		if (n < 0)
			return -EIO;
		for (int i = 0; i < n; i++)
			handle_wc(rq, &wc[i]);
		if (n > 0)
			continue;
		if (!rearm)
			return 0;
		if (ibv_req_notify_cq(rq->cq, 0))
			return -EIO;
		rearm = false;
	}
}

/*
 * The queue pair's epoll set holds the completion channel and the CM
 * channel. A wake-up that brought no completion event is the CM's (or
 * stale): only then read CM events, so the I/O path does not pay a
 * read(2) per wake-up to hear EAGAIN from the CM channel. Level-triggered:
 * a CM event that came with a completion event wakes the loop again.
 */
static int rdma_process(struct nvmf_qpair *qp)
{
	struct rdma_qpair *rq = to_rdma(qp);
	bool event = false;
	int rc;

	if (qp->state == NVMF_QP_FAILED)
		return qp->err;
	rq->completed = 0;
	rc = poll_cq(rq, &event);
	if (rc < 0)
		rdma_fatal(rq, rc, "polling the completion queue failed");
	if (qp->state != NVMF_QP_FAILED && !qp->rx_idle && !event)
		check_cm_events(rq);
	if (qp->state != NVMF_QP_FAILED)
		start_waiting(rq);
	if (qp->state != NVMF_QP_FAILED)
		post_pending(rq);
	if (qp->state == NVMF_QP_FAILED)
		return qp->err;
	return rq->completed;
}

/* Also posts what was submitted since the last process(): loops call it before they wait. */
static int rdma_pollfd(struct nvmf_qpair *qp, short *events)
{
	struct rdma_qpair *rq = to_rdma(qp);

	if (qp->state != NVMF_QP_FAILED)
		post_pending(rq);
	*events = POLLIN;
	return rq->epfd;
}

/* -------------------------------------------------------------- connection */

/* Wait for the next CM event (the channel fd is non-blocking). */
static int next_cm_event(struct rdma_qpair *rq, uint64_t deadline, int cancel_fd,
			 struct rdma_cm_event **ev)
{
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = rq->cm_ch->fd, .events = POLLIN },
			{ .fd = cancel_fd, .events = POLLIN },
		};
		uint64_t now = nvmf_now_ns();
		int rc;

		if (rdma_get_cm_event(rq->cm_ch, ev) == 0)
			return 0;
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return -errno;
		if (now >= deadline)
			return -ETIMEDOUT;
		rc = poll(pfd, cancel_fd > 0 ? 2 : 1, (int)((deadline - now) / 1000000) + 1);
		if (rc < 0 && errno != EINTR)
			return -errno;
		if (rc > 0 && cancel_fd > 0 && pfd[1].revents)
			return -ECANCELED;
	}
}

/* Explain a CM event that is not the one a connection step waited for. */
/* Address resolution failed with errno @st: one line, naming -w's address if given. */
static void addr_error(const struct nvmf_xport_params *p, int st, char *err, size_t errlen)
{
	if (p->host_traddr && p->host_traddr[0])
		snprintf(err, errlen, "cannot resolve %s from host address %s to a local RDMA "
			 "device: %s (is %s on an RDMA interface?)", p->traddr, p->host_traddr,
			 strerror(st), p->host_traddr);
	else
		snprintf(err, errlen, "cannot resolve %s to a local RDMA device: %s (no RDMA "
			 "interface routes there?)", p->traddr, strerror(st));
}

static int cm_event_error(struct rdma_qpair *rq, const struct rdma_cm_event *ev,
			  const struct nvmf_xport_params *p, char *err, size_t errlen)
{
	int st = ev->status < 0 ? -ev->status : ev->status;
	uint16_t sts;

	switch (ev->event) {
	case RDMA_CM_EVENT_ADDR_ERROR:
		addr_error(p, st, err, errlen);
		return -ENETUNREACH;
	case RDMA_CM_EVENT_ROUTE_ERROR:
		snprintf(err, errlen, "no RDMA route to %s%s%s: %s (is it reached through an "
			 "RDMA-capable interface?)", p->traddr,
			 p->host_traddr && p->host_traddr[0] ? " from " : "",
			 p->host_traddr && p->host_traddr[0] ? p->host_traddr : "", strerror(st));
		return -EHOSTUNREACH;
	case RDMA_CM_EVENT_UNREACHABLE:
		snprintf(err, errlen, "%s is unreachable over RDMA (%s)", rq->peer,
			 ev->status < 0 ? strerror(st) : "no answer to the connect request");
		return -EHOSTUNREACH;
	case RDMA_CM_EVENT_REJECTED:
		if (rdma_cm_rej_parse(ev->param.conn.private_data,
				      ev->param.conn.private_data_len, &sts)) {
			snprintf(err, errlen, "%s rejected the RDMA connection: %s (NVMe/RDMA "
				 "status 0x%x)", rq->peer, rdma_cm_rej_str(sts), sts);
			return -ECONNREFUSED;
		}
		/* IB CM reject reason 8: invalid service ID, nobody listens there. */
		if (ev->status == 8)
			snprintf(err, errlen, "connection refused by %s (no NVMe/RDMA listener "
				 "on that port)", rq->peer);
		else
			snprintf(err, errlen, "%s rejected the RDMA connection (reject reason %d)",
				 rq->peer, ev->status);
		return -ECONNREFUSED;
	case RDMA_CM_EVENT_CONNECT_ERROR:
		snprintf(err, errlen, "RDMA connection to %s failed: %s", rq->peer,
			 ev->status < 0 ? strerror(st) : "connect error");
		return -ECONNRESET;
	case RDMA_CM_EVENT_DEVICE_REMOVAL:
		snprintf(err, errlen, "RDMA device removed while connecting to %s", rq->peer);
		return -ENODEV;
	default:
		snprintf(err, errlen, "unexpected RDMA CM event %s (status %d) while connecting "
			 "to %s", rdma_event_str(ev->event), ev->status, rq->peer);
		return -EPROTO;
	}
}

/* Wait for CM event @want; on ESTABLISHED also check the accept data. */
static int wait_cm(struct rdma_qpair *rq, enum rdma_cm_event_type want, const char *step,
		   const struct nvmf_xport_params *p, uint64_t deadline, char *err, size_t errlen)
{
	struct rdma_cm_event *ev;
	uint16_t crqsize;
	int rc;

	rc = next_cm_event(rq, deadline, p->cancel_fd, &ev);
	if (rc == -ETIMEDOUT) {
		snprintf(err, errlen, "no answer from %s within %d s while %s (address "
			 "unreachable or filtered?)", rq->peer, p->timeout_ms / 1000, step);
		return rc;
	}
	if (rc == -ECANCELED) {
		snprintf(err, errlen, "%s: cancelled", step);
		return rc;
	}
	if (rc < 0) {
		snprintf(err, errlen, "RDMA CM failed while %s: %s", step, strerror(-rc));
		return rc;
	}
	if (ev->event != want) {
		rc = cm_event_error(rq, ev, p, err, errlen);
	} else if (want == RDMA_CM_EVENT_ESTABLISHED &&
		   rdma_cm_acc_parse(ev->param.conn.private_data,
				     ev->param.conn.private_data_len, &crqsize) < 0) {
		snprintf(err, errlen, "%s accepted with a private data record format that is "
			 "not NVMe/RDMA 1.0", rq->peer);
		rc = -EPROTO;
	} else if (want == RDMA_CM_EVENT_ESTABLISHED && crqsize && crqsize < rq->qp.depth) {
		nvmf_debug("%s: controller receive queue %u < depth %u", rq->peer, crqsize,
			   rq->qp.depth);
	}
	rdma_ack_cm_event(ev);
	return rc;
}

static int resolve(struct rdma_qpair *rq, const struct nvmf_xport_params *p,
		   uint64_t deadline, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC };
	struct addrinfo *res = NULL, *src = NULL;
	int ms = p->timeout_ms > 0 ? p->timeout_ms : 3000;
	int gai, rc;

	if (p->host_iface && p->host_iface[0]) {
		/* As the kernel's RDMA host, which has no host_iface either. */
		snprintf(err, errlen, "a host interface (%s) is for TCP: RDMA picks the device "
			 "by the source address (-w/--host-traddr)", p->host_iface);
		return -EINVAL;
	}
	gai = getaddrinfo(p->traddr, p->trsvcid, &hints, &res);
	if (gai) {
		snprintf(err, errlen, "cannot resolve address %s port %s: %s", p->traddr,
			 p->trsvcid, gai_strerror(gai));
		return -EINVAL;
	}
	if (p->host_traddr && p->host_traddr[0]) {
		struct addrinfo sh = { .ai_socktype = SOCK_STREAM, .ai_family = res->ai_family,
				       .ai_flags = AI_NUMERICHOST | AI_PASSIVE };

		if (getaddrinfo(p->host_traddr, NULL, &sh, &src)) {
			snprintf(err, errlen, "host address %s is not an %s address like the "
				 "target's", p->host_traddr,
				 res->ai_family == AF_INET6 ? "IPv6" : "IPv4");
			freeaddrinfo(res);
			return -EAFNOSUPPORT;
		}
	}
	rc = rdma_resolve_addr(rq->id, src ? src->ai_addr : NULL, res->ai_addr, ms);
	freeaddrinfo(res);
	if (src)
		freeaddrinfo(src);
	if (rc) {
		rc = -errno;
		addr_error(p, -rc, err, errlen);
		return rc;
	}
	rc = wait_cm(rq, RDMA_CM_EVENT_ADDR_RESOLVED, "resolving the address", p, deadline,
		     err, errlen);
	if (rc < 0)
		return rc;
	if (p->tos >= 0) {
		/* The kernel host sets it here too, between address and route. */
		uint8_t tos = (uint8_t)p->tos;

		if (rdma_set_option(rq->id, RDMA_OPTION_ID, RDMA_OPTION_ID_TOS, &tos, sizeof(tos))) {
			rc = -errno;
			snprintf(err, errlen, "cannot set the RDMA type of service %d: %s", p->tos,
				 strerror(-rc));
			return rc;
		}
	}
	if (rdma_resolve_route(rq->id, ms)) {
		rc = -errno;
		snprintf(err, errlen, "no RDMA route to %s: %s", p->traddr, strerror(-rc));
		return rc;
	}
	return wait_cm(rq, RDMA_CM_EVENT_ROUTE_RESOLVED, "resolving the route", p, deadline,
		       err, errlen);
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

static void *alloc_pages(size_t len)
{
	void *p = NULL;

	if (posix_memalign(&p, RDMA_PAGE, len))
		return NULL;
	memset(p, 0, len);
	return p;
}

static void free_windows(struct ibv_mw **mws, uint16_t n)
{
	for (uint16_t i = 0; mws && i < n; i++)
		if (mws[i])
			ibv_dealloc_mw(mws[i]);
	free(mws);
}

/*
 * One type 2 memory window per command slot, or NULL when the device has
 * none (or NVMF_RDMA_NO_MW is set): then the pool MR's rkey is used.
 */
static struct ibv_mw **alloc_windows(struct rdma_qpair *rq)
{
	struct ibv_mw **mws;

	if (getenv("NVMF_RDMA_NO_MW"))
		return NULL;
	mws = calloc(rq->qp.depth, sizeof(*mws));
	if (!mws)
		return NULL;
	for (uint16_t i = 0; i < rq->qp.depth; i++) {
		mws[i] = ibv_alloc_mw(rq->pd, IBV_MW_TYPE_2);
		if (!mws[i]) {
			nvmf_debug("%s: no memory windows (%s): one rkey for the whole pool",
				   rq->peer, strerror(errno));
			free_windows(mws, rq->qp.depth);
			return NULL;
		}
	}
	return mws;
}

/* Protection domain, CQ, QP, registered buffers and the receives. */
static int setup_verbs(struct rdma_qpair *rq, char *err, size_t errlen)
{
	struct ibv_context *ctx = rq->id->verbs;
	uint16_t depth = rq->qp.depth;
	struct ibv_qp_init_attr qa = { 0 };
	const char *what;
	int rc;

	rq->nrecv = depth + 1;
	what = "protection domain";
	rq->pd = ibv_alloc_pd(ctx);
	if (!rq->pd)
		goto verbs_err;
	what = "completion channel";
	rq->comp_ch = ibv_create_comp_channel(ctx);
	if (!rq->comp_ch)
		goto verbs_err;
	rc = set_nonblock(rq->comp_ch->fd);
	if (rc < 0)
		goto fail;
	what = "completion queue";
	rq->cq = ibv_create_cq(ctx, 4 * depth + 2, rq, rq->comp_ch, 0);
	if (!rq->cq || ibv_req_notify_cq(rq->cq, 0))
		goto verbs_err;
	qa.send_cq = rq->cq;
	qa.recv_cq = rq->cq;
	qa.qp_type = IBV_QPT_RC;
	qa.cap.max_send_wr = 3u * depth + 1;	/* bind, send, local invalidate */
	qa.cap.max_recv_wr = rq->nrecv;
	qa.cap.max_send_sge = 2;
	qa.cap.max_recv_sge = 1;
	qa.sq_sig_all = 1;
	what = "queue pair";
	if (rdma_create_qp(rq->id, rq->pd, &qa))
		goto verbs_err;
	rq->qp_created = true;

	rq->cmds = alloc_pages((size_t)depth * sizeof(*rq->cmds));
	rq->rsps = alloc_pages((size_t)rq->nrecv * sizeof(*rq->rsps));
	rq->pool = alloc_pages(rq->pool_size);
	rq->rreqs = calloc(depth, sizeof(*rq->rreqs));
	if (!rq->cmds || !rq->rsps || !rq->pool || !rq->rreqs ||
	    rdma_pool_map_init(&rq->map, (uint32_t)(rq->pool_size / RDMA_PAGE)) < 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rq->mws = alloc_windows(rq);
	what = "memory registration (locked memory limit? see ulimit -l)";
	rq->cmds_mr = ibv_reg_mr(rq->pd, rq->cmds, (size_t)depth * sizeof(*rq->cmds), 0);
	rq->rsps_mr = ibv_reg_mr(rq->pd, rq->rsps, (size_t)rq->nrecv * sizeof(*rq->rsps),
				 IBV_ACCESS_LOCAL_WRITE);
	rq->pool_mr = ibv_reg_mr(rq->pd, rq->pool, rq->pool_size, IBV_ACCESS_LOCAL_WRITE |
				 IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_WRITE |
				 (rq->mws ? IBV_ACCESS_MW_BIND : 0));
	if (!rq->cmds_mr || !rq->rsps_mr || !rq->pool_mr)
		goto verbs_err;
	for (uint16_t i = 0; i < rq->nrecv; i++) {
		rc = post_recv(rq, i);
		if (rc < 0) {
			snprintf(err, errlen, "cannot post receives: %s", strerror(-rc));
			return rc;
		}
	}
	return 0;

verbs_err:
	rc = errno ? -errno : -ENOMEM;
fail:
	snprintf(err, errlen, "RDMA %s on %s failed: %s", what,
		 ibv_get_device_name(ctx->device), strerror(-rc));
	return rc;
}

static int rdma_do_connect(struct rdma_qpair *rq, const struct nvmf_xport_params *p,
			   uint64_t deadline, char *err, size_t errlen)
{
	struct ibv_device_attr attr;
	struct rdma_conn_param cp = { 0 };
	uint8_t priv[RDMA_CM_PRIV_LEN];

	/* HSQSIZE is the Connect SQSIZE (0's based, = depth); HRQSIZE our receives. */
	rdma_cm_req_build(priv, p->qid, rq->nrecv, rq->qp.depth);
	cp.private_data = priv;
	cp.private_data_len = sizeof(priv);
	/* The controller RDMA-READs write data from us: accept its reads. */
	cp.responder_resources = 16;
	if (ibv_query_device(rq->id->verbs, &attr) == 0 && attr.max_qp_rd_atom < 16)
		cp.responder_resources = (uint8_t)attr.max_qp_rd_atom;
	cp.initiator_depth = 0;
	cp.flow_control = 1;
	cp.retry_count = 7;
	cp.rnr_retry_count = 7;
	if (rdma_connect(rq->id, &cp)) {
		int rc = -errno;

		snprintf(err, errlen, "RDMA connect to %s failed: %s", rq->peer, strerror(-rc));
		return rc;
	}
	return wait_cm(rq, RDMA_CM_EVENT_ESTABLISHED, "connecting", p, deadline, err, errlen);
}

static void rdma_destroy(struct nvmf_qpair *qp)
{
	struct rdma_qpair *rq = to_rdma(qp);

	if (qp->slots && qp->outstanding)
		nvmf_qpair_fail(qp, -ECONNABORTED, "queue pair closed");
	if (rq->established)
		rdma_disconnect(rq->id);
	/*
	 * Windows first: a bound type 2 window holds a reference on its QP,
	 * and rdma_rxe then spends 50 s in destroy_qp before giving up.
	 */
	free_windows(rq->mws, rq->qp.depth);
	rq->mws = NULL;
	if (rq->qp_created)
		rdma_destroy_qp(rq->id);
	if (rq->cq) {
		if (rq->cq_unacked)
			ibv_ack_cq_events(rq->cq, rq->cq_unacked);
		ibv_destroy_cq(rq->cq);
	}
	if (rq->comp_ch)
		ibv_destroy_comp_channel(rq->comp_ch);
	reg_drop_all(rq);
	if (rq->cmds_mr)
		ibv_dereg_mr(rq->cmds_mr);
	if (rq->rsps_mr)
		ibv_dereg_mr(rq->rsps_mr);
	if (rq->pool_mr)
		ibv_dereg_mr(rq->pool_mr);
	if (rq->pd)
		ibv_dealloc_pd(rq->pd);
	if (rq->id)
		rdma_destroy_id(rq->id);
	if (rq->cm_ch)
		rdma_destroy_event_channel(rq->cm_ch);
	if (rq->epfd >= 0)
		close(rq->epfd);
	free(rq->cmds);
	free(rq->rsps);
	free(rq->pool);
	free(rq->rreqs);
	rdma_pool_map_fini(&rq->map);
	nvmf_qpair_fini(qp);
	free(rq);
}

static const struct nvmf_transport_ops rdma_ops;

static int rdma_create(const struct nvmf_xport_params *p, struct nvmf_qpair **out,
		       char *err, size_t errlen)
{
	uint64_t deadline = nvmf_now_ns() + (uint64_t)p->timeout_ms * 1000000ull;
	struct epoll_event ee = { .events = EPOLLIN };
	struct rdma_qpair *rq;
	int rc;

	rq = calloc(1, sizeof(*rq));
	if (!rq)
		return -ENOMEM;
	rq->epfd = -1;
	rq->wait_tail = &rq->wait_head;
	rq->pend_tail = &rq->pend_head;
	{
		const char *post = getenv("NVMFUSE_RDMA_POST");

		rq->post_each = p->qid == 0 || (post && !strcmp(post, "each"));
		if (post && strcmp(post, "each") && strcmp(post, "batch") && p->qid == 1)
			nvmf_warn("NVMFUSE_RDMA_POST=%s: expected each or batch; using batch", post);
	}
	{
		const char *reg = getenv("NVMFUSE_RDMA_REG");

		rq->reg_off = p->qid == 0 || (reg && !strcmp(reg, "0"));
		if (reg && strcmp(reg, "0") && strcmp(reg, "1") && p->qid == 1)
			nvmf_warn("NVMFUSE_RDMA_REG=%s: expected 0 or 1; using 1", reg);
	}
	snprintf(rq->peer, sizeof(rq->peer), strchr(p->traddr, ':') ? "[%s]:%s" : "%s:%s",
		 p->traddr, p->trsvcid);
	rc = nvmf_qpair_init(&rq->qp, &rdma_ops, p->qid, p->depth);
	if (rc < 0)
		goto fail;
	if (p->qid == 0) {
		rq->pool_size = RDMA_ADMIN_POOL;
		rq->qp.icd_max = 0;
	} else {
		size_t want = (size_t)p->depth * RDMA_IO_POOL_PER_CMD;

		rq->pool_size = want < RDMA_IO_POOL_MIN ? RDMA_IO_POOL_MIN :
				want > RDMA_IO_POOL_MAX ? RDMA_IO_POOL_MAX : want;
		rq->qp.icd_max = p->icd_max;
	}
	if (p->timeout_ms > 0)
		rq->qp.cmd_timeout_ms = (uint32_t)p->timeout_ms;
	if (p->hdgst || p->ddgst)
		nvmf_debug("digests are NVMe/TCP only: ignored on RDMA");

	rq->cm_ch = rdma_create_event_channel();
	if (!rq->cm_ch) {
		rc = -errno;
		snprintf(err, errlen, "cannot open the RDMA connection manager: %s (no RDMA "
			 "device, or rdma_ucm not loaded?)", strerror(-rc));
		goto fail;
	}
	rc = set_nonblock(rq->cm_ch->fd);
	if (rc < 0)
		goto fail_msg;
	if (rdma_create_id(rq->cm_ch, &rq->id, rq, RDMA_PS_TCP)) {
		rc = -errno;
		goto fail_msg;
	}
	rc = resolve(rq, p, deadline, err, errlen);
	if (rc < 0)
		goto fail;
	rc = setup_verbs(rq, err, errlen);
	if (rc < 0)
		goto fail;
	rc = rdma_do_connect(rq, p, deadline, err, errlen);
	if (rc < 0)
		goto fail;
	rq->established = true;

	rq->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (rq->epfd < 0)
		goto errno_msg;
	ee.data.fd = rq->comp_ch->fd;
	if (epoll_ctl(rq->epfd, EPOLL_CTL_ADD, rq->comp_ch->fd, &ee) < 0)
		goto errno_msg;
	ee.data.fd = rq->cm_ch->fd;
	if (epoll_ctl(rq->epfd, EPOLL_CTL_ADD, rq->cm_ch->fd, &ee) < 0)
		goto errno_msg;
	nvmf_debug("queue %u connected to %s over RDMA (%s, depth %u, pool %zu KiB, icd %u, "
		   "%s)", p->qid, rq->peer, ibv_get_device_name(rq->id->verbs->device), p->depth,
		   rq->pool_size >> 10, rq->qp.icd_max,
		   rq->mws ? "a memory window per command" : "one pool rkey");
	*out = &rq->qp;
	return 0;

errno_msg:
	rc = -errno;
fail_msg:
	snprintf(err, errlen, "RDMA setup for %s failed: %s", rq->peer, strerror(-rc));
fail:
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	rdma_destroy(&rq->qp);
	return rc;
}

static const struct nvmf_transport_ops rdma_ops = {
	.name = "rdma",
	.qpair_create = rdma_create,
	.qpair_destroy = rdma_destroy,
	.submit = rdma_submit,
	.process = rdma_process,
	.pollfd = rdma_pollfd,
	.detach_buffers = rdma_detach_buffers,
	.forget_buf = rdma_forget_buf,
};

const struct nvmf_transport_ops *nvmf_rdma_transport(void)
{
	return &rdma_ops;
}
