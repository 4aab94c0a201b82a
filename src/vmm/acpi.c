// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Table layouts follow the ACPI 6.4 specification, chapter 5.2; the AML
 * encodings chapter 20.  The I/O ports named here are the ones the
 * acpi_pm device model implements (devices.h).
 */
#include <errno.h>
#include <string.h>

#include "acpi.h"
#include "devices.h"

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
#define AML_NAME        0x08
#define AML_BYTE_PREFIX 0x0a
#define AML_PACKAGE     0x12

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
 * DSDT body.  \_S5 tells the OS which SLP_TYP value means "soft off";
 * without it Linux has no ACPI power-off and poweroff would only halt.
 */
static size_t dsdt_body(uint8_t *p)
{
	static const uint8_t s5[] = {
		AML_NAME, '_', 'S', '5', '_',
		AML_PACKAGE, 0x08 /* PkgLength */, 0x04 /* elements */,
		AML_BYTE_PREFIX, ACPI_S5_SLP_TYP, AML_BYTE_PREFIX, ACPI_S5_SLP_TYP,
		AML_ZERO, AML_ZERO,
	};

	if (p)
		memcpy(p, s5, sizeof(s5));
	return sizeof(s5);
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
	 * The 8042 flag stays clear until PS/2 keyboard and mouse exist:
	 * with it set, Linux probes the ports directly and waits for
	 * devices that are not there.  Its reboot path still uses the
	 * i8042 reset line, which does not need the flag.
	 */
	put16(f + 109, FADT_IAPC_LEGACY_DEVICES);
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

int acpi_build(uint8_t *buf, size_t len, uint64_t base_gpa,
	       const struct acpi_config *cfg, struct acpi_tables *out)
{
	struct tbuf t = { buf, len, 0, base_gpa, 0 };
	size_t rsdp, facs, dsdt, fadt, madt, rsdt, xsdt, dlen;
	uint8_t *p;

	if (!cfg->cpus || cfg->cpus > ACPI_MAX_CPUS)
		return -EINVAL;
	rsdp = tb_alloc(&t, ACPI_RSDP_LEN, 16);
	facs = tb_alloc(&t, ACPI_FACS_LEN, 64);
	dlen = ACPI_HDR_LEN + dsdt_body(NULL);
	dsdt = tb_alloc(&t, dlen, 8);
	if (t.overflow)
		return -ENOSPC;

	p = buf + facs;
	memcpy(p, "FACS", 4);
	put32(p + 4, ACPI_FACS_LEN);
	p[32] = 2;                                   /* version */

	p = buf + dsdt;
	table_header(p, "DSDT", (uint32_t)dlen, 2);
	dsdt_body(p + ACPI_HDR_LEN);
	table_finish(p);

	fadt = build_fadt(&t, base_gpa + facs, base_gpa + dsdt);
	madt = build_madt(&t, cfg->cpus);
	rsdt = tb_alloc(&t, ACPI_HDR_LEN + 2 * 4, 8);
	xsdt = tb_alloc(&t, ACPI_HDR_LEN + 2 * 8, 8);
	if (t.overflow)
		return -ENOSPC;

	p = buf + rsdt;
	table_header(p, "RSDT", ACPI_HDR_LEN + 2 * 4, 1);
	put32(p + 36, (uint32_t)(base_gpa + fadt));
	put32(p + 40, (uint32_t)(base_gpa + madt));
	table_finish(p);

	p = buf + xsdt;
	table_header(p, "XSDT", ACPI_HDR_LEN + 2 * 8, 1);
	put64(p + 36, base_gpa + fadt);
	put64(p + 44, base_gpa + madt);
	table_finish(p);

	/* RSDP (5.2.5.3): checksum over the first 20 bytes, extended over all 36. */
	p = buf + rsdp;
	memcpy(p, "RSD PTR ", 8);
	memcpy(p + 9, OEM_ID, 6);
	p[15] = 2;
	put32(p + 16, (uint32_t)(base_gpa + rsdt));
	put32(p + 20, ACPI_RSDP_LEN);
	put64(p + 24, base_gpa + xsdt);
	p[8] = (uint8_t)(0 - acpi_checksum(p, 20));
	p[32] = (uint8_t)(0 - acpi_checksum(p, ACPI_RSDP_LEN));

	out->rsdp = base_gpa + rsdp;
	out->rsdt = base_gpa + rsdt;
	out->xsdt = base_gpa + xsdt;
	out->fadt = base_gpa + fadt;
	out->facs = base_gpa + facs;
	out->dsdt = base_gpa + dsdt;
	out->madt = base_gpa + madt;
	out->size = t.pos;
	return 0;
}
