// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fw_cfg: QEMU's firmware configuration interface, as its specification
 * (QEMU's docs/specs/fw_cfg.rst) describes it for x86 I/O ports:
 *
 *   0x510  selector, 16-bit write: bits 0-13 pick the item, bit 14 asks for
 *          the (long gone) write channel and is ignored, bit 15 picks the
 *          architecture-local table (empty here: those items read as zeros)
 *   0x511  data, 8-bit read: the next byte of the selected item, 0 past its end
 *   0x514  DMA address, big-endian: two 32-bit writes, high half (0x514)
 *          then low half (0x518); the low half's write runs the transfer.
 *          Reading it gives the signature "QEMU CFG".
 *
 * A DMA transfer reads a 16-byte control structure from guest RAM
 * {be32 control, be32 length, be64 address}, acts on it (select, then
 * read / skip / write) and writes the control word back: 0 when done,
 * the error bit when not.  No item here is writable, so a write is an error.
 *
 * Work per request is bounded whatever the guest asks: a read copies at
 * most what is left of the item and zero-fills at most FW_CFG_DMA_ZERO_MAX
 * bytes past its end (more is refused with the error bit); a skip is
 * arithmetic.  Every guest address goes through gm_read / gm_write.
 *
 * The machine fills the items before the first boot (fw_cfg.h); their
 * contents are configuration, not device state, so save() keeps only the
 * selector, the read offset and the half-written DMA address.  The offset
 * may lie past the end of an item (after a load, or set_file shrinking it):
 * every use checks it, and such an item reads as zeros.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices.h"
#include "fw_cfg.h"

#define FW_CFG_SEL_LEN   2        /* selector + data port */
#define FW_CFG_DMA_LEN   8
#define SEL_WRITE_CHANNEL 0x4000  /* ignored: writes through the data port are gone */
#define SEL_ARCH_LOCAL   0x8000
#define SEL_KEY_MASK     0x3fff

/* FW_CFG_ID bits */
#define ID_TRADITIONAL   0x01
#define ID_DMA           0x02

/* DMA control bits (fw_cfg.rst, "FWCfgDmaAccess") */
#define DMA_CTL_ERROR    0x01
#define DMA_CTL_READ     0x02
#define DMA_CTL_SKIP     0x04
#define DMA_CTL_SELECT   0x08
#define DMA_CTL_WRITE    0x10
#define DMA_ACCESS_SIZE  16

#define FW_CFG_MAX_FILES    256
#define FW_CFG_DIR_ENTRY    64    /* be32 size, be16 select, be16 reserved, name[56] */
/* Zeros a DMA read writes past the item's end, at most (more is an error). */
#define FW_CFG_DMA_ZERO_MAX (1u << 20)

static const uint8_t dma_signature[FW_CFG_DMA_LEN] = { 'Q', 'E', 'M', 'U', ' ', 'C', 'F', 'G' };
static const uint8_t item_signature[4] = { 'Q', 'E', 'M', 'U' };
static const uint8_t item_id[4] = { ID_TRADITIONAL | ID_DMA, 0, 0, 0 };

struct fw_cfg_blob {
	uint8_t *data;   /* NULL if len == 0 */
	uint32_t len;
};

struct fw_cfg_file {
	char name[FW_CFG_MAX_FILE_NAME];
	struct fw_cfg_blob blob;
};

struct fw_cfg {
	struct device *dev;
	struct fw_cfg_blob items[FW_CFG_FILE_FIRST];  /* the machine's numbered items */
	struct fw_cfg_file files[FW_CFG_MAX_FILES];
	unsigned int nr_files;
	struct fw_cfg_blob dir;      /* FW_CFG_FILE_DIR, rebuilt on every change */
	/* guest-visible state */
	uint16_t selector;
	uint32_t offset;             /* into the selected item; past its end reads zeros */
	uint32_t dma_high;           /* high half of the DMA address, written first */
};

static void put_be16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, (uint16_t)(v >> 16));
	put_be16(p + 2, (uint16_t)v);
}
static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint64_t get_be64(const uint8_t *p) { return (uint64_t)get_be32(p) << 32 | get_be32(p + 4); }

/* The item the selector names; an empty one if nothing is there. */
static struct fw_cfg_blob fw_cfg_current(const struct fw_cfg *fw)
{
	struct fw_cfg_blob none = { NULL, 0 };
	uint16_t key = fw->selector & SEL_KEY_MASK;

	if (fw->selector & SEL_ARCH_LOCAL)
		return none;
	switch (key) {
	case FW_CFG_SIGNATURE: return (struct fw_cfg_blob){ (uint8_t *)item_signature, 4 };
	case FW_CFG_ID: return (struct fw_cfg_blob){ (uint8_t *)item_id, 4 };
	case FW_CFG_FILE_DIR: return fw->dir;
	}
	if (key < FW_CFG_FILE_FIRST)
		return fw->items[key];
	if ((unsigned int)(key - FW_CFG_FILE_FIRST) < fw->nr_files)
		return fw->files[key - FW_CFG_FILE_FIRST].blob;
	return none;
}

static void fw_cfg_select(struct fw_cfg *fw, uint16_t selector)
{
	fw->selector = selector & (uint16_t)~SEL_WRITE_CHANNEL;
	fw->offset = 0;
}

/* ---- DMA ---- */

/* Zero @len bytes of guest RAM at @gpa (checked); 0 or -EFAULT. */
static int fw_cfg_dma_zero(struct fw_cfg *fw, uint64_t gpa, uint64_t len)
{
	static const uint8_t zeros[4096];

	while (len) {
		uint64_t n = len < sizeof(zeros) ? len : sizeof(zeros);

		if (gm_write(fw->dev->host->mem, gpa, zeros, n))
			return -EFAULT;
		gpa += n;
		len -= n;
	}
	return 0;
}

/* A DMA read of @length bytes to @gpa: the item's bytes, then zeros. */
static int fw_cfg_dma_read(struct fw_cfg *fw, uint64_t gpa, uint32_t length)
{
	struct fw_cfg_blob b = fw_cfg_current(fw);
	uint32_t left = fw->offset < b.len ? b.len - fw->offset : 0;
	uint32_t n = length < left ? length : left;

	if (length - n > FW_CFG_DMA_ZERO_MAX) {
		device_log(fw->dev, "DMA read of %u bytes runs %u past item %#x's end",
			   length, length - n, fw->selector);
		return -EINVAL;
	}
	if (gpa + length < gpa)
		return -EFAULT;
	if (n && gm_write(fw->dev->host->mem, gpa, b.data + fw->offset, n))
		return -EFAULT;
	fw->offset += n;
	if (length > n)
		return fw_cfg_dma_zero(fw, gpa + n, length - n);
	return 0;
}

static void fw_cfg_dma_run(struct fw_cfg *fw, uint64_t access_gpa)
{
	struct guest_mem *mem = fw->dev->host->mem;
	uint8_t access[DMA_ACCESS_SIZE], done[4];
	uint32_t control, length;
	uint64_t gpa;
	int err = 0;

	if (gm_read(mem, access_gpa, access, sizeof(access))) {
		/* Nowhere to report the error: the guest sees its control word unchanged. */
		device_log(fw->dev, "DMA control structure at %#llx is outside RAM",
			   (unsigned long long)access_gpa);
		return;
	}
	control = get_be32(access);
	length = get_be32(access + 4);
	gpa = get_be64(access + 8);

	if (control & DMA_CTL_SELECT)
		fw_cfg_select(fw, (uint16_t)(control >> 16));
	/* Read wins over write, write over skip (fw_cfg.rst lists them so). */
	if (control & DMA_CTL_READ) {
		err = length ? fw_cfg_dma_read(fw, gpa, length) : 0;
	} else if (control & DMA_CTL_WRITE) {
		err = -EPERM;   /* nothing here is writable */
	} else if (control & DMA_CTL_SKIP) {
		struct fw_cfg_blob b = fw_cfg_current(fw);
		uint32_t left = fw->offset < b.len ? b.len - fw->offset : 0;

		fw->offset += length < left ? length : left;
	}
	put_be32(done, err ? DMA_CTL_ERROR : 0);
	if (gm_write(mem, access_gpa, done, sizeof(done)))
		device_log(fw->dev, "cannot write the DMA result back");
}

/* ---- port handlers ---- */

static uint64_t fw_cfg_sel_read(struct device *dev, uint64_t off, unsigned int size)
{
	struct fw_cfg *fw = dev->priv;
	struct fw_cfg_blob b;

	if (off != 1 || size != 1)
		return 0;   /* the selector is write-only */
	b = fw_cfg_current(fw);
	if (fw->offset >= b.len)
		return 0;
	return b.data[fw->offset++];
}

static void fw_cfg_sel_write(struct device *dev, uint64_t off, uint64_t value, unsigned int size)
{
	/* 16-bit writes to 0x510 select; data-port writes are ignored (fw_cfg.rst). */
	if (off == 0 && size == 2)
		fw_cfg_select(dev->priv, (uint16_t)value);
}

static uint64_t fw_cfg_dma_reg_read(struct device *dev, uint64_t off, unsigned int size)
{
	uint64_t v = 0;
	unsigned int i;

	/* Bytes in the order the big-endian register holds them (x86 is little-endian). */
	for (i = 0; i < size && off + i < sizeof(dma_signature); i++)
		v |= (uint64_t)dma_signature[off + i] << (8 * i);
	return v;
}

static void fw_cfg_dma_reg_write(struct device *dev, uint64_t off, uint64_t value,
				 unsigned int size)
{
	struct fw_cfg *fw = dev->priv;
	uint64_t gpa;

	if (size == 8 && off == 0) {
		gpa = __builtin_bswap64(value);
	} else if (size == 4 && off == 0) {
		fw->dma_high = __builtin_bswap32((uint32_t)value);
		return;
	} else if (size == 4 && off == 4) {
		gpa = (uint64_t)fw->dma_high << 32 | __builtin_bswap32((uint32_t)value);
	} else {
		return;
	}
	fw->dma_high = 0;
	fw_cfg_dma_run(fw, gpa);
}

static const struct io_region_ops fw_cfg_sel_ops = { fw_cfg_sel_read, fw_cfg_sel_write };
static const struct io_region_ops fw_cfg_dma_ops = { fw_cfg_dma_reg_read, fw_cfg_dma_reg_write };

/* ---- the machine's side (fw_cfg.h) ---- */

static int blob_copy(struct fw_cfg_blob *b, const void *data, size_t len)
{
	uint8_t *copy = NULL;

	if (len > UINT32_MAX || (len && !data))
		return -EINVAL;
	if (len) {
		copy = malloc(len);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, data, len);
	}
	free(b->data);
	b->data = copy;
	b->len = (uint32_t)len;
	return 0;
}

/* FW_CFG_FILE_DIR: be32 count, then per file be32 size, be16 key, be16 0, name. */
static int fw_cfg_rebuild_dir(struct fw_cfg *fw)
{
	size_t len = 4 + (size_t)fw->nr_files * FW_CFG_DIR_ENTRY;
	uint8_t *d = calloc(1, len);
	unsigned int i;

	if (!d)
		return -ENOMEM;
	put_be32(d, fw->nr_files);
	for (i = 0; i < fw->nr_files; i++) {
		uint8_t *e = d + 4 + (size_t)i * FW_CFG_DIR_ENTRY;

		put_be32(e, fw->files[i].blob.len);
		put_be16(e + 4, (uint16_t)(FW_CFG_FILE_FIRST + i));
		memcpy(e + 8, fw->files[i].name, FW_CFG_MAX_FILE_NAME);
	}
	free(fw->dir.data);
	fw->dir.data = d;
	fw->dir.len = (uint32_t)len;
	return 0;
}

static struct fw_cfg_file *fw_cfg_find_file(struct fw_cfg *fw, const char *name)
{
	unsigned int i;

	for (i = 0; i < fw->nr_files; i++)
		if (!strcmp(fw->files[i].name, name))
			return &fw->files[i];
	return NULL;
}

static bool fw_cfg_dev_ok(struct device *dev)
{
	return dev && dev->model == &fw_cfg_model && dev->priv;
}

int fw_cfg_add_item(struct device *dev, uint16_t key, const void *data, size_t len)
{
	struct fw_cfg *fw;
	int ret;

	if (!fw_cfg_dev_ok(dev) || key >= FW_CFG_FILE_FIRST || key == FW_CFG_SIGNATURE ||
	    key == FW_CFG_ID || key == FW_CFG_FILE_DIR)
		return -EINVAL;
	fw = dev->priv;
	pthread_mutex_lock(&dev->lock);
	ret = blob_copy(&fw->items[key], data, len);
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

int fw_cfg_add_file(struct device *dev, const char *name, const void *data, size_t len)
{
	struct fw_cfg_file *f;
	struct fw_cfg *fw;
	int ret;

	if (!fw_cfg_dev_ok(dev) || !name || !name[0] || strlen(name) >= FW_CFG_MAX_FILE_NAME)
		return -EINVAL;
	fw = dev->priv;
	pthread_mutex_lock(&dev->lock);
	if (fw_cfg_find_file(fw, name)) {
		ret = -EEXIST;
	} else if (fw->nr_files >= FW_CFG_MAX_FILES) {
		ret = -ENOSPC;
	} else {
		f = &fw->files[fw->nr_files];
		memset(f, 0, sizeof(*f));
		ret = blob_copy(&f->blob, data, len);
		if (!ret) {
			strcpy(f->name, name);
			fw->nr_files++;
			ret = fw_cfg_rebuild_dir(fw);
			if (ret) {
				fw->nr_files--;
				free(f->blob.data);
				memset(f, 0, sizeof(*f));
			}
		}
	}
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

int fw_cfg_set_file(struct device *dev, const char *name, const void *data, size_t len)
{
	struct fw_cfg_file *f;
	struct fw_cfg *fw;
	int ret;

	if (!fw_cfg_dev_ok(dev) || !name)
		return -EINVAL;
	fw = dev->priv;
	pthread_mutex_lock(&dev->lock);
	f = fw_cfg_find_file(fw, name);
	if (!f) {
		ret = -ENOENT;
	} else {
		ret = blob_copy(&f->blob, data, len);
		if (!ret)
			ret = fw_cfg_rebuild_dir(fw);
	}
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

/* ---- model ---- */

static int fw_cfg_create(struct device *dev, const struct device_args *args)
{
	struct fw_cfg *fw = calloc(1, sizeof(*fw));
	int ret;

	if (!fw)
		return -ENOMEM;
	fw->dev = dev;
	dev->priv = fw;
	ret = fw_cfg_rebuild_dir(fw);
	if (!ret)
		ret = bus_register(dev->host->pio, FW_CFG_PORT_SEL, FW_CFG_SEL_LEN, &fw_cfg_sel_ops,
				   dev, "fw_cfg");
	if (!ret)
		ret = bus_register(dev->host->pio, FW_CFG_PORT_DMA, FW_CFG_DMA_LEN, &fw_cfg_dma_ops,
				   dev, "fw_cfg-dma");
	return ret;
}

static void fw_cfg_reset(struct device *dev)
{
	struct fw_cfg *fw = dev->priv;

	fw_cfg_select(fw, FW_CFG_SIGNATURE);
	fw->dma_high = 0;
}

static int fw_cfg_save(struct device *dev, struct sv_writer *w)
{
	struct fw_cfg *fw = dev->priv;

	sv_put_u16(w, fw->selector);
	sv_put_u32(w, fw->offset);
	sv_put_u32(w, fw->dma_high);
	return 0;
}

static int fw_cfg_load(struct device *dev, struct sv_reader *r, uint32_t version)
{
	struct fw_cfg *fw = dev->priv;
	uint16_t selector = sv_get_u16(r);
	uint32_t offset = sv_get_u32(r);
	uint32_t dma_high = sv_get_u32(r);

	if (!sv_reader_ok(r, true))
		return -EINVAL;
	fw_cfg_select(fw, selector);
	/* The machine may refill the items after this; every use of the offset
	 * checks it against the item, so one past the end just reads zeros. */
	fw->offset = offset;
	fw->dma_high = dma_high;
	return 0;
}

static void fw_cfg_destroy(struct device *dev)
{
	struct fw_cfg *fw = dev->priv;
	unsigned int i;

	if (!fw)
		return;
	for (i = 0; i < FW_CFG_FILE_FIRST; i++)
		free(fw->items[i].data);
	for (i = 0; i < fw->nr_files; i++)
		free(fw->files[i].blob.data);
	free(fw->dir.data);
	free(fw);
	dev->priv = NULL;
}

const struct device_model fw_cfg_model = {
	.name = "fw_cfg",
	.state_version = 1,
	.create = fw_cfg_create,
	.reset = fw_cfg_reset,
	.save = fw_cfg_save,
	.load = fw_cfg_load,
	.destroy = fw_cfg_destroy,
};
