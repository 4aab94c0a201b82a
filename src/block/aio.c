// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The I/O engine (aio.h): io_uring rings per thread, or preadv/pwritev.
 */
#include <errno.h>
#include <liburing.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aio.h"
#include "block_int.h"

/*
 * One request at a time per thread (the caller waits for it), so a ring
 * of a few entries is plenty and costs a page or two of locked memory.
 */
#define AIO_RING_ENTRIES 4

static pthread_once_t engine_once = PTHREAD_ONCE_INIT;
static enum blk_aio_engine engine;      /* set once; tests may change it */
/* Only for its destructor: a thread's ring is closed when the thread exits. */
static pthread_key_t ring_key;

/*
 * The calling thread's ring, in thread-local storage rather than on the
 * heap: the main thread's (which exits without running key destructors)
 * is then no leak to LeakSanitizer, and the rings themselves are mmaps.
 */
static __thread struct {
	struct io_uring ring;
	bool tried;            /* io_uring_queue_init was called */
	bool ok;               /* ... and worked: else this thread uses preadv */
} tls_ring;

static void ring_free(void *p)
{
	(void)p;
	if (tls_ring.ok)
		io_uring_queue_exit(&tls_ring.ring);
	tls_ring.ok = false;
}

/* Does io_uring work here (kernel support, seccomp, memlock limit)? */
static int uring_probe(void)
{
	struct io_uring ring;
	int ret = io_uring_queue_init(1, &ring, 0);

	if (ret == 0)
		io_uring_queue_exit(&ring);
	return ret;
}

static void engine_choose(void)
{
	const char *env = getenv("HUTCH_AIO");
	int ret;

	pthread_key_create(&ring_key, ring_free);
	if (env && !strcmp(env, "threads")) {
		engine = BLK_AIO_THREADS;
		return;
	}
	ret = uring_probe();
	engine = ret == 0 ? BLK_AIO_IO_URING : BLK_AIO_THREADS;
	if (ret && env && !strcmp(env, "io_uring"))
		fprintf(stderr, "hutch: HUTCH_AIO=io_uring, but io_uring cannot be used here (%s): "
			"disk I/O goes through threads\n", strerror(-ret));
}

enum blk_aio_engine blk_aio_engine(void)
{
	pthread_once(&engine_once, engine_choose);
	return __atomic_load_n(&engine, __ATOMIC_RELAXED);
}

const char *blk_aio_engine_name(enum blk_aio_engine e)
{
	return e == BLK_AIO_IO_URING ? "io_uring" : "threads";
}

int blk_aio_set_engine(enum blk_aio_engine e)
{
	int ret;

	pthread_once(&engine_once, engine_choose);
	if (e == BLK_AIO_IO_URING && (ret = uring_probe()) < 0)
		return ret;
	__atomic_store_n(&engine, e, __ATOMIC_RELAXED);
	return 0;
}

/* The calling thread's ring, made on first use; NULL if it cannot be. */
static struct io_uring *thread_ring(void)
{
	if (!tls_ring.tried) {
		tls_ring.tried = true;
		tls_ring.ok = io_uring_queue_init(AIO_RING_ENTRIES, &tls_ring.ring, 0) == 0;
		/* Any non-NULL value makes the destructor run at thread exit. */
		if (tls_ring.ok && pthread_setspecific(ring_key, &tls_ring)) {
			io_uring_queue_exit(&tls_ring.ring);
			tls_ring.ok = false;
		}
	}
	return tls_ring.ok ? &tls_ring.ring : NULL;
}

void blk_aio_thread_init(void)
{
	if (blk_aio_engine() == BLK_AIO_IO_URING)
		thread_ring();
}

/* One readv/writev through @ring: bytes moved, or -errno. */
static int uring_rw(struct io_uring *ring, int fd, const struct iovec *iov, int iovcnt,
		    uint64_t off, bool write)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct io_uring_cqe *cqe;
	int ret;

	if (!sqe)
		return -EBUSY;          /* never: one request at a time */
	if (write)
		io_uring_prep_writev(sqe, fd, iov, (unsigned)iovcnt, off);
	else
		io_uring_prep_readv(sqe, fd, iov, (unsigned)iovcnt, off);
	do
		ret = io_uring_submit_and_wait(ring, 1);
	while (ret == -EINTR);
	if (ret < 0)
		return ret;
	do
		ret = io_uring_wait_cqe(ring, &cqe);
	while (ret == -EINTR);
	if (ret < 0)
		return ret;
	ret = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return ret;
}

/*
 * The part of @iov after its first @done bytes, in a copy (*out, to be
 * freed), for resuming a short transfer.  The segment count, or -ENOMEM.
 */
static int iov_tail(const struct iovec *iov, int iovcnt, size_t done, struct iovec **out)
{
	struct iovec *v;
	int i = 0, n;

	while (i < iovcnt && done >= iov[i].iov_len) {
		done -= iov[i].iov_len;
		i++;
	}
	n = iovcnt - i;
	v = malloc((size_t)(n ? n : 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	memcpy(v, iov + i, (size_t)n * sizeof(*v));
	if (n) {
		v[0].iov_base = (uint8_t *)v[0].iov_base + done;
		v[0].iov_len -= done;
	}
	*out = v;
	return n;
}

static size_t iov_bytes(const struct iovec *iov, int iovcnt)
{
	size_t n = 0;

	for (int i = 0; i < iovcnt; i++)
		n += iov[i].iov_len;
	return n;
}

/*
 * Through the ring when there is one.  Whatever the ring cannot finish in
 * one go (a short transfer, the end of the file, O_DIRECT refusing an
 * unaligned buffer with EINVAL, EAGAIN) goes on through the file helpers,
 * which loop, zero-fill and bounce as they always did.
 */
static int aio_rw(int fd, const struct iovec *iov, int iovcnt, uint64_t off, bool write)
{
	struct io_uring *ring = NULL;
	size_t len = iov_bytes(iov, iovcnt);
	struct iovec *tail;
	int ret, n;

	if (write && blk_file_hook) {
		ret = blk_file_hook(fd, 'w', NULL, len, off);
		if (ret < 0)
			return ret;
	}
	if (blk_aio_engine() == BLK_AIO_IO_URING)
		ring = thread_ring();
	if (!ring)
		goto helpers;
	ret = uring_rw(ring, fd, iov, iovcnt, off, write);
	if (ret >= 0 && (size_t)ret == len)
		return 0;
	if (ret < 0 && ret != -EINVAL && ret != -EAGAIN && ret != -EINTR)
		return ret;
	if (ret < 0)
		ret = 0;
	n = iov_tail(iov, iovcnt, (size_t)ret, &tail);
	if (n < 0)
		return n;
	ret = write ? blk_file_pwritev_nohook(fd, tail, n, off + (size_t)ret) :
		      blk_file_preadv_zero(fd, tail, n, off + (size_t)ret);
	free(tail);
	return ret;
helpers:
	return write ? blk_file_pwritev_nohook(fd, iov, iovcnt, off) :
		       blk_file_preadv_zero(fd, iov, iovcnt, off);
}

int blk_aio_preadv(int fd, const struct iovec *iov, int iovcnt, uint64_t off)
{
	return aio_rw(fd, iov, iovcnt, off, false);
}

int blk_aio_pwritev(int fd, const struct iovec *iov, int iovcnt, uint64_t off)
{
	return aio_rw(fd, iov, iovcnt, off, true);
}
