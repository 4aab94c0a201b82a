/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a device may ask of the machine's event loop (struct dev_host's
 * loop_ops): timers, file-descriptor watches, deferred work, and the two
 * KVM shortcuts, ioeventfd (a guest write to a doorbell wakes the loop
 * without a vCPU exit to userspace) and irqfd (an eventfd write raises an
 * MSI in the kernel).
 *
 * The VMM serves all of this from one thread per VM (src/vmm/event_loop.c);
 * the unit tests' fake machine serves it from a virtual clock that the
 * test advances by hand (tests/fake/fake_machine.h), so every timer-driven
 * device is tested without sleeping.
 *
 * Locking.  Every callback is registered with the lock it needs (normally
 * its device's dev->lock, or NULL for none).  The loop takes that lock,
 * checks that the event is still wanted, and calls the callback with the
 * lock held.  So a device that arms, cancels or re-arms a timer, or
 * changes a watch, while holding the same lock knows exactly what will
 * run: a timer cancelled under dev->lock never fires afterwards, even if
 * its deadline had already passed.  Arm/cancel/set may be called from any
 * thread, with or without the lock, and from inside callbacks.  The only
 * rule: never free a timer, watch or ioevent while holding its lock (the
 * free waits for a callback that may be running).  The loop never holds
 * its own internal lock while calling a callback or taking a device lock.
 *
 * Everything here may be missing (loop_ops NULL, or a call failing with
 * ENOSYS): a device then keeps its trapped-I/O path and KVM_SIGNAL_MSI.
 */
#ifndef HUTCH_HOST_LOOP_H
#define HUTCH_HOST_LOOP_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct host_loop_ops;

/*
 * Handles: each implementation embeds one of these as its first member,
 * so the inline wrappers below find the ops from the handle alone.
 */
struct host_timer { const struct host_loop_ops *ops; };
struct host_watch { const struct host_loop_ops *ops; };
struct host_ioevent { const struct host_loop_ops *ops; };
struct host_irqfd { const struct host_loop_ops *ops; };

/* Watch interests and results (like POLLIN/POLLOUT; ERR covers HUP too). */
#define HOST_FD_IN   0x1u
#define HOST_FD_OUT  0x2u
#define HOST_FD_ERR  0x4u   /* reported only, never asked for */

typedef void host_cb(void *opaque);
typedef void host_fd_cb(void *opaque, unsigned int revents);

struct host_loop_ops {
	/*
	 * A timer on the host's monotonic clock (dev_host.clock_monotonic_ns,
	 * nanoseconds).  Created disarmed.  arm() sets the absolute deadline
	 * and the period (0 = one-shot), replacing any earlier arming; a
	 * deadline in the past fires as soon as the loop runs, which is how
	 * devices defer work to the loop thread.  A periodic timer that falls
	 * behind fires once, then keeps its phase (deadline += period until it
	 * is in the future); the device reads the clock if it must count
	 * missed periods.
	 */
	struct host_timer *(*timer_new)(void *loop, pthread_mutex_t *lock, host_cb *fn,
					void *opaque);
	void (*timer_arm)(struct host_timer *t, int64_t deadline_ns, int64_t period_ns);
	void (*timer_cancel)(struct host_timer *t);
	void (*timer_free)(struct host_timer *t);

	/*
	 * Watch @fd for HOST_FD_IN and/or HOST_FD_OUT (level-triggered, so a
	 * device drops an interest it cannot serve, e.g. OUT with nothing to
	 * write).  @fn gets the ready set, HOST_FD_ERR included.  The fd stays
	 * the caller's: watch_free does not close it.
	 */
	struct host_watch *(*watch_new)(void *loop, int fd, unsigned int events,
					pthread_mutex_t *lock, host_fd_cb *fn, void *opaque);
	void (*watch_set)(struct host_watch *w, unsigned int events);
	void (*watch_free)(struct host_watch *w);

	/*
	 * ioeventfd: a guest write of @len bytes (1, 2, 4 or 8; 0 = any) to
	 * @addr in port I/O (@pio) or MMIO space no longer exits to the bus;
	 * it calls @fn on the loop thread instead (writes that come close
	 * together may be merged into one call; the value is not kept).
	 * Survives guest reboots (the VMM re-registers it with each new VM).
	 * NULL with errno (ENOSYS: not offered here).
	 */
	struct host_ioevent *(*ioevent_new)(void *loop, bool pio, uint64_t addr, unsigned int len,
					    pthread_mutex_t *lock, host_cb *fn, void *opaque);
	void (*ioevent_free)(struct host_ioevent *e);

	/*
	 * irqfd: an MSI raised by one eventfd write, without an ioctl per
	 * interrupt.  set_msi() (re)binds it to a message (address/data as
	 * the guest programmed them); signal() raises it; an irqfd never
	 * bound drops signals.  Survives guest reboots.  NULL with errno
	 * (ENOSYS: not offered here).
	 */
	struct host_irqfd *(*irqfd_new)(void *loop);
	int (*irqfd_set_msi)(struct host_irqfd *q, uint64_t addr, uint32_t data);
	void (*irqfd_signal)(struct host_irqfd *q);
	void (*irqfd_free)(struct host_irqfd *q);
};

/* Wrappers devices call (dev_host.loop_ops may be NULL: then ENOSYS). */
static inline struct host_timer *host_timer_new(const struct host_loop_ops *ops, void *loop,
						pthread_mutex_t *lock, host_cb *fn, void *opaque)
{
	if (!ops || !ops->timer_new) {
		errno = ENOSYS;
		return NULL;
	}
	return ops->timer_new(loop, lock, fn, opaque);
}
static inline void host_timer_arm(struct host_timer *t, int64_t deadline_ns, int64_t period_ns)
{
	if (t)
		t->ops->timer_arm(t, deadline_ns, period_ns);
}
static inline void host_timer_cancel(struct host_timer *t)
{
	if (t)
		t->ops->timer_cancel(t);
}
static inline void host_timer_free(struct host_timer *t)
{
	if (t)
		t->ops->timer_free(t);
}

static inline struct host_watch *host_watch_new(const struct host_loop_ops *ops, void *loop,
						int fd, unsigned int events,
						pthread_mutex_t *lock, host_fd_cb *fn,
						void *opaque)
{
	if (!ops || !ops->watch_new) {
		errno = ENOSYS;
		return NULL;
	}
	return ops->watch_new(loop, fd, events, lock, fn, opaque);
}
static inline void host_watch_set(struct host_watch *w, unsigned int events)
{
	if (w)
		w->ops->watch_set(w, events);
}
static inline void host_watch_free(struct host_watch *w)
{
	if (w)
		w->ops->watch_free(w);
}

static inline struct host_ioevent *host_ioevent_new(const struct host_loop_ops *ops, void *loop,
						    bool pio, uint64_t addr, unsigned int len,
						    pthread_mutex_t *lock, host_cb *fn,
						    void *opaque)
{
	if (!ops || !ops->ioevent_new) {
		errno = ENOSYS;
		return NULL;
	}
	return ops->ioevent_new(loop, pio, addr, len, lock, fn, opaque);
}
static inline void host_ioevent_free(struct host_ioevent *e)
{
	if (e)
		e->ops->ioevent_free(e);
}

static inline struct host_irqfd *host_irqfd_new(const struct host_loop_ops *ops, void *loop)
{
	if (!ops || !ops->irqfd_new) {
		errno = ENOSYS;
		return NULL;
	}
	return ops->irqfd_new(loop);
}
static inline int host_irqfd_set_msi(struct host_irqfd *q, uint64_t addr, uint32_t data)
{
	return q ? q->ops->irqfd_set_msi(q, addr, data) : -ENOSYS;
}
static inline void host_irqfd_signal(struct host_irqfd *q)
{
	if (q)
		q->ops->irqfd_signal(q);
}
static inline void host_irqfd_free(struct host_irqfd *q)
{
	if (q)
		q->ops->irqfd_free(q);
}

#endif
