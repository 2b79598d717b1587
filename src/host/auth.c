/* SPDX-License-Identifier: MIT */
/*
 * DH-HMAC-CHAP, the pure part: secrets, messages, responses, DH (see
 * host/auth.h). Layouts follow NVMe Base 2.0 section 8.13.5 as the Linux
 * host and nvmet lay them out (include/linux/nvme.h nvmf_auth_dhchap_*).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/dh.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "base/crc32.h"
#include "host/auth.h"

static const struct {
	const char *name;	/* OpenSSL digest name */
	size_t len;
} hashes[] = {
	[NVMF_AUTH_HASH_SHA256] = { "SHA256", 32 },
	[NVMF_AUTH_HASH_SHA384] = { "SHA384", 48 },
	[NVMF_AUTH_HASH_SHA512] = { "SHA512", 64 },
};

static const struct {
	const char *name;	/* RFC 7919 group, OpenSSL's name too */
	size_t len;		/* bytes of p */
} groups[] = {
	[NVMF_AUTH_DHGROUP_NULL] = { "null", 0 },
	[NVMF_AUTH_DHGROUP_2048] = { "ffdhe2048", 256 },
	[NVMF_AUTH_DHGROUP_3072] = { "ffdhe3072", 384 },
	[NVMF_AUTH_DHGROUP_4096] = { "ffdhe4096", 512 },
	[NVMF_AUTH_DHGROUP_6144] = { "ffdhe6144", 768 },
	[NVMF_AUTH_DHGROUP_8192] = { "ffdhe8192", 1024 },
};

size_t nvmf_auth_hash_len(uint8_t id)
{
	return id >= 1 && id <= 3 ? hashes[id].len : 0;
}

const char *nvmf_auth_hash_name(uint8_t id)
{
	static const char *const lower[] = { NULL, "sha256", "sha384", "sha512" };

	return id >= 1 && id <= 3 ? lower[id] : NULL;
}

const char *nvmf_auth_dhgroup_name(uint8_t id)
{
	return id <= NVMF_AUTH_DHGROUP_8192 ? groups[id].name : NULL;
}

size_t nvmf_auth_dh_len(uint8_t id)
{
	return id <= NVMF_AUTH_DHGROUP_8192 ? groups[id].len : 0;
}

const char *nvmf_auth_failure_str(uint8_t rce)
{
	switch (rce) {
	case NVMF_AUTH_RCE_FAILED: return "authentication failed (wrong secret?)";
	case NVMF_AUTH_RCE_NOT_USABLE: return "authentication protocol not usable";
	case NVMF_AUTH_RCE_CONCAT_MISMATCH: return "secure channel concatenation mismatch";
	case NVMF_AUTH_RCE_HASH_UNUSABLE: return "hash function not usable";
	case NVMF_AUTH_RCE_DHGROUP_UNUSABLE: return "DH group not usable";
	case NVMF_AUTH_RCE_INCORRECT_PAYLOAD: return "incorrect payload";
	case NVMF_AUTH_RCE_INCORRECT_MESSAGE: return "incorrect protocol message";
	}
	return "unknown reason";
}

/* ---------------------------------------------------------------- secrets */

int nvmf_dhchap_key_parse(const char *s, struct nvmf_dhchap_key *k, char *err, size_t errlen)
{
	uint8_t raw[100];	/* 92 base64 characters decode to 69 bytes at most */
	const char *b64, *end;
	size_t n, pad = 0;
	int got;

	memset(k, 0, sizeof(*k));
	if (strncmp(s, "DHHC-1:", 7) || s[7] != '0' || s[8] < '0' || s[8] > '3' ||
	    s[9] != ':') {
		snprintf(err, errlen, "not a DHHC-1 secret (DHHC-1:<00..03>:<base64>:)");
		return -EINVAL;
	}
	k->hash = (uint8_t)(s[8] - '0');
	b64 = s + 10;
	end = strchr(b64, ':');
	if (!end)
		end = b64 + strlen(b64);
	else if (end[1]) {
		snprintf(err, errlen, "DHHC-1 secret: characters after the closing ':'");
		return -EINVAL;
	}
	n = (size_t)(end - b64);
	if (n != 48 && n != 72 && n != 92) {
		snprintf(err, errlen, "DHHC-1 secret: %zu base64 characters, expected 48, 72 or 92 "
			 "(a key of 32, 48 or 64 bytes)", n);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		char ch = b64[i];

		if (ch == '=' && i >= n - 2) {
			pad++;
			continue;
		}
		if (pad || !((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
			     (ch >= '0' && ch <= '9') || ch == '+' || ch == '/')) {
			snprintf(err, errlen, "DHHC-1 secret: not base64 at character %zu", i + 1);
			return -EINVAL;
		}
	}
	got = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)n);
	if (got < 0 || (size_t)got < pad) {
		snprintf(err, errlen, "DHHC-1 secret: not base64");
		OPENSSL_cleanse(raw, sizeof(raw));
		return -EINVAL;
	}
	got -= (int)pad;
	if (got != 36 && got != 52 && got != 68) {
		snprintf(err, errlen, "DHHC-1 secret: %d bytes, expected a key of 32, 48 or 64 bytes "
			 "and its CRC", got);
		OPENSSL_cleanse(raw, sizeof(raw));
		return -EINVAL;
	}
	k->len = (uint8_t)(got - 4);
	if (nvmf_crc32_ieee(raw, k->len) != ((uint32_t)raw[k->len] | (uint32_t)raw[k->len + 1] << 8 |
					(uint32_t)raw[k->len + 2] << 16 |
					(uint32_t)raw[k->len + 3] << 24)) {
		snprintf(err, errlen, "DHHC-1 secret: CRC mismatch (mistyped or truncated)");
		OPENSSL_cleanse(raw, sizeof(raw));
		memset(k, 0, sizeof(*k));
		return -EINVAL;
	}
	memcpy(k->key, raw, k->len);
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
}

int nvmf_dhchap_key_format(const uint8_t *key, size_t len, uint8_t hh, char *out, size_t outlen)
{
	uint8_t raw[68];
	char b64[100];
	uint32_t crc;
	int n;

	if ((len != 32 && len != 48 && len != 64) || hh > 3 || outlen < 11 + 92 + 2)
		return -EINVAL;
	memcpy(raw, key, len);
	crc = nvmf_crc32_ieee(key, len);
	raw[len] = (uint8_t)crc;
	raw[len + 1] = (uint8_t)(crc >> 8);
	raw[len + 2] = (uint8_t)(crc >> 16);
	raw[len + 3] = (uint8_t)(crc >> 24);
	n = EVP_EncodeBlock((unsigned char *)b64, raw, (int)len + 4);
	OPENSSL_cleanse(raw, sizeof(raw));
	if (n <= 0)
		return -EINVAL;
	snprintf(out, outlen, "DHHC-1:%02x:%s:", hh, b64);
	OPENSSL_cleanse(b64, sizeof(b64));
	return 0;
}

void nvmf_dhchap_key_clear(struct nvmf_dhchap_key *k)
{
	if (k)
		OPENSSL_cleanse(k, sizeof(*k));
}

/* ------------------------------------------------------------------- HMAC */

struct part {
	const void *p;
	size_t n;
};

static int hmac_parts(uint8_t id, const uint8_t *key, size_t klen, const struct part *parts,
		      int nparts, uint8_t *out)
{
	size_t hl = nvmf_auth_hash_len(id), outl = 0;
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx = NULL;
	OSSL_PARAM params[2];
	int rc = -EIO;

	if (!hl)
		return -EINVAL;
	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (!mac)
		return -EIO;
	ctx = EVP_MAC_CTX_new(mac);
	if (!ctx) {
		rc = -ENOMEM;
		goto out;
	}
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     (char *)hashes[id].name, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_init(ctx, key, klen, params))
		goto out;
	for (int i = 0; i < nparts; i++)
		if (parts[i].n && !EVP_MAC_update(ctx, parts[i].p, parts[i].n))
			goto out;
	if (!EVP_MAC_final(ctx, out, &outl, hl) || outl != hl)
		goto out;
	rc = 0;
out:
	EVP_MAC_CTX_free(ctx);	/* OpenSSL wipes the key schedule */
	EVP_MAC_free(mac);
	return rc;
}

int nvmf_auth_hmac(uint8_t id, const uint8_t *key, size_t klen, const uint8_t *data,
		   size_t dlen, uint8_t *out)
{
	struct part p = { data, dlen };

	return hmac_parts(id, key, klen, &p, 1, out);
}

int nvmf_dhchap_key_transform(const struct nvmf_dhchap_key *k, const char *nqn, uint8_t *out,
			      size_t *outlen)
{
	struct part p[2] = { { nqn, strlen(nqn) }, { "NVMe-over-Fabrics", 17 } };
	int rc;

	if (k->hash == 0) {
		memcpy(out, k->key, k->len);
		*outlen = k->len;
		return 0;
	}
	rc = hmac_parts(k->hash, k->key, k->len, p, 2, out);
	*outlen = rc ? 0 : nvmf_auth_hash_len(k->hash);
	return rc;
}

int nvmf_auth_response(uint8_t id, const uint8_t *tkey, size_t tklen, const uint8_t *challenge,
		       const uint8_t *skey, size_t sklen, uint32_t seq, uint16_t tid, bool host,
		       const char *hostnqn, const char *subnqn, uint8_t *out)
{
	size_t hl = nvmf_auth_hash_len(id);
	uint8_t aug[NVMF_AUTH_HASH_MAX_LEN], hk[NVMF_AUTH_HASH_MAX_LEN];
	uint8_t le[7] = { (uint8_t)seq, (uint8_t)(seq >> 8), (uint8_t)(seq >> 16),
			  (uint8_t)(seq >> 24), (uint8_t)tid, (uint8_t)(tid >> 8), 0 };
	const char *nqn1 = host ? hostnqn : subnqn, *nqn2 = host ? subnqn : hostnqn;
	struct part p[6];
	unsigned int dl = 0;
	int rc;

	if (!hl)
		return -EINVAL;
	if (skey) {
		/* Augmented challenge (Base 8.13.5.3): HMAC_H(H(KS), C). */
		if (!EVP_Digest(skey, sklen, hk, &dl, EVP_get_digestbyname(hashes[id].name), NULL) ||
		    dl != hl) {
			OPENSSL_cleanse(hk, sizeof(hk));
			return -EIO;
		}
		rc = nvmf_auth_hmac(id, hk, hl, challenge, hl, aug);
		OPENSSL_cleanse(hk, sizeof(hk));
		if (rc)
			return rc;
		challenge = aug;
	}
	p[0] = (struct part){ challenge, hl };
	p[1] = (struct part){ le, 7 };		/* S, TID, SC_C = 0 */
	p[2] = (struct part){ host ? "HostHost" : "Controller", host ? 8 : 10 };
	p[3] = (struct part){ nqn1, strlen(nqn1) };
	p[4] = (struct part){ "", 1 };		/* 0x00 */
	p[5] = (struct part){ nqn2, strlen(nqn2) };
	rc = hmac_parts(id, tkey, tklen, p, 6, out);
	OPENSSL_cleanse(aug, sizeof(aug));
	return rc;
}

/* --------------------------------------------------------------------- DH */

struct nvmf_auth_dh {
	uint8_t dhgid;
	EVP_PKEY *pkey;
};

int nvmf_auth_dh_new(uint8_t dhgid, struct nvmf_auth_dh **out)
{
	struct nvmf_auth_dh *dh;
	EVP_PKEY_CTX *ctx;
	OSSL_PARAM params[2];
	int rc = -EIO;

	if (!nvmf_auth_dh_len(dhgid))
		return -EINVAL;
	dh = calloc(1, sizeof(*dh));
	if (!dh)
		return -ENOMEM;
	dh->dhgid = dhgid;
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
	if (!ctx)
		goto fail;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
						     (char *)groups[dhgid].name, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_PKEY_keygen_init(ctx) <= 0 || EVP_PKEY_CTX_set_params(ctx, params) <= 0 ||
	    EVP_PKEY_generate(ctx, &dh->pkey) <= 0)
		goto fail;
	EVP_PKEY_CTX_free(ctx);
	*out = dh;
	return 0;
fail:
	EVP_PKEY_CTX_free(ctx);
	free(dh);
	return rc;
}

void nvmf_auth_dh_free(struct nvmf_auth_dh *dh)
{
	if (!dh)
		return;
	EVP_PKEY_free(dh->pkey);	/* clears the private key */
	free(dh);
}

int nvmf_auth_dh_public(struct nvmf_auth_dh *dh, uint8_t *buf, size_t len)
{
	size_t want = nvmf_auth_dh_len(dh->dhgid), got = 0;

	if (len != want)
		return -EINVAL;
	memset(buf, 0, len);
	if (!EVP_PKEY_get_octet_string_param(dh->pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, buf,
					     len, &got) || got == 0 || got > len)
		return -EIO;
	if (got < len) {	/* left-pad to the length of p */
		memmove(buf + (len - got), buf, got);
		memset(buf, 0, len - got);
	}
	return 0;
}

int nvmf_auth_dh_derive(struct nvmf_auth_dh *dh, const uint8_t *peer, size_t plen,
			uint8_t *out, size_t outlen)
{
	size_t want = nvmf_auth_dh_len(dh->dhgid), got = outlen;
	EVP_PKEY *pp = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	int rc = -EINVAL;

	if (plen != want || outlen != want)
		return -EINVAL;
	pp = EVP_PKEY_new();
	if (!pp)
		return -ENOMEM;
	if (!EVP_PKEY_copy_parameters(pp, dh->pkey) ||
	    !EVP_PKEY_set1_encoded_public_key(pp, peer, plen))
		goto out;
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, dh->pkey, NULL);
	if (!ctx) {
		rc = -ENOMEM;
		goto out;
	}
	/* derive_set_peer checks the peer's value (1 < y < p-1, y^q = 1). */
	if (EVP_PKEY_derive_init(ctx) <= 0 || EVP_PKEY_CTX_set_dh_pad(ctx, 1) <= 0 ||
	    EVP_PKEY_derive_set_peer(ctx, pp) <= 0 || EVP_PKEY_derive(ctx, out, &got) <= 0 ||
	    got != want) {
		OPENSSL_cleanse(out, outlen);
		goto out;
	}
	rc = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pp);
	return rc;
}

/* --------------------------------------------------------------- messages */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16;
}

/* A message of @len bytes, zeroed, with its type, id and transaction id (the common header). */
static void put_header(uint8_t *buf, size_t len, uint8_t type, uint8_t id, uint16_t tid)
{
	memset(buf, 0, len);
	buf[0] = type;
	buf[1] = id;
	put16(buf + 4, tid);
}

int nvmf_auth_build_negotiate(uint8_t *buf, size_t cap, uint16_t tid)
{
	uint8_t *d;

	if (cap < NVMF_AUTH_NEGOTIATE_LEN)
		return -ENOSPC;
	put_header(buf, NVMF_AUTH_NEGOTIATE_LEN, NVMF_AUTH_TYPE_COMMON, NVMF_AUTH_ID_NEGOTIATE, tid);
	buf[6] = 0;		/* SC_C: no secure channel concatenation */
	buf[7] = 1;		/* NAPD: one protocol descriptor */
	d = buf + 8;		/* DH-HMAC-CHAP descriptor */
	d[0] = 0x01;		/* AUTHID: DH-HMAC-CHAP */
	d[2] = 3;		/* HALEN */
	d[3] = 6;		/* DHLEN */
	d[4 + 0] = NVMF_AUTH_HASH_SHA256;
	d[4 + 1] = NVMF_AUTH_HASH_SHA384;
	d[4 + 2] = NVMF_AUTH_HASH_SHA512;
	for (int i = 0; i <= NVMF_AUTH_DHGROUP_8192; i++)
		d[4 + 30 + i] = (uint8_t)i;	/* DH groups start at IDLIST byte 30 */
	return NVMF_AUTH_NEGOTIATE_LEN;
}

int nvmf_auth_build_reply(uint8_t *buf, size_t cap, uint16_t tid, uint8_t hl,
			  const uint8_t *r1, const uint8_t *c2, uint32_t s2,
			  const uint8_t *dhv, uint16_t dhvlen)
{
	size_t len = NVMF_AUTH_HDR_LEN + 2 * (size_t)hl + dhvlen;

	if (cap < len)
		return -ENOSPC;
	put_header(buf, len, NVMF_AUTH_TYPE_DHCHAP, NVMF_AUTH_ID_REPLY, tid);
	buf[6] = hl;
	buf[8] = c2 ? 1 : 0;	/* CVALID */
	put16(buf + 10, dhvlen);
	put32(buf + 12, c2 ? s2 : 0);
	memcpy(buf + 16, r1, hl);
	if (c2)
		memcpy(buf + 16 + hl, c2, hl);
	if (dhvlen)
		memcpy(buf + 16 + 2 * (size_t)hl, dhv, dhvlen);
	return (int)len;
}

int nvmf_auth_build_success2(uint8_t *buf, size_t cap, uint16_t tid)
{
	if (cap < NVMF_AUTH_HDR_LEN)
		return -ENOSPC;
	put_header(buf, NVMF_AUTH_HDR_LEN, NVMF_AUTH_TYPE_DHCHAP, NVMF_AUTH_ID_SUCCESS2, tid);
	return NVMF_AUTH_HDR_LEN;
}

int nvmf_auth_build_failure2(uint8_t *buf, size_t cap, uint16_t tid, uint8_t rce)
{
	if (cap < NVMF_AUTH_FAILURE_LEN)
		return -ENOSPC;
	put_header(buf, NVMF_AUTH_FAILURE_LEN, NVMF_AUTH_TYPE_COMMON, NVMF_AUTH_ID_FAILURE2, tid);
	buf[6] = NVMF_AUTH_RC_FAILED;
	buf[7] = rce;
	return NVMF_AUTH_FAILURE_LEN;
}

static int bad(uint8_t *rce, uint8_t code, char *err, size_t errlen, const char *what)
{
	*rce = code;
	snprintf(err, errlen, "%s", what);
	return -EPROTO;
}

int nvmf_auth_parse(const uint8_t *buf, size_t len, uint8_t want_hl, struct nvmf_auth_msg *m,
		    uint8_t *rce, char *err, size_t errlen)
{
	size_t need;

	memset(m, 0, sizeof(*m));
	*rce = 0;
	if (len < NVMF_AUTH_FAILURE_LEN)
		return bad(rce, NVMF_AUTH_RCE_INCORRECT_PAYLOAD, err, errlen,
			   "message shorter than its header");
	m->type = buf[0];
	m->id = buf[1];
	m->tid = get16(buf + 4);
	/* Failure1 is a common message; accept it under either type. */
	if (m->id == NVMF_AUTH_ID_FAILURE1 &&
	    (m->type == NVMF_AUTH_TYPE_COMMON || m->type == NVMF_AUTH_TYPE_DHCHAP)) {
		m->rescode = buf[6];
		m->rescode_exp = buf[7];
		return 0;
	}
	if (m->type != NVMF_AUTH_TYPE_DHCHAP ||
	    (m->id != NVMF_AUTH_ID_CHALLENGE && m->id != NVMF_AUTH_ID_SUCCESS1)) {
		snprintf(err, errlen, "unexpected message type 0x%02x id 0x%02x", m->type, m->id);
		*rce = NVMF_AUTH_RCE_INCORRECT_MESSAGE;
		return -EPROTO;
	}
	if (len < NVMF_AUTH_HDR_LEN)
		return bad(rce, NVMF_AUTH_RCE_INCORRECT_PAYLOAD, err, errlen,
			   "message shorter than its header");
	m->hl = buf[6];
	if (m->id == NVMF_AUTH_ID_SUCCESS1) {
		if ((m->hl != 32 && m->hl != 48 && m->hl != 64) || (want_hl && m->hl != want_hl)) {
			snprintf(err, errlen, "Success1 with hash length %u, expected %u", m->hl,
				 want_hl);
			*rce = NVMF_AUTH_RCE_HASH_UNUSABLE;
			return -EPROTO;
		}
		m->rvalid = buf[8] & 1;
		if (m->rvalid) {
			if (len < NVMF_AUTH_HDR_LEN + (size_t)m->hl)
				return bad(rce, NVMF_AUTH_RCE_INCORRECT_PAYLOAD, err, errlen,
					   "Success1 response value beyond the message");
			m->rval = buf + NVMF_AUTH_HDR_LEN;
		}
		return 0;
	}
	m->hashid = buf[8];
	m->dhgid = buf[9];
	m->dhvlen = get16(buf + 10);
	m->seqnum = get32(buf + 12);
	if (!nvmf_auth_hash_len(m->hashid)) {
		snprintf(err, errlen, "Challenge with unknown hash 0x%02x", m->hashid);
		*rce = NVMF_AUTH_RCE_HASH_UNUSABLE;
		return -EPROTO;
	}
	if (m->hl != nvmf_auth_hash_len(m->hashid)) {
		snprintf(err, errlen, "Challenge hash length %u is not %s's %zu", m->hl,
			 nvmf_auth_hash_name(m->hashid), nvmf_auth_hash_len(m->hashid));
		*rce = NVMF_AUTH_RCE_HASH_UNUSABLE;
		return -EPROTO;
	}
	if (!nvmf_auth_dhgroup_name(m->dhgid)) {
		snprintf(err, errlen, "Challenge with unknown DH group 0x%02x", m->dhgid);
		*rce = NVMF_AUTH_RCE_DHGROUP_UNUSABLE;
		return -EPROTO;
	}
	if (m->dhvlen != nvmf_auth_dh_len(m->dhgid)) {
		snprintf(err, errlen, "Challenge DH value of %u bytes for group %s (expected %zu)",
			 m->dhvlen, nvmf_auth_dhgroup_name(m->dhgid), nvmf_auth_dh_len(m->dhgid));
		*rce = m->dhgid == NVMF_AUTH_DHGROUP_NULL ? NVMF_AUTH_RCE_INCORRECT_PAYLOAD :
			NVMF_AUTH_RCE_DHGROUP_UNUSABLE;
		return -EPROTO;
	}
	need = NVMF_AUTH_HDR_LEN + (size_t)m->hl + m->dhvlen;
	if (len < need) {
		snprintf(err, errlen, "Challenge of %zu bytes runs beyond the %zu received", need,
			 len);
		*rce = NVMF_AUTH_RCE_INCORRECT_PAYLOAD;
		return -EPROTO;
	}
	m->cval = buf + NVMF_AUTH_HDR_LEN;
	m->dhv = m->dhvlen ? m->cval + m->hl : NULL;
	return 0;
}
