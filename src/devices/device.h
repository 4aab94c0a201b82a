/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one interface every device model implements.
 *
 * A model (struct device_model) is a table of callbacks; an instance
 * (struct device) carries the model, a private state pointer and a lock.
 * Models are listed in the explicit registry (registry.c).  A model never
 * includes KVM headers: it reaches the machine only through struct
 * dev_host (buses, guest memory, interrupt lines, host services).
 */
#ifndef HUTCH_DEVICE_H
#define HUTCH_DEVICE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"
#include "guest_mem.h"
#include "host_loop.h"
#include "host_mem.h"
#include "irq.h"
#include "savestate.h"

struct device;
struct display_ops;
struct input_ops;
struct pci_bus;
struct blk_image;
struct net_backend;

/*
 * What the machine offers a device.  Filled by the VMM (or the unit-test
 * fake machine) before devices are created.
 */
struct dev_host {
	struct bus *pio;
	struct bus *mmio;
	struct guest_mem *mem;
	const struct irq_chip_ops *irq_ops;
	void *irq_opaque;
	/* Machine-level requests a device may raise (reset line, S5). */
	void (*request_reset)(void *opaque);
	void (*request_poweroff)(void *opaque);
	void *req_opaque;
	/* Host clock in ns (CLOCK_REALTIME / CLOCK_MONOTONIC); tests fake it. */
	int64_t (*clock_realtime_ns)(void *opaque);
	int64_t (*clock_monotonic_ns)(void *opaque);
	void *clock_opaque;
	/* PCI bus 0 (pci.h); NULL on machines without PCI. */
	struct pci_bus *pci;
	/* Deliver a message-signalled interrupt (KVM_SIGNAL_MSI). */
	void (*signal_msi)(void *opaque, uint64_t addr, uint32_t data);
	void *msi_opaque;
	/* The event loop (host_loop.h): timers, fd watches, ioeventfd, irqfd.
	 * NULL on hosts that offer none; devices then poll and trap as before. */
	const struct host_loop_ops *loop_ops;
	void *loop;
	/* Device memory beside RAM (host_mem.h): framebuffers, ROMs.  NULL if
	 * the host offers none. */
	const struct host_mem_ops *memregion_ops;
	void *memregion_opaque;
	/* A display device publishes its screen here (display.h) in create()
	 * and withdraws it (NULL ops) in destroy().  NULL: nobody looks. */
	void (*display_publish)(void *opaque, const struct display_ops *ops, void *dev_opaque);
	void *display_opaque;
	/* An input device publishes each input (input.h) in create() and
	 * withdraws them (NULL ops, the same dev_opaque) in destroy().
	 * NULL: nobody sends input. */
	void (*input_publish)(void *opaque, const struct input_ops *ops, void *dev_opaque);
	void *input_opaque;
	/*
	 * The host bridge's PAM registers changed (i440FX config 0x59-0x5F,
	 * @pam[0] = PAM0): the machine remaps 0xC0000-0xFFFFF between RAM
	 * and the BIOS ROM accordingly.  Called under the bridge's lock; it
	 * never calls back into a device.  NULL: nothing to remap.
	 */
	void (*pam_changed)(void *opaque, const uint8_t pam[7]);
	void *pam_opaque;
};

/* Convenience for models: the host's loop services for @h. */
#define DEV_LOOP(h) (h)->loop_ops, (h)->loop

/* One drive on a storage controller (AHCI port, IDE position, virtio-blk). */
struct drive_args {
	struct blk_image *img;  /* opened by the VMM; NULL = CD/DVD drive without media */
	bool cdrom;             /* ATAPI CD/DVD drive (read-only, 2048-byte sectors) */
	bool readonly;
	unsigned int port;      /* AHCI port; IDE: channel * 2 + unit; virtio: 0 */
	char serial[21];        /* IDENTIFY / get-id serial number; "" = made up */
};

/* Per-instance settings handed to create(): a small key=value bag. */
struct device_args {
	uint64_t base;        /* I/O port or MMIO base, 0 = model default */
	uint32_t gsi;         /* interrupt line, 0 = model default */
	int out_fd;           /* output back end (serial), -1 = none */
	int in_fd;            /* input back end (serial), -1 = none */
	uint64_t out_limit;   /* serial: bytes of output at most (a file's cap), 0 = unlimited */
	int pci_slot;         /* PCI slot, 0 = the lowest free one */
	const struct drive_args *drives; /* storage controllers: their drives */
	unsigned int nr_drives;
	unsigned int nr_queues; /* virtio: request queues, 0 = model default */
	uint64_t vram_size;     /* display: bytes of VRAM, 0 = model default */
	struct net_backend *net; /* NIC: its back end (net.h), made by the VMM */
	uint8_t mac[6];         /* NIC: its MAC address */
};

struct device_model {
	const char *name;          /* "uart16550", "rtc", ... */
	uint32_t state_version;    /* bumped whenever save()'s layout changes */
	/* Allocate private state, register regions on host->pio/mmio. 0 or -errno. */
	int (*create)(struct device *dev, const struct device_args *args);
	/* Power-on / reset state.  Called with dev->lock held. */
	void (*reset)(struct device *dev);
	/* Append state; called with dev->lock held. 0 or -errno. */
	int (*save)(struct device *dev, struct sv_writer *w);
	/* Restore state written by @version of save(); -EINVAL on bad data. */
	int (*load)(struct device *dev, struct sv_reader *r, uint32_t version);
	/* Free private state (regions are dropped by device_destroy). */
	void (*destroy)(struct device *dev);
};

struct device {
	const struct device_model *model;
	char id[32];               /* instance name, e.g. "com1" */
	struct dev_host *host;
	void *priv;
	pthread_mutex_t lock;
};

/* The registry: models by name.  NULL if unknown. */
const struct device_model *device_model_find(const char *name);
/* NULL-terminated table of all models (for listings and tests). */
extern const struct device_model *const device_models[];

/* Create an instance of @model; NULL with errno set on failure. */
struct device *device_create(const struct device_model *model, const char *id,
			     struct dev_host *host, const struct device_args *args);
void device_reset(struct device *dev);
int device_save(struct device *dev, struct sv_writer *w);
int device_load(struct device *dev, struct sv_reader *r, uint32_t version);
/* Unregister the device's regions from both buses and free it. */
void device_destroy(struct device *dev);

/* Convenience for models: an interrupt line on the host's chip. */
static inline struct irq_line device_irq_line(const struct device *dev, uint32_t gsi)
{
	struct irq_line l = { dev->host->irq_ops, dev->host->irq_opaque, gsi };
	return l;
}

/* Rate-limited device log: a guest's mistake is logged, not fatal. */
void device_log(struct device *dev, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
