/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The --drive spec: one disk or CD/DVD drive of a VM, as libhutch writes
 * it (drive_spec_format) onto hutch-vm's command line and hutch-vm reads
 * it back (drive_spec_parse).  Both sides use this one definition (a
 * round-trip test in tests/lib checks every kind of attachment), so what
 * the control library knows about a drive, its format above all, cannot
 * get lost between them.  Syntax in docs/hutch-vm.md:
 *
 *   file=PATH[,format=raw|qcow2|vdi|vmdk][,if=virtio|sata|ide]
 *   [,media=disk|cdrom][,readonly=on|off][,port=N][,hostcache=on|off]
 *   [,l2-cache-size=BYTES][,refcount-cache-size=BYTES]
 *
 * A comma inside PATH is written ",," (as in QEMU).
 */
#ifndef HUTCH_DRIVE_SPEC_H
#define HUTCH_DRIVE_SPEC_H

#include <stdbool.h>
#include <stddef.h>

#define DRIVE_SATA_PORTS 30	/* one AHCI controller: ports 0..29 */
#define DRIVE_IDE_PORTS 4	/* PIIX3: primary/secondary x master/slave */
#define DRIVE_MAX_CACHE_SIZE (1ull << 30) /* l2-/refcount-cache-size bound */

enum drive_bus {
	DRIVE_BUS_VIRTIO,
	DRIVE_BUS_SATA,
	DRIVE_BUS_IDE,
};

struct drive_spec {
	char *file;		/* NULL: CD/DVD drive without media */
	/*
	 * "raw" "qcow2" "vdi" "vmdk"; NULL: hutch-vm probes the header.  A
	 * probe believes whatever a guest wrote into a raw disk (QEMU's
	 * CVE-2008-2004), so libhutch always gives the format it registered.
	 */
	char *format;
	enum drive_bus bus;
	bool cdrom;		/* ATAPI CD/DVD drive (always read-only) */
	bool readonly;
	int port;		/* -1: the lowest free position on its bus */
	/*
	 * hostcache=off (the controller's VirtualBox hostiocache="false"):
	 * the image is used O_DIRECT (BLK_NOCACHE), bypassing the host's
	 * page cache.  Disks only; a CD/DVD is always read through it.
	 */
	bool nocache;
	/* qcow2 metadata caches in bytes (blk_set_cache_size); 0 = default. */
	unsigned long long l2_cache_size, refcount_cache_size;
};

/*
 * Parse a spec into d.  Defaults: a disk goes on virtio, a CD/DVD drive
 * on SATA.  0, or -EINVAL with a one-line reason in err (d then holds
 * nothing to free).  Free with drive_spec_free.
 */
int drive_spec_parse(const char *s, struct drive_spec *d, char *err, size_t errlen);
/*
 * The spec for d (malloc'd; NULL only when out of memory), every field
 * spelled out, so drive_spec_parse gives back d.  d must be valid (as
 * drive_spec_parse would accept it).
 */
char *drive_spec_format(const struct drive_spec *d);
void drive_spec_free(struct drive_spec *d);
const char *drive_bus_name(enum drive_bus bus);
/*
 * The spec's name for an image format, from any spelling the media
 * registry or a user uses ("RAW", "VDI", "qcow2", "VMDK", any case);
 * NULL if it is none of raw, qcow2, vdi, vmdk.
 */
const char *drive_format_name(const char *format);

#endif
