// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * i8042 keyboard controller: the controller itself, without keyboard or
 * mouse yet.  What a PC needs of it now is the CPU reset line (output port
 * bit 0), which Linux's "reboot=kbd" (its default fallback) pulses with
 * command 0xFE, and an honest "no keyboard": a byte sent to the keyboard
 * times out at once (time-out status bit, 0xFE read back), so firmware
 * probing it (SeaBIOS waits up to a second for an ACK) moves on.
 */
#include <errno.h>
#include <stdlib.h>

#include "devices.h"

/* Status register */
#define STS_OBF      0x01
#define STS_SYS      0x04
#define STS_A2       0x08   /* last write was a command */
#define STS_UNLOCKED 0x10
#define STS_TIMEOUT  0x40   /* the keyboard did not answer */

/* Controller commands */
#define CMD_READ_CTR     0x20
#define CMD_WRITE_CTR    0x60
#define CMD_AUX_DISABLE  0xa7
#define CMD_AUX_ENABLE   0xa8
#define CMD_AUX_TEST     0xa9
#define CMD_SELF_TEST    0xaa
#define CMD_KBD_TEST     0xab
#define CMD_KBD_DISABLE  0xad
#define CMD_KBD_ENABLE   0xae
#define CMD_READ_OUTPORT 0xd0
#define CMD_WRITE_OUTPORT 0xd1
#define CMD_PULSE_BASE   0xf0   /* 0xf0-0xff: pulse output lines whose bit is 0 */

#define CTR_KBD_DISABLED 0x10
#define CTR_AUX_DISABLED 0x20
#define CTR_SYS          0x04
#define OUTPORT_RESET_N  0x01   /* CPU reset line, active low */
#define OUTPORT_A20      0x02

#define SELF_TEST_OK     0x55
#define KBD_NO_ANSWER    0xfe   /* what a controller reads back when the keyboard times out */

struct i8042 {
	uint8_t status, ctr, outport, out_byte;
	uint8_t pending_cmd;   /* command waiting for its data byte, 0 = none */
};

static void i8042_output(struct i8042 *k, uint8_t v)
{
	k->out_byte = v;
	k->status |= STS_OBF;
}

static void i8042_reset_cpu(struct device *dev)
{
	dev->host->request_reset(dev->host->req_opaque);
}

static void i8042_command(struct device *dev, uint8_t cmd)
{
	struct i8042 *k = dev->priv;

	k->status = (uint8_t)((k->status | STS_A2) & ~STS_TIMEOUT);
	switch (cmd) {
	case CMD_READ_CTR: i8042_output(k, k->ctr); break;
	case CMD_WRITE_CTR:
	case CMD_WRITE_OUTPORT: k->pending_cmd = cmd; break;
	case CMD_SELF_TEST:
		k->status |= STS_SYS;
		i8042_output(k, SELF_TEST_OK);
		break;
	case CMD_KBD_TEST:
	case CMD_AUX_TEST: i8042_output(k, 0x00); break;
	case CMD_KBD_DISABLE: k->ctr |= CTR_KBD_DISABLED; break;
	case CMD_KBD_ENABLE: k->ctr &= (uint8_t)~CTR_KBD_DISABLED; break;
	case CMD_AUX_DISABLE: k->ctr |= CTR_AUX_DISABLED; break;
	case CMD_AUX_ENABLE: k->ctr &= (uint8_t)~CTR_AUX_DISABLED; break;
	case CMD_READ_OUTPORT: i8042_output(k, k->outport); break;
	default:
		if (cmd >= CMD_PULSE_BASE && !(cmd & OUTPORT_RESET_N))
			i8042_reset_cpu(dev);
		break;   /* other commands are accepted and ignored */
	}
}

static void i8042_data(struct device *dev, uint8_t v)
{
	struct i8042 *k = dev->priv;
	uint8_t cmd = k->pending_cmd;

	k->status &= (uint8_t)~(STS_A2 | STS_TIMEOUT);
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
	default:
		/* A byte for the keyboard: none attached yet, so it times out. */
		k->status |= STS_TIMEOUT;
		i8042_output(k, KBD_NO_ANSWER);
		break;
	}
}

static uint64_t i8042_data_read(struct device *dev, uint64_t off, unsigned int size)
{
	struct i8042 *k = dev->priv;

	k->status &= (uint8_t)~STS_OBF;
	return k->out_byte;
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

static int i8042_create(struct device *dev, const struct device_args *args)
{
	struct i8042 *k = calloc(1, sizeof(*k));
	int ret;

	if (!k)
		return -ENOMEM;
	dev->priv = k;
	/* Two one-port regions: 0x61-0x63 belong to others (0x61 is the PIT's speaker port). */
	ret = bus_register(dev->host->pio, I8042_DATA_PORT, 1, &i8042_data_ops, dev, "i8042-data");
	if (!ret)
		ret = bus_register(dev->host->pio, I8042_CMD_PORT, 1, &i8042_cmd_ops, dev, "i8042-cmd");
	return ret;
}

static void i8042_reset(struct device *dev)
{
	struct i8042 *k = dev->priv;

	k->status = STS_UNLOCKED;
	k->ctr = CTR_KBD_DISABLED | CTR_AUX_DISABLED;
	k->outport = OUTPORT_RESET_N | OUTPORT_A20;
	k->out_byte = 0;
	k->pending_cmd = 0;
}

static int i8042_save(struct device *dev, struct sv_writer *w)
{
	struct i8042 *k = dev->priv;

	sv_put_u8(w, k->status);
	sv_put_u8(w, k->ctr);
	sv_put_u8(w, k->outport);
	sv_put_u8(w, k->out_byte);
	sv_put_u8(w, k->pending_cmd);
	return 0;
}

static int i8042_load(struct device *dev, struct sv_reader *r, uint32_t version)
{
	struct i8042 *k = dev->priv;
	struct i8042 n;

	n.status = sv_get_u8(r);
	n.ctr = sv_get_u8(r);
	n.outport = sv_get_u8(r);
	n.out_byte = sv_get_u8(r);
	n.pending_cmd = sv_get_u8(r);
	if (!sv_reader_ok(r, true))
		return -EINVAL;
	if (n.pending_cmd != CMD_WRITE_CTR && n.pending_cmd != CMD_WRITE_OUTPORT)
		n.pending_cmd = 0;
	*k = n;
	return 0;
}

static void i8042_destroy(struct device *dev)
{
	free(dev->priv);
}

const struct device_model i8042_model = {
	.name = "i8042",
	.state_version = 1,
	.create = i8042_create,
	.reset = i8042_reset,
	.save = i8042_save,
	.load = i8042_load,
	.destroy = i8042_destroy,
};
