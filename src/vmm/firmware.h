/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Booting through firmware (SeaBIOS, loaded at run time from the host):
 * the ROM image's checks, the boot order as the firmware reads it, and
 * the e820 map it gets.  Pure functions; machine.c puts the results into
 * fw_cfg (fw_cfg.h) and the memory map (memmap.h).
 */
#ifndef HUTCH_FIRMWARE_H
#define HUTCH_FIRMWARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drive_spec.h"
#include "e820.h"

#define FIRMWARE_DEFAULT_BIOS   "/usr/share/seabios/bios.bin"
#define FIRMWARE_VGABIOS_STDVGA "/usr/share/seabios/vgabios-stdvga.bin"
#define FIRMWARE_IPXE_E1000     "/usr/lib/ipxe/qemu/pxe-e1000.rom"   /* Debian's ipxe-qemu */
#define FIRMWARE_IPXE_VIRTIO    "/usr/lib/ipxe/qemu/pxe-virtio.rom"
#define FIRMWARE_ROM_UNIT       0x10000ULL     /* 64 KiB */
#define FIRMWARE_ROM_MAX        (16ULL << 20)  /* below 4 GiB, beside KVM's pages */

/* What a boot entry is (VirtualBox's --boot1..4 classes). */
enum boot_class {
	BOOT_FLOPPY,
	BOOT_DVD,
	BOOT_DISK,
	BOOT_NET,
	BOOT_NR_CLASSES,
};

#define BOOT_ORDER_DEFAULT "floppy,dvd,disk,net"   /* VirtualBox's */

/*
 * "dvd,disk,net" to classes in order (each at most once; "none" alone or
 * "" gives none).  0, or -EINVAL with a one-line message.
 */
int boot_order_parse(const char *list, enum boot_class order[BOOT_NR_CLASSES], unsigned int *n,
		     char *err, size_t errlen);

/* One bootable drive (or NIC, through its option ROM) as SeaBIOS finds it on the PCI bus. */
struct boot_drive {
	enum drive_bus bus;
	int cdrom;
	bool nic;                   /* a network adapter: class net; bus, cdrom, port unused */
	unsigned int pci_slot, pci_func;
	unsigned int port;          /* AHCI port; IDE channel * 2 + unit; virtio 0 */
};

/*
 * The "bootorder" file: one OpenFirmware path per line for the drives of
 * each class in @order (drives in @drives order), then "HALT" so that
 * nothing unlisted is booted (SeaBIOS's boot.c).  Length written
 * (without NUL), or -ENOSPC.
 */
int bootorder_build(const enum boot_class *order, unsigned int n, const struct boot_drive *drives,
		    unsigned int nr_drives, char *out, size_t outlen);

/* A ROM image's size is usable: 0, or -EINVAL with a message naming @path. */
int firmware_check_rom_size(const char *path, uint64_t size, char *err, size_t errlen);
/*
 * Read the BIOS image @path into fresh page-aligned memory (*rom, *size;
 * free with firmware_free_rom).  0, or -errno with a one-line message.
 */
int firmware_load_rom(const char *path, uint8_t **rom, uint64_t *size, char *err, size_t errlen);
void firmware_free_rom(uint8_t *rom, uint64_t size);

/*
 * The "etc/e820" table for the firmware: all RAM as RAM (the firmware
 * reserves its own areas), KVM's private pages reserved.
 */
void firmware_e820(const struct ram_layout *layout, uint64_t kvm_private_gpa,
		   uint64_t kvm_private_size, struct e820_map *map);

#endif
