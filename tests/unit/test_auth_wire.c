/* SPDX-License-Identifier: MIT */
/*
 * The DH-HMAC-CHAP transaction on the wire (host/fabrics.c
 * nvmf_fabrics_auth, through nvmf_ctrl_connect) against the fake target
 * playing the controller's side (tests/unit/fake_target.h auth_*): every
 * hash, NULL and a DH group, uni- and bidirectional, on the admin and the
 * I/O queues; and a hostile controller: a wrong or missing R2, another
 * transaction ID, an invalid DH value, an unknown hash, each answered
 * with Failure2 carrying the right reason and a one-line -EKEYREJECTED;
 * a wrong host secret refused with Failure1 (no Failure2 after it); no
 * secret or a malformed one refused before anything is sent.
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "host/auth.h"
#include "host/nvmf.h"
#include "dontdump.h"
#include "fake_target.h"

#define HOSTNQN "nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555"
#define HOSTID "11111111-2222-3333-4444-555555555555"
#define KEY_H "DHHC-1:01:pWf2+Dwk8mNFJyGdUfZxxqKO7E/XIf+1Surt0BwBeDuogeMu:"
#define KEY_C "DHHC-1:00:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vcSEgBQ==:"
#define KEY_X "DHHC-1:00:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh+KfiaR:"

static void cfg_auth(struct ft_config *cfg, uint8_t hash, uint8_t dh)
{
	ft_config_default(cfg);
	cfg->auth_secret = KEY_H;
	cfg->auth_ctrl_secret = KEY_C;
	cfg->auth_hash = hash;
	cfg->auth_dhgroup = dh;
}

/* Connect with @secret/@ctrl_secret and 2 I/O queues; the result, @err filled. */
static int connect(struct ft *ft, const char *secret, const char *ctrl_secret,
		   struct nvmf_ctrl **c, char *err, size_t errlen)
{
	struct nvmf_ctrl_opts o = {
		.transport = "tcp",
		.traddr = "127.0.0.1",
		.trsvcid = ft_port(ft),
		.subnqn = FT_SUBNQN,
		.hostnqn = HOSTNQN,
		.hostid = HOSTID,
		.timeout_ms = 5000,
		.nr_io_queues = 2,
		.dhchap_secret = secret,
		.dhchap_ctrl_secret = ctrl_secret,
	};

	*c = NULL;
	err[0] = 0;
	return nvmf_ctrl_connect(&o, c, err, errlen);
}

/* Matrix: _i = hash (1..3) x {NULL, ffdhe2048} x {uni, bi}. */
START_TEST(test_auth_ok)
{
	uint8_t hash = (uint8_t)(_i / 4 + 1), dh = (uint8_t)(_i / 2 % 2);
	bool bidi = _i % 2;
	struct ft_config cfg;
	struct ft_stats st;
	struct nvmf_ctrl *c;
	struct ft *ft;
	char err[512];
	int rc;

	cfg_auth(&cfg, hash, dh);
	ft = ft_start(&cfg);
	ck_assert_ptr_nonnull(ft);
	rc = connect(ft, KEY_H, bidi ? KEY_C : NULL, &c, err, sizeof(err));
	ck_assert_msg(rc == 0, "hash %u dh %u bidi %d: %s", hash, dh, bidi, err);
	ck_assert(c->auth.done);
	ck_assert_uint_eq(c->auth.hash, hash);
	ck_assert_uint_eq(c->auth.dhgroup, dh);
	ck_assert_int_eq(c->auth.bidirectional, bidi);
	ck_assert_uint_eq(c->auths, 3);		/* admin + 2 I/O queues */
	/* The secrets, as strings and parsed, are kept out of core dumps. */
	ck_assert_int_eq(dontdump_of(c->dhchap_key), 1);
	ck_assert_int_eq(dontdump_of(c->opts.dhchap_secret), 1);
	if (bidi)
		ck_assert_int_eq(dontdump_of(c->dhchap_ctrl_key), 1);
	nvmf_ctrl_disconnect(c);
	ft_get_stats(ft, &st);
	ck_assert_msg(!st.violations, "%s", st.violation);
	ck_assert_uint_eq(st.auth_ok, 3);
	ck_assert_uint_eq(st.auth_bidi, bidi ? 3 : 0);
	ck_assert_uint_eq(st.auth_failure2, 0);
	ft_stop(ft);
}
END_TEST

/* A hostile controller: Failure2 with the reason, -EKEYREJECTED, one line. */
static const struct {
	enum ft_auth_fault fault;
	uint8_t rce;
	const char *says;
} hostile[] = {
	{ FT_AUTH_BAD_R2, NVMF_AUTH_RCE_FAILED, "failed at controller response: the controller's "
	  "response does not match --dhchap-ctrl-secret" },
	{ FT_AUTH_NO_R2, NVMF_AUTH_RCE_FAILED, "did not answer our challenge" },
	{ FT_AUTH_WRONG_TID, NVMF_AUTH_RCE_INCORRECT_MESSAGE, "failed at Challenge: message 0x01 "
	  "for transaction 1 instead of a Challenge for 0" },
	{ FT_AUTH_BAD_DH, NVMF_AUTH_RCE_INCORRECT_PAYLOAD, "ffdhe2048 public value is not valid" },
	{ FT_AUTH_BAD_HASH, NVMF_AUTH_RCE_HASH_UNUSABLE, "Challenge with unknown hash 0x07" },
};

START_TEST(test_auth_hostile)
{
	struct ft_config cfg;
	struct ft_stats st;
	struct nvmf_ctrl *c;
	struct ft *ft;
	char err[512];
	int rc;

	cfg_auth(&cfg, NVMF_AUTH_HASH_SHA256, NVMF_AUTH_DHGROUP_2048);
	cfg.auth_fault = hostile[_i].fault;
	ft = ft_start(&cfg);
	ck_assert_ptr_nonnull(ft);
	rc = connect(ft, KEY_H, KEY_C, &c, err, sizeof(err));
	ck_assert_int_eq(rc, -EKEYREJECTED);
	ck_assert_ptr_null(c);
	ck_assert_msg(strstr(err, "DH-HMAC-CHAP on queue 0") && strstr(err, hostile[_i].says),
		      "case %d: %s", _i, err);
	ck_assert(!strchr(err, '\n'));
	ft_get_stats(ft, &st);
	ck_assert_uint_eq(st.auth_failure2, 1);
	ck_assert_uint_eq(st.auth_last_rce, hostile[_i].rce);
	ck_assert_uint_eq(st.auth_ok, 0);
	ck_assert_uint_eq(st.io_connects, 0);
	ft_stop(ft);
}
END_TEST

START_TEST(test_auth_refused)
{
	struct ft_config cfg;
	struct ft_stats st;
	struct nvmf_ctrl *c;
	struct ft *ft;
	char err[512];

	cfg_auth(&cfg, NVMF_AUTH_HASH_SHA384, NVMF_AUTH_DHGROUP_NULL);
	ft = ft_start(&cfg);
	ck_assert_ptr_nonnull(ft);
	/* A wrong host secret: Failure1, and no Failure2 after it. */
	ck_assert_int_eq(connect(ft, KEY_X, NULL, &c, err, sizeof(err)), -EKEYREJECTED);
	ck_assert_msg(strstr(err, "the controller refused at Success1: authentication failed"),
		      "%s", err);
	/* No secret for a controller that asks. */
	ck_assert_int_eq(connect(ft, NULL, NULL, &c, err, sizeof(err)), -EKEYREJECTED);
	ck_assert_msg(strstr(err, "requires DH-HMAC-CHAP authentication") &&
		      strstr(err, "--dhchap-secret"), "%s", err);
	ft_get_stats(ft, &st);
	ck_assert_uint_eq(st.auth_failure1, 1);
	ck_assert_uint_eq(st.auth_failure2, 0);
	ck_assert_uint_eq(st.admin_connects, 2);
	/* Malformed or lone secrets: refused before connecting at all. */
	ck_assert_int_eq(connect(ft, "DHHC-1:01:pWf2+Dwk8mNFJyGdUfZxxqKO7E/XIf+1Surt0BwBeDuogeMv:",
				 NULL, &c, err, sizeof(err)), -EKEYREJECTED);
	ck_assert_msg(strstr(err, "--dhchap-secret: DHHC-1 secret: CRC mismatch"), "%s", err);
	ck_assert_int_eq(connect(ft, NULL, KEY_C, &c, err, sizeof(err)), -EKEYREJECTED);
	ck_assert_msg(strstr(err, "needs --dhchap-secret"), "%s", err);
	ft_get_stats(ft, &st);
	ck_assert_uint_eq(st.admin_connects, 2);
	ck_assert_msg(!st.violations, "%s", st.violation);
	ft_stop(ft);
}
END_TEST

/* No AUTHREQ: secrets are not used, nothing is counted. */
START_TEST(test_auth_not_asked)
{
	struct ft_config cfg;
	struct nvmf_ctrl *c;
	struct ft *ft;
	char err[512];

	ft_config_default(&cfg);
	ft = ft_start(&cfg);
	ck_assert_ptr_nonnull(ft);
	ck_assert_msg(connect(ft, KEY_H, KEY_C, &c, err, sizeof(err)) == 0, "%s", err);
	ck_assert(!c->auth.done);
	ck_assert_uint_eq(c->auths, 0);
	nvmf_ctrl_disconnect(c);
	ft_stop(ft);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("auth_wire");
	TCase *tc = tcase_create("wire");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_auth_ok, 0, 12);
	tcase_add_loop_test(tc, test_auth_hostile, 0, (int)(sizeof(hostile) / sizeof(hostile[0])));
	tcase_add_test(tc, test_auth_refused);
	tcase_add_test(tc, test_auth_not_asked);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
