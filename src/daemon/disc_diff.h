/* SPDX-License-Identifier: MIT */
/*
 * Persistent discovery's pure part (daemon/pdisc.h uses it): which entries
 * of a discovery log name an NVM subsystem to connect, checked field by
 * field (the log comes from the target: hostile until checked), and the
 * difference between two logs as subsystems to connect and to disconnect.
 * No I/O, no global state: table-tested in tests/unit/test_disc_diff.c.
 * Every function: any thread; the caller owns every buffer.
 */
#ifndef NVMF_DISC_DIFF_H
#define NVMF_DISC_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nvme/types.h>

/* One NVM subsystem port of a discovery log: what identifies a controller daemon. */
struct nvmf_disc_key {
	char subnqn[NVMF_NQN_SIZE + 1];		/* at most 223 characters */
	char transport[8];			/* "tcp", "rdma" */
	char traddr[NVMF_TRADDR_SIZE + 1];
	char trsvcid[NVMF_TRSVCID_SIZE + 1];
	bool tls;				/* TCP SECTYPE TLS 1.3 */
	bool disable_sqflow;			/* TREQ: SQ flow control disable supported */
};

/*
 * Check entry @e of a discovery log and fill @k from it. Returns 1 for an
 * NVM subsystem on @transport (connect it), 0 for an entry that is not one
 * (the discovery subsystem, a referral, another transport: @why says which),
 * -EINVAL for a malformed entry (a string that is not terminated within its
 * field, empty, or with a byte outside printable ASCII; a service id that
 * is not a port number 1-65535; @why names the field).
 */
int nvmf_disc_entry_key(const struct nvmf_disc_log_entry *e, const char *transport,
			struct nvmf_disc_key *k, char *why, size_t whylen);

/* Same subsystem at the same address (the TLS/sqflow hints do not count)? */
bool nvmf_disc_key_eq(const struct nvmf_disc_key *a, const struct nvmf_disc_key *b);

/*
 * The change from log @old (@nold keys) to log @new (@nnew keys): the
 * indexes into @new of the keys @old lacks, in *@add (*@nadd of them), and
 * the indexes into @old of the keys @new lacks, in *@del (*@ndel). A key
 * listed twice in one log counts once. @add has room for @nnew, @del for
 * @nold.
 */
void nvmf_disc_diff(const struct nvmf_disc_key *old, int nold, const struct nvmf_disc_key *new,
		    int nnew, int *add, int *nadd, int *del, int *ndel);

#endif
