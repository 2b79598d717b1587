/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include <nvme/util.h>

#include "host/nvmf.h"

const char *nvmf_status_str(uint16_t status)
{
	if (NVMF_STATUS_CODE(status) == NVMF_SC_HOST_PATH_ERROR)
		return "Host Pathing Error";
	if (NVMF_STATUS_CODE(status) == NVMF_SC_HOST_ABORTED_CMD)
		return "Command Aborted By Host";
	return nvme_status_to_string(NVMF_STATUS_CODE(status), false);
}

const char *nvmf_fabrics_status_str(uint16_t status)
{
	return nvme_status_to_string(NVMF_STATUS_CODE(status), true);
}

/* Connect data field offsets (Fabrics 1.1, Figure 20) for IATTR = 1. */
static const char *connect_data_field(uint16_t ipo)
{
	if (ipo < 16)
		return "hostid";
	if (ipo < 18)
		return "cntlid";
	if (ipo >= 256 && ipo < 512)
		return "subnqn";
	if (ipo >= 512 && ipo < 768)
		return "hostnqn";
	return "connect data";
}

static const char *connect_sqe_field(uint16_t ipo)
{
	switch (ipo) {
	case 40: return "recfmt";
	case 42: return "qid";
	case 44: return "sqsize";
	case 46: return "cattr";
	case 48: return "kato";
	default: return "command";
	}
}

void nvmf_connect_error_str(uint16_t status, uint32_t dw0, char *buf, size_t len)
{
	uint16_t code = NVMF_STATUS_CODE(status);

	if (code == NVMF_SC_CONNECT_INVALID_PARAM) {
		uint16_t ipo = dw0 & 0xffff;
		bool in_data = (dw0 >> 16) & 1;
		const char *field = in_data ? connect_data_field(ipo) : connect_sqe_field(ipo);

		if (!strcmp(field, "subnqn"))
			snprintf(buf, len, "subsystem NQN not found on the target "
				 "(Connect Invalid Parameters: subnqn)");
		else
			snprintf(buf, len, "Connect Invalid Parameters: %s", field);
		return;
	}
	if (code == NVMF_SC_CONNECT_INVALID_HOST) {
		snprintf(buf, len, "host NQN not allowed by the target (Connect Invalid Host)");
		return;
	}
	snprintf(buf, len, "%s", nvmf_fabrics_status_str(status));
}
