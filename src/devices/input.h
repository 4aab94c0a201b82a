/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The input interface: what an input device (the i8042's PS/2 keyboard and
 * mouse, a virtio-input tablet) publishes and what frontends (the SDL
 * window, the control socket's keyboardputscancode/keyboardputstring) feed.
 * Frontends know no device: they send keys as Linux evdev codes
 * (<linux/input-event-codes.h> KEY_*, the one key space every layer can map
 * to: SDL scancodes, PS/2 sets 1 and 2, virtio-input's own events) and the
 * pointer as relative motion or as an absolute position scaled to
 * 0..INPUT_ABS_MAX across the screen.
 *
 * A device publishes each of its inputs once, in create(), through
 * dev_host.input_publish, and withdraws them in destroy() (NULL ops, the
 * same dev_opaque).  The ops may be called from any thread but a vCPU's;
 * the device takes its own lock inside them and never calls back into the
 * publisher from them.  An event the guest is not ready for (its queue
 * full, the device disabled) is dropped, as on real hardware; it never
 * blocks.
 */
#ifndef HUTCH_INPUT_H
#define HUTCH_INPUT_H

#include <stdbool.h>

/* Absolute pointer coordinates run 0..INPUT_ABS_MAX on both axes. */
#define INPUT_ABS_MAX 0x7fffu

/* Pointer buttons, as a mask of those held down. */
#define INPUT_BTN_LEFT   0x1u
#define INPUT_BTN_RIGHT  0x2u
#define INPUT_BTN_MIDDLE 0x4u

/* Keyboard LEDs, as the guest last set them. */
#define INPUT_LED_SCROLL 0x1u
#define INPUT_LED_NUM    0x2u
#define INPUT_LED_CAPS   0x4u

/* What one published input takes (struct input_ops.caps). */
#define INPUT_CAP_KEYBOARD 0x1u   /* key() */
#define INPUT_CAP_REL      0x2u   /* rel(): a mouse */
#define INPUT_CAP_ABS      0x4u   /* abs(): a tablet */

struct input_ops {
	unsigned int caps;
	/* A key went down (@down) or up: @code is a Linux KEY_* code. */
	void (*key)(void *opaque, unsigned int code, bool down);
	/* Relative motion (+x right, +y down), wheel steps (+ away from the
	 * user, i.e. scroll up) and the buttons now held. */
	void (*rel)(void *opaque, int dx, int dy, int dwheel, unsigned int buttons);
	/* An absolute position (0..INPUT_ABS_MAX each), wheel steps, buttons. */
	void (*abs)(void *opaque, unsigned int x, unsigned int y, int dwheel, unsigned int buttons);
	/* Whether the guest drives the device now (a PS/2 mouse with
	 * reporting enabled, a virtio device with DRIVER_OK): the router sends
	 * the pointer to an active tablet, else to the mouse.  NULL = always. */
	bool (*active)(void *opaque);
	/* The keyboard LEDs (INPUT_LED_*) as the guest set them; NULL = none. */
	unsigned int (*leds)(void *opaque);
	/* How many more key events the keyboard takes now without dropping
	 * one (its queue's free space): what paces a scripted keyboard
	 * (keyboardputstring).  0 while the guest reads nothing or has
	 * scanning off.  NULL = no limit known. */
	unsigned int (*key_room)(void *opaque);
};

#endif
