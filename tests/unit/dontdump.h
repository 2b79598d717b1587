/* SPDX-License-Identifier: MIT */
/*
 * Test helper: is @p in a mapping the kernel leaves out of core dumps?
 * Reads /proc/self/smaps, finds the mapping that holds @p and looks for
 * "dd" (VM_DONTDUMP) in its VmFlags. -1 when @p is in no mapping, 1 yes,
 * 0 no.
 */
#ifndef NVMF_TEST_DONTDUMP_H
#define NVMF_TEST_DONTDUMP_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static inline int dontdump_of(const void *p)
{
	uintptr_t a = (uintptr_t)p, lo, hi;
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	bool in = false;
	int r = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		/* A mapping's first line: "lo-hi perms ...", hex digits then '-'. */
		if (line[strspn(line, "0123456789abcdef")] == '-' &&
		    sscanf(line, "%" SCNxPTR "-%" SCNxPTR, &lo, &hi) == 2) {
			if (in)
				break;
			in = a >= lo && a < hi;
			continue;
		}
		if (in && !strncmp(line, "VmFlags:", 8)) {
			r = strstr(line, " dd ") ? 1 : 0;	/* each flag is followed by a space */
			break;
		}
	}
	fclose(f);
	return r;
}

#endif
