/* SPDX-License-Identifier: MIT */
/*
 * cuse-ioctl: issue one Linux NVMe or BLK* ioctl on a device node and print
 * what came back, one line, so that a guest test can run the same call on
 * the kernel host's node and on nvmfuse's CUSE node and compare the lines.
 *
 *   cuse-ioctl id DEV                     NVME_IOCTL_ID
 *   cuse-ioctl blk DEV                    BLKGETSIZE64 BLKGETSIZE BLKSSZGET
 *                                         BLKPBSZGET BLKBSZGET (a line each)
 *   cuse-ioctl fsync DEV                  fsync(2)
 *   cuse-ioctl io DEV [KEY=VALUE...]      NVME_IOCTL_IO_CMD
 *   cuse-ioctl io64 DEV [KEY=VALUE...]    NVME_IOCTL_IO64_CMD
 *   cuse-ioctl vec DEV segs=A,B,.. [...]  NVME_IOCTL_IO64_CMD_VEC, one buffer
 *                                         of each size (separately allocated)
 *   cuse-ioctl submit DEV [KEY=VALUE...]  NVME_IOCTL_SUBMIT_IO
 *   cuse-ioctl admin64 DEV [KEY=VALUE...] NVME_IOCTL_ADMIN64_CMD
 *   cuse-ioctl admin DEV [KEY=VALUE...]   NVME_IOCTL_ADMIN_CMD
 *   cuse-ioctl reset|subsys-reset|rescan DEV
 *                                         NVME_IOCTL_RESET, _SUBSYS_RESET, _RESCAN
 *
 * Keys: opc nsid flags slba nlb (a count, 1-based) len (bytes; vec: the sum
 * of segs) cdw10 cdw11 cdw12 (override) in=FILE (write data) out=FILE (read
 * data) mode=ro|wo|rw (how DEV is opened, default rw) badarg=1 (the ioctl's
 * argument pointer is unmapped) badaddr=1 (the data pointer is unmapped). Numbers may be hex. The result field is preset to 0xa5.. so that a
 * result the driver never wrote shows.
 *
 * Prints "ret=R errno=NAME result=0x..." (errno 0 when ret >= 0; ret > 0 is
 * an NVMe status). Exit 0 when the call was made, 2 on usage or file errors.
 * Built 64-bit, and 32-bit (-m32, static) as cuse-ioctl32 where the
 * compiler can, to see what a 32-bit (compat) caller gets.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/fs.h>
#include <linux/nvme_ioctl.h>

#define RESULT_SENTINEL 0xa5a5a5a5a5a5a5a5ull
/* Never mapped: the first page. */
#define BAD_POINTER 16ull
#define MAX_SEGS 16

struct args {
	const char *op;
	const char *dev;
	uint32_t opc, nsid, flags, nlb, len, cdw10, cdw11, cdw12;
	uint64_t slba;
	int have_cdw10, have_cdw11, have_cdw12;
	int badarg, badaddr;
	const char *in, *out;
	int oflags;
	size_t segs[MAX_SEGS];
	int nsegs;
};

static const char *err_name(int e)
{
	const char *s = e ? strerrorname_np(e) : "0";

	return s ? s : "?";
}

static void print_ret(int ret, int err, int with_result, uint64_t result)
{
	printf("ret=%d errno=%s", ret, ret < 0 ? err_name(err) : "0");
	if (with_result)
		printf(" result=0x%016" PRIx64, result);
	printf("\n");
}

static int parse_segs(struct args *a, const char *s)
{
	char *end;

	a->nsegs = 0;
	for (;;) {
		if (a->nsegs == MAX_SEGS)
			return -1;
		a->segs[a->nsegs++] = strtoul(s, &end, 0);
		if (*end == '\0')
			return 0;
		if (*end != ',')
			return -1;
		s = end + 1;
	}
}

static int parse_kv(struct args *a, const char *kv)
{
	const char *v = strchr(kv, '=');
	size_t klen;
	uint64_t n;

	if (!v)
		return -1;
	klen = (size_t)(v - kv);
	v++;
#define KEY(k) (klen == strlen(k) && !strncmp(kv, k, klen))
	if (KEY("in")) {
		a->in = v;
		return 0;
	}
	if (KEY("out")) {
		a->out = v;
		return 0;
	}
	if (KEY("segs"))
		return parse_segs(a, v);
	if (KEY("mode")) {
		a->oflags = !strcmp(v, "ro") ? O_RDONLY : !strcmp(v, "wo") ? O_WRONLY :
			    !strcmp(v, "rw") ? O_RDWR : -1;
		return a->oflags < 0 ? -1 : 0;
	}
	n = strtoull(v, NULL, 0);
	if (KEY("opc")) {
		a->opc = (uint32_t)n;
	} else if (KEY("nsid")) {
		a->nsid = (uint32_t)n;
	} else if (KEY("flags")) {
		a->flags = (uint32_t)n;
	} else if (KEY("slba")) {
		a->slba = n;
	} else if (KEY("nlb")) {
		a->nlb = (uint32_t)n;
	} else if (KEY("len")) {
		a->len = (uint32_t)n;
	} else if (KEY("cdw10")) {
		a->cdw10 = (uint32_t)n;
		a->have_cdw10 = 1;
	} else if (KEY("badarg")) {
		a->badarg = n != 0;
	} else if (KEY("badaddr")) {
		a->badaddr = n != 0;
	} else if (KEY("cdw11")) {
		a->cdw11 = (uint32_t)n;
		a->have_cdw11 = 1;
	} else if (KEY("cdw12")) {
		a->cdw12 = (uint32_t)n;
		a->have_cdw12 = 1;
	} else {
		return -1;
	}
#undef KEY
	return 0;
}

/* Fill @buf with the first @len bytes of a->in, or a pattern for reads. */
static int load_data(const struct args *a, void *buf, size_t len)
{
	FILE *f;
	size_t got;

	if (!len)		/* no buffer then (memset(NULL, .., 0) is undefined) */
		return 0;
	memset(buf, 0x5a, len);
	if (!a->in)
		return 0;
	f = fopen(a->in, "rb");
	if (!f) {
		perror(a->in);
		return -1;
	}
	got = fread(buf, 1, len, f);
	fclose(f);
	if (got != len) {
		fprintf(stderr, "%s: shorter than %zu bytes\n", a->in, len);
		return -1;
	}
	return 0;
}

static int save_data(const struct args *a, const void *buf, size_t len)
{
	FILE *f;

	if (!a->out)
		return 0;
	f = fopen(a->out, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
		perror(a->out);
		return -1;
	}
	return 0;
}

/* The passthrough header shared by io, io64, vec and admin64. */
static void fill_cmd(const struct args *a, struct nvme_passthru_cmd64 *c, uint64_t addr,
		     uint32_t data_len)
{
	memset(c, 0, sizeof(*c));
	c->opcode = (uint8_t)a->opc;
	c->flags = (uint8_t)a->flags;
	c->nsid = a->nsid;
	c->addr = addr;
	c->data_len = data_len;
	c->cdw10 = a->have_cdw10 ? a->cdw10 : (uint32_t)a->slba;
	c->cdw11 = a->have_cdw11 ? a->cdw11 : (uint32_t)(a->slba >> 32);
	c->cdw12 = a->have_cdw12 ? a->cdw12 : (a->nlb ? a->nlb - 1 : 0);
	c->result = RESULT_SENTINEL;
}

static int do_passthru(int fd, const struct args *a)
{
	int is64 = strcmp(a->op, "io") && strcmp(a->op, "admin"), ret, err;
	unsigned long req = !strcmp(a->op, "io") ? NVME_IOCTL_IO_CMD :
			    !strcmp(a->op, "admin") ? NVME_IOCTL_ADMIN_CMD :
			    !strcmp(a->op, "admin64") ? NVME_IOCTL_ADMIN64_CMD : NVME_IOCTL_IO64_CMD;
	struct nvme_passthru_cmd64 c64;
	struct nvme_passthru_cmd c32;
	void *buf = NULL;
	uint64_t result;

	if (a->len && !(buf = malloc(a->len)))
		return 2;
	if (load_data(a, buf, a->len) < 0) {
		free(buf);
		return 2;
	}
	fill_cmd(a, &c64, a->badaddr ? BAD_POINTER : (uint64_t)(uintptr_t)buf, a->len);
	if (a->badarg) {
		ret = ioctl(fd, req, (void *)(uintptr_t)BAD_POINTER);
		err = errno;
		result = RESULT_SENTINEL;
	} else if (is64) {
		ret = ioctl(fd, req, &c64);
		err = errno;
		result = c64.result;
	} else {
		/* The 32-bit struct is the 64-bit one up to timeout_ms. */
		memcpy(&c32, &c64, offsetof(struct nvme_passthru_cmd, result));
		c32.result = (uint32_t)RESULT_SENTINEL;
		ret = ioctl(fd, req, &c32);
		err = errno;
		result = c32.result;
	}
	print_ret(ret, err, 1, result);
	ret = ret >= 0 && save_data(a, buf, a->len) < 0 ? 2 : 0;
	free(buf);
	return ret;
}

static int do_vec(int fd, const struct args *a)
{
	struct iovec iov[MAX_SEGS] = { 0 };
	struct nvme_passthru_cmd64 c;
	size_t total = 0, off = 0;
	uint8_t *flat;
	int ret, err, rc = 2;

	for (int i = 0; i < a->nsegs; i++)
		total += a->segs[i];
	flat = malloc(total ? total : 1);
	if (!flat || load_data(a, flat, total) < 0)
		goto out;
	for (int i = 0; i < a->nsegs; i++) {
		iov[i].iov_len = a->segs[i];
		iov[i].iov_base = malloc(a->segs[i] ? a->segs[i] : 1);
		if (!iov[i].iov_base)
			goto out;
		memcpy(iov[i].iov_base, flat + off, a->segs[i]);
		off += a->segs[i];
	}
	fill_cmd(a, &c, (uint64_t)(uintptr_t)iov, (uint32_t)a->nsegs);
	ret = ioctl(fd, NVME_IOCTL_IO64_CMD_VEC, &c);
	err = errno;
	print_ret(ret, err, 1, c.result);
	for (int i = 0, o = 0; i < a->nsegs; o += (int)a->segs[i], i++)
		memcpy(flat + o, iov[i].iov_base, a->segs[i]);
	if (ret < 0 || save_data(a, flat, total) == 0)
		rc = 0;
out:
	for (int i = 0; i < a->nsegs; i++)
		free(iov[i].iov_base);
	free(flat);
	return rc;
}

static int do_submit(int fd, const struct args *a)
{
	struct nvme_user_io io;
	void *buf = malloc(a->len ? a->len : 1);
	int ret, err;

	if (!buf || load_data(a, buf, a->len) < 0) {
		free(buf);
		return 2;
	}
	memset(&io, 0, sizeof(io));
	io.opcode = (uint8_t)a->opc;
	io.flags = (uint8_t)a->flags;
	io.nblocks = (uint16_t)(a->nlb ? a->nlb - 1 : 0);
	io.addr = (uint64_t)(uintptr_t)buf;
	io.slba = a->slba;
	ret = ioctl(fd, NVME_IOCTL_SUBMIT_IO, &io);
	err = errno;
	print_ret(ret, err, 0, 0);
	ret = ret >= 0 && save_data(a, buf, a->len) < 0 ? 2 : 0;
	free(buf);
	return ret;
}

static int do_blk(int fd)
{
	uint64_t size64 = RESULT_SENTINEL;
	unsigned long size = (unsigned long)RESULT_SENTINEL;
	int ssz = -1, bsz = -1;
	unsigned int pbsz = ~0u;

#define SHOW(name, req, var, fmt, cast)                                              \
	do {                                                                          \
		if (ioctl(fd, req, &var) < 0)                                         \
			printf("%s=%s\n", name, err_name(errno));                     \
		else                                                                  \
			printf("%s=%" fmt "\n", name, (cast)var);                     \
	} while (0)
	SHOW("BLKGETSIZE64", BLKGETSIZE64, size64, PRIu64, uint64_t);
	SHOW("BLKGETSIZE", BLKGETSIZE, size, PRIu64, uint64_t);
	SHOW("BLKSSZGET", BLKSSZGET, ssz, "d", int);
	SHOW("BLKPBSZGET", BLKPBSZGET, pbsz, "u", unsigned int);
	SHOW("BLKBSZGET", BLKBSZGET, bsz, "d", int);
#undef SHOW
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: cuse-ioctl id|blk|fsync|io|io64|vec|submit|admin|admin64|"
			"reset|subsys-reset|rescan DEV [KEY=VALUE...]\n");
}

int main(int argc, char **argv)
{
	struct args a = { .opc = 0, .oflags = O_RDWR };
	int fd, ret, rc;

	if (argc < 3) {
		usage();
		return 2;
	}
	a.op = argv[1];
	a.dev = argv[2];
	for (int i = 3; i < argc; i++) {
		if (parse_kv(&a, argv[i]) < 0) {
			fprintf(stderr, "cuse-ioctl: bad argument '%s'\n", argv[i]);
			return 2;
		}
	}
	fd = open(a.dev, a.oflags);
	if (fd < 0) {
		fprintf(stderr, "cuse-ioctl: %s: %s\n", a.dev, strerror(errno));
		return 2;
	}
	if (!strcmp(a.op, "id")) {
		ret = ioctl(fd, NVME_IOCTL_ID);
		print_ret(ret, errno, 0, 0);
		rc = 0;
	} else if (!strcmp(a.op, "blk")) {
		rc = do_blk(fd);
	} else if (!strcmp(a.op, "fsync")) {
		ret = fsync(fd);
		print_ret(ret, errno, 0, 0);
		rc = 0;
	} else if (!strcmp(a.op, "reset") || !strcmp(a.op, "subsys-reset") ||
		   !strcmp(a.op, "rescan")) {
		ret = ioctl(fd, !strcmp(a.op, "reset") ? NVME_IOCTL_RESET :
				!strcmp(a.op, "rescan") ? NVME_IOCTL_RESCAN : NVME_IOCTL_SUBSYS_RESET);
		print_ret(ret, errno, 0, 0);
		rc = 0;
	} else if (!strcmp(a.op, "io") || !strcmp(a.op, "io64") || !strcmp(a.op, "admin") ||
		   !strcmp(a.op, "admin64")) {
		rc = do_passthru(fd, &a);
	} else if (!strcmp(a.op, "vec")) {
		rc = do_vec(fd, &a);
	} else if (!strcmp(a.op, "submit")) {
		rc = do_submit(fd, &a);
	} else {
		usage();
		rc = 2;
	}
	close(fd);
	return rc;
}
