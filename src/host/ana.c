/* SPDX-License-Identifier: MIT */
/*
 * Asymmetric Namespace Access (see ana.h). Field references are to the
 * NVMe Base Specification 2.0: Identify Controller CMIC, ANATT, ANACAP,
 * ANAGRPMAX, NANAGRPID (figure 275), the ANA log page (5.16.1.13, figures
 * 258-259), the ANA change notice (Asynchronous Event Information 03h,
 * cleared by reading the log with RAE 0) and the path-related status
 * codes 301h-303h (8.1.3).
 *
 * The controller's table: struct nvmf_ana_ctx, one per non-discovery
 * controller for its whole life (c->ana). caps and log are replaced whole
 * under c->ns_lock, by the admin queue's owner (an asynchronous re-read)
 * or by the controller's owner (a reconnect adopting the donor's table);
 * every other thread only reads them under that lock. The re-read's
 * request, buffer and flags belong to the admin queue's owner alone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "host/ana.h"
#include "host/identify.h"
#include "host/nvmf.h"
#include "host/worker.h"

#define ANA_HDR_LEN	16u	/* struct nvme_ana_log without descriptors */
#define ANA_DESC_LEN	32u	/* struct nvme_ana_group_desc without NSIDs */

_Static_assert(sizeof(struct nvme_ana_log) == ANA_HDR_LEN, "ANA log header");
_Static_assert(sizeof(struct nvme_ana_group_desc) == ANA_DESC_LEN, "ANA group descriptor");

struct nvmf_ana_ctx {
	struct nvmf_ctrl *c;
	struct nvmf_ana_caps caps;	/* under c->ns_lock */
	struct nvmf_ana_log log;	/* under c->ns_lock */
	uint64_t changes;		/* atomic */
	uint64_t retries;		/* atomic, counted by the frontends */
	uint64_t refused;		/* pages refused (admin owner) */
	/* The asynchronous re-read (admin queue owner thread). */
	bool due;			/* a notice or an ANA status asked for one */
	bool inflight;
	struct nvmf_request req;
	uint8_t *buf;
	uint32_t buf_len;
	struct nvmf_worker_task refresh_task;
};

const char *nvmf_ana_state_str(enum nvmf_ana_state s)
{
	switch (s) {
	case NVMF_ANA_NONE: return "none";
	case NVMF_ANA_OPTIMIZED: return "optimized";
	case NVMF_ANA_NON_OPTIMIZED: return "non-optimized";
	case NVMF_ANA_INACCESSIBLE: return "inaccessible";
	case NVMF_ANA_PERSISTENT_LOSS: return "persistent-loss";
	case NVMF_ANA_CHANGE: return "change";
	}
	return "invalid";
}

/* ------------------------------------------------------------------ codec */

int nvmf_ana_caps_parse(const struct nvme_id_ctrl *id, struct nvmf_ana_caps *out, char *err,
			size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (!(id->cmic & NVME_CTRL_CMIC_MULTI_ANA_REPORTING) || !id->anacap)
		return 0;
	out->anacap = id->anacap;
	out->anatt = id->anatt;
	out->anagrpmax = le32toh(id->anagrpmax);
	out->nanagrpid = le32toh(id->nanagrpid);
	if (!out->anagrpmax || !out->nanagrpid) {
		snprintf(err, errlen, "controller reports ANA with ANAGRPMAX %u and NANAGRPID %u: "
			 "no group can exist", out->anagrpmax, out->nanagrpid);
		return -EPROTO;
	}
	if (out->nanagrpid > out->anagrpmax) {
		snprintf(err, errlen, "controller reports ANA with NANAGRPID %u above ANAGRPMAX %u",
			 out->nanagrpid, out->anagrpmax);
		return -EPROTO;
	}
	if (!(out->anacap & (NVME_CTRL_ANACAP_OPT | NVME_CTRL_ANACAP_NON_OPT))) {
		snprintf(err, errlen, "controller reports ANA with ANACAP 0x%02x: neither the "
			 "optimized nor the non-optimized state, no path could be used",
			 out->anacap);
		return -EPROTO;
	}
	out->reporting = true;
	return 0;
}

uint32_t nvmf_ana_log_size(const struct nvmf_ana_caps *caps, uint32_t max_nsids,
			   uint32_t max_xfer)
{
	uint64_t grps = caps->nanagrpid < NVMF_ANA_MAX_GROUPS ? caps->nanagrpid :
			NVMF_ANA_MAX_GROUPS;
	uint64_t n = ANA_HDR_LEN + grps * ANA_DESC_LEN + (uint64_t)max_nsids * 4;

	n = (n + 3) & ~3ull;
	if (max_xfer && n > max_xfer)
		n = max_xfer & ~3u;
	if (n > UINT32_MAX)
		n = UINT32_MAX & ~3u;
	return (uint32_t)n;
}

static bool state_known(uint8_t s)
{
	return s == NVMF_ANA_OPTIMIZED || s == NVMF_ANA_NON_OPTIMIZED ||
	       s == NVMF_ANA_INACCESSIBLE || s == NVMF_ANA_PERSISTENT_LOSS ||
	       s == NVMF_ANA_CHANGE;
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Any value in @v (@n entries, sorted in place) twice? Its value in *@dup. */
static bool has_dup(uint32_t *v, size_t n, uint32_t *dup)
{
	qsort(v, n, sizeof(*v), u32_cmp);
	for (size_t i = 1; i < n; i++)
		if (v[i] == v[i - 1]) {
			*dup = v[i];
			return true;
		}
	return false;
}

void nvmf_ana_log_free(struct nvmf_ana_log *log)
{
	free(log->grps);
	free(log->nsid_store);
	memset(log, 0, sizeof(*log));
}

int nvmf_ana_log_parse(const void *buf, size_t len, const struct nvmf_ana_caps *caps,
		       uint32_t nn, struct nvmf_ana_log *out, char *err, size_t errlen)
{
	const uint8_t *p = buf;
	uint32_t ngrps, total = 0, *scratch = NULL, dup;
	size_t off;
	int rc = -EPROTO;

	memset(out, 0, sizeof(*out));
	if (len < ANA_HDR_LEN) {
		snprintf(err, errlen, "ANA log: %zu bytes, shorter than its 16-byte header", len);
		return -EPROTO;
	}
	out->chgcnt = le64toh(*(const uint64_t *)(const void *)p);
	ngrps = (uint32_t)p[8] | (uint32_t)p[9] << 8;
	if (ngrps > caps->nanagrpid || ngrps > NVMF_ANA_MAX_GROUPS) {
		snprintf(err, errlen, "ANA log: %u group descriptors, more than NANAGRPID %u "
			 "(or the %u served)", ngrps, caps->nanagrpid, NVMF_ANA_MAX_GROUPS);
		return -EPROTO;
	}
	/* First pass: every descriptor and its NSIDs inside @len; count them. */
	off = ANA_HDR_LEN;
	for (uint32_t i = 0; i < ngrps; i++) {
		struct nvme_ana_group_desc d;
		uint32_t nnsids;

		if (len - off < ANA_DESC_LEN) {
			snprintf(err, errlen, "ANA log: group descriptor %u of %u starts at byte %zu "
				 "of %zu: truncated", i + 1, ngrps, off, len);
			return -EPROTO;
		}
		memcpy(&d, p + off, ANA_DESC_LEN);
		nnsids = le32toh(d.nnsids);
		off += ANA_DESC_LEN;
		/* Divide, so that a huge NNSIDS cannot overflow the product. */
		if (nnsids > (len - off) / 4) {
			snprintf(err, errlen, "ANA log: group %u lists %u NSIDs but only %zu bytes "
				 "follow", le32toh(d.grpid), nnsids, len - off);
			return -EPROTO;
		}
		off += (size_t)nnsids * 4;
		total += nnsids;	/* <= len / 4: no overflow */
	}
	out->ngrps = ngrps;
	out->total_nsids = total;
	out->grps = calloc(ngrps ? ngrps : 1, sizeof(*out->grps));
	out->nsid_store = calloc(total ? total : 1, sizeof(*out->nsid_store));
	scratch = calloc((total > ngrps ? total : ngrps) + 1, sizeof(*scratch));
	if (!out->grps || !out->nsid_store || !scratch) {
		snprintf(err, errlen, "ANA log: out of memory");
		rc = -ENOMEM;
		goto fail;
	}
	/* Second pass: the values. */
	off = ANA_HDR_LEN;
	total = 0;
	for (uint32_t i = 0; i < ngrps; i++) {
		struct nvmf_ana_group *g = &out->grps[i];
		struct nvme_ana_group_desc d;

		memcpy(&d, p + off, ANA_DESC_LEN);
		off += ANA_DESC_LEN;
		g->grpid = le32toh(d.grpid);
		g->nnsids = le32toh(d.nnsids);
		g->chgcnt = le64toh(d.chgcnt);
		g->state = (enum nvmf_ana_state)(d.state & 0x0f);
		if (!g->grpid || g->grpid > caps->anagrpmax) {
			snprintf(err, errlen, "ANA log: group ID %u outside 1..ANAGRPMAX %u",
				 g->grpid, caps->anagrpmax);
			goto fail;
		}
		if (!state_known(d.state & 0x0f)) {
			snprintf(err, errlen, "ANA log: group %u has state 0x%x, not one of the five "
				 "ANA states", g->grpid, d.state);
			goto fail;
		}
		g->nsids = out->nsid_store + total;
		for (uint32_t k = 0; k < g->nnsids; k++) {
			uint32_t nsid = le32toh(*(const uint32_t *)(const void *)(p + off));

			off += 4;
			if (!nsid || nsid == 0xffffffffu || (nn && nsid > nn)) {
				snprintf(err, errlen, "ANA log: group %u lists NSID %u (valid: 1..%u)",
					 g->grpid, nsid, nn ? nn : 0xfffffffeu);
				goto fail;
			}
			g->nsids[k] = nsid;
		}
		total += g->nnsids;
		scratch[i] = g->grpid;
	}
	if (has_dup(scratch, ngrps, &dup)) {
		snprintf(err, errlen, "ANA log: group %u is described twice", dup);
		goto fail;
	}
	memcpy(scratch, out->nsid_store, (size_t)total * sizeof(*scratch));
	if (has_dup(scratch, total, &dup)) {
		snprintf(err, errlen, "ANA log: NSID %u is listed twice", dup);
		goto fail;
	}
	free(scratch);
	return 0;
fail:
	free(scratch);
	nvmf_ana_log_free(out);
	return rc;
}

const struct nvmf_ana_group *nvmf_ana_log_find(const struct nvmf_ana_log *log, uint32_t nsid)
{
	for (uint32_t i = 0; i < log->ngrps; i++)
		for (uint32_t k = 0; k < log->grps[i].nnsids; k++)
			if (log->grps[i].nsids[k] == nsid)
				return &log->grps[i];
	return NULL;
}

/* ------------------------------------------------------- controller table */

/* Under c->ns_lock: namespace @nsid's state in @a's table. */
static enum nvmf_ana_state state_locked(const struct nvmf_ctrl *c, const struct nvmf_ana_ctx *a,
					uint32_t nsid)
{
	const struct nvmf_ana_group *g;

	if (!a->caps.reporting)
		return NVMF_ANA_NONE;
	g = nvmf_ana_log_find(&a->log, nsid);
	if (g)
		return g->state;
	/* Not listed (a page read with groups only): Identify Namespace ANAGRPID. */
	for (int i = 0; i < c->nr_ns; i++) {
		uint32_t grpid = le32toh(c->ns[i].id.anagrpid);

		if (c->ns[i].nsid != nsid || !grpid)
			continue;
		for (uint32_t k = 0; k < a->log.ngrps; k++)
			if (a->log.grps[k].grpid == grpid)
				return a->log.grps[k].state;
	}
	return NVMF_ANA_NONE;
}

enum nvmf_ana_state nvmf_ctrl_ana_state(struct nvmf_ctrl *c, uint32_t nsid)
{
	enum nvmf_ana_state s = NVMF_ANA_NONE;

	if (!c->ana)
		return NVMF_ANA_NONE;
	pthread_mutex_lock(&c->ns_lock);
	s = state_locked(c, c->ana, nsid);
	pthread_mutex_unlock(&c->ns_lock);
	return s;
}

uint64_t nvmf_ctrl_ana_changes(struct nvmf_ctrl *c)
{
	return c->ana ? __atomic_load_n(&c->ana->changes, __ATOMIC_RELAXED) : 0;
}

uint64_t nvmf_ctrl_ana_retries(struct nvmf_ctrl *c)
{
	return c->ana ? __atomic_load_n(&c->ana->retries, __ATOMIC_RELAXED) : 0;
}

void nvmf_ctrl_ana_count_retry(struct nvmf_ctrl *c)
{
	if (c->ana)
		__atomic_add_fetch(&c->ana->retries, 1, __ATOMIC_RELAXED);
}

unsigned int nvmf_ctrl_anatt(struct nvmf_ctrl *c)
{
	unsigned int t = 0;

	if (!c->ana)
		return 0;
	pthread_mutex_lock(&c->ns_lock);
	if (c->ana->caps.reporting)
		t = c->ana->caps.anatt;
	pthread_mutex_unlock(&c->ns_lock);
	return t;
}

/*
 * Make @log (consumed) and @caps @c's table. When @track, count a change
 * when any namespace's state moved, and log each move (not for the first
 * table of an association being connected: nothing moved then). Thread:
 * any (takes ns_lock).
 */
static void install(struct nvmf_ctrl *c, const struct nvmf_ana_caps *caps,
		    struct nvmf_ana_log *log, bool track)
{
	struct nvmf_ana_ctx *a = c->ana;
	struct nvmf_ana_ctx next = { .caps = *caps, .log = *log };
	struct nvmf_ana_log old;
	bool moved = false;

	pthread_mutex_lock(&c->ns_lock);
	for (int i = 0; i < c->nr_ns && track; i++) {
		enum nvmf_ana_state was = state_locked(c, a, c->ns[i].nsid);
		enum nvmf_ana_state now = state_locked(c, &next, c->ns[i].nsid);

		if (was == now)
			continue;
		/*
		 * A warning when I/O to it stops being served here, else news.
		 * One daemon logs for all of a subsystem's paths: name this one.
		 */
		nvmf_log(nvmf_ana_state_usable(now) ? NVMF_LOG_INFO : NVMF_LOG_WARN,
			 "namespace %u: ANA state %s -> %s on %s %s:%s (cntlid %u)",
			 c->ns[i].nsid, nvmf_ana_state_str(was), nvmf_ana_state_str(now),
			 c->opts.transport ? c->opts.transport : "?",
			 c->opts.traddr ? c->opts.traddr : "?",
			 c->opts.trsvcid ? c->opts.trsvcid : "-", c->cntlid);
		moved = true;
	}
	old = a->log;
	a->log = *log;
	a->caps = *caps;
	pthread_mutex_unlock(&c->ns_lock);
	nvmf_ana_log_free(&old);
	memset(log, 0, sizeof(*log));
	if (moved) {
		__atomic_add_fetch(&a->changes, 1, __ATOMIC_RELAXED);
		nvmf_ctrl_post_event(c, NVMF_CTRL_EV_ANA_CHANGED);
	}
}

/* Parse @len bytes of a page just read and install it (@track: see install). */
static bool take_page(struct nvmf_ctrl *c, const uint8_t *buf, uint32_t len, bool track)
{
	struct nvmf_ana_caps caps;
	struct nvmf_ana_log log;
	char err[200];
	int rc;

	pthread_mutex_lock(&c->ns_lock);
	caps = c->ana->caps;
	pthread_mutex_unlock(&c->ns_lock);
	rc = nvmf_ana_log_parse(buf, len, &caps, c->nn, &log, err, sizeof(err));
	if (rc < 0) {
		c->ana->refused++;
		nvmf_err("%s: page refused, the ANA states stay as they were", err);
		return false;
	}
	nvmf_debug("ANA log: change count %llu, %u group(s)", (unsigned long long)log.chgcnt,
		   log.ngrps);
	install(c, &caps, &log, track);
	return true;
}

/* Size the re-read buffer for @caps; 0 or -ENOMEM. Admin queue owner. */
static int size_buf(struct nvmf_ctrl *c, const struct nvmf_ana_caps *caps)
{
	struct nvmf_ana_ctx *a = c->ana;
	uint32_t nn = c->nn && c->nn < NVMF_MAX_NS ? c->nn : NVMF_MAX_NS;
	uint32_t want = nvmf_ana_log_size(caps, nn, c->max_xfer);
	uint8_t *b;

	if (want <= a->buf_len)
		return 0;
	b = aligned_alloc(64, (want + 63) & ~63u);
	if (!b)
		return -ENOMEM;
	free(a->buf);
	a->buf = b;
	a->buf_len = want;
	return 0;
}

/* Admin worker: an I/O path saw an ANA status while the table said usable. */
static void refresh_run(void *arg)
{
	struct nvmf_ctrl *c = arg;

	c->ana->due = true;	/* the service after this loop turn reads it */
}

int nvmf_ctrl_read_ana(struct nvmf_ctrl *c)
{
	struct nvmf_ana_caps caps;
	char err[200];
	int rc;

	if (!c->ana) {
		c->ana = calloc(1, sizeof(*c->ana));
		if (!c->ana)
			return -ENOMEM;
		c->ana->c = c;
		c->ana->refresh_task.fn = refresh_run;
		c->ana->refresh_task.arg = c;
	}
	rc = nvmf_ana_caps_parse(&c->id, &caps, err, sizeof(err));
	if (rc < 0) {
		nvmf_warn("%s: ANA not used", err);
		memset(&caps, 0, sizeof(caps));
	}
	if (!caps.reporting) {
		struct nvmf_ana_log none = { 0 };

		install(c, &caps, &none, false);
		return 0;
	}
	pthread_mutex_lock(&c->ns_lock);
	c->ana->caps = caps;	/* take_page checks against these */
	pthread_mutex_unlock(&c->ns_lock);
	rc = size_buf(c, &caps);
	if (rc < 0)
		return rc;
	rc = nvmf_get_log_page(c, NVME_LOG_LID_ANA, 0, 0xffffffffu, 0, c->ana->buf,
			       c->ana->buf_len, false);
	if (rc == -EIO) {	/* a refusal is not a broken association */
		nvmf_warn("the controller reports ANA but refused its ANA log page: "
			  "namespaces count as optimized until a notice");
		return 0;
	}
	if (rc < 0)
		return rc;
	take_page(c, c->ana->buf, c->ana->buf_len, false);	/* a new association */
	return 0;
}

void nvmf_ctrl_ana_adopt(struct nvmf_ctrl *c, struct nvmf_ctrl *donor)
{
	struct nvmf_ana_caps caps;
	struct nvmf_ana_log log;

	if (!donor->ana)
		return;
	if (!c->ana) {
		/* Cannot happen for a controller that connected (it has one): keep it simple. */
		return;
	}
	pthread_mutex_lock(&donor->ns_lock);
	caps = donor->ana->caps;
	log = donor->ana->log;
	memset(&donor->ana->log, 0, sizeof(donor->ana->log));
	pthread_mutex_unlock(&donor->ns_lock);
	install(c, &caps, &log, true);
}

void nvmf_ctrl_ana_free(struct nvmf_ctrl *c)
{
	if (!c->ana)
		return;
	nvmf_ana_log_free(&c->ana->log);
	free(c->ana->buf);
	free(c->ana);
	c->ana = NULL;
}

void nvmf_ctrl_ana_notice(struct nvmf_ctrl *c)
{
	if (c->ana)
		c->ana->due = true;
}

void nvmf_ctrl_ana_refresh(struct nvmf_ctrl *c)
{
	if (c->ana && c->admin_worker)
		nvmf_worker_run(c->admin_worker, &c->ana->refresh_task);
}

bool nvmf_ctrl_ana_due(const struct nvmf_ctrl *c)
{
	return c->ana && c->ana->due && !c->ana->inflight;
}

void nvmf_ctrl_ana_queue_reset(struct nvmf_ctrl *c)
{
	if (c->ana)
		c->ana->inflight = false;
}

static void reread_done(struct nvmf_request *req)
{
	struct nvmf_ctrl *c = req->cb_arg;
	struct nvmf_ana_ctx *a = c->ana;

	a->inflight = false;
	if (req->xport_err)
		return;		/* the association failed: a reconnect reads it again */
	if (NVMF_STATUS_CODE(req->status)) {
		nvmf_warn("ANA log could not be read: %s (0x%03x)", nvmf_status_str(req->status),
			  NVMF_STATUS_CODE(req->status));
		return;
	}
	take_page(c, a->buf, a->buf_len, true);
}

void nvmf_ctrl_ana_reread(struct nvmf_ctrl *c)
{
	struct nvmf_ana_ctx *a = c->ana;
	struct nvmf_request *req;
	struct nvmf_ana_caps caps;

	if (!a || !a->due || a->inflight)
		return;
	a->due = false;
	pthread_mutex_lock(&c->ns_lock);
	caps = a->caps;
	pthread_mutex_unlock(&c->ns_lock);
	if (!caps.reporting || size_buf(c, &caps) < 0)
		return;
	req = &a->req;
	/* RAE 0: reading the log clears the ANA change notice (Base 5.2). */
	nvmf_log_page_req(req, NVME_LOG_LID_ANA, 0, 0xffffffffu, 0, a->buf, a->buf_len, false);
	req->timeout_ms = c->adminq->cmd_timeout_ms;
	req->cb = reread_done;
	req->cb_arg = c;
	if (nvmf_qpair_submit(c->adminq, req) == 0)
		a->inflight = true;
}
