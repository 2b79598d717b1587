/* SPDX-License-Identifier: MIT */
/*
 * nvmfuse perf: drive I/O through the host engine alone (no frontend).
 * One worker thread per I/O queue owns that queue pair and keeps QD
 * commands in flight; the main thread owns the admin queue (keep-alive).
 * With --verify every write carries a pattern (host/pattern.h), writes are
 * read back, and every read of written data is checked.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "host/pattern.h"
#include "tools/cli.h"

enum workload { W_READ, W_WRITE, W_RANDREAD, W_RANDWRITE, W_RW };
static const char *const workload_names[] = { "read", "write", "randread", "randwrite", "rw" };

/* Latency histogram: 64 power-of-two groups of 16 linear buckets (ns). */
#define HIST_SUB 16
#define HIST_BUCKETS (64 * HIST_SUB)

struct perf_cfg {
	enum workload w;
	uint32_t io_size;
	uint32_t qd;
	uint32_t seconds;
	bool verify;
	uint64_t seed;
	uint64_t region;	/* bytes */
	uint32_t nsid;
	uint32_t lba_size;
};

struct worker;

struct perf_io {
	struct nvmf_request req;
	struct worker *w;
	uint8_t *buf;
	uint64_t unit;
	uint64_t t0;
	bool write;
	bool readback;		/* verify: this read checks the write just done */
};

struct worker {
	pthread_t thread;
	const struct perf_cfg *cfg;
	struct nvmf_qpair *qp;
	int id;
	bool busy_poll;		/* a poll queue (-P): never sleeps while I/O is outstanding */
	uint64_t first_unit, nunits;
	uint64_t next_seq;
	uint64_t rng;
	struct perf_io *ios;
	struct perf_io **free_ios;
	uint32_t nfree;
	struct perf_io **ready;	/* verify read-backs waiting to be sent */
	uint32_t nready;
	uint8_t *busy, *written;
	uint32_t inflight;
	bool filling;
	/* results, per direction ([0] reads, [1] writes), I/O phase only */
	uint64_t ops[2], bytes[2], readbacks, errors, verify_errors;
	uint64_t lat_sum_ns[2], lat_max_ns[2];
	uint64_t hist[2][HIST_BUCKETS];
	uint64_t start_ns, end_ns;	/* the I/O phase: first submit to last completion */
	char first_error[256];
	int fatal;
};

static atomic_int g_workers_running;

static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

static unsigned int hist_index(uint64_t ns)
{
	unsigned int msb, sub;

	if (ns < HIST_SUB)
		return (unsigned int)ns;
	msb = 63 - (unsigned int)__builtin_clzll(ns);
	sub = (unsigned int)((ns >> (msb - 4)) & (HIST_SUB - 1));
	return (msb - 3) * HIST_SUB + sub;
}

static uint64_t hist_value(unsigned int idx)
{
	unsigned int grp = idx / HIST_SUB, sub = idx % HIST_SUB;

	if (grp == 0)
		return sub;
	return ((uint64_t)(HIST_SUB + sub)) << (grp - 1);
}

static void record_error(struct worker *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void record_error(struct worker *w, const char *fmt, ...)
{
	va_list ap;

	if (w->first_error[0])
		return;
	va_start(ap, fmt);
	vsnprintf(w->first_error, sizeof(w->first_error), fmt, ap);
	va_end(ap);
}

static void io_prep(struct worker *w, struct perf_io *io, bool write)
{
	const struct perf_cfg *cfg = w->cfg;
	uint64_t off = io->unit * cfg->io_size;
	uint64_t slba = off / cfg->lba_size;
	uint32_t nlb = cfg->io_size / cfg->lba_size;

	memset(&io->req.cmd, 0, sizeof(io->req.cmd));
	io->write = write;
	io->req.cmd.opc = write ? nvme_cmd_write : nvme_cmd_read;
	io->req.cmd.nsid = htole32(cfg->nsid);
	io->req.cmd.cdw10 = htole32((uint32_t)slba);
	io->req.cmd.cdw11 = htole32((uint32_t)(slba >> 32));
	io->req.cmd.cdw12 = htole32(nlb - 1);
	io->req.data = io->buf;
	io->req.data_len = cfg->io_size;
	io->req.dir = write ? NVMF_DIR_H2C : NVMF_DIR_C2H;
	io->req.timeout_ms = 30000;
	if (write && cfg->verify)
		nvmf_pattern_fill(io->buf, cfg->io_size, cfg->seed, off);
	else if (!write && cfg->verify)
		memset(io->buf, 0, cfg->io_size);	/* stale data must not pass */
}

static void io_done(struct nvmf_request *req);

static int io_submit(struct worker *w, struct perf_io *io)
{
	int rc;

	io->req.cb = io_done;
	io->req.cb_arg = io;
	io->t0 = nvmf_now_ns();
	rc = nvmf_qpair_submit(w->qp, &io->req);
	if (rc == 0)
		w->inflight++;
	return rc;
}

static void io_release(struct worker *w, struct perf_io *io)
{
	if (w->cfg->verify)
		w->busy[io->unit - w->first_unit] = 0;
	w->free_ios[w->nfree++] = io;
}

static void io_done(struct nvmf_request *req)
{
	struct perf_io *io = req->cb_arg;
	struct worker *w = io->w;
	const struct perf_cfg *cfg = w->cfg;
	uint64_t lat = nvmf_now_ns() - io->t0;
	uint64_t idx = io->unit - w->first_unit;

	w->inflight--;
	if (!nvmf_req_ok(req)) {
		w->errors++;
		if (req->xport_err)
			record_error(w, "%s at offset %" PRIu64 ": %s", io->write ? "write" : "read",
				     io->unit * cfg->io_size, strerror(-req->xport_err));
		else
			record_error(w, "%s at offset %" PRIu64 ": %s (0x%03x)",
				     io->write ? "write" : "read", io->unit * cfg->io_size,
				     nvmf_status_str(req->status), NVMF_STATUS_CODE(req->status));
		io_release(w, io);
		return;
	}
	if (!w->filling) {
		unsigned int h = hist_index(lat), d = io->write;

		w->ops[d]++;
		w->bytes[d] += cfg->io_size;
		w->lat_sum_ns[d] += lat;
		if (lat > w->lat_max_ns[d])
			w->lat_max_ns[d] = lat;
		w->hist[d][h < HIST_BUCKETS ? h : HIST_BUCKETS - 1]++;
		if (io->readback)
			w->readbacks++;
	}
	if (cfg->verify && io->write) {
		w->written[idx] = 1;
		if (!w->filling) {
			/* Read it back before anyone else may touch the unit. */
			io_prep(w, io, false);
			io->readback = true;
			w->ready[w->nready++] = io;
			return;
		}
	} else if (cfg->verify && w->written[idx]) {
		size_t bad = nvmf_pattern_check(io->buf, cfg->io_size, cfg->seed,
						io->unit * cfg->io_size);

		if (bad != (size_t)-1) {
			w->verify_errors++;
			record_error(w, "verify: data mismatch at byte %" PRIu64 " (read of %u bytes at %"
				     PRIu64 ")", io->unit * cfg->io_size + bad, cfg->io_size,
				     io->unit * cfg->io_size);
		}
	}
	io->readback = false;
	io_release(w, io);
}

/* Choose the next unit and direction; false when none is free right now. */
static bool pick(struct worker *w, uint64_t *unit, bool *write)
{
	const struct perf_cfg *cfg = w->cfg;

	*unit = w->first_unit;
	*write = false;
	switch (cfg->w) {
	case W_READ:
	case W_WRITE:
		*write = cfg->w == W_WRITE;
		*unit = w->first_unit + w->next_seq % w->nunits;
		break;
	case W_RANDREAD:
	case W_RANDWRITE:
		*write = cfg->w == W_RANDWRITE;
		*unit = w->first_unit + rng_next(&w->rng) % w->nunits;
		break;
	case W_RW:
		*write = rng_next(&w->rng) & 1;
		*unit = w->first_unit + rng_next(&w->rng) % w->nunits;
		break;
	}
	if (w->filling) {
		*write = true;
		*unit = w->first_unit + w->next_seq;
	}
	if (cfg->verify && w->busy[*unit - w->first_unit])
		return false;
	w->next_seq++;
	return true;
}

static int run_phase(struct worker *w, uint64_t end_ns)
{
	bool stop = false;

	while (!stop || w->inflight || w->nready) {
		while (w->nready && w->qp->state != NVMF_QP_FAILED) {
			struct perf_io *io = w->ready[--w->nready];

			if (io_submit(w, io) < 0) {
				w->ready[w->nready++] = io;
				break;
			}
		}
		while (!stop && w->nfree && !w->nready) {
			struct perf_io *io;
			uint64_t unit = 0;
			bool write = false;

			if (w->filling && w->next_seq >= w->nunits)
				break;
			if (!pick(w, &unit, &write))
				break;
			io = w->free_ios[--w->nfree];
			io->unit = unit;
			io->readback = false;
			if (w->cfg->verify)
				w->busy[unit - w->first_unit] = 1;
			io_prep(w, io, write);
			if (io_submit(w, io) < 0) {
				io_release(w, io);
				break;
			}
		}
		if (nvmf_qpair_poll(w->qp, w->busy_poll && w->qp->outstanding ? 0 : 100) < 0) {
			record_error(w, "queue %u: %s", w->qp->qid, w->qp->errmsg);
			w->fatal = 1;
			return -1;
		}
		if (w->filling)
			stop = w->next_seq >= w->nunits;
		else
			stop = nvmf_now_ns() >= end_ns;
	}
	return 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	const struct perf_cfg *cfg = w->cfg;
	bool needs_fill = cfg->verify && (cfg->w == W_READ || cfg->w == W_RANDREAD);

	if (needs_fill) {
		w->filling = true;
		w->next_seq = 0;
		if (run_phase(w, 0) < 0)
			goto out;
		w->filling = false;
		w->next_seq = 0;
	}
	w->start_ns = nvmf_now_ns();
	run_phase(w, w->start_ns + (uint64_t)cfg->seconds * 1000000000ull);
	w->end_ns = nvmf_now_ns();
out:
	atomic_fetch_sub(&g_workers_running, 1);
	return NULL;
}

static int worker_init(struct worker *w, const struct perf_cfg *cfg, struct nvmf_qpair *qp,
		       int id, uint64_t first, uint64_t n)
{
	w->cfg = cfg;
	w->qp = qp;
	w->id = id;
	w->first_unit = first;
	w->nunits = n;
	w->rng = cfg->seed * 2654435761u + (uint64_t)id * 0x9e3779b97f4a7c15ull + 1;
	w->ios = calloc(cfg->qd, sizeof(*w->ios));
	w->free_ios = calloc(cfg->qd, sizeof(*w->free_ios));
	w->ready = calloc(cfg->qd, sizeof(*w->ready));
	if (!w->ios || !w->free_ios || !w->ready)
		return -ENOMEM;
	if (cfg->verify) {
		w->busy = calloc(n, 1);
		w->written = calloc(n, 1);
		if (!w->busy || !w->written)
			return -ENOMEM;
	}
	for (uint32_t i = 0; i < cfg->qd; i++) {
		w->ios[i].w = w;
		if (posix_memalign((void **)&w->ios[i].buf, 4096, cfg->io_size))
			return -ENOMEM;
		memset(w->ios[i].buf, 0, cfg->io_size);
		w->free_ios[w->nfree++] = &w->ios[i];
	}
	return 0;
}

static void worker_free(struct worker *w)
{
	if (w->ios)
		for (uint32_t i = 0; i < w->cfg->qd; i++)
			free(w->ios[i].buf);
	free(w->ios);
	free(w->free_ios);
	free(w->ready);
	free(w->busy);
	free(w->written);
}

static double percentile(const uint64_t *hist, uint64_t total, double p)
{
	uint64_t want = (uint64_t)ceil(p * (double)total), seen = 0;

	for (unsigned int i = 0; i < HIST_BUCKETS; i++) {
		seen += hist[i];
		if (seen >= want && hist[i])
			return (double)hist_value(i) / 1000.0;
	}
	return 0;
}

/* One line of the table: IOPS, MiB/s and latencies of one direction. */
static void report_row(const char *label, uint64_t ops, uint64_t bytes, uint64_t sum,
		       uint64_t max, const uint64_t *hist, double secs)
{
	printf("%-6s %12.1f %10.2f %10.1f %10.1f %10.1f %10.1f %10.1f %10.1f\n", label,
	       secs > 0 ? (double)ops / secs : 0, secs > 0 ? (double)bytes / secs / 1048576.0 : 0,
	       ops ? (double)sum / (double)ops / 1000.0 : 0, percentile(hist, ops, 0.50),
	       percentile(hist, ops, 0.90), percentile(hist, ops, 0.99),
	       percentile(hist, ops, 0.999), (double)max / 1000.0);
}

/*
 * secs is the wall time of the I/O phase (from the first worker's first
 * submission to the last worker's last completion; a read workload's
 * --verify fill pass is not part of it). Reads and writes are counted
 * apart: with --verify a write workload's read-backs are reads.
 */
static void report(const struct perf_cfg *cfg, struct worker *ws, int n, double secs,
		   const struct nvmf_ctrl *c)
{
	static uint64_t hist[2][HIST_BUCKETS];
	uint64_t ops[2] = { 0 }, bytes[2] = { 0 }, sum[2] = { 0 }, max[2] = { 0 }, errors = 0,
		 verr = 0, rb = 0;
	bool reads = cfg->w == W_READ || cfg->w == W_RANDREAD || cfg->w == W_RW;
	bool writes = cfg->w == W_WRITE || cfg->w == W_RANDWRITE || cfg->w == W_RW;

	memset(hist, 0, sizeof(hist));
	for (int i = 0; i < n; i++) {
		for (int d = 0; d < 2; d++) {
			ops[d] += ws[i].ops[d];
			bytes[d] += ws[i].bytes[d];
			sum[d] += ws[i].lat_sum_ns[d];
			if (ws[i].lat_max_ns[d] > max[d])
				max[d] = ws[i].lat_max_ns[d];
			for (int b = 0; b < HIST_BUCKETS; b++)
				hist[d][b] += ws[i].hist[d][b];
		}
		errors += ws[i].errors;
		verr += ws[i].verify_errors;
		rb += ws[i].readbacks;
	}
	printf("nvmfuse perf: %s %u B, QD %u x %d queue(s), %.3f s, nsid %u, digests: %s%s%s\n",
	       workload_names[cfg->w], cfg->io_size, cfg->qd, n, secs, cfg->nsid,
	       c->opts.hdgst ? "header" : "", c->opts.hdgst && c->opts.ddgst ? "+" : "",
	       c->opts.ddgst ? "data" : (c->opts.hdgst ? "" : "none"));
	printf("%-6s %12s %10s %10s %10s %10s %10s %10s %10s\n", "", "IOPS", "MiB/s", "avg(us)",
	       "p50(us)", "p90(us)", "p99(us)", "p99.9(us)", "max(us)");
	if (reads || ops[0])
		report_row("read", ops[0], bytes[0], sum[0], max[0], hist[0], secs);
	if (writes || ops[1])
		report_row("write", ops[1], bytes[1], sum[1], max[1], hist[1], secs);
	printf("ios: %" PRIu64 "  errors: %" PRIu64 "%s\n", ops[0] + ops[1], errors,
	       cfg->verify ? "" : "  (not verified)");
	printf("reads: %" PRIu64 "  writes: %" PRIu64 "\n", ops[0], ops[1]);
	if (cfg->verify)
		printf("verify: %s, seed %" PRIu64 ", %" PRIu64 " writes read back, %" PRIu64
		       " mismatches\n", verr ? "FAILED" : "ok", cfg->seed, rb, verr);
	{
		uint64_t dd = 0, succ = 0, to = 0, ir = 0, il = 0;

		for (int i = 0; i < n; i++) {
			dd += ws[i].qp->stats.ddgst_errors;
			succ += ws[i].qp->stats.c2h_success;
			to += ws[i].qp->stats.timeouts;
			ir += ws[i].qp->stats.inv_remote;
			il += ws[i].qp->stats.inv_local;
		}
		if (!strcmp(ws[0].qp->ops->name, "rdma"))
			printf("transport: %" PRIu64 " timeouts, %" PRIu64 " memory windows shut "
			       "by Send with Invalidate, %" PRIu64 " by local invalidate\n",
			       to, ir, il);
		else
			printf("transport: %" PRIu64 " data digest errors, %" PRIu64 " timeouts, "
			       "%" PRIu64 " reads completed by C2HData SUCCESS\n", dd, to, succ);
	}
	for (int i = 0; i < n; i++)
		if (ws[i].first_error[0])
			fprintf(stderr, "%s: queue %d: first error: %s\n", cli_prog, i + 1,
				ws[i].first_error);
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: nvmfuse perf -t tcp|rdma -a TRADDR [-s TRSVCID] -n SUBNQN [--nsid N]\n"
		"         -q QUEUE_DEPTH -o IO_BYTES -w read|write|randread|randwrite|rw\n"
		"         [-T SECONDS] [-i NR_IO_QUEUES] [-P NR_POLL_QUEUES] [--verify] [--seed N]\n"
		"         [--size BYTES]\n"
		"         [--hostnqn NQN] [-I HOSTID] [-g] [-G] [--disable-sqflow] [--timeout SECONDS]\n"
		CLI_IDENTITY_USAGE CLI_DHCHAP_USAGE);
}

int cmd_perf(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_FABRICS_LONGOPTS,
		{ "nqn", required_argument, NULL, 'n' },
		{ "hostnqn", required_argument, NULL, OPT_HOSTNQN },
		{ "nsid", required_argument, NULL, OPT_NSID },
		{ "queue-depth", required_argument, NULL, 'q' },
		{ "io-size", required_argument, NULL, 'o' },
		{ "workload", required_argument, NULL, 'w' },
		{ "time", required_argument, NULL, 'T' },
		{ "verify", no_argument, NULL, OPT_VERIFY },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "size", required_argument, NULL, OPT_SIZE },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct perf_cfg cfg = { .w = W_RANDREAD, .io_size = 4096, .qd = 32, .seconds = 10 };
	struct worker *ws = NULL;
	struct nvmf_ctrl_opts o;
	struct nvmf_ctrl *c = NULL;
	const struct nvmf_ns *ns = NULL;
	struct cli_fabrics f;
	uint64_t size_arg = 0, units, per;
	bool have_seed = false;
	long long v;
	char err[512];
	int opt, rc, ret = 1, started = 0;
	double secs;

	cli_fabrics_defaults(&f);
	while ((opt = getopt_long(argc, argv, "t:a:s:n:I:i:P:S:C:gGq:o:w:T:h", longopts, NULL)) != -1) {
		if (opt == 'q') {	/* perf's -q is the queue depth, as in spdk_nvme_perf */
			if (cli_parse_int(optarg, "queue depth (-q)", 1, 1024, &v) < 0)
				return 1;
			cfg.qd = (uint32_t)v;
			continue;
		}
		rc = cli_fabrics_opt(&f, opt, optarg);
		if (rc < 0)
			return 1;
		if (rc)
			continue;
		switch (opt) {
		case 'o':
			if (cli_parse_size(optarg, "I/O size (-o)", &size_arg) < 0)
				return 1;
			if (size_arg > 16 * 1024 * 1024) {
				cli_error("I/O size %s is larger than 16 MiB", optarg);
				return 1;
			}
			cfg.io_size = (uint32_t)size_arg;
			break;
		case 'w': {
			size_t i;

			for (i = 0; i < 5 && strcmp(optarg, workload_names[i]); i++)
				;
			if (i == 5) {
				cli_error("invalid workload '%s': use read, write, randread, "
					  "randwrite or rw", optarg);
				return 1;
			}
			cfg.w = (enum workload)i;
			break;
		}
		case 'T':
			if (cli_parse_int(optarg, "time (-T)", 1, 86400, &v) < 0)
				return 1;
			cfg.seconds = (uint32_t)v;
			break;
		case OPT_NSID:
			if (cli_parse_int(optarg, "--nsid", 1, 0xfffffffeLL, &v) < 0)
				return 1;
			cfg.nsid = (uint32_t)v;
			break;
		case OPT_VERIFY:
			cfg.verify = true;
			break;
		case OPT_SEED:
			if (cli_parse_int(optarg, "--seed", 1, INT64_MAX, &v) < 0)
				return 1;
			cfg.seed = (uint64_t)v;
			have_seed = true;
			break;
		case OPT_SIZE:
			if (cli_parse_size(optarg, "--size", &cfg.region) < 0)
				return 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (cli_no_more_args(argc, argv, optind) < 0)
		return 1;
	if (cli_need_io_queue(&f) < 0 || cli_fabrics_finish(&f, true) < 0)
		return 1;
	if (!have_seed)
		cfg.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	if (f.queue_size < (int)cfg.qd + 1)
		f.queue_size = (int)cfg.qd + 1;

	cli_fabrics_to_opts(&f, &o);
	rc = nvmf_ctrl_connect(&o, &c, err, sizeof(err));
	if (rc < 0) {
		cli_error("%s", err);
		goto out;
	}
	if (!c->nr_ns) {
		cli_error("subsystem %s has no active namespace", f.subnqn);
		goto out;
	}
	for (int i = 0; i < c->nr_ns; i++)
		if (!cfg.nsid || c->ns[i].nsid == cfg.nsid)
			ns = ns ? ns : &c->ns[i];
	if (!ns) {
		cli_error("namespace %u is not active on %s", cfg.nsid, f.subnqn);
		goto out;
	}
	cfg.nsid = ns->nsid;
	cfg.lba_size = ns->lba_size;
	if (cfg.io_size % cfg.lba_size) {
		cli_error("I/O size %u is not a multiple of the %u-byte block size", cfg.io_size,
			  cfg.lba_size);
		goto out;
	}
	if (c->max_xfer && cfg.io_size > c->max_xfer) {
		cli_error("I/O size %u exceeds the controller's maximum transfer of %u bytes (MDTS)",
			  cfg.io_size, c->max_xfer);
		goto out;
	}
	if (cfg.qd > c->io_depth) {
		fprintf(stderr, "%s: queue depth %u reduced to the queue size limit %u\n",
			cli_prog, cfg.qd, c->io_depth);
		cfg.qd = c->io_depth;
	}
	if (!cfg.region || cfg.region > ns->nsze * ns->lba_size)
		cfg.region = cfg.verify && cfg.region == 0 && ns->nsze * ns->lba_size > (64u << 20) ?
			     64u << 20 : ns->nsze * ns->lba_size;
	units = cfg.region / cfg.io_size;
	per = units / (uint64_t)c->nr_ioq;
	if (!per) {
		cli_error("region of %" PRIu64 " bytes is too small for %d queue(s) of %u-byte I/O",
			  cfg.region, c->nr_ioq, cfg.io_size);
		goto out;
	}
	ws = calloc((size_t)c->nr_ioq, sizeof(*ws));
	if (!ws)
		goto out;
	for (int i = 0; i < c->nr_ioq; i++) {
		if (worker_init(&ws[i], &cfg, c->ioq[i], i, (uint64_t)i * per, per) < 0) {
			cli_error("out of memory");
			goto out;
		}
		ws[i].busy_poll = i >= c->nr_ioq - c->nr_poll_ioq;
	}
	/* The I/O queues now belong to the workers; this thread keeps the admin queue. */
	atomic_store(&g_workers_running, c->nr_ioq);
	for (int i = 0; i < c->nr_ioq; i++) {
		if (pthread_create(&ws[i].thread, NULL, worker_main, &ws[i])) {
			atomic_fetch_sub(&g_workers_running, c->nr_ioq - i);
			cli_error("cannot start worker threads");
			break;
		}
		started++;
	}
	while (atomic_load(&g_workers_running) > 0) {
		int ms = nvmf_ctrl_next_timeout_ms(c);

		if (nvmf_qpair_poll(c->adminq, ms > 50 || ms < 0 ? 50 : ms) < 0 ||
		    nvmf_ctrl_service(c) < 0) {
			fprintf(stderr, "%s: admin queue: %s\n", cli_prog, nvmf_ctrl_error(c));
			break;
		}
	}
	for (int i = 0; i < started; i++)
		pthread_join(ws[i].thread, NULL);
	/* The I/O phase's wall time, measured: first start to last end. */
	{
		uint64_t first = 0, last = 0;

		for (int i = 0; i < started; i++) {
			if (!ws[i].start_ns || !ws[i].end_ns)
				continue;	/* stopped in the fill pass */
			if (!first || ws[i].start_ns < first)
				first = ws[i].start_ns;
			if (ws[i].end_ns > last)
				last = ws[i].end_ns;
		}
		secs = first ? (double)(last - first) / 1e9 : 0;
	}
	report(&cfg, ws, c->nr_ioq, secs, c);
	ret = 0;
	for (int i = 0; i < c->nr_ioq; i++)
		if (ws[i].errors || ws[i].verify_errors || ws[i].fatal)
			ret = 1;
	if (started < c->nr_ioq)
		ret = 1;
out:
	if (ws && c)
		for (int i = 0; i < c->nr_ioq; i++)
			worker_free(&ws[i]);
	free(ws);
	nvmf_ctrl_disconnect(c);
	cli_fabrics_free(&f);
	return ret;
}
