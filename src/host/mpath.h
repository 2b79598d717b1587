/* SPDX-License-Identifier: MIT */
/*
 * Multipath: the set of paths (controllers of one subsystem, reached at
 * different addresses, ports or transports) that serve the same
 * namespaces, and the choice of a path for each command, like the Linux
 * host's native multipath (drivers/nvme/host/multipath.c).
 *
 *   struct nvmf_mpath        one per subsystem (per daemon): up to
 *                            NVMF_MPATH_MAX slots and the I/O policy
 *   struct nvmf_mpath_path   one controller in a slot, with its counters
 *
 * Slot 0 is the path whose I/O workers carry the frontends' threads (a
 * ublk queue N lives on slot 0's worker N, src/ublk/ublk.h); it is
 * filled when the set is made and stays until the set goes. The other
 * slots come and go while I/O runs: the daemon publishes a path with
 * nvmf_mpath_add() once it is running (workers started, namespaces
 * checked), and takes it out with nvmf_mpath_remove(), after which no
 * new command selects it; the caller then waits for the commands still
 * on it (nvmf_mpath_path.inflight) before it stops the controller.
 *
 * Choosing a path (nvmf_mpath_select) is lock-free: atomic loads of the
 * slots, of each controller's state and of the policy; the counters are
 * relaxed atomics. A path is usable for namespace N when its controller
 * is LIVE with its I/O queues in place (not between the two halves of a
 * reconnect's adopt, nvmf_ctrl.ioq_adopting) and, when it reports ANA,
 * N's group is optimized or non-optimized there (path_rank() in mpath.c
 * is the one place that asks). Optimized paths are preferred; non-optimized ones are used only
 * when no optimized one is usable:
 *
 *   numa          the first usable path in slot order (one host, one NUMA
 *                 node: the kernel's numa policy comes down to this)
 *   round-robin   the next usable path after the caller's cursor
 *   queue-depth   the usable path with the fewest commands in flight
 *
 * Ownership: the daemon owns the set and the paths (and their
 * controllers); frontends hold a pointer to the set for their lifetime,
 * which the daemon makes shorter than the set's.
 */
#ifndef NVMF_MPATH_H
#define NVMF_MPATH_H

#include <stdbool.h>
#include <stdint.h>

#include "host/ana.h"
#include "host/nvmf.h"

#define NVMF_MPATH_MAX 8

enum nvmf_iopolicy {
	NVMF_IOPOLICY_NUMA = 0,
	NVMF_IOPOLICY_ROUND_ROBIN,
	NVMF_IOPOLICY_QUEUE_DEPTH,
};

/* "numa", "round-robin", "queue-depth". */
const char *nvmf_iopolicy_str(enum nvmf_iopolicy p);
/* The reverse; 0 or -EINVAL. */
int nvmf_iopolicy_parse(const char *s, enum nvmf_iopolicy *out);

struct nvmf_mpath_path {
	struct nvmf_ctrl *ctrl;		/* running (nvmf_ctrl_start), the daemon's */
	int slot;
	/* Counters, relaxed atomics, any thread. */
	uint64_t inflight;		/* commands sent on it and not completed */
	uint64_t ios;			/* commands sent on it */
	uint64_t failovers;		/* commands that failed on it and went to another path */
};

struct nvmf_mpath {
	struct nvmf_mpath_path *slot[NVMF_MPATH_MAX];	/* atomic pointers */
	enum nvmf_iopolicy policy;			/* atomic */
	/*
	 * With no usable path: true, commands wait for one (reconnecting,
	 * before fast-io-fail-tmo); false, they fail. Atomic; the daemon sets
	 * it, the frontends read it.
	 */
	bool hold;
};

/* An empty set with @p0 in slot 0. Thread: the owner. */
void nvmf_mpath_init(struct nvmf_mpath *m, struct nvmf_mpath_path *p0, enum nvmf_iopolicy pol);

/*
 * Publish @p (its ctrl running) in a free slot other than 0; p->slot is
 * set. Returns the slot, or -ENOSPC. Thread: the owner.
 */
int nvmf_mpath_add(struct nvmf_mpath *m, struct nvmf_mpath_path *p);
/*
 * Take @p out of the set: no command selects it afterwards (one that
 * selected it just before may still be sent on it: wait for inflight to
 * drop to 0). Thread: the owner.
 */
void nvmf_mpath_remove(struct nvmf_mpath *m, struct nvmf_mpath_path *p);
/* The path in @slot, or NULL. Thread: any. */
struct nvmf_mpath_path *nvmf_mpath_get(struct nvmf_mpath *m, int slot);
/* How many slots are filled. Thread: any. */
int nvmf_mpath_count(struct nvmf_mpath *m);

/*
 * The ANA state of namespace @nsid through @p (NVMF_ANA_NONE when the
 * controller reports no ANA). Thread: any.
 */
enum nvmf_ana_state nvmf_mpath_ana_state(struct nvmf_mpath_path *p, uint32_t nsid);
/* May a command for @nsid go to @p now? Thread: any. */
bool nvmf_mpath_usable(struct nvmf_mpath_path *p, uint32_t nsid);

/*
 * The slot to send a command for namespace @nsid on, by the policy;
 * @avoid (a slot, or -1) is never chosen (a failover away from it). @cursor is the caller's round-robin
 * position (one per queue: no shared write). Returns -1 when no path is
 * usable. Thread: any; lock-free.
 */
int nvmf_mpath_select(struct nvmf_mpath *m, uint32_t nsid, unsigned int *cursor, int avoid);

/*
 * Is @status/@xport_err a path failure, one another path may not have
 * (the queue pair died, a Path Related Status, SCT 3)? Thread: any.
 */
bool nvmf_mpath_path_error(uint16_t status, int xport_err);

/*
 * A command for namespace @nsid ended with @status/@xport_err on the path
 * in @failed_slot (@failed, may be NULL): where to send it again at once.
 * Returns the slot (the failover is counted on @failed), -EINVAL when this
 * is no failover case (@m NULL, one path, not a path error), -EAGAIN when
 * it is but no other path is usable now. @cursor as for
 * nvmf_mpath_select(). Thread: any.
 */
int nvmf_mpath_failover(struct nvmf_mpath *m, uint32_t nsid, unsigned int *cursor,
			int failed_slot, struct nvmf_mpath_path *failed, uint16_t status,
			int xport_err);

#endif
