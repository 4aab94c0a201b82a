// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * VMware VMDK, read-only, for import: hosted sparse extents with the
 * descriptor embedded ("monolithicSparse") and stream-optimized images
 * ("streamOptimized", the disks inside OVA files), as described in
 * VMware's "Virtual Disk Format 1.1" (the spec below).
 *
 * A sparse extent starts with a SparseExtentHeader (little-endian).  The
 * grain directory (GD) holds the sector offsets of grain tables (GT);
 * each GT holds the sector offsets of numGTEsPerGT grains.  In a
 * stream-optimized image grains are deflated (zlib format) behind a
 * 12-byte grain marker, and the header may defer to a footer copy at the
 * end of the file (gdOffset == GD_AT_END).  Descriptor-only VMDKs
 * (monolithicFlat, split extents) and child disks are refused.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "block_int.h"

/* Spec "Hosted Sparse Extent Header": field offsets. */
#define VMDK_MAGIC 0x564d444bu /* "KDMV" */
#define VMDK_H_MAGIC 0
#define VMDK_H_VERSION 4
#define VMDK_H_FLAGS 8
#define VMDK_H_CAPACITY 12
#define VMDK_H_GRAIN_SIZE 20
#define VMDK_H_DESC_OFFSET 28
#define VMDK_H_DESC_SIZE 36
#define VMDK_H_NUM_GTES 44
#define VMDK_H_RGD_OFFSET 48
#define VMDK_H_GD_OFFSET 56
#define VMDK_H_OVERHEAD 64
#define VMDK_H_COMPRESS_ALGO 77
#define VMDK_HEADER_LEN 512

#define VMDK_FLAG_ZERO_GRAIN (1u << 2)  /* GTE 1 means an all-zero grain */
#define VMDK_FLAG_COMPRESSED (1u << 16)
#define VMDK_FLAG_MARKERS (1u << 17)
#define VMDK_COMPRESS_DEFLATE 1
#define VMDK_GD_AT_END 0xffffffffffffffffull
#define VMDK_FOOTER_FROM_END 1024 /* footer header, then end-of-stream */
#define VMDK_GTE_ZEROED 1
#define VMDK_GRAIN_MARKER_LEN 12 /* u64 lba, u32 size, then data */
#define VMDK_SECTOR 512u

/* Limits (what QEMU and VMware accept). */
/* VMware writes 64 KiB grains; 1 MiB keeps a tiny file from demanding a
 * huge inflate buffer. */
#define VMDK_MAX_GRAIN_SECTORS (1u << 11)
#define VMDK_MAX_GTES (1u << 16)
#define VMDK_MAX_CAPACITY (1ull << 37) /* sectors: 64 TiB */
#define VMDK_MAX_GD_BYTES (64u << 20)
#define VMDK_MAX_DESCRIPTOR 65536u
#define VMDK_DESC_TEXT "# Disk DescriptorFile"

struct vmdk {
	uint32_t version;
	uint32_t flags;
	uint64_t grain_bytes;
	uint32_t num_gtes;
	uint64_t gd_entries;
	uint32_t *gd;        /* sector offsets of grain tables */
	uint32_t *gt;        /* the cached grain table */
	uint32_t gt_sector;  /* its sector; 0 = none */
	uint8_t *grain;      /* the last inflated grain */
	uint64_t grain_index; /* its guest grain; UINT64_MAX = none */
	uint8_t *cbuf;       /* compressed bytes of one grain */
	size_t cbuf_len;
	uint64_t file_size;
	char create_type[32];
};

static bool vmdk_probe(const uint8_t *buf, size_t len)
{
	return (len >= 4 && blk_le32(buf) == VMDK_MAGIC) ||
	       (len >= sizeof(VMDK_DESC_TEXT) - 1 &&
		memcmp(buf, VMDK_DESC_TEXT, sizeof(VMDK_DESC_TEXT) - 1) == 0);
}

static struct vmdk *vmdk_state(struct blk_image *img)
{
	return img->opaque;
}

static void vmdk_close(struct blk_image *img)
{
	struct vmdk *s = vmdk_state(img);

	if (!s)
		return;
	free(s->gd);
	free(s->gt);
	free(s->grain);
	free(s->cbuf);
	free(s);
	img->opaque = NULL;
}

/* The value of key="value" (or key=value) in the descriptor, or "". */
static void vmdk_desc_get(const char *desc, const char *key, char *out,
			  size_t outlen)
{
	size_t klen = strlen(key);
	const char *p = desc;

	out[0] = '\0';
	while (p && *p) {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);

		if (n > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
			const char *v = p + klen + 1, *end = p + n;

			while (v < end && (*v == '"' || *v == ' '))
				v++;
			while (end > v && (end[-1] == '"' || end[-1] == ' ' ||
					   end[-1] == '\r'))
				end--;
			snprintf(out, outlen, "%.*s", (int)(end - v), v);
			return;
		}
		p = eol ? eol + 1 : NULL;
	}
}

static int vmdk_read_descriptor(struct blk_image *img, struct vmdk *s,
				uint64_t off_sectors, uint64_t n_sectors)
{
	char *desc, parent[32];
	size_t len;
	int ret;

	if (!off_sectors || !n_sectors)
		return 0; /* stream-optimized footers may omit it */
	if (n_sectors > VMDK_MAX_DESCRIPTOR / VMDK_SECTOR ||
	    off_sectors > s->file_size / VMDK_SECTOR)
		return blk_seterr(img, EINVAL, "descriptor at sector %llu (%llu "
				  "sectors) out of range",
				  (unsigned long long)off_sectors,
				  (unsigned long long)n_sectors);
	len = (size_t)n_sectors * VMDK_SECTOR;
	desc = calloc(1, len + 1);
	if (!desc)
		return blk_seterr(img, ENOMEM, "out of memory");
	ret = blk_file_pread_zero(img->fd, desc, len, off_sectors * VMDK_SECTOR);
	if (ret < 0) {
		free(desc);
		return blk_seterr(img, -ret, "reading descriptor: %s", strerror(-ret));
	}
	vmdk_desc_get(desc, "createType", s->create_type, sizeof(s->create_type));
	vmdk_desc_get(desc, "parentCID", parent, sizeof(parent));
	free(desc);
	if (parent[0] && strcmp(parent, "ffffffff") != 0)
		return blk_seterr(img, ENOTSUP, "VMDK child disks (parentCID=%s) "
				  "not supported", parent);
	if (s->create_type[0] && strcmp(s->create_type, "monolithicSparse") &&
	    strcmp(s->create_type, "streamOptimized"))
		return blk_seterr(img, ENOTSUP, "VMDK createType \"%s\" not "
				  "supported (monolithicSparse and streamOptimized "
				  "are)", s->create_type);
	return 0;
}

static int vmdk_parse(struct blk_image *img, struct vmdk *s, const uint8_t *h)
{
	uint64_t capacity = blk_le64(h + VMDK_H_CAPACITY);
	uint64_t grain = blk_le64(h + VMDK_H_GRAIN_SIZE);
	uint64_t gd_off = blk_le64(h + VMDK_H_GD_OFFSET);
	uint64_t per_gt;
	uint16_t algo;

	if (blk_le32(h + VMDK_H_MAGIC) != VMDK_MAGIC)
		return blk_seterr(img, EINVAL, "not a VMDK sparse extent (bad magic)");
	s->version = blk_le32(h + VMDK_H_VERSION);
	if (s->version < 1 || s->version > 3)
		return blk_seterr(img, ENOTSUP, "VMDK version %u not supported "
				  "(1 to 3 are)", s->version);
	s->flags = blk_le32(h + VMDK_H_FLAGS);
	if (grain == 0 || grain > VMDK_MAX_GRAIN_SECTORS || (grain & (grain - 1)))
		return blk_seterr(img, EINVAL, "grain size %llu sectors not a power "
				  "of two in [1, %u]", (unsigned long long)grain,
				  VMDK_MAX_GRAIN_SECTORS);
	s->grain_bytes = grain * VMDK_SECTOR;
	s->num_gtes = blk_le32(h + VMDK_H_NUM_GTES);
	if (s->num_gtes == 0 || s->num_gtes > VMDK_MAX_GTES)
		return blk_seterr(img, EINVAL, "numGTEsPerGT %u out of range "
				  "[1, %u]", s->num_gtes, VMDK_MAX_GTES);
	if (capacity > VMDK_MAX_CAPACITY)
		return blk_seterr(img, EFBIG, "capacity of %llu sectors too large",
				  (unsigned long long)capacity);
	img->size = capacity * VMDK_SECTOR;
	algo = (uint16_t)(h[VMDK_H_COMPRESS_ALGO] | h[VMDK_H_COMPRESS_ALGO + 1] << 8);
	if ((s->flags & VMDK_FLAG_COMPRESSED) && algo != VMDK_COMPRESS_DEFLATE)
		return blk_seterr(img, ENOTSUP, "compression algorithm %u not "
				  "supported (deflate is)", algo);
	per_gt = grain * s->num_gtes;
	s->gd_entries = capacity / per_gt + (capacity % per_gt != 0);
	if (s->gd_entries * 4 > VMDK_MAX_GD_BYTES)
		return blk_seterr(img, EFBIG, "grain directory of %llu entries too "
				  "large", (unsigned long long)s->gd_entries);
	if (gd_off == VMDK_GD_AT_END)
		return blk_seterr(img, EINVAL, "grain directory offset still "
				  "GD_AT_END in the footer");
	if (gd_off == 0 || gd_off > s->file_size / VMDK_SECTOR ||
	    s->gd_entries * 4 > s->file_size - gd_off * VMDK_SECTOR)
		return blk_seterr(img, EINVAL, "grain directory at sector %llu "
				  "(%llu entries) beyond the end of the file",
				  (unsigned long long)gd_off,
				  (unsigned long long)s->gd_entries);
	return 0;
}

static int vmdk_open(struct blk_image *img, struct blk_chain *chain)
{
	uint8_t h[VMDK_HEADER_LEN] = { 0 };
	struct vmdk *s;
	uint64_t gd_off;
	uint8_t *raw = NULL;
	int ret;

	if (!(img->flags & BLK_RDONLY))
		return blk_seterr(img, EROFS, "VMDK images are read-only here; "
				  "open read-only or convert them (clonemedium)");
	s = calloc(1, sizeof(*s));
	if (!s)
		return blk_seterr(img, ENOMEM, "out of memory");
	img->opaque = s;
	s->grain_index = UINT64_MAX;
	ret = blk_file_size(img->fd, &s->file_size);
	if (ret == 0)
		ret = blk_file_pread_zero(img->fd, h, sizeof(h), 0);
	if (ret < 0) {
		ret = blk_seterr(img, -ret, "reading header: %s", strerror(-ret));
		goto fail;
	}
	if (memcmp(h, VMDK_DESC_TEXT, sizeof(VMDK_DESC_TEXT) - 1) == 0) {
		ret = blk_seterr(img, ENOTSUP, "descriptor-only VMDK (flat or split "
				 "extents) not supported; monolithicSparse and "
				 "streamOptimized are");
		goto fail;
	}
	if (blk_le32(h) == VMDK_MAGIC &&
	    blk_le64(h + VMDK_H_GD_OFFSET) == VMDK_GD_AT_END) {
		/* Spec "Stream-Optimized Compressed Sparse Extents": footer. */
		uint64_t desc_off = blk_le64(h + VMDK_H_DESC_OFFSET);
		uint64_t desc_size = blk_le64(h + VMDK_H_DESC_SIZE);

		if (s->file_size < VMDK_HEADER_LEN + VMDK_FOOTER_FROM_END) {
			ret = blk_seterr(img, EINVAL, "too short for a footer");
			goto fail;
		}
		ret = blk_file_pread(img->fd, h, sizeof(h),
				     s->file_size - VMDK_FOOTER_FROM_END);
		if (ret < 0) {
			ret = blk_seterr(img, -ret, "reading footer: %s",
					 strerror(-ret));
			goto fail;
		}
		ret = vmdk_read_descriptor(img, s, desc_off, desc_size);
		if (ret < 0)
			goto fail;
	}
	ret = vmdk_parse(img, s, h);
	if (ret < 0)
		goto fail;
	ret = vmdk_read_descriptor(img, s, blk_le64(h + VMDK_H_DESC_OFFSET),
				   blk_le64(h + VMDK_H_DESC_SIZE));
	if (ret < 0)
		goto fail;
	gd_off = blk_le64(h + VMDK_H_GD_OFFSET) * VMDK_SECTOR;
	s->gd = malloc(s->gd_entries ? s->gd_entries * 4 : 4);
	s->gt = malloc((size_t)s->num_gtes * 4);
	raw = malloc(s->gd_entries ? s->gd_entries * 4 : 4);
	if (!s->gd || !s->gt || !raw) {
		ret = blk_seterr(img, ENOMEM, "out of memory");
		goto fail;
	}
	ret = blk_file_pread(img->fd, raw, s->gd_entries * 4, gd_off);
	if (ret < 0) {
		ret = blk_seterr(img, -ret, "reading grain directory: %s",
				 strerror(-ret));
		goto fail;
	}
	for (uint64_t i = 0; i < s->gd_entries; i++) {
		s->gd[i] = blk_le32(raw + i * 4);
		if (s->gd[i] && (uint64_t)s->gd[i] * VMDK_SECTOR +
				(uint64_t)s->num_gtes * 4 > s->file_size) {
			ret = blk_seterr(img, EINVAL, "grain table %llu at sector %u "
					 "beyond the end of the file",
					 (unsigned long long)i, s->gd[i]);
			goto fail;
		}
	}
	free(raw);
	return 0;
fail:
	free(raw);
	vmdk_close(img);
	return ret;
}

/* The grain's entry: its sector, 0 for none, VMDK_GTE_ZEROED. */
static int vmdk_lookup(struct blk_image *img, struct vmdk *s, uint64_t g,
		       uint32_t *gte)
{
	uint64_t gd_idx = g / s->num_gtes;
	uint32_t gt = s->gd[gd_idx];
	int ret;

	*gte = 0;
	if (!gt)
		return 0;
	if (s->gt_sector != gt) {
		s->gt_sector = 0;
		ret = blk_file_pread(img->fd, s->gt, (size_t)s->num_gtes * 4,
				     (uint64_t)gt * VMDK_SECTOR);
		if (ret < 0)
			return blk_seterr(img, -ret, "reading grain table at sector "
					  "%u: %s", gt, strerror(-ret));
		for (uint32_t i = 0; i < s->num_gtes; i++)
			s->gt[i] = blk_le32((uint8_t *)&s->gt[i]);
		s->gt_sector = gt;
	}
	*gte = s->gt[g % s->num_gtes];
	return 0;
}

static int vmdk_inflate_grain(struct blk_image *img, struct vmdk *s,
			      uint64_t g, uint32_t gte)
{
	uint8_t marker[VMDK_GRAIN_MARKER_LEN];
	uint64_t off = (uint64_t)gte * VMDK_SECTOR;
	uint32_t clen;
	uLongf out;
	int ret;

	if (s->grain_index == g)
		return 0;
	if (!s->grain && !(s->grain = malloc(s->grain_bytes)))
		return blk_seterr(img, ENOMEM, "out of memory");
	ret = blk_file_pread(img->fd, marker, sizeof(marker), off);
	if (ret < 0)
		return blk_seterr(img, EIO, "grain marker at %llu beyond the end "
				  "of the file", (unsigned long long)off);
	clen = blk_le32(marker + 8);
	/* Deflate never grows data by more than a few bytes per 16 KiB. */
	if (clen == 0 || clen > s->grain_bytes + s->grain_bytes / 8 + 1024 ||
	    clen > s->file_size - off - sizeof(marker))
		return blk_seterr(img, EIO, "compressed grain at %llu has bad "
				  "size %u", (unsigned long long)off, clen);
	if (s->cbuf_len < clen) {
		uint8_t *p = realloc(s->cbuf, clen);

		if (!p)
			return blk_seterr(img, ENOMEM, "out of memory");
		s->cbuf = p;
		s->cbuf_len = clen;
	}
	ret = blk_file_pread(img->fd, s->cbuf, clen, off + sizeof(marker));
	if (ret < 0)
		return blk_seterr(img, -ret, "reading grain: %s", strerror(-ret));
	s->grain_index = UINT64_MAX;
	out = (uLongf)s->grain_bytes;
	ret = uncompress(s->grain, &out, s->cbuf, clen);
	if (ret != Z_OK && ret != Z_BUF_ERROR)
		return blk_seterr(img, EIO, "compressed grain at %llu does not "
				  "inflate (zlib %d)", (unsigned long long)off, ret);
	/* The last grain of the disk may be short. */
	memset(s->grain + out, 0, s->grain_bytes - out);
	s->grain_index = g;
	return 0;
}

static int vmdk_pread(struct blk_image *img, void *buf, size_t len,
		      uint64_t off)
{
	struct vmdk *s = vmdk_state(img);
	uint8_t *p = buf;

	while (len) {
		uint64_t g = off / s->grain_bytes, in = off % s->grain_bytes;
		size_t n = s->grain_bytes - in < len ? (size_t)(s->grain_bytes - in) : len;
		uint32_t gte;
		int ret = vmdk_lookup(img, s, g, &gte);

		if (ret < 0)
			return ret;
		if (gte == 0 || (gte == VMDK_GTE_ZEROED &&
				 (s->flags & VMDK_FLAG_ZERO_GRAIN))) {
			memset(p, 0, n);
		} else if (s->flags & VMDK_FLAG_COMPRESSED) {
			ret = vmdk_inflate_grain(img, s, g, gte);
			if (ret < 0)
				return ret;
			memcpy(p, s->grain + in, n);
		} else {
			uint64_t at = (uint64_t)gte * VMDK_SECTOR;

			if (at >= s->file_size)
				return blk_seterr(img, EIO, "grain at %llu beyond the "
						  "end of the file",
						  (unsigned long long)at);
			ret = blk_file_pread_zero(img->fd, p, n, at + in);
			if (ret < 0)
				return blk_seterr(img, -ret, "reading grain: %s",
						  strerror(-ret));
		}
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

static int vmdk_pwrite(struct blk_image *img, const void *buf, size_t len,
		       uint64_t off)
{
	return blk_seterr(img, EROFS, "VMDK images are read-only");
}

static int vmdk_create(int fd, const char *path,
		       const struct blk_create_opts *opts, char *err,
		       size_t errlen)
{
	return blk_fmterr(err, errlen, path, ENOTSUP, "creating VMDK images is "
			  "not supported (import only)");
}

static uint32_t vmdk_cluster_size(struct blk_image *img)
{
	return (uint32_t)vmdk_state(img)->grain_bytes;
}

static int vmdk_info(struct blk_image *img, struct blk_info *info)
{
	struct vmdk *s = vmdk_state(img);

	info->cluster_size = (uint32_t)s->grain_bytes;
	info->format_version = (int)s->version;
	info->variant = BLK_VARIANT_STANDARD;
	return 0;
}

const struct blk_format blk_format_vmdk = {
	.name = "vmdk",
	.probe = vmdk_probe,
	.open = vmdk_open,
	.close = vmdk_close,
	.pread = vmdk_pread,
	.pwrite = vmdk_pwrite,
	.flush = blk_sync,
	.cluster_size = vmdk_cluster_size,
	.info = vmdk_info,
	.create = vmdk_create,
};
