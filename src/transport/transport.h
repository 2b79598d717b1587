/* SPDX-License-Identifier: MIT */
/*
 * Transport registry: each transport exposes its ops table here, and the
 * host finds one by name. The arrows run one way: the host includes this
 * header and calls nvmf_transport_find(); a transport includes only the
 * ground layer (base/), never the host. Thread: any; the tables are
 * constant.
 */
#ifndef NVMF_TRANSPORT_H
#define NVMF_TRANSPORT_H

#include <stddef.h>

#include "base/qpair.h"

/*
 * The ops of transport @name ("tcp", "rdma"; NULL or "" is tcp), or NULL
 * with a one-line cause in @err when it is unknown or not built in.
 */
const struct nvmf_transport_ops *nvmf_transport_find(const char *name, char *err,
						     size_t errlen);

const struct nvmf_transport_ops *nvmf_tcp_transport(void);
/* NVMe/RDMA over rdma-core (rdma.c), when built with it (HAVE_RDMA). */
const struct nvmf_transport_ops *nvmf_rdma_transport(void);

#endif
