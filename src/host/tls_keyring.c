/* SPDX-License-Identifier: MIT */
/*
 * TLS PSKs from the kernel keyring (see tls_key.h), through libkeyutils:
 * the same keys the kernel host and tlshd use ("psk" keys in ".nvme",
 * described by their identity, holding the TLS PSK itself). The keyring is
 * listed and each key described, rather than searched, so that a v1
 * identity matches by its prefix whatever its digest, and so that what was
 * tried can be said when nothing matches.
 *
 * Keys added with keyctl padd grant read to their possessor only, so,
 * like tlshd, the keyring is linked into this thread's keyring while the
 * key is read (which makes the thread possess it), and unlinked after.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <keyutils.h>
#include <openssl/crypto.h>

#include "base/log.h"
#include "host/tls_key.h"

#define DEFAULT_KEYRING ".nvme"

static int keyring_id(const char *name, key_serial_t *out, char *err, size_t errlen)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(name, &end, 10);
	if (!errno && end != name && !*end && v > 0) {
		*out = (key_serial_t)v;
		return 0;
	}
	v = find_key_by_type_and_desc("keyring", name, 0);
	if (v < 0) {
		snprintf(err, errlen, "no keyring %s for the TLS PSK (%s%s)", name,
			 strerror(errno), !strcmp(name, DEFAULT_KEYRING) ?
			 "; the kernel's nvme modules create it" : "");
		return -ENOKEY;
	}
	*out = (key_serial_t)v;
	return 0;
}

/* A key's description if it is of type "psk" (malloc'd), else NULL. */
static char *psk_description(key_serial_t id)
{
	char *d = NULL, *p;
	int semi = 0;

	if (keyctl_describe_alloc(id, &d) < 0)
		return NULL;
	/* "type;uid;gid;perm;description" */
	if (strncmp(d, "psk;", 4)) {
		free(d);
		return NULL;
	}
	for (p = d; *p && semi < 4; p++)
		if (*p == ';')
			semi++;
	memmove(d, p, strlen(p) + 1);
	return d;
}

/* Is @desc the key for candidate @want (a v1 candidate ends in ' ': a prefix)? */
static bool matches(const char *desc, const char *want)
{
	size_t n = strlen(want);

	if (n && want[n - 1] == ' ')
		return !strncmp(desc, want, n) && desc[n] && !strchr(desc + n, ' ');
	return !strcmp(desc, want);
}

int nvmf_tls_psk_from_keyring(const char *keyring, const char *identity, const char *hostnqn,
			      const char *subnqn, struct nvmf_tls_psk *out, char *err,
			      size_t errlen)
{
	char want[4][NVMF_TLS_IDENTITY_MAX];
	key_serial_t kr, *ids = NULL, found = 0;
	bool linked;
	int nwant = 0, nids, best = 4, hash;
	char *desc_found = NULL;
	void *payload = NULL;
	int rc, len = 0;

	memset(out, 0, sizeof(*out));
	if (!keyring || !keyring[0])
		keyring = DEFAULT_KEYRING;
	if (identity && identity[0]) {
		snprintf(want[nwant++], sizeof(want[0]), "%s", identity);
	} else {
		/* The kernel host's order: v1 before v0, SHA-384 before SHA-256. */
		for (int v = 1; v >= 0; v--)
			for (int h = 2; h >= 1; h--)
				snprintf(want[nwant++], sizeof(want[0]), "NVMe%dR%02d %s %s%s", v, h,
					 hostnqn, subnqn, v ? " " : "");
	}
	rc = keyring_id(keyring, &kr, err, errlen);
	if (rc < 0)
		return rc;
	linked = keyctl_link(kr, KEY_SPEC_THREAD_KEYRING) == 0;
	nids = keyctl_read_alloc(kr, (void **)&ids);
	if (nids < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot list keyring %s: %s", keyring, strerror(errno));
		goto out;
	}
	nids /= (int)sizeof(key_serial_t);
	for (int i = 0; i < nids; i++) {
		char *d = psk_description(ids[i]);

		if (!d)
			continue;
		for (int w = 0; w < best; w++) {
			if (matches(d, want[w])) {
				best = w;
				found = ids[i];
				free(desc_found);
				desc_found = d;
				d = NULL;
				break;
			}
		}
		free(d);
	}
	free(ids);
	if (!found) {
		if (identity && identity[0])
			snprintf(err, errlen, "no TLS PSK \"%s\" in keyring %s", identity, keyring);
		else
			snprintf(err, errlen, "no TLS PSK for host %s and subsystem %s in keyring %s "
				 "(looked for NVMe1R02/NVMe1R01/NVMe0R02/NVMe0R01 identities; "
				 "use --tls-key or insert one)", hostnqn, subnqn, keyring);
		rc = -ENOKEY;
		goto out;
	}
	rc = 0;
	hash = nvmf_tls_identity_hash(desc_found);
	if (strlen(desc_found) >= sizeof(out->identity) || hash < 0) {
		snprintf(err, errlen, "TLS PSK \"%s\" in keyring %s: not an NVMe PSK identity",
			 desc_found, keyring);
		rc = -EKEYREJECTED;
		goto out;
	}
	len = keyctl_read_alloc(found, &payload);
	if (len < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot read TLS PSK \"%s\" from keyring %s: %s", desc_found,
			 keyring, strerror(errno));
		goto out;
	}
	if (len != (hash == 2 ? 48 : 32)) {
		snprintf(err, errlen, "TLS PSK \"%s\" in keyring %s has %d bytes, its hash "
			 "needs %d", desc_found, keyring, len, hash == 2 ? 48 : 32);
		rc = -EKEYREJECTED;
		goto out;
	}
	out->hash = (uint8_t)hash;
	out->len = (uint8_t)len;
	memcpy(out->key, payload, (size_t)len);
	snprintf(out->identity, sizeof(out->identity), "%s", desc_found);
	nvmf_debug("TLS PSK \"%s\" from keyring %s (key %d)", desc_found, keyring, found);
out:
	if (payload) {
		OPENSSL_cleanse(payload, len > 0 ? (size_t)len : 0);
		free(payload);
	}
	free(desc_found);
	if (linked)
		keyctl_unlink(kr, KEY_SPEC_THREAD_KEYRING);
	return rc;
}
