/* SPDX-License-Identifier: MIT */
/*
 * TLS 1.3 PSKs for NVMe/TCP (TP 8011, NVMe/TCP Transport 1.1 section 3.6):
 * where the key the handshake uses comes from, and how it is derived.
 *
 *   configured PSK   NVMeTLSkey-1:<hh>:<base64(key || CRC-32 LE)>:
 *                    (nvme gen-tls-key; hh 00 none, 01 SHA-256, 02 SHA-384)
 *   retained PSK     HKDF-Expand-Label(HKDF-Extract(0, key), "HostNQN",
 *                    NQNh, len)  (hh 00: the configured PSK itself)
 *   identity         v0 "NVMe0R<hh> <NQNh> <NQNc>",
 *                    v1 "NVMe1R<hh> <NQNh> <NQNc> <base64 PSK digest>"
 *   TLS PSK          HKDF-Expand-Label(HKDF-Extract(0, retained),
 *                    "nvme-tls-psk", v0: identity / v1: "<hh> <digest>", L)
 *
 * Two encodings of HKDF-Expand-Label exist in the field: RFC 8446's
 * (libnvme >= 1.16, nvme-cli >= 2.16, the default) and the one libnvme
 * used before (NVMF_TLS_COMPAT: the length little-endian, label and
 * context concatenated without length bytes; Debian 12's nvme-cli). A
 * target's key was inserted by one of them, so the host must derive the
 * same way.
 *
 * The kernel keyring (tls_keyring.c) holds TLS PSKs as they go into the
 * handshake (key type "psk", description = identity, in keyring ".nvme"),
 * the way the kernel host and tlshd use them.
 *
 * Everything here is a pure function of its arguments except
 * nvmf_tls_key_read_file() and the keyring lookup. Errors: 0 or -errno,
 * with a one-line cause in @err that never contains key material.
 * Thread: any.
 */
#ifndef NVMF_HOST_TLS_KEY_H
#define NVMF_HOST_TLS_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/qpair.h"

#define NVMF_TLS_KEY_PREFIX	"NVMeTLSkey-1:"

enum nvmf_tls_kdf {
	NVMF_TLS_RFC = 0,	/* RFC 8446 HkdfLabel (libnvme >= 1.16) */
	NVMF_TLS_COMPAT,	/* libnvme < 1.16 (Debian 12's nvme-cli) */
};

/* A configured PSK parsed from its interchange form. */
struct nvmf_tls_configured {
	uint8_t hmac;		/* hh: 0 none, 1 SHA-256, 2 SHA-384 */
	uint8_t len;		/* 32 or 48 */
	uint8_t key[NVMF_TLS_PSK_MAX];
};

/*
 * Parse "NVMeTLSkey-1:<hh>:<base64>:" (surrounding white space allowed,
 * as read from a file) and check its CRC-32. -EINVAL names what is wrong.
 */
int nvmf_tls_key_parse(const char *s, struct nvmf_tls_configured *out, char *err, size_t errlen);

/* The interchange string of @len (32, 48) bytes of @key with @hmac; @outlen >= 90. */
int nvmf_tls_key_format(const uint8_t *key, size_t len, int hmac, char *out, size_t outlen);

/* The retained PSK (len(key) bytes) of a configured PSK for @hostnqn. */
int nvmf_tls_retained(const struct nvmf_tls_configured *k, const char *hostnqn,
		      enum nvmf_tls_kdf kdf, uint8_t *out);

/*
 * From a configured PSK: identity (@version 0 or 1) and TLS PSK, as
 * libnvme's nvme_insert_tls_key_versioned() stores them in the keyring.
 */
int nvmf_tls_psk_derive(const struct nvmf_tls_configured *k, const char *hostnqn,
			const char *subnqn, int version, enum nvmf_tls_kdf kdf,
			struct nvmf_tls_psk *out, char *err, size_t errlen);

/*
 * Read a key file holding one interchange string into @buf. The file must
 * be a regular file not readable or writable by group or others (a secret
 * lying open is refused, like ssh does). -EACCES / -EINVAL with the cause.
 */
int nvmf_tls_key_read_file(const char *path, char *buf, size_t buflen, char *err, size_t errlen);

/*
 * Look a TLS PSK up in the kernel keyring @keyring (NULL or "": ".nvme";
 * a name, or a decimal serial), as the kernel host does for --tls without
 * a key: with @identity, that exact description; else, in this order,
 * "NVMe1R02 <hostnqn> <subnqn> " (any digest), "NVMe1R01 ...",
 * "NVMe0R02 <hostnqn> <subnqn>", "NVMe0R01 ...". -ENOKEY when none
 * matches (the message lists what was tried), -EKEYREJECTED when the
 * key's length does not fit its hash.
 */
int nvmf_tls_psk_from_keyring(const char *keyring, const char *identity, const char *hostnqn,
			      const char *subnqn, struct nvmf_tls_psk *out, char *err,
			      size_t errlen);

/* The hash of an identity "NVMe<v><R|G><hh> ...": 1, 2, or -EINVAL. */
int nvmf_tls_identity_hash(const char *identity);

#endif
