/* SPDX-License-Identifier: MIT */
/*
 * The control protocol between the nvmfuse command and its controller
 * daemons (daemon/registry.h carries it over RUNDIR/NAME.sock): building
 * and checking requests and replies, as JSON (json-c), versioned. Pure:
 * no I/O, no global state, so it is table-tested (tests/unit/test_ctl_proto.c)
 * and fuzzed (tests/fuzz/fuzz_ctl_proto.c).
 *
 * Wire format, one exchange per connection:
 *
 *   client -> daemon: one JSON object on one line, at most
 *                     NVMF_CTL_REQUEST_MAX bytes, ending with '\n' (or with
 *                     the end of the client's writes):
 *                       {"version":1,"op":"info"}
 *                       {"version":1,"op":"disconnect","force":false}
 *                       {"version":1,"op":"disconnect","keep_disks":true}
 *                       {"version":1,"op":"add_path","transport":"tcp",
 *                        "traddr":"10.0.0.2","trsvcid":"4421","iopolicy":"numa"}
 *                       {"version":1,"op":"remove_path","path":1}
 *   daemon -> client: one JSON object on one line, then the daemon closes:
 *                       {"version":1,"ok":true, ...op's members}
 *                       {"version":1,"ok":false,"error":"one line, the cause"}
 *
 *   op          request members      reply members (ok:true)
 *   info        -                    "controller": the object nvmfuse(8)
 *                                    documents under list -o json
 *   disconnect  "force": bool        "pid": the daemon's pid; it tears
 *               (optional, false)    down after answering, then exits
 *               "keep_disks": bool   (with keep_disks: it exits leaving its
 *               (optional, false;    ublk disks waiting for the next daemon,
 *               not with force)      daemon/state.h)
 *   add_path    "transport", "traddr", "path": its name (NAMEpSLOT), "cntlid";
 *               "trsvcid": strings   the daemon connected another controller
 *               "iopolicy": string   of its subsystem there with its own host
 *               (optional)           identity and options, checked that its
 *                                    namespaces are the same (NGUID, EUI-64,
 *                                    UUID) and serves its disks over it too
 *   remove_path "path": slot (0-7)   "pid" when that was the only path: the
 *                                    daemon then stops, as for disconnect
 *
 * A request whose version is not NVMF_CTL_VERSION, whose op is unknown, or
 * that has a member its op does not define or a member of the wrong type,
 * gets an ok:false reply naming the cause; so does anything that is not one
 * JSON object (strict JSON, valid UTF-8, no NUL byte, nesting depth at most
 * NVMF_CTL_DEPTH). A version bump is for any change a peer of the old
 * version would misread; a new op or member is such a change.
 *
 * Every string a function here returns or fills in is the caller's; @err
 * gets one line naming the cause whenever a function fails.
 */
#ifndef NVMF_CTL_PROTO_H
#define NVMF_CTL_PROTO_H

#include <stdbool.h>
#include <stddef.h>

struct json_object;

#define NVMF_CTL_VERSION	1
#define NVMF_CTL_REQUEST_MAX	4096		/* bytes, the newline included */
#define NVMF_CTL_REPLY_MAX	(1 << 20)	/* bytes; info grows with namespaces */
#define NVMF_CTL_DEPTH		8		/* JSON nesting, replies included */

enum nvmf_ctl_op {
	NVMF_CTL_INFO,
	NVMF_CTL_DISCONNECT,
	NVMF_CTL_ADD_PATH,
	NVMF_CTL_REMOVE_PATH,
};

#define NVMF_CTL_PATH_MAX	8	/* remove_path: slots 0 .. NVMF_CTL_PATH_MAX - 1 */

struct nvmf_ctl_request {
	enum nvmf_ctl_op op;
	bool force;		/* disconnect: even while a disk is in use */
	bool keep_disks;	/* disconnect: leave the disks to the next daemon */
	/* add_path: where ("" iopolicy: unchanged); no control characters */
	char transport[16];
	char traddr[256];
	char trsvcid[32];
	char iopolicy[16];
	/*
	 * add_path: where the new path leaves this host (connect's -w, -f,
	 * -T), "" and -1 for the system's; optional members. The parser sets
	 * tos to -1 when absent.
	 */
	char host_traddr[256];
	char host_iface[16];
	int tos;
	int path;		/* remove_path: the slot */
};

/* "info", "disconnect", "add_path", "remove_path"; NULL for a value outside the enum. */
const char *nvmf_ctl_op_str(enum nvmf_ctl_op op);

/*
 * The request line for @r (JSON, '\n'-terminated, NUL-terminated), malloc'd
 * into *@out. Returns 0, -EINVAL for an op outside the enum, or -ENOMEM.
 */
int nvmf_ctl_request_build(const struct nvmf_ctl_request *r, char **out);

/*
 * Check @len bytes from a client (any bytes: no NUL terminator needed, none
 * allowed) and fill @r. Whitespace may follow the object; nothing else.
 * Returns 0, or with @err set: -EBADMSG (not one JSON object), -EPROTO (a
 * version other than NVMF_CTL_VERSION), -EOPNOTSUPP (unknown op), -EINVAL
 * (a missing, unknown or mistyped member, or force and keep_disks both
 * true), -ENOMEM.
 */
int nvmf_ctl_request_parse(const char *buf, size_t len, struct nvmf_ctl_request *r, char *err,
			   size_t errlen);

/*
 * A reply under construction: {"version":1,"ok":true}, to which the caller
 * adds the op's members; NULL when out of memory. Put it with
 * nvmf_ctl_reply_build() or json_object_put().
 */
struct json_object *nvmf_ctl_reply_ok(void);
/* {"version":1,"ok":false,"error":@error}; NULL when out of memory. */
struct json_object *nvmf_ctl_reply_error(const char *error);
/*
 * Serialize @reply (consumed, even on error) as one '\n'-terminated line,
 * malloc'd into *@out. Returns 0 or -ENOMEM.
 */
int nvmf_ctl_reply_build(struct json_object *reply, char **out);

/*
 * Check @len bytes from a daemon. Returns 0 and the reply object in *@out
 * (the caller puts it) when it says ok:true; else, with @err set:
 * -EREMOTEIO (ok:false: @err is the daemon's error text), -EPROTO (the
 * daemon speaks another protocol version, or a reply without one: @err
 * says which), -EBADMSG (not one JSON object: a daemon of an nvmfuse from
 * before this protocol answers in text), -ENOMEM.
 */
int nvmf_ctl_reply_parse(const char *buf, size_t len, struct json_object **out, char *err,
			 size_t errlen);

#endif
