// SPDX-License-Identifier: GPL-2.0-or-later
/* The ATA/ATAPI command layer on raw temp images, without a transport. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ata.h"
#include "block.h"
#include "savestate.h"

#define DISK_SECTORS 2048u                   /* 1 MiB disk */
#define CD_SECTORS   300u                    /* 600 KiB "ISO" */

struct img {
	char path[64];
	int fd;
	struct blk_image *blk;
};

static void img_make(struct img *im, uint64_t size, unsigned int sector_size, bool readonly)
{
	char err[BLK_ERR_MAX];
	uint8_t *buf = malloc(sector_size);

	assert_non_null(buf);
	strcpy(im->path, "/tmp/hutch-test-ata-XXXXXX");
	im->fd = mkstemp(im->path);
	assert_true(im->fd >= 0);
	/* Each sector starts with its number: reads can be told apart. */
	for (uint64_t s = 0; s < size / sector_size; s++) {
		memset(buf, (int)(s & 0xff), sector_size);
		memcpy(buf, &s, sizeof(s));
		assert_int_equal(pwrite(im->fd, buf, sector_size, (off_t)(s * sector_size)),
				 (ssize_t)sector_size);
	}
	free(buf);
	assert_int_equal(blk_open(im->path, "raw", readonly ? BLK_RDONLY : 0, &im->blk, err,
				  sizeof(err)), 0);
}

static void img_free(struct img *im)
{
	if (im->blk)
		blk_close(im->blk);
	close(im->fd);
	unlink(im->path);
}

struct fixture {
	struct img disk, iso;
	struct ata_drive hd, cd, empty;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct ata_drive_config hd = { .sata = true, .serial = "SER123" };
	struct ata_drive_config cd = { .atapi = true, .readonly = true, .sata = true };
	struct ata_drive_config empty = { .atapi = true, .readonly = true };

	img_make(&f->disk, DISK_SECTORS * 512ull, 512, false);
	img_make(&f->iso, CD_SECTORS * 2048ull, 2048, true);
	hd.img = f->disk.blk;
	cd.img = f->iso.blk;
	assert_int_equal(ata_drive_init(&f->hd, &hd), 0);
	assert_int_equal(ata_drive_init(&f->cd, &cd), 0);
	assert_int_equal(ata_drive_init(&f->empty, &empty), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	img_free(&f->disk);
	img_free(&f->iso);
	free(f);
	return 0;
}

/* Run a whole command with one buffer; returns the result. */
static struct ata_result run(struct ata_drive *d, const struct ata_taskfile *tf,
			     const uint8_t *cdb, void *buf, size_t buflen, struct ata_xfer *xo)
{
	struct ata_xfer x;
	struct iovec iov = { buf, buflen };

	ata_begin(d, tf, cdb, &x);
	ata_complete(d, &x, &iov, buf ? 1 : 0);
	if (xo)
		*xo = x;
	return x.res;
}

static uint16_t word(const uint8_t *id, unsigned int w)
{
	return (uint16_t)(id[2 * w] | id[2 * w + 1] << 8);
}

static void check_id_string(const uint8_t *id, unsigned int w, const char *want, size_t len)
{
	char s[64];

	for (size_t i = 0; i < len; i++)
		s[i] = (char)id[2 * w + (i ^ 1)];
	assert_memory_equal(s, want, len);
}

static void test_identify_disk(void **state)
{
	struct fixture *f = *state;
	struct ata_taskfile tf = { .command = 0xec };
	uint8_t id[512];
	uint8_t sum = 0;
	struct ata_xfer x;
	struct ata_result r = run(&f->hd, &tf, NULL, id, sizeof(id), &x);

	assert_int_equal(r.status, ATA_SR_DRDY | ATA_SR_DSC);
	assert_int_equal(x.dir, ATA_DIR_IN);
	assert_int_equal(x.len, 512);
	assert_false(x.dma);
	assert_int_equal(x.done_bytes, 512);
	assert_int_equal(word(id, 0), 0x0040);
	check_id_string(id, 10, "SER123              ", 20);
	check_id_string(id, 27, "HUTCH HARDDISK  ", 16);
	assert_int_equal(word(id, 60) | word(id, 61) << 16, DISK_SECTORS);
	assert_int_equal(word(id, 100), DISK_SECTORS);
	assert_int_equal(word(id, 101) | word(id, 102) | word(id, 103), 0);
	assert_true(word(id, 83) & (1 << 10));          /* LBA48 */
	assert_int_equal(word(id, 75), 31);             /* NCQ depth 32 */
	assert_true(word(id, 76) & (1 << 8));
	assert_true(word(id, 169) & 1);                 /* TRIM: raw can discard */
	assert_true(word(id, 85) & (1 << 5));           /* write cache on */
	assert_int_equal(word(id, 88) & 0x3f, 0x3f);    /* UDMA 0-5 */
	assert_int_equal(word(id, 88) >> 8, 1 << 5);    /* UDMA 5 selected */
	assert_int_equal(word(id, 255) & 0xff, 0xa5);
	for (int i = 0; i < 512; i++)
		sum += id[i];
	assert_int_equal(sum, 0);

	/* SET FEATURES: write cache off, UDMA 2. */
	tf = (struct ata_taskfile){ .command = 0xef, .features = 0x82 };
	assert_int_equal(run(&f->hd, &tf, NULL, NULL, 0, NULL).status & ATA_SR_ERR, 0);
	tf = (struct ata_taskfile){ .command = 0xef, .features = 0x03, .count = 0x42 };
	assert_int_equal(run(&f->hd, &tf, NULL, NULL, 0, NULL).status & ATA_SR_ERR, 0);
	tf = (struct ata_taskfile){ .command = 0xef, .features = 0x03, .count = 0x47 };
	assert_int_equal(run(&f->hd, &tf, NULL, NULL, 0, NULL).error, ATA_ER_ABRT);
	tf = (struct ata_taskfile){ .command = 0xec };
	run(&f->hd, &tf, NULL, id, sizeof(id), NULL);
	assert_false(word(id, 85) & (1 << 5));
	assert_int_equal(word(id, 88) >> 8, 1 << 2);
}

static void test_identify_pata_readonly(void **state)
{
	struct fixture *f = *state;
	struct ata_drive_config cfg = { .img = f->disk.blk, .readonly = true };
	struct ata_drive d;
	struct ata_taskfile tf = { .command = 0xec };
	uint8_t id[512], buf[512] = { 0 };

	assert_int_equal(ata_drive_init(&d, &cfg), 0);
	run(&d, &tf, NULL, id, sizeof(id), NULL);
	assert_int_equal(word(id, 76), 0);              /* PATA: no SATA/NCQ words */
	assert_int_equal(word(id, 75), 0);
	assert_int_equal(word(id, 169), 0);             /* read-only: no TRIM */
	assert_true(word(id, 93) & (1 << 13));          /* 80-wire cable */
	/* NCQ on PATA and writes to a read-only disk abort. */
	tf = (struct ata_taskfile){ .command = 0x60, .features = 1, .lba = 0, .device = 0x40 };
	assert_int_equal(run(&d, &tf, NULL, buf, sizeof(buf), NULL).error, ATA_ER_ABRT);
	tf = (struct ata_taskfile){ .command = 0x35, .count = 1, .device = 0x40 };
	assert_int_equal(run(&d, &tf, NULL, buf, sizeof(buf), NULL).error, ATA_ER_ABRT);
	/* A disk needs an image. */
	cfg.img = NULL;
	assert_int_equal(ata_drive_init(&d, &cfg), -EINVAL);
}

static void test_rw_dma_ext(void **state)
{
	struct fixture *f = *state;
	uint8_t wbuf[8 * 512], rbuf[8 * 512], file[8 * 512];
	struct ata_taskfile tf = { .command = 0x35, .count = 8, .lba = 100, .device = 0x40 };
	struct ata_xfer x;
	struct iovec iov[3];

	for (size_t i = 0; i < sizeof(wbuf); i++)
		wbuf[i] = (uint8_t)(i * 7 + 3);
	/* Scatter list with odd-sized pieces: the layer must cross them. */
	ata_begin(&f->hd, &tf, NULL, &x);
	assert_int_equal(x.dir, ATA_DIR_OUT);
	assert_true(x.dma);
	assert_int_equal(x.len, sizeof(wbuf));
	iov[0] = (struct iovec){ wbuf, 1000 };
	iov[1] = (struct iovec){ wbuf + 1000, 2 };
	iov[2] = (struct iovec){ wbuf + 1002, sizeof(wbuf) - 1002 + 100 }; /* longer than needed */
	ata_complete(&f->hd, &x, iov, 3);
	assert_int_equal(x.res.status, ATA_SR_DRDY | ATA_SR_DSC);
	assert_int_equal(x.done_bytes, sizeof(wbuf));
	assert_int_equal(pread(f->disk.fd, file, sizeof(file), 100 * 512), (ssize_t)sizeof(file));
	assert_memory_equal(file, wbuf, sizeof(wbuf));

	tf.command = 0x25;
	memset(rbuf, 0, sizeof(rbuf));
	assert_int_equal(run(&f->hd, &tf, NULL, rbuf, sizeof(rbuf), &x).status & ATA_SR_ERR, 0);
	assert_int_equal(x.dir, ATA_DIR_IN);
	assert_memory_equal(rbuf, wbuf, sizeof(wbuf));

	/* 28-bit READ DMA of sector 5 and PIO READ SECTORS agree with the file. */
	tf = (struct ata_taskfile){ .command = 0xc8, .count = 1, .lba = 5, .device = 0x40 };
	run(&f->hd, &tf, NULL, rbuf, 512, NULL);
	assert_int_equal(rbuf[0], 5);
	tf.command = 0x20;
	memset(rbuf, 0, 512);
	run(&f->hd, &tf, NULL, rbuf, 512, &x);
	assert_false(x.dma);
	assert_int_equal(x.drq_block, 512);
	assert_int_equal(rbuf[0], 5);

	/* CHS: cylinder 1, head 0, sector 1 = LBA 16 * 63. */
	tf = (struct ata_taskfile){ .command = 0x20, .count = 1, .lba = 1 | 1 << 8, .device = 0 };
	run(&f->hd, &tf, NULL, rbuf, 512, NULL);
	assert_int_equal(rbuf[0] | rbuf[1] << 8, 16 * 63);
	tf.lba = 0;             /* sector 0 does not exist in CHS */
	assert_int_equal(run(&f->hd, &tf, NULL, rbuf, 512, NULL).error, ATA_ER_IDNF | ATA_ER_ABRT);

	/* Count 0 means 65536 sectors for LBA48 (decode only: out of range here). */
	tf = (struct ata_taskfile){ .command = 0x25, .count = 0, .lba = 0, .device = 0x40 };
	ata_begin(&f->hd, &tf, NULL, &x);
	assert_int_equal(x.dir, ATA_DIR_NONE);
	ata_complete(&f->hd, &x, NULL, 0);
	assert_int_equal(x.res.error, ATA_ER_IDNF | ATA_ER_ABRT);
}

static void test_bad_requests(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[4096];
	struct ata_taskfile tf;
	struct ata_xfer x;
	struct ata_result r;

	/* Past the end: the last sector is fine, one more is not. */
	tf = (struct ata_taskfile){ .command = 0x25, .count = 1, .lba = DISK_SECTORS - 1, .device = 0x40 };
	assert_int_equal(run(&f->hd, &tf, NULL, buf, 512, NULL).status & ATA_SR_ERR, 0);
	tf.count = 2;
	r = run(&f->hd, &tf, NULL, buf, sizeof(buf), &x);
	assert_int_equal(r.status, ATA_SR_DRDY | ATA_SR_ERR);
	assert_int_equal(r.error, ATA_ER_IDNF | ATA_ER_ABRT);
	assert_int_equal(x.len, 0);
	tf.lba = 0xffffffffffffull;
	tf.count = 0xffff;
	assert_int_equal(run(&f->hd, &tf, NULL, buf, sizeof(buf), NULL).error,
			 ATA_ER_IDNF | ATA_ER_ABRT);

	/* A buffer shorter than the transfer aborts instead of overrunning. */
	tf = (struct ata_taskfile){ .command = 0x25, .count = 8, .lba = 0, .device = 0x40 };
	r = run(&f->hd, &tf, NULL, buf, 8 * 512 - 2, &x);
	assert_int_equal(r.error, ATA_ER_ABRT);
	assert_int_equal(x.done_bytes, 0);

	/* Transport error. */
	tf.count = 1;
	ata_begin(&f->hd, &tf, NULL, &x);
	ata_complete_error(&f->hd, &x);
	assert_int_equal(x.res.status & ATA_SR_ERR, ATA_SR_ERR);
	assert_int_equal(x.res.error, ATA_ER_ABRT);

	/* Unknown, SMART, PACKET to a disk, IDENTIFY PACKET to a disk: abort. */
	static const uint8_t aborted[] = { 0x00, 0xb0, 0xa0, 0xa1, 0x08, 0xfe, 0x2f };
	for (size_t i = 0; i < sizeof(aborted); i++) {
		tf = (struct ata_taskfile){ .command = aborted[i] };
		r = run(&f->hd, &tf, NULL, buf, sizeof(buf), &x);
		assert_int_equal(r.status, ATA_SR_DRDY | ATA_SR_ERR);
		assert_int_equal(r.error, ATA_ER_ABRT);
		assert_int_equal(x.len, 0);
	}
}

static void test_multiple_and_misc(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[16 * 512];
	struct ata_taskfile tf;
	struct ata_xfer x;
	struct ata_result r;

	tf = (struct ata_taskfile){ .command = 0xc6, .count = 3 };
	assert_int_equal(run(&f->hd, &tf, NULL, NULL, 0, NULL).error, ATA_ER_ABRT);
	tf.count = 0;
	assert_int_equal(run(&f->hd, &tf, NULL, NULL, 0, NULL).error, 0);
	tf = (struct ata_taskfile){ .command = 0xc4, .count = 16, .device = 0x40 };
	assert_int_equal(run(&f->hd, &tf, NULL, buf, sizeof(buf), NULL).error, ATA_ER_ABRT);
	tf = (struct ata_taskfile){ .command = 0xc6, .count = 8 };
	run(&f->hd, &tf, NULL, NULL, 0, NULL);
	tf = (struct ata_taskfile){ .command = 0x29, .count = 16, .lba = 3, .device = 0x40 };
	r = run(&f->hd, &tf, NULL, buf, sizeof(buf), &x);
	assert_int_equal(r.error, 0);
	assert_int_equal(x.drq_block, 8 * 512);
	assert_int_equal(x.len, 16 * 512);
	assert_int_equal(buf[0], 3);
	assert_int_equal(buf[15 * 512], 18);

	/* FLUSH, verify, power, diagnostics. */
	tf = (struct ata_taskfile){ .command = 0xea };
	assert_int_equal(run(&f->hd, &tf, NULL, NULL, 0, NULL).status, ATA_SR_DRDY | ATA_SR_DSC);
	tf = (struct ata_taskfile){ .command = 0x42, .count = 4, .lba = DISK_SECTORS - 4, .device = 0x40 };
	assert_int_equal(run(&f->hd, &tf, NULL, NULL, 0, &x).error, 0);
	assert_int_equal(x.len, 0);
	tf.lba++;
	assert_int_equal(run(&f->hd, &tf, NULL, NULL, 0, NULL).error, ATA_ER_IDNF | ATA_ER_ABRT);
	tf = (struct ata_taskfile){ .command = 0xe5 };
	assert_int_equal(run(&f->hd, &tf, NULL, NULL, 0, NULL).count, 0xff);
	tf = (struct ata_taskfile){ .command = 0xe0 };
	assert_int_equal(run(&f->hd, &tf, NULL, NULL, 0, NULL).error, 0);
	tf = (struct ata_taskfile){ .command = 0x90 };
	r = run(&f->hd, &tf, NULL, NULL, 0, NULL);
	assert_int_equal(r.error, 0x01);
	assert_int_equal(r.count, 1);
	assert_int_equal(r.lba, 1);
	tf = (struct ata_taskfile){ .command = 0x27, .device = 0x40 };
	r = run(&f->hd, &tf, NULL, NULL, 0, NULL);
	assert_int_equal(r.lba, DISK_SECTORS - 1);
	tf = (struct ata_taskfile){ .command = 0xf8, .device = 0x40 };
	r = run(&f->hd, &tf, NULL, NULL, 0, NULL);
	assert_int_equal(r.lba | (uint64_t)(r.device & 0xf) << 24, DISK_SECTORS - 1);
	/* INITIALIZE DEVICE PARAMETERS changes the CHS translation. */
	tf = (struct ata_taskfile){ .command = 0x91, .count = 32, .device = 0x03 };
	assert_int_equal(run(&f->hd, &tf, NULL, NULL, 0, NULL).error, 0);
	tf = (struct ata_taskfile){ .command = 0x20, .count = 1, .lba = 1 | 1 << 8, .device = 0x02 };
	run(&f->hd, &tf, NULL, buf, 512, NULL);
	assert_int_equal(buf[0] | buf[1] << 8, (1 * 4 + 2) * 32);
	tf = (struct ata_taskfile){ .command = 0x91, .count = 0 };
	assert_int_equal(run(&f->hd, &tf, NULL, NULL, 0, NULL).error, ATA_ER_ABRT);
}

static void test_ncq_and_log(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[4 * 512], log[512];
	struct ata_taskfile tf = { .command = 0x60, .features = 4, .count = 7 << 3, .lba = 40,
				   .device = 0x40 };
	struct ata_xfer x;
	struct ata_result r;
	uint8_t sum = 0;

	r = run(&f->hd, &tf, NULL, buf, sizeof(buf), &x);
	assert_true(x.ncq);
	assert_true(x.dma);
	assert_int_equal(x.tag, 7);
	assert_int_equal(x.len, sizeof(buf));
	assert_int_equal(r.error, 0);
	assert_int_equal(buf[512], 41);

	/* A failing NCQ command is recorded in log 10h, which reading clears. */
	tf = (struct ata_taskfile){ .command = 0x61, .features = 4, .count = 9 << 3,
				    .lba = DISK_SECTORS - 1, .device = 0x40 };
	r = run(&f->hd, &tf, NULL, buf, sizeof(buf), &x);
	assert_int_equal(r.status & ATA_SR_ERR, ATA_SR_ERR);
	ata_ncq_record_error(&f->hd, &x);       /* as AHCI does, under its lock */
	tf = (struct ata_taskfile){ .command = 0x2f, .count = 1, .lba = 0x10 };
	r = run(&f->hd, &tf, NULL, log, sizeof(log), &x);
	assert_int_equal(r.error, 0);
	assert_false(x.dma);
	assert_int_equal(log[0], 9);
	assert_int_equal(log[2] & ATA_SR_ERR, ATA_SR_ERR);
	assert_int_equal(log[3], ATA_ER_IDNF | ATA_ER_ABRT);
	for (int i = 0; i < 512; i++)
		sum += log[i];
	assert_int_equal(sum, 0);
	tf.command = 0x47;
	run(&f->hd, &tf, NULL, log, sizeof(log), &x);
	assert_true(x.dma);
	assert_int_equal(log[0], 0x80);         /* NQ: nothing pending */
	tf.lba = 0x30;                          /* not a log we keep */
	assert_int_equal(run(&f->hd, &tf, NULL, log, sizeof(log), NULL).error, ATA_ER_ABRT);
}

static void test_trim(void **state)
{
	struct fixture *f = *state;
	uint8_t ranges[512] = { 0 }, buf[512];
	struct ata_taskfile tf = { .command = 0x06, .features = 1, .count = 1, .device = 0x40 };
	struct ata_xfer x;
	uint64_t e = 256 | (uint64_t)256 << 48;   /* LBA 256, 256 sectors (128 KiB) */

	memcpy(ranges, &e, 8);
	assert_int_equal(run(&f->hd, &tf, NULL, ranges, sizeof(ranges), &x).status & ATA_SR_ERR, 0);
	assert_int_equal(x.dir, ATA_DIR_OUT);
	assert_true(x.dma);
	/* A raw file punches a hole: the range reads back as zeros. */
	assert_int_equal(pread(f->disk.fd, buf, 512, 300 * 512), 512);
	for (int i = 0; i < 512; i++)
		assert_int_equal(buf[i], 0);
	assert_int_equal(pread(f->disk.fd, buf, 512, 512 * 512), 512);
	assert_int_equal(buf[0], 0);            /* sector 512: 0x200 */
	assert_int_equal(buf[1], 2);

	e = (DISK_SECTORS - 1) | (uint64_t)2 << 48;
	memcpy(ranges + 8, &e, 8);
	assert_int_equal(run(&f->hd, &tf, NULL, ranges, sizeof(ranges), NULL).error,
			 ATA_ER_IDNF | ATA_ER_ABRT);
	tf.features = 0;        /* not TRIM */
	assert_int_equal(run(&f->hd, &tf, NULL, ranges, sizeof(ranges), NULL).error, ATA_ER_ABRT);
	tf.features = 1;
	tf.count = 100;         /* beyond IDENTIFY word 105 */
	assert_int_equal(run(&f->hd, &tf, NULL, ranges, sizeof(ranges), NULL).error, ATA_ER_ABRT);
}

/* ---- ATAPI ---- */

static struct ata_result packet(struct ata_drive *d, const uint8_t *cdb, void *buf, size_t len,
				struct ata_xfer *x)
{
	struct ata_taskfile tf = { .command = 0xa0, .features = 1, .lba = 0xfffe << 8 };

	return run(d, &tf, cdb, buf, len, x);
}

/* REQUEST SENSE: sense key << 16 | ASC << 8 | ASCQ */
static uint32_t sense(struct ata_drive *d)
{
	uint8_t cdb[12] = { 0x03, 0, 0, 0, 96 };
	uint8_t buf[96];
	struct ata_xfer x;

	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(packet(d, cdb, buf, sizeof(buf), &x).status & ATA_SR_ERR, 0);
	assert_int_equal(x.len, 18);
	assert_int_equal(buf[0], 0x70);
	return (uint32_t)buf[2] << 16 | buf[12] << 8 | buf[13];
}

static void test_atapi_identify(void **state)
{
	struct fixture *f = *state;
	struct ata_taskfile tf = { .command = 0xec };
	uint8_t id[512];
	struct ata_result r = run(&f->cd, &tf, NULL, id, sizeof(id), NULL);

	/* IDENTIFY DEVICE aborts with the packet signature in the registers. */
	assert_int_equal(r.error, ATA_ER_ABRT);
	assert_int_equal(r.lba, 0xeb1401);
	tf.command = 0xa1;
	r = run(&f->cd, &tf, NULL, id, sizeof(id), NULL);
	assert_int_equal(r.error, 0);
	assert_int_equal(word(id, 0), 0x85c0);
	check_id_string(id, 27, "HUTCH DVD-ROM", 13);
	tf.command = 0x08;      /* DEVICE RESET */
	r = run(&f->cd, &tf, NULL, NULL, 0, NULL);
	assert_int_equal(r.lba, 0xeb1401);
	/* ATA data commands are not for a packet device. */
	tf = (struct ata_taskfile){ .command = 0x25, .count = 1, .device = 0x40 };
	assert_int_equal(run(&f->cd, &tf, NULL, id, sizeof(id), NULL).error, ATA_ER_ABRT);
	tf.command = 0xa0;      /* PACKET without a CDB */
	assert_int_equal(run(&f->cd, &tf, NULL, id, sizeof(id), NULL).error, ATA_ER_ABRT);
}

static void test_atapi_inquiry_capacity_read(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[8192];
	uint8_t inq[12] = { 0x12, 0, 0, 0, 96 };
	uint8_t cap[12] = { 0x25 };
	uint8_t rd10[12] = { 0x28, 0, 0, 0, 0, 10, 0, 0, 2 };
	uint8_t rd12[12] = { 0xa8, 0, 0, 0, 0x01, 0x2b, 0, 0, 0, 1 };
	uint8_t tur[12] = { 0 };
	struct ata_xfer x;
	struct ata_result r;

	r = packet(&f->cd, inq, buf, sizeof(buf), &x);
	assert_int_equal(r.status & ATA_SR_ERR, 0);
	assert_int_equal(r.count, ATAPI_IREASON_IO | ATAPI_IREASON_COD);
	assert_int_equal(x.len, 36);
	assert_int_equal(buf[0], 0x05);
	assert_int_equal(buf[1], 0x80);
	assert_memory_equal(buf + 8, "HUTCH   ", 8);
	/* Allocation length shorter than the data. */
	inq[4] = 5;
	packet(&f->cd, inq, buf, sizeof(buf), &x);
	assert_int_equal(x.len, 5);
	inq[1] = 1;             /* EVPD */
	assert_int_equal(packet(&f->cd, inq, buf, sizeof(buf), NULL).error >> 4, 5);
	assert_int_equal(sense(&f->cd), 0x052400);

	assert_int_equal(packet(&f->cd, tur, NULL, 0, NULL).status & ATA_SR_ERR, 0);
	packet(&f->cd, cap, buf, sizeof(buf), &x);
	assert_int_equal(x.len, 8);
	assert_int_equal(buf[2] << 8 | buf[3], CD_SECTORS - 1);
	assert_int_equal(buf[6] << 8 | buf[7], 2048);

	r = packet(&f->cd, rd10, buf, sizeof(buf), &x);
	assert_int_equal(r.status & ATA_SR_ERR, 0);
	assert_true(x.dma);
	assert_int_equal(x.len, 4096);
	assert_int_equal(buf[0], 10);
	assert_int_equal(buf[2048], 11);
	r = packet(&f->cd, rd12, buf, sizeof(buf), &x);
	assert_int_equal(x.len, 2048);
	assert_int_equal(buf[0] | buf[1] << 8, 299);

	/* Past the end: ILLEGAL REQUEST / LBA OUT OF RANGE. */
	rd10[4] = 0x01;         /* LBA 299, 2 blocks */
	rd10[5] = 0x2b;
	r = packet(&f->cd, rd10, buf, sizeof(buf), &x);
	assert_int_equal(r.status & ATA_SR_ERR, ATA_SR_ERR);
	assert_int_equal(r.error >> 4, 5);
	assert_int_equal(x.len, 0);
	assert_int_equal(sense(&f->cd), 0x052100);
	assert_int_equal(sense(&f->cd), 0);     /* reported once */
	rd12[6] = 0xff;         /* 4G blocks */
	assert_int_equal(packet(&f->cd, rd12, buf, sizeof(buf), NULL).error >> 4, 5);

	/* PIO: the byte count limit sets the DRQ block. */
	{
		struct ata_taskfile tf = { .command = 0xa0, .lba = 0x0800 << 8 };

		rd10[4] = rd10[5] = 0;
		run(&f->cd, &tf, rd10, buf, sizeof(buf), &x);
		assert_false(x.dma);
		assert_int_equal(x.drq_block, 0x800);
	}
	/* Unknown opcode. */
	buf[0] = 0;
	{
		uint8_t bad[12] = { 0xff };

		assert_int_equal(packet(&f->cd, bad, buf, sizeof(buf), NULL).error >> 4, 5);
		assert_int_equal(sense(&f->cd), 0x052000);
	}
}

static void test_atapi_toc_config_mode(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[512];
	uint8_t toc[12] = { 0x43, 0, 0, 0, 0, 0, 0, 0x01, 0 };
	uint8_t cfg[12] = { 0x46, 0, 0, 0, 0, 0, 0, 0x01, 0 };
	uint8_t ms[12] = { 0x5a, 0, 0x2a, 0, 0, 0, 0, 0x01, 0 };
	uint8_t gesn[12] = { 0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8 };
	uint8_t di[12] = { 0x51, 0, 0, 0, 0, 0, 0, 0, 34 };
	struct ata_xfer x;

	/* Format 0, LBA: track 1 at 0, lead-out at the capacity. */
	packet(&f->cd, toc, buf, sizeof(buf), &x);
	assert_int_equal(x.len, 20);
	assert_int_equal(buf[0] << 8 | buf[1], 18);
	assert_int_equal(buf[2], 1);
	assert_int_equal(buf[3], 1);
	assert_int_equal(buf[6], 1);
	assert_int_equal(buf[14], 0xaa);
	assert_int_equal(buf[18] << 8 | buf[19], CD_SECTORS);
	/* MSF: lead-out at 300 + 150 frames = 00:06:00. */
	toc[1] = 0x02;
	packet(&f->cd, toc, buf, sizeof(buf), &x);
	assert_int_equal(buf[17], 0);
	assert_int_equal(buf[18], 6);
	assert_int_equal(buf[19], 0);
	assert_int_equal(buf[9], 0);            /* track 1 at 00:02:00 */
	assert_int_equal(buf[10], 2);
	assert_int_equal(buf[11], 0);
	/* Format 1: session info. */
	toc[1] = 0;
	toc[2] = 1;
	packet(&f->cd, toc, buf, sizeof(buf), &x);
	assert_int_equal(x.len, 12);
	assert_int_equal(buf[0] << 8 | buf[1], 10);
	toc[2] = 5;
	assert_int_equal(packet(&f->cd, toc, buf, sizeof(buf), NULL).error >> 4, 5);

	/* GET CONFIGURATION: a small disc is a CD-ROM. */
	packet(&f->cd, cfg, buf, sizeof(buf), &x);
	assert_int_equal(buf[6] << 8 | buf[7], 0x0008);
	assert_int_equal((uint32_t)(buf[0] << 24 | buf[1] << 16 | buf[2] << 8 | buf[3]), x.len - 4);
	assert_int_equal(buf[8] << 8 | buf[9], 0x0000);         /* profile list first */
	cfg[1] = 2;             /* only feature 1Fh (DVD read): not current but reported */
	cfg[3] = 0x1f;
	packet(&f->cd, cfg, buf, sizeof(buf), &x);
	assert_int_equal(x.len, 12);
	assert_int_equal(buf[8] << 8 | buf[9], 0x001f);
	assert_int_equal(buf[10] & 1, 0);

	/* MODE SENSE(10) page 2Ah; saved values are refused. */
	packet(&f->cd, ms, buf, sizeof(buf), &x);
	assert_int_equal(x.len, 8 + 22);
	assert_int_equal(buf[8], 0x2a);
	assert_true(buf[8 + 2] & 0x08);         /* reads DVD-ROM */
	ms[2] = 0x3f;
	packet(&f->cd, ms, buf, sizeof(buf), &x);
	assert_int_equal(x.len, 8 + 12 + 8 + 22);
	ms[2] = 0xc0 | 0x2a;
	assert_int_equal(packet(&f->cd, ms, buf, sizeof(buf), NULL).error >> 4, 5);
	ms[2] = 0x05;
	assert_int_equal(packet(&f->cd, ms, buf, sizeof(buf), NULL).error >> 4, 5);

	/* GESN: no event, medium present. */
	packet(&f->cd, gesn, buf, sizeof(buf), &x);
	assert_int_equal(x.len, 8);
	assert_int_equal(buf[2], 4);
	assert_int_equal(buf[4], 0);
	assert_int_equal(buf[5], 0x02);
	gesn[1] = 0;            /* asynchronous: not supported */
	assert_int_equal(packet(&f->cd, gesn, buf, sizeof(buf), NULL).error >> 4, 5);

	packet(&f->cd, di, buf, sizeof(buf), &x);
	assert_int_equal(x.len, 34);
	assert_int_equal(buf[2], 0x0e);

	/* READ TRACK INFORMATION by track number and by LBA. */
	{
		uint8_t ti[12] = { 0x52, 1, 0, 0, 0, 1, 0, 0, 48 };

		packet(&f->cd, ti, buf, sizeof(buf), &x);
		assert_int_equal(x.len, 48);
		assert_int_equal(buf[2], 1);
		assert_int_equal(buf[26] << 8 | buf[27], CD_SECTORS);
		ti[5] = 2;
		assert_int_equal(packet(&f->cd, ti, buf, sizeof(buf), NULL).error >> 4, 5);
		ti[1] = 0;
		ti[5] = 0xff;
		assert_int_equal(packet(&f->cd, ti, buf, sizeof(buf), NULL).error, 0);
		ti[4] = 0x01;   /* LBA 511: beyond the disc */
		assert_int_equal(packet(&f->cd, ti, buf, sizeof(buf), NULL).error >> 4, 5);
	}
}

static void test_atapi_empty_and_media_change(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[512];
	uint8_t tur[12] = { 0 };
	uint8_t cap[12] = { 0x25 };
	uint8_t cfg[12] = { 0x46, 0, 0, 0, 0, 0, 0, 0x01, 0 };
	uint8_t gesn[12] = { 0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8 };
	uint8_t lock[12] = { 0x1e, 0, 0, 0, 1 };
	uint8_t eject[12] = { 0x1b, 0, 0, 0, 0x02 };
	uint8_t load[12] = { 0x1b, 0, 0, 0, 0x03 };
	struct blk_image *old = (void *)1;
	struct ata_xfer x;
	struct ata_result r;

	r = packet(&f->empty, tur, NULL, 0, NULL);
	assert_int_equal(r.status, ATA_SR_DRDY | ATA_SR_ERR);
	assert_int_equal(r.error >> 4, 2);
	assert_int_equal(sense(&f->empty), 0x023a01);
	assert_int_equal(packet(&f->empty, cap, buf, sizeof(buf), &x).error >> 4, 2);
	assert_int_equal(x.len, 0);
	packet(&f->empty, cfg, buf, sizeof(buf), &x);
	assert_int_equal(buf[6] << 8 | buf[7], 0);

	/* Insert the ISO: UNIT ATTENTION once, then ready; a media event once. */
	assert_int_equal(ata_cd_change_media(&f->empty, f->iso.blk, false, &old), 0);
	assert_null(old);
	r = packet(&f->empty, tur, NULL, 0, NULL);
	assert_int_equal(r.error >> 4, 6);
	assert_int_equal(sense(&f->empty), 0x062800);
	assert_int_equal(packet(&f->empty, tur, NULL, 0, NULL).status & ATA_SR_ERR, 0);
	packet(&f->empty, gesn, buf, sizeof(buf), NULL);
	assert_int_equal(buf[4], 2);            /* new media */
	packet(&f->empty, gesn, buf, sizeof(buf), NULL);
	assert_int_equal(buf[4], 0);
	packet(&f->empty, cap, buf, sizeof(buf), &x);
	assert_int_equal(buf[2] << 8 | buf[3], CD_SECTORS - 1);

	/* Locked: the guest's eject and the user's change are refused. */
	packet(&f->empty, lock, NULL, 0, NULL);
	assert_int_equal(packet(&f->empty, eject, NULL, 0, NULL).error >> 4, 5);
	assert_int_equal(sense(&f->empty), 0x055302);
	assert_int_equal(ata_cd_change_media(&f->empty, NULL, false, &old), -EBUSY);
	lock[4] = 0;
	packet(&f->empty, lock, NULL, 0, NULL);
	assert_int_equal(packet(&f->empty, eject, NULL, 0, NULL).status & ATA_SR_ERR, 0);
	assert_int_equal(packet(&f->empty, tur, NULL, 0, NULL).error >> 4, 2);
	assert_int_equal(sense(&f->empty), 0x023a02);           /* tray open */
	packet(&f->empty, gesn, buf, sizeof(buf), NULL);
	assert_int_equal(buf[4], 3);            /* media removal */
	assert_int_equal(buf[5], 0x01);         /* tray open, no medium */
	packet(&f->empty, load, NULL, 0, NULL);
	assert_int_equal(packet(&f->empty, tur, NULL, 0, NULL).error >> 4, 6);
	assert_int_equal(packet(&f->empty, tur, NULL, 0, NULL).status & ATA_SR_ERR, 0);

	/* Remove by force; a disk has no media to change. */
	lock[4] = 1;
	packet(&f->empty, lock, NULL, 0, NULL);
	assert_int_equal(ata_cd_change_media(&f->empty, NULL, true, &old), 0);
	assert_ptr_equal(old, f->iso.blk);
	packet(&f->empty, tur, NULL, 0, NULL);  /* unit attention */
	assert_int_equal(packet(&f->empty, tur, NULL, 0, NULL).error >> 4, 2);
	assert_int_equal(ata_cd_change_media(&f->hd, NULL, true, NULL), -EINVAL);
}

static void test_save_load(void **state)
{
	struct fixture *f = *state;
	struct ata_taskfile tf = { .command = 0xc6, .count = 4 };
	struct sv_writer w;
	struct sv_reader r;
	struct ata_drive copy;
	struct ata_drive_config cfg = { .img = f->disk.blk, .sata = true };

	run(&f->hd, &tf, NULL, NULL, 0, NULL);
	sv_writer_init(&w);
	ata_drive_save(&f->hd, &w);
	assert_false(w.failed);
	assert_int_equal(ata_drive_init(&copy, &cfg), 0);
	sv_reader_init(&r, w.buf, w.len);
	assert_int_equal(ata_drive_load(&copy, &r), 0);
	assert_true(sv_reader_ok(&r, true));
	assert_int_equal(copy.mult_sectors, 4);
	/* Truncated and corrupt streams are refused and change nothing. */
	sv_reader_init(&r, w.buf, w.len - 1);
	assert_int_equal(ata_drive_load(&copy, &r), -EINVAL);
	w.buf[0] = 3;           /* not a power of two */
	sv_reader_init(&r, w.buf, w.len);
	assert_int_equal(ata_drive_load(&copy, &r), -EINVAL);
	assert_int_equal(copy.mult_sectors, 4);
	sv_writer_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identify_disk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identify_pata_readonly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rw_dma_ext, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_multiple_and_misc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ncq_and_log, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trim, setup, teardown),
		cmocka_unit_test_setup_teardown(test_atapi_identify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_atapi_inquiry_capacity_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_atapi_toc_config_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_atapi_empty_and_media_change, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_load, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
