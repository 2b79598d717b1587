/* SPDX-License-Identifier: MIT */
/*
 * FZ_ASSERT for the fuzz targets (this header alone also builds with
 * libFuzzer), and what a fuzz target gives the standalone driver
 * (fuzz_main.c), besides
 * LLVMFuzzerTestOneInput(): its name, corpus, seeds and generators, in its
 * own *_seeds.c (so that the target file alone still builds with
 * libFuzzer). The driver owns the PRNG; generators draw from it only, so
 * one seed value always gives the same inputs. Single-threaded.
 */
#ifndef NVMF_FUZZ_H
#define NVMF_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* A target's check: on failure, say where and what, and abort(). */
#define FZ_ASSERT(cond, ...)							\
	do {									\
		if (!(cond)) {							\
			fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__,	\
				__LINE__, #cond);				\
			fprintf(stderr, __VA_ARGS__);				\
			fputc('\n', stderr);					\
			abort();						\
		}								\
	} while (0)

extern const char fuzz_name[];		/* "fuzz_tcp_pdu": for messages */
extern const char fuzz_corpus[];	/* the checked-in corpus, under $srcdir */
extern const long fuzz_iterations;	/* generated inputs by default */
extern const size_t fuzz_max_input;	/* bytes; every buffer below has this many */
extern const int fuzz_nseeds;

/* Seed @i (0 <= i < fuzz_nseeds) into @s; its length, and a file name in *@name. */
size_t fuzz_seed(int i, uint8_t *s, const char **name);
/*
 * A generated input into @s, from seed @seed (@seed_len bytes; a mutation
 * of it, or something structured that ignores it); its length.
 */
size_t fuzz_generate(uint8_t *s, const uint8_t *seed, size_t seed_len);

/* The driver's deterministic PRNG. */
uint32_t fuzz_rnd(void);
uint32_t fuzz_below(uint32_t n);	/* 0..n-1; 0 when n is 0 */

/*
 * For generators: replace @len bytes at @at of @s (@size bytes) with @ins
 * (@n bytes), keeping the result within @max bytes (@at and @len clamped
 * to the input, @ins cut); returns the new length.
 */
size_t fuzz_splice(uint8_t *s, size_t size, size_t at, size_t len, const void *ins, size_t n,
		   size_t max);

#endif
