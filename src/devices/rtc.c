// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * MC146818 real-time clock and CMOS RAM (Motorola MC146818A datasheet).
 *
 * The clock is the host's (UTC) plus an offset the guest sets by writing
 * the time registers, so it never drifts and needs no ticking.  While the
 * guest holds register B's SET bit the time registers are plain bytes it
 * writes one by one; clearing SET turns them into the new offset.  While
 * register A's divider bits stop the oscillator or hold the divider chain
 * in reset, the clock stands still at a remembered time.  The 114 bytes of
 * CMOS RAM (0x0e-0x7f) survive reset and guest reboots, as on a real board.
 *
 * Register C's flags (periodic, alarm, update-ended) are computed from the
 * clock: whenever the guest touches the chip, and when a timer fires,
 * rtc_catch_up() latches the events since the last look and drives IRQ 8
 * (IRQF) from them.  The one timer on the machine's event loop is armed
 * only for the next event that would raise the interrupt line: nothing
 * runs while no interrupt is enabled (a flag nobody is told about is
 * computed when register C is read), or while IRQF is already high (the
 * guest must read C first).  So an idle guest costs nothing, a guest with
 * UIE costs one wake-up a second, and only PIE costs one per period.
 * Without an event loop (dev_host.loop_ops NULL) the model still behaves
 * exactly for a guest that polls.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "devices.h"

/* Ports (offsets from RTC_PORT) */
#define RTC_INDEX 0   /* write: bit 7 NMI mask, bits 0-6 register index */
#define RTC_DATA  1
#define RTC_NR_PORTS 2
#define INDEX_NMI_DISABLE 0x80
#define INDEX_MASK        0x7f

/* Register indices (datasheet, "Address map") */
#define REG_SEC        0x00
#define REG_SEC_ALARM  0x01
#define REG_MIN        0x02
#define REG_MIN_ALARM  0x03
#define REG_HOUR       0x04
#define REG_HOUR_ALARM 0x05
#define REG_WDAY       0x06
#define REG_MDAY       0x07
#define REG_MONTH      0x08
#define REG_YEAR       0x09
#define REG_A          0x0a
#define REG_B          0x0b
#define REG_C          0x0c
#define REG_D          0x0d
#define REG_CENTURY    0x32   /* PC convention (ACPI FADT CENTURY field) */
#define CMOS_SIZE      128

/* Register A */
#define A_UIP          0x80   /* update in progress, read-only */
#define A_DV_MASK      0x70   /* divider select */
#define A_DV_32KHZ     0x20   /* 32.768 kHz time base, divider running */
#define A_DV_RESET     0x60   /* 11x: divider chain held in reset */
#define A_RS_MASK      0x0f   /* periodic rate select */
#define A_RATE_1024HZ  0x06
/* Register B */
#define B_SET          0x80   /* inhibit updates; time registers are set */
#define B_PIE          0x40
#define B_AIE          0x20
#define B_UIE          0x10
#define B_SQWE         0x08
#define B_DM_BINARY    0x04
#define B_24H          0x02
#define B_DSE          0x01
/* Register C (read-only, cleared by reading) */
#define C_IRQF         0x80
#define C_PF           0x40
#define C_AF           0x20
#define C_UF           0x10
#define C_FLAGS        (C_PF | C_AF | C_UF)
/* Register D */
#define D_VRT          0x80   /* valid RAM and time */

#define HOUR_PM        0x80   /* 12-hour mode: PM flag in the hour byte */
#define ALARM_DONT_CARE 0xc0  /* alarm byte 11xxxxxx matches any value */

#define NS_PER_SEC     1000000000LL
#define SEC_PER_DAY    86400LL
#define RTC_TIMEBASE_HZ 32768
/* UIP is set for the 244 us before each update (datasheet, "UIP"). */
#define UIP_WINDOW_NS  244000LL
/*
 * The guest clock stays within 1900-01-01 .. 2190-01-01, so times in ns and
 * differences between them fit in int64_t whatever the guest writes.
 */
#define RTC_MIN_YEAR   1900
#define RTC_END_YEAR   2190
#define RTC_MIN_NS     (-2208988800LL * NS_PER_SEC)
#define RTC_END_NS     (6942585600LL * NS_PER_SEC)

struct rtc {
	struct device *dev;
	struct irq_line irq;
	int irq_level;
	uint8_t cmos[CMOS_SIZE];  /* time registers hold the guest's bytes only while SET */
	uint8_t index;
	uint8_t nmi_disabled;     /* port 0x70 bit 7; the machine has no NMI source yet */
	uint8_t flags;            /* register C's PF/AF/UF, latched until read */
	int64_t offset_ns;        /* guest time = host realtime + offset, while running */
	int64_t stopped_ns;       /* guest time while the divider is stopped */
	int64_t last_ns;          /* guest time the flags were brought up to */
	struct host_timer *timer; /* next interrupt; NULL without an event loop */
	int64_t armed_ns;         /* guest time the timer is armed for, or NEVER */
	int64_t armed_offset;     /* offset_ns when it was armed */
};

#define NEVER INT64_MAX
#define ARM_UNKNOWN INT64_MIN   /* armed_ns: arm or cancel whatever it holds */

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static int64_t host_ns(const struct rtc *r)
{
	const struct dev_host *h = r->dev->host;

	return h->clock_realtime_ns(h->clock_opaque);
}

static int64_t clamp_ns(int64_t ns)
{
	return ns < RTC_MIN_NS ? RTC_MIN_NS : ns >= RTC_END_NS ? RTC_END_NS - 1 : ns;
}

/*
 * The oscillator runs and the divider chain counts only with DV = 010
 * (datasheet, table 4: the PC's 32.768 kHz time base); any other value
 * stops the clock, the update cycle and the periodic interrupt.
 */
static bool rtc_running(const struct rtc *r)
{
	return (r->cmos[REG_A] & A_DV_MASK) == A_DV_32KHZ;
}

static bool rtc_divider_in_reset(uint8_t a_reg)
{
	return (a_reg & A_DV_RESET) == A_DV_RESET;
}

/* The guest time a running clock shows now. */
static int64_t rtc_running_ns(const struct rtc *r)
{
	int64_t now;

	if (__builtin_add_overflow(host_ns(r), r->offset_ns, &now))
		now = r->offset_ns < 0 ? RTC_MIN_NS : RTC_END_NS;
	return clamp_ns(now);
}

static int64_t rtc_now_ns(const struct rtc *r)
{
	return rtc_running(r) ? rtc_running_ns(r) : r->stopped_ns;
}

static uint8_t to_bcd(unsigned int v) { return (uint8_t)(((v / 10) % 10) << 4 | (v % 10)); }
static unsigned int from_bcd(uint8_t v) { return (v >> 4) * 10u + (v & 0x0f); }

/* Data mode (register B, DM): binary or BCD. */
static uint8_t rtc_encode(const struct rtc *r, unsigned int v)
{
	return (r->cmos[REG_B] & B_DM_BINARY) ? (uint8_t)v : to_bcd(v);
}

static unsigned int rtc_decode(uint8_t b_reg, uint8_t v)
{
	return (b_reg & B_DM_BINARY) ? v : from_bcd(v);
}

static uint8_t rtc_encode_hour(const struct rtc *r, unsigned int hour)
{
	if (r->cmos[REG_B] & B_24H)
		return rtc_encode(r, hour);
	/* 12-hour mode: 12, 1..11 with bit 7 for PM (datasheet table 3). */
	return (uint8_t)(rtc_encode(r, hour % 12 ? hour % 12 : 12) | (hour >= 12 ? HOUR_PM : 0));
}

static unsigned int rtc_decode_hour(uint8_t b_reg, uint8_t v)
{
	unsigned int h;

	if (b_reg & B_24H)
		return rtc_decode(b_reg, v);
	h = rtc_decode(b_reg, v & (uint8_t)~HOUR_PM) % 12;
	return (v & HOUR_PM) ? h + 12 : h;
}

static bool is_time_reg(uint8_t idx)
{
	return idx == REG_SEC || idx == REG_MIN || idx == REG_HOUR || idx == REG_WDAY ||
	       idx == REG_MDAY || idx == REG_MONTH || idx == REG_YEAR || idx == REG_CENTURY;
}

/* Encode the guest clock's value of time register @idx at @sec. */
static uint8_t rtc_time_reg(const struct rtc *r, uint8_t idx, int64_t sec)
{
	time_t t = (time_t)sec;
	struct tm tm;

	if (!gmtime_r(&t, &tm))
		return 0;
	switch (idx) {
	case REG_SEC: return rtc_encode(r, (unsigned int)tm.tm_sec);
	case REG_MIN: return rtc_encode(r, (unsigned int)tm.tm_min);
	case REG_HOUR: return rtc_encode_hour(r, (unsigned int)tm.tm_hour);
	case REG_WDAY: return rtc_encode(r, (unsigned int)tm.tm_wday + 1);  /* Sunday = 1 */
	case REG_MDAY: return rtc_encode(r, (unsigned int)tm.tm_mday);
	case REG_MONTH: return rtc_encode(r, (unsigned int)tm.tm_mon + 1);
	case REG_YEAR: return rtc_encode(r, (unsigned int)(tm.tm_year + 1900) % 100);
	case REG_CENTURY: return rtc_encode(r, (unsigned int)(tm.tm_year + 1900) / 100);
	}
	return 0;
}

/*
 * Move the guest clock so it reads @ns now.  Events were caught up before
 * (every access starts so), so the jump itself raises no flags.
 */
static void rtc_set_guest_ns(struct rtc *r, int64_t ns)
{
	int64_t offset;

	ns = clamp_ns(ns);
	if (!rtc_running(r)) {
		/*
		 * A divider chain in reset has its sub-second stages cleared:
		 * when the reset is lifted, the first update comes half a
		 * second later (datasheet, "Divider control").
		 */
		if (rtc_divider_in_reset(r->cmos[REG_A]))
			ns = floor_div(ns, NS_PER_SEC) * NS_PER_SEC + NS_PER_SEC / 2;
		r->stopped_ns = ns;
	} else if (!__builtin_sub_overflow(ns, host_ns(r), &offset)) {
		r->offset_ns = offset;
	}
	r->last_ns = rtc_now_ns(r);
}

/*
 * The time the time registers' bytes describe, in @b_reg's data mode, or
 * false if they are not a valid date (the guest keeps its old clock).
 */
static bool rtc_regs_to_time(const uint8_t *cmos, uint8_t b_reg, int64_t *sec)
{
	struct tm tm = { 0 };
	time_t t;

	tm.tm_sec = (int)rtc_decode(b_reg, cmos[REG_SEC]);
	tm.tm_min = (int)rtc_decode(b_reg, cmos[REG_MIN]);
	tm.tm_hour = (int)rtc_decode_hour(b_reg, cmos[REG_HOUR]);
	tm.tm_mday = (int)rtc_decode(b_reg, cmos[REG_MDAY]);
	tm.tm_mon = (int)rtc_decode(b_reg, cmos[REG_MONTH]) - 1;
	tm.tm_year = (int)(rtc_decode(b_reg, cmos[REG_CENTURY]) * 100 +
			   rtc_decode(b_reg, cmos[REG_YEAR]) % 100) - 1900;
	if (tm.tm_sec > 59 || tm.tm_min > 59 || tm.tm_hour > 23 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_mon < 0 || tm.tm_mon > 11 ||
	    tm.tm_year < RTC_MIN_YEAR - 1900 || tm.tm_year >= RTC_END_YEAR - 1900)
		return false;
	t = timegm(&tm);   /* a day past the month's end rolls over, as the guest asked */
	*sec = (int64_t)t;
	return true;
}

/* Alarm comparison at an update (datasheet, "Alarm"): 11xxxxxx is "any". */
struct rtc_alarm {
	int sec, min, hour;   /* -1 = don't care */
};

static int rtc_alarm_field(const struct rtc *r, uint8_t idx, bool hour)
{
	uint8_t v = r->cmos[idx];

	if ((v & ALARM_DONT_CARE) == ALARM_DONT_CARE)
		return -1;
	return (int)(hour ? rtc_decode_hour(r->cmos[REG_B], v) : rtc_decode(r->cmos[REG_B], v));
}

static void rtc_alarm_get(const struct rtc *r, struct rtc_alarm *a)
{
	a->sec = rtc_alarm_field(r, REG_SEC_ALARM, false);
	a->min = rtc_alarm_field(r, REG_MIN_ALARM, false);
	a->hour = rtc_alarm_field(r, REG_HOUR_ALARM, true);
}

/*
 * The first second at or after @s whose update matches the alarm, or NEVER
 * (a byte out of range, e.g. minute 0x75, never equals the time).  Each
 * step jumps to the next time the most significant mismatching field
 * takes the wanted value, so a few steps always reach the match.
 */
static int64_t rtc_alarm_next(const struct rtc_alarm *a, int64_t s)
{
	if (a->sec > 59 || a->min > 59 || a->hour > 23)
		return NEVER;
	for (int step = 0; step < 16; step++) {
		int64_t day = floor_div(s, SEC_PER_DAY) * SEC_PER_DAY, tod = s - day;
		int64_t hour = tod / 3600, min = tod / 60 % 60, sec = tod % 60;

		if (a->hour >= 0 && hour != a->hour)
			s = day + a->hour * 3600 + (hour > a->hour ? SEC_PER_DAY : 0);
		else if (a->min >= 0 && min != a->min)
			s = day + hour * 3600 + a->min * 60 + (min > a->min ? 3600 : 0);
		else if (a->sec >= 0 && sec != a->sec)
			s = day + hour * 3600 + min * 60 + a->sec + (sec > a->sec ? 60 : 0);
		else
			return s;
	}
	return NEVER;   /* not reached: three fields need at most 6 steps */
}

/* Periodic interrupt period in 32.768 kHz ticks (datasheet table 5), 0 = off. */
static int64_t rtc_periodic_ticks(const struct rtc *r)
{
	unsigned int rs = r->cmos[REG_A] & A_RS_MASK;

	if (!rs || !rtc_running(r))
		return 0;
	if (rs <= 2)
		rs += 7;   /* rates 1 and 2 repeat rates 8 and 9 */
	return 1LL << (rs - 1);
}

static int64_t ns_to_ticks(int64_t ns)
{
	__int128 p = (__int128)ns * RTC_TIMEBASE_HZ;
	int64_t q = (int64_t)(p / NS_PER_SEC);

	return q - (p % NS_PER_SEC != 0 && p < 0);
}

/* The first time in ns at or after which ns_to_ticks() reaches @ticks. */
static int64_t ticks_to_ns_ceil(int64_t ticks)
{
	__int128 p = (__int128)ticks * NS_PER_SEC;
	int64_t q = (int64_t)(p / RTC_TIMEBASE_HZ);

	return q + (p % RTC_TIMEBASE_HZ != 0 && p > 0);
}

static void rtc_update_irq(struct rtc *r)
{
	uint8_t b = r->cmos[REG_B];
	int level = ((r->flags & C_PF) && (b & B_PIE)) || ((r->flags & C_AF) && (b & B_AIE)) ||
		    ((r->flags & C_UF) && (b & B_UIE));

	if (level != r->irq_level) {
		r->irq_level = level;
		irq_line_set(&r->irq, level);
	}
}

/* Latch the events between the last catch-up and now into register C. */
static void rtc_catch_up(struct rtc *r)
{
	int64_t now = rtc_now_ns(r), period = rtc_periodic_ticks(r);

	if (now > r->last_ns) {
		if (period && floor_div(ns_to_ticks(now), period) !=
			      floor_div(ns_to_ticks(r->last_ns), period))
			r->flags |= C_PF;
		/* SET inhibits the once-a-second update, and with it UF and AF. */
		if (!(r->cmos[REG_B] & B_SET)) {
			int64_t s_last = floor_div(r->last_ns, NS_PER_SEC);
			int64_t s_now = floor_div(now, NS_PER_SEC);
			struct rtc_alarm a;

			rtc_alarm_get(r, &a);
			if (s_now > s_last)
				r->flags |= C_UF;
			if (s_now > s_last && rtc_alarm_next(&a, s_last + 1) <= s_now)
				r->flags |= C_AF;
		}
	}
	/* A clock set backwards restarts the count from the new time. */
	r->last_ns = now;
	rtc_update_irq(r);
}

/*
 * The guest time of the next event that would raise IRQ 8, or NEVER.  A
 * flag already latched needs no timer (IRQF is high until register C is
 * read, and reading it re-arms); a disabled one is computed when read.
 */
static int64_t rtc_next_irq_ns(const struct rtc *r)
{
	uint8_t b = r->cmos[REG_B];
	int64_t now = rtc_now_ns(r), period = rtc_periodic_ticks(r), next = NEVER;

	if (!rtc_running(r))
		return NEVER;
	if ((b & B_PIE) && !(r->flags & C_PF) && period)
		next = ticks_to_ns_ceil((floor_div(ns_to_ticks(now), period) + 1) * period);
	if (!(b & B_SET)) {
		int64_t s_next = floor_div(now, NS_PER_SEC) + 1;

		if ((b & B_UIE) && !(r->flags & C_UF) && s_next * NS_PER_SEC < next)
			next = s_next * NS_PER_SEC;
		if ((b & B_AIE) && !(r->flags & C_AF)) {
			struct rtc_alarm a;
			int64_t s;

			rtc_alarm_get(r, &a);
			s = rtc_alarm_next(&a, s_next);
			/* s is within two days of a clock below RTC_END_NS: no overflow. */
			if (s != NEVER && s * NS_PER_SEC < next)
				next = s * NS_PER_SEC;
		}
	}
	/* The clock stands still at its end: nothing happens any more. */
	return next >= RTC_END_NS ? NEVER : next;
}

/*
 * Arm the timer for the next interrupt, or cancel it.  Called after every
 * change that can move that event (with the lock held), so it skips the
 * loop call when nothing moved: a guest reading the time costs nothing.
 */
static void rtc_rearm(struct rtc *r)
{
	const struct dev_host *h = r->dev->host;
	int64_t next, now;

	if (!r->timer)
		return;
	next = rtc_next_irq_ns(r);
	if (next == r->armed_ns && (next == NEVER || r->offset_ns == r->armed_offset))
		return;
	r->armed_ns = next;
	r->armed_offset = r->offset_ns;
	if (next == NEVER) {
		host_timer_cancel(r->timer);
		return;
	}
	/*
	 * Guest time runs at the host's realtime rate; the loop's timers run
	 * on the monotonic clock.  If the two drift apart (an NTP step), the
	 * timer fires early or late, the callback finds out from the clock
	 * and arms again.
	 */
	now = rtc_now_ns(r);
	host_timer_arm(r->timer, h->clock_monotonic_ns(h->clock_opaque) + (next - now), 0);
}

/* The timer: on the loop thread, with dev->lock held. */
static void rtc_timer_fired(void *opaque)
{
	struct rtc *r = opaque;

	r->armed_ns = NEVER;   /* one-shot: it is disarmed now */
	rtc_catch_up(r);
	rtc_rearm(r);
}

static uint8_t rtc_read_reg(struct rtc *r, uint8_t idx)
{
	uint8_t v;

	if (is_time_reg(idx) && !(r->cmos[REG_B] & B_SET))
		return rtc_time_reg(r, idx, floor_div(rtc_now_ns(r), NS_PER_SEC));
	switch (idx) {
	case REG_A: {
		int64_t ns = rtc_now_ns(r);
		int64_t frac = ns - floor_div(ns, NS_PER_SEC) * NS_PER_SEC;
		bool uip = rtc_running(r) && !(r->cmos[REG_B] & B_SET) &&
			   frac >= NS_PER_SEC - UIP_WINDOW_NS;

		return (uint8_t)((r->cmos[REG_A] & (uint8_t)~A_UIP) | (uip ? A_UIP : 0));
	}
	case REG_C:
		v = r->flags;
		if (r->irq_level)
			v |= C_IRQF;
		r->flags = 0;   /* all flags clear on read (datasheet, "Register C") */
		rtc_update_irq(r);
		return v;
	case REG_D:
		return D_VRT;
	}
	return r->cmos[idx];
}

/*
 * Register B.  SET going high freezes the time registers at the current
 * time so the guest can rewrite them one by one; SET going low starts the
 * clock from what they hold (as a new offset from the host's time).
 */
static void rtc_write_b(struct rtc *r, uint8_t v)
{
	uint8_t old = r->cmos[REG_B];

	if (v & B_SET)
		v &= (uint8_t)~B_UIE;   /* SET high clears UIE (datasheet, "UIE") */
	if ((v & B_SET) && !(old & B_SET)) {
		int64_t sec = floor_div(rtc_now_ns(r), NS_PER_SEC);

		r->cmos[REG_B] = v;   /* freeze in the new data mode */
		for (uint8_t i = 0; i < CMOS_SIZE; i++)
			if (is_time_reg(i))
				r->cmos[i] = rtc_time_reg(r, i, sec);
		return;
	}
	if (!(v & B_SET) && (old & B_SET)) {
		int64_t sec;

		/* The bytes were written in the mode in force while SET was high. */
		/* The clock restarts at the start of the second it was set to. */
		if (rtc_regs_to_time(r->cmos, old, &sec))
			rtc_set_guest_ns(r, sec * NS_PER_SEC);
		else
			device_log(r->dev, "guest set an invalid date; clock unchanged");
	}
	r->cmos[REG_B] = v;
}

/*
 * Register A.  Stopping the divider (DV other than 010: oscillator off, or
 * the chain held in reset) freezes the clock where it stands; starting it
 * again runs it on from there, half a second before the next update if
 * it comes out of reset (rtc_set_guest_ns).
 */
static void rtc_write_a(struct rtc *r, uint8_t v)
{
	int64_t now = rtc_now_ns(r);

	r->cmos[REG_A] = v & (uint8_t)~A_UIP;   /* UIP is read-only */
	rtc_set_guest_ns(r, now);
}

/* A time register written with SET low: change that field, keep the rest running. */
static void rtc_write_time_running(struct rtc *r, uint8_t idx, uint8_t v)
{
	uint8_t regs[CMOS_SIZE];
	int64_t ns = rtc_now_ns(r), sec = floor_div(ns, NS_PER_SEC), t;

	if (idx == REG_WDAY)
		return;   /* derived from the date */
	for (uint8_t i = 0; i < CMOS_SIZE; i++)
		regs[i] = is_time_reg(i) ? rtc_time_reg(r, i, sec) : 0;
	regs[idx] = v;
	if (!rtc_regs_to_time(regs, r->cmos[REG_B], &t)) {
		device_log(r->dev, "guest wrote invalid value %#x to time register %#x", v, idx);
		return;
	}
	rtc_set_guest_ns(r, ns + (t - sec) * NS_PER_SEC);
}

static void rtc_write_reg(struct rtc *r, uint8_t idx, uint8_t v)
{
	if (is_time_reg(idx)) {
		if (r->cmos[REG_B] & B_SET)
			r->cmos[idx] = v;
		else
			rtc_write_time_running(r, idx, v);
		return;
	}
	switch (idx) {
	case REG_A:
		rtc_write_a(r, v);
		break;
	case REG_B:
		rtc_write_b(r, v);
		break;
	case REG_C:
	case REG_D:
		break;   /* read-only */
	default:
		r->cmos[idx] = v;   /* alarm bytes and CMOS RAM */
		break;
	}
}

static uint64_t rtc_read(struct device *dev, uint64_t off, unsigned int size)
{
	struct rtc *r = dev->priv;
	uint8_t v;

	rtc_catch_up(r);
	if (off != RTC_DATA)
		return 0xff;   /* the index register is write-only */
	v = rtc_read_reg(r, r->index);
	rtc_rearm(r);   /* a read of register C makes room for the next interrupt */
	return v;
}

static void rtc_write(struct device *dev, uint64_t off, uint64_t value, unsigned int size)
{
	struct rtc *r = dev->priv;
	uint8_t v = (uint8_t)value;

	rtc_catch_up(r);
	if (off == RTC_INDEX) {
		r->index = v & INDEX_MASK;
		r->nmi_disabled = v & INDEX_NMI_DISABLE;
		return;
	}
	rtc_write_reg(r, r->index, v);
	/* New enables or rates change what is pending from now on. */
	rtc_update_irq(r);
	rtc_rearm(r);
}

static const struct io_region_ops rtc_ops = { rtc_read, rtc_write };

static int rtc_create(struct device *dev, const struct device_args *args)
{
	struct rtc *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	dev->priv = r;
	r->dev = dev;
	r->irq = device_irq_line(dev, args->gsi ? args->gsi : RTC_GSI);
	/* Without an event loop (ENOSYS) interrupts come only when polled. */
	r->timer = host_timer_new(DEV_LOOP(dev->host), &dev->lock, rtc_timer_fired, r);
	if (!r->timer && errno != ENOSYS)
		return -errno;
	r->armed_ns = ARM_UNKNOWN;
	/* Battery-fresh defaults; firmware or the guest reprograms them. */
	r->cmos[REG_A] = A_DV_32KHZ | A_RATE_1024HZ;
	r->cmos[REG_B] = B_24H;
	r->last_ns = rtc_now_ns(r);
	return bus_register(dev->host->pio, args->base ? args->base : RTC_PORT, RTC_NR_PORTS,
			    &rtc_ops, dev, dev->id);
}

static void rtc_reset(struct device *dev)
{
	struct rtc *r = dev->priv;

	/*
	 * RESET clears PIE, AIE, UIE, SQWE and the register C flags only
	 * (datasheet, "RESET"); the time, the data mode and CMOS RAM stay.
	 */
	r->cmos[REG_B] &= (uint8_t)~(B_PIE | B_AIE | B_UIE | B_SQWE);
	r->flags = 0;
	r->index = 0;
	r->nmi_disabled = 0;
	r->last_ns = rtc_now_ns(r);
	r->irq_level = 0;
	irq_line_set(&r->irq, 0);
	/* Nothing is enabled now: no timer survives a machine reset. */
	r->armed_ns = ARM_UNKNOWN;
	rtc_rearm(r);
}

/*
 * State layout: version 1 had cmos, index, offset in seconds; version 2
 * added the NMI mask, the flags, the offset in ns and the catch-up time;
 * version 3 the stopped clock's time.  The timer is not state: load arms
 * it again from the registers.
 */
static int rtc_save(struct device *dev, struct sv_writer *w)
{
	struct rtc *r = dev->priv;

	sv_put_bytes(w, r->cmos, CMOS_SIZE);
	sv_put_u8(w, r->index);
	sv_put_u8(w, r->nmi_disabled);
	sv_put_u8(w, r->flags);
	sv_put_u64(w, (uint64_t)r->offset_ns);
	sv_put_u64(w, (uint64_t)r->last_ns);
	sv_put_u64(w, (uint64_t)r->stopped_ns);
	return 0;
}

static int rtc_load(struct device *dev, struct sv_reader *rd, uint32_t version)
{
	struct rtc *r = dev->priv;
	struct rtc n = *r;

	sv_get_bytes(rd, n.cmos, CMOS_SIZE);
	n.index = sv_get_u8(rd) & INDEX_MASK;
	if (version >= 2) {
		n.nmi_disabled = sv_get_u8(rd) & INDEX_NMI_DISABLE;
		n.flags = sv_get_u8(rd) & C_FLAGS;
		n.offset_ns = (int64_t)sv_get_u64(rd);
		n.last_ns = (int64_t)sv_get_u64(rd);
		n.stopped_ns = version >= 3 ? clamp_ns((int64_t)sv_get_u64(rd)) : 0;
	} else {
		int64_t sec = (int64_t)sv_get_u64(rd);

		if (sec > INT64_MAX / NS_PER_SEC || sec < INT64_MIN / NS_PER_SEC)
			return -EINVAL;
		n.nmi_disabled = 0;
		n.flags = 0;
		n.offset_ns = sec * NS_PER_SEC;
		n.last_ns = 0;
	}
	if (!sv_reader_ok(rd, true))
		return -EINVAL;
	*r = n;
	if (version < 3)
		r->stopped_ns = rtc_running_ns(r);   /* the clock used to run on regardless */
	r->last_ns = version < 2 ? rtc_now_ns(r) : clamp_ns(r->last_ns);
	r->irq_level = -1;   /* drive the line to the loaded state */
	rtc_update_irq(r);
	r->armed_ns = ARM_UNKNOWN;
	rtc_rearm(r);
	return 0;
}

static void rtc_destroy(struct device *dev)
{
	struct rtc *r = dev->priv;

	if (r)
		host_timer_free(r->timer);   /* without dev->lock (host_loop.h) */
	free(r);
}

const struct device_model rtc_model = {
	.name = "rtc",
	.state_version = 3,
	.create = rtc_create,
	.reset = rtc_reset,
	.save = rtc_save,
	.load = rtc_load,
	.destroy = rtc_destroy,
};
