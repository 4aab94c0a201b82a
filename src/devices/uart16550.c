// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A 16550A UART (National Semiconductor PC16550D datasheet).
 *
 * Transmit.  A byte the guest writes to THR goes into an output buffer
 * that belongs to the host side (a device reset leaves it alone); the
 * machine's event loop writes it out, through a watch on the output fd,
 * or from a deferred timer for a regular file (epoll cannot watch one).
 * A vCPU never calls write(2), and the loop never makes a blocking write
 * (the VMM hands a non-blocking fd: src/vmm/serial_backend.c).
 *
 * Flow control: THRE/TEMT read set while the buffer has room for a whole
 * transmit FIFO (what Linux's 8250 driver writes per THRE interrupt), so a
 * slow reader paces the guest.  A reader that takes nothing for
 * STALL_LIMIT_NS (a full pipe nobody reads, a terminal held by Ctrl-S)
 * must not stop the guest for good: from then on output is dropped and
 * counted, THRE reads empty, until the back end has drained the buffer.
 * Every byte lost is counted (uart16550_output_dropped), never silent.
 * An optional cap (the file back end's size limit) drops and counts too.
 *
 * Without a loop (hosts that offer none) a byte is written at once by the
 * vCPU, as before the loop existed.
 *
 * Receive.  The UART reads its input fd from a loop watch, only while the
 * receive FIFO has room (back-pressure: nothing is lost, a guest that does
 * not read just stops the reads); EOF or an error ends input.
 *
 * The interrupt output is gated by MCR.OUT2, as on every PC.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices.h"

/* Register offsets (datasheet table II) */
#define UART_RBR 0  /* read, DLAB=0 */
#define UART_THR 0  /* write, DLAB=0 */
#define UART_DLL 0  /* DLAB=1 */
#define UART_IER 1  /* DLAB=0 */
#define UART_DLM 1  /* DLAB=1 */
#define UART_IIR 2  /* read */
#define UART_FCR 2  /* write */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7
#define UART_NR_REGS 8

#define IER_RDI   0x01  /* received data available */
#define IER_THRI  0x02  /* transmitter holding register empty */
#define IER_RLSI  0x04  /* receiver line status */
#define IER_MSI   0x08  /* modem status */
#define IER_MASK  0x0f

#define IIR_NO_INT 0x01
#define IIR_MSI    0x00
#define IIR_THRI   0x02
#define IIR_RDI    0x04
#define IIR_RLSI   0x06
#define IIR_CTI    0x0c  /* character timeout */
#define IIR_FIFO   0xc0  /* FIFOs enabled */

#define FCR_ENABLE    0x01
#define FCR_CLEAR_RX  0x02
#define FCR_CLEAR_TX  0x04
#define FCR_TRIGGER(v) (((v) >> 6) & 3)

#define LCR_DLAB  0x80

#define MCR_DTR   0x01
#define MCR_RTS   0x02
#define MCR_OUT1  0x04
#define MCR_OUT2  0x08
#define MCR_LOOP  0x10
#define MCR_MASK  0x1f

#define LSR_DR    0x01
#define LSR_OE    0x02
#define LSR_PE    0x04
#define LSR_FE    0x08
#define LSR_BI    0x10
#define LSR_THRE  0x20
#define LSR_TEMT  0x40
#define LSR_ERRS  (LSR_OE | LSR_PE | LSR_FE | LSR_BI)

#define MSR_DCTS  0x01
#define MSR_DDSR  0x02
#define MSR_TERI  0x04
#define MSR_DDCD  0x08
#define MSR_DELTA 0x0f
#define MSR_CTS   0x10
#define MSR_DSR   0x20
#define MSR_RI    0x40
#define MSR_DCD   0x80

#define FIFO_SIZE 16

static const uint8_t rx_trigger_levels[4] = { 1, 4, 8, 14 };

/* The host side of transmission. */
#define OUT_BUF_SIZE     (64 * 1024)              /* bytes buffered for a slow reader */
#define STALL_LIMIT_NS   1000000000LL             /* buffer full this long: drop output */
#define OUT_RETRY_NS     10000000LL               /* unpollable fd said EAGAIN: retry */
#define BLOCKING_CHUNK   512                      /* blocking fd: one write of at most PIPE_BUF */

enum uart_out_mode {
	OUT_NONE,    /* no back end: bytes vanish, as on a port with nothing attached */
	OUT_WATCH,   /* written by the loop when the fd is writable */
	OUT_TIMER,   /* not pollable (regular file): written by the loop from a deferred timer */
	OUT_SYNC,    /* no loop on this host: written at once by the vCPU */
};

/* What the host holds for the transmitter: a device reset leaves it alone. */
struct uart_output {
	int fd;
	enum uart_out_mode mode;
	bool nonblocking;              /* the fd has O_NONBLOCK: written until EAGAIN */
	uint8_t *buf;                  /* ring of OUT_BUF_SIZE bytes */
	size_t head, len;
	struct host_watch *watch;      /* OUT_WATCH */
	unsigned int watch_events;
	struct host_timer *flush;      /* deferred work: OUT_TIMER's write, the cap's message */
	bool flush_armed;
	struct host_timer *stall;      /* fires STALL_LIMIT_NS after the buffer filled */
	bool stall_armed;
	bool dropping;                 /* stalled past the limit, until the buffer drains */
	bool closed;                   /* a write failed for good: the reader is gone */
	uint64_t limit;                /* bytes taken at most (file cap), 0 = unlimited */
	uint64_t taken;                /* bytes taken for output */
	uint64_t dropped;              /* bytes lost: stalled, capped, closed, overrun */
	bool limit_hit, limit_logged;
};

struct uart_input {
	int fd;                        /* -1 = none */
	bool ended;                    /* EOF or a read error: no more input */
	struct host_watch *watch;      /* pollable fds */
	unsigned int watch_events;
	struct host_timer *timer;      /* unpollable fds (a regular file, /dev/null) */
	bool timer_armed;
};

struct uart {
	struct device *dev;
	struct irq_line irq;
	int irq_level;

	uint8_t ier, lcr, mcr, lsr_errs, msr, scr, fcr;
	uint16_t divisor;
	bool thr_ipending;      /* THRE interrupt armed, not yet acknowledged */
	bool tx_was_busy;       /* THRE was clear at the last update (for its rising edge) */

	uint8_t rx[FIFO_SIZE];
	unsigned int rx_head, rx_count;

	struct uart_output out;
	struct uart_input in;
};

static bool fifo_enabled(const struct uart *u)
{
	return u->fcr & FCR_ENABLE;
}

static unsigned int rx_capacity(const struct uart *u)
{
	return fifo_enabled(u) ? FIFO_SIZE : 1;
}

/* Receive FIFO room for the back end; none in loopback (the input is disconnected). */
static size_t rx_space(const struct uart *u)
{
	return (u->mcr & MCR_LOOP) ? 0 : rx_capacity(u) - u->rx_count;
}

static int64_t uart_now(const struct uart *u)
{
	const struct dev_host *h = u->dev->host;

	return h->clock_monotonic_ns ? h->clock_monotonic_ns(h->clock_opaque) : 0;
}

static bool out_limit_reached(const struct uart_output *o)
{
	return o->limit && o->taken >= o->limit;
}

/*
 * THR/TSR are busy (LSR THRE and TEMT clear) only while the buffer cannot
 * take what the guest may write on one THRE: a transmit FIFO's worth (16
 * bytes) with FIFOs on, one byte without.  Bytes that would be dropped
 * anyway (stalled, capped, closed) never make the guest wait.
 */
static bool tx_busy(const struct uart *u)
{
	const struct uart_output *o = &u->out;

	if ((o->mode != OUT_WATCH && o->mode != OUT_TIMER) || (u->mcr & MCR_LOOP) ||
	    o->dropping || o->closed || out_limit_reached(o))
		return false;
	return OUT_BUF_SIZE - o->len < rx_capacity(u);   /* the TX FIFO is as deep as the RX one */
}

/* The highest-priority pending interrupt as an IIR value (datasheet table IV). */
static uint8_t uart_iir(const struct uart *u)
{
	if ((u->ier & IER_RLSI) && (u->lsr_errs & LSR_ERRS))
		return IIR_RLSI;
	if ((u->ier & IER_RDI) && u->rx_count) {
		if (!fifo_enabled(u) || u->rx_count >= rx_trigger_levels[FCR_TRIGGER(u->fcr)])
			return IIR_RDI;
		return IIR_CTI;  /* below trigger: report as a timeout at once */
	}
	if ((u->ier & IER_THRI) && u->thr_ipending)
		return IIR_THRI;
	if ((u->ier & IER_MSI) && (u->msr & MSR_DELTA))
		return IIR_MSI;
	return IIR_NO_INT;
}

/*
 * The PC wires the chip's INTR through a gate driven by the OUT2 pin, so
 * the IRQ line is "interrupt pending && MCR.OUT2".  In loopback the modem
 * control output pins are forced inactive (datasheet, MCR bit 4 "Loop"),
 * which closes the gate: interrupts stay visible in IIR but do not reach the PIC.
 */
static void uart_update_irq(struct uart *u)
{
	int level = uart_iir(u) != IIR_NO_INT && (u->mcr & (MCR_OUT2 | MCR_LOOP)) == MCR_OUT2;

	if (level != u->irq_level) {
		u->irq_level = level;
		irq_line_set(&u->irq, level);
	}
}

/*
 * After any change to the transmitter: THRE's rising edge raises the THRE
 * interrupt (datasheet table IV); the stall timer runs exactly while THRE
 * is held clear; the loop is asked to write while the buffer holds bytes.
 */
static void tx_update(struct uart *u)
{
	struct uart_output *o = &u->out;
	bool busy = tx_busy(u);

	if (busy)
		u->thr_ipending = false;
	else if (u->tx_was_busy)
		u->thr_ipending = true;
	u->tx_was_busy = busy;
	if (busy && !o->stall_armed) {
		host_timer_arm(o->stall, uart_now(u) + STALL_LIMIT_NS, 0);
		o->stall_armed = true;
	} else if (!busy && o->stall_armed) {
		host_timer_cancel(o->stall);
		o->stall_armed = false;
	}
	if (o->mode == OUT_WATCH) {
		unsigned int want = o->len ? HOST_FD_OUT : 0;

		if (want != o->watch_events) {
			host_watch_set(o->watch, want);
			o->watch_events = want;
		}
	}
	if (o->flush && !o->flush_armed &&
	    ((o->mode == OUT_TIMER && o->len) || (o->limit_hit && !o->limit_logged))) {
		host_timer_arm(o->flush, 0, 0);   /* a deadline in the past: run on the loop soon */
		o->flush_armed = true;
	}
}

/* Input back-pressure: read the back end only while the receive FIFO has room. */
static void rx_update(struct uart *u)
{
	struct uart_input *in = &u->in;
	bool want = in->fd >= 0 && !in->ended && rx_space(u) > 0;

	if (in->watch) {
		unsigned int events = want ? HOST_FD_IN : 0;

		if (events != in->watch_events) {
			host_watch_set(in->watch, events);
			in->watch_events = events;
		}
	} else if (in->timer && want && !in->timer_armed) {
		host_timer_arm(in->timer, 0, 0);
		in->timer_armed = true;
	}
}

/* After every register access and back-end event, with dev->lock held. */
static void uart_update(struct uart *u)
{
	tx_update(u);
	rx_update(u);
	uart_update_irq(u);
}

static void rx_push(struct uart *u, uint8_t c)
{
	if (u->rx_count >= rx_capacity(u)) {
		u->lsr_errs |= LSR_OE;   /* the character is lost, as on the chip */
		return;
	}
	u->rx[(u->rx_head + u->rx_count) % FIFO_SIZE] = c;
	u->rx_count++;
}

static uint8_t rx_pop(struct uart *u)
{
	uint8_t c;

	if (!u->rx_count)
		return 0;
	c = u->rx[u->rx_head];
	u->rx_head = (u->rx_head + 1) % FIFO_SIZE;
	u->rx_count--;
	return c;
}

/* The back end is gone (EPIPE, EIO, a hang-up): what it still owed is lost, and counted. */
static void out_close(struct uart *u, int err)
{
	struct uart_output *o = &u->out;

	device_log(u->dev, "serial output: %s; further output is dropped",
		   err ? strerror(err) : "the reader hung up");
	o->closed = true;
	o->dropped += o->len;
	o->len = 0;
}

/*
 * Loop thread: write what the buffer holds as far as the fd takes it
 * without blocking.  A blocking fd (not one the VMM hands over) gets one
 * write of at most PIPE_BUF per readiness, which poll promises to take.
 * Returns false if the fd said EAGAIN with bytes left.
 */
static bool out_flush(struct uart *u)
{
	struct uart_output *o = &u->out;
	bool one_write = !o->nonblocking && o->mode == OUT_WATCH;

	while (o->len && !o->closed) {
		size_t chunk = OUT_BUF_SIZE - o->head < o->len ? OUT_BUF_SIZE - o->head : o->len;
		ssize_t n;

		if (one_write && chunk > BLOCKING_CHUNK)
			chunk = BLOCKING_CHUNK;
		n = write(o->fd, o->buf + o->head, chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return false;
		if (n <= 0) {
			out_close(u, n < 0 ? errno : 0);
			break;
		}
		o->head = (o->head + (size_t)n) % OUT_BUF_SIZE;
		o->len -= (size_t)n;
		if (one_write)
			break;
	}
	if (!o->len) {
		o->head = 0;
		o->dropping = false;   /* the reader caught up: output is normal again */
	}
	return true;
}

static void out_log_limit(struct uart *u)
{
	struct uart_output *o = &u->out;

	o->limit_logged = true;
	device_log(u->dev, "serial output reached its limit of %llu bytes (--serial-limit); "
		   "further output is dropped", (unsigned long long)o->limit);
}

/* Loop thread, dev->lock held: the output fd is writable (or has hung up). */
static void uart_out_ready(void *opaque, unsigned int revents)
{
	struct uart *u = opaque;

	if (u->out.len)
		out_flush(u);
	else if (revents & HOST_FD_ERR)
		out_close(u, 0);   /* hung up with nothing to write: the next write would fail */
	uart_update(u);
}

/* Loop thread, dev->lock held: the deferred write to an unpollable fd. */
static void uart_out_flush_timer(void *opaque)
{
	struct uart *u = opaque;
	struct uart_output *o = &u->out;

	o->flush_armed = false;
	if (o->limit_hit && !o->limit_logged)
		out_log_limit(u);
	if (!out_flush(u) && o->mode == OUT_TIMER) {
		host_timer_arm(o->flush, uart_now(u) + OUT_RETRY_NS, 0);
		o->flush_armed = true;
	}
	uart_update(u);
}

/* Loop thread, dev->lock held: the buffer stayed full for STALL_LIMIT_NS. */
static void uart_out_stalled(void *opaque)
{
	struct uart *u = opaque;

	u->out.stall_armed = false;
	if (tx_busy(u))
		u->out.dropping = true;   /* until out_flush empties the buffer */
	uart_update(u);
}

/*
 * No loop on this host: the vCPU writes, as before the loop existed.  A
 * non-blocking fd that is full is waited for up to STALL_LIMIT_NS, then
 * output is dropped (and counted) until a write goes through again.
 */
static void out_write_now(struct uart *u, uint8_t c)
{
	struct uart_output *o = &u->out;

	for (;;) {
		struct pollfd p = { .fd = o->fd, .events = POLLOUT };
		ssize_t n = write(o->fd, &c, 1);
		int err = n < 0 ? errno : EIO;

		if (n == 1) {
			o->taken++;
			o->dropping = false;
			return;
		}
		if (err == EINTR)
			continue;
		if (err == EAGAIN || err == EWOULDBLOCK) {
			/* A kick (pause, poweroff) interrupts the wait: then dropped too. */
			if (!o->dropping && poll(&p, 1, (int)(STALL_LIMIT_NS / 1000000)) > 0)
				continue;
			o->dropping = true;
		} else {
			out_close(u, err);
		}
		o->dropped++;
		return;
	}
}

/* vCPU, dev->lock held: a byte the guest transmits, for the back end. */
static void out_put(struct uart *u, uint8_t c)
{
	struct uart_output *o = &u->out;

	if (o->mode == OUT_NONE)
		return;
	if (o->closed) {
		o->dropped++;
		return;
	}
	if (out_limit_reached(o)) {
		o->dropped++;
		if (!o->limit_hit) {
			o->limit_hit = true;   /* said once, from the loop: stderr may block */
			if (o->mode == OUT_SYNC)
				out_log_limit(u);
		}
		return;
	}
	if (o->mode == OUT_SYNC) {
		out_write_now(u, c);
		return;
	}
	/* Stalled, or THR written while THRE read clear (an overrun): lost, and counted. */
	if (o->dropping || o->len == OUT_BUF_SIZE) {
		o->dropped++;
		return;
	}
	o->buf[(o->head + o->len) % OUT_BUF_SIZE] = c;
	o->len++;
	o->taken++;
}

static void uart_transmit(struct uart *u, uint8_t c)
{
	if (u->mcr & MCR_LOOP)
		rx_push(u, c);
	else
		out_put(u, c);
	/* THR is empty again at once unless the buffer is now full (tx_update). */
	u->thr_ipending = !tx_busy(u);
}

/* Loop thread, dev->lock held: read what the receive FIFO has room for. */
static void in_read(struct uart *u)
{
	struct uart_input *in = &u->in;
	uint8_t buf[FIFO_SIZE];
	size_t space = rx_space(u);
	ssize_t n;

	if (in->fd < 0 || in->ended || !space)
		return;
	do
		n = read(in->fd, buf, space);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		for (ssize_t i = 0; i < n; i++)
			rx_push(u, buf[i]);
	} else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
		in->ended = true;   /* EOF or an error: the guest just gets no more input */
	}
}

static void uart_in_ready(void *opaque, unsigned int revents)
{
	(void)revents;   /* a hang-up still lets the data before it be read; then EOF */
	in_read(opaque);
	uart_update(opaque);
}

static void uart_in_timer(void *opaque)
{
	struct uart *u = opaque;

	u->in.timer_armed = false;
	in_read(u);
	uart_update(u);
}

/* Modem status inputs; in loopback the outputs are wired back (MCR bit 4 "Loop"). */
static uint8_t uart_modem_inputs(const struct uart *u)
{
	if (u->mcr & MCR_LOOP)
		return (uint8_t)(((u->mcr & MCR_RTS) ? MSR_CTS : 0) |
				 ((u->mcr & MCR_DTR) ? MSR_DSR : 0) |
				 ((u->mcr & MCR_OUT1) ? MSR_RI : 0) |
				 ((u->mcr & MCR_OUT2) ? MSR_DCD : 0));
	return MSR_CTS | MSR_DSR | MSR_DCD;  /* a host is always attached */
}

static void uart_set_mcr(struct uart *u, uint8_t mcr)
{
	uint8_t old_in = u->msr & ~MSR_DELTA, in;

	u->mcr = mcr & MCR_MASK;
	in = uart_modem_inputs(u);
	if ((old_in ^ in) & MSR_CTS)
		u->msr |= MSR_DCTS;
	if ((old_in ^ in) & MSR_DSR)
		u->msr |= MSR_DDSR;
	if ((old_in & MSR_RI) && !(in & MSR_RI))
		u->msr |= MSR_TERI;   /* trailing edge of RI */
	if ((old_in ^ in) & MSR_DCD)
		u->msr |= MSR_DDCD;
	u->msr = (uint8_t)((u->msr & MSR_DELTA) | in);
}

static uint64_t uart_read(struct device *dev, uint64_t off, unsigned int size)
{
	struct uart *u = dev->priv;
	uint8_t v = 0xff;

	switch (off) {
	case UART_RBR:
		if (u->lcr & LCR_DLAB) {
			v = (uint8_t)u->divisor;
		} else {
			v = rx_pop(u);
		}
		break;
	case UART_IER:
		v = (u->lcr & LCR_DLAB) ? (uint8_t)(u->divisor >> 8) : u->ier;
		break;
	case UART_IIR:
		v = uart_iir(u);
		/* Reading IIR acknowledges a THRE interrupt it reports (table IV). */
		if (v == IIR_THRI)
			u->thr_ipending = false;
		if (fifo_enabled(u))
			v |= IIR_FIFO;
		break;
	case UART_LCR:
		v = u->lcr;
		break;
	case UART_MCR:
		v = u->mcr;
		break;
	case UART_LSR:
		v = (uint8_t)((tx_busy(u) ? 0 : LSR_THRE | LSR_TEMT) | u->lsr_errs |
			      (u->rx_count ? LSR_DR : 0));
		u->lsr_errs = 0;   /* error bits clear on read */
		break;
	case UART_MSR:
		v = u->msr;
		u->msr &= (uint8_t)~MSR_DELTA;
		break;
	case UART_SCR:
		v = u->scr;
		break;
	}
	uart_update(u);   /* an RBR read makes room: input may be read again */
	return v;
}

static void uart_write(struct device *dev, uint64_t off, uint64_t value, unsigned int size)
{
	struct uart *u = dev->priv;
	uint8_t v = (uint8_t)value;

	switch (off) {
	case UART_THR:
		if (u->lcr & LCR_DLAB) {
			u->divisor = (uint16_t)((u->divisor & 0xff00) | v);
		} else {
			u->thr_ipending = false;
			uart_transmit(u, v);
		}
		break;
	case UART_IER:
		if (u->lcr & LCR_DLAB) {
			u->divisor = (uint16_t)((u->divisor & 0x00ff) | v << 8);
		} else {
			/*
			 * A write with ETBEI set while THR is empty raises the
			 * THRE interrupt again, even if it was already
			 * enabled and acknowledged: Linux's startup test writes
			 * IER=THRI, reads IIR, IER=0, IER=THRI and expects THRE
			 * again, else it marks the port UART_BUG_THRE.
			 */
			if ((v & IER_THRI) && !tx_busy(u))
				u->thr_ipending = true;
			u->ier = v & IER_MASK;
		}
		break;
	case UART_FCR:
		if ((v ^ u->fcr) & FCR_ENABLE) {
			u->rx_count = 0;   /* toggling the FIFO mode resets both FIFOs */
			u->rx_head = 0;
		}
		if (v & FCR_CLEAR_RX) {
			u->rx_count = 0;
			u->rx_head = 0;
		}
		u->fcr = v & (FCR_ENABLE | 0xc0);
		break;
	case UART_LCR:
		u->lcr = v;
		break;
	case UART_MCR:
		uart_set_mcr(u, v);
		break;
	case UART_LSR:
	case UART_MSR:
		break;   /* read-only (factory test mode is not emulated) */
	case UART_SCR:
		u->scr = v;
		break;
	}
	uart_update(u);
}

static const struct io_region_ops uart_ops = { uart_read, uart_write };

size_t uart16550_rx_space(struct device *dev)
{
	struct uart *u = dev->priv;
	size_t space;

	pthread_mutex_lock(&dev->lock);
	space = rx_space(u);
	pthread_mutex_unlock(&dev->lock);
	return space;
}

size_t uart16550_receive(struct device *dev, const uint8_t *buf, size_t len)
{
	struct uart *u = dev->priv;
	size_t taken = 0;

	pthread_mutex_lock(&dev->lock);
	while (taken < len && rx_space(u))
		rx_push(u, buf[taken++]);
	uart_update(u);
	pthread_mutex_unlock(&dev->lock);
	return taken;
}

uint64_t uart16550_output_dropped(struct device *dev)
{
	struct uart *u = dev->priv;
	uint64_t n;

	pthread_mutex_lock(&dev->lock);
	n = u->out.dropped;
	pthread_mutex_unlock(&dev->lock);
	return n;
}

uint64_t uart16550_output_finish(struct device *dev)
{
	struct uart *u = dev->priv;
	struct uart_output *o = &u->out;
	uint64_t n;

	pthread_mutex_lock(&dev->lock);
	if (o->len && (o->nonblocking || o->mode == OUT_TIMER))
		out_flush(u);
	o->dropped += o->len;   /* a reader still stalled now never gets these */
	o->len = o->head = 0;
	n = o->dropped;
	uart_update(u);
	pthread_mutex_unlock(&dev->lock);
	return n;
}

/*
 * How the output fd is written: by the loop through a watch; from a
 * deferred timer if epoll cannot watch it (regular files, block devices);
 * by the vCPU if the host has no loop.  Only a failed allocation fails.
 */
static int out_open(struct uart *u, const struct device_args *args)
{
	struct uart_output *o = &u->out;
	struct device *dev = u->dev;
	struct dev_host *h = dev->host;
	struct stat st;
	int flags;

	o->fd = args->out_fd;
	o->limit = args->out_limit;
	if (o->fd < 0) {
		o->mode = OUT_NONE;
		return 0;
	}
	flags = fcntl(o->fd, F_GETFL);
	o->nonblocking = flags >= 0 && (flags & O_NONBLOCK);
	o->mode = OUT_SYNC;
	o->stall = host_timer_new(DEV_LOOP(h), &dev->lock, uart_out_stalled, u);
	o->flush = host_timer_new(DEV_LOOP(h), &dev->lock, uart_out_flush_timer, u);
	if (!o->stall || !o->flush)
		return errno == ENOMEM ? -ENOMEM : 0;   /* ENOSYS: no loop, write at once */
	o->buf = malloc(OUT_BUF_SIZE);
	if (!o->buf)
		return -ENOMEM;
	if (fstat(o->fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
		o->mode = OUT_TIMER;
		return 0;
	}
	o->watch = host_watch_new(DEV_LOOP(h), o->fd, 0, &dev->lock, uart_out_ready, u);
	/* epoll refuses some fds (EPERM: /dev/null...): the timer writes them. */
	o->mode = o->watch ? OUT_WATCH : OUT_TIMER;
	return 0;
}

/* The input fd: a watch, or a deferred timer for an fd epoll refuses. */
static int in_open(struct uart *u, const struct device_args *args)
{
	struct uart_input *in = &u->in;
	struct device *dev = u->dev;
	struct dev_host *h = dev->host;
	struct stat st;

	in->fd = args->in_fd;
	if (in->fd < 0 || !h->loop_ops)
		return 0;   /* no loop: the VMM feeds uart16550_receive() */
	if (fstat(in->fd, &st) || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)))
		in->watch = host_watch_new(DEV_LOOP(h), in->fd, 0, &dev->lock, uart_in_ready, u);
	if (!in->watch)
		in->timer = host_timer_new(DEV_LOOP(h), &dev->lock, uart_in_timer, u);
	if (!in->watch && !in->timer)
		return errno == ENOMEM ? -ENOMEM : 0;
	return 0;
}

static int uart_create(struct device *dev, const struct device_args *args)
{
	struct uart *u = calloc(1, sizeof(*u));
	int ret;

	if (!u)
		return -ENOMEM;
	dev->priv = u;
	u->dev = dev;
	u->in.fd = u->out.fd = -1;
	u->irq = device_irq_line(dev, args->gsi ? args->gsi : COM1_GSI);
	ret = out_open(u, args);
	if (!ret)
		ret = in_open(u, args);
	if (!ret)
		ret = bus_register(dev->host->pio, args->base ? args->base : COM1_PORT,
				   UART_NR_REGS, &uart_ops, dev, dev->id);
	return ret;
}

/* The registers reset; what the host buffered for output is kept and still written. */
static void uart_reset(struct device *dev)
{
	struct uart *u = dev->priv;

	/* Master reset values (datasheet table III). */
	u->ier = u->lcr = u->scr = u->fcr = u->lsr_errs = 0;
	u->mcr = 0;
	u->msr = uart_modem_inputs(u);
	u->divisor = 12;   /* 9600 baud, as firmware leaves it */
	u->rx_head = u->rx_count = 0;
	u->tx_was_busy = tx_busy(u);
	u->thr_ipending = false;
	u->irq_level = 0;
	irq_line_set(&u->irq, 0);
	uart_update(u);
}

static int uart_save(struct device *dev, struct sv_writer *w)
{
	struct uart *u = dev->priv;

	sv_put_u8(w, u->ier);
	sv_put_u8(w, u->lcr);
	sv_put_u8(w, u->mcr);
	sv_put_u8(w, u->lsr_errs);
	sv_put_u8(w, u->msr);
	sv_put_u8(w, u->scr);
	sv_put_u8(w, u->fcr);
	sv_put_u16(w, u->divisor);
	sv_put_u8(w, u->thr_ipending);
	sv_put_u8(w, (uint8_t)u->rx_count);
	for (unsigned int i = 0; i < u->rx_count; i++)
		sv_put_u8(w, u->rx[(u->rx_head + i) % FIFO_SIZE]);
	return 0;
}

static int uart_load(struct device *dev, struct sv_reader *r, uint32_t version)
{
	struct uart *u = dev->priv;
	struct uart n = *u;
	unsigned int count;

	n.ier = sv_get_u8(r) & IER_MASK;
	n.lcr = sv_get_u8(r);
	n.mcr = sv_get_u8(r) & MCR_MASK;
	n.lsr_errs = sv_get_u8(r) & LSR_ERRS;
	n.msr = sv_get_u8(r);
	n.scr = sv_get_u8(r);
	n.fcr = sv_get_u8(r) & (FCR_ENABLE | 0xc0);
	n.divisor = sv_get_u16(r);
	n.thr_ipending = sv_get_u8(r) != 0;
	count = sv_get_u8(r);
	if (count > FIFO_SIZE)
		return -EINVAL;
	n.rx_head = 0;
	n.rx_count = count;
	sv_get_bytes(r, n.rx, count);
	if (!sv_reader_ok(r, true) || n.rx_count > rx_capacity(&n))
		return -EINVAL;
	*u = n;
	u->tx_was_busy = tx_busy(u);
	u->irq_level = -1;   /* drive the line to the loaded state */
	uart_update(u);
	return 0;
}

/*
 * Free the loop's handles first (not under dev->lock: a free waits for a
 * callback in progress), then write what the fd takes without blocking;
 * what a stalled reader never took is lost, and said so.
 */
static void uart_destroy(struct device *dev)
{
	struct uart *u = dev->priv;
	struct uart_output *o;

	if (!u)
		return;
	o = &u->out;
	host_watch_free(u->in.watch);
	host_timer_free(u->in.timer);
	host_watch_free(o->watch);
	host_timer_free(o->flush);
	host_timer_free(o->stall);
	if (o->len && (o->nonblocking || o->mode == OUT_TIMER))
		out_flush(u);
	if (o->len)
		device_log(dev, "%zu bytes of serial output were never written (the reader stalled)",
			   o->len);
	free(o->buf);
	free(u);
}

const struct device_model uart16550_model = {
	.name = "uart16550",
	.state_version = 1,
	.create = uart_create,
	.reset = uart_reset,
	.save = uart_save,
	.load = uart_load,
	.destroy = uart_destroy,
};
