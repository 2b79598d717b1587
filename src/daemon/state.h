/* SPDX-License-Identifier: MIT */
/*
 * What a controller daemon leaves in its run dir (daemon/registry.h) so
 * that, if it dies (crash, kill -9), the next daemon for the same target
 * can take over without the user unmounting anything:
 *
 *   RUNDIR/NAME.json    the target daemon NAME (nvmeN) serves: subsystem
 *                       NQN, transport, address, service. A new daemon
 *                       for the same target whose NAME is free again (its
 *                       socket is stale) takes the same NAME, with its
 *                       host-wide claim (registry.h) and its log file
 *                       RUNDIR/NAME.log, so its CUSE nodes come back under
 *                       the same paths.
 *   RUNDIR/ublkN.json   ublk disk N (/dev/ublkbN): the daemon that serves
 *                       it, the subsystem NQN, and the namespace it was
 *                       made for (NSID, size, block size, metadata, CSI,
 *                       EUI-64, NGUID, UUID). A new daemon recovers the
 *                       disk only for the same namespace (ublk/ublk.h,
 *                       ublk_dev_recover()).
 *
 * Files are written whole (temporary file, then rename) and removed when
 * the daemon shuts down cleanly or deletes the disk, so a record left
 * behind means a daemon died. Records are read as hostile input: JSON
 * through json-c, every member type- and range-checked, unknown versions
 * refused.
 *
 * Thread: a daemon's main thread; the parse/format/compare functions are
 * pure and may run anywhere. Nothing here holds a lock across a wait.
 */
#ifndef NVMF_DAEMON_STATE_H
#define NVMF_DAEMON_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/registry.h"
#include "host/nvmf.h"
#include "base/nvmf_spec.h"

#define STATE_VERSION 1

/* One ublk disk and the namespace it serves. */
struct state_disk {
	uint32_t dev_id;
	char owner[REG_NAME_MAX];		/* the daemon that last served it */
	char subnqn[NVMF_NQN_SIZE + 1];
	struct nvmf_ns ns;			/* identity and geometry members only */
};

/*
 * Format @s as one JSON object (malloc'd string, the caller frees), or
 * NULL without memory.
 */
char *state_disk_format(const struct state_disk *s);

/*
 * Parse one disk record. Returns 0, or -EINVAL with the first problem in
 * @err (not JSON, wrong version, a member missing, of the wrong type or
 * out of range).
 */
int state_disk_parse(const char *text, struct state_disk *out, char *err, size_t errlen);

/*
 * Is @now the namespace @was recorded (nvmf_ns_same())? If not, writes
 * what differs to @why in one line ("size: ...", "identity: ...").
 */
bool state_ns_same(const struct nvmf_ns *was, const struct nvmf_ns *now, char *why, size_t len);

/* Write RUNDIR/ublkN.json. Returns 0 or -errno. */
int state_disk_save(const struct state_disk *s);
/* Remove RUNDIR/ublkN.json and its lock file (no error when absent). */
void state_disk_remove(uint32_t dev_id);
/*
 * Take the lock that says "this process is taking disk @dev_id over"
 * (flock on RUNDIR/ublkN.lock, never waiting), so that two daemons
 * started at once never both recover one disk. Returns the fd to close
 * when done, or -EWOULDBLOCK when another process holds it, or -errno.
 */
int state_disk_lock(uint32_t dev_id);
/*
 * Every disk record in the run dir (malloc'd array, the caller frees).
 * A record that cannot be read or parsed is logged and skipped, and left
 * in place for the user to look at. Returns 0 or -errno.
 */
int state_disks_load(struct state_disk **out, int *n);

/* Write RUNDIR/NAME.json for the target @o. Returns 0 or -errno. */
int state_daemon_save(const char *name, const struct nvmf_ctrl_opts *o);
/* Remove RUNDIR/NAME.json. */
void state_daemon_remove(const char *name);
/*
 * The name of a daemon that served target @o (subsystem NQN, transport,
 * address, service) and died: its record is there, its socket is stale.
 * Returns 0 and the name, or -ENOENT.
 */
int state_daemon_find_dead(const struct nvmf_ctrl_opts *o, char name[REG_NAME_MAX]);

#endif
