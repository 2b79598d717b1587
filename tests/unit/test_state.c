/* SPDX-License-Identifier: MIT */
/*
 * Run-dir records for recovery after a daemon died (daemon/state.h):
 * round trips, hostile records, the "same namespace?" verdict and its one
 * line, and the files in a run dir of our own.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/state.h"

static struct state_disk sample(void)
{
	struct state_disk s;

	memset(&s, 0, sizeof(s));
	s.dev_id = 7;
	strcpy(s.owner, "nvme1003");
	strcpy(s.subnqn, "nqn.2024-01.io.nvmfuse:state");
	s.ns.nsid = 2;
	s.ns.nsze = 65536;
	s.ns.lba_size = 4096;
	for (int i = 0; i < 16; i++) {
		s.ns.uuid[i] = (uint8_t)(0xa0 + i);
		s.ns.nguid[i] = (uint8_t)i;
	}
	s.ns.eui64[7] = 0x42;
	return s;
}

START_TEST(test_round_trip)
{
	struct state_disk s = sample(), back;
	char err[200], *text = state_disk_format(&s);

	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(state_disk_parse(text, &back, err, sizeof(err)), 0);
	ck_assert_uint_eq(back.dev_id, 7);
	ck_assert_str_eq(back.owner, "nvme1003");
	ck_assert_str_eq(back.subnqn, s.subnqn);
	ck_assert_uint_eq(back.ns.nsid, 2);
	ck_assert_uint_eq(back.ns.nsze, 65536);
	ck_assert_uint_eq(back.ns.lba_size, 4096);
	ck_assert_mem_eq(back.ns.uuid, s.ns.uuid, 16);
	ck_assert_mem_eq(back.ns.nguid, s.ns.nguid, 16);
	ck_assert_mem_eq(back.ns.eui64, s.ns.eui64, 8);
	ck_assert(state_ns_same(&s.ns, &back.ns, err, sizeof(err)));
	free(text);
}
END_TEST

/* Replace the first @from in the sample's JSON by @to and parse that. */
static int parse_edited(const char *from, const char *to, char *err, size_t errlen)
{
	struct state_disk s = sample(), back;
	char *text = state_disk_format(&s), buf[2048], *at;
	int rc;

	ck_assert_ptr_nonnull(text);
	at = strstr(text, from);
	ck_assert_msg(at != NULL, "'%s' not in %s", from, text);
	snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
	free(text);
	rc = state_disk_parse(buf, &back, err, errlen);
	return rc;
}

START_TEST(test_hostile)
{
	static const struct {
		const char *from, *to, *why;
	} cases[] = {
		{ "\"version\":1", "\"version\":2", "version" },
		{ "\"version\":1", "\"version\":\"1\"", "'version'" },
		{ "\"dev_id\":7", "\"dev_id\":1048576", "'dev_id' is out of range" },
		{ "\"dev_id\":7", "\"dev_id\":-1", "'dev_id' is out of range" },
		{ "\"nsid\":2", "\"nsid\":0", "'nsid' is 0" },
		{ "\"nsid\":2", "\"nsid\":4294967295", "'nsid' is out of range" },
		{ "\"nsze\":65536", "\"nsze\":1.5", "'nsze'" },
		{ "\"lba_size\":4096", "\"lba_size\":131072", "'lba_size' is out of range" },
		{ "\"owner\":\"nvme1003\"", "\"owner\":\"nvme/../x\"", "daemon name" },
		{ "\"owner\":\"nvme1003\"", "\"owner\":\"nvme\\u0000x\"", "NUL" },
		{ "\"owner\":\"nvme1003\"", "\"owner\":\"\"", "'owner'" },
		{ "\"owner\":\"nvme1003\"", "\"owner\":\"nvme100000000000000000000000000000000\"",
		  "too long" },
		{ "\"uuid\":\"a0", "\"uuid\":\"g0", "'uuid' is not 32 hex digits" },
		{ "\"eui64\":\"00", "\"eui64\":\"", "'eui64'" },
		{ "\"nguid\":", "\"nguidx\":", "'nguid' is missing" },
		{ "{", "[{", "not a JSON object" },
	};
	char err[200];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = 0;
		ck_assert_msg(parse_edited(cases[i].from, cases[i].to, err, sizeof(err)) == -EINVAL,
			      "case %zu (%s) parsed", i, cases[i].to);
		ck_assert_msg(strstr(err, cases[i].why) != NULL, "case %zu: '%s' lacks '%s'", i, err,
			      cases[i].why);
	}
	ck_assert_int_eq(state_disk_parse("", &(struct state_disk){ 0 }, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(state_disk_parse("{\"version\":1}", &(struct state_disk){ 0 }, err,
					  sizeof(err)), -EINVAL);
}
END_TEST

START_TEST(test_same_namespace)
{
	struct state_disk s = sample();
	struct nvmf_ns now = s.ns;
	char why[300];

	now.instance = 99;	/* not part of the identity */
	memset(&now.id, 0xff, sizeof(now.id));
	ck_assert(state_ns_same(&s.ns, &now, why, sizeof(why)));

	now = s.ns;
	now.nsze = 81920;
	ck_assert(!state_ns_same(&s.ns, &now, why, sizeof(why)));
	ck_assert_msg(strstr(why, "size: namespace 2 is now 81920 blocks of 4096 bytes, the disk "
			      "was 65536 blocks of 4096 bytes"), "%s", why);

	now = s.ns;
	now.lba_size = 512;
	ck_assert(!state_ns_same(&s.ns, &now, why, sizeof(why)));
	ck_assert_msg(!strncmp(why, "size:", 5), "%s", why);

	now = s.ns;
	now.uuid[3] ^= 1;
	ck_assert(!state_ns_same(&s.ns, &now, why, sizeof(why)));
	ck_assert_msg(strstr(why, "identity: namespace UUID is a0a1a2a2"), "%s", why);
	ck_assert_msg(strstr(why, "the disk's was a0a1a2a3"), "%s", why);

	now = s.ns;
	memset(now.nguid, 0, 16);
	ck_assert(!state_ns_same(&s.ns, &now, why, sizeof(why)));
	ck_assert_msg(strstr(why, "identity: namespace NGUID is none"), "%s", why);

	now = s.ns;
	now.eui64[0] = 1;
	ck_assert(!state_ns_same(&s.ns, &now, why, sizeof(why)));
	ck_assert_msg(strstr(why, "EUI-64"), "%s", why);

	now = s.ns;
	now.ms = 8;
	ck_assert(!state_ns_same(&s.ns, &now, why, sizeof(why)));
	ck_assert_msg(strstr(why, "format:"), "%s", why);
}
END_TEST

static char rundir[64];

static void rundir_setup(void)
{
	strcpy(rundir, "/tmp/nvmfuse-test-state.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(rundir));
	setenv("NVMFUSE_RUNDIR", rundir, 1);
}

static void rundir_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", rundir);
	ck_assert_int_eq(system(cmd), 0);
}

static void put_file(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", rundir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

START_TEST(test_disk_files)
{
	struct state_disk s = sample(), *v;
	char path[256], *text;
	int n, lock, lock2;

	ck_assert_int_eq(state_disk_save(&s), 0);
	/* Garbage and a record under another device's name are skipped, and kept. */
	put_file("ublk8.json", "not json");
	text = state_disk_format(&s);
	put_file("ublk9.json", text);
	free(text);
	put_file("ublk10.txt", "ignored");
	ck_assert_int_eq(state_disks_load(&v, &n), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_uint_eq(v[0].dev_id, 7);
	ck_assert_str_eq(v[0].owner, "nvme1003");
	free(v);
	snprintf(path, sizeof(path), "%s/ublk8.json", rundir);
	ck_assert_int_eq(access(path, F_OK), 0);

	/* One taker at a time; the lock goes with the record. */
	lock = state_disk_lock(7);
	ck_assert_int_ge(lock, 0);
	ck_assert_int_eq(state_disk_lock(7), -EWOULDBLOCK);
	ck_assert_int_ge(lock2 = state_disk_lock(8), 0);
	close(lock2);
	close(lock);
	lock = state_disk_lock(7);
	ck_assert_int_ge(lock, 0);
	close(lock);
	snprintf(path, sizeof(path), "%s/ublk7.lock", rundir);
	ck_assert_int_eq(access(path, F_OK), 0);

	state_disk_remove(7);
	ck_assert_int_eq(access(path, F_OK), -1);
	state_disk_remove(7);	/* absent: no error */
	ck_assert_int_eq(state_disks_load(&v, &n), 0);
	ck_assert_int_eq(n, 0);
	free(v);
}
END_TEST

START_TEST(test_daemon_files)
{
	struct nvmf_ctrl_opts o = {
		.transport = "tcp", .traddr = "127.0.0.1", .subnqn = "nqn.2024-01.io.nvmfuse:x",
	};
	struct nvmf_ctrl_opts other = o;
	char name[REG_NAME_MAX];

	ck_assert_int_eq(state_daemon_find_dead(&o, name), -ENOENT);
	ck_assert_int_eq(state_daemon_save("nvme1005", &o), 0);
	/* No socket: the daemon is dead; an unset service means 4420. */
	o.trsvcid = "4420";
	ck_assert_int_eq(state_daemon_find_dead(&o, name), 0);
	ck_assert_str_eq(name, "nvme1005");
	other.traddr = "127.0.0.2";
	ck_assert_int_eq(state_daemon_find_dead(&other, name), -ENOENT);
	other = o;
	other.trsvcid = "4421";
	ck_assert_int_eq(state_daemon_find_dead(&other, name), -ENOENT);
	/* A record whose name is not its file's is not believed. */
	put_file("nvme1006.json", "{\"version\":1,\"name\":\"nvme1\",\"subnqn\":\"nqn.y\","
		 "\"transport\":\"tcp\",\"traddr\":\"127.0.0.1\",\"trsvcid\":\"4420\"}");
	other = o;
	other.subnqn = "nqn.y";
	ck_assert_int_eq(state_daemon_find_dead(&other, name), -ENOENT);
	state_daemon_remove("nvme1005");
	ck_assert_int_eq(state_daemon_find_dead(&o, name), -ENOENT);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("state");
	TCase *tc = tcase_create("records");
	TCase *files = tcase_create("files");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_hostile);
	tcase_add_test(tc, test_same_namespace);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(files, rundir_setup, rundir_teardown);
	tcase_add_test(files, test_disk_files);
	tcase_add_test(files, test_daemon_files);
	suite_add_tcase(s, files);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
