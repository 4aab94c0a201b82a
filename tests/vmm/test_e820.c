// SPDX-License-Identifier: GPL-2.0-or-later
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "e820.h"

static uint64_t ram_in_map(const struct e820_map *map)
{
	uint64_t sum = 0;

	for (unsigned int i = 0; i < map->nr; i++)
		if (map->entries[i].type == E820_RAM)
			sum += map->entries[i].size;
	return sum;
}

static void check_sorted_disjoint(const struct e820_map *map)
{
	for (unsigned int i = 1; i < map->nr; i++)
		assert_true(map->entries[i - 1].addr + map->entries[i - 1].size <= map->entries[i].addr);
}

static void test_small_ram_below_hole(void **state)
{
	struct ram_layout l;
	struct e820_map map;

	(void)state;
	ram_layout_for(512 * MiB, &l);
	assert_int_equal(l.low_size, 512 * MiB);
	assert_int_equal(l.high_size, 0);
	e820_build(&l, &map);
	check_sorted_disjoint(&map);
	/* base memory, EBDA, BIOS area, RAM from 1 MiB */
	assert_int_equal(map.nr, 4);
	assert_int_equal(map.entries[0].addr, 0);
	assert_int_equal(map.entries[0].size, EBDA_START);
	assert_int_equal(map.entries[0].type, E820_RAM);
	assert_int_equal(map.entries[3].addr, 1 * MiB);
	assert_int_equal(map.entries[3].addr + map.entries[3].size, 512 * MiB);
	/* Only the 384 KiB legacy hole is missing from RAM. */
	assert_int_equal(ram_in_map(&map), 512 * MiB - (1 * MiB - EBDA_START));
}

static void test_large_ram_split_around_pci_hole(void **state)
{
	struct ram_layout l;
	struct e820_map map;

	(void)state;
	ram_layout_for(4096 * MiB, &l);
	assert_int_equal(l.low_size, 3584 * MiB);
	assert_int_equal(l.high_size, 512 * MiB);
	e820_build(&l, &map);
	check_sorted_disjoint(&map);
	assert_int_equal(map.nr, 5);
	assert_int_equal(map.entries[3].addr + map.entries[3].size, 0xe0000000ULL);
	assert_int_equal(map.entries[4].addr, 4 * GiB);
	assert_int_equal(map.entries[4].size, 512 * MiB);
	assert_int_equal(map.entries[4].type, E820_RAM);
	/* Nothing claims the hole between 3.5 and 4 GiB. */
	for (unsigned int i = 0; i < map.nr; i++)
		assert_false(map.entries[i].addr < 4 * GiB &&
			     map.entries[i].addr + map.entries[i].size > 0xe0000000ULL);
}

static void test_exactly_hole_boundary(void **state)
{
	struct ram_layout l;

	(void)state;
	ram_layout_for(3584 * MiB, &l);
	assert_int_equal(l.low_size, 3584 * MiB);
	assert_int_equal(l.high_size, 0);
	ram_layout_for(3584 * MiB + 1, &l);
	assert_int_equal(l.high_size, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_ram_below_hole),
		cmocka_unit_test(test_large_ram_split_around_pci_hole),
		cmocka_unit_test(test_exactly_hole_boundary),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
