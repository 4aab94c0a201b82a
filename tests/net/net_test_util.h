/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the back-end tests share: a back end on the real event loop
 * (src/vmm/event_loop.c, running on its own thread) with a recording NIC
 * attached through net.h, a wait for a frame that matches, and frame
 * builders (Ethernet, ARP, IPv4, UDP, TCP) with correct checksums.
 */
#ifndef HUTCH_NET_TEST_UTIL_H
#define HUTCH_NET_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event_loop.h"
#include "net.h"

#define NT_MAX_FRAMES 512

struct nt_nic {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint8_t *frames[NT_MAX_FRAMES];
	size_t lens[NT_MAX_FRAMES];
	unsigned int n;
	bool refuse;        /* receive() says "no buffer" (a guest that does not read) */
	unsigned int total; /* frames taken, kept or not */
};

struct nt_env {
	struct event_loop *loop;
	struct net_backend *nb;
	struct nt_nic nic;
};

/* Start a loop, create the back end for @spec (NULL + @err on failure), attach the NIC. */
struct net_backend *nt_open(struct nt_env *env, const struct nic_spec *spec, char *err,
			    size_t errlen);
void nt_close(struct nt_env *env);
/* Make receive() refuse frames (the queue fills), or take them again (and net_rx_ready). */
void nt_refuse(struct nt_env *env, bool refuse);
unsigned int nt_total(struct nt_nic *nic);

typedef bool nt_match(const uint8_t *f, size_t len, void *arg);
/* Wait up to @ms for a received frame (from index *@from on) that matches; its index or -1. */
int nt_wait(struct nt_nic *nic, unsigned int *from, nt_match *m, void *arg, unsigned int ms);
/* Count frames received that match (no wait). */
unsigned int nt_count(struct nt_nic *nic, nt_match *m, void *arg);
void nt_sleep_ms(unsigned int ms);

/* Send one frame as the guest would (net_send). */
void nt_send(struct net_backend *nb, const void *frame, size_t len);

size_t nt_eth(uint8_t *f, const uint8_t dst[6], const uint8_t src[6], uint16_t type);
size_t nt_arp_request(uint8_t *f, const uint8_t mac[6], uint32_t sip, uint32_t tip);
/* IPv4 + UDP around @payload (host order addresses); the frame's length. */
size_t nt_udp(uint8_t *f, const uint8_t dst[6], const uint8_t src[6], uint32_t saddr,
	      uint32_t daddr, uint16_t sport, uint16_t dport, const void *payload, size_t plen);
/* IPv4 + TCP (no options) with @flags; the frame's length. */
size_t nt_tcp(uint8_t *f, const uint8_t dst[6], const uint8_t src[6], uint32_t saddr,
	      uint32_t daddr, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
	      uint8_t flags, const void *payload, size_t plen);

/* A SYN-ACK carrying an MSS option (what a guest answers a connection with). */
size_t nt_tcp_mss(uint8_t *f, const uint8_t dst[6], const uint8_t src[6], uint32_t saddr,
		  uint32_t daddr, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
		  uint16_t mss);

static inline uint16_t nt_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t nt_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

#define NT_IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

#endif
