/* SPDX-License-Identifier: MIT */
/*
 * NVMe/RDMA wire pieces (transport/rdma_proto.h): CM private data, reject
 * decoding, keyed SGLs, and the buffer-pool page allocator checked against
 * a reference model.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "transport/rdma_proto.h"

START_TEST(test_cm_req_layout)
{
	uint8_t pd[RDMA_CM_PRIV_LEN];

	memset(pd, 0xee, sizeof(pd));
	rdma_cm_req_build(pd, 3, 129, 128);
	/* RECFMT 0, QID 3, HRQSIZE 129, HSQSIZE 128, CNTLID and the rest 0. */
	const uint8_t want[8] = { 0, 0, 3, 0, 129, 0, 128, 0 };

	ck_assert_mem_eq(pd, want, sizeof(want));
	for (size_t i = 8; i < sizeof(pd); i++)
		ck_assert_uint_eq(pd[i], 0);
}
END_TEST

START_TEST(test_cm_reject)
{
	const uint8_t hsq[4] = { 0, 0, 0x04, 0 };
	const uint8_t plain[148] = { 0 };	/* IB CM REJ without NVMe data */
	const uint8_t fmt1[4] = { 1, 0, 0x04, 0 };
	uint16_t sts = 0xffff;

	ck_assert(rdma_cm_rej_parse(hsq, sizeof(hsq), &sts));
	ck_assert_uint_eq(sts, 4);
	ck_assert_str_eq(rdma_cm_rej_str(sts), "invalid host send queue size (HSQSIZE)");
	ck_assert(!rdma_cm_rej_parse(plain, sizeof(plain), &sts));
	ck_assert(!rdma_cm_rej_parse(fmt1, sizeof(fmt1), &sts));
	ck_assert(!rdma_cm_rej_parse(hsq, 3, &sts));
	ck_assert(!rdma_cm_rej_parse(NULL, 0, &sts));
	ck_assert_str_eq(rdma_cm_rej_str(0x06), "controller out of resources");
	ck_assert_str_eq(rdma_cm_rej_str(0x09), "unknown NVMe/RDMA reject status");
	ck_assert_str_eq(rdma_cm_rej_str(0xffff), "unknown NVMe/RDMA reject status");
}
END_TEST

START_TEST(test_cm_accept)
{
	const uint8_t ok[32] = { 0, 0, 128, 0 };
	const uint8_t bad[32] = { 2, 0, 128, 0 };
	uint16_t crq = 1;

	ck_assert_int_eq(rdma_cm_acc_parse(ok, sizeof(ok), &crq), 0);
	ck_assert_uint_eq(crq, 128);
	ck_assert_int_eq(rdma_cm_acc_parse(bad, sizeof(bad), &crq), -EPROTO);
	ck_assert_int_eq(rdma_cm_acc_parse(NULL, 0, &crq), 0);
	ck_assert_uint_eq(crq, 0);
}
END_TEST

/*
 * The CM private data parsers read what the controller sent: any length,
 * any bytes. Random inputs in exactly-sized heap buffers (so an ASan build
 * catches any read past the end), each checked against the rules.
 */
START_TEST(test_cm_parsers_any_input)
{
	unsigned int seed = 777;

	for (int i = 0; i < 200000; i++) {
		size_t len = (size_t)(rand_r(&seed) % 40);
		uint8_t *b = malloc(len ? len : 1);
		uint16_t sts = 0, crq = 0;
		bool rej;
		int acc;

		ck_assert_ptr_nonnull(b);
		for (size_t k = 0; k < len; k++)
			b[k] = (uint8_t)(rand_r(&seed) % 4 ? 0 : rand_r(&seed));
		rej = rdma_cm_rej_parse(b, len, &sts);
		ck_assert_int_eq(rej, len >= 4 && !b[0] && !b[1] && (b[2] || b[3]));
		if (rej) {
			ck_assert_uint_eq(sts, b[2] | b[3] << 8);
			ck_assert_ptr_nonnull(rdma_cm_rej_str(sts));
		}
		acc = rdma_cm_acc_parse(b, len, &crq);
		ck_assert_int_eq(acc, len >= 2 && (b[0] || b[1]) ? -EPROTO : 0);
		if (acc == 0)
			ck_assert_uint_eq(crq, len >= 4 ? (b[2] | b[3] << 8) : 0);
		free(b);
	}
}
END_TEST

START_TEST(test_sgl_keyed)
{
	struct nvmf_sgl sgl;
	const uint8_t want[16] = {
		0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,	/* address */
		0x56, 0x34, 0x12,				/* 24-bit length */
		0xef, 0xbe, 0xad, 0xde,				/* key */
		0x40,						/* keyed data block */
	};

	rdma_sgl_keyed(&sgl, 0x1122334455667788ull, 0x123456, 0xdeadbeef, false);
	ck_assert_mem_eq(&sgl, want, 16);
	rdma_sgl_keyed(&sgl, 0, 0, 0, true);
	ck_assert_uint_eq(((uint8_t *)&sgl)[15], 0x4f);
	rdma_sgl_icd(&sgl, 4096);
	ck_assert_uint_eq(le64toh(sgl.addr), 0);
	ck_assert_uint_eq(le32toh(sgl.length), 4096);
	ck_assert_uint_eq(sgl.id, 0x01);
}
END_TEST

START_TEST(test_pool_basic)
{
	struct rdma_pool_map m;

	ck_assert_int_eq(rdma_pool_map_init(&m, 130), 0);
	ck_assert_int_eq(rdma_pool_alloc(&m, 0), -E2BIG);
	ck_assert_int_eq(rdma_pool_alloc(&m, 131), -E2BIG);
	ck_assert_int_eq(rdma_pool_alloc(&m, 64), 0);
	ck_assert_int_eq(rdma_pool_alloc(&m, 64), 64);
	ck_assert_int_eq(rdma_pool_alloc(&m, 3), -ENOSPC);
	ck_assert_int_eq(rdma_pool_alloc(&m, 2), 128);
	ck_assert_int_eq(rdma_pool_alloc(&m, 1), -ENOSPC);
	/* Free a hole in the middle: a run that fits is found across the wrap. */
	rdma_pool_free(&m, 10, 20);
	ck_assert_int_eq(rdma_pool_alloc(&m, 21), -ENOSPC);
	ck_assert_int_eq(rdma_pool_alloc(&m, 20), 10);
	rdma_pool_free(&m, 0, 64);
	rdma_pool_free(&m, 64, 64);
	rdma_pool_free(&m, 128, 2);
	ck_assert_uint_eq(m.used, 0);
	ck_assert_int_eq(rdma_pool_alloc(&m, 130), 0);
	rdma_pool_map_fini(&m);
}
END_TEST

/*
 * Random allocations and frees against a byte-per-page model: no run is
 * handed out twice, and an allocation fails only when the model has no
 * free run of that length either.
 */
START_TEST(test_pool_model)
{
	enum { PAGES = 300, LIVE = 64 };
	struct rdma_pool_map m;
	uint8_t model[PAGES] = { 0 };
	struct { int64_t first; uint32_t n; } live[LIVE] = { 0 };
	unsigned int seed = 12345;

	ck_assert_int_eq(rdma_pool_map_init(&m, PAGES), 0);
	for (int step = 0; step < 200000; step++) {
		int k = rand_r(&seed) % LIVE;

		if (live[k].n) {
			for (uint32_t i = 0; i < live[k].n; i++)
				model[live[k].first + i] = 0;
			rdma_pool_free(&m, (uint32_t)live[k].first, live[k].n);
			live[k].n = 0;
			continue;
		}
		uint32_t n = 1 + (uint32_t)(rand_r(&seed) % 40);
		int64_t first = rdma_pool_alloc(&m, n);

		if (first < 0) {
			ck_assert_int_eq(first, -ENOSPC);
			/* The model must have no free run of n either. */
			uint32_t run = 0;

			for (int i = 0; i < PAGES; i++) {
				run = model[i] ? 0 : run + 1;
				ck_assert_uint_lt(run, n);
			}
			continue;
		}
		ck_assert_int_le(first + n, PAGES);
		for (uint32_t i = 0; i < n; i++) {
			ck_assert_uint_eq(model[first + i], 0);
			model[first + i] = 1;
		}
		live[k].first = first;
		live[k].n = n;
	}
	rdma_pool_map_fini(&m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("rdma_proto");
	TCase *tc = tcase_create("wire");
	TCase *tp = tcase_create("pool");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_cm_req_layout);
	tcase_add_test(tc, test_cm_reject);
	tcase_add_test(tc, test_cm_accept);
	tcase_add_test(tc, test_cm_parsers_any_input);
	tcase_add_test(tc, test_sgl_keyed);
	tcase_add_test(tp, test_pool_basic);
	tcase_add_test(tp, test_pool_model);
	tcase_set_timeout(tp, 60);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tp);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
