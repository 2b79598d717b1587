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
 *
 * Multipath (host/mpath.h), the design: a disk belongs to a subsystem
 * and is served by every live path, but its queues never move. ublk
 * queue q stays on the thread of slot 0's NVMe queue q (the kernel ties
 * a ublk queue to the thread that fetches for it), and each command is
 * sent on the path the subsystem's policy picks: on slot 0 it is
 * submitted on the same thread as before (the single-path disk's data
 * path, unchanged: no hop, one atomic load of the path set plus the
 * path counters); on another path it is posted to that path's worker
 * for queue q (nvmf_worker_post) and its completion comes back to this
 * thread as a task (nvmf_worker_run), then goes through the same retry
 * code. A command that fails with a path error (its queue pair died, a
 * Path Related Status) is sent again at once on another usable path;
 * the failed attempt is over by then (completed by its queue pair or
 * answered by the controller), so a write is never in flight twice.
 * With no usable path it waits while the subsystem holds I/O
 * (nvmf_mpath.hold: reconnecting, before fast-io-fail-tmo), else fails.
 * Hence slot 0 cannot be removed while the disk lives; the other paths
 * come and go (ublk_dev_path_ref before nvmf_mpath_add).
 *
 * Disks outlive the daemon: they are created with ublk user recovery, so
 * when the process dies the kernel keeps /dev/ublkbN (mounted file systems
 * and open files stay) and holds its I/O until another process takes it
 * over with ublk_dev_recover(). Only ublk_dev_destroy() deletes a disk.
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
	uint64_t write_zeroes_by_writes;	/* served by Writes: the controller refused them */
	uint64_t buffer_trims;		/* idle queues' request buffers given back to the kernel */
	uint64_t errors;		/* requests failed back to the kernel */
	uint64_t partial_reads;		/* reads committed short */
	uint64_t retries;		/* NVMe commands sent again (status without DNR) */
	uint64_t requeued;		/* commands held across a reconnect */
	uint64_t failovers;		/* commands sent again on another path */
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
 * Take over disk @dev_id, left QUIESCED by a daemon that died, to serve
 * namespace @nsid of @c (running, as for ublk_dev_create). Checks first
 * that the kernel's device is recoverable and waiting (state QUIESCED),
 * and that its size and block size are the namespace's now; the caller
 * checks the namespace's identity. Then START_USER_RECOVERY, every queue
 * fetches on its worker, END_USER_RECOVERY: the held I/O flows again,
 * the requests the old daemon had taken are re-issued.
 *
 * On error returns -errno with a one-line cause in @err, and the device is
 * left as it is, never deleted: -ENODEV no such device; -EBUSY not
 * quiesced (live, served by someone else) or still held by the old
 * process; -ESTALE it does not match the namespace; -EOPNOTSUPP created
 * without recovery. Thread: the controller's owner (not a worker).
 */
int ublk_dev_recover(struct nvmf_ctrl *c, uint32_t nsid, uint32_t dev_id, struct ublk_dev **out,
		     char *err, size_t errlen);

/* What the kernel says about ublk device @dev_id (UBLK_CMD_GET_DEV_INFO). */
struct ublk_dev_state {
	unsigned int state;		/* UBLK_S_DEV_*: 0 dead, 1 live, 2 quiesced */
	int pid;			/* the serving process, -1 or stale when none */
	bool recoverable;		/* created with user recovery */
	bool quiesced;			/* waiting for a new daemon (state 2) */
};

/* 0, or -ENODEV when there is no such device, or -errno. Thread: any. */
int ublk_dev_probe(uint32_t dev_id, struct ublk_dev_state *out);
/* "dead", "live", "quiesced" */
const char *ublk_state_str(unsigned int state);

/*
 * Delete ublk disk @dev_id that waits for a daemon (QUIESCED), on the
 * user's word: its waiting I/O fails. Refused (-EBUSY) when it is not
 * waiting, or, unless @force, when it is mounted or open. Returns 0 or
 * -errno with a one-line cause in @err. Thread: any.
 */
int ublk_dev_delete_waiting(uint32_t dev_id, bool force, char *err, size_t errlen);

/*
 * Stop the disk (in-flight I/O drains first), release the queues on their
 * workers and delete the device, without waiting for a mount or an opener
 * to let go of it (their I/O fails from then on; the kernel frees the
 * device after them). Consumes @d. If the kernel refuses to
 * stop it, the disk's memory is kept (logged): the kernel may still use
 * it. Thread: the creator.
 */
void ublk_dev_destroy(struct ublk_dev *d);

/* "/dev/ublkbN" */
const char *ublk_dev_path(const struct ublk_dev *d);
uint32_t ublk_dev_nsid(const struct ublk_dev *d);
/* N of /dev/ublkbN */
uint32_t ublk_dev_id(const struct ublk_dev *d);
/* The namespace incarnation the disk serves (identity, geometry). */
const struct nvmf_ns *ublk_dev_ns(const struct ublk_dev *d);
/* Was the disk taken over from a daemon that died? */
bool ublk_dev_recovered(const struct ublk_dev *d);

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

/*
 * Mounted (in any mount namespace) or held exclusively: the part of
 * ublk_dev_in_use() that costs one open, not a walk over every process's
 * fds; for the stop, where many daemons ask at once. Thread: any.
 */
bool ublk_dev_held(const struct ublk_dev *d);

/*
 * Write back what is dirty on the disk, and flush the device's cache: the
 * file system mounted on it (in any mount namespace) is synced whole.
 * Served by the queue workers while this waits, so the controller must be
 * running; returns 0 or -errno (EIO: some of it could not be written).
 * Thread: any but the queue workers.
 */
int ublk_dev_flush(const struct ublk_dev *d);

/* Sum of the per-queue counters (read racily; for reporting). */
void ublk_dev_stats(const struct ublk_dev *d, struct ublk_stats *out);

struct nvmf_mpath;

/*
 * Before path @slot (controller @c, running) is published in the path
 * set: this disk's namespace as @c sees it, the reference its commands
 * on that path carry (a namespace @c no longer has fails them there).
 * The caller checked the identity. -ENOENT with @err when @c lacks the
 * namespace. Thread: the daemon's main thread.
 */
int ublk_dev_path_ref(struct ublk_dev *d, int slot, struct nvmf_ctrl *c, char *err, size_t errlen);
/*
 * Serve the disk over path set @m (slot 0 must be the disk's own
 * controller), or, with NULL, over its controller alone. @m must
 * outlive the disk. Thread: any.
 */
void ublk_dev_set_mpath(struct ublk_dev *d, struct nvmf_mpath *m);

#endif
