// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * qcow2's metadata caches and vectored I/O (issue 14):
 *
 *  - eviction: caches of two tables each still give the right data and a
 *    clean image, and evicting dirty tables writes them back early;
 *  - write-back order: every L2 table that goes to the file with entries
 *    in it follows a barrier (fdatasync) after the last data or refcount
 *    write, so nothing durable points at something that is not;
 *  - a crash between any two steps: the file helpers fail every write
 *    from step k on (the process "died" there, its earlier writes in the
 *    page cache); qemu-img check then finds nothing or leaks only, and
 *    what was flushed before reads back intact;
 *  - blk_preadv/blk_pwritev over odd scatter lists equal the scalar
 *    calls, on raw and qcow2 (partial, whole, zero and compressed
 *    clusters, a backing file), with the host cache on and off.
 *
 * The crash and order tests observe the file through blk_file_hook.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cmocka.h>

#include "blk_test_util.h"
#include "block.h"
#include "block_int.h"

#define ERRLEN 512
#define QEMU_CHECK_LEAKS 3 /* qemu-img check: leaked clusters only */
#define CS 512u             /* small clusters: many tables, many steps */
#define DISK (1u << 20)     /* 2048 clusters, 32 L2 tables of 64 entries */

/* ---- the hook: a log of the file operations, and a death at step k ---- */

struct op {
	char op;
	uint64_t off;
	size_t len;
	bool nonzero; /* a scalar write with a non-zero byte */
};

static struct op *ops;
static size_t nops, ops_cap;
static long die_at = -1; /* fail every operation from this index on */

static int hook(int fd, char op, const void *buf, size_t len, uint64_t off)
{
	struct op o = { op, off, len, buf == NULL };

	if (die_at >= 0 && (long)nops >= die_at) {
		nops++;
		return -EIO;
	}
	if (buf)
		for (size_t i = 0; i < len && !o.nonzero; i++)
			o.nonzero = ((const uint8_t *)buf)[i] != 0;
	if (nops == ops_cap) {
		ops_cap = ops_cap ? 2 * ops_cap : 256;
		ops = realloc(ops, ops_cap * sizeof(*ops));
		assert_non_null(ops);
	}
	ops[nops++] = o;
	return 0;
}

static void hook_start(long die)
{
	nops = 0;
	die_at = die;
	blk_file_hook = hook;
}

static void hook_stop(void)
{
	blk_file_hook = NULL;
	die_at = -1;
}

static struct blk_image *open_img(const char *path, unsigned flags)
{
	struct blk_image *img = NULL;
	char err[ERRLEN];

	if (blk_open(path, NULL, flags, &img, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	return img;
}

static const char *fresh(const char *name, const char *fmt, uint32_t cs)
{
	struct blk_create_opts o = { .format = fmt, .size = DISK, .cluster_size = cs };
	const char *path = bt_path(name);
	char err[ERRLEN];

	unlink(path);
	if (blk_create(path, &o, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	return path;
}

/* The workload: scattered writes of varied sizes, some twice, a discard. */
static int workload(struct blk_image *img, uint8_t *shadow, uint32_t seed)
{
	static uint8_t buf[16384];
	uint32_t s = seed;
	int ret = 0;

	for (int i = 0; i < 24 && ret == 0; i++) {
		uint64_t off, len;

		s = s * 1103515245u + 12345u;
		off = (uint64_t)((s >> 8) % (DISK / 512)) * 512;
		len = 512u * (1 + (s >> 4) % 24);
		if (off + len > DISK)
			len = DISK - off;
		bt_fill(buf, (size_t)len, s);
		ret = blk_pwrite(img, buf, (size_t)len, off);
		if (ret == 0 && shadow)
			memcpy(shadow + off, buf, (size_t)len);
	}
	if (ret == 0) {
		ret = blk_discard(img, 64 * CS, 8 * CS);
		/* Discard is advisory: the range reads as zeros or as before. */
		if (ret == 0 && shadow)
			memset(shadow + 64 * CS, 0, 8 * CS);
	}
	return ret;
}

static int qemu_check(const char *path)
{
	return bt_run("qemu-img check -q '%s'", path);
}

/* ---- eviction ---- */

static size_t count_ops(char op)
{
	size_t n = 0;

	for (size_t i = 0; i < nops; i++)
		n += ops[i].op == op;
	return n;
}

static void run_cached(const char *path, uint64_t l2, uint64_t rb, uint8_t *shadow,
		       size_t *syncs_before_flush)
{
	struct blk_image *img = open_img(path, 0);
	uint8_t *back = malloc(DISK);

	assert_non_null(back);
	assert_int_equal(blk_set_cache_size(img, l2, rb), 0);
	hook_start(-1);
	assert_int_equal(workload(img, shadow, 7), 0);
	*syncs_before_flush = count_ops('s');
	assert_int_equal(blk_flush(img), 0);
	hook_stop();
	assert_int_equal(blk_pread(img, back, DISK, 0), 0);
	blk_close(img);
	/* The discarded range may read either way; compare the rest. */
	assert_memory_equal(back, shadow, 64 * CS);
	assert_memory_equal(back + 72 * CS, shadow + 72 * CS, DISK - 72 * CS);
	img = open_img(path, BLK_RDONLY);
	assert_int_equal(blk_pread(img, back, DISK, 0), 0);
	blk_close(img);
	assert_memory_equal(back, shadow, 64 * CS);
	assert_memory_equal(back + 72 * CS, shadow + 72 * CS, DISK - 72 * CS);
	free(back);
	if (bt_have_qemu_img())
		assert_int_equal(qemu_check(path), 0);
}

static void test_eviction(void **state)
{
	uint8_t *shadow = calloc(1, DISK);
	size_t small = 0, big = 0;

	assert_non_null(shadow);
	/* Two L2 tables and two refcount blocks for a disk of 32 tables. */
	run_cached(fresh("evict.qcow2", "qcow2", CS), 2 * CS, 2 * CS, shadow, &small);
	memset(shadow, 0, DISK);
	run_cached(fresh("big.qcow2", "qcow2", CS), 64 * CS, 64 * CS, shadow, &big);
	/* Evicting dirty tables commits (a barrier) before the flush. */
	assert_true(small > big);
	free(shadow);
}

/* ---- write-back order ---- */

/* Is off inside one of the image's L2 tables (read from its L1)? */
static bool is_l2(const uint64_t *l2s, size_t n, uint64_t off)
{
	for (size_t i = 0; i < n; i++)
		if (off >= l2s[i] && off < l2s[i] + CS)
			return true;
	return false;
}

static size_t read_l2_offsets(const char *path, uint64_t *l2s, size_t max)
{
	size_t len, n = 0;
	uint8_t *f = bt_read_file(path, &len);
	uint32_t l1_size = (uint32_t)f[36] << 24 | f[37] << 16 | f[38] << 8 | f[39];
	uint64_t l1_off = 0;

	for (int i = 0; i < 8; i++)
		l1_off = l1_off << 8 | f[40 + i];
	for (uint32_t i = 0; i < l1_size && n < max; i++) {
		uint64_t e = 0;

		for (int b = 0; b < 8; b++)
			e = e << 8 | f[l1_off + i * 8 + b];
		e &= 0x00fffffffffffe00ull;
		if (e)
			l2s[n++] = e;
	}
	free(f);
	return n;
}

static void test_writeback_order(void **state)
{
	const char *path = fresh("order.qcow2", "qcow2", CS);
	struct blk_image *img = open_img(path, 0);
	uint64_t l2s[64];
	size_t nl2, checked = 0;
	bool unsynced = false;

	assert_int_equal(blk_set_cache_size(img, 3 * CS, 2 * CS), 0);
	hook_start(-1);
	assert_int_equal(workload(img, NULL, 11), 0);
	assert_int_equal(blk_flush(img), 0);
	hook_stop();
	blk_close(img);
	nl2 = read_l2_offsets(path, l2s, 64);
	assert_true(nl2 > 4);
	for (size_t i = 0; i < nops; i++) {
		struct op *o = &ops[i];

		if (o->op == 's') {
			unsynced = false;
		} else if (is_l2(l2s, nl2, o->off) && o->len == CS && o->nonzero) {
			/* Entries going out: all they point at is durable. */
			assert_false(unsynced);
			checked++;
		} else if (!(o->off < CS || is_l2(l2s, nl2, o->off))) {
			/* Data, refcounts, tables (not the header, not L2s). */
			unsynced = true;
		}
	}
	assert_true(checked > 0);
}

/* ---- a crash between any two steps ---- */

static void test_crash_between_steps(void **state)
{
	char base[4096], path[4096];
	uint8_t *shadow = calloc(1, DISK), *back = malloc(DISK);
	uint8_t *touched = calloc(1, DISK);
	struct blk_image *img;
	size_t total, after_flush;
	int ret;

	assert_non_null(shadow);
	assert_non_null(back);
	assert_non_null(touched);
	if (!bt_have_qemu_img()) {
		free(shadow);
		free(back);
		free(touched);
		skip();
	}
	/* Where the second pass writes: run it on a raw image. */
	img = open_img(fresh("mark.raw", "raw", 0), 0);
	assert_int_equal(workload(img, touched, 22), 0);
	blk_close(img);
	snprintf(base, sizeof(base), "%s", fresh("crash-base.qcow2", "qcow2", CS));
	snprintf(path, sizeof(path), "%s", bt_path("crash.qcow2"));
	/* A dry run counts the steps: first workload, flush, second workload. */
	assert_int_equal(bt_run("cp '%s' '%s'", base, path), 0);
	img = open_img(path, 0);
	assert_int_equal(blk_set_cache_size(img, 3 * CS, 2 * CS), 0);
	hook_start(-1);
	assert_int_equal(workload(img, shadow, 21), 0);
	assert_int_equal(blk_flush(img), 0);
	after_flush = nops;
	assert_int_equal(workload(img, NULL, 22), 0);
	blk_close(img);
	total = nops;
	hook_stop();
	assert_true(total > 50);
	for (size_t k = 0; k <= total; k++) {
		bool flushed;

		assert_int_equal(bt_run("cp '%s' '%s'", base, path), 0);
		img = open_img(path, 0);
		assert_int_equal(blk_set_cache_size(img, 3 * CS, 2 * CS), 0);
		hook_start((long)k);
		ret = workload(img, NULL, 21);
		flushed = ret == 0 && blk_flush(img) == 0;
		if (flushed)
			(void)workload(img, NULL, 22);
		blk_close(img);
		hook_stop();
		assert_true(flushed == (k >= after_flush));
		ret = qemu_check(path);
		if (ret != 0 && ret != QEMU_CHECK_LEAKS) {
			bt_run("qemu-img check '%s' >&2", path);
			fail_msg("died at step %zu of %zu: qemu-img check %d", k, total, ret);
		}
		if (!flushed)
			continue;
		/* Flushed data survives wherever the second pass did not write. */
		img = open_img(path, BLK_RDONLY);
		assert_int_equal(blk_pread(img, back, DISK, 0), 0);
		blk_close(img);
		for (size_t b = 0; b < DISK; b += 512) {
			bool hit = false;

			for (size_t j = 0; j < 512 && !hit; j++)
				hit = touched[b + j] != 0;
			/* Discarded ranges and second-pass sectors may differ. */
			if (hit || (b >= 64 * CS && b < 72 * CS))
				continue;
			if (memcmp(back + b, shadow + b, 512))
				fail_msg("died at step %zu: flushed sector %zu lost", k, b / 512);
		}
	}
	free(shadow);
	free(back);
	free(touched);
}

/* ---- vectored == scalar ---- */

/* Split [0, len) into segments of odd sizes over a scratch area. */
static int make_iov(struct iovec *iov, int max, uint8_t *area, size_t len, uint32_t seed)
{
	int n = 0;

	for (size_t pos = 0; pos < len && n < max; n++) {
		size_t seg = 1 + (seed = seed * 1664525u + 1013904223u) % 3000;

		if (seg > len - pos || n == max - 1)
			seg = len - pos;
		iov[n].iov_base = area + pos;
		iov[n].iov_len = seg;
		pos += seg;
	}
	return n;
}

static void vectored_on(const char *path, unsigned flags)
{
	struct blk_image *img = open_img(path, flags);
	uint8_t *shadow = calloc(1, DISK), *area = malloc(DISK), *back = malloc(DISK);
	struct iovec iov[512];
	uint32_t s = 99;

	assert_non_null(shadow);
	assert_non_null(area);
	assert_non_null(back);
	/* Compressed clusters in the middle (qcow2 only), read and overwritten. */
	if (blk_caps(img) & BLK_CAP_COMPRESSED) {
		uint32_t cs = blk_cluster_size(img);

		/* Compressible: a pattern repeated. */
		for (uint32_t b = 0; b < 4 * cs; b++)
			area[b] = (uint8_t)(b % 61);
		assert_int_equal(blk_pwrite_compressed(img, area, 4 * cs, 4 * cs), 0);
		memcpy(shadow + 4 * cs, area, 4 * cs);
	}
	for (int i = 0; i < 40; i++) {
		uint64_t off, len;
		int n;

		s = s * 1103515245u + 12345u;
		off = (uint64_t)((s >> 8) % (DISK / 512)) * 512;
		len = 512u * (1 + (s >> 3) % 200);
		if (off + len > DISK)
			len = DISK - off;
		bt_fill(area, (size_t)len, s);
		memcpy(shadow + off, area, (size_t)len);
		n = make_iov(iov, 512, area, (size_t)len, s);
		assert_int_equal(blk_pwritev(img, iov, n, off), 0);
		/* Read a shifted range back vectored too. */
		off = off >= 4096 ? off - 4096 : 0;
		len = len + 8192 > DISK - off ? DISK - off : len + 8192;
		memset(area, 0xee, (size_t)len);
		n = make_iov(iov, 512, area, (size_t)len, s ^ 0x5555);
		assert_int_equal(blk_preadv(img, iov, n, off), 0);
		assert_memory_equal(area, shadow + off, (size_t)len);
	}
	assert_int_equal(blk_flush(img), 0);
	assert_int_equal(blk_pread(img, back, DISK, 0), 0);
	assert_memory_equal(back, shadow, DISK);
	blk_close(img);
	free(shadow);
	free(area);
	free(back);
	if (bt_have_qemu_img() && strstr(path, ".qcow2"))
		assert_int_equal(qemu_check(path), 0);
}

static void test_vectored_matches_scalar(void **state)
{
	vectored_on(fresh("vec.raw", "raw", 0), 0);
	vectored_on(fresh("vec512.qcow2", "qcow2", CS), 0);
	vectored_on(fresh("vec64k.qcow2", "qcow2", 0), 0);
}

static void test_vectored_host_cache_off(void **state)
{
	const char *path = fresh("direct.qcow2", "qcow2", 0);
	struct blk_image *img = NULL;
	char err[ERRLEN];

	/* tmpfs has no O_DIRECT: the open says so in one line. */
	if (blk_open(path, NULL, BLK_NOCACHE, &img, err, sizeof(err)) < 0) {
		assert_non_null(strstr(err, "O_DIRECT"));
		skip();
	}
	blk_close(img);
	vectored_on(path, BLK_NOCACHE);
	vectored_on(fresh("direct.raw", "raw", 0), BLK_NOCACHE);
}

static void test_backing_read_vectored(void **state)
{
	const char *base = fresh("vb-base.raw", "raw", 0);
	struct blk_create_opts o = { .format = "qcow2", .backing_file = "vb-base.raw",
				     .backing_format = "raw" };
	const char *top = bt_path("vb-top.qcow2");
	uint8_t *data = malloc(DISK), *area = malloc(DISK);
	struct blk_image *img;
	struct iovec iov[512];
	char err[ERRLEN];
	int n;

	assert_non_null(data);
	assert_non_null(area);
	bt_fill(data, DISK, 3);
	img = open_img(base, 0);
	assert_int_equal(blk_pwrite(img, data, DISK, 0), 0);
	blk_close(img);
	unlink(top);
	if (blk_create(top, &o, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	img = open_img(top, 0);
	bt_fill(area, 3000, 4);
	n = make_iov(iov, 512, area, 3000, 8);
	assert_int_equal(blk_pwritev(img, iov, n, 70000 & ~511u), 0);
	memcpy(data + (70000 & ~511u), area, 3000);
	n = make_iov(iov, 512, area, DISK, 9);
	assert_int_equal(blk_preadv(img, iov, n, 0), 0);
	assert_memory_equal(area, data, DISK);
	blk_close(img);
	free(data);
	free(area);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eviction),
		cmocka_unit_test(test_writeback_order),
		cmocka_unit_test(test_crash_between_steps),
		cmocka_unit_test(test_vectored_matches_scalar),
		cmocka_unit_test(test_vectored_host_cache_off),
		cmocka_unit_test(test_backing_read_vectored),
	};
	int ret = cmocka_run_group_tests(tests, NULL, NULL);

	bt_cleanup();
	free(ops);
	return ret;
}
