/* SPDX-License-Identifier: MIT */
/*
 * The namespace WWID (host/identify.h nvmf_ns_wwid): the Linux host's
 * order (UUID, then NGUID, then EUI-64, then VID-serial-model-NSID) and
 * its exact text, so udev's /dev/disk/by-id/nvme-WWID names one namespace
 * the same whichever host serves it. The guest test nvmfuse-udev.vm checks
 * the uuid form against the kernel's own wwid for the same namespace.
 */
#include <check.h>
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "host/identify.h"

static struct nvme_id_ctrl g_id;
static struct nvmf_ns g_ns;

static void setup(void)
{
	memset(&g_id, 0, sizeof(g_id));
	memset(&g_ns, 0, sizeof(g_ns));
	g_id.vid = htole16(0x1b36);
	memcpy(g_id.sn, "abc123              ", 20);		/* space padded */
	memcpy(g_id.mn, "Linux", 5);				/* NUL padded */
	g_ns.nsid = 7;
}

static const char *wwid(void)
{
	static char out[NVMF_WWID_MAX];

	memset(out, 'x', sizeof(out));
	nvmf_ns_wwid(&g_id, &g_ns, out);
	return out;
}

START_TEST(test_uuid_first)
{
	for (int i = 0; i < 16; i++) {
		g_ns.uuid[i] = (uint8_t)(0xa0 + i);
		g_ns.nguid[i] = 0x11;
	}
	g_ns.eui64[0] = 0x22;
	ck_assert_str_eq(wwid(), "uuid.a0a1a2a3-a4a5-a6a7-a8a9-aaabacadaeaf");
}
END_TEST

START_TEST(test_nguid_then_eui64)
{
	g_ns.nguid[15] = 0x01;
	g_ns.eui64[0] = 0x22;
	ck_assert_str_eq(wwid(), "eui.00000000000000000000000000000001");
	memset(g_ns.nguid, 0, sizeof(g_ns.nguid));
	ck_assert_str_eq(wwid(), "eui.2200000000000000");
}
END_TEST

START_TEST(test_fallback_vid_serial_model_nsid)
{
	/* "abc123" = 61 62 63 31 32 33, "Linux" = 4c 69 6e 75 78 */
	ck_assert_str_eq(wwid(), "nvme.1b36-616263313233-4c696e7578-00000007");
}
END_TEST

START_TEST(test_longest_fits)
{
	memset(g_id.sn, 0xff, sizeof(g_id.sn));
	memset(g_id.mn, 0x7e, sizeof(g_id.mn));
	g_id.vid = htole16(0xffff);
	g_ns.nsid = 0xfffffffe;
	ck_assert_uint_eq(strlen(wwid()), NVMF_WWID_MAX - 1);
	ck_assert_str_eq(wwid() + strlen(wwid()) - 9, "-fffffffe");
}
END_TEST

START_TEST(test_blank_serial_and_model)
{
	memset(g_id.sn, ' ', sizeof(g_id.sn));
	memset(g_id.mn, 0, sizeof(g_id.mn));
	ck_assert_str_eq(wwid(), "nvme.1b36---00000007");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("wwid");
	TCase *tc = tcase_create("forms");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_uuid_first);
	tcase_add_test(tc, test_nguid_then_eui64);
	tcase_add_test(tc, test_fallback_vid_serial_model_nsid);
	tcase_add_test(tc, test_longest_fits);
	tcase_add_test(tc, test_blank_serial_and_model);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
