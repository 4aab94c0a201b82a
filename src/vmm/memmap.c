// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The guest-physical memory map (memmap.h).  Where the pieces go:
 *
 *   0x00000000-0x0009FFFF  RAM
 *   0x000A0000-0x000BFFFF  the VGA window: never RAM, trapped MMIO (a PC's
 *                          ISA hole; the display device decodes it)
 *   0x000C0000-0x000FFFFF  13 PAM segments: shadow RAM, read-only shadow
 *                          RAM, the ROM's last 128 KiB (0xE0000-0xFFFFF)
 *                          or nothing, per the i440FX PAM registers;
 *                          plain RAM when there is no ROM (direct boot:
 *                          Linux finds Hutch's ACPI tables at 0xE0000)
 *   0x00100000-low_size    RAM (low_size <= 3.5 GiB)
 *   ...                    the PCI hole: BARs, device regions, IOAPIC, LAPIC
 *   0xFEFFC000-0xFEFFFFFF  KVM's identity-map page and TSS (kvm.h)
 *   4 GiB - rom_size       the BIOS ROM, read-only
 *   4 GiB-...              RAM above the hole
 *
 * A write-only PAM segment (WE without RE) is done exactly, not
 * approximated: the slot there is the ROM (read-only) or nothing, so the
 * guest's writes exit to userspace and memmap_mmio_write stores them in
 * the shadow RAM behind it, while its reads see the ROM.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "kvm.h"
#include "memmap.h"

#define VGA_WINDOW_START  0xa0000ULL
#define FOUR_GIB          0x100000000ULL
#define ROM_MAX_SIZE      (16ULL << 20)
#define ROM_SIZE_UNIT     0x10000ULL
#define PAM_SMALL_SEG     0x4000ULL     /* PAM1-PAM6 halves: 16 KiB */
#define PAM_F_SEG_START   0xf0000ULL
#define KVM_PRIVATE_START KVM_IDENTITY_MAP_GPA
#define KVM_PRIVATE_END   (KVM_TSS_GPA + 3 * 4096)

/* Without a VM lock (unit tests) the memmap lock alone orders changes. */
static void mm_lock(struct memmap *mm)
{
	if (mm->vm_lock)
		pthread_rwlock_rdlock(mm->vm_lock);
	pthread_mutex_lock(&mm->lock);
}

static void mm_unlock(struct memmap *mm)
{
	pthread_mutex_unlock(&mm->lock);
	if (mm->vm_lock)
		pthread_rwlock_unlock(mm->vm_lock);
}

void memmap_init(struct memmap *mm, uint8_t *ram, uint64_t low_size, uint64_t high_size,
		 uint64_t phys_limit, bool readonly_ok, memmap_set_slot_fn *set_slot,
		 memmap_get_dirty_fn *get_dirty, void *slot_opaque, pthread_rwlock_t *vm_lock)
{
	memset(mm, 0, sizeof(*mm));
	pthread_mutex_init(&mm->lock, NULL);
	mm->ram = ram;
	mm->low_size = low_size;
	mm->high_size = high_size;
	mm->phys_limit = phys_limit;
	mm->readonly_ok = readonly_ok;
	mm->set_slot = set_slot;
	mm->get_dirty = get_dirty;
	mm->slot_opaque = slot_opaque;
	mm->vm_lock = vm_lock;
}

int memmap_set_rom(struct memmap *mm, uint8_t *rom, uint64_t size)
{
	if (!rom || !size || size % ROM_SIZE_UNIT || size > ROM_MAX_SIZE)
		return -EINVAL;
	pthread_mutex_lock(&mm->lock);
	mm->rom = rom;
	mm->rom_size = size;
	pthread_mutex_unlock(&mm->lock);
	return 0;
}

uint64_t memmap_pam_segment_start(unsigned int seg)
{
	return seg == 0 ? PAM_F_SEG_START : PAM_WINDOW_START + (seg - 1) * PAM_SMALL_SEG;
}

uint64_t memmap_pam_segment_size(unsigned int seg)
{
	return seg == 0 ? PAM_WINDOW_END - PAM_F_SEG_START : PAM_SMALL_SEG;
}

/*
 * 82441FX datasheet 3.2.18: PAM0 bits 5:4 cover 0xF0000-0xFFFFF; PAMn
 * (n = 1..6) bits 1:0 cover the lower 16 KiB, bits 5:4 the upper 16 KiB
 * of 0xC0000 + (n - 1) * 32 KiB.  In each pair bit 0 is RE, bit 1 WE.
 */
void memmap_pam_decode(const uint8_t pam[7], enum pam_mode mode[PAM_NR_SEGMENTS])
{
	mode[0] = (enum pam_mode)((pam[0] >> 4) & 3);
	for (unsigned int n = 1; n <= 6; n++) {
		mode[1 + 2 * (n - 1)] = (enum pam_mode)(pam[n] & 3);
		mode[2 + 2 * (n - 1)] = (enum pam_mode)((pam[n] >> 4) & 3);
	}
}

/* The PAM segment holding @gpa, or -1. */
static int pam_segment_of(uint64_t gpa)
{
	if (gpa < PAM_WINDOW_START || gpa >= PAM_WINDOW_END)
		return -1;
	if (gpa >= PAM_F_SEG_START)
		return 0;
	return 1 + (int)((gpa - PAM_WINDOW_START) / PAM_SMALL_SEG);
}

/* The PAM window is steered only on a machine with a ROM and RAM under it. */
static bool pam_active(const struct memmap *mm)
{
	return mm->rom && mm->low_size >= PAM_WINDOW_END;
}

static uint64_t rom_shadow_start(const struct memmap *mm)
{
	uint64_t n = mm->rom_size < ROM_SHADOW_MAX ? mm->rom_size : ROM_SHADOW_MAX;

	return PAM_WINDOW_END - n;
}

struct plan {
	struct memmap_slot *s;
	unsigned int n, max;
	bool full;
};

static void plan_add(struct plan *p, uint64_t gpa, uint64_t size, uint8_t *hva,
		     unsigned int flags, struct memmap_region *region)
{
	if (!size)
		return;
	if (p->n == p->max) {
		p->full = true;
		return;
	}
	p->s[p->n++] = (struct memmap_slot){ .gpa = gpa, .size = size, .hva = hva,
					     .flags = flags, .region = region };
}

static int slot_cmp(const void *a, const void *b)
{
	const struct memmap_slot *x = a, *y = b;

	return x->gpa < y->gpa ? -1 : x->gpa > y->gpa;
}

int memmap_plan(const struct memmap *mm, struct memmap_slot *out, unsigned int max)
{
	const unsigned int ro = mm->readonly_ok ? MEMMAP_SLOT_READONLY : 0;
	struct plan p = { out, 0, max, false };
	unsigned int merged = 0;

	/* Low RAM, with the VGA window left out. */
	plan_add(&p, 0, mm->low_size < VGA_WINDOW_START ? mm->low_size : VGA_WINDOW_START,
		 mm->ram, 0, NULL);
	if (!pam_active(mm)) {
		if (mm->low_size > PAM_WINDOW_START)
			plan_add(&p, PAM_WINDOW_START, mm->low_size - PAM_WINDOW_START,
				 mm->ram + PAM_WINDOW_START, 0, NULL);
	} else {
		/* Segments in address order: 1..12 (0xC0000-0xEFFFF), then 0 (0xF0000). */
		for (unsigned int i = 1; i <= PAM_NR_SEGMENTS; i++) {
			unsigned int seg = i % PAM_NR_SEGMENTS;
			uint64_t gpa = memmap_pam_segment_start(seg);
			uint64_t len = memmap_pam_segment_size(seg);

			switch (mm->pam[seg]) {
			case PAM_READ_WRITE:
				plan_add(&p, gpa, len, mm->ram + gpa, 0, NULL);
				break;
			case PAM_READ_ONLY:
				plan_add(&p, gpa, len, mm->ram + gpa, ro, NULL);
				break;
			case PAM_DISABLED:
			case PAM_WRITE_ONLY:
				/* Reads reach the ISA side: the ROM's alias, or nothing. */
				if (gpa >= rom_shadow_start(mm))
					plan_add(&p, gpa, len,
						 mm->rom + mm->rom_size - (PAM_WINDOW_END - gpa), ro, NULL);
				break;
			}
		}
		plan_add(&p, PAM_WINDOW_END, mm->low_size - PAM_WINDOW_END,
			 mm->ram + PAM_WINDOW_END, 0, NULL);
	}
	if (mm->rom)
		plan_add(&p, FOUR_GIB - mm->rom_size, mm->rom_size, mm->rom, ro, NULL);
	plan_add(&p, FOUR_GIB, mm->high_size, mm->ram + mm->low_size, 0, NULL);
	for (unsigned int i = 0; i < MEMMAP_MAX_REGIONS; i++) {
		struct memmap_region *r = mm->regions[i];

		if (r && r->r.mapped)
			plan_add(&p, r->r.gpa, r->r.size, r->r.hva,
				 ((r->r.flags & HOST_MEM_READONLY) ? ro : 0) |
				 ((r->r.flags & HOST_MEM_DIRTY_LOG) ? MEMMAP_SLOT_DIRTY_LOG : 0), r);
	}
	if (p.full)
		return -ENOSPC;
	qsort(out, p.n, sizeof(*out), slot_cmp);
	/* Merge neighbours with one backing and the same flags: fewer slots. */
	for (unsigned int i = 0; i < p.n; i++) {
		struct memmap_slot *prev = merged ? &out[merged - 1] : NULL;

		if (prev && !prev->region && !out[i].region && prev->flags == out[i].flags &&
		    prev->gpa + prev->size == out[i].gpa && prev->hva + prev->size == out[i].hva)
			prev->size += out[i].size;
		else
			out[merged++] = out[i];
	}
	return (int)merged;
}

static bool slot_same(const struct memmap_slot *a, const struct memmap_slot *b)
{
	return a->gpa == b->gpa && a->size == b->size && a->hva == b->hva &&
	       a->flags == b->flags && a->region == b->region;
}

static int alloc_id(struct memmap *mm, uint32_t *id)
{
	for (uint32_t i = 0; i < MEMMAP_MAX_SLOTS; i++) {
		if (!(mm->used_ids & (1ULL << i))) {
			mm->used_ids |= 1ULL << i;
			*id = i;
			return 0;
		}
	}
	return -ENOSPC;
}

/*
 * Bring the live VM to the plan: delete the slots that changed, then add
 * the new ones (KVM refuses overlapping slots, and cannot change a slot's
 * place or read-only flag in place).  A vCPU touching a changed range in
 * between exits as MMIO and reads all-ones; the guest changes PAM with
 * one CPU running from elsewhere (SeaBIOS runs that code from the ROM's
 * alias below 4 GiB), so none does.  Called with mm->lock held.
 */
static int memmap_apply(struct memmap *mm)
{
	struct memmap_slot plan[MEMMAP_MAX_SLOTS];
	int n, ret = 0;

	if (!mm->vm_live)   /* no VM (or no RAM yet): memmap_vm_created does it all */
		return 0;
	n = memmap_plan(mm, plan, MEMMAP_MAX_SLOTS);
	if (n < 0)
		return n;
	for (unsigned int i = 0; i < mm->nr_applied; i++) {
		struct memmap_slot *a = &mm->applied[i];
		bool keep = false;

		for (int j = 0; j < n && !keep; j++)
			keep = slot_same(a, &plan[j]);
		if (keep)
			continue;
		mm->set_slot(mm->slot_opaque, a->id, a->gpa, 0, a->hva, 0);
		mm->used_ids &= ~(1ULL << a->id);
	}
	for (int j = 0; j < n; j++) {
		struct memmap_slot *p = &plan[j];
		bool found = false;
		int r;

		for (unsigned int i = 0; i < mm->nr_applied && !found; i++) {
			if (slot_same(&mm->applied[i], p)) {
				p->id = mm->applied[i].id;
				found = true;
			}
		}
		if (found)
			continue;
		r = alloc_id(mm, &p->id);
		if (!r)
			r = mm->set_slot(mm->slot_opaque, p->id, p->gpa, p->size, p->hva, p->flags);
		if (r) {
			fprintf(stderr, "hutch-vm: memory slot at 0x%llx (+0x%llx): %s\n",
				(unsigned long long)p->gpa, (unsigned long long)p->size, strerror(-r));
			if (!ret)
				ret = r;
			/* Not in the VM: forget it so the next apply tries again. */
			mm->used_ids &= ~(1ULL << p->id);
			memmove(p, p + 1, (size_t)(n - j - 1) * sizeof(*p));
			n--;
			j--;
			continue;
		}
		if (p->region)
			p->region->all_dirty = true;   /* a fresh slot: KVM logged nothing yet */
	}
	memcpy(mm->applied, plan, (size_t)n * sizeof(plan[0]));
	mm->nr_applied = (unsigned int)n;
	return ret;
}

void memmap_set_pam(struct memmap *mm, const uint8_t pam[7])
{
	enum pam_mode mode[PAM_NR_SEGMENTS];

	memmap_pam_decode(pam, mode);
	mm_lock(mm);
	if (memcmp(mode, mm->pam, sizeof(mode))) {
		memcpy(mm->pam, mode, sizeof(mode));
		if (pam_active(mm))
			memmap_apply(mm);
	}
	mm_unlock(mm);
}

int memmap_vm_created(struct memmap *mm)
{
	int ret;

	pthread_mutex_lock(&mm->lock);
	mm->vm_live = true;
	mm->nr_applied = 0;
	mm->used_ids = 0;
	ret = memmap_apply(mm);
	/* "Every page counts as written after a reset" (host_mem.h). */
	for (unsigned int i = 0; i < MEMMAP_MAX_REGIONS; i++)
		if (mm->regions[i])
			mm->regions[i]->all_dirty = true;
	pthread_mutex_unlock(&mm->lock);
	return ret;
}

void memmap_vm_destroyed(struct memmap *mm)
{
	pthread_mutex_lock(&mm->lock);
	mm->vm_live = false;
	mm->nr_applied = 0;
	mm->used_ids = 0;
	/* The chipset's power-on state: the next boot starts from the ROM. */
	memset(mm->pam, 0, sizeof(mm->pam));
	pthread_mutex_unlock(&mm->lock);
}

bool memmap_mmio_write(struct memmap *mm, uint64_t gpa, const void *data, unsigned int len)
{
	const uint8_t *src = data;
	bool handled = false;
	int seg;

	/*
	 * Every MMIO write of every vCPU comes here first: the ones that cannot
	 * be a write to ROM (outside the PAM window and the highest 16 MiB
	 * below 4 GiB, while no read-only device region exists) leave without
	 * taking the lock.
	 */
	if (!(gpa >= PAM_WINDOW_START && gpa < PAM_WINDOW_END) &&
	    !(gpa >= FOUR_GIB - ROM_MAX_SIZE && gpa < FOUR_GIB) &&
	    !__atomic_load_n(&mm->readonly_regions, __ATOMIC_ACQUIRE))
		return false;
	pthread_mutex_lock(&mm->lock);
	if (mm->rom && gpa >= FOUR_GIB - mm->rom_size && gpa < FOUR_GIB) {
		mm->rom_writes++;   /* a ROM ignores writes */
		handled = true;
	} else if (pam_active(mm) && (seg = pam_segment_of(gpa)) >= 0) {
		/* Byte by byte: an access may straddle two segments. */
		for (unsigned int i = 0; i < len && gpa + i < PAM_WINDOW_END; i++) {
			int s = pam_segment_of(gpa + i);

			if (mm->pam[s] & PAM_WRITE_ONLY)   /* WE set: the write reaches RAM */
				mm->ram[gpa + i] = src[i];
			else
				mm->rom_writes++;
		}
		handled = true;
	} else {
		for (unsigned int i = 0; i < MEMMAP_MAX_REGIONS && !handled; i++) {
			struct memmap_region *r = mm->regions[i];

			if (r && r->r.mapped && (r->r.flags & HOST_MEM_READONLY) &&
			    gpa >= r->r.gpa && gpa - r->r.gpa < r->r.size) {
				mm->rom_writes++;
				handled = true;
			}
		}
	}
	pthread_mutex_unlock(&mm->lock);
	return handled;
}

/* ---- device regions (host_mem.h) ---- */

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

/* Is [gpa, gpa + size) free of RAM, the ROM, KVM's pages and other regions? */
static bool range_free(const struct memmap *mm, const struct memmap_region *self,
		       uint64_t gpa, uint64_t size)
{
	if (overlaps(gpa, size, 0, mm->low_size < VGA_WINDOW_START ? mm->low_size : VGA_WINDOW_START) ||
	    (mm->low_size > PAM_WINDOW_START &&
	     overlaps(gpa, size, PAM_WINDOW_START, mm->low_size - PAM_WINDOW_START)) ||
	    overlaps(gpa, size, FOUR_GIB, mm->high_size) ||
	    overlaps(gpa, size, FOUR_GIB - mm->rom_size, mm->rom_size) ||
	    overlaps(gpa, size, KVM_PRIVATE_START, KVM_PRIVATE_END - KVM_PRIVATE_START))
		return false;
	for (unsigned int i = 0; i < MEMMAP_MAX_REGIONS; i++) {
		const struct memmap_region *o = mm->regions[i];

		if (o && o != self && o->r.mapped && overlaps(gpa, size, o->r.gpa, o->r.size))
			return false;
	}
	return true;
}

static int region_map(struct host_memregion *hr, uint64_t gpa)
{
	struct memmap_region *r = (struct memmap_region *)hr;
	struct memmap *mm = r->mm;
	int ret = 0;

	mm_lock(mm);
	r->r.mapped = false;
	if (gpa % HOST_MEM_PAGE_SIZE || gpa >= mm->phys_limit || r->r.size > mm->phys_limit - gpa)
		ret = -EINVAL;
	else if (!range_free(mm, r, gpa, r->r.size))
		ret = -EEXIST;
	if (!ret) {
		r->r.gpa = gpa;
		r->r.mapped = true;
		r->all_dirty = true;
		ret = memmap_apply(mm);
		if (ret)   /* KVM refused: leave it unmapped, as promised */
			r->r.mapped = false;
	}
	if (ret)
		memmap_apply(mm);   /* drop its old place (or the refused one) */
	mm_unlock(mm);
	return ret;
}

static void region_unmap(struct host_memregion *hr)
{
	struct memmap_region *r = (struct memmap_region *)hr;
	struct memmap *mm = r->mm;

	mm_lock(mm);
	if (r->r.mapped) {
		r->r.mapped = false;
		memmap_apply(mm);
	}
	mm_unlock(mm);
}

static void set_all_pages(const struct host_memregion *r, uint64_t *bitmap)
{
	uint64_t pages = r->size / HOST_MEM_PAGE_SIZE;
	size_t words = (size_t)((pages + 63) / 64);

	for (size_t i = 0; i < words; i++)
		bitmap[i] = ~0ULL;
	if (pages % 64)
		bitmap[words - 1] &= (1ULL << (pages % 64)) - 1;
}

static int region_get_dirty(struct host_memregion *hr, uint64_t *bitmap)
{
	struct memmap_region *r = (struct memmap_region *)hr;
	struct memmap *mm = r->mm;
	uint64_t pages = r->r.size / HOST_MEM_PAGE_SIZE;
	size_t words = (size_t)((pages + 63) / 64);
	int ret = 0;

	if (!(r->r.flags & HOST_MEM_DIRTY_LOG)) {
		set_all_pages(hr, bitmap);
		return 0;
	}
	mm_lock(mm);
	if (r->r.mapped && mm->vm_live) {
		const struct memmap_slot *s = NULL;

		for (unsigned int i = 0; i < mm->nr_applied && !s; i++)
			if (mm->applied[i].region == r)
				s = &mm->applied[i];
		/* KVM hands the whole log and clears it; ours is ORed in. */
		uint64_t *log = s ? calloc(words, sizeof(uint64_t)) : NULL;

		ret = !s ? -ENOENT : !log ? -ENOMEM : mm->get_dirty(mm->slot_opaque, s->id, log);
		if (!ret)
			for (size_t i = 0; i < words; i++)
				bitmap[i] |= log[i];
		free(log);
		if (ret || r->all_dirty)
			set_all_pages(hr, bitmap);
		r->all_dirty = false;
	} else if (r->r.mapped) {
		set_all_pages(hr, bitmap);   /* between boots: the next VM starts all dirty */
	}
	mm_unlock(mm);
	return ret;
}

static void region_free(struct host_memregion *hr)
{
	struct memmap_region *r = (struct memmap_region *)hr;
	struct memmap *mm = r->mm;

	mm_lock(mm);
	r->r.mapped = false;
	for (unsigned int i = 0; i < MEMMAP_MAX_REGIONS; i++)
		if (mm->regions[i] == r)
			mm->regions[i] = NULL;
	if (r->r.flags & HOST_MEM_READONLY)
		__atomic_fetch_sub(&mm->readonly_regions, 1, __ATOMIC_RELEASE);
	memmap_apply(mm);
	mm_unlock(mm);
	munmap(r->r.hva, r->alloc_size);
	free(r);
}

static const struct host_memregion_ops memmap_region_ops = {
	.map = region_map,
	.unmap = region_unmap,
	.get_dirty = region_get_dirty,
	.free = region_free,
};

static struct host_memregion *region_new(void *opaque, const char *name, uint64_t size,
					 unsigned int flags)
{
	struct memmap *mm = opaque;
	struct memmap_region *r;
	unsigned int slot = MEMMAP_MAX_REGIONS;
	void *hva;

	if (!size || size > (1ULL << 32) ||
	    flags & ~(HOST_MEM_DIRTY_LOG | HOST_MEM_READONLY)) {
		errno = EINVAL;
		return NULL;
	}
	size = (size + HOST_MEM_PAGE_SIZE - 1) & ~(uint64_t)(HOST_MEM_PAGE_SIZE - 1);
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	hva = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		   -1, 0);
	if (hva == MAP_FAILED) {
		free(r);
		errno = ENOMEM;
		return NULL;
	}
	r->r.ops = &memmap_region_ops;
	r->r.hva = hva;
	r->r.size = size;
	r->r.flags = flags;
	r->mm = mm;
	r->alloc_size = size;
	snprintf(r->name, sizeof(r->name), "%s", name ? name : "region");
	pthread_mutex_lock(&mm->lock);
	for (unsigned int i = 0; i < MEMMAP_MAX_REGIONS && slot == MEMMAP_MAX_REGIONS; i++)
		if (!mm->regions[i])
			slot = i;
	if (slot < MEMMAP_MAX_REGIONS) {
		mm->regions[slot] = r;
		if (flags & HOST_MEM_READONLY)
			__atomic_fetch_add(&mm->readonly_regions, 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&mm->lock);
	if (slot == MEMMAP_MAX_REGIONS) {
		munmap(hva, size);
		free(r);
		errno = ENOSPC;
		return NULL;
	}
	return &r->r;
}

const struct host_mem_ops memmap_host_mem_ops = {
	.region_new = region_new,
};

void memmap_destroy(struct memmap *mm)
{
	for (unsigned int i = 0; i < MEMMAP_MAX_REGIONS; i++) {
		struct memmap_region *r = mm->regions[i];

		if (r) {
			munmap(r->r.hva, r->alloc_size);
			free(r);
			mm->regions[i] = NULL;
		}
	}
	pthread_mutex_destroy(&mm->lock);
}
