// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * virtio-blk (virtio 1.2, section 5.2) on the modern PCI transport.
 *
 * One disk image per device (device_args.drives[0]).  Requests are served
 * by the device's pool of I/O threads (io_worker.h): a notification only
 * kicks it.  A thread takes one request (the queues in turn, so none
 * starves), kicks the pool so another idle thread takes the next one,
 * drops the device lock around the image I/O, which goes straight
 * between the image and guest RAM, and puts the request in the used ring
 * when it is done.  So up to the pool's size requests are in flight at
 * once and complete out of order: the used ring lists them in the order
 * they finished (virtio 1.2, 2.7.8: the device may use buffers in any
 * order), each with its own status byte and length.
 *
 * Queues: device_args.nr_queues request queues (VIRTIO_BLK_F_MQ), default
 * 1.  Every queue is served by the same pool, so more queues only spare
 * the guest its own queue lock; Linux uses min(vCPUs, num_queues).
 *
 * A request the driver got wrong (sector past the end, length not whole
 * sectors, unknown type, short header, more segments or bigger ones than
 * seg_max and size_max allow) completes with IOERR or UNSUPP; a malformed
 * descriptor chain makes the transport mark the device NEEDS_RESET.
 * Neither stops the VMM.
 *
 * Limits (5.2.4, offered with VIRTIO_BLK_F_SEG_MAX / F_SIZE_MAX): at most
 * VBLK_SEG_MAX data segments plus the header and status ones, each at
 * most VBLK_SIZE_MAX bytes.  So a request moves at most VBLK_MAX_REQUEST
 * bytes (254 MiB), and its used length always fits its uint32_t.  They
 * are enforced, not only advertised: without them one request could name
 * the same RAM hundreds of times at up to 4 GiB each.
 *
 * A reset (status 0 or machine reset) cancels every request in flight:
 * each transfer stops at its next IO_CHUNK piece (io_req_rw) and is not
 * used, so a reset waits for one piece of image I/O per thread.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "devices.h"
#include "io_worker.h"
#include "virtio_pci.h"

#define VIRTIO_ID_BLOCK          2
#define PCI_CLASS_STORAGE_SCSI   0x010000  /* what virtio-blk has always reported */

/* Feature bits (5.2.3) */
#define VIRTIO_BLK_F_SIZE_MAX     1
#define VIRTIO_BLK_F_SEG_MAX      2
#define VIRTIO_BLK_F_RO           5
#define VIRTIO_BLK_F_BLK_SIZE     6
#define VIRTIO_BLK_F_FLUSH        9
#define VIRTIO_BLK_F_MQ           12
#define VIRTIO_BLK_F_DISCARD      13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* Device configuration layout (5.2.4), offsets. */
#define CFG_CAPACITY              0x00  /* le64, 512-byte sectors */
#define CFG_SIZE_MAX              0x08  /* le32 */
#define CFG_SEG_MAX               0x0c  /* le32 */
#define CFG_BLK_SIZE              0x14  /* le32 */
#define CFG_NUM_QUEUES            0x22  /* le16 */
#define CFG_MAX_DISCARD_SECTORS   0x24  /* le32 */
#define CFG_MAX_DISCARD_SEG       0x28  /* le32 */
#define CFG_DISCARD_ALIGNMENT     0x2c  /* le32, sectors */
#define CFG_MAX_WZ_SECTORS        0x30  /* le32 */
#define CFG_MAX_WZ_SEG            0x34  /* le32 */
#define CFG_WZ_MAY_UNMAP          0x38  /* u8 */
#define CFG_LEN                   0x3c  /* through unused1[3] */

/* Request types and status (5.2.6) */
#define VIRTIO_BLK_T_IN           0
#define VIRTIO_BLK_T_OUT          1
#define VIRTIO_BLK_T_FLUSH        4
#define VIRTIO_BLK_T_GET_ID       8
#define VIRTIO_BLK_T_DISCARD      11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_S_OK           0
#define VIRTIO_BLK_S_IOERR        1
#define VIRTIO_BLK_S_UNSUPP       2
#define VIRTIO_BLK_ID_BYTES       20
#define VIRTIO_BLK_HDR_LEN        16     /* le32 type, le32 reserved, le64 sector */
#define VIRTIO_BLK_RANGE_LEN      16     /* le64 sector, le32 num_sectors, le32 flags */
#define VIRTIO_BLK_WZ_F_UNMAP     1

#define SECTOR                    512u
#define VBLK_QUEUE_SIZE           256
#define VBLK_SEG_MAX              (VBLK_QUEUE_SIZE - 2)  /* header and status take two */
#define VBLK_SIZE_MAX             (1u << 20)
#define VBLK_MAX_QUEUES           16
#define VBLK_DEFAULT_QUEUES       1
#define VBLK_MAX_RANGES           32     /* discard / write-zeroes segments */
#define VBLK_MAX_RANGE_SECTORS    (1u << 22)   /* 2 GiB per range */
/* Segments a chain may have: up to a queue of direct descriptors before an
 * indirect table of a queue's size (virtqueue.c), so a longer chain than
 * seg_max allows reaches the check below instead of failing the ring. */
#define VBLK_CHAIN_MAX            (2 * VBLK_QUEUE_SIZE)
#define VBLK_MAX_REQUEST          ((uint64_t)VBLK_SEG_MAX * VBLK_SIZE_MAX)

struct vblk {
	struct virtio_pci vp;       /* first: the transport finds itself in dev->priv */
	struct device *dev;
	struct blk_image *img;
	bool readonly;
	bool discard;               /* DISCARD offered */
	uint64_t capacity;          /* sectors */
	char serial[VIRTIO_BLK_ID_BYTES];
	uint8_t config[CFG_LEN];
	struct io_worker *worker;
	unsigned int next_queue;    /* where the next pick-up starts (round robin) */
	/* Per pool thread (indexed by io_work_fn's thread): its request. */
	struct vblk_thread {
		struct vq_seg *segs;    /* VBLK_CHAIN_MAX */
		struct iovec *iov;      /* the request's data, VBLK_CHAIN_MAX */
	} threads[IO_WORKER_MAX_THREADS];
	unsigned int nr_threads;
};

static void put_le(uint8_t *p, uint64_t v, unsigned int size)
{
	for (unsigned int i = 0; i < size; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* [sector, sector + bytes/512) inside the disk?  (No wrap: all in 64 bits.) */
static bool range_ok(const struct vblk *b, uint64_t sector, uint64_t bytes)
{
	return sector <= b->capacity && bytes / SECTOR <= b->capacity - sector;
}

/*
 * The request's data segments as an I/O vector over guest RAM (the
 * iterator is advanced past them).  io_req_rw then moves the data
 * straight between them and the image, IO_CHUNK bytes per call with a
 * cancel check between, in one vectored call each: no bounce copy, and
 * no call per page (Linux sends page-sized segments).
 */
static unsigned int vblk_iov(struct iovec *iov, struct vq_iter *it, uint64_t len)
{
	unsigned int n = 0;
	uint8_t *p;
	size_t got;

	while (len && n < VBLK_CHAIN_MAX && (got = vq_iter_next(it, len, &p))) {
		iov[n].iov_base = p;
		iov[n].iov_len = got;
		n++;
		len -= got;
	}
	return n;
}

/* T_IN: image -> the request's writable buffers (all but the status byte). */
static uint8_t vblk_read(struct vblk *b, struct iovec *iov, const struct io_req *io,
			 struct vq_iter *in,
			 uint64_t sector, uint64_t len, uint64_t *written)
{
	unsigned int n;
	int ret;

	if (len % SECTOR || !range_ok(b, sector, len)) {
		device_log(b->dev, "read of %llu bytes at sector %llu: outside the disk or not whole sectors",
			   (unsigned long long)len, (unsigned long long)sector);
		return VIRTIO_BLK_S_IOERR;
	}
	n = vblk_iov(iov, in, len);
	ret = io_req_rw(io, b->img, iov, n, sector * SECTOR, len, false);
	if (ret == -ECANCELED)
		return VIRTIO_BLK_S_IOERR;   /* a reset: not used, nobody sees it */
	if (ret < 0) {
		device_log(b->dev, "read error: %s", blk_last_error(b->img));
		return VIRTIO_BLK_S_IOERR;
	}
	*written += len;
	return VIRTIO_BLK_S_OK;
}

/* T_OUT: the readable buffers after the header -> image. */
static uint8_t vblk_write(struct vblk *b, struct iovec *iov, const struct io_req *io,
			  struct vq_iter *out, uint64_t sector)
{
	uint64_t len = out->left;
	unsigned int n;
	int ret;

	if (b->readonly)
		return VIRTIO_BLK_S_IOERR;   /* 5.2.6.2: and nothing is written */
	if (len % SECTOR || !range_ok(b, sector, len)) {
		device_log(b->dev, "write of %llu bytes at sector %llu: outside the disk or not whole sectors",
			   (unsigned long long)len, (unsigned long long)sector);
		return VIRTIO_BLK_S_IOERR;
	}
	n = vblk_iov(iov, out, len);
	ret = io_req_rw(io, b->img, iov, n, sector * SECTOR, len, true);
	if (ret == -ECANCELED)
		return VIRTIO_BLK_S_IOERR;
	if (ret < 0) {
		device_log(b->dev, "write error: %s", blk_last_error(b->img));
		return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

/* T_DISCARD / T_WRITE_ZEROES: an array of ranges after the header (5.2.6). */
static uint8_t vblk_ranges(struct vblk *b, const struct io_req *io, struct vq_iter *out,
			   uint32_t type)
{
	bool zeroes = type == VIRTIO_BLK_T_WRITE_ZEROES;
	uint64_t nr = out->left / VIRTIO_BLK_RANGE_LEN;

	if (!zeroes && !b->discard)
		return VIRTIO_BLK_S_UNSUPP;
	if (b->readonly)
		return VIRTIO_BLK_S_UNSUPP;   /* neither feature is offered read-only */
	if (!nr || out->left % VIRTIO_BLK_RANGE_LEN || nr > VBLK_MAX_RANGES) {
		device_log(b->dev, "%s with %llu bytes of ranges", zeroes ? "write-zeroes" : "discard",
			   (unsigned long long)out->left);
		return VIRTIO_BLK_S_IOERR;
	}
	for (uint64_t i = 0; i < nr; i++) {
		uint8_t raw[VIRTIO_BLK_RANGE_LEN];
		uint64_t sector;
		uint32_t count, flags;
		int ret;

		vq_iter_read(out, raw, sizeof(raw));
		memcpy(&sector, raw, 8);
		memcpy(&count, raw + 8, 4);
		memcpy(&flags, raw + 12, 4);
		sector = le64toh(sector);
		count = le32toh(count);
		flags = le32toh(flags);
		/* 5.2.6.2: unknown flags, and unmap on a discard, are unsupported. */
		if ((flags & ~VIRTIO_BLK_WZ_F_UNMAP) || (!zeroes && flags))
			return VIRTIO_BLK_S_UNSUPP;
		if (count > VBLK_MAX_RANGE_SECTORS || !range_ok(b, sector, (uint64_t)count * SECTOR)) {
			device_log(b->dev, "%s of %u sectors at %llu: outside the disk or too long",
				   zeroes ? "write-zeroes" : "discard", count, (unsigned long long)sector);
			return VIRTIO_BLK_S_IOERR;
		}
		if (!count)
			continue;
		if (io_req_cancelled(io))
			return VIRTIO_BLK_S_IOERR;
		if (zeroes)
			ret = blk_pwrite_zeroes(b->img, sector * SECTOR, (uint64_t)count * SECTOR,
						(flags & VIRTIO_BLK_WZ_F_UNMAP) && b->discard ?
						BLK_ZEROES_MAY_UNMAP : 0);
		else
			ret = blk_discard(b->img, sector * SECTOR, (uint64_t)count * SECTOR);
		if (ret < 0) {
			device_log(b->dev, "%s error: %s", zeroes ? "write-zeroes" : "discard",
				   blk_last_error(b->img));
			return VIRTIO_BLK_S_IOERR;
		}
	}
	return VIRTIO_BLK_S_OK;
}

/*
 * Within seg_max and size_max (5.2.4)?  The header and the status byte
 * take a segment each beyond seg_max's data segments, as Linux counts.
 */
static bool vblk_limits_ok(struct vblk *b, const struct vq_req *req)
{
	unsigned int nr = req->nr_out + req->nr_in;

	if (nr > VBLK_SEG_MAX + 2) {
		device_log(b->dev, "request of %u segments, seg_max is %u", nr, VBLK_SEG_MAX);
		return false;
	}
	for (unsigned int i = 0; i < nr; i++) {
		if (req->segs[i].len > VBLK_SIZE_MAX) {
			device_log(b->dev, "request segment of %u bytes, size_max is %u",
				   req->segs[i].len, VBLK_SIZE_MAX);
			return false;
		}
	}
	/* seg_max data segments of size_max, header and status: the bound the
	 * used length relies on (two size_max segments more would pass above). */
	if (req->out_len + req->in_len > VBLK_MAX_REQUEST + VIRTIO_BLK_HDR_LEN + 1) {
		device_log(b->dev, "request of %llu bytes, at most %llu",
			   (unsigned long long)(req->out_len + req->in_len),
			   (unsigned long long)VBLK_MAX_REQUEST);
		return false;
	}
	return true;
}

/*
 * Serve one request (I/O thread, device lock dropped).  Returns the bytes
 * written into its writable part, status byte included (the used length).
 */
static uint32_t vblk_handle(struct vblk *b, struct iovec *iov, const struct vq_req *req,
			    const struct io_req *io)
{
	const struct vq_seg *last;
	struct vq_iter out, in;
	uint8_t hdr[VIRTIO_BLK_HDR_LEN], status;
	uint64_t sector, written = 0;
	uint32_t type;

	/* 5.2.6: the status is the last writable byte; without one nothing can be reported. */
	if (!req->nr_in) {
		device_log(b->dev, "request without a status byte dropped");
		return 0;
	}
	last = &req->segs[req->nr_out + req->nr_in - 1];
	vq_iter_in(&in, req);
	in.left = req->in_len - 1;
	vq_iter_out(&out, req);
	if (!vblk_limits_ok(b, req)) {
		status = VIRTIO_BLK_S_IOERR;
		goto done;
	}
	if (vq_iter_read(&out, hdr, sizeof(hdr)) < sizeof(hdr)) {
		device_log(b->dev, "request header shorter than %d bytes", VIRTIO_BLK_HDR_LEN);
		status = VIRTIO_BLK_S_IOERR;
		goto done;
	}
	memcpy(&type, hdr, 4);
	memcpy(&sector, hdr + 8, 8);
	type = le32toh(type);
	sector = le64toh(sector);

	switch (type) {
	case VIRTIO_BLK_T_IN:
		status = vblk_read(b, iov, io, &in, sector, in.left, &written);
		break;
	case VIRTIO_BLK_T_OUT:
		status = vblk_write(b, iov, io, &out, sector);
		break;
	case VIRTIO_BLK_T_FLUSH:
		status = blk_flush(b->img) < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
		break;
	case VIRTIO_BLK_T_GET_ID:
		/* 20 bytes, NUL-padded (not terminated when all 20 are used). */
		written = vq_iter_write(&in, b->serial, sizeof(b->serial));
		status = VIRTIO_BLK_S_OK;
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		status = vblk_ranges(b, io, &out, type);
		break;
	default:
		status = VIRTIO_BLK_S_UNSUPP;
		break;
	}
done:
	/* A cancelled request is not used: its status byte stays unwritten too. */
	if (!io_req_cancelled(io))
		last->p[last->len - 1] = status;
	/* written <= in_len - 1 <= VBLK_MAX_REQUEST (checked above): no wrap. */
	return (uint32_t)(written + 1);
}

/*
 * Device lock held: take the next request, the queues in turn from where
 * the last one was found.  The queue's number, or -1 if none is waiting.
 */
static int vblk_pick(struct vblk *b, struct vq_req *req, struct io_req *io)
{
	struct virtio_pci *vp = &b->vp;

	for (unsigned int k = 0; k < vp->nr_queues; k++) {
		unsigned int q = (b->next_queue + k) % vp->nr_queues;

		if (virtio_pci_pop(vp, q, req, io) > 0) {
			b->next_queue = (q + 1) % vp->nr_queues;
			return (int)q;
		}
	}
	return -1;
}

static bool vblk_more_waiting(const struct vblk *b)
{
	for (unsigned int q = 0; q < b->vp.nr_queues; q++)
		if (vq_has_avail(&b->vp.vqs[q]))
			return true;
	return false;
}

/*
 * A pool thread: take one request at a time until every queue is empty.
 * Before it drops the lock to run one, it kicks the pool if more are
 * waiting, so an idle thread runs the next one meanwhile; each request
 * is used (and interrupts) as soon as it is done, whatever the others do.
 */
static void vblk_work(void *opaque, unsigned int thread)
{
	struct vblk *b = opaque;
	struct vblk_thread *t = &b->threads[thread];
	struct virtio_pci *vp = &b->vp;
	struct vq_req req;
	struct io_req io;
	uint32_t len;
	int q;

	io_req_init(&io);
	vq_req_init(&req, t->segs, VBLK_CHAIN_MAX);
	pthread_mutex_lock(&b->dev->lock);
	while ((q = vblk_pick(b, &req, &io)) >= 0) {
		if (vblk_more_waiting(b))
			io_worker_kick(b->worker);
		pthread_mutex_unlock(&b->dev->lock);
		len = vblk_handle(b, t->iov, &req, &io);
		pthread_mutex_lock(&b->dev->lock);
		virtio_pci_complete(vp, (unsigned int)q, &io, req.head, len);
		virtio_pci_notify_used(vp, (unsigned int)q);
	}
	pthread_mutex_unlock(&b->dev->lock);
}

static void vblk_kick(struct virtio_pci *vp, unsigned int queue)
{
	io_worker_kick(((struct vblk *)vp->opaque)->worker);
}

static void vblk_driver_ok(struct virtio_pci *vp)
{
	io_worker_kick(((struct vblk *)vp->opaque)->worker);
}

static const struct virtio_pci_ops vblk_ops = {
	.notify = vblk_kick,
	.driver_ok = vblk_driver_ok,
};

static void vblk_build_config(struct vblk *b, unsigned int nr_queues)
{
	uint32_t align = blk_cluster_size(b->img);

	/* Discards smaller than a cluster do nothing: tell the guest the granularity. */
	if (align < 4096)
		align = 4096;
	put_le(b->config + CFG_CAPACITY, b->capacity, 8);
	put_le(b->config + CFG_SIZE_MAX, VBLK_SIZE_MAX, 4);
	put_le(b->config + CFG_SEG_MAX, VBLK_SEG_MAX, 4);
	put_le(b->config + CFG_BLK_SIZE, SECTOR, 4);
	put_le(b->config + CFG_NUM_QUEUES, nr_queues, 2);
	put_le(b->config + CFG_MAX_DISCARD_SECTORS, VBLK_MAX_RANGE_SECTORS, 4);
	put_le(b->config + CFG_MAX_DISCARD_SEG, VBLK_MAX_RANGES, 4);
	put_le(b->config + CFG_DISCARD_ALIGNMENT, align / SECTOR, 4);
	put_le(b->config + CFG_MAX_WZ_SECTORS, VBLK_MAX_RANGE_SECTORS, 4);
	put_le(b->config + CFG_MAX_WZ_SEG, VBLK_MAX_RANGES, 4);
	b->config[CFG_WZ_MAY_UNMAP] = b->discard;
}

static int vblk_create(struct device *dev, const struct device_args *args)
{
	const struct drive_args *d = args->nr_drives == 1 ? &args->drives[0] : NULL;
	unsigned int nr_queues = args->nr_queues ? args->nr_queues : VBLK_DEFAULT_QUEUES;
	struct virtio_pci_params p = { 0 };
	const char *src;
	char name[16];
	struct vblk *b;
	int ret;

	if (!d || !d->img || d->cdrom) {
		device_log(dev, "virtio-blk needs exactly one disk image");
		return -EINVAL;
	}
	if (nr_queues > VBLK_MAX_QUEUES) {
		device_log(dev, "%u queues asked for, at most %d", nr_queues, VBLK_MAX_QUEUES);
		return -EINVAL;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	dev->priv = b;
	b->dev = dev;
	b->img = d->img;
	b->readonly = d->readonly || (blk_caps(d->img) & BLK_CAP_READONLY);
	b->discard = !b->readonly && (blk_caps(d->img) & BLK_CAP_DISCARD);
	b->capacity = blk_size(d->img) / SECTOR;
	/* GET_ID's format: up to 20 bytes, NUL-padded (calloc), not terminated. */
	src = d->serial[0] ? d->serial : dev->id;
	memcpy(b->serial, src, strnlen(src, sizeof(b->serial)));
	vblk_build_config(b, nr_queues);
	b->nr_threads = io_worker_default_threads();
	for (unsigned int i = 0; i < b->nr_threads; i++) {
		b->threads[i].segs = calloc(VBLK_CHAIN_MAX, sizeof(*b->threads[i].segs));
		b->threads[i].iov = calloc(VBLK_CHAIN_MAX, sizeof(*b->threads[i].iov));
		if (!b->threads[i].segs || !b->threads[i].iov)
			return -ENOMEM;
	}

	p.device_type = VIRTIO_ID_BLOCK;
	p.class_code = PCI_CLASS_STORAGE_SCSI;
	p.nr_queues = nr_queues;
	p.queue_size = VBLK_QUEUE_SIZE;
	p.features = 1ULL << VIRTIO_BLK_F_SIZE_MAX | 1ULL << VIRTIO_BLK_F_SEG_MAX |
		     1ULL << VIRTIO_BLK_F_BLK_SIZE | 1ULL << VIRTIO_BLK_F_FLUSH |
		     1ULL << VIRTIO_BLK_F_MQ;
	if (b->readonly)
		p.features |= 1ULL << VIRTIO_BLK_F_RO;
	else
		p.features |= 1ULL << VIRTIO_BLK_F_WRITE_ZEROES;
	if (b->discard)
		p.features |= 1ULL << VIRTIO_BLK_F_DISCARD;
	p.config = b->config;
	p.config_len = CFG_LEN;
	p.pci_slot = args->pci_slot;
	ret = virtio_pci_init(&b->vp, dev, &p, &vblk_ops, b);
	if (ret < 0)
		return ret;

	/* Thread names hold 15 characters. */
	memcpy(name, dev->id, sizeof(name) - 1);
	name[sizeof(name) - 1] = 0;
	b->worker = io_worker_start(name, b->nr_threads, vblk_work, b);
	return b->worker ? 0 : -errno;
}

static void vblk_reset(struct device *dev)
{
	struct vblk *b = dev->priv;

	virtio_pci_reset(&b->vp);
}

static int vblk_save(struct device *dev, struct sv_writer *w)
{
	struct vblk *b = dev->priv;
	int ret = virtio_pci_save(&b->vp, w);

	/* The disk itself is the image's business; only guard against a swapped one. */
	sv_put_u64(w, b->capacity);
	virtio_pci_resume(&b->vp);
	io_worker_kick(b->worker);
	return ret;
}

static int vblk_load(struct device *dev, struct sv_reader *r, uint32_t version)
{
	struct vblk *b = dev->priv;
	int ret = virtio_pci_load(&b->vp, r);

	if (ret)
		return ret;
	if (sv_get_u64(r) != b->capacity || !sv_reader_ok(r, true))
		return -EINVAL;
	io_worker_kick(b->worker);   /* buffers the driver queued before the snapshot */
	return 0;
}

static void vblk_destroy(struct device *dev)
{
	struct vblk *b = dev->priv;

	if (!b)
		return;
	/* No ioeventfd may kick the worker once it is gone. */
	virtio_pci_stop_notifiers(&b->vp);
	io_worker_stop(b->worker);
	virtio_pci_destroy(&b->vp);
	for (unsigned int i = 0; i < b->nr_threads; i++) {
		free(b->threads[i].segs);
		free(b->threads[i].iov);
	}
	free(b);
}

const struct device_model virtio_blk_model = {
	.name = "virtio-blk",
	.state_version = 1,
	.create = vblk_create,
	.reset = vblk_reset,
	.save = vblk_save,
	.load = vblk_load,
	.destroy = vblk_destroy,
};
