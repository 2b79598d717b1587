/* SPDX-License-Identifier: MIT */
/*
 * The TLS channel of the TCP transport (transport/tls.c, tcp.c) end to
 * end: the host connects through a TLS 1.3 PSK terminator (an OpenSSL
 * server in a thread, as tlshd is in front of nvmet) to the fake
 * controller of tests/unit/fake_target.c, and moves data of every size up
 * to 1 MiB, many commands in flight, with and without digests, for both
 * PSK hashes (and a SHA-384 key toward a target that binds PSKs to
 * SHA-256). The terminator relays without blocking, in records of any
 * size, so the host sees partial records, OpenSSL's buffered bytes and
 * full socket buffers. Failures: a wrong key, an unknown identity, and a
 * plaintext controller each end the connect with one line naming the TLS
 * handshake.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "dontdump.h"
#include "fake_target.h"
#include "host/nvmf.h"
#include "host/tls_key.h"

#define HOSTNQN "nqn.2014-08.org.nvmexpress:uuid:0f8c4f2e-3b5a-4d1e-9c7b-2a6d8e4f1b3c"
#define HOSTID "0f8c4f2e-3b5a-4d1e-9c7b-2a6d8e4f1b3c"
#define KEY01 "NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:"
#define KEY02 "NVMeTLSkey-1:02:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwP/w0S89ELi3W2LxIcLXVsDn8kXZQ==:"

/* ---------------------------------------------------- the terminator */

struct term {
	int lfd;
	char port[8];
	const char *target_port;
	struct nvmf_tls_psk psk;	/* what the "target" holds */
	int bind_hash;			/* 1: binds every PSK to SHA-256 (GnuTLS < 3.8.11) */
	bool plain;			/* relay without TLS (no terminator) */
	volatile bool stop;
	pthread_t thread;
	pthread_mutex_t lock;
	unsigned int handshakes_ok, handshakes_failed;
	char cipher[64];
};

struct relay {
	struct term *t;
	int cfd;
};

static int psk_find(SSL *ssl, const unsigned char *id, size_t len, SSL_SESSION **sess)
{
	struct term *t = SSL_get_app_data(ssl);
	int hash = t->bind_hash ? t->bind_hash : t->psk.hash;
	const unsigned char cid[2] = { 0x13, hash == 2 ? 0x02 : 0x01 };
	SSL_SESSION *s;

	*sess = NULL;
	if (len != strlen(t->psk.identity) || memcmp(id, t->psk.identity, len))
		return 1;	/* unknown identity: no PSK, and no certificate either */
	s = SSL_SESSION_new();
	if (!s || !SSL_SESSION_set1_master_key(s, t->psk.key, t->psk.len) ||
	    !SSL_SESSION_set_cipher(s, SSL_CIPHER_find(ssl, cid)) ||
	    !SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION)) {
		SSL_SESSION_free(s);
		return 0;
	}
	*sess = s;
	return 1;
}

static void set_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static int connect_target(const char *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* After a failed SSL call: only waiting for the socket? */
static bool ssl_again(SSL *ssl)
{
	int e = SSL_get_error(ssl, 0);

	ERR_clear_error();
	return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
}

/* One connection: handshake (blocking), then relay both ways without blocking. */
static void *relay_main(void *arg)
{
	struct relay *r = arg;
	struct term *t = r->t;
	uint8_t c2t[70000], t2c[5000];	/* odd sizes: records of odd lengths */
	size_t c2t_off = 0, c2t_len = 0, t2c_off = 0, t2c_len = 0;
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	int tfd = -1;

	ctx = SSL_CTX_new(TLS_server_method());
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_psk_find_session_callback(ctx, psk_find);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	ssl = SSL_new(ctx);
	SSL_set_app_data(ssl, t);
	SSL_set_fd(ssl, r->cfd);
	if (SSL_accept(ssl) != 1) {
		pthread_mutex_lock(&t->lock);
		t->handshakes_failed++;
		pthread_mutex_unlock(&t->lock);
		ERR_clear_error();
		goto out;
	}
	pthread_mutex_lock(&t->lock);
	t->handshakes_ok++;
	snprintf(t->cipher, sizeof(t->cipher), "%s", SSL_get_cipher_name(ssl));
	pthread_mutex_unlock(&t->lock);
	tfd = connect_target(t->target_port);
	if (tfd < 0)
		goto out;
	set_nonblock(r->cfd);
	set_nonblock(tfd);
	while (!t->stop) {
		struct pollfd pfd[2] = {
			{ .fd = r->cfd, .events = (short)((c2t_len ? 0 : POLLIN) |
							  (t2c_len ? POLLOUT : 0)) },
			{ .fd = tfd, .events = (short)((t2c_len ? 0 : POLLIN) |
						       (c2t_len ? POLLOUT : 0)) },
		};
		size_t n;
		ssize_t k;

		poll(pfd, 2, SSL_pending(ssl) && !c2t_len ? 0 : 50);
		if (!c2t_len) {
			if (SSL_read_ex(ssl, c2t, sizeof(c2t), &n) == 1) {
				c2t_len = n;
				c2t_off = 0;
			} else if (!ssl_again(ssl)) {
				break;
			}
		}
		if (c2t_len) {
			k = send(tfd, c2t + c2t_off, c2t_len - c2t_off, MSG_NOSIGNAL);
			if (k < 0 && errno != EAGAIN)
				break;
			if (k > 0 && (c2t_off += (size_t)k) == c2t_len)
				c2t_len = 0;
		}
		if (!t2c_len) {
			k = recv(tfd, t2c, sizeof(t2c), 0);
			if (k == 0 || (k < 0 && errno != EAGAIN))
				break;
			if (k > 0) {
				t2c_len = (size_t)k;
				t2c_off = 0;
			}
		}
		if (t2c_len) {
			if (SSL_write_ex(ssl, t2c + t2c_off, t2c_len - t2c_off, &n) == 1) {
				if ((t2c_off += n) == t2c_len)
					t2c_len = 0;
			} else if (!ssl_again(ssl)) {
				break;
			}
		}
	}
out:
	if (tfd >= 0)
		close(tfd);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(r->cfd);
	free(r);
	return NULL;
}

static void *term_main(void *arg)
{
	struct term *t = arg;

	while (!t->stop) {
		struct pollfd pfd = { .fd = t->lfd, .events = POLLIN };
		struct relay *r;
		pthread_t th;
		int fd;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		fd = accept(t->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		r = calloc(1, sizeof(*r));
		r->t = t;
		r->cfd = fd;
		if (pthread_create(&th, NULL, relay_main, r) == 0)
			pthread_detach(th);
	}
	return NULL;
}

static struct term *term_start(const char *target_port, const struct nvmf_tls_psk *psk)
{
	struct term *t = calloc(1, sizeof(*t));
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int one = 1;

	ck_assert_ptr_nonnull(t);
	t->target_port = target_port;
	t->psk = *psk;
	pthread_mutex_init(&t->lock, NULL);
	t->lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(t->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ck_assert_int_eq(bind(t->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(t->lfd, 16), 0);
	getsockname(t->lfd, (struct sockaddr *)&sa, &sl);
	snprintf(t->port, sizeof(t->port), "%u", ntohs(sa.sin_port));
	ck_assert_int_eq(pthread_create(&t->thread, NULL, term_main, t), 0);
	return t;
}

static void term_stop(struct term *t)
{
	t->stop = true;
	pthread_join(t->thread, NULL);
	close(t->lfd);
	usleep(100 * 1000);	/* relays see stop within 50 ms */
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/*
 * The terminator's count of failed handshakes, once it reached @want (or
 * 2 s passed) and then stayed for 100 ms: it counts a failure after its
 * alert, so after the client saw it.
 */
static unsigned int term_failed(struct term *t, unsigned int want)
{
	unsigned int n = 0;
	int reached = -1;

	for (int ms = 0; ms < 2100; ms += 10) {
		pthread_mutex_lock(&t->lock);
		n = t->handshakes_failed;
		pthread_mutex_unlock(&t->lock);
		if (n >= want && reached < 0)
			reached = ms;
		if (reached >= 0 && ms - reached >= 100)
			break;
		usleep(10 * 1000);
	}
	return n;
}

/* ---------------------------------------------------------- helpers */

static void psk_of(const char *key, struct nvmf_tls_psk *out)
{
	struct nvmf_tls_configured k;
	char err[256];

	ck_assert_int_eq(nvmf_tls_key_parse(key, &k, err, sizeof(err)), 0);
	ck_assert_int_eq(nvmf_tls_psk_derive(&k, HOSTNQN, FT_SUBNQN, 0, NVMF_TLS_RFC, out, err,
					     sizeof(err)), 0);
}

static int connect_tls(const char *port, const char *key, bool dg, int nr_io,
		       struct nvmf_ctrl **c, char *err, size_t errlen)
{
	struct nvmf_ctrl_opts o;

	memset(&o, 0, sizeof(o));
	o.transport = "tcp";
	o.traddr = "127.0.0.1";
	o.trsvcid = port;
	o.subnqn = FT_SUBNQN;
	o.hostnqn = HOSTNQN;
	o.hostid = HOSTID;
	o.timeout_ms = 3000;
	o.hdgst = o.ddgst = dg;
	o.nr_io_queues = nr_io;
	o.tls = true;
	o.tls_key = key;
	return nvmf_ctrl_connect(&o, c, err, errlen);
}

static void prep_io(struct nvmf_request *req, uint8_t opc, uint64_t slba, uint32_t len,
		    void *buf)
{
	memset(req, 0, sizeof(*req));
	req->cmd.opc = opc;
	req->cmd.nsid = htole32(1);
	req->cmd.cdw10 = htole32((uint32_t)slba);
	req->cmd.cdw12 = htole32(len / 512 - 1);
	req->data = buf;
	req->data_len = len;
	req->dir = opc == 0x01 ? NVMF_DIR_H2C : NVMF_DIR_C2H;
	req->timeout_ms = 10000;
}

static void expect_ok(const struct nvmf_request *req, int rc, const char *what, uint32_t len)
{
	ck_assert_msg(rc == 0 && nvmf_req_ok(req) && req->bytes_ok == req->data_len,
		      "%s %u: rc %d xport_err %d status 0x%x bytes_ok %u", what, len, rc,
		      req->xport_err, req->status, req->bytes_ok);
}

/* ------------------------------------------------------------ tests */

static const struct tls_variant {
	const char *key;
	bool digests;
	const char *cipher;
	int bind_hash;		/* the terminator's (struct term) */
	bool ktls;		/* NVMFUSE_KTLS 1 (OpenSSL's socket BIO) or 0 (ours) */
} variants[] = {
	{ KEY01, false, "TLS_AES_128_GCM_SHA256", 0, false },
	{ KEY01, true, "TLS_AES_128_GCM_SHA256", 0, false },
	{ KEY02, false, "TLS_AES_256_GCM_SHA384", 0, false },
	{ KEY02, true, "TLS_AES_256_GCM_SHA384", 0, false },
	/*
	 * A target that binds every external PSK to SHA-256 (tlshd on GnuTLS
	 * < 3.8.11) refuses the SHA-384 handshake of a hash 02 key; each
	 * queue then offers the same key bound to SHA-256.
	 */
	{ KEY02, false, "TLS_AES_128_GCM_SHA256", 1, false },
	/*
	 * Asking for kTLS: OpenSSL's socket BIO instead of ours, and the
	 * kernel's TLS where it has one (else OpenSSL goes on encrypting).
	 */
	{ KEY01, true, "TLS_AES_128_GCM_SHA256", 0, true },
	{ KEY02, false, "TLS_AES_128_GCM_SHA256", 1, true },
};

START_TEST(test_tls_io)
{
	static const uint32_t sizes[] = { 512, 4096, 8192, 65536, 131072, 1048576 };
	const struct tls_variant *v = &variants[_i];
	struct nvmf_tls_psk psk;
	struct ft_config cfg;
	struct nvmf_request req;
	struct nvmf_ctrl *c = NULL;
	struct ft_stats st;
	struct term *t;
	struct ft *ft;
	uint8_t *wbuf = malloc(1 << 20), *rbuf = malloc(1 << 20);
	char err[256] = "";
	int rc;

	ft_config_default(&cfg);
	ft = ft_start(&cfg);
	ck_assert_ptr_nonnull(ft);
	psk_of(v->key, &psk);
	t = term_start(ft_port(ft), &psk);
	t->bind_hash = v->bind_hash;
	/* (this test's own process: Check forks one per test) */
	setenv("NVMFUSE_KTLS", v->ktls ? "1" : "0", 1);
	rc = connect_tls(t->port, v->key, v->digests, 2, &c, err, sizeof(err));
	ck_assert_msg(rc == 0, "connect over TLS: %d %s", rc, err);
	ck_assert_uint_eq(t->handshakes_ok, 3);		/* admin + 2 I/O queues */
	/* SHA-384 first: taken, or refused on the admin queue only. */
	ck_assert_uint_eq(term_failed(t, v->bind_hash ? 1 : 0), v->bind_hash ? 1 : 0);
	ck_assert_str_eq(t->cipher, v->cipher);
	/* The controller's copies of the key are kept out of core dumps. */
	ck_assert_int_eq(dontdump_of(c->tls_psk), 1);
	ck_assert_int_eq(dontdump_of(c->opts.tls_key), 1);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		for (uint32_t i = 0; i < sizes[k]; i++)
			wbuf[i] = (uint8_t)(i * 7 + k + _i);
		rc = nvmf_qpair_exec(c->ioq[k % 2], (prep_io(&req, 0x01, 8 * k, sizes[k], wbuf),
						     &req));
		expect_ok(&req, rc, "write", sizes[k]);
		memset(rbuf, 0, sizes[k]);
		rc = nvmf_qpair_exec(c->ioq[k % 2], (prep_io(&req, 0x02, 8 * k, sizes[k], rbuf),
						     &req));
		expect_ok(&req, rc, "read", sizes[k]);
		ck_assert_msg(!memcmp(rbuf, wbuf, sizes[k]), "%u bytes differ", sizes[k]);
	}
	/* 32 commands of 128 KiB in flight: the socket and OpenSSL fill up. */
	{
		struct nvmf_request reqs[32];
		uint8_t *big = malloc(32 << 17);
		uint64_t t0 = nvmf_now_ns();

		for (int i = 0; i < 32; i++) {
			prep_io(&reqs[i], i % 2 ? 0x02 : 0x01, 4096 + 256 * (uint64_t)(i / 2),
				1 << 17, big + ((size_t)i << 17));
			if (i % 2 == 0)
				memset(big + ((size_t)i << 17), i, 1 << 17);
			ck_assert_int_eq(nvmf_qpair_submit(c->ioq[0], &reqs[i]), 0);
		}
		while (c->ioq[0]->outstanding && nvmf_now_ns() - t0 < 20000000000ull)
			ck_assert_int_ge(nvmf_qpair_poll(c->ioq[0], 50), 0);
		ck_assert_uint_eq(c->ioq[0]->outstanding, 0);
		for (int i = 0; i < 32; i++)
			ck_assert_msg(nvmf_req_ok(&reqs[i]), "pipelined %d failed", i);
		free(big);
	}
	nvmf_ctrl_disconnect(c);
	ft_get_stats(ft, &st);
	ck_assert_msg(st.violations == 0, "host broke a wire rule: %s", st.violation);
	ck_assert(st.hdgst == v->digests && st.ddgst == v->digests);
	term_stop(t);
	ft_stop(ft);
	free(wbuf);
	free(rbuf);
}
END_TEST

/* The target holds another key, or none for our identity: one line, no hang. */
START_TEST(test_tls_refused)
{
	struct nvmf_tls_psk psk;
	struct ft_config cfg;
	struct nvmf_ctrl *c = NULL;
	struct term *t;
	struct ft *ft;
	int k = _i % 4;		/* 4..7: the same with kTLS asked */
	const char *key = k < 2 ? KEY01 : KEY02;
	char err[512] = "";
	int rc;

	ft_config_default(&cfg);
	ft = ft_start(&cfg);
	ck_assert_ptr_nonnull(ft);
	psk_of(key, &psk);
	if (k % 2 == 0)
		psk.key[0] ^= 1;	/* same identity, another key */
	else
		psk.identity[5] = 'X';	/* it knows no key for our identity */
	t = term_start(ft_port(ft), &psk);
	t->bind_hash = k == 2 ? 1 : 0;	/* refused with either binding */
	setenv("NVMFUSE_KTLS", _i >= 4 ? "1" : "0", 1);
	rc = connect_tls(t->port, key, false, 1, &c, err, sizeof(err));
	fprintf(stderr, "refused (%s): %s\n", k % 2 ? "unknown identity" : "wrong key", err);
	ck_assert_int_eq(rc, -EKEYREJECTED);
	ck_assert_ptr_null(c);
	ck_assert_msg(strstr(err, "TLS handshake with 127.0.0.1:") && !strchr(err, '\n'), "%s", err);
	ck_assert_msg(strstr(err, k < 2 ? "NVMe0R01 " HOSTNQN " " FT_SUBNQN :
			     "NVMe0R02 " HOSTNQN " " FT_SUBNQN), "no identity: %s", err);
	ck_assert_ptr_null(strstr(err, "VRLb"));
	ck_assert_uint_eq(t->handshakes_ok, 0);
	/*
	 * A SHA-384 key is offered twice (SHA-384, then bound to SHA-256), and
	 * says so. (The terminator counts a failure after it sent its alert.)
	 */
	ck_assert_uint_eq(term_failed(t, k < 2 ? 1 : 2), k < 2 ? 1 : 2);
	ck_assert_msg((k < 2) == !strstr(err, "refused bound to SHA-256 too"), "%s", err);
	term_stop(t);
	ft_stop(ft);
}
END_TEST

/* TLS to a plaintext controller: the handshake fails, it says so. */
START_TEST(test_tls_to_plaintext)
{
	struct ft_config cfg;
	struct nvmf_ctrl *c = NULL;
	struct ft *ft;
	char err[512] = "";
	int rc;

	ft_config_default(&cfg);
	ft = ft_start(&cfg);
	ck_assert_ptr_nonnull(ft);
	setenv("NVMFUSE_KTLS", _i ? "1" : "0", 1);
	rc = connect_tls(ft_port(ft), KEY01, false, 1, &c, err, sizeof(err));
	fprintf(stderr, "to plaintext%s: %s\n", _i ? " (kTLS asked)" : "", err);
	ck_assert_int_lt(rc, 0);
	ck_assert_msg(strstr(err, "TLS handshake") && !strchr(err, '\n'), "%s", err);
	ft_stop(ft);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tls");
	TCase *tc = tcase_create("tls");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_tls_io, 0, sizeof(variants) / sizeof(variants[0]));
	tcase_add_loop_test(tc, test_tls_refused, 0, 8);
	tcase_add_loop_test(tc, test_tls_to_plaintext, 0, 2);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
