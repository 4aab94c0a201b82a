/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The modern virtio-over-PCI transport (virtio 1.2, section 4.1), shared
 * by every virtio device model.  No legacy (0.9.5) interface.
 *
 * A model embeds struct virtio_pci in its state, calls virtio_pci_init()
 * from create() and serves its queues on an I/O thread:
 *
 *   lock(dev)
 *   while (virtio_pci_running(vp) && virtio_pci_pop(vp, q, &req, &io) > 0) {
 *           unlock(dev); ...the I/O on req's segments, in IO_CHUNK pieces,
 *           stopping when io_req_cancelled(&io)...; lock(dev)
 *           virtio_pci_complete(vp, q, &io, req.head, written);
 *   }
 *   virtio_pci_notify_used(vp, q);
 *   unlock(dev)
 *
 * Popped-but-not-completed requests are in flight (struct io_inflight,
 * io_worker.h): a device reset (the driver writing status 0, or the
 * machine) cancels them and waits until they have stopped, a snapshot
 * waits for them to finish.  No DMA into guest RAM happens after the
 * reset returned, and a reset waits for one piece of I/O, not a whole
 * request.
 *
 * Layout: vendor 0x1af4, device 0x1040 + type, revision 1; BAR1 holds the
 * MSI-X table (one vector per queue plus one for configuration changes);
 * BAR4 (64-bit memory, 16 KiB) holds the common configuration at 0x0000,
 * the ISR byte at 0x1000, the device-specific configuration at 0x2000 and
 * the notification registers at 0x3000 (4 bytes apart per queue), each
 * described by a vendor capability, plus the PCI configuration access
 * capability (4.1.4.9).
 *
 * Where the host offers ioeventfds, each enabled queue's notification
 * register is one while BAR4 decodes: the driver's write wakes the event
 * loop, which calls ops->notify, without a vCPU exit to userspace.
 * Interrupts go through the PCI core's irqfds (pci.h).
 */
#ifndef HUTCH_VIRTIO_PCI_H
#define HUTCH_VIRTIO_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "device.h"
#include "io_worker.h"
#include "pci.h"
#include "virtqueue.h"

#define VIRTIO_PCI_VENDOR_ID    0x1af4
#define VIRTIO_PCI_DEVICE_BASE  0x1040   /* 4.1.2.1: 0x1040 + device type */
#define VIRTIO_PCI_REVISION     1        /* 4.1.2.1: modern devices have revision >= 1 */

/* Device status bits (2.1) */
#define VIRTIO_STATUS_ACKNOWLEDGE  0x01
#define VIRTIO_STATUS_DRIVER       0x02
#define VIRTIO_STATUS_DRIVER_OK    0x04
#define VIRTIO_STATUS_FEATURES_OK  0x08
#define VIRTIO_STATUS_NEEDS_RESET  0x40
#define VIRTIO_STATUS_FAILED       0x80

/* Transport feature bits (6) */
#define VIRTIO_F_VERSION_1      32

/* ISR status bits (4.1.4.5) */
#define VIRTIO_ISR_QUEUE        0x1
#define VIRTIO_ISR_CONFIG       0x2

/* Vendor capability types (4.1.4) */
#define VIRTIO_PCI_CAP_COMMON_CFG  1
#define VIRTIO_PCI_CAP_NOTIFY_CFG  2
#define VIRTIO_PCI_CAP_ISR_CFG     3
#define VIRTIO_PCI_CAP_DEVICE_CFG  4
#define VIRTIO_PCI_CAP_PCI_CFG     5

/* Where the structures live in BAR4. */
#define VIRTIO_PCI_BAR             4
#define VIRTIO_PCI_MSIX_BAR        1
#define VIRTIO_PCI_BAR_SIZE        0x4000
#define VIRTIO_PCI_COMMON_OFF      0x0000
#define VIRTIO_PCI_ISR_OFF         0x1000
#define VIRTIO_PCI_DEVICE_OFF      0x2000
#define VIRTIO_PCI_NOTIFY_OFF      0x3000
#define VIRTIO_PCI_REGION_SIZE     0x1000
#define VIRTIO_PCI_NOTIFY_MULT     4        /* notify_off_multiplier */

/* Common configuration structure (4.1.4.3), offsets in its region. */
#define VIRTIO_PCI_DEVICE_FEATURE_SELECT 0x00
#define VIRTIO_PCI_DEVICE_FEATURE        0x04
#define VIRTIO_PCI_DRIVER_FEATURE_SELECT 0x08
#define VIRTIO_PCI_DRIVER_FEATURE        0x0c
#define VIRTIO_PCI_CONFIG_MSIX_VECTOR    0x10
#define VIRTIO_PCI_NUM_QUEUES            0x12
#define VIRTIO_PCI_DEVICE_STATUS         0x14
#define VIRTIO_PCI_CONFIG_GENERATION     0x15
#define VIRTIO_PCI_QUEUE_SELECT          0x16
#define VIRTIO_PCI_QUEUE_SIZE            0x18
#define VIRTIO_PCI_QUEUE_MSIX_VECTOR     0x1a
#define VIRTIO_PCI_QUEUE_ENABLE          0x1c
#define VIRTIO_PCI_QUEUE_NOTIFY_OFF      0x1e
#define VIRTIO_PCI_QUEUE_DESC            0x20
#define VIRTIO_PCI_QUEUE_DRIVER          0x28
#define VIRTIO_PCI_QUEUE_DEVICE          0x30
#define VIRTIO_PCI_COMMON_LEN            0x38

#define VIRTIO_PCI_MAX_QUEUES      64

struct virtio_pci;
struct vp_notifier;

/* What a device model plugs into the transport.  All called with the device lock held. */
struct virtio_pci_ops {
	/* The driver notified @queue (on a vCPU thread, or on the event loop's
	 * when it came through an ioeventfd): kick the I/O thread, nothing more. */
	void (*notify)(struct virtio_pci *vp, unsigned int queue);
	/* The driver set DRIVER_OK: buffers may already be waiting.  Optional. */
	void (*driver_ok)(struct virtio_pci *vp);
	/* A write to the device-specific configuration.  Optional (else ignored). */
	void (*config_write)(struct virtio_pci *vp, unsigned int off, uint64_t val,
			     unsigned int size);
	/* The device is being reset (no request is in flight).  Optional. */
	void (*reset)(struct virtio_pci *vp);
};

struct virtio_pci_params {
	uint16_t device_type;       /* 5: 2 = block */
	uint32_t class_code;        /* PCI class << 16 | subclass << 8 | prog-if */
	unsigned int nr_queues;     /* 1 .. VIRTIO_PCI_MAX_QUEUES */
	uint16_t queue_size;        /* maximum entries per queue, a power of two */
	uint64_t features;          /* device-type features; the transport adds its own */
	uint8_t *config;            /* device-specific configuration, owned by the model */
	unsigned int config_len;    /* <= VIRTIO_PCI_REGION_SIZE */
	int pci_slot;               /* -1 = first free */
};

struct virtio_pci {
	struct pci_function pci;
	struct device *dev;
	const struct virtio_pci_ops *ops;
	void *opaque;               /* the model's */

	uint16_t device_type;
	uint64_t host_features;
	uint64_t driver_features;
	uint32_t device_feature_select;
	uint32_t driver_feature_select;
	uint16_t config_vector;
	uint8_t status;
	uint8_t config_generation;
	uint8_t isr;
	uint16_t queue_select;
	unsigned int nr_queues;
	struct virtqueue *vqs;

	uint8_t *config;
	unsigned int config_len;
	uint8_t cfg_cap;            /* offset of the PCI_CFG capability */

	/* Requests popped and not completed; resets cancel them, snapshots wait. */
	struct io_inflight inflight;
	bool quiesce;               /* a reset / snapshot waiting: pop nothing */

	/* Notifications through ioeventfds (virtio_pci.c, "Notifiers"). */
	struct vp_notifier *notifiers;      /* one per queue */
	struct host_timer *notifier_sync;   /* applies changes on the loop thread */
	bool no_ioeventfd;                  /* the host has none: trapped writes only */
};

/*
 * Set up the PCI function, its BARs and capabilities and attach it to the
 * host's PCI bus.  0 or -errno (-ENODEV without a PCI bus).
 */
int virtio_pci_init(struct virtio_pci *vp, struct device *dev, const struct virtio_pci_params *p,
		    const struct virtio_pci_ops *ops, void *opaque);
/*
 * Before the model stops its I/O thread (destroy, without the device
 * lock): unregister the ioeventfds, so no notification reaches
 * ops->notify afterwards.  virtio_pci_destroy does it too.
 */
void virtio_pci_stop_notifiers(struct virtio_pci *vp);
/* Detach and free.  The model has stopped its I/O thread. */
void virtio_pci_destroy(struct virtio_pci *vp);

/* Machine reset (device lock held): waits for in-flight requests, then
 * resets the device and its PCI function. */
void virtio_pci_reset(struct virtio_pci *vp);

/* May the I/O thread take requests now? (DRIVER_OK, no NEEDS_RESET, bus master, ...) */
bool virtio_pci_running(const struct virtio_pci *vp);
/*
 * Take the next request of @queue: 1 (in flight as @io until
 * virtio_pci_complete), 0 if none, or -EPROTO after marking the device
 * NEEDS_RESET for a malformed ring.
 */
int virtio_pci_pop(struct virtio_pci *vp, unsigned int queue, struct vq_req *req,
		   struct io_req *io);
/*
 * Give back the request of @queue popped last, unused (a receive buffer
 * the frame at hand does not fit yet): it is no longer in flight and the
 * next pop returns it again.  Requests go back in the reverse order of
 * their pops, the device lock held since.
 */
void virtio_pci_unpop(struct virtio_pci *vp, unsigned int queue, struct io_req *io);
/* Hand a request back as used (or drop it if a reset cancelled it). */
void virtio_pci_complete(struct virtio_pci *vp, unsigned int queue, struct io_req *io,
			 uint16_t head, uint32_t len);
/* After completions: interrupt the driver if it wants one (EVENT_IDX, flags). */
void virtio_pci_notify_used(struct virtio_pci *vp, unsigned int queue);

/* The device hit a driver error: set NEEDS_RESET, tell the driver (2.1.2). */
void virtio_pci_set_needs_reset(struct virtio_pci *vp, const char *why);
/* The device-specific configuration changed: new generation, config interrupt. */
void virtio_pci_config_changed(struct virtio_pci *vp);

/* Snapshot: waits for in-flight requests, then writes transport + queue state. */
int virtio_pci_save(struct virtio_pci *vp, struct sv_writer *w);
int virtio_pci_load(struct virtio_pci *vp, struct sv_reader *r);
/* After a save: let the I/O thread go on (the model kicks it). */
void virtio_pci_resume(struct virtio_pci *vp);

#endif
