/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PS/2 keyboard scan codes: Linux KEY_* codes (input.h) to the bytes a
 * keyboard sends in scan code set 1 (the XT set, what an i8042 translates
 * to and what VBoxManage's keyboardputscancode takes) and set 2 (the AT
 * set every PS/2 keyboard powers up in), and back.
 *
 * Sources (facts only): IBM PS/2 Keyboard Technical Reference (scan code
 * tables), Microsoft's "Keyboard Scan Code Specification" (the E0-prefixed
 * keys, Print Screen and Pause sequences).
 */
#ifndef HUTCH_PS2_KEYMAP_H
#define HUTCH_PS2_KEYMAP_H

#include <stdbool.h>
#include <stdint.h>

/* The longest sequence one key event sends (set 2's Pause: 8 bytes). */
#define PS2_SEQ_MAX 8

/*
 * The bytes @key sends when it goes down (@down) or up, in scan code set
 * @set (1 or 2), into @out.  Returns how many (0: a key this keyboard
 * does not have, or Pause's release, which sends nothing).
 */
unsigned int ps2_key_bytes(unsigned int set, unsigned int key, bool down,
			   uint8_t out[PS2_SEQ_MAX]);

/* Whether @key is on this keyboard (the 105 keys of a PC keyboard and a few more). */
bool ps2_key_known(unsigned int key);

/*
 * The i8042's set-2 -> set-1 translation (its command byte bit 6), one
 * byte from the keyboard at a time: *f0_seen carries the break prefix
 * (0xF0 is swallowed and sets bit 7 of the next code).  Returns true with
 * *out set when a byte goes to the host, false for a swallowed 0xF0.
 */
bool ps2_translate(uint8_t in, bool *f0_seen, uint8_t *out);

/*
 * Set-1 bytes (as keyboardputscancode takes them) back to key events.
 * Feed bytes one at a time; returns 1 with *key and *down set when a key
 * event is complete, 0 when more bytes are needed or the byte carries no
 * event (Print Screen's fake shifts), -1 for a code no key sends (the
 * decoder starts over).
 */
struct ps2_set1_decoder {
	uint8_t prefix;      /* 0, 0xE0, or 0xE1 (Pause) */
	uint8_t pause_len;   /* bytes of a Pause sequence seen after 0xE1 */
	uint8_t pause_first; /* the first of them (0x1D make, 0x9D break) */
};
void ps2_set1_decoder_init(struct ps2_set1_decoder *d);
int ps2_set1_decode(struct ps2_set1_decoder *d, uint8_t b, unsigned int *key, bool *down);

/* For tests: the keys of the table, in order; returns how many. */
unsigned int ps2_keymap_keys(const uint16_t **keys);

#endif
