/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The network layer's core (net.h, net_backend.h): one back end per
 * adapter, the queue of frames toward the guest and its flow control,
 * the cable, statistics.  The back ends themselves are in slirp.c, tap.c
 * and intnet.c.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_backend.h"

/*
 * How much may wait for a guest that posts no buffers.  Enough for a
 * burst of full-sized TCP segments from a fast host sender; beyond it
 * new frames are dropped (TCP retransmits) and the back end stops reading.
 */
#define NET_QUEUE_FRAMES 1024
#define NET_QUEUE_BYTES (4u << 20)

struct net_frame {
	struct net_frame *next;
	size_t len;
	uint8_t data[];
};

struct net_backend {
	char id[32];
	const struct net_backend_ops *ops;
	void *priv;
	const struct host_loop_ops *loop_ops;
	void *loop;

	pthread_mutex_t lock;      /* everything below; a leaf lock */
	pthread_cond_t idle;       /* signalled when a delivery ends */
	const struct net_port_ops *port_ops;
	void *port_opaque;
	bool link_up;
	struct net_frame *head, *tail;
	unsigned int qframes;
	size_t qbytes;
	bool stalled;              /* the NIC refused the head frame: wait for net_rx_ready */
	unsigned int ready_gen;    /* net_rx_ready calls, so one during receive() is not lost */
	bool backend_paused;       /* the queue filled: the back end waits for rx_resume */
	bool flush_armed;
	unsigned int delivering;   /* flushes running now (0 or 1: only the loop flushes) */
	struct host_timer *flush;  /* deferred delivery on the loop thread */
	struct net_stats stats;
};

/* Free every queued frame.  Lock held. */
static void net_queue_clear(struct net_backend *nb)
{
	struct net_frame *f = nb->head;

	while (f) {
		struct net_frame *next = f->next;

		free(f);
		f = next;
	}
	nb->head = nb->tail = NULL;
	nb->qframes = 0;
	nb->qbytes = 0;
}

/* Arm the flush timer if there is something a NIC may take.  Lock held. */
static void net_kick_locked(struct net_backend *nb)
{
	if (nb->head && !nb->stalled && nb->port_ops && !nb->flush_armed) {
		nb->flush_armed = true;
		host_timer_arm(nb->flush, 0, 0);
	}
}

/* The loop's side: hand queued frames to the NIC, in order, until it says stop. */
static void net_flush(void *opaque)
{
	struct net_backend *nb = opaque;
	bool resume = false;

	pthread_mutex_lock(&nb->lock);
	nb->flush_armed = false;
	nb->delivering++;
	while (nb->head && !nb->stalled && nb->port_ops) {
		struct net_frame *f = nb->head;
		const struct net_port_ops *ops = nb->port_ops;
		void *po = nb->port_opaque;
		struct iovec iov = { f->data, f->len };
		unsigned int gen = nb->ready_gen;
		bool taken;

		/* The NIC takes its own lock inside receive(): drop ours. */
		pthread_mutex_unlock(&nb->lock);
		taken = ops->receive(po, &iov, 1, f->len);
		pthread_mutex_lock(&nb->lock);
		if (nb->head != f)
			continue;   /* net_rx_flush ran meanwhile: f is gone */
		if (!taken) {
			/*
			 * The guest may have posted buffers (and the NIC called
			 * net_rx_ready) after the NIC looked and before we got
			 * our lock back: then try again rather than wait for a
			 * kick that has already come.
			 */
			if (gen != nb->ready_gen)
				continue;
			nb->stalled = true;
			break;
		}
		nb->head = f->next;
		if (!nb->head)
			nb->tail = NULL;
		nb->qframes--;
		nb->qbytes -= f->len;
		nb->stats.rx_frames++;
		nb->stats.rx_bytes += f->len;
		free(f);
	}
	if (nb->backend_paused && nb->qframes <= NET_QUEUE_FRAMES / 2 &&
	    nb->qbytes <= NET_QUEUE_BYTES / 2) {
		nb->backend_paused = false;
		resume = true;
	}
	nb->delivering--;
	pthread_cond_broadcast(&nb->idle);
	pthread_mutex_unlock(&nb->lock);
	if (resume && nb->ops && nb->ops->rx_resume)
		nb->ops->rx_resume(nb->priv);
}

static struct net_backend *net_backend_alloc(const char *id, bool cable,
					     const struct host_loop_ops *loop_ops, void *loop)
{
	struct net_backend *nb = calloc(1, sizeof(*nb));

	if (!nb)
		return NULL;
	snprintf(nb->id, sizeof(nb->id), "%s", id);
	nb->loop_ops = loop_ops;
	nb->loop = loop;
	nb->link_up = cable;
	pthread_mutex_init(&nb->lock, NULL);
	pthread_cond_init(&nb->idle, NULL);
	nb->flush = host_timer_new(loop_ops, loop, NULL, net_flush, nb);
	if (!nb->flush) {
		pthread_cond_destroy(&nb->idle);
		pthread_mutex_destroy(&nb->lock);
		free(nb);
		return NULL;
	}
	return nb;
}

struct net_backend *net_backend_new_bare(const char *id, bool cable,
					 const struct host_loop_ops *loop_ops, void *loop)
{
	return net_backend_alloc(id, cable, loop_ops, loop);
}

/* The null attachment: a NIC with its cable never plugged in. */
static void net_null_send(void *priv, const struct iovec *iov, int iovcnt, size_t len)
{
	(void)priv; (void)iov; (void)iovcnt; (void)len;
}

static void net_null_destroy(void *priv)
{
	(void)priv;
}

static const struct net_backend_ops net_null_ops = {
	.kind = "null",
	.send = net_null_send,
	.destroy = net_null_destroy,
};

struct net_backend *net_backend_create(const struct nic_spec *spec, const char *vm_name,
				       const struct host_loop_ops *loop_ops, void *loop,
				       char *err, size_t errlen)
{
	char id[32];
	struct net_backend *nb;
	int ret = 0;

	snprintf(id, sizeof(id), "nic%u", spec->index);
	nb = net_backend_alloc(id, spec->cable && spec->attach != NIC_ATTACH_NULL, loop_ops, loop);
	if (!nb) {
		snprintf(err, errlen, "nic%u: %s", spec->index,
			 errno == ENOSYS ? "no event loop for its back end" : strerror(ENOMEM));
		return NULL;
	}
	switch (spec->attach) {
	case NIC_ATTACH_NULL:
		net_backend_bind(nb, &net_null_ops, NULL);
		break;
	case NIC_ATTACH_NAT:
		ret = net_slirp_open(nb, spec, vm_name, err, errlen);
		break;
	case NIC_ATTACH_BRIDGED:
		ret = net_tap_open(nb, spec, vm_name, err, errlen);
		break;
	case NIC_ATTACH_INTNET:
		ret = net_intnet_open(nb, spec, vm_name, err, errlen);
		break;
	default:
		snprintf(err, errlen, "nic%u: unknown attachment", spec->index);
		ret = -EINVAL;
	}
	if (ret) {
		nb->ops = NULL;
		net_backend_destroy(nb);
		return NULL;
	}
	return nb;
}

void net_backend_bind(struct net_backend *nb, const struct net_backend_ops *ops, void *priv)
{
	nb->ops = ops;
	nb->priv = priv;
}

void net_backend_loop(const struct net_backend *nb, const struct host_loop_ops **ops, void **loop)
{
	*ops = nb->loop_ops;
	*loop = nb->loop;
}

void net_backend_destroy(struct net_backend *nb)
{
	if (!nb)
		return;
	/* The back end first: after this no net_deliver comes from it. */
	if (nb->ops && nb->ops->destroy)
		nb->ops->destroy(nb->priv);
	host_timer_free(nb->flush);
	net_queue_clear(nb);
	pthread_cond_destroy(&nb->idle);
	pthread_mutex_destroy(&nb->lock);
	free(nb);
}

int net_attach(struct net_backend *nb, const struct net_port_ops *ops, void *opaque)
{
	pthread_mutex_lock(&nb->lock);
	if (nb->port_ops) {
		pthread_mutex_unlock(&nb->lock);
		return -EBUSY;
	}
	nb->port_ops = ops;
	nb->port_opaque = opaque;
	nb->stalled = false;
	net_kick_locked(nb);
	pthread_mutex_unlock(&nb->lock);
	return 0;
}

void net_detach(struct net_backend *nb)
{
	pthread_mutex_lock(&nb->lock);
	nb->port_ops = NULL;
	nb->port_opaque = NULL;
	while (nb->delivering)
		pthread_cond_wait(&nb->idle, &nb->lock);
	pthread_mutex_unlock(&nb->lock);
}

void net_send(struct net_backend *nb, const struct iovec *iov, int iovcnt, size_t len)
{
	bool up;

	pthread_mutex_lock(&nb->lock);
	up = nb->link_up;
	if (!up || len < NET_FRAME_MIN || len > NET_FRAME_MAX) {
		nb->stats.tx_dropped++;
		pthread_mutex_unlock(&nb->lock);
		return;
	}
	nb->stats.tx_frames++;
	nb->stats.tx_bytes += len;
	pthread_mutex_unlock(&nb->lock);
	nb->ops->send(nb->priv, iov, iovcnt, len);
}

bool net_takes_gso(const struct net_backend *nb)
{
	return nb->ops && nb->ops->send_gso;
}

void net_send_gso(struct net_backend *nb, const uint8_t hdr[NET_VNET_HDR_LEN],
		  const struct iovec *iov, int iovcnt, size_t len)
{
	pthread_mutex_lock(&nb->lock);
	if (!nb->link_up || len < NET_FRAME_MIN || len > NET_FRAME_MAX || !nb->ops->send_gso) {
		nb->stats.tx_dropped++;
		pthread_mutex_unlock(&nb->lock);
		return;
	}
	nb->stats.tx_frames++;
	nb->stats.tx_bytes += len;
	pthread_mutex_unlock(&nb->lock);
	nb->ops->send_gso(nb->priv, hdr, iov, iovcnt, len);
}

void net_rx_ready(struct net_backend *nb)
{
	pthread_mutex_lock(&nb->lock);
	nb->stalled = false;
	nb->ready_gen++;
	net_kick_locked(nb);
	pthread_mutex_unlock(&nb->lock);
}

bool net_link_up(const struct net_backend *nb)
{
	struct net_backend *m = (struct net_backend *)nb;
	bool up;

	pthread_mutex_lock(&m->lock);
	up = m->link_up;
	pthread_mutex_unlock(&m->lock);
	return up;
}

void net_rx_flush(struct net_backend *nb)
{
	bool resume;

	pthread_mutex_lock(&nb->lock);
	net_queue_clear(nb);
	nb->stalled = false;
	resume = nb->backend_paused;
	nb->backend_paused = false;
	pthread_mutex_unlock(&nb->lock);
	if (resume && nb->ops && nb->ops->rx_resume)
		nb->ops->rx_resume(nb->priv);
}

bool net_deliver(struct net_backend *nb, const void *frame, size_t len)
{
	struct net_frame *f;

	pthread_mutex_lock(&nb->lock);
	if (!nb->link_up || !nb->port_ops || len < NET_FRAME_MIN || len > NET_FRAME_MAX) {
		/* Nobody to take it, or not a frame: a wire would lose it too. */
		nb->stats.rx_dropped++;
		pthread_mutex_unlock(&nb->lock);
		return true;
	}
	if (nb->qframes >= NET_QUEUE_FRAMES || nb->qbytes + len > NET_QUEUE_BYTES) {
		nb->stats.rx_dropped++;
		nb->backend_paused = true;
		pthread_mutex_unlock(&nb->lock);
		return false;
	}
	f = malloc(sizeof(*f) + len);
	if (!f) {
		nb->stats.rx_dropped++;
		pthread_mutex_unlock(&nb->lock);
		return true;
	}
	f->next = NULL;
	f->len = len;
	memcpy(f->data, frame, len);
	if (nb->tail)
		nb->tail->next = f;
	else
		nb->head = f;
	nb->tail = f;
	nb->qframes++;
	nb->qbytes += len;
	net_kick_locked(nb);
	pthread_mutex_unlock(&nb->lock);
	return true;
}

void net_set_link(struct net_backend *nb, bool up)
{
	const struct net_port_ops *ops;
	void *po;

	pthread_mutex_lock(&nb->lock);
	if (nb->ops == &net_null_ops)
		up = false;   /* "null" means no cable to plug in */
	if (nb->link_up == up) {
		pthread_mutex_unlock(&nb->lock);
		return;
	}
	nb->link_up = up;
	if (!up)
		net_queue_clear(nb);
	ops = nb->port_ops;
	po = nb->port_opaque;
	nb->delivering++;
	pthread_mutex_unlock(&nb->lock);
	if (ops && ops->link_changed)
		ops->link_changed(po, up);
	pthread_mutex_lock(&nb->lock);
	nb->delivering--;
	pthread_cond_broadcast(&nb->idle);
	pthread_mutex_unlock(&nb->lock);
}

int net_fwd_add(struct net_backend *nb, const struct nic_fwd *rule, char *err, size_t errlen)
{
	if (!nb->ops->fwd_add) {
		snprintf(err, errlen, "%s: port forwarding needs a NAT attachment (this one is %s)",
			 nb->id, nb->ops->kind);
		return -EOPNOTSUPP;
	}
	return nb->ops->fwd_add(nb->priv, rule, err, errlen);
}

int net_fwd_delete(struct net_backend *nb, const char *name, char *err, size_t errlen)
{
	if (!nb->ops->fwd_delete) {
		snprintf(err, errlen, "%s: port forwarding needs a NAT attachment (this one is %s)",
			 nb->id, nb->ops->kind);
		return -EOPNOTSUPP;
	}
	return nb->ops->fwd_delete(nb->priv, name, err, errlen);
}

void net_get_stats(const struct net_backend *nb, struct net_stats *st)
{
	struct net_backend *m = (struct net_backend *)nb;

	pthread_mutex_lock(&m->lock);
	*st = m->stats;
	pthread_mutex_unlock(&m->lock);
}

const char *net_backend_kind(const struct net_backend *nb)
{
	return nb->ops ? nb->ops->kind : "none";
}
