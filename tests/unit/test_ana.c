/* SPDX-License-Identifier: MIT */
/*
 * The ANA codec (host/ana.h): Identify Controller's ANA fields and the ANA
 * log page, valid pages and every hostile count the parser must refuse.
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "host/ana.h"

static const struct nvmf_ana_caps caps = {
	.reporting = true, .anacap = 0x1f, .anatt = 10, .anagrpmax = 128, .nanagrpid = 128,
};

/* A page under construction: header, then descriptors appended. */
struct page {
	uint8_t b[8192];
	size_t len;
};

static void page_init(struct page *p, uint64_t chgcnt, uint16_t ngrps)
{
	memset(p, 0, sizeof(*p));
	for (int i = 0; i < 8; i++)
		p->b[i] = (uint8_t)(chgcnt >> (8 * i));
	p->b[8] = (uint8_t)ngrps;
	p->b[9] = (uint8_t)(ngrps >> 8);
	p->len = 16;
}

static void put32(uint8_t *at, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		at[i] = (uint8_t)(v >> (8 * i));
}

static void page_group(struct page *p, uint32_t grpid, uint8_t state, uint32_t nnsids,
		       const uint32_t *nsids, uint32_t listed)
{
	uint8_t *d = p->b + p->len;

	put32(d, grpid);
	put32(d + 4, nnsids);
	d[8] = 7;		/* chgcnt */
	d[16] = state;
	p->len += 32;
	for (uint32_t i = 0; i < listed; i++, p->len += 4)
		put32(p->b + p->len, nsids[i]);
}

static int parse(const struct page *p, size_t len, uint32_t nn, struct nvmf_ana_log *log,
		 char *err)
{
	err[0] = 0;
	return nvmf_ana_log_parse(p->b, len, &caps, nn, log, err, 200);
}

START_TEST(test_caps)
{
	struct nvme_id_ctrl id;
	struct nvmf_ana_caps c;
	char err[200];

	memset(&id, 0, sizeof(id));
	/* No ANA reporting: not an error, just none. */
	ck_assert_int_eq(nvmf_ana_caps_parse(&id, &c, err, sizeof(err)), 0);
	ck_assert(!c.reporting);
	id.cmic = NVME_CTRL_CMIC_MULTI_ANA_REPORTING;
	ck_assert_int_eq(nvmf_ana_caps_parse(&id, &c, err, sizeof(err)), 0);
	ck_assert(!c.reporting);	/* ANACAP 0 */
	/* nvmet's values. */
	id.anacap = 0x5f;
	id.anatt = 10;
	id.anagrpmax = htole32(128);
	id.nanagrpid = htole32(128);
	ck_assert_int_eq(nvmf_ana_caps_parse(&id, &c, err, sizeof(err)), 0);
	ck_assert(c.reporting);
	ck_assert_uint_eq(c.anatt, 10);
	ck_assert_uint_eq(c.nanagrpid, 128);
	ck_assert_uint_eq(nvmf_ana_log_size(&c, 1024, 0), 16 + 128 * 32 + 1024 * 4);
	ck_assert_uint_eq(nvmf_ana_log_size(&c, 1024, 4096), 4096);
	/* Hostile: no groups possible, NANAGRPID above ANAGRPMAX, no usable state. */
	id.nanagrpid = 0;
	ck_assert_int_eq(nvmf_ana_caps_parse(&id, &c, err, sizeof(err)), -EPROTO);
	ck_assert_ptr_nonnull(strstr(err, "NANAGRPID 0"));
	id.nanagrpid = htole32(129);
	ck_assert_int_eq(nvmf_ana_caps_parse(&id, &c, err, sizeof(err)), -EPROTO);
	ck_assert_ptr_nonnull(strstr(err, "above ANAGRPMAX"));
	id.nanagrpid = htole32(128);
	id.anacap = NVME_CTRL_ANACAP_INACCESSIBLE;
	ck_assert_int_eq(nvmf_ana_caps_parse(&id, &c, err, sizeof(err)), -EPROTO);
	ck_assert_ptr_nonnull(strstr(err, "ANACAP"));
	/* ANAGRPMAX claims 2^32 - 1: the log size stays capped. */
	id.anacap = 0x1f;
	id.anagrpmax = htole32(0xffffffffu);
	id.nanagrpid = htole32(0xffffffffu);
	ck_assert_int_eq(nvmf_ana_caps_parse(&id, &c, err, sizeof(err)), 0);
	ck_assert_uint_eq(nvmf_ana_log_size(&c, 4096, 0), 16 + NVMF_ANA_MAX_GROUPS * 32 + 4096 * 4);
}
END_TEST

START_TEST(test_valid_page)
{
	static const uint32_t g1[] = { 1, 3 }, g2[] = { 2 };
	struct nvmf_ana_log log;
	struct page p;
	char err[200];

	page_init(&p, 42, 3);
	page_group(&p, 1, NVMF_ANA_OPTIMIZED, 2, g1, 2);
	page_group(&p, 2, NVMF_ANA_INACCESSIBLE, 1, g2, 1);
	page_group(&p, 5, NVMF_ANA_CHANGE, 0, NULL, 0);		/* no namespace: allowed */
	/* The buffer read is larger than the page: trailing zeroes are fine. */
	ck_assert_int_eq(parse(&p, p.len + 64, 8, &log, err), 0);
	ck_assert_uint_eq(log.chgcnt, 42);
	ck_assert_uint_eq(log.ngrps, 3);
	ck_assert_uint_eq(log.total_nsids, 3);
	ck_assert_uint_eq(log.grps[0].chgcnt, 7);
	ck_assert_int_eq(nvmf_ana_log_find(&log, 3)->state, NVMF_ANA_OPTIMIZED);
	ck_assert_int_eq(nvmf_ana_log_find(&log, 2)->state, NVMF_ANA_INACCESSIBLE);
	ck_assert_uint_eq(nvmf_ana_log_find(&log, 2)->grpid, 2);
	ck_assert_ptr_null(nvmf_ana_log_find(&log, 4));
	ck_assert_int_eq(log.grps[2].state, NVMF_ANA_CHANGE);
	nvmf_ana_log_free(&log);
	/* An empty page (no groups). */
	page_init(&p, 0, 0);
	ck_assert_int_eq(parse(&p, p.len, 0, &log, err), 0);
	ck_assert_uint_eq(log.ngrps, 0);
	ck_assert_ptr_null(nvmf_ana_log_find(&log, 1));
	nvmf_ana_log_free(&log);
	ck_assert_str_eq(nvmf_ana_state_str(NVMF_ANA_NON_OPTIMIZED), "non-optimized");
	ck_assert_str_eq(nvmf_ana_state_str(NVMF_ANA_PERSISTENT_LOSS), "persistent-loss");
	ck_assert_str_eq(nvmf_ana_state_str((enum nvmf_ana_state)7), "invalid");
}
END_TEST

/* Each hostile page: refused with -EPROTO, a message containing @what, and an empty result. */
static void refused(const struct page *p, size_t len, uint32_t nn, const char *what)
{
	struct nvmf_ana_log log;
	char err[200];

	ck_assert_int_eq(parse(p, len, nn, &log, err), -EPROTO);
	ck_assert_msg(strstr(err, what), "error \"%s\" lacks \"%s\"", err, what);
	ck_assert_ptr_null(log.grps);
	ck_assert_uint_eq(log.ngrps, 0);
}

START_TEST(test_hostile_pages)
{
	static const uint32_t ok[] = { 1, 2 }, dup[] = { 4, 4 }, zero[] = { 0 },
			      bcast[] = { 0xffffffffu }, big[] = { 9 };
	struct page p;

	page_init(&p, 1, 1);
	refused(&p, 15, 0, "shorter than its 16-byte header");
	/* NGRPS above NANAGRPID. */
	page_init(&p, 1, 129);
	refused(&p, sizeof(p.b), 0, "more than NANAGRPID 128");
	page_init(&p, 1, 0xffff);
	refused(&p, sizeof(p.b), 0, "group descriptors");
	/* A descriptor cut off by the end of the data. */
	page_init(&p, 1, 2);
	page_group(&p, 1, NVMF_ANA_OPTIMIZED, 2, ok, 2);
	refused(&p, p.len + 31, 0, "truncated");
	/* NNSIDS that overflow the remaining bytes (and a 32-bit product). */
	page_init(&p, 1, 1);
	page_group(&p, 1, NVMF_ANA_OPTIMIZED, 0x40000001u, ok, 2);
	refused(&p, p.len, 0, "lists 1073741825 NSIDs but only 8 bytes");
	page_init(&p, 1, 1);
	page_group(&p, 1, NVMF_ANA_OPTIMIZED, 3, ok, 2);
	refused(&p, p.len, 0, "lists 3 NSIDs");
	/* Group IDs: 0, above ANAGRPMAX, twice. */
	page_init(&p, 1, 1);
	page_group(&p, 0, NVMF_ANA_OPTIMIZED, 0, NULL, 0);
	refused(&p, p.len, 0, "group ID 0 outside");
	page_init(&p, 1, 1);
	page_group(&p, 129, NVMF_ANA_OPTIMIZED, 0, NULL, 0);
	refused(&p, p.len, 0, "group ID 129 outside");
	page_init(&p, 1, 2);
	page_group(&p, 3, NVMF_ANA_OPTIMIZED, 0, NULL, 0);
	page_group(&p, 3, NVMF_ANA_INACCESSIBLE, 0, NULL, 0);
	refused(&p, p.len, 0, "group 3 is described twice");
	/* States. */
	page_init(&p, 1, 1);
	page_group(&p, 1, 0, 0, NULL, 0);
	refused(&p, p.len, 0, "state 0x0");
	page_init(&p, 1, 1);
	page_group(&p, 1, 5, 0, NULL, 0);
	refused(&p, p.len, 0, "state 0x5");
	/* NSIDs: 0, broadcast, above NN, twice (in one group or across two). */
	page_init(&p, 1, 1);
	page_group(&p, 1, NVMF_ANA_OPTIMIZED, 1, zero, 1);
	refused(&p, p.len, 0, "NSID 0");
	page_init(&p, 1, 1);
	page_group(&p, 1, NVMF_ANA_OPTIMIZED, 1, bcast, 1);
	refused(&p, p.len, 0, "NSID 4294967295");
	page_init(&p, 1, 1);
	page_group(&p, 1, NVMF_ANA_OPTIMIZED, 1, big, 1);
	refused(&p, p.len, 8, "NSID 9 (valid: 1..8)");
	page_init(&p, 1, 1);
	page_group(&p, 1, NVMF_ANA_OPTIMIZED, 2, dup, 2);
	refused(&p, p.len, 0, "NSID 4 is listed twice");
	page_init(&p, 1, 2);
	page_group(&p, 1, NVMF_ANA_OPTIMIZED, 1, dup, 1);
	page_group(&p, 2, NVMF_ANA_INACCESSIBLE, 1, dup, 1);
	refused(&p, p.len, 0, "NSID 4 is listed twice");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ana");
	TCase *tc = tcase_create("codec");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_caps);
	tcase_add_test(tc, test_valid_page);
	tcase_add_test(tc, test_hostile_pages);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
