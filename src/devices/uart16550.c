// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A 16550A UART (National Semiconductor PC16550D datasheet).
 *
 * Transmission is instantaneous: a byte written to THR goes straight to the
 * output back end, so THR/TSR are empty again at once and the THRE
 * interrupt follows every write.  The receive FIFO is fed by the event loop
 * (uart16550_receive), which honours uart16550_rx_space() so no input is
 * dropped.  The interrupt output is gated by MCR.OUT2, as on every PC.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
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

struct uart {
	struct device *dev;
	int out_fd;
	struct irq_line irq;
	int irq_level;

	uint8_t ier, lcr, mcr, lsr_errs, msr, scr, fcr;
	uint16_t divisor;
	bool thr_ipending;      /* THRE interrupt armed, not yet acknowledged */

	uint8_t rx[FIFO_SIZE];
	unsigned int rx_head, rx_count;
};

static bool fifo_enabled(const struct uart *u)
{
	return u->fcr & FCR_ENABLE;
}

static unsigned int rx_capacity(const struct uart *u)
{
	return fifo_enabled(u) ? FIFO_SIZE : 1;
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

/*
 * Write to the back end, retrying interrupted and partial writes.  A closed
 * or full (non-blocking) back end loses output, never stops the guest.
 */
static void uart_output(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

static void uart_transmit(struct uart *u, uint8_t c)
{
	if (u->mcr & MCR_LOOP) {
		rx_push(u, c);
	} else if (u->out_fd >= 0) {
		uart_output(u->out_fd, &c, 1);
	}
	u->thr_ipending = true;
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
		v = (uint8_t)(LSR_THRE | LSR_TEMT | u->lsr_errs | (u->rx_count ? LSR_DR : 0));
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
	uart_update_irq(u);
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
			 * A write with ETBEI set while THR is empty (always, here)
			 * raises the THRE interrupt again, even if it was already
			 * enabled and acknowledged: Linux's startup test writes
			 * IER=THRI, reads IIR, IER=0, IER=THRI and expects THRE
			 * again, else it marks the port UART_BUG_THRE.
			 */
			if (v & IER_THRI)
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
	uart_update_irq(u);
}

static const struct io_region_ops uart_ops = { uart_read, uart_write };

size_t uart16550_rx_space(struct device *dev)
{
	struct uart *u = dev->priv;
	size_t space;

	pthread_mutex_lock(&dev->lock);
	space = (u->mcr & MCR_LOOP) ? 0 : rx_capacity(u) - u->rx_count;
	pthread_mutex_unlock(&dev->lock);
	return space;
}

size_t uart16550_receive(struct device *dev, const uint8_t *buf, size_t len)
{
	struct uart *u = dev->priv;
	size_t taken = 0;

	pthread_mutex_lock(&dev->lock);
	if (!(u->mcr & MCR_LOOP)) {   /* in loopback the serial input is disconnected */
		while (taken < len && u->rx_count < rx_capacity(u))
			rx_push(u, buf[taken++]);
		uart_update_irq(u);
	}
	pthread_mutex_unlock(&dev->lock);
	return taken;
}

static int uart_create(struct device *dev, const struct device_args *args)
{
	struct uart *u = calloc(1, sizeof(*u));

	if (!u)
		return -ENOMEM;
	dev->priv = u;
	u->dev = dev;
	u->out_fd = args->out_fd;
	u->irq = device_irq_line(dev, args->gsi ? args->gsi : COM1_GSI);
	return bus_register(dev->host->pio, args->base ? args->base : COM1_PORT,
			    UART_NR_REGS, &uart_ops, dev, dev->id);
}

static void uart_reset(struct device *dev)
{
	struct uart *u = dev->priv;

	/* Master reset values (datasheet table III). */
	u->ier = u->lcr = u->scr = u->fcr = u->lsr_errs = 0;
	u->mcr = 0;
	u->msr = uart_modem_inputs(u);
	u->divisor = 12;   /* 9600 baud, as firmware leaves it */
	u->thr_ipending = false;
	u->rx_head = u->rx_count = 0;
	u->irq_level = 0;
	irq_line_set(&u->irq, 0);
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
	u->irq_level = -1;   /* drive the line to the loaded state */
	uart_update_irq(u);
	return 0;
}

static void uart_destroy(struct device *dev)
{
	free(dev->priv);
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
