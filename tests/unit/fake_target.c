/* SPDX-License-Identifier: MIT */
/*
 * Fake NVMe/TCP controller for the host engine's tests, written from the
 * wire reference (notes/research/protocol.md sections 1-3) and deliberately
 * sharing no code with src/transport/tcp_pdu.c; only the CRC32C digest
 * routine (src/transport/crc32c.h) is reused.
 *
 * Threads: one accepts on 127.0.0.1:<ephemeral>, one per connection serves
 * that connection with blocking I/O. Shared state (association, namespaces,
 * counters, armed fault) sits under one recursive lock; each connection has
 * a write lock so the test thread can complete an AER on the admin queue.
 *
 * What it serves:
 *   ICReq -> ICResp: digests as requested, CPDA and MAXH2CDATA from config.
 *   Fabrics: Connect (checks the 1024-byte data: hostnqn, subnqn, CNTLID
 *     0xFFFF on the admin queue and the assigned one on I/O queues; unknown
 *     subnqn -> SCT 1/SC 0x82 with IATTR 1/IPO 256, denied host -> SC 0x84),
 *     Property Get (CAP, VS, CC, CSTS with RDY = CC.EN and SHST = complete
 *     once CC.SHN is set), Property Set (CC).
 *   Admin: Identify (controller, active NS list, namespace), Set/Get
 *     Features, Keep Alive (counted), AER (held until ft_fire_ns_changed()),
 *     Get Log Page (discovery log 0x70 with N entries, changed NS list 0x04,
 *     ANA 0x0C with one group when cfg.ana; ft_set_ana() sends its notice).
 *   NVM: Read (C2HData in chunks, optionally SUCCESS on the last one and no
 *     CapsuleResp), Write (in-capsule data, or R2Ts + H2CData), Flush, over
 *     in-memory namespaces.
 *
 * Everything the host sends is checked (PDU header fields, digests, PDO
 * alignment, SGL descriptors, CIDs, H2CData DATAO/DATAL/LAST_PDU/TTAG,
 * CC values, command order); a broken rule increments stats.violations and
 * keeps the first message, so tests assert violations == 0.
 *
 * Faults (ft_arm) corrupt or replace the answer to the next command on a
 * queue: data or header digest, C2HTermReq, invalid type/HLEN/PLEN,
 * unknown CID, closing the connection, or never answering. Config knobs
 * also make it greet like SSH, stay silent, refuse digests, pad C2HData
 * (PDO), dribble PDUs in small pieces, read slowly, move the discovery
 * GENCTR or answer Discovery Restart.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nvme/types.h>

#include "host/auth.h"
#include "transport/crc32c.h"
#include "fake_target.h"

/* PDU types and flags (protocol.md 1.1, 1.2). */
enum { ICREQ = 0, ICRESP = 1, H2C_TERM = 2, C2H_TERM = 3, CAPSULE_CMD = 4,
       CAPSULE_RESP = 5, H2C_DATA = 6, C2H_DATA = 7, R2T = 9 };
#define F_HDGST		0x01
#define F_DDGST		0x02
#define F_LAST		0x04
#define F_SUCCESS	0x08

/* Status in the engine's shifted form: SCT << 8 | SC, DNR 0x4000. */
#define ST_INVALID_OPCODE	0x001
#define ST_INVALID_FIELD	0x002
#define ST_INVALID_NS		0x00b
#define ST_CMD_SEQ_ERROR	0x00c
#define ST_SGL_LENGTH		0x00f
#define ST_LBA_RANGE		0x080
#define ST_AER_LIMIT		0x105
#define ST_INVALID_LOG		0x109
#define ST_DNR			0x4000

struct pdu {
	struct pdu *next;
	uint8_t hdr[128];		/* CH + PSH, HLEN bytes */
	uint8_t type, flags;
	uint32_t hlen;
	uint8_t *data;			/* PDU DATA (in-capsule or H2C data) */
	uint32_t dlen;
};

struct conn {
	struct ft *ft;
	int fd;
	pthread_t th;
	pthread_mutex_t wlock;
	bool hdgst, ddgst;
	uint32_t hpda;			/* C2H data alignment in bytes */
	bool connected, dead;
	uint16_t qid, sqsize, sqhd, ttag;
	struct pdu *backlog;		/* capsules read while waiting for H2CData */
	bool bad_hdgst_next;		/* fault: next PDU sent gets a bad HDGST */
	/* DH-HMAC-CHAP, the controller's side */
	bool auth_needed;		/* until a transaction succeeded */
	int auth_step;			/* 0 idle, 1 challenge due, 2 success1 due, 3 failure1 due */
	uint16_t auth_tid;
	uint32_t auth_s1;
	uint8_t auth_c1[64], auth_r2[64], auth_sk[1024];
	bool auth_r2_valid;
	struct nvmf_auth_dh *auth_dh;
	uint32_t corrupt_pdu;		/* fault: C2HData PDU # to corrupt, 1-based */
	bool hold_data;			/* fault: the next R2T waits for ft_release() */
};

struct ft {
	struct ft_config cfg;
	int lfd;
	char port[8];
	pthread_t accept_th;
	pthread_mutex_t lock;
	bool stopping;
	struct conn **conns;
	int nconns;
	/* the association */
	bool assoc, discovery;
	uint16_t cntlid, next_cntlid, ioq_granted;
	char hostnqn[256];
	uint32_t cc, csts, aec, kato;
	int nr_ns;
	int disc_hdr_reads, disc_restarts;
	struct conn *aer_conn;
	uint16_t aer_cid;
	bool aer_pending;
	uint32_t changed[FT_MAX_NS];
	int nchanged;
	uint8_t *ns[FT_MAX_NS];
	uint8_t ana_state;		/* group 1 (cfg.ana) */
	uint64_t ana_chgcnt;
	uint8_t ns_gen[FT_MAX_NS];	/* NGUID byte, bumped by ft_change_ns() */
	/* armed fault */
	enum ft_fault fault;
	int fault_qid;
	uint32_t fault_arg;
	bool released;			/* ft_release() since the last hold */
	struct ft_stats st;
};

struct cmd {
	const uint8_t *sqe;
	uint8_t opc, sgl_id;
	uint16_t cid;
	uint32_t nsid, sgl_len;
	uint64_t sgl_addr;
	uint32_t cdw10, cdw11, cdw12, cdw13;
};

static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return le16toh(v); }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return le32toh(v); }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return le64toh(v); }
static void put16(uint8_t *p, uint16_t v) { v = htole16(v); memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { v = htole32(v); memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { v = htole64(v); memcpy(p, &v, 8); }

static void lock(struct ft *ft) { pthread_mutex_lock(&ft->lock); }
static void unlock(struct ft *ft) { pthread_mutex_unlock(&ft->lock); }

__attribute__((format(printf, 2, 3)))
static void violation(struct ft *ft, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "fake target: host broke a rule: %s\n", msg);
	lock(ft);
	if (!ft->st.violations++)
		snprintf(ft->st.violation, sizeof(ft->st.violation), "%s", msg);
	unlock(ft);
}

void ft_pattern(uint32_t nsid, uint64_t off, void *buf, size_t len)
{
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++) {
		uint64_t x = (off + i) * 0x9E3779B97F4A7C15ull + nsid * 0xBF58476D1CE4E5B9ull;

		p[i] = (uint8_t)((x ^ (x >> 29)) >> 56);
	}
}

void ft_config_default(struct ft_config *cfg)
{
	static const uint32_t lba[FT_MAX_NS] = { 512, 4096, 512, 4096 };
	static const uint64_t nsze[FT_MAX_NS] = { 16384, 512, 2048, 256 };

	memset(cfg, 0, sizeof(*cfg));
	cfg->subnqn = FT_SUBNQN;
	cfg->maxh2cdata = 128 * 1024;
	cfg->c2h_chunk = 128 * 1024;
	cfg->ioccsz = 4 + 8192 / 16;		/* 8 KiB in-capsule data on I/O queues */
	cfg->mqes = 127;
	cfg->cap_to = 2;
	cfg->kas = 10;
	cfg->max_ioq = 4;
	cfg->nr_ns = 2;
	memcpy(cfg->lba_size, lba, sizeof(lba));
	memcpy(cfg->nsze, nsze, sizeof(nsze));
}

/* ------------------------------------------------------------ socket I/O */

static int read_full(struct conn *c, void *buf, size_t n)
{
	uint8_t *p = buf;

	while (n) {
		/* small_rcvbuf: also read slowly, so the host's send buffer fills. */
		size_t k = c->ft->cfg.small_rcvbuf && n > 4096 ? 4096 : n;
		ssize_t r;

		if (c->ft->cfg.small_rcvbuf)
			usleep(100);
		r = recv(c->fd, p, k, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int send_raw(struct conn *c, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	int rc = 0;

	pthread_mutex_lock(&c->wlock);
	for (unsigned int piece = 0; n; piece++) {
		size_t k = n;
		ssize_t r;

		if (c->ft->cfg.dribble) {	/* headers byte by byte, data in odd pieces */
			k = piece < 32 ? 1 : 1 + (piece * 2654435761u) % 3001;
			if (k > n)
				k = n;
			usleep(20);
		}
		r = send(c->fd, p, k, MSG_NOSIGNAL);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = -1;
			break;
		}
		p += r;
		n -= (size_t)r;
	}
	pthread_mutex_unlock(&c->wlock);
	return rc;
}

/*
 * Send a digest-capable PDU (CapsuleResp, C2HData, R2T) whose @hlen-byte
 * header is in @hdr: HDGST, PAD to the host's HPDA, DATA and DDGST as
 * negotiated. @corrupt flips a data byte after the digest was computed.
 */
static int send_pdu(struct conn *c, uint8_t *hdr, uint32_t hlen, const void *data,
		    uint32_t dlen, bool corrupt)
{
	uint32_t hd = c->hdgst ? 4 : 0, dd = dlen && c->ddgst ? 4 : 0;
	uint32_t a = c->ft->cfg.c2h_align > c->hpda ? c->ft->cfg.c2h_align / c->hpda * c->hpda : c->hpda;
	uint32_t pdo = dlen ? (hlen + hd + a - 1) / a * a : 0;
	uint32_t plen = (dlen ? pdo : hlen + hd) + dlen + dd;
	uint8_t *m = calloc(1, plen);
	int rc;

	if (!m)
		return -1;
	hdr[1] |= (hd ? F_HDGST : 0) | (dd ? F_DDGST : 0);
	hdr[2] = (uint8_t)hlen;
	hdr[3] = (uint8_t)pdo;
	put32(hdr + 4, plen);
	memcpy(m, hdr, hlen);
	if (dlen) {
		memcpy(m + pdo, data, dlen);
		if (dd)
			put32(m + pdo + dlen, crc32c(data, dlen));
		if (corrupt)
			m[pdo + dlen / 2] ^= 0x5a;
	}
	pthread_mutex_lock(&c->wlock);
	if (hd) {
		put32(m + hlen, crc32c(m, hlen) ^ (c->bad_hdgst_next ? 0x10u : 0));
		c->bad_hdgst_next = false;
	}
	pthread_mutex_unlock(&c->wlock);
	rc = send_raw(c, m, plen);
	free(m);
	return rc;
}

static int send_resp(struct conn *c, uint16_t cid, uint16_t status, uint32_t dw0, uint32_t dw1)
{
	uint8_t h[24] = { CAPSULE_RESP };

	put32(h + 8, dw0);
	put32(h + 12, dw1);
	put16(h + 16, c->sqhd);
	put16(h + 18, c->qid);
	put16(h + 20, cid);
	put16(h + 22, (uint16_t)(status << 1));
	return send_pdu(c, h, 24, NULL, 0, false);
}

/* Controller-to-host data in C2HData PDUs, then the CapsuleResp. */
static int send_data(struct conn *c, uint16_t cid, const uint8_t *buf, uint32_t len)
{
	struct ft *ft = c->ft;
	uint32_t chunk = ft->cfg.c2h_chunk ? ft->cfg.c2h_chunk : len;
	bool success = ft->cfg.c2h_success;
	uint32_t off, i;

	for (off = 0, i = 1; off < len; i++) {
		uint32_t n = len - off < chunk ? len - off : chunk;
		uint8_t h[24] = { C2H_DATA };

		if (off + n == len)
			h[1] = F_LAST | (success ? F_SUCCESS : 0);
		put16(h + 8, cid);
		put32(h + 12, off);
		put32(h + 16, n);
		if (send_pdu(c, h, 24, buf + off, n, c->corrupt_pdu == i) < 0)
			return -1;
		lock(ft);
		ft->st.c2h_pdus++;
		unlock(ft);
		off += n;
	}
	c->corrupt_pdu = 0;
	return success ? 0 : send_resp(c, cid, 0, 0, 0);
}

static void free_pdu(struct pdu *p)
{
	if (p)
		free(p->data);
	free(p);
}

/* Read and check one host PDU (ICReq excluded). NULL: connection over. */
static struct pdu *read_pdu(struct conn *c)
{
	struct ft *ft = c->ft;
	struct pdu *p = calloc(1, sizeof(*p));
	uint32_t plen, hd, dd, pdo, need, align = (ft->cfg.cpda + 1u) * 4;
	uint8_t dg[4], pad[152];

	if (!p || read_full(c, p->hdr, 8) < 0)
		goto fail;
	p->type = p->hdr[0];
	p->flags = p->hdr[1];
	p->hlen = p->hdr[2];
	pdo = p->hdr[3];
	plen = get32(p->hdr + 4);
	switch (p->type) {
	case H2C_TERM: need = 24; break;
	case CAPSULE_CMD: need = 72; break;
	case H2C_DATA: need = 24; break;
	default:
		violation(ft, "PDU type 0x%02x is not valid from a host", p->type);
		goto fail;
	}
	if (p->hlen != need || plen < need) {
		violation(ft, "PDU type 0x%02x with HLEN %u PLEN %u", p->type, p->hlen, plen);
		goto fail;
	}
	if (read_full(c, p->hdr + 8, need - 8) < 0)
		goto fail;
	if (p->type == H2C_TERM) {
		if (p->flags || pdo || plen > 152)
			violation(ft, "H2CTermReq flags 0x%x PDO %u PLEN %u", p->flags, pdo, plen);
		if (plen > 24 && plen <= 152 && read_full(c, pad, plen - 24) < 0)
			goto fail;
		return p;
	}
	if (p->flags & ~(F_HDGST | F_DDGST | (p->type == H2C_DATA ? F_LAST : 0)))
		violation(ft, "PDU type 0x%02x flags 0x%02x", p->type, p->flags);
	hd = (p->flags & F_HDGST) ? 4 : 0;
	if (!!hd != c->hdgst)
		violation(ft, "HDGSTF %s while header digest is %s", hd ? "set" : "clear",
			  c->hdgst ? "on" : "off");
	if (hd) {
		if (read_full(c, dg, 4) < 0)
			goto fail;
		if (get32(dg) != crc32c(p->hdr, need))
			violation(ft, "bad header digest on PDU type 0x%02x", p->type);
	}
	if (plen > need + hd) {
		dd = (p->flags & F_DDGST) ? 4 : 0;
		if (!!dd != c->ddgst)
			violation(ft, "DDGSTF %s while data digest is %s", dd ? "set" : "clear",
				  c->ddgst ? "on" : "off");
		if (pdo < need + hd || pdo % align || pdo + dd > plen || plen - pdo - dd > (16u << 20)) {
			violation(ft, "PDO %u with PLEN %u (CPDA alignment %u)", pdo, plen, align);
			goto fail;
		}
		if (pdo > need + hd) {
			if (read_full(c, pad, pdo - need - hd) < 0)
				goto fail;
			for (uint32_t i = 0; i < pdo - need - hd; i++)
				if (pad[i])
					violation(ft, "non-zero PAD byte");
		}
		p->dlen = plen - pdo - dd;
		p->data = malloc(p->dlen ? p->dlen : 1);
		if (!p->data || read_full(c, p->data, p->dlen) < 0)
			goto fail;
		if (dd) {
			if (read_full(c, dg, 4) < 0)
				goto fail;
			if (get32(dg) != crc32c(p->data, p->dlen))
				violation(ft, "bad data digest on PDU type 0x%02x", p->type);
		}
	} else {
		if (pdo || (p->flags & F_DDGST) || plen != need + hd)
			violation(ft, "PDU without data: PDO %u flags 0x%x PLEN %u", pdo, p->flags, plen);
	}
	return p;
fail:
	free_pdu(p);
	return NULL;
}

static struct pdu *next_pdu(struct conn *c)
{
	struct pdu *p = c->backlog;

	if (!p)
		return read_pdu(c);
	c->backlog = p->next;
	return p;
}

static void got_h2c_term(struct conn *c, const struct pdu *p)
{
	lock(c->ft);
	c->ft->st.h2c_terms++;
	c->ft->st.last_fes = get16(p->hdr + 8);
	c->ft->st.last_fei = get32(p->hdr + 10);
	unlock(c->ft);
}

/* Fetch @len bytes of host data for @cid with R2Ts. */
static int get_h2c_data(struct conn *c, uint16_t cid, uint8_t *buf, uint32_t len)
{
	struct ft *ft = c->ft;
	uint32_t off = 0;

	while (off < len) {
		uint32_t want = len - off, got = 0;
		uint8_t h[24] = { R2T };
		uint16_t ttag = ++c->ttag;

		if (ft->cfg.r2t_chunk && ft->cfg.r2t_chunk < want)
			want = ft->cfg.r2t_chunk;
		put16(h + 8, cid);
		memcpy(h + 10, &ttag, 2);
		put32(h + 12, off);
		put32(h + 16, want);
		if (send_pdu(c, h, 24, NULL, 0, false) < 0)
			return -1;
		lock(ft);
		ft->st.r2ts++;
		unlock(ft);
		if (c->hold_data) {	/* FT_FAULT_HOLD_DATA: up to 10 s */
			bool go = false;

			c->hold_data = false;
			lock(ft);
			ft->st.held++;
			unlock(ft);
			for (int i = 0; i < 10000 && !go; i++) {
				usleep(1000);
				lock(ft);
				go = ft->released || ft->stopping;
				unlock(ft);
			}
		}
		while (got < want) {
			struct pdu *p = read_pdu(c);
			uint32_t datao, datal;
			struct pdu **tail;

			if (!p)
				return -1;
			if (p->type == CAPSULE_CMD) {	/* pipelined: serve it later */
				for (tail = &c->backlog; *tail; tail = &(*tail)->next)
					;
				*tail = p;
				continue;
			}
			if (p->type == H2C_TERM) {
				got_h2c_term(c, p);
				free_pdu(p);
				return -1;
			}
			datao = get32(p->hdr + 12);
			datal = get32(p->hdr + 16);
			if (get16(p->hdr + 8) != cid || memcmp(p->hdr + 10, &ttag, 2))
				violation(ft, "H2CData CCCID 0x%x TTAG mismatch (want cid 0x%x ttag %u)",
					  get16(p->hdr + 8), cid, ttag);
			if (datao != off + got)
				violation(ft, "H2CData DATAO %u, expected %u", datao, off + got);
			if (datal != p->dlen || !datal)
				violation(ft, "H2CData DATAL %u but %u data bytes", datal, p->dlen);
			if (p->dlen > ft->cfg.maxh2cdata)
				violation(ft, "H2CData of %u bytes > MAXH2CDATA %u", p->dlen,
					  ft->cfg.maxh2cdata);
			if (got + p->dlen > want) {
				violation(ft, "H2CData beyond the R2T (%u + %u > %u)", got, p->dlen, want);
				free_pdu(p);
				return -1;
			}
			if (!!(p->flags & F_LAST) != (got + p->dlen == want))
				violation(ft, "H2CData LAST_PDU %s at %u of %u bytes of the R2T",
					  (p->flags & F_LAST) ? "set" : "clear", got + p->dlen, want);
			memcpy(buf + off + got, p->data, p->dlen);
			got += p->dlen;
			lock(ft);
			ft->st.h2c_pdus++;
			unlock(ft);
			free_pdu(p);
		}
		off += want;
	}
	return 0;
}

/* ------------------------------------------------------------- Fabrics */

static int do_connect(struct conn *c, const struct cmd *cmd, const struct pdu *p)
{
	struct ft *ft = c->ft;
	const uint8_t *s = cmd->sqe;
	uint16_t qid = get16(s + 42), sqsize = get16(s + 44), status = 0;
	uint32_t kato = get32(s + 48), dw0 = 0;
	uint8_t data[1024];
	const char *subnqn = (const char *)data + 256, *hostnqn = (const char *)data + 512;

	if (c->connected)
		violation(ft, "second Connect on queue %u", c->qid);
	if (p->dlen) {
		if (p->dlen != sizeof(data))
			violation(ft, "Connect with %u bytes of data", p->dlen);
		memset(data, 0, sizeof(data));
		memcpy(data, p->data, p->dlen < sizeof(data) ? p->dlen : sizeof(data));
	} else {
		violation(ft, "Connect data on queue %u not in-capsule (Fabrics commands "
			  "always have 8 KiB of in-capsule data)", qid);
		if (cmd->sgl_len != sizeof(data) || get_h2c_data(c, cmd->cid, data, sizeof(data)) < 0)
			return -1;
	}
	data[256 + 255] = data[512 + 255] = 0;
	c->qid = qid;
	c->sqsize = sqsize;
	c->sqhd = (uint16_t)(1 % (sqsize + 1u));

	lock(ft);
	if (get16(s + 40) != 0) {
		status = 0x180 | ST_DNR;
	} else if (strcmp(subnqn, ft->cfg.subnqn) && strcmp(subnqn, FT_DISC_NQN)) {
		status = 0x182 | ST_DNR;
		dw0 = 256 | 1u << 16;		/* IATTR 1: in the data, IPO 256: SUBNQN */
	} else if (ft->cfg.denied_hostnqn && !strcmp(hostnqn, ft->cfg.denied_hostnqn)) {
		status = 0x184 | ST_DNR;
	} else if (qid == 0) {
		if (get16(data + 16) != 0xffff) {
			status = 0x182 | ST_DNR;
			dw0 = 16 | 1u << 16;
		} else {
			if (sqsize < 31)
				violation(ft, "admin SQSIZE %u below 31", sqsize);
			ft->assoc = true;
			ft->discovery = !strcmp(subnqn, FT_DISC_NQN);
			ft->cntlid = ft->next_cntlid++;
			memcpy(ft->hostnqn, hostnqn, sizeof(ft->hostnqn));	/* NUL at 255 */
			ft->cc = ft->csts = ft->aec = 0;
			ft->kato = kato;
			ft->ioq_granted = 0;
			ft->aer_pending = false;
			ft->aer_conn = NULL;
			ft->nr_ns = ft->cfg.nr_ns;
			ft->st.admin_connects++;
			ft->st.admin_kato = kato;
			ft->st.admin_sqsize = sqsize;
			ft->st.cntlid = ft->cntlid;
			memcpy(ft->st.hostid, data, 16);
			dw0 = ft->cntlid;
		}
	} else {
		if (!ft->assoc || get16(data + 16) != ft->cntlid) {
			status = 0x182 | ST_DNR;
			dw0 = 16 | 1u << 16;
		} else if (strcmp(hostnqn, ft->hostnqn)) {
			status = 0x182 | ST_DNR;
			dw0 = 512 | 1u << 16;
		} else if (qid > ft->ioq_granted) {
			status = 0x182 | ST_DNR;
			dw0 = 42;
		} else if (sqsize == 0 || sqsize > ft->cfg.mqes) {
			status = 0x182 | ST_DNR;
			dw0 = 44;
		} else {
			ft->st.io_connects++;
			ft->st.io_sqsize = sqsize;
			dw0 = ft->cntlid;
		}
		if (kato)
			violation(ft, "KATO %u on I/O queue %u", kato, qid);
	}
	if (status)
		ft->st.connects_rejected++;
	unlock(ft);
	c->connected = !status;
	if (!status && ft->cfg.auth_secret) {
		dw0 |= NVMF_CONNECT_AUTHREQ_ATR;
		c->auth_needed = true;
	}
	return send_resp(c, cmd->cid, status, dw0, 0);
}

/* ------------------------------------------------------ DH-HMAC-CHAP */

static int auth_send(struct conn *c, const struct cmd *cmd, const struct pdu *p)
{
	struct ft *ft = c->ft;
	uint32_t tl = cmd->cdw11;
	uint8_t buf[NVMF_AUTH_RECV_LEN], kt[64], r1[64];
	struct nvmf_dhchap_key k;
	size_t hl = nvmf_auth_hash_len(ft->cfg.auth_hash), ktl, dhlen;
	char err[200];

	if (cmd->cdw10 != 0xe9010100u)
		violation(ft, "Auth Send SECP/SPSP 0x%08x", cmd->cdw10);
	if (tl > sizeof(buf) || (p->dlen && p->dlen != tl))
		return send_resp(c, cmd->cid, ST_INVALID_FIELD | ST_DNR, 0, 0);
	memset(buf, 0, sizeof(buf));
	if (p->dlen)
		memcpy(buf, p->data, tl);
	else if (get_h2c_data(c, cmd->cid, buf, tl) < 0)
		return -1;
	if (tl >= 8 && buf[1] == NVMF_AUTH_ID_FAILURE2) {
		lock(ft);
		ft->st.auth_failure2++;
		ft->st.auth_last_rce = buf[7];
		unlock(ft);
		c->auth_step = 0;
		return send_resp(c, cmd->cid, 0, 0, 0);
	}
	if (tl == NVMF_AUTH_NEGOTIATE_LEN && buf[0] == 0 && buf[1] == NVMF_AUTH_ID_NEGOTIATE) {
		if (buf[7] != 1 || buf[8] != 1 || !memchr(buf + 12, ft->cfg.auth_hash, buf[10]) ||
		    !memchr(buf + 12 + 30, ft->cfg.auth_dhgroup, buf[11]))
			violation(ft, "Negotiate does not offer hash %u group %u", ft->cfg.auth_hash,
				  ft->cfg.auth_dhgroup);
		c->auth_tid = get16(buf + 4);
		c->auth_step = 1;
		return send_resp(c, cmd->cid, 0, 0, 0);
	}
	if (buf[0] == 1 && buf[1] == NVMF_AUTH_ID_SUCCESS2 && c->auth_step == 4) {
		c->auth_step = 0;
		c->auth_needed = false;
		lock(ft);
		ft->st.auth_ok++;
		ft->st.auth_bidi++;
		unlock(ft);
		return send_resp(c, cmd->cid, 0, 0, 0);
	}
	if (!(buf[0] == 1 && buf[1] == NVMF_AUTH_ID_REPLY && c->auth_step == 5)) {
		violation(ft, "Auth Send of message %02x/%02x at step %d", buf[0], buf[1],
			  c->auth_step);
		return send_resp(c, cmd->cid, ST_CMD_SEQ_ERROR | ST_DNR, 0, 0);
	}
	/* The Reply: R1, C2, our DH value's partner. */
	dhlen = nvmf_auth_dh_len(ft->cfg.auth_dhgroup);
	if (buf[6] != hl || get16(buf + 4) != c->auth_tid || get16(buf + 10) != dhlen ||
	    tl != NVMF_AUTH_HDR_LEN + 2 * hl + dhlen) {
		violation(ft, "Reply: hl %u tid %u dhvlen %u in %u bytes", buf[6], get16(buf + 4),
			  get16(buf + 10), tl);
		return send_resp(c, cmd->cid, ST_INVALID_FIELD | ST_DNR, 0, 0);
	}
	if (dhlen && nvmf_auth_dh_derive(c->auth_dh, buf + 16 + 2 * hl, dhlen, c->auth_sk,
					 dhlen) < 0)
		violation(ft, "Reply: the host's DH value is not valid");
	if (nvmf_dhchap_key_parse(ft->cfg.auth_secret, &k, err, sizeof(err)) < 0 ||
	    nvmf_dhchap_key_transform(&k, ft->hostnqn, kt, &ktl) < 0 ||
	    nvmf_auth_response(ft->cfg.auth_hash, kt, ktl, c->auth_c1, dhlen ? c->auth_sk : NULL,
			       dhlen, c->auth_s1, c->auth_tid, true, ft->hostnqn, ft->cfg.subnqn,
			       r1) < 0) {
		violation(ft, "fake target: bad auth_secret");
		return -1;
	}
	if (memcmp(r1, buf + 16, hl)) {
		c->auth_step = 3;
		return send_resp(c, cmd->cid, 0, 0, 0);
	}
	c->auth_r2_valid = false;
	if (buf[8] & 1) {
		if (!ft->cfg.auth_ctrl_secret ||
		    nvmf_dhchap_key_parse(ft->cfg.auth_ctrl_secret, &k, err, sizeof(err)) < 0 ||
		    nvmf_dhchap_key_transform(&k, ft->cfg.subnqn, kt, &ktl) < 0 ||
		    nvmf_auth_response(ft->cfg.auth_hash, kt, ktl, buf + 16 + hl,
				       dhlen ? c->auth_sk : NULL, dhlen, get32(buf + 12), c->auth_tid,
				       false, ft->hostnqn, ft->cfg.subnqn, c->auth_r2) < 0) {
			c->auth_step = 3;
			return send_resp(c, cmd->cid, 0, 0, 0);
		}
		if (get32(buf + 12) == 0)
			violation(ft, "Reply with CVALID and S2 0");
		c->auth_r2_valid = true;
	}
	c->auth_step = 2;
	return send_resp(c, cmd->cid, 0, 0, 0);
}

static int auth_recv(struct conn *c, const struct cmd *cmd)
{
	struct ft *ft = c->ft;
	uint32_t al = cmd->cdw11;
	uint8_t buf[NVMF_AUTH_RECV_LEN];
	size_t hl = nvmf_auth_hash_len(ft->cfg.auth_hash);
	size_t dhlen = nvmf_auth_dh_len(ft->cfg.auth_dhgroup);
	uint32_t len;

	if (al > sizeof(buf) || al < NVMF_AUTH_HDR_LEN + 64 + 1024)
		violation(ft, "Auth Receive AL %u", al);
	if (al > sizeof(buf))
		return send_resp(c, cmd->cid, ST_INVALID_FIELD | ST_DNR, 0, 0);
	memset(buf, 0, sizeof(buf));
	put16(buf + 4, c->auth_tid);
	if (c->auth_step == 1) {	/* Challenge */
		buf[0] = 1;
		buf[1] = NVMF_AUTH_ID_CHALLENGE;
		buf[6] = (uint8_t)hl;
		buf[8] = ft->cfg.auth_hash;
		buf[9] = ft->cfg.auth_dhgroup;
		put16(buf + 10, (uint16_t)dhlen);
		c->auth_s1 = 1000 + c->qid;
		put32(buf + 12, c->auth_s1);
		for (size_t i = 0; i < hl; i++)
			c->auth_c1[i] = (uint8_t)(i * 7 + c->qid);
		memcpy(buf + 16, c->auth_c1, hl);
		if (dhlen) {
			nvmf_auth_dh_free(c->auth_dh);
			c->auth_dh = NULL;
			if (nvmf_auth_dh_new(ft->cfg.auth_dhgroup, &c->auth_dh) < 0 ||
			    nvmf_auth_dh_public(c->auth_dh, buf + 16 + hl, dhlen) < 0)
				return -1;
		}
		len = (uint32_t)(16 + hl + dhlen);
		switch (ft->cfg.auth_fault) {
		case FT_AUTH_WRONG_TID:
			put16(buf + 4, (uint16_t)(c->auth_tid + 1));
			break;
		case FT_AUTH_BAD_DH:
			if (dhlen) {
				memset(buf + 16 + hl, 0, dhlen);
				buf[16 + hl + dhlen - 1] = 1;
			}
			break;
		case FT_AUTH_BAD_HASH:
			buf[8] = 7;
			break;
		default:
			break;
		}
		c->auth_step = 5;
	} else if (c->auth_step == 2) {	/* Success1 */
		buf[0] = 1;
		buf[1] = NVMF_AUTH_ID_SUCCESS1;
		buf[6] = (uint8_t)hl;
		len = 16;
		if (c->auth_r2_valid && ft->cfg.auth_fault != FT_AUTH_NO_R2) {
			buf[8] = 1;
			memcpy(buf + 16, c->auth_r2, hl);
			if (ft->cfg.auth_fault == FT_AUTH_BAD_R2)
				buf[16] ^= 0x80;
			len += (uint32_t)hl;
		}
		if (c->auth_r2_valid) {
			c->auth_step = 4;	/* Success2 due */
		} else {
			c->auth_step = 0;
			c->auth_needed = false;
			lock(ft);
			ft->st.auth_ok++;
			unlock(ft);
		}
	} else if (c->auth_step == 3) {	/* Failure1 */
		buf[0] = 0;
		buf[1] = NVMF_AUTH_ID_FAILURE1;
		buf[6] = NVMF_AUTH_RC_FAILED;
		buf[7] = NVMF_AUTH_RCE_FAILED;
		len = 8;
		c->auth_step = 0;
		lock(ft);
		ft->st.auth_failure1++;
		unlock(ft);
	} else {
		violation(ft, "Auth Receive at step %d", c->auth_step);
		return send_resp(c, cmd->cid, ST_CMD_SEQ_ERROR | ST_DNR, 0, 0);
	}
	(void)len;	/* the whole AL goes out, as nvmet does */
	return send_data(c, cmd->cid, buf, al);
}

static int prop_get(struct conn *c, const struct cmd *cmd)
{
	struct ft *ft = c->ft;
	uint32_t ofst = get32(cmd->sqe + 44);
	uint8_t size = cmd->sqe[40] & 7;
	uint16_t status = 0;
	uint64_t v = 0;

	lock(ft);
	switch (ofst) {
	case 0x00:
		v = ft->cfg.mqes | 1ull << 16 | (uint64_t)ft->cfg.cap_to << 24 | 1ull << 37;
		if (size != 1)
			violation(ft, "CAP read with %u bytes", size ? 8 : 4);
		break;
	case 0x08: v = 0x00010400; break;
	case 0x14: v = ft->cc; break;
	case 0x1c: v = ft->csts; break;
	default: status = ST_INVALID_FIELD; break;
	}
	unlock(ft);
	if (size == 0)
		v &= 0xffffffffu;
	return send_resp(c, cmd->cid, status, (uint32_t)v, (uint32_t)(v >> 32));
}

static int prop_set(struct conn *c, const struct cmd *cmd)
{
	struct ft *ft = c->ft;
	uint32_t ofst = get32(cmd->sqe + 44), v = (uint32_t)get64(cmd->sqe + 48), old;

	if (ofst != 0x14)
		return send_resp(c, cmd->cid, ST_INVALID_FIELD, 0, 0);
	lock(ft);
	old = ft->cc;
	ft->cc = ft->st.cc = v;
	if ((v & 1) && !(old & 1)) {
		if (((v >> 16) & 0xf) != 6 || ((v >> 20) & 0xf) != 4 || ((v >> 7) & 0xf) ||
		    ((v >> 4) & 7))
			violation(ft, "CC 0x%08x: IOSQES/IOCQES/MPS/CSS wrong", v);
		ft->csts |= 1;
		ft->st.enables++;
	}
	if (!(v & 1))
		ft->csts &= ~0xdu;
	if ((v >> 14) & 3) {
		if (!((old >> 14) & 3)) {
			ft->st.shutdowns++;
			if (v & 1)
				ft->st.shutdown_with_en++;
		}
		ft->csts = (ft->csts & ~0xcu) | 0x8;	/* SHST: shutdown complete */
	}
	unlock(ft);
	return send_resp(c, cmd->cid, 0, 0, 0);
}

/* --------------------------------------------------------------- Admin */

static void put_str(uint8_t *dst, const char *s, size_t width)
{
	size_t n = strlen(s);

	memset(dst, ' ', width);
	memcpy(dst, s, n < width ? n : width);
}

static int identify(struct conn *c, const struct cmd *cmd)
{
	struct ft *ft = c->ft;
	uint8_t b[4096] = { 0 };
	uint16_t status = 0;
	uint32_t nsid = cmd->nsid;

	if (cmd->sgl_len != sizeof(b))
		violation(ft, "Identify with a %u-byte buffer", cmd->sgl_len);
	lock(ft);
	switch (cmd->cdw10 & 0xff) {
	case 0x01:
		put16(b + 0, 0x1b36);
		put_str(b + 4, FT_SERIAL, 20);
		put_str(b + 24, FT_MODEL, 40);
		put_str(b + 64, FT_FIRMWARE, 8);
		b[77] = ft->cfg.mdts;
		put16(b + 78, ft->cntlid);
		put32(b + 80, 0x00010400);
		put32(b + 92, ft->discovery ? 1u << 31 : 1u << 8 | (ft->cfg.ana ? 1u << 11 : 0));
		if (ft->cfg.ana && !ft->discovery) {
			b[76] = 1u << 3;		/* CMIC: ANA reporting */
			b[342] = ft->cfg.anatt;		/* ANATT */
			b[343] = 0x1f;			/* ANACAP: all five states */
			put32(b + 344, 1);		/* ANAGRPMAX */
			put32(b + 348, 1);		/* NANAGRPID */
		}
		b[111] = ft->discovery ? 2 : 1;
		put16(b + 320, ft->cfg.kas);
		b[512] = 0x66;
		b[513] = 0x44;
		put32(b + 516, ft->cfg.nn ? ft->cfg.nn : FT_MAX_NS);
		put32(b + 536, 1u | 1u << 20);
		snprintf((char *)b + 768, 256, "%s", ft->discovery ? FT_DISC_NQN : ft->cfg.subnqn);
		put32(b + 1792, ft->cfg.ioccsz_raw ? ft->cfg.ioccsz_raw : ft->cfg.ioccsz);
		put32(b + 1796, 1);
		break;
	case 0x02:
		switch (ft->cfg.ns_list) {
		case FT_LIST_REPEAT:
			for (uint32_t i = 0; i < 1024; i++)
				put32(b + 4 * i, i + 1);
			break;
		case FT_LIST_FULL: {
			uint32_t nn = ft->cfg.nn ? ft->cfg.nn : FT_MAX_NS;

			for (uint32_t i = 0; i < 1024 && nsid + 1 + i <= nn; i++)
				put32(b + 4 * i, nsid + 1 + i);
			break;
		}
		case FT_LIST_DUP:
			put32(b + 0, 1);
			put32(b + 4, 1);
			put32(b + 8, 2);
			break;
		case FT_LIST_ABOVE_NN:
			put32(b + 0, 1);
			put32(b + 4, (ft->cfg.nn ? ft->cfg.nn : FT_MAX_NS) + 1);
			break;
		default:
			for (int i = 1, n = 0; i <= ft->nr_ns; i++)
				if ((uint32_t)i > nsid)
					put32(b + 4 * n++, (uint32_t)i);
		}
		break;
	case 0x00: {
		uint32_t slot = nsid >= 1 && nsid <= FT_MAX_NS ? nsid - 1 : 0;

		if (ft->cfg.ns_inactive)
			break;			/* all zero: allocated, not active */
		if (ft->cfg.ns_list == FT_LIST_OK &&
		    (nsid < 1 || nsid > (uint32_t)ft->nr_ns)) {
			status = ST_INVALID_NS;
			break;
		}
		put64(b + 0, ft->cfg.nsze[slot]);
		put64(b + 8, ft->cfg.nsze[slot]);
		put64(b + 16, ft->cfg.nsze[slot]);
		b[25] = 1;				/* NLBAF: two formats */
		b[26] = ft->cfg.lba_size[slot] == 4096 ? 1 : 0;
		if (ft->cfg.flbas_beyond)
			b[26] = 5;
		if (ft->cfg.ana)
			put32(b + 92, 1);		/* ANAGRPID */
		b[128 + 2] = ft->cfg.lbads ? ft->cfg.lbads : 9;		/* LBAF0: 512 B */
		b[132 + 2] = ft->cfg.lbads ? ft->cfg.lbads : 12;	/* LBAF1: 4 KiB */
		break;
	}
	case 0x03:
		if (!ft->cfg.descs || nsid < 1 || nsid > (uint32_t)ft->nr_ns) {
			status = ST_INVALID_FIELD;
			break;
		}
		b[0] = 2;				/* NGUID */
		b[1] = 16;
		b[4] = (uint8_t)nsid;
		b[5] = ft->ns_gen[nsid - 1];
		memcpy(b + 6, "nvmfuse-ft", 10);
		break;
	default:
		status = ST_INVALID_FIELD;
	}
	unlock(ft);
	if (status)
		return send_resp(c, cmd->cid, status, 0, 0);
	return send_data(c, cmd->cid, b, cmd->sgl_len < sizeof(b) ? cmd->sgl_len : sizeof(b));
}

static int get_log_page(struct conn *c, const struct cmd *cmd)
{
	struct ft *ft = c->ft;
	uint8_t lid = cmd->cdw10 & 0xff;
	bool rae = cmd->cdw10 & (1u << 15);
	uint32_t len = ((cmd->cdw10 >> 16 | (cmd->cdw11 & 0xffff) << 16) + 1) * 4;
	uint64_t off = cmd->cdw12 | (uint64_t)cmd->cdw13 << 32, size;
	uint8_t *page, *out;
	int rc;

	if (len != cmd->sgl_len)
		violation(ft, "Get Log Page NUMD says %u bytes, SGL %u", len, cmd->sgl_len);
	lock(ft);
	if (lid == 0x70 && ft->disc_restarts < ft->cfg.disc_restarts) {
		ft->disc_restarts++;
		unlock(ft);
		return send_resp(c, cmd->cid, 0x190, 0, 0);	/* Discovery Restart */
	}
	if (lid == 0x70) {
		int n = ft->cfg.disc_entries;
		int moved = ft->disc_hdr_reads < ft->cfg.disc_changes ? ft->disc_hdr_reads
								     : ft->cfg.disc_changes;

		size = 1024 * (1 + (uint64_t)n);
		page = calloc(1, size);
		if (!page)
			goto nomem;
		put64(page, 7 + (uint64_t)moved);	/* GENCTR */
		if (off == 0)
			ft->disc_hdr_reads++;
		put64(page + 8, (uint64_t)n);
		for (int i = 0; i < n; i++) {
			uint8_t *e = page + 1024 * (i + 1);

			e[0] = 3;		/* TCP */
			e[1] = 1;		/* IPv4 */
			e[2] = 2;		/* NVM subsystem */
			put16(e + 4, (uint16_t)(i + 1));
			put16(e + 6, 0xffff);
			put16(e + 8, 32);
			put_str(e + 32, "4420", 32);
			snprintf((char *)e + 256, 256, "nqn.2024-01.io.nvmfuse:sub%d", i);
			snprintf((char *)e + 512, 256, "192.0.2.%d", i + 1);
		}
		ft->st.disc_reads++;
	} else if (lid == 0x04) {
		size = 4096;
		page = calloc(1, size);
		if (!page)
			goto nomem;
		for (int i = 0; i < ft->nchanged; i++)
			put32(page + 4 * i, ft->changed[i]);
		if (!rae)
			ft->nchanged = 0;
		ft->st.changed_ns_reads++;
	} else if (lid == 0x0c && ft->cfg.ana) {
		/* One group, every active namespace in it (Base figure 258). */
		size = 16 + 32 + 4 * (uint64_t)ft->nr_ns;
		page = calloc(1, size);
		if (!page)
			goto nomem;
		put64(page, ft->ana_chgcnt);
		put16(page + 8, 1);
		put32(page + 16, 1);
		put32(page + 20, ft->cfg.ana_hostile ? 0x40000000u : (uint32_t)ft->nr_ns);
		put64(page + 24, ft->ana_chgcnt);
		page[32] = ft->ana_state;
		for (int i = 0; i < ft->nr_ns; i++)
			put32(page + 48 + 4 * i, (uint32_t)i + 1);
		ft->st.ana_reads++;
	} else {
		unlock(ft);
		return send_resp(c, cmd->cid, ST_INVALID_LOG, 0, 0);
	}
	unlock(ft);
	out = calloc(1, len);
	if (!out || off % 4 || off > size) {
		rc = send_resp(c, cmd->cid, ST_INVALID_FIELD, 0, 0);
	} else {
		memcpy(out, page + off, size - off < len ? size - off : len);
		rc = send_data(c, cmd->cid, out, len);
	}
	free(out);
	free(page);
	return rc;
nomem:
	unlock(ft);
	return -1;
}

static int admin(struct conn *c, const struct cmd *cmd)
{
	struct ft *ft = c->ft;
	uint32_t dw0 = 0, n;
	bool ready;

	lock(ft);
	ready = ft->csts & 1;
	unlock(ft);
	if (!ready) {
		violation(ft, "admin opcode 0x%02x before CSTS.RDY", cmd->opc);
		return send_resp(c, cmd->cid, ST_CMD_SEQ_ERROR, 0, 0);
	}
	switch (cmd->opc) {
	case 0x06:
		return identify(c, cmd);
	case 0x02:
		return get_log_page(c, cmd);
	case 0x09:	/* Set Features */
		lock(ft);
		switch (cmd->cdw10 & 0xff) {
		case 0x07:
			if ((cmd->cdw11 & 0xffff) == 0xffff || cmd->cdw11 >> 16 == 0xffff) {
				unlock(ft);
				return send_resp(c, cmd->cid, ST_INVALID_FIELD, 0, 0);
			}
			n = (cmd->cdw11 & 0xffff) < (cmd->cdw11 >> 16) ? cmd->cdw11 & 0xffff
								      : cmd->cdw11 >> 16;
			if (n + 1 > ft->cfg.max_ioq)
				n = ft->cfg.max_ioq - 1u;
			ft->ioq_granted = (uint16_t)(n + 1);
			dw0 = n | n << 16;
			break;
		case 0x0b: ft->aec = cmd->cdw11; break;
		case 0x0f: ft->kato = cmd->cdw11; break;
		}
		unlock(ft);
		return send_resp(c, cmd->cid, 0, dw0, 0);
	case 0x0a:	/* Get Features */
		lock(ft);
		switch (cmd->cdw10 & 0xff) {
		case 0x07: dw0 = (ft->ioq_granted - 1u) * 0x10001u; break;
		case 0x0b: dw0 = ft->aec; break;
		case 0x0f: dw0 = ft->kato; break;
		}
		unlock(ft);
		return send_resp(c, cmd->cid, 0, dw0, 0);
	case 0x18:	/* Keep Alive */
		lock(ft);
		ft->st.keep_alives++;
		unlock(ft);
		return send_resp(c, cmd->cid, 0, 0, 0);
	case 0x08:	/* Abort: counted; like nvmet, nothing is aborted (DW0 bit 0) */
		lock(ft);
		ft->st.aborts++;
		ft->st.last_abort = cmd->cdw10;
		unlock(ft);
		return send_resp(c, cmd->cid, 0, 1, 0);
	case 0x0c:	/* Asynchronous Event Request: held */
		lock(ft);
		if (ft->aer_pending) {
			unlock(ft);
			return send_resp(c, cmd->cid, ST_AER_LIMIT, 0, 0);
		}
		ft->aer_pending = true;
		ft->aer_conn = c;
		ft->aer_cid = cmd->cid;
		ft->st.aers++;
		unlock(ft);
		return 0;
	default:
		return send_resp(c, cmd->cid, ST_INVALID_OPCODE, 0, 0);
	}
}

/* ----------------------------------------------------------------- NVM */

static int nvm(struct conn *c, const struct cmd *cmd, const struct pdu *p)
{
	struct ft *ft = c->ft;
	uint32_t nsid = cmd->nsid, lba = 0, nlb, len;
	uint64_t slba = cmd->cdw10 | (uint64_t)cmd->cdw11 << 32, nsze = 0;
	uint8_t *buf, ana;
	bool valid;
	int rc;

	lock(ft);
	valid = nsid >= 1 && nsid <= (uint32_t)ft->nr_ns;
	if (valid) {
		lba = ft->cfg.lba_size[nsid - 1];
		nsze = ft->cfg.nsze[nsid - 1];
	}
	if (cmd->opc == 0x00)
		ft->st.flushes++;
	ana = ft->ana_state;
	if (valid && ft->cfg.ana && ana != 1 && ana != 2 && (cmd->opc == 0x01 || cmd->opc == 0x02)) {
		ft->st.ana_refused++;
		unlock(ft);
		/* SCT 3: 301h persistent loss, 302h inaccessible, 303h transition. */
		return send_resp(c, cmd->cid, ana == 4 ? 0x301 : ana == 3 ? 0x302 : 0x303, 0, 0);
	}
	unlock(ft);
	if (cmd->opc == 0x00)
		return send_resp(c, cmd->cid, valid || nsid == 0xffffffffu ? 0 : ST_INVALID_NS, 0, 0);
	if (cmd->opc != 0x01 && cmd->opc != 0x02)
		return send_resp(c, cmd->cid, ST_INVALID_OPCODE, 0, 0);
	if (!valid)
		return send_resp(c, cmd->cid, ST_INVALID_NS, 0, 0);
	nlb = (cmd->cdw12 & 0xffff) + 1;
	len = nlb * lba;
	if (cmd->sgl_len != len) {
		violation(ft, "%s of %u bytes with SGL length %u",
			  cmd->opc == 1 ? "Write" : "Read", len, cmd->sgl_len);
		return send_resp(c, cmd->cid, ST_SGL_LENGTH, 0, 0);
	}
	if (slba + nlb > nsze)
		return send_resp(c, cmd->cid, ST_LBA_RANGE, 0, 0);
	buf = malloc(len);
	if (!buf)
		return -1;
	if (cmd->opc == 0x02) {
		lock(ft);
		memcpy(buf, ft->ns[nsid - 1] + slba * lba, len);
		ft->st.reads++;
		unlock(ft);
		rc = send_data(c, cmd->cid, buf, len);
	} else {
		rc = 0;
		if (p->dlen) {
			if (p->dlen != len)
				violation(ft, "Write of %u bytes with %u in-capsule", len, p->dlen);
			memcpy(buf, p->data, p->dlen < len ? p->dlen : len);
		} else {
			rc = get_h2c_data(c, cmd->cid, buf, len);
		}
		if (rc == 0) {
			lock(ft);
			memcpy(ft->ns[nsid - 1] + slba * lba, buf, len);
			ft->st.writes++;
			ft->st.icd_writes += p->dlen != 0;
			unlock(ft);
			rc = send_resp(c, cmd->cid, 0, 0, 0);
		}
	}
	free(buf);
	return rc;
}

/* ------------------------------------------------------------ commands */

/* A fault PDU answering @cid: C2HTermReq or a malformed CapsuleResp. */
static int send_fault(struct conn *c, enum ft_fault f, const struct pdu *p, uint16_t cid)
{
	uint8_t h[24 + 72] = { 0 };
	uint32_t hd = c->hdgst ? 4 : 0;

	if (f == FT_FAULT_TERMREQ) {
		h[0] = C2H_TERM;
		h[2] = 24;
		put32(h + 4, 24 + 72);
		put16(h + 8, 0x01);		/* FES: Invalid PDU Header Field */
		put32(h + 10, 0);
		memcpy(h + 24, p->hdr, 72);	/* the offending header */
		return send_raw(c, h, 24 + 72);
	}
	h[0] = CAPSULE_RESP;
	h[2] = 24;
	put32(h + 4, 24 + hd);
	put16(h + 18, c->qid);
	put16(h + 20, cid);
	if (f == FT_FAULT_BAD_TYPE)
		h[0] = 0x0f;
	else if (f == FT_FAULT_BAD_HLEN)
		h[2] = 32;
	else if (f == FT_FAULT_BAD_PLEN)
		put32(h + 4, 24 + hd + 4);
	else if (f == FT_FAULT_UNKNOWN_CID)
		put16(h + 20, cid ^ 0x8000);	/* same slot, another generation */
	if (hd) {
		h[1] = F_HDGST;
		put32(h + 24, crc32c(h, 24));
	}
	return send_raw(c, h, 24 + hd);
}

/* Take the armed fault if it applies to this command. */
static enum ft_fault take_fault(struct conn *c, const struct cmd *cmd)
{
	struct ft *ft = c->ft;
	enum ft_fault f = FT_FAULT_NONE;

	lock(ft);
	if (ft->fault && (ft->fault_qid < 0 || ft->fault_qid == c->qid)) {
		switch (ft->fault) {
		case FT_FAULT_DDGST:
			if (cmd->opc == 0x02 && c->qid) {
				c->corrupt_pdu = ft->fault_arg;
				ft->fault = FT_FAULT_NONE;
			}
			break;
		case FT_FAULT_HDGST:
			if (!c->hdgst)
				fprintf(stderr, "fake target: HDGST fault without header digests\n");
			pthread_mutex_lock(&c->wlock);
			c->bad_hdgst_next = true;
			pthread_mutex_unlock(&c->wlock);
			ft->fault = FT_FAULT_NONE;
			break;
		case FT_FAULT_CLOSE:
			if (ft->fault_arg) {
				ft->fault_arg--;
				break;
			}
			f = FT_FAULT_CLOSE;
			ft->fault = FT_FAULT_NONE;
			break;
		case FT_FAULT_HOLD_DATA:
			if (cmd->opc == 0x01 && c->qid) {
				c->hold_data = true;
				ft->released = false;
				ft->fault = FT_FAULT_NONE;
			}
			break;
		case FT_FAULT_NO_ANSWER:
			f = FT_FAULT_NO_ANSWER;
			if (ft->fault_arg && --ft->fault_arg == 0)
				ft->fault = FT_FAULT_NONE;
			break;
		default:
			f = ft->fault;
			ft->fault = FT_FAULT_NONE;
		}
	}
	unlock(ft);
	return f;
}

/* Serve one CapsuleCmd. Returns -1 when the connection is to be closed. */
static int handle_cmd(struct conn *c, const struct pdu *p)
{
	struct ft *ft = c->ft;
	struct cmd cmd = { .sqe = p->hdr + 8 };
	enum ft_fault f;

	cmd.opc = cmd.sqe[0];
	cmd.cid = get16(cmd.sqe + 2);
	cmd.nsid = get32(cmd.sqe + 4);
	cmd.sgl_addr = get64(cmd.sqe + 24);
	cmd.sgl_len = get32(cmd.sqe + 32);
	cmd.sgl_id = cmd.sqe[39];
	cmd.cdw10 = get32(cmd.sqe + 40);
	cmd.cdw11 = get32(cmd.sqe + 44);
	cmd.cdw12 = get32(cmd.sqe + 48);
	cmd.cdw13 = get32(cmd.sqe + 52);

	if ((cmd.sqe[1] & 0xc0) != 0x40)
		violation(ft, "opcode 0x%02x without PSDT 01b (flags 0x%02x)", cmd.opc, cmd.sqe[1]);
	if (cmd.cid == 0xffff)
		violation(ft, "CID 0xFFFF used");
	if (p->dlen && (cmd.sgl_id != 0x01 || cmd.sgl_len != p->dlen || cmd.sgl_addr))
		violation(ft, "in-capsule data of %u bytes with SGL id 0x%02x len %u",
			  p->dlen, cmd.sgl_id, cmd.sgl_len);
	if (!p->dlen && (cmd.sgl_id != 0x5a || cmd.sgl_addr))
		violation(ft, "opcode 0x%02x SGL id 0x%02x (want 0x5A)", cmd.opc, cmd.sgl_id);
	if (ft->cfg.mdts && ft->cfg.mdts < 20 && cmd.opc != 0x7f &&
	    cmd.sgl_len > (4096u << ft->cfg.mdts))
		violation(ft, "opcode 0x%02x moves %u bytes, MDTS allows %u", cmd.opc,
			  cmd.sgl_len, 4096u << ft->cfg.mdts);
	lock(ft);
	if (ft->aer_pending && ft->aer_conn == c && ft->aer_cid == cmd.cid)
		violation(ft, "CID 0x%x reused while its AER is outstanding", cmd.cid);
	unlock(ft);

	if (!c->connected) {
		if (cmd.opc != 0x7f || cmd.sqe[4] != 0x01) {
			violation(ft, "opcode 0x%02x before Connect", cmd.opc);
			return -1;
		}
		return do_connect(c, &cmd, p);
	}
	c->sqhd = (uint16_t)((c->sqhd + 1u) % (c->sqsize + 1u));
	if (c->dead)
		return 0;
	f = take_fault(c, &cmd);
	switch (f) {
	case FT_FAULT_CLOSE:
		shutdown(c->fd, SHUT_RDWR);
		return -1;
	case FT_FAULT_NO_ANSWER:
		return 0;
	case FT_FAULT_NONE:
		break;
	default:
		c->dead = true;		/* the host must give up on this connection */
		return send_fault(c, f, p, cmd.cid);
	}

	if (cmd.opc == 0x7f && cmd.sqe[4] == nvme_fabrics_type_auth_send)
		return auth_send(c, &cmd, p);
	if (cmd.opc == 0x7f && cmd.sqe[4] == nvme_fabrics_type_auth_receive)
		return auth_recv(c, &cmd);
	if (c->auth_needed) {
		violation(ft, "opcode 0x%02x before authentication on queue %u", cmd.opc, c->qid);
		return send_resp(c, cmd.cid, 0x191 | ST_DNR, 0, 0);
	}
	if (cmd.opc == 0x7f) {
		if (c->qid && cmd.sqe[4] != 0x01)
			violation(ft, "Property command on I/O queue %u", c->qid);
		switch (cmd.sqe[4]) {
		case 0x01: return do_connect(c, &cmd, p);
		case 0x04: return prop_get(c, &cmd);
		case 0x00: return prop_set(c, &cmd);
		default: return send_resp(c, cmd.cid, ST_INVALID_OPCODE, 0, 0);
		}
	}
	return c->qid == 0 ? admin(c, &cmd) : nvm(c, &cmd, p);
}

static int ic_exchange(struct conn *c)
{
	struct ft *ft = c->ft;
	uint8_t req[128], resp[128] = { ICRESP };

	if (read_full(c, req, sizeof(req)) < 0)
		return -1;
	if (req[0] != ICREQ || req[1] || req[2] != 128 || req[3] || get32(req + 4) != 128) {
		violation(ft, "bad ICReq header");
		return -1;
	}
	if (get16(req + 8) || req[10] > 31 || (req[11] & ~3u))
		violation(ft, "ICReq PFV %u HPDA %u DGST 0x%x", get16(req + 8), req[10], req[11]);
	if (ft->cfg.icreq_term) {	/* "digests unsupported": FES 0x06, FEI 11 (DGST) */
		uint8_t t[24 + 128] = { C2H_TERM, 0, 24 };

		put32(t + 4, sizeof(t));
		put16(t + 8, 0x06);
		put32(t + 10, 11);
		memcpy(t + 24, req, 128);
		send_raw(c, t, sizeof(t));
		return 0;	/* then read until the host closes */
	}
	c->hpda = (req[10] + 1u) * 4;
	c->hdgst = req[11] & 1;
	c->ddgst = req[11] & 2;
	resp[2] = 128;
	put32(resp + 4, 128);
	resp[10] = ft->cfg.cpda;
	if (ft->cfg.refuse_digests)
		c->hdgst = c->ddgst = false;
	resp[11] = (c->hdgst ? 1 : 0) | (c->ddgst ? 2 : 0);
	put32(resp + 12, ft->cfg.maxh2cdata);
	lock(ft);
	ft->st.hdgst = c->hdgst;
	ft->st.ddgst = c->ddgst;
	unlock(ft);
	return send_raw(c, resp, sizeof(resp));
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	struct ft *ft = c->ft;

	if (ft->cfg.greeting) {
		uint8_t junk[256];

		if (send_raw(c, "SSH-2.0-x\r\n", 11) == 0)
			while (recv(c->fd, junk, sizeof(junk), 0) > 0)
				;
	} else if (ft->cfg.silent) {
		uint8_t junk[256];

		while (recv(c->fd, junk, sizeof(junk), 0) > 0)
			;
	} else if (ic_exchange(c) < 0) {
		;	/* bad ICReq or connection gone */
	} else if (ft->cfg.icreq_term) {
		struct pdu *p;

		while ((p = read_pdu(c))) {
			if (p->type == H2C_TERM)
				got_h2c_term(c, p);
			free_pdu(p);
		}
	} else {
		for (;;) {
			struct pdu *p = next_pdu(c);
			int rc = 0;

			if (!p)
				break;
			if (p->type == H2C_TERM)
				got_h2c_term(c, p);
			else if (p->type == H2C_DATA && !c->dead)
				violation(ft, "H2CData without an R2T");
			else if (p->type == CAPSULE_CMD)
				rc = handle_cmd(c, p);
			free_pdu(p);
			if (rc < 0)
				break;
		}
	}
	lock(ft);
	if (ft->aer_conn == c) {
		ft->aer_conn = NULL;
		ft->aer_pending = false;
	}
	close(c->fd);
	c->fd = -1;
	unlock(ft);
	return NULL;
}

static void *accept_main(void *arg)
{
	struct ft *ft = arg;

	for (;;) {
		struct sockaddr_in peer = { 0 };
		socklen_t pl = sizeof(peer);
		int fd = accept(ft->lfd, (struct sockaddr *)&peer, &pl);
		struct conn *c, **more;
		char addr[INET_ADDRSTRLEN] = "";

		if (fd < 0 && errno == EINTR)
			continue;
		if (fd < 0)
			break;
		lock(ft);
		c = calloc(1, sizeof(*c));
		more = realloc(ft->conns, (size_t)(ft->nconns + 1) * sizeof(*more));
		if (ft->stopping || !c || !more) {
			if (more)
				ft->conns = more;
			unlock(ft);
			free(c);
			close(fd);
			break;
		}
		ft->conns = more;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
		c->ft = ft;
		c->fd = fd;
		c->hpda = 4;
		pthread_mutex_init(&c->wlock, NULL);
		if (pthread_create(&c->th, NULL, conn_main, c)) {
			close(fd);
			free(c);
		} else {
			ft->conns[ft->nconns++] = c;
			/* Where the host's connections come from (its -w). */
			inet_ntop(AF_INET, &peer.sin_addr, addr, sizeof(addr));
			if (ft->st.connections && strcmp(ft->st.peer, addr))
				ft->st.peer_mixed++;
			snprintf(ft->st.peer, sizeof(ft->st.peer), "%s", addr);
			ft->st.connections++;
		}
		unlock(ft);
	}
	return NULL;
}

/* ----------------------------------------------------------------- API */

struct ft *ft_start(const struct ft_config *cfg)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sin);
	pthread_mutexattr_t ma;
	struct ft *ft = calloc(1, sizeof(*ft));

	if (!ft)
		return NULL;
	ft->cfg = *cfg;
	ft->ana_state = cfg->ana_state ? cfg->ana_state : 1;
	ft->ana_chgcnt = 1;
	ft->next_cntlid = 0x21;
	ft->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ft->lfd >= 0 && cfg->small_rcvbuf) {
		int sz = 4096;	/* inherited by accepted sockets */

		setsockopt(ft->lfd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	if (ft->lfd < 0 || bind(ft->lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(ft->lfd, 16) < 0 || getsockname(ft->lfd, (struct sockaddr *)&sin, &sl) < 0)
		goto fail;
	snprintf(ft->port, sizeof(ft->port), "%u", ntohs(sin.sin_port));
	for (int i = 0; i < FT_MAX_NS; i++) {
		size_t bytes = (size_t)cfg->nsze[i] * cfg->lba_size[i];

		ft->ns[i] = malloc(bytes ? bytes : 1);
		if (!ft->ns[i])
			goto fail;
		ft_pattern((uint32_t)i + 1, 0, ft->ns[i], bytes);
	}
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&ft->lock, &ma);
	pthread_mutexattr_destroy(&ma);
	if (pthread_create(&ft->accept_th, NULL, accept_main, ft)) {
		pthread_mutex_destroy(&ft->lock);
		goto fail;
	}
	return ft;
fail:
	if (ft->lfd >= 0)
		close(ft->lfd);
	for (int i = 0; i < FT_MAX_NS; i++)
		free(ft->ns[i]);
	free(ft);
	return NULL;
}

void ft_stop(struct ft *ft)
{
	if (!ft)
		return;
	lock(ft);
	ft->stopping = true;
	shutdown(ft->lfd, SHUT_RDWR);
	for (int i = 0; i < ft->nconns; i++)
		if (ft->conns[i]->fd >= 0)
			shutdown(ft->conns[i]->fd, SHUT_RDWR);
	unlock(ft);
	pthread_join(ft->accept_th, NULL);
	for (int i = 0; i < ft->nconns; i++) {
		struct conn *c = ft->conns[i];

		pthread_join(c->th, NULL);
		while (c->backlog)
			free_pdu(next_pdu(c));
		nvmf_auth_dh_free(c->auth_dh);
		pthread_mutex_destroy(&c->wlock);
		free(c);
	}
	close(ft->lfd);
	for (int i = 0; i < FT_MAX_NS; i++)
		free(ft->ns[i]);
	pthread_mutex_destroy(&ft->lock);
	free(ft->conns);
	free(ft);
}

const char *ft_port(const struct ft *ft)
{
	return ft->port;
}

void ft_arm(struct ft *ft, int qid, enum ft_fault kind, uint32_t arg)
{
	lock(ft);
	ft->fault = kind;
	ft->fault_qid = qid;
	ft->fault_arg = arg;
	unlock(ft);
}

void ft_get_stats(struct ft *ft, struct ft_stats *out)
{
	lock(ft);
	*out = ft->st;
	unlock(ft);
}

void ft_release(struct ft *ft)
{
	lock(ft);
	ft->released = true;
	unlock(ft);
}

void ft_read_ns(struct ft *ft, uint32_t nsid, uint64_t off, void *buf, size_t len)
{
	if (nsid < 1 || nsid > FT_MAX_NS)
		return;
	lock(ft);
	if (ft->ns[nsid - 1] && off + len <= ft->cfg.nsze[nsid - 1] * ft->cfg.lba_size[nsid - 1])
		memcpy(buf, ft->ns[nsid - 1] + off, len);
	unlock(ft);
}

void ft_change_ns(struct ft *ft, uint32_t nsid, uint64_t nsze)
{
	if (nsid < 1 || nsid > FT_MAX_NS)
		return;
	lock(ft);
	ft->ns_gen[nsid - 1]++;
	if (nsze && nsze <= ft->cfg.nsze[nsid - 1])
		ft->cfg.nsze[nsid - 1] = nsze;	/* the backing memory stays big enough */
	unlock(ft);
}

bool ft_fire_ns_changed(struct ft *ft, int nr_ns)
{
	bool sent = false;

	lock(ft);
	for (int i = 1; i <= FT_MAX_NS; i++) {
		bool was = i <= ft->nr_ns, is = i <= nr_ns;

		if (was != is && ft->nchanged < FT_MAX_NS)
			ft->changed[ft->nchanged++] = (uint32_t)i;
	}
	ft->nr_ns = nr_ns;
	if (ft->aer_pending && ft->aer_conn && ft->aer_conn->fd >= 0) {
		ft->aer_pending = false;
		/* Notice (2), Namespace Attribute Changed (0), log page 0x04. */
		sent = send_resp(ft->aer_conn, ft->aer_cid, 0, 2 | 0x04 << 16, 0) == 0;
	}
	unlock(ft);
	return sent;
}

bool ft_set_ana(struct ft *ft, uint8_t state)
{
	bool sent = false;

	lock(ft);
	ft->ana_state = state;
	ft->ana_chgcnt++;
	if (ft->aer_pending && ft->aer_conn && ft->aer_conn->fd >= 0) {
		ft->aer_pending = false;
		/* Notice (2), ANA change (03h), log page 0x0C. */
		sent = send_resp(ft->aer_conn, ft->aer_cid, 0, 2 | 0x03 << 8 | 0x0c << 16, 0) == 0;
	}
	unlock(ft);
	return sent;
}
