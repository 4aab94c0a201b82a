// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Raw images: the guest's bytes at the same offsets in a file or block
 * device.  Discard punches holes where the filesystem can.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "block_int.h"

static bool raw_probe(const uint8_t *buf, size_t len)
{
	return true; /* the fallback; never chosen before the others */
}

static int raw_open(struct blk_image *img, struct blk_chain *chain)
{
	int ret = blk_file_size(img->fd, &img->size);

	if (ret < 0)
		return blk_seterr(img, -ret, "cannot get size: %s",
				  strerror(-ret));
	return 0;
}

static int raw_pread(struct blk_image *img, void *buf, size_t len,
		     uint64_t off)
{
	/* Another process may shrink the file: read past its end as zeros. */
	int ret = blk_file_pread_zero(img->fd, buf, len, off);

	if (ret < 0)
		return blk_seterr(img, -ret, "read at %llu: %s",
				  (unsigned long long)off, strerror(-ret));
	return 0;
}

static int raw_pwrite(struct blk_image *img, const void *buf, size_t len,
		      uint64_t off)
{
	int ret = blk_file_pwrite(img->fd, buf, len, off);

	if (ret < 0)
		return blk_seterr(img, -ret, "write at %llu: %s",
				  (unsigned long long)off, strerror(-ret));
	return 0;
}

static int raw_preadv(struct blk_image *img, const struct iovec *iov, int iovcnt,
		      size_t len, uint64_t off)
{
	int ret = blk_file_preadv_zero(img->fd, iov, iovcnt, off);

	if (ret < 0)
		return blk_seterr(img, -ret, "read at %llu: %s",
				  (unsigned long long)off, strerror(-ret));
	return 0;
}

static int raw_pwritev(struct blk_image *img, const struct iovec *iov, int iovcnt,
		       size_t len, uint64_t off)
{
	int ret = blk_file_pwritev(img->fd, iov, iovcnt, off);

	if (ret < 0)
		return blk_seterr(img, -ret, "write at %llu: %s",
				  (unsigned long long)off, strerror(-ret));
	return 0;
}

/* The guest's bytes are the file's: everything maps straight through. */
static int raw_map_direct(struct blk_image *img, uint64_t off, size_t len,
			  bool write, uint64_t *host)
{
	*host = off;
	return 1;
}

static int raw_discard(struct blk_image *img, uint64_t off, uint64_t len)
{
	if (fallocate(img->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)off, (off_t)len) < 0) {
		/* Discard is advisory: a filesystem without holes is fine. */
		if (errno == EOPNOTSUPP || errno == ENOSYS)
			return 0;
		return blk_seterr(img, errno, "discard at %llu: %s",
				  (unsigned long long)off, strerror(errno));
	}
	return 0;
}

static int raw_write_zeroes(struct blk_image *img, uint64_t off,
			    uint64_t len, unsigned flags)
{
	int mode = (flags & BLK_ZEROES_MAY_UNMAP) ?
		   FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE :
		   FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;

	if (fallocate(img->fd, mode, (off_t)off, (off_t)len) == 0)
		return 0;
	/* Block devices and some filesystems cannot: write the zeros. */
	return blk_zero_fill(img, off, len);
}

static unsigned raw_caps(struct blk_image *img)
{
	return BLK_CAP_DISCARD;
}

static int raw_create(int fd, const char *path,
		      const struct blk_create_opts *opts, char *err,
		      size_t errlen)
{
	if (opts->backing_file)
		return blk_fmterr(err, errlen, path, EINVAL,
				  "raw images cannot have a backing file");
	if (opts->size > (uint64_t)INT64_MAX)
		return blk_fmterr(err, errlen, path, EFBIG,
				  "size %llu too large",
				  (unsigned long long)opts->size);
	if (ftruncate(fd, (off_t)opts->size) < 0)
		return blk_fmterr(err, errlen, path, errno,
				  "cannot set size: %s", strerror(errno));
	if (opts->variant == BLK_VARIANT_FIXED && opts->size) {
		int ret = posix_fallocate(fd, 0, (off_t)opts->size);

		if (ret && ret != EOPNOTSUPP && ret != EINVAL)
			return blk_fmterr(err, errlen, path, ret,
					  "cannot allocate %llu bytes: %s",
					  (unsigned long long)opts->size,
					  strerror(ret));
	}
	return 0;
}

static int raw_resize(struct blk_image *img, uint64_t new_size)
{
	if (new_size > (uint64_t)INT64_MAX)
		return blk_seterr(img, EFBIG, "size %llu too large",
				  (unsigned long long)new_size);
	if (ftruncate(img->fd, (off_t)new_size) < 0)
		return blk_seterr(img, errno, "cannot grow to %llu bytes: %s",
				  (unsigned long long)new_size, strerror(errno));
	img->size = new_size;
	return blk_sync(img);
}

static int raw_info(struct blk_image *img, struct blk_info *info)
{
	info->variant = BLK_VARIANT_STANDARD;
	return 0;
}

const struct blk_format blk_format_raw = {
	.name = "raw",
	.probe = raw_probe,
	.open = raw_open,
	.pread = raw_pread,
	.pwrite = raw_pwrite,
	.preadv = raw_preadv,
	.pwritev = raw_pwritev,
	.map_direct = raw_map_direct,
	.flush = blk_sync,
	.flush_shared = true,
	.discard = raw_discard,
	.write_zeroes = raw_write_zeroes,
	.caps = raw_caps,
	.info = raw_info,
	.resize = raw_resize,
	.create = raw_create,
};
