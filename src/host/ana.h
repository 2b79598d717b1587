/* SPDX-License-Identifier: MIT */
/*
 * Asymmetric Namespace Access (NVMe Base 2.0 section 8.1): which ANA
 * group each namespace is in, and that group's state as seen through
 * this controller (one path).
 *
 *   - a pure, bounds-checked codec for what the controller says: the ANA
 *     fields of Identify Controller (CMIC bit 3, ANATT, ANACAP, ANAGRPMAX,
 *     NANAGRPID) and the ANA log page (LID 0x0C). No I/O: table-tested in
 *     tests/unit/test_ana.c and fuzzed in tests/fuzz/fuzz_ana.c. The log
 *     comes off the wire: every count that sizes a buffer or bounds a loop
 *     is checked against the bytes received and the controller's limits,
 *     and a page that breaks a rule is refused whole (the previous states
 *     stay);
 *   - the controller's table (owned by struct nvmf_ctrl, replaced whole
 *     under its ns_lock): read at connect and at every reconnect, and again
 *     on each ANA change notice (AEN) or ANA status seen by the I/O path;
 *   - thread-safe queries for the I/O path, the frontends and the daemon.
 *
 * Thread context: the codec, any (no state). The queries, any. The
 * readers (nvmf_ctrl_read_ana and the asynchronous re-read), the admin
 * queue's owner thread.
 */
#ifndef NVMF_ANA_H
#define NVMF_ANA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nvme/types.h>

struct nvmf_ctrl;

/* ANA states: the spec's values (Base 2.0 figure 259), plus NONE. */
enum nvmf_ana_state {
	/*
	 * The controller does not report ANA (CMIC bit 3 clear or ANACAP 0),
	 * or the namespace is in no group: callers treat it as optimized.
	 */
	NVMF_ANA_NONE = 0,
	NVMF_ANA_OPTIMIZED = 1,
	NVMF_ANA_NON_OPTIMIZED = 2,
	NVMF_ANA_INACCESSIBLE = 3,
	NVMF_ANA_PERSISTENT_LOSS = 4,
	NVMF_ANA_CHANGE = 0xf,
};

/*
 * The kernel's sysfs words (ana_state): "optimized", "non-optimized",
 * "inaccessible", "persistent-loss", "change"; "none" for NVMF_ANA_NONE,
 * "invalid" for any other value. Thread: any.
 */
const char *nvmf_ana_state_str(enum nvmf_ana_state s);

/* May I/O be sent to a namespace in state @s (NONE, OPTIMIZED, NON_OPTIMIZED)? */
static inline bool nvmf_ana_state_usable(enum nvmf_ana_state s)
{
	return s == NVMF_ANA_NONE || s == NVMF_ANA_OPTIMIZED || s == NVMF_ANA_NON_OPTIMIZED;
}

/*
 * The state of namespace @nsid's ANA group on @c now: NVMF_ANA_NONE when
 * @c does not report ANA or @nsid is in no group it reported. Thread: any
 * (a short lock; no waiting for the network).
 */
enum nvmf_ana_state nvmf_ctrl_ana_state(struct nvmf_ctrl *c, uint32_t nsid);

/*
 * How many times a namespace's ANA state changed on @c (log pages read
 * that moved any namespace's state, across reconnects). Callers that cache
 * states compare it. Thread: any (one atomic load).
 */
uint64_t nvmf_ctrl_ana_changes(struct nvmf_ctrl *c);

/* ANA Transition Time in seconds (Identify ANATT), 0 without ANA. Thread: any. */
unsigned int nvmf_ctrl_anatt(struct nvmf_ctrl *c);

/* ANA retries the frontends made (stats), and counting one. Thread: any. */
uint64_t nvmf_ctrl_ana_retries(struct nvmf_ctrl *c);
void nvmf_ctrl_ana_count_retry(struct nvmf_ctrl *c);

/*
 * An I/O path got an ANA status while the table still said the group was
 * usable: the table is stale, have the admin worker read the log again.
 * Thread: any (never waits; asking twice before it ran reads once).
 */
void nvmf_ctrl_ana_refresh(struct nvmf_ctrl *c);

/* ---- for the engine (ctrl.c, ctrl_run.c) ---- */

/*
 * At connect, after Identify Controller and the namespace scan: check the
 * ANA fields and read the whole log synchronously. A controller that does
 * not report ANA, refuses the log or sends a page that is refused keeps
 * (or gets) a table that says NONE or the previous states, with a warning:
 * only a broken association is an error (-errno). Owner thread.
 */
int nvmf_ctrl_read_ana(struct nvmf_ctrl *c);
/* A reconnect: take @donor's caps and table as @c's. Owner of @c. */
void nvmf_ctrl_ana_adopt(struct nvmf_ctrl *c, struct nvmf_ctrl *donor);
/* Free the table (ctrl_free). */
void nvmf_ctrl_ana_free(struct nvmf_ctrl *c);
/* An ANA change notice arrived (AER completion): a re-read is due. Admin owner. */
void nvmf_ctrl_ana_notice(struct nvmf_ctrl *c);
/* Is a re-read due and none in flight? Admin owner. */
bool nvmf_ctrl_ana_due(const struct nvmf_ctrl *c);
/* Start the due re-read (Get Log Page, RAE 0) without waiting. Admin owner. */
void nvmf_ctrl_ana_reread(struct nvmf_ctrl *c);
/* A new admin queue was adopted: no re-read is in flight on it. Admin owner. */
void nvmf_ctrl_ana_queue_reset(struct nvmf_ctrl *c);

/* ---- codec (pure) ---- */

/* More groups than this are refused (ANAGRPMAX may claim 2^32 - 1). */
#define NVMF_ANA_MAX_GROUPS	1024u
/* Hold bound when a controller reports ANA with ANATT 0 (seconds). */
#define NVMF_ANA_DEFAULT_ANATT	10u

/* The ANA fields of Identify Controller. */
struct nvmf_ana_caps {
	bool reporting;		/* CMIC bit 3 and ANACAP non-zero */
	uint8_t anacap;
	uint8_t anatt;		/* seconds */
	uint32_t anagrpmax;	/* highest group ID */
	uint32_t nanagrpid;	/* groups the controller supports */
};

/*
 * Identify Controller's ANA fields into @out. A controller without ANA
 * reporting gives reporting = false and returns 0. One that claims it but
 * with ANAGRPMAX or NANAGRPID 0, NANAGRPID above ANAGRPMAX, or ANACAP
 * saying it can report no usable state, is refused: -EPROTO and a line
 * in @err naming the field.
 */
int nvmf_ana_caps_parse(const struct nvme_id_ctrl *id, struct nvmf_ana_caps *out, char *err,
			size_t errlen);

/*
 * Bytes to read for the whole log: the header, NANAGRPID descriptors (at
 * most NVMF_ANA_MAX_GROUPS) and @max_nsids NSIDs, rounded up to dwords,
 * capped at @max_xfer when that is non-zero. Thread: any.
 */
uint32_t nvmf_ana_log_size(const struct nvmf_ana_caps *caps, uint32_t max_nsids,
			   uint32_t max_xfer);

/* One ANA group descriptor, checked. */
struct nvmf_ana_group {
	uint32_t grpid;
	enum nvmf_ana_state state;
	uint64_t chgcnt;
	uint32_t nnsids;
	uint32_t *nsids;	/* into struct nvmf_ana_log.nsid_store */
};

/* A parsed ANA log page (owned by whoever parsed it; nvmf_ana_log_free). */
struct nvmf_ana_log {
	uint64_t chgcnt;
	uint32_t ngrps;
	struct nvmf_ana_group *grps;
	uint32_t *nsid_store;
	uint32_t total_nsids;
};

/*
 * Parse the ANA log page @buf (@len bytes as received) against @caps and
 * @nn (Identify NN, the highest NSID; 0 = unknown) into @out. Refused
 * (-EPROTO, the cause in @err): a header or descriptor that does not fit
 * in @len, NGRPS above NANAGRPID or NVMF_ANA_MAX_GROUPS, a group ID of 0,
 * above ANAGRPMAX or seen twice, NNSIDS whose NSIDs do not fit in @len, a
 * state that is not one of the five, an NSID of 0, 0xffffffff, above @nn or
 * listed twice. -ENOMEM when out of memory. On failure @out is empty.
 */
int nvmf_ana_log_parse(const void *buf, size_t len, const struct nvmf_ana_caps *caps,
		       uint32_t nn, struct nvmf_ana_log *out, char *err, size_t errlen);
void nvmf_ana_log_free(struct nvmf_ana_log *log);

/* The group of @log that lists @nsid, or NULL. */
const struct nvmf_ana_group *nvmf_ana_log_find(const struct nvmf_ana_log *log, uint32_t nsid);

#endif
