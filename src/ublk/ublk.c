/* SPDX-License-Identifier: MIT */
/*
 * ublk server for one namespace. Control commands go through an SQE128
 * io_uring on /dev/ublk-control from the creating thread; each queue has
 * its own io_uring, created and driven on its NVMe queue's worker thread
 * (the kernel makes the thread that sends a queue's FETCH commands that
 * queue's daemon, and requires every later command from it).
 *
 * Per tag: FETCH_REQ -> (request arrives) -> NVMe command -> completion ->
 * COMMIT_AND_FETCH_REQ with the result, all on the worker thread.
 *
 * User recovery: disks are created with UBLK_F_USER_RECOVERY, so when the
 * daemon dies (crash, kill -9) the kernel keeps /dev/ublkbN, quiesces it
 * (state QUIESCED) and queues new I/O until a new daemon takes over:
 * GET_DEV_INFO (QUIESCED, the old /dev/ublkcN closed) -> START_USER_RECOVERY
 * -> open /dev/ublkcN, mmap and FETCH_REQ every tag on each queue's worker
 * -> END_USER_RECOVERY, and the queued requests flow again.
 */
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <liburing.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "host/mpath.h"
#include "host/retry.h"
#include "host/worker.h"
#include "ublk/ublk.h"
#include "ublk/ublk_uapi.h"

#define UBLK_CONTROL		"/dev/ublk-control"
#define UBLK_MAX_IO_BYTES	(512 * 1024)
#define UBLK_IO_TIMEOUT_MS	30000
/* Read/Write CDW12 [31:16] holds libnvme's enum nvme_io_control_flags. */
#define UBLK_RW_FUA		((uint32_t)NVME_IO_FUA << 16)
static_assert(UBLK_RW_FUA == 1u << 30, "FUA is Read/Write CDW12 bit 30");

struct ublk_queue;
struct ublk_orphans;

struct ublk_io {
	struct ublk_queue *q;		/* NULL once orphaned (see ublk_orphans) */
	struct nvmf_ring_handler rh;	/* the worker's ring: this tag's CQEs */
	struct ublk_orphans *orphans;
	uint16_t tag;
	uint8_t op;
	uint8_t attempts;		/* sends of the current NVMe command */
	uint32_t bytes;			/* request size */
	void *buf;
	struct nvmf_stable_buf sbuf;	/* @buf, for transports that register it (RDMA) */
	struct nvmf_request req;
	uint8_t dsm_range[16];
	/* Write Zeroes served by Writes of zeroes: the blocks not yet written. */
	uint64_t wz_slba;
	uint32_t wz_left;
	/* ANA: when the command first met an ANA status (0: never), and given up. */
	uint64_t ana_since_ns;
	bool ana_expired;
	bool busy;			/* between its request (FETCH CQE) and the commit */
	/* Multipath (see ublk.h): where the command in flight went. */
	int slot;			/* its path's slot, 0 the local one */
	struct nvmf_mpath_path *path;	/* NULL without a path set */
	struct nvmf_worker_task hop;	/* a remote completion back to the queue's thread */
};

/*
 * Each tag's buffer is as large as the largest request (512 KiB), and
 * blk-mq spreads requests over all tags, so a busy queue ends up with its
 * whole depth x 512 KiB (64 MiB) resident. After UBLK_TRIM_IDLE_MS with no
 * request, the buffers of idle tags are given back (MADV_DONTNEED: fresh
 * zero pages on the next touch), so an idle disk costs no memory however
 * busy it was. The kernel copies into a buffer only from task work that
 * runs on this queue's worker thread, never during the madvise.
 *
 * The check is a deferred call on the worker; the queue may be gone
 * before it runs, so it holds a token the queue lets go of at its end.
 */
#define UBLK_TRIM_IDLE_MS 10000

struct trim_token {
	struct ublk_queue *q;		/* NULL: the queue is gone; the call frees the token */
};

/*
 * The source of Writes of zeroes (see wz_by_writes). Never written, so it
 * stays in .bss on the kernel's shared zero page: no memory per disk.
 */
static uint8_t zero_buf[UBLK_MAX_IO_BYTES] __attribute__((aligned(4096)));

/*
 * The ring a queue's commands go on. By default the worker's own
 * (nvmf_worker_ring(): the worker then waits for ublk requests, socket
 * bytes and its other fds in one io_uring_enter, and the commits of
 * completed requests go in with that same enter); with the worker's epoll
 * loop, a ring of the queue's own, watched through its fd and submitted
 * from an idle hook, as before.
 *
 * On the worker's ring, commands can outlive the queue: a disk that never
 * started keeps its FETCH_REQs until DEL_DEV (after the queue is done)
 * cancels them, and the worker's ring lives on. Their CQEs point at the
 * queue's ublk_io array, so the queue hands it (and the buffers the kernel
 * was given) to a ublk_orphans, which frees it when the last one is back.
 * Worker thread only.
 */
struct ublk_orphans {
	struct ublk_io *ios;
	uint16_t depth;
	uint32_t left;			/* commands still in the kernel */
};

struct ublk_queue {
	struct ublk_dev *d;
	uint16_t q_id;
	struct nvmf_worker *w;
	struct nvmf_qpair *qp;
	struct io_uring *ring;		/* &own, or the worker's */
	bool shared;			/* the worker's ring */
	struct io_uring own;
	bool own_ok;
	uint32_t inflight;		/* FETCH/COMMIT_AND_FETCH commands in the kernel */
	struct ublksrv_io_desc *iods;
	size_t iods_len;
	struct ublk_io *ios;
	bool need_submit;
	bool stopping;
	int err;
	struct ublk_stats stats;
	struct trim_token *trim;	/* armed check, or NULL */
	uint64_t trim_seen;		/* requests counted at the last check */
	uint64_t requests;		/* every request taken from the kernel */
	unsigned int rr;		/* round-robin cursor (nvmf_mpath_select) */
};

struct ublk_dev {
	struct nvmf_ctrl *c;
	struct nvmf_ns ns;
	struct nvmf_ns_ref ref;		/* the namespace incarnation this disk serves */
	unsigned int lba_shift;
	int ctl_fd;
	struct io_uring ctl;
	bool ctl_ok;
	int cdev_fd;
	struct ublksrv_ctrl_dev_info info;
	bool added, started;		/* ours to stop and delete */
	bool recovered;			/* taken over from a daemon that died */
	/*
	 * The controller refused a Write Zeroes it advertises (nvmet on a
	 * tmpfs file does): serve them as Writes of zeroes from then on, so
	 * mkfs and BLKZEROOUT work without block-layer errors. Set by any
	 * queue's worker, read by all (relaxed atomics: a queue that sees it
	 * late only sends one more Write Zeroes and falls back the same way).
	 */
	bool wz_by_writes;
	/*
	 * The subsystem's paths (ublk_dev_set_mpath), atomic, NULL: only the
	 * disk's own controller. pref[slot] is this disk's namespace as the
	 * path in that slot sees it (pref[0] unused: ref above).
	 */
	struct nvmf_mpath *mp;
	struct nvmf_ns_ref pref[NVMF_MPATH_MAX];
	struct ublk_queue *queues;
	int nr_queues;
	char path[32];
	char cpath[32];
};

/* ----------------------------------------------------- control commands */

static void prep_uring_cmd(struct io_uring_sqe *sqe, int fd, uint32_t cmd_op, const void *cmd,
			   size_t cmd_len, size_t sqe_size)
{
	memset(sqe, 0, sqe_size);
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = fd;
	sqe->off = cmd_op;		/* cmd_op shares the low 32 bits of off */
	memcpy(sqe->cmd, cmd, cmd_len);
}

static int ctrl_cmd(struct ublk_dev *d, uint32_t op, uint64_t addr, uint16_t len, uint64_t data0)
{
	struct ublksrv_ctrl_cmd cmd = {
		.dev_id = d->info.dev_id,
		.queue_id = (uint16_t)-1,
		.len = len,
		.addr = addr,
		.data = { data0 },
	};
	struct io_uring_sqe *sqe = io_uring_get_sqe(&d->ctl);
	struct io_uring_cqe *cqe;
	int rc;

	if (!sqe)
		return -EBUSY;
	prep_uring_cmd(sqe, d->ctl_fd, op, &cmd, sizeof(cmd), 128);
	rc = io_uring_submit_and_wait(&d->ctl, 1);
	if (rc < 0)
		return rc;
	rc = io_uring_wait_cqe(&d->ctl, &cqe);
	if (rc < 0)
		return rc;
	rc = cqe->res;
	io_uring_cqe_seen(&d->ctl, cqe);
	return rc;
}

/* ------------------------------------------------------------ data path */

/* A FETCH_REQ or COMMIT_AND_FETCH_REQ for @io on the queue's ring. Returns 0 or -EBUSY. */
static int queue_cmd(struct ublk_queue *q, struct ublk_io *io, uint32_t op, int result)
{
	struct ublksrv_io_cmd cmd = {
		.q_id = q->q_id,
		.tag = io->tag,
		.result = result,
		.addr = (uint64_t)(uintptr_t)io->buf,
	};
	struct io_uring_sqe *sqe;

	if (q->shared) {
		sqe = nvmf_worker_sqe(q->w);
	} else {
		sqe = io_uring_get_sqe(q->ring);
		if (!sqe) {	/* cannot happen: one SQE per tag at most */
			io_uring_submit(q->ring);
			sqe = io_uring_get_sqe(q->ring);
		}
	}
	if (!sqe)
		return -EBUSY;
	prep_uring_cmd(sqe, q->d->cdev_fd, op, &cmd, sizeof(cmd), 64);
	if (q->shared)
		io_uring_sqe_set_data(sqe, &io->rh);
	else
		sqe->user_data = io->tag;
	q->inflight++;
	return 0;
}

static void commit(struct ublk_queue *q, struct ublk_io *io, int result)
{
	if (queue_cmd(q, io, UBLK_U_IO_COMMIT_AND_FETCH_REQ, result) < 0) {
		nvmf_err("%s: queue %u: no SQE to commit tag %u", q->d->path, q->q_id, io->tag);
		return;
	}
	io->busy = false;
	q->need_submit = true;
	if (result < 0)
		q->stats.errors++;
}

static void io_done(struct nvmf_request *req);

/* Worker of a remote path: hand the completion to the queue's own thread. */
static void io_remote_done(struct nvmf_request *req)
{
	struct ublk_io *io = req->cb_arg;

	nvmf_worker_run(io->q->w, &io->hop);
}

static void io_hop(void *arg)
{
	struct ublk_io *io = arg;

	io_done(&io->req);
}

/*
 * Send @io's command on the path in @slot: slot 0 (and no path set) on
 * the queue's own worker, as a single-path disk always did; another slot
 * posted to that path's worker for this queue, the completion coming
 * back through io_remote_done. A slot emptied meanwhile means slot 0.
 * Queue's worker thread.
 */
static void io_send_on(struct ublk_queue *q, struct ublk_io *io, int slot)
{
	struct ublk_dev *d = q->d;
	struct nvmf_mpath *m = __atomic_load_n(&d->mp, __ATOMIC_ACQUIRE);
	struct nvmf_mpath_path *p = m ? nvmf_mpath_get(m, slot) : NULL;
	struct nvmf_request *req = &io->req;

	if (!p && m) {
		slot = 0;
		p = nvmf_mpath_get(m, 0);
	}
	io->slot = p ? slot : 0;
	io->path = p;
	if (p) {
		__atomic_add_fetch(&p->inflight, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&p->ios, 1, __ATOMIC_RELAXED);
	}
	if (io->slot == 0) {
		req->ns_ref = &d->ref;	/* never sent to a changed namespace */
		req->cb = io_done;
		nvmf_worker_submit(q->w, req);
		return;
	}
	req->ns_ref = &d->pref[io->slot];
	req->cb = io_remote_done;
	nvmf_worker_post(p->ctrl->io_workers[q->q_id % p->ctrl->nr_ioq], req);
}

/* How often a command with no usable path among several looks again. */
#define MPATH_WAIT_MS 100
static void io_wait_path(void *arg);

/*
 * Send @io's command on the path the policy picks. With several paths and
 * none usable while the subsystem holds I/O, it waits for one
 * (io_wait_path), as the kernel host queues a bio on the namespace head:
 * sent to slot 0 it would go to a path whose group is inaccessible, or
 * whose association is gone, only to come back failed. Otherwise slot 0
 * (one path: its worker holds across a reconnect, and an ANA status waits
 * for the group there).
 */
static void io_send(struct ublk_queue *q, struct ublk_io *io)
{
	struct nvmf_mpath *m = __atomic_load_n(&q->d->mp, __ATOMIC_ACQUIRE);
	int slot = m ? nvmf_mpath_select(m, q->d->ns.nsid, &q->rr, -1) : 0;

	if (slot < 0 && nvmf_mpath_count(m) > 1 && __atomic_load_n(&m->hold, __ATOMIC_ACQUIRE) &&
	    !q->stopping && nvmf_worker_defer(q->w, MPATH_WAIT_MS, io_wait_path, io) == 0) {
		q->stats.requeued++;
		return;
	}
	io_send_on(q, io, slot < 0 ? 0 : slot);
}

static void io_resubmit(void *arg)
{
	struct ublk_io *io = arg;

	io->attempts++;
	io_send(io->q, io);
}

/*
 * No path is usable and the subsystem holds I/O (reconnecting): look
 * again in MPATH_WAIT_MS. Deferred calls run at the worker's stop too:
 * the command is then sent, and fails, as held ones do.
 */
static void io_wait_path(void *arg)
{
	struct ublk_io *io = arg;
	struct ublk_queue *q = io->q;
	struct nvmf_mpath *m = __atomic_load_n(&q->d->mp, __ATOMIC_ACQUIRE);

	if (m && nvmf_mpath_select(m, q->d->ns.nsid, &q->rr, -1) < 0 &&
	    __atomic_load_n(&m->hold, __ATOMIC_ACQUIRE) && !q->stopping &&
	    nvmf_worker_defer(q->w, MPATH_WAIT_MS, io_wait_path, io) == 0)
		return;
	io_send(q, io);
}

/*
 * A path failure (host/mpath.h) on a disk with several paths: send the
 * command again at once on another usable path, or wait for one while
 * the subsystem holds I/O. The failed attempt is over (its queue pair
 * completed it, or the controller answered), so a write is never in
 * flight twice. Not counted as a retry. Returns false when nothing was
 * done: no other path, no hold; the caller fails the request as before.
 */
static bool io_failover(struct ublk_queue *q, struct ublk_io *io, struct nvmf_mpath_path *failed)
{
	struct nvmf_mpath *m = __atomic_load_n(&q->d->mp, __ATOMIC_ACQUIRE);
	int slot = nvmf_mpath_failover(m, q->d->ns.nsid, &q->rr, io->slot, failed,
				       io->req.status, io->req.xport_err);

	if (slot == -EINVAL)
		return false;
	if (slot >= 0) {
		q->stats.failovers++;
		nvmf_debug("%s: tag %u: path %d failed (%s), sent on path %d", q->d->path, io->tag,
			   io->slot, io->req.xport_err ? strerror(-io->req.xport_err) :
			   nvmf_status_str(io->req.status), slot);
		io->req.status = 0;
		io->req.xport_err = 0;
		io_send_on(q, io, slot);
		return true;
	}
	if (!__atomic_load_n(&m->hold, __ATOMIC_ACQUIRE) ||
	    nvmf_worker_defer(q->w, MPATH_WAIT_MS, io_wait_path, io) < 0)
		return false;
	q->stats.requeued++;
	return true;
}

/*
 * Write Zeroes as Writes of zeroes, one chunk of at most the disk's
 * largest transfer at a time (one request's blocks never exceed 65536,
 * max_write_zeroes_sectors). Worker thread of @q.
 */
static void wz_send(struct ublk_queue *q, struct ublk_io *io)
{
	unsigned int shift = q->d->lba_shift;
	uint32_t max = q->d->info.max_io_buf_bytes >> shift;
	uint32_t n = io->wz_left < max ? io->wz_left : max;
	struct nvmf_request *req = &io->req;

	memset(&req->cmd, 0, sizeof(req->cmd));
	req->cmd.opc = nvme_cmd_write;
	req->cmd.nsid = htole32(q->d->ns.nsid);
	req->cmd.cdw10 = htole32((uint32_t)io->wz_slba);
	req->cmd.cdw11 = htole32((uint32_t)(io->wz_slba >> 32));
	req->cmd.cdw12 = htole32(n - 1);
	req->data = zero_buf;
	req->data_len = (size_t)n << shift;
	req->dir = NVMF_DIR_H2C;
	req->status = 0;
	req->xport_err = 0;
	io->attempts = 1;
	io->wz_slba += n;
	io->wz_left -= n;
	io_send(q, io);
}

/* A Write Zeroes the controller refuses as unsupported (Invalid Opcode, ONCS Not Supported). */
static bool wz_refused(const struct ublk_io *io, const struct nvmf_request *req)
{
	uint16_t sc = NVMF_STATUS_CODE(req->status);

	return io->op == UBLK_IO_OP_WRITE_ZEROES && !io->wz_left &&
	       req->cmd.opc == nvme_cmd_write_zeroes && !req->xport_err &&
	       (sc == NVMF_SC_INVALID_OPCODE || sc == NVMF_SC_ONCS_NOT_SUPPORTED);
}

/* Serve @io (a Write Zeroes) by Writes of zeroes, and all later ones too. */
static void wz_start(struct ublk_queue *q, struct ublk_io *io)
{
	struct ublk_dev *d = q->d;
	const struct ublksrv_io_desc *iod = &q->iods[io->tag];

	if (!__atomic_exchange_n(&d->wz_by_writes, true, __ATOMIC_RELAXED))
		nvmf_warn("%s: the controller refuses Write Zeroes (%s); zeroing by writes from now on",
			  d->path, nvmf_status_str(io->req.status));
	q->stats.write_zeroes_by_writes++;
	io->wz_slba = (iod->start_sector << 9) >> d->lba_shift;
	io->wz_left = (uint32_t)(((uint64_t)iod->nr_sectors << 9) >> d->lba_shift);
	wz_send(q, io);
}

static void io_done(struct nvmf_request *req);
static void io_ana_look(void *arg);

/*
 * The command met an ANA status (Inaccessible, Transition): look at its
 * namespace's ANA state now (@first: from that completion) and resubmit
 * it, look again later, or give up (host/retry.h). Worker thread of @io.
 */
static void io_ana_wait(struct ublk_io *io, bool first)
{
	struct ublk_queue *q = io->q;
	struct nvmf_ctrl *c = q->d->c;
	struct nvmf_mpath *m = __atomic_load_n(&q->d->mp, __ATOMIC_ACQUIRE);
	struct nvmf_ana_wait_decision w;

	/* Another path whose group is usable takes it at once (io_send picks it). */
	if (m && nvmf_mpath_count(m) > 1 && nvmf_mpath_select(m, q->d->ns.nsid, &q->rr, -1) >= 0) {
		nvmf_ctrl_ana_count_retry(c);
		q->stats.retries++;
		io_send(q, io);
		return;
	}
	w = nvmf_retry_ana_wait_ctrl(c, q->w, q->d->ns.nsid, &io->ana_since_ns, first);
	switch (w.action) {
	case NVMF_ANA_WAIT_RESUBMIT:
		nvmf_ctrl_ana_count_retry(c);
		q->stats.retries++;
		io_send(q, io);
		return;
	case NVMF_ANA_WAIT_MORE:
		if (nvmf_worker_defer(q->w, w.delay_ms, io_ana_look, io) == 0)
			return;
		w.why = "the queue is stopping";
		break;
	case NVMF_ANA_WAIT_FAIL:
		break;
	}
	nvmf_warn("%s: tag %u: %s: failing it", q->d->path, io->tag, w.why);
	io->ana_expired = true;
	io_done(&io->req);	/* the failure path, with the ANA status it carries */
}

static void io_ana_look(void *arg)
{
	io_ana_wait(arg, false);
}

/* io_done() for the attempt that went to @path (NULL: no path set). */
static void io_finish(struct ublk_queue *q, struct ublk_io *io, struct nvmf_mpath_path *path)
{
	struct nvmf_request *req = &io->req;
	struct nvmf_retry_decision d;
	int result;

	if (!q)
		return;		/* orphaned: the disk is gone, nothing to answer */
	d = nvmf_retry_decide_ctrl(req, io->attempts, &q->d->c->id, 1u << q->d->lba_shift);
	if ((d.action == NVMF_RETRY_RECONNECT || d.action == NVMF_RETRY_AGAIN ||
	     (d.action == NVMF_RETRY_ANA_WAIT && !io->ana_expired)) && io_failover(q, io, path))
		return;
	if (d.action == NVMF_RETRY_RECONNECT && nvmf_worker_holding(q->w)) {
		/* The connection is being re-established: wait in line for it. */
		q->stats.requeued++;
		io_send_on(q, io, 0);
		return;
	}
	if (d.action == NVMF_RETRY_ANA_WAIT && !io->ana_expired) {
		io_ana_wait(io, true);
		return;
	}
	if (d.action == NVMF_RETRY_AGAIN) {
		/* Buffers are free: the engine calls back once nothing is in flight. */
		q->stats.retries++;
		nvmf_debug("%s: tag %u: %s, retry %u in %u ms", q->d->path, io->tag, d.why,
			   io->attempts, d.delay_ms);
		if (!d.delay_ms || nvmf_worker_defer(q->w, d.delay_ms, io_resubmit, io) < 0)
			io_resubmit(io);
		return;
	}
	if (d.action == NVMF_RETRY_COMPLETE && io->wz_left) {
		wz_send(q, io);		/* the next chunk of zeroes */
		return;
	}
	if (d.action != NVMF_RETRY_COMPLETE && wz_refused(io, req)) {
		wz_start(q, io);
		return;
	}
	if (d.action == NVMF_RETRY_COMPLETE) {
		result = (io->op == UBLK_IO_OP_READ || io->op == UBLK_IO_OP_WRITE) ?
			 (int)io->bytes : 0;
	} else if (d.action == NVMF_RETRY_PARTIAL && io->op == UBLK_IO_OP_READ) {
		/*
		 * Partial completion: the first done_bytes arrived intact. Hand
		 * those to the kernel; it re-issues the rest as a new request.
		 */
		result = (int)d.done_bytes;
		q->stats.partial_reads++;
	} else {
		uint16_t sc = NVMF_STATUS_CODE(req->status);
		bool unsupported = !req->xport_err &&
				   (sc == NVMF_SC_INVALID_OPCODE || sc == NVMF_SC_ONCS_NOT_SUPPORTED);

		/*
		 * Invalid Opcode: the kernel then stops sending this operation
		 * (e.g. nvmet on tmpfs rejects Write Zeroes it advertises).
		 */
		if (req->xport_err)
			nvmf_debug("%s: tag %u op %u failed: %s", q->d->path, io->tag, io->op,
				   strerror(-req->xport_err));
		else if (unsupported)
			nvmf_debug("%s: op %u not supported by the controller", q->d->path, io->op);
		else
			nvmf_warn("%s: op %u failed: %s (0x%03x)", q->d->path, io->op,
				  nvmf_status_str(req->status), NVMF_STATUS_CODE(req->status));
		result = unsupported ? -EOPNOTSUPP : -EIO;
	}
	commit(q, io, result);
}

/*
 * A command's completion, on the queue's thread. Its path's in-flight
 * count drops only afterwards: the daemon frees a removed path once that
 * count is 0, and io_finish still counts a failover on it.
 */
static void io_done(struct nvmf_request *req)
{
	struct ublk_io *io = req->cb_arg;
	struct nvmf_mpath_path *path = io->path;

	io->path = NULL;
	io_finish(io->q, io, path);
	if (path)
		__atomic_sub_fetch(&path->inflight, 1, __ATOMIC_RELAXED);
}

static void trim_arm(struct ublk_queue *q);

/*
 * @io's buffer is about to lose its pages (given back, or freed), with no
 * command in it outstanding: the queue pair of @w, the thread we run on,
 * drops its registration now, and a new generation makes any other queue
 * pair's (a multipath path's) stale at its next use. Worker thread.
 */
static void buf_renew(struct nvmf_worker *w, struct ublk_io *io)
{
	nvmf_qpair_forget_buf(w ? nvmf_worker_qpair(w) : NULL, &io->sbuf);
	nvmf_stable_buf_renew(&io->sbuf);
}

/* UBLK_TRIM_IDLE_MS after trim_arm: give back the idle tags' buffers, or look again later. */
static void trim_fire(void *arg)
{
	struct trim_token *t = arg;
	struct ublk_queue *q = t->q;
	long page = sysconf(_SC_PAGESIZE);
	size_t len;

	free(t);
	if (!q)
		return;
	q->trim = NULL;
	if (q->requests != q->trim_seen) {
		trim_arm(q);		/* not idle for a whole period yet */
		return;
	}
	len = ((size_t)q->d->info.max_io_buf_bytes + (size_t)page - 1) / (size_t)page * (size_t)page;
	for (uint16_t i = 0; i < q->d->info.queue_depth; i++)
		if (!q->ios[i].busy && q->ios[i].buf) {
			buf_renew(q->w, &q->ios[i]);
			madvise(q->ios[i].buf, len, MADV_DONTNEED);
		}
	q->stats.buffer_trims++;
}

static void trim_arm(struct ublk_queue *q)
{
	struct trim_token *t;

	if (q->trim)
		return;
	t = malloc(sizeof(*t));
	if (!t)
		return;		/* no trim this time: only memory, never data */
	t->q = q;
	if (nvmf_worker_defer(q->w, UBLK_TRIM_IDLE_MS, trim_fire, t) < 0) {
		free(t);
		return;
	}
	q->trim = t;
	q->trim_seen = q->requests;
}

static void handle_io(struct ublk_queue *q, struct ublk_io *io)
{
	const struct ublksrv_io_desc *iod = &q->iods[io->tag];
	struct nvmf_request *req = &io->req;
	unsigned int shift = q->d->lba_shift;
	uint64_t slba = (iod->start_sector << 9) >> shift;
	uint32_t nlb = (uint32_t)(((uint64_t)iod->nr_sectors << 9) >> shift);

	io->op = (uint8_t)(iod->op_flags & 0xff);
	io->bytes = iod->nr_sectors << 9;
	io->attempts = 1;
	io->wz_left = 0;
	io->ana_since_ns = 0;
	io->ana_expired = false;
	io->busy = true;
	q->requests++;
	trim_arm(q);
	memset(req, 0, sizeof(*req));
	req->cmd.nsid = htole32(q->d->ns.nsid);
	req->timeout_ms = UBLK_IO_TIMEOUT_MS;
	req->cb = io_done;
	req->cb_arg = io;

	switch (io->op) {
	case UBLK_IO_OP_READ:
	case UBLK_IO_OP_WRITE:
		if (!nlb || io->bytes > q->d->info.max_io_buf_bytes) {
			commit(q, io, -EINVAL);
			return;
		}
		req->cmd.opc = io->op == UBLK_IO_OP_READ ? nvme_cmd_read : nvme_cmd_write;
		req->cmd.cdw10 = htole32((uint32_t)slba);
		req->cmd.cdw11 = htole32((uint32_t)(slba >> 32));
		req->cmd.cdw12 = htole32((nlb - 1) | ((iod->op_flags & UBLK_IO_F_FUA) ? UBLK_RW_FUA : 0));
		req->data = io->buf;
		req->data_len = io->bytes;
		req->sbuf = &io->sbuf;
		req->dir = io->op == UBLK_IO_OP_READ ? NVMF_DIR_C2H : NVMF_DIR_H2C;
		if (io->op == UBLK_IO_OP_READ)
			q->stats.reads++;
		else
			q->stats.writes++;
		break;
	case UBLK_IO_OP_FLUSH:
		req->cmd.opc = nvme_cmd_flush;
		q->stats.flushes++;
		break;
	case UBLK_IO_OP_DISCARD: {
		uint32_t cattr = 0, n = htole32(nlb);
		uint64_t s = htole64(slba);

		memcpy(io->dsm_range, &cattr, 4);
		memcpy(io->dsm_range + 4, &n, 4);
		memcpy(io->dsm_range + 8, &s, 8);
		req->cmd.opc = nvme_cmd_dsm;
		req->cmd.cdw10 = 0;			/* one range, 0's based */
		req->cmd.cdw11 = htole32(NVME_DSMGMT_AD);
		req->data = io->dsm_range;
		req->data_len = sizeof(io->dsm_range);
		req->dir = NVMF_DIR_H2C;
		q->stats.discards++;
		break;
	}
	case UBLK_IO_OP_WRITE_ZEROES:
		if (!nlb || nlb > 65536) {
			commit(q, io, -EINVAL);
			return;
		}
		q->stats.write_zeroes++;
		if (__atomic_load_n(&q->d->wz_by_writes, __ATOMIC_RELAXED)) {
			wz_start(q, io);
			return;
		}
		req->cmd.opc = nvme_cmd_write_zeroes;
		req->cmd.cdw10 = htole32((uint32_t)slba);
		req->cmd.cdw11 = htole32((uint32_t)(slba >> 32));
		req->cmd.cdw12 = htole32(nlb - 1);
		break;
	default:
		commit(q, io, -EOPNOTSUPP);
		return;
	}
	/* Queues the command when other disks' commands fill the queue pair. */
	io_send(q, io);
}

/* The kernel answered @io's FETCH or COMMIT_AND_FETCH with @res. */
static void io_cqe(struct ublk_queue *q, struct ublk_io *io, int res)
{
	q->inflight--;
	if (res == UBLK_IO_RES_OK) {
		handle_io(q, io);
	} else if (res == UBLK_IO_RES_ABORT) {
		q->stopping = true;
	} else {
		if (!q->err)
			nvmf_err("%s: queue %u tag %u: ublk command failed: %s", q->d->path,
				 q->q_id, io->tag, strerror(-res));
		q->err = res;
	}
}

/* The worker's ring: a CQE of one tag. */
static void io_ring_cqe(struct nvmf_ring_handler *h, int res, uint32_t flags)
{
	struct ublk_io *io = (struct ublk_io *)((char *)h - offsetof(struct ublk_io, rh));
	struct ublk_orphans *o = io->orphans;

	(void)flags;
	if (io->q) {
		io_cqe(io->q, io, res);
		return;
	}
	if (o && --o->left == 0) {
		for (uint16_t t = 0; t < o->depth; t++) {
			buf_renew(nvmf_worker_self(), &o->ios[t]);
			free(o->ios[t].buf);
		}
		free(o->ios);
		free(o);
	}
}

/* The queue's own ring (epoll loop): its fd is readable. */
static void ring_ready(struct nvmf_worker *w, int fd, uint32_t events, void *arg)
{
	struct ublk_queue *q = arg;
	struct io_uring_cqe *cqe;

	while (io_uring_peek_cqe(q->ring, &cqe) == 0) {
		uint16_t tag = (uint16_t)cqe->user_data;
		int res = cqe->res;

		io_uring_cqe_seen(q->ring, cqe);
		if (tag < q->d->info.queue_depth)
			io_cqe(q, &q->ios[tag], res);
	}
}

static void queue_idle(void *arg)
{
	struct ublk_queue *q = arg;

	if (q->need_submit) {
		q->need_submit = false;
		io_uring_submit(q->ring);
	}
}

/*
 * The queue is done but @q->inflight of its commands are still in the
 * kernel, on the worker's ring: hand its ublk_io array and buffers to
 * their last CQE (see struct ublk_orphans).
 */
static void queue_orphan(struct ublk_queue *q)
{
	struct ublk_orphans *o = malloc(sizeof(*o));
	uint16_t depth = q->d->info.queue_depth;

	nvmf_debug("%s: queue %u: %u command(s) still in the kernel; freed when they end",
		   q->d->path, q->q_id, q->inflight);
	if (o) {
		o->ios = q->ios;
		o->depth = depth;
		o->left = q->inflight;
	} else {
		nvmf_warn("%s: queue %u: out of memory: its buffers are kept", q->d->path, q->q_id);
	}
	for (uint16_t t = 0; t < depth; t++) {
		q->ios[t].q = NULL;
		q->ios[t].orphans = o;
	}
	q->ios = NULL;
	q->inflight = 0;
}

/* ---------------------------------------------------- queue life cycle */

static void queue_fini(void *arg)
{
	struct ublk_queue *q = arg;
	uint16_t depth = q->d->info.queue_depth;

	if (q->trim) {
		q->trim->q = NULL;	/* the pending check frees it */
		q->trim = NULL;
	}
	if (q->own_ok) {
		nvmf_worker_del_idle(q->w, queue_idle, q);
		nvmf_worker_del_fd(q->w, q->own.ring_fd);
		io_uring_queue_exit(&q->own);	/* ends its commands */
		q->own_ok = false;
	} else if (q->shared && q->ios && q->inflight) {
		queue_orphan(q);
	}
	if (q->iods)
		munmap(q->iods, q->iods_len);
	q->iods = NULL;
	if (q->ios)
		for (uint16_t t = 0; t < depth; t++) {
			buf_renew(q->w, &q->ios[t]);
			free(q->ios[t].buf);
		}
	free(q->ios);
	q->ios = NULL;
}

/* Runs on the queue's worker: becomes the ublk daemon thread of this queue. */
static void queue_init(void *arg)
{
	struct ublk_queue *q = arg;
	struct ublk_dev *d = q->d;
	uint16_t depth = d->info.queue_depth;
	long page = sysconf(_SC_PAGESIZE);
	size_t stride = (UBLK_MAX_QUEUE_DEPTH_BYTES + (size_t)page - 1) / (size_t)page * (size_t)page;
	int rc;

	q->qp = nvmf_worker_qpair(q->w);
	q->ring = nvmf_worker_ring(q->w);
	q->shared = q->ring != NULL;
	if (!q->shared) {
		rc = io_uring_queue_init(depth, &q->own, 0);
		if (rc < 0) {
			q->err = rc;
			return;
		}
		q->own_ok = true;
		q->ring = &q->own;
	}
	q->iods_len = ((size_t)depth * sizeof(struct ublksrv_io_desc) + (size_t)page - 1) /
		      (size_t)page * (size_t)page;
	q->iods = mmap(NULL, q->iods_len, PROT_READ, MAP_SHARED | MAP_POPULATE, d->cdev_fd,
		       UBLKSRV_CMD_BUF_OFFSET + (off_t)q->q_id * (off_t)stride);
	if (q->iods == MAP_FAILED) {
		q->iods = NULL;
		q->err = -errno;
		return;
	}
	q->ios = calloc(depth, sizeof(*q->ios));
	if (!q->ios) {
		q->err = -ENOMEM;
		return;
	}
	for (uint16_t t = 0; t < depth; t++) {
		struct ublk_io *io = &q->ios[t];

		io->q = q;
		io->tag = t;
		io->rh.fn = io_ring_cqe;
		io->hop.fn = io_hop;
		io->hop.arg = io;
		if (posix_memalign(&io->buf, (size_t)page, d->info.max_io_buf_bytes)) {
			io->buf = NULL;
			q->err = -ENOMEM;
			return;
		}
		io->sbuf.base = io->buf;
		io->sbuf.len = d->info.max_io_buf_bytes;
		nvmf_stable_buf_renew(&io->sbuf);
		rc = queue_cmd(q, io, UBLK_U_IO_FETCH_REQ, 0);
		if (rc < 0) {
			q->err = rc;
			return;
		}
	}
	/* Now, not at the next wait: START_DEV waits for every FETCH_REQ. */
	rc = io_uring_submit(q->ring);
	if (rc < 0) {
		q->err = rc;
		return;
	}
	if (q->shared)
		return;
	rc = nvmf_worker_add_idle(q->w, queue_idle, q);
	if (rc == 0)
		rc = nvmf_worker_add_fd(q->w, q->own.ring_fd, EPOLLIN, ring_ready, q);
	if (rc < 0)
		q->err = rc;
}

/* ------------------------------------------------------ device life cycle */

static int open_retry(const char *path, int flags)
{
	for (int i = 0; i < 300; i++) {
		int fd = open(path, flags | O_CLOEXEC);

		if (fd >= 0 || errno != ENOENT)
			return fd >= 0 ? fd : -errno;
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	}
	return -ENOENT;
}

static void set_params(struct ublk_dev *d, struct ublk_params *p)
{
	const struct nvme_id_ctrl *id = &d->c->id;
	uint16_t oncs = le16toh(id->oncs);

	memset(p, 0, sizeof(*p));
	p->len = sizeof(*p);
	p->types = UBLK_PARAM_TYPE_BASIC;
	p->basic.logical_bs_shift = (uint8_t)d->lba_shift;
	p->basic.physical_bs_shift = (uint8_t)(d->lba_shift > 12 ? d->lba_shift : 12);
	p->basic.io_min_shift = (uint8_t)d->lba_shift;
	p->basic.io_opt_shift = 12;
	p->basic.max_sectors = d->info.max_io_buf_bytes >> 9;
	p->basic.dev_sectors = (d->ns.nsze << d->lba_shift) >> 9;
	if (id->vwc & 1)
		p->basic.attrs = UBLK_ATTR_VOLATILE_CACHE | UBLK_ATTR_FUA;
	if (oncs & (NVME_CTRL_ONCS_DSM | NVME_CTRL_ONCS_WRITE_ZEROES)) {
		p->types |= UBLK_PARAM_TYPE_DISCARD;
		p->discard.discard_granularity = 1u << d->lba_shift;
		p->discard.max_discard_segments = 1;
		if (oncs & NVME_CTRL_ONCS_DSM)
			p->discard.max_discard_sectors = UINT_MAX >> 9;
		if (oncs & NVME_CTRL_ONCS_WRITE_ZEROES)
			p->discard.max_write_zeroes_sectors = (65536u << d->lba_shift) >> 9;
	}
}

/* Open /dev/ublk-control and its SQE128 ring for @d. */
static int ctl_open(struct ublk_dev *d, char *err, size_t errlen)
{
	int rc;

	d->ctl_fd = open(UBLK_CONTROL, O_RDWR | O_CLOEXEC);
	if (d->ctl_fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot open %s: %s%s", UBLK_CONTROL, strerror(errno),
			 errno == ENOENT ? " (load the ublk_drv module)" : "");
		return rc;
	}
	rc = io_uring_queue_init(4, &d->ctl, IORING_SETUP_SQE128);
	if (rc < 0) {
		snprintf(err, errlen, "io_uring for ublk control: %s", strerror(-rc));
		return rc;
	}
	d->ctl_ok = true;
	return 0;
}

static void ctl_close(struct ublk_dev *d)
{
	if (d->ctl_ok)
		io_uring_queue_exit(&d->ctl);
	if (d->ctl_fd >= 0)
		close(d->ctl_fd);
	d->ctl_ok = false;
	d->ctl_fd = -1;
}

/*
 * A disk object for namespace @nsid, its control fd and ring open, nothing
 * asked of the kernel yet. The namespace must fit a ublk disk.
 */
static int dev_open(struct nvmf_ctrl *c, uint32_t nsid, struct ublk_dev **out, char *err,
		    size_t errlen)
{
	struct ublk_dev *d;
	int rc;

	if (!c->nr_ioq || !c->io_workers) {
		snprintf(err, errlen, "ublk needs a running controller with I/O queues");
		return -EINVAL;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->c = c;
	d->ctl_fd = d->cdev_fd = -1;
	d->info.dev_id = (uint32_t)-1;
	if (nvmf_ctrl_ns_find(c, nsid, &d->ns) < 0) {
		snprintf(err, errlen, "namespace %u is not active", nsid);
		free(d);
		return -ENOENT;
	}
	nvmf_ns_ref_init(&d->ref, &d->ns);
	while ((1u << d->lba_shift) < d->ns.lba_size)
		d->lba_shift++;
	if (d->ns.ms || d->lba_shift < 9 || d->lba_shift > 12) {
		snprintf(err, errlen, "namespace %u: %u-byte blocks%s cannot be a ublk disk", nsid,
			 d->ns.lba_size, d->ns.ms ? " with metadata" : "");
		free(d);
		return -EOPNOTSUPP;
	}
	rc = ctl_open(d, err, errlen);
	if (rc < 0)
		goto fail;
	*out = d;
	return 0;
fail:
	ublk_dev_destroy(d);
	return rc;
}

/*
 * Open /dev/ublkcN and start every queue on its worker: each queue's
 * worker mmaps its descriptors and sends FETCH_REQ for every tag. ublk
 * queue q is served by the worker of NVMe I/O queue q (modulo the queue
 * count, which a recovered disk may have from an association with more
 * queues).
 */
static int queues_start(struct ublk_dev *d, char *err, size_t errlen)
{
	struct nvmf_ctrl *c = d->c;
	int rc;

	snprintf(d->path, sizeof(d->path), "/dev/ublkb%u", d->info.dev_id);
	snprintf(d->cpath, sizeof(d->cpath), "/dev/ublkc%u", d->info.dev_id);
	d->cdev_fd = open_retry(d->cpath, O_RDWR);
	if (d->cdev_fd < 0) {
		rc = d->cdev_fd;
		snprintf(err, errlen, "cannot open %s: %s", d->cpath, strerror(-rc));
		return rc;
	}
	d->nr_queues = d->info.nr_hw_queues;
	d->queues = calloc((size_t)d->nr_queues, sizeof(*d->queues));
	if (!d->queues) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (int i = 0; i < d->nr_queues; i++) {
		struct ublk_queue *q = &d->queues[i];

		q->d = d;
		q->q_id = (uint16_t)i;
		q->w = c->io_workers[i % c->nr_ioq];
		nvmf_worker_call(q->w, queue_init, q);
		if (q->err) {
			rc = q->err;
			snprintf(err, errlen, "ublk queue %d setup failed: %s", i, strerror(-rc));
			return rc;
		}
	}
	return 0;
}

int ublk_dev_create(struct nvmf_ctrl *c, uint32_t nsid, struct ublk_dev **out, char *err,
		    size_t errlen)
{
	struct ublk_params params;
	struct ublk_dev *d;
	uint64_t features = 0;
	uint32_t max_io;
	int rc;

	rc = dev_open(c, nsid, &d, err, errlen);
	if (rc < 0)
		return rc;
	rc = ctrl_cmd(d, UBLK_U_CMD_GET_FEATURES, (uint64_t)(uintptr_t)&features, sizeof(features), 0);
	if (rc < 0) {
		snprintf(err, errlen, "ublk GET_FEATURES failed: %s (kernel older than 6.5?)",
			 strerror(-rc));
		goto fail;
	}
	nvmf_debug("ublk features 0x%llx", (unsigned long long)features);

	max_io = c->max_xfer && c->max_xfer < UBLK_MAX_IO_BYTES ? c->max_xfer : UBLK_MAX_IO_BYTES;
	d->info.nr_hw_queues = (uint16_t)c->nr_ioq;
	d->info.queue_depth = c->io_depth;
	d->info.max_io_buf_bytes = max_io;
	d->info.dev_id = (uint32_t)-1;
	/*
	 * User recovery, with REISSUE: when the daemon dies, the requests it
	 * had taken from the kernel but not completed are queued again and
	 * sent to the next daemon, instead of failing with EIO (which a
	 * mounted ext4 turns into an aborted journal and a read-only file
	 * system, and fio into errors). Sending them again is safe because
	 * every operation this server turns a request into is idempotent:
	 * NVMe Read, Write (same data to the same LBAs), Flush, Write Zeroes
	 * and Dataset Management deallocate give the same result whether the
	 * target ran the first copy or not. The kernel had not completed the
	 * request, so nothing newer to those blocks can have been issued on
	 * top of it by a well-behaved user (the block layer never orders
	 * overlapping in-flight writes); this is the same replay the kernel's
	 * own NVMe host does after a reconnect, and the one this daemon does
	 * for held requests. Without REISSUE (plain USER_RECOVERY) those
	 * requests would fail: no data risk, but the file system would not
	 * survive the restart, which is the point of recovery.
	 */
	if ((features & UBLK_F_USER_RECOVERY) && (features & UBLK_F_USER_RECOVERY_REISSUE))
		d->info.flags = UBLK_F_USER_RECOVERY | UBLK_F_USER_RECOVERY_REISSUE;
	else
		nvmf_warn("ublk without user recovery (features 0x%llx): the disk will not "
			  "survive the daemon", (unsigned long long)features);
	{
		struct ublksrv_ctrl_cmd cmd = {
			.dev_id = (uint32_t)-1,
			.queue_id = (uint16_t)-1,
			.len = sizeof(d->info),
			.addr = (uint64_t)(uintptr_t)&d->info,
		};
		struct io_uring_sqe *sqe = io_uring_get_sqe(&d->ctl);
		struct io_uring_cqe *cqe;

		if (!sqe) {
			rc = -EBUSY;
			snprintf(err, errlen, "ublk control ring full");
			goto fail;
		}
		prep_uring_cmd(sqe, d->ctl_fd, UBLK_U_CMD_ADD_DEV, &cmd, sizeof(cmd), 128);
		io_uring_submit_and_wait(&d->ctl, 1);
		rc = io_uring_wait_cqe(&d->ctl, &cqe);
		if (rc == 0) {
			rc = cqe->res;
			io_uring_cqe_seen(&d->ctl, cqe);
		}
	}
	if (rc < 0) {
		snprintf(err, errlen, "ublk ADD_DEV failed: %s", strerror(-rc));
		goto fail;
	}
	d->added = true;
	if (d->info.nr_hw_queues < c->nr_ioq)
		nvmf_info("ublk uses %u of %d queues (CPU count)", d->info.nr_hw_queues, c->nr_ioq);
	rc = queues_start(d, err, errlen);
	if (rc < 0)
		goto fail;
	set_params(d, &params);
	rc = ctrl_cmd(d, UBLK_U_CMD_SET_PARAMS, (uint64_t)(uintptr_t)&params, sizeof(params), 0);
	if (rc < 0) {
		snprintf(err, errlen, "ublk SET_PARAMS failed: %s", strerror(-rc));
		goto fail;
	}
	rc = ctrl_cmd(d, UBLK_U_CMD_START_DEV, 0, 0, (uint64_t)getpid());
	if (rc < 0) {
		snprintf(err, errlen, "ublk START_DEV failed: %s", strerror(-rc));
		goto fail;
	}
	d->started = true;
	nvmf_info("%s: namespace %u, %llu bytes, %u queue(s) x %u%s", d->path, nsid,
		  (unsigned long long)(d->ns.nsze << d->lba_shift), d->info.nr_hw_queues,
		  d->info.queue_depth,
		  (d->info.flags & UBLK_F_USER_RECOVERY) ? ", survives a daemon restart" : "");
	*out = d;
	return 0;
fail:
	ublk_dev_destroy(d);
	return rc;
}

int ublk_dev_probe(uint32_t dev_id, struct ublk_dev_state *out)
{
	struct ublk_dev d = { .ctl_fd = -1, .cdev_fd = -1 };
	struct ublksrv_ctrl_dev_info info;
	char err[128];
	int rc;

	memset(out, 0, sizeof(*out));
	rc = ctl_open(&d, err, sizeof(err));
	if (rc == 0) {
		d.info.dev_id = dev_id;
		rc = ctrl_cmd(&d, UBLK_U_CMD_GET_DEV_INFO, (uint64_t)(uintptr_t)&info,
			      sizeof(info), 0);
	}
	ctl_close(&d);
	if (rc < 0)
		return rc;
	out->state = info.state;
	out->pid = info.ublksrv_pid;
	out->recoverable = (info.flags & UBLK_F_USER_RECOVERY) != 0;
	out->quiesced = info.state == UBLK_S_DEV_QUIESCED;
	return 0;
}

const char *ublk_state_str(unsigned int state)
{
	switch (state) {
	case UBLK_S_DEV_DEAD:
		return "dead";
	case UBLK_S_DEV_LIVE:
		return "live";
	case UBLK_S_DEV_QUIESCED:
		return "quiesced";
	default:
		return "unknown";
	}
}

int ublk_dev_recover(struct nvmf_ctrl *c, uint32_t nsid, uint32_t dev_id, struct ublk_dev **out,
		     char *err, size_t errlen)
{
	struct ublk_params want, have;
	struct ublk_dev *d;
	int rc;

	rc = dev_open(c, nsid, &d, err, errlen);
	if (rc < 0)
		return rc;
	d->info.dev_id = dev_id;
	snprintf(d->path, sizeof(d->path), "/dev/ublkb%u", dev_id);
	rc = ctrl_cmd(d, UBLK_U_CMD_GET_DEV_INFO, (uint64_t)(uintptr_t)&d->info, sizeof(d->info), 0);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", d->path, rc == -ENODEV ? "no such ublk device" :
			 strerror(-rc));
		goto fail;
	}
	/* The kernel's answer is checked like any other input. */
	if (d->info.dev_id != dev_id || !d->info.nr_hw_queues || !d->info.queue_depth ||
	    d->info.queue_depth > UBLK_MAX_QUEUE_DEPTH || d->info.max_io_buf_bytes < 4096) {
		rc = -EPROTO;
		snprintf(err, errlen, "%s: implausible device info (queues %u, depth %u)",
			 d->path, d->info.nr_hw_queues, d->info.queue_depth);
		goto fail;
	}
	if (!(d->info.flags & UBLK_F_USER_RECOVERY)) {
		rc = -EOPNOTSUPP;
		snprintf(err, errlen, "%s was created without user recovery", d->path);
		goto fail;
	}
	if (d->info.state != UBLK_S_DEV_QUIESCED) {
		rc = -EBUSY;
		snprintf(err, errlen, "%s is %s%s, not waiting for a new daemon", d->path,
			 ublk_state_str(d->info.state),
			 d->info.state == UBLK_S_DEV_LIVE ? " (served by another process)" : "");
		goto fail;
	}
	/* The disk's geometry as the kernel has it must be the namespace's now. */
	memset(&have, 0, sizeof(have));
	have.len = sizeof(have);
	rc = ctrl_cmd(d, UBLK_U_CMD_GET_PARAMS, (uint64_t)(uintptr_t)&have, sizeof(have), 0);
	if (rc < 0) {
		snprintf(err, errlen, "%s: GET_PARAMS failed: %s", d->path, strerror(-rc));
		goto fail;
	}
	set_params(d, &want);
	if (have.basic.dev_sectors != want.basic.dev_sectors ||
	    have.basic.logical_bs_shift != want.basic.logical_bs_shift) {
		rc = -ESTALE;
		snprintf(err, errlen, "%s has %llu sectors of %u bytes, namespace %u now %llu of %u",
			 d->path, (unsigned long long)have.basic.dev_sectors,
			 1u << have.basic.logical_bs_shift, nsid,
			 (unsigned long long)want.basic.dev_sectors, 1u << want.basic.logical_bs_shift);
		goto fail;
	}
	if (c->max_xfer && ((uint64_t)have.basic.max_sectors << 9) > c->max_xfer) {
		rc = -ESTALE;
		snprintf(err, errlen, "%s sends requests of up to %u KiB, the controller takes %u KiB",
			 d->path, have.basic.max_sectors / 2, c->max_xfer / 1024);
		goto fail;
	}
	/*
	 * The old daemon's files (its rings, /dev/ublkcN) are released a
	 * little after its death; until then the kernel says EBUSY.
	 */
	for (int i = 0;; i++) {
		rc = ctrl_cmd(d, UBLK_U_CMD_START_USER_RECOVERY, 0, 0, 0);
		if (rc != -EBUSY || i >= 100)
			break;
		nanosleep(&(struct timespec){ 0, 50 * 1000 * 1000 }, NULL);
	}
	if (rc < 0) {
		snprintf(err, errlen, "%s: START_USER_RECOVERY failed: %s%s", d->path,
			 strerror(-rc), rc == -EBUSY ? " (the old daemon still holds it?)" : "");
		goto fail;
	}
	rc = queues_start(d, err, errlen);
	if (rc < 0)
		goto fail;
	rc = ctrl_cmd(d, UBLK_U_CMD_END_USER_RECOVERY, 0, 0, (uint64_t)getpid());
	if (rc < 0) {
		snprintf(err, errlen, "%s: END_USER_RECOVERY failed: %s", d->path, strerror(-rc));
		goto fail;
	}
	/* Ours from now on: a disconnect stops and deletes it. */
	d->added = d->started = d->recovered = true;
	nvmf_info("%s: recovered: namespace %u, %llu bytes, %u queue(s) x %u, I/O resumed",
		  d->path, nsid, (unsigned long long)(d->ns.nsze << d->lba_shift),
		  d->info.nr_hw_queues, d->info.queue_depth);
	*out = d;
	return 0;
fail:
	/* Never deleted here: the disk is the user's, mounted maybe. */
	ublk_dev_destroy(d);
	return rc;
}

/*
 * Delete the kernel's device, never waiting on a holder: a file system
 * still mounted on the disk (in any mount namespace) or a process with it
 * open keeps the kernel's object until it lets go, and DEL_DEV would wait
 * for that, maybe forever. DEL_DEV_ASYNC returns at once; the object
 * (and its id) goes with the last holder. With none known (@held false),
 * that is now: waited for a moment (UBLK_DEL_WAIT_MS), so the id is free
 * for the next disk when this returns; a holder we could not see (a
 * process in another PID namespace) is mentioned in the log.
 */
#define UBLK_DEL_WAIT_MS 2000
static void del_dev(struct ublk_dev *d, bool held)
{
	struct ublksrv_ctrl_dev_info info;
	int rc;

	rc = ctrl_cmd(d, UBLK_U_CMD_DEL_DEV_ASYNC, 0, 0, 0);
	if (rc < 0) {
		nvmf_warn("%s: DEL_DEV: %s", d->path, strerror(-rc));
		return;
	}
	for (int t = 0; !held && t < UBLK_DEL_WAIT_MS / 10; t++) {
		if (ctrl_cmd(d, UBLK_U_CMD_GET_DEV_INFO, (uint64_t)(uintptr_t)&info, sizeof(info),
			     0) == -ENODEV)
			return;
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	}
	nvmf_warn("%s: deleted, but something still holds it (a mount, an open file): the "
		  "kernel frees ublk device %u when that lets go", d->path, d->info.dev_id);
}

/*
 * Mounted, or held open exclusively (O_EXCL fails with EBUSY): the cheap
 * part of path_in_use(), for the stop. The rest of it reads every process's
 * fds in /proc, which 256 daemons stopping at once turned into 76 s for a
 * sidecar's SIGTERM (bench isolation; 3.4 s without it).
 */
static bool path_held(const char *path)
{
	int fd = open(path, O_RDONLY | O_EXCL | O_CLOEXEC);

	if (fd >= 0)
		close(fd);
	return fd < 0 && errno == EBUSY;
}

static bool path_in_use(const char *path, char *why, size_t len);

void ublk_dev_destroy(struct ublk_dev *d)
{
	bool held = false;
	int rc;

	if (!d)
		return;
	if (d->started) {
		struct ublk_stats st;

		held = path_held(d->path);

		ublk_dev_stats(d, &st);
		nvmf_info("%s: reads=%llu writes=%llu flushes=%llu discards=%llu requeued=%llu retries=%llu "
			  "partial_reads=%llu errors=%llu", d->path, (unsigned long long)st.reads,
			  (unsigned long long)st.writes, (unsigned long long)st.flushes,
			  (unsigned long long)st.discards, (unsigned long long)st.requeued,
			  (unsigned long long)st.retries,
			  (unsigned long long)st.partial_reads, (unsigned long long)st.errors);
		rc = ctrl_cmd(d, UBLK_U_CMD_STOP_DEV, 0, 0, 0);
		if (rc < 0) {
			/*
			 * The kernel may still copy requests into our buffers:
			 * freeing them would let it write into freed memory.
			 * Keep the disk's memory (a leak, logged) instead.
			 */
			nvmf_err("%s: STOP_DEV failed: %s; the disk's memory is kept", d->path,
				 strerror(-rc));
			return;
		}
	}
	for (int i = 0; i < d->nr_queues; i++)
		if (d->queues[i].w)
			nvmf_worker_call(d->queues[i].w, queue_fini, &d->queues[i]);
	free(d->queues);
	if (d->cdev_fd >= 0)
		close(d->cdev_fd);
	if (d->added)
		del_dev(d, held);
	ctl_close(d);
	free(d);
}

const char *ublk_dev_path(const struct ublk_dev *d)
{
	return d->path;
}

uint32_t ublk_dev_nsid(const struct ublk_dev *d)
{
	return d->ns.nsid;
}

uint32_t ublk_dev_id(const struct ublk_dev *d)
{
	return d->info.dev_id;
}

const struct nvmf_ns *ublk_dev_ns(const struct ublk_dev *d)
{
	return &d->ns;
}

bool ublk_dev_recovered(const struct ublk_dev *d)
{
	return d->recovered;
}

bool ublk_dev_current(struct ublk_dev *d)
{
	return nvmf_ns_ref_valid(d->c, &d->ref);
}

void ublk_dev_stats(const struct ublk_dev *d, struct ublk_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < d->nr_queues; i++) {
		const struct ublk_stats *s = &d->queues[i].stats;

		out->reads += s->reads;
		out->writes += s->writes;
		out->flushes += s->flushes;
		out->discards += s->discards;
		out->write_zeroes += s->write_zeroes;
		out->write_zeroes_by_writes += s->write_zeroes_by_writes;
		out->buffer_trims += s->buffer_trims;
		out->errors += s->errors;
		out->partial_reads += s->partial_reads;
		out->retries += s->retries;
		out->requeued += s->requeued;
		out->failovers += s->failovers;
	}
}

/* Does any process other than us hold the block device open? */
static bool open_by_someone(dev_t rdev, char *why, size_t len)
{
	DIR *proc = opendir("/proc");
	struct dirent *pe;
	bool found = false;

	if (!proc)
		return false;
	while (!found && (pe = readdir(proc))) {
		char dir[300], link[600];
		DIR *fds;
		struct dirent *fe;

		if (pe->d_name[0] < '1' || pe->d_name[0] > '9' || atoi(pe->d_name) == getpid())
			continue;
		snprintf(dir, sizeof(dir), "/proc/%s/fd", pe->d_name);
		fds = opendir(dir);
		if (!fds)
			continue;
		while ((fe = readdir(fds))) {
			struct stat st;

			snprintf(link, sizeof(link), "%s/%s", dir, fe->d_name);
			if (stat(link, &st) == 0 && S_ISBLK(st.st_mode) && st.st_rdev == rdev) {
				snprintf(why, len, "open by process %s", pe->d_name);
				found = true;
				break;
			}
		}
		closedir(fds);
	}
	closedir(proc);
	return found;
}

static bool path_in_use(const char *path, char *why, size_t len)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return false;
	if (path_held(path)) {
		snprintf(why, len, "mounted or held exclusively");
		return true;
	}
	return open_by_someone(st.st_rdev, why, len);
}

bool ublk_dev_held(const struct ublk_dev *d)
{
	return path_held(d->path);
}

bool ublk_dev_in_use(const struct ublk_dev *d, char *why, size_t len)
{
	return path_in_use(d->path, why, len);
}

int ublk_dev_flush(const struct ublk_dev *d)
{
	int fd, rc = 0;

	/* Not O_EXCL: a mounted disk opens all the same. */
	fd = open(d->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/*
	 * BLKFLSBUF writes back what the disk's holder has dirty: the whole
	 * file system when one is mounted on it (its holder's sync, Linux
	 * 6.6 and later), in whatever mount namespace; else the disk's own
	 * page cache. fsync then sends the device a cache flush.
	 */
	if (ioctl(fd, BLKFLSBUF, 0) < 0)
		rc = -errno;
	if (fsync(fd) < 0 && !rc)
		rc = -errno;
	close(fd);
	return rc;
}

int ublk_dev_delete_waiting(uint32_t dev_id, bool force, char *err, size_t errlen)
{
	struct ublk_dev d = { .ctl_fd = -1, .cdev_fd = -1 };
	char why[128];
	int rc;

	snprintf(d.path, sizeof(d.path), "/dev/ublkb%u", dev_id);
	rc = ctl_open(&d, err, errlen);
	if (rc < 0)
		goto out;
	d.info.dev_id = dev_id;
	rc = ctrl_cmd(&d, UBLK_U_CMD_GET_DEV_INFO, (uint64_t)(uintptr_t)&d.info, sizeof(d.info), 0);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", d.path, rc == -ENODEV ? "no such ublk device" :
			 strerror(-rc));
		goto out;
	}
	if (d.info.state != UBLK_S_DEV_QUIESCED) {
		rc = -EBUSY;
		snprintf(err, errlen, "%s is %s, not waiting for a daemon", d.path,
			 ublk_state_str(d.info.state));
		goto out;
	}
	if (!force && path_in_use(d.path, why, sizeof(why))) {
		rc = -EBUSY;
		snprintf(err, errlen, "%s is %s: unmount or close it, or use --force (its waiting "
			 "I/O then fails)", d.path, why);
		goto out;
	}
	/* Fails the waiting I/O and removes the disk; the kernel's object next. */
	rc = ctrl_cmd(&d, UBLK_U_CMD_STOP_DEV, 0, 0, 0);
	if (rc < 0) {
		snprintf(err, errlen, "%s: STOP_DEV failed: %s", d.path, strerror(-rc));
		goto out;
	}
	/*
	 * Without --force nothing holds the disk and DEL_DEV returns at once;
	 * with it a mount may hold it: do not wait for the unmount.
	 */
	rc = ctrl_cmd(&d, force ? UBLK_U_CMD_DEL_DEV_ASYNC : UBLK_U_CMD_DEL_DEV, 0, 0, 0);
	if (rc < 0)
		snprintf(err, errlen, "%s: DEL_DEV failed: %s", d.path, strerror(-rc));
out:
	ctl_close(&d);
	return rc;
}

int ublk_dev_path_ref(struct ublk_dev *d, int slot, struct nvmf_ctrl *c, char *err, size_t errlen)
{
	struct nvmf_ns ns;

	if (slot <= 0 || slot >= NVMF_MPATH_MAX) {
		snprintf(err, errlen, "path slot %d out of range", slot);
		return -EINVAL;
	}
	if (nvmf_ctrl_ns_find(c, d->ns.nsid, &ns) < 0) {
		snprintf(err, errlen, "namespace %u is not active on this path", d->ns.nsid);
		return -ENOENT;
	}
	nvmf_ns_ref_init(&d->pref[slot], &ns);
	return 0;
}

void ublk_dev_set_mpath(struct ublk_dev *d, struct nvmf_mpath *m)
{
	__atomic_store_n(&d->mp, m, __ATOMIC_RELEASE);
}
