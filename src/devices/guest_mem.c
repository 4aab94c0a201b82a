// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <string.h>

#include "guest_mem.h"

int gm_add_region(struct guest_mem *gm, uint64_t gpa, uint64_t size, void *hva)
{
	if (!size || !hva || gpa + size < gpa)
		return -EINVAL;
	if (gm->nr_regions >= GM_MAX_REGIONS)
		return -ENOSPC;
	for (unsigned int i = 0; i < gm->nr_regions; i++) {
		const struct gm_region *r = &gm->regions[i];
		if (gpa < r->gpa + r->size && r->gpa < gpa + size)
			return -EINVAL;
	}
	gm->regions[gm->nr_regions++] = (struct gm_region){ gpa, size, hva };
	return 0;
}

/* The region holding @gpa, or NULL. */
static const struct gm_region *gm_find(const struct guest_mem *gm, uint64_t gpa)
{
	for (unsigned int i = 0; i < gm->nr_regions; i++) {
		const struct gm_region *r = &gm->regions[i];
		if (gpa >= r->gpa && gpa - r->gpa < r->size)
			return r;
	}
	return NULL;
}

void *gm_slice(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	const struct gm_region *r;
	uint64_t off;

	if (!len)
		return NULL;
	r = gm_find(gm, gpa);
	if (!r)
		return NULL;
	off = gpa - r->gpa;
	/* off < size holds; compare lengths, not end addresses, so no wrap. */
	if (len > r->size - off)
		return NULL;
	return r->hva + off;
}

/* Walk [gpa, gpa+len) across regions; first pass checks, second copies. */
static int gm_copy(const struct guest_mem *gm, uint64_t gpa, void *buf,
		   uint64_t len, int to_guest)
{
	for (int pass = 0; pass < 2; pass++) {
		uint64_t addr = gpa, left = len;
		uint8_t *p = buf;

		while (left) {
			const struct gm_region *r = gm_find(gm, addr);
			uint64_t off, chunk;

			if (!r)
				return -EFAULT;
			off = addr - r->gpa;
			chunk = r->size - off;
			if (chunk > left)
				chunk = left;
			if (pass) {
				if (to_guest)
					memcpy(r->hva + off, p, chunk);
				else
					memcpy(p, r->hva + off, chunk);
			}
			p += chunk;
			left -= chunk;
			if (left && addr + chunk < addr)
				return -EFAULT; /* would wrap past 2^64 */
			addr += chunk;
		}
	}
	return 0;
}

int gm_read(const struct guest_mem *gm, uint64_t gpa, void *dst, uint64_t len)
{
	return gm_copy(gm, gpa, dst, len, 0);
}

int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *src, uint64_t len)
{
	return gm_copy(gm, gpa, (void *)src, len, 1);
}

uint64_t gm_total_size(const struct guest_mem *gm)
{
	uint64_t total = 0;

	for (unsigned int i = 0; i < gm->nr_regions; i++)
		total += gm->regions[i].size;
	return total;
}
