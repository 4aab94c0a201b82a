/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The NAT attachment: a user-mode TCP/IP stack (libslirp 4.7) between the
 * guest and the host's sockets, addressed as VirtualBox's NAT engine is:
 * network 10.0.2.0/24 (or --natnet), the gateway and host at .2, a DNS
 * forwarder at .3, DHCP handing out .15 upwards, TFTP for PXE.  IPv4 only
 * (libslirp's IPv6 is left off: VirtualBox's NAT gives none by default).
 *
 * libslirp has no thread of its own and expects a poll(2) loop.  We give
 * it the VM's event loop instead:
 *   - after every call into slirp (the "tick" on the loop thread) we ask
 *     it for the sockets it wants polled (slirp_pollfds_fill) and make one
 *     loop watch per fd match that list;
 *   - a watch that fires hands that one fd's events to slirp_pollfds_poll;
 *   - the timeout slirp_pollfds_fill returns (its TCP timers) and slirp's
 *     own timers become loop timers.
 * Frames from the guest (send(), any thread) go into slirp_input under
 * our lock; the watch bookkeeping that follows is deferred to the loop
 * thread by arming the tick, so watches are only ever created and freed
 * on the loop thread.  Frames slirp makes for the guest (send_packet)
 * are queued with net_deliver.
 *
 * Locks: NIC lock -> sl->lock -> net.c's lock.  Slirp itself is not
 * thread-safe: every call into it is made with sl->lock held.  The watches
 * are registered with no lock (their callback takes sl->lock itself and
 * checks that the watch is still current) so that the tick may free one
 * while holding sl->lock; the timers are registered with sl->lock.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <glib.h>
#include <libslirp.h>

#include "net_backend.h"

/* The guest's view, as VirtualBox's NAT: offsets inside the NAT network. */
#define NAT_DEFAULT_NET "10.0.2.0"
#define NAT_DEFAULT_PREFIX 24
#define NAT_HOST_OFFSET 2      /* gateway, and the host's loopback seen from the guest */
#define NAT_DNS_OFFSET 3       /* DNS forwarder */
#define NAT_DHCP_OFFSET 15     /* the first (and normally only) DHCP lease */

/* Messages from slirp about the guest: at most this many per window, then a count. */
#define NAT_LOG_BURST 10
#define NAT_LOG_WINDOW_NS (10LL * 1000000000LL)

/*
 * libslirp 4.7 crashes (SIGSEGV/SIGBUS in its reassembly) on the last
 * fragment of an IPv4 datagram (MF clear, offset non-zero) when it holds
 * no reassembly queue for it: a lone last fragment, one after the
 * datagram was completed, or after slirp's 30 s fragment timeout.  So we
 * pass a last fragment only for a datagram whose earlier fragments we
 * passed within NAT_FRAG_LIFE_NS, and then close that datagram: later
 * fragments of it are dropped until its entry expires.  A guest sends
 * fragments in order; a reordered datagram is lost, as on a lossy link.
 */
#define NAT_FRAGS 16
#define NAT_FRAG_LIFE_NS (20LL * 1000000000LL)   /* under slirp's IPFRAGTTL (30 s) */

struct nat_frag {
	uint32_t src, dst;
	uint16_t id;
	uint8_t proto;
	bool closed;         /* its last fragment went through */
	int64_t born;        /* 0 = free */
};

struct slirp_fwd_rule {
	struct nic_fwd rule;
	struct in_addr hostaddr;
};

struct slirp_watch {
	struct nat *sl;
	int fd;
	struct host_watch *w;
	unsigned int events;   /* what the watch asks for now (HOST_FD_*) */
	int idx;               /* its index in the last slirp_pollfds_fill, or -1 */
	bool stale;            /* slirp closed the fd: free before any new watch */
	bool wanted;           /* in the current fill */
};

struct slirp_pollfd {
	int fd;
	int events;            /* SLIRP_POLL_* */
	int revents;
};

struct slirp_timer {
	struct slirp_timer *next_dead;  /* freed by slirp, released after the lock */
	struct nat *sl;
	struct host_timer *t;
	SlirpTimerCb cb;       /* old style (timer_new), or NULL */
	void *cb_opaque;
	SlirpTimerId id;       /* new style (timer_new_opaque) */
};

struct nat {
	struct net_backend *nb;
	char id[16];                     /* "nic1" for messages */
	const struct host_loop_ops *lops;
	void *loop;
	pthread_mutex_t lock;            /* everything below, and every call into slirp */
	Slirp *slirp;
	struct in_addr net, mask, host, dns, dhcp;
	char *tftp_prefix, *tftp_file;
	struct host_timer *tick;         /* the loop thread's turn: poll timers, refresh watches */
	bool tick_soon;                  /* tick armed for "now" */
	bool paused;                     /* net_deliver said full: do not read the host sockets */
	bool dying;                      /* nat_destroy began: callbacks do nothing */
	struct slirp_timer *dead_timers; /* slirp freed them under our lock: free after it */
	struct slirp_watch **watches;    /* one per fd slirp polls (stable: the watch's opaque) */
	size_t nr_watches, cap_watches;
	struct slirp_pollfd *pfds;
	size_t nr_pfds, cap_pfds;
	struct slirp_fwd_rule *fwd;
	size_t nr_fwd;
	uint8_t *buf;                    /* one guest frame gathered for slirp_input */
	struct nat_frag frags[NAT_FRAGS]; /* IPv4 datagrams in fragments (see NAT_FRAGS) */
	int64_t log_window;              /* rate limit for slirp's messages */
	unsigned int log_count;
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * Messages caused by the guest (slirp's guest_error and its glib
 * warnings) go to stderr, but a guest must not be able to flood the log:
 * NAT_LOG_BURST per NAT_LOG_WINDOW_NS per adapter (a process-wide budget
 * for glib's, which carry no adapter).
 */
static bool log_allowed(int64_t *window, unsigned int *count)
{
	int64_t now = now_ns();

	if (now - *window > NAT_LOG_WINDOW_NS) {
		if (*count > NAT_LOG_BURST)
			fprintf(stderr, "hutch-vm: nat: %u more messages suppressed\n",
				*count - NAT_LOG_BURST);
		*window = now;
		*count = 0;
	}
	return ++*count <= NAT_LOG_BURST;
}

static pthread_mutex_t glib_log_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t glib_log_window;
static unsigned int glib_log_count;

static void slirp_glib_log(const gchar *domain, GLogLevelFlags level, const gchar *msg,
			   gpointer data)
{
	bool ok;

	(void)data;
	/* slirp's g_debug chatter is not for users. */
	if (level & (G_LOG_LEVEL_DEBUG | G_LOG_LEVEL_INFO))
		return;
	pthread_mutex_lock(&glib_log_lock);
	ok = log_allowed(&glib_log_window, &glib_log_count);
	pthread_mutex_unlock(&glib_log_lock);
	if (ok)
		fprintf(stderr, "hutch-vm: %s: %s\n", domain ? domain : "slirp", msg);
}

static void slirp_glib_log_once(void)
{
	g_log_set_handler("Slirp", G_LOG_LEVEL_MASK, slirp_glib_log, NULL);
}

static void nat_guest_error(const char *msg, void *opaque)
{
	struct nat *sl = opaque;

	/* Called from inside slirp: sl->lock is held. */
	if (log_allowed(&sl->log_window, &sl->log_count))
		fprintf(stderr, "hutch-vm: %s: nat: guest error: %s\n", sl->id, msg);
}

/* ---- slirp's callbacks (all with sl->lock held) ---- */

static ssize_t nat_send_packet(const void *buf, size_t len, void *opaque)
{
	struct nat *sl = opaque;

	if (!net_deliver(sl->nb, buf, len) && !sl->paused) {
		/* The guest is not reading: stop taking data from host sockets. */
		sl->paused = true;
	}
	return (ssize_t)len;
}

static int64_t nat_clock_ns(void *opaque)
{
	(void)opaque;
	return now_ns();
}

static void nat_kick_locked(struct nat *sl)
{
	if (sl->dying)
		return;   /* the tick is gone (slirp_cleanup closes sockets) */
	if (!sl->tick_soon) {
		sl->tick_soon = true;
		host_timer_arm(sl->tick, 0, 0);
	}
}

static void nat_timer_fire(void *opaque);

static void *nat_timer_new_common(struct nat *sl, SlirpTimerCb cb, void *cb_opaque,
				  SlirpTimerId id)
{
	struct slirp_timer *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	*st = (struct slirp_timer){ .sl = sl, .cb = cb, .cb_opaque = cb_opaque, .id = id };
	st->t = host_timer_new(sl->lops, sl->loop, &sl->lock, nat_timer_fire, st);
	if (!st->t) {
		free(st);
		return NULL;
	}
	return st;
}

static void *nat_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
	return nat_timer_new_common(opaque, cb, cb_opaque, 0);
}

static void *nat_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
	return nat_timer_new_common(opaque, NULL, cb_opaque, id);
}

/*
 * slirp frees a timer from inside its calls (slirp_cleanup: its RA timer,
 * IPv6, which we leave off), so with sl->lock held: a host timer may not
 * be freed under the lock it was registered with, so cancel it now and
 * free it once the lock is dropped (nat_destroy).
 */
static void nat_timer_free(void *timer, void *opaque)
{
	struct slirp_timer *st = timer;
	struct nat *sl = opaque;

	if (!st)
		return;
	host_timer_cancel(st->t);
	st->next_dead = sl->dead_timers;
	sl->dead_timers = st;
}

static void nat_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	struct slirp_timer *st = timer;

	(void)opaque;
	host_timer_arm(st->t, expire_ms * 1000000LL, 0);
}

static struct slirp_watch *nat_watch_find(struct nat *sl, int fd)
{
	for (size_t i = 0; i < sl->nr_watches; i++)
		if (sl->watches[i]->fd == fd && !sl->watches[i]->stale)
			return sl->watches[i];
	return NULL;
}

/* slirp is about to close @fd: the number may come back as another socket. */
static void nat_unregister_fd(int fd, void *opaque)
{
	struct nat *sl = opaque;
	struct slirp_watch *sw = nat_watch_find(sl, fd);

	if (sw) {
		sw->stale = true;
		nat_kick_locked(sl);
	}
}

/* A new socket: an fd number we still watch belonged to a closed one. */
static void nat_register_fd(int fd, void *opaque)
{
	nat_unregister_fd(fd, opaque);
}

static void nat_notify(void *opaque)
{
	nat_kick_locked(opaque);
}

static const SlirpCb nat_callbacks = {
	.send_packet = nat_send_packet,
	.guest_error = nat_guest_error,
	.clock_get_ns = nat_clock_ns,
	.timer_new = nat_timer_new,
	.timer_free = nat_timer_free,
	.timer_mod = nat_timer_mod,
	.register_poll_fd = nat_register_fd,
	.unregister_poll_fd = nat_unregister_fd,
	.notify = nat_notify,
	.timer_new_opaque = nat_timer_new_opaque,
};

/* ---- the loop side ---- */

static int nat_add_poll(int fd, int events, void *opaque)
{
	struct nat *sl = opaque;

	if (sl->nr_pfds == sl->cap_pfds) {
		size_t cap = sl->cap_pfds ? sl->cap_pfds * 2 : 16;
		struct slirp_pollfd *p = realloc(sl->pfds, cap * sizeof(*p));

		if (!p)
			return -1;   /* slirp then leaves this socket unpolled this round */
		sl->pfds = p;
		sl->cap_pfds = cap;
	}
	sl->pfds[sl->nr_pfds] = (struct slirp_pollfd){ .fd = fd, .events = events };
	return (int)sl->nr_pfds++;
}

static int nat_get_revents(int idx, void *opaque)
{
	struct nat *sl = opaque;

	if (idx < 0 || (size_t)idx >= sl->nr_pfds)
		return 0;
	return sl->pfds[idx].revents;
}

static void nat_watch_fire(void *opaque, unsigned int revents);

/* Free stale watches and those slirp no longer wants.  Compacts the table. */
static void nat_watches_prune(struct nat *sl, bool only_stale)
{
	size_t j = 0;

	for (size_t i = 0; i < sl->nr_watches; i++) {
		struct slirp_watch *sw = sl->watches[i];

		if (sw->stale || (!only_stale && !sw->wanted)) {
			/* Registered with no lock, freed on the loop thread: never waits. */
			host_watch_free(sw->w);
			free(sw);
			continue;
		}
		sl->watches[j++] = sw;
	}
	sl->nr_watches = j;
}

/*
 * Ask slirp what it wants polled and make the watches match; arm the tick
 * for slirp's next timeout.  Loop thread, sl->lock held.
 */
static void nat_refresh(struct nat *sl)
{
	uint32_t timeout_ms = UINT32_MAX;

	/* A reused fd number must get a fresh watch: drop the old ones first. */
	nat_watches_prune(sl, true);
	sl->nr_pfds = 0;
	slirp_pollfds_fill(sl->slirp, &timeout_ms, nat_add_poll, sl);
	for (size_t i = 0; i < sl->nr_watches; i++) {
		sl->watches[i]->wanted = false;
		sl->watches[i]->idx = -1;
	}
	for (size_t i = 0; i < sl->nr_pfds; i++) {
		struct slirp_pollfd *p = &sl->pfds[i];
		unsigned int ev = 0;
		struct slirp_watch *sw;

		if ((p->events & (SLIRP_POLL_IN | SLIRP_POLL_PRI)) && !sl->paused)
			ev |= HOST_FD_IN;
		if (p->events & SLIRP_POLL_OUT)
			ev |= HOST_FD_OUT;
		sw = nat_watch_find(sl, p->fd);
		if (!sw) {
			if (sl->nr_watches == sl->cap_watches) {
				size_t cap = sl->cap_watches ? sl->cap_watches * 2 : 16;
				struct slirp_watch **n = realloc(sl->watches, cap * sizeof(*n));

				if (!n)
					continue;
				sl->watches = n;
				sl->cap_watches = cap;
			}
			sw = calloc(1, sizeof(*sw));
			if (sw) {
				*sw = (struct slirp_watch){ .sl = sl, .fd = p->fd, .events = ev };
				sw->w = host_watch_new(sl->lops, sl->loop, p->fd, ev, NULL,
						       nat_watch_fire, sw);
			}
			if (!sw || !sw->w) {
				/* Only short of memory: poll it from the tick meanwhile. */
				free(sw);
				timeout_ms = timeout_ms > 10 ? 10 : timeout_ms;
				continue;
			}
			sl->watches[sl->nr_watches++] = sw;
		} else if (sw->events != ev) {
			host_watch_set(sw->w, ev);
			sw->events = ev;
		}
		sw->wanted = true;
		sw->idx = (int)i;
	}
	nat_watches_prune(sl, false);
	sl->tick_soon = false;
	/* slirp's fast TCP timer is 200 ms, its slow one 500 ms: it says which. */
	if (timeout_ms > 1000)
		timeout_ms = 1000;
	host_timer_arm(sl->tick, now_ns() + (int64_t)timeout_ms * 1000000LL, 0);
}

/* The tick (sl->lock held): run slirp's timers, then refresh the watches. */
static void nat_tick(void *opaque)
{
	struct nat *sl = opaque;

	if (sl->dying)
		return;
	for (size_t i = 0; i < sl->nr_pfds; i++)
		sl->pfds[i].revents = 0;
	slirp_pollfds_poll(sl->slirp, 0, nat_get_revents, sl);
	nat_refresh(sl);
}

static void nat_timer_fire(void *opaque)
{
	struct slirp_timer *st = opaque;
	struct nat *sl = st->sl;

	if (sl->dying)
		return;
	if (st->cb)
		st->cb(st->cb_opaque);
	else
		slirp_handle_timer(sl->slirp, st->id, st->cb_opaque);
	nat_kick_locked(sl);
}

/*
 * One socket is ready: let slirp serve it.  Loop thread, registered with
 * no lock (see the top): sw stays valid while we run, as only the loop
 * thread frees watches, but it may have gone stale meanwhile.
 */
static void nat_watch_fire(void *opaque, unsigned int revents)
{
	struct slirp_watch *sw = opaque;
	struct nat *sl = sw->sl;

	pthread_mutex_lock(&sl->lock);
	if (sl->dying || sw->stale || sw->idx < 0 || (size_t)sw->idx >= sl->nr_pfds ||
	    sl->pfds[sw->idx].fd != sw->fd) {
		/* Not what the last fill asked about: a refresh sets it right. */
		if (!sl->dying)
			nat_kick_locked(sl);
		pthread_mutex_unlock(&sl->lock);
		return;
	}
	for (size_t i = 0; i < sl->nr_pfds; i++)
		sl->pfds[i].revents = 0;
	sl->pfds[sw->idx].revents = (revents & HOST_FD_IN ? SLIRP_POLL_IN : 0) |
				    (revents & HOST_FD_OUT ? SLIRP_POLL_OUT : 0) |
				    (revents & HOST_FD_ERR ? SLIRP_POLL_ERR | SLIRP_POLL_HUP : 0);
	slirp_pollfds_poll(sl->slirp, 0, nat_get_revents, sl);
	nat_refresh(sl);   /* may free sw */
	pthread_mutex_unlock(&sl->lock);
}

/* ---- net_backend_ops ---- */

/* The checks libslirp's ip_input makes before reassembly (@avail: bytes after the Ethernet header). */
static bool nat_ipv4_header_ok(const uint8_t *ip, size_t avail)
{
	size_t hlen = (size_t)(ip[0] & 15) * 4;
	size_t total = (size_t)(ip[2] << 8 | ip[3]);
	uint32_t sum = 0;

	if ((ip[0] >> 4) != 4 || hlen < 20 || hlen > avail || total < hlen || total > avail ||
	    ip[8] == 0)
		return false;
	for (size_t i = 0; i < hlen; i += 2)
		sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

/* May this guest frame go to slirp_input?  Only IPv4 fragments are ever refused.  Lock held. */
static bool nat_frame_ok(struct nat *sl, const uint8_t *f, size_t len)
{
	const uint8_t *ip = f + 14;
	struct nat_frag *e = NULL, *slot = NULL;
	uint16_t off;
	bool more, first;
	int64_t now;

	if (len < 14 + 20 || f[12] != 0x08 || f[13] != 0x00)
		return true;   /* not IPv4, or too short for slirp to look further */
	off = (uint16_t)(ip[6] << 8 | ip[7]);
	more = off & 0x2000;
	first = !(off & 0x1fff);
	if (first && !more)
		return true;   /* not a fragment */
	/*
	 * slirp drops a fragment that fails its header checks before it
	 * makes a queue; so do we, or we would think a queue exists.
	 */
	if (!nat_ipv4_header_ok(ip, len - 14))
		return false;
	now = now_ns();
	for (size_t i = 0; i < NAT_FRAGS; i++) {
		struct nat_frag *c = &sl->frags[i];

		if (c->born && now - c->born > NAT_FRAG_LIFE_NS)
			c->born = 0;
		if (!c->born) {
			if (!slot)
				slot = c;
			continue;
		}
		if (!memcmp(&c->src, ip + 12, 4) && !memcmp(&c->dst, ip + 16, 4) &&
		    c->id == (uint16_t)(ip[4] << 8 | ip[5]) && c->proto == ip[9])
			e = c;
	}
	if (e && e->closed)
		return false;
	if (more) {
		/* A first or middle fragment: slirp makes a queue for it. */
		if (!e) {
			if (!slot)
				return false;   /* too many datagrams in pieces at once */
			memcpy(&slot->src, ip + 12, 4);
			memcpy(&slot->dst, ip + 16, 4);
			slot->id = (uint16_t)(ip[4] << 8 | ip[5]);
			slot->proto = ip[9];
			slot->closed = false;
			slot->born = now;
		}
		return true;
	}
	/* The last fragment: only onto a queue slirp still has. */
	if (!e)
		return false;
	e->closed = true;
	return true;
}

static void nat_send(void *priv, const struct iovec *iov, int iovcnt, size_t len)
{
	struct nat *sl = priv;
	size_t off = 0;

	pthread_mutex_lock(&sl->lock);
	for (int i = 0; i < iovcnt && off < len; i++) {
		size_t n = iov[i].iov_len < len - off ? iov[i].iov_len : len - off;

		memcpy(sl->buf + off, iov[i].iov_base, n);
		off += n;
	}
	if (nat_frame_ok(sl, sl->buf, off))
		slirp_input(sl->slirp, sl->buf, (int)off);
	/* New sockets or data to write: the loop thread re-reads slirp's wishes. */
	nat_kick_locked(sl);
	pthread_mutex_unlock(&sl->lock);
}

static void nat_rx_resume(void *priv)
{
	struct nat *sl = priv;

	pthread_mutex_lock(&sl->lock);
	if (sl->paused) {
		sl->paused = false;
		nat_kick_locked(sl);
	}
	pthread_mutex_unlock(&sl->lock);
}

static struct slirp_fwd_rule *nat_fwd_find(struct nat *sl, const char *name)
{
	for (size_t i = 0; i < sl->nr_fwd; i++)
		if (!strcmp(sl->fwd[i].rule.name, name))
			return &sl->fwd[i];
	return NULL;
}

/* Add one rule (sl->lock held).  0 or -errno with a one-line reason. */
static int nat_fwd_add_locked(struct nat *sl, const struct nic_fwd *r, char *err, size_t errlen)
{
	struct in_addr hostaddr = { .s_addr = htonl(INADDR_ANY) };
	struct in_addr guestaddr = { .s_addr = 0 };   /* 0 = slirp's first DHCP address */
	struct slirp_fwd_rule *n;
	const char *proto = r->udp ? "udp" : "tcp";

	if (!r->name[0] || !r->hostport || !r->guestport) {
		snprintf(err, errlen, "%s: forwarding rule '%s': needs a name and both ports",
			 sl->id, r->name);
		return -EINVAL;
	}
	if (nat_fwd_find(sl, r->name)) {
		snprintf(err, errlen, "%s: a forwarding rule named '%s' exists already",
			 sl->id, r->name);
		return -EEXIST;
	}
	if (r->hostip[0] && inet_pton(AF_INET, r->hostip, &hostaddr) != 1) {
		snprintf(err, errlen, "%s: forwarding rule '%s': bad host IP '%s'", sl->id,
			 r->name, r->hostip);
		return -EINVAL;
	}
	if (r->guestip[0]) {
		if (inet_pton(AF_INET, r->guestip, &guestaddr) != 1) {
			snprintf(err, errlen, "%s: forwarding rule '%s': bad guest IP '%s'",
				 sl->id, r->name, r->guestip);
			return -EINVAL;
		}
		if ((guestaddr.s_addr & sl->mask.s_addr) != sl->net.s_addr) {
			snprintf(err, errlen,
				 "%s: forwarding rule '%s': guest IP %s is outside the NAT network",
				 sl->id, r->name, r->guestip);
			return -EINVAL;
		}
	}
	for (size_t i = 0; i < sl->nr_fwd; i++) {
		const struct slirp_fwd_rule *o = &sl->fwd[i];

		if (o->rule.udp == r->udp && o->rule.hostport == r->hostport &&
		    (o->hostaddr.s_addr == hostaddr.s_addr || !o->hostaddr.s_addr ||
		     !hostaddr.s_addr)) {
			snprintf(err, errlen, "%s: forwarding rule '%s': host port %u/%s is taken by rule '%s'",
				 sl->id, r->name, r->hostport, proto, o->rule.name);
			return -EADDRINUSE;
		}
	}
	n = realloc(sl->fwd, (sl->nr_fwd + 1) * sizeof(*n));
	if (!n) {
		snprintf(err, errlen, "%s: %s", sl->id, strerror(ENOMEM));
		return -ENOMEM;
	}
	sl->fwd = n;
	errno = 0;
	if (slirp_add_hostfwd(sl->slirp, r->udp, hostaddr, r->hostport, guestaddr,
			      r->guestport) < 0) {
		int e = errno ? errno : EADDRINUSE;

		snprintf(err, errlen, "%s: forwarding rule '%s': cannot listen on %s:%u/%s: %s",
			 sl->id, r->name, r->hostip[0] ? r->hostip : "0.0.0.0", r->hostport, proto,
			 strerror(e));
		return -e;
	}
	sl->fwd[sl->nr_fwd++] = (struct slirp_fwd_rule){ .rule = *r, .hostaddr = hostaddr };
	nat_kick_locked(sl);   /* a new listening socket to watch */
	return 0;
}

static int nat_fwd_add(void *priv, const struct nic_fwd *rule, char *err, size_t errlen)
{
	struct nat *sl = priv;
	int ret;

	pthread_mutex_lock(&sl->lock);
	ret = nat_fwd_add_locked(sl, rule, err, errlen);
	pthread_mutex_unlock(&sl->lock);
	return ret;
}

static int nat_fwd_delete(void *priv, const char *name, char *err, size_t errlen)
{
	struct nat *sl = priv;
	struct slirp_fwd_rule *f;
	int ret = 0;

	pthread_mutex_lock(&sl->lock);
	f = nat_fwd_find(sl, name);
	if (!f) {
		snprintf(err, errlen, "%s: no forwarding rule named '%s'", sl->id, name);
		ret = -ENOENT;
	} else {
		/* Closes the listening socket (connections already made stay up). */
		if (slirp_remove_hostfwd(sl->slirp, f->rule.udp, f->hostaddr, f->rule.hostport) < 0)
			fprintf(stderr, "hutch-vm: %s: forwarding rule '%s': its socket was gone\n",
				sl->id, name);
		*f = sl->fwd[--sl->nr_fwd];
		nat_kick_locked(sl);
	}
	pthread_mutex_unlock(&sl->lock);
	return ret;
}

static void nat_destroy(void *priv)
{
	struct nat *sl = priv;
	struct slirp_watch **ws;
	struct slirp_timer *dead;
	size_t nr;

	if (!sl)
		return;
	pthread_mutex_lock(&sl->lock);
	sl->dying = true;
	ws = sl->watches;
	nr = sl->nr_watches;
	sl->watches = NULL;
	sl->nr_watches = sl->cap_watches = 0;
	pthread_mutex_unlock(&sl->lock);
	/* Without sl->lock: a free waits for a callback that may want it. */
	host_timer_free(sl->tick);
	for (size_t i = 0; i < nr; i++) {
		host_watch_free(ws[i]->w);
		free(ws[i]);
	}
	free(ws);
	pthread_mutex_lock(&sl->lock);
	if (sl->slirp)
		slirp_cleanup(sl->slirp);   /* closes its sockets, frees its timers */
	sl->slirp = NULL;
	dead = sl->dead_timers;
	sl->dead_timers = NULL;
	pthread_mutex_unlock(&sl->lock);
	while (dead) {
		struct slirp_timer *next = dead->next_dead;

		host_timer_free(dead->t);
		free(dead);
		dead = next;
	}
	free(sl->pfds);
	free(sl->fwd);
	free(sl->buf);
	free(sl->tftp_prefix);
	free(sl->tftp_file);
	pthread_mutex_destroy(&sl->lock);
	free(sl);
}

static const struct net_backend_ops nat_ops = {
	.kind = "nat",
	.send = nat_send,
	.rx_resume = nat_rx_resume,
	.fwd_add = nat_fwd_add,
	.fwd_delete = nat_fwd_delete,
	.destroy = nat_destroy,
};

/* "A.B.C.D/M" (or NULL: 10.0.2.0/24) into the network and mask. */
static int nat_parse_net(const char *s, struct in_addr *net, struct in_addr *mask)
{
	char addr[INET_ADDRSTRLEN];
	const char *slash;
	char *end;
	long prefix = NAT_DEFAULT_PREFIX;

	if (!s) {
		inet_pton(AF_INET, NAT_DEFAULT_NET, net);
	} else {
		slash = strchr(s, '/');
		if (!slash || (size_t)(slash - s) >= sizeof(addr))
			return -EINVAL;
		memcpy(addr, s, (size_t)(slash - s));
		addr[slash - s] = '\0';
		if (inet_pton(AF_INET, addr, net) != 1)
			return -EINVAL;
		errno = 0;
		prefix = strtol(slash + 1, &end, 10);
		/* /28 still leaves room for .15 (the DHCP address); wider than /8 is nonsense. */
		if (errno || end == slash + 1 || *end || prefix < 8 || prefix > 28)
			return -EINVAL;
	}
	mask->s_addr = htonl(~0u << (32 - prefix));
	net->s_addr &= mask->s_addr;
	return 0;
}

static struct in_addr nat_addr(struct in_addr net, unsigned int offset)
{
	return (struct in_addr){ .s_addr = htonl(ntohl(net.s_addr) + offset) };
}

int net_slirp_open(struct net_backend *nb, const struct nic_spec *spec, const char *vm_name,
		   char *err, size_t errlen)
{
	static pthread_once_t log_once = PTHREAD_ONCE_INIT;
	SlirpConfig cfg;
	struct nat *sl;
	int ret;

	(void)vm_name;
	sl = calloc(1, sizeof(*sl));
	if (!sl || !(sl->buf = malloc(NET_FRAME_MAX))) {
		free(sl);
		snprintf(err, errlen, "nic%u: %s", spec->index, strerror(ENOMEM));
		return -ENOMEM;
	}
	sl->nb = nb;
	snprintf(sl->id, sizeof(sl->id), "nic%u", spec->index);
	pthread_mutex_init(&sl->lock, NULL);
	net_backend_loop(nb, &sl->lops, &sl->loop);
	if (nat_parse_net(spec->natnet, &sl->net, &sl->mask) < 0) {
		snprintf(err, errlen, "nic%u: bad NAT network '%s' (want A.B.C.D/M, M 8..28)",
			 spec->index, spec->natnet);
		ret = -EINVAL;
		goto fail;
	}
	sl->host = nat_addr(sl->net, NAT_HOST_OFFSET);
	sl->dns = nat_addr(sl->net, NAT_DNS_OFFSET);
	sl->dhcp = nat_addr(sl->net, NAT_DHCP_OFFSET);
	if ((spec->tftp_prefix && !(sl->tftp_prefix = strdup(spec->tftp_prefix))) ||
	    (spec->tftp_file && !(sl->tftp_file = strdup(spec->tftp_file)))) {
		snprintf(err, errlen, "nic%u: %s", spec->index, strerror(ENOMEM));
		ret = -ENOMEM;
		goto fail;
	}
	sl->tick = host_timer_new(sl->lops, sl->loop, &sl->lock, nat_tick, sl);
	if (!sl->tick) {
		snprintf(err, errlen, "nic%u: no event loop for NAT", spec->index);
		ret = -ENOSYS;
		goto fail;
	}
	pthread_once(&log_once, slirp_glib_log_once);

	memset(&cfg, 0, sizeof(cfg));
	cfg.version = SLIRP_CONFIG_VERSION_MAX < 4 ? SLIRP_CONFIG_VERSION_MAX : 4;
	cfg.restricted = 0;
	cfg.in_enabled = true;
	cfg.vnetwork = sl->net;
	cfg.vnetmask = sl->mask;
	cfg.vhost = sl->host;
	cfg.in6_enabled = false;
	cfg.tftp_path = sl->tftp_prefix;
	cfg.bootfile = sl->tftp_file;
	cfg.vdhcp_start = sl->dhcp;
	cfg.vnameserver = sl->dns;
	/*
	 * The guest reaches the host's loopback services at .2, as under
	 * VirtualBox; DNS at .3 is relayed to the host's resolv.conf servers.
	 */
	cfg.disable_host_loopback = false;
	cfg.enable_emu = false;
	cfg.disable_dns = false;
	cfg.disable_dhcp = false;
	/*
	 * dns_host_resolver: libslirp has no getaddrinfo mode.  Its relay
	 * already asks the host's own name servers (from /etc/resolv.conf,
	 * a loopback stub such as systemd-resolved's included), which is
	 * what the option means for the usual host; /etc/hosts entries are
	 * not seen (docs/design.md, "Networking").
	 */
	pthread_mutex_lock(&sl->lock);
	sl->slirp = slirp_new(&cfg, &nat_callbacks, sl);
	if (!sl->slirp) {
		pthread_mutex_unlock(&sl->lock);
		snprintf(err, errlen, "nic%u: cannot start the NAT engine (libslirp)", spec->index);
		ret = -ENOMEM;
		goto fail;
	}
	for (unsigned int i = 0; i < spec->nr_fwd; i++) {
		ret = nat_fwd_add_locked(sl, &spec->fwd[i], err, errlen);
		if (ret < 0) {
			pthread_mutex_unlock(&sl->lock);
			goto fail;
		}
	}
	nat_kick_locked(sl);
	pthread_mutex_unlock(&sl->lock);
	net_backend_bind(nb, &nat_ops, sl);
	return 0;
fail:
	nat_destroy(sl);
	return ret;
}
