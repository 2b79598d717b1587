/* SPDX-License-Identifier: MIT */
/* Disks left behind by daemons that died (see leftover.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/leftover.h"
#include "ublk/ublk.h"

int leftover_list(struct state_disk **out, int *n)
{
	struct state_disk *recs;
	int cnt, kept = 0, rc;

	*out = NULL;
	*n = 0;
	rc = state_disks_load(&recs, &cnt);
	if (rc < 0)
		return rc;
	for (int i = 0; i < cnt; i++) {
		struct ublk_dev_state st;

		if (ublk_dev_probe(recs[i].dev_id, &st) == 0 && st.quiesced)
			recs[kept++] = recs[i];
	}
	if (!kept) {
		free(recs);
		recs = NULL;
	}
	*out = recs;
	*n = kept;
	return 0;
}

bool leftover_name(const char *name, uint32_t *dev_id)
{
	unsigned int id;
	char end;

	if (!strncmp(name, "/dev/", 5))
		name += 5;
	if (sscanf(name, "ublkb%u%c", &id, &end) != 1 || name[5] < '0' || name[5] > '9' ||
	    id >= (1u << 20))
		return false;
	*dev_id = id;
	return true;
}

int leftover_delete(uint32_t dev_id, bool force, char *err, size_t errlen)
{
	struct state_disk *recs;
	bool known = false;
	int n, rc, lock;

	rc = state_disks_load(&recs, &n);
	if (rc < 0) {
		snprintf(err, errlen, "cannot read the records in %s: %s", reg_rundir(),
			 strerror(-rc));
		return rc;
	}
	for (int i = 0; i < n; i++)
		known |= recs[i].dev_id == dev_id;
	free(recs);
	if (!known) {
		snprintf(err, errlen, "/dev/ublkb%u is not an nvmfuse disk left by a daemon (no "
			 "record in %s)", dev_id, reg_rundir());
		return -ENOENT;
	}
	lock = state_disk_lock(dev_id);
	if (lock < 0) {
		snprintf(err, errlen, "/dev/ublkb%u: a daemon is taking it over", dev_id);
		return -EBUSY;
	}
	rc = ublk_dev_delete_waiting(dev_id, force, err, errlen);
	if (rc == 0 || rc == -ENODEV)
		state_disk_remove(dev_id);
	close(lock);
	return rc;
}
