/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Drives and the storage controllers that hold them.
 *
 * hutch-vm's --drive option (and vmctl's storage attachments, which
 * libhutch turns into --drive options) become drive specs; at machine
 * creation every image is opened through the block layer and the drives
 * are grouped onto controllers: one virtio-blk device per virtio drive,
 * one AHCI controller for all SATA drives, the PIIX3 IDE function for
 * the IDE drives.
 */
#ifndef HUTCH_STORAGE_H
#define HUTCH_STORAGE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * struct drive_spec and its parser live in src/common/drive_spec.h: one
 * definition that libhutch (which writes --drive) shares with hutch-vm.
 */
#include "drive_spec.h"

#define MAX_DRIVES       64
#define AHCI_MAX_PORTS   DRIVE_SATA_PORTS
#define IDE_MAX_DRIVES   DRIVE_IDE_PORTS  /* primary/secondary x master/slave */

struct machine;

/* Open every drive's image and create the controllers.  0 or -errno. */
int machine_add_storage(struct machine *m, char *err, size_t errlen);
/* Destroy the controllers (their I/O threads stop) and close the images. */
void machine_remove_storage(struct machine *m);

#endif
