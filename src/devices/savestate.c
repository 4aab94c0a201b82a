// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdlib.h>
#include <string.h>

#include "savestate.h"

void sv_writer_init(struct sv_writer *w)
{
	memset(w, 0, sizeof(*w));
}

void sv_writer_free(struct sv_writer *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

void sv_put_bytes(struct sv_writer *w, const void *p, size_t n)
{
	if (w->failed)
		return;
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap : 256;
		uint8_t *nb;

		while (cap < w->len + n)
			cap *= 2;
		nb = realloc(w->buf, cap);
		if (!nb) {
			w->failed = true;
			return;
		}
		w->buf = nb;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

/* Fields are little-endian whatever the host, so a state file moves between hosts. */
static void sv_put_le(struct sv_writer *w, uint64_t v, unsigned int n)
{
	uint8_t b[8];

	for (unsigned int i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	sv_put_bytes(w, b, n);
}

void sv_put_u8(struct sv_writer *w, uint8_t v) { sv_put_le(w, v, 1); }
void sv_put_u16(struct sv_writer *w, uint16_t v) { sv_put_le(w, v, 2); }
void sv_put_u32(struct sv_writer *w, uint32_t v) { sv_put_le(w, v, 4); }
void sv_put_u64(struct sv_writer *w, uint64_t v) { sv_put_le(w, v, 8); }

void sv_reader_init(struct sv_reader *r, const void *buf, size_t len)
{
	r->buf = buf;
	r->len = len;
	r->pos = 0;
	r->failed = false;
}

void sv_get_bytes(struct sv_reader *r, void *p, size_t n)
{
	if (r->failed || n > r->len - r->pos) {
		r->failed = true;
		memset(p, 0, n);
		return;
	}
	memcpy(p, r->buf + r->pos, n);
	r->pos += n;
}

static uint64_t sv_get_le(struct sv_reader *r, unsigned int n)
{
	uint8_t b[8];
	uint64_t v = 0;

	sv_get_bytes(r, b, n);
	for (unsigned int i = 0; i < n; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

uint8_t sv_get_u8(struct sv_reader *r) { return (uint8_t)sv_get_le(r, 1); }
uint16_t sv_get_u16(struct sv_reader *r) { return (uint16_t)sv_get_le(r, 2); }
uint32_t sv_get_u32(struct sv_reader *r) { return (uint32_t)sv_get_le(r, 4); }
uint64_t sv_get_u64(struct sv_reader *r) { return sv_get_le(r, 8); }

bool sv_reader_ok(const struct sv_reader *r, bool want_end)
{
	return !r->failed && (!want_end || r->pos == r->len);
}
