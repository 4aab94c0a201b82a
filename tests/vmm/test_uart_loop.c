// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * COM1 on the VMM's real event loop (event_loop.c), without KVM: what the
 * guest writes to THR reaches the output pipe from the loop's thread, in
 * order, with nothing written by the "vCPU" (the test's thread); input is
 * read from its pipe into the receive FIFO; a full output pipe makes the
 * transmitter busy instead of blocking the writer; destroy returns with
 * a reader that never reads; a regular file is written up to its cap.
 * The stall limit and its timing are tested on the fake machine's virtual
 * clock (tests/unit/test_uart16550.c); the only time bounds here are
 * generous waits for what must happen.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices.h"
#include "event_loop.h"

#define WAIT_MS 5000
#define LSR_DR   0x01
#define LSR_THRE 0x20

struct rig {
	struct event_loop *loop;
	struct bus pio;
	struct dev_host host;
	struct device *uart;
	int out[2], in[2];
};

static void no_irq(void *opaque, uint32_t gsi, int level)
{
	(void)opaque;
	(void)gsi;
	(void)level;
}

static const struct irq_chip_ops irq_ops = { no_irq };

static int64_t monotonic(void *opaque)
{
	(void)opaque;
	return event_loop_now_ns();
}

/* COM1 with @out_fd/@in_fd as back ends (-1: a pipe of the rig's), capped at @limit bytes. */
static void rig_up_with(struct rig *r, int out_fd, uint64_t limit)
{
	struct device_args args = { .out_fd = -1, .in_fd = -1, .out_limit = limit };
	char err[256];

	memset(r, 0, sizeof(*r));
	r->loop = event_loop_create(err, sizeof(err));
	assert_non_null(r->loop);
	bus_init(&r->pio, "pio");
	r->host = (struct dev_host){ .pio = &r->pio, .irq_ops = &irq_ops,
				     .clock_monotonic_ns = monotonic,
				     .loop_ops = &event_loop_ops, .loop = r->loop };
	assert_int_equal(pipe2(r->out, O_NONBLOCK), 0);
	assert_int_equal(pipe(r->in), 0);
	args.out_fd = out_fd >= 0 ? out_fd : r->out[1];
	args.in_fd = r->in[0];
	r->uart = device_create(&uart16550_model, "com1", &r->host, &args);
	assert_non_null(r->uart);
	assert_int_equal(event_loop_start(r->loop, err, sizeof(err)), 0);
}

static void rig_up(struct rig *r)
{
	rig_up_with(r, -1, 0);
}

static void rig_down(struct rig *r)
{
	/* As machine_destroy does: the loop stops before the devices go. */
	event_loop_stop(r->loop);
	device_destroy(r->uart);
	event_loop_destroy(r->loop);
	bus_destroy(&r->pio);
	for (int i = 0; i < 2; i++) {
		close(r->out[i]);
		close(r->in[i]);
	}
}

static uint8_t inb(struct rig *r, uint16_t port)
{
	uint8_t v = 0;

	assert_true(bus_read(&r->pio, port, &v, 1));
	return v;
}

static void outb(struct rig *r, uint16_t port, uint8_t v)
{
	assert_true(bus_write(&r->pio, port, &v, 1));
}

/* Read @len bytes from @fd, waiting up to WAIT_MS for each. */
static size_t read_all(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, WAIT_MS) <= 0)
			break;
		n = read(fd, buf + got, len - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

static void test_output_and_input(void **state)
{
	static uint8_t got[20000];
	struct rig r;

	(void)state;
	rig_up(&r);
	for (size_t i = 0; i < sizeof(got); i++)
		outb(&r, COM1_PORT, (uint8_t)(i * 13));
	assert_int_equal(read_all(r.out[0], got, sizeof(got)), sizeof(got));
	for (size_t i = 0; i < sizeof(got); i++)
		assert_int_equal(got[i], (uint8_t)(i * 13));

	/* Input: the loop reads it into the FIFO (FIFOs on: 16 bytes). */
	outb(&r, COM1_PORT + 2, 0x01);
	assert_int_equal(write(r.in[1], "hello", 5), 5);
	for (int i = 0; i < WAIT_MS && uart16550_rx_space(r.uart) != 11; i++)
		poll(NULL, 0, 1);
	assert_int_equal(uart16550_rx_space(r.uart), 11);
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(inb(&r, COM1_PORT + 5) & LSR_DR, LSR_DR);
		assert_int_equal(inb(&r, COM1_PORT), "hello"[i]);
	}
	assert_int_equal(uart16550_output_dropped(r.uart), 0);
	rig_down(&r);
}

/* Nobody reads: the writer sees THRE clear (no blocking), destroy still returns. */
static void test_stalled_reader_never_blocks(void **state)
{
	struct rig r;
	size_t written = 0;

	(void)state;
	rig_up(&r);
	assert_true(fcntl(r.out[1], F_SETPIPE_SZ, 4096) >= 4096);
	/* 64 KiB buffered plus the pipe: THRE must clear before 1 MiB. */
	while (written < (1u << 20) && (inb(&r, COM1_PORT + 5) & LSR_THRE)) {
		outb(&r, COM1_PORT, 'x');
		written++;
	}
	assert_true(written < (1u << 20));
	assert_true(written >= 64 * 1024);
	rig_down(&r);
}

/* A regular file (epoll cannot watch one): written by the loop, up to the cap. */
static void test_file_with_cap(void **state)
{
	char path[] = "/tmp/hutch-uart-loop-XXXXXX";
	int fd = mkstemp(path);
	struct rig r;
	struct stat st;

	(void)state;
	assert_true(fd >= 0);
	unlink(path);
	rig_up_with(&r, fd, 1000);
	for (unsigned int i = 0; i < 1500; i++)
		outb(&r, COM1_PORT, 'f');
	for (int i = 0; i < WAIT_MS && (fstat(fd, &st) || st.st_size < 1000); i++)
		poll(NULL, 0, 1);
	assert_int_equal(st.st_size, 1000);
	assert_int_equal(uart16550_output_dropped(r.uart), 500);
	rig_down(&r);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 1000);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_output_and_input),
		cmocka_unit_test(test_stalled_reader_never_blocks),
		cmocka_unit_test(test_file_with_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
