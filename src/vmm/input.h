/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The machine's input router: input devices publish themselves here
 * (dev_host.input_publish, src/devices/input.h) and frontends send events
 * here without knowing which device takes them.  Keys go to the first
 * keyboard published; the pointer goes to an active absolute device (the
 * virtio tablet, once the guest's driver runs), otherwise as relative
 * motion to the PS/2 mouse.
 *
 * Any thread but a vCPU's may call these.  The router's lock is held while
 * a device's op runs (lock order: router, then the device), which is why a
 * device publishes only from create()/destroy(), never from an op.
 */
#ifndef HUTCH_VMM_INPUT_H
#define HUTCH_VMM_INPUT_H

#include <pthread.h>
#include <stdbool.h>

#include "../devices/input.h"

#define INPUT_MAX_DEVICES 8

struct input_router {
	pthread_mutex_t lock;
	struct {
		const struct input_ops *ops;
		void *opaque;
	} dev[INPUT_MAX_DEVICES];
	unsigned int nr;
};

void input_router_init(struct input_router *r);
void input_router_destroy(struct input_router *r);
/* dev_host.input_publish: @opaque is the router; NULL @ops withdraws @dev_opaque's inputs. */
void input_router_publish(void *opaque, const struct input_ops *ops, void *dev_opaque);

/* -ENODEV when no device takes the event. */
int input_send_key(struct input_router *r, unsigned int code, bool down);
int input_send_rel(struct input_router *r, int dx, int dy, int dwheel, unsigned int buttons);
/* Only to an active absolute device: -ENODEV otherwise (send relative motion then). */
int input_send_abs(struct input_router *r, unsigned int x, unsigned int y, int dwheel,
		   unsigned int buttons);
/* Whether an absolute pointer is active now (the window need not capture the pointer). */
bool input_abs_active(struct input_router *r);
/* The keyboard's LEDs (INPUT_LED_*), 0 without a keyboard. */
unsigned int input_leds(struct input_router *r);
/* Key events the keyboard takes now (input_ops.key_room; UINT_MAX if it
 * says nothing), -ENODEV without a keyboard. */
long input_key_room(struct input_router *r);

#endif
