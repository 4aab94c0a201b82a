/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Inside src/block: the per-format ops table and helpers the formats share.
 * Nothing outside src/block (and its tests) includes this.
 */
#ifndef HUTCH_BLOCK_INT_H
#define HUTCH_BLOCK_INT_H

#include <pthread.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "block.h"

/* What blk_open passes down a backing chain to detect loops and depth. */
struct blk_chain {
	int depth;
	dev_t dev[BLK_MAX_CHAIN_DEPTH + 1];
	ino_t ino[BLK_MAX_CHAIN_DEPTH + 1];
	bool backing_failed; /* the error came from a backing file */
};

struct blk_image {
	const struct blk_format *fmt;
	int fd;
	char *path;
	unsigned flags;
	/*
	 * Opened as raw because probing found no header: writes must not
	 * give sector 0 one (QEMU's bs->probed, block/raw-format.c).
	 */
	bool probed_raw;
	uint64_t size;          /* virtual size, set by the format's open */
	void *opaque;           /* the format's state */
	/*
	 * Requests side by side (block.c, "Locking"): data I/O on extents
	 * map_direct hands out holds the shared side of rw, many at once;
	 * every other call holds the exclusive side, so it never overlaps
	 * one of them.  lock guards the format's state (caches, tables) and
	 * errmsg; the exclusive side takes it too, the shared side only
	 * around map_direct.  Order: rw, then lock.
	 */
	pthread_rwlock_t rw;
	pthread_mutex_t lock;
	char errmsg[BLK_ERR_MAX];
};

/*
 * One per format.  Callbacks run with img->lock held (and the exclusive
 * side of img->rw, but for map_direct and a flush_shared flush: the
 * shared side); they return 0 or -errno and explain failures with
 * blk_seterr().  len/off arguments are already checked against img->size
 * by the generic layer.
 */
struct blk_format {
	const char *name;
	/* Does this header (first bytes of the file) belong to the format? */
	bool (*probe)(const uint8_t *buf, size_t len);
	int (*open)(struct blk_image *img, struct blk_chain *chain);
	void (*close)(struct blk_image *img);
	int (*pread)(struct blk_image *img, void *buf, size_t len,
		     uint64_t off);
	int (*pwrite)(struct blk_image *img, const void *buf, size_t len,
		      uint64_t off);
	/*
	 * Optional vectored forms (len = the iovecs' total): straight
	 * between the file and the caller's segments where the format can.
	 * Without them the generic layer calls pread/pwrite per segment.
	 */
	int (*preadv)(struct blk_image *img, const struct iovec *iov, int iovcnt,
		      size_t len, uint64_t off);
	int (*pwritev)(struct blk_image *img, const struct iovec *iov, int iovcnt,
		       size_t len, uint64_t off);
	/*
	 * Optional: may [off, off + len) be read (or, @write, overwritten)
	 * straight at one run of offsets of img->fd, *host on, beside other
	 * such requests?  1 (and *host), 0 (no: the exclusive path), or
	 * -errno.  Runs under the shared side of img->rw and img->lock: it
	 * may fill caches but must not write the file, and whatever it maps
	 * must stay where it is until the exclusive side is next taken.
	 */
	int (*map_direct)(struct blk_image *img, uint64_t off, size_t len,
			  bool write, uint64_t *host);
	int (*flush)(struct blk_image *img);
	/* flush is blk_sync, a plain fdatasync: blk_flush runs it under the
	 * shared side, beside data I/O (raw). */
	bool flush_shared;
	int (*discard)(struct blk_image *img, uint64_t off, uint64_t len);
	/* Optional; without it, zeros are written with pwrite. */
	int (*write_zeroes)(struct blk_image *img, uint64_t off, uint64_t len,
			    unsigned flags);
	int (*pwrite_compressed)(struct blk_image *img, const void *buf,
				 size_t len, uint64_t off);
	unsigned (*caps)(struct blk_image *img);
	uint32_t (*cluster_size)(struct blk_image *img);
	int (*info)(struct blk_image *img, struct blk_info *info);
	/* Optional; see blk_set_cache_size (0 = the format's default). */
	int (*set_cache_size)(struct blk_image *img, uint64_t l2_bytes,
			      uint64_t refcount_bytes);
	/* Optional; new_size > img->size; sets img->size. */
	int (*resize)(struct blk_image *img, uint64_t new_size);
	/* fd is a new, empty file opened read-write. */
	int (*create)(int fd, const char *path,
		      const struct blk_create_opts *opts, char *err,
		      size_t errlen);
};

extern const struct blk_format blk_format_raw;
extern const struct blk_format blk_format_qcow2;
extern const struct blk_format blk_format_vdi;
extern const struct blk_format blk_format_vmdk;

const struct blk_format *blk_find_format(const char *name);

/* Record img's error line: "<path>: <message>". Returns -errnum. */
int blk_seterr(struct blk_image *img, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Format "<path>: <message>" into err.  Returns -errnum. */
int blk_fmterr(char *err, size_t errlen, const char *path, int errnum,
	       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/*
 * pread/pwrite all of len, retrying on EINTR.  blk_file_pread returns -EIO
 * if the file ends first; blk_file_pread_zero fills past the end with zeros.
 */
int blk_file_pread(int fd, void *buf, size_t len, uint64_t off);
int blk_file_pread_zero(int fd, void *buf, size_t len, uint64_t off);
int blk_file_pwrite(int fd, const void *buf, size_t len, uint64_t off);
/*
 * Tests only (NULL otherwise): called before every write ('w', buf the
 * bytes or NULL for a scatter list) and every fdatasync ('s') of the
 * file helpers below.  A negative return fails that call with it: from
 * then on the image behaves as if its process had died there, which is
 * how the qcow2 tests stop a write-back between any two steps.
 */
extern int (*blk_file_hook)(int fd, char op, const void *buf, size_t len,
			    uint64_t off);
/* The same over a scatter list (preadv zero-fills past the end). */
int blk_file_preadv_zero(int fd, const struct iovec *iov, int iovcnt, uint64_t off);
int blk_file_pwritev(int fd, const struct iovec *iov, int iovcnt, uint64_t off);
/* The same without calling blk_file_hook (aio.c has called it already). */
int blk_file_pwritev_nohook(int fd, const struct iovec *iov, int iovcnt, uint64_t off);
int blk_file_sync(int fd);
/* fdatasync img's file, recording an error line on failure. */
int blk_sync(struct blk_image *img);
/* Size of a file or block device; -errno on failure. */
int blk_file_size(int fd, uint64_t *size);
/*
 * May an image name this backing file?  0, or -errno and *why (a phrase)
 * under the path policy: relative, no "..".
 */
int blk_backing_name_check(const char *name, const char **why);
/* Open the backing file named by a child image (path relative to it). */
int blk_open_backing(struct blk_image *child, const char *name,
		     const char *format, struct blk_chain *chain,
		     struct blk_image **out);
bool blk_is_zero(const void *buf, size_t len);
/* Write zeros over [off, off+len) through the format's pwrite. */
int blk_zero_fill(struct blk_image *img, uint64_t off, uint64_t len);

/* Endian helpers: qcow2 is big-endian, VDI little-endian. */
static inline uint32_t blk_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t blk_be64(const uint8_t *p)
{
	return (uint64_t)blk_be32(p) << 32 | blk_be32(p + 4);
}
static inline uint16_t blk_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}
static inline void blk_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline void blk_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}
static inline void blk_put_be64(uint8_t *p, uint64_t v)
{
	blk_put_be32(p, (uint32_t)(v >> 32));
	blk_put_be32(p + 4, (uint32_t)v);
}
static inline uint32_t blk_le32(const uint8_t *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[1] << 8 | p[0];
}
static inline uint64_t blk_le64(const uint8_t *p)
{
	return (uint64_t)blk_le32(p + 4) << 32 | blk_le32(p);
}
static inline void blk_put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}
static inline void blk_put_le64(uint8_t *p, uint64_t v)
{
	blk_put_le32(p, (uint32_t)v);
	blk_put_le32(p + 4, (uint32_t)(v >> 32));
}

#endif
