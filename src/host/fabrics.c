/* SPDX-License-Identifier: MIT */
/*
 * Fabrics commands (NVMe over Fabrics 1.1, section 3): Connect, Property
 * Get and Property Set, and the DH-HMAC-CHAP transaction over
 * Authentication Send/Receive (NVMe Base 2.0 section 8.13.5), run
 * synchronously on one queue pair by its owner.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "base/log.h"
#include "host/auth.h"
#include "host/nvmf.h"

/*
 * One Authentication Send (@send) or Receive of @len bytes at @buf. 0 with
 * the NVMe status in *@status, or -errno when the queue pair failed (its
 * cause in qp->errmsg).
 */
static int auth_cmd(struct nvmf_qpair *qp, bool send, void *buf, uint32_t len, uint16_t *status)
{
	struct nvmf_request req = { .timeout_ms = qp->cmd_timeout_ms };
	uint8_t *c = (uint8_t *)&req.cmd;
	int rc;

	req.cmd.opc = nvme_admin_fabrics;
	c[4] = send ? nvme_fabrics_type_auth_send : nvme_fabrics_type_auth_receive;
	/* byte 40 reserved, 41 SPSP0, 42 SPSP1, 43 SECP; dword 11: TL or AL */
	req.cmd.cdw10 = htole32((uint32_t)NVMF_AUTH_SPSP << 8 | (uint32_t)NVMF_AUTH_SPSP << 16 |
				(uint32_t)NVMF_AUTH_SECP_DHCHAP << 24);
	req.cmd.cdw11 = htole32(len);
	req.data = buf;
	req.data_len = len;
	req.dir = send ? NVMF_DIR_H2C : NVMF_DIR_C2H;
	rc = nvmf_qpair_exec(qp, &req);
	if (rc == 0 && req.xport_err)
		rc = req.xport_err;
	*status = req.status;
	return rc;
}

/* S2: a per-process sequence that starts at random and skips 0 (Base 8.13.5.4). */
static uint32_t next_seqnum(void)
{
	static uint32_t seq;
	uint32_t v = __atomic_load_n(&seq, __ATOMIC_RELAXED), n;

	do {
		n = v + 1;
		if (v == 0 && RAND_bytes((unsigned char *)&n, sizeof(n)) != 1)
			n = (uint32_t)nvmf_now_ns();
		if (n == 0)
			n = 1;
	} while (!__atomic_compare_exchange_n(&seq, &v, n, false, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	return n;
}

/* Everything one transaction holds; wiped as a whole at the end. */
struct auth_tx {
	uint8_t buf[NVMF_AUTH_RECV_LEN];
	uint8_t kt[NVMF_AUTH_HASH_MAX_LEN];	/* a transformed key */
	uint8_t c1[NVMF_AUTH_HASH_MAX_LEN], c2[NVMF_AUTH_HASH_MAX_LEN];
	uint8_t r1[NVMF_AUTH_HASH_MAX_LEN], r2[NVMF_AUTH_HASH_MAX_LEN];
	uint8_t hpub[1024], sk[1024];		/* DH: our public value, session key */
};

int nvmf_fabrics_auth(struct nvmf_qpair *qp, const struct nvmf_auth_args *a,
		      struct nvmf_auth_info *info, char *err, size_t errlen)
{
	const char *step = "Negotiate", *who = a->ctrl_key ? "bidirectional" : "unidirectional";
	struct auth_tx *t = calloc(1, sizeof(*t));
	struct nvmf_auth_dh *dh = NULL;
	struct nvmf_auth_msg m;
	char why[200] = "";
	size_t ktl, hl = 0, dhlen = 0;
	uint8_t hash = 0, dhgid = 0, rce = 0;
	uint32_t s1 = 0, s2 = 0;
	uint16_t status;
	int n, rc;

	if (!t)
		return -ENOMEM;
	/* Step 1: Negotiate (every hash and group we have, no concatenation). */
	n = nvmf_auth_build_negotiate(t->buf, sizeof(t->buf), a->tid);
	rc = auth_cmd(qp, true, t->buf, (uint32_t)n, &status);
	if (rc || NVMF_STATUS_CODE(status))
		goto xfer_fail;

	/* Step 2: Challenge (or Failure1). */
	step = "Challenge";
	memset(t->buf, 0, sizeof(t->buf));
	rc = auth_cmd(qp, false, t->buf, sizeof(t->buf), &status);
	if (rc || NVMF_STATUS_CODE(status))
		goto xfer_fail;
	rc = nvmf_auth_parse(t->buf, sizeof(t->buf), 0, &m, &rce, why, sizeof(why));
	if (rc)
		goto fail2;
	if (m.id == NVMF_AUTH_ID_FAILURE1)
		goto failure1;
	if (m.id != NVMF_AUTH_ID_CHALLENGE || m.tid != a->tid) {
		snprintf(why, sizeof(why), "message 0x%02x for transaction %u instead of a "
			 "Challenge for %u", m.id, m.tid, a->tid);
		rce = NVMF_AUTH_RCE_INCORRECT_MESSAGE;
		goto fail2;
	}
	hash = m.hashid;
	dhgid = m.dhgid;
	hl = m.hl;
	s1 = m.seqnum;
	memcpy(t->c1, m.cval, hl);
	if (dhgid != NVMF_AUTH_DHGROUP_NULL) {
		dhlen = nvmf_auth_dh_len(dhgid);
		rc = nvmf_auth_dh_new(dhgid, &dh);
		if (rc == 0)
			rc = nvmf_auth_dh_public(dh, t->hpub, dhlen);
		if (rc) {
			snprintf(why, sizeof(why), "cannot make a %s key pair (OpenSSL): %s",
				 nvmf_auth_dhgroup_name(dhgid), strerror(-rc));
			rce = NVMF_AUTH_RCE_DHGROUP_UNUSABLE;
			goto fail2;
		}
		rc = nvmf_auth_dh_derive(dh, m.dhv, m.dhvlen, t->sk, dhlen);
		if (rc) {
			snprintf(why, sizeof(why), "the controller's %s public value is not valid",
				 nvmf_auth_dhgroup_name(dhgid));
			rce = NVMF_AUTH_RCE_INCORRECT_PAYLOAD;
			goto fail2;
		}
	}

	/* Step 3: Reply with R1, and C2/S2 when the controller must prove itself. */
	step = "Reply";
	rc = nvmf_dhchap_key_transform(a->key, a->hostnqn, t->kt, &ktl);
	if (rc == 0)
		rc = nvmf_auth_response(hash, t->kt, ktl, t->c1, dhlen ? t->sk : NULL, dhlen, s1,
					a->tid, true, a->hostnqn, a->subnqn, t->r1);
	if (rc) {
		snprintf(why, sizeof(why), "cannot compute the response (OpenSSL): %s", strerror(-rc));
		rce = NVMF_AUTH_RCE_FAILED;
		goto fail2;
	}
	if (a->ctrl_key) {
		if (RAND_bytes(t->c2, (int)hl) != 1) {
			snprintf(why, sizeof(why), "no random bytes for the challenge (OpenSSL)");
			rce = NVMF_AUTH_RCE_FAILED;
			goto fail2;
		}
		s2 = next_seqnum();
	}
	n = nvmf_auth_build_reply(t->buf, sizeof(t->buf), a->tid, (uint8_t)hl, t->r1,
				  a->ctrl_key ? t->c2 : NULL, s2, t->hpub, (uint16_t)dhlen);
	rc = auth_cmd(qp, true, t->buf, (uint32_t)n, &status);
	if (rc || NVMF_STATUS_CODE(status))
		goto xfer_fail;

	/* Step 4: Success1 (or Failure1), with R2 when we sent C2. */
	step = "Success1";
	memset(t->buf, 0, sizeof(t->buf));
	rc = auth_cmd(qp, false, t->buf, sizeof(t->buf), &status);
	if (rc || NVMF_STATUS_CODE(status))
		goto xfer_fail;
	rc = nvmf_auth_parse(t->buf, sizeof(t->buf), (uint8_t)hl, &m, &rce, why, sizeof(why));
	if (rc)
		goto fail2;
	if (m.id == NVMF_AUTH_ID_FAILURE1)
		goto failure1;
	if (m.id != NVMF_AUTH_ID_SUCCESS1 || m.tid != a->tid) {
		snprintf(why, sizeof(why), "message 0x%02x for transaction %u instead of Success1 "
			 "for %u", m.id, m.tid, a->tid);
		rce = NVMF_AUTH_RCE_INCORRECT_MESSAGE;
		goto fail2;
	}
	if (a->ctrl_key) {
		step = "controller response";
		if (!m.rvalid) {
			snprintf(why, sizeof(why), "the controller did not answer our challenge");
			rce = NVMF_AUTH_RCE_FAILED;
			goto fail2;
		}
		rc = nvmf_dhchap_key_transform(a->ctrl_key, a->subnqn, t->kt, &ktl);
		if (rc == 0)
			rc = nvmf_auth_response(hash, t->kt, ktl, t->c2, dhlen ? t->sk : NULL, dhlen,
						s2, a->tid, false, a->hostnqn, a->subnqn, t->r2);
		if (rc) {
			snprintf(why, sizeof(why), "cannot compute the expected response (OpenSSL)");
			rce = NVMF_AUTH_RCE_FAILED;
			goto fail2;
		}
		if (CRYPTO_memcmp(t->r2, m.rval, hl)) {
			snprintf(why, sizeof(why), "the controller's response does not match "
				 "--dhchap-ctrl-secret: the controller is not who it claims");
			rce = NVMF_AUTH_RCE_FAILED;
			goto fail2;
		}
		/* Step 5: Success2. */
		step = "Success2";
		n = nvmf_auth_build_success2(t->buf, sizeof(t->buf), a->tid);
		rc = auth_cmd(qp, true, t->buf, (uint32_t)n, &status);
		if (rc || NVMF_STATUS_CODE(status))
			goto xfer_fail;
	}
	if (info) {
		info->hash = hash;
		info->dhgroup = dhgid;
		info->bidirectional = a->ctrl_key != NULL;
	}
	nvmf_debug("queue %u: authenticated (DH-HMAC-CHAP %s, hmac(%s), %s)", qp->qid, who,
		   nvmf_auth_hash_name(hash), nvmf_auth_dhgroup_name(dhgid));
	rc = 0;
	goto out;

failure1:
	/* The controller ended it: no Failure2 after a Failure1. */
	snprintf(err, errlen, "DH-HMAC-CHAP on queue %u: the controller refused at %s: %s "
		 "(Failure1 reason 0x%02x/0x%02x)", qp->qid, step,
		 nvmf_auth_failure_str(m.rescode_exp), m.rescode, m.rescode_exp);
	rc = -EKEYREJECTED;
	goto out;
fail2:
	snprintf(err, errlen, "DH-HMAC-CHAP on queue %u failed at %s: %s", qp->qid, step, why);
	n = nvmf_auth_build_failure2(t->buf, sizeof(t->buf), a->tid, rce);
	if (auth_cmd(qp, true, t->buf, (uint32_t)n, &status) < 0)
		nvmf_debug("queue %u: Failure2 not sent: %s", qp->qid, qp->errmsg);
	rc = -EKEYREJECTED;
	goto out;
xfer_fail:
	if (rc < 0 && !strcmp(step, "Success1")) {
		/*
		 * nvmet tears the association down right after it queues
		 * Failure1, and the teardown may overtake the answer. Either
		 * that or the network: retryable, but say what it likely was.
		 */
		snprintf(err, errlen, "DH-HMAC-CHAP on queue %u: the controller closed the "
			 "connection instead of answering our Reply (it refused the secret, or the "
			 "network failed): %s", qp->qid, qp->errmsg[0] ? qp->errmsg : strerror(-rc));
	} else if (rc < 0) {
		/* The connection, not the credentials: the caller may try again. */
		snprintf(err, errlen, "DH-HMAC-CHAP on queue %u: %s lost: %s", qp->qid, step,
			 qp->errmsg[0] ? qp->errmsg : strerror(-rc));
	} else {
		snprintf(err, errlen, "DH-HMAC-CHAP on queue %u: the controller refused %s: %s "
			 "(status 0x%03x)", qp->qid, step, nvmf_fabrics_status_str(status),
			 NVMF_STATUS_CODE(status));
		rc = -EKEYREJECTED;
	}
out:
	nvmf_auth_dh_free(dh);
	OPENSSL_cleanse(t, sizeof(*t));
	free(t);
	return rc;
}

int nvmf_fabrics_connect(struct nvmf_qpair *qp, const struct nvmf_connect_args *a,
			 uint16_t *cntlid, char *err, size_t errlen)
{
	struct nvmf_connect_data data;
	struct nvmf_request req = { 0 };
	struct nvmf_connect_sqe *c = (struct nvmf_connect_sqe *)&req.cmd;
	char why[160];
	uint32_t authreq;
	int rc;

	memset(&data, 0, sizeof(data));
	memcpy(data.hostid, a->hostid, 16);
	data.cntlid = htole16(a->cntlid);
	snprintf(data.subsysnqn, sizeof(data.subsysnqn), "%s", a->subnqn);
	snprintf(data.hostnqn, sizeof(data.hostnqn), "%s", a->hostnqn);

	c->opc = nvme_admin_fabrics;
	c->fctype = nvme_fabrics_type_connect;
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
			 req.status & NVME_SC_DNR ? ", do not retry" : "");
		return -ECONNREFUSED;
	}
	if (cntlid)
		*cntlid = le32toh(req.cqe.dw0) & 0xffff;
	authreq = le32toh(req.cqe.dw0) & (NVMF_CONNECT_AUTHREQ_ATR | NVMF_CONNECT_AUTHREQ_ASCR);
	if (authreq & NVMF_CONNECT_AUTHREQ_ASCR) {
		snprintf(err, errlen, "%s on queue %u requires secure channel concatenation "
			 "(DH-HMAC-CHAP then TLS), which nvmfuse does not support", a->subnqn,
			 qp->qid);
		return -EKEYREJECTED;
	}
	if (authreq) {
		struct nvmf_auth_args aa = {
			.hostnqn = a->hostnqn,
			.subnqn = a->subnqn,
			.key = a->dhchap_key,
			.ctrl_key = a->dhchap_ctrl_key,
			.tid = qp->qid,
		};

		if (!a->dhchap_key) {
			snprintf(err, errlen, "%s requires DH-HMAC-CHAP authentication (Connect "
				 "AUTHREQ) and no host secret was given: use --dhchap-secret",
				 a->subnqn);
			return -EKEYREJECTED;
		}
		rc = nvmf_fabrics_auth(qp, &aa, a->auth_info, err, errlen);
		if (rc < 0)
			return rc;
	}
	if (a->auth_info)
		a->auth_info->done = authreq != 0;
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
		const struct nvmf_prop_sqe *p = (const struct nvmf_prop_sqe *)&req->cmd;

		nvmf_warn("Property %s 0x%x failed: %s",
			  p->fctype == nvme_fabrics_type_property_get ? "Get" : "Set",
			  le32toh(p->ofst), nvmf_fabrics_status_str(req->status));
		return -EIO;
	}
	return 0;
}

int nvmf_prop_get(struct nvmf_qpair *qp, uint32_t ofst, bool eight, uint64_t *val)
{
	struct nvmf_request req = { .timeout_ms = qp->cmd_timeout_ms };
	struct nvmf_prop_sqe *c = (struct nvmf_prop_sqe *)&req.cmd;
	int rc;

	c->opc = nvme_admin_fabrics;
	c->fctype = nvme_fabrics_type_property_get;
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

	c->opc = nvme_admin_fabrics;
	c->fctype = nvme_fabrics_type_property_set;
	c->attrib = 0;
	c->ofst = htole32(ofst);
	c->value = htole64(val);
	return prop_exec(qp, &req);
}
