/* SPDX-License-Identifier: MIT */
/*
 * The CUSE access decision (cuse/cuse_auth.h) as a table: the kernel's
 * rule (Linux 6.12 nvme_cmd_allowed and nvme_dev_ioctl) for unprivileged
 * and capable callers, then nvmfuse's own (association-owned Fabrics
 * commands, --dev-readonly, the opcode allow-lists), the known effects
 * applied to a controller's log, and the list parser.
 */
#include <check.h>
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "cuse/cuse_auth.h"
#include "host/nvmf.h"

enum pol { P_NONE, P_RO, P_IO02, P_ADM06, P_COUNT };

#define CSUPP	NVME_CMD_EFFECTS_CSUPP
#define LBCC	NVME_CMD_EFFECTS_LBCC
#define NCC	NVME_CMD_EFFECTS_NCC
#define CSE	NVMF_CMD_EFFECTS_CSE_MASK
#define UUIDS	NVME_CMD_EFFECTS_UUID_SEL
#define SCOPE	NVMF_CMD_EFFECTS_SCOPE_MASK

#define ADM	CUSE_AUTH_ADMIN
#define IO	CUSE_AUTH_IO
#define CTRL	CUSE_AUTH_NODE_CTRL
#define NS	CUSE_AUTH_NODE_NS

struct row {
	const char *name;
	enum pol pol;
	enum cuse_auth_call call;
	enum cuse_auth_node node;
	uint8_t opc;
	uint32_t nsid, cdw10, effects;
	bool ofw, cap;
	int want;
};

static const struct row rows[] = {
	/* Admin queue, unprivileged: only Identify CNS 00h 01h 05h 06h 08h. */
	{ "identify ns", P_NONE, ADM, CTRL, 0x06, 1, 0x00, 0, false, false, 0 },
	{ "identify ctrl", P_NONE, ADM, CTRL, 0x06, 0, 0x01, 0, false, false, 0 },
	{ "identify ctrl from ns node", P_NONE, ADM, NS, 0x06, 0, 0x01, 0, false, false, 0 },
	{ "identify cs ns", P_NONE, ADM, CTRL, 0x06, 1, 0x05, 0, false, false, 0 },
	{ "identify cs ctrl", P_NONE, ADM, CTRL, 0x06, 0, 0x06, 0, false, false, 0 },
	{ "identify cs-indep ns", P_NONE, ADM, CTRL, 0x06, 1, 0x08, 0, false, false, 0 },
	{ "identify active list", P_NONE, ADM, CTRL, 0x06, 0, 0x02, 0, true, false, -EACCES },
	{ "identify ns descs", P_NONE, ADM, CTRL, 0x06, 1, 0x03, 0, true, false, -EACCES },
	{ "identify cns in high bits", P_NONE, ADM, CTRL, 0x06, 0, 0x10001, 0, false, false, 0 },
	{ "get log page", P_NONE, ADM, CTRL, 0x02, 0, 0x00ff0002, 0, true, false, -EACCES },
	{ "get features", P_NONE, ADM, CTRL, 0x0a, 0, 0x07, 0, true, false, -EACCES },
	{ "set features", P_NONE, ADM, CTRL, 0x09, 0, 0x06, 0, true, false, -EACCES },
	{ "format", P_NONE, ADM, CTRL, 0x80, 1, 0, 0, true, false, -EACCES },
	{ "vendor admin", P_NONE, ADM, CTRL, 0xc0, 0, 0, 0, true, false, -EACCES },
	{ "property get", P_NONE, ADM, CTRL, 0x7f, 0x04, 0, 0, true, false, -EACCES },
	{ "property set", P_NONE, ADM, CTRL, 0x7f, 0x00, 0, 0, true, false, -EACCES },
	/* Admin queue, capable. */
	{ "root get log page", P_NONE, ADM, CTRL, 0x02, 0, 0x00ff0002, 0, false, true, 0 },
	{ "root set features", P_NONE, ADM, CTRL, 0x09, 0, 0x06, 0, false, true, 0 },
	{ "root format", P_NONE, ADM, NS, 0x80, 1, 0, 0, false, true, 0 },
	{ "root vendor admin", P_NONE, ADM, CTRL, 0xc0, 0, 0, 0, false, true, 0 },
	{ "root property get", P_NONE, ADM, CTRL, 0x7f, 0x04, 0, 0, false, true, 0 },
	/* Kernel-owned features: nobody, with EACCES like the kernel. */
	{ "root set num queues", P_NONE, ADM, CTRL, 0x09, 0, 0x07, 0, true, true, -EACCES },
	{ "root set host behavior", P_NONE, ADM, CTRL, 0x09, 0, 0x16, 0, true, true, -EACCES },
	{ "root set hmb", P_NONE, ADM, CTRL, 0x09, 0, 0x0d, 0, true, true, -EACCES },
	{ "root set apst", P_NONE, ADM, CTRL, 0x09, 0, 0x8000000c, 0, true, true, -EACCES },
	/* The association belongs to the host engine: nobody, EPERM. */
	{ "root property set", P_NONE, ADM, CTRL, 0x7f, 0x00, 0, 0, true, true, -EPERM },
	{ "root connect", P_NONE, ADM, CTRL, 0x7f, 0x01, 0, 0, true, true, -EPERM },
	{ "root auth send", P_NONE, ADM, CTRL, 0x7f, 0x05, 0, 0, true, true, -EPERM },
	{ "root auth receive", P_NONE, ADM, CTRL, 0x7f, 0x06, 0, 0, true, true, -EPERM },
	{ "root disconnect", P_NONE, ADM, CTRL, 0x7f, 0x08, 0, 0, true, true, -EPERM },
	{ "root fabrics unknown type", P_NONE, ADM, CTRL, 0x7f, 0x42, 0, 0, true, true, -EPERM },
	{ "root fabrics on io queue", P_NONE, IO, NS, 0x7f, 0x04, 0, CSUPP, true, true, -EPERM },
	{ "root set kato", P_NONE, ADM, CTRL, 0x09, 0, 0x0f, 0, true, true, -EPERM },
	/* I/O, unprivileged: by the effects log and the open mode. */
	{ "read ro fd", P_NONE, IO, NS, 0x02, 1, 0, CSUPP, false, false, 0 },
	{ "read rw fd", P_NONE, IO, NS, 0x02, 1, 0, CSUPP, true, false, 0 },
	{ "read ctrl node", P_NONE, IO, CTRL, 0x02, 1, 0, CSUPP, false, false, 0 },
	{ "write ro fd", P_NONE, IO, NS, 0x01, 1, 0, CSUPP | LBCC, false, false, -EACCES },
	{ "write rw fd", P_NONE, IO, NS, 0x01, 1, 0, CSUPP | LBCC, true, false, 0 },
	{ "write ctrl node rw", P_NONE, IO, CTRL, 0x01, 1, 0, CSUPP | LBCC, true, false, 0 },
	{ "compare ro fd", P_NONE, IO, NS, 0x05, 1, 0, CSUPP, false, false, -EACCES },
	{ "write zeroes ro fd", P_NONE, IO, NS, 0x08, 1, 0, CSUPP | LBCC, false, false, -EACCES },
	{ "write zeroes rw fd", P_NONE, IO, NS, 0x08, 1, 0, CSUPP | LBCC, true, false, 0 },
	{ "flush ro fd", P_NONE, IO, NS, 0x00, 1, 0, CSUPP, false, false, 0 },
	{ "unsupported", P_NONE, IO, NS, 0x0d, 1, 0, 0, true, false, -EACCES },
	{ "ncc effect", P_NONE, IO, NS, 0x02, 1, 0, CSUPP | NCC, true, false, -EACCES },
	{ "cse dropped for io", P_NONE, IO, NS, 0x02, 1, 0, CSUPP | CSE, false, false, 0 },
	{ "uuid+scope benign", P_NONE, IO, NS, 0x02, 1, 0, CSUPP | UUIDS | SCOPE, false, false,
	  0 },
	{ "reserved bit 5", P_NONE, IO, NS, 0x02, 1, 0, CSUPP | (1u << 5), true, false, -EACCES },
	{ "lbcc read-type opcode ro", P_NONE, IO, NS, 0x0e, 1, 0, CSUPP | LBCC, false, false,
	  -EACCES },
	{ "vendor io", P_NONE, IO, NS, 0x81, 1, 0, CSUPP, true, false, -EACCES },
	{ "fabrics io", P_NONE, IO, NS, 0x7f, 1, 0, CSUPP, true, false, -EACCES },
	/* I/O, capable: anything but what nvmfuse owns. */
	{ "root write ro fd", P_NONE, IO, NS, 0x01, 1, 0, CSUPP | LBCC, false, true, 0 },
	{ "root unsupported", P_NONE, IO, NS, 0x0d, 1, 0, 0, false, true, 0 },
	{ "root vendor io", P_NONE, IO, NS, 0x81, 1, 0, 0, false, true, 0 },
	/* Reset, subsystem reset, rescan. */
	{ "reset", P_NONE, CUSE_AUTH_RESET, CTRL, 0, 0, 0, 0, true, false, -EACCES },
	{ "subsys reset", P_NONE, CUSE_AUTH_SUBSYS_RESET, CTRL, 0, 0, 0, 0, true, false,
	  -EACCES },
	{ "rescan", P_NONE, CUSE_AUTH_RESCAN, CTRL, 0, 0, 0, 0, true, false, -EACCES },
	{ "root reset", P_NONE, CUSE_AUTH_RESET, CTRL, 0, 0, 0, 0, false, true, 0 },
	{ "root rescan", P_NONE, CUSE_AUTH_RESCAN, CTRL, 0, 0, 0, 0, false, true, 0 },
	{ "root rescan ns node", P_NONE, CUSE_AUTH_RESCAN, NS, 0, 0, 0, 0, true, true, -ENOTTY },
	{ "reset ns node", P_NONE, CUSE_AUTH_RESET, NS, 0, 0, 0, 0, true, false, -ENOTTY },
	/* --dev-readonly: reads pass, anything that changes state is EPERM. */
	{ "ro: root read", P_RO, IO, NS, 0x02, 1, 0, CSUPP, true, true, 0 },
	{ "ro: root compare", P_RO, IO, NS, 0x05, 1, 0, CSUPP, true, true, 0 },
	{ "ro: root verify", P_RO, IO, NS, 0x0c, 1, 0, CSUPP, true, true, 0 },
	{ "ro: root write", P_RO, IO, NS, 0x01, 1, 0, CSUPP | LBCC, true, true, -EPERM },
	{ "ro: root flush", P_RO, IO, NS, 0x00, 1, 0, CSUPP, true, true, -EPERM },
	{ "ro: user write rw fd", P_RO, IO, NS, 0x01, 1, 0, CSUPP | LBCC, true, false, -EPERM },
	{ "ro: user write ro fd", P_RO, IO, NS, 0x01, 1, 0, CSUPP | LBCC, false, false, -EACCES },
	{ "ro: root identify", P_RO, ADM, CTRL, 0x06, 0, 0x02, 0, true, true, 0 },
	{ "ro: root get log", P_RO, ADM, CTRL, 0x02, 0, 0x2, 0, true, true, 0 },
	{ "ro: root get features", P_RO, ADM, CTRL, 0x0a, 0, 0x7, 0, true, true, 0 },
	{ "ro: root property get", P_RO, ADM, CTRL, 0x7f, 0x04, 0, 0, true, true, 0 },
	{ "ro: root set features", P_RO, ADM, CTRL, 0x09, 0, 0x6, 0, true, true, -EPERM },
	{ "ro: root format", P_RO, ADM, CTRL, 0x80, 1, 0, 0, true, true, -EPERM },
	{ "ro: root reset", P_RO, CUSE_AUTH_RESET, CTRL, 0, 0, 0, 0, true, true, -EPERM },
	{ "ro: root rescan", P_RO, CUSE_AUTH_RESCAN, CTRL, 0, 0, 0, 0, true, true, -EPERM },
	{ "ro: user reset", P_RO, CUSE_AUTH_RESET, CTRL, 0, 0, 0, 0, true, false, -EACCES },
	/* Allow-lists: refused for root too, only the listed queue's kind. */
	{ "io list: root read", P_IO02, IO, NS, 0x02, 1, 0, CSUPP, true, true, 0 },
	{ "io list: root write", P_IO02, IO, NS, 0x01, 1, 0, CSUPP | LBCC, true, true, -EPERM },
	{ "io list: user write ro fd", P_IO02, IO, NS, 0x01, 1, 0, CSUPP | LBCC, false, false,
	  -EACCES },
	{ "io list: admin untouched", P_IO02, ADM, CTRL, 0x09, 0, 0x6, 0, true, true, 0 },
	{ "admin list: identify", P_ADM06, ADM, CTRL, 0x06, 0, 0x1, 0, true, true, 0 },
	{ "admin list: get log", P_ADM06, ADM, CTRL, 0x02, 0, 0x2, 0, true, true, -EPERM },
	{ "admin list: property get", P_ADM06, ADM, CTRL, 0x7f, 4, 0, 0, true, true, -EPERM },
	{ "admin list: io untouched", P_ADM06, IO, NS, 0x01, 1, 0, CSUPP | LBCC, true, true, 0 },
	{ "admin list: reset untouched", P_ADM06, CUSE_AUTH_RESET, CTRL, 0, 0, 0, 0, true, true,
	  0 },
};

static struct cuse_auth_policy policies[P_COUNT];

static void setup(void)
{
	char err[128];

	memset(policies, 0, sizeof(policies));
	policies[P_RO].readonly = true;
	policies[P_IO02].allow_io_set = true;
	ck_assert_int_eq(cuse_auth_parse_opcodes("0x02", policies[P_IO02].allow_io, err,
						 sizeof(err)), 0);
	policies[P_ADM06].allow_admin_set = true;
	ck_assert_int_eq(cuse_auth_parse_opcodes("6", policies[P_ADM06].allow_admin, err,
						 sizeof(err)), 0);
}

START_TEST(test_table)
{
	const struct row *t = &rows[_i];
	struct cuse_auth_req r = {
		.call = t->call, .node = t->node, .opcode = t->opc, .nsid = t->nsid,
		.cdw10 = t->cdw10, .effects = t->effects, .open_for_write = t->ofw,
		.capable = t->cap,
	};
	const char *why = NULL;
	int rc;

	setup();
	rc = cuse_auth_check(&policies[t->pol], &r, &why);
	ck_assert_msg(rc == t->want, "%s: got %d (%s), want %d", t->name, rc, why, t->want);
	ck_assert_msg(why && (rc ? why[0] != '\0' : why[0] == '\0'), "%s: reason '%s'",
		      t->name, why ? why : "(null)");
	/* Capability only widens: deciding unprivileged first is safe. */
	if (!t->cap && rc != -EACCES) {
		r.capable = true;
		ck_assert_msg(cuse_auth_check(&policies[t->pol], &r, NULL) == rc,
			      "%s: capable changes a non-EACCES answer", t->name);
	}
}
END_TEST

START_TEST(test_no_policy_is_default)
{
	struct cuse_auth_req r = { .call = CUSE_AUTH_ADMIN, .opcode = 0x7f, .nsid = 0,
				   .capable = true };

	ck_assert_int_eq(cuse_auth_check(NULL, &r, NULL), -EPERM);
	r.nsid = 4;
	ck_assert_int_eq(cuse_auth_check(NULL, &r, NULL), 0);
}
END_TEST

/*
 * The known effects (host/effects.c) turn a controller's log into what the
 * kernel judges by: with nvmet's NVM log, Read and Flush are unprivileged,
 * Write needs a writable fd, Compare is unsupported; with no log at all
 * only the fixed-up commands are listed, and none is supported.
 */
START_TEST(test_known_effects)
{
	struct nvme_cmd_effects_log log;
	struct cuse_auth_req r = { .call = CUSE_AUTH_IO, .node = CUSE_AUTH_NODE_NS };

	memset(&log, 0, sizeof(log));
	log.iocs[nvme_cmd_read] = htole32(CSUPP);
	log.iocs[nvme_cmd_flush] = htole32(CSUPP);
	log.iocs[nvme_cmd_write] = htole32(CSUPP);	/* LBCC forgotten: fixed up */
	log.acs[nvme_admin_security_recv] = htole32(CSUPP | CSE);
	nvmf_effects_apply_known(&log);
	ck_assert_uint_eq(le32toh(log.iocs[nvme_cmd_write]), CSUPP | LBCC);
	ck_assert_uint_eq(le32toh(log.iocs[nvme_cmd_write_zeroes]), LBCC);
	ck_assert_uint_eq(le32toh(log.iocs[nvme_cmd_write_uncor]), LBCC);
	ck_assert_uint_eq(le32toh(log.acs[nvme_admin_format_nvm]), LBCC | NCC | CSE);
	ck_assert_uint_eq(le32toh(log.acs[nvme_admin_sanitize_nvm]), LBCC | CSE);
	ck_assert_uint_eq(le32toh(log.acs[nvme_admin_security_recv]), CSUPP);

	r.opcode = nvme_cmd_write;
	r.effects = le32toh(log.iocs[r.opcode]);
	ck_assert_int_eq(cuse_auth_check(NULL, &r, NULL), -EACCES);
	r.open_for_write = true;
	ck_assert_int_eq(cuse_auth_check(NULL, &r, NULL), 0);
	r.opcode = nvme_cmd_write_zeroes;	/* LBCC without CSUPP: unsupported */
	r.effects = le32toh(log.iocs[r.opcode]);
	ck_assert_int_eq(cuse_auth_check(NULL, &r, NULL), -EACCES);
	r.opcode = nvme_cmd_compare;
	r.effects = le32toh(log.iocs[r.opcode]);
	ck_assert_int_eq(cuse_auth_check(NULL, &r, NULL), -EACCES);
	r.open_for_write = false;
	r.opcode = nvme_cmd_flush;
	r.effects = le32toh(log.iocs[r.opcode]);
	ck_assert_int_eq(cuse_auth_check(NULL, &r, NULL), 0);
}
END_TEST

START_TEST(test_parse_opcodes)
{
	uint64_t b[4] = { 0 };
	char err[128];

	ck_assert_int_eq(cuse_auth_parse_opcodes("0x02,1,0xff,0x7f", b, err, sizeof(err)), 0);
	ck_assert_uint_eq(b[0], (1ull << 2) | (1ull << 1));
	ck_assert_uint_eq(b[1], 1ull << 63);
	ck_assert_uint_eq(b[3], 1ull << 63);
	ck_assert_int_eq(cuse_auth_parse_opcodes("0x100", b, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "0x100"));
	ck_assert_int_eq(cuse_auth_parse_opcodes("2,,3", b, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(cuse_auth_parse_opcodes("", b, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(cuse_auth_parse_opcodes("2,", b, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(cuse_auth_parse_opcodes("-1", b, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(cuse_auth_parse_opcodes("read", b, err, sizeof(err)), -EINVAL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cuse_auth");
	TCase *tc = tcase_create("decide");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, test_table, 0, (int)(sizeof(rows) / sizeof(rows[0])));
	tcase_add_test(tc, test_no_policy_is_default);
	tcase_add_test(tc, test_known_effects);
	tcase_add_test(tc, test_parse_opcodes);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	/* A table of pure calls: no fork per row (fast under sanitizers). */
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
