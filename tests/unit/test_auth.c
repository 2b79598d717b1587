/* SPDX-License-Identifier: MIT */
/*
 * DH-HMAC-CHAP codec and crypto (host/auth.h) against independent vectors:
 * DHHC-1 strings written by nvme-cli 2.3's `nvme gen-dhchap-key` (the
 * transformed key is what it prints), and responses computed with Python's
 * hmac/hashlib from the formulas of NVMe Base 2.0 section 8.13.5. Every
 * parser check against hostile lengths, ids and groups.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/auth.h"

static const char HOSTNQN[] = "nqn.2014-08.org.nvmexpress:uuid:test-host";
static const char SUBNQN[] = "nqn.test.subsys";

static void unhex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned int v;

		ck_assert_int_eq(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	ck_assert_uint_eq(strlen(s), 2 * n);
}

static void seq_bytes(uint8_t *p, size_t n, int start)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(start + (int)i);
}

/* nvme gen-dhchap-key --secret=<bytes 0..N-1> --hmac=H --nqn=NQN */
static const struct {
	const char *s;
	uint8_t hh, len;
	const char *nqn;
} cli_keys[] = {
	{ "DHHC-1:00:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh+KfiaR:", 0, 32, NULL },
	{ "DHHC-1:00:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1"
	  "Njc4OTo7PD0+P4zODhA=:", 0, 64, NULL },
	{ "DHHC-1:00:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vcSEgBQ==:",
	  0, 48, NULL },
	{ "DHHC-1:01:pWf2+Dwk8mNFJyGdUfZxxqKO7E/XIf+1Surt0BwBeDuogeMu:", 1, 32,
	  "nqn.2014-08.org.nvmexpress:uuid:test-host" },
	{ "DHHC-1:02:OwgUt3VXOP/YxMovmF8xAc4TOGJIOleayMGOV9zDv0EtslaHTsUjMpddNCYWB5zxcycPSQ==:",
	  2, 48, "nqn.x" },
	{ "DHHC-1:03:h+ffM7TJ9u3kQy5AcWrt31wg0/WyoIKnVcAX0Ic07ApNq5Kqb4WorQfKw0prqrW7HwoLAFsrBm"
	  "o0ZTCfKh04vq6/H1s=:", 3, 64, "nqn.test" },
};

START_TEST(test_key_cli_vectors)
{
	for (size_t i = 0; i < sizeof(cli_keys) / sizeof(cli_keys[0]); i++) {
		struct nvmf_dhchap_key k, secret = { 0 };
		uint8_t t[64];
		size_t tl;
		char err[200], out[128];

		ck_assert_int_eq(nvmf_dhchap_key_parse(cli_keys[i].s, &k, err, sizeof(err)), 0);
		ck_assert_uint_eq(k.hash, cli_keys[i].hh);
		ck_assert_uint_eq(k.len, cli_keys[i].len);
		/* gen-dhchap-key: the printed key is the secret, transformed when hh != 0. */
		secret.hash = cli_keys[i].hh;
		secret.len = cli_keys[i].len;
		seq_bytes(secret.key, secret.len, 0);
		if (cli_keys[i].nqn) {
			ck_assert_int_eq(nvmf_dhchap_key_transform(&secret, cli_keys[i].nqn, t, &tl), 0);
			ck_assert_uint_eq(tl, k.len);
			ck_assert_mem_eq(t, k.key, tl);
		} else {
			ck_assert_mem_eq(secret.key, k.key, k.len);
		}
		/* and written back the same way */
		ck_assert_int_eq(nvmf_dhchap_key_format(k.key, k.len, k.hash, out, sizeof(out)), 0);
		ck_assert_str_eq(out, cli_keys[i].s);
		nvmf_dhchap_key_clear(&k);
		ck_assert_uint_eq(k.len, 0);
	}
}
END_TEST

START_TEST(test_key_transform_hh0)
{
	struct nvmf_dhchap_key k = { .hash = 0, .len = 48 };
	uint8_t t[64];
	size_t tl;

	seq_bytes(k.key, 48, 7);
	ck_assert_int_eq(nvmf_dhchap_key_transform(&k, HOSTNQN, t, &tl), 0);
	ck_assert_uint_eq(tl, 48);
	ck_assert_mem_eq(t, k.key, 48);
}
END_TEST

START_TEST(test_key_refused)
{
	static const char *const bad[] = {
		"",
		"DHHC-1",
		"DHHC-2:00:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh+KfiaR:",
		"DHHC-1:04:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh+KfiaR:",	/* hash 04 */
		"DHHC-1:10:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh+KfiaR:",
		"DHHC-1:0:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh+KfiaR:",
		"DHHC-1:00:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh+KfiaS:",	/* CRC */
		"DHHC-1:00:BAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh+KfiaR:",	/* CRC */
		"DHHC-1:00:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh+Kfia:",	/* short */
		"DHHC-1:00:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh+KfiaRR:",	/* long */
		"DHHC-1:00:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh+Kfi*R:",	/* not base64 */
		"DHHC-1:00:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh+Kfi=R:",	/* '=' inside */
		"DHHC-1:00:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh+KfiaR:x",	/* trailing */
		"DHHC-1:00:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh+KfiaR::",
		/* 40 bytes + CRC: a length nobody writes (base64 of 44 bytes is 60 chars) */
		"DHHC-1:00:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJ2Vm9ng=:",
	};
	struct nvmf_dhchap_key k;
	char err[200];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		ck_assert_msg(nvmf_dhchap_key_parse(bad[i], &k, err, sizeof(err)) == -EINVAL,
			      "accepted '%s'", bad[i]);
		ck_assert(err[0]);
		ck_assert_uint_eq(k.len, 0);
		/* the message never echoes the secret */
		ck_assert_ptr_null(strstr(err, "AAEC"));
	}
	/* Without the trailing colon it is still the kernel's format. */
	ck_assert_int_eq(nvmf_dhchap_key_parse("DHHC-1:00:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh"
					       "+KfiaR", &k, err, sizeof(err)), 0);
}
END_TEST

/* Python: hmac.new(Kt, C || le32(S) || le16(T) || 0 || who || nqn || 0 || nqn, H) */
START_TEST(test_responses)
{
	struct nvmf_dhchap_key k;
	uint8_t kt[64], c[64], sk[400], out[64], want[64];
	size_t ktl;
	char err[200];

	ck_assert_int_eq(nvmf_dhchap_key_parse(cli_keys[0].s, &k, err, sizeof(err)), 0);
	k.hash = 1;	/* as if DHHC-1:01 with the same 32 bytes */
	ck_assert_int_eq(nvmf_dhchap_key_transform(&k, HOSTNQN, kt, &ktl), 0);
	unhex("a567f6f83c24f2634527219d51f671c6a28eec4fd721ffb54aeaedd01c01783b", want, 32);
	ck_assert_uint_eq(ktl, 32);
	ck_assert_mem_eq(kt, want, 32);

	seq_bytes(c, 32, 100);
	ck_assert_int_eq(nvmf_auth_response(NVMF_AUTH_HASH_SHA256, kt, ktl, c, NULL, 0, 0x01020304,
					    0x0506, true, HOSTNQN, SUBNQN, out), 0);
	unhex("e8cb4e4ca7dba7b1ea77683ed6349e4d8bf238f17d2b2fc17b641704f9e754c9", want, 32);
	ck_assert_mem_eq(out, want, 32);

	seq_bytes(sk, 256, 0);	/* as a session key: augmented challenge */
	ck_assert_int_eq(nvmf_auth_response(NVMF_AUTH_HASH_SHA256, kt, ktl, c, sk, 256, 0x01020304,
					    0x0506, true, HOSTNQN, SUBNQN, out), 0);
	unhex("4964eadcdd6019ab55439419b9cdd51e92c4de10abb5b0c474fad04ecb776594", want, 32);
	ck_assert_mem_eq(out, want, 32);

	/* R2, SHA-512, untransformed 64-byte key */
	seq_bytes(kt, 64, 0);
	seq_bytes(c, 64, 1);
	ck_assert_int_eq(nvmf_auth_response(NVMF_AUTH_HASH_SHA512, kt, 64, c, NULL, 0, 7, 1, false,
					    HOSTNQN, SUBNQN, out), 0);
	unhex("7b3b7628ccd6ca0179a2524e3281fced8c215ca19d3affa693c65c6941f26be28e34bfdb59d917fec9"
	      "becbe5d0f98a9c13c4037b17411e0df2b6600b2dcf230d", want, 64);
	ck_assert_mem_eq(out, want, 64);

	/* R2, SHA-384, a controller key with hh 02 transformed with NQNc, DH */
	k.hash = 2;
	k.len = 48;
	seq_bytes(k.key, 48, 0);
	ck_assert_int_eq(nvmf_dhchap_key_transform(&k, SUBNQN, kt, &ktl), 0);
	seq_bytes(c, 48, 2);
	for (int i = 0; i < 400; i++)
		sk[i] = (uint8_t)(i % 200);
	ck_assert_int_eq(nvmf_auth_response(NVMF_AUTH_HASH_SHA384, kt, ktl, c, sk, 400, 0xfffffffe,
					    0xffff, false, HOSTNQN, SUBNQN, out), 0);
	unhex("d01ec1365ec5eeee02c7d6acaea1e27072afd728a6db7e55dd3ff8a6ea076dd52665be37618922930"
	      "6d795097639ef65", want, 48);
	ck_assert_mem_eq(out, want, 48);

	ck_assert_int_eq(nvmf_auth_response(0, kt, ktl, c, NULL, 0, 0, 0, true, HOSTNQN, SUBNQN,
					    out), -EINVAL);
	ck_assert_int_eq(nvmf_auth_response(4, kt, ktl, c, NULL, 0, 0, 0, true, HOSTNQN, SUBNQN,
					    out), -EINVAL);
}
END_TEST

/* Both ends of every group agree on the secret; bad peer values are refused. */
START_TEST(test_dh_groups)
{
	uint8_t gid = (uint8_t)(_i + 1);
	size_t n = nvmf_auth_dh_len(gid);
	struct nvmf_auth_dh *a, *b;
	uint8_t *pa = malloc(n), *pb = malloc(n), *sa = malloc(n), *sb = malloc(n);

	static const size_t lens[] = { 256, 384, 512, 768, 1024 };

	ck_assert_uint_eq(n, lens[_i]);
	ck_assert_int_eq(nvmf_auth_dh_new(gid, &a), 0);
	ck_assert_int_eq(nvmf_auth_dh_new(gid, &b), 0);
	ck_assert_int_eq(nvmf_auth_dh_public(a, pa, n), 0);
	ck_assert_int_eq(nvmf_auth_dh_public(b, pb, n), 0);
	ck_assert(memcmp(pa, pb, n) != 0);
	ck_assert_int_eq(nvmf_auth_dh_derive(a, pb, n, sa, n), 0);
	ck_assert_int_eq(nvmf_auth_dh_derive(b, pa, n, sb, n), 0);
	ck_assert_mem_eq(sa, sb, n);
	/* wrong length, 0, 1, above p */
	ck_assert_int_eq(nvmf_auth_dh_derive(a, pb, n - 1, sa, n), -EINVAL);
	ck_assert_int_eq(nvmf_auth_dh_public(a, pa, n + 1), -EINVAL);
	memset(pb, 0, n);
	ck_assert_int_eq(nvmf_auth_dh_derive(a, pb, n, sa, n), -EINVAL);
	pb[n - 1] = 1;
	ck_assert_int_eq(nvmf_auth_dh_derive(a, pb, n, sa, n), -EINVAL);
	memset(pb, 0xff, n);
	ck_assert_int_eq(nvmf_auth_dh_derive(a, pb, n, sa, n), -EINVAL);
	nvmf_auth_dh_free(a);
	nvmf_auth_dh_free(b);
	free(pa);
	free(pb);
	free(sa);
	free(sb);
}
END_TEST

START_TEST(test_dh_null_refused)
{
	struct nvmf_auth_dh *a = NULL;

	ck_assert_int_eq(nvmf_auth_dh_new(NVMF_AUTH_DHGROUP_NULL, &a), -EINVAL);
	ck_assert_int_eq(nvmf_auth_dh_new(6, &a), -EINVAL);
	ck_assert_ptr_null(a);
}
END_TEST

START_TEST(test_build)
{
	uint8_t b[512], r1[48], c2[48], dhv[3] = { 9, 8, 7 };
	int n;

	n = nvmf_auth_build_negotiate(b, sizeof(b), 0x1234);
	ck_assert_int_eq(n, 72);
	ck_assert_uint_eq(b[0], 0);	/* common */
	ck_assert_uint_eq(b[1], 0);	/* negotiate */
	ck_assert_uint_eq(b[4] | b[5] << 8, 0x1234);
	ck_assert_uint_eq(b[6], 0);	/* no concatenation */
	ck_assert_uint_eq(b[7], 1);
	ck_assert_uint_eq(b[8], 1);	/* DH-HMAC-CHAP */
	ck_assert_uint_eq(b[10], 3);
	ck_assert_uint_eq(b[11], 6);
	ck_assert_mem_eq(b + 12, ((uint8_t[]){ 1, 2, 3, 0 }), 4);
	ck_assert_mem_eq(b + 12 + 30, ((uint8_t[]){ 0, 1, 2, 3, 4, 5, 0 }), 7);
	ck_assert_int_eq(nvmf_auth_build_negotiate(b, 71, 0), -ENOSPC);

	seq_bytes(r1, 48, 1);
	seq_bytes(c2, 48, 100);
	n = nvmf_auth_build_reply(b, sizeof(b), 7, 48, r1, c2, 0xa1b2c3d4, dhv, 3);
	ck_assert_int_eq(n, 16 + 96 + 3);
	ck_assert_mem_eq(b, ((uint8_t[]){ 1, 2, 0, 0, 7, 0, 48, 0, 1, 0, 3, 0, 0xd4, 0xc3, 0xb2,
					  0xa1 }), 16);
	ck_assert_mem_eq(b + 16, r1, 48);
	ck_assert_mem_eq(b + 64, c2, 48);
	ck_assert_mem_eq(b + 112, dhv, 3);
	/* unidirectional: CVALID 0, C2 zero, S2 0 */
	n = nvmf_auth_build_reply(b, sizeof(b), 7, 32, r1, NULL, 55, NULL, 0);
	ck_assert_int_eq(n, 16 + 64);
	ck_assert_uint_eq(b[8], 0);
	ck_assert_mem_eq(b + 12, ((uint8_t[]){ 0, 0, 0, 0 }), 4);
	for (int i = 48; i < 80; i++)
		ck_assert_uint_eq(b[i], 0);
	ck_assert_int_eq(nvmf_auth_build_reply(b, 16 + 64 - 1, 7, 32, r1, NULL, 0, NULL, 0),
			 -ENOSPC);

	ck_assert_int_eq(nvmf_auth_build_success2(b, sizeof(b), 9), 16);
	ck_assert_mem_eq(b, ((uint8_t[]){ 1, 4, 0, 0, 9, 0, 0, 0 }), 8);
	ck_assert_int_eq(nvmf_auth_build_failure2(b, sizeof(b), 9, 1), 8);
	ck_assert_mem_eq(b, ((uint8_t[]){ 0, 0xf0, 0, 0, 9, 0, 1, 1 }), 8);
	ck_assert_int_eq(nvmf_auth_build_failure2(b, 7, 9, 1), -ENOSPC);
}
END_TEST

static size_t challenge(uint8_t *b, uint8_t hl, uint8_t hash, uint8_t dh, uint16_t dhvlen)
{
	memset(b, 0, 2048);
	b[0] = 1;
	b[1] = 1;
	b[4] = 0x34;
	b[5] = 0x12;
	b[6] = hl;
	b[8] = hash;
	b[9] = dh;
	b[10] = (uint8_t)dhvlen;
	b[11] = (uint8_t)(dhvlen >> 8);
	b[12] = 0x78;
	b[13] = 0x56;
	b[14] = 0x34;
	b[15] = 0x12;
	return 16 + (size_t)hl + dhvlen;
}

START_TEST(test_parse_challenge)
{
	static uint8_t b[2048];
	struct nvmf_auth_msg m;
	uint8_t rce;
	char err[200];
	size_t n;

	n = challenge(b, 32, 1, 0, 0);
	ck_assert_int_eq(nvmf_auth_parse(b, n, 0, &m, &rce, err, sizeof(err)), 0);
	ck_assert_uint_eq(m.id, NVMF_AUTH_ID_CHALLENGE);
	ck_assert_uint_eq(m.tid, 0x1234);
	ck_assert_uint_eq(m.seqnum, 0x12345678);
	ck_assert_ptr_eq(m.cval, b + 16);
	ck_assert_ptr_null(m.dhv);
	n = challenge(b, 64, 3, 5, 1024);
	ck_assert_int_eq(nvmf_auth_parse(b, n, 0, &m, &rce, err, sizeof(err)), 0);
	ck_assert_ptr_eq(m.dhv, b + 16 + 64);
	/* one byte short of the DH value */
	ck_assert_int_eq(nvmf_auth_parse(b, n - 1, 0, &m, &rce, err, sizeof(err)), -EPROTO);
	ck_assert_uint_eq(rce, NVMF_AUTH_RCE_INCORRECT_PAYLOAD);
	/* short header */
	ck_assert_int_eq(nvmf_auth_parse(b, 15, 0, &m, &rce, err, sizeof(err)), -EPROTO);
	ck_assert_int_eq(nvmf_auth_parse(b, 0, 0, &m, &rce, err, sizeof(err)), -EPROTO);
	/* unknown hash, hash length not the hash's */
	n = challenge(b, 32, 4, 0, 0);
	ck_assert_int_eq(nvmf_auth_parse(b, n, 0, &m, &rce, err, sizeof(err)), -EPROTO);
	ck_assert_uint_eq(rce, NVMF_AUTH_RCE_HASH_UNUSABLE);
	n = challenge(b, 32, 0, 0, 0);
	ck_assert_int_eq(nvmf_auth_parse(b, n, 0, &m, &rce, err, sizeof(err)), -EPROTO);
	n = challenge(b, 48, 1, 0, 0);
	ck_assert_int_eq(nvmf_auth_parse(b, n, 0, &m, &rce, err, sizeof(err)), -EPROTO);
	ck_assert_uint_eq(rce, NVMF_AUTH_RCE_HASH_UNUSABLE);
	n = challenge(b, 255, 1, 0, 0);
	ck_assert_int_eq(nvmf_auth_parse(b, n, 0, &m, &rce, err, sizeof(err)), -EPROTO);
	/* unknown group, DH value with NULL, none or a wrong length with a group */
	n = challenge(b, 32, 1, 6, 0);
	ck_assert_int_eq(nvmf_auth_parse(b, n, 0, &m, &rce, err, sizeof(err)), -EPROTO);
	ck_assert_uint_eq(rce, NVMF_AUTH_RCE_DHGROUP_UNUSABLE);
	n = challenge(b, 32, 1, 0, 256);
	ck_assert_int_eq(nvmf_auth_parse(b, n, 0, &m, &rce, err, sizeof(err)), -EPROTO);
	ck_assert_uint_eq(rce, NVMF_AUTH_RCE_INCORRECT_PAYLOAD);
	n = challenge(b, 32, 1, 1, 0);
	ck_assert_int_eq(nvmf_auth_parse(b, n, 0, &m, &rce, err, sizeof(err)), -EPROTO);
	ck_assert_uint_eq(rce, NVMF_AUTH_RCE_DHGROUP_UNUSABLE);
	n = challenge(b, 32, 1, 1, 255);
	ck_assert_int_eq(nvmf_auth_parse(b, n, 0, &m, &rce, err, sizeof(err)), -EPROTO);
	n = challenge(b, 32, 1, 1, 0xffff);
	ck_assert_int_eq(nvmf_auth_parse(b, 2048, 0, &m, &rce, err, sizeof(err)), -EPROTO);
	(void)n;
	/* wrong type or id */
	challenge(b, 32, 1, 0, 0);
	b[0] = 0;
	ck_assert_int_eq(nvmf_auth_parse(b, 100, 0, &m, &rce, err, sizeof(err)), -EPROTO);
	ck_assert_uint_eq(rce, NVMF_AUTH_RCE_INCORRECT_MESSAGE);
	b[0] = 1;
	b[1] = NVMF_AUTH_ID_REPLY;
	ck_assert_int_eq(nvmf_auth_parse(b, 100, 0, &m, &rce, err, sizeof(err)), -EPROTO);
	ck_assert_uint_eq(rce, NVMF_AUTH_RCE_INCORRECT_MESSAGE);
}
END_TEST

START_TEST(test_parse_success1_failure1)
{
	uint8_t b[128] = { 1, 3, 0, 0, 5, 0, 48, 0, 1 };
	struct nvmf_auth_msg m;
	uint8_t rce;
	char err[200];

	ck_assert_int_eq(nvmf_auth_parse(b, 64, 48, &m, &rce, err, sizeof(err)), 0);
	ck_assert(m.rvalid);
	ck_assert_ptr_eq(m.rval, b + 16);
	ck_assert_uint_eq(m.tid, 5);
	/* response value beyond the message */
	ck_assert_int_eq(nvmf_auth_parse(b, 63, 48, &m, &rce, err, sizeof(err)), -EPROTO);
	ck_assert_uint_eq(rce, NVMF_AUTH_RCE_INCORRECT_PAYLOAD);
	/* hash length not the negotiated one */
	ck_assert_int_eq(nvmf_auth_parse(b, 64, 32, &m, &rce, err, sizeof(err)), -EPROTO);
	ck_assert_uint_eq(rce, NVMF_AUTH_RCE_HASH_UNUSABLE);
	b[8] = 0;	/* no R2: 16 bytes are enough */
	ck_assert_int_eq(nvmf_auth_parse(b, 16, 48, &m, &rce, err, sizeof(err)), 0);
	ck_assert(!m.rvalid);
	ck_assert_ptr_null(m.rval);

	/* Failure1, in 8 bytes, under both types */
	memcpy(b, ((uint8_t[]){ 0, 0xf1, 0, 0, 5, 0, 1, 7 }), 8);
	ck_assert_int_eq(nvmf_auth_parse(b, 8, 48, &m, &rce, err, sizeof(err)), 0);
	ck_assert_uint_eq(m.id, NVMF_AUTH_ID_FAILURE1);
	ck_assert_uint_eq(m.rescode, 1);
	ck_assert_uint_eq(m.rescode_exp, 7);
	ck_assert_str_eq(nvmf_auth_failure_str(7), "incorrect protocol message");
	ck_assert_str_eq(nvmf_auth_failure_str(0x42), "unknown reason");
	b[0] = 1;
	ck_assert_int_eq(nvmf_auth_parse(b, 8, 48, &m, &rce, err, sizeof(err)), 0);
	b[0] = 2;
	ck_assert_int_eq(nvmf_auth_parse(b, 8, 48, &m, &rce, err, sizeof(err)), -EPROTO);
	ck_assert_int_eq(nvmf_auth_parse(b, 7, 48, &m, &rce, err, sizeof(err)), -EPROTO);
}
END_TEST

START_TEST(test_names)
{
	ck_assert_str_eq(nvmf_auth_hash_name(2), "sha384");
	ck_assert_ptr_null(nvmf_auth_hash_name(0));
	ck_assert_ptr_null(nvmf_auth_hash_name(4));
	ck_assert_str_eq(nvmf_auth_dhgroup_name(0), "null");
	ck_assert_str_eq(nvmf_auth_dhgroup_name(5), "ffdhe8192");
	ck_assert_ptr_null(nvmf_auth_dhgroup_name(6));
	ck_assert_uint_eq(nvmf_auth_dh_len(0), 0);
	ck_assert_uint_eq(nvmf_auth_dh_len(200), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("auth");
	TCase *tk = tcase_create("keys"), *tc = tcase_create("crypto"), *tm = tcase_create("msgs");
	SRunner *sr;
	int failed;

	tcase_add_test(tk, test_key_cli_vectors);
	tcase_add_test(tk, test_key_transform_hh0);
	tcase_add_test(tk, test_key_refused);
	tcase_add_test(tc, test_responses);
	tcase_add_loop_test(tc, test_dh_groups, 0, 5);
	tcase_add_test(tc, test_dh_null_refused);
	tcase_set_timeout(tc, 60);	/* ffdhe8192 key generation, under ASan */
	tcase_add_test(tm, test_build);
	tcase_add_test(tm, test_parse_challenge);
	tcase_add_test(tm, test_parse_success1_failure1);
	tcase_add_test(tm, test_names);
	suite_add_tcase(s, tk);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tm);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
