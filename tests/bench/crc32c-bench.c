/* SPDX-License-Identifier: MIT */
/*
 * CRC32C microbenchmark: GB/s of each implementation in src/transport/crc32c.c
 * (isa-l when built with it, the own SSE4.2 loop, the table) over a buffer
 * that stays in cache, at the sizes the digests see: 24 and 72 bytes (the
 * C2HData/R2T/CapsuleResp and the CapsuleCmd headers), 4 KiB and 128 KiB
 * (data; tcp.c digests data it has just copied or received, so in cache). Each figure is the best of several
 * timed rounds, so another job on the machine lowers it less.
 *
 * Usage: crc32c-bench [SECONDS per round, default 0.2]   (make bench-crc)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "transport/crc32c.h"

typedef uint32_t (*crc_fn)(uint32_t crc, const void *buf, size_t len);

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static volatile uint32_t g_sink;

/* Bytes per second of fn over buf[0..len), best of `rounds` rounds. */
static double measure(crc_fn fn, const uint8_t *buf, size_t len, double secs, int rounds)
{
	double best = 0;

	for (int r = 0; r < rounds; r++) {
		uint64_t iters = 0, batch = 1 + (64u << 20) / (len * 16);
		uint32_t acc = 0;
		double t0 = now(), t;

		do {
			for (uint64_t i = 0; i < batch; i++)
				acc ^= fn(NVMF_CRC32C_INIT, buf, len);
			iters += batch;
			t = now() - t0;
		} while (t < secs);
		g_sink ^= acc;
		if ((double)iters * (double)len / t > best)
			best = (double)iters * (double)len / t;
	}
	return best;
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = { 24, 72, 4096, 131072 };
	const struct {
		const char *name;
		crc_fn fn;
		int usable;
	} impls[] = {
#ifdef HAVE_ISAL
		{ "isa-l crc32_iscsi", crc32c_update_isal, 1 },
#endif
		{ "own SSE4.2", crc32c_update_own, crc32c_hw_available() },
		{ "own table", crc32c_update_sw, 1 },
	};
	double secs = argc > 1 ? atof(argv[1]) : 0.2;
	uint8_t *buf = aligned_alloc(64, 131072);

	if (!buf || secs <= 0) {
		fprintf(stderr, "usage: %s [SECONDS per round]\n", argv[0]);
		return 2;
	}
	for (size_t i = 0; i < 131072; i++)
		buf[i] = (uint8_t)(i * 2654435761u >> 24);
	printf("crc32c_update() uses: %s; best of 3 rounds of %.2f s, buffer in cache\n\n",
	       crc32c_impl(), secs);
	printf("| implementation | 24 B GB/s | 72 B GB/s | 4 KiB GB/s | 128 KiB GB/s |\n");
	printf("|---|---:|---:|---:|---:|\n");
	for (size_t k = 0; k < sizeof(impls) / sizeof(impls[0]); k++) {
		if (!impls[k].usable) {
			printf("| %s | n/a (no SSE4.2) | | | |\n", impls[k].name);
			continue;
		}
		printf("| %s |", impls[k].name);
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			printf(" %.2f |", measure(impls[k].fn, buf, sizes[s], secs, 3) / 1e9);
			fflush(stdout);
		}
		printf("\n");
	}
	free(buf);
	return 0;
}
