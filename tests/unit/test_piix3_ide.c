// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * PIIX3 IDE through its registers on the fake machine: the legacy task
 * files at 0x1F0/0x170, the bus master registers in BAR4, PRD tables in
 * fake guest RAM, a raw disk image and an ISO-like CD image in temp files.
 *
 * Fixture: primary master = ATA disk, secondary master = ATAPI CD-ROM,
 * both slaves absent.
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
#include "io_worker.h"
#include "pci.h"
#include "slow_image.h"

#define PRI 0x1f0
#define PRI_CTL 0x3f6
#define SEC 0x170
#define SEC_CTL 0x376
#define PRI_GSI 14
#define SEC_GSI 15

#define R_DATA 0
#define R_ERR 1
#define R_FEAT 1
#define R_NSECT 2
#define R_LBAL 3
#define R_LBAM 4
#define R_LBAH 5
#define R_DEV 6
#define R_STATUS 7
#define R_CMD 7

#define ST_ERR 0x01
#define ST_DRQ 0x08
#define ST_DRDY 0x40
#define ST_BSY 0x80
#define ERR_ABRT 0x04
#define CTL_NIEN 0x02
#define CTL_SRST 0x04
#define CTL_HOB 0x80

#define BM_START 0x01
#define BM_TO_MEM 0x08
#define BM_ACTIVE 0x01
#define BM_ERROR 0x02
#define BM_INT 0x04

#define CMD_READ_SECTORS 0x20
#define CMD_READ_SECTORS_EXT 0x24
#define CMD_READ_DMA_EXT 0x25
#define CMD_WRITE_SECTORS 0x30
#define CMD_WRITE_DMA_EXT 0x35
#define CMD_EXEC_DIAG 0x90
#define CMD_PACKET 0xa0
#define CMD_IDENTIFY_PACKET 0xa1
#define CMD_READ_MULTIPLE 0xc4
#define CMD_SET_MULTIPLE 0xc6
#define CMD_READ_DMA 0xc8
#define CMD_WRITE_DMA 0xca
#define CMD_IDENTIFY 0xec

#define DISK_SECTORS 2048u           /* 1 MiB disk */
#define CD_BLOCKS 64u                /* 128 KiB "ISO" */
#define RAM_SIZE (16u << 20)
#define PRDT_GPA 0x10000u
#define BUF_GPA 0x100000u

struct fixture {
	struct fake_machine fm;
	struct device *dev;
	struct pci_bus *own_pci;      /* when the fake machine has none */
	char disk_path[64], cd_path[64];
	struct blk_image *disk, *cd;
	uint8_t devfn;
	uint16_t bm;                  /* BAR4 base */
};

/* Sector @lba of the disk initially holds bytes (lba * 7 + i) & 0xff. */
static uint8_t disk_byte(uint32_t lba, unsigned int i)
{
	return (uint8_t)(lba * 7 + i);
}

/* CD block @lba holds "CD" lba, then (lba ^ i). */
static uint8_t cd_byte(uint32_t lba, unsigned int i)
{
	return (uint8_t)(lba ^ i ^ 0x5a);
}

static void make_image(char *path, const char *tmpl, size_t blocks, size_t bs,
		       uint8_t (*byte)(uint32_t, unsigned int))
{
	uint8_t *b = malloc(bs);
	int fd;

	strcpy(path, tmpl);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	for (size_t lba = 0; lba < blocks; lba++) {
		for (size_t i = 0; i < bs; i++)
			b[i] = byte((uint32_t)lba, (unsigned int)i);
		assert_int_equal(write(fd, b, bs), (ssize_t)bs);
	}
	close(fd);
	free(b);
}

static struct blk_image *open_image(const char *path, unsigned int flags)
{
	char err[BLK_ERR_MAX];
	struct blk_image *img = NULL;

	assert_int_equal(blk_open(path, "raw", flags, &img, err, sizeof(err)), 0);
	return img;
}

static uint32_t cfg_read(struct fixture *f, unsigned int off, unsigned int size)
{
	return pci_bus_config_read(f->fm.host.pci, 0, f->devfn, off, size);
}

static void cfg_write(struct fixture *f, unsigned int off, uint32_t v, unsigned int size)
{
	pci_bus_config_write(f->fm.host.pci, 0, f->devfn, off, v, size);
}

static struct device *create_ide(struct fixture *f, const struct drive_args *drives,
				 unsigned int n)
{
	struct device_args args = { .out_fd = -1, .in_fd = -1, .drives = drives, .nr_drives = n };

	return device_create(&piix3_ide_model, "ide", &f->fm.host, &args);
}

/* Find our function on the bus, enable I/O decode and bus mastering. */
static void find_function(struct fixture *f)
{
	for (unsigned int devfn = 0; devfn < 256; devfn++) {
		struct pci_function *fn = pci_bus_function(f->fm.host.pci, (uint8_t)devfn);

		if (fn && fn->dev == f->dev) {
			f->devfn = (uint8_t)devfn;
			break;
		}
	}
	assert_int_equal(cfg_read(f, PCI_VENDOR_ID, 4), 0x70108086);
	cfg_write(f, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MASTER, 2);
	f->bm = (uint16_t)(cfg_read(f, PCI_BAR0 + 4 * 4, 4) & ~3u);
	assert_true(f->bm != 0);
}

/* A fake machine with @ram bytes of RAM and a PCI bus. */
static void machine_up(struct fixture *f, uint64_t ram)
{
	memset(f, 0, sizeof(*f));
	assert_int_equal(fake_machine_init(&f->fm, ram), 0);
	if (!f->fm.host.pci) {
		f->own_pci = pci_bus_create(&f->fm.host);
		assert_non_null(f->own_pci);
		f->fm.host.pci = f->own_pci;
	}
}

static void machine_down(struct fixture *f)
{
	device_destroy(f->dev);
	if (f->own_pci)
		pci_bus_destroy(f->own_pci);
	fake_machine_destroy(&f->fm);
}

static int setup(void **state)
{
	static struct fixture f;
	struct drive_args drives[2];

	machine_up(&f, RAM_SIZE);
	make_image(f.disk_path, "/tmp/hutch-ide-disk-XXXXXX", DISK_SECTORS, 512, disk_byte);
	make_image(f.cd_path, "/tmp/hutch-ide-cd-XXXXXX", CD_BLOCKS, 2048, cd_byte);
	f.disk = open_image(f.disk_path, 0);
	f.cd = open_image(f.cd_path, BLK_RDONLY);
	memset(drives, 0, sizeof(drives));
	drives[0] = (struct drive_args){ .img = f.disk, .port = 0, .serial = "IDEDISK0" };
	drives[1] = (struct drive_args){ .img = f.cd, .cdrom = true, .readonly = true, .port = 2 };
	f.dev = create_ide(&f, drives, 2);
	assert_non_null(f.dev);
	find_function(&f);
	fake_machine_clear_counts(&f.fm);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	machine_down(f);
	blk_close(f->disk);
	blk_close(f->cd);
	unlink(f->disk_path);
	unlink(f->cd_path);
	return 0;
}

/* ---- register helpers ---- */

static uint8_t inb(struct fixture *f, uint16_t port)
{
	return fake_inb(&f->fm, port);
}

static void outb(struct fixture *f, uint16_t port, uint8_t v)
{
	fake_outb(&f->fm, port, v);
}

static uint16_t inw(struct fixture *f, uint16_t port)
{
	return (uint16_t)fake_pio_read(&f->fm, port, 2);
}

static void outw(struct fixture *f, uint16_t port, uint16_t v)
{
	fake_pio_write(&f->fm, port, v, 2);
}

/* Wait (commands run on the I/O thread) until the device is not busy;
 * polls the alternate status, which does not acknowledge interrupts. */
static uint8_t wait_ready(struct fixture *f, uint16_t base)
{
	uint16_t ctl = base == PRI ? PRI_CTL : SEC_CTL;
	struct timespec ts = { 0, 200000 };

	for (int i = 0; i < 25000; i++) {
		uint8_t st = inb(f, ctl);

		if (!(st & ST_BSY))
			return st;
		nanosleep(&ts, NULL);
	}
	fail_msg("device stayed busy");
	return 0;
}

/* Load an LBA28 task file, issue @cmd on the channel at @base, wait. */
static void ata_cmd28(struct fixture *f, uint16_t base, unsigned int unit, uint8_t cmd,
		      uint32_t lba, uint8_t count, uint8_t feature)
{
	outb(f, base + R_DEV, (uint8_t)(0xe0 | (unit << 4) | ((lba >> 24) & 0x0f)));
	outb(f, base + R_FEAT, feature);
	outb(f, base + R_NSECT, count);
	outb(f, base + R_LBAL, (uint8_t)lba);
	outb(f, base + R_LBAM, (uint8_t)(lba >> 8));
	outb(f, base + R_LBAH, (uint8_t)(lba >> 16));
	outb(f, base + R_CMD, cmd);
	wait_ready(f, base);
}

/* LBA48: the high order bytes are written first (ATA/ATAPI-6 6.16). */
static void ata_cmd48(struct fixture *f, uint16_t base, uint8_t cmd, uint64_t lba,
		      uint16_t count)
{
	outb(f, base + R_DEV, 0x40);
	outb(f, base + R_NSECT, (uint8_t)(count >> 8));
	outb(f, base + R_LBAL, (uint8_t)(lba >> 24));
	outb(f, base + R_LBAM, (uint8_t)(lba >> 32));
	outb(f, base + R_LBAH, (uint8_t)(lba >> 40));
	outb(f, base + R_NSECT, (uint8_t)count);
	outb(f, base + R_LBAL, (uint8_t)lba);
	outb(f, base + R_LBAM, (uint8_t)(lba >> 8));
	outb(f, base + R_LBAH, (uint8_t)(lba >> 16));
	outb(f, base + R_CMD, cmd);
	wait_ready(f, base);
}

static void read_words(struct fixture *f, uint16_t base, uint8_t *buf, size_t bytes)
{
	for (size_t i = 0; i < bytes; i += 2) {
		uint16_t w = inw(f, base + R_DATA);

		buf[i] = (uint8_t)w;
		buf[i + 1] = (uint8_t)(w >> 8);
	}
}

static void write_words(struct fixture *f, uint16_t base, const uint8_t *buf, size_t bytes)
{
	for (size_t i = 0; i < bytes; i += 2)
		outw(f, base + R_DATA, (uint16_t)(buf[i] | buf[i + 1] << 8));
}

/* Write a PRD table at PRDT_GPA: @n entries (addr, bytes), EOT on the last. */
static void prd_table(struct fixture *f, const uint32_t (*e)[2], unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		uint32_t w[2] = { e[i][0], (e[i][1] & 0xffff) | (i == n - 1 ? 0x80000000u : 0) };

		memcpy(f->fm.ram + PRDT_GPA + 8 * i, w, sizeof(w));
	}
}

static uint16_t bm_base(struct fixture *f, uint16_t base)
{
	return (uint16_t)(f->bm + (base == SEC ? 8 : 0));
}

static void bm_setup(struct fixture *f, uint16_t base, bool to_mem)
{
	uint16_t bm = bm_base(f, base);

	fake_pio_write(&f->fm, bm + 4, PRDT_GPA, 4);
	outb(f, bm + 2, BM_INT | BM_ERROR);         /* clear old status */
	outb(f, bm, to_mem ? BM_TO_MEM : 0);
}

static void bm_start(struct fixture *f, uint16_t base, bool to_mem)
{
	outb(f, bm_base(f, base), (uint8_t)((to_mem ? BM_TO_MEM : 0) | BM_START));
}

/* Wait (the I/O thread runs DMA) until the bus master saw the interrupt. */
static uint8_t bm_wait(struct fixture *f, uint16_t base)
{
	uint16_t bm = bm_base(f, base);
	struct timespec ts = { 0, 1000000 };

	for (int i = 0; i < 5000; i++) {
		uint8_t st = inb(f, bm + 2);

		if (st & BM_INT)
			return st;
		nanosleep(&ts, NULL);
	}
	fail_msg("DMA did not complete");
	return 0;
}

static void bm_stop(struct fixture *f, uint16_t base)
{
	uint16_t bm = bm_base(f, base);

	outb(f, bm, inb(f, bm) & ~BM_START);
}

/* ---- tests ---- */

static void test_pci_identity(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cfg_read(f, PCI_REVISION_ID, 4) >> 8, 0x010180);
	/* BAR4 is a 16-port I/O BAR: sizing returns ~15 with the I/O bit. */
	cfg_write(f, PCI_BAR0 + 16, 0xffffffff, 4);
	assert_int_equal(cfg_read(f, PCI_BAR0 + 16, 4) & 0xffff, 0xfff1);
	cfg_write(f, PCI_BAR0 + 16, f->bm, 4);
	/* Legacy mode: BARs 0-3 are not implemented, no INTx pin. */
	for (unsigned int b = 0; b < 4; b++)
		assert_int_equal(cfg_read(f, PCI_BAR0 + 4 * b, 4), 0);
	assert_int_equal(cfg_read(f, PCI_INTERRUPT_PIN, 1), 0);
	/* Both channels' decode enabled for a firmware-less boot. */
	assert_int_equal(cfg_read(f, 0x40, 2) & 0x8000, 0x8000);
	assert_int_equal(cfg_read(f, 0x42, 2) & 0x8000, 0x8000);
	cfg_write(f, 0x40, 0xa307, 2);
	assert_int_equal(cfg_read(f, 0x40, 2), 0xa307);
}

static void test_signatures(void **state)
{
	struct fixture *f = *state;

	/* ATA disk: 1/1/0/0, DRDY; diagnostic code 1. */
	outb(f, PRI + R_DEV, 0xa0);
	assert_int_equal(inb(f, PRI + R_NSECT), 1);
	assert_int_equal(inb(f, PRI + R_LBAL), 1);
	assert_int_equal(inb(f, PRI + R_LBAM), 0);
	assert_int_equal(inb(f, PRI + R_LBAH), 0);
	assert_int_equal(inb(f, PRI + R_ERR), 1);
	assert_int_equal(inb(f, PRI + R_STATUS) & (ST_BSY | ST_DRDY | ST_DRQ), ST_DRDY);
	/* ATAPI: 0x14/0xEB. */
	outb(f, SEC + R_DEV, 0xa0);
	assert_int_equal(inb(f, SEC + R_LBAM), 0x14);
	assert_int_equal(inb(f, SEC + R_LBAH), 0xeb);
	assert_int_equal(inb(f, SEC + R_NSECT), 1);
}

/* The absent slave reads as nothing: status 0, its registers do not hold
 * what is written (Linux's ata_devchk), and commands to it do nothing. */
static void test_absent_slave(void **state)
{
	struct fixture *f = *state;

	outb(f, PRI + R_DEV, 0xb0);
	assert_int_equal(inb(f, PRI + R_STATUS), 0);
	assert_int_equal(inb(f, PRI_CTL), 0);
	outb(f, PRI + R_NSECT, 0x55);
	outb(f, PRI + R_LBAL, 0xaa);
	assert_int_not_equal(inb(f, PRI + R_NSECT), 0x55);
	assert_int_not_equal(inb(f, PRI + R_LBAL), 0xaa);
	outb(f, PRI + R_CMD, CMD_IDENTIFY);
	assert_int_equal(inb(f, PRI + R_STATUS), 0);
	assert_int_equal(f->fm.irq_edges[PRI_GSI], 0);
	assert_int_equal(inw(f, PRI + R_DATA), 0xffff);
	/* The master still answers, and it latched the writes. */
	outb(f, PRI + R_DEV, 0xa0);
	assert_int_equal(inb(f, PRI + R_NSECT), 0x55);
}

/* A channel with no device at all floats: every register reads 0xff. */
static void test_empty_channel(void **state)
{
	struct fixture *f = *state;
	struct drive_args d = { .img = f->disk, .port = 1 };   /* primary slave only */
	struct fake_machine *fm = &f->fm;

	device_destroy(f->dev);
	f->dev = create_ide(f, &d, 1);
	assert_non_null(f->dev);
	find_function(f);
	for (unsigned int r = 1; r < 8; r++)
		assert_int_equal(fake_inb(fm, SEC + r), 0xff);
	assert_int_equal(fake_inb(fm, SEC_CTL), 0xff);
	/* A lone slave answers as device 1; device 0 reads as absent. */
	fake_outb(fm, PRI + R_DEV, 0xb0);
	assert_int_equal(fake_inb(fm, PRI + R_STATUS) & ST_DRDY, ST_DRDY);
	fake_outb(fm, PRI + R_DEV, 0xa0);
	assert_int_equal(fake_inb(fm, PRI + R_STATUS), 0);
}

static void test_identify_pio(void **state)
{
	struct fixture *f = *state;
	uint16_t id[256];
	char model[41];

	ata_cmd28(f, PRI, 0, CMD_IDENTIFY, 0, 0, 0);
	assert_int_equal(inb(f, PRI_CTL) & (ST_BSY | ST_DRQ | ST_ERR), ST_DRQ);
	assert_int_equal(f->fm.irq_edges[PRI_GSI], 1);
	assert_int_equal(f->fm.irq_level[PRI_GSI], 1);
	/* Reading Status acknowledges: the edge-triggered line drops. */
	inb(f, PRI + R_STATUS);
	assert_int_equal(f->fm.irq_level[PRI_GSI], 0);
	read_words(f, PRI, (uint8_t *)id, sizeof(id));
	assert_int_equal(inb(f, PRI + R_STATUS) & (ST_BSY | ST_DRQ | ST_DRDY), ST_DRDY);
	/* PIO data-in ends without another interrupt. */
	assert_int_equal(f->fm.irq_edges[PRI_GSI], 1);
	assert_int_equal(id[0] & 0x8000, 0);                 /* ATA device */
	assert_true(id[49] & (1 << 9));                       /* LBA */
	assert_true(id[49] & (1 << 8));                       /* DMA */
	assert_int_equal(id[60] | (uint32_t)id[61] << 16, DISK_SECTORS);
	for (unsigned int i = 0; i < 20; i++) {
		model[2 * i] = (char)(id[27 + i] >> 8);
		model[2 * i + 1] = (char)id[27 + i];
	}
	model[40] = 0;
	assert_true(model[0] != ' ' && model[0] != 0);
	/* 32-bit data port accesses move two words. */
	ata_cmd28(f, PRI, 0, CMD_IDENTIFY, 0, 0, 0);
	for (unsigned int i = 0; i < 128; i++) {
		uint32_t d = fake_pio_read(&f->fm, PRI + R_DATA, 4);

		assert_int_equal(d & 0xffff, id[2 * i]);
		assert_int_equal(d >> 16, id[2 * i + 1]);
	}
	assert_int_equal(inb(f, PRI + R_STATUS) & ST_DRQ, 0);
}

static void test_rw_sectors_pio(void **state)
{
	struct fixture *f = *state;
	uint8_t out[1024], in[1024], disk[1024];

	for (unsigned int i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 13 + 1);
	/* WRITE SECTORS: the first DRQ without an interrupt (PIO data-out). */
	ata_cmd28(f, PRI, 0, CMD_WRITE_SECTORS, 100, 2, 0);
	assert_int_equal(inb(f, PRI_CTL) & (ST_BSY | ST_DRQ), ST_DRQ);
	assert_int_equal(f->fm.irq_edges[PRI_GSI], 0);
	write_words(f, PRI, out, 512);
	assert_int_equal(f->fm.irq_edges[PRI_GSI], 1);           /* next block */
	assert_int_equal(inb(f, PRI + R_STATUS) & ST_DRQ, ST_DRQ);
	write_words(f, PRI, out + 512, 512);
	wait_ready(f, PRI);
	assert_int_equal(f->fm.irq_edges[PRI_GSI], 2);           /* done */
	assert_int_equal(inb(f, PRI + R_STATUS) & (ST_DRQ | ST_ERR | ST_DRDY), ST_DRDY);
	assert_int_equal(blk_pread(f->disk, disk, sizeof(disk), 100 * 512), 0);
	assert_memory_equal(disk, out, sizeof(out));

	/* READ SECTORS: an interrupt per sector (the host acknowledges each
	 * by reading Status, as a driver's interrupt handler does). */
	fake_machine_clear_counts(&f->fm);
	ata_cmd28(f, PRI, 0, CMD_READ_SECTORS, 99, 3, 0);
	assert_int_equal(f->fm.irq_edges[PRI_GSI], 1);
	assert_int_equal(inb(f, PRI + R_STATUS) & ST_DRQ, ST_DRQ);
	read_words(f, PRI, in, 512);
	for (unsigned int i = 0; i < 512; i++)
		assert_int_equal(in[i], disk_byte(99, i));
	assert_int_equal(f->fm.irq_edges[PRI_GSI], 2);
	inb(f, PRI + R_STATUS);
	read_words(f, PRI, in, 512);
	assert_int_equal(f->fm.irq_edges[PRI_GSI], 3);
	inb(f, PRI + R_STATUS);
	read_words(f, PRI, in + 512, 512);
	assert_int_equal(f->fm.irq_edges[PRI_GSI], 3);      /* the end: no interrupt */
	assert_memory_equal(in, out, sizeof(out));
	assert_int_equal(inb(f, PRI + R_STATUS) & (ST_DRQ | ST_ERR), 0);

	/* READ MULTIPLE after SET MULTIPLE 4: one interrupt per 4 sectors. */
	fake_machine_clear_counts(&f->fm);
	ata_cmd28(f, PRI, 0, CMD_SET_MULTIPLE, 0, 4, 0);
	assert_int_equal(inb(f, PRI + R_STATUS) & ST_ERR, 0);
	fake_machine_clear_counts(&f->fm);
	ata_cmd28(f, PRI, 0, CMD_READ_MULTIPLE, 0, 8, 0);
	for (unsigned int blk = 0; blk < 2; blk++) {
		uint8_t big[2048];

		assert_int_equal(f->fm.irq_edges[PRI_GSI], blk + 1);
		inb(f, PRI + R_STATUS);
		read_words(f, PRI, big, sizeof(big));
		for (unsigned int i = 0; i < sizeof(big); i++)
			assert_int_equal(big[i], disk_byte(blk * 4 + i / 512, i % 512));
	}
	assert_int_equal(f->fm.irq_edges[PRI_GSI], 2);
	assert_int_equal(inb(f, PRI + R_STATUS) & ST_DRQ, 0);

	/* LBA48 READ SECTORS EXT reads its HOB bytes; devctl.HOB shows them. */
	ata_cmd48(f, PRI, CMD_READ_SECTORS_EXT, 0x7ff, 1);
	outb(f, PRI_CTL, CTL_HOB);
	assert_int_equal(inb(f, PRI + R_NSECT), 0);
	outb(f, PRI_CTL, 0);
	read_words(f, PRI, in, 512);
	for (unsigned int i = 0; i < 512; i++)
		assert_int_equal(in[i], disk_byte(0x7ff, i));
}

static void test_rw_dma(void **state)
{
	struct fixture *f = *state;
	static const uint32_t two[2][2] = { { BUF_GPA, 1024 }, { BUF_GPA + 0x8000, 1024 } };
	uint8_t *ram = f->fm.ram;
	uint8_t disk[2048];
	uint8_t st;

	/* WRITE DMA of 4 sectors from two regions. */
	for (unsigned int i = 0; i < 1024; i++) {
		ram[BUF_GPA + i] = (uint8_t)(i ^ 0x33);
		ram[BUF_GPA + 0x8000 + i] = (uint8_t)(i ^ 0xcc);
	}
	prd_table(f, two, 2);
	bm_setup(f, PRI, false);
	ata_cmd28(f, PRI, 0, CMD_WRITE_DMA, 200, 4, 0);
	assert_int_equal(f->fm.irq_edges[PRI_GSI], 0);    /* waits for the bus master */
	bm_start(f, PRI, false);
	st = bm_wait(f, PRI);
	assert_int_equal(st & (BM_ACTIVE | BM_ERROR), 0);   /* the table was used up exactly */
	bm_stop(f, PRI);
	assert_int_equal(f->fm.irq_edges[PRI_GSI], 1);
	assert_int_equal(inb(f, PRI + R_STATUS) & (ST_BSY | ST_DRQ | ST_ERR | ST_DRDY), ST_DRDY);
	assert_int_equal(blk_pread(f->disk, disk, sizeof(disk), 200 * 512), 0);
	assert_memory_equal(disk, ram + BUF_GPA, 1024);
	assert_memory_equal(disk + 1024, ram + BUF_GPA + 0x8000, 1024);

	/* READ DMA EXT into one region larger than needed: ACTIVE stays set
	 * (the drive finished first), the interrupt still comes. */
	static const uint32_t one[1][2] = { { BUF_GPA + 0x20000, 0 } };   /* 0 = 64 KiB */

	fake_machine_clear_counts(&f->fm);
	memset(ram + BUF_GPA + 0x20000, 0, 0x10000);
	prd_table(f, one, 1);
	bm_setup(f, PRI, true);
	bm_start(f, PRI, true);     /* the bus master first, then the command */
	ata_cmd48(f, PRI, CMD_READ_DMA_EXT, 199, 5);
	st = bm_wait(f, PRI);
	assert_int_equal(st & (BM_ACTIVE | BM_ERROR), BM_ACTIVE);
	bm_stop(f, PRI);
	assert_int_equal(inb(f, PRI + R_STATUS) & (ST_DRQ | ST_ERR), 0);
	for (unsigned int i = 0; i < 512; i++)
		assert_int_equal(ram[BUF_GPA + 0x20000 + i], disk_byte(199, i));
	assert_memory_equal(ram + BUF_GPA + 0x20000 + 512, disk, sizeof(disk));
	assert_int_equal(ram[BUF_GPA + 0x20000 + 5 * 512], 0);
	assert_int_equal(f->fm.irq_edges[PRI_GSI], 1);
}

/* The command packet goes out through the data port (6 words). */
static void atapi_packet(struct fixture *f, const uint8_t cdb[12], uint16_t limit, bool dma)
{
	outb(f, SEC + R_DEV, 0xa0);
	outb(f, SEC + R_FEAT, dma ? 1 : 0);
	outb(f, SEC + R_LBAM, (uint8_t)limit);
	outb(f, SEC + R_LBAH, (uint8_t)(limit >> 8));
	outb(f, SEC + R_CMD, CMD_PACKET);
	assert_int_equal(inb(f, SEC_CTL) & (ST_BSY | ST_DRQ), ST_DRQ);
	assert_int_equal(inb(f, SEC + R_NSECT) & 3, 1);     /* CoD, to the device */
	write_words(f, SEC, cdb, 12);
	wait_ready(f, SEC);
}

/* Read one PIO chunk of a PACKET command; returns its byte count. */
static unsigned int atapi_read_chunk(struct fixture *f, uint8_t *buf)
{
	unsigned int n;

	assert_int_equal(inb(f, SEC + R_STATUS) & (ST_BSY | ST_DRQ | ST_ERR), ST_DRQ);
	assert_int_equal(inb(f, SEC + R_NSECT) & 3, 2);     /* data, to the host */
	n = inb(f, SEC + R_LBAM) | inb(f, SEC + R_LBAH) << 8;
	read_words(f, SEC, buf, (n + 1) & ~1u);
	return n;
}

static void atapi_expect_done(struct fixture *f)
{
	assert_int_equal(inb(f, SEC + R_STATUS) & (ST_BSY | ST_DRQ | ST_ERR), 0);
	assert_int_equal(inb(f, SEC + R_NSECT) & 3, 3);     /* status phase */
}

static void test_atapi_inquiry_read10(void **state)
{
	struct fixture *f = *state;
	static const uint8_t inquiry[12] = { 0x12, 0, 0, 0, 96, 0 };
	static const uint8_t read10[12] = { 0x28, 0, 0, 0, 0, 16, 0, 0, 3, 0 };
	uint8_t buf[6144];
	uint16_t id[256];
	unsigned int n, got = 0;

	/* IDENTIFY PACKET DEVICE: word 0 says ATAPI, CD-ROM (type 5). */
	ata_cmd28(f, SEC, 0, CMD_IDENTIFY_PACKET, 0, 0, 0);
	read_words(f, SEC, (uint8_t *)id, sizeof(id));
	assert_int_equal(id[0] >> 14, 2);
	assert_int_equal((id[0] >> 8) & 0x1f, 5);

	fake_machine_clear_counts(&f->fm);
	atapi_packet(f, inquiry, 0xfffe, false);
	assert_int_equal(f->fm.irq_edges[SEC_GSI], 1);
	n = atapi_read_chunk(f, buf);
	assert_true(n >= 36 && n <= 96);
	assert_int_equal(buf[0] & 0x1f, 5);                  /* CD/DVD device */
	assert_true(buf[1] & 0x80);                          /* removable */
	atapi_expect_done(f);
	assert_int_equal(f->fm.irq_edges[SEC_GSI], 2);

	/* READ(10) of 3 blocks with a 2048-byte limit: three chunks. */
	fake_machine_clear_counts(&f->fm);
	atapi_packet(f, read10, 2048, false);
	for (unsigned int c = 0; c < 3; c++) {
		n = atapi_read_chunk(f, buf + got);
		assert_int_equal(n, 2048);
		got += n;
	}
	atapi_expect_done(f);
	assert_int_equal(f->fm.irq_edges[SEC_GSI], 4);
	for (unsigned int i = 0; i < got; i++)
		assert_int_equal(buf[i], cd_byte(16 + i / 2048, i % 2048));

	/* An odd limit is rounded down: 2049 -> 2048 per chunk. */
	atapi_packet(f, read10, 2049, false);
	n = atapi_read_chunk(f, buf);
	assert_int_equal(n, 2048);
	atapi_read_chunk(f, buf);
	atapi_read_chunk(f, buf);
	atapi_expect_done(f);

	/* The same READ(10) by DMA. */
	static const uint32_t one[1][2] = { { BUF_GPA, 3 * 2048 } };

	fake_machine_clear_counts(&f->fm);
	prd_table(f, one, 1);
	bm_setup(f, SEC, true);
	atapi_packet(f, read10, 0, true);   /* the byte count is unused for DMA */
	bm_start(f, SEC, true);
	assert_int_equal(bm_wait(f, SEC) & (BM_ACTIVE | BM_ERROR), 0);
	bm_stop(f, SEC);
	atapi_expect_done(f);
	for (unsigned int i = 0; i < 3 * 2048; i++)
		assert_int_equal(f->fm.ram[BUF_GPA + i], cd_byte(16 + i / 2048, i % 2048));
}

static void test_srst(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[512];

	/* Leave a READ SECTORS half read, and non-default registers. */
	ata_cmd28(f, PRI, 0, CMD_READ_SECTORS, 7, 2, 0);
	read_words(f, PRI, buf, 100);
	outb(f, PRI + R_LBAH, 0x77);
	outb(f, PRI_CTL, CTL_SRST | CTL_NIEN);
	assert_int_equal(inb(f, PRI_CTL) & ST_BSY, ST_BSY);
	outb(f, PRI_CTL, CTL_NIEN);
	assert_int_equal(inb(f, PRI_CTL) & (ST_BSY | ST_DRQ | ST_DRDY), ST_DRDY);
	assert_int_equal(inb(f, PRI + R_NSECT), 1);
	assert_int_equal(inb(f, PRI + R_LBAL), 1);
	assert_int_equal(inb(f, PRI + R_LBAH), 0);
	assert_int_equal(inb(f, PRI + R_ERR), 1);
	assert_int_equal(inw(f, PRI + R_DATA), 0xffff);      /* no data phase left */

	/* nIEN: the command completes, but the line stays low. */
	fake_machine_clear_counts(&f->fm);
	ata_cmd28(f, PRI, 0, CMD_IDENTIFY, 0, 0, 0);
	assert_int_equal(f->fm.irq_edges[PRI_GSI], 0);
	assert_int_equal(inb(f, PRI_CTL) & ST_DRQ, ST_DRQ);
	/* Clearing nIEN with the interrupt pending raises the line. */
	outb(f, PRI_CTL, 0);
	assert_int_equal(f->fm.irq_edges[PRI_GSI], 1);

	/* SRST of the ATAPI channel: PACKET signature again. */
	outb(f, SEC_CTL, CTL_SRST);
	outb(f, SEC_CTL, 0);
	assert_int_equal(inb(f, SEC + R_LBAM), 0x14);
	assert_int_equal(inb(f, SEC + R_LBAH), 0xeb);

	/* EXECUTE DEVICE DIAGNOSTIC: signature, code 1, an interrupt. */
	fake_machine_clear_counts(&f->fm);
	ata_cmd28(f, PRI, 0, CMD_EXEC_DIAG, 0x123456, 9, 0);
	assert_int_equal(f->fm.irq_edges[PRI_GSI], 1);
	assert_int_equal(inb(f, PRI + R_ERR), 1);
	assert_int_equal(inb(f, PRI + R_LBAL), 1);
}

/* ---- malformed requests ---- */

static void test_prd_outside_ram(void **state)
{
	struct fixture *f = *state;
	static const uint32_t bad[1][2] = { { RAM_SIZE - 512, 1024 } };   /* runs off the end */
	uint8_t st;

	/* The table itself outside RAM. */
	fake_pio_write(&f->fm, f->bm + 4, 0xfff00000u, 4);
	outb(f, f->bm + 2, BM_INT | BM_ERROR);
	ata_cmd28(f, PRI, 0, CMD_READ_DMA, 0, 1, 0);
	bm_start(f, PRI, true);
	st = bm_wait(f, PRI);
	assert_int_equal(st & (BM_ERROR | BM_ACTIVE), BM_ERROR);
	assert_int_equal(inb(f, PRI + R_STATUS) & (ST_ERR | ST_DRQ | ST_BSY), ST_ERR);
	assert_int_equal(f->fm.irq_edges[PRI_GSI], 1);
	bm_stop(f, PRI);

	/* A region that runs past the end of RAM (a write: RAM -> disk). */
	prd_table(f, bad, 1);
	bm_setup(f, PRI, false);
	ata_cmd28(f, PRI, 0, CMD_WRITE_DMA, 0, 2, 0);
	bm_start(f, PRI, false);
	st = bm_wait(f, PRI);
	assert_int_equal(st & BM_ERROR, BM_ERROR);
	assert_int_equal(inb(f, PRI + R_STATUS) & ST_ERR, ST_ERR);
	bm_stop(f, PRI);

	/* The device is fine afterwards. */
	ata_cmd28(f, PRI, 0, CMD_IDENTIFY, 0, 0, 0);
	assert_int_equal(inb(f, PRI + R_STATUS) & (ST_ERR | ST_DRQ), ST_DRQ);
}

static void test_prd_exhausted(void **state)
{
	struct fixture *f = *state;
	static const uint32_t short_table[2][2] = { { BUF_GPA, 512 }, { BUF_GPA + 4096, 512 } };

	/* 2 x 512 bytes of table for a 4-sector read. */
	prd_table(f, short_table, 2);
	bm_setup(f, PRI, true);
	ata_cmd28(f, PRI, 0, CMD_READ_DMA, 0, 4, 0);
	bm_start(f, PRI, true);
	assert_int_equal(bm_wait(f, PRI) & (BM_ERROR | BM_ACTIVE), BM_ERROR);
	assert_int_equal(inb(f, PRI + R_STATUS) & (ST_ERR | ST_DRQ), ST_ERR);
	bm_stop(f, PRI);

	/* A table without EOT that goes on for ever stops at 8192 entries. */
	for (unsigned int i = 0; i < 8192 + 16; i++) {
		uint32_t w[2] = { BUF_GPA, 2 };

		memcpy(f->fm.ram + PRDT_GPA + 8 * i, w, sizeof(w));
	}
	bm_setup(f, PRI, true);
	ata_cmd28(f, PRI, 0, CMD_READ_DMA, 0, 64, 0);   /* 32 KiB > 8192 * 2 bytes */
	bm_start(f, PRI, true);
	assert_int_equal(bm_wait(f, PRI) & BM_ERROR, BM_ERROR);
	bm_stop(f, PRI);
}

static void test_dma_direction_mismatch(void **state)
{
	struct fixture *f = *state;
	static const uint32_t one[1][2] = { { BUF_GPA, 512 } };
	uint8_t before[512], after[512];

	assert_int_equal(blk_pread(f->disk, before, 512, 0), 0);
	prd_table(f, one, 1);
	bm_setup(f, PRI, true);
	/* WRITE DMA, but the bus master was told to write memory. */
	ata_cmd28(f, PRI, 0, CMD_WRITE_DMA, 0, 1, 0);
	bm_start(f, PRI, true);
	assert_int_equal(bm_wait(f, PRI) & BM_ERROR, BM_ERROR);
	assert_int_equal(inb(f, PRI + R_STATUS) & ST_ERR, ST_ERR);
	assert_int_equal(blk_pread(f->disk, after, 512, 0), 0);
	assert_memory_equal(before, after, 512);
}

/* Byte count limits the host should not use: 0 and odd values.  The device
 * picks the largest even chunk (0) or rounds down; it never hangs or sends
 * an odd chunk before the last. */
static void test_atapi_byte_count_odd_and_zero(void **state)
{
	struct fixture *f = *state;
	static const uint8_t inquiry[12] = { 0x12, 0, 0, 0, 36, 0 };
	static const uint8_t read10[12] = { 0x28, 0, 0, 0, 0, 2, 0, 0, 2, 0 };
	uint8_t buf[4096];
	unsigned int n;

	atapi_packet(f, inquiry, 0, false);
	n = atapi_read_chunk(f, buf);
	assert_int_equal(n, 36);
	atapi_expect_done(f);

	/* 1001 -> 1000-byte chunks for 4096 bytes: 1000 x 4, then 96. */
	atapi_packet(f, read10, 1001, false);
	for (unsigned int c = 0; c < 4; c++)
		assert_int_equal(atapi_read_chunk(f, buf), 1000);
	assert_int_equal(atapi_read_chunk(f, buf), 96);
	atapi_expect_done(f);

	/* 1: the layer treats it as the largest; the transport never reports
	 * more than 0xfffe in the byte count registers. */
	atapi_packet(f, read10, 1, false);
	n = atapi_read_chunk(f, buf);
	assert_true(n > 0 && n <= 0xfffe);
	while (inb(f, SEC + R_STATUS) & ST_DRQ)
		atapi_read_chunk(f, buf);
	atapi_expect_done(f);
}

static void test_lba_past_end(void **state)
{
	struct fixture *f = *state;
	static const uint8_t read10[12] = { 0x28, 0, 0, 0, 0, CD_BLOCKS - 1, 0, 0, 2, 0 };
	static const uint32_t one[1][2] = { { BUF_GPA, 4096 } };

	/* PIO: the last sector plus one past the end. */
	ata_cmd28(f, PRI, 0, CMD_READ_SECTORS, DISK_SECTORS - 1, 2, 0);
	assert_int_equal(inb(f, PRI + R_STATUS) & ST_ERR, ST_ERR);
	assert_int_equal(inw(f, PRI + R_DATA), 0xffff);
	/* LBA48 far beyond, and the DMA form. */
	ata_cmd48(f, PRI, CMD_READ_SECTORS_EXT, 1ull << 40, 1);
	assert_int_equal(inb(f, PRI + R_STATUS) & ST_ERR, ST_ERR);
	prd_table(f, one, 1);
	bm_setup(f, PRI, true);
	ata_cmd48(f, PRI, CMD_READ_DMA_EXT, DISK_SECTORS, 1);
	bm_start(f, PRI, true);
	outb(f, PRI + R_DEV, 0x40);
	assert_int_equal(inb(f, PRI + R_STATUS) & (ST_ERR | ST_DRQ), ST_ERR);
	bm_stop(f, PRI);
	/* ATAPI READ(10) past the end: CHECK CONDITION. */
	atapi_packet(f, read10, 0xfffe, false);
	assert_int_equal(inb(f, SEC + R_STATUS) & ST_ERR, ST_ERR);
	assert_int_equal(inb(f, SEC + R_ERR) >> 4, 5);       /* ILLEGAL REQUEST */
}

/* A snapshot taken in the middle of a PIO read resumes in a copy on a
 * second machine with the same drives; corrupt streams are refused. */
static void test_save_load(void **state)
{
	struct fixture *f = *state;
	struct fixture g;
	struct drive_args drives[2];
	struct sv_reader r;
	struct sv_writer w;
	uint8_t buf[512];

	ata_cmd28(f, PRI, 0, CMD_READ_SECTORS, 33, 2, 0);
	inb(f, PRI + R_STATUS);                  /* acknowledged: the line is low */
	read_words(f, PRI, buf, 256);
	outb(f, f->bm + 4, 0x40);                /* some bus master state too */
	assert_int_equal(fake_save(f->dev, &w), 0);

	machine_up(&g, RAM_SIZE);
	memset(drives, 0, sizeof(drives));
	drives[0] = (struct drive_args){ .img = f->disk, .port = 0 };
	drives[1] = (struct drive_args){ .img = f->cd, .cdrom = true, .readonly = true, .port = 2 };
	g.dev = create_ide(&g, drives, 2);
	assert_non_null(g.dev);

	/* Truncated, or with trailing garbage: refused. */
	sv_reader_init(&r, w.buf, w.len / 2);
	assert_int_not_equal(device_load(g.dev, &r, piix3_ide_model.state_version), 0);
	sv_put_u8(&w, 0);
	sv_reader_init(&r, w.buf, w.len);
	assert_int_not_equal(device_load(g.dev, &r, piix3_ide_model.state_version), 0);
	/* A different drive set (no CD) is refused. */
	{
		struct fixture h;

		machine_up(&h, 0);
		h.dev = create_ide(&h, drives, 1);
		assert_non_null(h.dev);
		sv_reader_init(&r, w.buf, w.len - 1);
		assert_int_not_equal(device_load(h.dev, &r, piix3_ide_model.state_version), 0);
		machine_down(&h);
	}
	sv_reader_init(&r, w.buf, w.len - 1);
	assert_int_equal(device_load(g.dev, &r, piix3_ide_model.state_version), 0);
	sv_writer_free(&w);

	/* The copy continues where the original was. */
	read_words(&g, PRI, buf + 256, 256);
	for (unsigned int i = 0; i < 512; i++)
		assert_int_equal(buf[i], disk_byte(33, i));
	assert_int_equal(g.fm.irq_edges[PRI_GSI], 1);        /* the next sector's DRQ */
	inb(&g, PRI + R_STATUS);
	read_words(&g, PRI, buf, 512);
	for (unsigned int i = 0; i < 512; i++)
		assert_int_equal(buf[i], disk_byte(34, i));
	assert_int_equal(inb(&g, PRI + R_STATUS) & ST_DRQ, 0);
	{
		uint16_t bm = (uint16_t)(pci_bus_config_read(g.fm.host.pci, 0, f->devfn,
							     PCI_BAR0 + 16, 4) & ~3u);

		pci_bus_config_write(g.fm.host.pci, 0, f->devfn, PCI_COMMAND, PCI_COMMAND_IO, 2);
		assert_int_equal(fake_inb(&g.fm, bm + 4), 0x40);
	}
	machine_down(&g);
}

/*
 * Found by fuzz_ide: a snapshot taken after an ATAPI PACKET for DMA was
 * received and before the bus master started did not load back (the PIO
 * position of the packet was kept into the DMA phase).
 */
static void test_save_load_atapi_dma_pending(void **state)
{
	struct fixture *f = *state;
	static const uint8_t read10[12] = { 0x28, 0, 0, 0, 0, 7, 0, 0, 1, 0 };
	static const uint32_t one[1][2] = { { BUF_GPA, 2048 } };
	struct sv_writer w;

	prd_table(f, one, 1);
	bm_setup(f, SEC, true);
	atapi_packet(f, read10, 0, true);
	assert_int_equal(fake_save(f->dev, &w), 0);
	assert_int_equal(fake_load(f->dev, &w), 0);
	sv_writer_free(&w);
	/* The command goes on once the bus master starts. */
	bm_start(f, SEC, true);
	assert_int_equal(bm_wait(f, SEC) & (BM_ACTIVE | BM_ERROR), 0);
	bm_stop(f, SEC);
	atapi_expect_done(f);
	for (unsigned int i = 0; i < 2048; i++)
		assert_int_equal(f->fm.ram[BUF_GPA + i], cd_byte(7, i));
}

/* Drive positions are checked: 4 positions, one drive each. */
static void test_bad_drive_args(void **state)
{
	struct fixture *f = *state;
	struct drive_args d[2] = { { .img = f->disk, .port = 4 } };

	assert_null(create_ide(f, d, 1));
	d[0].port = 1;
	d[1] = d[0];
	assert_null(create_ide(f, d, 2));
}

/* ---- resets with DMA in flight (slow image) ---- */

#define SLOW_LEN   (1u << 20)            /* the whole disk: 16 PRDs of 64 KiB */
#define CD_LEN     (CD_BLOCKS * 2048u)   /* the whole CD: 2 PRDs */
#define POISON     0xa5
#define NEXT_GPA   0x400000u

struct reset_ctx {
	struct fixture *f;
	void (*reset)(struct fixture *f);
	uint32_t len;
};

/* The resetting "vCPU": once the reset returned, the guest reuses the
 * DMA buffer (poisons it). */
static void reset_then_poison(void *arg)
{
	struct reset_ctx *c = arg;

	c->reset(c->f);
	memset(c->f->fm.ram + BUF_GPA, POISON, c->len);
}

static void poison_intact(struct fixture *f, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		if (f->fm.ram[BUF_GPA + i] != POISON)
			fail_msg("guest RAM at 0x%x written after the reset returned", BUF_GPA + i);
}

/* A PRD table of 64 KiB entries covering @len bytes at BUF_GPA. */
static void prd_table_big(struct fixture *f, uint32_t len)
{
	uint32_t e[16][2];
	unsigned int n = len / 0x10000;

	for (unsigned int i = 0; i < n; i++) {
		e[i][0] = BUF_GPA + i * 0x10000u;
		e[i][1] = 0;                        /* 0 = 64 KiB */
	}
	prd_table(f, (const uint32_t (*)[2])e, n);
}

/* Reset (on another thread) while @img's first read waits at the gate;
 * open the gate while the reset waits; nothing lands after it returned. */
static void reset_while_held(struct fixture *f, struct blk_image *img, uint32_t len,
			     void (*reset)(struct fixture *f))
{
	struct reset_ctx c = { f, reset, len };
	struct slow_thread t;

	assert_true(slow_image_wait_held(1));
	slow_thread_start(&t, reset_then_poison, &c);
	slow_thread_wait_blocked(&t);
	slow_image_release();
	assert_true(slow_thread_join(&t));
	(void)img;
}

/* Cancelled at the next piece: of the old command only the held one
 * (IO_CHUNK bytes of its 64 KiB PRDs, one vectored call) was read;
 * @next bytes are the next command's. */
static void only_one_piece(uint32_t next)
{
	assert_true(slow_image_bytes() <= IO_CHUNK + next);
}

/* The next DMA command on the primary master works: 8 sectors at 100. */
static void next_disk_read_works(struct fixture *f)
{
	static const uint32_t one[1][2] = { { NEXT_GPA, 8 * 512 } };

	if (!(cfg_read(f, PCI_COMMAND, 2) & PCI_COMMAND_MASTER))
		find_function(f);           /* a machine reset: the firmware's job */
	prd_table(f, one, 1);
	bm_setup(f, PRI, true);
	ata_cmd28(f, PRI, 0, CMD_READ_DMA, 100, 8, 0);
	bm_start(f, PRI, true);
	assert_int_equal(bm_wait(f, PRI) & BM_ERROR, 0);
	bm_stop(f, PRI);
	assert_int_equal(inb(f, PRI + R_STATUS) & (ST_BSY | ST_DRQ | ST_ERR), 0);
	for (unsigned int i = 0; i < 8 * 512; i++)
		assert_int_equal(f->fm.ram[NEXT_GPA + i], disk_byte(100 + i / 512, i % 512));
}

static void disk_reset_in_flight(struct fixture *f, void (*reset)(struct fixture *f))
{
	prd_table_big(f, SLOW_LEN);
	bm_setup(f, PRI, true);
	slow_image_hold(f->disk);
	ata_cmd48(f, PRI, CMD_READ_DMA_EXT, 0, (uint16_t)(SLOW_LEN / 512));
	bm_start(f, PRI, true);
	reset_while_held(f, f->disk, SLOW_LEN, reset);
	next_disk_read_works(f);
	poison_intact(f, SLOW_LEN);
	only_one_piece(8 * 512);
}

static void reset_srst(struct fixture *f)
{
	outb(f, PRI_CTL, CTL_SRST);
	outb(f, PRI_CTL, 0);
}

static void reset_bm_stop(struct fixture *f)
{
	bm_stop(f, PRI);
}

static void reset_machine(struct fixture *f)
{
	device_reset(f->dev);
}

static void test_srst_in_flight(void **state)
{
	disk_reset_in_flight(*state, reset_srst);
}

static void test_bm_stop_in_flight(void **state)
{
	disk_reset_in_flight(*state, reset_bm_stop);
}

static void test_machine_reset_in_flight(void **state)
{
	disk_reset_in_flight(*state, reset_machine);
}

static void reset_atapi_device(struct fixture *f)
{
	outb(f, SEC + R_CMD, 0x08);             /* DEVICE RESET, taken while busy */
}

/* DEVICE RESET with a READ(10) by DMA of the whole CD in flight; then
 * the next packet command on the same drive works. */
static void test_atapi_device_reset_in_flight(void **state)
{
	struct fixture *f = *state;
	static const uint8_t read_all[12] = { 0x28, 0, 0, 0, 0, 0, 0, 0, CD_BLOCKS, 0 };
	static const uint8_t read3[12] = { 0x28, 0, 0, 0, 0, 16, 0, 0, 3, 0 };
	static const uint32_t next[1][2] = { { NEXT_GPA, 3 * 2048 } };

	prd_table_big(f, CD_LEN);
	bm_setup(f, SEC, true);
	slow_image_hold(f->cd);
	atapi_packet(f, read_all, 0, true);
	bm_start(f, SEC, true);
	reset_while_held(f, f->cd, CD_LEN, reset_atapi_device);
	assert_int_equal(inb(f, SEC + R_LBAM), 0x14);        /* PACKET signature */
	assert_int_equal(inb(f, SEC + R_LBAH), 0xeb);

	bm_stop(f, SEC);
	prd_table(f, next, 1);
	bm_setup(f, SEC, true);
	atapi_packet(f, read3, 0, true);
	bm_start(f, SEC, true);
	assert_int_equal(bm_wait(f, SEC) & BM_ERROR, 0);
	bm_stop(f, SEC);
	atapi_expect_done(f);
	for (unsigned int i = 0; i < 3 * 2048; i++)
		assert_int_equal(f->fm.ram[NEXT_GPA + i], cd_byte(16 + i / 2048, i % 2048));
	poison_intact(f, CD_LEN);
	only_one_piece(3 * 2048);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pci_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signatures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_absent_slave, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_channel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identify_pio, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rw_sectors_pio, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rw_dma, setup, teardown),
		cmocka_unit_test_setup_teardown(test_atapi_inquiry_read10, setup, teardown),
		cmocka_unit_test_setup_teardown(test_srst, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prd_outside_ram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prd_exhausted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_direction_mismatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_atapi_byte_count_odd_and_zero, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lba_past_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_load_atapi_dma_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_drive_args, setup, teardown),
		cmocka_unit_test_setup_teardown(test_srst_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bm_stop_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_machine_reset_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_atapi_device_reset_in_flight, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
