/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Guest physical memory as devices see it.
 *
 * Every access a device makes to guest RAM goes through this API.  The
 * address *and* the length are checked against the RAM regions without
 * integer wrap-around; a bad range yields NULL / -EFAULT, never a pointer
 * outside the mapping.  The VMM fills the region table from its mmap()ed
 * RAM; unit tests and fuzzers fill it from a plain buffer.
 */
#ifndef HUTCH_GUEST_MEM_H
#define HUTCH_GUEST_MEM_H

#include <stddef.h>
#include <stdint.h>

#define GM_MAX_REGIONS 8

struct gm_region {
	uint64_t gpa;   /* first guest-physical address */
	uint64_t size;  /* bytes */
	uint8_t *hva;   /* host mapping of gpa */
};

struct guest_mem {
	struct gm_region regions[GM_MAX_REGIONS];
	unsigned int nr_regions;
};

/* Add a RAM region; regions must not overlap.  0 or -EINVAL/-ENOSPC. */
int gm_add_region(struct guest_mem *gm, uint64_t gpa, uint64_t size, void *hva);

/*
 * Host pointer to [gpa, gpa+len) if that whole range lies inside one RAM
 * region, else NULL.  len == 0 is refused (NULL): a zero-length DMA is a
 * guest error the caller should notice, not a silent success.
 */
void *gm_slice(const struct guest_mem *gm, uint64_t gpa, uint64_t len);

/* Copy to/from guest RAM; the range may span adjacent regions.
 * 0 on success, -EFAULT if any byte is outside RAM (nothing copied). */
int gm_read(const struct guest_mem *gm, uint64_t gpa, void *dst, uint64_t len);
int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *src, uint64_t len);

/* Total bytes of RAM described. */
uint64_t gm_total_size(const struct guest_mem *gm);

#endif
