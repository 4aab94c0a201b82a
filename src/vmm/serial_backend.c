// SPDX-License-Identifier: GPL-2.0-or-later
/* The host end of COM1 for hutch-vm (serial_backend.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "serial_backend.h"

int serial_output_fd(int fd, enum serial_fd_kind *kind)
{
	struct stat st;
	int flags;

	*kind = SERIAL_FD_AS_IS;
	if (fstat(fd, &st))
		return fd;
	if (S_ISFIFO(st.st_mode) || isatty(fd)) {
		char path[64];
		int nfd;

		/*
		 * Opening /proc/self/fd/N makes a new open file description of
		 * the same pipe or terminal (pipe(7), proc(5)); O_NOCTTY so a
		 * terminal never becomes hutch-vm's controlling one.
		 */
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		nfd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (nfd >= 0) {
			*kind = SERIAL_FD_REOPENED;
			return nfd;
		}
	} else if (!S_ISSOCK(st.st_mode)) {
		return fd;   /* a regular file, /dev/null, ...: never waits for a reader */
	}
	/* A socket, or the re-open failed (no /proc): the shared description, non-blocking. */
	flags = fcntl(fd, F_GETFL);
	if (flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0)
		*kind = SERIAL_FD_SHARED;
	return fd;
}

int serial_parse_size(const char *s, uint64_t *bytes)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	switch (*end) {
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	}
	if (*end || (shift && v > (~0ULL >> shift)))
		return -EINVAL;
	*bytes = (uint64_t)v << shift;
	return 0;
}
