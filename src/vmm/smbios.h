/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * SMBIOS tables (DMTF DSP0134, version 2.8) for the firmware, handed over
 * through fw_cfg as QEMU does: "etc/smbios/smbios-anchor" is a 31-byte
 * SMBIOS 2.1-style ("_SM_") entry point whose table address SeaBIOS fills
 * in when it places "etc/smbios/smbios-tables" (its smbios_romfile_setup
 * recomputes the address and checksums).  The 32-bit entry point rather
 * than SMBIOS 3.0's: every SeaBIOS takes it, and the table stays far
 * below its 64 KiB limit.
 *
 * The structures: BIOS (type 0), system (1, with the caller's UUID),
 * chassis (3), one processor per vCPU (4), the memory array (16), its
 * devices (17, one per 16 GiB as on a real board, bigger ones past 255),
 * the mapped RAM below and above 4 GiB (19), boot status (32) and end of
 * table (127).
 * Pure code, unit-tested by parsing the result back.
 */
#ifndef HUTCH_SMBIOS_H
#define HUTCH_SMBIOS_H

#include <stddef.h>
#include <stdint.h>

#define SMBIOS_FW_CFG_ANCHOR "etc/smbios/smbios-anchor"
#define SMBIOS_FW_CFG_TABLES "etc/smbios/smbios-tables"

#define SMBIOS_ANCHOR_LEN    31
#define SMBIOS_MAX_CPUS      254
#define SMBIOS_MAX_STRING    64    /* longer caller strings are cut */

struct smbios_config {
	unsigned int cpus;          /* 1..SMBIOS_MAX_CPUS */
	uint64_t ram_below_4g;      /* bytes of RAM from 0 (the e820 hole is not RAM) */
	uint64_t ram_above_4g;      /* bytes of RAM from 4 GiB, 0 if none */
	uint8_t uuid[16];           /* the VM's UUID, RFC 4122 byte order */
	/* Optional (NULL: a default); printable ASCII, cut at SMBIOS_MAX_STRING. */
	const char *bios_vendor;    /* "Hutch" */
	const char *bios_version;   /* "1.0" */
	const char *bios_date;      /* "01/01/2026", mm/dd/yyyy */
	const char *product;        /* "Hutch Virtual Machine" */
	const char *serial;         /* "0" */
};

struct smbios_blobs {
	uint8_t *anchor;            /* "etc/smbios/smbios-anchor", malloc'ed */
	size_t anchor_len;
	uint8_t *tables;            /* "etc/smbios/smbios-tables", malloc'ed */
	size_t tables_len;
};

/* Build both blobs.  0, or -EINVAL (bad config) / -ENOSPC / -ENOMEM; nothing to free on error. */
int smbios_build(const struct smbios_config *cfg, struct smbios_blobs *out);
void smbios_blobs_free(struct smbios_blobs *b);

#endif
