/* SPDX-License-Identifier: MIT */
/*
 * The worker's spin window (pure logic, no I/O): whether a queue's thread
 * should look for its completion for a few microseconds before it goes
 * to sleep, and for how long.
 *
 * At queue depth 1 most of an I/O's time is wake-ups: the caller's request
 * wakes the queue's thread, the target's reply wakes it again, and it
 * wakes the caller. A thread that keeps looking (yielding the CPU on every
 * turn) for the reply, or for the caller's next request, due within the
 * window saves its own wake-up. It costs CPU while it looks, so:
 *   - it is off unless NVMFUSE_SPIN_US gives a window (1-10000 us);
 *   - only a queue with at most one command outstanding spins: deeper
 *     queues are woken by a batch anyway;
 *   - a window that ran out with nothing come (a slow target, a long
 *     transfer, a caller gone idle) makes the queue skip the next 1, 3,
 *     7, ... 63 chances before it tries again, so a target slower than
 *     the window costs at most one window per 64 I/Os, and a queue gone
 *     idle one window, then nothing (it sleeps); something within the
 *     window ends that back-off at once.
 *
 * Thread context: a struct nvmf_spin belongs to one worker thread; the
 * functions are pure and take no locks.
 */
#ifndef NVMF_SPIN_H
#define NVMF_SPIN_H

#include <stdbool.h>
#include <stdint.h>

#define NVMF_SPIN_MAX_US	10000u	/* the longest window NVMFUSE_SPIN_US may ask for */
#define NVMF_SPIN_MAX_BACKOFF	6	/* skip at most 2^6 - 1 chances after misses */

struct nvmf_spin {
	uint32_t window_us;	/* 0: never spin */
	uint32_t misses;	/* windows in a row that ran out, at most NVMF_SPIN_MAX_BACKOFF */
	uint32_t skip;		/* chances still to let pass before spinning again */
	/* What the windows did, for the log (the worker's, at its end): */
	uint64_t spins;		/* windows spun */
	uint64_t hits;		/* ... that ended with something to do */
	uint64_t at_once;	/* ... of those, found before the first yield */
	uint64_t yields;	/* turns that yielded the CPU */
};

/*
 * Parse NVMFUSE_SPIN_US's value: @s NULL or "" is 0 (off); otherwise a
 * decimal number of microseconds, 0..NVMF_SPIN_MAX_US. Returns 0 with
 * *window_us set, or -EINVAL (and *window_us 0) for anything else.
 */
int nvmf_spin_parse(const char *s, uint32_t *window_us);

/*
 * About to sleep with @outstanding commands on the queue: spin first?
 * Counts a chance let pass during a back-off.
 */
bool nvmf_spin_begin(struct nvmf_spin *s, uint32_t outstanding);

/* The window that nvmf_spin_begin() allowed ended: @hit, something came. */
void nvmf_spin_end(struct nvmf_spin *s, bool hit);

#endif
