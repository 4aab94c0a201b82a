/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A storage device's I/O thread: disk I/O runs here, off the vCPU threads.
 *
 * A model's register handler (on a vCPU thread) only records that there
 * is work and calls io_worker_kick(); the worker thread then calls the
 * model's work function, which takes the device lock to pick requests up,
 * drops it around blk_pread/blk_pwrite, and completes them (DMA to guest
 * RAM through guest_mem, interrupt).  Kicks coalesce: a kick that arrives
 * while work() runs makes it run once more afterwards, so none is lost.
 */
#ifndef HUTCH_IO_WORKER_H
#define HUTCH_IO_WORKER_H

struct io_worker;

typedef void (*io_work_fn)(void *opaque);

/* Start a thread named @name (<= 15 chars) running @work on each kick.
 * NULL with errno set on failure. */
struct io_worker *io_worker_start(const char *name, io_work_fn work, void *opaque);
/* Ask for work() to run (again) soon.  Safe from any thread, any lock held. */
void io_worker_kick(struct io_worker *w);
/* Wait until every kick so far has been served (reset, save, tests). */
void io_worker_drain(struct io_worker *w);
/* Finish the current work() call, stop and join the thread, free @w. */
void io_worker_stop(struct io_worker *w);

#endif
