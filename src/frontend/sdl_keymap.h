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

#endif
