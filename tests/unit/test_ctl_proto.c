/* SPDX-License-Identifier: MIT */
/*
 * The control protocol (daemon/ctl_proto.h): requests and replies built and
 * checked, hostile input refused with the cause; and both ends of the
 * registry socket (daemon/registry.h) against a client or daemon that sends
 * garbage, nothing, too much, or another protocol version; and a real
 * daemon (the built nvmfuse) that answers while its target never does.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "daemon/ctl_proto.h"
#include "daemon/registry.h"

/* ------------------------------------------------------------ requests */

START_TEST(test_request_round_trip)
{
	static const struct nvmf_ctl_request cases[] = {
		{ .op = NVMF_CTL_INFO },
		{ .op = NVMF_CTL_DISCONNECT, .force = false },
		{ .op = NVMF_CTL_DISCONNECT, .force = true },
		{ .op = NVMF_CTL_DISCONNECT, .keep_disks = true },
		{ .op = NVMF_CTL_ADD_PATH, .transport = "tcp", .traddr = "10.0.0.2",
		  .trsvcid = "4421", .tos = -1 },
		{ .op = NVMF_CTL_ADD_PATH, .transport = "tcp", .traddr = "10.0.0.2",
		  .trsvcid = "4421", .host_traddr = "10.0.0.100", .host_iface = "eth1", .tos = 184 },
		{ .op = NVMF_CTL_ADD_PATH, .transport = "rdma", .traddr = "fe80::1",
		  .trsvcid = "4420", .iopolicy = "round-robin", .tos = 0 },
		{ .op = NVMF_CTL_REMOVE_PATH, .path = 0 },
		{ .op = NVMF_CTL_REMOVE_PATH, .path = 7 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct nvmf_ctl_request back = { .op = 99, .force = !cases[i].force,
						 .keep_disks = !cases[i].keep_disks };
		char *line, err[256] = "";

		ck_assert_int_eq(nvmf_ctl_request_build(&cases[i], &line), 0);
		ck_assert_ptr_nonnull(strstr(line, "\"version\":1"));
		ck_assert_int_eq(line[strlen(line) - 1], '\n');
		ck_assert_ptr_null(memchr(line, '\n', strlen(line) - 1));	/* one line */
		ck_assert_int_eq(nvmf_ctl_request_parse(line, strlen(line), &back, err,
							sizeof(err)), 0);
		ck_assert_int_eq(back.op, cases[i].op);
		ck_assert_int_eq(back.force, cases[i].force);
		ck_assert_int_eq(back.keep_disks, cases[i].keep_disks);
		ck_assert_str_eq(back.transport, cases[i].transport);
		ck_assert_str_eq(back.traddr, cases[i].traddr);
		ck_assert_str_eq(back.trsvcid, cases[i].trsvcid);
		ck_assert_str_eq(back.iopolicy, cases[i].iopolicy);
		ck_assert_str_eq(back.host_traddr, cases[i].host_traddr);
		ck_assert_str_eq(back.host_iface, cases[i].host_iface);
		if (cases[i].op == NVMF_CTL_ADD_PATH)
			ck_assert_int_eq(back.tos, cases[i].tos);
		ck_assert_int_eq(back.path, cases[i].path);
		/* keep_disks goes out only when set: plain requests stay as they were. */
		ck_assert_int_eq(strstr(line, "keep_disks") != NULL, cases[i].keep_disks);
		free(line);
	}
	ck_assert_str_eq(nvmf_ctl_op_str(NVMF_CTL_INFO), "info");
	ck_assert_ptr_null(nvmf_ctl_op_str((enum nvmf_ctl_op)7));
	{
		struct nvmf_ctl_request bad = { .op = (enum nvmf_ctl_op)7 };
		char *line;

		ck_assert_int_eq(nvmf_ctl_request_build(&bad, &line), -EINVAL);
	}
}
END_TEST

static const struct bad_request {
	const char *in;
	size_t len;		/* 0: strlen(in) */
	int rc;
	const char *err;	/* a part of the message */
} bad_requests[] = {
	{ "", 0, -EBADMSG, "empty request" },
	{ "info\n", 0, -EBADMSG, "not JSON" },
	{ "disconnect force\n", 0, -EBADMSG, "not JSON" },
	{ "[1,2]", 0, -EBADMSG, "not an object" },
	{ "\"info\"", 0, -EBADMSG, "not an object" },
	{ "{\"version\":1,\"op\":\"info\"", 0, -EBADMSG, "ends in the middle" },
	{ "{\"version\":1,\"op\":\"info\"} {}", 0, -EBADMSG, "at byte 26" },
	{ "{\"version\":1,\"op\":\"info\"}\nx", 0, -EBADMSG, "at byte 26" },
	{ "{'version':1,'op':'info'}", 0, -EBADMSG, "not JSON" },
	{ "{\"version\":1,\"op\":\"info\",}", 0, -EBADMSG, "not JSON" },
	{ "{\"version\":1,\"op\":\"in\0fo\"}", 26, -EBADMSG, "NUL byte" },
	{ "{\"version\":1,\"op\":\"\xff\xfe\"}", 0, -EBADMSG, "not JSON" },
	{ "{\"version\":1,\"op\":\"info\",\"x\":[[[[[[[[[[[[1]]]]]]]]]]]]}", 0, -EBADMSG,
	  "not JSON" },
	{ "{\"op\":\"info\"}", 0, -EPROTO, "no protocol version" },
	{ "{\"version\":2,\"op\":\"info\"}", 0, -EPROTO, "version 2, this nvmfuse speaks version 1" },
	{ "{\"version\":0,\"op\":\"info\"}", 0, -EPROTO, "version 0" },
	{ "{\"version\":-1,\"op\":\"info\"}", 0, -EPROTO, "version -1" },
	{ "{\"version\":\"1\",\"op\":\"info\"}", 0, -EPROTO, "not a whole number" },
	{ "{\"version\":1.0,\"op\":\"info\"}", 0, -EPROTO, "not a whole number" },
	{ "{\"version\":null,\"op\":\"info\"}", 0, -EPROTO, "not a whole number" },
	{ "{\"version\":99999999999999999999,\"op\":\"info\"}", 0, -EPROTO, "version" },
	{ "{\"version\":1}", 0, -EINVAL, "no \"op\"" },
	{ "{\"version\":1,\"op\":7}", 0, -EINVAL, "no \"op\"" },
	{ "{\"version\":1,\"op\":\"reboot\"}", 0, -EOPNOTSUPP, "unknown op \"reboot\"" },
	{ "{\"version\":1,\"op\":\"INFO\"}", 0, -EOPNOTSUPP, "unknown op" },
	{ "{\"version\":1,\"op\":\"info\\u0000x\"}", 0, -EOPNOTSUPP, "unknown op" },
	{ "{\"version\":1,\"op\":\"info\",\"force\":true}", 0, -EINVAL,
	  "unknown member \"force\" in a info request" },
	{ "{\"version\":1,\"op\":\"disconnect\",\"force\":1}", 0, -EINVAL, "not true or false" },
	{ "{\"version\":1,\"op\":\"disconnect\",\"keep_disks\":\"yes\"}", 0, -EINVAL,
	  "\"keep_disks\" is not true or false" },
	{ "{\"version\":1,\"op\":\"disconnect\",\"force\":true,\"keep_disks\":true}", 0,
	  -EINVAL, "either deleted or kept" },
	{ "{\"version\":1,\"op\":\"info\",\"keep_disks\":false}", 0, -EINVAL,
	  "unknown member \"keep_disks\" in a info request" },
	{ "{\"version\":1,\"op\":\"disconnect\",\"force\":\"yes\"}", 0, -EINVAL,
	  "not true or false" },
	{ "{\"version\":1,\"op\":\"disconnect\",\"pid\":1}", 0, -EINVAL, "unknown member \"pid\"" },
	/* Found by fuzz_ctl_proto: the peer's names are quoted on one line. */
	{ "{\"version\":1,\"op\":\"disconnect\",\"\nce\":false}", 0, -EINVAL,
	  "unknown member \"?ce\"" },
	{ "{\"version\":1,\"op\":\"x\\ny\\u001b\"}", 0, -EOPNOTSUPP, "unknown op \"x?y?\"" },
	/* Paths: every member checked, nothing defaulted. */
	{ "{\"version\":1,\"op\":\"add_path\",\"transport\":\"tcp\",\"traddr\":\"a\"}", 0,
	  -EINVAL, "needs \"transport\", \"traddr\" and \"trsvcid\"" },
	{ "{\"version\":1,\"op\":\"add_path\",\"transport\":\"tcp\",\"traddr\":\"a\","
	  "\"trsvcid\":4421}", 0, -EINVAL, "\"trsvcid\" is not a string" },
	{ "{\"version\":1,\"op\":\"add_path\",\"transport\":\"tcp\",\"traddr\":\"a\\nb\","
	  "\"trsvcid\":\"1\"}", 0, -EINVAL, "control character" },
	{ "{\"version\":1,\"op\":\"add_path\",\"transport\":\"tcp-and-then-some-more\","
	  "\"traddr\":\"a\",\"trsvcid\":\"1\"}", 0, -EINVAL, "1 to 15 bytes" },
	{ "{\"version\":1,\"op\":\"add_path\",\"transport\":\"\",\"traddr\":\"a\","
	  "\"trsvcid\":\"1\"}", 0, -EINVAL, "1 to 15 bytes" },
	{ "{\"version\":1,\"op\":\"add_path\",\"transport\":\"tcp\",\"traddr\":\"a\","
	  "\"trsvcid\":\"1\",\"force\":true}", 0, -EINVAL, "unknown member \"force\"" },
	{ "{\"version\":1,\"op\":\"add_path\",\"transport\":\"tcp\",\"traddr\":\"a\","
	  "\"trsvcid\":\"1\",\"tos\":256}", 0, -EINVAL, "\"tos\" is not a number from -1 to 255" },
	{ "{\"version\":1,\"op\":\"add_path\",\"transport\":\"tcp\",\"traddr\":\"a\","
	  "\"trsvcid\":\"1\",\"host_iface\":\"an-interface-name-too-long\"}", 0, -EINVAL,
	  "host_iface" },
	{ "{\"version\":1,\"op\":\"info\",\"tos\":1}", 0, -EINVAL, "unknown member \"tos\"" },
	{ "{\"version\":1,\"op\":\"remove_path\"}", 0, -EINVAL, "needs \"path\"" },
	{ "{\"version\":1,\"op\":\"remove_path\",\"path\":8}", 0, -EINVAL, "from 0 to 7" },
	{ "{\"version\":1,\"op\":\"remove_path\",\"path\":-1}", 0, -EINVAL, "from 0 to 7" },
	{ "{\"version\":1,\"op\":\"remove_path\",\"path\":\"1\"}", 0, -EINVAL, "from 0 to 7" },
	{ "{\"version\":1,\"op\":\"info\",\"path\":1}", 0, -EINVAL, "unknown member \"path\"" },
};

START_TEST(test_request_refused_with_the_cause)
{
	const struct bad_request *b = &bad_requests[_i];
	struct nvmf_ctl_request r = { .force = true };
	char err[256] = "";
	size_t len = b->len ? b->len : strlen(b->in);

	ck_assert_msg(nvmf_ctl_request_parse(b->in, len, &r, err, sizeof(err)) == b->rc,
		      "'%s': rc %d, expected %d (%s)", b->in,
		      nvmf_ctl_request_parse(b->in, len, &r, err, sizeof(err)), b->rc, err);
	ck_assert_msg(strstr(err, b->err), "'%s': error '%s' does not say '%s'", b->in, err,
		      b->err);
	ck_assert_int_eq(r.force, false);	/* nothing half-filled */
}
END_TEST

START_TEST(test_request_limits)
{
	char *big = malloc(NVMF_CTL_REQUEST_MAX + 2), err[256] = "";
	struct nvmf_ctl_request r;
	const char *ok = "{\"version\":1,\"op\":\"info\"}";
	size_t n = strlen(ok);

	/* Exactly the maximum, whitespace after the object: accepted. */
	memcpy(big, ok, n);
	memset(big + n, ' ', NVMF_CTL_REQUEST_MAX - n - 1);
	big[NVMF_CTL_REQUEST_MAX - 1] = '\n';
	ck_assert_int_eq(nvmf_ctl_request_parse(big, NVMF_CTL_REQUEST_MAX, &r, err, sizeof(err)),
			 0);
	/* One byte more: refused before parsing. */
	big[NVMF_CTL_REQUEST_MAX] = '\n';
	ck_assert_int_eq(nvmf_ctl_request_parse(big, NVMF_CTL_REQUEST_MAX + 1, &r, err,
						sizeof(err)), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(err, "longer than 4096"));
	free(big);
	/* A long op name is cut in the message. */
	{
		char in[600];

		snprintf(in, sizeof(in), "{\"version\":1,\"op\":\"%0500d\"}", 7);
		ck_assert_int_eq(nvmf_ctl_request_parse(in, strlen(in), &r, err, sizeof(err)),
				 -EOPNOTSUPP);
		ck_assert_uint_lt(strlen(err), 100);
		ck_assert_ptr_nonnull(strstr(err, "...\""));
	}
}
END_TEST

/* ------------------------------------------------------------- replies */

START_TEST(test_reply_ok)
{
	struct json_object *r = nvmf_ctl_reply_ok(), *back, *v;
	char *line, err[256] = "";

	json_object_object_add(r, "pid", json_object_new_int(4242));
	ck_assert_int_eq(nvmf_ctl_reply_build(r, &line), 0);
	ck_assert_str_eq(line, "{\"version\":1,\"ok\":true,\"pid\":4242}\n");
	ck_assert_int_eq(nvmf_ctl_reply_parse(line, strlen(line), &back, err, sizeof(err)), 0);
	ck_assert(json_object_object_get_ex(back, "pid", &v));
	ck_assert_int_eq(json_object_get_int(v), 4242);
	json_object_put(back);
	free(line);
}
END_TEST

START_TEST(test_reply_error)
{
	struct json_object *back = (void *)1;
	char *line, err[256] = "";

	ck_assert_int_eq(nvmf_ctl_reply_build(nvmf_ctl_reply_error("/dev/ublkb0 is mounted\n"
								   "really"), &line), 0);
	ck_assert_int_eq(nvmf_ctl_reply_parse(line, strlen(line), &back, err, sizeof(err)),
			 -EREMOTEIO);
	ck_assert_ptr_null(back);
	ck_assert_str_eq(err, "/dev/ublkb0 is mounted really");	/* one line */
	free(line);
}
END_TEST

static const struct bad_request bad_replies[] = {
	/* What a daemon of the text protocol answers to a JSON request. */
	{ "error unknown request '{\"version\":1,\"op\":\"info\"}'\n", 0, -EBADMSG,
	  "the daemon speaks another control protocol (reply is not JSON" },
	{ "ok 1234\n", 0, -EBADMSG, "another control protocol" },
	{ "", 0, -EBADMSG, "empty reply" },
	{ "{\"version\":2,\"ok\":true}\n", 0, -EPROTO,
	  "the daemon speaks control protocol version 2, this nvmfuse speaks version 1" },
	{ "{\"ok\":true}\n", 0, -EPROTO, "the daemon has no protocol version" },
	{ "{\"name\":\"nvme1000\",\"subnqn\":\"x\"}\n", 0, -EPROTO, "no protocol version" },
	{ "{\"version\":1}\n", 0, -EBADMSG, "no \"ok\"" },
	{ "{\"version\":1,\"ok\":1}\n", 0, -EBADMSG, "no \"ok\"" },
	{ "{\"version\":1,\"ok\":false}\n", 0, -EREMOTEIO, "without saying why" },
	{ "{\"version\":1,\"ok\":false,\"error\":3}\n", 0, -EREMOTEIO, "without saying why" },
	{ "{\"version\":1,\"ok\":false,\"error\":\"a\\u0007b\"}\n", 0, -EREMOTEIO, "a b" },
	/* Found by fuzz_ctl_proto: a NUL in the text left the message empty. */
	{ "{\"version\":1,\"ok\":false,\"error\":\"\\u0000\"}\n", 0, -EREMOTEIO,
	  "without saying why" },
	{ "{\"version\":1,\"ok\":false,\"error\":\"\\u0000is mounted\"}\n", 0, -EREMOTEIO,
	  " is mounted" },
};

START_TEST(test_reply_refused_with_the_cause)
{
	const struct bad_request *b = &bad_replies[_i];
	struct json_object *o = (void *)1;
	char err[512] = "";
	int rc = nvmf_ctl_reply_parse(b->in, strlen(b->in), &o, err, sizeof(err));

	ck_assert_msg(rc == b->rc, "'%s': rc %d, expected %d (%s)", b->in, rc, b->rc, err);
	ck_assert_msg(strstr(err, b->err), "'%s': error '%s' does not say '%s'", b->in, err,
		      b->err);
	ck_assert_ptr_null(o);
}
END_TEST

/* ------------------------------------------- both ends of the socket */

static char g_rundir[64];

static void rundir_setup(void)
{
	snprintf(g_rundir, sizeof(g_rundir), "/tmp/nvmfuse-ctl-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(g_rundir));
	setenv("NVMFUSE_RUNDIR", g_rundir, 1);
}

static void rundir_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_rundir);
	ck_assert_int_eq(system(cmd), 0);
}

/* A listening socket RUNDIR/@name.sock, as a daemon has. */
static int listen_as(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s.sock", g_rundir, name);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 4), 0);
	return fd;
}

static int connect_as_client(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s.sock", g_rundir, name);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* A fake daemon: accepts one client, reads its request, writes @answer. */
struct fake_daemon {
	pthread_t t;
	int lfd;
	const char *answer;
	char request[512];
};

static void *fake_main(void *arg)
{
	struct fake_daemon *f = arg;
	int fd = accept(f->lfd, NULL, NULL);
	ssize_t n;

	n = read(fd, f->request, sizeof(f->request) - 1);
	f->request[n > 0 ? n : 0] = 0;
	if (write(fd, f->answer, strlen(f->answer)) < 0)
		perror("fake daemon");
	close(fd);
	return NULL;
}

static int call_fake(const char *answer, struct json_object **reply, char *err, size_t errlen,
		     char *request)
{
	struct fake_daemon f = { .lfd = listen_as("nvme1000"), .answer = answer };
	struct nvmf_ctl_request rq = { .op = NVMF_CTL_INFO };
	int rc;

	pthread_create(&f.t, NULL, fake_main, &f);
	rc = reg_call("nvme1000", &rq, reply, 2000, err, errlen);
	pthread_join(f.t, NULL);
	close(f.lfd);
	unlink(strcat(strcpy((char[128]){ 0 }, g_rundir), "/nvme1000.sock"));
	if (request)
		strcpy(request, f.request);
	return rc;
}

START_TEST(test_client_against_other_versions)
{
	struct json_object *reply;
	char err[512], request[512];

	/* This protocol: the request is what the codec builds, one line. */
	ck_assert_int_eq(call_fake("{\"version\":1,\"ok\":true,\"controller\":{}}\n", &reply, err,
				   sizeof(err), request), 0);
	ck_assert_str_eq(request, "{\"version\":1,\"op\":\"info\"}\n");
	json_object_put(reply);
	/* A newer daemon. */
	ck_assert_int_eq(call_fake("{\"version\":2,\"ok\":true}\n", &reply, err, sizeof(err),
				   NULL), -EPROTO);
	ck_assert_ptr_nonnull(strstr(err, "control protocol version 2"));
	/* A daemon of the text protocol (before version 1). */
	ck_assert_int_eq(call_fake("error unknown request '{\"version\":1,\"op\":\"info\"}'\n",
				   &reply, err, sizeof(err), NULL), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(err, "another control protocol"));
	/* A daemon that closes without a word. */
	ck_assert_int_eq(call_fake("", &reply, err, sizeof(err), NULL), -EBADMSG);
	/* No daemon at all. */
	{
		struct nvmf_ctl_request rq = { .op = NVMF_CTL_INFO };

		ck_assert_int_eq(reg_call("nvme1001", &rq, &reply, 500, err, sizeof(err)),
				 -ENOENT);
	}
}
END_TEST

START_TEST(test_client_bounded_by_a_silent_daemon)
{
	int lfd = listen_as("nvme1000");	/* listens, never accepts */
	struct nvmf_ctl_request rq = { .op = NVMF_CTL_INFO };
	struct json_object *reply;
	struct timespec t0, t1;
	char err[256];

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(reg_call("nvme1000", &rq, &reply, 300, err, sizeof(err)), -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_int_lt((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000, 1000);
	ck_assert_ptr_nonnull(strstr(err, "no answer to info"));
	close(lfd);
}
END_TEST

/*
 * A daemon that exits while a client waits for its answer: it never takes
 * the request, removes its socket, then closes the listening one (the
 * order of a daemon's exit), which resets the waiting client.
 */
struct exiting_daemon {
	pthread_t t;
	int lfd;
};

static void *exiting_main(void *arg)
{
	struct exiting_daemon *e = arg;

	usleep(200 * 1000);
	unlink(strcat(strcpy((char[128]){ 0 }, g_rundir), "/nvme1000.sock"));
	close(e->lfd);
	return NULL;
}

START_TEST(test_client_daemon_went_away_while_asked)
{
	struct exiting_daemon e = { .lfd = listen_as("nvme1000") };
	struct nvmf_ctl_request rq = { .op = NVMF_CTL_INFO };
	struct json_object *reply;
	struct timespec t0, t1;
	char err[256] = "";
	int rc;

	/*
	 * No daemon any more, as if the client had come a moment later (a
	 * list during a disconnect must not fail for it), and at once.
	 */
	pthread_create(&e.t, NULL, exiting_main, &e);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = reg_call("nvme1000", &rq, &reply, 3000, err, sizeof(err));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pthread_join(e.t, NULL);
	ck_assert_msg(rc == -ENOENT || rc == -ECONNREFUSED, "rc %d: %s", rc, err);
	ck_assert_ptr_nonnull(strstr(err, "went away"));
	ck_assert_int_lt((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000, 2000);
}
END_TEST

START_TEST(test_client_daemon_hangs_up_but_stays)
{
	struct json_object *reply;
	char err[512] = "";

	/*
	 * One that hangs up without an answer and is still there is broken,
	 * not gone: that is an error (call_fake's socket outlives the call).
	 */
	ck_assert_int_eq(call_fake("", &reply, err, sizeof(err), NULL), -EBADMSG);
	ck_assert_ptr_null(strstr(err, "went away"));
}
END_TEST

/*
 * A fake daemon for the nvmfuse command: answers probes (connect, close)
 * and then one request with @answer, the way another nvmfuse's daemon would.
 */
static void *fake_loop(void *arg)
{
	struct fake_daemon *f = arg;

	for (;;) {
		int fd = accept(f->lfd, NULL, NULL);
		ssize_t n;

		if (fd < 0)
			return NULL;
		n = read(fd, f->request, sizeof(f->request) - 1);
		if (n <= 0) {		/* a probe */
			close(fd);
			continue;
		}
		f->request[n] = 0;
		if (write(fd, f->answer, strlen(f->answer)) < 0)
			perror("fake daemon");
		close(fd);
		return NULL;
	}
}

/* Start the built nvmfuse with @args (NULL-terminated); its stderr on *@err_fd. */
static pid_t spawn_nvmfuse(char *const args[], int *err_fd)
{
	const char *build = getenv("NVMF_BUILDDIR");
	char bin[512];
	int pfd[2];
	pid_t pid;

	snprintf(bin, sizeof(bin), "%s/nvmfuse", build ? build : ".");
	ck_assert_int_eq(pipe(pfd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(pfd[1], 2);
		dup2(open("/dev/null", O_WRONLY), 1);
		execv(bin, args);
		fprintf(stderr, "cannot run %s: %s\n", bin, strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	*err_fd = pfd[0];
	return pid;
}

/* Wait for spawn_nvmfuse()'s @pid; its stderr into @err. Returns its exit code. */
static int finish_nvmfuse(pid_t pid, int err_fd, char *err, size_t errlen)
{
	size_t got = 0;
	ssize_t n;
	int st;

	while (got + 1 < errlen && (n = read(err_fd, err + got, errlen - 1 - got)) > 0)
		got += (size_t)n;
	err[got] = 0;
	close(err_fd);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Run the built nvmfuse with @args (NULL-terminated); its stderr into @err. */
static int run_nvmfuse(char *const args[], char *err, size_t errlen)
{
	int fd;
	pid_t pid = spawn_nvmfuse(args, &fd);

	return finish_nvmfuse(pid, fd, err, errlen);
}

/*
 * The command against a daemon of another protocol version: one line on
 * stderr naming the daemon and both versions, exit 1; never a hang, never
 * a silent skip.
 */
START_TEST(test_command_names_another_version)
{
	static const struct {
		const char *answer;
		const char *line;
	} cases[] = {
		{ "{\"version\":2,\"ok\":true,\"controller\":{}}\n",
		  "nvme1000: the daemon speaks control protocol version 2, this nvmfuse speaks "
		  "version 1\n" },
		{ "error unknown request '{\"version\":1,\"op\":\"info\"}'\n",
		  "nvme1000: the daemon speaks another control protocol (reply is not JSON" },
	};
	char *list[] = { "nvmfuse", "list", NULL };
	char *disc[] = { "nvmfuse", "disconnect", "-d", "nvme1000", NULL };
	char *const *cmds[] = { list, disc };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (size_t c = 0; c < 2; c++) {
			struct fake_daemon f = { .lfd = listen_as("nvme1000"),
						 .answer = cases[i].answer };
			char err[1024], want[300];
			int rc;

			pthread_create(&f.t, NULL, fake_loop, &f);
			rc = run_nvmfuse(cmds[c], err, sizeof(err));
			shutdown(f.lfd, SHUT_RDWR);
			pthread_join(f.t, NULL);
			close(f.lfd);
			unlink(strcat(strcpy((char[128]){ 0 }, g_rundir), "/nvme1000.sock"));
			snprintf(want, sizeof(want), "nvmfuse %s: %s", cmds[c][1], cases[i].line);
			ck_assert_msg(rc == 1, "%s: exit %d: %s", cmds[c][1], rc, err);
			ck_assert_msg(!strncmp(err, want, strlen(want)), "%s: '%s' is not '%s...'",
				      cmds[c][1], err, want);
			ck_assert_msg(strchr(err, '\n') == err + strlen(err) - 1,
				      "%s: more than one line: %s", cmds[c][1], err);
		}
	}
}
END_TEST

/*
 * disconnect --keep-disks reaches the daemon as the keep_disks member (and
 * a plain disconnect has none); with --force it is refused before any
 * daemon is asked. The fake daemon refuses, so the command ends at once.
 */
START_TEST(test_command_sends_keep_disks)
{
	char *keep[] = { "nvmfuse", "disconnect", "-d", "nvme1000", "--keep-disks", NULL };
	char *plain[] = { "nvmfuse", "disconnect", "-d", "nvme1000", NULL };
	char *both[] = { "nvmfuse", "disconnect", "-d", "nvme1000", "--keep-disks", "--force",
			 NULL };
	char *const *cmds[] = { keep, plain };
	char err[1024];

	for (size_t c = 0; c < 2; c++) {
		struct fake_daemon f = { .lfd = listen_as("nvme1000"),
					 .answer = "{\"version\":1,\"ok\":false,\"error\":\"no\"}\n" };
		int rc;

		pthread_create(&f.t, NULL, fake_loop, &f);
		rc = run_nvmfuse(cmds[c], err, sizeof(err));
		shutdown(f.lfd, SHUT_RDWR);
		pthread_join(f.t, NULL);
		close(f.lfd);
		unlink(strcat(strcpy((char[128]){ 0 }, g_rundir), "/nvme1000.sock"));
		ck_assert_msg(rc == 1 && strstr(err, "not disconnected: no"), "exit %d: %s", rc, err);
		ck_assert_msg(!strstr(f.request, "\"force\":true"), "%s", f.request);
		ck_assert_msg(!strstr(f.request, "keep_disks") == (c == 1), "%s", f.request);
		if (c == 0)
			ck_assert_msg(strstr(f.request, "\"keep_disks\":true"), "%s", f.request);
	}
	ck_assert_int_eq(run_nvmfuse(both, err, sizeof(err)), 1);
	ck_assert_msg(strstr(err, "--force has no meaning with it"), "%s", err);
}
END_TEST

/*
 * The daemon's side (reg_accept, what service.c calls): whatever a client
 * sends, it gets an answer naming the cause, within NVMF_CTL_READ_MS.
 */
struct client_case {
	const char *send;	/* NULL: send NVMF_CTL_REQUEST_MAX + 100 bytes */
	bool keep_open;		/* do not end the writes: a slow client */
	int rc;			/* reg_accept's */
	const char *reply;	/* a part of the reply */
};

static const struct client_case client_cases[] = {
	{ "{\"version\":1,\"op\":\"info\"}\n", true, 0, NULL },
	{ "{\"version\":1,\"op\":\"disconnect\",\"force\":true}", false, 0, NULL },
	{ "info\n", true, -EBADMSG, "\"ok\":false,\"error\":\"request is not JSON" },
	{ "{\"version\":3,\"op\":\"info\"}\n", true, -EPROTO,
	  "request speaks control protocol version 3" },
	{ "{\"version\":1,\"op\":\"format\"}\n", true, -EOPNOTSUPP, "unknown op \\\"format\\\"" },
	{ "{\"version\":1,\"op\":\"info\"", true, -ETIMEDOUT, "no complete request within" },
	{ "", true, -ETIMEDOUT, "no complete request within" },
	{ NULL, true, -EMSGSIZE, "request longer than 4096 bytes" },
	{ "\x01\x02\x03\xff\n", true, -EBADMSG, "not JSON" },
};

START_TEST(test_daemon_answers_every_client)
{
	const struct client_case *c = &client_cases[_i];
	int lfd = listen_as("nvme1000"), cfd = connect_as_client("nvme1000"), fd;
	struct nvmf_ctl_request rq;
	struct timespec t0, t1;
	char reply[1024];
	ssize_t n;
	long ms;

	if (c->send) {
		ck_assert_int_eq(write(cfd, c->send, strlen(c->send)), (ssize_t)strlen(c->send));
	} else {
		char big[NVMF_CTL_REQUEST_MAX + 100];

		memset(big, '{', sizeof(big));
		ck_assert_int_eq(write(cfd, big, sizeof(big)), (ssize_t)sizeof(big));
	}
	if (!c->keep_open)
		shutdown(cfd, SHUT_WR);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fd = reg_accept(lfd, &rq);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ck_assert_int_le(ms, NVMF_CTL_READ_MS + 300);
	if (c->rc == 0) {
		ck_assert_int_ge(fd, 0);
		reg_reply(fd, nvmf_ctl_reply_ok());
		n = read(cfd, reply, sizeof(reply) - 1);
		ck_assert_int_gt(n, 0);
		reply[n] = 0;
		ck_assert_str_eq(reply, "{\"version\":1,\"ok\":true}\n");
	} else {
		ck_assert_int_eq(fd, c->rc);
		n = read(cfd, reply, sizeof(reply) - 1);
		ck_assert_int_gt(n, 0);
		reply[n] = 0;
		ck_assert_msg(strstr(reply, c->reply), "reply '%s' does not say '%s'", reply,
			      c->reply);
	}
	close(cfd);
	close(lfd);
}
END_TEST

START_TEST(test_daemon_ignores_a_probe)
{
	/* is_stale() connects and closes: no request, no reply, no error. */
	int lfd = listen_as("nvme1000"), cfd = connect_as_client("nvme1000");
	struct nvmf_ctl_request rq;

	close(cfd);
	ck_assert_int_eq(reg_accept(lfd, &rq), -ENODATA);
	close(lfd);
}
END_TEST

/* ------------------------------------------ host-wide instance numbers */

static char g_ids[128], g_rundir2[128];

static void ids_setup(void)
{
	rundir_setup();
	snprintf(g_ids, sizeof(g_ids), "%s/ids", g_rundir);
	snprintf(g_rundir2, sizeof(g_rundir2), "%s/other", g_rundir);
	setenv("NVMFUSE_IDS_DIR", g_ids, 1);
}

/* reg_reserve in run dir @dir; the claim fd in *@claim. */
static int reserve_in(const char *dir, int want, char name[REG_NAME_MAX], int *claim, char *err,
		      size_t errlen)
{
	setenv("NVMFUSE_RUNDIR", dir, 1);
	return reg_reserve(want, name, claim, err, errlen);
}

START_TEST(test_instances_are_host_wide)
{
	char a[REG_NAME_MAX], b[REG_NAME_MAX], c[REG_NAME_MAX], err[256] = "";
	int la, lb, lc, ca, cb, cc;

	/* Two run dirs: the second daemon does not get the first one's number. */
	la = reserve_in(g_rundir, -1, a, &ca, err, sizeof(err));
	ck_assert_msg(la >= 0, "%s", err);
	lb = reserve_in(g_rundir2, -1, b, &cb, err, sizeof(err));
	ck_assert_msg(lb >= 0, "%s", err);
	ck_assert_str_eq(a, "nvme1000");
	ck_assert_str_eq(b, "nvme1001");
	/* Asking for a number another run dir's daemon holds names the holder. */
	ck_assert_int_eq(reserve_in(g_rundir2, 1000, c, &cc, err, sizeof(err)), -EEXIST);
	ck_assert_msg(strstr(err, "instance 1000 is in use: another nvmfuse daemon holds it"),
		      "%s", err);
	/* The first daemon exits (its claim goes with it): 1000 is free again. */
	close(ca);
	close(la);
	lc = reserve_in(g_rundir2, 1000, c, &cc, err, sizeof(err));
	ck_assert_msg(lc >= 0, "%s", err);
	ck_assert_str_eq(c, "nvme1000");
	close(lb);
	close(cb);
	close(lc);
	close(cc);
}
END_TEST

START_TEST(test_instances_race)
{
	/*
	 * Four daemons (processes) start at once, two in each run dir; each
	 * reports its name and holds its claim until told to exit. Each run
	 * dir's own lock serializes only its two: the claims keep all four
	 * apart.
	 */
	for (int round = 0; round < 10; round++) {
		int go[2], names[2], done[2];
		char got[4][REG_NAME_MAX];
		pid_t pid[4];

		ck_assert_int_eq(pipe(go), 0);
		ck_assert_int_eq(pipe(names), 0);
		ck_assert_int_eq(pipe(done), 0);
		for (int i = 0; i < 4; i++) {
			pid[i] = fork();
			ck_assert_int_ge(pid[i], 0);
			if (pid[i] == 0) {
				char name[REG_NAME_MAX] = "", err[256], c;
				int claim, lfd;

				close(go[1]);
				close(names[0]);
				close(done[1]);
				setenv("NVMFUSE_RUNDIR", i % 2 ? g_rundir2 : g_rundir, 1);
				if (read(go[0], &c, 1) != 1)
					_exit(2);
				lfd = reg_reserve(-1, name, &claim, err, sizeof(err));
				if (lfd < 0)
					snprintf(name, sizeof(name), "error");
				if (write(names[1], name, sizeof(name)) != (ssize_t)sizeof(name))
					_exit(2);
				if (read(done[0], &c, 1) < 0)	/* EOF: the parent is done */
					_exit(2);
				_exit(lfd < 0);
			}
		}
		close(go[0]);
		close(names[1]);
		close(done[0]);
		ck_assert_int_eq(write(go[1], "gggg", 4), 4);
		for (int i = 0; i < 4; i++)
			ck_assert_int_eq(read(names[0], got[i], REG_NAME_MAX), REG_NAME_MAX);
		close(done[1]);
		for (int i = 0; i < 4; i++) {
			int st;

			ck_assert_int_eq(waitpid(pid[i], &st, 0), pid[i]);
			ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		}
		for (int i = 0; i < 4; i++) {
			ck_assert_str_ne(got[i], "error");
			for (int j = 0; j < i; j++)
				ck_assert_str_ne(got[i], got[j]);
		}
		close(go[1]);
		close(names[0]);
	}
}
END_TEST

/*
 * A daemon killed with SIGKILL leaves its socket behind; the next daemon
 * asking for its number (as one that takes over its disks does) gets it,
 * with the claim the kernel dropped, in the same run dir and in another.
 */
START_TEST(test_instances_taken_over_after_kill)
{
	for (int other = 0; other < 2; other++) {
		char name[REG_NAME_MAX], err[256] = "", c;
		int ready[2], lfd, claim, st;
		pid_t pid;

		ck_assert_int_eq(pipe(ready), 0);
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			close(ready[0]);
			lfd = reserve_in(g_rundir, 1000, name, &claim, err, sizeof(err));
			if (lfd < 0 || write(ready[1], "r", 1) != 1)
				_exit(1);
			for (;;)
				pause();
		}
		close(ready[1]);
		ck_assert_int_eq(read(ready[0], &c, 1), 1);
		close(ready[0]);
		/* Alive, it holds 1000 for every run dir. */
		ck_assert_int_eq(reserve_in(other ? g_rundir2 : g_rundir, 1000, name, &claim, err,
					    sizeof(err)), -EEXIST);
		kill(pid, SIGKILL);
		ck_assert_int_eq(waitpid(pid, &st, 0), pid);
		setenv("NVMFUSE_RUNDIR", g_rundir, 1);
		ck_assert(reg_is_dead("nvme1000"));	/* its socket is still there */
		lfd = reserve_in(other ? g_rundir2 : g_rundir, 1000, name, &claim, err, sizeof(err));
		ck_assert_msg(lfd >= 0, "%s", err);
		ck_assert_str_eq(name, "nvme1000");
		ck_assert_int_ge(claim, 0);
		{
			char path[256];
			int probe;

			/* Ours now: another open file cannot lock it. */
			snprintf(path, sizeof(path), "%s/nvme1000.lock", reg_claim_dir());
			probe = open(path, O_RDWR | O_CLOEXEC);
			ck_assert_int_ge(probe, 0);
			ck_assert_int_eq(flock(probe, LOCK_EX | LOCK_NB), -1);
			ck_assert_int_eq(errno, EWOULDBLOCK);
			close(probe);
		}
		close(lfd);
		close(claim);
		setenv("NVMFUSE_RUNDIR", g_rundir, 1);
		reg_release("nvme1000");
	}
}
END_TEST

START_TEST(test_instances_claim_dir_unusable)
{
	char a[REG_NAME_MAX], err[256] = "";
	int ca;

	setenv("NVMFUSE_IDS_DIR", "/proc/nvmfuse-no-such-dir", 1);
	ck_assert_int_lt(reserve_in(g_rundir, -1, a, &ca, err, sizeof(err)), 0);
	ck_assert_msg(strstr(err, "cannot create /proc/nvmfuse-no-such-dir"), "%s", err);
	ck_assert_ptr_nonnull(strstr(err, "NVMFUSE_IDS_DIR"));
}
END_TEST

/* ------------------------------------------ a daemon on a stuck target */

/*
 * A stuck target: a TCP listener on 127.0.0.1 that is never accepted (the
 * kernel completes the handshake and queues the ICReq; no ICResp ever
 * comes). Returns the fd; its port in *@port.
 */
static int stuck_target(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(fd, 8), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/*
 * Wait (up to 10 s) until @want daemons are registered in the run dir; the
 * first one's name in @first. Returns how many there are then.
 */
static int names_after(int want, char first[REG_NAME_MAX])
{
	int n = -1;

	for (int t = 0; t < 1000 && n != want; t++) {
		char **names;

		if (t)
			nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
		ck_assert_int_eq(reg_names(&names, &n), 0);
		if (n > 0)
			snprintf(first, REG_NAME_MAX, "%s", names[0]);
		reg_names_free(names, n);
	}
	return n;
}

/*
 * A daemon whose target accepts TCP and never answers (connect timeout 60
 * s) answers its control socket all the same: info says "connecting" with
 * what it connects to; `nvmfuse list` shows it and exits 0; a second
 * connect to that target is refused naming it; `nvmfuse disconnect -n`
 * gives the connect up, and the waiting `nvmfuse connect` says so. Before,
 * the daemon answered nobody until the connect ended, and each of these
 * commands waited its own timeout (2 to 5 s) for every such daemon in the
 * run dir: one stuck target held up the control of all the others.
 */
START_TEST(test_connecting_daemon_answers)
{
	static const char nqn[] = "nqn.2024-01.io.nvmfuse:stuck";
	static const char hostnqn[] =
		"nqn.2014-08.org.nvmexpress:uuid:8d1f2b62-3a7c-4f0e-9d51-7e2c1a0b9f34";
	char portstr[16], name[REG_NAME_MAX], err[2048], out[4096];
	char *conn[] = { "nvmfuse", "connect", "-t", "tcp", "-a", "127.0.0.1", "-s", portstr,
			 "-n", (char *)nqn, "-q", (char *)hostnqn,
			 "-I", "8d1f2b62-3a7c-4f0e-9d51-7e2c1a0b9f34", "--no-cuse", "--no-ublk",
			 "--timeout", "60", NULL };
	struct nvmf_ctl_request rq = { .op = NVMF_CTL_INFO };
	struct json_object *reply, *c, *v;
	int port, lfd = stuck_target(&port), conn_err, rc;
	pid_t pid;

	snprintf(portstr, sizeof(portstr), "%d", port);
	pid = spawn_nvmfuse(conn, &conn_err);
	ck_assert_int_eq(names_after(1, name), 1);

	/* Asked directly: an answer, not a wait for the target. */
	ck_assert_msg(reg_call(name, &rq, &reply, 3000, err, sizeof(err)) == 0, "%s: %s", name,
		      err);
	ck_assert(json_object_object_get_ex(reply, "controller", &c));
	ck_assert(json_object_object_get_ex(c, "state", &v));
	ck_assert_str_eq(json_object_get_string(v), "connecting");
	ck_assert(json_object_object_get_ex(c, "subnqn", &v));
	ck_assert_str_eq(json_object_get_string(v), nqn);
	ck_assert(json_object_object_get_ex(c, "trsvcid", &v));
	ck_assert_str_eq(json_object_get_string(v), portstr);
	json_object_put(reply);

	/* The commands that ask every daemon. */
	{
		char *list[] = { "nvmfuse", "list", "-o", "json", NULL };
		char *again[] = { "nvmfuse", "connect", "-t", "tcp", "-a", "127.0.0.1", "-s", portstr,
				  "-n", (char *)nqn, "-q", (char *)hostnqn, "--no-cuse", "--no-ublk",
				  NULL };
		char *disc[] = { "nvmfuse", "disconnect", "-n", (char *)nqn, NULL };

		rc = run_nvmfuse(list, err, sizeof(err));
		ck_assert_msg(rc == 0 && !err[0], "list: exit %d: %s", rc, err);
		rc = run_nvmfuse(again, err, sizeof(err));
		ck_assert_msg(rc == 1 && strstr(err, "(still connecting)") && strstr(err, name),
			      "connect again: exit %d: %s", rc, err);
		rc = run_nvmfuse(disc, err, sizeof(err));
		ck_assert_msg(rc == 0, "disconnect: exit %d: %s", rc, err);
	}

	/* The first connect gave up because of the disconnect, and says so. */
	rc = finish_nvmfuse(pid, conn_err, out, sizeof(out));
	ck_assert_msg(rc == 1, "connect: exit %d: %s", rc, out);
	ck_assert_msg(strstr(out, "disconnected (nvmfuse disconnect) while connecting"), "%s", out);
	ck_assert_int_eq(names_after(0, name), 0);
	close(lfd);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("ctl_proto");
	TCase *tc = tcase_create("codec"), *ts = tcase_create("socket");

	tcase_add_test(tc, test_request_round_trip);
	tcase_add_loop_test(tc, test_request_refused_with_the_cause, 0,
			    sizeof(bad_requests) / sizeof(bad_requests[0]));
	tcase_add_test(tc, test_request_limits);
	tcase_add_test(tc, test_reply_ok);
	tcase_add_test(tc, test_reply_error);
	tcase_add_loop_test(tc, test_reply_refused_with_the_cause, 0,
			    sizeof(bad_replies) / sizeof(bad_replies[0]));
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(ts, rundir_setup, rundir_teardown);
	tcase_add_test(ts, test_client_against_other_versions);
	tcase_add_test(ts, test_client_bounded_by_a_silent_daemon);
	tcase_add_test(ts, test_client_daemon_went_away_while_asked);
	tcase_add_test(ts, test_client_daemon_hangs_up_but_stays);
	tcase_add_test(ts, test_command_names_another_version);
	tcase_add_test(ts, test_command_sends_keep_disks);
	tcase_add_loop_test(ts, test_daemon_answers_every_client, 0,
			    sizeof(client_cases) / sizeof(client_cases[0]));
	tcase_add_test(ts, test_daemon_ignores_a_probe);
	tcase_set_timeout(ts, 10);
	suite_add_tcase(s, ts);
	{
		TCase *ti = tcase_create("instances");

		tcase_add_checked_fixture(ti, ids_setup, rundir_teardown);
		tcase_add_test(ti, test_instances_are_host_wide);
		tcase_add_test(ti, test_instances_race);
		tcase_add_test(ti, test_instances_taken_over_after_kill);
		tcase_add_test(ti, test_instances_claim_dir_unusable);
		tcase_add_test(ti, test_connecting_daemon_answers);
		tcase_set_timeout(ti, 30);
		suite_add_tcase(s, ti);
	}
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
