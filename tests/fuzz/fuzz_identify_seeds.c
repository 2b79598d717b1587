/* SPDX-License-Identifier: MIT */
/*
 * Seeds and generators of fuzz_identify for the standalone driver
 * (tests/fuzz/fuzz.h): one good page of each kind (nvmet's shapes) and
 * mutations aimed at the fields that size, shift or loop: CAP.MQES, MDTS,
 * MAXCMD, IOCCSZ/ICDOFF, NSZE, NLBAF/FLBAS/LBADS, the list's IDs and the
 * descriptors' types and lengths. Offsets are the pages' (after the
 * selector and parameter bytes of fuzz_identify.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fuzz.h"

#define ID_FZ_MAX (11 + 4096)

const char fuzz_name[] = "fuzz_identify";
const char fuzz_corpus[] = "tests/fuzz/corpus-identify";	/* none checked in: the seeds */
const long fuzz_iterations = 300000;
const size_t fuzz_max_input = ID_FZ_MAX;
const int fuzz_nseeds = 5;

/* Where the page starts for each selector (fuzz_identify.c's layout). */
static const size_t page_at[4] = { 11, 5, 9, 3 };

static void put_le(uint8_t *s, size_t at, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		s[at + (size_t)i] = (uint8_t)(v >> (8 * i));
}

size_t fuzz_seed(int i, uint8_t *s, const char **name)
{
	static char nm[32];
	uint8_t *p;

	*name = nm;
	memset(s, 0, ID_FZ_MAX);
	switch (i) {
	case 0:		/* controller: MQES 127, MDTS 5, MAXCMD 128, 8 KiB ICD, NN 1024 */
		snprintf(nm, sizeof(nm), "ctrl");
		s[0] = 0;
		put_le(s, 1, 127, 8);
		put_le(s, 9, 128, 2);
		p = s + page_at[0];
		put_le(p, 0, 0x1b36, 2);
		memcpy(p + 4, "4a9d6f1c2e8b7a35    ", 20);
		memcpy(p + 24, "Linux", 5);
		memset(p + 29, ' ', 35);
		p[77] = 5;
		put_le(p, 514, 128, 2);
		put_le(p, 516, 1024, 4);
		put_le(p, 1792, 4 + 8192 / 16, 4);
		return 11 + 2048;
	case 1:		/* namespace 1: 1 GiB of 512 B blocks, 4 KiB as a second format */
		snprintf(nm, sizeof(nm), "ns");
		s[0] = 1;
		put_le(s, 1, 1, 4);
		p = s + page_at[1];
		put_le(p, 0, 1u << 21, 8);
		p[25] = 1;
		p[26] = 0;
		p[128 + 2] = 9;
		p[132 + 2] = 12;
		return 5 + 256;
	case 2:		/* namespace 7 with NLBAF 17 and FLBAS' high format bits */
		snprintf(nm, sizeof(nm), "ns-extended");
		s[0] = 1;
		put_le(s, 1, 7, 4);
		p = s + page_at[1];
		put_le(p, 0, 1000, 8);
		p[25] = 17;
		p[26] = 0x01 | (1 << 5);	/* format 17 */
		for (int f = 0; f < 18; f++)
			p[128 + 4 * f + 2] = (uint8_t)(9 + f % 4);
		return 5 + 128 + 4 * 18;
	case 3:		/* the active list 1, 2, 5 after 0 with NN 8 */
		snprintf(nm, sizeof(nm), "list");
		s[0] = 2;
		put_le(s, 5, 8, 4);
		p = s + page_at[2];
		put_le(p, 0, 1, 4);
		put_le(p, 4, 2, 4);
		put_le(p, 8, 5, 4);
		return 9 + 16;
	default:	/* descriptors: EUI-64, NGUID, UUID, CSI */
		snprintf(nm, sizeof(nm), "descs");
		s[0] = 3;
		put_le(s, 1, 20, 2);
		p = s + page_at[3];
		p[0] = 1;
		p[1] = 8;
		memset(p + 4, 0x11, 8);
		p[12] = 2;
		p[13] = 16;
		memset(p + 16, 0x22, 16);
		p[32] = 3;
		p[33] = 16;
		memset(p + 36, 0x33, 16);
		p[52] = 4;
		p[53] = 1;
		p[56] = 0;
		return 3 + 60;
	}
}

/* Offsets (in the page) of the fields each kind is sized or looped by. */
static const uint16_t ctrl_fields[] = { 0, 4, 23, 24, 63, 77, 514, 516, 1792, 1800 };
static const uint16_t ns_fields[] = { 0, 4, 7, 25, 26, 128, 130, 132, 134, 188, 190, 380, 382 };

size_t fuzz_generate(uint8_t *s, const uint8_t *seed, size_t n)
{
	static const uint64_t interesting[] = { 0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 63, 64,
						0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000,
						0x7fffffff, 0xfffffffe, 0xffffffff,
						0x00ffffffffffffffull, 0xffffffffffffffffull };
	const size_t ni = sizeof(interesting) / sizeof(interesting[0]);
	int rounds = 1 + (int)fuzz_below(4);
	size_t base;

	memcpy(s, seed, n);
	if (!n)
		return 0;
	base = page_at[s[0] & 3];
	for (int r = 0; r < rounds; r++) {
		uint64_t v = interesting[fuzz_below((uint32_t)ni)];
		size_t at;
		int width = 1 << fuzz_below(4);		/* 1, 2, 4 or 8 bytes */

		switch (fuzz_below(6)) {
		case 0:		/* a field the page is checked by */
			switch (s[0] & 3) {
			case 0:
				at = base + ctrl_fields[fuzz_below(sizeof(ctrl_fields) / 2)];
				break;
			case 1:
				at = base + ns_fields[fuzz_below(sizeof(ns_fields) / 2)];
				break;
			case 2:
				at = base + 4 * fuzz_below(8);
				break;
			default:
				at = base + 4 * fuzz_below(16);
				break;
			}
			break;
		case 1:		/* the parameters: CAP, queue size, NSID, after, NN, width */
			at = 1 + fuzz_below((uint32_t)base - 1);
			break;
		case 2:		/* anywhere in the page */
			at = base + fuzz_below(4096);
			width = 1;
			v = fuzz_rnd();
			break;
		case 3:		/* another kind of page over the same bytes */
			s[0] = (uint8_t)fuzz_below(4);
			continue;
		case 4:		/* truncate */
			n = fuzz_below((uint32_t)n + 1);
			continue;
		default:	/* a full page: the list without its end, descriptors to the edge */
			at = base + 4 * fuzz_below(1024);
			if (at + 4 > n && at + 4 <= ID_FZ_MAX) {
				memset(s + n, 0, at + 4 - n);
				n = at + 4;
			}
			width = 4;
			v = interesting[fuzz_below((uint32_t)ni)];
			break;
		}
		if (at + (size_t)width > n) {
			if (at + (size_t)width > ID_FZ_MAX)
				continue;
			memset(s + n, 0, at + (size_t)width - n);
			n = at + (size_t)width;
		}
		put_le(s, at, v, width);
	}
	return n;
}
