/* SPDX-License-Identifier: MIT */
/* Transport registry: each transport exposes its ops table here. */
#ifndef NVMF_TRANSPORT_H
#define NVMF_TRANSPORT_H

#include "host/nvmf.h"

const struct nvmf_transport_ops *nvmf_tcp_transport(void);
/* NVMe/RDMA over rdma-core (rdma.c), when built with it (HAVE_RDMA). */
const struct nvmf_transport_ops *nvmf_rdma_transport(void);

#endif
