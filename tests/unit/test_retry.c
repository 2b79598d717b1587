/* SPDX-License-Identifier: MIT */
/* Retry decisions (host/retry.h): DNR, CRD delays, budget, partial reads. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "host/retry.h"

static struct nvmf_request req_with(uint16_t status, int xport_err, enum nvmf_dir dir,
				    uint32_t len, uint32_t ok)
{
	struct nvmf_request r;

	memset(&r, 0, sizeof(r));
	r.status = status;
	r.xport_err = xport_err;
	r.dir = dir;
	r.data_len = len;
	r.bytes_ok = ok;
	return r;
}

static const uint16_t crdt[3] = { 1, 5, 30 };	/* 100 ms, 500 ms, 3 s */

START_TEST(test_success_completes)
{
	struct nvmf_request r = req_with(0, 0, NVMF_DIR_C2H, 4096, 4096);
	struct nvmf_retry_decision d = nvmf_retry_decide(&r, 1, 5, crdt, 512);

	ck_assert_int_eq(d.action, NVMF_RETRY_COMPLETE);
	ck_assert_uint_eq(d.delay_ms, 0);
}
END_TEST

START_TEST(test_dnr_fails)
{
	/* Invalid Field with DNR: never retried, whatever the budget or CRD. */
	struct nvmf_request r = req_with(0x002 | NVME_SC_DNR | (1 << 11), 0, NVMF_DIR_H2C,
					 4096, 0);
	struct nvmf_retry_decision d = nvmf_retry_decide(&r, 1, 100, crdt, 512);

	ck_assert_int_eq(d.action, NVMF_RETRY_FAIL);
	ck_assert_str_eq(d.why, "do not retry (DNR)");
}
END_TEST

START_TEST(test_no_dnr_retries_with_crd_delay)
{
	static const struct { unsigned int crd; uint32_t delay; } cases[] = {
		{ 0, 0 }, { 1, 100 }, { 2, 500 }, { 3, 3000 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct nvmf_request r = req_with((uint16_t)(NVMF_SC_INTERNAL | cases[i].crd << 11), 0,
						 NVMF_DIR_H2C, 4096, 4096);
		struct nvmf_retry_decision d = nvmf_retry_decide(&r, 1, 5, crdt, 512);

		ck_assert_int_eq(d.action, NVMF_RETRY_AGAIN);
		ck_assert_uint_eq(d.delay_ms, cases[i].delay);
	}
	/* Without CRDT values (ACRE off) the delay is 0 whatever CRD says. */
	{
		struct nvmf_request r = req_with(NVMF_SC_INTERNAL | 2 << 11, 0, NVMF_DIR_NONE, 0, 0);

		ck_assert_uint_eq(nvmf_retry_decide(&r, 1, 5, NULL, 512).delay_ms, 0);
	}
}
END_TEST

START_TEST(test_budget)
{
	struct nvmf_request r = req_with(NVMF_SC_TRANSIENT_TR_ERR, 0, NVMF_DIR_NONE, 0, 0);

	/* attempts counts sends: with budget 5, sends 1..5 may retry, the 6th may not. */
	for (unsigned int a = 1; a <= 5; a++)
		ck_assert_int_eq(nvmf_retry_decide(&r, a, 5, crdt, 512).action, NVMF_RETRY_AGAIN);
	ck_assert_int_eq(nvmf_retry_decide(&r, 6, 5, crdt, 512).action, NVMF_RETRY_FAIL);
	ck_assert_int_eq(nvmf_retry_decide(&r, 1, 0, crdt, 512).action, NVMF_RETRY_FAIL);
}
END_TEST

START_TEST(test_partial_read_offsets)
{
	/* 64 KiB read, the 3rd of 4 C2HData PDUs failed its digest: 32 KiB intact. */
	struct nvmf_request r = req_with(NVMF_SC_DATA_XFER_ERROR, 0, NVMF_DIR_C2H, 65536, 32768);
	struct nvmf_retry_decision d = nvmf_retry_decide(&r, 1, 5, crdt, 4096);

	ck_assert_int_eq(d.action, NVMF_RETRY_PARTIAL);
	ck_assert_uint_eq(d.done_bytes, 32768);

	/* Rounded down to whole blocks: a torn block is fetched again. */
	r.bytes_ok = 5000;
	d = nvmf_retry_decide(&r, 1, 5, crdt, 4096);
	ck_assert_int_eq(d.action, NVMF_RETRY_PARTIAL);
	ck_assert_uint_eq(d.done_bytes, 4096);

	/* Less than a block: nothing to keep, retry it whole. */
	r.bytes_ok = 4095;
	d = nvmf_retry_decide(&r, 1, 5, crdt, 4096);
	ck_assert_int_eq(d.action, NVMF_RETRY_AGAIN);

	/* A write is never partial: data sent is not data stored. */
	r = req_with(NVMF_SC_DATA_XFER_ERROR, 0, NVMF_DIR_H2C, 65536, 32768);
	d = nvmf_retry_decide(&r, 1, 5, crdt, 4096);
	ck_assert_int_eq(d.action, NVMF_RETRY_AGAIN);
	ck_assert_uint_eq(d.done_bytes, 0);

	/* A partial read with DNR is still a failure. */
	r = req_with(NVMF_SC_DATA_XFER_ERROR | NVME_SC_DNR, 0, NVMF_DIR_C2H, 65536, 32768);
	ck_assert_int_eq(nvmf_retry_decide(&r, 1, 5, crdt, 4096).action, NVMF_RETRY_FAIL);
}
END_TEST

START_TEST(test_transport_failure_waits_for_reconnect)
{
	struct nvmf_request r = req_with(NVMF_SC_HOST_PATH_ERROR, -ECONNRESET, NVMF_DIR_H2C,
					 8192, 4096);
	struct nvmf_retry_decision d = nvmf_retry_decide(&r, 1, 5, crdt, 512);

	ck_assert_int_eq(d.action, NVMF_RETRY_RECONNECT);
	/* A read cut off by the connection loss keeps what arrived intact. */
	r = req_with(NVMF_SC_HOST_PATH_ERROR, -ECONNRESET, NVMF_DIR_C2H, 8192, 4096);
	d = nvmf_retry_decide(&r, 1, 5, crdt, 512);
	ck_assert_int_eq(d.action, NVMF_RETRY_PARTIAL);
	ck_assert_uint_eq(d.done_bytes, 4096);
}
END_TEST

START_TEST(test_ana_status_waits_without_budget)
{
	/* Inaccessible and Transition wait for the group, even with the budget used up. */
	struct nvmf_request r = req_with(NVMF_SC_ANA_INACCESSIBLE, 0, NVMF_DIR_H2C, 4096, 0);
	struct nvmf_retry_decision d = nvmf_retry_decide(&r, 40, 5, crdt, 512);

	ck_assert_int_eq(d.action, NVMF_RETRY_ANA_WAIT);
	r = req_with(NVMF_SC_ANA_TRANSITION, 0, NVMF_DIR_C2H, 4096, 0);
	ck_assert_int_eq(nvmf_retry_decide(&r, 1, 5, crdt, 512).action, NVMF_RETRY_ANA_WAIT);
	/* Persistent loss does not come back on this path; DNR is obeyed. */
	r = req_with(NVMF_SC_ANA_PERSISTENT_LOSS, 0, NVMF_DIR_C2H, 4096, 0);
	ck_assert_int_eq(nvmf_retry_decide(&r, 1, 5, crdt, 512).action, NVMF_RETRY_FAIL);
	r = req_with(NVMF_SC_ANA_INACCESSIBLE | NVME_SC_DNR, 0, NVMF_DIR_C2H, 4096, 0);
	ck_assert_int_eq(nvmf_retry_decide(&r, 1, 5, crdt, 512).action, NVMF_RETRY_FAIL);
	/* Other path-related codes are not ANA: the usual rules. */
	r = req_with(0x300, 0, NVMF_DIR_C2H, 4096, 0);
	ck_assert_int_eq(nvmf_retry_decide(&r, 1, 5, crdt, 512).action, NVMF_RETRY_AGAIN);
	ck_assert_str_eq(nvmf_retry_action_str(NVMF_RETRY_ANA_WAIT), "wait for ANA");
}
END_TEST

START_TEST(test_ana_wait_bounds)
{
	struct nvmf_ana_wait_decision w;

	/* Just arrived on a group the table calls optimized: stale, re-read, wait. */
	w = nvmf_retry_ana_wait(NVMF_ANA_OPTIMIZED, 0, 10, true);
	ck_assert_int_eq(w.action, NVMF_ANA_WAIT_MORE);
	ck_assert(w.refresh);
	ck_assert_uint_eq(w.delay_ms, NVMF_ANA_POLL_MS);
	/* Inaccessible: wait, no re-read (the notice will come). */
	w = nvmf_retry_ana_wait(NVMF_ANA_INACCESSIBLE, 0, 10, true);
	ck_assert_int_eq(w.action, NVMF_ANA_WAIT_MORE);
	ck_assert(!w.refresh);
	w = nvmf_retry_ana_wait(NVMF_ANA_CHANGE, 9000, 10, false);
	ck_assert_int_eq(w.action, NVMF_ANA_WAIT_MORE);
	/* The last look falls on the deadline, not beyond it. */
	w = nvmf_retry_ana_wait(NVMF_ANA_CHANGE, 9980, 10, false);
	ck_assert_int_eq(w.action, NVMF_ANA_WAIT_MORE);
	ck_assert_uint_eq(w.delay_ms, 20);
	/* Back to optimized or non-optimized (or no ANA at all): resubmit. */
	ck_assert_int_eq(nvmf_retry_ana_wait(NVMF_ANA_OPTIMIZED, 4000, 10, false).action,
			 NVMF_ANA_WAIT_RESUBMIT);
	ck_assert_int_eq(nvmf_retry_ana_wait(NVMF_ANA_NON_OPTIMIZED, 4000, 10, false).action,
			 NVMF_ANA_WAIT_RESUBMIT);
	ck_assert_int_eq(nvmf_retry_ana_wait(NVMF_ANA_NONE, 1, 10, false).action,
			 NVMF_ANA_WAIT_RESUBMIT);
	/* ... also after a wait longer than ANATT (the group came back at last). */
	ck_assert_int_eq(nvmf_retry_ana_wait(NVMF_ANA_OPTIMIZED, 15000, 10, false).action,
			 NVMF_ANA_WAIT_RESUBMIT);
	/*
	 * Inaccessible is held for as long as the group is, past ANATT, as
	 * the Linux host holds it (a disconnect or a lost controller ends the
	 * wait: nvmf_retry_ana_wait_ctrl).
	 */
	w = nvmf_retry_ana_wait(NVMF_ANA_INACCESSIBLE, 10000, 10, false);
	ck_assert_int_eq(w.action, NVMF_ANA_WAIT_MORE);
	ck_assert_uint_eq(w.delay_ms, NVMF_ANA_POLL_MS);
	ck_assert_int_eq(nvmf_retry_ana_wait(NVMF_ANA_INACCESSIBLE, 3600000, 10, false).action,
			 NVMF_ANA_WAIT_MORE);
	/* A transition longer than ANATT, a stale table past it, or persistent loss: fail. */
	ck_assert_int_eq(nvmf_retry_ana_wait(NVMF_ANA_CHANGE, 10000, 10, false).action,
			 NVMF_ANA_WAIT_FAIL);
	ck_assert_int_eq(nvmf_retry_ana_wait(NVMF_ANA_OPTIMIZED, 10000, 10, true).action,
			 NVMF_ANA_WAIT_FAIL);
	ck_assert_int_eq(nvmf_retry_ana_wait(NVMF_ANA_PERSISTENT_LOSS, 0, 10, true).action,
			 NVMF_ANA_WAIT_FAIL);
	/* ANATT 0: the default bound. */
	ck_assert_int_eq(nvmf_retry_ana_wait(NVMF_ANA_CHANGE, NVMF_ANA_DEFAULT_ANATT * 1000 - 1,
					     0, false).action, NVMF_ANA_WAIT_MORE);
	ck_assert_int_eq(nvmf_retry_ana_wait(NVMF_ANA_CHANGE, NVMF_ANA_DEFAULT_ANATT * 1000, 0,
					     false).action, NVMF_ANA_WAIT_FAIL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("retry");
	TCase *tc = tcase_create("decide");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_success_completes);
	tcase_add_test(tc, test_dnr_fails);
	tcase_add_test(tc, test_no_dnr_retries_with_crd_delay);
	tcase_add_test(tc, test_budget);
	tcase_add_test(tc, test_partial_read_offsets);
	tcase_add_test(tc, test_transport_failure_waits_for_reconnect);
	tcase_add_test(tc, test_ana_status_waits_without_budget);
	tcase_add_test(tc, test_ana_wait_bounds);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
