/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Hutch's threads (vCPUs, the event loop, I/O workers) get small stacks.
 *
 * glibc's default stack is 8 MiB of anonymous memory; with transparent
 * huge pages set to "always" (Debian's default) the first touch of it
 * faults in a whole 2 MiB page, so every thread would cost 2 MiB of RSS
 * for a few KiB of use.  256 KiB is far more than any of them needs and
 * smaller than a huge page.
 */
#ifndef HUTCH_THREAD_H
#define HUTCH_THREAD_H

#include <pthread.h>

#if defined(__SANITIZE_ADDRESS__)
#define HUTCH_THREAD_STACK (1024 * 1024)   /* ASan's redzones need room */
#else
#define HUTCH_THREAD_STACK (256 * 1024)
#endif

static inline int hutch_thread_create(pthread_t *t, void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	int ret;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, HUTCH_THREAD_STACK);
	ret = pthread_create(t, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	return ret;
}

#endif
