/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * SDL scancodes (the physical key, USB HID usage page 7 numbering) to the
 * Linux KEY_* codes the machine's input router takes (src/devices/input.h).
 * Scancodes, not keysyms: the guest applies its own keyboard layout, as on
 * a real PC, so the host's layout must not be applied twice.
 */
#ifndef HUTCH_SDL_KEYMAP_H
#define HUTCH_SDL_KEYMAP_H

/* KEY_* for SDL scancode @scancode, or 0 (KEY_RESERVED) for a key a PC keyboard lacks. */
unsigned int sdl_scancode_to_linux(int scancode);

/*
 * The lock keys to press in the guest so that its Caps Lock and Num Lock
 * (@guest_leds, INPUT_LED_* as the guest last set its keyboard's LEDs)
 * match the host's (@host_mods, SDL's KMOD_* state), as VirtualBox syncs
 * them when its window gets the focus: KEY_CAPSLOCK and/or KEY_NUMLOCK
 * into @codes, their number returned (0..2).  Scroll Lock is left alone:
 * X has usually no modifier for it, so SDL does not know the host's.
 */
unsigned int sdl_lock_keys_to_sync(unsigned int host_mods, unsigned int guest_leds, unsigned int codes[2]);

#endif
