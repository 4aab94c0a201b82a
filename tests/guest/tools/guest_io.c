// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * guest-io: the disk workload of the storage guest tests and benchmark,
 * built static so it runs from a busybox initramfs; also run on the host
 * to make the expected data.
 *
 *   guest-io gen SEED MIB                 pseudo-random pattern to stdout
 *   guest-io seqwrite DEV MIB             1 MiB records (record n holds n and
 *                                         a pattern of n), fsync after each;
 *                                         prints "HUTCH-RESULT flushed=N"
 *   guest-io checkseq FILE                count of leading records that are
 *                                         intact (for the kill -9 test)
 *   guest-io bench DEV MIB                O_DIRECT sequential 1 MiB write and
 *                                         read, random 4 KiB write and read, and
 *                                         random reads 32 in flight; prints
 *                                         "HUTCH-BENCH name=value" lines, each
 *                                         phase between "HUTCH-PHASE" lines
 *   guest-io randbench DEV MIB SECS       O_DIRECT random 4 KiB writes, then
 *                                         reads, SECS seconds each, between
 *                                         "HUTCH-PHASE begin/end" lines the
 *                                         host times the VMM's CPU by
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#define MIB (1024 * 1024)

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static void fill(uint8_t *buf, size_t len, uint64_t seed)
{
	uint64_t s = seed * 0x9e3779b97f4a7c15ULL + 1;

	for (size_t i = 0; i + 8 <= len; i += 8) {
		uint64_t v = xorshift(&s);

		memcpy(buf + i, &v, 8);
	}
}

static void die(const char *what)
{
	fprintf(stderr, "guest-io: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void write_all(int fd, const void *buf, size_t len, off_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = off < 0 ? write(fd, p, len) : pwrite(fd, p, len, off);

		if (n <= 0)
			die("write");
		p += n;
		len -= (size_t)n;
		if (off >= 0)
			off += n;
	}
}

static void read_all(int fd, void *buf, size_t len, off_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, off);

		if (n <= 0)
			die("read");
		p += n;
		len -= (size_t)n;
		off += n;
	}
}

/* Record n: 8-byte magic, 8-byte n, then pattern n. */
static void make_record(uint8_t *buf, uint64_t n)
{
	fill(buf, MIB, n + 1000);
	memcpy(buf, "HUTCHSEQ", 8);
	memcpy(buf + 8, &n, 8);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* "HUTCH-PHASE begin/end NAME": the host reads the VMM's CPU time at each. */
static void phase(const char *what, const char *name, uint64_t bytes)
{
	if (bytes)
		printf("HUTCH-PHASE %s %s bytes=%llu\n", what, name, (unsigned long long)bytes);
	else
		printf("HUTCH-PHASE %s %s\n", what, name);
	fflush(stdout);
}

/*
 * Random 4 KiB O_DIRECT reads with @qd requests in flight: @qd processes,
 * each with its own descriptor, one request at a time each (busybox has
 * no fio and the static binary no libaio).
 */
static double rand_read_qd(const char *dev, uint64_t blocks, unsigned int qd, unsigned long ops)
{
	double t = now();

	for (unsigned int c = 0; c < qd; c++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (pid == 0) {
			int fd = open(dev, O_RDONLY | O_DIRECT);
			uint64_t s = 1000 + c;
			uint8_t *buf;

			if (fd < 0 || posix_memalign((void **)&buf, 4096, 4096))
				_exit(1);
			for (unsigned long i = 0; i < ops / qd; i++)
				read_all(fd, buf, 4096, (off_t)(xorshift(&s) % blocks) * 4096);
			_exit(0);
		}
	}
	for (unsigned int c = 0; c < qd; c++) {
		int st;

		if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
			die("qd reader");
	}
	return now() - t;
}

static void bench(const char *dev, unsigned long mib)
{
	int fd = open(dev, O_RDWR | O_DIRECT);
	uint8_t *buf;
	uint64_t s = 42, blocks = (uint64_t)mib * MIB / 4096;
	unsigned long ops = 4096, qd_ops = 8192;
	double t;

	if (fd < 0)
		die(dev);
	if (posix_memalign((void **)&buf, 4096, MIB))
		die("memalign");
	fill(buf, MIB, 7);
	phase("begin", "seq_write", 0);
	t = now();
	for (unsigned long i = 0; i < mib; i++)
		write_all(fd, buf, MIB, (off_t)i * MIB);
	fsync(fd);
	t = now() - t;
	phase("end", "seq_write", (uint64_t)mib * MIB);
	printf("HUTCH-BENCH seq_write_mbs=%.1f\n", mib / t);
	phase("begin", "seq_read", 0);
	t = now();
	for (unsigned long i = 0; i < mib; i++)
		read_all(fd, buf, MIB, (off_t)i * MIB);
	t = now() - t;
	phase("end", "seq_read", (uint64_t)mib * MIB);
	printf("HUTCH-BENCH seq_read_mbs=%.1f\n", mib / t);
	phase("begin", "rand_write", 0);
	t = now();
	for (unsigned long i = 0; i < ops; i++)
		write_all(fd, buf, 4096, (off_t)(xorshift(&s) % blocks) * 4096);
	fsync(fd);
	t = now() - t;
	phase("end", "rand_write", (uint64_t)ops * 4096);
	printf("HUTCH-BENCH rand_write_iops=%.0f\n", ops / t);
	phase("begin", "rand_read", 0);
	t = now();
	for (unsigned long i = 0; i < ops; i++)
		read_all(fd, buf, 4096, (off_t)(xorshift(&s) % blocks) * 4096);
	t = now() - t;
	phase("end", "rand_read", (uint64_t)ops * 4096);
	printf("HUTCH-BENCH rand_read_iops=%.0f\n", ops / t);
	phase("begin", "rand_read_qd32", 0);
	t = rand_read_qd(dev, blocks, 32, qd_ops);
	phase("end", "rand_read_qd32", (uint64_t)qd_ops * 4096);
	printf("HUTCH-BENCH rand_read_qd32_iops=%.0f\n", qd_ops / t);
	fflush(stdout);
	free(buf);
	close(fd);
}

/*
 * One random 4 KiB phase of about @secs seconds, one request at a time,
 * so each request is one notification and one interrupt.  The host reads
 * the VMM's CPU time when it sees the begin and end lines (the count of
 * requests is on the end line).
 */
static void rand_phase(int fd, uint8_t *buf, uint64_t blocks, bool write, double secs)
{
	const char *name = write ? "rand_write" : "rand_read";
	uint64_t s = write ? 42 : 43;
	unsigned long ops = 0;
	double t, end;

	printf("HUTCH-PHASE begin %s\n", name);
	fflush(stdout);
	t = now();
	end = t + secs;
	do {
		for (unsigned int i = 0; i < 64; i++, ops++) {
			off_t off = (off_t)(xorshift(&s) % blocks) * 4096;

			if (write)
				write_all(fd, buf, 4096, off);
			else
				read_all(fd, buf, 4096, off);
		}
	} while (now() < end);
	if (write && fsync(fd))
		die("fsync");
	t = now() - t;
	printf("HUTCH-PHASE end %s ops=%lu\n", name, ops);
	printf("HUTCH-BENCH %s_iops=%.0f\n", name, ops / t);
	fflush(stdout);
}

static void randbench(const char *dev, unsigned long mib, double secs)
{
	int fd = open(dev, O_RDWR | O_DIRECT);
	uint8_t *buf;

	if (fd < 0)
		die(dev);
	if (posix_memalign((void **)&buf, 4096, 4096))
		die("memalign");
	fill(buf, 4096, 9);
	rand_phase(fd, buf, (uint64_t)mib * MIB / 4096, true, secs);
	rand_phase(fd, buf, (uint64_t)mib * MIB / 4096, false, secs);
	free(buf);
	close(fd);
}

int main(int argc, char **argv)
{
	static uint8_t buf[MIB], want[MIB];

	if (argc == 4 && !strcmp(argv[1], "gen")) {
		uint64_t seed = strtoull(argv[2], NULL, 0);
		unsigned long mib = strtoul(argv[3], NULL, 0);

		for (unsigned long i = 0; i < mib; i++) {
			fill(buf, MIB, seed * 1000003 + i);
			write_all(STDOUT_FILENO, buf, MIB, -1);
		}
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "seqwrite")) {
		unsigned long mib = strtoul(argv[3], NULL, 0);
		int fd = open(argv[2], O_WRONLY);

		if (fd < 0)
			die(argv[2]);
		for (uint64_t n = 0; n < mib; n++) {
			make_record(buf, n);
			write_all(fd, buf, MIB, (off_t)n * MIB);
			if (fsync(fd))
				die("fsync");
			printf("HUTCH-RESULT flushed=%llu\n", (unsigned long long)n + 1);
			fflush(stdout);
		}
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "checkseq")) {
		int fd = open(argv[2], O_RDONLY);
		uint64_t n = 0;

		if (fd < 0)
			die(argv[2]);
		for (;; n++) {
			ssize_t got = pread(fd, buf, MIB, (off_t)n * MIB);

			if (got != MIB)
				break;
			make_record(want, n);
			if (memcmp(buf, want, MIB))
				break;
		}
		printf("%llu\n", (unsigned long long)n);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "bench")) {
		bench(argv[2], strtoul(argv[3], NULL, 0));
		return 0;
	}
	if (argc == 5 && !strcmp(argv[1], "randbench")) {
		randbench(argv[2], strtoul(argv[3], NULL, 0), strtod(argv[4], NULL));
		return 0;
	}
	fprintf(stderr, "usage: guest-io gen SEED MIB | seqwrite DEV MIB | checkseq FILE | bench DEV MIB"
		" | randbench DEV MIB SECS\n");
	return 2;
}
