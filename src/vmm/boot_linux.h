/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Linux direct boot: the x86 boot protocol (Documentation/arch/x86/boot.rst),
 * 64-bit entry.  Parsing and the zero page are pure functions over buffers
 * so they are unit-tested; linux_load() does the file I/O into guest RAM.
 */
#ifndef HUTCH_BOOT_LINUX_H
#define HUTCH_BOOT_LINUX_H

#include <stddef.h>
#include <stdint.h>

#include "e820.h"
#include "guest_mem.h"

/* Where the loader puts things in low guest memory. */
#define BOOT_GDT_GPA        0x500ULL
#define BOOT_PARAMS_GPA     0x7000ULL
#define BOOT_PML4_GPA       0x9000ULL
#define BOOT_PDPT_GPA       0xa000ULL
#define BOOT_PD_GPA         0xb000ULL   /* four page directories: 0-4 GiB */
#define BOOT_CMDLINE_GPA    0x20000ULL
#define BOOT_CMDLINE_MAX    0x10000ULL
#define BOOT_ZERO_PAGE_SIZE 4096

/* GDT selectors the 64-bit boot protocol requires (__BOOT_CS, __BOOT_DS). */
#define BOOT_CS_SELECTOR    0x10
#define BOOT_DS_SELECTOR    0x18
#define BOOT_TSS_SELECTOR   0x20

/* Setup header fields (offsets into the bzImage / zero page). */
#define SETUP_SECTS         0x1f1
#define SETUP_BOOT_FLAG     0x1fe
#define SETUP_JUMP          0x200
#define SETUP_HEADER_MAGIC  0x202
#define SETUP_VERSION       0x206
#define SETUP_TYPE_OF_LOADER 0x210
#define SETUP_LOADFLAGS     0x211
#define SETUP_RAMDISK_IMAGE 0x218
#define SETUP_RAMDISK_SIZE  0x21c
#define SETUP_HEAP_END_PTR  0x224
#define SETUP_CMD_LINE_PTR  0x228
#define SETUP_INITRD_ADDR_MAX 0x22c
#define SETUP_KERNEL_ALIGNMENT 0x230
#define SETUP_RELOCATABLE   0x234
#define SETUP_XLOADFLAGS    0x236
#define SETUP_CMDLINE_SIZE  0x238
#define SETUP_PREF_ADDRESS  0x258
#define SETUP_INIT_SIZE     0x260
/* Zero-page fields outside the setup header. */
#define ZP_ACPI_RSDP_ADDR   0x070
#define ZP_E820_ENTRIES     0x1e8
#define ZP_E820_TABLE       0x2d0

#define LOADFLAG_LOADED_HIGH  0x01
#define LOADFLAG_CAN_USE_HEAP 0x80
#define XLF_KERNEL_64         0x0001
#define BOOT_MIN_VERSION      0x020c   /* 2.12: xloadflags, 64-bit entry */
#define BOOT_LOADER_UNDEFINED 0xff

struct bzimage {
	uint16_t version;
	uint8_t loadflags;
	uint16_t xloadflags;
	uint8_t relocatable;
	uint32_t initrd_addr_max;
	uint32_t cmdline_size;
	uint64_t pref_address;
	uint32_t init_size;
	size_t setup_size;     /* bytes of real-mode setup, incl. boot sector */
	size_t header_end;     /* end of the setup header in the file */
	const uint8_t *image;  /* the whole file */
	size_t image_len;
};

/* Validate a bzImage.  0, or -EINVAL with a message in @err. */
int bzimage_parse(const uint8_t *buf, size_t len, struct bzimage *bz, char *err, size_t errlen);

struct boot_plan {
	uint64_t kernel_gpa;   /* protected-mode kernel load address */
	uint64_t entry;        /* 64-bit entry point: kernel_gpa + 0x200 */
	uint64_t initrd_gpa;   /* 0 if none */
	uint64_t initrd_size;
	uint64_t cmdline_len;  /* including the NUL */
};

/*
 * Decide where kernel and initrd go in @layout.  0 or -E2BIG/-ENOMEM with
 * a message naming what does not fit.
 */
int linux_plan(const struct bzimage *bz, const struct ram_layout *layout,
	       uint64_t initrd_size, size_t cmdline_len, struct boot_plan *plan,
	       char *err, size_t errlen);

/* Fill a zero page (BOOT_ZERO_PAGE_SIZE bytes) from the plan. */
void linux_build_zero_page(uint8_t *zp, const struct bzimage *bz, const struct boot_plan *plan,
			   const struct e820_map *map, uint64_t rsdp_gpa);

/* Identity-map 0-4 GiB with 2 MiB pages and write the boot GDT. */
int linux_build_page_tables(struct guest_mem *gm);

/*
 * Load kernel, optional initrd and command line into guest memory and
 * write the zero page.  Returns 0 or -errno with a one-line message.
 */
int linux_load(struct guest_mem *gm, const struct ram_layout *layout,
	       const struct e820_map *map, const char *kernel_path,
	       const char *initrd_path, const char *cmdline, uint64_t rsdp_gpa,
	       struct boot_plan *plan, char *err, size_t errlen);

/* Check that @path is a bootable bzImage before anything else is set up. */
int linux_check_kernel(const char *path, char *err, size_t errlen);

#endif
