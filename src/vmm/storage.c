// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "machine.h"
#include "storage.h"

/* Give drives without port= the lowest free position; refuse two on one. */
static int assign_ports(struct drive_args *args, struct drive_spec *const *specs, unsigned int n,
			unsigned int max, const char *bus, char *err, size_t errlen)
{
	bool used[AHCI_MAX_PORTS] = { false };

	for (unsigned int i = 0; i < n; i++) {
		if (specs[i]->port < 0)
			continue;
		if (used[specs[i]->port]) {
			snprintf(err, errlen, "two drives on %s port %d", bus, specs[i]->port);
			return -EINVAL;
		}
		used[specs[i]->port] = true;
		args[i].port = (unsigned int)specs[i]->port;
	}
	for (unsigned int i = 0; i < n; i++) {
		unsigned int p = 0;

		if (specs[i]->port >= 0)
			continue;
		while (p < max && used[p])
			p++;
		if (p == max) {
			snprintf(err, errlen, "too many %s drives (at most %u)", bus, max);
			return -ENOSPC;
		}
		used[p] = true;
		args[i].port = p;
	}
	return 0;
}

static int add_controller(struct machine *m, const char *model, const char *id,
			  const struct drive_args *drives, unsigned int n, char *err, size_t errlen)
{
	const struct device_model *dm = device_model_find(model);
	struct device_args args = { .out_fd = -1, .in_fd = -1, .drives = drives, .nr_drives = n };
	struct device *dev;
	int ret;

	if (!dm) {
		snprintf(err, errlen, "%s drives are not supported yet (no %s device model)", id, model);
		return -ENOTSUP;
	}
	if (m->nr_storage_devs == MAX_STORAGE_DEVS) {
		snprintf(err, errlen, "too many storage controllers (at most %d)", MAX_STORAGE_DEVS);
		return -ENOSPC;
	}
	dev = device_create(dm, id, &m->host, &args);
	if (!dev) {
		snprintf(err, errlen, "cannot create %s: %s", id, strerror(errno));
		ret = errno ? -errno : -EIO;
		return ret;
	}
	m->storage_devs[m->nr_storage_devs++] = dev;
	return 0;
}

/* Remember where each drive ended up (the firmware's boot order names it). */
static void note_drives(struct machine *m, struct drive_spec *const *specs,
			const struct drive_args *args, unsigned int n)
{
	struct device *ctrl = m->storage_devs[m->nr_storage_devs - 1];

	for (unsigned int i = 0; i < n; i++) {
		size_t idx = (size_t)(specs[i] - m->cfg.drives);

		m->drive_ctrl[idx] = ctrl;
		m->drive_port[idx] = args[i].port;
	}
}

int machine_add_storage(struct machine *m, char *err, size_t errlen)
{
	struct drive_args args[MAX_DRIVES];
	struct drive_spec *by_bus[3][MAX_DRIVES];
	struct drive_args bus_args[3][MAX_DRIVES];
	unsigned int nr[3] = { 0, 0, 0 };
	const struct drive_spec *specs = m->cfg.drives;
	int ret;

	if (m->cfg.nr_drives > MAX_DRIVES) {
		snprintf(err, errlen, "too many drives (at most %d)", MAX_DRIVES);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < m->cfg.nr_drives; i++) {
		const struct drive_spec *d = &specs[i];
		char berr[BLK_ERR_MAX];
		unsigned int flags = (d->cdrom || d->readonly) ? BLK_RDONLY : 0;

		memset(&args[i], 0, sizeof(args[i]));
		args[i].cdrom = d->cdrom;
		args[i].readonly = d->cdrom || d->readonly;
		snprintf(args[i].serial, sizeof(args[i].serial), "HUTCH%c%02u",
			 d->cdrom ? 'C' : 'D', i);
		if (d->file) {
			/* An ISO is raw data; probing could mistake its contents for a header. */
			const char *fmt = d->format ? d->format : d->cdrom ? "raw" : NULL;

			ret = blk_open(d->file, fmt, flags | (d->nocache ? BLK_NOCACHE : 0),
				       &m->drive_imgs[i], berr, sizeof(berr));
			/*
			 * A file system without O_DIRECT (tmpfs) cannot turn the host
			 * cache off; QEMU refuses to start then, Hutch says so and
			 * uses the cache: the setting is VirtualBox's default for SATA,
			 * and a VM that ran yesterday should still start.
			 */
			if (ret == -EINVAL && d->nocache) {
				fprintf(stderr, "hutch-vm: warning: %s\n", berr);
				ret = blk_open(d->file, fmt, flags, &m->drive_imgs[i], berr, sizeof(berr));
			}
			if (ret) {
				snprintf(err, errlen, "--drive %s: %s", d->file, berr);
				return ret;
			}
			m->nr_drive_imgs = i + 1;
			if ((d->l2_cache_size || d->refcount_cache_size) &&
			    blk_set_cache_size(m->drive_imgs[i], d->l2_cache_size,
					       d->refcount_cache_size) < 0) {
				snprintf(err, errlen, "--drive %s: %s", d->file,
					 blk_last_error(m->drive_imgs[i]));
				return -EINVAL;
			}
			m->nr_drive_imgs = i + 1;
		}
		args[i].img = m->drive_imgs[i];
		by_bus[d->bus][nr[d->bus]] = (struct drive_spec *)d;
		bus_args[d->bus][nr[d->bus]++] = args[i];
	}

	/* virtio: one device per drive, in command-line order. */
	for (unsigned int i = 0; i < nr[DRIVE_BUS_VIRTIO]; i++) {
		char id[32];

		snprintf(id, sizeof(id), "virtio-blk%u", i);
		ret = add_controller(m, "virtio-blk", id, &bus_args[DRIVE_BUS_VIRTIO][i], 1, err, errlen);
		if (ret)
			return ret;
		note_drives(m, &by_bus[DRIVE_BUS_VIRTIO][i], &bus_args[DRIVE_BUS_VIRTIO][i], 1);
	}
	if (nr[DRIVE_BUS_SATA]) {
		ret = assign_ports(bus_args[DRIVE_BUS_SATA], by_bus[DRIVE_BUS_SATA], nr[DRIVE_BUS_SATA],
				   AHCI_MAX_PORTS, "sata", err, errlen);
		if (!ret)
			ret = add_controller(m, "ahci", "sata", bus_args[DRIVE_BUS_SATA],
					     nr[DRIVE_BUS_SATA], err, errlen);
		if (ret)
			return ret;
		note_drives(m, by_bus[DRIVE_BUS_SATA], bus_args[DRIVE_BUS_SATA], nr[DRIVE_BUS_SATA]);
	}
	if (nr[DRIVE_BUS_IDE]) {
		ret = assign_ports(bus_args[DRIVE_BUS_IDE], by_bus[DRIVE_BUS_IDE], nr[DRIVE_BUS_IDE],
				   IDE_MAX_DRIVES, "ide", err, errlen);
		if (!ret)
			ret = add_controller(m, "piix3-ide", "ide", bus_args[DRIVE_BUS_IDE],
					     nr[DRIVE_BUS_IDE], err, errlen);
		if (ret)
			return ret;
		note_drives(m, by_bus[DRIVE_BUS_IDE], bus_args[DRIVE_BUS_IDE], nr[DRIVE_BUS_IDE]);
	}
	return 0;
}

void machine_remove_storage(struct machine *m)
{
	while (m->nr_storage_devs)
		device_destroy(m->storage_devs[--m->nr_storage_devs]);
	for (unsigned int i = 0; i < m->nr_drive_imgs; i++) {
		if (m->drive_imgs[i])
			blk_close(m->drive_imgs[i]);
		m->drive_imgs[i] = NULL;
	}
	m->nr_drive_imgs = 0;
}
