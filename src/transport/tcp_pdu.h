/* SPDX-License-Identifier: MIT */
/*
 * NVMe/TCP PDU codec (NVMe/TCP Transport Specification 1.0, section 3.6):
 * builds the PDUs a host sends and validates the PDUs it receives. Pure
 * functions over byte buffers: no I/O, no allocation, no global state, so
 * everything here is table-tested and fuzzed (tests/unit/test_tcp_pdu.c,
 * tests/fuzz/fuzz_tcp_pdu.c).
 *
 * Validation follows the spec's rule that the lowest incorrect field is
 * reported first; an error fills struct tcp_pdu_err with the Fatal Error
 * Status and Information an H2CTermReq would carry, and a message.
 *
 * Thread context: any thread.
 */
#ifndef NVMF_TCP_PDU_H
#define NVMF_TCP_PDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/nvmf_spec.h"

enum tcp_pdu_type {
	TCP_PDU_ICREQ = 0x00,
	TCP_PDU_ICRESP = 0x01,
	TCP_PDU_H2C_TERM = 0x02,
	TCP_PDU_C2H_TERM = 0x03,
	TCP_PDU_CAPSULE_CMD = 0x04,
	TCP_PDU_CAPSULE_RESP = 0x05,
	TCP_PDU_H2C_DATA = 0x06,
	TCP_PDU_C2H_DATA = 0x07,
	TCP_PDU_R2T = 0x09,
};

#define TCP_F_HDGST	0x01
#define TCP_F_DDGST	0x02
#define TCP_F_LAST	0x04
#define TCP_F_SUCCESS	0x08

#define TCP_CH_LEN		8
#define TCP_IC_LEN		128
#define TCP_CAPSULE_HLEN	72	/* CH + SQE */
#define TCP_C2H_HLEN		24	/* every C2H PDU after ICResp */
#define TCP_DIGEST_LEN		4
#define TCP_TERM_HLEN		24
#define TCP_TERM_MAX_PLEN	152
#define TCP_MIN_MAXH2CDATA	4096
/*
 * Largest header a host builds: CapsuleCmd + HDGST (76 B) padded up to PDO,
 * a multiple of (CPDA + 1) * 4. The worst case is not CPDA 31 (128) but
 * CPDA 17: roundup(76, 72) = 144.
 */
#define TCP_TX_HDR_MAX		144

/* Fatal Error Status values (NVMe/TCP 3.6.2.9, Figure 25). */
enum tcp_fes {
	TCP_FES_INVALID_HEADER = 0x01,
	TCP_FES_SEQUENCE = 0x02,
	TCP_FES_HDGST = 0x03,
	TCP_FES_OUT_OF_RANGE = 0x04,
	TCP_FES_LIMIT_EXCEEDED = 0x05,
	TCP_FES_UNSUPPORTED = 0x06,
};

/* What the connection negotiated, as the codec needs it. */
struct tcp_pdu_cfg {
	bool hdgst;		/* header digests on every digest-capable PDU */
	bool ddgst;		/* data digests on every PDU that carries data */
	uint32_t rxpda;		/* C2H data alignment in bytes: (HPDA + 1) * 4 */
	uint32_t txpda;		/* H2C data alignment in bytes: (CPDA + 1) * 4 */
};

struct tcp_pdu_err {
	uint16_t fes;
	uint32_t fei;
	char msg[128];
};

struct tcp_icresp {
	uint8_t cpda;		/* 0's based dwords */
	bool hdgst;		/* enabled by the controller */
	bool ddgst;
	uint32_t maxh2cdata;
};

/* A validated C2H PDU header. */
struct tcp_c2h {
	uint8_t type;
	uint8_t flags;
	uint8_t hlen;
	uint8_t pdo;
	uint32_t plen;
	uint32_t hdr_len;	/* bytes of header on the wire: HLEN (+ HDGST) */
	uint32_t pad;		/* zero bytes between the header and DATA */
	uint32_t data_len;	/* DATA bytes, digest excluded */
	bool ddgst;		/* DATA is followed by a DDGST */
	/* C2HData and R2T */
	uint16_t cccid;
	uint16_t ttag;		/* opaque, kept in wire byte order */
	uint32_t datao;		/* C2HData DATAO, or R2T R2TO */
	uint32_t datal;		/* C2HData DATAL, or R2T R2TL */
	/* CapsuleResp */
	struct nvmf_cqe cqe;
	/* C2HTermReq */
	uint16_t fes;
	uint32_t fei;
	uint32_t term_extra;	/* bytes after the 24-byte header to discard */
};

const char *tcp_pdu_type_str(uint8_t type);
const char *tcp_fes_str(uint16_t fes);

/* Fill a 128-byte ICReq (3.6.2.2). hpda is 0's based dwords (0..31). */
void tcp_icreq_build(uint8_t out[TCP_IC_LEN], uint8_t hpda, bool hdgst, bool ddgst);

/*
 * Check a received ICResp against what the host asked for. The controller
 * may enable fewer digests than requested, never more. Returns 0 and fills
 * @out, or -EPROTO with @err set.
 */
int tcp_icresp_parse(const uint8_t in[TCP_IC_LEN], bool want_hdgst, bool want_ddgst,
		     struct tcp_icresp *out, struct tcp_pdu_err *err);

/*
 * How many header bytes (HLEN plus HDGST) to read for the C2H PDU whose
 * 8-byte common header is @ch: 24 (+4) for data, response and R2T PDUs, 24
 * for C2HTermReq (never digested). Returns the count or -EPROTO for a type
 * a host must not receive.
 */
int tcp_c2h_hdr_len(const uint8_t ch[TCP_CH_LEN], const struct tcp_pdu_cfg *cfg,
		    struct tcp_pdu_err *err);

/*
 * Validate a complete C2H header of @len bytes (as tcp_c2h_hdr_len() said)
 * and decode it into @out. Checks type, flags, digest flags against the
 * negotiation, HLEN, PDO, PLEN and the header digest, in that order.
 * Returns 0, -EPROTO (malformed; @err holds FES/FEI) or -EBADMSG (header
 * digest mismatch; @err has FES 3).
 */
int tcp_c2h_parse(const uint8_t *hdr, size_t len, const struct tcp_pdu_cfg *cfg,
		  struct tcp_c2h *out, struct tcp_pdu_err *err);

/*
 * Per-command checks that need the command's state (3.6.2.8, 3.6.2.7):
 * a C2HData must continue exactly where the data so far ended (@expected),
 * stay within the command's @buf_len, and carry LAST_PDU exactly when it
 * completes the buffer. An R2T must ask for the next unsent bytes
 * (@sent) within @buf_len. Return 0 or -EPROTO with @err.
 */
int tcp_c2h_data_check(const struct tcp_c2h *pdu, uint32_t expected, uint32_t buf_len,
		       struct tcp_pdu_err *err);
int tcp_r2t_check(const struct tcp_c2h *pdu, uint32_t sent, uint32_t buf_len,
		  struct tcp_pdu_err *err);

/*
 * Build a CapsuleCmd header into @buf (TCP_TX_HDR_MAX bytes): CH, SQE, HDGST
 * and zero padding up to PDO when @icd_len bytes of in-capsule data follow.
 * Returns the header bytes to send; the caller sends the data next and, when
 * cfg->ddgst and @icd_len, the 4-byte DDGST of it. *plen gets PLEN.
 */
size_t tcp_capsule_build(uint8_t *buf, const struct nvmf_sqe *sqe, uint32_t icd_len,
			 const struct tcp_pdu_cfg *cfg, uint32_t *plen);

/*
 * Build an H2CData header (3.6.2.8) into @buf (TCP_TX_HDR_MAX bytes) for
 * @datal bytes at @datao. Returns the header bytes to send (HLEN, HDGST,
 * pad); the caller sends the data and, with cfg->ddgst, its DDGST.
 */
size_t tcp_h2c_build(uint8_t *buf, uint16_t cccid, uint16_t ttag, uint32_t datao,
		     uint32_t datal, bool last, const struct tcp_pdu_cfg *cfg);

/*
 * Build an H2CTermReq (3.6.2.4) into @buf (TCP_TERM_MAX_PLEN bytes) carrying
 * up to 128 bytes of the offending header. Returns its length (PLEN).
 */
size_t tcp_term_build(uint8_t *buf, uint16_t fes, uint32_t fei,
		      const uint8_t *bad_hdr, size_t bad_len);

#endif
