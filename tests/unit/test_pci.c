// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The PCI core (pci.c) through configuration space and BARs on the fake
 * machine, with a small test device: an I/O BAR, a 32-bit and a 64-bit
 * memory BAR, MSI (4 vectors), MSI-X (4 vectors in BAR4), INTA and a
 * vendor capability.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_machine.h"
#include "pci.h"

#define TEST_VENDOR   0x1af4
#define TEST_DEVICE   0x10ff
#define TEST_CLASS    0x018000
#define IO_SIZE       32
#define MEM_SIZE      0x1000
#define MEM64_SIZE    0x4000
#define MSIX_BAR      4
#define NR_VECTORS    4

#define MSI_CTRL      2
#define MSI_ADDR_LO   4
#define MSI_ADDR_HI   8
#define MSI_DATA      12
#define MSI_MASK      16
#define MSI_PENDING   20
#define MSIX_CTRL     2
#define MSIX_TABLE    4
#define MSIX_PBA      8

struct tdev {
	struct pci_function f;
	int msi_cap, msix_cap, vndr_cap;
	unsigned int accesses;         /* BAR handler calls */
	uint64_t last_off;
	unsigned int last_bar;
	uint64_t last_val;
	unsigned int hook_writes;      /* config_write hook calls */
	unsigned int hook_off;
};

#define BAR_HANDLERS(n) \
	static uint64_t bar##n##_read(struct device *dev, uint64_t off, unsigned int size) \
	{ \
		struct tdev *t = dev->priv; \
		t->accesses++; t->last_off = off; t->last_bar = n; \
		return 0x5a00 + n; \
	} \
	static void bar##n##_write(struct device *dev, uint64_t off, uint64_t v, unsigned int size) \
	{ \
		struct tdev *t = dev->priv; \
		t->accesses++; t->last_off = off; t->last_bar = n; t->last_val = v; \
	} \
	static const struct io_region_ops bar##n##_ops = { bar##n##_read, bar##n##_write };
BAR_HANDLERS(0)
BAR_HANDLERS(1)
BAR_HANDLERS(2)

static void tdev_hook(struct pci_function *f, unsigned int off, uint32_t val, unsigned int size)
{
	struct tdev *t = (struct tdev *)f;

	t->hook_writes++;
	t->hook_off = off;
}

static void tdev_destroy(struct device *dev);

static int tdev_create(struct device *dev, const struct device_args *args)
{
	struct tdev *t = calloc(1, sizeof(*t));
	int ret;

	if (!t)
		return -ENOMEM;
	dev->priv = t;
	pci_function_init(&t->f, dev, TEST_VENDOR, TEST_DEVICE, TEST_CLASS, 1, 0x1af4, 0x0042);
	t->f.config_write = tdev_hook;
	if ((ret = pci_function_add_bar(&t->f, 0, PCI_BAR_IO, IO_SIZE, &bar0_ops)) ||
	    (ret = pci_function_add_bar(&t->f, 1, PCI_BAR_MEM32, MEM_SIZE, &bar1_ops)) ||
	    (ret = pci_function_add_bar(&t->f, 2, PCI_BAR_MEM64, MEM64_SIZE, &bar2_ops)))
		return ret;
	pci_function_set_intx_pin(&t->f, 1);
	t->vndr_cap = pci_function_add_capability(&t->f, PCI_CAP_ID_VNDR, 8);
	t->msi_cap = pci_function_add_msi(&t->f, NR_VECTORS);
	t->msix_cap = pci_function_add_msix(&t->f, NR_VECTORS, MSIX_BAR);
	if (t->vndr_cap < 0 || t->msi_cap < 0 || t->msix_cap < 0)
		return -EINVAL;
	return pci_bus_attach(dev->host->pci, &t->f, args->pci_slot ? args->pci_slot : -1, 0);
}

static void tdev_reset(struct device *dev)
{
	pci_function_reset(&((struct tdev *)dev->priv)->f);
}

static int tdev_save(struct device *dev, struct sv_writer *w)
{
	return pci_function_save(&((struct tdev *)dev->priv)->f, w);
}

static int tdev_load(struct device *dev, struct sv_reader *r, uint32_t version)
{
	int ret = pci_function_load(&((struct tdev *)dev->priv)->f, r);

	return ret ? ret : (sv_reader_ok(r, true) ? 0 : -EINVAL);
}

static void tdev_destroy(struct device *dev)
{
	struct tdev *t = dev->priv;

	if (!t)
		return;
	pci_bus_detach(&t->f);
	free(t);
}

static const struct device_model tdev_model = {
	.name = "pci-test", .state_version = 1,
	.create = tdev_create, .reset = tdev_reset, .save = tdev_save, .load = tdev_load,
	.destroy = tdev_destroy,
};

struct fixture {
	struct fake_machine fm;
	struct device *dev;
	struct tdev *t;
	uint8_t devfn;
};

static struct device *create_at(struct fake_machine *fm, int slot)
{
	struct device_args args = { .out_fd = -1, .in_fd = -1, .pci_slot = slot };

	return device_create(&tdev_model, "ptest", &fm->host, &args);
}

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	assert_int_equal(fake_machine_init(&f.fm, 0x100000), 0);
	f.dev = create_at(&f.fm, 3);
	assert_non_null(f.dev);
	f.t = f.dev->priv;
	f.devfn = 3 << 3;
	*state = &f;
	return 0;
}

/* The same device on a machine that offers irqfds (host_loop.h). */
static int setup_irqfd(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	assert_int_equal(fake_machine_init(&f.fm, 0x100000), 0);
	f.fm.offer_irqfd = true;
	f.dev = create_at(&f.fm, 3);
	assert_non_null(f.dev);
	f.t = f.dev->priv;
	f.devfn = 3 << 3;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	device_destroy(f->dev);
	fake_machine_destroy(&f->fm);
	return 0;
}

static uint32_t cfg_rd(struct fake_machine *fm, uint8_t devfn, unsigned int off,
		       unsigned int size)
{
	return fake_pci_cfg_read(fm, devfn, off, size);
}

static void cfg_wr(struct fake_machine *fm, uint8_t devfn, unsigned int off, uint32_t v,
		   unsigned int size)
{
	fake_pci_cfg_write(fm, devfn, off, v, size);
}

/* The address a BAR register holds (I/O, 32- or 64-bit memory). */
static uint64_t bar_addr(struct fake_machine *fm, uint8_t devfn, unsigned int bar)
{
	uint32_t lo = cfg_rd(fm, devfn, PCI_BAR0 + 4 * bar, 4);

	if (lo & 1)
		return lo & ~3u;
	if ((lo & 6) == 4)
		return (lo & ~0xfu) | (uint64_t)cfg_rd(fm, devfn, PCI_BAR0 + 4 * bar + 4, 4) << 32;
	return lo & ~0xfu;
}

static void test_header(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cfg_rd(&f->fm, f->devfn, PCI_VENDOR_ID, 2), TEST_VENDOR);
	assert_int_equal(cfg_rd(&f->fm, f->devfn, PCI_DEVICE_ID, 2), TEST_DEVICE);
	assert_int_equal(cfg_rd(&f->fm, f->devfn, PCI_VENDOR_ID, 4), TEST_DEVICE << 16 | TEST_VENDOR);
	assert_int_equal(cfg_rd(&f->fm, f->devfn, PCI_REVISION_ID, 4), TEST_CLASS << 8 | 1);
	assert_int_equal(cfg_rd(&f->fm, f->devfn, PCI_SUBSYSTEM_ID, 2), 0x0042);
	assert_int_equal(cfg_rd(&f->fm, f->devfn, PCI_HEADER_TYPE, 1), 0);
	/* Read-only fields ignore writes. */
	cfg_wr(&f->fm, f->devfn, PCI_VENDOR_ID, 0xffffffff, 4);
	cfg_wr(&f->fm, f->devfn, PCI_REVISION_ID, 0, 4);
	cfg_wr(&f->fm, f->devfn, PCI_HEADER_TYPE, 0xff, 1);
	cfg_wr(&f->fm, f->devfn, PCI_INTERRUPT_PIN, 3, 1);
	assert_int_equal(cfg_rd(&f->fm, f->devfn, PCI_VENDOR_ID, 4), TEST_DEVICE << 16 | TEST_VENDOR);
	assert_int_equal(cfg_rd(&f->fm, f->devfn, PCI_REVISION_ID, 4), TEST_CLASS << 8 | 1);
	assert_int_equal(cfg_rd(&f->fm, f->devfn, PCI_HEADER_TYPE, 1), 0);
	assert_int_equal(cfg_rd(&f->fm, f->devfn, PCI_INTERRUPT_PIN, 1), 1);
	/* The expansion ROM BAR is not implemented: reads zero. */
	cfg_wr(&f->fm, f->devfn, 0x30, 0xffffffff, 4);
	assert_int_equal(cfg_rd(&f->fm, f->devfn, 0x30, 4), 0);
	/* Writable scratch registers. */
	cfg_wr(&f->fm, f->devfn, 0x0c, 0x10, 1);
	assert_int_equal(cfg_rd(&f->fm, f->devfn, 0x0c, 1), 0x10);
	cfg_wr(&f->fm, f->devfn, PCI_INTERRUPT_LINE, 0x0b, 1);
	assert_int_equal(cfg_rd(&f->fm, f->devfn, PCI_INTERRUPT_LINE, 1), 0x0b);
	/* The model's hook saw the write. */
	assert_int_equal(f->t->hook_off, PCI_INTERRUPT_LINE);
	assert_true(f->t->hook_writes > 0);
}

static void test_absent_and_malformed(void **state)
{
	struct fixture *f = *state;

	/* Absent function, other buses: all-ones, writes dropped. */
	assert_int_equal(fake_pci_cfg_read(&f->fm, 4 << 3, PCI_VENDOR_ID, 4), 0xffffffff);
	assert_int_equal(fake_pci_cfg_read(&f->fm, 4 << 3, PCI_VENDOR_ID, 2), 0xffff);
	assert_int_equal(fake_pci_cfg_read(&f->fm, 4 << 3, PCI_VENDOR_ID, 1), 0xff);
	assert_int_equal(pci_bus_config_read(f->fm.pci, 1, f->devfn, 0, 4), 0xffffffff);
	pci_bus_config_write(f->fm.pci, 1, f->devfn, PCI_COMMAND, 0x7, 2);
	assert_int_equal(cfg_rd(&f->fm, f->devfn, PCI_COMMAND, 2), 0);
	/* Misaligned, oversized and out-of-range accesses are refused. */
	assert_int_equal(cfg_rd(&f->fm, f->devfn, 1, 2), 0xffffffff);
	assert_int_equal(cfg_rd(&f->fm, f->devfn, 2, 4), 0xffffffff);
	assert_int_equal(cfg_rd(&f->fm, f->devfn, 0, 3), 0xffffffff);
	assert_int_equal(cfg_rd(&f->fm, f->devfn, 0, 8), 0xffffffff);
	assert_int_equal(cfg_rd(&f->fm, f->devfn, 256, 1), 0xffffffff);
	assert_int_equal(cfg_rd(&f->fm, f->devfn, 0xffffff00, 4), 0xffffffff);
	cfg_wr(&f->fm, f->devfn, PCI_COMMAND - 1, 0xffffffff, 4);
	cfg_wr(&f->fm, f->devfn, 255, 0xffffffff, 2);
	cfg_wr(&f->fm, f->devfn, 0x1000, 0xffffffff, 4);
	assert_int_equal(cfg_rd(&f->fm, f->devfn, PCI_COMMAND, 2), 0);
}

static void test_command_status(void **state)
{
	struct fixture *f = *state;

	cfg_wr(&f->fm, f->devfn, PCI_COMMAND, 0xffff, 2);
	assert_int_equal(cfg_rd(&f->fm, f->devfn, PCI_COMMAND, 2), 0x0547);
	assert_true(pci_bus_master(&f->t->f));
	cfg_wr(&f->fm, f->devfn, PCI_COMMAND, 0, 2);
	assert_false(pci_bus_master(&f->t->f));
	/* Capabilities bit is read-only and set; error bits are W1C. */
	assert_int_equal(cfg_rd(&f->fm, f->devfn, PCI_STATUS, 2), PCI_STATUS_CAP_LIST);
	cfg_wr(&f->fm, f->devfn, PCI_STATUS, 0, 2);
	assert_int_equal(cfg_rd(&f->fm, f->devfn, PCI_STATUS, 2), PCI_STATUS_CAP_LIST);
	f->t->f.config[PCI_STATUS + 1] |= 0x20 | 0x01;   /* device signals master abort, parity */
	cfg_wr(&f->fm, f->devfn, PCI_STATUS, 0x0000, 2);                /* writing 0 clears nothing */
	assert_int_equal(cfg_rd(&f->fm, f->devfn, PCI_STATUS, 2), 0x2100 | PCI_STATUS_CAP_LIST);
	cfg_wr(&f->fm, f->devfn, PCI_STATUS, 0x2000, 2);                /* write 1 clears that bit only */
	assert_int_equal(cfg_rd(&f->fm, f->devfn, PCI_STATUS, 2), 0x0100 | PCI_STATUS_CAP_LIST);
	/* A dword write to command+status: command stored, status W1C applied. */
	cfg_wr(&f->fm, f->devfn, PCI_COMMAND, 0x01000002, 4);
	assert_int_equal(cfg_rd(&f->fm, f->devfn, PCI_COMMAND, 4), PCI_STATUS_CAP_LIST << 16 | 0x0002);
}

static void test_bar_sizing(void **state)
{
	struct fixture *f = *state;
	uint32_t save[6];

	for (unsigned int i = 0; i < 6; i++)
		save[i] = cfg_rd(&f->fm, f->devfn, PCI_BAR0 + 4 * i, 4);
	for (unsigned int i = 0; i < 6; i++)
		cfg_wr(&f->fm, f->devfn, PCI_BAR0 + 4 * i, 0xffffffff, 4);
	/* I/O: bit 0 set; bits 31:16 writable as SeaBIOS's sizing expects */
	assert_int_equal(cfg_rd(&f->fm, f->devfn, PCI_BAR0, 4), 0xffffffe1);
	assert_int_equal(cfg_rd(&f->fm, f->devfn, PCI_BAR0 + 4, 4), 0xfffff000);
	/* 64-bit memory: type bits 10b in the low half, all address bits writable above */
	assert_int_equal(cfg_rd(&f->fm, f->devfn, PCI_BAR0 + 8, 4), 0xffffc004);
	assert_int_equal(cfg_rd(&f->fm, f->devfn, PCI_BAR0 + 12, 4), 0xffffffff);
	/* MSI-X BAR: 32-bit memory, 4 KiB */
	assert_int_equal(cfg_rd(&f->fm, f->devfn, PCI_BAR0 + 16, 4), 0xfffff000);
	assert_int_equal(cfg_rd(&f->fm, f->devfn, PCI_BAR0 + 20, 4), 0);    /* unused BAR5 */
	/* Byte-wide writes use the same masks. */
	cfg_wr(&f->fm, f->devfn, PCI_BAR0 + 4, 0x12345678, 4);
	cfg_wr(&f->fm, f->devfn, PCI_BAR0 + 4 + 1, 0xff, 1);
	assert_int_equal(cfg_rd(&f->fm, f->devfn, PCI_BAR0 + 4, 4), 0x1234ff00 & 0xfffff000);
	for (unsigned int i = 0; i < 6; i++)
		cfg_wr(&f->fm, f->devfn, PCI_BAR0 + 4 * i, save[i], 4);
	for (unsigned int i = 0; i < 6; i++)
		assert_int_equal(cfg_rd(&f->fm, f->devfn, PCI_BAR0 + 4 * i, 4), save[i]);
}

static void test_initial_placement(void **state)
{
	struct fixture *f = *state;
	struct device *d2 = create_at(&f->fm, 0);
	uint64_t a[2][5];

	assert_non_null(d2);
	assert_int_equal(((struct tdev *)d2->priv)->f.devfn, 1 << 3);   /* lowest free slot */
	for (unsigned int dv = 0; dv < 2; dv++) {
		uint8_t g_devfn = dv ? 1 << 3 : f->devfn;

		a[dv][0] = bar_addr(&f->fm, g_devfn, 0);
		a[dv][1] = bar_addr(&f->fm, g_devfn, 1);
		a[dv][2] = bar_addr(&f->fm, g_devfn, 2);
		a[dv][4] = bar_addr(&f->fm, g_devfn, 4);
		assert_true(a[dv][0] >= PCI_IO_BASE && a[dv][0] + IO_SIZE <= PCI_IO_END);
		assert_int_equal(a[dv][0] % IO_SIZE, 0);
		for (unsigned int b = 1; b <= 4; b += 1 + (b == 2)) {
			assert_true(a[dv][b] >= PCI_MMIO32_BASE && a[dv][b] < PCI_MMIO32_END);
			assert_int_equal(a[dv][b] % 0x1000, 0);
		}
		assert_int_equal(a[dv][2] % MEM64_SIZE, 0);
	}
	/* Nothing shares an address. */
	for (unsigned int i = 0; i < 10; i++)
		for (unsigned int j = i + 1; j < 10; j++)
			if (i % 5 != 3 && j % 5 != 3)
				assert_true(a[i / 5][i % 5] != a[j / 5][j % 5]);
	/* Decoding is off until the guest turns it on. */
	assert_int_equal(fake_mmio_read(&f->fm, a[0][1], 4), 0xffffffff);
	assert_int_equal(f->t->accesses, 0);
	device_destroy(d2);
}

static void test_bar_mapping(void **state)
{
	struct fixture *f = *state;
	uint64_t io = bar_addr(&f->fm, f->devfn, 0), mem = bar_addr(&f->fm, f->devfn, 1), mem64 = bar_addr(&f->fm, f->devfn, 2);

	cfg_wr(&f->fm, f->devfn, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	assert_int_equal(fake_mmio_read(&f->fm, mem + 0x10, 4), 0x5a01);
	assert_int_equal(f->t->last_off, 0x10);
	assert_int_equal(fake_mmio_read(&f->fm, mem64 + 0x3ffc, 4), 0x5a02);
	assert_int_equal(f->t->last_off, 0x3ffc);
	assert_int_equal(f->t->last_bar, 2);
	/* I/O decode still off. */
	assert_int_equal(fake_pio_read(&f->fm, (uint16_t)io, 1), 0xff);
	cfg_wr(&f->fm, f->devfn, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_IO, 2);
	fake_pio_write(&f->fm, (uint16_t)(io + 4), 0xab, 1);
	assert_int_equal(f->t->last_bar, 0);
	assert_int_equal(f->t->last_off, 4);
	assert_int_equal(f->t->last_val, 0xab);

	/* Move BAR1 while decoding: old address dead, new one live. */
	cfg_wr(&f->fm, f->devfn, PCI_BAR0 + 4, 0xe8000000, 4);
	assert_int_equal(fake_mmio_read(&f->fm, mem, 4), 0xffffffff);
	assert_int_equal(fake_mmio_read(&f->fm, 0xe8000008, 4), 0x5a01);
	assert_int_equal(f->t->last_off, 8);
	/* Move the 64-bit BAR above 4 GiB, one half at a time. */
	cfg_wr(&f->fm, f->devfn, PCI_BAR0 + 12, 0x1, 4);
	cfg_wr(&f->fm, f->devfn, PCI_BAR0 + 8, 0x00010000, 4);
	assert_int_equal(fake_mmio_read(&f->fm, 0x100010000ULL, 4), 0x5a02);
	assert_int_equal(fake_mmio_read(&f->fm, mem64, 4), 0xffffffff);
	/* Sizing with decode on: the probe address is all ones; nothing breaks. */
	cfg_wr(&f->fm, f->devfn, PCI_BAR0 + 4, 0xffffffff, 4);
	assert_int_equal(fake_mmio_read(&f->fm, 0xe8000008, 4), 0xffffffff);
	cfg_wr(&f->fm, f->devfn, PCI_BAR0 + 4, (uint32_t)mem, 4);
	assert_int_equal(fake_mmio_read(&f->fm, mem, 4), 0x5a01);
	/* Address 0 means unassigned: not decoded. */
	cfg_wr(&f->fm, f->devfn, PCI_BAR0, 0, 4);
	assert_int_equal(fake_pio_read(&f->fm, (uint16_t)io, 1), 0xff);   /* 0 = unassigned */
	cfg_wr(&f->fm, f->devfn, PCI_BAR0, (uint32_t)io, 4);
	/* Decode off: everything unmapped. */
	cfg_wr(&f->fm, f->devfn, PCI_COMMAND, 0, 2);
	assert_int_equal(fake_mmio_read(&f->fm, mem, 4), 0xffffffff);
	assert_int_equal(fake_mmio_read(&f->fm, 0x100010000ULL, 4), 0xffffffff);
	assert_int_equal(fake_pio_read(&f->fm, (uint16_t)io, 1), 0xff);
	assert_int_equal(f->fm.mmio.nr, 0);
	assert_int_equal(f->fm.pio.nr, 0);
}

static void test_bar_overlap_refused(void **state)
{
	struct fixture *f = *state;
	struct device *d2 = create_at(&f->fm, 9);
	uint8_t g_devfn = 9 << 3;
	uint64_t mem = bar_addr(&f->fm, f->devfn, 1), mem2;

	assert_non_null(d2);
	mem2 = bar_addr(&f->fm, g_devfn, 1);
	cfg_wr(&f->fm, f->devfn, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	cfg_wr(&f->fm, g_devfn, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	/* Device 2 moves its BAR1 onto device 1's: refused, device 1 keeps it. */
	cfg_wr(&f->fm, g_devfn, PCI_BAR0 + 4, (uint32_t)mem, 4);
	assert_int_equal(bar_addr(&f->fm, g_devfn, 1), mem);          /* the register holds it ... */
	assert_false(((struct tdev *)d2->priv)->f.bars[1].mapped);   /* ... unmapped */
	assert_int_equal(fake_mmio_read(&f->fm, mem, 4), 0x5a01);
	assert_int_equal(f->t->accesses, 1);
	assert_int_equal(((struct tdev *)d2->priv)->accesses, 0);
	/* Once device 1 stops decoding, device 2's next update maps it. */
	cfg_wr(&f->fm, f->devfn, PCI_COMMAND, 0, 2);
	cfg_wr(&f->fm, g_devfn, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	assert_int_equal(fake_mmio_read(&f->fm, mem, 4), 0x5a01);
	assert_int_equal(((struct tdev *)d2->priv)->accesses, 1);
	cfg_wr(&f->fm, g_devfn, PCI_BAR0 + 4, (uint32_t)mem2, 4);
	/* A memory BAR over RAM stays unmapped (the fake has 1 MiB at 0). */
	cfg_wr(&f->fm, g_devfn, PCI_BAR0 + 4, 0x000f0000, 4);
	assert_false(((struct tdev *)d2->priv)->f.bars[1].mapped);
	assert_int_equal(fake_mmio_read(&f->fm, 0x000f0000, 4), 0xffffffff);
	/* A 64-bit BAR at the very top of the address space is fine ... */
	cfg_wr(&f->fm, g_devfn, PCI_BAR0 + 12, 0xffffffff, 4);
	cfg_wr(&f->fm, g_devfn, PCI_BAR0 + 8, 0xffffc000, 4);
	assert_true(((struct tdev *)d2->priv)->f.bars[2].mapped);
	assert_int_equal(fake_mmio_read(&f->fm, 0xfffffffffffffff8ULL, 8), 0x5a02);
	device_destroy(d2);
	/* Device 2's regions left with it. */
	assert_int_equal(fake_mmio_read(&f->fm, 0xffffffffffffc000ULL, 4), 0xffffffff);
}

static void test_capability_list(void **state)
{
	struct fixture *f = *state;
	unsigned int ids[8], n = 0, off;

	assert_true(cfg_rd(&f->fm, f->devfn, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	off = cfg_rd(&f->fm, f->devfn, PCI_CAPABILITY_LIST, 1);
	while (off && n < 8) {
		assert_int_equal(off & 3, 0);
		assert_true(off >= 0x40);
		ids[n++] = cfg_rd(&f->fm, f->devfn, off, 1);
		off = cfg_rd(&f->fm, f->devfn, off + 1, 1);
	}
	assert_int_equal(n, 3);
	assert_int_equal(ids[0], PCI_CAP_ID_VNDR);
	assert_int_equal(ids[1], PCI_CAP_ID_MSI);
	assert_int_equal(ids[2], PCI_CAP_ID_MSIX);
	assert_int_equal(cfg_rd(&f->fm, f->devfn, PCI_CAPABILITY_LIST, 1), f->t->vndr_cap);
	/* MSI: 64-bit, per-vector mask, 4 vectors capable (MMC = 2). */
	assert_int_equal(cfg_rd(&f->fm, f->devfn, f->t->msi_cap + MSI_CTRL, 2), 0x0180 | 2 << 1);
	/* MSI-X: table size N-1, table at 0 in BAR4, PBA in BAR4 after the table. */
	assert_int_equal(cfg_rd(&f->fm, f->devfn, f->t->msix_cap + MSIX_CTRL, 2), NR_VECTORS - 1);
	assert_int_equal(cfg_rd(&f->fm, f->devfn, f->t->msix_cap + MSIX_TABLE, 4), MSIX_BAR);
	assert_int_equal(cfg_rd(&f->fm, f->devfn, f->t->msix_cap + MSIX_PBA, 4), 0x800 | MSIX_BAR);
	/* The capability pointers are read-only. */
	cfg_wr(&f->fm, f->devfn, PCI_CAPABILITY_LIST, 0x80, 1);
	cfg_wr(&f->fm, f->devfn, f->t->msi_cap, 0xffff, 2);
	assert_int_equal(cfg_rd(&f->fm, f->devfn, PCI_CAPABILITY_LIST, 1), f->t->vndr_cap);
	assert_int_equal(cfg_rd(&f->fm, f->devfn, f->t->msi_cap, 1), PCI_CAP_ID_MSI);
}

static void test_capability_space_exhausted(void **state)
{
	struct fake_machine fm;
	struct device dev = { 0 };
	struct pci_function fn;
	int n = 0;

	assert_int_equal(fake_machine_init(&fm, 0), 0);
	dev.host = &fm.host;
	pci_function_init(&fn, &dev, 1, 2, 0, 0, 0, 0);
	while (pci_function_add_capability(&fn, PCI_CAP_ID_VNDR, 20) > 0)
		n++;
	assert_int_equal(n, (256 - 0x40) / 20);
	assert_int_equal(pci_function_add_capability(&fn, PCI_CAP_ID_VNDR, 16), -ENOSPC);
	assert_int_equal(pci_function_add_capability(&fn, PCI_CAP_ID_VNDR, 12), 0xf4);
	assert_int_equal(pci_function_add_msi(&fn, 1), -ENOSPC);
	assert_int_equal(pci_function_add_msi(&fn, 3), -EINVAL);
	assert_int_equal(pci_function_add_msi(&fn, 64), -EINVAL);
	/* Bad BARs are refused. */
	assert_int_equal(pci_function_add_bar(&fn, 6, PCI_BAR_MEM32, 0x1000, &bar1_ops), -EINVAL);
	assert_int_equal(pci_function_add_bar(&fn, 0, PCI_BAR_MEM32, 0x1800, &bar1_ops), -EINVAL);
	assert_int_equal(pci_function_add_bar(&fn, 0, PCI_BAR_MEM32, 8, &bar1_ops), -EINVAL);
	assert_int_equal(pci_function_add_bar(&fn, 0, PCI_BAR_IO, 2, &bar0_ops), -EINVAL);
	assert_int_equal(pci_function_add_bar(&fn, 0, PCI_BAR_IO, 512, &bar0_ops), -EINVAL);
	assert_int_equal(pci_function_add_bar(&fn, 5, PCI_BAR_MEM64, 0x1000, &bar2_ops), -EINVAL);
	assert_int_equal(pci_function_add_bar(&fn, 0, PCI_BAR_MEM64, 0x1000, &bar2_ops), 0);
	assert_int_equal(pci_function_add_bar(&fn, 1, PCI_BAR_MEM32, 0x1000, &bar1_ops), -EINVAL);
	assert_int_equal(pci_function_add_bar(&fn, 0, PCI_BAR_MEM32, 0x1000, &bar1_ops), -EINVAL);
	assert_int_equal(pci_function_add_msix(&fn, 0, 2), -EINVAL);
	assert_int_equal(pci_function_add_msix(&fn, 4096, 2), -EINVAL);
	pci_bus_detach(&fn);
	fake_machine_destroy(&fm);
}

static void test_attach_slots(void **state)
{
	struct fixture *f = *state;
	struct device_args args = { .out_fd = -1, .in_fd = -1, .pci_slot = 3 };
	struct device *d;

	/* Slot 3 is taken: create fails cleanly. */
	errno = 0;
	assert_null(device_create(&tdev_model, "dup", &f->fm.host, &args));
	assert_int_equal(errno, EBUSY);
	args.pci_slot = 32;
	assert_null(device_create(&tdev_model, "bad", &f->fm.host, &args));
	assert_int_equal(errno, EINVAL);
	assert_ptr_equal(pci_bus_function(f->fm.pci, f->devfn), &f->t->f);
	assert_null(pci_bus_function(f->fm.pci, 1 << 3));
	/* Auto placement skips slot 0 (the host bridge's) and taken slots. */
	d = create_at(&f->fm, 0);
	assert_non_null(d);
	assert_int_equal(((struct tdev *)d->priv)->f.devfn, 1 << 3);
	device_destroy(d);
	assert_null(pci_bus_function(f->fm.pci, 1 << 3));
}

static void test_intx_gsi_formula(void **state)
{
	(void)state;
	assert_int_equal(pci_intx_gsi(0, 1), 16);
	assert_int_equal(pci_intx_gsi(1, 1), 17);
	assert_int_equal(pci_intx_gsi(1, 4), 16);
	assert_int_equal(pci_intx_gsi(3, 2), 16);
	assert_int_equal(pci_intx_gsi(31, 4), 18);
	for (unsigned int s = 0; s < 32; s++)
		for (unsigned int p = 1; p <= 4; p++)
			assert_int_equal(pci_intx_gsi(s, p), 16 + (s + p - 1) % 4);
}

static void test_intx(void **state)
{
	struct fixture *f = *state;
	unsigned int gsi = pci_intx_gsi(3, 1);

	/* The VMM plays firmware: Interrupt Line holds the GSI. */
	assert_int_equal(cfg_rd(&f->fm, f->devfn, PCI_INTERRUPT_LINE, 1), gsi);
	assert_int_equal(cfg_rd(&f->fm, f->devfn, PCI_INTERRUPT_PIN, 1), 1);
	pci_set_irq(&f->t->f, 1);
	assert_int_equal(f->fm.irq_level[gsi], 1);
	assert_true(cfg_rd(&f->fm, f->devfn, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	/* Interrupt Disable masks the pin but not the status bit. */
	cfg_wr(&f->fm, f->devfn, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, 2);
	assert_int_equal(f->fm.irq_level[gsi], 0);
	assert_true(cfg_rd(&f->fm, f->devfn, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	cfg_wr(&f->fm, f->devfn, PCI_COMMAND, 0, 2);
	assert_int_equal(f->fm.irq_level[gsi], 1);
	assert_int_equal(f->fm.irq_edges[gsi], 2);
	/* Status.Interrupt is read-only. */
	cfg_wr(&f->fm, f->devfn, PCI_STATUS, 0xffff, 2);
	assert_true(cfg_rd(&f->fm, f->devfn, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	pci_set_irq(&f->t->f, 0);
	assert_int_equal(f->fm.irq_level[gsi], 0);
	assert_false(cfg_rd(&f->fm, f->devfn, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	/* While disabled, raising does not reach the pin; enabling then does. */
	cfg_wr(&f->fm, f->devfn, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, 2);
	pci_set_irq(&f->t->f, 1);
	assert_int_equal(f->fm.irq_level[gsi], 0);
	cfg_wr(&f->fm, f->devfn, PCI_COMMAND, 0, 2);
	assert_int_equal(f->fm.irq_level[gsi], 1);
	/* Reset deasserts. */
	device_reset(f->dev);
	assert_int_equal(f->fm.irq_level[gsi], 0);
	assert_int_equal(f->fm.irq_bad_gsi, 0);
}

static void test_shared_pirq(void **state)
{
	struct fixture *f = *state;
	/* Slot 3 INTA and slot 7 INTA both drive PIRQ (3+0)%4 = (7+0)%4 = 3: GSI 19. */
	struct device *d2 = create_at(&f->fm, 7);
	struct pci_function *f2;
	unsigned int gsi = pci_intx_gsi(3, 1);

	assert_non_null(d2);
	f2 = &((struct tdev *)d2->priv)->f;
	assert_int_equal(gsi, 19);
	assert_int_equal(pci_intx_gsi(7, 1), gsi);
	pci_set_irq(&f->t->f, 1);
	pci_set_irq(f2, 1);
	assert_int_equal(f->fm.irq_level[gsi], 1);
	assert_int_equal(f->fm.irq_edges[gsi], 1);
	pci_set_irq(&f->t->f, 0);
	assert_int_equal(f->fm.irq_level[gsi], 1);     /* the other still holds it */
	pci_set_irq(&f->t->f, 0);                      /* repeated deassert: no underflow */
	assert_int_equal(f->fm.irq_level[gsi], 1);
	pci_set_irq(f2, 1);                            /* repeated assert: counted once */
	pci_set_irq(f2, 0);
	assert_int_equal(f->fm.irq_level[gsi], 0);
	/* Destroying a device that holds the line releases it. */
	pci_set_irq(f2, 1);
	pci_set_irq(&f->t->f, 1);
	device_destroy(d2);
	assert_int_equal(f->fm.irq_level[gsi], 1);
	pci_set_irq(&f->t->f, 0);
	assert_int_equal(f->fm.irq_level[gsi], 0);
}

static void msi_program(struct fixture *f, uint64_t addr, uint16_t data, unsigned int mme)
{
	unsigned int cap = f->t->msi_cap;

	cfg_wr(&f->fm, f->devfn, cap + MSI_ADDR_LO, (uint32_t)addr, 4);
	cfg_wr(&f->fm, f->devfn, cap + MSI_ADDR_HI, (uint32_t)(addr >> 32), 4);
	cfg_wr(&f->fm, f->devfn, cap + MSI_DATA, data, 2);
	cfg_wr(&f->fm, f->devfn, cap + MSI_CTRL, mme << 4 | 1, 2);
}

static void test_msi(void **state)
{
	struct fixture *f = *state;
	unsigned int cap = f->t->msi_cap;
	unsigned int gsi = pci_intx_gsi(3, 1);

	/* Disabled: the model is told to use INTx. */
	assert_false(pci_msi_notify(&f->t->f, 0));
	assert_false(pci_msi_enabled(&f->t->f));
	pci_set_irq(&f->t->f, 1);
	assert_int_equal(f->fm.irq_level[gsi], 1);

	cfg_wr(&f->fm, f->devfn, PCI_COMMAND, PCI_COMMAND_MASTER, 2);
	msi_program(f, 0xfee01003, 0x4140, 2);            /* 4 vectors allocated */
	assert_true(pci_msi_enabled(&f->t->f));
	assert_int_equal(f->fm.irq_level[gsi], 0);        /* INTx silent under MSI */
	assert_int_equal(cfg_rd(&f->fm, f->devfn, cap + MSI_ADDR_LO, 4), 0xfee01000);   /* dword aligned */
	assert_int_equal(cfg_rd(&f->fm, f->devfn, cap + MSI_CTRL, 2), 0x0180 | 2 << 4 | 2 << 1 | 1);
	assert_true(pci_msi_notify(&f->t->f, 0));
	assert_true(pci_msi_notify(&f->t->f, 3));
	assert_int_equal(f->fm.nr_msis, 2);
	assert_int_equal(f->fm.msis[0].addr, 0xfee01000);
	assert_int_equal(f->fm.msis[0].data, 0x4140);
	assert_int_equal(f->fm.msis[1].data, 0x4143);     /* vector in the low bits */

	/* Per-vector mask: pending instead of sent; unmask sends it. */
	cfg_wr(&f->fm, f->devfn, cap + MSI_MASK, 0xffffffff, 4);
	assert_int_equal(cfg_rd(&f->fm, f->devfn, cap + MSI_MASK, 4), 0xf);   /* only 4 vectors */
	assert_true(pci_msi_notify(&f->t->f, 2));
	assert_int_equal(f->fm.nr_msis, 2);
	assert_int_equal(cfg_rd(&f->fm, f->devfn, cap + MSI_PENDING, 4), 1u << 2);
	cfg_wr(&f->fm, f->devfn, cap + MSI_PENDING, 0, 4);                 /* read-only */
	assert_int_equal(cfg_rd(&f->fm, f->devfn, cap + MSI_PENDING, 4), 1u << 2);
	cfg_wr(&f->fm, f->devfn, cap + MSI_MASK, 0x0b, 4);                 /* unmask 2 only */
	assert_int_equal(f->fm.nr_msis, 3);
	assert_int_equal(f->fm.msis[2].data, 0x4142);
	assert_int_equal(cfg_rd(&f->fm, f->devfn, cap + MSI_PENDING, 4), 0);
	cfg_wr(&f->fm, f->devfn, cap + MSI_MASK, 0, 4);

	/* Fewer vectors allocated than the device has: vectors fold onto them. */
	cfg_wr(&f->fm, f->devfn, cap + MSI_CTRL, 0 << 4 | 1, 2);
	assert_true(pci_msi_notify(&f->t->f, 3));
	assert_int_equal(f->fm.msis[3].data, 0x4140);
	/* More enabled than capable (MME 5 > MMC 2): limited to what the device has. */
	cfg_wr(&f->fm, f->devfn, cap + MSI_CTRL, 5 << 4 | 1, 2);
	assert_true(pci_msi_notify(&f->t->f, 7));
	assert_int_equal(f->fm.msis[4].data, 0x4143);
	assert_int_equal(f->fm.msis[4].addr, 0xfee01000);

	/* 64-bit address. */
	cfg_wr(&f->fm, f->devfn, cap + MSI_ADDR_HI, 0x1, 4);
	assert_true(pci_msi_notify(&f->t->f, 0));
	assert_int_equal(f->fm.msis[5].addr, 0x1fee01000ULL);

	/* No bus mastering, no message. */
	cfg_wr(&f->fm, f->devfn, PCI_COMMAND, 0, 2);
	assert_true(pci_msi_notify(&f->t->f, 0));
	assert_int_equal(f->fm.nr_msis, 6);

	/* Disable: back to INTx, which is still raised. */
	cfg_wr(&f->fm, f->devfn, cap + MSI_CTRL, 0, 2);
	assert_false(pci_msi_notify(&f->t->f, 0));
	assert_int_equal(f->fm.irq_level[gsi], 1);
}

static uint64_t msix_base(struct fixture *f)
{
	return bar_addr(&f->fm, f->devfn, MSIX_BAR);
}

static void msix_entry_write(struct fixture *f, unsigned int v, uint64_t addr, uint32_t data,
			     uint32_t ctrl)
{
	uint64_t e = msix_base(f) + 16 * v;

	fake_mmio_write(&f->fm, e, addr, 8);            /* a qword access, as Linux may */
	fake_mmio_write(&f->fm, e + 8, data, 4);
	fake_mmio_write(&f->fm, e + 12, ctrl, 4);
}

static void test_msix(void **state)
{
	struct fixture *f = *state;
	unsigned int cap = f->t->msix_cap;
	uint64_t t = msix_base(f);
	uint64_t pba = t + 0x800;
	unsigned int gsi = pci_intx_gsi(3, 1);

	cfg_wr(&f->fm, f->devfn, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	/* Power-on: every vector masked, nothing pending. */
	for (unsigned int v = 0; v < NR_VECTORS; v++)
		assert_int_equal(fake_mmio_read(&f->fm, t + 16 * v + 12, 4), 1);
	assert_int_equal(fake_mmio_read(&f->fm, pba, 8), 0);
	assert_false(pci_msi_notify(&f->t->f, 0));
	pci_set_irq(&f->t->f, 1);

	cfg_wr(&f->fm, f->devfn, cap + MSIX_CTRL, 0xc000, 2);            /* enable + function mask */
	assert_int_equal(cfg_rd(&f->fm, f->devfn, cap + MSIX_CTRL, 2), 0xc000 | (NR_VECTORS - 1));
	assert_true(pci_msix_enabled(&f->t->f));
	assert_int_equal(f->fm.irq_level[gsi], 0);        /* INTx silent under MSI-X */
	msix_entry_write(f, 0, 0xfee00000, 0x30, 0);
	msix_entry_write(f, 1, 0x1fee02000ULL, 0x31, 0);
	msix_entry_write(f, 2, 0xfee00000, 0x32, 1);
	assert_int_equal(fake_mmio_read(&f->fm, t + 16, 8), 0x1fee02000ULL);
	assert_int_equal(fake_mmio_read(&f->fm, t + 24, 4), 0x31);
	/* Function mask: pending bits, no message. */
	assert_true(pci_msi_notify(&f->t->f, 1));
	assert_int_equal(f->fm.nr_msis, 0);
	assert_int_equal(fake_mmio_read(&f->fm, pba, 4), 1u << 1);
	/* The PBA is read-only. */
	fake_mmio_write(&f->fm, pba, 0, 4);
	assert_int_equal(fake_mmio_read(&f->fm, pba, 4), 1u << 1);
	/* Clearing the function mask delivers it. */
	cfg_wr(&f->fm, f->devfn, cap + MSIX_CTRL, 0x8000, 2);
	assert_int_equal(f->fm.nr_msis, 1);
	assert_int_equal(f->fm.msis[0].addr, 0x1fee02000ULL);
	assert_int_equal(f->fm.msis[0].data, 0x31);
	assert_int_equal(fake_mmio_read(&f->fm, pba, 4), 0);
	/* Unmasked vector: straight through. */
	assert_true(pci_msi_notify(&f->t->f, 0));
	assert_int_equal(f->fm.nr_msis, 2);
	assert_int_equal(f->fm.msis[1].data, 0x30);
	/* Vector mask: pending; a table write that unmasks delivers it. */
	assert_true(pci_msi_notify(&f->t->f, 2));
	assert_int_equal(f->fm.nr_msis, 2);
	assert_int_equal(fake_mmio_read(&f->fm, pba, 1), 1u << 2);
	fake_mmio_write(&f->fm, t + 2 * 16 + 12, 0xfffffffe, 4);   /* reserved bits ignored */
	assert_int_equal(f->fm.nr_msis, 3);
	assert_int_equal(f->fm.msis[2].data, 0x32);
	assert_int_equal(fake_mmio_read(&f->fm, t + 2 * 16 + 12, 4), 0);
	/* Out-of-range vectors and accesses are harmless. */
	assert_true(pci_msi_notify(&f->t->f, NR_VECTORS));
	assert_true(pci_msi_notify(&f->t->f, 0xffffffffu));
	assert_int_equal(f->fm.nr_msis, 3);
	fake_mmio_write(&f->fm, t + 0x400, 0xdeadbeef, 4);
	assert_int_equal(fake_mmio_read(&f->fm, t + 0x400, 4), 0);
	assert_int_equal(fake_mmio_read(&f->fm, t + 0xffc, 4), 0);
	assert_int_equal(fake_mmio_read(&f->fm, t + 0x1000, 4), 0xffffffff);   /* past the BAR */
	/* MSI-X wins over MSI if a guest enables both. */
	cfg_wr(&f->fm, f->devfn, f->t->msi_cap + MSI_CTRL, 1, 2);
	assert_true(pci_msi_notify(&f->t->f, 0));
	assert_int_equal(f->fm.nr_msis, 4);
	assert_int_equal(f->fm.msis[3].data, 0x30);
	cfg_wr(&f->fm, f->devfn, f->t->msi_cap + MSI_CTRL, 0, 2);
	/* Disable: INTx again. */
	cfg_wr(&f->fm, f->devfn, cap + MSIX_CTRL, 0, 2);
	assert_false(pci_msix_enabled(&f->t->f));
	assert_int_equal(f->fm.irq_level[gsi], 1);
}

/*
 * With irqfds offered, the same MSI sequence: every message goes through
 * an irqfd (the fake's irqfd records the message it is bound to, so the
 * recorded messages prove each one was bound to what the guest had
 * programmed at that moment: new data when MME changed, the new high
 * address), and one irqfd per vector actually sent.
 */
static void test_msi_irqfd(void **state)
{
	struct fixture *f = *state;

	test_msi(state);
	assert_int_equal(f->fm.nr_msis, 6);
	assert_int_equal(f->fm.irqfd_signals, 6);
	assert_int_equal(fake_irqfds(&f->fm), 3);           /* vectors 0, 2 and 3 */
}

/* The same for MSI-X: vectors 0, 1 and 2 sent, 3 never: three irqfds. */
static void test_msix_irqfd(void **state)
{
	struct fixture *f = *state;

	test_msix(state);
	assert_int_equal(f->fm.nr_msis, 4);
	assert_int_equal(f->fm.irqfd_signals, 4);
	assert_int_equal(fake_irqfds(&f->fm), 3);
	/* The device frees them. */
	device_destroy(f->dev);
	assert_int_equal(fake_irqfds(&f->fm), 0);
	f->dev = create_at(&f->fm, 3);
	assert_non_null(f->dev);
}

/*
 * A vector's irqfd follows the guest's reprogramming; masking still sets
 * the pending bit instead of signalling; a message outside the APIC
 * window never gets bound (signal_msi, which the VMM drops, as before).
 */
static void test_msix_irqfd_rebind(void **state)
{
	struct fixture *f = *state;
	unsigned int cap = f->t->msix_cap;
	uint64_t t = msix_base(f);

	cfg_wr(&f->fm, f->devfn, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	cfg_wr(&f->fm, f->devfn, cap + MSIX_CTRL, 0x8000, 2);
	assert_int_equal(fake_irqfds(&f->fm), 0);           /* none before a send */
	msix_entry_write(f, 1, 0xfee00000, 0x41, 0);
	assert_true(pci_msi_notify(&f->t->f, 1));
	assert_int_equal(f->fm.irqfd_signals, 1);
	assert_int_equal(f->fm.nr_msis, 1);
	assert_int_equal(f->fm.msis[0].addr, 0xfee00000);
	assert_int_equal(f->fm.msis[0].data, 0x41);
	assert_int_equal(fake_irqfds(&f->fm), 1);

	/* Reprogrammed the way Linux does it: mask, address, data, unmask. */
	fake_mmio_write(&f->fm, t + 16 + 12, 1, 4);
	fake_mmio_write(&f->fm, t + 16, 0xfee03000, 4);
	fake_mmio_write(&f->fm, t + 16 + 8, 0x52, 4);
	/* Masked meanwhile: pending, nothing signalled. */
	assert_true(pci_msi_notify(&f->t->f, 1));
	assert_int_equal(f->fm.irqfd_signals, 1);
	assert_int_equal(f->fm.nr_msis, 1);
	assert_int_equal(fake_mmio_read(&f->fm, t + 0x800, 4), 1u << 1);
	/* Unmask: the pending one goes out, bound to the new message. */
	fake_mmio_write(&f->fm, t + 16 + 12, 0, 4);
	assert_int_equal(fake_mmio_read(&f->fm, t + 0x800, 4), 0);
	assert_int_equal(f->fm.irqfd_signals, 2);
	assert_int_equal(f->fm.nr_msis, 2);
	assert_int_equal(f->fm.msis[1].addr, 0xfee03000);
	assert_int_equal(f->fm.msis[1].data, 0x52);
	assert_true(pci_msi_notify(&f->t->f, 1));
	assert_int_equal(f->fm.msis[2].data, 0x52);
	assert_int_equal(fake_irqfds(&f->fm), 1);           /* same irqfd, rebound */

	/* The function mask too. */
	cfg_wr(&f->fm, f->devfn, cap + MSIX_CTRL, 0xc000, 2);
	assert_true(pci_msi_notify(&f->t->f, 1));
	assert_int_equal(f->fm.irqfd_signals, 3);
	cfg_wr(&f->fm, f->devfn, cap + MSIX_CTRL, 0x8000, 2);
	assert_int_equal(f->fm.irqfd_signals, 4);
	assert_int_equal(f->fm.nr_msis, 4);

	/* Outside the APIC window: not bound, handed to signal_msi (which drops it). */
	fake_mmio_write(&f->fm, t + 16 + 12, 1, 4);
	fake_mmio_write(&f->fm, t + 16, 0xfed00000, 4);
	fake_mmio_write(&f->fm, t + 16 + 12, 0, 4);
	assert_true(pci_msi_notify(&f->t->f, 1));
	assert_int_equal(f->fm.irqfd_signals, 4);
	assert_int_equal(f->fm.nr_msis, 5);
	assert_int_equal(f->fm.msis[4].addr, 0xfed00000);
	/* Back in the window: through the irqfd again. */
	fake_mmio_write(&f->fm, t + 16, 0xfee00000, 4);
	assert_true(pci_msi_notify(&f->t->f, 1));
	assert_int_equal(f->fm.irqfd_signals, 5);
	assert_int_equal(f->fm.msis[5].addr, 0xfee00000);
	assert_int_equal(f->fm.msis[5].data, 0x52);

	/* No bus mastering: nothing at all. */
	cfg_wr(&f->fm, f->devfn, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	assert_true(pci_msi_notify(&f->t->f, 1));
	assert_int_equal(f->fm.irqfd_signals, 5);
	assert_int_equal(f->fm.nr_msis, 6);
}

/* A reset and a snapshot load change messages behind the irqfd: the next send rebinds. */
static void test_irqfd_after_reset_and_load(void **state)
{
	struct fixture *f = *state;
	unsigned int cap = f->t->msix_cap;
	struct sv_writer w;
	struct sv_reader r;

	cfg_wr(&f->fm, f->devfn, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	cfg_wr(&f->fm, f->devfn, cap + MSIX_CTRL, 0x8000, 2);
	msix_entry_write(f, 0, 0xfee00000, 0x30, 0);
	assert_int_equal(fake_save(f->dev, &w), 0);
	msix_entry_write(f, 0, 0xfee01000, 0x31, 0);
	assert_true(pci_msi_notify(&f->t->f, 0));
	assert_int_equal(f->fm.msis[0].data, 0x31);
	/* The snapshot had 0x30. */
	sv_reader_init(&r, w.buf, w.len);
	assert_int_equal(device_load(f->dev, &r, 1), 0);
	sv_writer_free(&w);
	assert_true(pci_msi_notify(&f->t->f, 0));
	assert_int_equal(f->fm.msis[1].addr, 0xfee00000);
	assert_int_equal(f->fm.msis[1].data, 0x30);
	/* Reset: the guest programs it anew. */
	device_reset(f->dev);
	cfg_wr(&f->fm, f->devfn, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	cfg_wr(&f->fm, f->devfn, cap + MSIX_CTRL, 0x8000, 2);
	msix_entry_write(f, 0, 0xfee02000, 0x44, 0);
	assert_true(pci_msi_notify(&f->t->f, 0));
	assert_int_equal(f->fm.msis[2].addr, 0xfee02000);
	assert_int_equal(f->fm.msis[2].data, 0x44);
	assert_int_equal(f->fm.irqfd_signals, 3);
	assert_int_equal(fake_irqfds(&f->fm), 1);
}

static void test_reset(void **state)
{
	struct fixture *f = *state;
	uint64_t mem = bar_addr(&f->fm, f->devfn, 1);
	unsigned int cap = f->t->msix_cap;

	cfg_wr(&f->fm, f->devfn, PCI_COMMAND, 0x0547, 2);
	cfg_wr(&f->fm, f->devfn, PCI_BAR0 + 4, 0xe9000000, 4);
	cfg_wr(&f->fm, f->devfn, cap + MSIX_CTRL, 0xc000, 2);
	msix_entry_write(f, 0, 0xfee00000, 0x30, 0);
	msi_program(f, 0xfee00000, 0x20, 1);
	cfg_wr(&f->fm, f->devfn, f->t->msi_cap + MSI_MASK, 1, 4);
	device_reset(f->dev);
	assert_int_equal(cfg_rd(&f->fm, f->devfn, PCI_COMMAND, 2), 0);
	assert_int_equal(bar_addr(&f->fm, f->devfn, 1), mem);
	assert_int_equal(f->fm.mmio.nr, 0);
	assert_int_equal(cfg_rd(&f->fm, f->devfn, cap + MSIX_CTRL, 2), NR_VECTORS - 1);
	assert_int_equal(cfg_rd(&f->fm, f->devfn, f->t->msi_cap + MSI_CTRL, 2), 0x0180 | 2 << 1);
	assert_int_equal(cfg_rd(&f->fm, f->devfn, f->t->msi_cap + MSI_MASK, 4), 0);
	assert_int_equal(cfg_rd(&f->fm, f->devfn, f->t->msi_cap + MSI_ADDR_LO, 4), 0);
	cfg_wr(&f->fm, f->devfn, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	assert_int_equal(fake_mmio_read(&f->fm, msix_base(f) + 12, 4), 1);   /* masked again */
	assert_int_equal(fake_mmio_read(&f->fm, msix_base(f), 4), 0);
	/* Reset keeps the firmware-assigned Interrupt Line. */
	assert_int_equal(cfg_rd(&f->fm, f->devfn, PCI_INTERRUPT_LINE, 1), pci_intx_gsi(3, 1));
}

static void test_save_load(void **state)
{
	struct fixture *f = *state;
	struct fake_machine fm2;
	struct device *copy;
	struct tdev *ct;
	uint8_t cdevfn;

	cfg_wr(&f->fm, f->devfn, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_IO | PCI_COMMAND_MASTER, 2);
	cfg_wr(&f->fm, f->devfn, PCI_BAR0 + 4, 0xe9000000, 4);
	cfg_wr(&f->fm, f->devfn, f->t->msix_cap + MSIX_CTRL, 0xc000, 2);
	msix_entry_write(f, 3, 0xfee00000, 0x77, 0);
	assert_true(pci_msi_notify(&f->t->f, 3));          /* pending under function mask */
	cfg_wr(&f->fm, f->devfn, f->t->msi_cap + MSI_DATA, 0x1234, 2);
	cfg_wr(&f->fm, f->devfn, 0x0d, 0x40, 1);

	/* The copy lands in the lowest free slot (1) of a fresh machine. */
	memset(&fm2, 0, sizeof(fm2));
	copy = fake_clone(f->dev, &fm2);
	assert_non_null(copy);
	ct = copy->priv;
	cdevfn = ct->f.devfn;
	for (unsigned int o = 0; o < 256; o++)
		if (o != PCI_INTERRUPT_LINE)   /* that follows the slot */
			assert_int_equal(cfg_rd(&fm2, cdevfn, o, 1), cfg_rd(&f->fm, f->devfn, o, 1));
	assert_memory_equal(ct->f.msix.table, f->t->f.msix.table, NR_VECTORS * 16);
	assert_int_equal(ct->f.msix.pba[0], 1u << 3);
	assert_true(ct->f.bars[1].mapped);
	assert_int_equal(fake_mmio_read(&fm2, 0xe9000000, 4), 0x5a01);
	device_destroy(copy);
	fake_machine_destroy(&fm2);

	/* INTx level survives. */
	cfg_wr(&f->fm, f->devfn, f->t->msix_cap + MSIX_CTRL, 0, 2);
	pci_set_irq(&f->t->f, 1);
	memset(&fm2, 0, sizeof(fm2));
	copy = fake_clone(f->dev, &fm2);
	assert_non_null(copy);
	assert_int_equal(fm2.irq_level[pci_intx_gsi(((struct tdev *)copy->priv)->f.devfn >> 3, 1)], 1);
	device_destroy(copy);
	fake_machine_destroy(&fm2);
}

static void test_load_rejects_bad_streams(void **state)
{
	struct fixture *f = *state;
	struct sv_writer w;
	struct sv_reader r;
	uint8_t *bad;

	cfg_wr(&f->fm, f->devfn, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	assert_int_equal(fake_save(f->dev, &w), 0);
	/* Truncated at every length: refused, nothing mapped twice, no crash. */
	for (size_t len = 0; len < w.len; len += 7) {
		sv_reader_init(&r, w.buf, len);
		assert_int_not_equal(device_load(f->dev, &r, 1), 0);
	}
	bad = malloc(w.len);
	assert_non_null(bad);
	/* Wrong core version. */
	memcpy(bad, w.buf, w.len);
	bad[0] = 99;
	sv_reader_init(&r, bad, w.len);
	assert_int_equal(device_load(f->dev, &r, 1), -EINVAL);
	/* MSI-X vector count that does not match the model. */
	memcpy(bad, w.buf, w.len);
	bad[2 + 256 + 1] = 8;
	sv_reader_init(&r, bad, w.len);
	assert_int_equal(device_load(f->dev, &r, 1), -EINVAL);
	/* Garbage config bytes: read-only identity stays the model's. */
	memcpy(bad, w.buf, w.len);
	memset(bad + 2, 0xff, 256);
	sv_reader_init(&r, bad, w.len);
	assert_int_equal(device_load(f->dev, &r, 1), 0);
	assert_int_equal(cfg_rd(&f->fm, f->devfn, PCI_VENDOR_ID, 4), TEST_DEVICE << 16 | TEST_VENDOR);
	assert_int_equal(cfg_rd(&f->fm, f->devfn, PCI_CAPABILITY_LIST, 1), f->t->vndr_cap);
	assert_int_equal(cfg_rd(&f->fm, f->devfn, PCI_BAR0, 4), 0xffffffe1);   /* masked by the BAR's writable bits */
	free(bad);
	sv_writer_free(&w);
	/* Still a working device afterwards. */
	device_reset(f->dev);
	cfg_wr(&f->fm, f->devfn, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	assert_int_equal(fake_mmio_read(&f->fm, bar_addr(&f->fm, f->devfn, 1), 4), 0x5a01);
}


/* ---- RAM-backed BARs (pci_function_add_bar_region) ---- */

#define RDEV_VRAM   (3u << 20)      /* not a power of two: the BAR is 4 MiB */
#define RDEV_BAR    (4u << 20)

struct rdev {
	struct pci_function f;
	struct host_memregion *r32, *r64;
};

static int rdev_create(struct device *dev, const struct device_args *args)
{
	const struct host_mem_ops *mo = dev->host->memregion_ops;
	struct rdev *t = calloc(1, sizeof(*t));
	int ret;

	if (!t)
		return -ENOMEM;
	dev->priv = t;
	pci_function_init(&t->f, dev, TEST_VENDOR, TEST_DEVICE + 1, 0x030000, 0, 0, 0);
	t->r32 = mo->region_new(dev->host->memregion_opaque, "rdev.r32", RDEV_VRAM, HOST_MEM_DIRTY_LOG);
	t->r64 = mo->region_new(dev->host->memregion_opaque, "rdev.r64", 0x2000, 0);
	if (!t->r32 || !t->r64)
		return -ENOMEM;
	if ((ret = pci_function_add_bar_region(&t->f, 0, PCI_BAR_MEM32, t->r32, PCI_BAR_PREFETCH)) ||
	    (ret = pci_function_add_bar_region(&t->f, 2, PCI_BAR_MEM64, t->r64, 0)))
		return ret;
	return pci_bus_attach(dev->host->pci, &t->f, args->pci_slot ? args->pci_slot : -1, 0);
}

static void rdev_reset(struct device *dev)
{
	pci_function_reset(&((struct rdev *)dev->priv)->f);
}

static void rdev_destroy(struct device *dev)
{
	struct rdev *t = dev->priv;

	if (!t)
		return;
	pci_bus_detach(&t->f);
	host_memregion_free(t->r32);
	host_memregion_free(t->r64);
	free(t);
}

static const struct device_model rdev_model = {
	.name = "pci-region-test", .state_version = 1,
	.create = rdev_create, .reset = rdev_reset, .destroy = rdev_destroy,
};

static void test_region_bar_bad_declarations(void **state)
{
	struct pci_function f;
	struct host_memregion r = { .size = 0x1000 };

	(void)state;
	pci_function_init(&f, NULL, TEST_VENDOR, TEST_DEVICE, TEST_CLASS, 0, 0, 0);
	assert_int_equal(pci_function_add_bar_region(&f, 0, PCI_BAR_IO, &r, 0), -EINVAL);
	assert_int_equal(pci_function_add_bar_region(&f, 0, PCI_BAR_MEM32, NULL, 0), -EINVAL);
	assert_int_equal(pci_function_add_bar_region(&f, 6, PCI_BAR_MEM32, &r, 0), -EINVAL);
	assert_int_equal(pci_function_add_bar_region(&f, 5, PCI_BAR_MEM64, &r, 0), -EINVAL);
	r.size = 0x100000000ULL;   /* 4 GiB cannot be a 32-bit BAR */
	assert_int_equal(pci_function_add_bar_region(&f, 0, PCI_BAR_MEM32, &r, 0), -EINVAL);
}

static void test_region_bar(void **state)
{
	struct fake_machine fm;
	struct device_args args = { .out_fd = -1, .in_fd = -1, .pci_slot = 5 };
	struct device *dev;
	struct rdev *t;
	uint8_t devfn = 5 << 3;
	uint8_t byte = 0x5a;
	uint64_t a, a64;

	(void)state;
	assert_int_equal(fake_machine_init(&fm, 0x100000), 0);
	dev = device_create(&rdev_model, "rtest", &fm.host, &args);
	assert_non_null(dev);
	t = dev->priv;
	/* Prefetchable 32-bit memory; sized as the region rounded up to a power of two. */
	assert_int_equal(cfg_rd(&fm, devfn, PCI_BAR0, 4) & 0xf, 0x8);
	assert_int_equal(cfg_rd(&fm, devfn, PCI_BAR0 + 8, 4) & 0xf, 0x4);
	a = bar_addr(&fm, devfn, 0);
	a64 = bar_addr(&fm, devfn, 2);
	assert_int_equal(a % RDEV_BAR, 0);
	assert_false(t->r32->mapped);
	assert_null(fake_memregion_at(&fm, a));

	/* Decoding on: the region is where the BAR says, and the guest writes it. */
	cfg_wr(&fm, devfn, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	assert_ptr_equal(fake_memregion_at(&fm, a), t->r32);
	assert_ptr_equal(fake_memregion_at(&fm, a + RDEV_VRAM - 1), t->r32);
	assert_null(fake_memregion_at(&fm, a + RDEV_VRAM));   /* the BAR's tail is not backed */
	assert_ptr_equal(fake_memregion_at(&fm, a64), t->r64);
	assert_int_equal(fake_guest_mem_write(&fm, a + 0x1234, &byte, 1), 0);
	assert_int_equal(t->r32->hva[0x1234], 0x5a);
	assert_int_equal(fm.mmio.nr, 0);   /* nothing trapped */

	/* Sizing with decoding on: all-ones is no address; the size reads back. */
	cfg_wr(&fm, devfn, PCI_BAR0, 0xffffffff, 4);
	assert_int_equal(cfg_rd(&fm, devfn, PCI_BAR0, 4), (uint32_t)~(RDEV_BAR - 1) | 0x8);
	assert_false(t->r32->mapped);
	assert_null(fake_memregion_at(&fm, 0xffc00000));
	cfg_wr(&fm, devfn, PCI_BAR0, (uint32_t)a, 4);
	assert_ptr_equal(fake_memregion_at(&fm, a), t->r32);
	/* A 64-bit BAR is sized a dword at a time: either half all-ones unmaps it. */
	cfg_wr(&fm, devfn, PCI_BAR0 + 8, 0xffffffff, 4);
	assert_false(t->r64->mapped);
	cfg_wr(&fm, devfn, PCI_BAR0 + 8, (uint32_t)a64, 4);
	assert_ptr_equal(fake_memregion_at(&fm, a64), t->r64);
	cfg_wr(&fm, devfn, PCI_BAR0 + 12, 0xffffffff, 4);
	assert_false(t->r64->mapped);
	cfg_wr(&fm, devfn, PCI_BAR0 + 12, 0, 4);
	assert_ptr_equal(fake_memregion_at(&fm, a64), t->r64);

	/* Moved: gone from the old place, at the new one. */
	cfg_wr(&fm, devfn, PCI_BAR0, 0xe8000000, 4);
	assert_null(fake_memregion_at(&fm, a));
	assert_ptr_equal(fake_memregion_at(&fm, 0xe8000000), t->r32);
	assert_int_equal(t->r32->gpa, 0xe8000000);

	/* Onto the other region: refused, left unmapped, no crash; then moved off. */
	cfg_wr(&fm, devfn, PCI_BAR0, (uint32_t)(a64 & ~(uint64_t)(RDEV_BAR - 1)), 4);
	assert_false(t->r32->mapped);
	assert_ptr_equal(fake_memregion_at(&fm, a64), t->r64);
	/* Onto RAM: refused too. */
	cfg_wr(&fm, devfn, PCI_BAR0, 0, 4);
	cfg_wr(&fm, devfn, PCI_BAR0, 0x00400000, 4);
	fm.ram_size = 0x1000000;   /* pretend RAM reaches past 4 MiB */
	cfg_wr(&fm, devfn, PCI_COMMAND, 0, 2);
	cfg_wr(&fm, devfn, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	assert_false(t->r32->mapped);
	fm.ram_size = 0x100000;
	cfg_wr(&fm, devfn, PCI_BAR0, 0xe8000000, 4);
	assert_ptr_equal(fake_memregion_at(&fm, 0xe8000000), t->r32);

	/* Decoding off: unmapped, the BAR keeps its address. */
	cfg_wr(&fm, devfn, PCI_COMMAND, 0, 2);
	assert_false(t->r32->mapped);
	assert_false(t->r64->mapped);
	assert_int_equal(bar_addr(&fm, devfn, 0), 0xe8000000);

	/* Reset: unmapped, back at the placement, decoding off. */
	cfg_wr(&fm, devfn, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	assert_true(t->r32->mapped);
	device_reset(dev);
	assert_false(t->r32->mapped);
	assert_false(t->r64->mapped);
	assert_int_equal(bar_addr(&fm, devfn, 0), a);
	/* The contents are the device's: a PCI reset does not clear them. */
	assert_int_equal(t->r32->hva[0x1234], 0x5a);

	/* Destroy: unmapped and freed by the model. */
	cfg_wr(&fm, devfn, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	assert_true(t->r32->mapped);
	assert_int_equal(fake_memregions(&fm), 2);
	device_destroy(dev);
	assert_int_equal(fake_memregions(&fm), 0);
	fake_machine_destroy(&fm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_absent_and_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_command_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_sizing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_initial_placement, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_mapping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_overlap_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capability_list, setup, teardown),
		cmocka_unit_test(test_capability_space_exhausted),
		cmocka_unit_test_setup_teardown(test_attach_slots, setup, teardown),
		cmocka_unit_test(test_intx_gsi_formula),
		cmocka_unit_test_setup_teardown(test_intx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shared_pirq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msi_irqfd, setup_irqfd, teardown),
		cmocka_unit_test_setup_teardown(test_msix_irqfd, setup_irqfd, teardown),
		cmocka_unit_test_setup_teardown(test_msix_irqfd_rebind, setup_irqfd, teardown),
		cmocka_unit_test_setup_teardown(test_irqfd_after_reset_and_load, setup_irqfd, teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
		cmocka_unit_test(test_region_bar_bad_declarations),
		cmocka_unit_test(test_region_bar),
		cmocka_unit_test_setup_teardown(test_save_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_rejects_bad_streams, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
