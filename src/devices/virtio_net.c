// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * virtio-net (virtio 1.2, section 5.1) on the modern PCI transport.
 *
 * One adapter per device: its back end (NAT, bridged, intnet, null) is
 * device_args.net, reached only through net.h, and its MAC address is
 * device_args.mac.  Three queues: receiveq1, transmitq1, controlq.
 *
 * Everything runs synchronously under the device lock; no I/O thread.
 * A frame costs a copy and a call into the back end that never blocks
 * (net_send), so a notification is served where it arrives: on the
 * event loop's thread through the queue's ioeventfd, or on the vCPU
 * thread for a trapped write.  Requests are popped and completed
 * without the lock dropped in between, so a reset (which takes the
 * lock) never finds one in flight.
 *
 * Transmit: the TX queue's notification sends at most VNET_TX_BUDGET
 * chains (and VNET_TX_FRAME_BUDGET frames after segmentation); if more
 * are waiting, a timer on the loop goes on with the rest, since with
 * EVENT_IDX the driver does not notify again for buffers it added
 * while we were busy (the used ring's avail_event only moves when a pop
 * finds the ring empty, virtqueue.c).  Each chain is copied once into a
 * linear buffer: the guest cannot change a header between our check
 * and its use, the partial checksum (NEEDS_CSUM) is completed there,
 * and a GSO frame (HOST_TSO4/6, HOST_ECN) is cut into MSS-sized frames
 * by offload.c, unless the back end takes such frames whole
 * (net_takes_gso: a TAP with virtio headers), where the host kernel does
 * both.  Toward the guest every back end delivers plain, finished
 * frames, so nothing is offered there (no GUEST_CSUM, no GUEST_TSO).
 *
 * Receive: net.c hands frames over on the loop thread (receive()).  A
 * frame the receive filter rejects, or that comes while the driver is
 * not running, is dropped.  With MRG_RXBUF the frame is spread over as
 * many buffers as it needs (num_buffers in the header); without, it
 * must fit the first buffer, else it is dropped as a frame longer than
 * the receiver's would be.  Too few buffers: the ones taken are given
 * back (virtio_pci_unpop), receive() returns false so net.c keeps the
 * frame, and the next RX notification calls net_rx_ready().
 *
 * The control queue (5.1.6.5) sets the receive filter: promiscuous,
 * all-multicast and the CTRL_RX_EXTRA modes, the MAC address
 * (CTRL_MAC_ADDR) and the unicast and multicast MAC tables.  The
 * filter starts promiscuous, as QEMU's does, so a driver that never
 * configures it (no CTRL_RX) sees everything; Linux sets it at open.
 *
 * Link status (VIRTIO_NET_F_STATUS) follows the cable (net_link_up,
 * link_changed), with a configuration interrupt when it changes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices.h"
#include "net.h"
#include "offload.h"
#include "virtio_pci.h"

#define VIRTIO_ID_NET              1
#define PCI_CLASS_NETWORK_ETHERNET 0x020000

/* Feature bits (5.1.3) */
#define VIRTIO_NET_F_CSUM           0
#define VIRTIO_NET_F_MAC            5
#define VIRTIO_NET_F_HOST_TSO4      11
#define VIRTIO_NET_F_HOST_TSO6      12
#define VIRTIO_NET_F_HOST_ECN       13
#define VIRTIO_NET_F_MRG_RXBUF      15
#define VIRTIO_NET_F_STATUS         16
#define VIRTIO_NET_F_CTRL_VQ        17
#define VIRTIO_NET_F_CTRL_RX        18
#define VIRTIO_NET_F_CTRL_RX_EXTRA  20
#define VIRTIO_NET_F_CTRL_MAC_ADDR  23

/* Device configuration layout (5.1.4), offsets. */
#define CFG_MAC                     0x00  /* u8[6] */
#define CFG_STATUS                  0x06  /* le16 */
#define CFG_MAX_VQ_PAIRS            0x08  /* le16, meaningful with MQ only */
#define CFG_LEN                     0x0a
#define VIRTIO_NET_S_LINK_UP        1

/* struct virtio_net_hdr (5.1.6): always 12 bytes with VERSION_1. */
#define VNET_HDR_LEN                12
#define HDR_FLAGS                   0
#define HDR_GSO_TYPE                1
#define HDR_GSO_SIZE                4     /* le16 */
#define HDR_CSUM_START              6     /* le16 */
#define HDR_CSUM_OFFSET             8     /* le16 */
#define HDR_NUM_BUFFERS             10    /* le16 */
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_GSO_NONE     0
#define VIRTIO_NET_HDR_GSO_TCPV4    1
#define VIRTIO_NET_HDR_GSO_TCPV6    4
#define VIRTIO_NET_HDR_GSO_ECN      0x80

/* Control queue (5.1.6.5): class, command, data, then the ack byte. */
#define VIRTIO_NET_CTRL_RX          0
#define VIRTIO_NET_CTRL_RX_PROMISC  0
#define VIRTIO_NET_CTRL_RX_ALLMULTI 1
#define VIRTIO_NET_CTRL_RX_ALLUNI   2
#define VIRTIO_NET_CTRL_RX_NOMULTI  3
#define VIRTIO_NET_CTRL_RX_NOUNI    4
#define VIRTIO_NET_CTRL_RX_NOBCAST  5
#define VIRTIO_NET_CTRL_MAC         1
#define VIRTIO_NET_CTRL_MAC_TABLE_SET 0
#define VIRTIO_NET_CTRL_MAC_ADDR_SET  1
#define VIRTIO_NET_OK               0
#define VIRTIO_NET_ERR              1

#define Q_RX                        0
#define Q_TX                        1
#define Q_CTRL                      2
#define VNET_NR_QUEUES              3
#define VNET_QUEUE_SIZE             256
/* Segments a chain may have: a queue of direct descriptors before an
 * indirect table of a queue's size (virtqueue.c). */
#define VNET_CHAIN_MAX              (2 * VNET_QUEUE_SIZE)
#define VNET_TX_BUDGET              256   /* chains per notification, then the loop goes on */
#define VNET_TX_FRAME_BUDGET        1024  /* frames per notification, after segmentation */
#define VNET_MAC_TABLE              64    /* entries per table; more: accept all of the kind */
#define ETH_ALEN                    6

/* The receive filter (5.1.6.5.1, 5.1.6.5.2). */
struct vnet_filter {
	bool promisc, allmulti, alluni, nomulti, nouni, nobcast;
	bool uni_overflow, multi_overflow;   /* the driver gave more than VNET_MAC_TABLE */
	uint32_t nr_uni, nr_multi;
	uint8_t uni[VNET_MAC_TABLE][ETH_ALEN];
	uint8_t multi[VNET_MAC_TABLE][ETH_ALEN];
};

struct vnet {
	struct virtio_pci vp;       /* first: the transport finds itself in dev->priv */
	struct device *dev;
	struct net_backend *nb;
	bool attached;
	uint8_t perm_mac[ETH_ALEN]; /* device_args.mac: what a reset restores */
	uint8_t config[CFG_LEN];    /* mac (CTRL_MAC_ADDR may change it), status */
	struct vnet_filter filter;
	struct host_timer *tx_more; /* serves the TX queue past its budget; NULL: no loop */

	/* Scratch, used under the device lock only. */
	struct vq_seg *tx_segs;     /* VNET_CHAIN_MAX */
	uint8_t *tx_frame;          /* VNET_HDR_LEN + NET_FRAME_MAX: a chain, copied */
	uint8_t *tx_seg;            /* NET_FRAME_MAX: one TSO segment */
	unsigned int tx_sent;       /* frames sent in this round (the frame budget) */
	struct vq_seg *rx_hdr_segs; /* VNET_CHAIN_MAX: the first chain of a frame */
	struct vq_seg *rx_segs;     /* VNET_CHAIN_MAX: the chain being filled */
	struct io_req rx_io[VNET_QUEUE_SIZE];
	uint16_t rx_head[VNET_QUEUE_SIZE];
	uint32_t rx_used[VNET_QUEUE_SIZE];
	struct vq_seg *ctrl_segs;   /* VNET_CHAIN_MAX */
};

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static bool negotiated(const struct vnet *n, unsigned int bit)
{
	return n->vp.driver_features & (1ULL << bit);
}

/* ---- receive filter ---- */

static void filter_reset(struct vnet_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->promisc = true;   /* until the driver says otherwise (see the top) */
}

static bool in_table(const uint8_t (*table)[ETH_ALEN], uint32_t nr, const uint8_t *mac)
{
	for (uint32_t i = 0; i < nr; i++)
		if (!memcmp(table[i], mac, ETH_ALEN))
			return true;
	return false;
}

/* Does the guest want a frame for @dst? (5.1.6.5.1, 5.1.6.5.2) */
static bool vnet_accept(const struct vnet *n, const uint8_t *dst)
{
	static const uint8_t bcast[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	const struct vnet_filter *f = &n->filter;

	if (f->promisc)
		return true;
	if (!memcmp(dst, bcast, ETH_ALEN))
		return !f->nobcast;
	if (dst[0] & 1) {   /* the group bit: multicast */
		if (f->nomulti)
			return false;
		return f->allmulti || f->multi_overflow || in_table(f->multi, f->nr_multi, dst);
	}
	if (f->nouni)
		return false;
	return f->alluni || f->uni_overflow || !memcmp(dst, n->config + CFG_MAC, ETH_ALEN) ||
	       in_table(f->uni, f->nr_uni, dst);
}

/* ---- link status ---- */

static void vnet_set_link(struct vnet *n, bool up)
{
	put_le16(n->config + CFG_STATUS, up ? VIRTIO_NET_S_LINK_UP : 0);
}

/* The cable was plugged in or pulled (net.h; any thread, no net lock held). */
static void vnet_link_changed(void *opaque, bool up)
{
	struct vnet *n = opaque;

	pthread_mutex_lock(&n->dev->lock);
	vnet_set_link(n, up);
	/* 5.1.4.2: the driver re-reads status on a configuration change. */
	virtio_pci_config_changed(&n->vp);
	pthread_mutex_unlock(&n->dev->lock);
}

/* ---- transmit ---- */

static void vnet_emit_segment(void *opaque, const uint8_t *frame, size_t len)
{
	struct vnet *n = opaque;
	struct iovec iov = { (void *)frame, len };

	net_send(n->nb, &iov, 1, len);
	n->tx_sent++;
}

/* A GSO frame (5.1.6.2): the type must be one we offered and the driver took. */
static bool vnet_gso_ok(struct vnet *n, uint8_t gso_type)
{
	uint8_t type = gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;

	if ((gso_type & VIRTIO_NET_HDR_GSO_ECN) && !negotiated(n, VIRTIO_NET_F_HOST_ECN))
		return false;
	return (type == VIRTIO_NET_HDR_GSO_TCPV4 && negotiated(n, VIRTIO_NET_F_HOST_TSO4)) ||
	       (type == VIRTIO_NET_HDR_GSO_TCPV6 && negotiated(n, VIRTIO_NET_F_HOST_TSO6));
}

/* Send one transmit chain: header, then the frame (5.1.6.2). */
static void vnet_tx_chain(struct vnet *n, const struct vq_req *req)
{
	uint8_t *hdr = n->tx_frame, *frame = n->tx_frame + VNET_HDR_LEN;
	struct vq_iter it;
	size_t len;
	int segs;

	if (req->out_len < VNET_HDR_LEN) {
		device_log(n->dev, "transmit buffer of %llu bytes, shorter than the header: dropped",
			   (unsigned long long)req->out_len);
		return;
	}
	if (req->out_len - VNET_HDR_LEN > NET_FRAME_MAX) {
		device_log(n->dev, "transmit frame of %llu bytes, at most %d: dropped",
			   (unsigned long long)(req->out_len - VNET_HDR_LEN), NET_FRAME_MAX);
		return;
	}
	/* One copy: what we check is what we send, whatever the guest does meanwhile. */
	vq_iter_out(&it, req);
	len = vq_iter_read(&it, n->tx_frame, (size_t)req->out_len) - VNET_HDR_LEN;

	if (hdr[HDR_GSO_TYPE] != VIRTIO_NET_HDR_GSO_NONE && !vnet_gso_ok(n, hdr[HDR_GSO_TYPE])) {
		device_log(n->dev, "transmit frame with GSO type 0x%x not negotiated: dropped",
			   hdr[HDR_GSO_TYPE]);
		return;
	}
	if ((hdr[HDR_GSO_TYPE] != VIRTIO_NET_HDR_GSO_NONE ||
	     (hdr[HDR_FLAGS] & VIRTIO_NET_HDR_F_NEEDS_CSUM)) && net_takes_gso(n->nb)) {
		/* The host kernel finishes it (a TAP with virtio headers): no copy, no segments. */
		struct iovec iov = { frame, len };

		net_send_gso(n->nb, hdr, &iov, 1, len);
		n->tx_sent++;
		return;
	}
	if (hdr[HDR_GSO_TYPE] != VIRTIO_NET_HDR_GSO_NONE) {
		/* Every segment's checksums are computed whole: csum_start/offset are not needed. */
		segs = net_tso_segment(frame, len, get_le16(hdr + HDR_GSO_SIZE), n->tx_seg,
				       NET_FRAME_MAX, vnet_emit_segment, n);
		if (segs < 0)
			device_log(n->dev, "GSO frame of %zu bytes (gso_size %u) cannot be segmented: dropped",
				   len, get_le16(hdr + HDR_GSO_SIZE));
		return;
	}
	if (hdr[HDR_FLAGS] & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		size_t start = get_le16(hdr + HDR_CSUM_START);

		if (!net_csum_insert(frame, len, start, len, start + get_le16(hdr + HDR_CSUM_OFFSET))) {
			device_log(n->dev, "checksum at %zu+%u outside a %zu-byte frame: dropped", start,
				   get_le16(hdr + HDR_CSUM_OFFSET), len);
			return;
		}
	}
	vnet_emit_segment(n, frame, len);
}

/*
 * Serve the TX queue (device lock held): at most the budget, then the
 * loop goes on (tx_more).  Without a loop there is nobody to go on, and
 * the whole queue is served here.
 */
static void vnet_tx(struct vnet *n)
{
	struct virtio_pci *vp = &n->vp;
	unsigned int chains = 0;
	struct vq_req req;
	struct io_req io;

	io_req_init(&io);
	vq_req_init(&req, n->tx_segs, VNET_CHAIN_MAX);
	n->tx_sent = 0;
	for (;;) {
		if (n->tx_more && (chains >= VNET_TX_BUDGET || n->tx_sent >= VNET_TX_FRAME_BUDGET)) {
			host_timer_arm(n->tx_more, 0, 0);
			break;
		}
		if (virtio_pci_pop(vp, Q_TX, &req, &io) <= 0)
			break;
		vnet_tx_chain(n, &req);
		/* 5.1.6.2.2: the device writes nothing into a transmit buffer. */
		virtio_pci_complete(vp, Q_TX, &io, req.head, 0);
		chains++;
	}
	if (chains)
		virtio_pci_notify_used(vp, Q_TX);
}

/* The tx_more timer: loop thread, device lock held. */
static void vnet_tx_more(void *opaque)
{
	vnet_tx(opaque);
}

/* ---- receive ---- */

/* Bytes of a frame handed over as an iovec array, read in order. */
struct iov_cursor {
	const struct iovec *iov;
	int cnt, i;
	size_t off;
};

static size_t iov_cursor_copy(struct iov_cursor *c, struct vq_iter *dst, size_t len)
{
	size_t done = 0;

	while (done < len && c->i < c->cnt) {
		const struct iovec *v = &c->iov[c->i];
		size_t n = v->iov_len - c->off, put;

		if (n > len - done)
			n = len - done;
		put = vq_iter_write(dst, (const uint8_t *)v->iov_base + c->off, n);
		done += put;
		c->off += put;
		if (c->off == v->iov_len) {
			c->i++;
			c->off = 0;
		}
		if (put < n)
			break;   /* the buffer is full */
	}
	return done;
}

/* Give every buffer of an unfinished frame back, last first. */
static void vnet_rx_giveback(struct vnet *n, unsigned int nbufs)
{
	while (nbufs--)
		virtio_pci_unpop(&n->vp, Q_RX, &n->rx_io[nbufs]);
}

/*
 * Put one frame into the RX queue (device lock held): true when it is
 * used or dropped, false when the buffers posted are too few.  With
 * MRG_RXBUF (5.1.6.4) the frame fills buffers one after the other and
 * the header's num_buffers says how many; else it must fit one buffer,
 * and num_buffers is 1 (5.1.6.4.1).
 */
static bool vnet_rx_frame(struct vnet *n, const struct iovec *iov, int iovcnt, size_t len)
{
	struct virtio_pci *vp = &n->vp;
	bool mergeable = negotiated(n, VIRTIO_NET_F_MRG_RXBUF);
	unsigned int max_bufs = mergeable ? vp->vqs[Q_RX].size : 1, nbufs = 0;
	struct iov_cursor src = { iov, iovcnt, 0, 0 };
	uint8_t hdr[VNET_HDR_LEN] = { 0 };
	struct vq_iter hdr_it, it;
	size_t left = len;
	struct vq_req req;
	int ret;

	while (!nbufs || left) {
		struct io_req *io = &n->rx_io[nbufs];

		if (nbufs == max_bufs) {
			/* Even every buffer the queue can hold would not do: drop it. */
			vnet_rx_giveback(n, nbufs);
			return true;
		}
		vq_req_init(&req, nbufs ? n->rx_segs : n->rx_hdr_segs, VNET_CHAIN_MAX);
		io_req_init(io);
		ret = virtio_pci_pop(vp, Q_RX, &req, io);
		if (ret == 0) {
			vnet_rx_giveback(n, nbufs);
			return false;   /* net.c keeps it; the next RX notification says when */
		}
		if (ret > 0 && req.in_len < VNET_HDR_LEN) {
			/* 5.1.6.3.1: every receive buffer holds at least a header. */
			virtio_pci_unpop(vp, Q_RX, io);
			virtio_pci_set_needs_reset(vp, "receive buffer shorter than the header");
			ret = -EPROTO;
		}
		if (ret < 0) {
			vnet_rx_giveback(n, nbufs);
			return true;    /* the device needs a reset now: nothing more goes in */
		}
		n->rx_head[nbufs] = req.head;
		vq_iter_in(&it, &req);
		if (!nbufs) {
			hdr_it = it;
			vq_iter_skip(&it, VNET_HDR_LEN);
		}
		n->rx_used[nbufs] = (uint32_t)(iov_cursor_copy(&src, &it, left) +
					       (nbufs ? 0 : VNET_HDR_LEN));
		left -= n->rx_used[nbufs] - (nbufs ? 0 : VNET_HDR_LEN);
		nbufs++;
		if (left && !mergeable) {
			/* 5.1.6.3.1: a driver without MRG_RXBUF posts buffers for whole frames. */
			vnet_rx_giveback(n, nbufs);
			device_log(n->dev, "frame of %zu bytes longer than the receive buffer: dropped", len);
			return true;
		}
	}
	put_le16(hdr + HDR_NUM_BUFFERS, (uint16_t)nbufs);
	vq_iter_write(&hdr_it, hdr, sizeof(hdr));
	for (unsigned int i = 0; i < nbufs; i++)
		virtio_pci_complete(vp, Q_RX, &n->rx_io[i], n->rx_head[i], n->rx_used[i]);
	virtio_pci_notify_used(vp, Q_RX);
	return true;
}

/* A frame from the host (net.h: loop thread, no net lock held). */
static bool vnet_receive(void *opaque, const struct iovec *iov, int iovcnt, size_t len)
{
	struct vnet *n = opaque;
	uint8_t dst[ETH_ALEN];
	struct vq_iter peek;
	struct vq_seg seg = { dst, sizeof(dst) };
	struct iov_cursor c = { iov, iovcnt, 0, 0 };
	bool taken = true;

	if (len < ETH_ALEN)
		return true;
	/* The destination address, through the same copy as the frame. */
	peek = (struct vq_iter){ .seg = &seg, .nr = 1, .left = sizeof(dst) };
	if (iov_cursor_copy(&c, &peek, sizeof(dst)) < sizeof(dst))
		return true;

	pthread_mutex_lock(&n->dev->lock);
	/* No driver, a reset one, or one that broke the device: the frame is lost, as on a wire. */
	if (virtio_pci_running(&n->vp) && n->vp.vqs[Q_RX].enabled && vnet_accept(n, dst))
		taken = vnet_rx_frame(n, iov, iovcnt, len);
	pthread_mutex_unlock(&n->dev->lock);
	return taken;
}

/* ---- control queue ---- */

/* VIRTIO_NET_CTRL_RX (5.1.6.5.1): one byte, on or off. */
static uint8_t vnet_ctrl_rx(struct vnet *n, uint8_t cmd, struct vq_iter *out)
{
	struct vnet_filter *f = &n->filter;
	bool *mode[] = {
		[VIRTIO_NET_CTRL_RX_PROMISC] = &f->promisc,
		[VIRTIO_NET_CTRL_RX_ALLMULTI] = &f->allmulti,
		[VIRTIO_NET_CTRL_RX_ALLUNI] = &f->alluni,
		[VIRTIO_NET_CTRL_RX_NOMULTI] = &f->nomulti,
		[VIRTIO_NET_CTRL_RX_NOUNI] = &f->nouni,
		[VIRTIO_NET_CTRL_RX_NOBCAST] = &f->nobcast,
	};
	uint8_t on;

	if (!negotiated(n, VIRTIO_NET_F_CTRL_RX) || cmd >= sizeof(mode) / sizeof(mode[0]))
		return VIRTIO_NET_ERR;
	if (cmd > VIRTIO_NET_CTRL_RX_ALLMULTI && !negotiated(n, VIRTIO_NET_F_CTRL_RX_EXTRA))
		return VIRTIO_NET_ERR;
	if (vq_iter_read(out, &on, 1) != 1 || out->left)
		return VIRTIO_NET_ERR;
	*mode[cmd] = on != 0;
	return VIRTIO_NET_OK;
}

/* One table of VIRTIO_NET_CTRL_MAC_TABLE_SET: le32 entries, then the addresses. */
static bool read_mac_table(struct vq_iter *out, uint8_t (*table)[ETH_ALEN], uint32_t *nr,
			   bool *overflow)
{
	uint8_t raw[4];
	uint32_t entries;

	if (vq_iter_read(out, raw, 4) != 4)
		return false;
	entries = (uint32_t)raw[0] | (uint32_t)raw[1] << 8 | (uint32_t)raw[2] << 16 |
		  (uint32_t)raw[3] << 24;
	if ((uint64_t)entries * ETH_ALEN > out->left)
		return false;
	*overflow = entries > VNET_MAC_TABLE;
	*nr = *overflow ? 0 : entries;
	vq_iter_read(out, table, (size_t)*nr * ETH_ALEN);
	if (*overflow)
		vq_iter_skip(out, (size_t)entries * ETH_ALEN);
	return true;
}

/* VIRTIO_NET_CTRL_MAC (5.1.6.5.2). */
static uint8_t vnet_ctrl_mac(struct vnet *n, uint8_t cmd, struct vq_iter *out)
{
	struct vnet_filter *f = &n->filter, nf;
	uint8_t mac[ETH_ALEN];

	switch (cmd) {
	case VIRTIO_NET_CTRL_MAC_TABLE_SET:
		if (!negotiated(n, VIRTIO_NET_F_CTRL_RX))
			return VIRTIO_NET_ERR;
		/* Into a copy: a command that does not parse changes nothing. */
		nf = *f;
		if (!read_mac_table(out, nf.uni, &nf.nr_uni, &nf.uni_overflow) ||
		    !read_mac_table(out, nf.multi, &nf.nr_multi, &nf.multi_overflow) || out->left)
			return VIRTIO_NET_ERR;
		*f = nf;
		return VIRTIO_NET_OK;
	case VIRTIO_NET_CTRL_MAC_ADDR_SET:
		if (!negotiated(n, VIRTIO_NET_F_CTRL_MAC_ADDR) ||
		    vq_iter_read(out, mac, ETH_ALEN) != ETH_ALEN || out->left)
			return VIRTIO_NET_ERR;
		/* The configuration's mac follows (5.1.4: it is the device's address). */
		memcpy(n->config + CFG_MAC, mac, ETH_ALEN);
		return VIRTIO_NET_OK;
	default:
		return VIRTIO_NET_ERR;
	}
}

/* Serve the control queue (device lock held): each command gets its ack byte. */
static void vnet_ctrl(struct vnet *n)
{
	struct virtio_pci *vp = &n->vp;
	unsigned int done = 0;
	struct vq_req req;
	struct io_req io;

	io_req_init(&io);
	vq_req_init(&req, n->ctrl_segs, VNET_CHAIN_MAX);
	/* Commands are small and few; a queue's worth at most per notification. */
	while (done < VNET_QUEUE_SIZE && virtio_pci_pop(vp, Q_CTRL, &req, &io) > 0) {
		uint8_t cls_cmd[2] = { 0xff, 0xff }, ack = VIRTIO_NET_ERR;
		struct vq_iter out;
		const struct vq_seg *last;
		uint32_t used = 0;

		vq_iter_out(&out, &req);
		if (!req.nr_in) {
			device_log(n->dev, "control command without an ack byte dropped");
		} else {
			if (vq_iter_read(&out, cls_cmd, 2) == 2) {
				if (cls_cmd[0] == VIRTIO_NET_CTRL_RX)
					ack = vnet_ctrl_rx(n, cls_cmd[1], &out);
				else if (cls_cmd[0] == VIRTIO_NET_CTRL_MAC)
					ack = vnet_ctrl_mac(n, cls_cmd[1], &out);
			}
			if (ack != VIRTIO_NET_OK)
				device_log(n->dev, "control command class %u command %u refused",
					   cls_cmd[0], cls_cmd[1]);
			/* 5.1.6.5: the ack is the last byte the device may write. */
			last = &req.segs[req.nr_out + req.nr_in - 1];
			last->p[last->len - 1] = ack;
			used = 1;
		}
		virtio_pci_complete(vp, Q_CTRL, &io, req.head, used);
		done++;
	}
	if (done)
		virtio_pci_notify_used(vp, Q_CTRL);
}

/* ---- transport callbacks (device lock held) ---- */

static void vnet_notify(struct virtio_pci *vp, unsigned int queue)
{
	struct vnet *n = vp->opaque;

	switch (queue) {
	case Q_RX:
		/* Buffers posted: net.c delivers what waits, later, on the loop. */
		net_rx_ready(n->nb);
		break;
	case Q_TX:
		vnet_tx(n);
		break;
	case Q_CTRL:
		vnet_ctrl(n);
		break;
	}
}

static void vnet_driver_ok(struct virtio_pci *vp)
{
	struct vnet *n = vp->opaque;

	vnet_ctrl(n);
	vnet_tx(n);
	net_rx_ready(n->nb);
}

/* The driver wrote status 0, or the machine resets (nothing in flight: see the top). */
static void vnet_reset(struct virtio_pci *vp)
{
	struct vnet *n = vp->opaque;

	host_timer_cancel(n->tx_more);
	filter_reset(&n->filter);
	memcpy(n->config + CFG_MAC, n->perm_mac, ETH_ALEN);
	vnet_set_link(n, net_link_up(n->nb));
	/* The frames queued were for rings that are gone. */
	net_rx_flush(n->nb);
}

static const struct virtio_pci_ops vnet_ops = {
	.notify = vnet_notify,
	.driver_ok = vnet_driver_ok,
	.reset = vnet_reset,
};

static const struct net_port_ops vnet_port_ops = {
	.receive = vnet_receive,
	.link_changed = vnet_link_changed,
};

/* ---- the device model ---- */

static int vnet_create(struct device *dev, const struct device_args *args)
{
	struct virtio_pci_params p = { 0 };
	struct vnet *n;
	int ret;

	if (!args->net) {
		device_log(dev, "virtio-net needs a network back end");
		return -EINVAL;
	}
	if (args->mac[0] & 1) {
		device_log(dev, "MAC address %02x:%02x:%02x:%02x:%02x:%02x is a multicast address",
			   args->mac[0], args->mac[1], args->mac[2], args->mac[3], args->mac[4],
			   args->mac[5]);
		return -EINVAL;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	dev->priv = n;
	n->dev = dev;
	n->nb = args->net;
	memcpy(n->perm_mac, args->mac, ETH_ALEN);
	memcpy(n->config + CFG_MAC, args->mac, ETH_ALEN);
	put_le16(n->config + CFG_MAX_VQ_PAIRS, 1);
	vnet_set_link(n, net_link_up(n->nb));
	filter_reset(&n->filter);
	n->tx_segs = calloc(VNET_CHAIN_MAX, sizeof(*n->tx_segs));
	n->rx_hdr_segs = calloc(VNET_CHAIN_MAX, sizeof(*n->rx_hdr_segs));
	n->rx_segs = calloc(VNET_CHAIN_MAX, sizeof(*n->rx_segs));
	n->ctrl_segs = calloc(VNET_CHAIN_MAX, sizeof(*n->ctrl_segs));
	n->tx_frame = malloc(VNET_HDR_LEN + NET_FRAME_MAX);
	n->tx_seg = malloc(NET_FRAME_MAX);
	if (!n->tx_segs || !n->rx_hdr_segs || !n->rx_segs || !n->ctrl_segs || !n->tx_frame ||
	    !n->tx_seg)
		return -ENOMEM;

	p.device_type = VIRTIO_ID_NET;
	p.class_code = PCI_CLASS_NETWORK_ETHERNET;
	p.nr_queues = VNET_NR_QUEUES;
	p.queue_size = VNET_QUEUE_SIZE;
	p.features = 1ULL << VIRTIO_NET_F_CSUM | 1ULL << VIRTIO_NET_F_MAC |
		     1ULL << VIRTIO_NET_F_HOST_TSO4 | 1ULL << VIRTIO_NET_F_HOST_TSO6 |
		     1ULL << VIRTIO_NET_F_HOST_ECN | 1ULL << VIRTIO_NET_F_MRG_RXBUF |
		     1ULL << VIRTIO_NET_F_STATUS | 1ULL << VIRTIO_NET_F_CTRL_VQ |
		     1ULL << VIRTIO_NET_F_CTRL_RX | 1ULL << VIRTIO_NET_F_CTRL_RX_EXTRA |
		     1ULL << VIRTIO_NET_F_CTRL_MAC_ADDR;
	p.config = n->config;
	p.config_len = CFG_LEN;
	p.pci_slot = args->pci_slot;
	ret = virtio_pci_init(&n->vp, dev, &p, &vnet_ops, n);
	if (ret < 0)
		return ret;
	/* No loop (or no timers): every notification serves its whole queue. */
	n->tx_more = host_timer_new(DEV_LOOP(dev->host), &dev->lock, vnet_tx_more, n);

	ret = net_attach(n->nb, &vnet_port_ops, n);
	if (ret < 0) {
		device_log(dev, "its network back end already has a NIC");
		return ret;
	}
	n->attached = true;
	return 0;
}

static void vnet_machine_reset(struct device *dev)
{
	struct vnet *n = dev->priv;

	virtio_pci_reset(&n->vp);
}

#define VNET_SAVE_VERSION 1

static void save_table(struct sv_writer *w, const uint8_t (*table)[ETH_ALEN], uint32_t nr)
{
	sv_put_u32(w, nr);
	sv_put_bytes(w, table, (size_t)nr * ETH_ALEN);
}

static int vnet_save(struct device *dev, struct sv_writer *w)
{
	struct vnet *n = dev->priv;
	const struct vnet_filter *f = &n->filter;
	int ret = virtio_pci_save(&n->vp, w);

	sv_put_u16(w, VNET_SAVE_VERSION);
	sv_put_bytes(w, n->config + CFG_MAC, ETH_ALEN);
	sv_put_u8(w, (uint8_t)(f->promisc | f->allmulti << 1 | f->alluni << 2 | f->nomulti << 3 |
			       f->nouni << 4 | f->nobcast << 5 | f->uni_overflow << 6 |
			       f->multi_overflow << 7));
	save_table(w, f->uni, f->nr_uni);
	save_table(w, f->multi, f->nr_multi);
	virtio_pci_resume(&n->vp);
	return ret ? ret : w->failed ? -ENOMEM : 0;
}

static bool load_table(struct sv_reader *r, uint8_t (*table)[ETH_ALEN], uint32_t *nr)
{
	*nr = sv_get_u32(r);
	if (*nr > VNET_MAC_TABLE)
		return false;
	sv_get_bytes(r, table, (size_t)*nr * ETH_ALEN);
	return true;
}

static int vnet_load(struct device *dev, struct sv_reader *r, uint32_t version)
{
	struct vnet *n = dev->priv;
	struct vnet_filter f = { 0 };
	uint8_t mac[ETH_ALEN], modes;
	int ret = virtio_pci_load(&n->vp, r);

	if (ret)
		return ret;
	if (sv_get_u16(r) != VNET_SAVE_VERSION)
		return -EINVAL;
	sv_get_bytes(r, mac, ETH_ALEN);
	modes = sv_get_u8(r);
	if (!load_table(r, f.uni, &f.nr_uni) || !load_table(r, f.multi, &f.nr_multi) ||
	    !sv_reader_ok(r, true))
		return -EINVAL;
	f.promisc = modes & 1;
	f.allmulti = modes & 2;
	f.alluni = modes & 4;
	f.nomulti = modes & 8;
	f.nouni = modes & 16;
	f.nobcast = modes & 32;
	f.uni_overflow = modes & 64;
	f.multi_overflow = modes & 128;
	n->filter = f;
	memcpy(n->config + CFG_MAC, mac, ETH_ALEN);
	/* The cable is this host's, not the snapshot's. */
	vnet_set_link(n, net_link_up(n->nb));
	/* Frames the driver queued before the snapshot go out from the loop. */
	if (n->tx_more)
		host_timer_arm(n->tx_more, 0, 0);
	else
		vnet_tx(n);
	net_rx_ready(n->nb);
	return 0;
}

static void vnet_destroy(struct device *dev)
{
	struct vnet *n = dev->priv;

	if (!n)
		return;
	/* net.h: without the device lock; receive() is not running afterwards. */
	if (n->attached)
		net_detach(n->nb);
	virtio_pci_stop_notifiers(&n->vp);
	host_timer_free(n->tx_more);
	virtio_pci_destroy(&n->vp);
	free(n->tx_segs);
	free(n->rx_hdr_segs);
	free(n->rx_segs);
	free(n->ctrl_segs);
	free(n->tx_frame);
	free(n->tx_seg);
	free(n);
}

const struct device_model virtio_net_model = {
	.name = "virtio-net",
	.state_version = 1,
	.create = vnet_create,
	.reset = vnet_machine_reset,
	.save = vnet_save,
	.load = vnet_load,
	.destroy = vnet_destroy,
};
