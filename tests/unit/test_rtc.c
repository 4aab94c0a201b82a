// SPDX-License-Identifier: GPL-2.0-or-later
/* MC146818 RTC/CMOS against the fake machine's clock. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "devices.h"
#include "fake_machine.h"

#define NS 1000000000LL
#define REG_SEC 0x00
#define REG_SEC_ALARM 0x01
#define REG_MIN 0x02
#define REG_MIN_ALARM 0x03
#define REG_HOUR 0x04
#define REG_HOUR_ALARM 0x05
#define REG_WDAY 0x06
#define REG_MDAY 0x07
#define REG_MONTH 0x08
#define REG_YEAR 0x09
#define REG_A 0x0a
#define REG_B 0x0b
#define REG_C 0x0c
#define REG_D 0x0d
#define REG_CENTURY 0x32
#define B_SET 0x80
#define B_PIE 0x40
#define B_AIE 0x20
#define B_UIE 0x10
#define B_BIN 0x04
#define B_24H 0x02
#define C_IRQF 0x80
#define C_PF 0x40
#define C_AF 0x20
#define C_UF 0x10

struct fixture {
	struct fake_machine fm;
	struct device *dev;
	int64_t t0;   /* 2024-02-29 13:45:56 UTC, a Thursday */
};

static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
			 .tm_hour = h, .tm_min = mi, .tm_sec = s };

	return (int64_t)timegm(&tm);
}

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	assert_int_equal(fake_machine_init(&f.fm, 0), 0);
	f.t0 = utc(2024, 2, 29, 13, 45, 56);
	f.fm.realtime_ns = f.t0 * NS + NS / 2;
	f.dev = fake_device_create(&f.fm, &rtc_model, NULL);
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

static uint8_t rd(struct fixture *f, uint8_t idx)
{
	fake_outb(&f->fm, RTC_PORT, idx);
	return fake_inb(&f->fm, RTC_PORT + 1);
}

static void wr(struct fixture *f, uint8_t idx, uint8_t v)
{
	fake_outb(&f->fm, RTC_PORT, idx);
	fake_outb(&f->fm, RTC_PORT + 1, v);
}

static int irq(struct fixture *f)
{
	return f->fm.irq_level[RTC_GSI];
}

static void test_bcd_time(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(rd(f, REG_B) & (B_BIN | B_24H), B_24H);   /* BCD, 24 h */
	assert_int_equal(rd(f, REG_SEC), 0x56);
	assert_int_equal(rd(f, REG_MIN), 0x45);
	assert_int_equal(rd(f, REG_HOUR), 0x13);
	assert_int_equal(rd(f, REG_WDAY), 5);       /* Sunday = 1 */
	assert_int_equal(rd(f, REG_MDAY), 0x29);
	assert_int_equal(rd(f, REG_MONTH), 0x02);
	assert_int_equal(rd(f, REG_YEAR), 0x24);
	assert_int_equal(rd(f, REG_CENTURY), 0x20);
	assert_int_equal(rd(f, REG_D), 0x80);       /* valid RAM and time */
	/* The clock follows the host's. */
	f->fm.realtime_ns += 5 * NS;
	assert_int_equal(rd(f, REG_SEC), 0x01);
	assert_int_equal(rd(f, REG_MIN), 0x46);
}

static void test_binary_and_12h(void **state)
{
	struct fixture *f = *state;

	wr(f, REG_B, B_BIN | B_24H);
	assert_int_equal(rd(f, REG_SEC), 56);
	assert_int_equal(rd(f, REG_MIN), 45);
	assert_int_equal(rd(f, REG_HOUR), 13);
	assert_int_equal(rd(f, REG_YEAR), 24);
	assert_int_equal(rd(f, REG_CENTURY), 20);
	/* 12-hour BCD: 1 PM is 0x81. */
	wr(f, REG_B, 0);
	assert_int_equal(rd(f, REG_HOUR), 0x81);
	f->fm.realtime_ns = utc(2024, 3, 1, 0, 30, 0) * NS;
	assert_int_equal(rd(f, REG_HOUR), 0x12);   /* midnight is 12 AM */
	f->fm.realtime_ns = utc(2024, 3, 1, 12, 30, 0) * NS;
	assert_int_equal(rd(f, REG_HOUR), 0x92);   /* noon is 12 PM */
	wr(f, REG_B, B_BIN);
	assert_int_equal(rd(f, REG_HOUR), 0x80 | 12);
}

static void test_uip_window(void **state)
{
	struct fixture *f = *state;
	int64_t sec = f->t0 * NS;

	f->fm.realtime_ns = sec + 999755999;
	assert_int_equal(rd(f, REG_A) & 0x80, 0);
	f->fm.realtime_ns = sec + 999756000;       /* 244 us before the update */
	assert_int_equal(rd(f, REG_A) & 0x80, 0x80);
	f->fm.realtime_ns = sec + 999999999;
	assert_int_equal(rd(f, REG_A) & 0x80, 0x80);
	f->fm.realtime_ns = sec + NS;
	assert_int_equal(rd(f, REG_A) & 0x80, 0);
	assert_int_equal(rd(f, REG_A), 0x26);      /* divider on, 1024 Hz */
	/* SET inhibits updates and clears UIP. */
	f->fm.realtime_ns = sec + 999900000;
	wr(f, REG_B, B_SET | B_24H);
	assert_int_equal(rd(f, REG_A) & 0x80, 0);
	/* UIP is read-only. */
	wr(f, REG_B, B_24H);
	f->fm.realtime_ns = sec + NS / 2;
	wr(f, REG_A, 0xa6);
	assert_int_equal(rd(f, REG_A), 0x26);
}

static void test_reg_c_update_flag_and_irq(void **state)
{
	struct fixture *f = *state;

	wr(f, REG_A, 0x20);                         /* periodic off: PF would show too */

	(void)rd(f, REG_C);
	assert_int_equal(rd(f, REG_C), 0);          /* nothing new in the same instant */
	f->fm.realtime_ns += NS;
	assert_int_equal(rd(f, REG_C) & C_UF, C_UF);
	assert_int_equal(rd(f, REG_C) & C_UF, 0);   /* cleared by the read */
	assert_int_equal(irq(f), 0);                /* UIE off: flag only, no IRQ */

	wr(f, REG_B, B_24H | B_UIE);
	f->fm.realtime_ns += NS;
	assert_int_equal(rd(f, REG_A) & 0x7f, 0x20);   /* any access catches up */
	assert_int_equal(irq(f), 1);
	assert_int_equal(f->fm.irq_edges[RTC_GSI], 1);
	assert_int_equal(rd(f, REG_C), C_IRQF | C_UF);
	assert_int_equal(irq(f), 0);
	assert_int_equal(rd(f, REG_C), 0);
}

static void test_periodic_flag(void **state)
{
	struct fixture *f = *state;

	wr(f, REG_A, 0x2f);                         /* 2 Hz */
	(void)rd(f, REG_C);
	f->fm.realtime_ns += NS / 4;                /* from .5 s to .75 s: no 500 ms boundary */
	assert_int_equal(rd(f, REG_C) & C_PF, 0);
	f->fm.realtime_ns += NS / 4;
	assert_int_equal(rd(f, REG_C) & C_PF, C_PF);
	wr(f, REG_A, 0x26);                         /* 1024 Hz */
	wr(f, REG_B, B_24H | B_PIE);
	f->fm.realtime_ns += 1000000;               /* 1 ms */
	assert_int_equal(rd(f, REG_C), C_IRQF | C_PF);
	assert_int_equal(irq(f), 0);
	assert_int_equal(rd(f, REG_C), 0);          /* same instant: no new period */
	wr(f, REG_A, 0x20);                         /* rate 0: periodic off */
	f->fm.realtime_ns += NS / 100;
	assert_int_equal(rd(f, REG_C) & C_PF, 0);
}

static void test_alarm(void **state)
{
	struct fixture *f = *state;

	wr(f, REG_A, 0x20);                         /* periodic off: PF would show too */

	wr(f, REG_SEC_ALARM, 0x00);
	wr(f, REG_MIN_ALARM, 0x46);
	wr(f, REG_HOUR_ALARM, 0x13);
	wr(f, REG_B, B_24H | B_AIE);
	(void)rd(f, REG_C);
	f->fm.realtime_ns += 3 * NS;                /* 13:45:59.5 */
	assert_int_equal(rd(f, REG_C) & C_AF, 0);
	assert_int_equal(irq(f), 0);
	f->fm.realtime_ns += NS;                    /* 13:46:00.5 */
	assert_int_equal(irq(f), 0);                /* not seen before an access */
	assert_int_equal(rd(f, REG_C), C_IRQF | C_AF | C_UF);
	/* "Don't care" bytes (11xxxxxx) match every second. */
	wr(f, REG_SEC_ALARM, 0xc0);
	wr(f, REG_MIN_ALARM, 0xff);
	wr(f, REG_HOUR_ALARM, 0xc3);
	f->fm.realtime_ns += NS;
	assert_int_equal(rd(f, REG_C) & C_AF, C_AF);
	/* A whole day later a once-a-day alarm has matched. */
	wr(f, REG_SEC_ALARM, 0x10);
	wr(f, REG_MIN_ALARM, 0x00);
	wr(f, REG_HOUR_ALARM, 0x02);
	f->fm.realtime_ns += 3 * 86400 * NS;
	assert_int_equal(rd(f, REG_C) & C_AF, C_AF);
}

static void test_set_time(void **state)
{
	struct fixture *f = *state;
	int64_t host = f->fm.realtime_ns;

	wr(f, REG_B, B_SET | B_24H | B_UIE);
	assert_int_equal(rd(f, REG_B), B_SET | B_24H);   /* SET clears UIE */
	wr(f, REG_SEC, 0x58);
	wr(f, REG_MIN, 0x59);
	wr(f, REG_HOUR, 0x23);
	wr(f, REG_MDAY, 0x31);
	wr(f, REG_MONTH, 0x12);
	wr(f, REG_YEAR, 0x99);
	wr(f, REG_CENTURY, 0x19);
	/* Frozen while SET: the bytes read back as written. */
	f->fm.realtime_ns += 10 * NS;
	assert_int_equal(rd(f, REG_SEC), 0x58);
	assert_int_equal(rd(f, REG_C) & C_UF, 0);        /* no updates while SET */
	wr(f, REG_B, B_24H);
	assert_int_equal(rd(f, REG_SEC), 0x58);
	assert_int_equal(rd(f, REG_YEAR), 0x99);
	assert_int_equal(rd(f, REG_CENTURY), 0x19);
	f->fm.realtime_ns += 3 * NS;
	assert_int_equal(rd(f, REG_SEC), 0x01);
	assert_int_equal(rd(f, REG_HOUR), 0x00);
	assert_int_equal(rd(f, REG_MDAY), 0x01);
	assert_int_equal(rd(f, REG_MONTH), 0x01);
	assert_int_equal(rd(f, REG_YEAR), 0x00);
	assert_int_equal(rd(f, REG_CENTURY), 0x20);
	assert_int_equal(rd(f, REG_WDAY), 7);            /* 2000-01-01 was a Saturday */
	assert_int_equal(f->fm.realtime_ns, host + 13 * NS);   /* the host clock is untouched */
	/* A write with SET clear changes that field, the clock keeps running. */
	wr(f, REG_MIN, 0x30);
	assert_int_equal(rd(f, REG_MIN), 0x30);
	assert_int_equal(rd(f, REG_SEC), 0x01);
	f->fm.realtime_ns += NS;
	assert_int_equal(rd(f, REG_SEC), 0x02);
	assert_int_equal(rd(f, REG_MIN), 0x30);
}

static void test_set_invalid_date_ignored(void **state)
{
	struct fixture *f = *state;

	wr(f, REG_B, B_SET | B_24H);
	wr(f, REG_MONTH, 0x13);
	wr(f, REG_B, B_24H);
	assert_int_equal(rd(f, REG_MONTH), 0x02);
	assert_int_equal(rd(f, REG_YEAR), 0x24);
	wr(f, REG_HOUR, 0x25);                          /* running write: ignored too */
	assert_int_equal(rd(f, REG_HOUR), 0x13);
	wr(f, REG_B, B_SET | B_24H);
	wr(f, REG_CENTURY, 0x99);                       /* year 9924: out of range */
	wr(f, REG_B, B_24H);
	assert_int_equal(rd(f, REG_CENTURY), 0x20);
}

static void test_index_port(void **state)
{
	struct fixture *f = *state;

	wr(f, 0x40, 0x5a);
	fake_outb(&f->fm, RTC_PORT, 0x80 | 0x40);        /* bit 7 is the NMI mask */
	assert_int_equal(fake_inb(&f->fm, RTC_PORT + 1), 0x5a);
	assert_int_equal(fake_inb(&f->fm, RTC_PORT), 0xff);   /* write-only */
	/* C and D are read-only. */
	wr(f, REG_D, 0x00);
	assert_int_equal(rd(f, REG_D), 0x80);
}

static void test_nvram_survives_reset(void **state)
{
	struct fixture *f = *state;

	for (unsigned int i = 0x0e; i < 0x80; i++)
		if (i != REG_CENTURY)
			wr(f, (uint8_t)i, (uint8_t)(i ^ 0xa5));
	wr(f, REG_B, B_24H | B_BIN | B_UIE | B_PIE);
	f->fm.realtime_ns += NS;
	(void)rd(f, REG_A);
	assert_int_equal(irq(f), 1);
	device_reset(f->dev);
	assert_int_equal(irq(f), 0);
	for (unsigned int i = 0x0e; i < 0x80; i++)
		if (i != REG_CENTURY)
			assert_int_equal(rd(f, (uint8_t)i), i ^ 0xa5);
	/* Reset clears the interrupt enables and flags, keeps the data mode. */
	assert_int_equal(rd(f, REG_B), B_24H | B_BIN);
	assert_int_equal(rd(f, REG_C), 0);
	assert_int_equal(rd(f, REG_SEC), 57);
}

static void test_save_load(void **state)
{
	struct fixture *f = *state;
	struct fake_machine fm2;
	struct device *dev2;

	wr(f, REG_A, 0x20);                         /* periodic off: PF would show too */

	wr(f, REG_B, B_SET | B_24H | B_BIN);
	wr(f, REG_YEAR, 30);
	wr(f, REG_B, B_24H | B_BIN | B_UIE);
	wr(f, 0x20, 0x42);
	f->fm.realtime_ns += NS;
	(void)rd(f, REG_A);
	assert_int_equal(irq(f), 1);
	dev2 = fake_clone(f->dev, &fm2);
	assert_non_null(dev2);
	assert_int_equal(fm2.irq_level[RTC_GSI], 1);
	fake_outb(&fm2, RTC_PORT, 0x20);
	assert_int_equal(fake_inb(&fm2, RTC_PORT + 1), 0x42);
	fake_outb(&fm2, RTC_PORT, REG_YEAR);
	assert_int_equal(fake_inb(&fm2, RTC_PORT + 1), 30);   /* the guest's offset */
	fake_outb(&fm2, RTC_PORT, REG_C);
	assert_int_equal(fake_inb(&fm2, RTC_PORT + 1), C_IRQF | C_UF);
	assert_int_equal(rd(f, REG_C), C_IRQF | C_UF);
	device_destroy(dev2);
	fake_machine_destroy(&fm2);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_bcd_time),
		T(test_binary_and_12h),
		T(test_uip_window),
		T(test_reg_c_update_flag_and_irq),
		T(test_periodic_flag),
		T(test_alarm),
		T(test_set_time),
		T(test_set_invalid_date_ignored),
		T(test_index_port),
		T(test_nvram_survives_reset),
		T(test_save_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
#undef T
}
