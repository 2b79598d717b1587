/* SPDX-License-Identifier: MIT */
/*
 * Fabrics commands (NVMe over Fabrics 1.1, section 3): Connect, Property
 * Get and Property Set, run synchronously on one queue pair by its owner.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "host/nvmf.h"

int nvmf_fabrics_connect(struct nvmf_qpair *qp, const struct nvmf_connect_args *a,
			 uint16_t *cntlid, char *err, size_t errlen)
{
	struct nvmf_connect_data data;
	struct nvmf_request req = { 0 };
	struct nvmf_connect_sqe *c = (struct nvmf_connect_sqe *)&req.cmd;
	char why[160];
	int rc;

	memset(&data, 0, sizeof(data));
	memcpy(data.hostid, a->hostid, 16);
	data.cntlid = htole16(a->cntlid);
	snprintf(data.subsysnqn, sizeof(data.subsysnqn), "%s", a->subnqn);
	snprintf(data.hostnqn, sizeof(data.hostnqn), "%s", a->hostnqn);

	c->opc = NVME_FABRICS_OPC;
	c->fctype = NVMF_FCTYPE_CONNECT;
	c->recfmt = 0;
	c->qid = htole16(qp->qid);
	c->sqsize = htole16(qp->depth);	/* 0's based entries = depth + 1 slots */
	c->kato = htole32(qp->qid == 0 ? a->kato_ms : 0);
	c->cattr = a->disable_sqflow ? 0x04 : 0;
	req.data = &data;
	req.data_len = sizeof(data);
	req.dir = NVMF_DIR_H2C;
	req.timeout_ms = qp->cmd_timeout_ms;

	rc = nvmf_qpair_exec(qp, &req);
	if (rc == 0 && req.xport_err)
		rc = req.xport_err;
	if (rc < 0) {
		snprintf(err, errlen, "Connect on queue %u failed: %s", qp->qid,
			 qp->errmsg[0] ? qp->errmsg : strerror(-rc));
		return rc;
	}
	if (NVMF_STATUS_CODE(req.status)) {
		nvmf_connect_error_str(req.status, le32toh(req.cqe.dw0), why, sizeof(why));
		snprintf(err, errlen, "Connect to %s on queue %u rejected: %s (status 0x%03x%s)",
			 a->subnqn, qp->qid, why, NVMF_STATUS_CODE(req.status),
			 req.status & NVMF_STATUS_DNR ? ", do not retry" : "");
		return -ECONNREFUSED;
	}
	if (cntlid)
		*cntlid = le32toh(req.cqe.dw0) & 0xffff;
	if ((le32toh(req.cqe.dw0) >> 16) & 0x3) {
		snprintf(err, errlen, "controller requires in-band authentication "
			 "(DH-HMAC-CHAP), not supported yet");
		return -EACCES;
	}
	qp->state = NVMF_QP_LIVE;
	return 0;
}

static int prop_exec(struct nvmf_qpair *qp, struct nvmf_request *req)
{
	int rc = nvmf_qpair_exec(qp, req);

	if (rc < 0)
		return rc;
	if (req->xport_err)
		return req->xport_err;
	if (NVMF_STATUS_CODE(req->status)) {
		nvmf_warn("Property %s 0x%x failed: %s",
			  ((struct nvmf_prop_sqe *)&req->cmd)->fctype == NVMF_FCTYPE_PROP_GET ?
			  "Get" : "Set", le32toh(((struct nvmf_prop_sqe *)&req->cmd)->ofst),
			  nvmf_status_str(req->status));
		return -EIO;
	}
	return 0;
}

int nvmf_prop_get(struct nvmf_qpair *qp, uint32_t ofst, bool eight, uint64_t *val)
{
	struct nvmf_request req = { .timeout_ms = qp->cmd_timeout_ms };
	struct nvmf_prop_sqe *c = (struct nvmf_prop_sqe *)&req.cmd;
	int rc;

	c->opc = NVME_FABRICS_OPC;
	c->fctype = NVMF_FCTYPE_PROP_GET;
	c->attrib = eight ? 1 : 0;
	c->ofst = htole32(ofst);
	rc = prop_exec(qp, &req);
	if (rc == 0)
		*val = (uint64_t)le32toh(req.cqe.dw0) |
		       (eight ? (uint64_t)le32toh(req.cqe.dw1) << 32 : 0);
	return rc;
}

int nvmf_prop_set(struct nvmf_qpair *qp, uint32_t ofst, uint32_t val)
{
	struct nvmf_request req = { .timeout_ms = qp->cmd_timeout_ms };
	struct nvmf_prop_sqe *c = (struct nvmf_prop_sqe *)&req.cmd;

	c->opc = NVME_FABRICS_OPC;
	c->fctype = NVMF_FCTYPE_PROP_SET;
	c->attrib = 0;
	c->ofst = htole32(ofst);
	c->value = htole64(val);
	return prop_exec(qp, &req);
}
