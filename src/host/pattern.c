/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "host/pattern.h"

static inline uint64_t word_at(uint64_t seed, uint64_t offset)
{
	/* splitmix64 finalizer over (seed, word index) */
	uint64_t z = seed + (offset / 8) * 0x9e3779b97f4a7c15ull;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void nvmf_pattern_fill(void *buf, size_t len, uint64_t seed, uint64_t offset)
{
	uint8_t *p = buf;

	for (size_t i = 0; i + 8 <= len; i += 8) {
		uint64_t w = word_at(seed, offset + i);

		memcpy(p + i, &w, 8);
	}
}

size_t nvmf_pattern_check(const void *buf, size_t len, uint64_t seed, uint64_t offset)
{
	const uint8_t *p = buf;

	for (size_t i = 0; i + 8 <= len; i += 8) {
		uint64_t w = word_at(seed, offset + i), got;

		memcpy(&got, p + i, 8);
		if (got != w) {
			for (size_t b = 0; b < 8; b++)
				if (((uint8_t *)&got)[b] != ((uint8_t *)&w)[b])
					return i + b;
		}
	}
	return (size_t)-1;
}
