// SPDX-License-Identifier: GPL-2.0-or-later
/* hutch-vm's serial back end: non-blocking output fds that leave the parent's alone, --serial-limit. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "serial_backend.h"

static bool nonblocking(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	assert_true(flags >= 0);
	return flags & O_NONBLOCK;
}

/* A pipe gets a new, non-blocking description; the original stays blocking. */
static void test_pipe_is_reopened(void **state)
{
	enum serial_fd_kind kind;
	int p[2], fd;
	char buf[8];

	(void)state;
	assert_int_equal(pipe(p), 0);
	fd = serial_output_fd(p[1], &kind);
	assert_int_equal(kind, SERIAL_FD_REOPENED);
	assert_true(fd >= 0 && fd != p[1]);
	assert_true(nonblocking(fd));
	assert_false(nonblocking(p[1]));
	assert_int_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	assert_int_equal(write(fd, "hi", 2), 2);
	assert_int_equal(read(p[0], buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "hi", 2);
	/* Full: EAGAIN, never a wait. */
	assert_true(fcntl(fd, F_SETPIPE_SZ, 4096) >= 4096);
	while (write(fd, buf, sizeof(buf)) > 0)
		;
	assert_int_equal(errno, EAGAIN);
	close(fd);
	close(p[0]);
	close(p[1]);
}

/* A terminal too (a pseudo-terminal here). */
static void test_tty_is_reopened(void **state)
{
	enum serial_fd_kind kind;
	int master, slave, fd;

	(void)state;
	master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master < 0 || grantpt(master) || unlockpt(master)) {
		skip();
	}
	slave = open(ptsname(master), O_RDWR | O_NOCTTY);
	assert_true(slave >= 0);
	fd = serial_output_fd(slave, &kind);
	assert_int_equal(kind, SERIAL_FD_REOPENED);
	assert_true(fd != slave && nonblocking(fd));
	assert_false(nonblocking(slave));
	close(fd);
	close(slave);
	close(master);
}

/* A socket cannot be re-opened: the fd itself becomes non-blocking (the documented trade-off). */
static void test_socket_is_shared(void **state)
{
	enum serial_fd_kind kind;
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(serial_output_fd(sv[0], &kind), sv[0]);
	assert_int_equal(kind, SERIAL_FD_SHARED);
	assert_true(nonblocking(sv[0]));
	close(sv[0]);
	close(sv[1]);
}

/* A regular file is written as it is. */
static void test_file_as_is(void **state)
{
	enum serial_fd_kind kind;
	char path[] = "/tmp/hutch-serial-XXXXXX";
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(serial_output_fd(fd, &kind), fd);
	assert_int_equal(kind, SERIAL_FD_AS_IS);
	assert_false(nonblocking(fd));
	close(fd);
}

static void test_parse_size(void **state)
{
	static const struct { const char *s; int ret; uint64_t v; } cases[] = {
		{ "0", 0, 0 },
		{ "4096", 0, 4096 },
		{ "64M", 0, 64ULL << 20 },
		{ "2k", 0, 2048 },
		{ "1G", 0, 1ULL << 30 },
		{ "", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 },
		{ "+5", -EINVAL, 0 },
		{ " 5", -EINVAL, 0 },
		{ "5T", -EINVAL, 0 },
		{ "5MB", -EINVAL, 0 },
		{ "M", -EINVAL, 0 },
		{ "99999999999999999999", -EINVAL, 0 },
		{ "17179869184G", -EINVAL, 0 },   /* 2^34 GiB = 2^64 bytes: too big */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 12345;

		assert_int_equal(serial_parse_size(cases[i].s, &v), cases[i].ret);
		assert_int_equal(v, cases[i].ret ? 12345 : cases[i].v);
	}
	assert_int_equal(serial_parse_size(NULL, NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pipe_is_reopened),
		cmocka_unit_test(test_tty_is_reopened),
		cmocka_unit_test(test_socket_is_shared),
		cmocka_unit_test(test_file_as_is),
		cmocka_unit_test(test_parse_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
