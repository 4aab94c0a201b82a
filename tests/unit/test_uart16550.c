// SPDX-License-Identifier: GPL-2.0-or-later
/* 16550A UART through its registers on the fake machine's port bus. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
#undef T
}
