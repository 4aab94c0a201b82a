// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "device.h"

const struct device_model *device_model_find(const char *name)
{
	for (unsigned int i = 0; device_models[i]; i++)
		if (!strcmp(device_models[i]->name, name))
			return device_models[i];
	return NULL;
}

struct device *device_create(const struct device_model *model, const char *id,
			     struct dev_host *host, const struct device_args *args)
{
	struct device *dev = calloc(1, sizeof(*dev));
	int ret;

	if (!dev)
		return NULL;
	dev->model = model;
	dev->host = host;
	snprintf(dev->id, sizeof(dev->id), "%s", id ? id : model->name);
	pthread_mutex_init(&dev->lock, NULL);
	ret = model->create(dev, args);
	if (ret < 0) {
		device_destroy(dev);
		errno = -ret;
		return NULL;
	}
	device_reset(dev);
	return dev;
}

void device_reset(struct device *dev)
{
	pthread_mutex_lock(&dev->lock);
	if (dev->model->reset)
		dev->model->reset(dev);
	pthread_mutex_unlock(&dev->lock);
}

int device_save(struct device *dev, struct sv_writer *w)
{
	int ret = 0;

	pthread_mutex_lock(&dev->lock);
	if (dev->model->save)
		ret = dev->model->save(dev, w);
	pthread_mutex_unlock(&dev->lock);
	return ret ? ret : (w->failed ? -ENOMEM : 0);
}

int device_load(struct device *dev, struct sv_reader *r, uint32_t version)
{
	int ret = -ENOTSUP;

	if (version > dev->model->state_version)
		return -EINVAL; /* saved by a newer Hutch */
	pthread_mutex_lock(&dev->lock);
	if (dev->model->load)
		ret = dev->model->load(dev, r, version);
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

/* Drop every region @dev owns on @bus. */
static void device_unregister_all(struct bus *bus, struct device *dev)
{
	if (!bus)
		return;
	for (;;) {
		uint64_t base = 0;
		int found = 0;

		pthread_rwlock_rdlock(&bus->lock);
		for (unsigned int i = 0; i < bus->nr; i++) {
			if (bus->regions[i].dev == dev) {
				base = bus->regions[i].base;
				found = 1;
				break;
			}
		}
		pthread_rwlock_unlock(&bus->lock);
		if (!found)
			return;
		bus_unregister(bus, base);
	}
}

void device_destroy(struct device *dev)
{
	if (!dev)
		return;
	if (dev->host) {
		device_unregister_all(dev->host->pio, dev);
		device_unregister_all(dev->host->mmio, dev);
	}
	if (dev->model->destroy)
		dev->model->destroy(dev);
	pthread_mutex_destroy(&dev->lock);
	free(dev);
}

/*
 * At most 10 messages per device per second: a guest hammering a bad
 * register must not flood the log or slow the vCPU down.
 */
void device_log(struct device *dev, const char *fmt, ...)
{
	static __thread time_t window;
	static __thread unsigned int count;
	struct timespec ts;
	va_list ap;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (ts.tv_sec != window) {
		window = ts.tv_sec;
		count = 0;
	}
	if (++count > 10)
		return;
	fprintf(stderr, "hutch-vm: %s: ", dev ? dev->id : "?");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
