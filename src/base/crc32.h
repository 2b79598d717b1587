/* SPDX-License-Identifier: MIT */
/*
 * IEEE 802.3 CRC-32 (reflected polynomial 0xEDB88320, initial and final
 * inversion: zlib's crc32(0, p, n), Linux's ~crc32_le(~0, p, n)), the
 * checksum of the NVMe key interchange formats (DHHC-1 secrets and
 * NVMeTLSkey-1 PSKs). Not CRC32C, which the NVMe/TCP digests use
 * (transport/crc32c.h). Pure; any thread. Bitwise: it checks keys of a
 * few dozen bytes, never data.
 */
#ifndef NVMF_BASE_CRC32_H
#define NVMF_BASE_CRC32_H

#include <stddef.h>
#include <stdint.h>

uint32_t nvmf_crc32_ieee(const uint8_t *p, size_t n);

#endif
