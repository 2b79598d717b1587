/* SPDX-License-Identifier: MIT */
/*
 * The control plane against a hostile or dying controller (the fake
 * target with hostile knobs, tests/unit/fake_target.h): namespace lists
 * that loop or repeat, Identify fields that would size or shift things
 * out of range, a namespace that changes while the host is away, a queue
 * that dies right after a reconnect, a frozen controller, a connect
 * cancelled from another thread, and a failed queue pair that must cost
 * no CPU. Each test failed on the code before the fix it covers (the
 * looping scans by timing out).
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "host/identify.h"
#include "host/nvmf.h"
#include "host/worker.h"
#include "fake_target.h"

#define HOSTNQN "nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555"
#define HOSTID "11111111-2222-3333-4444-555555555555"

static uint64_t ms_since(uint64_t t0)
{
	return (nvmf_now_ns() - t0) / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void opts_fill(struct nvmf_ctrl_opts *o, struct ft *ft)
{
	memset(o, 0, sizeof(*o));
	o->transport = "tcp";
	o->traddr = "127.0.0.1";
	o->trsvcid = ft_port(ft);
	o->subnqn = FT_SUBNQN;
	o->hostnqn = HOSTNQN;
	o->hostid = HOSTID;
	o->timeout_ms = 3000;
	o->nr_io_queues = 1;
}

/* Connect to a target built from @cfg; returns the result, @err filled. */
static int try_connect(const struct ft_config *cfg, struct ft **ftp, struct nvmf_ctrl **c,
		       char *err, size_t errlen)
{
	struct nvmf_ctrl_opts o;

	*ftp = ft_start(cfg);
	ck_assert_ptr_nonnull(*ftp);
	opts_fill(&o, *ftp);
	*c = NULL;
	err[0] = 0;
	return nvmf_ctrl_connect(&o, c, err, errlen);
}

/* The controller connects, and not one of its namespaces is served. */
static void expect_no_namespace(const struct ft_config *cfg)
{
	struct nvmf_ctrl *c;
	struct ft *ft;
	char err[256];
	int rc;

	rc = try_connect(cfg, &ft, &c, err, sizeof(err));
	ck_assert_msg(rc == 0, "connect: %s", err);
	ck_assert_int_eq(c->nr_ns, 0);
	nvmf_ctrl_disconnect(c);
	ft_stop(ft);
}

/* ---------------------------------------------------- namespace lists */

/* Every page 1..1024 again: the old scan looped forever, growing memory. */
START_TEST(test_ns_list_repeats)
{
	struct ft_config cfg;
	struct nvmf_ctrl *c;
	struct ft *ft;
	char err[256];
	int rc;

	ft_config_default(&cfg);
	cfg.ns_list = FT_LIST_REPEAT;
	cfg.nn = 0xfffffffe;
	rc = try_connect(&cfg, &ft, &c, err, sizeof(err));
	ck_assert_int_eq(rc, -EPROTO);
	ck_assert_msg(strstr(err, "must increase"), "error: %s", err);
	ft_stop(ft);
}
END_TEST

/*
 * Full pages of allocated but inactive namespaces (NSZE 0): the old scan
 * never advanced past them and read the first page forever.
 */
START_TEST(test_ns_all_inactive)
{
	struct ft_config cfg;

	ft_config_default(&cfg);
	cfg.ns_list = FT_LIST_FULL;
	cfg.ns_inactive = true;
	cfg.nn = 3000;
	expect_no_namespace(&cfg);
}
END_TEST

/* Lists that break the rules once: refused, naming the entry. */
START_TEST(test_ns_list_broken)
{
	static const struct { enum ft_ns_list mode; const char *why; } cases[] = {
		{ FT_LIST_DUP, "namespace 1 after 1" },
		{ FT_LIST_ABOVE_NN, "above the controller's NN" },
	};
	struct ft_config cfg;
	struct nvmf_ctrl *c;
	struct ft *ft;
	char err[256];

	ft_config_default(&cfg);
	cfg.ns_list = cases[_i].mode;
	ck_assert_int_eq(try_connect(&cfg, &ft, &c, err, sizeof(err)), -EPROTO);
	ck_assert_msg(strstr(err, cases[_i].why), "error: %s", err);
	ft_stop(ft);
}
END_TEST

/* ------------------------------------------------- Identify fields */

/* LBADS 40, 1, 8 or 17, FLBAS beyond NLBAF: the namespace is not served. */
START_TEST(test_bad_lba_format)
{
	static const struct { uint8_t lbads; bool beyond; } cases[] = {
		{ 40, false }, { 1, false }, { 8, false }, { 17, false }, { 0, true },
	};
	struct ft_config cfg;

	ft_config_default(&cfg);
	cfg.lbads = cases[_i].lbads;	/* 0: the fake target's defaults */
	cfg.flbas_beyond = cases[_i].beyond;
	expect_no_namespace(&cfg);
}
END_TEST

/* MDTS 40 and IOCCSZ 0xffffffff: limits stay in range (UBSan: no shift UB). */
START_TEST(test_mdts_ioccsz_out_of_range)
{
	struct ft_config cfg;
	struct nvmf_ctrl *c;
	struct ft *ft;
	char err[256];

	ft_config_default(&cfg);
	cfg.mdts = 40;
	cfg.ioccsz_raw = 0xffffffffu;
	ck_assert_int_eq(try_connect(&cfg, &ft, &c, err, sizeof(err)), 0);
	ck_assert_uint_eq(c->max_xfer, NVMF_MAX_XFER_CAP);
	ck_assert_uint_le(c->io_icd_max, NVMF_ICD_CAP);
	nvmf_ctrl_disconnect(c);
	ft_stop(ft);
}
END_TEST

/* The pure checks, field by field. */
START_TEST(test_id_ns_parse_table)
{
	struct nvme_id_ns id;
	struct nvmf_ns ns;
	char err[200];

	memset(&id, 0, sizeof(id));
	ck_assert_int_eq(nvmf_id_ns_parse(1, &id, &ns, err, sizeof(err)), 1);	/* NSZE 0 */
	id.nsze = htole64(100);
	id.lbaf[0].ds = 9;
	ck_assert_int_eq(nvmf_id_ns_parse(1, &id, &ns, err, sizeof(err)), 0);
	ck_assert_uint_eq(ns.lba_size, 512);
	id.nlbaf = 64;
	ck_assert_int_eq(nvmf_id_ns_parse(1, &id, &ns, err, sizeof(err)), -EPROTO);
	id.nlbaf = 16;
	id.flbas = 0x60 | 0x0f;		/* format 63 > 16 */
	ck_assert_int_eq(nvmf_id_ns_parse(1, &id, &ns, err, sizeof(err)), -EPROTO);
	ck_assert_ptr_nonnull(strstr(err, "FLBAS"));
	id.flbas = 0x20;		/* format 16 with the extended bits */
	id.lbaf[16].ds = 12;
	ck_assert_int_eq(nvmf_id_ns_parse(1, &id, &ns, err, sizeof(err)), 0);
	ck_assert_uint_eq(ns.lba_size, 4096);
	id.lbaf[16].ds = 16;
	id.nsze = htole64(UINT64_MAX >> 10);
	ck_assert_int_eq(nvmf_id_ns_parse(1, &id, &ns, err, sizeof(err)), -EPROTO);
	ck_assert_ptr_nonnull(strstr(err, "overflows"));
}
END_TEST

/* ----------------------------------------------- workers and reconnect */

struct io {
	struct nvmf_request req;
	struct nvmf_worker *w;
	uint8_t buf[4096];
	atomic_int done;
	uint16_t status;
	int xport_err;
};

/* Like the frontends: a transport failure waits for the reconnect while held. */
static void io_done(struct nvmf_request *req)
{
	struct io *io = req->cb_arg;

	if (req->xport_err && io->w && nvmf_worker_holding(io->w)) {
		nvmf_worker_submit(io->w, req);
		return;
	}
	io->status = req->status;
	io->xport_err = req->xport_err;
	atomic_store(&io->done, 1);
}

static void prep_read(struct io *io, uint32_t nsid, uint32_t len)
{
	memset(io, 0, sizeof(*io));
	io->req.cmd.opc = 0x02;
	io->req.cmd.nsid = htole32(nsid);
	io->req.cmd.cdw12 = htole32(0);	/* one block */
	io->req.data = io->buf;
	io->req.data_len = len;
	io->req.dir = NVMF_DIR_C2H;
	io->req.timeout_ms = 30000;
	io->req.cb = io_done;
	io->req.cb_arg = io;
}

static bool wait_state(struct nvmf_ctrl *c, enum nvmf_ctrl_state s, int ms)
{
	for (uint64_t t0 = nvmf_now_ns(); ms_since(t0) < (uint64_t)ms; sleep_ms(5))
		if (nvmf_ctrl_get_state(c) == s)
			return true;
	return nvmf_ctrl_get_state(c) == s;
}

/*
 * Event @ev posted within @ms. The controller turns FAILED before it posts
 * the event (ctrl_fail: state, log, queues, then the event), so a test
 * that saw the state waits for the event too (the daemon is woken by the
 * event fd, never by the state).
 */
static bool wait_event(struct nvmf_ctrl *c, unsigned int ev, int ms)
{
	for (uint64_t t0 = nvmf_now_ns(); ms_since(t0) < (uint64_t)ms; sleep_ms(5))
		if (nvmf_ctrl_take_events(c) & ev)
			return true;
	return nvmf_ctrl_take_events(c) & ev;
}

static bool wait_done(struct io *io, int ms)
{
	for (uint64_t t0 = nvmf_now_ns(); ms_since(t0) < (uint64_t)ms; sleep_ms(5))
		if (atomic_load(&io->done))
			return true;
	return atomic_load(&io->done);
}

static struct nvmf_ctrl *start_ctrl(struct ft *ft, int kato_s)
{
	struct nvmf_ctrl_opts o;
	struct nvmf_ctrl *c = NULL;
	char err[256];

	opts_fill(&o, ft);
	o.kato_s = kato_s;
	ck_assert_msg(nvmf_ctrl_connect(&o, &c, err, sizeof(err)) == 0, "connect: %s", err);
	ck_assert_int_eq(nvmf_ctrl_start(c), 0);
	return c;
}

/*
 * A queue that dies on the first command after a reconnect: the failure
 * must leave the controller FAILED (with the event pending), not LIVE
 * with a dead queue holding I/O forever.
 */
START_TEST(test_failure_right_after_reconnect)
{
	struct ft_config cfg;
	struct nvmf_ctrl *c;
	struct ft *ft;
	struct io io;
	char err[256];

	ft_config_default(&cfg);
	ft = ft_start(&cfg);
	ck_assert_ptr_nonnull(ft);
	c = start_ctrl(ft, 0);
	nvmf_worker_hold(c->io_workers[0], true);
	/* First failure: the I/O connection closes on the next command. */
	ft_arm(ft, 1, FT_FAULT_CLOSE, 0);
	prep_read(&io, 1, 512);
	io.w = c->io_workers[0];
	nvmf_worker_post(c->io_workers[0], &io.req);
	ck_assert(wait_state(c, NVMF_CTRL_FAILED, 3000));
	ck_assert(wait_event(c, NVMF_CTRL_EV_FAILED, 3000));
	ck_assert(!atomic_load(&io.done));	/* held */
	/* The new I/O connection answers its Connect, then dies on the replay. */
	ft_arm(ft, 1, FT_FAULT_CLOSE, 0);
	ck_assert_msg(nvmf_ctrl_reconnect(c, err, sizeof(err)) == 0, "reconnect: %s", err);
	ck_assert_msg(wait_state(c, NVMF_CTRL_FAILED, 3000), "state %s after the replay failed",
		      nvmf_ctrl_state_str(nvmf_ctrl_get_state(c)));
	ck_assert(wait_event(c, NVMF_CTRL_EV_FAILED, 3000));
	/* A good reconnect then serves the held read. */
	ck_assert_msg(nvmf_ctrl_reconnect(c, err, sizeof(err)) == 0, "reconnect: %s", err);
	ck_assert(wait_done(&io, 3000));
	ck_assert_int_eq(io.xport_err, 0);
	ck_assert_int_eq(NVMF_STATUS_CODE(io.status), 0);
	ck_assert_int_eq(nvmf_ctrl_get_state(c), NVMF_CTRL_LIVE);
	nvmf_worker_hold(c->io_workers[0], false);
	nvmf_ctrl_stop(c);
	nvmf_ctrl_disconnect(c);
	ft_stop(ft);
}
END_TEST

/*
 * Namespace 1 changes (new NGUID and size) while the association is down:
 * after the reconnect a held read for the old incarnation fails with
 * Invalid Namespace + DNR instead of reading the new one.
 */
START_TEST(test_ns_changed_while_away)
{
	struct ft_config cfg;
	struct nvmf_ns_ref ref;
	struct ft_stats st;
	struct nvmf_ctrl *c;
	struct ft *ft;
	struct io io, io2;
	unsigned int reads;
	char err[256];

	ft_config_default(&cfg);
	cfg.descs = true;
	ft = ft_start(&cfg);
	ck_assert_ptr_nonnull(ft);
	c = start_ctrl(ft, 0);
	ck_assert_int_eq(c->nr_ns, 2);
	ck_assert_uint_eq(c->ns[0].nguid[0], 1);
	nvmf_ns_ref_init(&ref, &c->ns[0]);
	ck_assert(nvmf_ns_ref_valid(c, &ref));
	nvmf_worker_hold(c->io_workers[0], true);
	ft_arm(ft, 1, FT_FAULT_CLOSE, 0);
	prep_read(&io, 1, 512);
	io.w = c->io_workers[0];
	io.req.ns_ref = &ref;
	nvmf_worker_post(c->io_workers[0], &io.req);
	ck_assert(wait_state(c, NVMF_CTRL_FAILED, 3000));
	ft_get_stats(ft, &st);
	reads = st.reads;
	ft_change_ns(ft, 1, 8192);
	ck_assert_msg(nvmf_ctrl_reconnect(c, err, sizeof(err)) == 0, "reconnect: %s", err);
	ck_assert(wait_done(&io, 3000));
	ck_assert_int_eq(io.status, NVMF_SC_INVALID_NS | NVME_SC_DNR);
	ck_assert(!nvmf_ns_ref_valid(c, &ref));
	/* Namespace 2 did not change: its I/O goes on. */
	ck_assert_uint_eq(c->ns[1].instance, 2);
	prep_read(&io2, 2, 4096);
	nvmf_worker_post(c->io_workers[0], &io2.req);
	ck_assert(wait_done(&io2, 3000));
	ck_assert_int_eq(io2.status, 0);
	ft_get_stats(ft, &st);
	ck_assert_uint_eq(st.reads, reads + 1);	/* io2 only: io never reached the target */
	ck_assert_uint_eq(c->ns[0].nsze, 8192);
	ck_assert_uint_gt(c->ns[0].instance, 2);
	nvmf_worker_hold(c->io_workers[0], false);
	nvmf_ctrl_stop(c);
	nvmf_ctrl_disconnect(c);
	ft_stop(ft);
}
END_TEST

/*
 * The controller stops answering: the Keep Alive times out after KATO and
 * fails the association, and the read waiting on the I/O queue fails at
 * once, not after its own 30 s timeout.
 */
START_TEST(test_keep_alive_timeout_fails_io)
{
	struct ft_config cfg;
	struct nvmf_ctrl *c;
	struct ft *ft;
	struct io io;
	uint64_t t0;

	ft_config_default(&cfg);
	ft = ft_start(&cfg);
	ck_assert_ptr_nonnull(ft);
	c = start_ctrl(ft, 2);
	ft_arm(ft, -1, FT_FAULT_NO_ANSWER, 0);	/* every queue: frozen */
	prep_read(&io, 1, 512);
	t0 = nvmf_now_ns();
	nvmf_worker_post(c->io_workers[0], &io.req);
	ck_assert_msg(wait_done(&io, 8000), "the read still waits after %llu ms",
		      (unsigned long long)ms_since(t0));
	ck_assert_int_ne(io.xport_err, 0);
	ck_assert_int_eq(nvmf_ctrl_get_state(c), NVMF_CTRL_FAILED);
	ck_assert_msg(ms_since(t0) < 6000, "failed after %llu ms", (unsigned long long)ms_since(t0));
	nvmf_ctrl_stop(c);
	nvmf_ctrl_disconnect(c);
	ft_stop(ft);
}
END_TEST

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* A failed queue pair (peer gone, socket at EOF) costs no CPU while held. */
START_TEST(test_failed_queue_costs_no_cpu)
{
	struct ft_config cfg;
	struct nvmf_ctrl *c;
	struct ft *ft;
	struct io io;
	double cpu;

	ft_config_default(&cfg);
	ft = ft_start(&cfg);
	ck_assert_ptr_nonnull(ft);
	c = start_ctrl(ft, 0);
	nvmf_worker_hold(c->io_workers[0], true);
	ft_arm(ft, 1, FT_FAULT_CLOSE, 0);
	prep_read(&io, 1, 512);
	nvmf_worker_post(c->io_workers[0], &io.req);
	ck_assert(wait_state(c, NVMF_CTRL_FAILED, 3000));
	ft_stop(ft);			/* every socket of the target closes: EOF, HUP */
	sleep_ms(200);
	cpu = cpu_seconds();
	sleep_ms(1000);
	cpu = cpu_seconds() - cpu;
	ck_assert_msg(cpu < 0.05, "%.3f s of CPU in 1 s with the controller failed", cpu);
	nvmf_worker_hold(c->io_workers[0], false);
	ck_assert(wait_done(&io, 1000));
	nvmf_ctrl_stop(c);
	nvmf_ctrl_disconnect(c);
}
END_TEST

/*
 * A poll queue (-P): its thread spins while a command is outstanding (here
 * one the controller sits on) and sleeps when idle, so an idle poll queue
 * costs no CPU. A normal queue with the same command outstanding sleeps.
 */
START_TEST(test_poll_queue_spins_only_while_busy)
{
	struct ft_config cfg;
	struct nvmf_ctrl_opts o;
	struct nvmf_ctrl *c = NULL;
	struct ft *ft;
	struct io slow, quick;
	char err[256];
	double idle, busy;

	ft_config_default(&cfg);
	ft = ft_start(&cfg);
	ck_assert_ptr_nonnull(ft);
	opts_fill(&o, ft);
	o.nr_io_queues = 0;
	o.nr_poll_queues = 1;
	ck_assert_msg(nvmf_ctrl_connect(&o, &c, err, sizeof(err)) == 0, "connect: %s", err);
	ck_assert_int_eq(c->nr_ioq, 1);
	ck_assert_int_eq(c->nr_poll_ioq, 1);
	ck_assert_int_eq(nvmf_ctrl_start(c), 0);

	/* It works as a queue. */
	prep_read(&quick, 1, 512);
	nvmf_worker_post(c->io_workers[0], &quick.req);
	ck_assert(wait_done(&quick, 2000));
	ck_assert(nvmf_req_ok(&quick.req));

	sleep_ms(100);
	idle = cpu_seconds();
	sleep_ms(500);
	idle = cpu_seconds() - idle;
	ck_assert_msg(idle < 0.05, "idle poll queue used %.3f s of CPU in 0.5 s", idle);

	ft_arm(ft, 1, FT_FAULT_NO_ANSWER, 1);	/* the next I/O command: never answered */
	prep_read(&slow, 1, 512);
	slow.req.timeout_ms = 20000;
	nvmf_worker_post(c->io_workers[0], &slow.req);
	sleep_ms(50);
	busy = cpu_seconds();
	sleep_ms(500);
	busy = cpu_seconds() - busy;
	/* A spinning thread; a sleeping one uses about 0 (bound loose for a loaded host). */
	ck_assert_msg(busy > 0.1, "poll queue used only %.3f s of CPU in 0.5 s with a command outstanding",
		      busy);
	nvmf_ctrl_stop(c);
	nvmf_ctrl_disconnect(c);	/* fails the outstanding command */
	ck_assert(atomic_load(&slow.done));
	ft_stop(ft);
}
END_TEST

/*
 * A caller's short timeout (abort_ms) on a command the controller sits on:
 * an Abort for exactly that command goes out, the queue pair stays live,
 * and another caller's read on the same queue completes normally.
 */
START_TEST(test_short_timeout_aborts_only_that_command)
{
	struct ft_config cfg;
	struct ft_stats st;
	struct nvmf_ctrl *c;
	struct ft *ft;
	struct io slow, other;

	ft_config_default(&cfg);
	ft = ft_start(&cfg);
	ck_assert_ptr_nonnull(ft);
	c = start_ctrl(ft, 0);
	ft_arm(ft, 1, FT_FAULT_NO_ANSWER, 1);	/* the next I/O command: never answered */
	prep_read(&slow, 1, 512);
	slow.req.abort_ms = 1;
	slow.req.timeout_ms = 20000;
	nvmf_worker_post(c->io_workers[0], &slow.req);
	for (uint64_t t0 = nvmf_now_ns(); ms_since(t0) < 3000; sleep_ms(10)) {
		ft_get_stats(ft, &st);
		if (st.aborts)
			break;
	}
	ft_get_stats(ft, &st);
	ck_assert_uint_eq(st.aborts, 1);
	ck_assert_uint_eq(st.last_abort & 0xffff, 1);		/* SQID 1 */
	ck_assert_uint_eq(st.last_abort >> 16, slow.req.cid);	/* that command */
	prep_read(&other, 1, 512);
	nvmf_worker_post(c->io_workers[0], &other.req);
	ck_assert(wait_done(&other, 3000));
	ck_assert_int_eq(other.xport_err, 0);
	ck_assert_int_eq(other.status, 0);
	ck_assert_int_eq(nvmf_ctrl_get_state(c), NVMF_CTRL_LIVE);
	ck_assert(!atomic_load(&slow.done));	/* still the controller's */
	nvmf_ctrl_stop(c);
	nvmf_ctrl_disconnect(c);
	ck_assert(atomic_load(&slow.done));
	ft_stop(ft);
}
END_TEST

struct canceller {
	int fd;
	int after_ms;
};

static void *cancel_main(void *arg)
{
	struct canceller *k = arg;
	uint64_t one = 1;

	sleep_ms(k->after_ms);
	if (write(k->fd, &one, sizeof(one)) < 0)
		abort();
	return NULL;
}

/* A connect to a silent target gives up as soon as its cancel fd fires. */
START_TEST(test_connect_cancelled)
{
	struct canceller k = { .after_ms = 200 };
	struct nvmf_ctrl_opts o;
	struct ft_config cfg;
	struct nvmf_ctrl *c = NULL;
	struct ft *ft;
	pthread_t th;
	char err[256];
	uint64_t t0;
	int rc;

	ft_config_default(&cfg);
	cfg.silent = true;
	ft = ft_start(&cfg);
	ck_assert_ptr_nonnull(ft);
	opts_fill(&o, ft);
	o.timeout_ms = 10000;
	k.fd = eventfd(0, EFD_CLOEXEC);
	o.cancel_fd = k.fd;
	ck_assert_int_eq(pthread_create(&th, NULL, cancel_main, &k), 0);
	t0 = nvmf_now_ns();
	rc = nvmf_ctrl_connect(&o, &c, err, sizeof(err));
	pthread_join(th, NULL);
	ck_assert_int_eq(rc, -ECANCELED);
	ck_assert_msg(ms_since(t0) < 2000, "gave up after %llu ms", (unsigned long long)ms_since(t0));
	ck_assert_msg(strstr(err, "cancelled"), "error: %s", err);
	close(k.fd);
	ft_stop(ft);
}
END_TEST

static Suite *hostile_suite(void)
{
	Suite *s = suite_create("hostile");
	TCase *tc = tcase_create("identify");

	/* The looping scans of old hit this timeout: it is the failure. */
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_ns_list_repeats);
	tcase_add_test(tc, test_ns_all_inactive);
	tcase_add_loop_test(tc, test_ns_list_broken, 0, 2);
	tcase_add_loop_test(tc, test_bad_lba_format, 0, 5);
	tcase_add_test(tc, test_mdts_ioccsz_out_of_range);
	tcase_add_test(tc, test_id_ns_parse_table);
	suite_add_tcase(s, tc);

	tc = tcase_create("recovery");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_failure_right_after_reconnect);
	tcase_add_test(tc, test_ns_changed_while_away);
	tcase_add_test(tc, test_keep_alive_timeout_fails_io);
	tcase_add_test(tc, test_failed_queue_costs_no_cpu);
	tcase_add_test(tc, test_poll_queue_spins_only_while_busy);
	tcase_add_test(tc, test_connect_cancelled);
	tcase_add_test(tc, test_short_timeout_aborts_only_that_command);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(hostile_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
