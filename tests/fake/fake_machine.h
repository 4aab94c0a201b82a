/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A fake machine for unit tests and fuzzers: a struct dev_host with guest
 * RAM in a calloc'ed buffer, real port-I/O and MMIO buses, an interrupt
 * chip that records each GSI's level and rising edges, counters for the
 * reset/poweroff requests and clocks the test sets by hand, a PCI bus 0
 * and a recorder of the MSIs devices signal.  No KVM.
 */
#ifndef HUTCH_FAKE_MACHINE_H
#define HUTCH_FAKE_MACHINE_H

#include <stdint.h>

#include "device.h"
#include "pci.h"

#define FAKE_NR_GSI 64
#define FAKE_MAX_MSIS 64

struct fake_msi {
	uint64_t addr;
	uint32_t data;
};

struct fake_machine {
	struct dev_host host;
	struct bus pio, mmio;
	struct guest_mem mem;
	uint8_t *ram;
	uint64_t ram_size;

	int irq_level[FAKE_NR_GSI];          /* current level per GSI */
	unsigned int irq_edges[FAKE_NR_GSI]; /* 0 -> 1 transitions per GSI */
	unsigned int irq_bad_gsi;            /* set_level calls for GSIs >= FAKE_NR_GSI */

	unsigned int resets;      /* request_reset calls */
	unsigned int poweroffs;   /* request_poweroff calls */

	int64_t realtime_ns;      /* what clock_realtime_ns returns */
	int64_t monotonic_ns;     /* what clock_monotonic_ns returns */

	struct pci_bus *pci;      /* bus 0, also host.pci */
	struct fake_msi msis[FAKE_MAX_MSIS]; /* signal_msi and irqfd MSIs, first FAKE_MAX_MSIS */
	unsigned int nr_msis;     /* signal_msi calls and bound irqfd signals in all */

	/* The event loop (host_loop.h) on the virtual clock. */
	struct fake_timer *timers;     /* every timer created, armed or not */
	struct fake_watch *watches;
	struct fake_ioevent *ioevents;
	struct fake_irqfd *irqfds;
	bool offer_ioeventfd;          /* set before creating devices: ioevent_new works */
	bool offer_irqfd;              /* set before creating devices: irqfd_new works */
	unsigned int irqfd_signals;    /* irqfd_signal calls (bound or not) */
	unsigned int ioevent_hits;     /* guest writes an ioeventfd took */
	unsigned int timer_fires;      /* timer callbacks run */

	/* Device memory regions (host_mem.h) and the published display. */
	struct fake_memregion *memregions;   /* every region alive */
	const struct display_ops *display_ops;
	void *display_opaque;
	unsigned int display_publishes;      /* display_publish calls */

	/* Inputs published (input.h), in order; withdrawn ones removed. */
	struct {
		const struct input_ops *ops;
		void *opaque;
	} inputs[8];
	unsigned int nr_inputs;

	/* The host bridge's PAM registers as last reported (pam_changed). */
	uint8_t pam[7];
	unsigned int pam_changes;            /* pam_changed calls */
};

/* Set up @fm with @ram_size bytes of zeroed RAM at guest-physical 0
 * (no RAM if 0).  0 or -ENOMEM. */
int fake_machine_init(struct fake_machine *fm, uint64_t ram_size);
void fake_machine_destroy(struct fake_machine *fm);

/* Forget recorded edges, MSIs and request counts (levels stay). */
void fake_machine_clear_counts(struct fake_machine *fm);

/* Port I/O as a vCPU would do it; reads of unclaimed ports give all-ones. */
uint32_t fake_pio_read(struct fake_machine *fm, uint16_t port, unsigned int size);
void fake_pio_write(struct fake_machine *fm, uint16_t port, uint32_t value, unsigned int size);
static inline uint8_t fake_inb(struct fake_machine *fm, uint16_t port)
{
	return (uint8_t)fake_pio_read(fm, port, 1);
}
static inline void fake_outb(struct fake_machine *fm, uint16_t port, uint8_t v)
{
	fake_pio_write(fm, port, v, 1);
}

/* PCI configuration access to bus 0 (as the host bridge would forward it). */
uint32_t fake_pci_cfg_read(struct fake_machine *fm, uint8_t devfn, unsigned int off,
			   unsigned int size);
void fake_pci_cfg_write(struct fake_machine *fm, uint8_t devfn, unsigned int off,
			uint32_t value, unsigned int size);

/* MMIO as a vCPU would do it (size 1, 2, 4 or 8); unclaimed reads give all-ones. */
uint64_t fake_mmio_read(struct fake_machine *fm, uint64_t addr, unsigned int size);
void fake_mmio_write(struct fake_machine *fm, uint64_t addr, uint64_t value, unsigned int size);

/*
 * Run what the loop would run now: due timers, ioeventfd writes caught
 * since the last run, and fd watches whose fds are ready (poll with a
 * zero timeout).  Repeats until nothing is left, at most 64 rounds (a
 * device that keeps asking for a ready fd cannot hang the test).
 * Returns how many callbacks ran.
 */
unsigned int fake_loop_run(struct fake_machine *fm);
/*
 * Advance both clocks by @ns, firing every timer that falls due on the way
 * in deadline order, with the clocks at its deadline while it runs.
 */
void fake_advance(struct fake_machine *fm, int64_t ns);
/* Armed timers now (for leak checks). */
unsigned int fake_timers_armed(const struct fake_machine *fm);
/* ioeventfds registered now, and the one at @addr (MMIO) or not. */
unsigned int fake_ioevents(const struct fake_machine *fm);
bool fake_ioevent_at(const struct fake_machine *fm, uint64_t addr);
/* irqfds existing now (bound or not). */
unsigned int fake_irqfds(const struct fake_machine *fm);

/*
 * Play the guest writing @len bytes at @gpa into a mapped device memory
 * region (a framebuffer BAR): the bytes land in the region and its pages
 * count as dirty.  -EFAULT if the range is not inside one mapped region,
 * -EROFS for a read-only one (nothing written).
 */
int fake_guest_mem_write(struct fake_machine *fm, uint64_t gpa, const void *src, uint64_t len);
/* The mapped region holding @gpa, or NULL. */
struct host_memregion *fake_memregion_at(struct fake_machine *fm, uint64_t gpa);
/* Regions alive now (for leak checks). */
unsigned int fake_memregions(const struct fake_machine *fm);

/* Internal to the fake (fake_loop.c): its loop ops, and the ioeventfd
 * check the fake's port and MMIO writes make first (true = taken). */
extern const struct host_loop_ops fake_loop_ops;
extern const struct host_mem_ops fake_mem_ops;
bool fake_ioevent_catch(struct fake_machine *fm, bool pio, uint64_t addr, unsigned int size);

/* Create @model on @fm with @args, or with no back ends and default
 * base/GSI if @args is NULL.  NULL with errno set on failure. */
struct device *fake_device_create(struct fake_machine *fm, const struct device_model *model,
				  const struct device_args *args);

/* Save @dev into a fresh writer @w; load @w into @dev (its current version). */
int fake_save(struct device *dev, struct sv_writer *w);
int fake_load(struct device *dev, const struct sv_writer *w);

/*
 * Snapshot @src and restore it into a new instance on @fm2, a fresh fake
 * machine with @src's clocks: the restored copy, or NULL if any step
 * failed.  The caller destroys the copy and @fm2.
 */
struct device *fake_clone(struct device *src, struct fake_machine *fm2);

#endif
