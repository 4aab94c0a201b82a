/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The VM's event loop: one thread ("event-loop") that serves timers, file
 * descriptor watches and deferred work to the devices (host_loop.h) and
 * to the VMM's own clients (the control socket).  It outlives guest
 * reboots.  docs/design.md, "Threads and locks", says what runs where.
 *
 * Devices and VMM clients alike use it through event_loop_ops and the
 * host_timer_* / host_watch_* wrappers of host_loop.h, with the struct
 * event_loop as the `loop` argument.  The KVM shortcuts (ioeventfd,
 * irqfd) are not served here but by kvm_notify.c, which builds on these
 * watches; event_loop_ops returns ENOSYS for them.
 *
 * Beyond host_loop.h's contract: inside any loop callback (on the loop
 * thread) a free never waits, so a callback may free its own timer or
 * watch, or another one; and a free made while holding the object's
 * registered lock (which host_loop.h forbids) does not deadlock here:
 * the loop gives up a callback whose object was freed while it waited
 * for the lock.  Devices should still keep host_loop.h's rule.
 *
 * One watch per fd number (epoll refuses a second: watch_new fails with
 * EEXIST); ask for HOST_FD_IN | HOST_FD_OUT on one watch instead.  A file
 * epoll cannot watch (regular file, /dev/null) is always ready, as
 * poll(2) has it: its callback runs every time round while it has an
 * interest.
 */
#ifndef HUTCH_EVENT_LOOP_H
#define HUTCH_EVENT_LOOP_H

#include <stddef.h>
#include <stdint.h>

#include "host_loop.h"

struct event_loop;

/* Timers and watches on a struct event_loop (ioevent/irqfd: ENOSYS). */
extern const struct host_loop_ops event_loop_ops;

/* The epoll set, timerfd and wake-up eventfd; no thread yet.  NULL + message. */
struct event_loop *event_loop_create(char *err, size_t errlen);
/* Start the loop's thread.  0, or -errno + message. */
int event_loop_start(struct event_loop *l, char *err, size_t errlen);
/*
 * Stop the thread and join it (a callback running finishes first).
 * Timers and watches stay valid and may still be armed, changed and
 * freed; nothing fires until the next event_loop_start.
 */
void event_loop_stop(struct event_loop *l);
/* Free the loop; every timer and watch must have been freed (NULL ok). */
void event_loop_destroy(struct event_loop *l);

/* CLOCK_MONOTONIC in nanoseconds: the clock timer deadlines are on. */
int64_t event_loop_now_ns(void);

#endif
