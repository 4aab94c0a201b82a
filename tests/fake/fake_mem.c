// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The fake machine's device memory regions (host_mem.h): plain page-aligned
 * buffers, a per-region dirty bitmap the test fills by playing the guest
 * (fake_guest_mem_write), and the same placement rules the VMM enforces
 * (page-aligned, inside 52 bits, no overlap with RAM or another region).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fake_machine.h"

#define FAKE_PHYS_LIMIT (1ULL << 52)

struct fake_memregion {
	struct host_memregion r;   /* first: the handle */
	struct fake_machine *fm;
	struct fake_memregion *next;
	uint64_t *dirty;           /* one bit per page */
	size_t dirty_words;
};

static size_t region_pages(const struct host_memregion *r)
{
	return r->size / HOST_MEM_PAGE_SIZE;
}

static void mark_all_dirty(struct fake_memregion *f)
{
	memset(f->dirty, 0xff, f->dirty_words * sizeof(uint64_t));
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static int fake_region_map(struct host_memregion *r, uint64_t gpa)
{
	struct fake_memregion *f = (struct fake_memregion *)r;
	struct fake_machine *fm = f->fm;

	r->mapped = false;
	if (gpa % HOST_MEM_PAGE_SIZE || gpa >= FAKE_PHYS_LIMIT || r->size > FAKE_PHYS_LIMIT - gpa)
		return -EINVAL;
	if (fm->ram_size && ranges_overlap(gpa, r->size, 0, fm->ram_size))
		return -EEXIST;
	for (struct fake_memregion *o = fm->memregions; o; o = o->next)
		if (o != f && o->r.mapped && ranges_overlap(gpa, r->size, o->r.gpa, o->r.size))
			return -EEXIST;
	r->gpa = gpa;
	r->mapped = true;
	mark_all_dirty(f);
	return 0;
}

static void fake_region_unmap(struct host_memregion *r)
{
	r->mapped = false;
}

static int fake_region_get_dirty(struct host_memregion *r, uint64_t *bitmap)
{
	struct fake_memregion *f = (struct fake_memregion *)r;

	for (size_t i = 0; i < f->dirty_words; i++) {
		if (r->flags & HOST_MEM_DIRTY_LOG) {
			bitmap[i] |= f->dirty[i];
			f->dirty[i] = 0;
		} else {
			bitmap[i] = ~0ULL;
		}
	}
	/* Bits past the last page stay clear, as the VMM's do. */
	if (region_pages(r) % 64)
		bitmap[f->dirty_words - 1] &= (1ULL << (region_pages(r) % 64)) - 1;
	return 0;
}

static void fake_region_free(struct host_memregion *r)
{
	struct fake_memregion *f = (struct fake_memregion *)r;
	struct fake_memregion **pp;

	for (pp = &f->fm->memregions; *pp; pp = &(*pp)->next) {
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	}
	free(r->hva);
	free(f->dirty);
	free(f);
}

static const struct host_memregion_ops fake_region_ops = {
	.map = fake_region_map,
	.unmap = fake_region_unmap,
	.get_dirty = fake_region_get_dirty,
	.free = fake_region_free,
};

static struct host_memregion *fake_region_new(void *opaque, const char *name, uint64_t size,
					      unsigned int flags)
{
	struct fake_machine *fm = opaque;
	struct fake_memregion *f;

	(void)name;
	if (!size || size > (1ULL << 32)) {
		errno = EINVAL;
		return NULL;
	}
	size = (size + HOST_MEM_PAGE_SIZE - 1) & ~(uint64_t)(HOST_MEM_PAGE_SIZE - 1);
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->fm = fm;
	f->r.ops = &fake_region_ops;
	f->r.size = size;
	f->r.flags = flags;
	f->dirty_words = (size / HOST_MEM_PAGE_SIZE + 63) / 64;
	f->dirty = calloc(f->dirty_words, sizeof(uint64_t));
	f->r.hva = aligned_alloc(HOST_MEM_PAGE_SIZE, size);
	if (!f->dirty || !f->r.hva) {
		free(f->dirty);
		free(f->r.hva);
		free(f);
		errno = ENOMEM;
		return NULL;
	}
	memset(f->r.hva, 0, size);
	f->next = fm->memregions;
	fm->memregions = f;
	return &f->r;
}

const struct host_mem_ops fake_mem_ops = {
	.region_new = fake_region_new,
};

struct host_memregion *fake_memregion_at(struct fake_machine *fm, uint64_t gpa)
{
	for (struct fake_memregion *f = fm->memregions; f; f = f->next)
		if (f->r.mapped && gpa >= f->r.gpa && gpa - f->r.gpa < f->r.size)
			return &f->r;
	return NULL;
}

int fake_guest_mem_write(struct fake_machine *fm, uint64_t gpa, const void *src, uint64_t len)
{
	struct fake_memregion *f = (struct fake_memregion *)fake_memregion_at(fm, gpa);
	uint64_t off;

	if (!f || !len || len > f->r.size - (gpa - f->r.gpa))
		return -EFAULT;
	if (f->r.flags & HOST_MEM_READONLY)
		return -EROFS;
	off = gpa - f->r.gpa;
	memcpy(f->r.hva + off, src, len);
	for (uint64_t p = off / HOST_MEM_PAGE_SIZE; p <= (off + len - 1) / HOST_MEM_PAGE_SIZE; p++)
		f->dirty[p / 64] |= 1ULL << (p % 64);
	return 0;
}

unsigned int fake_memregions(const struct fake_machine *fm)
{
	unsigned int n = 0;

	for (const struct fake_memregion *f = fm->memregions; f; f = f->next)
		n++;
	return n;
}
