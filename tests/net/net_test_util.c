/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The back-end tests' shared helpers (net_test_util.h). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net_test_util.h"

static bool nt_receive(void *opaque, const struct iovec *iov, int iovcnt, size_t len)
{
	struct nt_nic *nic = opaque;
	uint8_t *copy;
	size_t off = 0;
	bool refuse;

	pthread_mutex_lock(&nic->mu);
	refuse = nic->refuse;
	if (!refuse)
		nic->total++;
	pthread_mutex_unlock(&nic->mu);
	if (refuse)
		return false;
	copy = malloc(len);
	if (!copy)
		return true;
	for (int i = 0; i < iovcnt && off < len; i++) {
		memcpy(copy + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	pthread_mutex_lock(&nic->mu);
	if (nic->n < NT_MAX_FRAMES) {
		nic->frames[nic->n] = copy;
		nic->lens[nic->n] = len;
		nic->n++;
		copy = NULL;
	}
	pthread_cond_broadcast(&nic->cv);
	pthread_mutex_unlock(&nic->mu);
	free(copy);
	return true;
}

static const struct net_port_ops nt_port_ops = { .receive = nt_receive };

struct net_backend *nt_open(struct nt_env *env, const struct nic_spec *spec, char *err,
			    size_t errlen)
{
	memset(env, 0, sizeof(*env));
	pthread_mutex_init(&env->nic.mu, NULL);
	pthread_cond_init(&env->nic.cv, NULL);
	env->loop = event_loop_create(err, errlen);
	if (!env->loop)
		return NULL;
	if (event_loop_start(env->loop, err, errlen) < 0)
		return NULL;
	env->nb = net_backend_create(spec, "test-vm", &event_loop_ops, env->loop, err, errlen);
	if (env->nb)
		net_attach(env->nb, &nt_port_ops, &env->nic);
	return env->nb;
}

void nt_close(struct nt_env *env)
{
	if (env->nb) {
		net_detach(env->nb);
		net_backend_destroy(env->nb);
	}
	if (env->loop) {
		event_loop_stop(env->loop);
		event_loop_destroy(env->loop);
	}
	for (unsigned int i = 0; i < env->nic.n; i++)
		free(env->nic.frames[i]);
	pthread_cond_destroy(&env->nic.cv);
	pthread_mutex_destroy(&env->nic.mu);
	memset(env, 0, sizeof(*env));
}

void nt_refuse(struct nt_env *env, bool refuse)
{
	pthread_mutex_lock(&env->nic.mu);
	env->nic.refuse = refuse;
	pthread_mutex_unlock(&env->nic.mu);
	if (!refuse)
		net_rx_ready(env->nb);
}

unsigned int nt_total(struct nt_nic *nic)
{
	unsigned int n;

	pthread_mutex_lock(&nic->mu);
	n = nic->total;
	pthread_mutex_unlock(&nic->mu);
	return n;
}

void nt_sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int nt_wait(struct nt_nic *nic, unsigned int *from, nt_match *m, void *arg, unsigned int ms)
{
	struct timespec dl;
	int found = -1;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += ms / 1000;
	dl.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&nic->mu);
	for (;;) {
		for (; *from < nic->n; (*from)++) {
			if (m(nic->frames[*from], nic->lens[*from], arg)) {
				found = (int)(*from)++;
				goto out;
			}
		}
		if (pthread_cond_timedwait(&nic->cv, &nic->mu, &dl) == ETIMEDOUT) {
			for (; *from < nic->n; (*from)++)
				if (m(nic->frames[*from], nic->lens[*from], arg)) {
					found = (int)(*from)++;
					break;
				}
			break;
		}
	}
out:
	pthread_mutex_unlock(&nic->mu);
	return found;
}

unsigned int nt_count(struct nt_nic *nic, nt_match *m, void *arg)
{
	unsigned int c = 0;

	pthread_mutex_lock(&nic->mu);
	for (unsigned int i = 0; i < nic->n; i++)
		c += m(nic->frames[i], nic->lens[i], arg);
	pthread_mutex_unlock(&nic->mu);
	return c;
}

void nt_send(struct net_backend *nb, const void *frame, size_t len)
{
	/* Two pieces, as a NIC gathering a descriptor chain would hand them. */
	size_t half = len / 2;
	struct iovec iov[2] = { { (void *)frame, half },
				{ (uint8_t *)frame + half, len - half } };

	net_send(nb, iov, 2, len);
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* RFC 1071 sum of @len bytes, added to @sum. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += nt_be16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

size_t nt_eth(uint8_t *f, const uint8_t dst[6], const uint8_t src[6], uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	put16(f + 12, type);
	return 14;
}

size_t nt_arp_request(uint8_t *f, const uint8_t mac[6], uint32_t sip, uint32_t tip)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t *a = f + nt_eth(f, bcast, mac, 0x0806);

	put16(a, 1);          /* Ethernet */
	put16(a + 2, 0x0800); /* IPv4 */
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, 1);      /* request */
	memcpy(a + 8, mac, 6);
	put32(a + 14, sip);
	memset(a + 18, 0, 6);
	put32(a + 24, tip);
	memset(a + 28, 0, 18);   /* pad to the 60-byte minimum */
	return 60;
}

static size_t ipv4(uint8_t *ip, uint8_t proto, uint32_t saddr, uint32_t daddr, size_t l4len)
{
	static uint16_t id = 1;

	ip[0] = 0x45;
	ip[1] = 0;
	put16(ip + 2, (uint16_t)(20 + l4len));
	put16(ip + 4, id++);
	put16(ip + 6, 0x4000);   /* DF */
	ip[8] = 64;
	ip[9] = proto;
	put16(ip + 10, 0);
	put32(ip + 12, saddr);
	put32(ip + 16, daddr);
	put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
	return 20;
}

static uint32_t pseudo(uint32_t saddr, uint32_t daddr, uint8_t proto, size_t len)
{
	uint8_t p[12];

	put32(p, saddr);
	put32(p + 4, daddr);
	p[8] = 0;
	p[9] = proto;
	put16(p + 10, (uint16_t)len);
	return csum_add(0, p, 12);
}

size_t nt_udp(uint8_t *f, const uint8_t dst[6], const uint8_t src[6], uint32_t saddr,
	      uint32_t daddr, uint16_t sport, uint16_t dport, const void *payload, size_t plen)
{
	uint8_t *ip = f + nt_eth(f, dst, src, 0x0800);
	uint8_t *u = ip + ipv4(ip, 17, saddr, daddr, 8 + plen);
	uint16_t sum;

	put16(u, sport);
	put16(u + 2, dport);
	put16(u + 4, (uint16_t)(8 + plen));
	put16(u + 6, 0);
	if (plen)
		memcpy(u + 8, payload, plen);
	sum = csum_fold(csum_add(pseudo(saddr, daddr, 17, 8 + plen), u, 8 + plen));
	put16(u + 6, sum ? sum : 0xffff);
	return 14 + 20 + 8 + plen;
}

size_t nt_tcp(uint8_t *f, const uint8_t dst[6], const uint8_t src[6], uint32_t saddr,
	      uint32_t daddr, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
	      uint8_t flags, const void *payload, size_t plen)
{
	uint8_t *ip = f + nt_eth(f, dst, src, 0x0800);
	uint8_t *t = ip + ipv4(ip, 6, saddr, daddr, 20 + plen);

	put16(t, sport);
	put16(t + 2, dport);
	put32(t + 4, seq);
	put32(t + 8, ack);
	t[12] = 5 << 4;
	t[13] = flags;
	put16(t + 14, 65535);
	put16(t + 16, 0);
	put16(t + 18, 0);
	if (plen)
		memcpy(t + 20, payload, plen);
	put16(t + 16, csum_fold(csum_add(pseudo(saddr, daddr, 6, 20 + plen), t, 20 + plen)));
	return 14 + 20 + 20 + plen;
}

size_t nt_tcp_mss(uint8_t *f, const uint8_t dst[6], const uint8_t src[6], uint32_t saddr,
		  uint32_t daddr, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
		  uint16_t mss)
{
	uint8_t *ip = f + nt_eth(f, dst, src, 0x0800);
	uint8_t *t = ip + ipv4(ip, 6, saddr, daddr, 24);

	put16(t, sport);
	put16(t + 2, dport);
	put32(t + 4, seq);
	put32(t + 8, ack);
	t[12] = 6 << 4;   /* 24 bytes: the MSS option */
	t[13] = 0x12;     /* SYN, ACK */
	put16(t + 14, 65535);
	put16(t + 16, 0);
	put16(t + 18, 0);
	t[20] = 2;
	t[21] = 4;
	put16(t + 22, mss);
	put16(t + 16, csum_fold(csum_add(pseudo(saddr, daddr, 6, 24), t, 24)));
	return 14 + 20 + 24;
}
