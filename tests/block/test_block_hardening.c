// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Hardening of the block layer (issue 8): a probed raw image never gets
 * a format header in its first sector; backing files are regular files
 * reached without blocking, below the naming image's folder, in chains
 * of bounded depth; images are locked (OFD locks, QEMU's lock bytes);
 * qcow2 data clusters never land on the image's own metadata.
 *
 * Every open that must fail is checked for a one-line error naming the
 * image, and an alarm turns a hang into a failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "blk_test_util.h"
#include "block.h"

#define ERRLEN 512
#define HANG_SECONDS 20 /* SIGALRM ends the test: a hang is a failure */

/* Where blk_create puts things in a 64 KiB-cluster qcow2 image. */
#define Q_CS 65536
#define Q_REFTABLE (1 * Q_CS)
#define Q_REFBLOCK (2 * Q_CS)
#define Q_L1 (3 * Q_CS)
/* After one write at guest offset 0: the data, then its L2 table. */
#define Q_DATA0 (4 * Q_CS)
#define Q_L2 (5 * Q_CS)
#define QH_BACKING_OFFSET 8
#define QH_BACKING_SIZE 16
#define QH_INCOMPAT 72
#define QCOW2_INCOMPAT_CORRUPT 2u
#define QCOW2_OFLAG_COPIED (1ull << 63)

static int setup(void **state)
{
	alarm(HANG_SECONDS);
	return 0;
}

static int teardown(void **state)
{
	alarm(0);
	return 0;
}

static const char *fresh(const char *name, const char *fmt, uint64_t size)
{
	struct blk_create_opts o = { .format = fmt, .size = size };
	char err[ERRLEN];
	const char *path = bt_path(name);

	remove(path);
	if (blk_create(path, &o, err, sizeof(err)))
		print_error("%s\n", err);
	assert_int_equal(access(path, F_OK), 0);
	return path;
}

static struct blk_image *open_ok(const char *path, const char *fmt,
				 unsigned flags)
{
	struct blk_image *img = NULL;
	char err[ERRLEN];
	int ret = blk_open(path, fmt, flags, &img, err, sizeof(err));

	if (ret)
		print_error("blk_open(%s): %s\n", path, err);
	assert_int_equal(ret, 0);
	return img;
}

/* Open must fail with want; the one-line error names path and each hint. */
static void expect_refused(const char *path, const char *fmt, unsigned flags,
			   int want, const char *hint, const char *hint2)
{
	struct blk_image *img = NULL;
	char err[ERRLEN] = "";
	int ret = blk_open(path, fmt, flags, &img, err, sizeof(err));

	if (ret != want || !strstr(err, hint) || (hint2 && !strstr(err, hint2)))
		print_error("%s: got %d '%s', want %d '%s' '%s'\n", path, ret,
			    err, want, hint, hint2 ? hint2 : "");
	assert_int_equal(ret, want);
	assert_null(img);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, hint));
	if (hint2)
		assert_non_null(strstr(err, hint2));
	assert_null(strchr(err, '\n'));
}

static uint64_t read_be(const char *path, uint64_t off, int bytes)
{
	size_t len;
	uint8_t *b = bt_read_file(path, &len);
	uint64_t v = 0;

	assert_true(off + (uint64_t)bytes <= len);
	for (int i = 0; i < bytes; i++)
		v = v << 8 | b[off + (uint64_t)i];
	free(b);
	return v;
}

/* ------------------------------------------------------------------ */
/* Finding 1: probed raw images and sector 0                            */

static void make_qcow2_sector(uint8_t *sec)
{
	/* What a guest would write: a qcow2 header naming a host file. */
	memset(sec, 0, 512);
	memcpy(sec, "QFI\xfb\0\0\0\3", 8);
	memcpy(sec + 200, "/etc/shadow", 11);
}

static void expect_sector0(const char *path, const uint8_t *want)
{
	size_t len;
	uint8_t *b = bt_read_file(path, &len);

	assert_true(len >= 512);
	assert_memory_equal(b, want, 512);
	free(b);
}

static void test_probed_raw_keeps_sector0_raw(void **state)
{
	const char *path = fresh("probed.raw", "raw", 1 << 20);
	uint8_t sec[512], zero[1024] = { 0 }, big[4096], data[512];
	struct blk_image *img = open_ok(path, NULL, 0);

	assert_string_equal(blk_format_name(img), "raw");
	/* A whole qcow2 header sector: refused, nothing written. */
	make_qcow2_sector(sec);
	assert_int_equal(blk_pwrite(img, sec, sizeof(sec), 0), -EPERM);
	assert_non_null(strstr(blk_last_error(img), path));
	assert_non_null(strstr(blk_last_error(img), "qcow2"));
	assert_non_null(strstr(blk_last_error(img), "sector 0"));
	expect_sector0(path, zero);
	/* A longer write starting with it: nothing at all is written. */
	memset(big, 0x5a, sizeof(big));
	memcpy(big, sec, 512);
	assert_int_equal(blk_pwrite(img, big, sizeof(big), 0), -EPERM);
	{
		uint8_t back[4096];

		assert_int_equal(blk_pread(img, back, sizeof(back), 0), 0);
		assert_memory_equal(back, zero, 1024);
	}
	/* Partial writes that complete a magic: the magic alone, VDI, VMDK. */
	assert_int_equal(blk_pwrite(img, "QFI\xfb", 4, 0), -EPERM);
	{
		static const uint8_t vdi_sig[4] = { 0x7f, 0x10, 0xda, 0xbe };

		assert_int_equal(blk_pwrite(img, vdi_sig, 4, 64), -EPERM);
		assert_non_null(strstr(blk_last_error(img), "vdi"));
	}
	assert_int_equal(blk_pwrite(img, "KDMV", 4, 0), -EPERM);
	assert_int_equal(blk_pwrite(img, "# Disk DescriptorFile", 21, 0), -EPERM);
	/* Two writes, each harmless alone, that together form the magic. */
	assert_int_equal(blk_pwrite(img, "QF", 2, 0), 0);
	assert_int_equal(blk_pwrite(img, "I\xfb", 2, 2), -EPERM);
	{
		uint8_t want[512] = { 'Q', 'F' };

		expect_sector0(path, want);
	}
	/* Ordinary data in sector 0, and a header beyond it, are fine. */
	bt_fill(data, sizeof(data), 1);
	data[0] = 0xeb; /* an MBR-ish boot sector */
	assert_int_equal(blk_pwrite(img, data, sizeof(data), 0), 0);
	assert_int_equal(blk_pwrite(img, sec, sizeof(sec), 512), 0);
	assert_int_equal(blk_pwrite_zeroes(img, 0, 512, 0), 0);
	assert_int_equal(blk_discard(img, 0, 4096), 0);
	blk_close(img);
	/* Reopened, it still probes as raw. */
	img = open_ok(path, NULL, BLK_RDONLY);
	assert_string_equal(blk_format_name(img), "raw");
	blk_close(img);
}

static void test_named_raw_may_write_any_sector0(void **state)
{
	const char *path = fresh("named.raw", "raw", 1 << 20);
	struct blk_image *img = open_ok(path, "raw", 0);
	uint8_t sec[512];

	/* The user said raw: the guest's bytes are its own business. */
	make_qcow2_sector(sec);
	assert_int_equal(blk_pwrite(img, sec, sizeof(sec), 0), 0);
	blk_close(img);
	expect_sector0(path, sec);
	/* Which is why a probe must never be trusted with such a disk. */
	img = open_ok(path, "raw", BLK_RDONLY);
	blk_close(img);
	expect_refused(path, NULL, BLK_RDONLY, -EINVAL, "cluster_bits", NULL);
}

/* ------------------------------------------------------------------ */
/* Finding 2: backing files                                             */

/* An overlay of base.raw whose header then names name instead. */
static const char *overlay_naming(const char *file, const char *name)
{
	struct blk_create_opts o = { .format = "qcow2",
				     .backing_file = "ov-placeholder.raw" };
	const char *path = bt_path(file);
	uint64_t boff;
	char err[ERRLEN];

	remove(bt_path("ov-placeholder.raw"));
	remove(path);
	bt_write_file(bt_path("ov-placeholder.raw"), "", 0);
	assert_int_equal(truncate(bt_path("ov-placeholder.raw"), 1 << 20), 0);
	if (blk_create(path, &o, err, sizeof(err)))
		print_error("%s\n", err);
	boff = read_be(path, QH_BACKING_OFFSET, 8);
	assert_true(boff > 0 && boff < 4096);
	bt_patch(path, boff, name, strlen(name));
	bt_patch_be32(path, QH_BACKING_SIZE, (uint32_t)strlen(name));
	return path;
}

static void test_backing_fifo_and_devices(void **state)
{
	const char *fifo = bt_path("be-fifo");
	const char *ov;

	/* A FIFO as backing file: refused at once, never waited on. */
	remove(fifo);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	ov = overlay_naming("ov-fifo.qcow2", "be-fifo");
	expect_refused(ov, NULL, 0, -EPERM, "'be-fifo' refused", "FIFO");
	expect_refused(ov, NULL, BLK_RDONLY, -EPERM, "'be-fifo' refused", "FIFO");
	/* ... and as the image itself. */
	expect_refused(fifo, NULL, BLK_RDONLY, -EINVAL, "is a FIFO", NULL);
	expect_refused(fifo, "raw", 0, -EINVAL, "is a FIFO", NULL);
	/* Device nodes: by absolute name, as the image, beside the image. */
	ov = overlay_naming("ov-dev.qcow2", "/dev/zero");
	expect_refused(ov, NULL, 0, -EPERM, "'/dev/zero' refused", "absolute");
	expect_refused("/dev/null", "raw", BLK_RDONLY, -EINVAL,
		       "character device", NULL);
	remove(bt_path("be-null"));
	if (mknod(bt_path("be-null"), S_IFCHR | 0600, makedev(1, 3)) == 0) {
		struct blk_image *img = NULL;
		char err[ERRLEN];
		int ret;

		ov = overlay_naming("ov-node.qcow2", "be-null");
		ret = blk_open(ov, NULL, BLK_RDONLY, &img, err, sizeof(err));
		/* On a nodev mount the open itself fails (EACCES). */
		assert_true(ret == -EPERM || ret == -EACCES);
		assert_null(img);
		assert_non_null(strstr(err, "be-null"));
		if (ret == -EPERM)
			assert_non_null(strstr(err, "character device"));
	}
	/* A directory, /proc, a symlink to a device, '..'. */
	mkdir(bt_path("be-dir"), 0700);
	ov = overlay_naming("ov-dir.qcow2", "be-dir");
	expect_refused(ov, NULL, 0, -EPERM, "'be-dir' refused", "directory");
	ov = overlay_naming("ov-proc.qcow2", "/proc/self/environ");
	expect_refused(ov, NULL, BLK_RDONLY, -EPERM, "/proc/self/environ",
		       "absolute");
	remove(bt_path("be-link"));
	assert_int_equal(symlink("/dev/zero", bt_path("be-link")), 0);
	ov = overlay_naming("ov-link.qcow2", "be-link");
	expect_refused(ov, NULL, 0, -EPERM, "'be-link' refused", "symbolic link");
	ov = overlay_naming("ov-dots.qcow2", "../../etc/passwd");
	expect_refused(ov, NULL, 0, -EPERM, "../../etc/passwd", "'..'");
	ov = overlay_naming("ov-dots2.qcow2", "sub/../../x.raw");
	expect_refused(ov, NULL, 0, -EPERM, "sub/../../x.raw", "'..'");
	/* A symlinked folder on the way is not followed either. */
	remove(bt_path("be-dirlink"));
	assert_int_equal(symlink("/etc", bt_path("be-dirlink")), 0);
	ov = overlay_naming("ov-dirlink.qcow2", "be-dirlink/passwd");
	expect_refused(ov, NULL, 0, -EPERM, "be-dirlink/passwd", "symbolic link");
}

static void test_backing_allowed_below_folder(void **state)
{
	struct blk_create_opts o = { .format = "qcow2",
				     .backing_file = "sub/base.raw" };
	const char *ov = bt_path("ov-sub.qcow2");
	struct blk_image *img;
	uint8_t buf[512], want[512];
	char err[ERRLEN];

	mkdir(bt_path("sub"), 0700);
	bt_fill(want, sizeof(want), 42);
	bt_write_file(bt_path("sub/base.raw"), want, sizeof(want));
	assert_int_equal(truncate(bt_path("sub/base.raw"), 1 << 20), 0);
	remove(ov);
	assert_int_equal(blk_create(ov, &o, err, sizeof(err)), 0);
	img = open_ok(ov, NULL, 0);
	assert_int_equal(blk_pread(img, buf, sizeof(buf), 0), 0);
	assert_memory_equal(buf, want, sizeof(buf));
	blk_close(img);
	/* blk_create writes no name blk_open would refuse. */
	o.backing_file = "../base.raw";
	remove(bt_path("ov-bad.qcow2"));
	assert_int_equal(blk_create(bt_path("ov-bad.qcow2"), &o, err, sizeof(err)),
			 -EPERM);
	assert_non_null(strstr(err, "'..'"));
	o.backing_file = bt_path("sub/base.raw");
	assert_int_equal(blk_create(bt_path("ov-bad.qcow2"), &o, err, sizeof(err)),
			 -EPERM);
	assert_non_null(strstr(err, "absolute"));
	assert_int_equal(access(bt_path("ov-bad.qcow2"), F_OK), -1);
}

static void test_backing_chain_100_levels(void **state)
{
	struct blk_create_opts o = { .format = "qcow2", .size = 1 << 20 };
	char err[ERRLEN], name[64], prev[64];

	snprintf(prev, sizeof(prev), "lvl0.qcow2");
	remove(bt_path(prev));
	assert_int_equal(blk_create(bt_path(prev), &o, err, sizeof(err)), 0);
	for (int i = 1; i <= 100; i++) {
		snprintf(name, sizeof(name), "lvl%d.qcow2", i);
		remove(bt_path(name));
		o.backing_file = prev;
		assert_int_equal(blk_create(bt_path(name), &o, err, sizeof(err)), 0);
		snprintf(prev, sizeof(prev), "%s", name);
	}
	expect_refused(bt_path("lvl100.qcow2"), NULL, 0, -ELOOP, "deeper than",
		       "in its backing chain");
	expect_refused(bt_path("lvl100.qcow2"), NULL, BLK_RDONLY, -ELOOP,
		       "deeper than", NULL);
	/* Loops of backing files: test_block_malformed's test_backing_loops. */
}

/* ------------------------------------------------------------------ */
/* Finding 3: image locks                                               */

static void expect_locked(const char *path, const char *fmt, unsigned flags)
{
	expect_refused(path, fmt, flags, -EBUSY,
		       "is locked by another process (a running VM?)", NULL);
}

static void test_locks_between_opens(void **state)
{
	const char *q = fresh("lock.qcow2", "qcow2", 1 << 20);
	const char *r = fresh("lock.raw", "raw", 1 << 20);
	struct blk_image *a, *b;
	char err[ERRLEN];

	/*
	 * Each blk_open is its own open file description, so OFD locks
	 * conflict between them as between two processes.
	 */
	for (int f = 0; f < 2; f++) {
		const char *p = f ? r : q;

		a = open_ok(p, NULL, 0);
		expect_locked(p, NULL, 0);
		expect_locked(p, NULL, BLK_RDONLY);
		/* Like qemu-img -U: a look without locks still works. */
		b = open_ok(p, NULL, BLK_RDONLY | BLK_FORCE_SHARE);
		blk_close(b);
		blk_close(a);
		/* Readers share; a writer is refused while one reads. */
		a = open_ok(p, NULL, BLK_RDONLY);
		b = open_ok(p, NULL, BLK_RDONLY);
		expect_locked(p, NULL, 0);
		blk_close(a);
		expect_locked(p, NULL, 0);
		blk_close(b);
		/* All gone with the last close. */
		a = open_ok(p, NULL, 0);
		blk_close(a);
	}
	/* Force-share is for reading only. */
	assert_int_equal(blk_open(q, NULL, BLK_FORCE_SHARE, &a, err, sizeof(err)),
			 -EINVAL);
	assert_null(a);
}

static void test_locks_cover_backing_files(void **state)
{
	struct blk_create_opts o = { .format = "qcow2",
				     .backing_file = "lk-base.qcow2" };
	struct blk_image *top, *top2, *b;
	char err[ERRLEN];

	fresh("lk-base.qcow2", "qcow2", 1 << 20);
	remove(bt_path("lk-top.qcow2"));
	remove(bt_path("lk-top2.qcow2"));
	assert_int_equal(blk_create(bt_path("lk-top.qcow2"), &o, err, sizeof(err)), 0);
	assert_int_equal(blk_create(bt_path("lk-top2.qcow2"), &o, err, sizeof(err)), 0);
	top = open_ok(bt_path("lk-top.qcow2"), NULL, 0);
	/* The base is held read-only: others may read it, none may write. */
	expect_locked(bt_path("lk-base.qcow2"), NULL, 0);
	b = open_ok(bt_path("lk-base.qcow2"), NULL, BLK_RDONLY);
	blk_close(b);
	/* Two overlays of one base run side by side. */
	top2 = open_ok(bt_path("lk-top2.qcow2"), NULL, 0);
	/* But the overlay itself is taken; the error says where. */
	expect_refused(bt_path("lk-top.qcow2"), NULL, 0, -EBUSY, "is locked", NULL);
	blk_close(top2);
	blk_close(top);
	b = open_ok(bt_path("lk-base.qcow2"), NULL, 0);
	/* A writer on the base: the overlay cannot open its chain. */
	expect_refused(bt_path("lk-top.qcow2"), NULL, 0, -EBUSY,
		       "in its backing chain", "lk-base.qcow2: is locked");
	blk_close(b);
}

/* ------------------------------------------------------------------ */
/* Finding 6: qcow2 metadata overlap checks                             */

/* A 1 MiB qcow2 whose guest cluster 0 is allocated (data at Q_DATA0). */
static const char *qcow2_with_cluster0(const char *name)
{
	const char *path = fresh(name, "qcow2", 1 << 20);
	struct blk_image *img = open_ok(path, "qcow2", 0);
	uint8_t buf[Q_CS];

	bt_fill(buf, sizeof(buf), 3);
	assert_int_equal(blk_pwrite(img, buf, sizeof(buf), 0), 0);
	blk_close(img);
	assert_int_equal(read_be(path, Q_L1, 8), QCOW2_OFLAG_COPIED | Q_L2);
	assert_int_equal(read_be(path, Q_L2, 8), QCOW2_OFLAG_COPIED | Q_DATA0);
	return path;
}

static void test_qcow2_data_over_metadata(void **state)
{
	/*
	 * Offset 0 in an entry means "unallocated", so the header is reached
	 * by a compressed cluster descriptor (spec "Compressed Clusters
	 * Descriptor", x = 62 - (cluster_bits - 8) = 54): one sector at 512.
	 */
	static const struct {
		uint64_t entry;
		const char *what;
	} c[] = {
		{ (1ull << 62) | 512, "the header" },
		{ QCOW2_OFLAG_COPIED | Q_REFTABLE, "the refcount table" },
		{ QCOW2_OFLAG_COPIED | Q_REFBLOCK, "a refcount block" },
		{ QCOW2_OFLAG_COPIED | Q_L1, "the L1 table" },
		{ QCOW2_OFLAG_COPIED | Q_L2, "an L2 table" },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		for (int op = 0; op < 3; op++) {
			const char *path = qcow2_with_cluster0("overlap.qcow2");
			uint8_t data[4096], *before, *after;
			struct blk_image *img;
			size_t len, len2;
			int ret;

			/* Point guest cluster 0 at the metadata. */
			bt_patch_be64(path, Q_L2, c[i].entry);
			before = bt_read_file(path, &len);
			img = open_ok(path, "qcow2", 0);
			memset(data, 0xee, sizeof(data));
			if (op == 0)      /* a write in place */
				ret = blk_pwrite(img, data, sizeof(data), 8192);
			else if (op == 1) /* a discard, which would free it */
				ret = blk_discard(img, 0, Q_CS);
			else              /* zeros: discard plus writes */
				ret = blk_pwrite_zeroes(img, 0, Q_CS,
							BLK_ZEROES_MAY_UNMAP);
			if (ret != -EIO || !strstr(blk_last_error(img), c[i].what))
				print_error("case %zu op %d: %d %s\n", i, op, ret,
					    blk_last_error(img));
			assert_int_equal(ret, -EIO);
			assert_non_null(strstr(blk_last_error(img), c[i].what));
			assert_non_null(strstr(blk_last_error(img), "corrupt"));
			assert_null(strchr(blk_last_error(img), '\n'));
			/* Marked corrupt: no further writes at all. */
			assert_int_equal(blk_pwrite(img, data, 512, 1 << 19), -EIO);
			blk_close(img);
			/* Nothing changed but the corrupt bit in the header. */
			after = bt_read_file(path, &len2);
			assert_int_equal(len, len2);
			assert_true(after[QH_INCOMPAT + 7] & QCOW2_INCOMPAT_CORRUPT);
			after[QH_INCOMPAT + 7] = before[QH_INCOMPAT + 7];
			assert_memory_equal(before, after, len);
			free(before);
			free(after);
			expect_refused(path, NULL, 0, -EROFS, "marked corrupt", NULL);
			/* Still readable, like QEMU's read-only corrupt images. */
			img = open_ok(path, NULL, BLK_RDONLY);
			blk_close(img);
		}
	}
}

static void test_qcow2_cow_of_metadata_refused(void **state)
{
	const char *path = qcow2_with_cluster0("overlap-cow.qcow2");
	uint8_t data[512] = { 1 }, *before, *after;
	struct blk_image *img;
	size_t len, len2;

	/*
	 * Without the copied flag a write copies the cluster elsewhere and
	 * then frees the old one: the L1 table's refcount would drop to 0
	 * and its cluster be punched out of the file.
	 */
	bt_patch_be64(path, Q_L2, Q_L1);
	before = bt_read_file(path, &len);
	img = open_ok(path, NULL, 0);
	assert_int_equal(blk_pwrite(img, data, sizeof(data), 0), -EIO);
	assert_non_null(strstr(blk_last_error(img), "the L1 table"));
	blk_close(img);
	after = bt_read_file(path, &len2);
	assert_int_equal(len, len2);
	after[QH_INCOMPAT + 7] = before[QH_INCOMPAT + 7];
	assert_memory_equal(before, after, len);
	free(before);
	free(after);
}

static void test_qcow2_metadata_sharing_a_cluster(void **state)
{
	const char *path = qcow2_with_cluster0("overlap-l2.qcow2");
	struct blk_image *img;

	/* The L2 table of L1 entry 0 is said to be the refcount table. */
	bt_patch_be64(path, Q_L1, QCOW2_OFLAG_COPIED | Q_REFTABLE);
	expect_refused(path, NULL, 0, -EINVAL, "share the cluster",
		       "the refcount table");
	img = open_ok(path, NULL, BLK_RDONLY);
	blk_close(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_probed_raw_keeps_sector0_raw,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_named_raw_may_write_any_sector0,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_backing_fifo_and_devices,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_backing_allowed_below_folder,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_backing_chain_100_levels,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_locks_between_opens,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_locks_cover_backing_files,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_qcow2_data_over_metadata,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_qcow2_cow_of_metadata_refused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_qcow2_metadata_sharing_a_cluster,
						setup, teardown),
	};
	int ret = cmocka_run_group_tests(tests, NULL, NULL);

	bt_cleanup();
	return ret;
}
