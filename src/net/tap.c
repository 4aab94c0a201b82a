/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The bridged attachment: the guest's frames go out through a TAP device
 * (Documentation/networking/tuntap.rst) that sits on a host bridge, so
 * the guest is one more station on that LAN, as VirtualBox's bridged
 * adapter is.
 *
 * spec->bridge names either
 *   - a host bridge (its driver is "bridge"): we make a TAP
 *     device "hutch<pid>n<index>", add it to the bridge (SIOCBRADDIF) and
 *     bring it up.  That needs CAP_NET_ADMIN; it vanishes when we close
 *     it (not persistent), so destroy removes it; or
 *   - an existing TAP device (driver "tun"),
 *     made beforehand by root for this user (ip tuntap add ... user U)
 *     and put on a bridge by them: we attach to it, no privilege needed.
 *
 * IFF_TAP | IFF_NO_PI | IFF_VNET_HDR: every frame through the fd carries a
 * 12-byte virtio_net_hdr (tuntap.rst; TUNSETVNETHDRSZ), so a virtio-net
 * can hand the host kernel its guest's TSO frames whole (net_send_gso):
 * the kernel segments them, or keeps them whole up to a peer on the same
 * host, which is where QEMU's TAP throughput comes from.  Plain frames
 * (net_send, and everything read: no TUNSETOFFLOAD, so the kernel gives
 * us finished, MTU-sized frames) get an all-zero header.  A kernel
 * without IFF_VNET_HDR gets plain frames and no send_gso.
 * The fd is non-blocking: the loop's watch reads frames until EAGAIN (or
 * until net_deliver says the guest's queue is full: then the watch waits
 * for rx_resume); send() writes one frame with writev and drops it,
 * counted, when the TAP's queue is full (EAGAIN), as a busy wire would.
 *
 * Threads and locks: send() on any thread under the NIC's lock, the
 * watch on the loop thread registered with tp->lock (which guards only
 * the pause state: the fd itself needs no lock).  NIC -> tp->lock -> net.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/ethtool.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "net_backend.h"

#define TAP_DEV "/dev/net/tun"

struct tap {
	struct net_backend *nb;
	char id[16];
	char ifname[IFNAMSIZ];
	const struct host_loop_ops *lops;
	void *loop;
	pthread_mutex_t lock;       /* paused */
	int fd;
	bool made;                  /* we created the TAP (and it goes with our fd) */
	bool vnet_hdr;              /* frames on the fd carry a virtio_net_hdr */
	bool paused;
	struct host_watch *watch;
	uint8_t *buf;               /* one received frame (loop thread only) */
	uint64_t tx_dropped;        /* atomic: frames the TAP could not take */
};

/*
 * What kind of interface @ifname is: its driver's name ("bridge", "tun")
 * from ETHTOOL_GDRVINFO, which needs no privilege and, unlike
 * /sys/class/net, answers for the network namespace we run in.
 * 0, or -ENODEV when there is no such interface.
 */
static int iface_driver(const char *ifname, char *driver, size_t len)
{
	struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int ret = 0;

	if (s < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&info;
	if (ioctl(s, SIOCETHTOOL, &ifr) < 0)
		ret = -errno;
	else if (snprintf(driver, len, "%.*s", (int)sizeof(info.driver), info.driver) >= (int)len)
		ret = -ENAMETOOLONG;   /* not a driver we know */
	close(s);
	return ret;
}

/*
 * Open the TAP driver and make or attach interface @name, with virtio
 * headers when the kernel has them (*vnet_hdr).  fd or -errno.
 */
static int tap_open_dev(const char *name, char *actual, bool *vnet_hdr)
{
	int hdr_len = NET_VNET_HDR_LEN;
	struct ifreq ifr;
	int fd = open(TAP_DEV, O_RDWR | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	*vnet_hdr = false;
	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(fd, TUNGETFEATURES, &ifr.ifr_flags) == 0 && (ifr.ifr_flags & IFF_VNET_HDR))
		*vnet_hdr = true;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (*vnet_hdr ? IFF_VNET_HDR : 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	if (*vnet_hdr && ioctl(fd, TUNSETVNETHDRSZ, &hdr_len) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	memcpy(actual, ifr.ifr_name, IFNAMSIZ);
	actual[IFNAMSIZ - 1] = '\0';
	return fd;
}

/* Put our new TAP on @bridge and bring it up.  0 or -errno (which step in *step). */
static int tap_join_bridge(const char *ifname, const char *bridge, const char **step)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int ret = 0;
	int ifindex;

	if (s < 0) {
		*step = "socket";
		return -errno;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(s, SIOCGIFINDEX, &ifr) < 0) {
		*step = "its interface index";
		ret = -errno;
		goto out;
	}
	ifindex = ifr.ifr_ifindex;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", bridge);
	ifr.ifr_ifindex = ifindex;
	if (ioctl(s, SIOCBRADDIF, &ifr) < 0) {
		*step = "adding it to the bridge";
		ret = -errno;
		goto out;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
		*step = "reading its flags";
		ret = -errno;
		goto out;
	}
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) {
		*step = "bringing it up";
		ret = -errno;
	}
out:
	close(s);
	return ret;
}

/* The TAP is readable (tp->lock held): frames to the guest until EAGAIN or a full queue. */
static void tap_readable(void *opaque, unsigned int revents)
{
	struct tap *tp = opaque;

	(void)revents;
	while (!tp->paused) {
		ssize_t n = read(tp->fd, tp->buf, NET_VNET_HDR_LEN + NET_FRAME_MAX);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* EAGAIN: all read.  EIO: the interface is down; it says so again when up. */
			break;
		}
		if (n == 0)
			break;
		if (tp->vnet_hdr) {
			/* No offloads asked for: the header says nothing we need. */
			if (n <= NET_VNET_HDR_LEN)
				continue;
			n -= NET_VNET_HDR_LEN;
		}
		if (!net_deliver(tp->nb, tp->buf + (tp->vnet_hdr ? NET_VNET_HDR_LEN : 0), (size_t)n)) {
			tp->paused = true;
			host_watch_set(tp->watch, 0);
		}
	}
}

static void tap_rx_resume(void *priv)
{
	struct tap *tp = priv;

	pthread_mutex_lock(&tp->lock);
	if (tp->paused) {
		tp->paused = false;
		host_watch_set(tp->watch, HOST_FD_IN);
	}
	pthread_mutex_unlock(&tp->lock);
}

/* One frame out, behind @hdr when the fd takes headers. */
static void tap_write(struct tap *tp, const uint8_t *hdr, const struct iovec *iov, int iovcnt)
{
	static const uint8_t no_offload[NET_VNET_HDR_LEN];
	struct iovec v[65];
	const struct iovec *out = iov;
	int cnt = iovcnt;
	ssize_t n;

	if (tp->vnet_hdr) {
		if (iovcnt > 64) {
			__atomic_fetch_add(&tp->tx_dropped, 1, __ATOMIC_RELAXED);
			return;
		}
		v[0].iov_base = (void *)(hdr ? hdr : no_offload);
		v[0].iov_len = NET_VNET_HDR_LEN;
		memcpy(&v[1], iov, (size_t)iovcnt * sizeof(*iov));
		out = v;
		cnt = iovcnt + 1;
	}
	do
		n = writev(tp->fd, out, cnt);
	while (n < 0 && errno == EINTR);
	/* EAGAIN: the TAP's queue is full; EIO: it is down; EINVAL: a header the kernel refused */
	if (n < 0)
		__atomic_fetch_add(&tp->tx_dropped, 1, __ATOMIC_RELAXED);
}

static void tap_send(void *priv, const struct iovec *iov, int iovcnt, size_t len)
{
	(void)len;
	tap_write(priv, NULL, iov, iovcnt);
}

static void tap_send_gso(void *priv, const uint8_t *hdr, const struct iovec *iov, int iovcnt,
			 size_t len)
{
	(void)len;
	tap_write(priv, hdr, iov, iovcnt);
}

static void tap_destroy(void *priv)
{
	struct tap *tp = priv;

	if (!tp)
		return;
	host_watch_free(tp->watch);   /* without tp->lock: may wait for tap_readable */
	if (tp->fd >= 0)
		close(tp->fd);   /* a TAP we made is not persistent: this removes it */
	if (tp->tx_dropped)
		fprintf(stderr, "hutch-vm: %s: bridged: %llu frames dropped (TAP busy or down)\n",
			tp->id, (unsigned long long)tp->tx_dropped);
	free(tp->buf);
	pthread_mutex_destroy(&tp->lock);
	free(tp);
}

static const struct net_backend_ops tap_ops = {
	.kind = "bridged",
	.send = tap_send,
	.rx_resume = tap_rx_resume,
	.destroy = tap_destroy,
};

/* With virtio headers: TSO frames go to the kernel whole. */
static const struct net_backend_ops tap_vnet_ops = {
	.kind = "bridged",
	.send = tap_send,
	.send_gso = tap_send_gso,
	.rx_resume = tap_rx_resume,
	.destroy = tap_destroy,
};

int net_tap_open(struct net_backend *nb, const struct nic_spec *spec, const char *vm_name,
		 char *err, size_t errlen)
{
	const char *br = spec->bridge;
	struct tap *tp;
	const char *step = NULL;
	char driver[40];
	int ret;

	(void)vm_name;
	if (!br || !br[0] || strlen(br) >= IFNAMSIZ || strchr(br, '/') || !strcmp(br, ".") ||
	    !strcmp(br, "..")) {
		snprintf(err, errlen, "nic%u: bridged: '%s' is not an interface name", spec->index,
			 br ? br : "");
		return -EINVAL;
	}
	tp = calloc(1, sizeof(*tp));
	if (!tp || !(tp->buf = malloc(NET_VNET_HDR_LEN + NET_FRAME_MAX))) {
		free(tp);
		snprintf(err, errlen, "nic%u: %s", spec->index, strerror(ENOMEM));
		return -ENOMEM;
	}
	tp->nb = nb;
	tp->fd = -1;
	snprintf(tp->id, sizeof(tp->id), "nic%u", spec->index);
	pthread_mutex_init(&tp->lock, NULL);
	net_backend_loop(nb, &tp->lops, &tp->loop);

	ret = iface_driver(br, driver, sizeof(driver));
	if (ret == -ENODEV) {
		snprintf(err, errlen, "nic%u: bridged: no bridge or TAP device named %s on this host",
			 spec->index, br);
		goto fail;
	}
	if (ret < 0)   /* EOPNOTSUPP: a device without driver info (lo) */
		snprintf(driver, sizeof(driver), "unknown");
	if (!strcmp(driver, "bridge")) {
		char want[IFNAMSIZ];

		/* "hutch" + pid (at most 7 digits) + "n" + index fits IFNAMSIZ-1. */
		snprintf(want, sizeof(want), "hutch%dn%u", (int)getpid() % 10000000, spec->index);
		ret = tap_open_dev(want, tp->ifname, &tp->vnet_hdr);
		if (ret == -EPERM || ret == -EACCES) {
			snprintf(err, errlen,
				 "nic%u: bridged to %s: creating a TAP device needs CAP_NET_ADMIN "
				 "(run as root, or create one you own: ip tuntap add dev tap0 mode tap "
				 "user $USER; ip link set tap0 master %s up; then --bridgeadapter%u tap0)",
				 spec->index, br, br, spec->index);
			goto fail;
		}
		if (ret < 0) {
			snprintf(err, errlen, "nic%u: bridged to %s: cannot create a TAP device (%s): %s",
				 spec->index, br, TAP_DEV, strerror(-ret));
			goto fail;
		}
		tp->fd = ret;
		tp->made = true;
		ret = tap_join_bridge(tp->ifname, br, &step);
		if (ret < 0) {
			snprintf(err, errlen, "nic%u: bridged to %s: TAP %s: %s: %s%s", spec->index, br,
				 tp->ifname, step, strerror(-ret),
				 ret == -EPERM ? " (needs CAP_NET_ADMIN)" : "");
			goto fail;
		}
	} else if (!strcmp(driver, "tun")) {
		ret = tap_open_dev(br, tp->ifname, &tp->vnet_hdr);
		if (ret == -EPERM || ret == -EACCES) {
			snprintf(err, errlen,
				 "nic%u: bridged to %s: the TAP device belongs to another user "
				 "(root can give it to you: ip tuntap add dev %s mode tap user $USER)",
				 spec->index, br, br);
			goto fail;
		}
		if (ret == -EINVAL) {
			snprintf(err, errlen, "nic%u: bridged to %s: not a TAP device (a TUN?)",
				 spec->index, br);
			goto fail;
		}
		if (ret < 0) {
			snprintf(err, errlen, "nic%u: bridged to %s: %s", spec->index, br,
				 strerror(-ret));
			goto fail;
		}
		tp->fd = ret;
	} else {
		snprintf(err, errlen, "nic%u: bridged: %s is neither a bridge nor a TAP device "
			 "(its driver: %s)", spec->index, br, driver);
		ret = -EINVAL;
		goto fail;
	}
	tp->watch = host_watch_new(tp->lops, tp->loop, tp->fd, HOST_FD_IN, &tp->lock,
				   tap_readable, tp);
	if (!tp->watch) {
		ret = -errno;
		snprintf(err, errlen, "nic%u: no event loop for the bridged adapter", spec->index);
		goto fail;
	}
	net_backend_bind(nb, tp->vnet_hdr ? &tap_vnet_ops : &tap_ops, tp);
	return 0;
fail:
	tap_destroy(tp);
	return ret < 0 ? ret : -EIO;
}
