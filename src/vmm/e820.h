/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The PC memory map: where guest RAM lives and what the e820 table tells
 * the guest.  RAM above LOW_RAM_END (3.5 GiB) is placed above 4 GiB so the
 * hole below 4 GiB is free for PCI BARs, the IOAPIC, the LAPIC and the BIOS.
 */
#ifndef HUTCH_E820_H
#define HUTCH_E820_H

#include <stdint.h>

#define E820_RAM       1
#define E820_RESERVED  2
#define E820_ACPI      3

#define E820_MAX_ENTRIES 128   /* the zero page's table size */

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

#define LOW_RAM_END      (3584 * MiB)   /* 0xE0000000: start of the PCI hole */
#define HIGH_RAM_START   (4 * GiB)
#define EBDA_START       0x9fc00ULL     /* top of base memory (639 KiB) */
#define BIOS_AREA_START  0xe0000ULL     /* ACPI tables live here */
#define BIOS_AREA_END    0x100000ULL

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
} __attribute__((packed));

struct e820_map {
	struct e820_entry entries[E820_MAX_ENTRIES];
	unsigned int nr;
};

/* Guest RAM split around the PCI hole. */
struct ram_layout {
	uint64_t low_size;   /* bytes of RAM at GPA 0 */
	uint64_t high_size;  /* bytes of RAM at HIGH_RAM_START */
};

void ram_layout_for(uint64_t ram_bytes, struct ram_layout *out);
/* Build the e820 map for @layout.  Entries are sorted and never overlap. */
void e820_build(const struct ram_layout *layout, struct e820_map *map);

#endif
