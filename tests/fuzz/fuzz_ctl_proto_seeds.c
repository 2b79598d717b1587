/* SPDX-License-Identifier: MIT */
/*
 * Seeds and generators of fuzz_ctl_proto for the standalone driver
 * (tests/fuzz/fuzz.h). An input is [mode byte][message]: see the top of
 * fuzz_ctl_proto.c. Mutations splice JSON tokens and byte-level damage
 * into valid requests and replies, so that each check in turn is what
 * fails (or none does).
 */
#include <stdint.h>
#include <string.h>

#include "daemon/ctl_proto.h"
#include "fuzz.h"

#define CTL_FZ_MAX (NVMF_CTL_REQUEST_MAX + 200)

const char fuzz_name[] = "fuzz_ctl_proto";
const char fuzz_corpus[] = "tests/fuzz/corpus-ctl";
const long fuzz_iterations = 200000;
const size_t fuzz_max_input = CTL_FZ_MAX;

static const struct {
	const char *name;
	uint8_t mode;
	const char *msg;
} seeds[] = {
	{ "req-info", 0, "{\"version\":1,\"op\":\"info\"}\n" },
	{ "req-disconnect", 0, "{\"version\":1,\"op\":\"disconnect\",\"force\":false}\n" },
	{ "req-disconnect-force", 0, "{\"version\":1,\"op\":\"disconnect\",\"force\":true}" },
	{ "req-disconnect-keep", 0, "{\"version\":1,\"op\":\"disconnect\",\"keep_disks\":true}\n" },
	{ "req-add-path", 0, "{\"version\":1,\"op\":\"add_path\",\"transport\":\"tcp\","
	  "\"traddr\":\"127.0.0.1\",\"trsvcid\":\"4421\",\"iopolicy\":\"round-robin\"}\n" },
	{ "req-remove-path", 0, "{\"version\":1,\"op\":\"remove_path\",\"path\":1}\n" },
	{ "req-v2", 0, "{\"version\":2,\"op\":\"info\"}\n" },
	{ "req-text", 0, "disconnect force\n" },
	{ "rep-pid", 1, "{\"version\":1,\"ok\":true,\"pid\":4242}\n" },
	{ "rep-error", 1, "{\"version\":1,\"ok\":false,\"error\":\"/dev/ublkb0 is mounted\"}\n" },
	{ "rep-info", 1, "{\"version\":1,\"ok\":true,\"controller\":{\"name\":\"nvme1000\","
	  "\"subnqn\":\"nqn.2024-01.io.nvmfuse:x\",\"cntlid\":42,\"state\":\"live\","
	  "\"device\":null,\"namespaces\":[{\"nsid\":1,\"lba_size\":512,\"size\":67108864,"
	  "\"device\":\"/dev/ng1000n1\",\"block_device\":\"/dev/ublkb0\"}],"
	  "\"stats\":{\"reconnects\":0,\"timeouts\":0}}}\n" },
	{ "rep-v2", 1, "{\"version\":2,\"ok\":true}\n" },
	{ "rep-text", 1, "ok 1234\n" },
};

const int fuzz_nseeds = sizeof(seeds) / sizeof(seeds[0]);

size_t fuzz_seed(int i, uint8_t *s, const char **name)
{
	size_t n = strlen(seeds[i].msg);

	*name = seeds[i].name;
	s[0] = seeds[i].mode;
	memcpy(s + 1, seeds[i].msg, n);
	return n + 1;
}

static const char *const tokens[] = {
	"{", "}", "[", "]", "\"", ",", ":", " ", "\n", "\\", "\\u0000", "\\ud800", "\\\"",
	"0", "1", "2", "-1", "1.0", "1e400", "99999999999999999999", "true", "false", "null",
	"\"version\"", "\"op\"", "\"force\"", "\"keep_disks\"", "\"ok\"", "\"error\"", "\"pid\"", "\"info\"",
	"\"disconnect\"", "\"controller\"", "\"add_path\"", "\"remove_path\"", "\"path\"",
	"\"traddr\"", "\"trsvcid\"", "\"transport\"", "\"iopolicy\"", "\xff", "\xc3\xa9", "\xed\xa0\x80", "NaN", "'",
	"/*", "[[[[[[[[[[[[", "{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{",
};

/* fuzz_splice() within this target's input size. */
static size_t splice(uint8_t *s, size_t size, size_t at, size_t len, const void *ins, size_t n)
{
	return fuzz_splice(s, size, at, len, ins, n, CTL_FZ_MAX);
}

size_t fuzz_generate(uint8_t *s, const uint8_t *seed, size_t n)
{
	int rounds = 1 + (int)fuzz_below(4);

	memcpy(s, seed, n);
	for (int r = 0; r < rounds; r++) {
		size_t at = 1 + fuzz_below((uint32_t)(n > 1 ? n : 1));
		const char *t = tokens[fuzz_below(sizeof(tokens) / sizeof(tokens[0]))];

		switch (fuzz_below(8)) {
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
			n = 1 + fuzz_below((uint32_t)n);
			break;
		case 4:		/* flip a bit */
			if (n > 1)
				s[at < n ? at : n - 1] ^= (uint8_t)(1u << fuzz_below(8));
			break;
		case 5:		/* request <-> reply, error buffer size */
			s[0] = (uint8_t)fuzz_rnd();
			break;
		case 6: {	/* pad with spaces around the size limits */
			static uint8_t pad[CTL_FZ_MAX];
			size_t want = NVMF_CTL_REQUEST_MAX - 2 + fuzz_below(8);

			memset(pad, ' ', sizeof(pad));
			if (want > n)
				n = splice(s, n, n, 0, pad, want - n);
			break;
		}
		default: {	/* duplicate a span */
			uint8_t copy[64];
			size_t len = fuzz_below(sizeof(copy));

			if (at + len > n)
				len = n - at;
			memcpy(copy, s + at, len);
			n = splice(s, n, 1 + fuzz_below((uint32_t)n), 0, copy, len);
			break;
		}
		}
	}
	return n;
}
