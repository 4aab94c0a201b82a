// SPDX-License-Identifier: GPL-2.0-or-later
/* The VM window's arithmetic (window_geom.h). */
#include "window_geom.h"
#include "input.h"

struct window_view window_letterbox(unsigned int src_w, unsigned int src_h, int win_w, int win_h)
{
	struct window_view v = { 0, 0, 0, 0 };
	long long sw = src_w, sh = src_h;

	if (!src_w || !src_h || win_w <= 0 || win_h <= 0)
		return v;
	/* Compare win_w / sw with win_h / sh without rounding: cross-multiply. */
	if ((long long)win_w * sh <= (long long)win_h * sw) {
		v.w = win_w;
		v.h = (int)(((long long)win_w * sh + sw / 2) / sw);
	} else {
		v.h = win_h;
		v.w = (int)(((long long)win_h * sw + sh / 2) / sh);
	}
	if (v.w < 1)
		v.w = 1;
	if (v.h < 1)
		v.h = 1;
	v.x = (win_w - v.w) / 2;
	v.y = (win_h - v.h) / 2;
	return v;
}

/* One axis: @p within [@origin, @origin + @len) to 0..INPUT_ABS_MAX, clamped. */
static unsigned int axis_to_abs(int p, int origin, int len)
{
	long long off = (long long)p - origin;

	if (off <= 0 || len <= 1)
		return 0;
	if (off >= len - 1)
		return INPUT_ABS_MAX;
	/* The first pixel is 0 and the last INPUT_ABS_MAX, as a tablet's range ends are. */
	return (unsigned int)((off * INPUT_ABS_MAX + (len - 1) / 2) / (len - 1));
}

bool window_to_abs(const struct window_view *v, int wx, int wy, unsigned int *ax, unsigned int *ay)
{
	if (v->w <= 0 || v->h <= 0)
		return false;
	*ax = axis_to_abs(wx, v->x, v->w);
	*ay = axis_to_abs(wy, v->y, v->h);
	return true;
}

unsigned int window_clip_rects(struct display_rect *rects, unsigned int n, unsigned int w, unsigned int h)
{
	unsigned int kept = 0;

	for (unsigned int i = 0; i < n; i++) {
		struct display_rect r = rects[i];

		if (r.x >= w || r.y >= h || !r.w || !r.h)
			continue;
		if (r.w > w - r.x)
			r.w = w - r.x;
		if (r.h > h - r.y)
			r.h = h - r.y;
		rects[kept++] = r;
	}
	return kept;
}

/* One axis: picture span [@a, @b) of @src to window pixels of a @len view at @origin, widened by one. */
static void scale_span(unsigned int a, unsigned int b, unsigned int src, int origin, int len, int *lo, int *hi)
{
	long long l = (long long)a * len / src - 1;
	long long h = ((long long)b * len + src - 1) / src + 1;

	if (l < 0)
		l = 0;
	if (h > len)
		h = len;
	*lo = origin + (int)l;
	*hi = origin + (int)h;
}

struct window_view window_scale_rect(const struct window_view *v, unsigned int src_w, unsigned int src_h,
				     const struct display_rect *r)
{
	struct window_view out = { v->x, v->y, 0, 0 };
	int x0, x1, y0, y1;

	if (!src_w || !src_h || v->w <= 0 || v->h <= 0 || !r->w || !r->h || r->x >= src_w || r->y >= src_h)
		return out;
	/* 64-bit ends: x + w of a rectangle a device reported may pass UINT_MAX. */
	scale_span(r->x, (unsigned int)((unsigned long long)r->x + r->w > src_w ? src_w : r->x + r->w),
		   src_w, v->x, v->w, &x0, &x1);
	scale_span(r->y, (unsigned int)((unsigned long long)r->y + r->h > src_h ? src_h : r->y + r->h),
		   src_h, v->y, v->h, &y0, &y1);
	out = (struct window_view){ x0, y0, x1 - x0, y1 - y0 };
	return out;
}

unsigned int window_next_refresh_ms(unsigned int cur_ms, bool changed, bool changed_before)
{
	unsigned int next;

	if (cur_ms < WINDOW_REFRESH_MIN_MS || changed != changed_before)
		return WINDOW_REFRESH_MIN_MS;
	/* Half again each look, busy or idle (QEMU's GUI timer backs off the same way when idle). */
	next = cur_ms + cur_ms / 2;
	if (changed)
		return next > WINDOW_REFRESH_BUSY_MS ? WINDOW_REFRESH_BUSY_MS : next;
	return next > WINDOW_REFRESH_MAX_MS ? WINDOW_REFRESH_MAX_MS : next;
}
