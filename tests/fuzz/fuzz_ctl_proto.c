/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the control protocol codec (src/daemon/ctl_proto.c):
 * nvmf_ctl_request_parse on what a client sends the daemon, and
 * nvmf_ctl_reply_parse on what a daemon sends back.
 *
 * Every call must stay inside its input (copied to an exact-size heap block,
 * so AddressSanitizer sees an overread), return one of its documented codes,
 * leave a one-line message on failure, and round-trip on success: what it
 * accepted, built again, parses to the same thing. Any disagreement
 * abort()s with a description.
 *
 * Input layout:
 *   byte 0  bit 0: 0 parse as a request, 1 as a reply;
 *           bit 1: a 12-byte error buffer (messages are cut, still
 *           terminated) instead of a 256-byte one
 *   rest    the message bytes
 *
 * Built two ways, like fuzz_tcp_pdu.c:
 *  - `make check` links it with tests/fuzz/fuzz_main.c and
 *    fuzz_ctl_proto_seeds.c: tests/fuzz/corpus-ctl, the seeds, then
 *    generated inputs (JSON tokens spliced into valid messages).
 *  - libFuzzer, with clang:
 *      clang -g -O1 -fsanitize=fuzzer,address,undefined -I src \
 *          $(pkg-config --cflags json-c) tests/fuzz/fuzz_ctl_proto.c \
 *          src/daemon/ctl_proto.c $(pkg-config --libs json-c) -o fuzz_ctl_proto
 *      ./fuzz_ctl_proto -max_len=5000 /tmp/ctl-corpus tests/fuzz/corpus-ctl
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "daemon/ctl_proto.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A failure's message: terminated inside the buffer, not empty, one line. */
static void check_message(const char *err, size_t errlen)
{
	FZ_ASSERT(memchr(err, 0, errlen) != NULL, "message not terminated");
	FZ_ASSERT(err[0] != 0, "empty message");
	FZ_ASSERT(!strchr(err, '\n'), "message of more than one line: %s", err);
}

static void fuzz_request(const char *msg, size_t len, char *err, size_t errlen)
{
	struct nvmf_ctl_request r, back;
	char *line;
	int rc;

	memset(err, 0, errlen);
	rc = nvmf_ctl_request_parse(msg, len, &r, err, errlen);
	FZ_ASSERT(rc == 0 || rc == -EBADMSG || rc == -EPROTO || rc == -EOPNOTSUPP ||
		  rc == -EINVAL || rc == -ENOMEM, "request: rc %d", rc);
	FZ_ASSERT(rc < 0 || len > 0, "an empty request accepted");
	if (rc < 0) {
		check_message(err, errlen);
		return;
	}
	FZ_ASSERT(len <= NVMF_CTL_REQUEST_MAX, "accepted %zu bytes", len);
	FZ_ASSERT(nvmf_ctl_op_str(r.op) != NULL, "accepted op %d", (int)r.op);
	FZ_ASSERT(r.op == NVMF_CTL_DISCONNECT || !r.force, "force on op %d", (int)r.op);
	FZ_ASSERT(r.op == NVMF_CTL_DISCONNECT || !r.keep_disks, "keep_disks on op %d", (int)r.op);
	FZ_ASSERT(!(r.force && r.keep_disks), "force and keep_disks accepted together");
	FZ_ASSERT(nvmf_ctl_request_build(&r, &line) == 0, "cannot build what was accepted");
	FZ_ASSERT(nvmf_ctl_request_parse(line, strlen(line), &back, err, errlen) == 0,
		  "its own request refused: %s", line);
	FZ_ASSERT(back.op == r.op && back.force == r.force && back.keep_disks == r.keep_disks,
		  "round trip changed %s", line);
	free(line);
}

static void fuzz_reply(const char *msg, size_t len, char *err, size_t errlen)
{
	struct json_object *o, *again, *v;
	char *line;
	int rc;

	memset(err, 0, errlen);
	rc = nvmf_ctl_reply_parse(msg, len, &o, err, errlen);
	FZ_ASSERT(rc == 0 || rc == -EREMOTEIO || rc == -EPROTO || rc == -EBADMSG || rc == -ENOMEM,
		  "reply: rc %d", rc);
	if (rc < 0) {
		FZ_ASSERT(o == NULL, "an object with rc %d", rc);
		check_message(err, errlen);
		return;
	}
	FZ_ASSERT(json_object_object_get_ex(o, "version", &v) &&
		  json_object_get_int64(v) == NVMF_CTL_VERSION, "accepted without version 1");
	FZ_ASSERT(json_object_object_get_ex(o, "ok", &v) && json_object_get_boolean(v),
		  "accepted without ok:true");
	FZ_ASSERT(nvmf_ctl_reply_build(o, &line) == 0, "cannot build what was accepted");
	FZ_ASSERT(nvmf_ctl_reply_parse(line, strlen(line), &again, err, errlen) == 0,
		  "its own reply refused: %s", line);
	json_object_put(again);
	free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err_big[256], err_small[12];
	bool small;
	char *msg;

	if (size < 1)
		return 0;
	small = data[0] & 2;
	msg = malloc(size - 1 ? size - 1 : 1);	/* exact size: overreads are seen */
	if (!msg)
		return 0;
	memcpy(msg, data + 1, size - 1);
	if (data[0] & 1)
		fuzz_reply(msg, size - 1, small ? err_small : err_big,
			   small ? sizeof(err_small) : sizeof(err_big));
	else
		fuzz_request(msg, size - 1, small ? err_small : err_big,
			     small ? sizeof(err_small) : sizeof(err_big));
	free(msg);
	return 0;
}
