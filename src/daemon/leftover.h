/* SPDX-License-Identifier: MIT */
/*
 * Disks left behind: ublk disks recorded in the run dir (daemon/state.h)
 * that the kernel holds QUIESCED, waiting for a daemon because theirs
 * died and none took them over (not connected again yet, or refused: the
 * namespace changed). `nvmfuse list` shows them; `nvmfuse disconnect -d
 * ublkbN` deletes one, on the user's word only: nvmfuse never deletes a
 * disk that may still hold a mounted file system by itself.
 *
 * Thread: the caller's (the command's process); each call talks to the
 * kernel directly, no daemon involved.
 */
#ifndef NVMF_DAEMON_LEFTOVER_H
#define NVMF_DAEMON_LEFTOVER_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon/state.h"

/* The waiting disks' records (malloc'd array, the caller frees). 0 or -errno. */
int leftover_list(struct state_disk **out, int *n);

/*
 * Is @name ("ublkbN" or "/dev/ublkbN") a disk name? Sets *@dev_id.
 */
bool leftover_name(const char *name, uint32_t *dev_id);

/*
 * Delete waiting disk @dev_id and its record: its waiting I/O fails.
 * Refused without a record (not an nvmfuse disk), when it is not waiting
 * (live: a daemon serves it; disconnect that), while another process
 * takes it over, and, unless @force, while it is mounted or open.
 * Returns 0 or -errno with a one-line cause in @err.
 */
int leftover_delete(uint32_t dev_id, bool force, char *err, size_t errlen);

#endif
