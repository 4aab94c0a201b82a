/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The VM window's arithmetic, kept apart from SDL so unit tests can check
 * it (tests/unit/test_window_geom.c): where the guest's picture goes in a
 * window of any size (scaled, aspect kept, black bars around it), where a
 * host pointer position lands in the guest's absolute pointer range, which
 * of the display's dirty rectangles are worth an upload, where a changed
 * part of the picture lands in a scaled window, and how the refresh timer
 * paces its looks.
 */
#ifndef HUTCH_WINDOW_GEOM_H
#define HUTCH_WINDOW_GEOM_H

#include <stdbool.h>

#include "display.h"

/* The picture's place in the window, in window pixels. */
struct window_view {
	int x, y, w, h;
};

/*
 * Scale a @src_w x @src_h picture to fit @win_w x @win_h keeping its
 * aspect, centred (letterbox or pillarbox).  An empty source or window
 * gives an empty view at 0,0.
 */
struct window_view window_letterbox(unsigned int src_w, unsigned int src_h, int win_w, int win_h);

/*
 * The absolute pointer position (0..INPUT_ABS_MAX, input.h) of window
 * point @wx,@wy over the picture @v; a point in the bars is clamped to the
 * picture's nearest edge.  False for an empty view.
 */
bool window_to_abs(const struct window_view *v, int wx, int wy, unsigned int *ax, unsigned int *ay);

/*
 * Clip @rects[0..n) to a @w x @h picture and drop the empty ones, in
 * place (a device reports rectangles of the mode it drew; one raced by a
 * mode change must not reach past the texture).  The count left.
 */
unsigned int window_clip_rects(struct display_rect *rects, unsigned int n, unsigned int w, unsigned int h);

/*
 * Where picture rectangle @r of a @src_w x @src_h picture shown scaled as
 * @v lands in the window: rounded outward and one pixel wider on each side
 * (a nearest-neighbour scaler's sample for a window pixel on the edge may
 * come from the next picture pixel), clipped to @v.  Empty (w or h 0) for
 * an empty picture, view or rectangle.
 */
struct window_view window_scale_rect(const struct window_view *v, unsigned int src_w, unsigned int src_h,
				     const struct display_rect *r);

/*
 * The refresh timer.  A look that finds nothing new backs off by half
 * again, up to WINDOW_REFRESH_MAX_MS, so an idle guest costs next to
 * nothing.  A look that finds a change after a quiet one is followed by
 * the fastest look (input's echo, a blinking cursor show at once), and so
 * is the first quiet look after changes.  While look after look finds
 * changes, the guest is drawing without pause and every look would show a
 * frame it is still in the middle of drawing: the interval grows by half
 * again up to WINDOW_REFRESH_BUSY_MS, so a busy guest's frames are shown
 * at most 1000 / WINDOW_REFRESH_BUSY_MS times a second, not 60.  (QEMU's
 * GUI looks every 30 ms whatever the guest does.)
 */
#define WINDOW_REFRESH_MIN_MS 16u     /* ~60 Hz, the rate of a typical host monitor */
#define WINDOW_REFRESH_BUSY_MS 40u    /* 25 Hz while the guest never stops drawing */
#define WINDOW_REFRESH_MAX_MS 500u    /* an idle screen is looked at twice a second */

/*
 * The next interval after a look at @cur_ms that found (@changed) or did
 * not find changes, when the look before it found (@changed_before) or
 * did not.
 */
unsigned int window_next_refresh_ms(unsigned int cur_ms, bool changed, bool changed_before);

#endif
