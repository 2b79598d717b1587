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
		return nvmf_rdma_transport();
#else
		snprintf(err, errlen, "transport 'rdma': built without RDMA support "
			 "(rdma-core was missing at configure time)");
		return NULL;
#endif
	}
	snprintf(err, errlen, "unknown transport '%s' (supported: tcp, rdma)", name);
	return NULL;
}
