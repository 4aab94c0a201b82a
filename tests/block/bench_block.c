// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * bench_block: the host side of a guest's disk requests, without a guest.
 * Creates a fresh image and runs the benchmark's workload through
 * io_req_rw() exactly as the storage devices call it: sequential 1 MiB
 * requests scattered over 4 KiB pages (what an O_DIRECT guest buffer is
 * in guest-physical memory), a flush, the same reads, then random 4 KiB
 * writes and reads, one at a time and then from BENCH_THREADS threads at
 * once (default 4: a device's I/O thread pool with that many requests in
 * flight).  Prints MB/s and IOPS per phase; run it under `strace -c -f`
 * or `perf stat` to count system calls per stage.
 *
 *   [BENCH_NOCACHE=1] [BENCH_THREADS=N] [HUTCH_AIO=threads|io_uring]
 *   bench_block FORMAT PATH MIB
 *
 * BENCH_NOCACHE opens the image O_DIRECT (hutch-vm's --hostiocache off),
 * so the random reads reach the host's disk rather than its page cache.
 *
 * A tool for profiling, not a test: nothing is asserted.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aio.h"
#include "block.h"
#include "io_worker.h"

#define MIB (1u << 20)
#define PAGE 4096u

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void check(int ret, const char *what, struct blk_image *img)
{
	if (ret < 0) {
		fprintf(stderr, "bench_block: %s: %s\n", what, img ? blk_last_error(img) : "");
		exit(1);
	}
}

#define RAND_OPS 4096u

struct reader {
	pthread_t thread;
	struct blk_image *img;
	uint8_t *buf;
	uint64_t blocks, seed;
	unsigned int ops;
};

/* One "pool thread": 4 KiB random reads one after another. */
static void *reader_main(void *arg)
{
	struct reader *rd = arg;
	struct iovec v = { rd->buf, PAGE };

	blk_aio_thread_init();
	for (unsigned int i = 0; i < rd->ops; i++)
		check(io_req_rw(NULL, rd->img, &v, 1, (xorshift(&rd->seed) % rd->blocks) * PAGE,
				PAGE, false), "read", rd->img);
	return NULL;
}

int main(int argc, char **argv)
{
	struct blk_create_opts o = { 0 };
	struct blk_image *img;
	struct io_req r;
	char err[BLK_ERR_MAX];
	uint8_t *ram;
	uint64_t mib, blocks, s = 42;
	double t;

	if (argc != 4) {
		fprintf(stderr, "usage: bench_block raw|qcow2 PATH MIB\n");
		return 2;
	}
	mib = strtoull(argv[3], NULL, 0);
	blocks = mib * (MIB / PAGE);
	o.format = argv[1];
	o.size = (mib + 16) * MIB;
	unlink(argv[2]);
	if (blk_create(argv[2], &o, err, sizeof(err)) < 0 ||
	    blk_open(argv[2], argv[1], getenv("BENCH_NOCACHE") ? BLK_NOCACHE : 0, &img, err,
		     sizeof(err)) < 0) {
		fprintf(stderr, "bench_block: %s\n", err);
		return 1;
	}
	/* "Guest RAM": 1 MiB in pages listed in reverse, so none merge. */
	ram = aligned_alloc(PAGE, MIB);
	memset(ram, 0x5a, MIB);
	io_req_init(&r);
	for (unsigned i = MIB / PAGE; i-- > 0;)
		check(io_req_map_buf(&r, ram + (size_t)i * PAGE, PAGE), "map", NULL);
	t = now();
	for (uint64_t i = 0; i < mib; i++)
		check(io_req_rw(NULL, img, r.iov, r.nr_iov, i * MIB, MIB, true), "write", img);
	check(blk_flush(img), "flush", img);
	printf("seq_write_mbs=%.1f\n", (double)mib / (now() - t));
	t = now();
	for (uint64_t i = 0; i < mib; i++)
		check(io_req_rw(NULL, img, r.iov, r.nr_iov, i * MIB, MIB, false), "read", img);
	printf("seq_read_mbs=%.1f\n", (double)mib / (now() - t));
	t = now();
	for (unsigned i = 0; i < 4096; i++)
		check(io_req_rw(NULL, img, r.iov, 1, (xorshift(&s) % blocks) * PAGE, PAGE, true),
		      "write", img);
	check(blk_flush(img), "flush", img);
	printf("rand_write_iops=%.0f\n", 4096 / (now() - t));
	t = now();
	for (unsigned i = 0; i < RAND_OPS; i++)
		check(io_req_rw(NULL, img, r.iov, 1, (xorshift(&s) % blocks) * PAGE, PAGE, false),
		      "read", img);
	printf("rand_read_iops=%.0f\n", 4096 / (now() - t));
	{
		unsigned int n = getenv("BENCH_THREADS") ? (unsigned)atoi(getenv("BENCH_THREADS")) : 4;
		struct reader *rd;

		if (n < 1 || n > 64)
			n = 4;
		rd = calloc(n, sizeof(*rd));
		t = now();
		for (unsigned int i = 0; i < n; i++) {
			rd[i] = (struct reader){ .img = img, .buf = ram + (size_t)i * PAGE,
						 .blocks = blocks, .seed = 1000 + i, .ops = RAND_OPS / n };
			if (pthread_create(&rd[i].thread, NULL, reader_main, &rd[i]))
				check(-1, "pthread_create", NULL);
		}
		for (unsigned int i = 0; i < n; i++)
			pthread_join(rd[i].thread, NULL);
		printf("rand_read_%ut_iops=%.0f engine=%s\n", n, (n * (RAND_OPS / n)) / (now() - t),
		       blk_aio_engine_name(blk_aio_engine()));
		free(rd);
	}
	io_req_free(&r);
	free(ram);
	blk_close(img);
	return 0;
}
