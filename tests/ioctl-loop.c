/* SPDX-License-Identifier: MIT */
/*
 * ioctl-loop: the NVMe passthrough round trip at queue depth 1. Issues
 * NVME_IOCTL_IO64_CMD Reads of one 4 KiB block (random, aligned) on a
 * namespace node, one after the other, for T seconds or N calls, and prints
 * the rate, so that the benchmark can put the kernel host's /dev/ngXnY and
 * nvmfuse's CUSE namespace node side by side.
 *
 *   ioctl-loop DEV [-t SECONDS] [-n CALLS] [-l LBA_BYTES] [-r RANGE_MIB] [-m read|id]
 *
 * -t 5 by default (-n wins when given); -l is the namespace's LBA size
 * (default: BLKSSZGET on DEV, else 512); reads stay in the first -r MiB
 * (default 64). The nsid comes from NVME_IOCTL_ID. -m id loops on
 * NVME_IOCTL_ID instead, which no NVMe command serves: on a CUSE node that
 * is the frontend's bare round trip (caller, FUSE, the daemon's thread and
 * back), the floor under every passthrough there.
 *
 * Prints one line: "ops=N secs=S ops_per_s=X us_per_op=Y". Exit 0 when every
 * call returned 0, 1 on the first failed call (reported), 2 on usage errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/fs.h>
#include <linux/nvme_ioctl.h>

#define XFER 4096u

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void)
{
	fprintf(stderr, "usage: ioctl-loop DEV [-t SECONDS] [-n CALLS] [-l LBA_BYTES] [-r RANGE_MIB] "
			"[-m read|id]\n");
	exit(2);
}

/* One NVME_IOCTL_ID; 0, or 1 with the cause printed. */
static int call_id(int fd, int nsid, unsigned long long done)
{
	int ret = ioctl(fd, NVME_IOCTL_ID);

	if (ret == nsid)
		return 0;
	fprintf(stderr, "ioctl-loop: call %llu: NVME_IOCTL_ID gave %d (%s), not %d\n", done, ret,
		ret < 0 ? strerror(errno) : "wrong nsid", nsid);
	return 1;
}

/* One 4 KiB Read at a random block of the first @blocks; 0, or 1 with the cause printed. */
static int call_read(int fd, int nsid, int lba, uint64_t blocks, void *buf, unsigned long long done)
{
	uint64_t slba = ((uint64_t)random() % blocks) * (XFER / (unsigned)lba);
	struct nvme_passthru_cmd64 c;
	int ret;

	memset(&c, 0, sizeof(c));
	c.opcode = 0x02; /* Read */
	c.nsid = (uint32_t)nsid;
	c.addr = (uint64_t)(uintptr_t)buf;
	c.data_len = XFER;
	c.cdw10 = (uint32_t)slba;
	c.cdw11 = (uint32_t)(slba >> 32);
	c.cdw12 = XFER / (unsigned)lba - 1;
	ret = ioctl(fd, NVME_IOCTL_IO64_CMD, &c);
	if (!ret)
		return 0;
	fprintf(stderr, "ioctl-loop: call %llu (slba %" PRIu64 "): ret=%d %s\n", done, slba, ret,
		ret < 0 ? strerror(errno) : "(NVMe status)");
	return 1;
}

int main(int argc, char **argv)
{
	double secs = 5, t0, t1;
	unsigned long long calls = 0, done = 0, range_mib = 64;
	int lba = 0, fd, nsid, opt;
	bool id_only = false;
	uint64_t blocks;
	/* Static: no allocation to give back on any of the exits (LeakSanitizer). */
	static uint8_t buf[XFER] __attribute__((aligned(4096)));

	while ((opt = getopt(argc, argv, "t:n:l:r:m:")) != -1) {
		switch (opt) {
		case 't': secs = atof(optarg); break;
		case 'n': calls = strtoull(optarg, NULL, 0); break;
		case 'l': lba = atoi(optarg); break;
		case 'r': range_mib = strtoull(optarg, NULL, 0); break;
		case 'm':
			if (strcmp(optarg, "id") && strcmp(optarg, "read"))
				usage();
			id_only = !strcmp(optarg, "id");
			break;
		default: usage();
		}
	}
	if (optind != argc - 1 || secs <= 0 || range_mib == 0)
		usage();
	fd = open(argv[optind], O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "ioctl-loop: %s: %s\n", argv[optind], strerror(errno));
		return 2;
	}
	nsid = ioctl(fd, NVME_IOCTL_ID);
	if (nsid <= 0) {
		fprintf(stderr, "ioctl-loop: NVME_IOCTL_ID on %s: %s\n", argv[optind],
			nsid < 0 ? strerror(errno) : "nsid 0");
		return 2;
	}
	if (lba <= 0 && (ioctl(fd, BLKSSZGET, &lba) < 0 || lba <= 0))
		lba = 512;
	if (lba > (int)XFER || XFER % (unsigned)lba) {
		fprintf(stderr, "ioctl-loop: LBA size %d does not divide %u\n", lba, XFER);
		return 2;
	}
	blocks = range_mib * 1048576 / XFER;
	srandom((unsigned)getpid());

	t0 = now();
	t1 = t0;
	for (;;) {
		if (id_only ? call_id(fd, nsid, done) : call_read(fd, nsid, lba, blocks, buf, done))
			return 1;
		done++;
		if (calls) {
			if (done >= calls)
				break;
		} else if ((done & 15) == 0 || done < 16) {
			t1 = now();
			if (t1 - t0 >= secs)
				break;
		}
	}
	t1 = now();
	printf("ops=%llu secs=%.3f ops_per_s=%.0f us_per_op=%.1f\n", done, t1 - t0,
	       (double)done / (t1 - t0), (t1 - t0) * 1e6 / (double)done);
	return 0;
}
