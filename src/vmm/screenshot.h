/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the control socket's `screenshot` and `screentext` requests make
 * of a published display (display.h): the screen as a PNG written into a
 * file descriptor the client passed, and the text-mode contents as lines
 * of text (docs/control-protocol.md).  Both run on the event loop's thread;
 * neither opens a path (hutch-vm is confined: seccomp.c).
 */
#ifndef HUTCH_SCREENSHOT_H
#define HUTCH_SCREENSHOT_H

#include <stddef.h>

struct display_ops;

/*
 * Render the whole screen at the mode's size and write it as a PNG
 * (8-bit RGB) into @fd from offset 0, truncating what was there.  @fd
 * must be a regular file open for writing (a pipe could block the
 * loop).  0 and the size in *@width x *@height, or -errno + message.
 */
int screenshot_png(const struct display_ops *ops, void *opaque, int fd,
		   unsigned int *width, unsigned int *height, char *err, size_t errlen);

/*
 * The `screentext` reply: a header line, the rows, the palette and the
 * font, "end" (the format: docs/control-protocol.md).  A malloc'd,
 * NUL-terminated buffer of *@len bytes, or NULL + message.
 */
char *screentext_format(const struct display_ops *ops, void *opaque, size_t *len,
			char *err, size_t errlen);

#endif
