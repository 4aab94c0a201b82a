// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The manager's frame change detector (src/frontend/manager/frame_diff.c):
 * a frame is drawn only when its bytes differ from the last frame drawn,
 * and the first frame and one after frame_diff_forget always are.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "frame_diff.h"

/* One frame made of the given strings, each fed as its own chunk; true if it is to be drawn. */
static bool frame(struct frame_diff *d, const char *a, const char *b)
{
	frame_diff_begin(d);
	frame_diff_add(d, a, strlen(a));
	if (b)
		frame_diff_add(d, b, strlen(b));
	return frame_diff_end(d);
}

static void test_same_and_changed(void **state)
{
	struct frame_diff d;

	(void)state;
	frame_diff_init(&d);
	assert_true(frame(&d, "list", "alpha powered off"));	/* nothing drawn yet */
	assert_false(frame(&d, "list", "alpha powered off"));
	assert_false(frame(&d, "list", "alpha powered off"));
	assert_true(frame(&d, "list", "alpha running"));	/* shorter */
	assert_false(frame(&d, "list", "alpha running"));
	assert_true(frame(&d, "list", "alpha runninG"));	/* same length, last byte */
	assert_true(frame(&d, "list", "alpha runninG and more"));	/* longer, same start */
	assert_true(frame(&d, "list", NULL));			/* a prefix of the last one */
	/* A frame back to an older picture is a change from the last one drawn. */
	assert_true(frame(&d, "list", "alpha powered off"));
	frame_diff_free(&d);
}

static void test_forget(void **state)
{
	struct frame_diff d;

	(void)state;
	frame_diff_init(&d);
	assert_true(frame(&d, "list", "x"));
	/* The window was exposed or resized: the same picture is drawn again, once. */
	frame_diff_forget(&d);
	assert_true(frame(&d, "list", "x"));
	assert_false(frame(&d, "list", "x"));
	frame_diff_free(&d);
}

static void test_empty_and_large(void **state)
{
	static unsigned char big[300000];	/* more than the first buffer: it grows */
	struct frame_diff d;

	(void)state;
	frame_diff_init(&d);
	frame_diff_begin(&d);
	assert_true(frame_diff_end(&d));		/* an empty frame is a frame */
	frame_diff_begin(&d);
	assert_false(frame_diff_end(&d));
	memset(big, 0x5a, sizeof(big));
	for (int i = 0; i < 2; i++) {
		frame_diff_begin(&d);
		frame_diff_add(&d, big, sizeof(big));
		frame_diff_add(&d, big, 1000);
		assert_int_equal(frame_diff_end(&d), i == 0);
	}
	big[sizeof(big) - 1] ^= 1;
	frame_diff_begin(&d);
	frame_diff_add(&d, big, sizeof(big));
	frame_diff_add(&d, big, 1000);
	assert_true(frame_diff_end(&d));
	frame_diff_free(&d);
	/* After free it is empty again, and usable. */
	assert_true(frame(&d, "a", NULL));
	frame_diff_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_and_changed),
		cmocka_unit_test(test_forget),
		cmocka_unit_test(test_empty_and_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
