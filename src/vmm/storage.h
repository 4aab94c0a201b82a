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

#define MAX_DRIVES       64
#define AHCI_MAX_PORTS   30
#define IDE_MAX_DRIVES   4     /* primary/secondary x master/slave */

enum drive_bus {
	DRIVE_BUS_VIRTIO,
	DRIVE_BUS_SATA,
	DRIVE_BUS_IDE,
};

struct drive_spec {
	char *file;             /* NULL: CD/DVD drive without media */
	char *format;           /* NULL: probe the image's header */
	enum drive_bus bus;
	bool cdrom;
	bool readonly;
	int port;               /* -1: the lowest free position on its bus */
};

/*
 * Parse "file=PATH[,format=F][,if=virtio|sata|ide][,media=disk|cdrom]
 * [,readonly=on|off][,port=N]" (a comma inside PATH is written ",,", as
 * in QEMU).  Defaults: a disk goes on virtio, a CD/DVD drive on SATA.
 * 0, or -EINVAL with a one-line reason in @err.  Free with drive_spec_free.
 */
int drive_spec_parse(const char *s, struct drive_spec *d, char *err, size_t errlen);
void drive_spec_free(struct drive_spec *d);
const char *drive_bus_name(enum drive_bus bus);

struct machine;

/* Open every drive's image and create the controllers.  0 or -errno. */
int machine_add_storage(struct machine *m, char *err, size_t errlen);
/* Destroy the controllers (their I/O threads stop) and close the images. */
void machine_remove_storage(struct machine *m);

#endif
