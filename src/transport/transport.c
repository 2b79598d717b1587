/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "transport/transport.h"

const struct nvmf_transport_ops *nvmf_transport_find(const char *name, char *err,
						     size_t errlen)
{
	if (!name || !*name || !strcmp(name, "tcp"))
		return nvmf_tcp_transport();
	if (!strcmp(name, "rdma")) {
#ifdef HAVE_RDMA
		snprintf(err, errlen, "transport 'rdma' is not implemented yet in this version");
#else
		snprintf(err, errlen, "transport 'rdma': built without RDMA support");
#endif
		return NULL;
	}
	snprintf(err, errlen, "unknown transport '%s' (supported: tcp)", name);
	return NULL;
}
