/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for persistent discovery's pure part (src/daemon/disc_diff.c):
 * discovery log entries a hostile discovery controller sends, and the
 * difference between two such logs.
 *
 * Input layout:
 *   byte 0  bit 0: the daemon's transport ("tcp" or "rdma")
 *   byte 1  how many of the entries form the old log (the rest: the new)
 *   rest    up to 8 entries of 1,024 bytes, each copied to an exact-size
 *           heap block (so AddressSanitizer sees a read past its fields);
 *           a short last entry is padded with zeros
 *
 * An accepted entry must give a key of printable, non-empty strings within
 * their fields' limits, a port 1-65535, the daemon's transport and an NVM
 * subsystem; anything else must be refused with a reason. The difference
 * is checked against its definition: every key of one log missing from
 * the other listed once, nothing else.
 *
 * Built two ways, like fuzz_tcp_pdu.c: with tests/fuzz/fuzz_main.c by
 * `make check`, or with libFuzzer:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I src \
 *       $(pkg-config --cflags libnvme) tests/fuzz/fuzz_disc_entry.c \
 *       src/daemon/disc_diff.c -o fuzz_disc_entry
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <nvme/fabrics.h>

#include "daemon/disc_diff.h"
#include "fuzz.h"

#define ENTRY	1024
#define MAX_ENT	8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void printable(const char *s, size_t cap, const char *what)
{
	size_t n = strnlen(s, cap + 1);

	FZ_ASSERT(n >= 1 && n <= cap, "%s: %zu characters", what, n);
	for (size_t i = 0; i < n; i++)
		FZ_ASSERT(s[i] > ' ' && s[i] <= '~', "%s: byte 0x%02x", what, (unsigned char)s[i]);
}

static int check_entry(const struct nvmf_disc_log_entry *e, const char *tr,
		       struct nvmf_disc_key *k)
{
	char why[300] = "";
	unsigned long port;
	int rc;

	rc = nvmf_disc_entry_key(e, tr, k, why, sizeof(why));
	FZ_ASSERT(rc == 1 || rc == 0 || rc == -EINVAL, "rc %d", rc);
	if (rc != 1) {
		FZ_ASSERT(why[0] && memchr(why, 0, sizeof(why)), "rc %d without a reason", rc);
		return rc;
	}
	FZ_ASSERT(e->subtype == NVME_NQN_NVME, "subtype %u accepted", e->subtype);
	FZ_ASSERT(!strcmp(k->transport, tr), "transport %s for %s", k->transport, tr);
	FZ_ASSERT(e->trtype == (strcmp(tr, "tcp") ? NVMF_TRTYPE_RDMA : NVMF_TRTYPE_TCP),
		  "trtype %u", e->trtype);
	printable(k->subnqn, NVMF_NQN_SIZE, "subnqn");
	printable(k->traddr, NVMF_TRADDR_SIZE, "traddr");
	printable(k->trsvcid, NVMF_TRSVCID_SIZE, "trsvcid");
	FZ_ASSERT(!strncmp(k->subnqn, e->subnqn, strlen(k->subnqn)), "subnqn not the entry's");
	FZ_ASSERT(!strncmp(k->traddr, e->traddr, strlen(k->traddr)), "traddr not the entry's");
	port = strtoul(k->trsvcid, NULL, 10);
	FZ_ASSERT(port >= 1 && port <= 65535, "port %lu", port);
	FZ_ASSERT(!k->tls || e->trtype == NVMF_TRTYPE_TCP, "TLS over %u", e->trtype);
	return rc;
}

static bool in(const struct nvmf_disc_key *set, int n, const struct nvmf_disc_key *k)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(set[i].subnqn, k->subnqn) && !strcmp(set[i].transport, k->transport) &&
		    !strcmp(set[i].traddr, k->traddr) && !strcmp(set[i].trsvcid, k->trsvcid))
			return true;
	return false;
}

/* @idx (@n of them) must be exactly the first occurrences in @a of keys @b lacks. */
static void check_side(const struct nvmf_disc_key *a, int na, const struct nvmf_disc_key *b,
		       int nb, const int *idx, int n, const char *what)
{
	int want = 0;

	for (int i = 0; i < na; i++) {
		bool missing = !in(b, nb, &a[i]) && !in(a, i, &a[i]);

		if (missing) {
			FZ_ASSERT(want < n && idx[want] == i, "%s: index %d not listed", what, i);
			want++;
		}
	}
	FZ_ASSERT(want == n, "%s: %d listed, %d missing", what, n, want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nvmf_disc_key keys[MAX_ENT], old[MAX_ENT], new[MAX_ENT];
	int add[MAX_ENT], del[MAX_ENT], nadd, ndel, nold = 0, nnew = 0, split;
	const char *tr;
	size_t nent;

	if (size < 2)
		return 0;
	tr = data[0] & 1 ? "rdma" : "tcp";
	split = data[1] % (MAX_ENT + 1);
	data += 2;
	size -= 2;
	nent = (size + ENTRY - 1) / ENTRY;
	if (nent > MAX_ENT)
		nent = MAX_ENT;
	for (size_t i = 0; i < nent; i++) {
		struct nvmf_disc_log_entry *e = calloc(1, ENTRY);
		size_t len = size - i * ENTRY;

		if (!e)
			return 0;
		memcpy(e, data + i * ENTRY, len > ENTRY ? ENTRY : len);
		if (check_entry(e, tr, &keys[i]) == 1) {
			if ((int)i < split)
				old[nold++] = keys[i];
			else
				new[nnew++] = keys[i];
		}
		free(e);
	}
	nvmf_disc_diff(old, nold, new, nnew, add, &nadd, del, &ndel);
	check_side(new, nnew, old, nold, add, nadd, "add");
	check_side(old, nold, new, nnew, del, ndel, "del");
	return 0;
}
