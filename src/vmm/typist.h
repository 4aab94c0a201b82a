/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The scripted keyboard behind the control requests keyboardputscancode
 * and keyboardputstring (VBoxManage's, which Packer types boot commands
 * with): text or set-1 scan codes become key events (Linux KEY_* codes)
 * that wait in a queue and go to the machine's input router (input.h)
 * from a loop timer, only as many at a time as the keyboard has room for
 * (input_key_room).  So a long string is not lost when the guest reads
 * slowly (a boot loader polling the keyboard, a guest with scanning off),
 * and the control thread never waits for the guest.
 */
#ifndef HUTCH_VMM_TYPIST_H
#define HUTCH_VMM_TYPIST_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host_loop.h"
#include "input.h"

#define TYPIST_MAX_EVENTS 8192
#define TYPIST_TICK_NS    5000000   /* 5 ms: ~1400 events/s against an i8042's 7 per tick */

struct typist_event {
	uint16_t code;   /* KEY_* */
	bool down;
};

struct typist {
	struct input_router *router;
	struct host_timer *timer;   /* runs under the lock given to typist_init */
	struct typist_event ev[TYPIST_MAX_EVENTS];
	unsigned int head, count;
};

/* @lock is the owner's (the control lock): every call but init/free under it. */
int typist_init(struct typist *t, struct input_router *r, const struct host_loop_ops *ops,
		void *loop, pthread_mutex_t *lock);
/* Forget what is pending and stop the timer (lock held). */
void typist_cancel(struct typist *t);
/* Free the timer (lock NOT held: a free waits for a running callback). */
void typist_free(struct typist *t);

/* Queue @n events behind those pending: -EBUSY (nothing queued) if they do not fit. */
int typist_queue(struct typist *t, const struct typist_event *ev, unsigned int n);
unsigned int typist_pending(const struct typist *t);

/*
 * Text typed on a US keyboard: letters, digits, punctuation and space,
 * with Shift where the character needs it, '\n' as Enter, '\t' as Tab.
 * Fills @out (at most @max events), sets *@n.  -EINVAL with a message
 * naming the first character no key of the layout types; -E2BIG if the
 * events do not fit in @max.
 */
int typist_from_text(const char *text, size_t len, struct typist_event *out, unsigned int max,
		     unsigned int *n, char *err, size_t errlen);
/*
 * Set-1 scan codes as hex bytes ("1e 9e e0 48 e0 c8"), as VBoxManage's
 * keyboardputscancode takes them, to key events.  -EINVAL with a message
 * for a token that is not one hex byte, a code no key sends, or a
 * sequence cut short; -E2BIG beyond @max events.
 */
int typist_from_scancodes(const char *hex, struct typist_event *out, unsigned int max,
			  unsigned int *n, char *err, size_t errlen);

#endif
