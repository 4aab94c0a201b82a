// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * bench_block: the host side of a guest's disk requests, without a guest.
 * Creates a fresh image and runs the benchmark's workload through
 * io_req_rw() exactly as the storage devices call it: sequential 1 MiB
 * requests scattered over 4 KiB pages (what an O_DIRECT guest buffer is
 * in guest-physical memory), a flush, the same reads, then random 4 KiB
 * writes and reads.  Prints MB/s and IOPS per phase; run it under
 * `strace -c -f` or `perf stat` to count system calls per stage.
 *
 *   bench_block FORMAT PATH MIB
 *
 * A tool for profiling, not a test: nothing is asserted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
	    blk_open(argv[2], argv[1], 0, &img, err, sizeof(err)) < 0) {
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
	for (unsigned i = 0; i < 4096; i++)
		check(io_req_rw(NULL, img, r.iov, 1, (xorshift(&s) % blocks) * PAGE, PAGE, false),
		      "read", img);
	printf("rand_read_iops=%.0f\n", 4096 / (now() - t));
	io_req_free(&r);
	free(ram);
	blk_close(img);
	return 0;
}
