// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ATA/ATAPI command layer (see ata.h): identity data, command decoding
 * and execution for one ATA disk or ATAPI CD/DVD drive, independent of
 * the transport (AHCI or IDE).
 *
 * References: ACS-3 (T13/2161-D) for ATA commands and IDENTIFY words,
 * SATA 3.x for the NCQ error log, MMC-6 and SPC-4 for the ATAPI (SCSI)
 * commands, sense codes and mode pages.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ata.h"
#include "block.h"
#include "io_worker.h"
#include "device.h"
#include "savestate.h"

/* ---- ATA opcodes (ACS-3 table 206) ---- */
#define CMD_NOP                  0x00
#define CMD_DSM                  0x06
#define CMD_RECALIBRATE          0x10  /* 0x10..0x1f, obsolete */
#define CMD_READ_SECTORS         0x20
#define CMD_READ_SECTORS_NR      0x21
#define CMD_READ_SECTORS_EXT     0x24
#define CMD_READ_DMA_EXT         0x25
#define CMD_READ_NATIVE_MAX_EXT  0x27
#define CMD_READ_MULTIPLE_EXT    0x29
#define CMD_READ_LOG_EXT         0x2f
#define CMD_WRITE_SECTORS        0x30
#define CMD_WRITE_SECTORS_NR     0x31
#define CMD_WRITE_SECTORS_EXT    0x34
#define CMD_WRITE_DMA_EXT        0x35
#define CMD_WRITE_MULTIPLE_EXT   0x39
#define CMD_WRITE_DMA_FUA_EXT    0x3d
#define CMD_READ_VERIFY          0x40
#define CMD_READ_VERIFY_NR       0x41
#define CMD_READ_VERIFY_EXT      0x42
#define CMD_READ_LOG_DMA_EXT     0x47
#define CMD_EXEC_DIAGNOSTIC      0x90
#define CMD_INIT_DEV_PARAMS      0x91
#define CMD_STANDBY_IMMEDIATE_O  0x94  /* pre-ATA-4 power opcodes */
#define CMD_SLEEP_O              0x99
#define CMD_CHECK_POWER_MODE_O   0x98
#define CMD_IDENTIFY_PACKET      0xa1
#define CMD_SMART                0xb0
#define CMD_READ_MULTIPLE        0xc4
#define CMD_WRITE_MULTIPLE       0xc5
#define CMD_SET_MULTIPLE         0xc6
#define CMD_READ_DMA             0xc8
#define CMD_READ_DMA_NR          0xc9
#define CMD_WRITE_DMA            0xca
#define CMD_WRITE_DMA_NR         0xcb
#define CMD_WRITE_MULTIPLE_FUA_EXT 0xce
#define CMD_STANDBY_IMMEDIATE    0xe0
#define CMD_IDLE_IMMEDIATE       0xe1
#define CMD_STANDBY              0xe2
#define CMD_IDLE                 0xe3
#define CMD_CHECK_POWER_MODE     0xe5
#define CMD_SLEEP                0xe6
#define CMD_FLUSH_CACHE          0xe7
#define CMD_FLUSH_CACHE_EXT      0xea
#define CMD_IDENTIFY             0xec
#define CMD_SET_FEATURES         0xef
#define CMD_READ_NATIVE_MAX      0xf8

/* SET FEATURES subcommands (features register) */
#define SF_ENABLE_WCACHE   0x02
#define SF_XFER_MODE       0x03
#define SF_DISABLE_RLA     0x55
#define SF_DISABLE_REVERT  0x66
#define SF_DISABLE_WCACHE  0x82
#define SF_ENABLE_RLA      0xaa
#define SF_ENABLE_REVERT   0xcc

/* SET FEATURES 03h transfer mode values (count register) */
#define XFER_PIO_DEFAULT   0x00
#define XFER_PIO_NOIORDY   0x01
#define XFER_PIO_FLOW      0x08  /* | mode 0..4 */
#define XFER_MWDMA         0x20  /* | mode 0..2 */
#define XFER_UDMA          0x40  /* | mode 0..6 */

/* DATA SET MANAGEMENT */
#define DSM_TRIM           0x01  /* features bit 0 */
#define DSM_MAX_BLOCKS     8     /* IDENTIFY word 105: 512-byte blocks of ranges */

/* General-purpose logs */
#define LOG_DIRECTORY      0x00
#define LOG_NCQ_ERROR      0x10

#define MAX_MULTIPLE       16    /* IDENTIFY word 47 */
#define DEFAULT_HEADS      16
#define DEFAULT_SPT        63
#define LBA28_MAX          0x0fffffffull
#define LBA48_MAX          0xffffffffffffull

/* ---- SCSI / MMC opcodes used over ATAPI ---- */
#define SCSI_TEST_UNIT_READY     0x00
#define SCSI_REQUEST_SENSE       0x03
#define SCSI_INQUIRY             0x12
#define SCSI_MODE_SELECT_10      0x55
#define SCSI_START_STOP_UNIT     0x1b
#define SCSI_PREVENT_ALLOW       0x1e
#define SCSI_READ_CAPACITY       0x25
#define SCSI_READ_10             0x28
#define SCSI_SEEK_10             0x2b
#define SCSI_READ_TOC            0x43
#define SCSI_GET_CONFIGURATION   0x46
#define SCSI_GET_EVENT_STATUS    0x4a
#define SCSI_READ_DISC_INFO      0x51
#define SCSI_READ_TRACK_INFO     0x52
#define SCSI_MODE_SENSE_10       0x5a
#define SCSI_READ_12             0xa8
#define SCSI_SET_CD_SPEED        0xbb
#define SCSI_MECHANISM_STATUS    0xbd

/* Sense keys (SPC-4 table 44) */
#define SENSE_NONE               0x00
#define SENSE_NOT_READY          0x02
#define SENSE_MEDIUM_ERROR       0x03
#define SENSE_ILLEGAL_REQUEST    0x05
#define SENSE_UNIT_ATTENTION     0x06
#define SENSE_ABORTED_COMMAND    0x0b

/* Additional sense codes (ASC, ASCQ) */
#define ASC_UNRECOVERED_READ     0x11, 0x00
#define ASC_INVALID_OPCODE       0x20, 0x00
#define ASC_LBA_OUT_OF_RANGE     0x21, 0x00
#define ASC_INVALID_FIELD_CDB    0x24, 0x00
#define ASC_MEDIUM_CHANGED       0x28, 0x00
#define ASC_SAVING_NOT_SUPPORTED 0x39, 0x00
#define ASC_NO_MEDIUM_TRAY_CLOSED 0x3a, 0x01
#define ASC_NO_MEDIUM_TRAY_OPEN  0x3a, 0x02
#define ASC_REMOVAL_PREVENTED    0x53, 0x02
#define ASC_NONE                 0x00, 0x00

/* MMC profiles and features (MMC-6 5.3) */
#define PROFILE_NONE             0x0000
#define PROFILE_CDROM            0x0008
#define PROFILE_DVDROM           0x0010
#define FEAT_PROFILE_LIST        0x0000
#define FEAT_CORE                0x0001
#define FEAT_MORPHING            0x0002
#define FEAT_REMOVABLE           0x0003
#define FEAT_RANDOM_READABLE     0x0010
#define FEAT_CD_READ             0x001e
#define FEAT_DVD_READ            0x001f
#define INTERFACE_ATAPI          0x00000002
#define INTERFACE_SERIAL_ATAPI   0x00000007

/* GET EVENT STATUS NOTIFICATION media events (MMC-6 table 150) */
#define MEDIA_EV_NONE            0
#define MEDIA_EV_EJECT_REQUEST   1
#define MEDIA_EV_NEW_MEDIA       2
#define MEDIA_EV_REMOVAL         3
#define GESN_CLASS_MEDIA         4
#define GESN_NEA                 0x80

/* Mode pages */
#define MODE_PAGE_ERROR_RECOVERY 0x01
#define MODE_PAGE_CD_DEVICE      0x0d
#define MODE_PAGE_CAPABILITIES   0x2a
#define MODE_PAGE_ALL            0x3f

/* A CD holds at most 80 minutes of 75 frames: bigger media are DVDs. */
#define CD_MAX_SECTORS           (80u * 60u * 75u)
/* MSF addresses count from 00:02:00 (150 frames of lead-in). */
#define MSF_OFFSET               150u

enum ata_op {
	OP_NONE,        /* outcome decided in ata_begin (x->pre) */
	OP_EMUL_IN,     /* copy x->emul to the host */
	OP_READ,        /* sectors from the medium */
	OP_WRITE,       /* sectors to the medium */
	OP_FLUSH,
	OP_DSM,         /* TRIM ranges from the host */
};

#define FW_REV       "1.0"
#define MODEL_DISK   "HUTCH HARDDISK"
#define MODEL_CD     "HUTCH DVD-ROM"
#define INQ_VENDOR   "HUTCH"
#define INQ_PRODUCT  "DVD-ROM"

static inline void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put_be24(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 16);
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)v;
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* ---- identity ---- */

/* IDENTIFY strings: space padded, two characters per word, first in the high byte. */
static void id_string(uint16_t *words, unsigned int nwords, const char *s)
{
	size_t n = strlen(s);

	for (unsigned int i = 0; i < nwords * 2; i++) {
		uint8_t c = i < n ? (uint8_t)s[i] : ' ';

		if (i & 1)
			words[i / 2] |= c;
		else
			words[i / 2] = (uint16_t)(c << 8);
	}
}

/* Word 255: signature A5h and a checksum making all 512 bytes sum to zero (ACS-3 7.12.7.92). */
static void id_checksum(uint16_t *w)
{
	uint8_t sum = 0xa5;

	for (int i = 0; i < 255; i++)
		sum += (uint8_t)(w[i] + (w[i] >> 8));
	w[255] = (uint16_t)(0x00a5 | (uint8_t)(-sum) << 8);
}

static void id_to_bytes(uint8_t *out, const uint16_t *w)
{
	for (int i = 0; i < 256; i++)
		put_le16(out + 2 * i, w[i]);
}

/* Words shared by disks and CD drives: strings, DMA/PIO modes, transport. */
static void id_common(const struct ata_drive *d, uint16_t *w, const char *model)
{
	uint8_t mode = d->xfer_mode;

	id_string(&w[10], 10, d->serial);
	id_string(&w[23], 4, FW_REV);
	id_string(&w[27], 20, model);
	w[53] = 0x0006;                 /* words 64-70 and 88 valid */
	w[63] = 0x0007;                 /* multiword DMA 0-2 supported */
	if ((mode & 0xf8) == XFER_MWDMA)
		w[63] |= (uint16_t)(0x100 << (mode & 7));
	w[64] = 0x0003;                 /* PIO 3 and 4 */
	w[65] = w[66] = w[67] = w[68] = 120; /* cycle times, ns */
	w[80] = 0x01f0;                 /* ATA/ATAPI-4 .. ATA8-ACS */
	w[88] = 0x003f;                 /* UDMA 0-5 supported */
	if ((mode & 0xf8) == XFER_UDMA && (mode & 7) <= 5)
		w[88] |= (uint16_t)(0x100 << (mode & 7));
	if (d->cfg.sata) {
		/* SATA capabilities: Gen1 and Gen2 speeds (word 76 bits 1-2). */
		w[76] = 0x0006;
	} else {
		/* PATA hardware reset result: device 0 passed, 80-wire cable
		 * detected (bit 13), so hosts may use UDMA > 2. */
		w[93] = 0x6001 | 0x0008;
	}
}

static void ata_identify_disk(const struct ata_drive *d, uint8_t *out)
{
	uint16_t w[256] = { 0 };
	uint64_t n = d->nsectors;
	uint64_t lba28 = n < LBA28_MAX ? n : LBA28_MAX;
	uint32_t cyls = (uint32_t)(n / (DEFAULT_HEADS * DEFAULT_SPT));
	uint64_t chs_cap;

	if (cyls > 16383)
		cyls = 16383;
	w[0] = 0x0040;                  /* fixed device, not removable */
	w[1] = (uint16_t)cyls;
	w[3] = DEFAULT_HEADS;
	w[6] = DEFAULT_SPT;
	id_common(d, w, MODEL_DISK);
	w[47] = 0x8000 | MAX_MULTIPLE;
	w[49] = 0x0b00;                 /* IORDY, LBA, DMA */
	w[50] = 0x4000;
	w[51] = w[52] = 0x0200;         /* obsolete PIO timing: mode 2 */
	/* Current CHS translation (INITIALIZE DEVICE PARAMETERS). */
	w[53] |= 0x0001;
	if (d->chs_heads && d->chs_sectors) {
		uint64_t c = n / ((uint64_t)d->chs_heads * d->chs_sectors);

		if (c > 65535)
			c = 65535;
		chs_cap = c * d->chs_heads * d->chs_sectors;
		w[54] = (uint16_t)c;
		w[55] = d->chs_heads;
		w[56] = d->chs_sectors;
		w[57] = (uint16_t)chs_cap;
		w[58] = (uint16_t)(chs_cap >> 16);
	}
	if (d->mult_sectors)
		w[59] = 0x0100 | d->mult_sectors;
	w[60] = (uint16_t)lba28;
	w[61] = (uint16_t)(lba28 >> 16);
	if (d->cfg.sata) {
		w[75] = ATA_NCQ_DEPTH - 1;
		w[76] |= 0x0100;        /* NCQ */
	}
	w[81] = 0;
	w[82] = 0x0068;                 /* write cache, look-ahead, power management */
	w[83] = 0x7400;                 /* FLUSH CACHE EXT, FLUSH CACHE, LBA48 */
	w[84] = 0x4040;                 /* WRITE DMA FUA EXT */
	w[85] = (uint16_t)(0x0048 | (d->write_cache ? 0x0020 : 0));
	w[86] = 0x3400;
	w[87] = 0x4040;
	w[100] = (uint16_t)n;
	w[101] = (uint16_t)(n >> 16);
	w[102] = (uint16_t)(n >> 32);
	w[103] = (uint16_t)(n >> 48);
	w[106] = 0x4000;                /* one 512-byte logical sector per physical */
	if (d->discard) {
		w[105] = DSM_MAX_BLOCKS;
		w[169] = 0x0001;        /* DATA SET MANAGEMENT with TRIM */
		w[217] = 0x0001;        /* non-rotating medium */
	}
	id_checksum(w);
	id_to_bytes(out, w);
}

static void ata_identify_packet(const struct ata_drive *d, uint8_t *out)
{
	uint16_t w[256] = { 0 };

	/* ATAPI, CD-ROM device type, removable, DRQ within 50 us, 12-byte CDBs. */
	w[0] = 0x85c0;
	id_common(d, w, MODEL_CD);
	w[49] = 0x0300;                 /* LBA, DMA */
	w[82] = 0x0210;                 /* PACKET, DEVICE RESET */
	w[83] = 0x4000;
	w[84] = 0x4000;
	w[85] = 0x0210;
	w[87] = 0x4000;
	id_checksum(w);
	id_to_bytes(out, w);
}

/* ---- results ---- */

static void res_ok(struct ata_result *r)
{
	memset(r, 0, sizeof(*r));
	r->status = ATA_SR_DRDY | ATA_SR_DSC;
}

static void res_err(struct ata_result *r, uint8_t error)
{
	memset(r, 0, sizeof(*r));
	r->status = ATA_SR_DRDY | ATA_SR_ERR;
	r->error = error;
}

/* Outcome known now: no data phase. */
static void pre_ok(struct ata_xfer *x)
{
	x->op = OP_NONE;
	x->dir = ATA_DIR_NONE;
	x->len = 0;
	res_ok(&x->pre);
	x->pre_done = true;
}

static void pre_err(struct ata_xfer *x, uint8_t error)
{
	x->op = OP_NONE;
	x->dir = ATA_DIR_NONE;
	x->len = 0;
	res_err(&x->pre, error);
	x->pre_done = true;
}

void ata_signature(const struct ata_drive *d, struct ata_result *res)
{
	memset(res, 0, sizeof(*res));
	res->status = d->cfg.atapi ? 0 : ATA_SR_DRDY | ATA_SR_DSC;
	res->error = ATA_ER_AMNF;       /* diagnostic code 01h: no error */
	res->count = 1;
	res->lba = d->cfg.atapi ? 0xeb1401 : 0x000001;
}

/* ---- drive life cycle ---- */

static void drive_update_capacity(struct ata_drive *d)
{
	uint64_t bytes = d->img ? blk_size(d->img) : 0;

	if (d->cfg.atapi) {
		d->nsectors = bytes / ATAPI_SECTOR_SIZE;
	} else {
		d->nsectors = bytes / ATA_SECTOR_SIZE;
		if (d->nsectors > LBA48_MAX + 1)
			d->nsectors = LBA48_MAX + 1;
	}
	d->discard = !d->cfg.atapi && d->img && !d->cfg.readonly &&
		     (blk_caps(d->img) & BLK_CAP_DISCARD);
}

int ata_drive_init(struct ata_drive *d, const struct ata_drive_config *cfg)
{
	if (!cfg->atapi && !cfg->img)
		return -EINVAL;
	memset(d, 0, sizeof(*d));
	d->cfg = *cfg;
	d->img = cfg->img;
	if (cfg->serial && cfg->serial[0])
		snprintf(d->serial, sizeof(d->serial), "%s", cfg->serial);
	else
		snprintf(d->serial, sizeof(d->serial), "HUTCH%c%08lX", cfg->atapi ? 'C' : 'D',
			 (unsigned long)((uintptr_t)d & 0xffffffffu));
	d->cfg.serial = NULL;           /* the caller's string need not outlive init */
	drive_update_capacity(d);
	ata_drive_reset(d);
	return 0;
}

void ata_drive_reset(struct ata_drive *d)
{
	d->mult_sectors = MAX_MULTIPLE;
	d->xfer_mode = XFER_UDMA | 5;
	d->write_cache = true;
	d->chs_heads = DEFAULT_HEADS;
	d->chs_sectors = DEFAULT_SPT;
	d->ncq_err_valid = false;
	/* Media state and the lock survive a bus reset, as on a real drive;
	 * a reset (Linux resets on probe) does not lose a pending change. */
	d->sense_key = SENSE_NONE;
	d->asc = d->ascq = 0;
	d->locked = false;
}

/* ---- ATA decoding ---- */

static bool cmd_is_lba48(uint8_t cmd)
{
	switch (cmd) {
	case CMD_READ_SECTORS_EXT: case CMD_READ_DMA_EXT: case CMD_READ_MULTIPLE_EXT:
	case CMD_WRITE_SECTORS_EXT: case CMD_WRITE_DMA_EXT: case CMD_WRITE_MULTIPLE_EXT:
	case CMD_WRITE_DMA_FUA_EXT: case CMD_WRITE_MULTIPLE_FUA_EXT: case CMD_READ_VERIFY_EXT:
	case ATA_CMD_READ_FPDMA_QUEUED: case ATA_CMD_WRITE_FPDMA_QUEUED:
		return true;
	default:
		return false;
	}
}

/* The first sector a 28-bit or 48-bit command addresses; false for a bad CHS address. */
static bool tf_sector(const struct ata_drive *d, const struct ata_taskfile *tf, bool lba48,
		      uint64_t *out)
{
	if (lba48) {
		*out = tf->lba & LBA48_MAX;
		return true;
	}
	if (tf->device & ATA_DEV_LBA) {
		*out = (tf->lba & 0xffffff) | (uint64_t)(tf->device & 0x0f) << 24;
		return true;
	}
	/* CHS: sector number (1-based), cylinder low/high, head in device[3:0]. */
	{
		unsigned int sect = tf->lba & 0xff;
		unsigned int cyl = (tf->lba >> 8) & 0xffff;
		unsigned int head = tf->device & 0x0f;

		if (!sect || sect > d->chs_sectors || head >= d->chs_heads)
			return false;
		*out = ((uint64_t)cyl * d->chs_heads + head) * d->chs_sectors + sect - 1;
		return true;
	}
}

/* A read or write of @nsect sectors at the decoded address, checked against the capacity. */
static void ata_begin_rw(struct ata_drive *d, const struct ata_taskfile *tf, struct ata_xfer *x,
			 bool write, bool dma, uint32_t drq_sectors, uint32_t nsect)
{
	uint64_t sector = 0;

	if (!tf_sector(d, tf, cmd_is_lba48(tf->command), &sector) ||
	    sector > d->nsectors || nsect > d->nsectors - sector) {
		device_log(d->cfg.log_dev,
			   "ATA command %02x: sectors %llu+%u not on the disk (%llu sectors, or bad CHS)",
			   tf->command, (unsigned long long)sector, nsect,
			   (unsigned long long)d->nsectors);
		pre_err(x, ATA_ER_IDNF | ATA_ER_ABRT);
		return;
	}
	if (write && d->cfg.readonly) {
		pre_err(x, ATA_ER_ABRT);
		return;
	}
	x->op = write ? OP_WRITE : OP_READ;
	x->dir = write ? ATA_DIR_OUT : ATA_DIR_IN;
	x->dma = dma;
	x->sector = sector;
	x->nsect = nsect;
	x->len = nsect * ATA_SECTOR_SIZE;
	x->drq_block = drq_sectors * ATA_SECTOR_SIZE;
	if (x->drq_block > x->len)
		x->drq_block = x->len;
	res_ok(&x->pre);
}

static uint32_t count28(const struct ata_taskfile *tf)
{
	return (tf->count & 0xff) ? (tf->count & 0xff) : 256;
}

static uint32_t count48(uint16_t c)
{
	return c ? c : 65536;
}

static void ata_begin_emul(struct ata_xfer *x, uint32_t len)
{
	x->op = OP_EMUL_IN;
	x->dir = ATA_DIR_IN;
	x->len = len;
	x->drq_block = len;
	res_ok(&x->pre);
}

/* SET FEATURES (ACS-3 7.45) */
static void ata_set_features(struct ata_drive *d, const struct ata_taskfile *tf, struct ata_xfer *x)
{
	uint8_t mode = tf->count & 0xff;

	switch (tf->features & 0xff) {
	case SF_ENABLE_WCACHE:
	case SF_DISABLE_WCACHE:
		if (d->cfg.atapi)
			break;
		d->write_cache = (tf->features & 0xff) == SF_ENABLE_WCACHE;
		pre_ok(x);
		return;
	case SF_XFER_MODE:
		if (mode == XFER_PIO_DEFAULT || mode == XFER_PIO_NOIORDY ||
		    ((mode & 0xf8) == XFER_PIO_FLOW && (mode & 7) <= 4) ||
		    ((mode & 0xf8) == XFER_MWDMA && (mode & 7) <= 2) ||
		    ((mode & 0xf8) == XFER_UDMA && (mode & 7) <= 5)) {
			/* A PIO mode selects no DMA mode: keep the DMA one (hosts set both). */
			if (mode & (XFER_MWDMA | XFER_UDMA))
				d->xfer_mode = mode;
			pre_ok(x);
			return;
		}
		break;
	case SF_ENABLE_RLA:
	case SF_DISABLE_RLA:
	case SF_ENABLE_REVERT:
	case SF_DISABLE_REVERT:
		pre_ok(x);
		return;
	}
	pre_err(x, ATA_ER_ABRT);
}

/* READ LOG (DMA) EXT (ACS-3 7.24): the directory and the NCQ command error log. */
static void ata_read_log(struct ata_drive *d, const struct ata_taskfile *tf, struct ata_xfer *x,
			 bool dma)
{
	uint8_t log = tf->lba & 0xff;
	uint16_t page = (tf->lba >> 8) & 0xffff;
	uint8_t *p = x->emul;
	uint8_t sum = 0;

	if (tf->count != 1 || page != 0) {
		pre_err(x, ATA_ER_ABRT);
		return;
	}
	memset(p, 0, 512);
	switch (log) {
	case LOG_DIRECTORY:
		put_le16(p, 0x0001);                 /* GPL version */
		put_le16(p + 2 * LOG_NCQ_ERROR, 1);  /* one page of log 10h */
		break;
	case LOG_NCQ_ERROR:
		if (d->ncq_err_valid) {
			p[0] = d->ncq_err_tag & 0x1f;
			p[2] = d->ncq_err_status;
			p[3] = d->ncq_err_error;
		} else {
			p[0] = 0x80;                 /* NQ: no queued command failed */
		}
		/* Reading the log ends the error condition (SATA 3.x 13.7.4). */
		d->ncq_err_valid = false;
		for (int i = 0; i < 511; i++)
			sum += p[i];
		p[511] = (uint8_t)-sum;
		break;
	default:
		pre_err(x, ATA_ER_ABRT);
		return;
	}
	ata_begin_emul(x, 512);
	x->dma = dma;
}

static void ata_begin_disk(struct ata_drive *d, const struct ata_taskfile *tf, struct ata_xfer *x)
{
	uint8_t cmd = tf->command;
	uint32_t mult = d->mult_sectors;

	switch (cmd) {
	case CMD_READ_SECTORS: case CMD_READ_SECTORS_NR:
		ata_begin_rw(d, tf, x, false, false, 1, count28(tf));
		return;
	case CMD_READ_SECTORS_EXT:
		ata_begin_rw(d, tf, x, false, false, 1, count48(tf->count));
		return;
	case CMD_WRITE_SECTORS: case CMD_WRITE_SECTORS_NR:
		ata_begin_rw(d, tf, x, true, false, 1, count28(tf));
		return;
	case CMD_WRITE_SECTORS_EXT:
		ata_begin_rw(d, tf, x, true, false, 1, count48(tf->count));
		return;
	case CMD_READ_MULTIPLE: case CMD_WRITE_MULTIPLE:
	case CMD_READ_MULTIPLE_EXT: case CMD_WRITE_MULTIPLE_EXT: case CMD_WRITE_MULTIPLE_FUA_EXT:
		if (!mult) {
			pre_err(x, ATA_ER_ABRT);    /* SET MULTIPLE MODE not done */
			return;
		}
		ata_begin_rw(d, tf, x, cmd != CMD_READ_MULTIPLE && cmd != CMD_READ_MULTIPLE_EXT,
			     false, mult, cmd_is_lba48(cmd) ? count48(tf->count) : count28(tf));
		x->fua = cmd == CMD_WRITE_MULTIPLE_FUA_EXT;
		return;
	case CMD_READ_DMA: case CMD_READ_DMA_NR:
		ata_begin_rw(d, tf, x, false, true, 0, count28(tf));
		return;
	case CMD_READ_DMA_EXT:
		ata_begin_rw(d, tf, x, false, true, 0, count48(tf->count));
		return;
	case CMD_WRITE_DMA: case CMD_WRITE_DMA_NR:
		ata_begin_rw(d, tf, x, true, true, 0, count28(tf));
		return;
	case CMD_WRITE_DMA_EXT: case CMD_WRITE_DMA_FUA_EXT:
		ata_begin_rw(d, tf, x, true, true, 0, count48(tf->count));
		x->fua = cmd == CMD_WRITE_DMA_FUA_EXT;
		return;
	case ATA_CMD_READ_FPDMA_QUEUED: case ATA_CMD_WRITE_FPDMA_QUEUED:
		/* NCQ (SATA 3.x 13.6.4): count in features, tag in count[7:3]. */
		if (!d->cfg.sata) {
			pre_err(x, ATA_ER_ABRT);
			return;
		}
		x->ncq = true;
		x->tag = (tf->count >> 3) & 0x1f;
		ata_begin_rw(d, tf, x, cmd == ATA_CMD_WRITE_FPDMA_QUEUED, true, 0,
			     count48(tf->features));
		x->fua = !!(tf->device & ATA_DEV_FUA);
		return;
	case CMD_READ_VERIFY: case CMD_READ_VERIFY_NR: case CMD_READ_VERIFY_EXT:
		ata_begin_rw(d, tf, x, false, false, 0,
			     cmd == CMD_READ_VERIFY_EXT ? count48(tf->count) : count28(tf));
		if (x->op == OP_READ)       /* in range: nothing to move */
			pre_ok(x);
		return;
	case CMD_FLUSH_CACHE: case CMD_FLUSH_CACHE_EXT:
		x->op = OP_FLUSH;
		res_ok(&x->pre);
		return;
	case CMD_DSM:
		/* TRIM only, where the image can discard; ranges come by DMA. */
		if (!d->discard || !(tf->features & DSM_TRIM) || !tf->count ||
		    tf->count > DSM_MAX_BLOCKS) {
			pre_err(x, ATA_ER_ABRT);
			return;
		}
		x->op = OP_DSM;
		x->dir = ATA_DIR_OUT;
		x->dma = true;
		x->len = tf->count * ATA_SECTOR_SIZE;
		res_ok(&x->pre);
		return;
	case CMD_IDENTIFY:
		ata_identify_disk(d, x->emul);
		ata_begin_emul(x, 512);
		return;
	case CMD_SET_MULTIPLE: {
		uint8_t n = tf->count & 0xff;

		/* A power of two up to word 47's maximum; 0 disables. */
		if (n > MAX_MULTIPLE || (n & (n - 1))) {
			pre_err(x, ATA_ER_ABRT);
			return;
		}
		d->mult_sectors = n;
		pre_ok(x);
		return;
	}
	case CMD_INIT_DEV_PARAMS: {
		uint8_t spt = tf->count & 0xff;

		if (!spt) {
			pre_err(x, ATA_ER_ABRT);
			return;
		}
		d->chs_sectors = spt;
		d->chs_heads = (tf->device & 0x0f) + 1;
		pre_ok(x);
		return;
	}
	case CMD_READ_NATIVE_MAX:
	case CMD_READ_NATIVE_MAX_EXT: {
		uint64_t max = d->nsectors ? d->nsectors - 1 : 0;

		pre_ok(x);
		if (cmd == CMD_READ_NATIVE_MAX) {
			if (max > LBA28_MAX)
				max = LBA28_MAX;
			x->pre.lba = max & 0xffffff;
			x->pre.device = (uint8_t)(ATA_DEV_LBA | ((max >> 24) & 0x0f));
		} else {
			x->pre.lba = max;
			x->pre.device = ATA_DEV_LBA;
		}
		return;
	}
	case CMD_READ_LOG_EXT:
		ata_read_log(d, tf, x, false);
		return;
	case CMD_READ_LOG_DMA_EXT:
		ata_read_log(d, tf, x, true);
		return;
	case CMD_SMART:
		/* SMART is not advertised (word 82 bit 0): abort it. */
		pre_err(x, ATA_ER_ABRT);
		return;
	default:
		if ((cmd & 0xf0) == CMD_RECALIBRATE) {
			pre_ok(x);
			return;
		}
		pre_err(x, ATA_ER_ABRT);
		return;
	}
}

/* Commands both kinds of device take; false if @tf is none of them. */
static bool ata_begin_common(struct ata_drive *d, const struct ata_taskfile *tf, struct ata_xfer *x)
{
	switch (tf->command) {
	case CMD_EXEC_DIAGNOSTIC:
		pre_ok(x);
		ata_signature(d, &x->pre);
		return true;
	case CMD_CHECK_POWER_MODE: case CMD_CHECK_POWER_MODE_O:
		pre_ok(x);
		x->pre.count = 0xff;    /* active or idle */
		return true;
	case CMD_STANDBY_IMMEDIATE: case CMD_IDLE_IMMEDIATE: case CMD_STANDBY: case CMD_IDLE:
	case CMD_SLEEP:
	case CMD_STANDBY_IMMEDIATE_O: case CMD_STANDBY_IMMEDIATE_O + 1:
	case CMD_STANDBY_IMMEDIATE_O + 2: case CMD_STANDBY_IMMEDIATE_O + 3: case CMD_SLEEP_O:
		/* Power states are not modelled: the drive stays active. */
		pre_ok(x);
		return true;
	case CMD_SET_FEATURES:
		ata_set_features(d, tf, x);
		return true;
	}
	return false;
}

/* ---- ATAPI ---- */

static bool medium_present(const struct ata_drive *d)
{
	return d->img && !d->tray_open;
}

static bool is_dvd(const struct ata_drive *d)
{
	return d->nsectors > CD_MAX_SECTORS;
}

/* The packet ends with CHECK CONDITION: remember the sense for REQUEST SENSE. */
static void atapi_check(struct ata_drive *d, struct ata_xfer *x, uint8_t key, uint8_t asc,
			uint8_t ascq)
{
	d->sense_key = key;
	d->asc = asc;
	d->ascq = ascq;
	pre_err(x, (uint8_t)(key << 4));
	x->pre.count = ATAPI_IREASON_IO | ATAPI_IREASON_COD;
}

static void atapi_not_ready(struct ata_drive *d, struct ata_xfer *x)
{
	if (d->tray_open)
		atapi_check(d, x, SENSE_NOT_READY, ASC_NO_MEDIUM_TRAY_OPEN);
	else
		atapi_check(d, x, SENSE_NOT_READY, ASC_NO_MEDIUM_TRAY_CLOSED);
}

/* Data-in of @avail bytes built in x->emul; the host asked for up to @alloc. */
static void atapi_data_in(struct ata_xfer *x, uint32_t avail, uint32_t alloc)
{
	uint32_t len = avail < alloc ? avail : alloc;

	if (!len) {
		pre_ok(x);
		x->pre.count = ATAPI_IREASON_IO | ATAPI_IREASON_COD;
		return;
	}
	x->op = OP_EMUL_IN;
	x->dir = ATA_DIR_IN;
	x->len = len;
	res_ok(&x->pre);
}

static void lba_to_msf(uint8_t *p, uint32_t lba)
{
	uint32_t f = lba + MSF_OFFSET;

	p[0] = 0;
	p[1] = (uint8_t)(f / (60 * 75));
	p[2] = (uint8_t)((f / 75) % 60);
	p[3] = (uint8_t)(f % 75);
}

static void toc_address(uint8_t *p, uint32_t lba, bool msf)
{
	if (msf)
		lba_to_msf(p, lba);
	else
		put_be32(p, lba);
}

/* READ TOC/PMA/ATIP (MMC-6 6.39): a single data track. */
static int atapi_read_toc(const struct ata_drive *d, const uint8_t *cdb, uint8_t *p)
{
	bool msf = cdb[1] & 0x02;
	uint8_t format = cdb[2] & 0x0f;
	uint8_t track = cdb[6];
	uint32_t leadout = (uint32_t)d->nsectors;
	int n = 4;

	if (!format)
		format = cdb[9] >> 6;   /* the older place for the format */
	switch (format) {
	case 0:                         /* formatted TOC */
		if (track > 1 && track != 0xaa)
			return -1;
		p[2] = 1;               /* first track */
		p[3] = 1;               /* last track */
		if (track <= 1) {
			p[n + 1] = 0x14;        /* ADR 1, data track */
			p[n + 2] = 1;
			toc_address(p + n + 4, 0, msf);
			n += 8;
		}
		p[n + 1] = 0x14;
		p[n + 2] = 0xaa;                /* lead-out */
		toc_address(p + n + 4, leadout, msf);
		n += 8;
		break;
	case 1:                         /* session information */
		p[2] = 1;
		p[3] = 1;
		p[n + 1] = 0x14;
		p[n + 2] = 1;           /* first track in last session */
		toc_address(p + n + 4, 0, msf);
		n += 8;
		break;
	default:
		return -1;
	}
	put_be16(p, (uint16_t)(n - 2));
	return n;
}

/* One feature descriptor header; returns the bytes written. */
static int feature(uint8_t *p, uint16_t code, uint8_t version, bool current, uint8_t addlen)
{
	put_be16(p, code);
	p[2] = (uint8_t)(version << 2 | 0x02 /* persistent */ | (current ? 1 : 0));
	p[3] = addlen;
	return 4 + addlen;
}

/* GET CONFIGURATION (MMC-6 6.6). */
static int atapi_get_configuration(const struct ata_drive *d, const uint8_t *cdb, uint8_t *p)
{
	uint8_t rt = cdb[1] & 0x03;
	uint16_t start = get_be16(cdb + 2);
	bool media = medium_present(d);
	bool dvd = media && is_dvd(d);
	uint16_t profile = !media ? PROFILE_NONE : dvd ? PROFILE_DVDROM : PROFILE_CDROM;
	int n = 8;

	if (rt == 3)
		return -1;
	put_be16(p + 6, profile);
	struct { uint16_t code; bool current; } feats[] = {
		{ FEAT_PROFILE_LIST, true }, { FEAT_CORE, true }, { FEAT_MORPHING, true },
		{ FEAT_REMOVABLE, true }, { FEAT_RANDOM_READABLE, media },
		{ FEAT_CD_READ, media && !dvd }, { FEAT_DVD_READ, dvd },
	};
	for (size_t i = 0; i < sizeof(feats) / sizeof(feats[0]); i++) {
		uint8_t *f = p + n;

		if (feats[i].code < start)
			continue;
		if (rt == 1 && !feats[i].current)
			continue;
		if (rt == 2 && feats[i].code != start)
			continue;
		switch (feats[i].code) {
		case FEAT_PROFILE_LIST:
			n += feature(f, FEAT_PROFILE_LIST, 0, true, 8);
			put_be16(f + 4, PROFILE_DVDROM);
			f[6] = profile == PROFILE_DVDROM;
			put_be16(f + 8, PROFILE_CDROM);
			f[10] = profile == PROFILE_CDROM;
			break;
		case FEAT_CORE:
			n += feature(f, FEAT_CORE, 0, true, 4);
			put_be32(f + 4, d->cfg.sata ? INTERFACE_SERIAL_ATAPI : INTERFACE_ATAPI);
			break;
		case FEAT_MORPHING:
			n += feature(f, FEAT_MORPHING, 1, true, 4);
			f[4] = 0x02;    /* OCEvent: polled GESN works */
			break;
		case FEAT_REMOVABLE:
			n += feature(f, FEAT_REMOVABLE, 0, true, 4);
			f[4] = 0x20 | 0x08 | 0x01;      /* tray, eject, lock */
			break;
		case FEAT_RANDOM_READABLE:
			n += feature(f, FEAT_RANDOM_READABLE, 0, feats[i].current, 8);
			put_be32(f + 4, ATAPI_SECTOR_SIZE);
			put_be16(f + 8, dvd ? 16 : 1);  /* blocking */
			break;
		case FEAT_CD_READ:
			n += feature(f, FEAT_CD_READ, 0, feats[i].current, 4);
			break;
		case FEAT_DVD_READ:
			n += feature(f, FEAT_DVD_READ, 0, feats[i].current, 0);
			break;
		}
	}
	put_be32(p, (uint32_t)(n - 4));
	return n;
}

static int mode_page(const struct ata_drive *d, uint8_t page, uint8_t *p)
{
	switch (page) {
	case MODE_PAGE_ERROR_RECOVERY:
		p[0] = MODE_PAGE_ERROR_RECOVERY;
		p[1] = 10;
		p[3] = 5;               /* read retry count */
		return 12;
	case MODE_PAGE_CD_DEVICE:
		p[0] = MODE_PAGE_CD_DEVICE;
		p[1] = 6;
		put_be16(p + 4, 60);    /* S units per M unit */
		put_be16(p + 6, 75);    /* F units per S unit */
		return 8;
	case MODE_PAGE_CAPABILITIES:
		/* CD/DVD capabilities and mechanical status (MMC-3 5.5.10). */
		p[0] = MODE_PAGE_CAPABILITIES;
		p[1] = 20;
		p[2] = 0x08 | 0x02 | 0x01;      /* reads DVD-ROM, CD-RW, CD-R */
		p[4] = 0x40;                    /* multi-session */
		p[5] = 0x00;
		p[6] = 0x20 | 0x08 | 0x01 | (d->locked ? 0x02 : 0);  /* tray, eject, lock */
		put_be16(p + 8, 16 * 176);      /* max read speed, kB/s (16x) */
		put_be16(p + 12, 512);          /* buffer, KiB */
		put_be16(p + 14, 16 * 176);     /* current read speed */
		return 22;
	}
	return -1;
}

/* MODE SENSE(10) (SPC-4 6.14). */
static int atapi_mode_sense(const struct ata_drive *d, const uint8_t *cdb, uint8_t *p)
{
	uint8_t page = cdb[2] & 0x3f;
	int n = 8, m;

	if (page == MODE_PAGE_ALL) {
		n += mode_page(d, MODE_PAGE_ERROR_RECOVERY, p + n);
		n += mode_page(d, MODE_PAGE_CD_DEVICE, p + n);
		n += mode_page(d, MODE_PAGE_CAPABILITIES, p + n);
	} else {
		m = mode_page(d, page, p + n);
		if (m < 0)
			return -1;
		n += m;
	}
	put_be16(p, (uint16_t)(n - 2));
	return n;
}

/* GET EVENT STATUS NOTIFICATION, polled, media class only (MMC-6 6.7). */
static int atapi_event_status(struct ata_drive *d, const uint8_t *cdb, uint8_t *p)
{
	uint8_t classes = cdb[4];

	if (!(cdb[1] & 0x01))
		return -1;              /* asynchronous notification unsupported */
	p[3] = 1 << GESN_CLASS_MEDIA;
	if (!(classes & (1 << GESN_CLASS_MEDIA))) {
		put_be16(p, 2);
		p[2] = GESN_NEA;
		return 4;
	}
	put_be16(p, 6);
	p[2] = GESN_CLASS_MEDIA;
	p[4] = d->media_event;
	p[5] = (uint8_t)((d->tray_open ? 0x01 : 0) | (medium_present(d) ? 0x02 : 0));
	d->media_event = MEDIA_EV_NONE;
	return 8;
}

/* READ TRACK INFORMATION (MMC-6 6.36) for the one data track. */
static int atapi_track_info(const struct ata_drive *d, const uint8_t *cdb, uint8_t *p)
{
	uint32_t addr = get_be32(cdb + 2);

	switch (cdb[1] & 0x03) {
	case 0:                 /* the track holding LBA addr */
		if (addr >= d->nsectors)
			return -1;
		break;
	case 1:                 /* track number */
	case 2:                 /* first track of session number */
		if (addr != 1)
			return -1;
		break;
	default:
		return -1;
	}
	put_be16(p, 46);
	p[2] = 1;               /* track number */
	p[3] = 1;               /* session number */
	p[5] = 0x04;            /* data track, recorded uninterrupted */
	p[6] = 0x01;            /* data mode 1 */
	put_be32(p + 24, (uint32_t)d->nsectors);         /* track size */
	put_be32(p + 28, (uint32_t)d->nsectors - 1);     /* last recorded address */
	return 48;
}

static int atapi_inquiry(const uint8_t *cdb, uint8_t *p)
{
	if (cdb[1] & 0x01)
		return -1;              /* no vital product data pages */
	p[0] = 0x05;                    /* CD/DVD device */
	p[1] = 0x80;                    /* removable */
	p[2] = 0x05;                    /* SPC-3 */
	p[3] = 0x02;                    /* response data format 2 */
	p[4] = 36 - 5;
	memset(p + 8, ' ', 28);
	memcpy(p + 8, INQ_VENDOR, strlen(INQ_VENDOR));
	memcpy(p + 16, INQ_PRODUCT, strlen(INQ_PRODUCT));
	memcpy(p + 32, FW_REV, strlen(FW_REV));
	return 36;
}

static void atapi_begin_read(struct ata_drive *d, struct ata_xfer *x, uint32_t lba, uint32_t n)
{
	if (lba > d->nsectors || n > d->nsectors - lba) {
		atapi_check(d, x, SENSE_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
		return;
	}
	if ((uint64_t)n * ATAPI_SECTOR_SIZE > ATA_MAX_XFER) {
		atapi_check(d, x, SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD_CDB);
		return;
	}
	if (!n) {
		pre_ok(x);
		x->pre.count = ATAPI_IREASON_IO | ATAPI_IREASON_COD;
		return;
	}
	x->op = OP_READ;
	x->dir = ATA_DIR_IN;
	x->sector = lba;
	x->nsect = n;
	x->len = n * ATAPI_SECTOR_SIZE;
	res_ok(&x->pre);
}

static void atapi_begin(struct ata_drive *d, const struct ata_taskfile *tf, const uint8_t *cdb,
			struct ata_xfer *x)
{
	uint8_t op = cdb[0];
	uint8_t *p = x->emul;
	uint32_t bcl;
	int n;

	x->atapi = true;
	x->dma = tf->features & 0x01;
	memset(p, 0, sizeof(x->emul));

	/* A pending UNIT ATTENTION fails the next command, except those that
	 * report status without touching the medium (MMC-6 4.1.6.1, SPC-4). */
	if (d->unit_attention && op != SCSI_INQUIRY && op != SCSI_REQUEST_SENSE &&
	    op != SCSI_GET_CONFIGURATION && op != SCSI_GET_EVENT_STATUS) {
		d->unit_attention = false;
		atapi_check(d, x, SENSE_UNIT_ATTENTION, ASC_MEDIUM_CHANGED);
		goto out;
	}

	switch (op) {
	case SCSI_TEST_UNIT_READY:
		if (!medium_present(d))
			atapi_not_ready(d, x);
		else
			pre_ok(x);
		break;
	case SCSI_REQUEST_SENSE:
		/* Fixed format; reporting the sense clears it. */
		p[0] = 0x70;
		if (d->unit_attention && d->sense_key == SENSE_NONE) {
			d->unit_attention = false;
			d->sense_key = SENSE_UNIT_ATTENTION;
			d->asc = 0x28;
			d->ascq = 0;
		}
		p[2] = d->sense_key;
		p[7] = 10;
		p[12] = d->asc;
		p[13] = d->ascq;
		d->sense_key = SENSE_NONE;
		d->asc = d->ascq = 0;
		atapi_data_in(x, 18, cdb[4]);
		break;
	case SCSI_INQUIRY:
		n = atapi_inquiry(cdb, p);
		if (n < 0)
			atapi_check(d, x, SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD_CDB);
		else
			atapi_data_in(x, (uint32_t)n, get_be16(cdb + 3));
		break;
	case SCSI_READ_CAPACITY:
		if (!medium_present(d)) {
			atapi_not_ready(d, x);
			break;
		}
		put_be32(p, d->nsectors ? (uint32_t)(d->nsectors - 1) : 0);
		put_be32(p + 4, ATAPI_SECTOR_SIZE);
		atapi_data_in(x, 8, 8);
		break;
	case SCSI_READ_10:
	case SCSI_READ_12:
		if (!medium_present(d)) {
			atapi_not_ready(d, x);
			break;
		}
		atapi_begin_read(d, x, get_be32(cdb + 2),
				 op == SCSI_READ_10 ? get_be16(cdb + 7) : get_be32(cdb + 6));
		break;
	case SCSI_SEEK_10:
		if (!medium_present(d))
			atapi_not_ready(d, x);
		else if (get_be32(cdb + 2) >= d->nsectors)
			atapi_check(d, x, SENSE_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
		else
			pre_ok(x);
		break;
	case SCSI_READ_TOC:
		if (!medium_present(d)) {
			atapi_not_ready(d, x);
			break;
		}
		n = atapi_read_toc(d, cdb, p);
		if (n < 0)
			atapi_check(d, x, SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD_CDB);
		else
			atapi_data_in(x, (uint32_t)n, get_be16(cdb + 7));
		break;
	case SCSI_GET_CONFIGURATION:
		n = atapi_get_configuration(d, cdb, p);
		if (n < 0)
			atapi_check(d, x, SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD_CDB);
		else
			atapi_data_in(x, (uint32_t)n, get_be16(cdb + 7));
		break;
	case SCSI_MODE_SENSE_10:
		if ((cdb[2] >> 6) == 3) {
			atapi_check(d, x, SENSE_ILLEGAL_REQUEST, ASC_SAVING_NOT_SUPPORTED);
			break;
		}
		n = atapi_mode_sense(d, cdb, p);
		if (n < 0)
			atapi_check(d, x, SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD_CDB);
		else
			atapi_data_in(x, (uint32_t)n, get_be16(cdb + 7));
		break;
	case SCSI_GET_EVENT_STATUS:
		n = atapi_event_status(d, cdb, p);
		if (n < 0)
			atapi_check(d, x, SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD_CDB);
		else
			atapi_data_in(x, (uint32_t)n, get_be16(cdb + 7));
		break;
	case SCSI_START_STOP_UNIT: {
		bool start = cdb[4] & 0x01, loej = cdb[4] & 0x02;

		if (loej && !start) {
			if (d->locked) {
				atapi_check(d, x, SENSE_ILLEGAL_REQUEST, ASC_REMOVAL_PREVENTED);
				break;
			}
			if (!d->tray_open && d->img)
				d->media_event = MEDIA_EV_REMOVAL;
			d->tray_open = true;
		} else if (loej && start) {
			if (d->tray_open && d->img) {
				d->media_event = MEDIA_EV_NEW_MEDIA;
				d->unit_attention = true;
			}
			d->tray_open = false;
		}
		pre_ok(x);
		break;
	}
	case SCSI_PREVENT_ALLOW:
		d->locked = cdb[4] & 0x01;
		pre_ok(x);
		break;
	case SCSI_READ_DISC_INFO:
		if (!medium_present(d)) {
			atapi_not_ready(d, x);
			break;
		}
		if (cdb[1] & 0x07) {    /* only standard disc information */
			atapi_check(d, x, SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD_CDB);
			break;
		}
		put_be16(p, 32);
		p[2] = 0x0e;            /* last session complete, disc complete */
		p[3] = 1;               /* first track */
		p[4] = 1;               /* sessions */
		p[5] = 1;               /* first track in last session */
		p[6] = 1;               /* last track in last session */
		p[7] = 0x20;            /* unrestricted use */
		atapi_data_in(x, 34, get_be16(cdb + 7));
		break;
	case SCSI_READ_TRACK_INFO:
		if (!medium_present(d)) {
			atapi_not_ready(d, x);
			break;
		}
		n = atapi_track_info(d, cdb, p);
		if (n < 0)
			atapi_check(d, x, SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD_CDB);
		else
			atapi_data_in(x, (uint32_t)n, get_be16(cdb + 7));
		break;
	case SCSI_MECHANISM_STATUS:
		p[1] = d->tray_open ? 0x10 : 0;
		atapi_data_in(x, 8, get_be16(cdb + 8));
		break;
	case SCSI_SET_CD_SPEED:
		pre_ok(x);
		break;
	default:
		device_log(d->cfg.log_dev, "ATAPI command %02x not supported", op);
		atapi_check(d, x, SENSE_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
		break;
	}
out:
	if (x->pre_done && !(x->pre.status & ATA_SR_ERR))
		d->sense_key = d->asc = d->ascq = 0;
	x->pre.count = ATAPI_IREASON_IO | ATAPI_IREASON_COD;
	/* PIO byte count limit (lba mid/high): even, 0 meaning the largest. */
	bcl = (tf->lba >> 8) & 0xffff;
	if (!bcl || bcl == 0xffff)
		bcl = 0xfffe;
	bcl &= ~1u;
	x->drq_block = x->len < bcl ? x->len : bcl;
}

static void atapi_begin_ata(struct ata_drive *d, const struct ata_taskfile *tf, const uint8_t *cdb,
			    struct ata_xfer *x)
{
	switch (tf->command) {
	case ATA_CMD_PACKET:
		if (!cdb) {
			pre_err(x, ATA_ER_ABRT);
			return;
		}
		atapi_begin(d, tf, cdb, x);
		return;
	case CMD_IDENTIFY_PACKET:
		ata_identify_packet(d, x->emul);
		ata_begin_emul(x, 512);
		return;
	case ATA_CMD_DEVICE_RESET:
		pre_ok(x);
		ata_signature(d, &x->pre);
		return;
	case CMD_IDENTIFY:
		/* A packet device aborts IDENTIFY DEVICE and shows its
		 * signature, which is how hosts tell it apart (ACS-3 7.12). */
		pre_err(x, ATA_ER_ABRT);
		x->pre.count = 1;
		x->pre.lba = 0xeb1401;
		return;
	}
	if (!ata_begin_common(d, tf, x))
		pre_err(x, ATA_ER_ABRT);
}

void ata_begin(struct ata_drive *d, const struct ata_taskfile *tf, const uint8_t *cdb,
	       struct ata_xfer *x)
{
	memset(x, 0, offsetof(struct ata_xfer, emul));
	x->op = OP_NONE;
	if (d->cfg.atapi) {
		atapi_begin_ata(d, tf, cdb, x);
		return;
	}
	if (tf->command == ATA_CMD_PACKET || tf->command == CMD_IDENTIFY_PACKET ||
	    tf->command == ATA_CMD_DEVICE_RESET) {
		pre_err(x, ATA_ER_ABRT);
		return;
	}
	if (!ata_begin_common(d, tf, x))
		ata_begin_disk(d, tf, x);
}

/* ---- execution ---- */

static uint64_t iov_total(const struct iovec *iov, unsigned int n)
{
	uint64_t t = 0;

	for (unsigned int i = 0; i < n; i++)
		t += iov[i].iov_len;
	return t;
}

/* Copy @len bytes between @buf and the scatter list (to it if @to_iov). */
static void iov_copy(const struct iovec *iov, unsigned int n, void *buf, size_t len, bool to_iov)
{
	uint8_t *b = buf;

	for (unsigned int i = 0; i < n && len; i++) {
		size_t m = iov[i].iov_len < len ? iov[i].iov_len : len;

		if (to_iov)
			memcpy(iov[i].iov_base, b, m);
		else
			memcpy(b, iov[i].iov_base, m);
		b += m;
		len -= m;
	}
}

/* Sectors between the medium and the scatter list, straight into / out of
 * its buffers, in IO_CHUNK pieces so a reset stops it promptly. */
static int rw_medium(struct ata_drive *d, struct ata_xfer *x, const struct iovec *iov,
		     unsigned int n, bool write)
{
	uint64_t off = x->sector * (d->cfg.atapi ? ATAPI_SECTOR_SIZE : ATA_SECTOR_SIZE);
	int ret = io_req_rw(x->req, d->img, iov, n, off, x->len, write);

	if (!ret && write && (x->fua || !d->write_cache))
		ret = blk_flush(d->img);
	return ret;
}

/* TRIM each range the host sent (ACS-3 7.5.3.2: 48-bit LBA, 16-bit length). */
static int dsm_trim(struct ata_drive *d, struct ata_xfer *x, const struct iovec *iov,
		    unsigned int n)
{
	uint8_t buf[DSM_MAX_BLOCKS * ATA_SECTOR_SIZE];

	iov_copy(iov, n, buf, x->len, false);
	for (uint32_t i = 0; i < x->len; i += 8) {
		uint64_t e = get_le64(buf + i);
		uint64_t lba = e & LBA48_MAX;
		uint64_t cnt = e >> 48;
		int ret;

		if (!cnt)
			continue;
		if (io_req_cancelled(x->req))
			return -ECANCELED;
		if (lba > d->nsectors || cnt > d->nsectors - lba)
			return -ERANGE;
		ret = blk_discard(d->img, lba * ATA_SECTOR_SIZE, cnt * ATA_SECTOR_SIZE);
		if (ret && ret != -EOPNOTSUPP)
			return ret;
	}
	return 0;
}

/* A failed NCQ command is kept for READ LOG EXT 10h, which the host reads
 * to find the tag.  The transport calls it under its lock (ata.h). */
void ata_ncq_record_error(struct ata_drive *d, const struct ata_xfer *x)
{
	if (!x->ncq || !(x->res.status & ATA_SR_ERR))
		return;
	d->ncq_err_valid = true;
	d->ncq_err_tag = x->tag;
	d->ncq_err_status = x->res.status;
	d->ncq_err_error = x->res.error;
}

static void finish_error(struct ata_drive *d, struct ata_xfer *x, uint8_t ata_error,
			 uint8_t key, uint8_t asc, uint8_t ascq)
{
	if (x->atapi) {
		d->sense_key = key;
		d->asc = asc;
		d->ascq = ascq;
		res_err(&x->res, (uint8_t)(key << 4));
		x->res.count = ATAPI_IREASON_IO | ATAPI_IREASON_COD;
	} else {
		res_err(&x->res, ata_error);
	}
	x->done_bytes = 0;
}

void ata_complete(struct ata_drive *d, struct ata_xfer *x, const struct iovec *iov,
		  unsigned int iovcnt)
{
	int ret = 0;

	if (x->pre_done || x->op == OP_NONE) {
		x->res = x->pre;
		x->done_bytes = 0;
		return;
	}
	if (x->dir != ATA_DIR_NONE && iov_total(iov, iovcnt) < x->len) {
		device_log(d->cfg.log_dev, "ATA command: buffer shorter than the %u-byte transfer",
			   x->len);
		ata_complete_error(d, x);
		return;
	}
	switch (x->op) {
	case OP_EMUL_IN:
		iov_copy(iov, iovcnt, x->emul, x->len, true);
		break;
	case OP_READ:
		ret = rw_medium(d, x, iov, iovcnt, false);
		if (ret && ret != -ECANCELED) {
			device_log(d->cfg.log_dev, "read error: %s", blk_last_error(d->img));
			finish_error(d, x, ATA_ER_UNC, SENSE_MEDIUM_ERROR, ASC_UNRECOVERED_READ);
			return;
		}
		break;
	case OP_WRITE:
		ret = rw_medium(d, x, iov, iovcnt, true);
		break;
	case OP_FLUSH:
		ret = blk_flush(d->img);
		break;
	case OP_DSM:
		ret = dsm_trim(d, x, iov, iovcnt);
		if (ret == -ERANGE) {
			finish_error(d, x, ATA_ER_IDNF | ATA_ER_ABRT, 0, ASC_NONE);
			return;
		}
		break;
	default:
		break;
	}
	if (ret == -ECANCELED) {
		/* A reset took the command back: the transport drops this result,
		 * and the drive's sense data is the reset's business. */
		res_err(&x->res, ATA_ER_ABRT);
		x->done_bytes = 0;
		return;
	}
	if (ret) {
		device_log(d->cfg.log_dev, "I/O error: %s", blk_last_error(d->img));
		finish_error(d, x, ATA_ER_ABRT, SENSE_ABORTED_COMMAND, ASC_NONE);
		return;
	}
	x->res = x->pre;
	x->done_bytes = x->len;
	if (x->atapi)
		d->sense_key = d->asc = d->ascq = 0;
}

void ata_complete_buf(struct ata_drive *d, struct ata_xfer *x, void *buf)
{
	struct iovec iov = { buf, x->len };

	ata_complete(d, x, &iov, 1);
}

void ata_complete_error(struct ata_drive *d, struct ata_xfer *x)
{
	finish_error(d, x, ATA_ER_ABRT, SENSE_ABORTED_COMMAND, ASC_NONE);
}

/* ---- media ---- */

int ata_cd_change_media(struct ata_drive *d, struct blk_image *img, bool force,
			struct blk_image **old)
{
	if (!d->cfg.atapi)
		return -EINVAL;
	/* The lock holds a medium in; an empty drive takes one regardless. */
	if (d->locked && !force && medium_present(d))
		return -EBUSY;
	if (old)
		*old = d->img;
	d->img = img;
	d->tray_open = false;
	drive_update_capacity(d);
	d->media_event = img ? MEDIA_EV_NEW_MEDIA : MEDIA_EV_REMOVAL;
	d->unit_attention = true;
	return 0;
}

/* ---- save / load ---- */

void ata_drive_save(const struct ata_drive *d, struct sv_writer *w)
{
	sv_put_u8(w, d->mult_sectors);
	sv_put_u8(w, d->xfer_mode);
	sv_put_u8(w, d->write_cache);
	sv_put_u8(w, d->chs_heads);
	sv_put_u8(w, d->chs_sectors);
	sv_put_u8(w, d->ncq_err_valid);
	sv_put_u8(w, d->ncq_err_tag);
	sv_put_u8(w, d->ncq_err_status);
	sv_put_u8(w, d->ncq_err_error);
	sv_put_u8(w, d->sense_key);
	sv_put_u8(w, d->asc);
	sv_put_u8(w, d->ascq);
	sv_put_u8(w, d->tray_open);
	sv_put_u8(w, d->locked);
	sv_put_u8(w, d->unit_attention);
	sv_put_u8(w, d->media_event);
}

int ata_drive_load(struct ata_drive *d, struct sv_reader *r)
{
	struct ata_drive t = *d;

	t.mult_sectors = sv_get_u8(r);
	t.xfer_mode = sv_get_u8(r);
	t.write_cache = sv_get_u8(r);
	t.chs_heads = sv_get_u8(r);
	t.chs_sectors = sv_get_u8(r);
	t.ncq_err_valid = sv_get_u8(r);
	t.ncq_err_tag = sv_get_u8(r);
	t.ncq_err_status = sv_get_u8(r);
	t.ncq_err_error = sv_get_u8(r);
	t.sense_key = sv_get_u8(r);
	t.asc = sv_get_u8(r);
	t.ascq = sv_get_u8(r);
	t.tray_open = sv_get_u8(r);
	t.locked = sv_get_u8(r);
	t.unit_attention = sv_get_u8(r);
	t.media_event = sv_get_u8(r);
	if (!sv_reader_ok(r, false))
		return -EINVAL;
	if (t.mult_sectors > MAX_MULTIPLE || (t.mult_sectors & (t.mult_sectors - 1)) ||
	    !t.chs_heads || t.chs_heads > 16 || !t.chs_sectors || t.ncq_err_tag >= ATA_NCQ_DEPTH ||
	    t.sense_key > 0x0f || t.media_event > MEDIA_EV_REMOVAL)
		return -EINVAL;
	*d = t;
	return 0;
}
