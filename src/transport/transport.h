/* SPDX-License-Identifier: MIT */
/* Transport registry: each transport exposes its ops table here. */
#ifndef NVMF_TRANSPORT_H
#define NVMF_TRANSPORT_H

#include "host/nvmf.h"

const struct nvmf_transport_ops *nvmf_tcp_transport(void);

#endif
