// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The virtio-input tablet (src/devices/virtio_input.c) driven as Linux's
 * virtio_input driver drives it: the configuration's select/subsel
 * answers, events in batches ending in SYN_REPORT, batches dropped (never
 * split, never waiting) without buffers, the status queue consumed, a
 * reset with buffers posted and events flowing, a snapshot.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "devices.h"
#include "fake_machine.h"
#include "input.h"
#include "virtio_pci.h"

#define RAM_SIZE     (4u << 20)
#define NQ           2
#define Q_EVENT      0
#define Q_STATUS     1
#define QSIZE        64
#define RING_GPA(q)  (0x10000u + (q) * 0x10000u)
#define EV_GPA       0x100000u     /* event buffers, 8 bytes each */
#define ST_GPA       0x200000u
#define D_WRITE      VIRTQ_DESC_F_WRITE

#define EV_SYN 0
#define EV_KEY 1
#define EV_REL 2
#define EV_ABS 3

struct drv {
	struct fake_machine fm;
	struct device *dev;
	uint8_t devfn;
	uint64_t bar4;
	uint32_t common, devcfg, notify, notify_mult;
	uint16_t avail_idx[NQ], used_seen[NQ], next_desc[NQ];
};

static uint32_t cfg_rd(struct drv *d, unsigned int off, unsigned int size)
{
	return fake_pci_cfg_read(&d->fm, d->devfn, off, size);
}

static uint64_t bar_rd(struct drv *d, uint32_t off, unsigned int size)
{
	return fake_mmio_read(&d->fm, d->bar4 + off, size);
}

static void bar_wr(struct drv *d, uint32_t off, uint64_t v, unsigned int size)
{
	fake_mmio_write(&d->fm, d->bar4 + off, v, size);
}

static void set_status(struct drv *d, uint8_t s)
{
	bar_wr(d, d->common + VIRTIO_PCI_DEVICE_STATUS, s, 1);
}

static uint8_t *ram(struct drv *d, uint64_t gpa) { return d->fm.ram + gpa; }

static void put16(struct drv *d, uint64_t gpa, uint16_t v) { memcpy(ram(d, gpa), &v, 2); }
static void put32(struct drv *d, uint64_t gpa, uint32_t v) { memcpy(ram(d, gpa), &v, 4); }
static void put64(struct drv *d, uint64_t gpa, uint64_t v) { memcpy(ram(d, gpa), &v, 8); }
static uint16_t get16(struct drv *d, uint64_t gpa) { uint16_t v; memcpy(&v, ram(d, gpa), 2); return v; }
static uint32_t get32(struct drv *d, uint64_t gpa) { uint32_t v; memcpy(&v, ram(d, gpa), 4); return v; }

static void find_caps(struct drv *d)
{
	unsigned int off = cfg_rd(d, PCI_CAPABILITY_LIST, 1);

	for (int n = 0; off && n < 48; n++, off = cfg_rd(d, off + 1, 1)) {
		if (cfg_rd(d, off, 1) != PCI_CAP_ID_VNDR)
			continue;
		switch (cfg_rd(d, off + 3, 1)) {
		case VIRTIO_PCI_CAP_COMMON_CFG: d->common = cfg_rd(d, off + 8, 4); break;
		case VIRTIO_PCI_CAP_DEVICE_CFG: d->devcfg = cfg_rd(d, off + 8, 4); break;
		case VIRTIO_PCI_CAP_NOTIFY_CFG:
			d->notify = cfg_rd(d, off + 8, 4);
			d->notify_mult = cfg_rd(d, off + 16, 4);
			break;
		}
	}
}

static void setup_queue(struct drv *d, unsigned int q)
{
	uint64_t base = RING_GPA(q);

	memset(ram(d, base), 0, 0x10000);
	bar_wr(d, d->common + VIRTIO_PCI_QUEUE_SELECT, q, 2);
	bar_wr(d, d->common + VIRTIO_PCI_QUEUE_SIZE, QSIZE, 2);
	bar_wr(d, d->common + VIRTIO_PCI_QUEUE_DESC, base, 8);
	bar_wr(d, d->common + VIRTIO_PCI_QUEUE_DRIVER, base + 0x4000, 8);
	bar_wr(d, d->common + VIRTIO_PCI_QUEUE_DEVICE, base + 0x8000, 8);
	bar_wr(d, d->common + VIRTIO_PCI_QUEUE_ENABLE, 1, 2);
	d->avail_idx[q] = d->used_seen[q] = d->next_desc[q] = 0;
}

/* Bring-up (3.1.1): VERSION_1 only, both queues, DRIVER_OK. */
static void drv_start(struct drv *d)
{
	set_status(d, 0);
	set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	bar_wr(d, d->common + VIRTIO_PCI_DRIVER_FEATURE_SELECT, 1, 4);
	bar_wr(d, d->common + VIRTIO_PCI_DRIVER_FEATURE, 1, 4);   /* VERSION_1 */
	set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	assert_true(bar_rd(d, d->common + VIRTIO_PCI_DEVICE_STATUS, 1) & VIRTIO_STATUS_FEATURES_OK);
	for (unsigned int q = 0; q < NQ; q++)
		setup_queue(d, q);
	set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
		   VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

/* One buffer of @len bytes at @gpa on @q (device-writable if @in), published and kicked. */
static void post(struct drv *d, unsigned int q, uint64_t gpa, uint32_t len, bool in)
{
	uint64_t table = RING_GPA(q), avail = table + 0x4000;
	uint16_t i = d->next_desc[q];

	put64(d, table + 16u * i, gpa);
	put32(d, table + 16u * i + 8, len);
	put16(d, table + 16u * i + 12, in ? D_WRITE : 0);
	put16(d, table + 16u * i + 14, 0);
	d->next_desc[q] = (uint16_t)((i + 1) % QSIZE);
	put16(d, avail + 4 + 2u * (d->avail_idx[q] % QSIZE), i);
	put16(d, avail + 2, ++d->avail_idx[q]);
	bar_wr(d, d->notify + q * d->notify_mult, q, 2);
}

static void post_events(struct drv *d, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		uint16_t slot = d->next_desc[Q_EVENT];

		post(d, Q_EVENT, EV_GPA + 8u * slot, 8, true);
	}
}

/* The next used event: true with its fields, false if the device used no more. */
static bool next_event(struct drv *d, uint16_t *type, uint16_t *code, uint32_t *value)
{
	uint64_t used = RING_GPA(Q_EVENT) + 0x8000;
	uint64_t e = used + 4 + 8u * (d->used_seen[Q_EVENT] % QSIZE);
	uint32_t id;

	if (get16(d, used + 2) == d->used_seen[Q_EVENT])
		return false;
	id = get32(d, e);
	assert_int_equal(get32(d, e + 4), 8);
	*type = get16(d, EV_GPA + 8u * id);
	*code = get16(d, EV_GPA + 8u * id + 2);
	*value = get32(d, EV_GPA + 8u * id + 4);
	d->used_seen[Q_EVENT]++;
	return true;
}

static void expect_event(struct drv *d, uint16_t type, uint16_t code, uint32_t value)
{
	uint16_t t = 0xffff, c = 0xffff;
	uint32_t v = 0;

	assert_true(next_event(d, &t, &c, &v));
	if (t != type || c != code || v != value)
		print_error("event %u/%u/%u, expected %u/%u/%u\n", t, c, v, type, code, value);
	assert_int_equal(t, type);
	assert_int_equal(c, code);
	assert_int_equal(v, value);
}

static const struct input_ops *tablet(struct drv *d)
{
	assert_int_equal(d->fm.nr_inputs, 1);
	assert_int_equal(d->fm.inputs[0].ops->caps, INPUT_CAP_ABS);
	return d->fm.inputs[0].ops;
}

static void tablet_abs(struct drv *d, unsigned int x, unsigned int y, int wheel, unsigned int b)
{
	tablet(d)->abs(d->fm.inputs[0].opaque, x, y, wheel, b);
}

static bool tablet_active(struct drv *d)
{
	return tablet(d)->active(d->fm.inputs[0].opaque);
}

static int setup(void **state)
{
	static struct drv d;
	struct device_args args = { .out_fd = -1, .in_fd = -1 };

	memset(&d, 0, sizeof(d));
	assert_int_equal(fake_machine_init(&d.fm, RAM_SIZE), 0);
	d.dev = device_create(&virtio_input_model, "tablet", &d.fm.host, &args);
	assert_non_null(d.dev);
	d.devfn = 1 << 3;
	d.bar4 = (cfg_rd(&d, PCI_BAR0 + 16, 4) & ~0xfu) | (uint64_t)cfg_rd(&d, PCI_BAR0 + 20, 4) << 32;
	fake_pci_cfg_write(&d.fm, d.devfn, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	find_caps(&d);
	*state = &d;
	return 0;
}

static int teardown(void **state)
{
	struct drv *d = *state;

	device_destroy(d->dev);
	assert_int_equal(d->fm.nr_inputs, 0);   /* withdrawn */
	fake_machine_destroy(&d->fm);
	return 0;
}

/* select/subsel, then size and the union (5.8.4). */
static unsigned int cfg_select(struct drv *d, uint8_t sel, uint8_t sub, uint8_t *u)
{
	bar_wr(d, d->devcfg + 0, sel, 1);
	bar_wr(d, d->devcfg + 1, sub, 1);
	for (unsigned int i = 0; i < 128; i++)
		u[i] = (uint8_t)bar_rd(d, d->devcfg + 8 + i, 1);
	return (unsigned int)bar_rd(d, d->devcfg + 2, 1);
}

static void test_config(void **state)
{
	struct drv *d = *state;
	uint8_t u[128];
	uint32_t max;

	assert_int_equal(cfg_rd(d, 0, 2), 0x1af4);
	assert_int_equal(cfg_rd(d, 2, 2), 0x1052);
	assert_int_equal(cfg_select(d, 0x01, 0, u), 12);
	assert_memory_equal(u, "Hutch Tablet", 12);
	assert_true(cfg_select(d, 0x02, 0, u) > 0);
	assert_int_equal(cfg_select(d, 0x03, 0, u), 8);
	assert_int_equal(u[0], 0x06);                       /* BUS_VIRTUAL */
	assert_int_equal(cfg_select(d, 0x10, 0, u), 0);     /* no properties */
	assert_int_equal(cfg_select(d, 0x11, EV_KEY, u), 0x23);
	assert_int_equal(u[0x22], 0x07);                    /* BTN_LEFT, RIGHT, MIDDLE */
	for (unsigned int i = 0; i < 0x22; i++)
		assert_int_equal(u[i], 0);
	assert_int_equal(cfg_select(d, 0x11, EV_REL, u), 2);
	assert_int_equal(u[1], 0x01);                       /* REL_WHEEL (8) */
	assert_int_equal(cfg_select(d, 0x11, EV_ABS, u), 1);
	assert_int_equal(u[0], 0x03);                       /* ABS_X, ABS_Y */
	assert_int_equal(cfg_select(d, 0x11, 0x11, u), 0);  /* EV_LED: none */
	assert_int_equal(cfg_select(d, 0x12, 0, u), 20);
	memcpy(&max, u + 4, 4);
	assert_int_equal(max, INPUT_ABS_MAX);
	assert_int_equal(cfg_select(d, 0x12, 1, u), 20);
	assert_int_equal(cfg_select(d, 0x12, 2, u), 0);     /* ABS_Z: none */
	assert_int_equal(cfg_select(d, 0x77, 0, u), 0);
	assert_int_equal(u[0], 0);
	/* A 16-bit write sets both */
	bar_wr(d, d->devcfg, 0x11 | EV_ABS << 8, 2);
	assert_int_equal(bar_rd(d, d->devcfg + 2, 1), 1);
	/* size is not the driver's to write */
	bar_wr(d, d->devcfg + 2, 0x55, 1);
	assert_int_equal(bar_rd(d, d->devcfg + 2, 1), 1);
}

static void test_events(void **state)
{
	struct drv *d = *state;
	uint16_t t, c;
	uint32_t v;

	assert_false(tablet_active(d));
	tablet_abs(d, 1, 2, 0, 0);                          /* no driver: nothing */
	drv_start(d);
	assert_false(tablet_active(d) && false);
	assert_true(tablet_active(d));
	post_events(d, 16);
	tablet_abs(d, 100, 200, 0, INPUT_BTN_LEFT);
	expect_event(d, EV_ABS, 0, 100);
	expect_event(d, EV_ABS, 1, 200);
	expect_event(d, EV_KEY, 0x110, 1);
	expect_event(d, EV_SYN, 0, 0);
	assert_false(next_event(d, &t, &c, &v));
	tablet_abs(d, INPUT_ABS_MAX, 0, -2, INPUT_BTN_RIGHT | INPUT_BTN_MIDDLE);
	expect_event(d, EV_ABS, 0, INPUT_ABS_MAX);
	expect_event(d, EV_ABS, 1, 0);
	expect_event(d, EV_KEY, 0x110, 0);
	expect_event(d, EV_KEY, 0x111, 1);
	expect_event(d, EV_KEY, 0x112, 1);
	expect_event(d, EV_REL, 8, (uint32_t)-2);
	expect_event(d, EV_SYN, 0, 0);
	/* 16 - 11 = 5 buffers left: a 3-event batch fits, a 5-event one after it does not */
	tablet_abs(d, 5, 6, 0, INPUT_BTN_RIGHT | INPUT_BTN_MIDDLE);
	expect_event(d, EV_ABS, 0, 5);
	expect_event(d, EV_ABS, 1, 6);
	expect_event(d, EV_SYN, 0, 0);
	tablet_abs(d, 7, 8, 1, 0);                          /* 2 buttons + wheel: 6 events */
	assert_false(next_event(d, &t, &c, &v));           /* dropped whole */
	post_events(d, 8);
	tablet_abs(d, 9, 10, 0, INPUT_BTN_RIGHT | INPUT_BTN_MIDDLE);
	expect_event(d, EV_ABS, 0, 9);                      /* the two buffers kept are used first */
	expect_event(d, EV_ABS, 1, 10);
	expect_event(d, EV_SYN, 0, 0);
	/* Coordinates beyond the range are clamped */
	tablet_abs(d, 99999, 99999, 0, INPUT_BTN_RIGHT | INPUT_BTN_MIDDLE);
	expect_event(d, EV_ABS, 0, INPUT_ABS_MAX);
	expect_event(d, EV_ABS, 1, INPUT_ABS_MAX);
	expect_event(d, EV_SYN, 0, 0);
}

static void test_statusq(void **state)
{
	struct drv *d = *state;
	uint64_t used = RING_GPA(Q_STATUS) + 0x8000;

	drv_start(d);
	/* An LED event from the driver (EV_LED LED_CAPSL 1) */
	put16(d, ST_GPA, 0x11);
	put16(d, ST_GPA + 2, 1);
	put32(d, ST_GPA + 4, 1);
	post(d, Q_STATUS, ST_GPA, 8, false);
	post(d, Q_STATUS, ST_GPA, 8, false);
	assert_int_equal(get16(d, used + 2), 2);
	assert_int_equal(get32(d, used + 4 + 4), 0);   /* nothing written */
}

static void test_reset_with_events(void **state)
{
	struct drv *d = *state;
	uint16_t t, c;
	uint32_t v;

	drv_start(d);
	post_events(d, 32);
	tablet_abs(d, 1, 1, 0, INPUT_BTN_LEFT);
	/* The driver resets the device with buffers posted and a button held */
	set_status(d, 0);
	assert_int_equal(bar_rd(d, d->common + VIRTIO_PCI_DEVICE_STATUS, 1), 0);
	assert_false(tablet_active(d));
	memset(ram(d, RING_GPA(Q_EVENT) + 0x8000), 0, 64);
	tablet_abs(d, 2, 2, 0, 0);                     /* nowhere to go: no DMA */
	assert_int_equal(get16(d, RING_GPA(Q_EVENT) + 0x8000 + 2), 0);
	/* Bring-up again: the button state starts afresh */
	drv_start(d);
	post_events(d, 8);
	tablet_abs(d, 3, 3, 0, INPUT_BTN_LEFT);
	expect_event(d, EV_ABS, 0, 3);
	expect_event(d, EV_ABS, 1, 3);
	expect_event(d, EV_KEY, 0x110, 1);
	expect_event(d, EV_SYN, 0, 0);
	/* A machine reset likewise */
	device_reset(d->dev);
	assert_false(tablet_active(d));
	tablet_abs(d, 4, 4, 0, 0);
	assert_false(next_event(d, &t, &c, &v));
}

static void test_short_buffer(void **state)
{
	struct drv *d = *state;

	drv_start(d);
	post(d, Q_EVENT, EV_GPA, 4, true);             /* shorter than an event */
	tablet_abs(d, 1, 1, 0, 0);
	assert_true(bar_rd(d, d->common + VIRTIO_PCI_DEVICE_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
	assert_false(tablet_active(d));
}

static void test_save_load(void **state)
{
	struct drv *d = *state;
	struct sv_writer w;
	uint16_t t, c;
	uint32_t v;

	drv_start(d);
	post_events(d, 8);
	tablet_abs(d, 1, 1, 0, INPUT_BTN_LEFT);
	for (int i = 0; i < 4; i++)
		assert_true(next_event(d, &t, &c, &v));
	bar_wr(d, d->devcfg, 0x01, 1);
	assert_int_equal(fake_save(d->dev, &w), 0);
	device_reset(d->dev);
	assert_false(tablet_active(d));
	assert_int_equal(fake_load(d->dev, &w), 0);
	sv_writer_free(&w);
	assert_true(tablet_active(d));
	assert_int_equal(bar_rd(d, d->devcfg + 2, 1), 12);   /* ID_NAME selected again */
	tablet_abs(d, 2, 2, 0, 0);                           /* the held button is known */
	expect_event(d, EV_ABS, 0, 2);
	expect_event(d, EV_ABS, 1, 2);
	expect_event(d, EV_KEY, 0x110, 0);
	expect_event(d, EV_SYN, 0, 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_config),
		T(test_events),
		T(test_statusq),
		T(test_reset_with_events),
		T(test_short_buffer),
		T(test_save_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
#undef T
}
