/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The comma-separated "key=value" lists of hutch-vm's --drive and --nic
 * specs (drive_spec.h, nic_spec.h): one reader for both, so their
 * escaping cannot drift apart.  A comma inside a value is written ",,"
 * (as in QEMU).
 */
#ifndef HUTCH_SPEC_ITEM_H
#define HUTCH_SPEC_ITEM_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The next item of @s at *pos (split at a single comma, ",," unescaped
 * to one), malloc'ed; *pos moves past it.  NULL at the end, or when out
 * of memory (then *oom is set).
 */
char *spec_next_item(const char *s, size_t *pos, bool *oom);

/* The value of one hex digit (either case), -1 if @c is none: MAC
 * addresses in specs, scan codes in control requests. */
int spec_hex_digit(char c);

#endif
