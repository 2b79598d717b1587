/* SPDX-License-Identifier: MIT */
/*
 * The sidecar's configuration: libnvme's config.json schema (hosts ->
 * subsystems -> ports, doc/config-schema.json in libnvme), read with
 * json-c and checked member by member, so that a bad file is refused with
 * one line naming the file and the member before anything is connected.
 * Pure: no I/O besides reading the file, no global state, so it is
 * table-tested (tests/unit/test_sidecar_config.c).
 *
 *   { "hosts": [ { "hostnqn": "...", "hostid": "UUID",
 *                  "subsystems": [ { "nqn": "...",
 *                                    "ports": [ { "transport": "tcp", "traddr": "10.0.0.1",
 *                                                 "trsvcid": "4420", "nr_io_queues": 2,
 *                                                 ... } ] } ] } ] }
 *
 * The top level may also be the bare array of hosts (what libnvme's
 * nvme_dump_config writes). Each port entry is one controller. Members:
 *
 *   host       hostnqn, hostid (strings), subsystems (array); hostsymname
 *              (string, ignored)
 *   subsystem  nqn (string, required), ports (array, required), optional
 *   port       transport ("tcp" or "rdma", required), traddr (required),
 *              trsvcid (a port number as a string, default "4420"),
 *              nr_io_queues, nr_poll_queues, queue_size, keep_alive_tmo,
 *              reconnect_delay,
 *              ctrl_loss_tmo, fast_io_fail_tmo (integers, in the ranges of
 *              the connect flags of the same names), hdr_digest,
 *              data_digest, disable_sqflow, persistent (booleans;
 *              persistent is ignored: every sidecar controller is), optional,
 *              tls (boolean), tls_key (NVMeTLSkey-1 string; the file then
 *              holds a secret: mode 0600), keyring, tls_key_identity (strings)
 *
 * "optional" (boolean, default false, an nvmfuse extension that libnvme
 * ignores) on a subsystem or a port: the sidecar connects and keeps the
 * controller like any other, but readiness (the ready file, `nvmfuse
 * status`) does not wait for it. Members of the schema that nvmfuse does
 * not implement (concat, host_traddr, host_iface, ...) are
 * refused by name rather than ignored, as is any member not in the
 * schema: a key that would change what is connected, or how securely, is
 * never dropped silently. Limits: the file at most SC_CONFIG_FILE_MAX
 * bytes, JSON nesting at most 8, at most SC_CONFIG_CTRLS_MAX controllers
 * in all; two port entries naming the same controller are an error.
 */
#ifndef NVMF_SIDECAR_CONFIG_H
#define NVMF_SIDECAR_CONFIG_H

#include <stdbool.h>
#include <limits.h>
#include <stddef.h>

struct json_object;

#define SC_CONFIG_FILE_MAX	(1 << 20)	/* bytes */
#define SC_CONFIG_CTRLS_MAX	256		/* controllers (port entries) */
#define SC_UNSET		INT_MIN		/* an integer member not given */

/* One controller: a port entry with its subsystem's and host's members. */
struct sc_ctrl_cfg {
	int host;			/* index of its host entry */
	const char *hostnqn;		/* the host entry's, or NULL */
	const char *hostid;		/* the host entry's (a UUID), or NULL */
	const char *subnqn;
	const char *transport;		/* "tcp" or "rdma" */
	const char *traddr;
	const char *trsvcid;		/* "4420" when absent */
	bool optional;
	/*
	 * The subsystem is the discovery subsystem (only with
	 * SC_CONFIG_DISCOVERY): the port is a discovery controller, its
	 * trsvcid 8009 when absent over TCP, as nvme-cli's.
	 */
	bool discovery;
	/* SC_UNSET: not given (the connect default applies). */
	int nr_io_queues;		/* 0 only with nr_poll_queues */
	int nr_poll_queues;
	int nr_write_queues;
	int tos;			/* -1..255 */
	int queue_size;
	int keep_alive_tmo;
	int reconnect_delay;
	int ctrl_loss_tmo;
	int fast_io_fail_tmo;
	bool hdr_digest;
	bool data_digest;
	bool disable_sqflow;
	bool duplicate_connect;
	/* Where the connection leaves this host (nvme-cli's -w, -f), or NULL. */
	const char *host_traddr;
	const char *host_iface;
	bool tls;
	const char *tls_key;		/* a secret */
	const char *keyring;
	const char *tls_key_identity;
	/*
	 * DH-HMAC-CHAP secrets (DHHC-1 strings, only their prefix checked
	 * here), or NULL: the host entry's dhchap_key unless the port entry
	 * has its own; dhchap_ctrl_key from the port entry.
	 */
	const char *dhchap_key;
	const char *dhchap_ctrl_key;
};

struct sc_config {
	/*
	 * Every string points into the parsed JSON, except the secrets
	 * (tls_key, dhchap_key, dhchap_ctrl_key): those are copies in memory
	 * left out of core dumps (base/secret.h), their bytes in the JSON
	 * tree wiped once copied.
	 */
	struct sc_ctrl_cfg *ctrls;
	int nr_ctrls;
	int nr_hosts;
	struct json_object *root;	/* owns the strings */
	char **secrets;			/* owns the secrets' copies */
	int nr_secrets;
};

/*
 * Parse @len bytes of config.json text (named @file in messages) into
 * @cfg. Returns 0, or -errno with one line in @err, "FILE: MEMBER: cause"
 * (MEMBER as hosts[0].subsystems[1].ports[0].trsvcid): -EBADMSG (not
 * JSON), -EINVAL (a missing, mistyped, out-of-range or unknown member, no
 * controller at all, a duplicate), -E2BIG (over a limit), -EOPNOTSUPP (a
 * schema member nvmfuse does not implement), -ENOMEM.
 * sc_config_load() also refuses (-EACCES) a file with secrets (tls_key,
 * DH-HMAC-CHAP keys) that group or others may access.
 */
int sc_config_parse(const char *buf, size_t len, const char *file, struct sc_config *cfg,
		    char *err, size_t errlen);
/*
 * Read @path (at most SC_CONFIG_FILE_MAX bytes) and sc_config_parse() it;
 * -EACCES when it holds a secret and group or others may access it.
 */
int sc_config_load(const char *path, struct sc_config *cfg, char *err, size_t errlen);

/*
 * Parse flags. SC_CONFIG_DISCOVERY: a subsystem whose NQN is the
 * discovery subsystem's is accepted, its ports marked .discovery (what
 * nvme-cli writes for `discover -p`; connect-all and discover take them as
 * discovery controllers), not refused (the sidecar serves controllers with
 * namespaces only).
 */
#define SC_CONFIG_DISCOVERY	0x1u
int sc_config_parse_flags(const char *buf, size_t len, const char *file, unsigned int flags,
			  struct sc_config *cfg, char *err, size_t errlen);
int sc_config_load_flags(const char *path, unsigned int flags, struct sc_config *cfg, char *err,
			 size_t errlen);
void sc_config_free(struct sc_config *cfg);

/*
 * Write the running configuration in the same schema (what `-O` prints):
 * from @n controller objects as the daemons' info replies give them
 * (name, subnqn, transport, traddr, trsvcid, hostnqn, hostid, dhchap, and
 * "config", an object of the port members above with the values the
 * controller was asked for), the array of hosts, grouped by host NQN and
 * host ID, then subsystem NQN, one port per controller (a second
 * controller at the same address, a duplicate connect, adds none), in
 * the order given. The objects come from daemons: only the members of
 * the schema are copied, each type-checked. Secrets never come from a
 * daemon: a port gets dhchap_key, dhchap_ctrl_key and tls_key from the
 * entry of @secrets (the config file read, or NULL) for the same
 * subsystem, address and host NQN, and *@no_secret counts controllers
 * that authenticated (DH-HMAC-CHAP) with no such entry to give the key.
 * Returns 0 with *@out (put it), or -errno with one line in @err: -EINVAL
 * (a controller object lacks subnqn, transport, traddr or trsvcid),
 * -ENOMEM. The result parses back with sc_config_parse() to the same
 * controllers. Pure: no I/O.
 */
int sc_config_build(struct json_object *const *ctrls, int n, const struct sc_config *secrets,
		    struct json_object **out, int *no_secret, char *err, size_t errlen);

#endif
