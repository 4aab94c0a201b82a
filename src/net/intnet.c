/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The internal-network attachment: VMs of one user on one host that name
 * the same network see each other's frames, like VirtualBox's "intnet",
 * without root and without a central switch process.
 *
 * The switch is distributed.  Each adapter on network NAME listens on one
 * AF_UNIX SOCK_SEQPACKET socket in the network's directory,
 *     $XDG_RUNTIME_DIR/hutch/intnet/<NAME escaped>/vm<pid>n<index>
 * (or /tmp/hutch-<uid>/intnet/... without XDG_RUNTIME_DIR; every
 * directory 0700, so other users can neither see nor join), and keeps one
 * connection to every other adapter there: it connects to each socket it
 * finds in the directory (at open, then once a second) that it has no
 * connection with yet, and accepts the others' connections.  One message
 * is one Ethernet frame, as on a wire; the first message on a connection
 * is the connecting side's name, so both ends know which peer it is.
 * Two adapters that connect to each other at once keep the connection
 * made by the one whose name sorts first; the other is closed by the one
 * that made it, and read to its end by the other (intnet_dedup).
 *
 * Why connections and not one datagram socket per adapter: the kernel
 * lets a datagram socket queue only net.unix.max_dgram_qlen messages
 * (10 by default) from senders it is not connected to, so a burst of
 * eleven frames would lose one.  A connected pair is bounded by the
 * sender's SO_SNDBUF only (4 MiB here).
 *
 * Each endpoint is a learning bridge port for its own sends: a frame's
 * source MAC is learned against the connection it came on, so a frame to
 * a known unicast MAC goes to that one peer; broadcast, multicast and
 * unknown unicast go to every peer.  Learned entries age out after
 * INTNET_MAC_AGE_NS, as a bridge's do.
 *
 * Nothing blocks: sends are MSG_DONTWAIT (a peer whose buffer is full
 * loses the frame, EAGAIN, as a congested switch would).  A peer that went
 * away closes its connection (we drop it and what we learned about it);
 * a socket file nobody listens on any more (a VM that was killed) is
 * removed at the connect that finds it dead (ECONNREFUSED).
 *
 * Threads and locks: send() runs on any thread under the NIC's lock and
 * takes in->lock; the listener's watch and the scan timer run on the loop
 * thread registered with in->lock.  The connections' watches are
 * registered with no lock (their callback takes in->lock and checks the
 * connection is still open) so that a connection can be freed on the
 * loop thread with in->lock held; send() never frees one, it marks it
 * dead for the loop.  Lock order NIC -> in->lock -> net.c.
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
#define INTNET_NAME 24                              /* "vm<pid>n<index>" and its NUL */

struct intnet;

struct intnet_conn {
	struct intnet *in;
	int fd;
	struct host_watch *w;
	char name[INTNET_NAME];        /* the peer's socket name; "" until its hello */
	bool outgoing;                 /* we connected (else we accepted) */
	bool dead;                     /* closed or failed: the loop frees it */
	bool doomed;                   /* a duplicate its maker will close: read, never sent on */
};

struct intnet_mac {
	uint8_t mac[6];
	struct intnet_conn *conn;      /* NULL = free */
	int64_t seen;
};

struct intnet {
	struct net_backend *nb;
	char id[16];
	const struct host_loop_ops *lops;
	void *loop;
	pthread_mutex_t lock;          /* everything below */
	int fd;                        /* the listening socket */
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char self[INTNET_NAME];        /* our socket's file name */
	struct host_watch *watch;      /* the listener */
	struct host_timer *scan;       /* the directory scan, and freeing dead connections */
	bool paused;                   /* net_deliver said full */
	bool dying;
	struct intnet_conn **conns;
	size_t nr_conns, cap_conns;
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
	if (strlen(path) + 1 + INTNET_NAME > sizeof(in->dir))
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


static void intnet_conn_readable(void *opaque, unsigned int revents);

/* A new connection on @fd (in->lock held).  NULL if out of memory (fd closed). */
static struct intnet_conn *intnet_conn_add(struct intnet *in, int fd, const char *name,
					   bool outgoing)
{
	struct intnet_conn *c;
	int buf = INTNET_SOCKBUF;

	/* Best effort: the kernel caps these at net.core.[wr]mem_max. */
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	if (in->nr_conns == in->cap_conns) {
		size_t cap = in->cap_conns ? in->cap_conns * 2 : 8;
		struct intnet_conn **n = realloc(in->conns, cap * sizeof(*n));

		if (!n)
			goto fail;
		in->conns = n;
		in->cap_conns = cap;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		goto fail;
	*c = (struct intnet_conn){ .in = in, .fd = fd, .outgoing = outgoing };
	snprintf(c->name, sizeof(c->name), "%s", name ? name : "");
	c->w = host_watch_new(in->lops, in->loop, fd, in->paused ? 0 : HOST_FD_IN, NULL,
			      intnet_conn_readable, c);
	if (!c->w) {
		free(c);
		goto fail;
	}
	in->conns[in->nr_conns++] = c;
	return c;
fail:
	close(fd);
	return NULL;
}

/* Forget what was learned about @c. */
static void intnet_forget(struct intnet *in, const struct intnet_conn *c)
{
	for (size_t m = 0; m < INTNET_MACS; m++)
		if (in->macs[m].conn == c)
			in->macs[m].conn = NULL;
}

/* A connection is over (in->lock held, any thread): the loop frees it. */
static void intnet_conn_kill(struct intnet *in, struct intnet_conn *c)
{
	if (c->dead)
		return;
	c->dead = true;
	intnet_forget(in, c);
	host_timer_arm(in->scan, 0, INTNET_SCAN_NS);   /* reap soon */
}

/* Free dead connections.  Loop thread, in->lock held (their watches have no lock). */
static void intnet_reap(struct intnet *in)
{
	size_t j = 0;

	for (size_t i = 0; i < in->nr_conns; i++) {
		struct intnet_conn *c = in->conns[i];

		if (c->dead) {
			host_watch_free(c->w);   /* on the loop thread: never waits */
			close(c->fd);
			free(c);
			continue;
		}
		in->conns[j++] = c;
	}
	in->nr_conns = j;
}

static struct intnet_conn *intnet_conn_named(struct intnet *in, const char *name,
					     const struct intnet_conn *except)
{
	for (size_t i = 0; i < in->nr_conns; i++) {
		struct intnet_conn *c = in->conns[i];

		if (c != except && !c->dead && !c->doomed && !strcmp(c->name, name))
			return c;
	}
	return NULL;
}

/*
 * @c now has a name: if we also have the connection the other way (both
 * connected at once), keep the one made by the name that sorts first.
 * Both ends decide alike.  Only the end that made the duplicate closes
 * it, and only once it has stopped sending on it; the other end stops
 * sending on it too but reads it to its end, so that frames the maker sent
 * before it knew of the duplicate are not lost (they were, when either
 * end closed it at once: a frame sent right after a VM joined vanished).
 */
static void intnet_dedup(struct intnet *in, struct intnet_conn *c)
{
	struct intnet_conn *o = intnet_conn_named(in, c->name, c);
	bool self_first = strcmp(in->self, c->name) < 0;
	struct intnet_conn *drop;

	if (!o)
		return;
	/* The one to keep was made by us if our name sorts first. */
	drop = c->outgoing == self_first ? o : c;
	if (drop->outgoing) {
		intnet_conn_kill(in, drop);
	} else {
		drop->doomed = true;
		intnet_forget(in, drop);
	}
}

/* Connect to the socket @name in the directory (in->lock held). */
static void intnet_connect(struct intnet *in, const char *name)
{
	struct sockaddr_un a;
	socklen_t alen;
	struct intnet_conn *c;
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return;
	intnet_addr(in, name, &a, &alen);
	if (connect(fd, (struct sockaddr *)&a, alen) < 0) {
		/* Nobody listens there any more: a VM that was killed.  EAGAIN: busy, next scan. */
		if (errno == ECONNREFUSED)
			unlink(a.sun_path);
		close(fd);
		return;
	}
	/* Our name first, so the peer knows which of its peers this is. */
	if (send(fd, in->self, strlen(in->self), MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		close(fd);
		return;
	}
	c = intnet_conn_add(in, fd, name, true);
	if (c)
		intnet_dedup(in, c);
}

/* Connect to every socket in the directory we have no connection with.  Lock held. */
static void intnet_scan(struct intnet *in)
{
	DIR *d = opendir(in->dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || (e->d_type != DT_SOCK && e->d_type != DT_UNKNOWN))
			continue;
		if (strlen(e->d_name) >= INTNET_NAME || !strcmp(e->d_name, in->self))
			continue;
		if (!intnet_conn_named(in, e->d_name, NULL))
			intnet_connect(in, e->d_name);
	}
	closedir(d);
}

static void intnet_learn(struct intnet *in, const uint8_t *mac, struct intnet_conn *c,
			 int64_t now)
{
	struct intnet_mac *free_slot = NULL, *oldest = &in->macs[0];

	if (mac[0] & 1)
		return;   /* a group address is never a source */
	for (size_t m = 0; m < INTNET_MACS; m++) {
		struct intnet_mac *e = &in->macs[m];

		if (e->conn && !memcmp(e->mac, mac, 6)) {
			e->conn = c;   /* a VM that moved (restarted) is found again */
			e->seen = now;
			return;
		}
		if (!e->conn && !free_slot)
			free_slot = e;
		if (e->seen < oldest->seen)
			oldest = e;
	}
	if (!free_slot)
		free_slot = oldest;
	memcpy(free_slot->mac, mac, 6);
	free_slot->conn = c;
	free_slot->seen = now;
}

static struct intnet_conn *intnet_lookup(struct intnet *in, const uint8_t *mac, int64_t now)
{
	if (mac[0] & 1)
		return NULL;   /* broadcast, multicast: flood */
	for (size_t m = 0; m < INTNET_MACS; m++) {
		struct intnet_mac *e = &in->macs[m];

		if (e->conn && !memcmp(e->mac, mac, 6)) {
			if (now - e->seen > INTNET_MAC_AGE_NS) {
				e->conn = NULL;
				return NULL;
			}
			return e->conn;
		}
	}
	return NULL;
}

/* One frame on @c (lock held). */
static void intnet_send_to(struct intnet *in, struct intnet_conn *c, const struct iovec *iov,
			   int iovcnt)
{
	struct msghdr msg = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt };

	if (c->dead || c->doomed)
		return;
	if (sendmsg(c->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
		return;
	if (errno == EAGAIN || errno == ENOBUFS || errno == EMSGSIZE)
		in->tx_dropped++;   /* the peer's buffer is full: a congested switch drops */
	else
		intnet_conn_kill(in, c);   /* EPIPE, ECONNRESET: the peer went away */
}

static void intnet_send(void *priv, const struct iovec *iov, int iovcnt, size_t len)
{
	struct intnet *in = priv;
	struct intnet_conn *c;
	uint8_t dst[6];
	size_t got = 0;

	(void)len;
	for (int k = 0; k < iovcnt && got < 6; k++) {
		size_t n = iov[k].iov_len < 6 - got ? iov[k].iov_len : 6 - got;

		memcpy(dst + got, iov[k].iov_base, n);
		got += n;
	}
	if (got < 6)
		return;
	pthread_mutex_lock(&in->lock);
	c = intnet_lookup(in, dst, now_ns());
	if (c) {
		intnet_send_to(in, c, iov, iovcnt);
	} else {
		for (size_t i = 0; i < in->nr_conns; i++)
			intnet_send_to(in, in->conns[i], iov, iovcnt);
	}
	pthread_mutex_unlock(&in->lock);
}

static void intnet_set_paused(struct intnet *in, bool paused)
{
	in->paused = paused;
	for (size_t i = 0; i < in->nr_conns; i++)
		if (!in->conns[i]->dead)
			host_watch_set(in->conns[i]->w, paused ? 0 : HOST_FD_IN);
}

/* A connection is readable: frames until none, the queue is full, or it ends. */
static void intnet_conn_readable(void *opaque, unsigned int revents)
{
	struct intnet_conn *c = opaque;
	struct intnet *in = c->in;

	(void)revents;
	pthread_mutex_lock(&in->lock);
	while (!in->dying && !c->dead && !in->paused) {
		ssize_t n = recv(c->fd, in->buf, NET_FRAME_MAX, MSG_DONTWAIT | MSG_TRUNC);

		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			intnet_conn_kill(in, c);   /* 0: the peer closed; an error: reset */
			break;
		}
		if (!c->name[0]) {
			/* An accepted connection's first message: the peer's name. */
			if (n >= INTNET_NAME || memchr(in->buf, '/', (size_t)n) || memchr(in->buf, 0, (size_t)n)) {
				intnet_conn_kill(in, c);   /* not one of ours */
				break;
			}
			memcpy(c->name, in->buf, (size_t)n);
			c->name[n] = '\0';
			intnet_dedup(in, c);
			continue;
		}
		if (n < NET_FRAME_MIN || n > NET_FRAME_MAX)
			continue;   /* not a frame (or cut short) */
		/* A doomed connection's frames are learned against the one kept. */
		struct intnet_conn *port = c->doomed ? intnet_conn_named(in, c->name, c) : c;
		if (port)
			intnet_learn(in, in->buf + 6, port, now_ns());
		if (!net_deliver(in->nb, in->buf, (size_t)n))
			intnet_set_paused(in, true);   /* the rest waits in the socket */
	}
	if (!in->dying)
		intnet_reap(in);   /* may free c */
	pthread_mutex_unlock(&in->lock);
}

/* The listener (in->lock held): take every pending connection. */
static void intnet_accept(void *opaque, unsigned int revents)
{
	struct intnet *in = opaque;
	int fd;

	(void)revents;
	if (in->dying)
		return;
	while ((fd = accept4(in->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
		intnet_conn_add(in, fd, NULL, false);
}

static void intnet_rx_resume(void *priv)
{
	struct intnet *in = priv;

	pthread_mutex_lock(&in->lock);
	if (in->paused)
		intnet_set_paused(in, false);
	pthread_mutex_unlock(&in->lock);
}

static void intnet_scan_timer(void *opaque)
{
	struct intnet *in = opaque;

	if (in->dying)
		return;   /* intnet_destroy has taken the connections */
	intnet_reap(in);
	intnet_scan(in);
}

static void intnet_destroy(void *priv)
{
	struct intnet *in = priv;
	struct intnet_conn **conns;
	size_t nr;

	if (!in)
		return;
	pthread_mutex_lock(&in->lock);
	in->dying = true;
	conns = in->conns;
	nr = in->nr_conns;
	in->conns = NULL;
	in->nr_conns = in->cap_conns = 0;
	pthread_mutex_unlock(&in->lock);
	/* Without in->lock: these wait for a callback that may be running. */
	host_watch_free(in->watch);
	host_timer_free(in->scan);
	for (size_t i = 0; i < nr; i++) {
		host_watch_free(conns[i]->w);
		close(conns[i]->fd);
		free(conns[i]);
	}
	free(conns);
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
	in->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (in->fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "nic%u: internal network socket: %s", spec->index,
			 strerror(errno));
		goto fail;
	}
	intnet_addr(in, in->self, &a, &alen);
	unlink(a.sun_path);   /* left by an earlier process with our pid */
	if (bind(in->fd, (struct sockaddr *)&a, alen) < 0 || listen(in->fd, 64) < 0) {
		ret = -errno;
		snprintf(err, errlen, "nic%u: internal network '%s': %s: %s", spec->index,
			 spec->intnet, a.sun_path, strerror(errno));
		close(in->fd);
		in->fd = -1;
		goto fail;
	}
	in->watch = host_watch_new(in->lops, in->loop, in->fd, HOST_FD_IN, &in->lock,
				   intnet_accept, in);
	in->scan = host_timer_new(in->lops, in->loop, &in->lock, intnet_scan_timer, in);
	if (!in->watch || !in->scan) {
		snprintf(err, errlen, "nic%u: no event loop for the internal network", spec->index);
		ret = -ENOSYS;
		goto fail;
	}
	/* Join now: the peers already there hear of us at once. */
	pthread_mutex_lock(&in->lock);
	intnet_scan(in);
	pthread_mutex_unlock(&in->lock);
	host_timer_arm(in->scan, now_ns() + INTNET_SCAN_NS, INTNET_SCAN_NS);
	net_backend_bind(nb, &intnet_ops, in);
	return 0;
fail:
	intnet_destroy(in);
	return ret;
}
