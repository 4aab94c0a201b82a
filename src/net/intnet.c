/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The internal-network attachment: VMs of one user on one host that name
 * the same network see each other's frames, like VirtualBox's "intnet",
 * without root and without a central switch process.
 *
 * The switch is distributed.  Each adapter on network NAME binds one
 * AF_UNIX datagram socket in the network's directory,
 *     $XDG_RUNTIME_DIR/hutch/intnet/<NAME escaped>/vm<pid>n<index>
 * (or /tmp/hutch-<uid>/intnet/... without XDG_RUNTIME_DIR; every
 * directory 0700, so other users can neither see nor join), and knows
 * its peers as the other sockets in that directory: found by scanning it
 * once a second and whenever a frame comes from a socket not yet known.
 * One datagram carries one Ethernet frame, as on a wire.
 *
 * Each endpoint is a learning bridge port for its own sends: a frame's
 * source MAC is learned against the socket it came from (recvfrom), so a
 * frame to a known unicast MAC goes to that one peer; broadcast,
 * multicast and unknown unicast go to every peer.  Learned entries age
 * out after INTNET_MAC_AGE_NS, as a bridge's do.
 *
 * Nothing blocks: sends are MSG_DONTWAIT (a peer whose queue is full
 * loses the frame, EAGAIN, as a congested switch would), and a peer that
 * went away is dropped at the first ECONNREFUSED/ENOENT, its socket file
 * removed (no process has it bound any more).
 *
 * Threads and locks: send() runs on any thread under the NIC's lock and
 * takes in->lock; the receive watch and the rescan timer run on the loop
 * thread, registered with in->lock.  Lock order NIC -> in->lock -> net.c.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "net_backend.h"

#define INTNET_SCAN_NS (1000LL * 1000000LL)        /* rescan the directory every second */
#define INTNET_MAC_AGE_NS (300LL * 1000000000LL)   /* a bridge's default ageing time */
#define INTNET_MACS 256                             /* learned addresses kept */
#define INTNET_SOCKBUF (4 << 20)                    /* a burst of big frames */

struct intnet_peer {
	char name[32];                 /* the socket file's name in the directory */
	struct sockaddr_un addr;
	socklen_t alen;
	bool seen;                     /* found by the current rescan */
};

struct intnet_mac {
	uint8_t mac[6];
	int peer;                      /* index into peers, -1 = free */
	int64_t seen;
};

struct intnet {
	struct net_backend *nb;
	char id[16];
	const struct host_loop_ops *lops;
	void *loop;
	pthread_mutex_t lock;          /* everything below */
	int fd;
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char self[24];                 /* our socket's file name */
	struct host_watch *watch;
	struct host_timer *scan;
	bool paused;                   /* net_deliver said full */
	struct intnet_peer *peers;
	size_t nr_peers, cap_peers;
	struct intnet_mac macs[INTNET_MACS];
	uint8_t *buf;                  /* one received frame */
	uint64_t tx_dropped;           /* frames a peer could not take */
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * The network's name as one path component: letters, digits, '-' and
 * '_' stay, every other byte becomes %XX.  So "../x" is "%2E%2E%2Fx",
 * and no name can leave the directory or collide with another.
 */
static int intnet_escape(const char *name, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			     (*p >= '0' && *p <= '9') || *p == '-' || *p == '_';

		if (o + (plain ? 1 : 3) >= outlen)
			return -ENAMETOOLONG;
		if (plain) {
			out[o++] = (char)*p;
		} else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	out[o] = '\0';
	return o ? 0 : -EINVAL;
}

/* mkdir @path 0700, or check that what is there is our own private directory. */
static int intnet_private_dir(const char *path)
{
	struct stat st;

	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (lstat(path, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077))
		return -EACCES;   /* someone else's, or a symlink planted in /tmp */
	return 0;
}

/* Make the network's directory (every level ours and 0700).  0 or -errno + message. */
static int intnet_make_dir(struct intnet *in, const char *name, char *err, size_t errlen)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char esc[sizeof(in->dir)], path[sizeof(in->dir)];
	const char *levels[3];
	int ret;

	if (intnet_escape(name, esc, sizeof(esc)) < 0) {
		snprintf(err, errlen, "%s: internal network name '%s' is empty or too long",
			 in->id, name);
		return -EINVAL;
	}
	if (xdg && xdg[0] == '/') {
		if (snprintf(path, sizeof(path), "%s/hutch", xdg) >= (int)sizeof(path))
			goto too_long;
	} else if (snprintf(path, sizeof(path), "/tmp/hutch-%u", (unsigned int)geteuid()) >=
		   (int)sizeof(path)) {
		goto too_long;
	}
	levels[0] = "";
	levels[1] = "/intnet";
	levels[2] = esc;
	for (int i = 0; i < 3; i++) {
		size_t l = strlen(path);

		if (i == 2) {
			if (l + 1 + strlen(esc) >= sizeof(path))
				goto too_long;
			path[l++] = '/';
			path[l] = '\0';
		}
		if (l + strlen(levels[i]) >= sizeof(path))
			goto too_long;
		strcat(path, levels[i]);
		ret = intnet_private_dir(path);
		if (ret < 0) {
			snprintf(err, errlen, "%s: internal network directory %s: %s", in->id, path,
				 ret == -EACCES ? "not a private directory of this user"
						: strerror(-ret));
			return ret;
		}
	}
	/* Room for "/<socket name>" in sun_path. */
	if (strlen(path) + 1 + sizeof(in->self) > sizeof(in->dir))
		goto too_long;
	snprintf(in->dir, sizeof(in->dir), "%s", path);
	return 0;
too_long:
	snprintf(err, errlen, "%s: internal network name '%s' is too long for a socket path",
		 in->id, name);
	return -ENAMETOOLONG;
}

static void intnet_addr(const struct intnet *in, const char *file, struct sockaddr_un *a,
			socklen_t *alen)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	/* intnet_make_dir left room for a name of sizeof(in->self). */
	if (snprintf(a->sun_path, sizeof(a->sun_path), "%s/%s", in->dir, file) >=
	    (int)sizeof(a->sun_path))
		a->sun_path[0] = '\0';
	*alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(a->sun_path) + 1);
}

static int intnet_peer_find(const struct intnet *in, const char *name)
{
	for (size_t i = 0; i < in->nr_peers; i++)
		if (!strcmp(in->peers[i].name, name))
			return (int)i;
	return -1;
}

static int intnet_peer_add(struct intnet *in, const char *name)
{
	struct intnet_peer *p;
	int i = intnet_peer_find(in, name);

	if (i >= 0)
		return i;
	if (strlen(name) >= sizeof(p->name) || !strcmp(name, in->self))
		return -1;
	if (in->nr_peers == in->cap_peers) {
		size_t cap = in->cap_peers ? in->cap_peers * 2 : 8;

		p = realloc(in->peers, cap * sizeof(*p));
		if (!p)
			return -1;
		in->peers = p;
		in->cap_peers = cap;
	}
	p = &in->peers[in->nr_peers];
	snprintf(p->name, sizeof(p->name), "%s", name);
	intnet_addr(in, name, &p->addr, &p->alen);
	return (int)in->nr_peers++;
}

/* Forget peer @i (and what was learned about it); @unlink_file: nobody has it bound. */
static void intnet_peer_drop(struct intnet *in, size_t i, bool unlink_file)
{
	size_t last = in->nr_peers - 1;

	if (unlink_file)
		unlink(in->peers[i].addr.sun_path);
	for (size_t m = 0; m < INTNET_MACS; m++) {
		if (in->macs[m].peer == (int)i)
			in->macs[m].peer = -1;
		else if (in->macs[m].peer == (int)last)
			in->macs[m].peer = (int)i;
	}
	in->peers[i] = in->peers[last];
	in->nr_peers--;
}

/* Make the peer list match the directory's sockets.  Lock held. */
static void intnet_rescan(struct intnet *in)
{
	DIR *d = opendir(in->dir);
	struct dirent *e;

	if (!d)
		return;
	for (size_t i = 0; i < in->nr_peers; i++)
		in->peers[i].seen = false;
	while ((e = readdir(d))) {
		int i;

		if (e->d_name[0] == '.' || (e->d_type != DT_SOCK && e->d_type != DT_UNKNOWN))
			continue;
		i = intnet_peer_add(in, e->d_name);
		if (i >= 0)
			in->peers[i].seen = true;
	}
	closedir(d);
	/* A file that is gone: its VM left the network (and removed it). */
	for (size_t i = in->nr_peers; i-- > 0;)
		if (!in->peers[i].seen)
			intnet_peer_drop(in, i, false);
}

static void intnet_learn(struct intnet *in, const uint8_t *mac, int peer, int64_t now)
{
	struct intnet_mac *free_slot = NULL, *oldest = &in->macs[0];

	if (mac[0] & 1)
		return;   /* a group address is never a source */
	for (size_t m = 0; m < INTNET_MACS; m++) {
		struct intnet_mac *e = &in->macs[m];

		if (e->peer >= 0 && !memcmp(e->mac, mac, 6)) {
			e->peer = peer;   /* a VM that moved (restarted) is found again */
			e->seen = now;
			return;
		}
		if (e->peer < 0 && !free_slot)
			free_slot = e;
		if (e->seen < oldest->seen)
			oldest = e;
	}
	if (!free_slot)
		free_slot = oldest;
	memcpy(free_slot->mac, mac, 6);
	free_slot->peer = peer;
	free_slot->seen = now;
}

static int intnet_lookup(struct intnet *in, const uint8_t *mac, int64_t now)
{
	if (mac[0] & 1)
		return -1;   /* broadcast, multicast: flood */
	for (size_t m = 0; m < INTNET_MACS; m++) {
		struct intnet_mac *e = &in->macs[m];

		if (e->peer >= 0 && !memcmp(e->mac, mac, 6)) {
			if (now - e->seen > INTNET_MAC_AGE_NS) {
				e->peer = -1;
				return -1;
			}
			return e->peer;
		}
	}
	return -1;
}

/* One frame to peer @i.  false: the peer is gone (dropped here). */
static bool intnet_send_to(struct intnet *in, size_t i, const struct iovec *iov, int iovcnt)
{
	struct msghdr msg = {
		.msg_name = &in->peers[i].addr,
		.msg_namelen = in->peers[i].alen,
		.msg_iov = (struct iovec *)iov,
		.msg_iovlen = (size_t)iovcnt,
	};

	if (sendmsg(in->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
		return true;
	if (errno == ECONNREFUSED || errno == ENOENT) {
		/* Nobody has that socket bound any more: a VM that died. */
		intnet_peer_drop(in, i, errno == ECONNREFUSED);
		return false;
	}
	in->tx_dropped++;   /* EAGAIN: the peer's queue is full; EMSGSIZE, ENOBUFS */
	return true;
}

static void intnet_send(void *priv, const struct iovec *iov, int iovcnt, size_t len)
{
	struct intnet *in = priv;
	uint8_t dst[6];
	size_t got = 0;
	int64_t now = now_ns();
	int peer;

	(void)len;
	for (int k = 0; k < iovcnt && got < 6; k++) {
		size_t n = iov[k].iov_len < 6 - got ? iov[k].iov_len : 6 - got;

		memcpy(dst + got, iov[k].iov_base, n);
		got += n;
	}
	if (got < 6)
		return;
	pthread_mutex_lock(&in->lock);
	peer = intnet_lookup(in, dst, now);
	if (peer >= 0) {
		intnet_send_to(in, (size_t)peer, iov, iovcnt);
	} else {
		/* Flood; a peer dropped meanwhile moves the last one into its slot. */
		for (size_t i = 0; i < in->nr_peers;)
			if (intnet_send_to(in, i, iov, iovcnt))
				i++;
	}
	pthread_mutex_unlock(&in->lock);
}

/* Our socket is readable (in->lock held): take frames until none or the queue is full. */
static void intnet_readable(void *opaque, unsigned int revents)
{
	struct intnet *in = opaque;
	bool rescanned = false;

	(void)revents;
	while (!in->paused) {
		struct sockaddr_un from;
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(in->fd, in->buf, NET_FRAME_MAX, MSG_DONTWAIT | MSG_TRUNC,
				     (struct sockaddr *)&from, &flen);
		const char *base;
		int peer;

		if (n < 0)
			break;   /* EAGAIN: all read */
		if (n < NET_FRAME_MIN || n > NET_FRAME_MAX)
			continue;   /* not a frame (or cut short): nobody on our network sends that */
		/* Learn where the source MAC lives: the sender's socket. */
		base = flen > offsetof(struct sockaddr_un, sun_path) ? strrchr(from.sun_path, '/')
								     : NULL;
		peer = base ? intnet_peer_find(in, base + 1) : -1;
		if (peer < 0 && base && !rescanned) {
			/* A VM that joined since the last scan. */
			intnet_rescan(in);
			rescanned = true;
			peer = intnet_peer_find(in, base + 1);
		}
		if (peer >= 0)
			intnet_learn(in, in->buf + 6, peer, now_ns());
		if (!net_deliver(in->nb, in->buf, (size_t)n)) {
			/* The guest is not reading: leave the rest in the socket. */
			in->paused = true;
			host_watch_set(in->watch, 0);
		}
	}
}

static void intnet_rx_resume(void *priv)
{
	struct intnet *in = priv;

	pthread_mutex_lock(&in->lock);
	if (in->paused) {
		in->paused = false;
		host_watch_set(in->watch, HOST_FD_IN);
	}
	pthread_mutex_unlock(&in->lock);
}

static void intnet_scan_timer(void *opaque)
{
	intnet_rescan(opaque);
}

static void intnet_destroy(void *priv)
{
	struct intnet *in = priv;

	if (!in)
		return;
	/* Without in->lock: these wait for a callback that may be running. */
	host_watch_free(in->watch);
	host_timer_free(in->scan);
	if (in->fd >= 0) {
		struct sockaddr_un a;
		socklen_t alen;

		close(in->fd);
		intnet_addr(in, in->self, &a, &alen);
		unlink(a.sun_path);
		rmdir(in->dir);   /* the last one out; ENOTEMPTY otherwise */
	}
	if (in->tx_dropped)
		fprintf(stderr, "hutch-vm: %s: internal network: %llu frames dropped (peers busy)\n",
			in->id, (unsigned long long)in->tx_dropped);
	free(in->peers);
	free(in->buf);
	pthread_mutex_destroy(&in->lock);
	free(in);
}

static const struct net_backend_ops intnet_ops = {
	.kind = "intnet",
	.send = intnet_send,
	.rx_resume = intnet_rx_resume,
	.destroy = intnet_destroy,
};

int net_intnet_open(struct net_backend *nb, const struct nic_spec *spec, const char *vm_name,
		    char *err, size_t errlen)
{
	struct intnet *in = calloc(1, sizeof(*in));
	struct sockaddr_un a;
	socklen_t alen;
	int buf = INTNET_SOCKBUF;
	int ret;

	(void)vm_name;
	if (!in || !(in->buf = malloc(NET_FRAME_MAX))) {
		free(in);
		snprintf(err, errlen, "nic%u: %s", spec->index, strerror(ENOMEM));
		return -ENOMEM;
	}
	in->nb = nb;
	in->fd = -1;
	snprintf(in->id, sizeof(in->id), "nic%u", spec->index);
	pthread_mutex_init(&in->lock, NULL);
	for (size_t m = 0; m < INTNET_MACS; m++)
		in->macs[m].peer = -1;
	net_backend_loop(nb, &in->lops, &in->loop);
	if (!spec->intnet || !spec->intnet[0]) {
		snprintf(err, errlen, "nic%u: an internal network needs a name (--intnet%u)",
			 spec->index, spec->index);
		ret = -EINVAL;
		goto fail;
	}
	ret = intnet_make_dir(in, spec->intnet, err, errlen);
	if (ret < 0)
		goto fail;
	snprintf(in->self, sizeof(in->self), "vm%dn%u", (int)getpid(), spec->index);
	in->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (in->fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "nic%u: internal network socket: %s", spec->index,
			 strerror(errno));
		goto fail;
	}
	/* Best effort: the kernel caps these at net.core.[wr]mem_max. */
	setsockopt(in->fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	setsockopt(in->fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	intnet_addr(in, in->self, &a, &alen);
	unlink(a.sun_path);   /* left by an earlier process with our pid */
	if (bind(in->fd, (struct sockaddr *)&a, alen) < 0) {
		ret = -errno;
		snprintf(err, errlen, "nic%u: internal network '%s': bind %s: %s", spec->index,
			 spec->intnet, a.sun_path, strerror(errno));
		close(in->fd);
		in->fd = -1;
		goto fail;
	}
	intnet_rescan(in);
	in->watch = host_watch_new(in->lops, in->loop, in->fd, HOST_FD_IN, &in->lock,
				   intnet_readable, in);
	in->scan = host_timer_new(in->lops, in->loop, &in->lock, intnet_scan_timer, in);
	if (!in->watch || !in->scan) {
		snprintf(err, errlen, "nic%u: no event loop for the internal network", spec->index);
		ret = -ENOSYS;
		goto fail;
	}
	host_timer_arm(in->scan, now_ns() + INTNET_SCAN_NS, INTNET_SCAN_NS);
	net_backend_bind(nb, &intnet_ops, in);
	return 0;
fail:
	intnet_destroy(in);
	return ret;
}
