// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A rough measure of the back ends' own cost (not a test, not run by
 * ctest): frames pushed through them as fast as one sender thread can,
 * on the real event loop, with a NIC that takes every frame at once.
 *   intnet: 1514-byte frames between two adapters on one network;
 *   nat:    1472-byte UDP datagrams from the guest to a socket on
 *           127.0.0.1 (through 10.0.2.2), and back to the guest.
 * Usage: bench_net_backends [frames]
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
		unsigned int base = nt_total(&env.nic);
		double w;

		for (unsigned int k = 0; k < 32; k++)
			sendto(s, payload, sizeof(payload), 0, (struct sockaddr *)&peer, pl);
		w = now_s();
		while (nt_total(&env.nic) < base + 32 && now_s() - w < 0.02)
			sched_yield();
	}
	nt_sleep_ms(50);
	back = nt_total(&env.nic) - back;
	report("nat host->guest UDP (1472 B)", n, back, sizeof(payload), now_s() - t0 - 0.05);
	nt_close(&env);
	close(s);
}

int main(int argc, char **argv)
{
	unsigned int n = argc > 1 ? (unsigned int)atoi(argv[1]) : 100000;
	char dir[] = "/tmp/hutch-bench-XXXXXX";

	if (mkdtemp(dir))
		setenv("XDG_RUNTIME_DIR", dir, 1);
	bench_intnet(n);
	bench_nat(n);
	rmdir(dir);
	return 0;
}
