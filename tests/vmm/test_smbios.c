// SPDX-License-Identifier: GPL-2.0-or-later
/* SMBIOS: the blobs parsed back as a firmware and dmidecode would (DSP0134 2.8). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "smbios.h"

#define GiB (1ULL << 30)

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return rd16(p) | (uint32_t)rd16(p + 2) << 16; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

struct parsed {
	const uint8_t *s[1024];       /* each structure's formatted area */
	size_t total[1024];           /* its length with strings */
	const char *str[1024][8];     /* its strings, 1-based in the structure */
	unsigned int nr_str[1024];
	unsigned int n;
	unsigned int per_type[128];
	size_t max_struct;
};

/* Walk the table: formatted area, strings, the double-NUL end of each. */
static void parse(const struct smbios_blobs *b, struct parsed *p)
{
	const uint8_t *t = b->tables, *end = b->tables + b->tables_len;
	uint16_t handles[1024];

	memset(p, 0, sizeof(*p));
	while (t < end) {
		const uint8_t *q;
		unsigned int i = p->n;

		assert_true(i < 1024);
		assert_true(end - t >= 4);
		assert_true(t[1] >= 4 && t[1] <= end - t);
		p->s[i] = t;
		handles[i] = rd16(t + 2);
		for (unsigned int j = 0; j < i; j++)
			assert_int_not_equal(handles[j], handles[i]);     /* unique handles */
		q = t + t[1];
		if (q + 1 < end && q[0] == 0 && q[1] == 0) {
			q += 2;                                     /* no strings */
		} else {
			while (q < end && *q) {
				size_t len = strnlen((const char *)q, (size_t)(end - q));

				assert_true(q + len < end);
				assert_true(len > 0 && len <= SMBIOS_MAX_STRING);
				assert_true(p->nr_str[i] < 8);
				p->str[i][p->nr_str[i]++] = (const char *)q;
				for (size_t k = 0; k < len; k++)
					assert_true(q[k] >= 0x20 && q[k] < 0x7f);
				q += len + 1;
			}
			assert_true(q < end);
			q++;                                        /* the set's final NUL */
		}
		p->total[i] = (size_t)(q - t);
		if (p->total[i] > p->max_struct)
			p->max_struct = p->total[i];
		if (t[0] < 128)
			p->per_type[t[0]]++;
		p->n++;
		t = q;
		if (p->s[i][0] == 127)
			break;
	}
	assert_ptr_equal(t, end);                   /* type 127 is the last */
}

/* String number @field of structure @i, checked in range. */
static const char *str_of(const struct parsed *p, unsigned int i, unsigned int field)
{
	unsigned int n = p->s[i][field];

	assert_true(n >= 1 && n <= p->nr_str[i]);
	return p->str[i][n - 1];
}

static int find(const struct parsed *p, uint8_t type, unsigned int nth)
{
	for (unsigned int i = 0; i < p->n; i++)
		if (p->s[i][0] == type && !nth--)
			return (int)i;
	return -1;
}

static void check_anchor(const struct smbios_blobs *b, const struct parsed *p)
{
	const uint8_t *a = b->anchor;

	assert_int_equal(b->anchor_len, SMBIOS_ANCHOR_LEN);
	assert_memory_equal(a, "_SM_", 4);
	assert_int_equal(a[5], 0x1f);
	assert_int_equal(sum(a, a[5]), 0);
	assert_memory_equal(a + 0x10, "_DMI_", 5);
	assert_int_equal(sum(a + 0x10, 0x0f), 0);
	assert_int_equal(a[6], 2);
	assert_int_equal(a[7], 8);
	assert_int_equal(a[0x1e], 0x28);
	assert_int_equal(rd16(a + 0x16), b->tables_len);
	assert_int_equal(rd16(a + 0x1c), p->n);
	assert_int_equal(rd16(a + 8), p->max_struct);
}

static void test_small_vm(void **state)
{
	struct smbios_config cfg = {
		.cpus = 2, .ram_below_4g = 512ULL << 20,
		.uuid = { 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
			  0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08 },
	};
	static const uint8_t uuid_smbios[16] = { 0x78, 0x56, 0x34, 0x12, 0xbc, 0x9a, 0xf0, 0xde,
						 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08 };
	static struct parsed p;
	struct smbios_blobs b;
	int i;

	(void)state;
	assert_int_equal(smbios_build(&cfg, &b), 0);
	parse(&b, &p);
	check_anchor(&b, &p);
	assert_int_equal(p.per_type[0], 1);
	assert_int_equal(p.per_type[1], 1);
	assert_int_equal(p.per_type[3], 1);
	assert_int_equal(p.per_type[4], 2);
	assert_int_equal(p.per_type[16], 1);
	assert_int_equal(p.per_type[17], 1);
	assert_int_equal(p.per_type[19], 1);
	assert_int_equal(p.per_type[32], 1);
	assert_int_equal(p.per_type[127], 1);
	assert_int_equal(p.n, 10);

	i = find(&p, 0, 0);
	assert_int_equal(p.s[i][1], 0x18);
	assert_string_equal(str_of(&p, (unsigned int)i, 4), "Hutch");
	assert_true(rd64(p.s[i] + 0x0a) & (1ULL << 7));               /* PCI */
	assert_int_equal(p.s[i][0x13] & 0x10, 0x10);                  /* a VM */

	i = find(&p, 1, 0);
	assert_int_equal(p.s[i][1], 0x1b);
	assert_string_equal(str_of(&p, (unsigned int)i, 5), "Hutch Virtual Machine");
	assert_memory_equal(p.s[i] + 8, uuid_smbios, 16);

	i = find(&p, 4, 1);
	assert_string_equal(str_of(&p, (unsigned int)i, 4), "CPU 1");
	assert_int_equal(p.s[i][0x18], 0x41);

	i = find(&p, 17, 0);
	assert_int_equal(rd16(p.s[i] + 0x0c), 512);                   /* MiB */
	assert_int_equal(rd16(p.s[i] + 4), rd16(p.s[find(&p, 16, 0)] + 2)); /* its array */

	i = find(&p, 19, 0);
	assert_int_equal(rd32(p.s[i] + 4), 0);
	assert_int_equal(rd32(p.s[i] + 8), (512u << 10) - 1);          /* KiB, inclusive */

	i = find(&p, 16, 0);
	assert_int_equal(rd32(p.s[i] + 7), 512u << 10);
	assert_int_equal(rd16(p.s[i] + 0x0d), 1);

	/* Types without strings end in two NULs. */
	i = find(&p, 32, 0);
	assert_int_equal(p.total[i], 0x0b + 2);
	assert_int_equal(p.total[find(&p, 127, 0)], 4 + 2);
	smbios_blobs_free(&b);
	assert_null(b.tables);
}

static void test_big_vm(void **state)
{
	struct smbios_config cfg = {
		.cpus = SMBIOS_MAX_CPUS, .ram_below_4g = 3 * GiB, .ram_above_4g = 37 * GiB,
		.product = "Custom \x01\xff name that is far longer than sixty-four characters, so cut",
		.bios_vendor = "",
	};
	static struct parsed p;
	struct smbios_blobs b;
	uint64_t sizes = 0;
	int i;

	(void)state;
	assert_int_equal(smbios_build(&cfg, &b), 0);
	parse(&b, &p);
	check_anchor(&b, &p);
	assert_int_equal(p.per_type[4], SMBIOS_MAX_CPUS);
	assert_int_equal(p.per_type[17], 3);                          /* 40 GiB in 16 GiB DIMMs */
	assert_int_equal(p.per_type[19], 2);
	for (unsigned int d = 0; d < 3; d++)
		sizes += rd16(p.s[find(&p, 17, d)] + 0x0c);
	assert_int_equal(sizes, 40 * 1024);

	i = find(&p, 19, 1);
	assert_int_equal(rd32(p.s[i] + 4), 4u << 20);                  /* 4 GiB in KiB */
	assert_int_equal(rd32(p.s[i] + 8), (41u << 20) - 1);

	i = find(&p, 1, 0);
	assert_int_equal(strlen(str_of(&p, (unsigned int)i, 5)), SMBIOS_MAX_STRING);
	assert_memory_equal(str_of(&p, (unsigned int)i, 5), "Custom ?? name", 14);
	i = find(&p, 0, 0);
	assert_string_equal(str_of(&p, (unsigned int)i, 4), "Hutch");  /* "" is the default */
	smbios_blobs_free(&b);
}

/* Sizes past the 16-bit and 32-bit fields use the extended ones. */
static void test_huge_memory(void **state)
{
	struct smbios_config cfg = { .cpus = 1, .ram_below_4g = 2 * GiB,
				     .ram_above_4g = 4094ULL * GiB };
	static struct parsed p;
	struct smbios_blobs b;
	int i;

	(void)state;
	assert_int_equal(smbios_build(&cfg, &b), 0);
	parse(&b, &p);
	check_anchor(&b, &p);
	i = find(&p, 16, 0);
	assert_int_equal(rd32(p.s[i] + 7), 0x80000000u);
	assert_int_equal(rd64(p.s[i] + 0x0f), 4096ULL * GiB);
	/* 4 TiB is more than 255 DIMMs of 16 GiB: 128 of 32 GiB. */
	assert_int_equal(p.per_type[17], 128);
	assert_int_equal(rd16(p.s[i] + 0x0d), 128);
	i = find(&p, 17, 127);
	assert_int_equal(rd16(p.s[i] + 0x0c), 0x7fff);
	assert_int_equal(rd32(p.s[i] + 0x1c), 32 * 1024);
	i = find(&p, 19, 1);
	assert_int_equal(rd32(p.s[i] + 4), 0xffffffffu);
	assert_int_equal(rd64(p.s[i] + 0x0f), 4 * GiB);
	assert_int_equal(rd64(p.s[i] + 0x17), 4098ULL * GiB - 1);
	smbios_blobs_free(&b);
}

static void test_bad_config(void **state)
{
	struct smbios_config cfg = { .cpus = 0, .ram_below_4g = GiB };
	struct smbios_blobs b;

	(void)state;
	assert_int_equal(smbios_build(&cfg, &b), -EINVAL);
	assert_null(b.tables);
	cfg.cpus = SMBIOS_MAX_CPUS + 1;
	assert_int_equal(smbios_build(&cfg, &b), -EINVAL);
	cfg.cpus = 1;
	cfg.ram_below_4g = 0;
	assert_int_equal(smbios_build(&cfg, &b), -EINVAL);
	cfg.ram_below_4g = 5 * GiB;
	assert_int_equal(smbios_build(&cfg, &b), -EINVAL);
	cfg.ram_below_4g = GiB;
	cfg.ram_above_4g = 1ULL << 62;
	assert_int_equal(smbios_build(&cfg, &b), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_vm),
		cmocka_unit_test(test_big_vm),
		cmocka_unit_test(test_huge_memory),
		cmocka_unit_test(test_bad_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
