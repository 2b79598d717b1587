/* SPDX-License-Identifier: MIT */
/*
 * The draw behind tests/nvmf-proxy --corrupt-c2h N, in one place so that
 * the proxy and tests/unit/test_tcp.c (which predicts which pieces the
 * proxy damages) cannot drift apart. A per-connection xorshift64 whose
 * seed depends only on the connection's slot in the proxy (slots are
 * taken lowest free first: the admin queue's connection is 0, the first
 * I/O queue's 1), so a run is reproducible.
 *
 * @rng is the connection's state, 0 before its first draw. Call once per
 * C2HData PDU (piece) that carries data on an I/O queue; the piece is
 * damaged when the result % N == 0. Pure, any thread.
 */
#ifndef NVMF_PROXY_DRAW_H
#define NVMF_PROXY_DRAW_H

#include <stdint.h>

static inline uint64_t nvmf_proxy_draw(uint64_t *rng, int slot)
{
	if (!*rng)
		*rng = 0x9e3779b97f4a7c15ull ^ (uint64_t)(slot + 1) * 0x100000001b3ull;
	*rng ^= *rng << 13;
	*rng ^= *rng >> 7;
	*rng ^= *rng << 17;
	return *rng;
}

#endif
