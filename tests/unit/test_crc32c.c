/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/transport/crc32c.c, the NVMe/TCP header and data
 * digest. Three independent oracles are used: published check values
 * (RFC 3720 appendix B.4 and the usual "123456789" check value), a
 * bit-at-a-time reference CRC written here from the polynomial alone, and
 * the implementations in the code under test (isa-l when built with it, our
 * own SSE4.2 loop, the table) compared with each other.
 *
 * Loops over many cases compute everything first and assert once, naming
 * the first mismatch: an assert per case costs a write(2) in Check.
 */
#include <check.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport/crc32c.h"

/* Bitwise reflected CRC-32C, polynomial 0x82F63B78: the slowest possible
 * implementation and therefore the easiest to trust. Works on the raw
 * (not yet inverted) register like crc32c_update(). */
static uint32_t ref_update(uint32_t crc, const uint8_t *p, size_t len)
{
	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
	}
	return crc;
}

static uint32_t ref_crc(const uint8_t *p, size_t len)
{
	return ref_update(0xffffffffu, p, len) ^ 0xffffffffu;
}

/* Small deterministic PRNG (xorshift64*) so failures are reproducible. */
static uint64_t rng_state;

static void rng_seed(uint64_t s)
{
	rng_state = s ? s : 0x9E3779B97F4A7C15ull;
}

static uint32_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 32);
}

static void rng_fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rng();
}

/* ---- The implementations under test ----------------------------------- */

typedef uint32_t (*crc_fn)(uint32_t crc, const void *buf, size_t len);

static const struct impl {
	const char *name;
	crc_fn fn;
} impls[] = {
	{ "crc32c_update", crc32c_update },	/* what the engine uses */
	{ "own", crc32c_update_own },		/* SSE4.2 when the CPU has it */
	{ "table", crc32c_update_sw },
#ifdef HAVE_ISAL
	{ "isa-l", crc32c_update_isal },
#endif
};
#define NIMPL (sizeof(impls) / sizeof(impls[0]))

/* First mismatch of a loop, reported by one assert at its end. */
struct first_bad {
	int bad;
	char msg[256];
};

__attribute__((format(printf, 2, 3)))
static void note_bad(struct first_bad *fb, const char *fmt, ...)
{
	va_list ap;

	if (fb->bad++)
		return;
	va_start(ap, fmt);
	vsnprintf(fb->msg, sizeof(fb->msg), fmt, ap);
	va_end(ap);
}

#define ASSERT_NONE_BAD(fb) \
	ck_assert_msg(!(fb).bad, "%d mismatches; first: %s", (fb).bad, (fb).msg)

/* ---- Known vectors ---------------------------------------------------- */

struct vector {
	const char *name;
	uint8_t kind;		/* 0 = literal string, 1 = fill, 2 = up, 3 = down */
	const char *str;
	uint8_t fill;
	size_t len;
	uint32_t crc;
};

static const struct vector vectors[] = {
	{ "check value \"123456789\"", 0, "123456789", 0, 9, 0xE3069283u },
	{ "empty", 0, "", 0, 0, 0x00000000u },
	{ "\"a\"", 0, "a", 0, 1, 0xC1D04330u },
	{ "RFC 3720 B.4: 32 x 00", 1, NULL, 0x00, 32, 0x8A9136AAu },
	{ "RFC 3720 B.4: 32 x FF", 1, NULL, 0xFF, 32, 0x62A8AB43u },
	{ "RFC 3720 B.4: 00..1F", 2, NULL, 0, 32, 0x46DD794Eu },
	{ "RFC 3720 B.4: 1F..00", 3, NULL, 0, 32, 0x113FDB5Cu },
};

static size_t vector_bytes(const struct vector *v, uint8_t *buf)
{
	for (size_t i = 0; i < v->len; i++) {
		switch (v->kind) {
		case 0: buf[i] = (uint8_t)v->str[i]; break;
		case 1: buf[i] = v->fill; break;
		case 2: buf[i] = (uint8_t)i; break;
		default: buf[i] = (uint8_t)(v->len - 1 - i); break;
		}
	}
	return v->len;
}

START_TEST(test_known_vectors)
{
	const struct vector *v = &vectors[_i];
	uint8_t buf[64];
	size_t n = vector_bytes(v, buf);

	ck_assert_msg(crc32c(buf, n) == v->crc, "%s: crc32c 0x%08x, expected 0x%08x",
		      v->name, crc32c(buf, n), v->crc);
	ck_assert_msg(crc32c_final(crc32c_update_sw(NVMF_CRC32C_INIT, buf, n)) == v->crc,
		      "%s: sw 0x%08x, expected 0x%08x", v->name,
		      crc32c_final(crc32c_update_sw(NVMF_CRC32C_INIT, buf, n)), v->crc);
	for (size_t i = 0; i < NIMPL; i++) {
		uint32_t got = crc32c_final(impls[i].fn(NVMF_CRC32C_INIT, buf, n));

		ck_assert_msg(got == v->crc, "%s: %s 0x%08x, expected 0x%08x",
			      v->name, impls[i].name, got, v->crc);
	}
	/* The oracle itself must agree, or the random tests prove nothing. */
	ck_assert_msg(ref_crc(buf, n) == v->crc, "%s: reference CRC is broken", v->name);
}
END_TEST

START_TEST(test_init_final)
{
	ck_assert_uint_eq(NVMF_CRC32C_INIT, 0xffffffffu);
	ck_assert_uint_eq(crc32c_final(0), 0xffffffffu);
	ck_assert_uint_eq(crc32c_final(0x12345678u), 0xEDCBA987u);
	/* Zero length leaves the register alone. */
	ck_assert_uint_eq(crc32c_update(0x12345678u, "x", 0), 0x12345678u);
	ck_assert_uint_eq(crc32c_update_sw(0x12345678u, "x", 0), 0x12345678u);
	ck_assert_uint_eq(crc32c_update(0x12345678u, NULL, 0), 0x12345678u);
	for (size_t i = 0; i < NIMPL; i++)
		ck_assert_msg(impls[i].fn(0x12345678u, "x", 0) == 0x12345678u,
			      "%s changes the register on zero length", impls[i].name);
}
END_TEST

/* The digest of a digest-protected buffer followed by its own digest in
 * little-endian order is the CRC-32C residue 0x48674BC7 (a property of
 * the polynomial; independent of the data). */
START_TEST(test_residue)
{
	uint8_t buf[80];

	rng_seed(7);
	for (size_t n = 0; n <= 64; n++) {
		uint32_t c;

		rng_fill(buf, n);
		c = crc32c(buf, n);
		buf[n] = (uint8_t)c;
		buf[n + 1] = (uint8_t)(c >> 8);
		buf[n + 2] = (uint8_t)(c >> 16);
		buf[n + 3] = (uint8_t)(c >> 24);
		ck_assert_msg(crc32c_update(NVMF_CRC32C_INIT, buf, n + 4) == ~0x48674BC7u,
			      "len %zu: residue 0x%08x", n,
			      crc32c_update(NVMF_CRC32C_INIT, buf, n + 4));
	}
}
END_TEST

/* ---- hw vs sw vs reference -------------------------------------------- */

#define MAXLEN 300
#define SLACK 16

START_TEST(test_all_lengths_all_offsets)
{
	/* Every length 0..300 at every start offset 0..15 of an 8-aligned
	 * buffer, with the standard initial value and with a random one. */
	static uint8_t area[MAXLEN + SLACK + 8] __attribute__((aligned(16)));

	struct first_bad fb = { 0 };

	rng_seed(0x1234);
	rng_fill(area, sizeof(area));
	for (size_t off = 0; off < SLACK; off++) {
		for (size_t len = 0; len <= MAXLEN; len++) {
			const uint8_t *p = area + off;
			uint32_t seed = (len & 1) ? NVMF_CRC32C_INIT : rng();
			uint32_t want = ref_update(seed, p, len);

			for (size_t i = 0; i < NIMPL; i++) {
				uint32_t got = impls[i].fn(seed, p, len);

				if (got != want)
					note_bad(&fb, "%s off %zu len %zu seed 0x%08x: 0x%08x, ref 0x%08x",
						 impls[i].name, off, len, seed, got, want);
			}
		}
	}
	ASSERT_NONE_BAD(fb);
}
END_TEST

START_TEST(test_random_buffers)
{
	/* Fresh random contents per case (the test above reuses one area). */
	uint8_t *area = malloc(MAXLEN + SLACK);
	struct first_bad fb = { 0 };

	ck_assert_ptr_nonnull(area);
	rng_seed(0xC0FFEE);
	for (int iter = 0; iter < 3000; iter++) {
		size_t len = rng() % (MAXLEN + 1);
		size_t off = rng() % SLACK;
		uint32_t want;

		rng_fill(area + off, len);
		want = ref_crc(area + off, len);
		if (crc32c(area + off, len) != want)
			note_bad(&fb, "crc32c() iter %d off %zu len %zu: 0x%08x, ref 0x%08x",
				 iter, off, len, crc32c(area + off, len), want);
		for (size_t i = 0; i < NIMPL; i++) {
			uint32_t got = crc32c_final(impls[i].fn(NVMF_CRC32C_INIT, area + off, len));

			if (got != want)
				note_bad(&fb, "%s iter %d off %zu len %zu: 0x%08x, ref 0x%08x",
					 impls[i].name, iter, off, len, got, want);
		}
	}
	free(area);
	ASSERT_NONE_BAD(fb);
}
END_TEST

START_TEST(test_large_buffers)
{
	static const size_t lens[] = { 4096, 4099, 8192 + 5, 65536 + 7, 131072 + 1 };
	uint8_t *buf = malloc(131072 + 16);

	ck_assert_ptr_nonnull(buf);
	rng_seed(99);
	rng_fill(buf, 131072 + 16);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		for (size_t off = 0; off < 3; off++) {
			uint32_t want = ref_crc(buf + off, lens[i]);

			ck_assert_msg(crc32c(buf + off, lens[i]) == want, "len %zu off %zu", lens[i], off);
			for (size_t j = 0; j < NIMPL; j++)
				ck_assert_msg(crc32c_final(impls[j].fn(NVMF_CRC32C_INIT, buf + off,
								       lens[i])) == want,
					      "%s len %zu off %zu", impls[j].name, lens[i], off);
		}
	}
	free(buf);
}
END_TEST

/* ---- incremental updates ---------------------------------------------- */

START_TEST(test_split_every_point)
{
	uint8_t buf[MAXLEN + 8];
	struct first_bad fb = { 0 };

	rng_seed(42);
	for (size_t len = 0; len <= 130; len++) {
		uint32_t whole;

		rng_fill(buf, len);
		whole = crc32c(buf, len);
		for (size_t k = 0; k <= len; k++) {
			/* Every pair of implementations across the split: the
			 * register convention must be the same in all. */
			for (size_t a = 0; a < NIMPL; a++) {
				for (size_t b = 0; b < NIMPL; b++) {
					uint32_t c = impls[a].fn(NVMF_CRC32C_INIT, buf, k);

					c = crc32c_final(impls[b].fn(c, buf + k, len - k));
					if (c != whole)
						note_bad(&fb, "len %zu split %zu %s+%s: 0x%08x, one-shot 0x%08x",
							 len, k, impls[a].name, impls[b].name, c, whole);
				}
			}
		}
	}
	ASSERT_NONE_BAD(fb);
}
END_TEST

START_TEST(test_split_random_chunks)
{
	uint8_t buf[4096 + 16];
	struct first_bad fb = { 0 };

	rng_seed(0xABCDEF);
	for (int iter = 0; iter < 400; iter++) {
		size_t len = rng() % 4096;
		size_t off = rng() % 16;
		uint32_t whole, c[NIMPL];
		size_t pos = 0;

		for (size_t i = 0; i < NIMPL; i++)
			c[i] = NVMF_CRC32C_INIT;
		rng_fill(buf + off, len);
		whole = ref_crc(buf + off, len);
		while (pos < len) {
			size_t chunk = 1 + rng() % 97;

			if (chunk > len - pos)
				chunk = len - pos;
			for (size_t i = 0; i < NIMPL; i++)
				c[i] = impls[i].fn(c[i], buf + off + pos, chunk);
			pos += chunk;
		}
		for (size_t i = 0; i < NIMPL; i++)
			if (crc32c_final(c[i]) != whole)
				note_bad(&fb, "%s iter %d len %zu: chunks 0x%08x, one-shot 0x%08x",
					 impls[i].name, iter, len, crc32c_final(c[i]), whole);
	}
	ASSERT_NONE_BAD(fb);
}
END_TEST

START_TEST(test_does_not_touch_neighbours)
{
	/* Reads only [p, p+len): verified under ASan by using an exact-size
	 * heap allocation for every length. */
	for (size_t len = 1; len <= 40; len++) {
		uint8_t *p = malloc(len);

		ck_assert_ptr_nonnull(p);
		memset(p, 0x5A, len);
		ck_assert_uint_eq(crc32c(p, len), ref_crc(p, len));
		for (size_t i = 0; i < NIMPL; i++)
			ck_assert_msg(impls[i].fn(NVMF_CRC32C_INIT, p, len) ==
				      ref_update(NVMF_CRC32C_INIT, p, len), "%s len %zu",
				      impls[i].name, len);
		free(p);
	}
}
END_TEST

/* ---- PDU-sized data, split like tcp.c's receive path splits it -------- */

#define BIGLEN 9000	/* a jumbo frame's worth: one or more C2HData PDUs */

/*
 * Random lengths 0..9000 at random offsets, with random split points: tcp.c
 * digests a C2HData payload in as many crc32c_update() calls as recv()
 * returns pieces. Each implementation computes the split digest, one-shot
 * and against the table implementation (the fast reference; the bitwise
 * one checks it on a sample) and against every other implementation.
 */
START_TEST(test_pdu_sizes_random_splits)
{
	uint8_t *area = malloc(BIGLEN + SLACK);
	struct first_bad fb = { 0 };

	ck_assert_ptr_nonnull(area);
	rng_seed(0x15A1);
	for (int iter = 0; iter < 2000; iter++) {
		size_t len = rng() % (BIGLEN + 1);
		size_t off = rng() % SLACK;
		const uint8_t *p = area + off;
		size_t cut[5];
		int ncut = 1 + (int)(rng() % 4);
		uint32_t want;

		rng_fill(area + off, len);
		want = crc32c_final(crc32c_update_sw(NVMF_CRC32C_INIT, p, len));
		if ((iter & 31) == 0 && ref_crc(p, len) != want)
			note_bad(&fb, "table iter %d len %zu: 0x%08x, bitwise ref 0x%08x",
				 iter, len, want, ref_crc(p, len));
		/* Sorted split points in [0, len], repeats allowed (empty pieces). */
		for (int k = 0; k < ncut; k++)
			cut[k] = len ? rng() % (len + 1) : 0;
		for (int k = 1; k < ncut; k++)
			for (int j = k; j > 0 && cut[j - 1] > cut[j]; j--) {
				size_t t = cut[j];

				cut[j] = cut[j - 1];
				cut[j - 1] = t;
			}
		cut[ncut] = len;
		for (size_t i = 0; i < NIMPL; i++) {
			uint32_t one = crc32c_final(impls[i].fn(NVMF_CRC32C_INIT, p, len));
			uint32_t c = NVMF_CRC32C_INIT;
			size_t pos = 0;

			for (int k = 0; k <= ncut; k++) {
				c = impls[i].fn(c, p + pos, cut[k] - pos);
				pos = cut[k];
			}
			c = crc32c_final(c);
			if (one != want)
				note_bad(&fb, "%s iter %d off %zu len %zu: one-shot 0x%08x, table 0x%08x",
					 impls[i].name, iter, off, len, one, want);
			if (c != want)
				note_bad(&fb, "%s iter %d off %zu len %zu cuts %zu/%zu/%zu/%zu: split 0x%08x, table 0x%08x",
					 impls[i].name, iter, off, len, cut[0], cut[1], cut[2], cut[3], c, want);
		}
		/* Rotate the implementations over the pieces. */
		{
			uint32_t c = NVMF_CRC32C_INIT;
			size_t pos = 0;

			for (int k = 0; k <= ncut; k++) {
				c = impls[((size_t)iter + (size_t)k) % NIMPL].fn(c, p + pos, cut[k] - pos);
				pos = cut[k];
			}
			if (crc32c_final(c) != want)
				note_bad(&fb, "mixed iter %d len %zu: 0x%08x, table 0x%08x",
					 iter, len, crc32c_final(c), want);
		}
	}
	free(area);
	ASSERT_NONE_BAD(fb);
}
END_TEST

static Suite *crc32c_suite(void)
{
	Suite *s = suite_create("crc32c");
	TCase *tc = tcase_create("vectors");

	tcase_add_loop_test(tc, test_known_vectors, 0, (int)(sizeof(vectors) / sizeof(vectors[0])));
	tcase_add_test(tc, test_init_final);
	tcase_add_test(tc, test_residue);
	suite_add_tcase(s, tc);

	tc = tcase_create("implementations");
	tcase_add_test(tc, test_all_lengths_all_offsets);
	tcase_add_test(tc, test_random_buffers);
	tcase_add_test(tc, test_large_buffers);
	tcase_add_test(tc, test_does_not_touch_neighbours);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);

	tc = tcase_create("incremental");
	tcase_add_test(tc, test_split_every_point);
	tcase_add_test(tc, test_split_random_chunks);
	tcase_add_test(tc, test_pdu_sizes_random_splits);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(crc32c_suite());
	int failed;

	printf("crc32c: crc32c_update() is %s; compared with:", crc32c_impl());
	for (size_t i = 0; i < NIMPL; i++)
		printf(" %s", impls[i].name);
	printf(" (own is %s)\n", crc32c_hw_available() ? "SSE4.2" : "the table: no SSE4.2");
	fflush(stdout);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
