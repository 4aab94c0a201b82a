// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Malformed images are refused with a clear error naming the file, never
 * a crash or a giant allocation: bad magic, unsupported versions and
 * features, out-of-range fields, tables past the end of the file, huge
 * sizes, refcount overflow, backing-chain loops and depth.
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

/* Where blk_create puts things in a 64 KiB-cluster qcow2 image. */
#define Q_CS 65536
#define Q_REFTABLE (1 * Q_CS)
#define Q_REFBLOCK (2 * Q_CS)
#define Q_L1 (3 * Q_CS)
/* qcow2 header fields (docs/interop/qcow2.txt "Header"). */
#define QH_MAGIC 0
#define QH_VERSION 4
#define QH_BACKING_OFFSET 8
#define QH_BACKING_SIZE 16
#define QH_CLUSTER_BITS 20
#define QH_SIZE 24
#define QH_CRYPT 32
#define QH_L1_SIZE 36
#define QH_L1_OFFSET 40
#define QH_RT_OFFSET 48
#define QH_RT_CLUSTERS 56
#define QH_NB_SNAPSHOTS 60
#define QH_INCOMPAT 72
#define QH_REFCOUNT_ORDER 96
#define QH_LENGTH 100
/* VDI header fields. */
#define VH_SIGNATURE 64
#define VH_VERSION 68
#define VH_TYPE 76
#define VH_OFFSET_BMAP 340
#define VH_OFFSET_DATA 344
#define VH_DISK_SIZE 368
#define VH_BLOCK_SIZE 376
#define VH_BLOCKS 384
#define VDI_BMAP 512

static const char *fresh(const char *name, const char *fmt, uint64_t size)
{
	struct blk_create_opts o = { .format = fmt, .size = size };
	char err[ERRLEN];
	const char *path = bt_path(name);

	remove(path);
	assert_int_equal(blk_create(path, &o, err, sizeof(err)), 0);
	return path;
}

/* Open must fail with want, and the message name the file and hint. */
static void expect_refused(const char *path, const char *fmt, unsigned flags,
			   int want, const char *hint)
{
	struct blk_image *img = NULL;
	char err[ERRLEN] = "";
	int ret = blk_open(path, fmt, flags, &img, err, sizeof(err));

	if (ret != want || !strstr(err, hint) || !strstr(err, path))
		print_error("%s: got %d '%s', want %d '%s'\n", path, ret, err,
			    want, hint);
	assert_int_equal(ret, want);
	assert_null(img);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, hint));
}

static void test_qcow2_header_fields(void **state)
{
	static const struct {
		const char *name;
		uint64_t off;
		int width; /* 4 or 8 */
		uint64_t val;
		int err;
		const char *hint;
	} c[] = {
		{ "magic", QH_MAGIC, 4, 0x514649fa, -EINVAL, "bad magic" },
		{ "v1", QH_VERSION, 4, 1, -ENOTSUP, "version 1" },
		{ "v4", QH_VERSION, 4, 4, -ENOTSUP, "version 4" },
		{ "cb8", QH_CLUSTER_BITS, 4, 8, -EINVAL, "cluster_bits 8" },
		{ "cb31", QH_CLUSTER_BITS, 4, 31, -EINVAL, "cluster_bits 31" },
		{ "cbhuge", QH_CLUSTER_BITS, 4, 0xffffffff, -EINVAL, "cluster_bits" },
		{ "huge", QH_SIZE, 8, 1ull << 62, -EFBIG, "too large" },
		{ "maxsize", QH_SIZE, 8, UINT64_MAX, -EFBIG, "too large" },
		{ "l1small", QH_SIZE, 8, 1ull << 40, -EINVAL, "too small" },
		{ "crypt", QH_CRYPT, 4, 1, -ENOTSUP, "encrypted" },
		{ "l1huge", QH_L1_SIZE, 4, 0xffffffff, -EFBIG, "L1 table" },
		{ "l1eof", QH_L1_SIZE, 4, 100000, -EINVAL, "beyond the end" },
		{ "l1off", QH_L1_OFFSET, 8, 1ull << 50, -EINVAL, "beyond the end" },
		{ "l1align", QH_L1_OFFSET, 8, Q_L1 + 8, -EINVAL, "not aligned" },
		{ "rtoff", QH_RT_OFFSET, 8, 0xfff0000, -EINVAL, "beyond the end" },
		{ "rtalign", QH_RT_OFFSET, 8, 777, -EINVAL, "not aligned" },
		{ "rtclusters", QH_RT_CLUSTERS, 4, 0xffffffff, -EFBIG, "refcount table" },
		{ "rtzero", QH_RT_CLUSTERS, 4, 0, -EINVAL, "refcount table" },
		{ "incompat", QH_INCOMPAT, 8, 1ull << 5, -ENOTSUP, "incompatible" },
		{ "datafile", QH_INCOMPAT, 8, 1ull << 2, -ENOTSUP, "external data" },
		{ "extl2", QH_INCOMPAT, 8, 1ull << 4, -ENOTSUP, "extended L2" },
		{ "rcorder", QH_REFCOUNT_ORDER, 4, 7, -EINVAL, "refcount_order 7" },
		{ "rcorderhuge", QH_REFCOUNT_ORDER, 4, 0x80000000, -EINVAL,
		  "refcount_order" },
		{ "hlen", QH_LENGTH, 4, 3, -EINVAL, "header_length" },
		{ "hlenbig", QH_LENGTH, 4, 0x7ffffff8, -EINVAL, "header_length" },
		{ "bname", QH_BACKING_SIZE, 4, 5000, -EINVAL, "backing file name" },
		{ "boff", QH_BACKING_OFFSET, 8, 1ull << 40, -EINVAL, "backing file" },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char name[64];
		const char *path;

		snprintf(name, sizeof(name), "hdr-%s.qcow2", c[i].name);
		path = fresh(name, "qcow2", 1 << 20);
		if (!strcmp(c[i].name, "bname"))
			bt_patch_be64(path, QH_BACKING_OFFSET, 512);
		if (!strcmp(c[i].name, "boff"))
			bt_patch_be32(path, QH_BACKING_SIZE, 10);
		if (c[i].width == 4)
			bt_patch_be32(path, c[i].off, (uint32_t)c[i].val);
		else
			bt_patch_be64(path, c[i].off, c[i].val);
		/* Forced to qcow2 so a bad magic is not just read as raw. */
		expect_refused(path, "qcow2", BLK_RDONLY, c[i].err, c[i].hint);
	}
}

static void test_qcow2_state_bits(void **state)
{
	const char *path = fresh("dirty.qcow2", "qcow2", 1 << 20);
	struct blk_image *img;
	char err[ERRLEN];

	/* Dirty or corrupt: readable, not writable. */
	bt_patch_be64(path, QH_INCOMPAT, 1);
	expect_refused(path, NULL, 0, -EROFS, "dirty");
	assert_int_equal(blk_open(path, NULL, BLK_RDONLY, &img, err, sizeof(err)), 0);
	blk_close(img);
	bt_patch_be64(path, QH_INCOMPAT, 2);
	expect_refused(path, NULL, 0, -EROFS, "corrupt");
	bt_patch_be64(path, QH_INCOMPAT, 0);
	bt_patch_be32(path, QH_NB_SNAPSHOTS, 1);
	expect_refused(path, NULL, 0, -ENOTSUP, "snapshots");
}

static void test_qcow2_l2_past_eof(void **state)
{
	const char *path = fresh("l2eof.qcow2", "qcow2", 1 << 20);

	/* L1 entry 0 -> an L2 table at 1 TiB (file is 256 KiB). */
	bt_patch_be64(path, Q_L1, (1ull << 40) | (1ull << 63));
	expect_refused(path, NULL, BLK_RDONLY, -EINVAL, "L2 table");
	/* Misaligned L2 table. */
	bt_patch_be64(path, Q_L1, (uint64_t)Q_CS + 512);
	expect_refused(path, NULL, BLK_RDONLY, -EINVAL, "L2 table");
	/* Reserved bits in an L1 entry. */
	bt_patch_be64(path, Q_L1, 1);
	expect_refused(path, NULL, BLK_RDONLY, -EINVAL, "reserved");
	/* Refcount block past EOF. */
	bt_patch_be64(path, Q_L1, 0);
	bt_patch_be64(path, Q_REFTABLE, 1ull << 40);
	expect_refused(path, NULL, BLK_RDONLY, -EINVAL, "refcount table entry");
}

/* Bad L2 entries are found when the cluster is read: -EIO, no crash. */
static void test_qcow2_bad_l2_entries(void **state)
{
	static const uint64_t entries[] = {
		(1ull << 63) | (1ull << 40),           /* data past EOF */
		(1ull << 63) | (3 * Q_CS + 512),       /* misaligned */
		(1ull << 63) | 2,                      /* reserved bit */
		(1ull << 62) | (1ull << 61) | 4096,    /* compressed garbage */
		(1ull << 62) | (1ull << 40),           /* compressed past EOF */
		(1ull << 63) | (1ull << 62) | 4096,    /* compressed + copied */
	};
	uint8_t buf[4096], fill[Q_CS];

	for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
		const char *path = fresh("badl2.qcow2", "qcow2", 4 << 20);
		struct blk_image *img;
		char err[ERRLEN];
		uint8_t raw[8];
		int ret;

		/* A data cluster (4), then its L2 table (5). */
		assert_int_equal(blk_open(path, NULL, 0, &img, err, sizeof(err)), 0);
		memset(fill, 0x5a, sizeof(fill));
		assert_int_equal(blk_pwrite(img, fill, sizeof(fill), 0), 0);
		blk_close(img);
		for (int b = 0; b < 8; b++)
			raw[b] = (uint8_t)(entries[i] >> (56 - 8 * b));
		bt_patch(path, 5 * Q_CS, raw, 8);
		assert_int_equal(blk_open(path, NULL, 0, &img, err, sizeof(err)), 0);
		ret = blk_pread(img, buf, sizeof(buf), 0);
		if (ret != -EIO)
			print_error("entry %zu: read gave %d\n", i, ret);
		assert_int_equal(ret, -EIO);
		assert_non_null(strstr(blk_last_error(img), "badl2.qcow2"));
		/* Writes to the cluster fail the same way. */
		assert_int_equal(blk_pwrite(img, buf, 100, 10), -EIO);
		/* The rest of the disk still works. */
		assert_int_equal(blk_pread(img, buf, sizeof(buf), Q_CS), 0);
		blk_close(img);
	}
}

/*
 * Refcount overflow and underflow: the refcount block claims the next
 * free cluster already has the largest 16-bit count, or an allocated
 * cluster has none.  The write or discard fails with a message; the
 * process and the rest of the image carry on.
 */
static void test_qcow2_refcount_overflow(void **state)
{
	const char *path = fresh("rcover.qcow2", "qcow2", 1 << 20);
	struct blk_image *img;
	char err[ERRLEN];
	uint8_t buf[512] = { 1 }, max[2] = { 0xff, 0xff }, zero[2] = { 0 };

	/* Cluster 4 is the first one a write allocates. */
	bt_patch(path, Q_REFBLOCK + 4 * 2, max, 2);
	assert_int_equal(blk_open(path, NULL, 0, &img, err, sizeof(err)), 0);
	assert_int_equal(blk_pwrite(img, buf, sizeof(buf), 0), -ERANGE);
	assert_non_null(strstr(blk_last_error(img), "overflow"));
	assert_non_null(strstr(blk_last_error(img), "rcover.qcow2"));
	assert_int_equal(blk_pread(img, buf, sizeof(buf), 0), 0);
	blk_close(img);

	path = fresh("rcunder.qcow2", "qcow2", 1 << 20);
	assert_int_equal(blk_open(path, NULL, 0, &img, err, sizeof(err)), 0);
	assert_int_equal(blk_pwrite(img, buf, sizeof(buf), 0), 0);
	blk_close(img);
	/* Data went to cluster 4: claim it has no references. */
	bt_patch(path, Q_REFBLOCK + 4 * 2, zero, 2);
	assert_int_equal(blk_open(path, NULL, 0, &img, err, sizeof(err)), 0);
	assert_int_equal(blk_discard(img, 0, Q_CS), -EIO);
	assert_non_null(strstr(blk_last_error(img), "below 0"));
	blk_close(img);
}

static void test_backing_loops(void **state)
{
	struct blk_create_opts o = { .format = "qcow2", .size = 1 << 20 };
	char err[ERRLEN], name[64], prev[64];

	/* a -> b -> a */
	remove(bt_path("loop-a.qcow2"));
	remove(bt_path("loop-b.qcow2"));
	assert_int_equal(blk_create(bt_path("loop-a.qcow2"), &o, err, sizeof(err)), 0);
	o.backing_file = "loop-a.qcow2";
	assert_int_equal(blk_create(bt_path("loop-b.qcow2"), &o, err, sizeof(err)), 0);
	/* Rewrite a's header to name b as its backing file. */
	bt_patch(bt_path("loop-a.qcow2"), 512, "loop-b.qcow2", 12);
	bt_patch_be64(bt_path("loop-a.qcow2"), QH_BACKING_OFFSET, 512);
	bt_patch_be32(bt_path("loop-a.qcow2"), QH_BACKING_SIZE, 12);
	expect_refused(bt_path("loop-a.qcow2"), NULL, BLK_RDONLY, -ELOOP, "loops");
	expect_refused(bt_path("loop-b.qcow2"), NULL, BLK_RDONLY, -ELOOP, "loops");
	/* a -> a */
	bt_patch(bt_path("loop-a.qcow2"), 512, "loop-a.qcow2", 12);
	expect_refused(bt_path("loop-a.qcow2"), NULL, 0, -ELOOP, "loops");
	/* Missing backing file. */
	bt_patch(bt_path("loop-a.qcow2"), 512, "nowhere.raw!", 12);
	expect_refused(bt_path("loop-a.qcow2"), NULL, 0, -ENOENT, "nowhere.raw!");
	/* BLK_NO_BACKING opens it anyway. */
	{
		struct blk_image *img;

		assert_int_equal(blk_open(bt_path("loop-a.qcow2"), NULL,
					  BLK_NO_BACKING, &img, err, sizeof(err)), 0);
		blk_close(img);
	}
	/* A chain deeper than BLK_MAX_CHAIN_DEPTH. */
	o.backing_file = NULL;
	snprintf(prev, sizeof(prev), "deep0.qcow2");
	remove(bt_path(prev));
	assert_int_equal(blk_create(bt_path(prev), &o, err, sizeof(err)), 0);
	for (int i = 1; i <= BLK_MAX_CHAIN_DEPTH + 2; i++) {
		snprintf(name, sizeof(name), "deep%d.qcow2", i);
		remove(bt_path(name));
		o.backing_file = prev;
		assert_int_equal(blk_create(bt_path(name), &o, err, sizeof(err)), 0);
		snprintf(prev, sizeof(prev), "%s", name);
	}
	expect_refused(bt_path(prev), NULL, BLK_RDONLY, -ELOOP, "deeper than");
	{
		struct blk_image *img;

		snprintf(name, sizeof(name), "deep%d.qcow2", BLK_MAX_CHAIN_DEPTH);
		if (blk_open(bt_path(name), NULL, BLK_RDONLY, &img, err,
			     sizeof(err)))
			print_error("%s\n", err);
		assert_non_null(img);
		blk_close(img);
	}
}

static void test_truncated_files(void **state)
{
	const char *path = bt_path("short.qcow2");
	uint8_t hdr[20] = { 'Q', 'F', 'I', 0xfb, 0, 0, 0, 3 };

	bt_write_file(path, hdr, sizeof(hdr));
	expect_refused(path, NULL, BLK_RDONLY, -EINVAL, "too short");
	bt_write_file(path, hdr, 0);
	expect_refused(path, "qcow2", BLK_RDONLY, -EINVAL, "too short");
	expect_refused(bt_path("no-such-file"), NULL, BLK_RDONLY, -ENOENT,
		       "cannot open");
	expect_refused(path, "vmdk7", BLK_RDONLY, -EINVAL, "unknown image format");
	/* A whole qcow2 header, then nothing: tables past EOF. */
	{
		const char *p2 = fresh("cut.qcow2", "qcow2", 1 << 20);

		assert_int_equal(truncate(p2, 4096), 0);
		expect_refused(p2, NULL, BLK_RDONLY, -EINVAL, "beyond the end");
	}
}

static void test_vdi_header_fields(void **state)
{
	static const struct {
		const char *name;
		uint64_t off;
		uint32_t val;
		int err;
		const char *hint;
	} c[] = {
		{ "sig", VH_SIGNATURE, 0xbeda1070, -EINVAL, "bad signature" },
		{ "v10", VH_VERSION, 0x00010000, -ENOTSUP, "version 1.0" },
		{ "v20", VH_VERSION, 0x00020001, -ENOTSUP, "version 2.1" },
		{ "undo", VH_TYPE, 3, -ENOTSUP, "undo" },
		{ "diff", VH_TYPE, 4, -ENOTSUP, "differencing" },
		{ "type9", VH_TYPE, 9, -EINVAL, "image type 9" },
		{ "bs3", VH_BLOCK_SIZE, 3, -EINVAL, "block size 3" },
		{ "bs0", VH_BLOCK_SIZE, 0, -EINVAL, "block size 0" },
		{ "bshuge", VH_BLOCK_SIZE, 1u << 31, -EINVAL, "block size" },
		{ "blocks", VH_BLOCKS, 0x7fffffff, -EFBIG, "blocks too many" },
		{ "blockseof", VH_BLOCKS, 1 << 20, -EINVAL, "block map" },
		{ "bmapoff", VH_OFFSET_BMAP, 0xfffffe00, -EINVAL, "block map" },
		{ "bmapalign", VH_OFFSET_BMAP, 513, -EINVAL, "not sector aligned" },
		{ "bmaphdr", VH_OFFSET_BMAP, 0, -EINVAL, "overlaps" },
		{ "disksize", VH_DISK_SIZE, 0xffffffff, -EINVAL, "disk size" },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char name[64];
		const char *path;

		snprintf(name, sizeof(name), "hdr-%s.vdi", c[i].name);
		path = fresh(name, "vdi", 3 << 20);
		bt_patch_le32(path, c[i].off, c[i].val);
		expect_refused(path, "vdi", BLK_RDONLY, c[i].err, c[i].hint);
	}
	/* Huge disk size (64-bit field's high half). */
	{
		const char *path = fresh("hdr-huge.vdi", "vdi", 3 << 20);

		bt_patch_le32(path, VH_DISK_SIZE + 4, 0x40000000);
		expect_refused(path, NULL, BLK_RDONLY, -EINVAL, "disk size");
	}
	/* A block map entry pointing past the blocks in the image. */
	{
		const char *path = fresh("bmap.vdi", "vdi", 3 << 20);

		bt_patch_le32(path, VDI_BMAP + 4, 3);
		expect_refused(path, NULL, BLK_RDONLY, -EINVAL, "block map entry 1");
		bt_patch_le32(path, VDI_BMAP + 4, 0xfffffffd);
		expect_refused(path, NULL, BLK_RDONLY, -EINVAL, "block map entry 1");
		/* Two entries sharing one data block. */
		bt_patch_le32(path, VDI_BMAP + 0, 1);
		bt_patch_le32(path, VDI_BMAP + 4, 1);
		expect_refused(path, NULL, BLK_RDONLY, -EINVAL, "another entry");
	}
}

/* A minimal monolithicSparse VMDK: header, GD at sector 1, one GT at 2. */
#define VM_FLAGS 8
#define VM_CAPACITY 12
#define VM_GRAIN 20
#define VM_NUM_GTES 44
#define VM_GD_OFFSET 56
#define VM_ALGO 77

static void vmdk_put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static const char *vmdk_file(const char *name, uint64_t off, int width,
			     uint64_t val)
{
	uint8_t f[6 * 512] = { 'K', 'D', 'M', 'V', 1 };
	const char *path = bt_path(name);

	f[VM_FLAGS] = 3;
	vmdk_put64(f + VM_CAPACITY, 2048);
	vmdk_put64(f + VM_GRAIN, 128);
	f[VM_NUM_GTES + 1] = 2; /* 512 */
	vmdk_put64(f + VM_GD_OFFSET, 1);
	f[512] = 2;             /* GD[0] = sector 2 */
	if (width == 8)
		vmdk_put64(f + off, val);
	else if (width == 4)
		for (int i = 0; i < 4; i++)
			f[off + (uint64_t)i] = (uint8_t)(val >> (8 * i));
	bt_write_file(path, f, sizeof(f));
	return path;
}

static void test_vmdk_header_fields(void **state)
{
	static const struct {
		const char *name;
		uint64_t off;
		int width;
		uint64_t val;
		int err;
		const char *hint;
	} c[] = {
		{ "magic", 0, 4, 0x564d444c, -EINVAL, "bad magic" },
		{ "v4", 4, 4, 4, -ENOTSUP, "version 4" },
		{ "grain3", VM_GRAIN, 8, 3, -EINVAL, "grain size 3" },
		{ "grain0", VM_GRAIN, 8, 0, -EINVAL, "grain size 0" },
		{ "grainhuge", VM_GRAIN, 8, 1ull << 40, -EINVAL, "grain size" },
		{ "gtes0", VM_NUM_GTES, 4, 0, -EINVAL, "numGTEsPerGT 0" },
		{ "gteshuge", VM_NUM_GTES, 4, 0xffffffff, -EINVAL, "numGTEsPerGT" },
		{ "huge", VM_CAPACITY, 8, 1ull << 60, -EFBIG, "capacity" },
		{ "gdeof", VM_GD_OFFSET, 8, 1ull << 50, -EINVAL, "grain directory" },
		{ "gdzero", VM_GD_OFFSET, 8, 0, -EINVAL, "grain directory" },
		{ "gdbig", VM_CAPACITY, 8, 1ull << 36, -EINVAL, "grain directory" },
		{ "gteof", 512, 4, 1000, -EINVAL, "grain table 0" },
		{ "algo", VM_FLAGS, 4, 0x10003, -ENOTSUP, "compression algorithm 0" },
	};
	struct blk_image *img;
	char err[ERRLEN];
	uint8_t buf[4096];

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char name[64];

		snprintf(name, sizeof(name), "hdr-%s.vmdk", c[i].name);
		expect_refused(vmdk_file(name, c[i].off, c[i].width, c[i].val),
			       "vmdk", BLK_RDONLY, c[i].err, c[i].hint);
	}
	/* The well-formed one opens (read-only only) and reads zeros. */
	assert_int_equal(blk_open(vmdk_file("ok.vmdk", 0, 0, 0), NULL, BLK_RDONLY,
				  &img, err, sizeof(err)), 0);
	assert_int_equal(blk_size(img), 2048 * 512);
	assert_int_equal(blk_pread(img, buf, sizeof(buf), 0), 0);
	blk_close(img);
	expect_refused(bt_path("ok.vmdk"), NULL, 0, -EROFS, "read-only");
	/* Grains past the end of the file, or undecodable: -EIO on read. */
	{
		const char *path = vmdk_file("badgrain.vmdk", 1024, 4, 100000);

		assert_int_equal(blk_open(path, NULL, BLK_RDONLY, &img, err,
					  sizeof(err)), 0);
		assert_int_equal(blk_pread(img, buf, sizeof(buf), 0), -EIO);
		blk_close(img);
		path = vmdk_file("badcgrain.vmdk", VM_FLAGS, 4, 0x10003);
		bt_patch(path, VM_ALGO, "\1", 1);
		bt_patch_le32(path, 1024, 3); /* grain marker at sector 3 */
		bt_patch_le32(path, 3 * 512 + 8, 100); /* 100 bytes of garbage */
		assert_int_equal(blk_open(path, NULL, BLK_RDONLY, &img, err,
					  sizeof(err)), 0);
		assert_int_equal(blk_pread(img, buf, sizeof(buf), 0), -EIO);
		blk_close(img);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qcow2_header_fields),
		cmocka_unit_test(test_qcow2_state_bits),
		cmocka_unit_test(test_qcow2_l2_past_eof),
		cmocka_unit_test(test_qcow2_bad_l2_entries),
		cmocka_unit_test(test_qcow2_refcount_overflow),
		cmocka_unit_test(test_backing_loops),
		cmocka_unit_test(test_truncated_files),
		cmocka_unit_test(test_vdi_header_fields),
		cmocka_unit_test(test_vmdk_header_fields),
	};
	int ret = cmocka_run_group_tests(tests, NULL, NULL);

	bt_cleanup();
	return ret;
}
