/* SPDX-License-Identifier: MIT */
/*
 * Seeds and generators of fuzz_sidecar_config for the standalone driver
 * (tests/fuzz/fuzz.h): valid configs of libnvme's schema, and mutations
 * that splice JSON tokens, member names and byte-level damage into them,
 * so that each check of the reader in turn is what fails (or none does).
 */
#include <stdint.h>
#include <string.h>

#include "fuzz.h"

#define SC_FZ_MAX 20000

const char fuzz_name[] = "fuzz_sidecar_config";
const char fuzz_corpus[] = "tests/fuzz/corpus-sidecar";	/* none checked in: the seeds */
const long fuzz_iterations = 100000;
const size_t fuzz_max_input = SC_FZ_MAX;

static const struct {
	const char *name;
	const char *text;
} seeds[] = {
	{ "one", "{\"hosts\":[{\"hostnqn\":\"nqn.2024-01.io.nvmfuse:pod\",\"subsystems\":[{\"nqn\":"
	  "\"nqn.2024-01.io.nvmfuse:a\",\"ports\":[{\"transport\":\"tcp\",\"traddr\":\"10.0.0.1\","
	  "\"trsvcid\":\"4420\"}]}]}]}\n" },
	{ "full", "{\"hosts\":[{\"hostnqn\":\"nqn.2024-01.io.nvmfuse:pod\",\"hostid\":"
	  "\"6f7c2a1e-4a3b-4b8c-9d0e-1f2a3b4c5d6e\",\"subsystems\":[{\"nqn\":\"nqn.x:a\","
	  "\"optional\":true,\"ports\":[{\"transport\":\"tcp\",\"traddr\":\"10.0.0.1\","
	  "\"nr_io_queues\":4,\"nr_poll_queues\":1,\"queue_size\":64,\"keep_alive_tmo\":5,"
	  "\"reconnect_delay\":2,"
	  "\"ctrl_loss_tmo\":-1,\"fast_io_fail_tmo\":5,\"hdr_digest\":true,\"data_digest\":false,"
	  "\"disable_sqflow\":true,\"persistent\":true,\"optional\":false},{\"transport\":\"rdma\","
	  "\"traddr\":\"10.0.0.2\"}]},{\"nqn\":\"nqn.x:b\",\"ports\":[{\"transport\":\"tcp\","
	  "\"traddr\":\"10.0.0.1\"}]}]},{\"subsystems\":[]}]}" },
	{ "array", "[{\"subsystems\":[{\"nqn\":\"nqn.x:a\",\"ports\":[{\"transport\":\"tcp\","
	  "\"traddr\":\"h\"}]}]}]" },
	{ "unsupported", "{\"hosts\":[{\"subsystems\":[{\"nqn\":\"nqn.x:a\",\"ports\":[{\"transport\":"
	  "\"tcp\",\"traddr\":\"h\",\"tls\":true}]}]}]}" },
};

const int fuzz_nseeds = sizeof(seeds) / sizeof(seeds[0]);

size_t fuzz_seed(int i, uint8_t *s, const char **name)
{
	size_t n = strlen(seeds[i].text);

	*name = seeds[i].name;
	memcpy(s, seeds[i].text, n);
	return n;
}

static const char *const tokens[] = {
	"{", "}", "[", "]", "\"", ",", ":", " ", "\n", "\\", "\\u0000", "\\ud800", "\\\"",
	"0", "1", "-1", "65535", "65536", "1.5", "1e400", "99999999999999999999",
	"-9223372036854775808", "true", "false", "null", "\"\"", "\"4420\"", "\"0\"", "\"tcp\"",
	"\"rdma\"", "\"fc\"", "\"hosts\"", "\"subsystems\"", "\"ports\"", "\"nqn\"", "\"transport\"",
	"\"traddr\"", "\"trsvcid\"", "\"hostnqn\"", "\"hostid\"", "\"optional\"", "\"nr_io_queues\"",
	"\"nr_poll_queues\"",
	"\"ctrl_loss_tmo\"", "\"tls\"", "\"dhchap_key\"", "\"nqn.2014-08.org.nvmexpress.discovery\"",
	"\xff", "\xc3\xa9", "\x01", "'", "[[[[[[[[[[",
	"{\"transport\":\"tcp\",\"traddr\":\"10.0.0.1\"}",
};

/* fuzz_splice() within this target's input size. */
static size_t splice(uint8_t *s, size_t size, size_t at, size_t len, const void *ins, size_t n)
{
	return fuzz_splice(s, size, at, len, ins, n, SC_FZ_MAX);
}

size_t fuzz_generate(uint8_t *s, const uint8_t *seed, size_t n)
{
	int rounds = 1 + (int)fuzz_below(4);

	memcpy(s, seed, n);
	for (int r = 0; r < rounds; r++) {
		size_t at = fuzz_below((uint32_t)(n ? n : 1));
		const char *t = tokens[fuzz_below(sizeof(tokens) / sizeof(tokens[0]))];

		switch (fuzz_below(6)) {
		case 0:		/* insert a token */
			n = splice(s, n, at, 0, t, strlen(t));
			break;
		case 1:		/* replace a few bytes with a token */
			n = splice(s, n, at, fuzz_below(8), t, strlen(t));
			break;
		case 2:		/* delete a few bytes */
			n = splice(s, n, at, 1 + fuzz_below(6), "", 0);
			break;
		case 3:		/* truncate */
			n = fuzz_below((uint32_t)n + 1);
			break;
		case 4:		/* flip a bit */
			if (n)
				s[at < n ? at : n - 1] ^= (uint8_t)(1u << fuzz_below(8));
			break;
		default: {	/* duplicate a span (more entries, duplicates) */
			uint8_t copy[256];
			size_t len = fuzz_below(sizeof(copy));

			if (at + len > n)
				len = n - at;
			memcpy(copy, s + at, len);
			n = splice(s, n, fuzz_below((uint32_t)n + 1), 0, copy, len);
			break;
		}
		}
	}
	return n;
}
