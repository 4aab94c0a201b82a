// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A virtio-input tablet (virtio 1.2, section 5.8): an absolute pointer, so
 * a guest with the driver follows the host's pointer without capturing it,
 * as VirtualBox's USB tablet does.  Modern virtio-pci only (1af4:1052).
 *
 * Configuration (5.8.4): the driver writes select and subsel, the device
 * answers with size and the union: ID_NAME "Hutch Tablet", ID_SERIAL,
 * ID_DEVIDS, no PROP_BITS, EV_BITS for EV_KEY (BTN_LEFT/RIGHT/MIDDLE),
 * EV_REL (REL_WHEEL) and EV_ABS (ABS_X, ABS_Y), ABS_INFO 0..INPUT_ABS_MAX
 * for both axes; size 0 for anything else.
 *
 * Events (5.8.6): each pointer report from the host becomes one batch of
 * 8-byte events (position, button changes, wheel) ending in EV_SYN
 * SYN_REPORT, written into the driver's eventq buffers at once under the
 * device lock.  A batch goes whole or not at all: when the driver has not
 * posted buffers enough, it is dropped (counted), as a real device drops
 * what its host-side queue cannot hold; nothing waits and nothing blocks.
 * Nothing is ever in flight: buffers are popped and completed in one go.
 * statusq buffers (LED and the like, meaningless for a tablet) are
 * consumed as the driver posts them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices.h"
#include "input.h"
#include "virtio_pci.h"

#define VIRTIO_ID_INPUT        18
#define PCI_CLASS_INPUT_OTHER  0x098000

#define Q_EVENT    0
#define Q_STATUS   1
#define VIN_NR_QUEUES   2
#define VIN_QUEUE_SIZE  64
#define VIN_SEGS        4

/* Configuration selectors (5.8.4) */
#define CFG_UNSET      0x00
#define CFG_ID_NAME    0x01
#define CFG_ID_SERIAL  0x02
#define CFG_ID_DEVIDS  0x03
#define CFG_PROP_BITS  0x10
#define CFG_EV_BITS    0x11
#define CFG_ABS_INFO   0x12

/* Configuration layout */
#define CFG_SELECT     0
#define CFG_SUBSEL     1
#define CFG_SIZE       2
#define CFG_U          8
#define CFG_U_LEN      128
#define CFG_LEN        (CFG_U + CFG_U_LEN)

/* Linux input event codes (<linux/input-event-codes.h>) */
#define EV_SYN      0x00
#define EV_KEY      0x01
#define EV_REL      0x02
#define EV_ABS      0x03
#define SYN_REPORT  0
#define REL_WHEEL   0x08
#define ABS_X       0x00
#define ABS_Y       0x01
#define BTN_LEFT    0x110
#define BTN_RIGHT   0x111
#define BTN_MIDDLE  0x112
#define BUS_VIRTUAL 0x06

#define TABLET_NAME   "Hutch Tablet"
#define TABLET_SERIAL "hutch-tablet-0"

#define EVENT_LEN   8
#define BATCH_MAX   8     /* X, Y, three buttons, the wheel, SYN */

struct vin {
	struct virtio_pci vp;     /* first: the transport finds itself in dev->priv */
	struct device *dev;
	uint8_t config[CFG_LEN];
	struct vq_seg segs[VIN_SEGS];
	unsigned int buttons;     /* as last reported to the driver */
	uint64_t dropped;         /* batches the driver had no buffers for */
};

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	put_le16(p, (uint16_t)v);
	put_le16(p + 2, (uint16_t)(v >> 16));
}

static void set_bit(uint8_t *bitmap, unsigned int bit, unsigned int *size)
{
	bitmap[bit / 8] |= (uint8_t)(1u << (bit % 8));
	if (bit / 8 + 1 > *size)
		*size = bit / 8 + 1;
}

/* Fill size and the union for the current select/subsel (5.8.4). */
static void vin_config_update(struct vin *v)
{
	uint8_t *u = v->config + CFG_U;
	unsigned int size = 0;
	uint8_t sel = v->config[CFG_SELECT], sub = v->config[CFG_SUBSEL];

	memset(u, 0, CFG_U_LEN);
	switch (sel) {
	case CFG_ID_NAME:
		if (!sub) {
			size = sizeof(TABLET_NAME) - 1;
			memcpy(u, TABLET_NAME, size);
		}
		break;
	case CFG_ID_SERIAL:
		if (!sub) {
			size = sizeof(TABLET_SERIAL) - 1;
			memcpy(u, TABLET_SERIAL, size);
		}
		break;
	case CFG_ID_DEVIDS:
		if (!sub) {
			put_le16(u, BUS_VIRTUAL);
			put_le16(u + 2, VIRTIO_PCI_VENDOR_ID);
			put_le16(u + 4, VIRTIO_PCI_DEVICE_BASE + VIRTIO_ID_INPUT);
			put_le16(u + 6, 1);
			size = 8;
		}
		break;
	case CFG_EV_BITS:
		if (sub == EV_KEY) {
			set_bit(u, BTN_LEFT, &size);
			set_bit(u, BTN_RIGHT, &size);
			set_bit(u, BTN_MIDDLE, &size);
		} else if (sub == EV_REL) {
			set_bit(u, REL_WHEEL, &size);
		} else if (sub == EV_ABS) {
			set_bit(u, ABS_X, &size);
			set_bit(u, ABS_Y, &size);
		}
		break;
	case CFG_ABS_INFO:
		if (sub == ABS_X || sub == ABS_Y) {
			put_le32(u, 0);                 /* min */
			put_le32(u + 4, INPUT_ABS_MAX); /* max */
			/* fuzz, flat, res: 0 */
			size = 20;
		}
		break;
	default:   /* CFG_UNSET, CFG_PROP_BITS (none) and unknown selectors */
		break;
	}
	v->config[CFG_SIZE] = (uint8_t)size;
}

/* ---- transport callbacks (device lock held) ---- */

static void vin_config_write(struct virtio_pci *vp, unsigned int off, uint64_t val,
			     unsigned int size)
{
	struct vin *v = vp->opaque;

	/* Only select and subsel are the driver's to write (5.8.4). */
	for (unsigned int i = 0; i < size; i++) {
		if (off + i == CFG_SELECT || off + i == CFG_SUBSEL)
			v->config[off + i] = (uint8_t)(val >> (8 * i));
	}
	vin_config_update(v);
}

/* statusq: what the driver says (LEDs) means nothing to a tablet; give the buffers back. */
static void vin_status(struct vin *v)
{
	struct virtio_pci *vp = &v->vp;
	unsigned int done = 0;
	struct vq_req req;
	struct io_req io;

	io_req_init(&io);
	vq_req_init(&req, v->segs, VIN_SEGS);
	while (done < VIN_QUEUE_SIZE && virtio_pci_pop(vp, Q_STATUS, &req, &io) > 0) {
		virtio_pci_complete(vp, Q_STATUS, &io, req.head, 0);
		done++;
	}
	if (done)
		virtio_pci_notify_used(vp, Q_STATUS);
}

static void vin_notify(struct virtio_pci *vp, unsigned int queue)
{
	/* eventq buffers are taken when events come; statusq ones now. */
	if (queue == Q_STATUS)
		vin_status(vp->opaque);
}

static void vin_driver_ok(struct virtio_pci *vp)
{
	vin_status(vp->opaque);
}

static void vin_reset(struct virtio_pci *vp)
{
	struct vin *v = vp->opaque;

	v->buttons = 0;
	v->config[CFG_SELECT] = v->config[CFG_SUBSEL] = 0;
	vin_config_update(v);
}

static const struct virtio_pci_ops vin_ops = {
	.notify = vin_notify,
	.driver_ok = vin_driver_ok,
	.config_write = vin_config_write,
	.reset = vin_reset,
};

static bool vin_active_locked(const struct vin *v)
{
	return virtio_pci_running(&v->vp) && v->vp.vqs[Q_EVENT].enabled;
}

/*
 * One batch into the eventq: whole, or dropped when the driver has not
 * posted buffers for all of it.  Device lock held.
 */
static bool vin_send_batch(struct vin *v, const uint8_t (*ev)[EVENT_LEN], unsigned int n)
{
	struct virtio_pci *vp = &v->vp;
	struct io_req io[BATCH_MAX];
	uint16_t head[BATCH_MAX];
	struct vq_seg segs[BATCH_MAX][VIN_SEGS];
	unsigned int got = 0;

	while (got < n) {
		struct vq_req req;
		int ret;

		vq_req_init(&req, segs[got], VIN_SEGS);
		io_req_init(&io[got]);
		ret = virtio_pci_pop(vp, Q_EVENT, &req, &io[got]);
		if (ret > 0 && req.in_len < EVENT_LEN) {
			/* 5.8.6.1: the driver posts buffers of at least one event. */
			virtio_pci_unpop(vp, Q_EVENT, &io[got]);
			virtio_pci_set_needs_reset(vp, "event buffer shorter than an event");
			ret = -EPROTO;
		}
		if (ret <= 0) {
			while (got)
				virtio_pci_unpop(vp, Q_EVENT, &io[--got]);
			if (ret == 0)
				v->dropped++;
			return false;
		}
		head[got] = req.head;
		{
			struct vq_iter it;

			vq_iter_in(&it, &req);
			vq_iter_write(&it, ev[got], EVENT_LEN);
		}
		got++;
	}
	for (unsigned int i = 0; i < n; i++)
		virtio_pci_complete(vp, Q_EVENT, &io[i], head[i], EVENT_LEN);
	virtio_pci_notify_used(vp, Q_EVENT);
	return true;
}

static void put_event(uint8_t *e, uint16_t type, uint16_t code, uint32_t value)
{
	put_le16(e, type);
	put_le16(e + 2, code);
	put_le32(e + 4, value);
}

/* ---- the published input (input.h): any thread but a vCPU's ---- */

static void vin_abs(void *opaque, unsigned int x, unsigned int y, int dwheel, unsigned int buttons)
{
	static const struct { unsigned int mask; uint16_t code; } btn[] = {
		{ INPUT_BTN_LEFT, BTN_LEFT }, { INPUT_BTN_RIGHT, BTN_RIGHT },
		{ INPUT_BTN_MIDDLE, BTN_MIDDLE },
	};
	struct device *dev = opaque;
	struct vin *v = dev->priv;
	uint8_t ev[BATCH_MAX][EVENT_LEN];
	unsigned int n = 0;

	if (x > INPUT_ABS_MAX)
		x = INPUT_ABS_MAX;
	if (y > INPUT_ABS_MAX)
		y = INPUT_ABS_MAX;
	pthread_mutex_lock(&dev->lock);
	if (vin_active_locked(v)) {
		put_event(ev[n++], EV_ABS, ABS_X, x);
		put_event(ev[n++], EV_ABS, ABS_Y, y);
		for (unsigned int i = 0; i < 3; i++)
			if ((buttons ^ v->buttons) & btn[i].mask)
				put_event(ev[n++], EV_KEY, btn[i].code, !!(buttons & btn[i].mask));
		if (dwheel)
			put_event(ev[n++], EV_REL, REL_WHEEL, (uint32_t)dwheel);
		put_event(ev[n++], EV_SYN, SYN_REPORT, 0);
		/* A dropped batch leaves the buttons as the driver last saw them. */
		if (vin_send_batch(v, (const uint8_t (*)[EVENT_LEN])ev, n))
			v->buttons = buttons & 7;
	}
	pthread_mutex_unlock(&dev->lock);
}

static bool vin_active(void *opaque)
{
	struct device *dev = opaque;
	bool on;

	pthread_mutex_lock(&dev->lock);
	on = vin_active_locked(dev->priv);
	pthread_mutex_unlock(&dev->lock);
	return on;
}

static const struct input_ops vin_input = {
	.caps = INPUT_CAP_ABS,
	.abs = vin_abs,
	.active = vin_active,
};

/* ---- the device model ---- */

static int vin_create(struct device *dev, const struct device_args *args)
{
	struct virtio_pci_params p = { 0 };
	struct vin *v = calloc(1, sizeof(*v));
	int ret;

	if (!v)
		return -ENOMEM;
	dev->priv = v;
	v->dev = dev;
	p.device_type = VIRTIO_ID_INPUT;
	p.class_code = PCI_CLASS_INPUT_OTHER;
	p.nr_queues = VIN_NR_QUEUES;
	p.queue_size = VIN_QUEUE_SIZE;
	p.features = 0;   /* 5.8.3: none */
	p.config = v->config;
	p.config_len = CFG_LEN;
	p.pci_slot = args->pci_slot;
	ret = virtio_pci_init(&v->vp, dev, &p, &vin_ops, v);
	if (ret < 0)
		return ret;
	if (dev->host->input_publish)
		dev->host->input_publish(dev->host->input_opaque, &vin_input, dev);
	return 0;
}

static void vin_machine_reset(struct device *dev)
{
	struct vin *v = dev->priv;

	virtio_pci_reset(&v->vp);
}

#define VIN_SAVE_VERSION 1

static int vin_save(struct device *dev, struct sv_writer *w)
{
	struct vin *v = dev->priv;
	int ret = virtio_pci_save(&v->vp, w);

	sv_put_u16(w, VIN_SAVE_VERSION);
	sv_put_u8(w, v->config[CFG_SELECT]);
	sv_put_u8(w, v->config[CFG_SUBSEL]);
	sv_put_u8(w, (uint8_t)v->buttons);
	virtio_pci_resume(&v->vp);
	return ret ? ret : w->failed ? -ENOMEM : 0;
}

static int vin_load(struct device *dev, struct sv_reader *r, uint32_t version)
{
	struct vin *v = dev->priv;
	uint8_t sel, sub, buttons;
	int ret = virtio_pci_load(&v->vp, r);

	if (ret)
		return ret;
	if (sv_get_u16(r) != VIN_SAVE_VERSION)
		return -EINVAL;
	sel = sv_get_u8(r);
	sub = sv_get_u8(r);
	buttons = sv_get_u8(r);
	if (!sv_reader_ok(r, true))
		return -EINVAL;
	v->config[CFG_SELECT] = sel;
	v->config[CFG_SUBSEL] = sub;
	v->buttons = buttons & 7;
	vin_config_update(v);
	return 0;
}

static void vin_destroy(struct device *dev)
{
	struct vin *v = dev->priv;

	if (!v)
		return;
	if (dev->host->input_publish)
		dev->host->input_publish(dev->host->input_opaque, NULL, dev);
	virtio_pci_stop_notifiers(&v->vp);
	virtio_pci_destroy(&v->vp);
	free(v);
}

const struct device_model virtio_input_model = {
	.name = "virtio-input",
	.state_version = 1,
	.create = vin_create,
	.reset = vin_machine_reset,
	.save = vin_save,
	.load = vin_load,
	.destroy = vin_destroy,
};
