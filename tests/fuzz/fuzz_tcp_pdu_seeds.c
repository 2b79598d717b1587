/* SPDX-License-Identifier: MIT */
/*
 * Seeds and generators of fuzz_tcp_pdu for the standalone driver
 * (tests/fuzz/fuzz.h). An input is [cfg byte][misc byte][PDU]: see the top
 * of fuzz_tcp_pdu.c.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "transport/crc32c.h"

#define TCP_FZ_MAX 320

const char fuzz_name[] = "fuzz_tcp_pdu";
const char fuzz_corpus[] = "tests/fuzz/corpus";
const long fuzz_iterations = 500000;
const size_t fuzz_max_input = TCP_FZ_MAX;

/* ---- seeds: [cfg byte][misc byte][PDU] ---------------------------------------- */

static void w32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void put_hdgst(uint8_t *pdu)
{
	w32(pdu + 24, crc32c(pdu, 24));
}

/* cfg byte: bit0 hd, bit1 dd, bits 2-6 HPDA */
#define CFG(hd, dd, hpda) ((uint8_t)((hd) | ((dd) << 1) | ((hpda) << 2)))

static size_t c2h(uint8_t *s, uint8_t cfg, uint8_t misc, uint8_t type, uint8_t flags, uint8_t pdo,
		  uint32_t plen, uint32_t a, uint32_t b)
{
	uint8_t *p = s + 2;

	memset(s, 0, 2 + 28);
	s[0] = cfg;
	s[1] = misc;
	p[0] = type;
	p[1] = flags;
	p[2] = 24;
	p[3] = pdo;
	w32(p + 4, plen);
	p[8] = 0x2A;		/* CCCID / FES low byte */
	p[10] = 0x77;		/* TTAG / FEI */
	if (type == 0x05) {
		for (int i = 8; i < 24; i++)
			p[i] = (uint8_t)(i * 5);
	} else if (type != 0x03) {
		w32(p + 12, a);
		w32(p + 16, b);
	}
	if (cfg & 1 && type != 0x03) {
		put_hdgst(p);
		return 2 + 28;
	}
	return 2 + 24;
}

static size_t icresp(uint8_t *s, uint8_t misc, uint8_t cpda, uint8_t dgst, uint32_t maxh2c)
{
	uint8_t *p = s + 2;

	memset(s, 0, 2 + 128);
	s[0] = 0;
	s[1] = misc;
	p[0] = 0x01;
	p[2] = 128;
	p[4] = 128;
	p[10] = cpda;
	p[11] = dgst;
	w32(p + 12, maxh2c);
	return 2 + 128;
}

static const char *const seed_names[] = {
	"resp", "resp-hd", "data-last", "data-hd-dd", "data-pda128", "data-pda32",
	"data-success", "r2t", "r2t-hd", "term", "term-152", "icresp-digests",
	"icresp-cpda31", "icresp-hd",
};

const int fuzz_nseeds = sizeof(seed_names) / sizeof(seed_names[0]);

size_t fuzz_seed(int i, uint8_t *s, const char **name)
{
	*name = seed_names[i];
	switch (i) {
	case 0: return c2h(s, CFG(0, 0, 0), 0, 0x05, 0x00, 0, 24, 0, 0);
	case 1: return c2h(s, CFG(1, 1, 0), 0, 0x05, 0x01, 0, 28, 0, 0);
	case 2: return c2h(s, CFG(0, 0, 0), 0x00, 0x07, 0x04, 24, 24 + 4096, 0, 4096);
	case 3: return c2h(s, CFG(1, 1, 0), 0x00, 0x07, 0x07, 28, 28 + 512 + 4, 0, 512);
	case 4: return c2h(s, CFG(1, 1, 31), 0x10, 0x07, 0x07, 128, 128 + 4096 + 4, 4096, 4096);
	case 5: return c2h(s, CFG(0, 0, 7), 0x20, 0x07, 0x00, 32, 32 + 100, 100, 100);
	case 6: return c2h(s, CFG(0, 0, 0), 0x00, 0x07, 0x0C, 24, 24 + 8, 0, 8);
	case 7: return c2h(s, CFG(0, 0, 0), 0x00, 0x09, 0x00, 0, 24, 0, 65536);
	case 8: return c2h(s, CFG(1, 0, 0), 0x04, 0x09, 0x01, 0, 28, 8192, 8192);
	case 9: return c2h(s, CFG(0, 0, 0), 0, 0x03, 0x00, 0, 24 + 40, 0, 0);
	case 10: return c2h(s, CFG(1, 1, 0), 0, 0x03, 0x00, 0, 152, 0, 0);
	case 11: return icresp(s, 0x03, 0, 3, 131072);
	case 12: return icresp(s, 0x00, 31, 0, 4096);
	default: return icresp(s, 0x01, 0, 1, 8192);
	}
}

/* ---- generators -------------------------------------------------------------- */

static const uint32_t interesting32[] = {
	0, 1, 3, 4, 7, 8, 23, 24, 25, 27, 28, 32, 64, 127, 128, 129, 151, 152, 153, 255, 256,
	4095, 4096, 4100, 0x7FFFFFFF, 0x80000000u, 0xFFFFFFFCu, 0xFFFFFFFFu,
};
static const uint8_t interesting8[] = { 0, 1, 2, 3, 4, 5, 7, 8, 9, 0x0C, 0x0F, 0x10, 24, 28, 31, 32,
					72, 76, 127, 128, 0x7F, 0x80, 0xFF };

/* A header whose fields are mostly plausible, so that each check in turn
 * is what fails (or nothing does). */
static size_t gen_structured(uint8_t *s)
{
	static const uint8_t types[] = { 0x03, 0x05, 0x07, 0x07, 0x07, 0x09, 0x09, 0x01 };
	uint8_t cfg = (uint8_t)fuzz_rnd();
	bool hd = cfg & 1, dd = cfg & 2;
	uint32_t pda = (((cfg >> 2) & 31u) + 1) * 4;
	uint8_t type = (fuzz_below(16) == 0) ? (uint8_t)fuzz_rnd() : types[fuzz_below(sizeof(types))];
	uint32_t hl = hd ? 28 : 24;
	uint32_t datal = fuzz_below(4) ? 1 + fuzz_below(8192) : fuzz_rnd();
	uint32_t pdo, plen;
	uint8_t flags = 0;
	uint8_t *p = s + 2;
	size_t n;

	s[0] = cfg | (fuzz_below(4) ? 0x80 : 0);	/* mostly: fix the digest up */
	s[1] = (uint8_t)fuzz_rnd();
	memset(p, 0, 28);
	if (hd && type != 0x03)
		flags |= 0x01;
	if (type == 0x07) {
		if (dd)
			flags |= 0x02;
		if (fuzz_below(2))
			flags |= 0x04;
		if (fuzz_below(4) == 0)
			flags |= 0x08;
		pdo = (hl + pda - 1) / pda * pda;
		if (pdo > 255)
			pdo = hl;
		plen = pdo + datal + (dd ? 4 : 0);
	} else if (type == 0x03) {
		pdo = 0;
		plen = 24 + fuzz_below(140);
	} else {
		pdo = 0;
		plen = hl;
	}
	if (fuzz_below(8) == 0)
		flags ^= (uint8_t)(1u << fuzz_below(8));
	p[0] = type;
	p[1] = flags;
	p[2] = fuzz_below(16) ? 24 : interesting8[fuzz_below(sizeof(interesting8))];
	p[3] = fuzz_below(12) ? (uint8_t)pdo : interesting8[fuzz_below(sizeof(interesting8))];
	w32(p + 4, fuzz_below(12) ? plen : plen + (uint32_t)fuzz_below(9) - 4);
	p[8] = (uint8_t)fuzz_rnd();
	p[9] = (uint8_t)fuzz_rnd();
	p[10] = (uint8_t)fuzz_rnd();
	p[11] = (uint8_t)fuzz_rnd();
	w32(p + 12, fuzz_below(2) ? 0 : fuzz_rnd());
	w32(p + 16, fuzz_below(12) ? datal : interesting32[fuzz_below(sizeof(interesting32) / 4)]);
	if (fuzz_below(8) == 0)
		for (int i = 20; i < 24; i++)
			p[i] = (uint8_t)fuzz_rnd();
	n = 2 + (fuzz_below(10) ? hl : fuzz_below(40));
	if (n > 2 + 28)
		for (size_t i = 2 + 28; i < n; i++)
			s[i] = (uint8_t)fuzz_rnd();
	return n;
}

static size_t mutate(uint8_t *s, size_t n)
{
	int rounds = 1 + (int)fuzz_below(4);

	for (int r = 0; r < rounds; r++) {
		switch (fuzz_below(9)) {
		case 0:		/* flip a bit */
			if (n)
				s[fuzz_below((uint32_t)n)] ^= (uint8_t)(1u << fuzz_below(8));
			break;
		case 1:		/* interesting byte */
			if (n)
				s[fuzz_below((uint32_t)n)] = interesting8[fuzz_below(sizeof(interesting8))];
			break;
		case 2:		/* interesting 32-bit field at a PDU field offset */
		{
			static const size_t offs[] = { 4, 8, 10, 12, 14, 16, 20 };
			size_t o = 2 + offs[fuzz_below(sizeof(offs) / sizeof(offs[0]))];

			if (o + 4 <= n)
				w32(s + o, interesting32[fuzz_below(sizeof(interesting32) / 4)]);
			break;
		}
		case 3:		/* truncate */
			n = fuzz_below((uint32_t)n + 1);
			break;
		case 4:		/* extend with random bytes */
		{
			size_t add = fuzz_below(64);

			if (n + add > TCP_FZ_MAX)
				add = TCP_FZ_MAX - n;
			for (size_t i = 0; i < add; i++)
				s[n + i] = (uint8_t)fuzz_rnd();
			n += add;
			break;
		}
		case 5:		/* other negotiation / context */
			if (n)
				s[0] = (uint8_t)fuzz_rnd();
			if (n > 1)
				s[1] = (uint8_t)fuzz_rnd();
			break;
		case 6:		/* random byte */
			if (n)
				s[fuzz_below((uint32_t)n)] = (uint8_t)fuzz_rnd();
			break;
		case 7:		/* PDU type */
			if (n > 2)
				s[2] = interesting8[fuzz_below(sizeof(interesting8))];
			break;
		default:	/* ask for a digest fix-up */
			if (n)
				s[0] |= 0x80;
			break;
		}
	}
	return n;
}

size_t fuzz_generate(uint8_t *s, const uint8_t *seed, size_t seed_len)
{
	/* With the driver's random inputs: 1/8 random, 2/8 structured, 5/8 mutated. */
	if (fuzz_below(7) < 2)
		return gen_structured(s);
	memcpy(s, seed, seed_len);
	return mutate(s, seed_len);
}
