/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Disk images behind one API: raw, qcow2 (v2 and v3, read/write), VDI 1.1
 * (dynamic and fixed) and VMDK (monolithicSparse and streamOptimized,
 * read-only, for import).
 *
 * Every function returns 0 (or a count) on success and -errno on failure.
 * Functions that take (err, errlen) fill err with one line naming the file
 * and what was wrong; I/O functions leave that line in blk_last_error().
 *
 * An image may be used from several threads: each call takes the image's
 * lock, so calls on one image are serialised.
 */
#ifndef HUTCH_BLOCK_H
#define HUTCH_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define BLK_SECTOR_SIZE 512u
/* Backing chains deeper than this are refused (and loops always are). */
#define BLK_MAX_CHAIN_DEPTH 16
#define BLK_ERR_MAX 512

/* blk_open() flags */
#define BLK_RDONLY (1u << 0)     /* open read-only */
#define BLK_NO_BACKING (1u << 1) /* do not open the backing file */
/*
 * With BLK_RDONLY only: take no image locks and check none, like
 * `qemu-img info -U` (--force-share).  For looking at a medium a running
 * VM holds (showmediuminfo); what it reads may be mid-update.
 */
#define BLK_FORCE_SHARE (1u << 2)
/*
 * Host I/O cache off (VirtualBox's --hostiocache off): the image file is
 * used O_DIRECT, so guest data bypasses the host's page cache.  Requests
 * the file system cannot take O_DIRECT (unaligned buffers or offsets,
 * small metadata writes) go through an aligned bounce buffer.  A file
 * system without O_DIRECT (tmpfs) makes the open fail.  Backing files
 * are read through the cache as before.
 */
#define BLK_NOCACHE (1u << 3)

/* blk_caps() bits */
#define BLK_CAP_DISCARD (1u << 0)    /* blk_discard() may free space */
#define BLK_CAP_COMPRESSED (1u << 1) /* blk_pwrite_compressed() works */
#define BLK_CAP_READONLY (1u << 2)   /* opened read-only */

struct blk_image;

enum blk_variant {
	BLK_VARIANT_STANDARD = 0, /* sparse: grows as the guest writes */
	BLK_VARIANT_FIXED = 1,    /* every block allocated at creation */
};

struct blk_create_opts {
	const char *format;         /* "raw", "qcow2", "vdi" (not "vmdk") */
	uint64_t size;              /* bytes; 0 = the backing file's size */
	enum blk_variant variant;
	const char *backing_file;   /* qcow2 only; stored as given */
	const char *backing_format; /* NULL = probe the backing file */
	uint32_t cluster_size;      /* qcow2 cluster / VDI block; 0 = default */
	/*
	 * VDI only: the image UUID for the header, as text
	 * ("xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"); NULL = a new random one.
	 * VirtualBox names a VDI by this UUID, so a media registry passes its
	 * own, and a rewrite (compact) passes the old image's.
	 */
	const char *uuid;
};

struct blk_info {
	const char *format;        /* "raw", "qcow2", "vdi", "vmdk" */
	uint64_t virtual_size;     /* bytes the guest sees */
	uint64_t allocated_size;   /* bytes the file occupies on the host */
	uint32_t cluster_size;     /* qcow2 cluster / VDI block; 0 for raw */
	enum blk_variant variant;
	int format_version;        /* qcow2 2 or 3; VDI 0x00010001; raw 0 */
	char backing_file[4096];   /* as stored in the image; "" if none */
	char backing_format[16];   /* "" if not recorded */
	char uuid[37];             /* VDI header's image UUID as text; "" if none */
};

/* Progress callback for blk_convert(): done and total in bytes. */
typedef void (*blk_progress_fn)(uint64_t done, uint64_t total, void *opaque);

/*
 * Open path.  format NULL probes the header (qcow2, VDI, VMDK, else raw);
 * pass the format when it is known (the media registry): a guest can
 * write a qcow2 header into a raw disk, and probing would then believe it.
 * An image opened as raw because probing found nothing refuses writes
 * that would make its first sector probe as another format (-EPERM), as
 * QEMU does; naming the format ("raw") allows them.
 *
 * path must be a regular file or a block device (a FIFO is refused, never
 * waited on).  A qcow2 image's backing chain is opened read-only, up to
 * BLK_MAX_CHAIN_DEPTH deep, refusing loops; backing names follow the path
 * policy of docs/block-formats.md (relative to the naming image's folder,
 * no "..", no absolute names, no symlinks, regular files only).
 *
 * Every file of the chain is locked with QEMU's OFD lock bytes (a writer
 * excludes other writers and readers that want a consistent view; readers
 * share), so a running QEMU, qemu-img or another Hutch process holding
 * the image makes this fail with -EBUSY: "<path>: is locked by another
 * process (a running VM?)".  BLK_FORCE_SHARE skips the locks.
 */
int blk_open(const char *path, const char *format, unsigned flags,
	     struct blk_image **out, char *err, size_t errlen);
void blk_close(struct blk_image *img);

uint64_t blk_size(const struct blk_image *img);
unsigned blk_caps(const struct blk_image *img);
const char *blk_format_name(const struct blk_image *img);
const char *blk_path(const struct blk_image *img);
/* The last error message of an I/O call on img ("" if none). */
const char *blk_last_error(struct blk_image *img);

/* Whole transfers: [off, off+len) must lie inside blk_size(). */
int blk_pread(struct blk_image *img, void *buf, size_t len, uint64_t off);
int blk_pwrite(struct blk_image *img, const void *buf, size_t len,
	       uint64_t off);
/*
 * The same over a scatter list (total length = the segments' sum), as
 * few system calls as the format allows: raw and qcow2 clusters that lie
 * next to each other in the file go in one preadv/pwritev straight from
 * and to the caller's segments.
 */
int blk_preadv(struct blk_image *img, const struct iovec *iov, int iovcnt,
	       uint64_t off);
int blk_pwritev(struct blk_image *img, const struct iovec *iov, int iovcnt,
		uint64_t off);
/*
 * Metadata cache sizes in bytes (qcow2: L2 tables and refcount blocks;
 * others ignore it).  0 = the default: L2 tables covering the whole disk
 * up to 1 MiB of them, and 4 refcount blocks.  Rounded to whole tables
 * (at least 2 each).  Dirty tables are written back first.
 */
int blk_set_cache_size(struct blk_image *img, uint64_t l2_bytes,
		       uint64_t refcount_bytes);
/* Make every completed write durable (fdatasync and metadata). */
int blk_flush(struct blk_image *img);
/*
 * Tell the image the range is no longer needed.  Advisory: parts smaller
 * than a cluster are ignored; afterwards the range reads as zeros or as
 * its old contents.  -EOPNOTSUPP without BLK_CAP_DISCARD.
 */
int blk_discard(struct blk_image *img, uint64_t off, uint64_t len);
/* blk_pwrite_zeroes() flags */
#define BLK_ZEROES_MAY_UNMAP (1u << 0) /* whole clusters may be freed */

/*
 * Make [off, off+len) read as zeros (virtio-blk WRITE_ZEROES).  Unlike
 * blk_discard this is exact; with BLK_ZEROES_MAY_UNMAP whole clusters are
 * freed (or marked zero) where the format can, the rest is written.
 */
int blk_pwrite_zeroes(struct blk_image *img, uint64_t off, uint64_t len,
		      unsigned flags);
/*
 * Write whole clusters compressed (qcow2 only, BLK_CAP_COMPRESSED): off
 * and len are multiples of the cluster size (len may end at the image's
 * end), and the clusters must not be allocated yet.
 */
int blk_pwrite_compressed(struct blk_image *img, const void *buf,
			  size_t len, uint64_t off);
/* Cluster (or block) size for alignment of compressed writes; 512 for raw. */
uint32_t blk_cluster_size(const struct blk_image *img);

int blk_info(struct blk_image *img, struct blk_info *info);

/*
 * Grow the virtual size to new_size (modifymedium --resize); the new
 * part reads as zeros.  Shrinking is refused (-ENOTSUP), as are formats
 * or layouts that cannot grow in place (VMDK; a VDI whose block map has
 * no room left).
 */
int blk_resize(struct blk_image *img, uint64_t new_size);

/* Create a new image; an existing file at path is refused (-EEXIST). */
int blk_create(const char *path, const struct blk_create_opts *opts,
	       char *err, size_t errlen);

/* blk_convert() flags */
#define BLK_CONVERT_COMPRESS (1u << 0) /* qcow2 output: compress clusters */

/*
 * Copy src's guest-visible contents (backing data included) into a new
 * image at dst_path created with opts (opts->size 0 = src's size).  Zero
 * runs are not written, so the copy stays sparse.
 */
int blk_convert(struct blk_image *src, const char *dst_path,
		const struct blk_create_opts *opts, unsigned flags,
		blk_progress_fn progress, void *opaque, char *err,
		size_t errlen);

/* Names of the formats, for help texts: "raw", "qcow2", "vdi", "vmdk", NULL. */
const char *const *blk_format_names(void);

#endif
