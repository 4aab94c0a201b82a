// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target for one image format parser (FUZZ_FORMAT, or NULL to
 * probe): the input becomes a file (memfd), blk_open() parses it, and if
 * it opens, a few reads, a write, a discard and a reread run against it,
 * scalar and vectored (blk_preadv/blk_pwritev, odd segment sizes).
 * Backing files are not followed (the input cannot name host files).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "block.h"

#ifndef FUZZ_FORMAT
#define FUZZ_FORMAT NULL
#endif
#define FUZZ_IO 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_io(struct blk_image *img)
{
	static uint8_t buf[FUZZ_IO];
	uint64_t vsize = blk_size(img);
	uint64_t offs[] = { 0, vsize / 2, vsize > FUZZ_IO ? vsize - FUZZ_IO : 0 };

	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		uint64_t off = offs[i] & ~511ull;
		size_t len = vsize - off < FUZZ_IO ? (size_t)(vsize - off) : FUZZ_IO;

		(void)blk_pread(img, buf, len, off);
	}
	/* The same span as three odd segments: the vectored path. */
	{
		size_t len = vsize < FUZZ_IO ? (size_t)vsize & ~511u : FUZZ_IO;
		struct iovec v[3] = { { buf, len / 3 }, { buf + len / 3, 7 },
				      { buf + len / 3 + 7, len - len / 3 - 7 } };

		if (len >= 512)
			(void)blk_preadv(img, v, 3, (vsize - len) / 2 & ~511ull);
		if (len >= 512 && !(blk_caps(img) & BLK_CAP_READONLY))
			(void)blk_pwritev(img, v, 3, vsize > len ? (vsize - len) / 2 & ~511ull : 0);
	}
	if (blk_caps(img) & BLK_CAP_READONLY)
		return;
	/* A partial-cluster write, a discard, and the reads again. */
	memset(buf, 0xa5, sizeof(buf));
	(void)blk_pwrite(img, buf, vsize < 1000 ? (size_t)vsize : 1000,
			 vsize > 3000 ? 1500 : 0);
	(void)blk_discard(img, 0, vsize < (1 << 20) ? vsize : (1 << 20));
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		uint64_t off = offs[i] & ~511ull;
		size_t len = vsize - off < FUZZ_IO ? (size_t)(vsize - off) : FUZZ_IO;

		(void)blk_pread(img, buf, len, off);
	}
	(void)blk_flush(img);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct blk_image *img;
	char path[64], err[BLK_ERR_MAX];
	int fd = memfd_create("fuzz-image", MFD_CLOEXEC);

	if (fd < 0)
		abort();
	if (write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	/* Read-only first, then writable: both parse every header field. */
	if (blk_open(path, FUZZ_FORMAT, BLK_RDONLY | BLK_NO_BACKING, &img, err,
		     sizeof(err)) == 0) {
		fuzz_io(img);
		blk_close(img);
	}
	if (blk_open(path, FUZZ_FORMAT, BLK_NO_BACKING, &img, err,
		     sizeof(err)) == 0) {
		fuzz_io(img);
		blk_close(img);
	}
	close(fd);
	return 0;
}
