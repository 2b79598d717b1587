/* SPDX-License-Identifier: MIT */
/*
 * Standalone driver for LLVMFuzzerTestOneInput() when libFuzzer is not
 * linked in (gcc builds, `make check`). See the top of fuzz_tcp_pdu.c for
 * the real libFuzzer build.
 *
 *   fuzz_tcp_pdu [-n ITERATIONS] [-s SEED] [-w DIR] [FILE|DIR ...]
 *
 * FILE/DIR arguments: run the target once on each file (directories are
 * read one level deep), e.g. a libFuzzer crash file or corpus.
 * Without arguments: replay $srcdir/tests/fuzz/corpus when it exists, the
 * built-in seed PDUs, then ITERATIONS (default 500000) deterministic inputs:
 * random bytes, structured headers with random fields, and mutations of the
 * seeds. The same SEED always gives the same inputs, so a failure printed
 * as "iteration K" is reproduced with the same command.
 * -w DIR writes the built-in seeds to DIR (how tests/fuzz/corpus was made).
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "transport/crc32c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_MAX_INPUT 320

/* ---- what is running, for the crash report ----------------------------------- */

static const uint8_t *g_cur;
static size_t g_cur_len;
static const char *g_cur_what = "startup";
static long g_cur_iter = -1;

static void crash_handler(int sig)
{
	char line[128];
	int k;

	/* Only async-signal-safe calls: snprintf into a stack buffer + write. */
	k = snprintf(line, sizeof(line), "\nfuzz_tcp_pdu: signal %d on %s, iteration %ld, %zu bytes:\n",
		     sig, g_cur_what, g_cur_iter, g_cur_len);
	if (k > 0)
		(void)!write(2, line, (size_t)k);
	for (size_t i = 0; g_cur && i < g_cur_len; i++) {
		k = snprintf(line, sizeof(line), "%02x%s", g_cur[i], (i % 16 == 15) ? "\n" : " ");
		(void)!write(2, line, (size_t)k);
	}
	(void)!write(2, "\n", 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void run_one(const uint8_t *p, size_t n, const char *what, long iter)
{
	g_cur = p;
	g_cur_len = n;
	g_cur_what = what;
	g_cur_iter = iter;
	LLVMFuzzerTestOneInput(p, n);
}

/* ---- PRNG ----------------------------------------------------------------------- */

static uint64_t g_rng;

static uint32_t rnd(void)
{
	g_rng ^= g_rng >> 12;
	g_rng ^= g_rng << 25;
	g_rng ^= g_rng >> 27;
	return (uint32_t)((g_rng * 0x2545F4914F6CDD1Dull) >> 32);
}

static uint32_t below(uint32_t n)
{
	return n ? rnd() % n : 0;
}

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

#define NSEEDS 14

static size_t make_seed(int i, uint8_t *s)
{
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

static int write_seeds(const char *dir)
{
	static const char *const names[NSEEDS] = {
		"resp", "resp-hd", "data-last", "data-hd-dd", "data-pda128", "data-pda32",
		"data-success", "r2t", "r2t-hd", "term", "term-152", "icresp-digests",
		"icresp-cpda31", "icresp-hd",
	};

	for (int i = 0; i < NSEEDS; i++) {
		uint8_t s[FZ_MAX_INPUT];
		size_t n = make_seed(i, s);
		char path[4096];
		FILE *f;

		snprintf(path, sizeof(path), "%s/seed-%02d-%s", dir, i, names[i]);
		f = fopen(path, "wb");
		if (!f || fwrite(s, 1, n, f) != n || fclose(f)) {
			fprintf(stderr, "fuzz_tcp_pdu: cannot write %s: %s\n", path, strerror(errno));
			return 1;
		}
	}
	return 0;
}

/* ---- generators -------------------------------------------------------------- */

static const uint32_t interesting32[] = {
	0, 1, 3, 4, 7, 8, 23, 24, 25, 27, 28, 32, 64, 127, 128, 129, 151, 152, 153, 255, 256,
	4095, 4096, 4100, 0x7FFFFFFF, 0x80000000u, 0xFFFFFFFCu, 0xFFFFFFFFu,
};
static const uint8_t interesting8[] = { 0, 1, 2, 3, 4, 5, 7, 8, 9, 0x0C, 0x0F, 0x10, 24, 28, 31, 32,
					72, 76, 127, 128, 0x7F, 0x80, 0xFF };

static size_t gen_random(uint8_t *s)
{
	size_t n = below(FZ_MAX_INPUT);

	for (size_t i = 0; i < n; i++)
		s[i] = (uint8_t)rnd();
	return n;
}

/* A header whose fields are mostly plausible, so that each check in turn
 * is what fails (or nothing does). */
static size_t gen_structured(uint8_t *s)
{
	static const uint8_t types[] = { 0x03, 0x05, 0x07, 0x07, 0x07, 0x09, 0x09, 0x01 };
	uint8_t cfg = (uint8_t)rnd();
	bool hd = cfg & 1, dd = cfg & 2;
	uint32_t pda = (((cfg >> 2) & 31u) + 1) * 4;
	uint8_t type = (below(16) == 0) ? (uint8_t)rnd() : types[below(sizeof(types))];
	uint32_t hl = hd ? 28 : 24;
	uint32_t datal = below(4) ? 1 + below(8192) : rnd();
	uint32_t pdo, plen;
	uint8_t flags = 0;
	uint8_t *p = s + 2;
	size_t n;

	s[0] = cfg | (below(4) ? 0x80 : 0);	/* mostly: fix the digest up */
	s[1] = (uint8_t)rnd();
	memset(p, 0, 28);
	if (hd && type != 0x03)
		flags |= 0x01;
	if (type == 0x07) {
		if (dd)
			flags |= 0x02;
		if (below(2))
			flags |= 0x04;
		if (below(4) == 0)
			flags |= 0x08;
		pdo = (hl + pda - 1) / pda * pda;
		if (pdo > 255)
			pdo = hl;
		plen = pdo + datal + (dd ? 4 : 0);
	} else if (type == 0x03) {
		pdo = 0;
		plen = 24 + below(140);
	} else {
		pdo = 0;
		plen = hl;
	}
	if (below(8) == 0)
		flags ^= (uint8_t)(1u << below(8));
	p[0] = type;
	p[1] = flags;
	p[2] = below(16) ? 24 : interesting8[below(sizeof(interesting8))];
	p[3] = below(12) ? (uint8_t)pdo : interesting8[below(sizeof(interesting8))];
	w32(p + 4, below(12) ? plen : plen + (uint32_t)below(9) - 4);
	p[8] = (uint8_t)rnd();
	p[9] = (uint8_t)rnd();
	p[10] = (uint8_t)rnd();
	p[11] = (uint8_t)rnd();
	w32(p + 12, below(2) ? 0 : rnd());
	w32(p + 16, below(12) ? datal : interesting32[below(sizeof(interesting32) / 4)]);
	if (below(8) == 0)
		for (int i = 20; i < 24; i++)
			p[i] = (uint8_t)rnd();
	n = 2 + (below(10) ? hl : below(40));
	if (n > 2 + 28)
		for (size_t i = 2 + 28; i < n; i++)
			s[i] = (uint8_t)rnd();
	return n;
}

static size_t mutate(uint8_t *s, size_t n)
{
	int rounds = 1 + (int)below(4);

	for (int r = 0; r < rounds; r++) {
		switch (below(9)) {
		case 0:		/* flip a bit */
			if (n)
				s[below((uint32_t)n)] ^= (uint8_t)(1u << below(8));
			break;
		case 1:		/* interesting byte */
			if (n)
				s[below((uint32_t)n)] = interesting8[below(sizeof(interesting8))];
			break;
		case 2:		/* interesting 32-bit field at a PDU field offset */
		{
			static const size_t offs[] = { 4, 8, 10, 12, 14, 16, 20 };
			size_t o = 2 + offs[below(sizeof(offs) / sizeof(offs[0]))];

			if (o + 4 <= n)
				w32(s + o, interesting32[below(sizeof(interesting32) / 4)]);
			break;
		}
		case 3:		/* truncate */
			n = below((uint32_t)n + 1);
			break;
		case 4:		/* extend with random bytes */
		{
			size_t add = below(64);

			if (n + add > FZ_MAX_INPUT)
				add = FZ_MAX_INPUT - n;
			for (size_t i = 0; i < add; i++)
				s[n + i] = (uint8_t)rnd();
			n += add;
			break;
		}
		case 5:		/* other negotiation / context */
			if (n)
				s[0] = (uint8_t)rnd();
			if (n > 1)
				s[1] = (uint8_t)rnd();
			break;
		case 6:		/* random byte */
			if (n)
				s[below((uint32_t)n)] = (uint8_t)rnd();
			break;
		case 7:		/* PDU type */
			if (n > 2)
				s[2] = interesting8[below(sizeof(interesting8))];
			break;
		default:	/* ask for a digest fix-up */
			if (n)
				s[0] |= 0x80;
			break;
		}
	}
	return n;
}

/* ---- files ------------------------------------------------------------------ */

static int run_file(const char *path)
{
	static uint8_t buf[1 << 20];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f) {
		fprintf(stderr, "fuzz_tcp_pdu: %s: %s\n", path, strerror(errno));
		return 1;
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	run_one(buf, n, path, -1);
	return 0;
}

static int run_path(const char *path, long *count)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (stat(path, &st)) {
		fprintf(stderr, "fuzz_tcp_pdu: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return run_file(path);
	}
	d = opendir(path);
	if (!d) {
		fprintf(stderr, "fuzz_tcp_pdu: %s: %s\n", path, strerror(errno));
		return 1;
	}
	while ((de = readdir(d))) {
		char p[4096];

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
		if (stat(p, &st) || !S_ISREG(st.st_mode))
			continue;
		(*count)++;
		rc |= run_file(p);
	}
	closedir(d);
	return rc;
}

int main(int argc, char **argv)
{
	long iters = 500000, files = 0;
	uint64_t seed = 0x6E766D66u;	/* "nvmf" */
	const char *wdir = NULL;
	int opt, rc = 0;

	while ((opt = getopt(argc, argv, "n:s:w:h")) != -1) {
		switch (opt) {
		case 'n': iters = strtol(optarg, NULL, 0); break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'w': wdir = optarg; break;
		default:
			fprintf(stderr, "usage: %s [-n ITERATIONS] [-s SEED] [-w DIR] [FILE|DIR ...]\n",
				argv[0]);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (wdir)
		return write_seeds(wdir);
	signal(SIGABRT, crash_handler);
	signal(SIGSEGV, crash_handler);
	signal(SIGBUS, crash_handler);

	if (optind < argc) {
		for (int i = optind; i < argc; i++)
			rc |= run_path(argv[i], &files);
		printf("fuzz_tcp_pdu: %ld file(s) ran clean\n", files);
		return rc;
	}

	/* Regression corpus checked into the source tree. */
	{
		const char *srcdir = getenv("srcdir");
		char dir[4096];
		struct stat st;

		snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus", srcdir ? srcdir : ".");
		if (!stat(dir, &st) && S_ISDIR(st.st_mode))
			rc |= run_path(dir, &files);
	}

	{
		uint8_t seeds[NSEEDS][FZ_MAX_INPUT];
		size_t seed_len[NSEEDS];
		uint8_t s[FZ_MAX_INPUT];

		for (int i = 0; i < NSEEDS; i++) {
			seed_len[i] = make_seed(i, seeds[i]);
			run_one(seeds[i], seed_len[i], "built-in seed", i);
		}
		g_rng = seed ? seed : 1;
		for (long it = 0; it < iters; it++) {
			size_t n;
			uint32_t k = below(8);

			if (k == 0) {
				n = gen_random(s);
			} else if (k <= 2) {
				n = gen_structured(s);
			} else {
				int i = (int)below(NSEEDS);

				memcpy(s, seeds[i], seed_len[i]);
				n = mutate(s, seed_len[i]);
			}
			run_one(s, n, "generated input", it);
		}
	}
	printf("fuzz_tcp_pdu: %ld corpus file(s), %d seeds and %ld generated inputs (seed 0x%llx) ran clean\n",
	       files, NSEEDS, iters, (unsigned long long)seed);
	return rc;
}
