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
#define A_UIP 0x80
#define A_DV_ON 0x20      /* 32.768 kHz, divider running */
#define A_DV_RESET 0x70   /* divider chain held in reset */
#define A_DV_OFF 0x00     /* 4.194304 MHz select: on a PC, no oscillator */
#define UIP_NS 244000LL

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


/* ---- interrupts from the event loop's timers, on the virtual clock ---- */

/* The guest's interrupt handler: if IRQ 8 is up, read register C (which
 * lowers it) and return what it held; else 0. */
static uint8_t isr(struct fixture *f)
{
	return irq(f) ? rd(f, REG_C) : 0;
}

/*
 * Let @ns of virtual time pass in steps of at most @step, running the
 * guest's handler after each; returns how many interrupts it took.  Every
 * interrupt is checked to carry IRQF and @want.
 */
static unsigned int run_guest(struct fixture *f, int64_t ns, int64_t step, uint8_t want)
{
	unsigned int n = 0;

	while (ns > 0) {
		int64_t d = ns < step ? ns : step;
		uint8_t c;

		fake_advance(&f->fm, d);
		ns -= d;
		c = isr(f);
		if (c) {
			assert_int_equal(c & (C_IRQF | want), C_IRQF | want);
			n++;
		}
	}
	return n;
}

/* From the fixture's t0 + 0.5 s to the next whole second, nothing enabled. */
static void to_second(struct fixture *f)
{
	fake_advance(&f->fm, NS / 2);
	assert_int_equal(f->fm.realtime_ns % NS, 0);
	(void)rd(f, REG_C);
}

static void test_periodic_irq_every_rate(void **state)
{
	struct fixture *f = *state;

	to_second(f);
	for (unsigned int rs = 1; rs <= 15; rs++) {
		/* Datasheet table 5 (32.768 kHz time base): rates 1 and 2 are
		 * 256 and 128 Hz, rates 3..15 are 8192 Hz >> (rs - 3). */
		unsigned int hz = rs <= 2 ? 512u >> rs : 32768u >> (rs - 1);
		unsigned int fires = f->fm.timer_fires, edges = f->fm.irq_edges[RTC_GSI];
		int64_t period = NS / hz;

		wr(f, REG_A, (uint8_t)(A_DV_ON | rs));
		wr(f, REG_B, B_24H | B_PIE);
		assert_int_equal(fake_timers_armed(&f->fm), 1);
		/* One second, starting on a second boundary, holds exactly hz periods. */
		assert_int_equal(run_guest(f, NS, period / 3 + 1, C_PF), hz);
		assert_int_equal(f->fm.irq_edges[RTC_GSI] - edges, hz);
		/* One wake-up per interrupt, none in between. */
		assert_int_equal(f->fm.timer_fires - fires, hz);
		assert_int_equal(f->fm.realtime_ns % NS, 0);
		wr(f, REG_B, B_24H);
		assert_int_equal(fake_timers_armed(&f->fm), 0);
		(void)rd(f, REG_C);
	}
	/* Rate 0 turns the periodic interrupt off, PIE or not. */
	wr(f, REG_A, A_DV_ON);
	wr(f, REG_B, B_24H | B_PIE);
	assert_int_equal(fake_timers_armed(&f->fm), 0);
	assert_int_equal(run_guest(f, NS, NS / 100, 0), 0);
}

static void test_periodic_phase_and_unserviced(void **state)
{
	struct fixture *f = *state;
	unsigned int fires;

	/* 2 Hz: the interrupts come at .0 and .5 of the guest's seconds. */
	wr(f, REG_A, A_DV_ON | 0x0f);
	(void)rd(f, REG_C);
	wr(f, REG_B, B_24H | B_PIE);
	fake_advance(&f->fm, NS / 2 - 1);
	assert_int_equal(irq(f), 0);
	fake_advance(&f->fm, 1);
	assert_int_equal(irq(f), 1);   /* raised by the timer: no guest access */
	/* A guest that never reads C gets one edge, and the loop rests. */
	fires = f->fm.timer_fires;
	fake_advance(&f->fm, 10 * NS);
	assert_int_equal(f->fm.irq_edges[RTC_GSI], 1);
	assert_int_equal(f->fm.timer_fires, fires);
	assert_int_equal(fake_timers_armed(&f->fm), 0);
	assert_int_equal(rd(f, REG_C), C_IRQF | C_PF | C_UF);
	assert_int_equal(fake_timers_armed(&f->fm), 1);
	fake_advance(&f->fm, NS / 2);
	assert_int_equal(irq(f), 1);
	assert_int_equal(f->fm.irq_edges[RTC_GSI], 2);
}

static void test_idle_guest_costs_nothing(void **state)
{
	struct fixture *f = *state;

	/* The power-on rate is 1024 Hz, but with no enable no timer runs. */
	assert_int_equal(rd(f, REG_A), A_DV_ON | 0x06);
	fake_advance(&f->fm, 10 * NS);
	assert_int_equal(f->fm.timer_fires, 0);
	assert_int_equal(fake_timers_armed(&f->fm), 0);
	assert_int_equal(f->fm.irq_edges[RTC_GSI], 0);
	/* The flags are still there for a guest that reads C. */
	assert_int_equal(rd(f, REG_C), C_PF | C_UF);
	/* UIE: one wake-up a second. */
	wr(f, REG_B, B_24H | B_UIE);
	assert_int_equal(run_guest(f, 10 * NS, NS / 10, C_UF), 10);
	assert_int_equal(f->fm.timer_fires, 10);
	/* Reading the time or polling UIP arms nothing new. */
	for (int i = 0; i < 100; i++) {
		(void)rd(f, REG_SEC);
		(void)rd(f, REG_A);
	}
	assert_int_equal(fake_timers_armed(&f->fm), 1);
	assert_int_equal(f->fm.timer_fires, 10);
}

static void test_update_ended_irq_and_uip(void **state)
{
	struct fixture *f = *state;
	int64_t to_update = NS / 2;   /* t0 + .5 s: the next update is at t0 + 1 s */

	wr(f, REG_A, A_DV_ON);            /* periodic off: PF would show too */
	wr(f, REG_B, B_24H | B_UIE);
	(void)rd(f, REG_C);
	fake_advance(&f->fm, to_update - UIP_NS - 1);
	assert_int_equal(irq(f), 0);
	assert_int_equal(rd(f, REG_A) & A_UIP, 0);
	fake_advance(&f->fm, 1);           /* 244 us before the update */
	assert_int_equal(rd(f, REG_A) & A_UIP, A_UIP);
	assert_int_equal(rd(f, REG_SEC), 0x56);
	fake_advance(&f->fm, UIP_NS - 1);
	assert_int_equal(irq(f), 0);
	assert_int_equal(rd(f, REG_A) & A_UIP, A_UIP);
	fake_advance(&f->fm, 1);           /* the update: UIP drops, UF rises */
	assert_int_equal(irq(f), 1);
	assert_int_equal(f->fm.irq_edges[RTC_GSI], 1);
	assert_int_equal(rd(f, REG_A) & A_UIP, 0);
	assert_int_equal(rd(f, REG_SEC), 0x57);
	assert_int_equal(rd(f, REG_C), C_IRQF | C_UF);
	assert_int_equal(irq(f), 0);
	/* Then once a second, and nothing else. */
	assert_int_equal(run_guest(f, 3 * NS, NS / 1000, C_UF), 3);
	assert_int_equal(rd(f, REG_SEC), 0x00);
	assert_int_equal(rd(f, REG_MIN), 0x46);
}

static void test_alarm_irq(void **state)
{
	struct fixture *f = *state;
	unsigned int fires;

	wr(f, REG_A, A_DV_ON);            /* periodic off */
	/* 24-hour BCD, 13:46:00; now 13:45:56.5. */
	wr(f, REG_SEC_ALARM, 0x00);
	wr(f, REG_MIN_ALARM, 0x46);
	wr(f, REG_HOUR_ALARM, 0x13);
	wr(f, REG_B, B_24H | B_AIE);
	(void)rd(f, REG_C);
	fires = f->fm.timer_fires;
	fake_advance(&f->fm, 3 * NS + NS / 2 - 1);
	assert_int_equal(irq(f), 0);
	fake_advance(&f->fm, 1);
	assert_int_equal(irq(f), 1);
	assert_int_equal(f->fm.timer_fires - fires, 1);   /* one wake-up, at the alarm */
	assert_int_equal(rd(f, REG_C), C_IRQF | C_AF | C_UF);
	/* Tomorrow's: armed, no wake-up before it. */
	fake_advance(&f->fm, 3600 * NS);
	assert_int_equal(f->fm.irq_edges[RTC_GSI], 1);
	assert_int_equal(fake_timers_armed(&f->fm), 1);
	assert_int_equal(f->fm.timer_fires - fires, 1);
	fake_advance(&f->fm, 86400 * NS - 3600 * NS);
	assert_int_equal(irq(f), 1);
	assert_int_equal(rd(f, REG_C) & (C_IRQF | C_AF), C_IRQF | C_AF);

	/* Now 13:46:00.0 the next day.  Don't care (0xc0-0xff) everywhere:
	 * every second. */
	wr(f, REG_SEC_ALARM, 0xff);
	wr(f, REG_MIN_ALARM, 0xc0);
	wr(f, REG_HOUR_ALARM, 0xd5);
	assert_int_equal(run_guest(f, 5 * NS, NS / 4, C_AF), 5);
	/* Hour don't care, minute and second fixed: 13:50:00. */
	wr(f, REG_SEC_ALARM, 0x00);
	wr(f, REG_MIN_ALARM, 0x50);
	wr(f, REG_HOUR_ALARM, 0xc0);
	fake_advance(&f->fm, (3 * 60 + 55) * NS - 1);   /* 13:49:59.999999999 */
	assert_int_equal(irq(f), 0);
	fake_advance(&f->fm, 1);
	assert_int_equal(isr(f) & C_AF, C_AF);
	/* 12-hour BCD: 1 PM is 0x81.  Alarm 1:51:07 PM. */
	wr(f, REG_B, B_AIE);
	wr(f, REG_SEC_ALARM, 0x07);
	wr(f, REG_MIN_ALARM, 0x51);
	wr(f, REG_HOUR_ALARM, 0x81);
	fake_advance(&f->fm, 67 * NS - 1);
	assert_int_equal(irq(f), 0);
	fake_advance(&f->fm, 1);
	assert_int_equal(isr(f) & C_AF, C_AF);
	assert_int_equal(rd(f, REG_HOUR), 0x81);
	/* 12-hour binary: alarm 1:52:00 PM is hour 0x80 | 1. */
	wr(f, REG_B, B_BIN | B_AIE);
	wr(f, REG_SEC_ALARM, 0);
	wr(f, REG_MIN_ALARM, 52);
	wr(f, REG_HOUR_ALARM, 0x80 | 1);
	fake_advance(&f->fm, 53 * NS - 1);
	assert_int_equal(irq(f), 0);
	fake_advance(&f->fm, 1);
	assert_int_equal(isr(f) & C_AF, C_AF);
	/* 1:52 AM is a different hour: twelve hours away. */
	wr(f, REG_HOUR_ALARM, 1);
	fake_advance(&f->fm, 11 * 3600 * NS);
	assert_int_equal(irq(f), 0);
	/* A minute byte no clock reaches (binary 75) never rings: no timer. */
	wr(f, REG_MIN_ALARM, 75);
	assert_int_equal(fake_timers_armed(&f->fm), 0);
	fake_advance(&f->fm, 2 * 86400 * NS);
	assert_int_equal(irq(f), 0);
}

static void test_set_freezes_updates(void **state)
{
	struct fixture *f = *state;

	wr(f, REG_A, A_DV_ON);
	wr(f, REG_SEC_ALARM, 0xc0);   /* alarm every second */
	wr(f, REG_MIN_ALARM, 0xc0);
	wr(f, REG_HOUR_ALARM, 0xc0);
	wr(f, REG_B, B_SET | B_24H | B_AIE);
	(void)rd(f, REG_C);
	assert_int_equal(fake_timers_armed(&f->fm), 0);   /* no updates, no alarm */
	fake_advance(&f->fm, 5 * NS);
	assert_int_equal(f->fm.irq_edges[RTC_GSI], 0);
	assert_int_equal(rd(f, REG_A) & A_UIP, 0);
	assert_int_equal(rd(f, REG_SEC), 0x56);
	assert_int_equal(rd(f, REG_C), 0);
	/* Released, the clock runs on from the frozen second. */
	wr(f, REG_B, B_24H | B_AIE);
	assert_int_equal(fake_timers_armed(&f->fm), 1);
	fake_advance(&f->fm, NS - 1);
	assert_int_equal(irq(f), 0);
	fake_advance(&f->fm, 1);
	assert_int_equal(irq(f), 1);
	assert_int_equal(rd(f, REG_SEC), 0x57);
	/* The periodic interrupt comes from the divider, which SET leaves alone. */
	wr(f, REG_A, A_DV_ON | 0x0f);
	wr(f, REG_B, B_SET | B_24H | B_PIE);
	(void)rd(f, REG_C);
	assert_int_equal(run_guest(f, NS, NS / 8, C_PF), 2);
}

static void test_divider_stops_clock(void **state)
{
	struct fixture *f = *state;

	wr(f, REG_B, B_24H | B_UIE | B_PIE);
	/* Held in reset at 13:45:56.5: no updates, no periodic, no timer. */
	wr(f, REG_A, A_DV_RESET | 0x06);
	(void)rd(f, REG_C);
	assert_int_equal(fake_timers_armed(&f->fm), 0);
	fake_advance(&f->fm, 10 * NS + NS / 4);
	assert_int_equal(f->fm.irq_edges[RTC_GSI], 0);
	assert_int_equal(rd(f, REG_SEC), 0x56);
	assert_int_equal(rd(f, REG_A) & A_UIP, 0);
	assert_int_equal(rd(f, REG_C), 0);
	assert_int_equal(f->fm.timer_fires, 0);
	/* Out of reset, the first update comes half a second later. */
	wr(f, REG_B, B_24H | B_UIE);
	wr(f, REG_A, A_DV_ON | 0x06);
	fake_advance(&f->fm, NS / 2 - 1);
	assert_int_equal(irq(f), 0);
	fake_advance(&f->fm, 1);
	assert_int_equal(irq(f), 1);
	assert_int_equal(rd(f, REG_SEC), 0x57);
	(void)rd(f, REG_C);
	/* Oscillator off a quarter second after the update: the clock stops
	 * there, and on again it runs the remaining 3/4 s to the next. */
	fake_advance(&f->fm, NS / 4);
	wr(f, REG_A, A_DV_OFF | 0x06);
	fake_advance(&f->fm, 100 * NS);
	assert_int_equal(irq(f), 0);
	assert_int_equal(rd(f, REG_SEC), 0x57);
	wr(f, REG_A, A_DV_ON | 0x06);
	fake_advance(&f->fm, 3 * NS / 4 - 1);
	assert_int_equal(irq(f), 0);
	fake_advance(&f->fm, 1);
	assert_int_equal(irq(f), 1);
	assert_int_equal(rd(f, REG_SEC), 0x58);
}

static void test_guest_time_runs_on(void **state)
{
	struct fixture *f = *state;
	int64_t host = f->fm.realtime_ns;

	/* hwclock --systohc's way: SET, the fields, SET off. */
	wr(f, REG_B, B_SET | B_24H);
	wr(f, REG_SEC, 0x58);
	wr(f, REG_MIN, 0x59);
	wr(f, REG_HOUR, 0x23);
	wr(f, REG_MDAY, 0x31);
	wr(f, REG_MONTH, 0x12);
	wr(f, REG_YEAR, 0x99);
	wr(f, REG_CENTURY, 0x19);
	fake_advance(&f->fm, NS / 3);
	wr(f, REG_B, B_24H | B_UIE);
	/* The clock restarted at 23:59:58.0: the update comes one second on. */
	fake_advance(&f->fm, NS - 1);
	assert_int_equal(irq(f), 0);
	fake_advance(&f->fm, 1);
	assert_int_equal(irq(f), 1);
	(void)rd(f, REG_C);
	wr(f, REG_B, B_24H);
	/* An hour and a bit later the guest reads its own time, advanced. */
	fake_advance(&f->fm, 3600 * NS + 62 * NS + NS / 2);
	assert_int_equal(rd(f, REG_SEC), 0x01);
	assert_int_equal(rd(f, REG_MIN), 0x01);
	assert_int_equal(rd(f, REG_HOUR), 0x01);
	assert_int_equal(rd(f, REG_MDAY), 0x01);
	assert_int_equal(rd(f, REG_MONTH), 0x01);
	assert_int_equal(rd(f, REG_YEAR), 0x00);
	assert_int_equal(rd(f, REG_CENTURY), 0x20);
	/* The host's clock went its own way. */
	assert_int_equal(f->fm.realtime_ns, host + NS / 3 + NS + 3662 * NS + NS / 2);
}

static void test_reset_cancels_timer(void **state)
{
	struct fixture *f = *state;
	unsigned int fires;

	wr(f, REG_SEC_ALARM, 0xc0);
	wr(f, REG_MIN_ALARM, 0xc0);
	wr(f, REG_HOUR_ALARM, 0xc0);
	wr(f, REG_B, B_24H | B_PIE | B_AIE | B_UIE | 0x08 /* SQWE */);
	(void)rd(f, REG_C);
	assert_int_equal(fake_timers_armed(&f->fm), 1);
	device_reset(f->dev);
	assert_int_equal(fake_timers_armed(&f->fm), 0);
	assert_int_equal(rd(f, REG_B), B_24H);   /* PIE, AIE, UIE, SQWE cleared */
	fires = f->fm.timer_fires;
	fake_advance(&f->fm, 5 * NS);
	assert_int_equal(f->fm.timer_fires, fires);
	assert_int_equal(f->fm.irq_edges[RTC_GSI], 0);
	/* Reset with the line up: it drops, and the flags are gone. */
	wr(f, REG_B, B_24H | B_UIE);
	fake_advance(&f->fm, NS);
	assert_int_equal(irq(f), 1);
	device_reset(f->dev);
	assert_int_equal(irq(f), 0);
	assert_int_equal(rd(f, REG_C), 0);
	assert_int_equal(fake_timers_armed(&f->fm), 0);
}

static void test_save_load_mid_period(void **state)
{
	struct fixture *f = *state;
	struct fake_machine fm2;
	struct device *dev2;

	to_second(f);
	wr(f, REG_A, A_DV_ON | 0x0f);   /* 2 Hz */
	wr(f, REG_B, B_24H | B_PIE);
	(void)rd(f, REG_C);
	fake_advance(&f->fm, NS / 4);
	dev2 = fake_clone(f->dev, &fm2);
	assert_non_null(dev2);
	assert_int_equal(fake_timers_armed(&fm2), 1);   /* load armed it again */
	fake_advance(&fm2, NS / 4 - 1);
	assert_int_equal(fm2.irq_level[RTC_GSI], 0);
	fake_advance(&fm2, 1);
	assert_int_equal(fm2.irq_level[RTC_GSI], 1);
	assert_int_equal(fm2.irq_edges[RTC_GSI], 1);
	device_destroy(dev2);
	fake_machine_destroy(&fm2);

	/* A stopped clock stays stopped, at its time. */
	wr(f, REG_B, B_24H | B_UIE);
	wr(f, REG_A, A_DV_RESET);
	dev2 = fake_clone(f->dev, &fm2);
	assert_non_null(dev2);
	assert_int_equal(fake_timers_armed(&fm2), 0);
	fake_advance(&fm2, 10 * NS);
	fake_outb(&fm2, RTC_PORT, REG_SEC);
	assert_int_equal(fake_inb(&fm2, RTC_PORT + 1), 0x57);
	fake_outb(&fm2, RTC_PORT, REG_A);
	fake_outb(&fm2, RTC_PORT + 1, A_DV_ON);
	fake_advance(&fm2, NS / 2);
	assert_int_equal(fm2.irq_level[RTC_GSI], 1);
	fake_outb(&fm2, RTC_PORT, REG_SEC);
	assert_int_equal(fake_inb(&fm2, RTC_PORT + 1), 0x58);
	device_destroy(dev2);
	fake_machine_destroy(&fm2);
}

static void test_clock_end_arms_nothing(void **state)
{
	struct fixture *f = *state;
	unsigned int fires;

	/* The last second the model keeps: 2189-12-31 23:59:59. */
	wr(f, REG_A, A_DV_ON);
	wr(f, REG_B, B_SET | B_24H);
	wr(f, REG_SEC, 0x58);
	wr(f, REG_MIN, 0x59);
	wr(f, REG_HOUR, 0x23);
	wr(f, REG_MDAY, 0x31);
	wr(f, REG_MONTH, 0x12);
	wr(f, REG_YEAR, 0x89);
	wr(f, REG_CENTURY, 0x21);
	wr(f, REG_B, B_24H | B_UIE);
	assert_int_equal(run_guest(f, 10 * NS, NS / 10, C_UF), 1);
	assert_int_equal(rd(f, REG_SEC), 0x59);
	/* The clock stands at its end: no update comes, and no timer spins. */
	assert_int_equal(fake_timers_armed(&f->fm), 0);
	fires = f->fm.timer_fires;
	fake_advance(&f->fm, 10 * NS);
	assert_int_equal(f->fm.timer_fires, fires);
}

static void test_load_version_2(void **state)
{
	struct fixture *f = *state;
	struct sv_writer w;
	struct sv_reader r;
	uint8_t cmos[128] = { 0 };

	/* A version 2 image: UIE on, guest clock one hour ahead of the host. */
	cmos[REG_A] = A_DV_ON;
	cmos[REG_B] = B_24H | B_UIE;
	sv_writer_init(&w);
	sv_put_bytes(&w, cmos, sizeof(cmos));
	sv_put_u8(&w, REG_SEC);
	sv_put_u8(&w, 0);
	sv_put_u8(&w, 0);
	sv_put_u64(&w, (uint64_t)(3600 * NS));
	sv_put_u64(&w, (uint64_t)f->fm.realtime_ns + 3600 * NS);
	sv_reader_init(&r, w.buf, w.len);
	assert_int_equal(device_load(f->dev, &r, 2), 0);
	sv_writer_free(&w);
	assert_int_equal(rd(f, REG_HOUR), 0x14);
	assert_int_equal(fake_timers_armed(&f->fm), 1);
	fake_advance(&f->fm, NS / 2);
	assert_int_equal(irq(f), 1);
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
		T(test_periodic_irq_every_rate),
		T(test_periodic_phase_and_unserviced),
		T(test_idle_guest_costs_nothing),
		T(test_update_ended_irq_and_uip),
		T(test_alarm_irq),
		T(test_set_freezes_updates),
		T(test_divider_stops_clock),
		T(test_guest_time_runs_on),
		T(test_reset_cancels_timer),
		T(test_save_load_mid_period),
		T(test_clock_end_arms_nothing),
		T(test_load_version_2),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
#undef T
}
