// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The fake machine's event loop (host_loop.h) on a virtual clock.  Single
 * threaded: everything runs on the test's thread, inside fake_loop_run()
 * and fake_advance(), never behind its back.
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "fake_machine.h"

struct fake_timer {
	struct host_timer base;
	struct fake_machine *fm;
	pthread_mutex_t *lock;
	host_cb *fn;
	void *opaque;
	bool armed;
	int64_t deadline, period;
	struct fake_timer *next;
};

struct fake_watch {
	struct host_watch base;
	struct fake_machine *fm;
	int fd;
	unsigned int events;
	pthread_mutex_t *lock;
	host_fd_cb *fn;
	void *opaque;
	struct fake_watch *next;
};

struct fake_ioevent {
	struct host_ioevent base;
	struct fake_machine *fm;
	bool pio;
	uint64_t addr;
	unsigned int len;
	pthread_mutex_t *lock;
	host_cb *fn;
	void *opaque;
	unsigned int pending;
	struct fake_ioevent *next;
};

struct fake_irqfd {
	struct host_irqfd base;
	struct fake_machine *fm;
	bool bound;
	uint64_t addr;
	uint32_t data;
	struct fake_irqfd *next;
};

#define UNLINK(head, type, item) do {                                  \
		for (type **pp = (head); *pp; pp = &(*pp)->next)       \
			if (*pp == (item)) {                           \
				*pp = (item)->next;                    \
				break;                                 \
			}                                              \
	} while (0)

static struct host_timer *fk_timer_new(void *loop, pthread_mutex_t *lock, host_cb *fn, void *opaque)
{
	struct fake_machine *fm = loop;
	struct fake_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	*t = (struct fake_timer){ { &fake_loop_ops }, fm, lock, fn, opaque, false, 0, 0, fm->timers };
	fm->timers = t;
	return &t->base;
}

static void fk_timer_arm(struct host_timer *ht, int64_t deadline, int64_t period)
{
	struct fake_timer *t = (struct fake_timer *)ht;

	t->armed = true;
	t->deadline = deadline;
	t->period = period > 0 ? period : 0;
}

static void fk_timer_cancel(struct host_timer *ht)
{
	((struct fake_timer *)ht)->armed = false;
}

static void fk_timer_free(struct host_timer *ht)
{
	struct fake_timer *t = (struct fake_timer *)ht;

	UNLINK(&t->fm->timers, struct fake_timer, t);
	free(t);
}

static struct host_watch *fk_watch_new(void *loop, int fd, unsigned int events,
				       pthread_mutex_t *lock, host_fd_cb *fn, void *opaque)
{
	struct fake_machine *fm = loop;
	struct fake_watch *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	*w = (struct fake_watch){ { &fake_loop_ops }, fm, fd, events, lock, fn, opaque, fm->watches };
	fm->watches = w;
	return &w->base;
}

static void fk_watch_set(struct host_watch *hw, unsigned int events)
{
	((struct fake_watch *)hw)->events = events;
}

static void fk_watch_free(struct host_watch *hw)
{
	struct fake_watch *w = (struct fake_watch *)hw;

	UNLINK(&w->fm->watches, struct fake_watch, w);
	free(w);
}

static struct host_ioevent *fk_ioevent_new(void *loop, bool pio, uint64_t addr, unsigned int len,
					   pthread_mutex_t *lock, host_cb *fn, void *opaque)
{
	struct fake_machine *fm = loop;
	struct fake_ioevent *e;

	if (!fm->offer_ioeventfd) {
		errno = ENOSYS;
		return NULL;
	}
	if (len != 0 && len != 1 && len != 2 && len != 4 && len != 8) {
		errno = EINVAL;
		return NULL;
	}
	for (e = fm->ioevents; e; e = e->next)
		if (e->pio == pio && e->addr == addr) {
			errno = EEXIST;   /* KVM refuses a second one on the same address too */
			return NULL;
		}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	*e = (struct fake_ioevent){ { &fake_loop_ops }, fm, pio, addr, len, lock, fn, opaque, 0,
				    fm->ioevents };
	fm->ioevents = e;
	return &e->base;
}

static void fk_ioevent_free(struct host_ioevent *he)
{
	struct fake_ioevent *e = (struct fake_ioevent *)he;

	UNLINK(&e->fm->ioevents, struct fake_ioevent, e);
	free(e);
}

static struct host_irqfd *fk_irqfd_new(void *loop)
{
	struct fake_machine *fm = loop;
	struct fake_irqfd *q;

	if (!fm->offer_irqfd) {
		errno = ENOSYS;
		return NULL;
	}
	q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	*q = (struct fake_irqfd){ { &fake_loop_ops }, fm, false, 0, 0, fm->irqfds };
	fm->irqfds = q;
	return &q->base;
}

static int fk_irqfd_set_msi(struct host_irqfd *hq, uint64_t addr, uint32_t data)
{
	struct fake_irqfd *q = (struct fake_irqfd *)hq;

	q->bound = true;
	q->addr = addr;
	q->data = data;
	return 0;
}

static void fk_irqfd_signal(struct host_irqfd *hq)
{
	struct fake_irqfd *q = (struct fake_irqfd *)hq;
	struct fake_machine *fm = q->fm;

	fm->irqfd_signals++;
	if (!q->bound)
		return;
	if (fm->nr_msis < FAKE_MAX_MSIS)
		fm->msis[fm->nr_msis] = (struct fake_msi){ q->addr, q->data };
	fm->nr_msis++;
}

static void fk_irqfd_free(struct host_irqfd *hq)
{
	struct fake_irqfd *q = (struct fake_irqfd *)hq;

	UNLINK(&q->fm->irqfds, struct fake_irqfd, q);
	free(q);
}

const struct host_loop_ops fake_loop_ops = {
	.timer_new = fk_timer_new, .timer_arm = fk_timer_arm,
	.timer_cancel = fk_timer_cancel, .timer_free = fk_timer_free,
	.watch_new = fk_watch_new, .watch_set = fk_watch_set, .watch_free = fk_watch_free,
	.ioevent_new = fk_ioevent_new, .ioevent_free = fk_ioevent_free,
	.irqfd_new = fk_irqfd_new, .irqfd_set_msi = fk_irqfd_set_msi,
	.irqfd_signal = fk_irqfd_signal, .irqfd_free = fk_irqfd_free,
};

/* The fake's ioeventfd check, called by fake_pio_write/fake_mmio_write. */
bool fake_ioevent_catch(struct fake_machine *fm, bool pio, uint64_t addr, unsigned int size)
{
	for (struct fake_ioevent *e = fm->ioevents; e; e = e->next)
		if (e->pio == pio && e->addr == addr && (!e->len || e->len == size)) {
			e->pending++;
			fm->ioevent_hits++;
			return true;
		}
	return false;
}

static struct fake_timer *earliest_due(struct fake_machine *fm, int64_t limit)
{
	struct fake_timer *best = NULL;

	for (struct fake_timer *t = fm->timers; t; t = t->next)
		if (t->armed && t->deadline <= limit && (!best || t->deadline < best->deadline))
			best = t;
	return best;
}

/* Run @t if it is still armed and due, as the real loop does: under its lock. */
static bool fire_timer(struct fake_machine *fm, struct fake_timer *t)
{
	bool ran = false;

	if (t->lock)
		pthread_mutex_lock(t->lock);
	if (t->armed && t->deadline <= fm->monotonic_ns) {
		if (t->period) {
			t->deadline += t->period;
			while (t->deadline <= fm->monotonic_ns)
				t->deadline += t->period;
		} else {
			t->armed = false;
		}
		fm->timer_fires++;
		t->fn(t->opaque);
		ran = true;
	}
	if (t->lock)
		pthread_mutex_unlock(t->lock);
	return ran;
}

static unsigned int run_ioevents(struct fake_machine *fm)
{
	unsigned int ran = 0;

	for (struct fake_ioevent *e = fm->ioevents; e; e = e->next) {
		if (!e->pending)
			continue;
		e->pending = 0;   /* merged, like an eventfd's counter */
		if (e->lock)
			pthread_mutex_lock(e->lock);
		e->fn(e->opaque);
		if (e->lock)
			pthread_mutex_unlock(e->lock);
		ran++;
		break;            /* the list may have changed under the callback */
	}
	return ran;
}

static unsigned int run_watches(struct fake_machine *fm)
{
	for (struct fake_watch *w = fm->watches; w; w = w->next) {
		struct pollfd p = { .fd = w->fd, .events = 0 };
		unsigned int rev = 0;

		if (!w->events)
			continue;
		if (w->events & HOST_FD_IN)
			p.events |= POLLIN;
		if (w->events & HOST_FD_OUT)
			p.events |= POLLOUT;
		if (poll(&p, 1, 0) <= 0)
			continue;
		if (p.revents & POLLIN)
			rev |= HOST_FD_IN;
		if (p.revents & POLLOUT)
			rev |= HOST_FD_OUT;
		if (p.revents & (POLLERR | POLLHUP | POLLNVAL))
			rev |= HOST_FD_ERR;
		rev &= w->events | HOST_FD_ERR;
		if (!rev)
			continue;
		if (w->lock)
			pthread_mutex_lock(w->lock);
		w->fn(w->opaque, rev);
		if (w->lock)
			pthread_mutex_unlock(w->lock);
		return 1;         /* the list may have changed under the callback */
	}
	return 0;
}

unsigned int fake_loop_run(struct fake_machine *fm)
{
	unsigned int total = 0;

	for (unsigned int round = 0; round < 64; round++) {
		unsigned int ran = 0;
		struct fake_timer *t;

		while ((t = earliest_due(fm, fm->monotonic_ns)) && ran < 1024)
			ran += fire_timer(fm, t);
		ran += run_ioevents(fm);
		ran += run_watches(fm);
		total += ran;
		if (!ran)
			break;
	}
	return total;
}

void fake_advance(struct fake_machine *fm, int64_t ns)
{
	int64_t target = fm->monotonic_ns + ns;
	struct fake_timer *t;

	while ((t = earliest_due(fm, target))) {
		if (t->deadline > fm->monotonic_ns) {
			fm->realtime_ns += t->deadline - fm->monotonic_ns;
			fm->monotonic_ns = t->deadline;
		}
		fake_loop_run(fm);
	}
	fm->realtime_ns += target - fm->monotonic_ns;
	fm->monotonic_ns = target;
	fake_loop_run(fm);
}

unsigned int fake_timers_armed(const struct fake_machine *fm)
{
	unsigned int n = 0;

	for (const struct fake_timer *t = fm->timers; t; t = t->next)
		n += t->armed;
	return n;
}

unsigned int fake_ioevents(const struct fake_machine *fm)
{
	unsigned int n = 0;

	for (const struct fake_ioevent *e = fm->ioevents; e; e = e->next)
		n++;
	return n;
}

bool fake_ioevent_at(const struct fake_machine *fm, uint64_t addr)
{
	for (const struct fake_ioevent *e = fm->ioevents; e; e = e->next)
		if (!e->pio && e->addr == addr)
			return true;
	return false;
}

unsigned int fake_irqfds(const struct fake_machine *fm)
{
	unsigned int n = 0;

	for (const struct fake_irqfd *q = fm->irqfds; q; q = q->next)
		n++;
	return n;
}
