/* SPDX-License-Identifier: MIT */
/*
 * Where nvmfuse controller daemons are found. Each daemon owns one
 * controller and listens on a UNIX socket RUNDIR/NAME.sock (RUNDIR is
 * $NVMFUSE_RUNDIR or /run/nvmfuse). Clients (list, disconnect) send one
 * request line and read the reply until the daemon closes the socket:
 *
 *   "info\n"        -> one JSON object describing the controller
 *   "disconnect\n"  -> "ok PID\n", then the daemon tears down and exits
 *                      ("busy ..." instead while a disk is in use)
 *   "disconnect force\n"       the same, disks in use or not
 *   "disconnect keep-disks\n"  "ok PID\n", then the daemon exits leaving
 *                      its ublk disks to the next one (daemon/state.h)
 *
 * Names are nvmeN with N from a range that cannot collide with the
 * kernel's own controllers (default base 1000, --instance to choose).
 * Instance allocation is serialized by flock(RUNDIR/.lock); nothing holds
 * that lock across network waits.
 */
#ifndef NVMFUSE_REGISTRY_H
#define NVMFUSE_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#define REG_INSTANCE_BASE 1000
#define REG_NAME_MAX 32

const char *reg_rundir(void);
/*
 * Reserve instance @want (or the lowest free one from the base when
 * @want < 0) and bind its socket. Returns the listening fd, or -errno with
 * an error message in @err.
 */
int reg_reserve(int want, char name[REG_NAME_MAX], char *err, size_t errlen);
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
/* Send @line to @name, read the whole reply (malloc'd, NUL-terminated). */
int reg_request(const char *name, const char *line, char **reply, int timeout_ms);

#endif
