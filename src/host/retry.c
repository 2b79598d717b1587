/* SPDX-License-Identifier: MIT */
#include "host/retry.h"
#include "host/worker.h"

const char *nvmf_retry_action_str(enum nvmf_retry_action a)
{
	switch (a) {
	case NVMF_RETRY_COMPLETE: return "complete";
	case NVMF_RETRY_AGAIN: return "retry";
	case NVMF_RETRY_PARTIAL: return "partial";
	case NVMF_RETRY_RECONNECT: return "retry after reconnect";
	case NVMF_RETRY_FAIL: return "fail";
	case NVMF_RETRY_ANA_WAIT: return "wait for ANA";
	}
	return "unknown";
}

struct nvmf_retry_decision nvmf_retry_decide(const struct nvmf_request *req, unsigned int attempts,
					     unsigned int budget, const uint16_t crdt[3],
					     uint32_t block)
{
	struct nvmf_retry_decision d = { .action = NVMF_RETRY_FAIL };
	uint16_t code = NVMF_STATUS_CODE(req->status);
	unsigned int crd = NVMF_STATUS_CRD(req->status);

	if (!req->xport_err && code == 0) {
		d.action = NVMF_RETRY_COMPLETE;
		d.why = "success";
		return d;
	}
	if (req->status & NVME_SC_DNR) {
		d.why = "do not retry (DNR)";
		return d;
	}
	/* ANA: the command was not executed; waiting is bounded by time, not attempts. */
	if (!req->xport_err && code == NVMF_SC_ANA_PERSISTENT_LOSS) {
		d.why = "ANA persistent loss";
		return d;
	}
	if (!req->xport_err && (code == NVMF_SC_ANA_INACCESSIBLE || code == NVMF_SC_ANA_TRANSITION)) {
		d.action = NVMF_RETRY_ANA_WAIT;
		d.why = code == NVMF_SC_ANA_INACCESSIBLE ? "ANA inaccessible" : "ANA transition";
		return d;
	}
	if (attempts > budget) {
		d.why = "retry budget used up";
		return d;
	}
	if (crd && crdt)
		d.delay_ms = (uint32_t)crdt[crd - 1] * 100;

	/* Data that arrived intact is kept: only reads can be partial. */
	if (req->dir == NVMF_DIR_C2H && block && req->bytes_ok >= block &&
	    req->bytes_ok < req->data_len) {
		d.action = NVMF_RETRY_PARTIAL;
		d.done_bytes = req->bytes_ok / block * block;
		d.why = "partial read";
		return d;
	}
	if (req->xport_err) {
		d.action = NVMF_RETRY_RECONNECT;
		d.delay_ms = 0;
		d.why = "transport failure";
		return d;
	}
	d.action = NVMF_RETRY_AGAIN;
	d.why = code == NVMF_SC_DATA_XFER_ERROR ? "data transfer error" : "retryable status";
	return d;
}

struct nvmf_retry_decision nvmf_retry_decide_ctrl(const struct nvmf_request *req,
						  unsigned int attempts,
						  const struct nvme_id_ctrl *id, uint32_t block)
{
	uint16_t crdt[3];

	if (nvmf_req_ok(req))
		return nvmf_retry_decide(req, attempts, NVMF_RETRY_BUDGET, NULL, block);
	crdt[0] = le16toh(id->crdt1);
	crdt[1] = le16toh(id->crdt2);
	crdt[2] = le16toh(id->crdt3);
	return nvmf_retry_decide(req, attempts, NVMF_RETRY_BUDGET, crdt, block);
}

struct nvmf_ana_wait_decision nvmf_retry_ana_wait(enum nvmf_ana_state state, uint64_t waited_ms,
						  unsigned int anatt_s, bool first)
{
	struct nvmf_ana_wait_decision d = { .action = NVMF_ANA_WAIT_FAIL };
	uint64_t limit_ms = (uint64_t)(anatt_s ? anatt_s : NVMF_ANA_DEFAULT_ANATT) * 1000;
	bool bounded;

	if (state == NVMF_ANA_PERSISTENT_LOSS) {
		d.why = "ANA persistent loss";
		return d;
	}
	/*
	 * Inaccessible: held for as long as the group is, as the Linux host
	 * holds it while the controller is live (the group may come back; a
	 * disconnect or a lost controller ends the wait, see
	 * nvmf_retry_ana_wait_ctrl). A transition, or a table that calls the
	 * group usable while the controller keeps answering with ANA
	 * statuses, is bounded by ANATT (the Linux host resets then).
	 */
	if (nvmf_ana_state_usable(state) && !first) {
		d.action = NVMF_ANA_WAIT_RESUBMIT;
		d.why = "ANA group accessible";
		return d;
	}
	bounded = state != NVMF_ANA_INACCESSIBLE;
	if (bounded && waited_ms >= limit_ms) {
		d.why = "ANA group not accessible within the ANA transition time";
		return d;
	}
	d.action = NVMF_ANA_WAIT_MORE;
	d.refresh = nvmf_ana_state_usable(state);	/* first: the table is behind */
	d.delay_ms = bounded && limit_ms - waited_ms < NVMF_ANA_POLL_MS ?
		     (uint32_t)(limit_ms - waited_ms) : NVMF_ANA_POLL_MS;
	d.why = d.refresh ? "ANA status on a group the table calls usable" :
		"ANA group not accessible";
	return d;
}

struct nvmf_ana_wait_decision nvmf_retry_ana_wait_ctrl(struct nvmf_ctrl *c, struct nvmf_worker *w,
						       uint32_t nsid, uint64_t *since_ns,
						       bool first)
{
	uint64_t now = nvmf_now_ns();
	struct nvmf_ana_wait_decision d;
	enum nvmf_ana_state state;

	if (w && !nvmf_worker_may_wait(w)) {
		d = (struct nvmf_ana_wait_decision){ .action = NVMF_ANA_WAIT_FAIL,
						     .why = "I/O is not held now (stopping or failing fast)" };
		return d;
	}

	state = nvmf_ctrl_ana_state(c, nsid);
	/*
	 * The ANATT clock counts time in a transition or with a table that
	 * is behind, not time in a known Inaccessible state (waited out).
	 */
	if (!*since_ns || state == NVMF_ANA_INACCESSIBLE)
		*since_ns = now;
	d = nvmf_retry_ana_wait(state, (now - *since_ns) / 1000000, nvmf_ctrl_anatt(c), first);
	if (d.refresh)
		nvmf_ctrl_ana_refresh(c);
	return d;
}
