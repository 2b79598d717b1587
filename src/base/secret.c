/* SPDX-License-Identifier: MIT */
/*
 * Dump-excluded memory for secrets (see secret.h). A mapping holds a
 * small header (its length) before the caller's bytes; allocations are
 * few (a handful per controller), so a page each costs nothing.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "base/secret.h"

#define SECRET_HDR	16	/* keeps the caller's bytes 16-byte aligned */

void *nvmf_secret_alloc(size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), size;
	uint8_t *m;

	if (len > SIZE_MAX - SECRET_HDR - page) {
		errno = ENOMEM;
		return NULL;
	}
	size = (len + SECRET_HDR + page - 1) / page * page;
	m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	/* Best effort: a kernel without it still gets the wipe on free. */
	(void)madvise(m, size, MADV_DONTDUMP);
	memcpy(m, &size, sizeof(size));
	return m + SECRET_HDR;
}

char *nvmf_secret_strdup(const char *s)
{
	size_t n = strlen(s);
	char *p = nvmf_secret_alloc(n + 1);

	if (p)
		memcpy(p, s, n + 1);
	return p;
}

void nvmf_secret_free(void *p)
{
	uint8_t *m;
	size_t size;

	if (!p)
		return;
	m = (uint8_t *)p - SECRET_HDR;
	memcpy(&size, m, sizeof(size));
	OPENSSL_cleanse(m, size);
	munmap(m, size);
}
