/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The host end of COM1 for hutch-vm: an output fd the UART's event-loop
 * watch can write without ever blocking, and the file back end's size cap.
 */
#ifndef HUTCH_SERIAL_BACKEND_H
#define HUTCH_SERIAL_BACKEND_H

#include <stdint.h>

/* The file back end's default cap (--serial-limit), documented in docs/hutch-vm.md. */
#define SERIAL_FILE_LIMIT_DEFAULT (64ULL << 20)

/* What serial_output_fd did to make the fd non-blocking. */
enum serial_fd_kind {
	SERIAL_FD_REOPENED,   /* pipe, FIFO or terminal: a new open file description */
	SERIAL_FD_SHARED,     /* socket, or a re-open failed: O_NONBLOCK on the fd itself */
	SERIAL_FD_AS_IS,      /* regular file, /dev/null...: written as it is */
};

/*
 * An fd that writes where @fd writes, for the UART's loop to write
 * without blocking.  A pipe, FIFO or terminal is re-opened through
 * /proc/self/fd with O_NONBLOCK: a new open file description, so whoever
 * shares @fd (the shell's terminal) keeps a blocking one.  A socket cannot
 * be re-opened: O_NONBLOCK is set on @fd itself, which the other holders
 * of that socket then see too (a parent writing to it may get EAGAIN).
 * A regular file is returned as it is (written on the loop thread; a
 * write to a file does not wait for a reader).  The result is @fd or a
 * new fd (close-on-exec) the caller owns; *@kind says which.
 */
int serial_output_fd(int fd, enum serial_fd_kind *kind);

/*
 * A size for --serial-limit: a whole number of bytes with an optional K,
 * M or G suffix (powers of 1024); 0 means unlimited.  0 or -EINVAL.
 */
int serial_parse_size(const char *s, uint64_t *bytes);

#endif
