/* SPDX-License-Identifier: MIT */
/*
 * tcp-silent: a stuck target for the guest tests and benchmarks. It listens
 * on 127.0.0.1 at each PORT given, accepts every connection, reads and
 * drops whatever the host sends (an ICReq, a keep-alive) and never writes a
 * byte; a connection is closed when the host closes it. So each connect
 * attempt of a host hangs until the host's own timeout, every time, as
 * with a target whose process is wedged (busybox `nc -l` accepts once and
 * then refuses, which is a dead target, not a stuck one).
 *
 * Usage: tcp-silent PORT... (runs until killed; "listening" on stdout once
 * every port listens). Single thread, poll(2).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_FDS 1024

int main(int argc, char **argv)
{
	static struct pollfd pfd[MAX_FDS];
	int nl = 0, n, one = 1;

	if (argc < 2 || argc - 1 > 64) {
		fprintf(stderr, "usage: tcp-silent PORT... (1 to 64 ports)\n");
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		struct sockaddr_in a = { .sin_family = AF_INET,
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		char *end;
		long port = strtol(argv[i], &end, 10);
		int fd;

		if (*end || port < 1 || port > 65535) {
			fprintf(stderr, "tcp-silent: '%s' is not a port\n", argv[i]);
			return 2;
		}
		a.sin_port = htons((uint16_t)port);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		    bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 128) < 0) {
			fprintf(stderr, "tcp-silent: port %ld: %s\n", port, strerror(errno));
			return 1;
		}
		pfd[nl++] = (struct pollfd){ .fd = fd, .events = POLLIN };
	}
	printf("listening\n");
	fflush(stdout);
	n = nl;
	for (;;) {
		if (poll(pfd, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("tcp-silent: poll");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			char buf[4096];

			if (!pfd[i].revents)
				continue;
			if (i < nl) {
				int c = accept4(pfd[i].fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

				if (c < 0)
					continue;
				if (n == MAX_FDS) {
					close(c);	/* full: a refused connect, said once */
					fprintf(stderr, "tcp-silent: %d connections held: closing "
						"new ones\n", MAX_FDS - nl);
					continue;
				}
				pfd[n++] = (struct pollfd){ .fd = c, .events = POLLIN };
				continue;
			}
			ssize_t r = read(pfd[i].fd, buf, sizeof(buf));

			if (r > 0 || (r < 0 && (errno == EAGAIN || errno == EINTR)))
				continue;	/* dropped: never answered */
			/* The host closed (or reset) it: forget it. */
			close(pfd[i].fd);
			pfd[i--] = pfd[--n];
		}
	}
}
