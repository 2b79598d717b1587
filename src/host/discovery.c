/* SPDX-License-Identifier: MIT */
/*
 * Discovery log page (LID 0x70, NVMe over Fabrics 1.1 section 5.3) with
 * the generation-counter consistency loop: read the header, read every
 * entry, read the header again; if GENCTR moved, start over.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "host/nvmf.h"

#define DISC_HDR_LEN	1024
#define DISC_ENTRY_LEN	1024
#define DISC_MAX_TRIES	10
#define DISC_MAX_RECS	1024
#define DISC_CHUNK	(64 * 1024)	/* bytes per Get Log Page */

static int read_log(struct nvmf_ctrl *c, uint64_t off, void *buf, uint32_t len)
{
	while (len) {
		uint32_t n = len > DISC_CHUNK ? DISC_CHUNK : len;
		int rc;

		if (c->max_xfer && n > c->max_xfer)
			n = c->max_xfer;
		rc = nvmf_get_log_page(c, NVME_LOG_LID_DISCOVER, 0, 0, off, buf, n, false);
		if (rc < 0)
			return rc;
		off += n;
		buf = (uint8_t *)buf + n;
		len -= n;
	}
	return 0;
}

int nvmf_discovery_log(struct nvmf_ctrl *c, struct nvmf_discovery_log **out, uint64_t *numrec)
{
	struct nvmf_discovery_log *log = NULL;
	int rc = -EAGAIN;

	for (int tries = 0; tries < DISC_MAX_TRIES && rc == -EAGAIN; tries++) {
		struct nvmf_discovery_log hdr;
		uint64_t genctr, n;

		free(log);
		log = NULL;
		rc = read_log(c, 0, &hdr, DISC_HDR_LEN);
		if (rc < 0)
			continue;	/* -EAGAIN: Discovery Restart status */
		genctr = le64toh(hdr.genctr);
		n = le64toh(hdr.numrec);
		if (le16toh(hdr.recfmt) != 0) {
			nvmf_ctrl_set_error(c, -EPROTO, "discovery log record format %u unsupported",
					    le16toh(hdr.recfmt));
			return -EPROTO;
		}
		if (n > DISC_MAX_RECS) {
			nvmf_ctrl_set_error(c, -E2BIG, "discovery log claims %llu records",
					    (unsigned long long)n);
			return -E2BIG;
		}
		log = calloc(1, DISC_HDR_LEN + n * DISC_ENTRY_LEN);
		if (!log)
			return -ENOMEM;
		memcpy(log, &hdr, DISC_HDR_LEN);
		if (n) {
			rc = read_log(c, DISC_HDR_LEN, log->entries, (uint32_t)(n * DISC_ENTRY_LEN));
			if (rc < 0)
				continue;
			rc = read_log(c, 0, &hdr, DISC_HDR_LEN);
			if (rc < 0)
				continue;
			if (le64toh(hdr.genctr) != genctr) {
				nvmf_debug("discovery log changed while reading (genctr %llu -> %llu)",
					   (unsigned long long)genctr,
					   (unsigned long long)le64toh(hdr.genctr));
				rc = -EAGAIN;
				continue;
			}
			if (le64toh(hdr.numrec) != n) {
				nvmf_ctrl_set_error(c, -EPROTO, "discovery log record count changed "
						    "without a generation change");
				rc = -EPROTO;
				break;
			}
		}
		*out = log;
		*numrec = n;
		return 0;
	}
	free(log);
	if (rc == -EAGAIN)
		nvmf_ctrl_set_error(c, -EAGAIN, "discovery log kept changing; gave up after %d tries",
				    DISC_MAX_TRIES);
	return rc;
}
