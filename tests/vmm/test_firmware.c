// SPDX-License-Identifier: GPL-2.0-or-later
/* Firmware boot's pure parts: --boot, the bootorder file, the ROM checks, etc/e820. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "firmware.h"

static void test_boot_order_parse(void **state)
{
	enum boot_class o[BOOT_NR_CLASSES];
	unsigned int n;
	char err[256];

	(void)state;
	assert_int_equal(boot_order_parse("dvd,disk,net,floppy", o, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 4);
	assert_int_equal(o[0], BOOT_DVD);
	assert_int_equal(o[1], BOOT_DISK);
	assert_int_equal(o[2], BOOT_NET);
	assert_int_equal(o[3], BOOT_FLOPPY);
	assert_int_equal(boot_order_parse("disk", o, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_int_equal(boot_order_parse("none", o, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	assert_int_equal(boot_order_parse("", o, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	assert_int_equal(boot_order_parse("disk,disk", o, &n, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "twice"));
	assert_int_equal(boot_order_parse("cdrom", o, &n, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "'cdrom'"));
	assert_int_equal(boot_order_parse("disk,", o, &n, err, sizeof(err)), -EINVAL);
	assert_int_equal(boot_order_parse(",disk", o, &n, err, sizeof(err)), -EINVAL);
	assert_int_equal(boot_order_parse("dvd,disk,net,floppy,disk", o, &n, err, sizeof(err)), -EINVAL);
	assert_int_equal(boot_order_parse(BOOT_ORDER_DEFAULT, o, &n, err, sizeof(err)), 0);
	assert_int_equal(o[0], BOOT_FLOPPY);
}

/* The paths SeaBIOS's boot.c builds for AHCI ports, IDE positions and virtio-blk. */
static void test_bootorder_build(void **state)
{
	const struct boot_drive drives[] = {
		{ .bus = DRIVE_BUS_VIRTIO, .pci_slot = 4 },
		{ .bus = DRIVE_BUS_SATA, .cdrom = 1, .pci_slot = 5, .port = 2 },
		{ .bus = DRIVE_BUS_IDE, .pci_slot = 1, .pci_func = 1, .port = 3 },
		{ .bus = DRIVE_BUS_SATA, .pci_slot = 5, .port = 0 },
		{ .bus = DRIVE_BUS_IDE, .cdrom = 1, .pci_slot = 1, .pci_func = 1, .port = 0 },
	};
	enum boot_class order[] = { BOOT_DVD, BOOT_NET, BOOT_DISK };
	char out[1024];
	int len;

	(void)state;
	len = bootorder_build(order, 3, drives, 5, out, sizeof(out));
	assert_string_equal(out,
			    "/pci@i0cf8/sata@5/drive@2/disk@0\n"
			    "/pci@i0cf8/ide@1,1/drive@0/disk@0\n"
			    "/pci@i0cf8/scsi@4/disk@0,0\n"
			    "/pci@i0cf8/ide@1,1/drive@1/disk@1\n"
			    "/pci@i0cf8/sata@5/drive@0/disk@0\n"
			    "HALT");
	assert_int_equal(len, (int)strlen(out));
	/* Nothing listed: only HALT, nothing boots. */
	assert_int_equal(bootorder_build(order, 0, drives, 5, out, sizeof(out)), 4);
	assert_string_equal(out, "HALT");
	/* Disks only: no CD/DVD drive appears. */
	bootorder_build(&order[2], 1, drives, 5, out, sizeof(out));
	assert_null(strstr(out, "drive@2/disk@0"));
	assert_non_null(strstr(out, "scsi@4"));
	/* Too small a buffer is an error, never an overflow. */
	assert_int_equal(bootorder_build(order, 3, drives, 5, out, 40), -ENOSPC);
	assert_int_equal(bootorder_build(order, 0, drives, 0, out, 4), -ENOSPC);
}

/* NICs boot through their option ROMs: the class net lists them, in order, and nothing else. */
static void test_bootorder_nics(void **state)
{
	const struct boot_drive devs[] = {
		{ .nic = true, .pci_slot = 6 },
		{ .bus = DRIVE_BUS_SATA, .pci_slot = 5, .port = 0 },
		{ .nic = true, .pci_slot = 3, .pci_func = 2 },
		{ .bus = DRIVE_BUS_VIRTIO, .pci_slot = 4 },
	};
	enum boot_class net_first[] = { BOOT_NET, BOOT_DISK };
	enum boot_class no_net[] = { BOOT_DVD, BOOT_DISK };
	char out[512];

	(void)state;
	bootorder_build(net_first, 2, devs, 4, out, sizeof(out));
	assert_string_equal(out,
			    "/pci@i0cf8/ethernet@6\n"
			    "/pci@i0cf8/ethernet@3,2\n"
			    "/pci@i0cf8/sata@5/drive@0/disk@0\n"
			    "/pci@i0cf8/scsi@4/disk@0,0\n"
			    "HALT");
	/* Without net in the order, no NIC is booted (it comes after HALT). */
	bootorder_build(no_net, 2, devs, 4, out, sizeof(out));
	assert_null(strstr(out, "ethernet"));
}

static char *write_file(size_t size)
{
	static char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/hutch-test-rom-%d", (int)getpid());
	f = fopen(path, "w");
	assert_non_null(f);
	for (size_t i = 0; i < size; i++)
		fputc((int)(i & 0xff), f);
	fclose(f);
	return path;
}

static void test_rom_checks(void **state)
{
	uint8_t *rom = NULL;
	uint64_t size = 0;
	char err[256];
	char *path;

	(void)state;
	assert_int_equal(firmware_check_rom_size("x", 0x20000, err, sizeof(err)), 0);
	assert_int_equal(firmware_check_rom_size("x", 16 << 20, err, sizeof(err)), 0);
	assert_int_equal(firmware_check_rom_size("x", 0, err, sizeof(err)), -EINVAL);
	assert_int_equal(firmware_check_rom_size("x", 0x20001, err, sizeof(err)), -EINVAL);
	assert_int_equal(firmware_check_rom_size("x", (16 << 20) + 0x10000, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "--bios x"));
	assert_null(strchr(err, '\n'));

	assert_int_equal(firmware_load_rom("/nonexistent/bios.bin", &rom, &size, err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/bios.bin"));
	assert_int_equal(firmware_load_rom("/tmp", &rom, &size, err, sizeof(err)), -EINVAL);
	path = write_file(1000);
	assert_int_equal(firmware_load_rom(path, &rom, &size, err, sizeof(err)), -EINVAL);
	path = write_file(0);
	assert_int_equal(firmware_load_rom(path, &rom, &size, err, sizeof(err)), -EINVAL);
	path = write_file(0x20000);
	assert_int_equal(firmware_load_rom(path, &rom, &size, err, sizeof(err)), 0);
	assert_int_equal(size, 0x20000);
	assert_int_equal(rom[0x1ffff], 0xff);
	assert_int_equal(rom[0x12345], 0x45);
	assert_int_equal((uintptr_t)rom % 4096, 0);
	firmware_free_rom(rom, size);
	unlink(path);
}

static void test_firmware_e820(void **state)
{
	struct ram_layout l = { .low_size = 3584 * MiB, .high_size = 512 * MiB };
	struct e820_map map;

	(void)state;
	firmware_e820(&l, 0xfeffc000, 0x4000, &map);
	assert_int_equal(map.nr, 3);
	assert_int_equal(map.entries[0].addr, 0);
	assert_int_equal(map.entries[0].size, 3584 * MiB);
	assert_int_equal(map.entries[0].type, E820_RAM);
	assert_int_equal(map.entries[1].addr, 0xfeffc000);
	assert_int_equal(map.entries[1].type, E820_RESERVED);
	assert_int_equal(map.entries[2].addr, 4 * GiB);
	assert_int_equal(map.entries[2].size, 512 * MiB);
	/* SeaBIOS reads 20-byte packed entries. */
	assert_int_equal(sizeof(map.entries[0]), 20);
	l.high_size = 0;
	firmware_e820(&l, 0xfeffc000, 0x4000, &map);
	assert_int_equal(map.nr, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_boot_order_parse),
		cmocka_unit_test(test_bootorder_build),
		cmocka_unit_test(test_bootorder_nics),
		cmocka_unit_test(test_rom_checks),
		cmocka_unit_test(test_firmware_e820),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
