/* SPDX-License-Identifier: MIT */
/*
 * The host identity order (host/hostid.h): flags, then LIBNVME_HOSTNQN /
 * LIBNVME_HOSTID, then the files, then one kept in the run dir, then
 * generated (DMI, else random) and kept; the two parts from one source;
 * --save-identity. Files and the DMI UUID are temp files.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/hostid.h"

static char g_dir[64], g_nqn_file[128], g_id_file[128], g_dmi[128], g_keep[128];
static struct nvmf_hostid_paths g_p;

#define NQN_A "nqn.2014-08.org.nvmexpress:uuid:11111111-2222-4333-8444-555555555555"
#define ID_A "11111111-2222-4333-8444-555555555555"
#define NQN_F "nqn.2014-08.org.nvmexpress:uuid:ffffffff-0000-4000-8000-000000000001"
#define ID_F "ffffffff-0000-4000-8000-000000000001"
#define ID_E "eeeeeeee-0000-4000-8000-000000000002"

static void put(const char *path, const char *content)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(content, f);
	fclose(f);
}

static char *get(const char *path)
{
	static char buf[512];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static void setup(void)
{
	snprintf(g_dir, sizeof(g_dir), "/tmp/nvmfuse-hostid-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(g_dir));
	snprintf(g_nqn_file, sizeof(g_nqn_file), "%s/etc/hostnqn", g_dir);
	snprintf(g_id_file, sizeof(g_id_file), "%s/etc/hostid", g_dir);
	snprintf(g_dmi, sizeof(g_dmi), "%s/product_uuid", g_dir);
	snprintf(g_keep, sizeof(g_keep), "%s/run", g_dir);
	mkdir(g_keep, 0755);
	g_p = (struct nvmf_hostid_paths){ g_nqn_file, g_id_file, g_dmi, g_keep };
	unsetenv("LIBNVME_HOSTNQN");
	unsetenv("LIBNVME_HOSTID");
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* The files level: /etc/nvme/hostnqn and hostid, here under the temp dir. */
static void files(const char *nqn, const char *id)
{
	char d[160];

	snprintf(d, sizeof(d), "%s/etc", g_dir);
	mkdir(d, 0755);
	if (nqn)
		put(g_nqn_file, nqn);
	if (id)
		put(g_id_file, id);
}

static struct nvmf_hostid resolve_ok(const char *nqn_flag, const char *id_flag)
{
	struct nvmf_hostid h;
	char err[256] = "";

	ck_assert_msg(nvmf_hostid_resolve(nqn_flag, id_flag, &g_p, &h, err, sizeof(err)) == 0,
		      "%s", err);
	return h;
}

START_TEST(test_flags_first)
{
	struct nvmf_hostid h;

	files(NQN_F "\n", ID_F "\n");
	setenv("LIBNVME_HOSTNQN", "nqn.2024-01.io.env:e", 1);
	setenv("LIBNVME_HOSTID", ID_E, 1);
	h = resolve_ok(NQN_A, ID_A);
	ck_assert_str_eq(h.nqn, NQN_A);
	ck_assert_str_eq(h.id, ID_A);
	ck_assert_int_eq(h.source, NVMF_HOSTID_FLAGS);
	ck_assert_str_eq(h.origin, "--hostnqn and --hostid");
	ck_assert_uint_eq(h.id_bytes[0], 0x11);
	ck_assert_uint_eq(h.id_bytes[15], 0x55);
	nvmf_hostid_free(&h);
}
END_TEST

START_TEST(test_env_before_files)
{
	struct nvmf_hostid h;

	files(NQN_F "\n", ID_F "\n");
	setenv("LIBNVME_HOSTNQN", "nqn.2024-01.io.env:e\n", 1);
	setenv("LIBNVME_HOSTID", ID_E, 1);
	h = resolve_ok(NULL, NULL);
	ck_assert_str_eq(h.nqn, "nqn.2024-01.io.env:e");
	ck_assert_str_eq(h.id, ID_E);
	ck_assert_int_eq(h.source, NVMF_HOSTID_ENV);
	nvmf_hostid_free(&h);
	/* Set but empty is unset, as in libnvme: the files then. */
	setenv("LIBNVME_HOSTNQN", "", 1);
	unsetenv("LIBNVME_HOSTID");
	h = resolve_ok(NULL, NULL);
	ck_assert_str_eq(h.nqn, NQN_F);
	ck_assert_str_eq(h.id, ID_F);
	ck_assert_int_eq(h.source, NVMF_HOSTID_FILES);
	ck_assert_ptr_nonnull(strstr(h.origin, "/etc/hostnqn and "));
	nvmf_hostid_free(&h);
}
END_TEST

START_TEST(test_parts_from_one_source)
{
	struct nvmf_hostid h, h2, h3;

	/* A flag NQN never takes the env's or the file's host ID. */
	files(NQN_F, ID_F);
	setenv("LIBNVME_HOSTID", ID_E, 1);
	h = resolve_ok("nqn.2024-01.io.pod:a", NULL);
	ck_assert_str_ne(h.id, ID_E);
	ck_assert_str_ne(h.id, ID_F);
	ck_assert_str_eq(h.origin, "--hostnqn");
	/* Derived: stable for the NQN, different for another, a version 5 UUID. */
	h2 = resolve_ok("nqn.2024-01.io.pod:a", NULL);
	h3 = resolve_ok("nqn.2024-01.io.pod:b", NULL);
	ck_assert_str_eq(h.id, h2.id);
	ck_assert_str_ne(h.id, h3.id);
	ck_assert_int_eq(h.id[14], '5');
	nvmf_hostid_free(&h);
	nvmf_hostid_free(&h2);
	nvmf_hostid_free(&h3);
	/* A uuid-style NQN gives its UUID. */
	h = resolve_ok(NQN_A, NULL);
	ck_assert_str_eq(h.id, ID_A);
	nvmf_hostid_free(&h);
	/* An ID alone gives the uuid-style NQN, not the env's or the file's NQN. */
	setenv("LIBNVME_HOSTNQN", "nqn.2024-01.io.env:e", 1);
	h = resolve_ok(NULL, ID_A);
	ck_assert_str_eq(h.nqn, NQN_A);
	nvmf_hostid_free(&h);
	/* The env's ID alone: the same. */
	unsetenv("LIBNVME_HOSTNQN");
	h = resolve_ok(NULL, NULL);
	ck_assert_str_eq(h.nqn, "nqn.2014-08.org.nvmexpress:uuid:" ID_E);
	ck_assert_int_eq(h.source, NVMF_HOSTID_ENV);
	nvmf_hostid_free(&h);
	/* The files: a hostnqn file alone. */
	unsetenv("LIBNVME_HOSTID");
	unlink(g_id_file);
	h = resolve_ok(NULL, NULL);
	ck_assert_str_eq(h.nqn, NQN_F);
	ck_assert_str_eq(h.id, ID_F);
	nvmf_hostid_free(&h);
}
END_TEST

START_TEST(test_bad_values_name_their_source)
{
	struct nvmf_hostid h;
	char err[256];

	setenv("LIBNVME_HOSTID", "not-a-uuid", 1);
	ck_assert_int_eq(nvmf_hostid_resolve(NULL, NULL, &g_p, &h, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "host ID 'not-a-uuid' from LIBNVME_HOSTID is not a UUID");
	unsetenv("LIBNVME_HOSTID");
	files(NULL, "1234\n");
	ck_assert_int_eq(nvmf_hostid_resolve(NULL, NULL, &g_p, &h, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "from /tmp/"));
	ck_assert_int_eq(nvmf_hostid_resolve(NULL, "x", &g_p, &h, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "from --hostid"));
	ck_assert_int_eq(nvmf_hostid_resolve("", NULL, &g_p, &h, err, sizeof(err)), -EINVAL);
	{
		char longnqn[300];

		memset(longnqn, 'x', sizeof(longnqn) - 1);
		longnqn[sizeof(longnqn) - 1] = 0;
		ck_assert_int_eq(nvmf_hostid_resolve(longnqn, NULL, &g_p, &h, err, sizeof(err)),
				 -EINVAL);
		ck_assert_ptr_nonnull(strstr(err, "longer than 223"));
	}
}
END_TEST

START_TEST(test_generated_once_and_kept)
{
	struct nvmf_hostid h, again;
	char path[200];

	/* Nothing, no DMI: random, kept in the run dir. */
	h = resolve_ok(NULL, NULL);
	ck_assert_int_eq(h.source, NVMF_HOSTID_GENERATED);
	ck_assert_str_eq(h.origin, "/dev/urandom");
	ck_assert(h.kept);
	/* RFC 4122 version 4, variant 10b, lower-case 8-4-4-4-12 (libnvme's generator and text). */
	ck_assert_int_eq(h.id[14], '4');
	ck_assert_ptr_nonnull(strchr("89ab", h.id[19]));
	ck_assert_uint_eq(strspn(h.id, "0123456789abcdef-"), 36);
	ck_assert_ptr_nonnull(strstr(h.nqn, h.id));
	/* The next command of the run dir gets the same one, and knows it was kept. */
	again = resolve_ok(NULL, NULL);
	ck_assert_int_eq(again.source, NVMF_HOSTID_KEPT);
	ck_assert_str_eq(again.nqn, h.nqn);
	ck_assert_str_eq(again.id, h.id);
	snprintf(path, sizeof(path), "%s/identity", g_keep);
	ck_assert_str_eq(again.origin, path);
	nvmf_hostid_free(&again);
	/* Files, once written, come first. */
	files(NQN_F, NULL);
	again = resolve_ok(NULL, NULL);
	ck_assert_int_eq(again.source, NVMF_HOSTID_FILES);
	nvmf_hostid_free(&again);
	nvmf_hostid_free(&h);
	/* Not kept anywhere when there is no keep dir: a new one each time. */
	unlink(g_nqn_file);
	g_p.keep_dir = NULL;
	h = resolve_ok(NULL, NULL);
	again = resolve_ok(NULL, NULL);
	ck_assert(!h.kept);
	ck_assert_str_ne(h.nqn, again.nqn);
	nvmf_hostid_free(&h);
	nvmf_hostid_free(&again);
	/* A damaged kept file is named, not silently replaced. */
	g_p.keep_dir = g_keep;
	put(path, "only one line\n");
	ck_assert_int_eq(nvmf_hostid_resolve(NULL, NULL, &g_p, &h, path, sizeof(path)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(path, "identity is damaged"));
}
END_TEST

START_TEST(test_generated_from_dmi)
{
	struct nvmf_hostid h;

	put(g_dmi, "C0FFEE00-1111-2222-3333-444455556666\n");
	h = resolve_ok(NULL, NULL);
	ck_assert_int_eq(h.source, NVMF_HOSTID_GENERATED);
	ck_assert_str_eq(h.origin, "the DMI product UUID");
	ck_assert_str_eq(h.nqn, "nqn.2014-08.org.nvmexpress:uuid:c0ffee00-1111-2222-3333-444455556666");
	ck_assert_str_eq(h.id, "c0ffee00-1111-2222-3333-444455556666");
	nvmf_hostid_free(&h);
	/* The all-zero UUID of a VM without one is not an identity: random. */
	put(g_dmi, "00000000-0000-0000-0000-000000000000\n");
	unlink(strcat(strcpy((char[160]){ 0 }, g_keep), "/identity"));
	h = resolve_ok(NULL, NULL);
	ck_assert_str_eq(h.origin, "/dev/urandom");
	nvmf_hostid_free(&h);
}
END_TEST

START_TEST(test_save_identity)
{
	struct nvmf_hostid h = resolve_ok("nqn.2024-01.io.pod:a", NULL), other;
	char err[512] = "";
	struct stat st;

	/* Written (the directory created), then read back as the files. */
	ck_assert_msg(nvmf_hostid_save(&h, &g_p, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(get(g_nqn_file), "nqn.2024-01.io.pod:a\n");
	ck_assert_str_eq(get(g_id_file), strcat(strcpy((char[64]){ 0 }, h.id), "\n"));
	ck_assert_int_eq(stat(g_nqn_file, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0644);
	other = resolve_ok(NULL, NULL);
	ck_assert_int_eq(other.source, NVMF_HOSTID_FILES);
	ck_assert_str_eq(other.nqn, h.nqn);
	ck_assert_str_eq(other.id, h.id);
	/* Saving the same again changes nothing. */
	ck_assert_int_eq(nvmf_hostid_save(&other, &g_p, err, sizeof(err)), 0);
	nvmf_hostid_free(&other);
	/* Another identity does not replace it, and neither file is touched. */
	other = resolve_ok("nqn.2024-01.io.pod:b", NULL);
	ck_assert_int_eq(nvmf_hostid_save(&other, &g_p, err, sizeof(err)), -EEXIST);
	ck_assert_ptr_nonnull(strstr(err, "already holds nqn.2024-01.io.pod:a, not "
				     "nqn.2024-01.io.pod:b: remove it to replace it"));
	ck_assert_str_eq(get(g_nqn_file), "nqn.2024-01.io.pod:a\n");
	ck_assert_str_eq(get(g_id_file), strcat(strcpy((char[64]){ 0 }, h.id), "\n"));
	nvmf_hostid_free(&other);
	nvmf_hostid_free(&h);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("hostid");
	TCase *tc = tcase_create("order");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_flags_first);
	tcase_add_test(tc, test_env_before_files);
	tcase_add_test(tc, test_parts_from_one_source);
	tcase_add_test(tc, test_bad_values_name_their_source);
	tcase_add_test(tc, test_generated_once_and_kept);
	tcase_add_test(tc, test_generated_from_dmi);
	tcase_add_test(tc, test_save_identity);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
