/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A network back end as a NIC model sees it, and as the VMM makes it.
 *
 * One struct net_backend per adapter joins one NIC model (e1000.c,
 * virtio_net.c) to one back end (NAT through libslirp, a TAP device, an
 * internal network, or nothing), neither knowing the other.  Frames are
 * plain Ethernet frames, destination MAC first, no FCS, no virtio header,
 * at most NET_FRAME_MAX bytes.
 *
 * Threads and locks.  Back ends run on the VM's event loop.  A NIC sends
 * from wherever it processes its TX ring (a vCPU thread for a trapped
 * register write, the loop thread for an ioeventfd), normally holding its
 * device lock: net_send() never blocks (a frame the host cannot take now
 * is dropped and counted, as a real wire would) and never calls back into
 * the NIC.  Frames for the guest are queued here and handed to the NIC's
 * receive() from the loop thread only, with no net lock held, so the NIC
 * takes its own device lock inside receive().  Lock order: device lock ->
 * back end's lock -> this layer's queue lock.
 *
 * Flow control toward the guest: receive() returns false when the guest
 * has posted no buffer for the frame; the frame stays at the head of the
 * queue and nothing more is delivered until the NIC calls net_rx_ready()
 * (the guest posted buffers: RDT written, RX queue kicked).  A full queue
 * drops new frames (counted) and asks the back end to stop reading its
 * host fd until there is room again, so a guest that never reads cannot
 * make the VMM buffer without bound.
 *
 * Link state: the adapter's cable (nic_spec.cable, `controlvm setlinkstate`).
 * While it is unplugged, frames in both directions are dropped.
 */
#ifndef HUTCH_NET_H
#define HUTCH_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "host_loop.h"
#include "nic_spec.h"

#define NET_FRAME_MIN 14	  /* an Ethernet header; shorter frames are dropped */
#define NET_FRAME_MAX 65536	  /* jumbo / software-GSO frames included */

struct net_backend;

/* What the NIC model implements (net_attach).  Called on the loop thread, no net lock held. */
struct net_port_ops {
	/*
	 * A frame for the guest.  true: taken (or dropped by the NIC on
	 * purpose: filtered, receiver off); false: no guest buffer for it now,
	 * keep it and wait for net_rx_ready().
	 */
	bool (*receive)(void *opaque, const struct iovec *iov, int iovcnt, size_t len);
	/* The cable was plugged in or pulled (controlvm setlinkstate).  Optional. */
	void (*link_changed)(void *opaque, bool up);
};

struct net_stats {
	uint64_t tx_frames, tx_bytes, tx_dropped;   /* guest -> host */
	uint64_t rx_frames, rx_bytes, rx_dropped;   /* host -> guest */
};

/* ---- For NIC models ---- */

/* Connect the NIC (from its create()).  -EBUSY if a NIC is already attached. */
int net_attach(struct net_backend *nb, const struct net_port_ops *ops, void *opaque);
/*
 * Disconnect (from destroy(), NOT holding the device lock): returns once
 * receive() is not running and will not be called again.
 */
void net_detach(struct net_backend *nb);
/* A frame from the guest (gathered from @iovcnt pieces, @len bytes in all). */
void net_send(struct net_backend *nb, const struct iovec *iov, int iovcnt, size_t len);
/*
 * Back ends that take TCP frames of up to 64 KiB whole, with their
 * checksum unfinished, and let the host kernel segment them (a TAP with
 * IFF_VNET_HDR): a virtio-net then passes the guest's GSO frames through
 * instead of segmenting them itself, as QEMU's vhost-less TAP path does.
 * @hdr is the guest's virtio_net_hdr (virtio 1.2, 5.1.6: flags, gso_type,
 * hdr_len, gso_size, csum_start, csum_offset, num_buffers; little-endian)
 * and the host kernel checks it (a header it refuses drops the frame).
 * Only when net_takes_gso() says so.
 */
#define NET_VNET_HDR_LEN 12
bool net_takes_gso(const struct net_backend *nb);
void net_send_gso(struct net_backend *nb, const uint8_t hdr[NET_VNET_HDR_LEN],
		  const struct iovec *iov, int iovcnt, size_t len);
/* The guest posted receive buffers: deliver what is queued (later, on the loop). */
void net_rx_ready(struct net_backend *nb);
/* Is the cable connected? (for the NIC's link-status bit at reset) */
bool net_link_up(const struct net_backend *nb);
/* Drop every frame queued for the guest (NIC reset: the old ring is gone). */
void net_rx_flush(struct net_backend *nb);

/* ---- For the VMM ---- */

/*
 * Make the back end @spec names (NAT, bridged, intnet, null) on the
 * event loop @loop_ops/@loop.  @vm_name names the VM in messages and
 * intnet endpoints.  NULL with a one-line reason in err (a missing
 * privilege is named).
 */
struct net_backend *net_backend_create(const struct nic_spec *spec, const char *vm_name,
				       const struct host_loop_ops *loop_ops, void *loop,
				       char *err, size_t errlen);
/* Stop and free (after the NIC detached). */
void net_backend_destroy(struct net_backend *nb);
/* Plug or pull the cable; tells the NIC through link_changed. */
void net_set_link(struct net_backend *nb, bool up);
/* Port forwarding while running (NAT only; -EOPNOTSUPP elsewhere).  0 or -errno with err. */
int net_fwd_add(struct net_backend *nb, const struct nic_fwd *rule, char *err, size_t errlen);
int net_fwd_delete(struct net_backend *nb, const char *name, char *err, size_t errlen);
void net_get_stats(const struct net_backend *nb, struct net_stats *st);
/* "nat", "bridged", ... */
const char *net_backend_kind(const struct net_backend *nb);

#endif
