/* SPDX-License-Identifier: MIT */
/*
 * nvmfuse host engine: the public API that frontends (CLI, CUSE, ublk,
 * perf) and the daemon use. It stands on the ground layer's queue pair
 * (base/qpair.h: struct nvmf_qpair, struct nvmf_request, the transport
 * ops) and adds:
 *
 *   struct nvmf_ctrl      one association with a controller: admin queue,
 *                         I/O queues, identify data, namespaces, keep-alive
 *   Fabrics commands      Connect, Property Get/Set on one queue pair
 *
 * Threading: a queue pair is owned by exactly one thread at a time (its
 * event loop; see base/qpair.h). The controller's admin queue is owned by
 * the thread that calls nvmf_ctrl_connect() and nvmf_ctrl_service(), and
 * by the admin worker once nvmf_ctrl_start() ran.
 *
 * Errors: functions return 0 or a negative errno. NVMe completion status
 * travels separately in struct nvmf_request (see base/nvmf_spec.h for the
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

#include "base/nvmf_spec.h"
#include "base/qpair.h"

struct nvmf_worker;

/* A function to run on a worker later (host/worker.h). */
struct nvmf_worker_task {
	struct nvmf_worker_task *next;	/* worker private */
	bool queued;			/* worker private, under its lock */
	void (*fn)(void *arg);
	void *arg;
};

struct nvmf_dhchap_key;

/* What a DH-HMAC-CHAP transaction settled on (host/auth.h ids). */
struct nvmf_auth_info {
	bool done;		/* the controller asked, and it succeeded */
	uint8_t hash;
	uint8_t dhgroup;
	bool bidirectional;
};

/* Fabrics commands on one queue pair (fabrics.c), synchronous. */
struct nvmf_connect_args {
	const char *subnqn;
	const char *hostnqn;
	const uint8_t *hostid;	/* 16 bytes */
	uint16_t cntlid;	/* 0xffff on the admin queue */
	uint32_t kato_ms;	/* admin queue only */
	bool disable_sqflow;	/* CATTR DISSQFC: lets the controller skip
				   CapsuleResp after C2HData with SUCCESS */
	/*
	 * DH-HMAC-CHAP secrets (NULL: none), used when the Connect response's
	 * AUTHREQ asks; @auth_info (optional) gets the outcome.
	 */
	const struct nvmf_dhchap_key *dhchap_key;
	const struct nvmf_dhchap_key *dhchap_ctrl_key;	/* bidirectional */
	struct nvmf_auth_info *auth_info;
};
/*
 * Connect, then authenticate when the controller asks (AUTHREQ ATR).
 * Returns 0, or -errno with one line in @err: -EKEYREJECTED when
 * authentication failed or cannot be done (no secret, concatenation
 * required), which retrying with the same secrets will not change.
 */
int nvmf_fabrics_connect(struct nvmf_qpair *qp, const struct nvmf_connect_args *a,
			 uint16_t *cntlid, char *err, size_t errlen);
/*
 * One DH-HMAC-CHAP transaction on @qp (Base 8.13.5): Negotiate, Challenge,
 * Reply, Success1, and Success2 when @ctrl_key asks the controller to
 * prove itself (its R2 compared in constant time; Failure2 on mismatch).
 * Returns 0 (@info filled if not NULL), -EKEYREJECTED with "failed at
 * STEP: reason" in @err, or the queue pair's -errno when the connection
 * failed meanwhile. Every secret and intermediate value is wiped before it
 * returns. Owner thread of @qp, before the queue is used for anything else.
 */
struct nvmf_auth_args {
	const char *hostnqn;
	const char *subnqn;
	const struct nvmf_dhchap_key *key;	/* the host's secret */
	const struct nvmf_dhchap_key *ctrl_key;	/* NULL: unidirectional */
	uint16_t tid;				/* transaction ID */
};
int nvmf_fabrics_auth(struct nvmf_qpair *qp, const struct nvmf_auth_args *a,
		      struct nvmf_auth_info *info, char *err, size_t errlen);
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
	/*
	 * -W: more I/O queues, as many as the kernel host would connect. Its
	 * block layer sends writes to them; here every I/O queue carries
	 * reads and writes alike, because a ublk queue's requests stay on
	 * their own NVMe queue's thread (no thread hop per request), so
	 * these are more queues, not write-only ones.
	 */
	int nr_write_queues;
	int nr_poll_queues;	/* -P: more I/O queues, served by busy-polling threads */
	int queue_size;		/* -Q, I/O queue entries */
	int kato_s;		/* -k; 0 disables keep-alive */
	bool hdgst;		/* -g */
	bool ddgst;		/* -G */
	bool disable_sqflow;	/* --disable-sqflow: Connect CATTR bit 2 */
	/*
	 * TLS 1.3 with a PSK (NVMe/TCP only; host/tls_key.h). The PSK is
	 * resolved at every (re)connect: derived from @tls_key (an
	 * NVMeTLSkey-1 string, a secret) when set, else looked up in
	 * @keyring by @tls_key_identity or, without it, by the identities
	 * the kernel host tries.
	 */
	bool tls;		/* --tls (implied by the others) */
	const char *tls_key;	/* --tls-key, config.json "tls_key" */
	const char *keyring;	/* --keyring; NULL: ".nvme" */
	const char *tls_key_identity;	/* --tls-key-identity */
	bool tls_compat;	/* --tls-compat: derive @tls_key as libnvme < 1.16 */
	/*
	 * DH-HMAC-CHAP secrets in the DHHC-1 format (-S/--dhchap-secret,
	 * -C/--dhchap-ctrl-secret), NULL or "" for none. The controller keeps
	 * a copy for reconnects and wipes it when freed.
	 */
	const char *dhchap_secret;
	const char *dhchap_ctrl_secret;
	int timeout_ms;		/* per step of association setup */
	/*
	 * A discovery controller whatever @subnqn is (nvme-cli's discover -n:
	 * a unique discovery NQN, TP 8013); the well-known NQN is one anyway.
	 */
	bool discovery;
	/* -w, -f, -T: the host side of every queue's connection (base/qpair.h) */
	const char *host_traddr;	/* NULL or "": any source address */
	const char *host_iface;		/* NULL or "": any interface (TCP only) */
	int tos;		/* -1: the system's; zeroed opts give 0, the same byte */
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
struct nvmf_ana_ctx;

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
	char *strings;			/* backing storage for opts strings (wiped on free) */
	size_t strings_len;
	struct nvmf_tls_psk *tls_psk;	/* resolved at connect when opts.tls; wiped on free */
	const struct nvmf_transport_ops *ops;
	enum nvmf_ctrl_state state;	/* see above; atomic */
	uint32_t gen;			/* association generation, admin worker */
	/*
	 * Atomic: nvmf_ctrl_reconnect_adopt() is between the admin queue
	 * swap (LIVE from there) and its last I/O queue swap, so the I/O
	 * workers may still hold the old association's failed queue pairs:
	 * no path for new I/O yet (host/mpath.h). The adopting thread writes it.
	 */
	bool ioq_adopting;
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
	int nr_poll_ioq;	/* the last ones of ioq[] are poll queues (-P) */
	/* DH-HMAC-CHAP: parsed secrets (NULL: none), wiped when freed. */
	struct nvmf_dhchap_key *dhchap_key;
	struct nvmf_dhchap_key *dhchap_ctrl_key;
	struct nvmf_auth_info auth;	/* the admin queue's last transaction */
	uint64_t auths;			/* queues authenticated, every association (stats) */
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
	struct nvmf_ana_ctx *ana;	/* host/ana.h: ANA groups and states (non-discovery) */
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
#define NVMF_CTRL_EV_DISC_CHANGED 0x4u	/* discovery log page change notice (AEN 0xf0) */
#define NVMF_CTRL_EV_ANA_CHANGED 0x8u	/* a namespace's ANA state moved (host/ana.h) */

/*
 * Establish the association: admin queue, Connect, enable, Identify,
 * I/O queues, keep-alive, AER (non-discovery), namespace scan. A discovery
 * controller with opts->kato_s > 0 is a persistent one: keep-alive, and the
 * Discovery Log Page Change AEN armed when it has it (NVMF_CTRL_EV_DISC_CHANGED).
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
/* Fill @req (zeroed first) as that Get Log Page, for asynchronous use; len % 4 == 0. */
void nvmf_log_page_req(struct nvmf_request *req, uint8_t lid, uint8_t lsp, uint32_t nsid,
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
/* A copy of active namespace @nsid: 0, or -ENOENT. Thread: any. */
int nvmf_ctrl_ns_find(struct nvmf_ctrl *c, uint32_t nsid, struct nvmf_ns *out);

/*
 * NVMe status in words (libnvme's table), for messages: of an admin or
 * I/O command, and of a Fabrics command (Connect, Property Get/Set,
 * Authentication), whose command specific codes mean other things (183h
 * is Connect Restart Discovery there, Command Size Limit Exceeded here).
 */
const char *nvmf_status_str(uint16_t status);
const char *nvmf_fabrics_status_str(uint16_t status);
/* Describe a Connect failure: status plus the invalid parameter if any. */
void nvmf_connect_error_str(uint16_t status, uint32_t dw0, char *buf, size_t len);

/* UUID text (36 characters) to 16 bytes; 0 or -EINVAL. The host identity: host/hostid.h. */
int nvmf_uuid_parse(const char *s, uint8_t out[16]);

#endif
