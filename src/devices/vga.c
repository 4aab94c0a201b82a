// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The display adapter: a PCI VGA with the Bochs VBE extensions, as QEMU's
 * "-vga std" presents it (1234:1111, class 0x030000), so SeaBIOS's
 * vgabios-stdvga.bin and Linux's bochs DRM driver bind to it.
 *
 * Facts used (IBM VGA Technical Reference; FreeVGA's register pages; the
 * Bochs VBE "DISPI" interface as bochs, QEMU's hw/display/vga.c and
 * vga-pci.c and Linux's drivers/gpu/drm/tiny/bochs.c use it):
 *  - legacy I/O ports 0x3B0-0x3DF: misc output (0x3C2 write, 0x3CC read;
 *    bit 0 moves the CRTC and input status 1 between 0x3Bx and 0x3Dx),
 *    sequencer (0x3C4/5), graphics controller (0x3CE/F), attribute
 *    controller (0x3C0/1, index and data on one port, the flip-flop reset
 *    by reading input status 1), CRTC (index/data, registers 0-7 write
 *    protected by CR11 bit 7 except CR07 bit 4), DAC (0x3C6 mask, 0x3C7
 *    read index / state, 0x3C8 write index, 0x3C9 data: three 6-bit
 *    components per entry, the index advancing after the third);
 *  - the 0xA0000-0xBFFFF window decoded per GR06's memory map select,
 *    reaching four 64 KiB planes through the graphics controller (write
 *    modes 0-3, read modes 0-1, latches, set/reset, rotate, logical op,
 *    bit mask, the sequencer's map mask, chain-4 and odd/even);
 *  - DISPI: index at 0x1CE, data at 0x1CF (and 0x1D0, as QEMU accepts),
 *    16 bits each; IDs 0xB0C0-0xB0C5; the enable register's ENABLED,
 *    GETCAPS, 8BIT_DAC, LFB_ENABLED and NOCLEARMEM bits; a 64 KiB bank
 *    window at 0xA0000 while the mode is enabled;
 *  - BAR0: the VRAM (prefetchable 32-bit memory), RAM-backed (host_mem.h)
 *    with dirty logging, so the guest draws without exits;
 *  - BAR2: 4 KiB of MMIO laid out as QEMU's stdvga: the VGA ports
 *    0x3C0-0x3DF mirrored at 0x400, the DISPI registers at 0x500 + 2 *
 *    index, the "qext" block at 0x600 (its size, then the framebuffer
 *    byte order).
 *
 * VRAM layout (as QEMU's, which keeps chain-4 simple): byte p of the 32-bit
 * word at 4 * o is plane p's byte at offset o, so chain-4's byte address a
 * is plainly vram[a], and the latches are one word.  The planes are the
 * first 256 KiB; VBE modes use the VRAM linearly from 0.
 *
 * Odd/even addressing: CPU address a reaches plane offset a & ~1 (planes 0
 * and 2 for even a, 1 and 3 for odd), and the CRTC in text mode fetches
 * character k at plane offset 2k, as on the real chip's word mode.
 *
 * Modes that do not fit the VRAM: as bochs does, a DISPI register write
 * that would put an enabled mode past the VRAM is refused (the register
 * keeps its old value), and enabling a mode that does not fit fails (the
 * ENABLED bit stays clear).  Rendering checks again, so nothing is ever
 * read outside the VRAM whatever the registers say.
 *
 * Rendering (the display interface, display.h) runs on the frontend's
 * thread under the device lock; a vCPU's write only marks its VRAM page
 * dirty (own_dirty) or, for a register that changes the picture, asks for
 * a full redraw.  Guest writes through BAR0 are found in the region's
 * dirty log.
 */
#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "devices.h"
#include "display.h"
#include "pci.h"

#define VGA_VENDOR_ID     0x1234
#define VGA_DEVICE_ID     0x1111
#define VGA_CLASS_CODE    0x030000
#define VGA_REVISION      1        /* 2 would promise an EDID block at BAR2 0 */
#define VGA_SAVE_VERSION  1

#define VGA_PORT_BASE     0x3b0
#define VGA_PORT_LEN      0x30
#define VBE_PORT_BASE     0x1ce
#define VBE_PORT_LEN      4        /* index, data, data again at 0x1D0 (16 bits wide) */
#define VGA_WINDOW_BASE   0xa0000
#define VGA_WINDOW_LEN    0x20000

#define VGA_VRAM_DEFAULT  (16ull << 20)
#define VGA_VRAM_MIN      (1ull << 20)
#define VGA_VRAM_MAX      (256ull << 20)

#define PLANE_SIZE        0x10000u
#define PLANE_MASK        (PLANE_SIZE - 1)
#define PLANES_BYTES      (4 * PLANE_SIZE)
#define PAGE              HOST_MEM_PAGE_SIZE

/* BAR2 (QEMU's stdvga MMIO layout) */
#define BAR2_SIZE         0x1000
#define BAR2_VGA_PORTS    0x400    /* + port - 0x3C0 */
#define BAR2_VGA_LEN      0x20
#define BAR2_DISPI        0x500    /* + 2 * index */
#define BAR2_QEXT         0x600
#define QEXT_SIZE         8        /* size, byte order */
#define QEXT_BYTEORDER    0x604
#define QEXT_BIG_ENDIAN   0xbebebebe
#define QEXT_LITTLE_ENDIAN 0x1e1e1e1e

/* Register counts */
#define SEQ_REGS 8
#define GR_REGS  16
#define AR_REGS  0x15
#define CR_REGS  0x19

/* DISPI registers and bits */
enum {
	VBE_ID, VBE_XRES, VBE_YRES, VBE_BPP, VBE_ENABLE, VBE_BANK, VBE_VIRT_WIDTH,
	VBE_VIRT_HEIGHT, VBE_X_OFFSET, VBE_Y_OFFSET, VBE_VIDEO_MEMORY_64K, VBE_REGS
};
#define VBE_ID0           0xb0c0
#define VBE_ID5           0xb0c5
#define VBE_ENABLED       0x01
#define VBE_GETCAPS       0x02
#define VBE_8BIT_DAC      0x20
#define VBE_LFB_ENABLED   0x40
#define VBE_NOCLEARMEM    0x80
#define VBE_ENABLE_MASK   (VBE_ENABLED | VBE_GETCAPS | VBE_8BIT_DAC | VBE_LFB_ENABLED | \
			   VBE_NOCLEARMEM)
#define VBE_MAX_XRES      DISPLAY_MAX_WIDTH
#define VBE_MAX_YRES      DISPLAY_MAX_HEIGHT
#define VBE_MAX_BPP       32

/* Bits of the VGA registers used below */
#define MISC_COLOR_IO     0x01     /* CRTC at 0x3Dx (else 0x3Bx) */
#define SEQ_CLOCK_MODE    1
#define  SR01_8DOT            0x01
#define SEQ_MAP_MASK      2
#define SEQ_CHARMAP       3
#define SEQ_MEMORY_MODE   4
#define  SR04_ODD_EVEN_OFF    0x04
#define  SR04_CHAIN4          0x08
#define GR_SET_RESET      0
#define GR_ENABLE_SR      1
#define GR_COLOR_COMPARE  2
#define GR_DATA_ROTATE    3
#define GR_READ_MAP       4
#define GR_MODE           5
#define  GR05_READ_MODE1      0x08
#define  GR05_ODD_EVEN        0x10
#define  GR05_256_COLOR       0x40
#define GR_MISC           6
#define  GR06_GRAPHICS        0x01
#define GR_COLOR_DONT_CARE 7
#define GR_BIT_MASK       8
#define AR_INDEX_PAS      0x20     /* palette address source: display on */
#define AR_MODE           0x10
#define  AR10_LINE_GRAPHICS   0x04
#define  AR10_BLINK           0x08
#define  AR10_P54S            0x80
#define AR_PLANE_ENABLE   0x12
#define AR_COLOR_SELECT   0x14
#define CR_HDISP_END      0x01
#define CR_OVERFLOW       0x07
#define CR_MAX_SCAN       0x09
#define  CR09_DOUBLE_SCAN     0x80
#define CR_CURSOR_START   0x0a
#define  CR0A_CURSOR_OFF      0x20
#define CR_CURSOR_END     0x0b
#define CR_START_HI       0x0c
#define CR_START_LO       0x0d
#define CR_CURSOR_HI      0x0e
#define CR_CURSOR_LO      0x0f
#define CR_VRETRACE_END   0x11
#define  CR11_PROTECT         0x80
#define CR_VDISP_END      0x12
#define CR_OFFSET         0x13
#define ST1_TOGGLE        0x09     /* display enable and vertical retrace */

/* Writable bits per register (reserved bits read as zero). */
static const uint8_t seq_wmask[SEQ_REGS] = { 0x03, 0x3d, 0x0f, 0x3f, 0x0e, 0, 0, 0 };
static const uint8_t gr_wmask[GR_REGS] = { 0x0f, 0x0f, 0x0f, 0x1f, 0x03, 0x7b, 0x0f, 0x0f,
					   0xff };
static const uint8_t ar_wmask[AR_REGS] = {
	0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f,
	0x3f, 0x3f, 0xef, 0xff, 0x3f, 0x0f, 0x0f,
};

enum vga_kind { MODE_BLANK, MODE_TEXT, MODE_PLANAR, MODE_256, MODE_VBE };

/* What the registers say is on screen now. */
struct vga_mode {
	enum vga_kind kind;
	unsigned int width, height, bpp;
	unsigned int cols, rows, cell_w, cell_h;   /* text */
	uint64_t start;    /* text/planar/256: CRTC start (plane offset); VBE: byte */
	uint64_t stride;   /* text: cells; planar/256: plane offsets; VBE: bytes */
	unsigned int bytespp;                       /* VBE */
};

struct vga {
	struct device *dev;
	struct pci_function pci;
	struct host_memregion *vram;
	uint8_t *mem;              /* vram->hva */
	uint64_t vram_size;        /* bytes, a multiple of 64 KiB */

	uint8_t misc, feature;
	uint8_t seq_index, seq[SEQ_REGS];
	uint8_t gr_index, gr[GR_REGS];
	uint8_t ar_index, ar[AR_REGS];
	bool ar_flip;              /* false: the next 0x3C0 write is an index */
	uint8_t cr_index, cr[CR_REGS];
	uint8_t pel_mask, dac_read, dac_write, dac_sub, dac_state;
	uint8_t dac_cache[3];
	uint8_t palette[256 * 3];
	uint8_t st1;
	uint32_t latch;            /* byte p = plane p */
	uint16_t vbe_index, vbe[VBE_REGS];
	uint32_t qext_byteorder;

	/* Change tracking for render(); the vCPU side only sets these. */
	uint64_t *own_dirty;       /* VRAM pages written through the window */
	uint64_t *scratch;         /* render()'s merged bitmap */
	size_t dirty_words;
	bool full_dirty;           /* a register that changes the picture changed */
	bool font_dirty;           /* plane 2 written through the window */
	bool cursor_dirty;         /* the text cursor's shape or place changed */
	int cursor_row_drawn;      /* text row the cursor was last drawn on, -1 none */
	struct display_info shown; /* the mode last reported */
	uint64_t rendered_generation;
	bool rendered_once;
	bool published;            /* our display is the one frontends see */
};

static struct vga *vga_of(struct device *dev)
{
	return dev->priv;
}

/* ---- helpers ---- */

static uint32_t bytes4(uint8_t v)
{
	return v * 0x01010101u;
}

/* Bit p of @bits4 set -> byte p all ones. */
static uint32_t expand_planes(uint8_t bits4)
{
	uint32_t v = 0;

	for (unsigned int p = 0; p < 4; p++)
		if (bits4 & (1u << p))
			v |= 0xffu << (8 * p);
	return v;
}

static uint8_t rotate_right(uint8_t v, unsigned int n)
{
	n &= 7;
	return (uint8_t)((v >> n) | (v << ((8 - n) & 7)));
}

static void mark_page(struct vga *s, uint64_t byte)
{
	uint64_t p = byte / PAGE;

	if (byte < s->vram_size)
		s->own_dirty[p / 64] |= 1ull << (p % 64);
}

static uint32_t load_latch(const struct vga *s, uint32_t off)
{
	const uint8_t *m = s->mem + (size_t)(off & PLANE_MASK) * 4;

	return m[0] | (uint32_t)m[1] << 8 | (uint32_t)m[2] << 16 | (uint32_t)m[3] << 24;
}

/* ---- the DISPI (VBE) layout ---- */

static unsigned int vbe_bytespp(unsigned int bpp)
{
	return (bpp + 7) / 8;
}

static bool vbe_bpp_valid(unsigned int bpp)
{
	return bpp == 4 || bpp == 8 || bpp == 15 || bpp == 16 || bpp == 24 || bpp == 32;
}

/*
 * Does the mode @r describes fit the VRAM?  Fills the first visible byte
 * and the line length, in VRAM bytes.  Every product is in 64 bits:
 * 16-bit registers cannot overflow it.  4 bpp is planar (SeaBIOS's VBE
 * 16-colour modes): a line of w pixels is w / 8 bytes in each plane, w / 2
 * bytes of the interleaved VRAM, and it all must lie in the planes.
 */
static bool vbe_fits(const struct vga *s, const uint16_t *r, uint64_t *start, uint64_t *line)
{
	unsigned int bpp = r[VBE_BPP];
	uint64_t w, l, st, limit = s->vram_size;

	if (!vbe_bpp_valid(bpp) || !r[VBE_XRES] || !r[VBE_YRES] || r[VBE_XRES] > VBE_MAX_XRES ||
	    r[VBE_YRES] > VBE_MAX_YRES)
		return false;
	w = r[VBE_VIRT_WIDTH] > r[VBE_XRES] ? r[VBE_VIRT_WIDTH] : r[VBE_XRES];
	if (bpp == 4) {
		if (r[VBE_XRES] % 8 || w % 8 || r[VBE_X_OFFSET] % 8)
			return false;
		l = w / 2;
		st = (uint64_t)r[VBE_Y_OFFSET] * l + r[VBE_X_OFFSET] / 2;
		if (limit > PLANES_BYTES)
			limit = PLANES_BYTES;
		if (st + (uint64_t)(r[VBE_YRES] - 1) * l + r[VBE_XRES] / 2 > limit)
			return false;
	} else {
		unsigned int b = vbe_bytespp(bpp);

		l = w * b;
		st = (uint64_t)r[VBE_Y_OFFSET] * l + (uint64_t)r[VBE_X_OFFSET] * b;
		if (st + (uint64_t)(r[VBE_YRES] - 1) * l + (uint64_t)r[VBE_XRES] * b > limit)
			return false;
	}
	if (start)
		*start = st;
	if (line)
		*line = l;
	return true;
}

static bool vbe_enabled(const struct vga *s)
{
	return s->vbe[VBE_ENABLE] & VBE_ENABLED;
}

static void vbe_refused(struct vga *s, unsigned int idx, unsigned int val)
{
	device_log(s->dev, "VBE register %u = %u refused: the mode would not fit %llu KiB of VRAM or is invalid",
		   idx, val, (unsigned long long)(s->vram_size >> 10));
}

static uint16_t vbe_read(struct vga *s, unsigned int idx)
{
	bool caps = s->vbe[VBE_ENABLE] & VBE_GETCAPS;

	switch (idx) {
	case VBE_XRES:
		return caps ? VBE_MAX_XRES : s->vbe[idx];
	case VBE_YRES:
		return caps ? VBE_MAX_YRES : s->vbe[idx];
	case VBE_BPP:
		return caps ? VBE_MAX_BPP : s->vbe[idx];
	case VBE_VIDEO_MEMORY_64K:
		return (uint16_t)(s->vram_size >> 16);
	default:
		return idx < VBE_REGS ? s->vbe[idx] : 0;
	}
}

static void vbe_enable(struct vga *s, uint16_t val)
{
	uint16_t r[VBE_REGS];
	uint64_t line;

	val &= VBE_ENABLE_MASK;
	if (!(val & VBE_ENABLED) || vbe_enabled(s)) {
		s->vbe[VBE_ENABLE] = val;
		s->full_dirty = true;
		return;
	}
	/* A fresh enable starts with the virtual screen the size of the mode
	 * and no panning (bochs, QEMU). */
	memcpy(r, s->vbe, sizeof(r));
	if (!r[VBE_BPP])
		r[VBE_BPP] = 8;
	r[VBE_VIRT_WIDTH] = r[VBE_XRES];
	r[VBE_VIRT_HEIGHT] = r[VBE_YRES];
	r[VBE_X_OFFSET] = r[VBE_Y_OFFSET] = 0;
	if (!vbe_fits(s, r, NULL, &line)) {
		device_log(s->dev, "VBE mode %ux%ux%u refused: invalid or larger than %llu KiB of VRAM",
			   r[VBE_XRES], r[VBE_YRES], r[VBE_BPP],
			   (unsigned long long)(s->vram_size >> 10));
		s->vbe[VBE_ENABLE] = val & ~VBE_ENABLED;
		return;
	}
	memcpy(s->vbe, r, sizeof(r));
	s->vbe[VBE_ENABLE] = val;
	if (!(val & VBE_NOCLEARMEM))
		memset(s->mem, 0, (size_t)(line * r[VBE_YRES]));
	s->full_dirty = true;
}

static void vbe_write(struct vga *s, unsigned int idx, uint16_t val)
{
	uint16_t r[VBE_REGS];

	switch (idx) {
	case VBE_ID:
		if (val >= VBE_ID0 && val <= VBE_ID5)
			s->vbe[VBE_ID] = val;
		return;
	case VBE_ENABLE:
		vbe_enable(s, val);
		return;
	case VBE_BANK:
		if ((uint64_t)val << 16 >= s->vram_size) {
			vbe_refused(s, idx, val);
			return;
		}
		s->vbe[VBE_BANK] = val;
		return;
	case VBE_XRES:
	case VBE_YRES:
	case VBE_BPP:
	case VBE_VIRT_WIDTH:
	case VBE_VIRT_HEIGHT:
	case VBE_X_OFFSET:
	case VBE_Y_OFFSET:
		break;
	default:
		return;   /* VIDEO_MEMORY_64K and beyond: read-only or absent */
	}
	if (idx == VBE_BPP && !val)
		val = 8;  /* bochs: 0 means 8 */
	memcpy(r, s->vbe, sizeof(r));
	r[idx] = val;
	if ((idx == VBE_XRES && (!val || val > VBE_MAX_XRES)) ||
	    (idx == VBE_YRES && (!val || val > VBE_MAX_YRES)) ||
	    (idx == VBE_BPP && !vbe_bpp_valid(val)) ||
	    (vbe_enabled(s) && !vbe_fits(s, r, NULL, NULL))) {
		vbe_refused(s, idx, val);
		return;
	}
	memcpy(s->vbe, r, sizeof(r));
	if (vbe_enabled(s))
		s->full_dirty = true;
}

/* ---- the legacy registers ---- */

static uint8_t dac_component(const struct vga *s, unsigned int i)
{
	return s->palette[i];
}

static void dac_write_data(struct vga *s, uint8_t v)
{
	/* Six bits per component unless the VBE 8-bit DAC is on. */
	s->dac_cache[s->dac_sub++] = (s->vbe[VBE_ENABLE] & VBE_8BIT_DAC) ? v : (v & 0x3f);
	if (s->dac_sub == 3) {
		memcpy(&s->palette[s->dac_write * 3], s->dac_cache, 3);
		s->dac_write++;
		s->dac_sub = 0;
		s->full_dirty = true;
	}
}

static uint8_t dac_read_data(struct vga *s)
{
	uint8_t v = dac_component(s, s->dac_read * 3u + s->dac_sub);

	if (++s->dac_sub == 3) {
		s->dac_sub = 0;
		s->dac_read++;
	}
	return v;
}

/* The CRTC and input status 1 answer at 0x3Bx or 0x3Dx, as misc bit 0 says. */
static bool crtc_port_live(const struct vga *s, uint16_t port)
{
	bool color = s->misc & MISC_COLOR_IO;

	return (port >= 0x3d0) == color;
}

static void set_reg(struct vga *s, uint8_t *reg, uint8_t v)
{
	if (*reg != v)
		s->full_dirty = true;
	*reg = v;
}

static void vga_port_writeb(struct vga *s, uint16_t port, uint8_t v)
{
	unsigned int idx;

	switch (port) {
	case 0x3c0:
		if (!s->ar_flip) {
			if ((s->ar_index ^ v) & AR_INDEX_PAS)
				s->full_dirty = true;
			s->ar_index = v & 0x3f;
		} else {
			idx = s->ar_index & 0x1f;
			if (idx < AR_REGS)
				set_reg(s, &s->ar[idx], v & ar_wmask[idx]);
		}
		s->ar_flip = !s->ar_flip;
		break;
	case 0x3c2:
		set_reg(s, &s->misc, v);
		break;
	case 0x3c4:
		s->seq_index = v & (SEQ_REGS - 1);
		break;
	case 0x3c5:
		idx = s->seq_index;
		if (idx == SEQ_CLOCK_MODE || idx == SEQ_CHARMAP)
			set_reg(s, &s->seq[idx], v & seq_wmask[idx]);
		else
			s->seq[idx] = v & seq_wmask[idx];
		break;
	case 0x3c6:
		set_reg(s, &s->pel_mask, v);
		break;
	case 0x3c7:
		s->dac_read = v;
		s->dac_sub = 0;
		s->dac_state = 3;     /* reads 3: the DAC is in read mode */
		break;
	case 0x3c8:
		s->dac_write = v;
		s->dac_sub = 0;
		s->dac_state = 0;
		break;
	case 0x3c9:
		dac_write_data(s, v);
		break;
	case 0x3ce:
		s->gr_index = v & (GR_REGS - 1);
		break;
	case 0x3cf:
		idx = s->gr_index;
		if (idx == GR_MODE || idx == GR_MISC)
			set_reg(s, &s->gr[idx], v & gr_wmask[idx]);
		else
			s->gr[idx] = v & gr_wmask[idx];
		break;
	case 0x3b4:
	case 0x3d4:
		if (crtc_port_live(s, port))
			s->cr_index = v;
		break;
	case 0x3b5:
	case 0x3d5:
		idx = s->cr_index;
		if (!crtc_port_live(s, port) || idx >= CR_REGS)
			break;
		/* CR11 bit 7 protects CR00-CR07, except CR07's line compare bit 8. */
		if ((s->cr[CR_VRETRACE_END] & CR11_PROTECT) && idx <= CR_OVERFLOW) {
			if (idx == CR_OVERFLOW)
				set_reg(s, &s->cr[idx], (uint8_t)((s->cr[idx] & ~0x10) | (v & 0x10)));
			break;
		}
		/* The cursor moves with every character a console prints: it
		 * redraws its old and new rows only, not the screen. */
		if (idx == CR_CURSOR_START || idx == CR_CURSOR_END || idx == CR_CURSOR_HI ||
		    idx == CR_CURSOR_LO) {
			s->cursor_dirty |= s->cr[idx] != v;
			s->cr[idx] = v;
			break;
		}
		set_reg(s, &s->cr[idx], v);
		break;
	case 0x3ba:
	case 0x3da:
		if (crtc_port_live(s, port))
			s->feature = v;
		break;
	default:
		break;       /* 0x3C3 video subsystem enable, unused ports */
	}
}

static uint8_t vga_port_readb(struct vga *s, uint16_t port)
{
	unsigned int idx;

	switch (port) {
	case 0x3c0:
		return s->ar_index;
	case 0x3c1:
		idx = s->ar_index & 0x1f;
		return idx < AR_REGS ? s->ar[idx] : 0;
	case 0x3c2:
		return 0x10;     /* input status 0: switch sense (a colour monitor) */
	case 0x3c4:
		return s->seq_index;
	case 0x3c5:
		return s->seq[s->seq_index];
	case 0x3c6:
		return s->pel_mask;
	case 0x3c7:
		return s->dac_state;
	case 0x3c8:
		return s->dac_write;
	case 0x3c9:
		return dac_read_data(s);
	case 0x3ca:
		return s->feature;
	case 0x3cc:
		return s->misc;
	case 0x3ce:
		return s->gr_index;
	case 0x3cf:
		return s->gr[s->gr_index];
	case 0x3b4:
	case 0x3d4:
		return crtc_port_live(s, port) ? s->cr_index : 0xff;
	case 0x3b5:
	case 0x3d5:
		if (!crtc_port_live(s, port))
			return 0xff;
		return s->cr_index < CR_REGS ? s->cr[s->cr_index] : 0;
	case 0x3ba:
	case 0x3da:
		if (!crtc_port_live(s, port))
			return 0xff;
		/* Reading input status 1 resets the attribute flip-flop; its
		 * retrace and display-enable bits toggle on every read so a
		 * guest's "wait for retrace" loops end. */
		s->ar_flip = false;
		s->st1 ^= ST1_TOGGLE;
		return s->st1;
	default:
		return 0xff;
	}
}

/* A word or dword access to consecutive ports (out dx, ax to index/data). */
static uint64_t vga_ports_read(struct device *dev, uint64_t off, unsigned int size)
{
	struct vga *s = vga_of(dev);
	uint64_t v = 0;

	for (unsigned int i = 0; i < size; i++)
		v |= (uint64_t)vga_port_readb(s, (uint16_t)(VGA_PORT_BASE + off + i)) << (8 * i);
	return v;
}

static void vga_ports_write(struct device *dev, uint64_t off, uint64_t value, unsigned int size)
{
	struct vga *s = vga_of(dev);

	for (unsigned int i = 0; i < size; i++)
		vga_port_writeb(s, (uint16_t)(VGA_PORT_BASE + off + i), (uint8_t)(value >> (8 * i)));
}

static const struct io_region_ops vga_port_ops = { vga_ports_read, vga_ports_write };

static uint64_t vbe_ports_read(struct device *dev, uint64_t off, unsigned int size)
{
	struct vga *s = vga_of(dev);
	uint16_t v;

	if (off > 2)
		return size == 1 ? 0xff : 0xffff;   /* 0x1D1: only 0x1D0's high byte */
	v = off == 0 ? s->vbe_index : vbe_read(s, s->vbe_index);
	return size == 1 ? (uint8_t)v : v;
}

static void vbe_ports_write(struct device *dev, uint64_t off, uint64_t value, unsigned int size)
{
	struct vga *s = vga_of(dev);

	if (size < 2 || off > 2)
		return;      /* the DISPI registers are 16 bits wide */
	if (off == 0)
		s->vbe_index = (uint16_t)value;
	else
		vbe_write(s, s->vbe_index, (uint16_t)value);
}

static const struct io_region_ops vbe_port_ops = { vbe_ports_read, vbe_ports_write };

/* ---- the 0xA0000 window ---- */

/*
 * The window offset @off as an address into the planes (or, with a VBE
 * mode enabled, into the VRAM through the 64 KiB bank).  False: the
 * memory map select does not decode it.
 */
static bool window_decode(const struct vga *s, uint64_t off, uint64_t *addr, bool *banked)
{
	*banked = false;
	if (vbe_enabled(s)) {
		if (off >= 0x10000)
			return false;
		*addr = ((uint64_t)s->vbe[VBE_BANK] << 16) + off;
		/* 4 bpp is planar: through the graphics controller, as VGA. */
		*banked = s->vbe[VBE_BPP] != 4;
		return *addr < s->vram_size;
	}
	switch ((s->gr[GR_MISC] >> 2) & 3) {
	case 0:               /* A0000-BFFFF */
		*addr = off;
		return true;
	case 1:               /* A0000-AFFFF */
		*addr = off;
		return off < 0x10000;
	case 2:               /* B0000-B7FFF */
		*addr = off - 0x10000;
		return off >= 0x10000 && off < 0x18000;
	default:              /* B8000-BFFFF */
		*addr = off - 0x18000;
		return off >= 0x18000;
	}
}

/* Plane offset and the planes a CPU address reaches (sequencer addressing). */
static uint32_t write_target(const struct vga *s, uint64_t addr, uint8_t *planes)
{
	uint8_t map = s->seq[SEQ_MAP_MASK];

	if (s->seq[SEQ_MEMORY_MODE] & SR04_CHAIN4) {
		*planes = map & (1u << (addr & 3));
		return (uint32_t)(addr >> 2) & PLANE_MASK;
	}
	if (!(s->seq[SEQ_MEMORY_MODE] & SR04_ODD_EVEN_OFF)) {
		*planes = map & ((addr & 1) ? 0x0a : 0x05);
		return (uint32_t)(addr & ~1ull) & PLANE_MASK;
	}
	*planes = map;
	return (uint32_t)addr & PLANE_MASK;
}

/* The graphics controller's write path (write modes 0-3). */
static void planes_write(struct vga *s, uint64_t addr, uint8_t val)
{
	uint8_t planes, bit_mask = s->gr[GR_BIT_MASK], rot = s->gr[GR_DATA_ROTATE];
	uint32_t off = write_target(s, addr, &planes);
	uint32_t d, bm;
	uint8_t *m;

	switch (s->gr[GR_MODE] & 3) {
	case 0: {
		uint32_t sr_enable = expand_planes(s->gr[GR_ENABLE_SR]);

		d = bytes4(rotate_right(val, rot));
		d = (d & ~sr_enable) | (expand_planes(s->gr[GR_SET_RESET]) & sr_enable);
		break;
	}
	case 1:
		/* The latches, unchanged: a fast copy within VRAM. */
		d = s->latch;
		bit_mask = 0xff;
		rot = 0;
		goto store;
	case 2:
		d = expand_planes(val);
		break;
	default:
		bit_mask &= rotate_right(val, rot);
		d = expand_planes(s->gr[GR_SET_RESET]);
		break;
	}
	switch ((rot >> 3) & 3) {
	case 1:
		d &= s->latch;
		break;
	case 2:
		d |= s->latch;
		break;
	case 3:
		d ^= s->latch;
		break;
	default:
		break;
	}
	bm = bytes4(bit_mask);
	d = (d & bm) | (s->latch & ~bm);
store:
	m = s->mem + (size_t)off * 4;
	for (unsigned int p = 0; p < 4; p++)
		if (planes & (1u << p))
			m[p] = (uint8_t)(d >> (8 * p));
	if (planes) {
		mark_page(s, (uint64_t)off * 4);
		if (planes & 4)
			s->font_dirty = true;
	}
}

/* The read path (read modes 0 and 1); loads the latches. */
static uint8_t planes_read(struct vga *s, uint64_t addr)
{
	uint32_t off;
	unsigned int plane;

	if (s->seq[SEQ_MEMORY_MODE] & SR04_CHAIN4) {
		off = (uint32_t)(addr >> 2) & PLANE_MASK;
		plane = addr & 3;
	} else if (s->gr[GR_MODE] & GR05_ODD_EVEN) {
		off = (uint32_t)(addr & ~1ull) & PLANE_MASK;
		plane = (s->gr[GR_READ_MAP] & 2) | (addr & 1);
	} else {
		off = (uint32_t)addr & PLANE_MASK;
		plane = s->gr[GR_READ_MAP] & 3;
	}
	s->latch = load_latch(s, off);
	if (s->gr[GR_MODE] & GR05_READ_MODE1) {
		/* Colour compare: a bit is 1 where every plane not in "don't
		 * care" matches the colour compare register. */
		uint32_t diff = (s->latch ^ expand_planes(s->gr[GR_COLOR_COMPARE])) &
				expand_planes(s->gr[GR_COLOR_DONT_CARE]);

		return (uint8_t)~(diff | diff >> 8 | diff >> 16 | diff >> 24);
	}
	return (uint8_t)(s->latch >> (8 * plane));
}

static uint8_t window_readb(struct vga *s, uint64_t off)
{
	uint64_t addr;
	bool banked;

	if (!window_decode(s, off, &addr, &banked))
		return 0xff;
	if (banked)
		return s->mem[addr];
	return planes_read(s, addr);
}

static void window_writeb(struct vga *s, uint64_t off, uint8_t v)
{
	uint64_t addr;
	bool banked;

	if (!window_decode(s, off, &addr, &banked))
		return;
	if (banked) {
		s->mem[addr] = v;
		mark_page(s, addr);
		return;
	}
	planes_write(s, addr, v);
}

static uint64_t window_read(struct device *dev, uint64_t off, unsigned int size)
{
	struct vga *s = vga_of(dev);
	uint64_t v = 0;

	for (unsigned int i = 0; i < size; i++)
		v |= (uint64_t)window_readb(s, off + i) << (8 * i);
	return v;
}

static void window_write(struct device *dev, uint64_t off, uint64_t value, unsigned int size)
{
	struct vga *s = vga_of(dev);

	for (unsigned int i = 0; i < size; i++)
		window_writeb(s, off + i, (uint8_t)(value >> (8 * i)));
}

static const struct io_region_ops window_ops = { window_read, window_write };

/* ---- BAR2: QEMU's stdvga MMIO ---- */

static uint64_t bar2_read(struct device *dev, uint64_t off, unsigned int size)
{
	struct vga *s = vga_of(dev);
	uint64_t v = 0;

	if (off >= BAR2_VGA_PORTS && off < BAR2_VGA_PORTS + BAR2_VGA_LEN) {
		for (unsigned int i = 0; i < size && off + i < BAR2_VGA_PORTS + BAR2_VGA_LEN; i++)
			v |= (uint64_t)vga_port_readb(s, (uint16_t)(0x3c0 + off - BAR2_VGA_PORTS + i))
			     << (8 * i);
		return v;
	}
	if (off >= BAR2_DISPI && off < BAR2_DISPI + 2 * VBE_REGS) {
		unsigned int idx = (unsigned int)(off - BAR2_DISPI) / 2;

		v = vbe_read(s, idx);
		if (off & 1)
			v >>= 8;
		if (size >= 4 && idx + 1 < VBE_REGS && !(off & 1))
			v |= (uint64_t)vbe_read(s, idx + 1) << 16;
		return size == 1 ? (uint8_t)v : size == 2 ? (uint16_t)v : v;
	}
	if (off == BAR2_QEXT)
		return QEXT_SIZE;
	if (off == QEXT_BYTEORDER)
		return s->qext_byteorder;
	return 0;
}

static void bar2_write(struct device *dev, uint64_t off, uint64_t value, unsigned int size)
{
	struct vga *s = vga_of(dev);

	if (off >= BAR2_VGA_PORTS && off < BAR2_VGA_PORTS + BAR2_VGA_LEN) {
		for (unsigned int i = 0; i < size && off + i < BAR2_VGA_PORTS + BAR2_VGA_LEN; i++)
			vga_port_writeb(s, (uint16_t)(0x3c0 + off - BAR2_VGA_PORTS + i),
					(uint8_t)(value >> (8 * i)));
		return;
	}
	if (off >= BAR2_DISPI && off < BAR2_DISPI + 2 * VBE_REGS && !(off & 1) && size >= 2) {
		unsigned int idx = (unsigned int)(off - BAR2_DISPI) / 2;

		vbe_write(s, idx, (uint16_t)value);
		if (size >= 4 && idx + 1 < VBE_REGS)
			vbe_write(s, idx + 1, (uint16_t)(value >> 16));
		return;
	}
	if (off == QEXT_BYTEORDER && size == 4 &&
	    (value == QEXT_BIG_ENDIAN || value == QEXT_LITTLE_ENDIAN)) {
		/* Only little-endian framebuffers are drawn: the byte order
		 * register is kept for the guest to read back. */
		if (value == QEXT_BIG_ENDIAN)
			device_log(s->dev, "big-endian framebuffer requested: drawn little-endian");
		s->qext_byteorder = (uint32_t)value;
	}
}

static const struct io_region_ops bar2_ops = { bar2_read, bar2_write };

/* ---- the current mode ---- */

static unsigned int vertical_display_lines(const struct vga *s)
{
	unsigned int ov = s->cr[CR_OVERFLOW];

	return (s->cr[CR_VDISP_END] | (ov & 0x02) << 7 | (ov & 0x40) << 3) + 1;
}

static void compute_mode(const struct vga *s, struct vga_mode *m)
{
	unsigned int lines, scan;

	memset(m, 0, sizeof(*m));
	if (vbe_enabled(s)) {
		if (!vbe_fits(s, s->vbe, &m->start, &m->stride))
			return;     /* never drawn past VRAM: blank instead */
		m->kind = MODE_VBE;
		m->width = s->vbe[VBE_XRES];
		m->height = s->vbe[VBE_YRES];
		m->bpp = s->vbe[VBE_BPP];
		m->bytespp = vbe_bytespp(m->bpp);
		if (m->bpp == 4) {
			/* Drawn from the planes: offsets in plane bytes. */
			m->kind = MODE_PLANAR;
			m->start /= 4;
			m->stride /= 4;
		}
		return;
	}
	if (!(s->ar_index & AR_INDEX_PAS))
		return;             /* the attribute controller has the palette: blank */
	m->start = (unsigned int)s->cr[CR_START_HI] << 8 | s->cr[CR_START_LO];
	lines = vertical_display_lines(s);
	if (s->cr[CR_MAX_SCAN] & CR09_DOUBLE_SCAN)
		lines /= 2;
	scan = (s->cr[CR_MAX_SCAN] & 0x1f) + 1u;
	if (!(s->gr[GR_MISC] & GR06_GRAPHICS)) {
		m->cols = s->cr[CR_HDISP_END] + 1u;
		m->cell_w = (s->seq[SEQ_CLOCK_MODE] & SR01_8DOT) ? 8 : 9;
		m->cell_h = scan;
		m->rows = lines / scan;
		if (m->rows > DISPLAY_TEXT_MAX_ROWS)
			m->rows = DISPLAY_TEXT_MAX_ROWS;
		while (m->rows && m->rows * m->cell_h > DISPLAY_MAX_HEIGHT)
			m->rows--;
		if (!m->rows)
			return;
		m->kind = MODE_TEXT;
		m->width = m->cols * m->cell_w;
		m->height = m->rows * m->cell_h;
		m->stride = (uint64_t)s->cr[CR_OFFSET] * 2;
		return;
	}
	m->height = lines / scan;
	m->stride = (uint64_t)s->cr[CR_OFFSET] * 2;
	if (s->gr[GR_MODE] & GR05_256_COLOR) {
		/* Two dot clocks per 8-bit pixel: four pixels per character clock. */
		m->kind = MODE_256;
		m->width = (s->cr[CR_HDISP_END] + 1u) * 4;
		m->bpp = 8;
	} else {
		m->kind = MODE_PLANAR;
		m->width = (s->cr[CR_HDISP_END] + 1u) * 8;
		m->bpp = 4;
	}
	if (m->height > DISPLAY_MAX_HEIGHT)
		m->height = DISPLAY_MAX_HEIGHT;
	if (!m->height)
		memset(m, 0, sizeof(*m));
}

static void update_info(struct vga *s, const struct vga_mode *m)
{
	enum display_kind kind = m->kind == MODE_BLANK ? DISPLAY_BLANK :
				 m->kind == MODE_TEXT ? DISPLAY_TEXT : DISPLAY_GRAPHICS;

	if (kind != s->shown.kind || m->width != s->shown.width ||
	    m->height != s->shown.height || m->bpp != s->shown.bpp) {
		s->shown.kind = kind;
		s->shown.width = m->width;
		s->shown.height = m->height;
		s->shown.bpp = m->bpp;
		s->shown.generation++;
	}
}

/* ---- colours ---- */

static uint32_t dac_rgb(const struct vga *s, uint8_t idx)
{
	const uint8_t *c = &s->palette[(idx & s->pel_mask) * 3];
	uint32_t r = c[0], g = c[1], b = c[2];

	if (!(s->vbe[VBE_ENABLE] & VBE_8BIT_DAC)) {
		r = (r & 0x3f) << 2 | (r & 0x3f) >> 4;
		g = (g & 0x3f) << 2 | (g & 0x3f) >> 4;
		b = (b & 0x3f) << 2 | (b & 0x3f) >> 4;
	}
	return r << 16 | g << 8 | b;
}

/* A 4-bit attribute colour through the attribute palette and the DAC. */
static uint32_t attr_rgb(const struct vga *s, unsigned int c)
{
	uint8_t v = s->ar[c & 0xf];
	uint8_t sel = s->ar[AR_COLOR_SELECT];

	if (s->ar[AR_MODE] & AR10_P54S)
		v = (uint8_t)((v & 0x0f) | (sel & 0x03) << 4);
	else
		v &= 0x3f;
	v |= (uint8_t)((sel & 0x0c) << 4);
	return dac_rgb(s, v);
}

/* ---- drawing ---- */

static uint8_t plane_byte(const struct vga *s, unsigned int plane, uint64_t off)
{
	return s->mem[(off & PLANE_MASK) * 4 + plane];
}

/* Plane 2 offset of font map @sel (SR03's 3-bit select: FreeVGA's table). */
static uint32_t font_base(unsigned int sel)
{
	return (sel & 3) * 0x4000u + (sel >> 2) * 0x2000u;
}

static void font_bases(const struct vga *s, uint32_t *a, uint32_t *b)
{
	uint8_t v = s->seq[SEQ_CHARMAP];

	/* Map A (attribute bit 3 set): bits 5, 3, 2; map B: bits 4, 1, 0. */
	*a = font_base(((v >> 5) & 1) << 2 | ((v >> 2) & 3));
	*b = font_base(((v >> 4) & 1) << 2 | (v & 3));
}

struct text_cursor {
	int col, row;
	unsigned int start, end;
};

static void text_cursor(const struct vga *s, const struct vga_mode *m, struct text_cursor *c)
{
	uint64_t loc = (unsigned int)s->cr[CR_CURSOR_HI] << 8 | s->cr[CR_CURSOR_LO];
	uint64_t rel;

	c->col = c->row = -1;
	c->start = s->cr[CR_CURSOR_START] & 0x1f;
	c->end = s->cr[CR_CURSOR_END] & 0x1f;
	if ((s->cr[CR_CURSOR_START] & CR0A_CURSOR_OFF) || c->start > c->end ||
	    c->start >= m->cell_h || loc < m->start || !m->stride)
		return;
	rel = loc - m->start;
	if (rel % m->stride >= m->cols || rel / m->stride >= m->rows)
		return;
	c->col = (int)(rel % m->stride);
	c->row = (int)(rel / m->stride);
}

/* Plane offset of text cell (@row, @col): character k is at 2k (word mode). */
static uint64_t cell_offset(const struct vga_mode *m, unsigned int row, unsigned int col)
{
	return ((m->start + row * m->stride + col) * 2) & PLANE_MASK;
}

static void draw_text_rows(const struct vga *s, const struct vga_mode *m, uint32_t *dst,
			   size_t stride, unsigned int row0, unsigned int row1)
{
	uint32_t pal[16], fa, fb;
	bool blink = s->ar[AR_MODE] & AR10_BLINK;
	bool line_gfx = s->ar[AR_MODE] & AR10_LINE_GRAPHICS;
	struct text_cursor cur;

	for (unsigned int i = 0; i < 16; i++)
		pal[i] = attr_rgb(s, i);
	font_bases(s, &fa, &fb);
	text_cursor(s, m, &cur);
	for (unsigned int r = row0; r < row1; r++) {
		for (unsigned int c = 0; c < m->cols; c++) {
			uint64_t o = cell_offset(m, r, c);
			uint8_t ch = plane_byte(s, 0, o), at = plane_byte(s, 1, o);
			uint32_t fg = pal[at & 0xf];
			uint32_t bg = pal[blink ? (at >> 4) & 7 : at >> 4];
			uint32_t glyph = ((at & 0x08) ? fa : fb) + ch * DISPLAY_FONT_STRIDE;
			bool cursor_here = (int)r == cur.row && (int)c == cur.col;

			for (unsigned int y = 0; y < m->cell_h; y++) {
				uint8_t bits = plane_byte(s, 2, glyph + y);
				uint32_t *px = (uint32_t *)((uint8_t *)dst +
							    (r * m->cell_h + y) * stride) +
					       c * m->cell_w;
				bool cursor_line = cursor_here && y >= cur.start && y <= cur.end;

				for (unsigned int x = 0; x < 8; x++)
					px[x] = (cursor_line || (bits & (0x80 >> x))) ? fg : bg;
				if (m->cell_w == 9) {
					/* The 9th column repeats the 8th for the line-drawing
					 * characters 0xC0-0xDF (AR10 bit 2), else background. */
					bool on = line_gfx && ch >= 0xc0 && ch <= 0xdf && (bits & 1);

					px[8] = (cursor_line || on) ? fg : bg;
				}
			}
		}
	}
}

static void draw_graphics_rows(const struct vga *s, const struct vga_mode *m, uint32_t *dst,
			       size_t stride, unsigned int y0, unsigned int y1)
{
	uint32_t pal[256];

	if (m->kind == MODE_PLANAR) {
		uint8_t enable = s->ar[AR_PLANE_ENABLE] & 0xf;

		for (unsigned int i = 0; i < 16; i++)
			pal[i] = attr_rgb(s, i);
		for (unsigned int y = y0; y < y1; y++) {
			uint32_t *px = (uint32_t *)((uint8_t *)dst + y * stride);
			uint64_t row = m->start + y * m->stride;

			for (unsigned int x = 0; x < m->width; x++) {
				uint64_t o = row + x / 8;
				unsigned int bit = 7 - (x & 7), c = 0;

				for (unsigned int p = 0; p < 4; p++)
					c |= ((plane_byte(s, p, o) >> bit) & 1u) << p;
				px[x] = pal[c & enable];
			}
		}
		return;
	}
	for (unsigned int i = 0; i < 256; i++)
		pal[i] = dac_rgb(s, (uint8_t)i);
	if (m->kind == MODE_256) {
		for (unsigned int y = y0; y < y1; y++) {
			uint32_t *px = (uint32_t *)((uint8_t *)dst + y * stride);
			uint64_t row = (m->start + y * m->stride) * 4;

			for (unsigned int x = 0; x < m->width; x++)
				px[x] = pal[s->mem[(row + x) & (PLANES_BYTES - 1)]];
		}
		return;
	}
	/* VBE: compute_mode checked that every visible byte is inside the VRAM. */
	for (unsigned int y = y0; y < y1; y++) {
		uint32_t *px = (uint32_t *)((uint8_t *)dst + y * stride);
		const uint8_t *src = s->mem + m->start + y * m->stride;

		if (m->bpp == 32) {
			/* The common case, kept tight: XRGB in memory order (x86). */
			memcpy(px, src, (size_t)m->width * 4);
			for (unsigned int x = 0; x < m->width; x++)
				px[x] = le32toh(px[x]) & 0xffffff;
			continue;
		}
		for (unsigned int x = 0; x < m->width; x++, src += m->bytespp) {
			uint32_t v;

			switch (m->bpp) {
			case 8:
				px[x] = pal[src[0]];
				break;
			case 15:
				v = src[0] | src[1] << 8;
				px[x] = ((v >> 10) & 0x1f) * 255 / 31 << 16 |
					((v >> 5) & 0x1f) * 255 / 31 << 8 | (v & 0x1f) * 255 / 31;
				break;
			case 16:
				v = src[0] | src[1] << 8;
				px[x] = ((v >> 11) & 0x1f) * 255 / 31 << 16 |
					((v >> 5) & 0x3f) * 255 / 63 << 8 | (v & 0x1f) * 255 / 31;
				break;
			default:   /* 24 and 32: B, G, R in memory order */
				px[x] = (uint32_t)src[2] << 16 | (uint32_t)src[1] << 8 | src[0];
				break;
			}
		}
	}
}

/* Draw display rows [@u0, @u1): text rows in text mode, else pixel rows. */
static void draw_units(const struct vga *s, const struct vga_mode *m, uint32_t *dst,
		       size_t stride, unsigned int u0, unsigned int u1)
{
	if (m->kind == MODE_TEXT)
		draw_text_rows(s, m, dst, stride, u0, u1);
	else
		draw_graphics_rows(s, m, dst, stride, u0, u1);
}

static unsigned int mode_units(const struct vga_mode *m)
{
	return m->kind == MODE_TEXT ? m->rows : m->height;
}

static bool pages_dirty(const struct vga *s, const uint64_t *bm, uint64_t b0, uint64_t len)
{
	if (!len)
		return false;
	if (b0 >= s->vram_size)
		return false;
	if (len > s->vram_size - b0)
		len = s->vram_size - b0;
	for (uint64_t p = b0 / PAGE; p <= (b0 + len - 1) / PAGE; p++)
		if (bm[p / 64] & (1ull << (p % 64)))
			return true;
	return false;
}

/* The plane range [@off, @off + @n) wraps at 64 KiB; test it as VRAM bytes. */
static bool planes_dirty(const struct vga *s, const uint64_t *bm, uint64_t off, uint64_t n)
{
	off &= PLANE_MASK;
	if (n > PLANE_SIZE)
		n = PLANE_SIZE;
	if (off + n > PLANE_SIZE)
		return pages_dirty(s, bm, off * 4, (PLANE_SIZE - off) * 4) ||
		       pages_dirty(s, bm, 0, (off + n - PLANE_SIZE) * 4);
	return pages_dirty(s, bm, off * 4, n * 4);
}

static bool unit_dirty(const struct vga *s, const struct vga_mode *m, const uint64_t *bm,
		       unsigned int u)
{
	switch (m->kind) {
	case MODE_TEXT:
		return planes_dirty(s, bm, cell_offset(m, u, 0), (uint64_t)m->cols * 2);
	case MODE_PLANAR:
		return planes_dirty(s, bm, m->start + u * m->stride, (m->width + 7) / 8);
	case MODE_256:
		return planes_dirty(s, bm, m->start + u * m->stride, (m->width + 3) / 4);
	case MODE_VBE:
		return pages_dirty(s, bm, m->start + u * m->stride,
				   (uint64_t)m->width * m->bytespp);
	default:
		return false;
	}
}

/* ---- the display interface ---- */

static void vga_get_info(void *opaque, struct display_info *info)
{
	struct device *dev = opaque;
	struct vga *s = vga_of(dev);
	struct vga_mode m;

	pthread_mutex_lock(&dev->lock);
	compute_mode(s, &m);
	update_info(s, &m);
	*info = s->shown;
	pthread_mutex_unlock(&dev->lock);
}

static void add_rect(struct display_rect *dirty, unsigned int max, unsigned int *nr,
		     unsigned int width, unsigned int y, unsigned int h)
{
	if (*nr < max) {
		dirty[(*nr)++] = (struct display_rect){ 0, y, width, h };
		return;
	}
	/* Out of rectangles: grow the last one down to cover this one too. */
	dirty[max - 1].h = y + h - dirty[max - 1].y;
}

static int vga_render(void *opaque, uint32_t *dst, size_t stride, unsigned int width,
		      unsigned int height, struct display_rect *dirty, unsigned int max_dirty,
		      unsigned int *nr_dirty)
{
	struct device *dev = opaque;
	struct vga *s = vga_of(dev);
	struct vga_mode m;
	unsigned int units, unit_h, run = 0;
	int cursor_rows[2];
	bool full;
	uint32_t fa, fb;

	if (nr_dirty)
		*nr_dirty = 0;
	if (width > DISPLAY_MAX_WIDTH || height > DISPLAY_MAX_HEIGHT ||
	    (width && (!dst || stride < (size_t)width * 4)) || (dirty && (!max_dirty || !nr_dirty)))
		return -EINVAL;
	pthread_mutex_lock(&dev->lock);
	compute_mode(s, &m);
	update_info(s, &m);
	if (width != m.width || height != m.height) {
		pthread_mutex_unlock(&dev->lock);
		return -EAGAIN;
	}
	units = mode_units(&m);
	unit_h = m.kind == MODE_TEXT ? m.cell_h : 1;
	if (!dirty) {
		draw_units(s, &m, dst, stride, 0, units);
		pthread_mutex_unlock(&dev->lock);
		return 0;
	}
	/* Changed since the last incremental render: our own writes, the
	 * guest's through BAR0 (the region's dirty log), register changes. */
	memset(s->scratch, 0, s->dirty_words * sizeof(uint64_t));
	full = host_memregion_get_dirty(s->vram, s->scratch) != 0;
	full |= s->full_dirty || !s->rendered_once || s->rendered_generation != s->shown.generation;
	if (m.kind == MODE_TEXT && !full) {
		/* A new glyph changes every cell showing it: our own writes say
		 * so precisely (font_dirty), the guest's through BAR0 by page. */
		font_bases(s, &fa, &fb);
		full = s->font_dirty || planes_dirty(s, s->scratch, fa, 0x2000) ||
		       planes_dirty(s, s->scratch, fb, 0x2000);
	}
	for (size_t i = 0; i < s->dirty_words; i++)
		s->scratch[i] |= s->own_dirty[i];
	memset(s->own_dirty, 0, s->dirty_words * sizeof(uint64_t));
	cursor_rows[0] = cursor_rows[1] = -1;
	if (m.kind == MODE_TEXT) {
		struct text_cursor cur;

		text_cursor(s, &m, &cur);
		if (s->cursor_dirty) {
			cursor_rows[0] = s->cursor_row_drawn;
			cursor_rows[1] = cur.row;
		}
		s->cursor_row_drawn = cur.row;
	}
	s->full_dirty = s->font_dirty = s->cursor_dirty = false;
	s->rendered_once = true;
	s->rendered_generation = s->shown.generation;
	if (!units) {
		pthread_mutex_unlock(&dev->lock);
		return 0;
	}
	if (full) {
		draw_units(s, &m, dst, stride, 0, units);
		add_rect(dirty, max_dirty, nr_dirty, m.width, 0, m.height);
		pthread_mutex_unlock(&dev->lock);
		return 0;
	}
	for (unsigned int u = 0; u <= units; u++) {
		if (u < units && ((int)u == cursor_rows[0] || (int)u == cursor_rows[1] ||
				  unit_dirty(s, &m, s->scratch, u))) {
			run++;
			continue;
		}
		if (run) {
			draw_units(s, &m, dst, stride, u - run, u);
			add_rect(dirty, max_dirty, nr_dirty, m.width, (u - run) * unit_h,
				 run * unit_h);
			run = 0;
		}
	}
	pthread_mutex_unlock(&dev->lock);
	return 0;
}

static void copy_font(const struct vga *s, uint8_t *font, uint32_t base)
{
	for (unsigned int i = 0; i < DISPLAY_FONT_GLYPHS * DISPLAY_FONT_STRIDE; i++)
		font[i] = plane_byte(s, 2, base + i);
}

static int vga_read_text(void *opaque, struct display_text *t)
{
	struct device *dev = opaque;
	struct vga *s = vga_of(dev);
	struct vga_mode m;
	struct text_cursor cur;
	uint32_t fa, fb;

	pthread_mutex_lock(&dev->lock);
	compute_mode(s, &m);
	update_info(s, &m);
	if (m.kind != MODE_TEXT) {
		pthread_mutex_unlock(&dev->lock);
		return -ENOTSUP;
	}
	t->cols = m.cols;
	t->rows = m.rows;
	t->cell_width = m.cell_w;
	t->cell_height = m.cell_h;
	for (unsigned int r = 0; r < m.rows; r++)
		for (unsigned int c = 0; c < m.cols; c++) {
			uint64_t o = cell_offset(&m, r, c);

			t->cells[r * m.cols + c] =
				(uint16_t)(plane_byte(s, 0, o) | plane_byte(s, 1, o) << 8);
		}
	font_bases(s, &fa, &fb);
	copy_font(s, t->font, fa);
	copy_font(s, t->font_b, fb);
	for (unsigned int i = 0; i < 16; i++)
		t->palette[i] = attr_rgb(s, i);
	text_cursor(s, &m, &cur);
	t->cursor_col = cur.col;
	t->cursor_row = cur.row;
	t->cursor_start = cur.start;
	t->cursor_end = cur.end;
	t->blink_enabled = !!(s->ar[AR_MODE] & AR10_BLINK);
	pthread_mutex_unlock(&dev->lock);
	return 0;
}

static const struct display_ops vga_display_ops = {
	.get_info = vga_get_info,
	.render = vga_render,
	.read_text = vga_read_text,
};

/* ---- the device ---- */

static void vga_reset_regs(struct vga *s)
{
	s->misc = s->feature = 0;
	s->seq_index = s->gr_index = s->ar_index = s->cr_index = 0;
	memset(s->seq, 0, sizeof(s->seq));
	memset(s->gr, 0, sizeof(s->gr));
	memset(s->ar, 0, sizeof(s->ar));
	memset(s->cr, 0, sizeof(s->cr));
	s->ar_flip = false;
	s->pel_mask = 0xff;
	s->dac_read = s->dac_write = s->dac_sub = s->dac_state = 0;
	memset(s->dac_cache, 0, sizeof(s->dac_cache));
	s->st1 = 0;
	s->latch = 0;
	s->vbe_index = 0;
	memset(s->vbe, 0, sizeof(s->vbe));
	s->vbe[VBE_ID] = VBE_ID5;
	s->vbe[VBE_BPP] = 8;
	s->qext_byteorder = QEXT_LITTLE_ENDIAN;
	s->full_dirty = true;
	s->cursor_row_drawn = -1;
}

static void vga_reset(struct device *dev)
{
	struct vga *s = vga_of(dev);

	/* VRAM and the palette keep their contents across a reset, as on the
	 * real card; the registers go back to power-on (display blank). */
	vga_reset_regs(s);
	pci_function_reset(&s->pci);
}

static void vga_destroy(struct device *dev)
{
	struct vga *s = vga_of(dev);

	if (!s)
		return;
	if (s->published)
		dev->host->display_publish(dev->host->display_opaque, NULL, NULL);
	pci_bus_detach(&s->pci);
	host_memregion_free(s->vram);
	free(s->own_dirty);
	free(s->scratch);
	free(s);
	dev->priv = NULL;
}

static int vga_create(struct device *dev, const struct device_args *args)
{
	struct dev_host *h = dev->host;
	uint64_t size = args->vram_size ? args->vram_size : VGA_VRAM_DEFAULT;
	struct vga *s;
	int ret;

	if (size < VGA_VRAM_MIN || size > VGA_VRAM_MAX || size % 0x10000) {
		device_log(dev, "VRAM of %llu bytes: must be 1-256 MiB in 64 KiB steps",
			   (unsigned long long)size);
		return -EINVAL;
	}
	if (!h->pci || !h->memregion_ops) {
		device_log(dev, "needs PCI and device memory regions");
		return -ENOTSUP;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	dev->priv = s;
	s->dev = dev;
	s->vram = h->memregion_ops->region_new(h->memregion_opaque, "vga.vram", size,
					       HOST_MEM_DIRTY_LOG);
	if (!s->vram)
		return errno ? -errno : -ENOMEM;
	s->mem = s->vram->hva;
	s->vram_size = s->vram->size;
	s->dirty_words = (size_t)((s->vram_size / PAGE + 63) / 64);
	s->own_dirty = calloc(s->dirty_words, sizeof(uint64_t));
	s->scratch = calloc(s->dirty_words, sizeof(uint64_t));
	if (!s->own_dirty || !s->scratch)
		return -ENOMEM;
	memset(s->palette, 0, sizeof(s->palette));
	vga_reset_regs(s);

	pci_function_init(&s->pci, dev, VGA_VENDOR_ID, VGA_DEVICE_ID, VGA_CLASS_CODE,
			  VGA_REVISION, 0x1af4, 0x1100);
	if ((ret = pci_function_add_bar_region(&s->pci, 0, PCI_BAR_MEM32, s->vram,
					       PCI_BAR_PREFETCH)) ||
	    (ret = pci_function_add_bar(&s->pci, 2, PCI_BAR_MEM32, BAR2_SIZE, &bar2_ops)))
		return ret;
	ret = bus_register(h->pio, VGA_PORT_BASE, VGA_PORT_LEN, &vga_port_ops, dev, "vga");
	if (!ret)
		ret = bus_register(h->pio, VBE_PORT_BASE, VBE_PORT_LEN, &vbe_port_ops, dev,
				   "vga-vbe");
	if (!ret)
		ret = bus_register(h->mmio, VGA_WINDOW_BASE, VGA_WINDOW_LEN, &window_ops, dev,
				   "vga-window");
	if (ret)
		return ret;
	ret = pci_bus_attach(h->pci, &s->pci, args->pci_slot ? args->pci_slot : -1, 0);
	if (ret)
		return ret;
	if (h->display_publish) {
		h->display_publish(h->display_opaque, &vga_display_ops, dev);
		s->published = true;
	}
	return 0;
}

static int vga_save(struct device *dev, struct sv_writer *w)
{
	struct vga *s = vga_of(dev);
	int ret = pci_function_save(&s->pci, w);

	if (ret)
		return ret;
	sv_put_u8(w, s->misc);
	sv_put_u8(w, s->feature);
	sv_put_u8(w, s->seq_index);
	sv_put_bytes(w, s->seq, sizeof(s->seq));
	sv_put_u8(w, s->gr_index);
	sv_put_bytes(w, s->gr, sizeof(s->gr));
	sv_put_u8(w, s->ar_index);
	sv_put_u8(w, s->ar_flip);
	sv_put_bytes(w, s->ar, sizeof(s->ar));
	sv_put_u8(w, s->cr_index);
	sv_put_bytes(w, s->cr, sizeof(s->cr));
	sv_put_u8(w, s->pel_mask);
	sv_put_u8(w, s->dac_read);
	sv_put_u8(w, s->dac_write);
	sv_put_u8(w, s->dac_sub);
	sv_put_u8(w, s->dac_state);
	sv_put_bytes(w, s->dac_cache, sizeof(s->dac_cache));
	sv_put_bytes(w, s->palette, sizeof(s->palette));
	sv_put_u8(w, s->st1);
	sv_put_u32(w, s->latch);
	sv_put_u16(w, s->vbe_index);
	for (unsigned int i = 0; i < VBE_REGS; i++)
		sv_put_u16(w, s->vbe[i]);
	sv_put_u32(w, s->qext_byteorder);
	sv_put_u64(w, s->vram_size);
	sv_put_bytes(w, s->mem, (size_t)s->vram_size);
	return w->failed ? -ENOMEM : 0;
}

static int vga_load(struct device *dev, struct sv_reader *r, uint32_t version)
{
	struct vga *s = vga_of(dev);
	struct vga n;
	int ret;

	if (version != VGA_SAVE_VERSION)
		return -EINVAL;
	ret = pci_function_load(&s->pci, r);
	if (ret)
		return ret;
	n = *s;
	n.misc = sv_get_u8(r);
	n.feature = sv_get_u8(r);
	n.seq_index = sv_get_u8(r) & (SEQ_REGS - 1);
	sv_get_bytes(r, n.seq, sizeof(n.seq));
	n.gr_index = sv_get_u8(r) & (GR_REGS - 1);
	sv_get_bytes(r, n.gr, sizeof(n.gr));
	n.ar_index = sv_get_u8(r) & 0x3f;
	n.ar_flip = sv_get_u8(r) & 1;
	sv_get_bytes(r, n.ar, sizeof(n.ar));
	n.cr_index = sv_get_u8(r);
	sv_get_bytes(r, n.cr, sizeof(n.cr));
	n.pel_mask = sv_get_u8(r);
	n.dac_read = sv_get_u8(r);
	n.dac_write = sv_get_u8(r);
	n.dac_sub = sv_get_u8(r);
	n.dac_state = sv_get_u8(r);
	sv_get_bytes(r, n.dac_cache, sizeof(n.dac_cache));
	sv_get_bytes(r, n.palette, sizeof(n.palette));
	n.st1 = sv_get_u8(r) & ST1_TOGGLE;
	n.latch = sv_get_u32(r);
	n.vbe_index = sv_get_u16(r);
	for (unsigned int i = 0; i < VBE_REGS; i++)
		n.vbe[i] = sv_get_u16(r);
	n.qext_byteorder = sv_get_u32(r);
	if (!sv_reader_ok(r, false) || sv_get_u64(r) != s->vram_size || n.dac_sub > 2)
		return -EINVAL;
	/* Registers the guest could never have written are refused. */
	for (unsigned int i = 0; i < SEQ_REGS; i++)
		n.seq[i] &= seq_wmask[i];
	for (unsigned int i = 0; i < GR_REGS; i++)
		n.gr[i] &= gr_wmask[i];
	for (unsigned int i = 0; i < AR_REGS; i++)
		n.ar[i] &= ar_wmask[i];
	n.vbe[VBE_ENABLE] &= VBE_ENABLE_MASK;
	if (((uint64_t)n.vbe[VBE_BANK] << 16) >= s->vram_size ||
	    ((n.vbe[VBE_ENABLE] & VBE_ENABLED) && !vbe_fits(s, n.vbe, NULL, NULL)))
		return -EINVAL;
	sv_get_bytes(r, s->mem, (size_t)s->vram_size);
	if (!sv_reader_ok(r, true))
		return -EINVAL;
	*s = n;
	s->full_dirty = true;
	return 0;
}

const struct device_model vga_model = {
	.name = "vga",
	.state_version = VGA_SAVE_VERSION,
	.create = vga_create,
	.reset = vga_reset,
	.save = vga_save,
	.load = vga_load,
	.destroy = vga_destroy,
};
