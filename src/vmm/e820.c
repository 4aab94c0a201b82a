// SPDX-License-Identifier: GPL-2.0-or-later
#include "e820.h"

void ram_layout_for(uint64_t ram_bytes, struct ram_layout *out)
{
	if (ram_bytes > LOW_RAM_END) {
		out->low_size = LOW_RAM_END;
		out->high_size = ram_bytes - LOW_RAM_END;
	} else {
		out->low_size = ram_bytes;
		out->high_size = 0;
	}
}

static void e820_add(struct e820_map *map, uint64_t addr, uint64_t size, uint32_t type)
{
	if (size && map->nr < E820_MAX_ENTRIES)
		map->entries[map->nr++] = (struct e820_entry){ addr, size, type };
}

void e820_build(const struct ram_layout *layout, struct e820_map *map)
{
	map->nr = 0;
	/*
	 * Base memory up to the EBDA, then the legacy hole (VGA window and
	 * option ROMs: not RAM as far as the guest knows), then the BIOS area
	 * holding our ACPI tables, reserved so the kernel never reuses it.
	 */
	e820_add(map, 0, EBDA_START, E820_RAM);
	e820_add(map, EBDA_START, 0xa0000 - EBDA_START, E820_RESERVED);
	e820_add(map, BIOS_AREA_START, BIOS_AREA_END - BIOS_AREA_START, E820_RESERVED);
	if (layout->low_size > BIOS_AREA_END)
		e820_add(map, BIOS_AREA_END, layout->low_size - BIOS_AREA_END, E820_RAM);
	e820_add(map, HIGH_RAM_START, layout->high_size, E820_RAM);
}
