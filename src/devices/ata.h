/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The ATA/ATAPI command layer shared by the storage transports (AHCI,
 * PIIX3 IDE): one drive (an ATA disk on a blk_image, or an ATAPI CD/DVD
 * drive with or without media), its identity data, the command decoder and
 * the command executor.  The layer knows commands, not registers or FISes:
 * the transport moves the taskfile in, the data between guest RAM and the
 * buffers it hands over, and the result taskfile out.
 *
 * One command, as every transport runs it:
 *
 *     struct ata_xfer x;
 *     ata_begin(drive, &tf, cdb, &x);      decode: what data phase?
 *     if (x.dir == ATA_DIR_OUT)  ...fill the buffers from the guest...
 *     ata_complete(drive, &x, iov, n);     run it: disk I/O happens here
 *     if (x.dir == ATA_DIR_IN)   ...the buffers now hold x.len bytes...
 *     ...post x.res (status/error/...) as a D2H FIS or task file registers
 *
 * ata_begin() never blocks and never touches the image; ata_complete() is
 * called exactly once after every ata_begin() (also when ata_begin() has
 * already decided the outcome: then x.dir is ATA_DIR_NONE, x.len 0 and
 * ata_complete() only finishes the result).  ata_complete() may block on
 * the image: call it from the transport's I/O thread without the device
 * lock.  The buffers are a scatter list so AHCI can hand over guest RAM
 * slices straight from the PRDT (gm_slice), and IDE one bounce buffer.
 *
 * When the transport cannot move the data (PRD outside RAM, PRDT shorter
 * than x.len, bus mastering off) it calls ata_complete_error() instead of
 * ata_complete(): the command then ends with ERR and ABRT (and, for ATAPI,
 * sense ABORTED COMMAND).
 *
 * Threading: a drive is not locked by this layer.  The transport calls
 * ata_begin() and ata_ncq_record_error() under its lock, and runs one
 * command at a time on a drive, except NCQ commands (x.ncq): their
 * ata_complete() only reads the drive's state (image, write cache), so
 * AHCI runs several at once on its pool threads.  Media change and drive
 * reset happen only when no command of that drive is between ata_begin
 * and ata_complete.  Every reset of a transport cancels and waits for the
 * commands in flight (io_worker.h), so a drive never sees a new command
 * while an old one still runs.
 */
#ifndef HUTCH_ATA_H
#define HUTCH_ATA_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

struct blk_image;
struct device;
struct io_req;
struct sv_writer;
struct sv_reader;

/* ---- ATA status and error register bits (ACS-3 6.1 / 6.2) ---- */
#define ATA_SR_ERR   0x01   /* error (ATAPI: CHECK CONDITION) */
#define ATA_SR_DRQ   0x08   /* data request */
#define ATA_SR_DSC   0x10   /* device seek complete / deferred write error */
#define ATA_SR_DF    0x20   /* device fault */
#define ATA_SR_DRDY  0x40   /* device ready */
#define ATA_SR_BSY   0x80   /* busy */

#define ATA_ER_AMNF  0x01   /* diagnostic code 01h after EXECUTE DEVICE DIAGNOSTIC */
#define ATA_ER_ABRT  0x04   /* command aborted */
#define ATA_ER_MC    0x20   /* media changed (obsolete) */
#define ATA_ER_IDNF  0x10   /* ID not found: LBA out of range */
#define ATA_ER_UNC   0x40   /* uncorrectable data error (failed read) */
#define ATA_ER_ICRC  0x80   /* interface CRC error */

/* Device register bits. */
#define ATA_DEV_LBA  0x40   /* LBA addressing (else CHS) */
#define ATA_DEV_FUA  0x80   /* NCQ: forced unit access */

/* ATAPI interrupt reason (the sector count register) at command end. */
#define ATAPI_IREASON_COD 0x01
#define ATAPI_IREASON_IO  0x02

#define ATA_SECTOR_SIZE   512u
#define ATAPI_SECTOR_SIZE 2048u
#define ATAPI_CDB_LEN     12     /* IDENTIFY PACKET word 0: 12-byte packets */
#define ATA_NCQ_DEPTH     32
/* Largest data phase the layer accepts: a full LBA48 count (65536 x 512).
 * Bigger ATAPI requests fail with ILLEGAL REQUEST, so a transport's bounce
 * buffer (IDE PIO) is bounded. */
#define ATA_MAX_XFER      (65536u * ATA_SECTOR_SIZE)

/* Command opcodes a transport has to recognise itself. */
#define ATA_CMD_PACKET                0xa0  /* the CDB follows (AHCI: ACMD) */
#define ATA_CMD_READ_FPDMA_QUEUED     0x60
#define ATA_CMD_WRITE_FPDMA_QUEUED    0x61
#define ATA_CMD_DEVICE_RESET          0x08

/*
 * The taskfile a command arrives with, with the "previous" (HOB / exp)
 * bytes already merged: features = features_exp << 8 | features, count
 * likewise, lba = lba5..lba0 (bits 24..47 are the HOB bytes; for 28-bit
 * commands the layer takes bits 24..27 from device itself).
 */
struct ata_taskfile {
	uint8_t command;
	uint8_t device;
	uint16_t features;
	uint16_t count;
	uint64_t lba;
};

/* The registers a command ends with (D2H Register FIS / IDE registers). */
struct ata_result {
	uint8_t status;
	uint8_t error;
	uint8_t device;
	uint16_t count;    /* ATAPI: interrupt reason; CHECK POWER MODE: mode */
	uint64_t lba;      /* READ NATIVE MAX, signatures */
};

enum ata_dir {
	ATA_DIR_NONE = 0,  /* no data phase */
	ATA_DIR_IN,        /* device to host: READ, IDENTIFY, ATAPI data-in */
	ATA_DIR_OUT,       /* host to device: WRITE, DSM ranges */
};

/* One command in flight.  Public fields are set by ata_begin(); the result by ata_complete(). */
struct ata_xfer {
	enum ata_dir dir;
	uint32_t len;          /* bytes of the data phase (0 if none), <= ATA_MAX_XFER */
	bool dma;              /* DMA protocol (READ DMA, FPDMA, PACKET with DMA bit) */
	bool atapi;            /* a PACKET command */
	bool ncq;              /* READ/WRITE FPDMA QUEUED */
	uint8_t tag;           /* NCQ tag (0..31) */
	uint32_t drq_block;    /* PIO: bytes per DRQ block (IDE: one interrupt each);
				  ATAPI PIO: the byte count limit, even */
	/* Set by the transport before ata_complete() (may be NULL): the
	 * request in flight whose cancel (a reset) stops the medium I/O at
	 * the next IO_CHUNK piece; the command then ends with ABRT. */
	const struct io_req *req;
	/* Result, valid after ata_complete()/ata_complete_error(). */
	struct ata_result res;
	uint32_t done_bytes;   /* bytes actually moved (AHCI PRDBC) */

	/* ---- private to ata.c ---- */
	int op;
	uint64_t sector;       /* first sector (ATA 512 / ATAPI 2048 units) */
	uint32_t nsect;
	bool fua;
	struct ata_result pre; /* outcome already known at ata_begin() */
	bool pre_done;
	uint8_t emul[512];     /* emulated data-in (IDENTIFY, INQUIRY, TOC, ...) */
};

struct ata_drive_config {
	struct blk_image *img;    /* disk image; CD: the medium, NULL = empty drive */
	bool atapi;               /* ATAPI CD/DVD drive (read-only medium) */
	bool readonly;            /* disk: writes fail (WRITE PROTECTED / ABRT) */
	bool sata;                /* SATA (AHCI): NCQ, SATA identify words; else PATA */
	const char *serial;       /* <= 20 chars; NULL or "" = made up */
	struct device *log_dev;   /* for device_log() messages (may be NULL) */
};

struct ata_drive {
	struct ata_drive_config cfg;
	struct blk_image *img;    /* current medium (disk: == cfg.img) */
	char serial[21];
	uint64_t nsectors;        /* capacity in 512-byte (ATA) or 2048-byte (ATAPI) sectors */
	bool discard;             /* the image can discard: TRIM advertised */

	/* Settings the guest changes (saved). */
	uint8_t mult_sectors;     /* READ/WRITE MULTIPLE block, 0 = disabled */
	uint8_t xfer_mode;        /* SET FEATURES 03h value (0x40 | n = UDMA n) */
	bool write_cache;         /* volatile write cache enabled */
	uint8_t chs_heads, chs_sectors; /* INITIALIZE DEVICE PARAMETERS geometry */

	/* NCQ error log (READ LOG EXT page 10h). */
	bool ncq_err_valid;
	uint8_t ncq_err_tag, ncq_err_status, ncq_err_error;

	/* ATAPI state (saved). */
	uint8_t sense_key, asc, ascq;
	bool tray_open;
	bool locked;              /* PREVENT MEDIUM REMOVAL */
	bool unit_attention;      /* report medium changed once */
	uint8_t media_event;      /* GET EVENT STATUS NOTIFICATION media event code */
};

/* Set up @d from @cfg (power-on state).  0, or -EINVAL (no image for a disk). */
int ata_drive_init(struct ata_drive *d, const struct ata_drive_config *cfg);
/* Power-on / hardware reset: defaults for multiple, transfer mode, write cache. */
void ata_drive_reset(struct ata_drive *d);
/* The signature a device puts in the task file after reset / DIAGNOSTIC
 * (ATA: count 1, lba 1; ATAPI: count 1, lba 0xEB1401). */
void ata_signature(const struct ata_drive *d, struct ata_result *res);
static inline bool ata_is_atapi(const struct ata_drive *d)
{
	return d->cfg.atapi;
}

/*
 * Decode a command.  @cdb is the 12-byte ATAPI packet for ATA_CMD_PACKET
 * (NULL otherwise; PACKET without one, or to a disk, aborts).  Fills @x.
 */
void ata_begin(struct ata_drive *d, const struct ata_taskfile *tf, const uint8_t *cdb,
	       struct ata_xfer *x);

/*
 * Execute the command described by @x.  For ATA_DIR_IN the layer writes
 * x->len bytes into @iov; for ATA_DIR_OUT it reads x->len bytes from it.
 * @iov may hold more than x->len bytes (the rest is untouched); if it holds
 * fewer, the command fails with ABRT.  Fills x->res and x->done_bytes.
 */
void ata_complete(struct ata_drive *d, struct ata_xfer *x, const struct iovec *iov,
		  unsigned int iovcnt);
/* Single-buffer convenience (@buf has room for x->len bytes). */
void ata_complete_buf(struct ata_drive *d, struct ata_xfer *x, void *buf);
/* The transport could not move the data: end the command with ERR|ABRT. */
void ata_complete_error(struct ata_drive *d, struct ata_xfer *x);
/* A failed NCQ command (@x after ata_complete) goes to READ LOG EXT 10h;
 * nothing for others.  Under the transport's lock: concurrent NCQ
 * commands must not race for the log. */
void ata_ncq_record_error(struct ata_drive *d, const struct ata_xfer *x);

/*
 * Insert (@img non-NULL) or remove (@img NULL) the medium of an ATAPI
 * drive, as the user does it (vmctl storageattach).  The guest sees the
 * tray close and a UNIT ATTENTION (MEDIUM MAY HAVE CHANGED) plus a media
 * event.  A locked drive (PREVENT MEDIUM REMOVAL) with a medium refuses
 * with -EBUSY unless @force.  *@old (if @old) gets the previous image for the caller
 * to close.  -EINVAL on a disk.
 */
int ata_cd_change_media(struct ata_drive *d, struct blk_image *img, bool force,
			struct blk_image **old);

/* Versioned with the owning controller's state_version. */
void ata_drive_save(const struct ata_drive *d, struct sv_writer *w);
/* -EINVAL on bad data. */
int ata_drive_load(struct ata_drive *d, struct sv_reader *r);

#endif
