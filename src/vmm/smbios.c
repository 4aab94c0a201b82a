// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * SMBIOS 2.8 structures (DMTF DSP0134 2.8.0: section 5.2.1 for the entry
 * point, 6.1 for the structure layout, 7.x for each type).  Every
 * structure is a formatted area (type, length, handle, fields) followed by
 * its string set: each string NUL-terminated, the set ended by one more
 * NUL, or two NULs when the structure has no strings (6.1.3).  A string
 * field holds the 1-based number of its string, 0 for none.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smbios.h"

#define GiB (1ULL << 30)
#define FOUR_GiB (4ULL << 30)
#define DIMM_SIZE (16ULL << 30)      /* one type 17 device per 16 GiB ... */
#define MAX_DIMMS 255                /* ... or larger ones: instances fit a handle's low byte */
#define MAX_FORMATTED 64
#define MAX_STRINGS 8

/* Handles: type << 8 | instance, which keeps them unique and readable. */
#define HANDLE(type, i) ((uint16_t)((type) << 8 | (i)))
#define HANDLE_NONE 0xfffe           /* "not provided" (7.17.1, 7.18.1) */
#define HANDLE_NO_CACHE 0xffff       /* no cache structure (7.5) */

struct smb_struct {
	uint8_t f[MAX_FORMATTED];        /* the formatted area */
	uint8_t len;
	char str[MAX_STRINGS][SMBIOS_MAX_STRING + 1];
	unsigned int nr_str;
};

struct smb_builder {
	uint8_t *buf;
	size_t len, cap;
	bool failed;
	unsigned int count;               /* structures so far */
	size_t max_struct;                /* the largest, strings included */
};

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }

static void smb_begin(struct smb_struct *s, uint8_t type, uint8_t len, uint16_t handle)
{
	memset(s, 0, sizeof(*s));
	s->f[0] = type;
	s->f[1] = len;
	put16(s->f + 2, handle);
	s->len = len;
}

/*
 * Set string field @off to @text (printable ASCII; anything else becomes
 * '?', cut at SMBIOS_MAX_STRING).  NULL or "" leaves the field 0: an empty
 * string cannot be stored, the set would end there.
 */
static void smb_string(struct smb_struct *s, unsigned int off, const char *text)
{
	char *d;
	size_t i;

	if (!text || !*text || s->nr_str == MAX_STRINGS)
		return;
	d = s->str[s->nr_str];
	for (i = 0; i < SMBIOS_MAX_STRING && text[i]; i++)
		d[i] = (text[i] >= 0x20 && text[i] < 0x7f) ? text[i] : '?';
	d[i] = 0;
	s->f[off] = (uint8_t)++s->nr_str;
}

static void smb_append(struct smb_builder *b, const void *p, size_t n)
{
	if (b->failed)
		return;
	if (n > b->cap - b->len) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		uint8_t *nb;

		while (cap - b->len < n)
			cap *= 2;
		nb = realloc(b->buf, cap);
		if (!nb) {
			b->failed = true;
			return;
		}
		b->buf = nb;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, p, n);
	b->len += n;
}

static void smb_end(struct smb_builder *b, const struct smb_struct *s)
{
	static const uint8_t nul[2];
	size_t start = b->len;

	smb_append(b, s->f, s->len);
	for (unsigned int i = 0; i < s->nr_str; i++)
		smb_append(b, s->str[i], strlen(s->str[i]) + 1);
	smb_append(b, nul, s->nr_str ? 1 : 2);
	if (b->len - start > b->max_struct)
		b->max_struct = b->len - start;
	b->count++;
}

static const char *or_default(const char *s, const char *def)
{
	return s && *s ? s : def;
}

/* Type 0, BIOS Information (7.1): the firmware is SeaBIOS, shadowed in the F segment. */
static void type0(struct smb_builder *b, const struct smbios_config *cfg)
{
	struct smb_struct s;

	smb_begin(&s, 0, 0x18, HANDLE(0, 0));
	smb_string(&s, 4, or_default(cfg->bios_vendor, "Hutch"));
	smb_string(&s, 5, or_default(cfg->bios_version, "1.0"));
	put16(s.f + 6, 0xe800);            /* starting segment, as SeaBIOS reports itself */
	smb_string(&s, 8, or_default(cfg->bios_date, "01/01/2026"));
	s.f[9] = 1;                        /* ROM size 64 KiB * (1 + 1): bios.bin */
	/* Characteristics (7.1.1): PCI, selectable boot, CD boot, EDD. */
	put64(s.f + 0x0a, 1ULL << 7 | 1ULL << 15 | 1ULL << 16 | 1ULL << 19);
	s.f[0x12] = 0x01;                  /* extension byte 1: ACPI */
	s.f[0x13] = 0x10;                  /* extension byte 2: a virtual machine (7.1.2.2) */
	s.f[0x14] = 1;                     /* system BIOS release 1.0 */
	s.f[0x15] = 0;
	s.f[0x16] = 0xff;                  /* no embedded controller */
	s.f[0x17] = 0xff;
	smb_end(b, &s);
}

/* Type 1, System Information (7.2).  The UUID's first three fields are
 * little-endian in SMBIOS 2.6 and later (7.2.1). */
static void type1(struct smb_builder *b, const struct smbios_config *cfg)
{
	static const uint8_t order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };
	struct smb_struct s;

	smb_begin(&s, 1, 0x1b, HANDLE(1, 0));
	smb_string(&s, 4, "Hutch");
	smb_string(&s, 5, or_default(cfg->product, "Hutch Virtual Machine"));
	smb_string(&s, 6, "1.0");
	smb_string(&s, 7, or_default(cfg->serial, "0"));
	for (unsigned int i = 0; i < 16; i++)
		s.f[8 + i] = cfg->uuid[order[i]];
	s.f[0x18] = 0x06;                  /* wake-up type: power switch */
	smb_string(&s, 0x1a, "Virtual Machine");   /* family; SKU (0x19) none */
	smb_end(b, &s);
}

/* Type 3, System Enclosure (7.4). */
static void type3(struct smb_builder *b)
{
	struct smb_struct s;

	smb_begin(&s, 3, 0x16, HANDLE(3, 0));
	smb_string(&s, 4, "Hutch");
	s.f[5] = 0x01;                     /* type: other */
	s.f[9] = 0x03;                     /* boot-up state: safe */
	s.f[0x0a] = 0x03;                  /* power supply state: safe */
	s.f[0x0b] = 0x03;                  /* thermal state: safe */
	s.f[0x0c] = 0x02;                  /* security status: unknown */
	smb_end(b, &s);                    /* no contained elements, no SKU */
}

/* Type 4, Processor Information (7.5): one socket per vCPU, as Hutch's MADT has it. */
static void type4(struct smb_builder *b, unsigned int cpu)
{
	struct smb_struct s;
	char socket[16];

	smb_begin(&s, 4, 0x2a, HANDLE(4, cpu));
	snprintf(socket, sizeof(socket), "CPU %u", cpu);
	smb_string(&s, 4, socket);
	s.f[5] = 0x03;                     /* central processor */
	s.f[6] = 0x01;                     /* family: other */
	smb_string(&s, 7, "Hutch");
	smb_string(&s, 0x10, "Virtual CPU");
	put16(s.f + 0x14, 2000);           /* max speed, MHz (nominal) */
	put16(s.f + 0x16, 2000);           /* current speed */
	s.f[0x18] = 0x41;                  /* socket populated, CPU enabled */
	s.f[0x19] = 0x01;                  /* upgrade: other */
	put16(s.f + 0x1a, HANDLE_NO_CACHE);
	put16(s.f + 0x1c, HANDLE_NO_CACHE);
	put16(s.f + 0x1e, HANDLE_NO_CACHE);
	s.f[0x23] = 1;                     /* cores */
	s.f[0x24] = 1;                     /* cores enabled */
	s.f[0x25] = 1;                     /* threads */
	put16(s.f + 0x26, 0x04);           /* 64-bit capable */
	put16(s.f + 0x28, 0x01);           /* family 2: other */
	smb_end(b, &s);
}

static uint64_t dimm_size(uint64_t total)
{
	uint64_t size = DIMM_SIZE;

	while ((total + size - 1) / size > MAX_DIMMS)
		size *= 2;
	return size;
}

static unsigned int nr_dimms(uint64_t total)
{
	uint64_t size = dimm_size(total);

	return (unsigned int)((total + size - 1) / size);
}

/* Type 16, Physical Memory Array (7.17). */
static void type16(struct smb_builder *b, uint64_t total)
{
	struct smb_struct s;
	uint64_t kib = total / 1024;

	smb_begin(&s, 16, 0x17, HANDLE(16, 0));
	s.f[4] = 0x01;                     /* location: other */
	s.f[5] = 0x03;                     /* use: system memory */
	s.f[6] = 0x03;                     /* error correction: none */
	if (kib < 0x80000000ULL) {
		put32(s.f + 7, (uint32_t)kib);
	} else {
		put32(s.f + 7, 0x80000000u);   /* see the extended capacity */
		put64(s.f + 0x0f, total);
	}
	put16(s.f + 0x0b, HANDLE_NONE);
	put16(s.f + 0x0d, (uint16_t)nr_dimms(total));
	smb_end(b, &s);
}

/* Type 17, Memory Device (7.18): @bytes of RAM in DIMM @i. */
static void type17(struct smb_builder *b, unsigned int i, uint64_t bytes)
{
	struct smb_struct s;
	uint64_t mib = (bytes + (1 << 20) - 1) >> 20;
	char locator[16];

	smb_begin(&s, 17, 0x28, HANDLE(17, i));
	put16(s.f + 4, HANDLE(16, 0));
	put16(s.f + 6, HANDLE_NONE);
	put16(s.f + 8, 64);                /* total width, bits */
	put16(s.f + 0x0a, 64);             /* data width */
	if (mib < 0x7fff) {
		put16(s.f + 0x0c, (uint16_t)mib);
	} else {
		put16(s.f + 0x0c, 0x7fff);     /* see the extended size (7.18.5) */
		put32(s.f + 0x1c, (uint32_t)mib);
	}
	s.f[0x0e] = 0x09;                  /* form factor: DIMM */
	snprintf(locator, sizeof(locator), "DIMM %u", i);
	smb_string(&s, 0x10, locator);
	s.f[0x12] = 0x07;                  /* type: RAM */
	put16(s.f + 0x13, 0x02);           /* type detail: other */
	smb_string(&s, 0x17, "Hutch");
	smb_end(b, &s);
}

/* Type 19, Memory Array Mapped Address (7.20): [start, start + bytes). */
static void type19(struct smb_builder *b, unsigned int i, uint64_t start, uint64_t bytes)
{
	struct smb_struct s;
	uint64_t end = start + bytes - 1;

	smb_begin(&s, 19, 0x1f, HANDLE(19, i));
	if (end / 1024 < 0xffffffffULL) {
		put32(s.f + 4, (uint32_t)(start / 1024));
		put32(s.f + 8, (uint32_t)(end / 1024));
	} else {
		put32(s.f + 4, 0xffffffffu);   /* see the extended addresses */
		put32(s.f + 8, 0xffffffffu);
		put64(s.f + 0x0f, start);
		put64(s.f + 0x17, end);
	}
	put16(s.f + 0x0c, HANDLE(16, 0));
	s.f[0x0e] = 1;                     /* partition width: devices per row */
	smb_end(b, &s);
}

static uint8_t checksum(const uint8_t *p, size_t n)
{
	uint8_t sum = 0;

	while (n--)
		sum = (uint8_t)(sum + *p++);
	return sum;
}

/* The 2.1-style entry point (5.2.1); SeaBIOS fills in the table's address. */
static void build_anchor(uint8_t *a, const struct smb_builder *b)
{
	memset(a, 0, SMBIOS_ANCHOR_LEN);
	memcpy(a, "_SM_", 4);
	a[5] = SMBIOS_ANCHOR_LEN;
	a[6] = 2;                          /* SMBIOS 2.8 */
	a[7] = 8;
	put16(a + 8, (uint16_t)b->max_struct);
	memcpy(a + 0x10, "_DMI_", 5);
	put16(a + 0x16, (uint16_t)b->len);
	put32(a + 0x18, 0);                /* table address: the firmware's choice */
	put16(a + 0x1c, (uint16_t)b->count);
	a[0x1e] = 0x28;                    /* BCD revision */
	a[0x15] = (uint8_t)(0 - checksum(a + 0x10, 0x0f));
	a[4] = (uint8_t)(0 - checksum(a, SMBIOS_ANCHOR_LEN));
}

void smbios_blobs_free(struct smbios_blobs *o)
{
	free(o->anchor);
	free(o->tables);
	memset(o, 0, sizeof(*o));
}

int smbios_build(const struct smbios_config *cfg, struct smbios_blobs *out)
{
	struct smb_builder b = { 0 };
	uint64_t total, left;
	unsigned int i;

	memset(out, 0, sizeof(*out));
	if (!cfg->cpus || cfg->cpus > SMBIOS_MAX_CPUS || !cfg->ram_below_4g ||
	    cfg->ram_below_4g > FOUR_GiB || cfg->ram_above_4g > (1ULL << 52))
		return -EINVAL;
	total = cfg->ram_below_4g + cfg->ram_above_4g;

	type0(&b, cfg);
	type1(&b, cfg);
	type3(&b);
	for (i = 0; i < cfg->cpus; i++)
		type4(&b, i);
	type16(&b, total);
	for (i = 0, left = total; left; i++) {
		uint64_t n = left < dimm_size(total) ? left : dimm_size(total);

		type17(&b, i, n);
		left -= n;
	}
	type19(&b, 0, 0, cfg->ram_below_4g);
	if (cfg->ram_above_4g)
		type19(&b, 1, FOUR_GiB, cfg->ram_above_4g);
	{
		struct smb_struct s;

		smb_begin(&s, 32, 0x0b, HANDLE(32, 0));   /* 7.33: boot status 0, no errors */
		smb_end(&b, &s);
		smb_begin(&s, 127, 4, HANDLE(127, 0));    /* 7.45: end of table */
		smb_end(&b, &s);
	}
	/* The 2.1 entry point's table length is 16-bit (never reached at the limits above). */
	if (!b.failed && b.len > 0xffff) {
		free(b.buf);
		return -ENOSPC;
	}
	out->anchor = malloc(SMBIOS_ANCHOR_LEN);
	if (b.failed || !out->anchor) {
		free(b.buf);
		free(out->anchor);
		out->anchor = NULL;
		return -ENOMEM;
	}
	build_anchor(out->anchor, &b);
	out->anchor_len = SMBIOS_ANCHOR_LEN;
	out->tables = b.buf;
	out->tables_len = b.len;
	return 0;
}
