// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Table layouts follow the ACPI 6.4 specification, chapter 5.2; the AML
 * encodings chapter 20.  The I/O ports named here are the ones the
 * acpi_pm device model implements (devices.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "acpi.h"
#include "devices.h"
#include "pci.h"

#define OEM_ID        "HUTCH "
#define OEM_TABLE_ID  "HUTCHVM "
#define CREATOR_ID    "HTCH"

/* FADT flags (5.2.9, table 5.10) */
#define FADT_WBINVD         (1u << 0)
#define FADT_PROC_C1        (1u << 2)
#define FADT_SLP_BUTTON     (1u << 5)  /* 1 = no fixed-feature sleep button */
/* PWR_BUTTON (bit 4) stays 0: the power button is a fixed feature (PM1 PWRBTN). */
#define FADT_IAPC_LEGACY_DEVICES 0x0001
#define FADT_IAPC_8042           0x0002

/* MADT (5.2.12) */
#define MADT_PCAT_COMPAT    1
#define MADT_LAPIC          0
#define MADT_IOAPIC         1
#define MADT_ISO            2
#define MADT_LAPIC_NMI      4
#define MPS_INTI_HIGH_LEVEL 0x000d   /* active high, level triggered */

/* AML opcodes (20.2) */
#define AML_ZERO        0x00
#define AML_ONE         0x01
#define AML_NAME        0x08
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_SCOPE       0x10
#define AML_BUFFER      0x11
#define AML_PACKAGE     0x12
#define AML_EXT_PREFIX  0x5b
#define AML_DEVICE      0x82   /* after AML_EXT_PREFIX */
#define AML_ROOT_CHAR   0x5c

/* Resource descriptors (6.4) */
#define RES_IO_PORT        0x47   /* small item, 7 bytes of data */
#define  RES_IO_DECODE16       0x01
#define RES_END_TAG        0x79
#define RES_DWORD_ADDR     0x87
#define RES_WORD_ADDR      0x88
#define RES_TYPE_MEM       0
#define RES_TYPE_IO        1
#define RES_TYPE_BUS       2
#define RES_MIN_MAX_FIXED  0x0c   /* general flags: _MIF, _MAF; producer, positive decode */
#define RES_IO_ENTIRE      0x03   /* I/O ranges: ISA and non-ISA */
#define RES_MEM_RW         0x01
#define RES_MEM_CACHEABLE  0x02

/* "PNP0A03" (PCI host bridge) as EisaId() compresses it */
#define EISAID_PNP0A03  0x030ad041u

#define GAS_SYSTEM_IO   1

struct tbuf {
	uint8_t *buf;
	size_t len, pos;
	uint64_t base;
	int overflow;
};

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }

uint8_t acpi_checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum = (uint8_t)(sum + *p++);
	return sum;
}

/* Reserve @len zeroed bytes aligned to @align; returns the offset. */
static size_t tb_alloc(struct tbuf *t, size_t len, size_t align)
{
	size_t off = (t->pos + align - 1) & ~(align - 1);

	if (off > t->len || len > t->len - off) {
		t->overflow = 1;
		return 0;
	}
	memset(t->buf + off, 0, len);
	t->pos = off + len;
	return off;
}

static void table_header(uint8_t *h, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(h, sig, 4);
	put32(h + 4, len);
	h[8] = rev;
	memcpy(h + 10, OEM_ID, 6);
	memcpy(h + 16, OEM_TABLE_ID, 8);
	put32(h + 24, 1);
	memcpy(h + 28, CREATOR_ID, 4);
	put32(h + 32, 1);
}

static void table_finish(uint8_t *h)
{
	uint32_t len = (uint32_t)(h[4] | h[5] << 8 | h[6] << 16 | (uint32_t)h[7] << 24);

	h[9] = 0;
	h[9] = (uint8_t)(0 - acpi_checksum(h, len));
}

/* Generic Address Structure (5.2.3.2) for an I/O port block. */
static void gas_io(uint8_t *g, uint16_t port, uint8_t bits)
{
	g[0] = GAS_SYSTEM_IO;
	g[1] = bits;
	g[2] = 0;
	g[3] = 0; /* access size undefined: legacy reasons */
	put64(g + 4, port);
}

/*
 * A small AML builder: bytes appended to a fixed buffer; an overflow is
 * remembered and reported once at the end.  Objects with a PkgLength
 * (scopes, devices, buffers, packages) are built in a buffer of their
 * own and then wrapped, so their length is known when it is encoded.
 */
#define AML_MAX 4096   /* the DSDT is about 2 KiB */

struct aml {
	uint8_t buf[AML_MAX];
	size_t len;
	int overflow;
};

static void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->overflow || n > sizeof(a->buf) - a->len) {
		a->overflow = 1;
		return;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

static void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

/* Integer in the shortest encoding (20.2.3). */
static void aml_int(struct aml *a, uint32_t v)
{
	uint8_t b[5];

	if (v <= 1) {
		aml_byte(a, v ? AML_ONE : AML_ZERO);
	} else if (v <= 0xff) {
		b[0] = AML_BYTE_PREFIX;
		b[1] = (uint8_t)v;
		aml_bytes(a, b, 2);
	} else if (v <= 0xffff) {
		b[0] = AML_WORD_PREFIX;
		put16(b + 1, (uint16_t)v);
		aml_bytes(a, b, 3);
	} else {
		b[0] = AML_DWORD_PREFIX;
		put32(b + 1, v);
		aml_bytes(a, b, 5);
	}
}

/* PkgLength (20.2.4): counts itself and what follows it. */
static void aml_pkglength(struct aml *a, size_t body)
{
	size_t total;

	if (body + 1 < 0x40) {
		aml_byte(a, (uint8_t)(body + 1));
		return;
	}
	for (unsigned int n = 1; n <= 3; n++) {
		total = body + 1 + n;
		if (total < (1ULL << (4 + 8 * n))) {
			aml_byte(a, (uint8_t)(n << 6 | (total & 0xf)));
			for (unsigned int i = 0; i < n; i++)
				aml_byte(a, (uint8_t)(total >> (4 + 8 * i)));
			return;
		}
	}
	a->overflow = 1;
}

/* Name(NAME, ...): the caller appends the value. */
static void aml_name(struct aml *a, const char name[4])
{
	aml_byte(a, AML_NAME);
	aml_bytes(a, name, 4);
}

/* @op (1 or 2 bytes) PkgLength @name @body: Scope, Device. */
static void aml_wrap_named(struct aml *a, const uint8_t *op, size_t oplen, const char *name,
			   const struct aml *body)
{
	size_t nlen = strlen(name);

	aml_bytes(a, op, oplen);
	aml_pkglength(a, nlen + body->len);
	aml_bytes(a, name, nlen);
	aml_bytes(a, body->buf, body->len);
	a->overflow |= body->overflow;
}

static void aml_buffer(struct aml *a, const uint8_t *data, size_t len)
{
	struct aml size = { .len = 0 };

	aml_int(&size, (uint32_t)len);
	aml_byte(a, AML_BUFFER);
	aml_pkglength(a, size.len + len);
	aml_bytes(a, size.buf, size.len);
	aml_bytes(a, data, len);
}

static void aml_package(struct aml *a, unsigned int nr_elements, const struct aml *elements)
{
	aml_byte(a, AML_PACKAGE);
	aml_pkglength(a, 1 + elements->len);
	aml_byte(a, (uint8_t)nr_elements);
	aml_bytes(a, elements->buf, elements->len);
	a->overflow |= elements->overflow;
}

/* Word Address Space Descriptor (6.4.3.5.3), a fixed producer window. */
static size_t res_word(uint8_t *p, uint8_t type, uint8_t type_flags, uint16_t min, uint16_t max)
{
	p[0] = RES_WORD_ADDR;
	put16(p + 1, 13);
	p[3] = type;
	p[4] = RES_MIN_MAX_FIXED;
	p[5] = type_flags;
	put16(p + 6, 0);                             /* granularity */
	put16(p + 8, min);
	put16(p + 10, max);
	put16(p + 12, 0);                            /* translation offset */
	put16(p + 14, (uint16_t)(max - min + 1));
	return 16;
}

/* DWord Address Space Descriptor (6.4.3.5.2), a fixed memory window. */
static size_t res_dword_mem(uint8_t *p, uint8_t type_flags, uint32_t min, uint32_t max)
{
	p[0] = RES_DWORD_ADDR;
	put16(p + 1, 23);
	p[3] = RES_TYPE_MEM;
	p[4] = RES_MIN_MAX_FIXED;
	p[5] = type_flags;
	put32(p + 6, 0);
	put32(p + 10, min);
	put32(p + 14, max);
	put32(p + 18, 0);
	put32(p + 22, max - min + 1);
	return 26;
}

/*
 * \_SB.PCI0's _CRS: what the host bridge decodes.  Bus numbers 0-255;
 * the config ports 0xCF8-0xCFF as the bridge's own; all other I/O ports
 * forwarded to PCI; the legacy VGA window and the 32-bit MMIO window BARs
 * are placed in (pci.h).  Linux takes these as its host bridge windows.
 */
static size_t pci0_crs(uint8_t *p)
{
	size_t n = 0;

	n += res_word(p + n, RES_TYPE_BUS, 0, 0x00, 0xff);
	p[n++] = RES_IO_PORT;
	p[n++] = RES_IO_DECODE16;
	put16(p + n, PCI_CONFIG_ADDR_PORT);
	put16(p + n + 2, PCI_CONFIG_ADDR_PORT);
	p[n + 4] = 1;                                /* alignment */
	p[n + 5] = PCI_CONFIG_PORTS_END - PCI_CONFIG_ADDR_PORT;
	n += 6;
	n += res_word(p + n, RES_TYPE_IO, RES_IO_ENTIRE, 0x0000, PCI_CONFIG_ADDR_PORT - 1);
	n += res_word(p + n, RES_TYPE_IO, RES_IO_ENTIRE, PCI_CONFIG_PORTS_END, 0xffff);
	n += res_dword_mem(p + n, RES_MEM_RW | RES_MEM_CACHEABLE, ACPI_VGA_MEM_START,
			   ACPI_VGA_MEM_END - 1);
	n += res_dword_mem(p + n, RES_MEM_RW, (uint32_t)PCI_MMIO32_BASE,
			   (uint32_t)(PCI_MMIO32_END - 1));
	p[n++] = RES_END_TAG;
	p[n++] = 0;                                  /* checksum 0: "treat as correct" */
	return n;
}

/*
 * _PRT (6.2.13): one entry per slot 1-31 and pin INTA-D, each naming its
 * GSI directly (Source 0), as PIIX3 wires PIRQA-D to I/O APIC inputs
 * 16-19.  Such GSIs are level triggered, active low.  Slot 0 is the host
 * bridge, which raises no interrupts.
 */
static void pci0_prt(struct aml *a)
{
	struct aml entries, entry;
	unsigned int n = 0;

	entries.len = 0;
	entries.overflow = 0;
	for (unsigned int slot = 1; slot < PCI_MAX_SLOTS; slot++) {
		for (unsigned int pin = 0; pin < 4; pin++, n++) {
			entry.len = 0;
			entry.overflow = 0;
			aml_int(&entry, slot << 16 | 0xffff);    /* _ADR: any function of the slot */
			aml_int(&entry, pin);                    /* 0 = INTA */
			aml_int(&entry, 0);                      /* Source: a GSI, no link device */
			aml_int(&entry, pci_intx_gsi(slot, pin + 1));
			aml_package(&entries, 4, &entry);
		}
	}
	aml_name(a, "_PRT");
	aml_package(a, n, &entries);
}

/*
 * DSDT body (AML).  \_SB.PCI0 is the i440FX host bridge: identity,
 * windows and interrupt routing.  \_S5 tells the OS which SLP_TYP value
 * means "soft off"; without it Linux has no ACPI power-off and poweroff
 * would only halt.
 */
static void dsdt_body(struct aml *a)
{
	static const uint8_t s5[] = {
		AML_NAME, '_', 'S', '5', '_',
		AML_PACKAGE, 0x08 /* PkgLength */, 0x04 /* elements */,
		AML_BYTE_PREFIX, ACPI_S5_SLP_TYP, AML_BYTE_PREFIX, ACPI_S5_SLP_TYP,
		AML_ZERO, AML_ZERO,
	};
	static const uint8_t scope_op[] = { AML_SCOPE };
	static const uint8_t device_op[] = { AML_EXT_PREFIX, AML_DEVICE };
	struct aml pci0, sb;
	uint8_t crs[160];

	pci0.len = sb.len = 0;
	pci0.overflow = sb.overflow = 0;
	aml_name(&pci0, "_HID");
	aml_int(&pci0, EISAID_PNP0A03);
	aml_name(&pci0, "_UID");
	aml_int(&pci0, 0);
	aml_name(&pci0, "_BBN");
	aml_int(&pci0, 0);
	aml_name(&pci0, "_ADR");
	aml_int(&pci0, 0);
	aml_name(&pci0, "_CRS");
	aml_buffer(&pci0, crs, pci0_crs(crs));
	pci0_prt(&pci0);
	aml_wrap_named(&sb, device_op, sizeof(device_op), "PCI0", &pci0);

	aml_wrap_named(a, scope_op, sizeof(scope_op), "\\_SB_", &sb);
	aml_bytes(a, s5, sizeof(s5));
}

static size_t build_fadt(struct tbuf *t, uint64_t facs, uint64_t dsdt)
{
	size_t off = tb_alloc(t, ACPI_FADT_LEN, 8);
	uint8_t *f = t->buf + off;

	if (t->overflow)
		return 0;
	table_header(f, "FACP", ACPI_FADT_LEN, 6);
	put32(f + 36, (uint32_t)facs);
	put32(f + 40, (uint32_t)dsdt);
	f[45] = 0;                                   /* preferred PM profile: unspecified */
	put16(f + 46, ACPI_SCI_GSI);
	put32(f + 48, 0);                            /* SMI_CMD 0: ACPI is always on */
	put32(f + 56, ACPI_PM_PORT);                 /* PM1a_EVT_BLK */
	put32(f + 64, ACPI_PM_PORT + ACPI_PM_CNT_OFF);
	put32(f + 76, ACPI_PM_PORT + ACPI_PM_TMR_OFF);
	put32(f + 80, ACPI_GPE0_PORT);
	f[88] = ACPI_PM_EVT_LEN;
	f[89] = ACPI_PM_CNT_LEN;
	f[91] = ACPI_PM_TMR_LEN;
	f[92] = ACPI_GPE0_LEN;
	put16(f + 96, 0x0fff);                       /* no C2 */
	put16(f + 98, 0x0fff);                       /* no C3 */
	f[108] = 0x32;                               /* RTC century register */
	/*
	 * The 8042 flag: a PS/2 keyboard and mouse are there (i8042.c).
	 * The DSDT lists no PNP0303/PNP0F13, so Linux probes the ports
	 * directly, which it does only with this flag set.
	 */
	put16(f + 109, FADT_IAPC_LEGACY_DEVICES | FADT_IAPC_8042);
	put32(f + 112, FADT_WBINVD | FADT_PROC_C1 | FADT_SLP_BUTTON);
	put64(f + 132, facs);                        /* X_FIRMWARE_CTRL */
	put64(f + 140, dsdt);                        /* X_DSDT */
	gas_io(f + 148, ACPI_PM_PORT, ACPI_PM_EVT_LEN * 8);
	gas_io(f + 172, ACPI_PM_PORT + ACPI_PM_CNT_OFF, ACPI_PM_CNT_LEN * 8);
	gas_io(f + 208, ACPI_PM_PORT + ACPI_PM_TMR_OFF, ACPI_PM_TMR_LEN * 8);
	gas_io(f + 220, ACPI_GPE0_PORT, ACPI_GPE0_LEN * 8);
	memcpy(f + 268, "HUTCH\0\0\0", 8);           /* hypervisor vendor identity */
	table_finish(f);
	return off;
}

static size_t build_madt(struct tbuf *t, unsigned int cpus)
{
	size_t len = ACPI_HDR_LEN + 8 + 8 * cpus + 12 + 2 * 10 + 6;
	size_t off = tb_alloc(t, len, 8);
	uint8_t *m = t->buf + off, *e;

	if (t->overflow)
		return 0;
	table_header(m, "APIC", (uint32_t)len, 5);
	put32(m + 36, ACPI_LAPIC_GPA);
	put32(m + 40, MADT_PCAT_COMPAT);
	e = m + 44;
	for (unsigned int i = 0; i < cpus; i++, e += 8) {
		e[0] = MADT_LAPIC;
		e[1] = 8;
		e[2] = (uint8_t)i;                   /* ACPI processor UID */
		e[3] = (uint8_t)i;                   /* APIC ID = vCPU index */
		put32(e + 4, 1);                     /* enabled */
	}
	e[0] = MADT_IOAPIC;
	e[1] = 12;
	e[2] = 0;                                    /* IOAPIC ID */
	put32(e + 4, ACPI_IOAPIC_GPA);
	put32(e + 8, 0);                             /* GSI base */
	e += 12;
	/* The PIT's IRQ 0 arrives on IOAPIC pin 2 (as on every PC, and as KVM routes it). */
	e[0] = MADT_ISO;
	e[1] = 10;
	e[2] = 0;
	e[3] = 0;
	put32(e + 4, 2);
	put16(e + 8, 0);
	e += 10;
	/* The SCI is level triggered, active high, as the acpi_pm model drives it. */
	e[0] = MADT_ISO;
	e[1] = 10;
	e[2] = 0;
	e[3] = ACPI_SCI_GSI;
	put32(e + 4, ACPI_SCI_GSI);
	put16(e + 8, MPS_INTI_HIGH_LEVEL);
	e += 10;
	/* LINT1 of every processor is NMI. */
	e[0] = MADT_LAPIC_NMI;
	e[1] = 6;
	e[2] = 0xff;
	put16(e + 3, 0);
	e[5] = 1;
	table_finish(m);
	return off;
}

/*
 * Where the pointer fields are, for the table loader: each holds the
 * address of a table in the same blob, written as blob base + offset.
 */
#define ACPI_MAX_PTRS 8

struct acpi_ptr {
	size_t at;       /* offset of the field in the tables blob */
	uint8_t size;    /* 4 or 8 bytes */
};

struct acpi_layout {
	size_t facs, dsdt, fadt, madt, rsdt, xsdt;   /* offsets in the tables blob */
	size_t tables[5];                            /* the checksummed ones */
	unsigned int nr_tables;
	struct acpi_ptr ptrs[ACPI_MAX_PTRS];
	unsigned int nr_ptrs;
};

static void layout_ptr(struct acpi_layout *l, size_t at, uint8_t size)
{
	l->ptrs[l->nr_ptrs].at = at;
	l->ptrs[l->nr_ptrs].size = size;
	l->nr_ptrs++;
}

/*
 * The one generator of Hutch's tables (everything but the RSDP): FACS,
 * DSDT, FADT, MADT, RSDT, XSDT, appended to @t whose first byte lives at
 * guest address t->base.  Direct boot calls it with the real address; the
 * fw_cfg blob with base 0, and SeaBIOS's loader adds where it put the blob.
 */
static int acpi_build_tables(struct tbuf *t, const struct acpi_config *cfg, struct acpi_layout *l)
{
	struct aml body;
	size_t dlen;
	uint8_t *p;

	if (!cfg->cpus || cfg->cpus > ACPI_MAX_CPUS)
		return -EINVAL;
	memset(l, 0, sizeof(*l));
	body.len = 0;
	body.overflow = 0;
	dsdt_body(&body);
	if (body.overflow)
		return -ENOSPC;
	l->facs = tb_alloc(t, ACPI_FACS_LEN, 64);
	dlen = ACPI_HDR_LEN + body.len;
	l->dsdt = tb_alloc(t, dlen, 8);
	if (t->overflow)
		return -ENOSPC;

	p = t->buf + l->facs;
	memcpy(p, "FACS", 4);
	put32(p + 4, ACPI_FACS_LEN);
	p[32] = 2;                                   /* version */

	p = t->buf + l->dsdt;
	table_header(p, "DSDT", (uint32_t)dlen, 2);
	memcpy(p + ACPI_HDR_LEN, body.buf, body.len);
	table_finish(p);

	l->fadt = build_fadt(t, t->base + l->facs, t->base + l->dsdt);
	l->madt = build_madt(t, cfg->cpus);
	l->rsdt = tb_alloc(t, ACPI_HDR_LEN + 2 * 4, 8);
	l->xsdt = tb_alloc(t, ACPI_HDR_LEN + 2 * 8, 8);
	if (t->overflow)
		return -ENOSPC;

	p = t->buf + l->rsdt;
	table_header(p, "RSDT", ACPI_HDR_LEN + 2 * 4, 1);
	put32(p + 36, (uint32_t)(t->base + l->fadt));
	put32(p + 40, (uint32_t)(t->base + l->madt));
	table_finish(p);

	p = t->buf + l->xsdt;
	table_header(p, "XSDT", ACPI_HDR_LEN + 2 * 8, 1);
	put64(p + 36, t->base + l->fadt);
	put64(p + 44, t->base + l->madt);
	table_finish(p);

	/* The FACS has no checksum; the others do. */
	l->tables[l->nr_tables++] = l->dsdt;
	l->tables[l->nr_tables++] = l->fadt;
	l->tables[l->nr_tables++] = l->madt;
	l->tables[l->nr_tables++] = l->rsdt;
	l->tables[l->nr_tables++] = l->xsdt;
	layout_ptr(l, l->fadt + 36, 4);              /* FIRMWARE_CTRL */
	layout_ptr(l, l->fadt + 40, 4);              /* DSDT */
	layout_ptr(l, l->fadt + 132, 8);             /* X_FIRMWARE_CTRL */
	layout_ptr(l, l->fadt + 140, 8);             /* X_DSDT */
	layout_ptr(l, l->rsdt + 36, 4);
	layout_ptr(l, l->rsdt + 40, 4);
	layout_ptr(l, l->xsdt + 36, 8);
	layout_ptr(l, l->xsdt + 44, 8);
	return 0;
}

/* RSDP (5.2.5.3): checksum over the first 20 bytes, extended over all 36. */
static void build_rsdp(uint8_t *p, uint64_t rsdt, uint64_t xsdt)
{
	memset(p, 0, ACPI_RSDP_LEN);
	memcpy(p, "RSD PTR ", 8);
	memcpy(p + 9, OEM_ID, 6);
	p[15] = 2;
	put32(p + 16, (uint32_t)rsdt);
	put32(p + 20, ACPI_RSDP_LEN);
	put64(p + 24, xsdt);
	p[8] = (uint8_t)(0 - acpi_checksum(p, 20));
	p[32] = (uint8_t)(0 - acpi_checksum(p, ACPI_RSDP_LEN));
}

int acpi_build(uint8_t *buf, size_t len, uint64_t base_gpa,
	       const struct acpi_config *cfg, struct acpi_tables *out)
{
	struct tbuf t = { buf, len, 0, base_gpa, 0 };
	struct acpi_layout l;
	size_t rsdp;
	int ret;

	if (!cfg->cpus || cfg->cpus > ACPI_MAX_CPUS)
		return -EINVAL;
	rsdp = tb_alloc(&t, ACPI_RSDP_LEN, 16);
	if (t.overflow)
		return -ENOSPC;
	ret = acpi_build_tables(&t, cfg, &l);
	if (ret)
		return ret;
	build_rsdp(buf + rsdp, base_gpa + l.rsdt, base_gpa + l.xsdt);

	out->rsdp = base_gpa + rsdp;
	out->rsdt = base_gpa + l.rsdt;
	out->xsdt = base_gpa + l.xsdt;
	out->fadt = base_gpa + l.fadt;
	out->facs = base_gpa + l.facs;
	out->dsdt = base_gpa + l.dsdt;
	out->madt = base_gpa + l.madt;
	out->size = t.pos;
	return 0;
}

/* ---- the same tables for SeaBIOS's table loader (fw_cfg) ---- */

static uint8_t *loader_cmd(struct acpi_fw_cfg *o, uint32_t command)
{
	uint8_t *c = o->loader + o->loader_len;

	memset(c, 0, ACPI_LOADER_CMD_LEN);
	put32(c, command);
	o->loader_len += ACPI_LOADER_CMD_LEN;
	return c;
}

static void loader_allocate(struct acpi_fw_cfg *o, const char *file, uint32_t align, uint8_t zone)
{
	uint8_t *c = loader_cmd(o, ACPI_LOADER_ALLOCATE);

	strcpy((char *)c + 4, file);
	put32(c + 4 + ACPI_LOADER_FILESZ, align);
	c[4 + ACPI_LOADER_FILESZ + 4] = zone;
}

/* The @size-byte field at @offset of @dest_file gets @src_file's address added. */
static void loader_add_pointer(struct acpi_fw_cfg *o, const char *dest_file,
			       const char *src_file, uint32_t offset, uint8_t size)
{
	uint8_t *c = loader_cmd(o, ACPI_LOADER_ADD_POINTER);

	strcpy((char *)c + 4, dest_file);
	strcpy((char *)c + 4 + ACPI_LOADER_FILESZ, src_file);
	put32(c + 4 + 2 * ACPI_LOADER_FILESZ, offset);
	c[4 + 2 * ACPI_LOADER_FILESZ + 4] = size;
}

/* The byte at @offset of @file is set so [start, start+length) sums to 0. */
static void loader_add_checksum(struct acpi_fw_cfg *o, const char *file, uint32_t offset,
				uint32_t start, uint32_t length)
{
	uint8_t *c = loader_cmd(o, ACPI_LOADER_ADD_CHECKSUM);

	strcpy((char *)c + 4, file);
	put32(c + 4 + ACPI_LOADER_FILESZ, offset);
	put32(c + 4 + ACPI_LOADER_FILESZ + 4, start);
	put32(c + 4 + ACPI_LOADER_FILESZ + 8, length);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)(p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24);
}

void acpi_fw_cfg_free(struct acpi_fw_cfg *o)
{
	free(o->tables);
	free(o->rsdp);
	free(o->loader);
	memset(o, 0, sizeof(*o));
}

int acpi_build_fw_cfg(const struct acpi_config *cfg, struct acpi_fw_cfg *out)
{
	/* Room for the tables at the most CPUs: the MADT grows by 8 per CPU. */
	size_t cap = 8192 + 8 * ACPI_MAX_CPUS;
	size_t nr_cmds;
	struct acpi_layout l;
	struct tbuf t;
	unsigned int i;
	int ret;

	memset(out, 0, sizeof(*out));
	out->tables = calloc(1, cap);
	out->rsdp = calloc(1, ACPI_RSDP_LEN);
	if (!out->tables || !out->rsdp) {
		acpi_fw_cfg_free(out);
		return -ENOMEM;
	}
	t = (struct tbuf){ out->tables, cap, 0, 0, 0 };
	ret = acpi_build_tables(&t, cfg, &l);
	if (ret) {
		acpi_fw_cfg_free(out);
		return ret;
	}
	out->tables_len = t.pos;
	out->rsdp_len = ACPI_RSDP_LEN;
	build_rsdp(out->rsdp, l.rsdt, l.xsdt);

	/* 2 allocations, the pointers, a checksum per table, 2 for the RSDP. */
	nr_cmds = 2 + l.nr_ptrs + 2 + l.nr_tables + 2;
	out->loader = calloc(nr_cmds, ACPI_LOADER_CMD_LEN);
	if (!out->loader) {
		acpi_fw_cfg_free(out);
		return -ENOMEM;
	}
	/*
	 * The tables anywhere in high memory (aligned for the FACS, 64 bytes),
	 * the RSDP in the F segment, where the OS searches for it (5.2.5.1).
	 * Pointers are patched first, checksums after: the loader's checksum
	 * command fixes the sum of whatever bytes are there by then.
	 */
	loader_allocate(out, ACPI_FW_CFG_TABLES, 64, ACPI_LOADER_ZONE_HIGH);
	loader_allocate(out, ACPI_FW_CFG_RSDP, 16, ACPI_LOADER_ZONE_FSEG);
	for (i = 0; i < l.nr_ptrs; i++)
		loader_add_pointer(out, ACPI_FW_CFG_TABLES, ACPI_FW_CFG_TABLES,
				   (uint32_t)l.ptrs[i].at, l.ptrs[i].size);
	loader_add_pointer(out, ACPI_FW_CFG_RSDP, ACPI_FW_CFG_TABLES, 16, 4);
	loader_add_pointer(out, ACPI_FW_CFG_RSDP, ACPI_FW_CFG_TABLES, 24, 8);
	for (i = 0; i < l.nr_tables; i++) {
		const uint8_t *h = out->tables + l.tables[i];

		loader_add_checksum(out, ACPI_FW_CFG_TABLES, (uint32_t)l.tables[i] + 9,
				    (uint32_t)l.tables[i], get32(h + 4));
	}
	loader_add_checksum(out, ACPI_FW_CFG_RSDP, 8, 0, 20);
	loader_add_checksum(out, ACPI_FW_CFG_RSDP, 32, 0, ACPI_RSDP_LEN);
	return 0;
}
