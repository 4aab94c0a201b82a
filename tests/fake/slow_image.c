// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "block.h"
#include "slow_image.h"

#define SLOW_TIMEOUT_S 5

int __real_blk_pread(struct blk_image *img, void *buf, size_t len, uint64_t off);
int __real_blk_pwrite(struct blk_image *img, const void *buf, size_t len, uint64_t off);
int __wrap_blk_pread(struct blk_image *img, void *buf, size_t len, uint64_t off);
int __wrap_blk_pwrite(struct blk_image *img, const void *buf, size_t len, uint64_t off);
int __real_blk_preadv(struct blk_image *img, const struct iovec *iov, int iovcnt, uint64_t off);
int __real_blk_pwritev(struct blk_image *img, const struct iovec *iov, int iovcnt, uint64_t off);
int __wrap_blk_preadv(struct blk_image *img, const struct iovec *iov, int iovcnt, uint64_t off);
int __wrap_blk_pwritev(struct blk_image *img, const struct iovec *iov, int iovcnt, uint64_t off);

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static struct blk_image *held_img;   /* whose calls are counted */
#define ANY_OFF UINT64_MAX
static uint64_t held_off = ANY_OFF;  /* only calls at this offset wait (and count) */
static bool gate_closed;
static unsigned int waiting, calls;
static uint64_t bytes;

static struct timespec deadline(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += SLOW_TIMEOUT_S;
	return ts;
}

/* Before the real I/O: wait while the gate is closed; count the call. */
static void gate(struct blk_image *img, size_t len, uint64_t off)
{
	pthread_mutex_lock(&gate_lock);
	if (img == held_img && (held_off == ANY_OFF || off == held_off)) {
		waiting++;
		pthread_cond_broadcast(&gate_cond);
		while (gate_closed)
			pthread_cond_wait(&gate_cond, &gate_lock);
		waiting--;
		calls++;
		bytes += len;
	}
	pthread_mutex_unlock(&gate_lock);
}

int __wrap_blk_pread(struct blk_image *img, void *buf, size_t len, uint64_t off)
{
	gate(img, len, off);
	return __real_blk_pread(img, buf, len, off);
}

int __wrap_blk_pwrite(struct blk_image *img, const void *buf, size_t len, uint64_t off)
{
	gate(img, len, off);
	return __real_blk_pwrite(img, buf, len, off);
}

static size_t iov_bytes(const struct iovec *iov, int iovcnt)
{
	size_t n = 0;

	for (int i = 0; i < iovcnt; i++)
		n += iov[i].iov_len;
	return n;
}

int __wrap_blk_preadv(struct blk_image *img, const struct iovec *iov, int iovcnt, uint64_t off)
{
	gate(img, iov_bytes(iov, iovcnt), off);
	return __real_blk_preadv(img, iov, iovcnt, off);
}

int __wrap_blk_pwritev(struct blk_image *img, const struct iovec *iov, int iovcnt, uint64_t off)
{
	gate(img, iov_bytes(iov, iovcnt), off);
	return __real_blk_pwritev(img, iov, iovcnt, off);
}

void slow_image_hold(struct blk_image *img)
{
	slow_image_hold_at(img, ANY_OFF);
}

void slow_image_hold_at(struct blk_image *img, uint64_t off)
{
	pthread_mutex_lock(&gate_lock);
	held_img = img;
	held_off = off;
	gate_closed = true;
	calls = 0;
	bytes = 0;
	pthread_mutex_unlock(&gate_lock);
}

bool slow_image_wait_held(unsigned int n)
{
	struct timespec ts = deadline();
	int ret = 0;

	pthread_mutex_lock(&gate_lock);
	while (waiting < n && ret != ETIMEDOUT)
		ret = pthread_cond_timedwait(&gate_cond, &gate_lock, &ts);
	ret = waiting >= n;
	pthread_mutex_unlock(&gate_lock);
	return ret;
}

void slow_image_release(void)
{
	pthread_mutex_lock(&gate_lock);
	gate_closed = false;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_lock);
}

unsigned int slow_image_calls(void)
{
	unsigned int n;

	pthread_mutex_lock(&gate_lock);
	n = calls;
	pthread_mutex_unlock(&gate_lock);
	return n;
}

uint64_t slow_image_bytes(void)
{
	uint64_t n;

	pthread_mutex_lock(&gate_lock);
	n = bytes;
	pthread_mutex_unlock(&gate_lock);
	return n;
}

static void *slow_thread_main(void *arg)
{
	struct slow_thread *t = arg;

	pthread_mutex_lock(&t->lock);
	t->tid = (pid_t)syscall(SYS_gettid);
	t->started = true;
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->lock);
	t->fn(t->arg);
	pthread_mutex_lock(&t->lock);
	t->done = true;
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

void slow_thread_start(struct slow_thread *t, void (*fn)(void *), void *arg)
{
	struct timespec ts = deadline();

	memset(t, 0, sizeof(*t));
	t->fn = fn;
	t->arg = arg;
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->cond, NULL);
	pthread_create(&t->thread, NULL, slow_thread_main, t);
	pthread_mutex_lock(&t->lock);
	while (!t->started)
		if (pthread_cond_timedwait(&t->cond, &t->lock, &ts) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&t->lock);
}

/* The thread's scheduler state letter (R, S, D, ...), or 0. */
static char thread_state(pid_t tid)
{
	char path[64], buf[256], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')');     /* the name may hold spaces */
	return p && p[1] == ' ' ? p[2] : 0;
}

bool slow_thread_wait_blocked(struct slow_thread *t)
{
	for (int i = 0; i < SLOW_TIMEOUT_S * 1000; i++) {
		bool done;

		pthread_mutex_lock(&t->lock);
		done = t->done;
		pthread_mutex_unlock(&t->lock);
		if (done)
			return true;
		if (thread_state(t->tid) == 'S')
			return false;
		usleep(1000);
	}
	return false;
}

bool slow_thread_join(struct slow_thread *t)
{
	struct timespec ts = deadline();
	bool done;

	pthread_mutex_lock(&t->lock);
	while (!t->done)
		if (pthread_cond_timedwait(&t->cond, &t->lock, &ts) == ETIMEDOUT)
			break;
	done = t->done;
	pthread_mutex_unlock(&t->lock);
	if (!done)
		return false;
	pthread_join(t->thread, NULL);
	pthread_cond_destroy(&t->cond);
	pthread_mutex_destroy(&t->lock);
	return true;
}
