/* SPDX-License-Identifier: MIT */
/*
 * TLS 1.3 PSK client channel over OpenSSL 3 (see tls.h).
 *
 * OpenSSL talks to the socket through a small BIO of our own: send() with
 * MSG_NOSIGNAL (no SIGPIPE in processes that do not ignore it, like
 * `nvmfuse perf`) and recv(), both non-blocking, the errno kept for the
 * error message. The PSK reaches OpenSSL as a resumption session (the
 * psk_use_session callback), which is how OpenSSL offers an external PSK
 * in TLS 1.3, with the one cipher suite allowed.
 *
 * kTLS (the default; NVMFUSE_KTLS=0 turns it off): OpenSSL hands the
 * record encryption to the kernel (SSL_OP_ENABLE_KTLS) only through its
 * own socket BIO, so then the channel uses that one; OpenSSL 3.0 does so
 * for sending only (it keeps decrypting TLS 1.3 itself), and without the
 * kernel's tls module it goes on encrypting. Its send() raises SIGPIPE
 * on a closed connection: the processes that run queue pairs ignore
 * SIGPIPE.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "transport/tls.h"

#define TLS_STAGE_SIZE	(64 * 1024)

struct nvmf_tls {
	SSL_CTX *ctx;
	SSL *ssl;
	int fd;
	int sock_errno;			/* the BIO's last error other than EAGAIN */
	bool own_bio;			/* false: OpenSSL's socket BIO (kTLS) */
	short want;			/* POLLOUT when OpenSSL waits to write */
	/* transmit staging: bytes [woff, wlen) are taken but not yet written */
	uint8_t *wbuf;
	size_t woff, wlen;
	SSL_SESSION *sess;
	char identity[NVMF_TLS_IDENTITY_MAX];
	char err[256];
};

/* ------------------------------------------------------------------ BIO */

static int bio_write(BIO *b, const char *buf, int len)
{
	struct nvmf_tls *t = BIO_get_data(b);
	ssize_t n;

	BIO_clear_retry_flags(b);
	do
		n = send(t->fd, buf, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			BIO_set_retry_write(b);
		else
			t->sock_errno = errno;
		return -1;
	}
	return (int)n;
}

static int bio_read(BIO *b, char *buf, int len)
{
	struct nvmf_tls *t = BIO_get_data(b);
	ssize_t n;

	BIO_clear_retry_flags(b);
	do
		n = recv(t->fd, buf, (size_t)len, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			BIO_set_retry_read(b);
		else
			t->sock_errno = errno;
		return -1;
	}
	return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b;
	(void)num;
	(void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static pthread_once_t bio_once = PTHREAD_ONCE_INIT;
static BIO_METHOD *bio_meth;

static void bio_init_once(void)
{
	BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "nvmf-tcp");

	if (!m)
		return;
	BIO_meth_set_write(m, bio_write);
	BIO_meth_set_read(m, bio_read);
	BIO_meth_set_ctrl(m, bio_ctrl);
	BIO_meth_set_create(m, bio_create);
	bio_meth = m;
}

/* ------------------------------------------------------------------ PSK */

/*
 * OpenSSL asks for the PSK to offer (md NULL) and again after a
 * HelloRetryRequest (md = the negotiated hash): the same session both
 * times; OpenSSL drops it itself if the hash does not fit.
 */
static int psk_use_session(SSL *ssl, const EVP_MD *md, const unsigned char **id, size_t *idlen,
			   SSL_SESSION **sess)
{
	struct nvmf_tls *t = SSL_get_app_data(ssl);

	(void)md;
	if (!t->sess) {
		*sess = NULL;
		return 0;
	}
	if (!SSL_SESSION_up_ref(t->sess))
		return 0;
	*id = (const unsigned char *)t->identity;
	*idlen = strlen(t->identity);
	*sess = t->sess;
	return 1;
}

static int make_session(struct nvmf_tls *t, const struct nvmf_tls_psk *psk, int hash)
{
	/* TLS_AES_128_GCM_SHA256 = {0x13, 0x01}, TLS_AES_256_GCM_SHA384 = {0x13, 0x02} */
	const unsigned char id[2] = { 0x13, hash == 2 ? 0x02 : 0x01 };
	const SSL_CIPHER *c = SSL_CIPHER_find(t->ssl, id);

	t->sess = SSL_SESSION_new();
	if (!c || !t->sess || !SSL_SESSION_set1_master_key(t->sess, psk->key, psk->len) ||
	    !SSL_SESSION_set_cipher(t->sess, c) ||
	    !SSL_SESSION_set_protocol_version(t->sess, TLS1_3_VERSION))
		return -ENOMEM;
	return 0;
}

/* ---------------------------------------------------------------- errors */

/*
 * Turn the outcome of an SSL call that returned @rc <= 0 into -errno and
 * t->err. @what names the step ("TLS handshake", "TLS receive", ...).
 */
static int ssl_fail(struct nvmf_tls *t, int rc, const char *what)
{
	int e = SSL_get_error(t->ssl, rc);
	unsigned long ec;
	const char *reason;
	int reason_code;

	switch (e) {
	case SSL_ERROR_WANT_READ:
		t->want = 0;
		return -EAGAIN;
	case SSL_ERROR_WANT_WRITE:
		t->want = POLLOUT;
		return -EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		snprintf(t->err, sizeof(t->err), "%s: the peer closed the TLS session", what);
		ERR_clear_error();
		return -ECONNRESET;
	case SSL_ERROR_SYSCALL:
		ec = ERR_peek_last_error();
		if (!t->own_bio && !t->sock_errno && errno && errno != EAGAIN)
			t->sock_errno = errno;	/* OpenSSL's socket BIO leaves it */
		if (!ec) {
			int se = t->sock_errno ? t->sock_errno : ECONNRESET;

			snprintf(t->err, sizeof(t->err), "%s: %s", what,
				 t->sock_errno ? strerror(se) : "connection closed by the peer");
			return -se;
		}
		break;
	}
	ec = ERR_peek_last_error();
	reason = ec ? ERR_reason_error_string(ec) : NULL;
	reason_code = ec ? ERR_GET_REASON(ec) : 0;
	ERR_clear_error();
	if (!reason)
		reason = "unknown OpenSSL error";
	if (reason_code == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
		snprintf(t->err, sizeof(t->err), "%s: connection closed by the peer (%s)", what,
			 reason);
		return -ECONNRESET;
	}
	/* An alert from the peer: it refused what we offered (the PSK, mostly). */
	if (reason_code >= SSL_AD_REASON_OFFSET) {
		snprintf(t->err, sizeof(t->err), "%s: the peer sent the alert \"%s\"", what, reason);
		return -EKEYREJECTED;
	}
	snprintf(t->err, sizeof(t->err), "%s: %s", what, reason);
	return -EPROTO;
}

/*
 * Kernel TLS unless NVMFUSE_KTLS=0 (see the top of this file): measured
 * faster for sending (tests/bench/RESULTS.md, bench-tls), the same for
 * receiving, which OpenSSL 3.0 keeps.
 */
static bool ktls_wanted(void)
{
	const char *e = getenv("NVMFUSE_KTLS");

	return !e || strcmp(e, "0");
}

/* ------------------------------------------------------------------- API */

int nvmf_tls_new(int fd, const struct nvmf_tls_psk *psk, int hash, struct nvmf_tls **out,
		 char *err, size_t errlen)
{
	const char *suite = hash == 2 ? "TLS_AES_256_GCM_SHA384" : "TLS_AES_128_GCM_SHA256";
	struct nvmf_tls *t;
	BIO *bio = NULL;
	int rc = -ENOMEM;

	if ((psk->hash != 1 && psk->hash != 2) || psk->len != (psk->hash == 2 ? 48 : 32) ||
	    !psk->identity[0] || (hash != 1 && hash != 2) || hash > psk->hash) {
		snprintf(err, errlen, "TLS PSK of %u bytes with hash %u, handshake hash %d and "
			 "%s identity: not usable", psk->len, psk->hash, hash,
			 psk->identity[0] ? "an" : "no");
		return -EINVAL;
	}
	pthread_once(&bio_once, bio_init_once);
	t = calloc(1, sizeof(*t));
	if (!t)
		goto fail_msg;
	t->fd = fd;
	snprintf(t->identity, sizeof(t->identity), "%s", psk->identity);
	t->wbuf = malloc(TLS_STAGE_SIZE);
	t->ctx = SSL_CTX_new(TLS_client_method());
	if (!t->wbuf || !t->ctx || !bio_meth)
		goto fail_msg;
	if (!SSL_CTX_set_min_proto_version(t->ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_max_proto_version(t->ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_ciphersuites(t->ctx, suite))
		goto fail_msg;
	SSL_CTX_set_session_cache_mode(t->ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
			 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_clear_mode(t->ctx, SSL_MODE_AUTO_RETRY);
	SSL_CTX_set_psk_use_session_callback(t->ctx, psk_use_session);
	t->own_bio = !ktls_wanted();
	if (!t->own_bio)
		SSL_CTX_set_options(t->ctx, SSL_OP_ENABLE_KTLS);
	t->ssl = SSL_new(t->ctx);
	if (!t->ssl)
		goto fail_msg;
	if (t->own_bio) {
		bio = BIO_new(bio_meth);
		if (!bio)
			goto fail_msg;
		BIO_set_data(bio, t);
		SSL_set_bio(t->ssl, bio, bio);
		bio = NULL;
	} else if (!SSL_set_fd(t->ssl, fd)) {
		goto fail_msg;
	}
	SSL_set_app_data(t->ssl, t);
	SSL_set_connect_state(t->ssl);
	rc = make_session(t, psk, hash);
	if (rc < 0)
		goto fail_msg;
	*out = t;
	return 0;
fail_msg:
	snprintf(err, errlen, "cannot set up TLS: %s",
		 ERR_peek_last_error() ? ERR_reason_error_string(ERR_peek_last_error()) :
		 "out of memory");
	ERR_clear_error();
	BIO_free(bio);
	nvmf_tls_free(t);
	return rc;
}

int nvmf_tls_handshake(struct nvmf_tls *t, short *events, char *err, size_t errlen)
{
	int rc;

	ERR_clear_error();
	t->sock_errno = 0;
	rc = SSL_do_handshake(t->ssl);
	if (rc == 1) {
		/* The PSK now lives in OpenSSL's session; ours is not needed again. */
		SSL_SESSION_free(t->sess);
		t->sess = NULL;
		t->want = 0;
		return 0;
	}
	rc = ssl_fail(t, rc, "TLS handshake");
	if (rc == -EAGAIN) {
		*events = t->want ? POLLOUT : POLLIN;
		return rc;
	}
	snprintf(err, errlen, "%s", t->err);
	return rc;
}

ssize_t nvmf_tls_recv(struct nvmf_tls *t, void *buf, size_t len)
{
	size_t n = 0;
	int rc;

	ERR_clear_error();
	t->sock_errno = 0;
	rc = SSL_read_ex(t->ssl, buf, len, &n);
	if (rc == 1) {
		if (t->want && !nvmf_tls_tx_pending(t))
			t->want = 0;
		return (ssize_t)n;
	}
	rc = ssl_fail(t, 0, "TLS receive");
	/* close_notify: the end of the stream, as recv() says it. */
	if (rc == -ECONNRESET && SSL_get_shutdown(t->ssl) & SSL_RECEIVED_SHUTDOWN)
		return 0;
	return rc;
}

int nvmf_tls_flush(struct nvmf_tls *t)
{
	while (t->woff < t->wlen) {
		size_t n = 0;
		int rc;

		ERR_clear_error();
		t->sock_errno = 0;
		rc = SSL_write_ex(t->ssl, t->wbuf + t->woff, t->wlen - t->woff, &n);
		if (rc != 1) {
			rc = ssl_fail(t, 0, "TLS send");
			if (rc == -EAGAIN)
				t->want = POLLOUT;
			return rc;
		}
		t->woff += n;
	}
	t->woff = t->wlen = 0;
	t->want = 0;
	return 0;
}

ssize_t nvmf_tls_sendv(struct nvmf_tls *t, const struct iovec *iov, int iovcnt)
{
	size_t taken = 0;
	int rc;

	rc = nvmf_tls_flush(t);
	if (rc < 0)
		return rc;
	for (int i = 0; i < iovcnt && taken < TLS_STAGE_SIZE; i++) {
		size_t k = iov[i].iov_len;

		if (k > TLS_STAGE_SIZE - taken)
			k = TLS_STAGE_SIZE - taken;
		memcpy(t->wbuf + taken, iov[i].iov_base, k);
		taken += k;
	}
	t->woff = 0;
	t->wlen = taken;
	rc = nvmf_tls_flush(t);
	if (rc < 0 && rc != -EAGAIN)
		return rc;
	return (ssize_t)taken;
}

bool nvmf_tls_tx_pending(const struct nvmf_tls *t)
{
	return t->woff < t->wlen;
}

bool nvmf_tls_rx_pending(const struct nvmf_tls *t)
{
	return SSL_has_pending(t->ssl);
}

short nvmf_tls_events(const struct nvmf_tls *t)
{
	return (t->want || nvmf_tls_tx_pending(t)) ? POLLOUT : 0;
}

const char *nvmf_tls_error(const struct nvmf_tls *t)
{
	return t->err;
}

const char *nvmf_tls_cipher(const struct nvmf_tls *t)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(t->ssl);

	return c ? SSL_CIPHER_standard_name(c) : "none";
}

const char *nvmf_tls_ktls(const struct nvmf_tls *t)
{
	bool tx = !t->own_bio && BIO_get_ktls_send(SSL_get_wbio(t->ssl));
	bool rx = !t->own_bio && BIO_get_ktls_recv(SSL_get_rbio(t->ssl));

	return tx && rx ? "kTLS" : tx ? "kTLS send" : rx ? "kTLS receive" : "user space";
}

void nvmf_tls_free(struct nvmf_tls *t)
{
	if (!t)
		return;
	if (t->ssl && SSL_is_init_finished(t->ssl)) {
		ERR_clear_error();
		SSL_shutdown(t->ssl);	/* close_notify, once, never waiting */
	}
	ERR_clear_error();
	SSL_free(t->ssl);
	SSL_SESSION_free(t->sess);	/* wipes the master key */
	SSL_CTX_free(t->ctx);
	if (t->wbuf) {
		OPENSSL_cleanse(t->wbuf, TLS_STAGE_SIZE);
		free(t->wbuf);
	}
	OPENSSL_cleanse(t, sizeof(*t));
	free(t);
}
