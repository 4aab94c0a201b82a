/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A slow disk image for reset tests, and a thread to reset from.
 *
 * Tests linked with -Wl,--wrap=blk_pread,blk_pwrite,blk_preadv,blk_pwritev (see
 * tests/unit/CMakeLists.txt) send every image read and write of the
 * device models through here.  slow_image_hold() makes them stop at a
 * gate *before* the real I/O (so a read's data reaches guest RAM only
 * after slow_image_release()), and counts what goes through.  No
 * change to src/block: the hook sits at the link.
 *
 * A reset under test runs on its own thread (a "vCPU"): with the fix it
 * waits for the request held at the gate, so the test must release the
 * gate while that thread waits.  slow_thread_wait_blocked() tells when it
 * does: the thread has finished, or it sleeps (state S in
 * /proc/self/task/TID/stat), which in these tests means it waits for the
 * I/O thread: no other lock is contended.
 */
#ifndef HUTCH_SLOW_IMAGE_H
#define HUTCH_SLOW_IMAGE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct blk_image;

/* From now on, reads and writes of @img wait at the gate. */
void slow_image_hold(struct blk_image *img);
/* The same for the calls at byte offset @off only; the others go through
 * uncounted (one request held while others complete: out of order). */
void slow_image_hold_at(struct blk_image *img, uint64_t off);
/* Wait (up to 5 s) until @n calls are waiting at the gate. */
bool slow_image_wait_held(unsigned int n);
/* Open the gate (and stop holding): waiting and later calls go through. */
void slow_image_release(void);
/* Calls and bytes of the held image that went through since hold(). */
unsigned int slow_image_calls(void);
uint64_t slow_image_bytes(void);

struct slow_thread {
	pthread_t thread;
	pid_t tid;
	void (*fn)(void *);
	void *arg;
	bool started, done;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

/* Run @fn(@arg) on a new thread. */
void slow_thread_start(struct slow_thread *t, void (*fn)(void *), void *arg);
/* Wait (up to 5 s) until the thread has finished or sleeps inside @fn.
 * true if it finished. */
bool slow_thread_wait_blocked(struct slow_thread *t);
/* Join it (it must finish within 5 s: false if not, and it is left). */
bool slow_thread_join(struct slow_thread *t);

#endif
