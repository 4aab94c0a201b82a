// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The manager's frame change detector (frame_diff.h).  The previous
 * frame's bytes are kept whole and compared with memcmp rather than
 * hashed: a list frame is about 100 KB, which memcpy and memcmp cover in
 * far fewer instructions than a hash would, and no collision can ever
 * hide a change.
 */
#include <stdlib.h>
#include <string.h>

#include "frame_diff.h"

void frame_diff_init(struct frame_diff *d)
{
	memset(d, 0, sizeof(*d));
}

void frame_diff_free(struct frame_diff *d)
{
	free(d->last);
	free(d->cur);
	frame_diff_init(d);
}

void frame_diff_begin(struct frame_diff *d)
{
	d->cur_len = 0;
	d->failed = false;
}

void frame_diff_add(struct frame_diff *d, const void *p, size_t len)
{
	if (d->failed || !len)
		return;
	if (len > d->cur_cap - d->cur_len) {
		size_t cap = d->cur_cap ? d->cur_cap : 4096;
		unsigned char *n;

		while (cap - d->cur_len < len) {
			if (cap > (size_t)-1 / 2) {
				d->failed = true;
				return;
			}
			cap *= 2;
		}
		n = realloc(d->cur, cap);
		if (!n) {
			d->failed = true;
			return;
		}
		d->cur = n;
		d->cur_cap = cap;
	}
	memcpy(d->cur + d->cur_len, p, len);
	d->cur_len += len;
}

bool frame_diff_end(struct frame_diff *d)
{
	unsigned char *buf;
	size_t cap;

	if (d->failed) {
		/* Drawn, but not remembered: nothing to compare the next frame with. */
		d->have_last = false;
		return true;
	}
	if (d->have_last && d->cur_len == d->last_len && (!d->cur_len || !memcmp(d->cur, d->last, d->cur_len)))
		return false;
	/* The two buffers trade places: this frame's becomes the last one. */
	buf = d->last;
	cap = d->last_cap;
	d->last = d->cur;
	d->last_cap = d->cur_cap;
	d->last_len = d->cur_len;
	d->cur = buf;
	d->cur_cap = cap;
	d->cur_len = 0;
	d->have_last = true;
	return true;
}

void frame_diff_forget(struct frame_diff *d)
{
	d->have_last = false;
}
