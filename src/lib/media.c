// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Disk images for the media registry: probing an image's format and size,
 * and creating new ones (raw here; VDI and qcow2 through src/block).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hutch/registry.h"
#include "internal.h"

#ifdef HUTCH_HAVE_BLOCK
#include "block.h"
#endif

/* qcow2: "QFI\xfb", then version; the virtual size is big-endian at offset 24. */
#define QCOW2_MAGIC 0x514649fbu
#define QCOW2_SIZE_OFFSET 24
/* VDI 1.1: signature at 0x40, little-endian; the disk size (u64) at 0x170. */
#define VDI_SIGNATURE 0xbeda107fu
#define VDI_SIGNATURE_OFFSET 0x40
#define VDI_SIZE_OFFSET 0x170
#define PROBE_LEN 0x180

static uint64_t be64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static uint64_t le64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

int hutch_medium_probe(const char *path, char **format, uint64_t *size, struct hutch_error *e)
{
	unsigned char h[PROBE_LEN] = { 0 };
	struct stat st;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return hutch_seterr(e, -errno, "could not open the medium '%s': %s", path, strerror(errno));
	if (fstat(fd, &st) || (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))) {
		close(fd);
		return hutch_seterr(e, -EINVAL, "medium '%s' is not a regular file", path);
	}
	n = pread(fd, h, sizeof(h), 0);
	close(fd);
	if (n < 0)
		return hutch_seterr(e, -errno, "could not read the medium '%s': %s", path, strerror(errno));
	if (n >= 32 && (be64(h) >> 32) == QCOW2_MAGIC) {
		*format = hutch_xstrdup("qcow2");
		*size = be64(h + QCOW2_SIZE_OFFSET);
	} else if (n >= PROBE_LEN &&
		   (uint32_t)le64(h + VDI_SIGNATURE_OFFSET) == VDI_SIGNATURE) {
		*format = hutch_xstrdup("VDI");
		*size = le64(h + VDI_SIZE_OFFSET);
	} else {
		*format = hutch_xstrdup("RAW");
		*size = (uint64_t)st.st_size;
	}
	return 0;
}

static int create_raw(const char *path, uint64_t size, bool fixed, hutch_progress_fn progress,
		      void *opaque, struct hutch_error *e)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	int rc = 0;

	if (fd < 0)
		return hutch_seterr(e, -errno, "could not create the medium storage unit '%s': %s", path,
				    strerror(errno));
	if (ftruncate(fd, (off_t)size))
		rc = -errno;
	/* A fixed raw image really owns its blocks, as VirtualBox's fixed variant does. */
	if (!rc && fixed) {
		uint64_t step = size / 10 ? size / 10 : size, off;

		for (off = 0; off < size && !rc; off += step) {
			uint64_t len = size - off < step ? size - off : step;

			rc = posix_fallocate(fd, (off_t)off, (off_t)len);
			rc = -rc;
			if (progress)
				progress((unsigned)((off + len) * 100 / size), opaque);
		}
	}
	if (!rc && fsync(fd))
		rc = -errno;
	close(fd);
	if (rc) {
		unlink(path);
		return hutch_seterr(e, rc, "could not create the medium storage unit '%s': %s", path,
				    strerror(-rc));
	}
	return 0;
}

int hutch_medium_create(struct hutch_registry *r, const char *path, uint64_t size, const char *format,
			bool fixed, hutch_progress_fn progress, void *opaque, struct hutch_medium **out,
			struct hutch_error *e)
{
	char *abs = hutch_abspath(path);
	struct hutch_medium *md;
	const char *canon;
	int rc;

	if (hutch_registry_find_medium(r, abs, -1)) {
		rc = hutch_seterr(e, -EEXIST, "a medium '%s' is already registered", abs);
		goto out;
	}
	if (!access(abs, F_OK)) {
		rc = hutch_seterr(e, -EEXIST, "could not create the medium storage unit '%s': the file exists",
				  abs);
		goto out;
	}
	if (!strcasecmp(format, "RAW")) {
		canon = "RAW";
		rc = create_raw(abs, size, fixed, progress, opaque, e);
	} else if (!strcasecmp(format, "VDI") || !strcasecmp(format, "qcow2")) {
		canon = !strcasecmp(format, "VDI") ? "VDI" : "qcow2";
#ifdef HUTCH_HAVE_BLOCK
		struct blk_create_opts o = {
			.format = !strcasecmp(format, "VDI") ? "vdi" : "qcow2",
			.size = size,
			.variant = fixed ? BLK_VARIANT_FIXED : BLK_VARIANT_STANDARD,
		};
		char err[BLK_ERR_MAX] = "";

		rc = blk_create(abs, &o, err, sizeof(err));
		if (rc)
			hutch_seterr(e, rc, "could not create the medium storage unit '%s': %s", abs,
				     err[0] ? err : strerror(-rc));
#else
		rc = hutch_seterr(e, -ENOTSUP,
				  "format '%s' is not supported in this build (no block layer): use --format RAW",
				  format);
#endif
	} else if (!strcasecmp(format, "VMDK") || !strcasecmp(format, "VHD") ||
		   !strcasecmp(format, "Parallels") || !strcasecmp(format, "QED") ||
		   !strcasecmp(format, "iSCSI")) {
		rc = hutch_seterr(e, -ENOTSUP,
				  "format '%s' is not yet supported: use VDI, qcow2 or RAW", format);
	} else {
		rc = hutch_seterr(e, -EINVAL, "invalid format '%s': expected VDI, qcow2 or RAW", format);
	}
	if (rc)
		goto out;
	if (progress)
		progress(100, opaque);
	md = HUTCH_APPEND(r->media, r->nmedia);
	hutch_uuid_generate(md->uuid);
	md->kind = HUTCH_MEDIUM_HDD;
	md->location = abs;
	abs = NULL;
	md->format = hutch_xstrdup(canon);
	md->size = size;
	*out = md;
out:
	free(abs);
	return rc;
}
