// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot_linux.h"

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p) { return get16(p) | (uint32_t)get16(p + 2) << 16; }
static uint64_t get64(const uint8_t *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }

#define ALIGN_DOWN(x, a) ((x) & ~((uint64_t)(a) - 1))
#define ALIGN_UP(x, a)   ALIGN_DOWN((x) + (a) - 1, a)

int bzimage_parse(const uint8_t *buf, size_t len, struct bzimage *bz, char *err, size_t errlen)
{
	unsigned int sects;

	memset(bz, 0, sizeof(*bz));
	if (len < 0x270 || get16(buf + SETUP_BOOT_FLAG) != 0xaa55 ||
	    memcmp(buf + SETUP_HEADER_MAGIC, "HdrS", 4)) {
		snprintf(err, errlen, "not a Linux bzImage (no boot sector signature or 'HdrS' header)");
		return -EINVAL;
	}
	bz->version = get16(buf + SETUP_VERSION);
	if (bz->version < BOOT_MIN_VERSION) {
		snprintf(err, errlen, "boot protocol %u.%02u is too old (2.12 or newer needed, Linux 3.8+)",
			 bz->version >> 8, bz->version & 0xff);
		return -EINVAL;
	}
	bz->loadflags = buf[SETUP_LOADFLAGS];
	bz->xloadflags = get16(buf + SETUP_XLOADFLAGS);
	if (!(bz->loadflags & LOADFLAG_LOADED_HIGH)) {
		snprintf(err, errlen, "a zImage (loaded low) is not supported; a bzImage is needed");
		return -EINVAL;
	}
	if (!(bz->xloadflags & XLF_KERNEL_64)) {
		snprintf(err, errlen, "kernel has no 64-bit entry point (a 32-bit kernel?)");
		return -EINVAL;
	}
	sects = buf[SETUP_SECTS] ? buf[SETUP_SECTS] : 4;
	bz->setup_size = (size_t)(sects + 1) * 512;
	bz->header_end = SETUP_JUMP + 2 + buf[SETUP_JUMP + 1];
	if (bz->setup_size >= len || bz->header_end > bz->setup_size ||
	    bz->header_end > BOOT_ZERO_PAGE_SIZE) {
		snprintf(err, errlen, "truncated bzImage (setup of %zu bytes, file of %zu)",
			 bz->setup_size, len);
		return -EINVAL;
	}
	bz->relocatable = buf[SETUP_RELOCATABLE];
	bz->initrd_addr_max = get32(buf + SETUP_INITRD_ADDR_MAX);
	bz->cmdline_size = get32(buf + SETUP_CMDLINE_SIZE);
	bz->pref_address = get64(buf + SETUP_PREF_ADDRESS);
	bz->init_size = get32(buf + SETUP_INIT_SIZE);
	bz->image = buf;
	bz->image_len = len;
	if (bz->init_size < len - bz->setup_size) {
		snprintf(err, errlen, "inconsistent bzImage header (init_size %u smaller than the kernel)",
			 bz->init_size);
		return -EINVAL;
	}
	return 0;
}

int linux_plan(const struct bzimage *bz, const struct ram_layout *layout,
	       uint64_t initrd_size, size_t cmdline_len, struct boot_plan *plan,
	       char *err, size_t errlen)
{
	uint64_t kernel_end, top;

	memset(plan, 0, sizeof(*plan));
	if (cmdline_len > BOOT_CMDLINE_MAX || (bz->cmdline_size && cmdline_len > (uint64_t)bz->cmdline_size + 1)) {
		snprintf(err, errlen, "kernel command line of %zu bytes is too long (at most %u)",
			 cmdline_len - 1, bz->cmdline_size);
		return -E2BIG;
	}
	plan->cmdline_len = cmdline_len;
	/* A relocatable kernel prefers pref_address; else the classic 1 MiB. */
	plan->kernel_gpa = bz->relocatable && bz->pref_address >= BIOS_AREA_END ?
			   bz->pref_address : BIOS_AREA_END;
	plan->entry = plan->kernel_gpa + 0x200;
	kernel_end = plan->kernel_gpa + bz->init_size;
	if (kernel_end > layout->low_size) {
		snprintf(err, errlen, "not enough memory for the kernel: it needs %llu MiB, the VM has %llu MiB",
			 (unsigned long long)ALIGN_UP(kernel_end, MiB) / MiB,
			 (unsigned long long)layout->low_size / MiB);
		return -ENOMEM;
	}
	if (!initrd_size)
		return 0;
	/* As high as the kernel allows, so the kernel's own memory stays free. */
	top = layout->low_size;
	if ((uint64_t)bz->initrd_addr_max + 1 < top)
		top = (uint64_t)bz->initrd_addr_max + 1;
	if (initrd_size > top || ALIGN_DOWN(top - initrd_size, 4096) < ALIGN_UP(kernel_end, 4096)) {
		snprintf(err, errlen, "initrd of %llu MiB does not fit in memory beside the kernel",
			 (unsigned long long)ALIGN_UP(initrd_size, MiB) / MiB);
		return -ENOMEM;
	}
	plan->initrd_gpa = ALIGN_DOWN(top - initrd_size, 4096);
	plan->initrd_size = initrd_size;
	return 0;
}

void linux_build_zero_page(uint8_t *zp, const struct bzimage *bz, const struct boot_plan *plan,
			   const struct e820_map *map, uint64_t rsdp_gpa)
{
	memset(zp, 0, BOOT_ZERO_PAGE_SIZE);
	/* The setup header is copied from the image, then the loader's fields set. */
	memcpy(zp + SETUP_SECTS, bz->image + SETUP_SECTS, bz->header_end - SETUP_SECTS);
	zp[SETUP_TYPE_OF_LOADER] = BOOT_LOADER_UNDEFINED;
	zp[SETUP_LOADFLAGS] = (uint8_t)(bz->loadflags | LOADFLAG_CAN_USE_HEAP);
	put16(zp + SETUP_HEAP_END_PTR, 0xfe00);
	put32(zp + SETUP_CMD_LINE_PTR, (uint32_t)BOOT_CMDLINE_GPA);
	put32(zp + SETUP_RAMDISK_IMAGE, (uint32_t)plan->initrd_gpa);
	put32(zp + SETUP_RAMDISK_SIZE, (uint32_t)plan->initrd_size);
	if (bz->version >= 0x020e)
		put64(zp + ZP_ACPI_RSDP_ADDR, rsdp_gpa);
	zp[ZP_E820_ENTRIES] = (uint8_t)map->nr;
	for (unsigned int i = 0; i < map->nr; i++) {
		uint8_t *e = zp + ZP_E820_TABLE + 20 * i;

		put64(e, map->entries[i].addr);
		put64(e + 8, map->entries[i].size);
		put32(e + 16, map->entries[i].type);
	}
}

int linux_build_page_tables(struct guest_mem *gm)
{
	uint64_t *pml4 = gm_slice(gm, BOOT_PML4_GPA, 4096);
	uint64_t *pdpt = gm_slice(gm, BOOT_PDPT_GPA, 4096);
	uint64_t *pd = gm_slice(gm, BOOT_PD_GPA, 4 * 4096);
	uint64_t *gdt = gm_slice(gm, BOOT_GDT_GPA, 6 * 8);

	if (!pml4 || !pdpt || !pd || !gdt)
		return -EFAULT;
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = BOOT_PDPT_GPA | 0x3;               /* present, writable */
	for (unsigned int i = 0; i < 4; i++)
		pdpt[i] = (BOOT_PD_GPA + i * 4096) | 0x3;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | 0x83;             /* present, writable, 2 MiB page */
	/*
	 * Flat GDT: null, null, __BOOT_CS (64-bit code), __BOOT_DS, and a TSS
	 * descriptor so TR is valid (VMX insists on a usable TR).
	 */
	gdt[0] = 0;
	gdt[1] = 0;
	gdt[2] = 0x00af9b000000ffffULL;
	gdt[3] = 0x00cf93000000ffffULL;
	gdt[4] = 0x00008b0000000067ULL;
	gdt[5] = 0;
	return 0;
}

/* Read a whole file into memory (mmap, so a large image costs no copy). */
static int map_file(const char *path, const uint8_t **data, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	void *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	if (st.st_size == 0) {
		snprintf(err, errlen, "%s: file is empty", path);
		close(fd);
		return -EINVAL;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	*data = p;
	*len = (size_t)st.st_size;
	return 0;
}

int linux_load(struct guest_mem *gm, const struct ram_layout *layout,
	       const struct e820_map *map, const char *kernel_path,
	       const char *initrd_path, const char *cmdline, uint64_t rsdp_gpa,
	       struct boot_plan *plan, char *err, size_t errlen)
{
	const uint8_t *kernel = NULL, *initrd = NULL;
	size_t klen = 0, ilen = 0, clen = strlen(cmdline) + 1;
	struct bzimage bz;
	char why[200];
	uint8_t *dst;
	int ret;

	ret = map_file(kernel_path, &kernel, &klen, err, errlen);
	if (ret)
		return ret;
	ret = bzimage_parse(kernel, klen, &bz, why, sizeof(why));
	if (ret) {
		snprintf(err, errlen, "%s: %s", kernel_path, why);
		goto out;
	}
	if (initrd_path) {
		ret = map_file(initrd_path, &initrd, &ilen, err, errlen);
		if (ret)
			goto out;
	}
	ret = linux_plan(&bz, layout, ilen, clen, plan, err, errlen);
	if (ret)
		goto out;

	ret = -EFAULT;
	dst = gm_slice(gm, plan->kernel_gpa, klen - bz.setup_size);
	if (!dst)
		goto fault;
	memcpy(dst, kernel + bz.setup_size, klen - bz.setup_size);
	if (ilen) {
		dst = gm_slice(gm, plan->initrd_gpa, ilen);
		if (!dst)
			goto fault;
		memcpy(dst, initrd, ilen);
	}
	if (gm_write(gm, BOOT_CMDLINE_GPA, cmdline, clen))
		goto fault;
	dst = gm_slice(gm, BOOT_PARAMS_GPA, BOOT_ZERO_PAGE_SIZE);
	if (!dst)
		goto fault;
	linux_build_zero_page(dst, &bz, plan, map, rsdp_gpa);
	if (linux_build_page_tables(gm))
		goto fault;
	ret = 0;
	goto out;
fault:
	snprintf(err, errlen, "boot data does not fit in guest RAM");
out:
	if (kernel)
		munmap((void *)kernel, klen);
	if (initrd)
		munmap((void *)initrd, ilen);
	return ret;
}

int linux_check_kernel(const char *path, char *err, size_t errlen)
{
	const uint8_t *kernel;
	struct bzimage bz;
	char why[200];
	size_t len;
	int ret;

	ret = map_file(path, &kernel, &len, err, errlen);
	if (ret)
		return ret;
	ret = bzimage_parse(kernel, len, &bz, why, sizeof(why));
	if (ret)
		snprintf(err, errlen, "%s: %s", path, why);
	munmap((void *)kernel, len);
	return ret;
}
