/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The guest-physical memory map, everything in it that is memory rather
 * than trapped MMIO: guest RAM (below the PCI hole and above 4 GiB), the
 * BIOS ROM just below 4 GiB, the legacy BIOS window 0xC0000-0xFFFFF as the
 * i440FX PAM registers route it (shadow RAM or the ROM's last 128 KiB),
 * and the devices' memory regions (host_mem.h: framebuffers, option ROMs).
 *
 * The pure part, memmap_plan(), turns that state into a sorted list of
 * KVM memory slots: RAM split around the PAM window, adjacent pieces of
 * one backing merged, read-only and dirty-logged slots flagged.  Every
 * change (PAM write, region map/unmap) recomputes the plan and applies
 * only the difference to the live VM; memmap_vm_created() puts the whole
 * plan into a fresh VM after a reset.
 *
 * Locking: a caller that may race a VM rebuild holds the machine's
 * vm_lock for reading, then the memmap's own lock is taken (memmap.c does
 * both); memmap_vm_created() runs with vm_lock held for writing.
 */
#ifndef HUTCH_MEMMAP_H
#define HUTCH_MEMMAP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "host_mem.h"

struct kvm;

/* The legacy BIOS window the PAM registers steer (82441FX datasheet 3.2.18). */
#define PAM_WINDOW_START   0xc0000ULL
#define PAM_WINDOW_END     0x100000ULL
#define PAM_NR_SEGMENTS    13          /* 12 x 16 KiB at 0xC0000-0xEFFFF, 64 KiB at 0xF0000 */
#define ROM_SHADOW_MAX     0x20000ULL  /* the ROM's last 128 KiB appear at 0xE0000 */

/* One PAM attribute: RE (bit 0) and WE (bit 1), the datasheet's encoding. */
enum pam_mode {
	PAM_DISABLED = 0,      /* reads and writes go to the PCI/ISA side (the ROM) */
	PAM_READ_ONLY = 1,     /* reads from RAM, writes to the ROM side (dropped) */
	PAM_WRITE_ONLY = 2,    /* reads from the ROM side, writes to RAM */
	PAM_READ_WRITE = 3,    /* plain RAM */
};

/* KVM slot flags as the plan carries them. */
#define MEMMAP_SLOT_READONLY   0x1u
#define MEMMAP_SLOT_DIRTY_LOG  0x2u

struct memmap_slot {
	uint64_t gpa, size;
	uint8_t *hva;
	unsigned int flags;
	struct memmap_region *region;   /* the device region it shows, or NULL */
	uint32_t id;                    /* KVM slot number once applied */
};

#define MEMMAP_MAX_REGIONS 32
#define MEMMAP_MAX_SLOTS   64

/* A device region (host_mem.h), allocated by memmap_region_new. */
struct memmap_region {
	struct host_memregion r;        /* first: the handle devices hold */
	struct memmap *mm;
	char name[32];
	uint64_t alloc_size;            /* what was mmapped */
	bool all_dirty;                 /* report every page next time (mapped, or a new VM) */
};

/*
 * Applies one slot to the VM (size 0 deletes slot @id).  The machine's
 * is KVM_SET_USER_MEMORY_REGION; tests record the calls.  0 or -errno.
 */
typedef int memmap_set_slot_fn(void *opaque, uint32_t id, uint64_t gpa, uint64_t size,
			       void *hva, unsigned int flags);
/* KVM_GET_DIRTY_LOG of slot @id into @bitmap.  0 or -errno. */
typedef int memmap_get_dirty_fn(void *opaque, uint32_t id, uint64_t *bitmap);

struct memmap {
	pthread_mutex_t lock;
	/* Guest RAM: @low_size bytes at 0, @high_size at 4 GiB, from one mapping. */
	uint8_t *ram;
	uint64_t low_size, high_size;
	/* The BIOS ROM, or NULL (direct Linux boot: PAM only picks RAM or nothing). */
	uint8_t *rom;
	uint64_t rom_size;
	bool readonly_ok;               /* KVM_CAP_READONLY_MEM: else ROM slots are writable */
	uint64_t phys_limit;            /* guest physical address bits as a size */
	enum pam_mode pam[PAM_NR_SEGMENTS];
	struct memmap_region *regions[MEMMAP_MAX_REGIONS];
	/* What the live VM has (vm_live), in plan order. */
	struct memmap_slot applied[MEMMAP_MAX_SLOTS];
	unsigned int nr_applied;
	uint64_t used_ids;              /* KVM slot numbers in use, one bit each */
	bool vm_live;
	memmap_set_slot_fn *set_slot;
	memmap_get_dirty_fn *get_dirty;
	void *slot_opaque;
	pthread_rwlock_t *vm_lock;      /* the machine's, or NULL (tests) */
	unsigned int rom_writes;        /* guest writes to ROM dropped (for tests, logs) */
	unsigned int readonly_regions;  /* device regions made HOST_MEM_READONLY (read
					   without the lock by memmap_mmio_write) */
};

/* Set up with RAM (@ram: low then high, one mapping).  No ROM, PAM all disabled. */
void memmap_init(struct memmap *mm, uint8_t *ram, uint64_t low_size, uint64_t high_size,
		 uint64_t phys_limit, bool readonly_ok, memmap_set_slot_fn *set_slot,
		 memmap_get_dirty_fn *get_dirty, void *slot_opaque, pthread_rwlock_t *vm_lock);
/* Frees the regions still alive (their owners are gone by now). */
void memmap_destroy(struct memmap *mm);

/*
 * The BIOS ROM (@size: a multiple of 64 KiB up to 16 MiB) at 4 GiB - size,
 * its last 128 KiB behind the PAM window.  The memory stays the caller's.
 * Call before the first VM.  0 or -EINVAL.
 */
int memmap_set_rom(struct memmap *mm, uint8_t *rom, uint64_t size);

/*
 * The PAM registers' values (i440FX config 0x59-0x5F) to segment modes:
 * segment 0 is 0xF0000 (PAM0 bits 5:4), segment 1 + i is 0xC0000 + 16 KiB * i.
 */
void memmap_pam_decode(const uint8_t pam[7], enum pam_mode mode[PAM_NR_SEGMENTS]);
/* Guest-physical start and size of PAM segment @seg. */
uint64_t memmap_pam_segment_start(unsigned int seg);
uint64_t memmap_pam_segment_size(unsigned int seg);
/* New PAM values: remap what changed (live VM included). */
void memmap_set_pam(struct memmap *mm, const uint8_t pam[7]);

/* The slots the current state calls for, sorted by gpa.  Count, or -ENOSPC. */
int memmap_plan(const struct memmap *mm, struct memmap_slot *out, unsigned int max);

/* A fresh VM exists (vm_lock held for writing): put every slot in.  0 or -errno. */
int memmap_vm_created(struct memmap *mm);
/* The VM is gone: KVM dropped its slots; PAM returns to power-on (disabled). */
void memmap_vm_destroyed(struct memmap *mm);

/*
 * A guest write that exited as MMIO at @gpa: true if it belongs to the
 * memory map (a ROM slot, or the PAM window), which then completes it:
 * dropped on a ROM, stored in shadow RAM if the segment is write-enabled.
 * Never blocks.
 */
bool memmap_mmio_write(struct memmap *mm, uint64_t gpa, const void *data, unsigned int len);

/* The dev_host.memregion_ops the machine hands devices (opaque: the memmap). */
extern const struct host_mem_ops memmap_host_mem_ops;

#endif
