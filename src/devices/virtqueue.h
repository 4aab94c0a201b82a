/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Split virtqueues (virtio 1.2, section 2.7) as a device sees them.
 *
 * The three rings live in guest RAM; every address the driver gives is
 * checked through guest_mem when the queue starts (ring addresses) or
 * when a chain is walked (buffers, indirect tables).  A chain the driver
 * got wrong (index out of range, loop, nested indirect table, buffer
 * outside RAM, ...) makes vq_pop() fail with a reason in vq->error; the
 * transport then marks the device NEEDS_RESET.  Nothing here trusts a
 * value read from guest memory twice: each descriptor is copied once.
 *
 * Locking: the owner serialises every call on a queue (the device lock).
 * The segments a popped request hands out point into guest RAM and stay
 * valid while the RAM mapping does, so the owner may drop its lock while
 * it does I/O on them.
 */
#ifndef HUTCH_VIRTQUEUE_H
#define HUTCH_VIRTQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"

/* Descriptor flags (2.7.5) */
#define VIRTQ_DESC_F_NEXT      1
#define VIRTQ_DESC_F_WRITE     2
#define VIRTQ_DESC_F_INDIRECT  4
/* avail->flags: the driver does not want interrupts (2.7.7) */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
/* used->flags: the device does not want notifications (2.7.10) */
#define VIRTQ_USED_F_NO_NOTIFY 1

#define VIRTQ_DESC_SIZE    16
#define VIRTQ_MAX_SIZE     32768   /* 2.7: queue sizes are powers of two up to 32768 */
#define VIRTIO_NO_VECTOR   0xffff

/* Ring features a queue honours (bit numbers of the feature word, 6). */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX     29

/* One contiguous piece of a buffer, in host memory. */
struct vq_seg {
	uint8_t *p;
	uint32_t len;
};

/*
 * A popped request: the chain starting at descriptor @head, as
 * device-readable segments segs[0 .. nr_out) followed by device-writable
 * segments segs[nr_out .. nr_out + nr_in).  The caller owns @segs
 * (vq_req_init) and may reuse it once the request is pushed.
 */
struct vq_req {
	uint16_t head;
	unsigned int nr_out, nr_in;
	uint64_t out_len, in_len;   /* bytes readable / writable */
	struct vq_seg *segs;
	unsigned int cap;           /* room in segs */
};

struct virtqueue {
	/* Programmed by the driver through the transport. */
	uint16_t max_size;          /* what the device offers */
	uint16_t size;              /* what the driver chose */
	bool enabled;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint16_t msix_vector;

	/* Set by vq_start(). */
	bool started;
	bool event_idx;             /* VIRTIO_F_EVENT_IDX negotiated */
	bool indirect;              /* VIRTIO_F_INDIRECT_DESC negotiated */
	const struct guest_mem *gm;
	uint8_t *desc;              /* size * 16 bytes */
	uint8_t *avail;             /* flags, idx, ring[size], used_event */
	uint8_t *used;              /* flags, idx, ring[size] of {id, len}, avail_event */

	/* Device-side indices (saved and restored). */
	uint16_t last_avail_idx;    /* next avail ring slot to take */
	uint16_t used_idx;          /* next used ring slot to fill */
	uint16_t signalled_used;    /* used_idx at the last interrupt (event_idx) */
	bool signalled_valid;

	const char *error;          /* why the last vq_start/vq_pop failed */
};

/* Power-on state for a queue the device offers with @max_size entries. */
void vq_init(struct virtqueue *vq, uint16_t max_size);
/* Back to power-on state (device reset), keeping max_size. */
void vq_reset(struct virtqueue *vq);

/*
 * Check size and ring addresses and map the rings (the driver enabled the
 * queue, or state was restored): 0, or -EINVAL with vq->error set.  The
 * indices are kept, so a restored queue resumes where it was.
 */
int vq_start(struct virtqueue *vq, const struct guest_mem *gm, uint64_t features);

/* The segment array a request may use: at most @cap segments. */
void vq_req_init(struct vq_req *req, struct vq_seg *segs, unsigned int cap);

/*
 * Take the next available chain: 1 with @req filled, 0 if the ring is
 * empty, -EPROTO (malformed ring or chain; vq->error says why).  With
 * EVENT_IDX the avail_event field is kept at the next slot, so the driver
 * notifies exactly when it adds a buffer we have not seen.
 */
int vq_pop(struct virtqueue *vq, struct vq_req *req);

/*
 * Give back the chain popped last and not pushed: the next vq_pop returns
 * it again (a receive buffer the device could not use yet).  Chains go
 * back in the reverse order of their pops.
 */
void vq_unpop(struct virtqueue *vq);
/* Has the driver made buffers available that vq_pop has not taken yet?
 * A hint (no event index is armed): the caller still pops to find out. */
bool vq_has_avail(const struct virtqueue *vq);

/* Put @head back as used with @len bytes written into its writable part. */
void vq_push(struct virtqueue *vq, uint16_t head, uint32_t len);

/* After pushes: should the driver be interrupted (avail flags / used_event)? */
bool vq_need_interrupt(struct virtqueue *vq);

/*
 * Walking a request's readable or writable bytes as a stream.  Each step
 * yields at most one segment's worth of contiguous host memory.
 */
struct vq_iter {
	const struct vq_seg *seg;
	unsigned int nr;
	unsigned int i;
	uint32_t off;               /* into seg[i] */
	uint64_t left;              /* bytes after the cursor; lower it to stop early */
};

void vq_iter_out(struct vq_iter *it, const struct vq_req *req);
void vq_iter_in(struct vq_iter *it, const struct vq_req *req);
/* Up to @max contiguous bytes at the cursor, advancing it; 0 at the end. */
size_t vq_iter_next(struct vq_iter *it, size_t max, uint8_t **p);
/* Skip @len bytes (fewer at the end); returns the bytes skipped. */
size_t vq_iter_skip(struct vq_iter *it, size_t len);
/* Copy out of / into the stream; return the bytes copied (short at the end). */
size_t vq_iter_read(struct vq_iter *it, void *dst, size_t len);
size_t vq_iter_write(struct vq_iter *it, const void *src, size_t len);

#endif
