/* SPDX-License-Identifier: MIT */
/*
 * The namespace scan, as a state machine of asynchronous admin commands:
 *
 *   LIST (Identify CNS 2, IDs above the last one) -> for each ID:
 *     NS (Identify CNS 0) -> DESC (Identify CNS 3) -> next ID
 *   -> next LIST page while the page was full -> install
 *
 * It runs on the admin queue's owner thread (the admin worker once the
 * controller is started) between other work: keep-alive, AER and control
 * requests are never held up by it, and each command is bounded by the
 * admin command timeout. Everything the target answers is checked
 * (host/identify.h): the scan always ends, after at most
 * NVMF_MAX_NS / 1024 + 1 list pages, with strictly increasing IDs.
 *
 * Installing a new list (ns_install) gives each namespace its instance:
 * the old one when nvmf_ns_same() says nothing changed, a new one
 * otherwise. When an instance ends (gone, or changed while we were away),
 * ns_epoch moves, so frontends notice with one atomic load per I/O
 * (nvmf_ctrl_ns_current()) and fail that namespace's I/O instead of
 * serving the old disk from the new namespace.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "host/identify.h"
#include "host/nvmf.h"

enum scan_step { SCAN_LIST, SCAN_NS, SCAN_DESC };

struct nvmf_scan {
	struct nvmf_ctrl *c;
	struct nvmf_request req;
	enum scan_step step;
	uint32_t ids[1024];
	int nids, pos;
	uint32_t last;			/* highest ID seen: the next page starts above it */
	bool more;			/* the last page was full */
	struct nvmf_ns cur;
	struct nvmf_ns *ns;
	int n, cap;
	bool done;
	int rc;
	uint8_t buf[4096] __attribute__((aligned(64)));
};

static void scan_next(struct nvmf_scan *s);

static void scan_identify(struct nvmf_scan *s, uint8_t cns, uint32_t nsid)
{
	struct nvmf_request *req = &s->req;

	memset(req, 0, sizeof(*req));
	req->cmd.opc = nvme_admin_identify;
	req->cmd.nsid = htole32(nsid);
	req->cmd.cdw10 = htole32(cns);
	req->data = s->buf;
	req->data_len = sizeof(s->buf);
	req->dir = NVMF_DIR_C2H;
	req->timeout_ms = s->c->adminq->cmd_timeout_ms;
	req->cb = NULL;		/* set by the caller */
	req->cb_arg = s;
}

/* Give each namespace of @ns its instance and make @ns the controller's list. */
static void ns_install(struct nvmf_ctrl *c, struct nvmf_ns *ns, int n)
{
	bool ended = false;

	pthread_mutex_lock(&c->ns_lock);
	for (int i = 0; i < n; i++) {
		ns[i].instance = 0;
		for (int j = 0; j < c->nr_ns; j++)
			if (nvmf_ns_same(&c->ns[j], &ns[i]))
				ns[i].instance = c->ns[j].instance;
		if (!ns[i].instance)
			ns[i].instance = ++c->ns_instance_seq;
	}
	for (int j = 0; j < c->nr_ns; j++) {
		bool kept = false;

		for (int i = 0; i < n && !kept; i++)
			kept = ns[i].instance == c->ns[j].instance;
		if (!kept) {
			nvmf_info("namespace %u %s", c->ns[j].nsid, "is gone or changed");
			ended = true;
		}
	}
	free(c->ns);
	c->ns = ns;
	c->nr_ns = n;
	c->rescans++;
	if (ended)
		__atomic_add_fetch(&c->ns_epoch, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&c->ns_lock);
}

static void scan_finish(struct nvmf_scan *s, int rc)
{
	struct nvmf_ctrl *c = s->c;

	s->done = true;
	s->rc = rc;
	if (rc == 0) {
		ns_install(c, s->ns, s->n);
		s->ns = NULL;
		nvmf_ctrl_post_event(c, NVMF_CTRL_EV_NS_CHANGED);
	}
}

static bool scan_failed(struct nvmf_scan *s, const char *what)
{
	struct nvmf_request *req = &s->req;

	if (req->xport_err) {
		scan_finish(s, req->xport_err);
		return true;
	}
	if (NVMF_STATUS_CODE(req->status)) {
		nvmf_warn("namespace scan: %s failed: %s (0x%03x)", what, nvmf_status_str(req->status),
			  NVMF_STATUS_CODE(req->status));
		return true;
	}
	return false;
}

static void scan_submit(struct nvmf_scan *s, uint8_t cns, uint32_t nsid, nvmf_req_cb cb)
{
	int rc;

	scan_identify(s, cns, nsid);
	s->req.cb = cb;
	rc = nvmf_qpair_submit(s->c->adminq, &s->req);
	if (rc < 0)
		scan_finish(s, rc);
}

static void desc_done(struct nvmf_request *req)
{
	struct nvmf_scan *s = req->cb_arg;

	if (req->xport_err) {
		scan_finish(s, req->xport_err);
		return;
	}
	/* Optional for old controllers: a failure leaves the identifiers zero. */
	if (!NVMF_STATUS_CODE(req->status))
		nvmf_ns_descs_parse(s->buf, &s->cur);
	s->ns[s->n++] = s->cur;
	s->pos++;
	scan_next(s);
}

static void ns_done(struct nvmf_request *req)
{
	struct nvmf_scan *s = req->cb_arg;
	char err[200];
	int rc;

	if (scan_failed(s, "Identify Namespace")) {
		if (!s->done) {		/* that namespace only */
			s->pos++;
			scan_next(s);
		}
		return;
	}
	rc = nvmf_id_ns_parse(s->ids[s->pos], (const struct nvme_id_ns *)s->buf, &s->cur, err,
			      sizeof(err));
	if (rc != 0) {
		if (rc < 0)
			nvmf_err("%s: namespace not served", err);
		s->pos++;	/* inactive or refused */
		scan_next(s);
		return;
	}
	if (s->n == s->cap) {
		int cap = s->cap ? s->cap * 2 : 8;
		struct nvmf_ns *bigger = realloc(s->ns, (size_t)cap * sizeof(*s->ns));

		if (!bigger) {
			scan_finish(s, -ENOMEM);
			return;
		}
		s->ns = bigger;
		s->cap = cap;
	}
	scan_submit(s, NVME_IDENTIFY_CNS_NS_DESC_LIST, s->cur.nsid, desc_done);
}

static void list_done(struct nvmf_request *req)
{
	struct nvmf_scan *s = req->cb_arg;
	char err[200];
	int rc;

	if (scan_failed(s, "Identify Active Namespace List")) {
		if (!s->done)
			scan_finish(s, -EIO);
		return;
	}
	rc = nvmf_ns_list_parse((const uint32_t *)s->buf, s->last, s->c->nn, s->ids, &s->nids,
				&s->more, err, sizeof(err));
	if (rc < 0) {
		nvmf_ctrl_set_error(s->c, rc, "%s", err);
		nvmf_err("%s", err);
		scan_finish(s, rc);
		return;
	}
	s->pos = 0;
	if (s->nids)
		s->last = s->ids[s->nids - 1];
	scan_next(s);
}

/* The next step after a namespace or a page is done. */
static void scan_next(struct nvmf_scan *s)
{
	if (s->pos < s->nids) {
		if (s->n >= NVMF_MAX_NS) {
			nvmf_warn("namespace scan: more than %d active namespaces; the rest are "
				  "not served", NVMF_MAX_NS);
			scan_finish(s, 0);
			return;
		}
		scan_submit(s, NVME_IDENTIFY_CNS_NS, s->ids[s->pos], ns_done);
		return;
	}
	if (s->more && s->n < NVMF_MAX_NS) {
		s->more = false;
		scan_submit(s, NVME_IDENTIFY_CNS_NS_ACTIVE_LIST, s->last, list_done);
		return;
	}
	scan_finish(s, 0);
}

/* Start a scan; false when one cannot start (no memory). Admin queue owner thread. */
static bool scan_start(struct nvmf_ctrl *c)
{
	struct nvmf_scan *s = calloc(1, sizeof(*s));

	if (!s)
		return false;
	s->c = c;
	c->scan = s;
	scan_submit(s, NVME_IDENTIFY_CNS_NS_ACTIVE_LIST, 0, list_done);
	return true;
}

/* Free a finished scan; start the next one when it was asked for meanwhile. */
static int scan_reap(struct nvmf_ctrl *c)
{
	struct nvmf_scan *s = c->scan;
	int rc;

	if (!s || !s->done)
		return 0;
	rc = s->rc;
	c->scan = NULL;
	free(s->ns);
	free(s);
	if (rc < 0)
		nvmf_debug("namespace scan ended: %s", strerror(-rc));
	if (c->rescan_again && c->adminq->state == NVMF_QP_LIVE) {
		c->rescan_again = false;
		if (!scan_start(c))
			return -ENOMEM;
	}
	return rc;
}

void nvmf_ctrl_scan_free(struct nvmf_ctrl *c)
{
	/* Only after its queue is gone: no command of it is outstanding. */
	if (c->scan) {
		free(c->scan->ns);
		free(c->scan);
		c->scan = NULL;
	}
}

void nvmf_ctrl_rescan(struct nvmf_ctrl *c)
{
	if (c->scan) {
		c->rescan_again = true;
		return;
	}
	if (!scan_start(c))
		nvmf_warn("namespace scan: out of memory");
	scan_reap(c);
}

bool nvmf_ctrl_scan_finished(const struct nvmf_ctrl *c)
{
	return c->scan && c->scan->done;
}

int nvmf_ctrl_scan_poll(struct nvmf_ctrl *c)
{
	return scan_reap(c);
}

int nvmf_ctrl_scan_ns(struct nvmf_ctrl *c)
{
	int rc = 0;

	if (c->scan)
		return -EBUSY;
	if (!scan_start(c))
		return -ENOMEM;
	/* A failed queue pair completes every command, so this ends. */
	while (!c->scan->done && nvmf_qpair_wait(c->adminq, 100) >= 0)
		;
	if (!c->scan->done) {
		nvmf_err("namespace scan: still running after its queue failed");
		return -EIO;
	}
	rc = c->scan->rc;
	c->rescan_again = false;
	scan_reap(c);
	return rc;
}

void nvmf_ctrl_ns_adopt(struct nvmf_ctrl *c, struct nvmf_ctrl *donor)
{
	struct nvmf_ns *ns;
	int n;

	pthread_mutex_lock(&donor->ns_lock);
	ns = donor->ns;
	n = donor->nr_ns;
	donor->ns = NULL;
	donor->nr_ns = 0;
	pthread_mutex_unlock(&donor->ns_lock);
	ns_install(c, ns, n);
}

void nvmf_ns_ref_init(struct nvmf_ns_ref *r, const struct nvmf_ns *ns)
{
	r->nsid = ns->nsid;
	r->instance = ns->instance;
	r->epoch = 0;
	r->gone = false;
}

bool nvmf_ns_ref_valid(struct nvmf_ctrl *c, struct nvmf_ns_ref *r)
{
	unsigned int epoch = __atomic_load_n(&r->epoch, __ATOMIC_RELAXED);

	if (__atomic_load_n(&r->gone, __ATOMIC_RELAXED))
		return false;
	if (!nvmf_ctrl_ns_current(c, r->nsid, r->instance, &epoch)) {
		__atomic_store_n(&r->gone, true, __ATOMIC_RELAXED);
		return false;
	}
	__atomic_store_n(&r->epoch, epoch, __ATOMIC_RELAXED);
	return true;
}

bool nvmf_ctrl_ns_current(struct nvmf_ctrl *c, uint32_t nsid, uint64_t instance,
			  unsigned int *epoch)
{
	unsigned int now = __atomic_load_n(&c->ns_epoch, __ATOMIC_ACQUIRE);
	bool found = false;

	if (now == *epoch)
		return true;
	pthread_mutex_lock(&c->ns_lock);
	for (int i = 0; i < c->nr_ns && !found; i++)
		found = c->ns[i].nsid == nsid && c->ns[i].instance == instance;
	pthread_mutex_unlock(&c->ns_lock);
	if (found)
		*epoch = now;
	return found;
}
