/* SPDX-License-Identifier: MIT */
/* The host identity, resolved in order (see hostid.h). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nvme/util.h>
#include <openssl/evp.h>

#include "base/log.h"
#include "host/hostid.h"
#include "host/nvmf.h"

#define UUID_NQN_PREFIX "nqn.2014-08.org.nvmexpress:uuid:"
#define DMI_FILE "/sys/class/dmi/id/product_uuid"

int nvmf_uuid_parse(const char *s, uint8_t out[16])
{
	int n = 0;

	if (strlen(s) != 36)
		return -EINVAL;
	for (const char *p = s; *p && n < 32; p++) {
		int v;
		long pos = p - s;

		if (pos == 8 || pos == 13 || pos == 18 || pos == 23) {
			if (*p != '-')
				return -EINVAL;
			continue;
		}
		if (!isxdigit((unsigned char)*p))
			return -EINVAL;
		v = isdigit((unsigned char)*p) ? *p - '0' : (tolower((unsigned char)*p) - 'a' + 10);
		if (n % 2 == 0)
			out[n / 2] = (uint8_t)(v << 4);
		else
			out[n / 2] |= (uint8_t)v;
		n++;
	}
	return n == 32 && strlen(s) == 36 ? 0 : -EINVAL;
}

/* The first word of @path's first line, malloc'd; NULL when absent or empty. */
static char *read_value(const char *path)
{
	char buf[512];
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return NULL;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return NULL;
	}
	fclose(f);
	n = strcspn(buf, " \t\r\n");
	buf[n] = 0;
	return n ? strdup(buf) : NULL;
}

char *nvmf_hostid_nqn_from_file(void)
{
	return read_value(NVMF_HOSTNQN_FILE);
}

/* $@name, its trailing whitespace dropped; NULL when unset or empty (as libnvme). */
static char *env_value(const char *name)
{
	const char *v = getenv(name);
	size_t n;

	if (!v)
		return NULL;
	n = strlen(v);
	while (n && isspace((unsigned char)v[n - 1]))
		n--;
	return n ? strndup(v, n) : NULL;
}

/*
 * UUID text and random UUIDs are libnvme's: nvme_uuid_to_string() (lower
 * case, 8-4-4-4-12) and nvme_uuid_random() (RFC 4122 version 4 from
 * /dev/urandom, -errno). Parsing stays nvmf_uuid_parse(): libnvme's
 * nvme_uuid_from_string() is sscanf() with %hhx, which takes signs, "0x",
 * blanks and trailing bytes in what may be a hostile file or variable.
 */
static void uuid_str(uint8_t b[NVME_UUID_LEN], char out[NVME_UUID_LEN_STRING])
{
	(void)nvme_uuid_to_string(b, out);	/* fails only on a short buffer */
}

/*
 * The host ID of a host NQN given without one: the UUID of a uuid-style
 * NQN, else a name-based UUID (RFC 4122 version 5, SHA-1) of the NQN in a
 * namespace of our own: the same NQN always gets the same ID, two NQNs
 * different ones.
 */
static int id_from_nqn(const char *nqn, char out[37])
{
	static const uint8_t ns[16] = {	/* nvmfuse host IDs */
		0x6e, 0x76, 0x6d, 0x66, 0x75, 0x73, 0x45, 0x68, 0x8f, 0x1c, 0x3a, 0x52,
		0x0b, 0x9d, 0x47, 0x21,
	};
	const char *u = strstr(nqn, ":uuid:");
	uint8_t md[EVP_MAX_MD_SIZE], b[16];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx;
	int ok;

	if (u && strlen(u + 6) == 36 && nvmf_uuid_parse(u + 6, b) == 0) {
		uuid_str(b, out);
		return 0;
	}
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	ok = EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) && EVP_DigestUpdate(ctx, ns, sizeof(ns)) &&
	     EVP_DigestUpdate(ctx, nqn, strlen(nqn)) && EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	if (!ok || mdlen < 16)
		return -EIO;
	memcpy(b, md, 16);
	b[6] = (b[6] & 0x0f) | 0x50;	/* version 5 */
	b[8] = (b[8] & 0x3f) | 0x80;
	uuid_str(b, out);
	return 0;
}

/*
 * Fill @out from one source's @nqn and @id (either may be NULL, not both;
 * both consumed), the missing part derived from the other. @what names the
 * source in messages.
 */
static int from_source(char *nqn, char *id, enum nvmf_hostid_source src, const char *what,
		       struct nvmf_hostid *out, char *err, size_t errlen)
{
	char uuid[37];
	int rc;

	out->source = src;
	snprintf(out->origin, sizeof(out->origin), "%s", what);
	if (!id) {
		rc = id_from_nqn(nqn, uuid);
		if (rc < 0) {
			snprintf(err, errlen, "cannot derive a host ID from the host NQN: %s",
				 strerror(-rc));
			goto fail;
		}
		id = strdup(uuid);
	}
	if (id && nvmf_uuid_parse(id, out->id_bytes) < 0) {
		snprintf(err, errlen, "host ID '%.64s' from %s is not a UUID", id, what);
		rc = -EINVAL;
		goto fail;
	}
	if (!nqn && id && asprintf(&nqn, UUID_NQN_PREFIX "%s", id) < 0)
		nqn = NULL;
	if (!nqn || !id) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto fail;
	}
	if (strlen(nqn) > NVMF_NQN_SIZE) {
		snprintf(err, errlen, "host NQN from %s is longer than %d characters", what,
			 NVMF_NQN_SIZE);
		rc = -EINVAL;
		goto fail;
	}
	out->nqn = nqn;
	out->id = id;
	return 0;
fail:
	free(nqn);
	free(id);
	return rc;
}

/*
 * Names of the parts a source gave, for messages: "A" or "A and B".
 * @a/@b: whether each part was given, @na/@nb their names.
 */
static const char *which(bool a, bool b, const char *na, const char *nb, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", a ? na : "", a && b ? " and " : "", b ? nb : "");
	return buf;
}

/* Write @content to new file @path (its directory created). -EEXIST if it exists. */
static int publish(const char *path, const char *content, char *err, size_t errlen)
{
	char dir[PATH_MAX], tmp[PATH_MAX + 32];
	size_t len = strlen(content);
	char *slash;
	int fd, rc = 0;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
			snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
			return -errno;
		}
	}
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		return -errno;
	}
	if (write(fd, content, len) != (ssize_t)len || fsync(fd) < 0)
		rc = errno ? -errno : -EIO;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	/* link(), not rename(): a file written meanwhile by someone else stays. */
	if (!rc && link(tmp, path) < 0)
		rc = -errno;
	unlink(tmp);
	if (rc < 0 && rc != -EEXIST)
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(-rc));
	return rc;
}

/*
 * KEEPDIR/identity: "NQN\nID\n". Returns 1 with *@nqn and *@id when there is
 * one, 0 when there is none, -errno (@err) when it is damaged.
 */
static int read_kept(const char *path, char **nqn, char **id, char *err, size_t errlen)
{
	char a[512], b[512];
	FILE *f = fopen(path, "re");
	int n = 0;

	*nqn = *id = NULL;
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	if (fgets(a, sizeof(a), f) && fgets(b, sizeof(b), f))
		n = 2;
	fclose(f);
	a[strcspn(a, "\n")] = 0;
	b[strcspn(b, "\n")] = 0;
	if (n != 2 || !a[0] || !b[0]) {
		snprintf(err, errlen, "%s is damaged: remove it", path);
		return -EINVAL;
	}
	*nqn = strdup(a);
	*id = strdup(b);
	return 1;
}

/* Source 5: the DMI product UUID, or /dev/urandom; kept in KEEPDIR/identity if asked. */
static int generate(const struct nvmf_hostid_paths *p, struct nvmf_hostid *out, char *err,
		    size_t errlen)
{
	char *dmi = read_value(p->dmi_file ? p->dmi_file : DMI_FILE), uuid[37], what[80];
	uint8_t b[16], zero[16] = { 0 };
	char *nqn = NULL, *id;
	int rc;

	if (dmi && nvmf_uuid_parse(dmi, b) == 0 && memcmp(b, zero, 16)) {
		uuid_str(b, uuid);
		snprintf(what, sizeof(what), "the DMI product UUID");
	} else {
		rc = nvme_uuid_random(b);
		if (rc == 0)
			uuid_str(b, uuid);
		if (rc < 0) {
			free(dmi);
			snprintf(err, errlen, "cannot generate a host ID: /dev/urandom: %s",
				 strerror(-rc));
			return rc;
		}
		snprintf(what, sizeof(what), "/dev/urandom");
	}
	free(dmi);
	id = strdup(uuid);
	if (id && asprintf(&nqn, UUID_NQN_PREFIX "%s", id) < 0)
		nqn = NULL;
	rc = from_source(nqn, id, NVMF_HOSTID_GENERATED, what, out, err, errlen);
	if (rc < 0 || !p->keep_dir)
		return rc;
	{
		char path[PATH_MAX], *content = NULL, *knqn, *kid;

		snprintf(path, sizeof(path), "%s/identity", p->keep_dir);
		if (asprintf(&content, "%s\n%s\n", out->nqn, out->id) < 0)
			return 0;	/* not kept; still an identity */
		rc = publish(path, content, out->keep_err, sizeof(out->keep_err));
		free(content);
		out->kept = rc == 0;
		if (rc != -EEXIST)
			return 0;
		/* Another command generated one at the same time: use that. */
		rc = read_kept(path, &knqn, &kid, err, errlen);
		if (rc <= 0)
			return rc ? rc : 0;
		nvmf_hostid_free(out);
		return from_source(knqn, kid, NVMF_HOSTID_KEPT, path, out, err, errlen);
	}
}

int nvmf_hostid_resolve(const char *nqn_flag, const char *id_flag,
			const struct nvmf_hostid_paths *p, struct nvmf_hostid *out, char *err,
			size_t errlen)
{
	const char *nqn_file = p->nqn_file ? p->nqn_file : NVMF_HOSTNQN_FILE;
	const char *id_file = p->id_file ? p->id_file : NVMF_HOSTID_FILE;
	char *nqn, *id, what[PATH_MAX * 2 + 8];
	int rc;

	memset(out, 0, sizeof(*out));
	if (nqn_flag || id_flag) {
		nqn = nqn_flag ? strdup(nqn_flag) : NULL;
		id = id_flag ? strdup(id_flag) : NULL;
		if ((nqn_flag && !nqn) || (id_flag && !id)) {
			free(nqn);
			free(id);
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		if (nqn_flag && !*nqn_flag) {
			free(nqn);
			free(id);
			snprintf(err, errlen, "--hostnqn is empty");
			return -EINVAL;
		}
		return from_source(nqn, id, NVMF_HOSTID_FLAGS,
				   which(nqn, id, "--hostnqn", "--hostid", what, sizeof(what)), out,
				   err, errlen);
	}
	nqn = env_value("LIBNVME_HOSTNQN");
	id = env_value("LIBNVME_HOSTID");
	if (nqn || id)
		return from_source(nqn, id, NVMF_HOSTID_ENV,
				   which(nqn, id, "LIBNVME_HOSTNQN", "LIBNVME_HOSTID", what,
					 sizeof(what)), out, err, errlen);
	nqn = read_value(nqn_file);
	id = read_value(id_file);
	if (nqn || id)
		return from_source(nqn, id, NVMF_HOSTID_FILES,
				   which(nqn, id, nqn_file, id_file, what, sizeof(what)), out, err,
				   errlen);
	if (p->keep_dir) {
		snprintf(what, sizeof(what), "%s/identity", p->keep_dir);
		rc = read_kept(what, &nqn, &id, err, errlen);
		if (rc < 0)
			return rc;
		if (rc)
			return from_source(nqn, id, NVMF_HOSTID_KEPT, what, out, err, errlen);
	}
	return generate(p, out, err, errlen);
}

void nvmf_hostid_free(struct nvmf_hostid *h)
{
	free(h->nqn);
	free(h->id);
	h->nqn = h->id = NULL;
}

/* @path holds @value, or gets it. */
static int save_one(const char *path, const char *value, char *err, size_t errlen)
{
	char *line = NULL, *old;
	int rc;

	if (asprintf(&line, "%s\n", value) < 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = publish(path, line, err, errlen);
	free(line);
	if (rc != -EEXIST)
		return rc;
	old = read_value(path);
	rc = old && !strcmp(old, value) ? 0 : -EEXIST;
	if (rc)
		snprintf(err, errlen, "%s already holds %.230s, not %s: remove it to replace it",
			 path, old ? old : "nothing readable", value);
	free(old);
	return rc;
}

int nvmf_hostid_save(const struct nvmf_hostid *h, const struct nvmf_hostid_paths *p, char *err,
		     size_t errlen)
{
	const char *nqn_file = p->nqn_file ? p->nqn_file : NVMF_HOSTNQN_FILE;
	const char *id_file = p->id_file ? p->id_file : NVMF_HOSTID_FILE;
	char *old_nqn = read_value(nqn_file), *old_id = read_value(id_file);
	int rc = 0;

	/* Check both before writing either: never half an identity. */
	if (old_nqn && strcmp(old_nqn, h->nqn))
		rc = save_one(nqn_file, h->nqn, err, errlen);
	else if (old_id && strcmp(old_id, h->id))
		rc = save_one(id_file, h->id, err, errlen);
	free(old_nqn);
	free(old_id);
	if (rc < 0)
		return rc;
	rc = save_one(nqn_file, h->nqn, err, errlen);
	return rc < 0 ? rc : save_one(id_file, h->id, err, errlen);
}
