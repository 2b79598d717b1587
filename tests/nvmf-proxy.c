/* SPDX-License-Identifier: MIT */
/*
 * nvmf-proxy: a PDU-aware NVMe/TCP fault injector for the guest tests.
 * It sits between host and target (one upstream connection per host
 * connection, i.e. per queue), forwards the byte streams and, because it
 * follows PDU boundaries (8-byte common header, PLEN), can damage chosen
 * PDUs in ways TCP cannot hide (tc netem corruption is caught by the TCP
 * checksum and retransmitted):
 *
 *   --corrupt-c2h N     flip a data byte (not the digest) of 1 in N
 *                       C2HData PDUs that carry data, chosen at random
 *                       (a per-connection generator with a fixed seed; not
 *                       every Nth, which would hit the same piece of a
 *                       command re-sent whole on the same connection every
 *                       time, as no real network does): with data digests
 *                       the host sees a digest error; without, nothing can
 *                       notice (a negative control for data checks)
 *   --corrupt-hdr N     flip a byte in the PSH of every Nth C2H PDU after
 *                       ICResp: with header digests on, a header digest error
 *   --split-c2h BYTES   re-frame every C2HData PDU into several of at most
 *                       BYTES data each (legal NVMe/TCP; Linux nvmet sends
 *                       a read's data in one PDU): with --corrupt-c2h, a
 *                       damaged piece after intact ones is a partial read
 *   --drop-every S      close every connection every S seconds
 *   --drop-mid-data     with --drop-every: a due drop waits (up to 2 s)
 *                       for a C2HData PDU of an I/O queue and drops in its
 *                       place (nothing of it passed on), so a read is caught
 *                       in flight every time, before any of its data came
 *                       (without it a drop may fall between commands)
 *   --blackhole-after S stop forwarding (keep the sockets open) after S s
 *                       (or from a SIGUSR2 on, whenever a test says so)
 *   --delay-c2h MS      hold every C2H PDU of an I/O queue MS milliseconds
 *                       before passing it on (order kept): a slow path,
 *                       for the multipath queue-depth policy
 *
 * --corrupt-c2h draws and --corrupt-hdr counts, per connection, the PDUs the host
 * receives (the pieces when splitting), and damage I/O queues only (the
 * QID of the Fabrics Connect): association setup is never retried.
 * Target-to-host bytes are reassembled into whole PDUs before they are
 * passed on; digest presence is read from each PDU's HDGSTF/DDGSTF flags
 * (which must match what ICReq/ICResp negotiated), padding from its PDO.
 *
 * Counters are printed on SIGUSR1 and at exit, one "key=value" line.
 * Usage: nvmf-proxy --listen PORT --target ADDR:PORT [options]
 * Loopback test tool; single thread, poll(2).
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "transport/crc32c.h"
#include "nvmf-proxy-draw.h"

#define MAX_PAIRS 64
#define BUF 65536
#define MAX_PDU (64u << 20)		/* larger PLEN: garbage, close the pair */

/* NVMe/TCP 1.0, 3.6: the common header and the C2HData PSH fields used here. */
#define PDU_ICRESP	0x01
#define PDU_C2H_DATA	0x07
#define F_HDGST		0x01
#define F_DDGST		0x02
#define F_LAST		0x04
#define F_SUCCESS	0x08
#define CH_PLEN		4
#define C2H_DATAO	12
#define C2H_DATAL	16
/* ICReq (128 bytes), then the Fabrics Connect CapsuleCmd: CH, SQE (QID at 42). */
#define ICREQ_LEN	128
#define SQE_OFF		(ICREQ_LEN + 8)
#define HEAD_LEN	(SQE_OFF + 64)

/* A growing byte buffer. */
struct bytes {
	uint8_t *p;
	size_t len, cap;
};

/*
 * One direction of one connection. Host-to-target bytes pass through as
 * they come; target-to-host bytes are reassembled into whole PDUs (@pdu),
 * which are damaged or re-framed and then sent on from @out.
 */
/* C2H bytes held by --delay-c2h until @due (CLOCK_MONOTONIC seconds). */
struct held {
	struct held *next;
	double due;
	size_t len;
	uint8_t data[];
};

struct stream {
	int pair;			/* index in g_pairs */
	int from, to;
	bool c2h;			/* target -> host */
	struct bytes pdu;		/* c2h: the PDU being reassembled */
	struct bytes out;		/* c2h: what goes to the host next */
	/* h2c: the ICReq and the Fabrics Connect capsule after it */
	uint8_t head[HEAD_LEN];
	size_t head_have;
	/* c2h: PDUs after ICResp, and C2HData PDUs with a data digest */
	unsigned long seen, data_seen;
	uint64_t rng;			/* xorshift64 state for --corrupt-c2h */
	struct held *held, *held_tail;	/* c2h: --delay-c2h's FIFO */
	bool out_data;			/* c2h: out holds an I/O queue's C2HData */
};

struct pair {
	bool used;
	int qid;			/* from the Fabrics Connect; -1 until seen */
	struct stream up, down;		/* host->target, target->host */
};

static struct pair g_pairs[MAX_PAIRS];
static unsigned long g_corrupt_c2h, g_corrupt_hdr, g_split_c2h;
static unsigned long g_stat_corrupt_data, g_stat_corrupt_hdr, g_stat_drops, g_stat_conns;
static unsigned long g_stat_split, g_stat_pieces, g_stat_bad_in, g_stat_delayed;
static double g_delay_c2h;		/* seconds, 0: off */
static bool g_drop_mid_data;		/* --drop-mid-data */
static bool g_drop_due;			/* --drop-mid-data: a drop waits for data */
static volatile sig_atomic_t g_print, g_stop, g_blackhole;

static void print_stats(void)
{
	printf("nvmf-proxy: connections=%lu c2h_data_corrupted=%lu c2h_hdr_corrupted=%lu drops=%lu "
	       "c2h_split=%lu c2h_pieces=%lu c2h_bad_from_target=%lu c2h_delayed=%lu\n",
	       g_stat_conns, g_stat_corrupt_data, g_stat_corrupt_hdr, g_stat_drops,
	       g_stat_split, g_stat_pieces, g_stat_bad_in, g_stat_delayed);
	fflush(stdout);
}

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		g_print = 1;
	else if (sig == SIGUSR2)
		g_blackhole = 1;
	else
		g_stop = 1;
}

static void close_pair(struct pair *p)
{
	if (!p->used)
		return;
	close(p->up.from);
	close(p->up.to);
	free(p->down.pdu.p);
	free(p->down.out.p);
	while (p->down.held) {
		struct held *h = p->down.held;

		p->down.held = h->next;
		free(h);
	}
	p->used = false;
}

/* Room for @n more bytes in @b. Returns 0 or -1. */
static int bytes_reserve(struct bytes *b, size_t n)
{
	size_t cap = b->cap ? b->cap : 4096;
	uint8_t *p;

	if (b->len + n <= b->cap)
		return 0;
	while (cap < b->len + n)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p)
		return -1;
	b->p = p;
	b->cap = cap;
	return 0;
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static void put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, sizeof(v));
}

/*
 * Queue one whole C2H PDU for the host and damage it as the options ask:
 * a byte of the PSH (covered by the header digest) of every Nth PDU after
 * ICResp, the first data byte (not the digest) of every Nth C2HData PDU
 * that carries data. Counted per connection on the PDUs
 * the host gets (so with --split-c2h the damage hits single pieces), and
 * only on I/O queues: the host does not retry association setup.
 */
static int emit(struct stream *s, const uint8_t *pdu, size_t len)
{
	bool io = g_pairs[s->pair].qid > 0;
	uint8_t *p;

	if (bytes_reserve(&s->out, len) < 0)
		return -1;
	p = s->out.p + s->out.len;
	memcpy(p, pdu, len);
	s->out.len += len;
	if (p[0] == PDU_ICRESP || !io)
		return 0;
	s->seen++;
	if (g_delay_c2h > 0)
		g_stat_delayed++;	/* held by forward() */
	if (g_corrupt_hdr && s->seen % g_corrupt_hdr == 0 && (p[1] & F_HDGST) && len > 12) {
		p[12] ^= 0x5a;
		g_stat_corrupt_hdr++;
	}
	if (p[0] == PDU_C2H_DATA && p[3] && len > p[3]) {
		uint64_t draw = nvmf_proxy_draw(&s->rng, s->pair);

		s->data_seen++;
		s->out_data = true;
		if (g_corrupt_c2h && draw % g_corrupt_c2h == 0) {
			p[p[3]] ^= 0xff;
			g_stat_corrupt_data++;
		}
	}
	return 0;
}

/*
 * --split-c2h: send C2HData @p as PDUs of at most g_split_c2h data bytes,
 * which NVMe/TCP allows (1.0, 3.6.2.8): each piece keeps the header, PDO
 * and padding of the original, with its own DATAO, DATAL, PLEN, header
 * digest and data digest; only the last keeps LAST_PDU and SUCCESS. A PDU
 * that is malformed, or whose data digest is already wrong, goes on as it
 * came (never launder damage).
 */
static int split_c2h(struct stream *s, const uint8_t *p, uint32_t plen)
{
	uint8_t flags = p[1], hlen = p[2], pdo = p[3];
	uint32_t hd = flags & F_HDGST ? 4 : 0, dd = flags & F_DDGST ? 4 : 0;
	uint32_t datao = get32(p + C2H_DATAO), datal = get32(p + C2H_DATAL);
	uint8_t *piece;

	if (hlen < C2H_DATAL + 4 || pdo < hlen + hd || plen != pdo + datal + dd ||
	    datal <= g_split_c2h)
		return emit(s, p, plen);
	if (dd && crc32c(p + pdo, datal) != get32(p + pdo + datal)) {
		g_stat_bad_in++;
		return emit(s, p, plen);
	}
	piece = malloc(pdo + g_split_c2h + dd);
	if (!piece)
		return -1;
	g_stat_split++;
	for (uint32_t off = 0; off < datal; ) {
		uint32_t k = datal - off < g_split_c2h ? datal - off : (uint32_t)g_split_c2h;
		bool last = off + k == datal;

		memcpy(piece, p, pdo);
		piece[1] = last ? flags : (uint8_t)(flags & ~(F_LAST | F_SUCCESS));
		put32(piece + CH_PLEN, pdo + k + dd);
		put32(piece + C2H_DATAO, datao + off);
		put32(piece + C2H_DATAL, k);
		if (hd)
			put32(piece + hlen, crc32c(piece, hlen));
		memcpy(piece + pdo, p + pdo + off, k);
		if (dd)
			put32(piece + pdo + k, crc32c(piece + pdo, k));
		if (emit(s, piece, pdo + k + dd) < 0) {
			free(piece);
			return -1;
		}
		g_stat_pieces++;
		off += k;
	}
	free(piece);
	return 0;
}

/* Close every connection (--drop-every). */
static void drop_all(void)
{
	for (int i = 0; i < MAX_PAIRS; i++) {
		if (g_pairs[i].used) {
			close_pair(&g_pairs[i]);
			g_stat_drops++;
		}
	}
	g_drop_due = false;
}

/* Reassemble target-to-host bytes into PDUs and queue them. Returns 0 or -1. */
static int feed_c2h(struct stream *s, const uint8_t *buf, size_t n)
{
	while (n) {
		struct bytes *b = &s->pdu;
		size_t want = b->len < 8 ? 8 : get32(b->p + CH_PLEN);
		size_t k = want - b->len < n ? want - b->len : n;

		if (bytes_reserve(b, k) < 0)
			return -1;
		memcpy(b->p + b->len, buf, k);
		b->len += k;
		buf += k;
		n -= k;
		if (b->len == 8) {
			uint32_t plen = get32(b->p + CH_PLEN);

			if (plen < 8 || plen > MAX_PDU)
				return -1;	/* garbage: give up on this connection */
			if (plen > 8)
				continue;
		}
		if (b->len < 8 || b->len < get32(b->p + CH_PLEN))
			continue;
		if (g_split_c2h && b->p[0] == PDU_C2H_DATA ? split_c2h(s, b->p, (uint32_t)b->len)
							   : emit(s, b->p, b->len))
			return -1;
		b->len = 0;
	}
	return 0;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Host-to-target bytes: note the queue id from the Fabrics Connect that
 * follows the ICReq (CapsuleCmd, opcode 0x7f, FCTYPE 0x01).
 */
static void watch_h2c(struct stream *s, const uint8_t *buf, size_t n)
{
	size_t k = HEAD_LEN - s->head_have < n ? HEAD_LEN - s->head_have : n;
	const uint8_t *h = s->head;

	if (s->head_have == HEAD_LEN)
		return;
	memcpy(s->head + s->head_have, buf, k);
	s->head_have += k;
	if (s->head_have == HEAD_LEN && h[ICREQ_LEN] == 0x04 && h[SQE_OFF] == 0x7f &&
	    h[SQE_OFF + 4] == 0x01)
		g_pairs[s->pair].qid = h[SQE_OFF + 42] | h[SQE_OFF + 43] << 8;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * --delay-c2h: keep what @s would send now (whole PDUs) until the delay
 * has passed; flush_held() sends it. Once a queue's Connect is seen every
 * later PDU goes through here, so the order stays. Returns 0 or -1.
 */
static int hold_c2h(struct stream *s)
{
	struct held *h;

	if (!s->out.len)
		return 0;
	h = malloc(sizeof(*h) + s->out.len);
	if (!h)
		return -1;
	h->next = NULL;
	h->due = now_s() + g_delay_c2h;
	h->len = s->out.len;
	memcpy(h->data, s->out.p, s->out.len);
	s->out.len = 0;
	if (s->held_tail)
		s->held_tail->next = h;
	else
		s->held = h;
	s->held_tail = h;
	return 0;
}

/* Send @s's held bytes that are due. Returns 0 or -1 (the host went). */
static int flush_held(struct stream *s, double now)
{
	while (s->held && s->held->due <= now) {
		struct held *h = s->held;
		int rc = write_all(s->to, h->data, h->len);

		s->held = h->next;
		if (!s->held)
			s->held_tail = NULL;
		free(h);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* Milliseconds until the first held bytes are due, at most @cap. */
static int held_wait_ms(int cap)
{
	double now = now_s();
	int ms = cap;

	for (int i = 0; i < MAX_PAIRS; i++) {
		struct held *h = g_pairs[i].used ? g_pairs[i].down.held : NULL;
		int w;

		if (!h)
			continue;
		w = h->due <= now ? 0 : (int)((h->due - now) * 1000) + 1;
		if (w < ms)
			ms = w;
	}
	return ms;
}

static int forward(struct stream *s)
{
	uint8_t buf[BUF];
	ssize_t n = read(s->from, buf, sizeof(buf));
	int rc;

	if (n <= 0)
		return -1;
	if (!s->c2h) {
		watch_h2c(s, buf, (size_t)n);
		return write_all(s->to, buf, (size_t)n);
	}
	if (feed_c2h(s, buf, (size_t)n) < 0)
		return -1;
	if (g_drop_due && s->out_data)
		return -2;	/* --drop-mid-data: a read in flight, drop now */
	s->out_data = false;
	if (g_delay_c2h > 0 && g_pairs[s->pair].qid > 0)
		return hold_c2h(s);
	rc = write_all(s->to, s->out.p, s->out.len);
	s->out.len = 0;
	return rc;
}

static int connect_target(const struct sockaddr_in *t)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)t, sizeof(*t)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "target", required_argument, NULL, 't' },
		{ "corrupt-c2h", required_argument, NULL, 'c' },
		{ "corrupt-hdr", required_argument, NULL, 'H' },
		{ "split-c2h", required_argument, NULL, 's' },
		{ "drop-every", required_argument, NULL, 'd' },
		{ "drop-mid-data", no_argument, NULL, 'm' },
		{ "blackhole-after", required_argument, NULL, 'b' },
		{ "delay-c2h", required_argument, NULL, 'D' },
		{ 0 }
	};
	struct sockaddr_in la = { .sin_family = AF_INET }, ta = { .sin_family = AF_INET };
	double drop_every = 0, blackhole_after = 0, start, last_drop;
	char *colon;
	int opt, lfd, one = 1, rc;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			la.sin_port = htons((uint16_t)atoi(optarg));
			la.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			break;
		case 't':
			colon = strrchr(optarg, ':');
			if (!colon) {
				fprintf(stderr, "nvmf-proxy: --target wants ADDR:PORT\n");
				return 2;
			}
			*colon = 0;
			if (inet_pton(AF_INET, optarg, &ta.sin_addr) != 1) {
				fprintf(stderr, "nvmf-proxy: bad target address %s\n", optarg);
				return 2;
			}
			ta.sin_port = htons((uint16_t)atoi(colon + 1));
			break;
		case 'c':
			g_corrupt_c2h = strtoul(optarg, NULL, 10);
			break;
		case 'H':
			g_corrupt_hdr = strtoul(optarg, NULL, 10);
			break;
		case 's':
			g_split_c2h = strtoul(optarg, NULL, 10);
			if (!g_split_c2h || g_split_c2h > MAX_PDU) {
				fprintf(stderr, "nvmf-proxy: --split-c2h wants 1..%u bytes\n",
					MAX_PDU);
				return 2;
			}
			break;
		case 'd':
			drop_every = atof(optarg);
			break;
		case 'm':
			g_drop_mid_data = true;
			break;
		case 'b':
			blackhole_after = atof(optarg);
			break;
		case 'D':
			g_delay_c2h = atof(optarg) / 1000;
			if (g_delay_c2h <= 0 || g_delay_c2h > 60) {
				fprintf(stderr, "nvmf-proxy: --delay-c2h wants 1..60000 ms\n");
				return 2;
			}
			break;
		default:
			fprintf(stderr, "usage: nvmf-proxy --listen PORT --target ADDR:PORT "
				"[--corrupt-c2h N] [--corrupt-hdr N] [--split-c2h BYTES]\n"
				"       [--drop-every S [--drop-mid-data]] [--blackhole-after S] [--delay-c2h MS]\n");
			return 2;
		}
	}
	if (!la.sin_port || !ta.sin_port) {
		fprintf(stderr, "nvmf-proxy: --listen and --target are required\n");
		return 2;
	}
	signal(SIGUSR1, on_signal);
	signal(SIGUSR2, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&la, sizeof(la)) < 0 || listen(lfd, 64) < 0) {
		perror("nvmf-proxy: listen");
		return 1;
	}
	start = last_drop = now_s();
	while (!g_stop) {
		struct pollfd pfd[1 + 2 * MAX_PAIRS];
		struct stream *who[1 + 2 * MAX_PAIRS];
		bool blackholed = g_blackhole ||
				  (blackhole_after > 0 && now_s() - start >= blackhole_after);
		int np = 0;

		if (g_print) {
			g_print = 0;
			print_stats();
		}
		if (drop_every > 0 && now_s() - last_drop >= drop_every) {
			/* --drop-mid-data waits for a read's data, 2 s at most */
			if (g_drop_mid_data && now_s() - last_drop < drop_every + 2) {
				g_drop_due = true;
			} else {
				last_drop = now_s();
				drop_all();
			}
		}
		pfd[np] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		who[np++] = NULL;
		for (int i = 0; i < MAX_PAIRS && !blackholed; i++) {
			if (!g_pairs[i].used)
				continue;
			pfd[np] = (struct pollfd){ .fd = g_pairs[i].up.from, .events = POLLIN };
			who[np++] = &g_pairs[i].up;
			pfd[np] = (struct pollfd){ .fd = g_pairs[i].down.from, .events = POLLIN };
			who[np++] = &g_pairs[i].down;
		}
		rc = poll(pfd, (nfds_t)np, blackholed ? 100 : held_wait_ms(100));
		for (int i = 0; i < MAX_PAIRS && !blackholed; i++)
			if (g_pairs[i].used && flush_held(&g_pairs[i].down, now_s()) < 0)
				close_pair(&g_pairs[i]);
		if (rc <= 0)
			continue;
		for (int i = 1; i < np; i++) {
			if (!pfd[i].revents)
				continue;
			if (!g_pairs[who[i]->pair].used)
				continue;
			rc = forward(who[i]);
			if (rc == -2) {	/* --drop-mid-data: now */
				last_drop = now_s();
				drop_all();
				break;
			}
			if (rc < 0)
				close_pair(&g_pairs[who[i]->pair]);
		}
		if (pfd[0].revents & POLLIN) {
			int hfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), tfd, slot = -1;

			if (hfd < 0)
				continue;
			for (int i = 0; i < MAX_PAIRS; i++)
				if (!g_pairs[i].used) {
					slot = i;
					break;
				}
			tfd = slot < 0 ? -1 : connect_target(&ta);
			if (tfd < 0) {
				close(hfd);
				continue;
			}
			setsockopt(hfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			memset(&g_pairs[slot], 0, sizeof(g_pairs[slot]));
			g_pairs[slot].used = true;
			g_pairs[slot].qid = -1;
			g_pairs[slot].up = (struct stream){ .pair = slot, .from = hfd, .to = tfd };
			g_pairs[slot].down = (struct stream){ .pair = slot, .from = tfd, .to = hfd,
							      .c2h = true };
			g_stat_conns++;
		}
	}
	print_stats();
	return 0;
}
