/* SPDX-License-Identifier: MIT */
/*
 * ublk-null: the smallest ublk server, a disk whose every request succeeds
 * at once without touching data (reads return what the buffer held: zeros).
 * A bench tool, not part of nvmfuse: it measures the ublk hop alone (the
 * block layer hands a request to a user thread and takes its answer back)
 * with the textbook loop, one thread per queue sleeping in one
 * io_uring_enter that commits the last answers and waits for the next
 * requests. tests/bench/floor.vm sets it against the kernel's null_blk,
 * the kernel NVMe/TCP host and nvmfuse's ublk disk.
 *
 *   ublk-null [-q QUEUES] [-d DEPTH] [-s MiB]
 *
 * Prints "/dev/ublkbN" once the disk is started, serves until SIGTERM or
 * SIGINT, then stops and deletes the disk. Exits 1 with a one-line cause
 * on any failure. Needs root and the ublk_drv module (Linux 6.x).
 */
#include <errno.h>
#include <liburing.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>
#include <fcntl.h>

#include "ublk/ublk_uapi.h"

#define NULL_MAX_IO	(512u * 1024)
#define NULL_STOP_TAG	UINT64_MAX	/* user_data of the stop eventfd's poll */

struct null_queue {
	pthread_t thread;
	uint16_t q_id;
	uint16_t depth;
	int cdev_fd;
	int stop_fd;			/* eventfd: readable when the queue is to end */
	int err;			/* -errno of the setup, read after the barrier */
	struct io_uring ring;
	bool ring_ok;
	const struct ublksrv_io_desc *iods;
	size_t iods_len;
	void *buf;			/* depth * NULL_MAX_IO, one slice per tag */
	pthread_barrier_t *ready;
};

static void die(const char *what, int err)
{
	fprintf(stderr, "ublk-null: %s: %s\n", what, strerror(err));
	exit(1);
}

static void prep_cmd(struct io_uring_sqe *sqe, int fd, uint32_t op, const void *cmd, size_t len,
		     size_t sqe_size)
{
	memset(sqe, 0, sqe_size);
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = fd;
	sqe->off = op;
	memcpy(sqe->cmd, cmd, len);
}

/* One FETCH_REQ or COMMIT_AND_FETCH_REQ for @tag; the ring has a slot per tag. */
static void queue_io(struct null_queue *q, uint16_t tag, uint32_t op, int result)
{
	struct ublksrv_io_cmd cmd = {
		.q_id = q->q_id,
		.tag = tag,
		.result = result,
		.addr = (uint64_t)(uintptr_t)((char *)q->buf + (size_t)tag * NULL_MAX_IO),
	};
	struct io_uring_sqe *sqe = io_uring_get_sqe(&q->ring);

	if (!sqe) {	/* cannot happen: the ring has an entry per tag */
		io_uring_submit(&q->ring);
		sqe = io_uring_get_sqe(&q->ring);
		if (!sqe)
			die("queue ring full", EBUSY);
	}
	prep_cmd(sqe, q->cdev_fd, op, &cmd, sizeof(cmd), 64);
	sqe->user_data = tag;
}

static int queue_setup(struct null_queue *q)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t stride = (UBLK_MAX_QUEUE_DEPTH_BYTES + (size_t)page - 1) / (size_t)page * (size_t)page;
	struct io_uring_sqe *sqe;
	void *iods;
	int rc;

	rc = io_uring_queue_init(q->depth + 1u, &q->ring, 0);
	if (rc < 0)
		return rc;
	q->ring_ok = true;
	q->iods_len = ((size_t)q->depth * sizeof(struct ublksrv_io_desc) + (size_t)page - 1) /
		      (size_t)page * (size_t)page;
	iods = mmap(NULL, q->iods_len, PROT_READ, MAP_SHARED | MAP_POPULATE, q->cdev_fd,
		    UBLKSRV_CMD_BUF_OFFSET + (off_t)q->q_id * (off_t)stride);
	if (iods == MAP_FAILED)
		return -errno;
	q->iods = iods;
	q->buf = mmap(NULL, (size_t)q->depth * NULL_MAX_IO, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (q->buf == MAP_FAILED) {
		q->buf = NULL;
		return -errno;
	}
	for (uint16_t t = 0; t < q->depth; t++)
		queue_io(q, t, UBLK_U_IO_FETCH_REQ, 0);
	sqe = io_uring_get_sqe(&q->ring);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_poll_add(sqe, q->stop_fd, POLLIN);
	sqe->user_data = NULL_STOP_TAG;
	rc = io_uring_submit(&q->ring);
	return rc < 0 ? rc : 0;
}

/* What a request's answer is: its length for data, 0 for the rest. */
static int null_result(const struct ublksrv_io_desc *iod)
{
	switch (ublksrv_get_op(iod)) {
	case UBLK_IO_OP_READ:
	case UBLK_IO_OP_WRITE:
		return (int)(iod->nr_sectors << 9);
	case UBLK_IO_OP_FLUSH:
	case UBLK_IO_OP_DISCARD:
	case UBLK_IO_OP_WRITE_ZEROES:
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

/*
 * Queue thread: fetches for every tag, then answers each request in the
 * next io_uring_enter, until the stop eventfd fires or every tag's fetch
 * ended (UBLK_IO_RES_ABORT). Leaving the ring cancels what is left.
 */
static void *queue_main(void *arg)
{
	struct null_queue *q = arg;
	unsigned int live = q->depth;
	bool stop = false;

	q->err = queue_setup(q);
	pthread_barrier_wait(q->ready);
	while (!q->err && live && !stop) {
		struct io_uring_cqe *cqe;
		unsigned int head, seen = 0;
		int rc = io_uring_submit_and_wait(&q->ring, 1);

		if (rc < 0 && rc != -EINTR) {
			fprintf(stderr, "ublk-null: queue %u: io_uring_enter: %s\n", q->q_id,
				strerror(-rc));
			break;
		}
		io_uring_for_each_cqe(&q->ring, head, cqe) {
			uint16_t tag = (uint16_t)cqe->user_data;

			seen++;
			if (cqe->user_data == NULL_STOP_TAG)
				stop = true;
			else if (cqe->res == UBLK_IO_RES_OK && tag < q->depth)
				queue_io(q, tag, UBLK_U_IO_COMMIT_AND_FETCH_REQ,
					 null_result(&q->iods[tag]));
			else
				live--;	/* UBLK_IO_RES_ABORT: the disk is stopping */
		}
		io_uring_cq_advance(&q->ring, seen);
	}
	if (q->ring_ok)
		io_uring_queue_exit(&q->ring);
	if (q->iods)
		munmap((void *)q->iods, q->iods_len);
	if (q->buf)
		munmap(q->buf, (size_t)q->depth * NULL_MAX_IO);
	return NULL;
}

struct null_ctl {
	int fd;
	struct io_uring ring;
	struct ublksrv_ctrl_dev_info info;
};

static int ctl_cmd(struct null_ctl *c, uint32_t op, uint32_t dev_id, uint64_t addr, uint16_t len,
		   uint64_t data0)
{
	struct ublksrv_ctrl_cmd cmd = {
		.dev_id = dev_id,
		.queue_id = (uint16_t)-1,
		.len = len,
		.addr = addr,
		.data = { data0 },
	};
	struct io_uring_sqe *sqe = io_uring_get_sqe(&c->ring);
	struct io_uring_cqe *cqe;
	int rc;

	if (!sqe)
		return -EBUSY;
	prep_cmd(sqe, c->fd, op, &cmd, sizeof(cmd), 128);
	rc = io_uring_submit_and_wait(&c->ring, 1);
	if (rc < 0)
		return rc;
	rc = io_uring_wait_cqe(&c->ring, &cqe);
	if (rc < 0)
		return rc;
	rc = cqe->res;
	io_uring_cqe_seen(&c->ring, cqe);
	return rc;
}

static unsigned long arg_num(const char *s, const char *name, unsigned long lo, unsigned long hi)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v < lo || v > hi) {
		fprintf(stderr, "ublk-null: %s must be %lu to %lu, not '%s'\n", name, lo, hi, s);
		exit(1);
	}
	return v;
}

int main(int argc, char **argv)
{
	unsigned long nr_queues = 1, depth = 64, mib = 1024;
	struct null_ctl c = { .fd = -1 };
	struct ublk_params p;
	struct null_queue *qs;
	pthread_barrier_t ready;
	char cpath[32];
	sigset_t sigs;
	int opt, rc, sig, cdev_fd, stop_fd;

	while ((opt = getopt(argc, argv, "q:d:s:")) != -1) {
		switch (opt) {
		case 'q': nr_queues = arg_num(optarg, "-q QUEUES", 1, 16); break;
		case 'd': depth = arg_num(optarg, "-d DEPTH", 1, UBLK_MAX_QUEUE_DEPTH); break;
		case 's': mib = arg_num(optarg, "-s MiB", 1, 1ul << 30); break;
		default:
			fprintf(stderr, "usage: ublk-null [-q QUEUES] [-d DEPTH] [-s MiB]\n");
			return 1;
		}
	}
	/* The queue threads inherit the mask; main takes the signals in sigwait. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	c.fd = open("/dev/ublk-control", O_RDWR | O_CLOEXEC);
	if (c.fd < 0)
		die("/dev/ublk-control (load ublk_drv)", errno);
	rc = io_uring_queue_init(4, &c.ring, IORING_SETUP_SQE128);
	if (rc < 0)
		die("io_uring for ublk control", -rc);
	c.info.nr_hw_queues = (uint16_t)nr_queues;
	c.info.queue_depth = (uint16_t)depth;
	c.info.max_io_buf_bytes = NULL_MAX_IO;
	c.info.dev_id = (uint32_t)-1;
	rc = ctl_cmd(&c, UBLK_U_CMD_ADD_DEV, (uint32_t)-1, (uint64_t)(uintptr_t)&c.info,
		     sizeof(c.info), 0);
	if (rc < 0)
		die("ADD_DEV", -rc);

	snprintf(cpath, sizeof(cpath), "/dev/ublkc%u", c.info.dev_id);
	for (int i = 0; (cdev_fd = open(cpath, O_RDWR)) < 0 && errno == ENOENT && i < 100; i++)
		usleep(10000);	/* udev creates the node after ADD_DEV returns */
	if (cdev_fd < 0)
		die(cpath, errno);

	stop_fd = eventfd(0, EFD_CLOEXEC);
	if (stop_fd < 0)
		die("eventfd", errno);
	qs = calloc(c.info.nr_hw_queues, sizeof(*qs));
	if (!qs)
		die("queues", ENOMEM);
	pthread_barrier_init(&ready, NULL, c.info.nr_hw_queues + 1);
	for (uint16_t i = 0; i < c.info.nr_hw_queues; i++) {
		qs[i] = (struct null_queue){ .q_id = i, .depth = c.info.queue_depth,
					     .cdev_fd = cdev_fd, .stop_fd = stop_fd,
					     .ready = &ready };
		rc = pthread_create(&qs[i].thread, NULL, queue_main, &qs[i]);
		if (rc)
			die("pthread_create", rc);
	}
	pthread_barrier_wait(&ready);
	for (uint16_t i = 0; i < c.info.nr_hw_queues; i++)
		if (qs[i].err)
			die("queue setup", -qs[i].err);

	memset(&p, 0, sizeof(p));
	p.len = sizeof(p);
	p.types = UBLK_PARAM_TYPE_BASIC;
	p.basic.logical_bs_shift = 9;
	p.basic.physical_bs_shift = 12;
	p.basic.io_min_shift = 9;
	p.basic.io_opt_shift = 12;
	p.basic.max_sectors = NULL_MAX_IO >> 9;
	p.basic.dev_sectors = (uint64_t)mib << 11;
	rc = ctl_cmd(&c, UBLK_U_CMD_SET_PARAMS, c.info.dev_id, (uint64_t)(uintptr_t)&p, sizeof(p), 0);
	if (rc < 0)
		die("SET_PARAMS", -rc);
	rc = ctl_cmd(&c, UBLK_U_CMD_START_DEV, c.info.dev_id, 0, 0, (uint64_t)getpid());
	if (rc < 0)
		die("START_DEV", -rc);
	printf("/dev/ublkb%u\n", c.info.dev_id);
	fflush(stdout);

	sigwait(&sigs, &sig);
	rc = ctl_cmd(&c, UBLK_U_CMD_STOP_DEV, c.info.dev_id, 0, 0, 0);
	if (rc < 0)
		die("STOP_DEV", -rc);
	if (eventfd_write(stop_fd, 1) < 0)
		die("eventfd_write", errno);
	for (uint16_t i = 0; i < c.info.nr_hw_queues; i++)
		pthread_join(qs[i].thread, NULL);
	close(cdev_fd);
	rc = ctl_cmd(&c, UBLK_U_CMD_DEL_DEV, c.info.dev_id, 0, 0, 0);
	if (rc < 0)
		die("DEL_DEV", -rc);
	return 0;
}
