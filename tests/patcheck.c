/* SPDX-License-Identifier: MIT */
/*
 * patcheck: check that a file or block device holds the nvmfuse perf
 * --verify pattern (host/pattern.h) for SEED over [OFFSET, OFFSET+LENGTH).
 * Used by the guest tests to read back, through the kernel host, data that
 * nvmfuse wrote. Exit 0 when it matches, 1 (naming the first bad byte)
 * when not, 2 on usage or I/O errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host/pattern.h"

int main(int argc, char **argv)
{
	uint64_t seed, off, len, done = 0;
	static uint8_t buf[1 << 20];
	int fd;

	if (argc != 5) {
		fprintf(stderr, "usage: patcheck FILE SEED OFFSET LENGTH\n");
		return 2;
	}
	seed = strtoull(argv[2], NULL, 0);
	off = strtoull(argv[3], NULL, 0);
	len = strtoull(argv[4], NULL, 0);
	if (off % 8 || len % 8) {
		fprintf(stderr, "patcheck: OFFSET and LENGTH must be multiples of 8\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "patcheck: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	while (done < len) {
		size_t want = len - done > sizeof(buf) ? sizeof(buf) : (size_t)(len - done);
		ssize_t n = pread(fd, buf, want, (off_t)(off + done));
		size_t bad;

		if (n <= 0 || n % 8) {
			fprintf(stderr, "patcheck: %s: read at %" PRIu64 " failed: %s\n", argv[1],
				off + done, n < 0 ? strerror(errno) : "short read");
			close(fd);
			return 2;
		}
		bad = nvmf_pattern_check(buf, (size_t)n, seed, off + done);
		if (bad != (size_t)-1) {
			fprintf(stderr, "patcheck: %s: mismatch at byte %" PRIu64 "\n", argv[1],
				off + done + bad);
			close(fd);
			return 1;
		}
		done += (uint64_t)n;
	}
	close(fd);
	printf("patcheck: %s: %" PRIu64 " bytes at %" PRIu64 " match seed %" PRIu64 "\n",
	       argv[1], len, off, seed);
	return 0;
}
