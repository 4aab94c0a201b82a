// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The VGA / Bochs VBE display adapter (vga.c) on the fake machine: its
 * registers, the graphics controller's write and read modes against plane
 * contents worked out by hand, text, 256-colour, planar and VBE rendering
 * compared pixel for pixel with expectations computed here from the font
 * bits and palette the test loaded, dirty rectangles, modes beyond the
 * VRAM, bank switching, reset, save/load.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices.h"
#include "display.h"
#include "fake_machine.h"
#include "pci.h"

#define VRAM      (4u << 20)
#define SLOT      2
#define DEVFN     (SLOT << 3)
#define WINDOW    0xa0000ull
#define TEXTBUF   0xb8000ull

/* DISPI */
#define DISPI_INDEX 0x1ce
#define DISPI_DATA  0x1cf
enum { ID, XRES, YRES, BPP, ENABLE, BANK, VIRT_WIDTH, VIRT_HEIGHT, X_OFFSET, Y_OFFSET, MEM64K };
#define ENABLED     0x01
#define GETCAPS     0x02
#define LFB         0x40
#define NOCLEARMEM  0x80

struct fixture {
	struct fake_machine fm;
	struct device *dev;
	const struct display_ops *ops;
	void *opaque;
};

static int setup(void **state)
{
	static struct fixture f;
	struct device_args args = { .out_fd = -1, .in_fd = -1, .pci_slot = SLOT,
				    .vram_size = VRAM };

	memset(&f, 0, sizeof(f));
	assert_int_equal(fake_machine_init(&f.fm, 0), 0);
	f.dev = fake_device_create(&f.fm, &vga_model, &args);
	assert_non_null(f.dev);
	f.ops = f.fm.display_ops;
	f.opaque = f.fm.display_opaque;
	assert_non_null(f.ops);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	device_destroy(f->dev);
	fake_machine_destroy(&f->fm);
	return 0;
}

/* ---- register helpers ---- */

static void seq(struct fake_machine *fm, uint8_t i, uint8_t v)
{
	fake_outb(fm, 0x3c4, i);
	fake_outb(fm, 0x3c5, v);
}

static void gr(struct fake_machine *fm, uint8_t i, uint8_t v)
{
	fake_outb(fm, 0x3ce, i);
	fake_outb(fm, 0x3cf, v);
}

static void crtc(struct fake_machine *fm, uint8_t i, uint8_t v)
{
	fake_outb(fm, 0x3d4, i);
	fake_outb(fm, 0x3d5, v);
}

static uint8_t crtc_rd(struct fake_machine *fm, uint8_t i)
{
	fake_outb(fm, 0x3d4, i);
	return fake_inb(fm, 0x3d5);
}

static void attr(struct fake_machine *fm, uint8_t i, uint8_t v)
{
	(void)fake_inb(fm, 0x3da);
	fake_outb(fm, 0x3c0, i);
	fake_outb(fm, 0x3c0, v);
}

static void display_on(struct fake_machine *fm)
{
	(void)fake_inb(fm, 0x3da);
	fake_outb(fm, 0x3c0, 0x20);
}

static void dac_set(struct fake_machine *fm, uint8_t i, uint8_t r, uint8_t g, uint8_t b)
{
	fake_outb(fm, 0x3c8, i);
	fake_outb(fm, 0x3c9, r);
	fake_outb(fm, 0x3c9, g);
	fake_outb(fm, 0x3c9, b);
}

static void dispi(struct fake_machine *fm, uint16_t idx, uint16_t v)
{
	fake_pio_write(fm, DISPI_INDEX, idx, 2);
	fake_pio_write(fm, DISPI_DATA, v, 2);
}

static uint16_t dispi_rd(struct fake_machine *fm, uint16_t idx)
{
	fake_pio_write(fm, DISPI_INDEX, idx, 2);
	return (uint16_t)fake_pio_read(fm, DISPI_DATA, 2);
}

/* 6-bit DAC component as shown (the high bits repeated into the low ones). */
static uint32_t rgb6(uint8_t r, uint8_t g, uint8_t b)
{
	return (uint32_t)((r << 2) | (r >> 4)) << 16 | (uint32_t)((g << 2) | (g >> 4)) << 8 |
	       (uint32_t)((b << 2) | (b >> 4));
}

/* A test palette: DAC entry i (i < 64) is (i, 63 - i, (i * 5) & 63). */
static void load_test_dac(struct fake_machine *fm)
{
	for (unsigned int i = 0; i < 64; i++)
		dac_set(fm, (uint8_t)i, (uint8_t)i, (uint8_t)(63 - i), (uint8_t)((i * 5) & 63));
}

static uint32_t test_dac_rgb(unsigned int i)
{
	return rgb6((uint8_t)i, (uint8_t)(63 - i), (uint8_t)((i * 5) & 63));
}

/* Attribute palette: colour i -> DAC entry i. */
static void identity_attr(struct fake_machine *fm)
{
	for (uint8_t i = 0; i < 16; i++)
		attr(fm, i, i);
	attr(fm, 0x12, 0x0f);   /* all planes enabled */
	attr(fm, 0x14, 0x00);
}

/* The planar ("unchained") set-up used to load fonts and test the GC. */
static void planar_access(struct fake_machine *fm)
{
	seq(fm, 2, 0x0f);
	seq(fm, 4, 0x06);       /* odd/even off, chain-4 off */
	gr(fm, 0, 0);
	gr(fm, 1, 0);
	gr(fm, 3, 0);
	gr(fm, 4, 0);
	gr(fm, 5, 0x00);
	gr(fm, 6, 0x05);        /* graphics, A0000-AFFFF */
	gr(fm, 7, 0x0f);
	gr(fm, 8, 0xff);
}

static uint8_t plane_rd(struct fake_machine *fm, unsigned int plane, uint32_t off)
{
	uint8_t v;

	gr(fm, 4, (uint8_t)plane);
	v = (uint8_t)fake_mmio_read(fm, WINDOW + off, 1);
	return v;
}

/* Fill the four planes at @off with @p0..@p3 (map mask per plane, write mode 0). */
static void planes_fill(struct fake_machine *fm, uint32_t off, const uint8_t p[4])
{
	gr(fm, 5, 0x00);
	gr(fm, 8, 0xff);
	gr(fm, 1, 0);
	gr(fm, 3, 0);
	for (unsigned int i = 0; i < 4; i++) {
		seq(fm, 2, (uint8_t)(1u << i));
		fake_mmio_write(fm, WINDOW + off, p[i], 1);
	}
	seq(fm, 2, 0x0f);
}

static void planes_expect(struct fake_machine *fm, uint32_t off, uint8_t p0, uint8_t p1,
			  uint8_t p2, uint8_t p3)
{
	uint8_t save = 0;

	(void)save;
	gr(fm, 5, 0x00);   /* read mode 0 */
	assert_int_equal(plane_rd(fm, 0, off), p0);
	assert_int_equal(plane_rd(fm, 1, off), p1);
	assert_int_equal(plane_rd(fm, 2, off), p2);
	assert_int_equal(plane_rd(fm, 3, off), p3);
}

static uint32_t *render_full(struct fixture *f, struct display_info *info)
{
	uint32_t *px;

	f->ops->get_info(f->opaque, info);
	px = calloc((size_t)info->width * info->height + 1, 4);
	assert_non_null(px);
	assert_int_equal(f->ops->render(f->opaque, px, info->width * 4, info->width, info->height,
					NULL, 0, NULL), 0);
	return px;
}

/* ---- identity and registers ---- */

static void test_pci_identity_and_publish(void **state)
{
	struct fixture *f = *state;
	struct device *dev;
	struct fake_machine fm;
	struct device_args bad = { .out_fd = -1, .in_fd = -1, .vram_size = 512u << 10 };

	assert_int_equal(fake_pci_cfg_read(&f->fm, DEVFN, PCI_VENDOR_ID, 2), 0x1234);
	assert_int_equal(fake_pci_cfg_read(&f->fm, DEVFN, PCI_DEVICE_ID, 2), 0x1111);
	assert_int_equal(fake_pci_cfg_read(&f->fm, DEVFN, PCI_REVISION_ID, 4) >> 8, 0x030000);
	/* BAR0: prefetchable 32-bit memory of the VRAM's size; BAR2 4 KiB MMIO. */
	assert_int_equal(fake_pci_cfg_read(&f->fm, DEVFN, PCI_BAR0, 4) & 0xf, 0x8);
	fake_pci_cfg_write(&f->fm, DEVFN, PCI_BAR0, 0xffffffff, 4);
	assert_int_equal(fake_pci_cfg_read(&f->fm, DEVFN, PCI_BAR0, 4), (uint32_t)~(VRAM - 1) | 8);
	fake_pci_cfg_write(&f->fm, DEVFN, PCI_BAR0 + 8, 0xffffffff, 4);
	assert_int_equal(fake_pci_cfg_read(&f->fm, DEVFN, PCI_BAR0 + 8, 4), 0xfffff000);
	assert_int_equal(f->fm.display_publishes, 1);
	assert_int_equal(dispi_rd(&f->fm, ID), 0xb0c5);
	assert_int_equal(dispi_rd(&f->fm, MEM64K), VRAM >> 16);

	/* Bad VRAM sizes are refused at create; destroy withdraws the display. */
	assert_int_equal(fake_machine_init(&fm, 0), 0);
	assert_null(fake_device_create(&fm, &vga_model, &bad));
	bad.vram_size = 512u << 20;
	assert_null(fake_device_create(&fm, &vga_model, &bad));
	bad.vram_size = (1u << 20) + 4096;   /* not in 64 KiB steps */
	assert_null(fake_device_create(&fm, &vga_model, &bad));
	bad.vram_size = 1u << 20;
	dev = fake_device_create(&fm, &vga_model, &bad);
	assert_non_null(dev);
	assert_non_null(fm.display_ops);
	device_destroy(dev);
	assert_null(fm.display_ops);
	assert_int_equal(fake_memregions(&fm), 0);
	fake_machine_destroy(&fm);
}

static void test_attribute_flipflop(void **state)
{
	struct fixture *f = *state;
	struct fake_machine *fm = &f->fm;

	fake_outb(fm, 0x3c2, 0x01);          /* colour: input status 1 at 0x3DA */
	(void)fake_inb(fm, 0x3da);
	fake_outb(fm, 0x3c0, 0x02);          /* index 2 ... */
	(void)fake_inb(fm, 0x3da);           /* ... flip-flop reset: next write is an index */
	fake_outb(fm, 0x3c0, 0x03);
	fake_outb(fm, 0x3c0, 0x2a);          /* data for register 3 */
	assert_int_equal(fake_inb(fm, 0x3c0), 0x03);
	assert_int_equal(fake_inb(fm, 0x3c1), 0x2a);
	fake_outb(fm, 0x3c0, 0x02);          /* an index again: the flip-flop toggled */
	assert_int_equal(fake_inb(fm, 0x3c1), 0x00);
	fake_outb(fm, 0x3c0, 0xff);          /* data: six bits kept */
	assert_int_equal(fake_inb(fm, 0x3c1), 0x3f);
	/* With the mono I/O address, input status 1 at 0x3BA resets it instead. */
	fake_outb(fm, 0x3c2, 0x00);
	fake_outb(fm, 0x3c0, 0x04);
	assert_int_equal(fake_inb(fm, 0x3da), 0xff);   /* not decoded now */
	fake_outb(fm, 0x3c0, 0x11);          /* still data for 4 */
	(void)fake_inb(fm, 0x3ba);
	fake_outb(fm, 0x3c0, 0x04);
	assert_int_equal(fake_inb(fm, 0x3c1), 0x11);
}

static void test_dac_indices(void **state)
{
	struct fixture *f = *state;
	struct fake_machine *fm = &f->fm;
	static const uint8_t in[6] = { 0x3f, 0x40, 0x12, 0x01, 0xff, 0x20 };
	static const uint8_t out[6] = { 0x3f, 0x00, 0x12, 0x01, 0x3f, 0x20 };

	fake_outb(fm, 0x3c8, 5);
	assert_int_equal(fake_inb(fm, 0x3c7), 0);     /* write mode */
	for (unsigned int i = 0; i < 6; i++)
		fake_outb(fm, 0x3c9, in[i]);
	assert_int_equal(fake_inb(fm, 0x3c8), 7);     /* advanced after each third */
	fake_outb(fm, 0x3c7, 5);
	assert_int_equal(fake_inb(fm, 0x3c7), 3);     /* read mode */
	for (unsigned int i = 0; i < 6; i++)
		assert_int_equal(fake_inb(fm, 0x3c9), out[i]);
	/* The write index wraps at 256. */
	fake_outb(fm, 0x3c8, 255);
	for (unsigned int i = 0; i < 3; i++)
		fake_outb(fm, 0x3c9, 1);
	assert_int_equal(fake_inb(fm, 0x3c8), 0);
}

static void test_crtc_protect(void **state)
{
	struct fixture *f = *state;
	struct fake_machine *fm = &f->fm;

	fake_outb(fm, 0x3c2, 0x01);          /* colour: CRTC at 0x3D4 */
	crtc(fm, 0x00, 0x5f);
	crtc(fm, 0x07, 0x00);
	crtc(fm, 0x11, 0x80);                /* protect CR00-CR07 */
	crtc(fm, 0x00, 0x11);
	assert_int_equal(crtc_rd(fm, 0x00), 0x5f);
	crtc(fm, 0x07, 0xff);
	assert_int_equal(crtc_rd(fm, 0x07), 0x10);   /* only the line compare bit */
	crtc(fm, 0x08, 0x33);                         /* CR08 is not protected */
	assert_int_equal(crtc_rd(fm, 0x08), 0x33);
	crtc(fm, 0x11, 0x00);
	crtc(fm, 0x00, 0x11);
	assert_int_equal(crtc_rd(fm, 0x00), 0x11);
	/* The mono addresses do not answer in colour mode. */
	fake_outb(fm, 0x3b4, 0x00);
	assert_int_equal(fake_inb(fm, 0x3b5), 0xff);
	/* A 16-bit out to the index port sets index and data at once. */
	fake_pio_write(fm, 0x3d4, 0x420c, 2);
	assert_int_equal(crtc_rd(fm, 0x0c), 0x42);
}

static void test_input_status_toggles(void **state)
{
	struct fixture *f = *state;
	unsigned int set = 0, clear = 0;

	fake_outb(&f->fm, 0x3c2, 0x01);
	for (unsigned int i = 0; i < 4; i++) {
		if (fake_inb(&f->fm, 0x3da) & 0x08)
			set++;
		else
			clear++;
	}
	/* A "wait for retrace, then for its end" loop sees both within a few reads. */
	assert_true(set >= 1 && clear >= 1);
}

/* ---- the graphics controller ---- */

static void test_write_mode0(void **state)
{
	struct fixture *f = *state;
	struct fake_machine *fm = &f->fm;
	static const uint8_t latch[4] = { 0xaa, 0xaa, 0xaa, 0xaa };

	planar_access(fm);
	/* Plain write: all four planes get the byte. */
	fake_mmio_write(fm, WINDOW + 0x10, 0x5c, 1);
	planes_expect(fm, 0x10, 0x5c, 0x5c, 0x5c, 0x5c);

	/* Set/reset on planes 0 and 1 (values 1 and 0), rotate by 2, bit mask 0xf0. */
	planes_fill(fm, 0x20, latch);
	(void)fake_mmio_read(fm, WINDOW + 0x20, 1);   /* load the latches */
	gr(fm, 0, 0x05);
	gr(fm, 1, 0x03);
	gr(fm, 3, 0x02);
	gr(fm, 8, 0xf0);
	fake_mmio_write(fm, WINDOW + 0x20, 0x81, 1);  /* rotated: 0x60 */
	/* plane0: 0xff & f0 | aa & 0f = 0xfa; plane1: 0x00 -> 0x0a;
	 * planes 2, 3: 0x60 & f0 | 0x0a = 0x6a. */
	gr(fm, 8, 0xff);
	gr(fm, 3, 0);
	gr(fm, 1, 0);
	planes_expect(fm, 0x20, 0xfa, 0x0a, 0x6a, 0x6a);

	/* Logical XOR with the latches. */
	planes_fill(fm, 0x30, latch);
	(void)fake_mmio_read(fm, WINDOW + 0x30, 1);
	gr(fm, 3, 0x18);
	fake_mmio_write(fm, WINDOW + 0x30, 0x0f, 1);
	gr(fm, 3, 0);
	planes_expect(fm, 0x30, 0xa5, 0xa5, 0xa5, 0xa5);
	/* AND and OR. */
	(void)fake_mmio_read(fm, WINDOW + 0x30, 1);   /* latches a5 */
	gr(fm, 3, 0x08);
	fake_mmio_write(fm, WINDOW + 0x30, 0x3c, 1);
	gr(fm, 3, 0);
	planes_expect(fm, 0x30, 0x24, 0x24, 0x24, 0x24);
	(void)fake_mmio_read(fm, WINDOW + 0x30, 1);
	gr(fm, 3, 0x10);
	fake_mmio_write(fm, WINDOW + 0x30, 0x81, 1);
	gr(fm, 3, 0);
	planes_expect(fm, 0x30, 0xa5, 0xa5, 0xa5, 0xa5);

	/* The map mask keeps planes out. */
	seq(fm, 2, 0x02);
	fake_mmio_write(fm, WINDOW + 0x30, 0x00, 1);
	seq(fm, 2, 0x0f);
	planes_expect(fm, 0x30, 0xa5, 0x00, 0xa5, 0xa5);
}

static void test_write_modes_1_2_3(void **state)
{
	struct fixture *f = *state;
	struct fake_machine *fm = &f->fm;
	static const uint8_t src[4] = { 0x12, 0x34, 0x56, 0x78 };
	static const uint8_t l11[4] = { 0x11, 0x11, 0x11, 0x11 };
	static const uint8_t zero[4] = { 0 };

	planar_access(fm);
	/* Mode 1: the latches of one address copied to another (bit mask ignored). */
	planes_fill(fm, 0x100, src);
	(void)fake_mmio_read(fm, WINDOW + 0x100, 1);
	gr(fm, 5, 0x01);
	gr(fm, 8, 0x00);
	fake_mmio_write(fm, WINDOW + 0x200, 0xee, 1);
	gr(fm, 8, 0xff);
	planes_expect(fm, 0x200, 0x12, 0x34, 0x56, 0x78);

	/* Mode 2: the byte's low four bits are the colour; bit mask 0x3c. */
	planes_fill(fm, 0x300, zero);
	(void)fake_mmio_read(fm, WINDOW + 0x300, 1);
	gr(fm, 5, 0x02);
	gr(fm, 8, 0x3c);
	fake_mmio_write(fm, WINDOW + 0x300, 0x09, 1);
	gr(fm, 8, 0xff);
	planes_expect(fm, 0x300, 0x3c, 0x00, 0x00, 0x3c);

	/* Mode 3: set/reset colour (planes 1, 2), bit mask ANDed with the
	 * rotated byte: 0xcc & 0xf0 = 0xc0. */
	planes_fill(fm, 0x400, l11);
	(void)fake_mmio_read(fm, WINDOW + 0x400, 1);
	gr(fm, 5, 0x03);
	gr(fm, 0, 0x06);
	gr(fm, 8, 0xcc);
	fake_mmio_write(fm, WINDOW + 0x400, 0xf0, 1);
	gr(fm, 8, 0xff);
	gr(fm, 0, 0);
	planes_expect(fm, 0x400, 0x11, 0xd1, 0xd1, 0x11);
}

static void test_read_modes(void **state)
{
	struct fixture *f = *state;
	struct fake_machine *fm = &f->fm;
	static const uint8_t p[4] = { 0xf0, 0xcc, 0xaa, 0x00 };

	planar_access(fm);
	planes_fill(fm, 0x40, p);
	/* Mode 0: the plane the read map select names. */
	planes_expect(fm, 0x40, 0xf0, 0xcc, 0xaa, 0x00);
	/* Mode 1: colour compare 0011b against all planes:
	 * p0 & p1 & ~p2 & ~p3 = 0xf0 & 0xcc & 0x55 & 0xff = 0x40. */
	gr(fm, 5, 0x08);
	gr(fm, 2, 0x03);
	gr(fm, 7, 0x0f);
	assert_int_equal(fake_mmio_read(fm, WINDOW + 0x40, 1), 0x40);
	/* Planes 2 and 3 "don't care": p0 & p1 = 0xc0. */
	gr(fm, 7, 0x03);
	assert_int_equal(fake_mmio_read(fm, WINDOW + 0x40, 1), 0xc0);
	gr(fm, 5, 0x00);
}

static void test_chain4_and_odd_even(void **state)
{
	struct fixture *f = *state;
	struct fake_machine *fm = &f->fm;

	/* Chain-4: byte address a -> plane a & 3, offset a >> 2. */
	planar_access(fm);
	seq(fm, 4, 0x0e);
	for (unsigned int i = 0; i < 8; i++)
		fake_mmio_write(fm, WINDOW + 0x800 + i, 0x10 + i, 1);
	assert_int_equal(fake_mmio_read(fm, WINDOW + 0x805, 1), 0x15);
	seq(fm, 4, 0x06);
	planes_expect(fm, 0x200, 0x10, 0x11, 0x12, 0x13);
	planes_expect(fm, 0x201, 0x14, 0x15, 0x16, 0x17);

	/* Odd/even (text): even addresses to plane 0, odd to plane 1, offset a & ~1. */
	seq(fm, 4, 0x02);
	seq(fm, 2, 0x03);
	gr(fm, 4, 0x00);        /* odd/even reads: planes 0 and 1 */
	gr(fm, 5, 0x10);
	gr(fm, 6, 0x0e);        /* B8000-BFFFF */
	fake_mmio_write(fm, TEXTBUF + 0, 'A', 1);
	fake_mmio_write(fm, TEXTBUF + 1, 0x1f, 1);
	fake_mmio_write(fm, TEXTBUF + 2, 0x4342, 2);
	assert_int_equal(fake_mmio_read(fm, TEXTBUF + 0, 4), 0x4342 << 16 | 0x1f << 8 | 'A');
	/* Outside the mapped window: nothing decoded. */
	assert_int_equal(fake_mmio_read(fm, WINDOW, 1), 0xff);
	seq(fm, 4, 0x06);
	gr(fm, 5, 0x00);
	gr(fm, 6, 0x05);
	seq(fm, 2, 0x0f);
	planes_expect(fm, 0, 'A', 0x1f, 0x00, 0x00);
	planes_expect(fm, 2, 'B', 0x43, 0x00, 0x00);
}

/* ---- text mode ---- */

#define COLS 80
#define ROWS 25
#define CELL_H 16

/* Glyphs the test loads: map B (plane 2 at 0) and map A (at 16 KiB). */
static uint8_t glyph_b(unsigned int ch, unsigned int line)
{
	return (uint8_t)(ch * 7 + line * 13 + 1);
}

static uint8_t glyph_a(unsigned int ch, unsigned int line)
{
	return (uint8_t)(ch * 3 ^ line * 29);
}

static void load_font(struct fake_machine *fm)
{
	planar_access(fm);
	seq(fm, 2, 0x04);        /* plane 2 only */
	gr(fm, 6, 0x04);         /* A0000-AFFFF, still text */
	for (unsigned int ch = 0; ch < 256; ch++)
		for (unsigned int l = 0; l < 32; l++) {
			fake_mmio_write(fm, WINDOW + ch * 32 + l, glyph_b(ch, l), 1);
			fake_mmio_write(fm, WINDOW + 0x4000 + ch * 32 + l, glyph_a(ch, l), 1);
		}
}

/* 80x25 with 9x16 cells (720x400), as mode 3 sets it. */
static void text_mode(struct fake_machine *fm)
{
	fake_outb(fm, 0x3c2, 0x67);
	seq(fm, 1, 0x00);        /* 9-dot */
	seq(fm, 2, 0x03);
	seq(fm, 3, 0x04);        /* map A = 1 (16 KiB), map B = 0 */
	seq(fm, 4, 0x02);
	gr(fm, 4, 0);
	gr(fm, 5, 0x10);
	gr(fm, 6, 0x0e);
	gr(fm, 8, 0xff);
	crtc(fm, 0x11, 0x00);
	crtc(fm, 0x01, COLS - 1);
	crtc(fm, 0x07, 0x02);    /* VDE bit 8 */
	crtc(fm, 0x09, CELL_H - 1);
	crtc(fm, 0x12, (400 - 1) & 0xff);
	crtc(fm, 0x13, COLS / 2);
	crtc(fm, 0x0a, 0x0d);
	crtc(fm, 0x0b, 0x0e);
	crtc(fm, 0x0c, 0);
	crtc(fm, 0x0d, 0);
	load_test_dac(fm);
	identity_attr(fm);
	attr(fm, 0x10, 0x0c);    /* line graphics, blink */
	display_on(fm);
}

static void put_cell(struct fake_machine *fm, unsigned int row, unsigned int col, uint8_t ch,
		     uint8_t at)
{
	fake_mmio_write(fm, TEXTBUF + (row * COLS + col) * 2, ch | at << 8, 2);
}

/* The expected pixel of cell (row, col) holding @ch/@at, at (x, y) in the cell. */
static uint32_t expect_text_px(uint8_t ch, uint8_t at, unsigned int x, unsigned int y,
			       bool cursor)
{
	uint8_t bits = (at & 0x08) ? glyph_a(ch, y) : glyph_b(ch, y);
	uint32_t fg = test_dac_rgb(at & 0xf), bg = test_dac_rgb((at >> 4) & 7);
	bool on;

	if (cursor && y >= 0x0d && y <= 0x0e)
		return fg;
	if (x < 8)
		on = bits & (0x80 >> x);
	else
		on = ch >= 0xc0 && ch <= 0xdf && (bits & 1);
	return on ? fg : bg;
}

static void check_cell(const uint32_t *px, unsigned int row, unsigned int col, uint8_t ch,
		       uint8_t at, bool cursor)
{
	for (unsigned int y = 0; y < CELL_H; y++)
		for (unsigned int x = 0; x < 9; x++)
			assert_int_equal(px[(row * CELL_H + y) * COLS * 9 + col * 9 + x],
					 expect_text_px(ch, at, x, y, cursor));
}

static void test_text_render(void **state)
{
	struct fixture *f = *state;
	struct fake_machine *fm = &f->fm;
	struct display_info info;
	struct display_text *t;
	uint32_t *px;

	load_font(fm);
	text_mode(fm);
	for (unsigned int r = 0; r < ROWS; r++)
		for (unsigned int c = 0; c < COLS; c++)
			put_cell(fm, r, c, ' ', 0x07);
	put_cell(fm, 0, 0, 'H', 0x1e);   /* attribute bit 3: map A */
	put_cell(fm, 0, 1, 'i', 0x97);   /* bit 3 clear: map B; blinking, bg 1 */
	put_cell(fm, 3, 7, 0xc4, 0x2f);  /* line graphics: the 9th column repeats */
	put_cell(fm, 3, 8, 0xb0, 0x2f);  /* not a line-graphics code */
	put_cell(fm, 24, 79, 'z', 0x71);
	crtc(fm, 0x0e, 0);
	crtc(fm, 0x0f, 2 * COLS + 5);   /* cursor at row 2, column 5 */

	px = render_full(f, &info);
	assert_int_equal(info.kind, DISPLAY_TEXT);
	assert_int_equal(info.width, 720);
	assert_int_equal(info.height, 400);
	check_cell(px, 0, 0, 'H', 0x1e, false);
	check_cell(px, 0, 1, 'i', 0x97, false);
	check_cell(px, 3, 7, 0xc4, 0x2f, false);
	check_cell(px, 3, 8, 0xb0, 0x2f, false);
	check_cell(px, 24, 79, 'z', 0x71, false);
	check_cell(px, 2, 5, ' ', 0x07, true);
	check_cell(px, 2, 6, ' ', 0x07, false);
	free(px);

	t = calloc(1, sizeof(*t));
	assert_non_null(t);
	assert_int_equal(f->ops->read_text(f->opaque, t), 0);
	assert_int_equal(t->cols, COLS);
	assert_int_equal(t->rows, ROWS);
	assert_int_equal(t->cell_width, 9);
	assert_int_equal(t->cell_height, CELL_H);
	assert_int_equal(t->cells[0], 'H' | 0x1e << 8);
	assert_int_equal(t->cells[3 * COLS + 7], 0xc4 | 0x2f << 8);
	assert_int_equal(t->cursor_col, 5);
	assert_int_equal(t->cursor_row, 2);
	assert_int_equal(t->cursor_start, 0x0d);
	assert_int_equal(t->cursor_end, 0x0e);
	assert_int_equal(t->font['H' * 32 + 3], glyph_a('H', 3));
	assert_int_equal(t->font_b['i' * 32 + 5], glyph_b('i', 5));
	assert_int_equal(t->palette[2], test_dac_rgb(2));
	assert_true(t->blink_enabled);

	/* Cursor off (CR0A bit 5); 8-dot cells. */
	crtc(fm, 0x0a, 0x2d);
	seq(fm, 1, 0x01);
	assert_int_equal(f->ops->read_text(f->opaque, t), 0);
	assert_int_equal(t->cursor_col, -1);
	assert_int_equal(t->cell_width, 8);
	f->ops->get_info(f->opaque, &info);
	assert_int_equal(info.width, 640);
	free(t);

	/* Not text: read_text refuses. */
	gr(fm, 6, 0x05);
	{
		struct display_text *t2 = calloc(1, sizeof(*t2));

		assert_int_equal(f->ops->read_text(f->opaque, t2), -ENOTSUP);
		free(t2);
	}
}

/* ---- mode 13h and the planar modes ---- */

static void test_mode13h(void **state)
{
	struct fixture *f = *state;
	struct fake_machine *fm = &f->fm;
	struct display_info info;
	uint32_t *px;

	fake_outb(fm, 0x3c2, 0x63);
	seq(fm, 1, 0x01);
	seq(fm, 2, 0x0f);
	seq(fm, 4, 0x0e);
	gr(fm, 5, 0x40);
	gr(fm, 6, 0x05);
	gr(fm, 8, 0xff);
	crtc(fm, 0x11, 0x00);
	crtc(fm, 0x01, 79);
	crtc(fm, 0x07, 0x02);
	crtc(fm, 0x09, 0x41);
	crtc(fm, 0x12, 0x8f);
	crtc(fm, 0x13, 40);
	crtc(fm, 0x0c, 0);
	crtc(fm, 0x0d, 0);
	for (unsigned int i = 0; i < 256; i++)
		dac_set(fm, (uint8_t)i, (uint8_t)(i & 63), (uint8_t)((i >> 2) & 63),
			(uint8_t)((i * 3) & 63));
	attr(fm, 0x10, 0x41);
	display_on(fm);
	for (unsigned int y = 0; y < 200; y++)
		for (unsigned int x = 0; x < 320; x += 4)
			fake_mmio_write(fm, WINDOW + y * 320 + x,
					(uint32_t)((x + y) & 0xff) | (uint32_t)((x + y + 1) & 0xff) << 8 |
					(uint32_t)((x * y) & 0xff) << 16 | 0x5au << 24, 4);
	px = render_full(f, &info);
	assert_int_equal(info.kind, DISPLAY_GRAPHICS);
	assert_int_equal(info.width, 320);
	assert_int_equal(info.height, 200);
	assert_int_equal(info.bpp, 8);
	for (unsigned int y = 0; y < 200; y++)
		for (unsigned int x = 0; x < 320; x++) {
			unsigned int b = x & 3, x0 = x & ~3u, c;

			c = b == 0 ? (x0 + y) & 0xff : b == 1 ? (x0 + y + 1) & 0xff :
			    b == 2 ? (x0 * y) & 0xff : 0x5a;
			assert_int_equal(px[y * 320 + x],
					 rgb6((uint8_t)(c & 63), (uint8_t)((c >> 2) & 63),
					      (uint8_t)((c * 3) & 63)));
		}
	free(px);
}

/* A 16-colour planar mode, @lines high (480: mode 12h, 350: mode 10h). */
static void planar_mode(struct fake_machine *fm, unsigned int lines)
{
	fake_outb(fm, 0x3c2, 0xe3);
	seq(fm, 1, 0x01);
	seq(fm, 2, 0x0f);
	seq(fm, 4, 0x06);
	gr(fm, 5, 0x00);
	gr(fm, 6, 0x05);
	crtc(fm, 0x11, 0x00);
	crtc(fm, 0x01, 79);
	crtc(fm, 0x07, (lines - 1) & 0x100 ? 0x02 : 0x00);
	crtc(fm, 0x09, 0x40);
	crtc(fm, 0x12, (lines - 1) & 0xff);
	crtc(fm, 0x13, 40);
	crtc(fm, 0x0c, 0);
	crtc(fm, 0x0d, 0);
	load_test_dac(fm);
	identity_attr(fm);
	attr(fm, 0x10, 0x01);
	display_on(fm);
}

static void set_pixel(struct fake_machine *fm, unsigned int x, unsigned int y, uint8_t c)
{
	/* Write mode 2 with a one-bit mask: the BIOS's way of plotting. */
	(void)fake_mmio_read(fm, WINDOW + y * 80 + x / 8, 1);
	gr(fm, 5, 0x02);
	gr(fm, 8, (uint8_t)(0x80 >> (x & 7)));
	fake_mmio_write(fm, WINDOW + y * 80 + x / 8, c, 1);
	gr(fm, 5, 0x00);
	gr(fm, 8, 0xff);
}

static void test_planar_modes(void **state)
{
	struct fixture *f = *state;
	struct fake_machine *fm = &f->fm;
	static const unsigned int heights[2] = { 480, 350 };

	for (unsigned int m = 0; m < 2; m++) {
		struct display_info info;
		uint32_t *px;
		unsigned int h = heights[m];

		planar_mode(fm, h);
		gr(fm, 3, 0);
		/* Clear: set/reset 0 on all planes. */
		gr(fm, 0, 0);
		gr(fm, 1, 0x0f);
		for (unsigned int i = 0; i < 80 * h; i++)
			fake_mmio_write(fm, WINDOW + i, 0, 1);
		gr(fm, 1, 0);
		set_pixel(fm, 0, 0, 0x0f);
		set_pixel(fm, 7, 1, 0x05);
		set_pixel(fm, 8, 1, 0x0a);
		set_pixel(fm, 639, h - 1, 0x09);
		set_pixel(fm, 100, 200, 0x03);
		px = render_full(f, &info);
		assert_int_equal(info.width, 640);
		assert_int_equal(info.height, h);
		assert_int_equal(info.bpp, 4);
		for (unsigned int y = 0; y < h; y++)
			for (unsigned int x = 0; x < 640; x++) {
				unsigned int c = 0;

				if (x == 0 && y == 0)
					c = 0x0f;
				else if (x == 7 && y == 1)
					c = 0x05;
				else if (x == 8 && y == 1)
					c = 0x0a;
				else if (x == 639 && y == h - 1)
					c = 0x09;
				else if (x == 100 && y == 200)
					c = 0x03;
				assert_int_equal(px[y * 640 + x], test_dac_rgb(c));
			}
		free(px);
	}
}

/* ---- VBE ---- */

static void vbe_mode(struct fake_machine *fm, uint16_t x, uint16_t y, uint16_t bpp, uint16_t flags);

/* SeaBIOS's VBE 16-colour modes: DISPI at 4 bpp, drawn through the planes. */
static void test_vbe_planar_4bpp(void **state)
{
	struct fixture *f = *state;
	struct fake_machine *fm = &f->fm;
	struct display_info info;
	uint32_t *px;

	load_test_dac(fm);
	identity_attr(fm);
	planar_access(fm);
	vbe_mode(fm, 800, 600, 4, 0);
	/* Clear (set/reset 0 everywhere), then plot with write mode 2. */
	gr(fm, 1, 0x0f);
	for (unsigned int i = 0; i < 100 * 600; i += 4)
		fake_mmio_write(fm, WINDOW + i, 0, 4);
	gr(fm, 1, 0);
	(void)fake_mmio_read(fm, WINDOW + 599 * 100 + 99, 1);
	gr(fm, 5, 0x02);
	gr(fm, 8, 0x01);                  /* x = 799 */
	fake_mmio_write(fm, WINDOW + 599 * 100 + 99, 0x0c, 1);
	(void)fake_mmio_read(fm, WINDOW + 1 * 100 + 0, 1);
	gr(fm, 8, 0x80);                  /* x = 0 */
	fake_mmio_write(fm, WINDOW + 1 * 100 + 0, 0x06, 1);
	px = render_full(f, &info);
	assert_int_equal(info.width, 800);
	assert_int_equal(info.height, 600);
	assert_int_equal(info.bpp, 4);
	for (unsigned int y = 0; y < 600; y++)
		for (unsigned int x = 0; x < 800; x++)
			assert_int_equal(px[y * 800 + x],
					 test_dac_rgb(x == 799 && y == 599 ? 0x0c :
						      x == 0 && y == 1 ? 0x06 : 0));
	free(px);
}

static uint64_t enable_lfb(struct fixture *f)
{
	uint64_t a;

	fake_pci_cfg_write(&f->fm, DEVFN, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	a = fake_pci_cfg_read(&f->fm, DEVFN, PCI_BAR0, 4) & ~0xfu;
	assert_non_null(fake_memregion_at(&f->fm, a));
	return a;
}

static void vbe_mode(struct fake_machine *fm, uint16_t x, uint16_t y, uint16_t bpp, uint16_t flags)
{
	dispi(fm, ENABLE, 0);
	dispi(fm, BPP, bpp);
	dispi(fm, XRES, x);
	dispi(fm, YRES, y);
	dispi(fm, BANK, 0);
	dispi(fm, VIRT_WIDTH, x);
	dispi(fm, VIRT_HEIGHT, y);
	dispi(fm, X_OFFSET, 0);
	dispi(fm, Y_OFFSET, 0);
	dispi(fm, ENABLE, ENABLED | flags);
}

static uint32_t pattern(unsigned int x, unsigned int y)
{
	return (x * 2654435761u) ^ (y * 40503u) ^ (x << 20);
}

static void test_vbe_lfb_render(void **state)
{
	struct fixture *f = *state;
	struct display_info info, before;
	uint32_t *row = malloc(1024 * 4), *px;
	uint64_t lfb = enable_lfb(f);

	f->ops->get_info(f->opaque, &before);
	vbe_mode(&f->fm, 1024, 768, 32, LFB);
	assert_int_equal(dispi_rd(&f->fm, ENABLE), ENABLED | LFB);
	f->ops->get_info(f->opaque, &info);
	assert_int_equal(info.kind, DISPLAY_GRAPHICS);
	assert_int_equal(info.width, 1024);
	assert_int_equal(info.height, 768);
	assert_int_equal(info.bpp, 32);
	assert_true(info.generation != before.generation);
	for (unsigned int y = 0; y < 768; y++) {
		for (unsigned int x = 0; x < 1024; x++)
			row[x] = pattern(x, y);
		assert_int_equal(fake_guest_mem_write(&f->fm, lfb + y * 4096, row, 4096), 0);
	}
	px = render_full(f, &info);
	for (unsigned int y = 0; y < 768; y++)
		for (unsigned int x = 0; x < 1024; x++)
			assert_int_equal(px[y * 1024 + x], pattern(x, y) & 0xffffff);
	/* A stale size is refused: the frontend asks again. */
	assert_int_equal(f->ops->render(f->opaque, px, 800 * 4, 800, 600, NULL, 0, NULL), -EAGAIN);
	assert_int_equal(f->ops->render(f->opaque, px, 16, 1024, 768, NULL, 0, NULL), -EINVAL);
	free(px);

	/* 16 bpp (RGB565) and 24 bpp (B, G, R bytes). */
	vbe_mode(&f->fm, 640, 480, 16, LFB);
	{
		uint16_t pix[2] = { 0xf800, 0x07e0 | 0x001f };

		fake_guest_mem_write(&f->fm, lfb + 640 * 2 * 3 + 10 * 2, pix, 4);
	}
	px = render_full(f, &info);
	assert_int_equal(info.bpp, 16);
	assert_int_equal(px[3 * 640 + 10], 0xff0000);
	assert_int_equal(px[3 * 640 + 11], 0x00ffff);
	assert_int_equal(px[0], 0);   /* cleared at enable */
	free(px);
	vbe_mode(&f->fm, 320, 200, 24, LFB);
	{
		uint8_t pix[3] = { 0x11, 0x22, 0x33 };

		fake_guest_mem_write(&f->fm, lfb + 320 * 3 * 2 + 5 * 3, pix, 3);
	}
	px = render_full(f, &info);
	assert_int_equal(px[2 * 320 + 5], 0x332211);
	free(px);
	free(row);
}

static void test_vbe_dirty_rects(void **state)
{
	struct fixture *f = *state;
	struct display_info info;
	struct display_rect r[8];
	unsigned int n = 99;
	uint32_t *px;
	uint32_t v = 0x00abcdef;
	uint64_t lfb = enable_lfb(f);

	vbe_mode(&f->fm, 1024, 768, 32, LFB);   /* one 4 KiB page per line */
	f->ops->get_info(f->opaque, &info);
	px = calloc(1024 * 768, 4);
	/* First incremental render after a mode change: everything. */
	assert_int_equal(f->ops->render(f->opaque, px, 4096, 1024, 768, r, 8, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].x, 0);
	assert_int_equal(r[0].y, 0);
	assert_int_equal(r[0].w, 1024);
	assert_int_equal(r[0].h, 768);
	/* Nothing written: nothing reported. */
	assert_int_equal(f->ops->render(f->opaque, px, 4096, 1024, 768, r, 8, &n), 0);
	assert_int_equal(n, 0);
	/* Exactly the written pages: lines 5 and 9 (and 10-11, one run). */
	fake_guest_mem_write(&f->fm, lfb + 5 * 4096 + 8, &v, 4);
	fake_guest_mem_write(&f->fm, lfb + 9 * 4096 + 4092, &v, 4);
	fake_guest_mem_write(&f->fm, lfb + 10 * 4096 + 4092, &v, 4);
	fake_guest_mem_write(&f->fm, lfb + 11 * 4096, &v, 4);
	assert_int_equal(f->ops->render(f->opaque, px, 4096, 1024, 768, r, 8, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(r[0].y, 5);
	assert_int_equal(r[0].h, 1);
	assert_int_equal(r[1].y, 9);
	assert_int_equal(r[1].h, 3);
	assert_int_equal(px[5 * 1024 + 2], 0xabcdef);
	assert_int_equal(px[11 * 1024], 0xabcdef);
	/* A screenshot (dirty NULL) leaves the tracking alone. */
	fake_guest_mem_write(&f->fm, lfb + 100 * 4096, &v, 4);
	assert_int_equal(f->ops->render(f->opaque, px, 4096, 1024, 768, NULL, 0, NULL), 0);
	/* Over the limit: merged into the last rectangle. */
	fake_guest_mem_write(&f->fm, lfb + 200 * 4096, &v, 4);
	fake_guest_mem_write(&f->fm, lfb + 300 * 4096, &v, 4);
	assert_int_equal(f->ops->render(f->opaque, px, 4096, 1024, 768, r, 2, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(r[0].y, 100);
	assert_int_equal(r[0].h, 1);
	assert_int_equal(r[1].y, 200);
	assert_int_equal(r[1].h, 101);
	/* Writes through the bank window are the device's own: tracked too. */
	dispi(&f->fm, BANK, 1);                 /* bytes 64 KiB.. = line 16 */
	fake_mmio_write(&f->fm, WINDOW + 4, 0x123456, 4);
	assert_int_equal(f->ops->render(f->opaque, px, 4096, 1024, 768, r, 8, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].y, 16);
	assert_int_equal(r[0].h, 1);
	assert_int_equal(px[16 * 1024 + 1], 0x123456);
	/* A palette change redraws everything. */
	dac_set(&f->fm, 1, 1, 2, 3);
	assert_int_equal(f->ops->render(f->opaque, px, 4096, 1024, 768, r, 8, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].h, 768);
	free(px);
}

static void test_text_dirty_rows(void **state)
{
	struct fixture *f = *state;
	struct display_rect r[8];
	unsigned int n;
	uint32_t *px = calloc(720 * 400, 4);

	load_font(&f->fm);
	text_mode(&f->fm);
	assert_int_equal(f->ops->render(f->opaque, px, 720 * 4, 720, 400, r, 8, &n), 0);
	assert_int_equal(n, 1);
	/* Cell (20, 3) is character 1603, plane offset 3206: VRAM page 3, whose
	 * plane offsets 3072-4095 hold cells 1536-2047, rows 19-24 (the page
	 * is the unit tracked). */
	put_cell(&f->fm, 20, 3, 'q', 0x07);
	assert_int_equal(f->ops->render(f->opaque, px, 720 * 4, 720, 400, r, 8, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].y, 19 * CELL_H);
	assert_int_equal(r[0].h, 6 * CELL_H);
	assert_int_equal(r[0].w, 720);
	check_cell(px, 20, 3, 'q', 0x07, false);
	/* Row 0 alone (page 0): */
	put_cell(&f->fm, 0, 0, 'w', 0x07);
	assert_int_equal(f->ops->render(f->opaque, px, 720 * 4, 720, 400, r, 8, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].y, 0);
	assert_int_equal(r[0].h, 7 * CELL_H);   /* cells 0-511: rows 0-6 */
	/* The cursor moved from (0, 0) to row 2, then to row 10: its old and new
	 * rows only.  (Cells that show it first, drawn by a render of their own.) */
	put_cell(&f->fm, 2, 5, ' ', 0x07);
	put_cell(&f->fm, 10, 0, ' ', 0x07);
	assert_int_equal(f->ops->render(f->opaque, px, 720 * 4, 720, 400, r, 8, &n), 0);
	crtc(&f->fm, 0x0e, 0);
	crtc(&f->fm, 0x0f, 2 * COLS + 5);
	assert_int_equal(f->ops->render(f->opaque, px, 720 * 4, 720, 400, r, 8, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(r[0].y, 0);
	assert_int_equal(r[0].h, CELL_H);
	assert_int_equal(r[1].y, 2 * CELL_H);
	assert_int_equal(r[1].h, CELL_H);
	check_cell(px, 0, 0, 'w', 0x07, false);   /* the old cursor is gone */
	check_cell(px, 2, 5, ' ', 0x07, true);
	crtc(&f->fm, 0x0e, (10 * COLS) >> 8);
	crtc(&f->fm, 0x0f, (10 * COLS) & 0xff);
	assert_int_equal(f->ops->render(f->opaque, px, 720 * 4, 720, 400, r, 8, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(r[0].y, 2 * CELL_H);
	assert_int_equal(r[1].y, 10 * CELL_H);
	assert_int_equal(r[1].h, CELL_H);
	check_cell(px, 2, 5, ' ', 0x07, false);
	check_cell(px, 10, 0, ' ', 0x07, true);
	/* A glyph changed in plane 2 (odd/even: even addresses reach plane 2
	 * when the map mask lets them; no register that shows changes): every
	 * cell may show it. */
	seq(&f->fm, 2, 0x04);
	fake_mmio_write(&f->fm, TEXTBUF + 'q' * 32, 0xff, 1);
	seq(&f->fm, 2, 0x03);
	assert_int_equal(f->ops->render(f->opaque, px, 720 * 4, 720, 400, r, 8, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].h, 400);
	assert_int_equal(px[20 * CELL_H * 720 + 3 * 9], test_dac_rgb(7));   /* 'q' line 0 lit */
	/* The same through BAR0 (the region's dirty log). */
	{
		uint64_t lfb = enable_lfb(f);
		uint8_t b = 0x00;

		assert_int_equal(f->ops->render(f->opaque, px, 720 * 4, 720, 400, r, 8, &n), 0);
		fake_guest_mem_write(&f->fm, lfb + ('q' * 32) * 4 + 2, &b, 1);
		assert_int_equal(f->ops->render(f->opaque, px, 720 * 4, 720, 400, r, 8, &n), 0);
		assert_int_equal(n, 1);
		assert_int_equal(r[0].h, 400);
		assert_int_equal(px[20 * CELL_H * 720 + 3 * 9], test_dac_rgb(0));
	}
	free(px);
}

static void test_vbe_beyond_vram_refused(void **state)
{
	struct fixture *f = *state;
	struct fake_machine *fm = &f->fm;
	struct display_info info;

	/* GETCAPS: the largest mode. */
	dispi(fm, ENABLE, GETCAPS);
	assert_int_equal(dispi_rd(fm, XRES), 2560);
	assert_int_equal(dispi_rd(fm, YRES), 1600);
	assert_int_equal(dispi_rd(fm, BPP), 32);
	/* 2560x1600x32 needs 16000 KiB: more than 4 MiB. The enable fails. */
	vbe_mode(fm, 2560, 1600, 32, LFB);
	assert_int_equal(dispi_rd(fm, ENABLE) & ENABLED, 0);
	f->ops->get_info(f->opaque, &info);
	assert_int_not_equal(info.kind, DISPLAY_GRAPHICS);
	/* Out-of-range values keep the old ones. */
	dispi(fm, XRES, 4000);
	assert_int_equal(dispi_rd(fm, XRES), 2560);
	dispi(fm, BPP, 12);
	assert_int_equal(dispi_rd(fm, BPP), 32);
	dispi(fm, BPP, 7);
	assert_int_equal(dispi_rd(fm, BPP), 32);
	/* While enabled, a change that would not fit is refused. */
	vbe_mode(fm, 1024, 768, 32, LFB);
	assert_int_equal(dispi_rd(fm, ENABLE) & ENABLED, ENABLED);
	dispi(fm, YRES, 1600);
	assert_int_equal(dispi_rd(fm, YRES), 768);
	dispi(fm, Y_OFFSET, 300);               /* 300 + 768 lines of 4 KiB > 4 MiB */
	assert_int_equal(dispi_rd(fm, Y_OFFSET), 0);
	dispi(fm, Y_OFFSET, 200);               /* fits: panning */
	assert_int_equal(dispi_rd(fm, Y_OFFSET), 200);
	dispi(fm, VIRT_WIDTH, 4096);            /* 16 KiB lines x 768 > 4 MiB */
	assert_int_equal(dispi_rd(fm, VIRT_WIDTH), 1024);
	f->ops->get_info(f->opaque, &info);
	assert_int_equal(info.width, 1024);
	assert_int_equal(info.height, 768);
	/* The data register answers at 0x1D0 too (as QEMU's). */
	fake_pio_write(fm, DISPI_INDEX, XRES, 2);
	assert_int_equal(fake_pio_read(fm, 0x1d0, 2), 1024);
	fake_pio_write(fm, DISPI_INDEX, Y_OFFSET, 2);
	fake_pio_write(fm, 0x1d0, 100, 2);
	assert_int_equal(dispi_rd(fm, Y_OFFSET), 100);
	/* 4 bpp is planar and must fit the 256 KiB of planes: 800x600 does,
	 * 1280x1024 (640 KiB) does not. */
	vbe_mode(fm, 800, 600, 4, 0);
	assert_int_equal(dispi_rd(fm, ENABLE) & ENABLED, ENABLED);
	f->ops->get_info(f->opaque, &info);
	assert_int_equal(info.width, 800);
	assert_int_equal(info.bpp, 4);
	vbe_mode(fm, 1280, 1024, 4, 0);
	assert_int_equal(dispi_rd(fm, ENABLE) & ENABLED, 0);
	/* A fitting large mode: 1280x800x32 in 4 MiB. */
	vbe_mode(fm, 1280, 800, 32, LFB);
	assert_int_equal(dispi_rd(fm, ENABLE) & ENABLED, ENABLED);
}

static void test_vbe_bank_switching(void **state)
{
	struct fixture *f = *state;
	struct fake_machine *fm = &f->fm;
	struct host_memregion *r;
	uint64_t lfb = enable_lfb(f);

	r = fake_memregion_at(fm, lfb);
	vbe_mode(fm, 640, 480, 8, 0);           /* no LFB: the banked window */
	fake_mmio_write(fm, WINDOW + 3, 0x77, 1);
	assert_int_equal(r->hva[3], 0x77);
	dispi(fm, BANK, 2);
	assert_int_equal(dispi_rd(fm, BANK), 2);
	fake_mmio_write(fm, WINDOW + 5, 0xa5a5, 2);
	assert_int_equal(r->hva[2 * 0x10000 + 5], 0xa5);
	assert_int_equal(r->hva[2 * 0x10000 + 6], 0xa5);
	assert_int_equal(fake_mmio_read(fm, WINDOW + 5, 1), 0xa5);
	/* Only 64 KiB at A0000 in a VBE mode. */
	assert_int_equal(fake_mmio_read(fm, WINDOW + 0x10000, 1), 0xff);
	/* A bank past the VRAM is refused. */
	dispi(fm, BANK, VRAM >> 16);
	assert_int_equal(dispi_rd(fm, BANK), 2);
	dispi(fm, BANK, (VRAM >> 16) - 1);
	fake_mmio_write(fm, WINDOW + 0xffff, 0x3c, 1);
	assert_int_equal(r->hva[VRAM - 1], 0x3c);
}

/* ---- BAR2 ---- */

static void test_bar2_mmio(void **state)
{
	struct fixture *f = *state;
	struct fake_machine *fm = &f->fm;
	uint64_t bar2;

	fake_pci_cfg_write(fm, DEVFN, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	bar2 = fake_pci_cfg_read(fm, DEVFN, PCI_BAR0 + 8, 4) & ~0xfu;
	/* DISPI at 0x500 + 2 * index. */
	assert_int_equal(fake_mmio_read(fm, bar2 + 0x500, 2), 0xb0c5);
	fake_mmio_write(fm, bar2 + 0x500 + 2 * XRES, 800, 2);
	assert_int_equal(dispi_rd(fm, XRES), 800);
	assert_int_equal(fake_mmio_read(fm, bar2 + 0x500 + 2 * MEM64K, 2), VRAM >> 16);
	/* The VGA ports at 0x400 + port - 0x3C0 (bochs's word writes to index/data). */
	fake_mmio_write(fm, bar2 + 0x400 + (0x3c8 - 0x3c0), 9, 1);
	fake_mmio_write(fm, bar2 + 0x400 + (0x3c9 - 0x3c0), 0x21, 1);
	assert_int_equal(fake_inb(fm, 0x3c8), 9);
	fake_mmio_write(fm, bar2 + 0x400 + (0x3c4 - 0x3c0), 0x0f02, 2);
	assert_int_equal(fake_mmio_read(fm, bar2 + 0x400 + (0x3c5 - 0x3c0), 1), 0x0f);
	/* qext: its size and the byte order. */
	assert_int_equal(fake_mmio_read(fm, bar2 + 0x600, 4), 8);
	assert_int_equal(fake_mmio_read(fm, bar2 + 0x604, 4), 0x1e1e1e1e);
	/* Odd offsets and the EDID area read harmlessly. */
	(void)fake_mmio_read(fm, bar2 + 0x501, 1);
	assert_int_equal(fake_mmio_read(fm, bar2 + 0x10, 4), 0);
	fake_mmio_write(fm, bar2 + 0xfff, 0xff, 1);
}

/* ---- reset, save/load, hostile values ---- */

static void test_reset_with_mode_set(void **state)
{
	struct fixture *f = *state;
	struct fake_machine *fm = &f->fm;
	struct display_info info, before;
	uint64_t lfb = enable_lfb(f);
	uint32_t v = 0x11223344;

	vbe_mode(fm, 800, 600, 32, LFB);
	fake_guest_mem_write(fm, lfb + 64, &v, 4);
	f->ops->get_info(f->opaque, &before);
	/* In flight: half a DAC entry and the attribute flip-flop at "data". */
	fake_outb(fm, 0x3c8, 40);
	fake_outb(fm, 0x3c9, 0x11);
	fake_outb(fm, 0x3c0, 0x05);
	device_reset(f->dev);
	f->ops->get_info(f->opaque, &info);
	assert_int_equal(info.kind, DISPLAY_BLANK);
	assert_true(info.generation != before.generation);
	assert_int_equal(dispi_rd(fm, ENABLE), 0);
	assert_int_equal(dispi_rd(fm, ID), 0xb0c5);
	assert_null(fake_memregion_at(fm, lfb));          /* decoding off again */
	assert_int_equal(fake_pci_cfg_read(fm, DEVFN, PCI_COMMAND, 2), 0);
	/* The DAC starts a fresh triple; the flip-flop expects an index. */
	fake_outb(fm, 0x3c8, 41);
	fake_outb(fm, 0x3c9, 1);
	fake_outb(fm, 0x3c9, 2);
	fake_outb(fm, 0x3c9, 3);
	fake_outb(fm, 0x3c7, 41);
	assert_int_equal(fake_inb(fm, 0x3c9), 1);
	fake_outb(fm, 0x3c0, 0x06);
	fake_outb(fm, 0x3c0, 0x15);
	fake_outb(fm, 0x3c0, 0x06);
	assert_int_equal(fake_inb(fm, 0x3c1), 0x15);
	/* The mode can be set again after the reset. */
	lfb = enable_lfb(f);
	vbe_mode(fm, 640, 480, 32, LFB | NOCLEARMEM);
	f->ops->get_info(f->opaque, &info);
	assert_int_equal(info.width, 640);
	assert_int_equal(fake_memregion_at(fm, lfb)->hva[64], 0x44);  /* VRAM kept */
}

static void test_save_load(void **state)
{
	struct fixture *f = *state;
	struct fake_machine fm2;
	struct device *copy;
	struct display_info info;
	uint32_t *a, *b;
	const struct display_ops *ops;

	load_font(&f->fm);
	text_mode(&f->fm);
	put_cell(&f->fm, 1, 1, 'S', 0x4e);
	a = render_full(f, &info);
	{
		struct device_args args = { .out_fd = -1, .in_fd = -1, .pci_slot = SLOT,
					    .vram_size = VRAM };
		struct sv_writer w;

		assert_int_equal(fake_machine_init(&fm2, 0), 0);
		copy = fake_device_create(&fm2, &vga_model, &args);
		assert_non_null(copy);
		assert_int_equal(fake_save(f->dev, &w), 0);
		assert_int_equal(fake_load(copy, &w), 0);
		sv_writer_free(&w);
		/* A different VRAM size does not load. */
		args.vram_size = VRAM * 2;
		{
			struct fake_machine fm3;
			struct device *other;

			assert_int_equal(fake_machine_init(&fm3, 0), 0);
			other = fake_device_create(&fm3, &vga_model, &args);
			assert_non_null(other);
			assert_int_equal(fake_save(f->dev, &w), 0);
			assert_int_not_equal(fake_load(other, &w), 0);
			sv_writer_free(&w);
			device_destroy(other);
			fake_machine_destroy(&fm3);
		}
	}
	ops = fm2.display_ops;
	assert_non_null(ops);
	b = calloc(720 * 400, 4);
	assert_int_equal(ops->render(fm2.display_opaque, b, 720 * 4, 720, 400, NULL, 0, NULL), 0);
	assert_memory_equal(a, b, 720 * 400 * 4);
	free(a);
	free(b);
	device_destroy(copy);
	fake_machine_destroy(&fm2);
}

static void test_hostile_registers_render(void **state)
{
	struct fixture *f = *state;
	struct fake_machine *fm = &f->fm;
	struct display_rect r[4];
	unsigned int n;
	uint32_t seed = 1;

	fake_outb(fm, 0x3c2, 0x01);
	for (unsigned int round = 0; round < 200; round++) {
		struct display_info info;
		uint32_t *px;
		struct display_text *t = malloc(sizeof(*t));

		for (unsigned int i = 0; i < 40; i++) {
			seed = seed * 1103515245u + 12345u;
			switch ((seed >> 16) % 5) {
			case 0:
				crtc(fm, (uint8_t)(seed >> 8), (uint8_t)(seed >> 24));
				break;
			case 1:
				gr(fm, (uint8_t)(seed >> 8), (uint8_t)(seed >> 24));
				break;
			case 2:
				seq(fm, (uint8_t)(seed >> 8), (uint8_t)(seed >> 24));
				break;
			case 3:
				attr(fm, (uint8_t)(seed >> 8), (uint8_t)(seed >> 24));
				break;
			default:
				dispi(fm, (uint16_t)((seed >> 8) % 12), (uint16_t)(seed >> 12));
				break;
			}
			fake_mmio_write(fm, WINDOW + ((seed >> 3) & 0x1ffff), seed, 4);
		}
		display_on(fm);
		f->ops->get_info(f->opaque, &info);
		assert_true(info.width <= DISPLAY_MAX_WIDTH && info.height <= DISPLAY_MAX_HEIGHT);
		px = malloc((size_t)info.width * info.height * 4 + 4);
		assert_int_equal(f->ops->render(f->opaque, px, info.width * 4, info.width,
						info.height, r, 4, &n), 0);
		assert_int_equal(f->ops->render(f->opaque, px, info.width * 4, info.width,
						info.height, NULL, 0, NULL), 0);
		(void)f->ops->read_text(f->opaque, t);
		free(px);
		free(t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pci_identity_and_publish, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attribute_flipflop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dac_indices, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crtc_protect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_input_status_toggles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_mode0, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_modes_1_2_3, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain4_and_odd_even, setup, teardown),
		cmocka_unit_test_setup_teardown(test_text_render, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mode13h, setup, teardown),
		cmocka_unit_test_setup_teardown(test_planar_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vbe_planar_4bpp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vbe_lfb_render, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vbe_dirty_rects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_text_dirty_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vbe_beyond_vram_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vbe_bank_switching, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar2_mmio, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_with_mode_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_registers_render, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
