// SPDX-License-Identifier: GPL-2.0-or-later
/* fw_cfg: the port interface, the file directory, DMA (good and malformed), reset, save/load. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "devices.h"
#include "fake_machine.h"
#include "fw_cfg.h"

#define RAM_SIZE  (1u << 20)
#define ACCESS_GPA 0x1000u
#define BUF_GPA    0x2000u

#define CTL_ERROR  0x01
#define CTL_READ   0x02
#define CTL_SKIP   0x04
#define CTL_SELECT 0x08
#define CTL_WRITE  0x10

struct fixture {
	struct fake_machine fm;
	struct device *dev;
};

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	assert_int_equal(fake_machine_init(&f.fm, RAM_SIZE), 0);
	f.dev = fake_device_create(&f.fm, &fw_cfg_model, NULL);
	assert_non_null(f.dev);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	device_destroy(f->dev);
	fake_machine_destroy(&f->fm);
	return 0;
}

static void select_key(struct fixture *f, uint16_t key)
{
	fake_pio_write(&f->fm, FW_CFG_PORT_SEL, key, 2);
}

static void read_port(struct fixture *f, uint8_t *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = fake_inb(&f->fm, FW_CFG_PORT_DATA);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* Start a DMA transfer whose control structure is at @access (the guest's two outl). */
static void dma_kick(struct fixture *f, uint64_t access)
{
	fake_pio_write(&f->fm, FW_CFG_PORT_DMA, __builtin_bswap32((uint32_t)(access >> 32)), 4);
	fake_pio_write(&f->fm, FW_CFG_PORT_DMA + 4, __builtin_bswap32((uint32_t)access), 4);
}

/* Write {control, length, address} at @access, run it, return the control word after. */
static uint32_t dma_at(struct fixture *f, uint64_t access, uint32_t control, uint32_t length,
		       uint64_t addr)
{
	uint8_t *a = f->fm.ram + access;

	put_be32(a, control);
	put_be32(a + 4, length);
	put_be32(a + 8, (uint32_t)(addr >> 32));
	put_be32(a + 12, (uint32_t)addr);
	dma_kick(f, access);
	return be32(a);
}

static uint32_t dma(struct fixture *f, uint32_t control, uint32_t length, uint64_t addr)
{
	return dma_at(f, ACCESS_GPA, control, length, addr);
}

static void test_signature_and_id(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[8];

	select_key(f, FW_CFG_SIGNATURE);
	read_port(f, buf, 5);
	assert_memory_equal(buf, "QEMU\0", 5);      /* past the end: zeros */
	select_key(f, FW_CFG_ID);
	read_port(f, buf, 4);
	assert_int_equal(buf[0], 0x03);               /* traditional + DMA */
	assert_int_equal(buf[1] | buf[2] | buf[3], 0);
	/* The DMA register reads "QEMU CFG", big-endian. */
	assert_int_equal(fake_pio_read(&f->fm, FW_CFG_PORT_DMA, 4), 0x554d4551);     /* "QEMU" */
	assert_int_equal(fake_pio_read(&f->fm, FW_CFG_PORT_DMA + 4, 4), 0x47464320); /* " CFG" */
	/* Byte writes to the selector and writes to the data port change nothing. */
	select_key(f, FW_CFG_SIGNATURE);
	fake_outb(&f->fm, FW_CFG_PORT_SEL, FW_CFG_ID);
	fake_outb(&f->fm, FW_CFG_PORT_DATA, 0x55);
	read_port(f, buf, 1);
	assert_int_equal(buf[0], 'Q');
}

static void test_items_and_files(void **state)
{
	struct fixture *f = *state;
	char longname[FW_CFG_MAX_FILE_NAME + 1];
	uint64_t ram = 0x12345678abcdULL;
	uint8_t buf[4 + 3 * 64], out[16];

	assert_int_equal(fw_cfg_add_item(f->dev, FW_CFG_RAM_SIZE, &ram, sizeof(ram)), 0);
	assert_int_equal(fw_cfg_add_item(f->dev, FW_CFG_FILE_DIR, &ram, 8), -EINVAL);
	assert_int_equal(fw_cfg_add_item(f->dev, FW_CFG_SIGNATURE, &ram, 8), -EINVAL);
	assert_int_equal(fw_cfg_add_item(f->dev, FW_CFG_FILE_FIRST, &ram, 8), -EINVAL);
	assert_int_equal(fw_cfg_add_file(f->dev, "etc/one", "abc", 3), 0);
	assert_int_equal(fw_cfg_add_file(f->dev, "etc/two", "hello", 5), 0);
	assert_int_equal(fw_cfg_add_file(f->dev, "etc/one", "x", 1), -EEXIST);
	assert_int_equal(fw_cfg_add_file(f->dev, "", "x", 1), -EINVAL);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	assert_int_equal(fw_cfg_add_file(f->dev, longname, "x", 1), -EINVAL);
	assert_int_equal(fw_cfg_set_file(f->dev, "etc/none", "x", 1), -ENOENT);
	assert_int_equal(fw_cfg_add_file(f->dev, "etc/empty", NULL, 0), 0);

	select_key(f, FW_CFG_RAM_SIZE);
	read_port(f, out, 8);
	assert_memory_equal(out, &ram, 8);

	select_key(f, FW_CFG_FILE_DIR);
	read_port(f, buf, sizeof(buf));
	assert_int_equal(be32(buf), 3);
	assert_int_equal(be32(buf + 4), 3);
	assert_int_equal(buf[8] << 8 | buf[9], FW_CFG_FILE_FIRST);
	assert_string_equal((char *)buf + 4 + 8, "etc/one");
	assert_int_equal(be32(buf + 4 + 64), 5);
	assert_int_equal(buf[4 + 64 + 4] << 8 | buf[4 + 64 + 5], FW_CFG_FILE_FIRST + 1);
	assert_string_equal((char *)buf + 4 + 64 + 8, "etc/two");
	assert_int_equal(be32(buf + 4 + 128), 0);

	select_key(f, FW_CFG_FILE_FIRST + 1);
	read_port(f, out, 6);
	assert_memory_equal(out, "hello\0", 6);

	/* set_file replaces contents and the directory's size. */
	assert_int_equal(fw_cfg_set_file(f->dev, "etc/two", "longer text", 11), 0);
	select_key(f, FW_CFG_FILE_DIR);
	read_port(f, buf, sizeof(buf));
	assert_int_equal(be32(buf + 4 + 64), 11);
	select_key(f, FW_CFG_FILE_FIRST + 1);
	read_port(f, out, 11);
	assert_memory_equal(out, "longer text", 11);

	/* Shrinking a file under the guest's read position: the rest reads as zeros. */
	select_key(f, FW_CFG_FILE_FIRST + 1);
	read_port(f, out, 8);
	assert_int_equal(fw_cfg_set_file(f->dev, "etc/two", "ab", 2), 0);
	assert_int_equal(fake_inb(&f->fm, FW_CFG_PORT_DATA), 0);
	assert_int_equal(dma(f, CTL_READ, 4, BUF_GPA), 0);
	assert_memory_equal(f->fm.ram + BUF_GPA, "\0\0\0\0", 4);
	/* An item added again is replaced. */
	assert_int_equal(fw_cfg_add_item(f->dev, FW_CFG_RAM_SIZE, "xy", 2), 0);
	select_key(f, FW_CFG_RAM_SIZE);
	read_port(f, out, 3);
	assert_memory_equal(out, "xy\0", 3);

	/* Unknown keys, the write-channel bit, arch-local keys. */
	select_key(f, 0x3fff);
	assert_int_equal(fake_inb(&f->fm, FW_CFG_PORT_DATA), 0);
	select_key(f, 0x4000 | FW_CFG_SIGNATURE);
	assert_int_equal(fake_inb(&f->fm, FW_CFG_PORT_DATA), 'Q');
	select_key(f, 0x8000 | FW_CFG_SIGNATURE);
	assert_int_equal(fake_inb(&f->fm, FW_CFG_PORT_DATA), 0);
}

static void test_dma_read_skip(void **state)
{
	struct fixture *f = *state;
	uint8_t *buf = f->fm.ram + BUF_GPA;
	uint8_t data[300];
	unsigned int i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 1);
	assert_int_equal(fw_cfg_add_file(f->dev, "etc/data", data, sizeof(data)), 0);

	memset(buf, 0xee, 512);
	assert_int_equal(dma(f, (uint32_t)FW_CFG_FILE_FIRST << 16 | CTL_SELECT | CTL_READ, 100,
			     BUF_GPA), 0);
	assert_memory_equal(buf, data, 100);
	assert_int_equal(buf[100], 0xee);
	/* Skip 50 then read the rest and 10 bytes past the end (zeros). */
	assert_int_equal(dma(f, CTL_SKIP, 50, 0), 0);
	assert_int_equal(dma(f, CTL_READ, 160, BUF_GPA), 0);
	assert_memory_equal(buf, data + 150, 150);
	for (i = 150; i < 160; i++)
		assert_int_equal(buf[i], 0);
	assert_int_equal(buf[160], 0xee);
	/* The port continues where DMA left off: at the end. */
	assert_int_equal(fake_inb(&f->fm, FW_CFG_PORT_DATA), 0);
	/* A select without read or skip just rewinds; then the port reads the start. */
	assert_int_equal(dma(f, (uint32_t)FW_CFG_FILE_FIRST << 16 | CTL_SELECT, 0, 0), 0);
	assert_int_equal(fake_inb(&f->fm, FW_CFG_PORT_DATA), data[0]);
	/* The directory by DMA, as SeaBIOS reads it: its count first. */
	assert_int_equal(dma(f, (uint32_t)FW_CFG_FILE_DIR << 16 | CTL_SELECT | CTL_READ, 4,
			     BUF_GPA), 0);
	assert_int_equal(be32(buf), 1);
	/* A 64-bit address with a non-zero high half, outside RAM: error, nothing written. */
	assert_int_equal(dma(f, (uint32_t)FW_CFG_FILE_FIRST << 16 | CTL_SELECT | CTL_READ, 4,
			     0x100000000ULL + BUF_GPA), CTL_ERROR);
	/* A zero-length read is a no-op that succeeds. */
	assert_int_equal(dma(f, CTL_READ, 0, BUF_GPA), 0);
}

static void test_dma_malformed(void **state)
{
	struct fixture *f = *state;
	uint8_t data[64];
	uint8_t *end_access;
	struct timespec t0, t1;

	memset(data, 0xab, sizeof(data));
	assert_int_equal(fw_cfg_add_file(f->dev, "etc/data", data, sizeof(data)), 0);

	/* Writes are refused: no item is writable. */
	assert_int_equal(dma(f, (uint32_t)FW_CFG_FILE_FIRST << 16 | CTL_SELECT | CTL_WRITE, 4,
			     BUF_GPA), CTL_ERROR);
	/* Data address outside RAM, and one whose range runs off the end of RAM. */
	assert_int_equal(dma(f, (uint32_t)FW_CFG_FILE_FIRST << 16 | CTL_SELECT | CTL_READ, 16,
			     RAM_SIZE + 0x1000), CTL_ERROR);
	assert_int_equal(dma(f, (uint32_t)FW_CFG_FILE_FIRST << 16 | CTL_SELECT | CTL_READ, 16,
			     RAM_SIZE - 8), CTL_ERROR);
	/* An address that wraps around 2^64. */
	assert_int_equal(dma(f, (uint32_t)FW_CFG_FILE_FIRST << 16 | CTL_SELECT | CTL_READ, 16,
			     UINT64_MAX - 4), CTL_ERROR);

	/* A 4 GiB - 1 read and skip finish at once: the read is refused, the skip saturates. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(dma(f, (uint32_t)FW_CFG_FILE_FIRST << 16 | CTL_SELECT | CTL_READ,
			     UINT32_MAX, 0), CTL_ERROR);
	assert_int_equal(dma(f, (uint32_t)FW_CFG_FILE_FIRST << 16 | CTL_SELECT | CTL_SKIP,
			     UINT32_MAX, 0), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 2);
	/* After the skip the item is exhausted: a read gives zeros. */
	f->fm.ram[BUF_GPA] = 0x77;
	assert_int_equal(dma(f, CTL_READ, 1, BUF_GPA), 0);
	assert_int_equal(f->fm.ram[BUF_GPA], 0);

	/* Unknown selector: reads are zeros, not an error (as the data port). */
	f->fm.ram[BUF_GPA] = 0x77;
	assert_int_equal(dma(f, 0x1234u << 16 | CTL_SELECT | CTL_READ, 4, BUF_GPA), 0);
	assert_int_equal(f->fm.ram[BUF_GPA], 0);

	/* A control structure straddling the end of RAM: nothing read, nothing written. */
	end_access = f->fm.ram + RAM_SIZE - 8;
	memset(end_access, 0x5a, 8);
	dma_kick(f, RAM_SIZE - 8);
	for (int i = 0; i < 8; i++)
		assert_int_equal(end_access[i], 0x5a);
	/* Entirely outside RAM, and at the top of the address space. */
	dma_kick(f, 0xfffffffffffffff8ULL);
	dma_kick(f, RAM_SIZE);
	/* The last 16 bytes of RAM are a valid place for it. */
	assert_int_equal(dma_at(f, RAM_SIZE - 16, (uint32_t)FW_CFG_SIGNATURE << 16 | CTL_SELECT |
				CTL_READ, 4, BUF_GPA), 0);
	assert_memory_equal(f->fm.ram + BUF_GPA, "QEMU", 4);
	/* Odd-sized accesses to the DMA register are ignored. */
	fake_pio_write(&f->fm, FW_CFG_PORT_DMA, 0x12, 1);
	fake_pio_write(&f->fm, FW_CFG_PORT_DMA + 2, 0x1234, 2);
}

static void test_reset_in_flight(void **state)
{
	struct fixture *f = *state;
	uint8_t b;

	assert_int_equal(fw_cfg_add_file(f->dev, "etc/data", "xyz", 3), 0);
	/* Select a file and read part of it, then reset: back at the signature, offset 0. */
	select_key(f, FW_CFG_FILE_FIRST);
	assert_int_equal(fake_inb(&f->fm, FW_CFG_PORT_DATA), 'x');
	device_reset(f->dev);
	b = fake_inb(&f->fm, FW_CFG_PORT_DATA);
	assert_int_equal(b, 'Q');

	/* The high half of a DMA address written before a reset is forgotten. */
	fake_pio_write(&f->fm, FW_CFG_PORT_DMA, __builtin_bswap32(1), 4);   /* 4 GiB + ... */
	device_reset(f->dev);
	put_be32(f->fm.ram + ACCESS_GPA, (uint32_t)FW_CFG_FILE_FIRST << 16 | CTL_SELECT | CTL_READ);
	put_be32(f->fm.ram + ACCESS_GPA + 4, 3);
	put_be32(f->fm.ram + ACCESS_GPA + 8, 0);
	put_be32(f->fm.ram + ACCESS_GPA + 12, BUF_GPA);
	fake_pio_write(&f->fm, FW_CFG_PORT_DMA + 4, __builtin_bswap32(ACCESS_GPA), 4);
	assert_int_equal(be32(f->fm.ram + ACCESS_GPA), 0);
	assert_memory_equal(f->fm.ram + BUF_GPA, "xyz", 3);
}

static void test_save_load(void **state)
{
	struct fixture *f = *state;
	struct fake_machine fm2;
	struct device *copy;
	struct sv_writer w;
	uint8_t junk[3] = { 1, 2, 3 };

	assert_int_equal(fw_cfg_add_file(f->dev, "etc/data", "abcdef", 6), 0);
	select_key(f, FW_CFG_FILE_FIRST);
	fake_inb(&f->fm, FW_CFG_PORT_DATA);
	fake_inb(&f->fm, FW_CFG_PORT_DATA);
	fake_pio_write(&f->fm, FW_CFG_PORT_DMA, __builtin_bswap32(0), 4);

	copy = fake_clone(f->dev, &fm2);
	assert_non_null(copy);
	/* The machine refills the contents of a restored VM; the position survives. */
	assert_int_equal(fw_cfg_add_file(copy, "etc/data", "abcdef", 6), 0);
	assert_int_equal(fake_inb(&fm2, FW_CFG_PORT_DATA), 'c');
	device_destroy(copy);
	fake_machine_destroy(&fm2);

	/* A truncated stream is refused. */
	w.buf = junk;
	w.len = sizeof(junk);
	w.cap = sizeof(junk);
	w.failed = false;
	assert_int_equal(fake_load(f->dev, &w), -EINVAL);
	assert_int_equal(fake_inb(&f->fm, FW_CFG_PORT_DATA), 'c');
}

static void test_many_files(void **state)
{
	struct fixture *f = *state;
	char name[32];
	int i, ret = 0;

	for (i = 0; i < 1000 && !ret; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		ret = fw_cfg_add_file(f->dev, name, name, strlen(name));
	}
	assert_int_equal(ret, -ENOSPC);
	assert_true(i > 32);
	/* The last file is reachable and the directory counts all of them. */
	select_key(f, FW_CFG_FILE_DIR);
	{
		uint8_t cnt[4];

		read_port(f, cnt, 4);
		assert_int_equal(be32(cnt), (uint32_t)(i - 1));
	}
	select_key(f, (uint16_t)(FW_CFG_FILE_FIRST + i - 2));
	assert_int_equal(fake_inb(&f->fm, FW_CFG_PORT_DATA), 'f');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_signature_and_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_items_and_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_read_skip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_files, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
