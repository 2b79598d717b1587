/* SPDX-License-Identifier: MIT */
/*
 * The ublk UAPI parts Debian 12's <linux/ublk_cmd.h> (a 6.1 header) lacks:
 * the ioctl-encoded command opcodes that 6.12 expects (UBLK_F_CMD_IOCTL_ENCODE
 * is always on) and GET_FEATURES. The structures themselves are unchanged.
 */
#ifndef NVMF_UBLK_UAPI_H
#define NVMF_UBLK_UAPI_H

#include <linux/ioctl.h>
#include <linux/ublk_cmd.h>

#define NVMF_UBLK_CTRL(dir, nr)	dir('u', nr, struct ublksrv_ctrl_cmd)
#define UBLK_U_CMD_ADD_DEV	NVMF_UBLK_CTRL(_IOWR, UBLK_CMD_ADD_DEV)
#define UBLK_U_CMD_DEL_DEV	NVMF_UBLK_CTRL(_IOWR, UBLK_CMD_DEL_DEV)
#define UBLK_U_CMD_START_DEV	NVMF_UBLK_CTRL(_IOWR, UBLK_CMD_START_DEV)
#define UBLK_U_CMD_STOP_DEV	NVMF_UBLK_CTRL(_IOWR, UBLK_CMD_STOP_DEV)
#define UBLK_U_CMD_SET_PARAMS	NVMF_UBLK_CTRL(_IOWR, UBLK_CMD_SET_PARAMS)
#define UBLK_U_CMD_GET_PARAMS	NVMF_UBLK_CTRL(_IOR, UBLK_CMD_GET_PARAMS)
#define UBLK_U_CMD_GET_DEV_INFO	NVMF_UBLK_CTRL(_IOR, UBLK_CMD_GET_DEV_INFO)
#define UBLK_U_CMD_START_USER_RECOVERY	NVMF_UBLK_CTRL(_IOWR, UBLK_CMD_START_USER_RECOVERY)
#define UBLK_U_CMD_END_USER_RECOVERY	NVMF_UBLK_CTRL(_IOWR, UBLK_CMD_END_USER_RECOVERY)
#define UBLK_U_CMD_GET_FEATURES	NVMF_UBLK_CTRL(_IOR, 0x13)
#define UBLK_U_CMD_DEL_DEV_ASYNC	NVMF_UBLK_CTRL(_IOR, 0x14)

#define UBLK_U_IO_FETCH_REQ		_IOWR('u', UBLK_IO_FETCH_REQ, struct ublksrv_io_cmd)
#define UBLK_U_IO_COMMIT_AND_FETCH_REQ	_IOWR('u', UBLK_IO_COMMIT_AND_FETCH_REQ, struct ublksrv_io_cmd)

/* Per-queue descriptor area in the /dev/ublkcN mmap space. */
#define UBLK_MAX_QUEUE_DEPTH_BYTES	(UBLK_MAX_QUEUE_DEPTH * sizeof(struct ublksrv_io_desc))

#endif
