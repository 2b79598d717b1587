/* SPDX-License-Identifier: MIT */
/*
 * Who may send what through a CUSE node: a pure decision, per call, from
 * facts the CUSE frontend gathers (cuse.c) and the daemon's options. No I/O,
 * no global state: table-tested in tests/unit/test_cuse_auth.c.
 *
 * The model is the Linux 6.12 host's (drivers/nvme/host/ioctl.c, as in
 * Debian's 6.12.117 the guest tests run: nvme_cmd_allowed with
 * nvme_admin_cmd_allowed and nvme_ns_cmd_allowed, called from
 * nvme_user_cmd, nvme_user_cmd64 and nvme_submit_io; nvme_dev_ioctl for
 * reset, subsystem reset and rescan; nvme_command_effects in core.c), then
 * nvmfuse's own restrictions on top:
 *
 *   1. The kernel's rule. A caller with CAP_SYS_ADMIN ("capable") may send
 *      anything, except Set Features of Host Behavior Support, Host Memory
 *      Buffer, Number of Queues and Autonomous Power State Transition,
 *      which nobody may send. Others may send:
 *        - on the admin queue, Identify with CNS 00h, 01h, 05h, 06h or 08h;
 *        - an I/O command whose effects log entry (with the CSE bits
 *          ignored, as the kernel does for I/O commands) has CSUPP and no
 *          bit beyond CSUPP, LBCC, UUID Selection and the scope field;
 *          when it moves data to the controller (opcode bit 0) or has LBCC,
 *          the file must be open for writing;
 *        - never a vendor-specific (opcode >= 80h) or Fabrics (7Fh) opcode;
 *        - never NVME_IOCTL_RESET, SUBSYS_RESET or RESCAN.
 *      Refusal: -EACCES, exactly where the kernel answers EACCES.
 *   2. nvmfuse's rule, for calls the kernel rule let through (so the
 *      caller can tell "not your rights" from "not on this node"). The
 *      host engine owns the association: every Fabrics command but Property
 *      Get (Property Set, Connect, Disconnect, Authentication Send and
 *      Receive, any other type), and Set Features of Keep Alive Timer, are
 *      refused for everyone. With the read-only option only commands that
 *      change nothing on the controller or the medium pass (admin: Get Log
 *      Page, Identify, Get Features, Fabrics Property Get; I/O: Read,
 *      Compare, Verify) and reset, subsystem reset and rescan are refused.
 *      With an allow-list for a queue, an opcode not on it is refused.
 *      Refusal: -EPERM, for root too.
 *
 * Ioctls the kernel refuses before it asks for rights (a bad nsid, flags,
 * an opcode SUBMIT_IO does not know) are the caller's business: call this
 * after those checks, as the kernel does.
 */
#ifndef NVMF_CUSE_AUTH_H
#define NVMF_CUSE_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The call, as the ioctl it came in. */
enum cuse_auth_call {
	CUSE_AUTH_ADMIN,	/* NVME_IOCTL_ADMIN_CMD / ADMIN64_CMD, either node */
	CUSE_AUTH_IO,		/* IO_CMD, IO64_CMD(_VEC), SUBMIT_IO: an I/O command */
	CUSE_AUTH_RESET,	/* NVME_IOCTL_RESET */
	CUSE_AUTH_SUBSYS_RESET,	/* NVME_IOCTL_SUBSYS_RESET */
	CUSE_AUTH_RESCAN,	/* NVME_IOCTL_RESCAN */
};

enum cuse_auth_node {
	CUSE_AUTH_NODE_CTRL,	/* /dev/nvmeN */
	CUSE_AUTH_NODE_NS,	/* /dev/ngNnM */
};

/* The daemon's tightening options (nvmfuse connect --dev-readonly etc.). */
struct cuse_auth_policy {
	bool readonly;		/* only commands that change nothing */
	bool allow_admin_set;	/* allow_admin is in force */
	bool allow_io_set;	/* allow_io is in force */
	uint64_t allow_admin[4];	/* admin opcodes allowed, bit per opcode */
	uint64_t allow_io[4];		/* I/O opcodes allowed */
};

/* One call's facts. */
struct cuse_auth_req {
	enum cuse_auth_call call;
	enum cuse_auth_node node;
	uint8_t opcode;		/* ADMIN and IO */
	uint32_t nsid;		/* Fabrics commands: the type (FCTYPE) in bits 7:0 */
	uint32_t cdw10;		/* Identify: CNS; Set Features: FID */
	uint32_t effects;	/* IO: the effects log's I/O entry for opcode, CPU order */
	bool open_for_write;	/* the fd was opened O_WRONLY or O_RDWR */
	bool capable;		/* CAP_SYS_ADMIN, in the daemon's user namespace */
};

/*
 * Decide @r under @p: 0 (allowed), -EACCES (the kernel's rule: needs
 * CAP_SYS_ADMIN, or an fd open for writing), -EPERM (nvmfuse's rule: nobody
 * may) or -ENOTTY (reset, subsystem reset or rescan on a namespace node,
 * which the kernel's node does not know either). When @why is not NULL it
 * gets a static phrase naming the cause ("" when allowed).
 *
 * Capability only ever widens what is allowed, so a caller may decide with
 * capable = false first and look the capability up only on -EACCES.
 * Thread: any (pure).
 */
int cuse_auth_check(const struct cuse_auth_policy *p, const struct cuse_auth_req *r,
		    const char **why);

/*
 * Parse "0x02,0x1,5" (comma-separated opcodes 0..255, hex with 0x or
 * decimal) into @bits (256 bits, set where listed; other bits untouched).
 * Returns 0 or -EINVAL with the offending item named in @err. Thread: any.
 */
int cuse_auth_parse_opcodes(const char *list, uint64_t bits[4], char *err, size_t errlen);

#endif
