/* SPDX-License-Identifier: MIT */
/* The worker's spin window (host/spin.h): parsing, QD 0-1 only, back-off, counters. */
#include <check.h>
#include <errno.h>

#include "host/spin.h"

START_TEST(test_parse)
{
	uint32_t us = 7;

	ck_assert_int_eq(nvmf_spin_parse(NULL, &us), 0);
	ck_assert_uint_eq(us, 0);
	ck_assert_int_eq(nvmf_spin_parse("", &us), 0);
	ck_assert_uint_eq(us, 0);
	ck_assert_int_eq(nvmf_spin_parse("0", &us), 0);
	ck_assert_uint_eq(us, 0);
	ck_assert_int_eq(nvmf_spin_parse("1000", &us), 0);
	ck_assert_uint_eq(us, 1000);
	ck_assert_int_eq(nvmf_spin_parse("10000", &us), 0);
	ck_assert_uint_eq(us, NVMF_SPIN_MAX_US);
	/* Refused, and off: too long, not a number, signs, units, overflow. */
	static const char *const bad[] = { "10001", "abc", "-5", "+5", "100us", " 5",
					   "5 ", "99999999999999999999", "1e3" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		us = 7;
		ck_assert_msg(nvmf_spin_parse(bad[i], &us) == -EINVAL, "accepted \"%s\"", bad[i]);
		ck_assert_uint_eq(us, 0);
	}
}
END_TEST

START_TEST(test_off_and_depth)
{
	struct nvmf_spin off = { 0 }, on = { .window_us = 500 };

	/* Off never spins; on spins only with at most one command out. */
	ck_assert(!nvmf_spin_begin(&off, 1));
	ck_assert(!nvmf_spin_begin(&off, 0));
	ck_assert(!nvmf_spin_begin(&on, 2));
	ck_assert(!nvmf_spin_begin(&on, 32));
	ck_assert(nvmf_spin_begin(&on, 0));
	nvmf_spin_end(&on, true);
	ck_assert(nvmf_spin_begin(&on, 1));
	nvmf_spin_end(&on, true);
	ck_assert(nvmf_spin_begin(&on, 1));
}
END_TEST

/* How many of @n QD 1 chances spin, every window a miss. */
static int spins_of(struct nvmf_spin *s, int n)
{
	int spun = 0;

	for (int i = 0; i < n; i++) {
		if (nvmf_spin_begin(s, 1)) {
			spun++;
			nvmf_spin_end(s, false);
		}
	}
	return spun;
}

START_TEST(test_backoff)
{
	struct nvmf_spin s = { .window_us = 1000 };

	/* Misses in a row: skip 1, 3, 7, 15, 31, then 63 chances each time. */
	ck_assert(nvmf_spin_begin(&s, 1));
	nvmf_spin_end(&s, false);
	ck_assert_uint_eq(s.skip, 1);
	ck_assert(!nvmf_spin_begin(&s, 1));
	ck_assert(nvmf_spin_begin(&s, 1));
	nvmf_spin_end(&s, false);
	ck_assert_uint_eq(s.skip, 3);
	for (int i = 0; i < 3; i++)
		ck_assert(!nvmf_spin_begin(&s, 1));
	ck_assert(nvmf_spin_begin(&s, 1));
	nvmf_spin_end(&s, false);
	ck_assert_uint_eq(s.skip, 7);
	/* A chance at another depth is not one that counts. */
	ck_assert(!nvmf_spin_begin(&s, 4));
	ck_assert_uint_eq(s.skip, 7);

	/* A target always slower than the window: at most 1 window in 64 I/Os. */
	s = (struct nvmf_spin){ .window_us = 1000 };
	spins_of(&s, 1000);
	ck_assert_uint_eq(s.misses, NVMF_SPIN_MAX_BACKOFF);
	while (!nvmf_spin_begin(&s, 1))
		;
	nvmf_spin_end(&s, false);
	ck_assert_uint_eq(s.skip, 63);
	ck_assert_int_eq(spins_of(&s, 64 * 100), 100);

	/* One hit ends the back-off: the next chance spins again. */
	while (!nvmf_spin_begin(&s, 1))
		;
	nvmf_spin_end(&s, true);
	ck_assert_uint_eq(s.misses, 0);
	ck_assert_uint_eq(s.skip, 0);
	ck_assert(nvmf_spin_begin(&s, 1));
}
END_TEST

START_TEST(test_counters)
{
	struct nvmf_spin s = { .window_us = 100 };
	int spun = 0;

	/* Windows that hit and miss by turns: a miss lets one chance pass. */
	for (int i = 0; i < 10; i++) {
		if (nvmf_spin_begin(&s, 1))
			nvmf_spin_end(&s, spun++ % 2 == 0);
	}
	/* chances: hit, miss, (pass), hit, miss, (pass), hit, miss, (pass), hit */
	ck_assert_uint_eq(s.spins, 7);
	ck_assert_uint_eq(s.hits, 4);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("spin");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_parse);
	tcase_add_test(tc, test_off_and_depth);
	tcase_add_test(tc, test_backoff);
	tcase_add_test(tc, test_counters);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
