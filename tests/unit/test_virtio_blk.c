// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * virtio-blk on the modern virtio-pci transport, driven the way a guest
 * driver drives it: find the capabilities in PCI config space, negotiate
 * features, set queues up in fake guest RAM, submit requests through the
 * notify register and wait for the used ring (the device serves them on
 * its own I/O thread).  The disk is a raw image in a temporary file,
 * opened through the block layer.  Then malformed requests and rings: the
 * device reports errors or NEEDS_RESET and keeps working after a reset.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "block.h"
#include "devices.h"
#include "fake_machine.h"
#include "slow_image.h"
#include "virtio_pci.h"

#define RAM_SIZE     (8u << 20)
#define DISK_SIZE    (1u << 20)
#define DISK_SECTORS (DISK_SIZE / 512)
#define MAX_Q        4
#define QSIZE        256           /* what the device offers */
#define RING_GPA(q)  (0x10000u + (q) * 0x10000u)
#define HDR_GPA      0x100000u
#define STATUS_GPA   0x100100u
#define TABLE_GPA    0x180000u
#define DATA_GPA     0x200000u
#define MSI_ADDR     0xfee00000u
#define MSI_DATA(v)  (0x4000u + (v))

/* Request types, status, features (virtio 1.2, 5.2) */
#define T_IN            0
#define T_OUT           1
#define T_FLUSH         4
#define T_GET_ID        8
#define T_DISCARD       11
#define T_WRITE_ZEROES  13
#define S_OK            0
#define S_IOERR         1
#define S_UNSUPP        2
#define F_SIZE_MAX      1
#define F_SEG_MAX       2
#define F_RO            5
#define F_BLK_SIZE      6
#define F_FLUSH         9
#define F_MQ            12
#define F_DISCARD       13
#define F_WRITE_ZEROES  14

#define D_NEXT     VIRTQ_DESC_F_NEXT
#define D_WRITE    VIRTQ_DESC_F_WRITE
#define D_INDIRECT VIRTQ_DESC_F_INDIRECT

struct desc_spec {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;   /* NEXT is added between entries of a chain */
};

struct drv {
	struct fake_machine *fm;
	struct fake_machine fm_store[2];
	struct device *dev;
	char dir[64], path[96];
	struct blk_image *img;
	uint8_t devfn;
	uint64_t bar1, bar4;
	/* From the vendor capabilities. */
	uint32_t common, isr, devcfg, notify, notify_mult;
	uint8_t pci_cfg_cap, msix_cap;
	uint64_t features;
	unsigned int nr_queues;
	uint16_t avail_idx[MAX_Q], used_seen[MAX_Q];
};

/* ---- plumbing ---- */

static uint32_t cfg_rd(struct drv *d, unsigned int off, unsigned int size)
{
	return fake_pci_cfg_read(d->fm, d->devfn, off, size);
}

static void cfg_wr(struct drv *d, unsigned int off, uint32_t v, unsigned int size)
{
	fake_pci_cfg_write(d->fm, d->devfn, off, v, size);
}

static uint64_t bar_rd(struct drv *d, uint32_t off, unsigned int size)
{
	return fake_mmio_read(d->fm, d->bar4 + off, size);
}

static void bar_wr(struct drv *d, uint32_t off, uint64_t v, unsigned int size)
{
	fake_mmio_write(d->fm, d->bar4 + off, v, size);
}

static uint8_t status(struct drv *d)
{
	return (uint8_t)bar_rd(d, d->common + VIRTIO_PCI_DEVICE_STATUS, 1);
}

static void set_status(struct drv *d, uint8_t s)
{
	bar_wr(d, d->common + VIRTIO_PCI_DEVICE_STATUS, s, 1);
}

static uint8_t *ram(struct drv *d, uint64_t gpa)
{
	return d->fm->ram + gpa;
}

static void put16(struct drv *d, uint64_t gpa, uint16_t v) { memcpy(ram(d, gpa), &v, 2); }
static void put32(struct drv *d, uint64_t gpa, uint32_t v) { memcpy(ram(d, gpa), &v, 4); }
static void put64(struct drv *d, uint64_t gpa, uint64_t v) { memcpy(ram(d, gpa), &v, 8); }

static uint32_t get32(struct drv *d, uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, ram(d, gpa), 4);
	return v;
}

static uint16_t used_idx(struct drv *d, unsigned int q)
{
	return __atomic_load_n((uint16_t *)ram(d, RING_GPA(q) + 0x8000 + 2), __ATOMIC_ACQUIRE);
}

/* How long to wait for the I/O thread: long when something must happen. */
static int wait_ms = 5000;

/* Wait (bounded) for the I/O thread; then take the device lock once so
 * whatever it did under the lock (interrupts) is visible. */
static bool wait_until(struct drv *d, bool (*cond)(struct drv *, unsigned int), unsigned int q)
{
	for (int i = 0; i < wait_ms; i++) {
		if (cond(d, q)) {
			pthread_mutex_lock(&d->dev->lock);
			pthread_mutex_unlock(&d->dev->lock);
			return true;
		}
		usleep(1000);
	}
	return false;
}

static bool has_new_used(struct drv *d, unsigned int q)
{
	return used_idx(d, q) != d->used_seen[q];
}

static bool needs_reset(struct drv *d, unsigned int q)
{
	return status(d) & VIRTIO_STATUS_NEEDS_RESET;
}

/* ---- the "driver" ---- */

static void find_caps(struct drv *d)
{
	unsigned int off = cfg_rd(d, PCI_CAPABILITY_LIST, 1);

	for (int n = 0; off && n < 48; n++, off = cfg_rd(d, off + 1, 1)) {
		unsigned int id = cfg_rd(d, off, 1);

		if (id == PCI_CAP_ID_MSIX)
			d->msix_cap = (uint8_t)off;
		if (id != PCI_CAP_ID_VNDR)
			continue;
		switch (cfg_rd(d, off + 3, 1)) {
		case VIRTIO_PCI_CAP_COMMON_CFG:
			assert_int_equal(cfg_rd(d, off + 4, 1), 4);
			assert_true(cfg_rd(d, off + 12, 4) >= VIRTIO_PCI_COMMON_LEN);
			d->common = cfg_rd(d, off + 8, 4);
			break;
		case VIRTIO_PCI_CAP_ISR_CFG:
			d->isr = cfg_rd(d, off + 8, 4);
			break;
		case VIRTIO_PCI_CAP_DEVICE_CFG:
			assert_true(cfg_rd(d, off + 12, 4) >= 0x3c);
			d->devcfg = cfg_rd(d, off + 8, 4);
			break;
		case VIRTIO_PCI_CAP_NOTIFY_CFG:
			assert_int_equal(cfg_rd(d, off + 2, 1), 20);
			d->notify = cfg_rd(d, off + 8, 4);
			d->notify_mult = cfg_rd(d, off + 16, 4);
			break;
		case VIRTIO_PCI_CAP_PCI_CFG:
			d->pci_cfg_cap = (uint8_t)off;
			break;
		}
	}
}

static void map_bars(struct drv *d)
{
	d->bar1 = cfg_rd(d, PCI_BAR0 + 4, 4) & ~0xfu;
	d->bar4 = (cfg_rd(d, PCI_BAR0 + 16, 4) & ~0xfu) | (uint64_t)cfg_rd(d, PCI_BAR0 + 20, 4) << 32;
	cfg_wr(d, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
}

/* MSI-X on, vector v -> data MSI_DATA(v), all unmasked. */
static void enable_msix(struct drv *d)
{
	unsigned int n = (cfg_rd(d, d->msix_cap + 2, 2) & 0x7ff) + 1;

	for (unsigned int v = 0; v < n; v++) {
		fake_mmio_write(d->fm, d->bar1 + 16 * v, MSI_ADDR, 4);
		fake_mmio_write(d->fm, d->bar1 + 16 * v + 4, 0, 4);
		fake_mmio_write(d->fm, d->bar1 + 16 * v + 8, MSI_DATA(v), 4);
		fake_mmio_write(d->fm, d->bar1 + 16 * v + 12, 0, 4);
	}
	cfg_wr(d, d->msix_cap + 2, 0x8000, 2);
}

static uint64_t device_features(struct drv *d)
{
	uint64_t f;

	bar_wr(d, d->common + VIRTIO_PCI_DEVICE_FEATURE_SELECT, 0, 4);
	f = bar_rd(d, d->common + VIRTIO_PCI_DEVICE_FEATURE, 4);
	bar_wr(d, d->common + VIRTIO_PCI_DEVICE_FEATURE_SELECT, 1, 4);
	return f | bar_rd(d, d->common + VIRTIO_PCI_DEVICE_FEATURE, 4) << 32;
}

/* Accept @want; true if the device kept FEATURES_OK. */
static bool negotiate(struct drv *d, uint64_t want)
{
	set_status(d, 0);
	assert_int_equal(status(d), 0);
	set_status(d, VIRTIO_STATUS_ACKNOWLEDGE);
	set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	bar_wr(d, d->common + VIRTIO_PCI_DRIVER_FEATURE_SELECT, 0, 4);
	bar_wr(d, d->common + VIRTIO_PCI_DRIVER_FEATURE, (uint32_t)want, 4);
	bar_wr(d, d->common + VIRTIO_PCI_DRIVER_FEATURE_SELECT, 1, 4);
	bar_wr(d, d->common + VIRTIO_PCI_DRIVER_FEATURE, (uint32_t)(want >> 32), 4);
	set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	return status(d) & VIRTIO_STATUS_FEATURES_OK;
}

static void setup_queue(struct drv *d, unsigned int q, uint16_t size, uint16_t vector)
{
	uint64_t base = RING_GPA(q);

	memset(ram(d, base), 0, 0x10000);
	bar_wr(d, d->common + VIRTIO_PCI_QUEUE_SELECT, q, 2);
	bar_wr(d, d->common + VIRTIO_PCI_QUEUE_SIZE, size, 2);
	/* Linux writes the 64-bit addresses in two halves. */
	bar_wr(d, d->common + VIRTIO_PCI_QUEUE_DESC, (uint32_t)base, 4);
	bar_wr(d, d->common + VIRTIO_PCI_QUEUE_DESC + 4, 0, 4);
	bar_wr(d, d->common + VIRTIO_PCI_QUEUE_DRIVER, base + 0x4000, 8);
	bar_wr(d, d->common + VIRTIO_PCI_QUEUE_DEVICE, (uint32_t)(base + 0x8000), 4);
	bar_wr(d, d->common + VIRTIO_PCI_QUEUE_DEVICE + 4, 0, 4);
	bar_wr(d, d->common + VIRTIO_PCI_QUEUE_MSIX_VECTOR, vector, 2);
	bar_wr(d, d->common + VIRTIO_PCI_QUEUE_ENABLE, 1, 2);
	d->avail_idx[q] = d->used_seen[q] = 0;
}

/* The whole bring-up (3.1.1), with all offered features except @drop. */
static void drv_start(struct drv *d, bool msix, uint64_t drop)
{
	uint64_t want;

	want = device_features(d) & ~drop;
	assert_true(negotiate(d, want));
	d->features = want;
	if (msix)
		bar_wr(d, d->common + VIRTIO_PCI_CONFIG_MSIX_VECTOR, 0, 2);
	for (unsigned int q = 0; q < d->nr_queues; q++)
		setup_queue(d, q, QSIZE, msix ? (uint16_t)(q + 1) : VIRTIO_NO_VECTOR);
	set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
		   VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(status(d) & VIRTIO_STATUS_DRIVER_OK, VIRTIO_STATUS_DRIVER_OK);
}

static void set_desc(struct drv *d, uint64_t table, unsigned int i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	put64(d, table + 16u * i, addr);
	put32(d, table + 16u * i + 8, len);
	put16(d, table + 16u * i + 12, flags);
	put16(d, table + 16u * i + 14, next);
}

/* Publish the chain at @head on queue @q, without notifying. */
static void publish(struct drv *d, unsigned int q, uint16_t head)
{
	uint64_t avail = RING_GPA(q) + 0x4000;

	put16(d, avail + 4 + 2u * (d->avail_idx[q] % QSIZE), head);
	__atomic_store_n((uint16_t *)ram(d, avail + 2), ++d->avail_idx[q], __ATOMIC_RELEASE);
}

/* Publish the chain at @head and notify queue @q.  On a machine with
 * ioeventfds the event loop then runs, as it would on its own thread. */
static void kick(struct drv *d, unsigned int q, uint16_t head)
{
	publish(d, q, head);
	bar_wr(d, d->notify + q * d->notify_mult, q, 2);
	if (d->fm->offer_ioeventfd)
		fake_loop_run(d->fm);
}

/* Build @n descriptors 0..n-1 in queue @q's table as one chain and kick it. */
static void submit(struct drv *d, unsigned int q, const struct desc_spec *s, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		set_desc(d, RING_GPA(q), i, s[i].addr, s[i].len,
			 (uint16_t)(s[i].flags | (i + 1 < n ? D_NEXT : 0)), (uint16_t)(i + 1));
	kick(d, q, 0);
}

/* Wait for one used element on @q; its length, or -1 on timeout. */
static int64_t wait_used(struct drv *d, unsigned int q)
{
	uint64_t used = RING_GPA(q) + 0x8000;
	uint32_t len;

	if (!wait_until(d, has_new_used, q))
		return -1;
	len = get32(d, used + 4 + 8u * (d->used_seen[q] % QSIZE) + 4);
	d->used_seen[q]++;
	return len;
}

static void put_hdr(struct drv *d, uint32_t type, uint64_t sector)
{
	put32(d, HDR_GPA, type);
	put32(d, HDR_GPA + 4, 0);
	put64(d, HDR_GPA + 8, sector);
}

/* header + one data buffer + status; returns the status byte (-1: no completion). */
static int blk_request(struct drv *d, unsigned int q, uint32_t type, uint64_t sector,
		       uint64_t data, uint32_t len, bool device_writes, int64_t *used_len)
{
	struct desc_spec s[3] = {
		{ HDR_GPA, 16, 0 },
		{ data, len, device_writes ? D_WRITE : 0 },
		{ STATUS_GPA, 1, D_WRITE },
	};
	int64_t l;

	put_hdr(d, type, sector);
	*ram(d, STATUS_GPA) = 0xee;
	if (len) {
		submit(d, q, s, 3);
	} else {
		s[1] = s[2];
		submit(d, q, s, 2);
	}
	l = wait_used(d, q);
	if (used_len)
		*used_len = l;
	return l < 0 ? -1 : *ram(d, STATUS_GPA);
}

/* A flush that must not complete (the device is stopped): true if it did not. */
static bool flush_ignored(struct drv *d, unsigned int q)
{
	int ret;

	wait_ms = 200;
	ret = blk_request(d, q, T_FLUSH, 0, 0, 0, false, NULL);
	wait_ms = 5000;
	return ret == -1;
}

static void fill_pattern(uint8_t *p, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

/* ---- fixtures ---- */

/* The size of the next fixture's (sparse) disk. */
static uint64_t disk_size = DISK_SIZE;
/* The next fixture's machine offers ioeventfds and irqfds (host_loop.h). */
static bool offer_loop;

/* @readonly: the drive is read-only; @image_ro: the image is opened read-only. */
static struct drv *drv_new_ro(bool readonly, bool image_ro, unsigned int nr_queues)
{
	static struct drv d;
	struct blk_create_opts o = { .format = "raw", .size = disk_size };
	struct drive_args drive = { 0 };
	struct device_args args = { .out_fd = -1, .in_fd = -1, .drives = &drive, .nr_drives = 1,
				    .nr_queues = nr_queues };
	char err[BLK_ERR_MAX];
	const char *t = getenv("TMPDIR");

	memset(&d, 0, sizeof(d));
	d.fm = &d.fm_store[0];
	assert_int_equal(fake_machine_init(d.fm, RAM_SIZE), 0);
	d.fm->offer_ioeventfd = d.fm->offer_irqfd = offer_loop;
	snprintf(d.dir, sizeof(d.dir), "%s/hutch-vblk-XXXXXX", t ? t : "/tmp");
	assert_non_null(mkdtemp(d.dir));
	snprintf(d.path, sizeof(d.path), "%s/disk.raw", d.dir);
	assert_int_equal(blk_create(d.path, &o, err, sizeof(err)), 0);
	assert_int_equal(blk_open(d.path, "raw", image_ro ? BLK_RDONLY : 0, &d.img, err, sizeof(err)), 0);
	drive.img = d.img;
	drive.readonly = readonly;
	snprintf(drive.serial, sizeof(drive.serial), "HUTCH-SERIAL-0001");
	d.dev = device_create(&virtio_blk_model, "virtio-blk0", &d.fm->host, &args);
	assert_non_null(d.dev);
	d.devfn = 1 << 3;   /* slot 0 is the host bridge's: the first free slot is 1 */
	d.nr_queues = nr_queues ? nr_queues : 1;
	map_bars(&d);
	find_caps(&d);
	return &d;
}

static struct drv *drv_new(bool readonly, unsigned int nr_queues)
{
	return drv_new_ro(readonly, readonly, nr_queues);
}

static void drv_free(struct drv *d)
{
	device_destroy(d->dev);
	blk_close(d->img);
	unlink(d->path);
	rmdir(d->dir);
	fake_machine_destroy(d->fm);
}

static int setup(void **state)
{
	*state = drv_new(false, 0);
	return 0;
}

static int setup_msix(void **state)
{
	struct drv *d = drv_new(false, 0);

	enable_msix(d);
	drv_start(d, true, 0);
	*state = d;
	return 0;
}

static int teardown(void **state)
{
	drv_free(*state);
	return 0;
}

/* ---- PCI identity and capabilities ---- */

static void test_pci_identity(void **state)
{
	struct drv *d = *state;

	assert_int_equal(cfg_rd(d, PCI_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(cfg_rd(d, PCI_DEVICE_ID, 2), 0x1042);
	assert_int_equal(cfg_rd(d, PCI_REVISION_ID, 1), 1);
	assert_int_equal(cfg_rd(d, PCI_SUBSYSTEM_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(cfg_rd(d, PCI_INTERRUPT_PIN, 1), 1);
	assert_true(cfg_rd(d, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	/* BAR4 is 64-bit memory, BAR1 the MSI-X table. */
	assert_int_equal(cfg_rd(d, PCI_BAR0 + 16, 4) & 0x7, 0x4);
	assert_int_not_equal(d->bar4, 0);
	assert_int_not_equal(d->bar1, 0);
	assert_int_equal(d->common, VIRTIO_PCI_COMMON_OFF);
	assert_int_equal(d->isr, VIRTIO_PCI_ISR_OFF);
	assert_int_equal(d->devcfg, VIRTIO_PCI_DEVICE_OFF);
	assert_int_equal(d->notify, VIRTIO_PCI_NOTIFY_OFF);
	assert_int_equal(d->notify_mult, 4);
	assert_int_not_equal(d->pci_cfg_cap, 0);
	assert_int_not_equal(d->msix_cap, 0);
	/* One MSI-X vector per queue and one for configuration changes. */
	assert_int_equal((cfg_rd(d, d->msix_cap + 2, 2) & 0x7ff) + 1, 2);
	assert_int_equal(bar_rd(d, d->common + VIRTIO_PCI_NUM_QUEUES, 2), 1);
}

static void test_device_config(void **state)
{
	struct drv *d = *state;
	uint64_t f = device_features(d);

	assert_true(f & (1ULL << VIRTIO_F_VERSION_1));
	assert_true(f & (1ULL << VIRTIO_F_EVENT_IDX));
	assert_true(f & (1ULL << VIRTIO_F_INDIRECT_DESC));
	assert_true(f & (1ULL << F_FLUSH));
	assert_true(f & (1ULL << F_BLK_SIZE));
	assert_true(f & (1ULL << F_SEG_MAX));
	assert_true(f & (1ULL << F_SIZE_MAX));
	assert_true(f & (1ULL << F_MQ));
	assert_true(f & (1ULL << F_WRITE_ZEROES));
	assert_true(f & (1ULL << F_DISCARD));   /* raw images can punch holes */
	assert_false(f & (1ULL << F_RO));
	assert_int_equal(bar_rd(d, d->devcfg + 0x00, 8), DISK_SECTORS);
	assert_int_equal(bar_rd(d, d->devcfg + 0x00, 4), DISK_SECTORS);   /* halves work too */
	assert_int_equal(bar_rd(d, d->devcfg + 0x0c, 4), QSIZE - 2);      /* seg_max */
	assert_int_equal(bar_rd(d, d->devcfg + 0x14, 4), 512);            /* blk_size */
	assert_int_equal(bar_rd(d, d->devcfg + 0x22, 2), 1);              /* num_queues */
	assert_true(bar_rd(d, d->devcfg + 0x28, 4) >= 1);                /* max_discard_seg */
	assert_int_equal(bar_rd(d, d->devcfg + 0x1000 - 4, 4), 0);        /* past the end */
	/* Read-only configuration: a write changes nothing. */
	bar_wr(d, d->devcfg, 5, 8);
	assert_int_equal(bar_rd(d, d->devcfg, 8), DISK_SECTORS);
}

/* 4.1.4.9: the same registers through the configuration-space window. */
static void test_pci_cfg_window(void **state)
{
	struct drv *d = *state;
	unsigned int c = d->pci_cfg_cap;

	cfg_wr(d, c + 4, VIRTIO_PCI_BAR, 1);
	cfg_wr(d, c + 8, d->devcfg + 0x14, 4);
	cfg_wr(d, c + 12, 4, 4);
	assert_int_equal(cfg_rd(d, c + 16, 4), 512);
	/* Write through it: device status. */
	cfg_wr(d, c + 8, d->common + VIRTIO_PCI_DEVICE_STATUS, 4);
	cfg_wr(d, c + 12, 1, 4);
	cfg_wr(d, c + 16, VIRTIO_STATUS_ACKNOWLEDGE, 1);
	assert_int_equal(status(d), VIRTIO_STATUS_ACKNOWLEDGE);
	/* Another BAR, or a bad length: nothing happens. */
	cfg_wr(d, c + 12, 3, 4);
	cfg_wr(d, c + 16, 0, 1);
	assert_int_equal(status(d), VIRTIO_STATUS_ACKNOWLEDGE);
	cfg_wr(d, c + 4, 0, 1);
	cfg_wr(d, c + 12, 1, 4);
	cfg_wr(d, c + 16, 0, 1);
	assert_int_equal(status(d), VIRTIO_STATUS_ACKNOWLEDGE);
}

/* ---- feature negotiation and queue set-up ---- */

static void test_negotiation(void **state)
{
	struct drv *d = *state;
	uint64_t f = device_features(d);

	/* No VERSION_1: there is no legacy interface, so refuse. */
	assert_false(negotiate(d, f & ~(1ULL << VIRTIO_F_VERSION_1)));
	/* A feature that was not offered. */
	assert_false(negotiate(d, f | (1ULL << 34)));
	/* Accepted; later feature writes are ignored. */
	assert_true(negotiate(d, (1ULL << VIRTIO_F_VERSION_1) | (1ULL << F_FLUSH)));
	bar_wr(d, d->common + VIRTIO_PCI_DRIVER_FEATURE_SELECT, 0, 4);
	bar_wr(d, d->common + VIRTIO_PCI_DRIVER_FEATURE, 0xffffffff, 4);
	assert_int_equal(bar_rd(d, d->common + VIRTIO_PCI_DRIVER_FEATURE, 4), 1u << F_FLUSH);
	/* The driver cannot clear status bits without a reset. */
	set_status(d, VIRTIO_STATUS_ACKNOWLEDGE);
	assert_int_equal(status(d), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				    VIRTIO_STATUS_FEATURES_OK);
	/* Nor set NEEDS_RESET. */
	set_status(d, VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_ACKNOWLEDGE);
	assert_false(status(d) & VIRTIO_STATUS_NEEDS_RESET);
	/* DRIVER_OK needs FEATURES_OK. */
	set_status(d, 0);
	set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK);
	assert_false(status(d) & VIRTIO_STATUS_DRIVER_OK);
	/* Reset clears everything. */
	set_status(d, 0);
	assert_int_equal(status(d), 0);
	bar_wr(d, d->common + VIRTIO_PCI_DRIVER_FEATURE_SELECT, 0, 4);
	assert_int_equal(bar_rd(d, d->common + VIRTIO_PCI_DRIVER_FEATURE, 4), 0);
}

static void test_queue_registers(void **state)
{
	struct drv *d = *state;

	assert_true(negotiate(d, device_features(d)));
	bar_wr(d, d->common + VIRTIO_PCI_QUEUE_SELECT, 0, 2);
	assert_int_equal(bar_rd(d, d->common + VIRTIO_PCI_QUEUE_SIZE, 2), QSIZE);
	assert_int_equal(bar_rd(d, d->common + VIRTIO_PCI_QUEUE_NOTIFY_OFF, 2), 0);
	assert_int_equal(bar_rd(d, d->common + VIRTIO_PCI_QUEUE_MSIX_VECTOR, 2), VIRTIO_NO_VECTOR);
	/* Vectors the function does not have read back as NO_VECTOR. */
	bar_wr(d, d->common + VIRTIO_PCI_QUEUE_MSIX_VECTOR, 1, 2);
	assert_int_equal(bar_rd(d, d->common + VIRTIO_PCI_QUEUE_MSIX_VECTOR, 2), 1);
	bar_wr(d, d->common + VIRTIO_PCI_QUEUE_MSIX_VECTOR, 2, 2);
	assert_int_equal(bar_rd(d, d->common + VIRTIO_PCI_QUEUE_MSIX_VECTOR, 2), VIRTIO_NO_VECTOR);
	bar_wr(d, d->common + VIRTIO_PCI_CONFIG_MSIX_VECTOR, 7, 2);
	assert_int_equal(bar_rd(d, d->common + VIRTIO_PCI_CONFIG_MSIX_VECTOR, 2), VIRTIO_NO_VECTOR);
	/* 64-bit address in halves and whole. */
	bar_wr(d, d->common + VIRTIO_PCI_QUEUE_DESC, 0x12345000, 4);
	bar_wr(d, d->common + VIRTIO_PCI_QUEUE_DESC + 4, 0x1, 4);
	assert_int_equal(bar_rd(d, d->common + VIRTIO_PCI_QUEUE_DESC, 8), 0x112345000ULL);
	bar_wr(d, d->common + VIRTIO_PCI_QUEUE_DRIVER, 0xabcdef000ULL, 8);
	assert_int_equal(bar_rd(d, d->common + VIRTIO_PCI_QUEUE_DRIVER, 8), 0xabcdef000ULL);
	/* A wrong-width write is ignored. */
	bar_wr(d, d->common + VIRTIO_PCI_QUEUE_SIZE, 0x10, 4);
	assert_int_equal(bar_rd(d, d->common + VIRTIO_PCI_QUEUE_SIZE, 2), QSIZE);
	/* A queue that does not exist reads size 0 and ignores writes. */
	bar_wr(d, d->common + VIRTIO_PCI_QUEUE_SELECT, 5, 2);
	assert_int_equal(bar_rd(d, d->common + VIRTIO_PCI_QUEUE_SIZE, 2), 0);
	bar_wr(d, d->common + VIRTIO_PCI_QUEUE_SIZE, 16, 2);
	bar_wr(d, d->common + VIRTIO_PCI_QUEUE_ENABLE, 1, 2);
	assert_int_equal(bar_rd(d, d->common + VIRTIO_PCI_QUEUE_ENABLE, 2), 0);
	/* Enabled queues keep their set-up. */
	setup_queue(d, 0, 64, VIRTIO_NO_VECTOR);
	bar_wr(d, d->common + VIRTIO_PCI_QUEUE_SELECT, 0, 2);
	assert_int_equal(bar_rd(d, d->common + VIRTIO_PCI_QUEUE_ENABLE, 2), 1);
	bar_wr(d, d->common + VIRTIO_PCI_QUEUE_SIZE, 32, 2);
	bar_wr(d, d->common + VIRTIO_PCI_QUEUE_DESC, 0x5000, 8);
	assert_int_equal(bar_rd(d, d->common + VIRTIO_PCI_QUEUE_SIZE, 2), 64);
	assert_int_equal(bar_rd(d, d->common + VIRTIO_PCI_QUEUE_DESC, 8), RING_GPA(0));
	assert_false(status(d) & VIRTIO_STATUS_NEEDS_RESET);
	/* Reset: the queue is gone, size back to the maximum. */
	set_status(d, 0);
	assert_int_equal(bar_rd(d, d->common + VIRTIO_PCI_QUEUE_ENABLE, 2), 0);
	assert_int_equal(bar_rd(d, d->common + VIRTIO_PCI_QUEUE_SIZE, 2), QSIZE);
	assert_int_equal(bar_rd(d, d->common + VIRTIO_PCI_QUEUE_DESC, 8), 0);
}

/* A driver that sets a queue up before FEATURES_OK still gets the ring features it accepted. */
static void test_queue_before_features(void **state)
{
	struct drv *d = *state;
	uint64_t f = device_features(d);

	set_status(d, 0);
	set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	setup_queue(d, 0, QSIZE, VIRTIO_NO_VECTOR);
	bar_wr(d, d->common + VIRTIO_PCI_DRIVER_FEATURE_SELECT, 0, 4);
	bar_wr(d, d->common + VIRTIO_PCI_DRIVER_FEATURE, (uint32_t)f, 4);
	bar_wr(d, d->common + VIRTIO_PCI_DRIVER_FEATURE_SELECT, 1, 4);
	bar_wr(d, d->common + VIRTIO_PCI_DRIVER_FEATURE, (uint32_t)(f >> 32), 4);
	set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
		   VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(blk_request(d, 0, T_FLUSH, 0, 0, 0, false, NULL), S_OK);
	/* EVENT_IDX is live: the device asked to be notified of slot 1. */
	assert_int_equal(get32(d, RING_GPA(0) + 0x8000 + 4 + 8 * QSIZE) & 0xffff, 1);
}

/* ---- I/O ---- */

static void test_write_read(void **state)
{
	struct drv *d = *state;
	static uint8_t pattern[65536], disk[65536];
	int64_t len;

	fill_pattern(pattern, sizeof(pattern), 1);
	memcpy(ram(d, DATA_GPA), pattern, sizeof(pattern));
	fake_machine_clear_counts(d->fm);
	assert_int_equal(blk_request(d, 0, T_OUT, 100, DATA_GPA, sizeof(pattern), false, &len), S_OK);
	assert_int_equal(len, 1);   /* only the status byte was written */
	/* On the disk, at sector 100. */
	assert_int_equal(blk_pread(d->img, disk, sizeof(disk), 100 * 512), 0);
	assert_memory_equal(disk, pattern, sizeof(pattern));
	/* MSI-X vector 1 (queue 0) fired. */
	assert_true(d->fm->nr_msis >= 1);
	assert_int_equal(d->fm->msis[0].addr, MSI_ADDR);
	assert_int_equal(d->fm->msis[0].data, MSI_DATA(1));

	memset(ram(d, DATA_GPA), 0, sizeof(pattern));
	assert_int_equal(blk_request(d, 0, T_IN, 100, DATA_GPA, sizeof(pattern), true, &len), S_OK);
	assert_int_equal(len, sizeof(pattern) + 1);
	assert_memory_equal(ram(d, DATA_GPA), pattern, sizeof(pattern));
	/* The last sector. */
	assert_int_equal(blk_request(d, 0, T_IN, DISK_SECTORS - 1, DATA_GPA, 512, true, NULL), S_OK);
}

/* Data spread over many descriptors of an indirect table, as Linux sends it. */
static void test_indirect_scatter(void **state)
{
	struct drv *d = *state;
	static uint8_t pattern[8 * 4096];
	const unsigned int n = 8;
	int64_t len;

	fill_pattern(pattern, sizeof(pattern), 7);
	for (unsigned int i = 0; i < n; i++)   /* pages in reverse order in RAM */
		memcpy(ram(d, DATA_GPA + (n - 1 - i) * 8192u), pattern + 4096 * i, 4096);
	put_hdr(d, T_OUT, 8);
	set_desc(d, TABLE_GPA, 0, HDR_GPA, 16, D_NEXT, 1);
	for (unsigned int i = 0; i < n; i++)
		set_desc(d, TABLE_GPA, 1 + i, DATA_GPA + (n - 1 - i) * 8192u, 4096, D_NEXT,
			 (uint16_t)(2 + i));
	set_desc(d, TABLE_GPA, n + 1, STATUS_GPA, 1, D_WRITE, 0);
	set_desc(d, RING_GPA(0), 0, TABLE_GPA, 16 * (n + 2), D_INDIRECT, 0);
	kick(d, 0, 0);
	assert_int_equal(wait_used(d, 0), 1);
	assert_int_equal(*ram(d, STATUS_GPA), S_OK);

	memset(ram(d, DATA_GPA + 0x100000), 0, sizeof(pattern));
	assert_int_equal(blk_request(d, 0, T_IN, 8, DATA_GPA + 0x100000, sizeof(pattern), true, &len),
			 S_OK);
	assert_memory_equal(ram(d, DATA_GPA + 0x100000), pattern, sizeof(pattern));
}

/* Build a chain of @n equal data segments at @gap-spaced addresses from @base. */
static void scattered_request(struct drv *d, uint32_t type, uint64_t sector, uint64_t base,
			      uint64_t gap, uint32_t seg, unsigned int n)
{
	uint16_t dflag = type == T_IN ? D_WRITE : 0;

	put_hdr(d, type, sector);
	*ram(d, STATUS_GPA) = 0xee;
	set_desc(d, TABLE_GPA, 0, HDR_GPA, 16, D_NEXT, 1);
	for (unsigned int i = 0; i < n; i++)
		set_desc(d, TABLE_GPA, 1 + i, base + i * gap, seg, dflag | D_NEXT, (uint16_t)(2 + i));
	set_desc(d, TABLE_GPA, n + 1, STATUS_GPA, 1, D_WRITE, 0);
	set_desc(d, RING_GPA(0), 0, TABLE_GPA, 16 * (n + 2), D_INDIRECT, 0);
	kick(d, 0, 0);
}

/*
 * Requests larger than the device's bounce buffer, with segments that are
 * and are not contiguous, in both directions: every byte lands where it
 * belongs.
 */
static void test_large_scattered(void **state)
{
	struct drv *d = *state;
	static uint8_t pattern[600 * 1024];
	const uint32_t seg = 20 * 1024;
	const unsigned int n = sizeof(pattern) / seg;   /* 30 segments, 40 KiB apart */

	fill_pattern(pattern, sizeof(pattern), 11);
	for (unsigned int i = 0; i < n; i++)
		memcpy(ram(d, DATA_GPA + i * 2 * seg), pattern + i * seg, seg);
	scattered_request(d, T_OUT, 40, DATA_GPA, 2 * seg, seg, n);
	assert_int_equal(wait_used(d, 0), 1);
	assert_int_equal(*ram(d, STATUS_GPA), S_OK);

	/* Back in one contiguous buffer... */
	memset(ram(d, DATA_GPA + 0x180000), 0, sizeof(pattern));
	assert_int_equal(blk_request(d, 0, T_IN, 40, DATA_GPA + 0x180000, sizeof(pattern), true, NULL),
			 S_OK);
	assert_memory_equal(ram(d, DATA_GPA + 0x180000), pattern, sizeof(pattern));
	/* ...and scattered. */
	memset(ram(d, DATA_GPA), 0, 2 * sizeof(pattern));
	scattered_request(d, T_IN, 40, DATA_GPA, 2 * seg, seg, n);
	assert_int_equal(wait_used(d, 0), sizeof(pattern) + 1);
	assert_int_equal(*ram(d, STATUS_GPA), S_OK);
	for (unsigned int i = 0; i < n; i++) {
		assert_memory_equal(ram(d, DATA_GPA + i * 2 * seg), pattern + i * seg, seg);
		assert_int_equal(*ram(d, DATA_GPA + i * 2 * seg + seg), 0);   /* the gaps untouched */
	}
}

static void test_flush_and_get_id(void **state)
{
	struct drv *d = *state;
	int64_t len;

	assert_int_equal(blk_request(d, 0, T_FLUSH, 0, 0, 0, false, &len), S_OK);
	assert_int_equal(len, 1);
	memset(ram(d, DATA_GPA), 0xff, 32);
	assert_int_equal(blk_request(d, 0, T_GET_ID, 0, DATA_GPA, 20, true, &len), S_OK);
	assert_int_equal(len, 21);
	assert_memory_equal(ram(d, DATA_GPA), "HUTCH-SERIAL-0001\0\0\0", 20);
	assert_int_equal(*ram(d, DATA_GPA + 20), 0xff);   /* not one byte more */
	/* A short ID buffer gets what fits. */
	assert_int_equal(blk_request(d, 0, T_GET_ID, 0, DATA_GPA + 64, 5, true, &len), S_OK);
	assert_int_equal(len, 6);
	assert_memory_equal(ram(d, DATA_GPA + 64), "HUTCH", 5);
}

static void test_write_zeroes_and_discard(void **state)
{
	struct drv *d = *state;
	static uint8_t buf[16384];
	uint8_t zero[4096] = { 0 };

	memset(ram(d, DATA_GPA), 0xab, sizeof(buf));
	assert_int_equal(blk_request(d, 0, T_OUT, 64, DATA_GPA, sizeof(buf), false, NULL), S_OK);
	/* Write zeroes over sectors 72..79 (4 KiB in the middle), unmap allowed. */
	put64(d, DATA_GPA + 0x10000, 72);
	put32(d, DATA_GPA + 0x10008, 8);
	put32(d, DATA_GPA + 0x1000c, 1);
	assert_int_equal(blk_request(d, 0, T_WRITE_ZEROES, 0, DATA_GPA + 0x10000, 16, false, NULL), S_OK);
	assert_int_equal(blk_pread(d->img, buf, sizeof(buf), 64 * 512), 0);
	assert_memory_equal(buf + 4096, zero, 4096);
	assert_int_equal(buf[0], 0xab);
	assert_int_equal(buf[8192], 0xab);
	/* Discard two ranges. */
	put64(d, DATA_GPA + 0x10000, 64);
	put32(d, DATA_GPA + 0x10008, 8);
	put32(d, DATA_GPA + 0x1000c, 0);
	put64(d, DATA_GPA + 0x10010, 80);
	put32(d, DATA_GPA + 0x10018, 8);
	put32(d, DATA_GPA + 0x1001c, 0);
	assert_int_equal(blk_request(d, 0, T_DISCARD, 0, DATA_GPA + 0x10000, 32, false, NULL), S_OK);
}

static void test_bad_requests(void **state)
{
	struct drv *d = *state;
	struct desc_spec s[3];

	/* Past the end, straddling the end, whole-sector lengths only. */
	assert_int_equal(blk_request(d, 0, T_IN, DISK_SECTORS, DATA_GPA, 512, true, NULL), S_IOERR);
	assert_int_equal(blk_request(d, 0, T_IN, DISK_SECTORS - 1, DATA_GPA, 1024, true, NULL), S_IOERR);
	assert_int_equal(blk_request(d, 0, T_OUT, UINT64_MAX, DATA_GPA, 512, false, NULL), S_IOERR);
	assert_int_equal(blk_request(d, 0, T_OUT, UINT64_MAX / 512 + 1, DATA_GPA, 512, false, NULL),
			 S_IOERR);
	assert_int_equal(blk_request(d, 0, T_IN, 0, DATA_GPA, 100, true, NULL), S_IOERR);
	/* Unknown and unsupported types. */
	assert_int_equal(blk_request(d, 0, 2, 0, DATA_GPA, 512, true, NULL), S_UNSUPP);
	assert_int_equal(blk_request(d, 0, 0x12345678, 0, 0, 0, false, NULL), S_UNSUPP);
	/* Discard with the unmap flag, unknown flags, bad range counts, past the end. */
	put64(d, DATA_GPA, 0);
	put32(d, DATA_GPA + 8, 8);
	put32(d, DATA_GPA + 12, 1);
	assert_int_equal(blk_request(d, 0, T_DISCARD, 0, DATA_GPA, 16, false, NULL), S_UNSUPP);
	put32(d, DATA_GPA + 12, 2);
	assert_int_equal(blk_request(d, 0, T_WRITE_ZEROES, 0, DATA_GPA, 16, false, NULL), S_UNSUPP);
	put32(d, DATA_GPA + 12, 0);
	assert_int_equal(blk_request(d, 0, T_WRITE_ZEROES, 0, DATA_GPA, 15, false, NULL), S_IOERR);
	assert_int_equal(blk_request(d, 0, T_WRITE_ZEROES, 0, 0, 0, false, NULL), S_IOERR);
	assert_int_equal(blk_request(d, 0, T_DISCARD, 0, DATA_GPA, 16 * 1000, false, NULL), S_IOERR);
	put64(d, DATA_GPA, DISK_SECTORS - 4);
	assert_int_equal(blk_request(d, 0, T_WRITE_ZEROES, 0, DATA_GPA, 16, false, NULL), S_IOERR);
	put64(d, DATA_GPA, UINT64_MAX - 2);
	assert_int_equal(blk_request(d, 0, T_DISCARD, 0, DATA_GPA, 16, false, NULL), S_IOERR);

	/* A header shorter than 16 bytes. */
	put_hdr(d, T_IN, 0);
	s[0] = (struct desc_spec){ HDR_GPA, 8, 0 };
	s[1] = (struct desc_spec){ STATUS_GPA, 1, D_WRITE };
	*ram(d, STATUS_GPA) = 0xee;
	submit(d, 0, s, 2);
	assert_int_equal(wait_used(d, 0), 1);
	assert_int_equal(*ram(d, STATUS_GPA), S_IOERR);
	/* No writable byte at all: nothing to report in, used with length 0. */
	s[0] = (struct desc_spec){ HDR_GPA, 16, 0 };
	submit(d, 0, s, 1);
	assert_int_equal(wait_used(d, 0), 0);
	/* The header split over two descriptors is fine. */
	put_hdr(d, T_FLUSH, 0);
	s[0] = (struct desc_spec){ HDR_GPA, 4, 0 };
	s[1] = (struct desc_spec){ HDR_GPA + 4, 12, 0 };
	s[2] = (struct desc_spec){ STATUS_GPA, 1, D_WRITE };
	submit(d, 0, s, 3);
	assert_int_equal(wait_used(d, 0), 1);
	assert_int_equal(*ram(d, STATUS_GPA), S_OK);
	/* All of this was the driver's mistake per request: the device is fine. */
	assert_false(status(d) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(blk_request(d, 0, T_IN, 0, DATA_GPA, 512, true, NULL), S_OK);
}

/*
 * A read-only drive over an image the block layer would let us write:
 * the device itself refuses (5.2.6.2).  And an image opened read-only
 * makes the drive read-only even if nobody said so.
 */
static void test_readonly(void **state)
{
	struct drv *d = drv_new_ro(false, true, 0);
	uint64_t f = device_features(d);
	uint8_t disk[512], zero[512] = { 0 };

	assert_true(f & (1ULL << F_RO));
	drv_free(d);
	d = drv_new_ro(true, false, 0);
	f = device_features(d);

	assert_true(f & (1ULL << F_RO));
	assert_false(f & (1ULL << F_WRITE_ZEROES));
	assert_false(f & (1ULL << F_DISCARD));
	drv_start(d, false, 0);
	memset(ram(d, DATA_GPA), 0x77, 512);
	assert_int_equal(blk_request(d, 0, T_OUT, 0, DATA_GPA, 512, false, NULL), S_IOERR);
	assert_int_equal(blk_pread(d->img, disk, 512, 0), 0);
	assert_memory_equal(disk, zero, 512);
	put64(d, DATA_GPA, 0);
	put32(d, DATA_GPA + 8, 1);
	put32(d, DATA_GPA + 12, 0);
	assert_int_not_equal(blk_request(d, 0, T_WRITE_ZEROES, 0, DATA_GPA, 16, false, NULL), S_OK);
	assert_int_equal(blk_request(d, 0, T_IN, 0, DATA_GPA, 512, true, NULL), S_OK);
	drv_free(d);
}

/* ---- interrupts ---- */

static void test_intx_and_isr(void **state)
{
	struct drv *d = *state;
	uint32_t gsi = pci_intx_gsi(d->devfn >> 3, 1);

	drv_start(d, false, 0);
	assert_int_equal(d->fm->irq_level[gsi], 0);
	assert_int_equal(blk_request(d, 0, T_FLUSH, 0, 0, 0, false, NULL), S_OK);
	assert_int_equal(d->fm->irq_level[gsi], 1);
	assert_int_equal(d->fm->nr_msis, 0);
	/* Reading the ISR returns the queue bit, clears it and lowers the line. */
	assert_int_equal(bar_rd(d, d->isr, 1), VIRTIO_ISR_QUEUE);
	assert_int_equal(d->fm->irq_level[gsi], 0);
	assert_int_equal(bar_rd(d, d->isr, 1), 0);
}

static void test_event_idx_suppresses_interrupts(void **state)
{
	struct drv *d = *state;
	const uint64_t used_event = RING_GPA(0) + 0x4000 + 4 + 2 * QSIZE;

	/* The driver asks for an interrupt only after used entry 2. */
	put16(d, used_event, 2);
	fake_machine_clear_counts(d->fm);
	assert_int_equal(blk_request(d, 0, T_FLUSH, 0, 0, 0, false, NULL), S_OK);
	assert_int_equal(d->fm->nr_msis, 1);   /* the first one always interrupts */
	assert_int_equal(blk_request(d, 0, T_FLUSH, 0, 0, 0, false, NULL), S_OK);
	assert_int_equal(d->fm->nr_msis, 1);   /* entry 1: suppressed */
	assert_int_equal(blk_request(d, 0, T_FLUSH, 0, 0, 0, false, NULL), S_OK);
	assert_int_equal(d->fm->nr_msis, 2);   /* entry 2 */
	/* And the device asks to be notified of the next slot. */
	assert_int_equal(get32(d, RING_GPA(0) + 0x8000 + 4 + 8 * QSIZE) & 0xffff, 3);
}

static void test_multiqueue(void **state)
{
	struct drv *d = drv_new(false, 3);

	assert_int_equal(bar_rd(d, d->common + VIRTIO_PCI_NUM_QUEUES, 2), 3);
	assert_int_equal(bar_rd(d, d->devcfg + 0x22, 2), 3);
	assert_int_equal((cfg_rd(d, d->msix_cap + 2, 2) & 0x7ff) + 1, 4);
	enable_msix(d);
	drv_start(d, true, 0);
	for (unsigned int q = 0; q < 3; q++) {
		bar_wr(d, d->common + VIRTIO_PCI_QUEUE_SELECT, q, 2);
		assert_int_equal(bar_rd(d, d->common + VIRTIO_PCI_QUEUE_NOTIFY_OFF, 2), q);
		fake_machine_clear_counts(d->fm);
		assert_int_equal(blk_request(d, q, T_FLUSH, 0, 0, 0, false, NULL), S_OK);
		assert_int_equal(d->fm->nr_msis, 1);
		assert_int_equal(d->fm->msis[0].data, MSI_DATA(q + 1));
	}
	drv_free(d);
}

/* ---- malformed rings: NEEDS_RESET, a config interrupt, and recovery ---- */

/* The device flagged NEEDS_RESET with a config interrupt, and resets cleanly. */
static void expect_needs_reset_and_recover(struct drv *d)
{
	assert_true(wait_until(d, needs_reset, 0));
	/* The config vector (0) fired, the ISR says "configuration". */
	assert_true(d->fm->nr_msis >= 1);
	assert_int_equal(d->fm->msis[d->fm->nr_msis - 1].data, MSI_DATA(0));
	assert_int_equal(bar_rd(d, d->isr, 1) & VIRTIO_ISR_CONFIG, VIRTIO_ISR_CONFIG);
	/* Nothing more is served until the driver resets. */
	assert_true(flush_ignored(d, 0));
	set_status(d, 0);
	assert_int_equal(status(d), 0);
	drv_start(d, true, 0);
	assert_int_equal(blk_request(d, 0, T_FLUSH, 0, 0, 0, false, NULL), S_OK);
}

static void test_descriptor_loop(void **state)
{
	struct drv *d = *state;

	fake_machine_clear_counts(d->fm);
	set_desc(d, RING_GPA(0), 0, HDR_GPA, 16, D_NEXT, 1);
	set_desc(d, RING_GPA(0), 1, STATUS_GPA, 1, D_WRITE | D_NEXT, 0);
	kick(d, 0, 0);
	expect_needs_reset_and_recover(d);
}

static void test_descriptor_outside_ram(void **state)
{
	struct drv *d = *state;
	struct desc_spec s[3] = {
		{ HDR_GPA, 16, 0 }, { RAM_SIZE - 256, 512, D_WRITE }, { STATUS_GPA, 1, D_WRITE },
	};

	fake_machine_clear_counts(d->fm);
	put_hdr(d, T_IN, 0);
	submit(d, 0, s, 3);
	expect_needs_reset_and_recover(d);
	/* An address that wraps around 2^64. */
	s[1].addr = UINT64_MAX - 100;
	fake_machine_clear_counts(d->fm);
	submit(d, 0, s, 3);
	expect_needs_reset_and_recover(d);
}

static void test_indirect_bad_length(void **state)
{
	struct drv *d = *state;

	fake_machine_clear_counts(d->fm);
	set_desc(d, TABLE_GPA, 0, HDR_GPA, 16, D_NEXT, 1);
	set_desc(d, TABLE_GPA, 1, STATUS_GPA, 1, D_WRITE, 0);
	set_desc(d, RING_GPA(0), 0, TABLE_GPA, 24, D_INDIRECT, 0);   /* 1.5 descriptors */
	kick(d, 0, 0);
	expect_needs_reset_and_recover(d);
	/* More entries than a queue may have. */
	fake_machine_clear_counts(d->fm);
	set_desc(d, RING_GPA(0), 0, TABLE_GPA, 16 * (QSIZE + 1), D_INDIRECT, 0);
	kick(d, 0, 0);
	expect_needs_reset_and_recover(d);
}

static void test_zero_length_buffer(void **state)
{
	struct drv *d = *state;
	struct desc_spec s[3] = {
		{ HDR_GPA, 16, 0 }, { DATA_GPA, 0, D_WRITE }, { STATUS_GPA, 1, D_WRITE },
	};

	fake_machine_clear_counts(d->fm);
	put_hdr(d, T_IN, 0);
	submit(d, 0, s, 3);
	expect_needs_reset_and_recover(d);
}

static void test_bad_queue_setup(void **state)
{
	struct drv *d = *state;
	const uint16_t sizes[] = { 0xffff, 12, 0, 512 };

	enable_msix(d);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		assert_true(negotiate(d, device_features(d)));
		bar_wr(d, d->common + VIRTIO_PCI_CONFIG_MSIX_VECTOR, 0, 2);
		setup_queue(d, 0, sizes[i], 1);
		assert_true(status(d) & VIRTIO_STATUS_NEEDS_RESET);
	}
	/* A ring that runs past the end of RAM. */
	assert_true(negotiate(d, device_features(d)));
	bar_wr(d, d->common + VIRTIO_PCI_QUEUE_SELECT, 0, 2);
	bar_wr(d, d->common + VIRTIO_PCI_QUEUE_DESC, RAM_SIZE - 0x800, 8);
	bar_wr(d, d->common + VIRTIO_PCI_QUEUE_DRIVER, 0x4000, 8);
	bar_wr(d, d->common + VIRTIO_PCI_QUEUE_DEVICE, 0x8000, 8);
	bar_wr(d, d->common + VIRTIO_PCI_QUEUE_ENABLE, 1, 2);
	assert_true(status(d) & VIRTIO_STATUS_NEEDS_RESET);
	/* Still usable after a reset. */
	drv_start(d, true, 0);
	assert_int_equal(blk_request(d, 0, T_FLUSH, 0, 0, 0, false, NULL), S_OK);
}

static void test_notify_unknown_queue(void **state)
{
	struct drv *d = *state;

	bar_wr(d, d->notify + 5 * d->notify_mult, 5, 2);
	bar_wr(d, d->notify + 0x800, 0, 2);
	assert_false(status(d) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(blk_request(d, 0, T_FLUSH, 0, 0, 0, false, NULL), S_OK);
}

/* Without bus mastering a device does no DMA; enabling it later, the next notify is served. */
static void test_no_bus_master(void **state)
{
	struct drv *d = *state;

	cfg_wr(d, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	assert_true(flush_ignored(d, 0));
	cfg_wr(d, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	bar_wr(d, d->notify, 0, 2);
	assert_int_equal(wait_used(d, 0), 1);
	assert_int_equal(*ram(d, STATUS_GPA), S_OK);
}

/* ---- reset and snapshots ---- */

static void test_machine_reset(void **state)
{
	struct drv *d = *state;

	assert_int_equal(blk_request(d, 0, T_FLUSH, 0, 0, 0, false, NULL), S_OK);
	device_reset(d->dev);
	assert_int_equal(cfg_rd(d, PCI_COMMAND, 2), 0);
	map_bars(d);
	assert_int_equal(status(d), 0);
	assert_int_equal(cfg_rd(d, d->msix_cap + 2, 2) & 0x8000, 0);
	enable_msix(d);
	drv_start(d, true, 0);
	assert_int_equal(blk_request(d, 0, T_FLUSH, 0, 0, 0, false, NULL), S_OK);
}

/*
 * Snapshot d's device and restore it on a second fake machine holding a
 * copy of RAM, as a restore would build it; the first device is gone
 * (its I/O thread stopped) before RAM is copied.  @before_copy, if set,
 * changes RAM in between.  The driver carries on with the copy.
 */
static struct device *restore_on_new_machine(struct drv *d, struct sv_writer *w,
					     void (*before_copy)(struct drv *))
{
	struct fake_machine *fm2 = &d->fm_store[1];
	struct drive_args drive = { .img = d->img };
	struct device_args args = { .out_fd = -1, .in_fd = -1, .drives = &drive, .nr_drives = 1 };
	struct device *dev2;

	assert_int_equal(fake_save(d->dev, w), 0);
	device_destroy(d->dev);
	d->dev = NULL;
	if (before_copy)
		before_copy(d);
	assert_int_equal(fake_machine_init(fm2, RAM_SIZE), 0);
	memcpy(fm2->ram, d->fm->ram, RAM_SIZE);
	fake_machine_destroy(d->fm);
	d->fm = fm2;
	dev2 = device_create(&virtio_blk_model, "virtio-blk0", &fm2->host, &args);
	assert_non_null(dev2);
	d->dev = dev2;
	return dev2;
}

static void test_save_load(void **state)
{
	struct drv *d = *state;
	struct sv_writer w;
	struct sv_reader r;
	struct device *dev2;
	static uint8_t pattern[4096];

	fill_pattern(pattern, sizeof(pattern), 3);
	memcpy(ram(d, DATA_GPA), pattern, sizeof(pattern));
	assert_int_equal(blk_request(d, 0, T_OUT, 0, DATA_GPA, 4096, false, NULL), S_OK);
	assert_int_equal(blk_request(d, 0, T_FLUSH, 0, 0, 0, false, NULL), S_OK);
	dev2 = restore_on_new_machine(d, &w, NULL);
	/* A truncated stream is refused; the whole one loads. */
	sv_reader_init(&r, w.buf, w.len - 3);
	assert_int_equal(device_load(dev2, &r, dev2->model->state_version), -EINVAL);
	assert_int_equal(fake_load(dev2, &w), 0);
	sv_writer_free(&w);

	/* The restored device carries on: status, rings, indices, MSI-X and the
	 * event index (the driver wants an interrupt for used entry 2 on). */
	assert_int_equal(status(d) & VIRTIO_STATUS_DRIVER_OK, VIRTIO_STATUS_DRIVER_OK);
	put16(d, RING_GPA(0) + 0x4000 + 4 + 2 * QSIZE, 2);
	memset(ram(d, DATA_GPA), 0, 4096);
	assert_int_equal(blk_request(d, 0, T_IN, 0, DATA_GPA, 4096, true, NULL), S_OK);
	assert_memory_equal(ram(d, DATA_GPA), pattern, sizeof(pattern));
	assert_int_equal(used_idx(d, 0), 3);
	assert_true(d->fm->nr_msis >= 1);
	assert_int_equal(d->fm->msis[d->fm->nr_msis - 1].data, MSI_DATA(1));
}

/* A flush on queue 0's avail ring, without a notification. */
static void queue_flush_silently(struct drv *d)
{
	uint64_t avail = RING_GPA(0) + 0x4000;

	put_hdr(d, T_FLUSH, 0);
	*ram(d, STATUS_GPA) = 0xee;
	set_desc(d, RING_GPA(0), 0, HDR_GPA, 16, D_NEXT, 1);
	set_desc(d, RING_GPA(0), 1, STATUS_GPA, 1, D_WRITE, 0);
	put16(d, avail + 4 + 2u * (d->avail_idx[0] % QSIZE), 0);
	put16(d, avail + 2, ++d->avail_idx[0]);
}

/* Chains the driver queued that the device had not taken yet are served after a restore. */
static void test_load_serves_pending(void **state)
{
	struct drv *d = *state;
	struct sv_writer w;

	restore_on_new_machine(d, &w, queue_flush_silently);
	assert_int_equal(fake_load(d->dev, &w), 0);
	sv_writer_free(&w);
	assert_int_equal(wait_used(d, 0), 1);
	assert_int_equal(*ram(d, STATUS_GPA), S_OK);
}

/*
 * Found by fuzz_virtio_blk: a driver that wrote feature bits the device
 * does not offer (refused at FEATURES_OK) left a state whose snapshot did
 * not load back.
 */
static void test_save_load_refused_features(void **state)
{
	struct drv *d = *state;
	struct sv_writer w;

	assert_false(negotiate(d, 1));          /* bit 0 is not offered */
	assert_int_equal(fake_save(d->dev, &w), 0);
	assert_int_equal(fake_load(d->dev, &w), 0);
	sv_writer_free(&w);
	/* Still refused after the round trip; a proper negotiation then works. */
	set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	assert_int_equal(status(d) & VIRTIO_STATUS_FEATURES_OK, 0);
	assert_true(negotiate(d, device_features(d)));
}

static void test_create_errors(void **state)
{
	struct fake_machine fm;
	struct drive_args drives[2] = { { 0 } };
	struct device_args args = { .out_fd = -1, .in_fd = -1, .drives = drives, .nr_drives = 1 };

	(void)state;
	assert_int_equal(fake_machine_init(&fm, RAM_SIZE), 0);
	/* No image (an empty CD drive cannot be a virtio disk), none or two drives. */
	assert_null(device_create(&virtio_blk_model, "v", &fm.host, &args));
	args.nr_drives = 0;
	assert_null(device_create(&virtio_blk_model, "v", &fm.host, &args));
	args.nr_drives = 2;
	assert_null(device_create(&virtio_blk_model, "v", &fm.host, &args));
	fake_machine_destroy(&fm);
}

/* ---- resets with a read in flight (slow image) ---- */

#define SLOW_LEN    DISK_SIZE        /* one 1 MiB segment (= size_max): four pieces */
#define SLOW_PIECE  (256u << 10)     /* IO_CHUNK */
#define POISON      0xa5
#define NEXT_GPA    0x400000u

struct reset_ctx {
	struct drv *d;
	void (*reset)(struct drv *d);
};

/* The resetting "vCPU": once the reset returned, the driver reuses the
 * request's buffers (poisons them). */
static void reset_then_poison(void *arg)
{
	struct reset_ctx *c = arg;

	c->reset(c->d);
	memset(ram(c->d, DATA_GPA), POISON, SLOW_LEN);
	*ram(c->d, STATUS_GPA) = POISON;
}

/*
 * A 1 MiB read whose first piece waits at the gate; reset from another
 * thread and open the gate while the reset waits.  Nothing of the read
 * (data, status byte) lands after the reset returned, at most one piece
 * of it was read (the reset did not wait for the whole transfer), and the
 * driver's next request works.
 */
static void reset_with_read_in_flight(struct drv *d, void (*reset)(struct drv *d))
{
	struct reset_ctx c = { d, reset };
	struct desc_spec s[3] = {
		{ HDR_GPA, 16, 0 }, { DATA_GPA, SLOW_LEN, D_WRITE }, { STATUS_GPA, 1, D_WRITE },
	};
	struct slow_thread t;

	put_hdr(d, T_IN, 0);
	slow_image_hold(d->img);
	submit(d, 0, s, 3);
	assert_true(slow_image_wait_held(1));
	slow_thread_start(&t, reset_then_poison, &c);
	slow_thread_wait_blocked(&t);
	slow_image_release();
	assert_true(slow_thread_join(&t));
	if (!(cfg_rd(d, PCI_COMMAND, 2) & PCI_COMMAND_MASTER)) {
		map_bars(d);                    /* a machine reset: the firmware's job */
		enable_msix(d);
	}
	assert_int_equal(status(d), 0);     /* the reset is complete when it returns */
	drv_start(d, true, 0);
	assert_int_equal(blk_request(d, 0, T_IN, 8, NEXT_GPA, 4096, true, NULL), S_OK);
	for (uint32_t i = 0; i < SLOW_LEN; i++)
		if (*ram(d, DATA_GPA + i) != POISON)
			fail_msg("guest RAM at 0x%x written after the reset returned", DATA_GPA + i);
	assert_int_equal(*ram(d, STATUS_GPA), S_OK);    /* the next request's status */
	assert_true(slow_image_bytes() <= SLOW_PIECE + 4096);
}

static void reset_status0(struct drv *d)
{
	set_status(d, 0);
}

static void reset_machine(struct drv *d)
{
	device_reset(d->dev);
}

static void test_status_reset_in_flight(void **state)
{
	reset_with_read_in_flight(*state, reset_status0);
}

static void test_machine_reset_in_flight(void **state)
{
	reset_with_read_in_flight(*state, reset_machine);
}

/* ---- notifications through ioeventfds, interrupts through irqfds ---- */

/* The whole bring-up on a machine with both; every completion interrupts (no EVENT_IDX). */
static int setup_loop(void **state)
{
	struct drv *d;

	offer_loop = true;
	d = drv_new(false, 0);
	offer_loop = false;
	enable_msix(d);
	drv_start(d, true, 1ULL << VIRTIO_F_EVENT_IDX);
	fake_loop_run(d->fm);   /* the loop registers the queue's ioeventfd */
	*state = d;
	return 0;
}

static uint64_t notify_addr(struct drv *d, unsigned int q)
{
	return d->bar4 + d->notify + q * d->notify_mult;
}

/*
 * The driver's notify write ends in the ioeventfd (the BAR handler never
 * sees it); the loop's callback kicks the I/O thread; the completion's
 * interrupt comes through the queue vector's irqfd, bound to the message
 * the guest programmed.
 */
static void test_ioeventfd_request(void **state)
{
	struct drv *d = *state;
	static uint8_t pattern[8192], disk[8192];
	const struct desc_spec s[3] = {
		{ HDR_GPA, 16, 0 }, { DATA_GPA, sizeof(pattern), 0 }, { STATUS_GPA, 1, D_WRITE },
	};

	assert_int_equal(fake_ioevents(d->fm), 1);
	assert_true(fake_ioevent_at(d->fm, notify_addr(d, 0)));
	fill_pattern(pattern, sizeof(pattern), 7);
	memcpy(ram(d, DATA_GPA), pattern, sizeof(pattern));
	put_hdr(d, T_OUT, 24);
	*ram(d, STATUS_GPA) = 0xee;
	for (unsigned int i = 0; i < 3; i++)
		set_desc(d, RING_GPA(0), i, s[i].addr, s[i].len,
			 (uint16_t)(s[i].flags | (i < 2 ? D_NEXT : 0)), (uint16_t)(i + 1));
	fake_machine_clear_counts(d->fm);
	d->fm->ioevent_hits = d->fm->irqfd_signals = 0;
	publish(d, 0, 0);
	bar_wr(d, d->notify, 0, 2);
	assert_int_equal(d->fm->ioevent_hits, 1);
	assert_true(fake_loop_run(d->fm) >= 1);   /* the ioeventfd's callback */
	assert_int_equal(wait_used(d, 0), 1);
	assert_int_equal(*ram(d, STATUS_GPA), S_OK);
	assert_int_equal(blk_pread(d->img, disk, sizeof(disk), 24 * 512), 0);
	assert_memory_equal(disk, pattern, sizeof(pattern));
	assert_int_equal(d->fm->irqfd_signals, 1);
	assert_int_equal(d->fm->nr_msis, 1);
	assert_int_equal(d->fm->msis[0].addr, MSI_ADDR);
	assert_int_equal(d->fm->msis[0].data, MSI_DATA(1));
	assert_int_equal(fake_irqfds(d->fm), 1);  /* the config vector was never sent */

	/* Reading it back, and many in a row, the same way. */
	memset(ram(d, DATA_GPA), 0, sizeof(pattern));
	for (unsigned int i = 0; i < 20; i++)
		assert_int_equal(blk_request(d, 0, T_IN, 24, DATA_GPA, sizeof(pattern), true, NULL), S_OK);
	assert_memory_equal(ram(d, DATA_GPA), pattern, sizeof(pattern));
	assert_int_equal(d->fm->ioevent_hits, 21);
	assert_int_equal(d->fm->irqfd_signals, 21);
	assert_int_equal(d->fm->nr_msis, 21);
}

/*
 * Linux moves a vector (IRQ affinity): mask, new address and data,
 * unmask.  A completion meanwhile only sets the pending bit; the unmask
 * delivers it through the irqfd, rebound to the new message.
 */
static void test_irqfd_vector_reprogrammed(void **state)
{
	struct drv *d = *state;
	uint64_t e = d->bar1 + 16 * 1, pba = d->bar1 + 0x800;

	assert_int_equal(blk_request(d, 0, T_FLUSH, 0, 0, 0, false, NULL), S_OK);
	assert_int_equal(d->fm->irqfd_signals, 1);
	fake_mmio_write(d->fm, e + 12, 1, 4);
	fake_mmio_write(d->fm, e, 0xfee01000, 4);
	fake_mmio_write(d->fm, e + 8, 0x4077, 4);
	fake_machine_clear_counts(d->fm);
	assert_int_equal(blk_request(d, 0, T_FLUSH, 0, 0, 0, false, NULL), S_OK);
	assert_int_equal(d->fm->nr_msis, 0);
	assert_int_equal(d->fm->irqfd_signals, 1);
	assert_int_equal(fake_mmio_read(d->fm, pba, 8), 1u << 1);
	fake_mmio_write(d->fm, e + 12, 0, 4);
	assert_int_equal(fake_mmio_read(d->fm, pba, 8), 0);
	assert_int_equal(d->fm->irqfd_signals, 2);
	assert_int_equal(d->fm->nr_msis, 1);
	assert_int_equal(d->fm->msis[0].addr, 0xfee01000);
	assert_int_equal(d->fm->msis[0].data, 0x4077);
	assert_int_equal(blk_request(d, 0, T_FLUSH, 0, 0, 0, false, NULL), S_OK);
	assert_int_equal(d->fm->irqfd_signals, 3);
	assert_int_equal(d->fm->msis[1].data, 0x4077);
	assert_int_equal(fake_irqfds(d->fm), 1);  /* the same irqfd, rebound */
}

/*
 * Memory decoding off: the ioeventfd goes.  BAR4 moved and decoding back
 * on: notifications trap at the new address until the loop has run,
 * then the new address is an ioeventfd and the old one is nothing.
 */
static void test_ioeventfd_follows_bar(void **state)
{
	struct drv *d = *state;
	uint64_t old = notify_addr(d, 0);
	unsigned int hits;

	cfg_wr(d, PCI_COMMAND, PCI_COMMAND_MASTER, 2);
	fake_loop_run(d->fm);
	assert_int_equal(fake_ioevents(d->fm), 0);
	cfg_wr(d, PCI_BAR0 + 16, 0xe8000000, 4);
	cfg_wr(d, PCI_BAR0 + 20, 0, 4);
	map_bars(d);
	assert_int_equal(d->bar4, 0xe8000000);
	assert_int_not_equal(notify_addr(d, 0), old);

	hits = d->fm->ioevent_hits;
	put_hdr(d, T_FLUSH, 0);
	set_desc(d, RING_GPA(0), 0, HDR_GPA, 16, D_NEXT, 1);
	set_desc(d, RING_GPA(0), 1, STATUS_GPA, 1, D_WRITE, 0);
	publish(d, 0, 0);
	bar_wr(d, d->notify, 0, 2);               /* no loop run: trapped */
	assert_int_equal(wait_used(d, 0), 1);
	assert_int_equal(d->fm->ioevent_hits, hits);

	fake_loop_run(d->fm);
	assert_int_equal(fake_ioevents(d->fm), 1);
	assert_true(fake_ioevent_at(d->fm, notify_addr(d, 0)));
	assert_false(fake_ioevent_at(d->fm, old));
	fake_mmio_write(d->fm, old, 0, 2);
	assert_int_equal(d->fm->ioevent_hits, hits);
	assert_int_equal(blk_request(d, 0, T_FLUSH, 0, 0, 0, false, NULL), S_OK);
	assert_int_equal(d->fm->ioevent_hits, hits + 1);
}

/*
 * A device reset (status 0) and a machine reset unregister; bringing the
 * device up again registers at the same address (the old one was freed
 * first); destroying the device frees its ioeventfds and irqfds.
 */
static void test_ioeventfd_reset(void **state)
{
	struct drv *d = *state;
	unsigned int hits = d->fm->ioevent_hits;

	set_status(d, 0);
	assert_int_equal(status(d), 0);
	fake_loop_run(d->fm);
	assert_int_equal(fake_ioevents(d->fm), 0);
	bar_wr(d, d->notify, 0, 2);                /* traps; the queue is off: dropped */
	assert_int_equal(d->fm->ioevent_hits, hits);
	drv_start(d, true, 1ULL << VIRTIO_F_EVENT_IDX);
	fake_loop_run(d->fm);
	assert_true(fake_ioevent_at(d->fm, notify_addr(d, 0)));
	assert_int_equal(blk_request(d, 0, T_FLUSH, 0, 0, 0, false, NULL), S_OK);
	assert_int_equal(d->fm->ioevent_hits, hits + 1);

	device_reset(d->dev);
	fake_loop_run(d->fm);
	assert_int_equal(fake_ioevents(d->fm), 0);
	map_bars(d);
	enable_msix(d);
	drv_start(d, true, 1ULL << VIRTIO_F_EVENT_IDX);
	fake_loop_run(d->fm);
	assert_int_equal(fake_ioevents(d->fm), 1);
	assert_int_equal(blk_request(d, 0, T_FLUSH, 0, 0, 0, false, NULL), S_OK);
	assert_int_equal(d->fm->ioevent_hits, hits + 2);
	assert_true(fake_irqfds(d->fm) >= 1);

	device_destroy(d->dev);
	d->dev = NULL;
	assert_int_equal(fake_ioevents(d->fm), 0);
	assert_int_equal(fake_irqfds(d->fm), 0);
	assert_int_equal(fake_timers_armed(d->fm), 0);
}

/* One ioeventfd per queue at its own address, one irqfd per queue vector. */
static void test_ioeventfd_multiqueue(void **state)
{
	struct drv *d;

	offer_loop = true;
	d = drv_new(false, 3);
	offer_loop = false;
	enable_msix(d);
	drv_start(d, true, 1ULL << VIRTIO_F_EVENT_IDX);
	fake_loop_run(d->fm);
	assert_int_equal(fake_ioevents(d->fm), 3);
	for (unsigned int q = 0; q < 3; q++) {
		assert_true(fake_ioevent_at(d->fm, notify_addr(d, q)));
		fake_machine_clear_counts(d->fm);
		assert_int_equal(blk_request(d, q, T_FLUSH, 0, 0, 0, false, NULL), S_OK);
		assert_int_equal(d->fm->nr_msis, 1);
		assert_int_equal(d->fm->msis[0].data, MSI_DATA(q + 1));
	}
	assert_int_equal(d->fm->ioevent_hits, 3);
	assert_int_equal(d->fm->irqfd_signals, 3);
	assert_int_equal(fake_irqfds(d->fm), 3);
	drv_free(d);
}

/* A host without them: the loop registers nothing, everything traps and uses signal_msi. */
static void test_without_ioeventfd_irqfd(void **state)
{
	struct drv *d = *state;

	fake_loop_run(d->fm);
	assert_int_equal(fake_ioevents(d->fm), 0);
	fake_machine_clear_counts(d->fm);
	assert_int_equal(blk_request(d, 0, T_FLUSH, 0, 0, 0, false, NULL), S_OK);
	assert_int_equal(d->fm->ioevent_hits, 0);
	assert_int_equal(d->fm->irqfd_signals, 0);
	assert_int_equal(fake_irqfds(d->fm), 0);
	assert_int_equal(d->fm->nr_msis, 1);
	assert_int_equal(d->fm->msis[0].data, MSI_DATA(1));
}

/* ---- seg_max and size_max (5.2.4) ---- */

static int setup_big_disk(void **state)
{
	struct drv *d;

	disk_size = 256u << 20;             /* sparse */
	d = drv_new(false, 0);
	disk_size = DISK_SIZE;
	enable_msix(d);
	drv_start(d, true, 0);
	*state = d;
	return 0;
}

/* A segment beyond size_max fails with IOERR and moves nothing. */
static void test_size_max(void **state)
{
	struct drv *d = *state;
	uint32_t size_max = (uint32_t)bar_rd(d, d->devcfg + 0x08, 4);
	int64_t len;

	assert_int_equal(size_max, 1u << 20);
	memset(ram(d, DATA_GPA), 0xee, 2 * size_max);
	assert_int_equal(blk_request(d, 0, T_IN, 0, DATA_GPA, size_max + 512, true, &len),
			 S_IOERR);
	assert_int_equal(len, 1);
	assert_int_equal(*ram(d, DATA_GPA), 0xee);
	assert_int_equal(*ram(d, DATA_GPA + size_max), 0xee);
	/* The same for a write; size_max itself is fine. */
	assert_int_equal(blk_request(d, 0, T_OUT, 0, DATA_GPA, 2 * size_max, false, NULL), S_IOERR);
	assert_int_equal(blk_request(d, 0, T_IN, 0, DATA_GPA, size_max, true, &len), S_OK);
	assert_int_equal(len, size_max + 1);
	assert_int_equal(*ram(d, DATA_GPA), 0);
}

/*
 * seg_max data segments, each size_max bytes, all naming the same RAM:
 * the largest request the limits allow (254 MiB) is served and its used
 * length counted right.  One segment more fails with IOERR (a chain of
 * direct descriptors continued by an indirect table), and the device
 * goes on working: no NEEDS_RESET.
 */
static void test_seg_max(void **state)
{
	struct drv *d = *state;
	uint32_t seg_max = (uint32_t)bar_rd(d, d->devcfg + 0x0c, 4);
	uint32_t size_max = (uint32_t)bar_rd(d, d->devcfg + 0x08, 4);
	int64_t len;

	assert_int_equal(seg_max, QSIZE - 2);
	scattered_request(d, T_IN, 0, DATA_GPA, 0, size_max, seg_max);
	len = wait_used(d, 0);
	assert_int_equal(*ram(d, STATUS_GPA), S_OK);
	assert_int_equal(len, (int64_t)seg_max * size_max + 1);

	/* The same with a size_max header segment: over the request bound. */
	put_hdr(d, T_IN, 0);
	*ram(d, STATUS_GPA) = 0xee;
	set_desc(d, TABLE_GPA, 0, HDR_GPA, size_max, D_NEXT, 1);
	kick(d, 0, 0);
	assert_int_equal(wait_used(d, 0), 1);
	assert_int_equal(*ram(d, STATUS_GPA), S_IOERR);

	/* header, data, data directly; seg_max - 1 data + status indirectly. */
	put_hdr(d, T_IN, 0);
	*ram(d, STATUS_GPA) = 0xee;
	memset(ram(d, DATA_GPA), 0xee, 512);
	set_desc(d, RING_GPA(0), 0, HDR_GPA, 16, D_NEXT, 1);
	set_desc(d, RING_GPA(0), 1, DATA_GPA, 512, D_WRITE | D_NEXT, 2);
	set_desc(d, RING_GPA(0), 2, DATA_GPA, 512, D_WRITE | D_NEXT, 3);
	for (unsigned int i = 0; i < seg_max - 1; i++)
		set_desc(d, TABLE_GPA, i, DATA_GPA, 512, D_WRITE | D_NEXT, (uint16_t)(i + 1));
	set_desc(d, TABLE_GPA, seg_max - 1, STATUS_GPA, 1, D_WRITE, 0);
	set_desc(d, RING_GPA(0), 3, TABLE_GPA, 16 * seg_max, D_INDIRECT, 0);
	kick(d, 0, 0);
	assert_int_equal(wait_used(d, 0), 1);
	assert_int_equal(*ram(d, STATUS_GPA), S_IOERR);
	assert_int_equal(*ram(d, DATA_GPA), 0xee);
	assert_int_equal(status(d) & VIRTIO_STATUS_NEEDS_RESET, 0);
	assert_int_equal(blk_request(d, 0, T_FLUSH, 0, 0, 0, false, NULL), S_OK);
}

/* ---- requests in flight side by side (the I/O thread pool) ---- */

#define PAR_N       3
#define PAR_LEN     (256u << 10)     /* one IO_CHUNK piece each */
#define PAR_SECTORS (PAR_LEN / 512)

/* Request @i of a batch: descriptors 3i..3i+2 and a header, data buffer
 * and status byte of its own. */
static uint64_t par_hdr(unsigned int i) { return HDR_GPA + 32u * i; }
static uint64_t par_status(unsigned int i) { return STATUS_GPA + i; }
static uint64_t par_data(unsigned int i) { return DATA_GPA + (uint64_t)PAR_LEN * i; }

/* Publish request @i (without notifying): @type at @sector, PAR_LEN bytes. */
static void par_queue(struct drv *d, unsigned int i, uint32_t type, uint64_t sector)
{
	uint16_t head = (uint16_t)(3 * i);

	put32(d, par_hdr(i), type);
	put32(d, par_hdr(i) + 4, 0);
	put64(d, par_hdr(i) + 8, sector);
	*ram(d, par_status(i)) = 0xee;
	set_desc(d, RING_GPA(0), head, par_hdr(i), 16, D_NEXT, (uint16_t)(head + 1));
	set_desc(d, RING_GPA(0), head + 1u, par_data(i), PAR_LEN,
		 (uint16_t)(D_NEXT | (type == T_IN ? D_WRITE : 0)), (uint16_t)(head + 2));
	set_desc(d, RING_GPA(0), head + 2u, par_status(i), 1, D_WRITE, 0);
	publish(d, 0, head);
}

/* The next used element of queue 0: the request's number (-1 on timeout). */
static int par_next_used(struct drv *d, uint32_t *len)
{
	uint64_t e = RING_GPA(0) + 0x8000 + 4 + 8u * (d->used_seen[0] % QSIZE);

	if (!wait_until(d, has_new_used, 0))
		return -1;
	d->used_seen[0]++;
	*len = get32(d, e + 4);
	return (int)(get32(d, e) / 3);
}

/*
 * Three requests at once, the first held at the image: the other two
 * complete first.  The used ring lists them in the order they finished,
 * each with its own length and status, and the held read goes last with
 * the right data once the image lets it through.
 */
static void test_out_of_order(void **state)
{
	struct drv *d = *state;
	static uint8_t disk0[PAR_LEN], disk2[PAR_LEN], wbuf[PAR_LEN];
	bool seen[PAR_N] = { false };
	uint32_t len;
	int i;

	fill_pattern(disk0, PAR_LEN, 1);
	fill_pattern(disk2, PAR_LEN, 2);
	fill_pattern(wbuf, PAR_LEN, 3);
	assert_int_equal(blk_pwrite(d->img, disk0, PAR_LEN, 0), 0);
	assert_int_equal(blk_pwrite(d->img, disk2, PAR_LEN, 2 * PAR_LEN), 0);
	memset(ram(d, par_data(0)), 0, PAR_LEN);
	memset(ram(d, par_data(2)), 0, PAR_LEN);
	memcpy(ram(d, par_data(1)), wbuf, PAR_LEN);

	slow_image_hold_at(d->img, 0);
	par_queue(d, 0, T_IN, 0);                       /* held */
	par_queue(d, 1, T_OUT, PAR_SECTORS);
	par_queue(d, 2, T_IN, 2 * PAR_SECTORS);
	bar_wr(d, d->notify, 0, 2);
	assert_true(slow_image_wait_held(1));

	for (int n = 0; n < 2; n++) {
		i = par_next_used(d, &len);
		assert_true(i == 1 || i == 2);
		assert_false(seen[i]);
		seen[i] = true;
		assert_int_equal(len, i == 1 ? 1 : PAR_LEN + 1);
		assert_int_equal(*ram(d, par_status(i)), S_OK);
	}
	assert_memory_equal(ram(d, par_data(2)), disk2, PAR_LEN);
	/* The held read: not used, nothing of it in guest RAM yet. */
	assert_int_equal(used_idx(d, 0), 2);
	assert_int_equal(*ram(d, par_status(0)), 0xee);
	assert_int_equal(*ram(d, par_data(0)), 0);

	slow_image_release();
	assert_int_equal(par_next_used(d, &len), 0);
	assert_int_equal(len, PAR_LEN + 1);
	assert_int_equal(*ram(d, par_status(0)), S_OK);
	assert_memory_equal(ram(d, par_data(0)), disk0, PAR_LEN);
	/* The write reached the disk. */
	memset(disk0, 0, PAR_LEN);
	assert_int_equal(blk_pread(d->img, disk0, PAR_LEN, PAR_LEN), 0);
	assert_memory_equal(disk0, wbuf, PAR_LEN);
}

struct par_reset_ctx {
	struct drv *d;
};

static void par_reset_then_poison(void *arg)
{
	struct par_reset_ctx *c = arg;

	set_status(c->d, 0);
	for (unsigned int i = 0; i < PAR_N; i++) {
		memset(ram(c->d, par_data(i)), POISON, PAR_LEN);
		*ram(c->d, par_status(i)) = POISON;
	}
}

/*
 * Three reads in flight at once (one per pool thread), all held at the
 * image; a reset from another thread waits for every one of them, and
 * none writes guest RAM (data, status, used ring) after it returned.
 */
static void test_reset_several_in_flight(void **state)
{
	struct drv *d = *state;
	struct par_reset_ctx c = { d };
	struct slow_thread t;

	slow_image_hold(d->img);
	for (unsigned int i = 0; i < PAR_N; i++)
		par_queue(d, i, T_IN, (uint64_t)i * PAR_SECTORS);
	bar_wr(d, d->notify, 0, 2);
	assert_true(slow_image_wait_held(PAR_N));     /* all three at once */
	slow_thread_start(&t, par_reset_then_poison, &c);
	slow_thread_wait_blocked(&t);
	slow_image_release();
	assert_true(slow_thread_join(&t));
	assert_int_equal(status(d), 0);
	assert_int_equal(used_idx(d, 0), 0);
	for (unsigned int i = 0; i < PAR_N; i++) {
		assert_int_equal(*ram(d, par_status(i)), POISON);
		for (uint32_t b = 0; b < PAR_LEN; b++)
			if (*ram(d, par_data(i) + b) != POISON)
				fail_msg("request %u: guest RAM written after the reset returned", i);
	}
	/* Each stopped after its one piece. */
	assert_true(slow_image_bytes() <= PAR_N * PAR_LEN);
	drv_start(d, true, 0);
	assert_int_equal(blk_request(d, 0, T_IN, 8, NEXT_GPA, 4096, true, NULL), S_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pci_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pci_cfg_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_negotiation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_registers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_before_features, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_read, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_indirect_scatter, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_large_scattered, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_flush_and_get_id, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_write_zeroes_and_discard, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup_msix, teardown),
		cmocka_unit_test(test_readonly),
		cmocka_unit_test_setup_teardown(test_intx_and_isr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_event_idx_suppresses_interrupts, setup_msix, teardown),
		cmocka_unit_test(test_multiqueue),
		cmocka_unit_test_setup_teardown(test_descriptor_loop, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_descriptor_outside_ram, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_indirect_bad_length, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_zero_length_buffer, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_bad_queue_setup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notify_unknown_queue, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_no_bus_master, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_machine_reset, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_save_load, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_load_serves_pending, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_save_load_refused_features, setup, teardown),
		cmocka_unit_test(test_create_errors),
		cmocka_unit_test_setup_teardown(test_status_reset_in_flight, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_machine_reset_in_flight, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_ioeventfd_request, setup_loop, teardown),
		cmocka_unit_test_setup_teardown(test_irqfd_vector_reprogrammed, setup_loop, teardown),
		cmocka_unit_test_setup_teardown(test_ioeventfd_follows_bar, setup_loop, teardown),
		cmocka_unit_test_setup_teardown(test_ioeventfd_reset, setup_loop, teardown),
		cmocka_unit_test(test_ioeventfd_multiqueue),
		cmocka_unit_test_setup_teardown(test_without_ioeventfd_irqfd, setup_msix, teardown),
		/* Earlier tests again, with ioeventfds and irqfds. */
		cmocka_unit_test_setup_teardown(test_write_read, setup_loop, teardown),
		cmocka_unit_test_setup_teardown(test_machine_reset, setup_loop, teardown),
		cmocka_unit_test_setup_teardown(test_size_max, setup_big_disk, teardown),
		cmocka_unit_test_setup_teardown(test_seg_max, setup_big_disk, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_order, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_reset_several_in_flight, setup_msix, teardown),
	};

	/* The tests of requests side by side need a pool of several threads. */
	setenv("HUTCH_IO_THREADS", "4", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
