// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "acpi.h"
#include "devices.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_and_checksums),
		cmocka_unit_test(test_madt_lists_every_cpu),
		cmocka_unit_test(test_dsdt_has_s5),
		cmocka_unit_test(test_bad_config_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
