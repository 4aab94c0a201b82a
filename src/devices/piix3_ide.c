// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * PIIX3 IDE: function 1 of the Intel 82371SB (PIIX3) south bridge.
 *
 * Two ATA channels at the legacy ISA addresses (primary 0x1F0-0x1F7 /
 * 0x3F6 on IRQ 14, secondary 0x170-0x177 / 0x376 on IRQ 15), each with a
 * master and a slave position, and the bus master IDE function in BAR4.
 * This file is the *transport*: the task-file registers, the BSY/DRQ/INTRQ
 * protocols of ATA/ATAPI-6 (PIO data-in and data-out, DMA, PACKET), the
 * device control register (SRST, nIEN, HOB) and the PRD-table engine.
 * What a command means (IDENTIFY data, LBA ranges, ATAPI's SCSI commands
 * and sense data) is the transport-independent layer ata.c, shared with
 * AHCI.
 *
 * References: Intel 82371FB/82371SB (PIIX/PIIX3) datasheet, 2.4 (IDE
 * configuration registers), 2.7 (bus master IDE I/O registers) and 3.4
 * (PRD tables, bus master operation); ATA/ATAPI-6 (T13/1410D): 7 (register
 * descriptions), 9 (protocols), 9.12 (signatures).
 *
 * Threads.  Register handlers run on vCPU threads with the device lock
 * held; they decode a command (ata_begin, which never blocks) and move PIO
 * data between the data port and a buffer.  Whatever touches the image,
 * ata_complete(), runs on the controller's I/O thread without the lock:
 * meanwhile the device shows BSY (non-data and PIO commands) or waits on
 * the bus master (DMA, which then goes straight between the image and the
 * guest RAM its PRD table names).  A reset, SRST, ATAPI DEVICE RESET,
 * abandoned data phase or bus master stop while the I/O thread works
 * cancels the channel's request and waits for it (io_worker.h): the image
 * I/O stops at the next IO_CHUNK piece, the late result is dropped, and
 * no byte of it reaches guest RAM nor the drive's state after the
 * register write returns.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "ata.h"
#include "devices.h"
#include "io_worker.h"
#include "pci.h"

/* ---- PCI identity and configuration registers (PIIX3 datasheet 2.4) ---- */
#define PIIX3_VENDOR_INTEL   0x8086
#define PIIX3_IDE_DEVICE_ID  0x7010
/* Mass storage / IDE; prog-if 0x80: bus master, both channels in legacy
 * (compatibility) mode at fixed addresses, not switchable to native. */
#define PIIX3_IDE_CLASS      0x010180
#define PIIX3_ISA_SLOT       1      /* the ISA bridge is 00:01.0, we are 01.1 */
#define PIIX3_IDE_FUNC       1
#define PIIX3_ISA_DEVICE_ID  0x7000
#define PIIX3_BMIBA_BAR      4      /* bus master interface base address */

#define PIIX3_IDETIM_PRI     0x40   /* 16-bit timing register, primary */
#define PIIX3_IDETIM_SEC     0x42   /* secondary */
#define PIIX3_SIDETIM        0x44   /* slave timing (new in PIIX3) */
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

#define DEV_DEV  0x10   /* device register: 0 = device 0 (master), 1 = device 1 */

#define CTL_NIEN 0x02   /* device control: INTRQ disabled */
#define CTL_SRST 0x04   /* software reset */
#define CTL_HOB  0x80   /* read the previous ("high order") task-file bytes */

#define DIAG_PASSED 0x01  /* error register after reset: device 0 passed */

#define CMD_EXEC_DIAGNOSTIC  0x90
#define ATAPI_MAX_CHUNK      0xfffe  /* largest PIO chunk a byte count can say */

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
#define BM_ST_ERR        0x02 /* write one to clear: the transfer failed */
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
/* The table may not cross a 64 KiB boundary (datasheet 3.4), so a real
 * PIIX3 never reads more than 8192 entries; neither do we. */
#define PRD_MAX_ENTRIES  (65536 / PRD_SIZE)

/* PIO buffers above this size are given back after their command. */
#define IDE_BUF_KEEP     (128 * 1024)

struct piix3_ide;

/* The task-file bytes a device latched; hob = the previous write of each
 * (LBA48's "high order bytes", read back with devctl.HOB). */
struct ide_taskfile {
	uint8_t feature, nsect, lbal, lbam, lbah;
};

struct ide_drive {
	bool present;
	struct ata_drive ata;
	struct ide_taskfile tf, hob;
	uint8_t device;
	uint8_t status;
	uint8_t error;
};

/* Where the channel's current command is (ATA/ATAPI-6 9). */
enum ide_phase {
	PH_IDLE,      /* no command, or it has completed */
	PH_PACKET,    /* DRQ: the host writes the 12-byte command packet */
	PH_EXEC,      /* BSY: the I/O thread runs the command */
	PH_PIO_IN,    /* DRQ: the host reads buf[pos, blk_end) */
	PH_PIO_OUT,   /* DRQ: the host writes buf[pos, blk_end) */
	PH_DMA,       /* the bus master moves the data */
};

struct ide_channel {
	struct piix3_ide *ide;
	unsigned int index;
	struct ide_drive drive[2];
	unsigned int unit;           /* DEV bit of the last device register write */
	uint8_t devctl;
	bool intrq;                  /* the device's INTRQ is pending */
	int irq_level;               /* what we drive on the ISA line */
	struct irq_line irq;

	/* the current command */
	enum ide_phase phase;
	unsigned int xunit;          /* the device executing it */
	struct ata_taskfile cmd;     /* its input */
	bool has_cdb;
	uint8_t cdb[ATAPI_CDB_LEN];
	struct ata_xfer x;
	uint8_t *buf;                /* PIO data, x.len bytes */
	size_t buf_cap;
	bool buf_busy;               /* the I/O thread uses buf */
	uint32_t pos;                /* PIO: next byte; PACKET: CDB bytes received */
	uint32_t blk_end;            /* end of the current DRQ block */
	bool queued;                 /* waiting for the I/O thread */
	struct io_inflight inflight; /* the command the I/O thread runs */

	/* bus master IDE */
	uint8_t bm_cmd;
	uint8_t bm_status;
	uint32_t bm_prdt;
};

struct piix3_ide {
	struct device *dev;
	struct pci_function pci;
	struct ide_channel ch[2];
	struct io_worker *worker;
	struct io_req req;           /* the I/O thread's: the command it runs, mapped */
};

static const uint16_t ide_cmd_ports[2] = { IDE_PRI_CMD_PORT, IDE_SEC_CMD_PORT };
static const uint16_t ide_ctl_ports[2] = { IDE_PRI_CTL_PORT, IDE_SEC_CTL_PORT };
static const uint32_t ide_gsis[2] = { IDE_PRI_GSI, IDE_SEC_GSI };

/* ------------------------------------------------------------------ */
/* Interrupts                                                          */
/* ------------------------------------------------------------------ */

/*
 * The ISA line follows INTRQ, tri-stated by nIEN (ATA/ATAPI-6 7.9).  The
 * bus master status INT bit latches every rising edge of the line (PIIX3
 * datasheet 2.7.2, BMISx bit 2); drivers use it to tell a DMA completion.
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
/* Results into the task file                                          */
/* ------------------------------------------------------------------ */

/* Registers a command (or a reset) ends with; LBA48 results put bits
 * 24-47 and the count's high byte in the HOB half. */
static void ide_post_result(struct ide_drive *d, const struct ata_result *res)
{
	d->status = res->status;
	d->error = res->error;
	d->tf.nsect = (uint8_t)res->count;
	d->hob.nsect = (uint8_t)(res->count >> 8);
	d->tf.lbal = (uint8_t)res->lba;
	d->tf.lbam = (uint8_t)(res->lba >> 8);
	d->tf.lbah = (uint8_t)(res->lba >> 16);
	d->hob.lbal = (uint8_t)(res->lba >> 24);
	d->hob.lbam = (uint8_t)(res->lba >> 32);
	d->hob.lbah = (uint8_t)(res->lba >> 40);
	/* The DEV bit is the host's selection, not a result. */
	d->device = (uint8_t)((res->device & ~DEV_DEV) | (d->device & DEV_DEV));
}

/*
 * The state a device shows after power-on, hardware or software reset and
 * EXECUTE DEVICE DIAGNOSTIC (ATA/ATAPI-6 9.12): its signature in the task
 * file, diagnostic code 01h, DRDY for a disk; a PACKET device leaves DRDY
 * clear until it has been identified.
 */
static void ide_drive_signature(struct ide_drive *d)
{
	struct ata_result res;

	if (!d->present)
		return;
	memset(&res, 0, sizeof(res));
	ata_signature(&d->ata, &res);
	res.status = ata_is_atapi(&d->ata) ? 0 : ATA_SR_DRDY | ATA_SR_DSC;
	res.error = DIAG_PASSED;
	res.device = 0;
	memset(&d->hob, 0, sizeof(d->hob));
	d->tf.feature = 0;
	ide_post_result(d, &res);
	d->device = 0;
}

/* ------------------------------------------------------------------ */
/* Bus master PRD tables                                               */
/* ------------------------------------------------------------------ */

/*
 * Map the PRD table at @table into @r as @len bytes of guest RAM (every
 * region checked: address and length).  *@room is set when the table
 * describes more than @len bytes: then BMISx.ACTIVE stays set at the end
 * (datasheet 3.4: the drive finished first).  0, or -EFAULT (the table or
 * a region is outside RAM), -ENOSPC (the table ends before @len bytes) or
 * -ENOMEM.
 */
static int prd_map(const struct guest_mem *gm, uint32_t table, uint32_t len,
		   struct io_req *r, bool *room)
{
	uint32_t got = 0;
	int ret;

	*room = false;
	table &= PRDT_ADDR_MASK;
	for (unsigned int i = 0; got < len; i++) {
		uint32_t e[2], count, take;

		if (i >= PRD_MAX_ENTRIES)
			return -ENOSPC;
		if (gm_read(gm, (uint64_t)table + (uint64_t)i * PRD_SIZE, e, sizeof(e)))
			return -EFAULT;
		e[0] = le32toh(e[0]);
		e[1] = le32toh(e[1]);
		count = e[1] & PRD_COUNT_MASK;
		if (!count)
			count = 0x10000;
		take = len - got < count ? len - got : count;
		ret = io_req_map(r, gm, e[0] & PRD_ADDR_MASK, take);
		if (ret)
			return ret;
		got += take;
		if (got == len)
			*room = take < count || !(e[1] & PRD_EOT);
		else if (e[1] & PRD_EOT)
			return -ENOSPC;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Command phases                                                      */
/* ------------------------------------------------------------------ */

/* Stop whatever the channel was doing: no data phase, and the command on
 * the I/O thread is cancelled and waited for, its result dropped.  The bus
 * master registers belong to the controller, not the devices, and are
 * left alone.  Device lock held, never on the I/O thread. */
static void ide_abort_phase(struct ide_channel *ch)
{
	ch->phase = PH_IDLE;
	ch->pos = ch->blk_end = 0;
	ch->queued = false;
	ch->has_cdb = false;
	io_inflight_cancel_wait(&ch->inflight);
}

/* A PIO buffer of at least @len bytes (the I/O thread may still hold the
 * old one after an abort: then it is left to the thread to free). */
static int ide_buf_reserve(struct ide_channel *ch, size_t len)
{
	uint8_t *b;

	if (ch->buf_busy) {
		ch->buf = NULL;
		ch->buf_cap = 0;
		ch->buf_busy = false;
	}
	if (ch->buf_cap >= len && ch->buf)
		return 0;
	b = realloc(ch->buf, len ? len : 1);
	if (!b)
		return -ENOMEM;
	ch->buf = b;
	ch->buf_cap = len;
	return 0;
}

/* Give a large buffer back once its command is over. */
static void ide_buf_trim(struct ide_channel *ch)
{
	if (ch->buf_cap > IDE_BUF_KEEP && !ch->buf_busy) {
		free(ch->buf);
		ch->buf = NULL;
		ch->buf_cap = 0;
	}
}

/* The command is over: its result in the task file, then INTRQ unless
 * @quiet (the end of an ATA PIO data-in command, 9.5). */
static void ide_finish(struct ide_channel *ch, bool quiet)
{
	struct ide_drive *d = &ch->drive[ch->xunit];

	ch->phase = PH_IDLE;
	ch->pos = ch->blk_end = 0;
	ide_post_result(d, &ch->x.res);
	if (ch->x.atapi)
		d->tf.nsect = ATAPI_IREASON_IO | ATAPI_IREASON_COD;
	ide_buf_trim(ch);
	if (!quiet)
		ide_raise_irq(ch);
}

/* Hand the command to the I/O thread; the device is busy meanwhile. */
static void ide_queue(struct ide_channel *ch)
{
	ch->queued = true;
	if (ch->ide->worker)
		io_worker_kick(ch->ide->worker);
}

static void ide_exec(struct ide_channel *ch)
{
	ch->phase = PH_EXEC;
	ch->drive[ch->xunit].status = ATA_SR_BSY;
	ide_queue(ch);
}

/*
 * Present the DRQ block at ch->pos (9.5 PIO data-in, 9.6 data-out, 9.10
 * PACKET).  ATA: drq_block bytes (a sector, or a READ/WRITE MULTIPLE
 * block); ATAPI: up to the byte count limit, reported in LBA mid/high
 * with the interrupt reason in the sector count.
 */
static void ide_pio_block(struct ide_channel *ch, bool irq)
{
	struct ide_drive *d = &ch->drive[ch->xunit];
	uint32_t left = ch->x.len - ch->pos;
	uint32_t n = ch->x.drq_block && ch->x.drq_block < left ? ch->x.drq_block : left;

	/* The byte count registers hold at most 0xfffe (an even count). */
	if (ch->x.atapi && n > ATAPI_MAX_CHUNK)
		n = ATAPI_MAX_CHUNK;

	ch->blk_end = ch->pos + n;
	if (ch->x.atapi) {
		d->tf.lbam = (uint8_t)n;
		d->tf.lbah = (uint8_t)(n >> 8);
		d->tf.nsect = ch->phase == PH_PIO_IN ? ATAPI_IREASON_IO : 0;
	}
	d->status = ATA_SR_DRDY | ATA_SR_DSC | ATA_SR_DRQ;
	if (irq)
		ide_raise_irq(ch);
}

/* The host moved a whole DRQ block. */
static void ide_pio_block_done(struct ide_channel *ch)
{
	if (ch->pos < ch->x.len) {
		ide_pio_block(ch, true);
		return;
	}
	if (ch->phase == PH_PIO_OUT) {
		ide_exec(ch);          /* now write it */
		return;
	}
	/* ATA PIO data-in ends quietly after the last block; PACKET ends
	 * with a status-phase interrupt. */
	ide_finish(ch, !ch->x.atapi);
}

static void ide_dma_try_start(struct ide_channel *ch);

/* Start what ata_begin() decided for the command in ch->x. */
static void ide_start(struct ide_channel *ch)
{
	struct ide_drive *d = &ch->drive[ch->xunit];
	struct ata_xfer *x = &ch->x;

	if (x->dir == ATA_DIR_NONE) {
		ide_exec(ch);
		return;
	}
	if (x->dma) {
		/* No PIO position in a DMA phase (a PACKET left it at 12): a
		 * snapshot taken before the bus master starts must load back. */
		ch->pos = ch->blk_end = 0;
		ch->phase = PH_DMA;
		d->status = ATA_SR_DRDY | ATA_SR_DSC | ATA_SR_DRQ;
		ide_dma_try_start(ch);
		return;
	}
	if (ide_buf_reserve(ch, x->len)) {
		ata_complete_error(&d->ata, x);
		ide_finish(ch, false);
		return;
	}
	ch->pos = 0;
	if (x->dir == ATA_DIR_IN) {
		ide_exec(ch);          /* read first, then DRQ */
		return;
	}
	/* PIO data-out: the first DRQ comes without an interrupt for ATA
	 * (9.6); a PACKET data chunk always interrupts (9.10). */
	ch->phase = PH_PIO_OUT;
	ide_pio_block(ch, x->atapi);
}

/* The host wrote the whole command packet. */
static void ide_packet_received(struct ide_channel *ch)
{
	ch->has_cdb = true;
	ata_begin(&ch->drive[ch->xunit].ata, &ch->cmd, ch->cdb, &ch->x);
	ide_start(ch);
}

/*
 * PACKET (ATA/ATAPI-6 8.21, 9.10): the device asks for the command packet
 * with DRQ and interrupt reason "command, to the device".  IDENTIFY PACKET
 * DEVICE does not announce INTRQ for this DRQ, so there is none.
 */
static void ide_cmd_packet(struct ide_channel *ch, struct ide_drive *d)
{
	ch->phase = PH_PACKET;
	ch->pos = 0;
	d->tf.nsect = ATAPI_IREASON_COD;
	d->status = ATA_SR_DRDY | ATA_SR_DSC | ATA_SR_DRQ;
}

/* Both devices reset: signatures, device 0 selected, no data phase and no
 * interrupt (ATA/ATAPI-6 9.2: none after SRST). */
static void ide_channel_reset_devices(struct ide_channel *ch)
{
	ide_abort_phase(ch);
	for (unsigned int u = 0; u < 2; u++)
		ide_drive_signature(&ch->drive[u]);
	ch->unit = 0;
	ide_clear_irq(ch);
}

static struct ata_taskfile ide_taskfile_in(const struct ide_drive *d, uint8_t cmd)
{
	struct ata_taskfile tf = {
		.command = cmd,
		.device = d->device,
		.features = (uint16_t)(d->hob.feature << 8 | d->tf.feature),
		.count = (uint16_t)(d->hob.nsect << 8 | d->tf.nsect),
		.lba = (uint64_t)d->tf.lbal | (uint64_t)d->tf.lbam << 8 |
		       (uint64_t)d->tf.lbah << 16 | (uint64_t)d->hob.lbal << 24 |
		       (uint64_t)d->hob.lbam << 32 | (uint64_t)d->hob.lbah << 40,
	};

	return tf;
}

/* A write to the command register (ATA/ATAPI-6 7.4). */
static void ide_write_command(struct ide_channel *ch, uint8_t cmd)
{
	struct ide_drive *d = ide_cur(ch);

	if (!d->present || (ch->devctl & CTL_SRST))
		return;
	/* DEVICE RESET is the one command a PACKET device takes while busy
	 * (8.10); it ends without an interrupt. */
	if (cmd == ATA_CMD_DEVICE_RESET && ata_is_atapi(&d->ata)) {
		if (ch->phase != PH_IDLE && ch->xunit == ch->unit)
			ide_abort_phase(ch);
		ide_drive_signature(d);
		d->device = (uint8_t)(ch->unit << 4);
		return;
	}
	if (d->status & ATA_SR_BSY)
		return;
	if (ch->phase != PH_IDLE) {
		/* One command per channel: the other device's is still on. */
		if (ch->xunit != ch->unit)
			return;
		/* The host gave up on an unfinished data phase. */
		ide_abort_phase(ch);
	}
	ide_clear_irq(ch);
	ch->xunit = ch->unit;
	ch->has_cdb = false;
	if (cmd == CMD_EXEC_DIAGNOSTIC) {
		/* Both devices run their diagnostics (8.11); signature, code 01h. */
		ide_channel_reset_devices(ch);
		ide_raise_irq(ch);
		return;
	}
	ch->cmd = ide_taskfile_in(d, cmd);
	if (cmd == ATA_CMD_PACKET && ata_is_atapi(&d->ata)) {
		ide_cmd_packet(ch, d);
		return;
	}
	ata_begin(&d->ata, &ch->cmd, NULL, &ch->x);
	ide_start(ch);
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

	if (ch->phase != PH_PIO_IN || ch->unit != ch->xunit || ch->pos >= ch->blk_end)
		return 0xffff;
	v = ch->buf[ch->pos];
	/* An ATAPI block may have an odd length: its last word is padded. */
	if (ch->pos + 1 < ch->blk_end)
		v |= (uint16_t)(ch->buf[ch->pos + 1] << 8);
	ch->pos = ch->pos + 2 < ch->blk_end ? ch->pos + 2 : ch->blk_end;
	if (ch->pos == ch->blk_end)
		ide_pio_block_done(ch);
	return v;
}

/* One 16-bit data register transfer from the host. */
static void ide_data_write16(struct ide_channel *ch, uint16_t v)
{
	if (ch->unit != ch->xunit)
		return;
	if (ch->phase == PH_PACKET) {
		ch->cdb[ch->pos] = (uint8_t)v;
		ch->cdb[ch->pos + 1] = (uint8_t)(v >> 8);
		ch->pos += 2;
		if (ch->pos == ATAPI_CDB_LEN)
			ide_packet_received(ch);
		return;
	}
	if (ch->phase != PH_PIO_OUT || ch->pos >= ch->blk_end)
		return;
	ch->buf[ch->pos] = (uint8_t)v;
	if (ch->pos + 1 < ch->blk_end)
		ch->buf[ch->pos + 1] = (uint8_t)(v >> 8);
	ch->pos = ch->pos + 2 < ch->blk_end ? ch->pos + 2 : ch->blk_end;
	if (ch->pos == ch->blk_end)
		ide_pio_block_done(ch);
}

static uint8_t ide_read_reg(struct ide_channel *ch, unsigned int reg)
{
	struct ide_drive *d = ide_cur(ch);
	const struct ide_taskfile *tf = (ch->devctl & CTL_HOB) ? &d->hob : &d->tf;

	/* No device at all: nobody drives the bus. */
	if (ide_channel_empty(ch))
		return 0xff;
	/* Device 1 absent: device 0 answers for it with zeros (ATA/ATAPI-6
	 * 9.16.1 for Status), which Linux's probe takes as "no device". */
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
		/* Reading Status acknowledges the interrupt (7.15). */
		ide_clear_irq(ch);
		return d->status;
	}
	return 0xff;
}

static void ide_write_reg(struct ide_channel *ch, unsigned int reg, uint8_t v)
{
	/* Both devices latch command block writes; each clears HOB (7.9). */
	ch->devctl &= (uint8_t)~CTL_HOB;
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
	if (reg == REG_DEVICE)
		ch->unit = (v & DEV_DEV) ? 1 : 0;
	else if (reg == REG_COMMAND)
		ide_write_command(ch, v);
}

/* Device control (ATA/ATAPI-6 7.9): SRST and nIEN go to both devices. */
static void ide_write_devctl(struct ide_channel *ch, uint8_t v)
{
	bool was_reset = ch->devctl & CTL_SRST;

	ch->devctl = v;
	if ((v & CTL_SRST) && !was_reset) {
		ide_abort_phase(ch);
		for (unsigned int u = 0; u < 2; u++)
			if (ch->drive[u].present)
				ch->drive[u].status = ATA_SR_BSY;
		ide_clear_irq(ch);
	} else if (!(v & CTL_SRST) && was_reset) {
		/* The reset completes at once. */
		ide_channel_reset_devices(ch);
	}
	ide_update_irq(ch);
}

static uint8_t ide_read_altstatus(struct ide_channel *ch)
{
	if (ide_channel_empty(ch))
		return 0xff;
	return ide_cur(ch)->present ? ide_cur(ch)->status : 0;
}

/* The command block: the data register takes 16- and 32-bit accesses
 * (PIIX3 splits a dword into two word cycles); the others are byte
 * registers, and a wider access reaches consecutive ones. */
static uint64_t ide_cmd_read(struct ide_channel *ch, uint64_t off, unsigned int size)
{
	uint64_t v = 0;

	if (off == REG_DATA && size >= 2) {
		for (unsigned int i = 0; i < size / 2; i++)
			v |= (uint64_t)ide_data_read16(ch) << (16 * i);
		return v;
	}
	for (unsigned int i = 0; i < size; i++) {
		uint64_t reg = off + i;
		uint8_t b = reg == REG_DATA || reg >= IDE_CMD_LEN ? 0xff :
			    ide_read_reg(ch, (unsigned int)reg);

		v |= (uint64_t)b << (8 * i);
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
		uint64_t reg = off + i;

		if (reg != REG_DATA && reg < IDE_CMD_LEN)
			ide_write_reg(ch, (unsigned int)reg, (uint8_t)(v >> (8 * i)));
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
/* Bus master DMA and the I/O thread                                   */
/* ------------------------------------------------------------------ */

/*
 * A DMA transfer runs once the device has a DMA command ready and the
 * host has started the bus master, in either order (Linux programs the
 * table, issues the command, then sets SSBM; ATAPI sends the packet
 * first).
 */
static void ide_dma_try_start(struct ide_channel *ch)
{
	if (ch->phase == PH_DMA && !ch->queued && (ch->bm_cmd & BM_CMD_START))
		ide_queue(ch);
}

/* A transfer the bus master cannot do: BMISx.ERR, ACTIVE cleared, and the
 * device aborts with an interrupt, so the driver sees an error at once
 * instead of a timeout. */
static void ide_dma_fail(struct ide_channel *ch, const char *why)
{
	device_log(ch->ide->dev, "channel %u: DMA with PRD table %#x: %s", ch->index,
		   ch->bm_prdt, why);
	ch->bm_status = (uint8_t)((ch->bm_status & ~BM_ST_ACTIVE) | BM_ST_ERR);
	ata_complete_error(&ch->drive[ch->xunit].ata, &ch->x);
	ide_finish(ch, false);
}

/*
 * Run the channel's queued command.  Called on the I/O thread with the
 * device lock held; the lock is dropped around ata_complete().
 */
static void ide_run(struct piix3_ide *s, struct ide_channel *ch)
{
	struct device *dev = s->dev;
	struct ide_drive *d = &ch->drive[ch->xunit];
	struct ata_xfer x = ch->x;
	uint8_t *buf = NULL;
	bool room = false;
	int n = 0;

	ch->queued = false;
	io_req_unmap(&s->req);
	if (ch->phase == PH_DMA) {
		if ((ch->bm_cmd & BM_CMD_TO_MEM) != (x.dir == ATA_DIR_IN ? BM_CMD_TO_MEM : 0)) {
			ide_dma_fail(ch, "the bus master's direction is the command's opposite");
			return;
		}
		if (s->pci.bus && !pci_bus_master(&s->pci)) {
			ide_dma_fail(ch, "bus mastering is disabled");
			return;
		}
		n = prd_map(dev->host->mem, ch->bm_prdt, x.len, &s->req, &room);
		if (n < 0) {
			ide_dma_fail(ch, n == -EFAULT ? "a region or the table is outside RAM" :
					 n == -ENOSPC ? "the table is shorter than the transfer" :
					 "out of memory");
			return;
		}
	} else if (x.len) {
		buf = ch->buf;
		if (io_req_map_buf(&s->req, buf, x.len)) {
			ata_complete_error(&d->ata, &ch->x);
			ide_finish(ch, false);
			return;
		}
		ch->buf_busy = true;
	}

	io_req_submit(&s->req, &ch->inflight);
	x.req = &s->req;
	pthread_mutex_unlock(&dev->lock);
	ata_complete(&d->ata, &x, s->req.iov, s->req.nr_iov);
	pthread_mutex_lock(&dev->lock);
	if (buf) {
		if (ch->buf == buf)
			ch->buf_busy = false;
		else
			free(buf);        /* the channel moved on to another buffer */
	}
	if (!io_req_complete(&s->req))
		return;                   /* reset, SRST or bus master stop meanwhile */

	ch->x = x;
	if (ch->phase == PH_DMA) {
		if (!room)
			ch->bm_status &= (uint8_t)~BM_ST_ACTIVE;
		ide_finish(ch, false);
	} else if (x.dir == ATA_DIR_IN && !(x.res.status & ATA_SR_ERR)) {
		ch->phase = PH_PIO_IN;
		ch->pos = 0;
		ide_pio_block(ch, true);
	} else {
		ide_finish(ch, false);
	}
}

static void ide_worker(void *opaque, unsigned int thread)
{
	struct piix3_ide *s = opaque;
	bool again = true;

	pthread_mutex_lock(&s->dev->lock);
	while (again) {
		again = false;
		for (unsigned int i = 0; i < 2; i++) {
			if (s->ch[i].queued) {
				ide_run(s, &s->ch[i]);
				again = true;
			}
		}
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
		 * (datasheet 3.4: data may be lost); the device keeps
		 * waiting for it, as a real drive would. */
		ch->bm_status &= (uint8_t)~BM_ST_ACTIVE;
		if (ch->phase == PH_DMA) {
			ch->queued = false;
			io_inflight_cancel_wait(&ch->inflight);
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
		ch->bm_status = (uint8_t)((ch->bm_status & ~BM_ST_RW & ~(v & BM_ST_W1C)) |
					  (v & BM_ST_RW));
		break;
	case BM_PRDT: case BM_PRDT + 1: case BM_PRDT + 2: case BM_PRDT + 3:
		shift = 8 * (off - BM_PRDT);
		ch->bm_prdt = (ch->bm_prdt & ~(0xffu << shift)) | ((uint32_t)v << shift);
		ch->bm_prdt &= PRDT_ADDR_MASK;
		break;
	}
}

/* BAR4: byte registers; a wider access covers consecutive ones. */
static uint64_t bm_read(struct device *dev, uint64_t off, unsigned int size)
{
	struct piix3_ide *s = dev->priv;
	uint64_t v = 0;

	for (unsigned int i = 0; i < size; i++) {
		uint64_t o = off + i;

		if (o < BM_SIZE)
			v |= (uint64_t)bm_read_byte(&s->ch[o / BM_CHAN_STRIDE],
						    (unsigned int)(o % BM_CHAN_STRIDE)) << (8 * i);
	}
	return v;
}

static void bm_write(struct device *dev, uint64_t off, uint64_t v, unsigned int size)
{
	struct piix3_ide *s = dev->priv;

	for (unsigned int i = 0; i < size; i++) {
		uint64_t o = off + i;

		if (o < BM_SIZE)
			bm_write_byte(&s->ch[o / BM_CHAN_STRIDE], (unsigned int)(o % BM_CHAN_STRIDE),
				      (uint8_t)(v >> (8 * i)));
	}
}

static const struct io_region_ops bm_ops = { .read = bm_read, .write = bm_write };

/* ------------------------------------------------------------------ */
/* PCI function, model callbacks                                       */
/* ------------------------------------------------------------------ */

static void piix3_ide_pci_defaults(struct piix3_ide *s)
{
	uint8_t *cfg = s->pci.config;

	cfg[PIIX3_IDETIM_PRI] = 0;
	cfg[PIIX3_IDETIM_PRI + 1] = PIIX3_IDETIM_DECODE >> 8;
	cfg[PIIX3_IDETIM_SEC] = 0;
	cfg[PIIX3_IDETIM_SEC + 1] = PIIX3_IDETIM_DECODE >> 8;
	cfg[PIIX3_SIDETIM] = 0;
}

static bool piix3_isa_bridge_at(struct pci_bus *bus, unsigned int slot)
{
	struct pci_function *f = pci_bus_function(bus, (uint8_t)(slot << 3));

	return f && f->config[PCI_VENDOR_ID] == (PIIX3_VENDOR_INTEL & 0xff) &&
	       f->config[PCI_VENDOR_ID + 1] == (PIIX3_VENDOR_INTEL >> 8) &&
	       f->config[PCI_DEVICE_ID] == (PIIX3_ISA_DEVICE_ID & 0xff) &&
	       f->config[PCI_DEVICE_ID + 1] == (PIIX3_ISA_DEVICE_ID >> 8);
}

static int piix3_ide_attach_pci(struct piix3_ide *s, const struct device_args *args)
{
	struct pci_bus *bus = s->dev->host->pci;
	int ret;

	pci_function_init(&s->pci, s->dev, PIIX3_VENDOR_INTEL, PIIX3_IDE_DEVICE_ID,
			  PIIX3_IDE_CLASS, 0, 0, 0);
	ret = pci_function_add_bar(&s->pci, PIIX3_BMIBA_BAR, PCI_BAR_IO, BM_SIZE, &bm_ops);
	if (ret)
		return ret;
	/* Timing registers: the guest programs them; they change nothing here. */
	for (unsigned int off = PIIX3_IDETIM_PRI; off <= PIIX3_SIDETIM; off++)
		s->pci.wmask[off] = 0xff;
	piix3_ide_pci_defaults(s);
	if (!bus)
		return 0;   /* a machine without PCI: legacy PIO only */
	/* Function 1 of the PIIX3 when the ISA bridge is there, as on every
	 * PIIX3 board; else a slot of our own (Linux scans function 0 first). */
	if (piix3_isa_bridge_at(bus, PIIX3_ISA_SLOT))
		return pci_bus_attach(bus, &s->pci, PIIX3_ISA_SLOT, PIIX3_IDE_FUNC);
	return pci_bus_attach(bus, &s->pci, args->pci_slot ? args->pci_slot : -1, 0);
}

static int piix3_ide_add_drives(struct piix3_ide *s, const struct device_args *args)
{
	for (unsigned int i = 0; i < args->nr_drives; i++) {
		const struct drive_args *da = &args->drives[i];
		struct ata_drive_config cfg = {
			.img = da->img, .atapi = da->cdrom, .readonly = da->readonly,
			.sata = false, .serial = da->serial, .log_dev = s->dev,
		};
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
		ret = ata_drive_init(&d->ata, &cfg);
		if (ret)
			return ret;
		d->present = true;
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
	for (unsigned int i = 0; i < 2; i++) {
		io_inflight_init(&s->ch[i].inflight, &dev->lock);
		s->ch[i].ide = s;
		s->ch[i].index = i;
		s->ch[i].irq = device_irq_line(dev, ide_gsis[i]);
	}
	ret = piix3_ide_add_drives(s, args);
	if (!ret)
		ret = piix3_ide_attach_pci(s, args);
	for (unsigned int i = 0; i < 2 && !ret; i++) {
		ret = bus_register(dev->host->pio, ide_cmd_ports[i], IDE_CMD_LEN, &ide_cmd_ops[i],
				   dev, i ? "ide1-cmd" : "ide0-cmd");
		if (!ret)
			ret = bus_register(dev->host->pio, ide_ctl_ports[i], IDE_CTL_LEN,
					   &ide_ctl_ops[i], dev, i ? "ide1-ctl" : "ide0-ctl");
	}
	if (ret)
		return ret;
	s->worker = io_worker_start("ide-io", 1, ide_worker, s);
	return s->worker ? 0 : -errno;
}

static void piix3_ide_reset(struct device *dev)
{
	struct piix3_ide *s = dev->priv;

	if (s->pci.bus)
		pci_function_reset(&s->pci);
	piix3_ide_pci_defaults(s);
	for (unsigned int i = 0; i < 2; i++) {
		struct ide_channel *ch = &s->ch[i];

		/* First the command in flight stops: then the drives are ours. */
		ide_abort_phase(ch);
		for (unsigned int u = 0; u < 2; u++)
			if (ch->drive[u].present)
				ata_drive_reset(&ch->drive[u].ata);
		ch->devctl = 0;
		ch->bm_cmd = 0;
		ch->bm_status = 0;
		ch->bm_prdt = 0;
		ide_channel_reset_devices(ch);
		ide_buf_trim(ch);
		ch->irq_level = 0;
		irq_line_set(&ch->irq, 0);
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
		free(s->ch[i].buf);
		io_inflight_destroy(&s->ch[i].inflight);
	}
	io_req_free(&s->req);
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

static void save_result(struct sv_writer *w, const struct ata_result *res)
{
	sv_put_u8(w, res->status);
	sv_put_u8(w, res->error);
	sv_put_u8(w, res->device);
	sv_put_u16(w, res->count);
	sv_put_u64(w, res->lba);
}

static void load_result(struct sv_reader *r, struct ata_result *res)
{
	res->status = sv_get_u8(r);
	res->error = sv_get_u8(r);
	res->device = sv_get_u8(r);
	res->count = sv_get_u16(r);
	res->lba = sv_get_u64(r);
}

/* Bytes of ch->buf that matter in this phase (data the host moved or will
 * read; a command still on the I/O thread re-reads its data). */
static uint32_t ide_saved_data_len(const struct ide_channel *ch)
{
	if (ch->phase == PH_PIO_IN || ch->phase == PH_PIO_OUT ||
	    (ch->phase == PH_EXEC && ch->x.dir == ATA_DIR_OUT))
		return ch->x.len;
	return 0;
}

/*
 * A command in progress is saved as its input (task file, packet), where
 * it is, and its PIO data; load decodes it again with ata_begin(), which
 * depends only on that input and the drive's saved settings.  A command
 * that was on the I/O thread (BSY, or a started DMA) runs again from its
 * start after a load.
 */
static void save_channel(struct sv_writer *w, const struct ide_channel *ch)
{
	uint32_t data_len = ide_saved_data_len(ch);

	sv_put_u8(w, (uint8_t)ch->unit);
	sv_put_u8(w, ch->devctl);
	sv_put_u8(w, ch->intrq);
	sv_put_u8(w, ch->bm_cmd);
	sv_put_u8(w, ch->bm_status);
	sv_put_u32(w, ch->bm_prdt);
	sv_put_u8(w, (uint8_t)ch->phase);
	sv_put_u8(w, (uint8_t)ch->xunit);
	sv_put_u8(w, ch->cmd.command);
	sv_put_u8(w, ch->cmd.device);
	sv_put_u16(w, ch->cmd.features);
	sv_put_u16(w, ch->cmd.count);
	sv_put_u64(w, ch->cmd.lba);
	sv_put_u8(w, ch->has_cdb);
	sv_put_bytes(w, ch->cdb, sizeof(ch->cdb));
	sv_put_u32(w, ch->pos);
	sv_put_u32(w, ch->blk_end);
	save_result(w, &ch->x.res);
	sv_put_u32(w, data_len);
	if (data_len)
		sv_put_bytes(w, ch->buf, data_len);
}

static int piix3_ide_save(struct device *dev, struct sv_writer *w)
{
	struct piix3_ide *s = dev->priv;
	int ret;

	sv_put_u8(w, s->pci.bus != NULL);
	if (s->pci.bus) {
		ret = pci_function_save(&s->pci, w);
		if (ret)
			return ret;
	}
	for (unsigned int i = 0; i < 2; i++) {
		for (unsigned int u = 0; u < 2; u++) {
			struct ide_drive *d = &s->ch[i].drive[u];

			sv_put_u8(w, d->present);
			save_taskfile(w, &d->tf);
			save_taskfile(w, &d->hob);
			sv_put_u8(w, d->device);
			sv_put_u8(w, d->status);
			sv_put_u8(w, d->error);
			if (d->present)
				ata_drive_save(&d->ata, w);
		}
		save_channel(w, &s->ch[i]);
	}
	return 0;
}

static int load_channel(struct sv_reader *r, struct ide_channel *ch)
{
	struct ide_drive *d;
	struct ata_result res;
	uint32_t data_len;

	ide_abort_phase(ch);
	ch->unit = sv_get_u8(r);
	ch->devctl = sv_get_u8(r);
	ch->intrq = sv_get_u8(r);
	ch->bm_cmd = sv_get_u8(r) & BM_CMD_MASK;
	ch->bm_status = sv_get_u8(r);
	ch->bm_prdt = sv_get_u32(r) & PRDT_ADDR_MASK;
	ch->phase = sv_get_u8(r);
	ch->xunit = sv_get_u8(r);
	ch->cmd.command = sv_get_u8(r);
	ch->cmd.device = sv_get_u8(r);
	ch->cmd.features = sv_get_u16(r);
	ch->cmd.count = sv_get_u16(r);
	ch->cmd.lba = sv_get_u64(r);
	ch->has_cdb = sv_get_u8(r);
	sv_get_bytes(r, ch->cdb, sizeof(ch->cdb));
	ch->pos = sv_get_u32(r);
	ch->blk_end = sv_get_u32(r);
	load_result(r, &res);
	data_len = sv_get_u32(r);
	if (!sv_reader_ok(r, false) || ch->unit > 1 || ch->xunit > 1 || ch->phase > PH_DMA)
		return -EINVAL;
	d = &ch->drive[ch->xunit];
	if (ch->phase != PH_IDLE && !d->present)
		return -EINVAL;
	switch (ch->phase) {
	case PH_IDLE:
		if (data_len)
			return -EINVAL;
		break;
	case PH_PACKET:
		if (!ata_is_atapi(&d->ata) || ch->pos >= ATAPI_CDB_LEN || (ch->pos & 1) || data_len)
			return -EINVAL;
		break;
	case PH_EXEC:
	case PH_PIO_IN:
	case PH_PIO_OUT:
	case PH_DMA:
		if (ch->has_cdb && !ata_is_atapi(&d->ata))
			return -EINVAL;
		ata_begin(&d->ata, &ch->cmd, ch->has_cdb ? ch->cdb : NULL, &ch->x);
		if (data_len != ide_saved_data_len(ch) || ch->pos > ch->blk_end ||
		    ch->blk_end > ch->x.len || (ch->phase == PH_DMA) != ch->x.dma)
			return -EINVAL;
		if (ch->phase != PH_DMA && ide_buf_reserve(ch, ch->x.len))
			return -ENOMEM;
		if (data_len)
			sv_get_bytes(r, ch->buf, data_len);
		ch->x.res = res;
		ch->queued = ch->phase == PH_EXEC ||
			     (ch->phase == PH_DMA && (ch->bm_cmd & BM_CMD_START));
		break;
	}
	ch->irq_level = ch->intrq && !(ch->devctl & CTL_NIEN);
	irq_line_set(&ch->irq, ch->irq_level);
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
	/* A command still running would complete into the loaded drives. */
	for (unsigned int i = 0; i < 2; i++)
		ide_abort_phase(&s->ch[i]);
	for (unsigned int i = 0; i < 2; i++) {
		for (unsigned int u = 0; u < 2; u++) {
			struct ide_drive *d = &s->ch[i].drive[u];

			/* The drives are configuration: they must match. */
			if (sv_get_u8(r) != d->present)
				return -EINVAL;
			load_taskfile(r, &d->tf);
			load_taskfile(r, &d->hob);
			d->device = sv_get_u8(r);
			d->status = sv_get_u8(r);
			d->error = sv_get_u8(r);
			if (d->present && ata_drive_load(&d->ata, r))
				return -EINVAL;
		}
		if (load_channel(r, &s->ch[i]))
			return -EINVAL;
		kick |= s->ch[i].queued;
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
