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
 * Names are nvmeN with N from a range the kernel's own controllers do not
 * reach in practice (default base 1000, --instance to choose), allocated
 * host-wide: the CUSE nodes /dev/nvmeN and /dev/ngNnM share one namespace
 * for every run dir. N is free when nothing named after it is in /dev or
 * /sys (class nvme, cuse), and it is taken by an flock on
 * CLAIMDIR/nvmeN.lock (CLAIMDIR is $NVMFUSE_IDS_DIR or /run/nvmfuse-ids)
 * that the daemon holds for its life; the kernel drops the lock when the
 * daemon exits, however it exits. ublk disk ids need no such care: the
 * kernel allocates them (UBLK_U_CMD_ADD_DEV with dev_id -1). Allocation in
 * one run dir is also serialized by flock(RUNDIR/.lock); nothing holds
 * either lock across network waits.
 *
 * A daemon that dies leaves its socket (stale: nobody listens) and its
 * records (daemon/state.h); the next daemon for the same target takes its
 * name again, and with it the claim the kernel dropped at the death.
 */
#ifndef NVMFUSE_REGISTRY_H
#define NVMFUSE_REGISTRY_H

#include "daemon/ctl_proto.h"

#define REG_INSTANCE_BASE 1000
#define REG_NAME_MAX 32
#define NVMF_CTL_READ_MS 1000	/* daemon: a client's request, and the reply */

const char *reg_rundir(void);
const char *reg_claim_dir(void);
/*
 * Reserve instance @want (or the lowest free one from the base when
 * @want < 0), host-wide, and bind its socket in the run dir. Returns the
 * listening fd and, in *@claim_fd, the claim: keep it open while the
 * instance's nodes exist (closing it, or exiting, gives N back). Or -errno
 * with one line in @err: -EEXIST names what holds an explicit @want.
 */
int reg_reserve(int want, char name[REG_NAME_MAX], int *claim_fd, char *err, size_t errlen);
/*
 * Is no daemon @name there: its socket absent, or left over from a daemon
 * that died (nobody listens)?
 */
bool reg_is_dead(const char *name);
/* Remove @name's socket (the daemon does this when it exits). */
void reg_release(const char *name);
/* Sorted names of registered controllers; stale sockets are removed. */
int reg_names(char ***names, int *n);
void reg_names_free(char **names, int n);
/*
 * Client: send @rq to daemon @name and read its reply, within @timeout_ms.
 * Returns 0 with the ok:true reply in *@reply (the caller puts it), or
 * -errno with one line in @err: -ENOENT or -ECONNREFUSED (no such daemon,
 * or gone, also while it was being asked: it hung up unanswered and is
 * dead now, reg_is_dead()), -ETIMEDOUT, -EMSGSIZE (a reply over
 * NVMF_CTL_REPLY_MAX), and
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
