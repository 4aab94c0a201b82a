// SPDX-License-Identifier: GPL-2.0-or-later
/* 16550A UART through its registers on the fake machine's port bus. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices.h"
#include "fake_machine.h"

#define BASE COM1_PORT
#define RBR (BASE + 0)
#define THR (BASE + 0)
#define DLL (BASE + 0)
#define IER (BASE + 1)
#define DLM (BASE + 1)
#define IIR (BASE + 2)
#define FCR (BASE + 2)
#define LCR (BASE + 3)
#define MCR (BASE + 4)
#define LSR (BASE + 5)
#define MSR (BASE + 6)
#define SCR (BASE + 7)

#define IER_RDI  0x01
#define IER_THRI 0x02
#define IER_RLSI 0x04
#define IER_MSI  0x08
#define IIR_NONE 0x01
#define IIR_MS   0x00
#define IIR_THR  0x02
#define IIR_RD   0x04
#define IIR_RLS  0x06
#define IIR_CTO  0x0c
#define IIR_FIFO 0xc0
#define MCR_DTR  0x01
#define MCR_RTS  0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define LSR_DR   0x01
#define LSR_OE   0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

struct fixture {
	struct fake_machine fm;
	struct device *dev;
	int pipe[2];   /* the UART's output back end */
};

static int setup(void **state)
{
	static struct fixture f;
	struct device_args args = { .base = 0, .gsi = 0, .in_fd = -1 };

	memset(&f, 0, sizeof(f));
	assert_int_equal(fake_machine_init(&f.fm, 0), 0);
	assert_int_equal(pipe2(f.pipe, O_NONBLOCK), 0);
	args.out_fd = f.pipe[1];
	f.dev = device_create(&uart16550_model, "com1", &f.fm.host, &args);
	assert_non_null(f.dev);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	device_destroy(f->dev);
	close(f->pipe[0]);
	close(f->pipe[1]);
	fake_machine_destroy(&f->fm);
	return 0;
}

static int irq(struct fixture *f)
{
	return f->fm.irq_level[COM1_GSI];
}

static unsigned int edges(struct fixture *f)
{
	return f->fm.irq_edges[COM1_GSI];
}

static uint8_t in(struct fixture *f, uint16_t port)
{
	return fake_inb(&f->fm, port);
}

static void out(struct fixture *f, uint16_t port, uint8_t v)
{
	fake_outb(&f->fm, port, v);
}

static void feed(struct fixture *f, const char *s, size_t expect_taken)
{
	assert_int_equal(uart16550_receive(f->dev, (const uint8_t *)s, strlen(s)), expect_taken);
}

static void test_reset_values(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(in(f, IER), 0);
	assert_int_equal(in(f, IIR), IIR_NONE);
	assert_int_equal(in(f, LCR), 0);
	assert_int_equal(in(f, MCR), 0);
	assert_int_equal(in(f, LSR), LSR_THRE | LSR_TEMT);
	/* A host is always attached: CTS, DSR and DCD, no deltas. */
	assert_int_equal(in(f, MSR), 0xb0);
	assert_int_equal(irq(f), 0);
	assert_int_equal(uart16550_rx_space(f->dev), 1);   /* FIFOs off: one holding register */
	/* Reserved IER bits read as zero. */
	out(f, IER, 0xff);
	assert_int_equal(in(f, IER), 0x0f);
	out(f, SCR, 0xa5);
	assert_int_equal(in(f, SCR), 0xa5);
	/* Writes to the read-only LSR/MSR change nothing. */
	out(f, LSR, 0x00);
	assert_int_equal(in(f, LSR) & LSR_THRE, LSR_THRE);
	/* A word access is not fatal. */
	fake_pio_write(&f->fm, BASE + 6, 0xffff, 2);
	(void)fake_pio_read(&f->fm, BASE + 4, 4);
	assert_int_equal(in(f, SCR), 0xa5);
}

static void test_divisor_latch(void **state)
{
	struct fixture *f = *state;
	char c;

	out(f, IER, IER_RDI);
	out(f, LCR, 0x83);          /* DLAB, 8N1 */
	out(f, DLL, 0x01);          /* 115200 baud */
	out(f, DLM, 0x02);
	assert_int_equal(in(f, DLL), 0x01);
	assert_int_equal(in(f, DLM), 0x02);
	assert_int_equal(read(f->pipe[0], &c, 1), -1);   /* DLL write is not a byte sent */
	out(f, LCR, 0x03);
	assert_int_equal(in(f, IER), IER_RDI);
	assert_int_equal(in(f, LCR), 0x03);
	out(f, LCR, 0x83);
	assert_int_equal(in(f, DLL) | in(f, DLM) << 8, 0x0201);
}

static void test_transmit(void **state)
{
	struct fixture *f = *state;
	char buf[8];

	out(f, THR, 'h');
	out(f, THR, 'i');
	/* The vCPU never writes: the bytes wait for the loop. */
	assert_int_equal(read(f->pipe[0], buf, sizeof(buf)), -1);
	/* The buffer takes them at once: THR is empty again. */
	assert_int_equal(in(f, LSR) & (LSR_THRE | LSR_TEMT), LSR_THRE | LSR_TEMT);
	assert_true(fake_loop_run(&f->fm) > 0);
	assert_int_equal(read(f->pipe[0], buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "hi", 2);
	/* Nothing left to write: the loop stops watching the fd. */
	assert_int_equal(fake_loop_run(&f->fm), 0);
	assert_int_equal(uart16550_output_dropped(f->dev), 0);
}

static void test_transmit_without_backend(void **state)
{
	struct fake_machine fm;
	struct device_args args = { .base = 0x2f8, .gsi = 3, .out_fd = -1, .in_fd = -1 };
	struct device *dev;

	assert_int_equal(fake_machine_init(&fm, 0), 0);
	dev = device_create(&uart16550_model, "com2", &fm.host, &args);
	assert_non_null(dev);
	fake_outb(&fm, 0x2f8 + 4, MCR_OUT2);
	fake_outb(&fm, 0x2f8 + 1, IER_THRI);
	assert_int_equal(fm.irq_level[3], 1);       /* args' GSI is used */
	assert_int_equal(fm.irq_level[COM1_GSI], 0);
	fake_outb(&fm, 0x2f8, 'x');                 /* dropped, not fatal */
	assert_int_equal(fake_inb(&fm, 0x2f8 + 2), IIR_THR);
	assert_int_equal(fake_inb(&fm, 0x3f8 + 5), 0xff);   /* nothing at COM1 */
	device_destroy(dev);
	fake_machine_destroy(&fm);
}

static void test_thre_interrupt(void **state)
{
	struct fixture *f = *state;
	char buf[4];

	out(f, MCR, MCR_OUT2);
	assert_int_equal(irq(f), 0);
	out(f, IER, IER_THRI);
	assert_int_equal(irq(f), 1);
	assert_int_equal(edges(f), 1);
	/* Reading IIR when THRE is the source acknowledges it. */
	assert_int_equal(in(f, IIR), IIR_THR);
	assert_int_equal(irq(f), 0);
	assert_int_equal(in(f, IIR), IIR_NONE);
	/* A write to THR empties again at once: THRE again. */
	out(f, THR, 'a');
	assert_int_equal(irq(f), 1);
	assert_int_equal(edges(f), 2);
	/* Disabling THRI lowers the line; IIR shows nothing. */
	out(f, IER, 0);
	assert_int_equal(irq(f), 0);
	assert_int_equal(in(f, IIR), IIR_NONE);
	/* Re-enabling with THR empty re-arms it. */
	out(f, IER, IER_THRI);
	assert_int_equal(irq(f), 1);
	assert_int_equal(in(f, IIR), IIR_THR);
	/* An IER write with THRI already set also re-arms (THRE is still set). */
	out(f, IER, IER_THRI);
	assert_int_equal(in(f, IIR), IIR_THR);
	assert_int_equal(in(f, IIR), IIR_NONE);
	fake_loop_run(&f->fm);
	assert_int_equal(read(f->pipe[0], buf, sizeof(buf)), 1);
}

/* The sequence of Linux's serial8250_do_startup THRE test. */
static void test_linux_thre_test(void **state)
{
	struct fixture *f = *state;
	uint8_t iir1, iir2, lsr;

	out(f, LCR, 0x03);
	out(f, MCR, MCR_OUT2 | MCR_RTS | MCR_DTR);
	lsr = in(f, LSR);
	out(f, IER, IER_THRI);
	iir1 = in(f, IIR);
	out(f, IER, 0);
	out(f, IER, IER_THRI);
	iir2 = in(f, IIR);
	out(f, IER, 0);
	assert_true(lsr & LSR_TEMT);
	assert_int_equal(iir1 & 0x0f, IIR_THR);
	assert_int_equal(iir2 & 0x0f, IIR_THR);   /* else Linux sets UART_BUG_THRE */
	assert_int_equal(edges(f), 2);
	assert_int_equal(irq(f), 0);
}

static void test_out2_gates_irq(void **state)
{
	struct fixture *f = *state;

	out(f, IER, IER_THRI | IER_RDI);
	assert_int_equal(in(f, IIR), IIR_THR);     /* pending, but the pin stays low */
	feed(f, "z", 1);
	assert_int_equal(in(f, IIR), IIR_RD);
	assert_int_equal(irq(f), 0);
	assert_int_equal(edges(f), 0);
	out(f, MCR, MCR_OUT2);
	assert_int_equal(irq(f), 1);
	assert_int_equal(edges(f), 1);
	out(f, MCR, MCR_DTR);
	assert_int_equal(irq(f), 0);
	assert_int_equal(in(f, IIR), IIR_RD);      /* still pending inside */
	out(f, MCR, MCR_OUT2 | MCR_DTR);
	assert_int_equal(irq(f), 1);
	assert_int_equal(in(f, RBR), 'z');
	assert_int_equal(irq(f), 0);
}

static void test_receive_no_fifo(void **state)
{
	struct fixture *f = *state;

	out(f, MCR, MCR_OUT2);
	out(f, IER, IER_RDI);
	assert_int_equal(irq(f), 0);
	feed(f, "ab", 1);                          /* one holding register */
	assert_int_equal(uart16550_rx_space(f->dev), 0);
	assert_int_equal(irq(f), 1);
	assert_int_equal(in(f, IIR), IIR_RD);
	assert_int_equal(in(f, LSR) & LSR_DR, LSR_DR);
	assert_int_equal(in(f, RBR), 'a');
	assert_int_equal(in(f, LSR) & LSR_DR, 0);
	assert_int_equal(in(f, IIR), IIR_NONE);
	assert_int_equal(irq(f), 0);
	assert_int_equal(uart16550_rx_space(f->dev), 1);
}

static void test_fifo_fill_and_trigger(void **state)
{
	struct fixture *f = *state;
	const char *msg = "0123456789abcdefXYZ";

	out(f, FCR, 0xc1);                         /* FIFO on, trigger level 14 */
	assert_int_equal(in(f, IIR), IIR_FIFO | IIR_NONE);
	assert_int_equal(uart16550_rx_space(f->dev), 16);
	out(f, IER, IER_RDI);
	feed(f, "0123", 4);
	/* Below the trigger level the data is reported as a character timeout. */
	assert_int_equal(in(f, IIR), IIR_FIFO | IIR_CTO);
	assert_int_equal(uart16550_receive(f->dev, (const uint8_t *)msg + 4, strlen(msg) - 4), 12);
	assert_int_equal(uart16550_rx_space(f->dev), 0);
	assert_int_equal(in(f, IIR), IIR_FIFO | IIR_RD);
	assert_int_equal(in(f, LSR) & LSR_OE, 0);  /* flow control: nothing lost */
	for (unsigned int i = 0; i < 16; i++)
		assert_int_equal(in(f, RBR), msg[i]);
	assert_int_equal(in(f, LSR) & LSR_DR, 0);
	assert_int_equal(in(f, IIR), IIR_FIFO | IIR_NONE);
	/* FCR bit 1 clears the receive FIFO. */
	feed(f, "abc", 3);
	out(f, FCR, 0xc3);
	assert_int_equal(in(f, LSR) & LSR_DR, 0);
	assert_int_equal(uart16550_rx_space(f->dev), 16);
	/* Turning the FIFOs off empties them too. */
	feed(f, "abc", 3);
	out(f, FCR, 0x00);
	assert_int_equal(in(f, LSR) & LSR_DR, 0);
	assert_int_equal(in(f, IIR), IIR_NONE);
}

static void test_loopback(void **state)
{
	struct fixture *f = *state;
	char c;

	/* Linux's autoconfig: MCR = LOOP|OUT2|RTS must show CTS and DCD. */
	out(f, MCR, MCR_LOOP | 0x0a);
	assert_int_equal(in(f, MSR) & 0xf0, 0x90);
	out(f, MCR, MCR_LOOP | MCR_DTR | MCR_RTS | MCR_OUT1 | MCR_OUT2);
	assert_int_equal(in(f, MSR) & 0xf0, 0xf0);
	out(f, MCR, MCR_LOOP);
	assert_int_equal(in(f, MSR) & 0xf0, 0x00);
	/* Transmitted bytes come back, and do not reach the back end. */
	out(f, THR, 'L');
	assert_int_equal(in(f, LSR) & LSR_DR, LSR_DR);
	assert_int_equal(in(f, RBR), 'L');
	assert_int_equal(read(f->pipe[0], &c, 1), -1);
	/* The serial input is disconnected in loopback. */
	feed(f, "q", 0);
	assert_int_equal(uart16550_rx_space(f->dev), 0);
	/* IRQ output is internal in loopback: the pin stays low. */
	out(f, IER, IER_THRI);
	assert_int_equal(in(f, IIR), IIR_THR);
	assert_int_equal(irq(f), 0);
}

static void test_overrun_and_priorities(void **state)
{
	struct fixture *f = *state;
	uint8_t msr;

	out(f, FCR, 0x01);                         /* FIFO, trigger level 1 */
	out(f, MCR, MCR_LOOP | MCR_OUT2);
	for (unsigned int i = 0; i < 17; i++)      /* one more than the FIFO holds */
		out(f, THR, (uint8_t)('a' + i));
	/* Toggle RTS in loopback: CTS changes, a modem status change. */
	out(f, MCR, MCR_LOOP | MCR_OUT2 | MCR_RTS);
	out(f, IER, IER_RDI | IER_THRI | IER_RLSI | IER_MSI);
	/* Receiver line status first. */
	assert_int_equal(in(f, IIR) & 0x0f, IIR_RLS);
	assert_int_equal(in(f, IIR) & 0x0f, IIR_RLS);   /* reading IIR does not clear it */
	assert_int_equal(in(f, LSR) & (LSR_OE | LSR_DR), LSR_OE | LSR_DR);
	assert_int_equal(in(f, LSR) & LSR_OE, 0);         /* cleared by the LSR read */
	/* Then received data, until the FIFO is drained. */
	assert_int_equal(in(f, IIR) & 0x0f, IIR_RD);
	for (unsigned int i = 0; i < 16; i++)
		assert_int_equal(in(f, RBR), 'a' + i);      /* the 17th byte was lost */
	/* Then THRE, acknowledged by this IIR read. */
	assert_int_equal(in(f, IIR) & 0x0f, IIR_THR);
	/* Then modem status, cleared by reading MSR. */
	assert_int_equal(in(f, IIR) & 0x0f, IIR_MS);
	msr = in(f, MSR);
	assert_int_equal(msr & 0x01, 0x01);              /* DCTS */
	assert_int_equal(msr & 0x10, 0x10);              /* CTS follows RTS */
	assert_int_equal(in(f, MSR) & 0x0f, 0);
	assert_int_equal(in(f, IIR) & 0x0f, IIR_NONE);
}

static void test_save_load_round_trip(void **state)
{
	struct fixture *f = *state;
	struct fake_machine fm2;
	struct sv_writer w;
	struct sv_reader r;
	struct device *dev2;
	static const uint16_t regs[] = { IER, IIR, LCR, MCR, LSR, MSR, SCR };

	out(f, LCR, 0x80);
	out(f, DLL, 0x34);
	out(f, DLM, 0x12);
	out(f, LCR, 0x1b);
	out(f, FCR, 0x81);                         /* FIFO, trigger 8 */
	out(f, SCR, 0x77);
	out(f, MCR, MCR_OUT2 | MCR_DTR);
	out(f, IER, IER_RDI | IER_THRI);
	feed(f, "hello", 5);
	dev2 = fake_clone(f->dev, &fm2);
	assert_non_null(dev2);
	assert_int_equal(fm2.irq_level[COM1_GSI], 1);   /* the line follows the loaded state */
	for (unsigned int i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		assert_int_equal(fake_inb(&fm2, regs[i]), in(f, regs[i]));
	for (unsigned int i = 0; i < 5; i++)
		assert_int_equal(fake_inb(&fm2, RBR), "hello"[i]);
	fake_outb(&fm2, LCR, 0x9b);
	assert_int_equal(fake_inb(&fm2, DLL), 0x34);
	assert_int_equal(fake_inb(&fm2, DLM), 0x12);

	/* A bad stream changes nothing: FIFO count beyond 16. */
	assert_int_equal(fake_save(f->dev, &w), 0);
	w.buf[10] = 17;
	sv_reader_init(&r, w.buf, w.len);
	assert_int_equal(device_load(dev2, &r, uart16550_model.state_version), -EINVAL);
	assert_int_equal(fake_inb(&fm2, SCR), 0x77);
	sv_writer_free(&w);
	device_destroy(dev2);
	fake_machine_destroy(&fm2);
}

static void test_reset_lowers_irq(void **state)
{
	struct fixture *f = *state;

	out(f, MCR, MCR_OUT2);
	out(f, IER, IER_THRI);
	assert_int_equal(irq(f), 1);
	feed(f, "x", 1);
	device_reset(f->dev);
	assert_int_equal(irq(f), 0);
	assert_int_equal(in(f, IER), 0);
	assert_int_equal(in(f, MCR), 0);
	assert_int_equal(in(f, LSR) & LSR_DR, 0);
}

/* --- The host side: output through the loop, flow control, the stall limit, input --- */

#define OUT_BUF   (64 * 1024)            /* the UART's output buffer */
#define STALL_NS  1000000000LL           /* its stall limit */
#define MS        1000000LL

/* Shrink the fixture's pipe to one page and fill it: a reader that stalls. */
static size_t stall_pipe(struct fixture *f)
{
	static const uint8_t junk[4096];
	size_t filled = 0;
	ssize_t n;

	assert_true(fcntl(f->pipe[1], F_SETPIPE_SZ, 4096) >= 4096);
	while ((n = write(f->pipe[1], junk, sizeof(junk))) > 0)
		filled += (size_t)n;
	assert_int_equal(errno, EAGAIN);
	return filled;
}

/* Read the pipe until it is empty, appending to @buf (at most @cap bytes). */
static size_t drain_pipe(struct fixture *f, uint8_t *buf, size_t cap)
{
	size_t got = 0;
	ssize_t n;

	while (got < cap && (n = read(f->pipe[0], buf + got, cap - got)) > 0)
		got += (size_t)n;
	return got;
}

static uint8_t pattern(size_t i)
{
	return (uint8_t)(i * 7 + i / 251);
}

static void test_output_order_through_loop(void **state)
{
	struct fixture *f = *state;
	static uint8_t got[3000];
	size_t n = 0;

	/* More than the pipe's first write could take in one go, interleaved with the loop. */
	for (size_t i = 0; i < sizeof(got); i++) {
		out(f, THR, pattern(i));
		if (i % 1000 == 999) {
			fake_loop_run(&f->fm);
			n += drain_pipe(f, got + n, sizeof(got) - n);
		}
	}
	fake_loop_run(&f->fm);
	n += drain_pipe(f, got + n, sizeof(got) - n);
	assert_int_equal(n, sizeof(got));
	for (size_t i = 0; i < sizeof(got); i++)
		assert_int_equal(got[i], pattern(i));
	assert_int_equal(uart16550_output_dropped(f->dev), 0);
	assert_int_equal(fake_timers_armed(&f->fm), 0);
}

/*
 * A reader that stalls: the buffer fills, THRE reads clear and raises no
 * interrupt; after the stall limit output is dropped and counted and THRE
 * reads empty; when the reader drains, every buffered byte arrives in
 * order and output is normal again.
 */
static void test_stalled_reader(void **state)
{
	struct fixture *f = *state;
	static uint8_t got[OUT_BUF + 8192];
	size_t filled, n = 0, rounds = 0;
	unsigned int e;

	filled = stall_pipe(f);
	out(f, MCR, MCR_OUT2);
	for (size_t i = 0; i < OUT_BUF; i++) {
		assert_int_equal(in(f, LSR) & LSR_THRE, LSR_THRE);
		out(f, THR, pattern(i));
	}
	/* Full (FIFOs off: not even one byte fits): the transmitter is busy. */
	assert_int_equal(in(f, LSR) & (LSR_THRE | LSR_TEMT), 0);
	out(f, IER, IER_THRI);                     /* no THRE interrupt while busy */
	assert_int_equal(in(f, IIR), IIR_NONE);
	assert_int_equal(irq(f), 0);
	e = edges(f);
	fake_loop_run(&f->fm);                     /* the pipe takes nothing */
	fake_advance(&f->fm, STALL_NS - MS);
	assert_int_equal(in(f, LSR) & LSR_THRE, 0);
	assert_int_equal(irq(f), 0);
	assert_int_equal(uart16550_output_dropped(f->dev), 0);

	/* The stall limit: THRE empties (with its interrupt); output is dropped, and counted. */
	fake_advance(&f->fm, MS);
	assert_int_equal(in(f, LSR) & (LSR_THRE | LSR_TEMT), LSR_THRE | LSR_TEMT);
	assert_int_equal(irq(f), 1);
	assert_int_equal(edges(f), e + 1);
	assert_int_equal(in(f, IIR), IIR_THR);
	for (unsigned int i = 0; i < 100; i++)
		out(f, THR, 'X');
	assert_int_equal(uart16550_output_dropped(f->dev), 100);
	assert_int_equal(in(f, LSR) & LSR_THRE, LSR_THRE);

	/* The reader comes back: the old pipe contents, then the buffer, in order. */
	n = drain_pipe(f, got, sizeof(got));
	assert_int_equal(n, filled);
	n = 0;
	do {
		fake_loop_run(&f->fm);
		n += drain_pipe(f, got + n, sizeof(got) - n);
	} while (++rounds < 1000 && n < OUT_BUF);
	assert_int_equal(n, OUT_BUF);              /* no 'X': those were dropped */
	for (size_t i = 0; i < OUT_BUF; i++)
		assert_int_equal(got[i], pattern(i));
	/* Drained: normal again. */
	out(f, THR, 'k');
	assert_int_equal(uart16550_output_dropped(f->dev), 100);
	fake_loop_run(&f->fm);
	assert_int_equal(drain_pipe(f, got, sizeof(got)), 1);
	assert_int_equal(got[0], 'k');
	assert_int_equal(fake_timers_armed(&f->fm), 0);
}

/* A slow reader that keeps taking bytes paces the guest and never makes it drop. */
static void test_slow_reader_is_not_a_stall(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[4096];
	size_t i = 0;

	stall_pipe(f);
	out(f, FCR, 0x01);                          /* FIFOs on: THRE needs room for 16 */
	for (unsigned int step = 0; step < 5; step++) {
		while (in(f, LSR) & LSR_THRE)
			out(f, THR, pattern(i++));
		assert_true(i >= OUT_BUF - 16 + 1);
		/* The reader takes a page just before the limit each time. */
		fake_advance(&f->fm, STALL_NS - 10 * MS);
		assert_int_equal(in(f, LSR) & LSR_THRE, 0);
		assert_int_equal(read(f->pipe[0], buf, sizeof(buf)), sizeof(buf));
		fake_loop_run(&f->fm);
		assert_int_equal(in(f, LSR) & LSR_THRE, LSR_THRE);
	}
	fake_advance(&f->fm, 20 * MS);
	assert_int_equal(uart16550_output_dropped(f->dev), 0);
}

/* THR written while THRE reads clear: the byte is lost, as on the chip, but counted. */
static void test_overrun_while_busy_is_counted(void **state)
{
	struct fixture *f = *state;

	stall_pipe(f);
	for (size_t i = 0; i < OUT_BUF; i++)
		out(f, THR, 'a');
	assert_int_equal(in(f, LSR) & LSR_THRE, 0);
	out(f, THR, 'b');
	out(f, THR, 'c');
	assert_int_equal(uart16550_output_dropped(f->dev), 2);
}

/* A reader that goes away: what was buffered and what follows is dropped and counted. */
static void test_reader_gone(void **state)
{
	struct fixture *f = *state;

	out(f, THR, 'a');
	out(f, THR, 'b');
	close(f->pipe[0]);
	f->pipe[0] = open("/dev/null", O_RDONLY);   /* teardown closes it */
	fake_loop_run(&f->fm);                     /* EPIPE (SIGPIPE is ignored below) */
	assert_int_equal(uart16550_output_dropped(f->dev), 2);
	out(f, THR, 'c');
	assert_int_equal(uart16550_output_dropped(f->dev), 3);
	assert_int_equal(in(f, LSR) & LSR_THRE, LSR_THRE);
	assert_int_equal(fake_loop_run(&f->fm), 0);
}

/* A device reset keeps what the host buffered; the registers reset. */
static void test_reset_keeps_pending_output(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[8192];

	stall_pipe(f);
	out(f, LCR, 0x03);
	out(f, IER, IER_THRI);
	out(f, THR, 'x');
	out(f, THR, 'y');
	fake_loop_run(&f->fm);
	device_reset(f->dev);
	assert_int_equal(in(f, LCR), 0);
	assert_int_equal(in(f, IER), 0);
	assert_int_equal(in(f, LSR) & LSR_THRE, LSR_THRE);
	drain_pipe(f, buf, sizeof(buf));
	fake_loop_run(&f->fm);
	assert_int_equal(drain_pipe(f, buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "xy", 2);
}

/* A reset while the buffer is full keeps the stall timer: the guest is never stuck. */
static void test_reset_while_stalled(void **state)
{
	struct fixture *f = *state;

	stall_pipe(f);
	for (size_t i = 0; i < OUT_BUF; i++)
		out(f, THR, 'a');
	device_reset(f->dev);
	assert_int_equal(in(f, LSR) & LSR_THRE, 0);
	fake_advance(&f->fm, STALL_NS);
	assert_int_equal(in(f, LSR) & LSR_THRE, LSR_THRE);
	out(f, THR, 'b');
	assert_int_equal(uart16550_output_dropped(f->dev), 1);
}

/* Destroy writes what the fd takes without blocking, and never waits for a stalled reader. */
static void test_destroy_flushes(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[8];

	out(f, THR, 'o');
	out(f, THR, 'k');
	device_destroy(f->dev);
	f->dev = NULL;
	assert_int_equal(read(f->pipe[0], buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "ok", 2);
	assert_int_equal(fake_timers_armed(&f->fm), 0);
	assert_null(f->fm.watches);
	assert_null(f->fm.timers);
}

static void test_destroy_with_stalled_reader(void **state)
{
	struct fixture *f = *state;

	stall_pipe(f);
	for (size_t i = 0; i < 1000; i++)
		out(f, THR, 'a');
	device_destroy(f->dev);   /* returns: the bytes are lost (and logged) */
	f->dev = NULL;
	assert_null(f->fm.watches);
}

/* At the VM's end: what the fd takes is written, the rest counts as dropped. */
static void test_finish_counts_what_is_left(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[8192];

	out(f, THR, 'o');
	out(f, THR, 'k');
	assert_int_equal(uart16550_output_finish(f->dev), 0);   /* the pipe had room */
	assert_int_equal(read(f->pipe[0], buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "ok", 2);
	stall_pipe(f);
	for (unsigned int i = 0; i < 300; i++)
		out(f, THR, 'x');
	assert_int_equal(uart16550_output_finish(f->dev), 300);
	assert_int_equal(uart16550_output_dropped(f->dev), 300);
	assert_int_equal(fake_loop_run(&f->fm), 0);   /* nothing left to write */
}

/* A regular file: written from the loop (a deferred timer), capped by out_limit. */
static void test_file_cap(void **state)
{
	struct fake_machine fm;
	struct device_args args = { .out_fd = -1, .in_fd = -1, .out_limit = 100 };
	char path[] = "/tmp/hutch-uart-XXXXXX";
	uint8_t buf[256];
	struct device *dev;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(fake_machine_init(&fm, 0), 0);
	args.out_fd = fd;
	dev = device_create(&uart16550_model, "com1", &fm.host, &args);
	assert_non_null(dev);
	for (size_t i = 0; i < 150; i++) {
		fake_outb(&fm, THR, pattern(i));
		/* A capped file never makes the guest wait. */
		assert_int_equal(fake_inb(&fm, LSR) & LSR_THRE, LSR_THRE);
	}
	assert_int_equal(pread(fd, buf, sizeof(buf), 0), 0);   /* not written on the vCPU */
	assert_true(fake_loop_run(&fm) > 0);
	assert_int_equal(pread(fd, buf, sizeof(buf), 0), 100);
	for (size_t i = 0; i < 100; i++)
		assert_int_equal(buf[i], pattern(i));
	assert_int_equal(uart16550_output_dropped(dev), 50);
	assert_int_equal(fake_loop_run(&fm), 0);
	assert_int_equal(fake_timers_armed(&fm), 0);
	device_destroy(dev);
	fake_machine_destroy(&fm);
	close(fd);
}

/* No cap: a file takes everything; destroy writes what the loop had not yet. */
static void test_file_unlimited(void **state)
{
	struct fake_machine fm;
	struct device_args args = { .out_fd = -1, .in_fd = -1, .out_limit = 0 };
	char path[] = "/tmp/hutch-uart-XXXXXX";
	static uint8_t buf[OUT_BUF * 3];
	struct device *dev;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(fake_machine_init(&fm, 0), 0);
	args.out_fd = fd;
	dev = device_create(&uart16550_model, "com1", &fm.host, &args);
	assert_non_null(dev);
	for (size_t i = 0; i < sizeof(buf); i++) {
		fake_outb(&fm, THR, pattern(i));
		if (i % 10000 == 0)
			fake_loop_run(&fm);
	}
	fake_outb(&fm, THR, 'z');
	device_destroy(dev);
	assert_int_equal(pread(fd, buf, sizeof(buf), 0), sizeof(buf));
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], pattern(i));
	assert_int_equal(pread(fd, buf, 1, sizeof(buf)), 1);
	assert_int_equal(buf[0], 'z');
	fake_machine_destroy(&fm);
	close(fd);
}

/* A host without a loop: the byte is written at once, as before. */
static void test_no_loop_writes_at_once(void **state)
{
	struct fake_machine fm;
	struct device_args args = { .out_fd = -1, .in_fd = -1 };
	struct device *dev;
	int p[2];
	char buf[4];

	assert_int_equal(fake_machine_init(&fm, 0), 0);
	fm.host.loop_ops = NULL;
	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	args.out_fd = p[1];
	args.in_fd = p[0];   /* no loop: input is the VMM's (uart16550_receive) */
	dev = device_create(&uart16550_model, "com1", &fm.host, &args);
	assert_non_null(dev);
	fake_outb(&fm, THR, 'n');
	assert_int_equal(fake_inb(&fm, LSR) & LSR_DR, 0);   /* its own output is not read */
	assert_int_equal(read(p[0], buf, sizeof(buf)), 1);
	assert_int_equal(buf[0], 'n');
	assert_null(fm.watches);
	assert_null(fm.timers);
	device_destroy(dev);
	fake_machine_destroy(&fm);
	close(p[0]);
	close(p[1]);
}

/* Input: read by the UART's own watch only while the receive FIFO has room. */
static void test_input_back_pressure(void **state)
{
	struct fake_machine fm;
	struct device_args args = { .out_fd = -1, .in_fd = -1 };
	struct device *dev;
	int p[2];

	assert_int_equal(fake_machine_init(&fm, 0), 0);
	assert_int_equal(pipe(p), 0);              /* blocking: a read must never wait */
	args.in_fd = p[0];
	dev = device_create(&uart16550_model, "com1", &fm.host, &args);
	assert_non_null(dev);
	fake_outb(&fm, MCR, MCR_OUT2);
	fake_outb(&fm, IER, IER_RDI);
	assert_int_equal(fake_loop_run(&fm), 0);   /* nothing to read yet */
	assert_int_equal(write(p[1], "abc", 3), 3);
	assert_int_equal(fake_loop_run(&fm), 1);   /* FIFOs off: one byte, then no more interest */
	assert_int_equal(fm.irq_level[COM1_GSI], 1);
	assert_int_equal(fake_loop_run(&fm), 0);
	assert_int_equal(fake_inb(&fm, LSR) & (LSR_DR | LSR_OE), LSR_DR);
	assert_int_equal(fake_inb(&fm, RBR), 'a');
	fake_loop_run(&fm);
	assert_int_equal(fake_inb(&fm, RBR), 'b');
	/* FIFOs on: the rest in one read; nothing lost, no overrun. */
	fake_outb(&fm, FCR, 0x01);
	assert_int_equal(write(p[1], "defghijklmnopqrstuvwxyz", 23), 23);
	fake_loop_run(&fm);
	assert_int_equal(uart16550_rx_space(dev), 0);
	{
		const char *expect = "cdefghijklmnopqrstuvwxyz";

		for (size_t i = 0; i < strlen(expect); i++) {
			assert_int_equal(fake_inb(&fm, LSR) & (LSR_DR | LSR_OE), LSR_DR);
			assert_int_equal(fake_inb(&fm, RBR), expect[i]);
			fake_loop_run(&fm);
		}
	}
	assert_int_equal(fake_inb(&fm, LSR) & LSR_DR, 0);
	/* In loopback the input is disconnected: not read. */
	fake_outb(&fm, MCR, MCR_LOOP);
	assert_int_equal(write(p[1], "L", 1), 1);
	assert_int_equal(fake_loop_run(&fm), 0);
	fake_outb(&fm, MCR, 0);
	fake_loop_run(&fm);
	assert_int_equal(fake_inb(&fm, RBR), 'L');
	/* EOF ends input: no more reads, and no busy loop on the hung-up pipe. */
	close(p[1]);
	fake_loop_run(&fm);
	assert_int_equal(fake_loop_run(&fm), 0);
	assert_int_equal(fake_inb(&fm, LSR) & LSR_DR, 0);
	device_destroy(dev);
	fake_machine_destroy(&fm);
	close(p[0]);
}

/* Input from a regular file (epoll refuses those): read from a deferred timer. */
static void test_input_from_file(void **state)
{
	struct fake_machine fm;
	struct device_args args = { .out_fd = -1, .in_fd = -1 };
	char path[] = "/tmp/hutch-uart-XXXXXX";
	struct device *dev;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, "hello", 5), 5);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(fake_machine_init(&fm, 0), 0);
	args.in_fd = fd;
	dev = device_create(&uart16550_model, "com1", &fm.host, &args);
	assert_non_null(dev);
	assert_null(fm.watches);
	fake_outb(&fm, FCR, 0x01);
	fake_loop_run(&fm);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(fake_inb(&fm, RBR), "hello"[i]);
	fake_loop_run(&fm);                        /* EOF */
	assert_int_equal(fake_inb(&fm, LSR) & LSR_DR, 0);
	assert_int_equal(fake_timers_armed(&fm), 0);
	device_destroy(dev);
	fake_machine_destroy(&fm);
	close(fd);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_reset_values),
		T(test_divisor_latch),
		T(test_transmit),
		cmocka_unit_test(test_transmit_without_backend),
		T(test_thre_interrupt),
		T(test_linux_thre_test),
		T(test_out2_gates_irq),
		T(test_receive_no_fifo),
		T(test_fifo_fill_and_trigger),
		T(test_loopback),
		T(test_overrun_and_priorities),
		T(test_save_load_round_trip),
		T(test_reset_lowers_irq),
		T(test_output_order_through_loop),
		T(test_stalled_reader),
		T(test_slow_reader_is_not_a_stall),
		T(test_overrun_while_busy_is_counted),
		T(test_reader_gone),
		T(test_reset_keeps_pending_output),
		T(test_reset_while_stalled),
		T(test_destroy_flushes),
		T(test_destroy_with_stalled_reader),
		T(test_finish_counts_what_is_left),
		cmocka_unit_test(test_file_cap),
		cmocka_unit_test(test_file_unlimited),
		cmocka_unit_test(test_no_loop_writes_at_once),
		cmocka_unit_test(test_input_back_pressure),
		cmocka_unit_test(test_input_from_file),
	};

	signal(SIGPIPE, SIG_IGN);   /* a reader gone is EPIPE, as in hutch-vm */

	return cmocka_run_group_tests(tests, NULL, NULL);
#undef T
}
