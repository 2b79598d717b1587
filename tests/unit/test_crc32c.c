/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/transport/crc32c.c, the NVMe/TCP header and data
 * digest. Three independent oracles are used: published check values
 * (RFC 3720 appendix B.4 and the usual "123456789" check value), a
 * bit-at-a-time reference CRC written here from the polynomial alone, and
 * the two implementations in the code under test compared with each other.
 */
#include <check.h>
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
	ck_assert_msg(crc32c_final(crc32c_update(NVMF_CRC32C_INIT, buf, n)) == v->crc,
		      "%s: update 0x%08x", v->name,
		      crc32c_final(crc32c_update(NVMF_CRC32C_INIT, buf, n)));
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

	rng_seed(0x1234);
	rng_fill(area, sizeof(area));
	for (size_t off = 0; off < SLACK; off++) {
		for (size_t len = 0; len <= MAXLEN; len++) {
			const uint8_t *p = area + off;
			uint32_t seed = (len & 1) ? NVMF_CRC32C_INIT : rng();
			uint32_t want = ref_update(seed, p, len);
			uint32_t hw = crc32c_update(seed, p, len);
			uint32_t sw = crc32c_update_sw(seed, p, len);

			if (hw != want || sw != want)
				ck_abort_msg("off %zu len %zu seed 0x%08x: ref 0x%08x update 0x%08x sw 0x%08x",
					     off, len, seed, want, hw, sw);
		}
	}
}
END_TEST

START_TEST(test_random_buffers)
{
	/* Fresh random contents per case (the test above reuses one area). */
	uint8_t *area = malloc(MAXLEN + SLACK);

	ck_assert_ptr_nonnull(area);
	rng_seed(0xC0FFEE);
	for (int iter = 0; iter < 3000; iter++) {
		size_t len = rng() % (MAXLEN + 1);
		size_t off = rng() % SLACK;
		uint32_t want, hw, sw;

		rng_fill(area + off, len);
		want = ref_crc(area + off, len);
		hw = crc32c(area + off, len);
		sw = crc32c_final(crc32c_update_sw(NVMF_CRC32C_INIT, area + off, len));
		if (hw != want || sw != want)
			ck_abort_msg("iter %d off %zu len %zu: ref 0x%08x crc32c 0x%08x sw 0x%08x",
				     iter, off, len, want, hw, sw);
	}
	free(area);
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
			ck_assert_msg(crc32c_final(crc32c_update_sw(NVMF_CRC32C_INIT, buf + off,
								    lens[i])) == want,
				      "sw len %zu off %zu", lens[i], off);
		}
	}
	free(buf);
}
END_TEST

/* ---- incremental updates ---------------------------------------------- */

START_TEST(test_split_every_point)
{
	uint8_t buf[MAXLEN + 8];

	rng_seed(42);
	for (size_t len = 0; len <= 130; len++) {
		uint32_t whole;

		rng_fill(buf, len);
		whole = crc32c(buf, len);
		for (size_t k = 0; k <= len; k++) {
			uint32_t c = crc32c_update(NVMF_CRC32C_INIT, buf, k);
			uint32_t s = crc32c_update_sw(NVMF_CRC32C_INIT, buf, k);

			c = crc32c_update(c, buf + k, len - k);
			/* Mix the two implementations across the split too. */
			s = crc32c_update(s, buf + k, len - k);
			if (crc32c_final(c) != whole || crc32c_final(s) != whole)
				ck_abort_msg("len %zu split %zu: one-shot 0x%08x split 0x%08x mixed 0x%08x",
					     len, k, whole, crc32c_final(c), crc32c_final(s));
		}
	}
}
END_TEST

START_TEST(test_split_random_chunks)
{
	uint8_t buf[4096 + 16];

	rng_seed(0xABCDEF);
	for (int iter = 0; iter < 400; iter++) {
		size_t len = rng() % 4096;
		size_t off = rng() % 16;
		uint32_t whole, c = NVMF_CRC32C_INIT, s = NVMF_CRC32C_INIT;
		size_t pos = 0;

		rng_fill(buf + off, len);
		whole = ref_crc(buf + off, len);
		while (pos < len) {
			size_t chunk = 1 + rng() % 97;

			if (chunk > len - pos)
				chunk = len - pos;
			c = crc32c_update(c, buf + off + pos, chunk);
			s = crc32c_update_sw(s, buf + off + pos, chunk);
			pos += chunk;
		}
		ck_assert_msg(crc32c_final(c) == whole, "iter %d len %zu: chunks 0x%08x one-shot 0x%08x",
			      iter, len, crc32c_final(c), whole);
		ck_assert_msg(crc32c_final(s) == whole, "iter %d len %zu: sw chunks 0x%08x one-shot 0x%08x",
			      iter, len, crc32c_final(s), whole);
	}
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
		ck_assert_uint_eq(crc32c_update_sw(NVMF_CRC32C_INIT, p, len),
				  ref_update(NVMF_CRC32C_INIT, p, len));
		free(p);
	}
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

	tc = tcase_create("hw_vs_sw");
	tcase_add_test(tc, test_all_lengths_all_offsets);
	tcase_add_test(tc, test_random_buffers);
	tcase_add_test(tc, test_large_buffers);
	tcase_add_test(tc, test_does_not_touch_neighbours);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);

	tc = tcase_create("incremental");
	tcase_add_test(tc, test_split_every_point);
	tcase_add_test(tc, test_split_random_chunks);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(crc32c_suite());
	int failed;

	printf("crc32c: hardware (SSE4.2) implementation %s\n",
	       crc32c_hw_available() ? "available and compared with the table one"
				     : "NOT available: crc32c_update() is the table one");
	fflush(stdout);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
