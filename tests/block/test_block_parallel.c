// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Requests side by side on one image (src/block/block.c, "Locking"):
 * data I/O on extents the format maps straight to its file (raw, qcow2
 * clusters already allocated) runs beside other such I/O; everything
 * else (a qcow2 allocation, a qcow2 flush) waits until it is done.
 *
 * One write is held in the middle through blk_file_hook (the file helpers
 * call it before every write): while it waits, a read of another
 * allocated extent must complete, and an allocating write must not.
 * Then several threads hammer one qcow2 image at once, each in a region
 * of its own, and every byte read back is what its thread wrote.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "aio.h"
#include "blk_test_util.h"
#include "block.h"
#include "block_int.h"

#define ERRLEN    512
#define CLUSTER   65536u
#define DISK      (8u << 20)
#define HOLD_LEN  12288u       /* the one write the hook holds: no other has this size */

/* ---- a write held at the file ---- */

static pthread_mutex_t hold_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hold_cond = PTHREAD_COND_INITIALIZER;
static bool holding, held, released;

static int hold_hook(int fd, char op, const void *buf, size_t len, uint64_t off)
{
	pthread_mutex_lock(&hold_lock);
	if (holding && op == 'w' && len == HOLD_LEN) {
		held = true;
		pthread_cond_broadcast(&hold_cond);
		while (!released)
			pthread_cond_wait(&hold_cond, &hold_lock);
	}
	pthread_mutex_unlock(&hold_lock);
	return 0;
}

static void hold_start(void)
{
	holding = true;
	held = released = false;
	blk_file_hook = hold_hook;
}

static void hold_release(void)
{
	pthread_mutex_lock(&hold_lock);
	released = true;
	pthread_cond_broadcast(&hold_cond);
	pthread_mutex_unlock(&hold_lock);
}

static void hold_stop(void)
{
	blk_file_hook = NULL;
	holding = false;
}

static bool wait_flag(bool *flag, int ms)
{
	struct timespec ts;
	int ret = 0;
	bool v;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&hold_lock);
	while (!*flag && ret != ETIMEDOUT)
		ret = pthread_cond_timedwait(&hold_cond, &hold_lock, &ts);
	v = *flag;
	pthread_mutex_unlock(&hold_lock);
	return v;
}

/* ---- one call on its own thread ---- */

struct call {
	pthread_t thread;
	struct blk_image *img;
	char op;               /* 'r', 'w', 'f' (flush) */
	void *buf;
	size_t len;
	uint64_t off;
	int ret;
	bool done;
};

static void *call_main(void *arg)
{
	struct call *c = arg;
	struct iovec v = { c->buf, c->len };
	int ret;

	if (c->op == 'r')
		ret = blk_preadv(c->img, &v, 1, c->off);
	else if (c->op == 'w')
		ret = blk_pwritev(c->img, &v, 1, c->off);
	else
		ret = blk_flush(c->img);
	pthread_mutex_lock(&hold_lock);
	c->ret = ret;
	c->done = true;
	pthread_cond_broadcast(&hold_cond);
	pthread_mutex_unlock(&hold_lock);
	return NULL;
}

static void call_start(struct call *c, struct blk_image *img, char op, void *buf, size_t len,
		       uint64_t off)
{
	*c = (struct call){ .img = img, .op = op, .buf = buf, .len = len, .off = off };
	assert_int_equal(pthread_create(&c->thread, NULL, call_main, c), 0);
}

static int call_join(struct call *c)
{
	pthread_join(c->thread, NULL);
	return c->ret;
}

static struct blk_image *make_img(const char *fmt, const char *name)
{
	struct blk_create_opts o = { .format = fmt, .size = DISK, .cluster_size = CLUSTER };
	struct blk_image *img = NULL;
	char err[ERRLEN];
	const char *path = bt_path(name);

	if (!strcmp(fmt, "raw"))
		o.cluster_size = 0;
	unlink(path);
	assert_int_equal(blk_create(path, &o, err, sizeof(err)), 0);
	assert_int_equal(blk_open(path, fmt, 0, &img, err, sizeof(err)), 0);
	return img;
}

/*
 * A held overwrite of cluster 0 (shared side) does not stop a read of
 * cluster 1; on qcow2 it does stop an allocating write and a flush
 * (exclusive side) until it is done.  Then everything reads back.
 */
static void held_write_beside(const char *fmt)
{
	struct blk_image *img = make_img(fmt, fmt);
	bool qcow2 = !strcmp(fmt, "qcow2");
	static uint8_t c0[CLUSTER], c1[CLUSTER], w[HOLD_LEN], r[CLUSTER], a[CLUSTER];
	struct call cw, cr, ca, cf;

	bt_fill(c0, sizeof(c0), 1);
	bt_fill(c1, sizeof(c1), 2);
	bt_fill(w, sizeof(w), 3);
	bt_fill(a, sizeof(a), 4);
	/* Allocate clusters 0 and 1 first (the exclusive path). */
	assert_int_equal(blk_pwrite(img, c0, CLUSTER, 0), 0);
	assert_int_equal(blk_pwrite(img, c1, CLUSTER, CLUSTER), 0);

	hold_start();
	call_start(&cw, img, 'w', w, HOLD_LEN, 4096);
	assert_true(wait_flag(&held, 5000));
	/* Beside it: a read of the other allocated cluster completes. */
	call_start(&cr, img, 'r', r, CLUSTER, CLUSTER);
	assert_true(wait_flag(&cr.done, 5000));
	assert_int_equal(call_join(&cr), 0);
	assert_memory_equal(r, c1, CLUSTER);
	/* An allocating write and a flush: qcow2 makes them wait for it. */
	call_start(&ca, img, 'w', a, CLUSTER, 10 * CLUSTER);
	call_start(&cf, img, 'f', NULL, 0, 0);
	if (qcow2) {
		assert_false(wait_flag(&ca.done, 200));
		assert_false(cf.done);
	}
	hold_release();
	assert_int_equal(call_join(&cw), 0);
	assert_int_equal(call_join(&ca), 0);
	assert_int_equal(call_join(&cf), 0);
	hold_stop();

	memcpy(c0 + 4096, w, HOLD_LEN);
	assert_int_equal(blk_pread(img, r, CLUSTER, 0), 0);
	assert_memory_equal(r, c0, CLUSTER);
	assert_int_equal(blk_pread(img, r, CLUSTER, 10 * CLUSTER), 0);
	assert_memory_equal(r, a, CLUSTER);
	blk_close(img);
}

static void test_raw_held_write(void **state)
{
	held_write_beside("raw");
}

static void test_qcow2_held_write(void **state)
{
	held_write_beside("qcow2");
}

/* ---- many threads, one image ---- */

#define NTHREADS 4
#define REGION   (DISK / NTHREADS)
#define OPS      400

struct worker {
	pthread_t thread;
	struct blk_image *img;
	unsigned int idx;
	uint8_t *model;        /* what the region should hold */
	int failures;
};

static uint32_t rnd(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	uint64_t base = (uint64_t)wk->idx * REGION;
	uint32_t seed = 77 + wk->idx;
	uint8_t *buf = malloc(2 * CLUSTER);

	for (int i = 0; i < OPS && buf; i++) {
		uint32_t op = rnd(&seed) % 10;
		uint32_t len = (1 + rnd(&seed) % (2 * CLUSTER / 512)) * 512;
		uint32_t off = (rnd(&seed) % ((REGION - len) / 512 + 1)) * 512;
		/* Two segments, so the vectored path is the one exercised. */
		struct iovec v[2] = { { buf, len / 2 }, { buf + len / 2, len - len / 2 } };

		if (op < 4) {
			bt_fill(buf, len, seed);
			if (blk_pwritev(wk->img, v, 2, base + off))
				wk->failures++;
			memcpy(wk->model + off, buf, len);
		} else if (op < 9) {
			if (blk_preadv(wk->img, v, 2, base + off) ||
			    memcmp(buf, wk->model + off, len))
				wk->failures++;
		} else if (blk_flush(wk->img)) {
			wk->failures++;
		}
	}
	free(buf);
	return NULL;
}

static void hammer(const char *fmt)
{
	struct blk_image *img = make_img(fmt, "hammer");
	struct worker wk[NTHREADS];
	uint8_t *all = calloc(1, DISK), *back = malloc(DISK);
	char err[ERRLEN];

	assert_non_null(all);
	assert_non_null(back);
	for (unsigned int i = 0; i < NTHREADS; i++) {
		wk[i] = (struct worker){ .img = img, .idx = i, .model = all + (size_t)i * REGION };
		assert_int_equal(pthread_create(&wk[i].thread, NULL, worker_main, &wk[i]), 0);
	}
	for (unsigned int i = 0; i < NTHREADS; i++) {
		pthread_join(wk[i].thread, NULL);
		assert_int_equal(wk[i].failures, 0);
	}
	blk_close(img);
	/* The file, reopened, holds what the threads wrote. */
	assert_int_equal(blk_open(bt_path("hammer"), fmt, 0, &img, err, sizeof(err)), 0);
	assert_int_equal(blk_pread(img, back, DISK, 0), 0);
	assert_memory_equal(back, all, DISK);
	blk_close(img);
	if (!strcmp(fmt, "qcow2") && bt_have_qemu_img())
		assert_int_equal(bt_run("qemu-img check -q '%s'", bt_path("hammer")), 0);
	free(all);
	free(back);
}

static void test_raw_hammer(void **state)
{
	hammer("raw");
}

static void test_qcow2_hammer(void **state)
{
	hammer("qcow2");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_raw_held_write),
		cmocka_unit_test(test_qcow2_held_write),
		cmocka_unit_test(test_raw_hammer),
		cmocka_unit_test(test_qcow2_hammer),
	};
	int ret;

	bt_tmpdir();
	/* Under each I/O engine (aio.h) the shared path may use. */
	if (blk_aio_set_engine(BLK_AIO_IO_URING) == 0)
		ret = cmocka_run_group_tests_name("io_uring", tests, NULL, NULL);
	else
		ret = 0, fprintf(stderr, "io_uring unavailable here: threads only\n");
	assert_int_equal(blk_aio_set_engine(BLK_AIO_THREADS), 0);
	ret |= cmocka_run_group_tests_name("threads", tests, NULL, NULL);
	bt_cleanup();
	return ret;
}
