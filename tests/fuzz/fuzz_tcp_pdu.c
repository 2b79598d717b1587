/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the NVMe/TCP receive-side codec (src/transport/tcp_pdu.c):
 * tcp_c2h_hdr_len, tcp_c2h_parse, tcp_icresp_parse, tcp_c2h_data_check,
 * tcp_r2t_check, plus tcp_term_build with the input as the offending header.
 *
 * Every call must stay inside its input (the bytes are copied to an
 * exact-size heap block so AddressSanitizer sees any overread) and every
 * verdict is compared with an independent model of the wire rules in
 * protocol.md section 1 (validation order, PDO/PLEN rules, lowest-field
 * FEI). Any disagreement abort()s with a description.
 *
 * Input layout:
 *   byte 0  bit 0 header digest negotiated, bit 1 data digest negotiated,
 *           bits 2-6 HPDA (rxpda = (HPDA+1)*4),
 *           bit 7 rewrite bytes 24..27 with the correct HDGST first, so the
 *           fuzzer gets past the digest to the checks behind it
 *   byte 1  bit 0/1 digests the host asked for (ICResp), bits 2-3 pick the
 *           data offset expected so far, bits 4-7 pick the command length
 *           for the sequence checks
 *   rest    the PDU header bytes
 *
 * Built two ways:
 *  - `make check` links it with tests/fuzz/fuzz_main.c, a standalone driver
 *    that replays tests/fuzz/corpus and a fixed number of deterministic
 *    random and mutated inputs (a regression test, a few seconds).
 *  - The real libFuzzer binary, with clang (no fuzz_main.c):
 *      clang -g -O1 -fsanitize=fuzzer,address,undefined -I src \
 *          tests/fuzz/fuzz_tcp_pdu.c src/transport/tcp_pdu.c \
 *          src/transport/crc32c.c -o fuzz_tcp_pdu
 *      mkdir -p /tmp/fuzz-corpus
 *      ./fuzz_tcp_pdu -max_len=300 /tmp/fuzz-corpus tests/fuzz/corpus
 *    (new inputs go to the first directory; crashes to ./crash-*; replay
 *    one with ./fuzz_tcp_pdu crash-<hash>, or with the standalone driver:
 *    tests/fuzz/fuzz_tcp_pdu crash-<hash>).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport/crc32c.h"
#include "transport/tcp_pdu.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void check_err(int rc, const struct tcp_pdu_err *err)
{
	FZ_ASSERT(rc == -EPROTO || rc == -EBADMSG, "rc %d", rc);
	FZ_ASSERT((rc == -EBADMSG) == (err->fes == TCP_FES_HDGST), "rc %d with FES %u", rc, err->fes);
	FZ_ASSERT(err->fes >= TCP_FES_INVALID_HEADER && err->fes <= TCP_FES_UNSUPPORTED, "FES %u",
		  err->fes);
	FZ_ASSERT(memchr(err->msg, 0, sizeof(err->msg)) != NULL, "message not terminated");
	FZ_ASSERT(err->msg[0] != '\0', "empty message");
}

/* ---- model of tcp_c2h_hdr_len / tcp_c2h_parse (protocol.md 1.1-1.5) ---- */

struct verdict {
	int rc;			/* 0, -EPROTO, -EBADMSG */
	uint16_t fes;
	uint32_t fei;
	bool fei_alt_ok;	/* PDO > PLEN: FEI 3 or 4 both acceptable */
};

static struct verdict bad(uint16_t fes, uint32_t fei)
{
	struct verdict v = { fes == TCP_FES_HDGST ? -EBADMSG : -EPROTO, fes, fei, false };

	return v;
}

static int model_hdr_len(uint8_t type, bool hd)
{
	switch (type) {
	case 0x03:
		return 24;
	case 0x05:
	case 0x07:
	case 0x09:
		return hd ? 28 : 24;
	default:
		return -1;
	}
}

static struct verdict model_parse(const uint8_t *b, size_t len, const struct tcp_pdu_cfg *cfg)
{
	struct verdict ok = { 0, 0, 0, false };
	uint8_t type, flags, hlen, pdo;
	uint32_t plen, hl, dd;
	int need;

	if (len < 8)
		return bad(TCP_FES_INVALID_HEADER, 0);
	type = b[0];
	flags = b[1];
	hlen = b[2];
	pdo = b[3];
	plen = rd32(b + 4);
	if (type == 0x01)
		return bad(TCP_FES_SEQUENCE, 0);
	need = model_hdr_len(type, cfg->hdgst);
	if (need < 0)
		return bad(TCP_FES_INVALID_HEADER, 0);
	if (len < (size_t)need)
		return bad(TCP_FES_INVALID_HEADER, 0);

	if (type == 0x03) {	/* C2HTermReq: no digests ever */
		if (flags)
			return bad(TCP_FES_INVALID_HEADER, 1);
		if (hlen != 24)
			return bad(TCP_FES_INVALID_HEADER, 2);
		if (pdo)
			return bad(TCP_FES_INVALID_HEADER, 3);
		if (plen < 24 || plen > 152)
			return bad(TCP_FES_INVALID_HEADER, 4);
		return ok;
	}

	/* flags: defined bits only, HDGSTF as negotiated; for C2HData also
	 * DDGSTF as negotiated (it always carries data) and SUCCESS => LAST */
	if (flags & ~(type == 0x07 ? 0x0F : 0x01))
		return bad(TCP_FES_INVALID_HEADER, 1);
	if (!!(flags & 0x01) != cfg->hdgst)
		return bad(TCP_FES_INVALID_HEADER, 1);
	if (type == 0x07) {
		if (!!(flags & 0x02) != cfg->ddgst)
			return bad(TCP_FES_INVALID_HEADER, 1);
		if ((flags & 0x08) && !(flags & 0x04))
			return bad(TCP_FES_INVALID_HEADER, 1);
	}
	if (hlen != 24)
		return bad(TCP_FES_INVALID_HEADER, 2);
	hl = cfg->hdgst ? 28 : 24;
	dd = (type == 0x07 && cfg->ddgst) ? 4 : 0;
	if (type != 0x07) {
		if (pdo)
			return bad(TCP_FES_INVALID_HEADER, 3);
		if (plen != hl)
			return bad(TCP_FES_INVALID_HEADER, 4);
	} else {
		if (pdo < hl || pdo % cfg->rxpda)
			return bad(TCP_FES_INVALID_HEADER, 3);
		if (pdo > plen) {
			struct verdict v = bad(TCP_FES_INVALID_HEADER, 3);

			v.fei_alt_ok = true;
			return v;
		}
		if (plen < pdo + dd)
			return bad(TCP_FES_INVALID_HEADER, 4);
	}
	if (cfg->hdgst && crc32c(b, 24) != rd32(b + 24))
		return bad(TCP_FES_HDGST, 0);
	if (type == 0x07) {
		uint32_t datal = rd32(b + 16);

		if (datal == 0 || datal != plen - pdo - dd)
			return bad(TCP_FES_INVALID_HEADER, 16);
	}
	if (type == 0x09 && rd32(b + 16) == 0)
		return bad(TCP_FES_INVALID_HEADER, 16);
	return ok;
}

static void check_decoded(const uint8_t *b, const struct tcp_c2h *o, const struct tcp_pdu_cfg *cfg)
{
	uint32_t hl = cfg->hdgst ? 28 : 24;

	FZ_ASSERT(o->type == b[0] && o->flags == b[1] && o->hlen == b[2] && o->pdo == b[3] &&
		  o->plen == rd32(b + 4), "CH decode");
	switch (o->type) {
	case 0x03:
		FZ_ASSERT(o->hdr_len == 24, "term hdr_len %u", o->hdr_len);
		FZ_ASSERT(o->plen >= 24 && o->plen <= 152, "term plen %u", o->plen);
		FZ_ASSERT(o->term_extra == o->plen - 24, "term_extra %u", o->term_extra);
		FZ_ASSERT(o->fes == rd16(b + 8) && o->fei == rd32(b + 10), "term fes/fei");
		FZ_ASSERT(o->data_len == 0 && o->pad == 0 && !o->ddgst, "term data");
		break;
	case 0x05:
		FZ_ASSERT(o->hdr_len == hl && o->plen == hl, "resp lengths");
		FZ_ASSERT(o->pad == 0 && o->data_len == 0 && !o->ddgst, "resp data");
		FZ_ASSERT(memcmp(&o->cqe, b + 8, 16) == 0, "resp CQE");
		break;
	case 0x09:
		FZ_ASSERT(o->hdr_len == hl && o->plen == hl, "r2t lengths");
		FZ_ASSERT(o->pad == 0 && o->data_len == 0 && !o->ddgst, "r2t data");
		FZ_ASSERT(o->cccid == rd16(b + 8) && memcmp(&o->ttag, b + 10, 2) == 0, "r2t ids");
		FZ_ASSERT(o->datao == rd32(b + 12) && o->datal == rd32(b + 16) && o->datal, "r2t range");
		break;
	case 0x07:
		FZ_ASSERT(o->hdr_len == hl, "data hdr_len %u", o->hdr_len);
		FZ_ASSERT(o->ddgst == cfg->ddgst, "data ddgst");
		FZ_ASSERT((uint64_t)o->hdr_len + o->pad + o->data_len + (o->ddgst ? 4 : 0) == o->plen,
			  "hdr_len %u + pad %u + data_len %u + ddgst %d != plen %u", o->hdr_len, o->pad,
			  o->data_len, o->ddgst, o->plen);
		FZ_ASSERT(o->hdr_len + o->pad == o->pdo, "pdo %u", o->pdo);
		FZ_ASSERT(o->pdo % cfg->rxpda == 0, "pdo %u rxpda %u", o->pdo, cfg->rxpda);
		FZ_ASSERT(o->data_len > 0 && o->datal == o->data_len, "datal %u data_len %u", o->datal,
			  o->data_len);
		FZ_ASSERT(o->cccid == rd16(b + 8) && o->datao == rd32(b + 12), "data ids");
		FZ_ASSERT(!(o->flags & TCP_F_SUCCESS) || (o->flags & TCP_F_LAST), "SUCCESS w/o LAST");
		break;
	default:
		FZ_ASSERT(0, "parse accepted type 0x%02x", o->type);
	}
	if (o->type != 0x03)
		FZ_ASSERT(!!(o->flags & TCP_F_HDGST) == cfg->hdgst, "HDGSTF");
	if (cfg->hdgst && o->type != 0x03)
		FZ_ASSERT(crc32c(b, 24) == rd32(b + 24), "accepted a bad header digest");
}

/* ---- sequence checks --------------------------------------------------- */

static void pick_context(uint8_t sel, const struct tcp_c2h *o, uint32_t *done, uint32_t *buf_len)
{
	uint32_t end = o->datao + o->datal;	/* may wrap: that is a case too */

	switch ((sel >> 2) & 3) {
	case 0: *done = o->datao; break;
	case 1: *done = o->datao - 4096; break;
	case 2: *done = o->datao + 1; break;
	default: *done = 0; break;
	}
	switch (sel >> 4) {
	case 0: case 1: case 2: case 3: *buf_len = end; break;
	case 4: case 5: *buf_len = end - 1; break;
	case 6: case 7: *buf_len = end + 4096; break;
	case 8: *buf_len = 0xFFFFFFFFu; break;
	case 9: *buf_len = o->datal; break;
	case 10: *buf_len = 0; break;
	case 11: *buf_len = end + 1; break;
	default: *buf_len = o->datao + (o->datal >> 1); break;
	}
}

static void run_sequence(uint8_t sel, const struct tcp_c2h *o)
{
	struct tcp_pdu_err err;
	uint32_t done, buf_len;
	uint64_t end = (uint64_t)o->datao + o->datal;
	bool over, seq;
	int rc;

	pick_context(sel, o, &done, &buf_len);
	memset(&err, 0, sizeof(err));
	over = end > buf_len;
	seq = o->datao != done;
	if (o->type == 0x07) {
		bool last_bad = !!(o->flags & TCP_F_LAST) != (end == buf_len);

		rc = tcp_c2h_data_check(o, done, buf_len, &err);
		FZ_ASSERT((rc == 0) == !(over || seq || last_bad),
			  "c2h_data_check rc %d: datao %u datal %u flags 0x%x done %u buf %u", rc,
			  o->datao, o->datal, o->flags, done, buf_len);
		if (rc) {
			check_err(rc, &err);
			FZ_ASSERT((over && err.fes == TCP_FES_OUT_OF_RANGE) ||
				  ((seq || last_bad) && err.fes == TCP_FES_SEQUENCE),
				  "c2h_data_check FES %u (over %d seq %d last %d)", err.fes, over, seq,
				  last_bad);
		}
	} else if (o->type == 0x09) {
		rc = tcp_r2t_check(o, done, buf_len, &err);
		FZ_ASSERT((rc == 0) == !(over || seq),
			  "r2t_check rc %d: r2to %u r2tl %u sent %u buf %u", rc, o->datao, o->datal,
			  done, buf_len);
		if (rc) {
			check_err(rc, &err);
			FZ_ASSERT((over && err.fes == TCP_FES_OUT_OF_RANGE) ||
				  (seq && err.fes == TCP_FES_SEQUENCE), "r2t_check FES %u", err.fes);
		}
	}
}

/* ---- ICResp model --------------------------------------------------------- */

static void run_icresp(const uint8_t *b, bool wh, bool wd)
{
	struct tcp_icresp out;
	struct tcp_pdu_err err;
	uint32_t maxh = rd32(b + 12);
	uint8_t dg = b[11];
	int want_fei = -1, rc;

	if (b[0] != 0x01) want_fei = 0;
	else if (b[1]) want_fei = 1;
	else if (b[2] != 128) want_fei = 2;
	else if (b[3]) want_fei = 3;
	else if (rd32(b + 4) != 128) want_fei = 4;
	else if (rd16(b + 8)) want_fei = 8;
	else if (b[10] > 31) want_fei = 10;
	else if ((dg & ~3u) || ((dg & 1) && !wh) || ((dg & 2) && !wd)) want_fei = 11;
	else if (maxh < 4096 || maxh % 4) want_fei = 12;

	memset(&err, 0, sizeof(err));
	rc = tcp_icresp_parse(b, wh, wd, &out, &err);
	if (want_fei < 0) {
		FZ_ASSERT(rc == 0, "valid ICResp refused: %s", err.msg);
		FZ_ASSERT(out.cpda == b[10] && out.hdgst == !!(dg & 1) && out.ddgst == !!(dg & 2) &&
			  out.maxh2cdata == maxh, "ICResp decode");
	} else {
		FZ_ASSERT(rc == -EPROTO, "invalid ICResp (field %d) gave rc %d", want_fei, rc);
		check_err(rc, &err);
		FZ_ASSERT(err.fei == (uint32_t)want_fei, "ICResp FEI %u, expected %d", err.fei, want_fei);
	}
}

/* ---- entry point ------------------------------------------------------------ */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tcp_pdu_cfg cfg;
	struct tcp_pdu_err err;
	struct tcp_c2h out;
	struct verdict v;
	uint8_t *b, *term;
	size_t n, tn;
	int rc;

	if (size < 2)
		return 0;
	memset(&cfg, 0, sizeof(cfg));
	cfg.hdgst = data[0] & 1;
	cfg.ddgst = data[0] & 2;
	cfg.rxpda = (((data[0] >> 2) & 31u) + 1) * 4;
	cfg.txpda = 4;
	n = size - 2;
	b = malloc(n ? n : 1);		/* exact size: overreads hit ASan */
	if (!b)
		return 0;
	memcpy(b, data + 2, n);
	if ((data[0] & 0x80) && cfg.hdgst && n >= 28) {
		uint32_t c = crc32c(b, 24);

		b[24] = (uint8_t)c;
		b[25] = (uint8_t)(c >> 8);
		b[26] = (uint8_t)(c >> 16);
		b[27] = (uint8_t)(c >> 24);
	}

	if (n >= TCP_CH_LEN) {
		int want = model_hdr_len(b[0], cfg.hdgst);

		memset(&err, 0, sizeof(err));
		rc = tcp_c2h_hdr_len(b, &cfg, &err);
		if (want >= 0) {
			FZ_ASSERT(rc == want, "hdr_len type 0x%02x: %d, expected %d", b[0], rc, want);
		} else {
			FZ_ASSERT(rc == -EPROTO, "hdr_len type 0x%02x: %d", b[0], rc);
			check_err(rc, &err);
			FZ_ASSERT(err.fes == (b[0] == 0x01 ? TCP_FES_SEQUENCE : TCP_FES_INVALID_HEADER),
				  "hdr_len type 0x%02x FES %u", b[0], err.fes);
		}
	}

	v = model_parse(b, n, &cfg);
	memset(&err, 0, sizeof(err));
	rc = tcp_c2h_parse(b, n, &cfg, &out, &err);
	FZ_ASSERT(rc == v.rc, "parse rc %d, model %d (model FES %u FEI %u; code FES %u FEI %u: %s)",
		  rc, v.rc, v.fes, v.fei, err.fes, err.fei, err.msg);
	if (rc == 0) {
		check_decoded(b, &out, &cfg);
		run_sequence(data[1], &out);
	} else {
		check_err(rc, &err);
		FZ_ASSERT(err.fes == v.fes, "parse FES %u, model %u (%s)", err.fes, v.fes, err.msg);
		if (v.fes == TCP_FES_INVALID_HEADER || v.fes == TCP_FES_UNSUPPORTED)
			FZ_ASSERT(err.fei == v.fei || (v.fei_alt_ok && err.fei == 4),
				  "parse FEI %u, model %u (%s)", err.fei, v.fei, err.msg);
	}

	if (n >= TCP_IC_LEN)
		run_icresp(b, data[1] & 1, data[1] & 2);

	/* H2CTermReq carrying this input as the offending header. */
	term = malloc(TCP_TERM_MAX_PLEN);
	if (term) {
		tn = tcp_term_build(term, 0x0001, (uint32_t)n, b, n);
		FZ_ASSERT(tn == TCP_TERM_HLEN + (n < 128 ? n : 128), "term_build %zu for %zu", tn, n);
		FZ_ASSERT(rd32(term + 4) == tn && term[0] == 0x02 && term[2] == 24, "term header");
		FZ_ASSERT(memcmp(term + TCP_TERM_HLEN, b, tn - TCP_TERM_HLEN) == 0, "term copy");
		free(term);
	}
	free(b);
	return 0;
}
