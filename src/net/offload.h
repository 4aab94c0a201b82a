/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Transmit offloads a NIC model does in software, because every back end
 * takes plain Ethernet frames: completing a checksum the guest left
 * partial (virtio-net's NEEDS_CSUM, e1000's checksum context), and TCP
 * segmentation (virtio-net's GSO, e1000's TSE) of one large TCP/IP frame
 * into MSS-sized frames with correct headers.
 *
 * Offering them lets the guest hand over one 64 KiB frame per
 * notification instead of forty-odd MTU-sized ones, each with its own
 * exit and ring round trip: the work moves to a tight loop here.
 *
 * Every function checks the offsets and lengths it is given against the
 * frame: they come from the guest.  Nothing here keeps state or takes a
 * lock.
 */
#ifndef HUTCH_NET_OFFLOAD_H
#define HUTCH_NET_OFFLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The Internet checksum (RFC 1071): a running ones'-complement sum of
 * @data added to @sum (0 to start).  Pieces must have even lengths, except
 * the last.  The sum is kept in the byte order of the data, so
 * net_csum_finish()'s result is stored with memcpy, not htons.
 */
uint32_t net_csum_add(uint32_t sum, const void *data, size_t len);
/* The checksum field's value for @sum: the folded sum, complemented. */
uint16_t net_csum_finish(uint32_t sum);

/*
 * Complete a partial checksum in place: the ones'-complement sum of
 * frame[start, end) (the checksum field included, which holds the
 * pseudo-header's sum the guest put there) goes into the two bytes at
 * @at.  A sum of zero is stored as 0xffff, as UDP needs (RFC 768) and TCP
 * does not mind.  false (frame untouched) if the offsets do not fit in
 * @len bytes.  virtio-net: net_csum_insert(f, len, csum_start, len,
 * csum_start + csum_offset).
 */
bool net_csum_insert(uint8_t *frame, size_t len, size_t start, size_t end, size_t at);

/* Where the headers of a TCP/IP frame are (net_parse_tcp). */
struct net_tcp_frame {
	size_t l3_off;      /* IPv4 / IPv6 header, after the Ethernet (and 802.1Q) header */
	size_t l4_off;      /* TCP header */
	size_t hdr_len;     /* l4_off + TCP header length: where the payload starts */
	bool ipv6;
};

/*
 * Ethernet (with at most one 802.1Q tag), IPv4 (not a fragment) or IPv6
 * (TCP as the next header, no extension headers), then TCP, all inside
 * @len bytes: 0 with @info filled, else -EINVAL.
 */
int net_parse_tcp(const uint8_t *frame, size_t len, struct net_tcp_frame *info);

/* Segments one TSO frame may become, at most (64 KiB with a 32-byte MSS). */
#define NET_TSO_MAX_SEGS 2048

typedef void net_emit_fn(void *opaque, const uint8_t *frame, size_t len);

/*
 * TCP segmentation: split the TCP/IP frame @frame of @len bytes into
 * frames of at most @mss payload bytes each, built one at a time in
 * @scratch (@scratch_len bytes: the headers plus @mss must fit) and handed
 * to @emit.  Each segment gets the headers of the original with the IPv4
 * total length, a fresh identification (the original's + i) and header
 * checksum, or the IPv6 payload length; the TCP sequence number advanced
 * by the bytes before it; FIN and PSH only on the last segment, CWR only
 * on the first (as Linux's GSO does); and a full TCP checksum.  The
 * original's checksum fields are not trusted.  A frame without payload,
 * or with at most @mss bytes of it, becomes one segment.  Returns the
 * number of segments, or -EINVAL (not TCP/IP, @mss 0) or -E2BIG (a
 * segment larger than @scratch, more than NET_TSO_MAX_SEGS) with nothing
 * emitted.
 */
int net_tso_segment(const uint8_t *frame, size_t len, unsigned int mss, uint8_t *scratch,
		    size_t scratch_len, net_emit_fn *emit, void *opaque);

#endif
