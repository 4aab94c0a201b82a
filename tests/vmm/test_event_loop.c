// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The VMM's event loop (src/vmm/event_loop.c) on its real thread, without
 * KVM: timers in deadline order, one-shot and periodic, a cancel under
 * the callback's lock is exact, re-arming from the callback, watches on a
 * socket pair and a regular file, frees that wait for a running callback
 * or come from the callback itself, and deferred work on the loop thread.
 *
 * No timing assert can fail on a slow machine: the checks count and
 * order; the only time bounds are "never early" and generous waits.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "event_loop.h"

#define MS 1000000LL
#define WAIT_MS 5000   /* how long a test waits for what must happen */

static struct event_loop *new_loop(bool start)
{
	char err[256];
	struct event_loop *l = event_loop_create(err, sizeof(err));

	assert_non_null(l);
	if (start)
		assert_int_equal(event_loop_start(l, err, sizeof(err)), 0);
	return l;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Wait (at most WAIT_MS) until *@v >= @want, read under @mu. */
static unsigned int wait_count(pthread_mutex_t *mu, const unsigned int *v, unsigned int want)
{
	unsigned int got = 0;

	for (int i = 0; i < WAIT_MS; i++) {
		pthread_mutex_lock(mu);
		got = *v;
		pthread_mutex_unlock(mu);
		if (got >= want)
			break;
		sleep_ms(1);
	}
	return got;
}

static unsigned int read_count(pthread_mutex_t *mu, const unsigned int *v)
{
	unsigned int got;

	pthread_mutex_lock(mu);
	got = *v;
	pthread_mutex_unlock(mu);
	return got;
}

/* ---- deadline order ---- */

struct order_rec {
	pthread_mutex_t mu;
	int order[8];
	unsigned int n;
};

struct order_timer {
	struct order_rec *rec;
	int id;
};

static void order_cb(void *opaque)
{
	struct order_timer *ot = opaque;

	pthread_mutex_lock(&ot->rec->mu);
	if (ot->rec->n < 8)
		ot->rec->order[ot->rec->n] = ot->id;
	ot->rec->n++;
	pthread_mutex_unlock(&ot->rec->mu);
}

/* Armed while the thread is not running, then started: they fire by deadline. */
static void test_timers_fire_in_deadline_order(void **state)
{
	static const int64_t offsets_ms[] = { -5, 20, -1, 10, -3, 0 };
	static const int expected[] = { 0, 4, 2, 5, 3, 1 };   /* by deadline, ties by arming */
	struct order_rec rec = { .n = 0 };
	struct order_timer ot[6];
	struct host_timer *t[6];
	struct event_loop *l = new_loop(false);
	int64_t now = event_loop_now_ns();
	char err[128];

	(void)state;
	pthread_mutex_init(&rec.mu, NULL);
	for (int i = 0; i < 6; i++) {
		ot[i] = (struct order_timer){ &rec, i };
		t[i] = host_timer_new(&event_loop_ops, l, NULL, order_cb, &ot[i]);
		assert_non_null(t[i]);
		host_timer_arm(t[i], now + offsets_ms[i] * MS, 0);
	}
	assert_int_equal(event_loop_start(l, err, sizeof(err)), 0);
	assert_int_equal(wait_count(&rec.mu, &rec.n, 6), 6);
	sleep_ms(30);   /* one-shots: nothing more comes */
	assert_int_equal(read_count(&rec.mu, &rec.n), 6);
	for (int i = 0; i < 6; i++)
		assert_int_equal(rec.order[i], expected[i]);
	for (int i = 0; i < 6; i++)
		host_timer_free(t[i]);
	event_loop_destroy(l);
}

/* ---- one-shot and periodic ---- */

struct tick {
	pthread_mutex_t mu;
	unsigned int n;
	int64_t at[512];
	pthread_t thread;
	struct host_timer *self;
	unsigned int rearm_until;
	int64_t rearm_delay;
};

static void tick_cb(void *opaque)
{
	struct tick *k = opaque;

	pthread_mutex_lock(&k->mu);
	if (k->n < 512)
		k->at[k->n] = event_loop_now_ns();
	k->n++;
	k->thread = pthread_self();
	pthread_mutex_unlock(&k->mu);
}

static void test_one_shot_fires_once(void **state)
{
	struct event_loop *l = new_loop(true);
	struct tick k = { .n = 0 };
	struct host_timer *t;
	int64_t deadline;

	(void)state;
	pthread_mutex_init(&k.mu, NULL);
	t = host_timer_new(&event_loop_ops, l, NULL, tick_cb, &k);
	assert_non_null(t);
	deadline = event_loop_now_ns() + 2 * MS;
	host_timer_arm(t, deadline, 0);
	assert_int_equal(wait_count(&k.mu, &k.n, 1), 1);
	sleep_ms(20);
	assert_int_equal(read_count(&k.mu, &k.n), 1);
	assert_true(k.at[0] >= deadline);   /* never early */
	host_timer_free(t);
	event_loop_destroy(l);
}

/* A 4 ms period over about 200 ms: never early, never more than the periods that passed. */
static void test_periodic_count_and_phase(void **state)
{
	const int64_t period = 4 * MS;
	struct event_loop *l = new_loop(true);
	struct tick k = { .n = 0 };
	struct host_timer *t;
	int64_t start, first, stop;
	unsigned int n;

	(void)state;
	pthread_mutex_init(&k.mu, NULL);
	t = host_timer_new(&event_loop_ops, l, NULL, tick_cb, &k);
	start = event_loop_now_ns();
	first = start + period;
	host_timer_arm(t, first, period);
	sleep_ms(200);
	host_timer_cancel(t);
	stop = event_loop_now_ns();
	n = read_count(&k.mu, &k.n);
	sleep_ms(20);
	assert_int_equal(read_count(&k.mu, &k.n), n);   /* the cancel stopped it */
	/* At most one call per period that ended before the cancel; a fair number of them. */
	assert_true(n <= (unsigned int)((stop - first) / period) + 1);
	assert_true(n >= 10);
	/* The k-th call never comes before its period (missed ones are merged, not early). */
	for (unsigned int i = 0; i < n && i < 512; i++)
		assert_true(k.at[i] >= first + (int64_t)i * period);
	for (unsigned int i = 1; i < n && i < 512; i++)
		assert_true(k.at[i] > k.at[i - 1]);
	host_timer_free(t);
	event_loop_destroy(l);
}

/* ---- exact cancel under the lock ---- */

static void test_cancel_under_lock_is_exact(void **state)
{
	struct event_loop *l = new_loop(true);
	struct tick k = { .n = 0 };
	pthread_mutex_t dev_lock = PTHREAD_MUTEX_INITIALIZER;
	struct host_timer *t;

	(void)state;
	pthread_mutex_init(&k.mu, NULL);
	t = host_timer_new(&event_loop_ops, l, &dev_lock, tick_cb, &k);
	for (int round = 0; round < 20; round++) {
		pthread_mutex_lock(&dev_lock);
		host_timer_arm(t, event_loop_now_ns() - MS, 0);   /* overdue: the loop wants it now */
		if (round % 4 == 0)
			sleep_ms(5);   /* the loop is surely waiting for dev_lock by now */
		if (round % 2)
			host_timer_cancel(t);
		else
			host_timer_arm(t, event_loop_now_ns() + 3600 * 1000 * MS, 0);  /* moved away */
		pthread_mutex_unlock(&dev_lock);
	}
	sleep_ms(30);
	assert_int_equal(read_count(&k.mu, &k.n), 0);
	host_timer_free(t);
	event_loop_destroy(l);
}

/* ---- re-arm from inside the callback ---- */

static void rearm_cb(void *opaque)
{
	struct tick *k = opaque;

	tick_cb(k);
	if (read_count(&k->mu, &k->n) < k->rearm_until)
		host_timer_arm(k->self, event_loop_now_ns() + k->rearm_delay, 0);
}

static void test_rearm_from_callback(void **state)
{
	struct event_loop *l = new_loop(true);
	pthread_mutex_t dev_lock = PTHREAD_MUTEX_INITIALIZER;
	struct tick k = { .n = 0, .rearm_until = 5, .rearm_delay = MS };

	(void)state;
	pthread_mutex_init(&k.mu, NULL);
	k.self = host_timer_new(&event_loop_ops, l, &dev_lock, rearm_cb, &k);
	pthread_mutex_lock(&dev_lock);
	host_timer_arm(k.self, event_loop_now_ns(), 0);
	pthread_mutex_unlock(&dev_lock);
	assert_int_equal(wait_count(&k.mu, &k.n, 5), 5);
	sleep_ms(30);
	assert_int_equal(read_count(&k.mu, &k.n), 5);
	host_timer_free(k.self);
	event_loop_destroy(l);
}

/* ---- deferred work ---- */

static void test_deferred_work_runs_on_loop_thread(void **state)
{
	struct event_loop *l = new_loop(true);
	struct tick k = { .n = 0 };
	struct host_timer *t;
	char name[32] = "";

	(void)state;
	pthread_mutex_init(&k.mu, NULL);
	t = host_timer_new(&event_loop_ops, l, NULL, tick_cb, &k);
	host_timer_arm(t, 0, 0);   /* deadline 0: as soon as the loop runs */
	assert_int_equal(wait_count(&k.mu, &k.n, 1), 1);
	assert_false(pthread_equal(k.thread, pthread_self()));
	assert_int_equal(pthread_getname_np(k.thread, name, sizeof(name)), 0);
	assert_string_equal(name, "event-loop");
	host_timer_free(t);
	event_loop_destroy(l);
}

/* ---- frees ---- */

struct slow {
	pthread_mutex_t mu;
	unsigned int started, finished;
};

static void slow_cb(void *opaque)
{
	struct slow *s = opaque;

	pthread_mutex_lock(&s->mu);
	s->started++;
	pthread_mutex_unlock(&s->mu);
	sleep_ms(100);
	pthread_mutex_lock(&s->mu);
	s->finished++;
	pthread_mutex_unlock(&s->mu);
}

static void test_free_waits_for_running_callback(void **state)
{
	struct event_loop *l = new_loop(true);
	struct slow s = { .started = 0 };
	struct host_timer *t;

	(void)state;
	pthread_mutex_init(&s.mu, NULL);
	t = host_timer_new(&event_loop_ops, l, NULL, slow_cb, &s);
	host_timer_arm(t, 0, 0);
	assert_int_equal(wait_count(&s.mu, &s.started, 1), 1);
	host_timer_free(t);   /* from this thread, while slow_cb sleeps */
	assert_int_equal(read_count(&s.mu, &s.finished), 1);
	event_loop_destroy(l);
}

static void slow_fd_cb(void *opaque, unsigned int revents)
{
	(void)revents;
	slow_cb(opaque);
}

static void test_watch_free_waits_for_running_callback(void **state)
{
	struct event_loop *l = new_loop(true);
	struct slow s = { .started = 0 };
	struct host_watch *w;
	int sv[2];

	(void)state;
	pthread_mutex_init(&s.mu, NULL);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	w = host_watch_new(&event_loop_ops, l, sv[0], HOST_FD_OUT, NULL, slow_fd_cb, &s);
	assert_non_null(w);
	assert_int_equal(wait_count(&s.mu, &s.started, 1), 1);
	host_watch_free(w);
	assert_int_equal(read_count(&s.mu, &s.finished), read_count(&s.mu, &s.started));
	close(sv[0]);
	close(sv[1]);
	event_loop_destroy(l);
}

struct self_free {
	pthread_mutex_t mu;
	unsigned int n;
	struct host_timer *t;
	struct host_watch *w;
};

static void self_free_timer_cb(void *opaque)
{
	struct self_free *sf = opaque;

	host_timer_free(sf->t);   /* on the loop thread, its own timer: no wait, no leak */
	pthread_mutex_lock(&sf->mu);
	sf->n++;
	pthread_mutex_unlock(&sf->mu);
}

static void self_free_watch_cb(void *opaque, unsigned int revents)
{
	struct self_free *sf = opaque;

	(void)revents;
	pthread_mutex_lock(&sf->mu);   /* sf->w is set under it */
	host_watch_free(sf->w);
	sf->n++;
	pthread_mutex_unlock(&sf->mu);
}

static void test_free_from_own_callback(void **state)
{
	struct event_loop *l = new_loop(true);
	pthread_mutex_t dev_lock = PTHREAD_MUTEX_INITIALIZER;
	struct self_free sf = { .n = 0 };
	int sv[2];

	(void)state;
	pthread_mutex_init(&sf.mu, NULL);
	sf.t = host_timer_new(&event_loop_ops, l, &dev_lock, self_free_timer_cb, &sf);
	host_timer_arm(sf.t, 0, MS);   /* periodic: it would come back if it were not freed */
	assert_int_equal(wait_count(&sf.mu, &sf.n, 1), 1);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	pthread_mutex_lock(&sf.mu);
	sf.w = host_watch_new(&event_loop_ops, l, sv[0], HOST_FD_OUT, NULL, self_free_watch_cb, &sf);
	pthread_mutex_unlock(&sf.mu);
	assert_non_null(sf.w);
	assert_int_equal(wait_count(&sf.mu, &sf.n, 2), 2);
	sleep_ms(20);
	assert_int_equal(read_count(&sf.mu, &sf.n), 2);
	close(sv[0]);
	close(sv[1]);
	event_loop_destroy(l);   /* AddressSanitizer: both were released, once */
}

/*
 * host_loop.h says never to free while holding the registered lock; the
 * VMM's loop survives it anyway: the loop, waiting for that lock for an
 * overdue timer or a ready watch, gives the callback up instead of
 * deadlocking with the free that waits for it.
 */
static void test_free_under_its_lock_does_not_deadlock(void **state)
{
	struct event_loop *l = new_loop(true);
	pthread_mutex_t dev_lock = PTHREAD_MUTEX_INITIALIZER;
	struct slow s = { .started = 0 };
	struct host_timer *t;
	struct host_watch *w;
	int sv[2];

	(void)state;
	pthread_mutex_init(&s.mu, NULL);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	for (int round = 0; round < 5; round++) {
		pthread_mutex_lock(&dev_lock);
		t = host_timer_new(&event_loop_ops, l, &dev_lock, slow_cb, &s);
		host_timer_arm(t, 0, 0);
		w = host_watch_new(&event_loop_ops, l, sv[0], HOST_FD_OUT, &dev_lock, slow_fd_cb, &s);
		assert_non_null(w);
		sleep_ms(5);   /* the loop now waits for dev_lock, for one of them */
		host_timer_free(t);
		host_watch_free(w);
		pthread_mutex_unlock(&dev_lock);
	}
	sleep_ms(20);
	assert_int_equal(read_count(&s.mu, &s.started), 0);
	close(sv[0]);
	close(sv[1]);
	event_loop_destroy(l);
}

/* ---- watches ---- */

struct pipe_watch {
	pthread_mutex_t mu;
	int fd;
	struct host_watch *w;
	unsigned int in, out, err;
	char got[16];
	size_t len;
};

static void pipe_cb(void *opaque, unsigned int revents)
{
	struct pipe_watch *p = opaque;

	pthread_mutex_lock(&p->mu);
	if (revents & HOST_FD_IN) {
		ssize_t n = read(p->fd, p->got + p->len, sizeof(p->got) - 1 - p->len);

		if (n > 0)
			p->len += (size_t)n;
		p->in++;
	}
	if (revents & HOST_FD_OUT) {
		p->out++;
		host_watch_set(p->w, 0);   /* nothing to write: drop OUT (level-triggered) */
	}
	if (revents & HOST_FD_ERR) {
		p->err++;
		host_watch_set(p->w, 0);
	}
	pthread_mutex_unlock(&p->mu);
}

static void test_watch_in_then_out(void **state)
{
	struct event_loop *l = new_loop(true);
	struct pipe_watch p = { .len = 0 };
	int sv[2];

	(void)state;
	pthread_mutex_init(&p.mu, NULL);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	p.fd = sv[0];
	pthread_mutex_lock(&p.mu);   /* p.w is set before the callback can run */
	p.w = host_watch_new(&event_loop_ops, l, sv[0], HOST_FD_IN, NULL, pipe_cb, &p);
	pthread_mutex_unlock(&p.mu);
	assert_non_null(p.w);
	sleep_ms(20);
	assert_int_equal(read_count(&p.mu, &p.in), 0);   /* nothing to read yet */
	assert_int_equal(write(sv[1], "hi", 2), 2);
	assert_int_equal(wait_count(&p.mu, &p.in, 1), 1);
	pthread_mutex_lock(&p.mu);
	assert_int_equal(p.len, 2);
	assert_memory_equal(p.got, "hi", 2);
	pthread_mutex_unlock(&p.mu);

	/* OUT instead: writable at once, reported once (the callback drops it). */
	host_watch_set(p.w, HOST_FD_OUT);
	assert_int_equal(wait_count(&p.mu, &p.out, 1), 1);
	sleep_ms(20);
	assert_int_equal(read_count(&p.mu, &p.out), 1);
	/* Data arriving now is not reported: IN is not wanted. */
	assert_int_equal(write(sv[1], "x", 1), 1);
	sleep_ms(20);
	assert_int_equal(read_count(&p.mu, &p.in), 1);
	/* Toggled back to IN: the byte that waited is read. */
	host_watch_set(p.w, HOST_FD_IN);
	assert_int_equal(wait_count(&p.mu, &p.in, 2), 2);
	/* The peer hangs up: ERR (with IN, at end of file). */
	close(sv[1]);
	assert_int_equal(wait_count(&p.mu, &p.err, 1), 1);
	host_watch_free(p.w);
	close(sv[0]);
	event_loop_destroy(l);
}

/* A regular file: epoll refuses it, the loop treats it as always ready (like poll). */
static void test_watch_on_regular_file(void **state)
{
	struct event_loop *l = new_loop(true);
	struct pipe_watch p = { .len = 0 };
	char path[] = "/tmp/hutch-test-loop-XXXXXX";
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, "abc", 3), 3);
	lseek(fd, 0, SEEK_SET);
	pthread_mutex_init(&p.mu, NULL);
	p.fd = fd;
	pthread_mutex_lock(&p.mu);
	p.w = host_watch_new(&event_loop_ops, l, fd, HOST_FD_OUT, NULL, pipe_cb, &p);
	pthread_mutex_unlock(&p.mu);
	assert_non_null(p.w);
	assert_int_equal(wait_count(&p.mu, &p.out, 1), 1);
	sleep_ms(20);
	assert_int_equal(read_count(&p.mu, &p.out), 1);
	host_watch_set(p.w, HOST_FD_IN);
	assert_true(wait_count(&p.mu, &p.in, 1) >= 1);
	host_watch_set(p.w, 0);
	pthread_mutex_lock(&p.mu);
	assert_int_equal(p.len, 3);
	pthread_mutex_unlock(&p.mu);
	host_watch_free(p.w);
	close(fd);
	event_loop_destroy(l);
}

/* With the thread stopped nothing fires; objects stay usable; a restart serves them. */
static void test_stop_and_restart(void **state)
{
	struct event_loop *l = new_loop(true);
	struct tick k = { .n = 0 };
	struct host_timer *t;
	char err[128];

	(void)state;
	pthread_mutex_init(&k.mu, NULL);
	t = host_timer_new(&event_loop_ops, l, NULL, tick_cb, &k);
	event_loop_stop(l);
	host_timer_arm(t, 0, 0);
	sleep_ms(20);
	assert_int_equal(read_count(&k.mu, &k.n), 0);
	assert_int_equal(event_loop_start(l, err, sizeof(err)), 0);
	assert_int_equal(wait_count(&k.mu, &k.n, 1), 1);
	event_loop_stop(l);
	host_timer_free(t);
	event_loop_destroy(l);
}

/* The KVM shortcuts are not the loop's: ENOSYS, so devices keep their trapped path. */
static void test_no_kvm_shortcuts_here(void **state)
{
	struct event_loop *l = new_loop(false);

	(void)state;
	errno = 0;
	assert_null(host_ioevent_new(&event_loop_ops, l, true, 0x1000, 2, NULL, NULL, NULL));
	assert_int_equal(errno, ENOSYS);
	errno = 0;
	assert_null(host_irqfd_new(&event_loop_ops, l));
	assert_int_equal(errno, ENOSYS);
	event_loop_destroy(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timers_fire_in_deadline_order),
		cmocka_unit_test(test_one_shot_fires_once),
		cmocka_unit_test(test_periodic_count_and_phase),
		cmocka_unit_test(test_cancel_under_lock_is_exact),
		cmocka_unit_test(test_rearm_from_callback),
		cmocka_unit_test(test_deferred_work_runs_on_loop_thread),
		cmocka_unit_test(test_free_waits_for_running_callback),
		cmocka_unit_test(test_watch_free_waits_for_running_callback),
		cmocka_unit_test(test_free_from_own_callback),
		cmocka_unit_test(test_free_under_its_lock_does_not_deadlock),
		cmocka_unit_test(test_watch_in_then_out),
		cmocka_unit_test(test_watch_on_regular_file),
		cmocka_unit_test(test_stop_and_restart),
		cmocka_unit_test(test_no_kvm_shortcuts_here),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
