/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Versioned, field-by-field device state for snapshots and migration.
 *
 * A device's save() appends little-endian fields to an sv_writer; its
 * load() reads them back from an sv_reader with the version the saver
 * wrote.  Readers are bounds-checked: a short or corrupt stream makes
 * every later get fail and sv_reader_ok() false, so load() can read
 * all fields and check once at the end.
 */
#ifndef HUTCH_SAVESTATE_H
#define HUTCH_SAVESTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sv_writer {
	uint8_t *buf;
	size_t len;
	size_t cap;
	bool failed; /* out of memory */
};

struct sv_reader {
	const uint8_t *buf;
	size_t len;
	size_t pos;
	bool failed; /* read past the end */
};

void sv_writer_init(struct sv_writer *w);
void sv_writer_free(struct sv_writer *w);
void sv_put_u8(struct sv_writer *w, uint8_t v);
void sv_put_u16(struct sv_writer *w, uint16_t v);
void sv_put_u32(struct sv_writer *w, uint32_t v);
void sv_put_u64(struct sv_writer *w, uint64_t v);
void sv_put_bytes(struct sv_writer *w, const void *p, size_t n);

void sv_reader_init(struct sv_reader *r, const void *buf, size_t len);
uint8_t sv_get_u8(struct sv_reader *r);
uint16_t sv_get_u16(struct sv_reader *r);
uint32_t sv_get_u32(struct sv_reader *r);
uint64_t sv_get_u64(struct sv_reader *r);
void sv_get_bytes(struct sv_reader *r, void *p, size_t n);
/* True if every get so far was in bounds and the stream is fully consumed
 * (when @want_end). */
bool sv_reader_ok(const struct sv_reader *r, bool want_end);

#endif
