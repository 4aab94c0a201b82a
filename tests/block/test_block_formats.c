// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests of src/block: every format against an in-memory model of the
 * guest's disk (random writes, reopen, compare), backing files, discard,
 * compressed clusters, conversion, and the API's error paths.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "blk_test_util.h"
#include "block.h"

#define ERRLEN 512

struct fmt_case {
	const char *name;
	const char *format;
	enum blk_variant variant;
	uint32_t cluster_size;
	uint64_t size;
};

static const struct fmt_case cases[] = {
	{ "raw", "raw", BLK_VARIANT_STANDARD, 0, 3 * 1048576 + 4096 },
	{ "q64k", "qcow2", BLK_VARIANT_STANDARD, 0, 3 * 1048576 + 1000 },
	{ "q512", "qcow2", BLK_VARIANT_STANDARD, 512, 1048576 + 512 },
	{ "q4k", "qcow2", BLK_VARIANT_STANDARD, 4096, 2 * 1048576 },
	{ "vdidyn", "vdi", BLK_VARIANT_STANDARD, 0, 3 * 1048576 + 512 },
	{ "vdifix", "vdi", BLK_VARIANT_FIXED, 0, 2 * 1048576 },
	{ "vdi64k", "vdi", BLK_VARIANT_STANDARD, 65536, 1048576 },
};

static struct blk_image *open_ok(const char *path, const char *fmt,
				 unsigned flags)
{
	struct blk_image *img = NULL;
	char err[ERRLEN];
	int ret = blk_open(path, fmt, flags, &img, err, sizeof(err));

	if (ret)
		print_error("blk_open(%s): %d %s\n", path, ret, err);
	assert_int_equal(ret, 0);
	return img;
}

static void create_ok(const char *path, const char *fmt, uint64_t size,
		      enum blk_variant v, uint32_t cs, const char *backing)
{
	struct blk_create_opts o = {
		.format = fmt, .size = size, .variant = v, .cluster_size = cs,
		.backing_file = backing,
	};
	char err[ERRLEN];
	int ret = blk_create(path, &o, err, sizeof(err));

	if (ret)
		print_error("blk_create(%s): %d %s\n", path, ret, err);
	assert_int_equal(ret, 0);
}

static void expect_content(struct blk_image *img, const uint8_t *model,
			   uint64_t size)
{
	uint8_t *buf = malloc(size);

	assert_non_null(buf);
	assert_int_equal(blk_pread(img, buf, size, 0), 0);
	for (uint64_t i = 0; i < size; i++)
		if (buf[i] != model[i]) {
			print_error("mismatch at %llu: %02x != %02x\n",
				    (unsigned long long)i, buf[i], model[i]);
			fail();
		}
	free(buf);
}

/* Random writes of random sizes against a model, with reopens between. */
static void test_roundtrip(void **state)
{
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const struct fmt_case *fc = &cases[c];
		const char *path = bt_path(fc->name);
		uint8_t *model = calloc(1, fc->size), *data = malloc(300000);
		uint32_t rnd = 12345 + (uint32_t)c;
		struct blk_image *img;

		assert_non_null(model);
		create_ok(path, fc->format, fc->size, fc->variant, fc->cluster_size, NULL);
		img = open_ok(path, NULL, 0);
		assert_string_equal(blk_format_name(img), fc->format);
		assert_int_equal(blk_size(img), fc->size);
		expect_content(img, model, fc->size);
		for (int i = 0; i < 60; i++) {
			uint64_t off, len;

			rnd = rnd * 1103515245 + 12345;
			len = 1 + (rnd >> 8) % (i % 5 == 0 ? 300000 : 9000);
			rnd = rnd * 1103515245 + 12345;
			off = ((uint64_t)rnd * 7919) % fc->size;
			if (len > fc->size - off)
				len = fc->size - off;
			bt_fill(data, len, rnd);
			if (i % 7 == 3)
				memset(data, 0, len);
			assert_int_equal(blk_pwrite(img, data, len, off), 0);
			memcpy(model + off, data, len);
			if (i % 20 == 19) {
				assert_int_equal(blk_flush(img), 0);
				blk_close(img);
				img = open_ok(path, fc->format, 0);
			}
		}
		/* Write zeroes, with and without unmap, cluster-straddling. */
		assert_int_equal(blk_pwrite_zeroes(img, 1000, 200000,
						   BLK_ZEROES_MAY_UNMAP), 0);
		memset(model + 1000, 0, 200000);
		assert_int_equal(blk_pwrite_zeroes(img, 300001, 70000, 0), 0);
		memset(model + 300001, 0, 70000);
		assert_int_equal(blk_pwrite_zeroes(img, fc->size - 5000, 5000,
						   BLK_ZEROES_MAY_UNMAP), 0);
		memset(model + fc->size - 5000, 0, 5000);
		/* Both ends of the disk. */
		bt_fill(data, 777, 99);
		assert_int_equal(blk_pwrite(img, data, 777, fc->size - 777), 0);
		memcpy(model + fc->size - 777, data, 777);
		assert_int_equal(blk_pwrite(img, data, 1, 0), 0);
		model[0] = data[0];
		expect_content(img, model, fc->size);
		blk_close(img);
		img = open_ok(path, NULL, BLK_RDONLY);
		expect_content(img, model, fc->size);
		blk_close(img);
		free(model);
		free(data);
	}
}

static void test_bounds_and_rdonly(void **state)
{
	const char *path = bt_path("bounds.qcow2");
	struct blk_image *img;
	uint8_t buf[1024] = { 0 };

	create_ok(path, "qcow2", 65536, BLK_VARIANT_STANDARD, 0, NULL);
	img = open_ok(path, NULL, 0);
	assert_int_equal(blk_pread(img, buf, 1, 65536), -EINVAL);
	assert_int_equal(blk_pwrite(img, buf, 2, 65535), -EINVAL);
	assert_int_equal(blk_pread(img, buf, 16, UINT64_MAX - 8), -EINVAL);
	assert_non_null(strstr(blk_last_error(img), "bounds.qcow2"));
	assert_int_equal(blk_pread(img, buf, 0, 65536), 0);
	blk_close(img);
	img = open_ok(path, NULL, BLK_RDONLY);
	assert_true(blk_caps(img) & BLK_CAP_READONLY);
	assert_int_equal(blk_pwrite(img, buf, 1, 0), -EROFS);
	assert_int_equal(blk_discard(img, 0, 65536), -EROFS);
	blk_close(img);
}

static void test_create_errors(void **state)
{
	struct blk_create_opts o = { .format = "qcow2", .size = 1 << 20 };
	char err[ERRLEN];
	const char *path = bt_path("exists.qcow2");

	assert_int_equal(blk_create(path, &o, err, sizeof(err)), 0);
	assert_int_equal(blk_create(path, &o, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "exists.qcow2"));
	o.variant = BLK_VARIANT_FIXED;
	assert_int_equal(blk_create(bt_path("fixed.qcow2"), &o, err, sizeof(err)),
			 -ENOTSUP);
	assert_int_not_equal(access(bt_path("fixed.qcow2"), F_OK), 0);
	o.variant = BLK_VARIANT_STANDARD;
	o.cluster_size = 3000;
	assert_int_equal(blk_create(bt_path("cs.qcow2"), &o, err, sizeof(err)),
			 -EINVAL);
	o.cluster_size = 0;
	o.size = 1ull << 62;
	assert_int_equal(blk_create(bt_path("huge.qcow2"), &o, err, sizeof(err)),
			 -EFBIG);
	o.format = "vdi";
	assert_int_equal(blk_create(bt_path("huge.vdi"), &o, err, sizeof(err)),
			 -EFBIG);
	o.format = "vmdk9";
	assert_int_equal(blk_create(bt_path("x.img"), &o, err, sizeof(err)),
			 -EINVAL);
}

static void test_info(void **state)
{
	struct blk_info info;
	struct blk_image *img;

	create_ok(bt_path("info-base.qcow2"), "qcow2", 5 << 20,
		  BLK_VARIANT_STANDARD, 4096, NULL);
	create_ok(bt_path("info-top.qcow2"), "qcow2", 0, BLK_VARIANT_STANDARD,
		  0, "info-base.qcow2");
	img = open_ok(bt_path("info-top.qcow2"), NULL, 0);
	assert_int_equal(blk_info(img, &info), 0);
	assert_string_equal(info.format, "qcow2");
	assert_int_equal(info.virtual_size, 5 << 20);
	assert_int_equal(info.cluster_size, 65536);
	assert_int_equal(info.format_version, 3);
	assert_string_equal(info.backing_file, "info-base.qcow2");
	assert_string_equal(info.backing_format, "qcow2");
	assert_true(info.allocated_size > 0);
	blk_close(img);
	create_ok(bt_path("info.vdi"), "vdi", 1 << 20, BLK_VARIANT_FIXED, 0, NULL);
	img = open_ok(bt_path("info.vdi"), NULL, 0);
	assert_int_equal(blk_info(img, &info), 0);
	assert_string_equal(info.format, "vdi");
	assert_int_equal(info.variant, BLK_VARIANT_FIXED);
	assert_int_equal(info.cluster_size, 1 << 20);
	assert_false(blk_caps(img) & BLK_CAP_DISCARD);
	blk_close(img);
}

/* Partial writes to an overlay copy the rest of the cluster from the base. */
static void test_backing_cow(void **state)
{
	const uint64_t base_size = 1 << 20, top_size = 2 << 20;
	uint8_t *model = calloc(1, top_size), data[5000];
	struct blk_image *img;

	bt_fill(model, base_size, 7);
	bt_write_file(bt_path("cow-base.raw"), model, base_size);
	/* A middle layer, then the top: a chain of three. */
	create_ok(bt_path("cow-mid.qcow2"), "qcow2", 0, BLK_VARIANT_STANDARD,
		  4096, "cow-base.raw");
	img = open_ok(bt_path("cow-mid.qcow2"), NULL, 0);
	bt_fill(data, sizeof(data), 8);
	assert_int_equal(blk_pwrite(img, data, sizeof(data), 10000), 0);
	memcpy(model + 10000, data, sizeof(data));
	blk_close(img);
	/* Backing names are relative to the image (absolute ones are refused). */
	create_ok(bt_path("cow-top.qcow2"), "qcow2", top_size, BLK_VARIANT_STANDARD,
		  0, "cow-mid.qcow2");
	img = open_ok(bt_path("cow-top.qcow2"), NULL, 0);
	expect_content(img, model, top_size);
	bt_fill(data, 100, 9);
	assert_int_equal(blk_pwrite(img, data, 100, 12000), 0);
	memcpy(model + 12000, data, 100);
	assert_int_equal(blk_pwrite(img, data, 100, base_size - 50), 0);
	memcpy(model + base_size - 50, data, 100);
	expect_content(img, model, top_size);
	/* Discard in an overlay must not uncover the base: zero flag. */
	assert_int_equal(blk_discard(img, 0, 131072), 0);
	memset(model, 0, 131072);
	/* Write zeroes over base data: exact, with or without unmap. */
	assert_int_equal(blk_pwrite_zeroes(img, 300000, 200000,
					   BLK_ZEROES_MAY_UNMAP), 0);
	memset(model + 300000, 0, 200000);
	assert_int_equal(blk_pwrite_zeroes(img, 600000, 1000, 0), 0);
	memset(model + 600000, 0, 1000);
	expect_content(img, model, top_size);
	blk_close(img);
	img = open_ok(bt_path("cow-top.qcow2"), NULL, BLK_RDONLY);
	expect_content(img, model, top_size);
	blk_close(img);
	free(model);
}

static void test_discard(void **state)
{
	const uint64_t size = 4 << 20;
	uint8_t *model = malloc(size);
	struct blk_image *img;
	struct blk_info before, after;

	create_ok(bt_path("disc.qcow2"), "qcow2", size, BLK_VARIANT_STANDARD,
		  0, NULL);
	img = open_ok(bt_path("disc.qcow2"), NULL, 0);
	assert_true(blk_caps(img) & BLK_CAP_DISCARD);
	bt_fill(model, size, 3);
	assert_int_equal(blk_pwrite(img, model, size, 0), 0);
	assert_int_equal(blk_flush(img), 0);
	assert_int_equal(blk_info(img, &before), 0);
	/* Whole clusters in [100000, 3000000) go; the partial ends stay. */
	assert_int_equal(blk_discard(img, 100000, 2900000), 0);
	memset(model + 131072, 0, (2949120 - 131072));
	expect_content(img, model, size);
	assert_int_equal(blk_info(img, &after), 0);
	assert_true(after.allocated_size < before.allocated_size);
	/* Rewrite into the discarded range. */
	bt_fill(model + 200000, 70000, 4);
	assert_int_equal(blk_pwrite(img, model + 200000, 70000, 200000), 0);
	blk_close(img);
	img = open_ok(bt_path("disc.qcow2"), NULL, 0);
	expect_content(img, model, size);
	blk_close(img);

	create_ok(bt_path("disc.raw"), "raw", size, BLK_VARIANT_STANDARD, 0, NULL);
	img = open_ok(bt_path("disc.raw"), NULL, 0);
	assert_int_equal(blk_pwrite(img, model, size, 0), 0);
	assert_int_equal(blk_discard(img, 65536, 65536), 0);
	memset(model + 65536, 0, 65536);
	expect_content(img, model, size);
	blk_close(img);
	free(model);
}

static void test_compressed(void **state)
{
	const uint64_t size = (3 << 20) + 4000;
	uint8_t *model = calloc(1, size);
	struct blk_create_opts o = { .format = "qcow2" };
	struct blk_image *src, *dst;
	char err[ERRLEN];

	/* Compressible text, random noise, and zeros. */
	for (uint64_t i = 0; i < size / 2; i++)
		model[i] = "hutch compresses this "[i % 22];
	bt_fill(model + size / 2, 300000, 5);
	bt_write_file(bt_path("comp-src.raw"), model, size);
	src = open_ok(bt_path("comp-src.raw"), NULL, BLK_RDONLY);
	assert_int_equal(blk_convert(src, bt_path("comp.qcow2"), &o,
				     BLK_CONVERT_COMPRESS, NULL, NULL, err,
				     sizeof(err)), 0);
	blk_close(src);
	dst = open_ok(bt_path("comp.qcow2"), NULL, 0);
	expect_content(dst, model, size);
	/* Overwrite part of a compressed cluster: copy-on-write decompresses. */
	bt_fill(model + 70000, 1000, 6);
	assert_int_equal(blk_pwrite(dst, model + 70000, 1000, 70000), 0);
	assert_int_equal(blk_discard(dst, 196608, 65536), 0);
	memset(model + 196608, 0, 65536);
	expect_content(dst, model, size);
	blk_close(dst);
	dst = open_ok(bt_path("comp.qcow2"), NULL, BLK_RDONLY);
	expect_content(dst, model, size);
	blk_close(dst);
	free(model);
}

static void progress_cb(uint64_t done, uint64_t total, void *opaque)
{
	uint64_t *last = opaque;

	assert_true(done >= *last && done <= total);
	*last = done;
}

static void test_convert(void **state)
{
	const uint64_t size = (2 << 20) + 512;
	uint8_t *model = calloc(1, size);
	const char *fmts[] = { "qcow2", "vdi", "raw", "qcow2" };
	const char *prev = NULL;
	char err[ERRLEN], name[64];

	bt_fill(model + 4096, 500000, 11);
	bt_fill(model + size - 9000, 9000, 12);
	create_ok(bt_path("conv0.vdi"), "vdi", size, BLK_VARIANT_STANDARD, 0, NULL);
	{
		struct blk_image *img = open_ok(bt_path("conv0.vdi"), NULL, 0);

		assert_int_equal(blk_pwrite(img, model, size, 0), 0);
		blk_close(img);
	}
	prev = bt_path("conv0.vdi");
	for (int i = 0; i < 4; i++) {
		struct blk_create_opts o = { .format = fmts[i] };
		struct blk_image *src = open_ok(prev, NULL, BLK_RDONLY), *dst;
		uint64_t last = 0;
		static char prevbuf[512];

		snprintf(name, sizeof(name), "conv%d.%s", i + 1, fmts[i]);
		assert_int_equal(blk_convert(src, bt_path(name), &o, 0, progress_cb,
					     &last, err, sizeof(err)), 0);
		assert_int_equal(last, size);
		blk_close(src);
		dst = open_ok(bt_path(name), NULL, BLK_RDONLY);
		assert_string_equal(blk_format_name(dst), fmts[i]);
		expect_content(dst, model, size);
		blk_close(dst);
		snprintf(prevbuf, sizeof(prevbuf), "%s", bt_path(name));
		prev = prevbuf;
	}
	free(model);
}

/* 512-byte clusters: a refcount block covers 128 KiB and one reftable
 * cluster 8 MiB, so 10 MiB of data forces the refcount table to grow. */
static void test_reftable_growth(void **state)
{
	const uint64_t size = 10 << 20;
	uint8_t *model = malloc(size);
	struct blk_image *img;

	create_ok(bt_path("grow.qcow2"), "qcow2", size, BLK_VARIANT_STANDARD,
		  512, NULL);
	img = open_ok(bt_path("grow.qcow2"), NULL, 0);
	bt_fill(model, size, 21);
	for (uint64_t off = 0; off < size; off += 1 << 20)
		assert_int_equal(blk_pwrite(img, model + off, 1 << 20, off), 0);
	blk_close(img);
	img = open_ok(bt_path("grow.qcow2"), NULL, 0);
	expect_content(img, model, size);
	blk_close(img);
	free(model);
}

/* Grow each format: old data stays, the new part reads as zeros. */
static void test_resize(void **state)
{
	static const struct fmt_case rc[] = {
		{ "rs.raw", "raw", BLK_VARIANT_STANDARD, 0, 1 << 20 },
		{ "rs512.qcow2", "qcow2", BLK_VARIANT_STANDARD, 512, 1 << 20 },
		{ "rs.qcow2", "qcow2", BLK_VARIANT_STANDARD, 0, 1 << 20 },
		{ "rs.vdi", "vdi", BLK_VARIANT_STANDARD, 0, 1 << 20 },
		{ "rsf.vdi", "vdi", BLK_VARIANT_FIXED, 0, 1 << 20 },
	};
	const uint64_t big = (9 << 20) + 512;

	for (size_t c = 0; c < sizeof(rc) / sizeof(rc[0]); c++) {
		uint8_t *model = calloc(1, big);
		struct blk_image *img;

		create_ok(bt_path(rc[c].name), rc[c].format, rc[c].size,
			  rc[c].variant, rc[c].cluster_size, NULL);
		img = open_ok(bt_path(rc[c].name), NULL, 0);
		bt_fill(model, rc[c].size, 40 + (uint32_t)c);
		assert_int_equal(blk_pwrite(img, model, rc[c].size, 0), 0);
		assert_int_equal(blk_resize(img, rc[c].size - 512), -ENOTSUP);
		assert_int_equal(blk_resize(img, big), 0);
		assert_int_equal(blk_size(img), big);
		bt_fill(model + big - 70000, 70000, 41);
		assert_int_equal(blk_pwrite(img, model + big - 70000, 70000,
					    big - 70000), 0);
		expect_content(img, model, big);
		blk_close(img);
		img = open_ok(bt_path(rc[c].name), NULL, 0);
		assert_int_equal(blk_size(img), big);
		expect_content(img, model, big);
		blk_close(img);
		free(model);
	}
}

/*
 * A VDI's header UUID: given at creation it is stored as VirtualBox does
 * (first three fields little-endian) and reported back by blk_info; a bad
 * one is refused; without one each image gets its own; other formats have none.
 */
static void test_vdi_uuid(void **state)
{
	static const uint8_t stored[16] = { 0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x46,
					    0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };
	const char *text = "00112233-4455-4677-8899-aabbccddeeff";
	struct blk_create_opts o = { .format = "vdi", .size = 1 << 20, .uuid = text };
	struct blk_info a, b;
	struct blk_image *img;
	char err[ERRLEN];
	uint8_t *file;
	size_t len;

	assert_int_equal(blk_create(bt_path("u.vdi"), &o, err, sizeof(err)), 0);
	file = bt_read_file(bt_path("u.vdi"), &len);
	assert_true(len >= 408);
	assert_memory_equal(file + 392, stored, sizeof(stored));
	free(file);
	img = open_ok(bt_path("u.vdi"), NULL, 0);
	assert_int_equal(blk_info(img, &a), 0);
	assert_string_equal(a.uuid, text);
	blk_close(img);

	o.uuid = "00112233-4455-4677-8899-aabbccddeefg";
	assert_int_equal(blk_create(bt_path("bad.vdi"), &o, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "is not a UUID"));
	assert_int_equal(access(bt_path("bad.vdi"), F_OK), -1);
	o.uuid = "00112233-4455-4677-8899";
	assert_int_equal(blk_create(bt_path("bad.vdi"), &o, err, sizeof(err)), -EINVAL);

	o.uuid = NULL;
	create_ok(bt_path("r1.vdi"), "vdi", 1 << 20, BLK_VARIANT_STANDARD, 0, NULL);
	create_ok(bt_path("r2.vdi"), "vdi", 1 << 20, BLK_VARIANT_STANDARD, 0, NULL);
	img = open_ok(bt_path("r1.vdi"), NULL, 0);
	assert_int_equal(blk_info(img, &a), 0);
	blk_close(img);
	img = open_ok(bt_path("r2.vdi"), NULL, 0);
	assert_int_equal(blk_info(img, &b), 0);
	blk_close(img);
	assert_int_equal(strlen(a.uuid), 36);
	assert_string_not_equal(a.uuid, b.uuid);
	assert_int_equal(a.uuid[14], '4');	/* version 4, random */

	create_ok(bt_path("nouuid.qcow2"), "qcow2", 1 << 20, BLK_VARIANT_STANDARD, 0, NULL);
	img = open_ok(bt_path("nouuid.qcow2"), NULL, 0);
	assert_int_equal(blk_info(img, &a), 0);
	assert_string_equal(a.uuid, "");
	blk_close(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_bounds_and_rdonly),
		cmocka_unit_test(test_create_errors),
		cmocka_unit_test(test_info),
		cmocka_unit_test(test_backing_cow),
		cmocka_unit_test(test_discard),
		cmocka_unit_test(test_compressed),
		cmocka_unit_test(test_convert),
		cmocka_unit_test(test_reftable_growth),
		cmocka_unit_test(test_resize),
		cmocka_unit_test(test_vdi_uuid),
	};
	int ret = cmocka_run_group_tests(tests, NULL, NULL);

	bt_cleanup();
	return ret;
}
