/* SPDX-License-Identifier: MIT */
/*
 * A fake NVMe/TCP controller for the host engine's unit tests. It listens
 * on 127.0.0.1 (ephemeral port), serves one association at a time over any
 * number of connections (admin + I/O queues), and records what the host
 * sent so tests can check both behaviour and wire conformance. Written from
 * the wire reference (notes/research/protocol.md), not from the engine's
 * PDU code. See fake_target.c for what is implemented.
 *
 * Thread context: the target runs its own threads; every function here
 * may be called from the test thread at any time.
 */
#ifndef FAKE_TARGET_H
#define FAKE_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FT_MAX_NS	4
#define FT_SUBNQN	"nqn.2024-01.io.nvmfuse:fake"
#define FT_DISC_NQN	"nqn.2014-08.org.nvmexpress.discovery"
#define FT_MODEL	"nvmfuse fake controller"
#define FT_SERIAL	"FAKE0001"
#define FT_FIRMWARE	"1.0"

/* How the controller side of DH-HMAC-CHAP misbehaves (cfg.auth_fault). */
enum ft_auth_fault {
	FT_AUTH_OK = 0,
	FT_AUTH_BAD_R2,		/* Success1 with a wrong controller response */
	FT_AUTH_NO_R2,		/* Success1 without R2 although the host sent C2 */
	FT_AUTH_WRONG_TID,	/* Challenge for another transaction */
	FT_AUTH_BAD_DH,		/* Challenge with the DH value 1 */
	FT_AUTH_BAD_HASH,	/* Challenge with hash id 7 */
};

enum ft_ns_list {
	FT_LIST_OK = 0,
	FT_LIST_REPEAT,		/* every page: IDs 1..1024, whatever was asked */
	FT_LIST_FULL,		/* IDs above the one asked, 1024 a page, up to NN */
	FT_LIST_DUP,		/* 1, 1, 2 */
	FT_LIST_ABOVE_NN,	/* 1, NN + 1 */
};

struct ft_config {
	const char *subnqn;		/* the NVM subsystem served */
	const char *denied_hostnqn;	/* Connect from this host: SCT 1 / SC 0x84 */
	bool greeting;			/* say "SSH-2.0-x\r\n" instead of ICResp */
	bool silent;			/* read the ICReq, never answer it */
	bool icreq_term;		/* reject the ICReq with a C2HTermReq */
	bool refuse_digests;		/* ICResp enables no digest */
	bool dribble;			/* send PDUs in small pieces with pauses */
	bool small_rcvbuf;		/* 4 KiB receive buffer, slow reads: host sends in parts */
	uint8_t cpda;			/* ICResp CPDA, 0's based dwords */
	uint32_t maxh2cdata;		/* ICResp MAXH2CDATA */
	uint32_t c2h_chunk;		/* data bytes per C2HData PDU */
	uint32_t c2h_align;		/* C2HData PDO multiple of this (0: HPDA) */
	bool c2h_success;		/* SUCCESS on the last C2HData, no CapsuleResp */
	uint32_t r2t_chunk;		/* bytes asked for per R2T, 0 = all at once */
	uint32_t ioccsz;		/* Identify IOCCSZ, 16-byte units */
	uint8_t mdts;			/* Identify MDTS */
	uint16_t mqes;			/* CAP.MQES, 0's based */
	uint8_t cap_to;			/* CAP.TO, 500 ms units */
	uint16_t kas;			/* Identify KAS, 100 ms units */
	uint16_t max_ioq;		/* I/O queues granted at most */
	int nr_ns;			/* active namespaces 1..nr_ns */
	uint32_t lba_size[FT_MAX_NS];	/* 512 or 4096 */
	uint64_t nsze[FT_MAX_NS];	/* blocks */
	int disc_entries;		/* records in the discovery log page */
	int disc_changes;		/* GENCTR moves on the first N header reads */
	int disc_restarts;		/* first N log reads fail with SCT 1/SC 0x90 */
	/* Hostile Identify data (the host must check every field). */
	enum ft_ns_list ns_list;	/* how the Active Namespace ID list misbehaves */
	uint32_t nn;			/* Identify NN; 0: FT_MAX_NS */
	bool ns_inactive;		/* Identify NS answers NSZE 0 for every ID */
	uint8_t lbads;			/* nonzero: every LBA format's LBADS */
	bool flbas_beyond;		/* FLBAS selects format 5 of NLBAF 1 */
	uint32_t ioccsz_raw;		/* nonzero: IOCCSZ as is (overrides ioccsz) */
	bool descs;			/* answer Identify CNS 3 with an NGUID */
	/*
	 * DH-HMAC-CHAP: with auth_secret set, every Connect answers AUTHREQ
	 * ATR and the queue takes nothing but Authentication Send/Receive
	 * until a transaction succeeds (else status 0x191). The secrets are
	 * DHHC-1 strings; auth_ctrl_secret answers the host's challenge.
	 */
	const char *auth_secret;
	const char *auth_ctrl_secret;
	uint8_t auth_hash;		/* 1..3 */
	uint8_t auth_dhgroup;		/* 0..5 */
	enum ft_auth_fault auth_fault;	/* on every queue */
	/*
	 * ANA: report it (CMIC bit 3, ANACAP, ANATT, one group, ANA change
	 * notices in OAES), every namespace in group 1, which starts in state
	 * ana_state (0: optimized). Reads and Writes fail with the state's
	 * path status while it is not optimized or non-optimized.
	 */
	bool ana;
	uint8_t ana_state;
	uint8_t anatt;			/* Identify ANATT, seconds */
	bool ana_hostile;		/* the log's NNSIDS claims 2^30 NSIDs */
};

enum ft_fault {
	FT_FAULT_NONE = 0,
	FT_FAULT_DDGST,		/* flip a data byte (not the digest) of C2HData PDU #arg (1-based) of the next read */
	FT_FAULT_HDGST,		/* bad header digest on the next command's first PDU */
	FT_FAULT_TERMREQ,	/* answer the next command with a C2HTermReq */
	FT_FAULT_BAD_TYPE,	/* answer with a PDU of type 0x0f */
	FT_FAULT_BAD_HLEN,	/* answer with a CapsuleResp whose HLEN is 32 */
	FT_FAULT_BAD_PLEN,	/* answer with a CapsuleResp whose PLEN is 4 too big */
	FT_FAULT_UNKNOWN_CID,	/* answer with a CapsuleResp for a cid never sent */
	FT_FAULT_CLOSE,		/* answer arg commands, then close on the next */
	FT_FAULT_NO_ANSWER,	/* never answer the next arg commands (0: any) */
	FT_FAULT_HOLD_DATA,	/* next Write by R2T: read none of its data until ft_release() */
};

struct ft_stats {
	unsigned int connections;	/* TCP connections accepted */
	char peer[48];			/* the last one's source address */
	unsigned int peer_mixed;	/* connections from another source than the one before */
	unsigned int admin_connects, io_connects, connects_rejected;
	uint16_t cntlid;		/* of the current association */
	uint8_t hostid[16];		/* HOSTID of the last admin Connect */
	uint32_t admin_kato;		/* KATO of the last admin Connect (ms) */
	uint16_t admin_sqsize, io_sqsize;
	bool hdgst, ddgst;		/* negotiated on the last connection */
	uint32_t cc;			/* last CC written */
	unsigned int enables, shutdowns, shutdown_with_en;
	unsigned int keep_alives, aers, changed_ns_reads, disc_reads;
	unsigned int ana_reads;		/* ANA log pages read */
	unsigned int ana_refused;	/* I/O failed with an ANA status */
	unsigned int aborts;		/* Abort commands received */
	uint32_t last_abort;		/* CDW10 of the last one: SQID | CID << 16 */
	unsigned int reads, writes, flushes;
	unsigned int icd_writes, r2ts, h2c_pdus, c2h_pdus;
	unsigned int h2c_terms;		/* H2CTermReq received */
	unsigned int held;		/* Writes held by FT_FAULT_HOLD_DATA */
	uint16_t last_fes;
	uint32_t last_fei;
	unsigned int auth_ok;		/* queues authenticated */
	unsigned int auth_bidi;		/* of them with the controller's response */
	unsigned int auth_failure2;	/* Failure2 received */
	uint8_t auth_last_rce;		/* its reason code explanation */
	unsigned int auth_failure1;	/* Failure1 sent (wrong R1) */
	unsigned int violations;	/* host broke a wire rule */
	char violation[256];		/* the first one */
};

void ft_config_default(struct ft_config *cfg);
/* Start serving; NULL on failure. */
struct ft *ft_start(const struct ft_config *cfg);
/* Close every connection, join the threads, free. */
void ft_stop(struct ft *ft);
/* The TCP port, as a string for nvmf_ctrl_opts.trsvcid. */
const char *ft_port(const struct ft *ft);

/* Arm a one-shot fault for commands on queue @qid (-1: any queue). */
void ft_arm(struct ft *ft, int qid, enum ft_fault kind, uint32_t arg);
void ft_get_stats(struct ft *ft, struct ft_stats *out);
/* Let a Write held by FT_FAULT_HOLD_DATA read its data (and land). */
void ft_release(struct ft *ft);
/* Copy @len bytes of namespace @nsid at byte offset @off (what Writes left). */
void ft_read_ns(struct ft *ft, uint32_t nsid, uint64_t off, void *buf, size_t len);
/*
 * Make namespaces 1..@nr_ns active and, if an AER is outstanding, complete
 * it with a Namespace Attribute Changed notice. Returns true if sent.
 */
bool ft_fire_ns_changed(struct ft *ft, int nr_ns);

/*
 * Put ANA group 1 in @state (the spec's value) and, if an AER is
 * outstanding, complete it with an ANA change notice. Returns true if sent.
 */
bool ft_set_ana(struct ft *ft, uint8_t state);

/*
 * Change namespace @nsid behind the host's back: a new size (blocks, 0
 * keeps it) and a new NGUID (with cfg.descs). No notice is sent.
 */
void ft_change_ns(struct ft *ft, uint32_t nsid, uint64_t nsze);

/* The initial contents of namespace @nsid at byte offset @off. */
void ft_pattern(uint32_t nsid, uint64_t off, void *buf, size_t len);

#endif
