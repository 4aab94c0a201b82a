// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Seed corpora for the device fuzz targets, written at run time (no binary
 * corpus lives in the tree):
 *
 *   fuzz_device_seeds ahci|piix3-ide|virtio-blk|rtc|uart16550|fw_cfg|vga|e1000|virtio-net|i8042|virtio-input OUTDIR
 *
 * Each seed is a program (fuzz_device_prog.h) that does what a driver
 * does: enable the PCI function, bring the controller up, build the
 * in-memory structures (AHCI command list and tables, IDE PRD tables,
 * virtqueues) and run real commands - IDENTIFY, reads, writes, NCQ,
 * ATAPI packets, flushes - so the fuzzer starts from deep states instead
 * of having to discover a working command by chance.  Register offsets
 * follow the specs cited beside them; RAM addresses are the harness's.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_device_prog.h"

/* ---- program builder ---- */

struct seed {
	uint8_t buf[16384];
	size_t len;
};

static void put(struct seed *s, uint64_t v, unsigned int bytes)
{
	for (unsigned int i = 0; i < bytes; i++) {
		if (s->len == sizeof(s->buf))
			abort();
		s->buf[s->len++] = (uint8_t)(v >> (8 * i));
	}
}

static uint8_t width_code(unsigned int width)
{
	return width == 1 ? 0 : width == 2 ? 1 : width == 4 ? 2 : 3;
}

static void seed_begin(struct seed *s, uint8_t flags)
{
	s->len = 0;
	put(s, flags, 1);
}

static void bar_wr(struct seed *s, unsigned int bar, uint32_t off, unsigned int width, uint64_t v)
{
	put(s, FOP_BAR_WRITE, 1);
	put(s, bar, 1);
	put(s, off, 4);
	put(s, width_code(width), 1);
	put(s, v, 8);
}

static void bar_rd(struct seed *s, unsigned int bar, uint32_t off, unsigned int width)
{
	put(s, FOP_BAR_READ, 1);
	put(s, bar, 1);
	put(s, off, 4);
	put(s, width_code(width), 1);
}

static void out(struct seed *s, uint16_t port, unsigned int width, uint32_t v)
{
	put(s, FOP_PIO_WRITE, 1);
	put(s, port, 2);
	put(s, width_code(width), 1);
	put(s, v, 4);
}

static void in(struct seed *s, uint16_t port, unsigned int width)
{
	put(s, FOP_PIO_READ, 1);
	put(s, port, 2);
	put(s, width_code(width), 1);
}

static void rep_in(struct seed *s, uint16_t port, unsigned int width, uint16_t count)
{
	put(s, FOP_PIO_REP_READ, 1);
	put(s, port, 2);
	put(s, width_code(width), 1);
	put(s, count, 2);
}

static void rep_out(struct seed *s, uint16_t port, unsigned int width, uint16_t count, uint32_t v)
{
	put(s, FOP_PIO_REP_WRITE, 1);
	put(s, port, 2);
	put(s, width_code(width), 1);
	put(s, count, 2);
	put(s, v, 4);
}

static void cfg_wr(struct seed *s, uint8_t off, unsigned int width, uint32_t v)
{
	put(s, FOP_CFG_WRITE, 1);
	put(s, off, 1);
	put(s, width_code(width), 1);
	put(s, v, 4);
}

/* Configuration mechanism #1 (PCI 3.0, 3.2.2.3.2): dword @off of 00:@devfn. */
static void cf8_rd(struct seed *s, uint8_t devfn, uint8_t off)
{
	out(s, 0xcf8, 4, 0x80000000u | (uint32_t)devfn << 8 | (off & 0xfcu));
	in(s, 0xcfc, 4);
}

static void cf8_wr(struct seed *s, uint8_t devfn, uint8_t off, unsigned int width, uint32_t v)
{
	out(s, 0xcf8, 4, 0x80000000u | (uint32_t)devfn << 8 | (off & 0xfcu));
	out(s, (uint16_t)(0xcfc + (off & 3)), width, v);
}

static void cfg_rd(struct seed *s, uint8_t off, unsigned int width)
{
	put(s, FOP_CFG_READ, 1);
	put(s, off, 1);
	put(s, width_code(width), 1);
}

static void ram(struct seed *s, uint32_t gpa, const void *bytes, uint16_t len)
{
	put(s, FOP_RAM_WRITE, 1);
	put(s, gpa, 4);
	put(s, len, 2);
	for (uint16_t i = 0; i < len; i++)
		put(s, ((const uint8_t *)bytes)[i], 1);
}

static void ram32(struct seed *s, uint32_t gpa, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	ram(s, gpa, b, 4);
}

static void fill(struct seed *s, uint32_t gpa, uint32_t len, uint8_t byte)
{
	put(s, FOP_RAM_FILL, 1);
	put(s, gpa, 4);
	put(s, len, 4);
	put(s, byte, 1);
}

static void op(struct seed *s, enum fuzz_op o)
{
	put(s, o, 1);
}

static int seed_write(const struct seed *s, const char *dir, const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(s->buf, 1, s->len, f) != s->len || fclose(f)) {
		perror(path);
		return -1;
	}
	return 0;
}

/* PCI configuration header (PCI Local Bus 3.0, 6.2). */
#define CFG_COMMAND 0x04
#define CMD_IO      0x1
#define CMD_MEMORY  0x2
#define CMD_MASTER  0x4

/*
 * The MMC commands a guest's CD driver probes with (MMC-6): TEST UNIT
 * READY, REQUEST SENSE, READ CAPACITY, READ TOC (formats 0 and 1), GET
 * CONFIGURATION, GET EVENT STATUS NOTIFICATION, MODE SENSE(10) (all
 * pages), READ TRACK INFORMATION, READ DISC INFORMATION, PREVENT ALLOW
 * MEDIUM REMOVAL, START STOP UNIT (eject), then an allocation length each.
 */
static const uint8_t mmc_probe[][12] = {
	{ 0x00 },
	{ 0x03, 0, 0, 0, 18 },
	{ 0x25 },
	{ 0x43, 0x02, 0, 0, 0, 0, 0, 0x03, 0x24 },
	{ 0x43, 0x00, 0x01, 0, 0, 0, 0, 0x00, 0x0c },
	{ 0x46, 0x02, 0, 0, 0, 0, 0, 0x01, 0x00 },
	{ 0x4a, 0x01, 0, 0, 0x10, 0, 0, 0, 8 },
	{ 0x5a, 0, 0x3f, 0, 0, 0, 0, 0x02, 0x00 },
	{ 0x52, 0x01, 0, 0, 0, 1, 0, 0, 36 },
	{ 0x51, 0, 0, 0, 0, 0, 0, 0, 34 },
	{ 0x1e, 0, 0, 0, 1 },
	{ 0x1b, 0, 0, 0, 0x02 },
};
#define NR_MMC_PROBE (sizeof(mmc_probe) / sizeof(mmc_probe[0]))

/* ---- AHCI (Serial ATA AHCI 1.3.1) ---- */

#define ABAR        5
#define GHC         0x04
#define PORT(p, r)  (0x100u + (p) * 0x80u + (r))
#define PX_CLB      0x00
#define PX_FB       0x08
#define PX_IS       0x10
#define PX_IE       0x14
#define PX_CMD      0x18
#define PX_TFD      0x20
#define PX_SCTL     0x2c
#define PX_SERR     0x30
#define PX_SACT     0x34
#define PX_CI       0x38
#define A_CLB(p)    (0x10000u + (p) * 0x1000u)
#define A_FB(p)     (0x40000u + (p) * 0x1000u)
#define A_CT(p, s)  (0x80000u + (p) * 0x20000u + (s) * 0x100u)
#define A_DATA      0x100000u

static void ahci_port_up(struct seed *s, unsigned int p)
{
	bar_wr(s, ABAR, PORT(p, PX_CLB), 4, A_CLB(p));
	bar_wr(s, ABAR, PORT(p, PX_CLB) + 4, 4, 0);
	bar_wr(s, ABAR, PORT(p, PX_FB), 4, A_FB(p));
	bar_wr(s, ABAR, PORT(p, PX_FB) + 4, 4, 0);
	bar_wr(s, ABAR, PORT(p, PX_SERR), 4, ~0u);
	bar_wr(s, ABAR, PORT(p, PX_IS), 4, ~0u);
	bar_wr(s, ABAR, PORT(p, PX_CMD), 4, 1u << 4);              /* FRE */
	bar_wr(s, ABAR, PORT(p, PX_CMD), 4, 1u << 4 | 1u);          /* FRE | ST */
	bar_wr(s, ABAR, PORT(p, PX_IE), 4, ~0u);
}

static void ahci_hba_up(struct seed *s)
{
	/* Enumerate as firmware does: the host bridge, then slot 2 (us). */
	cf8_rd(s, 0, 0);
	cf8_rd(s, 2 << 3, 0);
	cf8_rd(s, 2 << 3, 0x24);
	cfg_wr(s, CFG_COMMAND, 2, CMD_MEMORY | CMD_MASTER);
	bar_wr(s, ABAR, GHC, 4, 1u << 31 | 1u << 1);               /* AE | IE */
}

/*
 * Command header @slot (4.2.2) and its table (4.2.3): an H2D register FIS
 * (SATA 3.x 10.5.5), an optional ATAPI CDB and one PRD of @bytes at @buf.
 */
static void ahci_cmd(struct seed *s, unsigned int p, unsigned int slot, uint8_t command,
		     uint16_t features, uint64_t lba, uint16_t count, const uint8_t *cdb,
		     uint32_t buf, uint32_t bytes, bool write)
{
	uint32_t ct = A_CT(p, slot);
	uint32_t hdr[4] = { 5u | (cdb ? 1u << 5 : 0) | (write ? 1u << 6 : 0) | 1u << 16, 0, ct, 0 };
	uint8_t t[0x90] = { 0 };

	ram(s, A_CLB(p) + slot * 32u, hdr, sizeof(hdr));
	t[0] = 0x27;
	t[1] = 0x80;
	t[2] = command;
	t[3] = (uint8_t)features;
	t[4] = (uint8_t)lba;
	t[5] = (uint8_t)(lba >> 8);
	t[6] = (uint8_t)(lba >> 16);
	t[7] = 0x40;
	t[8] = (uint8_t)(lba >> 24);
	t[9] = (uint8_t)(lba >> 32);
	t[10] = (uint8_t)(lba >> 40);
	t[11] = (uint8_t)(features >> 8);
	t[12] = (uint8_t)count;
	t[13] = (uint8_t)(count >> 8);
	if (cdb)
		memcpy(t + 0x40, cdb, 12);
	memcpy(t + 0x80, &buf, 4);
	bytes -= 1;
	memcpy(t + 0x8c, &bytes, 4);
	ram(s, ct, t, sizeof(t));
}

static void ahci_issue(struct seed *s, unsigned int p, uint32_t slots)
{
	bar_wr(s, ABAR, PORT(p, PX_CI), 4, slots);
	bar_rd(s, ABAR, PORT(p, PX_TFD), 4);
	bar_rd(s, ABAR, PORT(p, PX_IS), 4);
}

static int seeds_ahci(const char *dir)
{
	static const uint8_t read10[12] = { 0x28, 0, 0, 0, 0, 2, 0, 0, 1 };
	static const uint8_t inquiry[12] = { 0x12, 0, 0, 0, 36 };
	static const uint8_t tur[12] = { 0 };
	struct seed s;
	int ret = 0;

	for (uint8_t flags = 0; flags <= FFLAG_QCOW2; flags++) {
		/* IDENTIFY, READ DMA EXT, WRITE DMA EXT, FLUSH on the disk. */
		seed_begin(&s, flags);
		ahci_hba_up(&s);
		ahci_port_up(&s, 0);
		ahci_cmd(&s, 0, 0, 0xec, 0, 0, 0, NULL, A_DATA, 512, false);
		ahci_issue(&s, 0, 1u << 0);
		ahci_cmd(&s, 0, 1, 0x25, 0, 1, 8, NULL, A_DATA + 0x1000, 4096, false);
		ahci_issue(&s, 0, 1u << 1);
		fill(&s, A_DATA + 0x2000, 4096, 0x5a);
		ahci_cmd(&s, 0, 2, 0x35, 0, 16, 8, NULL, A_DATA + 0x2000, 4096, true);
		ahci_issue(&s, 0, 1u << 2);
		ahci_cmd(&s, 0, 3, 0xe7, 0, 0, 0, NULL, A_DATA, 512, false);
		ahci_issue(&s, 0, 1u << 3);
		ahci_cmd(&s, 0, 4, 0x25, 0, 16, 8, NULL, A_DATA + 0x3000, 4096, false);
		ahci_issue(&s, 0, 1u << 4);
		ret |= seed_write(&s, dir, flags ? "ahci-rw-qcow2" : "ahci-rw");

		/* NCQ: READ/WRITE FPDMA QUEUED (SATA 3.x 13.6) in four tags. */
		seed_begin(&s, flags);
		ahci_hba_up(&s);
		ahci_port_up(&s, 0);
		for (unsigned int t = 0; t < 4; t++)
			ahci_cmd(&s, 0, t, t & 1 ? 0x61 : 0x60, 4, 32 + 4 * t, (uint16_t)(t << 3),
				 NULL, A_DATA + t * 0x1000u, 2048, t & 1);
		bar_wr(&s, ABAR, PORT(0, PX_SACT), 4, 0xf);
		ahci_issue(&s, 0, 0xf);
		bar_rd(&s, ABAR, PORT(0, PX_SACT), 4);
		ret |= seed_write(&s, dir, flags ? "ahci-ncq-qcow2" : "ahci-ncq");
	}

	/* ATAPI on port 2: IDENTIFY PACKET DEVICE, TEST UNIT READY, INQUIRY, READ(10). */
	seed_begin(&s, 0);
	ahci_hba_up(&s);
	ahci_port_up(&s, 2);
	ahci_cmd(&s, 2, 0, 0xa1, 0, 0, 0, NULL, A_DATA, 512, false);
	ahci_issue(&s, 2, 1u << 0);
	ahci_cmd(&s, 2, 1, 0xa0, 0, 0, 0, tur, A_DATA, 512, false);
	ahci_issue(&s, 2, 1u << 1);
	ahci_cmd(&s, 2, 2, 0xa0, 1, 0, 0, inquiry, A_DATA, 36, false);
	ahci_issue(&s, 2, 1u << 2);
	ahci_cmd(&s, 2, 3, 0xa0, 1, 0, 0, read10, A_DATA + 0x1000, 2048, false);
	ahci_issue(&s, 2, 1u << 3);
	ret |= seed_write(&s, dir, "ahci-atapi");

	/* The CD driver's probe commands, one slot each, with and without a disc. */
	for (uint8_t flags = 0; flags <= FFLAG_NO_MEDIA; flags += FFLAG_NO_MEDIA) {
		seed_begin(&s, flags);
		ahci_hba_up(&s);
		ahci_port_up(&s, 2);
		for (unsigned int i = 0; i < NR_MMC_PROBE; i++) {
			ahci_cmd(&s, 2, i, 0xa0, 0, 0, 0, mmc_probe[i], A_DATA + i * 0x1000u,
				 4096, false);
			ahci_issue(&s, 2, 1u << i);
		}
		ret |= seed_write(&s, dir, flags ? "ahci-atapi-probe-empty" : "ahci-atapi-probe");
	}

	/*
	 * The rest of a disk driver's set-up (ACS-3): SET FEATURES (write
	 * cache, transfer mode), READ LOG EXT (directory, NCQ error log),
	 * DATA SET MANAGEMENT (TRIM of 8 sectors at 64), READ VERIFY, SMART.
	 */
	seed_begin(&s, 0);
	ahci_hba_up(&s);
	ahci_port_up(&s, 0);
	ahci_cmd(&s, 0, 0, 0xef, 0x02, 0, 0, NULL, A_DATA, 512, false);
	ahci_issue(&s, 0, 1u << 0);
	ahci_cmd(&s, 0, 1, 0xef, 0x03, 0, 0x45, NULL, A_DATA, 512, false);
	ahci_issue(&s, 0, 1u << 1);
	ahci_cmd(&s, 0, 2, 0x2f, 0, 0x00, 1, NULL, A_DATA, 512, false);
	ahci_issue(&s, 0, 1u << 2);
	ahci_cmd(&s, 0, 3, 0x2f, 0, 0x10, 1, NULL, A_DATA, 512, false);
	ahci_issue(&s, 0, 1u << 3);
	{
		uint64_t range = 64 | (uint64_t)8 << 48;

		ram(&s, A_DATA + 0x1000, &range, sizeof(range));
	}
	ahci_cmd(&s, 0, 4, 0x06, 0x01, 0, 1, NULL, A_DATA + 0x1000, 512, true);
	ahci_issue(&s, 0, 1u << 4);
	ahci_cmd(&s, 0, 5, 0x42, 0, 0, 8, NULL, A_DATA, 512, false);
	ahci_issue(&s, 0, 1u << 5);
	ahci_cmd(&s, 0, 6, 0xb0, 0xd0, 0xc24f00, 1, NULL, A_DATA, 512, false);
	ahci_issue(&s, 0, 1u << 6);
	ret |= seed_write(&s, dir, "ahci-ata-setup");

	/* Resets around a command: port stop, COMRESET, HBA reset, machine reset, save/load. */
	seed_begin(&s, 0);
	ahci_hba_up(&s);
	ahci_port_up(&s, 0);
	ahci_cmd(&s, 0, 0, 0x25, 0, 0, 64, NULL, A_DATA, 32768, false);
	op(&s, FOP_ASYNC);
	put(&s, 1, 1);
	ahci_issue(&s, 0, 1u << 0);
	bar_wr(&s, ABAR, PORT(0, PX_CMD), 4, 1u << 4);              /* ST off */
	op(&s, FOP_DRAIN);
	bar_wr(&s, ABAR, PORT(0, PX_SCTL), 4, 1);                   /* COMRESET */
	bar_wr(&s, ABAR, PORT(0, PX_SCTL), 4, 0);
	op(&s, FOP_SAVE_LOAD);
	ahci_port_up(&s, 0);
	ahci_issue(&s, 0, 1u << 0);
	bar_wr(&s, ABAR, GHC, 4, 1);                                /* HR */
	op(&s, FOP_RESET);
	ahci_hba_up(&s);
	ahci_port_up(&s, 0);
	ahci_issue(&s, 0, 1u << 0);
	ret |= seed_write(&s, dir, "ahci-resets");

	/* A machine reset while a 1 MiB read (over RAM filled with 0xff) runs. */
	seed_begin(&s, 0);
	ahci_hba_up(&s);
	ahci_port_up(&s, 0);
	fill(&s, A_DATA, 1u << 20, 0xff);
	ahci_cmd(&s, 0, 0, 0x25, 0, 0, 2048, NULL, A_DATA, 1u << 20, false);
	op(&s, FOP_ASYNC);
	put(&s, 2, 1);
	bar_wr(&s, ABAR, PORT(0, PX_CI), 4, 1);
	op(&s, FOP_PAUSE);
	put(&s, 5, 1);
	op(&s, FOP_RESET);
	ret |= seed_write(&s, dir, "ahci-reset-inflight");
	return ret;
}

/* ---- PIIX3 IDE (ATA/ATAPI-6; PIIX3 datasheet for the bus master) ---- */

#define PRI      0x1f0
#define PRI_CTL  0x3f6
#define SEC      0x170
#define SEC_CTL  0x376
#define BMIBA    4
#define I_PRDT   0x10000u
#define I_DATA   0x20000u

static void ide_taskfile(struct seed *s, uint16_t base, uint8_t dev, uint8_t cmd, uint32_t lba,
			 uint8_t count, uint8_t feature)
{
	out(s, base + 6, 1, (uint8_t)(dev | ((lba >> 24) & 0x0f)));
	out(s, base + 1, 1, feature);
	out(s, base + 2, 1, count);
	out(s, base + 3, 1, (uint8_t)lba);
	out(s, base + 4, 1, (uint8_t)(lba >> 8));
	out(s, base + 5, 1, (uint8_t)(lba >> 16));
	out(s, base + 7, 1, cmd);
	in(s, base + 7, 1);
}

/* A one-entry PRD table (end of table set), the bus master pointed at it. */
static void ide_bm_setup(struct seed *s, unsigned int chan, uint32_t buf, uint16_t bytes,
			 bool to_mem)
{
	uint32_t prd[2] = { buf, bytes | 0x80000000u };

	ram(s, I_PRDT + chan * 0x100u, prd, sizeof(prd));
	bar_wr(s, BMIBA, chan * 8 + 4, 4, I_PRDT + chan * 0x100u);
	bar_wr(s, BMIBA, chan * 8 + 2, 1, 0x06);                  /* clear INT, ERR */
	bar_wr(s, BMIBA, chan * 8, 1, to_mem ? 0x08 : 0);
}

static void ide_bm_start(struct seed *s, unsigned int chan, bool to_mem)
{
	bar_wr(s, BMIBA, chan * 8, 1, (to_mem ? 0x08 : 0) | 0x01);
	bar_rd(s, BMIBA, chan * 8 + 2, 1);
	in(s, chan ? SEC + 7 : PRI + 7, 1);
	bar_wr(s, BMIBA, chan * 8, 1, 0);
}

static void ide_packet(struct seed *s, const uint8_t cdb[12], uint16_t bytecount)
{
	out(s, SEC + 6, 1, 0);
	out(s, SEC + 1, 1, 0);                                     /* PIO */
	out(s, SEC + 4, 1, (uint8_t)bytecount);
	out(s, SEC + 5, 1, (uint8_t)(bytecount >> 8));
	out(s, SEC + 7, 1, 0xa0);                                  /* PACKET */
	for (unsigned int i = 0; i < 12; i += 2)
		out(s, SEC, 2, (uint16_t)(cdb[i] | cdb[i + 1] << 8));
	in(s, SEC + 2, 1);
	rep_in(s, SEC, 2, bytecount / 2);
	in(s, SEC + 7, 1);
}

static int seeds_ide(const char *dir)
{
	static const uint8_t read10[12] = { 0x28, 0, 0, 0, 0, 3, 0, 0, 1 };
	static const uint8_t inquiry[12] = { 0x12, 0, 0, 0, 36 };
	static const uint8_t sense[12] = { 0x03, 0, 0, 0, 18 };
	struct seed s;
	int ret = 0;

	for (uint8_t flags = 0; flags <= FFLAG_QCOW2; flags++) {
		/* PIO: IDENTIFY, READ SECTORS, WRITE SECTORS, READ MULTIPLE, FLUSH. */
		seed_begin(&s, flags);
		cfg_wr(&s, CFG_COMMAND, 2, CMD_IO | CMD_MASTER);
		ide_taskfile(&s, PRI, 0xa0, 0xec, 0, 0, 0);
		rep_in(&s, PRI, 2, 256);
		ide_taskfile(&s, PRI, 0xe0, 0x20, 1, 2, 0);
		rep_in(&s, PRI, 2, 512);
		ide_taskfile(&s, PRI, 0xe0, 0x30, 5, 1, 0);
		rep_out(&s, PRI, 2, 256, 0xa55a);
		in(&s, PRI + 7, 1);
		ide_taskfile(&s, PRI, 0xe0, 0xc6, 0, 4, 0);            /* SET MULTIPLE 4 */
		ide_taskfile(&s, PRI, 0xe0, 0xc4, 4, 8, 0);            /* READ MULTIPLE */
		rep_in(&s, PRI, 4, 1024);
		ide_taskfile(&s, PRI, 0xe0, 0xe7, 0, 0, 0);
		ret |= seed_write(&s, dir, flags ? "ide-pio-qcow2" : "ide-pio");

		/* Bus-master DMA: READ DMA, WRITE DMA, then READ DMA EXT. */
		seed_begin(&s, flags);
		cfg_wr(&s, CFG_COMMAND, 2, CMD_IO | CMD_MASTER);
		ide_bm_setup(&s, 0, I_DATA, 4096, true);
		ide_taskfile(&s, PRI, 0xe0, 0xc8, 2, 8, 0);
		ide_bm_start(&s, 0, true);
		fill(&s, I_DATA + 0x1000, 1024, 0x3c);
		ide_bm_setup(&s, 0, I_DATA + 0x1000, 1024, false);
		ide_taskfile(&s, PRI, 0xe0, 0xca, 20, 2, 0);
		ide_bm_start(&s, 0, false);
		ide_bm_setup(&s, 0, I_DATA + 0x2000, 1024, true);
		out(&s, PRI + 2, 1, 0);                                /* LBA48: HOB first */
		out(&s, PRI + 3, 1, 0);
		out(&s, PRI + 4, 1, 0);
		out(&s, PRI + 5, 1, 0);
		ide_taskfile(&s, PRI, 0x40, 0x25, 20, 2, 0);
		ide_bm_start(&s, 0, true);
		ret |= seed_write(&s, dir, flags ? "ide-dma-qcow2" : "ide-dma");
	}

	/* ATAPI on the secondary master: IDENTIFY PACKET, INQUIRY, REQUEST SENSE, READ(10), DMA READ. */
	seed_begin(&s, 0);
	cf8_rd(&s, 1 << 3 | 1, 0);                                 /* 01.1 */
	cf8_wr(&s, 1 << 3 | 1, CFG_COMMAND, 2, CMD_IO | CMD_MASTER);
	cf8_rd(&s, 1 << 3 | 1, 0x40);
	ide_taskfile(&s, SEC, 0xa0, 0xa1, 0, 0, 0);
	rep_in(&s, SEC, 2, 256);
	ide_packet(&s, inquiry, 36);
	ide_packet(&s, sense, 18);
	ide_packet(&s, read10, 2048);
	ide_bm_setup(&s, 1, I_DATA, 2048, true);
	out(&s, SEC + 6, 1, 0);
	out(&s, SEC + 1, 1, 1);                                    /* DMA */
	out(&s, SEC + 7, 1, 0xa0);
	for (unsigned int i = 0; i < 12; i += 2)
		out(&s, SEC, 2, (uint16_t)(read10[i] | read10[i + 1] << 8));
	ide_bm_start(&s, 1, true);
	ret |= seed_write(&s, dir, "ide-atapi");

	/* The CD driver's probe commands by PIO (with and without a disc), and
	 * SET FEATURES and READ LOG EXT on the disk. */
	for (uint8_t flags = 0; flags <= FFLAG_NO_MEDIA; flags += FFLAG_NO_MEDIA) {
		seed_begin(&s, flags);
		cfg_wr(&s, CFG_COMMAND, 2, CMD_IO | CMD_MASTER);
		for (unsigned int i = 0; i < NR_MMC_PROBE; i++)
			ide_packet(&s, mmc_probe[i], 512);
		ide_taskfile(&s, PRI, 0xe0, 0xef, 0, 0x45, 0x03);  /* UDMA mode 5 */
		ide_taskfile(&s, PRI, 0xe0, 0xef, 0, 0, 0x82);     /* write cache off */
		ide_taskfile(&s, PRI, 0x40, 0x2f, 0, 1, 0);        /* READ LOG EXT 0 */
		rep_in(&s, PRI, 2, 256);
		ret |= seed_write(&s, dir, flags ? "ide-atapi-probe-empty" : "ide-atapi-probe");
	}

	/* Resets: SRST during a DMA, DEVICE RESET on the CD, bus master stop, machine reset. */
	seed_begin(&s, 0);
	cfg_wr(&s, CFG_COMMAND, 2, CMD_IO | CMD_MASTER);
	ide_bm_setup(&s, 0, I_DATA, 65535, true);
	ide_taskfile(&s, PRI, 0xe0, 0xc8, 0, 128, 0);
	op(&s, FOP_ASYNC);
	put(&s, 1, 1);
	bar_wr(&s, BMIBA, 0, 1, 0x09);
	out(&s, PRI_CTL, 1, 0x04);                                 /* SRST */
	out(&s, PRI_CTL, 1, 0x00);
	op(&s, FOP_DRAIN);
	ide_taskfile(&s, SEC, 0xa0, 0x08, 0, 0, 0);                /* DEVICE RESET */
	out(&s, SEC_CTL, 1, 0x02);                                 /* nIEN */
	ide_taskfile(&s, SEC, 0xa0, 0x90, 0, 0, 0);                /* EXECUTE DIAGNOSTIC */
	op(&s, FOP_SAVE_LOAD);
	cfg_rd(&s, 0x40, 2);
	cfg_wr(&s, 0x40, 2, 0x0000);                               /* primary decode off */
	in(&s, PRI + 7, 1);
	op(&s, FOP_RESET);
	ide_taskfile(&s, PRI, 0xe0, 0x20, 0, 1, 0);
	rep_in(&s, PRI, 2, 256);
	ret |= seed_write(&s, dir, "ide-resets");

	/* A machine reset while a 64 KiB bus-master read (over 0xff) runs. */
	seed_begin(&s, 0);
	cfg_wr(&s, CFG_COMMAND, 2, CMD_IO | CMD_MASTER);
	fill(&s, I_DATA, 0x10000, 0xff);
	ide_bm_setup(&s, 0, I_DATA, 0, true);                      /* 0 = 64 KiB */
	ide_taskfile(&s, PRI, 0xe0, 0xc8, 0, 128, 0);
	op(&s, FOP_ASYNC);
	put(&s, 2, 1);
	bar_wr(&s, BMIBA, 0, 1, 0x09);
	op(&s, FOP_PAUSE);
	put(&s, 5, 1);
	op(&s, FOP_RESET);
	ret |= seed_write(&s, dir, "ide-reset-inflight");
	return ret;
}

/* ---- virtio-blk over modern virtio-pci (virtio 1.2, 4.1 and 5.2) ---- */

#define VBAR        4                 /* common, ISR, device, notify */
#define MSIX_BAR    1
#define COMMON      0x0000
#define DEVCFG      0x2000
#define NOTIFY      0x3000
#define NOTIFY_MULT 4
#define C_DFSEL     0x00
#define C_DF        0x04
#define C_GFSEL     0x08
#define C_GF        0x0c
#define C_MSIX      0x10
#define C_STATUS    0x14
#define C_QSEL      0x16
#define C_QSIZE     0x18
#define C_QMSIX     0x1a
#define C_QENABLE   0x1c
#define C_QNOTIFY   0x1e
#define C_QDESC     0x20
#define C_QDRIVER   0x28
#define C_QDEVICE   0x30
/*
 * Where virtio_pci.c puts its capabilities today (common, ISR, device,
 * notify, PCI_CFG, then MSI-X, from 0x40 on).  If that moves, the seeds
 * still run, only less deep until the fuzzer finds the new place.
 */
#define PCI_CFG_CAP 0x84
#define MSIX_CAP    0x98
#define QSIZE       16
#define RING(q)     (0x10000u + (q) * 0x4000u)
#define V_HDR       0x100000u
#define V_STATUS    0x100800u
#define V_DATA      0x110000u
#define V_BIG       0x20000u          /* 512 KiB free up to 0xa0000 */
#define V_INDIRECT  0x180000u
/* SIZE_MAX, SEG_MAX, BLK_SIZE, FLUSH, MQ, WRITE_ZEROES (5.2.3), INDIRECT_DESC (6) */
#define F_LOW       ((1u << 1) | (1u << 2) | (1u << 6) | (1u << 9) | (1u << 12) | (1u << 14) | \
		     (1u << 28))
#define F_EVENT_IDX (1u << 29)
#define DESC_NEXT   1
#define DESC_WRITE  2
#define DESC_INDIR  4

struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

/* Bring-up (3.1.1) with @nq queues, the driver taking the low feature word @low. */
static void vio_start_features(struct seed *s, unsigned int nq, bool msix, uint32_t low)
{
	cf8_rd(s, 2 << 3, 0);
	cf8_rd(s, 2 << 3, 0x34);                                   /* capability list */
	cfg_wr(s, CFG_COMMAND, 2, CMD_MEMORY | CMD_MASTER);
	bar_wr(s, VBAR, COMMON + C_STATUS, 1, 0);
	bar_wr(s, VBAR, COMMON + C_STATUS, 1, 1);
	bar_wr(s, VBAR, COMMON + C_STATUS, 1, 3);
	bar_wr(s, VBAR, COMMON + C_DFSEL, 4, 0);
	bar_rd(s, VBAR, COMMON + C_DF, 4);
	bar_wr(s, VBAR, COMMON + C_GFSEL, 4, 0);
	bar_wr(s, VBAR, COMMON + C_GF, 4, low);
	bar_wr(s, VBAR, COMMON + C_GFSEL, 4, 1);
	bar_wr(s, VBAR, COMMON + C_GF, 4, 1);                      /* VERSION_1 */
	bar_wr(s, VBAR, COMMON + C_STATUS, 1, 0xb);
	bar_rd(s, VBAR, COMMON + C_STATUS, 1);
	if (msix) {
		/* Vector 0 for config, q+1 for queue q; MSI-X on (PCI 3.0 6.8.2). */
		for (unsigned int v = 0; v <= nq; v++) {
			bar_wr(s, MSIX_BAR, 16 * v, 4, 0xfee00000u);
			bar_wr(s, MSIX_BAR, 16 * v + 8, 4, 0x4000u + v);
			bar_wr(s, MSIX_BAR, 16 * v + 12, 4, 0);
		}
		bar_wr(s, VBAR, COMMON + C_MSIX, 2, 0);
		cfg_wr(s, MSIX_CAP + 2, 2, 0x8000);
	}
	for (unsigned int q = 0; q < nq; q++) {
		fill(s, RING(q), 0x4000, 0);
		bar_wr(s, VBAR, COMMON + C_QSEL, 2, q);
		bar_wr(s, VBAR, COMMON + C_QSIZE, 2, QSIZE);
		bar_wr(s, VBAR, COMMON + C_QDESC, 8, RING(q));
		bar_wr(s, VBAR, COMMON + C_QDRIVER, 8, RING(q) + 0x1000);
		bar_wr(s, VBAR, COMMON + C_QDEVICE, 8, RING(q) + 0x2000);
		if (msix)
			bar_wr(s, VBAR, COMMON + C_QMSIX, 2, q + 1);
		bar_rd(s, VBAR, COMMON + C_QNOTIFY, 2);
		bar_wr(s, VBAR, COMMON + C_QENABLE, 2, 1);
	}
	bar_wr(s, VBAR, COMMON + C_STATUS, 1, 0xf);
	bar_rd(s, VBAR, DEVCFG, 8);
}

static void vio_start(struct seed *s, unsigned int nq, bool msix, uint32_t more_features)
{
	vio_start_features(s, nq, msix, F_LOW | more_features);
}

/*
 * Request @slot on queue @q: header (type, sector), descriptors from
 * @d (head at index @slot * 4), avail ring entry @avail, notify.
 */
static void vio_req(struct seed *s, unsigned int q, uint16_t avail, uint32_t type,
		    uint64_t sector, const struct vdesc *d, unsigned int nd, uint16_t head)
{
	uint8_t hdr[16] = { 0 };
	uint16_t ent[2] = { head, (uint16_t)(avail + 1) };

	memcpy(hdr, &type, 4);
	memcpy(hdr + 8, &sector, 8);
	ram(s, V_HDR + head * 16u, hdr, sizeof(hdr));
	for (unsigned int i = 0; i < nd; i++)
		ram(s, RING(q) + (head + i) * 16u, &d[i], sizeof(d[i]));
	ram(s, RING(q) + 0x1000 + 4 + 2u * (avail % QSIZE), &ent[0], 2);
	ram(s, RING(q) + 0x1000 + 2, &ent[1], 2);                  /* avail idx */
	bar_wr(s, VBAR, NOTIFY + q * NOTIFY_MULT, 2, q);
	bar_rd(s, VBAR, COMMON + C_STATUS, 1);
}

/* A header, optional data and a status descriptor as one chain at @head. */
static void vio_simple(struct seed *s, unsigned int q, uint16_t avail, uint32_t type,
		       uint64_t sector, uint32_t data, uint32_t len, bool to_dev, uint16_t head)
{
	struct vdesc d[3];
	unsigned int n = 0;

	d[n++] = (struct vdesc){ V_HDR + head * 16u, 16, DESC_NEXT, (uint16_t)(head + 1) };
	if (len)
		d[n++] = (struct vdesc){ data, len, (uint16_t)(DESC_NEXT | (to_dev ? 0 : DESC_WRITE)),
					 (uint16_t)(head + 2) };
	d[n++] = (struct vdesc){ V_STATUS + head, 1, DESC_WRITE, 0 };
	if (n == 2)
		d[0].next = (uint16_t)(head + 1);
	vio_req(s, q, avail, type, sector, d, n, head);
}

static int seeds_virtio(const char *dir)
{
	struct seed s;
	int ret = 0;

	/* Raw, qcow2, and raw with ioeventfds and irqfds. */
	static const uint8_t variants[] = { 0, FFLAG_QCOW2, FFLAG_LOOP };
	static const char *const suffix[] = { "", "-qcow2", "-loop" };

	for (unsigned int i = 0; i < sizeof(variants); i++) {
		uint8_t flags = variants[i];
		char name[64];

		/* IN, OUT, IN again, FLUSH, GET_ID on queue 0, INTx. */
		seed_begin(&s, flags);
		vio_start(&s, 1, false, 0);
		vio_simple(&s, 0, 0, 0, 0, V_DATA, 4096, false, 0);
		fill(&s, V_DATA + 0x1000, 4096, 0x77);
		vio_simple(&s, 0, 1, 1, 8, V_DATA + 0x1000, 4096, true, 4);
		vio_simple(&s, 0, 2, 0, 8, V_DATA + 0x2000, 4096, false, 8);
		vio_simple(&s, 0, 3, 4, 0, 0, 0, false, 12);
		vio_simple(&s, 0, 4, 8, 0, V_DATA + 0x3000, 20, false, 13);
		bar_rd(&s, VBAR, 0x1000, 1);                           /* ISR */
		snprintf(name, sizeof(name), "vblk-rw%s", suffix[i]);
		ret |= seed_write(&s, dir, name);

		/* WRITE ZEROES and DISCARD segments (5.2.6), two queues, MSI-X. */
		seed_begin(&s, flags);
		vio_start(&s, 2, true, F_EVENT_IDX);
		{
			uint64_t seg[2] = { 4, 16 };   /* sector; num_sectors, flags */

			ram(&s, V_DATA, seg, sizeof(seg));
		}
		vio_simple(&s, 1, 0, 13, 0, V_DATA, 16, true, 0);
		vio_simple(&s, 0, 0, 11, 0, V_DATA, 16, true, 4);
		vio_simple(&s, 1, 1, 0, 0, V_DATA + 0x1000, 8192, false, 8);
		/* The PCI_CFG window (4.1.4.9): device status through config space. */
		cfg_wr(&s, PCI_CFG_CAP + 4, 1, VBAR);
		cfg_wr(&s, PCI_CFG_CAP + 8, 4, COMMON + C_STATUS);
		cfg_wr(&s, PCI_CFG_CAP + 12, 4, 1);
		cfg_rd(&s, PCI_CFG_CAP + 16, 1);
		snprintf(name, sizeof(name), "vblk-mq%s", suffix[i]);
		ret |= seed_write(&s, dir, name);
	}

	/* An indirect table (2.7.5.3) with a scattered read, then a device reset mid-queue. */
	seed_begin(&s, 0);
	vio_start(&s, 1, false, 0);
	{
		struct vdesc ind[4] = {
			{ V_HDR, 16, DESC_NEXT, 1 },
			{ V_DATA, 512, DESC_NEXT | DESC_WRITE, 2 },
			{ V_DATA + 0x3000, 1536, DESC_NEXT | DESC_WRITE, 3 },
			{ V_STATUS, 1, DESC_WRITE, 0 },
		};
		struct vdesc d = { V_INDIRECT, sizeof(ind), DESC_INDIR, 0 };
		uint8_t hdr[16] = { 0 };

		ram(&s, V_INDIRECT, ind, sizeof(ind));
		ram(&s, V_HDR, hdr, sizeof(hdr));
		ram(&s, RING(0), &d, sizeof(d));
		ram32(&s, RING(0) + 0x1000, 1u << 16);                 /* flags 0, idx 1 */
		bar_wr(&s, VBAR, NOTIFY, 2, 0);
	}
	vio_simple(&s, 0, 1, 0, 100, V_DATA + 0x8000, 65536, false, 4);
	op(&s, FOP_SAVE_LOAD);
	op(&s, FOP_ASYNC);
	put(&s, 1, 1);
	vio_simple(&s, 0, 2, 0, 0, V_DATA, 65536, false, 8);
	bar_wr(&s, VBAR, COMMON + C_STATUS, 1, 0);                 /* device reset */
	op(&s, FOP_RESET);
	vio_start(&s, 1, false, 0);
	vio_simple(&s, 0, 0, 0, 0, V_DATA, 512, false, 0);
	ret |= seed_write(&s, dir, "vblk-indirect-reset");

	/* A machine reset while a 512 KiB read (over 0xff) runs: the 8 steps
	 * of the request, a pause and the reset are not waited for. */
	seed_begin(&s, 0);
	vio_start(&s, 1, false, 0);
	fill(&s, V_BIG, 0x80000, 0xff);
	op(&s, FOP_ASYNC);
	put(&s, 9, 1);
	vio_simple(&s, 0, 0, 0, 0, V_BIG, 0x80000, false, 0);
	op(&s, FOP_PAUSE);
	put(&s, 5, 1);
	op(&s, FOP_RESET);
	ret |= seed_write(&s, dir, "vblk-reset-inflight");
	return ret;
}

/* ---- virtio-net (virtio 1.2, 5.1): receiveq1, transmitq1, controlq ---- */

/* CSUM, MAC, HOST_TSO4/6, HOST_ECN, MRG_RXBUF, STATUS, CTRL_VQ, CTRL_RX, CTRL_RX_EXTRA,
 * CTRL_MAC_ADDR (5.1.3), INDIRECT_DESC (6) */
#define N_FEATURES  ((1u << 0) | (1u << 5) | (1u << 11) | (1u << 12) | (1u << 13) | (1u << 15) | \
		     (1u << 16) | (1u << 17) | (1u << 18) | (1u << 20) | (1u << 23) | (1u << 28))
#define N_MRG_RXBUF (1u << 15)
#define N_RX_BUF    0x40000u          /* receive buffers, 0x800 apart */
#define N_TX_BUF    0x60000u          /* transmit chains, 0x4000 apart */
#define N_CTRL_BUF  0x80000u
#define N_HDR_LEN   12

static const uint8_t n_mac[6] = { 0x08, 0x00, 0x27, 0x12, 0x34, 0x56 };

/* Publish descriptors @d (at @first on) as entry @avail of queue @q, and notify. */
static void vnet_chain(struct seed *s, unsigned int q, uint16_t avail, uint16_t first,
		       const struct vdesc *d, unsigned int nd)
{
	uint16_t ent[2] = { first, (uint16_t)(avail + 1) };

	for (unsigned int i = 0; i < nd; i++)
		ram(s, RING(q) + (first + i) * 16u, &d[i], sizeof(d[i]));
	ram(s, RING(q) + 0x1000 + 4 + 2u * (avail % QSIZE), &ent[0], 2);
	ram(s, RING(q) + 0x1000 + 2, &ent[1], 2);
	bar_wr(s, VBAR, NOTIFY + q * NOTIFY_MULT, 2, q);
}

/* @n receive buffers of @len bytes from avail entry @avail on. */
static void vnet_rx_post(struct seed *s, uint16_t avail, unsigned int n, uint32_t len)
{
	for (unsigned int i = 0; i < n; i++) {
		uint16_t k = (uint16_t)(avail + i);
		struct vdesc d = { N_RX_BUF + (k % QSIZE) * 0x800u, len, DESC_WRITE, 0 };

		vnet_chain(s, 0, k, (uint16_t)(k % QSIZE), &d, 1);
	}
}

/* A TCP/IPv4 frame of @payload bytes from the NIC to the gateway, at @gpa. */
static uint16_t vnet_tcp_frame(struct seed *s, uint32_t gpa, uint16_t payload)
{
	uint8_t f[14 + 20 + 20] = {
		0x52, 0x55, 0x0a, 0x00, 0x02, 0x02, 0x08, 0x00, 0x27, 0x12, 0x34, 0x56, 0x08, 0x00,
		0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0, 10, 0, 2, 15, 10, 0, 2, 2,
		0x9c, 0x40, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 1, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0,
	};

	f[16] = (uint8_t)((40 + payload) >> 8);
	f[17] = (uint8_t)(40 + payload);
	ram(s, gpa, f, sizeof(f));
	fill(s, gpa + sizeof(f), payload, 0x5a);
	return (uint16_t)(sizeof(f) + payload);
}

/* Transmit: header at @gpa, frame after it, as two descriptors, entry @avail. */
static void vnet_tx(struct seed *s, uint16_t avail, uint8_t flags, uint8_t gso, uint16_t gso_size,
		    uint16_t csum_start, uint16_t csum_off, uint16_t frame_len)
{
	uint32_t gpa = N_TX_BUF + (avail % 8u) * 0x4000u;
	uint8_t hdr[N_HDR_LEN] = { flags, gso, 54, 0, (uint8_t)gso_size, (uint8_t)(gso_size >> 8),
				   (uint8_t)csum_start, (uint8_t)(csum_start >> 8),
				   (uint8_t)csum_off, (uint8_t)(csum_off >> 8), 0, 0 };
	struct vdesc d[2] = {
		{ gpa, N_HDR_LEN, DESC_NEXT, (uint16_t)((avail * 2 + 1) % QSIZE) },
		{ gpa + N_HDR_LEN, frame_len, 0, 0 },
	};

	ram(s, gpa, hdr, sizeof(hdr));
	vnet_chain(s, 1, avail, (uint16_t)((avail * 2) % QSIZE), d, 2);
}

/* A control command: class, command, @len bytes of data, the ack byte. */
static void vnet_ctrl(struct seed *s, uint16_t avail, uint8_t cls, uint8_t cmd, const void *data,
		      uint16_t len)
{
	uint32_t gpa = N_CTRL_BUF + (avail % 8u) * 0x400u;
	uint8_t cc[2] = { cls, cmd };
	struct vdesc d[3] = {
		{ gpa, 2, DESC_NEXT, (uint16_t)((avail * 3 + 1) % QSIZE) },
		{ gpa + 0x10, len, DESC_NEXT, (uint16_t)((avail * 3 + 2) % QSIZE) },
		{ gpa + 0x3ff, 1, DESC_WRITE, 0 },
	};

	ram(s, gpa, cc, 2);
	ram(s, gpa + 0x10, data, len);
	vnet_chain(s, 2, avail, (uint16_t)((avail * 3) % QSIZE), d, 3);
}

/* A frame from the host for the NIC (delivered by the next FOP_PAUSE). */
static void vnet_host_frame(struct seed *s, const uint8_t *dst, uint16_t len)
{
	uint8_t hdr[2 + 14] = { (uint8_t)len, (uint8_t)(len >> 8) };

	memcpy(hdr + 2, dst, 6);
	memcpy(hdr + 8, "\x52\x55\x0a\x00\x02\x02\x08\x00", 8);
	ram(s, FUZZ_NET_LEN_GPA, hdr, sizeof(hdr));
	fill(s, FUZZ_NET_FRAME_GPA + 14, len > 14 ? len - 14u : 0, 0x3c);
}

static int seeds_virtio_net(const char *dir)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t other[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
	static const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
	struct seed s;
	int ret = 0;
	static const uint8_t variants[] = { 0, FFLAG_LOOP };
	static const char *const suffix[] = { "", "-loop" };

	for (unsigned int i = 0; i < sizeof(variants); i++) {
		char name[64];
		uint16_t len;

		/* Linux's bring-up: rx mode and MAC table, buffers, then traffic both ways. */
		seed_begin(&s, variants[i]);
		vio_start_features(&s, 3, true, N_FEATURES | F_EVENT_IDX);
		bar_rd(&s, VBAR, DEVCFG + 6, 2);                         /* link status */
		vnet_ctrl(&s, 0, 0, 0, "\0", 1);                       /* promiscuous off */
		vnet_ctrl(&s, 1, 0, 1, "\0", 1);                       /* all-multicast off */
		{
			uint8_t table[4 + 6 + 4 + 6] = { 1, 0, 0, 0 };

			memcpy(table + 4, other, 6);
			table[10] = 1;
			memcpy(table + 14, mcast, 6);
			vnet_ctrl(&s, 2, 1, 0, table, sizeof(table));
		}
		vnet_rx_post(&s, 0, 8, 1536);
		len = vnet_tcp_frame(&s, N_TX_BUF + N_HDR_LEN, 1000);
		vnet_tx(&s, 0, 1, 0, 0, 34, 16, len);                 /* NEEDS_CSUM */
		len = vnet_tcp_frame(&s, N_TX_BUF + 0x4000 + N_HDR_LEN, 6000);
		vnet_tx(&s, 1, 1, 1, 1448, 34, 16, len);              /* TSO4 */
		vnet_host_frame(&s, n_mac, 3000);                      /* over two buffers */
		op(&s, FOP_PAUSE);
		put(&s, 1, 1);
		vnet_host_frame(&s, bcast, 60);
		op(&s, FOP_PAUSE);
		put(&s, 3, 1);
		vnet_host_frame(&s, other, 200);
		op(&s, FOP_PAUSE);
		put(&s, 0x80, 1);                                      /* cable out */
		bar_rd(&s, VBAR, DEVCFG + 6, 2);
		op(&s, FOP_PAUSE);
		put(&s, 0x81, 1);                                      /* and back */
		bar_rd(&s, VBAR, 0x1000, 1);                           /* ISR */
		op(&s, FOP_SAVE_LOAD);
		vnet_rx_post(&s, 8, 4, 1536);
		op(&s, FOP_PAUSE);
		put(&s, 2, 1);
		snprintf(name, sizeof(name), "vnet-traffic%s", suffix[i]);
		ret |= seed_write(&s, dir, name);
	}

	/* Without MRG_RXBUF, INTx: small buffers, frames that do not fit; MAC address set. */
	seed_begin(&s, 0);
	vio_start_features(&s, 3, false, N_FEATURES & ~N_MRG_RXBUF);
	vnet_ctrl(&s, 0, 1, 1, "\x02\x00\x00\x00\x00\x07", 6);
	vnet_rx_post(&s, 0, 4, 200);
	vnet_host_frame(&s, bcast, 500);
	op(&s, FOP_PAUSE);
	put(&s, 0, 1);
	vnet_host_frame(&s, bcast, 100);
	op(&s, FOP_PAUSE);
	put(&s, 1, 1);
	bar_rd(&s, VBAR, 0x1000, 1);
	vnet_tx(&s, 0, 0, 0, 0, 0, 0, vnet_tcp_frame(&s, N_TX_BUF + N_HDR_LEN, 64));
	ret |= seed_write(&s, dir, "vnet-nomrg-intx");

	/* Frames waiting for buffers and TX work left, then a device reset and a machine reset. */
	seed_begin(&s, FFLAG_LOOP);
	vio_start_features(&s, 3, true, N_FEATURES);
	vnet_host_frame(&s, n_mac, 1000);
	op(&s, FOP_PAUSE);
	put(&s, 3, 1);
	op(&s, FOP_ASYNC);
	put(&s, 1, 1);
	vnet_tx(&s, 0, 1, 1, 100, 34, 16, vnet_tcp_frame(&s, N_TX_BUF + N_HDR_LEN, 8000));
	bar_wr(&s, VBAR, COMMON + C_STATUS, 1, 0);
	vio_start_features(&s, 3, true, N_FEATURES);
	vnet_rx_post(&s, 0, 2, 1536);
	op(&s, FOP_PAUSE);
	put(&s, 1, 1);
	op(&s, FOP_RESET);
	vio_start_features(&s, 3, true, N_FEATURES);
	vnet_rx_post(&s, 0, 2, 1536);
	op(&s, FOP_PAUSE);
	put(&s, 1, 1);
	ret |= seed_write(&s, dir, "vnet-reset");
	return ret;
}

/* ---- RTC (MC146818A): its ports 0x70/0x71 are BAR 0's offsets 0 and 1 ---- */

static void rtc_wr(struct seed *s, uint8_t reg, uint8_t v)
{
	bar_wr(s, 0, 0, 1, reg);
	bar_wr(s, 0, 1, 1, v);
}

static void rtc_rd(struct seed *s, uint8_t reg)
{
	bar_wr(s, 0, 0, 1, reg);
	bar_rd(s, 0, 1, 1);
}

/* Let @ms of virtual time pass (FOP_PAUSE, at most 255 units each). */
static void wait_virtual_ms(struct seed *s, unsigned int ms)
{
	while (ms) {
		unsigned int n = ms > 255 ? 255 : ms;

		op(s, FOP_PAUSE);
		put(s, n, 1);
		ms -= n;
	}
}

/* The guest's interrupt handler: read register C a few times over @ms. */
static void rtc_serve(struct seed *s, unsigned int ms, unsigned int times)
{
	for (unsigned int i = 0; i < times; i++) {
		wait_virtual_ms(s, ms / times);
		rtc_rd(s, 0x0c);
	}
}

static int seeds_rtc(const char *dir)
{
	static const uint8_t set_time[][2] = {
		{ 0x00, 0x58 }, { 0x02, 0x59 }, { 0x04, 0x23 }, { 0x07, 0x31 },
		{ 0x08, 0x12 }, { 0x09, 0x99 }, { 0x32, 0x19 },
	};
	struct seed s;
	int ret = 0;

	/* Set the time the way Linux does (SET, the fields, SET off), then
	 * update-ended interrupts and the time read back. */
	seed_begin(&s, 0);
	rtc_wr(&s, 0x0b, 0x82);
	for (unsigned int i = 0; i < sizeof(set_time) / sizeof(set_time[0]); i++)
		rtc_wr(&s, set_time[i][0], set_time[i][1]);
	rtc_wr(&s, 0x0b, 0x12);
	rtc_serve(&s, 3000, 6);
	for (uint8_t r = 0; r <= 0x0d; r++)
		rtc_rd(&s, r);
	rtc_rd(&s, 0x32);
	ret |= seed_write(&s, dir, "rtc-set-uie");
	/* Periodic interrupts at every rate, served. */
	seed_begin(&s, 0);
	rtc_wr(&s, 0x0b, 0x42);
	for (uint8_t rs = 1; rs <= 15; rs++) {
		rtc_wr(&s, 0x0a, (uint8_t)(0x20 | rs));
		rtc_serve(&s, 20, 4);
	}
	ret |= seed_write(&s, dir, "rtc-pie-rates");
	/* Alarms: fixed, don't care, binary 12-hour. */
	seed_begin(&s, 0);
	rtc_wr(&s, 0x01, 0xc0);
	rtc_wr(&s, 0x03, 0xff);
	rtc_wr(&s, 0x05, 0xc0);
	rtc_wr(&s, 0x0b, 0x22);
	rtc_serve(&s, 2000, 4);
	rtc_wr(&s, 0x0b, 0x24);
	rtc_wr(&s, 0x01, 30);
	rtc_wr(&s, 0x03, 0);
	rtc_wr(&s, 0x05, 0x81);
	rtc_serve(&s, 1000, 2);
	ret |= seed_write(&s, dir, "rtc-alarm");
	/* The divider: reset, off, on; save/load mid-period; a device reset
	 * with every interrupt enabled. */
	seed_begin(&s, 0);
	rtc_wr(&s, 0x0b, 0x72);
	rtc_wr(&s, 0x0a, 0x76);
	rtc_serve(&s, 1000, 2);
	rtc_wr(&s, 0x0a, 0x06);
	wait_virtual_ms(&s, 300);
	rtc_wr(&s, 0x0a, 0x2f);
	wait_virtual_ms(&s, 250);
	op(&s, FOP_SAVE_LOAD);
	rtc_serve(&s, 1500, 3);
	op(&s, FOP_RESET);
	wait_virtual_ms(&s, 1000);
	rtc_rd(&s, 0x0c);
	ret |= seed_write(&s, dir, "rtc-divider-reset");
	return ret;
}

/* The 16550 UART at COM1: Linux's set-up, output past the buffer and the stall limit, input. */
#define COM1 0x3f8

static void uart_linux_setup(struct seed *s)
{
	out(s, COM1 + 3, 1, 0x83);          /* LCR: DLAB, 8N1 */
	out(s, COM1 + 0, 1, 0x01);          /* 115200 baud */
	out(s, COM1 + 1, 1, 0x00);
	out(s, COM1 + 3, 1, 0x03);
	out(s, COM1 + 2, 1, 0xc7);          /* FIFOs on and cleared, trigger 14 */
	out(s, COM1 + 4, 1, 0x0b);          /* DTR, RTS, OUT2 */
	out(s, COM1 + 1, 1, 0x07);          /* IER: RDI, THRI, RLSI */
	in(s, COM1 + 2, 1);
	in(s, COM1 + 5, 1);
}

static int seeds_uart(const char *dir)
{
	static const uint8_t flag_sets[] = { 0, FFLAG_UART_READER, FFLAG_UART_EOF,
					     FFLAG_UART_READER | FFLAG_UART_EOF };
	struct seed s;
	int ret = 0;

	for (size_t i = 0; i < sizeof(flag_sets); i++) {
		char name[32];

		/* Fill the 64 KiB buffer, wait past the 1 s stall limit, write on, read input. */
		seed_begin(&s, flag_sets[i]);
		uart_linux_setup(&s);
		for (unsigned int k = 0; k < 17; k++) {
			rep_out(&s, COM1, 1, 4096, 'a' + k);
			in(&s, COM1 + 5, 1);
		}
		in(&s, COM1 + 2, 1);
		wait_virtual_ms(&s, 1100);          /* past the 1 s stall limit */
		in(&s, COM1 + 5, 1);
		in(&s, COM1 + 2, 1);
		rep_out(&s, COM1, 1, 100, 'z');
		rep_in(&s, COM1, 1, 32);
		op(&s, FOP_SAVE_LOAD);
		op(&s, FOP_RESET);
		in(&s, COM1 + 5, 1);
		snprintf(name, sizeof(name), "uart-stall-%u", flag_sets[i]);
		ret |= seed_write(&s, dir, name);

		/* Loopback, FIFOs toggled, modem status, the divisor latch. */
		seed_begin(&s, flag_sets[i]);
		uart_linux_setup(&s);
		out(&s, COM1 + 4, 1, 0x1f);
		rep_out(&s, COM1, 1, 20, 'L');
		in(&s, COM1 + 6, 1);
		out(&s, COM1 + 2, 1, 0x00);
		out(&s, COM1 + 4, 1, 0x08);
		rep_in(&s, COM1, 1, 20);
		out(&s, COM1 + 2, 1, 0x01);
		in(&s, COM1 + 5, 1);
		snprintf(name, sizeof(name), "uart-loop-%u", flag_sets[i]);
		ret |= seed_write(&s, dir, name);
	}
	return ret;
}

/* ---- fw_cfg: selector/data at BAR offsets 0/1, the DMA address at 4 (high) and 8 (low) ---- */

#define FWC_ACCESS 0x1000u    /* where the seeds put the DMA control structure */
#define FWC_BUF    0x2000u

static void fwc_select(struct seed *s, uint16_t key)
{
	bar_wr(s, 0, 0, 2, key);
}

static uint32_t bswap32_(uint32_t v)
{
	return (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u) | (v << 24);
}

/* A DMA request {control, length, address} at @at, and the two outl that start it. */
static void fwc_dma_at(struct seed *s, uint32_t at, uint32_t control, uint32_t length,
		       uint64_t addr)
{
	ram32(s, at, bswap32_(control));
	ram32(s, at + 4, bswap32_(length));
	ram32(s, at + 8, bswap32_((uint32_t)(addr >> 32)));
	ram32(s, at + 12, bswap32_((uint32_t)addr));
	bar_wr(s, 0, 4, 4, bswap32_(0));
	bar_wr(s, 0, 8, 4, bswap32_(at));
}

static void fwc_dma(struct seed *s, uint32_t control, uint32_t length, uint64_t addr)
{
	fwc_dma_at(s, FWC_ACCESS, control, length, addr);
}

static int seeds_fw_cfg(const char *dir)
{
	struct seed s;
	int ret = 0;

	/* SeaBIOS's probe through the ports: signature, ID, the directory, a file. */
	seed_begin(&s, 0);
	fwc_select(&s, 0x0000);
	for (int i = 0; i < 4; i++)
		bar_rd(&s, 0, 1, 1);
	fwc_select(&s, 0x0001);
	bar_rd(&s, 0, 1, 1);
	bar_rd(&s, 0, 4, 4);
	bar_rd(&s, 0, 8, 4);
	fwc_select(&s, 0x0019);
	rep_in(&s, 0x511, 1, 4 + 3 * 64 + 8);
	fwc_select(&s, 0x0020);
	rep_in(&s, 0x511, 1, 8);
	fwc_select(&s, 0x0003);
	rep_in(&s, 0x511, 1, 8);
	ret |= seed_write(&s, dir, "fwcfg-ports");

	/* DMA as SeaBIOS does it: the directory, then files read and skipped. */
	seed_begin(&s, 0);
	fwc_dma(&s, 0x0019u << 16 | 0x08 | 0x02, 4, FWC_BUF);
	fwc_dma(&s, 0x02, 3 * 64, FWC_BUF + 4);
	fwc_dma(&s, 0x0022u << 16 | 0x08 | 0x02, 100, FWC_BUF);
	fwc_dma(&s, 0x04, 4000, 0);
	fwc_dma(&s, 0x02, 3000, FWC_BUF);
	fwc_dma(&s, 0x0021u << 16 | 0x08 | 0x02, 16, FWC_BUF);
	op(&s, FOP_SAVE_LOAD);
	fwc_dma(&s, 0x0020u << 16 | 0x08 | 0x02, 16, FWC_BUF);
	ret |= seed_write(&s, dir, "fwcfg-dma");

	/* Malformed: writes, huge lengths, addresses outside RAM, a control
	 * structure at the end of RAM, unknown keys, a reset mid-item. */
	seed_begin(&s, 0);
	fwc_dma(&s, 0x0020u << 16 | 0x08 | 0x10, 4, FWC_BUF);
	fwc_dma(&s, 0x0022u << 16 | 0x08 | 0x02, 0xffffffffu, FWC_BUF);
	fwc_dma(&s, 0x0022u << 16 | 0x08 | 0x04, 0xffffffffu, 0);
	fwc_dma(&s, 0x02, 64, FWC_BUF);
	fwc_dma(&s, 0x0022u << 16 | 0x08 | 0x02, 64, FUZZ_RAM_SIZE - 8);
	fwc_dma(&s, 0x0022u << 16 | 0x08 | 0x02, 64, 0xfffffffffffffff0ull);
	fwc_dma(&s, 0x3fffu << 16 | 0x08 | 0x02, 64, FWC_BUF);
	fwc_dma(&s, 0xc020u << 16 | 0x08 | 0x02, 64, FWC_BUF);
	fwc_dma_at(&s, FUZZ_RAM_SIZE - 8, 0x0a, 4, FWC_BUF);
	fwc_select(&s, 0x0022);
	rep_in(&s, 0x511, 1, 10);
	bar_wr(&s, 0, 4, 4, bswap32_(1));
	op(&s, FOP_RESET);
	bar_wr(&s, 0, 8, 4, bswap32_(FWC_ACCESS));
	bar_rd(&s, 0, 1, 1);
	ret |= seed_write(&s, dir, "fwcfg-malformed");
	return ret;
}


/*
 * The VGA: what SeaBIOS's VGA BIOS and Linux's vgacon and bochs DRM do -
 * text mode with a font loaded into plane 2, mode 13h, a planar mode
 * drawn with every write mode, VBE modes through the DISPI ports and
 * BAR2, the LFB written through BAR0, the banked window; a frontend
 * reads the screen at each pause.  The harness's BAR numbers: 0 the VRAM
 * (played as guest stores), 2 the MMIO block, 3 the 0xA0000 window.
 */
#define VGA_WINDOW_BAR 3
#define VGA_LFB_BAR    0
#define VGA_MMIO_BAR   2

static void vga_seq(struct seed *s, uint8_t i, uint8_t v)
{
	out(s, 0x3c4, 2, (uint32_t)v << 8 | i);
}

static void vga_gr(struct seed *s, uint8_t i, uint8_t v)
{
	out(s, 0x3ce, 2, (uint32_t)v << 8 | i);
}

static void vga_cr(struct seed *s, uint8_t i, uint8_t v)
{
	out(s, 0x3d4, 2, (uint32_t)v << 8 | i);
}

static void vga_ar(struct seed *s, uint8_t i, uint8_t v)
{
	in(s, 0x3da, 1);
	out(s, 0x3c0, 1, i);
	out(s, 0x3c0, 1, v);
}

static void vga_dispi(struct seed *s, uint16_t i, uint16_t v)
{
	out(s, 0x1ce, 2, i);
	out(s, 0x1cf, 2, v);
}

static void vga_win(struct seed *s, uint32_t off, unsigned int width, uint64_t v)
{
	bar_wr(s, VGA_WINDOW_BAR, off, width, v);
}

static void vga_common(struct seed *s)
{
	cfg_wr(s, CFG_COMMAND, 2, CMD_IO | CMD_MEMORY);
	out(s, 0x3c2, 1, 0x67);
	vga_cr(s, 0x11, 0x00);
	for (uint8_t i = 0; i < 16; i++)
		vga_ar(s, i, i);
	vga_ar(s, 0x12, 0x0f);
	out(s, 0x3c8, 1, 0);
	for (unsigned int i = 0; i < 16; i++)      /* a grey ramp, then one colour */
		rep_out(s, 0x3c9, 1, 3, i * 4);
	rep_out(s, 0x3c9, 1, 240 * 3, 0x2a);
}

static void vga_show(struct seed *s)
{
	in(s, 0x3da, 1);
	out(s, 0x3c0, 1, 0x20);
	put(s, FOP_PAUSE, 1);
	put(s, 20, 1);
}

static void vga_text(struct seed *s)
{
	/* Font into plane 2. */
	vga_seq(s, 2, 0x04);
	vga_seq(s, 4, 0x06);
	vga_gr(s, 4, 0x02);
	vga_gr(s, 5, 0x00);
	vga_gr(s, 6, 0x04);
	for (unsigned int ch = 0x41; ch < 0x48; ch++)
		for (unsigned int l = 0; l < 16; l += 4)
			vga_win(s, ch * 32 + l, 4, 0x81422418u * (l + 1));
	/* 80x25, 9x16 cells. */
	vga_seq(s, 1, 0x00);
	vga_seq(s, 2, 0x03);
	vga_seq(s, 3, 0x00);
	vga_seq(s, 4, 0x02);
	vga_gr(s, 4, 0x00);
	vga_gr(s, 5, 0x10);
	vga_gr(s, 6, 0x0e);
	vga_cr(s, 0x01, 79);
	vga_cr(s, 0x07, 0x1f);
	vga_cr(s, 0x09, 0x4f);
	vga_cr(s, 0x12, 0x8f);
	vga_cr(s, 0x13, 40);
	vga_cr(s, 0x0a, 0x0d);
	vga_cr(s, 0x0b, 0x0e);
	vga_cr(s, 0x0f, 85);
	vga_ar(s, 0x10, 0x0c);
	for (unsigned int i = 0; i < 160; i += 2)
		vga_win(s, 0x18000 + i, 2, 0x1e41 + (i & 7));
}

static int seeds_vga(const char *dir)
{
	struct seed s;
	int ret = 0;

	seed_begin(&s, 0);
	vga_common(&s);
	vga_text(&s);
	vga_show(&s);
	vga_cr(&s, 0x0c, 0xff);          /* start address near the end of the plane */
	vga_cr(&s, 0x09, 0x1f);          /* 32-line cells */
	vga_show(&s);
	op(&s, FOP_SAVE_LOAD);
	op(&s, FOP_RESET);
	vga_show(&s);
	ret |= seed_write(&s, dir, "vga-text");

	/* Mode 13h: chain-4, 256 colours. */
	seed_begin(&s, 0);
	vga_common(&s);
	vga_seq(&s, 1, 0x01);
	vga_seq(&s, 2, 0x0f);
	vga_seq(&s, 4, 0x0e);
	vga_gr(&s, 5, 0x40);
	vga_gr(&s, 6, 0x05);
	vga_cr(&s, 0x01, 79);
	vga_cr(&s, 0x07, 0x1f);
	vga_cr(&s, 0x09, 0x41);
	vga_cr(&s, 0x12, 0x8f);
	vga_cr(&s, 0x13, 40);
	vga_ar(&s, 0x10, 0x41);
	for (unsigned int i = 0; i < 64; i++)
		vga_win(&s, i * 997, 8, 0x0706050403020100ull + i);
	vga_show(&s);
	ret |= seed_write(&s, dir, "vga-13h");

	/* 640x480x16 planar, every write mode, read mode 1. */
	seed_begin(&s, 0);
	vga_common(&s);
	vga_seq(&s, 1, 0x01);
	vga_seq(&s, 2, 0x0f);
	vga_seq(&s, 4, 0x06);
	vga_gr(&s, 6, 0x05);
	vga_cr(&s, 0x01, 79);
	vga_cr(&s, 0x07, 0x3e);
	vga_cr(&s, 0x09, 0x40);
	vga_cr(&s, 0x12, 0xdf);
	vga_cr(&s, 0x13, 40);
	vga_ar(&s, 0x10, 0x01);
	for (uint8_t mode = 0; mode < 4; mode++) {
		vga_gr(&s, 5, mode);
		vga_gr(&s, 0, (uint8_t)(mode + 5));
		vga_gr(&s, 1, mode == 0 ? 0x03 : 0x00);
		vga_gr(&s, 3, (uint8_t)(mode << 3 | mode));
		vga_gr(&s, 8, (uint8_t)(0xf0 >> mode));
		for (unsigned int y = 0; y < 16; y++) {
			bar_rd(&s, VGA_WINDOW_BAR, y * 80 + mode * 10, 1);
			vga_win(&s, y * 80 + mode * 10, 1, 0x5a + y);
		}
	}
	vga_gr(&s, 5, 0x08);
	vga_gr(&s, 2, 0x05);
	vga_gr(&s, 7, 0x0f);
	bar_rd(&s, VGA_WINDOW_BAR, 80, 4);
	vga_show(&s);
	ret |= seed_write(&s, dir, "vga-planar");

	/* VBE: 512x384x32 with the LFB, panning, a mode too large, 8 bpp banked,
	 * the same through BAR2; reset with a mode set. */
	seed_begin(&s, 0);
	cfg_wr(&s, CFG_COMMAND, 2, CMD_IO | CMD_MEMORY);
	vga_dispi(&s, 4, 0x02);          /* GETCAPS */
	in(&s, 0x1cf, 2);
	vga_dispi(&s, 4, 0x00);
	vga_dispi(&s, 3, 32);
	vga_dispi(&s, 1, 512);
	vga_dispi(&s, 2, 384);
	vga_dispi(&s, 4, 0x41);
	for (unsigned int y = 0; y < 384; y += 37)
		bar_wr(&s, VGA_LFB_BAR, y * 2048 + y * 4, 8, 0x00ff00ff00ffffffull);
	vga_show(&s);
	vga_dispi(&s, 6, 600);
	vga_dispi(&s, 9, 20);
	vga_dispi(&s, 8, 8);
	vga_show(&s);
	vga_dispi(&s, 3, 8);
	vga_dispi(&s, 1, 1024);
	vga_dispi(&s, 2, 768);
	vga_dispi(&s, 4, 0x21);          /* 8-bit DAC, no LFB: the bank window */
	for (uint16_t b = 0; b < 12; b += 3) {
		vga_dispi(&s, 5, b);
		vga_win(&s, b * 100, 8, 0x1122334455667788ull);
	}
	out(&s, 0x3c8, 1, 0x11);
	out(&s, 0x3c9, 1, 0xff);
	out(&s, 0x3c9, 1, 0x80);
	out(&s, 0x3c9, 1, 0x01);
	vga_show(&s);
	bar_wr(&s, VGA_MMIO_BAR, 0x500 + 2 * 4, 2, 0);
	bar_wr(&s, VGA_MMIO_BAR, 0x500 + 2 * 3, 2, 16);
	bar_wr(&s, VGA_MMIO_BAR, 0x500 + 2 * 1, 4, 600u << 16 | 800);
	bar_wr(&s, VGA_MMIO_BAR, 0x500 + 2 * 4, 2, 0xc1);
	bar_wr(&s, VGA_MMIO_BAR, 0x604, 4, 0x1e1e1e1e);
	bar_wr(&s, VGA_MMIO_BAR, 0x400 + 0x14, 2, 0x0f02);
	bar_rd(&s, VGA_MMIO_BAR, 0x600, 4);
	bar_wr(&s, VGA_LFB_BAR, 1600 * 300 + 8, 8, 0xf800f80007e007e0ull);
	vga_show(&s);
	vga_dispi(&s, 1, 2560);          /* does not fit 1 MiB: refused */
	vga_dispi(&s, 4, 0x00);
	vga_dispi(&s, 2, 1600);
	vga_dispi(&s, 4, 0x41);          /* refused too: VGA again */
	op(&s, FOP_SAVE_LOAD);
	vga_dispi(&s, 3, 4);             /* SeaBIOS's 16-colour VBE: planar */
	vga_dispi(&s, 1, 800);
	vga_dispi(&s, 2, 600);
	vga_dispi(&s, 4, 0x01);
	vga_seq(&s, 4, 0x06);
	vga_gr(&s, 5, 0x02);
	vga_win(&s, 100 * 300, 4, 0x0c0b0a09);
	ret |= seed_write(&s, dir, "vga-vbe");
	return ret;
}

/* ---- e1000 (82540EM; 8254x SDM) ---- */

#define E_CTRL    0x0000
#define E_EECD    0x0010
#define E_EERD    0x0014
#define E_MDIC    0x0020
#define E_ICR     0x00c0
#define E_ITR     0x00c4
#define E_IMS     0x00d0
#define E_IMC     0x00d8
#define E_RCTL    0x0100
#define E_TCTL    0x0400
#define E_RDBAL   0x2800
#define E_RDLEN   0x2808
#define E_RDH     0x2810
#define E_RDT     0x2818
#define E_RDTR    0x2820
#define E_RADV    0x282c
#define E_TDBAL   0x3800
#define E_TDLEN   0x3808
#define E_TDH     0x3810
#define E_TDT     0x3818
#define E_TIDV    0x3820
#define E_TADV    0x382c
#define E_RXCSUM  0x5000
#define E_MTA     0x5200
#define E_RAL0    0x5400
#define E_VFTA    0x5600
#define E_TXRING  0x10000u
#define E_RXRING  0x20000u
#define E_RXBUF   0x40000u
#define E_TXDATA  0x80000u
#define E_NDESC   16u

static const uint8_t e_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

static void e_wr(struct seed *s, uint32_t off, uint32_t v)
{
	bar_wr(s, 0, off, 4, v);
}

static void e_rd(struct seed *s, uint32_t off)
{
	bar_rd(s, 0, off, 4);
}

static void e_net_rx(struct seed *s, const uint8_t *frame, uint16_t len)
{
	put(s, FOP_NET_RX, 1);
	put(s, len, 2);
	for (uint16_t i = 0; i < len; i++)
		put(s, frame[i], 1);
}

/* A frame to @dst: Ethernet, IPv4, UDP, @len bytes in all. */
static void e_frame(uint8_t *f, uint16_t len, const uint8_t *dst, uint8_t seed)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x02", 6);
	f[12] = 0x08;
	f[13] = 0x00;
	for (uint16_t i = 14; i < len; i++)
		f[i] = (uint8_t)(i * 3 + seed);
	f[14] = 0x45;
	f[16] = (uint8_t)((len - 14) >> 8);
	f[17] = (uint8_t)(len - 14);
	f[23] = 17;
}

/* Linux's bring-up: reset through IOADDR/IODATA, EEPROM both ways, PHY. */
static void e_bringup(struct seed *s, bool microwire)
{
	cfg_wr(s, CFG_COMMAND, 2, CMD_IO | CMD_MEMORY | CMD_MASTER);
	e_wr(s, E_IMC, 0xffffffffu);
	e_wr(s, E_RCTL, 0);
	e_wr(s, E_TCTL, 0x8);
	bar_wr(s, 1, 0, 4, E_CTRL);
	bar_wr(s, 1, 4, 4, 1u << 26);                       /* CTRL.RST */
	e_rd(s, E_ICR);
	if (microwire) {
		/* One word bit-banged: REQ, CS, start + READ, address 1, 16 bits in. */
		uint32_t e = 0x40 | 0x2;

		e_wr(s, E_EECD, 0x40);
		e_rd(s, E_EECD);
		e_wr(s, E_EECD, e);
		for (int i = 8; i >= 0; i--) {
			uint32_t bit = ((0x6u << 6 | 1u) >> i) & 1 ? 0x4 : 0;

			e_wr(s, E_EECD, e | bit);
			e_wr(s, E_EECD, e | bit | 1);
			e_wr(s, E_EECD, e | bit);
		}
		for (int i = 0; i < 16; i++) {
			e_wr(s, E_EECD, e | 1);
			e_rd(s, E_EECD);
			e_wr(s, E_EECD, e);
		}
		e_wr(s, E_EECD, 0);
	}
	for (uint32_t w = 0; w < 3; w++) {
		e_wr(s, E_EERD, w << 8 | 1);
		e_rd(s, E_EERD);
	}
	e_wr(s, E_MDIC, 2u << 16 | 1u << 21 | 2u << 26);  /* PHY ID1 */
	e_rd(s, E_MDIC);
	e_wr(s, E_MDIC, 1u << 16 | 1u << 21 | 2u << 26);  /* BMSR */
	e_rd(s, E_MDIC);
	e_wr(s, E_MDIC, 0x9340u | 1u << 21 | 1u << 26);    /* BMCR: reset, restart AN */
	e_wr(s, E_CTRL, 0x40 | 1);                          /* SLU, FD */
	e_wr(s, E_RAL0, 0x12005452u);
	e_wr(s, E_RAL0 + 4, 0x80005634u);
	e_wr(s, E_MTA, 0);
}

static void e_rx_ring(struct seed *s, uint32_t posted, uint32_t rctl)
{
	for (uint32_t i = 0; i < E_NDESC; i++) {
		ram32(s, E_RXRING + i * 16, E_RXBUF + i * 2048);
		ram32(s, E_RXRING + i * 16 + 4, 0);
		ram32(s, E_RXRING + i * 16 + 8, 0);
		ram32(s, E_RXRING + i * 16 + 12, 0);
	}
	e_wr(s, E_RDBAL, E_RXRING);
	e_wr(s, E_RDLEN, E_NDESC * 16);
	e_wr(s, E_RDH, 0);
	e_wr(s, E_RDT, posted);
	e_wr(s, E_RCTL, rctl | 0x2);
}

static void e_tx_ring(struct seed *s)
{
	fill(s, E_TXRING, E_NDESC * 16, 0);
	e_wr(s, E_TDBAL, E_TXRING);
	e_wr(s, E_TDLEN, E_NDESC * 16);
	e_wr(s, E_TDH, 0);
	e_wr(s, E_TDT, 0);
	e_wr(s, E_TCTL, 0x2 | 0x8);
}

/* TX descriptor @i: its 16 bytes as two dwords of address and two of fields. */
static void e_txd(struct seed *s, uint32_t i, uint32_t addr, uint32_t lower, uint32_t upper)
{
	ram32(s, E_TXRING + i * 16, addr);
	ram32(s, E_TXRING + i * 16 + 4, 0);
	ram32(s, E_TXRING + i * 16 + 8, lower);
	ram32(s, E_TXRING + i * 16 + 12, upper);
}

static int seeds_e1000(const char *dir)
{
	static struct seed s;
	uint8_t f[600];
	int ret = 0;

	/* Linux: bring-up, rings, a legacy packet out, frames in, a TSO packet. */
	seed_begin(&s, 0);
	e_bringup(&s, true);
	e_rx_ring(&s, E_NDESC - 1, 1u << 15);
	e_wr(&s, E_RDTR, 0);
	e_wr(&s, E_RADV, 8);
	e_wr(&s, E_ITR, 195);
	e_wr(&s, E_IMS, 0x9d);                              /* RXT0 RXDMT0 LSC TXDW RXSEQ */
	e_tx_ring(&s);
	e_wr(&s, E_TIDV, 8);
	e_wr(&s, E_TADV, 32);
	e_frame(f, 100, (const uint8_t *)"\x02\x00\x00\x00\x00\x02", 1);
	ram(&s, E_TXDATA, f, 100);
	e_txd(&s, 0, E_TXDATA, 100 | (0x01u | 0x02 | 0x08 | 0x80) << 24, 0);
	e_wr(&s, E_TDT, 1);
	e_frame(f, 200, e_mac, 2);
	e_net_rx(&s, f, 200);
	e_frame(f, 60, (const uint8_t *)"\xff\xff\xff\xff\xff\xff", 3);
	e_net_rx(&s, f, 60);
	e_rd(&s, E_ICR);
	op(&s, FOP_PAUSE);
	put(&s, 1, 1);
	e_rd(&s, E_ICR);
	e_rd(&s, E_RDH);
	/* TSO: context (IPv4, TCP, MSS 500, HDRLEN 54, PAYLEN 1200), one data descriptor. */
	e_frame(f, 54, (const uint8_t *)"\x02\x00\x00\x00\x00\x02", 4);
	f[23] = 6;
	f[46] = 0x50;
	ram(&s, E_TXDATA + 0x1000, f, 54);
	fill(&s, E_TXDATA + 0x1000 + 54, 1200, 0x5a);
	ram32(&s, E_TXRING + 16, 14u | 24u << 8 | 33u << 16);
	ram32(&s, E_TXRING + 20, 34u | 50u << 8);
	ram32(&s, E_TXRING + 24, 1200u | (0x20u | 0x08 | 0x04 | 0x02 | 0x01) << 24);
	ram32(&s, E_TXRING + 28, 54u << 8 | 500u << 16);
	e_txd(&s, 2, E_TXDATA + 0x1000, 1254u | 1u << 20 | (0x20u | 0x04 | 0x08 | 0x01) << 24,
	      0x3u << 8);
	e_wr(&s, E_TDT, 3);
	e_rd(&s, E_TDH);
	put(&s, FOP_NET_LINK, 1);
	put(&s, 0, 1);
	e_rd(&s, E_ICR);
	put(&s, FOP_NET_LINK, 1);
	put(&s, 1, 1);
	op(&s, FOP_SAVE_LOAD);
	e_rd(&s, 0x4074);                                   /* GPRC */
	op(&s, FOP_RESET);
	ret |= seed_write(&s, dir, "e1000-linux");

	/* iPXE: EERD, reset through BAR0, SECRC, legacy TX, polling ICR. */
	seed_begin(&s, 0);
	e_bringup(&s, false);
	e_wr(&s, E_CTRL, 1u << 26);
	e_wr(&s, E_CTRL, 0x40);
	e_rx_ring(&s, 8, 1u << 15 | 1u << 26 | 1u << 3 | 1u << 4);
	e_tx_ring(&s);
	e_frame(f, 300, (const uint8_t *)"\xff\xff\xff\xff\xff\xff", 5);
	ram(&s, E_TXDATA, f, 300);
	e_txd(&s, 0, E_TXDATA, 300 | (0x01u | 0x02 | 0x08) << 24, 0);
	e_txd(&s, 1, E_TXDATA, 42 | (0x01u | 0x02 | 0x08) << 24, 0);
	e_wr(&s, E_TDT, 2);
	for (uint8_t i = 0; i < 4; i++) {
		e_frame(f, (uint16_t)(64 + 300 * i), e_mac, i);
		e_net_rx(&s, f, (uint16_t)(64 + 300 * i));
	}
	e_rd(&s, E_ICR);
	e_wr(&s, E_RDT, 12);
	e_rd(&s, E_RDH);
	ret |= seed_write(&s, dir, "e1000-ipxe");

	/* RX edge cases: no buffers then some, 256-byte buffers, VLAN strip and filter, RXCSUM. */
	seed_begin(&s, 0);
	e_bringup(&s, false);
	e_wr(&s, E_IMS, 0xffff);
	e_wr(&s, E_CTRL, 0x40 | 1u << 30);                  /* VME */
	e_wr(&s, E_VFTA + 4 * (5 >> 5), 1u << 5);
	e_wr(&s, E_RXCSUM, 3u << 8);
	e_rx_ring(&s, 0, 1u << 15 | 1u << 18 | 3u << 16); /* BAM VFE BSIZE 256 */
	e_frame(f, 600, e_mac, 6);
	e_net_rx(&s, f, 600);
	memmove(f + 16, f + 12, 500);
	f[12] = 0x81;
	f[13] = 0x00;
	f[14] = 0x00;
	f[15] = 0x05;                                       /* VLAN 5 */
	e_net_rx(&s, f, 504);
	e_wr(&s, E_RDT, 3);
	e_wr(&s, E_RDT, 10);
	e_wr(&s, E_RDTR, 20 | 1u << 31);
	op(&s, FOP_PAUSE);
	put(&s, 2, 1);
	e_rd(&s, E_ICR);
	e_rd(&s, E_RDH);
	op(&s, FOP_SAVE_LOAD);
	ret |= seed_write(&s, dir, "e1000-rx");
	return ret;
}

/* ---- i8042: data port 0x60, status/command 0x64 ---- */

static void kbc_cmd(struct seed *s, uint8_t c) { out(s, 0x64, 1, c); }
static void kbc_data(struct seed *s, uint8_t v) { out(s, 0x60, 1, v); }

/* Read what is waiting, as an interrupt handler does (status, then data). */
static void kbc_read(struct seed *s, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		in(s, 0x64, 1);
		in(s, 0x60, 1);
	}
}

static void kbc_aux(struct seed *s, uint8_t v)
{
	kbc_cmd(s, 0xd4);
	kbc_data(s, v);
	kbc_read(s, 4);
}

static void host_input(struct seed *s, unsigned int kind, uint16_t a, uint16_t b, uint8_t c,
		       uint8_t buttons)
{
	op(s, FOP_INPUT);
	put(s, kind, 1);
	put(s, a, 2);
	put(s, b, 2);
	put(s, c, 1);
	put(s, buttons, 1);
}

/* Linux's i8042, atkbd and psmouse bring-up, in short. */
static void kbc_linux_init(struct seed *s, uint8_t ctr)
{
	kbc_cmd(s, 0xaa);
	kbc_read(s, 1);
	kbc_cmd(s, 0x20);
	kbc_read(s, 1);
	kbc_cmd(s, 0x60);
	kbc_data(s, ctr);
	kbc_cmd(s, 0xd3);
	kbc_data(s, 0xa5);
	kbc_read(s, 1);
	kbc_data(s, 0xf2);
	kbc_read(s, 3);
	kbc_data(s, 0xf0);
	kbc_data(s, 0x02);
	kbc_read(s, 2);
	kbc_data(s, 0xf4);
	kbc_read(s, 1);
	kbc_data(s, 0xed);
	kbc_data(s, 0x02);
	kbc_read(s, 2);
	kbc_aux(s, 0xff);
	kbc_aux(s, 0xf2);
	for (unsigned int i = 0; i < 3; i++) {
		static const uint8_t knock[3] = { 200, 100, 80 };

		kbc_aux(s, 0xf3);
		kbc_aux(s, knock[i]);
	}
	kbc_aux(s, 0xf2);
	kbc_aux(s, 0xe8);
	kbc_aux(s, 0x03);
	kbc_aux(s, 0xe9);
	kbc_aux(s, 0xf4);
}

static int seeds_i8042(const char *dir)
{
	struct seed s;
	int ret = 0;

	for (unsigned int xlate = 0; xlate < 2; xlate++) {
		seed_begin(&s, 0);
		kbc_linux_init(&s, xlate ? 0x47 : 0x07);
		host_input(&s, 0, 30, 0, 1, 0);     /* A */
		host_input(&s, 0, 30, 0, 0, 0);
		host_input(&s, 0, 103, 0, 1, 0);    /* Up */
		host_input(&s, 0, 119, 0, 1, 0);    /* Pause */
		host_input(&s, 0, 99, 0, 1, 0);     /* Print Screen */
		kbc_read(&s, 24);
		host_input(&s, 1, 5, 0xfffd, 1, 1); /* the mouse, the wheel, a button */
		host_input(&s, 1, 400, 300, 0xff, 6);
		kbc_read(&s, 16);
		op(&s, FOP_SAVE_LOAD);
		kbc_aux(&s, 0xf0);                  /* remote mode, read */
		host_input(&s, 1, 7, 7, 0, 0);
		kbc_aux(&s, 0xeb);
		ret |= seed_write(&s, dir, xlate ? "i8042-linux-xlate" : "i8042-linux-raw");
	}
	/* Keys flooding a port the guest disabled, then a reset with bytes queued. */
	seed_begin(&s, 0);
	kbc_linux_init(&s, 0x47);
	kbc_cmd(&s, 0xad);
	for (unsigned int i = 0; i < 40; i++)
		host_input(&s, 0, (uint16_t)(2 + i), 0, 1, 0);
	kbc_cmd(&s, 0xae);
	kbc_read(&s, 4);
	op(&s, FOP_RESET);
	kbc_read(&s, 2);
	kbc_cmd(&s, 0xfe);                      /* the reset line */
	ret |= seed_write(&s, dir, "i8042-flood-reset");
	return ret;
}

/* ---- virtio-input (the tablet): eventq 0, statusq 1 ---- */

static void vin_select(struct seed *s, uint8_t sel, uint8_t sub)
{
	bar_wr(s, VBAR, DEVCFG, 1, sel);
	bar_wr(s, VBAR, DEVCFG + 1, 1, sub);
	bar_rd(s, VBAR, DEVCFG + 2, 1);
	bar_rd(s, VBAR, DEVCFG + 8, 8);
}

static void vin_post_events(struct seed *s, uint16_t avail, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		uint16_t k = (uint16_t)(avail + i);
		struct vdesc d = { 0x100000u + (k % QSIZE) * 8u, 8, DESC_WRITE, 0 };

		vnet_chain(s, 0, k, (uint16_t)(k % QSIZE), &d, 1);
	}
}

static int seeds_virtio_input(const char *dir)
{
	static const uint8_t ev_types[] = { 0, 1, 2, 3, 4, 0x11 };
	struct seed s;
	int ret = 0;

	/* Linux's probe: every selector, then events. */
	seed_begin(&s, 0);
	vio_start_features(&s, 2, true, 0);
	vin_select(&s, 0x01, 0);
	vin_select(&s, 0x02, 0);
	vin_select(&s, 0x03, 0);
	vin_select(&s, 0x10, 0);
	for (unsigned int i = 0; i < sizeof(ev_types); i++)
		vin_select(&s, 0x11, ev_types[i]);
	vin_select(&s, 0x12, 0);
	vin_select(&s, 0x12, 1);
	vin_post_events(&s, 0, 12);
	{
		struct vdesc d = { 0x101000u, 8, 0, 0 };   /* an LED status from the driver */

		vnet_chain(&s, 1, 0, 0, &d, 1);
	}
	host_input(&s, 2, 100, 200, 0, 1);
	host_input(&s, 2, 32767, 0, 0xfe, 6);
	host_input(&s, 2, 5, 5, 0, 0);              /* too few buffers left: dropped */
	vin_post_events(&s, 12, 4);
	host_input(&s, 2, 6, 6, 0, 0);
	op(&s, FOP_SAVE_LOAD);
	host_input(&s, 2, 7, 7, 1, 1);
	ret |= seed_write(&s, dir, "vin-linux");
	/* A reset with buffers posted, then the driver again. */
	seed_begin(&s, 0);
	vio_start_features(&s, 2, false, 0);
	vin_post_events(&s, 0, 8);
	host_input(&s, 2, 1, 1, 0, 1);
	op(&s, FOP_RESET);
	host_input(&s, 2, 2, 2, 0, 0);
	vio_start_features(&s, 2, false, 0);
	vin_post_events(&s, 0, 8);
	host_input(&s, 2, 3, 3, 0, 0);
	ret |= seed_write(&s, dir, "vin-reset");
	return ret;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s ahci|piix3-ide|virtio-blk|rtc|uart16550|fw_cfg|vga|e1000|virtio-net|i8042|virtio-input OUTDIR\n", argv[0]);
		return 2;
	}
	if (!strcmp(argv[1], "ahci"))
		return seeds_ahci(argv[2]) ? 1 : 0;
	if (!strcmp(argv[1], "piix3-ide"))
		return seeds_ide(argv[2]) ? 1 : 0;
	if (!strcmp(argv[1], "virtio-blk"))
		return seeds_virtio(argv[2]) ? 1 : 0;
	if (!strcmp(argv[1], "virtio-net"))
		return seeds_virtio_net(argv[2]) ? 1 : 0;
	if (!strcmp(argv[1], "rtc"))
		return seeds_rtc(argv[2]) ? 1 : 0;
	if (!strcmp(argv[1], "uart16550"))
		return seeds_uart(argv[2]) ? 1 : 0;
	if (!strcmp(argv[1], "fw_cfg"))
		return seeds_fw_cfg(argv[2]) ? 1 : 0;
	if (!strcmp(argv[1], "vga"))
		return seeds_vga(argv[2]) ? 1 : 0;
	if (!strcmp(argv[1], "e1000"))
		return seeds_e1000(argv[2]) ? 1 : 0;
	if (!strcmp(argv[1], "i8042"))
		return seeds_i8042(argv[2]) ? 1 : 0;
	if (!strcmp(argv[1], "virtio-input"))
		return seeds_virtio_input(argv[2]) ? 1 : 0;
	fprintf(stderr, "%s: unknown device %s\n", argv[0], argv[1]);
	return 2;
}
