/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/base/qpair.c: command ids (slot | generation),
 * flow control, stale-cid rejection, failure fan-out and timeouts.
 *
 * The pure logic is driven through a tiny in-test transport (no sockets):
 * its submit op only records the request, and the test completes requests
 * by hand the way a transport would (nvmf_qpair_lookup + complete). The
 * timeout case is also run end to end over NVMe/TCP against the fake
 * target (tests/unit/fake_target.c) with a command it never answers.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "host/nvmf.h"
#include "fake_target.h"

/* ------------------------------------------------------ mock transport */

struct mock_qp {
	struct nvmf_qpair qp;		/* must be first */
	int submit_rc;			/* what the transport's submit returns */
	bool auto_complete;		/* process() completes everything with success */
	unsigned int submits;
};

static int mock_submit(struct nvmf_qpair *qp, struct nvmf_request *req)
{
	struct mock_qp *m = (struct mock_qp *)qp;

	(void)req;
	m->submits++;
	return m->submit_rc;
}

static int mock_process(struct nvmf_qpair *qp)
{
	struct mock_qp *m = (struct mock_qp *)qp;
	int n = 0;

	if (qp->state == NVMF_QP_FAILED)
		return qp->err;
	if (!m->auto_complete)
		return 0;
	for (uint16_t s = 0; s < qp->depth; s++) {
		if (qp->slots[s]) {
			nvmf_qpair_complete(qp, qp->slots[s]);
			n++;
		}
	}
	return n;
}

static int mock_pollfd(struct nvmf_qpair *qp, short *events)
{
	(void)qp;
	*events = POLLIN;
	return -1;		/* poll() ignores it and just sleeps */
}

static void mock_destroy(struct nvmf_qpair *qp)
{
	if (qp->slots && qp->outstanding)
		nvmf_qpair_fail(qp, -ECONNABORTED, "closed");
	nvmf_qpair_fini(qp);
	free(qp);
}

static const struct nvmf_transport_ops mock_ops = {
	.name = "mock",
	.qpair_destroy = mock_destroy,
	.submit = mock_submit,
	.process = mock_process,
	.pollfd = mock_pollfd,
};

static struct mock_qp *mock_new(uint16_t depth)
{
	struct mock_qp *m = calloc(1, sizeof(*m));

	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(nvmf_qpair_init(&m->qp, &mock_ops, 1, depth), 0);
	m->qp.state = NVMF_QP_LIVE;
	return m;
}

/* Completion bookkeeping shared by the callbacks. */
struct done {
	unsigned int calls;
	uint16_t status;
	int xport_err;
};

static void count_cb(struct nvmf_request *req)
{
	struct done *d = req->cb_arg;

	d->calls++;
	d->status = req->status;
	d->xport_err = req->xport_err;
}

static void req_init(struct nvmf_request *req, struct done *d, uint32_t timeout_ms)
{
	memset(req, 0, sizeof(*req));
	memset(d, 0, sizeof(*d));
	req->cmd.opc = 0x00;		/* Flush: no data */
	req->cmd.flags = 0x83;		/* junk the engine must replace */
	req->cb = count_cb;
	req->cb_arg = d;
	req->timeout_ms = timeout_ms;
}

/* What a transport does when a response for @cid arrives. */
static bool respond(struct nvmf_qpair *qp, uint16_t cid, uint16_t status)
{
	struct nvmf_request *req = nvmf_qpair_lookup(qp, cid);

	if (!req)
		return false;
	req->status = status;
	nvmf_qpair_complete(qp, req);
	return true;
}

static uint64_t ms_since(uint64_t t0)
{
	return (nvmf_now_ns() - t0) / 1000000;
}

/*
 * For hot loops: Check's ck_assert_*() records a checkpoint on every call
 * (an I/O round trip to the runner), far too slow for 100k iterations.
 */
#define REQUIRE(cond, ...) do { if (!(cond)) ck_abort_msg(__VA_ARGS__); } while (0)

static const uint16_t depths[] = { 1, 2, 3, 31, 32, 127, 128, 1000, 1024, 4096 };

/* ------------------------------------------------------------- tests */

START_TEST(test_init_limits)
{
	struct nvmf_qpair qp;

	memset(&qp, 0, sizeof(qp));
	ck_assert_int_eq(nvmf_qpair_init(&qp, &mock_ops, 0, 0), -EINVAL);
	ck_assert_int_eq(nvmf_qpair_init(&qp, &mock_ops, 0, 4097), -EINVAL);
	ck_assert_int_eq(nvmf_qpair_init(&qp, &mock_ops, 0, 1), 0);
	ck_assert_uint_eq(qp.nfree, 1);
	ck_assert_uint_eq(qp.outstanding, 0);
	ck_assert_int_eq(qp.state, NVMF_QP_CONNECTING);
	nvmf_qpair_fini(&qp);
	ck_assert_int_eq(nvmf_qpair_init(&qp, &mock_ops, 0, 4096), 0);
	ck_assert_uint_eq(qp.nfree, 4096);
	nvmf_qpair_fini(&qp);
}
END_TEST

/* Fill the queue: cids unique, never 0xFFFF, found by lookup; then -EBUSY. */
START_TEST(test_cids_unique_until_busy)
{
	uint16_t depth = depths[_i];
	struct mock_qp *m = mock_new(depth);
	struct nvmf_request *reqs = calloc(depth + 1u, sizeof(*reqs));
	struct done *dn = calloc(depth + 1u, sizeof(*dn));
	uint8_t *seen = calloc(65536, 1);

	ck_assert_ptr_nonnull(reqs);
	ck_assert_ptr_nonnull(dn);
	ck_assert_ptr_nonnull(seen);
	for (unsigned int i = 0; i < depth; i++) {
		uint16_t cid;

		req_init(&reqs[i], &dn[i], 0);
		REQUIRE(nvmf_qpair_submit(&m->qp, &reqs[i]) == 0, "depth %u: submit %u", depth, i);
		cid = reqs[i].cid;
		REQUIRE(cid != 0xffff, "depth %u: cid 0xFFFF", depth);
		REQUIRE(!seen[cid], "depth %u: cid 0x%x handed out twice", depth, cid);
		seen[cid] = 1;
		REQUIRE(le16toh(reqs[i].cmd.cid) == cid, "SQE cid 0x%x != 0x%x",
			le16toh(reqs[i].cmd.cid), cid);
		REQUIRE((reqs[i].cmd.flags & 0xc0) == 0x40, "PSDT not SGL: flags 0x%x",
			reqs[i].cmd.flags);
		REQUIRE((reqs[i].cmd.flags & 0x3f) == 0x03, "FUSE bits lost: flags 0x%x",
			reqs[i].cmd.flags);
		REQUIRE(reqs[i].slot < depth, "slot %u", reqs[i].slot);
	}
	ck_assert_uint_eq(m->qp.outstanding, depth);
	for (unsigned int i = 0; i < depth; i++)
		REQUIRE(nvmf_qpair_lookup(&m->qp, reqs[i].cid) == &reqs[i], "lookup of cid 0x%x",
			reqs[i].cid);

	req_init(&reqs[depth], &dn[depth], 0);
	ck_assert_int_eq(nvmf_qpair_submit(&m->qp, &reqs[depth]), -EBUSY);
	ck_assert_uint_eq(m->qp.outstanding, depth);
	ck_assert_uint_eq(m->qp.stats.submitted, depth);
	ck_assert_uint_eq(m->submits, depth);

	/* Complete odd ones first, then even ones, as responses may come. */
	for (int pass = 1; pass >= 0; pass--)
		for (unsigned int i = (unsigned int)pass; i < depth; i += 2)
			REQUIRE(respond(&m->qp, reqs[i].cid, 0), "respond to cid 0x%x", reqs[i].cid);
	for (unsigned int i = 0; i < depth; i++)
		REQUIRE(dn[i].calls == 1, "request %u: %u callbacks", i, dn[i].calls);
	ck_assert_uint_eq(m->qp.outstanding, 0);
	ck_assert_uint_eq(m->qp.nfree, depth);
	ck_assert_uint_eq(m->qp.stats.completed, depth);
	/* Room again. */
	ck_assert_int_eq(nvmf_qpair_submit(&m->qp, &reqs[depth]), 0);
	ck_assert(respond(&m->qp, reqs[depth].cid, 0));
	nvmf_qpair_destroy(&m->qp);
	free(seen);
	free(dn);
	free(reqs);
}
END_TEST

/* Reusing a slot changes the cid, all the way around the generation space. */
START_TEST(test_generation_changes_on_reuse)
{
	uint16_t depth = depths[_i];
	struct mock_qp *m = mock_new(depth);
	struct nvmf_request req;
	struct done d;
	uint16_t prev_cid = 0, prev_slot = 0;
	/* Enough cycles to wrap the generation counter at least twice. */
	unsigned int cycles = 2 * 65536u / depth + 8;

	for (unsigned int n = 0; n < cycles; n++) {
		req_init(&req, &d, 0);
		REQUIRE(nvmf_qpair_submit(&m->qp, &req) == 0, "depth %u cycle %u: submit", depth, n);
		REQUIRE(req.cid != 0xffff, "depth %u cycle %u: cid 0xFFFF", depth, n);
		if (n) {
			REQUIRE(req.slot == prev_slot, "depth %u cycle %u: slot %u, was %u", depth, n,
				req.slot, prev_slot);
			REQUIRE(req.cid != prev_cid, "depth %u cycle %u: cid 0x%x reused at once",
				depth, n, req.cid);
			REQUIRE(!nvmf_qpair_lookup(&m->qp, prev_cid),
				"depth %u cycle %u: stale cid 0x%x still found", depth, n, prev_cid);
		}
		REQUIRE(nvmf_qpair_lookup(&m->qp, req.cid) == &req, "depth %u cycle %u: lookup",
			depth, n);
		prev_cid = req.cid;
		prev_slot = req.slot;
		REQUIRE(respond(&m->qp, req.cid, 0), "depth %u cycle %u: respond", depth, n);
		REQUIRE(d.calls == 1, "depth %u cycle %u: %u callbacks", depth, n, d.calls);
	}
	ck_assert_uint_eq(m->qp.outstanding, 0);
	nvmf_qpair_destroy(&m->qp);
}
END_TEST

/* The highest slot of a full 4096-deep queue (where 0xFFFF lives) cycles. */
START_TEST(test_top_slot_skips_ffff)
{
	struct mock_qp *m = mock_new(4096);
	struct nvmf_request *reqs = calloc(4096, sizeof(*reqs));
	struct done *dn = calloc(4096, sizeof(*dn));
	struct nvmf_request *top = NULL;

	ck_assert_ptr_nonnull(reqs);
	ck_assert_ptr_nonnull(dn);
	for (int i = 0; i < 4096; i++) {
		req_init(&reqs[i], &dn[i], 0);
		REQUIRE(nvmf_qpair_submit(&m->qp, &reqs[i]) == 0, "submit %d", i);
		if (reqs[i].slot == 4095)
			top = &reqs[i];
	}
	ck_assert_ptr_nonnull(top);
	for (int n = 0; n < 40; n++) {
		uint16_t old = top->cid;

		ck_assert(respond(&m->qp, old, 0));
		ck_assert_int_eq(nvmf_qpair_submit(&m->qp, top), 0);
		ck_assert_uint_eq(top->slot, 4095);
		ck_assert_uint_ne(top->cid, 0xffff);
		ck_assert_uint_ne(top->cid, old);
		ck_assert_uint_eq(top->cid & 0xfff, 4095);
	}
	nvmf_qpair_destroy(&m->qp);	/* fails the 4096 outstanding ones */
	for (int i = 0; i < 4096; i++)
		REQUIRE(dn[i].calls >= 1, "request %d: never completed", i);
	free(dn);
	free(reqs);
}
END_TEST

START_TEST(test_lookup_rejects_stale)
{
	struct mock_qp *m = mock_new(3);	/* 2 slot bits, slot 3 never valid */
	struct nvmf_request a, b, late;
	struct done da, db, dl;
	uint16_t a_cid;

	req_init(&a, &da, 0);
	ck_assert_int_eq(nvmf_qpair_submit(&m->qp, &a), 0);
	a_cid = a.cid;
	ck_assert(respond(&m->qp, a_cid, 0));
	ck_assert_uint_eq(da.calls, 1);
	/* Nothing in that slot now. */
	ck_assert_ptr_null(nvmf_qpair_lookup(&m->qp, a_cid));
	ck_assert(!respond(&m->qp, a_cid, 0));

	req_init(&b, &db, 0);
	ck_assert_int_eq(nvmf_qpair_submit(&m->qp, &b), 0);
	ck_assert_uint_eq(b.slot, a.slot);
	ck_assert_uint_ne(b.cid, a_cid);
	/* A late answer for the old command must not complete the new one. */
	ck_assert_ptr_null(nvmf_qpair_lookup(&m->qp, a_cid));
	ck_assert(!respond(&m->qp, a_cid, 0));
	ck_assert_uint_eq(db.calls, 0);
	/* The transport calling complete for a stale request is ignored too. */
	memcpy(&late, &a, sizeof(late));
	memset(&dl, 0, sizeof(dl));
	late.cb_arg = &dl;
	nvmf_qpair_complete(&m->qp, &late);
	ck_assert_uint_eq(dl.calls, 0);
	ck_assert_uint_eq(m->qp.outstanding, 1);

	/* Slot bits naming a slot beyond the depth, and random cids. */
	for (uint32_t cid = 0; cid < 0x10000; cid++)
		REQUIRE(cid == b.cid || !nvmf_qpair_lookup(&m->qp, (uint16_t)cid),
			"cid 0x%x found", cid);
	ck_assert(respond(&m->qp, b.cid, 0x002));
	ck_assert_uint_eq(db.calls, 1);
	ck_assert_uint_eq(db.status, 0x002);
	ck_assert_uint_eq(m->qp.stats.errors, 1);
	ck_assert_uint_eq(m->qp.outstanding, 0);
	nvmf_qpair_destroy(&m->qp);
}
END_TEST

START_TEST(test_submit_errors)
{
	struct mock_qp *m = mock_new(4);
	struct nvmf_request req;
	struct done d;
	uint8_t buf[16];

	/* The transport refuses: nothing stays allocated. */
	m->submit_rc = -ENOBUFS;
	req_init(&req, &d, 0);
	ck_assert_int_eq(nvmf_qpair_submit(&m->qp, &req), -ENOBUFS);
	ck_assert_uint_eq(m->qp.outstanding, 0);
	ck_assert_uint_eq(m->qp.nfree, 4);
	ck_assert_uint_eq(m->qp.stats.submitted, 0);
	ck_assert_ptr_null(nvmf_qpair_lookup(&m->qp, req.cid));
	ck_assert_uint_eq(d.calls, 0);
	m->submit_rc = 0;

	/* A data direction without a buffer. */
	req_init(&req, &d, 0);
	req.dir = NVMF_DIR_C2H;
	ck_assert_int_eq(nvmf_qpair_submit(&m->qp, &req), -EINVAL);
	req.data = buf;
	ck_assert_int_eq(nvmf_qpair_submit(&m->qp, &req), -EINVAL);	/* length 0 */
	req.data_len = sizeof(buf);
	ck_assert_int_eq(nvmf_qpair_submit(&m->qp, &req), 0);
	ck_assert_uint_eq(m->qp.outstanding, 1);
	ck_assert(respond(&m->qp, req.cid, 0));
	ck_assert_uint_eq(m->qp.outstanding, 0);
	nvmf_qpair_destroy(&m->qp);
}
END_TEST

START_TEST(test_fail_fans_out)
{
	struct mock_qp *m = mock_new(8);
	struct nvmf_request reqs[5], more;
	struct done dn[5], dm;

	for (int i = 0; i < 5; i++) {
		req_init(&reqs[i], &dn[i], i == 2 ? 0 : 1000);
		ck_assert_int_eq(nvmf_qpair_submit(&m->qp, &reqs[i]), 0);
	}
	ck_assert(respond(&m->qp, reqs[1].cid, 0));	/* one already done */
	nvmf_qpair_fail(&m->qp, -ECONNRESET, "peer %s went away", "x");
	ck_assert_int_eq(m->qp.state, NVMF_QP_FAILED);
	ck_assert_int_eq(m->qp.err, -ECONNRESET);
	ck_assert_str_eq(m->qp.errmsg, "peer x went away");
	ck_assert_uint_eq(m->qp.outstanding, 0);
	for (int i = 0; i < 5; i++) {
		ck_assert_uint_eq(dn[i].calls, 1);
		if (i == 1) {
			ck_assert_uint_eq(dn[i].status, 0);
			continue;
		}
		ck_assert_uint_eq(dn[i].status, NVMF_SC_HOST_PATH_ERROR);
		ck_assert_int_eq(dn[i].xport_err, -ECONNRESET);
		ck_assert(!nvmf_req_ok(&reqs[i]));
	}
	/* The first cause stays. */
	nvmf_qpair_fail(&m->qp, -EIO, "second");
	ck_assert_str_eq(m->qp.errmsg, "peer x went away");
	ck_assert_int_eq(m->qp.err, -ECONNRESET);
	req_init(&more, &dm, 0);
	ck_assert_int_eq(nvmf_qpair_submit(&m->qp, &more), -ENOTCONN);
	ck_assert_int_eq(nvmf_qpair_poll(&m->qp, 0), -ECONNRESET);
	ck_assert_uint_eq(dm.calls, 0);
	nvmf_qpair_destroy(&m->qp);
}
END_TEST

/*
 * A failed queue pair completes its commands oldest first, whatever slots
 * they hold: held writes are replayed in the order they were sent (they
 * were failed in slot order, so a newer write to the same blocks could be
 * replayed before an older one and the older data land last).
 */
static unsigned int g_order[8], g_norder;

static void order_cb(struct nvmf_request *req)
{
	g_order[g_norder++] = (unsigned int)(uintptr_t)req->cb_arg;
}

START_TEST(test_fail_completes_oldest_first)
{
	struct mock_qp *m = mock_new(4);
	struct nvmf_request reqs[6];
	struct done d;

	/* Slots 0..3 by A..D; A and B finish; E and F reuse slots 0 and 1. */
	for (int i = 0; i < 6; i++) {
		req_init(&reqs[i], &d, 1000);
		reqs[i].cb = order_cb;
		reqs[i].cb_arg = (void *)(uintptr_t)i;
	}
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(nvmf_qpair_submit(&m->qp, &reqs[i]), 0);
	ck_assert(respond(&m->qp, reqs[0].cid, 0));
	ck_assert(respond(&m->qp, reqs[1].cid, 0));
	ck_assert_int_eq(nvmf_qpair_submit(&m->qp, &reqs[4]), 0);
	ck_assert_int_eq(nvmf_qpair_submit(&m->qp, &reqs[5]), 0);
	ck_assert_uint_lt(reqs[4].slot, reqs[2].slot);	/* newer, lower slot */
	g_norder = 0;
	nvmf_qpair_fail(&m->qp, -ECONNRESET, "gone");
	ck_assert_uint_eq(g_norder, 4);
	ck_assert_uint_eq(g_order[0], 2);
	ck_assert_uint_eq(g_order[1], 3);
	ck_assert_uint_eq(g_order[2], 4);
	ck_assert_uint_eq(g_order[3], 5);
	nvmf_qpair_destroy(&m->qp);
}
END_TEST

/* A callback may resubmit its own request (the API allows it). */
struct resubmit_ctx {
	struct nvmf_qpair *qp;
	unsigned int calls;
	int rc;
};

static void resubmit_cb(struct nvmf_request *req)
{
	struct resubmit_ctx *x = req->cb_arg;

	if (++x->calls == 1)
		x->rc = nvmf_qpair_submit(x->qp, req);
}

START_TEST(test_callback_resubmits)
{
	struct mock_qp *m = mock_new(1);
	struct resubmit_ctx x = { .qp = &m->qp, .rc = 1 };
	struct nvmf_request req;
	struct done unused;
	uint16_t first;

	req_init(&req, &unused, 0);
	req.cb = resubmit_cb;
	req.cb_arg = &x;
	ck_assert_int_eq(nvmf_qpair_submit(&m->qp, &req), 0);
	first = req.cid;
	ck_assert(respond(&m->qp, first, 0));
	ck_assert_uint_eq(x.calls, 1);
	ck_assert_int_eq(x.rc, 0);		/* resubmission accepted in the callback */
	ck_assert_uint_eq(m->qp.outstanding, 1);
	ck_assert_uint_ne(req.cid, first);
	ck_assert_ptr_null(nvmf_qpair_lookup(&m->qp, first));
	ck_assert(respond(&m->qp, req.cid, 0));
	ck_assert_uint_eq(x.calls, 2);
	ck_assert_uint_eq(m->qp.outstanding, 0);
	nvmf_qpair_destroy(&m->qp);
}
END_TEST

START_TEST(test_exec_waits_for_completion)
{
	struct mock_qp *m = mock_new(2);
	struct nvmf_request req;
	struct done d;

	m->auto_complete = true;
	req_init(&req, &d, 1000);
	ck_assert_int_eq(nvmf_qpair_exec(&m->qp, &req), 0);
	ck_assert_uint_eq(m->qp.outstanding, 0);
	ck_assert(nvmf_req_ok(&req));
	nvmf_qpair_destroy(&m->qp);
}
END_TEST

/* One overdue command fails the whole queue pair with -ETIMEDOUT. */
START_TEST(test_timeout_fails_queue)
{
	struct mock_qp *m = mock_new(8);
	struct nvmf_request reqs[3];
	struct done dn[3];
	const uint32_t tmo[3] = { 0, 50, 5000 };
	uint64_t t0 = nvmf_now_ns();
	int rc = 0;

	for (int i = 0; i < 3; i++) {
		req_init(&reqs[i], &dn[i], tmo[i]);
		ck_assert_int_eq(nvmf_qpair_submit(&m->qp, &reqs[i]), 0);
	}
	while (m->qp.outstanding && ms_since(t0) < 2000) {
		rc = nvmf_qpair_poll(&m->qp, 5);
		if (rc < 0)
			break;
	}
	ck_assert_int_eq(rc, -ETIMEDOUT);
	ck_assert_uint_ge(ms_since(t0), 50);
	ck_assert_uint_lt(ms_since(t0), 1000);
	ck_assert_int_eq(m->qp.state, NVMF_QP_FAILED);
	ck_assert_int_eq(m->qp.err, -ETIMEDOUT);
	ck_assert_ptr_nonnull(strstr(m->qp.errmsg, "timed out"));
	ck_assert_uint_eq(m->qp.stats.timeouts, 1);
	ck_assert_uint_eq(m->qp.outstanding, 0);
	for (int i = 0; i < 3; i++) {
		ck_assert_uint_eq(dn[i].calls, 1);
		ck_assert_uint_eq(dn[i].status, NVMF_SC_HOST_PATH_ERROR);
		ck_assert_int_eq(dn[i].xport_err, -ETIMEDOUT);
	}
	nvmf_qpair_destroy(&m->qp);
}
END_TEST

/* Commands without a timeout (AER) are never expired. */
START_TEST(test_no_timeout_never_expires)
{
	struct mock_qp *m = mock_new(2);
	struct nvmf_request req;
	struct done d;
	uint64_t t0 = nvmf_now_ns();

	req_init(&req, &d, 0);
	ck_assert_int_eq(nvmf_qpair_submit(&m->qp, &req), 0);
	while (ms_since(t0) < 300)
		ck_assert_int_ge(nvmf_qpair_poll(&m->qp, 10), 0);
	ck_assert_uint_eq(d.calls, 0);
	ck_assert_int_eq(m->qp.state, NVMF_QP_LIVE);
	ck_assert(respond(&m->qp, req.cid, 0));
	nvmf_qpair_destroy(&m->qp);
}
END_TEST

/* ------------------------------------------- timeout over NVMe/TCP */

#define HOSTNQN "nqn.2014-08.org.nvmexpress:uuid:0f8c4f2e-3b5a-4d1e-9c7b-2a6d8e4f1b3c"
#define HOSTID "0f8c4f2e-3b5a-4d1e-9c7b-2a6d8e4f1b3c"

START_TEST(test_tcp_timeout_fails_queue)
{
	struct ft_config cfg;
	struct ft *ft;
	struct nvmf_ctrl_opts o = { 0 };
	struct nvmf_ctrl *c = NULL;
	struct nvmf_request reqs[3];
	struct done dn[3];
	const uint32_t tmo[3] = { 300, 0, 3000 };
	uint8_t *buf = malloc(3 * 4096);
	char err[256] = "";
	struct ft_stats st;
	struct nvmf_qpair *qp;
	uint64_t t0;
	int rc = 0;

	ck_assert_ptr_nonnull(buf);
	ft_config_default(&cfg);
	ft = ft_start(&cfg);
	ck_assert_ptr_nonnull(ft);
	o.transport = "tcp";
	o.traddr = "127.0.0.1";
	o.trsvcid = ft_port(ft);
	o.subnqn = FT_SUBNQN;
	o.hostnqn = HOSTNQN;
	o.hostid = HOSTID;
	o.nr_io_queues = 1;
	o.timeout_ms = 3000;
	rc = nvmf_ctrl_connect(&o, &c, err, sizeof(err));
	ck_assert_msg(rc == 0, "connect: %d %s", rc, err);
	ck_assert_int_eq(c->nr_ioq, 1);
	qp = c->ioq[0];

	ft_arm(ft, 1, FT_FAULT_NO_ANSWER, 0);
	for (int i = 0; i < 3; i++) {
		req_init(&reqs[i], &dn[i], tmo[i]);
		reqs[i].cmd.opc = 0x02;
		reqs[i].cmd.nsid = htole32(1);
		reqs[i].cmd.cdw10 = htole32((uint32_t)i * 8);
		reqs[i].cmd.cdw12 = htole32(7);		/* 8 blocks of 512 B */
		reqs[i].data = buf + i * 4096;
		reqs[i].data_len = 4096;
		reqs[i].dir = NVMF_DIR_C2H;
		ck_assert_int_eq(nvmf_qpair_submit(qp, &reqs[i]), 0);
	}
	t0 = nvmf_now_ns();
	while (qp->outstanding && ms_since(t0) < 3000) {
		rc = nvmf_qpair_poll(qp, 20);
		if (rc < 0)
			break;
	}
	ck_assert_int_eq(rc, -ETIMEDOUT);
	ck_assert_uint_ge(ms_since(t0), 250);
	ck_assert_uint_lt(ms_since(t0), 1500);
	ck_assert_int_eq(qp->state, NVMF_QP_FAILED);
	ck_assert_ptr_nonnull(strstr(qp->errmsg, "timed out"));
	ck_assert_uint_eq(qp->outstanding, 0);
	for (int i = 0; i < 3; i++) {
		ck_assert_uint_eq(dn[i].calls, 1);
		ck_assert_uint_eq(dn[i].status, NVMF_SC_HOST_PATH_ERROR);
		ck_assert_int_eq(dn[i].xport_err, -ETIMEDOUT);
	}
	/* The admin queue is unaffected: normal shutdown still happens. */
	nvmf_ctrl_disconnect(c);
	ft_get_stats(ft, &st);
	ck_assert_uint_eq(st.shutdowns, 1);
	ck_assert_msg(st.violations == 0, "%s", st.violation);
	ft_stop(ft);
	free(buf);
}
END_TEST

static Suite *qpair_suite(void)
{
	Suite *s = suite_create("qpair");
	TCase *tc = tcase_create("cid");
	int nd = (int)(sizeof(depths) / sizeof(depths[0]));

	tcase_add_test(tc, test_init_limits);
	tcase_add_loop_test(tc, test_cids_unique_until_busy, 0, nd);
	tcase_add_loop_test(tc, test_generation_changes_on_reuse, 0, nd);
	tcase_add_test(tc, test_top_slot_skips_ffff);
	tcase_add_test(tc, test_lookup_rejects_stale);
	tcase_set_timeout(tc, 10);
	suite_add_tcase(s, tc);

	tc = tcase_create("flow");
	tcase_add_test(tc, test_submit_errors);
	tcase_add_test(tc, test_fail_fans_out);
	tcase_add_test(tc, test_fail_completes_oldest_first);
	tcase_add_test(tc, test_callback_resubmits);
	tcase_add_test(tc, test_exec_waits_for_completion);
	tcase_set_timeout(tc, 5);
	suite_add_tcase(s, tc);

	tc = tcase_create("timeout");
	tcase_add_test(tc, test_timeout_fails_queue);
	tcase_add_test(tc, test_no_timeout_never_expires);
	tcase_add_test(tc, test_tcp_timeout_fails_queue);
	tcase_set_timeout(tc, 8);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(qpair_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
