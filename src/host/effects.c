/* SPDX-License-Identifier: MIT */
/*
 * The controller's Commands Supported and Effects log (NVMe Base 2.0,
 * 5.16.1.6), read once per controller the way the Linux host does
 * (drivers/nvme/host/core.c: nvme_init_effects, nvme_get_effects_log and
 * nvme_init_known_nvm_effects in 6.12): the log when LPA bit 1 says it
 * exists, else zeroes; then the known NVM fix-ups, whatever the controller
 * reported. See nvmf_ctrl_read_effects() in nvmf.h.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "base/log.h"
#include "host/nvmf.h"

void nvmf_effects_apply_known(struct nvme_cmd_effects_log *log)
{
	const uint32_t lbcc = NVME_CMD_EFFECTS_LBCC;
	uint32_t v;

	v = le32toh(log->acs[nvme_admin_format_nvm]);
	log->acs[nvme_admin_format_nvm] =
		htole32(v | lbcc | NVME_CMD_EFFECTS_NCC | NVMF_CMD_EFFECTS_CSE_MASK);
	v = le32toh(log->acs[nvme_admin_sanitize_nvm]);
	log->acs[nvme_admin_sanitize_nvm] = htole32(v | lbcc | NVMF_CMD_EFFECTS_CSE_MASK);
	/* Exclusivity against I/O queues does not apply to an admin command. */
	v = le32toh(log->acs[nvme_admin_security_recv]);
	log->acs[nvme_admin_security_recv] = htole32(v & ~NVMF_CMD_EFFECTS_CSE_MASK);

	log->iocs[nvme_cmd_write] = htole32(le32toh(log->iocs[nvme_cmd_write]) | lbcc);
	log->iocs[nvme_cmd_write_zeroes] =
		htole32(le32toh(log->iocs[nvme_cmd_write_zeroes]) | lbcc);
	log->iocs[nvme_cmd_write_uncor] =
		htole32(le32toh(log->iocs[nvme_cmd_write_uncor]) | lbcc);
}

int nvmf_ctrl_read_effects(struct nvmf_ctrl *c)
{
	int rc = 0;

	memset(&c->effects, 0, sizeof(c->effects));
	if (c->discovery)
		return 0;
	if (c->id.lpa & NVME_CTRL_LPA_CMD_EFFECTS) {
		rc = nvmf_get_log_page(c, NVME_LOG_LID_CMD_EFFECTS, 0, 0, 0, &c->effects,
				       sizeof(c->effects), false);
		if (rc < 0) {
			nvmf_warn("Commands Supported and Effects log unreadable (%s): "
				  "only callers with CAP_SYS_ADMIN may send commands the "
				  "kernel does not know through the CUSE nodes",
				  rc == -EIO ? "refused by the controller" : strerror(-rc));
			memset(&c->effects, 0, sizeof(c->effects));
		}
	}
	nvmf_effects_apply_known(&c->effects);
	/* An NVMe status is no failure of the association (the kernel goes on). */
	return rc == -EIO ? 0 : rc;
}
