/* SPDX-License-Identifier: MIT */
/*
 * Discovery log entries checked, and two logs compared (daemon/disc_diff.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nvme/fabrics.h>

#include "daemon/disc_diff.h"

/*
 * Copy fixed-width field @src (@cap bytes, NUL- or space-padded) into @dst
 * (@cap + 1 bytes). 0, or -EINVAL when it is empty or has a byte outside
 * printable ASCII before its end.
 */
static int field(char *dst, const char *src, size_t cap)
{
	size_t n = strnlen(src, cap);

	while (n && src[n - 1] == ' ')
		n--;
	if (!n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (src[i] <= ' ' || src[i] > '~')
			return -EINVAL;
	memcpy(dst, src, n);
	dst[n] = 0;
	return 0;
}

int nvmf_disc_entry_key(const struct nvmf_disc_log_entry *e, const char *transport,
			struct nvmf_disc_key *k, char *why, size_t whylen)
{
	const char *tr;
	char *end;
	unsigned long port;

	memset(k, 0, sizeof(*k));
	if (e->subtype != NVME_NQN_NVME) {
		snprintf(why, whylen, "%s", e->subtype == NVME_NQN_DISC ?
			 "a referral to another discovery controller" : "not an NVM subsystem");
		return 0;
	}
	switch (e->trtype) {
	case NVMF_TRTYPE_TCP:
		tr = "tcp";
		break;
	case NVMF_TRTYPE_RDMA:
		tr = "rdma";
		break;
	default:
		snprintf(why, whylen, "transport type %u is neither tcp nor rdma", e->trtype);
		return 0;
	}
	if (strcmp(tr, transport)) {
		snprintf(why, whylen, "transport %s is not %s", tr, transport);
		return 0;
	}
	snprintf(k->transport, sizeof(k->transport), "%s", tr);
	/* SUBNQN is 256 bytes and holds at most 223 characters and a NUL. */
	if (strnlen(e->subnqn, sizeof(e->subnqn)) > NVMF_NQN_SIZE ||
	    field(k->subnqn, e->subnqn, sizeof(e->subnqn)) < 0) {
		snprintf(why, whylen, "SUBNQN is not a printable string of at most %d characters",
			 NVMF_NQN_SIZE);
		return -EINVAL;
	}
	if (field(k->traddr, e->traddr, sizeof(e->traddr)) < 0) {
		snprintf(why, whylen, "TRADDR of %s is empty or not printable", k->subnqn);
		return -EINVAL;
	}
	if (field(k->trsvcid, e->trsvcid, sizeof(e->trsvcid)) < 0) {
		snprintf(why, whylen, "TRSVCID of %s is empty or not printable", k->subnqn);
		return -EINVAL;
	}
	port = strtoul(k->trsvcid, &end, 10);
	if (*end || k->trsvcid[0] < '0' || k->trsvcid[0] > '9' || port < 1 || port > 65535) {
		snprintf(why, whylen, "TRSVCID '%s' of %s is not a port number", k->trsvcid,
			 k->subnqn);
		return -EINVAL;
	}
	k->tls = e->trtype == NVMF_TRTYPE_TCP && e->tsas.tcp.sectype == NVMF_TCP_SECTYPE_TLS13;
	k->disable_sqflow = (e->treq & NVMF_TREQ_DISABLE_SQFLOW) != 0;
	return 1;
}

bool nvmf_disc_key_eq(const struct nvmf_disc_key *a, const struct nvmf_disc_key *b)
{
	return !strcmp(a->subnqn, b->subnqn) && !strcmp(a->transport, b->transport) &&
	       !strcmp(a->traddr, b->traddr) && !strcmp(a->trsvcid, b->trsvcid);
}

/* Is @k among the first @n keys of @set? */
static bool has(const struct nvmf_disc_key *set, int n, const struct nvmf_disc_key *k)
{
	for (int i = 0; i < n; i++)
		if (nvmf_disc_key_eq(&set[i], k))
			return true;
	return false;
}

void nvmf_disc_diff(const struct nvmf_disc_key *old, int nold, const struct nvmf_disc_key *new,
		    int nnew, int *add, int *nadd, int *del, int *ndel)
{
	*nadd = 0;
	*ndel = 0;
	for (int i = 0; i < nnew; i++)
		if (!has(old, nold, &new[i]) && !has(new, i, &new[i]))
			add[(*nadd)++] = i;
	for (int i = 0; i < nold; i++)
		if (!has(new, nnew, &old[i]) && !has(old, i, &old[i]))
			del[(*ndel)++] = i;
}
