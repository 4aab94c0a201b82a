// SPDX-License-Identifier: GPL-2.0-or-later
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "aio.h"
#include "block.h"
#include "guest_mem.h"
#include "io_worker.h"
#include "thread.h"

struct io_thread {
	struct io_worker *w;
	pthread_t thread;
	unsigned int idx;
};

struct io_worker {
	struct io_thread threads[IO_WORKER_MAX_THREADS];
	unsigned int nthreads;
	pthread_mutex_t lock;
	pthread_cond_t wake;   /* pending work or stop: one idle thread */
	pthread_cond_t idle;   /* a work() call ended: drain() looks again */
	io_work_fn work;
	void *opaque;
	bool pending;          /* a kick no thread has taken up yet */
	unsigned int running;  /* threads inside work() */
	unsigned int ready;    /* threads past their set-up (io_worker_start waits) */
	bool stop;
};

static void *io_worker_main(void *arg)
{
	struct io_thread *t = arg;
	struct io_worker *w = t->w;

	/* Its io_uring ring now, at device creation, before the seccomp
	 * filter (which lets no new ring be made: seccomp.c). */
	blk_aio_thread_init();
	pthread_mutex_lock(&w->lock);
	w->ready++;
	pthread_cond_broadcast(&w->idle);
	for (;;) {
		while (!w->pending && !w->stop)
			pthread_cond_wait(&w->wake, &w->lock);
		if (w->stop)
			break;
		w->pending = false;
		w->running++;
		pthread_mutex_unlock(&w->lock);
		w->work(w->opaque, t->idx);
		pthread_mutex_lock(&w->lock);
		w->running--;
		pthread_cond_broadcast(&w->idle);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

unsigned int io_worker_default_threads(void)
{
	const char *env = getenv("HUTCH_IO_THREADS");
	char *end;
	unsigned long n;

	if (!env || !*env)
		return IO_WORKER_DEFAULT_THREADS;
	n = strtoul(env, &end, 10);
	if (*end || !n || n > IO_WORKER_MAX_THREADS)
		return IO_WORKER_DEFAULT_THREADS;
	return (unsigned int)n;
}

static void io_worker_join(struct io_worker *w, unsigned int n)
{
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_broadcast(&w->wake);
	pthread_mutex_unlock(&w->lock);
	for (unsigned int i = 0; i < n; i++)
		pthread_join(w->threads[i].thread, NULL);
}

struct io_worker *io_worker_start(const char *name, unsigned int nthreads, io_work_fn work,
				  void *opaque)
{
	struct io_worker *w;
	int ret;

	if (!nthreads || nthreads > IO_WORKER_MAX_THREADS) {
		errno = EINVAL;
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->work = work;
	w->opaque = opaque;
	w->nthreads = nthreads;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	pthread_cond_init(&w->idle, NULL);
	for (unsigned int i = 0; i < nthreads; i++) {
		w->threads[i].w = w;
		w->threads[i].idx = i;
		ret = hutch_thread_create(&w->threads[i].thread, io_worker_main, &w->threads[i]);
		if (ret) {
			io_worker_join(w, i);
			pthread_cond_destroy(&w->idle);
			pthread_cond_destroy(&w->wake);
			pthread_mutex_destroy(&w->lock);
			free(w);
			errno = ret;
			return NULL;
		}
		pthread_setname_np(w->threads[i].thread, name);
	}
	pthread_mutex_lock(&w->lock);
	while (w->ready < nthreads)
		pthread_cond_wait(&w->idle, &w->lock);
	pthread_mutex_unlock(&w->lock);
	return w;
}

unsigned int io_worker_threads(const struct io_worker *w)
{
	return w->nthreads;
}

void io_worker_kick(struct io_worker *w)
{
	pthread_mutex_lock(&w->lock);
	w->pending = true;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
}

void io_worker_drain(struct io_worker *w)
{
	pthread_mutex_lock(&w->lock);
	while ((w->pending || w->running) && !w->stop)
		pthread_cond_wait(&w->idle, &w->lock);
	pthread_mutex_unlock(&w->lock);
}

void io_worker_stop(struct io_worker *w)
{
	if (!w)
		return;
	io_worker_join(w, w->nthreads);
	pthread_cond_destroy(&w->idle);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

/* ---- requests in flight ---- */

void io_inflight_init(struct io_inflight *q, pthread_mutex_t *lock)
{
	*q = (struct io_inflight){ .lock = lock };
	pthread_cond_init(&q->idle, NULL);
}

void io_inflight_destroy(struct io_inflight *q)
{
	if (q->lock)
		pthread_cond_destroy(&q->idle);
	q->lock = NULL;
}

void io_inflight_cancel_wait(struct io_inflight *q)
{
	if (!q->active)
		return;
	/* The I/O thread waiting for its own request would never wake. */
	assert(!pthread_equal(q->runner, pthread_self()));
	/* Everything in flight now has a ticket <= submitted. */
	__atomic_store_n(&q->cancel_upto, q->submitted, __ATOMIC_RELEASE);
	q->cancelling = q->active;
	while (q->cancelling)
		pthread_cond_wait(&q->idle, q->lock);
}

void io_inflight_wait(struct io_inflight *q)
{
	if (!q->active)
		return;
	assert(!pthread_equal(q->runner, pthread_self()));
	while (q->active)
		pthread_cond_wait(&q->idle, q->lock);
}

void io_req_init(struct io_req *r)
{
	*r = (struct io_req){ 0 };
}

void io_req_free(struct io_req *r)
{
	free(r->iov);
	io_req_init(r);
}

void io_req_unmap(struct io_req *r)
{
	r->nr_iov = 0;
	r->len = 0;
}

int io_req_map_buf(struct io_req *r, void *buf, size_t len)
{
	if (r->nr_iov == r->iov_cap) {
		unsigned int cap = r->iov_cap ? r->iov_cap * 2 : 64;
		struct iovec *v = realloc(r->iov, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		r->iov = v;
		r->iov_cap = cap;
	}
	r->iov[r->nr_iov].iov_base = buf;
	r->iov[r->nr_iov].iov_len = len;
	r->nr_iov++;
	r->len += len;
	return 0;
}

int io_req_map(struct io_req *r, const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	/* gm_slice checks the whole range: address, length, no wrap. */
	void *p = gm_slice(gm, gpa, len);

	if (!p)
		return -EFAULT;
	return io_req_map_buf(r, p, (size_t)len);
}

void io_req_submit(struct io_req *r, struct io_inflight *q)
{
	r->q = q;
	r->ticket = ++q->submitted;
	q->active++;
	q->runner = pthread_self();
}

bool io_req_cancelled(const struct io_req *r)
{
	return r && r->q && r->ticket <= __atomic_load_n(&r->q->cancel_upto, __ATOMIC_ACQUIRE);
}

bool io_req_complete(struct io_req *r)
{
	struct io_inflight *q = r->q;
	bool cancelled;

	if (!q)
		return false;
	cancelled = io_req_cancelled(r);
	assert(q->active);
	q->active--;
	if (cancelled && q->cancelling)
		q->cancelling--;
	if (!q->cancelling || !q->active)
		pthread_cond_broadcast(&q->idle);
	r->q = NULL;
	return !cancelled;
}

/*
 * One piece goes to the image as one vectored call straight from/to the
 * guest's pages (blk_preadv/blk_pwritev): for raw and for qcow2 clusters
 * that lie next to each other that is one system call, where one per
 * segment (a 1 MiB O_DIRECT guest request is 256 pages) was the cost.
 */
#define IO_PIECE_SEGS 256

int io_req_rw(const struct io_req *r, struct blk_image *img, const struct iovec *iov,
	      unsigned int nr_iov, uint64_t off, uint64_t len, bool write)
{
	struct iovec piece[IO_PIECE_SEGS];
	unsigned int i = 0;
	size_t in = 0;      /* bytes of iov[i] already done */

	while (len && i < nr_iov) {
		unsigned int n = 0;
		size_t bytes = 0;
		int ret;

		/* Up to IO_CHUNK bytes (and IO_PIECE_SEGS segments). */
		while (i < nr_iov && n < IO_PIECE_SEGS && bytes < IO_CHUNK && bytes < len) {
			size_t seg = iov[i].iov_len - in, room = IO_CHUNK - bytes;

			if (seg > room)
				seg = room;
			if (seg > len - bytes)
				seg = (size_t)(len - bytes);
			piece[n].iov_base = (uint8_t *)iov[i].iov_base + in;
			piece[n].iov_len = seg;
			n++;
			bytes += seg;
			in += seg;
			if (in == iov[i].iov_len) {
				i++;
				in = 0;
			}
		}
		if (io_req_cancelled(r))
			return -ECANCELED;
		ret = write ? blk_pwritev(img, piece, (int)n, off) :
			      blk_preadv(img, piece, (int)n, off);
		if (ret < 0)
			return ret;
		off += bytes;
		len -= bytes;
	}
	return 0;
}
