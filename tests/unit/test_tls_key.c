/* SPDX-License-Identifier: MIT */
/*
 * TLS PSK handling (host/tls_key.h) against libnvme's test vectors
 * (test/psk.c: interchange strings, v1 identities in the RFC and compat
 * encodings), and the TLS PSK against OpenSSL's own TLS 1.3 KDF.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "host/tls_key.h"

static const uint8_t psk32[32] = {
	0x55, 0x12, 0xDB, 0xB6, 0x73, 0x7D, 0x01, 0x06, 0xF6, 0x59, 0x75, 0xB7,
	0x73, 0xDF, 0xB0, 0x11, 0xFF, 0xC3, 0x44, 0xBC, 0xF4, 0x42, 0xE2, 0xDD,
	0x6D, 0x8B, 0xC4, 0x87, 0x0B, 0x5D, 0x5B, 0x03,
};
static const uint8_t psk48[48] = {
	0x55, 0x12, 0xDB, 0xB6, 0x73, 0x7D, 0x01, 0x06, 0xF6, 0x59, 0x75, 0xB7,
	0x73, 0xDF, 0xB0, 0x11, 0xFF, 0xC3, 0x44, 0xBC, 0xF4, 0x42, 0xE2, 0xDD,
	0x6D, 0x8B, 0xC4, 0x87, 0x0B, 0x5D, 0x5B, 0x03, 0xFF, 0xC3, 0x44, 0xBC,
	0xF4, 0x42, 0xE2, 0xDD, 0x6D, 0x8B, 0xC4, 0x87, 0x0B, 0x5D, 0x5B, 0x03,
};
#define KEY00 "NVMeTLSkey-1:00:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:"
#define KEY01 "NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:"
#define KEY02 "NVMeTLSkey-1:02:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwP/w0S89ELi3W2LxIcLXVsDn8kXZQ==:"
#define HOST "nqn.psk-test-host"
#define SUBSYS "nqn.psk-test-subsys"

START_TEST(test_parse_vectors)
{
	struct nvmf_tls_configured k;
	char err[256];

	ck_assert_int_eq(nvmf_tls_key_parse(KEY00, &k, err, sizeof(err)), 0);
	ck_assert_uint_eq(k.hmac, 0);
	ck_assert_uint_eq(k.len, 32);
	ck_assert_mem_eq(k.key, psk32, 32);
	ck_assert_int_eq(nvmf_tls_key_parse(KEY01, &k, err, sizeof(err)), 0);
	ck_assert_uint_eq(k.hmac, 1);
	ck_assert_mem_eq(k.key, psk32, 32);
	/* As read from a file: a trailing newline. */
	ck_assert_int_eq(nvmf_tls_key_parse("  " KEY02 "\n", &k, err, sizeof(err)), 0);
	ck_assert_uint_eq(k.hmac, 2);
	ck_assert_uint_eq(k.len, 48);
	ck_assert_mem_eq(k.key, psk48, 48);
}
END_TEST

START_TEST(test_format_vectors)
{
	char s[100];

	ck_assert_int_eq(nvmf_tls_key_format(psk32, 32, 1, s, sizeof(s)), 0);
	ck_assert_str_eq(s, KEY01);
	ck_assert_int_eq(nvmf_tls_key_format(psk48, 48, 2, s, sizeof(s)), 0);
	ck_assert_str_eq(s, KEY02);
	ck_assert_int_eq(nvmf_tls_key_format(psk32, 32, 0, s, sizeof(s)), 0);
	ck_assert_str_eq(s, KEY00);
	ck_assert_int_eq(nvmf_tls_key_format(psk32, 31, 0, s, sizeof(s)), -EINVAL);
}
END_TEST

START_TEST(test_parse_rejects)
{
	static const struct { const char *s, *why; } bad[] = {
		/* one base64 character changed: the CRC catches it */
		{ "NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrY:", "CRC-32" },
		{ "NVMeTLSkey-1:02:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:", "does not fit" },
		{ "NVMeTLSkey-1:01:" "VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwP/w0S89ELi3W2LxIcLXVsDn8kXZQ==:",
		  "does not fit" },
		{ "NVMeTLSkey-1:03:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:", "hash 03" },
		{ "NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9Lr:", "base64 characters" },
		{ "NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ", "is not" },
		{ "NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWw*f9LrZ:", "base64" },
		{ "DHHC-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:", "does not start" },
		{ "", "does not start" },
	};
	struct nvmf_tls_configured k;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		ck_assert_int_eq(nvmf_tls_key_parse(bad[i].s, &k, err, sizeof(err)), -EINVAL);
		ck_assert_msg(strstr(err, bad[i].why), "%zu: '%s' lacks '%s'", i, err, bad[i].why);
		/* The message never quotes the key. */
		ck_assert_ptr_null(strstr(err, "VRLb"));
	}
}
END_TEST

static void check_identity(const char *key, enum nvmf_tls_kdf kdf, const char *want)
{
	struct nvmf_tls_configured k;
	struct nvmf_tls_psk p;
	char err[256];

	ck_assert_int_eq(nvmf_tls_key_parse(key, &k, err, sizeof(err)), 0);
	ck_assert_int_eq(nvmf_tls_psk_derive(&k, HOST, SUBSYS, 1, kdf, &p, err, sizeof(err)), 0);
	ck_assert_str_eq(p.identity, want);
	ck_assert_uint_eq(p.len, k.len);
	ck_assert_uint_eq(p.hash, k.hmac);
}

/* The v1 digest hashes the retained PSK: these pin both HKDF encodings. */
START_TEST(test_identity_v1_rfc)
{
	check_identity(KEY01, NVMF_TLS_RFC, "NVMe1R01 " HOST " " SUBSYS
		       " iSbjiStwJ/1TrTvDlt2fjFmzvsytOJelidNnA+X5lEU=");
	check_identity(KEY02, NVMF_TLS_RFC, "NVMe1R02 " HOST " " SUBSYS
		       " QhW2+Rp6RzHlNtCslyRxMnwJ11tKKhz8JCAQpQ+XUD8f9td1VeH5h53yz2wKJG1a");
}
END_TEST

START_TEST(test_identity_v1_compat)
{
	check_identity(KEY01, NVMF_TLS_COMPAT, "NVMe1R01 " HOST " " SUBSYS
		       " 66GuqV08TsAGII39teWUfwQwizjv06Jy8jOcX3NAAzM=");
	check_identity(KEY02, NVMF_TLS_COMPAT, "NVMe1R02 " HOST " " SUBSYS
		       " RsKmYJ3nAn1ApjjMloJFbAkLPivONDAX/xW327YBUsn2eGShXSjCZvBaOxscLqmz");
}
END_TEST

/* HKDF-Extract(0, ikm) then TLS 1.3 Expand-Label by OpenSSL's TLS13-KDF. */
static void oracle_rfc(int hash, const uint8_t *ikm, size_t len, const char *label,
		       const char *ctx, uint8_t *out)
{
	const char *md = hash == 1 ? "SHA256" : "SHA384";
	uint8_t prk[64];
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *c = EVP_KDF_CTX_new(kdf);
	OSSL_PARAM p[6];
	size_t prklen = hash == 1 ? 32 : 48;

	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)md, 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, len);
	p[2] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MODE, "EXTRACT_ONLY", 0);
	p[3] = OSSL_PARAM_construct_end();
	ck_assert_int_gt(EVP_KDF_derive(c, prk, prklen, p), 0);
	EVP_KDF_CTX_free(c);
	EVP_KDF_free(kdf);

	kdf = EVP_KDF_fetch(NULL, "TLS13-KDF", NULL);
	ck_assert_ptr_nonnull(kdf);
	c = EVP_KDF_CTX_new(kdf);
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)md, 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, prk, prklen);
	p[2] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MODE, "EXPAND_ONLY", 0);
	p[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PREFIX, "tls13 ", 6);
	p[4] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_LABEL, (void *)label,
						 strlen(label));
	p[5] = OSSL_PARAM_construct_end();
	/* (the context goes in as "data") */
	{
		OSSL_PARAM q[7];

		memcpy(q, p, sizeof(OSSL_PARAM) * 5);
		q[5] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_DATA, (void *)ctx,
							 strlen(ctx));
		q[6] = OSSL_PARAM_construct_end();
		ck_assert_int_gt(EVP_KDF_derive(c, out, len, q), 0);
	}
	EVP_KDF_CTX_free(c);
	EVP_KDF_free(kdf);
}

/* v0 (what the kernel host and Debian 12's tools use) with the RFC encoding. */
START_TEST(test_tls_psk_v0_rfc)
{
	static const char *keys[] = { KEY01, KEY02 };

	for (int i = 0; i < 2; i++) {
		struct nvmf_tls_configured k;
		struct nvmf_tls_psk p;
		uint8_t retained[48], want[48];
		char err[256], id[200];

		ck_assert_int_eq(nvmf_tls_key_parse(keys[i], &k, err, sizeof(err)), 0);
		ck_assert_int_eq(nvmf_tls_psk_derive(&k, HOST, SUBSYS, 0, NVMF_TLS_RFC, &p, err,
						     sizeof(err)), 0);
		snprintf(id, sizeof(id), "NVMe0R0%d %s %s", i + 1, HOST, SUBSYS);
		ck_assert_str_eq(p.identity, id);
		ck_assert_int_eq(nvmf_tls_identity_hash(p.identity), i + 1);
		oracle_rfc(k.hmac, k.key, k.len, "HostNQN", HOST, retained);
		oracle_rfc(k.hmac, retained, k.len, "nvme-tls-psk", id, want);
		ck_assert_mem_eq(p.key, want, k.len);
	}
}
END_TEST

/* The compat encoding differs from the RFC one, and matches its definition. */
START_TEST(test_tls_psk_v0_compat)
{
	struct nvmf_tls_configured k;
	struct nvmf_tls_psk rfc, compat;
	uint8_t retained[32], want[32], info[300];
	const char *id = "NVMe0R01 " HOST " " SUBSYS;
	EVP_KDF *kdf;
	EVP_KDF_CTX *c;
	OSSL_PARAM p[4];
	char err[256];
	size_t n;

	ck_assert_int_eq(nvmf_tls_key_parse(KEY01, &k, err, sizeof(err)), 0);
	ck_assert_int_eq(nvmf_tls_psk_derive(&k, HOST, SUBSYS, 0, NVMF_TLS_RFC, &rfc, err,
					     sizeof(err)), 0);
	ck_assert_int_eq(nvmf_tls_psk_derive(&k, HOST, SUBSYS, 0, NVMF_TLS_COMPAT, &compat, err,
					     sizeof(err)), 0);
	ck_assert_str_eq(rfc.identity, compat.identity);
	ck_assert_int_ne(memcmp(rfc.key, compat.key, 32), 0);

	/* le16(L) "tls13 HostNQN" NQNh, then le16(L) "tls13 nvme-tls-psk" identity */
	ck_assert_int_eq(nvmf_tls_retained(&k, HOST, NVMF_TLS_COMPAT, retained), 0);
	n = (size_t)snprintf((char *)info, sizeof(info), "%c%ctls13 nvme-tls-psk%s", 32, 0, id);
	ck_assert_uint_eq(n, 2 + 18 + strlen(id));
	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	c = EVP_KDF_CTX_new(kdf);
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, retained, 32);
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, n);
	p[3] = OSSL_PARAM_construct_end();
	ck_assert_int_gt(EVP_KDF_derive(c, want, 32, p), 0);
	EVP_KDF_CTX_free(c);
	EVP_KDF_free(kdf);
	ck_assert_mem_eq(compat.key, want, 32);
}
END_TEST

/* hh 00: the configured PSK is the retained one; the hash follows the length. */
START_TEST(test_hash_none)
{
	struct nvmf_tls_configured k;
	struct nvmf_tls_psk p;
	uint8_t retained[32], want[32];
	char err[256];

	ck_assert_int_eq(nvmf_tls_key_parse(KEY00, &k, err, sizeof(err)), 0);
	ck_assert_int_eq(nvmf_tls_retained(&k, HOST, NVMF_TLS_RFC, retained), 0);
	ck_assert_mem_eq(retained, psk32, 32);
	ck_assert_int_eq(nvmf_tls_psk_derive(&k, HOST, SUBSYS, 0, NVMF_TLS_RFC, &p, err,
					     sizeof(err)), 0);
	ck_assert_str_eq(p.identity, "NVMe0R01 " HOST " " SUBSYS);
	ck_assert_uint_eq(p.hash, 1);
	oracle_rfc(1, psk32, 32, "nvme-tls-psk", p.identity, want);
	ck_assert_mem_eq(p.key, want, 32);
}
END_TEST

START_TEST(test_identity_hash)
{
	ck_assert_int_eq(nvmf_tls_identity_hash("NVMe0R01 a b"), 1);
	ck_assert_int_eq(nvmf_tls_identity_hash("NVMe1G02 a b c"), 2);
	ck_assert_int_eq(nvmf_tls_identity_hash("NVMe0R03 a b"), -EINVAL);
	ck_assert_int_eq(nvmf_tls_identity_hash("NVMe0R01"), -EINVAL);
	ck_assert_int_eq(nvmf_tls_identity_hash("nvme0R01 a b"), -EINVAL);
}
END_TEST

START_TEST(test_key_file_mode)
{
	char path[] = "/tmp/test_tls_key.XXXXXX", buf[200], err[256];
	struct nvmf_tls_configured k;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, KEY01 "\n", strlen(KEY01) + 1), (ssize_t)strlen(KEY01) + 1);
	close(fd);
	ck_assert_int_eq(chmod(path, 0600), 0);
	ck_assert_int_eq(nvmf_tls_key_read_file(path, buf, sizeof(buf), err, sizeof(err)), 0);
	ck_assert_int_eq(nvmf_tls_key_parse(buf, &k, err, sizeof(err)), 0);
	ck_assert_mem_eq(k.key, psk32, 32);
	ck_assert_int_eq(chmod(path, 0640), 0);
	ck_assert_int_eq(nvmf_tls_key_read_file(path, buf, sizeof(buf), err, sizeof(err)), -EACCES);
	ck_assert_ptr_nonnull(strstr(err, "group or others"));
	ck_assert_int_eq(chmod(path, 0604), 0);
	ck_assert_int_eq(nvmf_tls_key_read_file(path, buf, sizeof(buf), err, sizeof(err)), -EACCES);
	unlink(path);
	ck_assert_int_eq(nvmf_tls_key_read_file(path, buf, sizeof(buf), err, sizeof(err)), -ENOENT);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tls_key");
	TCase *tc = tcase_create("tls_key");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_parse_vectors);
	tcase_add_test(tc, test_format_vectors);
	tcase_add_test(tc, test_parse_rejects);
	tcase_add_test(tc, test_identity_v1_rfc);
	tcase_add_test(tc, test_identity_v1_compat);
	tcase_add_test(tc, test_tls_psk_v0_rfc);
	tcase_add_test(tc, test_tls_psk_v0_compat);
	tcase_add_test(tc, test_hash_none);
	tcase_add_test(tc, test_identity_hash);
	tcase_add_test(tc, test_key_file_mode);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
