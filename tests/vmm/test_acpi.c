// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "acpi.h"
#include "devices.h"
#include "pci.h"

#define BASE 0xe0000ULL
static uint8_t area[0x20000];

static uint32_t rd32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static const uint8_t *at(uint64_t gpa) { return area + (gpa - BASE); }

static void check_table(uint64_t gpa, const char *sig)
{
	const uint8_t *t = at(gpa);

	assert_memory_equal(t, sig, 4);
	assert_true(rd32(t + 4) >= ACPI_HDR_LEN);
	assert_int_equal(acpi_checksum(t, rd32(t + 4)), 0);
}

static void test_layout_and_checksums(void **state)
{
	struct acpi_config cfg = { .cpus = 4 };
	struct acpi_tables t;
	const uint8_t *rsdp, *xsdt, *rsdt, *fadt;

	(void)state;
	memset(area, 0xaa, sizeof(area));
	assert_int_equal(acpi_build(area, sizeof(area), BASE, &cfg, &t), 0);
	rsdp = at(t.rsdp);
	assert_memory_equal(rsdp, "RSD PTR ", 8);
	assert_int_equal(t.rsdp % 16, 0);            /* found by a 16-byte scan */
	assert_int_equal(acpi_checksum(rsdp, 20), 0);
	assert_int_equal(acpi_checksum(rsdp, 36), 0);
	assert_int_equal(rsdp[15], 2);
	assert_int_equal(rd32(rsdp + 16), t.rsdt);
	assert_int_equal(rd64(rsdp + 24), t.xsdt);

	check_table(t.rsdt, "RSDT");
	check_table(t.xsdt, "XSDT");
	check_table(t.fadt, "FACP");
	check_table(t.madt, "APIC");
	check_table(t.dsdt, "DSDT");
	assert_memory_equal(at(t.facs), "FACS", 4);
	assert_int_equal(t.facs % 64, 0);

	xsdt = at(t.xsdt);
	assert_int_equal(rd32(xsdt + 4), ACPI_HDR_LEN + 16);
	assert_int_equal(rd64(xsdt + 36), t.fadt);
	assert_int_equal(rd64(xsdt + 44), t.madt);
	rsdt = at(t.rsdt);
	assert_int_equal(rd32(rsdt + 36), t.fadt);

	fadt = at(t.fadt);
	assert_int_equal(rd32(fadt + 4), ACPI_FADT_LEN);
	assert_int_equal(rd64(fadt + 140), t.dsdt);
	assert_int_equal(rd64(fadt + 132), t.facs);
	assert_int_equal(fadt[46], ACPI_SCI_GSI);
	assert_int_equal(rd32(fadt + 56), ACPI_PM_PORT);
	assert_int_equal(rd32(fadt + 64), ACPI_PM_PORT + ACPI_PM_CNT_OFF);
	assert_int_equal(rd32(fadt + 76), ACPI_PM_PORT + ACPI_PM_TMR_OFF);
	/* PWR_BUTTON flag clear: the fixed-feature power button exists. */
	assert_int_equal(rd32(fadt + 112) & (1u << 4), 0);
	/* X_PM1a_EVT_BLK agrees with the 32-bit field. */
	assert_int_equal(fadt[148], 1);
	assert_int_equal(rd64(fadt + 152), ACPI_PM_PORT);
}

static void test_madt_lists_every_cpu(void **state)
{
	struct acpi_config cfg = { .cpus = 7 };
	struct acpi_tables t;
	const uint8_t *m, *e, *end;
	unsigned int lapics = 0, ioapics = 0, isos = 0;

	(void)state;
	assert_int_equal(acpi_build(area, sizeof(area), BASE, &cfg, &t), 0);
	m = at(t.madt);
	assert_int_equal(rd32(m + 36), ACPI_LAPIC_GPA);
	end = m + rd32(m + 4);
	for (e = m + 44; e < end; e += e[1]) {
		assert_true(e[1] >= 2);
		switch (e[0]) {
		case 0:
			assert_int_equal(e[3], lapics);   /* APIC IDs 0..n-1 */
			assert_int_equal(rd32(e + 4) & 1, 1);
			lapics++;
			break;
		case 1:
			assert_int_equal(rd32(e + 4), ACPI_IOAPIC_GPA);
			ioapics++;
			break;
		case 2:
			if (e[3] == 0)
				assert_int_equal(rd32(e + 4), 2);   /* IRQ0 -> GSI2 */
			else
				assert_int_equal(e[3], ACPI_SCI_GSI);
			isos++;
			break;
		}
	}
	assert_ptr_equal(e, end);
	assert_int_equal(lapics, 7);
	assert_int_equal(ioapics, 1);
	assert_int_equal(isos, 2);
}

static void test_dsdt_has_s5(void **state)
{
	struct acpi_config cfg = { .cpus = 1 };
	struct acpi_tables t;
	const uint8_t *d;
	static const uint8_t s5[] = { 0x08, '_', 'S', '5', '_', 0x12 };

	(void)state;
	assert_int_equal(acpi_build(area, sizeof(area), BASE, &cfg, &t), 0);
	d = at(t.dsdt);
	assert_non_null(memmem(d + ACPI_HDR_LEN, rd32(d + 4) - ACPI_HDR_LEN, s5, sizeof(s5)));
}

/* AML PkgLength at @p: the length it encodes (counting itself); *@n = its bytes. */
static size_t pkglength(const uint8_t *p, size_t *n)
{
	size_t follow = p[0] >> 6, len;

	if (!follow) {
		*n = 1;
		return p[0] & 0x3f;
	}
	len = p[0] & 0x0f;
	for (size_t i = 0; i < follow; i++)
		len |= (size_t)p[1 + i] << (4 + 8 * i);
	*n = 1 + follow;
	return len;
}

/* An AML integer at *@p (Zero, One, Byte/Word/DWordConst); advances *@p. */
static uint32_t aml_int(const uint8_t **p)
{
	const uint8_t *q = *p;

	switch (q[0]) {
	case 0x00: *p += 1; return 0;
	case 0x01: *p += 1; return 1;
	case 0x0a: *p += 2; return q[1];
	case 0x0b: *p += 3; return (uint32_t)(q[1] | q[2] << 8);
	case 0x0c: *p += 5; return rd32(q + 1);
	}
	fail_msg("not an AML integer: opcode 0x%02x", q[0]);
	return 0;
}

static const uint8_t *find(const uint8_t *start, const uint8_t *end, const void *pat, size_t n)
{
	const uint8_t *r = memmem(start, (size_t)(end - start), pat, n);

	assert_non_null(r);
	return r;
}

static void build_dsdt(const uint8_t **body, const uint8_t **end)
{
	struct acpi_config cfg = { .cpus = 2 };
	struct acpi_tables t;
	const uint8_t *d;

	assert_int_equal(acpi_build(area, sizeof(area), BASE, &cfg, &t), 0);
	d = at(t.dsdt);
	check_table(t.dsdt, "DSDT");
	*body = d + ACPI_HDR_LEN;
	*end = d + rd32(d + 4);
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

/* \_SB.PCI0: the scope and device lengths nest exactly; identity objects. */
static void test_dsdt_pci0_device(void **state)
{
	static const uint8_t hid[] = { 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x03 };
	static const uint8_t zero_names[][6] = {
		{ 0x08, '_', 'U', 'I', 'D', 0x00 },
		{ 0x08, '_', 'B', 'B', 'N', 0x00 },
		{ 0x08, '_', 'A', 'D', 'R', 0x00 },
	};
	const uint8_t *p, *end, *scope_end, *dev, *dev_end;
	size_t n, len;

	(void)state;
	build_dsdt(&p, &end);
	/* Scope (\_SB_) first ... */
	assert_int_equal(p[0], 0x10);
	len = pkglength(p + 1, &n);
	scope_end = p + 1 + len;
	assert_memory_equal(p + 1 + n, "\\_SB_", 5);
	/* ... then exactly \_S5's 14 bytes. */
	assert_ptr_equal(scope_end + 14, end);
	assert_memory_equal(scope_end, "\x08_S5_", 5);
	/* Device (PCI0) fills the scope. */
	dev = p + 1 + n + 5;
	assert_int_equal(dev[0], 0x5b);
	assert_int_equal(dev[1], 0x82);
	len = pkglength(dev + 2, &n);
	dev_end = dev + 2 + len;
	assert_ptr_equal(dev_end, scope_end);
	assert_memory_equal(dev + 2 + n, "PCI0", 4);
	find(dev, dev_end, hid, sizeof(hid));
	for (size_t i = 0; i < 3; i++)
		find(dev, dev_end, zero_names[i], sizeof(zero_names[i]));
}

/* _CRS: bus 0-255, the config ports, the I/O and memory windows, end tag. */
static void test_dsdt_pci0_crs(void **state)
{
	const uint8_t *p, *end, *r, *rend;
	size_t n, len, size;
	unsigned int bus = 0, io = 0, mem = 0, cf8 = 0;

	(void)state;
	build_dsdt(&p, &end);
	r = find(p, end, "\x08_CRS\x11", 6) + 6;
	len = pkglength(r, &n);
	rend = r + len;
	r += n;
	size = aml_int(&r);
	assert_ptr_equal(r + size, rend);
	while (r < rend && r[0] != 0x79) {
		if (r[0] == 0x47) {                  /* IO port descriptor */
			assert_int_equal(rd16(r + 2), 0xcf8);
			assert_int_equal(rd16(r + 4), 0xcf8);
			assert_int_equal(r[7], 8);
			cf8++;
			r += 8;
			continue;
		}
		assert_true(r[0] == 0x88 || r[0] == 0x87);
		assert_int_equal(r[4] & 0x0d, 0x0c);  /* producer, min and max fixed */
		if (r[0] == 0x88 && r[3] == 2) {
			assert_int_equal(rd16(r + 8), 0);
			assert_int_equal(rd16(r + 10), 0xff);
			bus++;
		} else if (r[0] == 0x88 && r[3] == 1) {
			uint16_t lo = rd16(r + 8), hi = rd16(r + 10);

			assert_int_equal(rd16(r + 14), hi - lo + 1);
			/* Neither I/O window covers the config ports; together they cover the rest. */
			assert_true(hi < 0xcf8 || lo > 0xcff);
			assert_true((lo == 0 && hi == 0xcf7) || (lo == 0xd00 && hi == 0xffff));
			io++;
		} else {
			uint32_t lo = rd32(r + 10), hi = rd32(r + 14);

			assert_int_equal(r[0], 0x87);
			assert_int_equal(r[3], 0);
			assert_int_equal(rd32(r + 22), hi - lo + 1);
			assert_true((lo == 0xa0000 && hi == 0xbffff) ||
				    (lo == PCI_MMIO32_BASE && hi == PCI_MMIO32_END - 1));
			mem++;
		}
		r += 3 + rd16(r + 1);
	}
	assert_int_equal(r[0], 0x79);
	assert_ptr_equal(r + 2, rend);
	assert_int_equal(bus, 1);
	assert_int_equal(cf8, 1);
	assert_int_equal(io, 2);
	assert_int_equal(mem, 2);
}

/* _PRT: slots 1-31 x INTA-D, each straight to its GSI. */
static void test_dsdt_pci0_prt(void **state)
{
	const uint8_t *p, *end, *r, *rend;
	size_t n, len;
	unsigned int count;

	(void)state;
	build_dsdt(&p, &end);
	r = find(p, end, "\x08_PRT\x12", 6) + 6;
	len = pkglength(r, &n);
	rend = r + len;
	r += n;
	count = *r++;
	assert_int_equal(count, 31 * 4);
	for (unsigned int i = 0; i < count; i++) {
		unsigned int slot = 1 + i / 4, pin = i % 4;
		const uint8_t *e;

		assert_int_equal(r[0], 0x12);
		len = pkglength(r + 1, &n);
		e = r + 1 + n;
		assert_int_equal(*e++, 4);
		assert_int_equal(aml_int(&e), slot << 16 | 0xffff);
		assert_int_equal(aml_int(&e), pin);
		assert_int_equal(aml_int(&e), 0);
		assert_int_equal(aml_int(&e), pci_intx_gsi(slot, pin + 1));
		assert_ptr_equal(e, r + 1 + len);
		r = e;
	}
	assert_ptr_equal(r, rend);
}

/* If ACPICA's iasl is installed, its disassembler must read our DSDT cleanly. */
static void test_dsdt_disassembles(void **state)
{
	const uint8_t *p, *end;
	char dir[] = "/tmp/hutch-acpi-XXXXXX", cmd[512], path[256], *dsl;
	size_t len;
	FILE *f;
	long sz;

	(void)state;
	if (system("command -v iasl >/dev/null 2>&1") != 0) {
		print_message("iasl not installed: disassembly check skipped\n");
		skip();
	}
	build_dsdt(&p, &end);
	len = (size_t)(end - p) + ACPI_HDR_LEN;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/dsdt.dat", dir);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p - ACPI_HDR_LEN, 1, len, f), len);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "cd %s && iasl -d dsdt.dat >iasl.log 2>&1", dir);
	assert_int_equal(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/dsdt.dsl", dir);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	sz = ftell(f);
	rewind(f);
	dsl = calloc(1, (size_t)sz + 1);
	assert_non_null(dsl);
	assert_int_equal(fread(dsl, 1, (size_t)sz, f), (size_t)sz);
	fclose(f);
	assert_non_null(strstr(dsl, "Device (PCI0)"));
	assert_non_null(strstr(dsl, "EisaId (\"PNP0A03\")"));
	assert_non_null(strstr(dsl, "WordBusNumber (ResourceProducer"));
	assert_non_null(strstr(dsl, "0xFEBFFFFF"));
	assert_non_null(strstr(dsl, "Name (_PRT, Package (0x7C)"));
	assert_non_null(strstr(dsl, "Name (_S5, Package (0x04)"));
	free(dsl);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_bad_config_refused(void **state)
{
	struct acpi_config cfg = { .cpus = 0 };
	struct acpi_tables t;

	(void)state;
	assert_int_equal(acpi_build(area, sizeof(area), BASE, &cfg, &t), -EINVAL);
	cfg.cpus = ACPI_MAX_CPUS + 1;
	assert_int_equal(acpi_build(area, sizeof(area), BASE, &cfg, &t), -EINVAL);
	cfg.cpus = ACPI_MAX_CPUS;
	assert_int_equal(acpi_build(area, sizeof(area), BASE, &cfg, &t), 0);
	assert_int_equal(acpi_build(area, 256, BASE, &cfg, &t), -ENOSPC);
}

/*
 * SeaBIOS's table loader in miniature (its commands as QEMU's
 * bios-linker-loader.c documents them), over a 1 MiB guest memory: each
 * file is placed where the test says, pointers patched, checksums fixed.
 */
static uint8_t guest[0x100000];

struct loaded_file {
	const char *name;
	const uint8_t *blob;
	size_t len;
	uint64_t gpa;       /* 0 until allocated */
};

static struct loaded_file *find_file(struct loaded_file *files, unsigned int n, const uint8_t *name)
{
	assert_non_null(memchr(name, 0, ACPI_LOADER_FILESZ));   /* NUL-terminated */
	for (unsigned int i = 0; i < n; i++)
		if (!strcmp(files[i].name, (const char *)name))
			return &files[i];
	fail_msg("loader names an unknown file %s", (const char *)name);
	return NULL;
}

static void run_loader(const struct acpi_fw_cfg *o, uint64_t tables_gpa, uint64_t rsdp_gpa)
{
	struct loaded_file files[] = {
		{ ACPI_FW_CFG_TABLES, o->tables, o->tables_len, 0 },
		{ ACPI_FW_CFG_RSDP, o->rsdp, o->rsdp_len, 0 },
	};
	unsigned int allocs = 0, ptrs = 0, sums = 0;

	assert_int_equal(o->loader_len % ACPI_LOADER_CMD_LEN, 0);
	memset(guest, 0xcc, sizeof(guest));
	for (size_t off = 0; off < o->loader_len; off += ACPI_LOADER_CMD_LEN) {
		const uint8_t *c = o->loader + off, *a = c + 4;
		struct loaded_file *f, *src;
		uint64_t v = 0;
		uint32_t at, start, len;
		uint8_t size, sum;

		switch (rd32(c)) {
		case ACPI_LOADER_ALLOCATE:
			f = find_file(files, 2, a);
			assert_int_equal(f->gpa, 0);             /* exactly once */
			f->gpa = f == &files[0] ? tables_gpa : rsdp_gpa;
			assert_int_equal(f->gpa % rd32(a + ACPI_LOADER_FILESZ), 0);
			assert_int_equal(a[ACPI_LOADER_FILESZ + 4],
					 f == &files[0] ? ACPI_LOADER_ZONE_HIGH : ACPI_LOADER_ZONE_FSEG);
			memcpy(guest + f->gpa, f->blob, f->len);
			allocs++;
			break;
		case ACPI_LOADER_ADD_POINTER:
			f = find_file(files, 2, a);
			src = find_file(files, 2, a + ACPI_LOADER_FILESZ);
			assert_true(f->gpa && src->gpa);         /* allocated before use */
			at = rd32(a + 2 * ACPI_LOADER_FILESZ);
			size = a[2 * ACPI_LOADER_FILESZ + 4];
			assert_true(size == 4 || size == 8);
			assert_true(at + size <= f->len);
			memcpy(&v, guest + f->gpa + at, size);
			/* The field holds an offset into the source file. */
			assert_true(v < src->len);
			v += src->gpa;
			memcpy(guest + f->gpa + at, &v, size);
			ptrs++;
			break;
		case ACPI_LOADER_ADD_CHECKSUM:
			f = find_file(files, 2, a);
			assert_true(f->gpa);
			at = rd32(a + ACPI_LOADER_FILESZ);
			start = rd32(a + ACPI_LOADER_FILESZ + 4);
			len = rd32(a + ACPI_LOADER_FILESZ + 8);
			assert_true(at < f->len && start <= f->len && len <= f->len - start);
			sum = acpi_checksum(guest + f->gpa + start, len);
			guest[f->gpa + at] = (uint8_t)(guest[f->gpa + at] - sum);
			sums++;
			break;
		default:
			fail_msg("unknown loader command %u", rd32(c));
		}
	}
	assert_int_equal(allocs, 2);
	assert_int_equal(ptrs, 10);       /* FADT 4, RSDT 2, XSDT 2, RSDP 2 */
	assert_int_equal(sums, 7);        /* DSDT, FADT, MADT, RSDT, XSDT, RSDP twice */
}

static const uint8_t *g(uint64_t gpa) { return guest + gpa; }

static void test_fw_cfg_loader_matches_direct_boot(void **state)
{
	static const unsigned int cpus[] = { 1, 4, ACPI_MAX_CPUS };

	(void)state;
	for (unsigned int i = 0; i < sizeof(cpus) / sizeof(cpus[0]); i++) {
		struct acpi_config cfg = { .cpus = cpus[i] };
		struct acpi_fw_cfg o;
		struct acpi_tables t;
		uint64_t rsdp_gpa = 0xf5a30, tables_gpa, rsdt, xsdt, fadt;
		const uint8_t *rsdp;

		/* Direct boot at BASE: RSDP first, then FACS and the rest. */
		memset(area, 0, sizeof(area));
		assert_int_equal(acpi_build(area, sizeof(area), BASE, &cfg, &t), 0);
		assert_int_equal(acpi_build_fw_cfg(&cfg, &o), 0);
		/* Put the tables file where direct boot put the FACS. */
		tables_gpa = t.facs;
		assert_int_equal(o.tables_len, BASE + t.size - t.facs);
		assert_int_equal(o.rsdp_len, ACPI_RSDP_LEN);
		run_loader(&o, tables_gpa, rsdp_gpa);

		/* Byte for byte what direct boot builds at the same addresses. */
		assert_memory_equal(g(tables_gpa), at(t.facs), o.tables_len);
		assert_memory_equal(g(rsdp_gpa), at(t.rsdp), ACPI_RSDP_LEN);

		/* And valid on its own: checksums, pointers to the right tables. */
		rsdp = g(rsdp_gpa);
		assert_memory_equal(rsdp, "RSD PTR ", 8);
		assert_int_equal(acpi_checksum(rsdp, 20), 0);
		assert_int_equal(acpi_checksum(rsdp, 36), 0);
		rsdt = rd32(rsdp + 16);
		xsdt = rd64(rsdp + 24);
		assert_memory_equal(g(rsdt), "RSDT", 4);
		assert_memory_equal(g(xsdt), "XSDT", 4);
		assert_int_equal(acpi_checksum(g(rsdt), rd32(g(rsdt) + 4)), 0);
		assert_int_equal(acpi_checksum(g(xsdt), rd32(g(xsdt) + 4)), 0);
		fadt = rd64(g(xsdt) + 36);
		assert_int_equal(rd32(g(rsdt) + 36), fadt);
		assert_memory_equal(g(fadt), "FACP", 4);
		assert_int_equal(acpi_checksum(g(fadt), rd32(g(fadt) + 4)), 0);
		assert_memory_equal(g(rd64(g(xsdt) + 44)), "APIC", 4);
		assert_int_equal(rd32(g(rsdt) + 40), rd64(g(xsdt) + 44));
		assert_memory_equal(g(rd32(g(fadt) + 36)), "FACS", 4);
		assert_memory_equal(g(rd32(g(fadt) + 40)), "DSDT", 4);
		assert_int_equal(rd64(g(fadt) + 132), rd32(g(fadt) + 36));
		assert_int_equal(rd64(g(fadt) + 140), rd32(g(fadt) + 40));
		assert_int_equal(rd32(g(fadt) + 40) % 8, 0);
		assert_int_equal(acpi_checksum(g(rd32(g(fadt) + 40)), rd32(g(rd32(g(fadt) + 40)) + 4)), 0);
		assert_int_equal(rd32(g(rd64(g(xsdt) + 44)) + 4), ACPI_HDR_LEN + 8 + 8 * cpus[i] + 12 + 2 * 10 + 6);
		acpi_fw_cfg_free(&o);
		assert_null(o.tables);
	}
}

/* Elsewhere in memory the loader's result is as valid (nothing depends on where). */
static void test_fw_cfg_loader_anywhere(void **state)
{
	struct acpi_config cfg = { .cpus = 2 };
	struct acpi_fw_cfg o;
	const uint8_t *rsdp, *x;

	(void)state;
	assert_int_equal(acpi_build_fw_cfg(&cfg, &o), 0);
	run_loader(&o, 0x7c0c0, 0xf0000);
	rsdp = g(0xf0000);
	assert_int_equal(acpi_checksum(rsdp, 36), 0);
	x = g(rd64(rsdp + 24));
	assert_true(rd64(rsdp + 24) >= 0x7c0c0 && rd64(rsdp + 24) < 0x7c0c0 + o.tables_len);
	for (unsigned int e = 0; e < 2; e++) {
		const uint8_t *tbl = g(rd64(x + 36 + 8 * e));

		assert_int_equal(acpi_checksum(tbl, rd32(tbl + 4)), 0);
	}
	acpi_fw_cfg_free(&o);
	cfg.cpus = 0;
	assert_int_equal(acpi_build_fw_cfg(&cfg, &o), -EINVAL);
	assert_null(o.tables);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_and_checksums),
		cmocka_unit_test(test_madt_lists_every_cpu),
		cmocka_unit_test(test_dsdt_has_s5),
		cmocka_unit_test(test_dsdt_pci0_device),
		cmocka_unit_test(test_dsdt_pci0_crs),
		cmocka_unit_test(test_dsdt_pci0_prt),
		cmocka_unit_test(test_dsdt_disassembles),
		cmocka_unit_test(test_bad_config_refused),
		cmocka_unit_test(test_fw_cfg_loader_matches_direct_boot),
		cmocka_unit_test(test_fw_cfg_loader_anywhere),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
