/* SPDX-License-Identifier: MIT */
/*
 * Standalone driver for LLVMFuzzerTestOneInput() when libFuzzer is not
 * linked in (gcc builds, `make check`), for every fuzz target: the target's
 * seeds and generators come from its *_seeds.c (tests/fuzz/fuzz.h). See
 * the top of each target for the real libFuzzer build.
 *
 *   fuzz_X [-n ITERATIONS] [-s SEED] [-w DIR] [FILE|DIR ...]
 *
 * FILE/DIR arguments: run the target once on each file (directories are
 * read one level deep), e.g. a libFuzzer crash file or corpus.
 * Without arguments: replay $srcdir/<the target's corpus> when it exists,
 * the built-in seeds, then ITERATIONS (default: the target's) deterministic
 * inputs: random bytes, and the target's structured inputs and mutations
 * of the seeds. The same SEED always gives the same inputs, so a failure
 * printed as "iteration K" is reproduced with the same command.
 * -w DIR writes the built-in seeds to DIR (how the corpus was made).
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- what is running, for the crash report ----------------------------------- */

static const uint8_t *g_cur;
static size_t g_cur_len;
static const char *g_cur_what = "startup";
static long g_cur_iter = -1;

static void crash_handler(int sig)
{
	char line[128];
	int k;

	/* Only async-signal-safe calls: snprintf into a stack buffer + write. */
	k = snprintf(line, sizeof(line), "\n%s: signal %d on %s, iteration %ld, %zu bytes:\n",
		     fuzz_name, sig, g_cur_what, g_cur_iter, g_cur_len);
	if (k > 0)
		(void)!write(2, line, (size_t)k);
	for (size_t i = 0; g_cur && i < g_cur_len; i++) {
		k = snprintf(line, sizeof(line), "%02x%s", g_cur[i], (i % 16 == 15) ? "\n" : " ");
		(void)!write(2, line, (size_t)k);
	}
	(void)!write(2, "\n", 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void run_one(const uint8_t *p, size_t n, const char *what, long iter)
{
	g_cur = p;
	g_cur_len = n;
	g_cur_what = what;
	g_cur_iter = iter;
	LLVMFuzzerTestOneInput(p, n);
}

/* ---- PRNG ----------------------------------------------------------------------- */

static uint64_t g_rng;

uint32_t fuzz_rnd(void)
{
	g_rng ^= g_rng >> 12;
	g_rng ^= g_rng << 25;
	g_rng ^= g_rng >> 27;
	return (uint32_t)((g_rng * 0x2545F4914F6CDD1Dull) >> 32);
}

uint32_t fuzz_below(uint32_t n)
{
	return n ? fuzz_rnd() % n : 0;
}

size_t fuzz_splice(uint8_t *s, size_t size, size_t at, size_t len, const void *ins, size_t n,
		   size_t max)
{
	if (at > size)
		at = size;
	if (len > size - at)
		len = size - at;
	if (size - len + n > max)
		n = max - (size - len);
	memmove(s + at + n, s + at + len, size - at - len);
	memcpy(s + at, ins, n);
	return size - len + n;
}

/* ---- files ------------------------------------------------------------------ */

static int run_file(const char *path)
{
	static uint8_t buf[1 << 20];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f) {
		fprintf(stderr, "%s: %s: %s\n", fuzz_name, path, strerror(errno));
		return 1;
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	run_one(buf, n, path, -1);
	return 0;
}

static int write_seeds(const char *dir)
{
	uint8_t *s = malloc(fuzz_max_input);

	for (int i = 0; s && i < fuzz_nseeds; i++) {
		const char *name;
		size_t n = fuzz_seed(i, s, &name);
		char path[4096];
		FILE *f;

		snprintf(path, sizeof(path), "%s/seed-%02d-%s", dir, i, name);
		f = fopen(path, "wb");
		if (!f || fwrite(s, 1, n, f) != n || fclose(f)) {
			fprintf(stderr, "%s: cannot write %s: %s\n", fuzz_name, path, strerror(errno));
			free(s);
			return 1;
		}
	}
	free(s);
	return s ? 0 : 1;
}

static int run_path(const char *path, long *count)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (stat(path, &st)) {
		fprintf(stderr, "%s: %s: %s\n", fuzz_name, path, strerror(errno));
		return 1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return run_file(path);
	}
	d = opendir(path);
	if (!d) {
		fprintf(stderr, "%s: %s: %s\n", fuzz_name, path, strerror(errno));
		return 1;
	}
	while ((de = readdir(d))) {
		char p[4096];

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
		if (stat(p, &st) || !S_ISREG(st.st_mode))
			continue;
		(*count)++;
		rc |= run_file(p);
	}
	closedir(d);
	return rc;
}

int main(int argc, char **argv)
{
	long iters = fuzz_iterations, files = 0;
	uint64_t seed = 0x6E766D66u;	/* "nvmf" */
	const char *wdir = NULL;
	int opt, rc = 0;

	while ((opt = getopt(argc, argv, "n:s:w:h")) != -1) {
		switch (opt) {
		case 'n': iters = strtol(optarg, NULL, 0); break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'w': wdir = optarg; break;
		default:
			fprintf(stderr, "usage: %s [-n ITERATIONS] [-s SEED] [-w DIR] [FILE|DIR ...]\n",
				argv[0]);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (wdir)
		return write_seeds(wdir);
	signal(SIGABRT, crash_handler);
	signal(SIGSEGV, crash_handler);
	signal(SIGBUS, crash_handler);

	if (optind < argc) {
		for (int i = optind; i < argc; i++)
			rc |= run_path(argv[i], &files);
		printf("%s: %ld file(s) ran clean\n", fuzz_name, files);
		return rc;
	}

	/* Regression corpus checked into the source tree. */
	{
		const char *srcdir = getenv("srcdir");
		char dir[4096];
		struct stat st;

		snprintf(dir, sizeof(dir), "%s/%s", srcdir ? srcdir : ".", fuzz_corpus);
		if (!stat(dir, &st) && S_ISDIR(st.st_mode))
			rc |= run_path(dir, &files);
	}

	{
		uint8_t *seeds = malloc((size_t)fuzz_nseeds * fuzz_max_input);
		size_t *seed_len = calloc((size_t)fuzz_nseeds, sizeof(*seed_len));
		uint8_t *s = malloc(fuzz_max_input);

		if (!seeds || !seed_len || !s) {
			fprintf(stderr, "%s: out of memory\n", fuzz_name);
			return 1;
		}
		for (int i = 0; i < fuzz_nseeds; i++) {
			const char *name;

			seed_len[i] = fuzz_seed(i, seeds + (size_t)i * fuzz_max_input, &name);
			run_one(seeds + (size_t)i * fuzz_max_input, seed_len[i], "built-in seed", i);
		}
		g_rng = seed ? seed : 1;
		for (long it = 0; it < iters; it++) {
			size_t n;

			if (fuzz_below(8) == 0) {
				n = fuzz_below((uint32_t)fuzz_max_input);
				for (size_t i = 0; i < n; i++)
					s[i] = (uint8_t)fuzz_rnd();
			} else {
				int i = (int)fuzz_below((uint32_t)fuzz_nseeds);

				n = fuzz_generate(s, seeds + (size_t)i * fuzz_max_input, seed_len[i]);
			}
			run_one(s, n, "generated input", it);
		}
		free(seeds);
		free(seed_len);
		free(s);
	}
	printf("%s: %ld corpus file(s), %d seeds and %ld generated inputs (seed 0x%llx) ran "
	       "clean\n", fuzz_name, files, fuzz_nseeds, iters, (unsigned long long)seed);
	return rc;
}
