/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The inside of the network layer: what a back end (slirp.c, tap.c,
 * intnet.c, and the unit tests' fake) implements, and the calls net.c
 * offers it.  NIC models never include this.
 *
 * A back end's open function is called by net_backend_create() with a
 * fresh struct net_backend; it sets up its host side and calls
 * net_backend_bind() with its ops and private state.  Its fd watches and
 * timers live on the loop net_backend_loop() gives; they run under the
 * back end's own lock (or none), never a NIC's.
 */
#ifndef HUTCH_NET_BACKEND_H
#define HUTCH_NET_BACKEND_H

#include "net.h"

struct net_backend_ops {
	const char *kind;   /* "nat" "bridged" "intnet" "null" "fake" */
	/*
	 * A frame from the guest (net_send).  May run on any thread with the
	 * NIC's device lock held: never block, never call net.c's delivery
	 * synchronously into the NIC (net_deliver only queues, so it is safe).
	 */
	void (*send)(void *priv, const struct iovec *iov, int iovcnt, size_t len);
	/* A frame with a virtio_net_hdr (net_send_gso), same rules as send.  Optional. */
	void (*send_gso)(void *priv, const uint8_t *hdr, const struct iovec *iov, int iovcnt,
			 size_t len);
	/* The queue toward the guest has room again: resume reading.  Optional. */
	void (*rx_resume)(void *priv);
	/* Port forwarding (NAT).  Optional: NULL = -EOPNOTSUPP. */
	int (*fwd_add)(void *priv, const struct nic_fwd *rule, char *err, size_t errlen);
	int (*fwd_delete)(void *priv, const char *name, char *err, size_t errlen);
	/* Stop watches and timers, close fds, free priv. */
	void (*destroy)(void *priv);
};

/* For open functions: install the implementation. */
void net_backend_bind(struct net_backend *nb, const struct net_backend_ops *ops, void *priv);
/* The event loop the back end's watches and timers go on. */
void net_backend_loop(const struct net_backend *nb, const struct host_loop_ops **ops, void **loop);

/*
 * A frame for the guest: copied into the queue, handed to the NIC later
 * from the loop thread.  Any thread, any back-end lock held.  Returns
 * false when the queue is full (this frame was dropped): stop reading
 * until ops->rx_resume.  Frames outside NET_FRAME_MIN..MAX are dropped.
 */
bool net_deliver(struct net_backend *nb, const void *frame, size_t len);

/* The back ends (net.c dispatches on spec->attach). 0 or -errno with err. */
int net_slirp_open(struct net_backend *nb, const struct nic_spec *spec, const char *vm_name,
		   char *err, size_t errlen);
int net_tap_open(struct net_backend *nb, const struct nic_spec *spec, const char *vm_name,
		 char *err, size_t errlen);
int net_intnet_open(struct net_backend *nb, const struct nic_spec *spec, const char *vm_name,
		    char *err, size_t errlen);

/* Unit tests: a back end on @loop with no host side, for a fake to bind. */
struct net_backend *net_backend_new_bare(const char *id, bool cable,
					 const struct host_loop_ops *loop_ops, void *loop);

#endif
