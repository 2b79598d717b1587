/* SPDX-License-Identifier: MIT */
/*
 * TLS 1.3 with a pre-shared key over a non-blocking stream socket, as
 * NVMe/TCP uses it (NVMe/TCP 1.1, 3.6): the client end only, PSK only, one
 * cipher suite picked by the PSK's hash. OpenSSL 3 does the protocol; this
 * wrapper gives the TCP transport read and write calls with the socket's
 * semantics (bytes, 0 at end of stream, -EAGAIN) and says which poll
 * events it waits for, so it runs on the queue pair's event loop and over
 * a socketpair in tests.
 *
 * Sending copies into a staging buffer: a call takes up to its size from
 * the iovecs, and the bytes count as sent; nvmf_tls_flush() pushes the
 * rest out later. So a caller never has to offer the same bytes twice
 * (what OpenSSL requires after a partial SSL_write).
 *
 * Receiving: OpenSSL may hold decrypted bytes after a read that the
 * socket no longer shows (a record larger than the read): a caller that
 * skips reading because poll() reported nothing must still read while
 * nvmf_tls_rx_pending() says so.
 *
 * Ownership: the channel does not own the fd (the transport closes it
 * after nvmf_tls_free()). Thread: the owner of the queue pair; a channel
 * is used by one thread at a time. The PSK is copied into OpenSSL's
 * session and wiped there when the channel is freed.
 */
#ifndef NVMF_TRANSPORT_TLS_H
#define NVMF_TRANSPORT_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "base/qpair.h"

struct nvmf_tls;

/*
 * A client channel on connected socket @fd. @hash is the hash the
 * handshake binds the PSK to (its binder, key schedule and the one cipher
 * suite offered): psk->hash, as NVMe/TCP says, or 1 (SHA-256 with
 * TLS_AES_128_GCM_SHA256) for a 48-byte PSK toward a target whose TLS
 * library binds every external PSK to SHA-256 (GnuTLS < 3.8.11, so
 * tlshd of Debian 13: see tcp.c). 0 or -errno with a message.
 */
int nvmf_tls_new(int fd, const struct nvmf_tls_psk *psk, int hash, struct nvmf_tls **out,
		 char *err, size_t errlen);

/*
 * Advance the handshake: 0 once it is complete, -EAGAIN to be called again
 * when the socket has *@events, else -errno with a one-line cause naming
 * OpenSSL's reason or the peer's alert (-EKEYREJECTED: the peer refused
 * the key or identity; -ECONNRESET: it closed the connection;
 * -EPROTO: it does not speak TLS).
 */
int nvmf_tls_handshake(struct nvmf_tls *t, short *events, char *err, size_t errlen);

/*
 * Decrypted bytes into @buf: > 0, 0 at the peer's end of stream, -EAGAIN,
 * or -errno (the cause in nvmf_tls_error()).
 */
ssize_t nvmf_tls_recv(struct nvmf_tls *t, void *buf, size_t len);

/* Bytes taken from @iov (all counted as sent), -EAGAIN when none, or -errno. */
ssize_t nvmf_tls_sendv(struct nvmf_tls *t, const struct iovec *iov, int iovcnt);

/* Push staged bytes out: 0 when none are left, -EAGAIN, or -errno. */
int nvmf_tls_flush(struct nvmf_tls *t);

/* Staged bytes not yet on the socket. */
bool nvmf_tls_tx_pending(const struct nvmf_tls *t);

/* OpenSSL holds received bytes not yet returned by nvmf_tls_recv(). */
bool nvmf_tls_rx_pending(const struct nvmf_tls *t);

/* The poll events the channel needs beyond POLLIN: POLLOUT or 0. */
short nvmf_tls_events(const struct nvmf_tls *t);

/* The last failure's cause (never key material). */
const char *nvmf_tls_error(const struct nvmf_tls *t);

/* The negotiated cipher suite, e.g. "TLS_AES_128_GCM_SHA256". */
const char *nvmf_tls_cipher(const struct nvmf_tls *t);

/*
 * Where records are encrypted and decrypted after the handshake: "user
 * space" (OpenSSL), "kTLS", "kTLS send" or "kTLS receive" (the kernel).
 */
const char *nvmf_tls_ktls(const struct nvmf_tls *t);

/* Send close_notify if possible (never waits) and free. NULL is fine. */
void nvmf_tls_free(struct nvmf_tls *t);

#endif
