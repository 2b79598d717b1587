/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the Identify checks (src/host/identify.c): the pages a
 * hostile controller answers Identify with, before any field sizes,
 * shifts or loops anything.
 *
 * Input layout (byte 0 picks the page; missing bytes are zero):
 *   0  Identify Controller: bytes 1-8 CAP (LE), 9-10 the queue size asked
 *      for (LE), then the 4 KiB page
 *   1  Identify Namespace: bytes 1-4 the NSID (LE), then the page
 *   2  Active Namespace ID list: bytes 1-4 "after", 5-8 NN (LE), then
 *      the list
 *   3  Namespace Identification Descriptors: bytes 1-2 a field width for
 *      nvmf_id_field(), then the page, which also serves as Identify
 *      Controller for the namespace's WWID
 * Each page is copied to an exact 4 KiB heap block, so AddressSanitizer
 * sees any read past it.
 *
 * Every accepted page is checked against the rules independently (the
 * limits are within their caps, powers of two where they are shifted, the
 * list strictly increasing and within NN, the WWID one of the three forms
 * in printable characters); a refusal must be -EPROTO with a message.
 *
 * Built two ways, like fuzz_tcp_pdu.c: with tests/fuzz/fuzz_main.c by
 * `make check`, or with libFuzzer:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I src \
 *       $(pkg-config --cflags libnvme) tests/fuzz/fuzz_identify.c \
 *       src/host/identify.c -o fuzz_identify
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "host/identify.h"
#include "fuzz.h"

#define PAGE 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t le_at(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static bool pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static void refused(int rc, const char *err)
{
	FZ_ASSERT(rc == -EPROTO, "rc %d", rc);
	FZ_ASSERT(err[0] && memchr(err, 0, 256), "refused without a message");
}

static void check_ctrl(const struct nvme_id_ctrl *id, uint64_t cap, int qs)
{
	struct nvmf_ctrl_limits l;
	uint32_t mqes = (uint32_t)(cap & 0xffff), maxcmd = le16toh(id->maxcmd);
	uint32_t ioccsz = le32toh(id->ioccsz);
	char err[256] = "";
	int rc;

	rc = nvmf_id_ctrl_check(id, cap, qs, &l, err, sizeof(err));
	if (rc) {
		refused(rc, err);
		return;
	}
	FZ_ASSERT(pow2(l.max_xfer) && l.max_xfer >= 8192 && l.max_xfer <= NVMF_MAX_XFER_CAP,
		  "max_xfer %u from MDTS %u", l.max_xfer, id->mdts);
	if (id->mdts && id->mdts < 8)
		FZ_ASSERT(l.max_xfer == 4096u << id->mdts, "MDTS %u: max_xfer %u", id->mdts,
			  l.max_xfer);
	FZ_ASSERT(l.io_icd_max <= NVMF_ICD_CAP && l.io_icd_max % 16 == 0, "icd %u", l.io_icd_max);
	if (l.io_icd_max)
		FZ_ASSERT(ioccsz >= 4 && !id->icdoff, "icd %u with IOCCSZ %u ICDOFF %u",
			  l.io_icd_max, ioccsz, le16toh(id->icdoff));
	FZ_ASSERT(l.io_depth >= 1 && l.io_depth <= 1024, "depth %u", l.io_depth);
	FZ_ASSERT(l.io_depth <= mqes, "depth %u above MQES %u", l.io_depth, mqes);
	FZ_ASSERT(!maxcmd || l.io_depth <= maxcmd, "depth %u above MAXCMD %u", l.io_depth, maxcmd);
	FZ_ASSERT(l.io_depth <= (qs > 1 ? qs - 1 : 127), "depth %u for queue size %d", l.io_depth,
		  qs);
	FZ_ASSERT(l.nn == le32toh(id->nn), "nn");
}

static void check_ns(uint32_t nsid, const struct nvme_id_ns *id)
{
	uint64_t nsze = le64toh(id->nsze);
	unsigned int fmt = id->flbas & 0xf;
	struct nvmf_ns ns;
	char err[256] = "";
	int rc;

	rc = nvmf_id_ns_parse(nsid, id, &ns, err, sizeof(err));
	FZ_ASSERT((rc == 1) == (nsze == 0), "rc %d for NSZE %llu", rc, (unsigned long long)nsze);
	if (rc == 1)
		return;
	if (rc) {
		refused(rc, err);
		return;
	}
	if (id->nlbaf >= 16)
		fmt |= (unsigned int)((id->flbas >> 5) & 3) << 4;
	FZ_ASSERT(id->nlbaf < 64 && fmt <= id->nlbaf, "format %u of NLBAF %u", fmt, id->nlbaf);
	FZ_ASSERT(ns.nsid == nsid && ns.nsze == nsze, "identity");
	FZ_ASSERT(pow2(ns.lba_size) && ns.lba_size >= 512 && ns.lba_size <= 65536, "lba %u",
		  ns.lba_size);
	FZ_ASSERT(ns.lba_size == 1u << id->lbaf[fmt].ds, "lba %u, LBADS %u", ns.lba_size,
		  id->lbaf[fmt].ds);
	FZ_ASSERT(nsze <= UINT64_MAX / ns.lba_size, "bytes overflow");
	FZ_ASSERT(ns.ms == le16toh(id->lbaf[fmt].ms), "ms");
	FZ_ASSERT(!memcmp(&ns.id, id, sizeof(*id)), "page not kept");
}

static void check_list(const uint32_t *list, uint32_t after, uint32_t nn)
{
	uint32_t *ids = malloc(PAGE);
	uint32_t prev = after;
	bool more = false, ok = true;
	char err[256] = "";
	int count = -1, rc, i;

	if (!ids)
		return;
	/* The rule, walked here on its own: */
	for (i = 0; i < 1024 && le32toh(list[i]); i++) {
		uint32_t v = le32toh(list[i]);

		if (v <= prev || v == 0xffffffffu || (nn && v > nn))
			ok = false;
		prev = v;
	}
	rc = nvmf_ns_list_parse(list, after, nn, ids, &count, &more, err, sizeof(err));
	FZ_ASSERT(ok == !rc, "rule says %s, parser returned %d", ok ? "good" : "bad", rc);
	if (rc) {
		refused(rc, err);
		free(ids);
		return;
	}
	FZ_ASSERT(count == i && more == (count == 1024), "count %d of %d, more %d", count, i, more);
	for (i = 0; i < count; i++)
		FZ_ASSERT(ids[i] == le32toh(list[i]), "entry %d", i);
	free(ids);
}

static bool wwid_char(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || ch == '.' || ch == '-' ||
	       ch == 'u' || ch == 'i' || ch == 'n' || ch == 'v' || ch == 'm';
}

static void check_descs(const uint8_t *page, const struct nvme_id_ctrl *id, size_t width)
{
	struct nvmf_ns ns;
	char *wwid = malloc(NVMF_WWID_MAX), *field = malloc(width + 1);
	size_t len;

	if (!wwid || !field)
		goto out;
	memset(&ns, 0, sizeof(ns));
	ns.nsid = (uint32_t)le_at(page + 8, 4);
	nvmf_ns_descs_parse(page, &ns);
	nvmf_ns_wwid(id, &ns, wwid);
	len = strnlen(wwid, NVMF_WWID_MAX);
	FZ_ASSERT(len < NVMF_WWID_MAX, "WWID not terminated");
	FZ_ASSERT(!strncmp(wwid, "uuid.", 5) || !strncmp(wwid, "eui.", 4) ||
		  !strncmp(wwid, "nvme.", 5), "WWID '%s'", wwid);
	for (size_t i = 0; i < len; i++)
		FZ_ASSERT(wwid_char(wwid[i]), "WWID byte 0x%02x", (unsigned char)wwid[i]);

	/* The serial as a text field, into a buffer of the width asked for. */
	nvmf_id_field(field, width + 1, id->sn, sizeof(id->sn));
	len = strnlen(field, width + 1);
	FZ_ASSERT(len <= width && len <= sizeof(id->sn), "field %zu bytes", len);
	FZ_ASSERT(!memcmp(field, id->sn, len), "field is not the serial's start");
	FZ_ASSERT(!len || len == width || field[len - 1] != ' ', "trailing pad kept");
out:
	free(wwid);
	free(field);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t hdr[11] = { 0 }, *page;
	size_t skip;

	if (size < 1)
		return 0;
	memcpy(hdr, data, size < sizeof(hdr) ? size : sizeof(hdr));
	switch (hdr[0] & 3) {
	case 0:
		skip = 11;
		break;
	case 1:
		skip = 5;
		break;
	case 2:
		skip = 9;
		break;
	default:
		skip = 3;
		break;
	}
	page = calloc(1, PAGE);
	if (!page)
		return 0;
	if (size > skip)
		memcpy(page, data + skip, size - skip > PAGE ? PAGE : size - skip);
	switch (hdr[0] & 3) {
	case 0:
		check_ctrl((const struct nvme_id_ctrl *)page, le_at(hdr + 1, 8),
			   (int)le_at(hdr + 9, 2));
		break;
	case 1:
		check_ns((uint32_t)le_at(hdr + 1, 4), (const struct nvme_id_ns *)page);
		break;
	case 2:
		check_list((const uint32_t *)page, (uint32_t)le_at(hdr + 1, 4),
			   (uint32_t)le_at(hdr + 5, 4));
		break;
	default:
		check_descs(page, (const struct nvme_id_ctrl *)page, le_at(hdr + 1, 2) % 64);
		break;
	}
	free(page);
	return 0;
}
