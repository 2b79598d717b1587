/* SPDX-License-Identifier: MIT */
/*
 * CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the NVMe/TCP
 * header and data digest (NVMe/TCP 1.0, 3.6.2.5 and 3.6.2.6).
 *
 * Incremental use: crc = NVMF_CRC32C_INIT; crc = crc32c_update(crc, ...)
 * as often as needed; digest = crc32c_final(crc). crc32c() does all three.
 * The SSE4.2 instruction is used when the CPU has it, else a portable
 * slicing-by-8 table implementation; both give identical results.
 *
 * Thread context: any thread; no state beyond read-only tables.
 */
#ifndef NVMF_CRC32C_H
#define NVMF_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NVMF_CRC32C_INIT 0xffffffffu

uint32_t crc32c_update(uint32_t crc, const void *buf, size_t len);

static inline uint32_t crc32c_final(uint32_t crc)
{
	return crc ^ 0xffffffffu;
}

static inline uint32_t crc32c(const void *buf, size_t len)
{
	return crc32c_final(crc32c_update(NVMF_CRC32C_INIT, buf, len));
}

/* The portable implementation alone, for tests that compare the two. */
uint32_t crc32c_update_sw(uint32_t crc, const void *buf, size_t len);
/* True when crc32c_update() uses the CPU instruction. */
bool crc32c_hw_available(void);

#endif
