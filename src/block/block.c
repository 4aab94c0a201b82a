// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The generic layer: the format table, probing, backing chains, bounds
 * checks, locking and error lines.  Formats live in raw.c, qcow2.c, vdi.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "aio.h"
#include "block_int.h"

/* Probe order matters: raw accepts everything, so it comes last. */
static const struct blk_format *const blk_formats[] = {
	&blk_format_qcow2,
	&blk_format_vdi,
	&blk_format_vmdk,
	&blk_format_raw,
};
#define BLK_NFORMATS (sizeof(blk_formats) / sizeof(blk_formats[0]))
#define BLK_PROBE_LEN 512

static const char *const blk_names[] = { "raw", "qcow2", "vdi", "vmdk", NULL };

const char *const *blk_format_names(void)
{
	return blk_names;
}

const struct blk_format *blk_find_format(const char *name)
{
	for (size_t i = 0; i < BLK_NFORMATS; i++)
		if (strcmp(blk_formats[i]->name, name) == 0)
			return blk_formats[i];
	return NULL;
}

static __attribute__((format(printf, 4, 0))) void
blk_vfmt(char *err, size_t errlen, const char *path, const char *fmt,
	 va_list ap)
{
	int n;

	if (!err || !errlen)
		return;
	n = snprintf(err, errlen, "%s: ", path ? path : "(image)");
	if (n < 0 || (size_t)n >= errlen)
		return;
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
}

int blk_fmterr(char *err, size_t errlen, const char *path, int errnum,
	       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	blk_vfmt(err, errlen, path, fmt, ap);
	va_end(ap);
	return -errnum;
}

int blk_seterr(struct blk_image *img, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	blk_vfmt(img->errmsg, sizeof(img->errmsg), img->path, fmt, ap);
	va_end(ap);
	return -errnum;
}

/* ------------------------------------------------------------------ */
/* Locking: requests side by side                                      */
/*
 * Several requests of one image may be in flight at once (the storage
 * devices' I/O thread pools, docs/design.md "Requests in flight and
 * resets").  Data I/O the format maps straight onto its file (raw; qcow2
 * clusters already allocated) runs under the shared side of img->rw:
 * img->lock is held only while map_direct finds the host offsets, then
 * the preadv/pwritev goes to the file with no lock but the shared side,
 * beside any number of others.  Every other call (allocating writes,
 * compressed and backing reads, discard, zeros, a flush that writes
 * metadata back, resize, the formats without map_direct) takes the
 * exclusive side, which waits for the shared ones to finish, and then
 * img->lock.  The shared path's data goes through the I/O engine (aio.h:
 * io_uring, or preadv/pwritev) when the image is open O_DIRECT, through
 * preadv/pwritev otherwise.  So what map_direct handed out
 * cannot move before the I/O
 * on it is done (only the exclusive side frees or reuses clusters), and a
 * flush covers every write completed before it.  The lock prefers
 * writers, so a steady stream of reads cannot starve an allocation.
 */
static void blk_locks_init(struct blk_image *img)
{
	pthread_rwlockattr_t attr;

	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&img->rw, &attr);
	pthread_rwlockattr_destroy(&attr);
	pthread_mutex_init(&img->lock, NULL);
}

static void blk_lock_excl(struct blk_image *img)
{
	pthread_rwlock_wrlock(&img->rw);
	pthread_mutex_lock(&img->lock);
}

static void blk_unlock_excl(struct blk_image *img)
{
	pthread_mutex_unlock(&img->lock);
	pthread_rwlock_unlock(&img->rw);
}

/*
 * Host cache off (BLK_NOCACHE) opens the file O_DIRECT, which refuses
 * buffers, offsets and lengths not aligned to the device's logical block
 * (EINVAL).  Guest data from the devices is page-aligned in practice and
 * goes straight through; what is not (qcow2's 8-byte table entries, a
 * 512-byte sector on a 4 KiB-sector disk) comes back here, through an
 * aligned bounce buffer: read the covering aligned range, patch it, write
 * it back.  Such writes run under the exclusive side of img->rw
 * (blk_rw_direct leaves unaligned ones to it), so nothing else writes
 * the range meanwhile.  Only on that EINVAL is the descriptor
 * asked whether it is O_DIRECT at all.
 */
#define BLK_DIRECT_ALIGN 4096u

static bool blk_fd_is_direct(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl >= 0 && (fl & O_DIRECT);
}

static int blk_direct_rw(int fd, const struct iovec *iov, int iovcnt,
			 uint64_t off, bool write, bool zero_past_end)
{
	uint64_t len = 0, start = off & ~(uint64_t)(BLK_DIRECT_ALIGN - 1), end, fsize = 0;
	size_t span, got = 0, pos;
	uint8_t *bounce;
	int ret = 0;

	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	end = (off + len + BLK_DIRECT_ALIGN - 1) & ~(uint64_t)(BLK_DIRECT_ALIGN - 1);
	span = (size_t)(end - start);
	if (posix_memalign((void **)&bounce, BLK_DIRECT_ALIGN, span ? span : 1))
		return -ENOMEM;
	/* Whole aligned blocks are read back unchanged by a write: skip the read
	 * only when the write covers them all. */
	if (!write || start != off || end != off + len) {
		while (got < span) {
			ssize_t n = pread(fd, bounce + got, span - got, (off_t)(start + got));

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				ret = -errno;
				goto out;
			}
			if (n == 0)
				break;
			got += (size_t)n;
		}
		if (got < span)
			memset(bounce + got, 0, span - got);
		if (!write && start + got < off + len && !zero_past_end) {
			ret = -EIO;
			goto out;
		}
	}
	pos = (size_t)(off - start);
	for (int i = 0; i < iovcnt; i++) {
		if (write)
			memcpy(bounce + pos, iov[i].iov_base, iov[i].iov_len);
		else
			memcpy(iov[i].iov_base, bounce + pos, iov[i].iov_len);
		pos += iov[i].iov_len;
	}
	if (!write)
		goto out;
	ret = blk_file_size(fd, &fsize);
	for (size_t done = 0; ret == 0 && done < span;) {
		ssize_t n = pwrite(fd, bounce + done, span - done, (off_t)(start + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			ret = n < 0 ? -errno : -EIO;
		else
			done += (size_t)n;
	}
	/* The padding must not make the file longer than the write did. */
	if (ret == 0 && end > fsize && end > off + len &&
	    ftruncate(fd, (off_t)(fsize > off + len ? fsize : off + len)) < 0)
		ret = -errno;
out:
	free(bounce);
	return ret;
}

/* pread all of len; at the end of the file: zeros, or -EIO. */
static int blk_file_pread_all(int fd, void *buf, size_t len, uint64_t off,
			      bool zero_past_end)
{
	uint8_t *p = buf;

	if (off > (uint64_t)INT64_MAX - len)
		return -EINVAL;
	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EINVAL && blk_fd_is_direct(fd)) {
			struct iovec v = { p, len };

			return blk_direct_rw(fd, &v, 1, off, false, zero_past_end);
		}
		if (n < 0)
			return -errno;
		if (n == 0) {
			if (!zero_past_end)
				return -EIO;
			memset(p, 0, len);
			return 0;
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int blk_file_pread(int fd, void *buf, size_t len, uint64_t off)
{
	return blk_file_pread_all(fd, buf, len, off, false);
}

int blk_file_pread_zero(int fd, void *buf, size_t len, uint64_t off)
{
	return blk_file_pread_all(fd, buf, len, off, true);
}

int (*blk_file_hook)(int fd, char op, const void *buf, size_t len, uint64_t off);

int blk_file_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	if (off > (uint64_t)INT64_MAX - len)
		return -EFBIG;
	if (blk_file_hook) {
		int ret = blk_file_hook(fd, 'w', buf, len, off);

		if (ret < 0)
			return ret;
	}
	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EINVAL && blk_fd_is_direct(fd)) {
			struct iovec v = { (void *)p, len };

			return blk_direct_rw(fd, &v, 1, off, true, false);
		}
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * The vectored forms: one preadv/pwritev per IOV_MAX segments.  A short
 * transfer finishes the segment it stopped in with the scalar helpers
 * and carries on with the next ones.
 */
static int blk_file_rwv(int fd, const struct iovec *iov, int iovcnt,
			uint64_t off, bool write, bool zero_past_end)
{
	int i = 0;

	while (i < iovcnt) {
		int cnt = iovcnt - i < IOV_MAX ? iovcnt - i : IOV_MAX;
		ssize_t n = write ? pwritev(fd, iov + i, cnt, (off_t)off) :
				    preadv(fd, iov + i, cnt, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EINVAL && blk_fd_is_direct(fd))
			return blk_direct_rw(fd, iov + i, cnt, off, write,
					     zero_past_end);
		if (n < 0)
			return -errno;
		if (n == 0 && write)
			return -EIO;
		if (n == 0) {
			/* End of file: the scalar path zero-fills or fails. */
			int ret = blk_file_pread_all(fd, iov[i].iov_base, iov[i].iov_len,
						     off, zero_past_end);

			if (ret < 0)
				return ret;
			off += iov[i].iov_len;
			i++;
			continue;
		}
		off += (uint64_t)n;
		while (i < iovcnt && (size_t)n >= iov[i].iov_len) {
			n -= (ssize_t)iov[i].iov_len;
			i++;
		}
		if (n) {
			uint8_t *rest = (uint8_t *)iov[i].iov_base + n;
			size_t left = iov[i].iov_len - (size_t)n;
			int ret = write ? blk_file_pwrite(fd, rest, left, off) :
					  blk_file_pread_all(fd, rest, left, off, zero_past_end);

			if (ret < 0)
				return ret;
			off += left;
			i++;
		}
	}
	return 0;
}

int blk_file_preadv_zero(int fd, const struct iovec *iov, int iovcnt, uint64_t off)
{
	return blk_file_rwv(fd, iov, iovcnt, off, false, true);
}

int blk_file_pwritev(int fd, const struct iovec *iov, int iovcnt, uint64_t off)
{
	if (blk_file_hook) {
		size_t len = 0;
		int ret;

		for (int i = 0; i < iovcnt; i++)
			len += iov[i].iov_len;
		ret = blk_file_hook(fd, 'w', NULL, len, off);
		if (ret < 0)
			return ret;
	}
	return blk_file_rwv(fd, iov, iovcnt, off, true, false);
}

int blk_file_pwritev_nohook(int fd, const struct iovec *iov, int iovcnt, uint64_t off)
{
	return blk_file_rwv(fd, iov, iovcnt, off, true, false);
}

int blk_file_sync(int fd)
{
	if (blk_file_hook) {
		int ret = blk_file_hook(fd, 's', NULL, 0, 0);

		if (ret < 0)
			return ret;
	}
	while (fdatasync(fd) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

int blk_sync(struct blk_image *img)
{
	int ret = blk_file_sync(img->fd);

	if (ret < 0)
		return blk_seterr(img, -ret, "fdatasync: %s", strerror(-ret));
	return 0;
}

int blk_file_size(int fd, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode)) {
		uint64_t bytes;

		if (ioctl(fd, BLKGETSIZE64, &bytes) < 0)
			return -errno;
		*size = bytes;
		return 0;
	}
	*size = (uint64_t)st.st_size;
	return 0;
}

bool blk_is_zero(const void *buf, size_t len)
{
	const uint8_t *p = buf;

	/* Compare the buffer with itself shifted by one: all bytes equal. */
	return len == 0 || (p[0] == 0 && memcmp(p, p + 1, len - 1) == 0);
}

static const struct blk_format *blk_probe(int fd)
{
	uint8_t buf[BLK_PROBE_LEN];
	ssize_t n;

	do
		n = pread(fd, buf, sizeof(buf), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		n = 0;
	for (size_t i = 0; i < BLK_NFORMATS; i++)
		if (blk_formats[i]->probe(buf, (size_t)n))
			return blk_formats[i];
	return &blk_format_raw;
}

static int blk_chain_push(struct blk_chain *chain, int fd, const char *path,
			  char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return blk_fmterr(err, errlen, path, errno, "fstat: %s",
				  strerror(errno));
	for (int i = 0; i < chain->depth; i++)
		if (chain->dev[i] == st.st_dev && chain->ino[i] == st.st_ino)
			return blk_fmterr(err, errlen, path, ELOOP,
					  "backing chain loops back to this file");
	if (chain->depth > BLK_MAX_CHAIN_DEPTH)
		return blk_fmterr(err, errlen, path, ELOOP,
				  "backing chain deeper than %d images",
				  BLK_MAX_CHAIN_DEPTH);
	chain->dev[chain->depth] = st.st_dev;
	chain->ino[chain->depth] = st.st_ino;
	chain->depth++;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Image locks, compatible with QEMU's                                  */

/*
 * QEMU block/file-posix.c (raw_apply_lock_bytes, raw_check_lock_bytes):
 * a process that uses permission bit i holds a shared OFD lock on byte
 * 100 + i; one that refuses to let others use it holds byte 200 + i.
 * Before going ahead it tests, with an exclusive F_OFD_GETLK, that nobody
 * else refuses what it uses (200 + i) and nobody uses what it refuses
 * (100 + i).  Bit numbers from include/block/block-common.h (BLK_PERM_*).
 * Bit 4 (GRAPH_MOD, gone since QEMU 6.2) is neither taken nor tested.
 */
#define BLK_LOCK_PERM_BASE 100
#define BLK_LOCK_SHARED_BASE 200
#define BLK_PERM_CONSISTENT_READ (1u << 0)
#define BLK_PERM_WRITE (1u << 1)
#define BLK_PERM_WRITE_UNCHANGED (1u << 2)
#define BLK_PERM_RESIZE (1u << 3)
#define BLK_PERM_BITS 4

static const char *const blk_perm_names[BLK_PERM_BITS] = {
	"consistent read", "write", "write unchanged", "resize",
};

/* 1: another open file description holds a lock on byte off; 0: free. */
static int blk_lock_byte(int fd, int cmd, short type, off_t off)
{
	struct flock fl = {
		.l_type = type, .l_whence = SEEK_SET, .l_start = off, .l_len = 1,
	};

	if (fcntl(fd, cmd, &fl) < 0)
		return (errno == EAGAIN || errno == EACCES) ? 1 : -errno;
	return cmd == F_OFD_GETLK ? fl.l_type != F_UNLCK : 0;
}

/*
 * Take the locks QEMU takes: a writer (a qcow2/raw drive of a running VM,
 * qemu-img commit) uses consistent read, write, write-unchanged and
 * resize, and shares only consistent read and write-unchanged; a reader
 * (a backing file, `qemu-img info` without -U) uses consistent read and
 * refuses to share write and resize.  The locks go with the fd's close.
 */
static int blk_lock(int fd, const char *path, bool writable, char *err,
		    size_t errlen)
{
	unsigned perm = BLK_PERM_CONSISTENT_READ;
	unsigned unshared = BLK_PERM_WRITE | BLK_PERM_RESIZE;
	int ret = 0;

	if (writable)
		perm |= BLK_PERM_WRITE | BLK_PERM_WRITE_UNCHANGED | BLK_PERM_RESIZE;
	for (int i = 0; ret == 0 && i < BLK_PERM_BITS; i++) {
		if (perm & (1u << i))
			ret = blk_lock_byte(fd, F_OFD_SETLK, F_RDLCK,
					    BLK_LOCK_PERM_BASE + i);
		if (ret == 0 && (unshared & (1u << i)))
			ret = blk_lock_byte(fd, F_OFD_SETLK, F_RDLCK,
					    BLK_LOCK_SHARED_BASE + i);
	}
	for (int i = 0; ret == 0 && i < BLK_PERM_BITS; i++) {
		const char *what = "refuses to share";

		if (perm & (1u << i))
			ret = blk_lock_byte(fd, F_OFD_GETLK, F_WRLCK,
					    BLK_LOCK_SHARED_BASE + i);
		if (ret == 0 && (unshared & (1u << i))) {
			what = "holds";
			ret = blk_lock_byte(fd, F_OFD_GETLK, F_WRLCK,
					    BLK_LOCK_PERM_BASE + i);
		}
		if (ret > 0)
			return blk_fmterr(err, errlen, path, EBUSY,
					  "is locked by another process (a running "
					  "VM?): it %s %s access", what,
					  blk_perm_names[i]);
	}
	if (ret > 0) /* a lock byte taken exclusively, which QEMU never does */
		return blk_fmterr(err, errlen, path, EBUSY, "is locked by another "
				  "process (a running VM?)");
	/* A file system without OFD locks (some network ones): go unlocked. */
	if (ret == -ENOLCK || ret == -EOPNOTSUPP || ret == -EINVAL)
		return 0;
	if (ret < 0)
		return blk_fmterr(err, errlen, path, -ret, "cannot lock: %s",
				  strerror(-ret));
	return 0;
}

/* ------------------------------------------------------------------ */
/* Opening files: type checks and the backing path policy               */

static const char *blk_file_type_name(mode_t mode)
{
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISSOCK(mode))
		return "a socket";
	if (S_ISLNK(mode))
		return "a symbolic link";
	return "not a regular file";
}

/* File systems whose "regular files" are kernel interfaces, not data. */
static bool blk_pseudo_fs(int fd)
{
	static const unsigned long magic[] = {
		0x9fa0,     /* PROC_SUPER_MAGIC */
		0x62656572, /* SYSFS_MAGIC */
		0x64626720, /* DEBUGFS_MAGIC */
		0x74726163, /* TRACEFS_MAGIC */
		0x73636673, /* SECURITYFS_MAGIC */
		0x27e0eb,   /* CGROUP_SUPER_MAGIC */
		0x63677270, /* CGROUP2_SUPER_MAGIC */
		0xcafe4a11, /* BPF_FS_MAGIC */
		0xde5e81e4, /* EFIVARFS_MAGIC */
		0x1cd1,     /* DEVPTS_SUPER_MAGIC */
	};
	struct statfs sfs;

	if (fstatfs(fd, &sfs) < 0)
		return false;
	for (size_t i = 0; i < sizeof(magic) / sizeof(magic[0]); i++)
		if ((unsigned long)sfs.f_type == magic[i])
			return true;
	return false;
}

/*
 * Is fd something an image may live in?  -errno and why (no path) if not.
 * fd was opened O_NONBLOCK so that a FIFO could not block the open; once
 * it is known to be a file or a disk, reads and writes may block again.
 */
static int blk_check_file(int fd, bool backing, char *why, size_t whylen)
{
	struct stat st;
	int fl;

	if (fstat(fd, &st) < 0) {
		snprintf(why, whylen, "fstat: %s", strerror(errno));
		return -errno;
	}
	if (backing && !S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "it is %s; backing files must be regular "
			 "files", blk_file_type_name(st.st_mode));
		return -EPERM;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		snprintf(why, whylen, "is %s; disk images must be regular files "
			 "or block devices", blk_file_type_name(st.st_mode));
		return -EINVAL;
	}
	if (backing && blk_pseudo_fs(fd)) {
		snprintf(why, whylen, "it is on a kernel pseudo file system "
			 "(/proc, /sys, ...)");
		return -EPERM;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		snprintf(why, whylen, "fcntl: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/*
 * The backing path policy (docs/block-formats.md, "Backing files"): a
 * name inside an image is data from whoever made the image, so it may
 * only reach the naming image's own folder and what lies below it.
 */
int blk_backing_name_check(const char *name, const char **why)
{
	const char *p = name;

	if (!name[0]) {
		*why = "the name is empty";
		return -EINVAL;
	}
	if (name[0] == '/') {
		*why = "absolute names are not followed (name it relative to "
		       "the image's folder, e.g. 'qemu-img rebase -u -b NAME')";
		return -EPERM;
	}
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);

		if (n == 2 && p[0] == '.' && p[1] == '.') {
			*why = "'..' is not followed (a backing file must be in "
			       "the image's folder or below it)";
			return -EPERM;
		}
		p += n;
		while (*p == '/')
			p++;
	}
	return 0;
}

#ifndef RESOLVE_BENEATH
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_NO_SYMLINKS 0x04
#define RESOLVE_BENEATH 0x08
struct open_how {
	uint64_t flags;
	uint64_t mode;
	uint64_t resolve;
};
#endif

/*
 * Open name below dirfd without following any symlink and without
 * leaving dirfd's tree (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
 * kernels before 5.6 get openat with O_NOFOLLOW on the last component.
 */
static int blk_open_beneath(int dirfd, const char *name, int oflags)
{
	struct open_how how = {
		.flags = (uint64_t)(oflags | O_NOFOLLOW),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
			   RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));

	if (fd < 0 && errno == ENOSYS)
		fd = openat(dirfd, name, oflags | O_NOFOLLOW);
	return (int)fd;
}

/* Open a file of the chain that is already open as fd (taken over). */
static int blk_open_fd(int fd, const char *path, const char *format,
		       unsigned flags, struct blk_chain *chain,
		       struct blk_image **out, char *err, size_t errlen)
{
	const struct blk_format *fmt = NULL;
	struct blk_image *img;
	int ret;

	if (format) {
		fmt = blk_find_format(format);
		if (!fmt) {
			close(fd);
			return blk_fmterr(err, errlen, path, EINVAL,
					  "unknown image format '%s'", format);
		}
	}
	ret = blk_chain_push(chain, fd, path, err, errlen);
	if (ret == 0 && !(flags & BLK_FORCE_SHARE))
		ret = blk_lock(fd, path, !(flags & BLK_RDONLY), err, errlen);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	img = calloc(1, sizeof(*img));
	if (!img || !(img->path = strdup(path))) {
		free(img);
		close(fd);
		return blk_fmterr(err, errlen, path, ENOMEM, "out of memory");
	}
	if (!fmt) {
		fmt = blk_probe(fd);
		img->probed_raw = fmt == &blk_format_raw;
	}
	img->fmt = fmt;
	img->fd = fd;
	img->flags = flags;
	blk_locks_init(img);
	ret = fmt->open(img, chain);
	if (ret < 0) {
		if (err && errlen)
			snprintf(err, errlen, "%s", img->errmsg[0] ? img->errmsg :
				 strerror(-ret));
		img->fmt = NULL; /* open cleaned up after itself */
		blk_close(img);
		return ret;
	}
	img->errmsg[0] = '\0';
	*out = img;
	return 0;
}

int blk_open(const char *path, const char *format, unsigned flags,
	     struct blk_image **out, char *err, size_t errlen)
{
	struct blk_chain chain = { 0 };
	char why[BLK_ERR_MAX];
	int fd, ret;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if ((flags & BLK_FORCE_SHARE) && !(flags & BLK_RDONLY))
		return blk_fmterr(err, errlen, path, EINVAL, "an unlocked "
				  "(force-share) open must be read-only");
	/* O_NONBLOCK: a FIFO opens at once and is then refused by its type. */
	fd = open(path, ((flags & BLK_RDONLY) ? O_RDONLY : O_RDWR) | O_CLOEXEC |
		  O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return blk_fmterr(err, errlen, path, errno, "cannot open: %s",
				  strerror(errno));
	ret = blk_check_file(fd, false, why, sizeof(why));
	if (ret < 0) {
		close(fd);
		return blk_fmterr(err, errlen, path, -ret, "%s", why);
	}
	ret = blk_open_fd(fd, path, format, flags, &chain, out, err, errlen);
	/*
	 * Host cache off: O_DIRECT only now, so that probing and the
	 * format's open read headers the ordinary way.
	 */
	if (ret == 0 && (flags & BLK_NOCACHE)) {
		int fl = fcntl((*out)->fd, F_GETFL);

		if (fl < 0 || fcntl((*out)->fd, F_SETFL, fl | O_DIRECT) < 0) {
			int e = errno;

			blk_close(*out);
			*out = NULL;
			return blk_fmterr(err, errlen, path, e, "host I/O cache off "
					  "needs O_DIRECT, which this file system "
					  "refuses: %s", strerror(e));
		}
	}
	/* A backing file's error names that file; say which image led there. */
	if (ret < 0 && chain.backing_failed && err && errlen) {
		char inner[BLK_ERR_MAX];

		snprintf(inner, sizeof(inner), "%s", err);
		blk_fmterr(err, errlen, path, -ret, "in its backing chain: %s", inner);
	}
	return ret;
}

int blk_open_backing(struct blk_image *child, const char *name,
		     const char *format, struct blk_chain *chain,
		     struct blk_image **out)
{
	char path[PATH_MAX], dir[PATH_MAX];
	char err[BLK_ERR_MAX] = "";
	const char *slash, *why = NULL;
	int ret, dirfd, fd;

	/* Relative to the folder of the image that names it. */
	slash = strrchr(child->path, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == child->path)
		snprintf(dir, sizeof(dir), "/");
	else if (snprintf(dir, sizeof(dir), "%.*s", (int)(slash - child->path),
			  child->path) >= (int)sizeof(dir))
		return blk_seterr(child, ENAMETOOLONG, "path too long");
	ret = blk_backing_name_check(name, &why);
	if (ret < 0)
		return blk_seterr(child, -ret, "backing file '%s' refused: %s",
				  name, why);
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return blk_seterr(child, ENAMETOOLONG, "backing file name '%s' "
				  "too long", name);
	if (format && !blk_find_format(format))
		return blk_seterr(child, ENOTSUP,
				  "backing file format '%s' not supported",
				  format);
	dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return blk_seterr(child, errno, "backing file '%s': cannot open "
				  "folder %s: %s", name, dir, strerror(errno));
	fd = blk_open_beneath(dirfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK |
			      O_NOCTTY);
	if (fd < 0) {
		int e = errno;

		close(dirfd);
		if (e == ELOOP)
			return blk_seterr(child, EPERM, "backing file '%s' refused: "
					  "symbolic links are not followed", name);
		if (e == EXDEV)
			return blk_seterr(child, EPERM, "backing file '%s' refused: "
					  "it leaves the image's folder", name);
		return blk_seterr(child, e, "backing file '%s': cannot open %s: %s",
				  name, path, strerror(e));
	}
	close(dirfd);
	ret = blk_check_file(fd, true, err, sizeof(err));
	if (ret < 0) {
		close(fd);
		return blk_seterr(child, -ret, "backing file '%s' refused: %s",
				  name, err);
	}
	/* The chain shares the top image's locking choice (force-share). */
	ret = blk_open_fd(fd, path, format,
			  BLK_RDONLY | (child->flags & BLK_FORCE_SHARE), chain,
			  out, err, sizeof(err));
	if (ret < 0) {
		/* Pass the innermost message up unchanged: it names its file. */
		snprintf(child->errmsg, sizeof(child->errmsg), "%s", err);
		chain->backing_failed = true;
		return ret;
	}
	return 0;
}

void blk_close(struct blk_image *img)
{
	if (!img)
		return;
	if (img->fmt && img->fmt->close)
		img->fmt->close(img);
	if (img->fd >= 0)
		close(img->fd);
	pthread_mutex_destroy(&img->lock);
	pthread_rwlock_destroy(&img->rw);
	free(img->path);
	free(img);
}

uint64_t blk_size(const struct blk_image *img)
{
	return img->size;
}

const char *blk_format_name(const struct blk_image *img)
{
	return img->fmt->name;
}

const char *blk_path(const struct blk_image *img)
{
	return img->path;
}

const char *blk_last_error(struct blk_image *img)
{
	return img->errmsg;
}

unsigned blk_caps(const struct blk_image *img)
{
	unsigned caps = img->fmt->caps ? img->fmt->caps((struct blk_image *)img) : 0;

	if (img->flags & BLK_RDONLY)
		caps = (caps & ~(BLK_CAP_DISCARD | BLK_CAP_COMPRESSED)) |
		       BLK_CAP_READONLY;
	return caps;
}

uint32_t blk_cluster_size(const struct blk_image *img)
{
	if (img->fmt->cluster_size)
		return img->fmt->cluster_size((struct blk_image *)img);
	return BLK_SECTOR_SIZE;
}

static int blk_check_range(struct blk_image *img, uint64_t len, uint64_t off)
{
	if (off > img->size || len > img->size - off)
		return blk_seterr(img, EINVAL,
				  "request [%llu, +%llu) beyond the image's "
				  "%llu bytes", (unsigned long long)off,
				  (unsigned long long)len,
				  (unsigned long long)img->size);
	return 0;
}

static int blk_check_writable(struct blk_image *img)
{
	if (img->flags & BLK_RDONLY)
		return blk_seterr(img, EROFS, "image is open read-only");
	return 0;
}

/* Under img->lock: may [off, off+len) be changed (by an op the format has)? */
static int blk_check_change(struct blk_image *img, uint64_t len, uint64_t off,
			    bool supported, const char *what)
{
	int ret = blk_check_writable(img);

	if (!ret)
		ret = blk_check_range(img, len, off);
	if (!ret && !supported)
		ret = blk_seterr(img, EOPNOTSUPP, "%s images do not support %s",
				 img->fmt->name, what);
	return ret;
}

int blk_pread(struct blk_image *img, void *buf, size_t len, uint64_t off)
{
	int ret;

	blk_lock_excl(img);
	ret = blk_check_range(img, len, off);
	if (!ret && len)
		ret = img->fmt->pread(img, buf, len, off);
	blk_unlock_excl(img);
	return ret;
}

/*
 * QEMU block/raw-format.c (raw_co_pwritev): a raw image that was probed
 * must not be given a first sector that would probe as another format,
 * or the next open would believe it (a qcow2 header naming a host file as
 * its backing file: CVE-2008-2004).  Build the first sector as the change
 * [off, off+len) leaves it (buf NULL: zeros) in sector, and refuse it if
 * it probes as anything but raw.  Returns 1 if sector 0 is touched (the
 * caller writes its part from sector, the copy that was checked, since a
 * guest may change buf meanwhile), 0 if not, or -errno.
 */
static int blk_guard_sector0(struct blk_image *img, const void *buf,
			     uint64_t len, uint64_t off,
			     uint8_t sector[BLK_PROBE_LEN])
{
	size_t n;
	int ret;

	if (!img->probed_raw || off >= BLK_PROBE_LEN || !len)
		return 0;
	n = len < BLK_PROBE_LEN - off ? (size_t)len : (size_t)(BLK_PROBE_LEN - off);
	if (off > 0 || n < BLK_PROBE_LEN) {
		ret = blk_file_pread_zero(img->fd, sector, BLK_PROBE_LEN, 0);
		if (ret < 0)
			return blk_seterr(img, -ret, "read at 0: %s", strerror(-ret));
	}
	if (buf)
		memcpy(sector + off, buf, n);
	else
		memset(sector + off, 0, n);
	for (size_t i = 0; i < BLK_NFORMATS; i++) {
		const struct blk_format *f = blk_formats[i];

		if (f != &blk_format_raw && f->probe(sector, BLK_PROBE_LEN))
			return blk_seterr(img, EPERM, "write to sector 0 refused: "
					  "it would make this raw image (format "
					  "probed, not named) look like a %s image; "
					  "name the format raw to allow it", f->name);
	}
	return 1;
}

/* blk_pwrite under img->lock, range and writability checked. */
static int blk_pwrite_locked(struct blk_image *img, const void *buf, size_t len,
			     uint64_t off)
{
	uint8_t sector[BLK_PROBE_LEN];
	int ret = blk_guard_sector0(img, buf, len, off, sector);

	if (ret > 0) {
		size_t n = BLK_PROBE_LEN - (size_t)off < len ?
			   BLK_PROBE_LEN - (size_t)off : len;

		ret = img->fmt->pwrite(img, sector + off, n, off);
		if (!ret && len > n)
			ret = img->fmt->pwrite(img, (const uint8_t *)buf + n,
					       len - n, off + n);
	} else if (!ret && len) {
		ret = img->fmt->pwrite(img, buf, len, off);
	}
	return ret;
}

int blk_pwrite(struct blk_image *img, const void *buf, size_t len,
	       uint64_t off)
{
	int ret;

	blk_lock_excl(img);
	ret = blk_check_change(img, len, off, img->fmt->pwrite != NULL, "writes");
	if (!ret)
		ret = blk_pwrite_locked(img, buf, len, off);
	blk_unlock_excl(img);
	return ret;
}

static int blk_iov_len(const struct iovec *iov, int iovcnt, size_t *len)
{
	size_t total = 0;

	if (iovcnt < 0)
		return -EINVAL;
	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > SIZE_MAX - total)
			return -EINVAL;
		total += iov[i].iov_len;
	}
	*len = total;
	return 0;
}

/* Would O_DIRECT take this write as it is (no read-modify-write bounce)? */
static bool blk_direct_aligned(const struct iovec *iov, int iovcnt, uint64_t off)
{
	if (off % BLK_DIRECT_ALIGN)
		return false;
	for (int i = 0; i < iovcnt; i++)
		if ((uintptr_t)iov[i].iov_base % BLK_DIRECT_ALIGN ||
		    iov[i].iov_len % BLK_DIRECT_ALIGN)
			return false;
	return true;
}

/*
 * The shared path (see "Locking" above): 1 with *ret set if the request
 * was served (or failed its checks), 0 if it takes the exclusive path.
 */
static int blk_rw_direct(struct blk_image *img, const struct iovec *iov, int iovcnt,
			 size_t len, uint64_t off, bool write, int *ret)
{
	uint64_t host = 0;
	int r;

	if (!img->fmt->map_direct || !len)
		return 0;
	/* The sector-0 guard of a probed raw image, and O_DIRECT's bounce
	 * for unaligned writes, need the range to themselves. */
	if (write && ((img->probed_raw && off < BLK_PROBE_LEN) ||
		      ((img->flags & BLK_NOCACHE) && !blk_direct_aligned(iov, iovcnt, off))))
		return 0;
	pthread_rwlock_rdlock(&img->rw);
	pthread_mutex_lock(&img->lock);
	r = write ? blk_check_change(img, len, off, img->fmt->pwrite != NULL, "writes") :
		    blk_check_range(img, len, off);
	if (!r)
		r = img->fmt->map_direct(img, off, len, write, &host);
	pthread_mutex_unlock(&img->lock);
	if (r == 0) {
		pthread_rwlock_unlock(&img->rw);
		return 0;
	}
	if (r > 0) {
		/*
		 * io_uring where the I/O goes to the device (O_DIRECT); through
		 * the host's page cache, preadv/pwritev: io_uring punts a
		 * buffered write that would block to a kernel worker thread, a
		 * switch the caller (which waits for it anyway) need not pay
		 * (measured: 3-10x fewer 4 KiB writes a second, docs/testing.md,
		 * issue 14).
		 */
		if (img->flags & BLK_NOCACHE)
			r = write ? blk_aio_pwritev(img->fd, iov, iovcnt, host) :
				    blk_aio_preadv(img->fd, iov, iovcnt, host);
		else
			r = write ? blk_file_pwritev(img->fd, iov, iovcnt, host) :
				    blk_file_preadv_zero(img->fd, iov, iovcnt, host);
		if (r < 0) {
			pthread_mutex_lock(&img->lock);
			blk_seterr(img, -r, "%s at %llu: %s", write ? "write" : "read",
				   (unsigned long long)host, strerror(-r));
			pthread_mutex_unlock(&img->lock);
		}
	}
	pthread_rwlock_unlock(&img->rw);
	*ret = r;
	return 1;
}

int blk_preadv(struct blk_image *img, const struct iovec *iov, int iovcnt,
	       uint64_t off)
{
	size_t len;
	int ret = blk_iov_len(iov, iovcnt, &len);

	if (ret < 0)
		return ret;
	if (blk_rw_direct(img, iov, iovcnt, len, off, false, &ret))
		return ret;
	blk_lock_excl(img);
	ret = blk_check_range(img, len, off);
	if (!ret && len && img->fmt->preadv) {
		ret = img->fmt->preadv(img, iov, iovcnt, len, off);
	} else {
		for (int i = 0; !ret && i < iovcnt; i++) {
			if (iov[i].iov_len)
				ret = img->fmt->pread(img, iov[i].iov_base,
						      iov[i].iov_len, off);
			off += iov[i].iov_len;
		}
	}
	blk_unlock_excl(img);
	return ret;
}

int blk_pwritev(struct blk_image *img, const struct iovec *iov, int iovcnt,
		uint64_t off)
{
	size_t len;
	int ret = blk_iov_len(iov, iovcnt, &len);

	if (ret < 0)
		return ret;
	if (blk_rw_direct(img, iov, iovcnt, len, off, true, &ret))
		return ret;
	blk_lock_excl(img);
	ret = blk_check_change(img, len, off, img->fmt->pwrite != NULL, "writes");
	/* The sector-0 guard checks one buffer: a probed raw image's first
	 * sector goes the scalar way. */
	if (!ret && len && img->fmt->pwritev &&
	    !(img->probed_raw && off < BLK_PROBE_LEN)) {
		ret = img->fmt->pwritev(img, iov, iovcnt, len, off);
	} else {
		for (int i = 0; !ret && i < iovcnt; i++) {
			if (iov[i].iov_len)
				ret = blk_pwrite_locked(img, iov[i].iov_base,
							iov[i].iov_len, off);
			off += iov[i].iov_len;
		}
	}
	blk_unlock_excl(img);
	return ret;
}

int blk_set_cache_size(struct blk_image *img, uint64_t l2_bytes,
		       uint64_t refcount_bytes)
{
	int ret = 0;

	blk_lock_excl(img);
	if (img->fmt->set_cache_size)
		ret = img->fmt->set_cache_size(img, l2_bytes, refcount_bytes);
	blk_unlock_excl(img);
	return ret;
}

int blk_pwrite_compressed(struct blk_image *img, const void *buf,
			  size_t len, uint64_t off)
{
	int ret;

	blk_lock_excl(img);
	ret = blk_check_change(img, len, off,
			       img->fmt->pwrite_compressed != NULL,
			       "compressed data");
	if (!ret && len)
		ret = img->fmt->pwrite_compressed(img, buf, len, off);
	blk_unlock_excl(img);
	return ret;
}

int blk_flush(struct blk_image *img)
{
	int ret = 0;

	if (img->flags & BLK_RDONLY)
		return 0;
	/* A plain fdatasync need not stop the data I/O beside it: it covers
	 * what completed before it was called either way. */
	if (img->fmt->flush_shared) {
		pthread_rwlock_rdlock(&img->rw);
		ret = blk_file_sync(img->fd);
		if (ret < 0) {
			pthread_mutex_lock(&img->lock);
			blk_seterr(img, -ret, "fdatasync: %s", strerror(-ret));
			pthread_mutex_unlock(&img->lock);
		}
		pthread_rwlock_unlock(&img->rw);
		return ret;
	}
	blk_lock_excl(img);
	ret = img->fmt->flush(img);
	blk_unlock_excl(img);
	return ret;
}

int blk_discard(struct blk_image *img, uint64_t off, uint64_t len)
{
	uint8_t sector[BLK_PROBE_LEN];
	int ret;

	blk_lock_excl(img);
	ret = blk_check_change(img, len, off, img->fmt->discard != NULL,
			       "discard");
	/* A discarded range may read as zeros: the same check as for zeros. */
	if (!ret)
		ret = blk_guard_sector0(img, NULL, len, off, sector);
	if (ret > 0)
		ret = 0;
	if (!ret && len)
		ret = img->fmt->discard(img, off, len);
	blk_unlock_excl(img);
	return ret;
}

#define BLK_ZERO_CHUNK 65536

int blk_zero_fill(struct blk_image *img, uint64_t off, uint64_t len)
{
	static const uint8_t zeros[BLK_ZERO_CHUNK];

	while (len) {
		size_t n = len < sizeof(zeros) ? (size_t)len : sizeof(zeros);
		int ret = img->fmt->pwrite(img, zeros, n, off);

		if (ret < 0)
			return ret;
		off += n;
		len -= n;
	}
	return 0;
}

int blk_pwrite_zeroes(struct blk_image *img, uint64_t off, uint64_t len,
		      unsigned flags)
{
	uint8_t sector[BLK_PROBE_LEN];
	int ret;

	blk_lock_excl(img);
	ret = blk_check_change(img, len, off, img->fmt->pwrite != NULL, "writes");
	/* Zeros cannot form a magic number; checked anyway, it is cheap. */
	if (!ret)
		ret = blk_guard_sector0(img, NULL, len, off, sector);
	if (ret > 0)
		ret = 0;
	if (!ret && len)
		ret = img->fmt->write_zeroes ?
		      img->fmt->write_zeroes(img, off, len, flags) :
		      blk_zero_fill(img, off, len);
	blk_unlock_excl(img);
	return ret;
}

int blk_info(struct blk_image *img, struct blk_info *info)
{
	struct stat st;
	int ret;

	memset(info, 0, sizeof(*info));
	blk_lock_excl(img);
	info->format = img->fmt->name;
	info->virtual_size = img->size;
	if (fstat(img->fd, &st) == 0)
		info->allocated_size = (uint64_t)st.st_blocks * 512;
	ret = img->fmt->info ? img->fmt->info(img, info) : 0;
	blk_unlock_excl(img);
	return ret;
}

int blk_resize(struct blk_image *img, uint64_t new_size)
{
	int ret;

	blk_lock_excl(img);
	ret = blk_check_writable(img);
	if (!ret && new_size < img->size)
		ret = blk_seterr(img, ENOTSUP, "shrinking from %llu to %llu bytes "
				 "is not supported", (unsigned long long)img->size,
				 (unsigned long long)new_size);
	else if (!ret && new_size > img->size && !img->fmt->resize)
		ret = blk_seterr(img, ENOTSUP, "%s images cannot be resized",
				 img->fmt->name);
	else if (!ret && new_size > img->size)
		ret = img->fmt->resize(img, new_size);
	blk_unlock_excl(img);
	return ret;
}

int blk_create(const char *path, const struct blk_create_opts *opts,
	       char *err, size_t errlen)
{
	const struct blk_format *fmt;
	int fd, ret;

	if (err && errlen)
		err[0] = '\0';
	fmt = blk_find_format(opts->format ? opts->format : "raw");
	if (!fmt)
		return blk_fmterr(err, errlen, path, EINVAL,
				  "unknown image format '%s'", opts->format);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return blk_fmterr(err, errlen, path, errno,
				  "cannot create: %s", strerror(errno));
	ret = fmt->create(fd, path, opts, err, errlen);
	if (ret == 0)
		ret = blk_file_sync(fd);
	close(fd);
	if (ret < 0) {
		unlink(path);
		if (err && errlen && !err[0])
			blk_fmterr(err, errlen, path, -ret, "create: %s",
				   strerror(-ret));
	}
	return ret;
}

#define BLK_CONVERT_CHUNK (1u << 20)

int blk_convert(struct blk_image *src, const char *dst_path,
		const struct blk_create_opts *opts, unsigned flags,
		blk_progress_fn progress, void *opaque, char *err,
		size_t errlen)
{
	struct blk_create_opts o = *opts;
	struct blk_image *dst = NULL;
	uint64_t size = blk_size(src), off;
	uint32_t chunk, cs;
	uint8_t *buf = NULL;
	bool compress;
	int ret;

	if (!o.size)
		o.size = size;
	if (o.size < size)
		return blk_fmterr(err, errlen, dst_path, EINVAL,
				  "target size %llu is smaller than the source's %llu",
				  (unsigned long long)o.size,
				  (unsigned long long)size);
	ret = blk_create(dst_path, &o, err, errlen);
	if (ret < 0)
		return ret;
	ret = blk_open(dst_path, o.format, 0, &dst, err, errlen);
	if (ret < 0)
		goto fail;
	compress = (flags & BLK_CONVERT_COMPRESS) != 0;
	if (compress && !(blk_caps(dst) & BLK_CAP_COMPRESSED)) {
		ret = blk_fmterr(err, errlen, dst_path, EOPNOTSUPP,
				 "%s images cannot be compressed", o.format);
		goto fail;
	}
	/* A chunk is a whole number of clusters so compression sees whole ones. */
	cs = blk_cluster_size(dst);
	chunk = BLK_CONVERT_CHUNK < cs ? cs : BLK_CONVERT_CHUNK - BLK_CONVERT_CHUNK % cs;
	buf = malloc(chunk);
	if (!buf) {
		ret = blk_fmterr(err, errlen, dst_path, ENOMEM, "out of memory");
		goto fail;
	}
	for (off = 0; off < size; off += chunk) {
		size_t n = size - off < chunk ? (size_t)(size - off) : chunk;

		ret = blk_pread(src, buf, n, off);
		if (ret < 0) {
			snprintf(err, errlen, "%s", blk_last_error(src));
			goto fail;
		}
		for (size_t c = 0; c < n; c += cs) {
			size_t m = n - c < cs ? n - c : cs;

			if (blk_is_zero(buf + c, m))
				continue;
			if (compress)
				ret = blk_pwrite_compressed(dst, buf + c, m, off + c);
			else
				ret = blk_pwrite(dst, buf + c, m, off + c);
			if (ret < 0) {
				snprintf(err, errlen, "%s", blk_last_error(dst));
				goto fail;
			}
		}
		if (progress)
			progress(off + n, size, opaque);
	}
	if (size == 0 && progress)
		progress(0, 0, opaque);
	ret = blk_flush(dst);
	if (ret < 0) {
		snprintf(err, errlen, "%s", blk_last_error(dst));
		goto fail;
	}
	free(buf);
	blk_close(dst);
	return 0;
fail:
	free(buf);
	blk_close(dst);
	unlink(dst_path);
	return ret;
}
