// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * i8042 keyboard controller with a PS/2 keyboard and a PS/2 mouse.
 *
 * The controller.  Its command byte (CTR) enables the two interrupts
 * (IRQ1 keyboard, IRQ12 aux), disables the ports and turns on the
 * set-2 -> set-1 translation of keyboard bytes (bit 6; ps2_keymap.c).  It
 * has ONE output buffer: a byte from the keyboard, the mouse (status bit
 * AUXB set) or a controller reply sits there until the guest reads port
 * 0x60, and only then the next one moves in and raises its IRQ again (a
 * new edge on the ISA line).  Each device has its own bounded queue behind
 * it, so keys never wait behind mouse packets in a shared FIFO, and a
 * disabled port keeps its bytes until it is enabled.  The CPU reset line
 * (output port bit 0: Linux's "reboot=kbd" pulses it with command 0xFE),
 * self-test and the loopback commands Linux probes the aux port with
 * (0xD3: the byte comes back as mouse data on IRQ12) are the controller's.
 *
 * The keyboard (IBM PS/2 Keyboard Technical Reference): reset (ACK, BAT
 * 0xAA), identify (AB 83: an MF2 keyboard), scan code sets 1 and 2 (set 3
 * is refused with 0xFE, which Linux's atkbd takes as "no set 3"), LEDs,
 * typematic rate (stored: the host's own auto-repeat sends repeated key
 * presses, so the keyboard makes none), enable/disable, echo, resend and
 * defaults.  Key events arrive as Linux KEY_* codes through the published
 * input (input.h) and become the scan codes of the set in use.
 *
 * The mouse (IBM PS/2 Mouse Technical Reference): reset (ACK AA 00),
 * identify, sample rate, resolution, scaling 1:1 and 2:1, stream and
 * remote mode, reporting on/off, status request, wrap (echo) mode and the
 * IntelliMouse wheel: the sample rates 200, 100, 80 set in a row turn the
 * ID into 3, and packets into 4 bytes with the wheel in the fourth.
 * Motion is in host pixels (one count each); the resolution is stored and
 * reported, not applied.
 *
 * Input events the guest has no room for are dropped, as a real keyboard's
 * buffer overflows: a key event is queued whole or not at all, and each
 * queue keeps QUEUE_HEADROOM bytes for command replies so a flood of keys
 * can never make the keyboard swallow its ACK.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices.h"
#include "input.h"
#include "ps2_keymap.h"

/* Status register */
#define STS_OBF      0x01
#define STS_SYS      0x04
#define STS_A2       0x08   /* last write was a command */
#define STS_UNLOCKED 0x10
#define STS_AUXB     0x20   /* the output buffer holds a byte from the mouse */

/* Controller commands */
#define CMD_READ_CTR     0x20
#define CMD_WRITE_CTR    0x60
#define CMD_PASSWORD     0xa4
#define CMD_AUX_DISABLE  0xa7
#define CMD_AUX_ENABLE   0xa8
#define CMD_AUX_TEST     0xa9
#define CMD_SELF_TEST    0xaa
#define CMD_KBD_TEST     0xab
#define CMD_KBD_DISABLE  0xad
#define CMD_KBD_ENABLE   0xae
#define CMD_READ_OUTPORT 0xd0
#define CMD_WRITE_OUTPORT 0xd1
#define CMD_WRITE_KBD_OUT 0xd2  /* next byte appears as if from the keyboard */
#define CMD_WRITE_AUX_OUT 0xd3  /* next byte appears as if from the mouse */
#define CMD_WRITE_AUX    0xd4   /* next byte goes to the mouse */
#define CMD_PULSE_BASE   0xf0   /* 0xf0-0xff: pulse output lines whose bit is 0 */

#define CTR_KBD_INT      0x01
#define CTR_AUX_INT      0x02
#define CTR_SYS          0x04
#define CTR_KBD_DISABLED 0x10
#define CTR_AUX_DISABLED 0x20
#define CTR_XLATE        0x40
#define OUTPORT_RESET_N  0x01   /* CPU reset line, active low */
#define OUTPORT_A20      0x02

#define SELF_TEST_OK     0x55
#define NO_PASSWORD      0xf1

/* Keyboard and mouse replies and commands */
#define PS2_ACK          0xfa
#define PS2_RESEND       0xfe
#define PS2_BAT_OK       0xaa
#define KBD_ECHO         0xee
#define KBD_CMD_LEDS     0xed
#define KBD_CMD_SET      0xf0
#define KBD_CMD_TYPEMATIC 0xf3
#define KBD_TYPEMATIC_DEFAULT 0x2b   /* 10.9 characters/s after 500 ms */
#define AUX_CMD_RESOLUTION 0xe8
#define AUX_CMD_RATE     0xf3

#define QUEUE_SIZE       64
#define QUEUE_HEADROOM   8      /* kept for replies (the longest: ACK + a 4-byte packet) */

struct byte_queue {
	uint8_t buf[QUEUE_SIZE];
	uint8_t head, count;
};

struct i8042 {
	struct device *dev;
	/* the controller */
	uint8_t status, ctr, outport, out_byte;
	uint8_t pending_cmd;     /* command waiting for its data byte, 0 = none */
	bool out_aux;            /* the output buffer's byte came from the mouse */
	bool xlate_f0;           /* translation saw a set-2 break prefix */
	/* Controller replies and the bytes 0xD2/0xD3 place, ahead of the
	 * ports' queues and whatever their enable bits say; ctl_aux marks
	 * 0xD3's (bit i for the queue's i-th byte from its head). */
	struct byte_queue ctlq;
	uint64_t ctl_aux;
	struct byte_queue kq, aq;
	/* the keyboard */
	uint8_t kbd_param_cmd;   /* command waiting for its parameter, 0 = none */
	uint8_t kbd_set;         /* 1 or 2 */
	bool kbd_scanning;
	uint8_t kbd_leds;        /* INPUT_LED_* = the 0xED bits */
	uint8_t kbd_typematic;
	uint8_t kbd_last;        /* for resend */
	/* the mouse */
	uint8_t aux_param_cmd;
	uint8_t aux_rate, aux_res, aux_id, aux_buttons, aux_last;
	uint8_t aux_rates[3];    /* the last three sample rates (the wheel's knock) */
	bool aux_scale21, aux_remote, aux_reporting, aux_wrap;
	int32_t aux_dx, aux_dy, aux_dz;   /* remote mode: motion not yet read */
};

static void q_clear(struct byte_queue *q)
{
	q->head = q->count = 0;
}

static bool q_push(struct byte_queue *q, uint8_t v)
{
	if (q->count >= QUEUE_SIZE)
		return false;
	q->buf[(q->head + q->count) % QUEUE_SIZE] = v;
	q->count++;
	return true;
}

static uint8_t q_pop(struct byte_queue *q)
{
	uint8_t v = q->buf[q->head];

	q->head = (uint8_t)((q->head + 1) % QUEUE_SIZE);
	q->count--;
	return v;
}

/* Room for @n bytes of input (events), keeping the replies' headroom. */
static bool q_room_for_input(const struct byte_queue *q, unsigned int n)
{
	return q->count + n <= QUEUE_SIZE - QUEUE_HEADROOM;
}

static void i8042_update_irq(struct i8042 *k)
{
	bool obf = k->status & STS_OBF;
	struct irq_line kbd = device_irq_line(k->dev, 1), aux = device_irq_line(k->dev, 12);

	irq_line_set(&kbd, obf && !k->out_aux && (k->ctr & CTR_KBD_INT));
	irq_line_set(&aux, obf && k->out_aux && (k->ctr & CTR_AUX_INT));
}

/* Move the next byte into the empty output buffer: controller, keyboard, mouse. */
static void i8042_refill(struct i8042 *k)
{
	while (!(k->status & STS_OBF)) {
		uint8_t v;

		if (k->ctlq.count) {
			k->out_aux = k->ctl_aux & 1;
			k->ctl_aux >>= 1;
			k->out_byte = q_pop(&k->ctlq);
		} else if (k->kq.count && !(k->ctr & CTR_KBD_DISABLED)) {
			v = q_pop(&k->kq);
			if ((k->ctr & CTR_XLATE) && !ps2_translate(v, &k->xlate_f0, &v))
				continue;   /* a break prefix: it marks the next byte */
			k->out_byte = v;
			k->out_aux = false;
		} else if (k->aq.count && !(k->ctr & CTR_AUX_DISABLED)) {
			k->out_byte = q_pop(&k->aq);
			k->out_aux = true;
		} else {
			break;
		}
		k->status |= STS_OBF;
	}
	if (k->status & STS_OBF && k->out_aux)
		k->status |= STS_AUXB;
	else
		k->status &= (uint8_t)~STS_AUXB;
	i8042_update_irq(k);
}

static void ctl_output(struct i8042 *k, uint8_t v, bool aux)
{
	unsigned int at = k->ctlq.count;

	if (q_push(&k->ctlq, v) && aux)
		k->ctl_aux |= 1ull << at;
}

static void ctl_reply(struct i8042 *k, uint8_t v)
{
	ctl_output(k, v, false);
}

static void i8042_reset_cpu(struct device *dev)
{
	dev->host->request_reset(dev->host->req_opaque);
}

/* ---- the keyboard ---- */

static void kbd_reply(struct i8042 *k, uint8_t v)
{
	if (q_push(&k->kq, v))
		k->kbd_last = v;
}

static void kbd_defaults(struct i8042 *k)
{
	k->kbd_set = 2;
	k->kbd_typematic = KBD_TYPEMATIC_DEFAULT;
}

/* A parameter byte for @cmd; false if @v is not one (it is then a new command). */
static bool kbd_param(struct i8042 *k, uint8_t cmd, uint8_t v)
{
	switch (cmd) {
	case KBD_CMD_LEDS:
		if (v & 0xf8)
			return false;
		k->kbd_leds = v;
		kbd_reply(k, PS2_ACK);
		return true;
	case KBD_CMD_TYPEMATIC:
		if (v & 0x80)
			return false;
		k->kbd_typematic = v;
		kbd_reply(k, PS2_ACK);
		return true;
	case KBD_CMD_SET:
		if (v == 0) {
			kbd_reply(k, PS2_ACK);
			kbd_reply(k, k->kbd_set);
		} else if (v == 1 || v == 2) {
			k->kbd_set = v;
			q_clear(&k->kq);   /* codes of the old set are void */
			kbd_reply(k, PS2_ACK);
		} else if (v == 3) {
			kbd_reply(k, PS2_RESEND);   /* set 3 is not offered */
		} else {
			return false;
		}
		return true;
	}
	return false;
}

static void kbd_write(struct i8042 *k, uint8_t v)
{
	uint8_t cmd = k->kbd_param_cmd;

	k->kbd_param_cmd = 0;
	if (cmd && kbd_param(k, cmd, v))
		return;
	switch (v) {
	case KBD_CMD_LEDS:
	case KBD_CMD_TYPEMATIC:
	case KBD_CMD_SET:
		kbd_reply(k, PS2_ACK);
		k->kbd_param_cmd = v;
		break;
	case KBD_ECHO:
		kbd_reply(k, KBD_ECHO);
		break;
	case 0xf2:   /* identify: an MF2 keyboard */
		kbd_reply(k, PS2_ACK);
		kbd_reply(k, 0xab);
		kbd_reply(k, 0x83);
		break;
	case 0xf4:   /* enable: clears the buffer, scans */
		q_clear(&k->kq);
		k->kbd_scanning = true;
		kbd_reply(k, PS2_ACK);
		break;
	case 0xf5:   /* disable: defaults, stops scanning */
	case 0xf6:   /* defaults, keeps scanning */
		q_clear(&k->kq);
		kbd_defaults(k);
		k->kbd_scanning = v == 0xf6;
		kbd_reply(k, PS2_ACK);
		break;
	case 0xf7: case 0xf8: case 0xf9: case 0xfa:
	case 0xfb: case 0xfc: case 0xfd:
		/* Set-3 key type commands: nothing to change in sets 1 and 2. */
		kbd_reply(k, PS2_ACK);
		break;
	case PS2_RESEND:
		q_push(&k->kq, k->kbd_last);
		break;
	case 0xff:   /* reset: ACK, then the self-test passed */
		q_clear(&k->kq);
		kbd_defaults(k);
		k->kbd_leds = 0;
		k->kbd_scanning = true;
		kbd_reply(k, PS2_ACK);
		kbd_reply(k, PS2_BAT_OK);
		break;
	default:
		kbd_reply(k, PS2_RESEND);   /* not a command */
		break;
	}
}

/* ---- the mouse ---- */

static void aux_reply(struct i8042 *k, uint8_t v)
{
	if (q_push(&k->aq, v))
		k->aux_last = v;
}

static void aux_defaults(struct i8042 *k)
{
	k->aux_rate = 100;
	k->aux_res = 2;   /* 4 counts/mm */
	k->aux_scale21 = false;
	k->aux_remote = false;
	k->aux_reporting = false;
	k->aux_dx = k->aux_dy = k->aux_dz = 0;
}

static int clamp(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* 2:1 scaling (stream mode only): the reference's table, then double. */
static int scale21(int v)
{
	static const int table[6] = { 0, 1, 1, 3, 6, 9 };
	int a = v < 0 ? -v : v;
	int s = a < 6 ? table[a] : 2 * a;

	return v < 0 ? -s : s;
}

/*
 * One packet of (*dx, *dy, *dz) as far as it fits, the rest left in them;
 * +y is down on the host, up for PS/2.  false if the queue had no room.
 */
static bool aux_packet(struct i8042 *k, int *dx, int *dy, int *dz, bool replying)
{
	unsigned int len = k->aux_id == 3 ? 4 : 3;
	int x = clamp(*dx, -256, 255), y = clamp(-*dy, -256, 255), z = clamp(*dz, -8, 7);
	uint8_t b0 = (uint8_t)(0x08 | (k->aux_buttons & 7));

	if (!replying && !q_room_for_input(&k->aq, len))
		return false;
	if (replying && k->aq.count + len > QUEUE_SIZE)
		return false;
	if (k->aux_scale21 && !k->aux_remote) {
		x = clamp(scale21(x), -256, 255);
		y = clamp(scale21(y), -256, 255);
	}
	if (x < 0)
		b0 |= 0x10;
	if (y < 0)
		b0 |= 0x20;
	aux_reply(k, b0);
	aux_reply(k, (uint8_t)x);
	aux_reply(k, (uint8_t)y);
	if (len == 4)
		aux_reply(k, (uint8_t)z);
	*dx -= clamp(*dx, -256, 255);
	*dy += clamp(-*dy, -256, 255);
	*dz -= len == 4 ? z : *dz;
	return true;
}

static void aux_param(struct i8042 *k, uint8_t cmd, uint8_t v)
{
	if (cmd == AUX_CMD_RESOLUTION) {
		if (v > 3) {
			aux_reply(k, PS2_RESEND);
			return;
		}
		k->aux_res = v;
	} else {
		if (v != 10 && v != 20 && v != 40 && v != 60 && v != 80 && v != 100 && v != 200) {
			aux_reply(k, PS2_RESEND);
			return;
		}
		k->aux_rate = v;
		k->aux_rates[0] = k->aux_rates[1];
		k->aux_rates[1] = k->aux_rates[2];
		k->aux_rates[2] = v;
		/* Microsoft's IntelliMouse knock: 200, 100, 80 turns on the wheel. */
		if (k->aux_rates[0] == 200 && k->aux_rates[1] == 100 && k->aux_rates[2] == 80)
			k->aux_id = 3;
	}
	aux_reply(k, PS2_ACK);
}

static void aux_write(struct i8042 *k, uint8_t v)
{
	uint8_t cmd = k->aux_param_cmd;

	k->aux_param_cmd = 0;
	if (cmd) {
		aux_param(k, cmd, v);
		return;
	}
	if (k->aux_wrap && v != 0xec && v != 0xff) {
		aux_reply(k, v);   /* wrap mode echoes */
		return;
	}
	switch (v) {
	case 0xe6:
	case 0xe7:
		k->aux_scale21 = v == 0xe7;
		aux_reply(k, PS2_ACK);
		break;
	case AUX_CMD_RESOLUTION:
	case AUX_CMD_RATE:
		k->aux_param_cmd = v;
		aux_reply(k, PS2_ACK);
		break;
	case 0xe9: {   /* status request */
		uint8_t b = (uint8_t)((k->aux_remote ? 0x40 : 0) | (k->aux_reporting ? 0x20 : 0) |
				      (k->aux_scale21 ? 0x10 : 0) |
				      (k->aux_buttons & INPUT_BTN_LEFT ? 0x04 : 0) |
				      (k->aux_buttons & INPUT_BTN_MIDDLE ? 0x02 : 0) |
				      (k->aux_buttons & INPUT_BTN_RIGHT ? 0x01 : 0));

		aux_reply(k, PS2_ACK);
		aux_reply(k, b);
		aux_reply(k, k->aux_res);
		aux_reply(k, k->aux_rate);
		break;
	}
	case 0xea:   /* stream mode */
	case 0xf0:   /* remote mode */
		k->aux_remote = v == 0xf0;
		k->aux_dx = k->aux_dy = k->aux_dz = 0;
		aux_reply(k, PS2_ACK);
		break;
	case 0xeb: {  /* read data (remote mode) */
		int dx = k->aux_dx, dy = k->aux_dy, dz = k->aux_dz;

		aux_reply(k, PS2_ACK);
		if (aux_packet(k, &dx, &dy, &dz, true)) {
			k->aux_dx = dx;
			k->aux_dy = dy;
			k->aux_dz = dz;
		}
		break;
	}
	case 0xec:
	case 0xee:
		k->aux_wrap = v == 0xee;
		aux_reply(k, PS2_ACK);
		break;
	case 0xf2:
		aux_reply(k, PS2_ACK);
		aux_reply(k, k->aux_id);
		break;
	case 0xf4:
	case 0xf5:
		k->aux_reporting = v == 0xf4;
		q_clear(&k->aq);
		aux_reply(k, PS2_ACK);
		break;
	case 0xf6:
		aux_defaults(k);
		aux_reply(k, PS2_ACK);
		break;
	case PS2_RESEND:
		q_push(&k->aq, k->aux_last);
		break;
	case 0xff:
		q_clear(&k->aq);
		aux_defaults(k);
		k->aux_wrap = false;
		k->aux_id = 0;
		memset(k->aux_rates, 0, sizeof(k->aux_rates));
		aux_reply(k, PS2_ACK);
		aux_reply(k, PS2_BAT_OK);
		aux_reply(k, 0x00);   /* the ID */
		break;
	default:
		aux_reply(k, PS2_RESEND);
		break;
	}
}

/* ---- the controller's ports ---- */

static void i8042_command(struct device *dev, uint8_t cmd)
{
	struct i8042 *k = dev->priv;

	k->status |= STS_A2;
	k->pending_cmd = 0;
	switch (cmd) {
	case CMD_READ_CTR: ctl_reply(k, k->ctr); break;
	case CMD_WRITE_CTR:
	case CMD_WRITE_OUTPORT:
	case CMD_WRITE_KBD_OUT:
	case CMD_WRITE_AUX_OUT:
	case CMD_WRITE_AUX: k->pending_cmd = cmd; break;
	case CMD_SELF_TEST:
		k->status |= STS_SYS;
		ctl_reply(k, SELF_TEST_OK);
		break;
	case CMD_PASSWORD: ctl_reply(k, NO_PASSWORD); break;
	case CMD_KBD_TEST:
	case CMD_AUX_TEST: ctl_reply(k, 0x00); break;
	case CMD_KBD_DISABLE: k->ctr |= CTR_KBD_DISABLED; break;
	case CMD_KBD_ENABLE: k->ctr &= (uint8_t)~CTR_KBD_DISABLED; break;
	case CMD_AUX_DISABLE: k->ctr |= CTR_AUX_DISABLED; break;
	case CMD_AUX_ENABLE: k->ctr &= (uint8_t)~CTR_AUX_DISABLED; break;
	case CMD_READ_OUTPORT: ctl_reply(k, k->outport); break;
	default:
		if (cmd >= CMD_PULSE_BASE && !(cmd & OUTPORT_RESET_N))
			i8042_reset_cpu(dev);
		break;   /* other commands are accepted and ignored */
	}
	i8042_refill(k);
}

static void i8042_data(struct device *dev, uint8_t v)
{
	struct i8042 *k = dev->priv;
	uint8_t cmd = k->pending_cmd;

	k->status &= (uint8_t)~STS_A2;
	k->pending_cmd = 0;
	switch (cmd) {
	case CMD_WRITE_CTR:
		k->ctr = v;
		k->status = (uint8_t)((k->status & ~STS_SYS) | (v & CTR_SYS));
		break;
	case CMD_WRITE_OUTPORT:
		k->outport = v;
		if (!(v & OUTPORT_RESET_N))
			i8042_reset_cpu(dev);
		break;
	case CMD_WRITE_KBD_OUT:
	case CMD_WRITE_AUX_OUT:
		/* The controller's own output buffer, as if from the device:
		 * Linux's aux port probe loops bytes back this way. */
		ctl_output(k, v, cmd == CMD_WRITE_AUX_OUT);
		break;
	case CMD_WRITE_AUX:
		aux_write(k, v);
		break;
	default:
		/* A byte for the keyboard; sending it re-enables the port. */
		k->ctr &= (uint8_t)~CTR_KBD_DISABLED;
		kbd_write(k, v);
		break;
	}
	i8042_refill(k);
}

static uint64_t i8042_data_read(struct device *dev, uint64_t off, unsigned int size)
{
	struct i8042 *k = dev->priv;
	uint8_t v = k->out_byte;

	k->status &= (uint8_t)~(STS_OBF | STS_AUXB);
	i8042_update_irq(k);   /* the line drops, so the next byte is a new edge */
	i8042_refill(k);
	return v;
}

static void i8042_data_write(struct device *dev, uint64_t off, uint64_t value, unsigned int size)
{
	i8042_data(dev, (uint8_t)value);
}

static uint64_t i8042_status_read(struct device *dev, uint64_t off, unsigned int size)
{
	struct i8042 *k = dev->priv;

	return k->status;
}

static void i8042_cmd_write(struct device *dev, uint64_t off, uint64_t value, unsigned int size)
{
	i8042_command(dev, (uint8_t)value);
}

static const struct io_region_ops i8042_data_ops = { i8042_data_read, i8042_data_write };
static const struct io_region_ops i8042_cmd_ops = { i8042_status_read, i8042_cmd_write };

/* ---- the published inputs (input.h): any thread but a vCPU's ---- */

static void i8042_key(void *opaque, unsigned int code, bool down)
{
	struct device *dev = opaque;
	struct i8042 *k = dev->priv;
	uint8_t b[PS2_SEQ_MAX];
	unsigned int n;

	pthread_mutex_lock(&dev->lock);
	n = k->kbd_scanning ? ps2_key_bytes(k->kbd_set, code, down, b) : 0;
	if (n && q_room_for_input(&k->kq, n)) {
		for (unsigned int i = 0; i < n; i++)
			q_push(&k->kq, b[i]);
		i8042_refill(k);
	}
	pthread_mutex_unlock(&dev->lock);
}

static unsigned int i8042_leds(void *opaque)
{
	struct device *dev = opaque;
	unsigned int leds;

	pthread_mutex_lock(&dev->lock);
	leds = ((struct i8042 *)dev->priv)->kbd_leds;
	pthread_mutex_unlock(&dev->lock);
	return leds;
}

/* Whole key events of the longest kind that fit now (none while not scanning). */
static unsigned int i8042_key_room(void *opaque)
{
	struct device *dev = opaque;
	struct i8042 *k = dev->priv;
	unsigned int room = 0;

	pthread_mutex_lock(&dev->lock);
	if (k->kbd_scanning && k->kq.count < QUEUE_SIZE - QUEUE_HEADROOM)
		room = (QUEUE_SIZE - QUEUE_HEADROOM - k->kq.count) / PS2_SEQ_MAX;
	pthread_mutex_unlock(&dev->lock);
	return room;
}

static void i8042_rel(void *opaque, int dx, int dy, int dwheel, unsigned int buttons)
{
	struct device *dev = opaque;
	struct i8042 *k = dev->priv;
	int dz = -dwheel;   /* the IntelliMouse's wheel counts toward the user */
	bool changed;

	pthread_mutex_lock(&dev->lock);
	changed = k->aux_buttons != (buttons & 7);
	k->aux_buttons = (uint8_t)(buttons & 7);
	if (k->aux_remote) {
		/* Read by the guest with 0xEB; kept within what packets can carry. */
		k->aux_dx = clamp(k->aux_dx + clamp(dx, -4096, 4096), -4096, 4096);
		k->aux_dy = clamp(k->aux_dy + clamp(dy, -4096, 4096), -4096, 4096);
		k->aux_dz = clamp(k->aux_dz + clamp(dz, -64, 64), -64, 64);
	} else if (k->aux_reporting) {
		/* Large motion goes as several packets while the queue has room. */
		for (int i = 0; i < 16 && (changed || dx || dy || (dz && k->aux_id == 3)); i++) {
			if (!aux_packet(k, &dx, &dy, &dz, false))
				break;
			changed = false;
		}
		i8042_refill(k);
	}
	pthread_mutex_unlock(&dev->lock);
}

static bool i8042_mouse_active(void *opaque)
{
	struct device *dev = opaque;
	struct i8042 *k = dev->priv;
	bool on;

	pthread_mutex_lock(&dev->lock);
	on = k->aux_reporting && !k->aux_remote;
	pthread_mutex_unlock(&dev->lock);
	return on;
}

static const struct input_ops i8042_keyboard_input = {
	.caps = INPUT_CAP_KEYBOARD,
	.key = i8042_key,
	.leds = i8042_leds,
	.key_room = i8042_key_room,
};

static const struct input_ops i8042_mouse_input = {
	.caps = INPUT_CAP_REL,
	.rel = i8042_rel,
	.active = i8042_mouse_active,
};

static int i8042_create(struct device *dev, const struct device_args *args)
{
	struct i8042 *k = calloc(1, sizeof(*k));
	int ret;

	if (!k)
		return -ENOMEM;
	k->dev = dev;
	dev->priv = k;
	/* Two one-port regions: 0x61-0x63 belong to others (0x61 is the PIT's speaker port). */
	ret = bus_register(dev->host->pio, I8042_DATA_PORT, 1, &i8042_data_ops, dev, "i8042-data");
	if (!ret)
		ret = bus_register(dev->host->pio, I8042_CMD_PORT, 1, &i8042_cmd_ops, dev, "i8042-cmd");
	if (!ret && dev->host->input_publish) {
		dev->host->input_publish(dev->host->input_opaque, &i8042_keyboard_input, dev);
		dev->host->input_publish(dev->host->input_opaque, &i8042_mouse_input, dev);
	}
	return ret;
}

static void i8042_reset(struct device *dev)
{
	struct i8042 *k = dev->priv;

	k->status = STS_UNLOCKED;
	/* Ports off, translation on: what PC firmware leaves for the OS. */
	k->ctr = CTR_KBD_DISABLED | CTR_AUX_DISABLED | CTR_XLATE;
	k->outport = OUTPORT_RESET_N | OUTPORT_A20;
	k->out_byte = 0;
	k->out_aux = false;
	k->xlate_f0 = false;
	k->pending_cmd = 0;
	q_clear(&k->ctlq);
	k->ctl_aux = 0;
	q_clear(&k->kq);
	q_clear(&k->aq);
	kbd_defaults(k);
	k->kbd_param_cmd = 0;
	k->kbd_scanning = true;
	k->kbd_leds = 0;
	k->kbd_last = 0;
	aux_defaults(k);
	k->aux_param_cmd = 0;
	k->aux_id = 0;
	k->aux_buttons = 0;
	k->aux_last = 0;
	k->aux_wrap = false;
	memset(k->aux_rates, 0, sizeof(k->aux_rates));
	i8042_update_irq(k);
}

static void save_queue(struct sv_writer *w, const struct byte_queue *q)
{
	sv_put_u8(w, q->count);
	for (unsigned int i = 0; i < q->count; i++)
		sv_put_u8(w, q->buf[(q->head + i) % QUEUE_SIZE]);
}

static void load_queue(struct sv_reader *r, struct byte_queue *q)
{
	unsigned int n = sv_get_u8(r);

	q_clear(q);
	for (unsigned int i = 0; i < n; i++) {
		uint8_t v = sv_get_u8(r);

		if (i < QUEUE_SIZE)
			q_push(q, v);
	}
}

static int i8042_save(struct device *dev, struct sv_writer *w)
{
	struct i8042 *k = dev->priv;

	sv_put_u8(w, k->status);
	sv_put_u8(w, k->ctr);
	sv_put_u8(w, k->outport);
	sv_put_u8(w, k->out_byte);
	sv_put_u8(w, k->pending_cmd);
	/* version 2: the keyboard and the mouse */
	sv_put_u8(w, (uint8_t)(k->out_aux | k->xlate_f0 << 1 | k->kbd_scanning << 2 |
			       k->aux_scale21 << 3 | k->aux_remote << 4 | k->aux_reporting << 5 |
			       k->aux_wrap << 6));
	save_queue(w, &k->ctlq);
	sv_put_u64(w, k->ctl_aux);
	save_queue(w, &k->kq);
	save_queue(w, &k->aq);
	sv_put_u8(w, k->kbd_param_cmd);
	sv_put_u8(w, k->kbd_set);
	sv_put_u8(w, k->kbd_leds);
	sv_put_u8(w, k->kbd_typematic);
	sv_put_u8(w, k->kbd_last);
	sv_put_u8(w, k->aux_param_cmd);
	sv_put_u8(w, k->aux_rate);
	sv_put_u8(w, k->aux_res);
	sv_put_u8(w, k->aux_id);
	sv_put_u8(w, k->aux_buttons);
	sv_put_u8(w, k->aux_last);
	sv_put_bytes(w, k->aux_rates, sizeof(k->aux_rates));
	sv_put_u32(w, (uint32_t)k->aux_dx);
	sv_put_u32(w, (uint32_t)k->aux_dy);
	sv_put_u32(w, (uint32_t)k->aux_dz);
	return 0;
}

static bool pending_ok(uint8_t c)
{
	return c == 0 || c == CMD_WRITE_CTR || c == CMD_WRITE_OUTPORT || c == CMD_WRITE_KBD_OUT ||
	       c == CMD_WRITE_AUX_OUT || c == CMD_WRITE_AUX;
}

static int i8042_load(struct device *dev, struct sv_reader *r, uint32_t version)
{
	struct i8042 *k = dev->priv;
	struct i8042 n = *k;   /* a version-1 snapshot has no keyboard or mouse: kept as they are */
	uint8_t flags;

	n.status = sv_get_u8(r);
	n.ctr = sv_get_u8(r);
	n.outport = sv_get_u8(r);
	n.out_byte = sv_get_u8(r);
	n.pending_cmd = sv_get_u8(r);
	if (version >= 2) {
		flags = sv_get_u8(r);
		n.out_aux = flags & 1;
		n.xlate_f0 = flags & 2;
		n.kbd_scanning = flags & 4;
		n.aux_scale21 = flags & 8;
		n.aux_remote = flags & 16;
		n.aux_reporting = flags & 32;
		n.aux_wrap = flags & 64;
		load_queue(r, &n.ctlq);
		n.ctl_aux = sv_get_u64(r);
		if (n.ctlq.count < 64)
			n.ctl_aux &= (1ull << n.ctlq.count) - 1;
		load_queue(r, &n.kq);
		load_queue(r, &n.aq);
		n.kbd_param_cmd = sv_get_u8(r);
		n.kbd_set = sv_get_u8(r);
		n.kbd_leds = sv_get_u8(r) & 7;
		n.kbd_typematic = sv_get_u8(r) & 0x7f;
		n.kbd_last = sv_get_u8(r);
		n.aux_param_cmd = sv_get_u8(r);
		n.aux_rate = sv_get_u8(r);
		n.aux_res = sv_get_u8(r) & 3;
		n.aux_id = sv_get_u8(r);
		n.aux_buttons = sv_get_u8(r) & 7;
		n.aux_last = sv_get_u8(r);
		sv_get_bytes(r, n.aux_rates, sizeof(n.aux_rates));
		n.aux_dx = clamp((int32_t)sv_get_u32(r), -4096, 4096);
		n.aux_dy = clamp((int32_t)sv_get_u32(r), -4096, 4096);
		n.aux_dz = clamp((int32_t)sv_get_u32(r), -64, 64);
	}
	if (!sv_reader_ok(r, true))
		return -EINVAL;
	if (!pending_ok(n.pending_cmd))
		n.pending_cmd = 0;
	if (n.kbd_set != 1 && n.kbd_set != 2)
		n.kbd_set = 2;
	if (n.kbd_param_cmd != KBD_CMD_LEDS && n.kbd_param_cmd != KBD_CMD_SET &&
	    n.kbd_param_cmd != KBD_CMD_TYPEMATIC)
		n.kbd_param_cmd = 0;
	if (n.aux_param_cmd != AUX_CMD_RESOLUTION && n.aux_param_cmd != AUX_CMD_RATE)
		n.aux_param_cmd = 0;
	if (n.aux_id != 3)
		n.aux_id = 0;
	*k = n;
	i8042_update_irq(k);
	return 0;
}

static void i8042_destroy(struct device *dev)
{
	if (dev->host->input_publish)
		dev->host->input_publish(dev->host->input_opaque, NULL, dev);
	free(dev->priv);
}

const struct device_model i8042_model = {
	.name = "i8042",
	.state_version = 2,
	.create = i8042_create,
	.reset = i8042_reset,
	.save = i8042_save,
	.load = i8042_load,
	.destroy = i8042_destroy,
};
