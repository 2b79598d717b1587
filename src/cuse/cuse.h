/* SPDX-License-Identifier: MIT */
/*
 * CUSE frontend: character devices that behave like the kernel's NVMe
 * nodes, served from user space (libfuse 3 CUSE, unrestricted ioctls):
 *
 *   /dev/nvmeN     the controller (like the kernel's /dev/nvmeX)
 *   /dev/ngNnM     one per active namespace (like the kernel's generic
 *                  namespace char device /dev/ngXnY)
 *
 * They speak the Linux NVMe ioctl ABI (linux/nvme_ioctl.h) so nvme-cli and
 * libnvme work unchanged, plus the BLK* geometry ioctls on namespaces.
 *
 * Threading: one session thread per node receives requests from /dev/cuse
 * and never waits for the network: a command is posted to the worker that
 * owns the admin queue or an I/O queue (host/worker.h), and the reply to
 * the caller is sent from the completion callback on that worker. Many
 * callers are therefore served concurrently on all I/O queues.
 *
 * Limits: one CUSE ioctl round moves at most 128 KiB each way; larger data
 * (up to MDTS) and IO64_CMD_VEC data move with process_vm_readv/writev
 * between the daemon and the caller (the daemon must be allowed to, i.e.
 * root). Metadata buffers are refused with EINVAL (fabrics over TCP carry no
 * separate metadata). 32-bit callers are refused with EOPNOTSUPP.
 * NVME_IOCTL_RESET calls cuse_opts.reset (a live reset). read(2) and
 * write(2) answer EOPNOTSUPP: CUSE passes no file offset (see cuse.c).
 *
 * Access: besides the node's mode, every NVMe ioctl is judged per call like
 * the kernel's nodes judge it (cuse_auth.h), from the caller's capabilities
 * read at call time and the fd's open mode, plus cuse_opts.auth.
 */
#ifndef NVMF_CUSE_H
#define NVMF_CUSE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cuse/cuse_auth.h"
#include "host/nvmf.h"

struct cuse_ctrl;

struct cuse_opts {
	mode_t mode;	/* node permissions, e.g. 0600 */
	uid_t uid;	/* owner; (uid_t)-1 leaves root */
	gid_t gid;	/* group; (gid_t)-1 leaves root */
	/*
	 * NVME_IOCTL_RESET on the controller node: reset the controller (a
	 * new association, I/O held and replayed) and return 0 or -errno.
	 * Called on a CUSE session thread and may block until done. NULL:
	 * the ioctl answers EOPNOTSUPP.
	 */
	int (*reset)(void *arg);
	void *reset_arg;
	/* Restrictions beyond the kernel's access rule (cuse_auth.h). */
	struct cuse_auth_policy auth;
};

/*
 * Create /dev/@name for controller @c (running: nvmf_ctrl_start) and one
 * namespace node per active namespace; @name is "nvme<instance>" and the
 * namespaces become "ng<instance>n<nsid>". Blocks until the nodes exist.
 * On error none is left and a one-line cause is in @err. Thread: the
 * controller's owner (not a worker, not a CUSE thread).
 */
int cuse_ctrl_create(struct nvmf_ctrl *c, const char *name, const struct cuse_opts *o,
		     struct cuse_ctrl **out, char *err, size_t errlen);

/*
 * Bring the namespace nodes in line with the controller's namespace list
 * (call on NVMF_CTRL_EV_NS_CHANGED): new namespaces get a node, gone ones
 * lose theirs (commands in flight on it finish first). Thread: the creator.
 */
int cuse_ctrl_sync_ns(struct cuse_ctrl *cc, char *err, size_t errlen);

/*
 * Remove every node, after the commands in flight completed; the
 * controller must still be running. Consumes @cc. Thread: the creator.
 */
void cuse_ctrl_destroy(struct cuse_ctrl *cc);

/*
 * Multipath (host/mpath.h): the namespace nodes send each command on the
 * path the subsystem's policy picks, as the kernel's multipath head
 * nodes do (the controller node stays slot 0's, like the kernel's per
 * controller /dev/nvmeN), and a Read or Write that meets a path failure
 * goes again at once on another usable path. @m lives longer than @cc
 * (NULL: slot 0 only). Thread: the creator, before commands on other
 * paths can come (set it once, right after creating @cc).
 */
struct nvmf_mpath;
void cuse_ctrl_set_mpath(struct cuse_ctrl *cc, struct nvmf_mpath *m);
/*
 * Path @slot (1 .. NVMF_MPATH_MAX - 1) is about to be published with
 * controller @c: note which namespace of @c each node's namespace is.
 * -ENOENT (with the cause in @err) when one of them is not active there;
 * the caller then refuses the path. Call before nvmf_mpath_add(). Thread:
 * the creator.
 */
int cuse_ctrl_path_ref(struct cuse_ctrl *cc, int slot, struct nvmf_ctrl *c, char *err,
		       size_t errlen);

/*
 * What the retry path did for I/O-queue Read and Write commands (NVMe
 * ioctls on either node), summed over the nodes of @cc. Thread: any, while
 * @cc lives; the counters are read without stopping the workers.
 */
struct cuse_stats {
	uint64_t retries;	/* commands sent again, whole or the rest of a read */
	uint64_t partial_reads;	/* reads continued after an intact prefix */
	uint64_t requeued;	/* commands held across a reconnect */
	uint64_t errors;	/* reads and writes that failed back to the caller */
};
void cuse_ctrl_stats(const struct cuse_ctrl *cc, struct cuse_stats *out);

/* "/dev/nvmeN". Thread: any, while @cc lives. */
const char *cuse_ctrl_path(const struct cuse_ctrl *cc);
/*
 * "/dev/ngNnM" for @nsid, or NULL when it has no node. Thread: the creator,
 * or a thread the creator waits for (the node list changes only in
 * cuse_ctrl_sync_ns).
 */
const char *cuse_ns_path(const struct cuse_ctrl *cc, uint32_t nsid);

#endif
