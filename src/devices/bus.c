// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "device.h"

void bus_init(struct bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
	pthread_rwlock_init(&bus->lock, NULL);
}

void bus_destroy(struct bus *bus)
{
	free(bus->regions);
	pthread_rwlock_destroy(&bus->lock);
	memset(bus, 0, sizeof(*bus));
}

/* Index of the first region whose end is above @addr (binary search). */
static unsigned int bus_lower_bound(const struct bus *bus, uint64_t addr)
{
	unsigned int lo = 0, hi = bus->nr;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		const struct bus_region *r = &bus->regions[mid];

		if (r->base + (r->len - 1) < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len,
		 const struct io_region_ops *ops, struct device *dev, const char *name)
{
	unsigned int i;
	int ret = 0;

	if (!len || base + (len - 1) < base || !ops)
		return -EINVAL;
	pthread_rwlock_wrlock(&bus->lock);
	i = bus_lower_bound(bus, base);
	if (i < bus->nr && bus->regions[i].base <= base + (len - 1)) {
		ret = -EEXIST;
		goto out;
	}
	if (bus->nr == bus->cap) {
		unsigned int cap = bus->cap ? bus->cap * 2 : 16;
		struct bus_region *nr = realloc(bus->regions, cap * sizeof(*nr));

		if (!nr) {
			ret = -ENOMEM;
			goto out;
		}
		bus->regions = nr;
		bus->cap = cap;
	}
	memmove(&bus->regions[i + 1], &bus->regions[i], (bus->nr - i) * sizeof(bus->regions[0]));
	bus->regions[i] = (struct bus_region){ base, len, ops, dev, name };
	bus->nr++;
out:
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

int bus_unregister(struct bus *bus, uint64_t base)
{
	unsigned int i;
	int ret = -ENOENT;

	pthread_rwlock_wrlock(&bus->lock);
	i = bus_lower_bound(bus, base);
	if (i < bus->nr && bus->regions[i].base == base) {
		memmove(&bus->regions[i], &bus->regions[i + 1],
			(bus->nr - i - 1) * sizeof(bus->regions[0]));
		bus->nr--;
		ret = 0;
	}
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

/*
 * Find the region for an access; an access that starts inside a region but
 * runs past its end is not delivered (a guest's misaligned access must not
 * reach a handler with an offset beyond its region).
 */
static const struct bus_region *bus_find(const struct bus *bus, uint64_t addr, unsigned int size)
{
	unsigned int i = bus_lower_bound(bus, addr);
	const struct bus_region *r;

	if (!size || size > 8 || i >= bus->nr)
		return NULL;
	r = &bus->regions[i];
	if (addr < r->base || addr - r->base > r->len - size || size > r->len)
		return NULL;
	return r;
}

/*
 * The region is looked up under the bus lock, which is dropped before the
 * handler runs: a handler may change the bus itself (a PCI BAR moving)
 * without deadlocking.  Regions are removed only while their device is
 * quiesced, so the copied region stays valid.
 */
static bool bus_lookup(struct bus *bus, uint64_t addr, unsigned int size, struct bus_region *out)
{
	const struct bus_region *r;

	pthread_rwlock_rdlock(&bus->lock);
	r = bus_find(bus, addr, size);
	if (r)
		*out = *r;
	pthread_rwlock_unlock(&bus->lock);
	if (!r)
		__atomic_fetch_add(&bus->unhandled, 1, __ATOMIC_RELAXED);
	return r != NULL;
}

bool bus_read(struct bus *bus, uint64_t addr, void *data, unsigned int size)
{
	struct bus_region r;
	uint64_t v = ~0ULL;
	bool hit = bus_lookup(bus, addr, size, &r) && r.ops->read;

	if (hit) {
		if (r.dev)
			pthread_mutex_lock(&r.dev->lock);
		v = r.ops->read(r.dev, addr - r.base, size);
		if (r.dev)
			pthread_mutex_unlock(&r.dev->lock);
	}
	/* x86 is little-endian: the low bytes of v are the access's bytes. */
	if (size <= 8)
		memcpy(data, &v, size);
	return hit;
}

bool bus_write(struct bus *bus, uint64_t addr, const void *data, unsigned int size)
{
	struct bus_region r;
	uint64_t v = 0;
	bool hit;

	if (size <= 8)
		memcpy(&v, data, size);
	hit = bus_lookup(bus, addr, size, &r) && r.ops->write;
	if (hit) {
		if (r.dev)
			pthread_mutex_lock(&r.dev->lock);
		r.ops->write(r.dev, addr - r.base, v, size);
		if (r.dev)
			pthread_mutex_unlock(&r.dev->lock);
	}
	return hit;
}
