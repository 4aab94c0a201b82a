// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "io_worker.h"
#include "thread.h"

struct io_worker {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	io_work_fn work;
	void *opaque;
	unsigned long kicks;   /* kicks asked for */
	unsigned long served;  /* value of kicks when the last work() call began */
	bool running;          /* inside work() */
	bool stop;
};

static void *io_worker_main(void *arg)
{
	struct io_worker *w = arg;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (w->served == w->kicks && !w->stop)
			pthread_cond_wait(&w->cond, &w->lock);
		if (w->stop)
			break;
		w->served = w->kicks;
		w->running = true;
		pthread_mutex_unlock(&w->lock);
		w->work(w->opaque);
		pthread_mutex_lock(&w->lock);
		w->running = false;
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

struct io_worker *io_worker_start(const char *name, io_work_fn work, void *opaque)
{
	struct io_worker *w = calloc(1, sizeof(*w));
	int ret;

	if (!w)
		return NULL;
	w->work = work;
	w->opaque = opaque;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	ret = hutch_thread_create(&w->thread, io_worker_main, w);
	if (ret) {
		pthread_cond_destroy(&w->cond);
		pthread_mutex_destroy(&w->lock);
		free(w);
		errno = ret;
		return NULL;
	}
	pthread_setname_np(w->thread, name);
	return w;
}

void io_worker_kick(struct io_worker *w)
{
	pthread_mutex_lock(&w->lock);
	w->kicks++;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

void io_worker_drain(struct io_worker *w)
{
	pthread_mutex_lock(&w->lock);
	while ((w->served != w->kicks || w->running) && !w->stop)
		pthread_cond_wait(&w->cond, &w->lock);
	pthread_mutex_unlock(&w->lock);
}

void io_worker_stop(struct io_worker *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
