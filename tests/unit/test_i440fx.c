// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The i440FX host bridge (configuration mechanism #1 at 0xCF8/0xCFC) and
 * the PIIX3 ISA bridge, driven through I/O ports as a guest does.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "devices.h"
#include "fake_machine.h"
#include "pci.h"

#define CONFADD 0xcf8
#define CONFDATA 0xcfc
#define RC_PORT 0xcf9

struct fixture {
	struct fake_machine fm;
	struct device *host, *isa;
};

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	assert_int_equal(fake_machine_init(&f.fm, 0), 0);
	f.host = fake_device_create(&f.fm, &i440fx_model, NULL);
	assert_non_null(f.host);
	f.isa = fake_device_create(&f.fm, &piix3_model, NULL);
	assert_non_null(f.isa);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	device_destroy(f->isa);
	device_destroy(f->host);
	fake_machine_destroy(&f->fm);
	return 0;
}

static uint32_t addr(unsigned int bus, unsigned int dev, unsigned int fn, unsigned int reg)
{
	return 0x80000000u | bus << 16 | dev << 11 | fn << 8 | (reg & 0xfc);
}

static uint32_t cfg_read(struct fixture *f, uint32_t a, unsigned int byte, unsigned int size)
{
	fake_pio_write(&f->fm, CONFADD, a, 4);
	return fake_pio_read(&f->fm, (uint16_t)(CONFDATA + byte), size);
}

static void cfg_write(struct fixture *f, uint32_t a, unsigned int byte, uint32_t v,
		      unsigned int size)
{
	fake_pio_write(&f->fm, CONFADD, a, 4);
	fake_pio_write(&f->fm, (uint16_t)(CONFDATA + byte), v, size);
}

static void test_host_bridge_ids(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cfg_read(f, addr(0, 0, 0, 0), 0, 4), 0x12378086);
	assert_int_equal(cfg_read(f, addr(0, 0, 0, 0x08), 0, 4), 0x06000002);
	assert_int_equal(cfg_read(f, addr(0, 0, 0, 0x0c), 2, 1), 0x00);   /* header type 0 */
	/* Byte and word lanes at 0xCFC + n. */
	assert_int_equal(cfg_read(f, addr(0, 0, 0, 0), 2, 2), 0x1237);
	assert_int_equal(cfg_read(f, addr(0, 0, 0, 0), 1, 1), 0x80);
	assert_int_equal(cfg_read(f, addr(0, 0, 0, 0x08), 3, 1), 0x06);
	assert_int_equal(cfg_read(f, addr(0, 0, 0, 0x08), 2, 1), 0x00);
	/* SMRAM reset value, PAM writable storage. */
	assert_int_equal(cfg_read(f, addr(0, 0, 0, 0x70), 2, 1), 0x02);
	cfg_write(f, addr(0, 0, 0, 0x58), 2, 0x33, 1);
	assert_int_equal(cfg_read(f, addr(0, 0, 0, 0x58), 2, 1), 0x33);
	/* A config write to the bridge itself through its own ports (no deadlock). */
	cfg_write(f, addr(0, 0, 0, PCI_COMMAND), 0, PCI_COMMAND_MASTER, 2);
	assert_int_equal(cfg_read(f, addr(0, 0, 0, PCI_COMMAND), 0, 2), PCI_COMMAND_MASTER);
}

/*
 * PAM0-PAM6 (82441FX datasheet 3.2.18): every change reaches the machine
 * through pam_changed with the masked values, PAM0's low nibble and the
 * reserved bits stay 0, and a reset reports the power-on value 0 again,
 * so a rebooted machine reads its ROM at 0xF0000.
 */
static void test_pam_registers(void **state)
{
	struct fixture *f = *state;
	unsigned int before;

	device_reset(f->host);
	assert_int_equal(f->fm.pam_changes > 0, 1);
	for (unsigned int i = 0; i < 7; i++)
		assert_int_equal(f->fm.pam[i], 0);

	/* SeaBIOS's way: two dwords at 0x58 and 0x5C. */
	before = f->fm.pam_changes;
	cfg_write(f, addr(0, 0, 0, 0x58), 0, 0x33333333, 4);
	cfg_write(f, addr(0, 0, 0, 0x5c), 0, 0xffffffff, 4);
	assert_int_equal(f->fm.pam_changes, before + 2);
	assert_int_equal(f->fm.pam[0], 0x30);              /* PAM0 bits 3:0 reserved */
	for (unsigned int i = 1; i < 7; i++)
		assert_int_equal(f->fm.pam[i], 0x33);      /* bits 7:6, 3:2 reserved */
	assert_int_equal(cfg_read(f, addr(0, 0, 0, 0x58), 1, 1), 0x30);
	assert_int_equal(cfg_read(f, addr(0, 0, 0, 0x5c), 0, 4), 0x33333333);
	/* 0x58 (DRAMT) is not PAM: a byte write there reports nothing. */
	before = f->fm.pam_changes;
	cfg_write(f, addr(0, 0, 0, 0x58), 0, 0x01, 1);
	assert_int_equal(f->fm.pam_changes, before);
	/* A byte write to PAM3 alone. */
	cfg_write(f, addr(0, 0, 0, 0x5c), 0, 0x11, 1);
	assert_int_equal(f->fm.pam_changes, before + 1);
	assert_int_equal(f->fm.pam[3], 0x11);
	/* Reset: back to 0, reported. */
	before = f->fm.pam_changes;
	device_reset(f->host);
	assert_int_equal(f->fm.pam_changes, before + 1);
	for (unsigned int i = 0; i < 7; i++)
		assert_int_equal(f->fm.pam[i], 0);
	assert_int_equal(cfg_read(f, addr(0, 0, 0, 0x5c), 0, 4), 0);
}

static void test_confadd_register(void **state)
{
	struct fixture *f = *state;

	fake_pio_write(&f->fm, CONFADD, 0xffffffff, 4);
	assert_int_equal(fake_pio_read(&f->fm, CONFADD, 4), 0x80fffffc);   /* reserved bits 0 */
	/* Narrow accesses do not touch CONFADD. */
	fake_pio_write(&f->fm, CONFADD, 0x80000000, 4);
	fake_pio_write(&f->fm, CONFADD, 0x12, 1);
	fake_pio_write(&f->fm, CONFADD + 2, 0x3456, 2);
	assert_int_equal(fake_pio_read(&f->fm, CONFADD, 4), 0x80000000);
	assert_int_equal(fake_pio_read(&f->fm, CONFADD + 2, 2), 0xffff);
	/* Enable bit clear: the data port is not a config access. */
	fake_pio_write(&f->fm, CONFADD, 0x00000000, 4);
	assert_int_equal(fake_pio_read(&f->fm, CONFDATA, 4), 0xffffffff);
	assert_int_equal(fake_pio_read(&f->fm, CONFDATA + 1, 1), 0xff);
	fake_pio_write(&f->fm, CONFDATA, PCI_COMMAND_MASTER, 2);   /* dropped */
	assert_int_equal(cfg_read(f, addr(0, 0, 0, PCI_COMMAND), 0, 2), 0);
}

static void test_absent_and_malformed(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cfg_read(f, addr(0, 2, 0, 0), 0, 4), 0xffffffff);
	assert_int_equal(cfg_read(f, addr(0, 31, 7, 0), 0, 2), 0xffff);
	assert_int_equal(cfg_read(f, addr(1, 0, 0, 0), 0, 4), 0xffffffff);   /* no bus 1 */
	assert_int_equal(cfg_read(f, addr(255, 0, 0, 0), 0, 4), 0xffffffff);
	/* Misaligned lanes: a word at 0xCFD, a dword at 0xCFE: not delivered. */
	assert_int_equal(cfg_read(f, addr(0, 0, 0, 0), 1, 2), 0xffff);
	assert_int_equal(cfg_read(f, addr(0, 0, 0, 0), 2, 4), 0xffffffff);
	cfg_write(f, addr(0, 0, 0, PCI_COMMAND), 1, 0xffff, 2);
	assert_int_equal(cfg_read(f, addr(0, 0, 0, PCI_COMMAND), 0, 2), 0);
	/* Writes to absent functions vanish. */
	cfg_write(f, addr(0, 5, 0, PCI_COMMAND), 0, 0xffff, 2);
	assert_int_equal(cfg_read(f, addr(0, 5, 0, 0), 0, 4), 0xffffffff);
}

static void test_piix3(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cfg_read(f, addr(0, 1, 0, 0), 0, 4), 0x70008086);
	assert_int_equal(cfg_read(f, addr(0, 1, 0, 0x08), 0, 4), 0x06010000);
	assert_int_equal(cfg_read(f, addr(0, 1, 0, 0x0c), 2, 1), PCI_HEADER_MULTI_FUNC);
	/* Function 1 is not ours (the IDE model's). */
	assert_int_equal(cfg_read(f, addr(0, 1, 1, 0), 0, 4), 0xffffffff);
	/* PIRQ route control: reset 0x80 each, bits 7 and 3:0 writable. */
	assert_int_equal(cfg_read(f, addr(0, 1, 0, 0x60), 0, 4), 0x80808080);
	cfg_write(f, addr(0, 1, 0, 0x60), 0, 0x0b, 1);
	cfg_write(f, addr(0, 1, 0, 0x60), 3, 0xff, 1);
	assert_int_equal(cfg_read(f, addr(0, 1, 0, 0x60), 0, 4), 0x8f80800b);
	assert_int_equal(piix3_pirq_route(f->isa, 0), 0x0b);
	assert_int_equal(piix3_pirq_route(f->isa, 3), 0x8f);
	assert_int_equal(piix3_pirq_route(f->isa, 4), 0x80);
	/* Other registers' reset values. */
	assert_int_equal(cfg_read(f, addr(0, 1, 0, 0x4c), 0, 1), 0x4d);
	assert_int_equal(cfg_read(f, addr(0, 1, 0, 0x4c), 2, 2), 0x0003);
	assert_int_equal(cfg_read(f, addr(0, 1, 0, 0x68), 1, 1), 0x02);
	/* Read-only identity. */
	cfg_write(f, addr(0, 1, 0, 0), 0, 0, 4);
	cfg_write(f, addr(0, 1, 0, 0x0c), 2, 0, 1);
	assert_int_equal(cfg_read(f, addr(0, 1, 0, 0), 0, 4), 0x70008086);
	assert_int_equal(cfg_read(f, addr(0, 1, 0, 0x0c), 2, 1), PCI_HEADER_MULTI_FUNC);
	/* Reset restores routing-disabled. */
	device_reset(f->isa);
	assert_int_equal(cfg_read(f, addr(0, 1, 0, 0x60), 0, 4), 0x80808080);
}

static void test_reset_control(void **state)
{
	struct fixture *f = *state;

	fake_outb(&f->fm, RC_PORT, 0x02);                 /* SRST alone: no reset yet */
	assert_int_equal(f->fm.resets, 0);
	assert_int_equal(fake_inb(&f->fm, RC_PORT), 0x02);
	fake_outb(&f->fm, RC_PORT, 0x06);                 /* RCPU 0 -> 1: reset */
	assert_int_equal(f->fm.resets, 1);
	fake_outb(&f->fm, RC_PORT, 0x06);                 /* no new edge */
	assert_int_equal(f->fm.resets, 1);
	/* Linux's reboot=pci: 0x0a, then 0x0e (bit 3 "full reset" is not kept). */
	fake_outb(&f->fm, RC_PORT, 0x0a);
	assert_int_equal(f->fm.resets, 1);
	fake_outb(&f->fm, RC_PORT, 0x0e);
	assert_int_equal(f->fm.resets, 2);
	assert_int_equal(fake_inb(&f->fm, RC_PORT), 0x06);
	/* CONFADD is untouched by it. */
	fake_pio_write(&f->fm, CONFADD, 0x80000800, 4);
	fake_outb(&f->fm, RC_PORT, 0);
	assert_int_equal(fake_pio_read(&f->fm, CONFADD, 4), 0x80000800);
}

static void test_save_load(void **state)
{
	struct fixture *f = *state;
	struct fake_machine fm2;
	struct device *copy;
	struct sv_writer w;
	struct sv_reader r;

	cfg_write(f, addr(0, 0, 0, 0x58), 2, 0x11, 1);
	fake_pio_write(&f->fm, CONFADD, addr(0, 0, 0, 0x58), 4);
	copy = fake_clone(f->host, &fm2);
	assert_non_null(copy);
	assert_int_equal(fake_pio_read(&fm2, CONFADD, 4), addr(0, 0, 0, 0x58));
	assert_int_equal(fake_pio_read(&fm2, CONFDATA + 2, 1), 0x11);
	/* The restored PAM value reaches the clone's machine. */
	assert_int_equal(fm2.pam[1], 0x11);
	device_destroy(copy);
	fake_machine_destroy(&fm2);
	/* A truncated stream is refused. */
	assert_int_equal(fake_save(f->isa, &w), 0);
	sv_reader_init(&r, w.buf, w.len - 1);
	assert_int_equal(device_load(f->isa, &r, 1), -EINVAL);
	sv_reader_init(&r, w.buf, w.len);
	assert_int_equal(device_load(f->isa, &r, 1), 0);
	sv_writer_free(&w);
}

static void test_needs_pci_bus(void **state)
{
	struct fake_machine fm;

	(void)state;
	assert_int_equal(fake_machine_init(&fm, 0), 0);
	fm.host.pci = NULL;
	errno = 0;
	assert_null(fake_device_create(&fm, &i440fx_model, NULL));
	assert_int_equal(errno, ENODEV);
	assert_null(fake_device_create(&fm, &piix3_model, NULL));
	assert_int_equal(fm.pio.nr, 0);
	fake_machine_destroy(&fm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_host_bridge_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_confadd_register, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pam_registers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_absent_and_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_piix3, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_control, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_load, setup, teardown),
		cmocka_unit_test(test_needs_pci_bus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
