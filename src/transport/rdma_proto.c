/* SPDX-License-Identifier: MIT */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "transport/rdma_proto.h"

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

void rdma_cm_req_build(uint8_t out[RDMA_CM_PRIV_LEN], uint16_t qid, uint16_t hrqsize,
		       uint16_t hsqsize)
{
	memset(out, 0, RDMA_CM_PRIV_LEN);
	put16(out + 0, RDMA_CM_RECFMT);
	put16(out + 2, qid);
	put16(out + 4, hrqsize);
	put16(out + 6, hsqsize);
}

bool rdma_cm_rej_parse(const void *data, size_t len, uint16_t *sts)
{
	const uint8_t *p = data;

	if (!p || len < RDMA_CM_REJ_LEN || get16(p) != RDMA_CM_RECFMT)
		return false;
	*sts = get16(p + 2);
	return *sts != 0;	/* 0 is no NVMe status: a plain CM reject */
}

const char *rdma_cm_rej_str(uint16_t sts)
{
	static const char *const names[] = {
		[0x01] = "invalid private data length",
		[0x02] = "invalid record format",
		[0x03] = "invalid queue ID",
		[0x04] = "invalid host send queue size (HSQSIZE)",
		[0x05] = "invalid host receive queue size (HRQSIZE)",
		[0x06] = "controller out of resources",
		[0x07] = "invalid IRD",
		[0x08] = "invalid ORD",
	};

	if (sts < sizeof(names) / sizeof(names[0]) && names[sts])
		return names[sts];
	return "unknown NVMe/RDMA reject status";
}

int rdma_cm_acc_parse(const void *data, size_t len, uint16_t *crqsize)
{
	const uint8_t *p = data;

	*crqsize = 0;
	if (!p || len < 2)
		return 0;	/* nothing to check: some targets send none */
	if (get16(p) != RDMA_CM_RECFMT)
		return -EPROTO;
	if (len >= 4)
		*crqsize = get16(p + 2);
	return 0;
}

void rdma_sgl_keyed(struct nvmf_sgl *sgl, uint64_t addr, uint32_t len, uint32_t key,
		    bool invalidate)
{
	uint8_t *b = (uint8_t *)sgl;

	memset(sgl, 0, sizeof(*sgl));
	sgl->addr = htole64(addr);
	b[8] = (uint8_t)len;
	b[9] = (uint8_t)(len >> 8);
	b[10] = (uint8_t)(len >> 16);
	b[11] = (uint8_t)key;
	b[12] = (uint8_t)(key >> 8);
	b[13] = (uint8_t)(key >> 16);
	b[14] = (uint8_t)(key >> 24);
	b[15] = invalidate ? NVMF_SGL_ID_KEYED_INV : NVMF_SGL_ID_KEYED;
}

void rdma_sgl_icd(struct nvmf_sgl *sgl, uint32_t len)
{
	memset(sgl, 0, sizeof(*sgl));
	sgl->length = htole32(len);
	sgl->id = NVMF_SGL_ID_ICD;
}

/* ---------------------------------------------------------- buffer pool map */

int rdma_pool_map_init(struct rdma_pool_map *m, uint32_t npages)
{
	memset(m, 0, sizeof(*m));
	m->bits = calloc((npages + 63) / 64, sizeof(uint64_t));
	if (!m->bits)
		return -ENOMEM;
	m->npages = npages;
	return 0;
}

void rdma_pool_map_fini(struct rdma_pool_map *m)
{
	free(m->bits);
	m->bits = NULL;
}

static bool page_used(const struct rdma_pool_map *m, uint32_t i)
{
	return m->bits[i / 64] >> (i % 64) & 1;
}

static void mark(struct rdma_pool_map *m, uint32_t first, uint32_t n, bool used)
{
	for (uint32_t i = first; i < first + n; i++) {
		if (used)
			m->bits[i / 64] |= 1ull << (i % 64);
		else
			m->bits[i / 64] &= ~(1ull << (i % 64));
	}
}

/* First fit in [from, to): the first page of a free run of @n, or -1. */
static int64_t find_run(const struct rdma_pool_map *m, uint32_t from, uint32_t to, uint32_t n)
{
	uint32_t run = 0;

	for (uint32_t i = from; i < to; i++) {
		if (i % 64 == 0 && run == 0 && m->bits[i / 64] == ~0ull && i + 64 <= to) {
			i += 63;	/* a full word: skip it */
			continue;
		}
		if (page_used(m, i)) {
			run = 0;
			continue;
		}
		if (++run == n)
			return (int64_t)(i + 1 - n);
	}
	return -1;
}

int64_t rdma_pool_alloc(struct rdma_pool_map *m, uint32_t n)
{
	int64_t first;

	if (n == 0 || n > m->npages)
		return -E2BIG;
	if (m->npages - m->used < n)
		return -ENOSPC;
	first = find_run(m, m->hint, m->npages, n);
	if (first < 0)
		first = find_run(m, 0, m->hint + n - 1 < m->npages ? m->hint + n - 1 : m->npages, n);
	if (first < 0)
		return -ENOSPC;
	mark(m, (uint32_t)first, n, true);
	m->used += n;
	m->hint = (uint32_t)first + n;
	if (m->hint >= m->npages)
		m->hint = 0;
	return first;
}

void rdma_pool_free(struct rdma_pool_map *m, uint32_t first, uint32_t n)
{
	mark(m, first, n, false);
	m->used -= n;
}
