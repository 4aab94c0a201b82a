// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ACPI power-management registers of a PIIX4-style chipset: the PM1a
 * event and control blocks, the PM timer and GPE0 (ACPI 6.4, 4.8.3).
 * The FADT (src/vmm/acpi.c) points the guest at these ports.
 */
#include <errno.h>
#include <stdlib.h>

#include "devices.h"

/* PM1 status / enable bits (ACPI 6.4, tables 4.16 and 4.17) */
#define PM1_TMR            (1u << 0)
#define PM1_GBL            (1u << 5)
#define PM1_PWRBTN         (1u << 8)
#define PM1_SLPBTN         (1u << 9)
#define PM1_RTC            (1u << 10)
#define PM1_WAK_STS        (1u << 15)
#define PM1_EN_MASK        (PM1_TMR | PM1_GBL | PM1_PWRBTN | PM1_SLPBTN | PM1_RTC)
/* PM1 control (table 4.18) */
#define PM1_CNT_SCI_EN     (1u << 0)
#define PM1_CNT_SLP_TYP(v) (((v) >> 10) & 7)
#define PM1_CNT_SLP_EN     (1u << 13)
#define PM1_CNT_RW_MASK    0x1c07u     /* SCI_EN, BM_RLD, GBL_RLS, SLP_TYP */

#define PM_TIMER_HZ        3579545ULL
#define PM_TIMER_MASK      0xffffffu   /* 24-bit timer (FADT TMR_VAL_EXT = 0) */

/* Register offsets inside the blocks. */
#define EVT_STS 0
#define EVT_EN  2
#define GPE_STS 0
#define GPE_EN  2

struct acpi_pm {
	struct device *dev;
	uint16_t pm1_sts, pm1_en, pm1_cnt;
	uint16_t gpe_sts, gpe_en;
	struct irq_line sci;
	int sci_level;
};

static void acpi_pm_update_sci(struct acpi_pm *pm)
{
	int level = (pm->pm1_sts & pm->pm1_en & PM1_EN_MASK) || (pm->gpe_sts & pm->gpe_en);

	if (level != pm->sci_level) {
		pm->sci_level = level;
		irq_line_set(&pm->sci, level);
	}
}

/* Read @size bytes at @off from a little-endian register image. */
static uint64_t reg_read(const uint8_t *regs, unsigned int len, uint64_t off, unsigned int size)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < size; i++)
		if (off + i < len)
			v |= (uint64_t)regs[off + i] << (8 * i);
	return v;
}

/* Bytes [off, off+size) of a write, as a mask and value over a 16-bit register at @reg. */
static int reg_part(uint64_t off, uint64_t value, unsigned int size, unsigned int reg,
		    uint16_t *mask, uint16_t *val)
{
	*mask = 0;
	*val = 0;
	for (unsigned int i = 0; i < size; i++) {
		uint64_t b = off + i;

		if (b >= reg && b < reg + 2u) {
			*mask |= (uint16_t)(0xff << (8 * (b - reg)));
			*val |= (uint16_t)(((value >> (8 * i)) & 0xff) << (8 * (b - reg)));
		}
	}
	return *mask != 0;
}

static uint64_t evt_read(struct device *dev, uint64_t off, unsigned int size)
{
	struct acpi_pm *pm = dev->priv;
	uint8_t r[4] = { (uint8_t)pm->pm1_sts, (uint8_t)(pm->pm1_sts >> 8),
			 (uint8_t)pm->pm1_en, (uint8_t)(pm->pm1_en >> 8) };

	return reg_read(r, sizeof(r), off, size);
}

static void evt_write(struct device *dev, uint64_t off, uint64_t value, unsigned int size)
{
	struct acpi_pm *pm = dev->priv;
	uint16_t mask, v;

	if (reg_part(off, value, size, EVT_STS, &mask, &v))
		pm->pm1_sts &= (uint16_t)~(v & mask);          /* write 1 to clear */
	if (reg_part(off, value, size, EVT_EN, &mask, &v))
		pm->pm1_en = (uint16_t)(((pm->pm1_en & ~mask) | (v & mask)) & PM1_EN_MASK);
	acpi_pm_update_sci(pm);
}

static uint64_t cnt_read(struct device *dev, uint64_t off, unsigned int size)
{
	struct acpi_pm *pm = dev->priv;
	uint16_t cnt = pm->pm1_cnt | PM1_CNT_SCI_EN;   /* no SMI_CMD: ACPI mode is always on */
	uint8_t r[2] = { (uint8_t)cnt, (uint8_t)(cnt >> 8) };

	return reg_read(r, sizeof(r), off, size);
}

static void cnt_write(struct device *dev, uint64_t off, uint64_t value, unsigned int size)
{
	struct acpi_pm *pm = dev->priv;
	uint16_t mask, v;

	if (!reg_part(off, value, size, 0, &mask, &v))
		return;
	v = (uint16_t)((pm->pm1_cnt & ~mask) | (v & mask));
	pm->pm1_cnt = v & PM1_CNT_RW_MASK;
	/* SLP_EN is write-only and self-clearing; S5 is the only sleep state offered (\_S5). */
	if ((v & PM1_CNT_SLP_EN) && PM1_CNT_SLP_TYP(v) == ACPI_S5_SLP_TYP)
		dev->host->request_poweroff(dev->host->req_opaque);
	else if (v & PM1_CNT_SLP_EN)
		device_log(dev, "guest asked for unsupported sleep type %u; ignored",
			   PM1_CNT_SLP_TYP(v));
}

static uint64_t tmr_read(struct device *dev, uint64_t off, unsigned int size)
{
	int64_t ns = dev->host->clock_monotonic_ns(dev->host->clock_opaque);
	/* ns * 3579545 / 1e9 without overflow for centuries of uptime. */
	uint64_t ticks = (uint64_t)((unsigned __int128)ns * PM_TIMER_HZ / 1000000000ULL);
	uint32_t t = (uint32_t)ticks & PM_TIMER_MASK;
	uint8_t r[4] = { (uint8_t)t, (uint8_t)(t >> 8), (uint8_t)(t >> 16), 0 };

	return reg_read(r, sizeof(r), off, size);
}

static void ignore_write(struct device *dev, uint64_t off, uint64_t value, unsigned int size)
{
}

static uint64_t gpe_read(struct device *dev, uint64_t off, unsigned int size)
{
	struct acpi_pm *pm = dev->priv;
	uint8_t r[4] = { (uint8_t)pm->gpe_sts, (uint8_t)(pm->gpe_sts >> 8),
			 (uint8_t)pm->gpe_en, (uint8_t)(pm->gpe_en >> 8) };

	return reg_read(r, sizeof(r), off, size);
}

static void gpe_write(struct device *dev, uint64_t off, uint64_t value, unsigned int size)
{
	struct acpi_pm *pm = dev->priv;
	uint16_t mask, v;

	if (reg_part(off, value, size, GPE_STS, &mask, &v))
		pm->gpe_sts &= (uint16_t)~(v & mask);
	if (reg_part(off, value, size, GPE_EN, &mask, &v))
		pm->gpe_en = (uint16_t)((pm->gpe_en & ~mask) | (v & mask));
	acpi_pm_update_sci(pm);
}

static const struct io_region_ops evt_ops = { evt_read, evt_write };
static const struct io_region_ops cnt_ops = { cnt_read, cnt_write };
static const struct io_region_ops tmr_ops = { tmr_read, ignore_write };
static const struct io_region_ops gpe_ops = { gpe_read, gpe_write };

void acpi_pm_press_power_button(struct device *dev)
{
	struct acpi_pm *pm = dev->priv;

	pthread_mutex_lock(&dev->lock);
	pm->pm1_sts |= PM1_PWRBTN;
	acpi_pm_update_sci(pm);
	pthread_mutex_unlock(&dev->lock);
}

static int acpi_pm_create(struct device *dev, const struct device_args *args)
{
	uint64_t base = args->base ? args->base : ACPI_PM_PORT;
	struct acpi_pm *pm = calloc(1, sizeof(*pm));
	int ret;

	if (!pm)
		return -ENOMEM;
	dev->priv = pm;
	pm->dev = dev;
	pm->sci = device_irq_line(dev, args->gsi ? args->gsi : ACPI_SCI_GSI);
	ret = bus_register(dev->host->pio, base, ACPI_PM_EVT_LEN, &evt_ops, dev, "pm1-evt");
	if (!ret)
		ret = bus_register(dev->host->pio, base + ACPI_PM_CNT_OFF, ACPI_PM_CNT_LEN,
				   &cnt_ops, dev, "pm1-cnt");
	if (!ret)
		ret = bus_register(dev->host->pio, base + ACPI_PM_TMR_OFF, ACPI_PM_TMR_LEN,
				   &tmr_ops, dev, "pm-tmr");
	if (!ret)
		ret = bus_register(dev->host->pio, ACPI_GPE0_PORT, ACPI_GPE0_LEN, &gpe_ops, dev, "gpe0");
	return ret;
}

static void acpi_pm_reset(struct device *dev)
{
	struct acpi_pm *pm = dev->priv;

	pm->pm1_sts = pm->pm1_en = pm->pm1_cnt = 0;
	pm->gpe_sts = pm->gpe_en = 0;
	pm->sci_level = 0;
	irq_line_set(&pm->sci, 0);
}

static int acpi_pm_save(struct device *dev, struct sv_writer *w)
{
	struct acpi_pm *pm = dev->priv;

	sv_put_u16(w, pm->pm1_sts);
	sv_put_u16(w, pm->pm1_en);
	sv_put_u16(w, pm->pm1_cnt);
	sv_put_u16(w, pm->gpe_sts);
	sv_put_u16(w, pm->gpe_en);
	return 0;
}

static int acpi_pm_load(struct device *dev, struct sv_reader *r, uint32_t version)
{
	struct acpi_pm *pm = dev->priv;
	uint16_t sts = sv_get_u16(r), en = sv_get_u16(r), cnt = sv_get_u16(r);
	uint16_t gsts = sv_get_u16(r), gen = sv_get_u16(r);

	if (!sv_reader_ok(r, true))
		return -EINVAL;
	pm->pm1_sts = sts;
	pm->pm1_en = en & PM1_EN_MASK;
	pm->pm1_cnt = cnt & PM1_CNT_RW_MASK;
	pm->gpe_sts = gsts;
	pm->gpe_en = gen;
	pm->sci_level = -1;   /* force the line to the loaded state */
	acpi_pm_update_sci(pm);
	return 0;
}

static void acpi_pm_destroy(struct device *dev)
{
	free(dev->priv);
}

const struct device_model acpi_pm_model = {
	.name = "acpi_pm",
	.state_version = 1,
	.create = acpi_pm_create,
	.reset = acpi_pm_reset,
	.save = acpi_pm_save,
	.load = acpi_pm_load,
	.destroy = acpi_pm_destroy,
};
