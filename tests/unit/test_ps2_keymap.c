// SPDX-License-Identifier: GPL-2.0-or-later
/* PS/2 scan code sets 1 and 2: every key of a 105-key keyboard, round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ps2_keymap.h"

/* The 105 keys of an ISO PC keyboard, as Linux KEY_* codes. */
static const unsigned int pc105[] = {
	1, 59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 87, 88,           /* Esc, F1-F12 */
	99, 70, 119,                                                 /* PrtSc, ScrLk, Pause */
	41, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,              /* ` 1..0 - = Bksp */
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28,      /* Tab Q..P [ ] Enter */
	58, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 43,          /* Caps A..L ; ' # */
	42, 86, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54,          /* LShift <> Z..M , . / RShift */
	29, 125, 56, 57, 100, 126, 127, 97,                          /* LCtrl Win Alt Space AltGr Win Menu RCtrl */
	110, 102, 104, 111, 107, 109,                                /* Ins Home PgUp Del End PgDn */
	103, 105, 108, 106,                                          /* arrows */
	69, 98, 55, 74, 71, 72, 73, 78, 75, 76, 77, 79, 80, 81, 96, 82, 83, /* keypad */
};

static void test_pc105_complete(void **state)
{
	uint8_t b[PS2_SEQ_MAX];

	(void)state;
	assert_int_equal(sizeof(pc105) / sizeof(pc105[0]), 105);
	for (size_t i = 0; i < 105; i++) {
		assert_true(ps2_key_known(pc105[i]));
		assert_true(ps2_key_bytes(1, pc105[i], true, b) > 0);
		assert_true(ps2_key_bytes(2, pc105[i], true, b) > 0);
		for (size_t j = 0; j < i; j++)
			assert_int_not_equal(pc105[i], pc105[j]);   /* no key listed twice */
	}
	assert_false(ps2_key_known(0));
	assert_false(ps2_key_known(240));
	assert_int_equal(ps2_key_bytes(1, 240, true, b), 0);
	assert_int_equal(ps2_key_bytes(3, 30, true, b), 0);   /* set 3 is not offered */
}

static void expect_seq(unsigned int set, unsigned int key, bool down, const uint8_t *want,
		       unsigned int n)
{
	uint8_t b[PS2_SEQ_MAX];

	assert_int_equal(ps2_key_bytes(set, key, down, b), n);
	assert_memory_equal(b, want, n);
}

static void test_known_sequences(void **state)
{
	(void)state;
	/* A: set 1 1E/9E, set 2 1C/F0 1C */
	expect_seq(1, 30, true, (const uint8_t[]){ 0x1e }, 1);
	expect_seq(1, 30, false, (const uint8_t[]){ 0x9e }, 1);
	expect_seq(2, 30, true, (const uint8_t[]){ 0x1c }, 1);
	expect_seq(2, 30, false, (const uint8_t[]){ 0xf0, 0x1c }, 2);
	/* F7 is the one set-2 code above 0x7F */
	expect_seq(2, 65, true, (const uint8_t[]){ 0x83 }, 1);
	/* Up arrow: extended */
	expect_seq(1, 103, true, (const uint8_t[]){ 0xe0, 0x48 }, 2);
	expect_seq(1, 103, false, (const uint8_t[]){ 0xe0, 0xc8 }, 2);
	expect_seq(2, 103, true, (const uint8_t[]){ 0xe0, 0x75 }, 2);
	expect_seq(2, 103, false, (const uint8_t[]){ 0xe0, 0xf0, 0x75 }, 3);
	/* Print Screen with its fake shifts */
	expect_seq(1, 99, true, (const uint8_t[]){ 0xe0, 0x2a, 0xe0, 0x37 }, 4);
	expect_seq(1, 99, false, (const uint8_t[]){ 0xe0, 0xb7, 0xe0, 0xaa }, 4);
	expect_seq(2, 99, true, (const uint8_t[]){ 0xe0, 0x12, 0xe0, 0x7c }, 4);
	expect_seq(2, 99, false, (const uint8_t[]){ 0xe0, 0xf0, 0x7c, 0xe0, 0xf0, 0x12 }, 6);
	/* Pause: all on the press, nothing on the release */
	expect_seq(1, 119, true, (const uint8_t[]){ 0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5 }, 6);
	expect_seq(2, 119, true, (const uint8_t[]){ 0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77 }, 8);
	expect_seq(1, 119, false, NULL, 0);
	/* Keypad Enter vs Enter, keypad / vs / */
	expect_seq(2, 96, true, (const uint8_t[]){ 0xe0, 0x5a }, 2);
	expect_seq(2, 28, true, (const uint8_t[]){ 0x5a }, 1);
	expect_seq(1, 98, true, (const uint8_t[]){ 0xe0, 0x35 }, 2);
	expect_seq(1, 53, true, (const uint8_t[]){ 0x35 }, 1);
}

/* Linux numbered KEY_* 1..88 after the XT keyboard's set-1 codes. */
static void test_set1_is_linux_numbering(void **state)
{
	uint8_t b[PS2_SEQ_MAX];

	(void)state;
	for (unsigned int key = 1; key <= 88; key++) {
		if (!ps2_key_known(key))
			continue;
		assert_int_equal(ps2_key_bytes(1, key, true, b), 1);
		assert_int_equal(b[0], key);
	}
}

/* Translate a set-2 sequence as the i8042 does. */
static unsigned int translate(const uint8_t *in, unsigned int n, uint8_t *out)
{
	bool f0 = false;
	unsigned int m = 0;

	for (unsigned int i = 0; i < n; i++)
		if (ps2_translate(in[i], &f0, &out[m]))
			m++;
	assert_false(f0);
	return m;
}

static void test_round_trips(void **state)
{
	const uint16_t *list;
	unsigned int nr = ps2_keymap_keys(&list);

	(void)state;
	assert_true(nr >= 105);
	for (unsigned int i = 0; i < nr; i++) {
		for (int down = 1; down >= 0; down--) {
			uint8_t s1[PS2_SEQ_MAX], s2[PS2_SEQ_MAX], tr[PS2_SEQ_MAX];
			unsigned int n1 = ps2_key_bytes(1, list[i], down, s1);
			unsigned int n2 = ps2_key_bytes(2, list[i], down, s2);
			struct ps2_set1_decoder d;
			unsigned int key = 0, events = 0;
			bool kdown = false;

			/* The i8042's translation of set 2 gives exactly set 1. */
			assert_int_equal(translate(s2, n2, tr), n1);
			assert_memory_equal(tr, s1, n1);
			/* Decoding set 1 gives back the key, once. */
			ps2_set1_decoder_init(&d);
			for (unsigned int j = 0; j < n1; j++) {
				int r = ps2_set1_decode(&d, s1[j], &key, &kdown);

				assert_true(r >= 0);
				if (r == 1) {
					events++;
					assert_int_equal(key, list[i]);
				}
			}
			if (list[i] == 119) {
				/* Pause: press and release on the press, nothing after */
				assert_int_equal(events, down ? 2 : 0);
			} else {
				assert_int_equal(events, 1);
				assert_int_equal(kdown, (bool)down);
			}
		}
	}
}

static void test_translate_other_bytes(void **state)
{
	bool f0 = false;
	uint8_t out;

	(void)state;
	/* Replies pass through; the ID's 0x83 becomes 0x41 (as for F7). */
	assert_true(ps2_translate(0xfa, &f0, &out));
	assert_int_equal(out, 0xfa);
	assert_true(ps2_translate(0xab, &f0, &out));
	assert_int_equal(out, 0xab);
	assert_true(ps2_translate(0x83, &f0, &out));
	assert_int_equal(out, 0x41);
	assert_true(ps2_translate(0x00, &f0, &out));
	assert_int_equal(out, 0xff);
	assert_false(ps2_translate(0xf0, &f0, &out));
	assert_true(f0);
	assert_true(ps2_translate(0x1c, &f0, &out));
	assert_int_equal(out, 0x9e);
	assert_false(f0);
}

static void test_decode_bad(void **state)
{
	struct ps2_set1_decoder d;
	unsigned int key;
	bool down;

	(void)state;
	ps2_set1_decoder_init(&d);
	assert_int_equal(ps2_set1_decode(&d, 0x54, &key, &down), -1);   /* no key sends 54 here */
	assert_int_equal(ps2_set1_decode(&d, 0xe1, &key, &down), 0);
	assert_int_equal(ps2_set1_decode(&d, 0x1d, &key, &down), 0);
	assert_int_equal(ps2_set1_decode(&d, 0x1e, &key, &down), -1);   /* broken Pause */
	assert_int_equal(ps2_set1_decode(&d, 0x1e, &key, &down), 1);    /* starts over: A */
	assert_int_equal(key, 30);
	assert_true(down);
	assert_int_equal(ps2_set1_decode(&d, 0xe0, &key, &down), 0);
	assert_int_equal(ps2_set1_decode(&d, 0x2a, &key, &down), 0);    /* fake shift */
	assert_int_equal(ps2_set1_decode(&d, 0xe0, &key, &down), 0);
	assert_int_equal(ps2_set1_decode(&d, 0xc8, &key, &down), 1);    /* Up released */
	assert_int_equal(key, 103);
	assert_false(down);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pc105_complete),
		cmocka_unit_test(test_known_sequences),
		cmocka_unit_test(test_set1_is_linux_numbering),
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_translate_other_bytes),
		cmocka_unit_test(test_decode_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
