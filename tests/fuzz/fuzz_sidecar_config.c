/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the sidecar's config.json reader
 * (src/daemon/sidecar_config.c): sc_config_parse on any bytes, with and
 * without SC_CONFIG_DISCOVERY.
 *
 * Every call must stay inside its input (copied to an exact-size heap
 * block, so AddressSanitizer sees an overread), return one of its
 * documented codes, leave a one-line message naming the file on failure
 * and nothing allocated, and on success give 1..SC_CONFIG_CTRLS_MAX
 * controllers whose members hold what the reader promises (tcp or rdma,
 * a port number, integers in range or SC_UNSET, no duplicates). Any
 * disagreement abort()s with a description.
 *
 * Built two ways, like fuzz_ctl_proto.c:
 *  - `make check` links it with tests/fuzz/fuzz_main.c and
 *    fuzz_sidecar_config_seeds.c: the seeds, then generated inputs (JSON
 *    tokens spliced into valid configs).
 *  - libFuzzer, with clang:
 *      clang -g -O1 -fsanitize=fuzzer,address,undefined -I src \
 *          $(pkg-config --cflags json-c) tests/fuzz/fuzz_sidecar_config.c \
 *          src/daemon/sidecar_config.c $(pkg-config --libs json-c) -o fuzz_sidecar_config
 *      ./fuzz_sidecar_config -max_len=20000 /tmp/sc-corpus
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/sidecar_config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_int(int v, int min, int max, const char *what)
{
	FZ_ASSERT(v == SC_UNSET || (v >= min && v <= max), "%s %d outside %d..%d", what, v, min,
		  max);
}

static void check_ctrls(const struct sc_config *cfg, unsigned int flags)
{
	FZ_ASSERT(cfg->nr_ctrls >= 1 && cfg->nr_ctrls <= SC_CONFIG_CTRLS_MAX, "%d controllers",
		  cfg->nr_ctrls);
	FZ_ASSERT(cfg->root != NULL, "no JSON kept for the strings");
	for (int i = 0; i < cfg->nr_ctrls; i++) {
		const struct sc_ctrl_cfg *c = &cfg->ctrls[i];
		unsigned long port;
		char *end;

		FZ_ASSERT(c->host >= 0 && c->host < cfg->nr_hosts, "host %d of %d", c->host,
			  cfg->nr_hosts);
		FZ_ASSERT(c->subnqn && *c->subnqn && strlen(c->subnqn) <= 223, "subnqn");
		FZ_ASSERT(c->discovery == !strcmp(c->subnqn, "nqn.2014-08.org.nvmexpress.discovery"),
			  "discovery mark");
		FZ_ASSERT(!c->discovery || (flags & SC_CONFIG_DISCOVERY),
			  "a discovery entry without SC_CONFIG_DISCOVERY");
		FZ_ASSERT(c->transport && (!strcmp(c->transport, "tcp") ||
					   !strcmp(c->transport, "rdma")), "transport");
		FZ_ASSERT(c->traddr && *c->traddr, "traddr");
		FZ_ASSERT(c->trsvcid && *c->trsvcid, "trsvcid");
		port = strtoul(c->trsvcid, &end, 10);
		FZ_ASSERT(!*end && port >= 1 && port <= 65535, "trsvcid '%s'", c->trsvcid);
		FZ_ASSERT(!c->hostid || strlen(c->hostid) == 36, "hostid '%s'", c->hostid);
		check_int(c->nr_io_queues, 0, 128, "nr_io_queues");
		check_int(c->nr_poll_queues, 0, 128, "nr_poll_queues");
		FZ_ASSERT(c->nr_io_queues != 0 || (c->nr_poll_queues != SC_UNSET &&
						   c->nr_poll_queues > 0), "no I/O queue");
		check_int(c->queue_size, 2, 1024, "queue_size");
		check_int(c->keep_alive_tmo, 0, 3600, "keep_alive_tmo");
		check_int(c->reconnect_delay, 1, 3600, "reconnect_delay");
		check_int(c->ctrl_loss_tmo, -1, 86400 * 365, "ctrl_loss_tmo");
		check_int(c->fast_io_fail_tmo, -1, 86400, "fast_io_fail_tmo");
		for (int j = 0; j < i; j++) {
			const struct sc_ctrl_cfg *o = &cfg->ctrls[j];

			FZ_ASSERT(strcmp(o->subnqn, c->subnqn) || strcmp(o->transport, c->transport) ||
				  strcmp(o->traddr, c->traddr) || strcmp(o->trsvcid, c->trsvcid),
				  "controllers %d and %d are the same", j, i);
		}
	}
}

/* One parse of @buf with @flags, and the invariants of its result. */
static void parse_once(const char *buf, size_t size, unsigned int flags)
{
	struct sc_config cfg;
	char err[300];
	int rc;

	memset(err, 0, sizeof(err));
	rc = sc_config_parse_flags(buf, size, "f.json", flags, &cfg, err, sizeof(err));
	if (rc == 0) {
		check_ctrls(&cfg, flags);
		sc_config_free(&cfg);
		FZ_ASSERT(!cfg.ctrls && !cfg.root && !cfg.nr_ctrls, "not cleared by sc_config_free");
	} else {
		FZ_ASSERT(rc == -EBADMSG || rc == -EINVAL || rc == -E2BIG || rc == -EOPNOTSUPP ||
			  rc == -ENOMEM, "rc %d", rc);
		FZ_ASSERT(!strncmp(err, "f.json: ", 8), "message without the file: %s", err);
		FZ_ASSERT(!strchr(err, '\n'), "message of more than one line: %s", err);
		FZ_ASSERT(!cfg.ctrls && !cfg.root, "a failure left memory behind");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);

	FZ_ASSERT(buf != NULL, "out of memory");
	memcpy(buf, data, size);
	parse_once(buf, size, 0);			/* the sidecar's reading */
	parse_once(buf, size, SC_CONFIG_DISCOVERY);	/* connect-all's and discover's */
	free(buf);
	return 0;
}
