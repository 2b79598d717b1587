/* SPDX-License-Identifier: MIT */
/*
 * CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the NVMe/TCP
 * header and data digest (NVMe/TCP 1.0, 3.6.2.5 and 3.6.2.6).
 *
 * Incremental use: crc = NVMF_CRC32C_INIT; crc = crc32c_update(crc, ...)
 * as often as needed; digest = crc32c_final(crc). crc32c() does all three.
 * crc32c_update() is isa-l's crc32_iscsi() when configure found libisal
 * (HAVE_ISAL), else our own code: the SSE4.2 instruction when the CPU has
 * it, else a portable slicing-by-8 table. All give identical results and
 * may be mixed within one incremental computation.
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

/* The implementations alone, for the tests and the benchmark that compare
 * them. Same register convention as crc32c_update(). */
/* The portable table implementation. */
uint32_t crc32c_update_sw(uint32_t crc, const void *buf, size_t len);
/* Our own code: the SSE4.2 loop when the CPU has it, else the table. */
uint32_t crc32c_update_own(uint32_t crc, const void *buf, size_t len);
#ifdef HAVE_ISAL
/* isa-l's crc32_iscsi(), any length. */
uint32_t crc32c_update_isal(uint32_t crc, const void *buf, size_t len);
#endif
/* True when the CPU has SSE4.2, i.e. crc32c_update_own() uses it. */
bool crc32c_hw_available(void);
/* What crc32c_update() uses: "isa-l", "sse4.2" or "table". */
const char *crc32c_impl(void);

#endif
