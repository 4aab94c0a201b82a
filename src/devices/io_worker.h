/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A storage device's I/O threads: disk I/O runs here, off the vCPU threads.
 *
 * A model's register handler (on a vCPU thread) only records that there
 * is work and calls io_worker_kick(); a worker thread then calls the
 * model's work function, which takes the device lock to pick requests up,
 * drops it around the image I/O (io_req_rw: blk_preadv/blk_pwritev straight
 * between guest RAM and the image), and completes them (DMA to guest
 * RAM through guest_mem, interrupt).
 *
 * A worker is a small pool of threads (io_worker_start's @nthreads) so
 * that several requests of one device are in flight at once (virtio-blk
 * queues, AHCI NCQ tags).  A kick wakes one idle thread; a work function
 * that has picked one request up kicks again before it drops the device
 * lock, so the next idle thread looks for the next request: up to
 * @nthreads requests run at once, each completing when its own I/O ends
 * (out of order).  Kicks coalesce: a kick that arrives while every thread
 * is busy makes the first one to finish run work() once more, so none is
 * lost.  A pool of one thread is the old single I/O thread (IDE).
 */
#ifndef HUTCH_IO_WORKER_H
#define HUTCH_IO_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct blk_image;
struct guest_mem;
struct io_worker;

/* @thread: which of the pool's threads runs it (0 .. nthreads - 1), so a
 * model can give each its own scratch space without a lock. */
typedef void (*io_work_fn)(void *opaque, unsigned int thread);

#define IO_WORKER_MAX_THREADS 16
/* Threads of a device's pool unless HUTCH_IO_THREADS (1..16) says otherwise. */
#define IO_WORKER_DEFAULT_THREADS 4

/* The pool size a device gets: HUTCH_IO_THREADS from the environment,
 * else IO_WORKER_DEFAULT_THREADS. */
unsigned int io_worker_default_threads(void);
/* Start @nthreads (1..IO_WORKER_MAX_THREADS) threads named @name (<= 15
 * chars) running @work on kicks.  All are created here, at device
 * creation, before the process installs its seccomp filter.  NULL with
 * errno set on failure. */
struct io_worker *io_worker_start(const char *name, unsigned int nthreads, io_work_fn work,
				  void *opaque);
unsigned int io_worker_threads(const struct io_worker *w);
/* Ask for work() to run (again) soon.  Safe from any thread, any lock held. */
void io_worker_kick(struct io_worker *w);
/* Wait until every kick so far has been served (reset, save, tests). */
void io_worker_drain(struct io_worker *w);
/* Finish the current work() calls, stop and join the threads, free @w. */
void io_worker_stop(struct io_worker *w);

/*
 * Requests in flight, and the reset rule: no device writes guest RAM (or
 * touches its drive) after its reset returned.
 *
 * The one object every DMA-capable controller (AHCI, IDE, virtio-blk)
 * uses for a request between its register side and its I/O threads:
 *
 *   map        io_req_map()         guest RAM ranges -> a checked scatter list
 *   submit     io_req_submit()      device lock held: counted in flight
 *   run        io_req_rw()          lock dropped: image I/O in IO_CHUNK pieces,
 *                                   one vectored call each, the cancel mark
 *                                   checked between pieces
 *   complete   io_req_complete()    device lock held: false if it was cancelled,
 *                                   then the device drops the result
 *   cancel     io_inflight_cancel_wait()   device lock held: marks every request
 *                                   in flight cancelled (several: one per
 *                                   pool thread at most) and waits until
 *                                   each has completed
 *
 * One struct io_inflight per unit a reset stops (an AHCI port, an IDE
 * channel, a virtio device).  Because a cancelled request stops at the
 * next piece, a reset waits for at most one piece of image I/O (IO_CHUNK
 * bytes, or one flush) per thread, never for a whole 32 MiB transfer.
 *
 * Lock order (also in docs/design.md, "Requests in flight and resets"):
 *
 *   device lock  ->  the machine's vm_lock (read: raising an IRQ)
 *   image locks: never taken with the device lock held; a pool thread
 *               drops the device lock before every blk_* I/O call
 *               (ata_complete, vblk_handle).  Only blk_size/blk_caps,
 *               which take no lock, are called under the device lock.
 *   the worker's own lock: a leaf (io_worker_kick under any lock).
 *
 * io_inflight has no lock of its own: its fields are guarded by the
 * device lock, except the cancel mark, which the pool threads read between
 * pieces without any lock (an atomic).  io_inflight_cancel_wait() sleeps
 * on a condition variable *of the device lock*, so while it waits the lock
 * is free and the pool threads can take it to complete.  Hence the waiter
 * holds the device lock and nothing else a pool thread may need: not
 * vm_lock (the machine calls device resets outside it), not another
 * device's lock, not an image lock.  It never runs on a pool thread of
 * its own device, which would wait for its own request (asserted for the
 * thread that submitted last).  While it
 * waits, other vCPUs may take the device lock: the device stops its
 * queue (PxCI = 0, phase idle, quiesce) *before* waiting, so nothing new
 * is picked up, and requests submitted after the cancel are not waited
 * for.
 */
#define IO_CHUNK (256u << 10)   /* bytes of image I/O between two cancel checks */

struct io_inflight {
	pthread_mutex_t *lock;      /* the device lock */
	pthread_cond_t idle;        /* cancelling or active reached 0 */
	uint64_t submitted;         /* tickets handed out (the last one) */
	uint64_t cancel_upto;       /* atomic: tickets <= this are cancelled */
	unsigned int active;        /* submitted, not completed */
	unsigned int cancelling;    /* of those, cancelled: waiters wait for 0 */
	pthread_t runner;           /* the pool thread that submitted the last one */
};

struct io_req {
	struct io_inflight *q;      /* set by io_req_submit(), NULL when done */
	uint64_t ticket;
	struct iovec *iov;          /* the mapped guest RAM (or a buffer) */
	unsigned int nr_iov, iov_cap;
	uint64_t len;               /* bytes in iov */
};

void io_inflight_init(struct io_inflight *q, pthread_mutex_t *lock);
void io_inflight_destroy(struct io_inflight *q);
/* Device lock held (and no other lock): cancel everything in flight on @q
 * and wait until it has completed.  Returns at once if nothing is. */
void io_inflight_cancel_wait(struct io_inflight *q);
/* The same without cancelling: let everything in flight finish (a
 * snapshot, which must not lose requests).  The caller has stopped new
 * submissions first. */
void io_inflight_wait(struct io_inflight *q);

void io_req_init(struct io_req *r);
void io_req_free(struct io_req *r);          /* the scatter list's storage */
void io_req_unmap(struct io_req *r);         /* empty the scatter list */
/* Append guest RAM [gpa, gpa + len): 0, -EFAULT (not all in RAM) or -ENOMEM. */
int io_req_map(struct io_req *r, const struct guest_mem *gm, uint64_t gpa, uint64_t len);
/* Append a host buffer (a PIO bounce buffer).  0 or -ENOMEM. */
int io_req_map_buf(struct io_req *r, void *buf, size_t len);
/* Device lock held: @r is in flight on @q from now on. */
void io_req_submit(struct io_req *r, struct io_inflight *q);
/* Any thread, no lock: has a reset cancelled @r?  (false for NULL) */
bool io_req_cancelled(const struct io_req *r);
/* Device lock held: @r is done.  false if it was cancelled: then the
 * device posts nothing (no result, no interrupt, no guest RAM write). */
bool io_req_complete(struct io_req *r);
/*
 * Image I/O between @img at @off and the first @len bytes of @iov, in
 * IO_CHUNK pieces; @r (may be NULL) is checked for a cancel between them.
 * 0, -ECANCELED (then part may be done), or the block layer's error.
 */
int io_req_rw(const struct io_req *r, struct blk_image *img, const struct iovec *iov,
	      unsigned int nr_iov, uint64_t off, uint64_t len, bool write);

#endif
