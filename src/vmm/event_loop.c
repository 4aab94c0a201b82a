// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The VM's event loop (event_loop.h): one epoll thread serving the
 * timers and watches of host_loop.h.
 *
 * Timers: a binary min-heap of the armed timers, ordered by deadline (and
 * by arming order among equal deadlines, so deferred work runs first in,
 * first out), and one timerfd (CLOCK_MONOTONIC, absolute) set to the
 * heap's first deadline.  Watches: the fds in the epoll set, level-
 * triggered.  A wake-up eventfd ends epoll_wait when the loop must stop.
 *
 * Locking (host_loop.h's contract).  l->mu guards the heap, every
 * timer's and watch's fields and the loop's bookkeeping; it is only ever
 * held for short, non-blocking work (epoll_ctl and timerfd_settime
 * included) and never while taking a callback's lock: to run a callback
 * the loop marks it busy, drops l->mu, takes the callback's lock, then
 * takes l->mu again to check that the timer is still armed and due, or
 * that the watch still wants the event.  So the order is always
 * callback lock -> l->mu, and a device that cancels a timer under its
 * lock knows it will not run.  A free from another thread waits while
 * its object is busy; a free on the loop thread (from a callback) cannot
 * wait for itself and leaves the memory to the loop instead.
 *
 * host_loop.h forbids freeing a timer or watch while holding its lock;
 * this loop survives it anyway (a device reset that drops its doorbells
 * under dev->lock is an easy mistake): while the loop waits for a
 * callback's lock it looks every millisecond whether the object was
 * freed meanwhile, and gives the callback up if so, so the free that
 * holds the lock and waits for the loop is not waiting forever.
 *
 * Watches freed while the loop runs are not released at once: the loop
 * may hold their pointers in the batch epoll_wait returned.  They go on a
 * zombie list that the loop empties before its next epoll_wait.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "event_loop.h"
#include "thread.h"

#define NOT_QUEUED       ((size_t)-1)
#define NO_DEADLINE      INT64_MAX
#define MAX_EVENTS       32
#define MAX_TIMERS_BATCH 64   /* then epoll again, so watches are never starved */
#define MAX_PLAIN_BATCH  32

struct el_timer {
	struct host_timer base;   /* first: host_loop.h finds the ops here */
	struct event_loop *l;
	pthread_mutex_t *lock;
	host_cb *fn;
	void *opaque;
	/* Under l->mu: */
	int64_t deadline, period;
	uint64_t seq;             /* arming order, breaks deadline ties */
	size_t heap_idx;          /* NOT_QUEUED = not armed */
	bool dead;                /* freed: the loop must not call it any more */
	bool loop_frees;          /* freed by its own callback: the loop releases it */
};

struct el_watch {
	struct host_watch base;
	struct event_loop *l;
	int fd;
	pthread_mutex_t *lock;
	host_fd_cb *fn;
	void *opaque;
	/* Under l->mu: */
	unsigned int events;      /* wanted: HOST_FD_IN | HOST_FD_OUT */
	bool in_epoll;            /* registered in l->epfd now */
	bool plain;               /* epoll refuses the fd (regular file, /dev/null): always ready */
	bool dead;
	struct el_watch *next;    /* l->plain_watches, then l->zombies */
};

struct event_loop {
	int epfd, timerfd, wakefd;
	pthread_mutex_t mu;
	pthread_cond_t idle;      /* l->busy went back to NULL */
	/* Under mu: */
	struct el_timer **heap;
	size_t nr_heap, cap_heap; /* cap_heap >= nr_timers: arming never allocates */
	size_t nr_timers, nr_watches;
	uint64_t next_seq;
	int64_t programmed;       /* the timerfd's deadline; NO_DEADLINE = disarmed */
	const void *busy;         /* the timer or watch whose callback the loop is running */
	struct el_watch *plain_watches;
	struct el_watch *zombies;
	bool quit;
	bool thread_running;
	pthread_t thread;
};

/* epoll_event.data.ptr of the loop's own fds. */
static char tag_timerfd, tag_wakefd;

int64_t event_loop_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static bool on_loop_thread(const struct event_loop *l)
{
	return l->thread_running && pthread_equal(pthread_self(), l->thread);
}

/* ---- the timer heap (l->mu held) ---- */

static bool timer_before(const struct el_timer *a, const struct el_timer *b)
{
	return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

static void heap_place(struct event_loop *l, size_t i, struct el_timer *t)
{
	l->heap[i] = t;
	t->heap_idx = i;
}

static void heap_sift_up(struct event_loop *l, size_t i)
{
	struct el_timer *t = l->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!timer_before(t, l->heap[parent]))
			break;
		heap_place(l, i, l->heap[parent]);
		i = parent;
	}
	heap_place(l, i, t);
}

static void heap_sift_down(struct event_loop *l, size_t i)
{
	struct el_timer *t = l->heap[i];

	for (;;) {
		size_t child = 2 * i + 1;

		if (child >= l->nr_heap)
			break;
		if (child + 1 < l->nr_heap && timer_before(l->heap[child + 1], l->heap[child]))
			child++;
		if (!timer_before(l->heap[child], t))
			break;
		heap_place(l, i, l->heap[child]);
		i = child;
	}
	heap_place(l, i, t);
}

static void heap_remove(struct event_loop *l, struct el_timer *t)
{
	size_t i = t->heap_idx;
	struct el_timer *last;

	if (i == NOT_QUEUED)
		return;
	t->heap_idx = NOT_QUEUED;
	last = l->heap[--l->nr_heap];
	if (last == t)
		return;
	heap_place(l, i, last);
	heap_sift_up(l, i);
	heap_sift_down(l, last->heap_idx);
}

/* (Re)queue @t at its current deadline. */
static void heap_requeue(struct event_loop *l, struct el_timer *t)
{
	t->seq = l->next_seq++;
	if (t->heap_idx == NOT_QUEUED) {
		heap_place(l, l->nr_heap++, t);
		heap_sift_up(l, t->heap_idx);
	} else {
		heap_sift_up(l, t->heap_idx);
		heap_sift_down(l, t->heap_idx);
	}
}

static int64_t first_deadline(const struct event_loop *l)
{
	return l->nr_heap ? l->heap[0]->deadline : NO_DEADLINE;
}

/* Point the timerfd at the first deadline (l->mu held). */
static void program_timerfd(struct event_loop *l)
{
	int64_t want = first_deadline(l);
	struct itimerspec its = { 0 };

	if (want == l->programmed)
		return;
	if (want != NO_DEADLINE) {
		/* An all-zero it_value disarms: a deadline at or before 0 is "now". */
		if (want < 1)
			want = 1;
		its.it_value.tv_sec = want / 1000000000LL;
		its.it_value.tv_nsec = want % 1000000000LL;
	}
	if (timerfd_settime(l->timerfd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
		l->programmed = first_deadline(l);
}

/* ---- timers ---- */

static struct host_timer *el_timer_new(void *loop, pthread_mutex_t *lock, host_cb *fn, void *opaque)
{
	struct event_loop *l = loop;
	struct el_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	*t = (struct el_timer){ .base = { &event_loop_ops }, .l = l, .lock = lock, .fn = fn,
				.opaque = opaque, .heap_idx = NOT_QUEUED };
	pthread_mutex_lock(&l->mu);
	if (l->nr_timers == l->cap_heap) {
		size_t cap = l->cap_heap ? 2 * l->cap_heap : 16;
		struct el_timer **heap = realloc(l->heap, cap * sizeof(*heap));

		if (!heap) {
			pthread_mutex_unlock(&l->mu);
			free(t);
			errno = ENOMEM;
			return NULL;
		}
		l->heap = heap;
		l->cap_heap = cap;
	}
	l->nr_timers++;
	pthread_mutex_unlock(&l->mu);
	return &t->base;
}

static void el_timer_arm(struct host_timer *ht, int64_t deadline_ns, int64_t period_ns)
{
	struct el_timer *t = (struct el_timer *)ht;
	struct event_loop *l = t->l;

	pthread_mutex_lock(&l->mu);
	if (!t->dead) {
		t->deadline = deadline_ns;
		t->period = period_ns > 0 ? period_ns : 0;
		heap_requeue(l, t);
		/* Only an earlier deadline needs the timerfd now; a later one waits for the loop. */
		if (first_deadline(l) < l->programmed)
			program_timerfd(l);
	}
	pthread_mutex_unlock(&l->mu);
}

static void el_timer_cancel(struct host_timer *ht)
{
	struct el_timer *t = (struct el_timer *)ht;

	pthread_mutex_lock(&t->l->mu);
	heap_remove(t->l, t);   /* the timerfd may wake the loop once for nothing */
	pthread_mutex_unlock(&t->l->mu);
}

static void el_timer_free(struct host_timer *ht)
{
	struct el_timer *t = (struct el_timer *)ht;
	struct event_loop *l;

	if (!t)
		return;
	l = t->l;
	pthread_mutex_lock(&l->mu);
	heap_remove(l, t);
	l->nr_timers--;
	t->dead = true;
	if (l->busy == t) {
		if (on_loop_thread(l)) {
			/* Its own callback frees it: the loop releases it on return. */
			t->loop_frees = true;
			pthread_mutex_unlock(&l->mu);
			return;
		}
		while (l->busy == t)
			pthread_cond_wait(&l->idle, &l->mu);
	}
	pthread_mutex_unlock(&l->mu);
	free(t);
}

/*
 * Take @lock (NULL: none) for the callback of an object the loop marked
 * busy, unless the object is freed meanwhile: its free may be the one
 * holding @lock, waiting for the loop.  false = freed, give it up.
 */
static bool lock_callback(struct event_loop *l, pthread_mutex_t *lock, const bool *dead)
{
	if (!lock || pthread_mutex_trylock(lock) == 0)
		return true;
	for (;;) {
		struct timespec ts;
		bool gone;

		/* timedlock's clock is CLOCK_REALTIME; a step of it only delays the re-check. */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 1000000;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		if (pthread_mutex_timedlock(lock, &ts) == 0)
			return true;
		pthread_mutex_lock(&l->mu);
		gone = *dead;
		pthread_mutex_unlock(&l->mu);
		if (gone)
			return false;
	}
}

/*
 * Run the first timer if it is due at @now.  false if none is.  The
 * check is made again under the timer's lock: whoever holds that lock
 * may have cancelled or moved it meanwhile.
 */
static bool run_first_timer(struct event_loop *l, int64_t now)
{
	struct el_timer *t;
	bool due = false, loop_frees;

	pthread_mutex_lock(&l->mu);
	t = l->nr_heap ? l->heap[0] : NULL;
	if (!t || t->deadline > now) {
		pthread_mutex_unlock(&l->mu);
		return false;
	}
	l->busy = t;
	pthread_mutex_unlock(&l->mu);

	if (!lock_callback(l, t->lock, &t->dead))
		goto done;
	pthread_mutex_lock(&l->mu);
	due = t->heap_idx != NOT_QUEUED && t->deadline <= now;
	if (due) {
		if (t->period) {
			/* Fire once for all the periods missed, keeping the phase. */
			t->deadline += t->period;
			if (t->deadline <= now)
				t->deadline += ((now - t->deadline) / t->period + 1) * t->period;
			heap_requeue(l, t);
		} else {
			heap_remove(l, t);
		}
	}
	pthread_mutex_unlock(&l->mu);
	if (due)
		t->fn(t->opaque);
	if (t->lock)
		pthread_mutex_unlock(t->lock);
done:
	/* A timer freed elsewhere may be released the moment busy is cleared. */
	pthread_mutex_lock(&l->mu);
	l->busy = NULL;
	loop_frees = t->loop_frees;
	pthread_cond_broadcast(&l->idle);
	pthread_mutex_unlock(&l->mu);
	if (loop_frees)
		free(t);
	return true;
}

static void run_timers(struct event_loop *l)
{
	int64_t now = event_loop_now_ns();

	for (unsigned int i = 0; i < MAX_TIMERS_BATCH; i++)
		if (!run_first_timer(l, now))
			break;
	pthread_mutex_lock(&l->mu);
	program_timerfd(l);   /* still due ones (batch full): it fires at once */
	pthread_mutex_unlock(&l->mu);
}

/* ---- watches ---- */

static uint32_t to_epoll(unsigned int events)
{
	return (events & HOST_FD_IN ? EPOLLIN : 0) | (events & HOST_FD_OUT ? EPOLLOUT : 0);
}

static unsigned int from_epoll(uint32_t ev)
{
	return (ev & EPOLLIN ? HOST_FD_IN : 0) | (ev & EPOLLOUT ? HOST_FD_OUT : 0) |
	       (ev & (EPOLLERR | EPOLLHUP) ? HOST_FD_ERR : 0);
}

/*
 * Make the epoll set match w->events (l->mu held).  No interest means out
 * of the set: epoll reports errors and hang-ups even to an empty mask,
 * and level-triggered that would spin.
 */
static int watch_sync(struct event_loop *l, struct el_watch *w)
{
	struct epoll_event ev = { .events = to_epoll(w->events), .data.ptr = w };
	int op;

	if (w->plain)
		return 0;
	if (!w->events) {
		if (!w->in_epoll)
			return 0;
		w->in_epoll = false;
		return epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL) < 0 ? -errno : 0;
	}
	op = w->in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(l->epfd, op, w->fd, &ev) < 0)
		return -errno;
	w->in_epoll = true;
	return 0;
}

static bool wake(struct event_loop *l)
{
	uint64_t one = 1;

	return write(l->wakefd, &one, sizeof(one)) == sizeof(one);
}

static struct host_watch *el_watch_new(void *loop, int fd, unsigned int events,
				       pthread_mutex_t *lock, host_fd_cb *fn, void *opaque)
{
	struct event_loop *l = loop;
	struct el_watch *w;
	struct epoll_event probe = { .events = 0 };
	int ret;

	if (fd < 0) {
		errno = EBADF;
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	*w = (struct el_watch){ .base = { &event_loop_ops }, .l = l, .fd = fd, .lock = lock,
				.fn = fn, .opaque = opaque,
				.events = events & (HOST_FD_IN | HOST_FD_OUT) };
	pthread_mutex_lock(&l->mu);
	/*
	 * Files epoll cannot watch (regular files, /dev/null) are always
	 * ready, as poll(2) says of them: the loop calls such a watch each
	 * time round while it has an interest.
	 */
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &probe) < 0) {
		if (errno != EPERM) {
			ret = -errno;
			goto fail;
		}
		w->plain = true;
		w->next = l->plain_watches;
		l->plain_watches = w;
	} else {
		w->in_epoll = true;
	}
	ret = watch_sync(l, w);
	if (ret)
		goto fail;
	l->nr_watches++;
	pthread_mutex_unlock(&l->mu);
	if (w->plain && w->events)
		wake(l);
	return &w->base;
fail:
	if (w->in_epoll)
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	if (w->plain)
		l->plain_watches = w->next;
	pthread_mutex_unlock(&l->mu);
	free(w);
	errno = -ret;
	return NULL;
}

static void el_watch_set(struct host_watch *hw, unsigned int events)
{
	struct el_watch *w = (struct el_watch *)hw;
	struct event_loop *l = w->l;
	bool kick;
	int ret;

	pthread_mutex_lock(&l->mu);
	events &= HOST_FD_IN | HOST_FD_OUT;
	kick = w->plain && events && !w->events;
	w->events = events;
	ret = w->dead ? 0 : watch_sync(l, w);
	pthread_mutex_unlock(&l->mu);
	if (kick)
		wake(l);   /* epoll_wait knows nothing of plain watches */
	if (ret)
		fprintf(stderr, "hutch-vm: event loop: watching fd %d: %s\n", w->fd, strerror(-ret));
}

static void el_watch_free(struct host_watch *hw)
{
	struct el_watch *w = (struct el_watch *)hw;
	struct event_loop *l;

	if (!w)
		return;
	l = w->l;
	pthread_mutex_lock(&l->mu);
	w->events = 0;
	watch_sync(l, w);
	if (w->plain) {
		for (struct el_watch **pp = &l->plain_watches; *pp; pp = &(*pp)->next)
			if (*pp == w) {
				*pp = w->next;
				break;
			}
	}
	w->dead = true;
	l->nr_watches--;
	if (!on_loop_thread(l))
		while (l->busy == w)
			pthread_cond_wait(&l->idle, &l->mu);
	if (l->thread_running) {
		/* The loop may hold @w in the batch epoll_wait gave it. */
		w->next = l->zombies;
		l->zombies = w;
		w = NULL;
	}
	pthread_mutex_unlock(&l->mu);
	free(w);
}

/* Call @w's callback for @revents if it still wants them, under its lock. */
static void run_watch(struct event_loop *l, struct el_watch *w, unsigned int revents)
{
	bool go;

	pthread_mutex_lock(&l->mu);
	go = !w->dead && w->events && (revents & (w->events | HOST_FD_ERR));
	if (go)
		l->busy = w;
	pthread_mutex_unlock(&l->mu);
	if (!go)
		return;

	if (lock_callback(l, w->lock, &w->dead)) {
		pthread_mutex_lock(&l->mu);
		revents &= w->events | HOST_FD_ERR;
		go = !w->dead && w->events && revents;
		pthread_mutex_unlock(&l->mu);
		if (go)
			w->fn(w->opaque, revents);
		if (w->lock)
			pthread_mutex_unlock(w->lock);
	}

	pthread_mutex_lock(&l->mu);
	l->busy = NULL;
	pthread_cond_broadcast(&l->idle);
	pthread_mutex_unlock(&l->mu);
}

/* Plain watches with an interest, at most @max (l->mu held). */
static unsigned int ready_plain_watches(struct event_loop *l, struct el_watch **out, unsigned int max)
{
	unsigned int n = 0;

	for (struct el_watch *w = l->plain_watches; w && n < max; w = w->next)
		if (w->events)
			out[n++] = w;
	return n;
}

/* ---- the thread ---- */

static void free_zombies(struct event_loop *l)
{
	struct el_watch *z;

	pthread_mutex_lock(&l->mu);
	z = l->zombies;
	l->zombies = NULL;
	pthread_mutex_unlock(&l->mu);
	while (z) {
		struct el_watch *next = z->next;

		free(z);
		z = next;
	}
}

static void drain(int fd)
{
	uint64_t v;

	(void)!read(fd, &v, sizeof(v));
}

static void *loop_thread(void *arg)
{
	struct event_loop *l = arg;
	struct epoll_event ev[MAX_EVENTS];
	struct el_watch *plain[MAX_PLAIN_BATCH];

	pthread_setname_np(pthread_self(), "event-loop");
	for (;;) {
		unsigned int nr_plain;
		bool quit;
		int n;

		free_zombies(l);
		pthread_mutex_lock(&l->mu);
		quit = l->quit;
		nr_plain = ready_plain_watches(l, plain, MAX_PLAIN_BATCH);
		pthread_mutex_unlock(&l->mu);
		if (quit)
			break;

		n = epoll_wait(l->epfd, ev, MAX_EVENTS, nr_plain ? 0 : -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "hutch-vm: event loop: epoll_wait: %s\n", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			if (ev[i].data.ptr == &tag_wakefd) {
				drain(l->wakefd);
			} else if (ev[i].data.ptr == &tag_timerfd) {
				drain(l->timerfd);
				pthread_mutex_lock(&l->mu);
				l->programmed = NO_DEADLINE;   /* expired: run_timers sets it anew */
				pthread_mutex_unlock(&l->mu);
			} else {
				run_watch(l, ev[i].data.ptr, from_epoll(ev[i].events));
			}
		}
		/* The plain watches listed before the wait are still allocated (no zombie freed since). */
		for (unsigned int i = 0; i < nr_plain; i++)
			run_watch(l, plain[i], HOST_FD_IN | HOST_FD_OUT);
		run_timers(l);
	}
	return NULL;
}

/* ---- life cycle ---- */

struct event_loop *event_loop_create(char *err, size_t errlen)
{
	struct event_loop *l = calloc(1, sizeof(*l));
	struct epoll_event ev = { .events = EPOLLIN };

	if (!l) {
		snprintf(err, errlen, "event loop: %s", strerror(ENOMEM));
		return NULL;
	}
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	l->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	l->programmed = NO_DEADLINE;
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->idle, NULL);
	if (l->epfd < 0 || l->timerfd < 0 || l->wakefd < 0)
		goto fail;
	ev.data.ptr = &tag_timerfd;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->timerfd, &ev) < 0)
		goto fail;
	ev.data.ptr = &tag_wakefd;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wakefd, &ev) < 0)
		goto fail;
	return l;
fail:
	snprintf(err, errlen, "event loop: %s", strerror(errno));
	event_loop_destroy(l);
	return NULL;
}

int event_loop_start(struct event_loop *l, char *err, size_t errlen)
{
	int ret;

	pthread_mutex_lock(&l->mu);
	if (l->thread_running) {
		pthread_mutex_unlock(&l->mu);
		return 0;
	}
	l->quit = false;
	/* Set before the thread runs: callbacks it calls see themselves on the loop thread. */
	l->thread_running = true;
	ret = hutch_thread_create(&l->thread, loop_thread, l);
	if (ret)
		l->thread_running = false;
	pthread_mutex_unlock(&l->mu);
	if (ret) {
		snprintf(err, errlen, "starting the event loop: %s", strerror(ret));
		return -ret;
	}
	return 0;
}

void event_loop_stop(struct event_loop *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	if (!l->thread_running) {
		pthread_mutex_unlock(&l->mu);
		return;
	}
	l->quit = true;
	pthread_mutex_unlock(&l->mu);
	wake(l);
	pthread_join(l->thread, NULL);
	pthread_mutex_lock(&l->mu);
	l->thread_running = false;
	pthread_mutex_unlock(&l->mu);
	free_zombies(l);
}

void event_loop_destroy(struct event_loop *l)
{
	if (!l)
		return;
	event_loop_stop(l);
	free_zombies(l);
	if (l->nr_timers || l->nr_watches)
		fprintf(stderr, "hutch-vm: event loop: %zu timers and %zu watches were never freed\n",
			l->nr_timers, l->nr_watches);
	if (l->epfd >= 0)
		close(l->epfd);
	if (l->timerfd >= 0)
		close(l->timerfd);
	if (l->wakefd >= 0)
		close(l->wakefd);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->idle);
	free(l->heap);
	free(l);
}

const struct host_loop_ops event_loop_ops = {
	.timer_new = el_timer_new,
	.timer_arm = el_timer_arm,
	.timer_cancel = el_timer_cancel,
	.timer_free = el_timer_free,
	.watch_new = el_watch_new,
	.watch_set = el_watch_set,
	.watch_free = el_watch_free,
	/* ioeventfd and irqfd: kvm_notify.c (they need the VM). */
};
