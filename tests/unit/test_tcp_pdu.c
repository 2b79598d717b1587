/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/transport/tcp_pdu.c, the NVMe/TCP PDU codec.
 *
 * Every PDU a test feeds to a parser is assembled here byte by byte (w16,
 * w32, mk_c2h) and every PDU a builder makes is compared with bytes written
 * out literally or computed from the wire rules, never with another codec
 * call. Header digests are computed with crc32c(), which test_crc32c checks
 * against published vectors.
 *
 * References: NVMe/TCP Transport Specification 1.0 section 3.6 and
 * /work/shared/notes/research/protocol.md section 1 (field offsets, PDO
 * rules, the validation order and the worked CapsuleCmd examples).
 */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport/crc32c.h"
#include "transport/tcp_pdu.h"

/* Field offsets (FEI values for FES 0x01 / 0x06), from protocol.md 1.2-1.5. */
#define FEI_TYPE	0
#define FEI_FLAGS	1
#define FEI_HLEN	2
#define FEI_PDO		3
#define FEI_PLEN	4
#define FEI_PFV		8
#define FEI_CPDA	10
#define FEI_DGST	11
#define FEI_MAXH2C	12
#define FEI_DATAL	16

#define F_H	0x01	/* HDGSTF */
#define F_D	0x02	/* DDGSTF */
#define F_L	0x04	/* LAST_PDU */
#define F_S	0x08	/* SUCCESS */

#define T_ICRESP	0x01
#define T_C2HTERM	0x03
#define T_RESP		0x05
#define T_C2HDATA	0x07
#define T_R2T		0x09

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- byte helpers (independent of the code under test) ---------------- */

static void w16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void w32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t r32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_hdgst(uint8_t *hdr, size_t hlen)
{
	w32(hdr + hlen, crc32c(hdr, hlen));
}

static void fill(uint8_t *p, size_t n, uint8_t v)
{
	memset(p, v, n);
}

static bool all_eq(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

static void hexdump_diff(const char *what, const uint8_t *got, const uint8_t *want, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (got[i] != want[i]) {
			ck_abort_msg("%s: byte %zu is 0x%02x, expected 0x%02x", what, i, got[i], want[i]);
			return;
		}
}

static struct tcp_pdu_cfg mkcfg(bool hd, bool dd, uint32_t rxpda, uint32_t txpda)
{
	struct tcp_pdu_cfg c;

	memset(&c, 0, sizeof(c));
	c.hdgst = hd;
	c.ddgst = dd;
	c.rxpda = rxpda;
	c.txpda = txpda;
	return c;
}

static const uint8_t TTAG_BYTES[2] = { 0x5A, 0xA5 };
#define CCCID 0xBEEF

/*
 * Write a 24-byte C2H header (CH + PSH) into @b: CapsuleResp gets a CQE
 * pattern 0x10..0x1f, C2HData/R2T get CCCID/TTAG/DATAO/DATAL, C2HTermReq
 * gets FES (low 16 bits of @a) and FEI (@b2). Other types get zeros.
 */
static void mk_c2h(uint8_t *b, uint8_t type, uint8_t flags, uint8_t hlen, uint8_t pdo,
		   uint32_t plen, uint32_t a, uint32_t b2)
{
	memset(b, 0, 24);
	b[0] = type;
	b[1] = flags;
	b[2] = hlen;
	b[3] = pdo;
	w32(b + 4, plen);
	switch (type) {
	case T_RESP:
		for (int i = 8; i < 24; i++)
			b[i] = (uint8_t)(0x10 + i - 8);
		break;
	case T_C2HDATA:
	case T_R2T:
		w16(b + 8, CCCID);
		if (type == T_R2T)
			memcpy(b + 10, TTAG_BYTES, 2);
		w32(b + 12, a);
		w32(b + 16, b2);
		break;
	case T_C2HTERM:
		w16(b + 8, (uint16_t)a);
		w32(b + 10, b2);
		break;
	}
}

/* ---- ICReq -------------------------------------------------------------- */

struct icreq_case {
	uint8_t hpda;
	bool hd, dd;
	uint8_t dgst_byte;
};

static const struct icreq_case icreq_cases[] = {
	{ 0, false, false, 0x00 },
	{ 0, true, false, 0x01 },
	{ 0, false, true, 0x02 },
	{ 0, true, true, 0x03 },
	{ 31, true, true, 0x03 },
	{ 7, false, true, 0x02 },
};

START_TEST(test_icreq_bytes)
{
	const struct icreq_case *c = &icreq_cases[_i];
	uint8_t out[TCP_IC_LEN + 16], want[TCP_IC_LEN];

	fill(out, sizeof(out), 0xAA);	/* the builder must clear reserved bytes */
	memset(want, 0, sizeof(want));
	want[0] = 0x00;		/* type ICReq */
	want[1] = 0x00;		/* flags */
	want[2] = 0x80;		/* HLEN 128 */
	want[3] = 0x00;		/* PDO */
	want[4] = 0x80;		/* PLEN 128 */
	want[8] = 0x00;		/* PFV 0 */
	want[9] = 0x00;
	want[10] = c->hpda;
	want[11] = c->dgst_byte;
	/* 12..15 MAXR2T = 0 (one R2T), 16..127 reserved zero */

	tcp_icreq_build(out, c->hpda, c->hd, c->dd);
	hexdump_diff("ICReq", out, want, TCP_IC_LEN);
	ck_assert_msg(all_eq(out + TCP_IC_LEN, 16, 0xAA), "ICReq builder wrote past 128 bytes");
}
END_TEST

/* ---- ICResp ------------------------------------------------------------- */

struct icresp_case {
	const char *name;
	bool want_h, want_d;
	uint8_t cpda, dgst;
	uint32_t maxh2c;
	/* optional patch of the otherwise valid PDU */
	uint8_t poff, plen_bytes;
	uint32_t pval;
	int rc;
	uint16_t fes;
	uint32_t fei;
};

#define OK_IC(n, wh, wd, cp, dg, mx) { n, wh, wd, cp, dg, mx, 0, 0, 0, 0, 0, 0 }
#define BAD_IC(n, wh, wd, cp, dg, mx, po, pl, pv, fes, fei) \
	{ n, wh, wd, cp, dg, mx, po, pl, pv, -EPROTO, fes, fei }

static const struct icresp_case icresp_cases[] = {
	/* Valid: every combination of requested and granted digests. */
	OK_IC("none asked none given", false, false, 0, 0, 4096),
	OK_IC("hd asked none given", true, false, 0, 0, 4096),
	OK_IC("hd asked hd given", true, false, 0, 1, 4096),
	OK_IC("dd asked dd given", false, true, 0, 2, 8192),
	OK_IC("dd asked none given", false, true, 0, 0, 8192),
	OK_IC("both asked both given", true, true, 0, 3, 131072),
	OK_IC("both asked hd given", true, true, 0, 1, 131072),
	OK_IC("both asked dd given", true, true, 0, 2, 131072),
	OK_IC("both asked none given", true, true, 0, 0, 131072),
	OK_IC("cpda 31", false, false, 31, 0, 4096),
	OK_IC("cpda 16", false, false, 16, 0, 4096),
	OK_IC("maxh2cdata 4100", false, false, 0, 0, 4100),
	OK_IC("maxh2cdata max", false, false, 0, 0, 0xFFFFFFFCu),
	/* CH fields in order. */
	BAD_IC("type ICReq", false, false, 0, 0, 4096, 0, 1, 0x00, TCP_FES_INVALID_HEADER, FEI_TYPE),
	BAD_IC("type CapsuleResp", false, false, 0, 0, 4096, 0, 1, 0x05, TCP_FES_INVALID_HEADER, FEI_TYPE),
	BAD_IC("type 0xff", false, false, 0, 0, 4096, 0, 1, 0xff, TCP_FES_INVALID_HEADER, FEI_TYPE),
	BAD_IC("flags HDGSTF", true, true, 0, 0, 4096, 1, 1, 0x01, TCP_FES_INVALID_HEADER, FEI_FLAGS),
	BAD_IC("flags 0x80", false, false, 0, 0, 4096, 1, 1, 0x80, TCP_FES_INVALID_HEADER, FEI_FLAGS),
	BAD_IC("hlen 127", false, false, 0, 0, 4096, 2, 1, 127, TCP_FES_INVALID_HEADER, FEI_HLEN),
	BAD_IC("hlen 24", false, false, 0, 0, 4096, 2, 1, 24, TCP_FES_INVALID_HEADER, FEI_HLEN),
	BAD_IC("pdo 128", false, false, 0, 0, 4096, 3, 1, 128, TCP_FES_INVALID_HEADER, FEI_PDO),
	BAD_IC("pdo 1", false, false, 0, 0, 4096, 3, 1, 1, TCP_FES_INVALID_HEADER, FEI_PDO),
	BAD_IC("plen 129", false, false, 0, 0, 4096, 4, 4, 129, TCP_FES_INVALID_HEADER, FEI_PLEN),
	BAD_IC("plen 0", false, false, 0, 0, 4096, 4, 4, 0, TCP_FES_INVALID_HEADER, FEI_PLEN),
	BAD_IC("plen 128 + 2^24", false, false, 0, 0, 4096, 4, 4, 0x01000080, TCP_FES_INVALID_HEADER, FEI_PLEN),
	/* PFV: FreeBSD (protocol.md 1.4) reports Unsupported Parameter at 8. */
	BAD_IC("pfv 1", false, false, 0, 0, 4096, 8, 2, 1, TCP_FES_UNSUPPORTED, FEI_PFV),
	BAD_IC("pfv 0x100", false, false, 0, 0, 4096, 8, 2, 0x100, TCP_FES_UNSUPPORTED, FEI_PFV),
	BAD_IC("cpda 32", false, false, 32, 0, 4096, 0, 0, 0, TCP_FES_INVALID_HEADER, FEI_CPDA),
	BAD_IC("cpda 255", false, false, 255, 0, 4096, 0, 0, 0, TCP_FES_INVALID_HEADER, FEI_CPDA),
	/* Digests the host did not ask for: Unsupported Parameter, FEI 11. */
	BAD_IC("hd not asked", false, false, 0, 1, 4096, 0, 0, 0, TCP_FES_UNSUPPORTED, FEI_DGST),
	BAD_IC("dd not asked", false, false, 0, 2, 4096, 0, 0, 0, TCP_FES_UNSUPPORTED, FEI_DGST),
	BAD_IC("both not asked", false, false, 0, 3, 4096, 0, 0, 0, TCP_FES_UNSUPPORTED, FEI_DGST),
	BAD_IC("hd given, only dd asked", false, true, 0, 1, 4096, 0, 0, 0, TCP_FES_UNSUPPORTED, FEI_DGST),
	BAD_IC("dd given, only hd asked", true, false, 0, 3, 4096, 0, 0, 0, TCP_FES_UNSUPPORTED, FEI_DGST),
	BAD_IC("maxh2cdata 0", false, false, 0, 0, 0, 0, 0, 0, TCP_FES_INVALID_HEADER, FEI_MAXH2C),
	BAD_IC("maxh2cdata 4092", false, false, 0, 0, 4092, 0, 0, 0, TCP_FES_INVALID_HEADER, FEI_MAXH2C),
	BAD_IC("maxh2cdata 4097", false, false, 0, 0, 4097, 0, 0, 0, TCP_FES_INVALID_HEADER, FEI_MAXH2C),
	BAD_IC("maxh2cdata 4098", false, false, 0, 0, 4098, 0, 0, 0, TCP_FES_INVALID_HEADER, FEI_MAXH2C),
	BAD_IC("maxh2cdata 65535", false, false, 0, 0, 65535, 0, 0, 0, TCP_FES_INVALID_HEADER, FEI_MAXH2C),
	/* Lowest field first. */
	BAD_IC("type and maxh2cdata bad", false, false, 40, 3, 5, 0, 1, 0x07, TCP_FES_INVALID_HEADER, FEI_TYPE),
	BAD_IC("plen and cpda bad", false, false, 40, 0, 4096, 4, 4, 24, TCP_FES_INVALID_HEADER, FEI_PLEN),
	BAD_IC("cpda and dgst bad", false, false, 40, 3, 4096, 0, 0, 0, TCP_FES_INVALID_HEADER, FEI_CPDA),
	BAD_IC("dgst and maxh2cdata bad", false, false, 0, 1, 17, 0, 0, 0, TCP_FES_UNSUPPORTED, FEI_DGST),
};

static void mk_icresp(uint8_t *b, uint8_t cpda, uint8_t dgst, uint32_t maxh2c)
{
	memset(b, 0, TCP_IC_LEN);
	b[0] = 0x01;
	b[2] = 0x80;
	b[4] = 0x80;
	b[10] = cpda;
	b[11] = dgst;
	w32(b + 12, maxh2c);
	for (int i = 16; i < TCP_IC_LEN; i++)	/* reserved: a host ignores them */
		b[i] = (uint8_t)i;
}

START_TEST(test_icresp_parse)
{
	const struct icresp_case *c = &icresp_cases[_i];
	uint8_t *in = malloc(TCP_IC_LEN);	/* exact size: ASan sees overreads */
	struct tcp_icresp out;
	struct tcp_pdu_err err;
	int rc;

	ck_assert_ptr_nonnull(in);
	mk_icresp(in, c->cpda, c->dgst, c->maxh2c);
	if (c->plen_bytes == 1)
		in[c->poff] = (uint8_t)c->pval;
	else if (c->plen_bytes == 2)
		w16(in + c->poff, (uint16_t)c->pval);
	else if (c->plen_bytes == 4)
		w32(in + c->poff, c->pval);

	memset(&out, 0x5C, sizeof(out));
	memset(&err, 0, sizeof(err));
	rc = tcp_icresp_parse(in, c->want_h, c->want_d, &out, &err);
	ck_assert_msg(rc == c->rc, "%s: rc %d, expected %d (%s)", c->name, rc, c->rc, err.msg);
	if (rc == 0) {
		ck_assert_msg(out.cpda == c->cpda, "%s: cpda %u", c->name, out.cpda);
		ck_assert_msg(out.hdgst == !!(c->dgst & 1), "%s: hdgst", c->name);
		ck_assert_msg(out.ddgst == !!(c->dgst & 2), "%s: ddgst", c->name);
		ck_assert_msg(out.maxh2cdata == c->maxh2c, "%s: maxh2cdata %u", c->name, out.maxh2cdata);
	} else {
		ck_assert_msg(err.fes == c->fes, "%s: FES 0x%x, expected 0x%x", c->name, err.fes, c->fes);
		ck_assert_msg(err.fei == c->fei, "%s: FEI %u, expected %u", c->name, err.fei, c->fei);
		ck_assert_msg(err.msg[0] != '\0', "%s: empty message", c->name);
	}
	free(in);
}
END_TEST

START_TEST(test_icresp_reserved_dgst_bits)
{
	/* Bits 2..7 of DGST are reserved; a value there is an error at FEI 11.
	 * FreeBSD reports it as Invalid Header Field, the code under test may
	 * use Unsupported Parameter: accept either FES, insist on the FEI. */
	for (unsigned bit = 2; bit < 8; bit++) {
		uint8_t in[TCP_IC_LEN];
		struct tcp_icresp out;
		struct tcp_pdu_err err;
		int rc;

		mk_icresp(in, 0, (uint8_t)(1u << bit), 4096);
		rc = tcp_icresp_parse(in, true, true, &out, &err);
		ck_assert_msg(rc == -EPROTO, "dgst bit %u accepted", bit);
		ck_assert_msg(err.fei == FEI_DGST, "dgst bit %u: FEI %u", bit, err.fei);
		ck_assert_msg(err.fes == TCP_FES_UNSUPPORTED || err.fes == TCP_FES_INVALID_HEADER,
			      "dgst bit %u: FES 0x%x", bit, err.fes);
	}
}
END_TEST

/* ---- tcp_c2h_hdr_len ---------------------------------------------------- */

START_TEST(test_hdr_len_all_types)
{
	for (int hd = 0; hd < 2; hd++) {
		struct tcp_pdu_cfg cfg = mkcfg(hd, hd, 4, 4);

		for (unsigned t = 0; t < 256; t++) {
			uint8_t ch[TCP_CH_LEN] = { (uint8_t)t, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
			struct tcp_pdu_err err;
			int rc;

			memset(&err, 0, sizeof(err));
			rc = tcp_c2h_hdr_len(ch, &cfg, &err);
			switch (t) {
			case T_C2HTERM:
				ck_assert_msg(rc == 24, "hd %d C2HTermReq: %d", hd, rc);
				break;
			case T_RESP:
			case T_C2HDATA:
			case T_R2T:
				ck_assert_msg(rc == (hd ? 28 : 24), "hd %d type 0x%02x: %d", hd, t, rc);
				break;
			case T_ICRESP:
				/* A second ICResp is a sequence error (protocol.md 1.4, SPDK). */
				ck_assert_msg(rc == -EPROTO && err.fes == TCP_FES_SEQUENCE,
					      "hd %d ICResp: rc %d fes %u", hd, rc, err.fes);
				break;
			default:
				ck_assert_msg(rc == -EPROTO, "hd %d type 0x%02x: rc %d", hd, t, rc);
				ck_assert_msg(err.fes == TCP_FES_INVALID_HEADER && err.fei == FEI_TYPE,
					      "hd %d type 0x%02x: fes %u fei %u", hd, t, err.fes, err.fei);
				break;
			}
		}
	}
}
END_TEST

/* ---- tcp_c2h_parse: the table --------------------------------------------- */

enum dg { DG_AUTO, DG_BAD, DG_NONE };

struct parse_case {
	const char *name;
	bool hd, dd;
	uint32_t rxpda;
	uint8_t type, flags, hlen, pdo;
	uint32_t plen;
	uint32_t a, b;		/* DATAO/R2TO and DATAL/R2TL, or FES and FEI */
	enum dg dg;		/* AUTO: correct HDGST when hd and not a TermReq */
	int rc;
	uint16_t fes;
	uint32_t fei;
	/* expected decode on success */
	uint32_t hdr_len, pad, data_len;
};

#define OK(n, hd, dd, pda, t, f, hl, pdo, pl, a, b, hlen_, pad_, dlen_) \
	{ n, hd, dd, pda, t, f, hl, pdo, pl, a, b, DG_AUTO, 0, 0, 0, hlen_, pad_, dlen_ }
#define BAD(n, hd, dd, pda, t, f, hl, pdo, pl, a, b, fei_) \
	{ n, hd, dd, pda, t, f, hl, pdo, pl, a, b, DG_AUTO, -EPROTO, TCP_FES_INVALID_HEADER, fei_, 0, 0, 0 }
#define BADDG(n, hd, dd, pda, t, f, hl, pdo, pl, a, b) \
	{ n, hd, dd, pda, t, f, hl, pdo, pl, a, b, DG_BAD, -EBADMSG, TCP_FES_HDGST, 0, 0, 0, 0 }

static const struct parse_case parse_cases[] = {
	/* ---- valid PDUs ---- */
	OK("resp", 0, 0, 4, T_RESP, 0, 24, 0, 24, 0, 0, 24, 0, 0),
	OK("resp hd", 1, 0, 4, T_RESP, F_H, 24, 0, 28, 0, 0, 28, 0, 0),
	OK("resp hd+dd (no DDGSTF on resp)", 1, 1, 4, T_RESP, F_H, 24, 0, 28, 0, 0, 28, 0, 0),
	OK("resp dd only", 0, 1, 4, T_RESP, 0, 24, 0, 24, 0, 0, 24, 0, 0),
	OK("data", 0, 0, 4, T_C2HDATA, 0, 24, 24, 24 + 512, 0, 512, 24, 0, 512),
	OK("data last", 0, 0, 4, T_C2HDATA, F_L, 24, 24, 24 + 4096, 4096, 4096, 24, 0, 4096),
	OK("data success", 0, 0, 4, T_C2HDATA, F_L | F_S, 24, 24, 24 + 1, 7, 1, 24, 0, 1),
	OK("data hd", 1, 0, 4, T_C2HDATA, F_H | F_L, 24, 28, 28 + 512, 0, 512, 28, 0, 512),
	OK("data dd", 0, 1, 4, T_C2HDATA, F_D, 24, 24, 24 + 512 + 4, 0, 512, 24, 0, 512),
	OK("data hd+dd", 1, 1, 4, T_C2HDATA, F_H | F_D | F_L, 24, 28, 28 + 512 + 4, 0, 512, 28, 0, 512),
	OK("data pad rxpda 8", 0, 0, 8, T_C2HDATA, 0, 24, 24, 24 + 64, 0, 64, 24, 0, 64),
	OK("data hd pad rxpda 8", 1, 0, 8, T_C2HDATA, F_H, 24, 32, 32 + 64, 0, 64, 28, 4, 64),
	OK("data hd pad rxpda 32", 1, 0, 32, T_C2HDATA, F_H, 24, 32, 32 + 64, 0, 64, 28, 4, 64),
	OK("data pad rxpda 128", 0, 0, 128, T_C2HDATA, 0, 24, 128, 128 + 4096, 0, 4096, 24, 104, 4096),
	OK("data hd+dd pad rxpda 128", 1, 1, 128, T_C2HDATA, F_H | F_D | F_L, 24, 128, 128 + 4096 + 4,
	   0, 4096, 28, 100, 4096),
	OK("data pdo beyond minimum", 0, 0, 4, T_C2HDATA, 0, 24, 40, 40 + 8, 0, 8, 24, 16, 8),
	OK("data pdo 48 with rxpda 24", 0, 0, 24, T_C2HDATA, 0, 24, 48, 48 + 8, 0, 8, 24, 24, 8),
	OK("r2t", 0, 0, 4, T_R2T, 0, 24, 0, 24, 0, 8192, 24, 0, 0),
	OK("r2t hd", 1, 0, 4, T_R2T, F_H, 24, 0, 28, 4096, 4096, 28, 0, 0),
	OK("r2t hd+dd", 1, 1, 4, T_R2T, F_H, 24, 0, 28, 4096, 4096, 28, 0, 0),
	OK("term min", 0, 0, 4, T_C2HTERM, 0, 24, 0, 24, 0x0001, 3, 24, 0, 0),
	OK("term max", 0, 0, 4, T_C2HTERM, 0, 24, 0, 152, 0x0002, 0, 24, 0, 0),
	OK("term with hd on (never digested)", 1, 1, 4, T_C2HTERM, 0, 24, 0, 64, 0x0006, 11, 24, 0, 0),

	/* ---- flags ---- */
	BAD("resp LAST", 0, 0, 4, T_RESP, F_L, 24, 0, 24, 0, 0, FEI_FLAGS),
	BAD("resp DDGSTF", 0, 1, 4, T_RESP, F_D, 24, 0, 24, 0, 0, FEI_FLAGS),
	BAD("resp SUCCESS", 0, 0, 4, T_RESP, F_S, 24, 0, 24, 0, 0, FEI_FLAGS),
	BAD("r2t LAST", 0, 0, 4, T_R2T, F_L, 24, 0, 24, 0, 8, FEI_FLAGS),
	BAD("r2t DDGSTF", 0, 1, 4, T_R2T, F_D, 24, 0, 24, 0, 8, FEI_FLAGS),
	BAD("data 0x10", 0, 0, 4, T_C2HDATA, 0x10, 24, 24, 32, 0, 8, FEI_FLAGS),
	BAD("data 0x80", 0, 0, 4, T_C2HDATA, 0x80 | F_L, 24, 24, 32, 0, 8, FEI_FLAGS),
	BAD("term HDGSTF", 1, 0, 4, T_C2HTERM, F_H, 24, 0, 24, 1, 0, FEI_FLAGS),
	BAD("term LAST", 0, 0, 4, T_C2HTERM, F_L, 24, 0, 24, 1, 0, FEI_FLAGS),
	/* HDGSTF must match the negotiation, both ways. */
	BAD("resp HDGSTF not negotiated", 0, 0, 4, T_RESP, F_H, 24, 0, 28, 0, 0, FEI_FLAGS),
	BAD("resp HDGSTF missing", 1, 0, 4, T_RESP, 0, 24, 0, 28, 0, 0, FEI_FLAGS),
	BAD("r2t HDGSTF not negotiated", 0, 0, 4, T_R2T, F_H, 24, 0, 28, 0, 8, FEI_FLAGS),
	BAD("r2t HDGSTF missing", 1, 0, 4, T_R2T, 0, 24, 0, 28, 0, 8, FEI_FLAGS),
	BAD("data HDGSTF not negotiated", 0, 0, 4, T_C2HDATA, F_H, 24, 28, 36, 0, 8, FEI_FLAGS),
	BAD("data HDGSTF missing", 1, 0, 4, T_C2HDATA, 0, 24, 28, 36, 0, 8, FEI_FLAGS),
	/* DDGSTF must match the negotiation, both ways (C2HData always has data). */
	BAD("data DDGSTF not negotiated", 0, 0, 4, T_C2HDATA, F_D, 24, 24, 36, 0, 8, FEI_FLAGS),
	BAD("data DDGSTF missing", 0, 1, 4, T_C2HDATA, 0, 24, 24, 32, 0, 8, FEI_FLAGS),
	BAD("data hd: DDGSTF missing", 1, 1, 4, T_C2HDATA, F_H | F_L, 24, 28, 36, 0, 8, FEI_FLAGS),
	/* SUCCESS requires LAST_PDU. */
	BAD("data SUCCESS without LAST", 0, 0, 4, T_C2HDATA, F_S, 24, 24, 32, 0, 8, FEI_FLAGS),
	BAD("data hd+dd SUCCESS without LAST", 1, 1, 4, T_C2HDATA, F_H | F_D | F_S, 24, 28, 40, 0, 8,
	    FEI_FLAGS),

	/* ---- HLEN ---- */
	BAD("resp hlen 28", 0, 0, 4, T_RESP, 0, 28, 0, 28, 0, 0, FEI_HLEN),
	BAD("resp hlen 0", 0, 0, 4, T_RESP, 0, 0, 0, 24, 0, 0, FEI_HLEN),
	BAD("resp hd hlen 28", 1, 0, 4, T_RESP, F_H, 28, 0, 28, 0, 0, FEI_HLEN),
	BAD("data hlen 72", 0, 0, 4, T_C2HDATA, 0, 72, 72, 80, 0, 8, FEI_HLEN),
	BAD("r2t hlen 16", 0, 0, 4, T_R2T, 0, 16, 0, 24, 0, 8, FEI_HLEN),
	BAD("term hlen 28", 0, 0, 4, T_C2HTERM, 0, 28, 0, 28, 1, 0, FEI_HLEN),
	BAD("term hlen 8", 0, 0, 4, T_C2HTERM, 0, 8, 0, 24, 1, 0, FEI_HLEN),

	/* ---- PDO ---- */
	BAD("resp pdo 24", 0, 0, 4, T_RESP, 0, 24, 24, 24, 0, 0, FEI_PDO),
	BAD("resp hd pdo 28", 1, 0, 4, T_RESP, F_H, 24, 28, 28, 0, 0, FEI_PDO),
	BAD("r2t pdo 4", 0, 0, 4, T_R2T, 0, 24, 4, 24, 0, 8, FEI_PDO),
	BAD("term pdo 24", 0, 0, 4, T_C2HTERM, 0, 24, 24, 24, 1, 0, FEI_PDO),
	BAD("data pdo 0", 0, 0, 4, T_C2HDATA, 0, 24, 0, 32, 0, 8, FEI_PDO),
	BAD("data pdo 20 < hlen", 0, 0, 4, T_C2HDATA, 0, 24, 20, 32, 0, 12, FEI_PDO),
	BAD("data hd pdo 24 < hlen+hdgst", 1, 0, 4, T_C2HDATA, F_H, 24, 24, 32, 0, 8, FEI_PDO),
	BAD("data pdo 26 not dword", 0, 0, 4, T_C2HDATA, 0, 24, 26, 34, 0, 8, FEI_PDO),
	BAD("data hd pdo 28 rxpda 8", 1, 0, 8, T_C2HDATA, F_H, 24, 28, 36, 0, 8, FEI_PDO),
	BAD("data pdo 24 rxpda 128", 0, 0, 128, T_C2HDATA, 0, 24, 24, 32, 0, 8, FEI_PDO),
	BAD("data pdo 64 rxpda 128", 0, 0, 128, T_C2HDATA, 0, 24, 64, 72, 0, 8, FEI_PDO),

	/* ---- PLEN ---- */
	BAD("resp plen 28 without hd", 0, 0, 4, T_RESP, 0, 24, 0, 28, 0, 0, FEI_PLEN),
	BAD("resp hd plen 24", 1, 0, 4, T_RESP, F_H, 24, 0, 24, 0, 0, FEI_PLEN),
	BAD("resp plen 1024", 0, 0, 4, T_RESP, 0, 24, 0, 1024, 0, 0, FEI_PLEN),
	BAD("r2t plen 25", 0, 0, 4, T_R2T, 0, 24, 0, 25, 0, 8, FEI_PLEN),
	BAD("r2t hd plen 32", 1, 0, 4, T_R2T, F_H, 24, 0, 32, 0, 8, FEI_PLEN),
	BAD("data dd plen < pdo + ddgst", 0, 1, 4, T_C2HDATA, F_D, 24, 24, 26, 0, 2, FEI_PLEN),
	BAD("term plen 23", 0, 0, 4, T_C2HTERM, 0, 24, 0, 23, 1, 0, FEI_PLEN),
	BAD("term plen 0", 0, 0, 4, T_C2HTERM, 0, 24, 0, 0, 1, 0, FEI_PLEN),
	BAD("term plen 153", 0, 0, 4, T_C2HTERM, 0, 24, 0, 153, 1, 0, FEI_PLEN),
	BAD("term plen 2^32-1", 0, 0, 4, T_C2HTERM, 0, 24, 0, 0xFFFFFFFFu, 1, 0, FEI_PLEN),

	/* ---- DATAL / R2TL ---- */
	BAD("data datal 0 and no data", 0, 0, 4, T_C2HDATA, F_L, 24, 24, 24, 0, 0, FEI_DATAL),
	BAD("data datal 0 with data", 0, 0, 4, T_C2HDATA, F_L, 24, 24, 32, 0, 0, FEI_DATAL),
	BAD("data datal > data", 0, 0, 4, T_C2HDATA, 0, 24, 24, 24 + 256, 0, 512, FEI_DATAL),
	BAD("data datal < data", 0, 0, 4, T_C2HDATA, 0, 24, 24, 24 + 1024, 0, 512, FEI_DATAL),
	BAD("data dd: plen forgot ddgst", 0, 1, 4, T_C2HDATA, F_D, 24, 24, 24 + 512, 0, 512, FEI_DATAL),
	BAD("data pad counted as data", 0, 0, 8, T_C2HDATA, 0, 24, 32, 32 + 64, 0, 72, FEI_DATAL),
	BAD("r2t r2tl 0", 0, 0, 4, T_R2T, 0, 24, 0, 24, 4096, 0, FEI_DATAL),
	BAD("r2t hd r2tl 0", 1, 0, 4, T_R2T, F_H, 24, 0, 28, 4096, 0, FEI_DATAL),

	/* ---- header digest ---- */
	BADDG("resp bad hdgst", 1, 0, 4, T_RESP, F_H, 24, 0, 28, 0, 0),
	BADDG("data bad hdgst", 1, 1, 4, T_C2HDATA, F_H | F_D, 24, 28, 28 + 8 + 4, 0, 8),
	BADDG("r2t bad hdgst", 1, 0, 4, T_R2T, F_H, 24, 0, 28, 0, 8),
	/* The digest is checked before the PSH fields it protects. */
	BADDG("data bad hdgst and bad datal", 1, 0, 4, T_C2HDATA, F_H, 24, 28, 36, 0, 999),
	BADDG("r2t bad hdgst and r2tl 0", 1, 0, 4, T_R2T, F_H, 24, 0, 28, 0, 0),
	{ "resp zero hdgst", 1, 0, 4, T_RESP, F_H, 24, 0, 28, 0, 0, DG_NONE, -EBADMSG,
	  TCP_FES_HDGST, 0, 0, 0, 0 },

	/* ---- lowest incorrect field first ---- */
	BAD("flags before hlen", 0, 0, 4, T_RESP, F_L, 99, 7, 99, 0, 0, FEI_FLAGS),
	BAD("hdgstf before hlen", 1, 0, 4, T_R2T, 0, 99, 7, 99, 0, 0, FEI_FLAGS),
	BAD("hlen before pdo", 0, 0, 4, T_RESP, 0, 25, 7, 99, 0, 0, FEI_HLEN),
	BAD("pdo before plen", 0, 0, 4, T_R2T, 0, 24, 7, 99, 0, 0, FEI_PDO),
	BAD("data pdo before plen", 0, 0, 128, T_C2HDATA, 0, 24, 24, 1, 0, 0, FEI_PDO),
	BAD("term pdo before plen", 0, 0, 4, T_C2HTERM, 0, 24, 4, 999, 0, 0, FEI_PDO),
	{ "plen before hdgst", 1, 0, 4, T_RESP, F_H, 24, 0, 32, 0, 0, DG_BAD, -EPROTO,
	  TCP_FES_INVALID_HEADER, FEI_PLEN, 0, 0, 0 },
	{ "flags before hdgst", 1, 1, 4, T_C2HDATA, F_H, 24, 28, 40, 0, 8, DG_BAD, -EPROTO,
	  TCP_FES_INVALID_HEADER, FEI_FLAGS, 0, 0, 0 },
};

START_TEST(test_c2h_parse)
{
	const struct parse_case *c = &parse_cases[_i];
	struct tcp_pdu_cfg cfg = mkcfg(c->hd, c->dd, c->rxpda, 4);
	uint8_t hdr[28];
	uint8_t *copy;
	size_t len = (c->hd && c->type != T_C2HTERM) ? 28 : 24;
	struct tcp_c2h out;
	struct tcp_pdu_err err;
	int rc;

	mk_c2h(hdr, c->type, c->flags, c->hlen, c->pdo, c->plen, c->a, c->b);
	if (len == 28) {
		if (c->dg == DG_NONE)
			w32(hdr + 24, 0);
		else
			put_hdgst(hdr, 24);
		if (c->dg == DG_BAD)
			hdr[24 + (_i & 3)] ^= 0x40;
	}
	/* Exact-size heap copy so ASan catches a read past @len. */
	copy = malloc(len);
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, hdr, len);

	memset(&err, 0, sizeof(err));
	rc = tcp_c2h_parse(copy, len, &cfg, &out, &err);
	ck_assert_msg(rc == c->rc, "%s: rc %d, expected %d (fes %u fei %u: %s)", c->name, rc, c->rc,
		      err.fes, err.fei, err.msg);
	if (rc != 0) {
		ck_assert_msg(err.fes == c->fes, "%s: FES 0x%x, expected 0x%x (%s)", c->name, err.fes,
			      c->fes, err.msg);
		if (c->fes != TCP_FES_HDGST)
			ck_assert_msg(err.fei == c->fei, "%s: FEI %u, expected %u (%s)", c->name, err.fei,
				      c->fei, err.msg);
		ck_assert_msg(err.msg[0] != '\0' && memchr(err.msg, 0, sizeof(err.msg)),
			      "%s: message missing or unterminated", c->name);
		free(copy);
		return;
	}

	ck_assert_msg(out.type == c->type && out.flags == c->flags && out.hlen == c->hlen &&
		      out.pdo == c->pdo && out.plen == c->plen, "%s: CH not decoded as sent", c->name);
	ck_assert_msg(out.hdr_len == c->hdr_len, "%s: hdr_len %u, expected %u", c->name, out.hdr_len,
		      c->hdr_len);
	ck_assert_msg(out.pad == c->pad, "%s: pad %u, expected %u", c->name, out.pad, c->pad);
	ck_assert_msg(out.data_len == c->data_len, "%s: data_len %u, expected %u", c->name,
		      out.data_len, c->data_len);
	switch (c->type) {
	case T_C2HDATA:
		ck_assert_msg(out.ddgst == c->dd, "%s: ddgst %d", c->name, out.ddgst);
		ck_assert_msg(out.hdr_len + out.pad + out.data_len + (out.ddgst ? 4 : 0) == out.plen,
			      "%s: lengths do not add up to PLEN", c->name);
		ck_assert_msg(out.cccid == CCCID, "%s: cccid 0x%x", c->name, out.cccid);
		ck_assert_msg(out.datao == c->a && out.datal == c->b, "%s: datao %u datal %u", c->name,
			      out.datao, out.datal);
		break;
	case T_R2T:
		ck_assert_msg(!out.ddgst, "%s: ddgst on R2T", c->name);
		ck_assert_msg(out.cccid == CCCID, "%s: cccid 0x%x", c->name, out.cccid);
		ck_assert_msg(memcmp(&out.ttag, TTAG_BYTES, 2) == 0,
			      "%s: ttag not kept in wire byte order", c->name);
		ck_assert_msg(out.datao == c->a && out.datal == c->b, "%s: r2to %u r2tl %u", c->name,
			      out.datao, out.datal);
		break;
	case T_RESP:
		ck_assert_msg(!out.ddgst, "%s: ddgst on CapsuleResp", c->name);
		ck_assert_msg(memcmp(&out.cqe, hdr + 8, 16) == 0, "%s: CQE not copied", c->name);
		break;
	case T_C2HTERM:
		ck_assert_msg(out.fes == (uint16_t)c->a && out.fei == c->b, "%s: fes %u fei %u", c->name,
			      out.fes, out.fei);
		ck_assert_msg(out.term_extra == c->plen - 24, "%s: term_extra %u", c->name,
			      out.term_extra);
		break;
	}
	free(copy);
}
END_TEST

START_TEST(test_c2h_parse_truncated)
{
	struct tcp_pdu_cfg hd = mkcfg(true, false, 4, 4), no = mkcfg(false, false, 4, 4);
	uint8_t full[28];
	struct tcp_c2h out;
	struct tcp_pdu_err err;

	mk_c2h(full, T_RESP, F_H, 24, 0, 28, 0, 0);
	put_hdgst(full, 24);
	/* Any length short of what tcp_c2h_hdr_len() asks for is refused
	 * without reading past it (exact-size copies for ASan). */
	for (size_t len = 0; len < 28; len++) {
		uint8_t *p = malloc(len ? len : 1);

		ck_assert_ptr_nonnull(p);
		memcpy(p, full, len);
		ck_assert_msg(tcp_c2h_parse(p, len, &hd, &out, &err) == -EPROTO,
			      "hd resp with %zu bytes accepted", len);
		free(p);
	}
	mk_c2h(full, T_C2HTERM, 0, 24, 0, 24, 1, 0);
	for (size_t len = 0; len < 24; len++) {
		uint8_t *p = malloc(len ? len : 1);

		ck_assert_ptr_nonnull(p);
		memcpy(p, full, len);
		ck_assert_msg(tcp_c2h_parse(p, len, &no, &out, &err) == -EPROTO,
			      "term with %zu bytes accepted", len);
		free(p);
	}
	/* Extra bytes after the header are the caller's business. */
	{
		uint8_t big[64];

		memset(big, 0xEE, sizeof(big));
		mk_c2h(big, T_RESP, 0, 24, 0, 24, 0, 0);
		ck_assert_int_eq(tcp_c2h_parse(big, sizeof(big), &no, &out, &err), 0);
	}
}
END_TEST

START_TEST(test_c2h_parse_hdgst_covers_psh)
{
	/* Flip every bit of the PSH (bytes 8..23) and of the digest itself of
	 * a valid R2T: each flip must be caught as a header digest error. */
	struct tcp_pdu_cfg cfg = mkcfg(true, false, 4, 4);
	uint8_t good[28], hdr[28];
	struct tcp_c2h out;
	struct tcp_pdu_err err;

	mk_c2h(good, T_R2T, F_H, 24, 0, 28, 0x2000, 0x1000);
	put_hdgst(good, 24);
	ck_assert_int_eq(tcp_c2h_parse(good, 28, &cfg, &out, &err), 0);
	for (int byte = 8; byte < 28; byte++) {
		for (int bit = 0; bit < 8; bit++) {
			int rc;

			memcpy(hdr, good, sizeof(hdr));
			hdr[byte] ^= (uint8_t)(1u << bit);
			rc = tcp_c2h_parse(hdr, 28, &cfg, &out, &err);
			ck_assert_msg(rc == -EBADMSG && err.fes == TCP_FES_HDGST,
				      "byte %d bit %d: rc %d fes %u", byte, bit, rc, err.fes);
		}
	}
}
END_TEST

START_TEST(test_c2h_parse_bad_types)
{
	struct tcp_pdu_cfg cfg = mkcfg(false, false, 4, 4);

	for (unsigned t = 0; t < 256; t++) {
		uint8_t hdr[24];
		struct tcp_c2h out;
		struct tcp_pdu_err err;
		int rc;

		if (t == T_C2HTERM || t == T_RESP || t == T_C2HDATA || t == T_R2T)
			continue;
		mk_c2h(hdr, (uint8_t)t, 0, 24, 0, 24, 0, 0);
		memset(&err, 0, sizeof(err));
		rc = tcp_c2h_parse(hdr, sizeof(hdr), &cfg, &out, &err);
		ck_assert_msg(rc == -EPROTO, "type 0x%02x: rc %d", t, rc);
		if (t == T_ICRESP)
			ck_assert_msg(err.fes == TCP_FES_SEQUENCE, "ICResp: fes %u", err.fes);
		else
			ck_assert_msg(err.fes == TCP_FES_INVALID_HEADER && err.fei == FEI_TYPE,
				      "type 0x%02x: fes %u fei %u", t, err.fes, err.fei);
	}
}
END_TEST

START_TEST(test_c2h_parse_pdo_beyond_plen)
{
	/* PDO > PLEN: protocol.md lists "HLEN+hdgst <= PDO <= PLEN" under the
	 * PDO rules (FreeBSD reports FEI 3); reporting PLEN (FEI 4) is also
	 * defensible. Either way it must be refused as an invalid header. */
	struct tcp_pdu_cfg cfg = mkcfg(false, false, 4, 4);
	uint8_t hdr[24];
	struct tcp_c2h out;
	struct tcp_pdu_err err;
	int rc;

	mk_c2h(hdr, T_C2HDATA, F_L, 24, 40, 32, 0, 8);
	rc = tcp_c2h_parse(hdr, sizeof(hdr), &cfg, &out, &err);
	ck_assert_int_eq(rc, -EPROTO);
	ck_assert_uint_eq(err.fes, TCP_FES_INVALID_HEADER);
	ck_assert_msg(err.fei == FEI_PDO || err.fei == FEI_PLEN, "FEI %u", err.fei);
}
END_TEST

/* ---- per-command sequence checks ----------------------------------------- */

struct seq_case {
	const char *name;
	uint32_t datao, datal;
	uint8_t flags;
	uint32_t done, buf_len;		/* expected / sent so far, command length */
	int rc;
	uint16_t fes;
};

static const struct seq_case data_cases[] = {
	{ "first of two", 0, 4096, 0, 0, 8192, 0, 0 },
	{ "second of two, LAST", 4096, 4096, F_L, 4096, 8192, 0, 0 },
	{ "only PDU, LAST", 0, 8192, F_L, 0, 8192, 0, 0 },
	{ "only PDU, LAST|SUCCESS", 0, 8192, F_L | F_S, 0, 8192, 0, 0 },
	{ "one byte", 0, 1, F_L, 0, 1, 0, 0 },
	{ "middle of three", 100, 100, 0, 100, 300, 0, 0 },
	{ "gap", 8192, 4096, 0, 4096, 16384, -EPROTO, TCP_FES_SEQUENCE },
	{ "overlap", 0, 4096, 0, 4096, 16384, -EPROTO, TCP_FES_SEQUENCE },
	{ "partial overlap", 2048, 4096, 0, 4096, 16384, -EPROTO, TCP_FES_SEQUENCE },
	{ "LAST missing at the end", 4096, 4096, 0, 4096, 8192, -EPROTO, TCP_FES_SEQUENCE },
	{ "LAST too early", 0, 4096, F_L, 0, 8192, -EPROTO, TCP_FES_SEQUENCE },
	{ "SUCCESS|LAST too early", 0, 4096, F_L | F_S, 0, 8192, -EPROTO, TCP_FES_SEQUENCE },
	{ "overrun", 4096, 8192, F_L, 4096, 8192, -EPROTO, TCP_FES_OUT_OF_RANGE },
	{ "overrun by one", 0, 8193, F_L, 0, 8192, -EPROTO, TCP_FES_OUT_OF_RANGE },
	{ "starts at the end", 8192, 1, F_L, 8192, 8192, -EPROTO, TCP_FES_OUT_OF_RANGE },
	{ "zero-length buffer", 0, 1, F_L, 0, 0, -EPROTO, TCP_FES_OUT_OF_RANGE },
	{ "32-bit wrap", 0xFFFFF000u, 0x2000, F_L, 0xFFFFF000u, 0xFFFFFFFFu, -EPROTO,
	  TCP_FES_OUT_OF_RANGE },
	{ "32-bit wrap to exactly buf", 0x80000000u, 0x80001000u, F_L, 0x80000000u, 0x1000, -EPROTO,
	  TCP_FES_OUT_OF_RANGE },
};

START_TEST(test_c2h_data_check)
{
	const struct seq_case *c = &data_cases[_i];
	struct tcp_c2h pdu;
	struct tcp_pdu_err err;
	int rc;

	memset(&pdu, 0, sizeof(pdu));
	memset(&err, 0, sizeof(err));
	pdu.type = T_C2HDATA;
	pdu.flags = c->flags;
	pdu.cccid = 3;
	pdu.datao = c->datao;
	pdu.datal = c->datal;
	pdu.data_len = c->datal;
	rc = tcp_c2h_data_check(&pdu, c->done, c->buf_len, &err);
	ck_assert_msg(rc == c->rc, "%s: rc %d, expected %d (%s)", c->name, rc, c->rc, err.msg);
	if (rc) {
		ck_assert_msg(err.fes == c->fes, "%s: FES %u, expected %u", c->name, err.fes, c->fes);
		ck_assert_msg(err.msg[0] != '\0', "%s: no message", c->name);
	}
}
END_TEST

static const struct seq_case r2t_cases[] = {
	{ "whole command", 0, 8192, 0, 0, 8192, 0, 0 },
	{ "first half", 0, 4096, 0, 0, 8192, 0, 0 },
	{ "second half", 4096, 4096, 0, 4096, 8192, 0, 0 },
	{ "one byte at the end", 8191, 1, 0, 8191, 8192, 0, 0 },
	{ "gap", 8192, 4096, 0, 4096, 16384, -EPROTO, TCP_FES_SEQUENCE },
	{ "asks again for sent bytes", 0, 4096, 0, 4096, 16384, -EPROTO, TCP_FES_SEQUENCE },
	{ "overrun", 4096, 8192, 0, 4096, 8192, -EPROTO, TCP_FES_OUT_OF_RANGE },
	{ "overrun by one", 0, 8193, 0, 0, 8192, -EPROTO, TCP_FES_OUT_OF_RANGE },
	{ "32-bit wrap", 4096, 0xFFFFF000u, 0, 4096, 8192, -EPROTO, TCP_FES_OUT_OF_RANGE },
};

START_TEST(test_r2t_check)
{
	const struct seq_case *c = &r2t_cases[_i];
	struct tcp_c2h pdu;
	struct tcp_pdu_err err;
	int rc;

	memset(&pdu, 0, sizeof(pdu));
	memset(&err, 0, sizeof(err));
	pdu.type = T_R2T;
	pdu.flags = c->flags;
	pdu.cccid = 9;
	pdu.datao = c->datao;
	pdu.datal = c->datal;
	rc = tcp_r2t_check(&pdu, c->done, c->buf_len, &err);
	ck_assert_msg(rc == c->rc, "%s: rc %d, expected %d (%s)", c->name, rc, c->rc, err.msg);
	if (rc) {
		ck_assert_msg(err.fes == c->fes, "%s: FES %u, expected %u", c->name, err.fes, c->fes);
		ck_assert_msg(err.msg[0] != '\0', "%s: no message", c->name);
	}
}
END_TEST

/* ---- CapsuleCmd build ------------------------------------------------------ */

static void mk_sqe(struct nvmf_sqe *sqe)
{
	uint8_t *p = (uint8_t *)sqe;

	for (size_t i = 0; i < sizeof(*sqe); i++)
		p[i] = (uint8_t)(0x80 + i * 3);
}

/* Canary-filled buffer: builders must not write past what they return. */
#define BUFSZ 512
#define CANARY 0xAA

START_TEST(test_capsule_worked_example_plain)
{
	/* protocol.md 1.2: Connect with 1024 B ICD, no digests, CPDA 0. */
	static const uint8_t ch[8] = { 0x04, 0x00, 0x48, 0x48, 0x48, 0x04, 0x00, 0x00 };
	struct tcp_pdu_cfg cfg = mkcfg(false, false, 4, 4);
	struct nvmf_sqe sqe;
	uint8_t buf[BUFSZ];
	uint32_t plen = 0;
	size_t n;

	mk_sqe(&sqe);
	fill(buf, sizeof(buf), CANARY);
	n = tcp_capsule_build(buf, &sqe, 1024, &cfg, &plen);
	ck_assert_uint_eq(n, 72);
	ck_assert_uint_eq(plen, 1096);
	hexdump_diff("CH", buf, ch, 8);
	ck_assert_msg(memcmp(buf + 8, &sqe, 64) == 0, "SQE not copied to bytes 8..71");
	ck_assert_msg(all_eq(buf + n, BUFSZ - n, CANARY), "wrote past the returned header");
}
END_TEST

START_TEST(test_capsule_worked_example_digests)
{
	/* protocol.md 1.2: same capsule with HDGSTF|DDGSTF: PDO 76, PLEN 1104. */
	static const uint8_t ch[8] = { 0x04, 0x03, 0x48, 0x4C, 0x50, 0x04, 0x00, 0x00 };
	struct tcp_pdu_cfg cfg = mkcfg(true, true, 4, 4);
	struct nvmf_sqe sqe;
	uint8_t buf[BUFSZ], want[72];
	uint32_t plen = 0;
	size_t n;

	mk_sqe(&sqe);
	memcpy(want, ch, 8);
	memcpy(want + 8, &sqe, 64);
	fill(buf, sizeof(buf), CANARY);
	n = tcp_capsule_build(buf, &sqe, 1024, &cfg, &plen);
	ck_assert_uint_eq(n, 76);
	ck_assert_uint_eq(plen, 1104);
	hexdump_diff("capsule", buf, want, 72);
	/* HDGST: CRC32C of the 72 final header bytes, little-endian, at 72. */
	ck_assert_msg(r32(buf + 72) == crc32c(want, 72), "HDGST 0x%08x, expected 0x%08x",
		      r32(buf + 72), crc32c(want, 72));
	ck_assert_msg(all_eq(buf + n, BUFSZ - n, CANARY), "wrote past the returned header");
}
END_TEST

struct nodata_case {
	bool hd, dd;
	uint8_t ch[8];
	size_t n;
};

static const struct nodata_case nodata_cases[] = {
	{ false, false, { 0x04, 0x00, 0x48, 0x00, 0x48, 0x00, 0x00, 0x00 }, 72 },
	{ false, true, { 0x04, 0x00, 0x48, 0x00, 0x48, 0x00, 0x00, 0x00 }, 72 },
	{ true, false, { 0x04, 0x01, 0x48, 0x00, 0x4C, 0x00, 0x00, 0x00 }, 76 },
	{ true, true, { 0x04, 0x01, 0x48, 0x00, 0x4C, 0x00, 0x00, 0x00 }, 76 },
};

START_TEST(test_capsule_no_data)
{
	/* No ICD: PDO 0, PLEN = HLEN (+ HDGST), never DDGSTF (protocol.md 1.2). */
	const struct nodata_case *c = &nodata_cases[_i];
	struct tcp_pdu_cfg cfg = mkcfg(c->hd, c->dd, 4, 128);
	struct nvmf_sqe sqe;
	uint8_t buf[BUFSZ], want[72];
	uint32_t plen = 0;
	size_t n;

	mk_sqe(&sqe);
	memcpy(want, c->ch, 8);
	memcpy(want + 8, &sqe, 64);
	fill(buf, sizeof(buf), CANARY);
	n = tcp_capsule_build(buf, &sqe, 0, &cfg, &plen);
	ck_assert_uint_eq(n, c->n);
	ck_assert_uint_eq(plen, c->n);
	hexdump_diff("no-data capsule", buf, want, 72);
	if (c->hd)
		ck_assert_uint_eq(r32(buf + 72), crc32c(want, 72));
	ck_assert_msg(all_eq(buf + n, BUFSZ - n, CANARY), "wrote past the returned header");
}
END_TEST

START_TEST(test_capsule_cpda31_padding)
{
	/* CPDA 31 = 128-byte alignment: PDO 128, zero PAD after the header. */
	for (int hd = 0; hd < 2; hd++) {
		for (int dd = 0; dd < 2; dd++) {
			struct tcp_pdu_cfg cfg = mkcfg(hd, dd, 4, 128);
			struct nvmf_sqe sqe;
			uint8_t buf[BUFSZ];
			uint32_t plen = 0;
			size_t n, hl = hd ? 76 : 72;

			mk_sqe(&sqe);
			fill(buf, sizeof(buf), CANARY);
			n = tcp_capsule_build(buf, &sqe, 512, &cfg, &plen);
			ck_assert_msg(n == 128, "hd %d dd %d: returned %zu", hd, dd, n);
			ck_assert_uint_eq(buf[3], 128);
			ck_assert_uint_eq(buf[1], (hd ? F_H : 0) | (dd ? F_D : 0));
			ck_assert_uint_eq(plen, 128 + 512 + (dd ? 4 : 0));
			ck_assert_uint_eq(r32(buf + 4), plen);
			ck_assert_msg(all_eq(buf + hl, 128 - hl, 0), "hd %d dd %d: PAD not zero", hd, dd);
			if (hd) {
				uint8_t want[72] = { 0x04, (uint8_t)(F_H | (dd ? F_D : 0)), 0x48, 0x80 };

				w32(want + 4, 128 + 512 + (dd ? 4 : 0));
				memcpy(want + 8, &sqe, 64);
				ck_assert_uint_eq(r32(buf + 72), crc32c(want, 72));
			}
			ck_assert_msg(all_eq(buf + 128, BUFSZ - 128, CANARY), "wrote past PDO");
		}
	}
}
END_TEST

/*
 * Every CPDA 0..31 with every digest setting. PDO must be the smallest
 * multiple of (CPDA+1)*4 that holds the header (FreeBSD roundup rule,
 * protocol.md 1.2), and the header must fit in TCP_TX_HDR_MAX bytes, the
 * buffer size tcp_pdu.h tells callers to provide.
 */
START_TEST(test_capsule_all_cpda)
{
	unsigned cpda = (unsigned)_i / 4;
	bool hd = _i & 1, dd = _i & 2;
	uint32_t a = (cpda + 1) * 4, hl = hd ? 76 : 72;
	uint32_t pdo = (hl + a - 1) / a * a;
	struct tcp_pdu_cfg cfg = mkcfg(hd, dd, 4, a);
	struct nvmf_sqe sqe;
	uint8_t buf[BUFSZ];
	uint32_t plen = 0;
	size_t n;

	mk_sqe(&sqe);
	fill(buf, sizeof(buf), CANARY);
	n = tcp_capsule_build(buf, &sqe, 4096, &cfg, &plen);
	ck_assert_msg(n == pdo && buf[3] == pdo, "CPDA %u hd %d: returned %zu, PDO %u, expected %u",
		      cpda, hd, n, buf[3], pdo);
	ck_assert_msg(plen == pdo + 4096 + (dd ? 4 : 0), "CPDA %u: plen %u", cpda, plen);
	ck_assert_msg(all_eq(buf + hl, pdo - hl, 0), "CPDA %u: PAD not zero", cpda);
	ck_assert_msg(all_eq(buf + pdo, BUFSZ - pdo, CANARY), "CPDA %u: wrote past PDO", cpda);
	ck_assert_msg(n <= TCP_TX_HDR_MAX,
		      "CPDA %u (txpda %u) hd %d: header is %zu bytes, more than TCP_TX_HDR_MAX (%d): "
		      "a caller's buffer overflows", cpda, a, hd, n, TCP_TX_HDR_MAX);
}
END_TEST

/* ---- H2CData build --------------------------------------------------------- */

struct h2c_case {
	const char *name;
	bool hd, dd;
	uint32_t txpda;
	uint32_t datao, datal;
	bool last;
	uint8_t want[24];	/* expected CH + PSH */
	size_t n;		/* expected return (= PDO) */
};

/* cccid 0x1234, ttag bytes AB CD in every case */
static const struct h2c_case h2c_cases[] = {
	{ "plain, last", false, false, 4, 0x1000, 0x200, true,
	  { 0x06, 0x04, 0x18, 0x18, 0x18, 0x02, 0x00, 0x00, 0x34, 0x12, 0xAB, 0xCD,
	    0x00, 0x10, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0, 0, 0, 0 }, 24 },
	{ "plain, not last", false, false, 4, 0, 4096, false,
	  { 0x06, 0x00, 0x18, 0x18, 0x18, 0x10, 0x00, 0x00, 0x34, 0x12, 0xAB, 0xCD,
	    0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0, 0, 0, 0 }, 24 },
	{ "hd+dd, not last", true, true, 4, 0x01020304, 4096, false,
	  { 0x06, 0x03, 0x18, 0x1C, 0x20, 0x10, 0x00, 0x00, 0x34, 0x12, 0xAB, 0xCD,
	    0x04, 0x03, 0x02, 0x01, 0x00, 0x10, 0x00, 0x00, 0, 0, 0, 0 }, 28 },
	{ "hd, last", true, false, 4, 0, 4096, true,
	  { 0x06, 0x05, 0x18, 0x1C, 0x1C, 0x10, 0x00, 0x00, 0x34, 0x12, 0xAB, 0xCD,
	    0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0, 0, 0, 0 }, 28 },
	{ "dd, last", false, true, 4, 0, 4096, true,
	  { 0x06, 0x06, 0x18, 0x18, 0x1C, 0x10, 0x00, 0x00, 0x34, 0x12, 0xAB, 0xCD,
	    0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0, 0, 0, 0 }, 24 },
	{ "hd+dd+last, txpda 128", true, true, 128, 0x10000, 4096, true,
	  { 0x06, 0x07, 0x18, 0x80, 0x84, 0x10, 0x00, 0x00, 0x34, 0x12, 0xAB, 0xCD,
	    0x00, 0x00, 0x01, 0x00, 0x00, 0x10, 0x00, 0x00, 0, 0, 0, 0 }, 128 },
	{ "plain, txpda 32", false, false, 32, 0, 4096, true,
	  { 0x06, 0x04, 0x18, 0x20, 0x20, 0x10, 0x00, 0x00, 0x34, 0x12, 0xAB, 0xCD,
	    0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0, 0, 0, 0 }, 32 },
	{ "hd, txpda 8", true, false, 8, 0, 1, true,
	  { 0x06, 0x05, 0x18, 0x20, 0x21, 0x00, 0x00, 0x00, 0x34, 0x12, 0xAB, 0xCD,
	    0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0, 0, 0, 0 }, 32 },
	{ "large datao/datal", false, false, 4, 0xFFFFFFF0u, 0x00FFFFF0u, true,
	  { 0x06, 0x04, 0x18, 0x18, 0x08, 0x00, 0x00, 0x01, 0x34, 0x12, 0xAB, 0xCD,
	    0xF0, 0xFF, 0xFF, 0xFF, 0xF0, 0xFF, 0xFF, 0x00, 0, 0, 0, 0 }, 24 },
};

START_TEST(test_h2c_build)
{
	const struct h2c_case *c = &h2c_cases[_i];
	struct tcp_pdu_cfg cfg = mkcfg(c->hd, c->dd, 4, c->txpda);
	uint8_t buf[BUFSZ];
	uint16_t ttag;
	size_t n, hl = c->hd ? 28 : 24;

	memcpy(&ttag, (const uint8_t[]){ 0xAB, 0xCD }, 2);	/* opaque, wire order */
	fill(buf, sizeof(buf), CANARY);
	n = tcp_h2c_build(buf, 0x1234, ttag, c->datao, c->datal, c->last, &cfg);
	ck_assert_msg(n == c->n, "%s: returned %zu, expected %zu", c->name, n, c->n);
	hexdump_diff(c->name, buf, c->want, 24);
	if (c->hd)
		ck_assert_msg(r32(buf + 24) == crc32c(c->want, 24), "%s: HDGST 0x%08x, expected 0x%08x",
			      c->name, r32(buf + 24), crc32c(c->want, 24));
	ck_assert_msg(all_eq(buf + hl, n - hl, 0), "%s: PAD not zero", c->name);
	ck_assert_msg(all_eq(buf + n, BUFSZ - n, CANARY), "%s: wrote past PDO", c->name);
}
END_TEST

START_TEST(test_h2c_all_cpda)
{
	unsigned cpda = (unsigned)_i / 2;
	bool hd = _i & 1;
	uint32_t a = (cpda + 1) * 4, hl = hd ? 28 : 24;
	uint32_t pdo = (hl + a - 1) / a * a;
	struct tcp_pdu_cfg cfg = mkcfg(hd, true, 4, a);
	uint8_t buf[BUFSZ];
	size_t n;

	fill(buf, sizeof(buf), CANARY);
	n = tcp_h2c_build(buf, 1, 2, 0, 512, true, &cfg);
	ck_assert_msg(n == pdo && buf[3] == pdo, "CPDA %u hd %d: returned %zu PDO %u, expected %u",
		      cpda, hd, n, buf[3], pdo);
	ck_assert_uint_eq(r32(buf + 4), pdo + 512 + 4);
	ck_assert_msg(n <= TCP_TX_HDR_MAX, "CPDA %u: %zu > TCP_TX_HDR_MAX", cpda, n);
	ck_assert_msg(all_eq(buf + pdo, BUFSZ - pdo, CANARY), "CPDA %u: wrote past PDO", cpda);
}
END_TEST

/* ---- H2CTermReq build --------------------------------------------------------- */

struct term_case {
	uint16_t fes;
	uint32_t fei;
	size_t bad_len;
	size_t want_plen;
};

static const struct term_case term_cases[] = {
	{ 0x0001, 0x0A0B0C0D, 0, 24 },
	{ 0x0002, 0, 8, 32 },
	{ 0x0003, 0xFFFFFFFFu, 28, 52 },
	{ 0x0006, 11, 127, 151 },
	{ 0x0001, 3, 128, 152 },
	{ 0x0001, 4, 129, 152 },
	{ 0x0005, 0, 500, 152 },
};

START_TEST(test_term_build)
{
	const struct term_case *c = &term_cases[_i];
	uint8_t bad[600], buf[BUFSZ], want[24];
	size_t n;

	for (size_t i = 0; i < sizeof(bad); i++)
		bad[i] = (uint8_t)(i * 7 + 1);
	memset(want, 0, sizeof(want));
	want[0] = 0x02;
	want[2] = 0x18;
	w32(want + 4, (uint32_t)c->want_plen);
	w16(want + 8, c->fes);
	w32(want + 10, c->fei);

	fill(buf, sizeof(buf), CANARY);
	n = tcp_term_build(buf, c->fes, c->fei, c->bad_len ? bad : NULL, c->bad_len);
	ck_assert_msg(n == c->want_plen, "bad_len %zu: returned %zu, expected %zu", c->bad_len, n,
		      c->want_plen);
	hexdump_diff("H2CTermReq header", buf, want, 24);
	ck_assert_msg(memcmp(buf + 24, bad, c->want_plen - 24) == 0, "offending header not copied");
	ck_assert_msg(all_eq(buf + c->want_plen, BUFSZ - c->want_plen, CANARY),
		      "bad_len %zu: wrote past PLEN", c->bad_len);
}
END_TEST

/* ---- round trips ------------------------------------------------------------- */

START_TEST(test_roundtrip_term)
{
	/* An H2CTermReq with its type changed to C2HTermReq is a valid C2H
	 * TermReq with the same FES/FEI/PLEN, whatever digests are on. */
	for (int hd = 0; hd < 2; hd++) {
		struct tcp_pdu_cfg cfg = mkcfg(hd, hd, 4, 4);
		uint8_t bad[200], buf[BUFSZ];
		struct tcp_c2h out;
		struct tcp_pdu_err err;
		size_t lens[] = { 0, 24, 128, 200 };

		memset(bad, 0x33, sizeof(bad));
		for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
			size_t n = tcp_term_build(buf, 0x0004, 0x12345678, bad, lens[i]);
			int rc;

			buf[0] = T_C2HTERM;
			rc = tcp_c2h_parse(buf, 24, &cfg, &out, &err);
			ck_assert_msg(rc == 0, "len %zu: %s", lens[i], err.msg);
			ck_assert_uint_eq(out.fes, 4);
			ck_assert_uint_eq(out.fei, 0x12345678);
			ck_assert_uint_eq(out.plen, n);
			ck_assert_uint_eq(out.term_extra, n - 24);
		}
	}
}
END_TEST

START_TEST(test_roundtrip_h2c_as_c2h)
{
	/* H2CData and C2HData share a layout. A built H2CData header with the
	 * type byte patched to C2HData (and HDGST recomputed for the new type
	 * byte) must pass the C2H parser when RX alignment equals TX alignment,
	 * with consistent lengths. */
	static const uint32_t pdas[] = { 4, 8, 32, 128 };

	for (size_t p = 0; p < ARRAY_SIZE(pdas); p++) {
		for (int d = 0; d < 4; d++) {
			bool hd = d & 1, dd = d & 2;
			struct tcp_pdu_cfg cfg = mkcfg(hd, dd, pdas[p], pdas[p]);
			uint8_t buf[BUFSZ];
			struct tcp_c2h out;
			struct tcp_pdu_err err;
			size_t n;
			int rc;

			n = tcp_h2c_build(buf, 77, 0, 8192, 1000, true, &cfg);
			if (hd)	/* the builder's digest is over the H2C header */
				ck_assert_uint_eq(r32(buf + 24), crc32c(buf, 24));
			buf[0] = T_C2HDATA;
			if (hd)
				put_hdgst(buf, 24);
			rc = tcp_c2h_parse(buf, hd ? 28 : 24, &cfg, &out, &err);
			ck_assert_msg(rc == 0, "pda %u hd %d dd %d: %s", pdas[p], hd, dd, err.msg);
			ck_assert_uint_eq(out.pdo, n);
			ck_assert_uint_eq(out.hdr_len + out.pad, n);
			ck_assert_uint_eq(out.data_len, 1000);
			ck_assert_uint_eq(out.datal, 1000);
			ck_assert_uint_eq(out.datao, 8192);
			ck_assert_uint_eq(out.cccid, 77);
			ck_assert_uint_eq(out.ddgst, dd);
			ck_assert_uint_eq(out.plen, n + 1000 + (dd ? 4 : 0));
			ck_assert_int_eq(tcp_c2h_data_check(&out, 8192, 9192, &err), 0);
		}
	}
}
END_TEST

START_TEST(test_roundtrip_r2t_ttag)
{
	/* The TTAG of a parsed R2T goes into the H2CData unchanged, byte for
	 * byte, whatever the host's endianness (protocol.md 1.5). */
	static const uint8_t tags[][2] = { { 0x01, 0x00 }, { 0x00, 0x01 }, { 0xFE, 0xCA }, { 0xFF, 0xFF } };

	for (size_t i = 0; i < ARRAY_SIZE(tags); i++) {
		struct tcp_pdu_cfg cfg = mkcfg(true, false, 4, 4);
		uint8_t r2t[28], buf[BUFSZ];
		struct tcp_c2h out;
		struct tcp_pdu_err err;

		mk_c2h(r2t, T_R2T, F_H, 24, 0, 28, 4096, 4096);
		memcpy(r2t + 10, tags[i], 2);
		w16(r2t + 8, 0x0102);
		put_hdgst(r2t, 24);
		ck_assert_int_eq(tcp_c2h_parse(r2t, sizeof(r2t), &cfg, &out, &err), 0);
		ck_assert_int_eq(tcp_r2t_check(&out, 4096, 8192, &err), 0);
		tcp_h2c_build(buf, out.cccid, out.ttag, out.datao, out.datal, true, &cfg);
		ck_assert_msg(buf[8] == 0x02 && buf[9] == 0x01, "CCCID bytes %02x %02x", buf[8], buf[9]);
		ck_assert_msg(buf[10] == tags[i][0] && buf[11] == tags[i][1],
			      "TTAG %02x %02x came back as %02x %02x", tags[i][0], tags[i][1], buf[10],
			      buf[11]);
	}
}
END_TEST

/* ---- strings ------------------------------------------------------------------ */

START_TEST(test_strings)
{
	static const uint8_t known[] = { 0, 1, 2, 3, 4, 5, 6, 7, 9 };

	for (unsigned t = 0; t < 256; t++) {
		const char *s = tcp_pdu_type_str((uint8_t)t);

		ck_assert_msg(s && *s, "type 0x%02x has no name", t);
	}
	for (size_t i = 0; i < ARRAY_SIZE(known); i++)
		for (size_t j = i + 1; j < ARRAY_SIZE(known); j++)
			ck_assert_str_ne(tcp_pdu_type_str(known[i]), tcp_pdu_type_str(known[j]));
	ck_assert_str_ne(tcp_pdu_type_str(9), tcp_pdu_type_str(8));
	for (unsigned f = 0; f < 10; f++)
		ck_assert_msg(tcp_fes_str((uint16_t)f) && *tcp_fes_str((uint16_t)f), "FES %u", f);
	ck_assert_msg(tcp_fes_str(0xFFFF) != NULL, "FES 0xffff");
	ck_assert_str_ne(tcp_fes_str(TCP_FES_SEQUENCE), tcp_fes_str(TCP_FES_OUT_OF_RANGE));
}
END_TEST

static Suite *tcp_pdu_suite(void)
{
	Suite *s = suite_create("tcp_pdu");
	TCase *tc;

	tc = tcase_create("ic");
	tcase_add_loop_test(tc, test_icreq_bytes, 0, (int)ARRAY_SIZE(icreq_cases));
	tcase_add_loop_test(tc, test_icresp_parse, 0, (int)ARRAY_SIZE(icresp_cases));
	tcase_add_test(tc, test_icresp_reserved_dgst_bits);
	suite_add_tcase(s, tc);

	tc = tcase_create("c2h_parse");
	tcase_add_test(tc, test_hdr_len_all_types);
	tcase_add_loop_test(tc, test_c2h_parse, 0, (int)ARRAY_SIZE(parse_cases));
	tcase_add_test(tc, test_c2h_parse_truncated);
	tcase_add_test(tc, test_c2h_parse_hdgst_covers_psh);
	tcase_add_test(tc, test_c2h_parse_bad_types);
	tcase_add_test(tc, test_c2h_parse_pdo_beyond_plen);
	suite_add_tcase(s, tc);

	tc = tcase_create("sequence");
	tcase_add_loop_test(tc, test_c2h_data_check, 0, (int)ARRAY_SIZE(data_cases));
	tcase_add_loop_test(tc, test_r2t_check, 0, (int)ARRAY_SIZE(r2t_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("build");
	tcase_add_test(tc, test_capsule_worked_example_plain);
	tcase_add_test(tc, test_capsule_worked_example_digests);
	tcase_add_loop_test(tc, test_capsule_no_data, 0, (int)ARRAY_SIZE(nodata_cases));
	tcase_add_test(tc, test_capsule_cpda31_padding);
	tcase_add_loop_test(tc, test_capsule_all_cpda, 0, 32 * 4);
	tcase_add_loop_test(tc, test_h2c_build, 0, (int)ARRAY_SIZE(h2c_cases));
	tcase_add_loop_test(tc, test_h2c_all_cpda, 0, 32 * 2);
	tcase_add_loop_test(tc, test_term_build, 0, (int)ARRAY_SIZE(term_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("roundtrip");
	tcase_add_test(tc, test_roundtrip_term);
	tcase_add_test(tc, test_roundtrip_h2c_as_c2h);
	tcase_add_test(tc, test_roundtrip_r2t_ttag);
	tcase_add_test(tc, test_strings);
	suite_add_tcase(s, tc);
	return s;
}

/* Under AddressSanitizer fork() per test is slow (hundreds of table rows);
 * ASan already pinpoints a crash, so run in-process unless CK_FORK says. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

int main(void)
{
	SRunner *sr = srunner_create(tcp_pdu_suite());
	int failed;

#ifdef UNDER_ASAN
	if (!getenv("CK_FORK"))
		srunner_set_fork_status(sr, CK_NOFORK);
#endif
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
