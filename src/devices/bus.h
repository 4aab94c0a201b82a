/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * An address space of device regions: the port I/O bus or the MMIO bus.
 *
 * A device registers [base, base+len) with handlers that receive the
 * *offset* within the region.  Overlapping registrations are refused.
 * Dispatch takes the owning device's lock around the handler, so a
 * device's registers are never entered by two vCPUs at once.
 */
#ifndef HUTCH_BUS_H
#define HUTCH_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct device;

struct io_region_ops {
	/* size is 1, 2, 4 or 8; return the value zero-extended */
	uint64_t (*read)(struct device *dev, uint64_t offset, unsigned int size);
	void (*write)(struct device *dev, uint64_t offset, uint64_t value, unsigned int size);
};

struct bus_region {
	uint64_t base;
	uint64_t len;
	const struct io_region_ops *ops;
	struct device *dev;
	const char *name;
};

struct bus {
	const char *name;        /* "pio" or "mmio", for messages */
	struct bus_region *regions; /* sorted by base, never overlapping */
	unsigned int nr, cap;
	pthread_rwlock_t lock;   /* registrations may change at run time (PCI BARs) */
	uint64_t unhandled;      /* accesses that hit no region */
};

void bus_init(struct bus *bus, const char *name);
void bus_destroy(struct bus *bus);

/* 0, -EINVAL (empty or wrapping range), -EEXIST (overlap), -ENOMEM */
int bus_register(struct bus *bus, uint64_t base, uint64_t len,
		 const struct io_region_ops *ops, struct device *dev, const char *name);
/* 0 or -ENOENT */
int bus_unregister(struct bus *bus, uint64_t base);

/*
 * Dispatch an access.  Returns true if a region handled it.  An access
 * that hits no region reads as all-ones (like an open ISA/PCI bus) and
 * ignores writes.
 */
bool bus_read(struct bus *bus, uint64_t addr, void *data, unsigned int size);
bool bus_write(struct bus *bus, uint64_t addr, const void *data, unsigned int size);

#endif
