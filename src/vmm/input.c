// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The input router (input.h): which device gets a key or the pointer.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "input.h"

void input_router_init(struct input_router *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
}

void input_router_destroy(struct input_router *r)
{
	pthread_mutex_destroy(&r->lock);
}

void input_router_publish(void *opaque, const struct input_ops *ops, void *dev_opaque)
{
	struct input_router *r = opaque;
	unsigned int i, j;

	pthread_mutex_lock(&r->lock);
	if (!ops) {
		for (i = j = 0; i < r->nr; i++)
			if (r->dev[i].opaque != dev_opaque)
				r->dev[j++] = r->dev[i];
		r->nr = j;
	} else if (r->nr < INPUT_MAX_DEVICES) {
		r->dev[r->nr].ops = ops;
		r->dev[r->nr].opaque = dev_opaque;
		r->nr++;
	} else {
		/* A fixed machine has a handful of inputs; more is a wiring bug. */
		fprintf(stderr, "hutch-vm: more than %d input devices; one is ignored\n",
			INPUT_MAX_DEVICES);
	}
	pthread_mutex_unlock(&r->lock);
}

static bool dev_active(const struct input_router *r, unsigned int i)
{
	return !r->dev[i].ops->active || r->dev[i].ops->active(r->dev[i].opaque);
}

/* The first device with @cap, preferring one the guest drives. Under lock. */
static int find(const struct input_router *r, unsigned int cap, bool active_only)
{
	int any = -1;

	for (unsigned int i = 0; i < r->nr; i++) {
		if (!(r->dev[i].ops->caps & cap))
			continue;
		if (dev_active(r, i))
			return (int)i;
		if (any < 0)
			any = (int)i;
	}
	return active_only ? -1 : any;
}

int input_send_key(struct input_router *r, unsigned int code, bool down)
{
	int i;

	pthread_mutex_lock(&r->lock);
	i = find(r, INPUT_CAP_KEYBOARD, false);
	if (i >= 0)
		r->dev[i].ops->key(r->dev[i].opaque, code, down);
	pthread_mutex_unlock(&r->lock);
	return i >= 0 ? 0 : -ENODEV;
}

int input_send_rel(struct input_router *r, int dx, int dy, int dwheel, unsigned int buttons)
{
	int i;

	pthread_mutex_lock(&r->lock);
	i = find(r, INPUT_CAP_REL, false);
	if (i >= 0)
		r->dev[i].ops->rel(r->dev[i].opaque, dx, dy, dwheel, buttons);
	pthread_mutex_unlock(&r->lock);
	return i >= 0 ? 0 : -ENODEV;
}

int input_send_abs(struct input_router *r, unsigned int x, unsigned int y, int dwheel,
		   unsigned int buttons)
{
	int i;

	if (x > INPUT_ABS_MAX)
		x = INPUT_ABS_MAX;
	if (y > INPUT_ABS_MAX)
		y = INPUT_ABS_MAX;
	pthread_mutex_lock(&r->lock);
	i = find(r, INPUT_CAP_ABS, true);
	if (i >= 0)
		r->dev[i].ops->abs(r->dev[i].opaque, x, y, dwheel, buttons);
	pthread_mutex_unlock(&r->lock);
	return i >= 0 ? 0 : -ENODEV;
}

bool input_abs_active(struct input_router *r)
{
	bool on;

	pthread_mutex_lock(&r->lock);
	on = find(r, INPUT_CAP_ABS, true) >= 0;
	pthread_mutex_unlock(&r->lock);
	return on;
}

unsigned int input_leds(struct input_router *r)
{
	unsigned int leds = 0;
	int i;

	pthread_mutex_lock(&r->lock);
	i = find(r, INPUT_CAP_KEYBOARD, false);
	if (i >= 0 && r->dev[i].ops->leds)
		leds = r->dev[i].ops->leds(r->dev[i].opaque);
	pthread_mutex_unlock(&r->lock);
	return leds;
}

long input_key_room(struct input_router *r)
{
	long room = -ENODEV;
	int i;

	pthread_mutex_lock(&r->lock);
	i = find(r, INPUT_CAP_KEYBOARD, false);
	if (i >= 0)
		room = r->dev[i].ops->key_room ? (long)r->dev[i].ops->key_room(r->dev[i].opaque) :
						   (long)UINT_MAX;
	pthread_mutex_unlock(&r->lock);
	return room;
}
