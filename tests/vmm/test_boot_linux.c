// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "boot_linux.h"

#define IMG_LEN (64 * 1024)
static uint8_t img[IMG_LEN];

static void w16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void w32(uint8_t *p, uint32_t v) { w16(p, (uint16_t)v); w16(p + 2, (uint16_t)(v >> 16)); }
static void w64(uint8_t *p, uint64_t v) { w32(p, (uint32_t)v); w32(p + 4, (uint32_t)(v >> 32)); }
static uint32_t r32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t r64(const uint8_t *p) { return r32(p) | (uint64_t)r32(p + 4) << 32; }

/* A minimal well-formed bzImage header: protocol 2.15, relocatable, 64-bit. */
static void make_image(void)
{
	memset(img, 0, sizeof(img));
	img[SETUP_SECTS] = 3;
	w16(img + SETUP_BOOT_FLAG, 0xaa55);
	img[SETUP_JUMP] = 0xeb;
	img[SETUP_JUMP + 1] = 0x6a;            /* header ends at 0x26c */
	memcpy(img + SETUP_HEADER_MAGIC, "HdrS", 4);
	w16(img + SETUP_VERSION, 0x020f);
	img[SETUP_LOADFLAGS] = LOADFLAG_LOADED_HIGH;
	w32(img + SETUP_INITRD_ADDR_MAX, 0x7fffffff);
	w32(img + SETUP_KERNEL_ALIGNMENT, 0x200000);
	img[SETUP_RELOCATABLE] = 1;
	w16(img + SETUP_XLOADFLAGS, XLF_KERNEL_64 | 0x2);
	w32(img + SETUP_CMDLINE_SIZE, 2047);
	w64(img + SETUP_PREF_ADDRESS, 0x1000000);
	w32(img + SETUP_INIT_SIZE, 32 * 1024 * 1024);
}

static int parse(struct bzimage *bz, char *err)
{
	return bzimage_parse(img, IMG_LEN, bz, err, 200);
}

static void test_parse_good(void **state)
{
	struct bzimage bz;
	char err[200];

	(void)state;
	make_image();
	assert_int_equal(parse(&bz, err), 0);
	assert_int_equal(bz.version, 0x020f);
	assert_int_equal(bz.setup_size, 4 * 512);
	assert_int_equal(bz.header_end, 0x26c);
	assert_int_equal(bz.pref_address, 0x1000000);
}

static void test_parse_rejects(void **state)
{
	struct bzimage bz;
	char err[200];

	(void)state;
	make_image();
	img[SETUP_HEADER_MAGIC] = 'X';
	assert_int_equal(parse(&bz, err), -EINVAL);
	assert_non_null(strstr(err, "not a Linux bzImage"));

	make_image();
	w16(img + SETUP_VERSION, 0x0209);
	assert_int_equal(parse(&bz, err), -EINVAL);
	assert_non_null(strstr(err, "too old"));

	make_image();
	w16(img + SETUP_XLOADFLAGS, 0);
	assert_int_equal(parse(&bz, err), -EINVAL);
	assert_non_null(strstr(err, "64-bit"));

	make_image();
	img[SETUP_LOADFLAGS] = 0;
	assert_int_equal(parse(&bz, err), -EINVAL);

	make_image();
	img[SETUP_SECTS] = 200;                 /* setup larger than the file */
	assert_int_equal(parse(&bz, err), -EINVAL);

	make_image();
	assert_int_equal(bzimage_parse(img, 100, &bz, err, sizeof(err)), -EINVAL);
}

static void test_plan_places_initrd_high(void **state)
{
	struct ram_layout l;
	struct boot_plan p;
	struct bzimage bz;
	char err[200];

	(void)state;
	make_image();
	assert_int_equal(parse(&bz, err), 0);
	ram_layout_for(512 * MiB, &l);
	assert_int_equal(linux_plan(&bz, &l, 10 * MiB + 5, 20, &p, err, sizeof(err)), 0);
	assert_int_equal(p.kernel_gpa, 0x1000000);
	assert_int_equal(p.entry, 0x1000200);
	assert_int_equal(p.initrd_gpa % 4096, 0);
	assert_true(p.initrd_gpa + p.initrd_size <= 512 * MiB);
	assert_true(p.initrd_gpa >= p.kernel_gpa + 32 * MiB);

	/* initrd_addr_max caps the placement even with lots of RAM. */
	w32(img + SETUP_INITRD_ADDR_MAX, 0x0fffffff);
	assert_int_equal(parse(&bz, err), 0);
	ram_layout_for(2048 * MiB, &l);
	assert_int_equal(linux_plan(&bz, &l, 4096, 20, &p, err, sizeof(err)), 0);
	assert_true(p.initrd_gpa + p.initrd_size <= 0x10000000);
}

static void test_plan_refuses_what_does_not_fit(void **state)
{
	struct ram_layout l;
	struct boot_plan p;
	struct bzimage bz;
	char err[200];

	(void)state;
	make_image();
	assert_int_equal(parse(&bz, err), 0);
	ram_layout_for(32 * MiB, &l);           /* kernel needs 16 + 32 MiB */
	assert_int_equal(linux_plan(&bz, &l, 0, 1, &p, err, sizeof(err)), -ENOMEM);
	assert_non_null(strstr(err, "not enough memory"));
	ram_layout_for(64 * MiB, &l);
	assert_int_equal(linux_plan(&bz, &l, 60 * MiB, 1, &p, err, sizeof(err)), -ENOMEM);
	assert_non_null(strstr(err, "initrd"));
	assert_int_equal(linux_plan(&bz, &l, 0, 3000, &p, err, sizeof(err)), -E2BIG);
}

static void test_zero_page(void **state)
{
	static uint8_t zp[BOOT_ZERO_PAGE_SIZE];
	struct ram_layout l;
	struct e820_map map;
	struct boot_plan p;
	struct bzimage bz;
	char err[200];

	(void)state;
	make_image();
	assert_int_equal(parse(&bz, err), 0);
	ram_layout_for(4096 * MiB, &l);
	e820_build(&l, &map);
	assert_int_equal(linux_plan(&bz, &l, 1 * MiB, 10, &p, err, sizeof(err)), 0);
	memset(zp, 0xee, sizeof(zp));
	linux_build_zero_page(zp, &bz, &p, &map, 0xe0000);
	assert_memory_equal(zp + SETUP_HEADER_MAGIC, "HdrS", 4);
	assert_int_equal(zp[SETUP_TYPE_OF_LOADER], BOOT_LOADER_UNDEFINED);
	assert_int_equal(r32(zp + SETUP_CMD_LINE_PTR), BOOT_CMDLINE_GPA);
	assert_int_equal(r32(zp + SETUP_RAMDISK_IMAGE), p.initrd_gpa);
	assert_int_equal(r32(zp + SETUP_RAMDISK_SIZE), 1 * MiB);
	assert_int_equal(r64(zp + ZP_ACPI_RSDP_ADDR), 0xe0000);
	assert_int_equal(zp[ZP_E820_ENTRIES], map.nr);
	for (unsigned int i = 0; i < map.nr; i++) {
		const uint8_t *e = zp + ZP_E820_TABLE + 20 * i;

		assert_int_equal(r64(e), map.entries[i].addr);
		assert_int_equal(r64(e + 8), map.entries[i].size);
		assert_int_equal(r32(e + 16), map.entries[i].type);
	}
	/* Fields outside the header and tables stay zero (no stale garbage). */
	assert_int_equal(zp[0x000], 0);
	assert_int_equal(zp[0xfff], 0);
}

static void test_page_tables_identity_map(void **state)
{
	struct guest_mem gm = { 0 };
	uint8_t *ram = calloc(1, 1 * MiB);
	uint64_t pd;

	(void)state;
	assert_int_equal(gm_add_region(&gm, 0, 1 * MiB, ram), 0);
	assert_int_equal(linux_build_page_tables(&gm), 0);
	assert_int_equal(r64(ram + BOOT_PML4_GPA) & ~0xfffULL, BOOT_PDPT_GPA);
	for (unsigned int i = 0; i < 4; i++)
		assert_int_equal(r64(ram + BOOT_PDPT_GPA + 8 * i) & ~0xfffULL, BOOT_PD_GPA + 4096 * i);
	/* The last 2 MiB page maps 4 GiB - 2 MiB. */
	pd = r64(ram + BOOT_PD_GPA + 8 * 2047);
	assert_int_equal(pd & ~0xfffULL, 4 * GiB - 2 * MiB);
	assert_int_equal(pd & 0x83, 0x83);
	free(ram);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_plan_places_initrd_high),
		cmocka_unit_test(test_plan_refuses_what_does_not_fit),
		cmocka_unit_test(test_zero_page),
		cmocka_unit_test(test_page_tables_identity_map),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
