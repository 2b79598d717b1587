/* SPDX-License-Identifier: MIT */
/*
 * Seeds and generators of fuzz_ana for the standalone driver
 * (tests/fuzz/fuzz.h): valid ANA log pages (nvmet's shape: one group per
 * port state, NSIDs ascending) and mutations aimed at the counts (NGRPS,
 * NNSIDS), group IDs, states and NSIDs.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fuzz.h"

#define ANA_FZ_MAX 4096

const char fuzz_name[] = "fuzz_ana";
const char fuzz_corpus[] = "tests/fuzz/corpus-ana";	/* none checked in: the seeds */
const long fuzz_iterations = 300000;
const size_t fuzz_max_input = ANA_FZ_MAX;
const int fuzz_nseeds = 4;

static size_t put32(uint8_t *s, size_t at, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		s[at + (size_t)i] = (uint8_t)(v >> (8 * i));
	return at + 4;
}

/* A page of @ngrps groups, group g (1-based) in state @states[g-1] with @per NSIDs. */
static size_t page(uint8_t *s, uint8_t nanagrpid, uint8_t nn, int ngrps, const uint8_t *states,
		   int per)
{
	size_t n = 3 + 16;
	uint32_t nsid = 1;

	memset(s, 0, 3 + 16);
	s[0] = nanagrpid;
	s[1] = 0;
	s[2] = nn;
	s[3] = 5;		/* change count */
	s[3 + 8] = (uint8_t)ngrps;
	for (int g = 0; g < ngrps; g++) {
		memset(s + n, 0, 32);
		put32(s, n, (uint32_t)g + 1);
		put32(s, n + 4, (uint32_t)per);
		s[n + 8] = (uint8_t)g;
		s[n + 16] = states[g];
		n += 32;
		for (int k = 0; k < per; k++)
			n = put32(s, n, nsid++);
	}
	return n;
}

size_t fuzz_seed(int i, uint8_t *s, const char **name)
{
	static const uint8_t st[] = { 1, 3, 2, 0xf, 4 };
	static char nm[32];

	*name = nm;
	switch (i) {
	case 0:
		snprintf(nm, sizeof(nm), "empty");
		return page(s, 128, 0, 0, st, 0);
	case 1:
		snprintf(nm, sizeof(nm), "one-group");
		return page(s, 128, 4, 1, st, 1);
	case 2:
		snprintf(nm, sizeof(nm), "two-groups");
		return page(s, 2, 8, 2, st, 3);
	default:
		snprintf(nm, sizeof(nm), "five-states");
		return page(s, 5, 0, 5, st, 2);
	}
}

size_t fuzz_generate(uint8_t *s, const uint8_t *seed, size_t n)
{
	static const uint32_t interesting[] = { 0, 1, 2, 3, 4, 5, 0xf, 0x10, 0x7f, 0x80, 0x81, 0xff,
						0x100, 0x3fffffff, 0x40000000, 0x7fffffff,
						0xfffffffe, 0xffffffff };
	int rounds = 1 + (int)fuzz_below(3);

	memcpy(s, seed, n);
	for (int r = 0; r < rounds && n; r++) {
		size_t at;

		switch (fuzz_below(6)) {
		case 0:		/* a dword at a descriptor-ish offset: grpid, nnsids, an NSID */
			at = 3 + 16 + 4 * fuzz_below(64);
			if (at + 4 <= n)
				put32(s, at, interesting[fuzz_below(sizeof(interesting) /
								  sizeof(interesting[0]))]);
			break;
		case 1:		/* truncate */
			n = fuzz_below((uint32_t)n + 1);
			break;
		case 2:		/* NGRPS */
			if (n > 3 + 9) {
				s[3 + 8] = (uint8_t)interesting[fuzz_below(12)];
				s[3 + 9] = (uint8_t)fuzz_below(2);
			}
			break;
		case 3:		/* a state byte */
			at = 3 + 16 + 32 * fuzz_below(8) + 16;
			if (at < n)
				s[at] = (uint8_t)fuzz_below(17);
			break;
		case 4:		/* a random byte anywhere, limits included */
			s[fuzz_below((uint32_t)n)] = (uint8_t)fuzz_rnd();
			break;
		default: {	/* grow by a copy of the start of the page */
			uint8_t copy[64];
			size_t len = fuzz_below(sizeof(copy));

			if (len + 3 > n)
				len = n > 3 ? n - 3 : 0;
			memcpy(copy, s + 3, len);
			n = fuzz_splice(s, n, n, 0, copy, len, ANA_FZ_MAX);
			break;
		}
		}
	}
	return n;
}
