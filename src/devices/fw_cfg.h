/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fw_cfg: QEMU's documented firmware configuration interface
 * (docs/specs/fw_cfg.rst in QEMU's tree), which Debian's SeaBIOS reads to
 * learn the machine: a selector port, a data port and a DMA address
 * register, serving numbered items and a directory of named files.
 *
 * The machine creates the "fw_cfg" model once and fills it before the
 * first boot with fw_cfg_add_item / fw_cfg_add_file (data is copied);
 * fw_cfg_set_file replaces a file's contents between boots (the boot
 * order).  Everything the guest sends (selector values, DMA control
 * structures, lengths, addresses) is checked: a bad request sets the
 * DMA error bit or reads zeros, never reaches past an item or guest RAM.
 */
#ifndef HUTCH_FW_CFG_H
#define HUTCH_FW_CFG_H

#include <stddef.h>
#include <stdint.h>

struct device;

#define FW_CFG_PORT_SEL   0x510   /* 16-bit selector */
#define FW_CFG_PORT_DATA  0x511   /* 8-bit data */
#define FW_CFG_PORT_DMA   0x514   /* 64-bit DMA address, big-endian, two 32-bit halves */

/* Well-known keys (QEMU's fw_cfg.rst and its fw_cfg_keys.h numbering). */
#define FW_CFG_SIGNATURE   0x0000
#define FW_CFG_ID          0x0001
#define FW_CFG_RAM_SIZE    0x0003
#define FW_CFG_NB_CPUS     0x0005
#define FW_CFG_NUMA        0x000d
#define FW_CFG_BOOT_MENU   0x000e
#define FW_CFG_MAX_CPUS    0x000f
#define FW_CFG_FILE_DIR    0x0019
#define FW_CFG_FILE_FIRST  0x0020

#define FW_CFG_MAX_FILE_NAME 56   /* including the terminating NUL */

/* Add item @key (below FW_CFG_FILE_FIRST, not a key the model serves itself). */
int fw_cfg_add_item(struct device *dev, uint16_t key, const void *data, size_t len);
/* Add a named file; it gets the next key from FW_CFG_FILE_FIRST.
 * 0, or -EEXIST (name taken), -EINVAL (empty or too long), -ENOSPC, -ENOMEM. */
int fw_cfg_add_file(struct device *dev, const char *name, const void *data, size_t len);
/* Replace the contents of file @name (added before); -ENOENT if absent. */
int fw_cfg_set_file(struct device *dev, const char *name, const void *data, size_t len);

#endif
