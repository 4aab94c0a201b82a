/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PCI bus 0 of the emulated PC, and the PCI function that device models
 * embed.
 *
 * The machine owns one struct pci_bus (reached by models through
 * dev_host.pci).  The i440FX host bridge model decodes configuration
 * mechanism #1 (0xCF8/0xCFC) and forwards to pci_bus_config_read/write.
 *
 * A PCI device model embeds a struct pci_function in its private state,
 * initialises it (pci_function_init, BARs, capabilities) in create() and
 * attaches it to the bus.  The core owns the standard header: BAR sizing
 * and (re)mapping of BARs on dev_host.pio/mmio when the guest moves them
 * or toggles decoding in the command register, INTx routing, and MSI /
 * MSI-X delivery.  The BAR handlers receive offsets within the BAR, like
 * every other region.
 *
 * MSI and MSI-X go through an irqfd per vector where the host offers them
 * (host_loop.h; one eventfd write per interrupt instead of an ioctl), made
 * the first time a vector is sent and bound to the message the guest
 * programmed for it; else through dev_host.signal_msi.
 *
 * Locking: every call on a pci_function is made with its owning device's
 * lock held (config accesses and BAR dispatch already hold it).
 *
 * Interrupt routing (described to the guest by the DSDT's _PRT): INTx pin
 * P (1 = INTA) of slot S drives PIIX3's PIRQ[(S + P - 1) % 4], which in
 * APIC mode is I/O APIC input 16 + that index (level, active low), as on
 * real PIIX3 boards.
 */
#ifndef HUTCH_PCI_H
#define HUTCH_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "bus.h"

struct device;
struct host_memregion;
struct dev_host;

#define PCI_CONFIG_SIZE  256
#define PCI_MAX_SLOTS    32
#define PCI_MAX_FUNCS    8
#define PCI_NUM_BARS     6
#define PCI_GSI_BASE     16      /* PIRQA..D -> I/O APIC inputs 16..19 */
#define PCI_NUM_PIRQS    4

/* Windows BARs are placed in (also the host bridge's _CRS in the DSDT). */
#define PCI_MMIO32_BASE  0xe0000000ULL   /* the PCI hole starts at 3.5 GiB */
#define PCI_MMIO32_END   0xfec00000ULL   /* exclusive: I/O APIC, HPET, LAPIC above */
#define PCI_IO_BASE      0xc000
#define PCI_IO_END       0x10000         /* exclusive */

/* Configuration mechanism #1 (decoded by the i440fx model). */
#define PCI_CONFIG_ADDR_PORT 0xcf8
#define PCI_CONFIG_DATA_PORT 0xcfc
#define PCI_CONFIG_PORTS_END 0xd00       /* 0xCF8-0xCFF reserved in the DSDT */

#define PCI_VENDOR_INTEL 0x8086

/* Standard configuration header offsets (type 0). */
#define PCI_VENDOR_ID        0x00
#define PCI_DEVICE_ID        0x02
#define PCI_COMMAND          0x04
#define  PCI_COMMAND_IO          0x0001
#define  PCI_COMMAND_MEMORY      0x0002
#define  PCI_COMMAND_MASTER      0x0004
#define  PCI_COMMAND_INTX_DISABLE 0x0400
#define PCI_STATUS           0x06
#define  PCI_STATUS_INTERRUPT    0x0008
#define  PCI_STATUS_CAP_LIST     0x0010
#define PCI_REVISION_ID      0x08
#define PCI_CLASS_PROG       0x09
#define PCI_HEADER_TYPE      0x0e
#define  PCI_HEADER_MULTI_FUNC   0x80
#define PCI_BAR0             0x10
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID     0x2e
#define PCI_CAPABILITY_LIST  0x34
#define PCI_INTERRUPT_LINE   0x3c
#define PCI_INTERRUPT_PIN    0x3d

#define PCI_CAP_ID_MSI       0x05
#define PCI_CAP_ID_VNDR      0x09
#define PCI_CAP_ID_MSIX      0x11

enum pci_bar_type {
	PCI_BAR_UNUSED = 0,
	PCI_BAR_IO,        /* port I/O, size >= 4 */
	PCI_BAR_MEM32,     /* 32-bit memory, size >= 16 */
	PCI_BAR_MEM64,     /* 64-bit memory: takes this BAR and the next */
};

/* pci_function_add_bar_region flags */
#define PCI_BAR_PREFETCH     0x1        /* memory BAR: prefetchable (bit 3) */

struct pci_bar {
	enum pci_bar_type type;
	uint64_t size;                      /* power of two */
	const struct io_region_ops *ops;    /* called with offsets in the BAR */
	struct host_memregion *region;      /* RAM-backed BAR (ops NULL): mapped, not trapped */
	uint64_t refused_addr;              /* region map refused here (logged once) */
	uint64_t addr;                      /* as the guest programmed it */
	uint64_t reset_addr;                /* where pci_bus_attach placed it */
	bool mapped;                        /* registered on pio/mmio now */
	uint64_t mapped_addr;
};

/* A vector's irqfd and the message it is bound to (pci.c). */
struct pci_msi_route;

struct pci_msix {
	unsigned int nr_vectors;            /* 0 = no MSI-X capability */
	unsigned int bar;                   /* BAR holding table (at 0) and PBA */
	uint8_t cap;                        /* capability offset */
	uint32_t pba_offset;                /* PBA's offset in the BAR */
	uint8_t *table;                     /* nr_vectors * 16 bytes */
	uint64_t *pba;                      /* pending bits */
	struct pci_msi_route *routes;       /* per vector, NULL until one is sent */
};

struct pci_msi {
	uint8_t cap;                        /* 0 = no MSI capability */
	unsigned int nr_vectors;            /* 1, 2, 4, 8, 16 or 32 */
	struct pci_msi_route *routes;       /* per vector, NULL until one is sent */
};

struct pci_function {
	struct device *dev;                 /* owner; its lock guards all of this */
	struct pci_bus *bus;                /* NULL until attached */
	uint8_t devfn;                      /* slot << 3 | function */
	uint8_t config[PCI_CONFIG_SIZE];
	uint8_t wmask[PCI_CONFIG_SIZE];     /* guest-writable bits */
	uint8_t w1cmask[PCI_CONFIG_SIZE];   /* write-one-to-clear bits */
	uint8_t next_cap;                   /* where the next capability goes */
	struct pci_bar bars[PCI_NUM_BARS];
	struct pci_msi msi;
	struct pci_msix msix;
	bool no_irqfd;                      /* the host offers no irqfd: signal_msi */
	int intx_level;                     /* what the device drives on its pin */
	bool intx_asserted;                 /* counted on its PIRQ now (level, not
					     * disabled, no MSI/MSI-X) */

	/*
	 * Optional model hooks for device-specific config registers
	 * (PIIX3's PIRQ routing, for example).  config_write runs after the
	 * core stored the (masked) value; config_read may replace the value.
	 */
	void (*config_write)(struct pci_function *f, unsigned int off, uint32_t val,
			     unsigned int size);
	uint32_t (*config_read)(struct pci_function *f, unsigned int off, uint32_t val,
				unsigned int size);
};

/* ---- the bus (machine side) ---- */

/* Create bus 0 for @host (BARs map on host->pio / host->mmio). NULL on ENOMEM. */
struct pci_bus *pci_bus_create(struct dev_host *host);
void pci_bus_destroy(struct pci_bus *bus);

/*
 * Configuration access as mechanism #1 decodes it (bus 0 only; other
 * buses and absent functions read all-ones, writes are dropped).  @off is
 * the register offset (0..255), @size 1, 2 or 4, naturally aligned.
 * Takes the target device's lock.
 */
uint32_t pci_bus_config_read(struct pci_bus *bus, uint8_t busnr, uint8_t devfn,
			     unsigned int off, unsigned int size);
void pci_bus_config_write(struct pci_bus *bus, uint8_t busnr, uint8_t devfn,
			  unsigned int off, uint32_t val, unsigned int size);

/* The GSI INTx pin @pin (1..4) of @slot raises. */
uint32_t pci_intx_gsi(unsigned int slot, unsigned int pin);

/* The function at @devfn, or NULL (for tests and the ACPI builder). */
struct pci_function *pci_bus_function(struct pci_bus *bus, uint8_t devfn);

/* ---- a function (model side) ---- */

/* Fill a type-0 header; @class_code is class << 16 | subclass << 8 | prog-if. */
void pci_function_init(struct pci_function *f, struct device *dev, uint16_t vendor,
		       uint16_t device_id, uint32_t class_code, uint8_t revision,
		       uint16_t subsys_vendor, uint16_t subsys_id);

/* Declare BAR @idx.  0, or -EINVAL (bad index, size not a power of two or too small). */
int pci_function_add_bar(struct pci_function *f, unsigned int idx, enum pci_bar_type type,
			 uint64_t size, const struct io_region_ops *ops);

/*
 * Declare memory BAR @idx served by @region (host_mem.h), which the guest
 * then reaches without exits: the core maps it where the guest programs
 * the BAR while memory decoding is on and unmaps it when decoding goes
 * off, the BAR moves or is being sized, at reset and at detach.  The BAR
 * is @region's size rounded up to a power of two (the region fills its
 * start).  @flags: PCI_BAR_PREFETCH.  The model keeps owning @region and
 * frees it after pci_bus_detach.  0, or -EINVAL (not a memory type, bad
 * index, region too large for the type).
 */
int pci_function_add_bar_region(struct pci_function *f, unsigned int idx, enum pci_bar_type type,
				struct host_memregion *region, unsigned int flags);

/* Use INTx pin @pin (1 = INTA .. 4 = INTD). */
void pci_function_set_intx_pin(struct pci_function *f, unsigned int pin);

/* Append a capability of @len bytes with ID @id; returns its offset or -ENOSPC. */
int pci_function_add_capability(struct pci_function *f, uint8_t id, unsigned int len);

/* MSI capability with @nr_vectors (power of two <= 32), 64-bit address, maskable. */
int pci_function_add_msi(struct pci_function *f, unsigned int nr_vectors);
/* MSI-X with @nr_vectors; the table (at 0) and PBA live in BAR @bar, which
 * this declares as a MEM32 BAR served by the core. */
int pci_function_add_msix(struct pci_function *f, unsigned int nr_vectors, unsigned int bar);

/*
 * Attach to the bus at @slot/@func (@slot -1: the lowest free slot,
 * function 0).  BARs get initial addresses in the windows above (Hutch
 * boots Linux without firmware, so the VMM does the firmware's placement);
 * decoding stays off until the guest enables it.  0, -EBUSY, -ENOSPC.
 */
int pci_bus_attach(struct pci_bus *bus, struct pci_function *f, int slot, unsigned int func);
/* Unmap BARs, free the MSI irqfds and detach (device_destroy time, without
 * the device lock). */
void pci_bus_detach(struct pci_function *f);

/* Back to power-on state: command 0, BARs at their initial addresses
 * unmapped, MSI/MSI-X disabled and masked, INTx deasserted. */
void pci_function_reset(struct pci_function *f);

/* Drive the INTx pin (level); honours the command register's INTx disable. */
void pci_set_irq(struct pci_function *f, int level);

/*
 * Send interrupt @vector by MSI-X (masked: set its pending bit) or MSI.
 * Returns false when neither is enabled: the model then uses INTx.
 */
bool pci_msi_notify(struct pci_function *f, unsigned int vector);
bool pci_msix_enabled(const struct pci_function *f);
bool pci_msi_enabled(const struct pci_function *f);

/* Bus mastering (DMA) enabled by the guest? A model does no DMA otherwise. */
bool pci_bus_master(const struct pci_function *f);

/* Save/load the config space and MSI-X table (for the model's save/load). */
struct sv_writer;
struct sv_reader;
int pci_function_save(struct pci_function *f, struct sv_writer *w);
int pci_function_load(struct pci_function *f, struct sv_reader *r);

#endif
