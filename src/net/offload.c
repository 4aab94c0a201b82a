// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Software transmit offloads (offload.h): checksum completion and TCP
 * segmentation on plain Ethernet frames.
 *
 * Header layouts: Ethernet II and IEEE 802.1Q, IPv4 (RFC 791), IPv6
 * (RFC 8200), TCP (RFC 9293); the checksum and its pseudo-headers are
 * RFC 1071, RFC 9293 3.1 and RFC 8200 8.1.
 */
#include <errno.h>
#include <string.h>

#include "offload.h"

#define ETH_HLEN        14
#define ETH_TYPE_OFF    12
#define ETH_P_IPV4      0x0800
#define ETH_P_IPV6      0x86dd
#define ETH_P_8021Q     0x8100
#define VLAN_HLEN       4

#define IPV4_HLEN_MIN   20
#define IPV4_TOT_LEN    2
#define IPV4_ID         4
#define IPV4_FRAG       6       /* flags and fragment offset */
#define IPV4_FRAG_MF    0x2000
#define IPV4_FRAG_OFF   0x1fff
#define IPV4_PROTO      9
#define IPV4_CSUM       10
#define IPV4_SRC        12      /* source, then destination: 8 bytes */

#define IPV6_HLEN       40
#define IPV6_PLEN       4
#define IPV6_NEXT       6
#define IPV6_SRC        8       /* source, then destination: 32 bytes */

#define IPPROTO_TCP_NR  6

#define TCP_HLEN_MIN    20
#define TCP_SEQ         4
#define TCP_DOFF        12      /* data offset in the high nibble */
#define TCP_FLAGS       13
#define TCP_CSUM        16
#define TCP_FIN         0x01
#define TCP_PSH         0x08
#define TCP_CWR         0x80

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, (uint16_t)(v >> 16));
	put_be16(p + 2, (uint16_t)v);
}

/* ---- the Internet checksum ---- */

static uint32_t fold64(uint64_t s)
{
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	return (uint32_t)s;
}

uint32_t net_csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t acc = sum;

	/*
	 * Sixteen-bit words added in the data's byte order give the same
	 * ones'-complement sum, byte-swapped, as in network order (RFC 1071,
	 * 2(B)); so 32-bit loads into a 64-bit accumulator, carries folded
	 * back at the end, do the work of two words at once.
	 */
	while (len >= 4) {
		uint32_t w;

		memcpy(&w, p, 4);
		acc += w;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t w;

		memcpy(&w, p, 2);
		acc += w;
		p += 2;
		len -= 2;
	}
	if (len) {
		/* An odd last byte is padded with a zero byte after it. */
		uint8_t last[2] = { p[0], 0 };
		uint16_t w;

		memcpy(&w, last, 2);
		acc += w;
	}
	return fold64(acc);
}

uint16_t net_csum_finish(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Store a checksum computed by net_csum_finish at @p (it is in data order). */
static void put_csum(uint8_t *p, uint16_t c)
{
	memcpy(p, &c, 2);
}

bool net_csum_insert(uint8_t *frame, size_t len, size_t start, size_t end, size_t at)
{
	uint16_t c;

	if (start > end || end > len || at > len || len - at < 2)
		return false;
	c = net_csum_finish(net_csum_add(0, frame + start, end - start));
	put_csum(frame + at, c ? c : 0xffff);
	return true;
}

/* ---- TCP/IP frames ---- */

int net_parse_tcp(const uint8_t *frame, size_t len, struct net_tcp_frame *info)
{
	size_t l3 = ETH_HLEN, l4;
	uint16_t type;
	unsigned int tcp_len;

	if (len < ETH_HLEN)
		return -EINVAL;
	type = get_be16(frame + ETH_TYPE_OFF);
	if (type == ETH_P_8021Q) {
		if (len < ETH_HLEN + VLAN_HLEN)
			return -EINVAL;
		type = get_be16(frame + ETH_TYPE_OFF + VLAN_HLEN);
		l3 += VLAN_HLEN;
	}
	if (type == ETH_P_IPV4) {
		unsigned int ihl;

		if (len - l3 < IPV4_HLEN_MIN || frame[l3] >> 4 != 4)
			return -EINVAL;
		ihl = (frame[l3] & 0xfu) * 4u;
		/* A fragment cannot be segmented: its TCP header is elsewhere. */
		if (ihl < IPV4_HLEN_MIN || len - l3 < ihl || frame[l3 + IPV4_PROTO] != IPPROTO_TCP_NR ||
		    (get_be16(frame + l3 + IPV4_FRAG) & (IPV4_FRAG_MF | IPV4_FRAG_OFF)))
			return -EINVAL;
		l4 = l3 + ihl;
		info->ipv6 = false;
	} else if (type == ETH_P_IPV6) {
		if (len - l3 < IPV6_HLEN || frame[l3] >> 4 != 6 ||
		    frame[l3 + IPV6_NEXT] != IPPROTO_TCP_NR)
			return -EINVAL;
		l4 = l3 + IPV6_HLEN;
		info->ipv6 = true;
	} else {
		return -EINVAL;
	}
	if (len - l4 < TCP_HLEN_MIN)
		return -EINVAL;
	tcp_len = (frame[l4 + TCP_DOFF] >> 4) * 4u;
	if (tcp_len < TCP_HLEN_MIN || len - l4 < tcp_len)
		return -EINVAL;
	info->l3_off = l3;
	info->l4_off = l4;
	info->hdr_len = l4 + tcp_len;
	return 0;
}

/* The pseudo-header's sum for a TCP segment of @tcp_len bytes (RFC 9293 3.1, RFC 8200 8.1). */
static uint32_t pseudo_sum(const uint8_t *l3, bool ipv6, size_t tcp_len)
{
	uint8_t tail[8] = { 0 };

	if (ipv6) {
		/* upper-layer length (32 bits), three zero bytes, next header */
		put_be32(tail, (uint32_t)tcp_len);
		tail[7] = IPPROTO_TCP_NR;
		return net_csum_add(net_csum_add(0, l3 + IPV6_SRC, 32), tail, 8);
	}
	/* zero, protocol, TCP length (16 bits) */
	tail[1] = IPPROTO_TCP_NR;
	put_be16(tail + 2, (uint16_t)tcp_len);
	return net_csum_add(net_csum_add(0, l3 + IPV4_SRC, 8), tail, 4);
}

int net_tso_segment(const uint8_t *frame, size_t len, unsigned int mss, uint8_t *scratch,
		    size_t scratch_len, net_emit_fn *emit, void *opaque)
{
	struct net_tcp_frame t;
	size_t payload, first, nsegs, off = 0;
	uint32_t seq;
	uint16_t ip_id;
	uint8_t flags;

	if (!mss || net_parse_tcp(frame, len, &t))
		return -EINVAL;
	payload = len - t.hdr_len;
	nsegs = payload ? (payload + mss - 1) / mss : 1;
	first = payload > mss ? mss : payload;
	/* The first segment is the largest: if it fits, every one does.  IPv4's
	 * total length and IPv6's payload length are 16 bits. */
	if (nsegs > NET_TSO_MAX_SEGS || scratch_len < t.hdr_len || first > scratch_len - t.hdr_len ||
	    t.hdr_len - t.l3_off + first > 0xffff)
		return -E2BIG;
	seq = get_be32(frame + t.l4_off + TCP_SEQ);
	ip_id = get_be16(frame + t.l3_off + IPV4_ID);
	flags = frame[t.l4_off + TCP_FLAGS];

	for (size_t i = 0; i < nsegs; i++) {
		size_t n = payload - off < mss ? payload - off : mss;
		size_t seg_len = t.hdr_len + n, l3_len = seg_len - t.l3_off, tcp_len = seg_len - t.l4_off;
		uint8_t *ip = scratch + t.l3_off, *tcp = scratch + t.l4_off;
		uint8_t f = flags;

		memcpy(scratch, frame, t.hdr_len);
		memcpy(scratch + t.hdr_len, frame + t.hdr_len + off, n);
		if (t.ipv6) {
			put_be16(ip + IPV6_PLEN, (uint16_t)(l3_len - IPV6_HLEN));
		} else {
			put_be16(ip + IPV4_TOT_LEN, (uint16_t)l3_len);
			put_be16(ip + IPV4_ID, (uint16_t)(ip_id + i));
			put_be16(ip + IPV4_CSUM, 0);
			put_csum(ip + IPV4_CSUM, net_csum_finish(net_csum_add(0, ip, t.l4_off - t.l3_off)));
		}
		put_be32(tcp + TCP_SEQ, seq + (uint32_t)off);
		if (i + 1 < nsegs)
			f &= (uint8_t)~(TCP_FIN | TCP_PSH);
		if (i)
			f &= (uint8_t)~TCP_CWR;
		tcp[TCP_FLAGS] = f;
		put_be16(tcp + TCP_CSUM, 0);
		put_csum(tcp + TCP_CSUM,
			 net_csum_finish(net_csum_add(pseudo_sum(ip, t.ipv6, tcp_len), tcp, tcp_len)));
		emit(opaque, scratch, seg_len);
		off += n;
	}
	return (int)nsegs;
}
