/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The display interface: what a display device (VGA/VBE) publishes and
 * any frontend reads (screenshots today; the SDL window and a remote
 * display later).  Frontends know no device: they see a mode, the screen
 * rendered as XRGB8888 pixels, the rectangles that changed, and, in text
 * mode, the characters themselves.
 *
 * A device publishes its display once, in create(), through
 * dev_host.display_publish (and withdraws it with NULL ops in destroy()).
 * The ops may be called from any thread (the event loop, a frontend's
 * thread); the device takes its own lock inside them.  They never block
 * on the guest.
 */
#ifndef HUTCH_DISPLAY_H
#define HUTCH_DISPLAY_H

#include <stddef.h>
#include <stdint.h>

/* Largest screen any display may report (2560x1600 VBE, 9x32-dot text cells). */
#define DISPLAY_MAX_WIDTH   2560u
#define DISPLAY_MAX_HEIGHT  1600u
/* Text mode limits (VGA: up to 256 columns and 64 rows; cells up to 32 lines). */
#define DISPLAY_TEXT_MAX_COLS   256u
#define DISPLAY_TEXT_MAX_ROWS   64u
#define DISPLAY_FONT_GLYPHS     256u
#define DISPLAY_FONT_STRIDE     32u    /* bytes per glyph, one per scan line */

enum display_kind {
	DISPLAY_BLANK = 0,   /* nothing shown (display off, no mode set yet) */
	DISPLAY_TEXT,        /* character cells */
	DISPLAY_GRAPHICS,    /* pixels (planar, 8-bit, VBE linear framebuffer) */
};

struct display_info {
	enum display_kind kind;
	unsigned int width, height;   /* pixels as shown; 0 x 0 when blank */
	unsigned int bpp;             /* the guest's depth: 4, 8, 15, 16, 24, 32; 0 in text */
	uint64_t generation;          /* changes whenever kind, size or depth change */
};

struct display_rect {
	unsigned int x, y, w, h;
};

/* Text mode contents, as the guest's text buffer and plane 2 hold them. */
struct display_text {
	unsigned int cols, rows;
	unsigned int cell_width;      /* 8 or 9 pixels */
	unsigned int cell_height;     /* scan lines per cell, 1..32 */
	/* char | attribute << 8, row-major, cols * rows used */
	uint16_t cells[DISPLAY_TEXT_MAX_COLS * DISPLAY_TEXT_MAX_ROWS];
	/* The font the guest loaded into plane 2 (the map the attribute selects
	 * is resolved by the device: this is map A; font_b differs only when
	 * the guest uses two maps, bit 3 of the attribute choosing). */
	uint8_t font[DISPLAY_FONT_GLYPHS * DISPLAY_FONT_STRIDE];
	uint8_t font_b[DISPLAY_FONT_GLYPHS * DISPLAY_FONT_STRIDE];
	uint32_t palette[16];         /* attribute colour index -> 0x00RRGGBB as shown */
	int cursor_col, cursor_row;   /* -1, -1 when the cursor is off */
	unsigned int cursor_start, cursor_end;  /* scan lines within the cell */
	int blink_enabled;            /* attribute bit 7 blinks (1) or is bright background (0) */
};

struct display_ops {
	/* The current mode. */
	void (*get_info)(void *opaque, struct display_info *info);
	/*
	 * Draw the screen into @dst (0x00RRGGBB, @stride bytes per row), which
	 * is @width x @height pixels and must match get_info's size: -EAGAIN
	 * if the mode changed meanwhile (get the info again), -EINVAL for a
	 * bad size.  The text cursor is drawn when on, without blinking, so
	 * a screenshot is reproducible; blinking text is drawn visible.
	 *
	 * @dirty NULL: draw everything and leave change tracking alone (a
	 * screenshot).  Otherwise draw only what changed since the last
	 * call with @dirty non-NULL (everything after a mode change) and
	 * report it in @dirty[0..*nr_dirty) (at most @max_dirty rectangles;
	 * more changes are merged).  0 or -errno.
	 */
	int (*render)(void *opaque, uint32_t *dst, size_t stride, unsigned int width,
		      unsigned int height, struct display_rect *dirty, unsigned int max_dirty,
		      unsigned int *nr_dirty);
	/* Text mode contents; -ENOTSUP unless the display is in text mode. */
	int (*read_text)(void *opaque, struct display_text *text);
};

#endif
