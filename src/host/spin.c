/* SPDX-License-Identifier: MIT */
#include <errno.h>

#include "host/spin.h"

int nvmf_spin_parse(const char *s, uint32_t *window_us)
{
	uint32_t v = 0;

	*window_us = 0;
	if (!s || !*s)
		return 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (uint32_t)(*p - '0');
		if (v > NVMF_SPIN_MAX_US)
			return -EINVAL;
	}
	*window_us = v;
	return 0;
}

bool nvmf_spin_begin(struct nvmf_spin *s, uint32_t outstanding)
{
	if (!s->window_us || outstanding > 1)
		return false;
	if (s->skip) {
		s->skip--;
		return false;
	}
	return true;
}

void nvmf_spin_end(struct nvmf_spin *s, bool hit)
{
	s->spins++;
	if (hit) {
		s->hits++;
		s->misses = 0;
		s->skip = 0;
		return;
	}
	if (s->misses < NVMF_SPIN_MAX_BACKOFF)
		s->misses++;
	s->skip = (1u << s->misses) - 1;
}
