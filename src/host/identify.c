/* SPDX-License-Identifier: MIT */
/*
 * Identify data checks (see identify.h). Field references are to the NVMe
 * Base Specification 2.0: Identify Controller (figure 275), Identify
 * Namespace (NVM Command Set 1.0, figure 97), Active Namespace ID list
 * (5.17.2.2), Namespace Identification Descriptors (5.17.2.3).
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "host/identify.h"

#define DEFAULT_IO_DEPTH	127	/* Connect SQSIZE 127: 128 entries */
#define MAX_IO_DEPTH		1024

int nvmf_id_ctrl_check(const struct nvme_id_ctrl *id, uint64_t cap, int queue_size,
		       struct nvmf_ctrl_limits *out, char *err, size_t errlen)
{
	uint32_t ioccsz = le32toh(id->ioccsz), maxcmd = le16toh(id->maxcmd);
	uint32_t q = queue_size > 1 ? (uint32_t)queue_size - 1 : DEFAULT_IO_DEPTH;
	uint32_t mqes = (uint32_t)NVME_CAP_MQES(cap);

	memset(out, 0, sizeof(*out));
	/*
	 * MDTS is a power of two in units of the minimum page size (CAP.MPSMIN
	 * is 0, 4 KiB, or the controller was refused before). Anything from
	 * 2^9 pages (2 MiB) up is above the cap, which also keeps the shift
	 * far from the width of the type.
	 */
	if (id->mdts == 0 || id->mdts >= 9)
		out->max_xfer = NVMF_MAX_XFER_CAP;
	else
		out->max_xfer = 4096u << id->mdts;
	if (out->max_xfer > NVMF_MAX_XFER_CAP)
		out->max_xfer = NVMF_MAX_XFER_CAP;

	/* IOCCSZ counts 16-byte units of the whole capsule, SQE included. */
	if (ioccsz >= 4 && le16toh(id->icdoff) == 0) {
		uint64_t icd = (uint64_t)ioccsz * 16 - 64;

		out->io_icd_max = icd > NVMF_ICD_CAP ? NVMF_ICD_CAP : (uint32_t)icd;
	}

	if (q > mqes)
		q = mqes;
	if (maxcmd && q > maxcmd)
		q = maxcmd;
	if (q > MAX_IO_DEPTH)
		q = MAX_IO_DEPTH;
	if (q == 0) {
		snprintf(err, errlen, "controller allows no queue of more than one entry "
			 "(CAP.MQES %u, MAXCMD %u)", mqes, maxcmd);
		return -EPROTO;
	}
	out->io_depth = (uint16_t)q;
	out->nn = le32toh(id->nn);
	return 0;
}

int nvmf_id_ns_parse(uint32_t nsid, const struct nvme_id_ns *id, struct nvmf_ns *out, char *err,
		     size_t errlen)
{
	uint64_t nsze = le64toh(id->nsze);
	unsigned int fmt, nlbaf = id->nlbaf, ds;

	memset(out, 0, sizeof(*out));
	if (nsze == 0)
		return 1;	/* allocated but inactive */
	/* NLBAF is 0's based: 0..63 formats (64 with the extended range). */
	if (nlbaf >= sizeof(id->lbaf) / sizeof(id->lbaf[0])) {
		snprintf(err, errlen, "namespace %u: NLBAF %u is beyond the 64 LBA formats",
			 nsid, nlbaf);
		return -EPROTO;
	}
	fmt = id->flbas & 0xf;
	if (nlbaf >= 16)
		fmt |= (unsigned int)(id->flbas & 0x60) >> 1;
	if (fmt > nlbaf) {
		snprintf(err, errlen, "namespace %u: FLBAS selects LBA format %u, beyond NLBAF %u",
			 nsid, fmt, nlbaf);
		return -EPROTO;
	}
	ds = id->lbaf[fmt].ds;
	if (ds < NVMF_LBADS_MIN || ds > NVMF_LBADS_MAX) {
		snprintf(err, errlen, "namespace %u: LBA data size 2^%u bytes (LBADS %u) is outside "
			 "512 B..64 KiB", nsid, ds, ds);
		return -EPROTO;
	}
	if (nsze > (UINT64_MAX >> ds)) {
		snprintf(err, errlen, "namespace %u: NSZE %llu blocks of %u bytes overflows 64 bits",
			 nsid, (unsigned long long)nsze, 1u << ds);
		return -EPROTO;
	}
	out->nsid = nsid;
	out->nsze = nsze;
	out->lba_size = 1u << ds;
	out->ms = le16toh(id->lbaf[fmt].ms);
	out->id = *id;
	return 0;
}

int nvmf_ns_list_parse(const uint32_t list[1024], uint32_t after, uint32_t nn, uint32_t ids[1024],
		       int *count, bool *more, char *err, size_t errlen)
{
	uint32_t prev = after;
	int i;

	for (i = 0; i < 1024; i++) {
		uint32_t nsid = le32toh(list[i]);

		if (nsid == 0)
			break;
		if (nsid <= prev || nsid == 0xffffffffu) {
			snprintf(err, errlen, "active namespace list: entry %d is namespace %u after "
				 "%u (IDs must increase)", i, nsid, prev);
			return -EPROTO;
		}
		if (nn && nsid > nn) {
			snprintf(err, errlen, "active namespace list: namespace %u is above the "
				 "controller's NN %u", nsid, nn);
			return -EPROTO;
		}
		ids[i] = nsid;
		prev = nsid;
	}
	*count = i;
	*more = i == 1024;
	return 0;
}

void nvmf_ns_descs_parse(const uint8_t buf[4096], struct nvmf_ns *ns)
{
	size_t off = 0;

	while (off + 4 <= 4096) {
		uint8_t type = buf[off], len = buf[off + 1];
		const uint8_t *v = buf + off + 4;

		if (!type || off + 4 + len > 4096)
			break;
		if (type == 1 && len == 8)
			memcpy(ns->eui64, v, 8);
		else if (type == 2 && len == 16)
			memcpy(ns->nguid, v, 16);
		else if (type == 3 && len == 16)
			memcpy(ns->uuid, v, 16);
		else if (type == 4 && len == 1)
			ns->csi = v[0];
		off += 4 + (size_t)len;
	}
}

bool nvmf_ns_same(const struct nvmf_ns *a, const struct nvmf_ns *b)
{
	return a->nsid == b->nsid && a->nsze == b->nsze && a->lba_size == b->lba_size &&
	       a->ms == b->ms && a->csi == b->csi && !memcmp(a->eui64, b->eui64, 8) &&
	       !memcmp(a->nguid, b->nguid, 16) && !memcmp(a->uuid, b->uuid, 16);
}

static bool ids_zero(const uint8_t *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i])
			return false;
	return true;
}

bool nvmf_ns_same_identity(const struct nvmf_ns *want, const struct nvmf_ns *have, char *why,
			   size_t len)
{
	const char *diff = NULL;

	if (ids_zero(want->nguid, 16) && ids_zero(want->eui64, 8) && ids_zero(want->uuid, 16)) {
		if (why)
			snprintf(why, len, "namespace %u has no NGUID, EUI-64 or UUID: the paths "
				 "cannot be told to reach the same namespace", want->nsid);
		return false;
	}
	if (memcmp(want->nguid, have->nguid, 16))
		diff = "NGUID";
	else if (memcmp(want->eui64, have->eui64, 8))
		diff = "EUI-64";
	else if (memcmp(want->uuid, have->uuid, 16))
		diff = "UUID";
	if (diff && why)
		snprintf(why, len, "namespace %u has another %s there", want->nsid, diff);
	return !diff;
}

void nvmf_id_field(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	size_t n = strnlen(src, srclen);

	while (n && (src[n - 1] == ' ' || src[n - 1] == 0))
		n--;
	if (n >= dstlen)
		n = dstlen - 1;
	memcpy(dst, src, n);
	dst[n] = 0;
}

static bool all_zero(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* @n bytes of @b as lower-case hex at @out (2n + 1 bytes). */
static char *hex_of(char *out, const void *b, size_t n)
{
	const uint8_t *p = b;

	for (size_t i = 0; i < n; i++)
		out += sprintf(out, "%02x", p[i]);
	return out;
}

/* Length of fixed-width field @s without its trailing spaces and NULs. */
static size_t trimmed_len(const char *s, size_t n)
{
	while (n && (s[n - 1] == ' ' || s[n - 1] == 0))
		n--;
	return n;
}

void nvmf_ns_wwid(const struct nvme_id_ctrl *id, const struct nvmf_ns *ns,
		  char out[NVMF_WWID_MAX])
{
	const uint8_t *u = ns->uuid;
	char *p = out;

	if (!all_zero(ns->uuid, sizeof(ns->uuid))) {
		sprintf(out, "uuid.%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
			"%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3], u[4], u[5], u[6],
			u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
		return;
	}
	if (!all_zero(ns->nguid, sizeof(ns->nguid))) {
		hex_of(out + sprintf(out, "eui."), ns->nguid, sizeof(ns->nguid));
		return;
	}
	if (!all_zero(ns->eui64, sizeof(ns->eui64))) {
		hex_of(out + sprintf(out, "eui."), ns->eui64, sizeof(ns->eui64));
		return;
	}
	p += sprintf(p, "nvme.%04x-", le16toh(id->vid));
	p = hex_of(p, id->sn, trimmed_len(id->sn, sizeof(id->sn)));
	*p++ = '-';
	p = hex_of(p, id->mn, trimmed_len(id->mn, sizeof(id->mn)));
	sprintf(p, "-%08x", ns->nsid);
}
