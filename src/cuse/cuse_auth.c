/* SPDX-License-Identifier: MIT */
/*
 * The CUSE nodes' access decision (see cuse_auth.h for the model). Written
 * from the behaviour of Linux 6.12's drivers/nvme/host/ioctl.c; no code of
 * it is used.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nvme/types.h>

#include "cuse/cuse_auth.h"
#include "host/nvmf.h"

#define OPC_VENDOR	0x80	/* and above: vendor specific */

/* Set Features FIDs nobody may set through the kernel's nodes. */
static bool fid_kernel_owned(uint8_t fid)
{
	switch (fid) {
	case NVME_FEAT_FID_HOST_BEHAVIOR:
	case NVME_FEAT_FID_HOST_MEM_BUF:
	case NVME_FEAT_FID_NUM_QUEUES:
	case NVME_FEAT_FID_AUTO_PST:
		return true;
	default:
		return false;
	}
}

/* Identify CNS values without sensitive data, needed to form I/O commands. */
static bool cns_unprivileged(uint8_t cns)
{
	switch (cns) {
	case NVME_IDENTIFY_CNS_NS:
	case NVME_IDENTIFY_CNS_CTRL:
	case NVME_IDENTIFY_CNS_CSI_NS:
	case NVME_IDENTIFY_CNS_CSI_CTRL:
	case NVME_IDENTIFY_CNS_CSI_INDEPENDENT_ID_NS:
		return true;
	default:
		return false;
	}
}

/* The kernel's nvme_ns_cmd_allowed, without the capability. */
static bool io_unprivileged(const struct cuse_auth_req *r, const char **why)
{
	/* CSE restrictions would freeze I/O queues; the kernel drops them. */
	uint32_t e = r->effects & ~NVMF_CMD_EFFECTS_CSE_MASK;
	const uint32_t benign = NVME_CMD_EFFECTS_CSUPP | NVME_CMD_EFFECTS_LBCC |
				NVME_CMD_EFFECTS_UUID_SEL | NVMF_CMD_EFFECTS_SCOPE_MASK;

	if (!(e & NVME_CMD_EFFECTS_CSUPP)) {
		*why = "needs CAP_SYS_ADMIN: not a supported command in the effects log";
		return false;
	}
	if (e & ~benign) {
		*why = "needs CAP_SYS_ADMIN: the effects log lists effects beyond the data";
		return false;
	}
	if (((r->opcode & 1) || (e & NVME_CMD_EFFECTS_LBCC)) && !r->open_for_write) {
		*why = "needs a file opened for writing (or CAP_SYS_ADMIN): "
		       "it writes or changes logical blocks";
		return false;
	}
	return true;
}

/* Step 1: the kernel's rule. 0, -EACCES or -ENOTTY. */
static int kernel_rule(const struct cuse_auth_req *r, const char **why)
{
	switch (r->call) {
	case CUSE_AUTH_RESET:
	case CUSE_AUTH_SUBSYS_RESET:
	case CUSE_AUTH_RESCAN:
		if (r->node != CUSE_AUTH_NODE_CTRL) {
			*why = "a controller ioctl on a namespace node";
			return -ENOTTY;
		}
		if (!r->capable) {
			*why = "needs CAP_SYS_ADMIN: reset and rescan are privileged";
			return -EACCES;
		}
		return 0;
	case CUSE_AUTH_ADMIN:
	case CUSE_AUTH_IO:
		break;
	default:
		*why = "unknown call";
		return -EACCES;
	}
	if (r->opcode >= OPC_VENDOR || r->opcode == nvme_admin_fabrics) {
		*why = "needs CAP_SYS_ADMIN: vendor-specific or Fabrics opcode";
		return r->capable ? 0 : -EACCES;
	}
	if (r->call == CUSE_AUTH_ADMIN) {
		if (r->opcode == nvme_admin_identify && cns_unprivileged(r->cdw10 & 0xff))
			return 0;
		if (r->opcode == nvme_admin_set_features && fid_kernel_owned(r->cdw10 & 0xff)) {
			*why = "the host driver owns this feature (refused for everyone)";
			return -EACCES;
		}
		*why = "needs CAP_SYS_ADMIN: admin command other than the basic Identify";
		return r->capable ? 0 : -EACCES;
	}
	if (io_unprivileged(r, why))
		return 0;
	return r->capable ? 0 : -EACCES;
}

static bool bit_set(const uint64_t bits[4], uint8_t opc)
{
	return bits[opc / 64] >> (opc % 64) & 1;
}

/* What --dev-readonly lets through: nothing that changes any state. */
static bool changes_nothing(const struct cuse_auth_req *r)
{
	if (r->call == CUSE_AUTH_ADMIN) {
		switch (r->opcode) {
		case nvme_admin_get_log_page:
		case nvme_admin_identify:
		case nvme_admin_get_features:
			return true;
		case nvme_admin_fabrics:
			return (r->nsid & 0xff) == nvme_fabrics_type_property_get;
		default:
			return false;
		}
	}
	switch (r->opcode) {
	case nvme_cmd_read:
	case nvme_cmd_compare:
	case nvme_cmd_verify:
		return true;
	default:
		return false;
	}
}

/* Step 2: nvmfuse's rule, for what the kernel's rule allowed. 0 or -EPERM. */
static int nvmfuse_rule(const struct cuse_auth_policy *p, const struct cuse_auth_req *r,
			const char **why)
{
	bool admin = r->call == CUSE_AUTH_ADMIN;

	if (r->call != CUSE_AUTH_ADMIN && r->call != CUSE_AUTH_IO) {
		if (p && p->readonly) {
			*why = "the node is read-only (--dev-readonly)";
			return -EPERM;
		}
		return 0;
	}
	if (r->opcode == nvme_admin_fabrics &&
	    (!admin || (r->nsid & 0xff) != nvme_fabrics_type_property_get)) {
		*why = "the host engine owns the association: Fabrics commands other "
		       "than Property Get are refused";
		return -EPERM;
	}
	if (admin && r->opcode == nvme_admin_set_features &&
	    (r->cdw10 & 0xff) == NVME_FEAT_FID_KATO) {
		*why = "the host engine owns keep-alive: Set Features Keep Alive Timer "
		       "is refused";
		return -EPERM;
	}
	if (!p)
		return 0;
	if (p->readonly && !changes_nothing(r)) {
		*why = "the node is read-only (--dev-readonly)";
		return -EPERM;
	}
	if (admin ? p->allow_admin_set && !bit_set(p->allow_admin, r->opcode)
		  : p->allow_io_set && !bit_set(p->allow_io, r->opcode)) {
		*why = admin ? "opcode not on the admin allow-list (--dev-allow-admin)"
			     : "opcode not on the I/O allow-list (--dev-allow-io)";
		return -EPERM;
	}
	return 0;
}

int cuse_auth_check(const struct cuse_auth_policy *p, const struct cuse_auth_req *r,
		    const char **why)
{
	const char *w = "";
	int rc = kernel_rule(r, &w);

	if (rc == 0) {
		w = "";
		rc = nvmfuse_rule(p, r, &w);
	}
	if (why)
		*why = rc ? w : "";
	return rc;
}

int cuse_auth_parse_opcodes(const char *list, uint64_t bits[4], char *err, size_t errlen)
{
	const char *s = list;

	if (!s || !*s) {
		snprintf(err, errlen, "empty opcode list");
		return -EINVAL;
	}
	for (;;) {
		size_t n = strcspn(s, ",");
		char item[16], *end;
		unsigned long v;

		if (n == 0 || n >= sizeof(item)) {
			snprintf(err, errlen, "bad opcode '%.*s' in '%s'", (int)n, s, list);
			return -EINVAL;
		}
		memcpy(item, s, n);
		item[n] = '\0';
		errno = 0;
		v = strtoul(item, &end, 0);
		if (errno || *end || v > 0xff || item[0] == '-' || item[0] == '+') {
			snprintf(err, errlen, "bad opcode '%s' in '%s' (0..0xff)", item, list);
			return -EINVAL;
		}
		bits[v / 64] |= 1ull << (v % 64);
		s += n;
		if (!*s)
			return 0;
		s++;
	}
}
