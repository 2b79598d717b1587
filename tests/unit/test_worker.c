/* SPDX-License-Identifier: MIT */
/*
 * Worker threads (host/worker.h, host/ctrl_run.c) against the fake target:
 * requests posted from several threads complete on the worker thread with
 * the right data, more requests than the queue holds wait in the backlog,
 * nvmf_worker_call runs on the worker, the admin worker sends keep-alives
 * by itself, and failure / namespace changes reach the event fd. Every
 * test runs twice: with the io_uring loop (the default) and with
 * NVMFUSE_WORKER_LOOP=epoll; the ring's own API and large reads (received
 * through the ring, then in place) have tests of their own.
 */
#include <check.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host/ana.h"
#include "host/nvmf.h"
#include "host/retry.h"
#include "host/worker.h"
#include "fake_target.h"

#define HOSTNQN "nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555"
#define HOSTID "11111111-2222-3333-4444-555555555555"
#define POSTERS 4
#define PER_POSTER 60
#define IO_BYTES 4096

static struct nvmf_ctrl *connect_ft(struct ft *ft, int queue_size, int kato_s)
{
	struct nvmf_ctrl_opts o = {
		.transport = "tcp",
		.traddr = "127.0.0.1",
		.trsvcid = ft_port(ft),
		.subnqn = FT_SUBNQN,
		.hostnqn = HOSTNQN,
		.hostid = HOSTID,
		.nr_io_queues = 1,
		.queue_size = queue_size,
		.kato_s = kato_s,
		.timeout_ms = 3000,
	};
	struct nvmf_ctrl *c = NULL;
	char err[256] = "";
	int rc = nvmf_ctrl_connect(&o, &c, err, sizeof(err));

	ck_assert_msg(rc == 0, "connect: %d %s", rc, err);
	return c;
}

struct io {
	struct nvmf_request req;
	uint8_t buf[IO_BYTES];
	uint64_t off;
	pthread_t poster;
};

static atomic_int g_done, g_bad_data, g_errors, g_on_poster;
static atomic_ulong g_cb_thread;
static atomic_int g_cb_threads_seen;

static void io_done(struct nvmf_request *req)
{
	struct io *io = req->cb_arg;
	uint8_t want[IO_BYTES];
	unsigned long self = (unsigned long)pthread_self();
	unsigned long expected = 0;

	if (!atomic_compare_exchange_strong(&g_cb_thread, &expected, self) && expected != self)
		atomic_fetch_add(&g_cb_threads_seen, 1);
	if (pthread_equal(io->poster, pthread_self()))
		atomic_fetch_add(&g_on_poster, 1);
	if (!nvmf_req_ok(req)) {
		atomic_fetch_add(&g_errors, 1);
	} else {
		ft_pattern(1, io->off, want, IO_BYTES);
		if (memcmp(want, io->buf, IO_BYTES))
			atomic_fetch_add(&g_bad_data, 1);
	}
	atomic_fetch_add(&g_done, 1);
}

/* @req: a read of @bytes into @buf at @lba (512-byte blocks) of namespace 1. */
static void prep_read_req(struct nvmf_request *req, void *buf, uint64_t lba, uint32_t bytes,
			  nvmf_req_cb cb, void *arg)
{
	memset(req, 0, sizeof(*req));
	req->cmd.opc = nvme_cmd_read;
	req->cmd.nsid = htole32(1);
	req->cmd.cdw10 = htole32((uint32_t)lba);
	req->cmd.cdw12 = htole32(bytes / 512 - 1);
	req->data = buf;
	req->data_len = bytes;
	req->dir = NVMF_DIR_C2H;
	req->timeout_ms = 5000;
	req->cb = cb;
	req->cb_arg = arg;
}

/* A read of @bytes at @lba of namespace 1, completing in io_done. */
static void prep_read(struct io *io, uint64_t lba, uint32_t bytes)
{
	io->off = lba * 512;
	io->poster = pthread_self();
	prep_read_req(&io->req, io->buf, lba, bytes, io_done, io);
}

struct poster {
	struct nvmf_worker *w;
	struct io *ios;
	int id;
};

static void *poster_main(void *arg)
{
	struct poster *p = arg;

	for (int i = 0; i < PER_POSTER; i++) {
		struct io *io = &p->ios[i];
		uint64_t lba = (uint64_t)(p->id * PER_POSTER + i) * 8 % 2048;

		prep_read(io, lba, IO_BYTES);
		nvmf_worker_post(p->w, &io->req);
	}
	return NULL;
}

static void wait_for(atomic_int *v, int want, int ms)
{
	for (int i = 0; i < ms / 10 && atomic_load(v) < want; i++)
		usleep(10000);
}

START_TEST(test_posts_from_many_threads)
{
	struct ft_config cfg;
	struct ft *ft;
	struct nvmf_ctrl *c;
	struct poster p[POSTERS];
	pthread_t th[POSTERS];
	struct ft_stats st;

	ft_config_default(&cfg);
	cfg.lba_size[0] = 512;
	ft = ft_start(&cfg);
	ck_assert_ptr_nonnull(ft);
	/* Queue of 8 entries: 7 commands at most, far fewer than 240 posted. */
	c = connect_ft(ft, 8, 0);
	ck_assert_int_eq(c->io_depth, 7);
	ck_assert_int_eq(nvmf_ctrl_start(c), 0);
	atomic_store(&g_done, 0);
	for (int i = 0; i < POSTERS; i++) {
		p[i] = (struct poster){ .w = c->io_workers[0], .id = i };
		p[i].ios = calloc(PER_POSTER, sizeof(*p[i].ios));
		ck_assert_int_eq(pthread_create(&th[i], NULL, poster_main, &p[i]), 0);
	}
	for (int i = 0; i < POSTERS; i++)
		pthread_join(th[i], NULL);
	wait_for(&g_done, POSTERS * PER_POSTER, 10000);
	ck_assert_int_eq(atomic_load(&g_done), POSTERS * PER_POSTER);
	ck_assert_int_eq(atomic_load(&g_errors), 0);
	ck_assert_int_eq(atomic_load(&g_bad_data), 0);
	ck_assert_int_eq(atomic_load(&g_on_poster), 0);
	ck_assert_msg(atomic_load(&g_cb_threads_seen) == 0,
		      "callbacks ran on more than one thread");
	nvmf_ctrl_stop(c);
	ft_get_stats(ft, &st);
	ck_assert_uint_eq(st.reads, POSTERS * PER_POSTER);
	ck_assert_uint_eq(st.violations, 0);
	nvmf_ctrl_disconnect(c);
	ft_stop(ft);
	for (int i = 0; i < POSTERS; i++)
		free(p[i].ios);
}
END_TEST

static void note_thread(void *arg)
{
	*(pthread_t *)arg = pthread_self();
}

START_TEST(test_call_runs_on_worker)
{
	struct ft_config cfg;
	struct ft *ft;
	struct nvmf_ctrl *c;
	pthread_t a = pthread_self(), b = pthread_self();

	ft_config_default(&cfg);
	ft = ft_start(&cfg);
	c = connect_ft(ft, 16, 0);
	ck_assert_int_eq(nvmf_ctrl_start(c), 0);
	nvmf_worker_call(c->io_workers[0], note_thread, &a);
	nvmf_worker_call(c->io_workers[0], note_thread, &b);
	ck_assert(!pthread_equal(a, pthread_self()));
	ck_assert(pthread_equal(a, b));
	nvmf_worker_call(c->admin_worker, note_thread, &b);
	ck_assert(!pthread_equal(a, b));
	nvmf_ctrl_stop(c);
	nvmf_ctrl_disconnect(c);
	ft_stop(ft);
}
END_TEST

START_TEST(test_admin_worker_keeps_alive)
{
	struct ft_config cfg;
	struct ft_stats st;
	struct ft *ft;
	struct nvmf_ctrl *c;

	ft_config_default(&cfg);
	ft = ft_start(&cfg);
	c = connect_ft(ft, 16, 1);
	ck_assert_int_eq(nvmf_ctrl_start(c), 0);
	usleep(2600 * 1000);	/* KATO 1 s: a Keep Alive every 0.5 s */
	ft_get_stats(ft, &st);
	ck_assert_msg(st.keep_alives >= 3, "only %u keep-alives in 2.6 s", st.keep_alives);
	ck_assert_uint_eq(nvmf_ctrl_take_events(c) & NVMF_CTRL_EV_FAILED, 0);
	nvmf_ctrl_stop(c);
	nvmf_ctrl_disconnect(c);
	ft_stop(ft);
}
END_TEST

static unsigned int wait_event(struct nvmf_ctrl *c, unsigned int want, int ms)
{
	unsigned int got = 0;

	for (int i = 0; i < ms / 50 && !(got & want); i++) {
		struct pollfd pfd = { .fd = nvmf_ctrl_event_fd(c), .events = POLLIN };

		if (poll(&pfd, 1, 50) > 0)
			got |= nvmf_ctrl_take_events(c);
	}
	return got;
}

START_TEST(test_io_failure_raises_event)
{
	struct ft_config cfg;
	struct ft *ft;
	struct nvmf_ctrl *c;
	static struct io io;

	ft_config_default(&cfg);
	ft = ft_start(&cfg);
	c = connect_ft(ft, 16, 0);
	ck_assert_int_eq(nvmf_ctrl_start(c), 0);
	nvmf_ctrl_take_events(c);
	ft_arm(ft, 1, FT_FAULT_CLOSE, 0);
	atomic_store(&g_done, 0);
	atomic_store(&g_errors, 0);
	prep_read(&io, 0, 512);
	nvmf_worker_post(c->io_workers[0], &io.req);
	wait_for(&g_done, 1, 5000);
	ck_assert_int_eq(atomic_load(&g_errors), 1);
	ck_assert(io.req.xport_err < 0);
	ck_assert_msg(wait_event(c, NVMF_CTRL_EV_FAILED, 3000) & NVMF_CTRL_EV_FAILED,
		      "no FAILED event after the I/O queue died");
	ck_assert_str_ne(nvmf_ctrl_error(c), "no error");
	nvmf_ctrl_stop(c);
	nvmf_ctrl_disconnect(c);
	ft_stop(ft);
}
END_TEST

START_TEST(test_ns_change_raises_event)
{
	struct ft_config cfg;
	struct ft *ft;
	struct nvmf_ctrl *c;
	struct nvmf_ns *ns;
	int n;

	ft_config_default(&cfg);
	cfg.nr_ns = 1;
	ft = ft_start(&cfg);
	c = connect_ft(ft, 16, 0);
	ck_assert_int_eq(nvmf_ctrl_start(c), 0);
	nvmf_ctrl_take_events(c);
	ck_assert(ft_fire_ns_changed(ft, 2));
	ck_assert_msg(wait_event(c, NVMF_CTRL_EV_NS_CHANGED, 3000) & NVMF_CTRL_EV_NS_CHANGED,
		      "no NS_CHANGED event after the notice");
	ck_assert_int_eq(nvmf_ctrl_ns_snapshot(c, &ns, &n), 0);
	ck_assert_int_eq(n, 2);
	free(ns);
	nvmf_ctrl_stop(c);
	nvmf_ctrl_disconnect(c);
	ft_stop(ft);
}
END_TEST

/*
 * ANA on one path: the state read at connect, an I/O that meets the path
 * status and what the policy makes of it, and the table following the
 * controller's ANA change notices (re-armed each time) without polling.
 */
START_TEST(test_ana_state_follows_notices)
{
	struct nvmf_ana_wait_decision w;
	struct ft_config cfg;
	struct ft_stats st;
	struct ft *ft;
	struct nvmf_ctrl *c;
	static struct io io;
	uint64_t since = 0;
	bool sent = false;

	/* A controller without ANA reporting: NONE, which callers treat as optimized. */
	ft_config_default(&cfg);
	ft = ft_start(&cfg);
	c = connect_ft(ft, 16, 0);
	ck_assert_int_eq(nvmf_ctrl_ana_state(c, 1), NVMF_ANA_NONE);
	ck_assert_uint_eq(nvmf_ctrl_anatt(c), 0);
	nvmf_ctrl_disconnect(c);
	ft_stop(ft);

	cfg.ana = true;
	cfg.ana_state = NVMF_ANA_INACCESSIBLE;
	cfg.anatt = 3;
	ft = ft_start(&cfg);
	c = connect_ft(ft, 16, 0);
	ck_assert_int_eq(nvmf_ctrl_ana_state(c, 1), NVMF_ANA_INACCESSIBLE);
	ck_assert_int_eq(nvmf_ctrl_ana_state(c, 99), NVMF_ANA_NONE);	/* in no group */
	ck_assert_uint_eq(nvmf_ctrl_ana_changes(c), 0);	/* the first table is no change */
	ck_assert_uint_eq(nvmf_ctrl_anatt(c), 3);
	ck_assert_int_eq(nvmf_ctrl_start(c), 0);
	nvmf_ctrl_take_events(c);

	atomic_store(&g_done, 0);
	prep_read(&io, 0, IO_BYTES);
	nvmf_worker_post(c->io_workers[0], &io.req);
	wait_for(&g_done, 1, 3000);
	ck_assert_int_eq(atomic_load(&g_done), 1);
	ck_assert_uint_eq(NVMF_STATUS_CODE(io.req.status), NVMF_SC_ANA_INACCESSIBLE);
	ck_assert_int_eq(nvmf_retry_decide_ctrl(&io.req, 1, &c->id, 512).action,
			 NVMF_RETRY_ANA_WAIT);
	w = nvmf_retry_ana_wait_ctrl(c, c->io_workers[0], 1, &since, true);
	ck_assert_int_eq(w.action, NVMF_ANA_WAIT_MORE);
	ck_assert(!w.refresh);	/* the table already says inaccessible */
	ck_assert_uint_ne(since, 0);

	ck_assert(ft_set_ana(ft, NVMF_ANA_OPTIMIZED));
	ck_assert_msg(wait_event(c, NVMF_CTRL_EV_ANA_CHANGED, 3000) & NVMF_CTRL_EV_ANA_CHANGED,
		      "no ANA_CHANGED event after the notice");
	ck_assert_int_eq(nvmf_ctrl_ana_state(c, 1), NVMF_ANA_OPTIMIZED);
	ck_assert_uint_eq(nvmf_ctrl_ana_changes(c), 1);
	ck_assert_int_eq(nvmf_retry_ana_wait_ctrl(c, c->io_workers[0], 1, &since, false).action,
			 NVMF_ANA_WAIT_RESUBMIT);
	/* Hold turned off (a disconnect, fast-io-fail): waiting ends at once; on again: waits. */
	ck_assert(nvmf_worker_may_wait(c->io_workers[0]));	/* never held, never released */
	nvmf_worker_hold(c->io_workers[0], false);
	ck_assert_int_eq(nvmf_retry_ana_wait_ctrl(c, c->io_workers[0], 1, &since, false).action,
			 NVMF_ANA_WAIT_FAIL);
	nvmf_worker_hold(c->io_workers[0], true);
	ck_assert_int_eq(nvmf_retry_ana_wait_ctrl(c, c->io_workers[0], 1, &since, false).action,
			 NVMF_ANA_WAIT_RESUBMIT);
	atomic_store(&g_done, 0);
	prep_read(&io, 0, IO_BYTES);
	nvmf_worker_post(c->io_workers[0], &io.req);
	wait_for(&g_done, 1, 3000);
	ck_assert_msg(nvmf_req_ok(&io.req), "read after the group came back: 0x%x", io.req.status);

	/* The AER was re-armed: the next notice arrives too. */
	for (int i = 0; i < 100 && !sent; i++) {
		sent = ft_set_ana(ft, NVMF_ANA_CHANGE);
		if (!sent)
			usleep(10000);
	}
	ck_assert_msg(sent, "no AER outstanding after the first notice");
	ck_assert(wait_event(c, NVMF_CTRL_EV_ANA_CHANGED, 3000) & NVMF_CTRL_EV_ANA_CHANGED);
	ck_assert_int_eq(nvmf_ctrl_ana_state(c, 1), NVMF_ANA_CHANGE);
	ck_assert_uint_eq(nvmf_ctrl_ana_changes(c), 2);
	ft_get_stats(ft, &st);
	ck_assert_uint_ge(st.ana_reads, 3);
	ck_assert_uint_eq(st.ana_refused, 1);
	ck_assert_msg(st.violations == 0, "%s", st.violation);
	nvmf_ctrl_stop(c);
	nvmf_ctrl_disconnect(c);
	ft_stop(ft);
}
END_TEST

/*
 * A hostile ANA log page (NNSIDS far beyond the bytes sent) is refused
 * whole: the controller still connects, its I/O is not held on states it
 * never gave (NONE), and nothing reads past the page.
 */
START_TEST(test_ana_hostile_page_refused)
{
	struct ft_config cfg;
	struct ft_stats st;
	struct ft *ft;
	struct nvmf_ctrl *c;

	ft_config_default(&cfg);
	cfg.ana = true;
	cfg.ana_state = NVMF_ANA_INACCESSIBLE;
	cfg.ana_hostile = true;
	ft = ft_start(&cfg);
	c = connect_ft(ft, 16, 0);
	ck_assert_int_eq(nvmf_ctrl_ana_state(c, 1), NVMF_ANA_NONE);
	ck_assert_uint_eq(nvmf_ctrl_ana_changes(c), 0);
	ft_get_stats(ft, &st);
	ck_assert_uint_eq(st.ana_reads, 1);
	nvmf_ctrl_disconnect(c);
	ft_stop(ft);
}
END_TEST

struct defer_log {
	int order[3];
	uint64_t at_ns[3];
	atomic_int n;
	uint64_t t0;
};

struct defer_item {
	struct defer_log *log;
	int id;
};

static void deferred_fn(void *arg)
{
	struct defer_item *it = arg;
	int i = atomic_fetch_add(&it->log->n, 1);

	it->log->order[i] = it->id;
	it->log->at_ns[i] = nvmf_now_ns() - it->log->t0;
}

static struct defer_item g_items[3];

static void schedule_three(void *arg)
{
	struct nvmf_worker *w = arg;
	static const uint32_t delays[3] = { 300, 100, 200 };

	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(nvmf_worker_defer(w, delays[i], deferred_fn, &g_items[i]), 0);
}

/*
 * A callback removes another fd whose event epoll already returned in the
 * same batch (ublk's queue teardown did, from a mailbox call): the removed
 * watch must not be called, nor freed while the batch still points at it
 * (a use-after-free seen as a daemon crash in ring_ready at shutdown).
 */
struct two_fds {
	struct nvmf_worker *w;
	int a, b;
	atomic_int b_calls, a_calls;
};

static void b_ready(struct nvmf_worker *w, int fd, uint32_t events, void *arg)
{
	struct two_fds *t = arg;
	uint64_t v;

	atomic_fetch_add(&t->b_calls, 1);
	if (read(t->b, &v, sizeof(v)) < 0)
		return;
}

static void a_ready(struct nvmf_worker *w, int fd, uint32_t events, void *arg)
{
	struct two_fds *t = arg;
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0)
		return;
	atomic_fetch_add(&t->a_calls, 1);
	nvmf_worker_del_fd(w, t->b);	/* b's event is in this very batch */
}

static void add_two(void *arg)
{
	struct two_fds *t = arg;

	ck_assert_int_eq(nvmf_worker_add_fd(t->w, t->a, EPOLLIN, a_ready, t), 0);
	ck_assert_int_eq(nvmf_worker_add_fd(t->w, t->b, EPOLLIN, b_ready, t), 0);
}

static void block_worker(void *arg)
{
	struct two_fds *t = arg;
	uint64_t one = 1;

	/* Both become ready while the worker is busy here: one epoll batch. */
	ck_assert_int_eq(write(t->a, &one, sizeof(one)), sizeof(one));
	ck_assert_int_eq(write(t->b, &one, sizeof(one)), sizeof(one));
}

START_TEST(test_fd_removed_within_a_batch)
{
	struct ft_config cfg;
	struct nvmf_ctrl *c;
	struct two_fds t = { 0 };
	struct ft *ft;

	ft_config_default(&cfg);
	ft = ft_start(&cfg);
	ck_assert_ptr_nonnull(ft);
	c = connect_ft(ft, 8, 0);
	ck_assert_int_eq(nvmf_ctrl_start(c), 0);
	t.w = c->io_workers[0];
	t.a = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	t.b = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	nvmf_worker_call(t.w, add_two, &t);
	nvmf_worker_call(t.w, block_worker, &t);
	for (int i = 0; i < 200 && !atomic_load(&t.a_calls); i++)
		usleep(5000);
	usleep(50000);
	ck_assert_int_eq(atomic_load(&t.a_calls), 1);
	ck_assert_int_eq(atomic_load(&t.b_calls), 0);
	nvmf_ctrl_stop(c);
	nvmf_ctrl_disconnect(c);
	close(t.a);
	close(t.b);
	ft_stop(ft);
}
END_TEST

START_TEST(test_defer_order_and_delay)
{
	static struct defer_log log;
	struct ft_config cfg;
	struct ft *ft;
	struct nvmf_ctrl *c;

	ft_config_default(&cfg);
	ft = ft_start(&cfg);
	c = connect_ft(ft, 16, 0);
	ck_assert_int_eq(nvmf_ctrl_start(c), 0);
	memset(&log, 0, sizeof(log));
	for (int i = 0; i < 3; i++)
		g_items[i] = (struct defer_item){ .log = &log, .id = i };
	log.t0 = nvmf_now_ns();
	nvmf_worker_call(c->io_workers[0], schedule_three, c->io_workers[0]);
	wait_for(&log.n, 3, 3000);
	ck_assert_int_eq(atomic_load(&log.n), 3);
	/* Due order, not call order: 100 ms, 200 ms, 300 ms. */
	ck_assert_int_eq(log.order[0], 1);
	ck_assert_int_eq(log.order[1], 2);
	ck_assert_int_eq(log.order[2], 0);
	ck_assert_msg(log.at_ns[0] >= 100000000ull, "ran after %llu ns, before its 100 ms",
		      (unsigned long long)log.at_ns[0]);
	ck_assert_msg(log.at_ns[2] >= 300000000ull, "ran after %llu ns, before its 300 ms",
		      (unsigned long long)log.at_ns[2]);
	nvmf_ctrl_stop(c);
	nvmf_ctrl_disconnect(c);
	ft_stop(ft);
}
END_TEST

START_TEST(test_reconnect_replays_held_requests)
{
	struct ft_config cfg;
	struct ft_stats st;
	struct ft *ft;
	struct nvmf_ctrl *c;
	static struct io ios[20];
	char err[256] = "";
	uint16_t old_cntlid;

	ft_config_default(&cfg);
	cfg.lba_size[0] = 512;
	ft = ft_start(&cfg);
	c = connect_ft(ft, 16, 0);
	ck_assert_int_eq(nvmf_ctrl_start(c), 0);
	old_cntlid = c->cntlid;
	nvmf_ctrl_take_events(c);
	nvmf_worker_hold(c->io_workers[0], true);
	atomic_store(&g_done, 0);
	atomic_store(&g_errors, 0);
	atomic_store(&g_bad_data, 0);
	/* The I/O connection dies on the next command: everything after is held. */
	ft_arm(ft, 1, FT_FAULT_CLOSE, 0);
	for (int i = 0; i < 20; i++) {
		struct io *io = &ios[i];

		prep_read(io, (uint64_t)i * 8, 4096);
		nvmf_worker_post(c->io_workers[0], &io->req);
	}
	ck_assert_msg(wait_event(c, NVMF_CTRL_EV_FAILED, 3000) & NVMF_CTRL_EV_FAILED,
		      "the I/O queue failure was not reported");
	/*
	 * Requests that were in flight on the dead queue completed with an
	 * error (their owner decides); the rest waits, unanswered, in hold.
	 */
	usleep(200 * 1000);
	ck_assert_int_lt(atomic_load(&g_done), 20);
	int failed_in_flight = atomic_load(&g_errors);

	ck_assert_int_eq(nvmf_ctrl_reconnect(c, err, sizeof(err)), 0);
	wait_for(&g_done, 20, 5000);
	ck_assert_int_eq(atomic_load(&g_done), 20);
	ck_assert_int_eq(atomic_load(&g_errors), failed_in_flight);
	ck_assert_int_eq(atomic_load(&g_bad_data), 0);
	ck_assert_int_eq(c->state, NVMF_CTRL_LIVE);
	ck_assert(!c->ioq_adopting);	/* a path for new I/O again (host/mpath.h) */
	ck_assert_int_ne(c->cntlid, old_cntlid);	/* a new association */
	ft_get_stats(ft, &st);
	ck_assert_uint_ge(st.admin_connects, 2);
	ck_assert_uint_eq(st.violations, 0);
	/*
	 * Exactly one AER per association, armed by the controller that
	 * adopted the new queues: none left behind by the freed donor
	 * controller (an ASan use-after-free once), and namespace notices
	 * still arrive.
	 */
	for (int i = 0; i < 200 && st.aers < 2; i++) {
		usleep(10 * 1000);
		ft_get_stats(ft, &st);
	}
	usleep(300 * 1000);
	ft_get_stats(ft, &st);
	ck_assert_uint_eq(st.aers, 2);
	nvmf_ctrl_take_events(c);
	ck_assert(ft_fire_ns_changed(ft, 3));
	ck_assert_msg(wait_event(c, NVMF_CTRL_EV_NS_CHANGED, 3000) & NVMF_CTRL_EV_NS_CHANGED,
		      "no NS_CHANGED event after a reconnect");
	nvmf_ctrl_stop(c);
	nvmf_ctrl_disconnect(c);
	ft_stop(ft);
}
END_TEST

START_TEST(test_hold_off_fails_held_requests)
{
	struct ft_config cfg;
	struct ft *ft;
	struct nvmf_ctrl *c;
	static struct io io;

	ft_config_default(&cfg);
	ft = ft_start(&cfg);
	c = connect_ft(ft, 16, 0);
	ck_assert_int_eq(nvmf_ctrl_start(c), 0);
	nvmf_worker_hold(c->io_workers[0], true);
	ft_arm(ft, 1, FT_FAULT_CLOSE, 0);
	atomic_store(&g_done, 0);
	atomic_store(&g_errors, 0);
	/* A first command trips the fault; wait for the queue to die. */
	memset(&io, 0, sizeof(io));
	io.req.cmd.opc = nvme_cmd_flush;
	io.req.cmd.nsid = htole32(1);
	io.req.timeout_ms = 5000;
	io.req.cb = io_done;
	io.req.cb_arg = &io;
	io.poster = pthread_self();
	nvmf_worker_post(c->io_workers[0], &io.req);
	wait_for(&g_done, 1, 3000);
	ck_assert_int_eq(atomic_load(&g_errors), 1);
	/* Submitted on the dead queue while holding: waits. */
	atomic_store(&g_done, 0);
	atomic_store(&g_errors, 0);
	nvmf_worker_post(c->io_workers[0], &io.req);
	usleep(300 * 1000);
	ck_assert_int_eq(atomic_load(&g_done), 0);
	/* Giving up fails it, once. */
	nvmf_worker_hold(c->io_workers[0], false);
	wait_for(&g_done, 1, 2000);
	ck_assert_int_eq(atomic_load(&g_done), 1);
	ck_assert_int_eq(atomic_load(&g_errors), 1);
	ck_assert_int_eq(io.req.xport_err, -ENOTCONN);
	nvmf_ctrl_stop(c);
	nvmf_ctrl_disconnect(c);
	ft_stop(ft);
}
END_TEST

/* ------------------------------------------------------------ the ring */

/* Can this kernel give a worker its ring? If not, say why (the ring tests then check the fallback). */
static bool have_uring(void)
{
	struct io_uring r;
	int rc = io_uring_queue_init(4, &r, 0);

	if (rc < 0) {
		fprintf(stderr, "no io_uring here (%s): the ring tests check the epoll fallback\n",
			strerror(-rc));
		return false;
	}
	io_uring_queue_exit(&r);
	return true;
}

static bool g_epoll;		/* this tcase runs the epoll loop */

static void use_epoll(void)
{
	setenv("NVMFUSE_WORKER_LOOP", "epoll", 1);
	g_epoll = true;
}

struct nop_probe {
	struct nvmf_ring_handler h;
	struct nvmf_worker *w;
	bool have_ring;
	atomic_int res;
	atomic_int calls;
	atomic_ulong thread;
};

static void nop_done(struct nvmf_ring_handler *h, int res, uint32_t flags)
{
	struct nop_probe *p = (struct nop_probe *)h;	/* h is first */

	(void)flags;
	atomic_store(&p->res, res);
	atomic_store(&p->thread, (unsigned long)pthread_self());
	atomic_fetch_add(&p->calls, 1);
}

static void nop_submit(void *arg)
{
	struct nop_probe *p = arg;
	struct io_uring_sqe *sqe;

	p->have_ring = nvmf_worker_ring(p->w) != NULL;
	if (!p->have_ring)
		return;
	sqe = nvmf_worker_sqe(p->w);
	ck_assert_ptr_nonnull(sqe);
	io_uring_prep_nop(sqe);
	io_uring_sqe_set_data(sqe, &p->h);
	/* not submitted here: the worker's next wait does it */
}

START_TEST(test_ring_handler_runs_on_worker)
{
	struct ft_config cfg;
	struct ft *ft;
	struct nvmf_ctrl *c;
	struct nop_probe p = { .h.fn = nop_done };
	pthread_t wt = pthread_self();
	bool uring = !g_epoll && have_uring();

	ft_config_default(&cfg);
	ft = ft_start(&cfg);
	c = connect_ft(ft, 16, 0);
	ck_assert_int_eq(nvmf_ctrl_start(c), 0);
	p.w = c->io_workers[0];
	atomic_store(&p.res, -1);
	nvmf_worker_call(p.w, note_thread, &wt);
	nvmf_worker_call(p.w, nop_submit, &p);
	ck_assert_msg(p.have_ring == uring, "worker ring %s, expected %s", p.have_ring ? "on" : "off",
		      uring ? "on" : "off (epoll)");
	if (uring) {
		for (int i = 0; i < 500 && !atomic_load(&p.calls); i++)
			usleep(10000);
		ck_assert_int_eq(atomic_load(&p.calls), 1);
		ck_assert_int_eq(atomic_load(&p.res), 0);
		ck_assert(pthread_equal((pthread_t)atomic_load(&p.thread), wt));
	}
	nvmf_ctrl_stop(c);
	nvmf_ctrl_disconnect(c);
	ft_stop(ft);
}
END_TEST

#define BIG_BYTES (128 * 1024)
#define BIG_IOS 24

struct big_io {
	struct nvmf_request req;
	uint64_t off;
	uint8_t buf[BIG_BYTES];
};

static atomic_int g_big_done, g_big_bad;

static void big_done(struct nvmf_request *req)
{
	struct big_io *io = req->cb_arg;
	static uint8_t want[BIG_BYTES];	/* worker thread only */

	ft_pattern(1, io->off, want, BIG_BYTES);
	if (!nvmf_req_ok(req) || memcmp(want, io->buf, BIG_BYTES))
		atomic_fetch_add(&g_big_bad, 1);
	atomic_fetch_add(&g_big_done, 1);
}

/*
 * 128 KiB reads, several in flight: each C2H transfer starts in the
 * ring's receive buffer and goes on in place (tcp.c rx_done), and PDUs
 * straddle receives; the data must arrive intact either way.
 */
/*
 * A queue pair that fails while its writes are still going out (a target
 * that reads slowly, so the ring's send waits for room in the socket):
 * the send is taken off the ring before the writes come back, every one
 * comes back once, with an error or done, and each callback frees its
 * buffer at once (which must be safe then); the worker then stops cleanly.
 */
#define SLOW_WRITES	48
#define SLOW_BYTES	(64 * 1024)

static atomic_int g_slow_done;

static void slow_done(struct nvmf_request *req)
{
	free(req->data);
	req->data = NULL;
	atomic_fetch_add(&g_slow_done, 1);
}

START_TEST(test_fail_with_send_out)
{
	struct ft_config cfg;
	struct ft *ft;
	struct nvmf_ctrl *c;
	struct nvmf_request *reqs = calloc(SLOW_WRITES, sizeof(*reqs));

	ck_assert_ptr_nonnull(reqs);
	ft_config_default(&cfg);
	cfg.lba_size[0] = 512;
	cfg.small_rcvbuf = true;
	cfg.ioccsz = 4 + SLOW_BYTES / 16;	/* in-capsule: MiBs queue up at once */
	ft = ft_start(&cfg);
	ck_assert_ptr_nonnull(ft);
	c = connect_ft(ft, 64, 0);
	ck_assert_int_eq(nvmf_ctrl_start(c), 0);
	atomic_store(&g_slow_done, 0);
	for (int i = 0; i < SLOW_WRITES; i++) {
		struct nvmf_request *req = &reqs[i];

		memset(req, 0, sizeof(*req));
		req->cmd.opc = nvme_cmd_write;
		req->cmd.nsid = htole32(1);
		req->cmd.cdw10 = htole32((uint32_t)i * (SLOW_BYTES / 512));
		req->cmd.cdw12 = htole32(SLOW_BYTES / 512 - 1);
		req->data = malloc(SLOW_BYTES);
		ck_assert_ptr_nonnull(req->data);
		memset(req->data, 0x5a, SLOW_BYTES);
		req->data_len = SLOW_BYTES;
		req->dir = NVMF_DIR_H2C;
		req->timeout_ms = 10000;
		req->cb = slow_done;
		nvmf_worker_post(c->io_workers[0], req);
	}
	usleep(30000);		/* the first writes are on their way */
	nvmf_ctrl_fail_ioqs(c);
	for (int i = 0; i < 1000 && atomic_load(&g_slow_done) < SLOW_WRITES; i++)
		usleep(10000);
	ck_assert_int_eq(atomic_load(&g_slow_done), SLOW_WRITES);
	for (int i = 0; i < SLOW_WRITES; i++)
		ck_assert_ptr_null(reqs[i].data);	/* each came back exactly once */
	nvmf_ctrl_stop(c);
	nvmf_ctrl_disconnect(c);
	ft_stop(ft);
	free(reqs);
}
END_TEST

START_TEST(test_large_reads_intact)
{
	struct ft_config cfg;
	struct ft *ft;
	struct nvmf_ctrl *c;
	struct big_io *ios = calloc(BIG_IOS, sizeof(*ios));

	ck_assert_ptr_nonnull(ios);
	ft_config_default(&cfg);
	cfg.lba_size[0] = 512;
	ft = ft_start(&cfg);
	ck_assert_ptr_nonnull(ft);
	c = connect_ft(ft, 8, 0);
	ck_assert_int_eq(nvmf_ctrl_start(c), 0);
	atomic_store(&g_big_done, 0);
	atomic_store(&g_big_bad, 0);
	for (int i = 0; i < BIG_IOS; i++) {
		struct big_io *io = &ios[i];
		uint64_t lba = (uint64_t)i * 37 % 1024;

		io->off = lba * 512;
		prep_read_req(&io->req, io->buf, lba, BIG_BYTES, big_done, io);
		nvmf_worker_post(c->io_workers[0], &io->req);
	}
	for (int i = 0; i < 1000 && atomic_load(&g_big_done) < BIG_IOS; i++)
		usleep(10000);
	ck_assert_int_eq(atomic_load(&g_big_done), BIG_IOS);
	ck_assert_int_eq(atomic_load(&g_big_bad), 0);
	nvmf_ctrl_stop(c);
	nvmf_ctrl_disconnect(c);
	ft_stop(ft);
	free(ios);
}
END_TEST

static TCase *worker_tcase(const char *name, void (*setup)(void))
{
	TCase *tc = tcase_create(name);

	if (setup)
		tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_posts_from_many_threads);
	tcase_add_test(tc, test_call_runs_on_worker);
	tcase_add_test(tc, test_admin_worker_keeps_alive);
	tcase_add_test(tc, test_io_failure_raises_event);
	tcase_add_test(tc, test_ns_change_raises_event);
	tcase_add_test(tc, test_ana_state_follows_notices);
	tcase_add_test(tc, test_ana_hostile_page_refused);
	tcase_add_test(tc, test_defer_order_and_delay);
	tcase_add_test(tc, test_fd_removed_within_a_batch);
	tcase_add_test(tc, test_reconnect_replays_held_requests);
	tcase_add_test(tc, test_hold_off_fails_held_requests);
	tcase_add_test(tc, test_ring_handler_runs_on_worker);
	tcase_add_test(tc, test_large_reads_intact);
	tcase_add_test(tc, test_fail_with_send_out);
	return tc;
}

int main(void)
{
	Suite *s = suite_create("worker");
	SRunner *sr;
	int failed;

	unsetenv("NVMFUSE_WORKER_LOOP");
	suite_add_tcase(s, worker_tcase("uring", NULL));
	suite_add_tcase(s, worker_tcase("epoll", use_epoll));
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
