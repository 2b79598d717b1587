/* SPDX-License-Identifier: MIT */
/*
 * The status convention of base/nvmf_spec.h against libnvme's own decoding:
 * a wire CQE status comes out of nvmf_cqe_status() as libnvme's enum
 * nvme_status_field reads it, and every NVMF_SC_* code (SCT and SC made
 * from libnvme's names) is, to nvme_status_to_string(), the status it is
 * named after. A wrong shift or type in NVMF_STATUS_MAKE, or a libnvme SC
 * of the wrong status code type, fails here.
 */
#include <check.h>
#include <endian.h>
#include <string.h>

#include "base/nvmf_spec.h"
#include <libnvme.h>	/* after ours on purpose: the order no longer matters */
#include "host/nvmf.h"

START_TEST(test_cqe_status_fields)
{
	/* Wire: P 1, SC 70h, SCT 3, CRD 2, M 1, DNR 1 (Base figure 101). */
	struct nvmf_cqe cqe = {
		.status = htole16(1 | 0x70 << 1 | 3 << 9 | 2 << 12 | 1 << 14 | 1 << 15),
	};
	uint16_t s = nvmf_cqe_status(&cqe);

	ck_assert_uint_eq(nvme_status_code_type(s), NVME_SCT_PATH);
	ck_assert_uint_eq(nvme_status_code(s), NVME_SC_HOST_PATH_ERROR);
	ck_assert_uint_eq(NVMF_STATUS_CODE(s), NVMF_SC_HOST_PATH_ERROR);
	ck_assert_uint_eq(NVMF_STATUS_CRD(s), 2);
	ck_assert(s & NVME_SC_MORE);
	ck_assert(s & NVME_SC_DNR);
	/* No phase bit left in the value: nothing above DNR, SC starts at bit 0. */
	ck_assert_uint_eq(s >> 15, 0);
	cqe.status = htole16(1 | NVME_SC_INVALID_NS << 1);
	ck_assert_uint_eq(nvmf_cqe_status(&cqe), NVMF_SC_INVALID_NS);
}
END_TEST

static const struct {
	uint16_t code;
	bool fabrics;		/* command specific codes: a Fabrics command's */
	const char *name;	/* libnvme's text starts so */
} codes[] = {
	{ NVMF_SC_INVALID_OPCODE, false, "Invalid Command Opcode" },
	{ NVMF_SC_DATA_XFER_ERROR, false, "Data Transfer Error" },
	{ NVMF_SC_INTERNAL, false, "Internal Error" },
	{ NVMF_SC_INVALID_NS, false, "Invalid Namespace or Format" },
	{ NVMF_SC_TRANSIENT_TR_ERR, false, "Transient Transport Error" },
	{ NVMF_SC_CONNECT_INVALID_PARAM, true, "Connect Invalid Parameters" },
	{ NVMF_SC_CONNECT_INVALID_HOST, true, "Connect Invalid Host" },
	{ NVMF_SC_DISCOVERY_RESTART, true, "Discover Restart" },
	{ NVMF_SC_ANA_PERSISTENT_LOSS, false, "Asymmetric Access Persistent Loss" },
	{ NVMF_SC_ANA_INACCESSIBLE, false, "Asymmetric Access Inaccessible" },
	{ NVMF_SC_ANA_TRANSITION, false, "Asymmetric Access Transition" },
	{ NVMF_SC_HOST_PATH_ERROR, false, "Host Pathing Error" },
	{ NVMF_SC_HOST_ABORTED_CMD, false, "Command Aborted By Host" },
};

START_TEST(test_codes_are_libnvmes)
{
	const char *s = nvme_status_to_string(codes[_i].code, codes[_i].fabrics);

	ck_assert_msg(!strncmp(s, codes[_i].name, strlen(codes[_i].name)),
		      "0x%03x: libnvme says '%s', expected '%s'", codes[_i].code, s,
		      codes[_i].name);
	/* Our message for it names the same status (DNR does not change it). */
	s = codes[_i].fabrics ? nvmf_fabrics_status_str(codes[_i].code | NVME_SC_DNR) :
				nvmf_status_str(codes[_i].code | NVME_SC_DNR);
	ck_assert_msg(strstr(s, codes[_i].name) != NULL, "0x%03x: nvmf_status_str says '%s'",
		      codes[_i].code, s);
}
END_TEST

/*
 * A command specific status of an I/O command is not a Fabrics one: 183h,
 * nvmet's answer to a Write Zeroes or DSM its backend lacks, used to be
 * named "Connect Restart Discovery" in the ublk disk's log.
 */
START_TEST(test_io_status_not_fabrics)
{
	const char *s = nvmf_status_str(NVMF_SC_ONCS_NOT_SUPPORTED);

	ck_assert_msg(!strstr(s, "Connect") && !strstr(s, "Discover"), "183h named '%s'", s);
	ck_assert_msg(strstr(nvmf_fabrics_status_str(NVMF_SC_ONCS_NOT_SUPPORTED), "Restart"),
		      "%s", nvmf_fabrics_status_str(NVMF_SC_ONCS_NOT_SUPPORTED));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("spec");
	TCase *tc = tcase_create("status");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_io_status_not_fabrics);
	tcase_add_test(tc, test_cqe_status_fields);
	tcase_add_loop_test(tc, test_codes_are_libnvmes, 0, (int)(sizeof(codes) / sizeof(codes[0])));
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
