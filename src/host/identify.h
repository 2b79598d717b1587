/* SPDX-License-Identifier: MIT */
/*
 * Checking what a controller says about itself before anything is sized,
 * shifted or looped by it. Identify data comes off the wire: a hostile or
 * broken target can put any value in any field, so every field that
 * decides a buffer size, a shift count or a loop bound is validated here,
 * in pure functions (no I/O), table-tested and fuzzed
 * (tests/unit/test_hostile.c, tests/fuzz/fuzz_identify.c).
 *
 * Each function returns 0 (usable), or a negative errno with a one-line
 * cause in @err naming the field and its value. A refused namespace is
 * left out of the namespace list; a refused controller is not connected.
 *
 * Thread context: any; no state.
 */
#ifndef NVMF_IDENTIFY_H
#define NVMF_IDENTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host/nvmf.h"

/* More active namespaces than this are not served (the rest are logged). */
#define NVMF_MAX_NS		4096
/* In-capsule data the host uses at most, whatever IOCCSZ claims. */
#define NVMF_ICD_CAP		(1024u * 1024u)
/* Transfer size cap when MDTS says "no limit" or more than this. */
#define NVMF_MAX_XFER_CAP	(1024u * 1024u)
/* Largest logical block the host accepts: LBADS 9 (512 B) to 16 (64 KiB). */
#define NVMF_LBADS_MIN		9
#define NVMF_LBADS_MAX		16

/* Limits derived from Identify Controller and CAP. */
struct nvmf_ctrl_limits {
	uint32_t max_xfer;	/* bytes per command, from MDTS, capped */
	uint32_t io_icd_max;	/* in-capsule data bytes on I/O queues, capped */
	uint16_t io_depth;	/* commands per I/O queue */
	uint32_t nn;		/* highest namespace ID (NN), 0 if not reported */
};

/*
 * Identify Controller @id and the CAP property @cap, for an association
 * that asked for I/O queues of @queue_size entries (0: the default 128).
 */
int nvmf_id_ctrl_check(const struct nvme_id_ctrl *id, uint64_t cap, int queue_size,
		       struct nvmf_ctrl_limits *out, char *err, size_t errlen);

/*
 * Identify Namespace @id for @nsid into @out (geometry; the descriptors
 * are read separately). Returns 1 for an inactive namespace (NSZE 0), 0
 * for a usable one, -EPROTO for one whose format cannot be trusted
 * (NLBAF or FLBAS out of range, LBADS outside 9..16, a size in bytes that
 * does not fit 64 bits).
 */
int nvmf_id_ns_parse(uint32_t nsid, const struct nvme_id_ns *id, struct nvmf_ns *out, char *err,
		     size_t errlen);

/*
 * One page of the Active Namespace ID list (Identify CNS 2), requested
 * for IDs above @after. IDs must be strictly increasing, above @after,
 * not 0xFFFFFFFF and, when @nn is non-zero, at most @nn; the list ends at
 * the first 0 or after 1024 entries. Writes the IDs to @ids (room for
 * 1024) and their count to *@count; *@more is true when the page was full
 * (the next page starts after the last ID). -EPROTO on a broken list.
 */
int nvmf_ns_list_parse(const uint32_t list[1024], uint32_t after, uint32_t nn, uint32_t ids[1024],
		       int *count, bool *more, char *err, size_t errlen);

/*
 * Namespace Identification Descriptors (Identify CNS 3) into @ns's EUI-64,
 * NGUID, UUID and CSI. Bounded by the 4 KiB page; unknown types skipped.
 */
void nvmf_ns_descs_parse(const uint8_t buf[4096], struct nvmf_ns *ns);

/*
 * Is @b the same namespace as @a (same ID, identifiers, size, block and
 * metadata size)? A namespace that changed any of them while the host was
 * away must not be served as the old disk.
 */
bool nvmf_ns_same(const struct nvmf_ns *a, const struct nvmf_ns *b);

/*
 * Does namespace @have (through another path) identify as @want? Every
 * identifier must agree (NGUID, EUI-64, UUID), and @want must have at
 * least one: else @why (may be NULL) names the difference in one line.
 */
bool nvmf_ns_same_identity(const struct nvmf_ns *want, const struct nvmf_ns *have, char *why,
			   size_t len);

/*
 * A fixed-width, space-padded text field (Identify MN/SN/FR, discovery log
 * addresses) as a trimmed C string in @dst, cut to fit.
 */
void nvmf_id_field(char *dst, size_t dstlen, const char *src, size_t srclen);

/* Room for the longest WWID: "nvme." VID(4) "-" SN(40) "-" MN(80) "-" NSID(8). */
#define NVMF_WWID_MAX	(5 + 4 + 1 + 40 + 1 + 80 + 1 + 8 + 1)

/*
 * The namespace's world wide identifier as the Linux host shows it in
 * /sys/block/nvmeXnY/wwid, which udev turns into /dev/disk/by-id/nvme-WWID:
 * "uuid.<UUID>" when the UUID is set, else "eui.<NGUID hex>", else
 * "eui.<EUI-64 hex>", else "nvme.<VID>-<SN hex>-<MN hex>-<NSID>" with the
 * serial and model cut of trailing spaces and NULs. So one namespace has
 * one name whichever host serves it. @out needs NVMF_WWID_MAX bytes.
 */
void nvmf_ns_wwid(const struct nvme_id_ctrl *id, const struct nvmf_ns *ns,
		  char out[NVMF_WWID_MAX]);

#endif
