/* SPDX-License-Identifier: MIT */
/*
 * base/secret.c: memory for key material is zeroed, usable, marked
 * VM_DONTDUMP (the kernel's own account in /proc/self/smaps), and gone
 * after it is freed; ordinary heap memory is not so marked (the check can
 * fail).
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/secret.h"
#include "dontdump.h"

START_TEST(test_secret_alloc)
{
	static const size_t sizes[] = { 1, 48, 4096 - 16, 4096, 70000 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint8_t *p = nvmf_secret_alloc(sizes[i]);

		ck_assert_ptr_nonnull(p);
		ck_assert_uint_eq((uintptr_t)p % 16, 0);
		for (size_t k = 0; k < sizes[i]; k++)
			ck_assert_msg(p[k] == 0, "byte %zu of %zu not zeroed", k, sizes[i]);
		memset(p, 0xa5, sizes[i]);
		ck_assert_int_eq(dontdump_of(p), 1);
		ck_assert_int_eq(dontdump_of(p + sizes[i] - 1), 1);
		nvmf_secret_free(p);
		ck_assert_int_eq(dontdump_of(p), -1);	/* unmapped */
	}
	nvmf_secret_free(NULL);
}
END_TEST

START_TEST(test_secret_strdup)
{
	const char *key = "NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:";
	char *heap = strdup(key), *s = nvmf_secret_strdup(key);

	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, key);
	ck_assert_int_eq(dontdump_of(s), 1);
	/* The oracle is not blind: malloc'd memory is dumped. */
	ck_assert_int_eq(dontdump_of(heap), 0);
	nvmf_secret_free(s);
	free(heap);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("secret");
	TCase *tc = tcase_create("secret");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_secret_alloc);
	tcase_add_test(tc, test_secret_strdup);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
