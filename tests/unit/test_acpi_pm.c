// SPDX-License-Identifier: GPL-2.0-or-later
/* ACPI PM1 event/control, PM timer and GPE0 blocks. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "devices.h"
#include "fake_machine.h"

#define PM1_STS  (ACPI_PM_PORT + 0)
#define PM1_EN   (ACPI_PM_PORT + 2)
#define PM1_CNT  (ACPI_PM_PORT + ACPI_PM_CNT_OFF)
#define PM_TMR   (ACPI_PM_PORT + ACPI_PM_TMR_OFF)
#define GPE0_STS (ACPI_GPE0_PORT + 0)
#define GPE0_EN  (ACPI_GPE0_PORT + 2)
#define TMR_STS    0x0001
#define PWRBTN_STS 0x0100
#define SCI_EN     0x0001
#define SLP_EN     0x2000
#define SLP_TYP(t) ((t) << 10)

struct fixture {
	struct fake_machine fm;
	struct device *dev;
};

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	assert_int_equal(fake_machine_init(&f.fm, 0), 0);
	f.dev = fake_device_create(&f.fm, &acpi_pm_model, NULL);
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

static uint32_t in(struct fixture *f, uint16_t port, unsigned int size)
{
	return fake_pio_read(&f->fm, port, size);
}

static void out(struct fixture *f, uint16_t port, uint32_t v, unsigned int size)
{
	fake_pio_write(&f->fm, port, v, size);
}

static int sci(struct fixture *f)
{
	return f->fm.irq_level[ACPI_SCI_GSI];
}

static void test_status_write_one_to_clear(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(in(f, PM1_STS, 2), 0);
	acpi_pm_press_power_button(f->dev);
	assert_int_equal(in(f, PM1_STS, 2), PWRBTN_STS);
	out(f, PM1_STS, 0, 2);                      /* writing 0 changes nothing */
	out(f, PM1_STS, TMR_STS, 2);                /* clearing another bit neither */
	assert_int_equal(in(f, PM1_STS, 2), PWRBTN_STS);
	out(f, PM1_STS + 1, PWRBTN_STS >> 8, 1);    /* byte write to the high half */
	assert_int_equal(in(f, PM1_STS, 2), 0);
	/* Software cannot set status bits. */
	out(f, PM1_STS, 0xffff, 2);
	assert_int_equal(in(f, PM1_STS, 2), 0);
}

static void test_sci_level_and_power_button(void **state)
{
	struct fixture *f = *state;

	acpi_pm_press_power_button(f->dev);
	assert_int_equal(sci(f), 0);                /* not enabled */
	out(f, PM1_EN, PWRBTN_STS, 2);
	assert_int_equal(in(f, PM1_EN, 2), PWRBTN_STS);
	assert_int_equal(sci(f), 1);
	assert_int_equal(f->fm.irq_edges[ACPI_SCI_GSI], 1);
	acpi_pm_press_power_button(f->dev);         /* level stays up, no new edge */
	assert_int_equal(f->fm.irq_edges[ACPI_SCI_GSI], 1);
	out(f, PM1_STS, PWRBTN_STS, 2);
	assert_int_equal(sci(f), 0);
	acpi_pm_press_power_button(f->dev);
	assert_int_equal(sci(f), 1);
	assert_int_equal(f->fm.irq_edges[ACPI_SCI_GSI], 2);
	out(f, PM1_EN, 0, 2);                       /* disabling lowers it too */
	assert_int_equal(sci(f), 0);
	assert_int_equal(f->fm.poweroffs, 0);       /* the button only asks the guest */
}

static void test_dword_and_byte_access(void **state)
{
	struct fixture *f = *state;

	acpi_pm_press_power_button(f->dev);
	out(f, PM1_EN + 1, 0x01, 1);                /* PWRBTN_EN via the high byte */
	assert_int_equal(in(f, PM1_EN, 2), PWRBTN_STS);
	/* One dword read: STS in the low half, EN in the high half. */
	assert_int_equal(in(f, PM1_STS, 4), PWRBTN_STS | (uint32_t)PWRBTN_STS << 16);
	assert_int_equal(in(f, PM1_STS + 1, 1), 0x01);
	assert_int_equal(in(f, PM1_STS + 1, 2), 0x0001);   /* STS high byte, EN low byte */
	/* One dword write: clears STS bits and sets EN at once. */
	out(f, PM1_STS, PWRBTN_STS | (uint32_t)TMR_STS << 16, 4);
	assert_int_equal(in(f, PM1_STS, 2), 0);
	assert_int_equal(in(f, PM1_EN, 2), TMR_STS);
	assert_int_equal(sci(f), 0);
	/* Past the end of the 4-byte block: not delivered, reads all-ones. */
	assert_int_equal(in(f, PM1_EN + 1, 4), 0xffffffff);
}

static void test_control_and_s5(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(in(f, PM1_CNT, 2) & SCI_EN, SCI_EN);   /* ACPI mode always */
	out(f, PM1_CNT, 0, 2);
	assert_int_equal(in(f, PM1_CNT, 2) & SCI_EN, SCI_EN);
	out(f, PM1_CNT, SLP_TYP(ACPI_S5_SLP_TYP), 2);           /* SLP_TYP alone: nothing */
	assert_int_equal(f->fm.poweroffs, 0);
	assert_int_equal(in(f, PM1_CNT, 2), SCI_EN | SLP_TYP(ACPI_S5_SLP_TYP));
	out(f, PM1_CNT, SLP_TYP(1) | SLP_EN, 2);                /* another sleep type */
	assert_int_equal(f->fm.poweroffs, 0);
	out(f, PM1_CNT, SLP_TYP(ACPI_S5_SLP_TYP) | SLP_EN, 2);
	assert_int_equal(f->fm.poweroffs, 1);
	assert_int_equal(in(f, PM1_CNT, 2) & SLP_EN, 0);        /* write-only */
	assert_int_equal(f->fm.resets, 0);
	/* Byte write of the high half (SLP_EN | SLP_TYP=5) powers off too. */
	out(f, PM1_CNT + 1, (SLP_TYP(ACPI_S5_SLP_TYP) | SLP_EN) >> 8, 1);
	assert_int_equal(f->fm.poweroffs, 2);
}

static void test_pm_timer(void **state)
{
	struct fixture *f = *state;
	uint32_t t0, t1;

	f->fm.monotonic_ns = 0;
	assert_int_equal(in(f, PM_TMR, 4), 0);
	f->fm.monotonic_ns = 1000000000;           /* 1 s = 3579545 ticks */
	assert_int_equal(in(f, PM_TMR, 4), 3579545);
	f->fm.monotonic_ns = 1000;                 /* 1 us = 3.58 ticks */
	assert_int_equal(in(f, PM_TMR, 4), 3);
	/* 24 bits: wraps after 2^24 ticks, the top byte reads 0. */
	f->fm.monotonic_ns = 5000000000LL;
	assert_int_equal(in(f, PM_TMR, 4), 17897725 & 0xffffff);
	f->fm.monotonic_ns = 123456789012345LL;
	t0 = in(f, PM_TMR, 4);
	assert_int_equal(t0 >> 24, 0);
	f->fm.monotonic_ns += 1000000;             /* 1 ms later */
	t1 = in(f, PM_TMR, 4);
	assert_in_range((t1 - t0) & 0xffffff, 3579, 3580);
	/* Narrow reads see the same bytes. */
	assert_int_equal(in(f, PM_TMR, 2), t1 & 0xffff);
	assert_int_equal(in(f, PM_TMR + 2, 1), (t1 >> 16) & 0xff);
	out(f, PM_TMR, 0, 4);                      /* read-only */
	assert_int_equal(in(f, PM_TMR, 4), t1);
}

static void test_gpe0(void **state)
{
	struct fixture *f = *state;

	out(f, GPE0_EN, 0x0005, 2);
	assert_int_equal(in(f, GPE0_EN, 2), 0x0005);
	assert_int_equal(in(f, GPE0_STS, 4), 0x00050000);
	out(f, GPE0_STS, 0xffff, 2);               /* W1C: nothing to clear, nothing set */
	assert_int_equal(in(f, GPE0_STS, 2), 0);
	assert_int_equal(sci(f), 0);
}

static void test_save_load_and_reset(void **state)
{
	struct fixture *f = *state;
	struct fake_machine fm2;
	struct device *dev2;

	acpi_pm_press_power_button(f->dev);
	out(f, PM1_EN, PWRBTN_STS, 2);
	out(f, GPE0_EN, 0x0102, 2);
	out(f, PM1_CNT, SLP_TYP(3), 2);
	assert_int_equal(sci(f), 1);
	dev2 = fake_clone(f->dev, &fm2);
	assert_non_null(dev2);
	assert_int_equal(fm2.irq_level[ACPI_SCI_GSI], 1);
	assert_int_equal(fake_pio_read(&fm2, PM1_STS, 4), in(f, PM1_STS, 4));
	assert_int_equal(fake_pio_read(&fm2, PM1_CNT, 2), SCI_EN | SLP_TYP(3));
	assert_int_equal(fake_pio_read(&fm2, GPE0_STS, 4), 0x01020000);
	device_destroy(dev2);
	fake_machine_destroy(&fm2);

	device_reset(f->dev);
	assert_int_equal(sci(f), 0);
	assert_int_equal(in(f, PM1_STS, 4), 0);
	assert_int_equal(in(f, GPE0_STS, 4), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_status_write_one_to_clear),
		T(test_sci_level_and_power_button),
		T(test_dword_and_byte_access),
		T(test_control_and_s5),
		T(test_pm_timer),
		T(test_gpe0),
		T(test_save_load_and_reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
#undef T
}
