// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The AHCI controller on the fake machine: PCI identity, HBA and port
 * registers, commands through command list / table / PRDT in fake guest
 * RAM (ATA disk on port 0, ATAPI CD on port 2), NCQ, interrupts (INTx and
 * MSI), resets, malformed requests, save/load, and every kind of reset
 * with a read in flight against a slow image (no DMA after it returns).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "block.h"
#include "devices.h"
#include "fake_machine.h"
#include "pci.h"
#include "slow_image.h"

#define RAM_SIZE      (32u << 20)
#define DISK_SECTORS  8192u             /* 4 MiB */
#define CD_SECTORS    300u

/* Register offsets (AHCI 1.3.1 section 3) */
#define CAP   0x00
#define GHC   0x04
#define IS    0x08
#define PI    0x0c
#define VS    0x10
#define PORT(p, r) (0x100 + (p) * 0x80 + (r))
#define PX_CLB  0x00
#define PX_CLBU 0x04
#define PX_FB   0x08
#define PX_FBU  0x0c
#define PX_IS   0x10
#define PX_IE   0x14
#define PX_CMD  0x18
#define PX_TFD  0x20
#define PX_SIG  0x24
#define PX_SSTS 0x28
#define PX_SCTL 0x2c
#define PX_SERR 0x30
#define PX_SACT 0x34
#define PX_CI   0x38

#define CMD_ST  (1u << 0)
#define CMD_CLO (1u << 3)
#define CMD_FRE (1u << 4)
#define CMD_FR  (1u << 14)
#define CMD_CR  (1u << 15)
#define IS_DHRS (1u << 0)
#define IS_PSS  (1u << 1)
#define IS_SDBS (1u << 3)
#define IS_OFS  (1u << 24)
#define IS_HBDS (1u << 28)
#define IS_HBFS (1u << 29)
#define IS_TFES (1u << 30)
#define IS_ERRORS (IS_OFS | IS_HBDS | IS_HBFS | IS_TFES)

/* Guest RAM layout of the tests */
#define CLB(p)      (0x10000u + (p) * 0x1000u)
#define FB(p)       (0x40000u + (p) * 0x1000u)
#define CTBA(p, s)  (0x80000u + (p) * 0x40000u + (s) * 0x2000u)
#define DATA        0x400000u

struct img {
	char path[64];
	int fd;
	struct blk_image *blk;
};

struct fixture {
	struct fake_machine fm;
	struct img disk, iso;
	struct drive_args drives[2];
	struct device_args args;
	struct device *dev;
	uint8_t devfn;
	uint64_t abar;
};

static void img_make(struct img *im, unsigned int sectors, unsigned int ssize, bool ro)
{
	char err[BLK_ERR_MAX];
	uint8_t *buf = malloc(ssize);

	strcpy(im->path, "/tmp/hutch-test-ahci-XXXXXX");
	im->fd = mkstemp(im->path);
	assert_true(im->fd >= 0);
	for (uint32_t s = 0; s < sectors; s++) {
		memset(buf, (int)(s * 3), ssize);
		memcpy(buf, &s, sizeof(s));
		assert_int_equal(pwrite(im->fd, buf, ssize, (off_t)s * ssize), (ssize_t)ssize);
	}
	free(buf);
	assert_int_equal(blk_open(im->path, "raw", ro ? BLK_RDONLY : 0, &im->blk, err, sizeof(err)), 0);
}

static void img_free(struct img *im)
{
	blk_close(im->blk);
	close(im->fd);
	unlink(im->path);
}

static uint32_t rd(struct fixture *f, uint32_t off)
{
	return (uint32_t)fake_mmio_read(&f->fm, f->abar + off, 4);
}

static void wr(struct fixture *f, uint32_t off, uint32_t v)
{
	fake_mmio_write(&f->fm, f->abar + off, v, 4);
}

static uint8_t find_ahci(struct fake_machine *fm)
{
	for (unsigned int devfn = 0; devfn < 256; devfn++)
		if (fake_pci_cfg_read(fm, (uint8_t)devfn, 0, 4) == (0x2922u << 16 | 0x8086))
			return (uint8_t)devfn;
	fail_msg("no AHCI function on the bus");
	return 0;
}

static void enable_pci(struct fixture *f)
{
	f->devfn = find_ahci(&f->fm);
	fake_pci_cfg_write(&f->fm, f->devfn, PCI_COMMAND,
			   PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	f->abar = fake_pci_cfg_read(&f->fm, f->devfn, PCI_BAR0 + 5 * 4, 4) & ~0xfull;
	assert_true(f->abar >= PCI_MMIO32_BASE);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_int_equal(fake_machine_init(&f->fm, RAM_SIZE), 0);
	img_make(&f->disk, DISK_SECTORS, 512, false);
	img_make(&f->iso, CD_SECTORS, 2048, true);
	f->drives[0] = (struct drive_args){ .img = f->disk.blk, .port = 0, .serial = "AHCIDISK" };
	f->drives[1] = (struct drive_args){ .img = f->iso.blk, .cdrom = true, .readonly = true,
					    .port = 2 };
	f->args = (struct device_args){ .out_fd = -1, .in_fd = -1, .drives = f->drives,
					.nr_drives = 2 };
	f->dev = fake_device_create(&f->fm, &ahci_model, &f->args);
	assert_non_null(f->dev);
	enable_pci(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	device_destroy(f->dev);
	fake_machine_destroy(&f->fm);
	img_free(&f->disk);
	img_free(&f->iso);
	free(f);
	return 0;
}

static void port_start(struct fixture *f, unsigned int p)
{
	wr(f, PORT(p, PX_CLB), CLB(p));
	wr(f, PORT(p, PX_CLBU), 0);
	wr(f, PORT(p, PX_FB), FB(p));
	wr(f, PORT(p, PX_FBU), 0);
	wr(f, PORT(p, PX_SERR), ~0u);
	wr(f, PORT(p, PX_IS), ~0u);
	wr(f, PORT(p, PX_CMD), CMD_FRE);
	wr(f, PORT(p, PX_CMD), CMD_FRE | CMD_ST);
	wr(f, PORT(p, PX_IE), ~0u);
	wr(f, GHC, 1u << 1);    /* IE */
	assert_int_equal(rd(f, PORT(p, PX_CMD)) & (CMD_CR | CMD_FR), CMD_CR | CMD_FR);
}

static void put32(struct fixture *f, uint64_t gpa, uint32_t v)
{
	memcpy(f->fm.ram + gpa, &v, 4);
}

static uint32_t get32(struct fixture *f, uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, f->fm.ram + gpa, 4);
	return v;
}

struct prd {
	uint64_t addr;
	uint32_t len;
};

/* Write a command header for @slot and a command table with an H2D FIS. */
static void build_cmd(struct fixture *f, unsigned int p, unsigned int slot, uint8_t command,
		      uint16_t features, uint64_t lba, uint16_t count, const uint8_t *cdb,
		      const struct prd *prds, unsigned int nprd)
{
	uint64_t hdr = CLB(p) + slot * 32u, ct = CTBA(p, slot);
	uint8_t *cfis = f->fm.ram + ct;

	memset(f->fm.ram + hdr, 0, 32);
	memset(f->fm.ram + ct, 0, 0x80 + 16 * nprd);
	put32(f, hdr, 5 | (cdb ? 1u << 5 : 0) | (uint32_t)nprd << 16);
	put32(f, hdr + 8, (uint32_t)ct);
	put32(f, hdr + 12, (uint32_t)(ct >> 32));
	cfis[0] = 0x27;
	cfis[1] = 0x80;
	cfis[2] = command;
	cfis[3] = (uint8_t)features;
	cfis[4] = (uint8_t)lba;
	cfis[5] = (uint8_t)(lba >> 8);
	cfis[6] = (uint8_t)(lba >> 16);
	cfis[7] = 0x40;
	cfis[8] = (uint8_t)(lba >> 24);
	cfis[9] = (uint8_t)(lba >> 32);
	cfis[10] = (uint8_t)(lba >> 40);
	cfis[11] = (uint8_t)(features >> 8);
	cfis[12] = (uint8_t)count;
	cfis[13] = (uint8_t)(count >> 8);
	if (cdb)
		memcpy(cfis + 0x40, cdb, 12);
	for (unsigned int i = 0; i < nprd; i++) {
		uint64_t e = ct + 0x80 + 16u * i;

		put32(f, e, (uint32_t)prds[i].addr);
		put32(f, e + 4, (uint32_t)(prds[i].addr >> 32));
		put32(f, e + 12, prds[i].len - 1);
	}
}

/* Wait until @mask's bits of port register @reg clear: 0, or -1 on an error interrupt. */
static int wait_clear(struct fixture *f, unsigned int p, uint32_t reg, uint32_t mask)
{
	for (int i = 0; i < 5000; i++) {
		if (rd(f, PORT(p, PX_IS)) & IS_ERRORS)
			return -1;
		if (!(rd(f, PORT(p, reg)) & mask))
			return 0;
		usleep(1000);
	}
	fail_msg("command did not complete (port register 0x%x & 0x%x)", reg, mask);
	return -2;
}

/* Wait until PxCI has no bit of @mask (0) or the port reports an error (-1). */
static int wait_ci(struct fixture *f, unsigned int p, uint32_t mask)
{
	return wait_clear(f, p, PX_CI, mask);
}

/* NCQ: commands leave PxCI when accepted; completion clears PxSACT. */
static int wait_sact(struct fixture *f, unsigned int p, uint32_t mask)
{
	return wait_clear(f, p, PX_SACT, mask);
}

static int issue(struct fixture *f, unsigned int p, unsigned int slot)
{
	wr(f, PORT(p, PX_CI), 1u << slot);
	return wait_ci(f, p, 1u << slot);
}

static void test_pci_and_hba_registers(void **state)
{
	struct fixture *f = *state;
	uint8_t cap;
	bool msi = false;

	assert_int_equal(fake_pci_cfg_read(&f->fm, f->devfn, PCI_REVISION_ID, 4), 0x01060102);
	assert_int_equal(fake_pci_cfg_read(&f->fm, f->devfn, PCI_INTERRUPT_PIN, 1), 1);
	for (cap = (uint8_t)fake_pci_cfg_read(&f->fm, f->devfn, PCI_CAPABILITY_LIST, 1); cap;
	     cap = (uint8_t)fake_pci_cfg_read(&f->fm, f->devfn, cap + 1, 1))
		if (fake_pci_cfg_read(&f->fm, f->devfn, cap, 1) == PCI_CAP_ID_MSI)
			msi = true;
	assert_true(msi);

	/* 3 ports (NP = highest port used), 32 slots, NCQ, 64-bit, AHCI only. */
	assert_int_equal(rd(f, CAP) & 0x1f, 2);
	assert_int_equal((rd(f, CAP) >> 8) & 0x1f, 31);
	assert_true(rd(f, CAP) & (1u << 30));
	assert_true(rd(f, CAP) & (1u << 31));
	assert_true(rd(f, CAP) & (1u << 18));
	assert_int_equal(rd(f, PI), 0x5);
	assert_int_equal(rd(f, VS), 0x00010300);
	assert_int_equal(rd(f, GHC), 1u << 31);
	/* Byte read of VS's minor number. */
	assert_int_equal(fake_mmio_read(&f->fm, f->abar + VS + 1, 1), 0x03);

	/* Port signatures and link status after reset. */
	assert_int_equal(rd(f, PORT(0, PX_SIG)), 0x00000101);
	assert_int_equal(rd(f, PORT(2, PX_SIG)), 0xeb140101);
	assert_int_equal(rd(f, PORT(0, PX_SSTS)), 0x123);
	assert_int_equal(rd(f, PORT(0, PX_TFD)) & 0x80, 0);
	assert_int_equal(rd(f, PORT(2, PX_CMD)) & (1u << 24), 1u << 24);    /* ATAPI */
	/* Port 1 is not implemented: reads 0, writes ignored. */
	wr(f, PORT(1, PX_CLB), 0x1000);
	assert_int_equal(rd(f, PORT(1, PX_CLB)), 0);
	assert_int_equal(rd(f, PORT(1, PX_SSTS)), 0);

	/* CLB/FB alignment, HBA reset keeps them but clears IE and GHC.IE. */
	wr(f, PORT(0, PX_CLB), 0x12345fff);
	assert_int_equal(rd(f, PORT(0, PX_CLB)), 0x12345c00);
	wr(f, PORT(0, PX_FB), 0x123456ff);
	assert_int_equal(rd(f, PORT(0, PX_FB)), 0x12345600);
	wr(f, PORT(0, PX_IE), ~0u);
	wr(f, GHC, 1u << 1);
	wr(f, GHC, 1u);         /* HR */
	assert_int_equal(rd(f, GHC), 1u << 31);
	assert_int_equal(rd(f, PORT(0, PX_IE)), 0);
	assert_int_equal(rd(f, PORT(0, PX_CLB)), 0x12345c00);
	/* CI is ignored while the port is stopped. */
	wr(f, PORT(0, PX_CI), 1);
	assert_int_equal(rd(f, PORT(0, PX_CI)), 0);
}

static uint16_t id_word(const uint8_t *id, unsigned int w)
{
	return (uint16_t)(id[2 * w] | id[2 * w + 1] << 8);
}

static void test_identify_pio_intx(void **state)
{
	struct fixture *f = *state;
	struct prd prd = { DATA, 512 };
	uint32_t gsi = fake_pci_cfg_read(&f->fm, f->devfn, PCI_INTERRUPT_LINE, 1);
	uint8_t *rfis = f->fm.ram + FB(0);

	port_start(f, 0);
	assert_int_equal(f->fm.irq_level[gsi], 0);
	build_cmd(f, 0, 3, 0xec, 0, 0, 0, NULL, &prd, 1);
	assert_int_equal(issue(f, 0, 3), 0);
	assert_int_equal(id_word(f->fm.ram + DATA, 100), DISK_SECTORS);
	assert_int_equal(id_word(f->fm.ram + DATA, 75), 31);
	assert_int_equal(get32(f, CLB(0) + 3 * 32 + 4), 512);      /* PRDBC */
	/* PIO Setup FIS (data in) and D2H FIS in the receive area. */
	assert_int_equal(rfis[0x20], 0x5f);
	assert_int_equal(rfis[0x21] & 0x20, 0x20);
	assert_int_equal(rfis[0x20 + 15], 0x50);
	assert_int_equal(rfis[0x40], 0x34);
	assert_int_equal(rfis[0x42], 0x50);
	assert_int_equal(rd(f, PORT(0, PX_TFD)), 0x50);
	assert_int_equal(rd(f, PORT(0, PX_IS)) & (IS_DHRS | IS_PSS), IS_DHRS | IS_PSS);
	assert_int_equal(rd(f, IS), 1);
	assert_int_equal(f->fm.irq_level[gsi], 1);
	/* Clearing PxIS and then IS drops the line. */
	wr(f, PORT(0, PX_IS), ~0u);
	assert_int_equal(f->fm.irq_level[gsi], 1);
	wr(f, IS, 1);
	assert_int_equal(f->fm.irq_level[gsi], 0);
	/* GHC.IE off: events are recorded, no interrupt. */
	wr(f, GHC, 0);
	assert_int_equal(issue(f, 0, 3), 0);
	assert_int_equal(f->fm.irq_level[gsi], 0);
	assert_int_equal(rd(f, IS), 1);
}

static void test_read_write_dma_ext(void **state)
{
	struct fixture *f = *state;
	/* Three PRDs of unequal sizes, the last one longer than needed. */
	struct prd w[3] = { { DATA, 1024 }, { DATA + 0x10000, 6 * 512 }, { DATA + 0x20000, 8192 } };
	struct prd r = { DATA + 0x100000, 16 * 512 };
	uint8_t file[16 * 512];

	for (unsigned int i = 0; i < 1024; i++)
		f->fm.ram[DATA + i] = (uint8_t)(i + 1);
	for (unsigned int i = 0; i < 6 * 512; i++)
		f->fm.ram[DATA + 0x10000 + i] = (uint8_t)(i * 5);
	for (unsigned int i = 0; i < 8 * 512; i++)
		f->fm.ram[DATA + 0x20000 + i] = (uint8_t)(i ^ 0x5a);
	port_start(f, 0);
	build_cmd(f, 0, 0, 0x35, 0, 1000, 16, NULL, w, 3);
	put32(f, CLB(0), get32(f, CLB(0)) | 1u << 6);   /* W */
	assert_int_equal(issue(f, 0, 0), 0);
	assert_int_equal(get32(f, CLB(0) + 4), 16 * 512);
	assert_int_equal(pread(f->disk.fd, file, sizeof(file), 1000 * 512), (ssize_t)sizeof(file));
	assert_memory_equal(file, f->fm.ram + DATA, 1024);
	assert_memory_equal(file + 1024, f->fm.ram + DATA + 0x10000, 6 * 512);
	assert_memory_equal(file + 4096, f->fm.ram + DATA + 0x20000, 8 * 512);

	build_cmd(f, 0, 1, 0x25, 0, 1000, 16, NULL, &r, 1);
	assert_int_equal(issue(f, 0, 1), 0);
	assert_memory_equal(f->fm.ram + DATA + 0x100000, file, sizeof(file));
	assert_int_equal(rd(f, PORT(0, PX_TFD)) & 0xff, 0x50);
}

static void test_ncq(void **state)
{
	struct fixture *f = *state;
	uint32_t all = 0;
	uint8_t *sdb = f->fm.ram + FB(0) + 0x58;

	port_start(f, 0);
	/* Eight queued reads of 4 sectors each into separate buffers. */
	for (unsigned int t = 0; t < 8; t++) {
		struct prd p = { DATA + t * 0x1000u, 4 * 512 };

		build_cmd(f, 0, t, 0x60, 4, 200 + t * 4, (uint16_t)(t << 3), NULL, &p, 1);
		all |= 1u << t;
	}
	wr(f, PORT(0, PX_SACT), all);
	wr(f, PORT(0, PX_CI), all);
	assert_int_equal(wait_sact(f, 0, all), 0);
	assert_int_equal(rd(f, PORT(0, PX_CI)), 0);
	for (unsigned int t = 0; t < 8; t++) {
		uint32_t first;

		memcpy(&first, f->fm.ram + DATA + t * 0x1000u, 4);
		assert_int_equal(first, 200 + t * 4);
		memcpy(&first, f->fm.ram + DATA + t * 0x1000u + 3 * 512, 4);
		assert_int_equal(first, 200 + t * 4 + 3);
	}
	assert_int_equal(sdb[0], 0xa1);
	assert_true(rd(f, PORT(0, PX_IS)) & IS_SDBS);
	assert_int_equal(rd(f, PORT(0, PX_IS)) & IS_ERRORS, 0);

	/* A queued write past the end: TFES, SACT stays, log 10h names the tag. */
	{
		struct prd p = { DATA, 2 * 512 };
		struct prd l = { DATA + 0x80000, 512 };

		wr(f, PORT(0, PX_IS), ~0u);
		build_cmd(f, 0, 5, 0x61, 2, DISK_SECTORS - 1, 5 << 3, NULL, &p, 1);
		wr(f, PORT(0, PX_SACT), 1u << 5);
		wr(f, PORT(0, PX_CI), 1u << 5);
		assert_int_equal(wait_sact(f, 0, 1u << 5), -1);
		assert_true(rd(f, PORT(0, PX_IS)) & IS_TFES);
		assert_int_equal(rd(f, PORT(0, PX_SACT)), 1u << 5);
		assert_int_equal(rd(f, PORT(0, PX_TFD)) & 0x01, 0x01);
		assert_int_equal(sdb[3], 0x14);            /* IDNF | ABRT */
		/* Recovery as Linux does it: stop, clear, restart, read the log. */
		wr(f, PORT(0, PX_CMD), CMD_FRE);
		assert_int_equal(rd(f, PORT(0, PX_SACT)), 0);
		assert_int_equal(rd(f, PORT(0, PX_CI)), 0);
		wr(f, PORT(0, PX_IS), ~0u);
		wr(f, PORT(0, PX_CMD), CMD_FRE | CMD_ST);
		build_cmd(f, 0, 0, 0x2f, 0, 0x10, 1, NULL, &l, 1);
		assert_int_equal(issue(f, 0, 0), 0);
		assert_int_equal(f->fm.ram[DATA + 0x80000], 5);
	}
}

static void test_msi(void **state)
{
	struct fixture *f = *state;
	struct prd prd = { DATA, 512 };
	uint32_t gsi = fake_pci_cfg_read(&f->fm, f->devfn, PCI_INTERRUPT_LINE, 1);
	uint8_t cap = (uint8_t)fake_pci_cfg_read(&f->fm, f->devfn, PCI_CAPABILITY_LIST, 1);

	while (cap && fake_pci_cfg_read(&f->fm, f->devfn, cap, 1) != PCI_CAP_ID_MSI)
		cap = (uint8_t)fake_pci_cfg_read(&f->fm, f->devfn, cap + 1, 1);
	assert_true(cap);
	fake_pci_cfg_write(&f->fm, f->devfn, cap + 4, 0xfee00000, 4);
	fake_pci_cfg_write(&f->fm, f->devfn, cap + 8, 0, 4);
	fake_pci_cfg_write(&f->fm, f->devfn, cap + 12, 0x4041, 2);
	fake_pci_cfg_write(&f->fm, f->devfn, cap + 2, 1, 2);
	fake_machine_clear_counts(&f->fm);
	port_start(f, 0);
	build_cmd(f, 0, 0, 0xec, 0, 0, 0, NULL, &prd, 1);
	assert_int_equal(issue(f, 0, 0), 0);
	assert_int_equal(f->fm.nr_msis, 1);
	assert_int_equal(f->fm.msis[0].addr, 0xfee00000);
	assert_int_equal(f->fm.msis[0].data, 0x4041);
	assert_int_equal(f->fm.irq_level[gsi], 0);     /* no INTx with MSI on */
	wr(f, PORT(0, PX_IS), ~0u);
	wr(f, IS, ~0u);
	assert_int_equal(issue(f, 0, 0), 0);
	assert_int_equal(f->fm.nr_msis, 2);
}

/* The port stopped with TFES and the given extra bits; restart it. */
static void expect_error_and_restart(struct fixture *f, unsigned int p, unsigned int slot,
				     uint32_t bits)
{
	assert_int_equal(issue(f, p, slot), -1);
	assert_int_equal(rd(f, PORT(p, PX_IS)) & bits, bits);
	assert_int_equal(rd(f, PORT(p, PX_CI)), 1u << slot);
	wr(f, PORT(p, PX_CMD), CMD_FRE);
	assert_int_equal(rd(f, PORT(p, PX_CI)), 0);
	wr(f, PORT(p, PX_IS), ~0u);
	wr(f, PORT(p, PX_CMD), CMD_FRE | CMD_ST);
}

static void test_malformed(void **state)
{
	struct fixture *f = *state;
	struct prd good = { DATA, 4096 };
	struct prd outside = { RAM_SIZE - 512, 4096 };
	struct prd id = { DATA, 512 };

	port_start(f, 0);
	/* PRD buffer outside RAM. */
	build_cmd(f, 0, 0, 0x25, 0, 0, 8, NULL, &outside, 1);
	expect_error_and_restart(f, 0, 0, IS_TFES | IS_HBDS);
	assert_int_equal(rd(f, PORT(0, PX_TFD)) & 0xff, 0x41);
	/* PRDTL 0 for a data command: the data has nowhere to go. */
	build_cmd(f, 0, 0, 0x25, 0, 0, 8, NULL, NULL, 0);
	expect_error_and_restart(f, 0, 0, IS_TFES | IS_OFS);
	/* PRDT too short for the transfer. */
	build_cmd(f, 0, 0, 0x25, 0, 0, 16, NULL, &good, 1);
	expect_error_and_restart(f, 0, 0, IS_TFES | IS_OFS);
	/* A byte count with reserved bits (> 4 MiB). */
	build_cmd(f, 0, 0, 0x25, 0, 0, 8, NULL, &good, 1);
	put32(f, CTBA(0, 0) + 0x80 + 12, 0x7fffffff);
	expect_error_and_restart(f, 0, 0, IS_TFES | IS_HBDS);
	/* PRDTL 65535 with the table running off the end of RAM. */
	build_cmd(f, 0, 0, 0x25, 0, 0, 8, NULL, &good, 1);
	put32(f, CLB(0), 5 | 0xffffu << 16);
	put32(f, CTBA(0, 0) + 0x80 + 12, 0);            /* 1 byte per entry: walks on */
	put32(f, CLB(0) + 8, RAM_SIZE - 0x1000);
	memcpy(f->fm.ram + RAM_SIZE - 0x1000, f->fm.ram + CTBA(0, 0), 0x90);
	expect_error_and_restart(f, 0, 0, IS_TFES | IS_HBDS);
	/* CFIS of the wrong type, and too short a CFIS. */
	build_cmd(f, 0, 0, 0xec, 0, 0, 0, NULL, &id, 1);
	f->fm.ram[CTBA(0, 0)] = 0x34;
	expect_error_and_restart(f, 0, 0, IS_TFES);
	assert_int_equal(rd(f, PORT(0, PX_TFD)), 0x0441);
	build_cmd(f, 0, 0, 0xec, 0, 0, 0, NULL, &id, 1);
	put32(f, CLB(0), 2 | 1u << 16);
	expect_error_and_restart(f, 0, 0, IS_TFES);
	/* LBA past the end. */
	build_cmd(f, 0, 0, 0x25, 0, DISK_SECTORS - 4, 8, NULL, &good, 1);
	expect_error_and_restart(f, 0, 0, IS_TFES);
	assert_int_equal(rd(f, PORT(0, PX_TFD)), 0x1441);
	/* Command table outside RAM: host bus fatal error. */
	build_cmd(f, 0, 0, 0xec, 0, 0, 0, NULL, &id, 1);
	put32(f, CLB(0) + 8, 0xfffff000);
	put32(f, CLB(0) + 12, 0xffffffff);
	expect_error_and_restart(f, 0, 0, IS_HBFS);
	/* Command list outside RAM. */
	wr(f, PORT(0, PX_CMD), CMD_FRE);
	wr(f, PORT(0, PX_CLB), 0xfffffc00);
	wr(f, PORT(0, PX_CMD), CMD_FRE | CMD_ST);
	expect_error_and_restart(f, 0, 0, IS_HBFS);
	wr(f, PORT(0, PX_CMD), CMD_FRE);
	wr(f, PORT(0, PX_CLB), CLB(0));
	wr(f, PORT(0, PX_CMD), CMD_FRE | CMD_ST);

	/* After all that the port still works. */
	build_cmd(f, 0, 0, 0xec, 0, 0, 0, NULL, &id, 1);
	assert_int_equal(issue(f, 0, 0), 0);
	assert_int_equal(id_word(f->fm.ram + DATA, 100), DISK_SECTORS);
	/* Bus mastering off: nothing is fetched, nothing crashes. */
	fake_pci_cfg_write(&f->fm, f->devfn, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	wr(f, PORT(0, PX_CI), 1);
	usleep(20000);
	assert_int_equal(rd(f, PORT(0, PX_CI)), 1);
	fake_pci_cfg_write(&f->fm, f->devfn, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	wr(f, PORT(0, PX_CMD), CMD_FRE | CMD_ST);       /* a write kicks the I/O thread */
	assert_int_equal(wait_ci(f, 0, 1), 0);
}

static void test_atapi(void **state)
{
	struct fixture *f = *state;
	uint8_t inquiry[12] = { 0x12, 0, 0, 0, 96 };
	uint8_t read10[12] = { 0x28, 0, 0, 0, 0, 7, 0, 0, 3 };
	uint8_t tur[12] = { 0 };
	uint8_t toc[12] = { 0x43, 0, 0, 0, 0, 0, 0, 0, 32 };
	struct prd big = { DATA, 8192 };
	struct prd rd3 = { DATA, 3 * 2048 };
	uint32_t v;

	port_start(f, 2);
	/* The buffer is bigger than INQUIRY's data: PRDBC says 36. */
	build_cmd(f, 2, 0, 0xa0, 0, 0xfffe00, 0, inquiry, &big, 1);
	assert_int_equal(issue(f, 2, 0), 0);
	assert_int_equal(get32(f, CLB(2) + 4), 36);
	assert_int_equal(f->fm.ram[DATA], 0x05);
	assert_memory_equal(f->fm.ram + DATA + 8, "HUTCH   ", 8);

	build_cmd(f, 2, 1, 0xa0, 1, 0, 0, read10, &rd3, 1);
	assert_int_equal(issue(f, 2, 1), 0);
	memcpy(&v, f->fm.ram + DATA, 4);
	assert_int_equal(v, 7);
	memcpy(&v, f->fm.ram + DATA + 2 * 2048, 4);
	assert_int_equal(v, 9);

	build_cmd(f, 2, 2, 0xa0, 0, 0xfffe00, 0, toc, &big, 1);
	assert_int_equal(issue(f, 2, 2), 0);
	assert_int_equal(get32(f, CLB(2) + 2 * 32 + 4), 20);
	assert_int_equal(f->fm.ram[DATA + 14], 0xaa);

	/* CHECK CONDITION: TFES, error register holds the sense key. */
	read10[4] = 0x01;       /* LBA 511: past the end */
	read10[5] = 0xff;
	build_cmd(f, 2, 3, 0xa0, 1, 0, 0, read10, &rd3, 1);
	expect_error_and_restart(f, 2, 3, IS_TFES);
	assert_int_equal(rd(f, PORT(2, PX_TFD)) >> 12, 5);
	build_cmd(f, 2, 4, 0xa0, 0, 0, 0, tur, NULL, 0);
	assert_int_equal(issue(f, 2, 4), 0);
}

static void test_change_media(void **state)
{
	struct fixture *f = *state;
	uint8_t tur[12] = { 0 };
	uint8_t lock[12] = { 0x1e, 0, 0, 0, 1 };
	struct blk_image *old = NULL;

	port_start(f, 2);
	assert_int_equal(ahci_change_media(f->dev, 0, NULL, true, &old), -EINVAL);  /* a disk */
	assert_int_equal(ahci_change_media(f->dev, 1, NULL, true, &old), -EINVAL);  /* no drive */
	assert_int_equal(ahci_change_media(f->dev, 99, NULL, true, &old), -EINVAL);
	/* Locked by the guest: refused unless forced. */
	build_cmd(f, 2, 0, 0xa0, 0, 0, 0, lock, NULL, 0);
	assert_int_equal(issue(f, 2, 0), 0);
	assert_int_equal(ahci_change_media(f->dev, 2, NULL, false, &old), -EBUSY);
	assert_int_equal(ahci_change_media(f->dev, 2, NULL, true, &old), 0);
	assert_ptr_equal(old, f->iso.blk);
	/* The guest sees UNIT ATTENTION, then NOT READY. */
	build_cmd(f, 2, 1, 0xa0, 0, 0, 0, tur, NULL, 0);
	expect_error_and_restart(f, 2, 1, IS_TFES);
	assert_int_equal(rd(f, PORT(2, PX_TFD)) >> 12, 6);
	expect_error_and_restart(f, 2, 1, IS_TFES);
	assert_int_equal(rd(f, PORT(2, PX_TFD)) >> 12, 2);
	/* Back in: attention once, then ready. */
	assert_int_equal(ahci_change_media(f->dev, 2, f->iso.blk, false, &old), 0);
	assert_null(old);
	expect_error_and_restart(f, 2, 1, IS_TFES);
	assert_int_equal(issue(f, 2, 1), 0);
}

static void test_resets(void **state)
{
	struct fixture *f = *state;
	struct prd id = { DATA, 512 };
	uint8_t *cfis;

	port_start(f, 0);
	/* COMRESET: link down while DET = 1, signature again after. */
	wr(f, PORT(0, PX_CMD), CMD_FRE);
	wr(f, PORT(0, PX_SCTL), 1);
	assert_int_equal(rd(f, PORT(0, PX_SSTS)) & 0xf, 0);
	assert_true(rd(f, PORT(0, PX_TFD)) & 0x80);
	memset(f->fm.ram + FB(0), 0, 256);
	wr(f, PORT(0, PX_SCTL), 0);
	assert_int_equal(rd(f, PORT(0, PX_SSTS)), 0x123);
	assert_int_equal(rd(f, PORT(0, PX_SIG)), 0x101);
	assert_int_equal(rd(f, PORT(0, PX_TFD)) & 0x80, 0);
	assert_int_equal(f->fm.ram[FB(0) + 0x40], 0x34);        /* signature FIS */
	assert_int_equal(f->fm.ram[FB(0) + 0x44], 1);

	/* CLO clears a stuck BSY. */
	wr(f, PORT(0, PX_SCTL), 1);
	wr(f, PORT(0, PX_CMD), CMD_FRE | CMD_CLO);
	assert_int_equal(rd(f, PORT(0, PX_TFD)) & 0x88, 0);
	assert_int_equal(rd(f, PORT(0, PX_CMD)) & CMD_CLO, 0);
	wr(f, PORT(0, PX_SCTL), 0);

	/* Software reset: a device control FIS with SRST, then without. */
	wr(f, PORT(0, PX_CMD), CMD_FRE | CMD_ST);
	build_cmd(f, 0, 0, 0, 0, 0, 0, NULL, NULL, 0);
	cfis = f->fm.ram + CTBA(0, 0);
	cfis[1] = 0;
	cfis[15] = 0x04;
	assert_int_equal(issue(f, 0, 0), 0);
	assert_true(rd(f, PORT(0, PX_TFD)) & 0x80);
	cfis[15] = 0;
	memset(f->fm.ram + FB(0), 0, 256);
	assert_int_equal(issue(f, 0, 0), 0);
	assert_int_equal(rd(f, PORT(0, PX_TFD)) & 0x80, 0);
	assert_int_equal(f->fm.ram[FB(0) + 0x40], 0x34);
	assert_int_equal(rd(f, PORT(0, PX_SIG)), 0x101);

	/* The port works after all resets; a device reset drops the mode. */
	build_cmd(f, 0, 0, 0xec, 0, 0, 0, NULL, &id, 1);
	assert_int_equal(issue(f, 0, 0), 0);
	/* Machine reset: everything back to power-on, CLB too. */
	device_reset(f->dev);
	enable_pci(f);
	assert_int_equal(rd(f, PORT(0, PX_CLB)), 0);
	assert_int_equal(rd(f, PORT(0, PX_CMD)) & (CMD_ST | CMD_CR), 0);
	assert_int_equal(rd(f, PORT(0, PX_SSTS)), 0x123);
}

static void test_save_load(void **state)
{
	struct fixture *f = *state;
	struct fake_machine fm2;
	struct sv_writer w;
	struct device *copy;
	struct prd id = { DATA, 512 };
	uint32_t regs[] = { PORT(0, PX_CLB), PORT(0, PX_FB), PORT(0, PX_IE), PORT(0, PX_CMD),
			    PORT(0, PX_TFD), PORT(0, PX_SIG), PORT(2, PX_SIG), GHC, IS };
	uint32_t before[sizeof(regs) / sizeof(regs[0])];
	uint64_t abar = f->abar;

	port_start(f, 0);
	build_cmd(f, 0, 0, 0xec, 0, 0, 0, NULL, &id, 1);
	assert_int_equal(issue(f, 0, 0), 0);
	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		before[i] = rd(f, regs[i]);
	assert_int_equal(fake_save(f->dev, &w), 0);

	assert_int_equal(fake_machine_init(&fm2, RAM_SIZE), 0);
	memcpy(fm2.ram, f->fm.ram, RAM_SIZE);
	copy = fake_device_create(&fm2, &ahci_model, &f->args);
	assert_non_null(copy);
	assert_int_equal(fake_load(copy, &w), 0);
	/* The snapshot's config space maps the ABAR where it was. */
	{
		for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
			assert_int_equal((uint32_t)fake_mmio_read(&fm2, abar + regs[i], 4), before[i]);
		/* And it runs commands. */
		memset(fm2.ram + DATA, 0, 512);
		fake_mmio_write(&fm2, abar + PORT(0, PX_IS), ~0u, 4);
		fake_mmio_write(&fm2, abar + PORT(0, PX_CI), 1, 4);
		for (int i = 0; i < 5000 && fake_mmio_read(&fm2, abar + PORT(0, PX_CI), 4); i++)
			usleep(1000);
		assert_int_equal(fake_mmio_read(&fm2, abar + PORT(0, PX_CI), 4), 0);
		assert_int_equal(id_word(fm2.ram + DATA, 100), DISK_SECTORS);
	}
	/* A stream from a controller with other drives is refused. */
	{
		struct device_args one = f->args;

		one.nr_drives = 1;
		device_destroy(copy);
		copy = fake_device_create(&fm2, &ahci_model, &one);
		assert_non_null(copy);
		assert_int_equal(fake_load(copy, &w), -EINVAL);
		device_destroy(copy);
	}
	/* Truncated: refused. */
	w.len /= 2;
	copy = fake_device_create(&fm2, &ahci_model, &f->args);
	assert_int_not_equal(fake_load(copy, &w), 0);
	device_destroy(copy);
	sv_writer_free(&w);
	fake_machine_destroy(&fm2);
}

static void test_bad_drive_args(void **state)
{
	struct fixture *f = *state;
	struct drive_args d[2] = { { .img = f->disk.blk, .port = 1 }, { .img = f->disk.blk, .port = 1 } };
	struct device_args a = { .out_fd = -1, .in_fd = -1, .drives = d, .nr_drives = 2 };

	assert_null(fake_device_create(&f->fm, &ahci_model, &a));       /* two on one port */
	d[1].port = 30;
	assert_null(fake_device_create(&f->fm, &ahci_model, &a));       /* no port 30 */
	d[1].port = 29;
	d[1].img = NULL;                                                /* a disk needs media */
	assert_null(fake_device_create(&f->fm, &ahci_model, &a));
}

/* ---- resets with a read in flight (slow image) ---- */

#define SLOW_SECTORS  2048u              /* 1 MiB: four I/O pieces of 256 KiB */
#define SLOW_LEN      (SLOW_SECTORS * 512u)
#define SLOW_PIECE    (256u << 10)       /* IO_CHUNK */
#define POISON        0xa5
#define DATA2         (DATA + 0x200000u)

struct reset_ctx {
	struct fixture *f;
	void (*reset)(struct fixture *f);
};

/* The "vCPU" that resets: once the reset returns, the guest owns its RAM
 * again, and poisons the read's buffer and its slot's PRDBC. */
static void reset_then_poison(void *arg)
{
	struct reset_ctx *c = arg;

	c->reset(c->f);
	memset(c->f->fm.ram + DATA, POISON, SLOW_LEN);
	memset(c->f->fm.ram + CLB(0) + 4, POISON, 4);
}

static void poison_intact(struct fixture *f)
{
	for (uint32_t i = 0; i < SLOW_LEN; i++)
		if (f->fm.ram[DATA + i] != POISON)
			fail_msg("guest RAM at 0x%x written after the reset returned", DATA + i);
	for (unsigned int i = 0; i < 4; i++)
		assert_int_equal(f->fm.ram[CLB(0) + 4 + i], POISON);
}

/*
 * Start a 1 MiB READ DMA EXT on port 0 whose image I/O waits at the gate,
 * reset from another thread, open the gate while the reset waits, and
 * check: nothing of the read reaches guest RAM after the reset returned,
 * at most one piece of it was read, and the next command works.
 */
static void reset_with_read_in_flight(struct fixture *f, void (*reset)(struct fixture *f))
{
	struct reset_ctx c = { f, reset };
	struct prd r = { DATA, SLOW_LEN }, r2 = { DATA2, 8 * 512 };
	struct slow_thread t;
	uint32_t sector;

	port_start(f, 0);
	build_cmd(f, 0, 0, 0x25, 0, 0, SLOW_SECTORS, NULL, &r, 1);
	slow_image_hold(f->disk.blk);
	wr(f, PORT(0, PX_CI), 1);
	assert_true(slow_image_wait_held(1));

	slow_thread_start(&t, reset_then_poison, &c);
	slow_thread_wait_blocked(&t);
	slow_image_release();
	assert_true(slow_thread_join(&t));

	/* The next command works (the reset waited for the old one). */
	if (!(fake_pci_cfg_read(&f->fm, f->devfn, PCI_COMMAND, 2) & PCI_COMMAND_MASTER))
		enable_pci(f);
	port_start(f, 0);
	build_cmd(f, 0, 1, 0x25, 0, 100, 8, NULL, &r2, 1);
	assert_int_equal(issue(f, 0, 1), 0);
	memcpy(&sector, f->fm.ram + DATA2 + 512, 4);
	assert_int_equal(sector, 101);
	assert_int_equal(get32(f, CLB(0) + 32 + 4), 8 * 512);
	poison_intact(f);
	/* Cancelled at the next piece: one of the old read's, then the new one. */
	assert_true(slow_image_bytes() <= SLOW_PIECE + 8 * 512);
}

static void reset_hba(struct fixture *f)
{
	wr(f, GHC, 1);                          /* GHC.HR */
}

static void reset_stop_port(struct fixture *f)
{
	wr(f, PORT(0, PX_CMD), CMD_FRE);        /* PxCMD.ST cleared */
	assert_int_equal(rd(f, PORT(0, PX_CMD)) & CMD_CR, 0);
}

static void reset_comreset(struct fixture *f)
{
	wr(f, PORT(0, PX_SCTL), 1);
	wr(f, PORT(0, PX_SCTL), 0);
}

static void reset_machine(struct fixture *f)
{
	device_reset(f->dev);
}

static void test_hba_reset_in_flight(void **state)
{
	reset_with_read_in_flight(*state, reset_hba);
}

static void test_port_stop_in_flight(void **state)
{
	reset_with_read_in_flight(*state, reset_stop_port);
}

static void test_comreset_in_flight(void **state)
{
	reset_with_read_in_flight(*state, reset_comreset);
}

static void test_machine_reset_in_flight(void **state)
{
	reset_with_read_in_flight(*state, reset_machine);
}

/* ---- NCQ commands side by side (the I/O thread pool) ---- */

#define PAR_N        3
#define PAR_SECTORS  512u                /* 256 KiB: one IO_CHUNK piece */
#define PAR_LBA(t)   (1000u + (t) * 1024u)
#define PAR_DATA(t)  (DATA + (t) * (PAR_SECTORS * 512u))

static bool sact_is(struct fixture *f, uint32_t want)
{
	for (int i = 0; i < 5000; i++) {
		if (rd(f, PORT(0, PX_SACT)) == want)
			return true;
		usleep(1000);
	}
	return false;
}

/* Does buffer @gpa hold sectors lba.. of the test disk (img_make's pattern)? */
static bool holds_sectors(struct fixture *f, uint64_t gpa, uint32_t lba, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		uint32_t v;

		memcpy(&v, f->fm.ram + gpa + i * 512u, 4);
		if (v != lba + i)
			return false;
	}
	return true;
}

/*
 * Three queued reads, tag 0 held at the image: tags 1 and 2 complete
 * first (their SActive bits clear through SDB FISes, their data is
 * there), tag 0 stays active with its buffer untouched; a non-NCQ command
 * issued meanwhile waits for it.  Then tag 0 completes too, and the
 * non-NCQ command after it.
 */
static void test_ncq_out_of_order(void **state)
{
	struct fixture *f = *state;
	struct prd id = { DATA + 0x300000u, 512 }, r3 = { DATA2, 8 * 512 };
	uint8_t *sdb = f->fm.ram + FB(0) + 0x58;
	uint32_t done;

	port_start(f, 0);
	memset(f->fm.ram + DATA, 0, PAR_N * PAR_SECTORS * 512u);
	for (unsigned int t = 0; t < PAR_N; t++) {
		struct prd p = { PAR_DATA(t), PAR_SECTORS * 512u };

		build_cmd(f, 0, t, 0x60, PAR_SECTORS, PAR_LBA(t), (uint16_t)(t << 3), NULL, &p, 1);
	}
	slow_image_hold_at(f->disk.blk, (uint64_t)PAR_LBA(0) * 512);
	wr(f, PORT(0, PX_SACT), 7);
	wr(f, PORT(0, PX_CI), 7);
	assert_true(slow_image_wait_held(1));
	assert_true(sact_is(f, 1));
	/* Tag 0 runs, accepted: its PxCI bit is clear, BSY too, and the
	 * Register FIS that said so is in the receive area without an
	 * interrupt of its own (SATA's ClearInterfaceBsy, AHCI 5.3.8). */
	assert_int_equal(rd(f, PORT(0, PX_CI)), 0);
	assert_int_equal(rd(f, PORT(0, PX_TFD)) & 0x88, 0);
	assert_int_equal(f->fm.ram[FB(0) + 0x40], 0x34);
	assert_int_equal(f->fm.ram[FB(0) + 0x41] & 0x40, 0);
	assert_int_equal(f->fm.ram[FB(0) + 0x42], 0x40);
	assert_int_equal(rd(f, PORT(0, PX_IS)) & IS_DHRS, 0);
	assert_true(holds_sectors(f, PAR_DATA(1), PAR_LBA(1), PAR_SECTORS));
	assert_true(holds_sectors(f, PAR_DATA(2), PAR_LBA(2), PAR_SECTORS));
	assert_int_equal(f->fm.ram[PAR_DATA(0)], 0);
	/* The last SDB FIS names one of the two tags that finished. */
	assert_int_equal(sdb[0], 0xa1);
	memcpy(&done, sdb + 4, 4);
	assert_true(done == 2 || done == 4);
	assert_true(rd(f, PORT(0, PX_IS)) & IS_SDBS);
	assert_int_equal(rd(f, PORT(0, PX_IS)) & IS_ERRORS, 0);

	/* One more queued while tag 0 runs: taken and done beside it. */
	build_cmd(f, 0, 3, 0x60, 8, 100, 3 << 3, NULL, &r3, 1);
	wr(f, PORT(0, PX_SACT), 1u << 3);
	wr(f, PORT(0, PX_CI), 1u << 3);
	assert_true(sact_is(f, 1));
	assert_true(holds_sectors(f, DATA2, 100, 8));
	assert_int_equal(rd(f, PORT(0, PX_CI)), 0);

	/* IDENTIFY (not NCQ) waits for the queued read still running. */
	build_cmd(f, 0, 5, 0xec, 0, 0, 0, NULL, &id, 1);
	wr(f, PORT(0, PX_CI), 1u << 5);
	usleep(50000);
	assert_int_equal(rd(f, PORT(0, PX_CI)), 1u << 5);

	slow_image_release();
	assert_true(sact_is(f, 0));
	assert_int_equal(wait_ci(f, 0, ~0u), 0);
	assert_true(holds_sectors(f, PAR_DATA(0), PAR_LBA(0), PAR_SECTORS));
	assert_int_equal(id_word(f->fm.ram + id.addr, 100), DISK_SECTORS);
	assert_int_equal(get32(f, CLB(0) + 4), PAR_SECTORS * 512u);    /* tag 0's PRDBC */
	assert_int_equal(rd(f, PORT(0, PX_TFD)) & 0x80, 0);
}

static void par_stop_then_poison(void *arg)
{
	struct fixture *f = arg;

	reset_stop_port(f);
	memset(f->fm.ram + DATA, POISON, PAR_N * PAR_SECTORS * 512u);
	memset(f->fm.ram + CLB(0), POISON, PAR_N * 32u);
	memset(f->fm.ram + FB(0), POISON, 0x100);
}

/*
 * Three queued reads in flight at once, all held at the image; stopping
 * the port waits for every one, and none writes guest RAM (data, PRDBC,
 * FIS) nor raises an interrupt after it returned.
 */
static void test_ncq_reset_several_in_flight(void **state)
{
	struct fixture *f = *state;
	struct prd r2 = { DATA2, 8 * 512 };
	struct slow_thread t;

	port_start(f, 0);
	for (unsigned int i = 0; i < PAR_N; i++) {
		struct prd p = { PAR_DATA(i), PAR_SECTORS * 512u };

		build_cmd(f, 0, i, 0x60, PAR_SECTORS, PAR_LBA(i), (uint16_t)(i << 3), NULL, &p, 1);
	}
	slow_image_hold(f->disk.blk);
	wr(f, PORT(0, PX_SACT), 7);
	wr(f, PORT(0, PX_CI), 7);
	assert_true(slow_image_wait_held(PAR_N));      /* all three at once */
	wr(f, PORT(0, PX_IS), ~0u);
	slow_thread_start(&t, par_stop_then_poison, f);
	slow_thread_wait_blocked(&t);
	slow_image_release();
	assert_true(slow_thread_join(&t));
	usleep(20000);
	for (uint32_t b = 0; b < PAR_N * PAR_SECTORS * 512u; b++)
		if (f->fm.ram[DATA + b] != POISON)
			fail_msg("guest RAM at 0x%x written after the reset returned", DATA + b);
	for (uint32_t b = 0; b < PAR_N * 32u; b++)
		assert_int_equal(f->fm.ram[CLB(0) + b], POISON);
	for (uint32_t b = 0; b < 0x100; b++)
		assert_int_equal(f->fm.ram[FB(0) + b], POISON);
	assert_int_equal(rd(f, PORT(0, PX_IS)), 0);
	assert_int_equal(rd(f, PORT(0, PX_SACT)), 0);
	assert_true(slow_image_bytes() <= PAR_N * PAR_SECTORS * 512u);
	/* The port works again. */
	port_start(f, 0);
	build_cmd(f, 0, 1, 0x25, 0, 100, 8, NULL, &r2, 1);
	assert_int_equal(issue(f, 0, 1), 0);
	assert_true(holds_sectors(f, DATA2, 100, 8));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pci_and_hba_registers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identify_pio_intx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_write_dma_ext, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ncq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_atapi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_change_media, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_drive_args, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hba_reset_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_port_stop_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_comreset_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_machine_reset_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ncq_out_of_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ncq_reset_several_in_flight, setup, teardown),
	};

	/* The tests of commands side by side need a pool of several threads. */
	setenv("HUTCH_IO_THREADS", "4", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
