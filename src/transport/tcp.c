/* SPDX-License-Identifier: MIT */
/*
 * NVMe/TCP transport (NVMe/TCP Transport Specification 1.0): one TCP
 * connection per queue pair, driven without blocking by the queue pair's
 * owner thread. PDU building and validation live in tcp_pdu.c; this file
 * does the socket I/O and the per-command state:
 *
 *   transmit: a FIFO of PDUs (CapsuleCmd, H2CData, H2CTermReq), flushed with
 *             one sendmsg() of as many iovecs as fit; data is never copied
 *             by us, and large H2CData payloads not even by the kernel
 *             (tx_splice: the buffer's pages go to TCP by reference).
 *             Or, on an I/O queue whose event loop sends for it
 *             (qp.tx_by_loop: an io_uring SENDMSG per wake-up, tx_prep and
 *             tx_done), the same iovecs handed to the loop, one send at a
 *             time; NVMFUSE_TCP_SEND=sendmsg keeps the send system call.
 *   receive:  header -> (pad) -> data -> (data digest) state machine over a
 *             read buffer; large data goes straight into the request buffer.
 *
 * A request completes once its response (or C2HData with SUCCESS) has
 * arrived and nothing of it is still queued for sending.
 *
 * With TLS (p->tls), the handshake runs right after the TCP connect and
 * before ICReq (NVMe/TCP 1.1, 3.6.2), and every byte then goes through
 * the channel of transport/tls.h (chan_recv, chan_sendv): it stages what
 * it takes, so the transmit queue's accounting stays as it is, and it may
 * hold received bytes the socket no longer shows, so receiving does not
 * stop at "the event loop saw nothing" while it does.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/log.h"
#include "base/qpair.h"
#include "transport/crc32c.h"
#include "transport/tcp_pdu.h"
#include "transport/tls.h"
#include "transport/transport.h"

#define TCP_RBUF_SIZE	(128 * 1024)
#define TCP_DIRECT_MIN	(16 * 1024)	/* receive larger data straight into place */
/*
 * While data transfers are large (the last C2HData carried TCP_DIRECT_MIN
 * or more), a receive into rbuf asks for no more than this: enough for
 * the PDU headers, responses and digests between transfers, while a
 * transfer's bytes go in place (rx_direct) instead of through rbuf and a
 * copy (which took a third of a queue thread's CPU at 128 KiB reads).
 */
#define TCP_RBUF_HEAD	1024
#define TCP_MAX_IOV	64
/*
 * H2CData payloads of TCP_SPLICE_MIN bytes or more go to the socket by
 * reference (tx_splice): vmsplice(2) puts the request buffer's pages in a
 * pipe and splice(2) hands them to TCP, which sends those pages as they
 * are, as the kernel host sends a bio's. sendmsg() would allocate socket
 * pages (zeroed first: Debian's kernels initialize on allocation) and copy
 * into them, which cost 128 KiB writes a third of the queue thread's CPU.
 * TCP (and, over loopback, the receiving socket) holds the pages until it
 * is done with them, so they must not change before then. A command's
 * response comes only after the controller has all of its data: by then
 * both are done. A queue pair that fails hands its commands back before
 * that, so tcp_detach_buffers() first gives each spliced range fresh
 * pages with the same bytes (the old ones stay with the socket, unchanged).
 * Only whole pages of a page-aligned payload go by reference, so the fresh
 * pages belong to that buffer alone; a tail shorter than a page is copied.
 * NVMFUSE_TCP_SPLICE=0 copies as before.
 */
#define TCP_SPLICE_MIN	(16 * 1024)
#define TCP_PIPE_SIZE	(1024 * 1024)
#define TCP_ADMIN_ICD	8192		/* NVMe/TCP 1.0: admin and Fabrics commands */

enum tcp_tx_kind { TX_CAPSULE, TX_H2C, TX_TERM };

struct tcp_tx {
	struct tcp_tx *next;
	struct iovec iov[3];
	int iovcnt;
	size_t left;
	enum tcp_tx_kind kind;
	uint32_t h2c_len;		/* TX_H2C: data bytes in this PDU */
};

struct tcp_req {
	/* Per-command state, reset on submit (everything before hdr). */
	struct nvmf_request *req;
	bool tx_queued;
	bool icd;
	bool resp_pending;		/* response arrived while tx still queued */
	bool r2t_active;
	bool ddgst_bad;
	uint16_t ttag;
	uint32_t h2c_sent;		/* data bytes handed to the socket */
	uint32_t h2c_queued;		/* data bytes in queued H2CData PDUs */
	uint32_t r2t_end;
	uint32_t c2h_rcvd;
	uint32_t spl_lo, spl_hi;	/* data bytes [lo, hi) went by reference */
	/* Transmit buffers. */
	uint8_t hdr[TCP_TX_HDR_MAX];
	uint8_t ddgst[TCP_DIGEST_LEN];
	struct tcp_tx tx;
};

enum tcp_rx_state { RX_HDR, RX_PAD, RX_DATA, RX_DDGST };

struct tcp_qpair {
	struct nvmf_qpair qp;		/* must be first */
	int fd;
	struct nvmf_tls *tls;		/* NULL: plain TCP */
	struct tcp_pdu_cfg cfg;
	uint32_t maxh2cdata;
	struct tcp_req *treqs;
	/* transmit */
	struct tcp_tx *txq_head;
	struct tcp_tx **txq_tail;
	bool tx_partial;		/* the head PDU is partly on the wire */
	/*
	 * The event loop's send (tx_prep .. tx_done): @tx_iov is what it
	 * sends, taken from the queue's head; nothing of the queue is retired
	 * or trimmed, and no send of our own is made, until tx_done.
	 */
	bool tx_inflight;
	bool no_ring_tx;		/* NVMFUSE_TCP_SEND=sendmsg */
	/* tx_splice: the pipe (-1: none yet), made at the first large H2CData. */
	int pipe_fd[2];
	size_t pipe_size;
	bool no_splice;			/* NVMFUSE_TCP_SPLICE=0, TLS, or no pipe */
	size_t page;			/* the page size */
	struct iovec tx_iov[TCP_MAX_IOV];
	/* receive */
	uint8_t *rbuf;
	size_t rpos, rlen;
	enum tcp_rx_state rx_state;
	uint8_t hdr[TCP_C2H_HLEN + TCP_DIGEST_LEN];
	size_t hdr_have, hdr_need;
	struct tcp_c2h pdu;
	struct tcp_req *rx_req;
	uint32_t rx_off;		/* where the next data byte goes in the request */
	uint32_t rx_left;		/* data bytes (or pad bytes) still to come */
	uint32_t rx_crc;
	bool rx_big;			/* the last C2HData was large: see TCP_RBUF_HEAD */
	uint8_t rx_ddgst[TCP_DIGEST_LEN];
	size_t rx_ddgst_have;
	int completed;			/* completions in the current process() call */
	/*
	 * The event loop receives for us into rbuf (rx_buf/rx_done, an
	 * io_uring receive): from then on no recv() of our own may touch
	 * rbuf, except from rx_done, when that receive has completed.
	 */
	bool ring_rx;
	bool in_rx_done;
	char peer[128];
};

static inline struct tcp_qpair *to_tcp(struct nvmf_qpair *qp)
{
	return (struct tcp_qpair *)qp;
}

/*
 * The socket or the TLS channel, with recv()'s and sendmsg()'s
 * conventions (-1 and errno); never blocks. With TLS, bytes sendv takes
 * are staged in the channel and count as sent.
 */
static ssize_t chan_recv(struct tcp_qpair *tq, void *buf, size_t len)
{
	ssize_t n;

	if (!tq->tls)
		return recv(tq->fd, buf, len, MSG_DONTWAIT);
	n = nvmf_tls_recv(tq->tls, buf, len);
	if (n < 0) {
		errno = (int)-n;
		return -1;
	}
	return n;
}

static ssize_t chan_sendv(struct tcp_qpair *tq, struct iovec *iov, int cnt)
{
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = (size_t)cnt };
	ssize_t n;

	if (!tq->tls)
		return sendmsg(tq->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
	n = nvmf_tls_sendv(tq->tls, iov, cnt);
	if (n < 0) {
		errno = (int)-n;
		return -1;
	}
	return n;
}

/* What the socket failed with, in words (the TLS channel knows better). */
static const char *chan_strerror(struct tcp_qpair *tq, int err)
{
	if (tq->tls && nvmf_tls_error(tq->tls)[0])
		return nvmf_tls_error(tq->tls);
	return strerror(err);
}

/* Events to wait for besides @ev: TLS may need to write to read. */
static short chan_events(struct tcp_qpair *tq, short ev)
{
	return (short)(ev | (tq->tls ? nvmf_tls_events(tq->tls) : 0));
}

static void txq_push(struct tcp_qpair *tq, struct tcp_tx *tx)
{
	tx->next = NULL;
	*tq->txq_tail = tx;
	tq->txq_tail = &tx->next;
}

/*
 * Protocol error: tell the controller with an H2CTermReq when the stream is
 * at a PDU boundary, then fail the queue pair (which fails its commands).
 */
static void tcp_fatal(struct tcp_qpair *tq, const struct tcp_pdu_err *e,
		      const uint8_t *bad, size_t bad_len)
{
	uint8_t term[TCP_TERM_MAX_PLEN];
	size_t n;

	if (!tq->tx_partial && !tq->tx_inflight && tq->fd >= 0 &&
	    !(tq->tls && nvmf_tls_tx_pending(tq->tls))) {
		struct iovec v;

		n = tcp_term_build(term, e->fes, e->fei, bad, bad_len);
		v = (struct iovec){ term, n };
		if (chan_sendv(tq, &v, 1) < 0)
			nvmf_debug("H2CTermReq not sent: %s", chan_strerror(tq, errno));
	}
	nvmf_qpair_fail(&tq->qp, -EPROTO, "protocol error from %s: %s (%s, FEI %u)",
			tq->peer, e->msg, tcp_fes_str(e->fes), e->fei);
}

/* A received PDU breaks a rule: fail with @fes/@fei and a message. */
__attribute__((format(printf, 4, 5)))
static void rx_reject(struct tcp_qpair *tq, uint16_t fes, uint32_t fei, const char *fmt, ...)
{
	struct tcp_pdu_err e = { .fes = fes, .fei = fei };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e.msg, sizeof(e.msg), fmt, ap);
	va_end(ap);
	tcp_fatal(tq, &e, tq->hdr, tq->pdu.hdr_len ? tq->pdu.hdr_len : tq->hdr_have);
}

static void finish_request(struct tcp_qpair *tq, struct tcp_req *tr)
{
	struct nvmf_request *req = tr->req;

	/* Never report success for read data that is damaged or missing. */
	if (req->dir == NVMF_DIR_C2H && !req->xport_err && NVMF_STATUS_CODE(req->status) == 0) {
		if (tr->ddgst_bad) {
			req->status = NVMF_SC_DATA_XFER_ERROR;
		} else if (tr->c2h_rcvd < req->data_len) {
			nvmf_warn("%s: cid %u completed with %u of %u data bytes",
				  tq->peer, req->cid, tr->c2h_rcvd, req->data_len);
			req->status = NVMF_SC_DATA_XFER_ERROR;
		}
	}
	if (req->dir == NVMF_DIR_H2C)
		req->bytes_ok = tr->icd ? req->data_len : tr->h2c_sent;
	tr->req = NULL;
	tq->completed++;
	nvmf_qpair_complete(&tq->qp, req);
}

static void complete_with(struct tcp_qpair *tq, struct tcp_req *tr, const struct nvmf_cqe *cqe)
{
	tr->req->cqe = *cqe;
	tr->req->status = nvmf_cqe_status(cqe);
	if (tr->tx_queued) {
		tr->resp_pending = true;
		return;
	}
	finish_request(tq, tr);
}

/* ---------------------------------------------------------------- transmit */

static void queue_h2c(struct tcp_qpair *tq, struct tcp_req *tr)
{
	struct nvmf_request *req = tr->req;
	uint32_t off = tr->h2c_sent + tr->h2c_queued;
	uint32_t len = tr->r2t_end - off;
	size_t hl;
	bool last;

	if (len > tq->maxh2cdata)
		len = tq->maxh2cdata;
	last = off + len == tr->r2t_end;
	hl = tcp_h2c_build(tr->hdr, req->cid, tr->ttag, off, len, last, &tq->cfg);
	tr->tx.kind = TX_H2C;
	tr->tx.h2c_len = len;
	tr->tx.iov[0] = (struct iovec){ tr->hdr, hl };
	tr->tx.iov[1] = (struct iovec){ (uint8_t *)req->data + off, len };
	tr->tx.iovcnt = 2;
	tr->tx.left = hl + len;
	if (tq->cfg.ddgst) {
		uint32_t d = htole32(crc32c((uint8_t *)req->data + off, len));

		memcpy(tr->ddgst, &d, sizeof(d));
		tr->tx.iov[2] = (struct iovec){ tr->ddgst, TCP_DIGEST_LEN };
		tr->tx.iovcnt = 3;
		tr->tx.left += TCP_DIGEST_LEN;
	}
	tr->h2c_queued += len;
	tr->tx_queued = true;
	txq_push(tq, &tr->tx);
}

static void tx_done(struct tcp_qpair *tq, struct tcp_tx *tx)
{
	struct tcp_req *tr = (struct tcp_req *)((uint8_t *)tx - offsetof(struct tcp_req, tx));

	tr->tx_queued = false;
	if (tx->kind == TX_H2C) {
		tr->h2c_sent += tx->h2c_len;
		tr->h2c_queued -= tx->h2c_len;
		tr->req->bytes_ok = tr->h2c_sent;
		if (tr->h2c_sent < tr->r2t_end) {
			queue_h2c(tq, tr);
			return;
		}
		tr->r2t_active = false;
	}
	if (tr->resp_pending) {
		tr->resp_pending = false;
		finish_request(tq, tr);
	}
}

/*
 * @n bytes of the queue went out: retire the whole PDUs, trim the partly
 * sent one (the next send continues where this one stopped).
 */
static void tx_retire(struct tcp_qpair *tq, size_t n)
{
	while (n > 0 && tq->txq_head) {
		struct tcp_tx *tx = tq->txq_head;

		if (n >= tx->left) {
			n -= tx->left;
			tq->txq_head = tx->next;
			if (!tq->txq_head)
				tq->txq_tail = &tq->txq_head;
			tq->tx_partial = false;
			tx->left = 0;
			tx_done(tq, tx);
			continue;
		}
		tx->left -= n;
		for (int i = 0; i < tx->iovcnt && n > 0; i++) {
			size_t k = n < tx->iov[i].iov_len ? n : tx->iov[i].iov_len;

			tx->iov[i].iov_base = (uint8_t *)tx->iov[i].iov_base + k;
			tx->iov[i].iov_len -= k;
			n -= k;
		}
		tq->tx_partial = true;
	}
}

/* @tx, untouched, goes by tx_splice once it is the head. */
static bool tx_spliceable(const struct tcp_qpair *tq, const struct tcp_tx *tx)
{
	return tx->kind == TX_H2C && tx->h2c_len >= TCP_SPLICE_MIN && !tq->no_splice &&
	       (uintptr_t)tx->iov[1].iov_base % tq->page == 0;
}

/* Close the pipe; with @stop, send by copy from now on. */
static void pipe_close(struct tcp_qpair *tq, bool stop)
{
	for (int i = 0; i < 2; i++) {
		if (tq->pipe_fd[i] >= 0)
			close(tq->pipe_fd[i]);
		tq->pipe_fd[i] = -1;
	}
	if (stop)
		tq->no_splice = true;
}

/* The pipe for tx_splice, sized for TCP_PIPE_SIZE; false: copy instead. */
static bool pipe_ready(struct tcp_qpair *tq)
{
	int sz;

	if (tq->pipe_fd[0] >= 0)
		return true;
	if (pipe2(tq->pipe_fd, O_CLOEXEC | O_NONBLOCK) < 0) {
		nvmf_debug("queue %u: no pipe for sending by reference (%s): copying",
			   tq->qp.qid, strerror(errno));
		tq->pipe_fd[0] = tq->pipe_fd[1] = -1;
		tq->no_splice = true;
		return false;
	}
	sz = fcntl(tq->pipe_fd[1], F_SETPIPE_SZ, TCP_PIPE_SIZE);
	if (sz < 0)
		sz = fcntl(tq->pipe_fd[1], F_GETPIPE_SZ);
	tq->pipe_size = sz > 0 ? (size_t)sz : 0;
	if (tq->pipe_size < TCP_SPLICE_MIN) {
		pipe_close(tq, true);
		return false;
	}
	return true;
}

/*
 * Empty the pipe after a short splice: its pages go nowhere (splice to
 * /dev/null reads no data), and what did not go out is sent by copy.
 * False when that fails: the pipe is then closed, and splicing stops.
 */
static bool pipe_drain(struct tcp_qpair *tq)
{
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	bool ok = null >= 0;

	while (ok) {
		ssize_t n = splice(tq->pipe_fd[0], NULL, null, NULL, tq->pipe_size,
				   SPLICE_F_NONBLOCK);

		if (n > 0)
			continue;
		ok = n == 0 || errno == EAGAIN;
		break;
	}
	if (null >= 0)
		close(null);
	if (!ok)
		pipe_close(tq, true);
	return ok;
}

/*
 * Send the head PDU, an untouched large H2CData, with its payload by
 * reference (see TCP_SPLICE_MIN): the header by send() with MSG_MORE, the
 * payload through the pipe. Never blocks; whatever the socket did not take
 * stays queued (retired as far as it went) for the copying send, and a
 * data digest always goes that way. True when the whole payload went.
 */
static bool tx_splice(struct tcp_qpair *tq)
{
	struct tcp_tx *tx = tq->txq_head;
	struct tcp_req *tr = (struct tcp_req *)((uint8_t *)tx - offsetof(struct tcp_req, tx));
	const uint8_t *data = tx->iov[1].iov_base;
	size_t hl = tx->iov[0].iov_len, len = tx->iov[1].iov_len, sent = 0;
	size_t whole = len / tq->page * tq->page;	/* the pages that go by reference */
	uint32_t off = (uint32_t)(data - (const uint8_t *)tr->req->data);
	ssize_t n;

	if (!pipe_ready(tq))	/* tx_spliceable: aligned, and whole > 0 */
		return false;
	n = send(tq->fd, tx->iov[0].iov_base, hl, MSG_NOSIGNAL | MSG_DONTWAIT | MSG_MORE);
	if (n <= 0)
		return false;	/* the copying send meets the same error or waits */
	if ((size_t)n < hl) {
		tx_retire(tq, (size_t)n);
		return false;
	}
	/* Recorded first: a page the pipe holds may reach the socket. */
	if (tr->spl_hi == tr->spl_lo)
		tr->spl_lo = off;
	tr->spl_hi = off + (uint32_t)whole;
	while (sent < whole) {
		size_t chunk = whole - sent < tq->pipe_size ? whole - sent : tq->pipe_size;
		struct iovec v = { (void *)(data + sent), chunk };
		ssize_t in, out;

		in = vmsplice(tq->pipe_fd[1], &v, 1, SPLICE_F_NONBLOCK);
		if (in <= 0)
			break;
		out = splice(tq->pipe_fd[0], NULL, tq->fd, NULL, (size_t)in,
			     SPLICE_F_NONBLOCK | (sent + (size_t)in < len ? SPLICE_F_MORE : 0));
		if (out > 0)
			sent += (size_t)out;
		if (out != in) {
			pipe_drain(tq);
			break;
		}
	}
	tq->qp.stats.tx_by_ref += sent;
	tx_retire(tq, hl + sent);	/* may retire the PDU and queue the next H2CData */
	return sent == len;
}

/*
 * Before a failed queue pair's commands go back (see TCP_SPLICE_MIN): the
 * pages of every outstanding command that went by reference are replaced
 * by fresh ones holding the same bytes, one page at a time through @tmp,
 * so that neither the owner's next use of the buffer nor a retry changes
 * what the socket may still send or the receiver still read. Owner thread.
 */
static void tcp_detach_buffers(struct nvmf_qpair *qp)
{
	struct tcp_qpair *tq = to_tcp(qp);
	uint8_t tmp[4096] __attribute__((aligned(64)));

	if (tq->page > sizeof(tmp))
		return;		/* tcp_create never splices with such pages */
	for (uint16_t s = 0; s < qp->depth; s++) {
		struct nvmf_request *req = qp->slots ? qp->slots[s] : NULL;
		struct tcp_req *tr;

		if (!req)
			continue;
		tr = &tq->treqs[req->slot];
		for (uint32_t o = tr->spl_lo; o < tr->spl_hi; o += (uint32_t)tq->page) {
			uint8_t *pg = (uint8_t *)req->data + o;

			memcpy(tmp, pg, tq->page);
			if (madvise(pg, tq->page, MADV_DONTNEED) < 0)
				nvmf_err("queue %u: cannot detach a sent page from command %u's buffer: %s",
					 qp->qid, req->cid, strerror(errno));
			memcpy(pg, tmp, tq->page);
		}
		/* New pages: another queue pair's registration of the old ones is stale. */
		if (req->sbuf && tr->spl_hi > tr->spl_lo)
			nvmf_stable_buf_renew(req->sbuf);
		tr->spl_lo = tr->spl_hi = 0;
	}
}

/*
 * The queue's head as iovecs, as many whole PDUs as fit in TCP_MAX_IOV,
 * stopping before an H2CData that tx_splice sends once it is the head.
 * *@more: something stays behind for a later send (PDUs that did not
 * fit, or an H2CData that is not its R2T's last).
 */
static int tx_gather(struct tcp_qpair *tq, struct iovec *iov, bool *more)
{
	struct tcp_tx *tx;
	int cnt = 0;

	*more = false;
	for (tx = tq->txq_head; tx && cnt + tx->iovcnt <= TCP_MAX_IOV; tx = tx->next) {
		if (tx != tq->txq_head && tx_spliceable(tq, tx))
			break;
		for (int i = 0; i < tx->iovcnt; i++)
			if (tx->iov[i].iov_len)
				iov[cnt++] = tx->iov[i];
		if (tx->kind == TX_H2C) {
			struct tcp_req *tr = (struct tcp_req *)((uint8_t *)tx -
								offsetof(struct tcp_req, tx));

			if (tr->h2c_sent + tr->h2c_queued < tr->r2t_end)
				*more = true;
		}
	}
	if (tx)
		*more = true;
	return cnt;
}

/* Send as much of the queue as the socket takes. Returns 0 or -errno. */
static int tcp_flush(struct tcp_qpair *tq)
{
	if (tq->qp.tx_by_loop)
		return 0;	/* the event loop sends (tcp_tx_prep) */
	if (tq->tls) {
		int rc = nvmf_tls_flush(tq->tls);

		if (rc == -EAGAIN)
			return 0;
		if (rc < 0)
			return rc;
	}
	while (tq->txq_head) {
		struct iovec iov[TCP_MAX_IOV];
		bool more;
		ssize_t n;
		int cnt;

		if (!tq->tx_partial && tx_spliceable(tq, tq->txq_head) && tx_splice(tq))
			continue;
		if (tq->qp.state == NVMF_QP_FAILED)
			return tq->qp.err;
		cnt = tx_gather(tq, iov, &more);

		n = chan_sendv(tq, iov, cnt);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR)
				continue;
			return -errno;
		}
		tx_retire(tq, (size_t)n);
	}
	return 0;
}

static int tcp_submit(struct nvmf_qpair *qp, struct nvmf_request *req)
{
	struct tcp_qpair *tq = to_tcp(qp);
	struct tcp_req *tr = &tq->treqs[req->slot];
	uint32_t icd = 0;
	uint32_t plen;
	size_t hl;

	memset(tr, 0, offsetof(struct tcp_req, hdr));
	tr->req = req;
	uint32_t icd_max = qp->icd_max;

	/* Fabrics commands may carry 8 KiB in-capsule on any queue (NVMe/TCP 1.0 3.3). */
	if (req->cmd.opc == nvme_admin_fabrics && icd_max < TCP_ADMIN_ICD)
		icd_max = TCP_ADMIN_ICD;
	memset(&req->cmd.sgl1, 0, sizeof(req->cmd.sgl1));
	if (req->dir == NVMF_DIR_H2C && req->data_len <= icd_max) {
		icd = req->data_len;
		tr->icd = true;
		req->cmd.sgl1.id = NVMF_SGL_ID_ICD;
	} else {
		req->cmd.sgl1.id = NVMF_SGL_ID_TCP_XPORT;
	}
	req->cmd.sgl1.length = htole32(req->dir == NVMF_DIR_NONE ? 0 : req->data_len);

	hl = tcp_capsule_build(tr->hdr, &req->cmd, icd, &tq->cfg, &plen);
	tr->tx.kind = TX_CAPSULE;
	tr->tx.iov[0] = (struct iovec){ tr->hdr, hl };
	tr->tx.iovcnt = 1;
	tr->tx.left = plen;
	if (icd) {
		tr->tx.iov[1] = (struct iovec){ req->data, icd };
		tr->tx.iovcnt = 2;
		if (tq->cfg.ddgst) {
			uint32_t d = htole32(crc32c(req->data, icd));

			memcpy(tr->ddgst, &d, sizeof(d));
			tr->tx.iov[2] = (struct iovec){ tr->ddgst, TCP_DIGEST_LEN };
			tr->tx.iovcnt = 3;
		}
	}
	tr->tx_queued = true;
	txq_push(tq, &tr->tx);
	return 0;
}

/* ----------------------------------------------------------------- receive */

static struct tcp_req *rx_lookup(struct tcp_qpair *tq, uint16_t cid, uint32_t fei)
{
	struct nvmf_request *req = nvmf_qpair_lookup(&tq->qp, cid);

	if (req && tq->treqs[req->slot].req == req)
		return &tq->treqs[req->slot];
	rx_reject(tq, TCP_FES_INVALID_HEADER, fei, "%s for unknown command id %u",
		  tcp_pdu_type_str(tq->pdu.type), cid);
	return NULL;
}

static void rx_data_done(struct tcp_qpair *tq)
{
	struct tcp_req *tr = tq->rx_req;
	struct tcp_c2h *p = &tq->pdu;

	tr->c2h_rcvd += p->datal;
	if (!tr->ddgst_bad)
		tr->req->bytes_ok = tr->c2h_rcvd;
	tq->rx_state = RX_HDR;
	tq->rx_req = NULL;
	if (p->flags & TCP_F_SUCCESS) {
		struct nvmf_cqe cqe = { .cid = htole16(p->cccid) };

		tq->qp.stats.c2h_success++;
		complete_with(tq, tr, &cqe);
	}
}

static void rx_ddgst_check(struct tcp_qpair *tq)
{
	uint32_t got, want = crc32c_final(tq->rx_crc);
	struct tcp_req *tr = tq->rx_req;

	memcpy(&got, tq->rx_ddgst, sizeof(got));
	if (le32toh(got) != want) {
		/*
		 * Not fatal to the connection: the PDU boundaries are intact.
		 * The command completes with a transfer error and bytes_ok stops
		 * at the last good PDU, so callers can retry the rest.
		 */
		if (!tr->ddgst_bad)
			nvmf_warn("%s: data digest error on cid %u at offset %u",
				  tq->peer, tr->req->cid, tq->pdu.datao);
		tr->ddgst_bad = true;
		tq->qp.stats.ddgst_errors++;
	}
	rx_data_done(tq);
}

/* A whole header is in tq->hdr: validate and act on it. */
static void rx_header(struct tcp_qpair *tq)
{
	struct tcp_c2h *p = &tq->pdu;
	struct tcp_pdu_err e;
	struct tcp_req *tr;

	if (tcp_c2h_parse(tq->hdr, tq->hdr_have, &tq->cfg, p, &e) < 0) {
		tcp_fatal(tq, &e, tq->hdr, tq->hdr_have);
		return;
	}
	tq->hdr_have = 0;
	tq->hdr_need = 0;
	switch (p->type) {
	case TCP_PDU_CAPSULE_RESP:
		tr = rx_lookup(tq, le16toh(p->cqe.cid), 8 + offsetof(struct nvmf_cqe, cid));
		if (!tr)
			return;
		if (tr->r2t_active && NVMF_STATUS_CODE(nvmf_cqe_status(&p->cqe)) == 0) {
			rx_reject(tq, TCP_FES_SEQUENCE, 0,
				  "success response for cid %u before its data was sent",
				  tr->req->cid);
			return;
		}
		complete_with(tq, tr, &p->cqe);
		return;

	case TCP_PDU_C2H_DATA:
		tr = rx_lookup(tq, p->cccid, 8);
		if (!tr)
			return;
		if (tr->req->dir != NVMF_DIR_C2H) {
			rx_reject(tq, TCP_FES_INVALID_HEADER, 8,
				  "C2HData for cid %u which reads no data", p->cccid);
			return;
		}
		if (tcp_c2h_data_check(p, tr->c2h_rcvd, tr->req->data_len, &e) < 0) {
			tcp_fatal(tq, &e, tq->hdr, p->hdr_len);
			return;
		}
		tq->rx_req = tr;
		tq->rx_big = p->data_len >= TCP_DIRECT_MIN;
		tq->rx_off = p->datao;
		tq->rx_crc = NVMF_CRC32C_INIT;
		tq->rx_ddgst_have = 0;
		if (p->pad) {
			tq->rx_left = p->pad;
			tq->rx_state = RX_PAD;
		} else {
			tq->rx_left = p->data_len;
			tq->rx_state = RX_DATA;
		}
		return;

	case TCP_PDU_R2T:
		tr = rx_lookup(tq, p->cccid, 8);
		if (!tr)
			return;
		if (tr->req->dir != NVMF_DIR_H2C || tr->icd || tr->r2t_active || tr->tx_queued) {
			rx_reject(tq, tr->r2t_active ? TCP_FES_LIMIT_EXCEEDED : TCP_FES_SEQUENCE, 0,
				  "unexpected R2T for cid %u", p->cccid);
			return;
		}
		if (tcp_r2t_check(p, tr->h2c_sent, tr->req->data_len, &e) < 0) {
			tcp_fatal(tq, &e, tq->hdr, p->hdr_len);
			return;
		}
		tr->r2t_active = true;
		tr->ttag = p->ttag;
		tr->r2t_end = p->datao + p->datal;
		queue_h2c(tq, tr);
		return;

	case TCP_PDU_C2H_TERM:
		nvmf_qpair_fail(&tq->qp, -ECONNRESET,
				"%s terminated the connection: C2HTermReq %s (FES 0x%x, FEI %u)",
				tq->peer, tcp_fes_str(p->fes), p->fes, p->fei);
		return;
	}
}

/* Feed @n received bytes to the state machine. Returns bytes consumed. */
static size_t rx_consume(struct tcp_qpair *tq, const uint8_t *buf, size_t n)
{
	size_t used = 0;

	while (used < n && tq->qp.state != NVMF_QP_FAILED) {
		size_t avail = n - used;
		size_t k;

		switch (tq->rx_state) {
		case RX_HDR: {
			size_t want = tq->hdr_need ? tq->hdr_need : TCP_CH_LEN;

			k = want - tq->hdr_have;
			if (k > avail)
				k = avail;
			memcpy(tq->hdr + tq->hdr_have, buf + used, k);
			tq->hdr_have += k;
			used += k;
			if (tq->hdr_have < want)
				break;
			if (!tq->hdr_need) {
				struct tcp_pdu_err e;
				int need = tcp_c2h_hdr_len(tq->hdr, &tq->cfg, &e);

				if (need < 0) {
					tcp_fatal(tq, &e, tq->hdr, tq->hdr_have);
					return used;
				}
				tq->hdr_need = (size_t)need;
				break;
			}
			rx_header(tq);
			break;
		}
		case RX_PAD:
			k = tq->rx_left < avail ? tq->rx_left : avail;
			used += k;
			tq->rx_left -= k;
			if (!tq->rx_left) {
				tq->rx_left = tq->pdu.data_len;
				tq->rx_state = RX_DATA;
			}
			break;
		case RX_DATA: {
			uint8_t *dst = (uint8_t *)tq->rx_req->req->data + tq->rx_off;

			k = tq->rx_left < avail ? tq->rx_left : avail;
			memcpy(dst, buf + used, k);
			if (tq->pdu.ddgst)
				tq->rx_crc = crc32c_update(tq->rx_crc, dst, k);
			used += k;
			tq->rx_off += k;
			tq->rx_left -= k;
			if (!tq->rx_left) {
				if (tq->pdu.ddgst)
					tq->rx_state = RX_DDGST;
				else
					rx_data_done(tq);
			}
			break;
		}
		case RX_DDGST:
			k = TCP_DIGEST_LEN - tq->rx_ddgst_have;
			if (k > avail)
				k = avail;
			memcpy(tq->rx_ddgst + tq->rx_ddgst_have, buf + used, k);
			tq->rx_ddgst_have += k;
			used += k;
			if (tq->rx_ddgst_have == TCP_DIGEST_LEN)
				rx_ddgst_check(tq);
			break;
		}
	}
	return used;
}

/*
 * Does the rest of the current data transfer go in place (rx_direct)? A
 * large rest always; while transfers are large (rx_big) any rest, so a
 * transfer's tail does not come in TCP_RBUF_HEAD pieces.
 */
static bool rx_in_place(const struct tcp_qpair *tq)
{
	return tq->rx_state == RX_DATA &&
	       (tq->rx_left >= TCP_DIRECT_MIN || (tq->rx_big && tq->rx_left));
}

/* Large data with nothing buffered: receive it in place. */
static ssize_t rx_direct(struct tcp_qpair *tq)
{
	uint8_t *dst = (uint8_t *)tq->rx_req->req->data + tq->rx_off;
	ssize_t n = chan_recv(tq, dst, tq->rx_left);

	if (n <= 0)
		return n;
	if (tq->pdu.ddgst)
		tq->rx_crc = crc32c_update(tq->rx_crc, dst, (size_t)n);
	tq->rx_off += n;
	tq->rx_left -= n;
	if (!tq->rx_left) {
		if (tq->pdu.ddgst)
			tq->rx_state = RX_DDGST;
		else
			rx_data_done(tq);
	}
	return n;
}

/*
 * Receive and consume until the socket is drained. A recv that returns
 * less than it asked for has emptied the socket: stop there instead of
 * paying another system call for EAGAIN (the event loop is level
 * triggered and reports data that arrives later).
 */
static int tcp_receive(struct tcp_qpair *tq)
{
	bool drained = false;

	if (tq->ring_rx && !tq->in_rx_done)
		return 0;	/* the event loop's receive owns rbuf now */

	for (;;) {
		ssize_t n;
		size_t want;

		if (tq->rpos < tq->rlen) {
			tq->rpos += rx_consume(tq, tq->rbuf + tq->rpos, tq->rlen - tq->rpos);
			if (tq->qp.state == NVMF_QP_FAILED)
				return tq->qp.err;
			continue;
		}
		if (drained)
			return 0;
		if (rx_in_place(tq)) {
			want = tq->rx_left;
			n = rx_direct(tq);
		} else {
			want = tq->rx_big ? TCP_RBUF_HEAD : TCP_RBUF_SIZE;
			tq->rpos = tq->rlen = 0;
			n = chan_recv(tq, tq->rbuf, want);
			if (n > 0)
				tq->rlen = (size_t)n;
		}
		/* (TLS returns a record at a time; it says when it holds more) */
		if (n > 0 && (size_t)n < want && !(tq->tls && nvmf_tls_rx_pending(tq->tls)))
			drained = true;
		if (n == 0) {
			nvmf_qpair_fail(&tq->qp, -ECONNRESET, "connection closed by %s", tq->peer);
			return -ECONNRESET;
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR)
				continue;
			nvmf_qpair_fail(&tq->qp, -errno, "receive from %s failed: %s",
					tq->peer, chan_strerror(tq, errno));
			return tq->qp.err;
		}
	}
}

/*
 * The end of a process() or rx_done() pass that ended with @rc: send what
 * receiving queued (H2CData for R2Ts, resubmissions). Returns the pass's
 * completions, or -errno once the queue pair has failed.
 */
static int tcp_process_end(struct tcp_qpair *tq, int rc)
{
	if (rc == 0)
		rc = tcp_flush(tq);
	if (rc < 0) {
		if (tq->qp.state != NVMF_QP_FAILED)
			nvmf_qpair_fail(&tq->qp, rc, "send to %s failed: %s", tq->peer,
					chan_strerror(tq, -rc));
		return tq->qp.err;
	}
	return tq->completed;
}

static int tcp_process(struct nvmf_qpair *qp)
{
	struct tcp_qpair *tq = to_tcp(qp);
	int rc;

	if (qp->state == NVMF_QP_FAILED)
		return qp->err;
	tq->completed = 0;
	rc = tcp_flush(tq);
	/* The event loop saw nothing to read: no recv just to hear EAGAIN. */
	if (rc == 0 && (!qp->rx_idle || tq->rpos < tq->rlen ||
			(tq->tls && nvmf_tls_rx_pending(tq->tls))))
		rc = tcp_receive(tq);
	return tcp_process_end(tq, rc);
}

static int tcp_rx_buf(struct nvmf_qpair *qp, void **buf, size_t *len)
{
	struct tcp_qpair *tq = to_tcp(qp);

	if (tq->tls)
		return -EOPNOTSUPP;
	/* What an earlier recv() of ours left in rbuf goes first. */
	if (tq->rpos < tq->rlen && qp->state != NVMF_QP_FAILED)
		tq->rpos += rx_consume(tq, tq->rbuf + tq->rpos, tq->rlen - tq->rpos);
	tq->ring_rx = true;
	tq->rpos = tq->rlen = 0;
	*buf = tq->rbuf;
	*len = tq->rx_big ? TCP_RBUF_HEAD : TCP_RBUF_SIZE;
	return 0;
}

/*
 * The event loop's receive into rbuf completed with @res: consume it as
 * tcp_receive() would. What remains of a large data transfer is then
 * received in place with recv() (no copy through rbuf), as before.
 */
static int tcp_rx_done(struct nvmf_qpair *qp, int res)
{
	struct tcp_qpair *tq = to_tcp(qp);
	int rc = 0;

	if (qp->state == NVMF_QP_FAILED)
		return qp->err;
	tq->completed = 0;
	if (res == 0) {
		nvmf_qpair_fail(qp, -ECONNRESET, "connection closed by %s", tq->peer);
		return qp->err;
	}
	if (res < 0) {
		if (res == -EAGAIN || res == -EINTR || res == -ECANCELED)
			return 0;
		nvmf_qpair_fail(qp, res, "receive from %s failed: %s", tq->peer, strerror(-res));
		return qp->err;
	}
	if ((size_t)res > TCP_RBUF_SIZE) {
		nvmf_qpair_fail(qp, -EIO, "receive from %s: %d bytes into %d", tq->peer, res,
				TCP_RBUF_SIZE);
		return qp->err;
	}
	tq->rpos = 0;
	tq->rlen = (size_t)res;
	tq->in_rx_done = true;
	tq->rpos += rx_consume(tq, tq->rbuf, tq->rlen);
	if (qp->state != NVMF_QP_FAILED && rx_in_place(tq))
		rc = tcp_receive(tq);
	tq->in_rx_done = false;
	if (qp->state == NVMF_QP_FAILED)
		return qp->err;
	return tcp_process_end(tq, rc);
}

static int tcp_pollfd(struct nvmf_qpair *qp, short *events)
{
	struct tcp_qpair *tq = to_tcp(qp);

	*events = chan_events(tq, POLLIN | (tq->txq_head && !qp->tx_by_loop ? POLLOUT : 0));
	return tq->fd;
}

static int tcp_tx_prep(struct nvmf_qpair *qp, struct iovec **iov, int *cnt, bool *more)
{
	struct tcp_qpair *tq = to_tcp(qp);

	if (tq->tls || tq->no_ring_tx)
		return -EOPNOTSUPP;	/* OpenSSL (also kTLS's) keeps its own send */
	*cnt = 0;
	*more = false;
	if (qp->state == NVMF_QP_FAILED || tq->tx_inflight || !tq->txq_head)
		return 0;
	while (tq->txq_head && !tq->tx_partial && tx_spliceable(tq, tq->txq_head) &&
	       qp->state != NVMF_QP_FAILED)
		if (!tx_splice(tq))
			break;
	if (qp->state == NVMF_QP_FAILED || !tq->txq_head)
		return 0;
	*cnt = tx_gather(tq, tq->tx_iov, more);
	*iov = tq->tx_iov;
	tq->tx_inflight = *cnt > 0;
	return 0;
}

static int tcp_tx_done(struct nvmf_qpair *qp, int res)
{
	struct tcp_qpair *tq = to_tcp(qp);

	tq->tx_inflight = false;
	if (qp->state == NVMF_QP_FAILED)
		return qp->err;
	tq->completed = 0;
	if (res < 0) {
		if (res == -EAGAIN || res == -EINTR || res == -ECANCELED)
			return 0;	/* nothing went out: the next send starts over */
		nvmf_qpair_fail(qp, res, "send to %s failed: %s", tq->peer, strerror(-res));
		return qp->err;
	}
	tx_retire(tq, (size_t)res);
	return tq->completed;
}

/* -------------------------------------------------------------- connection */

/*
 * Wait until @fd has @events, the deadline passes (-ETIMEDOUT) or
 * @cancel_fd (> 0) becomes readable (-ECANCELED).
 */
static int wait_fd(int fd, short events, uint64_t deadline, int cancel_fd)
{
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = fd, .events = events },
			{ .fd = cancel_fd, .events = POLLIN },
		};
		uint64_t now = nvmf_now_ns();
		int ms, rc;

		if (now >= deadline)
			return -ETIMEDOUT;
		ms = (int)((deadline - now) / 1000000) + 1;
		rc = poll(pfd, cancel_fd > 0 ? 2 : 1, ms);
		if (rc > 0 && cancel_fd > 0 && pfd[1].revents)
			return -ECANCELED;
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return -errno;
	}
}

/*
 * The host side of a new socket @fd of family @family, before connect():
 * the interface it is bound to, its source address and its TOS / traffic
 * class (struct nvmf_xport_params). Returns 0, or -errno with one line in
 * @err; -EAFNOSUPPORT when the source address is of another family (the
 * caller tries the target's next address).
 */
static int sock_host_side(int fd, int family, const struct nvmf_xport_params *p, char *err,
			  size_t errlen)
{
	if (p->host_iface && p->host_iface[0] &&
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, p->host_iface,
		       (socklen_t)strlen(p->host_iface)) < 0) {
		int e = errno;

		snprintf(err, errlen, "cannot bind to host interface %s: %s", p->host_iface,
			 e == ENODEV ? "no such interface" : strerror(e));
		return -e;
	}
	if (p->host_traddr && p->host_traddr[0]) {
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_family = family,
					  .ai_flags = AI_NUMERICHOST | AI_PASSIVE };
		struct addrinfo *src = NULL;
		int gai = getaddrinfo(p->host_traddr, NULL, &hints, &src), rc = 0;

		if (gai) {
			snprintf(err, errlen, "host address %s is not an %s address like the target's",
				 p->host_traddr, family == AF_INET6 ? "IPv6" : "IPv4");
			return -EAFNOSUPPORT;
		}
		if (bind(fd, src->ai_addr, src->ai_addrlen) < 0) {
			rc = -errno;
			snprintf(err, errlen, "cannot use host address %s as the source: %s",
				 p->host_traddr, strerror(-rc));
		}
		freeaddrinfo(src);
		if (rc < 0)
			return rc;
	}
	if (p->tos >= 0) {
		int tos = p->tos;
		int rc = family == AF_INET6 ?
			 setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof(tos)) :
			 setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof(tos));

		if (rc < 0) {
			rc = -errno;
			snprintf(err, errlen, "cannot set type of service %d: %s", tos,
				 strerror(-rc));
			return rc;
		}
	}
	return 0;
}

static int sock_connect(struct tcp_qpair *tq, const struct nvmf_xport_params *p,
			uint64_t deadline, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC };
	struct addrinfo *res = NULL, *ai;
	char host_err[256] = "";
	int rc, gai, one = 1;

	gai = getaddrinfo(p->traddr, p->trsvcid, &hints, &res);
	if (gai) {
		snprintf(err, errlen, "cannot resolve address %s port %s: %s",
			 p->traddr, p->trsvcid, gai_strerror(gai));
		return -EINVAL;
	}
	rc = -ENOENT;
	for (ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
				ai->ai_protocol);
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		if (fd < 0) {
			rc = -errno;
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		rc = sock_host_side(fd, ai->ai_family, p, host_err, sizeof(host_err));
		if (rc < 0) {
			close(fd);
			continue;
		}
		host_err[0] = 0;	/* a failure from here on is the connection's */
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
			rc = -errno;
			close(fd);
			continue;
		}
		rc = wait_fd(fd, POLLOUT, deadline, p->cancel_fd);
		if (rc == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr)
			rc = -soerr;
		if (rc == 0) {
			tq->fd = fd;
			break;
		}
		close(fd);
	}
	freeaddrinfo(res);
	if (rc < 0 && host_err[0])
		snprintf(err, errlen, "%s", host_err);	/* the host side: the last cause */
	else if (rc == -ECONNREFUSED)
		snprintf(err, errlen, "connection refused by %s (nothing listens on that port)",
			 tq->peer);
	else if (rc == -ETIMEDOUT)
		snprintf(err, errlen, "no answer from %s within %d s (address unreachable or filtered)",
			 tq->peer, p->timeout_ms / 1000);
	else if (rc == -ECANCELED)
		snprintf(err, errlen, "connecting to %s: cancelled", tq->peer);
	else if (rc < 0)
		snprintf(err, errlen, "cannot connect to %s: %s", tq->peer, strerror(-rc));
	return rc;
}

static int ic_exchange(struct tcp_qpair *tq, const struct nvmf_xport_params *p,
		       uint64_t deadline, char *err, size_t errlen)
{
	uint8_t icreq[TCP_IC_LEN], icresp[TCP_IC_LEN];
	struct tcp_icresp ic;
	struct tcp_pdu_err e;
	size_t done = 0;
	int rc;

	tcp_icreq_build(icreq, 0, p->hdgst, p->ddgst);
	while (done < sizeof(icreq) || (tq->tls && nvmf_tls_tx_pending(tq->tls))) {
		struct iovec v = { icreq + done, sizeof(icreq) - done };
		ssize_t n;

		if (done < sizeof(icreq)) {
			n = chan_sendv(tq, &v, 1);
		} else {
			n = nvmf_tls_flush(tq->tls);
			if (n < 0) {
				errno = (int)-n;
				n = -1;
			}
		}
		if (n < 0 && errno == EAGAIN) {
			rc = wait_fd(tq->fd, chan_events(tq, POLLOUT), deadline, p->cancel_fd);
			if (rc < 0)
				goto io_err;
			continue;
		}
		if (n < 0) {
			rc = -errno;
			goto io_err;
		}
		done += (size_t)n;
	}
	done = 0;
	while (done < sizeof(icresp)) {
		ssize_t n = chan_recv(tq, icresp + done, sizeof(icresp) - done);

		if (n < 0 && errno == EAGAIN) {
			rc = wait_fd(tq->fd, chan_events(tq, POLLIN), deadline, p->cancel_fd);
			if (rc < 0)
				goto io_err;
			continue;
		}
		if (n < 0) {
			rc = -errno;
			goto io_err;
		}
		if (n == 0) {
			snprintf(err, errlen, "%s closed the connection during ICReq/ICResp "
				 "(not an NVMe/TCP controller%s?)", tq->peer,
				 tq->tls ? "" : ", or a port that requires TLS: --tls");
			return -ECONNRESET;
		}
		done += (size_t)n;
		/* A controller refusing the ICReq answers with a C2HTermReq. */
		if (icresp[0] == TCP_PDU_C2H_TERM && done >= TCP_TERM_HLEN) {
			uint16_t fes = (uint16_t)(icresp[8] | icresp[9] << 8);
			uint32_t fei = (uint32_t)icresp[10] | (uint32_t)icresp[11] << 8 |
				       (uint32_t)icresp[12] << 16 | (uint32_t)icresp[13] << 24;

			snprintf(err, errlen, "%s refused the connection: C2HTermReq %s (FES 0x%x, FEI %u)",
				 tq->peer, tcp_fes_str(fes), fes, fei);
			return -ECONNREFUSED;
		}
		/* Anything else that does not start like an ICResp: say so at once. */
		if (done >= TCP_CH_LEN && icresp[0] != TCP_PDU_C2H_TERM &&
		    (icresp[0] != TCP_PDU_ICRESP || icresp[2] != TCP_IC_LEN))
			break;
	}
	if (tcp_icresp_parse(icresp, p->hdgst, p->ddgst, &ic, &e) < 0) {
		uint8_t term[TCP_TERM_MAX_PLEN];
		size_t n = tcp_term_build(term, e.fes, e.fei, icresp, done);

		struct iovec v = { term, n };

		if (chan_sendv(tq, &v, 1) < 0)
			nvmf_debug("H2CTermReq not sent: %s", chan_strerror(tq, errno));
		snprintf(err, errlen, "%s is not an NVMe/TCP controller: bad ICResp: %s",
			 tq->peer, e.msg);
		return -EPROTO;
	}
	if (ic.hdgst != p->hdgst || ic.ddgst != p->ddgst)
		nvmf_warn("%s enabled header digest %s, data digest %s", tq->peer,
			  ic.hdgst ? "on" : "off", ic.ddgst ? "on" : "off");
	tq->cfg.hdgst = ic.hdgst;
	tq->cfg.ddgst = ic.ddgst;
	tq->cfg.rxpda = 4;			/* HPDA 0 */
	tq->cfg.txpda = (ic.cpda + 1u) * 4;
	tq->maxh2cdata = ic.maxh2cdata;
	return 0;

io_err:
	if (rc == -ECANCELED)
		snprintf(err, errlen, "connecting to %s: cancelled during ICReq/ICResp", tq->peer);
	else if (rc == -ETIMEDOUT)
		snprintf(err, errlen, "no ICResp from %s within %d s (not an NVMe/TCP controller?)",
			 tq->peer, p->timeout_ms / 1000);
	else if (rc == -ECONNRESET && !tq->tls)
		/* nvmet resets a plaintext connection to a port that requires TLS */
		snprintf(err, errlen, "connection to %s reset during ICReq/ICResp "
			 "(does the port require TLS? then --tls)", tq->peer);
	else
		snprintf(err, errlen, "connection to %s failed during ICReq/ICResp: %s",
			 tq->peer, chan_strerror(tq, -rc));
	return rc;
}

/*
 * The TLS 1.3 handshake on the connected socket, bounded by @deadline.
 * Failures say which step failed, OpenSSL's reason, and the likely cause.
 */
static int tls_start(struct tcp_qpair *tq, const struct nvmf_xport_params *p, int hash,
		     uint64_t deadline, char *err, size_t errlen)
{
	char why[256];
	short ev = 0;
	int rc;

	rc = nvmf_tls_new(tq->fd, p->tls, hash, &tq->tls, err, errlen);
	if (rc < 0)
		return rc;
	while ((rc = nvmf_tls_handshake(tq->tls, &ev, why, sizeof(why))) == -EAGAIN) {
		rc = wait_fd(tq->fd, ev, deadline, p->cancel_fd);
		if (rc == -ETIMEDOUT) {
			snprintf(err, errlen, "TLS handshake with %s: no answer within %d s",
				 tq->peer, p->timeout_ms / 1000);
			return rc;
		}
		if (rc == -ECANCELED) {
			snprintf(err, errlen, "connecting to %s: cancelled during the TLS handshake",
				 tq->peer);
			return rc;
		}
		if (rc < 0) {
			snprintf(err, errlen, "TLS handshake with %s: %s", tq->peer, strerror(-rc));
			return rc;
		}
	}
	if (rc == 0) {
		nvmf_debug("queue %u: TLS 1.3 with %s (records: %s), PSK identity \"%s\"", p->qid,
			   nvmf_tls_cipher(tq->tls), nvmf_tls_ktls(tq->tls), p->tls->identity);
		return 0;
	}
	/*
	 * A target refuses a PSK with an alert, or (tlshd) by closing the
	 * connection after our ClientHello: both are a refused key.
	 */
	if (rc == -EKEYREJECTED)
		snprintf(err, errlen, "%s with %s failed: %s (wrong PSK for identity \"%s\"?)",
			 "TLS handshake", tq->peer, why + strlen("TLS handshake: "), p->tls->identity);
	else if (rc == -ECONNRESET) {
		snprintf(err, errlen, "%s with %s failed: %s (the target refused the PSK of "
			 "identity \"%s\", or the port has no TLS)", "TLS handshake", tq->peer,
			 why + strlen("TLS handshake: "), p->tls->identity);
		rc = -EKEYREJECTED;
	} else
		snprintf(err, errlen, "%s with %s failed: %s (not a TLS port?)", "TLS handshake",
			 tq->peer, why + strlen("TLS handshake: "));
	return rc;
}

/*
 * TLS on the connected socket, with the PSK bound to its own hash as
 * NVMe/TCP says (SHA-384 and TLS_AES_256_GCM_SHA384 for hash 02). A
 * SHA-384 PSK the target refuses is offered once more, on a new
 * connection, bound to SHA-256 with TLS_AES_128_GCM_SHA256: GnuTLS before
 * 3.8.11 verifies every external PSK's binder with HMAC-SHA256 and
 * accepts only SHA-256 suites with it, so tlshd built on it (Debian 13's)
 * refuses the SHA-384 handshake and accepts this one; the kernel host
 * gets through the same way, its own tlshd binding the PSK to SHA-256.
 * The key is the same and never leaves the host: a target that holds
 * another key refuses both. The queue records the hash that worked
 * (qp.tls_hash), and the association's I/O queues ask for that one only
 * (p->tls_hash), so only its admin queue pays for a refused offer.
 */
static int tls_connect(struct tcp_qpair *tq, const struct nvmf_xport_params *p,
		       uint64_t deadline, char *err, size_t errlen)
{
	char first[512];
	int rc;

	tq->qp.tls_hash = p->tls_hash ? p->tls_hash : p->tls->hash;
	rc = tls_start(tq, p, tq->qp.tls_hash, deadline, err, errlen);
	if (rc != -EKEYREJECTED || tq->qp.tls_hash != 2 || p->tls_hash)
		return rc;
	snprintf(first, sizeof(first), "%s", err);
	nvmf_tls_free(tq->tls);
	tq->tls = NULL;
	close(tq->fd);
	tq->fd = -1;
	rc = sock_connect(tq, p, deadline, err, errlen);
	tq->qp.tls_hash = 1;
	if (rc == 0)
		rc = tls_start(tq, p, 1, deadline, err, errlen);
	if (rc == 0) {
		nvmf_log(p->qid ? NVMF_LOG_DEBUG : NVMF_LOG_INFO,
			 "queue %u: %s refused the SHA-384 TLS handshake and took the same PSK "
			 "bound to SHA-256 (a target on GnuTLS < 3.8.11, like tlshd 1.0)",
			 p->qid, tq->peer);
		return 0;
	}
	/* Both refused: the first attempt's words, and that the second failed too. */
	snprintf(err, errlen, "%s; refused bound to SHA-256 too", first);
	return rc == -ECANCELED || rc == -ETIMEDOUT ? rc : -EKEYREJECTED;
}

static void tcp_destroy(struct nvmf_qpair *qp)
{
	struct tcp_qpair *tq = to_tcp(qp);

	if (qp->slots && qp->outstanding)
		nvmf_qpair_fail(qp, -ECONNABORTED, "queue pair closed");
	nvmf_tls_free(tq->tls);
	pipe_close(tq, false);
	if (tq->fd >= 0)
		close(tq->fd);
	free(tq->rbuf);
	free(tq->treqs);
	nvmf_qpair_fini(qp);
	free(tq);
}

static const struct nvmf_transport_ops tcp_ops;

static int tcp_create(const struct nvmf_xport_params *p, struct nvmf_qpair **out,
		      char *err, size_t errlen)
{
	uint64_t deadline = nvmf_now_ns() + (uint64_t)p->timeout_ms * 1000000ull;
	struct tcp_qpair *tq;
	int rc;

	tq = calloc(1, sizeof(*tq));
	if (!tq)
		return -ENOMEM;
	tq->fd = -1;
	tq->txq_tail = &tq->txq_head;
	tq->pipe_fd[0] = tq->pipe_fd[1] = -1;
	tq->page = (size_t)sysconf(_SC_PAGESIZE);
	{
		const char *send = getenv("NVMFUSE_TCP_SEND");
		const char *spl = getenv("NVMFUSE_TCP_SPLICE");

		tq->no_splice = p->tls || p->qid == 0 || tq->page > 4096 ||
				(spl && !strcmp(spl, "0"));
		if (spl && strcmp(spl, "0") && strcmp(spl, "1") && p->qid == 1)
			nvmf_warn("NVMFUSE_TCP_SPLICE=%s: expected 0 or 1; using 1", spl);

		tq->no_ring_tx = send && !strcmp(send, "sendmsg");
		if (send && strcmp(send, "sendmsg") && strcmp(send, "ring") && p->qid == 1)
			nvmf_warn("NVMFUSE_TCP_SEND=%s: expected ring or sendmsg; using ring", send);
	}
	snprintf(tq->peer, sizeof(tq->peer), strchr(p->traddr, ':') ? "[%s]:%s" : "%s:%s",
		 p->traddr, p->trsvcid);
	rc = nvmf_qpair_init(&tq->qp, &tcp_ops, p->qid, p->depth);
	if (rc < 0)
		goto fail;
	rc = -ENOMEM;
	tq->rbuf = malloc(TCP_RBUF_SIZE);
	tq->treqs = calloc(p->depth, sizeof(*tq->treqs));
	if (!tq->rbuf || !tq->treqs)
		goto fail;
	tq->qp.icd_max = p->qid == 0 ? TCP_ADMIN_ICD : p->icd_max;
	if (p->timeout_ms > 0)
		tq->qp.cmd_timeout_ms = (uint32_t)p->timeout_ms;

	rc = sock_connect(tq, p, deadline, err, errlen);
	if (rc < 0)
		goto fail;
	if (p->tls) {
		rc = tls_connect(tq, p, deadline, err, errlen);
		if (rc < 0)
			goto fail;
	}
	rc = ic_exchange(tq, p, deadline, err, errlen);
	if (rc < 0)
		goto fail;
	nvmf_debug("queue %u connected to %s (hdgst %d ddgst %d cpda %u maxh2cdata %u)",
		   p->qid, tq->peer, tq->cfg.hdgst, tq->cfg.ddgst, tq->cfg.txpda, tq->maxh2cdata);
	*out = &tq->qp;
	return 0;
fail:
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	tcp_destroy(&tq->qp);
	return rc;
}

static const struct nvmf_transport_ops tcp_ops = {
	.name = "tcp",
	.qpair_create = tcp_create,
	.qpair_destroy = tcp_destroy,
	.submit = tcp_submit,
	.process = tcp_process,
	.pollfd = tcp_pollfd,
	.rx_buf = tcp_rx_buf,
	.rx_done = tcp_rx_done,
	.tx_prep = tcp_tx_prep,
	.tx_done = tcp_tx_done,
	.detach_buffers = tcp_detach_buffers,
};

const struct nvmf_transport_ops *nvmf_tcp_transport(void)
{
	return &tcp_ops;
}
