/* SPDX-License-Identifier: MIT */
/*
 * pingpong: what one wake-up round trip between two tasks costs on this
 * machine, between two threads of one process (no address-space switch)
 * or two processes (an address-space switch each way), on one CPU or on
 * two. A bench tool (tests/bench/floor.vm), not part of nvmfuse.
 *
 * A ublk or CUSE frontend puts a second process on every I/O: the caller
 * sleeps, the server runs, the caller runs again. The kernel host's own
 * workers are kernel threads, which borrow the caller's address space.
 * So the difference between the two modes here is what any user-space
 * frontend pays per I/O on top of the kernel's path, whatever its code.
 *
 *   pingpong -m thread|process [-c CPU,CPU] [-n ROUNDTRIPS]
 *
 * The two tasks pass one byte back and forth over two pipes. -c pins the
 * first task to the first CPU and the second to the second (the same
 * number twice: one CPU). Prints one line:
 *   mode=process cpus=0,0 roundtrips=5000 secs=0.42 us_per_roundtrip=84.1
 * Bad arguments: one line on standard error, exit 1.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct pp {
	int to[2], from[2];	/* first -> second, second -> first */
	long n;
	int cpu;		/* the second task's CPU, -1: any */
};

static int pin(int cpu)
{
	cpu_set_t s;

	if (cpu < 0)
		return 0;
	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	return sched_setaffinity(0, sizeof(s), &s) < 0 ? -errno : 0;
}

/*
 * The second task: answer every byte. 0, or -errno. Closes its end of the
 * answers, so a first task waiting for one sees EOF, not a hang.
 */
static int echo(struct pp *p)
{
	int rc = pin(p->cpu) < 0 ? -EINVAL : 0;
	char c;

	for (long i = 0; i < p->n && !rc; i++)
		if (read(p->to[0], &c, 1) != 1 || write(p->from[1], &c, 1) != 1)
			rc = -EIO;
	close(p->from[1]);
	return rc;
}

static void *echo_thread(void *arg)
{
	return (void *)(long)echo(arg);
}

static bool num(const char *s, long lo, long hi, long *v)
{
	char *end;

	errno = 0;
	*v = strtol(s, &end, 10);
	return !errno && end != s && !*end && *v >= lo && *v <= hi;
}

/* "A,B": two CPU numbers 0..@max into *@a and *@b. */
static bool cpu_pair(const char *s, long max, long *a, long *b)
{
	char *end;

	errno = 0;
	*a = strtol(s, &end, 10);
	if (errno || end == s || *end != ',' || *a < 0 || *a > max)
		return false;
	s = end + 1;
	*b = strtol(s, &end, 10);
	return !errno && end != s && !*end && *b >= 0 && *b <= max;
}

int main(int argc, char **argv)
{
	struct pp p = { .n = 5000, .cpu = -1 };
	const char *mode = NULL, *cpus = NULL;
	long c0 = -1, c1 = -1, ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct timespec t0, t1;
	pthread_t th;
	pid_t pid = 0;
	double secs;
	char c = 'x';
	int opt, rc = 0;

	while ((opt = getopt(argc, argv, "m:c:n:")) != -1) {
		switch (opt) {
		case 'm':
			mode = optarg;
			break;
		case 'c':
			cpus = optarg;
			break;
		case 'n':
			if (!num(optarg, 1, 100000000, &p.n)) {
				fprintf(stderr, "pingpong: -n '%s': expected 1 to 100000000\n", optarg);
				return 1;
			}
			break;
		default:
			fprintf(stderr, "pingpong: usage: pingpong -m thread|process [-c CPU,CPU] "
				"[-n ROUNDTRIPS]\n");
			return 1;
		}
	}
	if (optind != argc || !mode || (strcmp(mode, "thread") && strcmp(mode, "process"))) {
		fprintf(stderr, "pingpong: -m thread or -m process is needed (and nothing else)\n");
		return 1;
	}
	if (cpus) {
		if (!cpu_pair(cpus, ncpu - 1, &c0, &c1)) {
			fprintf(stderr, "pingpong: -c '%s': expected two CPUs from 0 to %ld, e.g. 0,1\n",
				cpus, ncpu - 1);
			return 1;
		}
		p.cpu = (int)c1;
	}
	if (pipe(p.to) < 0 || pipe(p.from) < 0) {
		fprintf(stderr, "pingpong: pipe: %s\n", strerror(errno));
		return 1;
	}
	if (pin((int)c0) < 0) {
		fprintf(stderr, "pingpong: cannot run on CPU %ld\n", c0);
		return 1;
	}
	if (!strcmp(mode, "process")) {
		pid = fork();
		if (pid < 0) {
			fprintf(stderr, "pingpong: fork: %s\n", strerror(errno));
			return 1;
		}
		if (pid == 0) {
			close(p.to[1]);
			close(p.from[0]);
			_exit(echo(&p) ? 1 : 0);
		}
		close(p.to[0]);
		close(p.from[1]);
	} else if ((rc = pthread_create(&th, NULL, echo_thread, &p))) {
		fprintf(stderr, "pingpong: pthread_create: %s\n", strerror(rc));
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < p.n && !rc; i++)
		if (write(p.to[1], &c, 1) != 1 || read(p.from[0], &c, 1) != 1)
			rc = -EIO;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (pid) {
		int st;

		close(p.to[1]);		/* a child stuck in read sees EOF */
		if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
			rc = -EIO;
	} else {
		void *ret;

		close(p.to[1]);
		pthread_join(th, &ret);
		if (ret)
			rc = -EIO;
	}
	if (rc) {
		fprintf(stderr, "pingpong: the round trips broke off (the second task failed)\n");
		return 1;
	}
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("mode=%s cpus=%s roundtrips=%ld secs=%.3f us_per_roundtrip=%.1f\n", mode,
	       cpus ? cpus : "any", p.n, secs, secs * 1e6 / (double)p.n);
	return 0;
}
