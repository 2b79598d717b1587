/* SPDX-License-Identifier: MIT */
/*
 * The controller (association) state machine:
 *
 *   NEW -> CONNECTING -> LIVE -> DELETING
 *              |           |
 *              +-> FAILED <+     (transport error, keep-alive timeout)
 *
 * CONNECTING runs the Fabrics bring-up in order (Fabrics 1.1 section 3.5
 * and NVMe Base 3.5.2): admin queue + Connect, CAP/VS, CC.EN = 1 and wait
 * for CSTS.RDY within CAP.TO, Identify Controller, Number of Queues, I/O
 * queue Connects, async event configuration + AER, namespace scan.
 * Keep-alive is sent every KATO/2 on the admin queue (Base 3.9).
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/secret.h"
#include "host/ana.h"
#include "host/auth.h"
#include "host/identify.h"
#include "host/nvmf.h"
#include "host/tls_key.h"
#include "host/worker.h"
#include "transport/transport.h"

#define ADMIN_DEPTH		31	/* Connect SQSIZE 31: 32 entries, Linux NVME_AQ_DEPTH */
#define ADMIN_TIMEOUT_MS	10000
#define SHUTDOWN_TIMEOUT_MS	5000
#define DEFAULT_TIMEOUT_MS	10000

const char *nvmf_ctrl_state_str(enum nvmf_ctrl_state s)
{
	switch (s) {
	case NVMF_CTRL_NEW: return "new";
	case NVMF_CTRL_CONNECTING: return "connecting";
	case NVMF_CTRL_LIVE: return "live";
	case NVMF_CTRL_FAILED: return "failed";
	case NVMF_CTRL_DELETING: return "deleting";
	}
	return "unknown";
}

/* The one place the state changes; see struct nvmf_ctrl for who may call it. */
static void set_state(struct nvmf_ctrl *c, enum nvmf_ctrl_state s)
{
	enum nvmf_ctrl_state old = nvmf_ctrl_get_state(c);

	if (old == s)
		return;
	nvmf_debug("controller %s: %s -> %s", c->opts.subnqn, nvmf_ctrl_state_str(old),
		   nvmf_ctrl_state_str(s));
	__atomic_store_n(&c->state, s, __ATOMIC_RELEASE);
}

enum nvmf_ctrl_state nvmf_ctrl_get_state(const struct nvmf_ctrl *c)
{
	return __atomic_load_n(&c->state, __ATOMIC_ACQUIRE);
}

void nvmf_ctrl_set_error(struct nvmf_ctrl *c, int err, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&c->ns_lock);	/* workers may fail concurrently */
	if (!c->errmsg[0]) {		/* first error wins: it is the cause */
		c->err = err;
		va_start(ap, fmt);
		vsnprintf(c->errmsg, sizeof(c->errmsg), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&c->ns_lock);
}

const char *nvmf_ctrl_error(const struct nvmf_ctrl *c)
{
	if (c->errmsg[0])
		return c->errmsg;
	if (c->adminq && c->adminq->errmsg[0])
		return c->adminq->errmsg;
	return "no error";
}

/* Sleep @ms, or less when @cancel_fd (> 0) becomes readable: -ECANCELED. */
static int sleep_ms(int ms, int cancel_fd)
{
	struct pollfd pfd = { .fd = cancel_fd, .events = POLLIN };
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	if (cancel_fd <= 0) {
		nanosleep(&ts, NULL);
		return 0;
	}
	return poll(&pfd, 1, ms) > 0 ? -ECANCELED : 0;
}

/* Status of a finished synchronous admin command as 0 or -errno. */
static int admin_result(struct nvmf_ctrl *c, struct nvmf_request *req, int rc, const char *what)
{
	if (rc == 0 && req->xport_err)
		rc = req->xport_err;
	if (rc < 0) {
		nvmf_ctrl_set_error(c, rc, "%s failed: %s", what,
				    c->adminq->errmsg[0] ? c->adminq->errmsg : strerror(-rc));
		return rc;
	}
	if (NVMF_STATUS_CODE(req->status)) {
		nvmf_debug("%s: %s (0x%03x)", what, nvmf_status_str(req->status),
			   NVMF_STATUS_CODE(req->status));
		return -EIO;
	}
	return 0;
}

int nvmf_ctrl_admin_exec(struct nvmf_ctrl *c, struct nvmf_request *req)
{
	if (!req->timeout_ms)
		req->timeout_ms = c->adminq->cmd_timeout_ms;
	return nvmf_qpair_exec(c->adminq, req);
}

int nvmf_identify(struct nvmf_ctrl *c, uint8_t cns, uint32_t nsid, void *buf4k)
{
	struct nvmf_request req = { 0 };
	int rc;

	req.cmd.opc = nvme_admin_identify;
	req.cmd.nsid = htole32(nsid);
	req.cmd.cdw10 = htole32(cns);
	req.data = buf4k;
	req.data_len = 4096;
	req.dir = NVMF_DIR_C2H;
	rc = nvmf_ctrl_admin_exec(c, &req);
	return admin_result(c, &req, rc, "Identify");
}

void nvmf_log_page_req(struct nvmf_request *req, uint8_t lid, uint8_t lsp, uint32_t nsid,
		       uint64_t offset, void *buf, uint32_t len, bool rae)
{
	uint32_t numd = len / 4 - 1;

	memset(req, 0, sizeof(*req));
	req->cmd.opc = nvme_admin_get_log_page;
	req->cmd.nsid = htole32(nsid);
	req->cmd.cdw10 = htole32(lid | (uint32_t)(lsp & 0x7f) << 8 | (rae ? 1u << 15 : 0) |
				 (numd & 0xffff) << 16);
	req->cmd.cdw11 = htole32(numd >> 16);
	req->cmd.cdw12 = htole32((uint32_t)offset);
	req->cmd.cdw13 = htole32((uint32_t)(offset >> 32));
	req->data = buf;
	req->data_len = len;
	req->dir = NVMF_DIR_C2H;
}

int nvmf_get_log_page(struct nvmf_ctrl *c, uint8_t lid, uint8_t lsp, uint32_t nsid,
		      uint64_t offset, void *buf, uint32_t len, bool rae)
{
	struct nvmf_request req;
	int rc;

	if (len < 4 || len % 4 || offset % 4)
		return -EINVAL;
	nvmf_log_page_req(&req, lid, lsp, nsid, offset, buf, len, rae);
	rc = nvmf_ctrl_admin_exec(c, &req);
	rc = admin_result(c, &req, rc, "Get Log Page");
	if (rc == -EIO && NVMF_STATUS_CODE(req.status) == NVMF_SC_DISCOVERY_RESTART)
		return -EAGAIN;
	return rc;
}

static int set_features(struct nvmf_ctrl *c, uint8_t fid, uint32_t cdw11, uint32_t *result,
			uint16_t *status)
{
	struct nvmf_request req = { 0 };
	int rc;

	req.cmd.opc = nvme_admin_set_features;
	req.cmd.cdw10 = htole32(fid);
	req.cmd.cdw11 = htole32(cdw11);
	rc = nvmf_ctrl_admin_exec(c, &req);
	rc = admin_result(c, &req, rc, "Set Features");
	if (result)
		*result = le32toh(req.cqe.dw0);
	if (status)
		*status = req.status;
	return rc;
}

/* CC.EN = 1 and wait for CSTS.RDY (Base 3.5.2, steps 5-8). */
static int enable_ctrl(struct nvmf_ctrl *c, char *err, size_t errlen)
{
	/* 64-byte SQEs and 16-byte CQEs (2^6, 2^4): the only sizes on fabrics. */
	uint32_t cc = NVME_SET(6, CC_IOSQES) | NVME_SET(4, CC_IOCQES);
	uint32_t to_ms = (uint32_t)NVME_CAP_TO(c->cap) * 500;
	uint64_t deadline;
	uint64_t v;
	int rc;

	if (NVME_CAP_MPSMIN(c->cap) != 0) {
		snprintf(err, errlen, "controller needs a memory page size above 4 KiB (CAP.MPSMIN %u)",
			 (unsigned int)NVME_CAP_MPSMIN(c->cap));
		return -EOPNOTSUPP;
	}
	cc |= NVME_SET(NVME_CAP_CSS(c->cap) & NVME_CAP_CSS_CSI ? NVME_CC_CSS_CSI : NVME_CC_CSS_NVM,
		       CC_CSS);
	rc = nvmf_prop_set(c->adminq, NVME_REG_CC, cc);
	if (rc == 0)
		rc = nvmf_prop_set(c->adminq, NVME_REG_CC, cc | NVME_SET(1, CC_EN));
	if (rc < 0) {
		snprintf(err, errlen, "cannot enable the controller (Property Set CC): %s",
			 c->adminq->errmsg[0] ? c->adminq->errmsg : strerror(-rc));
		return rc;
	}
	if (to_ms == 0)
		to_ms = 500;
	deadline = nvmf_now_ns() + (uint64_t)to_ms * 1000000ull;
	for (;;) {
		rc = nvmf_prop_get(c->adminq, NVME_REG_CSTS, false, &v);
		if (rc < 0) {
			snprintf(err, errlen, "cannot read CSTS: %s", strerror(-rc));
			return rc;
		}
		if (NVME_CSTS_CFS(v)) {
			snprintf(err, errlen, "controller fatal status (CSTS.CFS) while enabling");
			return -EIO;
		}
		if (NVME_CSTS_RDY(v))
			return 0;
		if (nvmf_now_ns() > deadline) {
			snprintf(err, errlen, "controller not ready within CAP.TO (%u ms)", to_ms);
			return -ETIMEDOUT;
		}
		if (sleep_ms(10, c->opts.cancel_fd) < 0) {
			snprintf(err, errlen, "cancelled");
			return -ECANCELED;
		}
	}
}

static void abort_done(struct nvmf_request *req)
{
	/* DW0 bit 0 set: the controller did not abort it (nvmet never does). */
	nvmf_debug("Abort of cid %u on queue %u: %s%s", le32toh(req->cmd.cdw10) >> 16,
		   le32toh(req->cmd.cdw10) & 0xffff, nvmf_status_str(req->status),
		   nvmf_req_ok(req) && !(le32toh(req->cqe.dw0) & 1) ? ", aborted" : "");
	free(req);
}

/*
 * The abort hook of every queue pair of @arg (a controller): a command
 * outlived its caller's timeout (abort_ms). Send an Abort for it on the
 * admin queue, as the Linux PCIe host does, instead of failing the queue
 * pair for every other caller; the command itself keeps its slot until it
 * completes (aborted or not) or reaches its own timeout, which then
 * resets the association. Runs on the queue pair's owner thread: the
 * admin worker for the admin queue, an I/O worker otherwise.
 */
void nvmf_ctrl_send_abort(struct nvmf_qpair *qp, struct nvmf_request *req, void *arg)
{
	struct nvmf_ctrl *c = arg;
	struct nvmf_request *a = calloc(1, sizeof(*a));

	if (!a)
		return;
	a->cmd.opc = nvme_admin_abort_cmd;
	a->cmd.cdw10 = htole32(qp->qid | (uint32_t)req->cid << 16);
	a->timeout_ms = ADMIN_TIMEOUT_MS;
	a->cb = abort_done;
	if (qp->qid == 0) {
		if (nvmf_qpair_submit(qp, a) < 0)
			free(a);
	} else if (c->admin_worker) {
		nvmf_worker_post(c->admin_worker, a);	/* fails it (and frees) if stopped */
	} else {
		free(a);
	}
}

static int connect_admin(struct nvmf_ctrl *c, char *err, size_t errlen)
{
	struct nvmf_xport_params p = {
		.traddr = c->opts.traddr,
		.trsvcid = c->opts.trsvcid,
		.qid = 0,
		.depth = ADMIN_DEPTH,
		.hdgst = c->opts.hdgst,
		.ddgst = c->opts.ddgst,
		.timeout_ms = c->opts.timeout_ms,
		.cancel_fd = c->opts.cancel_fd,
		.tls = c->tls_psk,
		.host_traddr = c->opts.host_traddr,
		.host_iface = c->opts.host_iface,
		.tos = c->opts.tos,
	};
	struct nvmf_connect_args a = {
		.subnqn = c->opts.subnqn,
		.hostnqn = c->opts.hostnqn,
		.hostid = c->hostid,
		.cntlid = NVMF_CNTLID_DYNAMIC,
		/* A discovery controller gets one only when persistent (-p). */
		.kato_ms = (uint32_t)c->opts.kato_s * 1000,
		.disable_sqflow = c->opts.disable_sqflow,
		.dhchap_key = c->dhchap_key,
		.dhchap_ctrl_key = c->dhchap_ctrl_key,
		.auth_info = &c->auth,
	};
	int rc;

	rc = c->ops->qpair_create(&p, &c->adminq, err, errlen);
	if (rc < 0)
		return rc;
	c->adminq->cancel_fd = p.cancel_fd;
	c->adminq->abort_hook = nvmf_ctrl_send_abort;
	c->adminq->abort_arg = c;
	rc = nvmf_fabrics_connect(c->adminq, &a, &c->cntlid, err, errlen);
	if (rc == 0 && c->auth.done) {
		c->auths++;
		nvmf_info("%s: authenticated with DH-HMAC-CHAP (hmac(%s), %s, %s)", c->opts.subnqn,
			  nvmf_auth_hash_name(c->auth.hash), nvmf_auth_dhgroup_name(c->auth.dhgroup),
			  c->auth.bidirectional ? "bidirectional" : "unidirectional");
	} else if (rc == 0 && c->dhchap_ctrl_key && !c->discovery) {
		/*
		 * Not for a discovery controller: connect-all's -C is meant for
		 * the subsystems its log leads to, and discovery controllers
		 * rarely authenticate.
		 */
		nvmf_warn("%s did not ask for authentication: the controller was not "
			  "authenticated despite --dhchap-ctrl-secret", c->opts.subnqn);
	}
	return rc;
}

static int connect_io_queues(struct nvmf_ctrl *c, char *err, size_t errlen)
{
	struct nvmf_connect_args a = {
		.subnqn = c->opts.subnqn,
		.hostnqn = c->opts.hostnqn,
		.hostid = c->hostid,
		.cntlid = c->cntlid,
		.disable_sqflow = c->opts.disable_sqflow,
		.dhchap_key = c->dhchap_key,
		.dhchap_ctrl_key = c->dhchap_ctrl_key,
	};
	/* Default and write queues first, as the kernel host orders them; poll queues last. */
	uint32_t plain = (uint32_t)c->opts.nr_io_queues + (uint32_t)c->opts.nr_write_queues;
	uint32_t want = plain + (uint32_t)c->opts.nr_poll_queues;
	uint32_t granted;
	uint16_t status;
	int rc;

	if (want == 0)
		return 0;
	rc = set_features(c, NVME_FEAT_FID_NUM_QUEUES, (want - 1) | (want - 1) << 16, &granted,
			  &status);
	if (rc < 0) {
		snprintf(err, errlen, "Set Features Number of Queues failed: %s",
			 rc == -EIO ? nvmf_status_str(status) : nvmf_ctrl_error(c));
		return rc;
	}
	granted = ((granted & 0xffff) < (granted >> 16) ? (granted & 0xffff) : (granted >> 16)) + 1;
	if (granted < want) {
		nvmf_info("controller granted %u of %u I/O queues", granted, want);
		want = granted;
	}
	/* As the kernel host: the default queues first, poll queues get the rest. */
	c->nr_poll_ioq = want > plain ? (int)(want - plain) : 0;
	c->ioq = calloc(want, sizeof(*c->ioq));
	if (!c->ioq)
		return -ENOMEM;
	for (uint32_t i = 0; i < want; i++) {
		struct nvmf_xport_params p = {
			.traddr = c->opts.traddr,
			.trsvcid = c->opts.trsvcid,
			.qid = (uint16_t)(i + 1),
			.depth = c->io_depth,
			.icd_max = c->io_icd_max,
			.hdgst = c->opts.hdgst,
			.ddgst = c->opts.ddgst,
			.timeout_ms = c->opts.timeout_ms,
			.cancel_fd = c->opts.cancel_fd,
			.tls = c->tls_psk,	/* the admin queue's PSK (NVMe/TCP 1.1 3.6.1.3) */
			.tls_hash = c->adminq->tls_hash,	/* and the hash it settled on */
			.host_traddr = c->opts.host_traddr,
			.host_iface = c->opts.host_iface,
			.tos = c->opts.tos,
		};
		struct nvmf_auth_info ai = { 0 };

		rc = c->ops->qpair_create(&p, &c->ioq[i], err, errlen);
		if (rc < 0)
			return rc;
		c->ioq[i]->cancel_fd = p.cancel_fd;
		c->ioq[i]->abort_hook = nvmf_ctrl_send_abort;
		c->ioq[i]->abort_arg = c;
		c->nr_ioq = (int)i + 1;
		a.auth_info = &ai;
		rc = nvmf_fabrics_connect(c->ioq[i], &a, NULL, err, errlen);
		if (rc < 0)
			return rc;
		if (ai.done)
			c->auths++;
	}
	return 0;
}

static void aer_submit(struct nvmf_ctrl *c);

static void aer_done(struct nvmf_request *req)
{
	struct nvmf_ctrl *c = req->cb_arg;
	uint32_t dw0 = le32toh(req->cqe.dw0);

	c->aer_inflight = false;
	if (!nvmf_req_ok(req))
		return;		/* aborted (shutdown, queue failure): not re-armed */
	nvmf_info("async event: type %u info 0x%02x log 0x%02x", NVMF_AER_TYPE(dw0),
		  NVMF_AER_INFO(dw0), NVMF_AER_LID(dw0));
	if (NVMF_AER_TYPE(dw0) == NVME_AER_NOTICE &&
	    NVMF_AER_INFO(dw0) == NVME_AER_NOTICE_NS_CHANGED) {
		c->aer_events++;
		c->ns_changed = true;	/* log read + rescan happen in service() */
	} else if (c->discovery && NVMF_AER_TYPE(dw0) == NVME_AER_NOTICE &&
		   NVMF_AER_INFO(dw0) == NVME_AER_NOTICE_DISC_CHANGED) {
		/* The owner re-reads the log (RAE 0 unmasks the event again). */
		c->aer_events++;
		nvmf_ctrl_post_event(c, NVMF_CTRL_EV_DISC_CHANGED);
	}
	if (NVMF_AER_TYPE(dw0) == NVME_AER_NOTICE &&
	    NVMF_AER_INFO(dw0) == NVME_AER_NOTICE_ANA) {
		c->aer_events++;
		nvmf_ctrl_ana_notice(c);	/* the log is read in service() */
	}
	c->aer_pending_rearm = true;
}

static void aer_submit(struct nvmf_ctrl *c)
{
	struct nvmf_request *req = &c->aer_req;

	memset(req, 0, sizeof(*req));
	req->cmd.opc = nvme_admin_async_event;
	req->timeout_ms = 0;	/* outstanding until an event */
	req->cb = aer_done;
	req->cb_arg = c;
	if (nvmf_qpair_submit(c->adminq, req) == 0)
		c->aer_inflight = true;
}

static void ka_done(struct nvmf_request *req)
{
	struct nvmf_ctrl *c = req->cb_arg;

	c->ka_inflight = false;
	if (!nvmf_req_ok(req) && !req->xport_err)
		nvmf_warn("keep-alive failed: %s", nvmf_status_str(req->status));
}

static void ka_submit(struct nvmf_ctrl *c)
{
	struct nvmf_request *req = &c->ka_req;

	memset(req, 0, sizeof(*req));
	req->cmd.opc = nvme_admin_keep_alive;
	/*
	 * Like the Linux host: a Keep Alive unanswered for KATO means the
	 * controller is gone (it drops us after KATO without one, Base
	 * 3.9.5); the admin queue then fails, and with it the association.
	 */
	req->timeout_ms = c->ka_period_ms * 2;
	req->cb = ka_done;
	req->cb_arg = c;
	if (nvmf_qpair_submit(c->adminq, req) == 0)
		c->ka_inflight = true;
}

static int copy_opts(struct nvmf_ctrl *c, const struct nvmf_ctrl_opts *o)
{
	const char *src[] = { o->transport, o->traddr, o->trsvcid, o->subnqn, o->hostnqn, o->hostid,
			      o->tls_key, o->keyring, o->tls_key_identity, o->dhchap_secret,
			      o->dhchap_ctrl_secret, o->host_traddr, o->host_iface };
	const char **dst[] = { &c->opts.transport, &c->opts.traddr, &c->opts.trsvcid,
			       &c->opts.subnqn, &c->opts.hostnqn, &c->opts.hostid,
			       &c->opts.tls_key, &c->opts.keyring, &c->opts.tls_key_identity,
			       &c->opts.dhchap_secret, &c->opts.dhchap_ctrl_secret,
			       &c->opts.host_traddr, &c->opts.host_iface };
	const size_t nstr = sizeof(src) / sizeof(src[0]);
	size_t total = 0, off = 0;

	c->opts = *o;
	for (size_t i = 0; i < nstr; i++)
		total += (src[i] ? strlen(src[i]) : 0) + 1;
	/* They hold the TLS key and DH-HMAC-CHAP secrets: kept out of core dumps. */
	c->strings = nvmf_secret_alloc(total);
	if (!c->strings)
		return -ENOMEM;
	c->strings_len = total;
	for (size_t i = 0; i < nstr; i++) {
		size_t n = src[i] ? strlen(src[i]) : 0;

		memcpy(c->strings + off, src[i] ? src[i] : "", n + 1);
		*dst[i] = c->strings + off;
		off += n + 1;
	}
	return 0;
}

/*
 * The TLS PSK of this association (opts.tls): derived from the configured
 * key, or read from the keyring now, so that a key replaced in the keyring
 * is used at the next reconnect, as the kernel host does.
 */
static int tls_resolve(struct nvmf_ctrl *c, char *err, size_t errlen)
{
	const struct nvmf_ctrl_opts *o = &c->opts;
	int rc;

	if (!o->tls && !o->tls_key[0] && !o->tls_key_identity[0])
		return 0;
	if (c->opts.transport && !strcmp(c->opts.transport, "rdma")) {
		snprintf(err, errlen, "TLS is an NVMe/TCP feature: not with transport rdma");
		return -EPROTONOSUPPORT;
	}
	c->tls_psk = nvmf_secret_alloc(sizeof(*c->tls_psk));
	if (!c->tls_psk)
		return -ENOMEM;
	if (o->tls_key[0]) {
		struct nvmf_tls_configured k;

		rc = nvmf_tls_key_parse(o->tls_key, &k, err, errlen);
		if (rc == 0)
			rc = nvmf_tls_psk_derive(&k, o->hostnqn, o->subnqn, 0,
						 o->tls_compat ? NVMF_TLS_COMPAT : NVMF_TLS_RFC,
						 c->tls_psk, err, errlen);
		explicit_bzero(&k, sizeof(k));
		if (rc < 0)
			return rc == -EINVAL ? -EKEYREJECTED : rc;
		nvmf_debug("TLS PSK identity \"%s\" from the configured key (%s derivation)",
			   c->tls_psk->identity, o->tls_compat ? "compat" : "RFC 8446");
		return 0;
	}
	return nvmf_tls_psk_from_keyring(o->keyring, o->tls_key_identity, o->hostnqn, o->subnqn,
					 c->tls_psk, err, errlen);
}

/* -S/-C: parse into c->dhchap_key / c->dhchap_ctrl_key. */
static int parse_secrets(struct nvmf_ctrl *c, char *err, size_t errlen)
{
	const char *src[2] = { c->opts.dhchap_secret, c->opts.dhchap_ctrl_secret };
	struct nvmf_dhchap_key **dst[2] = { &c->dhchap_key, &c->dhchap_ctrl_key };
	static const char *const what[2] = { "--dhchap-secret", "--dhchap-ctrl-secret" };
	char why[200];

	for (int i = 0; i < 2; i++) {
		if (!src[i] || !src[i][0])
			continue;
		*dst[i] = nvmf_secret_alloc(sizeof(**dst[i]));
		if (!*dst[i]) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		if (nvmf_dhchap_key_parse(src[i], *dst[i], why, sizeof(why)) < 0) {
			snprintf(err, errlen, "%s: %s", what[i], why);
			return -EKEYREJECTED;
		}
	}
	if (c->dhchap_ctrl_key && !c->dhchap_key) {
		snprintf(err, errlen, "--dhchap-ctrl-secret needs --dhchap-secret as well");
		return -EKEYREJECTED;
	}
	return 0;
}

static void ctrl_free(struct nvmf_ctrl *c)
{
	for (int i = 0; i < c->nr_ioq; i++)
		nvmf_qpair_destroy(c->ioq[i]);
	nvmf_qpair_destroy(c->adminq);
	nvmf_ctrl_scan_free(c);
	nvmf_ctrl_ana_free(c);
	free(c->ioq);
	free(c->ns);
	/* TLS key, DH-HMAC-CHAP secrets: wiped as they are unmapped. */
	nvmf_secret_free(c->strings);
	nvmf_secret_free(c->tls_psk);
	nvmf_dhchap_key_clear(c->dhchap_key);
	nvmf_dhchap_key_clear(c->dhchap_ctrl_key);
	nvmf_secret_free(c->dhchap_key);
	nvmf_secret_free(c->dhchap_ctrl_key);
	if (c->event_fd >= 0)
		close(c->event_fd);
	pthread_mutex_destroy(&c->ns_lock);
	free(c);
}

/*
 * A persistent discovery controller (one with a keep-alive): enable the
 * Discovery Log Page Change notice (OAES bit 31) when the controller has
 * it, and arm the AER. Without the notice the owner only learns of
 * changes when it reads the log again (after a reconnect). 0 or -errno.
 */
static int disc_arm_aen(struct nvmf_ctrl *c, bool arm_aer)
{
	int rc;

	if (!(le32toh(c->id.oaes) & NVME_CTRL_OAES_DL)) {
		nvmf_warn("discovery controller has no log page change notices (OAES 0x%08x)",
			  le32toh(c->id.oaes));
		return 0;
	}
	rc = set_features(c, NVME_FEAT_FID_ASYNC_EVENT, NVME_FEATURE_AENCFG_NOTICE_DISCOVERY_CHANGE,
			  NULL, NULL);
	if (rc < 0 && rc != -EIO)
		return rc;
	if (arm_aer)
		aer_submit(c);
	else
		c->aer_pending_rearm = true;
	return 0;
}

static int ctrl_connect(const struct nvmf_ctrl_opts *opts, struct nvmf_ctrl **out, bool arm_aer,
			char *err, size_t errlen)
{
	struct nvmf_ctrl_limits lim;
	struct nvmf_ctrl *c;
	uint32_t aec;
	int rc;

	if (!opts->traddr || !opts->subnqn || !opts->hostnqn || !opts->hostid) {
		snprintf(err, errlen, "missing address, subsystem NQN or host identity");
		return -EINVAL;
	}
	if (strlen(opts->subnqn) > NVMF_NQN_SIZE) {
		snprintf(err, errlen, "subsystem NQN is longer than %d characters", NVMF_NQN_SIZE);
		return -EINVAL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->ns_lock, NULL);
	c->timer_fd = -1;
	c->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->event_fd < 0) {
		rc = -errno;
		goto fail_nomem;
	}
	rc = copy_opts(c, opts);
	if (rc < 0)
		goto fail_nomem;
	if (!c->opts.trsvcid[0])
		/* nvme-cli's defaults: 8009 only for NVMe/TCP discovery. */
		c->opts.trsvcid = strcmp(c->opts.subnqn, NVME_DISC_SUBSYS_NAME) ||
				  (c->opts.transport && !strcmp(c->opts.transport, "rdma")) ?
				  "4420" : "8009";
	if (c->opts.timeout_ms <= 0)
		c->opts.timeout_ms = DEFAULT_TIMEOUT_MS;
	if (nvmf_uuid_parse(c->opts.hostid, c->hostid) < 0) {
		snprintf(err, errlen, "host ID '%s' is not a UUID", c->opts.hostid);
		rc = -EINVAL;
		goto fail;
	}
	c->ops = nvmf_transport_find(c->opts.transport, err, errlen);
	if (!c->ops) {
		rc = -EPROTONOSUPPORT;
		goto fail;
	}
	c->discovery = c->opts.discovery || !strcmp(c->opts.subnqn, NVME_DISC_SUBSYS_NAME);
	rc = tls_resolve(c, err, errlen);
	if (rc == 0)
		rc = parse_secrets(c, err, errlen);
	if (rc < 0)
		goto fail;
	set_state(c, NVMF_CTRL_CONNECTING);

	rc = connect_admin(c, err, errlen);
	if (rc < 0)
		goto fail;
	rc = nvmf_prop_get(c->adminq, NVME_REG_CAP, true, &c->cap);
	if (rc == 0) {
		uint64_t vs;

		rc = nvmf_prop_get(c->adminq, NVME_REG_VS, false, &vs);
		c->vs = (uint32_t)vs;
	}
	if (rc < 0) {
		snprintf(err, errlen, "cannot read controller properties: %s",
			 c->adminq->errmsg[0] ? c->adminq->errmsg : strerror(-rc));
		goto fail;
	}
	rc = enable_ctrl(c, err, errlen);
	if (rc < 0)
		goto fail;
	rc = nvmf_identify(c, NVME_IDENTIFY_CNS_CTRL, 0, &c->id);
	if (rc < 0) {
		snprintf(err, errlen, "Identify Controller failed: %s", nvmf_ctrl_error(c));
		goto fail;
	}
	if (le16toh(c->id.cntlid) != c->cntlid)
		nvmf_warn("Identify CNTLID %u differs from Connect CNTLID %u",
			  le16toh(c->id.cntlid), c->cntlid);
	nvmf_ctrl_read_effects(c);	/* failure: zeroed log plus known effects */

	/* NVMe/RDMA moves all data through keyed SGLs (SGLS bit 2). */
	if (!strcmp(c->ops->name, "rdma") && !(le32toh(c->id.sgls) & (1u << 2))) {
		snprintf(err, errlen, "controller does not support keyed SGL data blocks, "
			 "which NVMe/RDMA requires");
		rc = -EPROTONOSUPPORT;
		goto fail;
	}
	rc = nvmf_id_ctrl_check(&c->id, c->cap, c->opts.queue_size, &lim, err, errlen);
	if (rc < 0)
		goto fail;
	c->max_xfer = lim.max_xfer;
	c->io_icd_max = lim.io_icd_max;
	c->io_depth = lim.io_depth;
	c->nn = lim.nn;

	if (!c->discovery) {
		if (c->opts.kato_s && !le16toh(c->id.kas))
			nvmf_warn("controller does not support keep-alive (KAS 0)");
		rc = connect_io_queues(c, err, errlen);
		if (rc < 0)
			goto fail;
		/*
		 * Asynchronous Event Configuration: namespace attribute (bit 8)
		 * and ANA change (bit 11) notices, where OAES says the controller
		 * sends them (the bits are the same in OAES and the feature).
		 */
		aec = le32toh(c->id.oaes) & (NVME_CTRL_OAES_NA | NVME_CTRL_OAES_ANA);
		if (aec) {
			rc = set_features(c, NVME_FEAT_FID_ASYNC_EVENT, aec, NULL, NULL);
			if (rc < 0 && rc != -EIO)
				goto fail_msg;
		}
		if (arm_aer)
			aer_submit(c);
		else
			c->aer_pending_rearm = true;	/* for whoever adopts the queues */
		rc = nvmf_ctrl_scan_ns(c);
		if (rc < 0)
			goto fail_msg;
		rc = nvmf_ctrl_read_ana(c);
		if (rc < 0)
			goto fail_msg;
	} else if (opts->kato_s) {
		rc = disc_arm_aen(c, arm_aer);
		if (rc < 0)
			goto fail_msg;
	}
	if (opts->kato_s) {
		c->ka_period_ms = (uint32_t)opts->kato_s * 1000 / 2;
		c->ka_due_ns = nvmf_now_ns() + (uint64_t)c->ka_period_ms * 1000000ull;
	}
	/* The cancel fd was for connecting; the queues must not see it later. */
	c->adminq->cancel_fd = -1;
	for (int i = 0; i < c->nr_ioq; i++)
		c->ioq[i]->cancel_fd = -1;
	c->opts.cancel_fd = -1;
	set_state(c, NVMF_CTRL_LIVE);
	*out = c;
	return 0;

fail_msg:
	snprintf(err, errlen, "%s", nvmf_ctrl_error(c));
	goto fail;
fail_nomem:
	snprintf(err, errlen, "out of memory");
fail:
	ctrl_free(c);
	return rc;
}

int nvmf_ctrl_connect(const struct nvmf_ctrl_opts *opts, struct nvmf_ctrl **out,
		      char *err, size_t errlen)
{
	return ctrl_connect(opts, out, true, err, errlen);
}

int nvmf_ctrl_connect_unarmed(const struct nvmf_ctrl_opts *opts, struct nvmf_ctrl **out,
			      char *err, size_t errlen)
{
	return ctrl_connect(opts, out, false, err, errlen);
}

static void shutdown_ctrl(struct nvmf_ctrl *c)
{
	uint64_t cc, csts, deadline;
	uint32_t rtd3e = le32toh(c->id.rtd3e) / 1000;	/* us -> ms */
	uint32_t to = rtd3e > SHUTDOWN_TIMEOUT_MS ? (rtd3e > 60000 ? 60000 : rtd3e) :
		      SHUTDOWN_TIMEOUT_MS;

	if (nvmf_prop_get(c->adminq, NVME_REG_CC, false, &cc) < 0)
		return;
	cc = (cc & ~(uint64_t)NVME_SET(NVME_CC_SHN_MASK, CC_SHN)) |
	     NVME_SET(NVME_CC_SHN_NORMAL, CC_SHN);
	if (nvmf_prop_set(c->adminq, NVME_REG_CC, (uint32_t)cc) < 0)
		return;
	deadline = nvmf_now_ns() + (uint64_t)to * 1000000ull;
	while (nvmf_now_ns() < deadline) {
		if (nvmf_prop_get(c->adminq, NVME_REG_CSTS, false, &csts) < 0)
			return;
		if (NVME_CSTS_SHST(csts) == NVME_CSTS_SHST_CMPLT) {
			nvmf_debug("controller %u shut down", c->cntlid);
			return;
		}
		sleep_ms(10, -1);
	}
	nvmf_warn("controller did not finish shutdown within %u ms", to);
}

static void log_queue_stats(const struct nvmf_qpair *qp)
{
	const struct nvmf_qpair_stats *s = &qp->stats;

	nvmf_info("queue %u: submitted=%llu completed=%llu errors=%llu timeouts=%llu "
		  "ddgst_errors=%llu c2h_success=%llu tx_by_ref_kib=%llu in_place_kib=%llu", qp->qid,
		  (unsigned long long)s->submitted, (unsigned long long)s->completed,
		  (unsigned long long)s->errors, (unsigned long long)s->timeouts,
		  (unsigned long long)s->ddgst_errors, (unsigned long long)s->c2h_success,
		  (unsigned long long)(s->tx_by_ref >> 10),
		  (unsigned long long)(s->data_in_place >> 10));
}

void nvmf_ctrl_disconnect(struct nvmf_ctrl *c)
{
	if (!c)
		return;
	for (int i = 0; i < c->nr_ioq; i++)
		log_queue_stats(c->ioq[i]);
	if (nvmf_ctrl_get_state(c) == NVMF_CTRL_LIVE && c->adminq &&
	    c->adminq->state == NVMF_QP_LIVE && !c->discovery)
		shutdown_ctrl(c);
	set_state(c, NVMF_CTRL_DELETING);
	ctrl_free(c);
}

void nvmf_ctrl_post_event(struct nvmf_ctrl *c, unsigned int ev)
{
	uint64_t one = 1;

	__atomic_fetch_or(&c->events, ev, __ATOMIC_SEQ_CST);
	if (c->event_fd >= 0 && write(c->event_fd, &one, sizeof(one)) < 0)
		nvmf_debug("controller event: %s", strerror(errno));
}

unsigned int nvmf_ctrl_take_events(struct nvmf_ctrl *c)
{
	uint64_t v;

	if (c->event_fd >= 0 && read(c->event_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		nvmf_debug("controller event: %s", strerror(errno));
	return __atomic_exchange_n(&c->events, 0, __ATOMIC_SEQ_CST);
}

int nvmf_ctrl_event_fd(const struct nvmf_ctrl *c)
{
	return c->event_fd;
}

int nvmf_ctrl_ns_snapshot(struct nvmf_ctrl *c, struct nvmf_ns **out, int *n)
{
	int rc = 0;

	pthread_mutex_lock(&c->ns_lock);
	*n = c->nr_ns;
	*out = NULL;
	if (c->nr_ns) {
		*out = malloc((size_t)c->nr_ns * sizeof(**out));
		if (*out)
			memcpy(*out, c->ns, (size_t)c->nr_ns * sizeof(**out));
		else
			rc = -ENOMEM;
	}
	pthread_mutex_unlock(&c->ns_lock);
	return rc;
}

int nvmf_ctrl_ns_find(struct nvmf_ctrl *c, uint32_t nsid, struct nvmf_ns *out)
{
	int rc = -ENOENT;

	pthread_mutex_lock(&c->ns_lock);
	for (int i = 0; i < c->nr_ns && rc; i++)
		if (c->ns[i].nsid == nsid) {
			*out = c->ns[i];
			rc = 0;
		}
	pthread_mutex_unlock(&c->ns_lock);
	return rc;
}

/*
 * The association failed: record why (first error wins), move to FAILED,
 * fail every I/O queue of this association at once (a keep-alive timeout
 * means the controller is gone: nothing waits for its own command
 * timeout), and tell the owner. Does nothing unless LIVE, so a second
 * report of the same failure is silent. Admin worker once started, else
 * the owner thread.
 */
static void ctrl_fail(struct nvmf_ctrl *c, int err, const char *why)
{
	if (nvmf_ctrl_get_state(c) != NVMF_CTRL_LIVE)
		return;
	nvmf_ctrl_set_error(c, err ? err : -EIO, "%s", why);
	set_state(c, NVMF_CTRL_FAILED);
	nvmf_err("controller failed: %s", nvmf_ctrl_error(c));
	nvmf_ctrl_fail_ioqs(c);
	nvmf_ctrl_post_event(c, NVMF_CTRL_EV_FAILED);
}

void nvmf_ctrl_fail_gen(struct nvmf_ctrl *c, uint32_t gen, int err, const char *why)
{
	if (gen == c->gen)
		ctrl_fail(c, err, why);
}

void nvmf_ctrl_set_live(struct nvmf_ctrl *c)
{
	set_state(c, NVMF_CTRL_LIVE);
}

bool nvmf_ctrl_service_due(const struct nvmf_ctrl *c)
{
	/* A failed admin queue (seen by the worker's own poll) fails the controller now. */
	return c->ns_changed || (c->aer_pending_rearm && !c->aer_inflight) || nvmf_ctrl_ana_due(c) ||
	       nvmf_ctrl_scan_finished(c) || c->adminq->state == NVMF_QP_FAILED;
}

static void qpair_failed(struct nvmf_ctrl *c, struct nvmf_qpair *qp)
{
	ctrl_fail(c, qp->err, qp->errmsg[0] ? qp->errmsg : "queue failed");
}

/* Reading the Changed Namespace List with RAE = 0 unmasks the event. */
static void chlog_done(struct nvmf_request *req)
{
	struct nvmf_ctrl *c = req->cb_arg;

	c->chlog_inflight = false;
}

static void chlog_submit(struct nvmf_ctrl *c)
{
	struct nvmf_request *req = &c->chlog_req;

	if (c->chlog_inflight)
		return;
	nvmf_log_page_req(req, NVME_LOG_LID_CHANGED_NS, 0, 0xffffffffu, 0, c->chlog,
			  sizeof(c->chlog), false);
	req->timeout_ms = c->adminq->cmd_timeout_ms;
	req->cb = chlog_done;
	req->cb_arg = c;
	if (nvmf_qpair_submit(c->adminq, req) == 0)
		c->chlog_inflight = true;
}

int nvmf_ctrl_service(struct nvmf_ctrl *c)
{
	uint64_t now;
	int rc;

	if (nvmf_ctrl_get_state(c) != NVMF_CTRL_LIVE)
		return c->err ? c->err : -ENOTCONN;
	rc = nvmf_qpair_poll(c->adminq, 0);
	if (rc < 0) {
		qpair_failed(c, c->adminq);
		return rc;
	}
	if (c->ns_changed) {
		/* Never waits: the scan runs as commands between the other work. */
		c->ns_changed = false;
		chlog_submit(c);
		nvmf_ctrl_rescan(c);
	}
	nvmf_ctrl_scan_poll(c);
	nvmf_ctrl_ana_reread(c);	/* after a notice or a stale state; never waits */
	if (c->aer_pending_rearm && !c->aer_inflight) {
		c->aer_pending_rearm = false;
		aer_submit(c);
	}
	now = nvmf_now_ns();
	if (c->ka_period_ms && now >= c->ka_due_ns) {
		if (!c->ka_inflight)
			ka_submit(c);
		c->ka_due_ns = now + (uint64_t)c->ka_period_ms * 1000000ull;
	}
	rc = nvmf_qpair_poll(c->adminq, 0);	/* get what was queued on the wire now */
	if (rc < 0) {
		qpair_failed(c, c->adminq);
		return rc;
	}
	return 0;
}

void nvmf_ctrl_ioq_failed(struct nvmf_ctrl *c, struct nvmf_qpair *qp)
{
	qpair_failed(c, qp);
}

int nvmf_ctrl_next_timeout_ms(const struct nvmf_ctrl *c)
{
	uint64_t now = nvmf_now_ns();
	int ms = 1000;	/* also bounds command-timeout scanning */

	if (c->ka_period_ms) {
		int64_t d = (int64_t)(c->ka_due_ns - now) / 1000000;

		if (d < 0)
			d = 0;
		if (d < ms)
			ms = (int)d;
	}
	return ms;
}
