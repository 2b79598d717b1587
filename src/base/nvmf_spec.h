/* SPDX-License-Identifier: MIT */
/*
 * NVMe and NVMe-oF wire structures that libnvme does not define in wire
 * form: the 64-byte submission queue entry, the 16-byte completion queue
 * entry, SGL descriptors and the Fabrics command fields. Identify, log page
 * and Connect-data layouts come from libnvme's <nvme/types.h>, which this
 * header includes, so the two go in either order.
 *
 * Constants: libnvme's names wherever libnvme has the value: opcodes
 * (nvme_admin_*, nvme_cmd_*), Fabrics command types (nvme_fabrics_type_*),
 * Identify CNS (NVME_IDENTIFY_CNS_*), features (NVME_FEAT_FID_*), log
 * pages (NVME_LOG_LID_*), properties and their fields (NVME_REG_*,
 * NVME_CAP_*, NVME_CC_*, NVME_CSTS_*), AER values (NVME_AER_*), status
 * types, codes and bits (NVME_SCT_*, NVME_SC_*), the discovery NQN and NQN
 * size. Defined here only what libnvme lacks: SGL identifiers, the SQE
 * PSDT flag, the engine's whole-status codes (NVMF_SC_*, built from
 * libnvme's SCT and SC) and their accessors, the dynamic CNTLID and the
 * AER dword 0 accessors, all under our NVMF_ prefix so that no name here
 * can be one of libnvme's (tests/unit/libnvme-names.sh checks, and
 * tests/unit/test_spec checks the status codes against libnvme's decoder).
 * Where a libnvme value is relied on, a static_assert pins it.
 *
 * All multi-byte fields are little-endian on the wire; the structs hold
 * wire bytes and are converted with htole*()/le*toh() at use.
 * References: NVMe Base 2.0 (SQE 4.2, CQE 4.6, SGL 4.3.2), NVMe over
 * Fabrics 1.1 (Fabrics commands 3.3-3.6, Connect 3.3).
 */
#ifndef NVMF_SPEC_H
#define NVMF_SPEC_H

#include <assert.h>
#include <endian.h>
#include <stddef.h>
#include <stdint.h>

#include <nvme/types.h>

/* SGL descriptor (Base 4.3.2), 16 bytes. */
struct nvmf_sgl {
	uint64_t addr;
	uint32_t length;
	uint8_t  rsvd[3];
	uint8_t  id;		/* type [7:4], subtype [3:0] */
};
static_assert(sizeof(struct nvmf_sgl) == 16, "SGL descriptor is 16 bytes");

#define NVMF_SGL_ID_ICD		0x01	/* data block, offset into in-capsule data */
#define NVMF_SGL_ID_TCP_XPORT	0x5A	/* transport data block, transport specific */
#define NVMF_SGL_ID_KEYED	0x40	/* keyed data block, address */
#define NVMF_SGL_ID_KEYED_INV	0x4F	/* keyed data block, invalidate key */

/* Submission queue entry (Base 4.2), 64 bytes. */
struct nvmf_sqe {
	uint8_t  opc;
	uint8_t  flags;		/* FUSE [1:0], PSDT [7:6] */
	uint16_t cid;
	uint32_t nsid;
	uint32_t cdw2;
	uint32_t cdw3;
	uint64_t mptr;
	struct nvmf_sgl sgl1;	/* DPTR as SGL1 on fabrics */
	uint32_t cdw10;
	uint32_t cdw11;
	uint32_t cdw12;
	uint32_t cdw13;
	uint32_t cdw14;
	uint32_t cdw15;
};
static_assert(sizeof(struct nvmf_sqe) == 64, "SQE is 64 bytes");
static_assert(offsetof(struct nvmf_sqe, sgl1) == 24, "SGL1 at byte 24");
static_assert(offsetof(struct nvmf_sqe, cdw10) == 40, "CDW10 at byte 40");

/* PSDT 01b: SGL, metadata pointer is a contiguous buffer. Fabrics hosts set it. */
#define NVMF_SQE_FLAGS_SGL	0x40

/* Completion queue entry (Base 4.6), 16 bytes. */
struct nvmf_cqe {
	uint32_t dw0;
	uint32_t dw1;
	uint16_t sqhd;
	uint16_t sqid;
	uint16_t cid;
	uint16_t status;	/* P [0], SC [8:1], SCT [11:9], CRD [13:12], M [14], DNR [15] */
};
static_assert(sizeof(struct nvmf_cqe) == 16, "CQE is 16 bytes");

/*
 * Status as carried in the engine: the CQE status field shifted right by
 * one (phase dropped), the same convention as the Linux ioctl return value
 * and libnvme's enum nvme_status_field: SC [7:0], SCT [10:8]
 * (NVME_SCT_SHIFT), CRD [12:11] (NVME_SC_CRD), MORE [13] (NVME_SC_MORE),
 * DNR [14] (NVME_SC_DNR); nvme_status_code_type() and nvme_status_code()
 * take it apart, nvme_status_to_string() names it. What libnvme lacks is
 * ours: SCT and SC as one code, and the CRD field's value.
 */
static_assert(NVME_SCT_SHIFT == 8 && NVME_SCT_MASK == 0x7 && NVME_SC_SHIFT == 0 &&
	      NVME_SC_MASK == 0xff, "libnvme's status: SC [7:0], SCT [10:8]");
static_assert(NVME_SC_CRD == 0x1800 && NVME_SC_MORE == 0x2000 && NVME_SC_DNR == 0x4000,
	      "libnvme's status: CRD [12:11], MORE [13], DNR [14]");
#define NVMF_STATUS_CRD(s)	(((s) & NVME_SC_CRD) >> 11)
#define NVMF_STATUS_CODE(s)	((s) & 0x7ff)	/* SCT and SC only */
#define NVMF_STATUS_MAKE(sct, sc) ((uint16_t)(((sct) << NVME_SCT_SHIFT) | (sc)))

static inline uint16_t nvmf_cqe_status(const struct nvmf_cqe *cqe)
{
	return le16toh(cqe->status) >> 1;
}

/*
 * Status codes the engine produces or acts on, as NVMF_STATUS_CODE()
 * values: libnvme's SC numbers repeat across status code types (83h is
 * Connect Restart Discovery, Reservation Conflict, ...), so each is named
 * here with its type, from libnvme's NVME_SCT_* and NVME_SC_*.
 */
#define NVMF_SC_INVALID_OPCODE	NVMF_STATUS_MAKE(NVME_SCT_GENERIC, NVME_SC_INVALID_OPCODE)
#define NVMF_SC_DATA_XFER_ERROR	NVMF_STATUS_MAKE(NVME_SCT_GENERIC, NVME_SC_DATA_XFER_ERROR)
#define NVMF_SC_INTERNAL	NVMF_STATUS_MAKE(NVME_SCT_GENERIC, NVME_SC_INTERNAL)
#define NVMF_SC_INVALID_NS	NVMF_STATUS_MAKE(NVME_SCT_GENERIC, NVME_SC_INVALID_NS)
#define NVMF_SC_TRANSIENT_TR_ERR NVMF_STATUS_MAKE(NVME_SCT_GENERIC, NVME_SC_TRAN_TPORT_ERROR)
/*
 * Command specific 83h: nvmet's answer to a DSM or Write Zeroes its
 * backend lacks (the kernel's NVME_SC_ONCS_NOT_SUPPORTED; libnvme names
 * 83h only per command set, none of them this meaning).
 */
#define NVMF_SC_ONCS_NOT_SUPPORTED NVMF_STATUS_MAKE(NVME_SCT_CMD_SPECIFIC, 0x83)
#define NVMF_SC_CONNECT_INVALID_PARAM \
	NVMF_STATUS_MAKE(NVME_SCT_CMD_SPECIFIC, NVME_SC_CONNECT_INVALID_PARAM)
#define NVMF_SC_CONNECT_INVALID_HOST \
	NVMF_STATUS_MAKE(NVME_SCT_CMD_SPECIFIC, NVME_SC_CONNECT_INVALID_HOST)
#define NVMF_SC_DISCOVERY_RESTART \
	NVMF_STATUS_MAKE(NVME_SCT_CMD_SPECIFIC, NVME_SC_DISCOVERY_RESTART)
/* Path related (SCT 3): ANA states that refuse I/O on this controller (Base 8.1.3). */
#define NVMF_SC_ANA_PERSISTENT_LOSS NVMF_STATUS_MAKE(NVME_SCT_PATH, NVME_SC_ANA_PERSISTENT_LOSS)
#define NVMF_SC_ANA_INACCESSIBLE NVMF_STATUS_MAKE(NVME_SCT_PATH, NVME_SC_ANA_INACCESSIBLE)
#define NVMF_SC_ANA_TRANSITION	NVMF_STATUS_MAKE(NVME_SCT_PATH, NVME_SC_ANA_TRANSITION)
#define NVMF_SC_HOST_PATH_ERROR	NVMF_STATUS_MAKE(NVME_SCT_PATH, NVME_SC_HOST_PATH_ERROR)
#define NVMF_SC_HOST_ABORTED_CMD NVMF_STATUS_MAKE(NVME_SCT_PATH, NVME_SC_CMD_ABORTED_BY_HOST)
/* Each equals the literal it replaced (and what a Linux ioctl returns for it). */
static_assert(NVMF_SC_INVALID_OPCODE == 0x001 && NVMF_SC_DATA_XFER_ERROR == 0x004 &&
	      NVMF_SC_INTERNAL == 0x006 && NVMF_SC_INVALID_NS == 0x00b &&
	      NVMF_SC_TRANSIENT_TR_ERR == 0x022, "generic status codes");
static_assert(NVMF_SC_ONCS_NOT_SUPPORTED == 0x183 && NVMF_SC_CONNECT_INVALID_PARAM == 0x182 &&
	      NVMF_SC_CONNECT_INVALID_HOST == 0x184 && NVMF_SC_DISCOVERY_RESTART == 0x190,
	      "command specific status codes");
static_assert(NVMF_SC_ANA_PERSISTENT_LOSS == 0x301 && NVMF_SC_ANA_INACCESSIBLE == 0x302 &&
	      NVMF_SC_ANA_TRANSITION == 0x303 && NVMF_SC_HOST_PATH_ERROR == 0x370 &&
	      NVMF_SC_HOST_ABORTED_CMD == 0x371, "path related status codes");

/*
 * Opcodes are libnvme's: enum nvme_admin_opcode (nvme_admin_identify, ...,
 * nvme_admin_fabrics 7Fh) and enum nvme_io_opcode (nvme_cmd_read, ...).
 */
static_assert(nvme_admin_fabrics == 0x7f, "Fabrics commands are opcode 7Fh");

/*
 * Identify CNS values and feature identifiers are libnvme's: enum
 * nvme_identify_cns (NVME_IDENTIFY_CNS_*) and enum nvme_features_id
 * (NVME_FEAT_FID_*).
 */

/* Fabrics command types (Fabrics 3.x) are libnvme's enum nvme_fabrics_type. */

/* Fabrics Connect command (Fabrics 3.3), SQE layout. */
struct nvmf_connect_sqe {
	uint8_t  opc;
	uint8_t  flags;
	uint16_t cid;
	uint8_t  fctype;
	uint8_t  rsvd5[19];
	struct nvmf_sgl sgl1;
	uint16_t recfmt;
	uint16_t qid;
	uint16_t sqsize;	/* 0's based */
	uint8_t  cattr;
	uint8_t  rsvd47;
	uint32_t kato;		/* milliseconds, admin queue only */
	uint8_t  rsvd52[12];
};
static_assert(sizeof(struct nvmf_connect_sqe) == 64, "Connect SQE is 64 bytes");
static_assert(offsetof(struct nvmf_connect_sqe, qid) == 42, "QID at byte 42");
static_assert(offsetof(struct nvmf_connect_sqe, kato) == 48, "KATO at byte 48");

/* Property Get/Set (Fabrics 3.4, 3.5), SQE layout. */
struct nvmf_prop_sqe {
	uint8_t  opc;
	uint8_t  flags;
	uint16_t cid;
	uint8_t  fctype;
	uint8_t  rsvd5[35];
	uint8_t  attrib;	/* [2:0] size: 0 = 4 bytes, 1 = 8 bytes */
	uint8_t  rsvd41[3];
	uint32_t ofst;
	uint64_t value;		/* Property Set only */
	uint8_t  rsvd56[8];
};
static_assert(sizeof(struct nvmf_prop_sqe) == 64, "Property SQE is 64 bytes");
static_assert(offsetof(struct nvmf_prop_sqe, ofst) == 44, "OFST at byte 44");
static_assert(offsetof(struct nvmf_prop_sqe, value) == 48, "VALUE at byte 48");

/*
 * Controller properties (Base 3.1.3) are libnvme's: offsets NVME_REG_*,
 * fields NVME_CAP_*(), NVME_CC_*, NVME_CSTS_*() with NVME_GET()/NVME_SET().
 * The host core relies on these positions (Base figures 36, 41, 42).
 */
static_assert(NVME_REG_CC == 0x14 && NVME_REG_CSTS == 0x1c, "CC at 14h, CSTS at 1Ch");
static_assert(NVME_CAP_CSS_SHIFT + 6 == 43 && NVME_CAP_CSS_CSI == 1 << 6, "CAP.CSS bit 6 is bit 43");
static_assert(NVME_SET(1, CC_EN) == 1u && NVME_SET(NVME_CC_CSS_CSI, CC_CSS) == 6u << 4 &&
	      NVME_SET(NVME_CC_SHN_NORMAL, CC_SHN) == 1u << 14 && NVME_SET(6, CC_IOSQES) == 6u << 16 &&
	      NVME_SET(4, CC_IOCQES) == 4u << 20, "CC.EN, CSS, SHN, IOSQES, IOCQES");
static_assert(NVME_CSTS_RDY(1u) == 1 && NVME_CSTS_CFS(2u) == 1 &&
	      NVME_CSTS_SHST(2u << 2) == NVME_CSTS_SHST_CMPLT, "CSTS.RDY, CFS, SHST");

/*
 * The discovery subsystem's NQN and the NQN length limit (223 bytes, Base
 * 4.5) are libnvme's NVME_DISC_SUBSYS_NAME and NVMF_NQN_SIZE.
 */
static_assert(NVMF_NQN_SIZE == 223, "NQNs are at most 223 bytes");
#define NVMF_CNTLID_DYNAMIC	0xffff	/* Connect: the controller picks the CNTLID */

/*
 * Asynchronous event completion dword 0 (Base 5.2): its fields. The
 * values are libnvme's: type enum nvme_async_event_type (NVME_AER_NOTICE),
 * information NVME_AER_NOTICE_* and log page NVME_LOG_LID_*.
 */
#define NVMF_AER_TYPE(dw0)	((dw0) & 0x7)
#define NVMF_AER_INFO(dw0)	(((dw0) >> 8) & 0xff)
#define NVMF_AER_LID(dw0)	(((dw0) >> 16) & 0xff)

#endif
