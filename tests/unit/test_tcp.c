/* SPDX-License-Identifier: MIT */
/*
 * End-to-end tests of the NVMe/TCP transport and the controller bring-up
 * (src/transport/tcp.c, src/host/ctrl.c, fabrics.c, discovery.c) against
 * the fake controller in tests/unit/fake_target.c, over loopback TCP.
 *
 * Covered: association setup with every digest combination and shutdown;
 * reads and writes of 512 B .. 1 MiB with in-capsule data, R2T + many
 * H2CData PDUs, C2HData SUCCESS, CPDA padding; pipelined I/O; the
 * data-digest partial-completion contract; fatal transport errors (header
 * digest, bad PDU type/HLEN/PLEN, unknown CID, C2HTermReq, connection
 * closed); connection failures and their messages (refused, not NVMe/TCP,
 * no ICResp, ICReq rejected by C2HTermReq, unknown subnqn, denied host,
 * unanswered bring-up command); discovery (GENCTR changes, Discovery
 * Restart, MDTS-sized pieces); keep-alive; async events. Every test also
 * asserts that the fake target saw no violation of the wire rules by the
 * host.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "fake_target.h"
#include "host/nvmf.h"
#include "../nvmf-proxy-draw.h"

#define HOSTNQN "nqn.2014-08.org.nvmexpress:uuid:0f8c4f2e-3b5a-4d1e-9c7b-2a6d8e4f1b3c"
#define HOSTID "0f8c4f2e-3b5a-4d1e-9c7b-2a6d8e4f1b3c"
#define IO_TIMEOUT_MS 5000

/* ------------------------------------------------------------ helpers */

static uint64_t ms_since(uint64_t t0)
{
	return (nvmf_now_ns() - t0) / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static void fill_random(void *buf, size_t len)
{
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++) {
		rng_state ^= rng_state >> 12;
		rng_state ^= rng_state << 25;
		rng_state ^= rng_state >> 27;
		p[i] = (uint8_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 56);
	}
}

static struct ft *start_target(const struct ft_config *cfg)
{
	struct ft *ft = ft_start(cfg);

	ck_assert_ptr_nonnull(ft);
	return ft;
}

static void opts_fill(struct nvmf_ctrl_opts *o, struct ft *ft, const char *subnqn)
{
	memset(o, 0, sizeof(*o));
	o->transport = "tcp";
	o->traddr = "127.0.0.1";
	o->trsvcid = ft ? ft_port(ft) : "";
	o->subnqn = subnqn;
	o->hostnqn = HOSTNQN;
	o->hostid = HOSTID;
	o->timeout_ms = 3000;
}

static struct nvmf_ctrl *connect_ok(struct ft *ft, bool hd, bool dd, int nr_io, int kato_s)
{
	struct nvmf_ctrl_opts o;
	struct nvmf_ctrl *c = NULL;
	char err[256] = "";
	int rc;

	opts_fill(&o, ft, FT_SUBNQN);
	o.hdgst = hd;
	o.ddgst = dd;
	o.nr_io_queues = nr_io;
	o.kato_s = kato_s;
	rc = nvmf_ctrl_connect(&o, &c, err, sizeof(err));
	ck_assert_msg(rc == 0, "nvmf_ctrl_connect: %d (%s)", rc, err);
	ck_assert_ptr_nonnull(c);
	return c;
}

static void expect_clean(struct ft *ft)
{
	struct ft_stats st;

	ft_get_stats(ft, &st);
	ck_assert_msg(st.violations == 0, "host broke %u wire rule(s), first: %s",
		      st.violations, st.violation);
}

static void prep_io(struct nvmf_request *req, uint8_t opc, uint32_t nsid, uint64_t slba,
		    uint32_t len, uint32_t lba, void *buf)
{
	memset(req, 0, sizeof(*req));
	req->cmd.opc = opc;
	req->cmd.nsid = htole32(nsid);
	req->cmd.cdw10 = htole32((uint32_t)slba);
	req->cmd.cdw11 = htole32((uint32_t)(slba >> 32));
	req->cmd.cdw12 = htole32(len ? len / lba - 1 : 0);
	req->data = buf;
	req->data_len = len;
	req->dir = opc == 0x01 ? NVMF_DIR_H2C : opc == 0x02 ? NVMF_DIR_C2H : NVMF_DIR_NONE;
	req->timeout_ms = IO_TIMEOUT_MS;
}

static int io_sync(struct nvmf_qpair *qp, struct nvmf_request *req, uint8_t opc, uint32_t nsid,
		   uint64_t slba, uint32_t len, uint32_t lba, void *buf)
{
	prep_io(req, opc, nsid, slba, len, lba, buf);
	return nvmf_qpair_exec(qp, req);
}

static void expect_ok(const struct nvmf_request *req, int rc, const char *what)
{
	ck_assert_msg(rc == 0 && req->xport_err == 0 && NVMF_STATUS_CODE(req->status) == 0,
		      "%s: rc %d xport_err %d status 0x%03x", what, rc, req->xport_err,
		      NVMF_STATUS_CODE(req->status));
	ck_assert_msg(req->bytes_ok == req->data_len, "%s: bytes_ok %u of %u", what,
		      req->bytes_ok, req->data_len);
}

/* Compare a fixed-width, space-padded Identify string. */
static void expect_padded(const char *field, size_t width, const char *want)
{
	char buf[64];

	memset(buf, ' ', width);
	memcpy(buf, want, strlen(want));
	ck_assert_msg(!memcmp(field, buf, width), "Identify string '%.*s', want '%s'",
		      (int)width, field, want);
}

struct done {
	unsigned int calls;
};

static void done_cb(struct nvmf_request *req)
{
	((struct done *)req->cb_arg)->calls++;
}

static void poll_until_idle(struct nvmf_qpair *qp, int max_ms)
{
	uint64_t t0 = nvmf_now_ns();

	while (qp->outstanding && ms_since(t0) < (uint64_t)max_ms)
		if (nvmf_qpair_poll(qp, 20) < 0 && qp->state == NVMF_QP_FAILED)
			break;
}

/* ------------------------------------------------- association setup */

START_TEST(test_connect_digests)
{
	bool hd = _i & 1, dd = _i & 2;
	struct ft_config cfg;
	struct ft *ft;
	struct nvmf_ctrl *c;
	struct nvmf_request req;
	struct ft_stats st;
	uint8_t buf[4096], want[4096];
	int rc;

	ft_config_default(&cfg);
	ft = start_target(&cfg);
	c = connect_ok(ft, hd, dd, 2, 5);

	ck_assert_int_eq(c->state, NVMF_CTRL_LIVE);
	ft_get_stats(ft, &st);
	ck_assert_int_eq(st.hdgst, hd);
	ck_assert_int_eq(st.ddgst, dd);
	ck_assert_uint_eq(c->cntlid, st.cntlid);
	ck_assert_uint_eq(le16toh(c->id.cntlid), st.cntlid);
	expect_padded(c->id.mn, sizeof(c->id.mn), FT_MODEL);
	expect_padded(c->id.sn, sizeof(c->id.sn), FT_SERIAL);
	expect_padded(c->id.fr, sizeof(c->id.fr), FT_FIRMWARE);
	ck_assert_uint_eq(c->vs, 0x00010400);
	ck_assert_uint_eq(c->io_icd_max, 8192);
	ck_assert_uint_eq(st.admin_connects, 1);
	ck_assert_uint_eq(st.admin_kato, 5000);
	ck_assert_uint_eq(st.admin_sqsize, 31);
	ck_assert_uint_eq(st.enables, 1);
	{
		static const uint8_t id[16] = { 0x0f, 0x8c, 0x4f, 0x2e, 0x3b, 0x5a, 0x4d, 0x1e,
						0x9c, 0x7b, 0x2a, 0x6d, 0x8e, 0x4f, 0x1b, 0x3c };

		ck_assert(!memcmp(st.hostid, id, sizeof(id)));
	}

	ck_assert_int_eq(c->nr_ioq, 2);
	ck_assert_uint_eq(st.io_connects, 2);
	ck_assert_uint_le(st.io_sqsize, cfg.mqes);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(c->ioq[i]->state, NVMF_QP_LIVE);
		ck_assert_uint_eq(c->ioq[i]->qid, i + 1);
	}
	ck_assert_int_eq(c->nr_ns, 2);
	ck_assert_uint_eq(c->ns[0].nsid, 1);
	ck_assert_uint_eq(c->ns[0].nsze, cfg.nsze[0]);
	ck_assert_uint_eq(c->ns[0].lba_size, 512);
	ck_assert_uint_eq(c->ns[1].nsid, 2);
	ck_assert_uint_eq(c->ns[1].nsze, cfg.nsze[1]);
	ck_assert_uint_eq(c->ns[1].lba_size, 4096);
	ck_assert(c->aer_inflight);
	ck_assert_uint_eq(st.aers, 1);

	/* One read on each I/O queue. */
	for (int i = 0; i < 2; i++) {
		rc = io_sync(c->ioq[i], &req, 0x02, 1, 8, sizeof(buf), 512, buf);
		expect_ok(&req, rc, "read");
		ft_pattern(1, 8 * 512, want, sizeof(want));
		ck_assert(!memcmp(buf, want, sizeof(buf)));
	}

	nvmf_ctrl_disconnect(c);
	ft_get_stats(ft, &st);
	ck_assert_uint_eq(st.shutdowns, 1);
	ck_assert_uint_eq(st.shutdown_with_en, 1);
	ck_assert_uint_eq(st.cc & 0xc001, 0x4001);	/* SHN normal, EN kept */
	expect_clean(ft);
	ft_stop(ft);
}
END_TEST

START_TEST(test_connect_fewer_queues_granted)
{
	struct ft_config cfg;
	struct ft *ft;
	struct nvmf_ctrl *c;
	struct ft_stats st;

	ft_config_default(&cfg);
	cfg.max_ioq = 2;
	cfg.mqes = 15;
	ft = start_target(&cfg);
	c = connect_ok(ft, false, false, 4, 0);
	ck_assert_int_eq(c->nr_ioq, 2);
	ft_get_stats(ft, &st);
	ck_assert_uint_eq(st.io_connects, 2);
	ck_assert_uint_le(st.io_sqsize, 15);
	ck_assert_uint_le(c->ioq[0]->depth, 15);
	nvmf_ctrl_disconnect(c);
	expect_clean(ft);
	ft_stop(ft);
}
END_TEST

/*
 * nvme-cli's -w/-T/-f and -W (struct nvmf_ctrl_opts): every queue's
 * connection comes from the source address, the write queues are
 * connected as more I/O queues before the poll queues, and what cannot be
 * done is one line naming it.
 */
START_TEST(test_connect_host_side)
{
	struct ft_config cfg;
	struct nvmf_ctrl_opts o;
	struct nvmf_ctrl *c = NULL;
	struct ft_stats st;
	char err[256] = "";
	struct ft *ft;
	int rc;

	ft_config_default(&cfg);
	ft = start_target(&cfg);
	opts_fill(&o, ft, FT_SUBNQN);
	o.nr_io_queues = 1;
	o.nr_write_queues = 2;
	o.nr_poll_queues = 1;
	o.host_traddr = "127.0.0.2";	/* 127/8 is this host's on Linux */
	o.tos = 0x28;
	/* SO_BINDTODEVICE needs CAP_NET_RAW: only as root (the guest test does it always). */
	o.host_iface = geteuid() == 0 ? "lo" : NULL;
	if (!o.host_iface)
		printf("test_connect_host_side: not root, -f lo left out (needs CAP_NET_RAW)\n");
	rc = nvmf_ctrl_connect(&o, &c, err, sizeof(err));
	ck_assert_msg(rc == 0, "connect with -w -T -f -W -P: %d (%s)", rc, err);
	ck_assert_int_eq(c->nr_ioq, 4);		/* 1 + 2 write + 1 poll */
	ck_assert_int_eq(c->nr_poll_ioq, 1);	/* the last one */
	ft_get_stats(ft, &st);
	ck_assert_uint_eq(st.connections, 5);
	ck_assert_uint_eq(st.io_connects, 4);
	ck_assert_str_eq(st.peer, "127.0.0.2");
	ck_assert_uint_eq(st.peer_mixed, 0);	/* the admin queue's too */
	nvmf_ctrl_disconnect(c);

	/* An address this host does not have. */
	o.host_iface = NULL;
	o.host_traddr = "192.0.2.1";
	rc = nvmf_ctrl_connect(&o, &c, err, sizeof(err));
	ck_assert_int_eq(rc, -EADDRNOTAVAIL);
	ck_assert_msg(strstr(err, "cannot use host address 192.0.2.1") && !strchr(err, '\n'),
		      "message: %s", err);
	/* Another family than the target's. */
	o.host_traddr = "::1";
	rc = nvmf_ctrl_connect(&o, &c, err, sizeof(err));
	ck_assert_int_eq(rc, -EAFNOSUPPORT);
	ck_assert_msg(strstr(err, "::1 is not an IPv4 address"), "message: %s", err);
	/* No such interface (root only: as a user SO_BINDTODEVICE fails with EPERM first). */
	o.host_traddr = NULL;
	o.host_iface = "nosuch0";
	rc = nvmf_ctrl_connect(&o, &c, err, sizeof(err));
	if (geteuid() == 0) {
		ck_assert_int_eq(rc, -ENODEV);
		ck_assert_msg(strstr(err, "host interface nosuch0: no such interface"),
			      "message: %s", err);
	} else {
		ck_assert_int_lt(rc, 0);
		ck_assert_msg(strstr(err, "host interface nosuch0"), "message: %s", err);
	}
	ft_get_stats(ft, &st);
	ck_assert_uint_eq(st.connections, 5);	/* none of them reached the target */
	expect_clean(ft);
	ft_stop(ft);
}
END_TEST

/* ------------------------------------------------------------- I/O */

struct io_variant {
	const char *name;
	bool hd, dd;
	uint32_t maxh2cdata, c2h_chunk, r2t_chunk, ioccsz;
	uint8_t cpda;
	bool success;
	uint32_t c2h_align;
	bool dribble, small_rcvbuf;
	bool no_splice;			/* NVMFUSE_TCP_SPLICE=0 */
};

static const struct io_variant io_variants[] = {
	{ .name = "plain" },
	{ .name = "both digests", .hd = true, .dd = true },
	{ .name = "MAXH2CDATA 4096 + data digest", .maxh2cdata = 4096, .dd = true },
	{ .name = "64 KiB R2Ts of 4 KiB H2CData + header digest", .maxh2cdata = 4096, .r2t_chunk = 65536,
	  .hd = true },
	{ .name = "4 KiB C2HData with SUCCESS + digests", .c2h_chunk = 4096, .success = true, .hd = true,
	  .dd = true },
	{ .name = "CPDA 7 + digests", .cpda = 7, .hd = true, .dd = true },
	{ .name = "odd C2HData size 5000", .c2h_chunk = 5000, .dd = true },
	{ .name = "CPDA 31 + digests", .cpda = 31, .hd = true, .dd = true },
	{ .name = "C2HData PDO padded to 64 + digests", .c2h_align = 64, .c2h_chunk = 20000,
	  .hd = true, .dd = true },
	{ .name = "PDUs dribbled in small pieces + digests", .dribble = true, .c2h_chunk = 65536,
	  .maxh2cdata = 8192, .hd = true, .dd = true },
	{ .name = "4 KiB receive buffer at the target", .small_rcvbuf = true, .dd = true },
	{ .name = "IOCCSZ 4 (no in-capsule data on I/O queues)", .ioccsz = 4 },
	{ .name = "NVMFUSE_TCP_SPLICE=0 + data digest", .no_splice = true, .dd = true },
};

static const uint32_t io_sizes[] = { 512, 4096, 65536, 1024 * 1024 };

START_TEST(test_io_roundtrip)
{
	const struct io_variant *v = &io_variants[_i];
	struct ft_config cfg;
	struct ft *ft;
	struct nvmf_ctrl *c;
	struct nvmf_request req;
	struct ft_stats st;
	/* Page-aligned: large H2CData payloads go by reference (tcp.c, TCP_SPLICE_MIN). */
	uint8_t *wbuf = aligned_alloc(4096, 1024 * 1024), *rbuf = malloc(1024 * 1024);
	unsigned int writes = 0, small_writes = 0;
	int rc;

	ck_assert_ptr_nonnull(wbuf);
	ck_assert_ptr_nonnull(rbuf);
	ft_config_default(&cfg);
	if (v->maxh2cdata)
		cfg.maxh2cdata = v->maxh2cdata;
	if (v->c2h_chunk)
		cfg.c2h_chunk = v->c2h_chunk;
	if (v->ioccsz)
		cfg.ioccsz = v->ioccsz;
	cfg.r2t_chunk = v->r2t_chunk;
	cfg.cpda = v->cpda;
	cfg.c2h_success = v->success;
	cfg.c2h_align = v->c2h_align;
	cfg.dribble = v->dribble;
	cfg.small_rcvbuf = v->small_rcvbuf;
	ft = start_target(&cfg);
	if (v->no_splice)
		setenv("NVMFUSE_TCP_SPLICE", "0", 1);
	c = connect_ok(ft, v->hd, v->dd, 1, 0);
	unsetenv("NVMFUSE_TCP_SPLICE");

	for (size_t k = 0; k < sizeof(io_sizes) / sizeof(io_sizes[0]); k++) {
		uint32_t len = io_sizes[k];
		uint64_t slba = 4096 * k + 1;	/* odd LBA: not aligned to anything */

		/* Untouched data reads back as the target's pattern. */
		rc = io_sync(c->ioq[0], &req, 0x02, 1, slba, len, 512, rbuf);
		expect_ok(&req, rc, v->name);
		ft_pattern(1, slba * 512, wbuf, len);
		ck_assert_msg(!memcmp(rbuf, wbuf, len), "%s: read %u bytes differ", v->name, len);

		fill_random(wbuf, len);
		rc = io_sync(c->ioq[0], &req, 0x01, 1, slba, len, 512, wbuf);
		expect_ok(&req, rc, v->name);
		writes++;
		small_writes += len <= c->io_icd_max;
		memset(rbuf, 0, len);
		rc = io_sync(c->ioq[0], &req, 0x02, 1, slba, len, 512, rbuf);
		expect_ok(&req, rc, v->name);
		ck_assert_msg(!memcmp(rbuf, wbuf, len), "%s: %u bytes written then read differ",
			      v->name, len);
	}
	/* 4 KiB blocks on namespace 2. */
	fill_random(wbuf, 65536);
	rc = io_sync(c->ioq[0], &req, 0x01, 2, 3, 65536, 4096, wbuf);
	expect_ok(&req, rc, v->name);
	writes++;
	rc = io_sync(c->ioq[0], &req, 0x02, 2, 3, 65536, 4096, rbuf);
	expect_ok(&req, rc, v->name);
	ck_assert(!memcmp(rbuf, wbuf, 65536));
	rc = io_sync(c->ioq[0], &req, 0x00, 1, 0, 0, 512, NULL);
	expect_ok(&req, rc, "flush");

	ft_get_stats(ft, &st);
	ck_assert_uint_eq(st.writes, writes);
	ck_assert_uint_eq(st.flushes, 1);
	ck_assert_uint_eq(st.icd_writes, small_writes);
	if (cfg.maxh2cdata == 4096)	/* 64 KiB + 1 MiB + 64 KiB in 4 KiB pieces */
		ck_assert_uint_ge(st.h2c_pdus, (65536 + 1048576 + 65536) / 4096);
	if (cfg.r2t_chunk)
		ck_assert_uint_ge(st.r2ts, (65536 + 1048576 + 65536) / cfg.r2t_chunk);
	/* H2CData of 16 KiB or more went by reference, unless switched off. */
	if (v->no_splice || cfg.maxh2cdata < 16384)
		ck_assert_uint_eq(c->ioq[0]->stats.tx_by_ref, 0);
	else
		ck_assert_uint_ge(c->ioq[0]->stats.tx_by_ref, 1048576);
	nvmf_ctrl_disconnect(c);
	expect_clean(ft);
	ft_stop(ft);
	free(wbuf);
	free(rbuf);
}
END_TEST

/*
 * Sending by completion (qp->tx_by_loop, tx_prep/tx_done), as a worker's
 * io_uring does it, here by hand: each send takes a short, varying part
 * of what tx_prep handed out, and the next tx_prep must continue exactly
 * there (a write of 64 KiB in 4 KiB H2CData PDUs, then a read); no send
 * of the transport's own may happen meanwhile, and the target must see
 * every byte in order (it checks the PDUs, the data reads back intact).
 */
static int loop_send_some(struct nvmf_qpair *qp, size_t step, bool *saw_more)
{
	struct iovec *iov;
	struct msghdr msg = { 0 };
	size_t total = 0;
	short ev;
	bool more;
	int cnt, rc;
	ssize_t n;

	rc = qp->ops->tx_prep(qp, &iov, &cnt, &more);
	ck_assert_int_eq(rc, 0);
	if (!cnt)
		return 0;
	*saw_more |= more;
	/* In flight: nothing more is handed out, and the transport sends nothing. */
	{
		struct iovec *iov2;
		int cnt2;
		bool more2;

		ck_assert_int_eq(qp->ops->tx_prep(qp, &iov2, &cnt2, &more2), 0);
		ck_assert_int_eq(cnt2, 0);
	}
	for (int i = 0; i < cnt; i++)
		total += iov[i].iov_len;
	/* Only the first @step bytes (a short send). */
	struct iovec part[64];
	size_t left = step < total ? step : total;
	int np = 0;

	for (int i = 0; i < cnt && left; i++) {
		size_t k = iov[i].iov_len < left ? iov[i].iov_len : left;

		part[np++] = (struct iovec){ iov[i].iov_base, k };
		left -= k;
	}
	msg.msg_iov = part;
	msg.msg_iovlen = (size_t)np;
	n = sendmsg(qp->ops->pollfd(qp, &ev), &msg, MSG_NOSIGNAL);
	ck_assert_msg(n > 0, "sendmsg: %s", strerror(errno));
	ck_assert(!(ev & POLLOUT));	/* the loop sends: no POLLOUT asked for */
	return qp->ops->tx_done(qp, (int)n);
}

START_TEST(test_send_by_loop_partial)
{
	struct ft_config cfg;
	struct ft *ft;
	struct nvmf_ctrl *c;
	struct nvmf_qpair *qp;
	struct nvmf_request req;
	struct done d = { 0 };
	/* Variant 1: 32 KiB H2CData from a page-aligned buffer, which go by reference. */
	uint8_t *wbuf = _i ? aligned_alloc(4096, 65536) : malloc(65536), *rbuf = malloc(65536);
	bool saw_more = false;
	size_t steps[] = { 1, 7, 72, 100, 4096, 3, 9000, 513 };
	unsigned int k = 0;
	uint64_t t0;
	int rc;

	ft_config_default(&cfg);
	cfg.maxh2cdata = _i ? 32768 : 4096;
	ft = start_target(&cfg);
	c = connect_ok(ft, true, true, 1, 0);
	qp = c->ioq[0];
	qp->tx_by_loop = true;
	fill_random(wbuf, 65536);
	prep_io(&req, 0x01, 1, 40, 65536, 512, wbuf);
	req.cb = done_cb;
	req.cb_arg = &d;
	ck_assert_int_eq(nvmf_qpair_submit(qp, &req), 0);
	t0 = nvmf_now_ns();
	while (!d.calls && ms_since(t0) < 10000) {
		rc = loop_send_some(qp, steps[k++ % 8], &saw_more);
		ck_assert_int_ge(rc, 0);
		nvmf_qpair_poll(qp, 1);	/* receives R2Ts and the response; sends nothing */
	}
	ck_assert_uint_eq(d.calls, 1);
	expect_ok(&req, 0, "write sent in short pieces by the loop");
	ck_assert(saw_more);		/* H2CData that were not their R2T's last */
	ck_assert_uint_eq(qp->stats.tx_by_ref, _i ? 65536 : 0);
	/* A read, sent by the loop too. */
	d.calls = 0;
	prep_io(&req, 0x02, 1, 40, 65536, 512, rbuf);
	req.cb = done_cb;
	req.cb_arg = &d;
	ck_assert_int_eq(nvmf_qpair_submit(qp, &req), 0);
	t0 = nvmf_now_ns();
	while (!d.calls && ms_since(t0) < 10000) {
		ck_assert_int_ge(loop_send_some(qp, steps[k++ % 8], &saw_more), 0);
		nvmf_qpair_poll(qp, 1);
	}
	expect_ok(&req, 0, "read sent by the loop");
	ck_assert(!memcmp(rbuf, wbuf, 65536));
	qp->tx_by_loop = false;
	nvmf_ctrl_disconnect(c);
	expect_clean(ft);
	ft_stop(ft);
	free(wbuf);
	free(rbuf);
}
END_TEST

/*
 * A queue pair that fails while the loop's send is out ends that send
 * (tx_quiesce) before any command is failed back to its owner, and then
 * forgets it (tx_done on the failed queue pair).
 */
struct quiesce_seen {
	struct nvmf_qpair *qp;
	unsigned int quiesced, cbs_before;
	struct done *d;
};

static void quiesce_hook(struct nvmf_qpair *qp, void *arg)
{
	struct quiesce_seen *q = arg;

	ck_assert_ptr_eq(qp, q->qp);
	if (!q->quiesced++)
		q->cbs_before = q->d->calls;
	qp->ops->tx_done(qp, -ECANCELED);
}

START_TEST(test_send_by_loop_fail_quiesces)
{
	struct ft_config cfg;
	struct ft *ft;
	struct nvmf_ctrl *c;
	struct nvmf_qpair *qp;
	struct nvmf_request req;
	struct done d = { 0 };
	struct quiesce_seen q = { .d = &d };
	uint8_t buf[4096];
	struct iovec *iov;
	bool more;
	int cnt;

	ft_config_default(&cfg);
	ft = start_target(&cfg);
	c = connect_ok(ft, false, false, 1, 0);
	qp = c->ioq[0];
	q.qp = qp;
	qp->tx_by_loop = true;
	qp->tx_quiesce = quiesce_hook;
	qp->tx_quiesce_arg = &q;
	prep_io(&req, 0x02, 1, 0, 4096, 512, buf);
	req.cb = done_cb;
	req.cb_arg = &d;
	ck_assert_int_eq(nvmf_qpair_submit(qp, &req), 0);
	ck_assert_int_eq(qp->ops->tx_prep(qp, &iov, &cnt, &more), 0);
	ck_assert_int_gt(cnt, 0);
	ck_assert(!more);
	nvmf_qpair_fail(qp, -ETIMEDOUT, "test: failed with the send out");
	ck_assert_uint_ge(q.quiesced, 1);
	ck_assert_uint_eq(q.cbs_before, 0);	/* before the command came back */
	ck_assert_uint_eq(d.calls, 1);
	ck_assert_int_eq(req.xport_err, -ETIMEDOUT);
	/* Failed: nothing more is handed out. */
	ck_assert_int_eq(qp->ops->tx_prep(qp, &iov, &cnt, &more), 0);
	ck_assert_int_eq(cnt, 0);
	qp->tx_quiesce = NULL;
	qp->tx_by_loop = false;
	nvmf_ctrl_disconnect(c);
	ft_stop(ft);
}
END_TEST

/*
 * Large write data goes to the socket by reference (splice, see
 * TCP_SPLICE_MIN in tcp.c): its pages must not change with the buffer once
 * the command has been handed back. The target holds a 64 KiB Write's data
 * unread, the queue pair fails, the owner reuses the buffer, and only then
 * does the target read the data and write it: what lands must be the bytes
 * the command was sent with. And a page-aligned buffer does go by
 * reference (qp->stats.tx_by_ref), so that this test tests something.
 */
START_TEST(test_splice_fail_detaches)
{
	const uint32_t len = 65536;
	struct ft_config cfg;
	struct ft *ft;
	struct nvmf_ctrl *c;
	struct nvmf_qpair *qp;
	struct nvmf_request req;
	struct done d = { 0 };
	struct ft_stats st;
	uint8_t *wbuf = aligned_alloc(4096, len), *want = malloc(len), *got = malloc(len);
	struct nvmf_stable_buf sb = { .base = wbuf, .len = len };
	uint64_t t0, gen0;

	ck_assert(wbuf && want && got);
	nvmf_stable_buf_renew(&sb);
	gen0 = sb.gen;
	ft_config_default(&cfg);
	ft = start_target(&cfg);
	c = connect_ok(ft, false, false, 1, 0);
	qp = c->ioq[0];
	fill_random(wbuf, len);
	memcpy(want, wbuf, len);
	ft_arm(ft, 1, FT_FAULT_HOLD_DATA, 0);
	prep_io(&req, 0x01, 1, 8, len, 512, wbuf);
	req.cb = done_cb;
	req.cb_arg = &d;
	req.sbuf = &sb;
	ck_assert_int_eq(nvmf_qpair_submit(qp, &req), 0);
	t0 = nvmf_now_ns();
	while (qp->stats.tx_by_ref < len && ms_since(t0) < 5000)
		nvmf_qpair_poll(qp, 20);
	ck_assert_msg(qp->stats.tx_by_ref == len, "%llu of %u bytes went by reference",
		      (unsigned long long)qp->stats.tx_by_ref, len);
	ck_assert_uint_eq(d.calls, 0);
	nvmf_qpair_fail(qp, -ETIMEDOUT, "test: failed with its data unread");
	ck_assert_uint_eq(d.calls, 1);
	/*
	 * The buffer has new pages now: a registration of the old ones (an
	 * RDMA path of the same disk) must not be used again.
	 */
	ck_assert_msg(sb.gen != gen0, "the stable buffer's pages were replaced, its "
		      "generation was not: another path's registration would send stale pages");
	memset(wbuf, 0xee, len);	/* the owner's next use of the buffer */
	ft_release(ft);
	t0 = nvmf_now_ns();
	do {
		ft_get_stats(ft, &st);
		if (st.writes)
			break;
		usleep(1000);
	} while (ms_since(t0) < 5000);
	ck_assert_uint_eq(st.held, 1);
	ck_assert_msg(st.writes == 1, "the held Write never landed");
	ft_read_ns(ft, 1, 8 * 512, got, len);
	for (uint32_t i = 0; i < len; i++)
		ck_assert_msg(got[i] == want[i],
			      "byte %u landed as 0x%02x, sent as 0x%02x: the buffer's later use "
			      "went out for the failed command", i, got[i], want[i]);
	nvmf_ctrl_disconnect(c);
	ft_stop(ft);
	free(wbuf);
	free(want);
	free(got);
}
END_TEST

/*
 * Many commands in flight at once: writes and reads interleaved. Variant 0
 * moves write data with R2Ts; variant 1 puts 64 KiB in each capsule and
 * makes the target read slowly, so several MiB queue up on the host and
 * the socket takes them in pieces (partial sendmsg).
 */
START_TEST(test_io_pipelined)
{
	const int n = _i ? 48 : 16;
	const uint32_t len = 65536;
	struct ft_config cfg;
	struct ft *ft;
	struct nvmf_ctrl *c;
	struct nvmf_request *reqs = calloc(2 * (size_t)n, sizeof(*reqs));
	uint8_t *bufs = malloc(2 * (size_t)n * len), *want = malloc(len);
	struct done d = { 0 };
	struct nvmf_qpair *qp;
	struct ft_stats st;

	ck_assert_ptr_nonnull(reqs);
	ck_assert_ptr_nonnull(bufs);
	ck_assert_ptr_nonnull(want);
	ft_config_default(&cfg);
	if (_i == 0) {
		cfg.maxh2cdata = 4096;
		cfg.r2t_chunk = 16384;
		cfg.c2h_chunk = 8192;
	} else {
		cfg.ioccsz = 4 + 65536 / 16;
		cfg.small_rcvbuf = true;
	}
	ft = start_target(&cfg);
	c = connect_ok(ft, true, true, 1, 0);
	qp = c->ioq[0];
	ck_assert_uint_ge(qp->depth, 2 * (unsigned int)n);
	fill_random(bufs, (size_t)n * len);
	for (int i = 0; i < n; i++) {
		/* write block range i, read block range n + i */
		prep_io(&reqs[2 * i], 0x01, 1, (uint64_t)i * 128, len, 512, bufs + (size_t)i * len);
		prep_io(&reqs[2 * i + 1], 0x02, 1, (uint64_t)(n + i) * 128, len, 512,
			bufs + (size_t)(n + i) * len);
	}
	for (int i = 0; i < 2 * n; i++) {
		reqs[i].cb = done_cb;
		reqs[i].cb_arg = &d;
		ck_assert_int_eq(nvmf_qpair_submit(qp, &reqs[i]), 0);
	}
	ck_assert_uint_eq(qp->outstanding, 2 * (unsigned int)n);
	poll_until_idle(qp, 5000);
	ck_assert_msg(d.calls == 2 * (unsigned int)n, "%u of %d completed (queue state %d: %s)",
		      d.calls, 2 * n, qp->state, qp->errmsg);
	for (int i = 0; i < 2 * n; i++)
		expect_ok(&reqs[i], 0, reqs[i].cmd.opc == 1 ? "pipelined write" : "pipelined read");
	for (int i = 0; i < n; i++) {
		ft_pattern(1, (uint64_t)(n + i) * 128 * 512, want, len);
		ck_assert(!memcmp(bufs + (size_t)(n + i) * len, want, len));
	}
	/* Read the written ranges back. */
	for (int i = 0; i < n; i++) {
		int rc = io_sync(qp, &reqs[0], 0x02, 1, (uint64_t)i * 128, len, 512, want);

		expect_ok(&reqs[0], rc, "read back");
		ck_assert_msg(!memcmp(want, bufs + (size_t)i * len, len), "range %d differs", i);
	}
	ft_get_stats(ft, &st);
	ck_assert_uint_eq(st.icd_writes, _i ? (unsigned int)n : 0);
	nvmf_ctrl_disconnect(c);
	expect_clean(ft);
	ft_stop(ft);
	free(reqs);
	free(bufs);
	free(want);
}
END_TEST

/* Each I/O queue driven by its own thread, as the frontends do. */
struct io_worker {
	struct nvmf_qpair *qp;
	uint64_t base_lba;
	int errors;
	char msg[160];
};

static void *io_worker_main(void *arg)
{
	struct io_worker *w = arg;
	uint8_t *wbuf = malloc(65536), *rbuf = malloc(65536);
	uint64_t seed = w->base_lba * 77 + 1;

	for (int n = 0; n < 150 && wbuf && rbuf && !w->errors; n++) {
		uint32_t len = 512u << (n % 8);		/* 512 B .. 64 KiB */
		uint64_t lba = w->base_lba + (uint64_t)(n % 16) * 128;
		struct nvmf_request req;
		int rc;

		for (uint32_t i = 0; i < len; i++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			wbuf[i] = (uint8_t)(seed >> 56);
		}
		rc = io_sync(w->qp, &req, 0x01, 1, lba, len, 512, wbuf);
		if (rc == 0 && nvmf_req_ok(&req))
			rc = io_sync(w->qp, &req, 0x02, 1, lba, len, 512, rbuf);
		if (rc || !nvmf_req_ok(&req) || memcmp(wbuf, rbuf, len)) {
			snprintf(w->msg, sizeof(w->msg), "queue %u op %d: rc %d status 0x%x xport %d",
				 w->qp->qid, n, rc, req.status, req.xport_err);
			w->errors++;
		}
	}
	free(wbuf);
	free(rbuf);
	return NULL;
}

START_TEST(test_io_two_threads)
{
	struct ft_config cfg;
	struct ft *ft;
	struct nvmf_ctrl *c;
	struct io_worker w[2];
	pthread_t th[2];

	ft_config_default(&cfg);
	cfg.maxh2cdata = 16384;
	cfg.c2h_chunk = 16384;
	cfg.ioccsz = 4 + 4096 / 16;
	ft = start_target(&cfg);
	c = connect_ok(ft, true, true, 2, 0);
	for (int i = 0; i < 2; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].qp = c->ioq[i];
		w[i].base_lba = 4096 + (uint64_t)i * 4096;
		ck_assert_int_eq(pthread_create(&th[i], NULL, io_worker_main, &w[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		ck_assert_msg(!w[i].errors, "%s", w[i].msg);
	}
	nvmf_ctrl_disconnect(c);
	expect_clean(ft);
	ft_stop(ft);
}
END_TEST

/* Status from the controller is not a transport error. */
START_TEST(test_io_command_errors)
{
	struct ft_config cfg;
	struct ft *ft;
	struct nvmf_ctrl *c;
	struct nvmf_request req;
	uint8_t buf[4096], *big;
	int rc;

	ft_config_default(&cfg);
	ft = start_target(&cfg);
	c = connect_ok(ft, false, false, 1, 0);
	rc = io_sync(c->ioq[0], &req, 0x02, 1, cfg.nsze[0] - 4, sizeof(buf), 512, buf);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(req.xport_err, 0);
	ck_assert_uint_eq(NVMF_STATUS_CODE(req.status), 0x080);	/* LBA out of range */
	ck_assert_uint_eq(req.bytes_ok, 0);
	rc = io_sync(c->ioq[0], &req, 0x01, 9, 0, sizeof(buf), 512, buf);
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(NVMF_STATUS_CODE(req.status), 0x00b);	/* invalid namespace */
	ck_assert_int_eq(c->ioq[0]->state, NVMF_QP_LIVE);
	/* A write the controller refuses before asking for its data (R2T path). */
	big = malloc(65536);
	ck_assert_ptr_nonnull(big);
	rc = io_sync(c->ioq[0], &req, 0x01, 1, cfg.nsze[0] - 8, 65536, 512, big);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(req.xport_err, 0);
	ck_assert_uint_eq(NVMF_STATUS_CODE(req.status), 0x080);
	ck_assert_uint_eq(req.bytes_ok, 0);
	free(big);
	ck_assert_int_eq(c->ioq[0]->state, NVMF_QP_LIVE);
	rc = io_sync(c->ioq[0], &req, 0x02, 1, 0, sizeof(buf), 512, buf);
	expect_ok(&req, rc, "read after errors");
	nvmf_ctrl_disconnect(c);
	expect_clean(ft);
	ft_stop(ft);
}
END_TEST

/* --------------------------------------- data digest: partial completion */

struct ddgst_case {
	uint32_t chunk;		/* C2HData PDU size */
	uint32_t pdus;		/* the read is this many PDUs */
	uint32_t bad;		/* the corrupted one, 1-based */
	bool success;
	bool hd;
};

static const struct ddgst_case ddgst_cases[] = {
	{ 4096, 4, 2, false, false },	/* the contract's example */
	{ 32768, 4, 2, false, true },	/* large PDUs: received straight into place */
	{ 4096, 4, 2, true, false },	/* SUCCESS flag: no CapsuleResp */
	{ 65536, 4, 2, true, true },
	{ 4096, 4, 4, true, false },	/* the last PDU, the one carrying SUCCESS */
	{ 8192, 1, 1, false, false },	/* nothing good at all */
	{ 4096, 4, 1, false, false },
};

START_TEST(test_ddgst_partial_completion)
{
	const struct ddgst_case *k = &ddgst_cases[_i];
	uint32_t len = k->pdus * k->chunk, good = (k->bad - 1) * k->chunk;
	struct ft_config cfg;
	struct ft *ft;
	struct nvmf_ctrl *c;
	struct nvmf_request req;
	uint8_t *buf = malloc(len), *want = malloc(len);
	struct nvmf_qpair *qp;
	int rc;

	ck_assert_ptr_nonnull(buf);
	ck_assert_ptr_nonnull(want);
	ft_config_default(&cfg);
	cfg.c2h_chunk = k->chunk;
	cfg.c2h_success = k->success;
	ft = start_target(&cfg);
	c = connect_ok(ft, k->hd, true, 1, 0);
	qp = c->ioq[0];
	ft_pattern(1, 0, want, len);

	ft_arm(ft, 1, FT_FAULT_DDGST, k->bad);
	memset(buf, 0, len);
	rc = io_sync(qp, &req, 0x02, 1, 0, len, 512, buf);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(req.xport_err, 0);
	ck_assert_msg(NVMF_STATUS_CODE(req.status) == NVMF_SC_DATA_XFER_ERROR,
		      "status 0x%03x, want 0x004", NVMF_STATUS_CODE(req.status));
	ck_assert_msg(req.bytes_ok == good, "bytes_ok %u, want %u", req.bytes_ok, good);
	ck_assert(!memcmp(buf, want, good));
	ck_assert_uint_eq(qp->stats.ddgst_errors, 1);
	ck_assert_int_eq(qp->state, NVMF_QP_LIVE);

	/* The queue pair is still good. */
	memset(buf, 0, len);
	rc = io_sync(qp, &req, 0x02, 1, 0, len, 512, buf);
	expect_ok(&req, rc, "read after digest error");
	ck_assert(!memcmp(buf, want, len));
	nvmf_ctrl_disconnect(c);
	expect_clean(ft);
	ft_stop(ft);
	free(buf);
	free(want);
}
END_TEST

/*
 * The same through tests/nvmf-proxy --split-c2h (the guest tests' fault
 * injector): the fake target sends each read as one C2HData PDU, the proxy
 * re-frames it into pieces with their own digests and damages 1 in N
 * pieces, drawn (tests/nvmf-proxy-draw.h: the test predicts the draws of
 * the I/O queue's connection, the proxy's slot 1). The engine must take
 * the re-framed stream as valid NVMe/TCP and keep exactly the pieces
 * before the first damaged one.
 */
struct split_case {
	uint32_t split;		/* --split-c2h */
	uint32_t corrupt;	/* --corrupt-c2h, 0: none */
	uint32_t len;		/* one read of this many bytes, 512-byte blocks */
	bool hd, dd;
};

static const struct split_case split_cases[] = {
	{ 4096, 0, 65536, true, true },		/* clean: 16 pieces reassembled */
	{ 4096, 7, 65536, true, true },		/* some of 16 pieces damaged */
	{ 1000, 5, 8192, false, true },		/* pieces not block-aligned, no HDGST */
	{ 16384, 2, 131072, true, true },	/* large pieces: received straight into place */
	{ 4096, 7, 65536, true, false },	/* no data digest: damage nobody can notice */
};

static const char *proxy_start(const struct split_case *k, struct ft *ft, pid_t *pid)
{
	static char port[16];
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	char target[64], split[16], corrupt[16];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_msg(access("tests/nvmf-proxy", X_OK) == 0, "tests/nvmf-proxy not built");
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	close(fd);	/* a free port, most likely still free in a moment */
	snprintf(port, sizeof(port), "%u", ntohs(a.sin_port));
	snprintf(target, sizeof(target), "127.0.0.1:%s", ft_port(ft));
	snprintf(split, sizeof(split), "%u", k->split);
	snprintf(corrupt, sizeof(corrupt), "%u", k->corrupt);
	*pid = fork();
	ck_assert_int_ge(*pid, 0);
	if (*pid == 0) {
		if (!freopen("/dev/null", "w", stdout))
			_exit(127);
		execl("tests/nvmf-proxy", "nvmf-proxy", "--listen", port, "--target", target,
		      "--split-c2h", split, "--corrupt-c2h", corrupt, (char *)NULL);
		_exit(127);
	}
	return port;
}

START_TEST(test_proxy_split_c2h)
{
	const struct split_case *k = &split_cases[_i];
	uint32_t pieces = (k->len + k->split - 1) / k->split;
	uint32_t first = 0, nr_damaged = 0;	/* the first damaged piece (from 1), how many */
	uint64_t rng = 0;
	bool damaged;
	uint32_t good;
	uint8_t *buf = malloc(k->len), *want = malloc(k->len);
	struct nvmf_ctrl_opts o;
	struct nvmf_ctrl *c = NULL;
	struct nvmf_request req;
	struct ft_config cfg;
	char err[256] = "";
	struct ft *ft;
	pid_t pid;
	int rc = -1;

	ck_assert_ptr_nonnull(buf);
	ck_assert_ptr_nonnull(want);
	for (uint32_t i = 1; k->corrupt && i <= pieces; i++) {
		if (nvmf_proxy_draw(&rng, 1) % k->corrupt)
			continue;
		if (!first)
			first = i;
		nr_damaged++;
	}
	damaged = first > 0;
	/* A case with --corrupt-c2h that damages nothing would test nothing. */
	ck_assert_msg(!k->corrupt || damaged, "the proxy's draw damages none of %u pieces with "
		      "--corrupt-c2h %u: choose another N", pieces, k->corrupt);
	good = damaged && k->dd ? (first - 1) * k->split : k->len;
	ft_config_default(&cfg);
	cfg.c2h_chunk = 1u << 20;	/* one PDU per read from the target */
	ft = start_target(&cfg);
	opts_fill(&o, ft, FT_SUBNQN);
	o.trsvcid = proxy_start(k, ft, &pid);
	o.hdgst = k->hd;
	o.ddgst = k->dd;
	o.nr_io_queues = 1;
	for (int i = 0; i < 100 && rc < 0; i++) {	/* until the proxy listens */
		rc = nvmf_ctrl_connect(&o, &c, err, sizeof(err));
		if (rc < 0)
			usleep(20000);
	}
	ck_assert_msg(rc == 0, "connect through the proxy: %d (%s)", rc, err);
	ft_pattern(1, 0, want, k->len);
	memset(buf, 0, k->len);
	rc = io_sync(c->ioq[0], &req, 0x02, 1, 0, k->len, 512, buf);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(req.xport_err, 0);
	if (damaged && k->dd)
		ck_assert_msg(NVMF_STATUS_CODE(req.status) == NVMF_SC_DATA_XFER_ERROR,
			      "status 0x%03x, want 0x004", NVMF_STATUS_CODE(req.status));
	else
		expect_ok(&req, rc, "read through the splitting proxy");
	ck_assert_msg(req.bytes_ok == good, "bytes_ok %u, want %u", req.bytes_ok, good);
	if (damaged && !k->dd)	/* the proxy damaged the data: the control case */
		ck_assert(memcmp(buf, want, good));
	else
		ck_assert(!memcmp(buf, want, good));
	ck_assert_uint_eq(c->ioq[0]->stats.ddgst_errors, k->dd ? nr_damaged : 0);
	ck_assert_int_eq(c->ioq[0]->state, NVMF_QP_LIVE);
	nvmf_ctrl_disconnect(c);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	expect_clean(ft);
	ft_stop(ft);
	free(buf);
	free(want);
}
END_TEST

/* ------------------------------------------------- fatal transport errors */

struct fatal_case {
	const char *name;
	enum ft_fault fault;
	bool hd;
	int fes;		/* H2CTermReq expected with this FES; 0: none */
	int fei;		/* and FEI; -1: any */
	const char *msg;	/* in qp->errmsg */
};

static const struct fatal_case fatal_cases[] = {
	{ "header digest", FT_FAULT_HDGST, true, 0x03, -1, "digest" },
	{ "invalid PDU type", FT_FAULT_BAD_TYPE, false, 0x01, 0, "type" },
	{ "invalid PDU type, header digest", FT_FAULT_BAD_TYPE, true, 0x01, 0, "type" },
	{ "bad HLEN", FT_FAULT_BAD_HLEN, false, 0x01, 2, "HLEN" },
	{ "bad PLEN", FT_FAULT_BAD_PLEN, true, 0x01, 4, "PLEN" },
	{ "unknown CID", FT_FAULT_UNKNOWN_CID, false, 0x01, 20, "unknown" },
	{ "C2HTermReq", FT_FAULT_TERMREQ, true, 0, 0, "C2HTermReq" },
	{ "connection closed", FT_FAULT_CLOSE, false, 0, 0, "closed" },
};

START_TEST(test_fatal_errors)
{
	const struct fatal_case *k = &fatal_cases[_i];
	struct ft_config cfg;
	struct ft *ft;
	struct nvmf_ctrl *c;
	struct nvmf_request reqs[3];
	struct done d = { 0 };
	uint8_t *buf = malloc(3 * 4096);
	struct nvmf_qpair *qp;
	struct ft_stats st;
	uint64_t t0;

	ck_assert_ptr_nonnull(buf);
	ft_config_default(&cfg);
	ft = start_target(&cfg);
	c = connect_ok(ft, k->hd, false, 1, 0);
	qp = c->ioq[0];
	ft_arm(ft, 1, k->fault, 0);
	for (int i = 0; i < 3; i++) {
		prep_io(&reqs[i], 0x02, 1, (uint64_t)i * 8, 4096, 512, buf + i * 4096);
		reqs[i].cb = done_cb;
		reqs[i].cb_arg = &d;
		ck_assert_int_eq(nvmf_qpair_submit(qp, &reqs[i]), 0);
	}
	t0 = nvmf_now_ns();
	poll_until_idle(qp, 3000);
	ck_assert_msg(ms_since(t0) < 2000, "%s: took %llu ms", k->name,
		      (unsigned long long)ms_since(t0));
	ck_assert_int_eq(qp->state, NVMF_QP_FAILED);
	ck_assert_int_lt(qp->err, 0);
	ck_assert_msg(strstr(qp->errmsg, k->msg), "%s: message '%s' lacks '%s'", k->name,
		      qp->errmsg, k->msg);
	ck_assert_uint_eq(d.calls, 3);
	ck_assert_uint_eq(qp->outstanding, 0);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_lt(reqs[i].xport_err, 0);
		ck_assert_uint_eq(reqs[i].status, NVMF_SC_HOST_PATH_ERROR);
		ck_assert(!nvmf_req_ok(&reqs[i]));
	}
	ck_assert_int_lt(nvmf_qpair_poll(qp, 0), 0);
	prep_io(&reqs[0], 0x02, 1, 0, 4096, 512, buf);
	ck_assert_int_eq(nvmf_qpair_submit(qp, &reqs[0]), -ENOTCONN);

	/* The host tells the controller why (NVMe/TCP 1.0, 3.6.2.9 / 7.4.7). */
	for (t0 = nvmf_now_ns(); ms_since(t0) < (k->fes ? 1000u : 200u); sleep_ms(10)) {
		ft_get_stats(ft, &st);
		if (st.h2c_terms)
			break;
	}
	ft_get_stats(ft, &st);
	if (k->fes) {
		ck_assert_msg(st.h2c_terms == 1, "%s: %u H2CTermReq", k->name, st.h2c_terms);
		ck_assert_uint_eq(st.last_fes, (unsigned int)k->fes);
		if (k->fei >= 0)
			ck_assert_msg(st.last_fei == (uint32_t)k->fei, "%s: FEI %u, want %d",
				      k->name, st.last_fei, k->fei);
	} else {
		ck_assert_msg(st.h2c_terms == 0, "%s: H2CTermReq sent in reply", k->name);
	}

	/* The controller takes the I/O queue's failure as its cause. */
	nvmf_ctrl_ioq_failed(c, qp);
	ck_assert_int_eq(c->state, NVMF_CTRL_FAILED);
	ck_assert_ptr_nonnull(strstr(nvmf_ctrl_error(c), k->msg));
	ck_assert_int_lt(nvmf_ctrl_service(c), 0);
	t0 = nvmf_now_ns();
	nvmf_ctrl_disconnect(c);
	ck_assert_uint_lt(ms_since(t0), 1000);
	expect_clean(ft);
	ft_stop(ft);
	free(buf);
}
END_TEST

/* The admin queue dying takes the controller to FAILED via service(). */
START_TEST(test_admin_queue_failure)
{
	struct ft_config cfg;
	struct ft *ft;
	struct nvmf_ctrl *c;
	uint64_t t0;
	int rc = 0;

	ft_config_default(&cfg);
	ft = start_target(&cfg);
	c = connect_ok(ft, false, false, 1, 1);
	ft_arm(ft, 0, FT_FAULT_CLOSE, 0);	/* on the next Keep Alive */
	for (t0 = nvmf_now_ns(); ms_since(t0) < 2500; sleep_ms(10)) {
		rc = nvmf_ctrl_service(c);
		if (rc < 0)
			break;
	}
	ck_assert_int_lt(rc, 0);
	ck_assert_int_eq(c->state, NVMF_CTRL_FAILED);
	ck_assert_ptr_nonnull(strstr(nvmf_ctrl_error(c), "closed"));
	ck_assert(!c->aer_inflight);
	nvmf_ctrl_disconnect(c);
	expect_clean(ft);
	ft_stop(ft);
}
END_TEST

/* --------------------------------------------------- connection failures */

static int connect_err(struct nvmf_ctrl_opts *o, char *err, size_t errlen, uint64_t *ms)
{
	struct nvmf_ctrl *c = NULL;
	uint64_t t0 = nvmf_now_ns();
	int rc;

	err[0] = 0;
	rc = nvmf_ctrl_connect(o, &c, err, errlen);
	*ms = ms_since(t0);
	ck_assert_ptr_null(c);
	return rc;
}

START_TEST(test_connect_refused)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sin);
	struct nvmf_ctrl_opts o;
	char port[8], err[256];
	uint64_t ms;
	int fd = socket(AF_INET, SOCK_STREAM, 0), rc;

	/* A bound port that does not listen refuses connections. */
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	snprintf(port, sizeof(port), "%u", ntohs(sin.sin_port));
	opts_fill(&o, NULL, FT_SUBNQN);
	o.trsvcid = port;
	rc = connect_err(&o, err, sizeof(err), &ms);
	ck_assert_int_eq(rc, -ECONNREFUSED);
	ck_assert_msg(strstr(err, "refused"), "message: %s", err);
	ck_assert_uint_lt(ms, 3000);
	close(fd);
}
END_TEST

START_TEST(test_connect_not_nvme)
{
	struct ft_config cfg;
	struct ft *ft;
	struct nvmf_ctrl_opts o;
	char err[256];
	uint64_t ms;
	int rc;

	ft_config_default(&cfg);
	cfg.greeting = true;
	ft = start_target(&cfg);
	opts_fill(&o, ft, FT_SUBNQN);
	rc = connect_err(&o, err, sizeof(err), &ms);
	ck_assert_int_lt(rc, 0);
	ck_assert_msg(strstr(err, "not an NVMe/TCP controller"), "message: %s", err);
	ck_assert_uint_lt(ms, 3000);
	ft_stop(ft);
}
END_TEST

START_TEST(test_connect_unknown_subnqn)
{
	struct ft_config cfg;
	struct ft *ft;
	struct nvmf_ctrl_opts o;
	struct ft_stats st;
	char err[256];
	uint64_t ms;
	int rc;

	ft_config_default(&cfg);
	ft = start_target(&cfg);
	opts_fill(&o, ft, "nqn.2024-01.io.nvmfuse:no-such-subsystem");
	rc = connect_err(&o, err, sizeof(err), &ms);
	ck_assert_int_lt(rc, 0);
	ck_assert_msg(strstr(err, "subnqn"), "message: %s", err);
	ck_assert_uint_lt(ms, 3000);
	ft_get_stats(ft, &st);
	ck_assert_uint_eq(st.connects_rejected, 1);
	expect_clean(ft);
	ft_stop(ft);
}
END_TEST

START_TEST(test_connect_denied_host)
{
	struct ft_config cfg;
	struct ft *ft;
	struct nvmf_ctrl_opts o;
	char err[256];
	uint64_t ms;
	int rc;

	ft_config_default(&cfg);
	cfg.denied_hostnqn = HOSTNQN;
	ft = start_target(&cfg);
	opts_fill(&o, ft, FT_SUBNQN);
	rc = connect_err(&o, err, sizeof(err), &ms);
	ck_assert_int_lt(rc, 0);
	ck_assert_msg(strstr(err, "Host"), "message: %s", err);
	ck_assert_uint_lt(ms, 3000);
	expect_clean(ft);
	ft_stop(ft);
}
END_TEST

/* A host name instead of an address (resolved with getaddrinfo). */
START_TEST(test_connect_localhost)
{
	struct ft_config cfg;
	struct ft *ft;
	struct nvmf_ctrl_opts o;
	struct nvmf_ctrl *c = NULL;
	char err[256] = "";
	int rc;

	ft_config_default(&cfg);
	ft = start_target(&cfg);
	opts_fill(&o, ft, FT_SUBNQN);
	o.traddr = "localhost";
	o.nr_io_queues = 1;
	rc = nvmf_ctrl_connect(&o, &c, err, sizeof(err));
	ck_assert_msg(rc == 0, "connect to localhost: %d (%s)", rc, err);
	nvmf_ctrl_disconnect(c);
	expect_clean(ft);
	ft_stop(ft);
}
END_TEST

/*
 * nvmf_transport_find() takes NULL as "tcp" and copy_opts() accepts NULL
 * strings, so a NULL opts.transport should mean the default transport.
 */
START_TEST(test_connect_default_transport)
{
	struct ft_config cfg;
	struct ft *ft;
	struct nvmf_ctrl_opts o;
	struct nvmf_ctrl *c = NULL;
	char err[256] = "";
	int rc;

	ft_config_default(&cfg);
	ft = start_target(&cfg);
	opts_fill(&o, ft, FT_SUBNQN);
	o.transport = NULL;
	rc = nvmf_ctrl_connect(&o, &c, err, sizeof(err));
	ck_assert_msg(rc == 0, "transport NULL: %d (%s)", rc, err);
	nvmf_ctrl_disconnect(c);
	ft_stop(ft);
}
END_TEST

/* The controller may enable fewer digests than asked for. */
START_TEST(test_connect_digests_refused)
{
	struct ft_config cfg;
	struct ft *ft;
	struct nvmf_ctrl *c;
	struct nvmf_request req;
	struct ft_stats st;
	uint8_t buf[8192];
	int rc;

	ft_config_default(&cfg);
	cfg.refuse_digests = true;
	ft = start_target(&cfg);
	c = connect_ok(ft, true, true, 1, 0);
	ft_get_stats(ft, &st);
	ck_assert(!st.hdgst && !st.ddgst);
	fill_random(buf, sizeof(buf));
	rc = io_sync(c->ioq[0], &req, 0x01, 1, 0, sizeof(buf), 512, buf);
	expect_ok(&req, rc, "write");
	rc = io_sync(c->ioq[0], &req, 0x02, 1, 0, sizeof(buf), 512, buf);
	expect_ok(&req, rc, "read");
	nvmf_ctrl_disconnect(c);
	expect_clean(ft);
	ft_stop(ft);
}
END_TEST

/*
 * A controller that rejects the ICReq answers with a C2HTermReq (e.g. SPDK
 * for an unsupported PFV/HPDA/digest). The host should report the
 * controller's reason, and must not answer a TermReq with a TermReq
 * (a TermReq ends the connection; the receiver just closes).
 */
START_TEST(test_connect_icreq_rejected)
{
	struct ft_config cfg;
	struct ft *ft;
	struct nvmf_ctrl_opts o;
	struct ft_stats st;
	char err[256];
	uint64_t ms, t0;
	int rc;

	ft_config_default(&cfg);
	cfg.icreq_term = true;
	ft = start_target(&cfg);
	opts_fill(&o, ft, FT_SUBNQN);
	o.hdgst = true;
	rc = connect_err(&o, err, sizeof(err), &ms);
	ck_assert_int_lt(rc, 0);
	ck_assert_uint_lt(ms, 3000);
	for (t0 = nvmf_now_ns(); ms_since(t0) < 300; sleep_ms(10))
		;
	ft_get_stats(ft, &st);
	ck_assert_msg(strstr(err, "Unsupported Parameter") || strstr(err, "FES"),
		      "the controller's C2HTermReq (FES 0x06 Unsupported Parameter, FEI 11) is "
		      "not reported; message: %s", err);
	ck_assert_msg(st.h2c_terms == 0, "host answered the C2HTermReq with an H2CTermReq "
		      "(FES 0x%x FEI %u)", st.last_fes, st.last_fei);
	ft_stop(ft);
}
END_TEST

/* A peer that accepts the connection but never sends ICResp. */
START_TEST(test_connect_no_icresp)
{
	struct ft_config cfg;
	struct ft *ft;
	struct nvmf_ctrl_opts o;
	char err[256];
	uint64_t ms;
	int rc;

	ft_config_default(&cfg);
	cfg.silent = true;
	ft = start_target(&cfg);
	opts_fill(&o, ft, FT_SUBNQN);
	o.timeout_ms = 1000;
	rc = connect_err(&o, err, sizeof(err), &ms);
	ck_assert_int_eq(rc, -ETIMEDOUT);
	ck_assert_msg(strstr(err, "ICResp"), "message: %s", err);
	ck_assert_uint_ge(ms, 900);
	ck_assert_uint_lt(ms, 2500);
	ft_stop(ft);
}
END_TEST

struct connect_job {
	struct nvmf_ctrl_opts o;
	struct nvmf_ctrl *c;
	char err[256];
	int rc;
};

static void *connect_thread(void *arg)
{
	struct connect_job *j = arg;

	j->rc = nvmf_ctrl_connect(&j->o, &j->c, j->err, sizeof(j->err));
	return NULL;
}

/*
 * nvmf_ctrl_connect() is documented as "bounded by opts->timeout_ms per
 * step": a controller that accepts Connect and then never answers Property
 * Get must make it fail within about that time.
 */
START_TEST(test_connect_step_timeout)
{
	struct ft_config cfg;
	struct ft *ft;
	struct connect_job j;
	struct timespec dl;
	pthread_t th;
	int rc;

	memset(&j, 0, sizeof(j));
	ft_config_default(&cfg);
	ft = start_target(&cfg);
	ft_arm(ft, 0, FT_FAULT_NO_ANSWER, 0);	/* everything after the admin Connect */
	opts_fill(&j.o, ft, FT_SUBNQN);
	j.o.timeout_ms = 1000;
	ck_assert_int_eq(pthread_create(&th, NULL, connect_thread, &j), 0);
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 3;
	rc = pthread_timedjoin_np(th, NULL, &dl);
	ck_assert_msg(rc == 0, "nvmf_ctrl_connect(timeout_ms = 1000) still blocked after 3 s "
		      "on an unanswered Property Get");
	ck_assert_int_lt(j.rc, 0);
	ck_assert_ptr_null(j.c);
	ck_assert_msg(j.err[0], "no message");
	ft_stop(ft);
}
END_TEST

/* ------------------------------------------------------------ discovery */

struct disc_case {
	int entries, changes, restarts;
	uint8_t mdts;
};

static const struct disc_case disc_cases[] = {
	{ 0, 0, 0, 0 }, { 1, 0, 0, 0 }, { 5, 0, 0, 0 }, { 70, 0, 0, 0 },
	{ 5, 1, 0, 0 },		/* GENCTR moved once while reading */
	{ 5, 3, 0, 0 },
	{ 5, 0, 2, 0 },		/* Discovery Restart status twice */
	{ 20, 0, 0, 1 },	/* MDTS 8 KiB: the log is read in pieces */
};

START_TEST(test_discovery_log)
{
	const struct disc_case *k = &disc_cases[_i];
	int n = k->entries;
	struct ft_config cfg;
	struct ft *ft;
	struct nvmf_ctrl_opts o;
	struct nvmf_ctrl *c = NULL;
	struct nvmf_discovery_log *log = NULL;
	uint64_t numrec = 12345;
	char err[256] = "";
	int rc;

	ft_config_default(&cfg);
	cfg.disc_entries = n;
	cfg.disc_changes = k->changes;
	cfg.disc_restarts = k->restarts;
	cfg.mdts = k->mdts;
	ft = start_target(&cfg);
	opts_fill(&o, ft, FT_DISC_NQN);
	rc = nvmf_ctrl_connect(&o, &c, err, sizeof(err));
	ck_assert_msg(rc == 0, "discovery connect: %d %s", rc, err);
	ck_assert(c->discovery);
	ck_assert_int_eq(c->nr_ioq, 0);
	rc = nvmf_discovery_log(c, &log, &numrec);
	ck_assert_msg(rc == 0, "nvmf_discovery_log: %d (%s)", rc, nvmf_ctrl_error(c));
	ck_assert_ptr_nonnull(log);
	ck_assert_uint_eq(numrec, (uint64_t)n);
	ck_assert_uint_eq(le64toh(log->numrec), (uint64_t)n);
	ck_assert_uint_eq(le64toh(log->genctr), 7 + (uint64_t)k->changes);
	for (int i = 0; i < n; i++) {
		const struct nvmf_disc_log_entry *e = &log->entries[i];
		char want[64];

		ck_assert_uint_eq(e->trtype, 3);
		ck_assert_uint_eq(le16toh(e->portid), i + 1);
		ck_assert(!strncmp(e->trsvcid, "4420 ", 5));
		snprintf(want, sizeof(want), "nqn.2024-01.io.nvmfuse:sub%d", i);
		ck_assert_str_eq(e->subnqn, want);
		snprintf(want, sizeof(want), "192.0.2.%d", i + 1);
		ck_assert_str_eq(e->traddr, want);
	}
	free(log);
	nvmf_ctrl_disconnect(c);
	expect_clean(ft);
	ft_stop(ft);
}
END_TEST

/* ---------------------------------------------------- keep-alive, events */

START_TEST(test_keep_alive)
{
	struct ft_config cfg;
	struct ft *ft;
	struct nvmf_ctrl *c;
	struct ft_stats st;
	uint64_t t0;

	ft_config_default(&cfg);
	ft = start_target(&cfg);
	c = connect_ok(ft, false, false, 1, 1);
	ft_get_stats(ft, &st);
	ck_assert_uint_eq(st.admin_kato, 1000);
	for (t0 = nvmf_now_ns(); ms_since(t0) < 2500;) {
		int ms = nvmf_ctrl_next_timeout_ms(c);
		struct pollfd pfd;

		ck_assert_int_eq(nvmf_ctrl_service(c), 0);
		pfd.fd = c->adminq->ops->pollfd(c->adminq, &pfd.events);
		poll(&pfd, 1, ms < 0 || ms > 50 ? 50 : ms);
	}
	ck_assert_int_eq(nvmf_ctrl_service(c), 0);
	ft_get_stats(ft, &st);
	ck_assert_msg(st.keep_alives >= 3 && st.keep_alives <= 8, "%u Keep Alive commands in 2.5 s",
		      st.keep_alives);
	ck_assert_int_eq(c->state, NVMF_CTRL_LIVE);
	nvmf_ctrl_disconnect(c);
	expect_clean(ft);
	ft_stop(ft);
}
END_TEST

START_TEST(test_aer_namespace_change)
{
	struct ft_config cfg;
	struct ft *ft;
	struct nvmf_ctrl *c;
	struct ft_stats st;
	uint64_t t0;

	ft_config_default(&cfg);
	ft = start_target(&cfg);
	c = connect_ok(ft, false, false, 1, 0);
	ck_assert_int_eq(c->nr_ns, 2);
	ck_assert(ft_fire_ns_changed(ft, 3));
	for (t0 = nvmf_now_ns(); ms_since(t0) < 2000 && c->nr_ns != 3; sleep_ms(5))
		ck_assert_int_eq(nvmf_ctrl_service(c), 0);
	ck_assert_int_eq(c->nr_ns, 3);
	ck_assert_uint_eq(c->aer_events, 1);
	ck_assert_uint_eq(c->ns[2].nsid, 3);
	ck_assert_uint_eq(c->ns[2].nsze, cfg.nsze[2]);
	/* The AER is re-armed. */
	for (t0 = nvmf_now_ns(); ms_since(t0) < 1000; sleep_ms(5)) {
		ck_assert_int_eq(nvmf_ctrl_service(c), 0);
		ft_get_stats(ft, &st);
		if (st.aers == 2)
			break;
	}
	ft_get_stats(ft, &st);
	ck_assert_uint_eq(st.aers, 2);
	ck_assert_uint_eq(st.changed_ns_reads, 1);
	ck_assert(c->aer_inflight);
	/* And a second event works too. */
	ck_assert(ft_fire_ns_changed(ft, 1));
	for (t0 = nvmf_now_ns(); ms_since(t0) < 2000 && c->nr_ns != 1; sleep_ms(5))
		ck_assert_int_eq(nvmf_ctrl_service(c), 0);
	ck_assert_int_eq(c->nr_ns, 1);
	ck_assert_uint_eq(c->aer_events, 2);
	nvmf_ctrl_disconnect(c);
	expect_clean(ft);
	ft_stop(ft);
}
END_TEST

static Suite *tcp_suite(void)
{
	Suite *s = suite_create("tcp");
	TCase *tc;

	tc = tcase_create("connect");
	tcase_add_loop_test(tc, test_connect_digests, 0, 4);
	tcase_add_test(tc, test_connect_fewer_queues_granted);
	tcase_add_test(tc, test_connect_host_side);
	tcase_add_test(tc, test_connect_refused);
	tcase_add_test(tc, test_connect_not_nvme);
	tcase_add_test(tc, test_connect_unknown_subnqn);
	tcase_add_test(tc, test_connect_denied_host);
	tcase_add_test(tc, test_connect_localhost);
	tcase_add_test(tc, test_connect_default_transport);
	tcase_add_test(tc, test_connect_digests_refused);
	tcase_add_test(tc, test_connect_no_icresp);
	tcase_add_test(tc, test_connect_icreq_rejected);
	tcase_add_test(tc, test_connect_step_timeout);
	tcase_set_timeout(tc, 5);
	suite_add_tcase(s, tc);

	tc = tcase_create("io");
	tcase_add_loop_test(tc, test_io_roundtrip, 0,
			    (int)(sizeof(io_variants) / sizeof(io_variants[0])));
	tcase_add_loop_test(tc, test_io_pipelined, 0, 2);
	tcase_add_test(tc, test_io_two_threads);
	tcase_add_loop_test(tc, test_send_by_loop_partial, 0, 2);
	tcase_add_test(tc, test_send_by_loop_fail_quiesces);
	tcase_add_test(tc, test_splice_fail_detaches);
	tcase_add_test(tc, test_io_command_errors);
	tcase_add_loop_test(tc, test_ddgst_partial_completion, 0,
			    (int)(sizeof(ddgst_cases) / sizeof(ddgst_cases[0])));
	tcase_add_loop_test(tc, test_proxy_split_c2h, 0,
			    (int)(sizeof(split_cases) / sizeof(split_cases[0])));
	tcase_set_timeout(tc, 8);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_loop_test(tc, test_fatal_errors, 0,
			    (int)(sizeof(fatal_cases) / sizeof(fatal_cases[0])));
	tcase_add_test(tc, test_admin_queue_failure);
	tcase_set_timeout(tc, 5);
	suite_add_tcase(s, tc);

	tc = tcase_create("admin");
	tcase_add_loop_test(tc, test_discovery_log, 0,
			    (int)(sizeof(disc_cases) / sizeof(disc_cases[0])));
	tcase_add_test(tc, test_keep_alive);
	tcase_add_test(tc, test_aer_namespace_change);
	tcase_set_timeout(tc, 6);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(tcp_suite());
	int failed;

	/* Engine warnings are expected in the fault tests; keep errors only. */
	if (!getenv("NVMFUSE_LOG"))
		nvmf_log_set_level(NVMF_LOG_ERROR);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
