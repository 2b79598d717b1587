/* SPDX-License-Identifier: MIT */
/*
 * NVMe/RDMA wire pieces that need no verbs (NVMe over Fabrics 1.1 section
 * 7.3 and the NVMe/RDMA binding): RDMA CM private data, reject reasons,
 * keyed SGL descriptors; and the page allocator for a queue's registered
 * buffer pool. Pure functions, unit tested on any host (tests/unit).
 */
#ifndef NVMF_RDMA_PROTO_H
#define NVMF_RDMA_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/nvmf_spec.h"

#define RDMA_CM_PRIV_LEN	32	/* Connect request private data */
#define RDMA_CM_REJ_LEN		4	/* consumer reject data: RECFMT, STS */
#define RDMA_CM_RECFMT		0	/* record format 1.0 */

/*
 * Fill the 32-byte RDMA CM Connect private data: record format 0, @qid,
 * HRQSIZE = @hrqsize (receive buffers the host posts), HSQSIZE = @hsqsize
 * (0's based, equal to the Fabrics Connect SQSIZE), CNTLID 0.
 */
void rdma_cm_req_build(uint8_t out[RDMA_CM_PRIV_LEN], uint16_t qid, uint16_t hrqsize,
		       uint16_t hsqsize);

/*
 * Decode the private data of a rejected RDMA CM connect. Returns true and
 * the NVMe/RDMA status in *sts when it is a well-formed NVMe reject
 * (at least 4 bytes, RECFMT 0, STS not 0), false otherwise: a CM-level
 * reject (nobody listens) carries all-zero private data.
 */
bool rdma_cm_rej_parse(const void *data, size_t len, uint16_t *sts);
/* The NVMe/RDMA reject status in words ("invalid HSQSIZE", ...). */
const char *rdma_cm_rej_str(uint16_t sts);

/*
 * Parse the controller's Accept private data; *crqsize is its receive
 * queue size (0 when the controller sent none). Returns 0 or -EPROTO for
 * a wrong record format.
 */
int rdma_cm_acc_parse(const void *data, size_t len, uint16_t *crqsize);

/*
 * Keyed SGL data block (SGL type 4): 64-bit address, 24-bit length,
 * 32-bit key. @len must be below 16 MiB. @invalidate asks the controller
 * to Send with Invalidate the key (subtype 0xF).
 */
void rdma_sgl_keyed(struct nvmf_sgl *sgl, uint64_t addr, uint32_t len, uint32_t key,
		    bool invalidate);
/* In-capsule data block at offset 0 (type 0, subtype 1). */
void rdma_sgl_icd(struct nvmf_sgl *sgl, uint32_t len);

/*
 * Page allocator for one queue's registered buffer pool: contiguous runs
 * of @page_size pages, first fit from a moving hint. Single-threaded (the
 * queue's owner thread); no allocation on the I/O path.
 */
struct rdma_pool_map {
	uint64_t *bits;		/* 1 = in use */
	uint32_t npages;
	uint32_t hint;		/* where the next search starts */
	uint32_t used;
};

/* Set up @m for @npages pages. Returns 0 or -ENOMEM. */
int rdma_pool_map_init(struct rdma_pool_map *m, uint32_t npages);
void rdma_pool_map_fini(struct rdma_pool_map *m);
/*
 * Reserve @n contiguous pages. Returns the first page index, or -ENOSPC
 * when no run is free now (-E2BIG when @n exceeds the pool).
 */
int64_t rdma_pool_alloc(struct rdma_pool_map *m, uint32_t n);
/* Release pages [@first, @first + @n). */
void rdma_pool_free(struct rdma_pool_map *m, uint32_t first, uint32_t n);

#endif
