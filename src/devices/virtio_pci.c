// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The modern virtio PCI transport (virtio 1.2, 4.1): capabilities, common
 * configuration (feature negotiation, queue set-up, device status and
 * reset), ISR, notifications and interrupts (MSI-X per queue, else INTx
 * with the ISR byte).
 *
 * The model's dev->priv must point at its struct virtio_pci (embed it as
 * the first member): the BAR handlers find the transport through it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "savestate.h"
#include "virtio_pci.h"

/* struct virtio_pci_cap (4.1.4): after the ID and next pointer. */
#define CAP_LEN_OFF      2
#define CAP_CFG_TYPE     3
#define CAP_BAR          4
#define CAP_ID           5
#define CAP_OFFSET       8
#define CAP_LENGTH       12
#define CAP_SIZE         16
#define NOTIFY_CAP_MULT  16      /* notify_off_multiplier */
#define NOTIFY_CAP_SIZE  20
#define PCI_CFG_DATA     16      /* pci_cfg_data[4] of the PCI_CFG capability */
#define PCI_CFG_CAP_SIZE 20

#define SAVE_VERSION     1

static struct virtio_pci *vp_of(struct device *dev)
{
	return dev->priv;
}

static struct virtqueue *selected_vq(struct virtio_pci *vp)
{
	return vp->queue_select < vp->nr_queues ? &vp->vqs[vp->queue_select] : NULL;
}

static unsigned int nr_vectors(const struct virtio_pci *vp)
{
	return vp->pci.msix.nr_vectors;
}

static void notify_queue(struct virtio_pci *vp, uint64_t q);
static void notifiers_update(struct virtio_pci *vp);

/* ---- interrupts ---- */

/*
 * 4.1.4.5 / 4.1.5.3-4: with MSI-X a queue interrupt is the queue's vector
 * (none if NO_VECTOR); without, the ISR bit is set and INTx asserted until
 * the driver reads the ISR.  The configuration bit is set either way.
 */
static void vp_interrupt(struct virtio_pci *vp, uint16_t vector, uint8_t isr_bit)
{
	if (isr_bit == VIRTIO_ISR_CONFIG)
		vp->isr |= VIRTIO_ISR_CONFIG;
	if (pci_msix_enabled(&vp->pci)) {
		if (vector != VIRTIO_NO_VECTOR)
			pci_msi_notify(&vp->pci, vector);
		return;
	}
	vp->isr |= isr_bit;
	pci_set_irq(&vp->pci, 1);
}

void virtio_pci_notify_used(struct virtio_pci *vp, unsigned int queue)
{
	if (queue >= vp->nr_queues || !(vp->status & VIRTIO_STATUS_DRIVER_OK))
		return;
	if (vq_need_interrupt(&vp->vqs[queue]))
		vp_interrupt(vp, vp->vqs[queue].msix_vector, VIRTIO_ISR_QUEUE);
}

void virtio_pci_config_changed(struct virtio_pci *vp)
{
	vp->config_generation++;
	if (vp->status & VIRTIO_STATUS_DRIVER_OK)
		vp_interrupt(vp, vp->config_vector, VIRTIO_ISR_CONFIG);
}

void virtio_pci_set_needs_reset(struct virtio_pci *vp, const char *why)
{
	if (vp->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	device_log(vp->dev, "driver error: %s; device needs reset", why);
	vp->status |= VIRTIO_STATUS_NEEDS_RESET;
	/* 2.1.2: a device that is live tells the driver by a config change. */
	if (vp->status & VIRTIO_STATUS_DRIVER_OK)
		vp_interrupt(vp, vp->config_vector, VIRTIO_ISR_CONFIG);
}

/* ---- reset ---- */

/* Everything the driver set up goes (4.1.4.3.1); the PCI function stays. */
static void vp_device_reset(struct virtio_pci *vp)
{
	if (vp->ops->reset)
		vp->ops->reset(vp);
	vp->driver_features = 0;
	vp->device_feature_select = vp->driver_feature_select = 0;
	vp->config_vector = VIRTIO_NO_VECTOR;
	vp->status = 0;
	vp->isr = 0;
	vp->queue_select = 0;
	for (unsigned int i = 0; i < vp->nr_queues; i++)
		vq_reset(&vp->vqs[i]);
	pci_set_irq(&vp->pci, 0);
	notifiers_update(vp);   /* no queue is enabled: their ioeventfds go */
}

/*
 * With the device lock held: stop new requests, and cancel (@cancel) or
 * let finish the ones in flight, waiting until none is.  A cancelled
 * request stops at its next IO_CHUNK piece and is never marked used.
 */
static void vp_quiesce(struct virtio_pci *vp, bool cancel)
{
	vp->quiesce = true;
	if (cancel)
		io_inflight_cancel_wait(&vp->inflight);
	else
		io_inflight_wait(&vp->inflight);
}

/*
 * The driver wrote 0 to device_status.  The reset is done when the write
 * returns: requests in flight are cancelled and waited for (at most one
 * piece of image I/O), so none of them writes guest RAM afterwards, and
 * status reads 0 at once (4.1.4.3.2).
 */
static void vp_begin_reset(struct virtio_pci *vp)
{
	vp_quiesce(vp, true);
	vp_device_reset(vp);
	vp->quiesce = false;
}

void virtio_pci_reset(struct virtio_pci *vp)
{
	vp_quiesce(vp, true);
	vp_device_reset(vp);
	pci_function_reset(&vp->pci);
	vp->quiesce = false;
	notifiers_update(vp);
}

/* ---- the I/O thread's side ---- */

bool virtio_pci_running(const struct virtio_pci *vp)
{
	return (vp->status & (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_NEEDS_RESET |
			      VIRTIO_STATUS_FAILED)) == VIRTIO_STATUS_DRIVER_OK &&
	       !vp->quiesce && pci_bus_master(&vp->pci);
}

int virtio_pci_pop(struct virtio_pci *vp, unsigned int queue, struct vq_req *req,
		   struct io_req *io)
{
	struct virtqueue *vq;
	int ret;

	if (queue >= vp->nr_queues || !virtio_pci_running(vp))
		return 0;
	vq = &vp->vqs[queue];
	if (!vq->enabled)
		return 0;
	ret = vq_pop(vq, req);
	if (ret < 0) {
		virtio_pci_set_needs_reset(vp, vq->error);
		return ret;
	}
	if (ret > 0)
		io_req_submit(io, &vp->inflight);
	return ret;
}

void virtio_pci_unpop(struct virtio_pci *vp, unsigned int queue, struct io_req *io)
{
	/* A cancelled request's queue has been reset: nothing to give back. */
	if (io_req_complete(io) && queue < vp->nr_queues)
		vq_unpop(&vp->vqs[queue]);
}

void virtio_pci_complete(struct virtio_pci *vp, unsigned int queue, struct io_req *io,
			 uint16_t head, uint32_t len)
{
	/* A cancelled request's queue has been reset: it is not used. */
	if (io_req_complete(io) && queue < vp->nr_queues)
		vq_push(&vp->vqs[queue], head, len);
}

/* ---- common configuration ---- */

static void put_le(uint8_t *p, uint64_t v, unsigned int size)
{
	for (unsigned int i = 0; i < size; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, unsigned int size)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < size; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* Reads see a snapshot of the structure, so any width and offset work. */
static uint64_t common_read(struct virtio_pci *vp, uint64_t off, unsigned int size)
{
	uint8_t c[VIRTIO_PCI_COMMON_LEN] = { 0 };
	struct virtqueue *vq = selected_vq(vp);
	uint64_t feat = 0;

	if (off >= VIRTIO_PCI_COMMON_LEN || size > VIRTIO_PCI_COMMON_LEN - off)
		return 0;
	if (vp->device_feature_select < 2)
		feat = vp->host_features >> (32 * vp->device_feature_select);
	put_le(c + VIRTIO_PCI_DEVICE_FEATURE_SELECT, vp->device_feature_select, 4);
	put_le(c + VIRTIO_PCI_DEVICE_FEATURE, (uint32_t)feat, 4);
	put_le(c + VIRTIO_PCI_DRIVER_FEATURE_SELECT, vp->driver_feature_select, 4);
	if (vp->driver_feature_select < 2)
		put_le(c + VIRTIO_PCI_DRIVER_FEATURE,
		       (uint32_t)(vp->driver_features >> (32 * vp->driver_feature_select)), 4);
	put_le(c + VIRTIO_PCI_CONFIG_MSIX_VECTOR, vp->config_vector, 2);
	put_le(c + VIRTIO_PCI_NUM_QUEUES, vp->nr_queues, 2);
	c[VIRTIO_PCI_DEVICE_STATUS] = vp->status;
	c[VIRTIO_PCI_CONFIG_GENERATION] = vp->config_generation;
	put_le(c + VIRTIO_PCI_QUEUE_SELECT, vp->queue_select, 2);
	if (vq) {
		/* 4.1.4.3: an unavailable queue reads size 0; the rest too. */
		put_le(c + VIRTIO_PCI_QUEUE_SIZE, vq->size, 2);
		put_le(c + VIRTIO_PCI_QUEUE_MSIX_VECTOR, vq->msix_vector, 2);
		put_le(c + VIRTIO_PCI_QUEUE_ENABLE, vq->enabled, 2);
		put_le(c + VIRTIO_PCI_QUEUE_NOTIFY_OFF, vp->queue_select, 2);
		put_le(c + VIRTIO_PCI_QUEUE_DESC, vq->desc_gpa, 8);
		put_le(c + VIRTIO_PCI_QUEUE_DRIVER, vq->avail_gpa, 8);
		put_le(c + VIRTIO_PCI_QUEUE_DEVICE, vq->used_gpa, 8);
	}
	return get_le(c + off, size);
}

/* A vector the function has, else NO_VECTOR: the driver reads it back to check (4.1.5.1.2). */
static uint16_t valid_vector(const struct virtio_pci *vp, uint64_t v)
{
	return v < nr_vectors(vp) ? (uint16_t)v : VIRTIO_NO_VECTOR;
}

static bool features_acceptable(struct virtio_pci *vp)
{
	if (vp->driver_features & ~vp->host_features) {
		device_log(vp->dev, "driver accepted features 0x%llx the device did not offer",
			   (unsigned long long)(vp->driver_features & ~vp->host_features));
		return false;
	}
	/* No legacy interface: a driver that does not speak 1.x cannot work. */
	if (!(vp->driver_features & (1ULL << VIRTIO_F_VERSION_1))) {
		device_log(vp->dev, "driver did not accept VIRTIO_F_VERSION_1");
		return false;
	}
	return true;
}

static void status_write(struct virtio_pci *vp, uint8_t val)
{
	uint8_t old = vp->status, st;

	if (!val) {
		vp_begin_reset(vp);
		return;
	}
	/* The driver may not clear bits (2.1.1) nor set NEEDS_RESET. */
	st = (uint8_t)(old | (val & ~VIRTIO_STATUS_NEEDS_RESET));
	if ((st & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK) &&
	    !features_acceptable(vp))
		st &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;   /* 3.1.1: the driver re-reads it */
	if ((st & VIRTIO_STATUS_DRIVER_OK) && !(st & VIRTIO_STATUS_FEATURES_OK)) {
		device_log(vp->dev, "DRIVER_OK without FEATURES_OK ignored");
		st &= (uint8_t)~VIRTIO_STATUS_DRIVER_OK;
	}
	vp->status = st;
	if (!(st & VIRTIO_STATUS_DRIVER_OK) || (old & VIRTIO_STATUS_DRIVER_OK))
		return;
	/* A driver that enabled queues before FEATURES_OK (3.1.1 says after)
	 * gets the ring features it finally accepted. */
	for (unsigned int i = 0; i < vp->nr_queues; i++) {
		vp->vqs[i].event_idx = vp->driver_features & (1ULL << VIRTIO_F_EVENT_IDX);
		vp->vqs[i].indirect = vp->driver_features & (1ULL << VIRTIO_F_INDIRECT_DESC);
	}
	if (vp->ops->driver_ok)
		vp->ops->driver_ok(vp);
}

/* Write the low or high half, or all, of a 64-bit field. */
static void write_u64_part(uint64_t *field, uint64_t rel, uint64_t val, unsigned int size)
{
	if (size == 8 && rel == 0)
		*field = val;
	else if (size == 4 && rel == 0)
		*field = (*field & 0xffffffff00000000ULL) | (uint32_t)val;
	else if (size == 4 && rel == 4)
		*field = (*field & 0xffffffffULL) | (uint64_t)(uint32_t)val << 32;
}

static void queue_enable(struct virtio_pci *vp, struct virtqueue *vq)
{
	/* 4.1.4.3.2: only 1 may be written (no VIRTIO_F_RING_RESET). */
	if (vq->enabled)
		return;
	vq->enabled = true;
	if (vq_start(vq, vp->dev->host->mem, vp->driver_features))
		virtio_pci_set_needs_reset(vp, vq->error);
	notifiers_update(vp);
}

static void common_write(struct virtio_pci *vp, uint64_t off, uint64_t val, unsigned int size)
{
	struct virtqueue *vq = selected_vq(vp);
	bool ok = true;

	/* 4.1.3.1: each field is written with its natural width (64-bit ones in halves too). */
	switch (off) {
	case VIRTIO_PCI_DEVICE_FEATURE_SELECT:
		ok = size == 4;
		if (ok)
			vp->device_feature_select = (uint32_t)val;
		break;
	case VIRTIO_PCI_DRIVER_FEATURE_SELECT:
		ok = size == 4;
		if (ok)
			vp->driver_feature_select = (uint32_t)val;
		break;
	case VIRTIO_PCI_DRIVER_FEATURE:
		ok = size == 4;
		/* Frozen once FEATURES_OK is set (3.1.1 step 5). */
		if (ok && vp->driver_feature_select < 2 &&
		    !(vp->status & VIRTIO_STATUS_FEATURES_OK)) {
			unsigned int sh = 32 * vp->driver_feature_select;

			vp->driver_features = (vp->driver_features & ~(0xffffffffULL << sh)) |
					      (uint64_t)(uint32_t)val << sh;
		}
		break;
	case VIRTIO_PCI_CONFIG_MSIX_VECTOR:
		ok = size == 2;
		if (ok)
			vp->config_vector = valid_vector(vp, val);
		break;
	case VIRTIO_PCI_DEVICE_STATUS:
		ok = size == 1;
		if (ok)
			status_write(vp, (uint8_t)val);
		break;
	case VIRTIO_PCI_QUEUE_SELECT:
		ok = size == 2;
		if (ok)
			vp->queue_select = (uint16_t)val;
		break;
	case VIRTIO_PCI_QUEUE_SIZE:
		ok = size == 2;
		/* Checked when the queue is enabled; fixed once it is. */
		if (ok && vq && !vq->enabled)
			vq->size = (uint16_t)val;
		break;
	case VIRTIO_PCI_QUEUE_MSIX_VECTOR:
		ok = size == 2;
		if (ok && vq)
			vq->msix_vector = valid_vector(vp, val);
		break;
	case VIRTIO_PCI_QUEUE_ENABLE:
		ok = size == 2;
		if (ok && vq && val == 1)
			queue_enable(vp, vq);
		break;
	case VIRTIO_PCI_QUEUE_DESC: case VIRTIO_PCI_QUEUE_DESC + 4:
	case VIRTIO_PCI_QUEUE_DRIVER: case VIRTIO_PCI_QUEUE_DRIVER + 4:
	case VIRTIO_PCI_QUEUE_DEVICE: case VIRTIO_PCI_QUEUE_DEVICE + 4: {
		uint64_t base = off & ~7ULL, rel = off & 7;
		uint64_t *field;

		ok = size == 8 ? rel == 0 : size == 4;
		if (!ok || !vq || vq->enabled)
			break;
		field = base == VIRTIO_PCI_QUEUE_DESC ? &vq->desc_gpa :
			base == VIRTIO_PCI_QUEUE_DRIVER ? &vq->avail_gpa : &vq->used_gpa;
		write_u64_part(field, rel, val, size);
		break;
	}
	default:
		/* device_feature, num_queues, config_generation, queue_notify_off: read-only */
		break;
	}
	if (!ok)
		device_log(vp->dev, "common config write of %u bytes at 0x%llx ignored", size,
			   (unsigned long long)off);
}

/* ---- ISR, device configuration, notifications ---- */

static uint8_t isr_read(struct virtio_pci *vp)
{
	uint8_t v = vp->isr;

	/* 4.1.4.5: reading clears the ISR and de-asserts the interrupt. */
	vp->isr = 0;
	pci_set_irq(&vp->pci, 0);
	return v;
}

static uint64_t device_cfg_read(struct virtio_pci *vp, uint64_t off, unsigned int size)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < size; i++)
		if (off + i < vp->config_len)
			v |= (uint64_t)vp->config[off + i] << (8 * i);
	return v;
}

/* Queue @q was notified (a trapped write, or its ioeventfd); device lock held. */
static void notify_queue(struct virtio_pci *vp, uint64_t q)
{
	if (q >= vp->nr_queues || !vp->vqs[q].enabled) {
		device_log(vp->dev, "notification for queue %llu that is not enabled",
			   (unsigned long long)q);
		return;
	}
	if (vp->ops->notify)
		vp->ops->notify(vp, (unsigned int)q);
}

static void notify_write(struct virtio_pci *vp, uint64_t off)
{
	/* The address names the queue (queue_notify_off = index); the value is not needed. */
	notify_queue(vp, off / VIRTIO_PCI_NOTIFY_MULT);
}

/* ---- notifiers: ioeventfds on the notification registers ---- */

/*
 * Each queue's notification register is an ioeventfd while the queue is
 * enabled and BAR4 decodes (mapped, memory space on), at the address the
 * BAR has now.  The guest's write then wakes the event loop, which calls
 * notify_queue() with the device lock held, as a trapped write would;
 * the trapped path stays for hosts without ioeventfds, for writes of
 * other widths and for the moments before an ioeventfd is registered.
 *
 * Width: without VIRTIO_F_NOTIFICATION_DATA (not offered) the driver
 * writes the queue's 16-bit index (4.1.4.4; Linux's vp_notify does an
 * iowrite16), so the ioeventfd takes 2-byte writes.
 *
 * Registering and unregistering happens on the loop thread (the
 * notifier_sync timer, armed with a deadline in the past), never where
 * the change is noticed: that is always under the device lock (a common
 * configuration write, a PCI configuration write moving the BAR or
 * turning decoding off, a reset, a load), and an ioevent must not be
 * freed under the lock its callback takes (host_loop.h), which the
 * callback may be waiting for at that moment.  The sync frees the stale
 * ones before it adds new ones, so an address that comes back (a reset
 * and re-enable, a BAR moved away and back) is free again in the kernel.
 * Until the loop has run, the old address still ends in an ioeventfd:
 * its notify finds the queue disabled and drops it, exactly as a trapped
 * write would, and the new address traps to the same notify_queue().
 *
 * notifiers[q].ev and .addr change only on the loop thread (the sync) and
 * under the device lock; everyone else reads them under the lock.
 */
#define NOTIFY_WIDTH  2

struct vp_notifier {
	struct virtio_pci *vp;
	unsigned int queue;
	struct host_ioevent *ev;    /* registered at addr, or NULL */
	uint64_t addr;
	uint64_t refused;           /* registering there failed: not asked again */
};

/* Where queue @q's ioeventfd should be now; 0 = nowhere (a BAR at 0 never decodes). */
static uint64_t notifier_wanted(const struct virtio_pci *vp, unsigned int q)
{
	const struct pci_bar *b = &vp->pci.bars[VIRTIO_PCI_BAR];

	if (vp->no_ioeventfd || !vp->vqs[q].enabled || !b->mapped)
		return 0;
	return b->mapped_addr + VIRTIO_PCI_NOTIFY_OFF + (uint64_t)q * VIRTIO_PCI_NOTIFY_MULT;
}

static bool notifier_stale(const struct virtio_pci *vp, unsigned int q)
{
	const struct vp_notifier *n = &vp->notifiers[q];
	uint64_t want = notifier_wanted(vp, q);

	if (n->ev)
		return n->addr != want;
	return want && want != n->refused;
}

/* Device lock held: if a queue's ioeventfd is not where it should be, have the loop fix it. */
static void notifiers_update(struct virtio_pci *vp)
{
	if (!vp->notifier_sync || !vp->notifiers)
		return;
	for (unsigned int q = 0; q < vp->nr_queues; q++) {
		if (notifier_stale(vp, q)) {
			host_timer_arm(vp->notifier_sync, 0, 0);
			return;
		}
	}
}

/* An ioeventfd fired: loop thread, device lock held. */
static void notifier_fired(void *opaque)
{
	struct vp_notifier *n = opaque;

	notify_queue(n->vp, n->queue);
}

/* The notifier_sync timer: loop thread, no lock held (see above). */
static void notifiers_sync(void *opaque)
{
	struct virtio_pci *vp = opaque;
	struct device *dev = vp->dev;
	struct host_ioevent *old[VIRTIO_PCI_MAX_QUEUES] = { 0 };
	struct host_ioevent *add[VIRTIO_PCI_MAX_QUEUES] = { 0 };
	uint64_t want[VIRTIO_PCI_MAX_QUEUES];
	int err[VIRTIO_PCI_MAX_QUEUES] = { 0 };
	unsigned int nq;

	pthread_mutex_lock(&dev->lock);
	nq = vp->nr_queues;
	for (unsigned int q = 0; q < nq; q++) {
		struct vp_notifier *n = &vp->notifiers[q];

		want[q] = notifier_wanted(vp, q);
		if (n->ev && n->addr != want[q]) {
			old[q] = n->ev;
			n->ev = NULL;
		}
	}
	pthread_mutex_unlock(&dev->lock);

	/* Stale ones first: a new one may want the address an old one holds. */
	for (unsigned int q = 0; q < nq; q++)
		host_ioevent_free(old[q]);
	for (unsigned int q = 0; q < nq; q++) {
		struct vp_notifier *n = &vp->notifiers[q];

		if (!want[q] || n->ev || want[q] == n->refused)
			continue;
		add[q] = host_ioevent_new(DEV_LOOP(dev->host), false, want[q], NOTIFY_WIDTH,
					  &dev->lock, notifier_fired, n);
		if (!add[q])
			err[q] = errno;
	}

	pthread_mutex_lock(&dev->lock);
	for (unsigned int q = 0; q < nq; q++) {
		struct vp_notifier *n = &vp->notifiers[q];

		if (add[q]) {
			n->ev = add[q];
			n->addr = want[q];
			n->refused = 0;
		} else if (err[q] == ENOSYS) {
			vp->no_ioeventfd = true;   /* the host has none: trap, as before */
		} else if (err[q]) {
			device_log(dev, "no ioeventfd for queue %u at 0x%llx (%s): notifications trap",
				   q, (unsigned long long)want[q], strerror(err[q]));
			n->refused = want[q];
		}
	}
	/* The guest may have moved on while the lock was dropped. */
	notifiers_update(vp);
	pthread_mutex_unlock(&dev->lock);
}

void virtio_pci_stop_notifiers(struct virtio_pci *vp)
{
	/* The timer first: its free waits for a sync that may be running. */
	host_timer_free(vp->notifier_sync);
	vp->notifier_sync = NULL;
	if (!vp->notifiers)
		return;
	for (unsigned int q = 0; q < vp->nr_queues; q++) {
		host_ioevent_free(vp->notifiers[q].ev);
		vp->notifiers[q].ev = NULL;
	}
	free(vp->notifiers);
	vp->notifiers = NULL;
}

static uint64_t vp_bar_read(struct device *dev, uint64_t off, unsigned int size)
{
	struct virtio_pci *vp = vp_of(dev);
	uint64_t rel = off % VIRTIO_PCI_REGION_SIZE;

	switch (off / VIRTIO_PCI_REGION_SIZE) {
	case VIRTIO_PCI_COMMON_OFF / VIRTIO_PCI_REGION_SIZE:
		return common_read(vp, rel, size);
	case VIRTIO_PCI_ISR_OFF / VIRTIO_PCI_REGION_SIZE:
		return rel == 0 ? isr_read(vp) : 0;
	case VIRTIO_PCI_DEVICE_OFF / VIRTIO_PCI_REGION_SIZE:
		return device_cfg_read(vp, rel, size);
	default:
		return 0;   /* notifications are write-only */
	}
}

static void vp_bar_write(struct device *dev, uint64_t off, uint64_t val, unsigned int size)
{
	struct virtio_pci *vp = vp_of(dev);
	uint64_t rel = off % VIRTIO_PCI_REGION_SIZE;

	switch (off / VIRTIO_PCI_REGION_SIZE) {
	case VIRTIO_PCI_COMMON_OFF / VIRTIO_PCI_REGION_SIZE:
		common_write(vp, rel, val, size);
		break;
	case VIRTIO_PCI_DEVICE_OFF / VIRTIO_PCI_REGION_SIZE:
		if (vp->ops->config_write && rel < vp->config_len)
			vp->ops->config_write(vp, (unsigned int)rel, val, size);
		break;
	case VIRTIO_PCI_NOTIFY_OFF / VIRTIO_PCI_REGION_SIZE:
		notify_write(vp, rel);
		break;
	default:
		break;   /* the ISR is read-only */
	}
}

static const struct io_region_ops vp_bar_ops = { vp_bar_read, vp_bar_write };

/* ---- the PCI configuration access capability (4.1.4.9) ---- */

/*
 * A window into the BARs through configuration space, for firmware that
 * cannot reach a BAR directly: the driver sets bar, offset and length,
 * then reads or writes pci_cfg_data.  Only naturally aligned 1/2/4-byte
 * accesses within BAR4 do anything.
 */
static bool pci_cfg_window(struct virtio_pci *vp, uint32_t *off, unsigned int *len)
{
	const uint8_t *c = vp->pci.config + vp->cfg_cap;

	*off = (uint32_t)get_le(c + CAP_OFFSET, 4);
	*len = (unsigned int)get_le(c + CAP_LENGTH, 4);
	return c[CAP_BAR] == VIRTIO_PCI_BAR && (*len == 1 || *len == 2 || *len == 4) &&
	       !(*off & (*len - 1)) && *off < VIRTIO_PCI_BAR_SIZE;
}

static bool hits_cfg_data(const struct virtio_pci *vp, unsigned int off, unsigned int size)
{
	unsigned int data = vp->cfg_cap + PCI_CFG_DATA;

	return off < data + 4 && data < off + size;
}

static uint32_t vp_config_read(struct pci_function *f, unsigned int off, uint32_t val,
			       unsigned int size)
{
	struct virtio_pci *vp = vp_of(f->dev);
	unsigned int len;
	uint32_t woff;
	uint8_t *data = f->config + vp->cfg_cap + PCI_CFG_DATA;

	if (!vp->cfg_cap || !hits_cfg_data(vp, off, size) || !pci_cfg_window(vp, &woff, &len))
		return val;
	put_le(data, vp_bar_read(f->dev, woff, len), len);
	return (uint32_t)get_le(f->config + off, size);
}

static void vp_config_write(struct pci_function *f, unsigned int off, uint32_t val,
			    unsigned int size)
{
	struct virtio_pci *vp = vp_of(f->dev);
	unsigned int len;
	uint32_t woff;

	/* The core has (re)mapped the BARs: BAR4 may have moved or stopped decoding. */
	notifiers_update(vp);
	if (!vp->cfg_cap || !hits_cfg_data(vp, off, size) || !pci_cfg_window(vp, &woff, &len))
		return;
	vp_bar_write(f->dev, woff, get_le(f->config + vp->cfg_cap + PCI_CFG_DATA, len), len);
}

/* ---- set-up ---- */

static int add_vendor_cap(struct pci_function *f, uint8_t type, unsigned int cap_len,
			  uint8_t bar, uint32_t offset, uint32_t length)
{
	int cap = pci_function_add_capability(f, PCI_CAP_ID_VNDR, cap_len);

	if (cap < 0)
		return cap;
	f->config[cap + CAP_LEN_OFF] = (uint8_t)cap_len;
	f->config[cap + CAP_CFG_TYPE] = type;
	f->config[cap + CAP_BAR] = bar;
	put_le(f->config + cap + CAP_OFFSET, offset, 4);
	put_le(f->config + cap + CAP_LENGTH, length, 4);
	return cap;
}

int virtio_pci_init(struct virtio_pci *vp, struct device *dev, const struct virtio_pci_params *p,
		    const struct virtio_pci_ops *ops, void *opaque)
{
	struct pci_function *f = &vp->pci;
	int cap, ret;

	if (!dev->host->pci)
		return -ENODEV;
	if (!p->nr_queues || p->nr_queues > VIRTIO_PCI_MAX_QUEUES || !p->queue_size ||
	    (p->queue_size & (p->queue_size - 1)) || p->queue_size > VIRTQ_MAX_SIZE ||
	    p->config_len > VIRTIO_PCI_REGION_SIZE)
		return -EINVAL;
	memset(vp, 0, sizeof(*vp));
	vp->dev = dev;
	vp->ops = ops;
	vp->opaque = opaque;
	vp->device_type = p->device_type;
	vp->host_features = p->features | (1ULL << VIRTIO_F_VERSION_1) |
			    (1ULL << VIRTIO_F_INDIRECT_DESC) | (1ULL << VIRTIO_F_EVENT_IDX);
	vp->config = p->config;
	vp->config_len = p->config_len;
	vp->nr_queues = p->nr_queues;
	vp->config_vector = VIRTIO_NO_VECTOR;
	io_inflight_init(&vp->inflight, &dev->lock);
	vp->vqs = calloc(p->nr_queues, sizeof(*vp->vqs));
	if (!vp->vqs)
		return -ENOMEM;
	for (unsigned int i = 0; i < p->nr_queues; i++)
		vq_init(&vp->vqs[i], p->queue_size);
	vp->notifiers = calloc(p->nr_queues, sizeof(*vp->notifiers));
	if (!vp->notifiers) {
		ret = -ENOMEM;
		goto fail;
	}
	for (unsigned int i = 0; i < p->nr_queues; i++)
		vp->notifiers[i] = (struct vp_notifier){ .vp = vp, .queue = i };
	/* No loop (or no timers): no ioeventfds, every notification traps. */
	vp->notifier_sync = host_timer_new(DEV_LOOP(dev->host), NULL, notifiers_sync, vp);

	/* 4.1.2.1: modern ID, revision 1; the subsystem ID names the device type. */
	pci_function_init(f, dev, VIRTIO_PCI_VENDOR_ID,
			  (uint16_t)(VIRTIO_PCI_DEVICE_BASE + p->device_type), p->class_code,
			  VIRTIO_PCI_REVISION, VIRTIO_PCI_VENDOR_ID, p->device_type);
	pci_function_set_intx_pin(f, 1);
	ret = pci_function_add_bar(f, VIRTIO_PCI_BAR, PCI_BAR_MEM64, VIRTIO_PCI_BAR_SIZE,
				   &vp_bar_ops);
	if (ret < 0)
		goto fail;
	ret = add_vendor_cap(f, VIRTIO_PCI_CAP_COMMON_CFG, CAP_SIZE, VIRTIO_PCI_BAR,
			     VIRTIO_PCI_COMMON_OFF, VIRTIO_PCI_COMMON_LEN);
	if (ret >= 0)
		ret = add_vendor_cap(f, VIRTIO_PCI_CAP_ISR_CFG, CAP_SIZE, VIRTIO_PCI_BAR,
				     VIRTIO_PCI_ISR_OFF, 1);
	if (ret >= 0 && p->config_len)
		ret = add_vendor_cap(f, VIRTIO_PCI_CAP_DEVICE_CFG, CAP_SIZE, VIRTIO_PCI_BAR,
				     VIRTIO_PCI_DEVICE_OFF, p->config_len);
	if (ret >= 0) {
		ret = cap = add_vendor_cap(f, VIRTIO_PCI_CAP_NOTIFY_CFG, NOTIFY_CAP_SIZE,
					   VIRTIO_PCI_BAR, VIRTIO_PCI_NOTIFY_OFF,
					   p->nr_queues * VIRTIO_PCI_NOTIFY_MULT);
		if (cap >= 0)
			put_le(f->config + cap + NOTIFY_CAP_MULT, VIRTIO_PCI_NOTIFY_MULT, 4);
	}
	if (ret >= 0) {
		/* 4.1.4.9: bar, offset, length and data are the driver's to write. */
		ret = cap = add_vendor_cap(f, VIRTIO_PCI_CAP_PCI_CFG, PCI_CFG_CAP_SIZE, 0, 0, 0);
		if (cap >= 0) {
			vp->cfg_cap = (uint8_t)cap;
			f->wmask[cap + CAP_BAR] = 0xff;
			memset(f->wmask + cap + CAP_OFFSET, 0xff, 8 + 4);
			f->config_read = vp_config_read;
			f->config_write = vp_config_write;
		}
	}
	if (ret >= 0)
		ret = pci_function_add_msix(f, p->nr_queues + 1, VIRTIO_PCI_MSIX_BAR);
	if (ret >= 0)
		ret = pci_bus_attach(dev->host->pci, f, p->pci_slot > 0 ? p->pci_slot : -1, 0);
	if (ret < 0)
		goto fail;
	return 0;

fail:
	virtio_pci_stop_notifiers(vp);
	pci_bus_detach(f);
	free(vp->vqs);
	vp->vqs = NULL;
	io_inflight_destroy(&vp->inflight);
	return ret;
}

void virtio_pci_destroy(struct virtio_pci *vp)
{
	if (!vp->vqs)
		return;   /* never initialised */
	virtio_pci_stop_notifiers(vp);
	pci_bus_detach(&vp->pci);
	free(vp->vqs);
	vp->vqs = NULL;
	io_inflight_destroy(&vp->inflight);
}

/* ---- save / load ---- */

int virtio_pci_save(struct virtio_pci *vp, struct sv_writer *w)
{
	int ret;

	/* Requests in flight would be lost: let them finish; the model resumes. */
	vp_quiesce(vp, false);
	ret = pci_function_save(&vp->pci, w);
	if (ret)
		return ret;
	sv_put_u16(w, SAVE_VERSION);
	sv_put_u64(w, vp->driver_features);
	sv_put_u32(w, vp->device_feature_select);
	sv_put_u32(w, vp->driver_feature_select);
	sv_put_u16(w, vp->config_vector);
	sv_put_u8(w, vp->status);
	sv_put_u8(w, vp->config_generation);
	sv_put_u8(w, vp->isr);
	sv_put_u16(w, vp->queue_select);
	sv_put_u16(w, (uint16_t)vp->nr_queues);
	for (unsigned int i = 0; i < vp->nr_queues; i++) {
		const struct virtqueue *vq = &vp->vqs[i];

		sv_put_u16(w, vq->size);
		sv_put_u8(w, vq->enabled);
		sv_put_u64(w, vq->desc_gpa);
		sv_put_u64(w, vq->avail_gpa);
		sv_put_u64(w, vq->used_gpa);
		sv_put_u16(w, vq->msix_vector);
		sv_put_u16(w, vq->last_avail_idx);
		sv_put_u16(w, vq->used_idx);
		sv_put_u16(w, vq->signalled_used);
		sv_put_u8(w, vq->signalled_valid);
	}
	return w->failed ? -ENOMEM : 0;
}

void virtio_pci_resume(struct virtio_pci *vp)
{
	vp->quiesce = false;
}

int virtio_pci_load(struct virtio_pci *vp, struct sv_reader *r)
{
	struct virtqueue *vqs;
	uint64_t drv;
	uint32_t dsel, gsel;
	uint16_t cvec, qsel;
	uint8_t status, gen, isr;
	int ret;

	/* What runs now belongs to the state being replaced. */
	vp_quiesce(vp, true);
	ret = pci_function_load(&vp->pci, r);
	if (ret)
		goto out;
	ret = -EINVAL;
	if (sv_get_u16(r) != SAVE_VERSION)
		goto out;
	drv = sv_get_u64(r);
	dsel = sv_get_u32(r);
	gsel = sv_get_u32(r);
	cvec = sv_get_u16(r);
	status = sv_get_u8(r);
	gen = sv_get_u8(r);
	isr = sv_get_u8(r);
	qsel = sv_get_u16(r);
	/*
	 * Offered features only once they are in use (FEATURES_OK): before
	 * that the driver may have written any bits, the device refuses them
	 * at FEATURES_OK, and a snapshot taken meanwhile must still load.
	 */
	if (sv_get_u16(r) != vp->nr_queues || !sv_reader_ok(r, false) ||
	    ((drv & ~vp->host_features) && (status & VIRTIO_STATUS_FEATURES_OK)) ||
	    (isr & ~(VIRTIO_ISR_QUEUE | VIRTIO_ISR_CONFIG)))
		goto out;
	vqs = calloc(vp->nr_queues, sizeof(*vqs));
	if (!vqs) {
		ret = -ENOMEM;
		goto out;
	}
	for (unsigned int i = 0; i < vp->nr_queues; i++) {
		struct virtqueue *vq = &vqs[i];

		vq_init(vq, vp->vqs[i].max_size);
		vq->size = sv_get_u16(r);
		vq->enabled = sv_get_u8(r) != 0;
		vq->desc_gpa = sv_get_u64(r);
		vq->avail_gpa = sv_get_u64(r);
		vq->used_gpa = sv_get_u64(r);
		vq->msix_vector = valid_vector(vp, sv_get_u16(r));
		vq->last_avail_idx = sv_get_u16(r);
		vq->used_idx = sv_get_u16(r);
		vq->signalled_used = sv_get_u16(r);
		vq->signalled_valid = sv_get_u8(r) != 0;
	}
	if (!sv_reader_ok(r, false)) {
		free(vqs);
		goto out;
	}
	memcpy(vp->vqs, vqs, vp->nr_queues * sizeof(*vqs));
	free(vqs);
	vp->driver_features = drv;
	vp->device_feature_select = dsel;
	vp->driver_feature_select = gsel;
	vp->config_vector = valid_vector(vp, cvec);
	vp->status = status;
	vp->config_generation = gen;
	vp->isr = isr;
	vp->queue_select = qsel;
	/* Map the rings again in this machine's RAM; a bad ring is the driver's error. */
	for (unsigned int i = 0; i < vp->nr_queues; i++)
		if (vp->vqs[i].enabled && vq_start(&vp->vqs[i], vp->dev->host->mem, drv))
			virtio_pci_set_needs_reset(vp, vp->vqs[i].error);
	ret = 0;
out:
	vp->quiesce = false;
	notifiers_update(vp);
	return ret;
}
