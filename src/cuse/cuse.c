/* SPDX-License-Identifier: MIT */
/*
 * CUSE frontend (see cuse.h). Each node is its own libfuse session: the
 * session is built with cuse_lowlevel_new() and adopts an fd of /dev/cuse
 * through fuse_session_mount("/dev/fd/N"), so no process-wide signal
 * handler is installed and many nodes live in one daemon. A session thread
 * polls that fd and a stop eventfd.
 *
 * NVMe ioctls carry pointers, so they are unrestricted ioctls. With
 * CAP_SYS_PTRACE (a root daemon) and a caller visible in our pid
 * namespace, one round: the first call reads the argument struct and the
 * write data from the caller's memory with process_vm_readv, executes,
 * and writes the result and the read data back with process_vm_writev;
 * the reply carries only the status. Each round is a trip through the
 * kernel, the caller and this daemon (two wake-ups), so this is the
 * biggest single cost of a passthrough that can be cut. Otherwise the
 * retry exchange: two rounds with CAP_SYS_PTRACE (the first asks for the
 * argument struct and room for the result, the second executes, data
 * moving by process_vm_*v); without it three (the second round, struct in
 * hand, asks the kernel to copy in the write data and to reserve room for
 * the result and the read data, the third executes). Only the executing
 * call keeps state: the request is copied (in_buf is only valid during
 * the callback) and the reply is sent from the completion callback on the
 * queue's worker. NVMFUSE_CUSE_ROUNDS=2 or 3 forces the retry exchange.
 *
 * With NVMFUSE_CUSE_RING=1, on an I/O worker with an io_uring, the session
 * fd is read and answered on that ring (struct cuse_rx, node_io_writev): a
 * POLL_ADD linked to an IORING_OP_READ, so a request arrives with the
 * completion that wakes the worker, and short replies go out as
 * IORING_OP_WRITE with the worker's next enter: one system call less per
 * passthrough (6 against 7), but no faster in the guest benchmark
 * (tests/bench/RESULTS.md, session 7), so not the default: the fd watch
 * (poll on the ring, then read) and writev.
 *
 * read(2)/write(2) are refused with EOPNOTSUPP: CUSE (fs/fuse/cuse.c,
 * cuse_read_iter/cuse_write_iter) starts every syscall at offset 0 and
 * never passes the file position; pread/pwrite fail with ESPIPE in the
 * kernel (non-seekable open), but lseek is a successful no-op
 * (noop_llseek), so a per-open stream position would make `dd skip=N` or
 * `seek=N` read or write LBA 0 without any error (seen in the guest).
 *
 * fsync(2) never reaches the server: CUSE's file operations have no fsync,
 * so the kernel answers EINVAL, as it does for its own /dev/ngXnY. A Flush
 * is sent like there, as an I/O command (nvme flush).
 *
 * Access (cuse_auth.h has the model): open() records the access mode in
 * fi->fh; every NVMe ioctl round that carries a command, and reset,
 * subsystem reset and rescan, is judged by cuse_auth_check() from the
 * caller's credentials at that moment. FUSE gives the caller's thread id
 * (in our pid namespace; 0 when it is not visible there), which is stable
 * while that thread sleeps in its ioctl. "Capable" is an approximation of
 * the kernel's capable(CAP_SYS_ADMIN): CAP_SYS_ADMIN in CapEff of
 * /proc/TID/status, and the caller in the daemon's user namespace
 * (/proc/TID/ns/user is /proc/self/ns/user). It does not see LSM hooks,
 * and a caller killed mid-ioctl whose id is reused at once by a privileged
 * thread could be judged as that thread. It is read only when the
 * unprivileged answer is EACCES (the capability only widens).
 */
#define FUSE_USE_VERSION 31

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <endian.h>
#include <fuse3/cuse_lowlevel.h>
#include <liburing.h>
#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/fuse.h>
#include <linux/nvme_ioctl.h>

#include "base/log.h"
#include "cuse/cuse.h"
#include "host/identify.h"
#include "host/mpath.h"
#include "host/retry.h"
#include "host/worker.h"

/* fs/fuse: FUSE_DEFAULT_MAX_PAGES_PER_REQ, CUSE never raises it. */
#define CUSE_XFER_MAX		(32u * 4096u)
#define CUSE_ADMIN_TIMEOUT_MS	60000u	/* the kernel's admin_timeout */
#define CUSE_IO_TIMEOUT_MS	30000u	/* the kernel's io_timeout */
#define CUSE_NODE_WAIT_MS	5000

/*
 * Char device numbers of the nodes. With major 0, CUSE takes a whole
 * dynamic major per node, and the kernel has about 150 of those for all
 * drivers (234-254, 384-511): the isolation benchmark saw the 62nd
 * controller's nodes refused ("CHRDEV ... dynamic allocation region is
 * full") with two nodes each. So every node gets a minor of one major,
 * 120 (devices.txt: char 120-127 are for local use), derived from the
 * host-wide instance number (registry.h): (instance % 4096) << 8 | nsid,
 * 0 for the controller node. NVMFUSE_CUSE_MAJOR picks another major; 0
 * there gives the old behaviour. A node whose number the kernel refuses
 * (the major is another driver's, or the minor is taken: instances 4096
 * apart, an NSID above 255) is made again with a dynamic major, and says
 * so in the log.
 */
#define CUSE_MAJOR_DEFAULT	120
#define CUSE_MINOR_NS_BITS	8
#define CUSE_MINOR_INSTANCES	4096	/* 12 bits of instance + 8 of NSID: 20, MINORBITS */

static unsigned int cuse_major(void)
{
	const char *e = getenv("NVMFUSE_CUSE_MAJOR");
	char *end;
	unsigned long v;

	if (!e || !*e)
		return CUSE_MAJOR_DEFAULT;
	v = strtoul(e, &end, 10);
	if (*end || v > 4095) {
		nvmf_warn("NVMFUSE_CUSE_MAJOR='%s' is not a major number (0-4095): using %d", e,
			  CUSE_MAJOR_DEFAULT);
		return CUSE_MAJOR_DEFAULT;
	}
	return (unsigned int)v;
}
/*
 * Commands in flight per controller, held ones included: local callers
 * cannot make the daemon allocate without bound (up to MDTS each) while
 * I/O is held across a reconnect. Beyond it, ioctls fail with EAGAIN.
 */
#define CUSE_MAX_INFLIGHT	256

struct cuse_node {
	struct cuse_ctrl *cc;
	bool is_ns;
	struct nvmf_ns ns;		/* namespace nodes: the data at creation */
	struct nvmf_ns_ref ref;		/* ... and the incarnation it serves */
	/* The same namespace through path slot N > 0 (cuse_ctrl_path_ref); gone: not there. */
	struct nvmf_ns_ref pref[NVMF_MPATH_MAX];
	unsigned int rr;		/* round-robin cursor, the thread reading the fd */
	char devname[64];
	char path[80];
	struct fuse_session *se;
	/*
	 * Who reads the session fd. Namespace nodes (with I/O queues): the
	 * I/O worker @w, whose epoll set watches the fd, so a passthrough is
	 * read, sent and answered on one thread with no hop between threads
	 * (fbuf is that worker's receive buffer). The controller node: its
	 * own session thread, which polls the fd and @stop_fd, because its
	 * reset ioctl blocks until the reset is done and its rescan waits for
	 * the admin worker.
	 */
	struct nvmf_worker *w;
	struct fuse_buf fbuf;
	bool watched;			/* the fd is in @w's epoll set */
	/*
	 * Or read on @w's ring (worker thread only): the armed read, NULL when
	 * there is none; @rx_cap is the read size libfuse uses (se->bufsize,
	 * learnt by node_io_read with @rx_probe set).
	 */
	struct cuse_rx *rx;
	size_t rx_cap;
	bool rx_probe;
	int watch_rc;			/* node_watch's result (worker thread; read after the call) */
	int stop_fd;
	pthread_t thread;
	bool thread_started;
	atomic_bool ended;		/* the kernel ended the session (or the thread left) */
	atomic_int inflight;		/* commands posted, not yet replied */
};

/* The I/O worker running a node's callbacks on this thread, NULL elsewhere. */
static __thread struct nvmf_worker *serving_worker;

struct cuse_ctrl {
	struct nvmf_ctrl *c;
	struct cuse_opts opts;
	char name[32];
	unsigned int instance;
	struct cuse_node *ctrl_node;
	pthread_mutex_t lock;		/* guards ns/nr_ns for the session threads */
	struct cuse_node **ns;
	int nr_ns;
	atomic_uint next_q;		/* round-robin I/O queue choice */
	struct nvmf_mpath *mp;		/* atomic; NULL: path 0 only (cuse_ctrl_set_mpath) */
	bool path_only;			/* a path's controller node, no namespaces */
	unsigned int next_node;		/* I/O worker for the next namespace node */
	atomic_int inflight;		/* commands posted, all nodes */
	/*
	 * Two ioctl rounds instead of three: the first asks for the argument
	 * struct and room for the result, the second executes, with the data
	 * moved by process_vm_readv/writev (needs CAP_SYS_PTRACE, which the
	 * daemon has as root). Each round is a trip through the kernel and
	 * this daemon; the data rounds cost a third of a passthrough.
	 */
	bool two_rounds;
	/*
	 * One round: the first call already executes, the argument struct
	 * too read from the caller with process_vm_readv and the result
	 * written back with process_vm_writev (needs two_rounds' rights and a
	 * caller visible in our pid namespace; otherwise the retry rounds).
	 */
	bool one_round;
	/* cuse_stats, written by the I/O workers */
	atomic_uint_fast64_t st_retries, st_partial, st_requeued, st_errors;
};

enum cuse_kind {
	CUSE_PT32,	/* struct nvme_passthru_cmd, 72 bytes, result DW0 */
	CUSE_PT64,	/* struct nvme_passthru_cmd64, 80 bytes, result DW0|DW1 */
	CUSE_SUBMIT_IO,	/* struct nvme_user_io, no result */
};

/* One command in flight; freed after its reply. */
struct cuse_cmd {
	struct nvmf_request r;
	fuse_req_t req;
	struct cuse_node *n;
	enum cuse_kind kind;
	bool c2h;
	void *buf;
	uint32_t len;
	/*
	 * Data beyond one CUSE round (or scattered, VEC) moves straight
	 * between our buffer and the caller's memory with process_vm_*v:
	 * the caller sleeps in its ioctl until the reply, so its memory and
	 * pid are stable. @uiov lists the caller's ranges.
	 */
	bool direct;
	pid_t pid;
	struct iovec *uiov;
	int nuiov;
	/* One round (cuse_ctrl.one_round): where the result goes, 0: in the reply. */
	uint64_t res_addr;
	/*
	 * Retries (cmd_retry): I/O-queue commands only. @r's range moves past
	 * the @done read bytes confirmed by earlier rounds; @attempts counts
	 * sends of the current range.
	 */
	struct nvmf_worker *w;		/* the I/O worker it runs on, NULL: admin */
	struct nvmf_ctrl *ctrl;		/* the path's controller it goes to (cmd_route) */
	struct nvmf_mpath_path *path;	/* that path in the set, NULL without a set */
	int slot;
	bool sent;			/* counted in path->inflight (cmd_send) */
	bool counted;			/* in cuse_ctrl.inflight */
	unsigned int attempts;
	uint32_t done;
	/* ANA: when the command first met an ANA status (0: never), and given up. */
	uint64_t ana_since_ns;
	bool ana_expired;
};

/* A command for @req on node @n, or NULL after answering ENOMEM. */
static struct cuse_cmd *cmd_new(fuse_req_t req, struct cuse_node *n)
{
	struct cuse_cmd *x = calloc(1, sizeof(*x));

	if (!x) {
		fuse_reply_err(req, ENOMEM);
		return NULL;
	}
	x->req = req;
	x->n = n;
	return x;
}

/* ---------------------------------------------------------- completions */

static void cmd_free(struct cuse_cmd *x)
{
	struct cuse_node *n = x->n;

	if (x->counted)
		atomic_fetch_sub(&n->cc->inflight, 1);
	free(x->uiov);
	free(x->buf);
	free(x);
	atomic_fetch_sub(&n->inflight, 1);
}

/*
 * Copy @len bytes between @buf and the caller's ranges @uiov (to the caller
 * when @to_caller). Returns 0 or -errno (-EFAULT when short).
 */
static int caller_copy(pid_t pid, void *buf, size_t len, const struct iovec *uiov, int nuiov,
		       bool to_caller)
{
	struct iovec local = { .iov_base = buf, .iov_len = len };
	ssize_t done;

	done = to_caller ? process_vm_writev(pid, &local, 1, uiov, (unsigned long)nuiov, 0)
			 : process_vm_readv(pid, &local, 1, uiov, (unsigned long)nuiov, 0);
	if (done < 0)
		return -errno;
	return (size_t)done == len ? 0 : -EFAULT;
}

/*
 * One round (cuse_ctrl.one_round): read the ioctl's argument struct of
 * @len bytes at @uarg straight from the caller. 0: in @dst; -EFAULT: the
 * caller's pointer is bad (the answer, as the kernel's copy_from_user);
 * any other error: take the retry rounds instead (caller not visible in
 * our pid namespace, or not readable by us).
 */
static int arg_direct(fuse_req_t req, const struct cuse_node *n, uint64_t uarg, void *dst,
		      size_t len)
{
	pid_t pid = fuse_req_ctx(req)->pid;
	struct iovec from = { (void *)(uintptr_t)uarg, len };
	int rc;

	if (!n->cc->one_round || pid <= 0)
		return -ENOTSUP;
	rc = caller_copy(pid, dst, len, &from, 1, false);
	if (rc < 0 && rc != -EFAULT)
		nvmf_debug("%s: cannot read the ioctl argument of pid %d (%s): retry rounds",
			   n->devname, (int)pid, strerror(-rc));
	return rc;
}

static struct nvmf_worker *io_worker(struct cuse_ctrl *cc, struct nvmf_ctrl *c)
{
	unsigned int q = atomic_fetch_add(&cc->next_q, 1);

	return c->io_workers[q % (unsigned int)c->nr_ioq];
}

/*
 * Point @x at path @slot (host/mpath.h): its controller, the worker of
 * that controller it goes to, its namespace reference there. Slot 0 (and
 * any path that cannot take the command: gone from the set, namespace not
 * there, transfer above its MDTS, no I/O queue) is @x's node's own
 * controller, as without multipath. Any thread.
 */
static void cmd_route(struct cuse_cmd *x, bool admin, int slot)
{
	struct cuse_node *n = x->n;
	struct cuse_ctrl *cc = n->cc;
	struct nvmf_mpath *m = __atomic_load_n(&cc->mp, __ATOMIC_ACQUIRE);
	struct nvmf_mpath_path *p = m && slot > 0 && n->is_ns ? nvmf_mpath_get(m, slot) : NULL;

	if (p && ((!admin && !p->ctrl->nr_ioq) ||
		  (p->ctrl->max_xfer && x->len > p->ctrl->max_xfer) ||
		  !nvmf_ns_ref_valid(p->ctrl, &n->pref[slot])))
		p = NULL;
	if (!p) {
		slot = 0;
		p = m ? nvmf_mpath_get(m, 0) : NULL;
	}
	x->slot = slot;
	x->path = p;
	x->ctrl = slot ? p->ctrl : cc->c;
	if (admin)
		x->w = NULL;
	else if (slot)
		x->w = io_worker(cc, x->ctrl);
	else
		x->w = n->w ? n->w : io_worker(cc, cc->c);
	if (x->r.ns_ref)
		x->r.ns_ref = slot ? &n->pref[slot] : &n->ref;
}

/* Send @x where cmd_route pointed it. Any thread. */
static void cmd_send(struct cuse_cmd *x)
{
	struct nvmf_worker *w = x->w ? x->w : x->ctrl->admin_worker;

	if (x->path) {
		__atomic_add_fetch(&x->path->inflight, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&x->path->ios, 1, __ATOMIC_RELAXED);
		x->sent = true;
	}
	if (w == serving_worker)
		nvmf_worker_submit(w, &x->r);	/* read on this worker: no hop */
	else
		nvmf_worker_post(w, &x->r);
}

/* @x's attempt is over: its path may go once none is left on it. Worker thread. */
static void cmd_unsend(struct cuse_cmd *x)
{
	if (x->sent)
		__atomic_sub_fetch(&x->path->inflight, 1, __ATOMIC_RELEASE);
	x->sent = false;
}

/* Worker thread: re-send @x's command (after a Command Retry Delay). */
static void cmd_resubmit(void *arg)
{
	cmd_send(arg);
}

/*
 * Worker thread: @x (an I/O-queue Read or Write) met a path failure
 * (host/mpath.h) on a subsystem with other paths: send it again at once
 * on another usable path. Its attempt is over (the queue pair completed
 * it, or the controller answered), so a Write is never in flight twice.
 * False when no other path is usable: the retry policy goes on as before.
 */
static bool cmd_failover(struct cuse_cmd *x)
{
	struct nvmf_mpath *m = __atomic_load_n(&x->n->cc->mp, __ATOMIC_ACQUIRE);
	unsigned int cursor = 0;
	int slot = x->n->is_ns ? nvmf_mpath_failover(m, x->n->ns.nsid, &cursor, x->slot, x->path,
						     x->r.status, x->r.xport_err) : -EINVAL;

	if (slot < 0)
		return false;
	nvmf_debug("%s: opcode 0x%02x: path %d failed (%s), sent on path %d", x->n->devname,
		   x->r.cmd.opc, x->slot, x->r.xport_err ? strerror(-x->r.xport_err) :
		   nvmf_status_str(x->r.status), slot);
	x->r.status = 0;
	x->r.xport_err = 0;
	cmd_route(x, false, slot);
	cmd_send(x);
	return true;
}

static void cmd_done(struct nvmf_request *r);
static void cmd_ana_look(void *arg);

/*
 * Worker thread: @x met an ANA status (Inaccessible, Transition). Look at
 * its namespace's ANA state now (@first: from that completion) and re-send
 * it, look again later, or give up (host/retry.h): then cmd_done answers
 * the caller with the ANA status.
 */
static void cmd_ana_wait(struct cuse_cmd *x, bool first)
{
	struct cuse_ctrl *cc = x->n->cc;
	struct nvmf_ana_wait_decision w;

	w = nvmf_retry_ana_wait_ctrl(x->ctrl, x->w, le32toh(x->r.cmd.nsid), &x->ana_since_ns,
				     first);
	switch (w.action) {
	case NVMF_ANA_WAIT_RESUBMIT:
		nvmf_ctrl_ana_count_retry(x->ctrl);
		atomic_fetch_add(&cc->st_retries, 1);
		cmd_resubmit(x);
		return;
	case NVMF_ANA_WAIT_MORE:
		if (nvmf_worker_defer(x->w, w.delay_ms, cmd_ana_look, x) == 0)
			return;
		w.why = "the queue is stopping";
		break;
	case NVMF_ANA_WAIT_FAIL:
		break;
	}
	nvmf_warn("%s: opcode 0x%02x: %s: failing it", x->n->devname, x->r.cmd.opc, w.why);
	x->ana_expired = true;
	cmd_done(&x->r);
}

static void cmd_ana_look(void *arg)
{
	cmd_ana_wait(arg, false);
}

/*
 * A Read whose data landed intact up to @bytes (whole blocks of @block):
 * keep them, and move the command to the rest of its range (SLBA, NLB and
 * the data pointer), so the same blocks are never fetched twice.
 */
static void cmd_advance(struct cuse_cmd *x, uint32_t bytes, uint32_t block)
{
	struct nvmf_request *r = &x->r;
	uint64_t slba = le32toh(r->cmd.cdw10) | (uint64_t)le32toh(r->cmd.cdw11) << 32;
	uint32_t cdw12 = le32toh(r->cmd.cdw12), blocks = bytes / block;

	slba += blocks;
	r->cmd.cdw10 = htole32((uint32_t)slba);
	r->cmd.cdw11 = htole32((uint32_t)(slba >> 32));
	r->cmd.cdw12 = htole32((cdw12 & ~0xffffu) | ((cdw12 & 0xffffu) - blocks));
	r->data = (uint8_t *)r->data + bytes;
	r->data_len -= bytes;
	x->done += bytes;
}

/*
 * Worker thread, from the completion: apply the retry policy (host/retry.h)
 * to an I/O-queue Read or Write that failed, like the ublk disks do.
 * Returns true when the command went out again (its completion comes back
 * here), false when @x's result is final. Reads that lost data to a
 * digest error after an intact prefix continue with the remaining LBAs;
 * other failures re-send the current range whole (the engine completes a
 * command only once none of its buffers is in flight, so a Write may go
 * again); transport failures wait for the reconnect while the worker holds
 * I/O; DNR, a used-up budget or no reconnect return the status. A final
 * failure never hands out read data that did not arrive intact: the buffer
 * is zeroed beyond the confirmed prefix.
 */
static bool cmd_retry(struct cuse_cmd *x)
{
	struct nvmf_request *r = &x->r;
	struct cuse_ctrl *cc = x->n->cc;
	bool rw = x->w && (r->cmd.opc == nvme_cmd_read || r->cmd.opc == nvme_cmd_write);
	uint32_t cdw12 = le32toh(r->cmd.cdw12), block = x->n->is_ns ? x->n->ns.lba_size : 0;
	struct nvmf_retry_decision d;

	if (nvmf_req_ok(r))
		return false;
	if (rw && cmd_failover(x))
		return true;
	/* Splittable: NLB covers exactly the buffer, and no protection information. */
	if (!block || r->cmd.opc != nvme_cmd_read || (cdw12 & (0xfu << 26)) ||
	    ((uint64_t)(cdw12 & 0xffffu) + 1) * block != r->data_len)
		block = 0;
	d = rw ? nvmf_retry_decide_ctrl(r, x->attempts, &x->ctrl->id, block)
	       : (struct nvmf_retry_decision){ .action = NVMF_RETRY_FAIL };
	switch (d.action) {
	case NVMF_RETRY_ANA_WAIT:
		if (x->ana_expired)
			break;
		cmd_ana_wait(x, true);
		return true;
	case NVMF_RETRY_RECONNECT:
		if (!nvmf_worker_holding(x->w))
			break;
		atomic_fetch_add(&cc->st_requeued, 1);
		cmd_send(x);
		return true;
	case NVMF_RETRY_PARTIAL:
		cmd_advance(x, d.done_bytes, block);
		x->attempts = 0;	/* the rest is a new command, with its own budget */
		atomic_fetch_add(&cc->st_partial, 1);
		/* fall through */
	case NVMF_RETRY_AGAIN:
		x->attempts++;
		atomic_fetch_add(&cc->st_retries, 1);
		nvmf_debug("%s: opcode 0x%02x: %s, resent from byte %u in %u ms", x->n->devname,
			   r->cmd.opc, d.why, x->done, d.delay_ms);
		if (!d.delay_ms || nvmf_worker_defer(x->w, d.delay_ms, cmd_resubmit, x) < 0)
			cmd_resubmit(x);
		return true;
	default:
		break;
	}
	if (rw) {
		atomic_fetch_add(&cc->st_errors, 1);
		nvmf_debug("%s: opcode 0x%02x: status 0x%x (%s), attempt %u: %s%s", x->n->devname,
			   r->cmd.opc, r->status, r->xport_err ? strerror(-r->xport_err) : "-",
			   x->attempts, d.action == NVMF_RETRY_RECONNECT ? "not holding I/O, " : "",
			   d.why ? d.why : "final");
	}
	if (x->c2h && x->len) {
		uint32_t keep = x->done + (r->bytes_ok < r->data_len ? r->bytes_ok : r->data_len);

		memset((uint8_t *)x->buf + keep, 0, x->len - keep);
	}
	return false;
}

/* Worker thread: the command completed; answer the caller. */
static void cmd_done(struct nvmf_request *r)
{
	struct cuse_cmd *x = r->cb_arg;
	uint64_t res64 = (uint64_t)r->cqe.dw0 | (uint64_t)r->cqe.dw1 << 32;
	uint32_t res32 = r->cqe.dw0;
	struct iovec iov[2];
	int cnt = 0;

	cmd_unsend(x);
	if (cmd_retry(x))
		return;
	if (r->xport_err && !r->status) {
		fuse_reply_err(x->req, EIO);
		cmd_free(x);
		return;
	}
	/* The reply: read data (unless direct), then the result (see do_passthru). */
	if (x->c2h && x->len && x->direct && x->res_addr && x->nuiov < 8) {
		/* One round: data and result in one process_vm_writev, in that order. */
		struct iovec local[2] = { { x->buf, x->len }, { &res64, 8 } };
		struct iovec remote[9];
		ssize_t done;

		if (x->kind == CUSE_PT32)
			local[1] = (struct iovec){ &res32, sizeof(res32) };
		memcpy(remote, x->uiov, (size_t)x->nuiov * sizeof(*remote));
		remote[x->nuiov] = (struct iovec){ (void *)(uintptr_t)x->res_addr,
						   local[1].iov_len };
		done = process_vm_writev(x->pid, local, 2, remote, (unsigned long)x->nuiov + 1, 0);
		if (done != (ssize_t)(x->len + local[1].iov_len)) {
			int e = done < 0 ? errno : EFAULT;

			nvmf_err("%s: cannot return read data to pid %d: %s", x->n->devname,
				 (int)x->pid, strerror(e));
			fuse_reply_err(x->req, e == EFAULT ? EFAULT : EIO);
		} else {
			fuse_reply_ioctl(x->req, r->status, NULL, 0);
		}
		cmd_free(x);
		return;
	}
	if (x->c2h && x->len && x->direct) {
		int rc = caller_copy(x->pid, x->buf, x->len, x->uiov, x->nuiov, true);

		if (rc < 0) {
			nvmf_err("%s: cannot return read data to pid %d: %s", x->n->devname,
				 (int)x->pid, strerror(-rc));
			fuse_reply_err(x->req, -rc == EFAULT ? EFAULT : EIO);
			cmd_free(x);
			return;
		}
	} else if (x->c2h && x->len) {
		iov[cnt].iov_base = x->buf;
		iov[cnt++].iov_len = x->len;
	}
	if (x->kind == CUSE_PT32) {
		iov[cnt].iov_base = &res32;
		iov[cnt++].iov_len = sizeof(res32);
	} else if (x->kind == CUSE_PT64) {
		iov[cnt].iov_base = &res64;
		iov[cnt++].iov_len = sizeof(res64);
	}
	if (x->res_addr) {	/* one round (data direct): the result goes straight back */
		struct iovec to = { (void *)(uintptr_t)x->res_addr, iov[0].iov_len };

		if (caller_copy(x->pid, iov[0].iov_base, iov[0].iov_len, &to, 1, true) < 0) {
			fuse_reply_err(x->req, EFAULT);
			cmd_free(x);
			return;
		}
		cnt = 0;
	}
	fuse_reply_ioctl_iov(x->req, r->status, iov, cnt);
	cmd_free(x);
}

/*
 * Session thread, or the I/O worker reading the node: send @x (request
 * fields already filled) on the admin queue or an I/O queue, of the path
 * the policy picks for a namespace node. @cb replies on the worker and
 * frees @x.
 */
static void cmd_post(struct cuse_cmd *x, bool admin, nvmf_req_cb cb)
{
	struct cuse_node *n = x->n;
	struct cuse_ctrl *cc = n->cc;
	struct nvmf_mpath *m = __atomic_load_n(&cc->mp, __ATOMIC_ACQUIRE);
	int slot = m && n->is_ns && nvmf_mpath_count(m) > 1 ?
		   nvmf_mpath_select(m, n->ns.nsid, &n->rr, -1) : 0;

	x->attempts = 1;
	x->r.data = x->len ? x->buf : NULL;
	x->r.data_len = x->len;
	x->r.dir = !x->len ? NVMF_DIR_NONE : x->c2h ? NVMF_DIR_C2H : NVMF_DIR_H2C;
	if (!x->r.timeout_ms)
		x->r.timeout_ms = admin ? CUSE_ADMIN_TIMEOUT_MS : CUSE_IO_TIMEOUT_MS;
	x->r.cb = cb;
	x->r.cb_arg = x;
	atomic_fetch_add(&n->inflight, 1);
	if (atomic_fetch_add(&cc->inflight, 1) >= CUSE_MAX_INFLIGHT) {
		atomic_fetch_sub(&cc->inflight, 1);
		nvmf_warn("%s: %d commands in flight: refusing more (EAGAIN)", n->devname,
			  CUSE_MAX_INFLIGHT);
		fuse_reply_err(x->req, EAGAIN);
		cmd_free(x);
		return;
	}
	x->counted = true;
	cmd_route(x, admin, slot < 0 ? 0 : slot);
	cmd_send(x);
}

/* ---------------------------------------------------------------- access */

/*
 * Whether thread @pid has CAP_SYS_ADMIN in its effective set and lives in
 * our user namespace (see the top of the file). False when unknown.
 */
/* CapEff of /proc/@who/status ("self" or a pid); false when unknown. */
static bool read_capeff(const char *who, unsigned long long *eff)
{
	char path[64], line[256];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/status", who);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "CapEff: %llx", eff) == 1;
	fclose(f);
	return found;
}

static bool caller_capable(pid_t pid)
{
	unsigned long long eff = 0;
	struct stat self, them;
	char path[64], who[16];

	if (pid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	if (stat("/proc/self/ns/user", &self) < 0 || stat(path, &them) < 0 ||
	    self.st_dev != them.st_dev || self.st_ino != them.st_ino)
		return false;
	snprintf(who, sizeof(who), "%d", (int)pid);
	return read_capeff(who, &eff) && ((eff >> CAP_SYS_ADMIN) & 1);
}

/*
 * Session thread: judge call @a (call, opcode, nsid, cdw10, effects filled
 * in) on node @n for the caller of @req. Returns 0, or a negative errno the
 * caller answers with (the cause goes to the debug log).
 */
static int node_auth(fuse_req_t req, struct cuse_node *n, const struct fuse_file_info *fi,
		     struct cuse_auth_req *a)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	int acc = fi ? (int)(fi->fh & O_ACCMODE) : O_RDONLY;
	const char *why;
	int rc;

	a->node = n->is_ns ? CUSE_AUTH_NODE_NS : CUSE_AUTH_NODE_CTRL;
	a->open_for_write = acc == O_WRONLY || acc == O_RDWR;
	a->capable = false;
	rc = cuse_auth_check(&n->cc->opts.auth, a, &why);
	if (rc == -EACCES) {
		a->capable = caller_capable(ctx->pid);
		if (a->capable)
			rc = cuse_auth_check(&n->cc->opts.auth, a, &why);
	}
	if (rc < 0)
		nvmf_debug("%s: pid %d uid %u: opcode 0x%02x (call %d) refused, %s: %s",
			   n->devname, (int)ctx->pid, (unsigned int)ctx->uid, a->opcode,
			   (int)a->call, strerror(-rc), why);
	return rc;
}

/* The effects log's entry for I/O @opc on a namespace of command set @csi. */
static uint32_t io_effects(const struct cuse_node *n, uint8_t opc, uint8_t csi)
{
	/* Only the NVM command set's log is read: others vouch for nothing. */
	if (csi != NVME_CSI_NVM)
		return 0;
	return le32toh(n->cc->c->effects.iocs[opc]);
}

/* ----------------------------------------------------------- passthrough */

static int iov_add(struct iovec *v, int *cnt, uint64_t base, size_t len)
{
	v[*cnt].iov_base = (void *)(uintptr_t)base;
	v[(*cnt)++].iov_len = len;
	return 0;
}

/* The controller node's single namespace (IO_CMD), like nvme_dev_user_cmd. */
static int only_nsid(struct cuse_ctrl *cc, uint32_t *nsid, uint8_t *csi)
{
	int rc;

	pthread_mutex_lock(&cc->lock);
	if (cc->nr_ns == 0) {
		rc = -ENOTTY;
	} else if (cc->nr_ns > 1) {
		rc = -EINVAL;
	} else {
		*nsid = cc->ns[0]->ns.nsid;
		*csi = cc->ns[0]->ns.csi;
		rc = 0;
	}
	pthread_mutex_unlock(&cc->lock);
	return rc;
}

/*
 * NVME_IOCTL_{ADMIN,IO}_CMD, the 64-bit variants and IO64_CMD_VEC, on
 * either node. @admin: the admin queue; else an I/O command for the node's
 * namespace (checked like the kernel's nvme_user_cmd).
 *
 * Rounds: (1) fetch the header; (2) fetch the write data (or, for VEC, the
 * caller's iovec array) and reserve the result and the read data; (3)
 * execute. Data that does not fit one CUSE round, and VEC data, is moved
 * with process_vm_*v instead (struct cuse_cmd.direct).
 */
static void do_passthru(fuse_req_t req, struct cuse_node *n, const struct fuse_file_info *fi,
			void *arg, bool is64, bool vec, bool admin, const void *in_buf,
			size_t in_bufsz, size_t out_bufsz)
{
	size_t hdr = is64 ? sizeof(struct nvme_passthru_cmd64) : sizeof(struct nvme_passthru_cmd);
	size_t res_off = is64 ? offsetof(struct nvme_passthru_cmd64, result)
			      : offsetof(struct nvme_passthru_cmd, result);
	size_t res_len = is64 ? 8 : 4;
	uint64_t uarg = (uint64_t)(uintptr_t)arg;
	struct nvme_passthru_cmd64 pc;
	struct iovec in[2], out[2];
	int nin = 0, nout = 0;
	uint32_t len, nsid = 0, nvec = 0;
	uint64_t total;
	size_t vec_bytes = 0, vec_in = 0;
	struct cuse_cmd *x;
	bool c2h, direct;
	uint8_t csi = n->ns.csi;
	struct cuse_auth_req a = { .call = admin ? CUSE_AUTH_ADMIN : CUSE_AUTH_IO };
	uint8_t argbuf[sizeof(struct nvme_passthru_cmd64)];
	bool one = false;
	int rc;

	if (in_bufsz == 0) {
		rc = arg_direct(req, n, uarg, argbuf, hdr);
		if (rc == -EFAULT) {
			fuse_reply_err(req, EFAULT);
			return;
		}
		if (rc == 0) {	/* one round: as if the last round of two */
			one = true;
			in_buf = argbuf;
			in_bufsz = hdr;
			out_bufsz = res_len;
		} else {
			iov_add(in, &nin, uarg, hdr);
			if (n->cc->two_rounds)
				iov_add(out, &nout, uarg + res_off, res_len);
			fuse_reply_ioctl_retry(req, in, 1, nout ? out : NULL, (size_t)nout);
			return;
		}
	}
	if (in_bufsz < hdr) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	/* The two structs share the layout up to cdw15 and timeout_ms. */
	memset(&pc, 0, sizeof(pc));
	memcpy(&pc, in_buf, offsetof(struct nvme_passthru_cmd, result));

	if (pc.flags) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (!admin) {
		if (n->is_ns) {
			nsid = n->ns.nsid;
		} else {
			rc = only_nsid(n->cc, &nsid, &csi);
			if (rc < 0) {
				fuse_reply_err(req, -rc);
				return;
			}
		}
		if (pc.nsid != nsid) {
			nvmf_err("%s: I/O command for nsid %u on namespace %u", n->devname,
				 pc.nsid, nsid);
			fuse_reply_err(req, EINVAL);
			return;
		}
		if (n->is_ns && !nvmf_ns_ref_valid(n->cc->c, &n->ref)) {
			fuse_reply_err(req, ENODEV);	/* the namespace changed or went */
			return;
		}
	}
	/* Rounds 2 and 3 (which runs the command the caller has now). */
	a.opcode = pc.opcode;
	a.nsid = pc.nsid;
	a.cdw10 = pc.cdw10;
	a.effects = admin ? 0 : io_effects(n, pc.opcode, csi);
	rc = node_auth(req, n, fi, &a);
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	if (!admin && !n->cc->c->nr_ioq) {
		fuse_reply_err(req, ENXIO);
		return;
	}
	if (pc.metadata_len || pc.metadata) {
		/* No separate metadata buffer over fabrics/TCP: never drop it. */
		fuse_reply_err(req, EINVAL);
		return;
	}
	c2h = !(pc.opcode & 1);	/* the kernel's nvme_is_write() */
	if (vec) {
		nvec = (pc.addr && pc.data_len) ? pc.data_len : 0;
		if (nvec > 1024) {	/* UIO_MAXIOV, as import_iovec */
			fuse_reply_err(req, EINVAL);
			return;
		}
		vec_bytes = (size_t)nvec * sizeof(struct iovec);
		/* The iovec array: in the last round's input, or read directly. */
		vec_in = n->cc->two_rounds ? 0 : vec_bytes;
		len = 0;	/* known in the last round */
		direct = nvec != 0;
	} else {
		len = (pc.addr && pc.data_len) ? pc.data_len : 0;
		if (len && n->cc->c->max_xfer && len > n->cc->c->max_xfer) {
			fuse_reply_err(req, EINVAL);	/* beyond MDTS, as the kernel */
			return;
		}
		direct = n->cc->two_rounds || len > CUSE_XFER_MAX;
	}
	if (out_bufsz == 0) {	/* round 2 of 3 */
		iov_add(in, &nin, uarg, hdr);
		if (vec_bytes)
			iov_add(in, &nin, pc.addr, vec_bytes);
		else if (len && !c2h && !direct)
			iov_add(in, &nin, pc.addr, len);
		/* Read data before the result: the kernel copies out in this
		 * order, so a bad data pointer leaves the result unwritten. */
		if (len && c2h && !direct)
			iov_add(out, &nout, pc.addr, len);
		iov_add(out, &nout, uarg + res_off, res_len);
		fuse_reply_ioctl_retry(req, in, (size_t)nin, out, (size_t)nout);
		return;
	}
	/* The last round: the sizes must match what the one before asked for. */
	if (in_bufsz != hdr + vec_in + (c2h || direct ? 0 : len) ||
	    out_bufsz != res_len + (c2h && !direct ? len : 0)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	x = cmd_new(req, n);
	if (!x)
		return;
	x->kind = is64 ? CUSE_PT64 : CUSE_PT32;
	x->c2h = c2h;
	x->direct = direct;
	x->pid = fuse_req_ctx(req)->pid;
	x->res_addr = one ? uarg + res_off : 0;
	if (direct) {
		x->nuiov = vec ? (int)nvec : 1;
		x->uiov = calloc((size_t)x->nuiov, sizeof(*x->uiov));
		if (!x->uiov)
			goto nomem;
		if (vec && !vec_in) {
			struct iovec arr = { (void *)(uintptr_t)pc.addr, vec_bytes };

			rc = caller_copy(x->pid, x->uiov, vec_bytes, &arr, 1, false);
			if (rc < 0) {
				free(x->uiov);
				free(x);
				fuse_reply_err(req, EFAULT);
				return;
			}
		} else if (vec) {
			memcpy(x->uiov, (const uint8_t *)in_buf + hdr, vec_bytes);
		} else {
			x->uiov[0].iov_base = (void *)(uintptr_t)pc.addr;
			x->uiov[0].iov_len = len;
		}
		total = 0;
		for (int i = 0; i < x->nuiov; i++)
			total += x->uiov[i].iov_len;
		if (n->cc->c->max_xfer ? total > n->cc->c->max_xfer : total > UINT32_MAX) {
			free(x->uiov);
			free(x);
			fuse_reply_err(req, EINVAL);
			return;
		}
		len = (uint32_t)total;
	}
	x->len = len;
	if (len && !(x->buf = calloc(1, len)))
		goto nomem;
	if (len && !c2h && direct) {
		rc = caller_copy(x->pid, x->buf, len, x->uiov, x->nuiov, false);
		if (rc < 0) {
			nvmf_err("%s: cannot fetch write data from pid %d: %s", n->devname,
				 (int)x->pid, strerror(-rc));
			free(x->uiov);
			free(x->buf);
			free(x);
			fuse_reply_err(req, EFAULT);
			return;
		}
	} else if (len && !c2h) {
		memcpy(x->buf, (const uint8_t *)in_buf + hdr, len);
	}
	/* Passed through unmodified; the engine fills cid, PSDT and the SGL. */
	x->r.cmd.opc = pc.opcode;
	x->r.cmd.nsid = htole32(pc.nsid);
	x->r.cmd.cdw2 = htole32(pc.cdw2);
	x->r.cmd.cdw3 = htole32(pc.cdw3);
	x->r.cmd.cdw10 = htole32(pc.cdw10);
	x->r.cmd.cdw11 = htole32(pc.cdw11);
	x->r.cmd.cdw12 = htole32(pc.cdw12);
	x->r.cmd.cdw13 = htole32(pc.cdw13);
	x->r.cmd.cdw14 = htole32(pc.cdw14);
	x->r.cmd.cdw15 = htole32(pc.cdw15);
	/*
	 * The caller's timeout is the caller's: past it the command is
	 * aborted (Abort on the admin queue) and the caller gets whatever
	 * status that brings; only the engine's own timeout, the longer of
	 * the two, fails the queue pair, as any lost command does. A caller
	 * with a 1 ms timeout thus never fails other callers' I/O.
	 */
	if (pc.timeout_ms) {
		uint32_t dflt = admin ? CUSE_ADMIN_TIMEOUT_MS : CUSE_IO_TIMEOUT_MS;

		if (pc.timeout_ms < dflt)
			x->r.abort_ms = pc.timeout_ms;
		else
			x->r.timeout_ms = pc.timeout_ms;
	}
	if (!admin && n->is_ns)
		x->r.ns_ref = &n->ref;
	cmd_post(x, admin, cmd_done);
	return;
nomem:
	free(x->uiov);
	free(x);
	fuse_reply_err(req, ENOMEM);
}

/* NVME_IOCTL_SUBMIT_IO on a namespace node (nvme_submit_io). */
static void do_submit_io(fuse_req_t req, struct cuse_node *n, const struct fuse_file_info *fi,
			 void *arg, const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	uint64_t uarg = (uint64_t)(uintptr_t)arg;
	struct nvme_user_io io;
	struct iovec in[2], out[1];
	int nin = 0, nout = 0;
	struct cuse_cmd *x;
	uint64_t len64;
	uint32_t len;
	bool c2h, direct;
	struct cuse_auth_req a = { .call = CUSE_AUTH_IO };
	int rc;

	if (in_bufsz == 0) {
		rc = arg_direct(req, n, uarg, &io, sizeof(io));
		if (rc == -EFAULT) {
			fuse_reply_err(req, EFAULT);
			return;
		}
		if (rc == 0) {	/* one round: as if the direct last round */
			in_bufsz = sizeof(io);
			out_bufsz = 1;
		} else {
			iov_add(in, &nin, uarg, sizeof(io));
			if (n->cc->two_rounds)
				iov_add(out, &nout, uarg, 1);	/* marks the direct last round */
			fuse_reply_ioctl_retry(req, in, 1, nout ? out : NULL, (size_t)nout);
			return;
		}
	} else {
		if (in_bufsz < sizeof(io)) {
			fuse_reply_err(req, EINVAL);
			return;
		}
		memcpy(&io, in_buf, sizeof(io));
	}
	if (io.flags || (io.opcode != nvme_cmd_write && io.opcode != nvme_cmd_read &&
			 io.opcode != nvme_cmd_compare)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (n->ns.ms) {
		fuse_reply_err(req, EINVAL);	/* metadata: see do_passthru */
		return;
	}
	/* As nvme_submit_io: judged like the passthrough of the same command. */
	a.opcode = io.opcode;
	a.nsid = n->ns.nsid;
	a.cdw10 = (uint32_t)io.slba;
	a.effects = io_effects(n, io.opcode, n->ns.csi);
	rc = node_auth(req, n, fi, &a);
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	if (!n->cc->c->nr_ioq) {
		fuse_reply_err(req, ENXIO);
		return;
	}
	len64 = ((uint64_t)io.nblocks + 1) * n->ns.lba_size;
	if (n->cc->c->max_xfer && len64 > n->cc->c->max_xfer) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	len = (uint32_t)len64;
	c2h = io.opcode == nvme_cmd_read;
	/* Direct (process_vm_*v) data: round 3 is told apart by a 1-byte out
	 * range on the argument that the reply never writes. */
	direct = n->cc->two_rounds || len > CUSE_XFER_MAX;
	if (!io.addr) {
		fuse_reply_err(req, EFAULT);
		return;
	}
	if (in_bufsz == sizeof(io) && out_bufsz == 0) {	/* round 2 of 3 */
		iov_add(in, &nin, uarg, sizeof(io));
		if (direct)
			iov_add(out, &nout, uarg, 1);
		else if (!c2h)
			iov_add(in, &nin, io.addr, len);
		else
			iov_add(out, &nout, io.addr, len);
		fuse_reply_ioctl_retry(req, in, (size_t)nin, nout ? out : NULL, (size_t)nout);
		return;
	}
	if (direct ? (in_bufsz != sizeof(io) || out_bufsz != 1)
		   : (in_bufsz != sizeof(io) + (c2h ? 0 : len) || out_bufsz != (c2h ? len : 0))) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	x = cmd_new(req, n);
	if (!x)
		return;
	if (!(x->buf = calloc(1, len)) ||
	    (direct && !(x->uiov = calloc(1, sizeof(*x->uiov))))) {
		free(x->buf);
		free(x);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	x->kind = CUSE_SUBMIT_IO;
	x->c2h = c2h;
	x->len = len;
	x->direct = direct;
	x->pid = fuse_req_ctx(req)->pid;
	if (direct) {
		x->uiov[0].iov_base = (void *)(uintptr_t)io.addr;
		x->uiov[0].iov_len = len;
		x->nuiov = 1;
	}
	if (!c2h && direct) {
		rc = caller_copy(x->pid, x->buf, len, x->uiov, 1, false);
		if (rc < 0) {
			x->n = n;
			atomic_fetch_add(&n->inflight, 1);
			cmd_free(x);
			fuse_reply_err(req, EFAULT);
			return;
		}
	} else if (!c2h) {
		memcpy(x->buf, (const uint8_t *)in_buf + sizeof(io), len);
	}
	x->r.cmd.opc = io.opcode;
	x->r.cmd.nsid = htole32(n->ns.nsid);
	x->r.cmd.cdw10 = htole32((uint32_t)io.slba);
	x->r.cmd.cdw11 = htole32((uint32_t)(io.slba >> 32));
	x->r.cmd.cdw12 = htole32(io.nblocks | (uint32_t)io.control << 16);
	x->r.cmd.cdw13 = htole32(io.dsmgmt);
	x->r.cmd.cdw14 = htole32(io.reftag);
	x->r.cmd.cdw15 = htole32(io.apptag | (uint32_t)io.appmask << 16);
	x->r.ns_ref = &n->ref;
	cmd_post(x, false, cmd_done);
}

/* BLK* geometry: ask for room for the value, then write it. */
static void do_blk(fuse_req_t req, void *arg, const void *val, size_t size, size_t out_bufsz)
{
	struct iovec out = { .iov_base = arg, .iov_len = size };

	if (out_bufsz < size)
		fuse_reply_ioctl_retry(req, NULL, 0, &out, 1);
	else
		fuse_reply_ioctl(req, 0, val, size);
}

/*
 * Admin worker: start a rescan (it runs between the admin worker's other
 * work); when it ends, the NS_CHANGED event makes the daemon sync nodes.
 */
static void rescan_on_admin(void *arg)
{
	nvmf_ctrl_rescan(arg);
}

/* Like the kernel's nvme_queue_scan(): the scan is queued, the call returns. */
static void do_rescan(fuse_req_t req, struct cuse_node *n)
{
	nvmf_worker_call(n->cc->c->admin_worker, rescan_on_admin, n->cc->c);
	fuse_reply_ioctl(req, 0, NULL, 0);
}

/* Session thread or serving worker: one ioctl round. */
static void node_ioctl(fuse_req_t req, int cmd, void *arg, struct fuse_file_info *fi,
		       unsigned int flags, const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	struct cuse_node *n = fuse_req_userdata(req);
	uint64_t bytes = n->ns.nsze * n->ns.lba_size;
	struct cuse_auth_req a = { .call = CUSE_AUTH_RESET };
	int rc;

	if (flags & FUSE_IOCTL_COMPAT) {
		/* 32-bit callers: pointers would need translating; refuse. */
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	switch ((unsigned int)cmd) {
	case NVME_IOCTL_ADMIN_CMD:
		do_passthru(req, n, fi, arg, false, false, true, in_buf, in_bufsz, out_bufsz);
		return;
	case NVME_IOCTL_ADMIN64_CMD:
		do_passthru(req, n, fi, arg, true, false, true, in_buf, in_bufsz, out_bufsz);
		return;
	case NVME_IOCTL_IO_CMD:
		do_passthru(req, n, fi, arg, false, false, false, in_buf, in_bufsz, out_bufsz);
		return;
	default:
		break;
	}
	if (!n->is_ns) {
		/* Reset, subsystem reset, rescan: CAP_SYS_ADMIN, as nvme_dev_ioctl. */
		switch ((unsigned int)cmd) {
		case NVME_IOCTL_RESET:
		case NVME_IOCTL_SUBSYS_RESET:
		case NVME_IOCTL_RESCAN:
			a.call = (unsigned int)cmd == NVME_IOCTL_RESET ? CUSE_AUTH_RESET :
				 (unsigned int)cmd == NVME_IOCTL_RESCAN ? CUSE_AUTH_RESCAN :
				 CUSE_AUTH_SUBSYS_RESET;
			rc = node_auth(req, n, fi, &a);
			if (rc < 0) {
				fuse_reply_err(req, -rc);
				return;
			}
			break;
		default:
			break;
		}
		switch ((unsigned int)cmd) {
		case NVME_IOCTL_RESCAN:
			do_rescan(req, n);
			return;
		case NVME_IOCTL_RESET: {
			rc = n->cc->opts.reset ? n->cc->opts.reset(n->cc->opts.reset_arg) :
			     -EOPNOTSUPP;
			if (rc < 0)
				fuse_reply_err(req, -rc);
			else
				fuse_reply_ioctl(req, 0, NULL, 0);
			return;
		}
		case NVME_IOCTL_SUBSYS_RESET:
			/* CAP.NSSRS clear: the kernel answers ENOTTY too. */
			fuse_reply_err(req, (n->cc->c->cap >> 36) & 1 ? EOPNOTSUPP : ENOTTY);
			return;
		default:
			nvmf_debug("%s: ioctl 0x%08x: ENOTTY", n->devname, (unsigned int)cmd);
			fuse_reply_err(req, ENOTTY);	/* NVME_IOCTL_ID included */
			return;
		}
	}
	switch ((unsigned int)cmd) {
	case NVME_IOCTL_ID:
		fuse_reply_ioctl(req, (int)n->ns.nsid, NULL, 0);
		return;
	case NVME_IOCTL_IO64_CMD:
		do_passthru(req, n, fi, arg, true, false, false, in_buf, in_bufsz, out_bufsz);
		return;
	case NVME_IOCTL_IO64_CMD_VEC:
		do_passthru(req, n, fi, arg, true, true, false, in_buf, in_bufsz, out_bufsz);
		return;
	case NVME_IOCTL_SUBMIT_IO:
		do_submit_io(req, n, fi, arg, in_buf, in_bufsz, out_bufsz);
		return;
	case BLKGETSIZE64: {
		uint64_t v = bytes;

		do_blk(req, arg, &v, sizeof(v), out_bufsz);
		return;
	}
	case BLKGETSIZE: {
		unsigned long v = (unsigned long)(bytes >> 9);

		do_blk(req, arg, &v, sizeof(v), out_bufsz);
		return;
	}
	case BLKSSZGET: {
		int v = (int)n->ns.lba_size;

		do_blk(req, arg, &v, sizeof(v), out_bufsz);
		return;
	}
	case BLKBSZGET: {
		/* The block device's initial soft block size (block/bdev.c
		 * set_init_blocksize): doubled from the LBA size while it
		 * divides the capacity, up to the page size. */
		unsigned int v = n->ns.lba_size, page = (unsigned int)getpagesize();

		while (v < page && !(bytes & v))
			v <<= 1;
		do_blk(req, arg, &v, sizeof(v), out_bufsz);
		return;
	}
	case BLKPBSZGET: {
		unsigned int v = n->ns.lba_size;

		do_blk(req, arg, &v, sizeof(v), out_bufsz);
		return;
	}
	default:
		nvmf_debug("%s: ioctl 0x%08x: ENOTTY", n->devname, (unsigned int)cmd);
		fuse_reply_err(req, ENOTTY);
		return;
	}
}

/*
 * read(2)/write(2) are refused (see the top of the file): CUSE gives no
 * usable offset, and lseek on a CUSE node is a successful no-op, so a
 * stream position would put `dd skip=`/`seek=` data at the wrong LBA
 * silently.
 */
static void node_read(fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)size;
	(void)off;
	(void)fi;
	fuse_reply_err(req, EOPNOTSUPP);
}

static void node_write(fuse_req_t req, const char *buf, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	(void)buf;
	(void)size;
	(void)off;
	(void)fi;
	fuse_reply_err(req, EOPNOTSUPP);
}

/* The access mode is kept in fi->fh for the ioctls' "open for writing". */
static void node_open(fuse_req_t req, struct fuse_file_info *fi)
{
	fi->fh = (uint64_t)(fi->flags & O_ACCMODE);
	fi->direct_io = 1;
	fi->nonseekable = 1;
	fuse_reply_open(req, fi);
}

static const struct cuse_lowlevel_ops node_ops = {
	.open = node_open,
	.read = node_read,
	.write = node_write,
	.ioctl = node_ioctl,
};

/* ------------------------------------------------- the worker's io_uring */

/*
 * The session fd read on the worker's ring: a POLL_ADD (no completion of
 * its own when it fires: CQE_SKIP_SUCCESS) linked to a READ into @buf.
 * The read must not block the worker, and /dev/cuse has no nowait reads,
 * so the fd stays O_NONBLOCK and the read only runs once the poll says a
 * request is there (one that vanished meanwhile gives -EAGAIN: armed
 * again). Owned by the ring while armed: a node that lets go sets @n to
 * NULL and cancels; the last completion frees it.
 */
struct cuse_rx {
	struct nvmf_ring_handler rh;	/* first: the READ's completion */
	struct cuse_node *n;		/* NULL: the node let go */
	bool armed;
	size_t cap;
	void *buf;
};

/* A reply written on the ring; freed by its completion. */
struct cuse_reply {
	struct nvmf_ring_handler rh;	/* first */
	struct cuse_node *n;		/* counted in n->inflight until then */
	size_t len;
	uint8_t data[];
};

/* Replies longer than this (read data in the reply) keep writev. */
#define CUSE_RING_REPLY_MAX	512

/* Completions nobody needs (the linked poll's failure, cancels). */
static void ring_ignore(struct nvmf_ring_handler *h, int res, uint32_t flags)
{
	(void)h;
	(void)res;
	(void)flags;
}

static struct nvmf_ring_handler ring_ignored = { .fn = ring_ignore };

static void rx_cqe(struct nvmf_ring_handler *h, int res, uint32_t flags);

/* Worker thread: arm @rx's poll and read. Returns 0 or -EBUSY (no SQE). */
static int rx_arm(struct cuse_rx *rx)
{
	struct nvmf_worker *w = rx->n->w;
	int fd = fuse_session_fd(rx->n->se);
	struct io_uring_sqe *poll, *rd;

	poll = nvmf_worker_sqe(w);
	if (!poll)
		return -EBUSY;
	io_uring_prep_poll_add(poll, fd, POLLIN);
	io_uring_sqe_set_data(poll, &ring_ignored);
	io_uring_sqe_set_flags(poll, IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS);
	rd = nvmf_worker_sqe(w);
	if (!rd) {		/* the poll goes alone, linked to nothing */
		io_uring_sqe_set_flags(poll, IOSQE_CQE_SKIP_SUCCESS);
		return -EBUSY;
	}
	io_uring_prep_read(rd, fd, rx->buf, (unsigned int)rx->cap, 0);
	io_uring_sqe_set_data(rd, &rx->rh);
	rx->armed = true;
	return 0;
}

/* The read came back: hand the request to libfuse, and read again. */
static void rx_cqe(struct nvmf_ring_handler *h, int res, uint32_t flags)
{
	struct cuse_rx *rx = (struct cuse_rx *)h;
	struct cuse_node *n = rx->n;

	(void)flags;
	rx->armed = false;
	if (!n) {
		free(rx->buf);
		free(rx);
		return;
	}
	if (res >= (int)sizeof(struct fuse_in_header)) {
		struct fuse_buf fb = { .mem = rx->buf, .size = (size_t)res };

		serving_worker = n->w;
		fuse_session_process_buf(n->se, &fb);
		serving_worker = NULL;
	} else if (res != -EAGAIN && res != -EINTR && res != -ENOENT) {
		/* 0, -ENODEV: the kernel ended the connection (e.g. name taken). */
		if (res != 0 && res != -ENODEV)
			nvmf_warn("%s: reading /dev/cuse: %s", n->devname,
				  res < 0 ? strerror(-res) : "short request");
		n->rx = NULL;
		atomic_store(&n->ended, true);
		free(rx->buf);
		free(rx);
		return;
	}
	if (fuse_session_exited(n->se) || rx_arm(rx) < 0) {
		nvmf_err("%s: cannot read /dev/cuse on the ring any more", n->devname);
		n->rx = NULL;
		atomic_store(&n->ended, true);
		if (!rx->armed) {
			free(rx->buf);
			free(rx);
		}
	}
}

/*
 * libfuse's reads (fuse_session_receive_buf): the fd watch's, or, with
 * @rx_probe, none: only the size libfuse reads with, for the ring's read.
 */
static ssize_t node_io_read(int fd, void *buf, size_t len, void *userdata)
{
	struct cuse_node *n = userdata;

	if (n->rx_probe) {
		n->rx_cap = len;
		errno = EAGAIN;
		return -1;
	}
	return read(fd, buf, len);
}

static void reply_cqe(struct nvmf_ring_handler *h, int res, uint32_t flags)
{
	struct cuse_reply *r = (struct cuse_reply *)h;

	(void)flags;
	/* ENOENT: the caller was interrupted and the kernel forgot the request. */
	if (res != (int)r->len && res != -ENOENT)
		nvmf_debug("%s: reply not taken: %s", r->n->devname,
			   res < 0 ? strerror(-res) : "short write");
	atomic_fetch_sub(&r->n->inflight, 1);
	free(r);
}

/*
 * libfuse's replies: on the node's worker, with its ring, a short one is
 * copied and written by the ring with the worker's next enter; the node
 * waits for its completion before it closes the fd
 * (n->inflight). Anything else as before, with writev.
 */
static ssize_t node_io_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	struct cuse_node *n = userdata;
	size_t len = 0;

	for (int i = 0; i < count; i++)
		len += iov[i].iov_len;
	if (n->rx && nvmf_worker_self() == n->w && len <= CUSE_RING_REPLY_MAX) {
		struct cuse_reply *r = malloc(sizeof(*r) + len);
		struct io_uring_sqe *sqe = r ? nvmf_worker_sqe(n->w) : NULL;

		if (sqe) {
			size_t off = 0;

			r->rh.fn = reply_cqe;
			r->n = n;
			r->len = len;
			for (int i = 0; i < count; i++) {
				memcpy(r->data + off, iov[i].iov_base, iov[i].iov_len);
				off += iov[i].iov_len;
			}
			io_uring_prep_write(sqe, fd, r->data, (unsigned int)len, 0);
			io_uring_sqe_set_data(sqe, &r->rh);
			atomic_fetch_add(&n->inflight, 1);
			return (ssize_t)len;
		}
		free(r);
	}
	return writev(fd, iov, count);
}

static const struct fuse_custom_io node_io = {
	.read = node_io_read,
	.writev = node_io_writev,
};

/* Serving worker: read the session fd on the ring. Returns 0 or -errno. */
static int rx_start(struct cuse_node *n)
{
	struct fuse_buf probe = { .mem = NULL };
	struct cuse_rx *rx;

	n->rx_probe = true;
	fuse_session_receive_buf(n->se, &probe);
	n->rx_probe = false;
	free(probe.mem);
	if (!n->rx_cap)
		return -EOPNOTSUPP;
	rx = calloc(1, sizeof(*rx));
	if (!rx)
		return -ENOMEM;
	rx->rh.fn = rx_cqe;
	rx->n = n;
	rx->cap = n->rx_cap;
	rx->buf = malloc(rx->cap);
	if (!rx->buf) {
		free(rx);
		return -ENOMEM;
	}
	if (rx_arm(rx) < 0) {
		free(rx->buf);
		free(rx);
		return -EBUSY;
	}
	n->rx = rx;
	return 0;
}

/*
 * Serving worker: stop reading on the ring. The poll is cancelled (by fd:
 * the read linked behind it cannot be found before it starts, and fails
 * with it), and the cancel runs now, so the ring holds the file no longer
 * than the node does (a node made again with the same name must not find
 * the name taken). Replies on the ring are never pending: they complete
 * when submitted, before the cancel.
 */
static void rx_stop(struct cuse_node *n)
{
	struct cuse_rx *rx = n->rx;
	struct io_uring *ring = nvmf_worker_ring(n->w);
	struct io_uring_sqe *sqe;

	if (!rx)
		return;
	n->rx = NULL;
	rx->n = NULL;
	if (!rx->armed) {
		free(rx->buf);
		free(rx);
		return;
	}
	sqe = nvmf_worker_sqe(n->w);
	if (sqe) {
		io_uring_prep_cancel_fd(sqe, fuse_session_fd(n->se), IORING_ASYNC_CANCEL_ALL);
		io_uring_sqe_set_data(sqe, &ring_ignored);
	}
	io_uring_submit(ring);
	io_uring_get_events(ring);
}

/* ------------------------------------------------------------ lifecycle */

static void *node_thread(void *arg)
{
	struct cuse_node *n = arg;
	struct fuse_buf fbuf = { .mem = NULL };
	int fd = fuse_session_fd(n->se);
	char name[16];

	snprintf(name, sizeof(name), "cuse-%.10s", n->devname);
	pthread_setname_np(pthread_self(), name);
	while (!fuse_session_exited(n->se)) {
		struct pollfd p[2] = {
			{ .fd = fd, .events = POLLIN },
			{ .fd = n->stop_fd, .events = POLLIN },
		};
		int rc;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		rc = fuse_session_receive_buf(n->se, &fbuf);
		if (rc == -EINTR || rc == -EAGAIN)
			continue;
		if (rc <= 0)
			break;	/* 0: the kernel ended the connection (e.g. name taken) */
		fuse_session_process_buf(n->se, &fbuf);
	}
	free(fbuf.mem);
	atomic_store(&n->ended, true);
	return NULL;
}

/*
 * Serving worker: the session fd is readable. Requests are handled here, so
 * I/O commands go out on this worker's queue pair at once. One per call:
 * the fd is level-triggered and comes back while requests remain, other
 * fds of the worker get their turn, and at queue depth 1 a second read
 * would only cost a syscall to learn EAGAIN.
 */
static void node_ready(struct nvmf_worker *w, int fd, uint32_t events, void *arg)
{
	struct cuse_node *n = arg;

	(void)events;
	serving_worker = w;
	if (!atomic_load(&n->ended)) {
		int rc = fuse_session_receive_buf(n->se, &n->fbuf);

		if (rc > 0) {
			fuse_session_process_buf(n->se, &n->fbuf);
		} else if (rc != -EINTR && rc != -EAGAIN) {
			/* The kernel ended the connection (e.g. name taken). */
			nvmf_worker_del_fd(w, fd);
			n->watched = false;
			atomic_store(&n->ended, true);
		}
	}
	serving_worker = NULL;
}

/* Serving worker (nvmf_worker_call): start or stop watching the fd. */
static void node_watch(void *arg)
{
	struct cuse_node *n = arg;
	int fd = fuse_session_fd(n->se);
	const char *ring = getenv("NVMFUSE_CUSE_RING");

	if (nvmf_worker_ring(n->w) && ring && !strcmp(ring, "1")) {
		n->watch_rc = rx_start(n);
		if (n->watch_rc == 0)
			return;
		nvmf_debug("%s: cannot read /dev/cuse on the ring (%s): fd watch", n->devname,
			   strerror(-n->watch_rc));
	}
	n->watch_rc = nvmf_worker_add_fd(n->w, fd, EPOLLIN, node_ready, n);
	if (n->watch_rc == 0)
		n->watched = true;
}

static void node_unwatch(void *arg)
{
	struct cuse_node *n = arg;

	rx_stop(n);
	if (n->watched)
		nvmf_worker_del_fd(n->w, fuse_session_fd(n->se));
	n->watched = false;
}

static void node_destroy(struct cuse_node *n)
{
	uint64_t one = 1;

	if (!n)
		return;
	if (n->w && n->se)
		nvmf_worker_call(n->w, node_unwatch, n);
	if (n->thread_started) {
		if (write(n->stop_fd, &one, sizeof(one)) < 0)
			nvmf_warn("%s: cannot stop the session thread", n->devname);
		pthread_join(n->thread, NULL);
	}
	/* Replies go to the session: let every command in flight finish. */
	while (atomic_load(&n->inflight) > 0)
		usleep(1000);
	if (n->se)
		fuse_session_destroy(n->se);	/* closes /dev/cuse: the node goes */
	if (n->stop_fd >= 0)
		close(n->stop_fd);
	free(n->fbuf.mem);
	free(n);
}

/*
 * Namespace node @n made while paths other than slot 0 exist: its
 * namespace through each of them (nothing through a path that lacks it).
 */
static void node_path_refs(struct cuse_node *n)
{
	struct nvmf_mpath *m = __atomic_load_n(&n->cc->mp, __ATOMIC_ACQUIRE);

	for (int s = 1; s < NVMF_MPATH_MAX; s++) {
		struct nvmf_mpath_path *p = m ? nvmf_mpath_get(m, s) : NULL;
		struct nvmf_ns ns;

		if (p && nvmf_ctrl_ns_find(p->ctrl, n->ns.nsid, &ns) == 0 &&
		    nvmf_ns_same_identity(&n->ns, &ns, NULL, 0)) {
			nvmf_ns_ref_init(&n->pref[s], &ns);
		} else {
			n->pref[s].nsid = n->ns.nsid;
			n->pref[s].gone = true;
		}
	}
}

/* Create one node with char device @major:@minor (0: a dynamic major). */
static int node_create_at(struct cuse_ctrl *cc, const struct nvmf_ns *ns, unsigned int major,
			  unsigned int minor, struct cuse_node **out, char *err, size_t errlen)
{
	char devname_arg[80], fdpath[32];
	const char *info_argv[] = { devname_arg };
	char *fargv[] = { (char *)"nvmfuse", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(1, fargv);
	struct cuse_info ci = { 0 };
	struct cuse_node *n;
	struct stat st;
	int fd, rc, waited;

	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->cc = cc;
	n->stop_fd = -1;
	if (ns) {
		n->is_ns = true;
		n->ns = *ns;
		nvmf_ns_ref_init(&n->ref, ns);
		node_path_refs(n);
		snprintf(n->devname, sizeof(n->devname), "ng%un%u", cc->instance, ns->nsid);
	} else {
		snprintf(n->devname, sizeof(n->devname), "%s", cc->name);
	}
	snprintf(n->path, sizeof(n->path), "/dev/%s", n->devname);
	if (stat(n->path, &st) == 0) {
		snprintf(err, errlen, "%s exists already", n->path);
		rc = -EEXIST;
		goto fail;
	}
	snprintf(devname_arg, sizeof(devname_arg), "DEVNAME=%s", n->devname);
	ci.dev_major = major;
	ci.dev_minor = minor;
	ci.dev_info_argc = 1;
	ci.dev_info_argv = info_argv;
	ci.flags = CUSE_UNRESTRICTED_IOCTL;
	n->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (n->stop_fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		goto fail;
	}
	n->se = cuse_lowlevel_new(&args, &ci, &node_ops, n);
	if (!n->se) {
		rc = -ENOMEM;
		snprintf(err, errlen, "%s: cannot create the CUSE session", n->devname);
		goto fail;
	}
	fd = open("/dev/cuse", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "/dev/cuse: %s (is the cuse module loaded?)",
			 strerror(errno));
		goto fail;
	}
	snprintf(fdpath, sizeof(fdpath), "/dev/fd/%d", fd);
	if (fuse_session_mount(n->se, fdpath) != 0) {
		close(fd);
		rc = -EIO;
		snprintf(err, errlen, "%s: cannot attach /dev/cuse", n->devname);
		goto fail;
	}
	if (n->is_ns && cc->c->nr_ioq) {
		/* Served by an I/O worker; namespaces spread over the queues. */
		n->w = cc->c->io_workers[cc->next_node++ % (unsigned int)cc->c->nr_ioq];
		if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
			rc = -errno;
			snprintf(err, errlen, "%s: /dev/cuse: %s", n->devname, strerror(errno));
			goto fail;
		}
		/* Reads and replies through node_io (the ring with NVMFUSE_CUSE_RING=1). */
		rc = fuse_session_custom_io(n->se, &node_io, fd);
		if (rc < 0) {
			snprintf(err, errlen, "%s: custom I/O for /dev/cuse: %s", n->devname,
				 strerror(-rc));
			goto fail;
		}
		/*
		 * watch_rc, not watched: the worker may already have read the
		 * kernel's answer to CUSE_INIT and, if it refused the number,
		 * unwatched the fd (ended is set then; the wait below turns it
		 * into -EIO, which node_create retries on a dynamic major).
		 */
		nvmf_worker_call(n->w, node_watch, n);
		if (n->watch_rc < 0) {
			rc = n->watch_rc;
			snprintf(err, errlen, "%s: cannot watch /dev/cuse: %s", n->devname,
				 strerror(-rc));
			goto fail;
		}
	} else {
		rc = pthread_create(&n->thread, NULL, node_thread, n);
		if (rc) {
			rc = -rc;
			snprintf(err, errlen, "cannot start a CUSE thread: %s", strerror(-rc));
			goto fail;
		}
		n->thread_started = true;
	}
	/* The kernel creates the device after CUSE_INIT; devtmpfs adds the node. */
	for (waited = 0; stat(n->path, &st) != 0; waited += 5) {
		if (atomic_load(&n->ended) || waited >= CUSE_NODE_WAIT_MS) {
			rc = -EIO;
			snprintf(err, errlen, "%s did not appear (name taken, or no devtmpfs?)",
				 n->path);
			goto fail;
		}
		usleep(5000);
	}
	if (chmod(n->path, cc->opts.mode) < 0 ||
	    ((cc->opts.uid != (uid_t)-1 || cc->opts.gid != (gid_t)-1) &&
	     chown(n->path, cc->opts.uid, cc->opts.gid) < 0)) {
		rc = -errno;
		snprintf(err, errlen, "%s: cannot set owner/mode: %s", n->path, strerror(errno));
		goto fail;
	}
	*out = n;
	return 0;
fail:
	node_destroy(n);
	return rc;
}

/* A node with its number on the shared major (see CUSE_MAJOR_DEFAULT), else a dynamic one. */
static int node_create(struct cuse_ctrl *cc, const struct nvmf_ns *ns, struct cuse_node **out,
		       char *err, size_t errlen)
{
	unsigned int major = cuse_major(), nsid = ns ? ns->nsid : 0;
	unsigned int minor = (cc->instance % CUSE_MINOR_INSTANCES) << CUSE_MINOR_NS_BITS | nsid;
	int rc;

	if (!major || nsid >= 1u << CUSE_MINOR_NS_BITS || cc->path_only)
		return node_create_at(cc, ns, 0, 0, out, err, errlen);
	rc = node_create_at(cc, ns, major, minor, out, err, errlen);
	if (rc != -EIO)
		return rc;
	/* The kernel ended the session at CUSE_INIT: the number was refused. */
	nvmf_warn("%s: char device %u:%u refused (%s); taking a dynamic major", cc->name, major,
		  minor, err);
	return node_create_at(cc, ns, 0, 0, out, err, errlen);
}

static int ns_index(const struct cuse_ctrl *cc, uint32_t nsid)
{
	for (int i = 0; i < cc->nr_ns; i++)
		if (cc->ns[i]->ns.nsid == nsid)
			return i;
	return -1;
}

int cuse_ctrl_sync_ns(struct cuse_ctrl *cc, char *err, size_t errlen)
{
	struct nvmf_ns *ns;
	int n, rc, first_rc = 0;

	rc = nvmf_ctrl_ns_snapshot(cc->c, &ns, &n);
	if (rc < 0) {
		snprintf(err, errlen, "namespace list: %s", strerror(-rc));
		return rc;
	}
	/*
	 * Gone, or a different incarnation (identity, size or format changed,
	 * also while the association was down): remove; changed ones are
	 * re-created below.
	 */
	for (int i = 0; i < cc->nr_ns; i++) {
		struct cuse_node *node = cc->ns[i];
		bool keep = false;

		for (int j = 0; j < n; j++)
			if (ns[j].nsid == node->ns.nsid && ns[j].instance == node->ns.instance)
				keep = true;
		if (keep)
			continue;
		pthread_mutex_lock(&cc->lock);
		cc->ns[i] = cc->ns[--cc->nr_ns];
		pthread_mutex_unlock(&cc->lock);
		nvmf_info("removing %s", node->path);
		node_destroy(node);
		i--;
	}
	for (int j = 0; j < n; j++) {
		struct cuse_node *node, **bigger;

		if (ns_index(cc, ns[j].nsid) >= 0)
			continue;
		rc = node_create(cc, &ns[j], &node, err, errlen);
		if (rc < 0) {
			nvmf_err("namespace %u: %s", ns[j].nsid, err);
			if (!first_rc)
				first_rc = rc;
			continue;
		}
		pthread_mutex_lock(&cc->lock);
		bigger = realloc(cc->ns, (size_t)(cc->nr_ns + 1) * sizeof(*cc->ns));
		if (bigger) {
			cc->ns = bigger;
			cc->ns[cc->nr_ns++] = node;
		}
		pthread_mutex_unlock(&cc->lock);
		if (!bigger) {
			node_destroy(node);
			first_rc = first_rc ? first_rc : -ENOMEM;
			continue;
		}
		nvmf_info("namespace %u is %s", ns[j].nsid, node->path);
	}
	free(ns);
	return first_rc;
}

void cuse_ctrl_set_mpath(struct cuse_ctrl *cc, struct nvmf_mpath *m)
{
	__atomic_store_n(&cc->mp, m, __ATOMIC_RELEASE);
}

int cuse_ctrl_path_ref(struct cuse_ctrl *cc, int slot, struct nvmf_ctrl *c, char *err,
		       size_t errlen)
{
	int rc = 0;

	if (slot <= 0 || slot >= NVMF_MPATH_MAX) {
		snprintf(err, errlen, "path slot %d out of range", slot);
		return -EINVAL;
	}
	pthread_mutex_lock(&cc->lock);
	for (int i = 0; i < cc->nr_ns && !rc; i++) {
		struct cuse_node *n = cc->ns[i];
		struct nvmf_ns ns;

		if (nvmf_ctrl_ns_find(c, n->ns.nsid, &ns) < 0) {
			snprintf(err, errlen, "namespace %u (%s) is not active on this path",
				 n->ns.nsid, n->path);
			rc = -ENOENT;
		} else {
			nvmf_ns_ref_init(&n->pref[slot], &ns);
		}
	}
	pthread_mutex_unlock(&cc->lock);
	return rc;
}

static int ctrl_create(struct nvmf_ctrl *c, const char *name, const struct cuse_opts *o,
		       bool path_only, struct cuse_ctrl **out, char *err, size_t errlen);

int cuse_ctrl_create(struct nvmf_ctrl *c, const char *name, const struct cuse_opts *o,
		     struct cuse_ctrl **out, char *err, size_t errlen)
{
	return ctrl_create(c, name, o, false, out, err, errlen);
}

int cuse_path_ctrl_create(struct nvmf_ctrl *c, const char *name, const struct cuse_opts *o,
			  struct cuse_ctrl **out, char *err, size_t errlen)
{
	return ctrl_create(c, name, o, true, out, err, errlen);
}

static int ctrl_create(struct nvmf_ctrl *c, const char *name, const struct cuse_opts *o,
		       bool path_only, struct cuse_ctrl **out, char *err, size_t errlen)
{
	struct cuse_ctrl *cc;
	int rc;

	if (strncmp(name, "nvme", 4) || !name[4] || strlen(name) >= sizeof(cc->name)) {
		snprintf(err, errlen, "bad controller name '%s'", name);
		return -EINVAL;
	}
	cc = calloc(1, sizeof(*cc));
	if (!cc)
		return -ENOMEM;
	cc->c = c;
	cc->opts = *o;
	snprintf(cc->name, sizeof(cc->name), "%s", name);
	cc->instance = (unsigned int)strtoul(name + 4, NULL, 10);
	cc->path_only = path_only;
	pthread_mutex_init(&cc->lock, NULL);
	{
		/* process_vm_*v into any caller needs CAP_SYS_PTRACE (root has it). */
		unsigned long long eff = 0;
		const char *rounds = getenv("NVMFUSE_CUSE_ROUNDS");

		cc->two_rounds = read_capeff("self", &eff) && ((eff >> CAP_SYS_PTRACE) & 1) &&
				 !(rounds && !strcmp(rounds, "3"));
		cc->one_round = cc->two_rounds && !(rounds && !strcmp(rounds, "2"));
	}
	rc = node_create(cc, NULL, &cc->ctrl_node, err, errlen);
	if (rc < 0)
		goto fail;
	rc = path_only ? 0 : cuse_ctrl_sync_ns(cc, err, errlen);
	if (rc < 0)
		goto fail;
	*out = cc;
	return 0;
fail:
	cuse_ctrl_destroy(cc);
	return rc;
}

void cuse_ctrl_destroy(struct cuse_ctrl *cc)
{
	if (!cc)
		return;
	for (int i = 0; i < cc->nr_ns; i++)
		node_destroy(cc->ns[i]);
	free(cc->ns);
	node_destroy(cc->ctrl_node);
	pthread_mutex_destroy(&cc->lock);
	free(cc);
}

void cuse_ctrl_stats(const struct cuse_ctrl *cc, struct cuse_stats *out)
{
	out->retries = atomic_load(&cc->st_retries);
	out->partial_reads = atomic_load(&cc->st_partial);
	out->requeued = atomic_load(&cc->st_requeued);
	out->errors = atomic_load(&cc->st_errors);
}

const char *cuse_ctrl_path(const struct cuse_ctrl *cc)
{
	return cc->ctrl_node->path;
}

const char *cuse_ns_path(const struct cuse_ctrl *cc, uint32_t nsid)
{
	int i = ns_index(cc, nsid);

	return i < 0 ? NULL : cc->ns[i]->path;
}
