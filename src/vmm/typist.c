// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The scripted keyboard (typist.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "event_loop.h"
#include "spec_item.h"
#include "ps2_keymap.h"
#include "typist.h"

#define KEY_LEFTSHIFT 42
#define KEY_ENTER     28
#define KEY_TAB       15
#define KEY_SPACE     57

/* A US keyboard: the key of each printable ASCII character, and whether it needs Shift. */
struct us_key {
	uint8_t key;
	bool shift;
};

static bool us_layout(unsigned char c, struct us_key *k)
{
	/* Rows of the keyboard as characters, in KEY_* order from the row's first code. */
	static const struct { uint8_t first; const char *plain, *shifted; } rows[] = {
		{ 2, "1234567890-=", "!@#$%^&*()_+" },
		{ 16, "qwertyuiop[]", "QWERTYUIOP{}" },
		{ 30, "asdfghjkl;'`", "ASDFGHJKL:\"~" },
		{ 43, "\\zxcvbnm,./", "|ZXCVBNM<>?" },
	};

	if (c == ' ') {
		*k = (struct us_key){ KEY_SPACE, false };
		return true;
	}
	if (c == '\n') {
		*k = (struct us_key){ KEY_ENTER, false };
		return true;
	}
	if (c == '\t') {
		*k = (struct us_key){ KEY_TAB, false };
		return true;
	}
	if (!c)
		return false;
	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		const char *p = strchr(rows[r].plain, c);

		if (p) {
			*k = (struct us_key){ (uint8_t)(rows[r].first + (p - rows[r].plain)), false };
			return true;
		}
		p = strchr(rows[r].shifted, c);
		if (p) {
			*k = (struct us_key){ (uint8_t)(rows[r].first + (p - rows[r].shifted)), true };
			return true;
		}
	}
	return false;
}

int typist_from_text(const char *text, size_t len, struct typist_event *out, unsigned int max,
		     unsigned int *n, char *err, size_t errlen)
{
	unsigned int m = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		struct us_key k;

		if (!us_layout(c, &k)) {
			if (c >= 0x20 && c < 0x7f)
				snprintf(err, errlen, "cannot type '%c' on a US keyboard", c);
			else
				snprintf(err, errlen, "cannot type the byte 0x%02x (character %zu) on a US keyboard",
					 c, i + 1);
			return -EINVAL;
		}
		if (m + (k.shift ? 4 : 2) > max) {
			snprintf(err, errlen, "text too long (more than %u key events)", max);
			return -E2BIG;
		}
		if (k.shift)
			out[m++] = (struct typist_event){ KEY_LEFTSHIFT, true };
		out[m++] = (struct typist_event){ k.key, true };
		out[m++] = (struct typist_event){ k.key, false };
		if (k.shift)
			out[m++] = (struct typist_event){ KEY_LEFTSHIFT, false };
	}
	*n = m;
	return 0;
}

int typist_from_scancodes(const char *hex, struct typist_event *out, unsigned int max,
			  unsigned int *n, char *err, size_t errlen)
{
	struct ps2_set1_decoder d;
	unsigned int m = 0, nbytes = 0;
	const char *p = hex;

	ps2_set1_decoder_init(&d);
	for (;;) {
		unsigned int key;
		bool down;
		int hi, lo, r;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		hi = spec_hex_digit(p[0]);
		lo = hi < 0 ? -1 : spec_hex_digit(p[1]);
		if (lo < 0 || (p[2] && p[2] != ' ' && p[2] != '\t')) {
			snprintf(err, errlen, "'%.8s' is not a scan code (two hex digits, e.g. 1e)", p);
			return -EINVAL;
		}
		p += 2;
		nbytes++;
		r = ps2_set1_decode(&d, (uint8_t)(hi << 4 | lo), &key, &down);
		if (r < 0) {
			snprintf(err, errlen, "no key sends the scan code %c%c (byte %u) in set 1",
				 p[-2], p[-1], nbytes);
			return -EINVAL;
		}
		if (r == 0)
			continue;
		if (m == max) {
			snprintf(err, errlen, "too many scan codes (more than %u key events)", max);
			return -E2BIG;
		}
		out[m++] = (struct typist_event){ (uint16_t)key, down };
	}
	if (d.prefix) {
		snprintf(err, errlen, "the scan codes end inside %s sequence",
			 d.prefix == 0xe1 ? "a Pause (e1)" : "an extended (e0)");
		return -EINVAL;
	}
	if (!nbytes) {
		snprintf(err, errlen, "expected scan codes (hex bytes, e.g. 1e 9e)");
		return -EINVAL;
	}
	*n = m;
	return 0;
}

/* The loop's tick (the owner's lock held): as many events as the keyboard takes. */
static void typist_tick(void *opaque)
{
	struct typist *t = opaque;
	long room = input_key_room(t->router);

	if (room < 0) {
		t->count = 0;   /* no keyboard at all: nothing will ever take them */
		return;
	}
	while (t->count && room > 0) {
		const struct typist_event *e = &t->ev[t->head];

		input_send_key(t->router, e->code, e->down);
		t->head = (t->head + 1) % TYPIST_MAX_EVENTS;
		t->count--;
		room--;
	}
	if (t->count)
		host_timer_arm(t->timer, event_loop_now_ns() + TYPIST_TICK_NS, 0);
}

int typist_init(struct typist *t, struct input_router *r, const struct host_loop_ops *ops,
		void *loop, pthread_mutex_t *lock)
{
	t->router = r;
	t->head = t->count = 0;
	t->timer = host_timer_new(ops, loop, lock, typist_tick, t);
	return t->timer ? 0 : -errno;
}

void typist_cancel(struct typist *t)
{
	t->count = 0;
	host_timer_cancel(t->timer);
}

void typist_free(struct typist *t)
{
	host_timer_free(t->timer);
	t->timer = NULL;
}

int typist_queue(struct typist *t, const struct typist_event *ev, unsigned int n)
{
	if (n > TYPIST_MAX_EVENTS - t->count)
		return -EBUSY;
	for (unsigned int i = 0; i < n; i++)
		t->ev[(t->head + t->count + i) % TYPIST_MAX_EVENTS] = ev[i];
	t->count += n;
	if (n)
		host_timer_arm(t->timer, event_loop_now_ns(), 0);   /* at once, on the loop */
	return 0;
}

unsigned int typist_pending(const struct typist *t)
{
	return t->count;
}
