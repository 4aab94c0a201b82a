// SPDX-License-Identifier: GPL-2.0-or-later
/* i8042 controller: commands, output buffer and the CPU reset line. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "devices.h"
#include "fake_machine.h"

#define STS_OBF 0x01
#define STS_IBF 0x02
#define STS_SYS 0x04
#define STS_TIMEOUT 0x40

struct fixture {
	struct fake_machine fm;
	struct device *dev;
};

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	assert_int_equal(fake_machine_init(&f.fm, 0), 0);
	f.dev = fake_device_create(&f.fm, &i8042_model, NULL);
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

static uint8_t status(struct fixture *f) { return fake_inb(&f->fm, I8042_CMD_PORT); }
static void cmd(struct fixture *f, uint8_t c) { fake_outb(&f->fm, I8042_CMD_PORT, c); }
static void data_out(struct fixture *f, uint8_t v) { fake_outb(&f->fm, I8042_DATA_PORT, v); }

/* Read one reply byte the way Linux does: wait for OBF, then read data. */
static uint8_t reply(struct fixture *f)
{
	assert_int_equal(status(f) & STS_OBF, STS_OBF);
	return fake_inb(&f->fm, I8042_DATA_PORT);
}

static void test_commands(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(status(f) & (STS_IBF | STS_OBF), 0);   /* kb_wait() finishes */
	cmd(f, 0xaa);
	assert_int_equal(reply(f), 0x55);
	assert_int_equal(status(f) & STS_OBF, 0);
	assert_int_equal(status(f) & STS_SYS, STS_SYS);
	cmd(f, 0xab);
	assert_int_equal(reply(f), 0x00);

	cmd(f, 0x20);
	assert_int_equal(reply(f) & 0x30, 0x30);   /* both ports disabled after reset */
	cmd(f, 0x60);
	data_out(f, 0x47);
	cmd(f, 0x20);
	assert_int_equal(reply(f), 0x47);
	cmd(f, 0xad);
	cmd(f, 0x20);
	assert_int_equal(reply(f) & 0x10, 0x10);   /* keyboard port disabled */
	cmd(f, 0xae);
	cmd(f, 0x20);
	assert_int_equal(reply(f) & 0x10, 0);
	cmd(f, 0xa7);
	cmd(f, 0x20);
	assert_int_equal(reply(f) & 0x20, 0x20);   /* aux port disabled */
	cmd(f, 0xa8);
	cmd(f, 0x20);
	assert_int_equal(reply(f) & 0x20, 0);

	cmd(f, 0xd0);
	assert_int_equal(reply(f) & 0x01, 0x01);   /* reset line not asserted */
	assert_int_equal(f->fm.resets, 0);
}

static void test_keyboard_bytes_nak(void **state)
{
	struct fixture *f = *state;

	/* No keyboard attached: a byte for it times out at once, as on a
	 * board with nothing plugged in: time-out bit, 0xFE in the buffer. */
	data_out(f, 0xff);   /* RESET */
	assert_int_equal(status(f) & (STS_OBF | STS_TIMEOUT), STS_OBF | STS_TIMEOUT);
	assert_int_equal(reply(f), 0xfe);
	assert_int_equal(status(f) & STS_OBF, 0);
	assert_int_equal(f->fm.resets, 0);
	/* The next controller command clears the time-out, and works. */
	cmd(f, 0xaa);
	assert_int_equal(status(f) & STS_TIMEOUT, 0);
	assert_int_equal(reply(f), 0x55);
	/* A data byte that is a command's parameter is not for the keyboard. */
	cmd(f, 0x60);
	data_out(f, 0x45);
	assert_int_equal(status(f) & (STS_OBF | STS_TIMEOUT), 0);
}

static void test_reset_via_pulse(void **state)
{
	struct fixture *f = *state;

	cmd(f, 0xff);                  /* pulse nothing: all mask bits set */
	assert_int_equal(f->fm.resets, 0);
	cmd(f, 0xfe);                  /* pulse bit 0: CPU reset */
	assert_int_equal(f->fm.resets, 1);
	assert_int_equal(f->fm.poweroffs, 0);
}

static void test_reset_via_output_port(void **state)
{
	struct fixture *f = *state;

	cmd(f, 0xd1);
	data_out(f, 0x03);             /* reset high, A20 on: no reset */
	assert_int_equal(f->fm.resets, 0);
	cmd(f, 0xd0);
	assert_int_equal(reply(f), 0x03);
	cmd(f, 0xd1);
	data_out(f, 0x02);             /* bit 0 low: reset */
	assert_int_equal(f->fm.resets, 1);
	/* The data byte was consumed by 0xd1: the next one goes to the keyboard. */
	data_out(f, 0x00);
	assert_int_equal(f->fm.resets, 1);
}

static void test_save_load(void **state)
{
	struct fixture *f = *state;
	struct fake_machine fm2;
	struct device *dev2;

	cmd(f, 0x60);
	data_out(f, 0x65);
	cmd(f, 0xd1);                  /* pending: the data byte comes after the load */
	dev2 = fake_clone(f->dev, &fm2);
	assert_non_null(dev2);
	fake_outb(&fm2, I8042_DATA_PORT, 0x00);
	assert_int_equal(fm2.resets, 1);
	fake_outb(&fm2, I8042_CMD_PORT, 0x20);
	assert_int_equal(fake_inb(&fm2, I8042_DATA_PORT), 0x65);
	device_destroy(dev2);
	fake_machine_destroy(&fm2);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_commands),
		T(test_keyboard_bytes_nak),
		T(test_reset_via_pulse),
		T(test_reset_via_output_port),
		T(test_save_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
#undef T
}
