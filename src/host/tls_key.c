/* SPDX-License-Identifier: MIT */
/*
 * TLS PSK interchange format and derivations (see tls_key.h). OpenSSL 3's
 * HKDF and HMAC do the arithmetic; the HkdfLabel encodings are built here
 * because the two variants differ exactly there.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "base/crc32.h"
#include "host/tls_key.h"

static const char *hash_name(int hash)
{
	return hash == 1 ? "SHA256" : hash == 2 ? "SHA384" : NULL;
}

int nvmf_tls_key_parse(const char *s, struct nvmf_tls_configured *out, char *err, size_t errlen)
{
	uint8_t raw[64];
	char b64[96];
	size_t plen = strlen(NVMF_TLS_KEY_PREFIX), n;
	const char *p, *end;
	int hh, dlen, klen;
	uint32_t crc;

	memset(out, 0, sizeof(*out));
	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	if ((size_t)(end - s) < plen || strncmp(s, NVMF_TLS_KEY_PREFIX, plen)) {
		snprintf(err, errlen, "TLS key does not start with %s (the PSK interchange "
			 "format of nvme gen-tls-key)", NVMF_TLS_KEY_PREFIX);
		return -EINVAL;
	}
	p = s + plen;
	if (end - p < 4 || !isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]) ||
	    p[2] != ':' || end[-1] != ':') {
		snprintf(err, errlen, "TLS key is not NVMeTLSkey-1:<hh>:<base64>:");
		return -EINVAL;
	}
	hh = (int)strtol((char[]){ p[0], p[1], 0 }, NULL, 16);
	if (hh > 2) {
		snprintf(err, errlen, "TLS key has hash %02x: only 00, 01 (SHA-256) and "
			 "02 (SHA-384) exist", hh);
		return -EINVAL;
	}
	p += 3;
	n = (size_t)(end - 1 - p);
	if (n != 48 && n != 72) {
		snprintf(err, errlen, "TLS key has %zu base64 characters: a 32 or 48 byte key "
			 "has 48 or 72", n);
		return -EINVAL;
	}
	memcpy(b64, p, n);
	b64[n] = 0;
	dlen = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)n);
	if (dlen < 0) {
		snprintf(err, errlen, "TLS key is not valid base64");
		OPENSSL_cleanse(b64, sizeof(b64));
		return -EINVAL;
	}
	/* EVP_DecodeBlock counts the '=' padding as zero bytes. */
	if (b64[n - 1] == '=')
		dlen--;
	if (b64[n - 2] == '=')
		dlen--;
	OPENSSL_cleanse(b64, sizeof(b64));
	klen = dlen - 4;
	if ((klen != 32 && klen != 48) || (hh == 1 && klen != 32) || (hh == 2 && klen != 48)) {
		OPENSSL_cleanse(raw, sizeof(raw));
		snprintf(err, errlen, "TLS key of %d bytes does not fit hash %02x "
			 "(01: 32 bytes, 02: 48 bytes)", klen, hh);
		return -EINVAL;
	}
	crc = (uint32_t)raw[klen] | (uint32_t)raw[klen + 1] << 8 |
	      (uint32_t)raw[klen + 2] << 16 | (uint32_t)raw[klen + 3] << 24;
	if (crc != nvmf_crc32_ieee(raw, (size_t)klen)) {
		OPENSSL_cleanse(raw, sizeof(raw));
		snprintf(err, errlen, "TLS key fails its CRC-32 check (mistyped or truncated?)");
		return -EINVAL;
	}
	out->hmac = (uint8_t)hh;
	out->len = (uint8_t)klen;
	memcpy(out->key, raw, (size_t)klen);
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
}

int nvmf_tls_key_format(const uint8_t *key, size_t len, int hmac, char *out, size_t outlen)
{
	uint8_t raw[NVMF_TLS_PSK_MAX + 4];
	uint32_t crc;
	int n;

	if ((len != 32 && len != 48) || hmac < 0 || hmac > 2 || outlen < 90)
		return -EINVAL;
	memcpy(raw, key, len);
	crc = nvmf_crc32_ieee(key, len);
	for (int i = 0; i < 4; i++)
		raw[len + i] = (uint8_t)(crc >> (8 * i));
	n = snprintf(out, outlen, "%s%02d:", NVMF_TLS_KEY_PREFIX, hmac);
	n += EVP_EncodeBlock((unsigned char *)out + n, raw, (int)len + 4);
	out[n++] = ':';
	out[n] = 0;
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
}

/*
 * HKDF-Extract(0, @key) then Expand with @info into @out (@len bytes).
 * Returns 0 or -EIO (OpenSSL failed).
 */
static int hkdf(int hash, const uint8_t *key, size_t klen, const uint8_t *info, size_t ilen,
		uint8_t *out, size_t len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_HKDF, NULL);
	EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM params[4];
	int rc = -EIO;

	if (!ctx)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						     (char *)hash_name(hash), 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, klen);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, ilen);
	params[3] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(ctx, out, len, params) > 0)
		rc = 0;
out:
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return rc;
}

/*
 * The HkdfLabel of RFC 8446 7.1 ("tls13 " + @label, @ctx of @clen bytes,
 * output length @len), or libnvme's old form of it. Returns its length,
 * or -EINVAL when it does not fit @info (512 bytes).
 */
static int hkdf_label(enum nvmf_tls_kdf kdf, size_t len, const char *label, const void *ctx,
		      size_t clen, uint8_t *info, size_t ilen)
{
	size_t llen = 6 + strlen(label), n = 0;

	if (2 + 1 + llen + 1 + clen > ilen || llen > 255 || clen > 255)
		return -EINVAL;
	if (kdf == NVMF_TLS_RFC) {
		info[n++] = (uint8_t)(len >> 8);
		info[n++] = (uint8_t)len;
		info[n++] = (uint8_t)llen;
	} else {
		info[n++] = (uint8_t)len;	/* little-endian, no length bytes */
		info[n++] = (uint8_t)(len >> 8);
	}
	memcpy(info + n, "tls13 ", 6);
	memcpy(info + n + 6, label, llen - 6);
	n += llen;
	if (kdf == NVMF_TLS_RFC)
		info[n++] = (uint8_t)clen;
	memcpy(info + n, ctx, clen);
	return (int)(n + clen);
}

/* The hash a configured PSK's derivations use: its own, or by length for 00. */
static int key_hash(const struct nvmf_tls_configured *k)
{
	return k->hmac ? k->hmac : (k->len == 48 ? 2 : 1);
}

int nvmf_tls_retained(const struct nvmf_tls_configured *k, const char *hostnqn,
		      enum nvmf_tls_kdf kdf, uint8_t *out)
{
	uint8_t info[512];
	int n;

	if (k->len != 32 && k->len != 48)
		return -EINVAL;
	if (k->hmac == 0) {
		memcpy(out, k->key, k->len);
		return 0;
	}
	n = hkdf_label(kdf, k->len, "HostNQN", hostnqn, strlen(hostnqn), info, sizeof(info));
	if (n < 0)
		return n;
	return hkdf(k->hmac, k->key, k->len, info, (size_t)n, out, k->len);
}

/* base64(HMAC_H(retained, NQNh " " NQNc " NVMe-over-Fabrics")): the v1 digest. */
static int psk_digest(int hash, const uint8_t *retained, size_t len, const char *hostnqn,
		      const char *subnqn, char *out, size_t outlen)
{
	static const char seed[] = "NVMe-over-Fabrics";
	EVP_MAC *mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM params[2];
	uint8_t md[EVP_MAX_MD_SIZE];
	size_t mdlen = 0;
	int rc = -EIO;

	if (!ctx)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     (char *)hash_name(hash), 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(ctx, retained, len, params) <= 0 ||
	    EVP_MAC_update(ctx, (const uint8_t *)hostnqn, strlen(hostnqn)) <= 0 ||
	    EVP_MAC_update(ctx, (const uint8_t *)" ", 1) <= 0 ||
	    EVP_MAC_update(ctx, (const uint8_t *)subnqn, strlen(subnqn)) <= 0 ||
	    EVP_MAC_update(ctx, (const uint8_t *)" ", 1) <= 0 ||
	    EVP_MAC_update(ctx, (const uint8_t *)seed, strlen(seed)) <= 0 ||
	    EVP_MAC_final(ctx, md, &mdlen, sizeof(md)) <= 0)
		goto out;
	/* libnvme truncates the HMAC to the key's length (never shorter here). */
	if (mdlen > len)
		mdlen = len;
	if (outlen < 4 * ((mdlen + 2) / 3) + 1)
		goto out;
	EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen);
	rc = 0;
out:
	OPENSSL_cleanse(md, sizeof(md));
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return rc;
}

int nvmf_tls_psk_derive(const struct nvmf_tls_configured *k, const char *hostnqn,
			const char *subnqn, int version, enum nvmf_tls_kdf kdf,
			struct nvmf_tls_psk *out, char *err, size_t errlen)
{
	uint8_t retained[NVMF_TLS_PSK_MAX], info[512];
	char digest[100], ctx[120];
	int hash = key_hash(k), n, rc;
	const char *c;

	memset(out, 0, sizeof(*out));
	if (version != 0 && version != 1) {
		snprintf(err, errlen, "TLS PSK identity version %d: only 0 and 1 exist", version);
		return -EINVAL;
	}
	rc = nvmf_tls_retained(k, hostnqn, kdf, retained);
	if (rc < 0)
		goto fail;
	if (version == 0) {
		n = snprintf(out->identity, sizeof(out->identity), "NVMe0R%02d %s %s", hash,
			     hostnqn, subnqn);
		c = out->identity;
	} else {
		rc = psk_digest(hash, retained, k->len, hostnqn, subnqn, digest, sizeof(digest));
		if (rc < 0)
			goto fail;
		n = snprintf(out->identity, sizeof(out->identity), "NVMe1R%02d %s %s %s", hash,
			     hostnqn, subnqn, digest);
		snprintf(ctx, sizeof(ctx), "%02d %s", hash, digest);
		c = ctx;
	}
	rc = -EINVAL;
	if (n < 0 || (size_t)n >= sizeof(out->identity))
		goto fail;
	n = hkdf_label(kdf, k->len, "nvme-tls-psk", c, strlen(c), info, sizeof(info));
	if (n < 0)
		goto fail;
	rc = hkdf(hash, retained, k->len, info, (size_t)n, out->key, k->len);
	if (rc < 0)
		goto fail;
	out->hash = (uint8_t)hash;
	out->len = k->len;
	OPENSSL_cleanse(retained, sizeof(retained));
	return 0;
fail:
	OPENSSL_cleanse(retained, sizeof(retained));
	OPENSSL_cleanse(out, sizeof(*out));
	snprintf(err, errlen, "cannot derive the TLS PSK: %s",
		 rc == -EINVAL ? "host or subsystem NQN too long" : "OpenSSL's HKDF failed");
	return rc;
}

int nvmf_tls_identity_hash(const char *id)
{
	if (strncmp(id, "NVMe", 4) || (id[4] != '0' && id[4] != '1') ||
	    (id[5] != 'R' && id[5] != 'G') || id[6] != '0' || (id[7] != '1' && id[7] != '2') ||
	    id[8] != ' ')
		return -EINVAL;
	return id[7] - '0';
}

int nvmf_tls_key_read_file(const char *path, char *buf, size_t buflen, char *err, size_t errlen)
{
	struct stat st;
	ssize_t n;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "TLS key file %s: %s", path, strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "TLS key file %s is not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, errlen, "TLS key file %s is accessible by group or others "
			 "(mode %03o): chmod 600 it", path, (unsigned int)(st.st_mode & 0777));
		close(fd);
		return -EACCES;
	}
	n = read(fd, buf, buflen - 1);
	rc = n < 0 ? -errno : 0;
	close(fd);
	if (rc < 0) {
		snprintf(err, errlen, "TLS key file %s: %s", path, strerror(-rc));
		return rc;
	}
	if ((size_t)n == buflen - 1) {
		OPENSSL_cleanse(buf, buflen);
		snprintf(err, errlen, "TLS key file %s is too long for one key", path);
		return -EINVAL;
	}
	buf[n] = 0;
	return 0;
}
