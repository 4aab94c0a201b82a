// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "firmware.h"

static const char *const boot_class_names[BOOT_NR_CLASSES] = {
	[BOOT_FLOPPY] = "floppy", [BOOT_DVD] = "dvd", [BOOT_DISK] = "disk", [BOOT_NET] = "net",
};

int boot_order_parse(const char *list, enum boot_class order[BOOT_NR_CLASSES], unsigned int *n,
		     char *err, size_t errlen)
{
	const char *p = list;

	*n = 0;
	if (!*list || !strcmp(list, "none"))
		return 0;
	for (;;) {
		size_t len = strcspn(p, ",");
		int found = -1;

		for (int c = 0; c < BOOT_NR_CLASSES; c++)
			if (strlen(boot_class_names[c]) == len && !strncmp(p, boot_class_names[c], len))
				found = c;
		if (found < 0) {
			snprintf(err, errlen, "--boot '%s': '%.*s' is not floppy, dvd, disk or net",
				 list, (int)(len > 32 ? 32 : len), p);
			return -EINVAL;
		}
		for (unsigned int i = 0; i < *n; i++) {
			if (order[i] == (enum boot_class)found) {
				snprintf(err, errlen, "--boot '%s': '%s' is listed twice", list,
					 boot_class_names[found]);
				return -EINVAL;
			}
		}
		order[(*n)++] = (enum boot_class)found;
		if (!p[len])
			return 0;
		p += len + 1;
	}
}

/*
 * The paths SeaBIOS builds (src/boot.c: build_pci_path, build_ata_path)
 * and matches against each line, with a wildcard (W) for the device's name:
 *   ATA (AHCI port n; IDE channel c, unit u): /pci@i0cf8/W@S[,F]/drive@n/disk@0
 *                                             /pci@i0cf8/W@S[,F]/drive@c/disk@u
 *   virtio-blk (a PCI device of its own):      /pci@i0cf8/W@S[,F]
 *   a NIC's option ROM (bootprio_find_pci_rom): /pci@i0cf8/W@S[,F] (a prefix match)
 * The names here are QEMU's, for anyone reading the file.
 */
static int drive_path(const struct boot_drive *d, char *out, size_t outlen)
{
	char pci[32];
	const char *name = d->nic ? "ethernet" : d->bus == DRIVE_BUS_VIRTIO ? "scsi" :
			   d->bus == DRIVE_BUS_SATA ? "sata" : "ide";

	if (d->pci_func)
		snprintf(pci, sizeof(pci), "/pci@i0cf8/%s@%x,%x", name, d->pci_slot, d->pci_func);
	else
		snprintf(pci, sizeof(pci), "/pci@i0cf8/%s@%x", name, d->pci_slot);
	if (d->nic)
		return snprintf(out, outlen, "%s\n", pci);
	switch (d->bus) {
	case DRIVE_BUS_VIRTIO:
		return snprintf(out, outlen, "%s/disk@0,0\n", pci);
	case DRIVE_BUS_SATA:
		return snprintf(out, outlen, "%s/drive@%x/disk@0\n", pci, d->port);
	case DRIVE_BUS_IDE:
		return snprintf(out, outlen, "%s/drive@%x/disk@%x\n", pci, d->port / 2, d->port % 2);
	}
	return 0;
}

int bootorder_build(const enum boot_class *order, unsigned int n, const struct boot_drive *drives,
		    unsigned int nr_drives, char *out, size_t outlen)
{
	size_t len = 0;
	int w;

	for (unsigned int i = 0; i < n; i++) {
		/* No floppy controller: that class has no devices. */
		if (order[i] == BOOT_FLOPPY)
			continue;
		for (unsigned int j = 0; j < nr_drives; j++) {
			if (drives[j].nic != (order[i] == BOOT_NET))
				continue;
			if (!drives[j].nic && !drives[j].cdrom != (order[i] == BOOT_DISK))
				continue;
			w = drive_path(&drives[j], out + len, outlen - len);
			if (w < 0 || (size_t)w >= outlen - len)
				return -ENOSPC;
			len += (size_t)w;
		}
	}
	/* Unlisted devices come after HALT: never booted, as in VirtualBox. */
	w = snprintf(out + len, outlen - len, "HALT");
	if (w < 0 || (size_t)w >= outlen - len)
		return -ENOSPC;
	return (int)(len + (size_t)w);
}

int firmware_check_rom_size(const char *path, uint64_t size, char *err, size_t errlen)
{
	if (!size || size % FIRMWARE_ROM_UNIT || size > FIRMWARE_ROM_MAX) {
		snprintf(err, errlen, "--bios %s: %llu bytes: a BIOS image must be a non-empty "
			 "multiple of 64 KiB, at most 16 MiB", path, (unsigned long long)size);
		return -EINVAL;
	}
	return 0;
}

int firmware_load_rom(const char *path, uint8_t **rom, uint64_t *size, char *err, size_t errlen)
{
	struct stat st;
	uint8_t *buf;
	size_t done = 0;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		ret = -errno;
		snprintf(err, errlen, "--bios %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return ret;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "--bios %s: not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	ret = firmware_check_rom_size(path, (uint64_t)st.st_size, err, errlen);
	if (ret) {
		close(fd);
		return ret;
	}
	buf = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		   -1, 0);
	if (buf == MAP_FAILED) {
		snprintf(err, errlen, "--bios %s: %s", path, strerror(errno));
		close(fd);
		return -ENOMEM;
	}
	while (done < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + done, (size_t)st.st_size - done);

		if (r <= 0) {
			snprintf(err, errlen, "--bios %s: %s", path,
				 r < 0 ? strerror(errno) : "the file shrank while being read");
			munmap(buf, (size_t)st.st_size);
			close(fd);
			return -EIO;
		}
		done += (size_t)r;
	}
	close(fd);
	*rom = buf;
	*size = (uint64_t)st.st_size;
	return 0;
}

void firmware_free_rom(uint8_t *rom, uint64_t size)
{
	if (rom)
		munmap(rom, (size_t)size);
}

void firmware_e820(const struct ram_layout *layout, uint64_t kvm_private_gpa,
		   uint64_t kvm_private_size, struct e820_map *map)
{
	map->nr = 0;
	map->entries[map->nr++] = (struct e820_entry){ 0, layout->low_size, E820_RAM };
	map->entries[map->nr++] = (struct e820_entry){ kvm_private_gpa, kvm_private_size,
						       E820_RESERVED };
	if (layout->high_size)
		map->entries[map->nr++] = (struct e820_entry){ HIGH_RAM_START, layout->high_size,
							       E820_RAM };
}
