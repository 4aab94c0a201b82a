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

unsigned int window_next_refresh_ms(unsigned int cur_ms, bool changed)
{
	unsigned int next;

	if (changed || cur_ms < WINDOW_REFRESH_MIN_MS)
		return WINDOW_REFRESH_MIN_MS;
	/* Half again each idle look (QEMU's GUI timer backs off the same way). */
	next = cur_ms + cur_ms / 2;
	return next > WINDOW_REFRESH_MAX_MS ? WINDOW_REFRESH_MAX_MS : next;
}
