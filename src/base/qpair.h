/* SPDX-License-Identifier: MIT */
/*
 * The queue pair: the abstraction every transport implements and the host
 * engine drives. Part of the ground layer (src/base/), below both the
 * transports (src/transport/) and the host (src/host/): it knows the spec's
 * wire types (base/nvmf_spec.h) and logging, and nothing above.
 *
 *   struct nvmf_transport_ops  what a transport provides (tcp.c, rdma.c)
 *   struct nvmf_qpair          one queue pair over one transport connection;
 *                              transports embed it as their first member
 *   struct nvmf_request        one NVMe command and its completion
 *
 * The transport-independent logic lives in base/qpair.c: command ids,
 * flow control (at most depth commands outstanding), timeouts, completion
 * and failure fan-out. Transports call nvmf_qpair_init/fini, _lookup,
 * _complete and _fail; the host calls _submit, _poll, _wait, _exec and
 * _destroy.
 *
 * Threading: a queue pair is owned by exactly one thread at a time (its
 * event loop). Every nvmf_qpair_* call, every transport op and every
 * request callback runs on that thread; there are no locks on this path.
 * Ownership moves only before a thread starts using it, which
 * pthread_create orders.
 *
 * Errors: functions return 0 or a negative errno. NVMe completion status
 * travels separately in struct nvmf_request (see nvmf_spec.h for the
 * convention); a queue pair's failure cause is in qp->errmsg.
 */
#ifndef NVMF_BASE_QPAIR_H
#define NVMF_BASE_QPAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "base/nvmf_spec.h"

struct nvmf_qpair;
struct nvmf_request;
/* The host's hold on a namespace incarnation (host/nvmf.h); opaque here. */
struct nvmf_ns_ref;

enum nvmf_dir {
	NVMF_DIR_NONE = 0,
	NVMF_DIR_H2C,	/* host to controller: writes, Connect data */
	NVMF_DIR_C2H,	/* controller to host: reads, Identify, logs */
};

typedef void (*nvmf_req_cb)(struct nvmf_request *req);

/*
 * A data buffer its owner keeps for many requests (a ublk tag's buffer):
 * @len bytes at page-aligned @base. A transport may register it with its
 * device once per queue pair (RDMA: a memory region in the queue pair's
 * protection domain) and let the controller move the data of every request
 * inside it directly, without a copy through the transport's own buffers.
 * @gen names this incarnation of its pages, unique in the process: the
 * owner takes a new one (nvmf_stable_buf_renew) before it gives the pages
 * back (MADV_DONTNEED) or frees them, and never while a request in it is
 * outstanding, so a registration of older pages is never used again (it
 * would pin pages the buffer no longer has, and move stale data). The one
 * other writer: a transport that gives the buffer of an outstanding
 * request new pages (TCP's detach_buffers) renews it then, on its owner
 * thread, while that request keeps every other queue pair off the buffer.
 * Owner: the frontend, which keeps it alive while requests point at it;
 * transports read it on their owner thread during such a request (the
 * mailbox that carried the request there orders the read after the
 * owner's last renew).
 */
struct nvmf_stable_buf {
	void *base;
	size_t len;
	uint64_t gen;
};

/* A new, process-wide unique generation for @b. Thread: @b's owner. */
void nvmf_stable_buf_renew(struct nvmf_stable_buf *b);

/*
 * A command and its completion. The submitter fills the first block and
 * owns the memory (request and data buffer) throughout; the engine keeps a
 * pointer from nvmf_qpair_submit() until it calls @cb, after which it never
 * touches the request again (so @cb may free or resubmit it).
 */
struct nvmf_request {
	/* Set by the submitter. cmd.cid and the SGL are filled by the engine. */
	struct nvmf_sqe cmd;
	void *data;
	uint32_t data_len;
	enum nvmf_dir dir;
	uint32_t timeout_ms;	/* 0: never times out (AER); then the queue pair fails */
	/*
	 * 0, or less than timeout_ms: after this long, ask the controller to
	 * abort the command (the queue pair's abort hook sends an Abort) and
	 * keep waiting for its completion until timeout_ms. A caller's own
	 * short timeout thus costs that caller only, never the queue pair.
	 */
	uint32_t abort_ms;
	nvmf_req_cb cb;
	void *cb_arg;

	/* Results, valid in @cb. */
	struct nvmf_cqe cqe;	/* as received (or synthesized for C2H SUCCESS) */
	uint16_t status;	/* NVMe status, shifted form; 0 = success */
	int xport_err;		/* 0, or -errno when the transport failed it */
	/*
	 * Bytes known intact, counted from offset 0: for C2H, data received
	 * with a good digest (or no digest) before the first bad or missing
	 * byte; for H2C, data the controller asked for and was sent. On
	 * success it equals data_len.
	 */
	uint32_t bytes_ok;

	/*
	 * Set by the submitter (optional): the namespace incarnation this
	 * command is meant for. A worker fails the command with Invalid
	 * Namespace + DNR instead of sending it once that namespace is gone
	 * or changed (host/worker.h, nvmf_ns_ref_valid()).
	 */
	struct nvmf_ns_ref *ns_ref;

	/*
	 * Set by the submitter (optional): the long-lived buffer @data lies
	 * in, which a transport may register once instead of copying each
	 * request's data (see struct nvmf_stable_buf). NULL: copy as always.
	 */
	struct nvmf_stable_buf *sbuf;

	/* Engine private. */
	uint16_t cid;
	uint16_t slot;
	uint64_t deadline_ns;
	uint64_t abort_ns;
	uint64_t seq;		/* submission order on its queue pair */
};

/* Completion helpers. */
static inline bool nvmf_req_ok(const struct nvmf_request *req)
{
	return req->xport_err == 0 && NVMF_STATUS_CODE(req->status) == 0;
}

enum nvmf_qpair_state {
	NVMF_QP_CONNECTING = 0,	/* transport up, Fabrics Connect not done */
	NVMF_QP_LIVE,
	NVMF_QP_FAILED,		/* fatal transport error; requests failed */
};

/*
 * A TLS 1.3 pre-shared key as the handshake uses it (NVMe/TCP 1.1, 3.6):
 * the TLS PSK (already derived from the retained PSK, or read as is from
 * the kernel keyring) and the PSK identity sent in the ClientHello. The
 * hash picks the only cipher suite offered: 1 = SHA-256 with
 * TLS_AES_128_GCM_SHA256, 2 = SHA-384 with TLS_AES_256_GCM_SHA384.
 * Owned by whoever fills it (host/tls_key.h); a secret: zero it with
 * explicit_bzero() before it goes out of scope.
 */
#define NVMF_TLS_IDENTITY_MAX	600	/* "NVMe1R02 " + 2 NQNs of 223 + digest */
#define NVMF_TLS_PSK_MAX	48
struct nvmf_tls_psk {
	uint8_t hash;
	uint8_t len;		/* 32 or 48 */
	uint8_t key[NVMF_TLS_PSK_MAX];
	char identity[NVMF_TLS_IDENTITY_MAX];
};

/*
 * Transport operations. Every op is called on the queue pair's owner
 * thread. A transport allocates its own struct embedding struct
 * nvmf_qpair first and initializes it with nvmf_qpair_init().
 */
struct nvmf_xport_params {
	const char *traddr;
	const char *trsvcid;
	uint16_t qid;
	uint16_t depth;		/* max outstanding commands (Connect SQSIZE) */
	uint32_t icd_max;	/* in-capsule data limit in bytes */
	bool hdgst;
	bool ddgst;
	int timeout_ms;		/* for the transport-level connection */
	int cancel_fd;		/* > 0: readable means give up (-ECANCELED) */
	/*
	 * NULL: plain TCP. Else TLS 1.3 with this PSK, handshaken right after
	 * the TCP connect and before ICReq (NVMe/TCP 1.1, 3.6.2); only the
	 * transport's create op reads it (tcp only: rdma refuses it).
	 */
	const struct nvmf_tls_psk *tls;
	/*
	 * 0: bind the PSK to its own hash and, for SHA-384, fall back to
	 * SHA-256 when refused (transport/tcp.c); 1 or 2: that hash only
	 * (what the admin queue of the association settled on).
	 */
	uint8_t tls_hash;
	/*
	 * Where the connection leaves this host (nvme-cli's -w, -f, -T), as
	 * the kernel host applies them: @host_traddr (NULL or "": any) is the
	 * numeric source address (TCP: bind() before connect(); RDMA: the
	 * source of rdma_resolve_addr()); @host_iface (NULL or "": any) the
	 * interface the socket is bound to (SO_BINDTODEVICE; TCP only, rdma
	 * refuses it); @tos (-1: the system's) the IPv4 TOS / IPv6 traffic
	 * class byte (TCP), or the RDMA CM type of service.
	 */
	const char *host_traddr;
	const char *host_iface;
	int tos;
};

struct nvmf_transport_ops {
	const char *name;
	/*
	 * Open the connection (TCP + ICReq/ICResp, or RDMA CM) and return a
	 * queue pair in state CONNECTING. Blocks up to p->timeout_ms.
	 * On error returns -errno and writes a one-line cause to @err.
	 */
	int (*qpair_create)(const struct nvmf_xport_params *p, struct nvmf_qpair **out,
			    char *err, size_t errlen);
	/* Close and free. Outstanding requests are failed first. */
	void (*qpair_destroy)(struct nvmf_qpair *qp);
	/* Queue @req (slot and cid assigned) for transmission. Never blocks. */
	int (*submit)(struct nvmf_qpair *qp, struct nvmf_request *req);
	/*
	 * Make progress without blocking: send what the socket takes,
	 * receive and complete what has arrived. Returns the number of
	 * requests completed, or -errno once the queue pair has failed.
	 */
	int (*process)(struct nvmf_qpair *qp);
	/* The fd to poll and the events the transport waits for now. */
	int (*pollfd)(struct nvmf_qpair *qp, short *events);
	/*
	 * Optional: receive by completion (an io_uring IORING_OP_RECV the
	 * event loop keeps armed on pollfd's fd) instead of by readiness.
	 * rx_buf says where the next bytes go: a buffer the transport owns
	 * until it is destroyed, which nothing else writes while the receive
	 * is armed (the transport makes no receive system call of its own
	 * from the first rx_buf on). It returns -EOPNOTSUPP when this queue
	 * pair cannot (TLS holds bytes of its own). rx_done feeds what that
	 * receive returned (bytes, 0 for end of stream, or -errno) to the
	 * receive path, completing what arrived; it returns completions, or
	 * -errno once the queue pair has failed. Owner thread, as the rest.
	 */
	int (*rx_buf)(struct nvmf_qpair *qp, void **buf, size_t *len);
	int (*rx_done)(struct nvmf_qpair *qp, int res);
	/*
	 * Optional: send by completion (an io_uring IORING_OP_SENDMSG the
	 * event loop submits with the enter that waits) instead of a send
	 * system call per flush. Only while qp->tx_by_loop is set, and one
	 * send at a time: tx_prep hands out what to send next, in order, as
	 * iovecs the transport keeps unchanged until tx_done (*cnt 0:
	 * nothing queued; *more: after this send the transport will want to
	 * send again without having received anything, e.g. the next
	 * H2CData of an R2T). It returns -EOPNOTSUPP when this queue pair
	 * cannot (TLS records are built in user space). tx_done gets the
	 * send's result (bytes, which may be fewer than handed out, or
	 * -errno): the transport retires what went out and continues a
	 * short send where it stopped; on a failed queue pair it only
	 * forgets the send. Returns completions, or -errno once the queue
	 * pair has failed. Owner thread, as the rest.
	 */
	int (*tx_prep)(struct nvmf_qpair *qp, struct iovec **iov, int *cnt, bool *more);
	int (*tx_done)(struct nvmf_qpair *qp, int res);
	/*
	 * Optional: nvmf_qpair_fail() calls it before it hands the
	 * outstanding commands back, once their buffers' pages may still be
	 * read by the kernel after that (TCP sends large write data by
	 * reference): the transport makes sure that what the owner does with
	 * a buffer next cannot change what goes, or went, out for the failed
	 * command. Owner thread.
	 */
	void (*detach_buffers)(struct nvmf_qpair *qp);
	/*
	 * Optional: drop this queue pair's registration of @b, if it has
	 * one, now (its owner is about to renew it and give the pages back;
	 * no request in it is outstanding). Without it, a stale registration
	 * is dropped when @b's base is next used, or with the queue pair.
	 * Owner thread.
	 */
	void (*forget_buf)(struct nvmf_qpair *qp, const struct nvmf_stable_buf *b);
};

/*
 * Per queue-pair counters (owner thread writes, others may read racily).
 * A worker carries them over to the new queue pair on a reconnect.
 */
struct nvmf_qpair_stats {
	uint64_t submitted;
	uint64_t completed;
	uint64_t errors;	/* completions with a non-zero status */
	uint64_t timeouts;
	uint64_t ddgst_errors;
	uint64_t c2h_success;	/* reads completed by C2HData SUCCESS, no CapsuleResp */
	uint64_t inv_remote;	/* RDMA: windows shut by the controller's Send with Invalidate */
	uint64_t inv_local;	/* RDMA: windows the host had to shut (Local Invalidate) */
	uint64_t tx_by_ref;	/* TCP: write data bytes sent by reference (splice) */
	uint64_t data_in_place;	/* RDMA: data bytes the controller moved in a registered stable buffer */
	uint64_t aborts;	/* Abort commands sent for commands past their abort_ms */
};

struct nvmf_qpair {
	const struct nvmf_transport_ops *ops;
	enum nvmf_qpair_state state;
	uint16_t qid;
	uint16_t depth;
	uint32_t outstanding;
	uint32_t timed;		/* outstanding commands with a deadline */
	uint32_t icd_max;
	uint32_t cmd_timeout_ms;	/* for the engine's own commands (Connect, properties) */
	/* Command-id table: cid = slot | generation << slot_bits. */
	struct nvmf_request **slots;
	uint16_t *slot_gen;
	uint16_t *free_slots;
	uint16_t nfree;
	uint8_t slot_bits;
	uint64_t next_timeout_scan_ns;
	uint64_t submit_seq;	/* last nvmf_request.seq handed out */
	uint32_t gen;		/* the association it belongs to (nvmf_ctrl.gen) */
	/*
	 * Set by an event loop around nvmf_qpair_poll() when it knows the fd
	 * is not readable (epoll did not report it): a transport may skip
	 * its receive system call. False means "may be readable".
	 */
	bool rx_idle;
	/*
	 * Set by an event loop that sends for the transport (ops->tx_prep,
	 * tx_done): the transport then makes no send system call of its own
	 * and does not ask to poll for POLLOUT. The loop clears it before it
	 * hands the queue pair back.
	 */
	bool tx_by_loop;
	/*
	 * Set with tx_by_loop: nvmf_qpair_fail() calls it before it fails
	 * the commands, so the loop takes its send off the ring and waits
	 * for it: no command's buffer goes back to its owner (who may free
	 * it, or send it again elsewhere) while the kernel may still read it.
	 */
	void (*tx_quiesce)(struct nvmf_qpair *qp, void *arg);
	void *tx_quiesce_arg;
	/* TLS: the hash the handshake bound the PSK to (1, 2); 0 without TLS. */
	uint8_t tls_hash;
	int cancel_fd;		/* > 0: nvmf_qpair_exec() gives up when readable */
	/* Called on the owner thread for a command past its abort_ms (see ctrl). */
	void (*abort_hook)(struct nvmf_qpair *qp, struct nvmf_request *req, void *arg);
	void *abort_arg;
	int err;		/* why it failed */
	char errmsg[256];
	struct nvmf_qpair_stats stats;
};

/* Monotonic clock in nanoseconds. */
uint64_t nvmf_now_ns(void);

/*
 * For transports: set up the command-id table for @depth commands.
 * Returns 0 or -ENOMEM. nvmf_qpair_fini() frees it.
 */
int nvmf_qpair_init(struct nvmf_qpair *qp, const struct nvmf_transport_ops *ops,
		    uint16_t qid, uint16_t depth);
void nvmf_qpair_fini(struct nvmf_qpair *qp);

/*
 * Submit @req. Returns 0 (the callback will run later, from
 * nvmf_qpair_poll()/process on this thread), -EBUSY when @depth commands are
 * already outstanding, -ENOTCONN when the queue pair has failed.
 */
int nvmf_qpair_submit(struct nvmf_qpair *qp, struct nvmf_request *req);

/*
 * Wait up to @timeout_ms (-1 forever, 0 not at all) for the socket, then
 * make progress and expire overdue commands. Returns completions or -errno
 * when the queue pair failed.
 */
int nvmf_qpair_poll(struct nvmf_qpair *qp, int timeout_ms);

/*
 * Wait up to @timeout_ms for the socket or for qp->cancel_fd, then make
 * progress as nvmf_qpair_poll(). A poll() error or a readable cancel fd
 * fails the queue pair (so every outstanding request completes) and
 * returns -errno / -ECANCELED. Owner thread.
 */
int nvmf_qpair_wait(struct nvmf_qpair *qp, int timeout_ms);

/*
 * Submit @req and poll until it completes. The request's own cb is
 * replaced. Returns 0 when it completed (look at req->status), or -errno
 * when it could not be submitted or the queue pair failed.
 */
int nvmf_qpair_exec(struct nvmf_qpair *qp, struct nvmf_request *req);

void nvmf_qpair_destroy(struct nvmf_qpair *qp);

/*
 * @qp's transport forgets its registration of @b (ops->forget_buf), if it
 * has one; @qp may be NULL. Owner thread of @qp.
 */
void nvmf_qpair_forget_buf(struct nvmf_qpair *qp, const struct nvmf_stable_buf *b);

/* For transports. */
struct nvmf_request *nvmf_qpair_lookup(struct nvmf_qpair *qp, uint16_t cid);
void nvmf_qpair_complete(struct nvmf_qpair *qp, struct nvmf_request *req);
/* Mark the queue pair failed with @err and a message; fail every request. */
void nvmf_qpair_fail(struct nvmf_qpair *qp, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
