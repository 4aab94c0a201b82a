// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The NAT back end (src/net/slirp.c) on the real event loop, talking to
 * libslirp with hand-built frames as a guest would: DHCP gives .15 with
 * the gateway at .2 and DNS at .3 (and the same offsets in another
 * --natnet), ARP for the gateway is answered, a UDP datagram to .2 reaches
 * a socket the test opens on 127.0.0.1 and its answer comes back, port
 * forwarding from 127.0.0.1 produces a SYN toward the guest and stops
 * once deleted, and the rules' errors (duplicate name, port in use,
 * unknown name, bad network) are refused with a reason; PXE's boot file
 * by DHCP and TFTP; a TCP connection to the host; IP fragments; garbage.
 *
 * Traffic stays on the loopback: slirp's sockets connect to 127.0.0.1 only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "net_test_util.h"

#define WAIT_MS 5000

static const uint8_t guest_mac[6] = { 0x08, 0x00, 0x27, 0x12, 0x34, 0x56 };
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static struct nic_spec nat_spec(const char *natnet)
{
	struct nic_spec s = { .index = 1, .model = NIC_MODEL_E1000, .attach = NIC_ATTACH_NAT,
			      .cable = true };

	memcpy(s.mac, guest_mac, 6);
	s.natnet = (char *)natnet;
	return s;
}

/* ---- frame parsing ---- */

static const uint8_t *ipv4_of(const uint8_t *f, size_t len, uint8_t proto, size_t *l4len)
{
	size_t ihl;

	if (len < 34 || nt_be16(f + 12) != 0x0800 || f[23] != proto)
		return NULL;
	ihl = (size_t)(f[14] & 15) * 4;
	if (len < 14 + ihl + 8)
		return NULL;
	*l4len = len - 14 - ihl;
	return f + 14 + ihl;
}

/* TFTP DATA block 1 to the guest's port 2000 carrying @arg. */
static bool match_tftp_data(const uint8_t *f, size_t len, void *arg)
{
	const char *want = arg;
	size_t l4, wl = strlen(want);
	const uint8_t *u = ipv4_of(f, len, 17, &l4);

	return u && nt_be16(u + 2) == 2000 && l4 >= 8 + 4 + wl && nt_be16(u + 8) == 3 &&
	       nt_be16(u + 10) == 1 && nt_be16(u + 4) == 8 + 4 + wl && !memcmp(u + 12, want, wl);
}

struct dhcp_offer {
	uint32_t yiaddr, router, dns, server;
	int type;
};

/* A DHCP reply (UDP 67 -> 68): its lease, router, DNS and message type. */
static bool parse_dhcp_reply(const uint8_t *f, size_t len, struct dhcp_offer *o)
{
	size_t l4;
	const uint8_t *u = ipv4_of(f, len, 17, &l4);
	const uint8_t *b, *opt, *end;

	if (!u || nt_be16(u) != 67 || nt_be16(u + 2) != 68 || l4 < 8 + 240)
		return false;
	b = u + 8;
	if (b[0] != 2 || nt_be32(b + 236) != 0x63825363)
		return false;
	memset(o, 0, sizeof(*o));
	o->yiaddr = nt_be32(b + 16);
	opt = b + 240;
	end = u + l4;
	while (opt < end && *opt != 255) {
		if (*opt == 0) {
			opt++;
			continue;
		}
		if (opt + 2 > end || opt + 2 + opt[1] > end)
			break;
		if (opt[0] == 53 && opt[1] >= 1)
			o->type = opt[2];
		if (opt[0] == 3 && opt[1] >= 4)
			o->router = nt_be32(opt + 2);
		if (opt[0] == 6 && opt[1] >= 4)
			o->dns = nt_be32(opt + 2);
		if (opt[0] == 54 && opt[1] >= 4)
			o->server = nt_be32(opt + 2);
		opt += 2 + opt[1];
	}
	return true;
}

static bool match_dhcp(const uint8_t *f, size_t len, void *arg)
{
	return parse_dhcp_reply(f, len, arg);
}

static size_t dhcp_discover(uint8_t *f, uint32_t xid)
{
	uint8_t b[300] = { 0 };
	uint8_t *o = b + 240;

	b[0] = 1;   /* BOOTREQUEST */
	b[1] = 1;   /* Ethernet */
	b[2] = 6;
	b[4] = (uint8_t)(xid >> 24);
	b[5] = (uint8_t)(xid >> 16);
	b[6] = (uint8_t)(xid >> 8);
	b[7] = (uint8_t)xid;
	b[10] = 0x80;   /* broadcast flag */
	memcpy(b + 28, guest_mac, 6);
	b[236] = 99; b[237] = 130; b[238] = 83; b[239] = 99;
	*o++ = 53; *o++ = 1; *o++ = 1;   /* DHCPDISCOVER */
	*o++ = 55; *o++ = 3; *o++ = 1; *o++ = 3; *o++ = 6;
	*o++ = 255;
	return nt_udp(f, bcast, guest_mac, 0, 0xffffffffu, 68, 67, b, sizeof(b));
}

static void check_dhcp(const char *natnet, uint32_t net)
{
	struct nt_env env;
	struct nic_spec spec = nat_spec(natnet);
	char err[256];
	uint8_t f[400];
	struct dhcp_offer o;
	unsigned int from = 0;
	int i;

	assert_non_null(nt_open(&env, &spec, err, sizeof(err)));
	assert_string_equal(net_backend_kind(env.nb), "nat");
	nt_send(env.nb, f, dhcp_discover(f, 0x12345678));
	i = nt_wait(&env.nic, &from, match_dhcp, &o, WAIT_MS);
	assert_true(i >= 0);
	assert_int_equal(o.type, 2);   /* DHCPOFFER */
	assert_int_equal(o.yiaddr, net | 15);
	assert_int_equal(o.router, net | 2);
	assert_int_equal(o.dns, net | 3);
	assert_int_equal(o.server, net | 2);
	/* Addressed to the guest's MAC, from the gateway's. */
	pthread_mutex_lock(&env.nic.mu);
	assert_true(!memcmp(env.nic.frames[i], guest_mac, 6) || !memcmp(env.nic.frames[i], bcast, 6));
	assert_memory_not_equal(env.nic.frames[i] + 6, guest_mac, 6);
	pthread_mutex_unlock(&env.nic.mu);
	nt_close(&env);
}

static void test_dhcp_default_network(void **state)
{
	(void)state;
	check_dhcp(NULL, NT_IP(10, 0, 2, 0));
}

static void test_dhcp_natnet(void **state)
{
	(void)state;
	check_dhcp("192.168.50.0/24", NT_IP(192, 168, 50, 0));
}

static bool match_dhcp_frame(const uint8_t *f, size_t len, void *arg)
{
	struct dhcp_offer o;

	(void)arg;
	return parse_dhcp_reply(f, len, &o);
}

/*
 * PXE: DHCP names the boot file (--nattftpfile) and slirp's TFTP server at
 * .2 serves it from --nattftpprefix (RFC 1350: RRQ in, DATA block 1 out).
 */
static void test_tftp_boot_file(void **state)
{
	char dir[] = "/tmp/hutch-tftp-XXXXXX", path[64], err[256];
	struct nic_spec spec = nat_spec(NULL);
	struct nt_env env;
	uint8_t f[600], rrq[64];
	unsigned int from = 0;
	size_t n = 0, l4;
	const uint8_t *u;
	FILE *fp;
	int i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/boot.pxe", dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("hello from tftp", fp);
	fclose(fp);
	spec.tftp_prefix = dir;
	spec.tftp_file = "boot.pxe";
	assert_non_null(nt_open(&env, &spec, err, sizeof(err)));

	nt_send(env.nb, f, dhcp_discover(f, 0x42));
	i = nt_wait(&env.nic, &from, match_dhcp_frame, NULL, WAIT_MS);
	assert_true(i >= 0);
	pthread_mutex_lock(&env.nic.mu);
	u = ipv4_of(env.nic.frames[i], env.nic.lens[i], 17, &l4);
	assert_non_null(u);
	assert_string_equal((const char *)u + 8 + 108, "boot.pxe");   /* BOOTP "file" */
	pthread_mutex_unlock(&env.nic.mu);

	/* RRQ "boot.pxe" octet from the leased address. */
	rrq[n++] = 0; rrq[n++] = 1;
	memcpy(rrq + n, "boot.pxe", 9); n += 9;
	memcpy(rrq + n, "octet", 6); n += 6;
	nt_send(env.nb, f, nt_arp_request(f, guest_mac, NT_IP(10, 0, 2, 15), NT_IP(10, 0, 2, 2)));
	nt_send(env.nb, f, nt_udp(f, (const uint8_t[]){ 0x52, 0x55, 10, 0, 2, 2 }, guest_mac,
				  NT_IP(10, 0, 2, 15), NT_IP(10, 0, 2, 2), 2000, 69, rrq, n));
	/* DATA (3), block 1, the file's 15 bytes (a short block: the end). */
	i = nt_wait(&env.nic, &from, match_tftp_data, "hello from tftp", WAIT_MS);
	assert_true(i >= 0);
	nt_close(&env);
	unlink(path);
	rmdir(dir);
}

static void test_bad_natnet_refused(void **state)
{
	static const char *bad[] = { "10.0.2.0", "10.0.2.0/30", "10.0.2.0/4", "300.1.1.0/24",
				     "10.0.2.0/24x", "" };
	struct nt_env env;
	char err[256];

	(void)state;
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		struct nic_spec spec = nat_spec(bad[k]);

		err[0] = '\0';
		assert_null(nt_open(&env, &spec, err, sizeof(err)));
		assert_non_null(strstr(err, "nic1: bad NAT network"));
		nt_close(&env);
	}
}

/* ---- ARP ---- */

struct arp_want {
	uint32_t sip, tip;
	uint8_t sha[6];
};

static bool match_arp_reply(const uint8_t *f, size_t len, void *arg)
{
	struct arp_want *w = arg;

	if (len < 42 || nt_be16(f + 12) != 0x0806 || nt_be16(f + 20) != 2)
		return false;
	if (nt_be32(f + 28) != w->sip || nt_be32(f + 38) != w->tip)
		return false;
	memcpy(w->sha, f + 22, 6);
	return true;
}

static void prime_arp(struct nt_env *env, unsigned int *from, uint8_t gw_mac[6])
{
	struct arp_want w = { .sip = NT_IP(10, 0, 2, 2), .tip = NT_IP(10, 0, 2, 15) };
	uint8_t f[64];
	int i;

	nt_send(env->nb, f, nt_arp_request(f, guest_mac, NT_IP(10, 0, 2, 15), NT_IP(10, 0, 2, 2)));
	i = nt_wait(&env->nic, from, match_arp_reply, &w, WAIT_MS);
	assert_true(i >= 0);
	memcpy(gw_mac, w.sha, 6);
}

static void test_arp_for_gateway(void **state)
{
	struct nt_env env;
	struct nic_spec spec = nat_spec(NULL);
	char err[256];
	unsigned int from = 0;
	uint8_t gw[6], zero[6] = { 0 };

	(void)state;
	assert_non_null(nt_open(&env, &spec, err, sizeof(err)));
	prime_arp(&env, &from, gw);
	assert_memory_not_equal(gw, zero, 6);
	assert_memory_not_equal(gw, guest_mac, 6);
	assert_false(gw[0] & 1);   /* a unicast MAC */
	/* libslirp's: 52:55 and the gateway's IPv4 address. */
	assert_memory_equal(gw, ((const uint8_t[]){ 0x52, 0x55, 10, 0, 2, 2 }), 6);
	nt_close(&env);
}

/* ---- UDP through the gateway to the host's loopback and back ---- */

struct udp_want {
	uint32_t saddr, daddr;
	uint16_t sport, dport;
	const char *payload;
};

static bool match_udp(const uint8_t *f, size_t len, void *arg)
{
	struct udp_want *w = arg;
	size_t l4;
	const uint8_t *u = ipv4_of(f, len, 17, &l4);
	size_t plen = strlen(w->payload);

	return u && nt_be32(f + 26) == w->saddr && nt_be32(f + 30) == w->daddr &&
	       nt_be16(u) == w->sport && nt_be16(u + 2) == w->dport && l4 >= 8 + plen &&
	       nt_be16(u + 4) == 8 + plen && !memcmp(u + 8, w->payload, plen);
}

static int udp_socket_on_loopback(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &al), 0);
	*port = ntohs(a.sin_port);
	return s;
}

static void test_udp_to_host_loopback_and_back(void **state)
{
	struct nt_env env;
	struct nic_spec spec = nat_spec(NULL);
	char err[256], buf[64];
	unsigned int from = 0;
	uint8_t gw[6], f[200];
	uint16_t port;
	int s = udp_socket_on_loopback(&port);
	struct pollfd pfd = { .fd = s, .events = POLLIN };
	struct sockaddr_in peer;
	socklen_t pl = sizeof(peer);
	ssize_t n;
	struct udp_want w = { NT_IP(10, 0, 2, 2), NT_IP(10, 0, 2, 15), port, 5555, "world" };

	(void)state;
	assert_non_null(nt_open(&env, &spec, err, sizeof(err)));
	prime_arp(&env, &from, gw);
	nt_send(env.nb, f, nt_udp(f, gw, guest_mac, NT_IP(10, 0, 2, 15), NT_IP(10, 0, 2, 2),
				  5555, port, "hello", 5));
	assert_int_equal(poll(&pfd, 1, WAIT_MS), 1);
	n = recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &pl);
	assert_int_equal(n, 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(ntohl(peer.sin_addr.s_addr), INADDR_LOOPBACK);
	/* The answer goes back through slirp's socket to the guest, from .2. */
	assert_int_equal(sendto(s, "world", 5, 0, (struct sockaddr *)&peer, pl), 5);
	assert_true(nt_wait(&env.nic, &from, match_udp, &w, WAIT_MS) >= 0);
	nt_close(&env);
	close(s);
}

/* ---- a guest TCP connection to the host's loopback through .2 ---- */

struct tcp_want {
	uint16_t sport, dport;
	uint8_t flags;           /* all of these set */
	const char *payload;     /* NULL: any */
	uint32_t seq, ack;       /* out */
};

static bool match_tcp(const uint8_t *f, size_t len, void *arg)
{
	struct tcp_want *w = arg;
	size_t l4, hl, plen;
	const uint8_t *t = ipv4_of(f, len, 6, &l4);

	if (!t || l4 < 20 || nt_be16(t) != w->sport || nt_be16(t + 2) != w->dport ||
	    (t[13] & w->flags) != w->flags)
		return false;
	hl = (size_t)(t[12] >> 4) * 4;
	plen = nt_be16(f + 16) - (size_t)(f[14] & 15) * 4 - hl;
	if (w->payload && (plen != strlen(w->payload) || memcmp(t + hl, w->payload, plen)))
		return false;
	w->seq = nt_be32(t + 4);
	w->ack = nt_be32(t + 8);
	return true;
}

/*
 * The guest opens a TCP connection to 10.0.2.2:<port of a listener on
 * 127.0.0.1>: slirp connects on the host (its socket watched for OUT
 * until the connect completes), answers SYN-ACK, and data flows both ways.
 */
static void test_tcp_to_host_loopback(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	struct nt_env env;
	struct nic_spec spec = nat_spec(NULL);
	char err[256], buf[16];
	unsigned int from = 0;
	uint8_t gw[6], f[200];
	uint32_t g = 1000, h;   /* the guest's and the host's sequence numbers */
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), c;
	struct pollfd p;
	uint16_t port;
	struct tcp_want synack = { 0, 40000, 0x12, NULL, 0, 0 };
	struct tcp_want pong = { 0, 40000, 0x10, "pong", 0, 0 };

	(void)state;
	assert_true(l >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&a, &al), 0);
	port = ntohs(a.sin_port);
	synack.sport = pong.sport = port;

	assert_non_null(nt_open(&env, &spec, err, sizeof(err)));
	prime_arp(&env, &from, gw);
	nt_send(env.nb, f, nt_tcp(f, gw, guest_mac, NT_IP(10, 0, 2, 15), NT_IP(10, 0, 2, 2),
				  40000, port, g, 0, 0x02, NULL, 0));
	assert_true(nt_wait(&env.nic, &from, match_tcp, &synack, WAIT_MS) >= 0);
	assert_int_equal(synack.ack, g + 1);
	h = synack.seq + 1;
	g++;
	/* The hand-made ACK completes the handshake; then "ping" with PSH. */
	nt_send(env.nb, f, nt_tcp(f, gw, guest_mac, NT_IP(10, 0, 2, 15), NT_IP(10, 0, 2, 2),
				  40000, port, g, h, 0x10, NULL, 0));
	nt_send(env.nb, f, nt_tcp(f, gw, guest_mac, NT_IP(10, 0, 2, 15), NT_IP(10, 0, 2, 2),
				  40000, port, g, h, 0x18, "ping", 4));
	p = (struct pollfd){ .fd = l, .events = POLLIN };
	assert_int_equal(poll(&p, 1, WAIT_MS), 1);
	c = accept(l, NULL, NULL);
	assert_true(c >= 0);
	p = (struct pollfd){ .fd = c, .events = POLLIN };
	assert_int_equal(poll(&p, 1, WAIT_MS), 1);
	assert_int_equal(read(c, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "ping", 4);
	/* And back: the host's answer arrives as a segment from .2. */
	assert_int_equal(write(c, "pong", 4), 4);
	assert_true(nt_wait(&env.nic, &from, match_tcp, &pong, WAIT_MS) >= 0);
	assert_int_equal(pong.seq, h);
	assert_int_equal(pong.ack, g + 4);
	close(c);
	nt_close(&env);
	close(l);
}

/* ---- port forwarding ---- */

/* A port nothing listens on now (bound, read back, closed). */
static uint16_t free_tcp_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &al), 0);
	close(s);
	return ntohs(a.sin_port);
}

static int connect_loopback(uint16_t port, bool nonblock)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);

	assert_true(s >= 0);
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS) {
		int e = errno;

		close(s);
		return -e;
	}
	return s;
}

struct syn_want {
	uint32_t daddr;
	uint16_t dport;
};

static bool match_syn(const uint8_t *f, size_t len, void *arg)
{
	struct syn_want *w = arg;
	size_t l4;
	const uint8_t *t = ipv4_of(f, len, 6, &l4);

	return t && l4 >= 20 && nt_be32(f + 30) == w->daddr && nt_be16(t + 2) == w->dport &&
	       (t[13] & 0x12) == 0x02;   /* SYN without ACK */
}

static struct nic_fwd rule(const char *name, const char *hostip, uint16_t hostport,
			   const char *guestip, uint16_t guestport)
{
	struct nic_fwd r = { .udp = false, .hostport = hostport, .guestport = guestport };

	snprintf(r.name, sizeof(r.name), "%s", name);
	snprintf(r.hostip, sizeof(r.hostip), "%s", hostip);
	snprintf(r.guestip, sizeof(r.guestip), "%s", guestip);
	return r;
}

static void expect_syn(struct nt_env *env, unsigned int *from, uint16_t hostport,
		       uint32_t guest, uint16_t guestport)
{
	struct syn_want w = { guest, guestport };
	int c = connect_loopback(hostport, true);

	assert_true(c >= 0);
	assert_true(nt_wait(&env->nic, from, match_syn, &w, WAIT_MS) >= 0);
	close(c);
}

static bool match_arp_request(const uint8_t *f, size_t len, void *arg)
{
	return len >= 42 && nt_be16(f + 12) == 0x0806 && nt_be16(f + 20) == 1 &&
	       nt_be32(f + 38) == *(uint32_t *)arg;
}

/*
 * A connection to @hostport toward a guest address slirp has not seen:
 * it asks who has @ip first; answer as the guest (the SYN follows).
 */
static void answer_arp(struct nt_env *env, uint16_t hostport, uint32_t ip)
{
	unsigned int from = 0;
	int c = connect_loopback(hostport, true);
	uint8_t f[64];
	int i;

	assert_true(c >= 0);
	i = nt_wait(&env->nic, &from, match_arp_request, &ip, WAIT_MS);
	assert_true(i >= 0);
	pthread_mutex_lock(&env->nic.mu);
	nt_arp_request(f, guest_mac, ip, nt_be32(env->nic.frames[i] + 28));
	nt_eth(f, env->nic.frames[i] + 6, guest_mac, 0x0806);
	pthread_mutex_unlock(&env->nic.mu);
	f[21] = 2;   /* a reply */
	memcpy(f + 32, env->nic.frames[i] + 6, 6);
	nt_send(env->nb, f, 60);
	close(c);
}

static void test_port_forwarding(void **state)
{
	struct nt_env env;
	uint16_t p1 = free_tcp_port(), p2 = free_tcp_port();
	struct nic_fwd at_open = rule("ssh", "127.0.0.1", p1, "", 22);
	struct nic_fwd later = rule("web", "", p2, "10.0.2.20", 80);
	struct nic_spec spec = nat_spec(NULL);
	char err[256];
	unsigned int from = 0;
	uint8_t gw[6];
	int c;

	(void)state;
	spec.fwd = &at_open;
	spec.nr_fwd = 1;
	assert_non_null(nt_open(&env, &spec, err, sizeof(err)));
	prime_arp(&env, &from, gw);
	/* guestip "" is the DHCP address, .15. */
	expect_syn(&env, &from, p1, NT_IP(10, 0, 2, 15), 22);

	/* A rule added while running: hostip "" listens on every address. */
	assert_int_equal(net_fwd_add(env.nb, &later, err, sizeof(err)), 0);
	answer_arp(&env, p2, NT_IP(10, 0, 2, 20));
	expect_syn(&env, &from, p2, NT_IP(10, 0, 2, 20), 80);

	/* Deleted: the host port is closed again. */
	assert_int_equal(net_fwd_delete(env.nb, "web", err, sizeof(err)), 0);
	c = connect_loopback(p2, false);
	assert_int_equal(c, -ECONNREFUSED);
	assert_int_equal(net_fwd_delete(env.nb, "ssh", err, sizeof(err)), 0);
	c = connect_loopback(p1, false);
	assert_int_equal(c, -ECONNREFUSED);
	nt_close(&env);
}

static void test_port_forwarding_errors(void **state)
{
	struct nt_env env;
	struct nic_spec spec = nat_spec(NULL);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	char err[256];
	int busy = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	uint16_t p = free_tcp_port();
	struct nic_fwd r = rule("ssh", "127.0.0.1", p, "", 22), r2;

	(void)state;
	assert_true(busy >= 0);
	assert_int_equal(bind(busy, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(busy, 1), 0);
	assert_int_equal(getsockname(busy, (struct sockaddr *)&a, &al), 0);

	assert_non_null(nt_open(&env, &spec, err, sizeof(err)));
	assert_int_equal(net_fwd_add(env.nb, &r, err, sizeof(err)), 0);
	/* The same name again, even on another port. */
	r2 = rule("ssh", "127.0.0.1", free_tcp_port(), "", 23);
	assert_int_equal(net_fwd_add(env.nb, &r2, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "'ssh' exists"));
	/* The same host port under another name. */
	r2 = rule("ssh2", "", p, "", 23);
	assert_int_equal(net_fwd_add(env.nb, &r2, err, sizeof(err)), -EADDRINUSE);
	assert_non_null(strstr(err, "is taken by rule 'ssh'"));
	/* A host port someone else holds. */
	r2 = rule("busy", "127.0.0.1", ntohs(a.sin_port), "", 80);
	assert_int_equal(net_fwd_add(env.nb, &r2, err, sizeof(err)), -EADDRINUSE);
	assert_non_null(strstr(err, "cannot listen on 127.0.0.1"));
	/* Bad addresses. */
	r2 = rule("bad", "localhost", free_tcp_port(), "", 80);
	assert_int_equal(net_fwd_add(env.nb, &r2, err, sizeof(err)), -EINVAL);
	r2 = rule("bad", "", free_tcp_port(), "192.168.1.5", 80);
	assert_int_equal(net_fwd_add(env.nb, &r2, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "outside the NAT network"));
	/* Deleting what is not there. */
	assert_int_equal(net_fwd_delete(env.nb, "nope", err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "no forwarding rule named 'nope'"));
	/* The failed adds left nothing behind: "ssh" goes, then is gone. */
	assert_int_equal(net_fwd_delete(env.nb, "ssh", err, sizeof(err)), 0);
	assert_int_equal(net_fwd_delete(env.nb, "ssh", err, sizeof(err)), -ENOENT);
	nt_close(&env);
	close(busy);
}

/* A rule that cannot be set up makes the open fail with its reason. */
static void test_bad_rule_at_open(void **state)
{
	struct nt_env env;
	struct nic_fwd rs[2];
	struct nic_spec spec = nat_spec(NULL);
	uint16_t p = free_tcp_port();
	char err[256];

	(void)state;
	rs[0] = rule("a", "", p, "", 22);
	rs[1] = rule("a", "", free_tcp_port(), "", 23);
	spec.fwd = rs;
	spec.nr_fwd = 2;
	assert_null(nt_open(&env, &spec, err, sizeof(err)));
	assert_non_null(strstr(err, "'a' exists"));
	nt_close(&env);
	/* The first rule's socket was closed with the failed back end. */
	assert_int_equal(connect_loopback(p, false), -ECONNREFUSED);
}

static uint16_t ip_header_sum(const uint8_t *ip)
{
	uint32_t sum = 0;

	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/*
 * Garbage frames (short, truncated IP, bad lengths, random protocols and
 * ports) are taken without harm.  Every IPv4 frame that could pass
 * slirp's header checksum goes to 10.0.2.2, which slirp maps to the
 * host's loopback: no traffic leaves the machine.  NAT_GARBAGE=<frames>
 * and NAT_SEED=<n> in the environment make a longer run (500 000 frames
 * over five seeds found nothing more).
 */
static void test_garbage_frames(void **state)
{
	struct nt_env env;
	struct nic_spec spec = nat_spec(NULL);
	char err[256], tftp[] = "/tmp/hutch-tftp-XXXXXX";
	uint8_t f[1600];
	unsigned int from = 0;
	struct dhcp_offer o;
	uint32_t seed = getenv("NAT_SEED") ? (uint32_t)atoi(getenv("NAT_SEED")) : 12345;

	(void)state;
	/* DHCP and TFTP (an empty root) get their share of garbage too. */
	assert_non_null(mkdtemp(tftp));
	spec.tftp_prefix = tftp;
	spec.tftp_file = "boot.pxe";
	assert_non_null(nt_open(&env, &spec, err, sizeof(err)));
	for (int k = 0; k < (getenv("NAT_GARBAGE") ? atoi(getenv("NAT_GARBAGE")) : 4000); k++) {
		size_t len = 14 + (seed % 600);
		uint16_t sum;

		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			f[i] = (uint8_t)(seed >> 16);
		}
		f[12] = 0x08;
		f[13] = (k & 3) == 0 ? 0x06 : 0x00;   /* ARP, else IPv4 */
		if (f[13] == 0x00 && len >= 34) {
			uint8_t *ip = f + 14;

			ip[0] = 0x45;
			if (k & 4) {   /* a consistent total length, so slirp parses on */
				ip[2] = (uint8_t)((len - 14) >> 8);
				ip[3] = (uint8_t)(len - 14);
			}
			ip[9] = (uint8_t[]){ 1, 6, 17, ip[9] }[k >> 3 & 3];   /* ICMP, TCP, UDP, any */
			ip[16] = 10;
			ip[17] = 0;
			ip[18] = 2;
			ip[19] = 2;
			ip[10] = ip[11] = 0;
			sum = ip_header_sum(ip);
			if (k & 8)
				sum ^= 0x5a5a;   /* a bad checksum */
			ip[10] = (uint8_t)(sum >> 8);
			ip[11] = (uint8_t)sum;
		} else if (f[13] == 0x00) {
			f[14] = 0x45;   /* too short for its header */
		}
		if ((k & 15) == 7 && len >= 14 + 8) {
			f[13] = 0xdd;   /* IPv6 (off here) */
			f[12] = 0x86;
		} else if ((k & 15) == 11 && len >= 14 + 28 + 4) {
			/* Valid UDP to the DHCP or TFTP server, garbage inside. */
			uint8_t pl[600];
			bool dhcp = k & 32, bc = dhcp && (k & 16);   /* broadcast: DHCP only */

			memcpy(pl, f + 20, len - 14 - 28);
			len = nt_udp(f, bc ? bcast : (const uint8_t[]){ 0x52, 0x55, 10, 0, 2, 2 },
				     guest_mac, NT_IP(10, 0, 2, 15),
				     bc ? 0xffffffffu : NT_IP(10, 0, 2, 2), 68, dhcp ? 67 : 69, pl,
				     len - 14 - 28);
			if (k & 64)
				f[14 + 28 + 1] = (uint8_t)(k >> 7 & 7);   /* a TFTP opcode, 0..7 */
		}
		nt_send(env.nb, f, len);
	}
	/* Still serving. */
	nt_send(env.nb, f, dhcp_discover(f, 7));
	assert_true(nt_wait(&env.nic, &from, match_dhcp, &o, WAIT_MS) >= 0);
	nt_close(&env);
	rmdir(tftp);
}

/* One IPv4 fragment from the guest to .2 (UDP, id @id, @off8 in 8-byte units). */
static size_t ip_fragment(uint8_t *f, const uint8_t gw[6], uint16_t id, uint16_t off8, bool more,
			  const uint8_t *payload, size_t plen, uint8_t ttl, bool bad_sum)
{
	uint8_t *ip = f + nt_eth(f, gw, guest_mac, 0x0800);
	uint16_t off = (uint16_t)(off8 | (more ? 0x2000 : 0)), sum;

	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[2] = (uint8_t)((20 + plen) >> 8);
	ip[3] = (uint8_t)(20 + plen);
	ip[4] = (uint8_t)(id >> 8);
	ip[5] = (uint8_t)id;
	ip[6] = (uint8_t)(off >> 8);
	ip[7] = (uint8_t)off;
	ip[8] = ttl;
	ip[9] = 17;
	ip[12] = 10; ip[13] = 0; ip[14] = 2; ip[15] = 15;
	ip[16] = 10; ip[17] = 0; ip[18] = 2; ip[19] = 2;
	sum = ip_header_sum(ip);
	if (bad_sum)
		sum ^= 1;
	ip[10] = (uint8_t)(sum >> 8);
	ip[11] = (uint8_t)sum;
	memcpy(ip + 20, payload, plen);
	return 14 + 20 + plen;
}

/*
 * A datagram in two fragments is reassembled and reaches the host; the
 * fragment sequences libslirp 4.7 crashes on (a last fragment it holds no
 * queue for) are dropped before it, and NAT goes on serving.
 */
static void test_ip_fragments(void **state)
{
	struct nt_env env;
	struct nic_spec spec = nat_spec(NULL);
	char err[256];
	uint8_t gw[6], f[1200], udp[1008], buf[1100];
	unsigned int from = 0;
	uint16_t port;
	int s = udp_socket_on_loopback(&port);
	struct pollfd p = { .fd = s, .events = POLLIN };
	struct dhcp_offer o;

	(void)state;
	assert_non_null(nt_open(&env, &spec, err, sizeof(err)));
	prime_arp(&env, &from, gw);
	/* UDP header (checksum 0: none) and 1000 bytes, cut at 600. */
	memset(udp, 0, sizeof(udp));
	udp[0] = 0x30; udp[1] = 0x39;
	udp[2] = (uint8_t)(port >> 8); udp[3] = (uint8_t)port;
	udp[4] = (uint8_t)(sizeof(udp) >> 8); udp[5] = (uint8_t)sizeof(udp);
	for (size_t i = 8; i < sizeof(udp); i++)
		udp[i] = (uint8_t)i;
	nt_send(env.nb, f, ip_fragment(f, gw, 7, 0, true, udp, 600, 64, false));
	nt_send(env.nb, f, ip_fragment(f, gw, 7, 75, false, udp + 600, 408, 64, false));
	assert_int_equal(poll(&p, 1, WAIT_MS), 1);
	assert_int_equal(recv(s, buf, sizeof(buf), 0), 1000);
	assert_memory_equal(buf, udp + 8, 1000);

	/* Each of these used to end the process. */
	nt_send(env.nb, f, ip_fragment(f, gw, 7, 75, false, udp + 600, 408, 64, false)); /* again */
	nt_send(env.nb, f, ip_fragment(f, gw, 8, 75, false, udp + 600, 408, 64, false)); /* alone */
	nt_send(env.nb, f, ip_fragment(f, gw, 9, 0, true, udp, 600, 64, true));    /* bad sum */
	nt_send(env.nb, f, ip_fragment(f, gw, 9, 75, false, udp + 600, 408, 64, false));
	nt_send(env.nb, f, ip_fragment(f, gw, 10, 0, true, udp, 600, 0, false));   /* TTL 0 */
	nt_send(env.nb, f, ip_fragment(f, gw, 10, 75, false, udp + 600, 408, 64, false));
	nt_send(env.nb, f, ip_fragment(f, gw, 11, 75, false, udp + 600, 408, 64, false)); /* reversed */
	nt_send(env.nb, f, ip_fragment(f, gw, 11, 0, true, udp, 600, 64, false));

	nt_send(env.nb, f, dhcp_discover(f, 9));
	assert_true(nt_wait(&env.nic, &from, match_dhcp, &o, WAIT_MS) >= 0);
	nt_close(&env);
	close(s);
}

/*
 * DNS at .3 is relayed to the host's name server from /etc/resolv.conf;
 * a loopback one included (the guest tests run theirs on 127.0.0.1).
 * Root only: a child in its own network and mount namespaces, with a
 * resolv.conf bind-mounted over the host's and a server on 127.0.0.1:53.
 */
#define CHECK(cond)                                                              \
	do {                                                                     \
		if (!(cond)) {                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,   \
				__LINE__, #cond);                                \
			_exit(1);                                                \
		}                                                                \
	} while (0)

static int dns_child(bool host_resolver)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(53),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in peer;
	socklen_t pl = sizeof(peer);
	char conf[] = "/tmp/hutch-resolv-XXXXXX", err[256], buf[64];
	struct nt_env env;
	struct nic_spec spec = nat_spec(NULL);
	struct udp_want w = { NT_IP(10, 0, 2, 3), NT_IP(10, 0, 2, 15), 53, 3333, "answer" };
	uint8_t gw[6], f[200];
	unsigned int from = 0;
	int fd, s;

	if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    system("ip link set lo up") != 0)
		return 77;
	fd = mkstemp(conf);
	CHECK(fd >= 0);
	CHECK(write(fd, "nameserver 127.0.0.1\n", 21) == 21);
	close(fd);
	if (mount(conf, "/etc/resolv.conf", NULL, MS_BIND, NULL) < 0)
		return 77;
	unlink(conf);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(s >= 0 && bind(s, (struct sockaddr *)&a, sizeof(a)) == 0);

	spec.dns_host_resolver = host_resolver;
	CHECK(nt_open(&env, &spec, err, sizeof(err)));
	nt_send(env.nb, f, nt_arp_request(f, guest_mac, NT_IP(10, 0, 2, 15), NT_IP(10, 0, 2, 2)));
	nt_sleep_ms(50);
	memcpy(gw, (const uint8_t[]){ 0x52, 0x55, 10, 0, 2, 2 }, 6);
	nt_send(env.nb, f, nt_udp(f, gw, guest_mac, NT_IP(10, 0, 2, 15), NT_IP(10, 0, 2, 3),
				  3333, 53, "query", 5));
	{
		struct pollfd p = { .fd = s, .events = POLLIN };

		CHECK(poll(&p, 1, WAIT_MS) == 1);
	}
	CHECK(recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &pl) == 5);
	CHECK(!memcmp(buf, "query", 5));
	CHECK(sendto(s, "answer", 6, 0, (struct sockaddr *)&peer, pl) == 6);
	CHECK(nt_wait(&env.nic, &from, match_udp, &w, WAIT_MS) >= 0);
	nt_close(&env);
	close(s);
	return 0;
}

static void check_dns(bool host_resolver)
{
	pid_t pid;
	int status;

	if (geteuid() != 0)
		skip();
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(dns_child(host_resolver));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_dns_relayed_to_loopback_server(void **state)
{
	(void)state;
	check_dns(false);
}

/* --natdnshostresolver: accepted, the same relay (docs/design.md, "Networking"). */
static void test_dns_host_resolver_accepted(void **state)
{
	(void)state;
	check_dns(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dhcp_default_network),
		cmocka_unit_test(test_dhcp_natnet),
		cmocka_unit_test(test_tftp_boot_file),
		cmocka_unit_test(test_bad_natnet_refused),
		cmocka_unit_test(test_arp_for_gateway),
		cmocka_unit_test(test_udp_to_host_loopback_and_back),
		cmocka_unit_test(test_tcp_to_host_loopback),
		cmocka_unit_test(test_port_forwarding),
		cmocka_unit_test(test_port_forwarding_errors),
		cmocka_unit_test(test_bad_rule_at_open),
		cmocka_unit_test(test_ip_fragments),
		cmocka_unit_test(test_garbage_frames),
		cmocka_unit_test(test_dns_relayed_to_loopback_server),
		cmocka_unit_test(test_dns_host_resolver_accepted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
