// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The VM window's keymap (src/frontend/sdl_keymap.c): every key of a
 * 105-key PC keyboard, the modifiers, the keypad and the extended keys
 * reach the guest as its own Linux KEY_* code, no two keys as one, and
 * keys a PC keyboard lacks as nothing; the lock keys that bring the
 * guest's Caps/Num Lock to the host's state.
 */
#include <linux/input-event-codes.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <SDL_keycode.h>
#include <SDL_scancode.h>

#include "input.h"
#include "sdl_keymap.h"

/* A 105-key ISO keyboard, key by key, with what the guest must see. */
static const struct { int sc; unsigned int key; } pc105[] = {
	{ SDL_SCANCODE_ESCAPE, KEY_ESC },
	{ SDL_SCANCODE_F1, KEY_F1 }, { SDL_SCANCODE_F2, KEY_F2 }, { SDL_SCANCODE_F3, KEY_F3 },
	{ SDL_SCANCODE_F4, KEY_F4 }, { SDL_SCANCODE_F5, KEY_F5 }, { SDL_SCANCODE_F6, KEY_F6 },
	{ SDL_SCANCODE_F7, KEY_F7 }, { SDL_SCANCODE_F8, KEY_F8 }, { SDL_SCANCODE_F9, KEY_F9 },
	{ SDL_SCANCODE_F10, KEY_F10 }, { SDL_SCANCODE_F11, KEY_F11 }, { SDL_SCANCODE_F12, KEY_F12 },
	{ SDL_SCANCODE_PRINTSCREEN, KEY_SYSRQ }, { SDL_SCANCODE_SCROLLLOCK, KEY_SCROLLLOCK },
	{ SDL_SCANCODE_PAUSE, KEY_PAUSE },
	{ SDL_SCANCODE_GRAVE, KEY_GRAVE }, { SDL_SCANCODE_1, KEY_1 }, { SDL_SCANCODE_2, KEY_2 },
	{ SDL_SCANCODE_3, KEY_3 }, { SDL_SCANCODE_4, KEY_4 }, { SDL_SCANCODE_5, KEY_5 },
	{ SDL_SCANCODE_6, KEY_6 }, { SDL_SCANCODE_7, KEY_7 }, { SDL_SCANCODE_8, KEY_8 },
	{ SDL_SCANCODE_9, KEY_9 }, { SDL_SCANCODE_0, KEY_0 }, { SDL_SCANCODE_MINUS, KEY_MINUS },
	{ SDL_SCANCODE_EQUALS, KEY_EQUAL }, { SDL_SCANCODE_BACKSPACE, KEY_BACKSPACE },
	{ SDL_SCANCODE_TAB, KEY_TAB }, { SDL_SCANCODE_Q, KEY_Q }, { SDL_SCANCODE_W, KEY_W },
	{ SDL_SCANCODE_E, KEY_E }, { SDL_SCANCODE_R, KEY_R }, { SDL_SCANCODE_T, KEY_T },
	{ SDL_SCANCODE_Y, KEY_Y }, { SDL_SCANCODE_U, KEY_U }, { SDL_SCANCODE_I, KEY_I },
	{ SDL_SCANCODE_O, KEY_O }, { SDL_SCANCODE_P, KEY_P }, { SDL_SCANCODE_LEFTBRACKET, KEY_LEFTBRACE },
	{ SDL_SCANCODE_RIGHTBRACKET, KEY_RIGHTBRACE }, { SDL_SCANCODE_RETURN, KEY_ENTER },
	{ SDL_SCANCODE_CAPSLOCK, KEY_CAPSLOCK }, { SDL_SCANCODE_A, KEY_A }, { SDL_SCANCODE_S, KEY_S },
	{ SDL_SCANCODE_D, KEY_D }, { SDL_SCANCODE_F, KEY_F }, { SDL_SCANCODE_G, KEY_G },
	{ SDL_SCANCODE_H, KEY_H }, { SDL_SCANCODE_J, KEY_J }, { SDL_SCANCODE_K, KEY_K },
	{ SDL_SCANCODE_L, KEY_L }, { SDL_SCANCODE_SEMICOLON, KEY_SEMICOLON },
	{ SDL_SCANCODE_APOSTROPHE, KEY_APOSTROPHE }, { SDL_SCANCODE_BACKSLASH, KEY_BACKSLASH },
	{ SDL_SCANCODE_LSHIFT, KEY_LEFTSHIFT }, { SDL_SCANCODE_NONUSBACKSLASH, KEY_102ND },
	{ SDL_SCANCODE_Z, KEY_Z }, { SDL_SCANCODE_X, KEY_X }, { SDL_SCANCODE_C, KEY_C },
	{ SDL_SCANCODE_V, KEY_V }, { SDL_SCANCODE_B, KEY_B }, { SDL_SCANCODE_N, KEY_N },
	{ SDL_SCANCODE_M, KEY_M }, { SDL_SCANCODE_COMMA, KEY_COMMA }, { SDL_SCANCODE_PERIOD, KEY_DOT },
	{ SDL_SCANCODE_SLASH, KEY_SLASH }, { SDL_SCANCODE_RSHIFT, KEY_RIGHTSHIFT },
	{ SDL_SCANCODE_LCTRL, KEY_LEFTCTRL }, { SDL_SCANCODE_LGUI, KEY_LEFTMETA },
	{ SDL_SCANCODE_LALT, KEY_LEFTALT }, { SDL_SCANCODE_SPACE, KEY_SPACE },
	{ SDL_SCANCODE_RALT, KEY_RIGHTALT }, { SDL_SCANCODE_RGUI, KEY_RIGHTMETA },
	{ SDL_SCANCODE_APPLICATION, KEY_COMPOSE }, { SDL_SCANCODE_RCTRL, KEY_RIGHTCTRL },
	{ SDL_SCANCODE_INSERT, KEY_INSERT }, { SDL_SCANCODE_HOME, KEY_HOME },
	{ SDL_SCANCODE_PAGEUP, KEY_PAGEUP }, { SDL_SCANCODE_DELETE, KEY_DELETE },
	{ SDL_SCANCODE_END, KEY_END }, { SDL_SCANCODE_PAGEDOWN, KEY_PAGEDOWN },
	{ SDL_SCANCODE_UP, KEY_UP }, { SDL_SCANCODE_LEFT, KEY_LEFT }, { SDL_SCANCODE_DOWN, KEY_DOWN },
	{ SDL_SCANCODE_RIGHT, KEY_RIGHT },
	{ SDL_SCANCODE_NUMLOCKCLEAR, KEY_NUMLOCK }, { SDL_SCANCODE_KP_DIVIDE, KEY_KPSLASH },
	{ SDL_SCANCODE_KP_MULTIPLY, KEY_KPASTERISK }, { SDL_SCANCODE_KP_MINUS, KEY_KPMINUS },
	{ SDL_SCANCODE_KP_7, KEY_KP7 }, { SDL_SCANCODE_KP_8, KEY_KP8 }, { SDL_SCANCODE_KP_9, KEY_KP9 },
	{ SDL_SCANCODE_KP_PLUS, KEY_KPPLUS }, { SDL_SCANCODE_KP_4, KEY_KP4 },
	{ SDL_SCANCODE_KP_5, KEY_KP5 }, { SDL_SCANCODE_KP_6, KEY_KP6 }, { SDL_SCANCODE_KP_1, KEY_KP1 },
	{ SDL_SCANCODE_KP_2, KEY_KP2 }, { SDL_SCANCODE_KP_3, KEY_KP3 },
	{ SDL_SCANCODE_KP_ENTER, KEY_KPENTER }, { SDL_SCANCODE_KP_0, KEY_KP0 },
	{ SDL_SCANCODE_KP_PERIOD, KEY_KPDOT },
};

static void test_pc105(void **state)
{
	size_t n = sizeof(pc105) / sizeof(pc105[0]);

	(void)state;
	assert_int_equal(n, 105);
	for (size_t i = 0; i < n; i++) {
		if (sdl_scancode_to_linux(pc105[i].sc) != pc105[i].key)
			fail_msg("SDL scancode %d: KEY %u, expected %u", pc105[i].sc,
				 sdl_scancode_to_linux(pc105[i].sc), pc105[i].key);
		/* No two keys of the keyboard are one key to the guest. */
		for (size_t j = 0; j < i; j++)
			assert_int_not_equal(pc105[i].key, pc105[j].key);
	}
}

static void test_other_keyboards(void **state)
{
	(void)state;
	/* The ANSI/ISO key left of Enter is one PS/2 key, whatever SDL calls it. */
	assert_int_equal(sdl_scancode_to_linux(SDL_SCANCODE_NONUSHASH), KEY_BACKSLASH);
	/* Japanese and Korean keys. */
	assert_int_equal(sdl_scancode_to_linux(SDL_SCANCODE_INTERNATIONAL1), KEY_RO);
	assert_int_equal(sdl_scancode_to_linux(SDL_SCANCODE_INTERNATIONAL3), KEY_YEN);
	assert_int_equal(sdl_scancode_to_linux(SDL_SCANCODE_LANG1), KEY_HANGEUL);
	/* Media keys. */
	assert_int_equal(sdl_scancode_to_linux(SDL_SCANCODE_MUTE), KEY_MUTE);
	assert_int_equal(sdl_scancode_to_linux(SDL_SCANCODE_VOLUMEUP), KEY_VOLUMEUP);
}

static void test_unknown_keys(void **state)
{
	(void)state;
	assert_int_equal(sdl_scancode_to_linux(SDL_SCANCODE_UNKNOWN), 0);
	assert_int_equal(sdl_scancode_to_linux(-1), 0);
	assert_int_equal(sdl_scancode_to_linux(SDL_NUM_SCANCODES), 0);
	assert_int_equal(sdl_scancode_to_linux(100000), 0);
	/* Every mapped code is a key code the router and PS/2 accept (below KEY_MAX). */
	for (int sc = 0; sc < SDL_NUM_SCANCODES; sc++)
		assert_true(sdl_scancode_to_linux(sc) < KEY_MAX);
}

static void test_lock_sync(void **state)
{
	unsigned int codes[2];

	(void)state;
	/* In step: nothing to press (Scroll Lock and other modifiers do not count). */
	assert_int_equal(sdl_lock_keys_to_sync(0, 0, codes), 0);
	assert_int_equal(sdl_lock_keys_to_sync(KMOD_CAPS | KMOD_LSHIFT, INPUT_LED_CAPS | INPUT_LED_SCROLL, codes), 0);
	assert_int_equal(sdl_lock_keys_to_sync(KMOD_NUM | KMOD_CAPS, INPUT_LED_NUM | INPUT_LED_CAPS, codes), 0);
	/* Host Caps Lock on, the guest's off: press it in the guest; and the other way round. */
	assert_int_equal(sdl_lock_keys_to_sync(KMOD_CAPS, 0, codes), 1);
	assert_int_equal(codes[0], KEY_CAPSLOCK);
	assert_int_equal(sdl_lock_keys_to_sync(0, INPUT_LED_CAPS, codes), 1);
	assert_int_equal(codes[0], KEY_CAPSLOCK);
	/* Both out of step: both keys. */
	assert_int_equal(sdl_lock_keys_to_sync(KMOD_NUM, INPUT_LED_CAPS, codes), 2);
	assert_int_equal(codes[0], KEY_CAPSLOCK);
	assert_int_equal(codes[1], KEY_NUMLOCK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pc105),
		cmocka_unit_test(test_other_keyboards),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_lock_sync),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
