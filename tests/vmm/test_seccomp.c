// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * hutch-vm's seccomp filter (src/vmm/seccomp.c), installed for real in a
 * forked child: what the running VM needs still works, everything else
 * ends the process with the message naming the call, on every thread.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/shm.h>
#include <sys/utsname.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "aio.h"
#include "display.h"
#include "screenshot.h"
#include "seccomp.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZER_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZER_BUILD 1
#endif
#endif

struct child_result {
	int status;        /* from waitpid */
	char err[1024];    /* what the child wrote on stderr */
};

/* Fork; in the child run @body with stderr on a pipe and _exit(its value). */
static void run_child(int (*body)(void), struct child_result *r)
{
	int p[2];
	pid_t pid;
	size_t len = 0;
	ssize_t n;

	assert_int_equal(pipe(p), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(p[1], STDERR_FILENO);
		close(p[0]);
		close(p[1]);
		_exit(body());
	}
	close(p[1]);
	while ((n = read(p[0], r->err + len, sizeof(r->err) - 1 - len)) > 0)
		len += (size_t)n;
	r->err[len] = 0;
	close(p[0]);
	assert_int_equal(waitpid(pid, &r->status, 0), pid);
}

static int install(enum seccomp_violation v)
{
	char err[256];

	if (seccomp_filter_install(v, err, sizeof(err))) {
		fprintf(stderr, "install failed: %s\n", err);
		return 99;
	}
	return 0;
}

static void expect_killed_for(const struct child_result *r, long nr, const char *name)
{
	char want[128];

	snprintf(want, sizeof(want), "hutch-vm: seccomp: system call %ld (%s) is not allowed\n", nr, name);
	assert_true(WIFEXITED(r->status));
	assert_int_equal(WEXITSTATUS(r->status), SECCOMP_EXIT_STATUS);
	assert_string_equal(r->err, want);
}

/* /proc/self/status: "Seccomp:\t2" (filter mode) and one filter. */
static int status_says_filtered(void)
{
	char buf[4096];
	int fd = open("/proc/self/status", O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	return strstr(buf, "\nSeccomp:\t2\n") && strstr(buf, "\nSeccomp_filters:\t1\n");
}

static void *thread_noop(void *arg)
{
	return arg;
}

/* What the running VM does keeps working. */
static int body_allowed(void)
{
	int p[2], r;
	pthread_t t;
	void *ret;
	char c = 'x';

	if (pipe(p))
		return 10;
	if (install(SECCOMP_VIOLATION_KILL))
		return 99;
	if (!status_says_filtered())
		return 11;
	/* Threads (clone with CLONE_THREAD, futex): vCPUs are made at every boot. */
	if (pthread_create(&t, NULL, thread_noop, &c) || pthread_join(t, &ret) || ret != &c)
		return 12;
	if (write(p[1], &c, 1) != 1 || read(p[0], &c, 1) != 1)
		return 13;
	/* A KVM ioctl passes the filter (the pipe then refuses it itself). */
	r = ioctl(p[0], KVM_GET_API_VERSION, 0);
	if (r != -1 || errno != ENOTTY)
		return 14;
	/* clone3 fails softly, so glibc uses clone, whose flags the filter checks. */
	if (syscall(__NR_clone3, NULL, 0) != -1 || errno != ENOSYS)
		return 15;
	return 0;
}

static void test_allowed_calls_work(void **state)
{
	struct child_result r;

	(void)state;
	run_child(body_allowed, &r);
	assert_string_equal(r.err, "");
	assert_true(WIFEXITED(r.status));
	assert_int_equal(WEXITSTATUS(r.status), 0);
}

/* Write 8 KiB in two segments at @off through the I/O engine, read it back. */
static int aio_roundtrip(int fd, uint64_t off)
{
	static __thread uint8_t out[8192], in[8192];
	struct iovec w[2] = { { out, 4096 }, { out + 4096, 4096 } };
	struct iovec r[2] = { { in, 4096 }, { in + 4096, 4096 } };

	for (unsigned int i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 7 + off);
	if (blk_aio_pwritev(fd, w, 2, off) || blk_aio_preadv(fd, r, 2, off))
		return -1;
	return memcmp(in, out, sizeof(in)) ? -1 : 0;
}

static void *aio_thread(void *arg)
{
	return (void *)(intptr_t)aio_roundtrip(*(int *)arg, 65536);
}

/*
 * Disk data through the I/O engine (aio.h) under the filter: a thread
 * whose io_uring ring was made before it (the storage I/O threads) keeps
 * using it; a thread started afterwards cannot make one (io_uring_setup
 * fails softly) and falls back to preadv/pwritev.
 */
static int body_aio(void)
{
	char tmpl[] = "/tmp/hutch-test-seccomp-aio-XXXXXX";
	int fd = mkstemp(tmpl);
	pthread_t t;
	void *ret;

	if (fd < 0 || unlink(tmpl))
		return 10;
	blk_aio_thread_init();
	if (install(SECCOMP_VIOLATION_KILL))
		return 99;
	if (aio_roundtrip(fd, 0))
		return 11;
	if (pthread_create(&t, NULL, aio_thread, &fd) || pthread_join(t, &ret) || ret)
		return 12;
	return 0;
}

static void test_disk_io_engine(void **state)
{
	struct child_result r;

	(void)state;
	run_child(body_aio, &r);
	assert_string_equal(r.err, "");
	assert_true(WIFEXITED(r.status));
	assert_int_equal(WEXITSTATUS(r.status), 0);
}

/* A 2x2 graphics screen for the screenshot path under the filter. */
static void tiny_get_info(void *opaque, struct display_info *info)
{
	(void)opaque;
	*info = (struct display_info){ .kind = DISPLAY_GRAPHICS, .width = 2, .height = 2,
				       .bpp = 32, .generation = 1 };
}

static int tiny_render(void *opaque, uint32_t *dst, size_t stride, unsigned int width,
		       unsigned int height, struct display_rect *dirty, unsigned int max_dirty,
		       unsigned int *nr_dirty)
{
	(void)opaque; (void)dirty; (void)max_dirty; (void)nr_dirty;
	for (unsigned int y = 0; y < height; y++)
		for (unsigned int x = 0; x < width; x++)
			dst[y * (stride / 4) + x] = 0x123456u * (x + 2 * y + 1);
	return 0;
}

static const struct display_ops tiny_display = { .get_info = tiny_get_info, .render = tiny_render };

/*
 * A control client's screenshot: the file descriptor arrives by recvmsg
 * (SCM_RIGHTS), is checked (fstat), emptied (ftruncate) and written
 * (pwrite, libpng and zlib's allocations) under the filter.
 */
static int body_screenshot(void)
{
	char tmpl[] = "/tmp/hutch-test-seccomp-png-XXXXXX", req[16], err[256];
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = "screenshot\n", .iov_len = 11 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			      .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *h;
	unsigned int w, hgt;
	int sv[2], file, got = -1;
	unsigned char sig[8];

	file = mkstemp(tmpl);
	if (file < 0 || unlink(tmpl) || socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return 10;
	if (install(SECCOMP_VIOLATION_KILL))
		return 99;
	memset(&ctl, 0, sizeof(ctl));
	h = CMSG_FIRSTHDR(&msg);
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &file, sizeof(int));
	if (sendmsg(sv[0], &msg, 0) != 11)
		return 11;
	iov.iov_base = req;
	iov.iov_len = sizeof(req);
	msg.msg_controllen = sizeof(ctl.buf);
	if (recvmsg(sv[1], &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT) != 11)
		return 12;
	h = CMSG_FIRSTHDR(&msg);
	if (!h || h->cmsg_type != SCM_RIGHTS)
		return 13;
	memcpy(&got, CMSG_DATA(h), sizeof(int));
	if (screenshot_png(&tiny_display, NULL, got, &w, &hgt, err, sizeof(err)) || w != 2 || hgt != 2) {
		fprintf(stderr, "screenshot: %s\n", err);
		return 14;
	}
	close(got);
	if (pread(file, sig, sizeof(sig), 0) != 8 || memcmp(sig, "\x89PNG\r\n\x1a\n", 8))
		return 15;
	return 0;
}

static void test_screenshot_path_allowed(void **state)
{
	struct child_result r;

	(void)state;
	run_child(body_screenshot, &r);
	assert_string_equal(r.err, "");
	assert_true(WIFEXITED(r.status));
	assert_int_equal(WEXITSTATUS(r.status), 0);
}

static int body_socket(void)
{
	if (install(SECCOMP_VIOLATION_KILL))
		return 99;
	socket(AF_PACKET, SOCK_RAW, 0);   /* only AF_INET (NAT) and AF_UNIX (intnet) are allowed */
	return 0;   /* not reached */
}

/*
 * What the network back ends do while the guest runs (src/net): NAT's
 * IPv4 sockets (bind, listen, connect, names, options, datagrams,
 * FIONREAD), an internal network's directory scan and clean-up.
 */
static char net_dir[64];

static int body_network(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int one = 1, n = 0, u, t, l;
	char buf[8];
	DIR *d;

	if (install(SECCOMP_VIOLATION_KILL))
		return 99;
	u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (u < 0 || setsockopt(u, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(u, (struct sockaddr *)&a, sizeof(a)) || getsockname(u, (struct sockaddr *)&a, &al) ||
	    connect(u, (struct sockaddr *)&a, sizeof(a)))
		return 20;
	if (sendto(u, "x", 1, 0, NULL, 0) != 1 || ioctl(u, FIONREAD, &n) || n != 1 ||
	    recvfrom(u, buf, sizeof(buf), 0, NULL, NULL) != 1)
		return 21;
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	a.sin_port = 0;
	al = sizeof(a);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&a, &al))
		return 22;
	t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (t < 0 || connect(t, (struct sockaddr *)&a, sizeof(a)))
		return 23;
	n = accept(l, NULL, NULL);
	al = sizeof(a);
	if (n < 0 || getpeername(t, (struct sockaddr *)&a, &al) ||
	    getsockopt(t, SOL_SOCKET, SO_ERROR, &one, &al) || one != 0)
		return 24;
	n = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (n < 0)
		return 27;
	close(n);
	d = opendir(net_dir);
	if (!d || !readdir(d))
		return 25;
	closedir(d);
	if (rmdir(net_dir))
		return 26;
	return 0;
}

static void test_network_calls_work(void **state)
{
	struct child_result r;

	(void)state;
	snprintf(net_dir, sizeof(net_dir), "/tmp/hutch-seccomp-XXXXXX");
	assert_non_null(mkdtemp(net_dir));
	run_child(body_network, &r);
	assert_string_equal(r.err, "");
	assert_true(WIFEXITED(r.status));
	assert_int_equal(WEXITSTATUS(r.status), 0);
	rmdir(net_dir);
}

static void test_socket_is_refused(void **state)
{
	struct child_result r;

	(void)state;
	run_child(body_socket, &r);
	expect_killed_for(&r, __NR_socket, "socket");
}

static int body_ioctl(void)
{
	int p[2], n;

	if (pipe(p) || install(SECCOMP_VIOLATION_KILL))
		return 99;
	n = 1;
	ioctl(p[0], FIONBIO, &n);   /* not a KVM ioctl, nor FIONREAD */
	return 0;
}

static void test_other_ioctls_are_refused(void **state)
{
	char want[128];
	struct child_result r;

	(void)state;
	run_child(body_ioctl, &r);
	snprintf(want, sizeof(want), "hutch-vm: seccomp: system call %d (ioctl) is not allowed: request 0x%x\n",
		 __NR_ioctl, FIONBIO);
	assert_true(WIFEXITED(r.status));
	assert_int_equal(WEXITSTATUS(r.status), SECCOMP_EXIT_STATUS);
	assert_string_equal(r.err, want);
}

static int body_fork(void)
{
	pid_t pid;

	if (install(SECCOMP_VIOLATION_KILL))
		return 99;
	pid = fork();   /* clone without CLONE_THREAD */
	if (pid == 0)
		_exit(0);
	return 0;
}

static void test_new_processes_are_refused(void **state)
{
	struct child_result r;

	(void)state;
#ifdef SANITIZER_BUILD
	skip();   /* LeakSanitizer's helper needs clone without CLONE_THREAD: allowed there */
#endif
	run_child(body_fork, &r);
	expect_killed_for(&r, __NR_clone, "clone");
}

/* A thread that existed before the filter is covered too (TSYNC). */
static int gate[2];

static void *thread_socket_later(void *arg)
{
	char c;

	(void)arg;
	if (read(gate[0], &c, 1) == 1)
		socket(AF_INET6, SOCK_STREAM, 0);   /* IPv4 and AF_UNIX only */
	return NULL;
}

static int body_old_thread(void)
{
	pthread_t t;

	if (pipe(gate) || pthread_create(&t, NULL, thread_socket_later, NULL))
		return 10;
	if (install(SECCOMP_VIOLATION_KILL))
		return 99;
	if (write(gate[1], "g", 1) != 1)
		return 11;
	pthread_join(t, NULL);
	return 0;
}

static void test_threads_started_before_are_covered(void **state)
{
	struct child_result r;

	(void)state;
	run_child(body_old_thread, &r);
	expect_killed_for(&r, __NR_socket, "socket");
}

/*
 * HUTCH_SECCOMP_LOG's mode: each refused call named once, then made for the
 * caller with its real result (a socket that works, an ioctl's errno).
 */
static int body_log(void)
{
	int sv[2], p[2], n = -1;
	char c = 0;

	if (pipe(p) || install(SECCOMP_VIOLATION_LOG))
		return 99;
	if (!status_says_filtered())
		return 11;
	for (int i = 0; i < 2; i++) {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
			return 12;
		if (write(sv[0], "s", 1) != 1 || read(sv[1], &c, 1) != 1 || c != 's')
			return 13;
		close(sv[0]);
		close(sv[1]);
	}
	n = 1;
	if (ioctl(p[0], FIONBIO, &n) || !(fcntl(p[0], F_GETFL) & O_NONBLOCK))
		return 14;
	if (syscall(__NR_pivot_root, "/nonexistent", "/nonexistent") != -1 || errno == 0)
		return 15;
	return 0;
}

static void test_log_mode_lets_calls_through(void **state)
{
	char want[512];
	struct child_result r;

	(void)state;
	run_child(body_log, &r);
	snprintf(want, sizeof(want),
		 "hutch-vm: seccomp: system call %d (socketpair) is not allowed (HUTCH_SECCOMP_LOG: let through)\n"
		 "hutch-vm: seccomp: system call %d (ioctl) is not allowed: request 0x%x (HUTCH_SECCOMP_LOG: let through)\n"
		 "hutch-vm: seccomp: system call %d (pivot_root) is not allowed (HUTCH_SECCOMP_LOG: let through)\n",
		 __NR_socketpair, __NR_ioctl, FIONBIO, __NR_pivot_root);
	assert_true(WIFEXITED(r.status));
	assert_int_equal(WEXITSTATUS(r.status), 0);
	assert_string_equal(r.err, want);
}

/*
 * The display group (the VM window's SDL2 on X11): the MIT-SHM image's
 * SysV segment, Xlib's own connection for a message box; glibc's pipe()
 * fails so SDL's message box does not fork, while pipe2 with flags works.
 */
static int body_display(void)
{
	struct utsname u;
	int p[2], id;
	void *addr;

	if (seccomp_filter_install_groups(SECCOMP_GROUP_DISPLAY, SECCOMP_VIOLATION_KILL, NULL, 0))
		return 99;
	id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
	if (id < 0)
		return 10;
	addr = shmat(id, NULL, 0);
	if (addr == (void *)-1)
		return 11;
	if (shmctl(id, IPC_RMID, NULL) || shmdt(addr))
		return 12;
	if (uname(&u) || access("/", F_OK))
		return 13;
	if (pipe(p) != -1 || errno != ENOSYS)
		return 14;
	if (pipe2(p, O_CLOEXEC))
		return 15;
	return 0;
}

static void test_display_group(void **state)
{
	struct child_result r;

	(void)state;
	run_child(body_display, &r);
	assert_string_equal(r.err, "");
	assert_true(WIFEXITED(r.status));
	assert_int_equal(WEXITSTATUS(r.status), 0);
}

/* Without the group (a headless VM) the window's calls are refused, and pipe() works as ever. */
static int body_no_display(void)
{
	int p[2];

	if (install(SECCOMP_VIOLATION_KILL))
		return 99;
	if (pipe(p))
		return 10;
	shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
	return 0;
}

static void test_display_calls_need_the_group(void **state)
{
	struct child_result r;

	(void)state;
	run_child(body_no_display, &r);
	expect_killed_for(&r, __NR_shmget, "shmget");
}

/* The display group opens no door to new processes (SDL's message box would fork). */
static int body_display_fork(void)
{
	if (seccomp_filter_install_groups(SECCOMP_GROUP_DISPLAY, SECCOMP_VIOLATION_KILL, NULL, 0))
		return 99;
	syscall(__NR_clone, SIGCHLD, NULL, NULL, NULL, 0);
	return 0;
}

static void test_display_group_makes_no_processes(void **state)
{
	struct child_result r;

	(void)state;
#ifdef SANITIZER_BUILD
	skip();   /* LeakSanitizer's clone() is allowed in sanitizer builds */
#endif
	run_child(body_display_fork, &r);
	expect_killed_for(&r, __NR_clone, "clone");
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(seccomp_syscall_name(__NR_read), "read");
	assert_string_equal(seccomp_syscall_name(__NR_socket), "socket");
	assert_string_equal(seccomp_syscall_name(__NR_io_uring_setup), "io_uring_setup");
	assert_null(seccomp_syscall_name(-1));
	assert_null(seccomp_syscall_name(100000));
	assert_true(seccomp_syscall_listed(__NR_ioctl));
	assert_true(seccomp_syscall_listed(__NR_fdatasync));
	/* Listed for NAT and intnet (AF_INET and AF_UNIX only: test_socket_is_refused). */
	assert_true(seccomp_syscall_listed(__NR_socket));
	assert_true(seccomp_syscall_listed(__NR_connect));
	assert_false(seccomp_syscall_listed(__NR_socketpair));
	assert_false(seccomp_syscall_listed(__NR_mkdir));
	assert_false(seccomp_syscall_listed(__NR_pivot_root));
	/* The window's calls are in its group only. */
	assert_false(seccomp_syscall_listed(__NR_shmget));
	assert_true(seccomp_group_lists(SECCOMP_GROUP_DISPLAY, __NR_shmget));
	assert_true(seccomp_group_lists(SECCOMP_GROUP_DISPLAY, __NR_shmat));
	assert_false(seccomp_group_lists(SECCOMP_GROUP_DISPLAY, __NR_execve));
	assert_false(seccomp_group_lists(0, __NR_shmget));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_allowed_calls_work),
		cmocka_unit_test(test_disk_io_engine),
		cmocka_unit_test(test_screenshot_path_allowed),
		cmocka_unit_test(test_network_calls_work),
		cmocka_unit_test(test_socket_is_refused),
		cmocka_unit_test(test_other_ioctls_are_refused),
		cmocka_unit_test(test_new_processes_are_refused),
		cmocka_unit_test(test_threads_started_before_are_covered),
		cmocka_unit_test(test_log_mode_lets_calls_through),
		cmocka_unit_test(test_display_group),
		cmocka_unit_test(test_display_calls_need_the_group),
		cmocka_unit_test(test_display_group_makes_no_processes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
