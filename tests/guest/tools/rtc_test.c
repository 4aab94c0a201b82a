// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * rtc-test: the CMOS RTC's interrupts as a Linux guest sees them, for
 * tests/guest/t_rtc.sh.  Built static so it runs from a busybox initramfs;
 * run as root on a 1-vCPU guest.  Prints "HUTCH-RESULT key=value" lines:
 *
 *   uie_irqs, uie_ms   RTC_UIE_ON, then 3 blocking read()s of /dev/rtc0:
 *                      how many returned an update interrupt, and the
 *                      CLOCK_MONOTONIC time they took
 *   pie_count          RTC_IRQP_SET 64 + RTC_PIE_ON: interrupts read()
 *                      in one second of CLOCK_MONOTONIC (Linux serves PIE
 *                      from an hrtimer, not from the chip: see hw_pie_count)
 *   hw_pie_count       the chip's own periodic interrupt at 64 Hz
 *                      (register A rate 10, register B PIE, set through
 *                      ports 0x70/0x71): IRQ 8's count in /proc/interrupts
 *                      over one second, each taken by rtc_cmos's handler
 *   alarm_woke, alarm_ms  RTC_ALM_SET 3 s ahead of the RTC's time +
 *                      RTC_AIE_ON: whether a blocking read() woke with an
 *                      alarm interrupt, and after how long
 *
 * Every blocking read is bounded by alarm(2) (a read that never wakes
 * returns EINTR and is reported as such), so the program always ends.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/rtc.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define CMOS_INDEX 0x70
#define CMOS_DATA  0x71
#define REG_A      0x0a
#define REG_B      0x0b
#define B_PIE      0x40
#define A_64HZ     0x2a   /* divider on (010), rate 10: 32768 >> 9 = 64 Hz */
#define A_1024HZ   0x26   /* what Linux leaves there */

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_alarm(int sig)
{
	(void)sig;   /* only interrupts the blocking read */
}

/* One blocking read of /dev/rtc0, given up after @timeout_s: the
 * interrupt types it returned (RTC_UF, RTC_AF, RTC_PF bits), 0 on timeout. */
static unsigned long rtc_wait(int fd, unsigned int timeout_s)
{
	unsigned long data = 0;
	ssize_t n;

	alarm(timeout_s);
	n = read(fd, &data, sizeof(data));
	alarm(0);
	if (n != (ssize_t)sizeof(data)) {
		printf("rtc-test: read: %s\n", n < 0 ? strerror(errno) : "short");
		return 0;
	}
	return data;
}

/*
 * Blocking reads until one returns an interrupt of type @type (a reader's
 * count can hold an earlier test's events), for at most @timeout_s
 * seconds: true if it came.
 */
static bool rtc_wait_for(int fd, unsigned long type, unsigned int timeout_s)
{
	int64_t end = mono_ms() + timeout_s * 1000;

	while (mono_ms() < end) {
		int64_t left = (end - mono_ms() + 999) / 1000;
		unsigned long data = rtc_wait(fd, left > 0 ? (unsigned int)left : 1);

		if (data & type)
			return true;
		if (!data)
			return false;
	}
	return false;
}

static void test_uie(int fd)
{
	unsigned int got = 0;
	int64_t t0;

	if (ioctl(fd, RTC_UIE_ON, 0) < 0) {
		printf("rtc-test: RTC_UIE_ON: %s\n", strerror(errno));
		printf("HUTCH-RESULT uie_irqs=error\n");
		return;
	}
	t0 = mono_ms();
	for (int i = 0; i < 3; i++)
		if (rtc_wait_for(fd, RTC_UF, 5))
			got++;
	printf("HUTCH-RESULT uie_irqs=%u uie_ms=%lld\n", got, (long long)(mono_ms() - t0));
	ioctl(fd, RTC_UIE_OFF, 0);
}

static void test_pie(int fd)
{
	unsigned long count = 0;
	int64_t t0, end;

	if (ioctl(fd, RTC_IRQP_SET, 64) < 0 || ioctl(fd, RTC_PIE_ON, 0) < 0) {
		printf("rtc-test: RTC_IRQP_SET/RTC_PIE_ON: %s\n", strerror(errno));
		printf("HUTCH-RESULT pie_count=error\n");
		return;
	}
	rtc_wait(fd, 2);   /* start counting on an interrupt */
	t0 = mono_ms();
	end = t0 + 1000;
	while (mono_ms() < end) {
		unsigned long data = rtc_wait(fd, 2);

		if (!data)
			break;
		count += data >> 8;   /* interrupts since the last read */
	}
	printf("HUTCH-RESULT pie_count=%lu pie_ms=%lld\n", count, (long long)(mono_ms() - t0));
	ioctl(fd, RTC_PIE_OFF, 0);
}

/* IRQ 8's total count over all CPUs in /proc/interrupts, or -1. */
static long irq8_count(void)
{
	FILE *f = fopen("/proc/interrupts", "r");
	char line[512];
	long total = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *q;

		while (*p == ' ')
			p++;
		if (strncmp(p, "8:", 2))
			continue;
		p += 2;
		total = 0;
		for (;;) {
			long v = strtol(p, &q, 10);

			if (q == p)
				break;
			total += v;
			p = q;
		}
		break;
	}
	fclose(f);
	return total;
}

static uint8_t cmos_read(uint8_t idx)
{
	outb(idx, CMOS_INDEX);
	return inb(CMOS_DATA);
}

/*
 * Write a register and check it took.  rtc_cmos's handler and work item
 * use the index port too; one that runs between our two port accesses
 * leaves the index at B or C, so a write can land on B (harmless here)
 * or on read-only C (lost): hence the check and the retry.
 */
static int cmos_write_checked(uint8_t idx, uint8_t v, uint8_t mask)
{
	for (int i = 0; i < 100; i++) {
		outb(idx, CMOS_INDEX);
		outb(v, CMOS_DATA);
		if ((cmos_read(idx) & mask) == (v & mask))
			return 0;
	}
	return -1;
}

static void test_hw_pie(void)
{
	struct timespec one = { 1, 0 };
	long before, after;
	uint8_t b;
	int64_t t0, ms;

	if (ioperm(CMOS_INDEX, 2, 1) < 0) {
		printf("rtc-test: ioperm: %s\n", strerror(errno));
		printf("HUTCH-RESULT hw_pie_count=error\n");
		return;
	}
	/* No RTC interrupt is enabled now, so nothing races these. */
	b = cmos_read(REG_B) & (uint8_t)~B_PIE;
	if (cmos_write_checked(REG_A, A_64HZ, 0x7f) < 0) {
		printf("HUTCH-RESULT hw_pie_count=error\n");
		return;
	}
	before = irq8_count();
	t0 = mono_ms();
	cmos_write_checked(REG_B, b | B_PIE, 0xff);
	nanosleep(&one, NULL);
	after = irq8_count();
	ms = mono_ms() - t0;
	if (cmos_write_checked(REG_B, b, 0xff) < 0 || cmos_write_checked(REG_A, A_1024HZ, 0x7f) < 0)
		printf("rtc-test: could not turn the periodic interrupt off\n");
	if (before < 0 || after < 0) {
		printf("HUTCH-RESULT hw_pie_count=error\n");
		return;
	}
	printf("HUTCH-RESULT hw_pie_count=%ld hw_pie_ms=%lld\n", after - before, (long long)ms);
}

static void test_alarm(int fd)
{
	struct rtc_time tm;
	struct tm t;
	time_t s;
	bool woke;
	int64_t t0;

	if (ioctl(fd, RTC_RD_TIME, &tm) < 0) {
		printf("rtc-test: RTC_RD_TIME: %s\n", strerror(errno));
		printf("HUTCH-RESULT alarm_woke=error\n");
		return;
	}
	memset(&t, 0, sizeof(t));
	t.tm_sec = tm.tm_sec;
	t.tm_min = tm.tm_min;
	t.tm_hour = tm.tm_hour;
	t.tm_mday = tm.tm_mday;
	t.tm_mon = tm.tm_mon;
	t.tm_year = tm.tm_year;
	s = timegm(&t) + 3;
	gmtime_r(&s, &t);
	tm.tm_sec = t.tm_sec;
	tm.tm_min = t.tm_min;
	tm.tm_hour = t.tm_hour;
	if (ioctl(fd, RTC_ALM_SET, &tm) < 0 || ioctl(fd, RTC_AIE_ON, 0) < 0) {
		printf("rtc-test: RTC_ALM_SET/RTC_AIE_ON: %s\n", strerror(errno));
		printf("HUTCH-RESULT alarm_woke=error\n");
		return;
	}
	t0 = mono_ms();
	woke = rtc_wait_for(fd, RTC_AF, 10);
	printf("HUTCH-RESULT alarm_woke=%d alarm_ms=%lld\n", woke, (long long)(mono_ms() - t0));
	ioctl(fd, RTC_AIE_OFF, 0);
}

int main(void)
{
	struct sigaction sa;
	int fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;   /* no SA_RESTART: the read returns EINTR */
	sigaction(SIGALRM, &sa, NULL);
	fd = open("/dev/rtc0", O_RDONLY);
	if (fd < 0) {
		printf("rtc-test: /dev/rtc0: %s\n", strerror(errno));
		printf("HUTCH-RESULT rtc_open=error\n");
		return 1;
	}
	printf("HUTCH-RESULT rtc_open=ok\n");
	test_uie(fd);
	test_pie(fd);
	test_hw_pie();
	test_alarm(fd);
	close(fd);
	return 0;
}
