// SPDX-License-Identifier: GPL-2.0-or-later
/* The --drive spec (drive_spec.h): its parser and its writer, side by side. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "drive_spec.h"
#include "spec_item.h"

static const char *const format_names[] = { "raw", "qcow2", "vdi", "vmdk", NULL };

const char *drive_format_name(const char *format)
{
	size_t i;

	for (i = 0; format && format_names[i]; i++)
		if (!strcasecmp(format, format_names[i]))
			return format_names[i];
	return NULL;
}

const char *drive_bus_name(enum drive_bus bus)
{
	switch (bus) {
	case DRIVE_BUS_VIRTIO: return "virtio";
	case DRIVE_BUS_SATA: return "sata";
	case DRIVE_BUS_IDE: return "ide";
	}
	return "?";
}

void drive_spec_free(struct drive_spec *d)
{
	free(d->file);
	free(d->format);
	d->file = d->format = NULL;
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1"))
		*out = true;
	else if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0"))
		*out = false;
	else
		return -EINVAL;
	return 0;
}

static int parse_item(const char *s, const char *key, const char *val, struct drive_spec *d, bool *bus_given,
		      char *err, size_t errlen)
{
	if (!strcmp(key, "file")) {
		free(d->file);
		d->file = *val ? strdup(val) : NULL;
	} else if (!strcmp(key, "format")) {
		/* Exactly the spec's lower-case names: hutch-vm's command line is not a user's. */
		if (!drive_format_name(val) || strcmp(drive_format_name(val), val)) {
			snprintf(err, errlen, "--drive format=%s: expected raw, qcow2, vdi or vmdk", val);
			return -EINVAL;
		}
		free(d->format);
		d->format = strdup(val);
	} else if (!strcmp(key, "if")) {
		*bus_given = true;
		if (!strcmp(val, "virtio")) {
			d->bus = DRIVE_BUS_VIRTIO;
		} else if (!strcmp(val, "sata") || !strcmp(val, "ahci")) {
			d->bus = DRIVE_BUS_SATA;
		} else if (!strcmp(val, "ide")) {
			d->bus = DRIVE_BUS_IDE;
		} else {
			snprintf(err, errlen, "--drive if=%s: expected virtio, sata or ide", val);
			return -EINVAL;
		}
	} else if (!strcmp(key, "media")) {
		if (!strcmp(val, "disk")) {
			d->cdrom = false;
		} else if (!strcmp(val, "cdrom") || !strcmp(val, "dvd")) {
			d->cdrom = true;
		} else {
			snprintf(err, errlen, "--drive media=%s: expected disk or cdrom", val);
			return -EINVAL;
		}
	} else if (!strcmp(key, "readonly")) {
		if (parse_bool(val, &d->readonly)) {
			snprintf(err, errlen, "--drive readonly=%s: expected on or off", val);
			return -EINVAL;
		}
	} else if (!strcmp(key, "port")) {
		char *end;
		long p;

		errno = 0;
		p = strtol(val, &end, 10);
		if (!*val || *end || errno || p < 0 || p >= DRIVE_SATA_PORTS) {
			snprintf(err, errlen, "--drive port=%s: expected a number from 0 to %d", val,
				 DRIVE_SATA_PORTS - 1);
			return -EINVAL;
		}
		d->port = (int)p;
	} else if (!strcmp(key, "hostcache")) {
		bool on;

		if (parse_bool(val, &on)) {
			snprintf(err, errlen, "--drive hostcache=%s: expected on or off", val);
			return -EINVAL;
		}
		d->nocache = !on;
	} else if (!strcmp(key, "l2-cache-size") || !strcmp(key, "refcount-cache-size")) {
		unsigned long long *dst = key[0] == 'l' ? &d->l2_cache_size : &d->refcount_cache_size;
		char *end;

		errno = 0;
		*dst = strtoull(val, &end, 10);
		/* A bound that keeps a typo from asking for terabytes of RAM. */
		if (!*val || *end || errno || *val == '-' || *dst > DRIVE_MAX_CACHE_SIZE) {
			snprintf(err, errlen, "--drive %s=%s: expected a number of bytes up to %llu", key, val,
				 (unsigned long long)DRIVE_MAX_CACHE_SIZE);
			return -EINVAL;
		}
	} else {
		snprintf(err, errlen, "--drive '%s': unknown key '%s' (file, format, if, media, readonly, port, "
			 "hostcache, l2-cache-size, refcount-cache-size)", s, key);
		return -EINVAL;
	}
	return 0;
}

int drive_spec_parse(const char *s, struct drive_spec *d, char *err, size_t errlen)
{
	bool bus_given = false, oom = false;
	size_t pos = 0;
	char *item;
	int ret = 0;

	memset(d, 0, sizeof(*d));
	d->port = -1;
	while (!ret && (item = spec_next_item(s, &pos, &oom))) {
		char *eq = strchr(item, '=');

		if (!eq) {
			snprintf(err, errlen, "--drive '%s': '%s' is not KEY=VALUE", s, item);
			ret = -EINVAL;
		} else {
			*eq = '\0';
			ret = parse_item(s, item, eq + 1, d, &bus_given, err, errlen);
		}
		free(item);
	}
	if (!ret && oom) {
		snprintf(err, errlen, "--drive '%s': %s", s, strerror(ENOMEM));
		ret = -ENOMEM;
	}
	if (!ret && d->file == NULL && !d->cdrom) {
		snprintf(err, errlen, "--drive '%s': a disk needs file=PATH (only media=cdrom may be empty)", s);
		ret = -EINVAL;
	}
	if (!ret && !bus_given)
		d->bus = d->cdrom ? DRIVE_BUS_SATA : DRIVE_BUS_VIRTIO;
	if (!ret && d->cdrom && d->bus == DRIVE_BUS_VIRTIO) {
		snprintf(err, errlen, "--drive '%s': a CD/DVD drive goes on sata or ide, not virtio", s);
		ret = -EINVAL;
	}
	if (!ret && d->cdrom && d->nocache) {
		snprintf(err, errlen, "--drive '%s': hostcache=off is for disks, not CD/DVD drives", s);
		ret = -EINVAL;
	}
	if (!ret && d->port >= 0) {
		int max = d->bus == DRIVE_BUS_IDE ? DRIVE_IDE_PORTS : DRIVE_SATA_PORTS;

		if (d->bus == DRIVE_BUS_VIRTIO) {
			snprintf(err, errlen, "--drive '%s': port= is for sata and ide drives", s);
			ret = -EINVAL;
		} else if (d->port >= max) {
			snprintf(err, errlen, "--drive port=%d: %s has ports 0 to %d", d->port,
				 drive_bus_name(d->bus), max - 1);
			ret = -EINVAL;
		}
	}
	if (ret)
		drive_spec_free(d);
	return ret;
}

char *drive_spec_format(const struct drive_spec *d)
{
	char *file = NULL, *spec = NULL, port[24] = "", cache[96] = "";
	size_t n = 0;
	const char *p;

	if (d->file) {
		file = malloc(2 * strlen(d->file) + 1);
		if (!file)
			return NULL;
		for (p = d->file; *p; p++) {
			if (*p == ',')
				file[n++] = ',';	/* ",," is a comma in the path */
			file[n++] = *p;
		}
		file[n] = '\0';
	}
	if (d->port >= 0)
		snprintf(port, sizeof(port), ",port=%d", d->port);
	/* The cache settings only when not the defaults (the drive reads as before). */
	snprintf(cache, sizeof(cache), "%s", d->nocache ? ",hostcache=off" : "");
	if (d->l2_cache_size)
		snprintf(cache + strlen(cache), sizeof(cache) - strlen(cache), ",l2-cache-size=%llu",
			 d->l2_cache_size);
	if (d->refcount_cache_size)
		snprintf(cache + strlen(cache), sizeof(cache) - strlen(cache), ",refcount-cache-size=%llu",
			 d->refcount_cache_size);
	/* file= goes last: a reader skimming a long command line sees the drive's kind first. */
	if (asprintf(&spec, "if=%s%s,media=%s,readonly=%s%s%s%s%s%s", drive_bus_name(d->bus), port,
		     d->cdrom ? "cdrom" : "disk", d->readonly ? "on" : "off", cache, d->format ? ",format=" : "",
		     d->format ? d->format : "", file ? ",file=" : "", file ? file : "") < 0)
		spec = NULL;
	free(file);
	return spec;
}
