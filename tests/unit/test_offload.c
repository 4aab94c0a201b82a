// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The software transmit offloads (src/net/offload.c): the Internet
 * checksum against a plain word-by-word one and RFC 1071's example,
 * checksum completion at guest-given offsets, TCP/IP header parsing, and
 * TCP segmentation, each segment checked field by field and with an
 * independent checksum, and the payload put back together.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net.h"
#include "offload.h"
#include "ref_csum.h"

/* ---- an independent checksum: big-endian words, one at a time ---- */

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, (uint16_t)(v >> 16));
	wr16(p + 2, (uint16_t)v);
}

static void fill_pattern(uint8_t *p, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

/* Does the TCP segment at @l4 (IPv4 or IPv6 header at @l3) carry a valid checksum? */
static bool tcp_csum_valid(const uint8_t *l3, bool ipv6, const uint8_t *l4, size_t tcp_len)
{
	uint32_t sum;

	if (ipv6)
		sum = ref_sum(0, l3 + 8, 32) + (uint32_t)(tcp_len >> 16) + (uint32_t)(tcp_len & 0xffff) + 6;
	else
		sum = ref_sum(0, l3 + 12, 8) + 6 + (uint32_t)tcp_len;
	return ref_fold(ref_sum(sum, l4, tcp_len)) == 0xffff;
}

/* ---- frames ---- */

#define ETH     14
#define IP4     20
#define IP6     40
#define TCPH    32     /* with 12 bytes of options (timestamps), as Linux sends */

static const uint8_t dst_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t src_mac[6] = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef };

/* Ethernet + IPv4 or IPv6 + TCP (ACK|PSH|FIN|CWR) + @payload bytes; the frame's length. */
static size_t build_tcp(uint8_t *f, bool ipv6, bool vlan, size_t payload, uint32_t seq)
{
	size_t l3 = ETH + (vlan ? 4 : 0), l4 = l3 + (ipv6 ? IP6 : IP4);
	uint8_t *ip = f + l3, *tcp = f + l4;

	memcpy(f, dst_mac, 6);
	memcpy(f + 6, src_mac, 6);
	if (vlan) {
		wr16(f + 12, 0x8100);
		wr16(f + 14, 42);
	}
	wr16(f + l3 - 2, ipv6 ? 0x86dd : 0x0800);
	if (ipv6) {
		memset(ip, 0, IP6);
		ip[0] = 0x60;
		wr16(ip + 4, (uint16_t)(TCPH + payload));   /* wraps for GSO sizes: not trusted */
		ip[6] = 6;
		ip[7] = 64;
		for (int i = 0; i < 16; i++) {
			ip[8 + i] = (uint8_t)(0xfd + i);
			ip[24 + i] = (uint8_t)(0x20 + i);
		}
	} else {
		memset(ip, 0, IP4);
		ip[0] = 0x45;
		wr16(ip + 2, (uint16_t)(IP4 + TCPH + payload));
		wr16(ip + 4, 0x1234);
		wr16(ip + 6, 0x4000);   /* DF */
		ip[8] = 64;
		ip[9] = 6;
		wr32(ip + 12, 0x0a00020f);
		wr32(ip + 16, 0x0a000202);
	}
	memset(tcp, 0, TCPH);
	wr16(tcp, 40000);
	wr16(tcp + 2, 5201);
	wr32(tcp + 4, seq);
	wr32(tcp + 8, 0x01020304);
	tcp[12] = (TCPH / 4) << 4;
	tcp[13] = 0x80 | 0x10 | 0x08 | 0x01;   /* CWR ACK PSH FIN */
	wr16(tcp + 14, 502);
	tcp[20] = 1;                            /* NOP NOP timestamps */
	tcp[21] = 1;
	tcp[22] = 8;
	tcp[23] = 10;
	wr16(tcp + 16, 0xdead);                 /* a stale checksum: must be replaced */
	fill_pattern(tcp + TCPH, payload, (uint32_t)payload);
	return l4 + TCPH + payload;
}

/* ---- checksum ---- */

static void test_csum_rfc1071_example(void **state)
{
	/* RFC 1071, 3: the words 0001 f203 f4f5 f6f7 sum to ddf2 (folded). */
	static const uint8_t b[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	uint16_t c = net_csum_finish(net_csum_add(0, b, sizeof(b)));
	uint8_t stored[2];

	(void)state;
	memcpy(stored, &c, 2);
	assert_int_equal(be16(stored), (uint16_t)~0xddf2);
}

static void test_csum_matches_reference(void **state)
{
	static uint8_t buf[70000];

	(void)state;
	fill_pattern(buf, sizeof(buf), 7);
	/* Every length up to 64 and a few large ones, odd and even, and in two pieces. */
	for (size_t len = 0; len < sizeof(buf); len = len < 64 ? len + 1 : len * 3 + 1) {
		uint16_t c = net_csum_finish(net_csum_add(0, buf, len));
		uint16_t want = (uint16_t)~ref_fold(ref_sum(0, buf, len));
		size_t half = (len / 2) & ~(size_t)1;
		uint16_t c2 = net_csum_finish(net_csum_add(net_csum_add(0, buf, half), buf + half,
							   len - half));
		uint8_t s[2];

		memcpy(s, &c, 2);
		assert_int_equal(be16(s), want);
		assert_int_equal(c2, c);
	}
	/* All ones: the sum never loses a carry. */
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(net_csum_finish(net_csum_add(0, buf, sizeof(buf))), 0);
}

static void test_csum_insert(void **state)
{
	static uint8_t f[2000], copy[2000];
	size_t len = build_tcp(f, false, false, 1000, 1), l4 = ETH + IP4;
	uint8_t *ip = f + ETH;
	uint32_t pseudo;

	(void)state;
	/* What a guest driver leaves: the pseudo-header's sum, not complemented. */
	pseudo = ref_sum(0, ip + 12, 8) + 6 + (uint32_t)(len - l4);
	wr16(f + l4 + 16, ref_fold(pseudo));
	assert_true(net_csum_insert(f, len, l4, len, l4 + 16));
	assert_true(tcp_csum_valid(ip, false, f + l4, len - l4));

	/* Offsets outside the frame: refused, nothing written. */
	memcpy(copy, f, len);
	assert_false(net_csum_insert(f, len, l4, len, len - 1));
	assert_false(net_csum_insert(f, len, l4, len + 1, l4 + 16));
	assert_false(net_csum_insert(f, len, len + 2, len, l4 + 16));
	assert_false(net_csum_insert(f, len, 0, len, SIZE_MAX));
	assert_false(net_csum_insert(f, len, 70000, 70000, 70010));
	assert_memory_equal(f, copy, len);
	/* At the very end is fine. */
	assert_true(net_csum_insert(f, len, 0, len - 2, len - 2));

	/* A sum of zero is stored as 0xffff (RFC 768). */
	memset(f, 0, 8);
	assert_true(net_csum_insert(f, 8, 0, 8, 4));
	assert_int_equal(be16(f + 4), 0xffff);
}

/* ---- parsing ---- */

static void test_parse_tcp(void **state)
{
	static uint8_t f[2000];
	struct net_tcp_frame t;
	size_t len;

	(void)state;
	len = build_tcp(f, false, false, 100, 1);
	assert_int_equal(net_parse_tcp(f, len, &t), 0);
	assert_false(t.ipv6);
	assert_int_equal(t.l3_off, ETH);
	assert_int_equal(t.l4_off, ETH + IP4);
	assert_int_equal(t.hdr_len, ETH + IP4 + TCPH);

	len = build_tcp(f, true, true, 100, 1);
	assert_int_equal(net_parse_tcp(f, len, &t), 0);
	assert_true(t.ipv6);
	assert_int_equal(t.l3_off, ETH + 4);
	assert_int_equal(t.hdr_len, ETH + 4 + IP6 + TCPH);

	/* Cut anywhere inside the headers: refused. */
	for (size_t cut = 0; cut < ETH + 4 + IP6 + TCPH; cut++)
		assert_int_equal(net_parse_tcp(f, cut, &t), -EINVAL);

	/* Not TCP, a fragment, a bad IHL or data offset, not IP. */
	len = build_tcp(f, false, false, 100, 1);
	f[ETH + 9] = 17;
	assert_int_equal(net_parse_tcp(f, len, &t), -EINVAL);
	f[ETH + 9] = 6;
	wr16(f + ETH + 6, 0x2000);   /* MF */
	assert_int_equal(net_parse_tcp(f, len, &t), -EINVAL);
	wr16(f + ETH + 6, 0x0010);   /* offset */
	assert_int_equal(net_parse_tcp(f, len, &t), -EINVAL);
	wr16(f + ETH + 6, 0);
	f[ETH] = 0x44;
	assert_int_equal(net_parse_tcp(f, len, &t), -EINVAL);
	f[ETH] = 0x4f;               /* 60-byte header: the TCP header moves, still inside */
	assert_int_equal(net_parse_tcp(f, len, &t), 0);
	f[ETH] = 0x45;
	f[ETH + IP4 + 12] = 0x40;    /* data offset 16 bytes */
	assert_int_equal(net_parse_tcp(f, len, &t), -EINVAL);
	f[ETH + IP4 + 12] = 0xf0;    /* 60 bytes: fits (100 bytes of payload) */
	assert_int_equal(net_parse_tcp(f, len, &t), 0);
	assert_int_equal(net_parse_tcp(f, ETH + IP4 + 59, &t), -EINVAL);
	wr16(f + 12, 0x0806);
	assert_int_equal(net_parse_tcp(f, len, &t), -EINVAL);
}

/* ---- segmentation ---- */

struct capture {
	unsigned int n;
	uint8_t *seg[NET_TSO_MAX_SEGS];
	size_t len[NET_TSO_MAX_SEGS];
};

static void capture_emit(void *opaque, const uint8_t *frame, size_t len)
{
	struct capture *c = opaque;

	assert_true(c->n < NET_TSO_MAX_SEGS);
	c->seg[c->n] = malloc(len);
	assert_non_null(c->seg[c->n]);
	memcpy(c->seg[c->n], frame, len);
	c->len[c->n++] = len;
}

static void capture_free(struct capture *c)
{
	for (unsigned int i = 0; i < c->n; i++)
		free(c->seg[i]);
	c->n = 0;
}

/*
 * Segment a frame of @payload bytes with @mss and check every segment:
 * headers copied, lengths, IPv4 id and header checksum, sequence
 * numbers, flags, TCP checksum, and the payload back in one piece.
 */
static void check_tso(bool ipv6, bool vlan, size_t payload, unsigned int mss)
{
	static uint8_t f[NET_FRAME_MAX], scratch[NET_FRAME_MAX], joined[NET_FRAME_MAX];
	static struct capture c;
	size_t l3 = ETH + (vlan ? 4 : 0), l4 = l3 + (ipv6 ? IP6 : IP4), hdr = l4 + TCPH;
	size_t len = build_tcp(f, ipv6, vlan, payload, 0xfffff000u);   /* the sequence wraps */
	unsigned int want = payload ? (unsigned int)((payload + mss - 1) / mss) : 1;
	size_t off = 0;
	int n;

	n = net_tso_segment(f, len, mss, scratch, sizeof(scratch), capture_emit, &c);
	assert_int_equal(n, want);
	assert_int_equal(c.n, want);
	for (unsigned int i = 0; i < c.n; i++) {
		const uint8_t *s = c.seg[i], *ip = s + l3, *tcp = s + l4;
		size_t n_pay = c.len[i] - hdr;
		uint8_t flags = tcp[13];

		/* Full segments but the last; headers as the original's but the fields below. */
		assert_true(c.len[i] >= hdr);
		assert_true(n_pay <= mss);
		assert_true(i + 1 == c.n || n_pay == mss);
		assert_memory_equal(s, f, l3);
		if (ipv6) {
			assert_int_equal(be16(ip + 4), c.len[i] - l3 - IP6);
			assert_memory_equal(ip + 6, f + l3 + 6, IP6 - 6);
		} else {
			assert_int_equal(be16(ip + 2), c.len[i] - l3);
			assert_int_equal(be16(ip + 4), (uint16_t)(0x1234 + i));
			assert_int_equal(be16(ip + 6), 0x4000);
			assert_int_equal(ref_fold(ref_sum(0, ip, IP4)), 0xffff);
			assert_memory_equal(ip + 12, f + l3 + 12, 8);
		}
		assert_memory_equal(tcp, f + l4, 4);                         /* ports */
		assert_int_equal(be32(tcp + 4), (uint32_t)(0xfffff000u + off));
		assert_memory_equal(tcp + 8, f + l4 + 8, 5);                 /* ack, offset */
		assert_memory_equal(tcp + 14, f + l4 + 14, 2);               /* window */
		assert_memory_equal(tcp + 18, f + l4 + 18, TCPH - 18);       /* urgent, options */
		/* FIN and PSH on the last segment only, CWR on the first only, ACK on all. */
		assert_int_equal(!!(flags & 0x01), i + 1 == c.n);
		assert_int_equal(!!(flags & 0x08), i + 1 == c.n);
		assert_int_equal(!!(flags & 0x80), i == 0);
		assert_true(flags & 0x10);
		assert_true(tcp_csum_valid(ip, ipv6, tcp, c.len[i] - l4));
		memcpy(joined + off, s + hdr, n_pay);
		off += n_pay;
	}
	assert_int_equal(off, payload);
	assert_memory_equal(joined, f + hdr, payload);
	capture_free(&c);
}

static void test_tso_ipv4(void **state)
{
	(void)state;
	check_tso(false, false, 20000, 1448);     /* 14 segments, the last short */
	check_tso(false, false, 14480, 1448);     /* exactly 10 */
	check_tso(false, false, 65000, 1460);
	check_tso(false, true, 3000, 1000);       /* behind an 802.1Q tag */
}

static void test_tso_ipv6(void **state)
{
	(void)state;
	check_tso(true, false, 20000, 1428);
	check_tso(true, true, 65000, 8940);       /* jumbo MSS */
}

/* Nothing to cut, or less than one MSS: one segment, checksummed all the same. */
static void test_tso_single(void **state)
{
	(void)state;
	check_tso(false, false, 0, 1448);
	check_tso(false, false, 1, 1448);
	check_tso(true, false, 1448, 1448);
	check_tso(false, false, 1000, 1);         /* a 1-byte MSS: 1000 segments */
}

static void test_tso_refused(void **state)
{
	static uint8_t f[NET_FRAME_MAX], scratch[NET_FRAME_MAX];
	struct capture c = { 0 };
	size_t len = build_tcp(f, false, false, 20000, 1);

	(void)state;
	assert_int_equal(net_tso_segment(f, len, 0, scratch, sizeof(scratch), capture_emit, &c),
			 -EINVAL);
	/* The scratch buffer does not hold headers and one MSS. */
	assert_int_equal(net_tso_segment(f, len, 1448, scratch, ETH + IP4 + TCPH + 1447,
					 capture_emit, &c), -E2BIG);
	/* More segments than NET_TSO_MAX_SEGS. */
	len = build_tcp(f, false, false, 60000, 1);
	assert_int_equal(net_tso_segment(f, len, 8, scratch, sizeof(scratch), capture_emit, &c),
			 -E2BIG);
	/* Segments past IPv4's 16-bit total length (a frame larger than net.c takes). */
	{
		static uint8_t big[70000], big_scratch[70000];

		len = build_tcp(big, false, false, 66000, 1);
		assert_int_equal(net_tso_segment(big, len, 65536, big_scratch, sizeof(big_scratch),
						 capture_emit, &c), -E2BIG);
		assert_int_equal(net_tso_segment(big, len, 60000, big_scratch, sizeof(big_scratch),
						 capture_emit, &c), 2);
		capture_free(&c);
	}
	len = build_tcp(f, false, false, 60000, 1);
	/* Not TCP. */
	f[ETH + 9] = 17;
	assert_int_equal(net_tso_segment(f, len, 1448, scratch, sizeof(scratch), capture_emit, &c),
			 -EINVAL);
	assert_int_equal(c.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csum_rfc1071_example),
		cmocka_unit_test(test_csum_matches_reference),
		cmocka_unit_test(test_csum_insert),
		cmocka_unit_test(test_parse_tcp),
		cmocka_unit_test(test_tso_ipv4),
		cmocka_unit_test(test_tso_ipv6),
		cmocka_unit_test(test_tso_single),
		cmocka_unit_test(test_tso_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
