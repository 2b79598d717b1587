/* SPDX-License-Identifier: MIT */
/*
 * nvmf-proxy: a PDU-aware NVMe/TCP fault injector for the guest tests.
 * It sits between host and target (one upstream connection per host
 * connection, i.e. per queue), forwards the byte streams and, because it
 * follows PDU boundaries (8-byte common header, PLEN), can damage chosen
 * PDUs in ways TCP cannot hide (tc netem corruption is caught by the TCP
 * checksum and retransmitted):
 *
 *   --corrupt-c2h N     flip a data byte (not the digest) of every Nth
 *                       C2HData PDU that carries data and a data digest:
 *                       the host sees a data digest error
 *   --corrupt-hdr N     flip a byte in the PSH of every Nth C2H PDU after
 *                       ICResp: with header digests on, a header digest error
 *   --drop-every S      close every connection every S seconds
 *   --blackhole-after S stop forwarding (keep the sockets open) after S s
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

#define MAX_PAIRS 64
#define BUF 65536

/* One direction of one connection, following PDU boundaries. */
struct stream {
	int pair;			/* index in g_pairs */
	int from, to;
	bool c2h;			/* target -> host */
	uint8_t ch[8];
	unsigned int ch_have;
	uint32_t plen, pos;		/* current PDU length and bytes seen of it */
	uint8_t type, flags, hlen, pdo;
	bool corrupt_data, corrupt_hdr;
	uint64_t pdus;
};

struct pair {
	bool used;
	struct stream up, down;		/* host->target, target->host */
};

static struct pair g_pairs[MAX_PAIRS];
static unsigned long g_corrupt_c2h, g_corrupt_hdr;
static unsigned long g_c2h_data_seen, g_c2h_seen;
static unsigned long g_stat_corrupt_data, g_stat_corrupt_hdr, g_stat_drops, g_stat_conns;
static volatile sig_atomic_t g_print, g_stop;

static void print_stats(void)
{
	printf("nvmf-proxy: connections=%lu c2h_data_corrupted=%lu c2h_hdr_corrupted=%lu drops=%lu\n",
	       g_stat_conns, g_stat_corrupt_data, g_stat_corrupt_hdr, g_stat_drops);
	fflush(stdout);
}

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		g_print = 1;
	else
		g_stop = 1;
}

static void close_pair(struct pair *p)
{
	if (!p->used)
		return;
	close(p->up.from);
	close(p->up.to);
	p->used = false;
}

/*
 * Walk the bytes of one read through the PDU framing and damage what the
 * options ask for, in place, before they are forwarded.
 */
static void track(struct stream *s, uint8_t *buf, size_t n)
{
	size_t i = 0;

	while (i < n) {
		if (s->ch_have < 8) {
			s->ch[s->ch_have++] = buf[i];
			s->pos++;
			i++;
			if (s->ch_have == 8) {
				s->type = s->ch[0];
				s->flags = s->ch[1];
				s->hlen = s->ch[2];
				s->pdo = s->ch[3];
				memcpy(&s->plen, s->ch + 4, 4);
				s->plen = le32toh(s->plen);
				s->corrupt_data = s->corrupt_hdr = false;
				if (s->c2h && s->type != 0x01) {
					g_c2h_seen++;
					if (g_corrupt_hdr && g_c2h_seen % g_corrupt_hdr == 0 &&
					    (s->flags & 0x01))
						s->corrupt_hdr = true;
					/* Only where a data digest will catch it. */
					if (s->type == 0x07 && s->pdo && (s->flags & 0x02)) {
						g_c2h_data_seen++;
						if (g_corrupt_c2h &&
						    g_c2h_data_seen % g_corrupt_c2h == 0)
							s->corrupt_data = true;
					}
				}
				if (s->plen < 8)	/* garbage: stop interpreting */
					s->plen = 8;
			}
			goto next;
		}
		/* Inside the PDU: the byte at stream position s->pos. */
		if (s->corrupt_hdr && s->pos == 12) {	/* in the PSH, covered by HDGST */
			buf[i] ^= 0x5a;
			s->corrupt_hdr = false;
			g_stat_corrupt_hdr++;
		}
		if (s->corrupt_data && s->pos == s->pdo) {	/* first data byte */
			buf[i] ^= 0xff;
			s->corrupt_data = false;
			g_stat_corrupt_data++;
		}
		{
			size_t left = s->plen - s->pos;
			size_t k = n - i < left ? n - i : left;

			/* Skip ahead, but stop at a byte we may have to touch. */
			if (s->corrupt_hdr && s->pos < 12 && 12 - s->pos < k)
				k = 12 - s->pos;
			if (s->corrupt_data && s->pos < s->pdo && s->pdo - s->pos < k)
				k = s->pdo - s->pos;
			if (!k)
				k = 1;
			s->pos += (uint32_t)k;
			i += k;
		}
next:
		if (s->ch_have == 8 && s->pos >= s->plen) {
			s->ch_have = 0;
			s->pos = 0;
			s->pdus++;
		}
	}
}

static int forward(struct stream *s)
{
	uint8_t buf[BUF];
	ssize_t n = read(s->from, buf, sizeof(buf));
	size_t off = 0;

	if (n <= 0)
		return -1;
	track(s, buf, (size_t)n);
	while (off < (size_t)n) {
		ssize_t w = write(s->to, buf + off, (size_t)n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
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

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "target", required_argument, NULL, 't' },
		{ "corrupt-c2h", required_argument, NULL, 'c' },
		{ "corrupt-hdr", required_argument, NULL, 'H' },
		{ "drop-every", required_argument, NULL, 'd' },
		{ "blackhole-after", required_argument, NULL, 'b' },
		{ 0 }
	};
	struct sockaddr_in la = { .sin_family = AF_INET }, ta = { .sin_family = AF_INET };
	double drop_every = 0, blackhole_after = 0, start, last_drop;
	char *colon;
	int opt, lfd, one = 1;

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
		case 'd':
			drop_every = atof(optarg);
			break;
		case 'b':
			blackhole_after = atof(optarg);
			break;
		default:
			fprintf(stderr, "usage: nvmf-proxy --listen PORT --target ADDR:PORT "
				"[--corrupt-c2h N] [--corrupt-hdr N] [--drop-every S] "
				"[--blackhole-after S]\n");
			return 2;
		}
	}
	if (!la.sin_port || !ta.sin_port) {
		fprintf(stderr, "nvmf-proxy: --listen and --target are required\n");
		return 2;
	}
	signal(SIGUSR1, on_signal);
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
		bool blackholed = blackhole_after > 0 && now_s() - start >= blackhole_after;
		int np = 0;

		if (g_print) {
			g_print = 0;
			print_stats();
		}
		if (drop_every > 0 && now_s() - last_drop >= drop_every) {
			last_drop = now_s();
			for (int i = 0; i < MAX_PAIRS; i++) {
				if (g_pairs[i].used) {
					close_pair(&g_pairs[i]);
					g_stat_drops++;
				}
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
		if (poll(pfd, (nfds_t)np, 100) <= 0)
			continue;
		for (int i = 1; i < np; i++) {
			if (!pfd[i].revents)
				continue;
			if (g_pairs[who[i]->pair].used && forward(who[i]) < 0)
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
			g_pairs[slot].up = (struct stream){ .pair = slot, .from = hfd, .to = tfd };
			g_pairs[slot].down = (struct stream){ .pair = slot, .from = tfd, .to = hfd,
							      .c2h = true };
			g_stat_conns++;
		}
	}
	print_stats();
	return 0;
}
