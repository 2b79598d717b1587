/* SPDX-License-Identifier: MIT */
/*
 * Where nvmfuse controller daemons are found, and how one talks to them.
 * Each daemon owns one controller and listens on a UNIX socket
 * RUNDIR/NAME.sock (RUNDIR is $NVMFUSE_RUNDIR or /run/nvmfuse). Clients
 * (list, disconnect, connect's duplicate check) connect, send one request
 * and read the reply until the daemon closes the socket; the messages are
 * daemon/ctl_proto.h's (JSON, versioned). Both sides bound the exchange:
 * the daemon gives a client NVMF_CTL_READ_MS to send its request and as
 * long to take the reply; a client gives up after its own timeout.
 *
 * Names are nvmeN with N from a range that cannot collide with the
 * kernel's own controllers (default base 1000, --instance to choose).
 * Instance allocation is serialized by flock(RUNDIR/.lock); nothing holds
 * that lock across network waits.
 */
#ifndef NVMFUSE_REGISTRY_H
#define NVMFUSE_REGISTRY_H

#include "daemon/ctl_proto.h"

#define REG_INSTANCE_BASE 1000
#define REG_NAME_MAX 32
#define NVMF_CTL_READ_MS 1000	/* daemon: a client's request, and the reply */

const char *reg_rundir(void);
/*
 * Reserve instance @want (or the lowest free one from the base when
 * @want < 0) and bind its socket. Returns the listening fd, or -errno with
 * an error message in @err.
 */
int reg_reserve(int want, char name[REG_NAME_MAX], char *err, size_t errlen);
/* Remove @name's socket (the daemon does this when it exits). */
void reg_release(const char *name);
/* Sorted names of registered controllers; stale sockets are removed. */
int reg_names(char ***names, int *n);
void reg_names_free(char **names, int n);
/*
 * Client: send @rq to daemon @name and read its reply, within @timeout_ms.
 * Returns 0 with the ok:true reply in *@reply (the caller puts it), or
 * -errno with one line in @err: -ENOENT or -ECONNREFUSED (no such daemon,
 * or gone), -ETIMEDOUT, -EMSGSIZE (a reply over NVMF_CTL_REPLY_MAX), and
 * nvmf_ctl_reply_parse()'s: -EREMOTEIO (the daemon's error), -EPROTO and
 * -EBADMSG (it speaks another protocol version). Thread: any.
 */
int reg_call(const char *name, const struct nvmf_ctl_request *rq, struct json_object **reply,
	     int timeout_ms, char *err, size_t errlen);

/*
 * Daemon: accept one client on @listen_fd and read its request, bounded by
 * NVMF_CTL_READ_MS and NVMF_CTL_REQUEST_MAX. Returns the client's fd with
 * the request in @rq, for reg_reply(). A request that is not valid has
 * been answered (ok:false, the cause) and closed: returns -errno then, as
 * when nothing could be accepted or the client sent nothing.
 */
int reg_accept(int listen_fd, struct nvmf_ctl_request *rq);
/*
 * Daemon: send @reply (consumed; NULL means out of memory and sends an
 * error) on client @fd, within NVMF_CTL_READ_MS, and close @fd.
 */
void reg_reply(int fd, struct json_object *reply);

#endif
