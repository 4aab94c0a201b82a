// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Split virtqueues (virtio 1.2, 2.7): chain walking, used ring publishing
 * and event-index interrupt/notification suppression.
 *
 * The driver shares the rings with us while it runs on other CPUs, so
 * ring fields are read with atomic loads and the barriers of 2.7.13:
 * read the avail index before the entries it covers (acquire), write used
 * entries before the used index (release), and a full fence between
 * publishing our index and reading the driver's event index (and back),
 * so neither side misses the other's update.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "virtqueue.h"

/* Ring layouts (2.7.6, 2.7.8): header of flags + idx, then the ring. */
#define RING_HDR      4
#define USED_ELEM     8

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

void vq_init(struct virtqueue *vq, uint16_t max_size)
{
	memset(vq, 0, sizeof(*vq));
	vq->max_size = max_size;
	vq_reset(vq);
}

void vq_reset(struct virtqueue *vq)
{
	uint16_t max = vq->max_size;

	memset(vq, 0, sizeof(*vq));
	vq->max_size = max;
	vq->size = max;   /* 4.1.4.3: queue_size reads the maximum after reset */
	vq->msix_vector = VIRTIO_NO_VECTOR;
}

static uint16_t load16(const uint8_t *p)
{
	return le16toh(__atomic_load_n((const uint16_t *)p, __ATOMIC_RELAXED));
}

static uint16_t load16_acquire(const uint8_t *p)
{
	return le16toh(__atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE));
}

static void store16(uint8_t *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)p, htole16(v), __ATOMIC_RELAXED);
}

/* The driver's avail->idx, the used_event and avail_event fields. */
static uint16_t *used_idx_ptr(const struct virtqueue *vq)
{
	return (uint16_t *)(vq->used + 2);
}

static uint8_t *used_event_ptr(const struct virtqueue *vq)
{
	return vq->avail + RING_HDR + 2u * vq->size;
}

static uint8_t *avail_event_ptr(const struct virtqueue *vq)
{
	return vq->used + RING_HDR + (size_t)USED_ELEM * vq->size;
}

static int vq_fail(struct virtqueue *vq, const char *why)
{
	vq->error = why;
	return -EPROTO;
}

int vq_start(struct virtqueue *vq, const struct guest_mem *gm, uint64_t features)
{
	uint64_t n = vq->size;

	vq->started = false;
	vq->desc = vq->avail = vq->used = NULL;
	/* 2.7: a power of two, and never more than the device offered. */
	if (!n || (n & (n - 1)) || n > vq->max_size) {
		vq->error = "queue size is not a power of two up to the maximum";
		return -EINVAL;
	}
	/* 2.7, table "Virtqueue Part Alignment": 16, 2 and 4 bytes. */
	if ((vq->desc_gpa & 15) || (vq->avail_gpa & 1) || (vq->used_gpa & 3)) {
		vq->error = "misaligned ring address";
		return -EINVAL;
	}
	vq->gm = gm;
	vq->event_idx = features & (1ULL << VIRTIO_F_EVENT_IDX);
	vq->indirect = features & (1ULL << VIRTIO_F_INDIRECT_DESC);
	/* The event fields exist whether or not EVENT_IDX is negotiated. */
	vq->desc = gm_slice(gm, vq->desc_gpa, n * VIRTQ_DESC_SIZE);
	vq->avail = gm_slice(gm, vq->avail_gpa, RING_HDR + 2 * n + 2);
	vq->used = gm_slice(gm, vq->used_gpa, RING_HDR + USED_ELEM * n + 2);
	if (!vq->desc || !vq->avail || !vq->used) {
		vq->desc = vq->avail = vq->used = NULL;
		vq->error = "ring outside guest RAM";
		return -EINVAL;
	}
	vq->started = true;
	return 0;
}

void vq_req_init(struct vq_req *req, struct vq_seg *segs, unsigned int cap)
{
	memset(req, 0, sizeof(*req));
	req->segs = segs;
	req->cap = cap;
}

/* Copy descriptor @i of @table once: the guest may rewrite it under us. */
static void read_desc(const uint8_t *table, unsigned int i, struct desc *d)
{
	uint8_t raw[VIRTQ_DESC_SIZE];

	memcpy(raw, table + (size_t)i * VIRTQ_DESC_SIZE, sizeof(raw));
	__asm__ __volatile__("" ::: "memory");
	memcpy(&d->addr, raw, 8);
	memcpy(&d->len, raw + 8, 4);
	memcpy(&d->flags, raw + 12, 2);
	memcpy(&d->next, raw + 14, 2);
	d->addr = le64toh(d->addr);
	d->len = le32toh(d->len);
	d->flags = le16toh(d->flags);
	d->next = le16toh(d->next);
}

static int add_seg(struct virtqueue *vq, struct vq_req *req, const struct desc *d)
{
	struct vq_seg *s;
	uint8_t *p;

	/* 2.7.4.2: device-writable buffers come after all readable ones. */
	if (!(d->flags & VIRTQ_DESC_F_WRITE) && req->nr_in)
		return vq_fail(vq, "readable descriptor after a writable one");
	if (!d->len)
		return vq_fail(vq, "zero-length buffer");
	if (req->nr_out + req->nr_in >= req->cap)
		return vq_fail(vq, "too many descriptors in a chain");
	p = gm_slice(vq->gm, d->addr, d->len);
	if (!p)
		return vq_fail(vq, "buffer outside guest RAM");
	s = &req->segs[req->nr_out + req->nr_in];
	s->p = p;
	s->len = d->len;
	if (d->flags & VIRTQ_DESC_F_WRITE) {
		req->nr_in++;
		req->in_len += d->len;
	} else {
		req->nr_out++;
		req->out_len += d->len;
	}
	return 0;
}

/*
 * Walk the chain at @head.  A chain visits at most as many descriptors as
 * its table has (more means a loop); an indirect table (2.7.5.3) may not
 * hold another, must be a whole number of descriptors and at most the
 * queue's maximum size, and ends the chain that pointed to it.
 */
static int walk_chain(struct virtqueue *vq, uint16_t head, struct vq_req *req)
{
	const uint8_t *table = vq->desc;
	unsigned int n = vq->size, i = head, visited = 0;
	bool in_indirect = false;
	struct desc d;
	int ret;

	req->head = head;
	req->nr_out = req->nr_in = 0;
	req->out_len = req->in_len = 0;
	for (;;) {
		if (i >= n)
			return vq_fail(vq, "descriptor index out of range");
		if (++visited > n)
			return vq_fail(vq, "descriptor loop");
		read_desc(table, i, &d);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (!vq->indirect)
				return vq_fail(vq, "indirect descriptor not negotiated");
			if (in_indirect)
				return vq_fail(vq, "nested indirect table");
			if (d.flags & VIRTQ_DESC_F_NEXT)
				return vq_fail(vq, "indirect descriptor with NEXT");
			if (!d.len || d.len % VIRTQ_DESC_SIZE ||
			    d.len / VIRTQ_DESC_SIZE > vq->max_size)
				return vq_fail(vq, "bad indirect table length");
			table = gm_slice(vq->gm, d.addr, d.len);
			if (!table)
				return vq_fail(vq, "indirect table outside guest RAM");
			n = d.len / VIRTQ_DESC_SIZE;
			i = 0;
			visited = 0;
			in_indirect = true;
			continue;
		}
		ret = add_seg(vq, req, &d);
		if (ret)
			return ret;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		i = d.next;
	}
}

int vq_pop(struct virtqueue *vq, struct vq_req *req)
{
	uint16_t avail_idx, head;

	if (!vq->started)
		return 0;
	avail_idx = load16_acquire(vq->avail + 2);
	if (avail_idx == vq->last_avail_idx) {
		if (!vq->event_idx)
			return 0;
		/*
		 * Ask for a notification when the next buffer arrives, then
		 * look again: the driver may have added one before it could
		 * see the new avail_event (2.7.10, 2.7.13).
		 */
		store16(avail_event_ptr(vq), vq->last_avail_idx);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		avail_idx = load16_acquire(vq->avail + 2);
		if (avail_idx == vq->last_avail_idx)
			return 0;
	}
	if ((uint16_t)(avail_idx - vq->last_avail_idx) > vq->size)
		return vq_fail(vq, "avail index moved by more than the queue size");
	head = load16(vq->avail + RING_HDR + 2u * (vq->last_avail_idx & (vq->size - 1)));
	if (walk_chain(vq, head, req))
		return -EPROTO;
	vq->last_avail_idx++;
	return 1;
}

bool vq_has_avail(const struct virtqueue *vq)
{
	return vq->started && load16_acquire(vq->avail + 2) != vq->last_avail_idx;
}

void vq_unpop(struct virtqueue *vq)
{
	/* The avail ring still holds the chain: the driver reuses no entry before it is used. */
	if (vq->started)
		vq->last_avail_idx--;
}

void vq_push(struct virtqueue *vq, uint16_t head, uint32_t len)
{
	uint8_t *e;
	uint32_t v;

	if (!vq->started)
		return;
	e = vq->used + RING_HDR + (size_t)USED_ELEM * (vq->used_idx & (vq->size - 1));
	v = htole32(head);
	memcpy(e, &v, 4);
	v = htole32(len);
	memcpy(e + 4, &v, 4);
	vq->used_idx++;
	/* The element must be visible before the index that covers it. */
	__atomic_store_n(used_idx_ptr(vq), htole16(vq->used_idx), __ATOMIC_RELEASE);
}

/* 2.7.10: has new_idx moved past event since old? (wrap-safe) */
static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

bool vq_need_interrupt(struct virtqueue *vq)
{
	uint16_t old, event;
	bool valid;

	if (!vq->started)
		return false;
	/* Our used index must be visible before we read the driver's wishes. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx)
		return !(load16(vq->avail) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	old = vq->signalled_used;
	valid = vq->signalled_valid;
	vq->signalled_used = vq->used_idx;
	vq->signalled_valid = true;
	event = load16(used_event_ptr(vq));
	return !valid || need_event(event, vq->used_idx, old);
}

static void iter_init(struct vq_iter *it, const struct vq_seg *seg, unsigned int nr, uint64_t len)
{
	it->seg = seg;
	it->nr = nr;
	it->i = 0;
	it->off = 0;
	it->left = len;
}

void vq_iter_out(struct vq_iter *it, const struct vq_req *req)
{
	iter_init(it, req->segs, req->nr_out, req->out_len);
}

void vq_iter_in(struct vq_iter *it, const struct vq_req *req)
{
	iter_init(it, req->segs + req->nr_out, req->nr_in, req->in_len);
}

size_t vq_iter_next(struct vq_iter *it, size_t max, uint8_t **p)
{
	size_t n;

	while (it->i < it->nr && it->off == it->seg[it->i].len) {
		it->i++;
		it->off = 0;
	}
	if (it->i == it->nr || !max || !it->left)
		return 0;
	n = it->seg[it->i].len - it->off;
	if (n > max)
		n = max;
	if (n > it->left)
		n = (size_t)it->left;
	*p = it->seg[it->i].p + it->off;
	it->off += (uint32_t)n;
	it->left -= n;
	return n;
}

size_t vq_iter_skip(struct vq_iter *it, size_t len)
{
	size_t done = 0, n;
	uint8_t *p;

	while (done < len && (n = vq_iter_next(it, len - done, &p)))
		done += n;
	return done;
}

size_t vq_iter_read(struct vq_iter *it, void *dst, size_t len)
{
	size_t done = 0, n;
	uint8_t *p;

	while (done < len && (n = vq_iter_next(it, len - done, &p))) {
		memcpy((uint8_t *)dst + done, p, n);
		done += n;
	}
	return done;
}

size_t vq_iter_write(struct vq_iter *it, const void *src, size_t len)
{
	size_t done = 0, n;
	uint8_t *p;

	while (done < len && (n = vq_iter_next(it, len - done, &p))) {
		memcpy(p, (const uint8_t *)src + done, n);
		done += n;
	}
	return done;
}
