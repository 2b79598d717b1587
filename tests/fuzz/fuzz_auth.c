/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the DH-HMAC-CHAP parsers (src/host/auth.c): the messages
 * a hostile controller sends (nvmf_auth_parse) and DHHC-1 secrets
 * (nvmf_dhchap_key_parse).
 *
 * Input layout:
 *   byte 0  bit 7 set: the rest is a secret string (NUL-terminated copy);
 *           else bits 0-1 pick the hash length Success1 must carry
 *           (0: any, 1: 32, 2: 48, 3: 64)
 *   rest    the message bytes, copied to an exact-size heap block so that
 *           AddressSanitizer sees any overread
 *
 * Each accepted message is checked against the wire rules independently:
 * every pointer and length inside the input, the hash and group lengths
 * those of a known hash and group. An accepted secret must survive a
 * write and re-read unchanged (its string need not be canonical: unused
 * low bits before '=' padding are ignored, as base64 decoders do).
 *
 * Built two ways, like fuzz_tcp_pdu.c: with tests/fuzz/fuzz_main.c by
 * `make check`, or with libFuzzer:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I src \
 *       tests/fuzz/fuzz_auth.c src/host/auth.c -lcrypto -o fuzz_auth
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "host/auth.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_msg(const uint8_t *buf, size_t len, uint8_t want_hl)
{
	struct nvmf_auth_msg m;
	uint8_t rce = 0xee;
	char err[256];
	int rc;

	err[0] = 0;
	rc = nvmf_auth_parse(buf, len, want_hl, &m, &rce, err, sizeof(err));
	if (rc) {
		FZ_ASSERT(rc == -EPROTO, "rc %d", rc);
		FZ_ASSERT(rce >= NVMF_AUTH_RCE_FAILED && rce <= NVMF_AUTH_RCE_INCORRECT_MESSAGE,
			  "explanation 0x%02x", rce);
		FZ_ASSERT(err[0] && memchr(err, 0, sizeof(err)), "no message");
		return;
	}
	FZ_ASSERT(len >= 8, "accepted %zu bytes", len);
	FZ_ASSERT(m.type == buf[0] && m.id == buf[1], "type/id");
	FZ_ASSERT(m.tid == (buf[4] | buf[5] << 8), "tid");
	switch (m.id) {
	case NVMF_AUTH_ID_FAILURE1:
		FZ_ASSERT(buf[0] <= 1, "failure1 type %u", buf[0]);
		break;
	case NVMF_AUTH_ID_CHALLENGE: {
		size_t hl = buf[6], dhvlen = (size_t)(buf[10] | buf[11] << 8);

		FZ_ASSERT(buf[0] == 1 && len >= 16, "challenge header");
		FZ_ASSERT(nvmf_auth_hash_len(buf[8]) == hl, "hl %zu for hash %u", hl, buf[8]);
		FZ_ASSERT(buf[9] <= 5 && nvmf_auth_dh_len(buf[9]) == dhvlen, "dhvlen %zu group %u",
			  dhvlen, buf[9]);
		FZ_ASSERT(16 + hl + dhvlen <= len, "challenge beyond the input");
		FZ_ASSERT(m.cval == buf + 16 && (dhvlen ? m.dhv == buf + 16 + hl : !m.dhv),
			  "pointers");
		break;
	}
	case NVMF_AUTH_ID_SUCCESS1:
		FZ_ASSERT(buf[0] == 1 && len >= 16, "success1 header");
		FZ_ASSERT(buf[6] == 32 || buf[6] == 48 || buf[6] == 64, "hl %u", buf[6]);
		FZ_ASSERT(!want_hl || buf[6] == want_hl, "hl %u, wanted %u", buf[6], want_hl);
		FZ_ASSERT(m.rvalid == (buf[8] & 1), "rvalid");
		FZ_ASSERT(!m.rvalid || (m.rval == buf + 16 && 16u + buf[6] <= len), "rval");
		break;
	default:
		FZ_ASSERT(0, "accepted id 0x%02x", m.id);
	}
}

static void check_key(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), err[256], out[128];
	struct nvmf_dhchap_key k, k2;

	if (!s)
		return;
	memcpy(s, data, size);
	s[size] = 0;
	if (nvmf_dhchap_key_parse(s, &k, err, sizeof(err)) == 0) {
		FZ_ASSERT(k.hash <= 3 && (k.len == 32 || k.len == 48 || k.len == 64), "key %u/%u",
			  k.hash, k.len);
		FZ_ASSERT(nvmf_dhchap_key_format(k.key, k.len, k.hash, out, sizeof(out)) == 0,
			  "format");
		FZ_ASSERT(nvmf_dhchap_key_parse(out, &k2, err, sizeof(err)) == 0, "reparse: %s", err);
		FZ_ASSERT(!memcmp(&k, &k2, sizeof(k)), "round trip differs");
	} else {
		FZ_ASSERT(k.len == 0 && err[0], "refusal");
	}
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t hls[4] = { 0, 32, 48, 64 };
	uint8_t *buf;

	if (size < 1)
		return 0;
	if (data[0] & 0x80) {
		check_key(data + 1, size - 1);
		return 0;
	}
	buf = malloc(size - 1 ? size - 1 : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size - 1);
	check_msg(buf, size - 1, hls[data[0] & 3]);
	free(buf);
	return 0;
}
