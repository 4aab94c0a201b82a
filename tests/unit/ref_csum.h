/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The tests' own Internet checksum (RFC 1071), written the plain way (one
 * big-endian word at a time), so that the NIC models' and offload.c's
 * faster sums are checked against something independent of them.
 */
#ifndef HUTCH_TEST_REF_CSUM_H
#define HUTCH_TEST_REF_CSUM_H

#include <stddef.h>
#include <stdint.h>

/* Add @p's big-endian words to @sum (an odd last byte is a word's high half). */
static inline uint32_t ref_sum(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

/* The ones'-complement sum folded to 16 bits (0xffff over data with a right checksum). */
static inline uint16_t ref_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

#endif
