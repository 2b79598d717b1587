/* SPDX-License-Identifier: MIT */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "transport/crc32c.h"
#include "transport/tcp_pdu.h"

/* Offsets within the common header and the PDU-specific headers. */
#define CH_TYPE		0
#define CH_FLAGS	1
#define CH_HLEN		2
#define CH_PDO		3
#define CH_PLEN		4
#define IC_PFV		8
#define IC_PDA		10
#define IC_DGST		11
#define IC_MAXR2T	12	/* ICReq */
#define IC_MAXH2CDATA	12	/* ICResp */
#define D_CCCID		8
#define D_TTAG		10
#define D_DATAO		12
#define D_DATAL		16
#define TERM_FES	8
#define TERM_FEI	10

static inline uint16_t get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return le16toh(v);
}

static inline uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

static inline void put16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, 2);
}

static inline void put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

__attribute__((format(printf, 4, 5)))
static int fail(struct tcp_pdu_err *err, uint16_t fes, uint32_t fei, const char *fmt, ...)
{
	va_list ap;

	err->fes = fes;
	err->fei = fei;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return fes == TCP_FES_HDGST ? -EBADMSG : -EPROTO;
}

const char *tcp_pdu_type_str(uint8_t type)
{
	switch (type) {
	case TCP_PDU_ICREQ: return "ICReq";
	case TCP_PDU_ICRESP: return "ICResp";
	case TCP_PDU_H2C_TERM: return "H2CTermReq";
	case TCP_PDU_C2H_TERM: return "C2HTermReq";
	case TCP_PDU_CAPSULE_CMD: return "CapsuleCmd";
	case TCP_PDU_CAPSULE_RESP: return "CapsuleResp";
	case TCP_PDU_H2C_DATA: return "H2CData";
	case TCP_PDU_C2H_DATA: return "C2HData";
	case TCP_PDU_R2T: return "R2T";
	default: return "unknown PDU";
	}
}

const char *tcp_fes_str(uint16_t fes)
{
	switch (fes) {
	case TCP_FES_INVALID_HEADER: return "Invalid PDU Header Field";
	case TCP_FES_SEQUENCE: return "PDU Sequence Error";
	case TCP_FES_HDGST: return "Header Digest Error";
	case TCP_FES_OUT_OF_RANGE: return "Data Transfer Out of Range";
	case TCP_FES_LIMIT_EXCEEDED: return "Data Transfer Limit Exceeded";
	case TCP_FES_UNSUPPORTED: return "Unsupported Parameter";
	default: return "unknown fatal error";
	}
}

void tcp_icreq_build(uint8_t out[TCP_IC_LEN], uint8_t hpda, bool hdgst, bool ddgst)
{
	memset(out, 0, TCP_IC_LEN);
	out[CH_TYPE] = TCP_PDU_ICREQ;
	out[CH_HLEN] = TCP_IC_LEN;
	put32(out + CH_PLEN, TCP_IC_LEN);
	put16(out + IC_PFV, 0);
	out[IC_PDA] = hpda;
	out[IC_DGST] = (hdgst ? 1 : 0) | (ddgst ? 2 : 0);
	put32(out + IC_MAXR2T, 0);	/* 0's based: one outstanding R2T per command */
}

int tcp_icresp_parse(const uint8_t in[TCP_IC_LEN], bool want_hdgst, bool want_ddgst,
		     struct tcp_icresp *out, struct tcp_pdu_err *err)
{
	uint8_t dgst = in[IC_DGST];
	uint32_t maxdata = get32(in + IC_MAXH2CDATA);

	if (in[CH_TYPE] != TCP_PDU_ICRESP)
		return fail(err, TCP_FES_INVALID_HEADER, CH_TYPE,
			    "expected ICResp, got %s (type 0x%02x)",
			    tcp_pdu_type_str(in[CH_TYPE]), in[CH_TYPE]);
	if (in[CH_FLAGS])
		return fail(err, TCP_FES_INVALID_HEADER, CH_FLAGS,
			    "ICResp flags 0x%02x must be 0", in[CH_FLAGS]);
	if (in[CH_HLEN] != TCP_IC_LEN)
		return fail(err, TCP_FES_INVALID_HEADER, CH_HLEN,
			    "ICResp HLEN %u, expected 128", in[CH_HLEN]);
	if (in[CH_PDO])
		return fail(err, TCP_FES_INVALID_HEADER, CH_PDO,
			    "ICResp PDO %u must be 0", in[CH_PDO]);
	if (get32(in + CH_PLEN) != TCP_IC_LEN)
		return fail(err, TCP_FES_INVALID_HEADER, CH_PLEN,
			    "ICResp PLEN %u, expected 128", get32(in + CH_PLEN));
	if (get16(in + IC_PFV) != 0)
		return fail(err, TCP_FES_UNSUPPORTED, IC_PFV,
			    "unsupported PDU format version %u", get16(in + IC_PFV));
	if (in[IC_PDA] > 31)
		return fail(err, TCP_FES_INVALID_HEADER, IC_PDA,
			    "ICResp CPDA %u out of range", in[IC_PDA]);
	if ((dgst & ~3u) || ((dgst & 1) && !want_hdgst) || ((dgst & 2) && !want_ddgst))
		return fail(err, TCP_FES_UNSUPPORTED, IC_DGST,
			    "controller enabled digests 0x%02x the host did not ask for", dgst);
	if (maxdata < TCP_MIN_MAXH2CDATA || (maxdata & 3))
		return fail(err, TCP_FES_INVALID_HEADER, IC_MAXH2CDATA,
			    "invalid MAXH2CDATA %u", maxdata);
	out->cpda = in[IC_PDA];
	out->hdgst = dgst & 1;
	out->ddgst = dgst & 2;
	out->maxh2cdata = maxdata;
	return 0;
}

int tcp_c2h_hdr_len(const uint8_t ch[TCP_CH_LEN], const struct tcp_pdu_cfg *cfg,
		    struct tcp_pdu_err *err)
{
	switch (ch[CH_TYPE]) {
	case TCP_PDU_C2H_TERM:
		return TCP_TERM_HLEN;
	case TCP_PDU_CAPSULE_RESP:
	case TCP_PDU_C2H_DATA:
	case TCP_PDU_R2T:
		return TCP_C2H_HLEN + (cfg->hdgst ? TCP_DIGEST_LEN : 0);
	case TCP_PDU_ICRESP:
		return fail(err, TCP_FES_SEQUENCE, 0, "unexpected second ICResp");
	default:
		return fail(err, TCP_FES_INVALID_HEADER, CH_TYPE,
			    "%s (type 0x%02x) is not valid from a controller",
			    tcp_pdu_type_str(ch[CH_TYPE]), ch[CH_TYPE]);
	}
}

static int parse_term(const uint8_t *hdr, struct tcp_c2h *out, struct tcp_pdu_err *err)
{
	if (out->flags)
		return fail(err, TCP_FES_INVALID_HEADER, CH_FLAGS,
			    "C2HTermReq flags 0x%02x must be 0", out->flags);
	if (out->hlen != TCP_TERM_HLEN)
		return fail(err, TCP_FES_INVALID_HEADER, CH_HLEN,
			    "C2HTermReq HLEN %u, expected 24", out->hlen);
	if (out->pdo)
		return fail(err, TCP_FES_INVALID_HEADER, CH_PDO,
			    "C2HTermReq PDO %u must be 0", out->pdo);
	if (out->plen < TCP_TERM_HLEN || out->plen > TCP_TERM_MAX_PLEN)
		return fail(err, TCP_FES_INVALID_HEADER, CH_PLEN,
			    "malformed C2HTermReq PLEN %u", out->plen);
	out->hdr_len = TCP_TERM_HLEN;
	out->fes = get16(hdr + TERM_FES);
	out->fei = get32(hdr + TERM_FEI);
	out->term_extra = out->plen - TCP_TERM_HLEN;
	return 0;
}

int tcp_c2h_parse(const uint8_t *hdr, size_t len, const struct tcp_pdu_cfg *cfg,
		  struct tcp_c2h *out, struct tcp_pdu_err *err)
{
	uint32_t hd = cfg->hdgst ? TCP_DIGEST_LEN : 0;
	uint8_t allowed;
	int need;

	memset(out, 0, sizeof(*out));
	if (len < TCP_CH_LEN)
		return fail(err, TCP_FES_INVALID_HEADER, 0, "truncated PDU header");
	need = tcp_c2h_hdr_len(hdr, cfg, err);
	if (need < 0)
		return need;
	if (len < (size_t)need)
		return fail(err, TCP_FES_INVALID_HEADER, 0, "truncated PDU header");

	out->type = hdr[CH_TYPE];
	out->flags = hdr[CH_FLAGS];
	out->hlen = hdr[CH_HLEN];
	out->pdo = hdr[CH_PDO];
	out->plen = get32(hdr + CH_PLEN);
	if (out->type == TCP_PDU_C2H_TERM)
		return parse_term(hdr, out, err);

	/* Flags: only the bits defined for this type, digest flags as negotiated. */
	allowed = TCP_F_HDGST;
	if (out->type == TCP_PDU_C2H_DATA)
		allowed |= TCP_F_DDGST | TCP_F_LAST | TCP_F_SUCCESS;
	if (out->flags & ~allowed)
		return fail(err, TCP_FES_INVALID_HEADER, CH_FLAGS,
			    "%s flags 0x%02x invalid", tcp_pdu_type_str(out->type), out->flags);
	if (!!(out->flags & TCP_F_HDGST) != cfg->hdgst)
		return fail(err, TCP_FES_INVALID_HEADER, CH_FLAGS,
			    "%s HDGSTF does not match the negotiated header digest",
			    tcp_pdu_type_str(out->type));
	if (out->type == TCP_PDU_C2H_DATA) {
		if ((out->flags & TCP_F_DDGST) && !cfg->ddgst)
			return fail(err, TCP_FES_INVALID_HEADER, CH_FLAGS,
				    "C2HData DDGSTF set but data digest not negotiated");
		if (cfg->ddgst && !(out->flags & TCP_F_DDGST))
			return fail(err, TCP_FES_INVALID_HEADER, CH_FLAGS,
				    "C2HData without DDGSTF while data digest is on");
		if ((out->flags & TCP_F_SUCCESS) && !(out->flags & TCP_F_LAST))
			return fail(err, TCP_FES_INVALID_HEADER, CH_FLAGS,
				    "C2HData SUCCESS without LAST_PDU");
	}
	if (out->hlen != TCP_C2H_HLEN)
		return fail(err, TCP_FES_INVALID_HEADER, CH_HLEN,
			    "%s HLEN %u, expected 24", tcp_pdu_type_str(out->type), out->hlen);
	out->hdr_len = TCP_C2H_HLEN + hd;

	if (out->type != TCP_PDU_C2H_DATA) {
		if (out->pdo)
			return fail(err, TCP_FES_INVALID_HEADER, CH_PDO,
				    "%s PDO %u must be 0", tcp_pdu_type_str(out->type), out->pdo);
		if (out->plen != out->hdr_len)
			return fail(err, TCP_FES_INVALID_HEADER, CH_PLEN,
				    "%s PLEN %u, expected %u", tcp_pdu_type_str(out->type),
				    out->plen, out->hdr_len);
	} else {
		uint32_t dd = (out->flags & TCP_F_DDGST) ? TCP_DIGEST_LEN : 0;

		if (out->pdo < out->hdr_len || out->pdo > out->plen ||
		    (cfg->rxpda && out->pdo % cfg->rxpda))
			return fail(err, TCP_FES_INVALID_HEADER, CH_PDO,
				    "C2HData PDO %u invalid", out->pdo);
		if (out->plen < (uint32_t)out->pdo + dd)
			return fail(err, TCP_FES_INVALID_HEADER, CH_PLEN,
				    "C2HData PLEN %u shorter than its header", out->plen);
		out->pad = out->pdo - out->hdr_len;
		out->data_len = out->plen - out->pdo - dd;
		out->ddgst = dd != 0;
	}

	if (cfg->hdgst) {
		uint32_t want = crc32c(hdr, TCP_C2H_HLEN);

		if (get32(hdr + TCP_C2H_HLEN) != want)
			return fail(err, TCP_FES_HDGST, 0,
				    "%s header digest mismatch (got 0x%08x, computed 0x%08x)",
				    tcp_pdu_type_str(out->type), get32(hdr + TCP_C2H_HLEN), want);
	}

	switch (out->type) {
	case TCP_PDU_CAPSULE_RESP:
		memcpy(&out->cqe, hdr + TCP_CH_LEN, sizeof(out->cqe));
		break;
	case TCP_PDU_C2H_DATA:
		out->cccid = get16(hdr + D_CCCID);
		out->datao = get32(hdr + D_DATAO);
		out->datal = get32(hdr + D_DATAL);
		if (out->datal == 0)
			return fail(err, TCP_FES_INVALID_HEADER, D_DATAL, "C2HData DATAL is 0");
		if (out->datal != out->data_len)
			return fail(err, TCP_FES_INVALID_HEADER, D_DATAL,
				    "C2HData DATAL %u but PDU carries %u bytes",
				    out->datal, out->data_len);
		break;
	case TCP_PDU_R2T:
		out->cccid = get16(hdr + D_CCCID);
		memcpy(&out->ttag, hdr + D_TTAG, 2);
		out->datao = get32(hdr + D_DATAO);
		out->datal = get32(hdr + D_DATAL);
		if (out->datal == 0)
			return fail(err, TCP_FES_INVALID_HEADER, D_DATAL, "R2T R2TL is 0");
		break;
	}
	return 0;
}

int tcp_c2h_data_check(const struct tcp_c2h *pdu, uint32_t expected, uint32_t buf_len,
		       struct tcp_pdu_err *err)
{
	uint64_t end = (uint64_t)pdu->datao + pdu->datal;

	if (end > buf_len)
		return fail(err, TCP_FES_OUT_OF_RANGE, 0,
			    "C2HData for cid %u ends at %llu beyond the %u-byte buffer",
			    pdu->cccid, (unsigned long long)end, buf_len);
	if (pdu->datao != expected)
		return fail(err, TCP_FES_SEQUENCE, 0,
			    "C2HData for cid %u at offset %u, expected %u",
			    pdu->cccid, pdu->datao, expected);
	if (!!(pdu->flags & TCP_F_LAST) != (end == buf_len))
		return fail(err, TCP_FES_SEQUENCE, 0,
			    "C2HData for cid %u: LAST_PDU %s at %llu of %u bytes",
			    pdu->cccid, (pdu->flags & TCP_F_LAST) ? "set" : "missing",
			    (unsigned long long)end, buf_len);
	return 0;
}

int tcp_r2t_check(const struct tcp_c2h *pdu, uint32_t sent, uint32_t buf_len,
		  struct tcp_pdu_err *err)
{
	uint64_t end = (uint64_t)pdu->datao + pdu->datal;

	if (end > buf_len)
		return fail(err, TCP_FES_OUT_OF_RANGE, 0,
			    "R2T for cid %u asks for bytes up to %llu of %u",
			    pdu->cccid, (unsigned long long)end, buf_len);
	if (pdu->datao != sent)
		return fail(err, TCP_FES_SEQUENCE, 0,
			    "R2T for cid %u at offset %u, expected %u",
			    pdu->cccid, pdu->datao, sent);
	return 0;
}

static size_t finish_header(uint8_t *buf, uint8_t hlen, uint32_t datal,
			    const struct tcp_pdu_cfg *cfg, uint32_t *plen)
{
	uint32_t len = hlen;
	uint32_t pdo = 0;

	if (cfg->hdgst) {
		buf[CH_FLAGS] |= TCP_F_HDGST;
		len += TCP_DIGEST_LEN;
	}
	if (datal) {
		uint32_t a = cfg->txpda ? cfg->txpda : 4;

		pdo = (len + a - 1) / a * a;
		memset(buf + len, 0, pdo - len);
		if (cfg->ddgst)
			buf[CH_FLAGS] |= TCP_F_DDGST;
	}
	buf[CH_HLEN] = hlen;
	buf[CH_PDO] = (uint8_t)pdo;
	*plen = (datal ? pdo : len) + datal + (datal && cfg->ddgst ? TCP_DIGEST_LEN : 0);
	put32(buf + CH_PLEN, *plen);
	/* The digest covers the header with its final flags and lengths. */
	if (cfg->hdgst)
		put32(buf + hlen, crc32c(buf, hlen));
	return datal ? pdo : len;
}

size_t tcp_capsule_build(uint8_t *buf, const struct nvmf_sqe *sqe, uint32_t icd_len,
			 const struct tcp_pdu_cfg *cfg, uint32_t *plen)
{
	memset(buf, 0, TCP_CAPSULE_HLEN);
	buf[CH_TYPE] = TCP_PDU_CAPSULE_CMD;
	memcpy(buf + TCP_CH_LEN, sqe, sizeof(*sqe));
	return finish_header(buf, TCP_CAPSULE_HLEN, icd_len, cfg, plen);
}

size_t tcp_h2c_build(uint8_t *buf, uint16_t cccid, uint16_t ttag, uint32_t datao,
		     uint32_t datal, bool last, const struct tcp_pdu_cfg *cfg)
{
	uint32_t plen;

	memset(buf, 0, TCP_C2H_HLEN);
	buf[CH_TYPE] = TCP_PDU_H2C_DATA;
	buf[CH_FLAGS] = last ? TCP_F_LAST : 0;
	put16(buf + D_CCCID, cccid);
	memcpy(buf + D_TTAG, &ttag, 2);
	put32(buf + D_DATAO, datao);
	put32(buf + D_DATAL, datal);
	return finish_header(buf, TCP_C2H_HLEN, datal, cfg, &plen);
}

size_t tcp_term_build(uint8_t *buf, uint16_t fes, uint32_t fei,
		      const uint8_t *bad_hdr, size_t bad_len)
{
	size_t max_copy = TCP_TERM_MAX_PLEN - TCP_TERM_HLEN;
	size_t n = bad_len < max_copy ? bad_len : max_copy;

	memset(buf, 0, TCP_TERM_HLEN);
	buf[CH_TYPE] = TCP_PDU_H2C_TERM;
	buf[CH_HLEN] = TCP_TERM_HLEN;
	put32(buf + CH_PLEN, (uint32_t)(TCP_TERM_HLEN + n));
	put16(buf + TERM_FES, fes);
	put32(buf + TERM_FEI, fei);
	if (n)
		memcpy(buf + TCP_TERM_HLEN, bad_hdr, n);
	return TCP_TERM_HLEN + n;
}
