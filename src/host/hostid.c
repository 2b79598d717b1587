/* SPDX-License-Identifier: MIT */
/*
 * Host identity (NQN and 128-bit host ID), found the way nvme-cli does:
 * explicit options, then /etc/nvme/hostnqn and /etc/nvme/hostid. When the
 * files are missing we derive the ID from a uuid-style NQN, or generate
 * both, and say so, since a target's ACL may depend on them.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nvme/fabrics.h>

#include "base/log.h"
#include "host/nvmf.h"

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

static char *read_line(const char *path)
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

static int random_uuid(char out[37])
{
	uint8_t b[16];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (read(fd, b, sizeof(b)) != (ssize_t)sizeof(b)) {
		close(fd);
		return -EIO;
	}
	close(fd);
	b[6] = (b[6] & 0x0f) | 0x40;	/* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5], b[6],
		 b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
	return 0;
}

int nvmf_host_identity(const char *hostnqn, const char *hostid, char **nqn_out,
		       char **id_out, uint8_t id_bytes[16], char *err, size_t errlen)
{
	char *nqn = hostnqn ? strdup(hostnqn) : read_line("/etc/nvme/hostnqn");
	char *id = hostid ? strdup(hostid) : read_line("/etc/nvme/hostid");
	bool generated = false;
	char uuid[37];

	/*
	 * Like nvme-cli: a machine-derived NQN (DMI product UUID) when unset,
	 * but not the all-zero UUID that virtual machines without one get:
	 * every such machine would share a single host identity.
	 */
	if (!nqn && !id) {
		nqn = nvmf_hostnqn_generate();
		if (nqn && strstr(nqn, "00000000-0000-0000-0000-000000000000")) {
			free(nqn);
			nqn = NULL;
		}
	}

	if (!id && nqn) {
		const char *u = strstr(nqn, ":uuid:");

		if (u && strlen(u + 6) == 36)
			id = strdup(u + 6);
	}
	if (!id) {
		if (random_uuid(uuid) < 0)
			goto fail_gen;
		id = strdup(uuid);
		generated = true;
	}
	if (nvmf_uuid_parse(id, id_bytes) < 0) {
		snprintf(err, errlen, "host ID '%s' is not a UUID", id);
		goto fail;
	}
	if (!nqn) {
		size_t n = strlen("nqn.2014-08.org.nvmexpress:uuid:") + strlen(id) + 1;

		nqn = malloc(n);
		if (nqn)
			snprintf(nqn, n, "nqn.2014-08.org.nvmexpress:uuid:%s", id);
		if (nqn && generated)
			nvmf_warn("no /etc/nvme/hostnqn or hostid: using a new random identity %s",
				  nqn);
	}
	if (!nqn || !id) {
		free(nqn);
		free(id);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (strlen(nqn) > NVMF_NQN_MAX) {
		snprintf(err, errlen, "host NQN is longer than %d characters", NVMF_NQN_MAX);
		goto fail;
	}
	*nqn_out = nqn;
	*id_out = id;
	return 0;
fail_gen:
	snprintf(err, errlen, "cannot generate a host ID: no /dev/urandom");
fail:
	free(nqn);
	free(id);
	return -EINVAL;
}
