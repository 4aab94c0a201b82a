// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The VM window's arithmetic (src/frontend/window_geom.c): the picture
 * scaled into the window with its aspect kept, host pointer positions to
 * the tablet's 0..INPUT_ABS_MAX, the dirty rectangles clipped to the
 * picture, changed rectangles scaled into the window, the refresh timer's
 * pace (idle back-off, busy back-off).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "input.h"
#include "window_geom.h"

static void expect_view(struct window_view v, int x, int y, int w, int h)
{
	assert_int_equal(v.x, x);
	assert_int_equal(v.y, y);
	assert_int_equal(v.w, w);
	assert_int_equal(v.h, h);
}

static void test_letterbox(void **state)
{
	(void)state;
	/* Same size: 1:1 at the origin. */
	expect_view(window_letterbox(720, 400, 720, 400), 0, 0, 720, 400);
	/* Twice the size: exactly doubled. */
	expect_view(window_letterbox(640, 480, 1280, 960), 0, 0, 1280, 960);
	/* A 4:3 picture in a 16:9 window: bars left and right (pillarbox). */
	expect_view(window_letterbox(1024, 768, 1920, 1080), 240, 0, 1440, 1080);
	/* A 4:3 picture in a tall window: bars above and below (letterbox). */
	expect_view(window_letterbox(1024, 768, 1024, 1000), 0, 116, 1024, 768);
	/* Text mode 720x400 (9:5) in 1280x1024: width-limited, 711 high, centred. */
	expect_view(window_letterbox(720, 400, 1280, 1024), 0, 156, 1280, 711);
	/* Shrunk below the picture's size. */
	expect_view(window_letterbox(1024, 768, 512, 512), 0, 64, 512, 384);
	/* Never an empty picture in a non-empty window, however thin. */
	expect_view(window_letterbox(2560, 16, 100, 100), 0, 49, 100, 1);
	/* Nothing to show, or nowhere to show it. */
	expect_view(window_letterbox(0, 0, 800, 600), 0, 0, 0, 0);
	expect_view(window_letterbox(800, 600, 0, 600), 0, 0, 0, 0);
	expect_view(window_letterbox(800, 600, -5, 600), 0, 0, 0, 0);
}

static void test_abs_pointer(void **state)
{
	struct window_view v = window_letterbox(1024, 768, 1920, 1080);   /* 240,0 1440x1080 */
	struct window_view none = { 0, 0, 0, 0 };
	unsigned int x, y;

	(void)state;
	/* The picture's corners are the range's ends. */
	assert_true(window_to_abs(&v, 240, 0, &x, &y));
	assert_int_equal(x, 0);
	assert_int_equal(y, 0);
	assert_true(window_to_abs(&v, 240 + 1439, 1079, &x, &y));
	assert_int_equal(x, INPUT_ABS_MAX);
	assert_int_equal(y, INPUT_ABS_MAX);
	/* The middle is the middle (rounded to nearest). */
	assert_true(window_to_abs(&v, 240 + 719, 539, &x, &y));
	assert_int_equal(x, (719u * INPUT_ABS_MAX + 719) / 1439);
	assert_int_equal(y, (539u * INPUT_ABS_MAX + 539) / 1079);
	/* In the bars, or outside the window: clamped to the nearest edge. */
	assert_true(window_to_abs(&v, 10, 500, &x, &y));
	assert_int_equal(x, 0);
	assert_true(window_to_abs(&v, 1900, -20, &x, &y));
	assert_int_equal(x, INPUT_ABS_MAX);
	assert_int_equal(y, 0);
	assert_true(window_to_abs(&v, 5000, 5000, &x, &y));
	assert_int_equal(x, INPUT_ABS_MAX);
	assert_int_equal(y, INPUT_ABS_MAX);
	/* Monotonic across the picture: the guest's pointer never jumps back. */
	for (int px = 240, last = -1; px < 240 + 1440; px++) {
		assert_true(window_to_abs(&v, px, 0, &x, &y));
		assert_true((int)x > last);
		last = (int)x;
	}
	/* A 1:1 window: pixel p of a 1024-wide guest maps back to pixel p. */
	v = window_letterbox(1024, 768, 1024, 768);
	for (int px = 0; px < 1024; px++) {
		assert_true(window_to_abs(&v, px, 0, &x, &y));
		assert_int_equal((x * 1023u + INPUT_ABS_MAX / 2) / INPUT_ABS_MAX, (unsigned int)px);
	}
	assert_false(window_to_abs(&none, 1, 1, &x, &y));
}

static void test_clip_rects(void **state)
{
	struct display_rect r[] = {
		{ 0, 0, 1024, 16 },        /* inside: kept as is */
		{ 0, 760, 1024, 16 },      /* past the bottom: cut to 8 rows */
		{ 1000, 0, 100, 10 },      /* past the right: cut to 24 columns */
		{ 1024, 0, 10, 10 },       /* starts outside: dropped */
		{ 0, 768, 1024, 1 },       /* starts below: dropped */
		{ 5, 5, 0, 10 },           /* empty: dropped */
		{ 0, 100, 1024, 0xffffffffu },  /* huge: cut, no overflow */
	};
	unsigned int n = window_clip_rects(r, 7, 1024, 768);

	(void)state;
	assert_int_equal(n, 4);
	assert_int_equal(r[0].h, 16);
	assert_int_equal(r[1].y, 760);
	assert_int_equal(r[1].h, 8);
	assert_int_equal(r[2].x, 1000);
	assert_int_equal(r[2].w, 24);
	assert_int_equal(r[3].y, 100);
	assert_int_equal(r[3].h, 668);
	assert_int_equal(window_clip_rects(r, 0, 1024, 768), 0);
	/* A mode change shrank the picture: nothing of the old size survives. */
	r[0] = (struct display_rect){ 0, 400, 1024, 368 };
	assert_int_equal(window_clip_rects(r, 1, 720, 400), 0);
}

/* Every window pixel of @v whose nearest-neighbour sample lies in @r is inside @out. */
static void expect_covers(const struct window_view *v, unsigned int sw, unsigned int sh,
			  const struct display_rect *r, struct window_view out)
{
	for (int y = v->y; y < v->y + v->h; y++)
		for (int x = v->x; x < v->x + v->w; x++) {
			/* The sample SDL's scaler takes for the pixel's centre. */
			unsigned int sx = (unsigned int)(((long long)(x - v->x) * 2 + 1) * sw / (2LL * v->w));
			unsigned int sy = (unsigned int)(((long long)(y - v->y) * 2 + 1) * sh / (2LL * v->h));

			if (sx < r->x || sx >= r->x + r->w || sy < r->y || sy >= r->y + r->h)
				continue;
			assert_true(x >= out.x && x < out.x + out.w);
			assert_true(y >= out.y && y < out.y + out.h);
		}
	/* ...and never outside the picture. */
	if (out.w && out.h) {
		assert_true(out.x >= v->x && out.x + out.w <= v->x + v->w);
		assert_true(out.y >= v->y && out.y + out.h <= v->y + v->h);
	}
}

static void test_scale_rect(void **state)
{
	struct window_view v = window_letterbox(1024, 768, 1280, 1024);
	struct display_rect r = { 0, 0, 1024, 768 };
	struct window_view s;

	(void)state;
	/* The whole picture is the whole view. */
	s = window_scale_rect(&v, 1024, 768, &r);
	expect_view(s, v.x, v.y, v.w, v.h);
	/* Unscaled (1:1, offset by bars): one pixel wider each side, clipped to the picture. */
	v = (struct window_view){ 0, 66, 1024, 768 };
	r = (struct display_rect){ 10, 20, 30, 40 };
	expect_view(window_scale_rect(&v, 1024, 768, &r), 9, 85, 32, 42);
	r = (struct display_rect){ 0, 0, 5, 5 };
	expect_view(window_scale_rect(&v, 1024, 768, &r), 0, 66, 6, 6);
	/* Scaled up and down: every window pixel drawn from the rectangle is covered. */
	const struct { unsigned int sw, sh; int ww, wh; struct display_rect r; } cases[] = {
		{ 720, 400, 1280, 1024, { 9, 16, 9, 16 } },
		{ 720, 400, 1280, 1024, { 711, 384, 9, 16 } },
		{ 1024, 768, 512, 384, { 1, 1, 1, 1 } },
		{ 1024, 768, 600, 500, { 333, 0, 7, 768 } },
		{ 640, 480, 1917, 1080, { 100, 200, 3, 1 } },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		v = window_letterbox(cases[i].sw, cases[i].sh, cases[i].ww, cases[i].wh);
		s = window_scale_rect(&v, cases[i].sw, cases[i].sh, &cases[i].r);
		assert_true(s.w > 0 && s.h > 0);
		expect_covers(&v, cases[i].sw, cases[i].sh, &cases[i].r, s);
	}
	/* Nothing for an empty rectangle, one outside the picture, an empty view or picture. */
	v = window_letterbox(1024, 768, 1024, 768);
	r = (struct display_rect){ 10, 10, 0, 5 };
	assert_int_equal(window_scale_rect(&v, 1024, 768, &r).w, 0);
	r = (struct display_rect){ 1024, 0, 5, 5 };
	assert_int_equal(window_scale_rect(&v, 1024, 768, &r).w, 0);
	r = (struct display_rect){ 1000, 700, 0xffffffffu, 0xffffffffu };
	expect_view(window_scale_rect(&v, 1024, 768, &r), 999, 699, 25, 69);
	r = (struct display_rect){ 0, 0, 5, 5 };
	assert_int_equal(window_scale_rect(&v, 0, 768, &r).w, 0);
	v.w = 0;
	assert_int_equal(window_scale_rect(&v, 1024, 768, &r).w, 0);
}

static void test_refresh_backoff(void **state)
{
	unsigned int ms = WINDOW_REFRESH_MIN_MS, steps = 0;

	(void)state;
	/* A change after quiet looks: the fastest rate. */
	assert_int_equal(window_next_refresh_ms(ms, true, false), WINDOW_REFRESH_MIN_MS);
	/* Idle looks back off, never below the minimum or above the maximum... */
	while (ms < WINDOW_REFRESH_MAX_MS) {
		unsigned int next = window_next_refresh_ms(ms, false, false);

		assert_true(next > ms);
		assert_true(next <= WINDOW_REFRESH_MAX_MS);
		ms = next;
		steps++;
	}
	/* ...reaching it within a few seconds of idling (a dozen looks). */
	assert_true(steps <= 12);
	assert_int_equal(window_next_refresh_ms(ms, false, false), WINDOW_REFRESH_MAX_MS);
	/* One change: straight back to the fastest. */
	assert_int_equal(window_next_refresh_ms(WINDOW_REFRESH_MAX_MS, true, false), WINDOW_REFRESH_MIN_MS);
	assert_int_equal(window_next_refresh_ms(0, false, false), WINDOW_REFRESH_MIN_MS);
	assert_int_equal(window_next_refresh_ms(0, true, true), WINDOW_REFRESH_MIN_MS);
}

static void test_refresh_busy(void **state)
{
	unsigned int ms = WINDOW_REFRESH_MIN_MS, steps = 0;

	(void)state;
	/* Look after look finds changes: the interval grows to the busy rate, no further. */
	while (ms < WINDOW_REFRESH_BUSY_MS) {
		unsigned int next = window_next_refresh_ms(ms, true, true);

		assert_true(next > ms);
		ms = next;
		steps++;
	}
	assert_int_equal(ms, WINDOW_REFRESH_BUSY_MS);
	assert_true(steps <= 3);   /* within a tenth of a second of drawing */
	assert_int_equal(window_next_refresh_ms(ms, true, true), WINDOW_REFRESH_BUSY_MS);
	/* The first quiet look: the fastest again, then the idle back-off. */
	ms = window_next_refresh_ms(ms, false, true);
	assert_int_equal(ms, WINDOW_REFRESH_MIN_MS);
	assert_true(window_next_refresh_ms(ms, false, false) > WINDOW_REFRESH_MIN_MS);
	/* Changes on changes never look slower than the busy rate. */
	assert_int_equal(window_next_refresh_ms(WINDOW_REFRESH_MAX_MS, true, true), WINDOW_REFRESH_BUSY_MS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_letterbox),
		cmocka_unit_test(test_abs_pointer),
		cmocka_unit_test(test_clip_rects),
		cmocka_unit_test(test_scale_rect),
		cmocka_unit_test(test_refresh_backoff),
		cmocka_unit_test(test_refresh_busy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
