/* SPDX-License-Identifier: MIT */
/*
 * Verification data pattern: every 8-byte word is a function of a seed and
 * the word's absolute byte offset in the namespace, so any reader (nvmfuse
 * perf, the kernel host in a test) can check any range without knowing how
 * it was written. Offsets and lengths must be multiples of 8.
 * Thread context: any; pure functions.
 */
#ifndef NVMF_PATTERN_H
#define NVMF_PATTERN_H

#include <stddef.h>
#include <stdint.h>

void nvmf_pattern_fill(void *buf, size_t len, uint64_t seed, uint64_t offset);
/*
 * Returns the index of the first byte that differs, or (size_t)-1 when
 * the whole buffer matches.
 */
size_t nvmf_pattern_check(const void *buf, size_t len, uint64_t seed, uint64_t offset);

#endif
