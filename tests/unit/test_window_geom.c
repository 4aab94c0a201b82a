// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The VM window's arithmetic (src/frontend/window_geom.c): the picture
 * scaled into the window with its aspect kept, host pointer positions to
 * the tablet's 0..INPUT_ABS_MAX, the dirty rectangles clipped to the
 * texture, the refresh timer's back-off.
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

static void test_refresh_backoff(void **state)
{
	unsigned int ms = WINDOW_REFRESH_MIN_MS, steps = 0;

	(void)state;
	/* Changes keep the fastest rate. */
	assert_int_equal(window_next_refresh_ms(ms, true), WINDOW_REFRESH_MIN_MS);
	/* Idle looks back off, never below the minimum or above the maximum... */
	while (ms < WINDOW_REFRESH_MAX_MS) {
		unsigned int next = window_next_refresh_ms(ms, false);

		assert_true(next > ms);
		assert_true(next <= WINDOW_REFRESH_MAX_MS);
		ms = next;
		steps++;
	}
	/* ...reaching it within a few seconds of idling (a dozen looks). */
	assert_true(steps <= 12);
	assert_int_equal(window_next_refresh_ms(ms, false), WINDOW_REFRESH_MAX_MS);
	/* One change: straight back to the fastest. */
	assert_int_equal(window_next_refresh_ms(WINDOW_REFRESH_MAX_MS, true), WINDOW_REFRESH_MIN_MS);
	assert_int_equal(window_next_refresh_ms(0, false), WINDOW_REFRESH_MIN_MS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_letterbox),
		cmocka_unit_test(test_abs_pointer),
		cmocka_unit_test(test_clip_rects),
		cmocka_unit_test(test_refresh_backoff),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
