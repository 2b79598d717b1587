/* SPDX-License-Identifier: MIT */
/* Multipath path selection (host/mpath.h): policies, usability, failover. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "host/identify.h"
#include "host/mpath.h"

static struct nvmf_ctrl ctrl[4];
static struct nvmf_mpath_path path[4];
static struct nvmf_mpath m;

/* Paths 0..n-1, all LIVE, in slots 0..n-1. */
static void setup(int n, enum nvmf_iopolicy pol)
{
	memset(ctrl, 0, sizeof(ctrl));
	memset(path, 0, sizeof(path));
	for (int i = 0; i < 4; i++) {
		ctrl[i].state = NVMF_CTRL_LIVE;
		path[i].ctrl = &ctrl[i];
	}
	nvmf_mpath_init(&m, &path[0], pol);
	for (int i = 1; i < n; i++)
		ck_assert_int_eq(nvmf_mpath_add(&m, &path[i]), i);
}

START_TEST(test_numa_first_usable)
{
	unsigned int cur = 0;

	setup(3, NVMF_IOPOLICY_NUMA);
	for (int k = 0; k < 5; k++)
		ck_assert_int_eq(nvmf_mpath_select(&m, 1, &cur, -1), 0);
	ctrl[0].state = NVMF_CTRL_FAILED;
	ck_assert_int_eq(nvmf_mpath_select(&m, 1, &cur, -1), 1);
	ctrl[1].state = NVMF_CTRL_CONNECTING;
	ck_assert_int_eq(nvmf_mpath_select(&m, 1, &cur, -1), 2);
	ctrl[2].state = NVMF_CTRL_DELETING;
	ck_assert_int_eq(nvmf_mpath_select(&m, 1, &cur, -1), -1);
	ctrl[0].state = NVMF_CTRL_LIVE;
	ck_assert_int_eq(nvmf_mpath_select(&m, 1, &cur, -1), 0);
}
END_TEST

/*
 * A path being reconnected is LIVE from its admin queue swap on, but its
 * I/O workers still hold the failed queue pairs until the I/O queues are
 * swapped too: a command sent there meanwhile came straight back as a
 * path error and was counted as a failover (63 of 82 in one guest run).
 */
START_TEST(test_adopting_path_not_usable)
{
	unsigned int cur = 0;

	setup(2, NVMF_IOPOLICY_ROUND_ROBIN);
	ctrl[0].ioq_adopting = true;
	ck_assert(!nvmf_mpath_usable(&path[0], 1));
	for (int k = 0; k < 4; k++)
		ck_assert_int_eq(nvmf_mpath_select(&m, 1, &cur, -1), 1);
	ctrl[1].ioq_adopting = true;
	ck_assert_int_eq(nvmf_mpath_select(&m, 1, &cur, -1), -1);
	ctrl[0].ioq_adopting = false;
	ck_assert(nvmf_mpath_usable(&path[0], 1));
	ck_assert_int_eq(nvmf_mpath_select(&m, 1, &cur, -1), 0);
}
END_TEST

START_TEST(test_round_robin_spreads)
{
	unsigned int cur = 0;
	int seen[3] = { 0 };

	setup(3, NVMF_IOPOLICY_ROUND_ROBIN);
	for (int k = 0; k < 30; k++) {
		int s = nvmf_mpath_select(&m, 1, &cur, -1);

		ck_assert_int_ge(s, 0);
		ck_assert_int_lt(s, 3);
		seen[s]++;
	}
	ck_assert_int_eq(seen[0], 10);
	ck_assert_int_eq(seen[1], 10);
	ck_assert_int_eq(seen[2], 10);
	/* A dead path is skipped, the others still alternate. */
	ctrl[1].state = NVMF_CTRL_FAILED;
	memset(seen, 0, sizeof(seen));
	for (int k = 0; k < 10; k++)
		seen[nvmf_mpath_select(&m, 1, &cur, -1)]++;
	ck_assert_int_eq(seen[1], 0);
	ck_assert_int_eq(seen[0], 5);
	ck_assert_int_eq(seen[2], 5);
}
END_TEST

START_TEST(test_queue_depth_least_busy)
{
	unsigned int cur = 0;

	setup(3, NVMF_IOPOLICY_QUEUE_DEPTH);
	path[0].inflight = 7;
	path[1].inflight = 2;
	path[2].inflight = 5;
	ck_assert_int_eq(nvmf_mpath_select(&m, 1, &cur, -1), 1);
	path[1].inflight = 9;
	ck_assert_int_eq(nvmf_mpath_select(&m, 1, &cur, -1), 2);
	ctrl[2].state = NVMF_CTRL_FAILED;
	ck_assert_int_eq(nvmf_mpath_select(&m, 1, &cur, -1), 0);
}
END_TEST

START_TEST(test_failover_avoids_failed)
{
	unsigned int cur = 0;

	setup(2, NVMF_IOPOLICY_NUMA);
	ck_assert_int_eq(nvmf_mpath_select(&m, 1, &cur, 0), 1);
	ck_assert_int_eq(nvmf_mpath_select(&m, 1, &cur, 1), 0);
	/* The only usable path is the one failed away from: none. */
	ctrl[1].state = NVMF_CTRL_FAILED;
	ck_assert_int_eq(nvmf_mpath_select(&m, 1, &cur, 0), -1);
}
END_TEST

/* The failover decision the disk and the namespace nodes share. */
START_TEST(test_failover_decision)
{
	unsigned int cur = 0;

	setup(2, NVMF_IOPOLICY_NUMA);
	/* Not a path error, or no set: no failover, nothing counted. */
	ck_assert_int_eq(nvmf_mpath_failover(&m, 1, &cur, 0, &path[0], NVMF_SC_INTERNAL, 0),
			 -EINVAL);
	ck_assert_int_eq(nvmf_mpath_failover(NULL, 1, &cur, 0, NULL, 0, -ENOTCONN), -EINVAL);
	ck_assert_uint_eq(path[0].failovers, 0);
	/* A path error: the other path, counted on the failed one. */
	ck_assert_int_eq(nvmf_mpath_failover(&m, 1, &cur, 0, &path[0], 0, -ENOTCONN), 1);
	ck_assert_uint_eq(path[0].failovers, 1);
	/* No other usable path: -EAGAIN (the caller may wait), nothing counted. */
	ctrl[1].state = NVMF_CTRL_FAILED;
	ck_assert_int_eq(nvmf_mpath_failover(&m, 1, &cur, 0, &path[0], NVMF_SC_ANA_INACCESSIBLE, 0),
			 -EAGAIN);
	ck_assert_uint_eq(path[0].failovers, 1);
}
END_TEST

START_TEST(test_add_remove_slots)
{
	unsigned int cur = 0;
	struct nvmf_mpath_path extra[8];

	setup(2, NVMF_IOPOLICY_NUMA);
	ck_assert_int_eq(nvmf_mpath_count(&m), 2);
	ctrl[0].state = NVMF_CTRL_FAILED;
	nvmf_mpath_remove(&m, &path[1]);
	ck_assert_int_eq(nvmf_mpath_count(&m), 1);
	ck_assert_ptr_null(nvmf_mpath_get(&m, 1));
	ck_assert_int_eq(nvmf_mpath_select(&m, 1, &cur, -1), -1);
	/* Slot 0 is never removed; a freed slot is taken again. */
	nvmf_mpath_remove(&m, &path[0]);
	ck_assert_ptr_eq(nvmf_mpath_get(&m, 0), &path[0]);
	ck_assert_int_eq(nvmf_mpath_add(&m, &path[2]), 1);
	memset(extra, 0, sizeof(extra));
	for (int i = 0; i < 6; i++) {
		extra[i].ctrl = &ctrl[3];
		ck_assert_int_eq(nvmf_mpath_add(&m, &extra[i]), i + 2);
	}
	ck_assert_int_eq(nvmf_mpath_add(&m, &extra[6]), -ENOSPC);
	ck_assert_int_eq(nvmf_mpath_count(&m), NVMF_MPATH_MAX);
}
END_TEST

START_TEST(test_policy_names_and_errors)
{
	enum nvmf_iopolicy p;

	ck_assert_int_eq(nvmf_iopolicy_parse("round-robin", &p), 0);
	ck_assert_int_eq(p, NVMF_IOPOLICY_ROUND_ROBIN);
	ck_assert_int_eq(nvmf_iopolicy_parse("queue-depth", &p), 0);
	ck_assert_int_eq(p, NVMF_IOPOLICY_QUEUE_DEPTH);
	ck_assert_int_eq(nvmf_iopolicy_parse("numa", &p), 0);
	ck_assert_int_eq(p, NVMF_IOPOLICY_NUMA);
	ck_assert_int_eq(nvmf_iopolicy_parse("roundrobin", &p), -EINVAL);
	ck_assert_int_eq(nvmf_iopolicy_parse(NULL, &p), -EINVAL);
	ck_assert_str_eq(nvmf_iopolicy_str(NVMF_IOPOLICY_QUEUE_DEPTH), "queue-depth");
	/* Path errors: a dead queue pair, SCT 3; not a media or generic error. */
	ck_assert(nvmf_mpath_path_error(0, -ENOTCONN));
	ck_assert(nvmf_mpath_path_error(NVMF_SC_HOST_PATH_ERROR, 0));
	ck_assert(nvmf_mpath_path_error(0x302, 0));	/* ANA Inaccessible */
	ck_assert(!nvmf_mpath_path_error(0x002, 0));
	ck_assert(!nvmf_mpath_path_error(0x281, 0));
	ck_assert(!nvmf_mpath_path_error(0, 0));
}
END_TEST

/* A path's namespace is the disk's only when every identifier agrees. */
START_TEST(test_ns_identity)
{
	struct nvmf_ns want = { .nsid = 1 }, have;
	char why[160];

	ck_assert(!nvmf_ns_same_identity(&want, &want, why, sizeof(why)));
	ck_assert_msg(strstr(why, "no NGUID, EUI-64 or UUID"), "%s", why);
	memset(want.nguid, 0xab, 16);
	want.uuid[3] = 7;
	have = want;
	ck_assert(nvmf_ns_same_identity(&want, &have, why, sizeof(why)));
	have.nsze = want.nsze + 1;	/* size is not identity */
	ck_assert(nvmf_ns_same_identity(&want, &have, NULL, 0));
	have.nguid[15] ^= 1;
	ck_assert(!nvmf_ns_same_identity(&want, &have, why, sizeof(why)));
	ck_assert_str_eq(why, "namespace 1 has another NGUID there");
	have = want;
	have.eui64[0] = 1;
	ck_assert(!nvmf_ns_same_identity(&want, &have, why, sizeof(why)));
	ck_assert_str_eq(why, "namespace 1 has another EUI-64 there");
	have = want;
	have.uuid[3] = 8;
	ck_assert(!nvmf_ns_same_identity(&want, &have, NULL, 0));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mpath");
	TCase *tc = tcase_create("select");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_numa_first_usable);
	tcase_add_test(tc, test_adopting_path_not_usable);
	tcase_add_test(tc, test_round_robin_spreads);
	tcase_add_test(tc, test_queue_depth_least_busy);
	tcase_add_test(tc, test_failover_avoids_failed);
	tcase_add_test(tc, test_failover_decision);
	tcase_add_test(tc, test_add_remove_slots);
	tcase_add_test(tc, test_policy_names_and_errors);
	tcase_add_test(tc, test_ns_identity);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
