/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * How the block layer's data I/O reaches the host file: the I/O engine.
 *
 * Only the data of requests the format maps straight onto its file (raw,
 * qcow2 clusters already allocated: block.c's shared path) of images open
 * O_DIRECT (--hostiocache off) goes through here; through the page cache
 * block.c calls preadv/pwritev itself (io_uring punts a buffered write
 * that would block to a kernel worker: slower for a caller that waits),
 * and metadata, allocation, compressed and backing reads use the plain
 * file helpers of block_int.h.  Two engines, one per process:
 *
 *   io_uring  each calling thread (a device's I/O pool thread) has a small
 *             ring of its own and submits the vectored read or write and
 *             waits for it with one io_uring_enter; the kernel serves a
 *             page-cache miss or O_DIRECT I/O without blocking that
 *             thread in preadv.  Rings are made when a pool thread
 *             starts (blk_aio_thread_init, before the seccomp filter),
 *             or on a thread's first I/O.
 *   threads   preadv/pwritev on the calling thread: the device's thread
 *             pool is the parallelism.
 *
 * The engine is io_uring where the kernel has it (io_uring_queue_init
 * works), else threads; HUTCH_AIO=threads or HUTCH_AIO=io_uring in the
 * environment forces one (tests; io_uring forced where it fails falls
 * back to threads, with a warning).  A thread whose ring cannot be made
 * uses preadv/pwritev.
 */
#ifndef HUTCH_BLOCK_AIO_H
#define HUTCH_BLOCK_AIO_H

#include <stdint.h>
#include <sys/uio.h>

enum blk_aio_engine {
	BLK_AIO_THREADS,
	BLK_AIO_IO_URING,
};

/* The process's engine, chosen on the first call (see above). */
enum blk_aio_engine blk_aio_engine(void);
const char *blk_aio_engine_name(enum blk_aio_engine e);
/* Tests: use @e from now on.  0, or -errno if io_uring cannot be used here. */
int blk_aio_set_engine(enum blk_aio_engine e);
/* Make the calling thread's ring now (if the engine is io_uring); it is
 * released when the thread exits. */
void blk_aio_thread_init(void);

/*
 * All of @iov at @off of @fd: 0 or -errno.  Short transfers are resumed;
 * a read past the end of the file gives zeros (as blk_file_preadv_zero).
 * blk_file_hook sees every write, as with the file helpers.
 */
int blk_aio_preadv(int fd, const struct iovec *iov, int iovcnt, uint64_t off);
int blk_aio_pwritev(int fd, const struct iovec *iov, int iovcnt, uint64_t off);

#endif
