/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The VM window's arithmetic, kept apart from SDL so unit tests can check
 * it (tests/unit/test_window_geom.c): where the guest's picture goes in a
 * window of any size (scaled, aspect kept, black bars around it), where a
 * host pointer position lands in the guest's absolute pointer range, which
 * of the display's dirty rectangles are worth an upload, and how the
 * refresh timer backs off while nothing changes.
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

/* The refresh timer: fastest while the screen changes, backing off while idle. */
#define WINDOW_REFRESH_MIN_MS 16u     /* ~60 Hz, the rate of a typical host monitor */
#define WINDOW_REFRESH_MAX_MS 500u    /* an idle screen is looked at twice a second */

/* The next interval after a refresh that found (@changed) or did not find changes. */
unsigned int window_next_refresh_ms(unsigned int cur_ms, bool changed);

#endif
