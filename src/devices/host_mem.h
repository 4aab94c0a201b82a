/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Device memory beside guest RAM (struct dev_host's memregion_ops): a
 * RAM-backed region a device owns and maps into guest-physical space,
 * which the guest then reads and writes without a vCPU exit.  A VGA
 * framebuffer BAR is one (with dirty-page logging, so a frontend redraws
 * only what changed); an option ROM or the BIOS is another (read-only:
 * guest writes trap and are dropped, as on a real ROM).
 *
 * The device reads and writes the region through r->hva at any time,
 * mapped or not; that memory lives as long as the region.  The VMM backs
 * a region with a KVM memory slot while it is mapped and puts it back
 * into every new KVM VM after a reset; the fake machine (tests/fake)
 * backs it with a plain buffer and lets tests play the guest's writes.
 *
 * Guest-physical placement is the guest's choice (it programs BARs), so
 * map() must refuse, never crash, when asked for a misaligned address or
 * one that overlaps guest RAM, the machine's own regions or another
 * mapped region: the region then stays unmapped and the device logs it.
 *
 * Locking: a region is used under its owning device's lock; the
 * implementations take whatever lock they need of their own.
 */
#ifndef HUTCH_HOST_MEM_H
#define HUTCH_HOST_MEM_H

#include <stdbool.h>
#include <stdint.h>

#define HOST_MEM_PAGE_SIZE 4096u

/* region_new flags */
#define HOST_MEM_DIRTY_LOG  0x1u   /* track the pages the guest writes */
#define HOST_MEM_READONLY   0x2u   /* guest writes are dropped (ROM) */

struct host_memregion_ops;

/* Each implementation embeds this as its first member. */
struct host_memregion {
	const struct host_memregion_ops *ops;
	uint8_t *hva;        /* the device's view of the whole region */
	uint64_t size;       /* bytes, a multiple of HOST_MEM_PAGE_SIZE */
	unsigned int flags;
	bool mapped;         /* visible to the guest now, at gpa */
	uint64_t gpa;
};

struct host_memregion_ops {
	/*
	 * Make the region visible at @gpa (page-aligned), moving it if it was
	 * mapped elsewhere.  0, or -EINVAL (misaligned, past the guest's
	 * physical address space) / -EEXIST (overlaps RAM or another region);
	 * on error the region is left unmapped.
	 */
	int (*map)(struct host_memregion *r, uint64_t gpa);
	void (*unmap)(struct host_memregion *r);
	/*
	 * OR into @bitmap (bit i = page i of the region; (size / page + 63) / 64
	 * words) the pages the guest wrote since the previous call, and forget
	 * them.  Every page counts as written after map() and after a reset.
	 * A region without HOST_MEM_DIRTY_LOG reports every page, always.
	 * Writes the device makes through hva are not seen: it tracks those
	 * itself.  0 or -errno (then every page is reported).
	 */
	int (*get_dirty)(struct host_memregion *r, uint64_t *bitmap);
	/* Unmap and free; hva is gone afterwards. */
	void (*free)(struct host_memregion *r);
};

struct host_mem_ops {
	/*
	 * A zeroed region of @size bytes (rounded up to whole pages), not yet
	 * mapped.  @name is for messages ("vga.vram").  NULL with errno set.
	 */
	struct host_memregion *(*region_new)(void *opaque, const char *name, uint64_t size,
					     unsigned int flags);
};

static inline int host_memregion_map(struct host_memregion *r, uint64_t gpa)
{
	return r->ops->map(r, gpa);
}

static inline void host_memregion_unmap(struct host_memregion *r)
{
	r->ops->unmap(r);
}

static inline int host_memregion_get_dirty(struct host_memregion *r, uint64_t *bitmap)
{
	return r->ops->get_dirty(r, bitmap);
}

static inline void host_memregion_free(struct host_memregion *r)
{
	if (r)
		r->ops->free(r);
}

#endif
