// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * PS/2 scan code sets 1 and 2 (ps2_keymap.h).
 *
 * One table: each key's Linux code, its set-1 make code and its set-2 make
 * code, 0xE0xx for the extended keys that send an 0xE0 prefix first.
 * Breaks follow from the makes: set 1 sets bit 7 of the code, set 2 sends
 * 0xF0 before it.  Linux's KEY_* codes 1-88 are the set-1 codes of the
 * same keys (the evdev numbering started from the XT keyboard), which the
 * unit test checks.  Print Screen and Pause send longer sequences and are
 * built in code.
 *
 * The i8042's translation is derived from the same table: a set-2 code
 * becomes the set-1 code of the same key, which is what the controller's
 * ROM table does for every code a key sends.  Codes no key sends pass
 * through unchanged, except set 2's overrun 0x00, which becomes set 1's
 * 0xFF.
 */
#include <stddef.h>

#include "ps2_keymap.h"

/* Linux KEY_* codes used beyond 1-88 (<linux/input-event-codes.h>). */
#define KEY_RO               89
#define KEY_KATAKANAHIRAGANA 93
#define KEY_HENKAN           92
#define KEY_MUHENKAN         94
#define KEY_KPENTER          96
#define KEY_RIGHTCTRL        97
#define KEY_KPSLASH          98
#define KEY_SYSRQ            99
#define KEY_RIGHTALT         100
#define KEY_HOME             102
#define KEY_UP               103
#define KEY_PAGEUP           104
#define KEY_LEFT             105
#define KEY_RIGHT            106
#define KEY_END              107
#define KEY_DOWN             108
#define KEY_PAGEDOWN         109
#define KEY_INSERT           110
#define KEY_DELETE           111
#define KEY_MUTE             113
#define KEY_VOLUMEDOWN       114
#define KEY_VOLUMEUP         115
#define KEY_POWER            116
#define KEY_PAUSE            119
#define KEY_YEN              124
#define KEY_LEFTMETA         125
#define KEY_RIGHTMETA        126
#define KEY_COMPOSE          127
#define KEY_SLEEP            142
#define KEY_WAKEUP           143

#define E0 0xe000u

struct keydef {
	uint16_t key;
	uint16_t set1, set2;
};

/* IBM PS/2 Keyboard Technical Reference, scan code sets 1 and 2. */
static const struct keydef keys[] = {
	{ 1, 0x01, 0x76 },          /* Esc */
	{ 2, 0x02, 0x16 }, { 3, 0x03, 0x1e }, { 4, 0x04, 0x26 }, { 5, 0x05, 0x25 },
	{ 6, 0x06, 0x2e }, { 7, 0x07, 0x36 }, { 8, 0x08, 0x3d }, { 9, 0x09, 0x3e },
	{ 10, 0x0a, 0x46 }, { 11, 0x0b, 0x45 },          /* 1 .. 0 */
	{ 12, 0x0c, 0x4e }, { 13, 0x0d, 0x55 },          /* - = */
	{ 14, 0x0e, 0x66 }, { 15, 0x0f, 0x0d },          /* Backspace, Tab */
	{ 16, 0x10, 0x15 }, { 17, 0x11, 0x1d }, { 18, 0x12, 0x24 }, { 19, 0x13, 0x2d },
	{ 20, 0x14, 0x2c }, { 21, 0x15, 0x35 }, { 22, 0x16, 0x3c }, { 23, 0x17, 0x43 },
	{ 24, 0x18, 0x44 }, { 25, 0x19, 0x4d },          /* Q .. P */
	{ 26, 0x1a, 0x54 }, { 27, 0x1b, 0x5b },          /* [ ] */
	{ 28, 0x1c, 0x5a }, { 29, 0x1d, 0x14 },          /* Enter, Left Ctrl */
	{ 30, 0x1e, 0x1c }, { 31, 0x1f, 0x1b }, { 32, 0x20, 0x23 }, { 33, 0x21, 0x2b },
	{ 34, 0x22, 0x34 }, { 35, 0x23, 0x33 }, { 36, 0x24, 0x3b }, { 37, 0x25, 0x42 },
	{ 38, 0x26, 0x4b },                               /* A .. L */
	{ 39, 0x27, 0x4c }, { 40, 0x28, 0x52 }, { 41, 0x29, 0x0e },   /* ; ' ` */
	{ 42, 0x2a, 0x12 }, { 43, 0x2b, 0x5d },          /* Left Shift, backslash */
	{ 44, 0x2c, 0x1a }, { 45, 0x2d, 0x22 }, { 46, 0x2e, 0x21 }, { 47, 0x2f, 0x2a },
	{ 48, 0x30, 0x32 }, { 49, 0x31, 0x31 }, { 50, 0x32, 0x3a },   /* Z .. M */
	{ 51, 0x33, 0x41 }, { 52, 0x34, 0x49 }, { 53, 0x35, 0x4a },   /* , . / */
	{ 54, 0x36, 0x59 }, { 55, 0x37, 0x7c },          /* Right Shift, keypad * */
	{ 56, 0x38, 0x11 }, { 57, 0x39, 0x29 }, { 58, 0x3a, 0x58 },   /* Left Alt, Space, Caps Lock */
	{ 59, 0x3b, 0x05 }, { 60, 0x3c, 0x06 }, { 61, 0x3d, 0x04 }, { 62, 0x3e, 0x0c },
	{ 63, 0x3f, 0x03 }, { 64, 0x40, 0x0b }, { 65, 0x41, 0x83 }, { 66, 0x42, 0x0a },
	{ 67, 0x43, 0x01 }, { 68, 0x44, 0x09 },          /* F1 .. F10 */
	{ 69, 0x45, 0x77 }, { 70, 0x46, 0x7e },          /* Num Lock, Scroll Lock */
	{ 71, 0x47, 0x6c }, { 72, 0x48, 0x75 }, { 73, 0x49, 0x7d }, { 74, 0x4a, 0x7b },
	{ 75, 0x4b, 0x6b }, { 76, 0x4c, 0x73 }, { 77, 0x4d, 0x74 }, { 78, 0x4e, 0x79 },
	{ 79, 0x4f, 0x69 }, { 80, 0x50, 0x72 }, { 81, 0x51, 0x7a }, { 82, 0x52, 0x70 },
	{ 83, 0x53, 0x71 },                               /* keypad 7 .. . */
	{ 86, 0x56, 0x61 },                               /* the 105th key (ISO <>) */
	{ 87, 0x57, 0x78 }, { 88, 0x58, 0x07 },          /* F11, F12 */
	/* Japanese keyboards */
	{ KEY_RO, 0x73, 0x51 }, { KEY_KATAKANAHIRAGANA, 0x70, 0x13 },
	{ KEY_HENKAN, 0x79, 0x64 }, { KEY_MUHENKAN, 0x7b, 0x67 }, { KEY_YEN, 0x7d, 0x6a },
	/* The extended keys */
	{ KEY_KPENTER, E0 | 0x1c, E0 | 0x5a }, { KEY_RIGHTCTRL, E0 | 0x1d, E0 | 0x14 },
	{ KEY_KPSLASH, E0 | 0x35, E0 | 0x4a }, { KEY_RIGHTALT, E0 | 0x38, E0 | 0x11 },
	{ KEY_HOME, E0 | 0x47, E0 | 0x6c }, { KEY_UP, E0 | 0x48, E0 | 0x75 },
	{ KEY_PAGEUP, E0 | 0x49, E0 | 0x7d }, { KEY_LEFT, E0 | 0x4b, E0 | 0x6b },
	{ KEY_RIGHT, E0 | 0x4d, E0 | 0x74 }, { KEY_END, E0 | 0x4f, E0 | 0x69 },
	{ KEY_DOWN, E0 | 0x50, E0 | 0x72 }, { KEY_PAGEDOWN, E0 | 0x51, E0 | 0x7a },
	{ KEY_INSERT, E0 | 0x52, E0 | 0x70 }, { KEY_DELETE, E0 | 0x53, E0 | 0x71 },
	{ KEY_LEFTMETA, E0 | 0x5b, E0 | 0x1f }, { KEY_RIGHTMETA, E0 | 0x5c, E0 | 0x27 },
	{ KEY_COMPOSE, E0 | 0x5d, E0 | 0x2f },
	{ KEY_MUTE, E0 | 0x20, E0 | 0x23 }, { KEY_VOLUMEDOWN, E0 | 0x2e, E0 | 0x21 },
	{ KEY_VOLUMEUP, E0 | 0x30, E0 | 0x32 }, { KEY_POWER, E0 | 0x5e, E0 | 0x37 },
	{ KEY_SLEEP, E0 | 0x5f, E0 | 0x3f }, { KEY_WAKEUP, E0 | 0x63, E0 | 0x5e },
	/* Print Screen: E0 37 / E0 7C, with fake shifts around it (below) */
	{ KEY_SYSRQ, E0 | 0x37, E0 | 0x7c },
};

#define NR_KEYS (sizeof(keys) / sizeof(keys[0]))

static const struct keydef *find_key(unsigned int key)
{
	for (size_t i = 0; i < NR_KEYS; i++)
		if (keys[i].key == key)
			return &keys[i];
	return NULL;
}

bool ps2_key_known(unsigned int key)
{
	return key == KEY_PAUSE || find_key(key) != NULL;
}

unsigned int ps2_keymap_keys(const uint16_t **list)
{
	static uint16_t codes[NR_KEYS + 1];

	for (size_t i = 0; i < NR_KEYS; i++)
		codes[i] = keys[i].key;
	codes[NR_KEYS] = KEY_PAUSE;
	*list = codes;
	return NR_KEYS + 1;
}

/* One code (0xE0xx = extended) made or broken in @set, appended at @out. */
static unsigned int put_code(unsigned int set, uint16_t code, bool down, uint8_t *out)
{
	unsigned int n = 0;

	if (code & E0)
		out[n++] = 0xe0;
	if (set == 1) {
		out[n++] = (uint8_t)((code & 0x7f) | (down ? 0 : 0x80));
	} else {
		if (!down)
			out[n++] = 0xf0;
		out[n++] = (uint8_t)code;
	}
	return n;
}

unsigned int ps2_key_bytes(unsigned int set, unsigned int key, bool down, uint8_t out[PS2_SEQ_MAX])
{
	const struct keydef *k;
	unsigned int n = 0;

	if (set != 1 && set != 2)
		return 0;
	if (key == KEY_PAUSE) {
		/* Ctrl+NumLock behind E1, make and break at once; no release code. */
		static const uint8_t pause1[] = { 0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5 };
		static const uint8_t pause2[] = { 0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77 };
		const uint8_t *p = set == 1 ? pause1 : pause2;

		if (!down)
			return 0;
		n = set == 1 ? sizeof(pause1) : sizeof(pause2);
		for (unsigned int i = 0; i < n; i++)
			out[i] = p[i];
		return n;
	}
	k = find_key(key);
	if (!k)
		return 0;
	if (key == KEY_SYSRQ) {
		/* A fake Left Shift press before Print Screen's make, release after its break. */
		uint16_t shift = (uint16_t)(E0 | (set == 1 ? 0x2a : 0x12));
		uint16_t code = set == 1 ? k->set1 : k->set2;

		if (down) {
			n = put_code(set, shift, true, out);
			n += put_code(set, code, true, out + n);
		} else {
			n = put_code(set, code, false, out);
			n += put_code(set, shift, false, out + n);
		}
		return n;
	}
	return put_code(set, set == 1 ? k->set1 : k->set2, down, out);
}

bool ps2_translate(uint8_t in, bool *f0_seen, uint8_t *out)
{
	uint8_t v = in;

	if (in == 0xf0) {
		*f0_seen = true;
		return false;
	}
	if (in == 0x00) {
		v = 0xff;   /* overrun */
	} else {
		for (size_t i = 0; i < NR_KEYS; i++) {
			if ((uint8_t)keys[i].set2 == in) {
				v = (uint8_t)keys[i].set1;
				break;
			}
		}
	}
	if (*f0_seen)
		v |= 0x80;
	*f0_seen = false;
	*out = v;
	return true;
}

void ps2_set1_decoder_init(struct ps2_set1_decoder *d)
{
	d->prefix = 0;
	d->pause_len = 0;
	d->pause_first = 0;
}

int ps2_set1_decode(struct ps2_set1_decoder *d, uint8_t b, unsigned int *key, bool *down)
{
	uint16_t code;

	if (d->prefix == 0xe1) {
		/* Pause: E1 1D 45 (its make) or E1 9D C5 (its break). */
		if (d->pause_len == 0 && (b == 0x1d || b == 0x9d)) {
			d->pause_first = b;
			d->pause_len = 1;
			return 0;
		}
		if (d->pause_len == 1 && b == (d->pause_first == 0x1d ? 0x45 : 0xc5)) {
			*key = KEY_PAUSE;
			*down = d->pause_first == 0x1d;
			ps2_set1_decoder_init(d);
			return 1;
		}
		ps2_set1_decoder_init(d);
		return -1;
	}
	if (b == 0xe0 || b == 0xe1) {
		d->prefix = b;
		d->pause_len = 0;
		return 0;
	}
	code = (uint16_t)((d->prefix == 0xe0 ? E0 : 0) | (b & 0x7f));
	d->prefix = 0;
	if (code == (E0 | 0x2a) || code == (E0 | 0x36))
		return 0;   /* Print Screen's (and some keyboards' Num Lock) fake shifts */
	for (size_t i = 0; i < NR_KEYS; i++) {
		if (keys[i].set1 == code) {
			*key = keys[i].key;
			*down = !(b & 0x80);
			return 1;
		}
	}
	return -1;
}
