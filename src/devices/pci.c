// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * PCI bus 0 and the standard part of every PCI function (PCI Local Bus
 * Specification 3.0, chapter 6 "Configuration Space"): the type-0 header
 * with its write masks, BAR sizing and mapping, the capability list, INTx
 * routed through PIIX3's four PIRQ lines, MSI and MSI-X.
 *
 * Locking.  Each function is guarded by its owning device's lock (held by
 * config accesses and BAR dispatch).  The bus has one mutex of its own, a
 * leaf taken under device locks: it guards the devfn table, the window
 * cursors and the per-PIRQ assertion counts that several functions share.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "host_mem.h"
#include "pci.h"
#include "savestate.h"

/* BAR low bits (PCI 3.0, 6.2.5.1) */
#define BAR_IO_SPACE        0x1
#define BAR_MEM_TYPE_64     0x4
#define BAR_MEM_PREFETCH    0x8
#define BAR_IO_ADDR_MASK    0xfffffffcu
#define BAR_MEM_ADDR_MASK   0xfffffff0u
/* x86 has 64 KiB of port space: the upper half of an I/O BAR reads zero. */
#define BAR_IO_LIMIT        0xffffu

#define PCI_STATUS_W1C_HI   0xf9   /* status bits 8, 11..15 (byte 0x07) */
#define PCI_COMMAND_WMASK   (PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | \
			     0x0040 /* parity */ | 0x0100 /* SERR# */ | PCI_COMMAND_INTX_DISABLE)
#define PCI_CACHE_LINE_SIZE 0x0c
#define PCI_LATENCY_TIMER   0x0d
#define PCI_BAR_END         0x28
#define PCI_CAP_START       0x40

/* MSI capability, 64-bit with per-vector masking (PCI 3.0, 6.8.1) */
#define MSI_CTRL            2
#define  MSI_CTRL_ENABLE        0x0001
#define  MSI_CTRL_MMC_SHIFT     1
#define  MSI_CTRL_MME_SHIFT     4
#define  MSI_CTRL_MME_MASK      0x0070
#define  MSI_CTRL_64BIT         0x0080
#define  MSI_CTRL_MASKABLE      0x0100
#define MSI_ADDR_LO         4
#define MSI_ADDR_HI         8
#define MSI_DATA            12
#define MSI_MASK            16
#define MSI_PENDING         20
#define MSI_CAP_LEN         24

/* MSI-X capability and table (PCI 3.0, 6.8.2) */
#define MSIX_CTRL           2
#define  MSIX_CTRL_MASKALL      0x4000
#define  MSIX_CTRL_ENABLE       0x8000
#define MSIX_TABLE          4
#define MSIX_PBA            8
#define MSIX_CAP_LEN        12
#define MSIX_ENTRY_SIZE     16
#define MSIX_ENTRY_ADDR_LO  0
#define MSIX_ENTRY_ADDR_HI  4
#define MSIX_ENTRY_DATA     8
#define MSIX_ENTRY_CTRL     12
#define  MSIX_ENTRY_MASKED      0x1
#define MSIX_MAX_VECTORS    2048
#define MSIX_PBA_ALIGN      0x800
#define MSIX_MIN_BAR        0x1000

#define PCI_SAVE_VERSION    1

struct pci_bus {
	struct dev_host *host;
	pthread_mutex_t lock;                  /* leaf: taken under device locks */
	struct pci_function *funcs[PCI_MAX_SLOTS * PCI_MAX_FUNCS];
	unsigned int pirq_count[PCI_NUM_PIRQS]; /* functions asserting each PIRQ */
	uint64_t next_io, next_mmio;           /* window cursors for placement */
};

/* ---- little-endian config helpers ---- */

static uint32_t cfg_get(const uint8_t *p, unsigned int off, unsigned int size)
{
	uint32_t v = 0;

	for (unsigned int i = 0; i < size; i++)
		v |= (uint32_t)p[off + i] << (8 * i);
	return v;
}

static void cfg_put(uint8_t *p, unsigned int off, uint32_t v, unsigned int size)
{
	for (unsigned int i = 0; i < size; i++)
		p[off + i] = (uint8_t)(v >> (8 * i));
}

static bool range_hits(unsigned int off, unsigned int size, unsigned int start, unsigned int len)
{
	return off < start + len && start < off + size;
}

/* ---- the bus ---- */

struct pci_bus *pci_bus_create(struct dev_host *host)
{
	struct pci_bus *bus = calloc(1, sizeof(*bus));

	if (!bus)
		return NULL;
	bus->host = host;
	pthread_mutex_init(&bus->lock, NULL);
	bus->next_io = PCI_IO_BASE;
	bus->next_mmio = PCI_MMIO32_BASE;
	return bus;
}

void pci_bus_destroy(struct pci_bus *bus)
{
	if (!bus)
		return;
	pthread_mutex_destroy(&bus->lock);
	free(bus);
}

uint32_t pci_intx_gsi(unsigned int slot, unsigned int pin)
{
	if (pin < 1 || pin > 4)
		pin = 1;
	return PCI_GSI_BASE + (slot + pin - 1) % PCI_NUM_PIRQS;
}

struct pci_function *pci_bus_function(struct pci_bus *bus, uint8_t devfn)
{
	struct pci_function *f;

	pthread_mutex_lock(&bus->lock);
	f = bus->funcs[devfn];
	pthread_mutex_unlock(&bus->lock);
	return f;
}

static bool cfg_access_ok(unsigned int off, unsigned int size)
{
	return (size == 1 || size == 2 || size == 4) && !(off & (size - 1)) &&
	       off + size <= PCI_CONFIG_SIZE;
}

static uint32_t pci_function_config_read(struct pci_function *f, unsigned int off,
					 unsigned int size);
static void pci_function_config_write(struct pci_function *f, unsigned int off, uint32_t val,
				      unsigned int size);

uint32_t pci_bus_config_read(struct pci_bus *bus, uint8_t busnr, uint8_t devfn,
			     unsigned int off, unsigned int size)
{
	struct pci_function *f;
	uint32_t v;

	if (!cfg_access_ok(off, size))
		return 0xffffffffu;
	f = busnr == 0 ? pci_bus_function(bus, devfn) : NULL;
	if (!f)
		return size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
	pthread_mutex_lock(&f->dev->lock);
	v = pci_function_config_read(f, off, size);
	pthread_mutex_unlock(&f->dev->lock);
	return v;
}

void pci_bus_config_write(struct pci_bus *bus, uint8_t busnr, uint8_t devfn,
			  unsigned int off, uint32_t val, unsigned int size)
{
	struct pci_function *f;

	if (!cfg_access_ok(off, size))
		return;
	f = busnr == 0 ? pci_bus_function(bus, devfn) : NULL;
	if (!f)
		return;
	pthread_mutex_lock(&f->dev->lock);
	pci_function_config_write(f, off, val, size);
	pthread_mutex_unlock(&f->dev->lock);
}

/* ---- header set-up (model side, at create time) ---- */

void pci_function_init(struct pci_function *f, struct device *dev, uint16_t vendor,
		       uint16_t device_id, uint32_t class_code, uint8_t revision,
		       uint16_t subsys_vendor, uint16_t subsys_id)
{
	memset(f, 0, sizeof(*f));
	f->dev = dev;
	cfg_put(f->config, PCI_VENDOR_ID, vendor, 2);
	cfg_put(f->config, PCI_DEVICE_ID, device_id, 2);
	f->config[PCI_REVISION_ID] = revision;
	cfg_put(f->config, PCI_CLASS_PROG, class_code, 3);
	cfg_put(f->config, PCI_SUBSYSTEM_VENDOR_ID, subsys_vendor, 2);
	cfg_put(f->config, PCI_SUBSYSTEM_ID, subsys_id, 2);
	cfg_put(f->wmask, PCI_COMMAND, PCI_COMMAND_WMASK, 2);
	f->w1cmask[PCI_STATUS + 1] = PCI_STATUS_W1C_HI;
	f->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
	f->wmask[PCI_LATENCY_TIMER] = 0xff;
	f->wmask[PCI_INTERRUPT_LINE] = 0xff;
	f->next_cap = PCI_CAP_START;
}

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

int pci_function_add_bar(struct pci_function *f, unsigned int idx, enum pci_bar_type type,
			 uint64_t size, const struct io_region_ops *ops)
{
	struct pci_bar *b;
	unsigned int off = PCI_BAR0 + 4 * idx;
	uint64_t mask;

	if (idx >= PCI_NUM_BARS || !is_pow2(size) || !ops || f->bars[idx].type != PCI_BAR_UNUSED)
		return -EINVAL;
	if (idx > 0 && f->bars[idx - 1].type == PCI_BAR_MEM64)
		return -EINVAL;   /* the upper half of a 64-bit BAR */
	switch (type) {
	case PCI_BAR_IO:
		if (size < 4 || size > 256)   /* PCI 3.0 6.2.5.1: at most 256 bytes */
			return -EINVAL;
		f->config[off] = BAR_IO_SPACE;
		/*
		 * All 32 address bits writable, as on QEMU: SeaBIOS sizes an I/O
		 * BAR with a 32-bit mask (pciinit.c) and reads hard-wired zeros
		 * in bits 31:16 as a BAR of 4 GiB ("out of I/O address space").
		 * An address above 0xFFFF is never decoded (pci_update_mappings).
		 */
		cfg_put(f->wmask, off, (uint32_t)~(size - 1) & BAR_IO_ADDR_MASK, 4);
		break;
	case PCI_BAR_MEM32:
		if (size < 16 || size > 0x80000000ULL)
			return -EINVAL;
		cfg_put(f->wmask, off, (uint32_t)~(size - 1) & BAR_MEM_ADDR_MASK, 4);
		break;
	case PCI_BAR_MEM64:
		if (size < 16 || idx + 1 >= PCI_NUM_BARS || f->bars[idx + 1].type != PCI_BAR_UNUSED)
			return -EINVAL;
		mask = ~(size - 1);
		f->config[off] = BAR_MEM_TYPE_64;
		cfg_put(f->wmask, off, (uint32_t)mask & BAR_MEM_ADDR_MASK, 4);
		cfg_put(f->wmask, off + 4, (uint32_t)(mask >> 32), 4);
		break;
	default:
		return -EINVAL;
	}
	b = &f->bars[idx];
	b->type = type;
	b->size = size;
	b->ops = ops;
	return 0;
}

int pci_function_add_bar_region(struct pci_function *f, unsigned int idx, enum pci_bar_type type,
				struct host_memregion *region, unsigned int flags)
{
	/* Any non-NULL ops pass add_bar's check; a region BAR is never on the bus. */
	static const struct io_region_ops no_ops;
	uint64_t size = 16;
	int ret;

	if ((type != PCI_BAR_MEM32 && type != PCI_BAR_MEM64) || !region || !region->size)
		return -EINVAL;
	while (size < region->size && size < (1ULL << 62))
		size <<= 1;
	/* At least a page: a mapping is made of whole pages. */
	if (size < HOST_MEM_PAGE_SIZE)
		size = HOST_MEM_PAGE_SIZE;
	ret = pci_function_add_bar(f, idx, type, size, &no_ops);
	if (ret)
		return ret;
	f->bars[idx].ops = NULL;
	f->bars[idx].region = region;
	if (flags & PCI_BAR_PREFETCH)
		f->config[PCI_BAR0 + 4 * idx] |= BAR_MEM_PREFETCH;
	return 0;
}

void pci_function_set_intx_pin(struct pci_function *f, unsigned int pin)
{
	f->config[PCI_INTERRUPT_PIN] = (pin >= 1 && pin <= 4) ? (uint8_t)pin : 0;
}

int pci_function_add_capability(struct pci_function *f, uint8_t id, unsigned int len)
{
	unsigned int off = (f->next_cap + 3u) & ~3u;
	unsigned int link = PCI_CAPABILITY_LIST;

	if (off < PCI_CAP_START)
		off = PCI_CAP_START;
	if (len < 2 || off + len > PCI_CONFIG_SIZE)
		return -ENOSPC;
	/* Append at the end of the chain; the walk is bounded by the 48 dwords
	 * a capability can occupy, so a bad chain cannot loop. */
	for (unsigned int n = 0; f->config[link] && n < 48; n++)
		link = f->config[link] + 1u;
	f->config[link] = (uint8_t)off;
	f->config[off] = id;
	f->config[off + 1] = 0;
	f->next_cap = (uint8_t)(off + len < PCI_CONFIG_SIZE ? off + len : 0xff);
	cfg_put(f->config, PCI_STATUS, cfg_get(f->config, PCI_STATUS, 2) | PCI_STATUS_CAP_LIST, 2);
	return (int)off;
}

int pci_function_add_msi(struct pci_function *f, unsigned int nr_vectors)
{
	unsigned int mmc = 0;
	uint32_t vmask;
	int cap;

	if (!is_pow2(nr_vectors) || nr_vectors > 32 || f->msi.cap)
		return -EINVAL;
	while ((1u << mmc) < nr_vectors)
		mmc++;
	cap = pci_function_add_capability(f, PCI_CAP_ID_MSI, MSI_CAP_LEN);
	if (cap < 0)
		return cap;
	f->msi.cap = (uint8_t)cap;
	f->msi.nr_vectors = nr_vectors;
	cfg_put(f->config, cap + MSI_CTRL,
		MSI_CTRL_64BIT | MSI_CTRL_MASKABLE | mmc << MSI_CTRL_MMC_SHIFT, 2);
	cfg_put(f->wmask, cap + MSI_CTRL, MSI_CTRL_ENABLE | MSI_CTRL_MME_MASK, 2);
	cfg_put(f->wmask, cap + MSI_ADDR_LO, 0xfffffffcu, 4);
	cfg_put(f->wmask, cap + MSI_ADDR_HI, 0xffffffffu, 4);
	cfg_put(f->wmask, cap + MSI_DATA, 0xffff, 2);
	vmask = nr_vectors == 32 ? 0xffffffffu : (1u << nr_vectors) - 1;
	cfg_put(f->wmask, cap + MSI_MASK, vmask, 4);
	return cap;
}

static const struct io_region_ops pci_msix_bar_ops;

int pci_function_add_msix(struct pci_function *f, unsigned int nr_vectors, unsigned int bar)
{
	uint32_t table_len, pba_len;
	uint64_t bar_size = MSIX_MIN_BAR;
	int cap, ret;

	if (!nr_vectors || nr_vectors > MSIX_MAX_VECTORS || bar >= PCI_NUM_BARS ||
	    f->msix.nr_vectors)
		return -EINVAL;
	table_len = nr_vectors * MSIX_ENTRY_SIZE;
	pba_len = (nr_vectors + 63) / 64 * 8;
	f->msix.pba_offset = (table_len + MSIX_PBA_ALIGN - 1) & ~(MSIX_PBA_ALIGN - 1);
	while (bar_size < f->msix.pba_offset + pba_len)
		bar_size <<= 1;
	ret = pci_function_add_bar(f, bar, PCI_BAR_MEM32, bar_size, &pci_msix_bar_ops);
	if (ret < 0)
		return ret;
	cap = pci_function_add_capability(f, PCI_CAP_ID_MSIX, MSIX_CAP_LEN);
	if (cap < 0)
		goto undo_bar;
	f->msix.table = calloc(nr_vectors, MSIX_ENTRY_SIZE);
	f->msix.pba = calloc((nr_vectors + 63) / 64, sizeof(uint64_t));
	if (!f->msix.table || !f->msix.pba) {
		free(f->msix.table);
		free(f->msix.pba);
		f->msix.table = NULL;
		f->msix.pba = NULL;
		cap = -ENOMEM;
		goto undo_bar;
	}
	f->msix.nr_vectors = nr_vectors;
	f->msix.bar = bar;
	f->msix.cap = (uint8_t)cap;
	cfg_put(f->config, cap + MSIX_CTRL, nr_vectors - 1, 2);
	cfg_put(f->config, cap + MSIX_TABLE, 0 | bar, 4);
	cfg_put(f->config, cap + MSIX_PBA, f->msix.pba_offset | bar, 4);
	cfg_put(f->wmask, cap + MSIX_CTRL, MSIX_CTRL_MASKALL | MSIX_CTRL_ENABLE, 2);
	for (unsigned int v = 0; v < nr_vectors; v++)
		f->msix.table[v * MSIX_ENTRY_SIZE + MSIX_ENTRY_CTRL] = MSIX_ENTRY_MASKED;
	return cap;

undo_bar:
	f->bars[bar] = (struct pci_bar){ 0 };
	cfg_put(f->config, PCI_BAR0 + 4 * bar, 0, 4);
	cfg_put(f->wmask, PCI_BAR0 + 4 * bar, 0, 4);
	return cap;
}

/* ---- BARs ---- */

static uint64_t bar_config_addr(const struct pci_function *f, unsigned int idx)
{
	const struct pci_bar *b = &f->bars[idx];
	unsigned int off = PCI_BAR0 + 4 * idx;
	uint64_t a = cfg_get(f->config, off, 4);

	switch (b->type) {
	case PCI_BAR_IO:
		return a & BAR_IO_ADDR_MASK & ~(b->size - 1);
	case PCI_BAR_MEM32:
		return a & BAR_MEM_ADDR_MASK & ~(b->size - 1);
	case PCI_BAR_MEM64:
		a |= (uint64_t)cfg_get(f->config, off + 4, 4) << 32;
		return a & ~(uint64_t)0xf & ~(b->size - 1);
	default:
		return 0;
	}
}

static void bar_set_config_addr(struct pci_function *f, unsigned int idx, uint64_t addr)
{
	unsigned int off = PCI_BAR0 + 4 * idx;
	uint32_t flags = f->config[off] & 0xf;

	cfg_put(f->config, off, (uint32_t)addr | flags, 4);
	if (f->bars[idx].type == PCI_BAR_MEM64)
		cfg_put(f->config, off + 4, (uint32_t)(addr >> 32), 4);
	f->bars[idx].addr = addr;
}

static bool overlaps_ram(const struct guest_mem *gm, uint64_t addr, uint64_t size)
{
	if (!gm)
		return false;
	for (unsigned int i = 0; i < gm->nr_regions; i++) {
		const struct gm_region *r = &gm->regions[i];

		if (addr <= r->gpa + (r->size - 1) && r->gpa <= addr + (size - 1))
			return true;
	}
	return false;
}

static struct bus *bar_bus(const struct pci_function *f, const struct pci_bar *b)
{
	return b->type == PCI_BAR_IO ? f->dev->host->pio : f->dev->host->mmio;
}

static void bar_unmap(struct pci_function *f, struct pci_bar *b)
{
	if (!b->mapped)
		return;
	if (b->region)
		host_memregion_unmap(b->region);
	else
		bus_unregister(bar_bus(f, b), b->mapped_addr);
	b->mapped = false;
}

/*
 * While software sizes a BAR it holds all-ones in its writable bits (PCI
 * 3.0, 6.2.5.1); that is no address to put guest-visible RAM at.  A 64-bit
 * BAR is sized one dword at a time: all-ones in either half counts.
 */
static bool bar_being_sized(const struct pci_function *f, unsigned int idx)
{
	unsigned int off = PCI_BAR0 + 4 * idx;
	uint32_t mask = cfg_get(f->wmask, off, 4), val = cfg_get(f->config, off, 4);

	if ((val & mask) == mask)
		return true;
	if (f->bars[idx].type != PCI_BAR_MEM64)
		return false;
	mask = cfg_get(f->wmask, off + 4, 4);
	val = cfg_get(f->config, off + 4, 4);
	return mask && (val & mask) == mask;
}

/* Map a RAM-backed BAR at @addr; a refusal is logged once per address. */
static void bar_map_region(struct pci_function *f, unsigned int idx, uint64_t addr)
{
	struct pci_bar *b = &f->bars[idx];
	int ret = host_memregion_map(b->region, addr);

	if (ret) {
		if (b->refused_addr != addr)
			device_log(f->dev, "PCI BAR%u at 0x%llx (size 0x%llx) refused (%s): left unmapped",
				   idx, (unsigned long long)addr, (unsigned long long)b->size,
				   strerror(-ret));
		b->refused_addr = addr;
		return;
	}
	b->refused_addr = 0;
	b->mapped = true;
	b->mapped_addr = addr;
}

/*
 * Make each BAR's registration match the header: mapped at its address
 * while the command register decodes its space.  Address 0 means "not
 * assigned" (as in Linux and QEMU).  A BAR that would overlap RAM or
 * another region stays unmapped and is logged; the guest sees a BAR that
 * does not respond, the VMM goes on.
 */
static void pci_update_mappings(struct pci_function *f)
{
	uint16_t cmd = (uint16_t)cfg_get(f->config, PCI_COMMAND, 2);

	if (!f->bus)
		return;
	for (unsigned int i = 0; i < PCI_NUM_BARS; i++) {
		struct pci_bar *b = &f->bars[i];
		bool decode;
		uint64_t addr;
		int ret;

		if (b->type == PCI_BAR_UNUSED)
			continue;
		addr = bar_config_addr(f, i);
		b->addr = addr;
		decode = (cmd & (b->type == PCI_BAR_IO ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY)) &&
			 addr != 0 && addr + (b->size - 1) >= addr;
		if (decode && b->type == PCI_BAR_IO && addr + (b->size - 1) > BAR_IO_LIMIT)
			decode = false;
		if (decode && b->region && bar_being_sized(f, i))
			decode = false;
		if (b->mapped && decode && b->mapped_addr == addr)
			continue;
		bar_unmap(f, b);
		if (!decode)
			continue;
		if (b->region) {
			bar_map_region(f, i, addr);
			continue;
		}
		if (b->type != PCI_BAR_IO && overlaps_ram(f->dev->host->mem, addr, b->size)) {
			device_log(f->dev, "PCI BAR%u at 0x%llx overlaps RAM: left unmapped", i,
				   (unsigned long long)addr);
			continue;
		}
		ret = bus_register(bar_bus(f, b), addr, b->size, b->ops, f->dev, f->dev->id);
		if (ret < 0) {
			device_log(f->dev, "PCI BAR%u at 0x%llx (size 0x%llx) overlaps another region: left unmapped",
				   i, (unsigned long long)addr, (unsigned long long)b->size);
			continue;
		}
		b->mapped = true;
		b->mapped_addr = addr;
	}
}

/* Natural alignment, at least a page for memory so each BAR can be mapped alone. */
static uint64_t place(uint64_t *cursor, uint64_t end, uint64_t size, uint64_t min_align)
{
	uint64_t align = size > min_align ? size : min_align;
	uint64_t base = (*cursor + align - 1) & ~(align - 1);

	if (base < *cursor || base > end || end - base < size)
		return 0;
	*cursor = base + size;
	return base;
}

/* ---- INTx ---- */

static bool msi_on(const struct pci_function *f)
{
	return f->msi.cap && (cfg_get(f->config, f->msi.cap + MSI_CTRL, 2) & MSI_CTRL_ENABLE);
}

static bool msix_on(const struct pci_function *f)
{
	return f->msix.nr_vectors &&
	       (cfg_get(f->config, f->msix.cap + MSIX_CTRL, 2) & MSIX_CTRL_ENABLE);
}

/*
 * Recompute what this function contributes to its PIRQ.  The pin level
 * seen by the I/O APIC is the OR of every function on that PIRQ, so the
 * bus counts asserting functions and drives the GSI on 0 <-> 1.  INTx is
 * silenced by the command register's Interrupt Disable and while MSI or
 * MSI-X is enabled (PCI 3.0, 6.8: a function using MSI does not use INTx).
 */
static void pci_update_intx(struct pci_function *f)
{
	uint16_t cmd = (uint16_t)cfg_get(f->config, PCI_COMMAND, 2);
	uint16_t status = (uint16_t)cfg_get(f->config, PCI_STATUS, 2);
	unsigned int pin = f->config[PCI_INTERRUPT_PIN];
	bool want;

	/* Status.Interrupt shows the function's own pending state, unmasked. */
	status = (uint16_t)(f->intx_level ? status | PCI_STATUS_INTERRUPT
					  : status & ~PCI_STATUS_INTERRUPT);
	cfg_put(f->config, PCI_STATUS, status, 2);

	want = f->intx_level && f->bus && pin >= 1 && pin <= 4 &&
	       !(cmd & PCI_COMMAND_INTX_DISABLE) && !msi_on(f) && !msix_on(f);
	if (want == f->intx_asserted)
		return;
	if (f->bus) {
		struct pci_bus *bus = f->bus;
		uint32_t gsi = pci_intx_gsi(f->devfn >> 3, pin ? pin : 1);
		unsigned int pirq = gsi - PCI_GSI_BASE;
		struct irq_line line = device_irq_line(f->dev, gsi);

		pthread_mutex_lock(&bus->lock);
		if (want) {
			if (bus->pirq_count[pirq]++ == 0)
				irq_line_set(&line, 1);
		} else if (bus->pirq_count[pirq] && --bus->pirq_count[pirq] == 0) {
			irq_line_set(&line, 0);
		}
		pthread_mutex_unlock(&bus->lock);
	}
	f->intx_asserted = want;
}

void pci_set_irq(struct pci_function *f, int level)
{
	f->intx_level = level ? 1 : 0;
	pci_update_intx(f);
}

/* ---- MSI / MSI-X delivery ---- */

/*
 * irqfds.  Where the host offers them, each vector that is ever sent gets
 * an irqfd bound to its message, and a send is one eventfd write instead
 * of a KVM_SIGNAL_MSI ioctl.  Only vectors actually sent get one (a
 * function may have 2048, a driver uses a few).
 *
 * The binding is checked at every send against the message the guest
 * has programmed now (a comparison, no syscall) and redone when they
 * differ.  So any change of a vector's address or data, by a table
 * write, an MSI capability write, an enable or a snapshot load, is bound
 * before the next interrupt of that vector is raised, and an entry the
 * guest is half-way through rewriting (address and data are separate
 * writes, with the vector masked: PCI 3.0, 6.8.2.9) is never bound.  The
 * kernel does nothing with an irqfd until we signal it, so binding later
 * than the table write changes nothing the guest can see.
 *
 * Messages outside the APIC window stay with signal_msi, which drops
 * them as it always has: KVM would decode any address as an APIC message.
 */
#define MSI_APIC_MASK       0xfff00000ULL
#define MSI_APIC_BASE       0xfee00000ULL

struct pci_msi_route {
	struct host_irqfd *irqfd;   /* NULL until the vector is first sent */
	uint64_t addr;              /* the message last bound (or refused) */
	uint32_t data;
	bool bound;                 /* irqfd raises addr/data */
	bool refused;               /* set_msi failed for addr/data: signal_msi */
};

/* The route of vector @v of @nr, allocating the table on first use; NULL: none. */
static struct pci_msi_route *msi_route(struct pci_function *f, struct pci_msi_route **routes,
				       unsigned int nr, unsigned int v)
{
	if (f->no_irqfd || v >= nr)
		return NULL;
	if (!*routes)
		*routes = calloc(nr, sizeof(**routes));
	return *routes ? &(*routes)[v] : NULL;
}

/* Raise @addr/@data through @r's irqfd, (re)binding it first.  false: not sent. */
static bool irqfd_send(struct pci_function *f, struct pci_msi_route *r, uint64_t addr,
		       uint32_t data)
{
	int ret;

	if (!r->irqfd) {
		r->irqfd = host_irqfd_new(DEV_LOOP(f->dev->host));
		if (!r->irqfd) {
			/* ENOSYS: this host has none; anything else: run without them too. */
			if (errno != ENOSYS)
				device_log(f->dev, "no irqfd for MSI (%s): using KVM_SIGNAL_MSI",
					   strerror(errno));
			f->no_irqfd = true;
			return false;
		}
	}
	if (!r->bound || r->addr != addr || r->data != data) {
		if (r->refused && r->addr == addr && r->data == data)
			return false;   /* refused before: do not ask again per interrupt */
		r->addr = addr;
		r->data = data;
		ret = host_irqfd_set_msi(r->irqfd, addr, data);
		r->bound = ret == 0;
		r->refused = ret != 0;
		if (ret) {
			device_log(f->dev, "irqfd for MSI 0x%llx/0x%x refused (%s): using KVM_SIGNAL_MSI",
				   (unsigned long long)addr, data, strerror(-ret));
			return false;
		}
	}
	host_irqfd_signal(r->irqfd);
	return true;
}

static void send_msi(struct pci_function *f, struct pci_msi_route *r, uint64_t addr,
		     uint32_t data)
{
	struct dev_host *h = f->dev->host;

	/* An MSI is a memory write: without bus mastering it never leaves the device. */
	if (!pci_bus_master(f)) {
		device_log(f->dev, "MSI dropped: bus mastering disabled");
		return;
	}
	if (r && (addr & MSI_APIC_MASK) == MSI_APIC_BASE && irqfd_send(f, r, addr, data))
		return;
	if (h->signal_msi)
		h->signal_msi(h->msi_opaque, addr, data);
}

static void routes_free(struct pci_msi_route **routes, unsigned int nr)
{
	if (!*routes)
		return;
	for (unsigned int v = 0; v < nr; v++)
		host_irqfd_free((*routes)[v].irqfd);
	free(*routes);
	*routes = NULL;
}

static unsigned int msi_allocated(const struct pci_function *f)
{
	uint16_t ctrl = (uint16_t)cfg_get(f->config, f->msi.cap + MSI_CTRL, 2);
	unsigned int mme = (ctrl & MSI_CTRL_MME_MASK) >> MSI_CTRL_MME_SHIFT;
	unsigned int mmc = (ctrl >> MSI_CTRL_MMC_SHIFT) & 7;

	/* Software must not enable more than capable; if it does, use what we have. */
	return 1u << (mme < mmc ? mme : mmc);
}

static void msi_send_vector(struct pci_function *f, unsigned int v)
{
	unsigned int cap = f->msi.cap;
	uint64_t addr = cfg_get(f->config, cap + MSI_ADDR_LO, 4) |
			(uint64_t)cfg_get(f->config, cap + MSI_ADDR_HI, 4) << 32;
	uint32_t data = cfg_get(f->config, cap + MSI_DATA, 2);
	unsigned int n = msi_allocated(f);

	/* Multiple messages: the vector number replaces the data's low bits (6.8.1.7). */
	data = (data & ~(n - 1)) | v;
	send_msi(f, msi_route(f, &f->msi.routes, f->msi.nr_vectors, v), addr, data);
}

static bool msi_notify(struct pci_function *f, unsigned int vector)
{
	unsigned int cap = f->msi.cap;
	unsigned int v = vector % msi_allocated(f);
	uint32_t mask = cfg_get(f->config, cap + MSI_MASK, 4);
	uint32_t pend = cfg_get(f->config, cap + MSI_PENDING, 4);

	if (mask & (1u << v)) {
		cfg_put(f->config, cap + MSI_PENDING, pend | (1u << v), 4);
		return true;
	}
	msi_send_vector(f, v);
	return true;
}

/* After the guest unmasked vectors: send what became pending meanwhile. */
static void msi_flush_pending(struct pci_function *f)
{
	unsigned int cap = f->msi.cap;
	uint32_t mask, pend;

	if (!msi_on(f))
		return;
	mask = cfg_get(f->config, cap + MSI_MASK, 4);
	pend = cfg_get(f->config, cap + MSI_PENDING, 4);
	for (unsigned int v = 0; v < f->msi.nr_vectors; v++) {
		if ((pend & (1u << v)) && !(mask & (1u << v))) {
			pend &= ~(1u << v);
			cfg_put(f->config, cap + MSI_PENDING, pend, 4);
			msi_send_vector(f, v);
		}
	}
}

static uint8_t *msix_entry(struct pci_function *f, unsigned int v)
{
	return f->msix.table + (size_t)v * MSIX_ENTRY_SIZE;
}

static bool msix_masked(const struct pci_function *f, unsigned int v)
{
	return (cfg_get(f->config, f->msix.cap + MSIX_CTRL, 2) & MSIX_CTRL_MASKALL) ||
	       (f->msix.table[(size_t)v * MSIX_ENTRY_SIZE + MSIX_ENTRY_CTRL] & MSIX_ENTRY_MASKED);
}

static void msix_send_vector(struct pci_function *f, unsigned int v)
{
	const uint8_t *e = msix_entry(f, v);
	uint64_t addr = cfg_get(e, MSIX_ENTRY_ADDR_LO, 4) |
			(uint64_t)cfg_get(e, MSIX_ENTRY_ADDR_HI, 4) << 32;

	f->msix.pba[v / 64] &= ~(1ULL << (v % 64));
	send_msi(f, msi_route(f, &f->msix.routes, f->msix.nr_vectors, v), addr,
		 cfg_get(e, MSIX_ENTRY_DATA, 4));
}

static bool msix_notify(struct pci_function *f, unsigned int v)
{
	if (v >= f->msix.nr_vectors) {
		device_log(f->dev, "MSI-X vector %u out of range (%u vectors)", v,
			   f->msix.nr_vectors);
		return true;
	}
	if (msix_masked(f, v)) {
		f->msix.pba[v / 64] |= 1ULL << (v % 64);   /* delivered on unmask (6.8.2.9) */
		return true;
	}
	msix_send_vector(f, v);
	return true;
}

static void msix_flush_pending(struct pci_function *f)
{
	if (!msix_on(f))
		return;
	for (unsigned int v = 0; v < f->msix.nr_vectors; v++)
		if ((f->msix.pba[v / 64] & (1ULL << (v % 64))) && !msix_masked(f, v))
			msix_send_vector(f, v);
}

bool pci_msi_notify(struct pci_function *f, unsigned int vector)
{
	if (msix_on(f))
		return msix_notify(f, vector);
	if (msi_on(f))
		return msi_notify(f, vector);
	return false;
}

bool pci_msix_enabled(const struct pci_function *f)
{
	return msix_on(f);
}

bool pci_msi_enabled(const struct pci_function *f)
{
	return msi_on(f);
}

bool pci_bus_master(const struct pci_function *f)
{
	return cfg_get(f->config, PCI_COMMAND, 2) & PCI_COMMAND_MASTER;
}

/*
 * The MSI-X BAR: table at 0, PBA at msix.pba_offset.  The handler gets
 * only the device, so it finds the function owning the MSI-X capability
 * among the device's functions on the bus (one MSI-X function per device).
 */
static struct pci_function *msix_function(struct device *dev)
{
	struct pci_bus *bus = dev->host->pci;
	struct pci_function *f = NULL;

	if (!bus)
		return NULL;
	pthread_mutex_lock(&bus->lock);
	for (unsigned int i = 0; i < PCI_MAX_SLOTS * PCI_MAX_FUNCS && !f; i++)
		if (bus->funcs[i] && bus->funcs[i]->dev == dev && bus->funcs[i]->msix.nr_vectors)
			f = bus->funcs[i];
	pthread_mutex_unlock(&bus->lock);
	return f;
}

static uint64_t msix_bar_read(struct device *dev, uint64_t off, unsigned int size)
{
	struct pci_function *f = msix_function(dev);
	uint64_t table_len, v = 0;

	if (!f)
		return ~0ULL;
	table_len = (uint64_t)f->msix.nr_vectors * MSIX_ENTRY_SIZE;
	for (unsigned int i = 0; i < size; i++) {
		uint64_t o = off + i, b = 0;

		if (o < table_len) {
			b = f->msix.table[o];
		} else if (o >= f->msix.pba_offset &&
			   o - f->msix.pba_offset < (f->msix.nr_vectors + 63) / 64 * 8) {
			uint64_t po = o - f->msix.pba_offset;

			b = (f->msix.pba[po / 8] >> (8 * (po % 8))) & 0xff;
		}
		v |= b << (8 * i);
	}
	return v;
}

static void msix_bar_write(struct device *dev, uint64_t off, uint64_t value, unsigned int size)
{
	struct pci_function *f = msix_function(dev);
	uint64_t table_len;
	bool ctrl_written = false;

	if (!f)
		return;
	table_len = (uint64_t)f->msix.nr_vectors * MSIX_ENTRY_SIZE;
	for (unsigned int i = 0; i < size; i++) {
		uint64_t o = off + i;
		uint8_t b = (uint8_t)(value >> (8 * i));

		if (o >= table_len)
			continue;   /* the PBA is read-only; past it is reserved */
		if (o % MSIX_ENTRY_SIZE == MSIX_ENTRY_CTRL) {
			b &= MSIX_ENTRY_MASKED;   /* other control bits are reserved */
			ctrl_written = true;
		} else if (o % MSIX_ENTRY_SIZE > MSIX_ENTRY_CTRL) {
			continue;
		} else if (o % MSIX_ENTRY_SIZE == MSIX_ENTRY_ADDR_LO) {
			b &= 0xfc;   /* the message address is dword aligned */
		}
		f->msix.table[o] = b;
	}
	if (ctrl_written)
		msix_flush_pending(f);
}

static const struct io_region_ops pci_msix_bar_ops = { msix_bar_read, msix_bar_write };

/* ---- config space ---- */

static uint32_t pci_function_config_read(struct pci_function *f, unsigned int off,
					 unsigned int size)
{
	uint32_t v = cfg_get(f->config, off, size);

	if (f->config_read)
		v = f->config_read(f, off, v, size);
	return v;
}

static void pci_function_config_write(struct pci_function *f, unsigned int off, uint32_t val,
				      unsigned int size)
{
	bool msi_was_on = msi_on(f), msix_was_on = msix_on(f);

	for (unsigned int i = 0; i < size; i++) {
		unsigned int o = off + i;
		uint8_t b = (uint8_t)(val >> (8 * i));

		f->config[o] = (uint8_t)((f->config[o] & ~f->wmask[o]) | (b & f->wmask[o]));
		f->config[o] &= (uint8_t)~(b & f->w1cmask[o]);
	}
	if (range_hits(off, size, PCI_COMMAND, 2) || range_hits(off, size, PCI_BAR0,
								 PCI_BAR_END - PCI_BAR0))
		pci_update_mappings(f);
	if (f->msi.cap && range_hits(off, size, f->msi.cap, MSI_CAP_LEN)) {
		if (!msi_was_on && msi_on(f))   /* fresh enable: nothing stale pending */
			cfg_put(f->config, f->msi.cap + MSI_PENDING, 0, 4);
		msi_flush_pending(f);
	}
	if (f->msix.nr_vectors && range_hits(off, size, f->msix.cap + MSIX_CTRL, 2))
		msix_flush_pending(f);
	if (range_hits(off, size, PCI_COMMAND, 2) || msi_was_on != msi_on(f) ||
	    msix_was_on != msix_on(f))
		pci_update_intx(f);
	if (f->config_write)
		f->config_write(f, off, val, size);
}

/* ---- attach, reset, detach ---- */

int pci_bus_attach(struct pci_bus *bus, struct pci_function *f, int slot, unsigned int func)
{
	unsigned int devfn;

	if (slot >= PCI_MAX_SLOTS || func >= PCI_MAX_FUNCS || f->bus)
		return -EINVAL;
	pthread_mutex_lock(&bus->lock);
	if (slot < 0) {
		/* Slot 0 is the host bridge's; take the first slot with nothing in it. */
		for (slot = 1; slot < PCI_MAX_SLOTS; slot++) {
			bool empty = true;

			for (unsigned int fn = 0; fn < PCI_MAX_FUNCS; fn++)
				if (bus->funcs[slot << 3 | fn])
					empty = false;
			if (empty)
				break;
		}
		if (slot == PCI_MAX_SLOTS) {
			pthread_mutex_unlock(&bus->lock);
			return -ENOSPC;
		}
		func = 0;
	}
	devfn = (unsigned int)slot << 3 | func;
	if (bus->funcs[devfn]) {
		pthread_mutex_unlock(&bus->lock);
		return -EBUSY;
	}
	/*
	 * Hutch boots Linux without firmware, so it does the firmware's job:
	 * each BAR gets a naturally aligned address in the windows the DSDT
	 * describes, and Linux keeps those assignments.
	 */
	for (unsigned int i = 0; i < PCI_NUM_BARS; i++) {
		struct pci_bar *b = &f->bars[i];
		uint64_t a = 0;

		if (b->type == PCI_BAR_IO)
			a = place(&bus->next_io, PCI_IO_END, b->size, 4);
		else if (b->type != PCI_BAR_UNUSED)
			a = place(&bus->next_mmio, PCI_MMIO32_END, b->size, 0x1000);
		if (b->type != PCI_BAR_UNUSED && !a)
			device_log(f->dev, "PCI BAR%u (size 0x%llx): window full, left unassigned",
				   i, (unsigned long long)b->size);
		b->reset_addr = a;
	}
	bus->funcs[devfn] = f;
	pthread_mutex_unlock(&bus->lock);

	f->bus = bus;
	f->devfn = (uint8_t)devfn;
	if (f->config[PCI_INTERRUPT_PIN])
		f->config[PCI_INTERRUPT_LINE] =
			(uint8_t)pci_intx_gsi((unsigned int)slot, f->config[PCI_INTERRUPT_PIN]);
	for (unsigned int i = 0; i < PCI_NUM_BARS; i++)
		if (f->bars[i].type != PCI_BAR_UNUSED)
			bar_set_config_addr(f, i, f->bars[i].reset_addr);
	return 0;
}

void pci_bus_detach(struct pci_function *f)
{
	struct pci_bus *bus = f->bus;

	if (bus) {
		f->intx_level = 0;
		pci_update_intx(f);
		for (unsigned int i = 0; i < PCI_NUM_BARS; i++)
			bar_unmap(f, &f->bars[i]);
		pthread_mutex_lock(&bus->lock);
		if (bus->funcs[f->devfn] == f)
			bus->funcs[f->devfn] = NULL;
		pthread_mutex_unlock(&bus->lock);
		f->bus = NULL;
	}
	routes_free(&f->msi.routes, f->msi.nr_vectors);
	routes_free(&f->msix.routes, f->msix.nr_vectors);
	free(f->msix.table);
	free(f->msix.pba);
	f->msix.table = NULL;
	f->msix.pba = NULL;
	f->msix.nr_vectors = 0;
}

void pci_function_reset(struct pci_function *f)
{
	uint16_t status = (uint16_t)cfg_get(f->config, PCI_STATUS, 2);

	cfg_put(f->config, PCI_COMMAND, 0, 2);
	cfg_put(f->config, PCI_STATUS, status & PCI_STATUS_CAP_LIST, 2);
	f->config[PCI_CACHE_LINE_SIZE] = 0;
	f->config[PCI_LATENCY_TIMER] = 0;
	for (unsigned int i = 0; i < PCI_NUM_BARS; i++)
		if (f->bars[i].type != PCI_BAR_UNUSED)
			bar_set_config_addr(f, i, f->bars[i].reset_addr);
	if (f->msi.cap) {
		uint16_t ctrl = (uint16_t)cfg_get(f->config, f->msi.cap + MSI_CTRL, 2);

		cfg_put(f->config, f->msi.cap + MSI_CTRL,
			ctrl & ~(MSI_CTRL_ENABLE | MSI_CTRL_MME_MASK), 2);
		for (unsigned int o = MSI_ADDR_LO; o < MSI_CAP_LEN; o += 4)
			cfg_put(f->config, f->msi.cap + o, 0, 4);
	}
	if (f->msix.nr_vectors) {
		uint16_t ctrl = (uint16_t)cfg_get(f->config, f->msix.cap + MSIX_CTRL, 2);

		cfg_put(f->config, f->msix.cap + MSIX_CTRL,
			ctrl & ~(MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL), 2);
		memset(f->msix.table, 0, (size_t)f->msix.nr_vectors * MSIX_ENTRY_SIZE);
		for (unsigned int v = 0; v < f->msix.nr_vectors; v++)
			msix_entry(f, v)[MSIX_ENTRY_CTRL] = MSIX_ENTRY_MASKED;
		memset(f->msix.pba, 0, (f->msix.nr_vectors + 63) / 64 * sizeof(uint64_t));
	}
	f->intx_level = 0;
	pci_update_intx(f);
	pci_update_mappings(f);
}

/* ---- save / load ---- */

int pci_function_save(struct pci_function *f, struct sv_writer *w)
{
	sv_put_u16(w, PCI_SAVE_VERSION);
	sv_put_bytes(w, f->config, PCI_CONFIG_SIZE);
	sv_put_u8(w, (uint8_t)f->intx_level);
	sv_put_u16(w, (uint16_t)f->msix.nr_vectors);
	if (f->msix.nr_vectors) {
		sv_put_bytes(w, f->msix.table, (size_t)f->msix.nr_vectors * MSIX_ENTRY_SIZE);
		for (unsigned int i = 0; i < (f->msix.nr_vectors + 63) / 64; i++)
			sv_put_u64(w, f->msix.pba[i]);
	}
	return w->failed ? -ENOMEM : 0;
}

/*
 * Restore into a function the model set up the same way (same BARs and
 * capabilities).  Guest-invisible bits the model owns (IDs, BAR types,
 * capability layout) come from the model, not the stream: only bits the
 * guest or the device can change are taken from it, so a corrupt stream
 * cannot give the function a shape the core does not expect.
 */
int pci_function_load(struct pci_function *f, struct sv_reader *r)
{
	uint8_t cfg[PCI_CONFIG_SIZE];
	uint8_t intx;
	unsigned int nr;
	uint8_t *table = NULL;
	uint64_t *pba = NULL;

	if (sv_get_u16(r) != PCI_SAVE_VERSION)
		return -EINVAL;
	sv_get_bytes(r, cfg, sizeof(cfg));
	intx = sv_get_u8(r);
	nr = sv_get_u16(r);
	if (!sv_reader_ok(r, false) || nr != f->msix.nr_vectors || intx > 1)
		return -EINVAL;
	if (nr) {
		table = malloc((size_t)nr * MSIX_ENTRY_SIZE);
		pba = calloc((nr + 63) / 64, sizeof(uint64_t));
		if (!table || !pba) {
			free(table);
			free(pba);
			return -ENOMEM;
		}
		sv_get_bytes(r, table, (size_t)nr * MSIX_ENTRY_SIZE);
		for (unsigned int i = 0; i < (nr + 63) / 64; i++)
			pba[i] = sv_get_u64(r);
		if (!sv_reader_ok(r, false)) {
			free(table);
			free(pba);
			return -EINVAL;
		}
	}

	for (unsigned int o = 0; o < PCI_CONFIG_SIZE; o++) {
		uint8_t m = f->wmask[o] | f->w1cmask[o];

		f->config[o] = (uint8_t)((f->config[o] & ~m) | (cfg[o] & m));
	}
	/* MSI pending bits are read-only to the guest but the device's state
	 * (Status.Interrupt is recomputed from intx_level below). */
	if (f->msi.cap)
		for (unsigned int o = 0; o < 4; o++)
			f->config[f->msi.cap + MSI_PENDING + o] =
				cfg[f->msi.cap + MSI_PENDING + o] & f->wmask[f->msi.cap + MSI_MASK + o];
	if (nr) {
		memcpy(f->msix.table, table, (size_t)nr * MSIX_ENTRY_SIZE);
		for (unsigned int v = 0; v < nr; v++)
			msix_entry(f, v)[MSIX_ENTRY_CTRL] &= MSIX_ENTRY_MASKED;
		memcpy(f->msix.pba, pba, (nr + 63) / 64 * sizeof(uint64_t));
		if (nr % 64)
			f->msix.pba[nr / 64] &= (1ULL << (nr % 64)) - 1;
	}
	free(table);
	free(pba);
	f->intx_level = intx;
	pci_update_mappings(f);
	pci_update_intx(f);
	return 0;
}
