// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The memory map (memmap.c) without KVM: a fake "KVM" keeps the slots the
 * memmap sets, refuses overlaps as KVM does, and plays the guest's reads
 * and writes through them; a write to a read-only slot or to no slot is
 * an MMIO exit handed to memmap_mmio_write, as vcpu.c does.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "memmap.h"

#define FOUR_GIB (1ULL << 32)
#define RAM_SIZE (16ULL << 20)
#define ROM_SIZE (128ULL << 10)

struct fake_slot {
	bool used;
	uint64_t gpa, size;
	uint8_t *hva;
	unsigned int flags;
};

struct fake_kvm {
	struct fake_slot slots[MEMMAP_MAX_SLOTS];
	unsigned int set_calls;
	uint64_t dirty[4];      /* what the next get_dirty returns */
	int dirty_ret;
};

static int fake_set_slot(void *opaque, uint32_t id, uint64_t gpa, uint64_t size, void *hva,
			 unsigned int flags)
{
	struct fake_kvm *k = opaque;

	k->set_calls++;
	assert_true(id < MEMMAP_MAX_SLOTS);
	if (!size) {
		assert_true(k->slots[id].used);   /* deleting what exists */
		k->slots[id].used = false;
		return 0;
	}
	assert_false(k->slots[id].used);          /* never modified in place */
	assert_int_equal(gpa % 4096, 0);
	assert_int_equal(size % 4096, 0);
	for (unsigned int i = 0; i < MEMMAP_MAX_SLOTS; i++)
		if (k->slots[i].used && gpa < k->slots[i].gpa + k->slots[i].size &&
		    k->slots[i].gpa < gpa + size)
			return -EEXIST;
	k->slots[id] = (struct fake_slot){ true, gpa, size, hva, flags };
	return 0;
}

static int fake_get_dirty(void *opaque, uint32_t id, uint64_t *bitmap)
{
	struct fake_kvm *k = opaque;

	assert_true(k->slots[id].used);
	assert_true(k->slots[id].flags & MEMMAP_SLOT_DIRTY_LOG);
	if (k->dirty_ret)
		return k->dirty_ret;
	memcpy(bitmap, k->dirty, (k->slots[id].size / 4096 + 63) / 64 * 8);
	memset(k->dirty, 0, sizeof(k->dirty));
	return 0;
}

static struct fake_slot *slot_at(struct fake_kvm *k, uint64_t gpa)
{
	for (unsigned int i = 0; i < MEMMAP_MAX_SLOTS; i++)
		if (k->slots[i].used && gpa >= k->slots[i].gpa && gpa - k->slots[i].gpa < k->slots[i].size)
			return &k->slots[i];
	return NULL;
}

static unsigned int nr_slots(struct fake_kvm *k)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < MEMMAP_MAX_SLOTS; i++)
		n += k->slots[i].used;
	return n;
}

/* The guest reads a byte: from a slot, else an MMIO exit that reads all-ones. */
static int guest_read(struct fake_kvm *k, uint64_t gpa)
{
	struct fake_slot *s = slot_at(k, gpa);

	return s ? s->hva[gpa - s->gpa] : 0xff;
}

static void guest_write(struct fake_kvm *k, struct memmap *mm, uint64_t gpa, uint8_t v)
{
	struct fake_slot *s = slot_at(k, gpa);

	if (s && !(s->flags & MEMMAP_SLOT_READONLY))
		s->hva[gpa - s->gpa] = v;
	else
		memmap_mmio_write(mm, gpa, &v, 1);   /* the exit vcpu.c hands over */
}

struct fixture {
	struct fake_kvm k;
	struct memmap mm;
	uint8_t *ram, *rom;
};

static int setup_common(void **state, bool with_rom)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->ram = calloc(1, RAM_SIZE);
	f->rom = calloc(1, ROM_SIZE);
	assert_non_null(f->ram);
	assert_non_null(f->rom);
	for (uint64_t i = 0; i < ROM_SIZE; i++)
		f->rom[i] = (uint8_t)(i * 7 + 3);
	memmap_init(&f->mm, f->ram, RAM_SIZE, 0, 1ULL << 40, true, fake_set_slot, fake_get_dirty,
		    &f->k, NULL);
	if (with_rom)
		assert_int_equal(memmap_set_rom(&f->mm, f->rom, ROM_SIZE), 0);
	assert_int_equal(memmap_vm_created(&f->mm), 0);
	*state = f;
	return 0;
}

static int setup_rom(void **state) { return setup_common(state, true); }
static int setup_direct(void **state) { return setup_common(state, false); }

static int teardown(void **state)
{
	struct fixture *f = *state;

	memmap_destroy(&f->mm);
	free(f->ram);
	free(f->rom);
	free(f);
	return 0;
}

static void set_pam_all(struct fixture *f, uint8_t pam0, uint8_t rest)
{
	uint8_t pam[7] = { pam0, rest, rest, rest, rest, rest, rest };

	memmap_set_pam(&f->mm, pam);
}

/* Direct boot: RAM everywhere but the VGA window; PAM changes nothing. */
static void test_direct_boot_layout(void **state)
{
	struct fixture *f = *state;
	struct memmap_slot plan[MEMMAP_MAX_SLOTS];
	int n = memmap_plan(&f->mm, plan, MEMMAP_MAX_SLOTS);

	assert_int_equal(n, 2);
	assert_int_equal(plan[0].gpa, 0);
	assert_int_equal(plan[0].size, 0xa0000);
	assert_int_equal(plan[1].gpa, 0xc0000);
	assert_int_equal(plan[1].size, RAM_SIZE - 0xc0000);
	assert_ptr_equal(plan[1].hva, f->ram + 0xc0000);
	assert_int_equal(plan[1].flags, 0);
	assert_null(slot_at(&f->k, 0xb8000));   /* the VGA window traps */
	f->ram[0xe0000] = 0x42;                 /* where direct boot's ACPI tables live */
	f->k.set_calls = 0;
	set_pam_all(f, 0, 0);
	assert_int_equal(f->k.set_calls, 0);
	assert_int_equal(guest_read(&f->k, 0xe0000), 0x42);
	assert_false(memmap_mmio_write(&f->mm, 0xe0000, "x", 1));
}

/* Power-on PAM (all disabled): the ROM's last 128 KiB at 0xE0000, nothing at 0xC0000. */
static void test_power_on_reads_rom(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(guest_read(&f->k, 0xffff0), f->rom[ROM_SIZE - 0x10]);
	assert_int_equal(guest_read(&f->k, 0xe0000), f->rom[0]);
	assert_int_equal(guest_read(&f->k, FOUR_GIB - 0x10), f->rom[ROM_SIZE - 0x10]);
	assert_int_equal(guest_read(&f->k, FOUR_GIB - ROM_SIZE), f->rom[0]);
	assert_int_equal(guest_read(&f->k, 0xc0000), 0xff);
	assert_int_equal(guest_read(&f->k, 0xdffff), 0xff);
	assert_int_equal(guest_read(&f->k, 0xa0000), 0xff);
	/* ROM writes are dropped, wherever the ROM shows. */
	guest_write(&f->k, &f->mm, 0xf0000, 0x99);
	guest_write(&f->k, &f->mm, FOUR_GIB - 1, 0x99);
	assert_int_equal(f->rom[ROM_SIZE - 0x10000], (uint8_t)((ROM_SIZE - 0x10000) * 7 + 3));
	assert_int_equal(f->rom[ROM_SIZE - 1], (uint8_t)((ROM_SIZE - 1) * 7 + 3));
	assert_int_equal(f->mm.rom_writes, 2);
	assert_int_equal(f->ram[0xf0000], 0);
	/* Nothing at 0xC0000 and PAM disabled: a write reaches no RAM. */
	guest_write(&f->k, &f->mm, 0xc0000, 0x99);
	assert_int_equal(f->ram[0xc0000], 0);
}

/*
 * SeaBIOS's shadowing (src/fw/shadow.c): PAM to read/write, copy the ROM
 * into RAM, then read-only.  Then write-only, which reads the ROM and
 * writes RAM.
 */
static void test_shadowing_sequence(void **state)
{
	struct fixture *f = *state;

	set_pam_all(f, 0x30, 0x33);
	for (uint64_t a = 0xe0000; a < 0x100000; a += 0x1000)
		guest_write(&f->k, &f->mm, a, f->rom[ROM_SIZE - (0x100000 - a)] ^ 0x5a);
	guest_write(&f->k, &f->mm, 0xc0000, 0x11);
	assert_int_equal(f->ram[0xf0000], f->rom[ROM_SIZE - 0x10000] ^ 0x5a);
	assert_int_equal(guest_read(&f->k, 0xf0000), f->ram[0xf0000]);
	assert_int_equal(guest_read(&f->k, 0xc0000), 0x11);
	/* Read-only: RAM reads, writes dropped. */
	set_pam_all(f, 0x10, 0x11);
	guest_write(&f->k, &f->mm, 0xf0000, 0x77);
	guest_write(&f->k, &f->mm, 0xc0000, 0x77);
	assert_int_equal(guest_read(&f->k, 0xf0000), f->rom[ROM_SIZE - 0x10000] ^ 0x5a);
	assert_int_equal(guest_read(&f->k, 0xc0000), 0x11);
	assert_int_equal(f->ram[0xc0000], 0x11);
	/* Write-only: reads reach the ROM (or nothing), writes reach RAM. */
	set_pam_all(f, 0x20, 0x22);
	assert_int_equal(guest_read(&f->k, 0xf0000), f->rom[ROM_SIZE - 0x10000]);
	assert_int_equal(guest_read(&f->k, 0xc0000), 0xff);
	guest_write(&f->k, &f->mm, 0xf0001, 0x66);
	guest_write(&f->k, &f->mm, 0xc0001, 0x67);
	assert_int_equal(f->ram[0xf0001], 0x66);
	assert_int_equal(f->ram[0xc0001], 0x67);
	assert_int_equal(f->rom[ROM_SIZE - 0x10000 + 1], (uint8_t)((ROM_SIZE - 0x10000 + 1) * 7 + 3));
	/* One segment alone: PAM1's low half to RAM leaves the others alone. */
	{
		uint8_t pam[7] = { 0x20, 0x23, 0x22, 0x22, 0x22, 0x22, 0x22 };

		f->k.set_calls = 0;
		memmap_set_pam(&f->mm, pam);
		assert_true(f->k.set_calls <= 3);
		assert_int_equal(guest_read(&f->k, 0xc0001), 0x67);
		assert_int_equal(guest_read(&f->k, 0xc4000), 0xff);
	}
}

static void test_pam_decode(void **state)
{
	uint8_t pam[7] = { 0x3f, 0x12, 0x30, 0x01, 0x00, 0x00, 0x23 };
	enum pam_mode m[PAM_NR_SEGMENTS];

	(void)state;
	memmap_pam_decode(pam, m);
	assert_int_equal(m[0], PAM_READ_WRITE);          /* PAM0 high nibble only */
	assert_int_equal(m[1], PAM_WRITE_ONLY);          /* 0xC0000: PAM1 bits 1:0 */
	assert_int_equal(m[2], PAM_READ_ONLY);           /* 0xC4000: PAM1 bits 5:4 */
	assert_int_equal(m[3], PAM_DISABLED);
	assert_int_equal(m[4], PAM_READ_WRITE);
	assert_int_equal(m[5], PAM_READ_ONLY);
	assert_int_equal(m[11], PAM_READ_WRITE);         /* 0xE8000: PAM6 low */
	assert_int_equal(m[12], PAM_WRITE_ONLY);         /* 0xEC000: PAM6 high */
	assert_int_equal(memmap_pam_segment_start(0), 0xf0000);
	assert_int_equal(memmap_pam_segment_size(0), 0x10000);
	assert_int_equal(memmap_pam_segment_start(1), 0xc0000);
	assert_int_equal(memmap_pam_segment_start(12), 0xec000);
	assert_int_equal(memmap_pam_segment_size(12), 0x4000);
}

/* A reboot: the VM goes, PAM returns to power-on, the new VM reads the ROM. */
static void test_reboot_remaps_rom(void **state)
{
	struct fixture *f = *state;

	set_pam_all(f, 0x30, 0x33);
	f->ram[0xffff0] = 0xab;
	assert_int_equal(guest_read(&f->k, 0xffff0), 0xab);
	memmap_vm_destroyed(&f->mm);
	memset(&f->k.slots, 0, sizeof(f->k.slots));   /* KVM drops the slots with the VM */
	assert_int_equal(memmap_vm_created(&f->mm), 0);
	assert_int_equal(guest_read(&f->k, 0xffff0), f->rom[ROM_SIZE - 0x10]);
	/* All RW once more merges RAM into one slot under 3.5 GiB again. */
	set_pam_all(f, 0x30, 0x33);
	assert_int_equal(nr_slots(&f->k), 3);   /* 0-0xA0000, 0xC0000-top, ROM */
}

static void test_set_rom_checks(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(memmap_set_rom(&f->mm, f->rom, 0), -EINVAL);
	assert_int_equal(memmap_set_rom(&f->mm, f->rom, 0x1000), -EINVAL);
	assert_int_equal(memmap_set_rom(&f->mm, f->rom, (16ULL << 20) + 0x10000), -EINVAL);
	assert_int_equal(memmap_set_rom(&f->mm, NULL, 0x10000), -EINVAL);
}

static void test_region_placement(void **state)
{
	struct fixture *f = *state;
	struct host_memregion *a = memmap_host_mem_ops.region_new(&f->mm, "a", 0x10000, 0);
	struct host_memregion *b = memmap_host_mem_ops.region_new(&f->mm, "b", 5000,
								  HOST_MEM_READONLY);
	unsigned int writes;

	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(b->size, 0x2000);   /* whole pages */
	assert_int_equal(host_memregion_map(a, 0xe0000001), -EINVAL);
	assert_int_equal(host_memregion_map(a, 1ULL << 40), -EINVAL);
	assert_int_equal(host_memregion_map(a, (1ULL << 40) - 0x1000), -EINVAL);
	assert_int_equal(host_memregion_map(a, 0x100000), -EEXIST);              /* RAM */
	assert_int_equal(host_memregion_map(a, 0xd0000), -EEXIST);               /* PAM window */
	assert_int_equal(host_memregion_map(a, FOUR_GIB - 0x10000), -EEXIST);    /* ROM */
	assert_int_equal(host_memregion_map(a, 0xfeff0000), -EEXIST);            /* KVM's pages */
	assert_false(a->mapped);
	assert_int_equal(host_memregion_map(a, 0xa0000), 0);                     /* VGA window */
	assert_true(a->mapped);
	a->hva[0x18000 - 0x10000] = 1;
	assert_int_equal(host_memregion_map(b, 0xa8000), -EEXIST);               /* region a */
	assert_int_equal(host_memregion_map(a, 0xe0000000), 0);                  /* moved */
	assert_null(slot_at(&f->k, 0xa0000));
	assert_non_null(slot_at(&f->k, 0xe0000000));
	assert_int_equal(host_memregion_map(b, 0xa8000), 0);
	/* A read-only region: reads its bytes, writes are dropped quietly. */
	b->hva[0] = 0x5c;
	assert_int_equal(guest_read(&f->k, 0xa8000), 0x5c);
	writes = f->mm.rom_writes;
	guest_write(&f->k, &f->mm, 0xa8000, 0x00);
	assert_int_equal(b->hva[0], 0x5c);
	assert_int_equal(f->mm.rom_writes, writes + 1);   /* seen, outside the ROM and PAM ranges */
	/* A refused move leaves it unmapped, and its old slot gone. */
	assert_int_equal(host_memregion_map(a, 0x1000), -EEXIST);
	assert_false(a->mapped);
	assert_null(slot_at(&f->k, 0xe0000000));
	host_memregion_unmap(b);
	assert_null(slot_at(&f->k, 0xa8000));
	host_memregion_free(a);
	host_memregion_free(b);
	assert_int_equal(f->mm.readonly_regions, 0);
	assert_false(memmap_mmio_write(&f->mm, 0xa8000, "x", 1));   /* no read-only region left */
	assert_int_equal(nr_slots(&f->k), 4);   /* RAM x2, the ROM and its alias at 0xE0000 stay */
}

static void test_region_dirty_log(void **state)
{
	struct fixture *f = *state;
	struct host_memregion *r = memmap_host_mem_ops.region_new(&f->mm, "fb", 70 * 4096,
								  HOST_MEM_DIRTY_LOG);
	struct host_memregion *plain = memmap_host_mem_ops.region_new(&f->mm, "p", 3 * 4096, 0);
	uint64_t bm[2];

	assert_non_null(r);
	assert_non_null(plain);
	/* Unmapped: the guest wrote nothing. */
	memset(bm, 0, sizeof(bm));
	assert_int_equal(host_memregion_get_dirty(r, bm), 0);
	assert_int_equal(bm[0] | bm[1], 0);
	assert_int_equal(host_memregion_map(r, 0xe0000000), 0);
	assert_true(slot_at(&f->k, 0xe0000000)->flags & MEMMAP_SLOT_DIRTY_LOG);
	/* After map(): every page, and only the region's 70. */
	memset(bm, 0, sizeof(bm));
	assert_int_equal(host_memregion_get_dirty(r, bm), 0);
	assert_int_equal(bm[0], ~0ULL);
	assert_int_equal(bm[1], (1ULL << 6) - 1);
	/* Then what KVM logged, ORed in. */
	f->k.dirty[0] = 0x5;
	f->k.dirty[1] = 0x20;
	bm[0] = 0x100;
	bm[1] = 0;
	assert_int_equal(host_memregion_get_dirty(r, bm), 0);
	assert_int_equal(bm[0], 0x105);
	assert_int_equal(bm[1], 0x20);
	memset(bm, 0, sizeof(bm));
	assert_int_equal(host_memregion_get_dirty(r, bm), 0);
	assert_int_equal(bm[0] | bm[1], 0);
	/* KVM fails: every page, and the error. */
	f->k.dirty_ret = -EIO;
	assert_int_equal(host_memregion_get_dirty(r, bm), -EIO);
	assert_int_equal(bm[0], ~0ULL);
	f->k.dirty_ret = 0;
	/* A reset: all dirty again in the new VM. */
	memmap_vm_destroyed(&f->mm);
	memset(&f->k.slots, 0, sizeof(f->k.slots));
	assert_int_equal(memmap_vm_created(&f->mm), 0);
	assert_non_null(slot_at(&f->k, 0xe0000000));
	memset(bm, 0, sizeof(bm));
	assert_int_equal(host_memregion_get_dirty(r, bm), 0);
	assert_int_equal(bm[0], ~0ULL);
	/* No dirty log asked for: always every page. */
	bm[0] = 0;
	assert_int_equal(host_memregion_get_dirty(plain, bm), 0);
	assert_int_equal(bm[0], 7);
	host_memregion_free(r);
	host_memregion_free(plain);
}

static void test_region_new_checks(void **state)
{
	struct fixture *f = *state;
	struct host_memregion *r[MEMMAP_MAX_REGIONS];

	assert_null(memmap_host_mem_ops.region_new(&f->mm, "z", 0, 0));
	assert_null(memmap_host_mem_ops.region_new(&f->mm, "big", (1ULL << 32) + 1, 0));
	assert_null(memmap_host_mem_ops.region_new(&f->mm, "flags", 4096, 0x80));
	for (unsigned int i = 0; i < MEMMAP_MAX_REGIONS; i++)
		assert_non_null(r[i] = memmap_host_mem_ops.region_new(&f->mm, "r", 4096, 0));
	assert_null(memmap_host_mem_ops.region_new(&f->mm, "one too many", 4096, 0));
	assert_int_equal(errno, ENOSPC);
	for (unsigned int i = 0; i < MEMMAP_MAX_REGIONS; i++)
		host_memregion_free(r[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_direct_boot_layout, setup_direct, teardown),
		cmocka_unit_test_setup_teardown(test_power_on_reads_rom, setup_rom, teardown),
		cmocka_unit_test_setup_teardown(test_shadowing_sequence, setup_rom, teardown),
		cmocka_unit_test(test_pam_decode),
		cmocka_unit_test_setup_teardown(test_reboot_remaps_rom, setup_rom, teardown),
		cmocka_unit_test_setup_teardown(test_set_rom_checks, setup_rom, teardown),
		cmocka_unit_test_setup_teardown(test_region_placement, setup_rom, teardown),
		cmocka_unit_test_setup_teardown(test_region_dirty_log, setup_rom, teardown),
		cmocka_unit_test_setup_teardown(test_region_new_checks, setup_rom, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
