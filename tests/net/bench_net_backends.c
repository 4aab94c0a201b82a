// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A rough measure of the back ends' own cost (not a test, not run by
 * ctest): frames pushed through them as fast as one sender thread can,
 * on the real event loop, with a NIC that takes every frame at once.
 *   intnet: 1514-byte frames between two adapters on one network;
 *   nat:    1472-byte UDP datagrams from the guest to a socket on
 *           127.0.0.1 (through 10.0.2.2), and back to the guest.
 *   nat tcp: host -> guest through a forwarded port, a minimal guest
 *           TCP receiver acknowledging every segment.
 * Usage: bench_net_backends [frames] [MiB]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net_test_util.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void report(const char *what, unsigned int sent, unsigned int got, size_t size, double s)
{
	printf("%-28s %7u sent %7u arrived (%.1f%% lost)  %8.0f frames/s  %7.1f MB/s\n", what,
	       sent, got, sent ? 100.0 * (sent - got) / sent : 0.0, got / s,
	       (double)got * (double)size / s / 1e6);
}

static void bench_intnet(unsigned int n)
{
	static const uint8_t bmac[6] = { 0x08, 0, 0x27, 0xbb, 0, 2 };
	struct nic_spec sa = { .index = 1, .attach = NIC_ATTACH_INTNET, .cable = true,
			       .mac = { 0x08, 0, 0x27, 0xbb, 0, 1 }, .intnet = "bench" };
	struct nic_spec sb = sa;
	struct nt_env a, b;
	char err[256];
	uint8_t f[1514];
	unsigned int got = 0, last = 0;
	double t0;

	sb.index = 2;
	memcpy(sb.mac, bmac, 6);
	if (!nt_open(&a, &sa, err, sizeof(err)) || !nt_open(&b, &sb, err, sizeof(err))) {
		fprintf(stderr, "intnet: %s\n", err);
		return;
	}
	memset(f, 0x5a, sizeof(f));
	nt_eth(f, (const uint8_t[]){ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, bmac, 0x88b5);
	nt_send(b.nb, f, sizeof(f));   /* a learns b's MAC */
	nt_sleep_ms(100);
	nt_eth(f, bmac, sa.mac, 0x88b5);
	t0 = now_s();
	for (unsigned int i = 0; i < n; i++)
		nt_send(a.nb, f, sizeof(f));
	for (int idle = 0; idle < 50; idle++) {
		nt_sleep_ms(2);
		got = nt_total(&b.nic);
		if (got != last)
			idle = 0;
		last = got;
		if (got >= n)
			break;
	}
	report("intnet a->b (1514 B)", n, got, sizeof(f), now_s() - t0);
	nt_close(&b);
	nt_close(&a);
}

static void bench_nat(unsigned int n)
{
	static const uint8_t gmac[6] = { 0x08, 0, 0x27, 0xcc, 0, 1 };
	static const uint8_t gw[6] = { 0x52, 0x55, 10, 0, 2, 2 };
	struct nic_spec spec = { .index = 1, .attach = NIC_ATTACH_NAT, .cable = true,
				 .mac = { 0x08, 0, 0x27, 0xcc, 0, 1 } };
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(addr);
	struct nt_env env;
	char err[256], payload[1472], buf[2048];
	uint8_t f[1600];
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), big = 8 << 20;
	unsigned int got = 0, back = 0;
	struct sockaddr_in peer;
	socklen_t pl = sizeof(peer);
	size_t len;
	double t0;

	setsockopt(s, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	bind(s, (struct sockaddr *)&addr, sizeof(addr));
	getsockname(s, (struct sockaddr *)&addr, &al);
	if (!nt_open(&env, &spec, err, sizeof(err))) {
		fprintf(stderr, "nat: %s\n", err);
		return;
	}
	nt_send(env.nb, f, nt_arp_request(f, gmac, NT_IP(10, 0, 2, 15), NT_IP(10, 0, 2, 2)));
	nt_sleep_ms(50);
	memset(payload, 0x33, sizeof(payload));
	len = nt_udp(f, gw, gmac, NT_IP(10, 0, 2, 15), NT_IP(10, 0, 2, 2), 4000,
		     ntohs(addr.sin_port), payload, sizeof(payload));
	t0 = now_s();
	for (unsigned int i = 0; i < n; i++) {
		struct pollfd p = { .fd = s, .events = POLLIN };

		nt_send(env.nb, f, len);
		while (poll(&p, 1, 0) == 1 && recvfrom(s, buf, sizeof(buf), MSG_DONTWAIT,
						       (struct sockaddr *)&peer, &pl) > 0)
			got++;
	}
	for (;;) {
		struct pollfd p = { .fd = s, .events = POLLIN };

		if (poll(&p, 1, 200) != 1)
			break;
		if (recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &pl) > 0)
			got++;
	}
	report("nat guest->host UDP (1472 B)", n, got, sizeof(payload), now_s() - t0 - 0.2);

	/*
	 * And back: the host sends to slirp's socket, frames reach the guest.
	 * In bursts of 32 (a socket's default receive buffer holds ~90 such
	 * datagrams), each waiting (up to 20 ms) for the last to arrive.
	 */
	t0 = now_s();
	back = nt_total(&env.nic);
	for (unsigned int i = 0; i < n; i += 32) {
		unsigned int base = nt_total(&env.nic), burst = n - i < 32 ? n - i : 32;
		double w;

		for (unsigned int k = 0; k < burst; k++)
			sendto(s, payload, sizeof(payload), 0, (struct sockaddr *)&peer, pl);
		w = now_s();
		while (nt_total(&env.nic) < base + burst && now_s() - w < 0.02)
			sched_yield();
	}
	nt_sleep_ms(50);
	back = nt_total(&env.nic) - back;
	report("nat host->guest UDP (1472 B)", n, back, sizeof(payload), now_s() - t0 - 0.05);
	nt_close(&env);
	close(s);
}

/*
 * NAT, TCP from the host to the guest through a forwarded port: the
 * host writes @mib MiB into 127.0.0.1:<port>; a minimal guest side (this
 * NIC's receive()) takes segments in order and acknowledges each one,
 * window 64 KiB, MSS 1460, as a guest without window scaling would.
 */
struct tcp_sink {
	struct net_backend *nb;
	pthread_mutex_t mu;
	uint16_t sport;          /* slirp's port (from its SYN) */
	uint32_t next;           /* the next byte we expect */
	uint64_t bytes;
	bool established;
	uint32_t syn_seq;
	bool got_syn;
};

static const uint8_t sink_mac[6] = { 0x08, 0, 0x27, 0xdd, 0, 1 };
static const uint8_t slirp_gw[6] = { 0x52, 0x55, 10, 0, 2, 2 };

static void sink_ack(struct tcp_sink *k, uint32_t ack, uint8_t flags, uint32_t seq)
{
	uint8_t f[80];
	size_t len = nt_tcp(f, slirp_gw, sink_mac, NT_IP(10, 0, 2, 15), NT_IP(10, 0, 2, 2), 80,
			    k->sport, seq, ack, flags, NULL, 0);

	nt_send(k->nb, f, len);
}

static bool sink_receive(void *opaque, const struct iovec *iov, int iovcnt, size_t len)
{
	struct tcp_sink *k = opaque;
	const uint8_t *f = iov[0].iov_base;
	const uint8_t *t;
	size_t ihl, hl, plen;
	uint32_t seq;

	(void)iovcnt;
	if (len < 54 || nt_be16(f + 12) != 0x0800 || f[23] != 6)
		return true;
	ihl = (size_t)(f[14] & 15) * 4;
	t = f + 14 + ihl;
	if (nt_be16(t + 2) != 80)
		return true;
	hl = (size_t)(t[12] >> 4) * 4;
	plen = nt_be16(f + 16) - ihl - hl;
	seq = nt_be32(t + 4);
	pthread_mutex_lock(&k->mu);
	if ((t[13] & 0x12) == 0x02) {   /* slirp's SYN: answer SYN-ACK below */
		k->sport = nt_be16(t);
		k->syn_seq = seq;
		k->got_syn = true;
		k->next = seq + 1;
		pthread_mutex_unlock(&k->mu);
		return true;
	}
	if (plen && seq == k->next) {
		k->next += (uint32_t)plen;
		k->bytes += plen;
	}
	seq = k->next;
	pthread_mutex_unlock(&k->mu);
	if (plen)
		sink_ack(k, seq, 0x10, 1001);
	return true;
}

static const struct net_port_ops sink_ops = { .receive = sink_receive };

struct writer {
	uint16_t port;
	size_t total;
};

static void *host_writer(void *arg)
{
	struct writer *w = arg;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(w->port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	static char chunk[65536];
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	size_t done = 0;

	if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)) < 0)
		return NULL;
	while (done < w->total) {
		ssize_t n = write(c, chunk, w->total - done < sizeof(chunk) ? w->total - done
									   : sizeof(chunk));

		if (n <= 0)
			break;
		done += (size_t)n;
	}
	nt_sleep_ms(3000);   /* let it drain before the close */
	close(c);
	return NULL;
}

static void bench_nat_tcp(unsigned int mib)
{
	struct nic_spec spec = { .index = 1, .attach = NIC_ATTACH_NAT, .cable = true };
	struct nic_fwd rule = { .name = "bench", .hostip = "127.0.0.1", .guestport = 80 };
	struct tcp_sink k = { .next = 0 };
	struct writer w = { .total = (size_t)mib << 20 };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	struct event_loop *loop;
	pthread_t th;
	char err[256];
	uint8_t f[80];
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	double t0, t;
	uint64_t got = 0;

	bind(s, (struct sockaddr *)&a, sizeof(a));
	getsockname(s, (struct sockaddr *)&a, &al);
	close(s);
	rule.hostport = ntohs(a.sin_port);
	w.port = rule.hostport;
	memcpy(spec.mac, sink_mac, 6);
	spec.fwd = &rule;
	spec.nr_fwd = 1;
	pthread_mutex_init(&k.mu, NULL);
	loop = event_loop_create(err, sizeof(err));
	if (!loop || event_loop_start(loop, err, sizeof(err)) < 0)
		return;
	k.nb = net_backend_create(&spec, "bench", &event_loop_ops, loop, err, sizeof(err));
	if (!k.nb) {
		fprintf(stderr, "nat tcp: %s\n", err);
		return;
	}
	net_attach(k.nb, &sink_ops, &k);
	nt_send(k.nb, f, nt_arp_request(f, sink_mac, NT_IP(10, 0, 2, 15), NT_IP(10, 0, 2, 2)));
	nt_sleep_ms(50);
	pthread_create(&th, NULL, host_writer, &w);
	for (int i = 0; i < 500; i++) {
		bool syn;

		pthread_mutex_lock(&k.mu);
		syn = k.got_syn;
		pthread_mutex_unlock(&k.mu);
		if (syn)
			break;
		nt_sleep_ms(10);
	}
	/* SYN-ACK with MSS 1460 (the option is the segment's first 4 bytes of payload room). */
	{
		uint8_t syn[80];
		size_t len = nt_tcp_mss(syn, slirp_gw, sink_mac, NT_IP(10, 0, 2, 15),
					NT_IP(10, 0, 2, 2), 80, k.sport, 1000, k.syn_seq + 1, 1460);

		nt_send(k.nb, syn, len);
	}
	t0 = now_s();
	for (int idle = 0; idle < 200 && got < w.total; idle++) {
		uint64_t was = got;

		nt_sleep_ms(10);
		pthread_mutex_lock(&k.mu);
		got = k.bytes;
		pthread_mutex_unlock(&k.mu);
		if (got != was)
			idle = 0;
	}
	t = now_s() - t0;
	printf("%-28s %7u MiB sent %7.1f MiB arrived in %.2f s  %7.1f MB/s\n",
	       "nat host->guest TCP", mib, (double)got / (1 << 20), t, (double)got / t / 1e6);
	pthread_join(th, NULL);
	net_detach(k.nb);
	net_backend_destroy(k.nb);
	event_loop_stop(loop);
	event_loop_destroy(loop);
}

int main(int argc, char **argv)
{
	unsigned int n = argc > 1 ? (unsigned int)atoi(argv[1]) : 100000;
	char dir[] = "/tmp/hutch-bench-XXXXXX";

	if (mkdtemp(dir))
		setenv("XDG_RUNTIME_DIR", dir, 1);
	bench_intnet(n);
	bench_nat(n);
	bench_nat_tcp(argc > 2 ? (unsigned int)atoi(argv[2]) : 100);
	rmdir(dir);
	return 0;
}
