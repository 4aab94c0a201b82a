// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The fake machine's event loop: the virtual clock every timer-driven
 * device test relies on must keep host_loop.h's promises (deadline order,
 * the clock at the deadline while a timer runs, periodic phase, exact
 * cancel under the lock, watches on real fds, ioeventfd and irqfd).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_machine.h"

#define MS 1000000LL

struct rec {
	struct fake_machine *fm;
	pthread_mutex_t *lock;
	int id;
	int64_t at[16];      /* clock when each call ran */
	int order[16];       /* shared log of ids, via log_ids */
	unsigned int calls;
	int lock_held;       /* the registered lock was held during every call */
	struct host_timer *rearm;   /* re-armed from inside the callback */
};

static int log_ids[32];
static unsigned int nr_log;

static void on_timer(void *opaque)
{
	struct rec *r = opaque;

	if (r->lock && pthread_mutex_trylock(r->lock) == 0) {
		r->lock_held = 0;   /* we could take it: the loop did not hold it */
		pthread_mutex_unlock(r->lock);
	}
	if (r->calls < 16)
		r->at[r->calls] = r->fm->monotonic_ns;
	r->calls++;
	if (nr_log < 32)
		log_ids[nr_log++] = r->id;
	if (r->rearm && r->calls < 3)
		host_timer_arm(r->rearm, r->fm->monotonic_ns + 5 * MS, 0);
}

static void test_timers_in_deadline_order(void **state)
{
	struct fake_machine fm;
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct rec a = { .id = 1, .lock_held = 1 }, b = { .id = 2, .lock_held = 1 };
	struct host_timer *ta, *tb;

	(void)state;
	assert_int_equal(fake_machine_init(&fm, 0), 0);
	a.fm = b.fm = &fm;
	a.lock = &lock;
	nr_log = 0;
	ta = host_timer_new(DEV_LOOP(&fm.host), &lock, on_timer, &a);
	tb = host_timer_new(DEV_LOOP(&fm.host), NULL, on_timer, &b);
	assert_non_null(ta);
	assert_non_null(tb);
	host_timer_arm(ta, 30 * MS, 0);
	host_timer_arm(tb, 10 * MS, 0);
	fake_advance(&fm, 20 * MS);
	assert_int_equal(a.calls, 0);
	assert_int_equal(b.calls, 1);
	assert_int_equal(b.at[0], 10 * MS);          /* the clock at its deadline */
	fake_advance(&fm, 20 * MS);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.at[0], 30 * MS);
	assert_int_equal(a.lock_held, 1);
	assert_int_equal(fm.monotonic_ns, 40 * MS);
	assert_int_equal(fm.realtime_ns, 40 * MS);   /* both clocks move together */
	assert_int_equal(nr_log, 2);
	assert_int_equal(log_ids[0], 2);
	assert_int_equal(log_ids[1], 1);
	assert_int_equal(fake_timers_armed(&fm), 0);
	host_timer_free(ta);
	host_timer_free(tb);
	fake_machine_destroy(&fm);
}

static void test_periodic_keeps_phase_and_cancel(void **state)
{
	struct fake_machine fm;
	struct rec a = { .id = 1 };
	struct host_timer *t;

	(void)state;
	assert_int_equal(fake_machine_init(&fm, 0), 0);
	a.fm = &fm;
	t = host_timer_new(DEV_LOOP(&fm.host), NULL, on_timer, &a);
	host_timer_arm(t, 4 * MS, 4 * MS);
	fake_advance(&fm, 41 * MS);                 /* 4, 8, ... 40 */
	assert_int_equal(a.calls, 10);
	assert_int_equal(a.at[9], 40 * MS);
	/* Fallen behind (the clock jumped without the loop): once, same phase. */
	fm.monotonic_ns += 100 * MS;
	fake_loop_run(&fm);
	assert_int_equal(a.calls, 11);
	fake_advance(&fm, 3 * MS);                  /* now 144: the next is 144 */
	assert_int_equal(a.calls, 12);
	assert_int_equal(a.at[11], 144 * MS);
	/* Cancelled after falling due, before the loop ran: never runs. */
	fm.monotonic_ns += 10 * MS;
	host_timer_cancel(t);
	fake_loop_run(&fm);
	assert_int_equal(a.calls, 12);
	/* A past deadline is deferred work: it runs on the next loop run. */
	host_timer_arm(t, 0, 0);
	assert_int_equal(a.calls, 12);
	fake_loop_run(&fm);
	assert_int_equal(a.calls, 13);
	host_timer_free(t);
	fake_machine_destroy(&fm);
}

static void test_rearm_from_callback(void **state)
{
	struct fake_machine fm;
	struct rec a = { .id = 1 };

	(void)state;
	assert_int_equal(fake_machine_init(&fm, 0), 0);
	a.fm = &fm;
	a.rearm = host_timer_new(DEV_LOOP(&fm.host), NULL, on_timer, &a);
	host_timer_arm(a.rearm, 1 * MS, 0);
	fake_advance(&fm, 100 * MS);
	assert_int_equal(a.calls, 3);               /* 1, 6, 11; then it stops re-arming */
	assert_int_equal(a.at[2], 11 * MS);
	host_timer_free(a.rearm);
	fake_machine_destroy(&fm);
}

struct wrec {
	unsigned int calls, last;
	int fd;
};

static void on_fd(void *opaque, unsigned int revents)
{
	struct wrec *w = opaque;
	char buf[8];

	w->calls++;
	w->last = revents;
	if (revents & HOST_FD_IN)
		(void)!read(w->fd, buf, sizeof(buf));
}

static void test_watch_on_a_pipe(void **state)
{
	struct fake_machine fm;
	struct wrec w = { 0 };
	struct host_watch *hw;
	int p[2];

	(void)state;
	assert_int_equal(fake_machine_init(&fm, 0), 0);
	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	w.fd = p[0];
	hw = host_watch_new(DEV_LOOP(&fm.host), p[0], HOST_FD_IN, NULL, on_fd, &w);
	assert_non_null(hw);
	fake_loop_run(&fm);
	assert_int_equal(w.calls, 0);               /* nothing to read */
	assert_int_equal(write(p[1], "x", 1), 1);
	fake_loop_run(&fm);
	assert_int_equal(w.calls, 1);
	assert_int_equal(w.last, HOST_FD_IN);
	host_watch_set(hw, 0);                       /* no interest: not called */
	assert_int_equal(write(p[1], "y", 1), 1);
	fake_loop_run(&fm);
	assert_int_equal(w.calls, 1);
	close(p[1]);                                 /* hang-up is reported */
	host_watch_set(hw, HOST_FD_IN);
	fake_loop_run(&fm);
	assert_true(w.calls >= 2);
	host_watch_free(hw);
	close(p[0]);
	fake_machine_destroy(&fm);
}

static void test_ioevent_and_irqfd_only_when_offered(void **state)
{
	struct fake_machine fm;
	struct rec a = { .id = 1 };
	struct host_ioevent *e;
	struct host_irqfd *q;

	(void)state;
	assert_int_equal(fake_machine_init(&fm, 0), 0);
	a.fm = &fm;
	errno = 0;
	assert_null(host_ioevent_new(DEV_LOOP(&fm.host), false, 0x1000, 2, NULL, on_timer, &a));
	assert_int_equal(errno, ENOSYS);
	assert_null(host_irqfd_new(DEV_LOOP(&fm.host)));
	fm.offer_ioeventfd = fm.offer_irqfd = true;
	e = host_ioevent_new(DEV_LOOP(&fm.host), false, 0x1000, 2, NULL, on_timer, &a);
	assert_non_null(e);
	/* A second one on the same address is refused, as KVM does. */
	assert_null(host_ioevent_new(DEV_LOOP(&fm.host), false, 0x1000, 2, NULL, on_timer, &a));
	fake_mmio_write(&fm, 0x1000, 7, 4);          /* wrong width: not caught */
	assert_int_equal(fm.ioevent_hits, 0);
	fake_mmio_write(&fm, 0x1000, 7, 2);
	fake_mmio_write(&fm, 0x1000, 8, 2);
	assert_int_equal(fm.ioevent_hits, 2);
	assert_int_equal(a.calls, 0);                /* runs on the loop, not the vCPU */
	fake_loop_run(&fm);
	assert_int_equal(a.calls, 1);                /* merged, like an eventfd */
	host_ioevent_free(e);

	q = host_irqfd_new(DEV_LOOP(&fm.host));
	assert_non_null(q);
	host_irqfd_signal(q);                        /* unbound: dropped */
	assert_int_equal(fm.nr_msis, 0);
	assert_int_equal(host_irqfd_set_msi(q, 0xfee00000, 0x41), 0);
	host_irqfd_signal(q);
	assert_int_equal(fm.irqfd_signals, 2);
	assert_int_equal(fm.nr_msis, 1);
	assert_int_equal(fm.msis[0].data, 0x41);
	host_irqfd_free(q);
	fake_machine_destroy(&fm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timers_in_deadline_order),
		cmocka_unit_test(test_periodic_keeps_phase_and_cancel),
		cmocka_unit_test(test_rearm_from_callback),
		cmocka_unit_test(test_watch_on_a_pipe),
		cmocka_unit_test(test_ioevent_and_irqfd_only_when_offered),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
