/* SPDX-License-Identifier: MIT */
/*
 * Persistent discovery's pure part (daemon/disc_diff.h): discovery log
 * entries checked field by field (hostile ones refused with the field
 * named), and two logs turned into subsystems to connect and disconnect.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <nvme/fabrics.h>

#include "daemon/disc_diff.h"

static void entry(struct nvmf_disc_log_entry *e, const char *nqn, const char *addr,
		  const char *svc)
{
	memset(e, 0, sizeof(*e));
	e->trtype = NVMF_TRTYPE_TCP;
	e->adrfam = NVMF_ADDR_FAMILY_IP4;
	e->subtype = NVME_NQN_NVME;
	snprintf(e->subnqn, sizeof(e->subnqn), "%s", nqn);
	/* The wire pads TRADDR and TRSVCID with spaces. */
	memset(e->traddr, ' ', sizeof(e->traddr));
	memcpy(e->traddr, addr, strlen(addr));
	memset(e->trsvcid, ' ', sizeof(e->trsvcid));
	memcpy(e->trsvcid, svc, strlen(svc));
}

START_TEST(test_entry_ok)
{
	struct nvmf_disc_log_entry e;
	struct nvmf_disc_key k;
	char why[300] = "";

	entry(&e, "nqn.2024-01.io.nvmfuse:a", "10.0.0.1", "4420");
	e.treq = NVMF_TREQ_DISABLE_SQFLOW;
	e.tsas.tcp.sectype = NVMF_TCP_SECTYPE_TLS13;
	ck_assert_int_eq(nvmf_disc_entry_key(&e, "tcp", &k, why, sizeof(why)), 1);
	ck_assert_str_eq(k.subnqn, "nqn.2024-01.io.nvmfuse:a");
	ck_assert_str_eq(k.traddr, "10.0.0.1");
	ck_assert_str_eq(k.trsvcid, "4420");
	ck_assert_str_eq(k.transport, "tcp");
	ck_assert(k.tls);
	ck_assert(k.disable_sqflow);
	/* A NUL-padded entry (SPDK's) reads the same. */
	memset(e.traddr, 0, sizeof(e.traddr));
	strcpy(e.traddr, "10.0.0.1");
	e.treq = 0;
	e.tsas.tcp.sectype = 0;
	ck_assert_int_eq(nvmf_disc_entry_key(&e, "tcp", &k, why, sizeof(why)), 1);
	ck_assert_str_eq(k.traddr, "10.0.0.1");
	ck_assert(!k.tls && !k.disable_sqflow);
}
END_TEST

START_TEST(test_entry_skipped)
{
	struct nvmf_disc_log_entry e;
	struct nvmf_disc_key k;
	char why[300];

	entry(&e, NVME_DISC_SUBSYS_NAME, "10.0.0.1", "8009");
	e.subtype = NVME_NQN_CURR;
	ck_assert_int_eq(nvmf_disc_entry_key(&e, "tcp", &k, why, sizeof(why)), 0);
	e.subtype = NVME_NQN_DISC;
	ck_assert_int_eq(nvmf_disc_entry_key(&e, "tcp", &k, why, sizeof(why)), 0);
	ck_assert_ptr_nonnull(strstr(why, "referral"));
	entry(&e, "nqn.x:a", "10.0.0.1", "4420");
	ck_assert_int_eq(nvmf_disc_entry_key(&e, "rdma", &k, why, sizeof(why)), 0);
	ck_assert_ptr_nonnull(strstr(why, "is not rdma"));
	e.trtype = NVMF_TRTYPE_LOOP;
	ck_assert_int_eq(nvmf_disc_entry_key(&e, "tcp", &k, why, sizeof(why)), 0);
}
END_TEST

/* Hostile entries: each refused, with the field named. */
START_TEST(test_entry_hostile)
{
	static const struct {
		const char *nqn, *addr, *svc, *field;
	} t[] = {
		{ "", "10.0.0.1", "4420", "SUBNQN" },
		{ "nqn.x:a b", "10.0.0.1", "4420", "SUBNQN" },
		{ "nqn.x:\x01", "10.0.0.1", "4420", "SUBNQN" },
		{ "nqn.x:\xc3\xa9", "10.0.0.1", "4420", "SUBNQN" },
		{ "nqn.x:a", "", "4420", "TRADDR" },
		{ "nqn.x:a", "10.0.0.1\n", "4420", "TRADDR" },
		{ "nqn.x:a", "10.0.0.1", "", "TRSVCID" },
		{ "nqn.x:a", "10.0.0.1", "0", "TRSVCID" },
		{ "nqn.x:a", "10.0.0.1", "65536", "TRSVCID" },
		{ "nqn.x:a", "10.0.0.1", "-1", "TRSVCID" },
		{ "nqn.x:a", "10.0.0.1", "+44", "TRSVCID" },
		{ "nqn.x:a", "10.0.0.1", "44x", "TRSVCID" },
	};
	struct nvmf_disc_log_entry e;
	struct nvmf_disc_key k;
	char why[300];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		entry(&e, t[i].nqn, t[i].addr, t[i].svc);
		why[0] = 0;
		ck_assert_msg(nvmf_disc_entry_key(&e, "tcp", &k, why, sizeof(why)) == -EINVAL,
			      "case %zu accepted", i);
		ck_assert_msg(strstr(why, t[i].field), "case %zu: '%s' does not name %s", i, why,
			      t[i].field);
	}
	/* SUBNQN filling its field (no NUL), and one of 224 characters. */
	entry(&e, "x", "10.0.0.1", "4420");
	memset(e.subnqn, 'a', sizeof(e.subnqn));
	ck_assert_int_eq(nvmf_disc_entry_key(&e, "tcp", &k, why, sizeof(why)), -EINVAL);
	memset(e.subnqn, 0, sizeof(e.subnqn));
	memset(e.subnqn, 'a', NVMF_NQN_SIZE + 1);
	ck_assert_int_eq(nvmf_disc_entry_key(&e, "tcp", &k, why, sizeof(why)), -EINVAL);
	e.subnqn[NVMF_NQN_SIZE] = 0;	/* 223: the most there may be */
	ck_assert_int_eq(nvmf_disc_entry_key(&e, "tcp", &k, why, sizeof(why)), 1);
	ck_assert_uint_eq(strlen(k.subnqn), NVMF_NQN_SIZE);
	/* TRADDR filling its 256 bytes: taken whole, terminated. */
	memset(e.traddr, 'b', sizeof(e.traddr));
	ck_assert_int_eq(nvmf_disc_entry_key(&e, "tcp", &k, why, sizeof(why)), 1);
	ck_assert_uint_eq(strlen(k.traddr), sizeof(e.traddr));
	memset(e.trsvcid, '1', sizeof(e.trsvcid));
	ck_assert_int_eq(nvmf_disc_entry_key(&e, "tcp", &k, why, sizeof(why)), -EINVAL);
}
END_TEST

static struct nvmf_disc_key key(const char *nqn, const char *svc)
{
	struct nvmf_disc_key k = { .transport = "tcp", .traddr = "10.0.0.1" };

	snprintf(k.subnqn, sizeof(k.subnqn), "%s", nqn);
	snprintf(k.trsvcid, sizeof(k.trsvcid), "%s", svc);
	return k;
}

START_TEST(test_diff)
{
	struct nvmf_disc_key old[] = { key("a", "4420"), key("b", "4420"), key("c", "4420") };
	struct nvmf_disc_key new[] = { key("a", "4420"), key("c", "4421"), key("d", "4420"),
				       key("d", "4420") };
	int add[4], del[3], nadd, ndel;

	nvmf_disc_diff(old, 3, new, 4, add, &nadd, del, &ndel);
	/* c moved to another port: a new controller, and the old one goes. */
	ck_assert_int_eq(nadd, 2);
	ck_assert_int_eq(add[0], 1);
	ck_assert_int_eq(add[1], 2);	/* d once, though listed twice */
	ck_assert_int_eq(ndel, 2);
	ck_assert_int_eq(del[0], 1);
	ck_assert_int_eq(del[1], 2);
	/* The first read: everything to connect, nothing to drop. */
	nvmf_disc_diff(NULL, 0, new, 4, add, &nadd, del, &ndel);
	ck_assert_int_eq(nadd, 3);
	ck_assert_int_eq(ndel, 0);
	/* An empty log: everything goes. */
	nvmf_disc_diff(old, 3, NULL, 0, add, &nadd, del, &ndel);
	ck_assert_int_eq(nadd, 0);
	ck_assert_int_eq(ndel, 3);
	/* Unchanged: nothing. The hints (TLS, sqflow) do not make a new key. */
	new[0].tls = true;
	nvmf_disc_diff(old, 1, new, 1, add, &nadd, del, &ndel);
	ck_assert_int_eq(nadd + ndel, 0);
	ck_assert(nvmf_disc_key_eq(&old[0], &new[0]));
	ck_assert(!nvmf_disc_key_eq(&old[2], &new[1]));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("disc_diff");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_entry_ok);
	tcase_add_test(tc, test_entry_skipped);
	tcase_add_test(tc, test_entry_hostile);
	tcase_add_test(tc, test_diff);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
