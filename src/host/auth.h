/* SPDX-License-Identifier: MIT */
/*
 * DH-HMAC-CHAP (NVMe Base 2.0 section 8.13.5, TP 8006), host side: the
 * pure part, with no I/O, so that it is table-tested and fuzzed:
 *
 *   - DHHC-1 secrets ("DHHC-1:<hh>:<base64(key || CRC-32 LE)>:") parsed and
 *     written, and the key transformation HMAC_hh(K, NQN || "NVMe-over-Fabrics");
 *   - the authentication messages: Negotiate, Reply, Success2, Failure2
 *     built; Challenge, Success1, Failure1 parsed with every length checked;
 *   - the responses R1 (host) and R2 (controller) and the augmented
 *     challenge, through OpenSSL 3 HMAC;
 *   - finite-field Diffie-Hellman over the RFC 7919 groups ffdhe2048..8192,
 *     through OpenSSL 3's named groups.
 *
 * The transaction on the wire (Authentication Send/Receive on one queue
 * pair) is host/fabrics.c, nvmf_fabrics_auth().
 *
 * Secrets: struct nvmf_dhchap_key holds key material; nvmf_dhchap_key_clear()
 * wipes it (OPENSSL_cleanse), and every intermediate buffer in auth.c is
 * wiped before it goes out of scope. No function here logs.
 *
 * Threading: every function is reentrant (no shared state); OpenSSL 3 is
 * thread-safe for this use.
 */
#ifndef NVMF_AUTH_H
#define NVMF_AUTH_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Authentication Send/Receive (Fabrics 3.x; Base 8.13.5): SECP, SPSP0/1.
 * Their FCTYPEs are libnvme's nvme_fabrics_type_auth_send/_receive.
 */
#define NVMF_AUTH_SECP_DHCHAP	0xe9
#define NVMF_AUTH_SPSP		0x01

/* Connect response DW0 AUTHREQ (bits 17, 18). */
#define NVMF_CONNECT_AUTHREQ_ATR	(1u << 17)
#define NVMF_CONNECT_AUTHREQ_ASCR	(1u << 18)

/* Hash identifiers (the DHHC-1 <hh> 01..03 and the HashID of the messages). */
#define NVMF_AUTH_HASH_SHA256	1
#define NVMF_AUTH_HASH_SHA384	2
#define NVMF_AUTH_HASH_SHA512	3
#define NVMF_AUTH_HASH_MAX_LEN	64

/* DH group identifiers. */
#define NVMF_AUTH_DHGROUP_NULL	0
#define NVMF_AUTH_DHGROUP_2048	1
#define NVMF_AUTH_DHGROUP_3072	2
#define NVMF_AUTH_DHGROUP_4096	3
#define NVMF_AUTH_DHGROUP_6144	4
#define NVMF_AUTH_DHGROUP_8192	5

/* AUTH_Type and AUTH_Id of the messages. */
#define NVMF_AUTH_TYPE_COMMON	0x00
#define NVMF_AUTH_TYPE_DHCHAP	0x01
#define NVMF_AUTH_ID_NEGOTIATE	0x00
#define NVMF_AUTH_ID_CHALLENGE	0x01
#define NVMF_AUTH_ID_REPLY	0x02
#define NVMF_AUTH_ID_SUCCESS1	0x03
#define NVMF_AUTH_ID_SUCCESS2	0x04
#define NVMF_AUTH_ID_FAILURE2	0xf0
#define NVMF_AUTH_ID_FAILURE1	0xf1

/* Failure reason code and its explanations. */
#define NVMF_AUTH_RC_FAILED		0x01
#define NVMF_AUTH_RCE_FAILED		0x01
#define NVMF_AUTH_RCE_NOT_USABLE	0x02
#define NVMF_AUTH_RCE_CONCAT_MISMATCH	0x03
#define NVMF_AUTH_RCE_HASH_UNUSABLE	0x04
#define NVMF_AUTH_RCE_DHGROUP_UNUSABLE	0x05
#define NVMF_AUTH_RCE_INCORRECT_PAYLOAD	0x06
#define NVMF_AUTH_RCE_INCORRECT_MESSAGE	0x07

/* Sizes of the fixed parts (Base 8.13.5.x, the Linux struct layouts). */
#define NVMF_AUTH_NEGOTIATE_LEN	(8 + 64)	/* header + one protocol descriptor */
#define NVMF_AUTH_HDR_LEN	16		/* challenge, reply, success1, success2 */
#define NVMF_AUTH_FAILURE_LEN	8
/* What the host asks for with Authentication Receive: ffdhe8192 fits. */
#define NVMF_AUTH_RECV_LEN	4096

/* A DH-HMAC-CHAP secret. */
struct nvmf_dhchap_key {
	uint8_t hash;		/* <hh>: 0 no transformation, else NVMF_AUTH_HASH_* */
	uint8_t len;		/* 32, 48 or 64 */
	uint8_t key[64];
};

/* Hash: digest length (0 if unknown) and name ("sha256"), NULL if unknown. */
size_t nvmf_auth_hash_len(uint8_t hash_id);
const char *nvmf_auth_hash_name(uint8_t hash_id);
/* DH group: name ("null", "ffdhe2048"), and public value length (0 for NULL or unknown). */
const char *nvmf_auth_dhgroup_name(uint8_t dhgid);
size_t nvmf_auth_dh_len(uint8_t dhgid);
/* A failure reason code explanation in words ("authentication failed", ...). */
const char *nvmf_auth_failure_str(uint8_t rescode_exp);

/*
 * Parse a DHHC-1 secret as nvme-cli's gen-dhchap-key writes it and the
 * Linux host reads it: <hh> 00..03, a key of 32, 48 or 64 bytes, a CRC-32
 * that matches. 0 or -EINVAL with the reason in @err (never the secret).
 */
int nvmf_dhchap_key_parse(const char *s, struct nvmf_dhchap_key *k, char *err, size_t errlen);
/*
 * Write "DHHC-1:<hh>:<base64(key || CRC-32 LE)>:" for @len (32/48/64) bytes
 * of @key into @out (at least 100 bytes). 0, or -EINVAL.
 */
int nvmf_dhchap_key_format(const uint8_t *key, size_t len, uint8_t hh, char *out, size_t outlen);
/*
 * The transformed key: @k itself when its <hh> is 0, else
 * HMAC_hh(key, @nqn || "NVMe-over-Fabrics"). @out holds 64 bytes; its
 * length in *@outlen. 0 or -EINVAL/-ENOMEM.
 */
int nvmf_dhchap_key_transform(const struct nvmf_dhchap_key *k, const char *nqn, uint8_t *out,
			      size_t *outlen);
void nvmf_dhchap_key_clear(struct nvmf_dhchap_key *k);

/* HMAC_@hash_id(@key, @data) into @out (the digest length). 0 or -errno. */
int nvmf_auth_hmac(uint8_t hash_id, const uint8_t *key, size_t klen, const uint8_t *data,
		   size_t dlen, uint8_t *out);

/*
 * The response of one side (Base 8.13.5.4/5): @host true for the host's R1
 * ("HostHost", NQNh then NQNc), false for the controller's R2 ("Controller",
 * NQNc then NQNh):
 *   HMAC_H(Kt, Ca || le32(seq) || le16(tid) || 0x00 || who || nqn1 || 0x00 || nqn2)
 * with Kt the transformed key and Ca the challenge (hash length), augmented
 * with the session key as HMAC_H(H(KS), C) when @skey is not NULL.
 * @out gets the hash length. 0 or -errno.
 */
int nvmf_auth_response(uint8_t hash_id, const uint8_t *tkey, size_t tklen,
		       const uint8_t *challenge, const uint8_t *skey, size_t sklen,
		       uint32_t seq, uint16_t tid, bool host, const char *hostnqn,
		       const char *subnqn, uint8_t *out);

/* Ephemeral DH key pair in one group (OpenSSL EVP_PKEY). */
struct nvmf_auth_dh;
/* Generate a key pair in @dhgid (not NULL). 0 or -EINVAL/-ENOMEM/-EIO. */
int nvmf_auth_dh_new(uint8_t dhgid, struct nvmf_auth_dh **out);
/* The public value, big-endian, padded to nvmf_auth_dh_len(). 0 or -errno. */
int nvmf_auth_dh_public(struct nvmf_auth_dh *dh, uint8_t *buf, size_t len);
/*
 * The shared secret with the peer's public value @peer (@plen must be the
 * group's length; OpenSSL checks 1 < y < p-1), padded to the same length,
 * into @out (@outlen bytes). 0, -EINVAL (a bad peer value), -errno.
 */
int nvmf_auth_dh_derive(struct nvmf_auth_dh *dh, const uint8_t *peer, size_t plen,
			uint8_t *out, size_t outlen);
void nvmf_auth_dh_free(struct nvmf_auth_dh *dh);

/* Messages the host sends. Each returns the length written, or -ENOSPC. */
int nvmf_auth_build_negotiate(uint8_t *buf, size_t cap, uint16_t tid);
/* @c2 NULL: unidirectional (C2 zero, S2 0). @dhv NULL with @dhvlen 0: NULL group. */
int nvmf_auth_build_reply(uint8_t *buf, size_t cap, uint16_t tid, uint8_t hl,
			  const uint8_t *r1, const uint8_t *c2, uint32_t s2,
			  const uint8_t *dhv, uint16_t dhvlen);
int nvmf_auth_build_success2(uint8_t *buf, size_t cap, uint16_t tid);
int nvmf_auth_build_failure2(uint8_t *buf, size_t cap, uint16_t tid, uint8_t rescode_exp);

/* A message from the controller, parsed; pointers into the buffer. */
struct nvmf_auth_msg {
	uint8_t type, id;
	uint16_t tid;
	/* Challenge */
	uint8_t hl, hashid, dhgid;
	uint16_t dhvlen;
	uint32_t seqnum;
	const uint8_t *cval;	/* hl bytes */
	const uint8_t *dhv;	/* dhvlen bytes, NULL when 0 */
	/* Success1 */
	bool rvalid;
	const uint8_t *rval;	/* hl bytes when rvalid */
	/* Failure1 */
	uint8_t rescode, rescode_exp;
};

/*
 * Parse @len bytes from the controller (hostile): a Challenge, Success1 or
 * Failure1. Checks the type and id, that every length field stays inside
 * @len, the hash (known, HL its digest length), the DH group (known, DHVLEN
 * 0 for NULL and the group's length otherwise) and that Success1's HL is
 * @want_hl (0: any valid). Returns 0, or -EPROTO with the explanation to
 * send in Failure2 in *@rce and a one-line cause in @err.
 */
int nvmf_auth_parse(const uint8_t *buf, size_t len, uint8_t want_hl, struct nvmf_auth_msg *m,
		    uint8_t *rce, char *err, size_t errlen);

#endif
