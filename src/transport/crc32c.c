/* SPDX-License-Identifier: MIT */
#include <pthread.h>
#include <string.h>

#ifdef HAVE_ISAL
#include <isa-l/crc.h>
#endif

#include "transport/crc32c.h"

#define CRC32C_POLY 0x82f63b78u

static uint32_t g_table[8][256];
static pthread_once_t g_table_once = PTHREAD_ONCE_INIT;

static void table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ ((c & 1) ? CRC32C_POLY : 0);
		g_table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			g_table[t][i] = (g_table[t - 1][i] >> 8) ^
					g_table[0][g_table[t - 1][i] & 0xff];
}

uint32_t crc32c_update_sw(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	pthread_once(&g_table_once, table_init);
	while (len && ((uintptr_t)p & 7)) {
		crc = (crc >> 8) ^ g_table[0][(crc ^ *p++) & 0xff];
		len--;
	}
	while (len >= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		w ^= crc;	/* little-endian host: low bytes first */
		crc = g_table[7][w & 0xff] ^
		      g_table[6][(w >> 8) & 0xff] ^
		      g_table[5][(w >> 16) & 0xff] ^
		      g_table[4][(w >> 24) & 0xff] ^
		      g_table[3][(w >> 32) & 0xff] ^
		      g_table[2][(w >> 40) & 0xff] ^
		      g_table[1][(w >> 48) & 0xff] ^
		      g_table[0][(w >> 56) & 0xff];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = (crc >> 8) ^ g_table[0][(crc ^ *p++) & 0xff];
	return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t crc32c_update_hw(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t c = crc;

	while (len && ((uintptr_t)p & 7)) {
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
		len--;
	}
	while (len >= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		c = __builtin_ia32_crc32di(c, w);
		p += 8;
		len -= 8;
	}
	while (len--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return (uint32_t)c;
}

static bool g_have_hw;
static pthread_once_t g_hw_once = PTHREAD_ONCE_INIT;

static void hw_probe(void)
{
	__builtin_cpu_init();
	g_have_hw = __builtin_cpu_supports("sse4.2");
}

bool crc32c_hw_available(void)
{
	pthread_once(&g_hw_once, hw_probe);
	return g_have_hw;
}

uint32_t crc32c_update_own(uint32_t crc, const void *buf, size_t len)
{
	if (crc32c_hw_available())
		return crc32c_update_hw(crc, buf, len);
	return crc32c_update_sw(crc, buf, len);
}
#else
bool crc32c_hw_available(void)
{
	return false;
}

uint32_t crc32c_update_own(uint32_t crc, const void *buf, size_t len)
{
	return crc32c_update_sw(crc, buf, len);
}
#endif

#ifdef HAVE_ISAL
/*
 * isa-l's crc32_iscsi(buf, len, init) is the same raw register update as
 * ours: it neither inverts init on entry nor the result on return (its
 * crc32_iscsi("123456789", 9, 0xffffffff) is 0x1cf96d7c, whose complement
 * is the check value 0xe3069283), so results chain across calls unchanged
 * and crc32c_final() stays the caller's job. Its length is an int and its
 * buffer not const (it only reads it): feed it at most 1 GiB per call.
 */
uint32_t crc32c_update_isal(uint32_t crc, const void *buf, size_t len)
{
	unsigned char *p = (unsigned char *)(uintptr_t)buf;

	while (len) {
		size_t k = len < (1u << 30) ? len : (1u << 30);

		crc = crc32_iscsi(p, (int)k, crc);
		p += k;
		len -= k;
	}
	return crc;
}

uint32_t crc32c_update(uint32_t crc, const void *buf, size_t len)
{
	return crc32c_update_isal(crc, buf, len);
}

const char *crc32c_impl(void)
{
	return "isa-l";
}
#else
uint32_t crc32c_update(uint32_t crc, const void *buf, size_t len)
{
	return crc32c_update_own(crc, buf, len);
}

const char *crc32c_impl(void)
{
	return crc32c_hw_available() ? "sse4.2" : "table";
}
#endif
