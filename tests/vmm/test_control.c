// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The control socket's pause (src/vmm/control.c, machine.c) against a
 * machine without KVM: "vCPUs" are test threads that pass through
 * machine_vcpu_checkpoint() as vcpu.c's threads do between exits.
 * A pause never blocks the event loop, is answered when every vCPU has
 * parked, and one that cannot complete is undone: the reported state is
 * always the real one (issue 8, finding 8).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "control.h"
#include "event_loop.h"
#include "machine.h"

struct fixture {
	struct machine m;
	struct vm_control ctl;
	char dir[64];
	char sock[128];
	pthread_t vcpu[2];
	unsigned int nr_vcpu_threads;
};

static void *fake_vcpu(void *arg)
{
	struct machine *m = arg;

	while (machine_vcpu_checkpoint(m))
		usleep(1000);   /* "in the guest" */
	return NULL;
}

/* A machine with @nr vCPUs of which @running pass through checkpoints. */
static void setup_machine(struct fixture *f, unsigned int nr, unsigned int running,
			  unsigned int pause_timeout_ms)
{
	char err[256];

	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->m.lock, NULL);
	pthread_cond_init(&f->m.cond, NULL);
	f->m.pause_notify_fd = -1;
	f->m.nr_vcpus = nr;
	f->m.loop = event_loop_create(err, sizeof(err));   /* the control socket is its client */
	assert_non_null(f->m.loop);
	assert_int_equal(event_loop_start(f->m.loop, err, sizeof(err)), 0);
	strcpy(f->dir, "/tmp/hutch-test-control-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->sock, sizeof(f->sock), "%s/ctl.sock", f->dir);
	assert_int_equal(control_open(&f->ctl, &f->m, f->sock, err, sizeof(err)), 0);
	f->ctl.pause_timeout_ms = pause_timeout_ms;
	assert_int_equal(control_start(&f->ctl, err, sizeof(err)), 0);
	for (unsigned int i = 0; i < running; i++)
		assert_int_equal(pthread_create(&f->vcpu[i], NULL, fake_vcpu, &f->m), 0);
	f->nr_vcpu_threads = running;
}

static void teardown_machine(struct fixture *f)
{
	pthread_mutex_lock(&f->m.lock);
	f->m.stopping = true;
	pthread_cond_broadcast(&f->m.cond);
	pthread_mutex_unlock(&f->m.lock);
	for (unsigned int i = 0; i < f->nr_vcpu_threads; i++)
		pthread_join(f->vcpu[i], NULL);
	control_stop(&f->ctl);
	event_loop_destroy(f->m.loop);   /* complains if control_stop left a watch or timer */
	rmdir(f->dir);
}

static int client(const struct fixture *f)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	strcpy(sa.sun_path, f->sock);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void send_str(int fd, const char *s)
{
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One reply line (without "\n") within @ms, else "" (timed out). */
static void read_line(int fd, char *line, size_t size, int ms)
{
	size_t len = 0;
	int64_t end = now_ms() + ms;

	line[0] = 0;
	while (len + 1 < size) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = end - now_ms();
		char c;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		if (read(fd, &c, 1) != 1)
			break;
		if (c == '\n') {
			line[len] = 0;
			return;
		}
		line[len++] = c;
		line[len] = 0;
	}
	line[0] = 0;   /* no whole line in time */
}

/* A vCPU that does not park (stuck in a device) must not block the loop. */
static void test_pause_never_blocks_other_clients(void **state)
{
	static struct fixture f;
	char line[256];
	int a, b;
	int64_t t0;

	(void)state;
	setup_machine(&f, 2, 1, 4000);   /* vCPU 1 never reaches a checkpoint */
	a = client(&f);
	b = client(&f);
	send_str(a, "pause\n");
	usleep(50000);
	t0 = now_ms();
	send_str(b, "status\n");
	/* Answered long before the pause's 4 s are up (loaded CI machines: 2 s). */
	read_line(b, line, sizeof(line), 2000);
	assert_string_equal(line, "ok running");   /* not paused: vCPU 1 still runs */
	assert_true(now_ms() - t0 < 2000);
	send_str(b, "version\n");
	read_line(b, line, sizeof(line), 5000);
	assert_int_equal(strncmp(line, "ok ", 3), 0);

	/* The pause times out: an error, and the VM is running again, for real. */
	read_line(a, line, sizeof(line), 10000);
	assert_int_equal(strncmp(line, "error cannot pause: the vCPUs did not stop", 42), 0);
	assert_int_equal(machine_pause_state(&f.m), MACHINE_RUNNING);
	send_str(b, "status\n");
	read_line(b, line, sizeof(line), 5000);
	assert_string_equal(line, "ok running");
	/* The vCPU that did park is back to running. */
	for (int i = 0; i < 200; i++) {
		unsigned int parked;

		pthread_mutex_lock(&f.m.lock);
		parked = f.m.vcpus_parked;
		pthread_mutex_unlock(&f.m.lock);
		if (!parked)
			break;
		usleep(10000);
	}
	pthread_mutex_lock(&f.m.lock);
	assert_int_equal(f.m.vcpus_parked, 0);
	pthread_mutex_unlock(&f.m.lock);
	close(a);
	close(b);
	teardown_machine(&f);
}

/* Every vCPU parks: "ok" then, and later requests of that client in order. */
static void test_pause_answered_when_parked(void **state)
{
	static struct fixture f;
	char line[256];
	int a;

	(void)state;
	setup_machine(&f, 2, 2, 5000);
	a = client(&f);
	send_str(a, "pause\nstatus\ninfo\n");   /* pipelined */
	read_line(a, line, sizeof(line), 10000);
	assert_string_equal(line, "ok");
	read_line(a, line, sizeof(line), 5000);
	assert_string_equal(line, "ok paused");
	read_line(a, line, sizeof(line), 5000);
	assert_non_null(strstr(line, "state=paused"));
	pthread_mutex_lock(&f.m.lock);
	assert_int_equal(f.m.vcpus_parked, 2);
	pthread_mutex_unlock(&f.m.lock);
	/* Pausing a paused VM is answered at once. */
	send_str(a, "pause\n");
	read_line(a, line, sizeof(line), 5000);
	assert_string_equal(line, "ok");
	send_str(a, "resume\nstatus\n");
	read_line(a, line, sizeof(line), 5000);
	assert_string_equal(line, "ok");
	read_line(a, line, sizeof(line), 5000);
	assert_string_equal(line, "ok running");
	close(a);
	teardown_machine(&f);
}

/* A resume from another client while a pause waits: the pause fails, the VM runs. */
static void test_resume_cancels_a_pause_in_progress(void **state)
{
	static struct fixture f;
	char line[256];
	int a, b;

	(void)state;
	setup_machine(&f, 1, 0, 30000);   /* the only vCPU never parks */
	a = client(&f);
	b = client(&f);
	send_str(a, "pause\n");
	usleep(50000);
	send_str(b, "resume\n");
	read_line(b, line, sizeof(line), 5000);
	assert_string_equal(line, "ok");
	read_line(a, line, sizeof(line), 5000);
	assert_int_equal(strncmp(line, "error cannot pause: the VM was resumed or reset", 47), 0);
	send_str(a, "status\n");
	read_line(a, line, sizeof(line), 5000);
	assert_string_equal(line, "ok running");
	close(a);
	close(b);
	teardown_machine(&f);
}

/* A client that leaves while its pause waits is dropped; the others go on. */
static void test_client_gone_while_waiting(void **state)
{
	static struct fixture f;
	char line[256];
	int a, b;

	(void)state;
	setup_machine(&f, 1, 0, 30000);
	a = client(&f);
	send_str(a, "pause\n");
	usleep(50000);
	close(a);
	usleep(50000);
	b = client(&f);
	send_str(b, "resume\nstatus\n");
	read_line(b, line, sizeof(line), 5000);
	assert_string_equal(line, "ok");
	read_line(b, line, sizeof(line), 5000);
	assert_string_equal(line, "ok running");
	close(b);
	teardown_machine(&f);
}

/*
 * At most CONTROL_MAX_CLIENTS at once: one more waits in the backlog, and
 * is served as soon as another leaves (the loop's listening watch is
 * dropped while full and taken up again).
 */
static void test_client_limit_and_backlog(void **state)
{
	static struct fixture f;
	int fds[CONTROL_MAX_CLIENTS], extra;
	char line[256];

	(void)state;
	setup_machine(&f, 1, 1, 5000);
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		fds[i] = client(&f);
		send_str(fds[i], "version\n");
		read_line(fds[i], line, sizeof(line), 5000);
		assert_int_equal(strncmp(line, "ok ", 3), 0);
	}
	extra = client(&f);   /* connect() succeeds: the backlog */
	send_str(extra, "status\n");
	read_line(extra, line, sizeof(line), 300);
	assert_string_equal(line, "");   /* not served while 16 are connected */
	close(fds[0]);
	read_line(extra, line, sizeof(line), 5000);
	assert_string_equal(line, "ok running");
	for (int i = 1; i < CONTROL_MAX_CLIENTS; i++)
		close(fds[i]);
	close(extra);
	teardown_machine(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pause_never_blocks_other_clients),
		cmocka_unit_test(test_pause_answered_when_parked),
		cmocka_unit_test(test_resume_cancels_a_pause_in_progress),
		cmocka_unit_test(test_client_gone_while_waiting),
		cmocka_unit_test(test_client_limit_and_backlog),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
