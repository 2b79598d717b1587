/* SPDX-License-Identifier: MIT */
/*
 * The host identity (host NQN and 128-bit host ID) a controller connects
 * with, found in this order, the first source that gives either part
 * winning:
 *
 *   1. flags (--hostnqn / --hostid)
 *   2. the environment, LIBNVME_HOSTNQN / LIBNVME_HOSTID (libnvme's names)
 *   3. files, /etc/nvme/hostnqn and /etc/nvme/hostid (nvme-cli's), or the
 *      paths given
 *   4. an identity generated earlier and kept in KEEPDIR/identity (the
 *      run dir: every command of one sidecar uses the same one)
 *   5. generated now: from the machine's DMI product UUID (as libnvme
 *      does; not the all-zero one of VMs without it), else at random; and
 *      kept in KEEPDIR/identity for the next command
 *
 * The two parts always come from the same source: a source that gives
 * only the NQN gets the ID from the NQN (its uuid: suffix, else a UUID
 * hashed from the NQN, stable and distinct per NQN); one that gives only
 * the ID gets nqn.2014-08.org.nvmexpress:uuid:ID. So two pods that pass
 * different NQNs never share a host ID from a lower source (a target keys
 * hosts by both; the kernel host refuses the same ID under two NQNs).
 *
 * Sources 4 and 5 are not silent: the caller (tools/) warns, naming the
 * identity, where it is kept and how to persist it (nvmf_hostid_save).
 * Every function here is for any thread, one call at a time per object;
 * nothing is printed.
 */
#ifndef NVMF_HOSTID_H
#define NVMF_HOSTID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum nvmf_hostid_source {
	NVMF_HOSTID_FLAGS,
	NVMF_HOSTID_ENV,
	NVMF_HOSTID_FILES,
	NVMF_HOSTID_KEPT,
	NVMF_HOSTID_GENERATED,
};

/* Where to look; NULL members take the defaults. */
struct nvmf_hostid_paths {
	const char *nqn_file;	/* /etc/nvme/hostnqn */
	const char *id_file;	/* /etc/nvme/hostid */
	const char *dmi_file;	/* /sys/class/dmi/id/product_uuid */
	const char *keep_dir;	/* NULL: a generated identity is not kept */
};

struct nvmf_hostid {
	char *nqn;			/* malloc'd (nvmf_hostid_free) */
	char *id;			/* UUID text, malloc'd */
	uint8_t id_bytes[16];
	enum nvmf_hostid_source source;
	/* In words, for messages: "--hostnqn", "LIBNVME_HOSTID", "/etc/nvme/hostnqn",
	 * "/run/nvmfuse/identity", "the DMI product UUID", "/dev/urandom", ... */
	char origin[300];
	bool kept;			/* 5: written to KEEPDIR/identity */
	char keep_err[200];		/* 5, !kept: why not */
};

/*
 * Resolve the identity from @nqn_flag/@id_flag (NULL when not given), the
 * environment and @p. Returns 0 with *@out filled, or -errno with one line
 * in @err naming the source of a bad value (a host ID that is not a UUID,
 * an NQN too long or empty).
 */
int nvmf_hostid_resolve(const char *nqn_flag, const char *id_flag,
			const struct nvmf_hostid_paths *p, struct nvmf_hostid *out, char *err,
			size_t errlen);
void nvmf_hostid_free(struct nvmf_hostid *h);

/*
 * --save-identity: write @h to @p's nqn_file and id_file (each atomically,
 * its directory created). A file that already holds the same value is left
 * alone; one that holds another value is not replaced: -EEXIST, @err naming
 * it and its value. Returns 0 or -errno with @err.
 */
int nvmf_hostid_save(const struct nvmf_hostid *h, const struct nvmf_hostid_paths *p, char *err,
		     size_t errlen);

/* The default paths, for messages. */
/* SYSCONFDIR from configure (--sysconfdir, /etc unless given), as nvme-cli's. */
#define NVMF_HOSTNQN_FILE NVMF_SYSCONFDIR "/nvme/hostnqn"
#define NVMF_HOSTID_FILE NVMF_SYSCONFDIR "/nvme/hostid"
/*
 * The NQN in NVMF_HOSTNQN_FILE (its first word), malloc'd; NULL when absent
 * or empty. Not libnvme's nvmf_hostnqn_from_file(): that one reads its own
 * build's sysconfdir, keeps blanks and cuts an NQN at 222 bytes.
 */
char *nvmf_hostid_nqn_from_file(void);

#endif
