/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the ANA log page codec (src/host/ana.c): pages a hostile
 * controller sends, against limits it chose.
 *
 * Input layout:
 *   byte 0  NANAGRPID (1..255; 0 means 128)
 *   byte 1  ANAGRPMAX above NANAGRPID (added)
 *   byte 2  NN, the highest NSID (0: unknown)
 *   rest    the page, copied to an exact-size heap block so that
 *           AddressSanitizer sees any overread
 *
 * Each accepted page is checked against the rules independently: every
 * descriptor and NSID inside the input, group IDs in 1..ANAGRPMAX and
 * distinct, states one of the five, NSIDs valid, distinct and found by
 * nvmf_ana_log_find() in their group. A refusal must say why.
 *
 * Built two ways, like fuzz_tcp_pdu.c: with tests/fuzz/fuzz_main.c by
 * `make check`, or with libFuzzer:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I src \
 *       tests/fuzz/fuzz_ana.c src/host/ana.c ... -o fuzz_ana
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "host/ana.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const uint8_t *buf, size_t len, const struct nvmf_ana_caps *caps, uint32_t nn)
{
	struct nvmf_ana_log log;
	char err[256];
	size_t off = 16;
	uint64_t seen = 0;
	int rc;

	err[0] = 0;
	rc = nvmf_ana_log_parse(buf, len, caps, nn, &log, err, sizeof(err));
	if (rc) {
		FZ_ASSERT(rc == -EPROTO || rc == -ENOMEM, "rc %d", rc);
		FZ_ASSERT(err[0] && memchr(err, 0, sizeof(err)), "no message");
		FZ_ASSERT(!log.grps && !log.nsid_store && !log.ngrps, "refused but not empty");
		return;
	}
	FZ_ASSERT(len >= 16, "accepted %zu bytes", len);
	FZ_ASSERT(log.ngrps == (uint32_t)(buf[8] | buf[9] << 8), "ngrps");
	FZ_ASSERT(log.ngrps <= caps->nanagrpid, "ngrps %u > NANAGRPID", log.ngrps);
	for (uint32_t i = 0; i < log.ngrps; i++) {
		const struct nvmf_ana_group *g = &log.grps[i];
		uint32_t grpid, nnsids;

		FZ_ASSERT(off + 32 <= len, "descriptor %u beyond the input", i);
		memcpy(&grpid, buf + off, 4);
		memcpy(&nnsids, buf + off + 4, 4);
		FZ_ASSERT(g->grpid == le32toh(grpid) && g->nnsids == le32toh(nnsids), "fields");
		FZ_ASSERT(g->grpid >= 1 && g->grpid <= caps->anagrpmax, "grpid %u", g->grpid);
		FZ_ASSERT(nvmf_ana_state_usable(g->state) ? g->state != NVMF_ANA_NONE :
			  g->state == NVMF_ANA_INACCESSIBLE || g->state == NVMF_ANA_PERSISTENT_LOSS ||
			  g->state == NVMF_ANA_CHANGE, "state %d", g->state);
		off += 32;
		FZ_ASSERT((uint64_t)g->nnsids * 4 <= len - off, "NSIDs beyond the input");
		for (uint32_t k = 0; k < g->nnsids; k++) {
			uint32_t nsid = g->nsids[k];

			FZ_ASSERT(nsid && nsid != 0xffffffffu && (!nn || nsid <= nn), "nsid %u", nsid);
			FZ_ASSERT(nvmf_ana_log_find(&log, nsid) == g, "nsid %u found elsewhere", nsid);
		}
		for (uint32_t j = 0; j < i; j++)
			FZ_ASSERT(log.grps[j].grpid != g->grpid, "grpid %u twice", g->grpid);
		off += (size_t)g->nnsids * 4;
		seen += g->nnsids;
	}
	FZ_ASSERT(seen == log.total_nsids, "total %u, counted %llu", log.total_nsids,
		  (unsigned long long)seen);
	nvmf_ana_log_free(&log);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nvmf_ana_caps caps = { .reporting = true, .anacap = 0x1f, .anatt = 10 };
	uint8_t *buf;

	if (size < 3)
		return 0;
	caps.nanagrpid = data[0] ? data[0] : 128;
	caps.anagrpmax = caps.nanagrpid + data[1];
	buf = malloc(size - 3 ? size - 3 : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 3, size - 3);
	check(buf, size - 3, &caps, data[2]);
	free(buf);
	return 0;
}
