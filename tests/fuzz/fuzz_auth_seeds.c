/* SPDX-License-Identifier: MIT */
/*
 * Seeds and generators of fuzz_auth for the standalone driver
 * (tests/fuzz/fuzz.h): valid Challenge (every hash and group), Success1,
 * Failure1 messages and DHHC-1 secrets, and mutations that hit the length
 * fields (HL, DHVLEN) and the ids in particular.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fuzz.h"

#define AUTH_FZ_MAX 1200

const char fuzz_name[] = "fuzz_auth";
const char fuzz_corpus[] = "tests/fuzz/corpus-auth";	/* none checked in: the seeds */
const long fuzz_iterations = 1000000;
const size_t fuzz_max_input = AUTH_FZ_MAX;

static const char *const keys[] = {
	"DHHC-1:00:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh+KfiaR:",
	"DHHC-1:02:OwgUt3VXOP/YxMovmF8xAc4TOGJIOleayMGOV9zDv0EtslaHTsUjMpddNCYWB5zxcycPSQ==:",
	"DHHC-1:03:h+ffM7TJ9u3kQy5AcWrt31wg0/WyoIKnVcAX0Ic07ApNq5Kqb4WorQfKw0prqrW7HwoLAFsrBmo0ZTCf"
	"Kh04vq6/H1s=:",
};

/* 3 hashes x 4 groups that fit (the larger groups are generated), Success1 x2, Failure1, keys */
const int fuzz_nseeds = 12 + 2 + 1 + 3;

static size_t challenge(uint8_t *s, uint8_t hash, uint8_t dh)
{
	static const uint16_t dhlen[] = { 0, 256, 384, 512, 768, 1024 };
	uint8_t hl = (uint8_t)(16 + 16 * hash);
	size_t n = 1 + 16 + hl + dhlen[dh];

	if (n > AUTH_FZ_MAX)
		n = AUTH_FZ_MAX;	/* short on purpose */
	memset(s, 0xa5, n);
	memcpy(s, ((uint8_t[]){ 0, 1, 1, 0, 0, 1, 0, hl, 0, hash, dh, (uint8_t)dhlen[dh],
				(uint8_t)(dhlen[dh] >> 8), 1, 0, 0, 0 }), 17);
	return n;
}

size_t fuzz_seed(int i, uint8_t *s, const char **name)
{
	static char nm[32];

	*name = nm;
	if (i < 12) {
		snprintf(nm, sizeof(nm), "challenge-%d-%d", i / 4 + 1, i % 4);
		return challenge(s, (uint8_t)(i / 4 + 1), (uint8_t)(i % 4));
	}
	if (i < 14) {
		uint8_t hl = i == 12 ? 32 : 64;

		snprintf(nm, sizeof(nm), "success1-%u", hl);
		memset(s, 0x5a, 1 + 16 + hl);
		memcpy(s, ((uint8_t[]){ (uint8_t)(hl / 16 - 1), 1, 3, 0, 0, 1, 0, hl, 0, 1 }), 10);
		return 1 + 16 + hl;
	}
	if (i == 14) {
		snprintf(nm, sizeof(nm), "failure1");
		memcpy(s, ((uint8_t[]){ 0, 0, 0xf1, 0, 0, 1, 0, 1, 1 }), 9);
		return 9;
	}
	snprintf(nm, sizeof(nm), "key-%d", i - 15);
	s[0] = 0x80;
	memcpy(s + 1, keys[i - 15], strlen(keys[i - 15]));
	return 1 + strlen(keys[i - 15]);
}

size_t fuzz_generate(uint8_t *s, const uint8_t *seed, size_t n)
{
	static const uint8_t interesting[] = { 0, 1, 2, 3, 4, 5, 6, 0x0f, 0x10, 0x20, 0x30, 0x40,
					       0x7f, 0x80, 0xf0, 0xf1, 0xff };
	int rounds = 1 + (int)fuzz_below(3);

	memcpy(s, seed, n);
	for (int r = 0; r < rounds && n; r++) {
		size_t at;

		switch (fuzz_below(6)) {
		case 0:		/* a header byte (type, id, hl, hash, group, dhvlen) */
			at = 1 + fuzz_below(16);
			if (at < n)
				s[at] = interesting[fuzz_below(sizeof(interesting))];
			break;
		case 1:		/* truncate */
			n = fuzz_below((uint32_t)n + 1);
			break;
		case 2: {	/* grow by a copy of the start (not overlapping the input) */
			uint8_t copy[64];
			size_t len = fuzz_below(sizeof(copy));

			if (len > n)
				len = n;
			memcpy(copy, s, len);
			n = fuzz_splice(s, n, n, 0, copy, len, AUTH_FZ_MAX);
			break;
		}
		case 3:		/* flip a bit anywhere */
			at = fuzz_below((uint32_t)n);
			s[at] ^= (uint8_t)(1u << fuzz_below(8));
			break;
		case 4:		/* a random byte */
			s[fuzz_below((uint32_t)n)] = (uint8_t)fuzz_rnd();
			break;
		default:	/* the mode byte */
			s[0] = (uint8_t)fuzz_rnd();
			break;
		}
	}
	return n;
}
