/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
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

int reg_reserve(int want, char name[REG_NAME_MAX], char *err, size_t errlen)
{
	struct sockaddr_un sa;
	int lock, fd = -1, rc = 0;
	int first = want >= 0 ? want : REG_INSTANCE_BASE;
	int last = want >= 0 ? want : REG_INSTANCE_BASE + 65535;

	lock = lock_rundir(err, errlen);
	if (lock < 0)
		return lock;
	for (int i = first; i <= last; i++) {
		snprintf(name, REG_NAME_MAX, "nvme%d", i);
		rc = sock_path(name, &sa);
		if (rc < 0)
			break;
		if (access(sa.sun_path, F_OK) == 0) {
			if (!reg_is_dead(name)) {
				rc = -EEXIST;
				continue;
			}
			unlink(sa.sun_path);
		}
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    listen(fd, 16) < 0) {
			rc = -errno;
			if (fd >= 0)
				close(fd);
			fd = -1;
			break;
		}
		chmod(sa.sun_path, 0600);
		rc = 0;
		break;
	}
	close(lock);
	if (fd < 0) {
		if (rc == -EEXIST)
			snprintf(err, errlen, want >= 0 ? "instance %d is already in use" :
				 "no free instance number", want);
		else
			snprintf(err, errlen, "cannot create the control socket in %s: %s",
				 reg_rundir(), strerror(-rc));
		return rc ? rc : -EEXIST;
	}
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

int reg_request(const char *name, const char *line, char **reply, int timeout_ms)
{
	struct timespec t0, t;
	size_t len = 0, cap = 4096;
	char *buf;
	int fd, rc = 0;

	fd = connect_to(name);
	if (fd < 0)
		return fd;
	if (write(fd, line, strlen(line)) != (ssize_t)strlen(line)) {
		rc = -errno;
		close(fd);
		return rc ? rc : -EIO;
	}
	buf = malloc(cap);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;
		long el;

		clock_gettime(CLOCK_MONOTONIC, &t);
		el = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (el >= timeout_ms) {
			rc = -ETIMEDOUT;
			break;
		}
		if (poll(&pfd, 1, (int)(timeout_ms - el)) <= 0)
			continue;
		if (len + 1 >= cap) {
			char *bigger = realloc(buf, cap * 2);

			if (!bigger) {
				rc = -ENOMEM;
				break;
			}
			buf = bigger;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	buf[len] = 0;
	*reply = buf;
	return 0;
}
