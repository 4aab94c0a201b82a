// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "display.h"
#include "screenshot.h"

/* A mode change between get_info and render is retried this often. */
#define RENDER_TRIES 3

static const char *kind_name(enum display_kind k)
{
	return k == DISPLAY_TEXT ? "text" : k == DISPLAY_GRAPHICS ? "graphics" : "blank";
}

/*
 * The screen at its current size, as XRGB8888 (malloc'd), or NULL + message.
 * The mode may change between get_info and render (the guest runs on):
 * render says -EAGAIN and the size is asked again.
 */
static uint32_t *render_full(const struct display_ops *ops, void *opaque, unsigned int *w,
			     unsigned int *h, char *err, size_t errlen, int *ret)
{
	for (int i = 0; i < RENDER_TRIES; i++) {
		struct display_info info = { 0 };
		uint32_t *px;
		int r;

		ops->get_info(opaque, &info);
		if (info.kind == DISPLAY_BLANK || !info.width || !info.height) {
			snprintf(err, errlen, "the screen is blank (no display mode set)");
			*ret = -ENODATA;
			return NULL;
		}
		if (info.width > DISPLAY_MAX_WIDTH || info.height > DISPLAY_MAX_HEIGHT) {
			snprintf(err, errlen, "the display reports %ux%u, beyond %ux%u",
				 info.width, info.height, DISPLAY_MAX_WIDTH, DISPLAY_MAX_HEIGHT);
			*ret = -ERANGE;
			return NULL;
		}
		px = malloc((size_t)info.width * info.height * 4);
		if (!px) {
			snprintf(err, errlen, "no memory for a %ux%u screen", info.width, info.height);
			*ret = -ENOMEM;
			return NULL;
		}
		r = ops->render(opaque, px, (size_t)info.width * 4, info.width, info.height,
				NULL, 0, NULL);
		if (!r) {
			*w = info.width;
			*h = info.height;
			return px;
		}
		free(px);
		if (r != -EAGAIN) {
			snprintf(err, errlen, "rendering the %s screen (%ux%u): %s",
				 kind_name(info.kind), info.width, info.height, strerror(-r));
			*ret = r < 0 ? r : -EIO;
			return NULL;
		}
	}
	snprintf(err, errlen, "the display mode kept changing while rendering; try again");
	*ret = -EAGAIN;
	return NULL;
}

struct png_sink {
	int fd;
	off_t off;
	int err;      /* first write error, as errno */
};

static void sink_write(png_structp png, png_bytep data, size_t len)
{
	struct png_sink *s = png_get_io_ptr(png);

	while (len && !s->err) {
		ssize_t n = pwrite(s->fd, data, len, s->off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			s->err = n < 0 ? errno : ENOSPC;
			break;
		}
		s->off += n;
		data += n;
		len -= (size_t)n;
	}
	if (s->err)
		png_error(png, "write failed");   /* longjmps to write_png's setjmp */
}

static void sink_flush(png_structp png) { (void)png; }

/* libpng reports through here as well as through longjmp; the messages stay quiet. */
static void png_quiet(png_structp png, png_const_charp msg) { (void)png; (void)msg; }

static void png_fail(png_structp png, png_const_charp msg)
{
	(void)msg;
	png_longjmp(png, 1);
}

/* 8-bit RGB rows from XRGB8888 pixels; 0 or -errno. */
static int write_png(struct png_sink *sink, const uint32_t *px, unsigned int w, unsigned int h)
{
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, png_fail, png_quiet);
	png_infop info = png ? png_create_info_struct(png) : NULL;
	uint8_t *volatile row = NULL;
	volatile int ret = 0;

	if (!info) {
		png_destroy_write_struct(&png, NULL);
		return -ENOMEM;
	}
	if (setjmp(png_jmpbuf(png))) {
		ret = sink->err ? -sink->err : -EIO;
		goto out;
	}
	row = malloc((size_t)w * 3);
	if (!row) {
		ret = -ENOMEM;
		goto out;
	}
	png_set_write_fn(png, sink, sink_write, sink_flush);
	/* Screens compress well; the fastest level keeps the event loop's pause short. */
	png_set_compression_level(png, 1);
	png_set_IHDR(png, info, w, h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
		     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (unsigned int y = 0; y < h; y++) {
		const uint32_t *src = px + (size_t)y * w;

		for (unsigned int x = 0; x < w; x++) {
			row[3 * x] = (uint8_t)(src[x] >> 16);
			row[3 * x + 1] = (uint8_t)(src[x] >> 8);
			row[3 * x + 2] = (uint8_t)src[x];
		}
		png_write_row(png, row);
	}
	png_write_end(png, NULL);
out:
	free(row);
	png_destroy_write_struct(&png, &info);
	return ret;
}

int screenshot_png(const struct display_ops *ops, void *opaque, int fd,
		   unsigned int *width, unsigned int *height, char *err, size_t errlen)
{
	struct png_sink sink = { .fd = fd };
	struct stat st;
	uint32_t *px;
	int ret = 0;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "the descriptor passed is not a regular file");
		return -EINVAL;
	}
	px = render_full(ops, opaque, width, height, err, errlen, &ret);
	if (!px)
		return ret;
	if (ftruncate(fd, 0) < 0) {
		ret = -errno;
		snprintf(err, errlen, "the file passed cannot be written: %s", strerror(errno));
	} else {
		ret = write_png(&sink, px, *width, *height);
		if (ret)
			snprintf(err, errlen, "writing the PNG: %s", strerror(-ret));
	}
	free(px);
	return ret;
}

/* A growing text buffer; on allocation failure it stays failed (ok = false). */
struct textbuf {
	char *s;
	size_t len, cap;
	bool ok;
};

static void tb_printf(struct textbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tb_printf(struct textbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!b->ok)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n >= b->cap - b->len) {
		size_t cap = (b->cap + (size_t)n + 1) * 2;
		char *s = realloc(b->s, cap);

		if (!s) {
			b->ok = false;
			return;
		}
		b->s = s;
		b->cap = cap;
		va_start(ap, fmt);
		n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	if (n < 0)
		b->ok = false;
	else
		b->len += (size_t)n;
}

static void tb_hex(struct textbuf *b, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		tb_printf(b, "%02x", p[i]);
}

static void format_font(struct textbuf *b, const char *word, const uint8_t *font,
			unsigned int cell_height)
{
	for (unsigned int g = 0; g < DISPLAY_FONT_GLYPHS; g++) {
		tb_printf(b, "%s %02x ", word, g);
		tb_hex(b, font + (size_t)g * DISPLAY_FONT_STRIDE, cell_height);
		tb_printf(b, "\n");
	}
}

char *screentext_format(const struct display_ops *ops, void *opaque, size_t *len,
			char *err, size_t errlen)
{
	struct display_info info = { 0 };
	struct display_text *t;
	struct textbuf b = { .cap = 16384, .ok = true };
	bool two_fonts;
	unsigned int lines;
	int ret;

	ops->get_info(opaque, &info);
	if (info.kind != DISPLAY_TEXT) {
		if (info.kind == DISPLAY_BLANK)
			snprintf(err, errlen, "the screen is blank (no display mode set)");
		else
			snprintf(err, errlen, "the screen is in graphics mode (%ux%u, %u bpp): no text",
				 info.width, info.height, info.bpp);
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	b.s = malloc(b.cap);
	if (!t || !b.s) {
		free(t);
		free(b.s);
		snprintf(err, errlen, "no memory for the text screen");
		return NULL;
	}
	ret = ops->read_text(opaque, t);
	if (ret || !t->cols || t->cols > DISPLAY_TEXT_MAX_COLS || !t->rows ||
	    t->rows > DISPLAY_TEXT_MAX_ROWS || (t->cell_width != 8 && t->cell_width != 9) ||
	    !t->cell_height || t->cell_height > DISPLAY_FONT_STRIDE) {
		if (ret == -ENOTSUP)
			snprintf(err, errlen, "the screen left text mode meanwhile; try again");
		else if (ret)
			snprintf(err, errlen, "reading the text screen: %s", strerror(ret < 0 ? -ret : EIO));
		else
			snprintf(err, errlen, "the display reports an impossible text mode (%ux%u cells of %ux%u)",
				 t->cols, t->rows, t->cell_width, t->cell_height);
		free(t);
		free(b.s);
		return NULL;
	}
	two_fonts = memcmp(t->font, t->font_b, sizeof(t->font)) != 0;
	/* rows of text and of cells, the palette, one or two fonts, "end" */
	lines = 2 * t->rows + 1 + DISPLAY_FONT_GLYPHS * (two_fonts ? 2 : 1) + 1;
	tb_printf(&b, "ok screentext cols=%u rows=%u cell=%ux%u size=%ux%u cursor=%d,%d "
		  "cursor_lines=%u-%u blink=%d fonts=%d lines=%u\n",
		  t->cols, t->rows, t->cell_width, t->cell_height, info.width, info.height,
		  t->cursor_col, t->cursor_row, t->cursor_start, t->cursor_end,
		  t->blink_enabled ? 1 : 0, two_fonts ? 2 : 1, lines);
	for (unsigned int r = 0; r < t->rows; r++) {
		tb_printf(&b, "text %u ", r);
		for (unsigned int c = 0; c < t->cols; c++) {
			uint8_t ch = (uint8_t)t->cells[r * t->cols + c];

			/* Printable ASCII as is; code page 437's other glyphs (and NUL) as '.'/' '. */
			tb_printf(&b, "%c", ch >= 0x20 && ch < 0x7f ? ch : ch ? '.' : ' ');
		}
		tb_printf(&b, "\n");
	}
	for (unsigned int r = 0; r < t->rows; r++) {
		tb_printf(&b, "cells %u ", r);
		for (unsigned int c = 0; c < t->cols; c++) {
			uint16_t v = t->cells[r * t->cols + c];

			tb_printf(&b, "%02x%02x", v & 0xff, v >> 8);
		}
		tb_printf(&b, "\n");
	}
	tb_printf(&b, "palette");
	for (unsigned int i = 0; i < 16; i++)
		tb_printf(&b, " %06x", t->palette[i] & 0xffffff);
	tb_printf(&b, "\n");
	format_font(&b, "font", t->font, t->cell_height);
	if (two_fonts)
		format_font(&b, "fontb", t->font_b, t->cell_height);
	tb_printf(&b, "end\n");
	free(t);
	if (!b.ok) {
		free(b.s);
		snprintf(err, errlen, "no memory for the text screen");
		return NULL;
	}
	*len = b.len;
	return b.s;
}
