// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Interop with qemu-img: images Hutch writes pass `qemu-img check` and
 * `qemu-img compare` against the raw data written; images qemu-img
 * writes (qcow2 v2/v3, compressed, with backing files, odd cluster and
 * refcount widths, VDI dynamic and fixed, VMDK sparse and stream-optimized)
 * read back byte-exactly.  Image locks: qemu-img refuses an image Hutch
 * holds, and Hutch refuses one qemu-io holds.
 * Every test is skipped when qemu-img is not installed.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "blk_test_util.h"
#include "block.h"

#define ERRLEN 512
#define QEMU_CHECK_LEAKS 3 /* qemu-img check: leaked clusters only */

static int setup(void **state)
{
	return 0;
}

static void need_qemu_img(void)
{
	if (!bt_have_qemu_img())
		skip();
}

static struct blk_image *open_ok(const char *path, unsigned flags)
{
	struct blk_image *img = NULL;
	char err[ERRLEN];
	int ret = blk_open(path, NULL, flags, &img, err, sizeof(err));

	if (ret)
		print_error("blk_open: %s\n", err);
	assert_int_equal(ret, 0);
	return img;
}

static void expect_content(struct blk_image *img, const uint8_t *model,
			   uint64_t size)
{
	uint8_t *buf = malloc(size);

	assert_int_equal(blk_size(img), size);
	assert_int_equal(blk_pread(img, buf, size, 0), 0);
	for (uint64_t i = 0; i < size; i++)
		if (buf[i] != model[i]) {
			print_error("%s: mismatch at %llu: %02x != %02x\n",
				    blk_path(img), (unsigned long long)i, buf[i],
				    model[i]);
			fail();
		}
	free(buf);
}

/* A guest-like pattern: random runs, zero runs, text. */
static uint8_t *make_model(uint64_t size, uint32_t seed)
{
	uint8_t *m = calloc(1, size);

	for (uint64_t off = 0; off < size; off += 262144) {
		uint64_t n = size - off < 262144 ? size - off : 262144;

		switch ((off / 262144 + seed) % 4) {
		case 0:
			bt_fill(m + off, n, seed + (uint32_t)off);
			break;
		case 1:
			break;
		case 2:
			for (uint64_t i = 0; i < n; i++)
				m[off + i] = "guest data "[i % 11];
			break;
		case 3:
			bt_fill(m + off + n / 3, n / 3, seed ^ (uint32_t)off);
			break;
		}
	}
	return m;
}

/* Random writes through blk_pwrite, mirrored in model. */
static void scribble(struct blk_image *img, uint8_t *model, uint64_t size,
		     uint32_t seed, int n)
{
	uint8_t *data = malloc(200000);

	for (int i = 0; i < n; i++) {
		uint64_t off, len;

		seed = seed * 1103515245 + 12345;
		len = 1 + (seed >> 4) % 200000;
		seed = seed * 1103515245 + 12345;
		off = (uint64_t)seed * 31 % size;
		if (len > size - off)
			len = size - off;
		bt_fill(data, len, seed);
		assert_int_equal(blk_pwrite(img, data, len, off), 0);
		memcpy(model + off, data, len);
	}
	free(data);
}

static void qemu_agrees(const char *path, const char *fmt, const uint8_t *model,
			uint64_t size)
{
	char raw[512];

	snprintf(raw, sizeof(raw), "%s.model", path);
	bt_write_file(raw, model, size);
	if (strcmp(fmt, "raw"))
		assert_int_equal(bt_run("qemu-img check -f %s '%s'", fmt, path), 0);
	assert_int_equal(bt_run("qemu-img compare -f %s -F raw '%s' '%s'", fmt,
				path, raw), 0);
}

static void test_hutch_images_pass_qemu_check(void **state)
{
	static const struct {
		const char *name, *fmt;
		enum blk_variant v;
		uint32_t cs;
	} c[] = {
		{ "h64k.qcow2", "qcow2", BLK_VARIANT_STANDARD, 0 },
		{ "h512.qcow2", "qcow2", BLK_VARIANT_STANDARD, 512 },
		{ "h2m.qcow2", "qcow2", BLK_VARIANT_STANDARD, 2 << 20 },
		{ "hdyn.vdi", "vdi", BLK_VARIANT_STANDARD, 0 },
		{ "hfix.vdi", "vdi", BLK_VARIANT_FIXED, 0 },
		{ "h.raw", "raw", BLK_VARIANT_STANDARD, 0 },
	};
	const uint64_t size = (6 << 20) + 3072;

	need_qemu_img();
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct blk_create_opts o = { .format = c[i].fmt, .size = size,
					     .variant = c[i].v,
					     .cluster_size = c[i].cs };
		uint8_t *model = calloc(1, size);
		struct blk_image *img;
		char err[ERRLEN];

		assert_int_equal(blk_create(bt_path(c[i].name), &o, err,
					    sizeof(err)), 0);
		img = open_ok(bt_path(c[i].name), 0);
		scribble(img, model, size, (uint32_t)i + 1, 40);
		if (blk_caps(img) & BLK_CAP_DISCARD) {
			/* Whole clusters only: partial ones are left alone. */
			uint64_t cs = blk_cluster_size(img);
			uint64_t a = cs > (1 << 20) ? cs : 1 << 20;

			assert_int_equal(blk_discard(img, a, a), 0);
			memset(model + a, 0, a);
			assert_int_equal(blk_pwrite_zeroes(img, a / 2 + 5, a + 7,
							   BLK_ZEROES_MAY_UNMAP), 0);
			memset(model + a / 2 + 5, 0, a + 7);
			scribble(img, model, size, (uint32_t)i + 100, 5);
		}
		assert_int_equal(blk_flush(img), 0);
		blk_close(img);
		qemu_agrees(bt_path(c[i].name), c[i].fmt, model, size);
		free(model);
	}
}

static void test_hutch_compressed_and_backing(void **state)
{
	const uint64_t size = 5 << 20;
	uint8_t *model = make_model(size, 3);
	struct blk_create_opts o = { .format = "qcow2" };
	struct blk_image *img;
	char err[ERRLEN];

	need_qemu_img();
	bt_write_file(bt_path("hc-src.raw"), model, size);
	img = open_ok(bt_path("hc-src.raw"), BLK_RDONLY);
	assert_int_equal(blk_convert(img, bt_path("hc.qcow2"), &o,
				     BLK_CONVERT_COMPRESS, NULL, NULL, err,
				     sizeof(err)), 0);
	blk_close(img);
	qemu_agrees(bt_path("hc.qcow2"), "qcow2", model, size);
	/* qemu must see compressed clusters, not plain ones. */
	assert_int_equal(bt_run("qemu-img info '%s' | grep -q 'disk size: [0-9.]* [KM]iB'"
				" && qemu-img check '%s' | grep -q compressed",
				bt_path("hc.qcow2"), bt_path("hc.qcow2")), 0);

	/* Overwrite and discard inside the compressed image. */
	img = open_ok(bt_path("hc.qcow2"), 0);
	scribble(img, model, size, 77, 20);
	assert_int_equal(blk_discard(img, 2 << 20, 1 << 20), 0);
	memset(model + (2 << 20), 0, 1 << 20);
	blk_close(img);
	qemu_agrees(bt_path("hc.qcow2"), "qcow2", model, size);

	/* An overlay made by Hutch on a compressed base. */
	o.backing_file = "hc.qcow2";
	o.size = 0;
	assert_int_equal(blk_create(bt_path("hc-top.qcow2"), &o, err,
				    sizeof(err)), 0);
	img = open_ok(bt_path("hc-top.qcow2"), 0);
	scribble(img, model, size, 78, 20);
	assert_int_equal(blk_discard(img, 0, 1 << 20), 0);
	memset(model, 0, 1 << 20);
	blk_close(img);
	qemu_agrees(bt_path("hc-top.qcow2"), "qcow2", model, size);
	free(model);
}

static void test_qemu_images_read(void **state)
{
	static const struct {
		const char *name, *args;
	} c[] = {
		{ "q-v3.qcow2", "-O qcow2" },
		{ "q-v2.qcow2", "-O qcow2 -o compat=0.10" },
		{ "q-c.qcow2", "-c -O qcow2" },
		{ "q-c512.qcow2", "-c -O qcow2 -o cluster_size=512" },
		{ "q-c2m.qcow2", "-c -O qcow2 -o cluster_size=2M" },
		{ "q-rc1.qcow2", "-O qcow2 -o refcount_bits=1,cluster_size=4096" },
		{ "q-rc64.qcow2", "-O qcow2 -o refcount_bits=64" },
		{ "q-dyn.vdi", "-O vdi" },
		{ "q-fix.vdi", "-O vdi -o static=on" },
	};
	const uint64_t size = (4 << 20) + 512;
	uint8_t *model = make_model(size, 9);

	need_qemu_img();
	bt_write_file(bt_path("q-src.raw"), model, size);
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct blk_image *img;

		assert_int_equal(bt_run("qemu-img convert -f raw %s '%s' '%s'",
					c[i].args, bt_path("q-src.raw"),
					bt_path(c[i].name)), 0);
		img = open_ok(bt_path(c[i].name), BLK_RDONLY);
		expect_content(img, model, size);
		blk_close(img);
	}
	/* And writes into them stay consistent for qemu. */
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		uint8_t *m = malloc(size);
		struct blk_image *img;
		const char *fmt = strstr(c[i].name, ".vdi") ? "vdi" : "qcow2";

		memcpy(m, model, size);
		img = open_ok(bt_path(c[i].name), 0);
		scribble(img, m, size, 500 + (uint32_t)i, 25);
		if (blk_caps(img) & BLK_CAP_DISCARD) {
			assert_int_equal(blk_discard(img, 0, 2 << 20), 0);
			memset(m, 0, 2 << 20);
		}
		blk_close(img);
		qemu_agrees(bt_path(c[i].name), fmt, m, size);
		free(m);
	}
	free(model);
}

static void test_qemu_backing_chain_read(void **state)
{
	const uint64_t size = 3 << 20;
	uint8_t *model = make_model(size, 4);
	struct blk_image *img;

	need_qemu_img();
	bt_write_file(bt_path("qb-base.raw"), model, 2 << 20);
	memset(model + (2 << 20), 0, size - (2 << 20));
	assert_int_equal(bt_run("(cd '%s' && qemu-img create -f qcow2 -b qb-base.raw "
				"-F raw qb-mid.qcow2 3M && qemu-io -f qcow2 "
				"-c 'write -P 0xab 100k 70k' -c 'write -z 256k 128k' "
				"-c 'write -P 0xcd 2000k 100k' qb-mid.qcow2 && "
				"qemu-img create -f qcow2 -b qb-mid.qcow2 -F qcow2 "
				"-o cluster_size=4096 qb-top.qcow2 && qemu-io -f qcow2 "
				"-c 'write -P 0x11 150k 1k' -c 'discard 0 64k' "
				"qb-top.qcow2)", bt_tmpdir()), 0);
	memset(model + 100 * 1024, 0xab, 70 * 1024);
	memset(model + 256 * 1024, 0, 128 * 1024);
	memset(model + 2000 * 1024, 0xcd, 100 * 1024);
	memset(model + 150 * 1024, 0x11, 1024);
	memset(model, 0, 64 * 1024);
	img = open_ok(bt_path("qb-top.qcow2"), BLK_RDONLY);
	expect_content(img, model, size);
	blk_close(img);
	/* qemu-img's own view of the chain agrees with ours. */
	bt_write_file(bt_path("qb.model"), model, size);
	assert_int_equal(bt_run("qemu-img compare -F raw '%s' '%s'",
				bt_path("qb-top.qcow2"), bt_path("qb.model")), 0);
	free(model);
}


/* 512-byte clusters: 10 MiB of data grows the refcount table twice. */
static void test_reftable_growth_passes_check(void **state)
{
	const uint64_t size = 10 << 20;
	struct blk_create_opts o = { .format = "qcow2", .size = size,
				     .cluster_size = 512 };
	uint8_t *model = make_model(size, 5);
	struct blk_image *img;
	char err[ERRLEN];

	need_qemu_img();
	assert_int_equal(blk_create(bt_path("grow.qcow2"), &o, err, sizeof(err)), 0);
	img = open_ok(bt_path("grow.qcow2"), 0);
	for (uint64_t off = 0; off < size; off += 1 << 20)
		assert_int_equal(blk_pwrite(img, model + off, 1 << 20, off), 0);
	blk_close(img);
	qemu_agrees(bt_path("grow.qcow2"), "qcow2", model, size);
	/* Compressed writes into a 1-bit refcount image cannot share clusters. */
	assert_int_equal(bt_run("qemu-img create -f qcow2 -o refcount_bits=1 '%s' 4M",
				bt_path("rc1c.qcow2")), 0);
	img = open_ok(bt_path("rc1c.qcow2"), 0);
	memset(model, 'x', 4 << 20);
	assert_int_equal(blk_pwrite_compressed(img, model, 4 << 20, 0), 0);
	blk_close(img);
	qemu_agrees(bt_path("rc1c.qcow2"), "qcow2", model, 4 << 20);
	free(model);
}

#define CRASH_CHUNK (37 * 1024 + 100)
#define CRASH_REGION (6u << 20)
#define CRASH_ROUNDS 6

/* The child: write chunks in sequence, flush now and then, report flushed ones. */
static void crash_writer(const char *path, uint64_t base, int fd)
{
	struct blk_image *img;
	uint8_t *buf = malloc(CRASH_CHUNK);

	if (blk_open(path, NULL, 0, &img, NULL, 0) < 0)
		_exit(2);
	for (uint32_t i = 0; (i + 1) * (uint64_t)CRASH_CHUNK <= CRASH_REGION; i++) {
		bt_fill(buf, CRASH_CHUNK, (uint32_t)base + i);
		if (blk_pwrite(img, buf, CRASH_CHUNK, base + i * (uint64_t)CRASH_CHUNK))
			_exit(3);
		/* Flush every third chunk: unflushed L2 entries are pending. */
		if (i % 3 != 2)
			continue;
		if (blk_flush(img))
			_exit(3);
		if (write(fd, &i, sizeof(i)) != sizeof(i))
			_exit(4);
	}
	pause();
	_exit(0);
}

/*
 * kill -9 during heavy writes, several times: qemu-img check finds at
 * worst leaked clusters, and every flushed write is in the image.
 */
static void test_kill9_leaves_consistent_image(void **state)
{
	const char *path = bt_path("crash.qcow2");
	struct blk_create_opts o = { .format = "qcow2",
				     .size = CRASH_REGION * (uint64_t)CRASH_ROUNDS,
				     .cluster_size = 512 };
	uint8_t *buf = malloc(CRASH_CHUNK), *want = malloc(CRASH_CHUNK);
	char err[ERRLEN];

	need_qemu_img();
	assert_int_equal(blk_create(path, &o, err, sizeof(err)), 0);
	for (int r = 0; r < CRASH_ROUNDS; r++) {
		uint64_t base = (uint64_t)r * CRASH_REGION;
		struct timespec ts = { 0, (20 + 37 * r) * 1000000L };
		int p[2], st, acked = -1;
		struct blk_image *img;
		uint32_t i;
		pid_t pid;

		assert_int_equal(pipe(p), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(p[0]);
			crash_writer(path, base, p[1]);
		}
		close(p[1]);
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		while (read(p[0], &i, sizeof(i)) == sizeof(i))
			acked = (int)i;
		close(p[0]);
		st = bt_run("qemu-img check '%s'", path);
		if (st != 0 && st != QEMU_CHECK_LEAKS)
			bt_run("qemu-img check '%s' >&2", path);
		assert_true(st == 0 || st == QEMU_CHECK_LEAKS);
		print_message("round %d: %d chunks flushed, qemu-img check %d\n",
			      r, acked + 1, st);
		img = open_ok(path, 0);
		for (int k = 0; k <= acked; k++) {
			assert_int_equal(blk_pread(img, buf, CRASH_CHUNK,
						   base + (uint64_t)k * CRASH_CHUNK), 0);
			bt_fill(want, CRASH_CHUNK, (uint32_t)base + (uint32_t)k);
			assert_memory_equal(buf, want, CRASH_CHUNK);
		}
		blk_close(img);
	}
	free(buf);
	free(want);
}

/* VMDK import: qemu-img's monolithicSparse and streamOptimized images. */
static void test_qemu_vmdk_read(void **state)
{
	static const struct {
		const char *name, *args;
	} c[] = {
		{ "v-sparse.vmdk", "-O vmdk" },
		{ "v-zg.vmdk", "-O vmdk -o zeroed_grain=on" },
		{ "v-stream.vmdk", "-O vmdk -o subformat=streamOptimized" },
	};
	const uint64_t size = (3 << 20) + 1024;
	uint8_t *model = make_model(size, 13), *file;
	struct blk_image *img;
	char err[ERRLEN];
	size_t flen;

	need_qemu_img();
	bt_write_file(bt_path("v-src.raw"), model, size);
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct blk_info info;

		assert_int_equal(bt_run("qemu-img convert -f raw %s '%s' '%s'",
					c[i].args, bt_path("v-src.raw"),
					bt_path(c[i].name)), 0);
		img = open_ok(bt_path(c[i].name), BLK_RDONLY);
		assert_string_equal(blk_format_name(img), "vmdk");
		assert_int_equal(blk_info(img, &info), 0);
		expect_content(img, model, size);
		blk_close(img);
		/* Writable opens are refused with a hint. */
		assert_int_equal(blk_open(bt_path(c[i].name), NULL, 0, &img, err,
					  sizeof(err)), -EROFS);
		assert_non_null(strstr(err, "read-only"));
	}
	/*
	 * A stream-optimized image as VMware writes it: header gdOffset is
	 * GD_AT_END and the real header is a footer before the end-of-stream
	 * marker.  Made from qemu's image by moving the header to the end.
	 */
	file = bt_read_file(bt_path("v-stream.vmdk"), &flen);
	file = realloc(file, flen + 1536);
	memset(file + flen, 0, 1536);
	file[flen + 12] = 3; /* footer marker: type 3 */
	memcpy(file + flen + 512, file, 512);
	memset(file + 56, 0xff, 8);
	bt_write_file(bt_path("v-footer.vmdk"), file, flen + 1536);
	free(file);
	img = open_ok(bt_path("v-footer.vmdk"), BLK_RDONLY);
	expect_content(img, model, size);
	blk_close(img);
	/* And it converts to qcow2 for use (clonemedium). */
	{
		struct blk_create_opts o = { .format = "qcow2" };

		img = open_ok(bt_path("v-footer.vmdk"), BLK_RDONLY);
		assert_int_equal(blk_convert(img, bt_path("v-conv.qcow2"), &o, 0,
					     NULL, NULL, err, sizeof(err)), 0);
		blk_close(img);
		qemu_agrees(bt_path("v-conv.qcow2"), "qcow2", model, size);
	}
	/* Descriptor-only (flat) VMDKs are refused clearly. */
	assert_int_equal(bt_run("qemu-img create -f vmdk -o subformat=monolithicFlat "
				"'%s' 1M", bt_path("v-flat.vmdk")), 0);
	assert_int_equal(blk_open(bt_path("v-flat.vmdk"), NULL, BLK_RDONLY, &img,
				  err, sizeof(err)), -ENOTSUP);
	assert_non_null(strstr(err, "descriptor-only"));
	free(model);
}

/* Grown images stay consistent for qemu-img. */
static void test_resize_passes_check(void **state)
{
	static const struct {
		const char *name, *fmt;
		uint32_t cs;
		enum blk_variant v;
	} c[] = {
		{ "rs512.qcow2", "qcow2", 512, BLK_VARIANT_STANDARD },
		{ "rs.vdi", "vdi", 0, BLK_VARIANT_STANDARD },
		{ "rsf.vdi", "vdi", 0, BLK_VARIANT_FIXED },
	};
	const uint64_t small = 1 << 20, big = 5 << 20;

	need_qemu_img();
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct blk_create_opts o = { .format = c[i].fmt, .size = small,
					     .cluster_size = c[i].cs,
					     .variant = c[i].v };
		uint8_t *model = calloc(1, big);
		struct blk_image *img;
		char err[ERRLEN];

		assert_int_equal(blk_create(bt_path(c[i].name), &o, err,
					    sizeof(err)), 0);
		img = open_ok(bt_path(c[i].name), 0);
		scribble(img, model, small, 900 + (uint32_t)i, 10);
		assert_int_equal(blk_resize(img, big), 0);
		scribble(img, model, big, 950 + (uint32_t)i, 10);
		blk_close(img);
		qemu_agrees(bt_path(c[i].name), c[i].fmt, model, big);
		free(model);
	}
}


/* Run a qemu tool; its exit status, its output (both streams) in out. */
static int run_capture(char *out, size_t outlen, const char *cmd)
{
	const char *log = bt_path("qemu-out.txt");
	int st = bt_run("( (%s) >'%s' 2>&1 )", cmd, log);
	size_t len;
	char *text = bt_read_file(log, &len);

	snprintf(out, outlen, "%.*s", (int)len, text);
	free(text);
	return st;
}

static __attribute__((format(printf, 3, 4))) void
expect_qemu(int want_ok, const char *needle, const char *fmt, ...)
{
	va_list ap;
	char cmd[1024], out[4096];
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = run_capture(out, sizeof(out), cmd);
	if ((st == 0) != want_ok || (needle && !strstr(out, needle)))
		print_error("'%s' exited %d (want %s), output: %s\n", cmd, st,
			    want_ok ? "0" : "failure", out);
	assert_int_equal(st == 0, want_ok);
	if (needle)
		assert_non_null(strstr(out, needle));
}

static void test_qemu_refuses_what_hutch_holds(void **state)
{
	struct blk_create_opts o = { .size = 1 << 20 };
	const char *fmts[] = { "qcow2", "vdi", "raw" };
	char err[ERRLEN], name[64];

	need_qemu_img();
	for (int f = 0; f < 3; f++) {
		bool raw = !strcmp(fmts[f], "raw");
		const char *path;
		struct blk_image *img;

		snprintf(name, sizeof(name), "lock-q.%s", fmts[f]);
		path = bt_path(name);
		o.format = fmts[f];
		remove(path);
		assert_int_equal(blk_create(path, &o, err, sizeof(err)), 0);
		/* A running VM's disk: open read-write. */
		img = open_ok(path, 0);
		/*
		 * QEMU's format drivers with metadata (qcow2, VDI) unshare
		 * write, so `qemu-img info` fails as it does beside a running
		 * QEMU; its raw driver passes the caller's sharing through and
		 * `qemu-img info` of a raw image works beside QEMU itself too.
		 */
		expect_qemu(raw, raw ? NULL : "lock", "qemu-img info '%s'", path);
		expect_qemu(1, NULL, "qemu-img info -U '%s'", path);
		expect_qemu(0, "lock", "qemu-io -f %s -c 'write 0 512' '%s'",
			    fmts[f], path);
		expect_qemu(0, "lock", "qemu-img resize -f %s '%s' 2M", fmts[f],
			    path);
		blk_close(img);
		expect_qemu(1, NULL, "qemu-img info '%s'", path);
		/* A reader (a backing file, a CD): qemu-img may read, not write. */
		img = open_ok(path, BLK_RDONLY);
		expect_qemu(1, NULL, "qemu-img info '%s'", path);
		expect_qemu(0, "lock", "qemu-io -f %s -c 'write 0 512' '%s'",
			    fmts[f], path);
		blk_close(img);
		expect_qemu(1, NULL, "qemu-io -f %s -c 'write 0 512' '%s'", fmts[f],
			    path);
	}
}

/* Does another open file description hold a lock on byte off of path? */
static bool byte_locked(const char *path, off_t off)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
			    .l_start = off, .l_len = 1 };
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool locked;

	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_OFD_GETLK, &fl), 0);
	locked = fl.l_type != F_UNLCK;
	close(fd);
	return locked;
}

/*
 * qemu-io holds path (its 'sleep' keeps the image open) until killed;
 * returns once it has taken the lock byte that shows it (QEMU
 * block/file-posix.c: 100 + bit of "consistent read" for any user, 101
 * for a writer), without opening the image in a way that could race it.
 */
static pid_t qemu_io_hold(const char *path, bool rdonly)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		if (rdonly)
			execlp("qemu-io", "qemu-io", "-r", "-c", "sleep 30000", path,
			       (char *)NULL);
		else
			execlp("qemu-io", "qemu-io", "-c", "sleep 30000", path,
			       (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200 && !byte_locked(path, rdonly ? 100 : 101); i++)
		usleep(50000);
	assert_true(byte_locked(path, rdonly ? 100 : 101));
	return pid;
}

static void qemu_io_release(pid_t pid)
{
	int st;

	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &st, 0), pid);
}

static void test_hutch_refuses_what_qemu_holds(void **state)
{
	const char *path = bt_path("held.qcow2");
	struct blk_image *img = NULL;
	char err[ERRLEN];
	pid_t pid;

	need_qemu_img();
	remove(path);
	assert_int_equal(bt_run("qemu-img create -f qcow2 '%s' 1M", path), 0);
	/* A writer (a running QEMU VM): Hutch may neither write nor read. */
	pid = qemu_io_hold(path, false);
	assert_int_equal(blk_open(path, NULL, 0, &img, err, sizeof(err)), -EBUSY);
	assert_non_null(strstr(err, "is locked by another process (a running VM?)"));
	assert_non_null(strstr(err, path));
	assert_int_equal(blk_open(path, NULL, BLK_RDONLY, &img, err, sizeof(err)),
			 -EBUSY);
	/* Force-share reads anyway, like qemu-img -U. */
	img = open_ok(path, BLK_RDONLY | BLK_FORCE_SHARE);
	blk_close(img);
	qemu_io_release(pid);
	img = open_ok(path, 0);
	blk_close(img);
	/* A read-only QEMU user: Hutch may read beside it, not write. */
	pid = qemu_io_hold(path, true);
	assert_int_equal(blk_open(path, NULL, 0, &img, err, sizeof(err)), -EBUSY);
	assert_non_null(strstr(err, "is locked by another process"));
	img = open_ok(path, BLK_RDONLY);
	blk_close(img);
	qemu_io_release(pid);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_hutch_images_pass_qemu_check, setup),
		cmocka_unit_test(test_hutch_compressed_and_backing),
		cmocka_unit_test(test_qemu_images_read),
		cmocka_unit_test(test_qemu_backing_chain_read),
		cmocka_unit_test(test_qemu_vmdk_read),
		cmocka_unit_test(test_resize_passes_check),
		cmocka_unit_test(test_reftable_growth_passes_check),
		cmocka_unit_test(test_kill9_leaves_consistent_image),
		cmocka_unit_test(test_qemu_refuses_what_hutch_holds),
		cmocka_unit_test(test_hutch_refuses_what_qemu_holds),
	};
	int ret = cmocka_run_group_tests(tests, NULL, NULL);

	bt_cleanup();
	return ret;
}
