// SPDX-License-Identifier: GPL-2.0-or-later
/* The input router: keys to the keyboard, the pointer to an active tablet or the mouse. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "input.h"

struct fake_input {
	bool active;
	unsigned int keys, last_key, rels, abss, x, y, buttons;
	bool last_down;
	int dx;
};

static void f_key(void *o, unsigned int code, bool down)
{
	struct fake_input *f = o;

	f->keys++;
	f->last_key = code;
	f->last_down = down;
}

static void f_rel(void *o, int dx, int dy, int dw, unsigned int buttons)
{
	struct fake_input *f = o;

	(void)dy;
	(void)dw;
	f->rels++;
	f->dx = dx;
	f->buttons = buttons;
}

static void f_abs(void *o, unsigned int x, unsigned int y, int dw, unsigned int buttons)
{
	struct fake_input *f = o;

	(void)dw;
	f->abss++;
	f->x = x;
	f->y = y;
	f->buttons = buttons;
}

static bool f_active(void *o) { return ((struct fake_input *)o)->active; }
static unsigned int f_leds(void *o) { (void)o; return INPUT_LED_CAPS; }

static const struct input_ops kbd_ops = { .caps = INPUT_CAP_KEYBOARD, .key = f_key, .leds = f_leds };
static const struct input_ops mouse_ops = { .caps = INPUT_CAP_REL, .rel = f_rel, .active = f_active };
static const struct input_ops tablet_ops = { .caps = INPUT_CAP_ABS, .abs = f_abs, .active = f_active };

static void test_nothing_published(void **state)
{
	struct input_router r;

	(void)state;
	input_router_init(&r);
	assert_int_equal(input_send_key(&r, 30, true), -ENODEV);
	assert_int_equal(input_send_rel(&r, 1, 1, 0, 0), -ENODEV);
	assert_int_equal(input_send_abs(&r, 1, 1, 0, 0), -ENODEV);
	assert_false(input_abs_active(&r));
	assert_int_equal(input_leds(&r), 0);
	input_router_destroy(&r);
}

static void test_routing(void **state)
{
	struct fake_input kbd = {0}, mouse = { .active = true }, tablet = {0};
	struct input_router r;

	(void)state;
	input_router_init(&r);
	input_router_publish(&r, &kbd_ops, &kbd);
	input_router_publish(&r, &mouse_ops, &mouse);
	input_router_publish(&r, &tablet_ops, &tablet);

	assert_int_equal(input_send_key(&r, 30, true), 0);
	assert_int_equal(kbd.keys, 1);
	assert_int_equal(kbd.last_key, 30);
	assert_true(kbd.last_down);
	assert_int_equal(input_leds(&r), INPUT_LED_CAPS);

	/* The tablet's driver is not running: the window must use the mouse. */
	assert_false(input_abs_active(&r));
	assert_int_equal(input_send_abs(&r, 100, 200, 0, 0), -ENODEV);
	assert_int_equal(tablet.abss, 0);
	assert_int_equal(input_send_rel(&r, -3, 0, 0, INPUT_BTN_LEFT), 0);
	assert_int_equal(mouse.dx, -3);
	assert_int_equal(mouse.buttons, INPUT_BTN_LEFT);

	tablet.active = true;
	assert_true(input_abs_active(&r));
	assert_int_equal(input_send_abs(&r, 0x10000, 5, 0, INPUT_BTN_RIGHT), 0);
	assert_int_equal(tablet.x, INPUT_ABS_MAX);   /* clamped */
	assert_int_equal(tablet.y, 5);

	/* Withdrawn devices get nothing more. */
	input_router_publish(&r, NULL, &kbd);
	assert_int_equal(input_send_key(&r, 31, true), -ENODEV);
	assert_int_equal(kbd.keys, 1);
	assert_int_equal(input_send_rel(&r, 1, 0, 0, 0), 0);
	input_router_destroy(&r);
}

static void test_prefers_active_mouse(void **state)
{
	struct fake_input idle = {0}, busy = { .active = true };
	struct input_router r;

	(void)state;
	input_router_init(&r);
	input_router_publish(&r, &mouse_ops, &idle);
	input_router_publish(&r, &mouse_ops, &busy);
	assert_int_equal(input_send_rel(&r, 2, 0, 0, 0), 0);
	assert_int_equal(busy.rels, 1);
	assert_int_equal(idle.rels, 0);
	busy.active = false;   /* none active: the first still gets it, as a PS/2 mouse would queue */
	assert_int_equal(input_send_rel(&r, 2, 0, 0, 0), 0);
	assert_int_equal(idle.rels, 1);
	input_router_destroy(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nothing_published),
		cmocka_unit_test(test_routing),
		cmocka_unit_test(test_prefers_active_mouse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
