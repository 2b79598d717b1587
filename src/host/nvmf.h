/* SPDX-License-Identifier: MIT */
/*
 * nvmfuse host engine: the public API that frontends (CLI, CUSE, ublk,
 * perf) use. Three layers:
 *
 *   struct nvmf_ctrl      one association with a controller: admin queue,
 *                         I/O queues, identify data, namespaces, keep-alive
 *   struct nvmf_qpair     one queue pair over one transport connection;
 *                         transports embed it as their first member
 *   struct nvmf_request   one NVMe command and its completion
 *
 * Threading: a queue pair is owned by exactly one thread at a time (its
 * event loop). Every nvmf_qpair_* call and every request callback runs on
 * that thread; there are no locks on this path. Ownership moves only
 * before a thread starts using it (e.g. handing I/O queues to workers at
 * start-up), which pthread_create orders. The controller's admin queue is
 * owned by the thread that calls nvmf_ctrl_connect() and nvmf_ctrl_service().
 *
 * Errors: functions return 0 or a negative errno. NVMe completion status
 * travels separately in struct nvmf_request (see nvmf_spec.h for the
 * convention). Human-readable causes go to the controller's first-error
 * message (nvmf_ctrl_error()).
 */
#ifndef NVMF_H
#define NVMF_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nvme/types.h>

#include "host/nvmf_spec.h"

struct nvmf_qpair;
struct nvmf_request;
struct nvmf_worker;

/* A function to run on a worker later (host/worker.h). */
struct nvmf_worker_task {
	struct nvmf_worker_task *next;	/* worker private */
	bool queued;			/* worker private, under its lock */
	void (*fn)(void *arg);
	void *arg;
};

enum nvmf_dir {
	NVMF_DIR_NONE = 0,
	NVMF_DIR_H2C,	/* host to controller: writes, Connect data */
	NVMF_DIR_C2H,	/* controller to host: reads, Identify, logs */
};

typedef void (*nvmf_req_cb)(struct nvmf_request *req);

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
};

const struct nvmf_transport_ops *nvmf_transport_find(const char *name, char *err,
						     size_t errlen);

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

/* For transports. */
struct nvmf_request *nvmf_qpair_lookup(struct nvmf_qpair *qp, uint16_t cid);
void nvmf_qpair_complete(struct nvmf_qpair *qp, struct nvmf_request *req);
/* Mark the queue pair failed with @err and a message; fail every request. */
void nvmf_qpair_fail(struct nvmf_qpair *qp, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Fabrics commands on one queue pair (fabrics.c), synchronous. */
struct nvmf_connect_args {
	const char *subnqn;
	const char *hostnqn;
	const uint8_t *hostid;	/* 16 bytes */
	uint16_t cntlid;	/* 0xffff on the admin queue */
	uint32_t kato_ms;	/* admin queue only */
	bool disable_sqflow;	/* CATTR DISSQFC: lets the controller skip
				   CapsuleResp after C2HData with SUCCESS */
};
int nvmf_fabrics_connect(struct nvmf_qpair *qp, const struct nvmf_connect_args *a,
			 uint16_t *cntlid, char *err, size_t errlen);
int nvmf_prop_get(struct nvmf_qpair *qp, uint32_t ofst, bool eight, uint64_t *val);
int nvmf_prop_set(struct nvmf_qpair *qp, uint32_t ofst, uint32_t val);

/* Options a controller is created with (nvme-cli's names in comments). */
struct nvmf_ctrl_opts {
	const char *transport;	/* -t */
	const char *traddr;	/* -a */
	const char *trsvcid;	/* -s */
	const char *subnqn;	/* -n */
	const char *hostnqn;	/* -q */
	const char *hostid;	/* -I, UUID text */
	int nr_io_queues;	/* -i; 0 for none */
	int queue_size;		/* -Q, I/O queue entries */
	int kato_s;		/* -k; 0 disables keep-alive */
	bool hdgst;		/* -g */
	bool ddgst;		/* -G */
	bool disable_sqflow;	/* --disable-sqflow: Connect CATTR bit 2 */
	int timeout_ms;		/* per step of association setup */
	/*
	 * > 0: an fd (eventfd, signalfd) that, once readable, makes a
	 * connect in progress give up with -ECANCELED at its next wait. Only
	 * used while connecting; ignored afterwards.
	 */
	int cancel_fd;
};

enum nvmf_ctrl_state {
	NVMF_CTRL_NEW = 0,
	NVMF_CTRL_CONNECTING,
	NVMF_CTRL_LIVE,
	NVMF_CTRL_FAILED,
	NVMF_CTRL_DELETING,
};
const char *nvmf_ctrl_state_str(enum nvmf_ctrl_state s);

struct nvmf_ns {
	uint32_t nsid;
	uint64_t nsze;		/* blocks */
	uint32_t lba_size;
	uint16_t ms;		/* metadata bytes per block */
	/* Namespace Identification Descriptors (Identify CNS 3), 0 when absent */
	uint8_t eui64[8];
	uint8_t nguid[16];
	uint8_t uuid[16];
	uint8_t csi;
	/*
	 * Which incarnation of the namespace this is: the controller gives
	 * each namespace a new instance number when it first appears or when
	 * its identity or geometry changed (nvmf_ns_same()). Frontends keep
	 * it and check it with nvmf_ctrl_ns_current() before sending I/O.
	 */
	uint64_t instance;
	struct nvme_id_ns id;
};

struct nvmf_scan;

/*
 * A frontend's hold on one namespace incarnation (a ublk disk, a namespace
 * node): filled from struct nvmf_ns when the frontend is created, checked
 * with nvmf_ns_ref_valid(). Once invalid, it stays invalid.
 */
struct nvmf_ns_ref {
	uint32_t nsid;
	uint64_t instance;
	unsigned int epoch;	/* atomic: the ns_epoch it was last found valid at */
	bool gone;		/* atomic: sticky */
};

/*
 * Controller state ownership: before nvmf_ctrl_start() the owner thread
 * changes @state; afterwards only the admin worker does (failure reports
 * from I/O workers are handed to it as tasks), and other threads read it
 * with nvmf_ctrl_get_state(). @gen counts associations: each reconnect
 * adopts a new one, and a failure report from a queue pair of an older
 * association (qp->gen) is stale and ignored.
 */
struct nvmf_ctrl {
	struct nvmf_ctrl_opts opts;	/* strings owned (copied) */
	char *strings;			/* backing storage for opts strings */
	const struct nvmf_transport_ops *ops;
	enum nvmf_ctrl_state state;	/* see above; atomic */
	uint32_t gen;			/* association generation, admin worker */
	bool discovery;
	uint8_t hostid[16];
	uint16_t cntlid;
	uint64_t cap;
	uint32_t vs;
	uint32_t max_xfer;		/* bytes per command (MDTS), 0 = no limit */
	uint32_t io_icd_max;		/* I/O queue in-capsule data limit */
	uint16_t io_depth;		/* commands per I/O queue */
	uint32_t nn;			/* Identify NN: highest namespace ID */
	struct nvme_id_ctrl id;
	/*
	 * Commands Supported and Effects (LID 0x05) with the kernel's known
	 * fix-ups, read once at the first connect (nvmf_ctrl_read_effects) and
	 * then only read: the CUSE nodes judge callers by it.
	 */
	struct nvme_cmd_effects_log effects;
	struct nvmf_qpair *adminq;
	struct nvmf_qpair **ioq;
	int nr_ioq;
	struct nvmf_ns *ns;
	int nr_ns;
	/* keep-alive and AER, on the admin queue */
	uint64_t ka_due_ns;
	uint32_t ka_period_ms;
	bool ka_inflight;
	struct nvmf_request ka_req;
	struct nvmf_request aer_req;
	bool aer_inflight;
	struct nvmf_request chlog_req;	/* Changed Namespace List read */
	bool chlog_inflight;
	uint8_t chlog[4096];
	uint32_t aer_events;		/* namespace-change notices seen */
	bool ns_changed;		/* a rescan is due */
	bool aer_pending_rearm;
	struct nvmf_scan *scan;		/* namespace scan in progress (admin queue owner) */
	bool rescan_again;		/* another scan was asked for meanwhile */
	uint64_t ns_instance_seq;	/* last nvmf_ns.instance handed out */
	uint64_t rescans;		/* namespace lists installed (stats) */
	unsigned int ns_epoch;		/* atomic: bumped when a namespace instance ends */
	int err;
	char errmsg[256];		/* first error wins */
	/* A failure reported by an I/O worker, for the admin worker (under ns_lock). */
	struct nvmf_worker_task fail_task;
	bool fail_pending;
	uint32_t fail_gen;
	int fail_err;
	char fail_msg[256];
	/* One task per I/O worker: fail its queue pair when the controller failed. */
	struct nvmf_ioq_fail *ioq_fail;
	/* Running with worker threads (nvmf_ctrl_start), else NULL / -1. */
	struct nvmf_worker *admin_worker;
	struct nvmf_worker **io_workers;
	int timer_fd;
	int event_fd;			/* readable when events is non-zero */
	unsigned int events;		/* NVMF_CTRL_EV_*, atomic */
	pthread_mutex_t ns_lock;	/* guards ns/nr_ns, errmsg, fail_* across threads */
};

struct nvmf_ioq_fail;

#define NVMF_CTRL_EV_FAILED	0x1u	/* the controller failed: see nvmf_ctrl_error() */
#define NVMF_CTRL_EV_NS_CHANGED	0x2u	/* the namespace list was rescanned */

/*
 * Establish the association: admin queue, Connect, enable, Identify,
 * I/O queues, keep-alive, AER (non-discovery), namespace scan.
 * Blocks (bounded by opts->timeout_ms per step). On success *out is a LIVE
 * controller owned by the caller's thread. On failure returns -errno and
 * a one-line cause in @err. Thread: any; controllers are independent (no
 * shared lock), so connects to different targets run in parallel.
 */
int nvmf_ctrl_connect(const struct nvmf_ctrl_opts *opts, struct nvmf_ctrl **out,
		      char *err, size_t errlen);

/*
 * nvmf_ctrl_connect() without the AER armed: for nvmf_ctrl_reconnect(),
 * whose new association is only a donor of queues. Its own AER would stay
 * outstanding on the adopted admin queue after the donor is freed (a
 * use-after-free ASan found); the adopting controller arms its own.
 */
int nvmf_ctrl_connect_unarmed(const struct nvmf_ctrl_opts *opts, struct nvmf_ctrl **out,
			      char *err, size_t errlen);

/*
 * Normal shutdown (CC.SHN) when live, then close every queue and free.
 * Consumes @c. Owner thread, with no I/O queue still in use elsewhere.
 */
void nvmf_ctrl_disconnect(struct nvmf_ctrl *c);

/*
 * Admin-queue housekeeping: process completions, send keep-alive when due,
 * re-arm AER. Does not wait for the network, except after a namespace
 * change notice, when it reads the changed-namespace log and rescans
 * (each command bounded by the command timeout). Returns 0 or -errno if
 * the controller failed (nvmf_ctrl_error() says why). Owner thread.
 */
int nvmf_ctrl_service(struct nvmf_ctrl *c);
/*
 * The owner of I/O queue @qp reports that it failed; the controller goes
 * to FAILED with the queue's error as the cause. Admin-queue owner thread.
 */
void nvmf_ctrl_ioq_failed(struct nvmf_ctrl *c, struct nvmf_qpair *qp);
/* Milliseconds until nvmf_ctrl_service() has timed work (-1: none). */
int nvmf_ctrl_next_timeout_ms(const struct nvmf_ctrl *c);

/* Run one admin command synchronously. Owner thread. */
int nvmf_ctrl_admin_exec(struct nvmf_ctrl *c, struct nvmf_request *req);

int nvmf_identify(struct nvmf_ctrl *c, uint8_t cns, uint32_t nsid, void *buf4k);
int nvmf_get_log_page(struct nvmf_ctrl *c, uint8_t lid, uint8_t lsp, uint32_t nsid,
		      uint64_t offset, void *buf, uint32_t len, bool rae);
/*
 * Effects log bits libnvme's <nvme/types.h> lacks or defines narrower (its
 * CSE mask is bits 17:16; the spec's CSE field is 18:16).
 */
#define NVMF_CMD_EFFECTS_CSER_MASK	(3u << 14)	/* CSE relaxations */
#define NVMF_CMD_EFFECTS_CSE_MASK	(7u << 16)	/* submission and execution */
#define NVMF_CMD_EFFECTS_SCOPE_MASK	(0xfffu << 20)	/* CSP: the command's scope */

/*
 * Read the Commands Supported and Effects log into c->effects when Identify
 * Controller's LPA bit 1 says there is one, then apply the fix-ups the
 * Linux host applies to every NVM controller (drivers/nvme/host/core.c,
 * nvme_init_known_nvm_effects): Format NVM and Sanitize change LBA
 * contents and need exclusive execution, Security Receive needs none,
 * Write, Write Zeroes and Write Uncorrectable change LBA contents. When the
 * log is absent or the controller refuses it, c->effects is the zeroed log
 * plus those fix-ups (every unlisted command then counts as unsupported,
 * so only callers with CAP_SYS_ADMIN may send it through a CUSE node).
 * Discovery controllers: nothing is read. Returns 0, or -errno when the
 * admin queue failed (the log is still zeroed plus fix-ups). Call after
 * Identify Controller. Owner thread, before nvmf_ctrl_start.
 */
int nvmf_ctrl_read_effects(struct nvmf_ctrl *c);
/* The fix-ups alone, applied to @log in place (see above). Thread: any. */
void nvmf_effects_apply_known(struct nvme_cmd_effects_log *log);
/*
 * Rescan the active namespaces and wait for the result (host/scan.c).
 * For the connect path: the owner thread, before nvmf_ctrl_start().
 * Returns 0 or -errno (a broken list: -EPROTO, cause in nvmf_ctrl_error()).
 */
int nvmf_ctrl_scan_ns(struct nvmf_ctrl *c);
/*
 * Start a rescan without waiting; asked again while one runs, it runs once
 * more afterwards. The new list is installed when it ends, and
 * NVMF_CTRL_EV_NS_CHANGED posted. Admin queue owner thread (the admin
 * worker once started: post it with nvmf_worker_call or a task).
 */
void nvmf_ctrl_rescan(struct nvmf_ctrl *c);
/* Reap a finished scan (nvmf_ctrl_service() does). Admin queue owner thread. */
int nvmf_ctrl_scan_poll(struct nvmf_ctrl *c);
/*
 * Is namespace @nsid still the incarnation @instance (struct nvmf_ns)?
 * @epoch is the caller's cache (start with 0): while no namespace changed
 * since the last true answer, this is one atomic load. Thread: any.
 */
bool nvmf_ctrl_ns_current(struct nvmf_ctrl *c, uint32_t nsid, uint64_t instance,
			  unsigned int *epoch);
/*
 * Take @donor's namespace list (a new association's scan) as @c's,
 * keeping the instance of every namespace nvmf_ns_same() finds unchanged.
 * Thread: the owner of @c, during a reconnect.
 */
void nvmf_ctrl_ns_adopt(struct nvmf_ctrl *c, struct nvmf_ctrl *donor);
/*
 * Is @r's namespace incarnation still the controller's? One atomic load
 * while no namespace changed. Thread: any.
 */
bool nvmf_ns_ref_valid(struct nvmf_ctrl *c, struct nvmf_ns_ref *r);
void nvmf_ns_ref_init(struct nvmf_ns_ref *r, const struct nvmf_ns *ns);
/* The state; thread: any. */
enum nvmf_ctrl_state nvmf_ctrl_get_state(const struct nvmf_ctrl *c);
/* The queue pairs' abort hook (struct nvmf_qpair.abort_hook); see ctrl.c. */
void nvmf_ctrl_send_abort(struct nvmf_qpair *qp, struct nvmf_request *req, void *arg);
/* For the engine (ctrl_run.c, scan.c), on the admin worker. */
void nvmf_ctrl_fail_gen(struct nvmf_ctrl *c, uint32_t gen, int err, const char *why);
void nvmf_ctrl_set_live(struct nvmf_ctrl *c);
bool nvmf_ctrl_service_due(const struct nvmf_ctrl *c);
bool nvmf_ctrl_scan_finished(const struct nvmf_ctrl *c);
void nvmf_ctrl_scan_free(struct nvmf_ctrl *c);
/*
 * For the engine: fail the I/O queues of the current association on their
 * workers (ctrl_run.c; nothing without workers). Admin worker.
 */
void nvmf_ctrl_fail_ioqs(struct nvmf_ctrl *c);

const char *nvmf_ctrl_error(const struct nvmf_ctrl *c);
void nvmf_ctrl_set_error(struct nvmf_ctrl *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Discovery: fetch the whole discovery log (GENCTR consistency loop).
 * *out is malloc'd (header + *numrec entries), the caller frees it.
 */
int nvmf_discovery_log(struct nvmf_ctrl *c, struct nvmf_discovery_log **out,
		       uint64_t *numrec);

/*
 * Serve a connected controller from worker threads (host/worker.h): one for
 * the admin queue, which also runs keep-alive and AER handling from a
 * timer, and one per I/O queue. From here on the queues belong to the
 * workers: other threads submit with nvmf_worker_post() on
 * c->admin_worker / c->io_workers[i], and read controller state on the
 * admin worker (nvmf_worker_call). Failure and namespace changes are
 * signalled on nvmf_ctrl_event_fd(). Thread: the owner, before and after.
 */
int nvmf_ctrl_start(struct nvmf_ctrl *c);
/*
 * Re-establish a failed association while the workers and frontends stay:
 * a new admin queue, Connect, enable, Identify and as many I/O queues as
 * before, transplanted into the running workers, which replay the requests
 * they held (see nvmf_worker_hold). Returns 0 (controller LIVE again) or
 * -errno with a one-line cause in @err; the caller retries later.
 * Thread: the owner (not a worker), with the workers running.
 */
int nvmf_ctrl_reconnect(struct nvmf_ctrl *c, char *err, size_t errlen);
/*
 * nvmf_ctrl_reconnect() in two halves, so that the slow one can run on its
 * own thread and be cancelled. prepare: connect a new association with
 * @c's options (blocking, bounded per step; @cancel_fd > 0 readable makes
 * it give up with -ECANCELED); *@out is the donor. Thread: any but @c's
 * workers; reads only @c's options and queue geometry. adopt: revalidate
 * the namespaces and transplant the donor's queues into the running
 * workers (consumes @donor; posts NVMF_CTRL_EV_NS_CHANGED). Thread: the
 * owner of @c.
 */
int nvmf_ctrl_reconnect_prepare(struct nvmf_ctrl *c, int cancel_fd, struct nvmf_ctrl **out,
				char *err, size_t errlen);
void nvmf_ctrl_reconnect_adopt(struct nvmf_ctrl *c, struct nvmf_ctrl *donor);

/* Stop and join the workers; the caller owns every queue again. */
void nvmf_ctrl_stop(struct nvmf_ctrl *c);
int nvmf_ctrl_event_fd(const struct nvmf_ctrl *c);
/* Raise NVMF_CTRL_EV_* bits and wake the event fd. Thread: any. */
void nvmf_ctrl_post_event(struct nvmf_ctrl *c, unsigned int ev);
/* Fetch and clear the pending NVMF_CTRL_EV_* bits. Thread: any. */
unsigned int nvmf_ctrl_take_events(struct nvmf_ctrl *c);
/* A malloc'd copy of the namespace list. Thread: any. */
int nvmf_ctrl_ns_snapshot(struct nvmf_ctrl *c, struct nvmf_ns **out, int *n);

/* NVMe status in words (libnvme's table), for messages. */
const char *nvmf_status_str(uint16_t status);
/* Describe a Connect failure: status plus the invalid parameter if any. */
void nvmf_connect_error_str(uint16_t status, uint32_t dw0, char *buf, size_t len);

/* UUID text (36 characters) to 16 bytes; 0 or -EINVAL. The host identity: host/hostid.h. */
int nvmf_uuid_parse(const char *s, uint8_t out[16]);

#endif
