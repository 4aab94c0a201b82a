// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * VirtualBox VDI images, version 1.1, dynamic and fixed.
 *
 * Layout (little-endian): a 72-byte pre-header (text, signature,
 * version), the 1.1 header, the block map (one u32 per block: the
 * block's index in the data area, or VDI_BMAP_FREE / VDI_BMAP_ZERO) and
 * the data area of block_size (1 MiB) blocks from offset_data.
 *
 * A new block is written in full, made durable, then entered in the
 * block map, then counted in the header.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "block_int.h"

/* Pre-header and header field offsets. */
#define VDI_TEXT 0
#define VDI_TEXT_LEN 64
#define VDI_SIGNATURE 64
#define VDI_VERSION 68
#define VDI_HEADER_SIZE 72
#define VDI_IMAGE_TYPE 76
#define VDI_IMAGE_FLAGS 80
#define VDI_DESCRIPTION 84
#define VDI_OFFSET_BMAP 340
#define VDI_OFFSET_DATA 344
#define VDI_SECTOR_SIZE 360
#define VDI_DISK_SIZE 368
#define VDI_BLOCK_SIZE 376
#define VDI_BLOCK_EXTRA 380
#define VDI_BLOCKS_IN_IMAGE 384
#define VDI_BLOCKS_ALLOCATED 388
#define VDI_UUID_IMAGE 392
#define VDI_UUID_LAST_SNAP 408
#define VDI_UUID_LINK 424
#define VDI_UUID_PARENT 440
#define VDI_PREHEADER_LEN 72
#define VDI_HEADER_V11_LEN 0x180 /* what header_size holds for 1.1 */
#define VDI_HEADER_AREA 512

#define VDI_SIG 0xbeda107fu
#define VDI_VERSION_1_1 0x00010001u
#define VDI_TYPE_DYNAMIC 1
#define VDI_TYPE_FIXED 2
#define VDI_TYPE_UNDO 3
#define VDI_TYPE_DIFF 4
#define VDI_BMAP_FREE 0xffffffffu /* never written: reads as zeros */
#define VDI_BMAP_ZERO 0xfffffffeu /* discarded: reads as zeros */
#define VDI_DEFAULT_BLOCK_SIZE (1u << 20)
#define VDI_MIN_BLOCK_SIZE 512u
/* VirtualBox writes 1 MiB blocks (and QEMU reads only those); larger ones
 * would only let a tiny file demand a huge buffer. */
#define VDI_MAX_BLOCK_SIZE (1u << 20)
#define VDI_MAX_BLOCKS (1u << 26) /* 64 TiB; bounds the block map to 256 MiB */
#define VDI_DATA_ALIGN (1u << 20)
#define VDI_TEXT_HUTCH "<<< Hutch VM Virtual Disk Image >>>\n"

struct vdi {
	uint32_t type;
	uint32_t block_size;
	uint32_t blocks;
	uint32_t allocated;  /* blocks with an index in the map */
	uint32_t next_block; /* index for the next new block */
	uint64_t offset_bmap;
	uint64_t offset_data;
	uint32_t *bmap;
	uint8_t *block_buf;
	uint8_t uuid[16];    /* the header's image UUID, as stored */
};

static bool vdi_probe(const uint8_t *buf, size_t len)
{
	return len >= VDI_VERSION && blk_le32(buf + VDI_SIGNATURE) == VDI_SIG;
}

static struct vdi *vdi_state(struct blk_image *img)
{
	return img->opaque;
}

static bool vdi_allocated(uint32_t e)
{
	return e < VDI_BMAP_ZERO;
}

static void vdi_close(struct blk_image *img)
{
	struct vdi *s = vdi_state(img);

	if (!s)
		return;
	free(s->bmap);
	free(s->block_buf);
	free(s);
	img->opaque = NULL;
}

static int vdi_parse(struct blk_image *img, struct vdi *s, const uint8_t *h,
		     uint64_t file_size)
{
	uint32_t version = blk_le32(h + VDI_VERSION);
	uint32_t hsize = blk_le32(h + VDI_HEADER_SIZE);
	uint32_t sector = blk_le32(h + VDI_SECTOR_SIZE);
	uint32_t extra = blk_le32(h + VDI_BLOCK_EXTRA);
	uint64_t disk = blk_le64(h + VDI_DISK_SIZE);

	if (blk_le32(h + VDI_SIGNATURE) != VDI_SIG)
		return blk_seterr(img, EINVAL, "not a VDI image (bad signature)");
	if (version != VDI_VERSION_1_1)
		return blk_seterr(img, ENOTSUP, "VDI version %u.%u not supported "
				  "(1.1 is)", version >> 16, version & 0xffff);
	if (hsize < VDI_HEADER_V11_LEN || hsize > VDI_HEADER_AREA - VDI_PREHEADER_LEN)
		return blk_seterr(img, EINVAL, "header size %u out of range "
				  "[%u, %u]", hsize, VDI_HEADER_V11_LEN,
				  VDI_HEADER_AREA - VDI_PREHEADER_LEN);
	s->type = blk_le32(h + VDI_IMAGE_TYPE);
	if (s->type == VDI_TYPE_UNDO || s->type == VDI_TYPE_DIFF)
		return blk_seterr(img, ENOTSUP, "VDI %s images not supported",
				  s->type == VDI_TYPE_UNDO ? "undo" : "differencing");
	if (s->type != VDI_TYPE_DYNAMIC && s->type != VDI_TYPE_FIXED)
		return blk_seterr(img, EINVAL, "unknown VDI image type %u", s->type);
	if (sector != BLK_SECTOR_SIZE)
		return blk_seterr(img, ENOTSUP, "sector size %u not supported "
				  "(512 is)", sector);
	s->block_size = blk_le32(h + VDI_BLOCK_SIZE);
	if (s->block_size < VDI_MIN_BLOCK_SIZE || s->block_size > VDI_MAX_BLOCK_SIZE ||
	    (s->block_size & (s->block_size - 1)))
		return blk_seterr(img, EINVAL, "block size %u not a power of two "
				  "in [%u, %u]", s->block_size, VDI_MIN_BLOCK_SIZE,
				  VDI_MAX_BLOCK_SIZE);
	if (extra)
		return blk_seterr(img, ENOTSUP, "block_extra %u not supported", extra);
	s->blocks = blk_le32(h + VDI_BLOCKS_IN_IMAGE);
	s->allocated = blk_le32(h + VDI_BLOCKS_ALLOCATED);
	if (s->blocks > VDI_MAX_BLOCKS)
		return blk_seterr(img, EFBIG, "%u blocks too many (at most %u)",
				  s->blocks, VDI_MAX_BLOCKS);
	if (disk > (uint64_t)s->blocks * s->block_size)
		return blk_seterr(img, EINVAL, "disk size %llu larger than %u "
				  "blocks of %u bytes", (unsigned long long)disk,
				  s->blocks, s->block_size);
	if (s->allocated > s->blocks)
		return blk_seterr(img, EINVAL, "%u blocks allocated of only %u",
				  s->allocated, s->blocks);
	s->offset_bmap = blk_le32(h + VDI_OFFSET_BMAP);
	s->offset_data = blk_le32(h + VDI_OFFSET_DATA);
	if (s->offset_bmap % BLK_SECTOR_SIZE || s->offset_data % BLK_SECTOR_SIZE)
		return blk_seterr(img, EINVAL, "block map (%llu) or data (%llu) "
				  "offset not sector aligned",
				  (unsigned long long)s->offset_bmap,
				  (unsigned long long)s->offset_data);
	if (s->offset_bmap < VDI_PREHEADER_LEN + hsize ||
	    s->offset_bmap + (uint64_t)s->blocks * 4 > s->offset_data)
		return blk_seterr(img, EINVAL, "block map at %llu (%u entries) "
				  "overlaps the header or the data at %llu",
				  (unsigned long long)s->offset_bmap, s->blocks,
				  (unsigned long long)s->offset_data);
	if (s->offset_bmap + (uint64_t)s->blocks * 4 > file_size)
		return blk_seterr(img, EINVAL, "block map extends beyond the end "
				  "of the file (%llu bytes)",
				  (unsigned long long)file_size);
	memcpy(s->uuid, h + VDI_UUID_IMAGE, sizeof(s->uuid));
	img->size = disk;
	return 0;
}

static int vdi_open(struct blk_image *img, struct blk_chain *chain)
{
	uint8_t h[VDI_HEADER_AREA] = { 0 };
	uint8_t *used = NULL;
	uint64_t file_size;
	struct vdi *s;
	uint32_t count = 0;
	int ret;

	s = calloc(1, sizeof(*s));
	if (!s)
		return blk_seterr(img, ENOMEM, "out of memory");
	img->opaque = s;
	ret = blk_file_size(img->fd, &file_size);
	if (ret == 0)
		ret = blk_file_pread_zero(img->fd, h, sizeof(h), 0);
	if (ret < 0) {
		ret = blk_seterr(img, -ret, "reading header: %s", strerror(-ret));
		goto fail;
	}
	ret = vdi_parse(img, s, h, file_size);
	if (ret < 0)
		goto fail;
	s->bmap = malloc(s->blocks ? (size_t)s->blocks * 4 : 4);
	if (!s->bmap) {
		ret = blk_seterr(img, ENOMEM, "out of memory for the block map");
		goto fail;
	}
	ret = blk_file_pread(img->fd, s->bmap, (size_t)s->blocks * 4,
			     s->offset_bmap);
	if (ret < 0) {
		ret = blk_seterr(img, -ret, "reading block map: %s", strerror(-ret));
		goto fail;
	}
	/* Two entries sharing a block would make writes to one show in both. */
	used = calloc((size_t)s->blocks / 8 + 1, 1);
	if (!used) {
		ret = blk_seterr(img, ENOMEM, "out of memory for the block map");
		goto fail;
	}
	for (uint32_t i = 0; i < s->blocks; i++) {
		uint32_t e = blk_le32((uint8_t *)&s->bmap[i]);

		s->bmap[i] = e;
		if (!vdi_allocated(e))
			continue;
		if (e >= s->blocks) {
			ret = blk_seterr(img, EINVAL, "block map entry %u points to "
					 "block %u of only %u", i, e, s->blocks);
			goto fail;
		}
		if (used[e / 8] & (1u << (e % 8))) {
			ret = blk_seterr(img, EINVAL, "block map entry %u uses block "
					 "%u, which another entry uses too", i, e);
			goto fail;
		}
		used[e / 8] |= (uint8_t)(1u << (e % 8));
		count++;
		if (e + 1 > s->next_block)
			s->next_block = e + 1;
	}
	s->allocated = count;
	free(used);
	return 0;
fail:
	free(used);
	vdi_close(img);
	return ret;
}

static uint64_t vdi_block_offset(struct vdi *s, uint32_t e)
{
	return s->offset_data + (uint64_t)e * s->block_size;
}

static int vdi_pread(struct blk_image *img, void *buf, size_t len,
		     uint64_t off)
{
	struct vdi *s = vdi_state(img);
	uint8_t *p = buf;

	while (len) {
		uint64_t blk = off / s->block_size, in = off % s->block_size;
		size_t n = s->block_size - in < len ?
			   (size_t)(s->block_size - in) : len;
		uint32_t e = s->bmap[blk];

		if (vdi_allocated(e)) {
			int ret = blk_file_pread_zero(img->fd, p, n,
						      vdi_block_offset(s, e) + in);

			if (ret < 0)
				return blk_seterr(img, -ret, "reading block %u: %s",
						  e, strerror(-ret));
		} else {
			memset(p, 0, n);
		}
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

static int vdi_alloc_block(struct blk_image *img, struct vdi *s, uint64_t blk,
			   const uint8_t *data, size_t n, uint64_t in)
{
	uint32_t e = s->next_block;
	uint8_t le[4];
	int ret;

	if (e >= s->blocks)
		return blk_seterr(img, EIO, "no free block left (block map corrupt)");
	if (!s->block_buf && !(s->block_buf = malloc(s->block_size)))
		return blk_seterr(img, ENOMEM, "out of memory");
	memset(s->block_buf, 0, s->block_size);
	memcpy(s->block_buf + in, data, n);
	ret = blk_file_pwrite(img->fd, s->block_buf, s->block_size,
			      vdi_block_offset(s, e));
	if (ret == 0)
		ret = blk_file_sync(img->fd);
	if (ret < 0)
		return blk_seterr(img, -ret, "writing block %u: %s", e,
				  strerror(-ret));
	blk_put_le32(le, e);
	ret = blk_file_pwrite(img->fd, le, 4, s->offset_bmap + blk * 4);
	if (ret < 0)
		return blk_seterr(img, -ret, "writing block map: %s", strerror(-ret));
	s->bmap[blk] = e;
	s->next_block++;
	s->allocated++;
	blk_put_le32(le, s->allocated);
	ret = blk_file_pwrite(img->fd, le, 4, VDI_BLOCKS_ALLOCATED);
	if (ret < 0)
		return blk_seterr(img, -ret, "writing header: %s", strerror(-ret));
	return 0;
}

static int vdi_pwrite(struct blk_image *img, const void *buf, size_t len,
		      uint64_t off)
{
	struct vdi *s = vdi_state(img);
	const uint8_t *p = buf;
	int ret;

	while (len) {
		uint64_t blk = off / s->block_size, in = off % s->block_size;
		size_t n = s->block_size - in < len ?
			   (size_t)(s->block_size - in) : len;
		uint32_t e = s->bmap[blk];

		if (vdi_allocated(e)) {
			ret = blk_file_pwrite(img->fd, p, n, vdi_block_offset(s, e) + in);
			if (ret < 0)
				return blk_seterr(img, -ret, "writing block %u: %s",
						  e, strerror(-ret));
		} else if (!blk_is_zero(p, n)) {
			/* Zeros into a free block change nothing the guest sees. */
			ret = vdi_alloc_block(img, s, blk, p, n, in);
			if (ret < 0)
				return ret;
		}
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

static uint32_t vdi_cluster_size(struct blk_image *img)
{
	return vdi_state(img)->block_size;
}

/*
 * Grow in place while the block map has room before the data: new map
 * entries (free, or new blocks at the end for a fixed image) first, then
 * the header's block count, then its disk size.
 */
static int vdi_resize(struct blk_image *img, uint64_t new_size)
{
	struct vdi *s = vdi_state(img);
	uint64_t blocks = new_size / s->block_size + (new_size % s->block_size != 0);
	uint32_t old = s->blocks, *bmap;
	uint8_t *raw, le[8];
	bool fixed = s->type == VDI_TYPE_FIXED;
	int ret;

	if (blocks > VDI_MAX_BLOCKS)
		return blk_seterr(img, EFBIG, "size %llu too large for VDI",
				  (unsigned long long)new_size);
	if (s->offset_bmap + blocks * 4 > s->offset_data)
		return blk_seterr(img, ENOTSUP, "the block map has no room for %llu "
				  "blocks; copy to a new image (clonemedium) instead",
				  (unsigned long long)blocks);
	if (blocks > old) {
		bmap = realloc(s->bmap, (size_t)blocks * 4);
		raw = malloc((size_t)(blocks - old) * 4);
		if (!bmap || !raw) {
			if (bmap)
				s->bmap = bmap;
			free(raw);
			return blk_seterr(img, ENOMEM, "out of memory");
		}
		s->bmap = bmap;
		for (uint32_t i = old; i < blocks; i++) {
			uint32_t e = fixed ? s->next_block + (i - old) : VDI_BMAP_FREE;

			blk_put_le32(raw + (size_t)(i - old) * 4, e);
		}
		ret = 0;
		if (fixed && ftruncate(img->fd, (off_t)vdi_block_offset(s,
				s->next_block + (uint32_t)(blocks - old))) < 0)
			ret = -errno;
		if (ret == 0)
			ret = blk_file_pwrite(img->fd, raw, (size_t)(blocks - old) * 4,
					      s->offset_bmap + (uint64_t)old * 4);
		free(raw);
		if (ret == 0)
			ret = blk_file_sync(img->fd);
		if (ret < 0)
			return blk_seterr(img, -ret, "growing the block map: %s",
					  strerror(-ret));
		for (uint32_t i = old; i < blocks; i++)
			s->bmap[i] = fixed ? s->next_block + (i - old) : VDI_BMAP_FREE;
		s->blocks = (uint32_t)blocks;
		if (fixed) {
			s->next_block += (uint32_t)(blocks - old);
			s->allocated += (uint32_t)(blocks - old);
		}
		blk_put_le32(le, s->blocks);
		blk_put_le32(le + 4, s->allocated);
		ret = blk_file_pwrite(img->fd, le, 8, VDI_BLOCKS_IN_IMAGE);
		if (ret < 0)
			return blk_seterr(img, -ret, "writing header: %s", strerror(-ret));
	}
	blk_put_le64(le, new_size);
	ret = blk_file_pwrite(img->fd, le, 8, VDI_DISK_SIZE);
	if (ret < 0)
		return blk_seterr(img, -ret, "writing header: %s", strerror(-ret));
	img->size = new_size;
	return blk_sync(img);
}

/*
 * VirtualBox writes its RTUUID structure as it is in memory on x86: the
 * first three fields (32, 16, 16 bits) little-endian, the last eight
 * bytes in order.  Text "00112233-4455-6677-8899-aabbccddeeff" is thus
 * stored 33 22 11 00 55 44 77 66 88 99 aa ...; this permutation maps
 * between the text's byte order and the stored one (it is its own inverse).
 */
static const uint8_t vdi_uuid_order[16] = { 3, 2, 1, 0, 5, 4, 7, 6,
					    8, 9, 10, 11, 12, 13, 14, 15 };

static void vdi_uuid_to_text(const uint8_t *u, char out[37])
{
	char *p = out;

	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		p += sprintf(p, "%02x", u[vdi_uuid_order[i]]);
	}
}

/* Parse a UUID's text into the stored order; false if it is not one. */
static bool vdi_uuid_from_text(const char *t, uint8_t *u)
{
	static const char pattern[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	uint8_t b[16];
	int n = 0;

	if (strlen(t) != sizeof(pattern) - 1)
		return false;
	for (size_t i = 0; pattern[i]; i++) {
		unsigned v;

		if (pattern[i] == '-') {
			if (t[i] != '-')
				return false;
			continue;
		}
		if (t[i] >= '0' && t[i] <= '9')
			v = (unsigned)(t[i] - '0');
		else if ((t[i] | 0x20) >= 'a' && (t[i] | 0x20) <= 'f')
			v = (unsigned)((t[i] | 0x20) - 'a' + 10);
		else
			return false;
		b[n / 2] = (uint8_t)(n % 2 ? b[n / 2] | v : v << 4);
		n++;
	}
	for (int i = 0; i < 16; i++)
		u[vdi_uuid_order[i]] = b[i];
	return true;
}

static int vdi_info(struct blk_image *img, struct blk_info *info)
{
	struct vdi *s = vdi_state(img);
	static const uint8_t nil[16];

	if (memcmp(s->uuid, nil, sizeof(nil)))
		vdi_uuid_to_text(s->uuid, info->uuid);
	info->cluster_size = s->block_size;
	info->format_version = VDI_VERSION_1_1;
	info->variant = s->type == VDI_TYPE_FIXED ? BLK_VARIANT_FIXED :
						   BLK_VARIANT_STANDARD;
	return 0;
}

/* A random (version 4) UUID, as VirtualBox stores it. */
static void vdi_uuid(uint8_t *u)
{
	if (getrandom(u, 16, 0) != 16) {
		for (int i = 0; i < 16; i++)
			u[i] = (uint8_t)rand();
	}
	u[7] = (uint8_t)((u[7] & 0x0f) | 0x40);
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
}

static int vdi_create(int fd, const char *path,
		      const struct blk_create_opts *opts, char *err,
		      size_t errlen)
{
	uint32_t bs = opts->cluster_size ? opts->cluster_size :
		      VDI_DEFAULT_BLOCK_SIZE;
	uint64_t blocks, bmap_bytes, data_off;
	uint8_t h[VDI_HEADER_AREA] = { 0 };
	uint8_t *bmap;
	int ret;

	if (opts->backing_file)
		return blk_fmterr(err, errlen, path, ENOTSUP, "VDI images cannot "
				  "have a backing file here");
	if (opts->uuid && !vdi_uuid_from_text(opts->uuid, h + VDI_UUID_IMAGE))
		return blk_fmterr(err, errlen, path, EINVAL, "'%s' is not a UUID",
				  opts->uuid);
	if (bs < VDI_MIN_BLOCK_SIZE || bs > VDI_MAX_BLOCK_SIZE || (bs & (bs - 1)))
		return blk_fmterr(err, errlen, path, EINVAL, "block size %u not a "
				  "power of two in [%u, %u]", bs,
				  VDI_MIN_BLOCK_SIZE, VDI_MAX_BLOCK_SIZE);
	blocks = opts->size / bs + (opts->size % bs != 0);
	if (blocks > VDI_MAX_BLOCKS)
		return blk_fmterr(err, errlen, path, EFBIG, "size %llu too large "
				  "for VDI", (unsigned long long)opts->size);
	bmap_bytes = (blocks * 4 + BLK_SECTOR_SIZE - 1) & ~(uint64_t)(BLK_SECTOR_SIZE - 1);
	/* Data from a 1 MiB boundary, as VirtualBox does: room to grow the map. */
	data_off = (VDI_HEADER_AREA + bmap_bytes + VDI_DATA_ALIGN - 1) &
		   ~(uint64_t)(VDI_DATA_ALIGN - 1);
	memcpy(h + VDI_TEXT, VDI_TEXT_HUTCH, strlen(VDI_TEXT_HUTCH));
	blk_put_le32(h + VDI_SIGNATURE, VDI_SIG);
	blk_put_le32(h + VDI_VERSION, VDI_VERSION_1_1);
	blk_put_le32(h + VDI_HEADER_SIZE, VDI_HEADER_V11_LEN);
	blk_put_le32(h + VDI_IMAGE_TYPE, opts->variant == BLK_VARIANT_FIXED ?
		     VDI_TYPE_FIXED : VDI_TYPE_DYNAMIC);
	blk_put_le32(h + VDI_OFFSET_BMAP, VDI_HEADER_AREA);
	blk_put_le32(h + VDI_OFFSET_DATA, (uint32_t)data_off);
	blk_put_le32(h + VDI_SECTOR_SIZE, BLK_SECTOR_SIZE);
	blk_put_le64(h + VDI_DISK_SIZE, opts->size);
	blk_put_le32(h + VDI_BLOCK_SIZE, bs);
	blk_put_le32(h + VDI_BLOCKS_IN_IMAGE, (uint32_t)blocks);
	blk_put_le32(h + VDI_BLOCKS_ALLOCATED, opts->variant == BLK_VARIANT_FIXED ?
		     (uint32_t)blocks : 0);
	if (!opts->uuid)
		vdi_uuid(h + VDI_UUID_IMAGE);
	vdi_uuid(h + VDI_UUID_LAST_SNAP);
	bmap = malloc(bmap_bytes ? bmap_bytes : 1);
	if (!bmap)
		return blk_fmterr(err, errlen, path, ENOMEM, "out of memory");
	memset(bmap, 0, bmap_bytes);
	for (uint64_t i = 0; i < blocks; i++)
		blk_put_le32(bmap + i * 4, opts->variant == BLK_VARIANT_FIXED ?
			     (uint32_t)i : VDI_BMAP_FREE);
	ret = blk_file_pwrite(fd, h, sizeof(h), 0);
	if (ret == 0)
		ret = blk_file_pwrite(fd, bmap, bmap_bytes, VDI_HEADER_AREA);
	free(bmap);
	if (ret == 0 && opts->variant == BLK_VARIANT_FIXED) {
		off_t total = (off_t)(data_off + blocks * bs);

		if (ftruncate(fd, total) < 0)
			ret = -errno;
		else if (posix_fallocate(fd, 0, total) == ENOSPC)
			ret = -ENOSPC;
	}
	if (ret < 0)
		return blk_fmterr(err, errlen, path, -ret, "writing VDI: %s",
				  strerror(-ret));
	return 0;
}

const struct blk_format blk_format_vdi = {
	.name = "vdi",
	.probe = vdi_probe,
	.open = vdi_open,
	.close = vdi_close,
	.pread = vdi_pread,
	.pwrite = vdi_pwrite,
	.flush = blk_sync,
	.cluster_size = vdi_cluster_size,
	.info = vdi_info,
	.resize = vdi_resize,
	.create = vdi_create,
};
