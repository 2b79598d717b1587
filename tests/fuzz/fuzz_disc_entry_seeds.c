/* SPDX-License-Identifier: MIT */
/*
 * Seeds and generators of fuzz_disc_entry for the standalone driver
 * (tests/fuzz/fuzz.h): logs of good entries the way nvmet (space padded)
 * and SPDK (NUL padded) write them, a referral and an RDMA entry, and
 * mutations aimed at the string fields' ends and bytes, the service id,
 * the type bytes, repeated entries and the old/new split.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fuzz.h"

#define ENTRY		1024
#define DE_FZ_MAX	(2 + 8 * ENTRY)

/* Field offsets in an entry (NVMe over Fabrics 1.1, figure 38). */
enum { TRTYPE = 0, ADRFAM = 1, SUBTYPE = 2, TREQ = 3, TRSVCID = 32, SUBNQN = 256,
       TRADDR = 512, TSAS = 768 };
static const struct { size_t at, len; } strs[] = { { TRSVCID, 32 }, { SUBNQN, 256 },
						  { TRADDR, 256 } };

const char fuzz_name[] = "fuzz_disc_entry";
const char fuzz_corpus[] = "tests/fuzz/corpus-disc-entry";	/* none checked in: the seeds */
const long fuzz_iterations = 200000;
const size_t fuzz_max_input = DE_FZ_MAX;
const int fuzz_nseeds = 3;

/* Entry @i of @s: an NVM subsystem on @trtype at @addr:@svc, padded with @pad. */
static void entry(uint8_t *s, int i, uint8_t trtype, const char *nqn, const char *addr,
		  const char *svc, char pad)
{
	uint8_t *e = s + 2 + (size_t)i * ENTRY;

	memset(e, 0, ENTRY);
	e[TRTYPE] = trtype;
	e[ADRFAM] = 1;
	e[SUBTYPE] = 2;
	memset(e + TRSVCID, pad, 32);
	memcpy(e + TRSVCID, svc, strlen(svc));
	memcpy(e + SUBNQN, nqn, strlen(nqn));
	memset(e + TRADDR, pad, 256);
	memcpy(e + TRADDR, addr, strlen(addr));
}

size_t fuzz_seed(int i, uint8_t *s, const char **name)
{
	static char nm[32];

	*name = nm;
	memset(s, 0, DE_FZ_MAX);
	switch (i) {
	case 0:		/* TCP: old a, b; new b, c, a referral */
		snprintf(nm, sizeof(nm), "tcp-change");
		s[0] = 0;
		s[1] = 2;
		entry(s, 0, 3, "nqn.2024-01.io.nvmfuse:a", "10.0.0.1", "4420", ' ');
		entry(s, 1, 3, "nqn.2024-01.io.nvmfuse:b", "10.0.0.1", "4420", ' ');
		entry(s, 2, 3, "nqn.2024-01.io.nvmfuse:b", "10.0.0.1", "4420", 0);
		entry(s, 3, 3, "nqn.2024-01.io.nvmfuse:c", "10.0.0.2", "4421", 0);
		entry(s, 4, 3, "nqn.2014-08.org.nvmexpress.discovery", "10.0.0.3", "8009", ' ');
		s[2 + 4 * ENTRY + SUBTYPE] = 1;
		s[2 + 3 * ENTRY + TSAS] = 2;	/* TLS 1.3 */
		return 2 + 5 * ENTRY;
	case 1:		/* RDMA, one entry each side, the same */
		snprintf(nm, sizeof(nm), "rdma-same");
		s[0] = 1;
		s[1] = 1;
		entry(s, 0, 1, "nqn.2024-01.io.nvmfuse:r", "192.168.1.5", "4420", ' ');
		entry(s, 1, 1, "nqn.2024-01.io.nvmfuse:r", "192.168.1.5", "4420", ' ');
		return 2 + 2 * ENTRY;
	default:	/* one short entry: the rest of it zero */
		snprintf(nm, sizeof(nm), "short");
		s[0] = 0;
		s[1] = 0;
		entry(s, 0, 3, "nqn.2024-01.io.nvmfuse:s", "::1", "1", 0);
		return 2 + TRADDR + 8;
	}
}

size_t fuzz_generate(uint8_t *s, const uint8_t *seed, size_t n)
{
	static const char *const svcs[] = { "0", "1", "65535", "65536", "4420x", "+1", " 1", "1 ",
					    "-1", "00004420", "99999999999999999999", "" };
	int rounds = 1 + (int)fuzz_below(4);

	memcpy(s, seed, n);
	for (int r = 0; r < rounds; r++) {
		size_t nent = n > 2 ? (n - 2 + ENTRY - 1) / ENTRY : 0;
		size_t base = 2 + (size_t)fuzz_below((uint32_t)(nent ? nent : 1)) * ENTRY;
		size_t f = fuzz_below(3), at, len = 0;

		if (n < 2)
			return n;
		switch (fuzz_below(8)) {
		case 0:		/* a string field filled to its end, no terminator */
			at = base + strs[f].at;
			len = strs[f].len;
			if (at + len <= DE_FZ_MAX) {
				if (n < at)
					memset(s + n, 0, at - n);
				memset(s + at, 'a' + (int)fuzz_below(26), len);
				if (n < at + len)
					n = at + len;
			}
			break;
		case 1:		/* a byte outside printable ASCII inside a string */
			at = base + strs[f].at + fuzz_below(8);
			if (at < n)
				s[at] = (uint8_t)(fuzz_below(2) ? fuzz_below(0x21) : 0x7f + fuzz_below(0x81));
			break;
		case 2:		/* the service id */
			at = base + TRSVCID;
			if (at + 32 <= n) {
				const char *v = svcs[fuzz_below(sizeof(svcs) / sizeof(svcs[0]))];

				memset(s + at, fuzz_below(2) ? ' ' : 0, 32);
				memcpy(s + at, v, strlen(v) > 32 ? 32 : strlen(v));
			}
			break;
		case 3:		/* a type byte: trtype, adrfam, subtype, treq, sectype */
			at = base + (fuzz_below(5) == 4 ? TSAS : fuzz_below(4));
			if (at < n)
				s[at] = (uint8_t)fuzz_below(6);
			break;
		case 4:		/* an entry repeated */
			if (nent >= 2 && n >= 2 + nent * ENTRY)
				memcpy(s + 2 + fuzz_below((uint32_t)nent) * ENTRY, s + base, ENTRY);
			break;
		case 5:		/* the transport and the split */
			s[fuzz_below(2)] = (uint8_t)fuzz_rnd();
			break;
		case 6:		/* truncate */
			n = 2 + fuzz_below((uint32_t)n - 1);
			break;
		default:	/* a random byte anywhere */
			s[fuzz_below((uint32_t)n)] = (uint8_t)fuzz_rnd();
			break;
		}
	}
	return n;
}
