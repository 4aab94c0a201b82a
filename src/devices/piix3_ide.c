// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * PIIX3 IDE: function 1 of the Intel 82371SB (PIIX3) south bridge.
 *
 * Two ATA channels at the legacy ISA addresses (primary 0x1F0-0x1F7 /
 * 0x3F6 on IRQ 14, secondary 0x170-0x177 / 0x376 on IRQ 15), each with a
 * master and a slave position, and the bus-master IDE function (BMIDE)
 * in BAR4.  This file is the *transport*: the task-file registers, the
 * status/DRQ/INTRQ protocol of ATA/ATAPI-6 (PIO data-in/out, DMA, PACKET),
 * the device control register (SRST, nIEN), and the PRD-table engine.
 * What a command means (IDENTIFY data, LBA ranges, ATAPI's SCSI commands,
 * sense data) lives in the transport-independent layer ata.c, shared with
 * AHCI.
 *
 * References: Intel 82371FB (PIIX) and 82371SB (PIIX3) datasheet, section
 * 2.4 (IDE configuration registers) and 2.7 (bus master IDE I/O
 * registers), 3.x (PRD tables); ATA/ATAPI-6 (T13/1410D) sections 9
 * (protocols) and 7.15 (device control register), 9.12 (signatures).
 *
 * Threads: the register handlers run on vCPU threads with the device lock
 * held.  PIO is synchronous (one DRQ block at a time, under the lock).
 * The data of a DMA command moves on the controller's I/O thread, which
 * takes the lock to pick the request up, drops it around disk I/O and
 * copies to/from guest RAM (and completes) with the lock held again, so
 * that a reset, SRST or bus-master stop in between simply makes the
 * worker's result stale (a per-channel generation number).
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices.h"
#include "io_worker.h"
#include "pci.h"

/* ---- PCI identity and configuration registers (PIIX3 datasheet 2.4) ---- */
#define PIIX3_VENDOR_INTEL   0x8086
#define PIIX3_IDE_DEVICE_ID  0x7010
/* Mass storage / IDE; prog-if 0x80: bus master, both channels in legacy
 * (compatibility) mode with fixed addresses, not switchable to native. */
#define PIIX3_IDE_CLASS      0x010180
#define PIIX3_ISA_SLOT       1      /* the ISA bridge is 00:01.0, we are 01.1 */
#define PIIX3_IDE_FUNC       1
#define PIIX3_ISA_DEVICE_ID  0x7000
#define PIIX3_BMIBA_BAR      4      /* bus master interface base address */

#define PIIX3_IDETIM_PRI     0x40   /* 16-bit timing register, primary */
#define PIIX3_IDETIM_SEC     0x42   /* secondary */
#define PIIX3_SIDETIM        0x44   /* slave timing (PIIX3 only) */
/* IDETIM bit 15: the channel's legacy decode is enabled.  Firmware sets it
 * on real boards; Hutch boots Linux without firmware, and Linux's ata_piix
 * ignores a channel whose bit is clear, so it comes out of reset set. */
#define PIIX3_IDETIM_DECODE  0x8000

/* ---- legacy ISA placement ---- */
#define IDE_PRI_CMD_PORT     0x1f0
#define IDE_PRI_CTL_PORT     0x3f6
#define IDE_PRI_GSI          14
#define IDE_SEC_CMD_PORT     0x170
#define IDE_SEC_CTL_PORT     0x376
#define IDE_SEC_GSI          15
#define IDE_CMD_LEN          8
#define IDE_CTL_LEN          1      /* 0x3F7 belongs to the floppy controller */

/* ---- command block registers (ATA/ATAPI-6 7.x) ---- */
#define REG_DATA     0
#define REG_ERROR    1   /* read */
#define REG_FEATURE  1   /* write */
#define REG_NSECT    2   /* ATAPI: interrupt reason on read */
#define REG_LBAL     3
#define REG_LBAM     4   /* ATAPI: byte count low */
#define REG_LBAH     5   /* ATAPI: byte count high */
#define REG_DEVICE   6
#define REG_STATUS   7   /* read */
#define REG_COMMAND  7   /* write */

#define ST_ERR   0x01
#define ST_DRQ   0x08
#define ST_DSC   0x10   /* seek complete (obsolete, but Linux's probe likes it) */
#define ST_DF    0x20
#define ST_DRDY  0x40
#define ST_BSY   0x80

#define ERR_ABRT 0x04

#define DEV_DEV  0x10   /* device register: 0 = master, 1 = slave */
#define DEV_LBA  0x40
#define DEV_OBS  0xa0   /* obsolete bits that read as one on old devices */

#define CTL_NIEN 0x02   /* device control: interrupts disabled */
#define CTL_SRST 0x04   /* software reset */
#define CTL_HOB  0x80   /* read the previous (high order) task-file bytes */

/* ATAPI interrupt reason in the sector count register (ATA/ATAPI-6 9.10). */
#define IREASON_COD  0x01  /* 1 = command packet, 0 = user data */
#define IREASON_IO   0x02  /* 1 = to the host */

/* Diagnostic codes in the error register after reset / EXECUTE DIAGNOSTIC. */
#define DIAG_PASSED  0x01

/* ---- bus master IDE registers in BAR4 (PIIX3 datasheet 2.7) ---- */
#define BM_SIZE          16
#define BM_CHAN_STRIDE   8
#define BM_CMD           0    /* BMICx */
#define BM_STATUS        2    /* BMISx */
#define BM_PRDT          4    /* BMIDTPx, 32 bits */

#define BM_CMD_START     0x01 /* SSBM */
#define BM_CMD_TO_MEM    0x08 /* RWCON: 1 = bus master writes memory (disk reads) */
#define BM_CMD_MASK      (BM_CMD_START | BM_CMD_TO_MEM)

#define BM_ST_ACTIVE     0x01 /* read-only: transfer in progress */
#define BM_ST_ERR        0x02 /* write one to clear: PCI master/target abort */
#define BM_ST_INT        0x04 /* write one to clear: IDE interrupt seen */
#define BM_ST_DRV0_DMA   0x20 /* software flags: drive 0 / 1 DMA capable */
#define BM_ST_DRV1_DMA   0x40
#define BM_ST_RW         (BM_ST_DRV0_DMA | BM_ST_DRV1_DMA)
#define BM_ST_W1C        (BM_ST_ERR | BM_ST_INT)

/* A physical region descriptor: 32-bit address, then count and EOT. */
#define PRD_SIZE         8
#define PRD_EOT          0x80000000u
#define PRD_COUNT_MASK   0xfffe      /* bit 0 is reserved; 0 means 64 KiB */
#define PRD_ADDR_MASK    0xfffffffeu
#define PRDT_ADDR_MASK   0xfffffffcu /* the table is dword aligned */
/* The table may not cross a 64 KiB boundary (datasheet 3.x), so a real
 * PIIX3 never reads more than 8192 entries; neither do we. */
#define PRD_MAX_ENTRIES  (65536 / PRD_SIZE)

struct piix3_ide;

/* The task-file bytes a device latched; hob = the previous write of each
 * (LBA48 "high order bytes", read back with devctl.HOB). */
struct ide_taskfile {
	uint8_t feature, nsect, lbal, lbam, lbah;
};

struct ide_drive {
	bool present;
	bool atapi;
	struct ide_taskfile tf, hob;
	uint8_t device;
	uint8_t status;
	uint8_t error;
};

/* The data phase of the command a channel is executing. */
enum ide_phase {
	PH_IDLE,      /* no data phase (no command, or it has completed) */
	PH_PIO_IN,    /* DRQ: the host reads buf[pos, end) through the data port */
	PH_PIO_OUT,   /* DRQ: the host writes buf[pos, end) */
	PH_PACKET,    /* DRQ: the host writes the 12-byte ATAPI command packet */
	PH_DMA,       /* the bus master moves the data (PRD table, I/O thread) */
};

/* ATA PIO blocks are at most 128 sectors (SET MULTIPLE's limit); an ATAPI
 * PIO chunk is at most 0xfffe bytes (the byte count registers). */
#define IDE_PIO_BUF_SIZE (128 * 512)

struct ide_channel {
	struct piix3_ide *ide;
	unsigned int index;
	struct ide_drive drive[2];
	unsigned int unit;           /* DEV bit of the last device register write */
	uint8_t devctl;
	bool intrq;                  /* the selected device's INTRQ is pending */
	int irq_level;               /* what we drive on the ISA line */
	struct irq_line irq;

	/* the current command's data phase */
	enum ide_phase phase;
	unsigned int xunit;          /* the device executing it */
	bool packet;                 /* an ATAPI PACKET command (byte counts, ireason) */
	uint64_t total;              /* bytes of the whole data phase */
	uint64_t done;               /* bytes moved before the buffered chunk */
	uint32_t chunk;              /* ATA: bytes per DRQ block; ATAPI: byte count limit */
	uint8_t *buf;                /* IDE_PIO_BUF_SIZE bytes */
	uint32_t pos, end;           /* the DRQ chunk is buf[0, end); next byte at pos */
	uint8_t cdb[12];
	bool dma_queued;             /* handed to the I/O thread */
	bool dma_to_mem;             /* a read: device -> guest RAM */
	bool packet_dma;             /* PACKET with the DMA feature bit */

	/* bus master IDE */
	uint8_t bm_cmd;
	uint8_t bm_status;
	uint32_t bm_prdt;
	uint32_t gen;                /* bumped to cancel an in-flight DMA */
};

struct piix3_ide {
	struct device *dev;
	struct pci_function pci;
	struct ide_channel ch[2];
	struct io_worker *worker;
	uint8_t *dma_buf;            /* the I/O thread's bounce buffer */
};

static const uint16_t ide_cmd_ports[2] = { IDE_PRI_CMD_PORT, IDE_SEC_CMD_PORT };
static const uint16_t ide_ctl_ports[2] = { IDE_PRI_CTL_PORT, IDE_SEC_CTL_PORT };
static const uint32_t ide_gsis[2] = { IDE_PRI_GSI, IDE_SEC_GSI };

/* ------------------------------------------------------------------ */
/* Interrupts                                                          */
/* ------------------------------------------------------------------ */

/*
 * The ISA line follows the selected device's INTRQ, tri-stated by nIEN
 * (ATA/ATAPI-6 7.15.6).  The bus master status INT bit latches every
 * rising edge of the line (PIIX3 datasheet, BMISx bit 2).
 */
static void ide_update_irq(struct ide_channel *ch)
{
	int level = ch->intrq && !(ch->devctl & CTL_NIEN);

	if (level == ch->irq_level)
		return;
	if (level)
		ch->bm_status |= BM_ST_INT;
	ch->irq_level = level;
	irq_line_set(&ch->irq, level);
}

static void ide_raise_irq(struct ide_channel *ch)
{
	ch->intrq = true;
	ide_update_irq(ch);
}

static void ide_clear_irq(struct ide_channel *ch)
{
	ch->intrq = false;
	ide_update_irq(ch);
}

static struct ide_drive *ide_cur(struct ide_channel *ch)
{
	return &ch->drive[ch->unit];
}

/* ------------------------------------------------------------------ */
/* Bus master PRD tables                                              */
/* ------------------------------------------------------------------ */

/* Where a transfer is in the guest's PRD table. */
struct prd_cursor {
	uint32_t table;          /* guest address of the table */
	unsigned int index;      /* entries read so far */
	uint32_t addr;           /* current region: next guest address */
	uint32_t left;           /* bytes left in the current region */
	bool eot;                /* the current region is the table's last */
};

static void prd_start(struct prd_cursor *c, uint32_t table)
{
	memset(c, 0, sizeof(*c));
	c->table = table & PRDT_ADDR_MASK;
}

/* Load the next entry once the current one is used up.  0, -EFAULT (the
 * table is outside RAM) or -ENOSPC (the table ended: EOT was consumed, or
 * it would cross its 64 KiB limit). */
static int prd_next(const struct guest_mem *gm, struct prd_cursor *c)
{
	uint32_t e[2];
	uint32_t count;

	if (c->eot || c->index >= PRD_MAX_ENTRIES)
		return -ENOSPC;
	if (gm_read(gm, (uint64_t)c->table + (uint64_t)c->index * PRD_SIZE, e, sizeof(e)))
		return -EFAULT;
	c->index++;
	e[0] = le32toh(e[0]);
	e[1] = le32toh(e[1]);
	count = e[1] & PRD_COUNT_MASK;
	c->addr = e[0] & PRD_ADDR_MASK;
	c->left = count ? count : 0x10000;
	c->eot = e[1] & PRD_EOT;
	return 0;
}

/*
 * Move @len bytes between @buf and the regions the table describes
 * (@to_mem: buf -> guest RAM).  Every region goes through guest_mem, so an
 * address outside RAM is an error, never a stray access.  0, -EFAULT or
 * -ENOSPC (the table holds fewer bytes than the transfer).
 */
static int prd_copy(const struct guest_mem *gm, struct prd_cursor *c, uint8_t *buf,
		    size_t len, bool to_mem)
{
	while (len) {
		uint32_t n;
		int ret;

		if (!c->left) {
			ret = prd_next(gm, c);
			if (ret)
				return ret;
		}
		n = len < c->left ? (uint32_t)len : c->left;
		ret = to_mem ? gm_write(gm, c->addr, buf, n) : gm_read(gm, c->addr, buf, n);
		if (ret)
			return -EFAULT;
		c->addr += n;
		c->left -= n;
		buf += n;
		len -= n;
	}
	return 0;
}

/* After a transfer: does the table describe more room than was used?
 * Then BMISx.ACTIVE stays set (datasheet: the drive finished first). */
static bool prd_has_room(const struct prd_cursor *c)
{
	return c->left || !c->eot;
}

/* ------------------------------------------------------------------ */
/* Reset and signatures                                                */
/* ------------------------------------------------------------------ */

/*
 * The state a device shows after power-on, hardware or software reset and
 * EXECUTE DEVICE DIAGNOSTIC (ATA/ATAPI-6 9.12): the signature in the task
 * file (ATA: count 1, LBA 1/0/0; PACKET devices: 1, 1, 0x14, 0xEB) and the
 * diagnostic code in the error register.  A PACKET device clears DRDY.
 */
static void ide_drive_signature(struct ide_drive *d)
{
	memset(&d->tf, 0, sizeof(d->tf));
	memset(&d->hob, 0, sizeof(d->hob));
	d->tf.nsect = 1;
	d->tf.lbal = 1;
	if (d->atapi) {
		d->tf.lbam = 0x14;
		d->tf.lbah = 0xeb;
		d->status = 0;
	} else {
		d->status = ST_DRDY | ST_DSC;
	}
	d->device = 0;
	d->error = DIAG_PASSED;
}

/* Stop whatever the channel was doing: no data phase, a DMA in flight on
 * the I/O thread becomes stale.  The bus master registers belong to the
 * controller, not the devices, and are left alone. */
static void ide_abort_phase(struct ide_channel *ch)
{
	ch->phase = PH_IDLE;
	ch->pos = ch->end = 0;
	ch->total = ch->done = 0;
	ch->packet = false;
	ch->dma_queued = false;
	ch->gen++;
}

/* Both devices reset (SRST released, hardware reset): signatures, device 0
 * selected, no interrupt pending (ATA/ATAPI-6 9.2: no INTRQ after SRST). */
static void ide_channel_reset_devices(struct ide_channel *ch)
{
	ide_abort_phase(ch);
	for (unsigned int u = 0; u < 2; u++)
		ide_drive_signature(&ch->drive[u]);
	ch->unit = 0;
	ide_clear_irq(ch);
}

/* ------------------------------------------------------------------ */
/* Command data phases                                                 */
/* ------------------------------------------------------------------ */

/* What the command layer asks of the transport for one command. */
enum ide_req_kind { REQ_NONDATA, REQ_PIO_IN, REQ_PIO_OUT, REQ_DMA_IN, REQ_DMA_OUT };

struct ide_req {
	enum ide_req_kind kind;
	uint64_t bytes;        /* the whole data phase */
	uint32_t block;        /* ATA PIO: bytes per DRQ block */
};

static void ide_ata_begin(struct ide_channel *ch, unsigned int unit, uint8_t cmd,
			  struct ide_req *req);
static void ide_atapi_begin(struct ide_channel *ch, unsigned int unit, struct ide_req *req);
static int ide_cmd_data(struct ide_channel *ch, unsigned int unit, uint8_t *buf,
			uint64_t off, uint32_t len);
static void ide_cmd_end(struct ide_channel *ch, unsigned int unit, int err);
static void ide_dma_try_start(struct ide_channel *ch);

/* The command is over: status and outputs from the command layer, then
 * INTRQ unless @quiet (the last block of a PIO data-in command). */
static void ide_finish(struct ide_channel *ch, int err, bool quiet)
{
	unsigned int unit = ch->xunit;

	ch->phase = PH_IDLE;
	ch->pos = ch->end = 0;
	ide_cmd_end(ch, unit, err);
	if (ch->packet)
		ch->drive[unit].tf.nsect = IREASON_IO | IREASON_COD;
	ch->packet = false;
	if (!quiet)
		ide_raise_irq(ch);
}

/* Present the next DRQ chunk of a PIO transfer (ATA/ATAPI-6 9.5, 9.6, 9.10). */
static void ide_pio_next_chunk(struct ide_channel *ch, bool irq)
{
	struct ide_drive *d = &ch->drive[ch->xunit];
	uint64_t left = ch->total - ch->done;
	uint32_t n = left < ch->chunk ? (uint32_t)left : ch->chunk;

	if (ch->phase == PH_PIO_IN) {
		int err = ide_cmd_data(ch, ch->xunit, ch->buf, ch->done, n);

		if (err) {
			ide_finish(ch, err, false);
			return;
		}
	}
	ch->pos = 0;
	ch->end = n;
	if (ch->packet) {
		d->tf.lbam = n & 0xff;
		d->tf.lbah = n >> 8;
		d->tf.nsect = ch->phase == PH_PIO_IN ? IREASON_IO : 0;
	}
	d->status = ST_DRDY | ST_DSC | ST_DRQ;
	if (irq)
		ide_raise_irq(ch);
}

/* The host moved the whole DRQ chunk. */
static void ide_pio_chunk_done(struct ide_channel *ch)
{
	int err = 0;

	if (ch->phase == PH_PIO_OUT)
		err = ide_cmd_data(ch, ch->xunit, ch->buf, ch->done, ch->end);
	ch->done += ch->end;
	if (err || ch->done >= ch->total) {
		/* ATA PIO data-in ends without an interrupt after the last
		 * block; writes and PACKET commands end with one. */
		ide_finish(ch, err, !err && ch->phase == PH_PIO_IN && !ch->packet);
		return;
	}
	ide_pio_next_chunk(ch, true);
}

/* Start the data phase a command asked for. */
static void ide_start_request(struct ide_channel *ch, const struct ide_req *req)
{
	struct ide_drive *d = &ch->drive[ch->xunit];

	ch->total = req->bytes;
	ch->done = 0;
	switch (req->kind) {
	case REQ_NONDATA:
		ide_finish(ch, 0, false);
		return;
	case REQ_PIO_IN:
	case REQ_PIO_OUT:
		if (!req->bytes) {
			ide_finish(ch, 0, false);
			return;
		}
		ch->phase = req->kind == REQ_PIO_IN ? PH_PIO_IN : PH_PIO_OUT;
		if (!ch->packet)
			ch->chunk = req->block ? req->block : 512;
		if (ch->chunk > IDE_PIO_BUF_SIZE)
			ch->chunk = IDE_PIO_BUF_SIZE;
		/* PIO data-out: the first DRQ comes without an interrupt (9.6);
		 * data-in and every PACKET data chunk interrupt (9.5, 9.10). */
		ide_pio_next_chunk(ch, ch->phase == PH_PIO_IN || ch->packet);
		return;
	case REQ_DMA_IN:
	case REQ_DMA_OUT:
		if (!req->bytes) {
			ide_finish(ch, 0, false);
			return;
		}
		ch->phase = PH_DMA;
		ch->dma_to_mem = req->kind == REQ_DMA_IN;
		d->status = ST_DRDY | ST_DSC | ST_DRQ;
		ide_dma_try_start(ch);
		return;
	}
}

/* ------------------------------------------------------------------ */
/* Commands                                                            */
/* ------------------------------------------------------------------ */

#define CMD_DEVICE_RESET     0x08
#define CMD_EXEC_DIAGNOSTIC  0x90
#define CMD_PACKET           0xa0
#define CMD_IDENTIFY         0xec

#define PACKET_FEAT_DMA      0x01
#define ATAPI_CDB_LEN        12

/*
 * PACKET (ATA/ATAPI-6 8.21, 9.10): the device wants the 12-byte command
 * packet: DRQ with interrupt reason "command, to the device".  We report
 * the accelerated DRQ type in IDENTIFY PACKET DEVICE, so no interrupt.
 */
static void ide_cmd_packet(struct ide_channel *ch, struct ide_drive *d)
{
	uint32_t limit = d->tf.lbam | (uint32_t)d->tf.lbah << 8;

	ch->packet = true;
	ch->packet_dma = d->tf.feature & PACKET_FEAT_DMA;
	/* An odd limit is rounded down and 0xffff means 0xfffe (9.10);
	 * zero is a host error that the CDB phase rejects for PIO data. */
	ch->chunk = limit & ~1u;
	ch->phase = PH_PACKET;
	ch->pos = 0;
	ch->end = ATAPI_CDB_LEN;
	d->tf.nsect = IREASON_COD;
	d->status = ST_DRDY | ST_DSC | ST_DRQ;
}

/* The host wrote the whole command packet. */
static void ide_packet_received(struct ide_channel *ch)
{
	struct ide_req req;

	memcpy(ch->cdb, ch->buf, ATAPI_CDB_LEN);
	ch->phase = PH_IDLE;
	ide_atapi_begin(ch, ch->xunit, &req);
	if (req.kind == REQ_PIO_IN || req.kind == REQ_PIO_OUT) {
		if (ch->packet_dma)
			req.kind = req.kind == REQ_PIO_IN ? REQ_DMA_IN : REQ_DMA_OUT;
		else if (req.bytes && !ch->chunk) {
			/* ATA8-ACS 7.18: a byte count limit of zero for a PIO
			 * data transfer is invalid; the command is aborted. */
			device_log(ch->ide->dev, "ATAPI PIO command %#x with byte count limit 0",
				   ch->cdb[0]);
			ide_finish(ch, -EINVAL, false);
			return;
		}
	}
	ide_start_request(ch, &req);
}

static void ide_exec_diagnostic(struct ide_channel *ch)
{
	ide_channel_reset_devices(ch);
	ide_raise_irq(ch);
}

/* A write to the command register (ATA/ATAPI-6 7.3.5). */
static void ide_write_command(struct ide_channel *ch, uint8_t cmd)
{
	struct ide_drive *d = ide_cur(ch);
	struct ide_req req;

	if (!d->present || (ch->devctl & CTL_SRST))
		return;
	/* DEVICE RESET is the one command a PACKET device takes while busy. */
	if (cmd == CMD_DEVICE_RESET && d->atapi) {
		if (ch->xunit == ch->unit)
			ide_abort_phase(ch);
		ide_drive_signature(d);
		ide_clear_irq(ch);
		return;
	}
	if (d->status & ST_BSY)
		return;
	if (ch->phase != PH_IDLE) {
		/* A new command ends an unfinished data phase (the host gave up). */
		ide_abort_phase(ch);
	}
	ide_clear_irq(ch);
	ch->xunit = ch->unit;
	ch->packet = false;
	if (cmd == CMD_EXEC_DIAGNOSTIC) {
		ide_exec_diagnostic(ch);
		return;
	}
	if (cmd == CMD_PACKET && d->atapi) {
		ide_cmd_packet(ch, d);
		return;
	}
	ide_ata_begin(ch, ch->unit, cmd, &req);
	ide_start_request(ch, &req);
}

/* ------------------------------------------------------------------ */
/* Command and control block registers                                 */
/* ------------------------------------------------------------------ */

static bool ide_channel_empty(const struct ide_channel *ch)
{
	return !ch->drive[0].present && !ch->drive[1].present;
}

/* One 16-bit data register transfer to the host. */
static uint16_t ide_data_read16(struct ide_channel *ch)
{
	uint16_t v;

	if (ch->phase != PH_PIO_IN || ch->unit != ch->xunit || ch->pos >= ch->end)
		return 0xffff;
	v = ch->buf[ch->pos];
	/* An ATAPI chunk may have an odd length: the last word is padded. */
	v |= ch->pos + 1 < ch->end ? (uint16_t)ch->buf[ch->pos + 1] << 8 : 0;
	ch->pos += 2;
	if (ch->pos >= ch->end)
		ide_pio_chunk_done(ch);
	return v;
}

/* One 16-bit data register transfer from the host. */
static void ide_data_write16(struct ide_channel *ch, uint16_t v)
{
	if ((ch->phase != PH_PIO_OUT && ch->phase != PH_PACKET) || ch->unit != ch->xunit ||
	    ch->pos >= ch->end)
		return;
	ch->buf[ch->pos] = v & 0xff;
	if (ch->pos + 1 < ch->end)
		ch->buf[ch->pos + 1] = v >> 8;
	ch->pos += 2;
	if (ch->pos < ch->end)
		return;
	if (ch->phase == PH_PACKET)
		ide_packet_received(ch);
	else
		ide_pio_chunk_done(ch);
}

static uint8_t ide_read_reg(struct ide_channel *ch, unsigned int reg)
{
	struct ide_drive *d = ide_cur(ch);
	const struct ide_taskfile *tf = (ch->devctl & CTL_HOB) ? &d->hob : &d->tf;

	/* No device at all: nobody drives the bus. */
	if (ide_channel_empty(ch))
		return 0xff;
	/* Device 1 absent: device 0 answers for it with zeros (ATA/ATAPI-6
	 * 9.16.1), which Linux's probe takes as "no device". */
	if (!d->present)
		return 0;
	switch (reg) {
	case REG_ERROR:
		return d->error;
	case REG_NSECT:
		return tf->nsect;
	case REG_LBAL:
		return tf->lbal;
	case REG_LBAM:
		return tf->lbam;
	case REG_LBAH:
		return tf->lbah;
	case REG_DEVICE:
		return d->device;
	case REG_STATUS:
		/* Reading Status acknowledges the interrupt (7.15.6). */
		ide_clear_irq(ch);
		return d->status;
	}
	return 0xff;
}

static void ide_write_reg(struct ide_channel *ch, unsigned int reg, uint8_t v)
{
	/* Both devices latch command block writes; any of them clears HOB (7.9). */
	ch->devctl &= ~CTL_HOB;
	for (unsigned int u = 0; u < 2; u++) {
		struct ide_drive *d = &ch->drive[u];
		uint8_t *cur = NULL, *prev = NULL;

		switch (reg) {
		case REG_FEATURE: cur = &d->tf.feature; prev = &d->hob.feature; break;
		case REG_NSECT:   cur = &d->tf.nsect;   prev = &d->hob.nsect;   break;
		case REG_LBAL:    cur = &d->tf.lbal;    prev = &d->hob.lbal;    break;
		case REG_LBAM:    cur = &d->tf.lbam;    prev = &d->hob.lbam;    break;
		case REG_LBAH:    cur = &d->tf.lbah;    prev = &d->hob.lbah;    break;
		case REG_DEVICE:  d->device = v;        break;
		}
		if (cur) {
			*prev = *cur;
			*cur = v;
		}
	}
	switch (reg) {
	case REG_DEVICE:
		ch->unit = (v & DEV_DEV) ? 1 : 0;
		break;
	case REG_COMMAND:
		ide_write_command(ch, v);
		break;
	}
}

/* Device control (ATA/ATAPI-6 7.9): SRST and nIEN go to both devices. */
static void ide_write_devctl(struct ide_channel *ch, uint8_t v)
{
	bool was_reset = ch->devctl & CTL_SRST;

	ch->devctl = v;
	if ((v & CTL_SRST) && !was_reset) {
		ide_abort_phase(ch);
		for (unsigned int u = 0; u < 2; u++)
			ch->drive[u].status = ST_BSY;
		ide_clear_irq(ch);
	} else if (!(v & CTL_SRST) && was_reset) {
		/* The reset completes at once; keep the new nIEN/HOB bits. */
		ide_channel_reset_devices(ch);
		ch->devctl = v;
	}
	ide_update_irq(ch);
}

static uint8_t ide_read_altstatus(struct ide_channel *ch)
{
	if (ide_channel_empty(ch))
		return 0xff;
	return ide_cur(ch)->present ? ide_cur(ch)->status : 0;
}

/* The command block at 0x1F0/0x170: the data register takes 16- and 32-bit
 * accesses (PIIX3 splits a dword into two word cycles); the others are
 * byte registers, and a wider access reaches consecutive registers. */
static uint64_t ide_cmd_read(struct ide_channel *ch, uint64_t off, unsigned int size)
{
	uint64_t v = 0;

	if (off == REG_DATA && size >= 2) {
		for (unsigned int i = 0; i < size / 2; i++)
			v |= (uint64_t)ide_data_read16(ch) << (16 * i);
		return v;
	}
	for (unsigned int i = 0; i < size; i++) {
		unsigned int reg = (unsigned int)off + i;

		v |= (uint64_t)(reg == REG_DATA || reg >= IDE_CMD_LEN ? 0xff :
				ide_read_reg(ch, reg)) << (8 * i);
	}
	return v;
}

static void ide_cmd_write(struct ide_channel *ch, uint64_t off, uint64_t v, unsigned int size)
{
	if (off == REG_DATA && size >= 2) {
		for (unsigned int i = 0; i < size / 2; i++)
			ide_data_write16(ch, (uint16_t)(v >> (16 * i)));
		return;
	}
	for (unsigned int i = 0; i < size; i++) {
		unsigned int reg = (unsigned int)off + i;

		if (reg != REG_DATA && reg < IDE_CMD_LEN)
			ide_write_reg(ch, reg, (uint8_t)(v >> (8 * i)));
	}
}

static struct ide_channel *ide_chan(struct device *dev, unsigned int idx)
{
	return &((struct piix3_ide *)dev->priv)->ch[idx];
}

static uint64_t ide_cmd0_read(struct device *dev, uint64_t off, unsigned int size)
{
	return ide_cmd_read(ide_chan(dev, 0), off, size);
}

static uint64_t ide_cmd1_read(struct device *dev, uint64_t off, unsigned int size)
{
	return ide_cmd_read(ide_chan(dev, 1), off, size);
}

static void ide_cmd0_write(struct device *dev, uint64_t off, uint64_t v, unsigned int size)
{
	ide_cmd_write(ide_chan(dev, 0), off, v, size);
}

static void ide_cmd1_write(struct device *dev, uint64_t off, uint64_t v, unsigned int size)
{
	ide_cmd_write(ide_chan(dev, 1), off, v, size);
}

static uint64_t ide_ctl0_read(struct device *dev, uint64_t off, unsigned int size)
{
	return ide_read_altstatus(ide_chan(dev, 0));
}

static uint64_t ide_ctl1_read(struct device *dev, uint64_t off, unsigned int size)
{
	return ide_read_altstatus(ide_chan(dev, 1));
}

static void ide_ctl0_write(struct device *dev, uint64_t off, uint64_t v, unsigned int size)
{
	ide_write_devctl(ide_chan(dev, 0), (uint8_t)v);
}

static void ide_ctl1_write(struct device *dev, uint64_t off, uint64_t v, unsigned int size)
{
	ide_write_devctl(ide_chan(dev, 1), (uint8_t)v);
}

static const struct io_region_ops ide_cmd_ops[2] = {
	{ .read = ide_cmd0_read, .write = ide_cmd0_write },
	{ .read = ide_cmd1_read, .write = ide_cmd1_write },
};

static const struct io_region_ops ide_ctl_ops[2] = {
	{ .read = ide_ctl0_read, .write = ide_ctl0_write },
	{ .read = ide_ctl1_read, .write = ide_ctl1_write },
};

/* ------------------------------------------------------------------ */
/* Bus master DMA                                                      */
/* ------------------------------------------------------------------ */

/* The I/O thread moves this much per disk call. */
#define IDE_DMA_CHUNK (256 * 1024)

/*
 * A DMA transfer can run once the device has a DMA command ready and the
 * host has started the bus master (in either order: Linux programs the
 * table, issues the command, then sets SSBM).  The direction the host
 * gave the bus master must match the command's.
 */
static void ide_dma_try_start(struct ide_channel *ch)
{
	struct piix3_ide *s = ch->ide;

	if (ch->phase != PH_DMA || ch->dma_queued || !(ch->bm_cmd & BM_CMD_START))
		return;
	if (!!(ch->bm_cmd & BM_CMD_TO_MEM) != ch->dma_to_mem) {
		device_log(s->dev, "channel %u: bus master direction disagrees with the command",
			   ch->index);
		ch->bm_status = (ch->bm_status & ~BM_ST_ACTIVE) | BM_ST_ERR;
		ide_finish(ch, -EINVAL, false);
		return;
	}
	if (!pci_bus_master(&s->pci)) {
		/* Without bus mastering the PIIX3 cannot reach memory; the
		 * transfer waits until the guest enables it and restarts. */
		return;
	}
	ch->dma_queued = true;
	if (s->worker)
		io_worker_kick(s->worker);
}

/* A transfer that cannot complete: the bus master reports the error
 * (BMISx.ERR, ACTIVE cleared) and the device aborts with an interrupt, so
 * the guest's driver sees an error at once rather than a timeout. */
static void ide_dma_fail(struct ide_channel *ch, int err)
{
	ch->bm_status = (ch->bm_status & ~BM_ST_ACTIVE) | BM_ST_ERR;
	ch->dma_queued = false;
	ide_finish(ch, err, false);
}

/*
 * Run the queued transfer of @ch.  Called on the I/O thread with the
 * device lock held; returns with it held.  The lock is dropped only around
 * disk I/O; after that the generation number says whether the transfer
 * is still wanted (no reset, SRST, bus master stop in between).
 */
static void ide_dma_run(struct piix3_ide *s, struct ide_channel *ch)
{
	struct device *dev = s->dev;
	const struct guest_mem *gm = dev->host->mem;
	uint32_t gen = ch->gen;
	unsigned int unit = ch->xunit;
	bool to_mem = ch->dma_to_mem;
	uint64_t total = ch->total;
	struct prd_cursor cur;
	uint64_t off = 0;
	int err = 0;

	prd_start(&cur, ch->bm_prdt);
	while (off < total) {
		uint32_t n = total - off < IDE_DMA_CHUNK ? (uint32_t)(total - off) : IDE_DMA_CHUNK;

		if (!to_mem) {
			err = prd_copy(gm, &cur, s->dma_buf, n, false);
			if (err)
				break;
		}
		pthread_mutex_unlock(&dev->lock);
		err = ide_cmd_data(ch, unit, s->dma_buf, off, n);
		pthread_mutex_lock(&dev->lock);
		if (gen != ch->gen)
			return;
		if (err)
			break;
		if (to_mem) {
			err = prd_copy(gm, &cur, s->dma_buf, n, true);
			if (err)
				break;
		}
		off += n;
		ch->done = off;
	}
	if (err == -EFAULT || err == -ENOSPC) {
		device_log(dev, "channel %u: PRD table at %#x %s", ch->index, ch->bm_prdt,
			   err == -EFAULT ? "points outside RAM" : "is shorter than the transfer");
		ide_dma_fail(ch, err);
		return;
	}
	ch->dma_queued = false;
	if (!err && !prd_has_room(&cur))
		ch->bm_status &= ~BM_ST_ACTIVE;
	ide_finish(ch, err, false);
}

static void ide_worker(void *opaque)
{
	struct piix3_ide *s = opaque;

	pthread_mutex_lock(&s->dev->lock);
	for (unsigned int i = 0; i < 2; i++) {
		struct ide_channel *ch = &s->ch[i];

		if (ch->phase == PH_DMA && ch->dma_queued)
			ide_dma_run(s, ch);
	}
	pthread_mutex_unlock(&s->dev->lock);
}

static void bm_write_cmd(struct ide_channel *ch, uint8_t v)
{
	uint8_t old = ch->bm_cmd;

	ch->bm_cmd = v & BM_CMD_MASK;
	if ((v & BM_CMD_START) && !(old & BM_CMD_START)) {
		ch->bm_status |= BM_ST_ACTIVE;
		ide_dma_try_start(ch);
	} else if (!(v & BM_CMD_START) && (old & BM_CMD_START)) {
		/* Stopping the bus master abandons a transfer in progress
		 * (datasheet: data may be lost); the device keeps waiting. */
		ch->bm_status &= ~BM_ST_ACTIVE;
		if (ch->dma_queued) {
			ch->dma_queued = false;
			ch->gen++;
		}
	}
}

static uint8_t bm_read_byte(struct ide_channel *ch, unsigned int off)
{
	switch (off) {
	case BM_CMD:
		return ch->bm_cmd;
	case BM_STATUS:
		return ch->bm_status;
	case BM_PRDT: case BM_PRDT + 1: case BM_PRDT + 2: case BM_PRDT + 3:
		return (uint8_t)(ch->bm_prdt >> (8 * (off - BM_PRDT)));
	}
	return 0;
}

static void bm_write_byte(struct ide_channel *ch, unsigned int off, uint8_t v)
{
	unsigned int shift;

	switch (off) {
	case BM_CMD:
		bm_write_cmd(ch, v);
		break;
	case BM_STATUS:
		ch->bm_status = (ch->bm_status & ~BM_ST_RW & ~(v & BM_ST_W1C)) | (v & BM_ST_RW);
		break;
	case BM_PRDT: case BM_PRDT + 1: case BM_PRDT + 2: case BM_PRDT + 3:
		shift = 8 * (off - BM_PRDT);
		ch->bm_prdt = (ch->bm_prdt & ~(0xffu << shift)) | ((uint32_t)v << shift);
		ch->bm_prdt &= PRDT_ADDR_MASK;
		break;
	}
}

/* BAR4 handlers: byte registers, a wider access covers consecutive ones. */
static uint64_t bm_read(struct device *dev, uint64_t off, unsigned int size)
{
	struct piix3_ide *s = dev->priv;
	uint64_t v = 0;

	for (unsigned int i = 0; i < size; i++) {
		uint64_t o = off + i;

		if (o < BM_SIZE)
			v |= (uint64_t)bm_read_byte(&s->ch[o / BM_CHAN_STRIDE],
						    o % BM_CHAN_STRIDE) << (8 * i);
	}
	return v;
}

static void bm_write(struct device *dev, uint64_t off, uint64_t v, unsigned int size)
{
	struct piix3_ide *s = dev->priv;

	for (unsigned int i = 0; i < size; i++) {
		uint64_t o = off + i;

		if (o < BM_SIZE)
			bm_write_byte(&s->ch[o / BM_CHAN_STRIDE], o % BM_CHAN_STRIDE,
				      (uint8_t)(v >> (8 * i)));
	}
}

static const struct io_region_ops bm_ops = { .read = bm_read, .write = bm_write };

/* ------------------------------------------------------------------ */
/* PCI function, model callbacks                                       */
/* ------------------------------------------------------------------ */

/* The guest may enable bus mastering after starting a transfer. */
static void piix3_ide_config_write(struct pci_function *f, unsigned int off, uint32_t val,
				   unsigned int size)
{
	struct piix3_ide *s = f->dev->priv;

	if (off <= PCI_COMMAND + 1 && off + size > PCI_COMMAND)
		for (unsigned int i = 0; i < 2; i++)
			ide_dma_try_start(&s->ch[i]);
}

static void piix3_ide_pci_defaults(struct piix3_ide *s)
{
	uint8_t *cfg = s->pci.config;

	cfg[PIIX3_IDETIM_PRI + 1] = PIIX3_IDETIM_DECODE >> 8;
	cfg[PIIX3_IDETIM_SEC + 1] = PIIX3_IDETIM_DECODE >> 8;
	cfg[PIIX3_SIDETIM] = 0;
}

static int piix3_ide_attach_pci(struct piix3_ide *s, const struct device_args *args)
{
	struct pci_bus *bus = s->dev->host->pci;
	struct pci_function *bridge;
	int ret;

	pci_function_init(&s->pci, s->dev, PIIX3_VENDOR_INTEL, PIIX3_IDE_DEVICE_ID,
			  PIIX3_IDE_CLASS, 0, 0, 0);
	ret = pci_function_add_bar(&s->pci, PIIX3_BMIBA_BAR, PCI_BAR_IO, BM_SIZE, &bm_ops);
	if (ret)
		return ret;
	/* Timing registers: the guest may program them; they change nothing here. */
	for (unsigned int off = PIIX3_IDETIM_PRI; off <= PIIX3_SIDETIM; off++)
		s->pci.wmask[off] = 0xff;
	s->pci.config_write = piix3_ide_config_write;
	piix3_ide_pci_defaults(s);
	if (!bus)
		return 0;   /* a machine without PCI: legacy PIO only */
	/* Function 1 of the PIIX3 when the ISA bridge is there, as on every
	 * PIIX3 board; else a slot of our own (Linux scans function 0 first). */
	bridge = pci_bus_function(bus, PIIX3_ISA_SLOT << 3);
	if (bridge && bridge->config[PCI_VENDOR_ID] == (PIIX3_VENDOR_INTEL & 0xff) &&
	    bridge->config[PCI_DEVICE_ID] == (PIIX3_ISA_DEVICE_ID & 0xff) &&
	    bridge->config[PCI_DEVICE_ID + 1] == (PIIX3_ISA_DEVICE_ID >> 8))
		return pci_bus_attach(bus, &s->pci, PIIX3_ISA_SLOT, PIIX3_IDE_FUNC);
	return pci_bus_attach(bus, &s->pci, args->pci_slot ? args->pci_slot : -1, 0);
}

static int piix3_ide_add_drives(struct piix3_ide *s, const struct device_args *args)
{
	for (unsigned int i = 0; i < args->nr_drives; i++) {
		const struct drive_args *da = &args->drives[i];
		struct ide_drive *d;
		int ret;

		if (da->port >= 4) {
			device_log(s->dev, "drive position %u: IDE has 0-3 (channel * 2 + unit)",
				   da->port);
			return -EINVAL;
		}
		d = &s->ch[da->port / 2].drive[da->port % 2];
		if (d->present) {
			device_log(s->dev, "two drives at IDE position %u", da->port);
			return -EINVAL;
		}
		ret = ide_drive_init(s, d, da);
		if (ret)
			return ret;
	}
	return 0;
}

static int piix3_ide_create(struct device *dev, const struct device_args *args)
{
	struct piix3_ide *s = calloc(1, sizeof(*s));
	int ret;

	if (!s)
		return -ENOMEM;
	dev->priv = s;
	s->dev = dev;
	s->dma_buf = malloc(IDE_DMA_CHUNK);
	if (!s->dma_buf)
		return -ENOMEM;
	for (unsigned int i = 0; i < 2; i++) {
		struct ide_channel *ch = &s->ch[i];

		ch->ide = s;
		ch->index = i;
		ch->irq = device_irq_line(dev, ide_gsis[i]);
		ch->buf = malloc(IDE_PIO_BUF_SIZE);
		if (!ch->buf)
			return -ENOMEM;
	}
	ret = piix3_ide_add_drives(s, args);
	if (ret)
		return ret;
	ret = piix3_ide_attach_pci(s, args);
	if (ret)
		return ret;
	for (unsigned int i = 0; i < 2; i++) {
		ret = bus_register(dev->host->pio, ide_cmd_ports[i], IDE_CMD_LEN, &ide_cmd_ops[i],
				   dev, i ? "ide1-cmd" : "ide0-cmd");
		if (!ret)
			ret = bus_register(dev->host->pio, ide_ctl_ports[i], IDE_CTL_LEN,
					   &ide_ctl_ops[i], dev, i ? "ide1-ctl" : "ide0-ctl");
		if (ret)
			return ret;
	}
	s->worker = io_worker_start("ide-io", ide_worker, s);
	if (!s->worker)
		return -errno;
	return 0;
}

static void piix3_ide_reset(struct device *dev)
{
	struct piix3_ide *s = dev->priv;

	if (s->pci.bus)
		pci_function_reset(&s->pci);
	piix3_ide_pci_defaults(s);
	for (unsigned int i = 0; i < 2; i++) {
		struct ide_channel *ch = &s->ch[i];

		ch->devctl = 0;
		ch->bm_cmd = 0;
		ch->bm_status = 0;
		ch->bm_prdt = 0;
		ide_channel_reset_devices(ch);
		ch->irq_level = 0;
		irq_line_set(&ch->irq, 0);
		for (unsigned int u = 0; u < 2; u++)
			ide_drive_reset(&ch->drive[u]);
	}
}

static void piix3_ide_destroy(struct device *dev)
{
	struct piix3_ide *s = dev->priv;

	if (!s)
		return;
	io_worker_stop(s->worker);
	if (s->pci.bus)
		pci_bus_detach(&s->pci);
	for (unsigned int i = 0; i < 2; i++) {
		for (unsigned int u = 0; u < 2; u++)
			ide_drive_fini(&s->ch[i].drive[u]);
		free(s->ch[i].buf);
	}
	free(s->dma_buf);
	free(s);
}

/* ------------------------------------------------------------------ */
/* Save / load                                                         */
/* ------------------------------------------------------------------ */

#define PIIX3_IDE_STATE_VERSION 1

static void save_taskfile(struct sv_writer *w, const struct ide_taskfile *tf)
{
	sv_put_u8(w, tf->feature);
	sv_put_u8(w, tf->nsect);
	sv_put_u8(w, tf->lbal);
	sv_put_u8(w, tf->lbam);
	sv_put_u8(w, tf->lbah);
}

static void load_taskfile(struct sv_reader *r, struct ide_taskfile *tf)
{
	tf->feature = sv_get_u8(r);
	tf->nsect = sv_get_u8(r);
	tf->lbal = sv_get_u8(r);
	tf->lbam = sv_get_u8(r);
	tf->lbah = sv_get_u8(r);
}

static int piix3_ide_save(struct device *dev, struct sv_writer *w)
{
	struct piix3_ide *s = dev->priv;
	int ret = 0;

	sv_put_u8(w, s->pci.bus != NULL);
	if (s->pci.bus)
		ret = pci_function_save(&s->pci, w);
	if (ret)
		return ret;
	for (unsigned int i = 0; i < 2; i++) {
		struct ide_channel *ch = &s->ch[i];

		for (unsigned int u = 0; u < 2; u++) {
			struct ide_drive *d = &ch->drive[u];

			save_taskfile(w, &d->tf);
			save_taskfile(w, &d->hob);
			sv_put_u8(w, d->device);
			sv_put_u8(w, d->status);
			sv_put_u8(w, d->error);
			ret = ide_drive_save(d, w);
			if (ret)
				return ret;
		}
		sv_put_u8(w, ch->unit);
		sv_put_u8(w, ch->devctl);
		sv_put_u8(w, ch->intrq);
		sv_put_u8(w, ch->phase);
		sv_put_u8(w, ch->xunit);
		sv_put_u8(w, ch->packet);
		sv_put_u8(w, ch->packet_dma);
		sv_put_u64(w, ch->total);
		sv_put_u64(w, ch->done);
		sv_put_u32(w, ch->chunk);
		sv_put_u32(w, ch->pos);
		sv_put_u32(w, ch->end);
		sv_put_bytes(w, ch->buf, ch->end);
		sv_put_bytes(w, ch->cdb, sizeof(ch->cdb));
		/* A DMA on the I/O thread is saved as "to be run": it starts
		 * over from the PRD table after a restore. */
		sv_put_u8(w, ch->dma_queued);
		sv_put_u8(w, ch->dma_to_mem);
		sv_put_u8(w, ch->bm_cmd);
		sv_put_u8(w, ch->bm_status);
		sv_put_u32(w, ch->bm_prdt);
	}
	return 0;
}

static int piix3_ide_load(struct device *dev, struct sv_reader *r, uint32_t version)
{
	struct piix3_ide *s = dev->priv;
	bool kick = false;

	if (version != PIIX3_IDE_STATE_VERSION)
		return -EINVAL;
	if (sv_get_u8(r) != (s->pci.bus != NULL))
		return -EINVAL;
	if (s->pci.bus && pci_function_load(&s->pci, r))
		return -EINVAL;
	for (unsigned int i = 0; i < 2; i++) {
		struct ide_channel *ch = &s->ch[i];

		ide_abort_phase(ch);
		for (unsigned int u = 0; u < 2; u++) {
			struct ide_drive *d = &ch->drive[u];

			load_taskfile(r, &d->tf);
			load_taskfile(r, &d->hob);
			d->device = sv_get_u8(r);
			d->status = sv_get_u8(r);
			d->error = sv_get_u8(r);
			if (ide_drive_load(d, r))
				return -EINVAL;
		}
		ch->unit = sv_get_u8(r);
		ch->devctl = sv_get_u8(r);
		ch->intrq = sv_get_u8(r);
		ch->phase = sv_get_u8(r);
		ch->xunit = sv_get_u8(r);
		ch->packet = sv_get_u8(r);
		ch->packet_dma = sv_get_u8(r);
		ch->total = sv_get_u64(r);
		ch->done = sv_get_u64(r);
		ch->chunk = sv_get_u32(r);
		ch->pos = sv_get_u32(r);
		ch->end = sv_get_u32(r);
		if (ch->unit > 1 || ch->xunit > 1 || ch->phase > PH_DMA ||
		    ch->end > IDE_PIO_BUF_SIZE || ch->pos > ch->end || ch->chunk > IDE_PIO_BUF_SIZE ||
		    ch->done > ch->total || !sv_reader_ok(r, false))
			return -EINVAL;
		sv_get_bytes(r, ch->buf, ch->end);
		sv_get_bytes(r, ch->cdb, sizeof(ch->cdb));
		ch->dma_queued = sv_get_u8(r);
		ch->dma_to_mem = sv_get_u8(r);
		ch->bm_cmd = sv_get_u8(r) & BM_CMD_MASK;
		ch->bm_status = sv_get_u8(r);
		ch->bm_prdt = sv_get_u32(r) & PRDT_ADDR_MASK;
		if (ch->dma_queued && ch->phase != PH_DMA)
			return -EINVAL;
		kick |= ch->dma_queued;
		ch->irq_level = ch->intrq && !(ch->devctl & CTL_NIEN);
		irq_line_set(&ch->irq, ch->irq_level);
	}
	if (!sv_reader_ok(r, true))
		return -EINVAL;
	if (kick && s->worker)
		io_worker_kick(s->worker);
	return 0;
}

const struct device_model piix3_ide_model = {
	.name = "piix3-ide",
	.state_version = PIIX3_IDE_STATE_VERSION,
	.create = piix3_ide_create,
	.reset = piix3_ide_reset,
	.save = piix3_ide_save,
	.load = piix3_ide_load,
	.destroy = piix3_ide_destroy,
};
