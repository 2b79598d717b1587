/* SPDX-License-Identifier: MIT */
/* Multipath path set and path selection (see mpath.h). */
#include <errno.h>
#include <string.h>

#include "host/mpath.h"

static const char *const policy_names[] = {
	[NVMF_IOPOLICY_NUMA] = "numa",
	[NVMF_IOPOLICY_ROUND_ROBIN] = "round-robin",
	[NVMF_IOPOLICY_QUEUE_DEPTH] = "queue-depth",
};

const char *nvmf_iopolicy_str(enum nvmf_iopolicy p)
{
	return (unsigned int)p < sizeof(policy_names) / sizeof(policy_names[0]) ?
	       policy_names[p] : "unknown";
}

int nvmf_iopolicy_parse(const char *s, enum nvmf_iopolicy *out)
{
	for (unsigned int i = 0; i < sizeof(policy_names) / sizeof(policy_names[0]); i++) {
		if (s && !strcmp(s, policy_names[i])) {
			*out = (enum nvmf_iopolicy)i;
			return 0;
		}
	}
	return -EINVAL;
}

void nvmf_mpath_init(struct nvmf_mpath *m, struct nvmf_mpath_path *p0, enum nvmf_iopolicy pol)
{
	memset(m, 0, sizeof(*m));
	m->policy = pol;
	p0->slot = 0;
	__atomic_store_n(&m->slot[0], p0, __ATOMIC_RELEASE);
}

int nvmf_mpath_add(struct nvmf_mpath *m, struct nvmf_mpath_path *p)
{
	for (int i = 1; i < NVMF_MPATH_MAX; i++) {
		if (__atomic_load_n(&m->slot[i], __ATOMIC_ACQUIRE))
			continue;
		p->slot = i;
		__atomic_store_n(&m->slot[i], p, __ATOMIC_RELEASE);
		return i;
	}
	return -ENOSPC;
}

void nvmf_mpath_remove(struct nvmf_mpath *m, struct nvmf_mpath_path *p)
{
	if (p->slot > 0 && p->slot < NVMF_MPATH_MAX &&
	    __atomic_load_n(&m->slot[p->slot], __ATOMIC_ACQUIRE) == p)
		__atomic_store_n(&m->slot[p->slot], NULL, __ATOMIC_RELEASE);
}

struct nvmf_mpath_path *nvmf_mpath_get(struct nvmf_mpath *m, int slot)
{
	if (slot < 0 || slot >= NVMF_MPATH_MAX)
		return NULL;
	return __atomic_load_n(&m->slot[slot], __ATOMIC_ACQUIRE);
}

int nvmf_mpath_count(struct nvmf_mpath *m)
{
	int n = 0;

	for (int i = 0; i < NVMF_MPATH_MAX; i++)
		n += nvmf_mpath_get(m, i) != NULL;
	return n;
}

enum nvmf_ana_state nvmf_mpath_ana_state(struct nvmf_mpath_path *p, uint32_t nsid)
{
	/*
	 * The one place that asks a path's ANA state (host/ana.h): NONE at
	 * once for a controller without ANA, else a short lock and a scan of
	 * the controller's small group table. Left to cache per path by
	 * nvmf_ctrl_ana_changes() if a profile ever shows it.
	 */
	return nvmf_ctrl_ana_state(p->ctrl, nsid);
}

/* 2 optimized (or no ANA), 1 non-optimized, 0 not usable. */
static int path_rank(struct nvmf_mpath_path *p, uint32_t nsid)
{
	enum nvmf_ana_state s;

	if (nvmf_ctrl_get_state(p->ctrl) != NVMF_CTRL_LIVE ||
	    __atomic_load_n(&p->ctrl->ioq_adopting, __ATOMIC_ACQUIRE))
		return 0;
	s = nvmf_mpath_ana_state(p, nsid);
	if (s == NVMF_ANA_NONE || s == NVMF_ANA_OPTIMIZED)
		return 2;
	return s == NVMF_ANA_NON_OPTIMIZED ? 1 : 0;
}

bool nvmf_mpath_usable(struct nvmf_mpath_path *p, uint32_t nsid)
{
	return path_rank(p, nsid) > 0;
}

int nvmf_mpath_select(struct nvmf_mpath *m, uint32_t nsid, unsigned int *cursor, int avoid)
{
	enum nvmf_iopolicy pol = __atomic_load_n(&m->policy, __ATOMIC_RELAXED);
	struct nvmf_mpath_path *path[NVMF_MPATH_MAX];
	int rank[NVMF_MPATH_MAX], best = 0, pick = -1;
	uint64_t depth = UINT64_MAX;
	unsigned int start = pol == NVMF_IOPOLICY_ROUND_ROBIN ? *cursor + 1 : 0;

	for (int i = 0; i < NVMF_MPATH_MAX; i++) {
		struct nvmf_mpath_path *p = nvmf_mpath_get(m, i);

		path[i] = p;	/* one load: a slot emptied meanwhile is not read again */
		rank[i] = p && i != avoid ? path_rank(p, nsid) : 0;
		if (rank[i] > best)
			best = rank[i];
	}
	if (!best)
		return -1;
	for (unsigned int k = 0; k < NVMF_MPATH_MAX; k++) {
		int i = (int)((start + k) % NVMF_MPATH_MAX);
		uint64_t d;

		if (rank[i] != best)
			continue;
		if (pol != NVMF_IOPOLICY_QUEUE_DEPTH) {
			pick = i;
			break;
		}
		d = __atomic_load_n(&path[i]->inflight, __ATOMIC_RELAXED);
		if (d < depth) {
			depth = d;
			pick = i;
		}
	}
	if (pol == NVMF_IOPOLICY_ROUND_ROBIN)
		*cursor = (unsigned int)pick;
	return pick;
}

bool nvmf_mpath_path_error(uint16_t status, int xport_err)
{
	return xport_err || nvme_status_code_type(status) == NVME_SCT_PATH;
}

int nvmf_mpath_failover(struct nvmf_mpath *m, uint32_t nsid, unsigned int *cursor,
			int failed_slot, struct nvmf_mpath_path *failed, uint16_t status,
			int xport_err)
{
	int slot;

	if (!m || nvmf_mpath_count(m) < 2 || !nvmf_mpath_path_error(status, xport_err))
		return -EINVAL;
	slot = nvmf_mpath_select(m, nsid, cursor, failed_slot);
	if (slot < 0)
		return -EAGAIN;
	if (failed)
		__atomic_add_fetch(&failed->failovers, 1, __ATOMIC_RELAXED);
	return slot;
}
