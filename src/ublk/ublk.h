/* SPDX-License-Identifier: MIT */
/*
 * ublk frontend: one block device /dev/ublkbN per namespace, served from
 * user space through /dev/ublk-control and /dev/ublkcN (Linux 6.12 ublk,
 * default buffer mode).
 *
 * ublk queue q is served by the worker thread that owns NVMe I/O queue q
 * (host/worker.h): its io_uring fd sits in that worker's event loop, a
 * block request becomes an NVMe command submitted on the same thread, and
 * the completion commits the result back to ublk from the same thread. No
 * lock and no thread hop on the data path; buffers are allocated once.
 *
 * Errors follow host/retry.h: a status without DNR is retried (whole,
 * after the Command Retry Delay), up to NVMF_RETRY_BUDGET times; a read
 * whose data arrived only in part (e.g. a data digest failed on a later
 * PDU) is committed as the byte count that really arrived, so the kernel
 * re-issues the remainder; a write is never reported short.
 */
#ifndef NVMF_UBLK_H
#define NVMF_UBLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host/nvmf.h"

struct ublk_dev;

struct ublk_stats {
	uint64_t reads, writes, flushes, discards, write_zeroes;
	uint64_t errors;		/* requests failed back to the kernel */
	uint64_t partial_reads;		/* reads committed short */
	uint64_t retries;		/* NVMe commands sent again (status without DNR) */
	uint64_t requeued;		/* commands held across a reconnect */
};

/*
 * Create and start /dev/ublkbN for namespace @nsid of @c, which must be
 * running (nvmf_ctrl_start) with at least one I/O queue. Blocks until the
 * disk exists (the kernel's partition scan is served meanwhile by the
 * queue workers). Thread: the controller's owner (not a worker). On error
 * returns -errno with a one-line cause in @err.
 */
int ublk_dev_create(struct nvmf_ctrl *c, uint32_t nsid, struct ublk_dev **out, char *err,
		    size_t errlen);

/*
 * Stop the disk (in-flight I/O drains first), release the queues on their
 * workers and delete the device. Consumes @d. If the kernel refuses to
 * stop it, the disk's memory is kept (logged): the kernel may still use
 * it. Thread: the creator.
 */
void ublk_dev_destroy(struct ublk_dev *d);

/* "/dev/ublkbN" */
const char *ublk_dev_path(const struct ublk_dev *d);
uint32_t ublk_dev_nsid(const struct ublk_dev *d);

/*
 * Does the disk still serve the controller's namespace, or has that
 * namespace gone or changed (identity, size, format: then its I/O fails
 * and the disk should be removed)? Thread: any.
 */
bool ublk_dev_current(struct ublk_dev *d);

/*
 * Is the disk in use: mounted, held exclusively, or open by any process?
 * Writes what uses it to @why. Thread: any.
 */
bool ublk_dev_in_use(const struct ublk_dev *d, char *why, size_t len);

/* Sum of the per-queue counters (read racily; for reporting). */
void ublk_dev_stats(const struct ublk_dev *d, struct ublk_stats *out);

#endif
