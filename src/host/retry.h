/* SPDX-License-Identifier: MIT */
/*
 * Retry policy for a finished command (pure logic, no I/O): given how a
 * request ended and how often it was tried, decide whether to complete
 * it, retry it whole, hand back the intact part, or fail it.
 *
 * Rules (NVMe Base 2.0 section 4.6.1.2 "Do Not Retry", 5.15.1.4 Command
 * Retry Delay; the Linux host's nvme_decide_disposition as a model):
 *   - success completes;
 *   - DNR set fails at once: the controller says a retry cannot succeed;
 *   - otherwise retry, at most @budget more times, after the delay the
 *     status's CRD field selects (CRDT1..3 from Identify, units of 100 ms);
 *   - a read that failed after some data arrived intact (a data digest
 *     error in a later PDU, or a data transfer error) is a partial
 *     completion: the caller may keep the first whole blocks and retry
 *     only the rest, so the same bytes are never fetched twice;
 *   - a transport failure (the queue pair died) is retried by the caller
 *     once the association is back, never on the dead queue;
 *   - an ANA path status (8.1.3): Asymmetric Access Inaccessible (302h)
 *     or Transition (303h) means the command was not executed and the
 *     namespace's ANA group may come back on this path: the request waits
 *     until the ANA log says the group is optimized or non-optimized
 *     again, then goes again whole, bounded by the ANA Transition Time
 *     (nvmf_retry_ana_wait), without using the retry budget. Persistent
 *     Loss (301h) will not come back on this path: it fails.
 * Writes are only retried whole, and only after the previous attempt has
 * completed (the engine calls back once nothing of it is in flight).
 *
 * Thread context: any; pure function.
 */
#ifndef NVMF_RETRY_H
#define NVMF_RETRY_H

#include <stdbool.h>
#include <stdint.h>

#include "host/ana.h"
#include "host/nvmf.h"

enum nvmf_retry_action {
	NVMF_RETRY_COMPLETE = 0,	/* success: complete the request */
	NVMF_RETRY_AGAIN,		/* resubmit the whole command after delay_ms */
	NVMF_RETRY_PARTIAL,		/* keep done_bytes, retry the rest after delay_ms */
	NVMF_RETRY_RECONNECT,		/* transport gone: retry after the association is back */
	NVMF_RETRY_FAIL,		/* give up: report the error */
	NVMF_RETRY_ANA_WAIT,		/* ANA group not accessible: nvmf_retry_ana_wait() */
};

struct nvmf_retry_decision {
	enum nvmf_retry_action action;
	uint32_t delay_ms;
	uint32_t done_bytes;		/* PARTIAL: intact prefix, whole blocks */
	const char *why;		/* short reason, for logs */
};

/* Default retries after the first attempt (the Linux host's nvme_max_retries). */
#define NVMF_RETRY_BUDGET 5

/*
 * @req: the finished request (status, xport_err, bytes_ok, dir, data_len).
 * @attempts: how many times it has been sent so far (1 after the first).
 * @budget: retries allowed after the first attempt.
 * @crdt: Identify Controller CRDT1..3 (100 ms units), or NULL.
 * @block: logical block size, to round partial completions down.
 */
struct nvmf_retry_decision nvmf_retry_decide(const struct nvmf_request *req, unsigned int attempts,
					     unsigned int budget, const uint16_t crdt[3],
					     uint32_t block);

/*
 * For frontends: nvmf_retry_decide() with the default budget and the
 * Command Retry Delays of the controller's Identify data @id (read only
 * when @req failed). Thread: any; @id must stay valid during the call.
 */
struct nvmf_retry_decision nvmf_retry_decide_ctrl(const struct nvmf_request *req,
						  unsigned int attempts,
						  const struct nvme_id_ctrl *id, uint32_t block);

const char *nvmf_retry_action_str(enum nvmf_retry_action a);

/* After NVMF_RETRY_ANA_WAIT: resubmit, look again later, or give up. */
enum nvmf_ana_wait_action {
	NVMF_ANA_WAIT_RESUBMIT = 0,	/* the group is usable: send the command again */
	NVMF_ANA_WAIT_MORE,		/* look again after delay_ms */
	NVMF_ANA_WAIT_FAIL,		/* persistent loss, or ANATT passed in a transition */
};

struct nvmf_ana_wait_decision {
	enum nvmf_ana_wait_action action;
	uint32_t delay_ms;
	bool refresh;		/* the table looks stale: have the log read again */
	const char *why;
};

/* How often a waiting request looks at its namespace's ANA state. */
#define NVMF_ANA_POLL_MS	50u

/*
 * A request that got an ANA status @waited_ms ago, whose namespace's
 * group is in @state per the controller's table (host/ana.h), on a
 * controller with ANA Transition Time @anatt_s (0: NVMF_ANA_DEFAULT_ANATT).
 * @first: the status just arrived. Then a usable state is stale (the
 * controller said otherwise a moment ago): wait and ask for a re-read
 * rather than bouncing off the controller at once. Inaccessible is waited
 * out however long it lasts (the Linux host's behaviour); a transition or
 * a stale table only up to ANATT. Pure; thread: any.
 */
struct nvmf_ana_wait_decision nvmf_retry_ana_wait(enum nvmf_ana_state state, uint64_t waited_ms,
						  unsigned int anatt_s, bool first);

/*
 * For frontends: nvmf_retry_ana_wait() for namespace @nsid of @c, with the
 * wait measured from *@since_ns (0: it starts now, and is set), @first
 * true when called from the completion that carried the ANA status (false
 * from a deferred look), and the re-read asked for when the decision says
 * so. FAIL at once when I/O worker @w may not make requests wait
 * (nvmf_worker_may_wait: a disconnect, fast-io-fail). Thread: @w's.
 */
struct nvmf_worker;
struct nvmf_ana_wait_decision nvmf_retry_ana_wait_ctrl(struct nvmf_ctrl *c, struct nvmf_worker *w,
						       uint32_t nsid, uint64_t *since_ns,
						       bool first);

#endif
