/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "daemon/registry.h"

const char *reg_rundir(void)
{
	const char *d = getenv("NVMFUSE_RUNDIR");

	return d && *d ? d : "/run/nvmfuse";
}

static int sock_path(const char *name, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if ((size_t)snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/%s.sock", reg_rundir(),
			     name) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	return 0;
}

static int connect_to(const char *name)
{
	struct sockaddr_un sa;
	int fd, rc;

	rc = sock_path(name, &sa);
	if (rc < 0)
		return rc;
	/*
	 * Non-blocking: a daemon that no longer accepts (wedged, its listen
	 * backlog full) makes a blocking connect wait forever, and with it
	 * `nvmfuse list`. Retry for a second, then give up with -EAGAIN.
	 */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	for (int i = 0;; i++) {
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		rc = -errno;
		if (rc != -EAGAIN || i >= 20) {
			close(fd);
			return rc;
		}
		nanosleep(&(struct timespec){ 0, 50 * 1000 * 1000 }, NULL);
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

bool reg_is_dead(const char *name)
{
	int fd = connect_to(name);

	if (fd >= 0) {
		close(fd);
		return false;
	}
	return fd == -ECONNREFUSED || fd == -ENOENT;
}

void reg_release(const char *name)
{
	struct sockaddr_un sa;

	if (sock_path(name, &sa) == 0)
		unlink(sa.sun_path);
}

static int lock_rundir(char *err, size_t errlen)
{
	char path[512];
	int fd;

	if (mkdir(reg_rundir(), 0755) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", reg_rundir(), strerror(errno));
		return -errno;
	}
	snprintf(path, sizeof(path), "%s/.lock", reg_rundir());
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		int rc = -errno;

		snprintf(err, errlen, "cannot lock %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	return fd;
}

const char *reg_claim_dir(void)
{
	const char *d = getenv("NVMFUSE_IDS_DIR");

	return d && *d ? d : "/run/nvmfuse-ids";
}

/*
 * Is instance @i taken by something we can see: a node or a device of that
 * name, from any run dir's daemon, an nvmfuse that claims nothing (older),
 * or the kernel? @why says what, for the error of an explicit --instance.
 */
static bool instance_visible(int i, char *why, size_t len)
{
	static const char *const dirs[] = { "/dev", "/sys/class/nvme", "/sys/class/cuse" };
	char path[64], prefix[32];
	struct dirent *de;
	bool seen = false;
	DIR *d;

	for (size_t k = 0; k < sizeof(dirs) / sizeof(dirs[0]); k++) {
		snprintf(path, sizeof(path), "%s/nvme%d", dirs[k], i);
		if (access(path, F_OK) == 0) {
			snprintf(why, len, "%s exists", path);
			return true;
		}
	}
	/* Namespace nodes ngNnM outlive nothing, but a stray one would collide. */
	snprintf(prefix, sizeof(prefix), "ng%dn", i);
	d = opendir("/dev");
	while (d && !seen && (de = readdir(d))) {
		if (!strncmp(de->d_name, prefix, strlen(prefix))) {
			snprintf(why, len, "/dev/%.200s exists", de->d_name);
			seen = true;
		}
	}
	if (d)
		closedir(d);
	return seen;
}

/*
 * Claim instance @i host-wide: an flock on CLAIMDIR/nvmeN.lock, held by
 * the daemon for its life (the kernel drops it when the daemon exits, also
 * after kill -9). Two daemons that start at once, in any run dirs, cannot
 * both hold it. Returns the locked fd, -EWOULDBLOCK when another daemon
 * holds it, or -errno (with @err) when the claim dir is unusable.
 */
static int claim(int i, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int fd;

	if (mkdir(reg_claim_dir(), 0755) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s (NVMFUSE_IDS_DIR chooses another)",
			 reg_claim_dir(), strerror(errno));
		return -errno;
	}
	snprintf(path, sizeof(path), "%s/nvme%d.lock", reg_claim_dir(), i);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -errno;
	}
	/* The file stays: unlinking a lock file lets a third party lock another inode. */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int rc = -errno;

		close(fd);
		if (rc == -EWOULDBLOCK)
			return rc;
		snprintf(err, errlen, "cannot lock %s: %s", path, strerror(-rc));
		return rc;
	}
	return fd;
}

int reg_reserve(int want, char name[REG_NAME_MAX], int *claim_fd, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	int lock, fd = -1, cfd = -1, rc = 0;
	int first = want >= 0 ? want : REG_INSTANCE_BASE;
	int last = want >= 0 ? want : REG_INSTANCE_BASE + 65535;
	char why[256] = "";

	*claim_fd = -1;
	lock = lock_rundir(err, errlen);
	if (lock < 0)
		return lock;
	for (int i = first; i <= last; i++) {
		snprintf(name, REG_NAME_MAX, "nvme%d", i);
		rc = sock_path(name, &sa);
		if (rc < 0)
			break;
		rc = -EEXIST;
		if (instance_visible(i, why, sizeof(why)))
			continue;
		cfd = claim(i, err, errlen);
		if (cfd == -EWOULDBLOCK) {
			snprintf(why, sizeof(why), "another nvmfuse daemon holds it (%s/nvme%d.lock)",
				 reg_claim_dir(), i);
			continue;
		}
		if (cfd < 0) {
			close(lock);
			return cfd;
		}
		/*
		 * Looked at again under the claim: the last holder's nodes may
		 * still be going away; a socket that answers is a daemon of an
		 * nvmfuse that claims nothing.
		 */
		if (instance_visible(i, why, sizeof(why))) {
			close(cfd);
			continue;
		}
		if (access(sa.sun_path, F_OK) == 0 && !reg_is_dead(name)) {
			snprintf(why, sizeof(why), "%.200s answers", sa.sun_path);
			close(cfd);
			continue;
		}
		unlink(sa.sun_path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    listen(fd, 16) < 0) {
			rc = -errno;
			if (fd >= 0)
				close(fd);
			close(cfd);
			fd = -1;
			break;
		}
		chmod(sa.sun_path, 0600);
		rc = 0;
		break;
	}
	close(lock);
	if (fd < 0) {
		if (rc == -EEXIST && want >= 0)
			snprintf(err, errlen, "instance %d is in use: %s", want, why);
		else if (rc == -EEXIST)
			snprintf(err, errlen, "no free instance number from %d to %d", first, last);
		else
			snprintf(err, errlen, "cannot create the control socket in %s: %s",
				 reg_rundir(), strerror(-rc));
		return rc ? rc : -EEXIST;
	}
	*claim_fd = cfd;
	return fd;
}

static int name_cmp(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;

	return atoi(x + 4) - atoi(y + 4);
}

int reg_names(char ***names, int *n)
{
	DIR *d = opendir(reg_rundir());
	struct dirent *de;
	char **v = NULL;
	int cnt = 0, cap = 0;

	*names = NULL;
	*n = 0;
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char *nm;

		if (strncmp(de->d_name, "nvme", 4) || len < 6 || len >= REG_NAME_MAX + 5 ||
		    strcmp(de->d_name + len - 5, ".sock"))
			continue;
		nm = strndup(de->d_name, len - 5);
		if (!nm)
			break;
		if (reg_is_dead(nm)) {
			reg_release(nm);
			free(nm);
			continue;
		}
		if (cnt == cap) {
			char **bigger;

			cap = cap ? cap * 2 : 8;
			bigger = realloc(v, (size_t)cap * sizeof(*v));
			if (!bigger) {
				free(nm);
				break;
			}
			v = bigger;
		}
		v[cnt++] = nm;
	}
	closedir(d);
	if (cnt)
		qsort(v, (size_t)cnt, sizeof(*v), name_cmp);
	*names = v;
	*n = cnt;
	return 0;
}

void reg_names_free(char **names, int n)
{
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static int64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Milliseconds until @deadline (now_ms() based), at least 0. */
static int ms_left(int64_t deadline)
{
	int64_t now = now_ms();

	return deadline > now ? (int)(deadline - now) : 0;
}

/*
 * Write all of @len bytes to non-blocking @fd before @deadline. Returns 0,
 * -ETIMEDOUT or -errno.
 */
static int send_all(int fd, const char *buf, size_t len, int64_t deadline)
{
	while (len) {
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (!ms_left(deadline))
			return -ETIMEDOUT;
		poll(&pfd, 1, ms_left(deadline));
	}
	return 0;
}

/*
 * Read from non-blocking @fd into @buf (@cap bytes, one kept for a NUL)
 * until end of file, @deadline, @cap bytes, or, with @to_newline, a '\n'.
 * Returns 0 with the count in *@len (the data NUL-terminated), -ETIMEDOUT,
 * -EMSGSIZE (more than @cap - 1 bytes), or -errno.
 */
static int recv_until(int fd, char *buf, size_t cap, bool to_newline, int64_t deadline,
		      size_t *len)
{
	size_t got = 0;
	int rc = 0;

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (got == cap - 1) {
			char extra;

			/* Full: only the end of the message may follow. */
			n = recv(fd, &extra, 1, MSG_DONTWAIT | MSG_PEEK);
			if (n > 0)
				rc = -EMSGSIZE;
			else if (n < 0 && (errno == EAGAIN || errno == EINTR) && ms_left(deadline)) {
				poll(&pfd, 1, ms_left(deadline));
				continue;
			} else if (n < 0 && errno == EAGAIN)
				rc = -ETIMEDOUT;
			else if (n < 0)
				rc = -errno;
			break;
		}
		n = recv(fd, buf + got, cap - 1 - got, MSG_DONTWAIT);
		if (n > 0) {
			bool nl = to_newline && memchr(buf + got, '\n', (size_t)n);

			got += (size_t)n;
			if (nl)
				break;
			continue;
		}
		if (n == 0)
			break;
		if (errno != EAGAIN && errno != EINTR) {
			rc = -errno;
			break;
		}
		if (!ms_left(deadline)) {
			rc = -ETIMEDOUT;
			break;
		}
		poll(&pfd, 1, ms_left(deadline));
	}
	buf[got] = 0;
	*len = got;
	return rc;
}

int reg_call(const char *name, const struct nvmf_ctl_request *rq, struct json_object **reply,
	     int timeout_ms, char *err, size_t errlen)
{
	int64_t deadline = now_ms() + timeout_ms;
	char *line = NULL, *buf = NULL;
	size_t len;
	int fd, rc;

	*reply = NULL;
	rc = nvmf_ctl_request_build(rq, &line);
	if (rc < 0) {
		snprintf(err, errlen, "cannot build the request: %s", strerror(-rc));
		return rc;
	}
	fd = connect_to(name);
	if (fd < 0) {
		free(line);
		snprintf(err, errlen, "cannot reach its daemon: %s", strerror(-fd));
		return fd;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	rc = send_all(fd, line, strlen(line), deadline);
	free(line);
	if (rc < 0) {
		snprintf(err, errlen, "cannot send the %s request: %s",
			 nvmf_ctl_op_str(rq->op), strerror(-rc));
		goto out;
	}
	shutdown(fd, SHUT_WR);
	buf = malloc(NVMF_CTL_REPLY_MAX + 1);
	if (!buf) {
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = recv_until(fd, buf, NVMF_CTL_REPLY_MAX + 1, false, deadline, &len);
	/*
	 * Hung up on without a word: a daemon that exits while we ask does
	 * that (it removes its socket, then its listening socket's close
	 * resets us). If it is gone now, say so as if we had come a moment
	 * later; if it is still there, it is broken, and that is reported.
	 */
	if ((rc == -ECONNRESET || (rc == 0 && len == 0)) && reg_is_dead(name)) {
		rc = -ECONNREFUSED;
		snprintf(err, errlen, "it went away before answering");
		goto out;
	}
	if (rc == -ETIMEDOUT)
		snprintf(err, errlen, "no answer to %s within %d s", nvmf_ctl_op_str(rq->op),
			 (timeout_ms + 999) / 1000);
	else if (rc == -EMSGSIZE)
		snprintf(err, errlen, "its reply is longer than %d bytes", NVMF_CTL_REPLY_MAX);
	else if (rc < 0)
		snprintf(err, errlen, "cannot read the reply: %s", strerror(-rc));
	else
		rc = nvmf_ctl_reply_parse(buf, len, reply, err, errlen);
out:
	free(buf);
	close(fd);
	return rc;
}

int reg_accept(int listen_fd, struct nvmf_ctl_request *rq)
{
	int64_t deadline = now_ms() + NVMF_CTL_READ_MS;
	char buf[NVMF_CTL_REQUEST_MAX + 1], err[256];
	size_t len;
	int fd, rc;

	fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return -errno;
	rc = recv_until(fd, buf, sizeof(buf), true, deadline, &len);
	if (rc == 0 && len == 0) {
		close(fd);	/* a probe (reg_is_dead), or a client gone */
		return -ENODATA;
	}
	if (rc == -EMSGSIZE)
		snprintf(err, sizeof(err), "request longer than %d bytes", NVMF_CTL_REQUEST_MAX);
	else if (rc == -ETIMEDOUT)
		snprintf(err, sizeof(err), "no complete request within %d ms (one JSON object "
			 "ending with a newline)", NVMF_CTL_READ_MS);
	else if (rc < 0)
		snprintf(err, sizeof(err), "cannot read the request: %s", strerror(-rc));
	else
		rc = nvmf_ctl_request_parse(buf, len, rq, err, sizeof(err));
	if (rc < 0) {
		reg_reply(fd, nvmf_ctl_reply_error(err));
		return rc;
	}
	return fd;
}

void reg_reply(int fd, struct json_object *reply)
{
	int64_t deadline = now_ms() + NVMF_CTL_READ_MS;
	char *line = NULL;

	if (!reply)
		reply = nvmf_ctl_reply_error("out of memory");
	if (nvmf_ctl_reply_build(reply, &line) == 0)
		send_all(fd, line, strlen(line), deadline);
	free(line);
	close(fd);
}
